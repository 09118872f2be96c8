// Dense fp32 GEMM: C = act(A·B + bias) with one operand constant and packed once at prepare time.
//
// Every micro-kernel computes an MR x NR tile of a row-major C from two packed operands:
//
//   A ("broadcast" operand), MR-row panel:        B ("vector" operand), NR-column panel:
//     a[k * MR + r] = A[m0 + r][k0 + k]             b[k * NR + c] = B[k0 + k][n0 + c]
//     k = 0..kc-1, r = 0..MR-1 (zero padded)        k = 0..kc-1, c = 0..NR-1 (zero padded)
//
// Constant weights as the LEFT operand (conv: W[M,K] x col[K,N] -> NCHW): A = weights, packed
// whole at prepare (panel p at p * K * MR), B = activations, packed per K x N block into scratch.
// Constant weights as the RIGHT operand (MatMul: X[M,K] x W[K,N]): B = weights, packed whole
// (panel j at j * K * NR), A = activations, packed per block into scratch.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "engine/base/cpu_info.h"
#include "engine/base/status.h"
#include "engine/kernels/common.h"

namespace sparsify::engine {

class ThreadPool;

// ---- micro-kernel contract ---------------------------------------------------------------------

/// Flags of one micro-kernel call.
enum : std::uint32_t {
  kGemmAccumulate = 1u << 0,  // add to C (a later K block); else start from the bias (or zero)
  kGemmBiasPerRow = 1u << 1,  // bias[r] for rows r < mr (conv: per output channel)
  kGemmBiasPerCol = 1u << 2,  // bias[c] for columns c < nr (MatMul: per output feature)
  kGemmClamp = 1u << 3,       // clamp to [min, max] (the last K block)
};

struct F32GemmUkernelParams {
  const float* bias = nullptr;  // already offset to this tile's first row or column
  std::uint32_t flags = 0;
  float min = 0, max = 0;
};

/// C[0:mr, 0:nr] (row stride ldc) = tile of A·B over kc, per the flags. 1 <= mr <= MR, 1 <= nr <= NR.
using F32GemmUkernelFn = void (*)(std::size_t mr, std::size_t nr, std::size_t kc, const float* a,
                                  const float* b, float* c, std::size_t ldc, const F32GemmUkernelParams& p);
/// Packs rows [0, mc) x columns [0, kc) of a row-major A (row stride lda) into ceil(mc/mr)
/// MR-row panels of kc * mr floats each.
using F32PackAFn = void (*)(std::size_t mc, std::size_t kc, const float* a, std::size_t lda, std::size_t mr,
                            float* packed);
/// Packs rows [0, kc) x columns [0, nc) of a row-major B (row stride ldb) into ceil(nc/nr)
/// NR-column panels of kc * nr floats each.
using F32PackBFn = void (*)(std::size_t kc, std::size_t nc, const float* b, std::size_t ldb, std::size_t nr,
                            float* packed);

/// One row of kernels.inc.
struct F32GemmKernel {
  const char* name;
  Isa isa;
  std::uint32_t mr, nr;
  float efficiency;  // relative speed of a full tile, for choosing between tiles of one ISA
  F32GemmUkernelFn ukernel;
  F32PackAFn pack_a;
  F32PackBFn pack_b;
};

#define SPARSIFY_F32_GEMM(name, isa, mr, nr, eff, pack_a, pack_b)                                       \
  void name(std::size_t, std::size_t, std::size_t, const float*, const float*, float*, std::size_t, \
            const F32GemmUkernelParams&);
#define SPARSIFY_F32_GEMM_PACK(pack_a, pack_b)                                                  \
  void pack_a(std::size_t, std::size_t, const float*, std::size_t, std::size_t, float*);        \
  void pack_b(std::size_t, std::size_t, const float*, std::size_t, std::size_t, float*);
#include "engine/kernels/gemm/kernels.inc"
#undef SPARSIFY_F32_GEMM
#undef SPARSIFY_F32_GEMM_PACK

/// The table, best first.
const std::vector<F32GemmKernel>& f32_gemm_kernels();

/// The kernel for an M x N x K product on `isa`: the rows of the highest ISA <= isa, then the one
/// with the least padded work per efficiency. Never null (the scalar row covers everything).
const F32GemmKernel& select_f32_gemm(Isa isa, std::size_t m, std::size_t n, std::size_t k);

/// Finds a row by name (tests, benchmarks, forced choices); nullptr if unknown.
const F32GemmKernel* find_f32_gemm(const char* name);

/// Plain loops, the oracle: C[m,n] = act(sum_k A[m,k] * B[k,n] + bias), with A element (i,k) at
/// a[i*a_rs + k*a_cs], B element (k,j) at b[k*b_rs + j*b_cs]; bias per row, per column or null.
void f32_gemm_reference(std::size_t m, std::size_t n, std::size_t k, const float* a, std::size_t a_rs,
                        std::size_t a_cs, const float* b, std::size_t b_rs, std::size_t b_cs, const float* bias,
                        bool bias_per_row, const ActivationParams& act, float* c, std::size_t ldc);

// ---- blocked driver ----------------------------------------------------------------------------

/// A source of packed B panels produced on demand: pack(ctx, k0, kc, n0, nc, nr, packed) writes
/// ceil(nc/nr) panels of kc * nr floats for rows [k0, k0+kc) and columns [n0, n0+nc) of a
/// virtual B (e.g. an implicit im2col). Must be thread-safe (called concurrently).
struct F32PanelSource {
  void (*pack)(const void* ctx, std::size_t k0, std::size_t kc, std::size_t n0, std::size_t nc, std::size_t nr,
               float* packed) = nullptr;
  const void* ctx = nullptr;
};

/// Cache blocking for one kernel (fixed at prepare).
struct GemmBlocking {
  std::size_t kc = 256;  // K block
  std::size_t mc = 128;  // rows of packed A kept in L2 (right-constant form)
  std::size_t nc = 384;  // columns of packed B kept in L2 (left-constant form)
};

/// Computes C[m0:m1, n0:n1] of C = act(Apacked · B + bias_row) on the calling thread, B coming from
/// `src`. `a_packed` holds all MR panels of an M x K matrix (panel p at p * K * MR); `scratch`
/// holds at least kc * round_up(nc, NR) floats. m0 must be a multiple of MR.
void f32_gemm_left_block(const F32GemmKernel& kernel, const GemmBlocking& blk, std::size_t k, const float* a_packed,
                         const float* bias, const ActivationParams& act, std::size_t m0, std::size_t m1,
                         std::size_t n0, std::size_t n1, const F32PanelSource& src, float* c, std::size_t ldc,
                         float* scratch);

/// Scratch floats f32_gemm_left_block needs.
std::size_t f32_gemm_left_scratch_floats(const F32GemmKernel& kernel, const GemmBlocking& blk);

/// Blocking for `kernel` and a K of `k` (kc balanced so that the last block is not tiny).
GemmBlocking gemm_blocking(const F32GemmKernel& kernel, std::size_t k);

// ---- the two entry points ---------------------------------------------------------------------

/// C[M,N] = act(W[M,K] · B[K,N] + bias[M]) with W constant (conv weights, NCHW output).
/// prepare() packs W; run() is const, allocation-free and may be called from one thread at a time
/// per scratch buffer. The object owns its packed weights; inputs to prepare may be freed after.
class GemmF32ConstLeft {
 public:
  /// `w` row-major [m, k] (row stride k); `bias` m floats or null. `n_hint` is the typical N
  /// (used only to choose the tile). `kernel` forces a table row (tests); else select_f32_gemm.
  Status prepare(std::size_t m, std::size_t k, const float* w, const float* bias, const ActivationParams& act,
                 Isa isa, std::size_t n_hint, const F32GemmKernel* kernel = nullptr);

