// Int8 step implementations with constant weights: depthwise QLinearConv / ConvInteger on
// QDwConv2dU8S8, QLinearConv with few input channels (stems) on QDirectConv2dU8S8, other
// QLinearConv / ConvInteger on QConv2dU8S8 or QSparseConv2dU8S8, QLinearMatMul / MatMulInteger on QGemmU8S8ConstRight or QSpmmU8S8ConstRight.
// One row per op: the factory measures the weights (w == w_zp counts as zero; block-4 occupancy
// in the better K order), estimates both paths, times them when close, binds the faster and
// records the decision with its numbers (plan dump "decision:" lines).
#include <cstdio>

#include "engine/kernels/conv/family.h"
#include "engine/kernels/qdirect/family.h"
#include "engine/kernels/qdwconv/family.h"
#include "engine/kernels/qgemm/family.h"
#include "engine/kernels/qspmm/family.h"
#include "engine/runtime/plan_sparse.h"
#include "engine/runtime/thread_pool.h"

namespace sparsify::engine {
namespace {

bool is_u8(const Tensor* t) { return t != nullptr && t->dtype() == DType::kUInt8; }
bool is_w8(const Tensor* t) { return t != nullptr && (t->dtype() == DType::kInt8 || t->dtype() == DType::kUInt8); }

// Which inputs hold what: QLinear* (x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp[, B]) or
// *Integer (x, w[, x_zp, w_zp]).
struct QLayout {
  bool qlinear;
  std::size_t w, x_zp, w_zp;
};
QLayout layout_of(const Node& n) {
  const bool ql = n.op_type == "QLinearConv" || n.op_type == "QLinearMatMul" || n.op_type == "QLinearMatMulDequantize";
  return ql ? QLayout{true, 3, 2, 5} : QLayout{false, 1, 2, 3};
}

const Tensor* opt_input(const StepBinding& b, std::size_t i) { return i < b.inputs.size() ? b.inputs[i] : nullptr; }

bool is_dequantize(const StepBinding& b) { return b.node->op_type == "QLinearMatMulDequantize"; }

// Reads and validates the quantization inputs into p (channels = output channels). For
// QLinearMatMulDequantize p describes the u8 product; its float bias and activation epilogue
// are the step's (read_dequantize).
Status read_params(const StepBinding& b, const QLayout& l, std::size_t channels, QGemmParams* p,
                   std::vector<std::int32_t>* bias) {
  const bool dequant = is_dequantize(b);
  if (!is_u8(b.inputs[0])) return unsupported("activations are not uint8");
  const Tensor* w = b.inputs[l.w];
  if (!is_w8(w)) return unsupported("weights are not int8/uint8");
  if (!b.input_is_constant[l.w]) return unsupported("weights are not constant (packed at compile time)");
  for (std::size_t i = 1; i < b.inputs.size(); ++i) {
    if (i != l.w && b.inputs[i] != nullptr && !b.input_is_constant[i]) return unsupported("input ", i, " is not constant");
  }
  if (!b.epilogue.empty() && !(dequant && !b.epilogue.matmul_bias && !b.epilogue.residual)) {
    return unsupported("fused epilogue ", b.epilogue.describe());
  }
  if (b.in_place) return unsupported("in place");
  p->weights_u8 = w->dtype() == DType::kUInt8;
  const Tensor* xz = opt_input(b, l.x_zp);
  const Tensor* wz = opt_input(b, l.w_zp);
  if (xz != nullptr && (xz->numel() != 1 || xz->dtype() != DType::kUInt8)) return unsupported("x zero point is not a uint8 scalar");
  p->a_zero_point = xz != nullptr ? static_cast<std::int32_t>(xz->element_as_double(0)) : 0;
  if (wz != nullptr && wz->numel() != 1 && static_cast<std::size_t>(wz->numel()) != channels) {
    return unsupported("weight zero point has ", wz->numel(), " elements, expected 1 or ", channels);
  }
  p->w_zero_points.assign(wz == nullptr ? 1 : static_cast<std::size_t>(wz->numel()), 0);
  for (std::size_t i = 0; wz != nullptr && i < p->w_zero_points.size(); ++i) {
    p->w_zero_points[i] = static_cast<std::int32_t>(wz->element_as_double(static_cast<std::int64_t>(i)));
  }
  if (!l.qlinear) {
    if (b.outputs[0]->dtype() != DType::kInt32) return unsupported("output is not int32");
    p->output_u8 = false;
    return Status();
  }
  const Tensor* xs = b.inputs[1];
  const Tensor* ws = b.inputs[4];
  const Tensor* ys = b.inputs[6];
  const Tensor* yz = b.inputs[7];
  if ((dequant ? b.outputs[0]->dtype() != DType::kFloat32 : !is_u8(b.outputs[0])) || yz == nullptr || yz->dtype() != DType::kUInt8) return unsupported("output is not uint8");
  if (xs->numel() != 1 || ys->numel() != 1 || yz->numel() != 1) return unsupported("per-axis x or y quantization");
  if (ws->numel() != 1 && static_cast<std::size_t>(ws->numel()) != channels) {
    return unsupported("weight scale has ", ws->numel(), " elements, expected 1 or ", channels);
  }
  p->output_u8 = true;
  p->a_scale = static_cast<float>(xs->element_as_double(0));
  p->y_scale = static_cast<float>(ys->element_as_double(0));
  p->y_zero_point = static_cast<std::int32_t>(yz->element_as_double(0));
  p->y_min = 0;
  p->y_max = 255;
  p->w_scales.resize(static_cast<std::size_t>(ws->numel()));
  for (std::size_t i = 0; i < p->w_scales.size(); ++i) p->w_scales[i] = static_cast<float>(ws->element_as_double(static_cast<std::int64_t>(i)));
  const Tensor* bt = dequant ? nullptr : opt_input(b, 8);
  if (bt != nullptr) {
    if (bt->dtype() != DType::kInt32 || static_cast<std::size_t>(bt->numel()) != channels) return unsupported("B is not int32 [", channels, "]");
    bias->assign(bt->data<std::int32_t>(), bt->data<std::int32_t>() + channels);
    p->bias = bias->data();
  }
  return Status();
}

std::string q_stats_str(const SparsityStats& st, const char* order) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "%.1f %% zeros, block-4 groups %.1f %% empty%s", 100.0 * st.zeros(),
                100.0 * st.block4_zeros(), order);
  return buf;
}

