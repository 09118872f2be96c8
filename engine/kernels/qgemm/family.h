// Int8 GEMM, u8 activations x s8 weights -> int32, with zero points, bias and requantization to u8
// (QLinearConv / QLinearMatMul) or int32 output (ConvInteger / MatMulInteger). Weights are
// constant and packed at prepare; K is not blocked (int8 panels of the full K stay in L2).
//
// Packed operands use groups of 4 consecutive k ("c4", the layout vpdpbusd wants), K padded to a
// multiple of 4 with zeros:
//   A (broadcast operand), MR-row panel:  a[(g * MR + r) * 4 + t] = A[m0 + r][4g + t]
//   B (vector operand),    NR-col panel:  b[(g * NR + c) * 4 + t] = B[4g + t][n0 + c]
// Constant-left (conv, C[M,N] = W[M,K] x col[K,N]): A = s8 weights, B = u8 activations.
// Constant-right (MatMul, C[M,N] = X[M,K] x W[K,N]): A = u8 activations, B = s8 weights.
//
// ref: ONNX QLinearConv/QLinearMatMul: y = saturate(round_half_even(acc * a_s * w_s / y_s) + y_zp),
//      acc = sum (a - a_zp)(w - w_zp) + bias. With sa = sum_k a and sw = sum_k w:
//      acc = sum a*w - w_zp*sa - a_zp*sw + K*a_zp*w_zp + bias; the last three terms are constant
//      per output channel and folded at prepare; w_zp*sa is added per tile when some w_zp != 0.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "engine/base/cpu_info.h"
#include "engine/base/status.h"
#include "engine/kernels/common.h"

namespace sparsify::engine {

class ThreadPool;

enum : std::uint32_t {
  kQGemmOutputU8 = 1u << 0,  // requantize to u8; else store int32
};

/// Per-tile epilogue. "channel" = output channel (a row of C in the constant-left form, a column in
/// the constant-right form); pointers are already offset to the tile's first channel / position.
struct QGemmUkernelParams {
  const std::int32_t* bias = nullptr;    // per channel, folded zero-point terms included; never null
  const float* scale = nullptr;          // per channel: a_scale * w_scale / y_scale (u8 output)
  const std::int32_t* w_zero = nullptr;  // per channel, or null when every weight zero point is 0
  const std::int32_t* a_sums = nullptr;  // per activation column (left) / row (right), with w_zero
  std::uint32_t flags = 0;
  std::int32_t y_zero = 0, y_min = 0, y_max = 255;
};

/// C[0:mr, 0:nr] (row stride ldc elements; u8 or int32 per flags) from k4 groups of 4 k.
using QGemmUkernelFn = void (*)(std::size_t mr, std::size_t nr, std::size_t k4, const void* a, const void* b, void* c,
                                std::size_t ldc, const QGemmUkernelParams& p);
/// Packs a u8 row-major B block [k, nc] (row stride ldb) into NR-column c4 panels (k padded to 4).
using QPackBFn = void (*)(std::size_t k, std::size_t nc, const std::uint8_t* b, std::size_t ldb, std::size_t nr,
                          std::uint8_t* packed);
/// Packs a u8 row-major A block [mc, k] (row stride lda) into MR-row c4 panels.
using QPackAFn = void (*)(std::size_t mc, std::size_t k, const std::uint8_t* a, std::size_t lda, std::size_t mr,
                          std::uint8_t* packed);

/// One row of kernels.inc: a tile, its two micro-kernels (constant-left and constant-right) and packers.
struct QGemmKernel {
  const char* name;
  Isa isa;
  std::uint32_t mr, nr;
  QGemmUkernelFn ukernel_left;   // A = s8 weights, B = u8 activations
  QGemmUkernelFn ukernel_right;  // A = u8 activations, B = s8 weights
  QPackAFn pack_a;
  QPackBFn pack_b;
};

#define SPARSIFY_QGEMM(name, isa, mr, nr, left, right, pack_a, pack_b)                                             \
  void left(std::size_t, std::size_t, std::size_t, const void*, const void*, void*, std::size_t,                   \
            const QGemmUkernelParams&);                                                                            \
  void right(std::size_t, std::size_t, std::size_t, const void*, const void*, void*, std::size_t,                  \
             const QGemmUkernelParams&);                                                                           \
  void pack_a(std::size_t, std::size_t, const std::uint8_t*, std::size_t, std::size_t, std::uint8_t*);            \
  void pack_b(std::size_t, std::size_t, const std::uint8_t*, std::size_t, std::size_t, std::uint8_t*);
#include "engine/kernels/qgemm/kernels.inc"
#undef SPARSIFY_QGEMM

const std::vector<QGemmKernel>& qgemm_kernels();
/// The first row (best first) whose ISA is <= isa. Never null.
const QGemmKernel& select_qgemm(Isa isa);
const QGemmKernel* find_qgemm(const char* name);

/// Quantization of one product. Weight zero points / scales: 1 entry (per tensor) or one per
/// output channel.
struct QGemmParams {
  std::int32_t a_zero_point = 0;
  std::vector<std::int32_t> w_zero_points{0};
  bool weights_u8 = false;              // weights are uint8 (allowed by ConvInteger / MatMulInteger)
  const std::int32_t* bias = nullptr;   // one per output channel (QLinearConv B), or null
  bool output_u8 = true;                // false: int32 accumulators (ConvInteger / MatMulInteger)
  float a_scale = 1.0f, y_scale = 1.0f;
  std::vector<float> w_scales{1.0f};
  std::int32_t y_zero_point = 0;
  std::int32_t y_min = 0, y_max = 255;  // clamp after adding y_zero_point (fused ReLU: y_min = zp)
};

/// Plain loops, the oracle, with the reference ops' arithmetic (double requantization).
/// a: u8 [m, k] at a[i*a_rs + kk*a_cs]; w: s8 or u8 (per p.weights_u8) at w[kk*w_rs + j*w_cs] for
/// B = W[k, n]; channels are rows (channel_is_row) or columns. c: u8 or int32, row stride ldc.
void qgemm_reference(std::size_t m, std::size_t n, std::size_t k, const std::uint8_t* a, std::size_t a_rs,
                     std::size_t a_cs, const void* w, std::size_t w_rs, std::size_t w_cs, bool channel_is_row,
                     const QGemmParams& p, void* c, std::size_t ldc);

/// Per-channel constants derived from QGemmParams at prepare.
struct QGemmChannels {
  std::vector<std::int32_t> bias;    // bias - a_zp * sum_k w + K * a_zp * w_zp
  std::vector<float> scale;          // a_scale * w_scale / y_scale (double math, rounded once)
  std::vector<std::int32_t> w_zero;  // empty when all are zero
  std::int32_t y_zero = 0, y_min = 0, y_max = 255;
  bool output_u8 = true;
};

/// C[M,N] = W[M,K] x B[K,N] quantized, W constant (QLinearConv / ConvInteger, output NCHW).
class QGemmU8S8ConstLeft {
 public:
  /// `w` row-major [m, k], int8 (or uint8 with p.weights_u8). Validates p.
  Status prepare(std::size_t m, std::size_t k, const void* w, const QGemmParams& p, Isa isa,
                 const QGemmKernel* kernel = nullptr);
  std::size_t scratch_bytes(int threads) const;
  /// C (u8 or int32 per params; row stride ldc elements) for B u8 row-major [K, n] (stride ldb).
  void run(std::size_t n, const std::uint8_t* b, std::size_t ldb, void* c, std::size_t ldc, void* scratch,
           ThreadPool& pool) const;
  const char* name() const { return kernel_->name; }
  const QGemmKernel& kernel() const { return *kernel_; }

