// Runtime implementations of the QuantizeLinear / DequantizeLinear steps left between the int8
// kernels (around residual Add, pooling, Flatten, Softmax, LayerNorm): float32 <-> uint8/int8
// (and int32 -> float32 for dequantized biases), per-tensor or per-axis. Parameters, the channel
// geometry and the thread split are fixed at build; run() is one tight loop per constant-channel
// segment, bit-identical to the reference ops (ops/quant.cc):
//   QuantizeLinear:   y = saturate(round_half_to_even(x / scale) + zp), NaN -> 0, in float
//   DequantizeLinear: y = float(x - zp) * scale
// The loops themselves are in qdq_loops.inc, compiled per ISA; the widest the plan allows is bound
// here and named in the plan dump. Also the internal QdqAdd (pass fold_qdq_add): a residual Add
// of dequantized uint8 inputs (one may stay float32), Relu, and the QuantizeLinear of the sum, in
// one pass over the elements.
#include <algorithm>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <vector>

#include "engine/runtime/plan_impl.h"
#include "engine/runtime/qdq_loops.h"
#include "engine/runtime/thread_pool.h"

namespace sparsify::engine {
namespace {

// Elements below which a step runs on the caller alone (splitting costs more than it saves).
constexpr std::int64_t kMinParallelElements = 32 * 1024;

// Per-channel parameters: element i uses channel (i / inner) % channels (per-tensor: channels = 1,
// inner = numel).
struct QdqGeometry {
  std::int64_t numel = 0, inner = 1, channels = 1;
  std::int64_t axis = -1;  // -1: per-tensor
  int tasks = 1;           // contiguous ranges run on the pool (1: inline)
  // Scale and zero point: read at build when constant, else at the start of every run (they are
  // graph inputs, e.g. in the ONNX node tests) into the same pre-sized vectors.
  const Tensor* scale = nullptr;
  const Tensor* zp = nullptr;
  bool live_params = false;
};

// Fills scale / zp (already sized) from g's tensors; no allocation.
template <class Z>
void load_params(const QdqGeometry& g, std::vector<float>& scale, std::vector<Z>& zp) {
  for (std::size_t i = 0; i < scale.size(); ++i) {
    const auto k = static_cast<std::int64_t>(i);
    scale[i] = static_cast<float>(g.scale->element_as_double(k));
    zp[i] = g.zp != nullptr ? static_cast<Z>(g.zp->element_as_double(k)) : Z(0);
  }
}

// Mirrors the reference's make_indexer: per-tensor when scale has one element and rank <= 1,
// otherwise per-axis along `axis` (default 1) with one scale per index of that axis.
Status read_geometry(const StepBinding& b, QdqGeometry* g) {
  const Tensor& x = *b.inputs[0];
  const Tensor& scale = *b.inputs[1];
  const Tensor* zp = b.inputs.size() > 2 ? b.inputs[2] : nullptr;
  if (zp != nullptr && zp->numel() != scale.numel()) return unsupported("zero point and scale differ in size");
  if (b.node->find_attribute("block_size") != nullptr) return unsupported("blocked quantization");
  g->numel = x.numel();
  if (g->numel == 0) return unsupported("empty tensor");
  g->inner = g->numel;
  if (!(scale.numel() == 1 && scale.rank() <= 1)) {
    const auto rank = static_cast<std::int64_t>(x.rank());
    const Attribute* a = b.node->find_attribute("axis");
    std::int64_t axis = a != nullptr ? a->i : 1;
    if (axis < 0) axis += rank;
    if (axis < 0 || axis >= rank) return unsupported("axis out of range");
    if (scale.rank() != 1 || scale.numel() != x.dim(static_cast<std::size_t>(axis))) return unsupported("scale does not match the axis");
    g->axis = axis;
    g->channels = scale.numel();
    g->inner = 1;
    for (std::int64_t d = axis + 1; d < rank; ++d) g->inner *= x.dim(static_cast<std::size_t>(d));
    if (g->inner == 0) return unsupported("empty tensor");
  }
  g->scale = &scale;
  g->zp = zp;
  for (std::size_t i = 1; i < b.inputs.size(); ++i) {
    if (b.inputs[i] != nullptr && !b.input_is_constant[i]) g->live_params = true;
  }
  if (!b.epilogue.empty()) return unsupported("fused epilogue ", b.epilogue.describe());
  g->tasks = g->numel >= kMinParallelElements && b.threads > 1 ? b.threads : 1;
  return Status();
}

std::string describe(const QdqGeometry& g) {
  std::string s = g.axis < 0 ? std::string("per-tensor") : str_cat("per-axis (axis ", g.axis, ", ", g.channels, " channels x ", g.inner, ")");
  if (g.live_params) s += ", scale/zero point read each run (not constants)";
  return str_cat(s, ", ", g.numel, " elements, ", g.tasks == 1 ? std::string("inline") : str_cat(g.tasks, " threads"),
                 g.tasks == 1 && g.numel < kMinParallelElements ? str_cat(" (below ", kMinParallelElements, " elements)") : std::string());
}

// Calls seg(begin, end, channel) for the constant-channel segments of [begin, end).
template <class F>
void for_segments(const QdqGeometry& g, std::int64_t begin, std::int64_t end, F&& seg) {
  while (begin < end) {
    const std::int64_t block = begin / g.inner;
    const std::int64_t stop = std::min(end, (block + 1) * g.inner);
    seg(begin, stop, block % g.channels);
    begin = stop;
  }
}

// Runs body(begin, end) over [0, numel) split into g.tasks contiguous ranges.
template <class F>
void split(const QdqGeometry& g, ThreadPool* pool, F&& body) {
  if (g.tasks <= 1 || pool == nullptr) {
    body(std::int64_t{0}, g.numel);
    return;
  }
  const std::int64_t n = g.numel, t = g.tasks;
  pool->parallel_for(t, [&](std::int64_t task, int) { body(task * n / t, (task + 1) * n / t); });
}

template <class T>
class QuantizeKernel final : public StepKernel {
 public:
  using Loop = void (*)(const float*, T*, std::int64_t, float, float, float, float);
  QuantizeKernel(const QdqGeometry& g, Loop loop, const char* isa, const float* x, T* y, std::vector<float> scale, std::vector<float> zp)
      : g_(g), loop_(loop), isa_(isa), x_(x), y_(y), scale_(std::move(scale)), zp_(std::move(zp)) {}
  std::string name() const override { return str_cat(sizeof(T) == 1 && std::is_signed_v<T> ? "f32_qs8" : "f32_qu8", "_loop__", isa_); }
  std::string decision() const override { return describe(g_); }
  Status run(std::byte*, ThreadPool* pool) override {
    if (g_.live_params) load_params(g_, scale_, zp_);
    split(g_, pool, [&](std::int64_t begin, std::int64_t end) {
      for_segments(g_, begin, end, [&](std::int64_t b, std::int64_t e, std::int64_t c) {
        const float z = zp_[static_cast<std::size_t>(c)];
        loop_(x_ + b, y_ + b, e - b, scale_[static_cast<std::size_t>(c)], static_cast<float>(std::numeric_limits<T>::lowest()) - z,
              static_cast<float>(std::numeric_limits<T>::max()) - z, z);
      });
    });
    return Status();
  }

