// Step implementations for the transformer ops around the linear layers: MatMul of two run-time
// operands (attention's Q·K^T and P·V) on the batched GEMM, Softmax, LayerNormalization, Erf and
// a fused GELU on the vector-math family (engine/kernels/vmath). Transpose is in
// plan_impls_transpose.cc. Shapes, offsets and thread splits are fixed at build.
#include <algorithm>
#include <cmath>
#include <limits>

#include "engine/kernels/gemm/family.h"
#include "engine/kernels/vmath/family.h"
#include "engine/runtime/plan_impl.h"
#include "engine/runtime/thread_pool.h"

namespace sparsify::engine {
namespace {

// Elements below which a row-wise step runs on the caller alone (a pool wake-up costs ~µs).
constexpr std::int64_t kMinParallelElements = 16 * 1024;

bool f32(const Tensor* t) { return t != nullptr && t->dtype() == DType::kFloat32; }

// Calls f(r0, r1) over [0, rows) split into one contiguous range per pool thread, or inline.
template <class F>
void for_row_ranges(ThreadPool* pool, bool parallel, std::int64_t rows, F&& f) {
  if (!parallel || pool == nullptr || pool->threads() <= 1 || rows < 2) {
    f(std::int64_t(0), rows);
    return;
  }
  const std::int64_t parts = std::min<std::int64_t>(pool->threads(), rows);
  pool->parallel_for(parts, [&](std::int64_t p, int) { f(rows * p / parts, rows * (p + 1) / parts); });
}

std::string split_text(bool parallel, std::int64_t rows) {
  return parallel ? str_cat(rows, " rows split across the pool") : std::string("on the calling thread (small)");
}

// ---- MatMul with both operands read at run time ------------------------------------------------

// One operand of a batched product as the step addresses it: dims and element strides per axis
// (after the Transposes folded into the MatMul, see passes/fold_transpose_matmul.cc).
struct MatrixView {
  Dims dims;
  std::vector<std::int64_t> strides;
};

std::vector<std::int64_t> row_major_strides(const Dims& d) {
  std::vector<std::int64_t> st(d.size(), 1);
  for (std::size_t i = d.size(); i-- > 1;) st[i - 1] = st[i] * d[i];
  return st;
}

// The view of tensor dims `d` read through `perm` (view axis j is tensor axis perm[j]).
MatrixView input_view(const Dims& d, const std::vector<std::int64_t>& perm) {
  const std::vector<std::int64_t> st = row_major_strides(d);
  if (perm.empty()) return {d, st};
  MatrixView v;
  for (std::int64_t p : perm) {
    v.dims.push_back(d[static_cast<std::size_t>(p)]);
    v.strides.push_back(st[static_cast<std::size_t>(p)]);
  }
  return v;
}

// The product's view of output dims `y` written through `perm` (product axis perm[j] is output axis j).
MatrixView output_view(const Dims& y, const std::vector<std::int64_t>& perm) {
  const std::vector<std::int64_t> st = row_major_strides(y);
  if (perm.empty()) return {y, st};
  MatrixView v{Dims(y.size()), std::vector<std::int64_t>(y.size())};
  for (std::size_t j = 0; j < perm.size(); ++j) {
    v.dims[static_cast<std::size_t>(perm[j])] = y[j];
    v.strides[static_cast<std::size_t>(perm[j])] = st[j];
  }
  return v;
}

// Element offset of every batch item of `v` (batch axes = all but the last two) broadcast to the
// output batch dims `out_batch` (numpy rules, right aligned; size-1 axes repeat).
std::vector<std::size_t> batch_offsets(const MatrixView& v, const Dims& out_batch) {
  const std::size_t rb = v.dims.size() - 2, ro = out_batch.size();
  const std::int64_t count = dims_numel(out_batch);
  std::vector<std::size_t> off(static_cast<std::size_t>(count));
  for (std::int64_t i = 0; i < count; ++i) {
    std::int64_t rem = i, o = 0;
    for (std::size_t ax = ro; ax-- > 0;) {
      const std::int64_t idx = rem % out_batch[ax];
      rem /= out_batch[ax];
      if (ax + rb >= ro) {  // the operand has this axis
        const std::size_t j = ax + rb - ro;
        if (v.dims[j] != 1) o += idx * v.strides[j];
      }
    }
    off[static_cast<std::size_t>(i)] = static_cast<std::size_t>(o);
  }
  return off;
}

struct BatchedOperands {
  const float* a = nullptr;
  const float* b = nullptr;
  float* c = nullptr;
  std::size_t m = 0, n = 0, k = 0, lda = 0, ldb = 0, ldc = 0;
  bool b_transposed = false;
  float alpha = 1.0f;  // fuse_matmul_scale
  std::vector<std::size_t> a_off, b_off, c_off;
  std::string layout;  // "" or the folded layouts, for the plan dump
};

class BatchedMatMulStep final : public StepKernel {
 public:
  BatchedMatMulStep(BatchedOperands o, const float* bias, const Epilogue& ep, int threads)
      : o_(std::move(o)), bias_(bias), ep_(ep), threads_(threads) {}
  Status prepare(Isa isa) {
    isa_ = isa;
    return gemm_.prepare(o_.m, o_.n, o_.k, o_.b_transposed, isa, threads_, o_.a_off.size(), nullptr, o_.alpha);
  }
  std::size_t scratch_bytes() const override { return gemm_.scratch_bytes(threads_); }
  std::string name() const override {
    Epilogue act = ep_;
    act.matmul_bias = false;
    std::string s = gemm_.name();
    if (bias_ != nullptr) s += " + bias";
    if (!act.empty()) s += str_cat(" + ", epilogue_name(act, isa_));
    return s;
  }
  std::string decision() const override {
    return str_cat(o_.a_off.size(), " products [", o_.m, ", ", o_.k, "] x [", o_.k, ", ", o_.n, "], both packed per run",
                   o_.layout);
  }
  Status run(std::byte* scratch, ThreadPool* pool) override {
    gemm_.run(o_.a_off.size(), o_.a, o_.a_off.data(), o_.lda, o_.b, o_.b_off.data(), o_.ldb, o_.c, o_.c_off.data(), o_.ldc,
              scratch, *pool);
    const auto total = static_cast<std::int64_t>(o_.c_off.size() * o_.m * o_.n);
    if (bias_ != nullptr) add_bias_rows(o_.c, bias_, total / static_cast<std::int64_t>(o_.n), static_cast<std::int64_t>(o_.n));
    run_epilogue(ep_, o_.c, total, isa_, pool);
    return Status();
  }

