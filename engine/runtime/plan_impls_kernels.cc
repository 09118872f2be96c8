// Step implementations backed by the kernel families (engine/kernels/): Conv on Conv2dF32, and
// MatMul/Gemm with a constant right operand on GemmF32ConstRight. Weights are packed here, once;
// activations the kernels cannot fuse (sigmoid, tanh, ...) run right after, in the same step.
#include <algorithm>

#include "engine/kernels/conv/family.h"
#include "engine/kernels/gemm/family.h"
#include "engine/ops/window.h"
#include "engine/runtime/plan_impl.h"
#include "engine/runtime/plan_sparse.h"
#include "engine/runtime/thread_pool.h"

namespace sparsify::engine {
namespace {

// y = clamp(y + r, lo, hi) over [0, n), in pool-sized chunks when large.
void add_residual_clamp(float* y, const float* r, std::int64_t n, float lo, float hi, ThreadPool& pool) {
  constexpr std::int64_t kChunk = 16 * 1024;
  const std::int64_t chunks = n >= 4 * kChunk && pool.threads() > 1 ? (n + kChunk - 1) / kChunk : 1;
  pool.parallel_for(chunks, [&](std::int64_t c, int) {
    const std::int64_t i0 = n * c / chunks, i1 = n * (c + 1) / chunks;
    for (std::int64_t i = i0; i < i1; ++i) y[i] = std::min(std::max(y[i] + r[i], lo), hi);
  });
}

class ConvStep final : public StepKernel {
 public:
  // `residual` (null: none) is added before the activation, after the conv (the dense GEMM
  // kernels have no residual input).
  Status prepare(const Conv2dShape& s, const float* w, const float* b, const Epilogue& ep, Isa isa, int threads,
                 const float* x, float* y, const float* residual) {
    const ActivationParams act = split_epilogue(ep, &rest_);
    residual_ = residual;
    post_ = act;
    SPARSIFY_RETURN_IF_ERROR(conv_.prepare(s, w, b, residual != nullptr ? ActivationParams::none() : act, isa));
    threads_ = threads;
    isa_ = isa;
    x_ = x;
    y_ = y;
    n_ = static_cast<std::int64_t>(s.batch * s.out_channels * s.out_h() * s.out_w());
    name_ = with_rest(conv_.name(), rest_, isa);
    if (residual != nullptr) name_ = str_cat(name_, " + residual add", act.is_identity() ? "" : "+clamp", " (separate pass)");
    return Status();
  }
  std::size_t scratch_bytes() const override { return conv_.scratch_bytes(threads_); }
  std::string name() const override { return name_; }
  Status run(std::byte* scratch, ThreadPool* pool) override {
    conv_.run(x_, y_, scratch, *pool);
    if (residual_ != nullptr) add_residual_clamp(y_, residual_, n_, post_.lo(), post_.hi(), *pool);
    run_epilogue(rest_, y_, n_, isa_, pool);
    return Status();
  }

 private:
  Conv2dF32 conv_;
  Epilogue rest_;
  ActivationParams post_;
  Isa isa_ = Isa::kScalar;
  int threads_ = 1;
  const float* x_ = nullptr;
  const float* residual_ = nullptr;
  float* y_ = nullptr;
  std::int64_t n_ = 0;
  std::string name_;
};

class GemmStep final : public StepKernel {
 public:
  Status prepare(std::size_t m, std::size_t k, std::size_t n, const float* w, bool w_t, const float* bias,
                 const Epilogue& ep, Isa isa, int threads, const float* x, float* y) {
    const ActivationParams act = split_epilogue(ep, &rest_);
    SPARSIFY_RETURN_IF_ERROR(gemm_.prepare(k, n, w, w_t, bias, act, isa, m));
    isa_ = isa;
    m_ = m;
    k_ = k;
    n_ = n;
    threads_ = threads;
    x_ = x;
    y_ = y;
    name_ = with_rest(gemm_.name(), rest_, isa);
    return Status();
  }
  std::size_t scratch_bytes() const override { return gemm_.scratch_bytes(threads_); }
  std::string name() const override { return name_; }
  Status run(std::byte* scratch, ThreadPool* pool) override {
    gemm_.run(m_, x_, k_, y_, n_, scratch, *pool);
    run_epilogue(rest_, y_, static_cast<std::int64_t>(m_ * n_), isa_, pool);
    return Status();
  }

