// Int8 depthwise 2-D convolution, NCHW (groups == C == M): u8 activations x s8/u8 weights with the
// QLinearConv requantization (u8 out) or ConvInteger's int32 output, one channel plane per call.
//
// Arithmetic (the same as the int8 GEMM epilogue, so outputs match QConv2dU8S8 bit for bit):
//   w'[t]  = w[t] - w_zp[c]                      (exact in float: |w'| <= 255)
//   acc    = sum_t x_pad[t] * w'[t]               x_pad = x inside, a_zp in the padding; exact:
//                                                 int32 (scalar, VNNI rows) or float, whose every
//                                                 partial sum is an integer < 2^24 (kh*kw <= 256)
//   v      = acc + bias'[c]                       bias' = B[c] - a_zp * sum_t w'[t]  (int32)
//   y      = clamp(nearbyint(float(v) * scale[c]), y_min - y_zp, y_max - y_zp) + y_zp   (u8)
//            or v (int32)
// ref: ONNX QLinearConv: y = saturate(round_half_even(acc * a_s * w_s / y_s) + y_zp). The oracle
// qconv2d_reference requantizes in double; this float form is within 1 LSB of it (ties near .5).
//
// The AVX-512 VNNI row (int8 taps, kw <= 4, stride 1-2 along W) takes one vpdpbusd per kernel row
// per 16 outputs straight from the input (layout in its file). The float SIMD rows (any shape)
// first write the padded plane as floats into per-thread scratch, split by column phase so that
// every tap of a stride-s conv reads contiguous floats (see QDwScratchLayout):
//   row r of the padded plane (ph = h + pt + pb rows, pw = w + pl + pr columns):
//     scratch[r * row_pitch + p * phase_len + i] = xpad[r][p + i * sw]   p in [0, sw)
//     (any finite value past column pw; phase_len is a multiple of 16 with room for a full vector
//     past ow; rows are converted just before the first output row that reads them)
//   output (oy, ox), tap (ki, kj): scratch[(oy*sh + ki*dh) * row_pitch + ((kj*dw) % sw) * phase_len
//                                          + ox + (kj*dw) / sw]
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

/// Per-channel constants of one plane (see the arithmetic above).
struct QDwConvParams {
  std::int32_t bias = 0;  // bias' (zero points folded)
  float scale = 1.0f;     // a_scale * w_scale / y_scale, double math rounded once
  std::int32_t y_zero = 0, y_min = 0, y_max = 255;
  bool output_u8 = true;  // false: int32 output (ConvInteger)
};

/// Where the padded, phase-split float plane lives in scratch (ISA-free; shared by every row).
struct QDwScratchLayout {
  std::size_t rows = 0;       // padded rows = h + pt + pb
  std::size_t phase_len = 0;  // floats per phase (multiple of 16)
  std::size_t row_pitch = 0;  // sw * phase_len floats
  std::size_t floats() const { return rows * row_pitch; }
  /// u8 staging row (the padded row before conversion) placed after the floats: row_pitch bytes.
  std::size_t bytes() const { return round_up(floats() * sizeof(float) + row_pitch, kKernelAlignment); }
};
QDwScratchLayout qdwconv_scratch_layout(const ConvGeom& g);

/// One channel plane: y[oy * ow + ox] (u8 or int32 per p) from x [h, w]. taps: kh*kw floats w'.
/// pad: the padding value (the input zero point). scratch: qdwconv_scratch_layout(g).bytes()
/// bytes, 64-byte aligned, owned by the calling thread (only the float SIMD rows use it: the scalar
/// and int8-tap rows get no scratch).
using QDwConvFn = void (*)(const ConvGeom& g, const std::uint8_t* x, std::uint8_t pad, const float* taps,
                           const QDwConvParams& p, void* scratch, void* y);

/// Which planes a row handles.
///  kQDwAnyShape: any kernel size, stride, dilation and padding (kh * kw <= kQDwConvMaxTaps).
///  kQDwInt8Taps: kw <= 4, kh <= 8, dilation 1 along W, stride 1 or 2 along W, and every tap
///                w - w_zp of the layer in [-128, 127] (one int8 dot product per kernel row).
enum class QDwConvCover : std::uint8_t { kQDwAnyShape, kQDwInt8Taps };

/// One row of kernels.inc.
struct QDwConvKernel {
  const char* name;
  Isa isa;
  QDwConvCover cover;
  QDwConvFn fn;
};

/// Whether `row` handles planes of geometry g whose taps are all int8 (taps_int8) or not.
bool qdwconv_covers(const QDwConvKernel& row, const ConvGeom& g, bool taps_int8);

#define SPARSIFY_QDWCONV(name, isa, cover) \
  void name(const ConvGeom&, const std::uint8_t*, std::uint8_t, const float*, const QDwConvParams&, void*, void*);
#include "engine/kernels/qdwconv/kernels.inc"
#undef SPARSIFY_QDWCONV

const std::vector<QDwConvKernel>& qdwconv_kernels();
/// The first row (best first) whose ISA is <= isa and that covers the layer. Never null (the
/// scalar row covers every shape).
const QDwConvKernel& select_qdwconv(Isa isa, const ConvGeom& g, bool taps_int8);
const QDwConvKernel* find_qdwconv(const char* name);

/// Largest kh * kw for which the float accumulation above is exact.
constexpr std::size_t kQDwConvMaxTaps = 256;

/// A prepared int8 depthwise conv (QLinearConv u8 output or ConvInteger int32 output) with
/// groups == C == M (channel multiplier 1). Channels are split across the pool.
class QDwConv2dU8S8 {
 public:
  /// `unsupported` (with the reason) unless the shape is depthwise with multiplier 1 and at most
  /// kQDwConvMaxTaps taps, or when a forced `kernel` is above `isa` or does not cover the layer. `weight` OIHW [C, 1, kh, kw] int8 (uint8 with p.weights_u8); p's
  /// per-channel vectors have 1 or C entries. Everything is copied; inputs may be freed after.
  Status prepare(const Conv2dShape& shape, const void* weight, const QGemmParams& p, Isa isa,
                 const QDwConvKernel* kernel = nullptr);
  std::size_t scratch_bytes(int threads) const;
  /// y [N, C, OH, OW] (u8 or int32) from x u8 [N, C, H, W]. Allocation-free.
  void run(const std::uint8_t* x, void* y, void* scratch, ThreadPool& pool) const;
  const char* name() const { return kernel_->name; }
  /// Why better rows of the table were passed over ("" when the best row for the ISA runs).
  const std::string& note() const { return note_; }
  const Conv2dShape& shape() const { return shape_; }

 private:
  const QDwConvKernel* kernel_ = nullptr;
  std::string note_;
  Conv2dShape shape_;
  ConvGeom geom_{};
  std::uint8_t pad_ = 0;
  std::size_t thread_scratch_ = 0;
  std::vector<float> taps_;             // [C, kh*kw] w - w_zp
  std::vector<QDwConvParams> params_;   // [C]
};

}  // namespace sparsify::engine
