// Vectorized fp32 row math for the transformer steps: softmax, erf, GELU and layer normalization,
// one table row per ISA (kernels.inc), all rows computing the same functions.
//
// Data layout: plain contiguous float rows; a "row" is n consecutive floats. Every function
// handles any n >= 1 (tails are masked, nothing is read or written past n). Pure: no allocation,
// no threads; the caller splits rows across threads. In place (y == x) is allowed.
#pragma once

#include <cstddef>
#include <vector>

#include "engine/base/cpu_info.h"

namespace sparsify::engine {

/// y = exp(x - max(x)) / sum(exp(x - max(x))) over one row of n.
using F32SoftmaxRowFn = void (*)(const float* x, float* y, std::size_t n);
/// y[i] = f(x[i]) for i < n (erf, gelu).
using F32MapFn = void (*)(const float* x, float* y, std::size_t n);
/// One row: y = (x - mean) / sqrt(var + eps) * scale + bias, mean and (biased) variance over the
/// n elements; scale and bias hold n floats each, bias may be null.
using F32LayerNormRowFn = void (*)(const float* x, float* y, std::size_t n, const float* scale, const float* bias,
                                   float eps);

/// One row of kernels.inc: every function of the family on one ISA.
struct F32VmathKernels {
  const char* isa_name;
  Isa isa;
  const char* softmax_name;
  F32SoftmaxRowFn softmax;
  const char* erf_name;
  F32MapFn erf;  // max abs error ~3e-7 against std::erf (vector rows); NaN stays NaN
  const char* gelu_name;
  F32MapFn gelu;  // x * 0.5 * (1 + erf(x / sqrt(2)))
  const char* layer_norm_name;
  F32LayerNormRowFn layer_norm;
};

#define SPARSIFY_F32_VMATH(isa_suffix, isa)                                                             \
  void f32_softmax__##isa_suffix(const float*, float*, std::size_t);                                \
  void f32_erf__##isa_suffix(const float*, float*, std::size_t);                                    \
  void f32_gelu__##isa_suffix(const float*, float*, std::size_t);                                   \
  void f32_layer_norm__##isa_suffix(const float*, float*, std::size_t, const float*, const float*, float);
#include "engine/kernels/vmath/kernels.inc"
#undef SPARSIFY_F32_VMATH

/// The table, best ISA first; the last row (scalar) is the reference (double accumulation,
/// std::exp / std::erf).
const std::vector<F32VmathKernels>& f32_vmath_kernels();

/// The row of the highest ISA <= isa. Never fails (the scalar row runs everywhere).
const F32VmathKernels& select_f32_vmath(Isa isa);

}  // namespace sparsify::engine
