// Engine facade: import, per-shape compile cache (passes + plan, reference fallback), named runs.
#include "engine/engine.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "engine/graph/onnx_import.h"
#include "engine/passes/passes.h"
#include "engine/runtime/executor.h"
#include "engine/runtime/plan.h"

namespace sparsify::engine {

// ---- CompiledModel --------------------------------------------------------------------------

CompiledModel::~CompiledModel() = default;

std::vector<Tensor> CompiledModel::make_outputs() const {
  std::vector<Tensor> outs;
  outs.reserve(outputs_.size());
  for (const TensorInfo& o : outputs_) {
    outs.push_back(o.dtype == DType::kUndefined ? Tensor() : Tensor(o.dtype, o.dims));
  }
  return outs;
}

Status CompiledModel::run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) {
  if (inputs.size() != inputs_.size()) return invalid_argument("model has ", inputs_.size(), " inputs, got ", inputs.size());
  input_ptrs_.clear();  // capacity reserved at compile: no allocation
  for (const Tensor& t : inputs) input_ptrs_.push_back(&t);
  if (plan_) return plan_->run(input_ptrs_, outputs);
  // Reference fallback: output shapes may only be known now, so the outputs are replaced.
  SPARSIFY_ASSIGN_OR_RETURN(outputs, fallback_->run(inputs));
  return Status();
}

Status CompiledModel::run(const std::map<std::string, Tensor>& inputs, std::vector<Tensor>& outputs) {
  for (const auto& kv : inputs) {
    const bool known = std::any_of(inputs_.begin(), inputs_.end(), [&](const TensorInfo& i) { return i.name == kv.first; });
    if (!known) {
      std::string names;
      for (const TensorInfo& i : inputs_) names += (names.empty() ? "'" : ", '") + i.name + "'";
      return not_found("'", kv.first, "' is not an input of the model (inputs: ", names, ")");
    }
  }
  input_ptrs_.clear();
  for (const TensorInfo& info : inputs_) {
    auto it = inputs.find(info.name);
    if (it == inputs.end()) {
      return not_found("input '", info.name, "' was not given; expected ", dtype_name(info.dtype), dims_to_string(info.dims));
    }
    input_ptrs_.push_back(&it->second);
  }
  if (plan_) return plan_->run(input_ptrs_, outputs);
  std::vector<Tensor> ordered;
  for (const Tensor* t : input_ptrs_) ordered.push_back(*t);
  return run(ordered, outputs);
}

StatusOr<std::vector<Tensor>> CompiledModel::run(const std::vector<Tensor>& inputs) {
  if (!plan_) return fallback_->run(inputs);
  std::vector<Tensor> outs = make_outputs();
  SPARSIFY_RETURN_IF_ERROR(run(inputs, outs));
  return outs;
}

std::string CompiledModel::dump_plan() const {
  if (plan_) return plan_->dump();
  return str_cat("plan: none; running the reference executor node by node (", fallback_reason_, ")\n");
}

void CompiledModel::set_profiling(bool on) {
  if (plan_) plan_->set_profiling(on);
}

std::string CompiledModel::profile_report(std::size_t top) const { return plan_ ? plan_->profile_report(top) : ""; }

// ---- Engine -----------------------------------------------------------------------------------

Engine::Engine(std::shared_ptr<const Graph> graph, const Options& options, Isa isa)
    : graph_(std::move(graph)), options_(options), isa_(isa) {}
Engine::Engine(Engine&&) noexcept = default;
Engine& Engine::operator=(Engine&&) noexcept = default;
Engine::~Engine() = default;

StatusOr<Engine> Engine::make(StatusOr<Graph> graph, const Options& options) {
  if (!graph.ok()) return graph.status();
  if (options.threads < 0) return invalid_argument("threads must be >= 0, got ", options.threads);
  if (options.batch_size < 0) return invalid_argument("batch size must be >= 0, got ", options.batch_size);
  SPARSIFY_ASSIGN_OR_RETURN(Isa isa, effective_isa(options.isa_ceiling));
  Options o = options;
  if (const char* env = std::getenv("SPARSIFY_SPARSE"); env != nullptr && *env != '\0' && o.sparse == SparseMode::kAuto) {
    SPARSIFY_ASSIGN_OR_RETURN(o.sparse, parse_sparse_mode(env, "SPARSIFY_SPARSE"));
  }
  if (o.threads == 0) o.threads = cpu_info().logical_cores;
  return Engine(std::make_shared<const Graph>(std::move(graph).value()), o, isa);
}

StatusOr<Engine> Engine::load_file(const std::string& path, const Options& options) {
  return make(import_onnx_file(path), options);
}

StatusOr<Engine> Engine::load_bytes(std::string_view bytes, const std::string& base_dir, const Options& options) {
  return make(import_onnx_bytes(bytes, base_dir, "model bytes"), options);
}

std::vector<std::string> Engine::input_names() const {
  std::vector<std::string> names;
  for (ValueId id : graph_->inputs) names.push_back(graph_->values[id].name);
  return names;
}

std::vector<std::string> Engine::output_names() const {
  std::vector<std::string> names;
  for (ValueId id : graph_->outputs) names.push_back(graph_->values[id].name);
  return names;
}

void Engine::set_check_declared_shapes(bool check) {
  check_declared_shapes_ = check;
  cache_.clear();
}