class QConvStep final : public StepKernel {
 public:
  QConv2dU8S8 dense;
  QSparseConv2dU8S8 sparse;
  bool use_sparse = false;
  int threads = 1;
  const std::uint8_t* x = nullptr;
  void* y = nullptr;
  std::string decision_;
  std::size_t scratch_bytes() const override { return use_sparse ? sparse.scratch_bytes(threads) : dense.scratch_bytes(threads); }
  std::string name() const override { return use_sparse ? sparse.name() : dense.name(); }
  std::string decision() const override { return decision_; }
  Status run(std::byte* scratch, ThreadPool* pool) override {
    if (use_sparse) sparse.run(x, y, scratch, *pool);
    else dense.run(x, y, scratch, *pool);
    return Status();
  }
};

class QDwConvStep final : public StepKernel {
 public:
  QDwConv2dU8S8 kernel;
  int threads = 1;
  const std::uint8_t* x = nullptr;
  void* y = nullptr;
  std::size_t scratch_bytes() const override { return kernel.scratch_bytes(threads); }
  std::string name() const override { return kernel.name(); }
  std::string decision() const override {
    const std::string base = "direct depthwise (weights dense, channels split across threads)";
    return kernel.note().empty() ? base : str_cat(base, "; ", kernel.note());
  }
  Status run(std::byte* scratch, ThreadPool* pool) override {
    kernel.run(x, y, scratch, *pool);
    return Status();
  }
};

