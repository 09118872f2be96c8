// Sparse int8 products: u8 activations x constant sparse s8 weights -> int32, requantized to u8
// (QLinearConv / QLinearMatMul) or stored as int32 (ConvInteger / MatMulInteger), with the same
// zero-point and requantization arithmetic as the dense qgemm family (bit-identical results).
//
// Weights are stored as blocks of 4 consecutive K of one output channel ("bsr_1x4"; every 4-group
// holding a non-zero is kept whole, so unstructured sparsity runs on the same kernels at the cost
// of its non-empty groups). The activation tile is packed in the qgemm c4 layout, so one block is
// one vpdpbusd per 16 columns:
//
//   weights[j] = int32 of the 4 s8 (w - w_zp) of block j      offsets[j] = g_j * NR * 4 (bytes)
//   B tile, NR columns, c4:  b[(g * NR + c) * 4 + t] = B[4g + t][n0 + c]
//   C[r, 0:NR] += dpbusd(b + offsets[j], broadcast(weights[j]))      for the blocks j of row r
//
// K order. The im2col K of a conv is (c, ki, kj) (OIHW flattening); SparseML's block4 ([1, 4])
// prunes 4 consecutive INPUT CHANNELS at one kernel tap (sparseml/pruning/select.h), which are
// not consecutive in that order for k x k kernels. QSparseConv2dU8S8 measures the non-empty
// 4-groups in both orders, (c, ki, kj) and tap-major (ki, kj, c), and uses the one with fewer;
// the im2col rows and weight columns are permuted to match. 1x1 convs and MatMul: K = channels.
//
// Zero points: a pruned weight is w == w_zp (not w == 0); weights are stored as w - w_zp, which
// must fit int8 (else the sparse path is unsupported). Then acc = sum a * (w - w_zp) + bias -
// a_zp * sum (w - w_zp): the same int32 as the dense path, with the same float epilogue.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/base/cpu_info.h"
#include "engine/base/status.h"
#include "engine/kernels/common.h"
#include "engine/kernels/conv/family.h"
#include "engine/kernels/qgemm/family.h"
#include "engine/kernels/spmm/family.h"

