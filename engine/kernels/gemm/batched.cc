// GemmF32Batched: batched fp32 products with both operands packed at run time (see family.h).
//
// Per task (one batch item, rows [m0, m0 + mc)), per N block of nc columns, per K block of kc:
//   scratch_a: ceil(mc/MR) panels of kc x MR  (pack_a of A[m0:, k0:])
//   scratch_b: ceil(nc/NR) panels of kc x NR  (pack_b of B[k0:, n0:], or pack_a of B^T[n0:, k0:])
// (scaled by alpha in place when alpha != 1), then the micro-kernel over every MR x NR tile,
// accumulating across K blocks in C.
#include <algorithm>

#include "engine/kernels/gemm/family.h"
#include "engine/runtime/thread_pool.h"

namespace sparsify::engine {
namespace {

constexpr std::size_t kMaxNc = 1024;  // columns of packed B per block (attention: whole rows)

}  // namespace

Status GemmF32Batched::prepare(std::size_t m, std::size_t n, std::size_t k, bool b_transposed, Isa isa, int threads,
                               std::size_t batches, const F32GemmKernel* kernel, float alpha) {
  if (m == 0 || n == 0 || k == 0) return invalid_argument("batched GEMM: empty product [", m, ", ", k, "] x [", k, ", ", n, "]");
  if (kernel != nullptr && kernel->isa > isa) {
    return unsupported("GEMM: kernel ", kernel->name, " needs ", isa_name(kernel->isa), ", allowed is ", isa_name(isa));
  }
  kernel_ = kernel != nullptr ? kernel : &select_f32_gemm(isa, m, n, k);
  const GemmBlocking blk = gemm_blocking(*kernel_, k);
  m_ = m;
  n_ = n;
  k_ = k;
  kc_ = blk.kc;
  nc_ = std::min(round_up(n, kernel_->nr), round_up(kMaxNc, kernel_->nr));
  // Row blocks of up to 128 rows; smaller only when there are too few products to give every
  // thread two tasks (each row block packs B again).
  const std::size_t tasks_wanted = 2 * static_cast<std::size_t>(std::max(1, threads));
  const std::size_t want_blocks = ceil_div(tasks_wanted, std::max<std::size_t>(1, batches));
  mc_ = std::min(round_up(m, kernel_->mr), round_up(128, kernel_->mr));
  mc_ = std::min(mc_, std::max<std::size_t>(kernel_->mr, round_up(ceil_div(m, want_blocks), kernel_->mr)));
  b_transposed_ = b_transposed;
  alpha_ = alpha;
  return Status();
}

std::size_t GemmF32Batched::thread_floats() const {
  return round_up(kc_ * mc_, kKernelAlignment / sizeof(float)) + round_up(kc_ * nc_, kKernelAlignment / sizeof(float));
}

std::size_t GemmF32Batched::scratch_bytes(int threads) const {
  return thread_floats() * sizeof(float) * static_cast<std::size_t>(std::max(1, threads));
}

void GemmF32Batched::run(std::size_t batches, const float* a, const std::size_t* a_off, std::size_t lda,
                         const float* b, const std::size_t* b_off, std::size_t ldb, float* c,
                         const std::size_t* c_off, std::size_t ldc, void* scratch, ThreadPool& pool) const {
  const F32GemmKernel& kr = *kernel_;
  const std::size_t mr = kr.mr, nr = kr.nr, mblocks = ceil_div(m_, mc_);
  const std::size_t tasks = batches * mblocks;
  if (tasks == 0) return;
  const std::size_t per_thread = thread_floats();
  const std::size_t a_floats = round_up(kc_ * mc_, kKernelAlignment / sizeof(float));
  pool.parallel_for(static_cast<std::int64_t>(tasks), [&](std::int64_t task, int thread) {
    float* sa = static_cast<float*>(scratch) + per_thread * static_cast<std::size_t>(thread);
    float* sb = sa + a_floats;
    const std::size_t bi = static_cast<std::size_t>(task) / mblocks;
    const std::size_t m0 = (static_cast<std::size_t>(task) % mblocks) * mc_;
    const std::size_t mc = std::min(mc_, m_ - m0);
    const float* ab = a + a_off[bi] + m0 * lda;
    const float* bb = b + b_off[bi];
    float* cb = c + c_off[bi] + m0 * ldc;
    for (std::size_t n0 = 0; n0 < n_; n0 += nc_) {
      const std::size_t nc = std::min(nc_, n_ - n0);
      for (std::size_t k0 = 0; k0 < k_; k0 += kc_) {
        const std::size_t kc = std::min(kc_, k_ - k0);
        if (b_transposed_) kr.pack_a(nc, kc, bb + n0 * ldb + k0, ldb, nr, sb);
        else kr.pack_b(kc, nc, bb + k0 * ldb + n0, ldb, nr, sb);
        kr.pack_a(mc, kc, ab + k0, lda, mr, sa);
        if (alpha_ != 1.0f) {
          const std::size_t packed = ceil_div(mc, mr) * mr * kc;
          for (std::size_t i = 0; i < packed; ++i) sa[i] *= alpha_;
        }
        F32GemmUkernelParams p;
        if (k0 != 0) p.flags = kGemmAccumulate;
        for (std::size_t i = 0; i < mc; i += mr) {
          const float* ap = sa + (i / mr) * kc * mr;
          for (std::size_t j = 0; j < nc; j += nr) {
            kr.ukernel(std::min(mr, mc - i), std::min(nr, nc - j), kc, ap, sb + (j / nr) * kc * nr,
                       cb + i * ldc + n0 + j, ldc, p);
          }
        }
      }
    }
  });
}

}  // namespace sparsify::engine
