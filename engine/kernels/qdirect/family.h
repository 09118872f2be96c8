// Int8 direct 2-D convolution for few input channels (network stems: 3 -> 32, 3x3 stride 2),
// NCHW, groups == 1, u8 activations x int8 weights, QLinearConv requantization to u8. An im2col
// GEMM spends most of its time writing and packing the 27-row column matrix of such a layer;
// the direct kernel gathers each input row once per 16 outputs and reuses it for every output
// channel.
//
// Arithmetic (the int8 GEMM epilogue's, so outputs match QConv2dU8S8 bit for bit):
//   w'     = w - w_zp[m]                 (must fit int8: the cover)
//   acc    = bias'[m] + sum_{c,ki,kj} x_pad[c][iy][ix] * w'[m][c][ki][kj]   (exact int32)
//            x_pad = x inside, a_zp in the padding; bias' = B[m] - a_zp * sum w'[m]
//   y      = clamp(nearbyint(float(acc) * scale[m]), y_min - y_zp, y_max - y_zp) + y_zp
// ref: ONNX QLinearConv; within 1 LSB of the double-requantizing oracle qconv2d_reference.
//
// Weights at prepare: w4[((m * C + c) * kh + ki) * 4 + kj] = w'[m][c][ki][kj], kj < kw, zero
// for kw <= kj < 4 (one int8 dword per kernel row: what vpdpbusd multiplies).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/base/cpu_info.h"
#include "engine/base/status.h"
#include "engine/kernels/common.h"
#include "engine/kernels/conv/family.h"
#include "engine/kernels/qgemm/family.h"

namespace sparsify::engine {

class ThreadPool;

/// Per-layer constants (pointers to per-output-channel arrays).
struct QDirectConvParams {
  const std::int8_t* w4 = nullptr;    // [M, C, kh, 4] (layout above)
  const std::int32_t* bias = nullptr;  // [M] bias'
  const float* scale = nullptr;        // [M]
  std::size_t channels = 0;            // C
  std::uint8_t pad = 0;                // a_zp
  std::int32_t y_zero = 0, y_min = 0, y_max = 255;
};

/// Output rows [oy0, oy1) of output channels [m0, m1) of one image: x [C, h, w] u8, y [M, oh, ow] u8.
using QDirectConvFn = void (*)(const ConvGeom& g, const QDirectConvParams& p, std::size_t m0, std::size_t m1,
                               std::size_t oy0, std::size_t oy1, const std::uint8_t* x, std::uint8_t* y);

/// Shapes the vector row handles: kw <= 4, dilation 1 along W, stride 1 or 2 along W, C <= 4,
/// kh <= 7. The scalar row handles any shape (it is the family's reference, not a fast path).
bool qdirect_vector_covers(const ConvGeom& g, std::size_t channels);

struct QDirectConvKernel {
  const char* name;
  Isa isa;
  bool vector;  // true: only shapes qdirect_vector_covers() accepts
  QDirectConvFn fn;
};

#define SPARSIFY_QDIRECT(name, isa, vector)                                                                    \
  void name(const ConvGeom&, const QDirectConvParams&, std::size_t, std::size_t, std::size_t, std::size_t, \
            const std::uint8_t*, std::uint8_t*);
#include "engine/kernels/qdirect/kernels.inc"
#undef SPARSIFY_QDIRECT

const std::vector<QDirectConvKernel>& qdirect_kernels();
const QDirectConvKernel* find_qdirect(const char* name);

/// A prepared direct int8 conv (QLinearConv, u8 output, groups == 1).
class QDirectConv2dU8S8 {
 public:
  /// `unsupported` with the reason when no row above the scalar one allowed by `isa` covers the
  /// layer (the im2col GEMM is faster than the scalar row), when a weight w - w_zp does not fit
  /// int8, or the output is not u8. A forced `kernel` (tests) may be the scalar row.
  Status prepare(const Conv2dShape& shape, const void* weight, const QGemmParams& p, Isa isa,
                 const QDirectConvKernel* kernel = nullptr);
  /// y [N, M, OH, OW] u8 from x u8 [N, C, H, W]; output rows split across the pool. No scratch.
  void run(const std::uint8_t* x, std::uint8_t* y, ThreadPool& pool) const;
  const char* name() const { return kernel_->name; }

 private:
  const QDirectConvKernel* kernel_ = nullptr;
  Conv2dShape shape_;
  ConvGeom geom_{};
  std::vector<std::int8_t> w4_;
  std::vector<std::int32_t> bias_;
  std::vector<float> scale_;
  QDirectConvParams params_;
};

}  // namespace sparsify::engine