class QDirectConvStep final : public StepKernel {
 public:
  QDirectConv2dU8S8 kernel;
  const std::uint8_t* x = nullptr;
  std::uint8_t* y = nullptr;
  std::string name() const override { return kernel.name(); }
  std::string decision() const override {
    return "direct: few input channels, each input row gathered once for every output channel (weights dense)";
  }
  Status run(std::byte*, ThreadPool* pool) override {
    kernel.run(x, y, *pool);
    return Status();
  }
};

class QMatMulStep final : public StepKernel {
 public:
  QGemmU8S8ConstRight dense;
  QSpmmU8S8ConstRight sparse;
  bool use_sparse = false;
  std::size_t m = 0, k = 0, n = 0;
  int threads = 1;
  const std::uint8_t* x = nullptr;
  void* y = nullptr;
  std::string decision_;
  // QLinearMatMulDequantize: float output (dequantized + bias per tile; dense: via a u8 buffer),
  // then the activation epilogue.
  bool dequant = false;
  QDequantizeOut dq;
  Epilogue rest;
  Isa isa = Isa::kScalar;
  std::size_t u8_bytes() const { return dequant && !use_sparse ? round_up(m * n, kKernelAlignment) : 0; }
  std::size_t scratch_bytes() const override {
    return (use_sparse ? sparse.scratch_bytes(threads) : dense.scratch_bytes(threads)) + u8_bytes();
  }
  std::string name() const override {
    std::string s = use_sparse ? str_cat(sparse.name(), " (W^T blocks x X^T tiles)") : dense.name();
    if (dequant) s += str_cat(" -> f32 dequantized", dq.bias != nullptr ? " + bias" : "");
    if (rest.act != FusedAct::kNone) s += str_cat(" + ", epilogue_name(rest, isa));
    return s;
  }
  std::string decision() const override { return decision_; }
  Status run(std::byte* scratch, ThreadPool* pool) override {
    if (use_sparse) {
      sparse.run(m, x, k, y, n, scratch, *pool, dequant ? &dq : nullptr);
    } else if (dequant) {
      auto* q = reinterpret_cast<std::uint8_t*>(scratch + dense.scratch_bytes(threads));
      dense.run(m, x, k, q, n, scratch, *pool);
      dequantize_u8_rows(m, n, q, n, dq, 0, static_cast<float*>(y), n);
    } else {
      dense.run(m, x, k, y, n, scratch, *pool);
    }
    if (dequant) run_epilogue(rest, static_cast<float*>(y), static_cast<std::int64_t>(m * n), isa, pool);
    return Status();
  }
};

}  // namespace

StatusOr<std::unique_ptr<StepKernel>> make_qu8_dwconv2d(const StepBinding& b) {
  const QLayout l = layout_of(*b.node);
  Conv2dShape s;
  SPARSIFY_RETURN_IF_ERROR(conv2d_shape_of(b, l.w, &s));
  if (s.groups != s.in_channels || s.groups != s.out_channels) {
    return unsupported("not depthwise (groups ", s.groups, ", C ", s.in_channels, ", M ", s.out_channels, ")");
  }
  auto step = std::make_unique<QDwConvStep>();
  QGemmParams p;
  std::vector<std::int32_t> bias;
  SPARSIFY_RETURN_IF_ERROR(read_params(b, l, s.out_channels, &p, &bias));
  SPARSIFY_RETURN_IF_ERROR(step->kernel.prepare(s, b.inputs[l.w]->raw_data(), p, b.isa));
  step->threads = b.threads;
  step->x = b.inputs[0]->data<std::uint8_t>();
  step->y = b.outputs[0]->raw_data();
  return std::unique_ptr<StepKernel>(std::move(step));
}