 private:
  QdqGeometry g_;
  Loop loop_;
  const char* isa_;
  const float* x_;
  T* y_;
  std::vector<float> scale_, zp_;
};

template <class T>
class DequantizeKernel final : public StepKernel {
 public:
  using Loop = void (*)(const T*, float*, std::int64_t, float, std::int32_t);
  DequantizeKernel(const QdqGeometry& g, Loop loop, const char* isa, const T* x, float* y, std::vector<float> scale, std::vector<std::int32_t> zp)
      : g_(g), loop_(loop), isa_(isa), x_(x), y_(y), scale_(std::move(scale)), zp_(std::move(zp)) {}
  std::string name() const override {
    return str_cat(sizeof(T) == 4 ? "qs32" : std::is_signed_v<T> ? "qs8" : "qu8", "_f32_loop__", isa_);
  }
  std::string decision() const override { return describe(g_); }
  Status run(std::byte*, ThreadPool* pool) override {
    if (g_.live_params) load_params(g_, scale_, zp_);
    split(g_, pool, [&](std::int64_t begin, std::int64_t end) {
      for_segments(g_, begin, end, [&](std::int64_t b, std::int64_t e, std::int64_t c) {
        loop_(x_ + b, y_ + b, e - b, scale_[static_cast<std::size_t>(c)], zp_[static_cast<std::size_t>(c)]);
      });
    });
    return Status();
  }

