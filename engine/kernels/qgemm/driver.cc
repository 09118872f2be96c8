// The int8 GEMM driver (ISA-free): zero-point folding, weight packing and the task grid.
#include <algorithm>
#include <cstdint>

#include "engine/kernels/qgemm/family.h"
#include "engine/runtime/thread_pool.h"

namespace sparsify::engine {
namespace {

constexpr std::size_t kBPanelBytes = 256 * 1024;  // packed activation block (constant-left), L2
constexpr std::size_t kAPanelBytes = 128 * 1024;  // packed activation block (constant-right), L2

// Weights as int8 (uint8 weights shifted by -128, which the zero points absorb), [channel][k].
// get(ch, kk) reads the original weight as an int.
template <class Get>
Status fold_channels(std::size_t channels, std::size_t k, const QGemmParams& p, Get get, std::vector<std::int8_t>* w8,
                     QGemmChannels* out) {
  if (p.w_zero_points.size() != 1 && p.w_zero_points.size() != channels) {
    return invalid_argument("QGEMM: ", p.w_zero_points.size(), " weight zero points for ", channels, " channels");
  }
  if (p.output_u8 && p.w_scales.size() != 1 && p.w_scales.size() != channels) {
    return invalid_argument("QGEMM: ", p.w_scales.size(), " weight scales for ", channels, " channels");
  }
  if (p.a_zero_point < 0 || p.a_zero_point > 255) return invalid_argument("QGEMM: activation zero point ", p.a_zero_point, " is not a uint8");
  if (p.output_u8 && (p.y_min < 0 || p.y_max > 255 || p.y_min > p.y_max || !(p.y_scale > 0))) {
    return invalid_argument("QGEMM: bad output quantization (scale ", p.y_scale, ", range [", p.y_min, ", ", p.y_max, "])");
  }
  const std::int32_t shift = p.weights_u8 ? 128 : 0;
  const std::int32_t lo = p.weights_u8 ? 0 : -128, hi = p.weights_u8 ? 255 : 127;
  w8->resize(channels * k);
  out->bias.assign(channels, 0);
  out->scale.assign(channels, 0.0f);
  out->w_zero.clear();
  bool any_zero = false;
  std::vector<std::int32_t> zeros(channels);
  for (std::size_t ch = 0; ch < channels; ++ch) {
    const std::int32_t zw = p.w_zero_points[p.w_zero_points.size() == 1 ? 0 : ch];
    if (zw < lo || zw > hi) return invalid_argument("QGEMM: weight zero point ", zw, " is out of range");
    zeros[ch] = zw - shift;
    any_zero |= zeros[ch] != 0;
    std::int64_t sum = 0;
    for (std::size_t kk = 0; kk < k; ++kk) {
      const std::int32_t v = get(ch, kk) - shift;
      (*w8)[ch * k + kk] = static_cast<std::int8_t>(v);
      sum += v;
    }
    const std::int64_t b = (p.bias == nullptr ? 0 : p.bias[ch]) - std::int64_t(p.a_zero_point) * sum +
                           std::int64_t(k) * p.a_zero_point * zeros[ch];
    out->bias[ch] = static_cast<std::int32_t>(b);
    if (p.output_u8) {
      const double ws = p.w_scales[p.w_scales.size() == 1 ? 0 : ch];
      out->scale[ch] = static_cast<float>(double(p.a_scale) * ws / double(p.y_scale));
    }
  }
  if (any_zero) out->w_zero = zeros;
  out->y_zero = p.y_zero_point;
  out->y_min = p.output_u8 ? p.y_min : 0;
  out->y_max = p.output_u8 ? p.y_max : 0;
  out->output_u8 = p.output_u8;
  return Status();
}

QGemmUkernelParams tile_params(const QGemmChannels& ch, std::size_t channel0, const std::int32_t* a_sums) {
  QGemmUkernelParams p;
  p.bias = ch.bias.data() + channel0;
  p.scale = ch.scale.data() + channel0;
  p.w_zero = ch.w_zero.empty() ? nullptr : ch.w_zero.data() + channel0;
  p.a_sums = a_sums;
  p.flags = ch.output_u8 ? std::uint32_t{kQGemmOutputU8} : std::uint32_t{0};
  p.y_zero = ch.y_zero;
  p.y_min = ch.y_min;
  p.y_max = ch.y_max;
  return p;
}

}  // namespace

// ---- QGemmU8S8ConstLeft ---------------------------------------------------------------------------

Status QGemmU8S8ConstLeft::prepare(std::size_t m, std::size_t k, const void* w, const QGemmParams& p, Isa isa,
                                   const QGemmKernel* kernel) {
  if (m == 0 || k == 0) return invalid_argument("QGEMM: empty weights [", m, ", ", k, "]");
  if (kernel != nullptr && kernel->isa > isa) {
    return unsupported("QGEMM: kernel ", kernel->name, " needs ", isa_name(kernel->isa), ", allowed is ", isa_name(isa));
  }
  kernel_ = kernel != nullptr ? kernel : &select_qgemm(isa);
  m_ = m;
  k_ = k;
  k4_ = ceil_div(k, 4);
  std::vector<std::int8_t> w8;
  auto get = [&](std::size_t ch, std::size_t kk) -> std::int32_t {
    return p.weights_u8 ? static_cast<const std::uint8_t*>(w)[ch * k + kk] : static_cast<const std::int8_t*>(w)[ch * k + kk];
  };
  SPARSIFY_RETURN_IF_ERROR(fold_channels(m, k, p, get, &w8, &ch_));
  packed_.resize(ceil_div(m, kernel_->mr) * k4_ * 4 * kernel_->mr);
  kernel_->pack_a(m, k, reinterpret_cast<const std::uint8_t*>(w8.data()), k, kernel_->mr, packed_.data());
  return Status();
}

std::size_t QGemmU8S8ConstLeft::nc_cols() const {
  const std::size_t nr = kernel_->nr;
  return std::min<std::size_t>(1024, std::max(nr, kBPanelBytes / (k4_ * 4) / nr * nr));
}

std::size_t QGemmU8S8ConstLeft::scratch_bytes(int threads) const {
  const std::size_t nc = nc_cols();
  return round_up(k4_ * 4 * nc + nc * sizeof(std::int32_t), kKernelAlignment) * static_cast<std::size_t>(std::max(1, threads));
}

void QGemmU8S8ConstLeft::run_block(std::size_t m0, std::size_t m1, std::size_t n0, std::size_t n1,
                                   const std::uint8_t* b, std::size_t ldb, void* c, std::size_t ldc,
                                   std::uint8_t* scratch) const {
  const std::size_t mr_max = kernel_->mr, nr_max = kernel_->nr, ncb = nc_cols();
  const std::size_t elem = ch_.output_u8 ? 1 : 4;
  const std::uint8_t* packed = packed_.data();
  std::int32_t* sums = reinterpret_cast<std::int32_t*>(scratch + k4_ * 4 * ncb);
  for (std::size_t nb = n0; nb < n1; nb += ncb) {
    const std::size_t nc = std::min(ncb, n1 - nb);
    kernel_->pack_b(k_, nc, b + nb, ldb, nr_max, scratch);
    if (!ch_.w_zero.empty()) {
      std::fill(sums, sums + nc, 0);
      for (std::size_t kk = 0; kk < k_; ++kk) {
        const std::uint8_t* row = b + kk * ldb + nb;
        for (std::size_t j = 0; j < nc; ++j) sums[j] += row[j];
      }
    }
    for (std::size_t m = m0; m < m1; m += mr_max) {
      const std::size_t mr = std::min(mr_max, m1 - m);
      const std::uint8_t* ap = packed + (m / mr_max) * k4_ * 4 * mr_max;
      for (std::size_t j = 0; j < nc; j += nr_max) {
        const QGemmUkernelParams p = tile_params(ch_, m, sums + j);
        kernel_->ukernel_left(mr, std::min(nr_max, nc - j), k4_, ap, scratch + (j / nr_max) * k4_ * 4 * nr_max,
                              static_cast<std::uint8_t*>(c) + (m * ldc + nb + j) * elem, ldc, p);
      }
    }
  }
}

void QGemmU8S8ConstLeft::run(std::size_t n, const std::uint8_t* b, std::size_t ldb, void* c, std::size_t ldc,
                             void* scratch, ThreadPool& pool) const {
  if (n == 0) return;
  const std::size_t mr = kernel_->mr, nr = kernel_->nr, mb = ceil_div(m_, mr), nb = ceil_div(n, nr);
  const std::size_t per_thread = scratch_bytes(1);
  const int parts = pool.threads();
  pool.parallel_for(parts, [&](std::int64_t part, int thread) {
    GridRect rect[3];
    const int count = split_grid(nb, mb, static_cast<int>(part), parts, rect);
    for (int r = 0; r < count; ++r) {
      run_block(rect[r].m0 * mr, std::min(m_, rect[r].m1 * mr), rect[r].n0 * nr, std::min(n, rect[r].n1 * nr), b, ldb,
                c, ldc, static_cast<std::uint8_t*>(scratch) + per_thread * static_cast<std::size_t>(thread));
    }
  });
}

// ---- QGemmU8S8ConstRight --------------------------------------------------------------------------

Status QGemmU8S8ConstRight::prepare(std::size_t k, std::size_t n, const void* w, bool w_transposed,
                                    const QGemmParams& p, Isa isa, const QGemmKernel* kernel) {
  if (n == 0 || k == 0) return invalid_argument("QGEMM: empty weights [", k, ", ", n, "]");
  if (kernel != nullptr && kernel->isa > isa) {
    return unsupported("QGEMM: kernel ", kernel->name, " needs ", isa_name(kernel->isa), ", allowed is ", isa_name(isa));
  }
  kernel_ = kernel != nullptr ? kernel : &select_qgemm(isa);
  k_ = k;
  n_ = n;
  k4_ = ceil_div(k, 4);
  std::vector<std::int8_t> w8;  // [n][k]
  auto get = [&](std::size_t ch, std::size_t kk) -> std::int32_t {
    const std::size_t i = w_transposed ? ch * k + kk : kk * n + ch;
    return p.weights_u8 ? static_cast<const std::uint8_t*>(w)[i] : static_cast<const std::int8_t*>(w)[i];
  };
  SPARSIFY_RETURN_IF_ERROR(fold_channels(n, k, p, get, &w8, &ch_));
  // B[kk][j] = w8[j][kk]: pack_b reads B row-major with ldb = 1 column step... transpose first.
  std::vector<std::uint8_t> b(k * n);
  for (std::size_t j = 0; j < n; ++j)
    for (std::size_t kk = 0; kk < k; ++kk) b[kk * n + j] = static_cast<std::uint8_t>(w8[j * k + kk]);
  packed_.resize(ceil_div(n, kernel_->nr) * k4_ * 4 * kernel_->nr);
  kernel_->pack_b(k, n, b.data(), n, kernel_->nr, packed_.data());
  return Status();
}

std::size_t QGemmU8S8ConstRight::mc_rows() const {
  const std::size_t mr = kernel_->mr;
  return std::min<std::size_t>(256, std::max(mr, kAPanelBytes / (k4_ * 4) / mr * mr));
}

std::size_t QGemmU8S8ConstRight::scratch_bytes(int threads) const {
  const std::size_t mc = mc_rows();
  return round_up(k4_ * 4 * mc + mc * sizeof(std::int32_t), kKernelAlignment) * static_cast<std::size_t>(std::max(1, threads));
}

void QGemmU8S8ConstRight::run_block(std::size_t m0, std::size_t m1, std::size_t n0, std::size_t n1,
                                    const std::uint8_t* x, std::size_t ldx, void* c, std::size_t ldc,
                                    std::uint8_t* scratch) const {
  const std::size_t mr_max = kernel_->mr, nr_max = kernel_->nr, mcb = mc_rows();
  const std::size_t elem = ch_.output_u8 ? 1 : 4;
  const std::uint8_t* packed = packed_.data();
  std::int32_t* sums = reinterpret_cast<std::int32_t*>(scratch + k4_ * 4 * mcb);
  for (std::size_t mb = m0; mb < m1; mb += mcb) {
    const std::size_t mc = std::min(mcb, m1 - mb);
    kernel_->pack_a(mc, k_, x + mb * ldx, ldx, mr_max, scratch);
    if (!ch_.w_zero.empty()) {
      for (std::size_t i = 0; i < mc; ++i) {
        std::int32_t s = 0;
        for (std::size_t kk = 0; kk < k_; ++kk) s += x[(mb + i) * ldx + kk];
        sums[i] = s;
      }
    }
    for (std::size_t j = n0; j < n1; j += nr_max) {
      const std::size_t nr = std::min(nr_max, n1 - j);
      const std::uint8_t* bp = packed + (j / nr_max) * k4_ * 4 * nr_max;
      for (std::size_t i = 0; i < mc; i += mr_max) {
        const QGemmUkernelParams p = tile_params(ch_, j, sums + i);
        kernel_->ukernel_right(std::min(mr_max, mc - i), nr, k4_, scratch + (i / mr_max) * k4_ * 4 * mr_max, bp,
                               static_cast<std::uint8_t*>(c) + ((mb + i) * ldc + j) * elem, ldc, p);
      }
    }
  }
}

void QGemmU8S8ConstRight::run(std::size_t m, const std::uint8_t* x, std::size_t ldx, void* c, std::size_t ldc,
                              void* scratch, ThreadPool& pool) const {
  if (m == 0) return;
  // The activation (A, rows) is the packed side: M blocks are the grid's N side.
  const std::size_t mr = kernel_->mr, nr = kernel_->nr, mb = ceil_div(m, mr), nb = ceil_div(n_, nr);
  const std::size_t per_thread = scratch_bytes(1);
  const int parts = pool.threads();
  pool.parallel_for(parts, [&](std::int64_t part, int thread) {
    GridRect rect[3];
    const int count = split_grid(mb, nb, static_cast<int>(part), parts, rect);
    for (int r = 0; r < count; ++r) {
      run_block(rect[r].n0 * mr, std::min(m, rect[r].n1 * mr), rect[r].m0 * nr, std::min(n_, rect[r].m1 * nr), x, ldx,
                c, ldc, static_cast<std::uint8_t*>(scratch) + per_thread * static_cast<std::size_t>(thread));
    }
  });
}

}  // namespace sparsify::engine
