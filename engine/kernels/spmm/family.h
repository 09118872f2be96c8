// Sparse fp32 products with constant sparse weights: C = act(W·B + bias) with W[M,K] compressed by
// rows at prepare (conv orientation), and the transposed form Y = X·W for Gemm/MatMul, computed as
// Y^T = W^T·X^T through small transposed tiles in scratch. Plus SparseConv2dF32 (groups == 1):
// 1x1 stride-1 convs read the NCHW input rows directly; any other geometry goes through an
// im2col tile of NR columns in scratch (the conv family's packers).
//
// Packed weights (CSR with precomputed offsets), rows in order:
//   row_nnz[r]                 non-zeros of row r
//   values[j], offsets[j]      j-th non-zero of the concatenated rows: its value and the element
//                              offset of its B row, k * ldb (ldb fixed at prepare: the input plane
//                              size for 1x1 direct, NR for tiles in scratch)
//   row_start[r]               prefix sum of row_nnz (for nnz-balanced row chunks)
//
// Micro-kernel: for each row r of a run, broadcast each non-zero and FMA it across NR columns of
// B (one contiguous run of the B row), two interleaved accumulator sets to hide FMA latency:
//
//        B tile (rows = k, NR columns)           C row r  = bias[r] + sum_j values[j] * B[offset_j]
//   off_j -> [ b b b b b b ... b ]  x values[j]     -> [ c c c c c c ... c ]  (clamped, stored)
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/base/cpu_info.h"
#include "engine/base/status.h"
#include "engine/kernels/common.h"
#include "engine/kernels/conv/family.h"

namespace sparsify::engine {

class ThreadPool;

// ---- micro-kernel contract ---------------------------------------------------------------------

struct F32SpmmParams {
  const float* bias = nullptr;  // per row, offset to the run's first row; null: zero
  float min = 0, max = 0;       // clamp (+-inf when no activation)
  // Residual added before the clamp (a fused skip connection): R[r * ldc + 0:nr], laid out as C
  // (same row stride), offset to the run's first element; null: none.
  const float* residual = nullptr;
};

/// For rows r in [0, rows): C[r * ldc + 0:nr] = clamp(bias[r] + sum_j values[j] * b[offsets[j] + 0:nr]
/// [+ residual[r * ldc + 0:nr]]),
/// the non-zeros of row r being the next row_nnz[r] entries of values/offsets (they advance row by
/// row from the pointers given). 1 <= nr <= NR; columns >= nr of B are never read.
using F32SpmmUkernelFn = void (*)(std::size_t rows, std::size_t nr, const std::uint32_t* row_nnz,
                                  const float* values, const std::int32_t* offsets, const float* b, float* c,
                                  std::size_t ldc, const F32SpmmParams& p);

/// One row of kernels.inc.
struct F32SpmmKernel {
  const char* name;
  Isa isa;
  std::uint32_t nr;
  F32SpmmUkernelFn ukernel;
};

#define SPARSIFY_F32_SPMM(name, isa, nr)                                                                      \
  void name(std::size_t, std::size_t, const std::uint32_t*, const float*, const std::int32_t*, const float*, \
            float*, std::size_t, const F32SpmmParams&);
#include "engine/kernels/spmm/kernels.inc"
#undef SPARSIFY_F32_SPMM

/// The table, best first.
const std::vector<F32SpmmKernel>& f32_spmm_kernels();
/// The row for N columns of B whose tile of K rows is to stay in L2: the highest ISA <= isa, then
/// the widest NR that does not pad N by more than a third and keeps K * NR floats <= 160 Ki
/// (else the narrowest row of that ISA). Never null.
const F32SpmmKernel& select_f32_spmm(Isa isa, std::size_t n, std::size_t k);
const F32SpmmKernel* find_f32_spmm(const char* name);

/// Plain loops in double on a dense row-major W[m, k] (zeros skipped): the oracle.
/// C[m, n] (row stride ldc) = act(W · B + bias[m]) with B row-major [k, n] (row stride ldb).
void f32_spmm_reference(std::size_t m, std::size_t n, std::size_t k, const float* w, const float* b,
                        std::size_t ldb, const float* bias, const ActivationParams& act, float* c, std::size_t ldc);

// ---- sparsity measurement ------------------------------------------------------------------------

/// What the plan needs to decide dense or sparse: exact zero counts and block-4 occupancy.
struct SparsityStats {
  std::size_t elements = 0, nnz = 0;
  std::size_t blocks4 = 0, nonempty_blocks4 = 0;  // groups of 4 consecutive K of one row
  double zeros() const { return elements == 0 ? 0.0 : 1.0 - double(nnz) / double(elements); }
  double block4_zeros() const { return blocks4 == 0 ? 0.0 : 1.0 - double(nonempty_blocks4) / double(blocks4); }
};
/// Stats of a row-major [m, k] matrix: an element is pruned when it compares equal to T(0).
template <class T>
SparsityStats sparsity_of(std::size_t m, std::size_t k, const T* w) {
  SparsityStats s;
  s.elements = m * k;
  s.blocks4 = m * ceil_div(k, 4);
  for (std::size_t i = 0; i < m; ++i) {
    for (std::size_t g = 0; g < k; g += 4) {
      std::size_t nz = 0;
      for (std::size_t t = g; t < k && t < g + 4; ++t) nz += w[i * k + t] != T(0);
      s.nnz += nz;
      s.nonempty_blocks4 += nz != 0;
    }
  }
  return s;
}
/// Stats of a row-major [m, k] fp32 matrix (exact zeros, -0.0 counts as zero).
inline SparsityStats f32_sparsity(std::size_t m, std::size_t k, const float* w) { return sparsity_of(m, k, w); }

// ---- the drivers -------------------------------------------------------------------------------

/// CSR weights plus the chosen row; shared by the entry points below.
class SparseF32Rows {
 public:
  /// Compresses row-major W[m, k] (element (i, kk) at w[i * w_rs + kk * w_cs]) for B rows `ldb`
  /// floats apart, or, with `row_offsets` (k entries), B row kk at row_offsets[kk] floats.
  /// `kernel` forces a row (unsupported if above isa).
  Status prepare(std::size_t m, std::size_t k, const float* w, std::size_t w_rs, std::size_t w_cs, std::size_t ldb,
                 const float* bias, const ActivationParams& act, const F32SpmmKernel& kernel, Isa isa,
                 const std::vector<std::size_t>* row_offsets = nullptr);
  /// Rows [r0, r1) of one tile: C[r0.., 0:nr] from a B tile at `b` (its column 0). `residual`
  /// (null: none) is added before the clamp, laid out as C (its element for c[0]).
  void run_rows(std::size_t r0, std::size_t r1, std::size_t nr, const float* b, float* c, std::size_t ldc,
                const float* residual = nullptr) const;
  /// Splits the rows into `parts` chunks of about equal nnz: bounds[0..parts] (bounds[parts] = m).
  void balance(int parts, std::size_t* bounds) const;