 private:
  GemmF32Batched gemm_;
  BatchedOperands o_;
  const float* bias_;
  Epilogue ep_;
  int threads_;
  Isa isa_ = Isa::kScalar;
};

std::vector<std::int64_t> ints_attr(const Node& n, const char* name) {
  const Attribute* a = n.find_attribute(name);
  return a != nullptr ? a->ints : std::vector<std::int64_t>();
}

// ---- row-wise vector math ----------------------------------------------------------------------

class SoftmaxStep final : public StepKernel {
 public:
  SoftmaxStep(const F32VmathKernels& vm, const float* x, float* y, std::int64_t rows, std::int64_t cols, bool parallel)
      : vm_(vm), x_(x), y_(y), rows_(rows), cols_(cols), parallel_(parallel) {}
  std::string name() const override { return vm_.softmax_name; }
  std::string decision() const override { return split_text(parallel_, rows_); }
  Status run(std::byte*, ThreadPool* pool) override {
    for_row_ranges(pool, parallel_, rows_, [&](std::int64_t r0, std::int64_t r1) {
      for (std::int64_t r = r0; r < r1; ++r) vm_.softmax(x_ + r * cols_, y_ + r * cols_, static_cast<std::size_t>(cols_));
    });
    return Status();
  }

 private:
  const F32VmathKernels& vm_;
  const float* x_;
  float* y_;
  std::int64_t rows_, cols_;
  bool parallel_;
};

class LayerNormStep final : public StepKernel {
 public:
  LayerNormStep(const F32VmathKernels& vm, const float* x, float* y, std::int64_t rows, std::int64_t cols,
                const float* scale, const float* bias, float eps, bool parallel)
      : vm_(vm), x_(x), y_(y), rows_(rows), cols_(cols), scale_(scale), bias_(bias), eps_(eps), parallel_(parallel) {}
  // Scale / bias broadcast to the row, expanded once (constants only).
  void own(std::vector<float> scale, std::vector<float> bias) {
    scale_store_ = std::move(scale);
    bias_store_ = std::move(bias);
    if (!scale_store_.empty()) scale_ = scale_store_.data();
    if (!bias_store_.empty()) bias_ = bias_store_.data();
  }
  std::string name() const override { return vm_.layer_norm_name; }
  std::string decision() const override { return split_text(parallel_, rows_); }
  Status run(std::byte*, ThreadPool* pool) override {
    for_row_ranges(pool, parallel_, rows_, [&](std::int64_t r0, std::int64_t r1) {
      for (std::int64_t r = r0; r < r1; ++r) {
        vm_.layer_norm(x_ + r * cols_, y_ + r * cols_, static_cast<std::size_t>(cols_), scale_, bias_, eps_);
      }
    });
    return Status();
  }

