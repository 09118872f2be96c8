// The fp32 SpMM drivers (ISA-free): CSR packing at prepare, nnz-balanced task grids, the
// transposed tiles of the constant-right form and the sparse Conv2d paths.
#include <algorithm>
#include <cmath>
#include <limits>

#include "engine/kernels/spmm/family.h"
#include "engine/runtime/thread_pool.h"

namespace sparsify::engine {
namespace {

constexpr std::size_t kRowBlock = 256;  // rows of W^T per transposed output tile (constant-right)

// Tasks = chunks x tiles, chunk-major. Rows are split across threads only when there are too few
// N tiles to keep every thread busy (split rows duplicate the per-tile packing).
int row_chunks(std::size_t tiles, int threads) {
  return threads <= 1 || tiles >= 4 * static_cast<std::size_t>(threads) ? 1 : threads;
}

Status check_kernel(const F32SpmmKernel* kernel, Isa isa) {
  if (kernel != nullptr && kernel->isa > isa) {
    return unsupported("SpMM: kernel ", kernel->name, " needs ", isa_name(kernel->isa), ", allowed is ", isa_name(isa));
  }
  return Status();
}

}  // namespace

// ---- SparseF32Rows ---------------------------------------------------------------------------------

Status SparseF32Rows::prepare(std::size_t m, std::size_t k, const float* w, std::size_t w_rs, std::size_t w_cs,
                              std::size_t ldb, const float* bias, const ActivationParams& act,
                              const F32SpmmKernel& kernel, Isa isa, const std::vector<std::size_t>* row_offsets) {
  if (m == 0 || k == 0) return invalid_argument("SpMM: empty weights [", m, ", ", k, "]");
  SPARSIFY_RETURN_IF_ERROR(check_kernel(&kernel, isa));
  if (row_offsets != nullptr && row_offsets->size() != k) return invalid_argument("SpMM: ", row_offsets->size(), " row offsets for K = ", k);
  const std::size_t last = row_offsets != nullptr ? row_offsets->back() : (k - 1) * ldb;
  if (last + kernel.nr > static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max())) {
    return unsupported("SpMM: B offsets of ", k, " rows overflow int32");
  }
  kernel_ = &kernel;
  m_ = m;
  k_ = k;
  min_ = act.lo();
  max_ = act.hi();
  row_nnz_.assign(m, 0);
  row_start_.assign(m + 1, 0);
  std::size_t nnz = 0;
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t kk = 0; kk < k; ++kk) nnz += w[i * w_rs + kk * w_cs] != 0.0f;
  values_.resize(nnz);
  offsets_.resize(nnz);
  std::size_t j = 0;
  for (std::size_t i = 0; i < m; ++i) {
    for (std::size_t kk = 0; kk < k; ++kk) {
      const float v = w[i * w_rs + kk * w_cs];
      if (v == 0.0f) continue;
      values_.data()[j] = v;
      offsets_.data()[j] = static_cast<std::int32_t>(row_offsets != nullptr ? (*row_offsets)[kk] : kk * ldb);
      ++j;
    }
    row_nnz_[i] = static_cast<std::uint32_t>(j - row_start_[i]);
    row_start_[i + 1] = j;
  }
  bias_.clear();
  if (bias != nullptr) bias_.assign(bias, bias + m);
  return Status();
}

void SparseF32Rows::run_rows(std::size_t r0, std::size_t r1, std::size_t nr, const float* b, float* c,
                             std::size_t ldc, const float* residual) const {
  if (r0 >= r1) return;
  F32SpmmParams p;
  p.residual = residual;
  p.bias = bias_.empty() ? nullptr : bias_.data() + r0;
  p.min = min_;
  p.max = max_;
  const std::size_t j = row_start_[r0];
  kernel_->ukernel(r1 - r0, nr, row_nnz_.data() + r0, values_.data() + j, offsets_.data() + j, b, c, ldc, p);
}

void SparseF32Rows::balance(int parts, std::size_t* bounds) const {
  // Cost of row r ~ nnz_r + 2 (its store); bounds at equal shares of the total.
  const std::size_t total = row_start_[m_] + 2 * m_;
  bounds[0] = 0;
  std::size_t r = 0;
  for (int p = 1; p < parts; ++p) {
    const std::size_t target = total * static_cast<std::size_t>(p) / static_cast<std::size_t>(parts);
    while (r < m_ && row_start_[r] + 2 * r < target) ++r;
    bounds[p] = r;
  }
  bounds[parts] = m_;
}

