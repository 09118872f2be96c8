// QDwConv2dU8S8: folds the zero points into per-channel taps and bias at prepare, then runs one
// plane kernel per (image, channel), channels split across the pool.
#include <algorithm>

#include "engine/kernels/qdwconv/family.h"
#include "engine/runtime/thread_pool.h"

namespace sparsify::engine {

QDwScratchLayout qdwconv_scratch_layout(const ConvGeom& g) {
  QDwScratchLayout l;
  l.rows = g.h + g.pt + g.pb;
  // Room for a full 16-wide vector at the last output plus the largest tap offset in a phase.
  const std::size_t reach = (g.kw - 1) * g.dw;
  l.phase_len = round_up(round_up(g.ow, 16) + (g.sw == 1 ? reach : g.sw == 2 ? reach / 2 : reach / g.sw) + 1, 16);
  l.row_pitch = g.sw * l.phase_len;
  return l;
}

Status QDwConv2dU8S8::prepare(const Conv2dShape& s, const void* weight, const QGemmParams& p, Isa isa,
                              const QDwConvKernel* kernel) {
  const std::string what = "QDwConv2d " + s.describe();
  SPARSIFY_RETURN_IF_ERROR(check_conv2d_shape(s).with_prefix(what));
  if (s.groups != s.in_channels || s.groups != s.out_channels) {
    return unsupported("not depthwise with multiplier 1 (groups ", s.groups, ", C ", s.in_channels, ", M ",
                       s.out_channels, ")");
  }
  const std::size_t taps = s.kernel_h * s.kernel_w, c = s.out_channels;
  if (taps > kQDwConvMaxTaps) return unsupported("kernel ", s.kernel_h, "x", s.kernel_w, " has more than ", kQDwConvMaxTaps, " taps");
  if (weight == nullptr) return invalid_argument(what, ": no weights");
  if ((p.w_zero_points.size() != 1 && p.w_zero_points.size() != c) ||
      (p.output_u8 && p.w_scales.size() != 1 && p.w_scales.size() != c)) {
    return invalid_argument(what, ": weight scales / zero points must have 1 or ", c, " entries");
  }
  if (p.output_u8 && (p.y_min < 0 || p.y_max > 255 || p.y_min > p.y_max || !(p.y_scale > 0))) {
    return invalid_argument(what, ": bad output quantization (scale ", p.y_scale, ", range [", p.y_min, ", ", p.y_max, "])");
  }
  shape_ = s;
  geom_ = ConvGeom::of(s);
  pad_ = static_cast<std::uint8_t>(p.a_zero_point);
  taps_.assign(c * taps, 0.0f);
  params_.assign(c, QDwConvParams{});
  for (std::size_t ch = 0; ch < c; ++ch) {
    const std::int32_t wz = p.w_zero_points[p.w_zero_points.size() == 1 ? 0 : ch];
    std::int32_t sum = 0;
    for (std::size_t t = 0; t < taps; ++t) {
      const std::size_t i = ch * taps + t;
      const std::int32_t wv = p.weights_u8 ? static_cast<const std::uint8_t*>(weight)[i] : static_cast<const std::int8_t*>(weight)[i];
      taps_[i] = static_cast<float>(wv - wz);
      sum += wv - wz;
    }
    QDwConvParams& q = params_[ch];
    q.bias = (p.bias != nullptr ? p.bias[ch] : 0) - p.a_zero_point * sum;
    q.output_u8 = p.output_u8;
    if (p.output_u8) {
      const double ws = p.w_scales[p.w_scales.size() == 1 ? 0 : ch];
      q.scale = static_cast<float>(double(p.a_scale) * ws / double(p.y_scale));
      q.y_zero = p.y_zero_point;
      q.y_min = p.y_min;
      q.y_max = p.y_max;
    }
  }
  const bool taps_int8 = std::all_of(taps_.begin(), taps_.end(), [](float t) { return t >= -128.0f && t <= 127.0f; });
  if (kernel != nullptr && kernel->isa > isa) return unsupported(kernel->name, " needs ", isa_name(kernel->isa));
  if (kernel != nullptr && !qdwconv_covers(*kernel, geom_, taps_int8)) {
    return unsupported(kernel->name, " does not cover ", s.describe(), taps_int8 ? "" : " (taps w - w_zp not all int8)");
  }
  kernel_ = kernel != nullptr ? kernel : &select_qdwconv(isa, geom_, taps_int8);
  // Only the float-accumulation SIMD rows stage the plane in scratch.
  const bool staged = kernel_->cover == QDwConvCover::kQDwAnyShape && kernel_->isa != Isa::kScalar;
  thread_scratch_ = staged ? qdwconv_scratch_layout(geom_).bytes() : 0;
  note_.clear();
  for (const auto& row : qdwconv_kernels()) {  // the better rows this ISA allows, and why not them
    if (&row == kernel_) break;
    if (row.isa > isa) continue;
    note_ += str_cat(note_.empty() ? "" : "; ", row.name, " does not cover this layer",
                     taps_int8 ? " (shape)" : " (taps w - w_zp not all int8)");
  }
  return Status();
}

std::size_t QDwConv2dU8S8::scratch_bytes(int threads) const {
  return thread_scratch_ * static_cast<std::size_t>(std::max(threads, 1));
}

void QDwConv2dU8S8::run(const std::uint8_t* x, void* y, void* scratch, ThreadPool& pool) const {
  const std::size_t c = shape_.out_channels, taps = geom_.kh * geom_.kw;
  const std::size_t in_plane = geom_.h * geom_.w, out_plane = geom_.oh * geom_.ow;
  const std::size_t elem = params_.front().output_u8 ? 1 : 4;
  const QDwConvFn fn = kernel_->fn;
  pool.parallel_for(static_cast<std::int64_t>(shape_.batch * c), [&](std::int64_t task, int thread) {
    const std::size_t t = static_cast<std::size_t>(task), ch = t % c;
    fn(geom_, x + t * in_plane, pad_, taps_.data() + ch * taps, params_[ch],
       static_cast<std::byte*>(scratch) + static_cast<std::size_t>(thread) * thread_scratch_,
       static_cast<std::uint8_t*>(y) + t * out_plane * elem);
  });
}

}  // namespace sparsify::engine