 private:
  const F32VmathKernels& vm_;
  const float* x_;
  float* y_;
  std::int64_t rows_, cols_;
  const float* scale_;
  const float* bias_;
  float eps_;
  bool parallel_;
  std::vector<float> scale_store_, bias_store_;
};

// y = f(x) elementwise (Erf), in chunks of kChunk split across the pool.
class MapStep final : public StepKernel {
 public:
  static constexpr std::int64_t kChunk = 4096;
  MapStep(const char* name, F32MapFn f, const float* x, float* y, std::int64_t n, bool parallel)
      : name_(name), f_(f), x_(x), y_(y), n_(n), parallel_(parallel) {}
  std::string name() const override { return name_; }
  std::string decision() const override { return parallel_ ? "split across the pool" : "on the calling thread (small)"; }
  Status run(std::byte*, ThreadPool* pool) override {
    const std::int64_t chunks = (n_ + kChunk - 1) / kChunk;
    for_row_ranges(pool, parallel_, chunks, [&](std::int64_t c0, std::int64_t c1) {
      const std::int64_t i0 = c0 * kChunk, i1 = std::min(n_, c1 * kChunk);
      if (i1 > i0) f_(x_ + i0, y_ + i0, static_cast<std::size_t>(i1 - i0));
    });
    return Status();
  }

