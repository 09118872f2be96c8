// The int8 SpMM drivers (ISA-free): zero-point folding and bsr_1x4 packing at prepare, the K-order
// choice of sparse convs, nnz-balanced task grids and the u8 im2col.
#include <algorithm>
#include <cstring>
#include <limits>

#include "engine/kernels/qspmm/family.h"
#include "engine/runtime/thread_pool.h"

namespace sparsify::engine {
namespace {

constexpr std::size_t kRowBlock = 256;  // rows of W^T per transposed output tile (constant-right)

int row_chunks(std::size_t tiles, int threads) {
  return threads <= 1 || tiles >= 4 * static_cast<std::size_t>(threads) ? 1 : threads;
}

Status check_kernel(const QSpmmKernel* kernel, Isa isa) {
  if (kernel != nullptr && kernel->isa > isa) {
    return unsupported("QSpMM: kernel ", kernel->name, " needs ", isa_name(kernel->isa), ", allowed is ", isa_name(isa));
  }
  return Status();
}

std::int32_t weight_at(const void* w, bool u8, std::size_t i) {
  return u8 ? static_cast<const std::uint8_t*>(w)[i] : static_cast<const std::int8_t*>(w)[i];
}

// 16-bit loads that may alias bytes, unaligned: element i holds bytes 2i (low, x86) and 2i + 1.
typedef std::uint16_t U16Alias __attribute__((may_alias, aligned(1)));

// Rows are short (7..112 bytes) and there are K * OH of them: inline loops, not libc calls (the
// call overhead of memset / memcpy per row was most of the im2col time).
#pragma GCC push_options
#pragma GCC optimize("no-tree-loop-distribute-patterns")
inline void fill(std::uint8_t* dst, std::uint8_t v, std::ptrdiff_t n) {
  for (std::ptrdiff_t i = 0; i < n; ++i) dst[i] = v;
}

// Rows [k0, k1) of the u8 im2col of one image ([C, h, w] planes) into col[K, OH*OW]; row k is
// (c, ki, kj) = OIHW order, or tap-major (ki, kj, c) with `tap_major`.
void im2col_u8(const ConvGeom& g, std::size_t channels, bool tap_major, const std::uint8_t* x, std::size_t k0,
               std::size_t k1, std::uint8_t pad, std::uint8_t* col) {
  const std::size_t khw = g.kh * g.kw, n = g.oh * g.ow;
  for (std::size_t k = k0; k < k1; ++k) {
    std::size_t c, ki, kj;
    if (tap_major) {
      c = k % channels;
      ki = k / channels / g.kw;
      kj = k / channels % g.kw;
    } else {
      c = k / khw;
      ki = k % khw / g.kw;
      kj = k % g.kw;
    }
    const std::uint8_t* xc = x + c * g.h * g.w;
    std::uint8_t* dst = col + k * n;
    for (std::size_t oy = 0; oy < g.oh; ++oy, dst += g.ow) {
      const std::ptrdiff_t iy = static_cast<std::ptrdiff_t>(oy * g.sh + ki * g.dh) - static_cast<std::ptrdiff_t>(g.pt);
      if (iy < 0 || iy >= static_cast<std::ptrdiff_t>(g.h)) {
        fill(dst, pad, static_cast<std::ptrdiff_t>(g.ow));
        continue;
      }
      const std::uint8_t* row = xc + static_cast<std::size_t>(iy) * g.w;
      if (g.sw == 1) {
        const std::ptrdiff_t off = static_cast<std::ptrdiff_t>(kj * g.dw) - static_cast<std::ptrdiff_t>(g.pl);
        const std::ptrdiff_t ow = static_cast<std::ptrdiff_t>(g.ow), w = static_cast<std::ptrdiff_t>(g.w);
        const std::ptrdiff_t lo = std::min(ow, std::max<std::ptrdiff_t>(0, -off));
        const std::ptrdiff_t hi = std::max(lo, std::min(ow, w - off));
        fill(dst, pad, lo);
        const std::uint8_t* src = row + off;
        for (std::ptrdiff_t ox = lo; ox < hi; ++ox) dst[ox] = src[ox];
        fill(dst + hi, pad, ow - hi);
        continue;
      }
      if (g.sw == 2) {
        // Interior columns read row[2 ox + off]: the low bytes of 16-bit pairs, which vectorizes
        // (a byte gather at stride 2 does not). Pairs stop before the row's last byte.
        const std::ptrdiff_t off = static_cast<std::ptrdiff_t>(kj * g.dw) - static_cast<std::ptrdiff_t>(g.pl);
        const std::ptrdiff_t ow = static_cast<std::ptrdiff_t>(g.ow), w = static_cast<std::ptrdiff_t>(g.w);
        auto floor_half = [](std::ptrdiff_t v) { return v >= 0 ? v / 2 : -((1 - v) / 2); };
        const std::ptrdiff_t lo = std::min(ow, std::max<std::ptrdiff_t>(0, -floor_half(off)));     // 2 ox + off >= 0
        const std::ptrdiff_t hi = std::max(lo, std::min(ow, floor_half(w - 1 - off) + 1));        // 2 ox + off <= w - 1
        const std::ptrdiff_t pairs = std::max(lo, std::min(hi, floor_half(w - 2 - off) + 1));     // 2 ox + off + 1 <= w - 1
        fill(dst, pad, lo);
        const U16Alias* src = reinterpret_cast<const U16Alias*>(row + off);
        for (std::ptrdiff_t ox = lo; ox < pairs; ++ox) dst[ox] = static_cast<std::uint8_t>(src[ox]);
        for (std::ptrdiff_t ox = pairs; ox < hi; ++ox) dst[ox] = row[2 * ox + off];
        fill(dst + hi, pad, ow - hi);
        continue;
      }
      for (std::size_t ox = 0; ox < g.ow; ++ox) {
        const std::ptrdiff_t ix = static_cast<std::ptrdiff_t>(ox * g.sw + kj * g.dw) - static_cast<std::ptrdiff_t>(g.pl);
        dst[ox] = ix >= 0 && ix < static_cast<std::ptrdiff_t>(g.w) ? row[ix] : pad;
      }
    }
  }
}
#pragma GCC pop_options

}  // namespace

// ---- SparseQRows -----------------------------------------------------------------------------------

Status SparseQRows::prepare(std::size_t m, std::size_t k, const void* w, std::size_t w_rs, std::size_t w_cs,
                            const std::uint32_t* perm, const QGemmParams& p, const QSpmmKernel& kernel, Isa isa,
                            const std::vector<std::size_t>* group_offsets) {
  if (m == 0 || k == 0) return invalid_argument("QSpMM: empty weights [", m, ", ", k, "]");
  SPARSIFY_RETURN_IF_ERROR(check_kernel(&kernel, isa));
  if (p.w_zero_points.size() != 1 && p.w_zero_points.size() != m) {
    return invalid_argument("QSpMM: ", p.w_zero_points.size(), " weight zero points for ", m, " channels");
  }
  if (p.output_u8 && p.w_scales.size() != 1 && p.w_scales.size() != m) {
    return invalid_argument("QSpMM: ", p.w_scales.size(), " weight scales for ", m, " channels");
  }
  if (p.a_zero_point < 0 || p.a_zero_point > 255) return invalid_argument("QSpMM: activation zero point ", p.a_zero_point, " is not a uint8");
  if (p.output_u8 && (p.y_min < 0 || p.y_max > 255 || p.y_min > p.y_max || !(p.y_scale > 0))) {
    return invalid_argument("QSpMM: bad output quantization (scale ", p.y_scale, ", range [", p.y_min, ", ", p.y_max, "])");
  }
  const std::size_t k4 = ceil_div(k, 4), nr = kernel.nr;
  if (k4 * nr * 4 > static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max())) return unsupported("QSpMM: K too large");
  if (group_offsets != nullptr && group_offsets->size() != k4) return invalid_argument("QSpMM: ", group_offsets->size(), " group offsets for ", k4, " groups");
  if (group_offsets != nullptr && group_offsets->back() + nr * 4 > static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max())) {
    return unsupported("QSpMM: B offsets overflow int32");
  }
  kernel_ = &kernel;
  m_ = m;
  k_ = k;
  // w - w_zp as int16 [m, k] (stored K order), then checked to fit int8.
  std::vector<std::int16_t> wz(m * k);
  ch_.bias.assign(m, 0);
  ch_.scale.assign(m, 0.0f);
  ch_.w_zero.clear();
  for (std::size_t ch = 0; ch < m; ++ch) {
    const std::int32_t zw = p.w_zero_points[p.w_zero_points.size() == 1 ? 0 : ch];
    std::int64_t sum = 0;
    for (std::size_t kk = 0; kk < k; ++kk) {
      const std::size_t src = perm == nullptr ? kk : perm[kk];
      const std::int32_t v = weight_at(w, p.weights_u8, ch * w_rs + src * w_cs) - zw;
      if (v < -128 || v > 127) {
        return unsupported("QSpMM: weight ", v + zw, " minus its zero point ", zw, " does not fit int8 (channel ", ch, ")");
      }
      wz[ch * k + kk] = static_cast<std::int16_t>(v);
      sum += v;
    }
    ch_.bias[ch] = static_cast<std::int32_t>((p.bias == nullptr ? 0 : p.bias[ch]) - std::int64_t(p.a_zero_point) * sum);
    if (p.output_u8) {
      const double ws = p.w_scales[p.w_scales.size() == 1 ? 0 : ch];
      ch_.scale[ch] = static_cast<float>(double(p.a_scale) * ws / double(p.y_scale));
    }
  }
  ch_.y_zero = p.y_zero_point;
  ch_.y_min = p.output_u8 ? p.y_min : 0;
  ch_.y_max = p.output_u8 ? p.y_max : 0;
  ch_.output_u8 = p.output_u8;
  stats_ = q_sparsity(m, k, wz.data());
  weights_.resize(stats_.nonempty_blocks4);
  offsets_.resize(stats_.nonempty_blocks4);
  row_blocks_.assign(m, 0);
  row_start_.assign(m + 1, 0);
  std::size_t j = 0;
  for (std::size_t ch = 0; ch < m; ++ch) {
    for (std::size_t g = 0; g < k4; ++g) {
      std::int8_t b4[4] = {0, 0, 0, 0};
      bool any = false;
      for (std::size_t t = 0; t < 4 && 4 * g + t < k; ++t) {
        b4[t] = static_cast<std::int8_t>(wz[ch * k + 4 * g + t]);
        any |= b4[t] != 0;
      }
      if (!any) continue;
      std::memcpy(weights_.data() + j, b4, 4);
      offsets_.data()[j] = static_cast<std::int32_t>(group_offsets != nullptr ? (*group_offsets)[g] : g * nr * 4);
      ++j;
    }
    row_blocks_[ch] = static_cast<std::uint32_t>(j - row_start_[ch]);
    row_start_[ch + 1] = j;
  }
  return Status();
}