// ---- SpmmF32ConstLeft ------------------------------------------------------------------------------

Status SpmmF32ConstLeft::prepare(std::size_t m, std::size_t k, const float* w, const float* bias,
                                 const ActivationParams& act, Isa isa, std::size_t n_hint, std::size_t ldb,
                                 const F32SpmmKernel* kernel) {
  SPARSIFY_RETURN_IF_ERROR(check_kernel(kernel, isa));
  const F32SpmmKernel& row = kernel != nullptr ? *kernel : select_f32_spmm(isa, n_hint, k);
  return rows_.prepare(m, k, w, k, 1, ldb, bias, act, row, isa);
}

void SpmmF32ConstLeft::run(std::size_t n, const float* b, float* c, std::size_t ldc, void*, ThreadPool& pool) const {
  if (n == 0) return;
  const std::size_t nr = rows_.kernel().nr, tiles = ceil_div(n, nr);
  const int chunks = row_chunks(tiles, pool.threads());
  std::size_t bounds[ThreadPool::kMaxThreads + 1];
  rows_.balance(chunks, bounds);
  pool.parallel_for(static_cast<std::int64_t>(tiles) * chunks, [&](std::int64_t task, int) {
    const std::size_t chunk = static_cast<std::size_t>(task) / tiles, t = static_cast<std::size_t>(task) % tiles;
    const std::size_t n0 = t * nr;
    rows_.run_rows(bounds[chunk], bounds[chunk + 1], std::min(nr, n - n0), b + n0, c + bounds[chunk] * ldc + n0, ldc);
  });
}

// ---- SpmmF32ConstRight -----------------------------------------------------------------------------

Status SpmmF32ConstRight::prepare(std::size_t k, std::size_t n, const float* w, bool w_transposed, const float* bias,
                                  const ActivationParams& act, Isa isa, std::size_t m_hint,
                                  const F32SpmmKernel* kernel) {
  SPARSIFY_RETURN_IF_ERROR(check_kernel(kernel, isa));
  const F32SpmmKernel& row = kernel != nullptr ? *kernel : select_f32_spmm(isa, m_hint, k);
  // Rows of W^T: element (j, kk) is W[kk][j].
  return w_transposed ? rows_.prepare(n, k, w, k, 1, row.nr, bias, act, row, isa)
                      : rows_.prepare(n, k, w, 1, n, row.nr, bias, act, row, isa);
}

std::size_t SpmmF32ConstRight::thread_floats() const {
  const std::size_t nr = rows_.kernel().nr;
  return round_up(rows_.k() * nr + kRowBlock * nr, kKernelAlignment / sizeof(float));
}

std::size_t SpmmF32ConstRight::scratch_bytes(int threads) const {
  return thread_floats() * sizeof(float) * static_cast<std::size_t>(std::max(1, threads));
}

void SpmmF32ConstRight::run(std::size_t m, const float* x, std::size_t ldx, float* c, std::size_t ldc, void* scratch,
                            ThreadPool& pool) const {
  if (m == 0) return;
  const std::size_t nr = rows_.kernel().nr, k = rows_.k(), tiles = ceil_div(m, nr);
  const int chunks = row_chunks(tiles, pool.threads());
  std::size_t bounds[ThreadPool::kMaxThreads + 1];
  rows_.balance(chunks, bounds);
  pool.parallel_for(static_cast<std::int64_t>(tiles) * chunks, [&](std::int64_t task, int thread) {
    const std::size_t chunk = static_cast<std::size_t>(task) / tiles, t = static_cast<std::size_t>(task) % tiles;
    const std::size_t m0 = t * nr, mc = std::min(nr, m - m0);
    float* bt = static_cast<float*>(scratch) + thread_floats() * static_cast<std::size_t>(thread);
    float* ct = bt + k * nr;
    // B = X[m0:m0+mc, :]^T, [k, nr] (columns >= mc are never read).
    for (std::size_t k0 = 0; k0 < k; k0 += 16) {
      const std::size_t k1 = std::min(k, k0 + 16);
      for (std::size_t i = 0; i < mc; ++i) {
        const float* src = x + (m0 + i) * ldx;
        for (std::size_t kk = k0; kk < k1; ++kk) bt[kk * nr + i] = src[kk];
      }
    }
    for (std::size_t r0 = bounds[chunk]; r0 < bounds[chunk + 1]; r0 += kRowBlock) {
      const std::size_t r1 = std::min(bounds[chunk + 1], r0 + kRowBlock);
      rows_.run_rows(r0, r1, mc, bt, ct, nr);
      for (std::size_t i = 0; i < mc; ++i) {
        float* dst = c + (m0 + i) * ldc;
        for (std::size_t r = r0; r < r1; ++r) dst[r] = ct[(r - r0) * nr + i];
      }
    }
  });
}

