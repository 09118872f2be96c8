// QConv2dU8S8: quantized Conv2d as explicit u8 im2col + the int8 GEMM, and its oracle.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "engine/kernels/conv/family.h"
#include "engine/runtime/thread_pool.h"

namespace sparsify::engine {
namespace {

// Rows [k0, k1) of the u8 im2col of one group ([C_g, h, w] planes) into col[K, OH*OW].
void im2col_u8(const ConvGeom& g, const std::uint8_t* x, std::size_t k0, std::size_t k1, std::uint8_t pad,
               std::uint8_t* col) {
  const std::size_t khw = g.kh * g.kw, n = g.oh * g.ow;
  for (std::size_t k = k0; k < k1; ++k) {
    const std::size_t c = k / khw, ki = k % khw / g.kw, kj = k % g.kw;
    const std::uint8_t* xc = x + c * g.h * g.w;
    std::uint8_t* dst = col + k * n;
    for (std::size_t oy = 0; oy < g.oh; ++oy, dst += g.ow) {
      const std::ptrdiff_t iy = static_cast<std::ptrdiff_t>(oy * g.sh + ki * g.dh) - static_cast<std::ptrdiff_t>(g.pt);
      if (iy < 0 || iy >= static_cast<std::ptrdiff_t>(g.h)) {
        std::memset(dst, pad, g.ow);
        continue;
      }
      const std::uint8_t* row = xc + static_cast<std::size_t>(iy) * g.w;
      // Valid outputs [lo, hi) read row[ox * sw + off]; the rest is padding.
      const std::ptrdiff_t off = static_cast<std::ptrdiff_t>(kj * g.dw) - static_cast<std::ptrdiff_t>(g.pl);
      const std::ptrdiff_t ow = static_cast<std::ptrdiff_t>(g.ow), w = static_cast<std::ptrdiff_t>(g.w);
      const std::ptrdiff_t sw = static_cast<std::ptrdiff_t>(g.sw);
      const std::ptrdiff_t lo = std::min(ow, std::max<std::ptrdiff_t>(0, (-off + sw - 1) / sw));
      const std::ptrdiff_t hi = std::max(lo, std::min(ow, (w - off + sw - 1) / sw));
      std::memset(dst, pad, static_cast<std::size_t>(lo));
      if (sw == 1) {
        std::memcpy(dst + lo, row + lo + off, static_cast<std::size_t>(hi - lo));
      } else if (sw == 2) {
        const std::uint8_t* src = row + off;  // branch-free strided copy (vectorised: and + packus)
        for (std::ptrdiff_t ox = lo; ox < hi; ++ox) dst[ox] = src[2 * ox];
      } else {
        const std::uint8_t* src = row + off;
        for (std::ptrdiff_t ox = lo; ox < hi; ++ox) dst[ox] = src[ox * sw];
      }
      std::memset(dst + hi, pad, static_cast<std::size_t>(ow - hi));
    }
  }
}

template <class T>
std::vector<T> slice(const std::vector<T>& v, std::size_t begin, std::size_t count) {
  if (v.size() == 1) return v;
  return std::vector<T>(v.begin() + static_cast<std::ptrdiff_t>(begin), v.begin() + static_cast<std::ptrdiff_t>(begin + count));
}

}  // namespace

Status QConv2dU8S8::prepare(const Conv2dShape& s, const void* weight, const QGemmParams& p, Isa isa,
                            const QGemmKernel* kernel) {
  const std::string what = "QConv2d " + s.describe();
  SPARSIFY_RETURN_IF_ERROR(check_conv2d_shape(s).with_prefix(what));
  if (weight == nullptr) return invalid_argument(what, ": no weights");
  const std::size_t m = s.out_channels;
  if ((p.w_zero_points.size() != 1 && p.w_zero_points.size() != m) ||
      (p.output_u8 && p.w_scales.size() != 1 && p.w_scales.size() != m)) {
    return invalid_argument(what, ": weight scales / zero points must have 1 or ", m, " entries");
  }
  shape_ = s;
  geom_ = ConvGeom::of(s);
  pointwise_ = geom_.pointwise();
  output_u8_ = p.output_u8;
  pad_value_ = static_cast<std::uint8_t>(p.a_zero_point);
  const std::size_t mg = m / s.groups, kg = s.in_channels / s.groups * s.kernel_h * s.kernel_w;
  gemms_.assign(s.groups, QGemmU8S8ConstLeft());
  for (std::size_t g = 0; g < s.groups; ++g) {
    QGemmParams pg = p;
    pg.w_zero_points = slice(p.w_zero_points, g * mg, mg);
    pg.w_scales = slice(p.w_scales, g * mg, mg);
    pg.bias = p.bias == nullptr ? nullptr : p.bias + g * mg;
    const auto* w = static_cast<const std::uint8_t*>(weight) + g * mg * kg;  // 1-byte elements either way
    SPARSIFY_RETURN_IF_ERROR(gemms_[g].prepare(mg, kg, w, pg, isa, kernel).with_prefix(what));
  }
  name_ = str_cat(gemms_.front().name(), pointwise_ ? " (1x1: input rows directly)" : " (explicit u8 im2col)");
  return Status();
}

std::size_t QConv2dU8S8::scratch_bytes(int threads) const {
  const std::size_t kg = shape_.in_channels / shape_.groups * shape_.kernel_h * shape_.kernel_w;
  const std::size_t col = pointwise_ ? 0 : round_up(kg * geom_.oh * geom_.ow, kKernelAlignment);
  return col + gemms_.front().scratch_bytes(threads);
}

void QConv2dU8S8::run(const std::uint8_t* x, void* y, void* scratch, ThreadPool& pool) const {
  const std::size_t c = shape_.in_channels, m = shape_.out_channels, groups = shape_.groups;
  const std::size_t cg = c / groups, mg = m / groups, kg = cg * geom_.kh * geom_.kw;
  const std::size_t in_plane = geom_.h * geom_.w, n = geom_.oh * geom_.ow, elem = output_u8_ ? 1 : 4;
  std::uint8_t* col = static_cast<std::uint8_t*>(scratch);
  void* gemm_scratch = col + (pointwise_ ? 0 : round_up(kg * n, kKernelAlignment));
  for (std::size_t b = 0; b < shape_.batch; ++b) {
    for (std::size_t g = 0; g < groups; ++g) {
      const std::uint8_t* xg = x + (b * c + g * cg) * in_plane;
      void* yg = static_cast<std::uint8_t*>(y) + (b * m + g * mg) * n * elem;
      if (pointwise_) {
        gemms_[g].run(n, xg, n, yg, n, gemm_scratch, pool);
        continue;
      }
      const int parts = pool.threads();
      pool.parallel_for(parts, [&](std::int64_t part, int) {
        const std::size_t k0 = kg * static_cast<std::size_t>(part) / static_cast<std::size_t>(parts);
        const std::size_t k1 = kg * static_cast<std::size_t>(part + 1) / static_cast<std::size_t>(parts);
        im2col_u8(geom_, xg, k0, k1, pad_value_, col);
      });
      gemms_[g].run(n, col, n, yg, n, gemm_scratch, pool);
    }
  }
}

void qconv2d_reference(const Conv2dShape& s, const std::uint8_t* x, const void* w, const QGemmParams& p, void* y) {
  const std::size_t oh = s.out_h(), ow = s.out_w(), cg = s.in_channels / s.groups, mg = s.out_channels / s.groups;
  for (std::size_t b = 0; b < s.batch; ++b) {
    for (std::size_t m = 0; m < s.out_channels; ++m) {
      const std::size_t grp = m / mg;
      const double wz = p.w_zero_points[p.w_zero_points.size() == 1 ? 0 : m];
      for (std::size_t oy = 0; oy < oh; ++oy) {
        for (std::size_t ox = 0; ox < ow; ++ox) {
          double acc = 0;
          for (std::size_t c = 0; c < cg; ++c) {
            const std::uint8_t* xc = x + ((b * s.in_channels) + grp * cg + c) * s.in_h * s.in_w;
            const std::size_t wbase = (m * cg + c) * s.kernel_h * s.kernel_w;
            for (std::size_t ki = 0; ki < s.kernel_h; ++ki) {
              const std::ptrdiff_t iy = static_cast<std::ptrdiff_t>(oy * s.stride_h + ki * s.dilation_h) -
                                        static_cast<std::ptrdiff_t>(s.pad_top);
              if (iy < 0 || iy >= static_cast<std::ptrdiff_t>(s.in_h)) continue;
              for (std::size_t kj = 0; kj < s.kernel_w; ++kj) {
                const std::ptrdiff_t ix = static_cast<std::ptrdiff_t>(ox * s.stride_w + kj * s.dilation_w) -
                                          static_cast<std::ptrdiff_t>(s.pad_left);
                if (ix < 0 || ix >= static_cast<std::ptrdiff_t>(s.in_w)) continue;
                const std::size_t wi = wbase + ki * s.kernel_w + kj;
                const double wv = p.weights_u8 ? static_cast<const std::uint8_t*>(w)[wi] : static_cast<const std::int8_t*>(w)[wi];
                acc += (double(xc[static_cast<std::size_t>(iy) * s.in_w + static_cast<std::size_t>(ix)]) - p.a_zero_point) * (wv - wz);
              }
            }
          }
          if (p.bias != nullptr) acc += p.bias[m];
          const std::size_t o = ((b * s.out_channels + m) * oh + oy) * ow + ox;
          if (!p.output_u8) {
            static_cast<std::int32_t*>(y)[o] = static_cast<std::int32_t>(acc);
            continue;
          }
          const double scale = double(p.a_scale) * double(p.w_scales[p.w_scales.size() == 1 ? 0 : m]) / double(p.y_scale);
          double v = std::nearbyint(acc * scale) + p.y_zero_point;
          v = std::min<double>(std::max<double>(v, p.y_min), p.y_max);
          static_cast<std::uint8_t*>(y)[o] = static_cast<std::uint8_t>(v);
        }
      }
    }
  }
}

}  // namespace sparsify::engine