void SparseQRows::run_rows(std::size_t r0, std::size_t r1, std::size_t nr, const std::uint8_t* tile, void* c,
                           std::size_t ldc) const {
  if (r0 >= r1) return;
  QGemmUkernelParams p;
  p.bias = ch_.bias.data() + r0;
  p.scale = ch_.scale.data() + r0;
  p.flags = ch_.output_u8 ? std::uint32_t{kQGemmOutputU8} : std::uint32_t{0};
  p.y_zero = ch_.y_zero;
  p.y_min = ch_.y_min;
  p.y_max = ch_.y_max;
  const std::size_t j = row_start_[r0];
  kernel_->ukernel(r1 - r0, nr, row_blocks_.data() + r0, weights_.data() + j, offsets_.data() + j, tile, c, ldc, p);
}

void SparseQRows::balance(int parts, std::size_t* bounds) const {
  const std::size_t total = row_start_[m_] + 2 * m_;
  bounds[0] = 0;
  std::size_t r = 0;
  for (int part = 1; part < parts; ++part) {
    const std::size_t target = total * static_cast<std::size_t>(part) / static_cast<std::size_t>(parts);
    while (r < m_ && row_start_[r] + 2 * r < target) ++r;
    bounds[part] = r;
  }
  bounds[parts] = m_;
}