 private:
  const char* name_;
  F32MapFn f_;
  const float* x_;
  float* y_;
  std::int64_t n_;
  bool parallel_;
};

// Expands a Scale / B tensor that broadcasts unidirectionally to the normalized dims into `n` floats.
std::vector<float> expand_to_row(const Tensor& t, const Dims& norm_dims) {
  const std::int64_t n = dims_numel(norm_dims);
  std::vector<float> out(static_cast<std::size_t>(n));
  const Dims& d = t.dims();
  const std::size_t off = norm_dims.size() - d.size();
  for (std::int64_t i = 0; i < n; ++i) {
    std::int64_t rem = i, src = 0, stride = 1;
    for (std::size_t ax = norm_dims.size(); ax-- > 0;) {
      const std::int64_t idx = rem % norm_dims[ax];
      rem /= norm_dims[ax];
      if (ax >= off) {
        const std::int64_t dd = d[ax - off];
        if (dd != 1) src += idx * stride;
        stride *= dd;
      }
    }
    out[static_cast<std::size_t>(i)] = t.data<float>()[src];
  }
  return out;
}

bool output_used(const StepBinding& b, std::size_t i) {
  return b.outputs.size() > i && b.outputs[i] != nullptr && b.node->outputs.size() > i && b.node->outputs[i] != kNoValue;
}

}  // namespace

StatusOr<std::unique_ptr<StepKernel>> make_f32_batched_matmul(const StepBinding& b) {
  const Tensor* x = b.inputs[0];
  const Tensor* w = b.inputs[1];
  if (!f32(x) || !f32(w) || !f32(b.outputs[0])) return unsupported("not float32");
  if (x->rank() < 2 || w->rank() < 2) return unsupported("a rank-1 operand (matrix-vector product)");
  if (b.in_place) return unsupported("in place");
  const std::vector<std::int64_t> pa = ints_attr(*b.node, "sparsify.perm_a"), pb = ints_attr(*b.node, "sparsify.perm_b"),
                                  py = ints_attr(*b.node, "sparsify.perm_y");
  auto is_perm = [](const std::vector<std::int64_t>& p, std::size_t rank) {
    if (p.empty()) return true;
    if (p.size() != rank) return false;
    std::vector<bool> seen(rank, false);
    for (std::int64_t v : p) {
      if (v < 0 || v >= static_cast<std::int64_t>(rank) || seen[static_cast<std::size_t>(v)]) return false;
      seen[static_cast<std::size_t>(v)] = true;
    }
    return true;
  };
  if (!is_perm(pa, x->rank()) || !is_perm(pb, w->rank()) || !is_perm(py, b.outputs[0]->rank())) {
    return unsupported("folded perms are not permutations of the operands' axes");
  }
  const MatrixView va = input_view(x->dims(), pa), vb = input_view(w->dims(), pb), vc = output_view(b.outputs[0]->dims(), py);
  const Dims& da = va.dims;
  const Dims& db = vb.dims;
  const Dims& dc = vc.dims;
  const auto m = static_cast<std::size_t>(da[da.size() - 2]), k = static_cast<std::size_t>(da[da.size() - 1]);
  const auto n = static_cast<std::size_t>(db[db.size() - 1]);
  if (static_cast<std::size_t>(db[db.size() - 2]) != k) return unsupported("inner dims differ: ", dims_to_string(da), " x ", dims_to_string(db));
  if (dc.size() < 2 || static_cast<std::size_t>(dc[dc.size() - 2]) != m || static_cast<std::size_t>(dc[dc.size() - 1]) != n) {
    return unsupported("output ", dims_to_string(dc), " is not [..., ", m, ", ", n, "]");
  }
  if (m == 0 || n == 0 || k == 0) return unsupported("empty product");
  const Dims out_batch(dc.begin(), dc.end() - 2);
  for (const Dims* d : {&da, &db}) {
    if (d->size() - 2 > out_batch.size()) return unsupported("operand rank above the output's");
    for (std::size_t i = 0; i + 2 < d->size(); ++i) {
      const std::int64_t v = (*d)[i], o = out_batch[out_batch.size() - (d->size() - 2) + i];
      if (v != 1 && v != o) return unsupported("batch dims ", dims_to_string(*d), " do not broadcast to ", dims_to_string(dc));
    }
  }
  BatchedOperands o;
  o.m = m;
  o.n = n;
  o.k = k;
  auto last = [](const MatrixView& v, std::size_t back) { return v.strides[v.strides.size() - back]; };
  if (k > 1 && last(va, 1) != 1) return unsupported("A's rows are not contiguous (folded perm)");
  o.lda = static_cast<std::size_t>(last(va, 2));
  if (n == 1 || last(vb, 1) == 1) {
    o.ldb = static_cast<std::size_t>(last(vb, 2));
  } else if (last(vb, 2) == 1) {
    o.b_transposed = true;
    o.ldb = static_cast<std::size_t>(last(vb, 1));
  } else {
    return unsupported("B has no unit stride (folded perm)");
  }
  if (n > 1 && last(vc, 1) != 1) return unsupported("the output's rows are not contiguous (folded perm)");
  o.ldc = static_cast<std::size_t>(last(vc, 2));
  if (m == 1) o.lda = k, o.ldc = n;  // a single row: the row stride is never used
  if (const Attribute* al = b.node->find_attribute("sparsify.alpha")) o.alpha = al->f;
  o.a = x->data<float>();
  o.b = w->data<float>();
  o.c = b.outputs[0]->data<float>();
  o.a_off = batch_offsets(va, out_batch);
  o.b_off = batch_offsets(vb, out_batch);
  o.c_off = batch_offsets(vc, out_batch);
  if (o.alpha != 1.0f) o.layout = str_cat("; scaled by ", o.alpha);
  if (!pa.empty() || !pb.empty() || !py.empty()) {
    o.layout += str_cat("; strided heads: lda ", o.lda, o.b_transposed ? ", B stored transposed, ldb " : ", ldb ", o.ldb, ", ldc ", o.ldc);
  }
  const float* bias = nullptr;
  if (b.epilogue.matmul_bias) {
    const Tensor* t = b.inputs.size() > 2 ? b.inputs[2] : nullptr;
    if (!f32(t) || t->numel() != static_cast<std::int64_t>(n)) return unsupported("fused bias is not ", n, " float32 values");
    if (!py.empty() && py.back() != static_cast<std::int64_t>(py.size()) - 1) return unsupported("bias with a folded output perm");
    bias = t->data<float>();
  }
  auto step = std::make_unique<BatchedMatMulStep>(std::move(o), bias, b.epilogue, b.threads);
  SPARSIFY_RETURN_IF_ERROR(step->prepare(b.isa));
  return std::unique_ptr<StepKernel>(std::move(step));
}

StatusOr<std::unique_ptr<StepKernel>> make_f32_softmax(const StepBinding& b) {
  if (!f32(b.inputs[0]) || !f32(b.outputs[0])) return unsupported("not float32");
  const Tensor& x = *b.inputs[0];
  const auto rank = static_cast<std::int64_t>(x.rank());
  if (rank == 0 || x.numel() == 0) return unsupported("empty or scalar input");
  const bool coerce = b.opset < 13;
  const Attribute* a = b.node->find_attribute("axis");
  std::int64_t axis = a != nullptr ? a->i : (coerce ? 1 : -1);
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= rank) return unsupported("axis out of range");
  std::int64_t cols = 1;
  if (coerce) {
    for (std::int64_t i = axis; i < rank; ++i) cols *= x.dim(static_cast<std::size_t>(i));
  } else {
    if (axis != rank - 1) return unsupported("axis ", axis, " is not the last of rank ", rank);
    cols = x.dim(static_cast<std::size_t>(rank - 1));
  }
  if (cols == 0) return unsupported("empty axis");
  const std::int64_t rows = x.numel() / cols;
  const bool parallel = b.threads > 1 && rows > 1 && x.numel() >= kMinParallelElements;
  return std::unique_ptr<StepKernel>(
      new SoftmaxStep(select_f32_vmath(b.isa), x.data<float>(), b.outputs[0]->data<float>(), rows, cols, parallel));
}