 private:
  GemmF32ConstRight gemm_;
  Epilogue rest_;
  Isa isa_ = Isa::kScalar;
  std::size_t m_ = 0, k_ = 0, n_ = 0;
  int threads_ = 1;
  const float* x_ = nullptr;
  float* y_ = nullptr;
  std::string name_;
};

bool is_f32(const Tensor* t) { return t != nullptr && t->dtype() == DType::kFloat32; }

}  // namespace

StatusOr<std::unique_ptr<StepKernel>> make_f32_conv2d(const StepBinding& b) {
  const Tensor* x = b.inputs[0];
  const Tensor* w = b.inputs[1];
  const Tensor* bias = b.inputs.size() > 2 ? b.inputs[2] : nullptr;
  if (!is_f32(x) || !is_f32(w) || !is_f32(b.outputs[0])) return unsupported("not float32");
  if (x->rank() != 4) return unsupported("input rank ", x->rank(), ", only 2-D convolution (rank 4) is implemented");
  if (!b.input_is_constant[1]) return unsupported("weight is not constant (it is packed at compile time)");
  if (bias != nullptr && !b.input_is_constant[2]) return unsupported("bias is not constant");
  if (b.in_place) return unsupported("in place");
  std::vector<Tensor> outs(b.node->outputs.size());
  OpContext ctx(*b.node, b.opset, b.inputs, &outs);
  Window g;
  const Dims kernel = ctx.attr_ints("kernel_shape", Dims(w->dims().begin() + 2, w->dims().end()));
  SPARSIFY_RETURN_IF_ERROR(forward_window(ctx, Dims(x->dims().begin() + 2, x->dims().end()), kernel, false, &g));
  Conv2dShape s;
  s.batch = static_cast<std::size_t>(x->dim(0));
  s.in_channels = static_cast<std::size_t>(x->dim(1));
  s.in_h = static_cast<std::size_t>(x->dim(2));
  s.in_w = static_cast<std::size_t>(x->dim(3));
  s.out_channels = static_cast<std::size_t>(w->dim(0));
  s.kernel_h = static_cast<std::size_t>(g.kernel[1]);
  s.kernel_w = static_cast<std::size_t>(g.kernel[2]);
  s.stride_h = static_cast<std::size_t>(g.stride[1]);
  s.stride_w = static_cast<std::size_t>(g.stride[2]);
  s.dilation_h = static_cast<std::size_t>(g.dilation[1]);
  s.dilation_w = static_cast<std::size_t>(g.dilation[2]);
  s.pad_top = static_cast<std::size_t>(g.pad_begin[1]);
  s.pad_left = static_cast<std::size_t>(g.pad_begin[2]);
  s.pad_bottom = static_cast<std::size_t>(g.pad_end[1]);
  s.pad_right = static_cast<std::size_t>(g.pad_end[2]);
  s.groups = static_cast<std::size_t>(ctx.attr_int("group", 1));
  if (static_cast<std::int64_t>(s.out_h()) != b.outputs[0]->dim(2) || static_cast<std::int64_t>(s.out_w()) != b.outputs[0]->dim(3)) {
    return unsupported("output extent ", dims_to_string(b.outputs[0]->dims()), " differs from the kernel's geometry ", s.describe());
  }
  const float* residual = nullptr;
  if (b.epilogue.residual) {
    const Tensor* r = b.inputs.size() > kConvResidualInput ? b.inputs[kConvResidualInput] : nullptr;
    if (!is_f32(r) || r->dims() != b.outputs[0]->dims()) return unsupported("residual input is not float32 of the output's shape");
    residual = r->data<float>();
  }
  auto step = std::make_unique<ConvStep>();
  SPARSIFY_RETURN_IF_ERROR(step->prepare(s, w->data<float>(), bias != nullptr ? bias->data<float>() : nullptr, b.epilogue,
                                         b.isa, b.threads, x->data<float>(), b.outputs[0]->data<float>(), residual));
  return std::unique_ptr<StepKernel>(std::move(step));
}

StatusOr<std::unique_ptr<StepKernel>> make_f32_gemm_const_right(const StepBinding& b) {
  const Tensor* x = b.inputs[0];
  const Tensor* w = b.inputs[1];
  if (!is_f32(x) || !is_f32(w) || !is_f32(b.outputs[0])) return unsupported("not float32");
  if (!b.input_is_constant[1]) return unsupported("right operand is not constant (it is packed at compile time)");
  if (w->rank() != 2) return unsupported("right operand rank ", w->rank(), ", expected 2");
  if (b.in_place) return unsupported("in place");
  GemmOperands g;
  SPARSIFY_RETURN_IF_ERROR(gemm_operands(b, &g));
  const Tensor* bias = g.bias;
  const bool w_t = g.w_transposed;
  const std::size_t m = g.m, k = g.k, n = g.n;
  auto step = std::make_unique<GemmStep>();
  SPARSIFY_RETURN_IF_ERROR(step->prepare(m, k, n, w->data<float>(), w_t, bias != nullptr ? bias->data<float>() : nullptr,
                                         b.epilogue, b.isa, b.threads, x->data<float>(), b.outputs[0]->data<float>()));
  return std::unique_ptr<StepKernel>(std::move(step));
}

}  // namespace sparsify::engine