// ---- SparseConv2dF32 -------------------------------------------------------------------------------

Status SparseConv2dF32::prepare(const Conv2dShape& s, const float* weight, const float* bias,
                                const ActivationParams& act, Isa isa, const F32SpmmKernel* kernel) {
  const std::string what = "SparseConv2d " + s.describe();
  SPARSIFY_RETURN_IF_ERROR(check_conv2d_shape(s).with_prefix(what));
  if (s.groups != 1) return unsupported(what, ": groups = ", s.groups, " (grouped and depthwise convs stay dense)");
  SPARSIFY_RETURN_IF_ERROR(check_kernel(kernel, isa).with_prefix(what));
  shape_ = s;
  geom_ = ConvGeom::of(s);
  direct_ = s.kernel_h == 1 && s.kernel_w == 1 && s.stride_h == 1 && s.stride_w == 1 && s.pad_top == 0 &&
            s.pad_left == 0 && s.pad_bottom == 0 && s.pad_right == 0;
  const std::size_t k = s.in_channels * s.kernel_h * s.kernel_w, n = geom_.oh * geom_.ow;
  padded_ = !direct_ && (s.stride_w == 1 || s.stride_w == 2) && s.dilation_h == 1 && s.dilation_w == 1 &&
            geom_.ow >= kMinPaddedRow;
  if (padded_) {
    hp_ = s.in_h + s.pad_top + s.pad_bottom;
    wp_ = s.in_w + s.pad_left + s.pad_right;
    wq_ = ceil_div(wp_, s.stride_w);
    // Tiles are output-row segments: the row whose NR covers the row (or the widest).
    const F32SpmmKernel* pick = kernel;
    if (pick == nullptr) {
      const Isa top = select_f32_spmm(isa, n, 0).isa;
      for (const auto& r : f32_spmm_kernels()) {  // widest first: narrow while the row is still covered
        if (r.isa == top && (pick == nullptr || r.nr >= geom_.ow)) pick = &r;
      }
    }
    std::vector<std::size_t> offsets(k);
    for (std::size_t kk = 0; kk < k; ++kk) {
      const std::size_t c = kk / (s.kernel_h * s.kernel_w), ki = kk / s.kernel_w % s.kernel_h, kj = kk % s.kernel_w;
      // Stride 2: each padded row is stored as its even columns, then its odd ones (wq_ each).
      offsets[kk] = (c * hp_ + ki) * s.stride_w * wq_ + (kj % s.stride_w) * wq_ + kj / s.stride_w;
    }
    SPARSIFY_RETURN_IF_ERROR(rows_.prepare(s.out_channels, k, weight, k, 1, 0, bias, act, *pick, isa, &offsets).with_prefix(what));
    SPARSIFY_RETURN_IF_ERROR(prepare_kblocks(weight, bias, act, isa, offsets).with_prefix(what));
    name_ = str_cat(pick->name, " (padded input, output-row tiles: no im2col", kblock_note(), ")");
    return Status();
  }
  const F32SpmmKernel& row = kernel != nullptr ? *kernel : select_f32_spmm(isa, n, k);
  im2col_ = nullptr;
  if (!direct_) {
    for (const auto& r : f32_im2col_kernels()) {
      if (r.isa <= isa) {
        im2col_ = &r;
        break;
      }
    }
    if (im2col_ == nullptr) return internal_error(what, ": no im2col packer for ", isa_name(isa));
  }
  const std::size_t ldb = direct_ ? s.in_h * s.in_w : row.nr;
  SPARSIFY_RETURN_IF_ERROR(rows_.prepare(s.out_channels, k, weight, k, 1, ldb, bias, act, row, isa).with_prefix(what));
  std::vector<std::size_t> offsets(k);
  for (std::size_t kk = 0; kk < k; ++kk) offsets[kk] = kk * ldb;
  SPARSIFY_RETURN_IF_ERROR(prepare_kblocks(weight, bias, act, isa, offsets).with_prefix(what));
  name_ = direct_ ? str_cat(row.name, " (1x1: input rows directly", kblock_note(), ")")
                  : str_cat(im2col_->name, " tiles + ", row.name, kblock_note().empty() ? "" : str_cat(" (", kblock_note().substr(2), ")"));
  return Status();
}

