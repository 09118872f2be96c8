// Runtime fp32 implementations of pooling steps; window geometry comes from the same helper the
// reference ops use (ops/window.h), computed once at build. (Softmax: plan_impls_transformer.cc.)
#include <algorithm>
#include <cmath>
#include <limits>

#include "engine/kernels/common.h"
#include "engine/ops/window.h"
#include "engine/runtime/plan_impl.h"
#include "engine/runtime/pool_loops.h"
#include "engine/runtime/thread_pool.h"

namespace sparsify::engine {
namespace {

// Compares below which a MaxPool step runs on the caller alone.
constexpr std::int64_t kMinParallelCompares = 256 * 1024;

bool f32_io(const StepBinding& b) {
  return b.inputs[0]->dtype() == DType::kFloat32 && b.outputs[0] != nullptr && b.outputs[0]->dtype() == DType::kFloat32;
}

class MaxPoolKernel final : public StepKernel {
 public:
  // parallel: planes are split across the pool (decided at build from the work size).
  MaxPoolKernel(const Window& w, std::int64_t planes, const float* x, float* y, bool parallel)
      : w_(w), planes_(planes), x_(x), y_(y), parallel_(parallel) {}
  std::string decision() const override {
    return parallel_ ? str_cat(planes_, " planes split across the pool") : std::string();
  }
  Status run(std::byte*, ThreadPool* pool) override {
    if (parallel_ && pool != nullptr) {
      pool->parallel_for(planes_, [&](std::int64_t p, int) { plane(p); });
    } else {
      for (std::int64_t p = 0; p < planes_; ++p) plane(p);
    }
    return Status();
  }

 private:
  void plane(std::int64_t p) const {
    const std::int64_t in_sz = w_.in[0] * w_.in[1] * w_.in[2];
    const std::int64_t out_sz = w_.out[0] * w_.out[1] * w_.out[2];
    const float* x = x_ + p * in_sz;
    float* y = y_ + p * out_sz;
    for (std::int64_t o0 = 0; o0 < w_.out[0]; ++o0)
      for (std::int64_t o1 = 0; o1 < w_.out[1]; ++o1)
        for (std::int64_t o2 = 0; o2 < w_.out[2]; ++o2) {
          float m = -std::numeric_limits<float>::infinity();
          for (std::int64_t k0 = 0; k0 < w_.kernel[0]; ++k0) {
            const std::int64_t i0 = o0 * w_.stride[0] - w_.pad_begin[0] + k0 * w_.dilation[0];
            if (i0 < 0 || i0 >= w_.in[0]) continue;
            for (std::int64_t k1 = 0; k1 < w_.kernel[1]; ++k1) {
              const std::int64_t i1 = o1 * w_.stride[1] - w_.pad_begin[1] + k1 * w_.dilation[1];
              if (i1 < 0 || i1 >= w_.in[1]) continue;
              const float* row = x + (i0 * w_.in[1] + i1) * w_.in[2];
              for (std::int64_t k2 = 0; k2 < w_.kernel[2]; ++k2) {
                const std::int64_t i2 = o2 * w_.stride[2] - w_.pad_begin[2] + k2 * w_.dilation[2];
                if (i2 >= 0 && i2 < w_.in[2]) m = std::max(m, row[i2]);
              }
            }
          }
          y[(o0 * w_.out[1] + o1) * w_.out[2] + o2] = m;
        }
  }

