// Lint rules for recipes; each rule is a function that appends Diagnostics.
#include "sparseml/recipe/lint.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <regex>
#include <set>

#include "sparseml/recipe/schedule.h"

namespace sparsify::ml::recipe {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

std::string fmt_epoch(double e) { return Value::real(e).to_string(); }

Diagnostic diag(const Modifier& m, std::string message) { return Diagnostic{m.loc, m.type_name, std::move(message)}; }

bool is_gradual_pruning(const Modifier& m) {
  return m.category() == ModifierCategory::kPruning && m.kind != ModifierKind::kConstantPruningModifier;
}

// Pruning, quantization and distillation that start or finish only when training is over.
void lint_after_end(const Recipe& r, std::vector<Diagnostic>* out) {
  const double end = r.end_epoch();
  for (const auto& m : r.modifiers) {
    const double start = std::max(0.0, m.start_epoch);
    const std::string why = str_cat("training ends at epoch ", fmt_epoch(end), " (the last epoch any modifier names)");
    switch (m.category()) {
      case ModifierCategory::kPruning:
        if (m.kind == ModifierKind::kConstantPruningModifier) {
          if (start >= end && end > 0) out->push_back(diag(m, str_cat("never takes effect: it starts at epoch ", fmt_epoch(start), " and ", why)));
        } else if (start >= end) {
          out->push_back(diag(m, str_cat("never takes effect: it starts at epoch ", fmt_epoch(start), " and ", why,
                                         ", so no parameter is pruned")));
        } else if (m.end_epoch >= end) {
          out->push_back(diag(m, str_cat("never reaches its final sparsity: it ends at epoch ", fmt_epoch(m.end_epoch),
                                         " and ", why, "; end pruning before the last epoch to fine-tune after it")));
        }
        break;
      case ModifierCategory::kQuantization:
        if (start >= end && end > 0)
          out->push_back(diag(m, str_cat("never takes effect: quantization starts at epoch ", fmt_epoch(start), " and ", why)));
        for (auto [key, e] : {std::pair{"disable_quantization_observer_epoch", m.quant.disable_observer_epoch},
                              std::pair{"freeze_bn_stats_epoch", m.quant.freeze_bn_stats_epoch}})
          if (e >= end && start < end)
            out->push_back(diag(m, str_cat(key, " ", fmt_epoch(e), " is at or after the end of training (", fmt_epoch(end), "), so it never applies")));
        break;
      case ModifierCategory::kDistillation:
        if (start >= end && end > 0) out->push_back(diag(m, str_cat("never takes effect: it starts at epoch ", fmt_epoch(start), " and ", why)));
        break;
      default:
        break;
    }
  }
}

// Learning-rate and weight-decay changes scheduled after the end of training.
void lint_lr(const Recipe& r, std::vector<Diagnostic>* out) {
  const double end = r.end_epoch();
  for (const auto& m : r.modifiers) {
    if (m.category() != ModifierCategory::kLearningRate && m.category() != ModifierCategory::kWeightDecay) continue;
    const double start = std::max(0.0, m.start_epoch);
    if (start >= end && end > 0) {
      out->push_back(diag(m, str_cat("never takes effect: it changes the ",
                                     m.category() == ModifierCategory::kWeightDecay ? "weight decay" : "learning rate",
                                     " at epoch ", fmt_epoch(start), " and training ends at epoch ", fmt_epoch(end))));
      continue;
    }
    for (double ms : m.lr.milestones)
      if (ms >= end) out->push_back(diag(m, str_cat("milestone ", fmt_epoch(ms), " is at or after the end of training (", fmt_epoch(end), "), so it never applies")));
  }
}

// Do two epoch ranges overlap? -1 start = 0, -1 end = forever. Two jumps at the same epoch overlap.
bool epochs_overlap(const Modifier& a, const Modifier& b) {
  const double sa = std::max(0.0, a.start_epoch), sb = std::max(0.0, b.start_epoch);
  const double ea = a.end_epoch < 0 ? kInf : a.end_epoch, eb = b.end_epoch < 0 ? kInf : b.end_epoch;
  if (std::max(sa, sb) < std::min(ea, eb)) return true;
  return sa == ea && sb == eb && sa == sb;
}

bool is_all(const std::string& p) { return p == "__ALL__" || p == "__ALL_PRUNABLE__"; }

bool regex_full_match(const std::string& pattern, const std::string& name) {
  try {
    return std::regex_match(name, std::regex(pattern));
  } catch (const std::regex_error&) {
    return false;
  }
}

// Without a model: could these two pattern lists name a common parameter?
std::string shared_param(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  for (const auto& pa : a)
    for (const auto& pb : b) {
      if (pa == pb || is_all(pa) || is_all(pb)) return pa == pb || is_all(pb) ? pa : pb;
      const bool ra = pa.rfind("re:", 0) == 0, rb = pb.rfind("re:", 0) == 0;
      if (ra && !rb && regex_full_match(pa.substr(3), pb)) return pb;
      if (rb && !ra && regex_full_match(pb.substr(3), pa)) return pa;
    }
  return "";
}

void lint_overlaps(const Recipe& r, const std::vector<ParamInfo>* params, std::vector<Diagnostic>* out) {
  std::vector<const Modifier*> pruning;
  for (const auto& m : r.modifiers)
    if (m.category() == ModifierCategory::kPruning) pruning.push_back(&m);
  for (size_t i = 0; i < pruning.size(); ++i)
    for (size_t j = i + 1; j < pruning.size(); ++j) {
      const Modifier& a = *pruning[i];
      const Modifier& b = *pruning[j];
      if (!epochs_overlap(a, b)) continue;
      std::string common;
      if (params) {
        const auto ma = match_params(a.all_params(), *params);
        const auto mb = match_params(b.all_params(), *params);
        for (const auto& n : ma)
          if (std::find(mb.begin(), mb.end(), n) != mb.end()) { common = n; break; }
      } else {
        common = shared_param(a.all_params(), b.all_params());
      }
      if (common.empty()) continue;
      out->push_back(diag(b, str_cat("prunes '", common, "' over epochs that overlap ", a.describe(),
                                     "; two pruning modifiers on one parameter fight over its mask")));
    }
}

void lint_unmatched(const Recipe& r, const std::vector<ParamInfo>& params, std::vector<Diagnostic>* out) {
  std::string prunable;
  for (const auto& p : params)
    if (p.prunable) prunable += (prunable.empty() ? "" : ", ") + p.name;
  for (const auto& m : r.modifiers) {
    if (m.category() != ModifierCategory::kPruning) continue;
    for (const auto& pattern : m.all_params())
      if (match_params({pattern}, params).empty())
        out->push_back(diag(m, str_cat("params entry '", pattern, "' matches no parameter of the model; prunable parameters: ",
                                       prunable.empty() ? "(none)" : prunable)));
  }
  (void)is_gradual_pruning;
}

}  // namespace

