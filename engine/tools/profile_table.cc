// Per-layer profile rows: op, node, kernel, shape, weight sparsity, time, GFLOP/s, share.
#include "engine/tools/profile_table.h"

#include <algorithm>
#include <cstdio>
#include <numeric>

namespace sparsify::tools {

using namespace sparsify::engine;

namespace {

// Index of the constant weight input for ops that have one, else -1.
int weight_input(const std::string& op) {
  if (op == "Conv" || op == "MatMul" || op == "Gemm" || op == "ConvInteger" || op == "MatMulInteger") return 1;
  if (op == "QLinearConv" || op == "QLinearMatMul" || op == "QLinearMatMulDequantize") return 3;
  return -1;
}

const Tensor* weight_of(const ExecutionPlan& plan, const Node& n) {
  const int w = weight_input(n.op_type);
  if (w < 0 || static_cast<int>(n.inputs.size()) <= w || n.inputs[w] == kNoValue) return nullptr;
  const Tensor& t = plan.value_desc(n.inputs[w]);
  return t.has_data() ? &t : nullptr;
}

double zero_fraction(const Tensor& t) {
  if (t.numel() == 0) return 0;
  std::int64_t z = 0;
  for (std::int64_t i = 0; i < t.numel(); ++i) z += t.element_as_double(i) == 0.0 ? 1 : 0;
  return static_cast<double>(z) / static_cast<double>(t.numel());
}

}  // namespace

double step_flops(const ExecutionPlan& plan, const PlanStep& step) {
  const Node& n = plan.graph().nodes[step.node];
  if (n.outputs.empty() || n.outputs[0] == kNoValue) return 0;
  const double out = static_cast<double>(plan.value_desc(n.outputs[0]).numel());
  const int w = weight_input(n.op_type);
  if (w < 0 || static_cast<int>(n.inputs.size()) <= w) return 0;
  const Tensor& wd = plan.value_desc(n.inputs[w]);
  if (n.op_type == "Conv" || n.op_type == "QLinearConv" || n.op_type == "ConvInteger") {
    if (wd.rank() < 1 || wd.dim(0) == 0) return 0;
    return 2.0 * out * static_cast<double>(wd.numel() / wd.dim(0));
  }
  const Tensor& a = plan.value_desc(n.inputs[0]);
  if (a.rank() < 1) return 0;
  std::int64_t k = a.dim(a.rank() - 1);
  if (n.op_type == "Gemm") {
    const Attribute* ta = n.find_attribute("transA");
    if (ta != nullptr && ta->i != 0 && a.rank() == 2) k = a.dim(0);
  }
  return 2.0 * out * static_cast<double>(k);
}

std::vector<ProfileRow> profile_rows(const ExecutionPlan& plan, std::size_t runs) {
  const std::vector<double>& ms = plan.step_ms();
  const double total = std::accumulate(ms.begin(), ms.end(), 0.0);
  const double per = static_cast<double>(std::max<std::size_t>(runs, 1));
  std::vector<ProfileRow> rows;
  for (std::size_t i = 0; i < ms.size() && i < plan.steps().size(); ++i) {
    if (ms[i] <= 0) continue;
    const PlanStep& s = plan.steps()[i];
    const Node& n = plan.graph().nodes[s.node];
    ProfileRow r;
    r.op = n.op_type;
    r.node = n.name;
    r.kernel = s.impl;
    if (!n.outputs.empty() && n.outputs[0] != kNoValue) r.shape = plan.value_desc(n.outputs[0]).describe();
    if (const Tensor* w = weight_of(plan, n)) r.weight_sparsity = zero_fraction(*w);
    r.ms = ms[i] / per;
    const double flops = step_flops(plan, s);
    r.gflops = flops > 0 ? flops / (r.ms * 1e6) : 0;
    r.share = total > 0 ? ms[i] / total : 0;
    rows.push_back(r);
  }
  std::stable_sort(rows.begin(), rows.end(), [](const ProfileRow& a, const ProfileRow& b) { return a.ms > b.ms; });
  return rows;
}

std::string format_profile(const std::vector<ProfileRow>& rows, std::size_t top) {
  std::size_t wo = 2, wn = 4, wk = 6, wsh = 5;
  const std::size_t n = top == 0 ? rows.size() : std::min(top, rows.size());
  for (std::size_t i = 0; i < n; ++i) {
    wo = std::max(wo, rows[i].op.size());
    wn = std::max(wn, std::min<std::size_t>(rows[i].node.size(), 40));
    wk = std::max(wk, rows[i].kernel.size());
    wsh = std::max(wsh, rows[i].shape.size());
  }
  std::string out;
  char buf[512];
  std::snprintf(buf, sizeof buf, "%-*s %-*s %-*s %-*s %8s %10s %9s %6s\n", static_cast<int>(wo), "op", static_cast<int>(wn), "node", static_cast<int>(wk),
                "kernel", static_cast<int>(wsh), "shape", "w.sparse", "ms/run", "GFLOP/s", "share");
  out += buf;
  double total = 0, shown = 0;
  for (const ProfileRow& r : rows) total += r.ms;
  for (std::size_t i = 0; i < n; ++i) {
    const ProfileRow& r = rows[i];
    shown += r.ms;
    std::string node = r.node.size() > 40 ? "..." + r.node.substr(r.node.size() - 37) : r.node;
    char sp[16] = "-", gf[16] = "-";
    if (r.weight_sparsity >= 0) std::snprintf(sp, sizeof sp, "%.1f%%", 100 * r.weight_sparsity);
    if (r.gflops > 0) std::snprintf(gf, sizeof gf, "%.1f", r.gflops);
    std::snprintf(buf, sizeof buf, "%-*s %-*s %-*s %-*s %8s %10.3f %9s %5.1f%%\n", static_cast<int>(wo), r.op.c_str(), static_cast<int>(wn), node.c_str(),
                  static_cast<int>(wk), r.kernel.c_str(), static_cast<int>(wsh), r.shape.c_str(), sp, r.ms, gf, 100 * r.share);
    out += buf;
  }
  std::snprintf(buf, sizeof buf, "total %.3f ms/run over %zu steps%s\n", total, rows.size(),
                n < rows.size() ? str_cat(" (", n, " slowest shown, ", static_cast<int>(100 * shown / std::max(total, 1e-12) + 0.5), "% of the time)").c_str() : "");
  out += buf;
  return out;
}

}  // namespace sparsify::tools