// ---- QSpmmU8S8ConstLeft ----------------------------------------------------------------------------

Status QSpmmU8S8ConstLeft::prepare(std::size_t m, std::size_t k, const void* w, const QGemmParams& p, Isa isa,
                                   std::size_t n_hint, const QSpmmKernel* kernel, const std::uint32_t* perm,
                                   const std::vector<std::size_t>* group_offsets) {
  SPARSIFY_RETURN_IF_ERROR(check_kernel(kernel, isa));
  const QSpmmKernel& row = kernel != nullptr ? *kernel : select_qspmm(isa, n_hint, round_up(k, 4));
  return rows_.prepare(m, k, w, k, 1, perm, p, row, isa, group_offsets);
}

std::size_t QSpmmU8S8ConstLeft::scratch_bytes(int threads) const {
  return round_up(rows_.k4() * 4 * rows_.kernel().nr, kKernelAlignment) * static_cast<std::size_t>(std::max(1, threads));
}

void QSpmmU8S8ConstLeft::run(std::size_t n, const std::uint8_t* b, std::size_t ldb, void* c, std::size_t ldc,
                             void* scratch, ThreadPool& pool) const {
  if (n == 0) return;
  const std::size_t nr = rows_.kernel().nr, tiles = ceil_div(n, nr), elem = rows_.output_u8() ? 1 : 4;
  const std::size_t per_thread = scratch_bytes(1);
  // Splitting rows packs each B tile once per chunk: whole tiles go to the threads whenever they
  // divide evenly or are plenty.
  const auto t = static_cast<std::size_t>(std::max(1, pool.threads()));
  const int chunks = tiles % t != 0 && tiles < 2 * t ? row_chunks(tiles, pool.threads()) : 1;
  std::size_t bounds[ThreadPool::kMaxThreads + 1];
  rows_.balance(chunks, bounds);
  pool.parallel_for(static_cast<std::int64_t>(tiles) * chunks, [&](std::int64_t task, int thread) {
    const std::size_t chunk = static_cast<std::size_t>(task) / tiles, t = static_cast<std::size_t>(task) % tiles;
    const std::size_t n0 = t * nr, nc = std::min(nr, n - n0);
    std::uint8_t* tile = static_cast<std::uint8_t*>(scratch) + per_thread * static_cast<std::size_t>(thread);
    rows_.kernel().pack_b(rows_.k(), nc, b + n0, ldb, nr, tile);
    rows_.run_rows(bounds[chunk], bounds[chunk + 1], nc, tile,
                   static_cast<std::uint8_t*>(c) + (bounds[chunk] * ldc + n0) * elem, ldc);
  });
}