  const F32SpmmKernel& kernel() const { return *kernel_; }
  std::size_t m() const { return m_; }
  std::size_t k() const { return k_; }
  std::size_t nnz() const { return values_.size(); }

 private:
  const F32SpmmKernel* kernel_ = nullptr;
  std::size_t m_ = 0, k_ = 0;
  float min_ = 0, max_ = 0;
  std::vector<std::uint32_t> row_nnz_;
  std::vector<std::size_t> row_start_;  // m + 1
  AlignedArray<float> values_;
  AlignedArray<std::int32_t> offsets_;
  std::vector<float> bias_;  // m floats or empty
};

/// C[M,N] = act(W[M,K] · B[K,N] + bias[M]) with W constant and sparse; B row-major with a row
/// stride fixed at prepare. run() is const and allocation-free; one run at a time per scratch.
class SpmmF32ConstLeft {
 public:
  /// `w` row-major [m, k]; `bias` m floats or null; `ldb` the row stride of B at run; `n_hint`
  /// the typical N (chooses NR). `kernel` forces a table row (tests, benchmarks).
  Status prepare(std::size_t m, std::size_t k, const float* w, const float* bias, const ActivationParams& act,
                 Isa isa, std::size_t n_hint, std::size_t ldb, const F32SpmmKernel* kernel = nullptr);
  std::size_t scratch_bytes(int) const { return 0; }
  /// C (row stride ldc) for B [K, n] (row stride as prepared). Tiles of NR columns x nnz-balanced
  /// row chunks over the pool.
  void run(std::size_t n, const float* b, float* c, std::size_t ldc, void* scratch, ThreadPool& pool) const;
  const char* name() const { return rows_.kernel().name; }
  const SparseF32Rows& rows() const { return rows_; }

