// The plan dump (`sparsify run --dump-plan`): every step with its chosen and rejected
// implementations, shapes and arena ranges, then memory totals and the pass log.
#include <map>
#include <sstream>

#include "engine/runtime/plan.h"

namespace sparsify::engine {
namespace {

std::string bytes_str(std::size_t b) {
  char buf[32];
  if (b >= (1u << 20)) std::snprintf(buf, sizeof buf, "%.2f MiB", b / 1048576.0);
  else if (b >= 1024) std::snprintf(buf, sizeof buf, "%.1f KiB", b / 1024.0);
  else std::snprintf(buf, sizeof buf, "%zu B", b);
  return buf;
}

}  // namespace

std::string ExecutionPlan::dump() const {
  std::ostringstream os;
  std::map<std::string, int> by_impl;
  for (const PlanStep& s : steps_) ++by_impl[s.impl];
  os << "plan: " << steps_.size() << " steps for " << graph_.nodes.size() << " nodes | isa " << isa_name(options_.isa)
     << " | threads " << options_.threads << " |";
  for (const auto& [impl, n] : by_impl) os << " " << impl << " x" << n;
  os << "\n";
  os << "memory: arena " << bytes_str(arena_.size()) << " (" << bytes_str(unshared_bytes_)
     << " without reuse), scratch " << bytes_str(scratch_bytes_) << ", offsets aligned to " << kArenaAlignment << "\n";
  auto where = [&](ValueId id) -> std::string {
    const ValueSlot& s = slots_[id];
    if (s.storage == Storage::kConstant) return "const";
    if (s.storage == Storage::kArena) return str_cat("arena[", s.offset, ",", s.offset + s.bytes, ")");
    return "-";
  };
  auto value_line = [&](ValueId id) {
    return str_cat("'", graph_.values[id].name, "' ", descs_[id].describe(), " @", where(id));
  };
  os << "inputs:\n";
  for (ValueId id : graph_.inputs) os << "  " << value_line(id) << "\n";
  os << "outputs:\n";
  for (ValueId id : graph_.outputs) os << "  " << value_line(id) << "\n";
  os << "steps:\n";
  for (std::size_t i = 0; i < steps_.size(); ++i) {
    const PlanStep& s = steps_[i];
    const Node& node = graph_.nodes[s.node];
    os << "  #" << i << " " << node.op_type << " '" << node.name << "' -> " << s.impl;
    if (!s.epilogue.empty()) os << " [+" << s.epilogue.describe() << (s.kernel ? " fused" : " epilogue") << "]";
    if (s.in_place) os << " [in place of input " << s.in_place_input << "]";
    if (s.alias) os << " [view of input 0, no work]";
    os << "\n";
    for (ValueId in : node.inputs) {
      if (in != kNoValue) os << "      in  " << value_line(in) << "\n";
    }
    for (std::size_t k = 0; k < node.outputs.size(); ++k) {
      if (node.outputs[k] != kNoValue) os << "      out " << value_line(node.outputs[k]) << "\n";
      else if (s.outputs.size() > k && s.outputs[k].has_data()) os << "      out #" << k << " (unnamed, step-local) " << s.outputs[k].describe() << "\n";
    }
    if (!s.decision.empty()) {
      std::istringstream lines(s.decision);
      for (std::string line; std::getline(lines, line);) os << "      decision: " << line << "\n";
    }
    for (const RejectedImpl& r : s.rejected) os << "      rejected " << r.impl << ": " << r.reason << "\n";
  }
  os << "passes:\n";
  if (pass_log_.empty()) os << "  (nothing changed)\n";
  for (const PassLogEntry& e : pass_log_) os << "  " << e.pass << ": " << e.message << "\n";
  return os.str();
}

}  // namespace sparsify::engine
