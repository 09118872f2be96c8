// Sparse fp32 step implementations: Conv on SparseConv2dF32 and Gemm/MatMul with a constant right
// operand on SpmmF32ConstRight. Each factory measures the weights (exact zeros), estimates dense
// and sparse cost, times both on the real shapes when the estimates are close, and either binds
// the sparse kernel (recording why, with numbers) or returns unsupported with the reason, so the
// dense row after it in plan_impls.def takes the step and the dump shows the rejection.
// Also the helpers of plan_sparse.h.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>

#include "engine/kernels/gemm/family.h"
#include "engine/kernels/spmm/family.h"
#include "engine/ops/window.h"
#include "engine/runtime/plan_sparse.h"
#include "engine/runtime/thread_pool.h"

namespace sparsify::engine {

// ---- sparse_mode.h -------------------------------------------------------------------------------

const char* sparse_mode_name(SparseMode mode) {
  switch (mode) {
    case SparseMode::kAuto: return "auto";
    case SparseMode::kOff: return "off";
    case SparseMode::kOn: return "on";
  }
  return "?";
}

StatusOr<SparseMode> parse_sparse_mode(std::string_view text, std::string_view what) {
  std::string t(text);
  for (char& ch : t) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (t == "auto") return SparseMode::kAuto;
  if (t == "off") return SparseMode::kOff;
  if (t == "on") return SparseMode::kOn;
  return invalid_argument(what, ": '", text, "' is not a sparse mode; valid: auto, off, on");
}

// ---- plan_sparse.h -------------------------------------------------------------------------------

namespace {

// Per-thread rates (GMAC/s for dense and sparse multiply-adds, GB/s for the sparse path's packing)
// from engine_spmm_bench / engine_qspmm_bench medians on the ResNet-50 and BERT shapes (AMD EPYC,
// AVX-512 VNNI, 1 thread, loaded machine); AVX2 and scalar scaled by hand. Only their ratio
// matters much: estimates within kTimeWithin of each other are timed.
struct Rates {
  double dense_gmacs, sparse_gmacs, pack_gbs;
};
Rates f32_rates(Isa isa) {
  switch (isa) {
    case Isa::kAvx512Vnni:
    case Isa::kAvx512: return {45.0, 15.0, 30.0};
    case Isa::kAvx2: return {22.0, 8.0, 20.0};
    case Isa::kScalar: break;
  }
  return {2.0, 1.0, 4.0};
}
Rates q_rates(Isa isa) {
  switch (isa) {
    case Isa::kAvx512Vnni: return {180.0, 60.0, 12.0};
    case Isa::kAvx512:
    case Isa::kAvx2: return {50.0, 16.0, 8.0};
    case Isa::kScalar: break;
  }
  return {2.0, 1.0, 2.0};
}
double scale_threads(int threads) { return threads <= 1 ? 1.0 : 0.9 * threads; }

std::string ms_str(double ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", ms);
  return buf;
}

}  // namespace

double est_f32_dense_ms(double macs, Isa isa, int threads) {
  return macs / (f32_rates(isa).dense_gmacs * 1e6 * scale_threads(threads));
}
double est_f32_sparse_ms(double nnz_macs, double packed_bytes, Isa isa, int threads) {
  const Rates r = f32_rates(isa);
  return (nnz_macs / (r.sparse_gmacs * 1e6) + packed_bytes / (r.pack_gbs * 1e6)) / scale_threads(threads);
}
double est_q_dense_ms(double macs, Isa isa, int threads) {
  return macs / (q_rates(isa).dense_gmacs * 1e6 * scale_threads(threads));
}
double est_q_sparse_ms(double block_macs, double packed_bytes, Isa isa, int threads) {
  const Rates r = q_rates(isa);
  return (block_macs / (r.sparse_gmacs * 1e6) + packed_bytes / (r.pack_gbs * 1e6)) / scale_threads(threads);
}

double time_min_ms(const std::function<void()>& run) {
  using Clock = std::chrono::steady_clock;
  run();  // warm-up: caches, page faults of scratch
  double best = std::numeric_limits<double>::infinity();
  for (int i = 0; i < 3; ++i) {
    const auto t0 = Clock::now();
    run();
    best = std::min(best, std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  return best;
}

SparseVerdict decide_sparse(SparseMode mode, const std::string& sparse_name, const std::string& dense_name,
                            const std::string& stats, double zeros, double est_sparse, double est_dense,
                            const std::function<double()>& time_sparse, const std::function<double()>& time_dense) {
  SparseVerdict v;
  const std::string est = str_cat("est ", ms_str(est_sparse), " ms vs dense ", dense_name, " ", ms_str(est_dense), " ms");
  if (mode == SparseMode::kOff) {
    v.text = str_cat("sparse ", sparse_name, " off (Options::sparse / SPARSIFY_SPARSE): ", stats);
    return v;
  }
  if (mode == SparseMode::kOn) {
    v.sparse = true;
    v.text = str_cat(sparse_name, " forced on (Options::sparse / SPARSIFY_SPARSE): ", stats, ", ", est);
    return v;
  }
  if (zeros < kMinZeros) {
    v.text = str_cat("sparse ", sparse_name, " rejected: ", stats, " (< ", int(kMinZeros * 100), " % zeros), ", est);
    return v;
  }
  const double ratio = est_sparse / std::max(est_dense, 1e-9);
  if (ratio > kTimeWithin) {
    v.text = str_cat("sparse ", sparse_name, " rejected: ", stats, ", ", est);
    return v;
  }
  if (ratio < 1.0 / kTimeWithin) {
    v.sparse = true;
    v.text = str_cat(sparse_name, " chosen: ", stats, ", ", est);
    return v;
  }
  const double ts = time_sparse(), td = time_dense();
  v.timed = true;
  v.sparse = ts < td;
  v.text = str_cat(v.sparse ? "" : "sparse ", sparse_name, v.sparse ? " chosen: " : " rejected: ", stats, ", ", est,
                   " (close: timed ", ms_str(ts), " vs ", ms_str(td), " ms)");
  return v;
}

std::string with_rest(const std::string& name, const Epilogue& rest, Isa isa) {
  return rest.empty() ? name : str_cat(name, " + ", epilogue_name(rest, isa));
}

ActivationParams split_epilogue(const Epilogue& ep, Epilogue* rest) {
  *rest = Epilogue{};
  switch (ep.act) {
    case FusedAct::kNone: return ActivationParams::none();
    case FusedAct::kRelu: return ActivationParams::relu();
    case FusedAct::kClip:
      if (ep.alpha == 0.0f && ep.beta == 6.0f) return ActivationParams::relu6();
      return ActivationParams::clip(ep.alpha, ep.beta);
    default:
      rest->act = ep.act;
      rest->alpha = ep.alpha;
      rest->beta = ep.beta;
      return ActivationParams::none();
  }
}

Status conv2d_shape_of(const StepBinding& b, std::size_t w_index, Conv2dShape* s) {
  const Tensor* x = b.inputs[0];
  const Tensor* w = b.inputs[w_index];
  if (x->rank() != 4 || w->rank() != 4) return unsupported("input rank ", x->rank(), ", only 2-D convolution (rank 4) is implemented");
  std::vector<Tensor> outs(b.node->outputs.size());
  OpContext ctx(*b.node, b.opset, b.inputs, &outs);
  Window g;
  const Dims kernel = ctx.attr_ints("kernel_shape", Dims(w->dims().begin() + 2, w->dims().end()));
  SPARSIFY_RETURN_IF_ERROR(forward_window(ctx, Dims(x->dims().begin() + 2, x->dims().end()), kernel, false, &g));
  s->batch = static_cast<std::size_t>(x->dim(0));
  s->in_channels = static_cast<std::size_t>(x->dim(1));
  s->in_h = static_cast<std::size_t>(x->dim(2));
  s->in_w = static_cast<std::size_t>(x->dim(3));
  s->out_channels = static_cast<std::size_t>(w->dim(0));
  s->kernel_h = static_cast<std::size_t>(g.kernel[1]);
  s->kernel_w = static_cast<std::size_t>(g.kernel[2]);
  s->stride_h = static_cast<std::size_t>(g.stride[1]);
  s->stride_w = static_cast<std::size_t>(g.stride[2]);
  s->dilation_h = static_cast<std::size_t>(g.dilation[1]);
  s->dilation_w = static_cast<std::size_t>(g.dilation[2]);
  s->pad_top = static_cast<std::size_t>(g.pad_begin[1]);
  s->pad_left = static_cast<std::size_t>(g.pad_begin[2]);
  s->pad_bottom = static_cast<std::size_t>(g.pad_end[1]);
  s->pad_right = static_cast<std::size_t>(g.pad_end[2]);
  s->groups = static_cast<std::size_t>(ctx.attr_int("group", 1));
  if (static_cast<std::int64_t>(s->out_h()) != b.outputs[0]->dim(2) || static_cast<std::int64_t>(s->out_w()) != b.outputs[0]->dim(3)) {
    return unsupported("output extent ", dims_to_string(b.outputs[0]->dims()), " differs from the kernel's geometry ", s->describe());
  }
  return check_conv2d_shape(*s);
}

// ---- the fp32 sparse steps -----------------------------------------------------------------------

namespace {

std::string zeros_str(const SparsityStats& st) {
  char buf[96];
  std::snprintf(buf, sizeof buf, "%.1f %% zeros (%zu of %zu non-zero)", 100.0 * st.zeros(), st.nnz, st.elements);
  return buf;
}

bool is_f32(const Tensor* t) { return t != nullptr && t->dtype() == DType::kFloat32; }

class SparseConvStep final : public StepKernel {
 public:
  SparseConv2dF32 conv;
  Epilogue rest;
  Isa isa = Isa::kScalar;
  int threads = 1;
  const float* x = nullptr;
  const float* residual = nullptr;  // fused skip connection (added in the kernel before the clamp)
  float* y = nullptr;
  std::int64_t n = 0;
  std::string name_, decision_;

  std::size_t scratch_bytes() const override { return conv.scratch_bytes(threads); }
  std::string name() const override { return name_; }
  std::string decision() const override { return decision_; }
  Status run(std::byte* scratch, ThreadPool* pool) override {
    conv.run(x, y, scratch, *pool, residual);
    run_epilogue(rest, y, n, isa, pool);
    return Status();
  }
};

class SparseGemmStep final : public StepKernel {
 public:
  SpmmF32ConstRight gemm;
  Epilogue rest;
  Isa isa = Isa::kScalar;
  std::size_t m = 0, k = 0, n = 0;
  int threads = 1;
  const float* x = nullptr;
  float* y = nullptr;
  std::string name_, decision_;

  std::size_t scratch_bytes() const override { return gemm.scratch_bytes(threads); }
  std::string name() const override { return name_; }
  std::string decision() const override { return decision_; }
  Status run(std::byte* scratch, ThreadPool* pool) override {
    gemm.run(m, x, k, y, n, scratch, *pool);
    run_epilogue(rest, y, static_cast<std::int64_t>(m * n), isa, pool);
    return Status();
  }
};

}  // namespace

Status gemm_operands(const StepBinding& b, GemmOperands* out) {
  for (const char* folded : {"sparsify.perm_a", "sparsify.perm_b", "sparsify.perm_y", "sparsify.alpha"}) {
    if (b.node->find_attribute(folded) != nullptr) return unsupported("folded Transpose (", folded, ")");
  }
  const Tensor* x = b.inputs[0];
  const Tensor* w = b.inputs[1];
  const Tensor* bias = nullptr;
  bool w_t = false;
  const bool gemm = b.node->op_type == "Gemm";
  const std::size_t k = static_cast<std::size_t>(gemm ? x->dim(1) : x->dim(x->rank() - 1));
  if (gemm) {
    auto attr_i = [&](const char* n, std::int64_t d) { const Attribute* a = b.node->find_attribute(n); return a ? a->i : d; };
    auto attr_f = [&](const char* n, float d) { const Attribute* a = b.node->find_attribute(n); return a ? a->f : d; };
    if (attr_i("transA", 0) != 0) return unsupported("transA=1");
    if (attr_f("alpha", 1.0f) != 1.0f) return unsupported("alpha != 1");
    w_t = attr_i("transB", 0) != 0;
    if (b.inputs.size() > 2 && b.inputs[2] != nullptr) {
      bias = b.inputs[2];
      const std::size_t n = static_cast<std::size_t>(w_t ? w->dim(0) : w->dim(1));
      if (!b.input_is_constant[2] || !is_f32(bias)) return unsupported("C is not a float32 constant");
      if (static_cast<std::size_t>(bias->numel()) != n || (bias->rank() == 2 && bias->dim(0) != 1)) {
        return unsupported("C ", dims_to_string(bias->dims()), " is not a per-column bias [", n, "]");
      }
      if (attr_f("beta", 1.0f) != 1.0f) return unsupported("beta != 1");
    }
  } else {
    if (x->rank() < 2) return unsupported("left operand rank ", x->rank());
    if (b.epilogue.matmul_bias) bias = b.inputs[2];
  }
  const std::size_t n = static_cast<std::size_t>(w_t ? w->dim(0) : w->dim(1));
  if (static_cast<std::size_t>(w_t ? w->dim(1) : w->dim(0)) != k) return unsupported("inner dims differ");
  const std::size_t m = k == 0 ? 0 : static_cast<std::size_t>(x->numel()) / k;
  if (m == 0 || n == 0 || k == 0) return unsupported("empty product");
  out->bias = bias;
  out->w_transposed = w_t;
  out->m = m;
  out->k = k;
  out->n = n;
  return Status();
}

StatusOr<std::unique_ptr<StepKernel>> make_f32_sparse_conv2d(const StepBinding& b) {
  if (b.sparse == SparseMode::kOff) return unsupported("sparse off (Options::sparse / SPARSIFY_SPARSE)");
  const Tensor* x = b.inputs[0];
  const Tensor* w = b.inputs[1];
  const Tensor* bias = b.inputs.size() > 2 ? b.inputs[2] : nullptr;
  if (!is_f32(x) || !is_f32(w) || !is_f32(b.outputs[0])) return unsupported("not float32");
  if (!b.input_is_constant[1]) return unsupported("weight is not constant (sparsity is measured at compile time)");
  if (bias != nullptr && !b.input_is_constant[2]) return unsupported("bias is not constant");
  if (b.in_place) return unsupported("in place");
  Conv2dShape s;
  SPARSIFY_RETURN_IF_ERROR(conv2d_shape_of(b, 1, &s));
  if (s.groups != 1) return unsupported("groups = ", s.groups, ": grouped and depthwise convs stay dense");
  const std::size_t m = s.out_channels, k = s.in_channels * s.kernel_h * s.kernel_w, n = s.out_h() * s.out_w();
  const SparsityStats st = f32_sparsity(m, k, w->data<float>());
  auto step = std::make_unique<SparseConvStep>();
  const ActivationParams act = split_epilogue(b.epilogue, &step->rest);
  step->isa = b.isa;
  const float* bias_data = bias != nullptr ? bias->data<float>() : nullptr;
  SPARSIFY_RETURN_IF_ERROR(step->conv.prepare(s, w->data<float>(), bias_data, act, b.isa));
  step->threads = b.threads;
  step->x = x->data<float>();
  step->y = b.outputs[0]->data<float>();
  step->n = static_cast<std::int64_t>(s.batch * m * n);
  if (b.epilogue.residual) {
    const Tensor* r = b.inputs.size() > kConvResidualInput ? b.inputs[kConvResidualInput] : nullptr;
    if (!is_f32(r) || r->dims() != b.outputs[0]->dims()) return unsupported("residual input is not float32 of the output's shape");
    step->residual = r->data<float>();
  }

  Conv2dF32 dense;
  SPARSIFY_RETURN_IF_ERROR(dense.prepare(s, w->data<float>(), bias_data, act, b.isa));
  const double batch = double(s.batch);
  const double est_dense = est_f32_dense_ms(batch * double(m) * double(k) * double(n), b.isa, b.threads);
  const double packed = step->conv.direct() ? 0.0 : batch * double(k) * double(n) * sizeof(float);
  const double est_sparse = est_f32_sparse_ms(batch * double(st.nnz) * double(n), packed, b.isa, b.threads);
  auto timer = [&](auto& kernel) {
    return [&]() {
      std::vector<float> xs(static_cast<std::size_t>(x->numel()), 0.5f), ys(static_cast<std::size_t>(step->n));
      ScratchBuffer scratch(kernel.scratch_bytes(b.threads));
      return time_min_ms([&] { kernel.run(xs.data(), ys.data(), scratch.get(), *b.pool); });
    };
  };
  const SparseVerdict v = decide_sparse(b.sparse, step->conv.name(), dense.name(), zeros_str(st), st.zeros(),
                                        est_sparse, est_dense, timer(step->conv), timer(dense));
  if (!v.sparse) return unsupported(v.text);
  step->name_ = with_rest(step->conv.name(), step->rest, b.isa);
  if (step->residual != nullptr) step->name_ += " + residual (in the kernel)";
  step->decision_ = v.text;
  return std::unique_ptr<StepKernel>(std::move(step));
}

StatusOr<std::unique_ptr<StepKernel>> make_f32_spmm_const_right(const StepBinding& b) {
  if (b.sparse == SparseMode::kOff) return unsupported("sparse off (Options::sparse / SPARSIFY_SPARSE)");
  const Tensor* x = b.inputs[0];
  const Tensor* w = b.inputs[1];
  if (!is_f32(x) || !is_f32(w) || !is_f32(b.outputs[0])) return unsupported("not float32");
  if (!b.input_is_constant[1]) return unsupported("right operand is not constant (sparsity is measured at compile time)");
  if (w->rank() != 2) return unsupported("right operand rank ", w->rank(), ", expected 2");
  if (b.in_place) return unsupported("in place");
  GemmOperands g;
  SPARSIFY_RETURN_IF_ERROR(gemm_operands(b, &g));
  const Tensor* bias = g.bias;
  const bool w_t = g.w_transposed;
  const std::size_t m = g.m, k = g.k, n = g.n;
  const SparsityStats st = f32_sparsity(w_t ? n : k, w_t ? k : n, w->data<float>());
  auto step = std::make_unique<SparseGemmStep>();
  const ActivationParams act = split_epilogue(b.epilogue, &step->rest);
  step->isa = b.isa;
  const float* bias_data = bias != nullptr ? bias->data<float>() : nullptr;
  SPARSIFY_RETURN_IF_ERROR(step->gemm.prepare(k, n, w->data<float>(), w_t, bias_data, act, b.isa, m));
  step->m = m;
  step->k = k;
  step->n = n;
  step->threads = b.threads;
  step->x = x->data<float>();
  step->y = b.outputs[0]->data<float>();

  GemmF32ConstRight dense;
  SPARSIFY_RETURN_IF_ERROR(dense.prepare(k, n, w->data<float>(), w_t, bias_data, act, b.isa, m));
  const double est_dense = est_f32_dense_ms(double(m) * double(k) * double(n), b.isa, b.threads);
  const double packed = (double(m) * double(k) + double(m) * double(n)) * sizeof(float);  // the two transposes
  const double est_sparse = est_f32_sparse_ms(double(st.nnz) * double(m), packed, b.isa, b.threads);
  auto timer = [&](auto& kernel) {
    return [&]() {
      std::vector<float> xs(m * k, 0.5f), ys(m * n);
      ScratchBuffer scratch(kernel.scratch_bytes(b.threads));
      return time_min_ms([&] { kernel.run(m, xs.data(), k, ys.data(), n, scratch.get(), *b.pool); });
    };
  };
  const SparseVerdict v = decide_sparse(b.sparse, step->gemm.name(), dense.name(), zeros_str(st), st.zeros(),
                                        est_sparse, est_dense, timer(step->gemm), timer(dense));
  if (!v.sparse) return unsupported(v.text);
  step->name_ = with_rest(str_cat(step->gemm.name(), " (W^T rows x X^T tiles)"), step->rest, b.isa);
  step->decision_ = v.text;
  return std::unique_ptr<StepKernel>(std::move(step));
}

}  // namespace sparsify::engine
