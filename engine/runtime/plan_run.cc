// Running a plan: validate and copy inputs in, run the bound steps in order, copy outputs out.
// Nothing here chooses, sizes or allocates; reference steps may allocate inside the op.
#include <algorithm>
#include <chrono>
#include <cstring>
#include <numeric>

#include "engine/runtime/plan.h"
#include "engine/runtime/thread_pool.h"

namespace sparsify::engine {
namespace {

Status check_tensor(const char* what, const std::string& name, const Tensor* got, const Tensor& want) {
  if (got == nullptr) return invalid_argument(what, " '", name, "' was not given; expected ", want.describe());
  if (got->dtype() != want.dtype()) {
    return invalid_argument(what, " '", name, "' is ", dtype_name(got->dtype()), ", expected ", dtype_name(want.dtype()),
                            " (", want.describe(), ")");
  }
  if (got->dims() != want.dims()) {
    return invalid_argument(what, " '", name, "' has shape ", dims_to_string(got->dims()), ", expected ",
                            dims_to_string(want.dims()), " (the plan was compiled for it)");
  }
  if (!got->has_data()) return invalid_argument(what, " '", name, "' has no contents");
  return Status();
}

}  // namespace

ExecutionPlan::ExecutionPlan() = default;
ExecutionPlan::~ExecutionPlan() = default;

std::vector<Tensor> ExecutionPlan::make_outputs() const {
  std::vector<Tensor> outs;
  outs.reserve(graph_.outputs.size());
  for (ValueId id : graph_.outputs) outs.emplace_back(descs_[id].dtype(), descs_[id].dims());
  return outs;
}

void ExecutionPlan::set_profiling(bool on) { step_ms_.assign(on ? steps_.size() : 0, 0.0); }

std::string ExecutionPlan::profile_report(std::size_t top) const {
  std::vector<std::size_t> order(step_ms_.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return step_ms_[a] > step_ms_[b]; });
  const double total = std::accumulate(step_ms_.begin(), step_ms_.end(), 0.0);
  std::string out;
  for (std::size_t i = 0; i < order.size() && i < top; ++i) {
    const PlanStep& s = steps_[order[i]];
    const Node& n = graph_.nodes[s.node];
    char buf[64];
    std::snprintf(buf, sizeof buf, "%9.3f ms %5.1f%%  ", step_ms_[order[i]], total > 0 ? 100.0 * step_ms_[order[i]] / total : 0.0);
    out += str_cat(buf, "#", order[i], " ", n.op_type, " '", n.name, "' ", descs_[n.outputs[0]].describe(), " -> ", s.impl, "\n");
  }
  return out;
}

std::size_t ExecutionPlan::reference_steps() const {
  std::size_t n = 0;
  for (const PlanStep& s : steps_) n += s.context ? 1 : 0;
  return n;
}

Status ExecutionPlan::run_step(PlanStep& step) {
  if (step.kernel) return step.kernel->run(scratch_.data(), pool_.get());
  for (const auto& [p, n] : step.zero) std::memset(p, 0, n);
  const Node& node = graph_.nodes[step.node];
  Status s = node.op->run(*step.context);
  if (!s.ok()) {
    if (s.message().find("'" + node.name + "'") != std::string::npos) return s;
    return s.with_prefix(str_cat("node '", node.name, "' (", node.op_type, ")"));
  }
  if (step.epilogue.empty()) return Status();
  Tensor& y = step.outputs[0];
  if (y.dtype() != DType::kFloat32) return internal_error("node '", node.name, "': epilogue on ", y.describe());
  float* p = y.data<float>();
  if (step.epilogue.matmul_bias) {
    const Tensor& bias = step.context->input(2);
    const std::int64_t cols = bias.numel();
    add_bias_rows(p, bias.data<float>(), y.numel() / cols, cols);
  }
  if (step.epilogue.residual) add_residual(p, step.context->input(kConvResidualInput).data<float>(), y.numel());
  apply_activation(step.epilogue, p, y.numel());
  return Status();
}

Status ExecutionPlan::run(const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs) {
  if (inputs.size() != graph_.inputs.size()) {
    return invalid_argument("model has ", graph_.inputs.size(), " inputs, got ", inputs.size());
  }
  if (outputs.size() != graph_.outputs.size()) {
    return invalid_argument("model has ", graph_.outputs.size(), " outputs, got ", outputs.size(), " output tensors");
  }
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const ValueId id = graph_.inputs[i];
    SPARSIFY_RETURN_IF_ERROR(check_tensor("input", graph_.values[id].name, inputs[i], descs_[id]));
  }
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    const ValueId id = graph_.outputs[i];
    SPARSIFY_RETURN_IF_ERROR(check_tensor("output", graph_.values[id].name, &outputs[i], descs_[id]));
  }
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const ValueId id = graph_.inputs[i];
    if (slots_[id].storage == Storage::kArena) std::memcpy(tensors_[id].raw_data(), inputs[i]->raw_data(), slots_[id].bytes);
  }
  if (step_ms_.empty()) {
    for (std::int32_t s : runnable_) SPARSIFY_RETURN_IF_ERROR(run_step(steps_[s]));
  } else {
    for (std::int32_t s : runnable_) {
      const auto t0 = std::chrono::steady_clock::now();
      SPARSIFY_RETURN_IF_ERROR(run_step(steps_[s]));
      step_ms_[s] += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    }
  }
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    const ValueId id = graph_.outputs[i];
    if (slots_[id].bytes > 0) std::memcpy(outputs[i].raw_data(), tensors_[id].raw_data(), slots_[id].bytes);
  }
  return Status();
}

}  // namespace sparsify::engine