 private:
  SparseF32Rows rows_;
};

/// C[M,N] = act(X[M,K] · W[K,N] + bias[N]) with W constant and sparse (Gemm/MatMul): per task a
/// tile of NR rows of X is transposed into scratch as B = X^T [K, NR], the sparse W^T rows run on
/// it into a [rows, NR] tile, transposed back into C.
class SpmmF32ConstRight {
 public:
  /// `w` row-major [k, n] or, with `w_transposed`, [n, k]; `bias` n floats or null.
  Status prepare(std::size_t k, std::size_t n, const float* w, bool w_transposed, const float* bias,
                 const ActivationParams& act, Isa isa, std::size_t m_hint, const F32SpmmKernel* kernel = nullptr);
  std::size_t scratch_bytes(int threads) const;
  void run(std::size_t m, const float* x, std::size_t ldx, float* c, std::size_t ldc, void* scratch,
           ThreadPool& pool) const;
  const char* name() const { return rows_.kernel().name; }
  const SparseF32Rows& rows() const { return rows_; }

 private:
  std::size_t thread_floats() const;
  SparseF32Rows rows_;  // W^T: n rows of k
};

/// A prepared sparse Conv2d (groups == 1; grouped and depthwise convs stay dense). Three forms:
///  1x1 stride 1 unpadded: B is the input itself (rows = channels).
///  column stride 1 or 2, output rows >= kMinPaddedRow wide ("padded direct"): the input is
///    copied once per run into a zero-bordered [C, H + pads, W + pads] buffer; B row (c, ki, kj) is
///    that buffer at offset (c, ki, kj) and a tile is (part of) one output row, so no im2col is built:
///        y[m, oy, ox0 + t] = sum_(c,ki,kj) w * xp[c, oy*sh + ki, (ox0 + t)*sw + kj]
///    (stride 2: each padded row is stored as its even columns, then its odd ones, so tap kj of
///    consecutive outputs is contiguous again: phase kj % 2, column ox + kj / 2)
///  otherwise: im2col tiles of NR columns in scratch (the conv family's packers).
class SparseConv2dF32 {
 public:
  /// `weight` OIHW, `bias` M floats or null; both may be freed after. `kernel` forces a row.
  /// unsupported for groups > 1.
  Status prepare(const Conv2dShape& shape, const float* weight, const float* bias, const ActivationParams& act,
                 Isa isa, const F32SpmmKernel* kernel = nullptr);
  std::size_t scratch_bytes(int threads) const;
  /// y[N, M, OH, OW] = act(conv(x) + bias [+ residual]) for shape().batch images; `residual` (null:
  /// none) has y's shape and must not overlap y. Allocation-free.
  void run(const float* x, float* y, void* scratch, ThreadPool& pool, const float* residual = nullptr) const;
  /// "f32_spmm_minmax_1x64__avx512 (1x1 direct)" or "f32_im2col__avx512 + f32_spmm_..."
  const char* name() const { return name_.c_str(); }
  const Conv2dShape& shape() const { return shape_; }
  const SparseF32Rows& rows() const { return rows_; }
  bool direct() const { return direct_; }
  bool padded() const { return padded_; }
  /// Output rows at least this wide take the padded-direct form. A tile is one output row, so
  /// narrower rows leave the 64-column kernel partly idle and im2col tiles win (ResNet-50 3x3 convs,
  /// 1 thread: 56x56 0.57 vs 0.71 ms and the 112-wide 7x7 stem 0.51 vs 0.75 ms padded; 28x28
  /// 0.68 vs 0.66, 14x14 0.85 vs 0.65 ms im2col).
  static constexpr std::size_t kMinPaddedRow = 48;
  /// Bytes of B rows one K block reads per tile (L1-sized): W is split into K blocks of
  /// kKBlockBytes / (NR * 4) rows, and every output row of a tile accumulates over one block before
  /// the next (the partial C is read back as the next block's residual).
  static constexpr std::size_t kKBlockBytes = 32 * 1024;

 private:
  Status prepare_kblocks(const float* weight, const float* bias, const ActivationParams& act, Isa isa,
                         const std::vector<std::size_t>& offsets);
  std::string kblock_note() const;
  void run_rows(std::size_t r0, std::size_t r1, std::size_t nc, const float* b, float* c, std::size_t ldc,
                const float* residual) const;
  std::size_t padded_floats() const;
  void run_padded(const float* x, float* y, float* xp, ThreadPool& pool, const float* residual) const;
  Conv2dShape shape_;
  ConvGeom geom_{};
  bool direct_ = false, padded_ = false;
  std::size_t hp_ = 0, wp_ = 0, wq_ = 0;  // padded input rows, columns, columns per parity (padded_)
  const F32Im2colKernel* im2col_ = nullptr;
  SparseF32Rows rows_;                 // the whole of W: balance, stats, the unblocked run
  std::vector<SparseF32Rows> kblocks_;  // W by K blocks (empty: K fits one block)
  std::string name_;
};

}  // namespace sparsify::engine