  Window w_;
  std::int64_t planes_;
  const float* x_;
  float* y_;
  bool parallel_;
};

// 2-D MaxPool (dilation 1) on pool_loops: tasks are (plane, block of output rows); each thread
// reduces into its own padded scratch row.
template <class T>
class MaxPoolRowsKernel final : public StepKernel {
 public:
  MaxPoolRowsKernel(const PoolPlaneGeom& g, const PoolLoops& loops, std::int64_t planes, std::int64_t row_blocks,
                    int threads, const T* x, T* y, bool parallel)
      : g_(g), loops_(loops), planes_(planes), row_blocks_(row_blocks), threads_(threads), x_(x), y_(y),
        parallel_(parallel) {}
  std::size_t scratch_bytes() const override { return thread_bytes() * static_cast<std::size_t>(threads_); }
  std::string name() const override {
    return str_cat(sizeof(T) == 1 ? "u8" : "f32", "_max_pool2d_rows__", loops_.isa);
  }
  std::string decision() const override {
    return parallel_ ? str_cat(planes_, " planes x ", row_blocks_, " row blocks split across the pool")
                     : std::string("small: runs on the caller");
  }
  Status run(std::byte* scratch, ThreadPool* pool) override {
    const std::int64_t tasks = planes_ * row_blocks_;
    if (parallel_ && pool != nullptr) {
      pool->parallel_for(tasks, [&](std::int64_t t, int thread) { task(t, scratch + thread_bytes() * static_cast<std::size_t>(thread)); });
    } else {
      for (std::int64_t t = 0; t < tasks; ++t) task(t, scratch);
    }
    return Status();
  }

 private:
  std::size_t thread_bytes() const { return round_up(static_cast<std::size_t>(g_.row_elems() + 1) * sizeof(T), kKernelAlignment); }
  void task(std::int64_t t, std::byte* scratch) const {
    const std::int64_t p = t / row_blocks_, b = t % row_blocks_;
    const std::int64_t oy0 = g_.oh * b / row_blocks_, oy1 = g_.oh * (b + 1) / row_blocks_;
    const T* x = x_ + p * g_.ih * g_.iw;
    T* y = y_ + p * g_.oh * g_.ow;
    T* row = reinterpret_cast<T*>(scratch);
    if constexpr (sizeof(T) == 1) loops_.max_u8(g_, x, y, oy0, oy1, row);
    else loops_.max_f32(g_, x, y, oy0, oy1, row);
  }

  PoolPlaneGeom g_;
  const PoolLoops& loops_;
  std::int64_t planes_, row_blocks_;
  int threads_;
  const T* x_;
  T* y_;
  bool parallel_;
};

template <class T>
StatusOr<std::unique_ptr<StepKernel>> make_max_pool2d_rows(const StepBinding& b, DType dtype) {
  const Tensor& x = *b.inputs[0];
  if (x.dtype() != dtype || b.outputs[0] == nullptr || b.outputs[0]->dtype() != dtype) {
    return unsupported("not ", dtype_name(dtype));
  }
  if (b.node->outputs.size() > 1 && b.node->outputs[1] != kNoValue) return unsupported("the Indices output is used");
  if (x.rank() != 4) return unsupported("rank ", x.rank(), ", only 2-D pooling (rank 4) is implemented");
  if (b.in_place) return unsupported("in place");
  std::vector<Tensor> outs(b.node->outputs.size());
  OpContext ctx(*b.node, b.opset, b.inputs, &outs);
  Window w;
  SPARSIFY_RETURN_IF_ERROR(forward_window(ctx, Dims(x.dims().begin() + 2, x.dims().end()), ctx.attr_ints("kernel_shape"),
                                          ctx.attr_int("ceil_mode", 0) != 0, &w));
  if (ctx.attr_int("storage_order", 0) != 0) return unsupported("storage_order 1");
  if (w.dilation[1] != 1 || w.dilation[2] != 1) return unsupported("dilation ", w.dilation[1], "x", w.dilation[2]);
  if (w.pad_begin[1] >= w.kernel[1] || w.pad_begin[2] >= w.kernel[2]) return unsupported("a pad as large as the kernel");
  const PoolPlaneGeom g{w.in[1], w.in[2], w.out[1], w.out[2], w.kernel[1], w.kernel[2],
                        w.stride[1], w.stride[2], w.pad_begin[1], w.pad_begin[2]};
  if (b.outputs[0]->dim(2) != g.oh || b.outputs[0]->dim(3) != g.ow) return unsupported("output dims differ from the window geometry");
  const std::int64_t planes = x.dim(0) * x.dim(1);
  if (planes == 0 || g.oh == 0 || g.ow == 0) return unsupported("empty");
  const bool parallel = b.threads > 1 && b.outputs[0]->numel() * g.kh * g.kw >= kMinParallelCompares / 4;
  // Enough tasks for an even split: whole planes when there are many, else row blocks too.
  const std::int64_t want = 4 * std::max(1, b.threads);
  const std::int64_t row_blocks = parallel && planes < want ? std::min<std::int64_t>(g.oh, (want + planes - 1) / planes) : 1;
  return std::unique_ptr<StepKernel>(new MaxPoolRowsKernel<T>(g, select_pool_loops(b.isa), planes, row_blocks,
                                                              std::max(1, b.threads), x.data<T>(),
                                                              b.outputs[0]->data<T>(), parallel));
}

class GlobalAvgPoolKernel final : public StepKernel {
 public:
  GlobalAvgPoolKernel(const float* x, float* y, std::int64_t planes, std::int64_t size) : x_(x), y_(y), planes_(planes), size_(size) {}
  Status run(std::byte*, ThreadPool*) override {
    const float inv = 1.0f / static_cast<float>(size_);
    for (std::int64_t p = 0; p < planes_; ++p) {
      const float* x = x_ + p * size_;
      float s = 0;
      for (std::int64_t i = 0; i < size_; ++i) s += x[i];
      y_[p] = s * inv;
    }
    return Status();
  }

