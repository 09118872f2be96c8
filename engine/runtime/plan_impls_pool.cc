// Runtime fp32 implementations of pooling steps; window geometry comes from the same helper the
// reference ops use (ops/window.h), computed once at build. (Softmax: plan_impls_transformer.cc.)
#include <algorithm>
#include <cmath>
#include <limits>

#include "engine/ops/window.h"
#include "engine/runtime/plan_impl.h"
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