// ---- QSpmmU8S8ConstRight ---------------------------------------------------------------------------

Status QSpmmU8S8ConstRight::prepare(std::size_t k, std::size_t n, const void* w, bool w_transposed,
                                    const QGemmParams& p, Isa isa, std::size_t m_hint, const QSpmmKernel* kernel) {
  SPARSIFY_RETURN_IF_ERROR(check_kernel(kernel, isa));
  // The X^T tile is K x NR: the K-aware choice keeps it within 128 KiB (BERT FFN2, K = 3072, m = 128, 1 thread:
  // 1x32 284 us vs 1x64 320 us; K = 768 keeps 1x64).
  const QSpmmKernel& row = kernel != nullptr ? *kernel : select_qspmm(isa, m_hint, round_up(k, 4));
  return w_transposed ? rows_.prepare(n, k, w, k, 1, nullptr, p, row, isa)
                      : rows_.prepare(n, k, w, 1, n, nullptr, p, row, isa);
}

void dequantize_u8_rows(std::size_t rows, std::size_t cols, const std::uint8_t* q, std::size_t ldq,
                        const QDequantizeOut& d, std::size_t j0, float* y, std::size_t ldy) {
  for (std::size_t i = 0; i < rows; ++i) {
    const std::uint8_t* qi = q + i * ldq;
    float* yi = y + i * ldy;
    if (d.bias == nullptr) {
      for (std::size_t j = 0; j < cols; ++j) yi[j] = static_cast<float>(std::int32_t(qi[j]) - d.zero) * d.scale;
    } else {
      const float* b = d.bias + j0;
      for (std::size_t j = 0; j < cols; ++j) yi[j] = static_cast<float>(std::int32_t(qi[j]) - d.zero) * d.scale + b[j];
    }
  }
}

