// Runtime fp32 implementations of the elementwise steps that surround the kernels (residual Add,
// bias-like broadcasts, standalone activations): broadcast pattern and loop shape fixed at build.
#include <algorithm>
#include <cmath>

#include "engine/runtime/plan_impl.h"
#include "engine/runtime/thread_pool.h"

namespace sparsify::engine {
namespace {

// How an operand maps onto the output viewed as [rows, cols]: element (r, c) of the operand is
// base[r * row_stride + c * col_stride].
struct Operand {
  const float* base = nullptr;
  std::int64_t row_stride = 0;
  int col_stride = 0;  // 0 or 1
};

// Dims without leading ones.
Dims strip(const Dims& d) {
  std::size_t i = 0;
  while (i < d.size() && d[i] == 1) ++i;
  return Dims(d.begin() + static_cast<std::ptrdiff_t>(i), d.end());
}

enum class Pattern { kFull, kSuffix, kChannel, kScalar, kNone };

// Classifies operand dims `in` against output dims `out`; for kChannel sets *inner (elements per
// channel run) and for kSuffix the suffix length is in.numel().
Pattern classify(const Dims& in, const Dims& out, std::int64_t* inner) {
  const Dims s = strip(in);
  const Dims so = strip(out);
  if (dims_numel(in) == 1) return Pattern::kScalar;
  if (s == so) return Pattern::kFull;
  if (s.size() <= out.size() && std::equal(s.begin(), s.end(), out.end() - static_cast<std::ptrdiff_t>(s.size()))) return Pattern::kSuffix;
  // [C, 1, ..., 1] aligned so that C sits on an output axis and only ones follow.
  std::size_t ones = 0;
  while (ones < s.size() && s[s.size() - 1 - ones] == 1) ++ones;
  if (s.size() - ones == 1 && s.size() <= out.size()) {
    const std::size_t axis = out.size() - s.size();
    if (out[axis] == s[0]) {
      *inner = 1;
      for (std::size_t k = axis + 1; k < out.size(); ++k) *inner *= out[k];
      return Pattern::kChannel;
    }
  }
  return Pattern::kNone;
}

// Elements below which a binary step runs on the caller alone.
constexpr std::int64_t kMinParallelElements = 32 * 1024;

template <class F>
class BinaryKernel final : public StepKernel {
 public:
  BinaryKernel(Operand a, Operand b, float* y, std::int64_t rows, std::int64_t cols, std::int64_t channels, F f,
               bool parallel, const Epilogue& ep, Isa isa)
      : a_(a), b_(b), y_(y), rows_(rows), cols_(cols), channels_(channels), f_(f), parallel_(parallel), ep_(ep), isa_(isa) {}
  std::string name() const override {
    if (ep_.act == FusedAct::kNone) return "";
    return str_cat("+ ", epilogue_name(ep_, isa_));
  }
  std::string decision() const override { return parallel_ ? "split across the pool" : ""; }
  Status run(std::byte*, ThreadPool* pool) override {
    const std::int64_t total = rows_ * cols_;
    if (parallel_ && pool != nullptr && pool->threads() > 1) {
      const std::int64_t parts = pool->threads();
      pool->parallel_for(parts, [&](std::int64_t p, int) { range(total * p / parts, total * (p + 1) / parts); });
    } else {
      range(0, total);
    }
    return Status();
  }