namespace sparsify::engine {

class ThreadPool;

/// For rows r in [0, rows): C[r * ldc + 0:nr] (u8 or int32 per p.flags) = epilogue(sum over the
/// next row_blocks[r] blocks of dot4(b[offsets[j] + 4c .. +4], weights[j])) for columns c < nr.
/// p.bias / p.scale are per row, offset to the run's first row; p.w_zero must be null.
using QSpmmUkernelFn = void (*)(std::size_t rows, std::size_t nr, const std::uint32_t* row_blocks,
                                const std::int32_t* weights, const std::int32_t* offsets, const std::uint8_t* b,
                                void* c, std::size_t ldc, const QGemmUkernelParams& p);

/// The float output of a fused QLinearMatMul -> DequantizeLinear [-> bias Add]:
/// y[i, j] = float(q[i, j] - zero) * scale [+ bias[j]], q the u8 product (QLinearMatMulDequantize).
struct QDequantizeOut {
  float scale = 1;
  std::int32_t zero = 0;
  const float* bias = nullptr;  // [columns] or null
};
/// y[i * ldy + j] = float(q[i * ldq + j] - d.zero) * d.scale (+ d.bias[j0 + j]) for i < rows, j < cols;
/// separate multiply and add (no FMA contraction), as DequantizeLinear then Add round. Pure.
void dequantize_u8_rows(std::size_t rows, std::size_t cols, const std::uint8_t* q, std::size_t ldq,
                        const QDequantizeOut& d, std::size_t j0, float* y, std::size_t ldy);

/// dst[c * ldd + r] = src[r * lds + c] for r < rows, c < cols (u8).
using QTransposeU8Fn = void (*)(std::size_t rows, std::size_t cols, const std::uint8_t* src, std::size_t lds,
                                std::uint8_t* dst, std::size_t ldd);
void u8_transpose__scalar(std::size_t, std::size_t, const std::uint8_t*, std::size_t, std::uint8_t*, std::size_t);
void u8_transpose__avx2(std::size_t, std::size_t, const std::uint8_t*, std::size_t, std::uint8_t*, std::size_t);
void u8_transpose__avx512vnni(std::size_t, std::size_t, const std::uint8_t*, std::size_t, std::uint8_t*, std::size_t);
/// The transpose of a u8 tile dequantized: dst[c * ldd + r] = float(src[r * lds + c] - d.zero) * d.scale
/// (+ d.bias[j0 + r]), multiply then add (no FMA), as DequantizeLinear then Add round.
using QTransposeDequantFn = void (*)(std::size_t rows, std::size_t cols, const std::uint8_t* src, std::size_t lds,
                                     const QDequantizeOut& d, std::size_t j0, float* dst, std::size_t ldd);
void u8_transpose_dequant__scalar(std::size_t, std::size_t, const std::uint8_t*, std::size_t, const QDequantizeOut&,
                                  std::size_t, float*, std::size_t);
void u8_transpose_dequant__avx2(std::size_t, std::size_t, const std::uint8_t*, std::size_t, const QDequantizeOut&,
                                std::size_t, float*, std::size_t);
void u8_transpose_dequant__avx512vnni(std::size_t, std::size_t, const std::uint8_t*, std::size_t, const QDequantizeOut&,
                                      std::size_t, float*, std::size_t);

/// One row of kernels.inc: the micro-kernel and the qgemm packers of its ISA (pack_b makes the
/// c4 tile from a row-major [K, n] block; pack_a from row-major [n, K] rows, i.e. X^T).
struct QSpmmKernel {
  const char* name;
  Isa isa;
  std::uint32_t nr;
  QSpmmUkernelFn ukernel;
  QPackAFn pack_a;
  QPackBFn pack_b;
  QTransposeU8Fn transpose_u8;
  QTransposeDequantFn transpose_dequant;
};

#define SPARSIFY_QSPMM(name, isa, nr, pack_a, pack_b, transpose, transpose_dequant)                                                         \
  void name(std::size_t, std::size_t, const std::uint32_t*, const std::int32_t*, const std::int32_t*,          \
            const std::uint8_t*, void*, std::size_t, const QGemmUkernelParams&);
#include "engine/kernels/qspmm/kernels.inc"
#undef SPARSIFY_QSPMM

const std::vector<QSpmmKernel>& qspmm_kernels();
/// Highest ISA <= isa, then the widest NR padding N by at most an eighth (else the narrowest).
/// With `k` (the K of packed B tiles, constant-left form): the widest NR padding N by at most a
/// third (the last tile is masked) whose K x NR tile stays within 128 KiB.
const QSpmmKernel& select_qspmm(Isa isa, std::size_t n, std::size_t k = 0);
const QSpmmKernel* find_qspmm(const char* name);

/// Block-4 statistics of int8 weights [m, k] given as w - w_zp (zero = pruned).
inline SparsityStats q_sparsity(std::size_t m, std::size_t k, const std::int16_t* w) { return sparsity_of(m, k, w); }

// ---- drivers -----------------------------------------------------------------------------------

/// Block-4 rows plus the folded per-channel constants; shared by the entry points below.
class SparseQRows {
 public:
  /// `w` int8 or uint8 (p.weights_u8) with element (ch, kk) at w[ch * w_rs + perm(kk) * w_cs] where
  /// perm maps the stored K order to the source's (null: identity). Validates p like the dense
  /// qgemm. unsupported when some w - w_zp does not fit int8.
  /// `group_offsets` (k4 entries, bytes; null: the packed tile's g * NR * 4) places B's 4-group g
  /// elsewhere, e.g. in a padded channel-blocked input (QSparseConv2dU8S8's padded form).
  Status prepare(std::size_t m, std::size_t k, const void* w, std::size_t w_rs, std::size_t w_cs,
                 const std::uint32_t* perm, const QGemmParams& p, const QSpmmKernel& kernel, Isa isa,
                 const std::vector<std::size_t>* group_offsets = nullptr);
  /// Rows [r0, r1) on a packed c4 tile of nr columns into C at c (row stride ldc elements).
  void run_rows(std::size_t r0, std::size_t r1, std::size_t nr, const std::uint8_t* tile, void* c,
                std::size_t ldc) const;
  void balance(int parts, std::size_t* bounds) const;

  const QSpmmKernel& kernel() const { return *kernel_; }
  std::size_t m() const { return m_; }
  std::size_t k() const { return k_; }
  std::size_t k4() const { return ceil_div(k_, 4); }
  bool output_u8() const { return ch_.output_u8; }
  const SparsityStats& stats() const { return stats_; }