// Per thread: the X^T tile and the [rows, NR] output tile (int32 at most).
std::size_t QSpmmU8S8ConstRight::thread_bytes() const {
  const std::size_t nr = rows_.kernel().nr;
  return round_up(rows_.k4() * 4 * nr, kKernelAlignment) + round_up(kRowBlock * nr * 4, kKernelAlignment);
}

std::size_t QSpmmU8S8ConstRight::scratch_bytes(int threads) const {
  return thread_bytes() * static_cast<std::size_t>(std::max(1, threads));
}

void QSpmmU8S8ConstRight::run(std::size_t m, const std::uint8_t* x, std::size_t ldx, void* c, std::size_t ldc,
                              void* scratch, ThreadPool& pool, const QDequantizeOut* dq) const {
  if (m == 0) return;
  const std::size_t nr = rows_.kernel().nr, tiles = ceil_div(m, nr);
  const bool u8 = rows_.output_u8();
  // As in the constant-left driver, whole tiles go to the threads whenever they divide evenly or
  // are plenty: splitting rows packs every X^T tile once per chunk and halves each kernel call
  // (BERT-base, m = 128, 2 threads: 768x768 43 -> 33 us, 3072 -> 768 178 -> 144 us).
  const auto nt = static_cast<std::size_t>(std::max(1, pool.threads()));
  const int chunks = tiles % nt != 0 && tiles < 2 * nt ? row_chunks(tiles, pool.threads()) : 1;
  std::size_t bounds[ThreadPool::kMaxThreads + 1];
  rows_.balance(chunks, bounds);
  pool.parallel_for(static_cast<std::int64_t>(tiles) * chunks, [&](std::int64_t task, int thread) {
    const std::size_t chunk = static_cast<std::size_t>(task) / tiles, t = static_cast<std::size_t>(task) % tiles;
    const std::size_t m0 = t * nr, mc = std::min(nr, m - m0);
    std::uint8_t* tile = static_cast<std::uint8_t*>(scratch) + thread_bytes() * static_cast<std::size_t>(thread);
    std::uint8_t* ct = tile + round_up(rows_.k4() * 4 * nr, kKernelAlignment);
    rows_.kernel().pack_a(mc, rows_.k(), x + m0 * ldx, ldx, nr, tile);  // c4 tile of X^T
    for (std::size_t r0 = bounds[chunk]; r0 < bounds[chunk + 1]; r0 += kRowBlock) {
      const std::size_t r1 = std::min(bounds[chunk + 1], r0 + kRowBlock);
      rows_.run_rows(r0, r1, mc, tile, ct, nr);
      if (u8 && dq != nullptr) {
        rows_.kernel().transpose_dequant(r1 - r0, mc, ct, nr, *dq, r0, static_cast<float*>(c) + m0 * ldc + r0, ldc);
      } else if (u8) {
        rows_.kernel().transpose_u8(r1 - r0, mc, ct, nr, static_cast<std::uint8_t*>(c) + m0 * ldc + r0, ldc);
      } else {
        const std::int32_t* ct32 = reinterpret_cast<const std::int32_t*>(ct);
        for (std::size_t i = 0; i < mc; ++i) {
          std::int32_t* dst = static_cast<std::int32_t*>(c) + (m0 + i) * ldc;
          for (std::size_t r = r0; r < r1; ++r) dst[r] = ct32[(r - r0) * nr + i];
        }
      }
    }
  });
}