 private:
  // Elements [e0, e1) of the [rows, cols] view; an activation epilogue follows every chunk of
  // kChunk elements while it is still in L1.
  void range(std::int64_t e0, std::int64_t e1) const {
    if (ep_.act == FusedAct::kNone) {
      compute(e0, e1);
      return;
    }
    constexpr std::int64_t kChunk = 4096;
    for (std::int64_t s = e0; s < e1; s += kChunk) {
      const std::int64_t t = std::min(e1, s + kChunk);
      compute(s, t);
      apply_activation(ep_, y_ + s, t - s, isa_);
    }
  }
  void compute(std::int64_t e0, std::int64_t e1) const {
    for (std::int64_t r = e0 / cols_; r * cols_ < e1; ++r) {
      const std::int64_t c0 = std::max<std::int64_t>(0, e0 - r * cols_), c1 = std::min(cols_, e1 - r * cols_);
      const std::int64_t rr = channels_ > 0 ? r % channels_ : r;
      const float* pa = a_.base + (a_.row_stride == -1 ? rr : r * a_.row_stride);
      const float* pb = b_.base + (b_.row_stride == -1 ? rr : r * b_.row_stride);
      float* py = y_ + r * cols_;
      if (a_.col_stride == 1 && b_.col_stride == 1) {
        for (std::int64_t c = c0; c < c1; ++c) py[c] = f_(pa[c], pb[c]);
      } else if (a_.col_stride == 1) {
        const float vb = pb[0];
        for (std::int64_t c = c0; c < c1; ++c) py[c] = f_(pa[c], vb);
      } else if (b_.col_stride == 1) {
        const float va = pa[0];
        for (std::int64_t c = c0; c < c1; ++c) py[c] = f_(va, pb[c]);
      } else {
        const float v = f_(pa[0], pb[0]);
        for (std::int64_t c = c0; c < c1; ++c) py[c] = v;
      }
    }
  }

  Operand a_, b_;
  float* y_;
  std::int64_t rows_, cols_, channels_;
  F f_;
  bool parallel_;
  Epilogue ep_;  // activation only (fuse_gelu)
  Isa isa_;
};

// Any numpy broadcast: the output is walked row by row (its last axis); each operand's element
// offset per output axis is its stride there, 0 where it broadcasts (odometer per row).
template <class F>
class GeneralBinaryKernel final : public StepKernel {
 public:
  GeneralBinaryKernel(const float* a, const float* b, float* y, Dims out, std::vector<std::int64_t> sa,
                      std::vector<std::int64_t> sb, F f, bool parallel, const Epilogue& ep, Isa isa)
      : a_(a), b_(b), y_(y), out_(std::move(out)), sa_(std::move(sa)), sb_(std::move(sb)), f_(f), parallel_(parallel),
        ep_(ep), isa_(isa) {
    cols_ = out_.empty() ? 1 : out_.back();
    rows_ = cols_ == 0 ? 0 : dims_numel(out_) / cols_;
  }
  std::string name() const override {
    if (ep_.act == FusedAct::kNone) return "general broadcast";
    return str_cat("general broadcast + ", epilogue_name(ep_, isa_));
  }
  std::string decision() const override { return parallel_ ? str_cat(rows_, " rows split across the pool") : ""; }
  Status run(std::byte*, ThreadPool* pool) override {
    if (parallel_ && pool != nullptr && pool->threads() > 1 && rows_ > 1) {
      const std::int64_t parts = std::min<std::int64_t>(pool->threads(), rows_);
      pool->parallel_for(parts, [&](std::int64_t p, int) { range(rows_ * p / parts, rows_ * (p + 1) / parts); });
    } else {
      range(0, rows_);
    }
    return Status();
  }

 private:
  void range(std::int64_t r0, std::int64_t r1) const {
    const std::size_t last = out_.empty() ? 0 : out_.size() - 1;
    const std::int64_t ca = out_.empty() ? 0 : sa_[last], cb = out_.empty() ? 0 : sb_[last];
    for (std::int64_t r = r0; r < r1; ++r) {
      std::int64_t rem = r, oa = 0, ob = 0;
      for (std::size_t ax = last; ax-- > 0;) {
        const std::int64_t i = rem % out_[ax];
        rem /= out_[ax];
        oa += i * sa_[ax];
        ob += i * sb_[ax];
      }
      const float* pa = a_ + oa;
      const float* pb = b_ + ob;
      float* py = y_ + r * cols_;
      if (ca == 1 && cb == 1) {
        for (std::int64_t c = 0; c < cols_; ++c) py[c] = f_(pa[c], pb[c]);
      } else if (ca == 1) {
        const float vb = pb[0];
        for (std::int64_t c = 0; c < cols_; ++c) py[c] = f_(pa[c], vb);
      } else if (cb == 1) {
        const float va = pa[0];
        for (std::int64_t c = 0; c < cols_; ++c) py[c] = f_(va, pb[c]);
      } else {
        const float v = f_(pa[0], pb[0]);
        for (std::int64_t c = 0; c < cols_; ++c) py[c] = v;
      }
    }
    if (ep_.act != FusedAct::kNone && r1 > r0) apply_activation(ep_, y_ + r0 * cols_, (r1 - r0) * cols_, isa_);
  }