 private:
  const QSpmmKernel* kernel_ = nullptr;
  std::size_t m_ = 0, k_ = 0;
  QGemmChannels ch_;
  SparsityStats stats_;
  std::vector<std::uint32_t> row_blocks_;
  std::vector<std::size_t> row_start_;
  AlignedArray<std::int32_t> weights_, offsets_;
};

/// C[M,N] = W[M,K] x B[K,N] quantized, W constant and sparse (conv orientation). B u8 row-major
/// with row stride ldb. Per task one c4 tile of NR columns is packed into scratch.
class QSpmmU8S8ConstLeft {
 public:
  Status prepare(std::size_t m, std::size_t k, const void* w, const QGemmParams& p, Isa isa, std::size_t n_hint,
                 const QSpmmKernel* kernel = nullptr, const std::uint32_t* perm = nullptr,
                 const std::vector<std::size_t>* group_offsets = nullptr);
  std::size_t scratch_bytes(int threads) const;
  void run(std::size_t n, const std::uint8_t* b, std::size_t ldb, void* c, std::size_t ldc, void* scratch,
           ThreadPool& pool) const;
  const char* name() const { return rows_.kernel().name; }
  const SparseQRows& rows() const { return rows_; }

 private:
  SparseQRows rows_;
};

/// C[M,N] = X[M,K] x W[K,N] quantized, W constant and sparse (QLinearMatMul / MatMulInteger):
/// NR rows of X are packed as the c4 tile of X^T, the sparse W^T rows run on it into a
/// [rows, NR] tile, transposed back into C.
class QSpmmU8S8ConstRight {
 public:
  Status prepare(std::size_t k, std::size_t n, const void* w, bool w_transposed, const QGemmParams& p, Isa isa,
                 std::size_t m_hint, const QSpmmKernel* kernel = nullptr);
  std::size_t scratch_bytes(int threads) const;
  /// With `dq` (u8 output only), C is float32 [m, ldc]: the u8 results dequantized (+ bias) per tile.
  void run(std::size_t m, const std::uint8_t* x, std::size_t ldx, void* c, std::size_t ldc, void* scratch,
           ThreadPool& pool, const QDequantizeOut* dq = nullptr) const;
  const char* name() const { return rows_.kernel().name; }
  const SparseQRows& rows() const { return rows_; }

 private:
  std::size_t thread_bytes() const;
  SparseQRows rows_;  // W^T
};

/// A prepared sparse quantized Conv2d (groups == 1): u8 im2col (rows in the chosen K order,
/// padding = the input zero point) into scratch, or the input itself for 1x1 stride 1; then
/// QSpmmU8S8ConstLeft. Padded form (tap-major K or 1x1, C % 4 == 0, column stride 1 or 2, output
/// rows >= 7): the input is copied once per run into a zero-point-bordered, channel-blocked
/// [C/4, H+pads, W+pads, 4] buffer, which IS the c4 tile of every tap: the 4-group (ki, kj,
/// channels 4cg..4cg+3) of output (oy, ox) is the 4 bytes at ((cg * Hp + oy*sh + ki) * Wp + ox + kj) * 4.
/// With column stride 2 each row is stored as its even columns, then its odd ones, so that tap kj
/// of consecutive outputs is again contiguous (phase kj % 2, word ox + kj / 2). Tiles are
/// output-row segments; no im2col and no packing.
class QSparseConv2dU8S8 {
 public:
  Status prepare(const Conv2dShape& shape, const void* weight, const QGemmParams& p, Isa isa,
                 const QSpmmKernel* kernel = nullptr);
  std::size_t scratch_bytes(int threads) const;
  void run(const std::uint8_t* x, void* y, void* scratch, ThreadPool& pool) const;
  const char* name() const { return name_.c_str(); }
  const SparseQRows& rows() const { return gemm_.rows(); }
  bool tap_major() const { return tap_major_; }
  bool padded() const { return padded_; }
  /// Output rows at least this wide take the padded form. One vpdpbusd covers 16 columns, so a
  /// 7-wide row wastes lanes, yet skipping im2col and packing still wins (ResNet-50, 95 % block-4,
  /// 1 thread: 3x3 convs at 56x56 0.34 -> 0.11 ms, 14x14 0.26 -> 0.11 ms, 7x7 0.25 -> 0.16 ms).
  static constexpr std::size_t kMinPaddedRow = 7;

 private:
  void run_padded(const std::uint8_t* x, void* y, std::uint8_t* xp, ThreadPool& pool) const;
  Conv2dShape shape_;
  ConvGeom geom_{};
  bool pointwise_ = false, tap_major_ = false, output_u8_ = true, padded_ = false;
  std::size_t hp_ = 0, wp_ = 0, wq_ = 0;  // padded rows, columns, columns per parity phase (stride 2)
  std::uint8_t pad_value_ = 0;
  QSpmmU8S8ConstLeft gemm_;
  std::string name_;
};

}  // namespace sparsify::engine