// ---- QSparseConv2dU8S8 -----------------------------------------------------------------------------

Status QSparseConv2dU8S8::prepare(const Conv2dShape& s, const void* weight, const QGemmParams& p, Isa isa,
                                  const QSpmmKernel* kernel) {
  const std::string what = "QSparseConv2d " + s.describe();
  SPARSIFY_RETURN_IF_ERROR(check_conv2d_shape(s).with_prefix(what));
  if (s.groups != 1) return unsupported(what, ": groups = ", s.groups, " (grouped and depthwise convs stay dense)");
  if (weight == nullptr) return invalid_argument(what, ": no weights");
  shape_ = s;
  geom_ = ConvGeom::of(s);
  pointwise_ = geom_.pointwise();
  output_u8_ = p.output_u8;
  pad_value_ = static_cast<std::uint8_t>(p.a_zero_point);
  const std::size_t m = s.out_channels, c = s.in_channels, taps = s.kernel_h * s.kernel_w, k = c * taps;
  // Count non-empty 4-groups of (w - w_zp) in both K orders; keep the order with fewer.
  std::vector<std::uint32_t> perm(k);  // tap-major row k' -> OIHW column
  for (std::size_t kk = 0; kk < k; ++kk) perm[kk] = static_cast<std::uint32_t>((kk % c) * taps + kk / c);
  std::size_t groups_oihw = 0, groups_tap = 0;
  if (taps > 1) {
    for (std::size_t ch = 0; ch < m; ++ch) {
      const std::int32_t zw = p.w_zero_points.empty() ? 0 : p.w_zero_points[p.w_zero_points.size() == 1 ? 0 : ch];
      for (std::size_t g = 0; g < k; g += 4) {
        bool a = false, b = false;
        for (std::size_t t = g; t < std::min(k, g + 4); ++t) {
          a |= weight_at(weight, p.weights_u8, ch * k + t) != zw;
          b |= weight_at(weight, p.weights_u8, ch * k + perm[t]) != zw;
        }
        groups_oihw += a;
        groups_tap += b;
      }
    }
  }
  tap_major_ = taps > 1 && groups_tap < groups_oihw;
  padded_ = (tap_major_ || (taps == 1 && !pointwise_)) && c % 4 == 0 && (s.stride_w == 1 || s.stride_w == 2) &&
            s.dilation_h == 1 && s.dilation_w == 1 && geom_.ow >= kMinPaddedRow;
  if (padded_) {
    hp_ = s.in_h + s.pad_top + s.pad_bottom;
    wp_ = s.in_w + s.pad_left + s.pad_right;
    wq_ = ceil_div(wp_, s.stride_w);
    // Tiles are output-row segments: the narrowest row that covers the row (or the widest).
    const QSpmmKernel* pick = kernel;
    if (pick == nullptr) {
      const Isa top = select_qspmm(isa, geom_.oh * geom_.ow).isa;
      for (const auto& r : qspmm_kernels()) {  // widest first
        if (r.isa == top && (pick == nullptr || r.nr >= geom_.ow)) pick = &r;
      }
    }
    const std::size_t c4 = c / 4, sw = s.stride_w, row = sw * wq_ * 4, plane = hp_ * row;
    std::vector<std::size_t> offsets(k / 4);  // tap-major group (ki, kj, cg)
    for (std::size_t g = 0; g < offsets.size(); ++g) {
      const std::size_t tap = g / c4, cg = g % c4, ki = tap / s.kernel_w, kj = tap % s.kernel_w;
      offsets[g] = cg * plane + ki * row + (kj % sw) * wq_ * 4 + (kj / sw) * 4;
    }
    SPARSIFY_RETURN_IF_ERROR(gemm_.prepare(m, k, weight, p, isa, geom_.oh * geom_.ow, pick, perm.data(), &offsets).with_prefix(what));
    name_ = str_cat(gemm_.name(), " (padded channel-blocked input", sw == 2 ? ", columns split by parity" : "",
                    ", output-row tiles: no im2col)");
    return Status();
  }
  SPARSIFY_RETURN_IF_ERROR(gemm_.prepare(m, k, weight, p, isa, geom_.oh * geom_.ow, kernel,
                                         tap_major_ ? perm.data() : nullptr)
                               .with_prefix(what));
  name_ = str_cat(gemm_.name(), pointwise_ ? " (1x1: input rows directly)"
                                           : tap_major_ ? " (u8 im2col, K tap-major (kh,kw,c) for block4)"
                                                        : " (u8 im2col, K in OIHW order)");
  return Status();
}

