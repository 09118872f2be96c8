// Plan building: shapes, buffer lifetimes (alias and in-place sharing), arena offsets, and the
// implementation choice per step. Everything run() needs is bound here.
#include "engine/runtime/plan.h"

#include <algorithm>
#include <cstring>

#include "engine/runtime/memory_planner.h"
#include "engine/runtime/thread_pool.h"

namespace sparsify::engine {
namespace {

// Ops whose output 0 is input 0's bytes under new dims: the plan makes it a view, nothing runs.
bool is_alias_op(const Node& n) {
  return n.op_type == "Reshape" || n.op_type == "Flatten" || n.op_type == "Squeeze" || n.op_type == "Unsqueeze" ||
         n.op_type == "Identity";
}

// Elementwise ops whose reference and runtime implementations read element i of an input with the
// output's dims only before writing element i: output 0 may take that input's storage.
bool is_in_place_op(const Node& n) {
  static const char* const kOps[] = {"Relu", "LeakyRelu", "Sigmoid", "Tanh", "Clip", "HardSigmoid", "HardSwish",
                                     "Exp", "Neg", "Abs", "Sqrt", "Erf", "Elu", "Softplus", "Add", "Sub", "Mul",
                                     "Div", "Pow", "Max", "Min"};
  for (const char* op : kOps) {
    if (n.op_type == op) return true;
  }
  return false;
}

struct Buffer {
  std::size_t bytes = 0;
  std::int32_t first = 0;
  std::int32_t last = 0;
};

}  // namespace

StatusOr<std::unique_ptr<ExecutionPlan>> ExecutionPlan::build(PassState passes, const PlanOptions& options) {
  std::unique_ptr<ExecutionPlan> plan(new ExecutionPlan());
  plan->pool_ = std::make_unique<ThreadPool>(std::max(1, options.threads));
  plan->graph_ = std::move(passes.graph);
  plan->options_ = options;
  plan->pass_log_ = std::move(passes.log);
  const Graph& g = plan->graph_;
  SPARSIFY_ASSIGN_OR_RETURN(InferredGraph ig, infer_shapes(g, passes.input_descs, passes.check_declared_shapes));
  plan->descs_ = std::move(ig.values);
  const auto nv = g.values.size();
  const auto nn = static_cast<std::int32_t>(g.nodes.size());

  // Output descriptors per node, unnamed outputs included (ops may write them).
  std::vector<std::vector<Tensor>> out_descs(g.nodes.size());
  for (std::int32_t n = 0; n < nn; ++n) {
    const Node& node = g.nodes[n];
    if (ig.folded[n]) continue;
    std::vector<const Tensor*> ins;
    for (ValueId in : node.inputs) {
      if (in != kNoValue && plan->descs_[in].dtype() == DType::kUndefined) {
        return unsupported("node '", node.name, "' (", node.op_type, "): input '", g.values[in].name,
                           "' has a shape that depends on run-time data; the planned runtime needs static shapes");
      }
      ins.push_back(in == kNoValue ? nullptr : &plan->descs_[in]);
    }
    out_descs[n].resize(node.outputs.size());
    OpContext ctx(node, g.opset, ins, &out_descs[n]);
    SPARSIFY_RETURN_IF_ERROR(node.op->prepare(ctx));
    if (ctx.deferred()) {
      return unsupported("node '", node.name, "' (", node.op_type,
                         "): output shape depends on run-time data; the planned runtime needs static shapes");
    }
  }

  // Lifetimes in plan time: 0 = inputs copied in, node n runs at n + 1, outputs read at nn + 1.
  std::vector<std::int32_t> last_use(nv, -1);
  for (std::int32_t n = 0; n < nn; ++n) {
    for (ValueId in : g.nodes[n].inputs) {
      if (in != kNoValue) last_use[in] = n + 1;
    }
  }
  for (ValueId out : g.outputs) last_use[out] = nn + 1;

  std::vector<Buffer> buffers;
  plan->slots_.assign(nv, ValueSlot{});
  auto new_buffer = [&](ValueId v, std::size_t bytes, std::int32_t first) {
    buffers.push_back({bytes, first, std::max(first, v == kNoValue ? first : last_use[v])});
    return static_cast<std::int32_t>(buffers.size() - 1);
  };
  for (ValueId in : g.inputs) {
    if (plan->descs_[in].has_data()) continue;
    plan->slots_[in] = {Storage::kArena, 0, plan->descs_[in].nbytes(), new_buffer(in, plan->descs_[in].nbytes(), 0)};
  }
  for (std::size_t v = 0; v < nv; ++v) {
    if (plan->descs_[v].has_data()) plan->slots_[v] = {Storage::kConstant, 0, plan->descs_[v].nbytes(), -1};
  }
  std::vector<std::vector<std::int32_t>> unnamed(g.nodes.size());
  for (std::int32_t n = 0; n < nn; ++n) {
    if (ig.folded[n]) continue;
    const Node& node = g.nodes[n];
    PlanStep step;
    step.node = n;
    step.epilogue = read_epilogue(node);
    const std::int32_t t = n + 1;
    const ValueId in0 = node.inputs.empty() ? kNoValue : node.inputs[0];
    const ValueId out0 = node.outputs.empty() ? kNoValue : node.outputs[0];
    auto arena_buffer = [&](ValueId v) { return v != kNoValue && plan->slots_[v].storage == Storage::kArena ? plan->slots_[v].buffer : -1; };
    if (is_alias_op(node) && out0 != kNoValue && arena_buffer(in0) >= 0 &&
        plan->descs_[in0].nbytes() == out_descs[n][0].nbytes()) {
      const std::int32_t b = arena_buffer(in0);
      buffers[b].last = std::max(buffers[b].last, last_use[out0]);
      plan->slots_[out0] = {Storage::kArena, 0, out_descs[n][0].nbytes(), b};
      step.alias = true;
      step.impl = "alias";
    } else if (is_in_place_op(node) && out0 != kNoValue) {
      for (std::size_t k = 0; k < node.inputs.size() && !step.in_place; ++k) {
        const std::int32_t b = arena_buffer(node.inputs[k]);
        if (b < 0 || buffers[b].last != t) continue;
        const Tensor& d = plan->descs_[node.inputs[k]];
        if (d.dtype() != out_descs[n][0].dtype() || d.dims() != out_descs[n][0].dims()) continue;
        bool shared = false;
        for (std::size_t j = 0; j < node.inputs.size(); ++j) shared = shared || (j != k && arena_buffer(node.inputs[j]) == b);
        if (shared) continue;
        buffers[b].last = std::max(t, last_use[out0]);
        plan->slots_[out0] = {Storage::kArena, 0, d.nbytes(), b};
        step.in_place = true;
        step.in_place_input = static_cast<int>(k);
      }
    }
    for (std::size_t i = 0; i < node.outputs.size(); ++i) {
      const ValueId out = node.outputs[i];
      const Tensor& d = out_descs[n][i];
      if (d.dtype() == DType::kUndefined) {
        unnamed[n].push_back(-1);
        continue;
      }
      if (out == kNoValue) {  // unnamed but written by the op: lives for this step only
        unnamed[n].push_back(new_buffer(kNoValue, d.nbytes(), t));
        continue;
      }
      unnamed[n].push_back(-1);
      if (i == 0 && (step.alias || step.in_place)) continue;
      plan->slots_[out] = {Storage::kArena, 0, d.nbytes(), new_buffer(out, d.nbytes(), t)};
    }
    plan->steps_.push_back(std::move(step));
  }
  for (ValueId out : g.outputs) {
    if (plan->slots_[out].storage == Storage::kNone) {
      return internal_error("graph output '", g.values[out].name, "' has no storage in the plan");
    }
  }

  std::vector<BufferRequest> requests;
  for (const Buffer& b : buffers) requests.push_back({b.bytes, b.first, b.last});
  const MemoryPlan mp = plan_memory(requests);
  plan->arena_ = Arena(mp.arena_bytes);
  plan->unshared_bytes_ = mp.unshared_bytes;
  plan->tensors_.assign(nv, Tensor());
  for (std::size_t v = 0; v < nv; ++v) {
    ValueSlot& s = plan->slots_[v];
    if (s.storage == Storage::kConstant) plan->tensors_[v] = plan->descs_[v];
    if (s.storage != Storage::kArena) continue;
    s.offset = mp.offsets[s.buffer];
    plan->tensors_[v] = Tensor::view(plan->descs_[v].dtype(), plan->descs_[v].dims(), plan->arena_.block(), s.offset);
  }
  for (PlanStep& step : plan->steps_) {
    const Node& node = g.nodes[step.node];
    step.outputs.resize(node.outputs.size());
    for (std::size_t i = 0; i < node.outputs.size(); ++i) {
      const Tensor& d = out_descs[step.node][i];
      if (node.outputs[i] != kNoValue) step.outputs[i] = plan->tensors_[node.outputs[i]];
      else if (unnamed[step.node][i] >= 0) step.outputs[i] = Tensor::view(d.dtype(), d.dims(), plan->arena_.block(), mp.offsets[unnamed[step.node][i]]);
    }
  }
  SPARSIFY_RETURN_IF_ERROR(plan->bind_steps());
  return plan;
}

Status ExecutionPlan::bind_steps() {
  std::size_t scratch = 0;
  for (std::size_t s = 0; s < steps_.size(); ++s) {
    PlanStep& step = steps_[s];
    if (step.alias) continue;
    const Node& node = graph_.nodes[step.node];
    StepBinding b;
    b.node = &node;
    b.opset = graph_.opset;
    for (ValueId in : node.inputs) {
      b.inputs.push_back(in == kNoValue ? nullptr : &tensors_[in]);
      b.input_is_constant.push_back(in != kNoValue && slots_[in].storage == Storage::kConstant);
    }
    for (std::size_t i = 0; i < step.outputs.size(); ++i) b.outputs.push_back(step.outputs[i].has_data() ? &step.outputs[i] : nullptr);
    b.epilogue = step.epilogue;
    b.isa = options_.isa;
    b.threads = options_.threads;
    b.in_place = step.in_place;
    b.sparse = options_.sparse;
    b.pool = pool_.get();
    for (const StepImplInfo& impl : all_step_impls()) {
      if (node.op_type != impl.op_type) continue;
      auto k = impl.make(b);
      if (k.ok()) {
        step.kernel = std::move(k).value();
        step.decision = step.kernel->decision();
        const std::string inner = step.kernel->name();
        step.impl = inner.empty() ? std::string(impl.name) : str_cat(impl.name, " (", inner, ")");
        break;
      }
      step.rejected.push_back({impl.name, k.status().to_string()});
    }
    if (step.kernel) {
      scratch = std::max(scratch, step.kernel->scratch_bytes());
      step.rejected.push_back({"reference", "slower (plain C++ in double precision, allocates per run)"});
    } else {
      step.impl = "reference";
      step.context = std::make_unique<OpContext>(node, graph_.opset, b.inputs, &step.outputs);
      if (!step.in_place) {
        for (Tensor& t : step.outputs) {
          if (t.has_data()) step.zero.emplace_back(static_cast<std::byte*>(t.raw_data()), t.nbytes());
        }
      }
    }
    runnable_.push_back(static_cast<std::int32_t>(s));
  }
  scratch_bytes_ = scratch;
  // Kernels were bound to arena addresses before their scratch needs were known, so the scratch
  // is its own block, allocated once here and shared by the steps (they run one at a time).
  if (scratch > 0) scratch_ = Arena(scratch);
  return Status();
}

}  // namespace sparsify::engine
