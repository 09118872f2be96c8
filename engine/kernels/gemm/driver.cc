// The blocked fp32 GEMM driver (ISA-free loops around a table row) and the two entry points.
#include <algorithm>
#include <cstdint>

#include "engine/base/check.h"
#include "engine/kernels/gemm/family.h"
#include "engine/runtime/thread_pool.h"

namespace sparsify::engine {
namespace {

constexpr std::size_t kMaxKc = 256;
constexpr std::size_t kNcCols = 384;
constexpr std::size_t kMcRows = 128;

std::size_t align_bytes(std::size_t bytes) { return round_up(bytes, kKernelAlignment); }

struct RowMajorB {
  const float* b;
  std::size_t ldb;
  F32PackBFn pack;
};

struct RowMajorA {
  const float* a;
  std::size_t lda;
  F32PackAFn pack;
};

void pack_row_major_a(const void* ctx, std::size_t k0, std::size_t kc, std::size_t m0, std::size_t mc,
                      std::size_t mr, float* packed) {
  const auto* s = static_cast<const RowMajorA*>(ctx);
  s->pack(mc, kc, s->a + m0 * s->lda + k0, s->lda, mr, packed);
}

void pack_row_major_b(const void* ctx, std::size_t k0, std::size_t kc, std::size_t n0, std::size_t nc,
                      std::size_t nr, float* packed) {
  const auto* s = static_cast<const RowMajorB*>(ctx);
  s->pack(kc, nc, s->b + k0 * s->ldb + n0, s->ldb, nr, packed);
}

F32GemmUkernelParams tile_params(const float* bias, std::uint32_t bias_flag, const ActivationParams& act, bool first,
                                 bool last) {
  F32GemmUkernelParams p;
  p.min = act.lo();
  p.max = act.hi();
  if (!first) p.flags |= kGemmAccumulate;
  else if (bias != nullptr) {
    p.flags |= bias_flag;
    p.bias = bias;
  }
  if (last && !act.is_identity()) p.flags |= kGemmClamp;
  return p;
}

}  // namespace

GemmBlocking gemm_blocking(const F32GemmKernel& kernel, std::size_t k) {
  GemmBlocking blk;
  const std::size_t blocks = std::max<std::size_t>(1, ceil_div(k, kMaxKc));
  blk.kc = std::max<std::size_t>(1, ceil_div(k, blocks));
  blk.nc = round_up(kNcCols, kernel.nr);
  blk.mc = round_up(kMcRows, kernel.mr);
  return blk;
}

std::size_t f32_gemm_left_scratch_floats(const F32GemmKernel& kernel, const GemmBlocking& blk) {
  return blk.kc * round_up(blk.nc, kernel.nr);
}

void f32_gemm_left_block(const F32GemmKernel& kernel, const GemmBlocking& blk, std::size_t k, const float* a_packed,
                         const float* bias, const ActivationParams& act, std::size_t m0, std::size_t m1,
                         std::size_t n0, std::size_t n1, const F32PanelSource& src, float* c, std::size_t ldc,
                         float* scratch) {
  const std::size_t mr_max = kernel.mr, nr_max = kernel.nr;
  SPARSIFY_DCHECK(m0 % mr_max == 0);
  for (std::size_t nb = n0; nb < n1; nb += blk.nc) {
    const std::size_t nc = std::min(blk.nc, n1 - nb);
    for (std::size_t kb = 0; kb < k; kb += blk.kc) {
      const std::size_t kc = std::min(blk.kc, k - kb);
      src.pack(src.ctx, kb, kc, nb, nc, nr_max, scratch);
      const bool first = kb == 0, last = kb + kc == k;
      for (std::size_t m = m0; m < m1; m += mr_max) {
        const std::size_t mr = std::min(mr_max, m1 - m);
        const float* ap = a_packed + (m / mr_max) * k * mr_max + kb * mr_max;
        const F32GemmUkernelParams p = tile_params(bias == nullptr ? nullptr : bias + m, kGemmBiasPerRow, act, first, last);
        float* cm = c + m * ldc + nb;
        for (std::size_t j = 0; j < nc; j += nr_max) {
          kernel.ukernel(mr, std::min(nr_max, nc - j), kc, ap, scratch + (j / nr_max) * kc * nr_max, cm + j, ldc, p);
        }
      }
    }
  }
}

// ---- GemmF32ConstLeft ---------------------------------------------------------------------------

Status GemmF32ConstLeft::prepare(std::size_t m, std::size_t k, const float* w, const float* bias,
                                 const ActivationParams& act, Isa isa, std::size_t n_hint,
                                 const F32GemmKernel* kernel) {
  if (m == 0 || k == 0) return invalid_argument("GEMM: empty weights [", m, ", ", k, "]");
  if (kernel != nullptr && kernel->isa > isa) {
    return unsupported("GEMM: kernel ", kernel->name, " needs ", isa_name(kernel->isa), ", allowed is ", isa_name(isa));
  }
  kernel_ = kernel != nullptr ? kernel : &select_f32_gemm(isa, m, n_hint, k);
  blk_ = gemm_blocking(*kernel_, k);
  m_ = m;
  k_ = k;
  act_ = act;
  const std::size_t panels = ceil_div(m, kernel_->mr);
  packed_.resize(panels * k * kernel_->mr);
  kernel_->pack_a(m, k, w, k, kernel_->mr, packed_.data());
  if (bias != nullptr) bias_.assign(bias, bias + m);
  else bias_.clear();
  return Status();
}

std::size_t GemmF32ConstLeft::thread_scratch_bytes() const {
  return align_bytes(f32_gemm_left_scratch_floats(*kernel_, blk_) * sizeof(float));
}

std::size_t GemmF32ConstLeft::scratch_bytes(int threads) const {
  return thread_scratch_bytes() * static_cast<std::size_t>(std::max(1, threads));
}

float* GemmF32ConstLeft::thread_scratch(void* scratch, int thread) const {
  return reinterpret_cast<float*>(static_cast<char*>(scratch) + thread_scratch_bytes() * static_cast<std::size_t>(thread));
}

void GemmF32ConstLeft::run_block(std::size_t m0, std::size_t m1, std::size_t n0, std::size_t n1,
                                 const F32PanelSource& src, float* c, std::size_t ldc, float* thread_scratch) const {
  f32_gemm_left_block(*kernel_, blk_, k_, packed_.data(), bias_.empty() ? nullptr : bias_.data(), act_,
                      m0, m1, n0, n1, src, c, ldc, thread_scratch);
}

void GemmF32ConstLeft::run_source(std::size_t n, const F32PanelSource& src, float* c, std::size_t ldc, void* scratch,
                                  ThreadPool& pool) const {
  if (n == 0) return;
  const std::size_t mr = kernel_->mr, nr = kernel_->nr, mb = ceil_div(m_, mr), nb = ceil_div(n, nr);
  const int parts = pool.threads();
  pool.parallel_for(parts, [&](std::int64_t part, int thread) {
    GridRect rect[3];
    const int count = split_grid(nb, mb, static_cast<int>(part), parts, rect);
    for (int r = 0; r < count; ++r) {
      run_block(rect[r].m0 * mr, std::min(m_, rect[r].m1 * mr), rect[r].n0 * nr, std::min(n, rect[r].n1 * nr), src, c,
                ldc, thread_scratch(scratch, thread));
    }
  });
}

void GemmF32ConstLeft::run(std::size_t n, const float* b, std::size_t ldb, float* c, std::size_t ldc, void* scratch,
                           ThreadPool& pool) const {
  const RowMajorB ctx{b, ldb, kernel_->pack_b};
  run_source(n, F32PanelSource{&pack_row_major_b, &ctx}, c, ldc, scratch, pool);
}

// ---- GemmF32ConstRight --------------------------------------------------------------------------

Status GemmF32ConstRight::prepare(std::size_t k, std::size_t n, const float* w, bool w_transposed, const float* bias,
                                  const ActivationParams& act, Isa isa, std::size_t m_hint,
                                  const F32GemmKernel* kernel) {
  if (n == 0 || k == 0) return invalid_argument("GEMM: empty weights [", k, ", ", n, "]");
  if (kernel != nullptr && kernel->isa > isa) {
    return unsupported("GEMM: kernel ", kernel->name, " needs ", isa_name(kernel->isa), ", allowed is ", isa_name(isa));
  }
  kernel_ = kernel != nullptr ? kernel : &select_f32_gemm(isa, m_hint, n, k);
  blk_ = gemm_blocking(*kernel_, k);
  k_ = k;
  n_ = n;
  act_ = act;
  const std::size_t nr = kernel_->nr, panels = ceil_div(n, nr);
  packed_.resize(panels * k * nr);
  float* dst = packed_.data();
  for (std::size_t j = 0; j < panels; ++j) {
    for (std::size_t kk = 0; kk < k; ++kk) {
      for (std::size_t c = 0; c < nr; ++c) {
        const std::size_t col = j * nr + c;
        dst[(j * k + kk) * nr + c] = col >= n ? 0.0f : (w_transposed ? w[col * k + kk] : w[kk * n + col]);
      }
    }
  }
  if (bias != nullptr) bias_.assign(bias, bias + n);
  else bias_.clear();
  return Status();
}

std::size_t GemmF32ConstRight::thread_scratch_bytes() const {
  return align_bytes(blk_.kc * blk_.mc * sizeof(float));
}

std::size_t GemmF32ConstRight::scratch_bytes(int threads) const {
  return thread_scratch_bytes() * static_cast<std::size_t>(std::max(1, threads));
}

void GemmF32ConstRight::run_block_source(std::size_t m0, std::size_t m1, std::size_t n0, std::size_t n1,
                                         const F32PanelSource& a_src, float* c, std::size_t ldc,
                                         float* scratch) const {
  const std::size_t mr_max = kernel_->mr, nr_max = kernel_->nr;
  SPARSIFY_DCHECK(n0 % nr_max == 0);
  const float* packed = packed_.data();
  const float* bias = bias_.empty() ? nullptr : bias_.data();
  for (std::size_t mb = m0; mb < m1; mb += blk_.mc) {
    const std::size_t mc = std::min(blk_.mc, m1 - mb);
    for (std::size_t kb = 0; kb < k_; kb += blk_.kc) {
      const std::size_t kc = std::min(blk_.kc, k_ - kb);
      a_src.pack(a_src.ctx, kb, kc, mb, mc, mr_max, scratch);
      const bool first = kb == 0, last = kb + kc == k_;
      for (std::size_t j = n0; j < n1; j += nr_max) {
        const std::size_t nr = std::min(nr_max, n1 - j);
        const float* bp = packed + (j / nr_max) * k_ * nr_max + kb * nr_max;
        const F32GemmUkernelParams p = tile_params(bias == nullptr ? nullptr : bias + j, kGemmBiasPerCol, act_, first, last);
        for (std::size_t i = 0; i < mc; i += mr_max) {
          kernel_->ukernel(std::min(mr_max, mc - i), nr, kc, scratch + (i / mr_max) * kc * mr_max, bp,
                           c + (mb + i - m0) * ldc + (j - n0), ldc, p);
        }
      }
    }
  }
}

void GemmF32ConstRight::run(std::size_t m, const float* x, std::size_t ldx, float* c, std::size_t ldc, void* scratch,
                            ThreadPool& pool) const {
  if (m == 0) return;
  // Here the activation is A (packed per task): flatten the grid with the M blocks outside.
  const std::size_t mr = kernel_->mr, nr = kernel_->nr, mb = ceil_div(m, mr), nb = ceil_div(n_, nr);
  const std::size_t per_thread = thread_scratch_bytes();
  const int parts = pool.threads();
  pool.parallel_for(parts, [&](std::int64_t part, int thread) {
    float* s = reinterpret_cast<float*>(static_cast<char*>(scratch) + per_thread * static_cast<std::size_t>(thread));
    const RowMajorA ctx{x, ldx, kernel_->pack_a};
    GridRect rect[3];
    const int count = split_grid(mb, nb, static_cast<int>(part), parts, rect);
    for (int r = 0; r < count; ++r) {
      const std::size_t m0 = rect[r].n0 * mr, m1 = std::min(m, rect[r].n1 * mr);
      const std::size_t n0 = rect[r].m0 * nr, n1 = std::min(n_, rect[r].m1 * nr);
      run_block_source(m0, m1, n0, n1, F32PanelSource{&pack_row_major_a, &ctx}, c + m0 * ldc + n0, ldc, s);
    }
  });
}

}  // namespace sparsify::engine