  const float* a_;
  const float* b_;
  float* y_;
  Dims out_;
  std::vector<std::int64_t> sa_, sb_;  // per output axis, in elements; 0 where broadcast
  F f_;
  bool parallel_;
  Epilogue ep_;
  Isa isa_;
  std::int64_t rows_ = 0, cols_ = 1;
};

// Strides of `in` against output dims `out` (right aligned, numpy broadcasting); false if `in`
// does not broadcast to `out`.
bool broadcast_strides(const Dims& in, const Dims& out, std::vector<std::int64_t>* st) {
  if (in.size() > out.size()) return false;
  st->assign(out.size(), 0);
  std::int64_t s = 1;
  for (std::size_t k = 0; k < in.size(); ++k) {
    const std::size_t i = in.size() - 1 - k, o = out.size() - 1 - k;
    if (in[i] != 1 && in[i] != out[o]) return false;
    (*st)[o] = in[i] == 1 ? 0 : s;
    s *= in[i];
  }
  return true;
}

template <class F>
StatusOr<std::unique_ptr<StepKernel>> make_general_binary(const StepBinding& b, F f, const std::string& why_not_fast) {
  const Tensor& x0 = *b.inputs[0];
  const Tensor& x1 = *b.inputs[1];
  Tensor& y = *b.outputs[0];
  std::vector<std::int64_t> s0, s1;
  if (!broadcast_strides(x0.dims(), y.dims(), &s0) || !broadcast_strides(x1.dims(), y.dims(), &s1)) {
    return unsupported(why_not_fast, "; and ", dims_to_string(x0.dims()), ", ", dims_to_string(x1.dims()),
                       " do not broadcast to ", dims_to_string(y.dims()));
  }
  if (y.numel() == 0) return unsupported("empty output");
  // In place is safe only when the aliased input is read at the output's own element.
  if (b.in_place && x0.dims() != y.dims() && x1.dims() != y.dims()) return unsupported("in place over a broadcast operand");
  return std::unique_ptr<StepKernel>(new GeneralBinaryKernel<F>(x0.data<float>(), x1.data<float>(), y.data<float>(), y.dims(),
                                                                std::move(s0), std::move(s1), f,
                                                                b.threads > 1 && y.numel() >= kMinParallelElements,
                                                                b.epilogue, b.isa));
}

template <class F>
StatusOr<std::unique_ptr<StepKernel>> make_binary(const StepBinding& b, F f) {
  const Tensor& x0 = *b.inputs[0];
  const Tensor& x1 = *b.inputs[1];
  Tensor& y = *b.outputs[0];
  const Dims& out = y.dims();
  const std::int64_t total = y.numel();
  std::int64_t inner0 = 0, inner1 = 0;
  const Pattern p0 = classify(x0.dims(), out, &inner0), p1 = classify(x1.dims(), out, &inner1);
  // Rows and columns: the broadcast operand's period decides the column count.
  std::int64_t cols = total, channels = 0;
  auto shape_for = [&](Pattern p, const Tensor& x, std::int64_t inner) -> bool {
    if (p == Pattern::kSuffix) { cols = x.numel(); return true; }
    if (p == Pattern::kChannel) { cols = inner; channels = x.numel(); return true; }
    return p == Pattern::kFull || p == Pattern::kScalar;
  };
  if (p0 == Pattern::kNone || p1 == Pattern::kNone) {
    return make_general_binary(b, f, str_cat("broadcast of ", dims_to_string(x0.dims()), " and ", dims_to_string(x1.dims()),
                                             " is not full, suffix, per-channel or scalar"));
  }
  if (p0 != Pattern::kFull && p1 != Pattern::kFull) return make_general_binary(b, f, "neither operand has the output's shape");
  if (!shape_for(p0, x0, inner0) || !shape_for(p1, x1, inner1)) return make_general_binary(b, f, "broadcast pattern");
  if (cols == 0) return unsupported("empty output");
  const std::int64_t rows = total / cols;
  auto operand = [&](Pattern p, const Tensor& x) {
    Operand o;
    o.base = x.data<float>();
    if (p == Pattern::kFull) { o.row_stride = cols; o.col_stride = 1; }
    else if (p == Pattern::kSuffix) { o.row_stride = 0; o.col_stride = 1; }
    else if (p == Pattern::kChannel) { o.row_stride = -1; o.col_stride = 0; }  // -1: index r % channels
    else { o.row_stride = 0; o.col_stride = 0; }
    return o;
  };
  return std::unique_ptr<StepKernel>(
      new BinaryKernel<F>(operand(p0, x0), operand(p1, x1), y.data<float>(), rows, cols, channels, f,
                          b.threads > 1 && total >= kMinParallelElements, b.epilogue, b.isa));
}

class UnaryKernel final : public StepKernel {
 public:
  UnaryKernel(const float* x, float* y, std::int64_t n, Epilogue act) : x_(x), y_(y), n_(n), act_(act) {}
  Status run(std::byte*, ThreadPool*) override {
    if (x_ != y_) std::copy(x_, x_ + n_, y_);
    apply_activation(act_, y_, n_);
    return Status();
  }