std::size_t QSparseConv2dU8S8::scratch_bytes(int threads) const {
  if (padded_) return round_up(shape_.in_channels * hp_ * shape_.stride_w * wq_ + 64, kKernelAlignment);
  const std::size_t k = shape_.in_channels * shape_.kernel_h * shape_.kernel_w;
  const std::size_t col = pointwise_ ? 0 : round_up(k * geom_.oh * geom_.ow, kKernelAlignment);
  return col + gemm_.scratch_bytes(threads);
}

void QSparseConv2dU8S8::run(const std::uint8_t* x, void* y, void* scratch, ThreadPool& pool) const {
  if (padded_) {
    run_padded(x, y, static_cast<std::uint8_t*>(scratch), pool);
    return;
  }
  const std::size_t c = shape_.in_channels, m = shape_.out_channels, k = c * geom_.kh * geom_.kw;
  const std::size_t in_plane = geom_.h * geom_.w, n = geom_.oh * geom_.ow, elem = output_u8_ ? 1 : 4;
  std::uint8_t* col = static_cast<std::uint8_t*>(scratch);
  void* gemm_scratch = col + (pointwise_ ? 0 : round_up(k * n, kKernelAlignment));
  for (std::size_t b = 0; b < shape_.batch; ++b) {
    const std::uint8_t* xb = x + b * c * in_plane;
    void* yb = static_cast<std::uint8_t*>(y) + b * m * n * elem;
    if (pointwise_) {
      gemm_.run(n, xb, n, yb, n, gemm_scratch, pool);
      continue;
    }
    const int parts = pool.threads();
    pool.parallel_for(parts, [&](std::int64_t part, int) {
      const std::size_t k0 = k * static_cast<std::size_t>(part) / static_cast<std::size_t>(parts);
      const std::size_t k1 = k * static_cast<std::size_t>(part + 1) / static_cast<std::size_t>(parts);
      im2col_u8(geom_, c, tap_major_, xb, k0, k1, pad_value_, col);
    });
    gemm_.run(n, col, n, yb, n, gemm_scratch, pool);
  }
}

// Byte 4i + t of a row of the channel-blocked buffer is channel 4cg + t at column i.
typedef std::uint32_t U32Alias __attribute__((may_alias, aligned(1)));