 private:
  QdqGeometry g_;
  Loop loop_;
  const char* isa_;
  const T* x_;
  float* y_;
  std::vector<float> scale_;
  std::vector<std::int32_t> zp_;
};

class QdqAddKernel final : public StepKernel {
 public:
  QdqAddKernel(const QdqAddArgs& args, const QdqLoops& loops, std::int64_t n, int tasks, std::string what)
      : args_(args), loops_(loops), n_(n), tasks_(tasks), what_(std::move(what)) {}
  std::string name() const override { return str_cat("qu8_add_loop__", loops_.isa); }
  std::string decision() const override {
    return str_cat(what_, ", ", n_, " elements, ", tasks_ == 1 ? std::string("inline") : str_cat(tasks_, " tasks"));
  }
  Status run(std::byte*, ThreadPool* pool) override {
    if (tasks_ <= 1 || pool == nullptr) {
      loops_.add_u8(args_, 0, n_);
      return Status();
    }
    const std::int64_t n = n_, t = tasks_;
    // Task bounds on multiples of 64 elements: no two tasks share a cache line of any output.
    pool->parallel_for(t, [&](std::int64_t task, int) {
      loops_.add_u8(args_, std::min(n, (task * n / t) & ~std::int64_t{63}), task + 1 == t ? n : std::min(n, ((task + 1) * n / t) & ~std::int64_t{63}));
    });
    return Status();
  }