  /// Scratch bytes run() needs with a pool of `threads` threads (aligned to kKernelAlignment).
  std::size_t scratch_bytes(int threads) const;

  /// C (row stride ldc) = act(W · B + bias) for B row-major [K, n] with row stride ldb.
  /// `scratch`: scratch_bytes(pool.threads()) bytes, 64-byte aligned.
  void run(std::size_t n, const float* b, std::size_t ldb, float* c, std::size_t ldc, void* scratch,
           ThreadPool& pool) const;

  /// As run(), with B from a panel source (conv's implicit im2col).
  void run_source(std::size_t n, const F32PanelSource& src, float* c, std::size_t ldc, void* scratch,
                  ThreadPool& pool) const;

  /// Work for one thread: rows [m0, m1) x columns [n0, n1); `thread_scratch` from
  /// thread_scratch(). For callers that build their own task grid (conv with batch and groups).
  void run_block(std::size_t m0, std::size_t m1, std::size_t n0, std::size_t n1, const F32PanelSource& src,
                 float* c, std::size_t ldc, float* thread_scratch) const;
  float* thread_scratch(void* scratch, int thread) const;
  std::size_t thread_scratch_bytes() const;

  const F32GemmKernel& kernel() const { return *kernel_; }
  const char* name() const { return kernel_->name; }
  std::size_t m() const { return m_; }
  std::size_t k() const { return k_; }

