// Plain C++ conv: the oracle (f32_conv2d_reference, in double) and the scalar table rows.
#include <algorithm>
#include <cstddef>
#include <cstring>

#include "engine/kernels/conv/family.h"

namespace sparsify::engine {
namespace {

struct Ops {
  static void copy(float* dst, const float* src, std::size_t n) { std::copy(src, src + n, dst); }
  static void run(float* dst, const float* row, std::ptrdiff_t ix0, std::size_t n, std::size_t w, std::size_t stride) {
    for (std::size_t i = 0; i < n; ++i) {
      const std::ptrdiff_t ix = ix0 + static_cast<std::ptrdiff_t>(i * stride);
      dst[i] = ix >= 0 && ix < static_cast<std::ptrdiff_t>(w) ? row[ix] : 0.0f;
    }
  }
  static void copy_s2(float* dst, const float* src, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) dst[i] = src[2 * i];
  }
  static void zero(float* dst, std::size_t n) { std::fill(dst, dst + n, 0.0f); }
};

#include "engine/kernels/conv/im2col_walk.inl"

}  // namespace

double Conv2dShape::flops() const {
  return 2.0 * double(batch) * double(out_channels) * double(out_h()) * double(out_w()) *
         double(in_channels / (groups == 0 ? 1 : groups)) * double(kernel_h) * double(kernel_w);
}

std::string Conv2dShape::describe() const {
  return str_cat(batch, "x", in_channels, "x", in_h, "x", in_w, " -> ", out_channels, ", k", kernel_h, "x", kernel_w,
                 " s", stride_h, ",", stride_w, " d", dilation_h, ",", dilation_w, " p", pad_top, ",", pad_left, ",",
                 pad_bottom, ",", pad_right, " g", groups);
}

void f32_im2col__scalar(const ConvGeom& g, const float* x, std::size_t k0, std::size_t kc, std::size_t n0,
                        std::size_t nc, std::size_t nr, float* packed) {
  im2col_walk<Ops>(g, x, k0, kc, n0, nc, nr, packed);
}

void f32_dwconv_minmax__scalar(const ConvGeom& g, const float* x, const float* w, float bias, float* y, float min,
                               float max) {
  for (std::size_t oy = 0; oy < g.oh; ++oy) {
    for (std::size_t ox = 0; ox < g.ow; ++ox) {
      float acc = bias;
      for (std::size_t ki = 0; ki < g.kh; ++ki) {
        const std::ptrdiff_t iy = static_cast<std::ptrdiff_t>(oy * g.sh + ki * g.dh) - static_cast<std::ptrdiff_t>(g.pt);
        if (iy < 0 || iy >= static_cast<std::ptrdiff_t>(g.h)) continue;
        for (std::size_t kj = 0; kj < g.kw; ++kj) {
          const std::ptrdiff_t ix = static_cast<std::ptrdiff_t>(ox * g.sw + kj * g.dw) - static_cast<std::ptrdiff_t>(g.pl);
          if (ix < 0 || ix >= static_cast<std::ptrdiff_t>(g.w)) continue;
          acc += w[ki * g.kw + kj] * x[static_cast<std::size_t>(iy) * g.w + static_cast<std::size_t>(ix)];
        }
      }
      y[oy * g.ow + ox] = std::min(std::max(acc, min), max);
    }
  }
}

void f32_conv2d_reference(const Conv2dShape& s, const float* x, const float* w, const float* bias,
                          const ActivationParams& act, float* y) {
  const std::size_t oh = s.out_h(), ow = s.out_w(), cg = s.in_channels / s.groups, mg = s.out_channels / s.groups;
  for (std::size_t b = 0; b < s.batch; ++b) {
    for (std::size_t m = 0; m < s.out_channels; ++m) {
      const std::size_t grp = m / mg;
      for (std::size_t oy = 0; oy < oh; ++oy) {
        for (std::size_t ox = 0; ox < ow; ++ox) {
          double acc = bias == nullptr ? 0.0 : bias[m];
          for (std::size_t c = 0; c < cg; ++c) {
            const float* xc = x + ((b * s.in_channels) + grp * cg + c) * s.in_h * s.in_w;
            const float* wc = w + (m * cg + c) * s.kernel_h * s.kernel_w;
            for (std::size_t ki = 0; ki < s.kernel_h; ++ki) {
              const std::ptrdiff_t iy = static_cast<std::ptrdiff_t>(oy * s.stride_h + ki * s.dilation_h) -
                                        static_cast<std::ptrdiff_t>(s.pad_top);
              if (iy < 0 || iy >= static_cast<std::ptrdiff_t>(s.in_h)) continue;
              for (std::size_t kj = 0; kj < s.kernel_w; ++kj) {
                const std::ptrdiff_t ix = static_cast<std::ptrdiff_t>(ox * s.stride_w + kj * s.dilation_w) -
                                          static_cast<std::ptrdiff_t>(s.pad_left);
                if (ix < 0 || ix >= static_cast<std::ptrdiff_t>(s.in_w)) continue;
                acc += double(xc[static_cast<std::size_t>(iy) * s.in_w + static_cast<std::size_t>(ix)]) *
                       double(wc[ki * s.kernel_w + kj]);
              }
            }
          }
          y[((b * s.out_channels + m) * oh + oy) * ow + ox] = std::min(std::max(static_cast<float>(acc), act.lo()), act.hi());
        }
      }
    }
  }
}

}  // namespace sparsify::engine