StatusOr<std::unique_ptr<StepKernel>> make_qu8_direct_conv2d(const StepBinding& b) {
  const QLayout l = layout_of(*b.node);
  Conv2dShape s;
  SPARSIFY_RETURN_IF_ERROR(conv2d_shape_of(b, l.w, &s));
  if (s.groups != 1) return unsupported("groups ", s.groups, " (grouped and depthwise convs have their own rows)");
  if (s.in_channels > 4) return unsupported(s.in_channels, " input channels (direct only up to 4; the GEMM path is faster)");
  auto step = std::make_unique<QDirectConvStep>();
  QGemmParams p;
  std::vector<std::int32_t> bias;
  SPARSIFY_RETURN_IF_ERROR(read_params(b, l, s.out_channels, &p, &bias));
  SPARSIFY_RETURN_IF_ERROR(step->kernel.prepare(s, b.inputs[l.w]->raw_data(), p, b.isa));
  step->x = b.inputs[0]->data<std::uint8_t>();
  step->y = b.outputs[0]->data<std::uint8_t>();
  return std::unique_ptr<StepKernel>(std::move(step));
}

StatusOr<std::unique_ptr<StepKernel>> make_qu8_conv2d(const StepBinding& b) {
  const QLayout l = layout_of(*b.node);
  Conv2dShape s;
  SPARSIFY_RETURN_IF_ERROR(conv2d_shape_of(b, l.w, &s));
  auto step = std::make_unique<QConvStep>();
  QGemmParams p;
  std::vector<std::int32_t> bias;
  SPARSIFY_RETURN_IF_ERROR(read_params(b, l, s.out_channels, &p, &bias));
  const void* w = b.inputs[l.w]->raw_data();
  SPARSIFY_RETURN_IF_ERROR(step->dense.prepare(s, w, p, b.isa));
  step->threads = b.threads;
  step->x = b.inputs[0]->data<std::uint8_t>();
  step->y = b.outputs[0]->raw_data();
  if (b.sparse == SparseMode::kOff) {
    step->decision_ = "dense: sparse off (Options::sparse / SPARSIFY_SPARSE)";
    return std::unique_ptr<StepKernel>(std::move(step));
  }
  if (s.groups != 1) {
    step->decision_ = str_cat("dense: groups = ", s.groups, " (grouped and depthwise convs stay dense)");
    return std::unique_ptr<StepKernel>(std::move(step));
  }
  const Status sp = step->sparse.prepare(s, w, p, b.isa);
  if (!sp.ok()) {
    step->decision_ = str_cat("dense: sparse unsupported: ", sp.message());
    return std::unique_ptr<StepKernel>(std::move(step));
  }
  const SparsityStats& st = step->sparse.rows().stats();
  const std::size_t m = s.out_channels, k = s.in_channels * s.kernel_h * s.kernel_w, n = s.out_h() * s.out_w();
  const double batch = double(s.batch);
  const double est_dense = est_q_dense_ms(batch * double(m) * double(k) * double(n), b.isa, b.threads);
  const bool pointwise = s.kernel_h * s.kernel_w == 1 && s.stride_h == 1 && s.stride_w == 1 && s.pad_top == 0 && s.pad_left == 0;
  const double packed = batch * double(k) * double(n) * (pointwise ? 1.0 : 2.0);  // c4 tiles (+ im2col)
  const double est_sparse = est_q_sparse_ms(batch * double(st.nonempty_blocks4) * 4.0 * double(n), packed, b.isa, b.threads);
  const std::size_t out_bytes = static_cast<std::size_t>(b.outputs[0]->nbytes());
  auto timer = [&](auto& kernel) {
    return [&]() {
      std::vector<std::uint8_t> xs(static_cast<std::size_t>(b.inputs[0]->numel()), 100), ys(out_bytes);
      ScratchBuffer scratch(kernel.scratch_bytes(b.threads));
      return time_min_ms([&] { kernel.run(xs.data(), ys.data(), scratch.get(), *b.pool); });
    };
  };
  const char* order = step->sparse.tap_major() ? ", K tap-major" : "";
  const SparseVerdict v = decide_sparse(b.sparse, step->sparse.rows().kernel().name, step->dense.name(),
                                        q_stats_str(st, order), st.block4_zeros(), est_sparse, est_dense,
                                        timer(step->sparse), timer(step->dense));
  step->use_sparse = v.sparse;
  step->decision_ = v.text;
  return std::unique_ptr<StepKernel>(std::move(step));
}