 private:
  const float* x_;
  float* y_;
  std::int64_t n_;
  Epilogue act_;
};

bool all_f32(const StepBinding& b) {
  for (const Tensor* t : b.inputs) {
    if (t != nullptr && t->dtype() != DType::kFloat32) return false;
  }
  return b.outputs[0] != nullptr && b.outputs[0]->dtype() == DType::kFloat32;
}

}  // namespace

StatusOr<std::unique_ptr<StepKernel>> make_f32_binary(const StepBinding& b) {
  if (!all_f32(b)) return unsupported("not float32");
  if (b.epilogue.matmul_bias) return unsupported("bias epilogue");
  const std::string& op = b.node->op_type;
  if (op == "Add") return make_binary(b, [](float x, float y) { return x + y; });
  if (op == "Sub") return make_binary(b, [](float x, float y) { return x - y; });
  if (op == "Mul") return make_binary(b, [](float x, float y) { return x * y; });
  if (op == "Div") return make_binary(b, [](float x, float y) { return x / y; });
  return unsupported("op ", op);
}

StatusOr<std::unique_ptr<StepKernel>> make_f32_unary(const StepBinding& b) {
  if (!all_f32(b)) return unsupported("not float32");
  Epilogue act;
  act.act = fused_act_from_op(b.node->op_type);
  if (b.node->op_type == "Clip") {
    act.alpha = -INFINITY;
    act.beta = INFINITY;
    if (const Attribute* a = b.node->find_attribute("min")) act.alpha = a->f;
    if (const Attribute* a = b.node->find_attribute("max")) act.beta = a->f;
    for (std::size_t i = 1; i <= 2 && i < b.inputs.size(); ++i) {
      if (b.inputs[i] == nullptr) continue;
      if (!b.input_is_constant[i] || b.inputs[i]->numel() != 1) return unsupported("Clip bound ", i, " is not a constant scalar");
      (i == 1 ? act.alpha : act.beta) = b.inputs[i]->data<float>()[0];
    }
  }
  return std::unique_ptr<StepKernel>(new UnaryKernel(b.inputs[0]->data<float>(), b.outputs[0]->data<float>(), b.outputs[0]->numel(), act));
}

}  // namespace sparsify::engine