 private:
  void run_block(std::size_t m0, std::size_t m1, std::size_t n0, std::size_t n1, const std::uint8_t* b, std::size_t ldb,
                 void* c, std::size_t ldc, std::uint8_t* scratch) const;
  std::size_t nc_cols() const;

  const QGemmKernel* kernel_ = nullptr;
  std::size_t m_ = 0, k_ = 0, k4_ = 0;
  QGemmChannels ch_;
  AlignedArray<std::uint8_t> packed_;
};

/// C[M,N] = X[M,K] x W[K,N] quantized, W constant (QLinearMatMul / MatMulInteger).
class QGemmU8S8ConstRight {
 public:
  /// `w` row-major [k, n], or [n, k] with w_transposed; int8 (or uint8 with p.weights_u8).
  Status prepare(std::size_t k, std::size_t n, const void* w, bool w_transposed, const QGemmParams& p, Isa isa,
                 const QGemmKernel* kernel = nullptr);
  std::size_t scratch_bytes(int threads) const;
  /// C for X u8 row-major [m, K] (stride ldx).
  void run(std::size_t m, const std::uint8_t* x, std::size_t ldx, void* c, std::size_t ldc, void* scratch,
           ThreadPool& pool) const;
  const char* name() const { return kernel_->name; }
  const QGemmKernel& kernel() const { return *kernel_; }

 private:
  void run_block(std::size_t m0, std::size_t m1, std::size_t n0, std::size_t n1, const std::uint8_t* x, std::size_t ldx,
                 void* c, std::size_t ldc, std::uint8_t* scratch) const;
  std::size_t mc_rows() const;

  const QGemmKernel* kernel_ = nullptr;
  std::size_t k_ = 0, n_ = 0, k4_ = 0;
  QGemmChannels ch_;
  AlignedArray<std::uint8_t> packed_;
};

}  // namespace sparsify::engine