StatusOr<std::unique_ptr<StepKernel>> make_qu8_matmul_const_right(const StepBinding& b) {
  const QLayout l = layout_of(*b.node);
  const Tensor* x = b.inputs[0];
  const Tensor* w = b.inputs[l.w];
  if (w == nullptr || w->rank() != 2) return unsupported("weights are not 2-D");
  if (x->rank() < 2) return unsupported("left operand rank ", x->rank());
  const std::size_t k = static_cast<std::size_t>(w->dim(0)), n = static_cast<std::size_t>(w->dim(1));
  if (static_cast<std::size_t>(x->dim(x->rank() - 1)) != k) return unsupported("inner dims differ");
  const std::size_t m = k == 0 ? 0 : static_cast<std::size_t>(x->numel()) / k;
  if (m == 0 || n == 0 || k == 0) return unsupported("empty product");
  auto step = std::make_unique<QMatMulStep>();
  QGemmParams p;
  std::vector<std::int32_t> bias;
  SPARSIFY_RETURN_IF_ERROR(read_params(b, l, n, &p, &bias));
  SPARSIFY_RETURN_IF_ERROR(step->dense.prepare(k, n, w->raw_data(), false, p, b.isa));
  step->m = m;
  step->k = k;
  step->n = n;
  step->threads = b.threads;
  if (is_dequantize(b)) {
    const Tensor* bias = opt_input(b, 8);
    if (bias != nullptr && (bias->dtype() != DType::kFloat32 || static_cast<std::size_t>(bias->numel()) != n)) {
      return unsupported("bias is not float32 [", n, "]");
    }
    step->dequant = true;
    step->dq.scale = p.y_scale;
    step->dq.zero = p.y_zero_point;
    step->dq.bias = bias != nullptr ? bias->data<float>() : nullptr;
    step->rest = b.epilogue;
    step->isa = b.isa;
  }
  step->x = x->data<std::uint8_t>();
  step->y = b.outputs[0]->raw_data();
  if (b.sparse == SparseMode::kOff) {
    step->decision_ = "dense: sparse off (Options::sparse / SPARSIFY_SPARSE)";
    return std::unique_ptr<StepKernel>(std::move(step));
  }
  const Status sp = step->sparse.prepare(k, n, w->raw_data(), false, p, b.isa, m);
  if (!sp.ok()) {
    step->decision_ = str_cat("dense: sparse unsupported: ", sp.message());
    return std::unique_ptr<StepKernel>(std::move(step));
  }
  const SparsityStats& st = step->sparse.rows().stats();
  const double est_dense = est_q_dense_ms(double(m) * double(k) * double(n), b.isa, b.threads);
  const double packed = double(m) * double(k) + double(m) * double(n) * (p.output_u8 ? 1.0 : 4.0);
  const double est_sparse = est_q_sparse_ms(double(st.nonempty_blocks4) * 4.0 * double(m), packed, b.isa, b.threads);
  const std::size_t out_bytes = static_cast<std::size_t>(b.outputs[0]->nbytes());
  auto timer = [&](auto& kernel) {
    return [&]() {
      std::vector<std::uint8_t> xs(m * k, 100), ys(out_bytes);
      ScratchBuffer scratch(kernel.scratch_bytes(b.threads));
      return time_min_ms([&] { kernel.run(m, xs.data(), k, ys.data(), n, scratch.get(), *b.pool); });
    };
  };
  const SparseVerdict v = decide_sparse(b.sparse, step->sparse.name(), step->dense.name(), q_stats_str(st, ""),
                                        st.block4_zeros(), est_sparse, est_dense, timer(step->sparse), timer(step->dense));
  step->use_sparse = v.sparse;
  step->decision_ = v.text;
  return std::unique_ptr<StepKernel>(std::move(step));
}

}  // namespace sparsify::engine
