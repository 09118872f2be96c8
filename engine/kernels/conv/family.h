// fp32 2-D convolution, NCHW: GEMM over an implicit im2col (any stride, padding, dilation, groups;
// 1x1 stride-1 convs read the input rows directly) and a direct depthwise kernel (groups == C == M).
//
// Implicit im2col: the GEMM's B operand is col[K, N] with K = (c, ki, kj) of one group and
// N = (oy, ox); packers write it straight into the GEMM's NR-column panels (see gemm/family.h):
//     packed[(j * kc + kk) * nr + t] = x[c][oy*sh + ki*dh - pt][ox*sw + kj*dw - pl]   (0 outside)
//     with k0 + kk = (c * kh + ki) * kw + kj and n0 + j * nr + t = oy * OW + ox.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/base/cpu_info.h"
#include "engine/base/status.h"
#include "engine/kernels/common.h"
#include "engine/kernels/gemm/family.h"
#include "engine/kernels/qgemm/family.h"

namespace sparsify::engine {

class ThreadPool;

/// Geometry of one Conv2d node (ONNX Conv on NCHW; explicit pads).
struct Conv2dShape {
  std::size_t batch = 1;
  std::size_t in_channels = 0, in_h = 0, in_w = 0;
  std::size_t out_channels = 0;
  std::size_t kernel_h = 1, kernel_w = 1;
  std::size_t stride_h = 1, stride_w = 1;
  std::size_t dilation_h = 1, dilation_w = 1;
  std::size_t pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
  std::size_t groups = 1;

  std::size_t out_h() const { return (in_h + pad_top + pad_bottom - dilation_h * (kernel_h - 1) - 1) / stride_h + 1; }
  std::size_t out_w() const { return (in_w + pad_left + pad_right - dilation_w * (kernel_w - 1) - 1) / stride_w + 1; }
  /// Multiply-adds times two, per batch of `batch` images.
  double flops() const;
  /// "1x64x56x56 -> 64, k3x3 s1 d1 p1,1,1,1 g1"
  std::string describe() const;
};

/// invalid_argument unless every size, stride, dilation and group count is valid for NCHW conv.
Status check_conv2d_shape(const Conv2dShape& s);

/// What the packers and the depthwise kernels see (one image and group at a time).
struct ConvGeom {
  std::size_t h, w, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr, oh, ow;

  // For generic (non-ISA) translation units only: an inline function odr-used in an ISA TU could be
  // the copy the linker keeps for every caller (HOUSE_STYLE principle 6).
  static ConvGeom of(const Conv2dShape& s) {
    return {s.in_h,       s.in_w,    s.kernel_h, s.kernel_w,   s.stride_h,    s.stride_w, s.dilation_h,
            s.dilation_w, s.pad_top, s.pad_left, s.pad_bottom, s.pad_right,   s.out_h(),  s.out_w()};
  }
  /// 1x1, stride 1, no top/left padding and an output plane equal to the input plane: the im2col
  /// of a plane is the plane itself.
  bool pointwise() const { return kh * kw == 1 && sh == 1 && sw == 1 && pt == 0 && pl == 0 && oh == h && ow == w; }
};

/// Writes ceil(nc/nr) panels of the implicit im2col of `x` ([C_g, h, w] planes) for rows
/// [k0, k0+kc) and columns [n0, n0+nc); any nr <= 64. With nr = MR the same panels are the A
/// operand of col^T (the transposed path).
using F32Im2colFn = void (*)(const ConvGeom& g, const float* x, std::size_t k0, std::size_t kc, std::size_t n0,
                             std::size_t nc, std::size_t nr, float* packed);

/// One depthwise plane: y[oy, ox] = clamp(bias + sum_{ki,kj} w[ki*kw + kj] * x[iy, ix]), taps
/// outside the input contributing zero. Reads the unpadded plane; needs no scratch.
using F32DwConvFn = void (*)(const ConvGeom& g, const float* x, const float* w, float bias, float* y, float min,
                             float max);

struct F32Im2colKernel {
  const char* name;
  Isa isa;
  F32Im2colFn fn;
};
struct F32DwConvKernel {
  const char* name;
  Isa isa;
  F32DwConvFn fn;
};

#define SPARSIFY_F32_IM2COL(name, isa)                                                               \
  void name(const ConvGeom&, const float*, std::size_t, std::size_t, std::size_t, std::size_t, std::size_t, \
            float*);
#define SPARSIFY_F32_DWCONV(name, isa) \
  void name(const ConvGeom&, const float*, const float*, float, float*, float, float);
#include "engine/kernels/conv/kernels.inc"
#undef SPARSIFY_F32_IM2COL
#undef SPARSIFY_F32_DWCONV

const std::vector<F32Im2colKernel>& f32_im2col_kernels();
const std::vector<F32DwConvKernel>& f32_dwconv_kernels();

/// Plain loops in double, the oracle: any groups (including channel multipliers), NCHW.
/// w is [M, C/groups, kh, kw]; bias M floats or null.
void f32_conv2d_reference(const Conv2dShape& s, const float* x, const float* w, const float* bias,
                          const ActivationParams& act, float* y);

/// A prepared Conv2d: weights packed once, run() allocation-free.
class Conv2dF32 {
 public:
  /// Which implementation prepare() picked.
  ///  kGemm1x1:        W x X, the input rows packed directly (1x1, stride 1, no padding)
  ///  kGemmIm2col:     W x im2col(X), channels in registers' rows, spatial positions in vectors
  ///  kGemmTransposed: im2col(X)^T x W^T into scratch, then transposed to NCHW; for small
  ///                   spatial sizes (7x7: 49 positions) where vectors along space would be padded
  ///  kDepthwise:      direct depthwise kernel (groups == C == M)
  enum class Path : std::uint8_t { kGemm1x1, kGemmIm2col, kGemmTransposed, kDepthwise };