void QSparseConv2dU8S8::run_padded(const std::uint8_t* x, void* y, std::uint8_t* xp, ThreadPool& pool) const {
  const std::size_t c = shape_.in_channels, m = shape_.out_channels, oh = geom_.oh, ow = geom_.ow;
  const std::size_t h = geom_.h, w = geom_.w, pt = geom_.pt, pl = geom_.pl, c4 = c / 4;
  const std::size_t sw = geom_.sw, sh = geom_.sh, wq = wq_, row_words = sw * wq, plane_words = hp_ * row_words;
  const std::size_t n = oh * ow, elem = output_u8_ ? 1 : 4;
  const std::size_t nr = gemm_.rows().kernel().nr, segs = ceil_div(ow, nr), tiles = oh * segs;
  const auto t = static_cast<std::size_t>(std::max(1, pool.threads()));
  const int chunks = tiles % t != 0 && tiles < 2 * t ? pool.threads() : 1;
  std::size_t bounds[ThreadPool::kMaxThreads + 1];
  gemm_.rows().balance(chunks, bounds);
  const std::uint32_t pad4 = 0x01010101u * pad_value_;
  auto word = [](std::uint32_t b0, std::uint32_t b1, std::uint32_t b2, std::uint32_t b3) {
    return b0 | b1 << 8 | b2 << 16 | b3 << 24;
  };
  for (std::size_t img = 0; img < shape_.batch; ++img) {
    const std::uint8_t* xb = x + img * c * h * w;
    pool.parallel_for(static_cast<std::int64_t>(c4), [&](std::int64_t cg, int) {
      U32Alias* dst = reinterpret_cast<U32Alias*>(xp) + static_cast<std::size_t>(cg) * plane_words;
      const std::uint8_t* p0 = xb + static_cast<std::size_t>(cg) * 4 * h * w;
      const std::uint8_t* p1 = p0 + h * w;
      const std::uint8_t* p2 = p1 + h * w;
      const std::uint8_t* p3 = p2 + h * w;
      for (std::size_t i = 0; i < pt * row_words; ++i) dst[i] = pad4;
      for (std::size_t r = 0; r < h; ++r) {
        U32Alias* d = dst + (pt + r) * row_words;
        for (std::size_t i = 0; i < row_words; ++i) d[i] = pad4;
        const std::size_t o = r * w;
        if (sw == 1) {
          U32Alias* di = d + pl;
          for (std::size_t i = 0; i < w; ++i) di[i] = word(p0[o + i], p1[o + i], p2[o + i], p3[o + i]);
          continue;
        }
        // Stride 2: padded column x goes to phase x % 2, word x / 2. Input column 2j + e is padded
        // column pl + 2j + e; its bytes are the low (e = 0) or high (e = 1) byte of 16-bit pair j.
        const U16Alias* q0 = reinterpret_cast<const U16Alias*>(p0 + o);
        const U16Alias* q1 = reinterpret_cast<const U16Alias*>(p1 + o);
        const U16Alias* q2 = reinterpret_cast<const U16Alias*>(p2 + o);
        const U16Alias* q3 = reinterpret_cast<const U16Alias*>(p3 + o);
        const std::size_t pairs = w / 2;
        U32Alias* de = d + (pl % 2) * wq + pl / 2;              // e = 0
        U32Alias* dd = d + ((pl + 1) % 2) * wq + (pl + 1) / 2;  // e = 1
        for (std::size_t j = 0; j < pairs; ++j) {
          de[j] = word(q0[j] & 0xFFu, q1[j] & 0xFFu, q2[j] & 0xFFu, q3[j] & 0xFFu);
        }
        for (std::size_t j = 0; j < pairs; ++j) {
          dd[j] = word(q0[j] >> 8, q1[j] >> 8, q2[j] >> 8, q3[j] >> 8);
        }
        if (w % 2 != 0) de[pairs] = word(p0[o + w - 1], p1[o + w - 1], p2[o + w - 1], p3[o + w - 1]);
      }
      for (std::size_t i = (pt + h) * row_words; i < plane_words; ++i) dst[i] = pad4;
    });
    std::uint8_t* yb = static_cast<std::uint8_t*>(y) + img * m * n * elem;
    pool.parallel_for(static_cast<std::int64_t>(tiles) * chunks, [&](std::int64_t task, int) {
      const std::size_t chunk = static_cast<std::size_t>(task) / tiles, u = static_cast<std::size_t>(task) % tiles;
      const std::size_t oy = u / segs, ox0 = (u % segs) * nr, nc = std::min(nr, ow - ox0);
      gemm_.rows().run_rows(bounds[chunk], bounds[chunk + 1], nc, xp + (oy * sh * row_words + ox0) * 4,
                            yb + (bounds[chunk] * n + oy * ow + ox0) * elem, n);
    });
  }
}

}  // namespace sparsify::engine
