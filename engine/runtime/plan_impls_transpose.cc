// Runtime Transpose for any element size (1, 2, 4, 8 bytes) and any perm. At build the shape is
// simplified (size-1 axes dropped, output axes that stay adjacent in the input merged); then
//   - the innermost output axis is contiguous in the input: copy runs (attention's [0,2,1,3]);
//   - otherwise: 2-D tiled transposes between the output axis that is contiguous in the input
//     and the innermost output axis, for every index of the remaining ("outer") axes
//     (attention's K^T, [0,2,3,1]).
// Outer indices are split across the pool.
#include <algorithm>
#include <cstring>

#include "engine/runtime/plan_impl.h"
#include "engine/runtime/thread_pool.h"

namespace sparsify::engine {
namespace {

constexpr std::int64_t kMinParallelBytes = 64 * 1024;
constexpr std::int64_t kTile = 16;

struct Axis {
  std::int64_t size, src_stride, dst_stride;  // strides in elements
};

template <class T>
void transpose_2d(const T* src, T* dst, std::int64_t rows, std::int64_t cols, std::int64_t src_col_stride,
                  std::int64_t dst_row_stride) {
  // dst[i * dst_row_stride + j] = src[i + j * src_col_stride]: rows read contiguously, columns written contiguously.
  for (std::int64_t i0 = 0; i0 < rows; i0 += kTile) {
    const std::int64_t i1 = std::min(rows, i0 + kTile);
    for (std::int64_t j0 = 0; j0 < cols; j0 += kTile) {
      const std::int64_t j1 = std::min(cols, j0 + kTile);
      for (std::int64_t i = i0; i < i1; ++i) {
        T* d = dst + i * dst_row_stride;
        for (std::int64_t j = j0; j < j1; ++j) d[j] = src[i + j * src_col_stride];
      }
    }
  }
}

class TransposeStep final : public StepKernel {
 public:
  TransposeStep(const void* x, void* y, std::size_t es, std::vector<Axis> outer, Axis row, Axis col, bool runs,
                bool parallel)
      : x_(static_cast<const char*>(x)), y_(static_cast<char*>(y)), es_(es), outer_(std::move(outer)), row_(row),
        col_(col), runs_(runs), parallel_(parallel) {
    for (const Axis& a : outer_) count_ *= a.size;
  }
  std::string name() const override {
    return str_cat("x", es_ * 8, runs_ ? "_transpose_copy_runs__runtime" : "_transpose_2d__runtime");
  }
  std::string decision() const override {
    std::string s = runs_ ? str_cat(count_, " runs of ", col_.size, " elements")
                          : str_cat(count_, " tiles of ", row_.size, " x ", col_.size);
    if (parallel_) s += ", split across the pool";
    return s;
  }
  Status run(std::byte*, ThreadPool* pool) override {
    if (parallel_ && pool != nullptr && pool->threads() > 1) {
      const std::int64_t parts = std::min<std::int64_t>(pool->threads(), count_);
      pool->parallel_for(parts, [&](std::int64_t p, int) { range(count_ * p / parts, count_ * (p + 1) / parts); });
    } else {
      range(0, count_);
    }
    return Status();
  }

 private:
  void range(std::int64_t o0, std::int64_t o1) const {
    for (std::int64_t o = o0; o < o1; ++o) {
      std::int64_t rem = o, src = 0, dst = 0;
      for (std::size_t ax = outer_.size(); ax-- > 0;) {
        const std::int64_t idx = rem % outer_[ax].size;
        rem /= outer_[ax].size;
        src += idx * outer_[ax].src_stride;
        dst += idx * outer_[ax].dst_stride;
      }
      const char* s = x_ + src * static_cast<std::int64_t>(es_);
      char* d = y_ + dst * static_cast<std::int64_t>(es_);
      if (runs_) {
        std::memcpy(d, s, static_cast<std::size_t>(col_.size) * es_);
        continue;
      }
      switch (es_) {
        case 1: tile<std::uint8_t>(s, d); break;
        case 2: tile<std::uint16_t>(s, d); break;
        case 4: tile<std::uint32_t>(s, d); break;
        default: tile<std::uint64_t>(s, d); break;
      }
    }
  }
  template <class T>
  void tile(const char* s, char* d) const {
    transpose_2d(reinterpret_cast<const T*>(s), reinterpret_cast<T*>(d), row_.size, col_.size, col_.src_stride,
                 row_.dst_stride);
  }

