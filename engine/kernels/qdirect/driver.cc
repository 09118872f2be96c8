// QDirectConv2dU8S8: folds zero points into int8 weight dwords and per-channel bias at prepare;
// run splits output rows across the pool (every thread computes all output channels of its rows,
// so each gathered input row feeds every channel).
#include <algorithm>

#include "engine/kernels/qdirect/family.h"
#include "engine/runtime/thread_pool.h"

namespace sparsify::engine {

Status QDirectConv2dU8S8::prepare(const Conv2dShape& s, const void* weight, const QGemmParams& p, Isa isa,
                                  const QDirectConvKernel* kernel) {
  const std::string what = "QDirectConv2d " + s.describe();
  SPARSIFY_RETURN_IF_ERROR(check_conv2d_shape(s).with_prefix(what));
  if (s.groups != 1) return unsupported("groups ", s.groups, " (grouped and depthwise convs have their own rows)");
  if (!p.output_u8) return unsupported("int32 output (ConvInteger)");
  if (weight == nullptr) return invalid_argument(what, ": no weights");
  const std::size_t m = s.out_channels, c = s.in_channels, kh = s.kernel_h, kw = s.kernel_w;
  if ((p.w_zero_points.size() != 1 && p.w_zero_points.size() != m) || (p.w_scales.size() != 1 && p.w_scales.size() != m)) {
    return invalid_argument(what, ": weight scales / zero points must have 1 or ", m, " entries");
  }
  if (p.y_min < 0 || p.y_max > 255 || p.y_min > p.y_max || !(p.y_scale > 0)) {
    return invalid_argument(what, ": bad output quantization");
  }
  geom_ = ConvGeom::of(s);
  if (kernel == nullptr) {
    for (const auto& row : qdirect_kernels()) {
      if (row.vector && row.isa <= isa && qdirect_vector_covers(geom_, c)) {
        kernel = &row;
        break;
      }
    }
    if (kernel == nullptr) {
      return unsupported(qdirect_vector_covers(geom_, c) ? "needs avx512vnni" : "shape not covered (C <= 4, kw <= 4, stride <= 2)",
                         "; the im2col GEMM is faster than the scalar direct row");
    }
  } else if (kernel->isa > isa || (kernel->vector && !qdirect_vector_covers(geom_, c))) {
    return unsupported(kernel->name, " cannot run ", s.describe(), " at ", isa_name(isa));
  }
  if (kw > 4) return unsupported("kernel width ", kw, " > 4");  // the w4 layout holds 4 taps per row
  w4_.assign(m * c * kh * 4, 0);
  bias_.assign(m, 0);
  scale_.assign(m, 0.0f);
  for (std::size_t o = 0; o < m; ++o) {
    const std::int32_t wz = p.w_zero_points[p.w_zero_points.size() == 1 ? 0 : o];
    std::int32_t sum = 0;
    for (std::size_t i = 0; i < c * kh; ++i) {
      for (std::size_t kj = 0; kj < kw; ++kj) {
        const std::size_t src = (o * c * kh + i) * kw + kj;
        const std::int32_t wv = (p.weights_u8 ? static_cast<const std::uint8_t*>(weight)[src]
                                              : static_cast<const std::int8_t*>(weight)[src]) - wz;
        if (wv < -128 || wv > 127) return unsupported("weight - zero point ", wv, " does not fit int8");
        w4_[(o * c * kh + i) * 4 + kj] = static_cast<std::int8_t>(wv);
        sum += wv;
      }
    }
    bias_[o] = (p.bias != nullptr ? p.bias[o] : 0) - p.a_zero_point * sum;
    const double ws = p.w_scales[p.w_scales.size() == 1 ? 0 : o];
    scale_[o] = static_cast<float>(double(p.a_scale) * ws / double(p.y_scale));
  }
  kernel_ = kernel;
  shape_ = s;
  params_ = QDirectConvParams{w4_.data(), bias_.data(), scale_.data(), c, static_cast<std::uint8_t>(p.a_zero_point),
                              p.y_zero_point, p.y_min, p.y_max};
  return Status();
}

void QDirectConv2dU8S8::run(const std::uint8_t* x, std::uint8_t* y, ThreadPool& pool) const {
  const std::size_t c = shape_.in_channels, m = shape_.out_channels, oh = geom_.oh;
  const std::size_t in_image = c * geom_.h * geom_.w, out_image = m * oh * geom_.ow;
  const std::size_t parts = static_cast<std::size_t>(pool.threads());
  pool.parallel_for(static_cast<std::int64_t>(shape_.batch * parts), [&](std::int64_t task, int) {
    const std::size_t b = static_cast<std::size_t>(task) / parts, part = static_cast<std::size_t>(task) % parts;
    const std::size_t oy0 = oh * part / parts, oy1 = oh * (part + 1) / parts;
    if (oy0 < oy1) kernel_->fn(geom_, params_, 0, m, oy0, oy1, x + b * in_image, y + b * out_image);
  });
}

}  // namespace sparsify::engine