  /// Forced choices (tests, benchmarks); empty = decide from the shape and the tables.
  struct Choice {
    const F32GemmKernel* gemm = nullptr;
    const F32DwConvKernel* dwconv = nullptr;
    bool force_path = false;
    Path path = Path::kGemmIm2col;  // with force_path; kGemmIm2col also covers kGemm1x1
  };

  /// Validates `shape`, chooses the kernels for `isa` (the ceiling, from effective_isa()) and packs
  /// `weight` ([M, C/groups, kh, kw], OIHW) and `bias` (M floats or null); both may be freed after.
  /// A forced row above `isa` or a forced path that cannot run the shape is `unsupported`.
  Status prepare(const Conv2dShape& shape, const float* weight, const float* bias, const ActivationParams& act,
                 Isa isa, const Choice& choice);
  Status prepare(const Conv2dShape& shape, const float* weight, const float* bias, const ActivationParams& act,
                 Isa isa) {
    return prepare(shape, weight, bias, act, isa, Choice{});
  }

  /// Scratch bytes run() needs with `threads` threads (64-byte aligned base required).
  std::size_t scratch_bytes(int threads) const;

  /// y[N, M, OH, OW] = act(conv(x[N, C, H, W]) + bias) for N = shape().batch images.
  void run(const float* x, float* y, void* scratch, ThreadPool& pool) const;
  /// As run(), for `batch` images (any batch >= 1; scratch does not depend on it).
  void run_batch(std::size_t batch, const float* x, float* y, void* scratch, ThreadPool& pool) const;

  /// Kernel names for --dump-plan, e.g. "f32_im2col__avx512 + f32_gemm_minmax_8x32__avx512".
  const char* name() const { return name_.c_str(); }
  Path path() const { return path_; }
  const Conv2dShape& shape() const { return shape_; }

 private:
  std::size_t thread_scratch_bytes() const;

  Conv2dShape shape_;
  ConvGeom geom_{};
  ActivationParams act_;
  Path path_ = Path::kGemmIm2col;
  std::string name_;
  void run_transposed(std::size_t batch, const float* x, float* y, void* scratch, ThreadPool& pool) const;
  void transposed_block(std::size_t b, std::size_t s0, std::size_t s1, std::size_t c0, std::size_t c1, const float* x,
                        float* y, char* thread_scratch, std::size_t gemm_bytes) const;

  std::vector<GemmF32ConstLeft> gemms_;  // one per group (kGemm1x1, kGemmIm2col)
  GemmF32ConstRight gemm_t_;              // W^T (kGemmTransposed; groups == 1)
  const F32Im2colKernel* im2col_ = nullptr;
  const F32DwConvKernel* dwconv_ = nullptr;
  std::vector<float> dw_weights_;  // [C, kh*kw] (depthwise)
  std::vector<float> dw_bias_;     // [C]
};

/// Oracle for quantized convs with the reference ops' arithmetic (QLinearConv: double
/// requantization; ConvInteger: int32). Padding contributes zero after the zero point. x is u8
/// NCHW, w int8 (or uint8 with p.weights_u8) OIHW; p's per-channel vectors index output channels.
void qconv2d_reference(const Conv2dShape& s, const std::uint8_t* x, const void* w, const QGemmParams& p, void* y);

/// A prepared quantized Conv2d (QLinearConv with u8 output, or ConvInteger with int32 output):
/// per group, an explicit u8 im2col (padding = the input zero point) into scratch, then
/// QGemmU8S8ConstLeft; 1x1 stride-1 convs read the input directly.
class QConv2dU8S8 {
 public:
  /// `weight` OIHW int8 (uint8 with p.weights_u8); p.bias and the per-channel vectors have one
  /// entry per output channel. Weights are packed here; inputs may be freed after.
  Status prepare(const Conv2dShape& shape, const void* weight, const QGemmParams& p, Isa isa,
                 const QGemmKernel* kernel = nullptr);
  std::size_t scratch_bytes(int threads) const;
  /// y (u8 or int32 per params) [N, M, OH, OW] from x u8 [N, C, H, W]. Allocation-free.
  void run(const std::uint8_t* x, void* y, void* scratch, ThreadPool& pool) const;
  const char* name() const { return name_.c_str(); }
  const Conv2dShape& shape() const { return shape_; }

 private:
  Conv2dShape shape_;
  ConvGeom geom_{};
  bool pointwise_ = false, output_u8_ = true;
  std::uint8_t pad_value_ = 0;
  std::string name_;
  std::vector<QGemmU8S8ConstLeft> gemms_;  // one per group
};

}  // namespace sparsify::engine