StatusOr<std::vector<Tensor>> Engine::input_descs(std::int64_t batch) const {
  if (batch <= 0) batch = options_.batch_size > 0 ? options_.batch_size : 1;
  std::vector<Tensor> descs;
  for (ValueId id : graph_->inputs) {
    const Value& v = graph_->values[id];
    if (v.dtype == DType::kUndefined) return invalid_argument("input '", v.name, "' declares no element type");
    if (!v.shape) return invalid_argument("input '", v.name, "' declares no shape; give the inputs explicitly");
    Dims dims;
    for (std::size_t d = 0; d < v.shape->size(); ++d) {
      const Dim& dim = (*v.shape)[d];
      if (dim.is_known()) dims.push_back(dim.value);
      else if (d == 0) dims.push_back(batch);
      else {
        return invalid_argument("input '", v.name, "' dim ", d, " is ", dim.is_symbol() ? "'" + dim.symbol + "'" : "unknown",
                                " ", shape_to_string(*v.shape), "; only the leading (batch) dim can be chosen, give the inputs explicitly");
      }
    }
    descs.push_back(Tensor::shape_only(v.dtype, dims));
  }
  return descs;
}

StatusOr<CompiledModel*> Engine::compile(const std::vector<Tensor>& input_descs) {
  std::vector<std::pair<DType, Dims>> key;
  for (const Tensor& t : input_descs) key.emplace_back(t.dtype(), t.dims());
  auto it = cache_.find(key);
  if (it != cache_.end()) return it->second.get();
  if (options_.batch_size > 0) {
    for (std::size_t i = 0; i < input_descs.size() && i < graph_->inputs.size(); ++i) {
      const Value& v = graph_->values[graph_->inputs[i]];
      const bool batched = v.shape && !v.shape->empty() && !(*v.shape)[0].is_known();
      if (batched && (input_descs[i].rank() == 0 || input_descs[i].dim(0) != options_.batch_size)) {
        return invalid_argument("input '", v.name, "' has shape ", dims_to_string(input_descs[i].dims()),
                                ", expected batch size ", options_.batch_size, " in dim 0 (fixed at load)");
      }
    }
  }
  auto cm = std::unique_ptr<CompiledModel>(new CompiledModel());
  SPARSIFY_ASSIGN_OR_RETURN(PassState passes, run_passes(*graph_, input_descs, check_declared_shapes_, options_.optimize));
  PlanOptions po;
  po.isa = isa_;
  po.threads = options_.threads;
  po.sparse = options_.sparse;
  auto plan = ExecutionPlan::build(std::move(passes), po);
  if (plan.ok()) {
    cm->plan_ = std::move(plan).value();
  } else if (plan.status().code() == StatusCode::kUnsupported) {
    // Shapes that depend on run-time data: the reference executor settles them node by node.
    cm->fallback_reason_ = plan.status().message();
    SPARSIFY_ASSIGN_OR_RETURN(ReferenceExecutor ex, ReferenceExecutor::compile(graph_, input_descs, check_declared_shapes_));
    cm->fallback_ = std::make_unique<ReferenceExecutor>(std::move(ex));
  } else {
    return plan.status();
  }
  for (std::size_t i = 0; i < graph_->inputs.size(); ++i) {
    cm->inputs_.push_back({graph_->values[graph_->inputs[i]].name, input_descs[i].dtype(), input_descs[i].dims()});
  }
  for (ValueId id : graph_->outputs) {
    TensorInfo info{graph_->values[id].name, DType::kUndefined, {}};
    if (cm->plan_) {
      info.dtype = cm->plan_->value_desc(id).dtype();
      info.dims = cm->plan_->value_desc(id).dims();
    } else {
      const Tensor& t = cm->fallback_->inferred().values[id];
      info.dtype = t.dtype();
      info.dims = t.dims();
    }
    cm->outputs_.push_back(std::move(info));
  }
  cm->input_ptrs_.reserve(graph_->inputs.size());
  CompiledModel* p = cm.get();
  cache_.emplace(std::move(key), std::move(cm));
  return p;
}

StatusOr<std::vector<Tensor>> Engine::run(const std::vector<Tensor>& inputs) {
  SPARSIFY_ASSIGN_OR_RETURN(CompiledModel* cm, compile(inputs));
  return cm->run(inputs);
}

StatusOr<std::map<std::string, Tensor>> Engine::run(const std::map<std::string, Tensor>& inputs) {
  std::vector<Tensor> ordered;
  for (ValueId id : graph_->inputs) {
    const std::string& name = graph_->values[id].name;
    auto it = inputs.find(name);
    if (it == inputs.end()) return not_found("input '", name, "' was not given");
    ordered.push_back(it->second);
  }
  if (inputs.size() != ordered.size()) {
    for (const auto& kv : inputs) {
      if (graph_->find_value(kv.first) == kNoValue || !graph_->values[graph_->find_value(kv.first)].is_graph_input) {
        return not_found("'", kv.first, "' is not an input of the model");
      }
    }
  }
  SPARSIFY_ASSIGN_OR_RETURN(std::vector<Tensor> outs, run(ordered));
  std::map<std::string, Tensor> named;
  for (std::size_t i = 0; i < outs.size(); ++i) named.emplace(graph_->values[graph_->outputs[i]].name, outs[i]);
  return named;
}

}  // namespace sparsify::engine