std::string Diagnostic::to_string() const {
  return str_cat(loc.to_string(), ": warning: ", modifier.empty() ? "" : modifier + ": ", message);
}

std::vector<std::string> match_params(const std::vector<std::string>& patterns, const std::vector<ParamInfo>& params) {
  std::vector<std::string> out;
  for (const auto& p : params) {
    bool hit = false;
    for (const auto& pattern : patterns) {
      if (pattern == "__ALL__") hit = true;
      else if (pattern == "__ALL_PRUNABLE__") hit = p.prunable;
      else if (pattern.rfind("re:", 0) == 0) hit = regex_full_match(pattern.substr(3), p.name);
      else hit = pattern == p.name;
      if (hit) break;
    }
    if (hit) out.push_back(p.name);
  }
  return out;
}

std::vector<Diagnostic> lint_recipe(const Recipe& recipe) {
  std::vector<Diagnostic> out;
  lint_after_end(recipe, &out);
  lint_lr(recipe, &out);
  lint_overlaps(recipe, nullptr, &out);
  return out;
}

std::vector<Diagnostic> lint_recipe(const Recipe& recipe, const std::vector<ParamInfo>& params) {
  std::vector<Diagnostic> out;
  lint_after_end(recipe, &out);
  lint_lr(recipe, &out);
  lint_overlaps(recipe, &params, &out);
  lint_unmatched(recipe, params, &out);
  return out;
}

}  // namespace sparsify::ml::recipe