 private:
  QdqAddArgs args_;
  const QdqLoops& loops_;
  std::int64_t n_;
  int tasks_;
  std::string what_;
};

}  // namespace

StatusOr<std::unique_ptr<StepKernel>> make_qu8_qdq_add(const StepBinding& b) {
  std::size_t ia = 0, ib = 3;
  auto is = [&](std::size_t i, DType d) { return b.inputs[i] != nullptr && b.inputs[i]->dtype() == d; };
  if (is(0, DType::kFloat32) && is(3, DType::kUInt8)) std::swap(ia, ib);  // float addition commutes exactly
  if (!is(ia, DType::kUInt8)) return unsupported("no uint8 operand (int8 operands run on the reference)");
  if (!is(ib, DType::kUInt8) && !is(ib, DType::kFloat32)) return unsupported("B is neither uint8 nor float32");
  for (std::size_t i = 0; i < b.inputs.size(); ++i) {
    if (i != 0 && i != 3 && b.inputs[i] != nullptr && !b.input_is_constant[i]) return unsupported("scales or zero points are not constant");
  }
  Tensor* y = b.outputs.size() > 0 ? b.outputs[0] : nullptr;
  Tensor* yq = b.outputs.size() > 1 ? b.outputs[1] : nullptr;
  if (y == nullptr && yq == nullptr) return unsupported("no output");
  if (yq != nullptr && yq->dtype() != DType::kUInt8) return unsupported("Yq is ", dtype_name(yq->dtype()), ", not uint8");
  if (b.in_place) return unsupported("in place");
  const Attribute* relu = b.node->find_attribute("relu");
  QdqAddArgs a;
  a.relu = relu != nullptr && relu->i != 0;
  a.a = b.inputs[ia]->data<std::uint8_t>();
  a.sa = static_cast<float>(b.inputs[ia + 1]->element_as_double(0));
  a.za = static_cast<std::int32_t>(b.inputs[ia + 2]->element_as_int(0));
  if (is(ib, DType::kUInt8)) {
    a.bq = b.inputs[ib]->data<std::uint8_t>();
    a.sb = static_cast<float>(b.inputs[ib + 1]->element_as_double(0));
    a.zb = static_cast<std::int32_t>(b.inputs[ib + 2]->element_as_int(0));
  } else {
    a.bf = b.inputs[ib]->data<float>();
  }
  if (y != nullptr) a.y = y->data<float>();
  if (yq != nullptr) {
    a.yq = yq->data<std::uint8_t>();
    a.so = static_cast<float>(b.inputs[6]->element_as_double(0));
    a.zo = static_cast<float>(b.inputs[7]->element_as_int(0));
    a.lo = 0.0f - a.zo;
    a.hi = 255.0f - a.zo;
  }
  const std::int64_t n = b.inputs[0]->numel();
  if (n == 0) return unsupported("empty tensor");
  const int tasks = n >= kMinParallelElements && b.threads > 1 ? b.threads : 1;
  const std::string what = str_cat(a.bq != nullptr ? "u8 + u8" : "u8 + f32", a.relu ? " -> Relu" : "",
                                   " -> ", y != nullptr ? "f32" : "", y != nullptr && yq != nullptr ? " and " : "", yq != nullptr ? "u8" : "");
  return std::unique_ptr<StepKernel>(new QdqAddKernel(a, select_qdq_loops(b.isa), n, tasks, what));
}

StatusOr<std::unique_ptr<StepKernel>> make_q8_quantize(const StepBinding& b) {
  const Tensor& x = *b.inputs[0];
  if (x.dtype() != DType::kFloat32) return unsupported("input is ", dtype_name(x.dtype()), ", not float32");
  if (b.outputs[0] == nullptr) return unsupported("no output");
  const DType out = b.outputs[0]->dtype();
  if (out != DType::kUInt8 && out != DType::kInt8) return unsupported("output is ", dtype_name(out), ", not uint8/int8");
  if (b.in_place) return unsupported("in place (elements change size)");
  QdqGeometry g;
  SPARSIFY_RETURN_IF_ERROR(read_geometry(b, &g));
  std::vector<float> scale(static_cast<std::size_t>(g.channels)), zp(scale.size());
  if (!g.live_params) load_params(g, scale, zp);
  const QdqLoops& l = select_qdq_loops(b.isa);
  if (out == DType::kUInt8) {
    return std::unique_ptr<StepKernel>(new QuantizeKernel<std::uint8_t>(g, l.quantize_u8, l.isa, x.data<float>(), b.outputs[0]->data<std::uint8_t>(), std::move(scale), std::move(zp)));
  }
  return std::unique_ptr<StepKernel>(new QuantizeKernel<std::int8_t>(g, l.quantize_s8, l.isa, x.data<float>(), b.outputs[0]->data<std::int8_t>(), std::move(scale), std::move(zp)));
}

StatusOr<std::unique_ptr<StepKernel>> make_q8_dequantize(const StepBinding& b) {
  const Tensor& x = *b.inputs[0];
  const DType in = x.dtype();
  if (in != DType::kUInt8 && in != DType::kInt8 && in != DType::kInt32) return unsupported("input is ", dtype_name(in), ", not uint8/int8/int32");
  if (b.outputs[0] == nullptr || b.outputs[0]->dtype() != DType::kFloat32) return unsupported("output is not float32");
  if (b.in_place && in != DType::kInt32) return unsupported("in place (elements change size)");
  QdqGeometry g;
  SPARSIFY_RETURN_IF_ERROR(read_geometry(b, &g));
  std::vector<float> scale(static_cast<std::size_t>(g.channels));
  std::vector<std::int32_t> zp(scale.size());
  if (!g.live_params) load_params(g, scale, zp);
  float* y = b.outputs[0]->data<float>();
  const QdqLoops& l = select_qdq_loops(b.isa);
  if (in == DType::kUInt8) return std::unique_ptr<StepKernel>(new DequantizeKernel<std::uint8_t>(g, l.dequantize_u8, l.isa, x.data<std::uint8_t>(), y, std::move(scale), std::move(zp)));
  if (in == DType::kInt8) return std::unique_ptr<StepKernel>(new DequantizeKernel<std::int8_t>(g, l.dequantize_s8, l.isa, x.data<std::int8_t>(), y, std::move(scale), std::move(zp)));
  return std::unique_ptr<StepKernel>(new DequantizeKernel<std::int32_t>(g, l.dequantize_s32, l.isa, x.data<std::int32_t>(), y, std::move(scale), std::move(zp)));
}

}  // namespace sparsify::engine
