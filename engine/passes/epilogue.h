// The epilogue the fusion passes attach to Conv/Gemm/MatMul (bias along the last axis, then an
// activation), decoded once at plan time, and its plain C++ application for the reference path.
#pragma once

#include <cstdint>
#include <string>

#include "engine/base/cpu_info.h"
#include "engine/graph/graph.h"

namespace sparsify::engine {

/// Activations the fusion passes fold (one per node; kGelu: the exact erf GELU, from fuse_gelu). Kernels take the clamp-like ones as their
/// ActivationParams (kernels/common.h); the plan applies the rest after the kernel.
enum class FusedAct : std::uint8_t { kNone, kRelu, kClip, kLeakyRelu, kSigmoid, kTanh, kHardSigmoid, kGelu };

/// ops.def name of an activation ("Relu"), "none" for kNone.
const char* fused_act_name(FusedAct act);
/// The activation for an ops.def op name, or kNone.
FusedAct fused_act_from_op(const std::string& op_type);

/// What runs after the op proper: y += bias (MatMul only; Conv and Gemm carry theirs as inputs),
/// then y += residual (Conv only: input kConvResidualInput, a skip connection of y's shape), then
/// y = act(y). alpha/beta: Clip min/max, LeakyRelu alpha, HardSigmoid alpha/beta.
struct Epilogue {
  FusedAct act = FusedAct::kNone;
  float alpha = 0;
  float beta = 0;
  bool matmul_bias = false;  // MatMul input 2 is a bias over the last axis
  bool residual = false;     // Conv input kConvResidualInput is added before the activation
  bool empty() const { return act == FusedAct::kNone && !matmul_bias && !residual; }
  /// "relu", "clip[0,6]", "bias+relu", "residual+Relu", "" when empty.
  std::string describe() const;
};

/// The Conv input that carries a fused residual (after X, W and the optional B).
inline constexpr std::size_t kConvResidualInput = 3;

/// Reads the fusion attributes of `node` (see pass.h). Nodes without them give an empty Epilogue.
Epilogue read_epilogue(const Node& node);

/// Applies `ep`'s activation to n floats in place. Pure; thread-safe on disjoint ranges.
void apply_activation(const Epilogue& ep, float* y, std::int64_t n);
/// y[i] += r[i] for n floats. Pure.
void add_residual(float* y, const float* r, std::int64_t n);
/// As above with the vectorized kernels `isa` allows where there are some (Gelu: engine/kernels/vmath).
void apply_activation(const Epilogue& ep, float* y, std::int64_t n, Isa isa);
/// y[r, c] += bias[c] for `rows` rows of `cols` floats. Pure.
void add_bias_rows(float* y, const float* bias, std::int64_t rows, std::int64_t cols);

}  // namespace sparsify::engine