 private:
  const F32GemmKernel* kernel_ = nullptr;
  GemmBlocking blk_;
  std::size_t m_ = 0, k_ = 0;
  ActivationParams act_;
  AlignedArray<float> packed_;  // ceil(m/MR) panels of k * MR floats
  std::vector<float> bias_;     // m floats, empty when there is no bias
};

/// C[M,N] = act(X[M,K] · W[K,N] + bias[N]) with W constant (Gemm/MatMul weights).
class GemmF32ConstRight {
 public:
  /// `w` row-major [k, n] or, with `w_transposed`, [n, k] (ONNX Gemm transB=1); `bias` n floats
  /// or null. `m_hint` is the typical M. `kernel` forces a table row.
  Status prepare(std::size_t k, std::size_t n, const float* w, bool w_transposed, const float* bias,
                 const ActivationParams& act, Isa isa, std::size_t m_hint, const F32GemmKernel* kernel = nullptr);

  std::size_t scratch_bytes(int threads) const;

  /// C (row stride ldc) = act(X · W + bias) for X row-major [m, K] with row stride ldx.
  void run(std::size_t m, const float* x, std::size_t ldx, float* c, std::size_t ldc, void* scratch,
           ThreadPool& pool) const;

  /// Work for one thread: rows [m0, m1) x columns [n0, n1) (n0 a multiple of NR), A from a panel
  /// source asked for MR-row panels (source columns = rows of A; e.g. conv's im2col gives
  /// col^T). `c` points at element (m0, n0). `thread_scratch`: thread_scratch_bytes() bytes.
  void run_block_source(std::size_t m0, std::size_t m1, std::size_t n0, std::size_t n1, const F32PanelSource& a_src,
                        float* c, std::size_t ldc, float* thread_scratch) const;
  std::size_t thread_scratch_bytes() const;

  const F32GemmKernel& kernel() const { return *kernel_; }
  const char* name() const { return kernel_->name; }
  std::size_t k() const { return k_; }
  std::size_t n() const { return n_; }

 private:
  const F32GemmKernel* kernel_ = nullptr;
  GemmBlocking blk_;
  std::size_t k_ = 0, n_ = 0;
  ActivationParams act_;
  AlignedArray<float> packed_;  // ceil(n/NR) panels of k * NR floats
  std::vector<float> bias_;
};

}  // namespace sparsify::engine

namespace sparsify::engine {

/// C_i = A_i · B_i for a batch of products whose operands are both read at run time (attention's
/// Q·K^T and P·V). Both operands are packed per task into scratch, in the micro-kernel's panel
/// formats (a transposed B, stored [N, K], is packed by pack_a with mr = NR: same layout).
/// Tasks are (batch, MC-row block) pairs split across the pool. prepare() fixes kernel and tiling;
/// run() is allocation-free.
class GemmF32Batched {
 public:
  /// Products of [m, k] x [k, n] (or [n, k] stored when b_transposed). `threads`: the pool size
  /// run() will get and `batches` the typical product count (for the row-block size). `kernel`
  /// forces a table row (tests). `alpha` scales every product (applied to the packed A block).
  Status prepare(std::size_t m, std::size_t n, std::size_t k, bool b_transposed, Isa isa, int threads,
                 std::size_t batches, const F32GemmKernel* kernel = nullptr, float alpha = 1.0f);

  std::size_t scratch_bytes(int threads) const;

  /// For i < batches: C + c_off[i] (row stride ldc) = A + a_off[i] (row-major, row stride lda) ·
  /// B + b_off[i] (row stride ldb). Offsets in floats. `scratch`: scratch_bytes(pool.threads()).
  void run(std::size_t batches, const float* a, const std::size_t* a_off, std::size_t lda, const float* b,
           const std::size_t* b_off, std::size_t ldb, float* c, const std::size_t* c_off, std::size_t ldc,
           void* scratch, ThreadPool& pool) const;

  const F32GemmKernel& kernel() const { return *kernel_; }
  const char* name() const { return kernel_->name; }

 private:
  std::size_t thread_floats() const;
  const F32GemmKernel* kernel_ = nullptr;
  std::size_t m_ = 0, n_ = 0, k_ = 0, mc_ = 0, nc_ = 0, kc_ = 0;
  bool b_transposed_ = false;
  float alpha_ = 1.0f;
};

}  // namespace sparsify::engine