// K blocks of kKBlockBytes / (NR * 4) rows: the B rows one block reads stay in L1 while every
// output row of the tile accumulates over them (the first block adds bias and residual, later
// ones read the partial C back as their residual, the last one clamps).
Status SparseConv2dF32::prepare_kblocks(const float* weight, const float* bias, const ActivationParams& act, Isa isa,
                                        const std::vector<std::size_t>& offsets) {
  kblocks_.clear();
  const std::size_t k = rows_.k(), m = rows_.m(), nr = rows_.kernel().nr;
  const std::size_t kb = std::max<std::size_t>(16, kKBlockBytes / (nr * sizeof(float)));
  if (k <= kb) return Status();
  for (std::size_t k0 = 0; k0 < k; k0 += kb) {
    const std::size_t k1 = std::min(k, k0 + kb);
    const std::vector<std::size_t> sub(offsets.begin() + static_cast<std::ptrdiff_t>(k0), offsets.begin() + static_cast<std::ptrdiff_t>(k1));
    kblocks_.emplace_back();
    SPARSIFY_RETURN_IF_ERROR(kblocks_.back().prepare(m, k1 - k0, weight + k0, k, 1, 0, k0 == 0 ? bias : nullptr,
                                                     k1 == k ? act : ActivationParams::none(), rows_.kernel(), isa, &sub));
  }
  return Status();
}

std::string SparseConv2dF32::kblock_note() const {
  return kblocks_.empty() ? std::string() : str_cat(", ", kblocks_.size(), " K blocks of ", kblocks_.front().k());
}

void SparseConv2dF32::run_rows(std::size_t r0, std::size_t r1, std::size_t nc, const float* b, float* c,
                               std::size_t ldc, const float* residual) const {
  if (kblocks_.empty()) {
    rows_.run_rows(r0, r1, nc, b, c, ldc, residual);
    return;
  }
  for (std::size_t i = 0; i < kblocks_.size(); ++i) kblocks_[i].run_rows(r0, r1, nc, b, c, ldc, i == 0 ? residual : c);
}

std::size_t SparseConv2dF32::padded_floats() const {
  return round_up(shape_.in_channels * hp_ * shape_.stride_w * wq_ + 16, kKernelAlignment / sizeof(float));
}

std::size_t SparseConv2dF32::scratch_bytes(int threads) const {
  if (direct_) return 0;
  if (padded_) return padded_floats() * sizeof(float);
  return round_up(rows_.k() * rows_.kernel().nr * sizeof(float), kKernelAlignment) *
         static_cast<std::size_t>(std::max(1, threads));
}

void SparseConv2dF32::run(const float* x, float* y, void* scratch, ThreadPool& pool, const float* residual) const {
  if (padded_) {
    run_padded(x, y, static_cast<float*>(scratch), pool, residual);
    return;
  }
  const std::size_t n = geom_.oh * geom_.ow, nr = rows_.kernel().nr, tiles = ceil_div(n, nr);
  const std::size_t in_image = shape_.in_channels * geom_.h * geom_.w, out_image = shape_.out_channels * n;
  const std::size_t k = rows_.k();
  const std::size_t per_thread = scratch_bytes(1) / sizeof(float);
  // Direct: rows split freely (nothing is packed). Tiles: splitting rows would pack each tile once
  // per chunk, so whole tiles go to the threads whenever they divide evenly or are plenty.
  const std::size_t units = tiles * shape_.batch;  // (image, tile) pairs
  const auto t = static_cast<std::size_t>(std::max(1, pool.threads()));
  const int chunks = direct_ || (units % t != 0 && units < 2 * t) ? row_chunks(units, pool.threads()) : 1;
  std::size_t bounds[ThreadPool::kMaxThreads + 1];
  rows_.balance(chunks, bounds);
  pool.parallel_for(static_cast<std::int64_t>(units) * chunks, [&](std::int64_t task, int thread) {
    const std::size_t chunk = static_cast<std::size_t>(task) / units, u = static_cast<std::size_t>(task) % units;
    const std::size_t img = u / tiles, n0 = (u % tiles) * nr, nc = std::min(nr, n - n0);
    const float* xb = x + img * in_image;
    const std::size_t at = img * out_image + bounds[chunk] * n + n0;
    float* yb = y + at;
    const float* rb = residual == nullptr ? nullptr : residual + at;
    if (direct_) {
      run_rows(bounds[chunk], bounds[chunk + 1], nc, xb + n0, yb, n, rb);
      return;
    }
    float* tile = static_cast<float*>(scratch) + per_thread * static_cast<std::size_t>(thread);
    im2col_->fn(geom_, xb, 0, k, n0, nc, nr, tile);
    run_rows(bounds[chunk], bounds[chunk + 1], nc, tile, yb, n, rb);
  });
}