 private:
  const float* x_;
  float* y_;
  std::int64_t planes_, size_;
};

}  // namespace

StatusOr<std::unique_ptr<StepKernel>> make_f32_max_pool2d_rows(const StepBinding& b) {
  return make_max_pool2d_rows<float>(b, DType::kFloat32);
}

StatusOr<std::unique_ptr<StepKernel>> make_u8_max_pool2d_rows(const StepBinding& b) {
  return make_max_pool2d_rows<std::uint8_t>(b, DType::kUInt8);
}

StatusOr<std::unique_ptr<StepKernel>> make_f32_max_pool2d(const StepBinding& b) {
  if (!f32_io(b)) return unsupported("not float32");
  if (b.outputs.size() > 1 && b.outputs[1] != nullptr && b.node->outputs.size() > 1 && b.node->outputs[1] != kNoValue) {
    return unsupported("the Indices output is used");
  }
  const Tensor& x = *b.inputs[0];
  if (x.rank() < 3 || x.rank() > 5) return unsupported("rank ", x.rank());
  std::vector<Tensor> outs(b.node->outputs.size());
  OpContext ctx(*b.node, b.opset, b.inputs, &outs);
  const Dims kernel = ctx.attr_ints("kernel_shape");
  Window w;
  SPARSIFY_RETURN_IF_ERROR(forward_window(ctx, Dims(x.dims().begin() + 2, x.dims().end()), kernel,
                                          ctx.attr_int("ceil_mode", 0) != 0, &w));
  if (ctx.attr_int("storage_order", 0) != 0) return unsupported("storage_order 1");
  const std::int64_t planes = x.dim(0) * x.dim(1);
  std::int64_t window = 1;
  for (int d = 0; d < 3; ++d) window *= w.kernel[d];
  // Split planes across threads when there are enough of them and enough work (compares) per run.
  const bool parallel = b.threads > 1 && planes >= 2 * b.threads &&
                        b.outputs[0]->numel() * window >= kMinParallelCompares;
  return std::unique_ptr<StepKernel>(new MaxPoolKernel(w, planes, x.data<float>(), b.outputs[0]->data<float>(), parallel));
}

StatusOr<std::unique_ptr<StepKernel>> make_f32_global_avg_pool(const StepBinding& b) {
  if (!f32_io(b)) return unsupported("not float32");
  const Tensor& x = *b.inputs[0];
  if (x.rank() < 3) return unsupported("rank ", x.rank());
  const std::int64_t planes = x.dim(0) * x.dim(1);
  if (planes == 0 || x.numel() == 0) return unsupported("empty input");
  return std::unique_ptr<StepKernel>(new GlobalAvgPoolKernel(x.data<float>(), b.outputs[0]->data<float>(), planes, x.numel() / planes));
}


}  // namespace sparsify::engine