StatusOr<std::unique_ptr<StepKernel>> make_f32_layer_norm(const StepBinding& b) {
  const Tensor* x = b.inputs[0];
  const Tensor* scale = b.inputs.size() > 1 ? b.inputs[1] : nullptr;
  const Tensor* bias = b.inputs.size() > 2 ? b.inputs[2] : nullptr;
  if (!f32(x) || !f32(scale) || (bias != nullptr && !f32(bias)) || !f32(b.outputs[0])) return unsupported("not float32");
  if (output_used(b, 1) || output_used(b, 2)) return unsupported("the Mean / InvStdDev outputs are used");
  const auto rank = static_cast<std::int64_t>(x->rank());
  const Attribute* a = b.node->find_attribute("axis");
  std::int64_t axis = a != nullptr ? a->i : -1;
  if (axis < 0) axis += rank;
  if (rank == 0 || axis < 0 || axis >= rank) return unsupported("axis out of range");
  const Attribute* st = b.node->find_attribute("stash_type");
  if (st != nullptr && st->i != 1) return unsupported("stash_type ", st->i, " (only float32 statistics)");
  const Attribute* e = b.node->find_attribute("epsilon");
  const float eps = e != nullptr ? e->f : 1e-5f;
  const Dims norm(x->dims().begin() + axis, x->dims().end());
  const std::int64_t cols = dims_numel(norm);
  if (cols == 0 || x->numel() == 0) return unsupported("empty input");
  const std::int64_t rows = x->numel() / cols;
  // Scale / bias: used in place when they already hold the whole row, else expanded once (constants).
  std::vector<float> scale_row, bias_row;
  const bool scale_full = scale->numel() == cols, bias_full = bias == nullptr || bias->numel() == cols;
  if (!scale_full) {
    if (!b.input_is_constant[1]) return unsupported("Scale ", dims_to_string(scale->dims()), " broadcasts and is not constant");
    scale_row = expand_to_row(*scale, norm);
  }
  if (!bias_full) {
    if (!b.input_is_constant[2]) return unsupported("B ", dims_to_string(bias->dims()), " broadcasts and is not constant");
    bias_row = expand_to_row(*bias, norm);
  }
  const bool parallel = b.threads > 1 && rows > 1 && x->numel() >= kMinParallelElements;
  auto step = std::make_unique<LayerNormStep>(select_f32_vmath(b.isa), x->data<float>(), b.outputs[0]->data<float>(), rows,
                                              cols, scale->data<float>(), bias != nullptr ? bias->data<float>() : nullptr,
                                              eps, parallel);
  step->own(std::move(scale_row), std::move(bias_row));
  return std::unique_ptr<StepKernel>(std::move(step));
}

StatusOr<std::unique_ptr<StepKernel>> make_f32_erf(const StepBinding& b) {
  if (!f32(b.inputs[0]) || !f32(b.outputs[0])) return unsupported("not float32");
  const std::int64_t n = b.inputs[0]->numel();
  if (n == 0) return unsupported("empty input");
  const F32VmathKernels& vm = select_f32_vmath(b.isa);
  const bool parallel = b.threads > 1 && n >= kMinParallelElements;
  return std::unique_ptr<StepKernel>(new MapStep(vm.erf_name, vm.erf, b.inputs[0]->data<float>(), b.outputs[0]->data<float>(), n, parallel));
}

}  // namespace sparsify::engine