  const char* x_;
  char* y_;
  std::size_t es_;
  std::vector<Axis> outer_;
  Axis row_, col_;  // 2-D: row = output axis contiguous in the input, col = innermost output axis
  bool runs_;
  bool parallel_;
  std::int64_t count_ = 1;
};

}  // namespace

StatusOr<std::unique_ptr<StepKernel>> make_x_transpose(const StepBinding& b) {
  const Tensor& x = *b.inputs[0];
  Tensor* y = b.outputs[0];
  if (y == nullptr || y->dtype() != x.dtype()) return unsupported("output type differs");
  const std::size_t es = dtype_size(x.dtype());
  if (es != 1 && es != 2 && es != 4 && es != 8) return unsupported("element size ", es, " bytes");
  if (b.in_place) return unsupported("in place");
  const std::size_t rank = x.rank();
  std::vector<std::int64_t> perm;
  if (const Attribute* a = b.node->find_attribute("perm")) perm = a->ints;
  else for (std::size_t i = 0; i < rank; ++i) perm.push_back(static_cast<std::int64_t>(rank - 1 - i));
  if (perm.size() != rank) return unsupported("perm has ", perm.size(), " entries for rank ", rank);
  if (x.numel() == 0) return unsupported("empty input");
  std::vector<std::int64_t> in_stride(rank, 1);
  for (std::size_t i = rank; i-- > 1;) in_stride[i - 1] = in_stride[i] * x.dim(i);
  // Output axes (in output order) with their input strides; drop size-1 axes; merge neighbours.
  std::vector<Axis> axes;
  std::vector<bool> seen(rank, false);
  for (std::size_t i = 0; i < rank; ++i) {
    const std::int64_t p = perm[i];
    if (p < 0 || p >= static_cast<std::int64_t>(rank) || seen[static_cast<std::size_t>(p)]) {
      return unsupported("perm entry ", p, " out of range or repeated");
    }
    seen[static_cast<std::size_t>(p)] = true;
    const std::int64_t size = x.dim(static_cast<std::size_t>(p));
    if (size == 1) continue;
    const std::int64_t st = in_stride[static_cast<std::size_t>(p)];
    if (!axes.empty() && axes.back().src_stride == st * size) {
      axes.back().size *= size;
      axes.back().src_stride = st;
    } else {
      axes.push_back(Axis{size, st, 0});
    }
  }
  if (axes.empty()) axes.push_back(Axis{1, 1, 0});
  std::int64_t ds = 1;
  for (std::size_t i = axes.size(); i-- > 0;) {
    axes[i].dst_stride = ds;
    ds *= axes[i].size;
  }
  const Axis col = axes.back();
  const bool runs = col.src_stride == 1;
  Axis row{1, 1, 0};
  std::vector<Axis> outer(axes.begin(), axes.end() - 1);
  if (!runs) {
    const auto it = std::find_if(outer.begin(), outer.end(), [](const Axis& a) { return a.src_stride == 1; });
    if (it == outer.end()) return unsupported("no output axis is contiguous in the input");  // cannot happen
    row = *it;
    outer.erase(it);
  }
  const bool parallel = b.threads > 1 && static_cast<std::int64_t>(x.nbytes()) >= kMinParallelBytes;
  return std::unique_ptr<StepKernel>(new TransposeStep(x.raw_data(), y->raw_data(), es, std::move(outer), row, col, runs, parallel));
}

}  // namespace sparsify::engine