void SparseConv2dF32::run_padded(const float* x, float* y, float* xp, ThreadPool& pool, const float* residual) const {
  const std::size_t c = shape_.in_channels, m = shape_.out_channels, oh = geom_.oh, ow = geom_.ow;
  const std::size_t h = geom_.h, w = geom_.w, pt = geom_.pt, pl = geom_.pl, sw = geom_.sw, sh = geom_.sh;
  const std::size_t row = sw * wq_, plane = hp_ * row;
  const std::size_t nr = rows_.kernel().nr, segs = ceil_div(ow, nr), n = oh * ow;
  const std::size_t tiles = oh * segs;
  const auto t = static_cast<std::size_t>(std::max(1, pool.threads()));
  const int chunks = tiles % t != 0 && tiles < 2 * t ? row_chunks(tiles, pool.threads()) : 1;
  std::size_t bounds[ThreadPool::kMaxThreads + 1];
  rows_.balance(chunks, bounds);
  for (std::size_t img = 0; img < shape_.batch; ++img) {
    const float* xb = x + img * c * h * w;
    // The zero-bordered copy, channels split across the pool.
    pool.parallel_for(static_cast<std::int64_t>(c), [&](std::int64_t ch, int) {
      float* dst = xp + static_cast<std::size_t>(ch) * plane;
      const float* src = xb + static_cast<std::size_t>(ch) * h * w;
      for (std::size_t i = 0; i < pt * row; ++i) dst[i] = 0.0f;
      for (std::size_t r = 0; r < h; ++r) {
        float* d = dst + (pt + r) * row;
        const float* sr = src + r * w;
        for (std::size_t i = 0; i < row; ++i) d[i] = 0.0f;
        if (sw == 1) {
          for (std::size_t i = 0; i < w; ++i) d[pl + i] = sr[i];
          continue;
        }
        // Padded column x = pl + i goes to phase x % 2, word x / 2: input columns 2j (+1).
        float* de = d + (pl % 2) * wq_ + pl / 2;
        float* dd = d + ((pl + 1) % 2) * wq_ + (pl + 1) / 2;
        for (std::size_t j = 0; j < (w + 1) / 2; ++j) de[j] = sr[2 * j];
        for (std::size_t j = 0; j < w / 2; ++j) dd[j] = sr[2 * j + 1];
      }
      for (std::size_t i = (pt + h) * row; i < plane; ++i) dst[i] = 0.0f;
    });
    float* yb = y + img * m * n;
    const float* rb = residual == nullptr ? nullptr : residual + img * m * n;
    pool.parallel_for(static_cast<std::int64_t>(tiles) * chunks, [&](std::int64_t task, int) {
      const std::size_t chunk = static_cast<std::size_t>(task) / tiles, u = static_cast<std::size_t>(task) % tiles;
      const std::size_t oy = u / segs, ox0 = (u % segs) * nr, nc = std::min(nr, ow - ox0);
      const std::size_t at = bounds[chunk] * n + oy * ow + ox0;
      run_rows(bounds[chunk], bounds[chunk + 1], nc, xp + oy * sh * row + ox0, yb + at, n,
                     rb == nullptr ? nullptr : rb + at);
    });
  }
}

}  // namespace sparsify::engine
