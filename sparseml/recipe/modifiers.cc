// The modifier table (expanded from modifiers.def) and validation of one modifier's keys into a Modifier.
#include "sparseml/recipe/modifiers_internal.h"
#include "sparseml/recipe/yaml_load.h"

#include <algorithm>
#include <cmath>
#include <regex>

namespace sparsify::ml::recipe {
namespace {

// Per-modifier key arrays, expanded from modifiers.def.
#define K(key, Type, Req) FieldSpec{#key, FieldType::k##Type, Req},
#define Req true
#define Opt false
#define SPARSIFY_MODIFIER(Name, Category, Keys) constexpr FieldSpec k##Name##Fields[] = {Keys};
#include "sparseml/recipe/modifiers.def"
#undef SPARSIFY_MODIFIER
#undef K
#undef Req
#undef Opt

// Keys found in real SparseML recipes that only steered logging: accepted on every modifier, ignored.
constexpr const char* kIgnoredKeys[] = {"log_types", "constant_logging"};

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

}  // namespace

const std::vector<ModifierSpec>& modifier_specs() {
  static const std::vector<ModifierSpec> kSpecs = {
#define SPARSIFY_MODIFIER(Name, Category, Keys)                                         \
  ModifierSpec{ModifierKind::k##Name, #Name, ModifierCategory::k##Category, k##Name##Fields, \
               sizeof(k##Name##Fields) / sizeof(FieldSpec)},
#include "sparseml/recipe/modifiers.def"
#undef SPARSIFY_MODIFIER
  };
  return kSpecs;
}

const ModifierSpec* find_modifier_spec(std::string_view name) {
  for (const auto& s : modifier_specs())
    if (name == s.name) return &s;
  return nullptr;
}

const ModifierSpec& modifier_spec(ModifierKind kind) { return modifier_specs()[static_cast<size_t>(kind)]; }

const char* field_type_name(FieldType type) {
  switch (type) {
    case FieldType::kEpoch: return "an epoch (number >= -1)";
    case FieldType::kNumber: return "a number";
    case FieldType::kInt: return "an integer";
    case FieldType::kBool: return "true or false";
    case FieldType::kString: return "a string";
    case FieldType::kStrings: return "a string or a list of strings";
    case FieldType::kSparsity: return "a sparsity in [0, 1] or a map {sparsity: [params]}";
    case FieldType::kMaskType: return "'unstructured', 'block4', 'N:M' or [rows, cols]";
    case FieldType::kMap: return "a map";
    case FieldType::kAny: return "any value";
  }
  return "?";
}

const char* inter_func_name(InterFunc f) {
  switch (f) {
    case InterFunc::kLinear: return "linear";
    case InterFunc::kCubic: return "cubic";
    case InterFunc::kInverseCubic: return "inverse_cubic";
  }
  return "?";
}

std::string MaskType::to_string() const {
  switch (kind) {
    case Kind::kUnstructured: return "unstructured";
    case Kind::kBlock: return str_cat("[", rows, ",", cols, "]");
    case Kind::kNM: return str_cat(n, ":", m);
  }
  return "?";
}

std::vector<std::string> Modifier::all_params() const {
  std::vector<std::string> out;
  for (const auto& t : targets) out.insert(out.end(), t.params.begin(), t.params.end());
  return out;
}

std::string Modifier::describe() const {
  std::string s = type_name;
  if (!stage.empty()) s += " (stage '" + stage + "')";
  return s + " at " + loc.to_string();
}

std::string valid_keys_list(const ModifierSpec& spec) {
  std::string out;
  for (size_t i = 0; i < spec.num_fields; ++i) out += (i ? ", " : "") + std::string(spec.fields[i].key);
  return out;
}

std::string closest(const std::string& word, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_d = std::string::npos;
  for (const auto& c : candidates) {
    const size_t d = edit_distance(word, c);
    if (d < best_d) best_d = d, best = c;
  }
  return best_d <= std::max<size_t>(2, word.size() / 3) ? best : std::string();
}

namespace {

// Context for errors about one modifier.
struct Ctx {
  const ModifierSpec& spec;
  const SourceLoc& mod_loc;
  Status error(const SourceLoc& at, const std::string& key, const std::string& what) const {
    return invalid_argument(at.to_string(), ": ", spec.name, ": '", key, "' ", what);
  }
};

Status check_type(const Ctx& c, const std::string& key, const Value& v, FieldType type) {
  auto bad = [&]() {
    return c.error(v.loc(), key, str_cat("must be ", field_type_name(type), ", got ",
                                         Value::kind_name(v.kind()), " ", v.to_string()));
  };
  switch (type) {
    case FieldType::kEpoch:
      if (!v.is_number()) return bad();
      if (v.as_number() < -1.0) return c.error(v.loc(), key, str_cat("must be >= -1 (-1 means unbounded), got ", v.to_string()));
      return Status();
    case FieldType::kNumber: return v.is_number() ? Status() : bad();
    case FieldType::kInt:
      return v.is_int() || (v.is_float() && std::floor(v.as_number()) == v.as_number()) ? Status() : bad();
    case FieldType::kBool: return v.is_bool() ? Status() : bad();
    case FieldType::kString: return v.is_string() ? Status() : bad();
    case FieldType::kStrings:
      if (v.is_string() || v.is_null()) return Status();
      if (!v.is_list()) return bad();
      for (const auto& item : v.items())
        if (!item.is_string()) return c.error(item.loc(), key, str_cat("must hold only strings, got ", item.to_string()));
      return Status();
    case FieldType::kSparsity:
      return v.is_number() || v.is_map() ? Status() : bad();
    case FieldType::kMaskType:
      return v.is_string() || v.is_list() ? Status() : bad();
    case FieldType::kMap: return v.is_map() ? Status() : bad();
    case FieldType::kAny: return Status();
  }
  return Status();
}

std::vector<std::string> as_strings(const Value& v) {
  if (v.is_null()) return {};
  if (v.is_string()) return {v.as_string()};
  std::vector<std::string> out;
  for (const auto& item : v.items()) out.push_back(item.as_string());
  return out;
}

Status check_sparsity(const Ctx& c, const std::string& key, const Value& v, double s) {
  if (!(s >= 0.0 && s <= 1.0)) return c.error(v.loc(), key, str_cat("must be in [0, 1], got ", v.to_string()));
  return Status();
}

Status check_frequency(const Ctx& c, const Value& v) {
  const double f = v.as_number();
  if (f == -1.0 || f > 0.0) return Status();
  return c.error(v.loc(), "update_frequency", str_cat("must be -1 (every step) or > 0 epochs, got ", v.to_string()));
}

StatusOr<MaskType> parse_mask_type(const Ctx& c, const Value& v) {
  MaskType m;
  auto bad = [&]() {
    return c.error(v.loc(), "mask_type", str_cat("must be 'unstructured', 'block4', 'N:M' (e.g. '2:4') or "
                                                 "[rows, cols] (e.g. [1, 4]), got ", v.to_string()));
  };
  if (v.is_list()) {
    if (v.items().size() != 2) return bad();
    for (const auto& item : v.items())
      if (!item.is_int() || item.as_int() < 1 || item.as_int() > 1024) return bad();
    m.kind = MaskType::Kind::kBlock;
    m.rows = static_cast<int>(v.items()[0].as_int());
    m.cols = static_cast<int>(v.items()[1].as_int());
    if (m.rows == 1 && m.cols == 1) m.kind = MaskType::Kind::kUnstructured;
    return m;
  }
  const std::string& s = v.as_string();
  if (s == "unstructured") return m;
  if (s == "block" || s == "block4") {
    m.kind = MaskType::Kind::kBlock, m.rows = 1, m.cols = 4;
    return m;
  }
  static const std::regex kNM(R"(([0-9]+):([0-9]+))");
  std::smatch match;
  if (std::regex_match(s, match, kNM)) {
    m.kind = MaskType::Kind::kNM;
    m.n = std::stoi(match[1]);
    m.m = std::stoi(match[2]);
    if (m.m < 1 || m.m > 1024 || m.n < 1 || m.n > m.m)
      return c.error(v.loc(), "mask_type", str_cat("'", s, "': N:M needs 1 <= N <= M <= 1024"));
    return m;
  }
  return bad();
}

StatusOr<std::vector<PruneTarget>> parse_targets(const Ctx& c, const Value& final_v, const Value* params_v) {
  std::vector<PruneTarget> targets;
  if (final_v.is_number()) {
    SPARSIFY_RETURN_IF_ERROR(check_sparsity(c, "final_sparsity", final_v, final_v.as_number()));
    targets.push_back({final_v.as_number(), params_v ? as_strings(*params_v) : std::vector<std::string>{}});
    return targets;
  }
  // A map {sparsity: [params]}: params then comes from the map (SparseML requires params: [] or absent).
  if (params_v && !as_strings(*params_v).empty()) {
    return c.error(params_v->loc(), "params", "must be empty or absent when final_sparsity is a map "
                                              "{sparsity: [params]}: the map names the params");
  }
  for (const auto& [key, list] : final_v.entries()) {
    const Value k = resolve_plain_scalar(key);
    if (!k.is_number())
      return c.error(list.loc(), "final_sparsity", str_cat("map key '", key, "' must be a sparsity in [0, 1]"));
    SPARSIFY_RETURN_IF_ERROR(check_sparsity(c, "final_sparsity", list, k.as_number()));
    SPARSIFY_RETURN_IF_ERROR(check_type(c, "final_sparsity", list, FieldType::kStrings));
    targets.push_back({k.as_number(), as_strings(list)});
  }
  if (targets.empty()) return c.error(final_v.loc(), "final_sparsity", "map must not be empty");
  return targets;
}

Status parse_lr_kwargs(const Ctx& c, const Value* kw, Modifier* m) {
  const std::string& cls = m->lr.lr_class;
  std::vector<std::string> valid;
  if (cls == "StepLR") valid = {"step_size", "gamma"};
  else if (cls == "MultiStepLR") valid = {"milestones", "gamma"};
  else valid = {"gamma"};
  bool have_step = false, have_milestones = false, have_gamma = false;
  if (kw) {
    for (const auto& [key, v] : kw->entries()) {
      if (std::find(valid.begin(), valid.end(), key) == valid.end()) {
        std::string all;
        for (const auto& k : valid) all += (all.empty() ? "" : ", ") + k;
        return c.error(v.loc(), "lr_kwargs", str_cat("has unknown key '", key, "' for ", cls, "; valid keys: ", all));
      }
      if (key == "milestones") {
        if (!v.is_list()) return c.error(v.loc(), "lr_kwargs", "milestones must be a list of epochs");
        for (const auto& e : v.items()) {
          if (!e.is_number()) return c.error(e.loc(), "lr_kwargs", str_cat("milestone must be a number, got ", e.to_string()));
          m->lr.milestones.push_back(e.as_number());
        }
        std::sort(m->lr.milestones.begin(), m->lr.milestones.end());
        have_milestones = true;
      } else {
        if (!v.is_number()) return c.error(v.loc(), "lr_kwargs", str_cat(key, " must be a number, got ", v.to_string()));
        if (key == "step_size") {
          if (v.as_number() <= 0) return c.error(v.loc(), "lr_kwargs", "step_size must be > 0 epochs");
          m->lr.step_size = v.as_number();
          have_step = true;
        } else {
          if (v.as_number() <= 0) return c.error(v.loc(), "lr_kwargs", "gamma must be > 0");
          m->lr.gamma = v.as_number();
          have_gamma = true;
        }
      }
    }
  }
  const SourceLoc& at = kw ? kw->loc() : c.mod_loc;
  if (cls == "StepLR" && !have_step) return c.error(at, "lr_kwargs", "needs step_size (epochs) for StepLR");
  if (cls == "MultiStepLR" && !have_milestones) return c.error(at, "lr_kwargs", "needs milestones (epochs) for MultiStepLR");
  if (cls == "ExponentialLR" && !have_gamma) return c.error(at, "lr_kwargs", "needs gamma for ExponentialLR");
  return Status();
}

Status one_of(const Ctx& c, const std::string& key, const Value& v, const std::vector<std::string>& valid) {
  if (std::find(valid.begin(), valid.end(), v.as_string()) != valid.end()) return Status();
  std::string all;
  for (const auto& k : valid) all += (all.empty() ? "" : ", ") + k;
  return c.error(v.loc(), key, str_cat("has unknown value '", v.as_string(), "'; valid values: ", all));
}

}  // namespace

StatusOr<Modifier> build_modifier(const ModifierSpec& spec, const Value& body, const SourceLoc& loc,
                                  const std::string& stage) {
  Ctx c{spec, loc};
  Modifier m;
  m.kind = spec.kind;
  m.type_name = spec.name;
  m.stage = stage;
  m.loc = loc;
  if (!body.is_map() && !body.is_null()) {
    return invalid_argument(loc.to_string(), ": ", spec.name, ": expected a map of keys under the tag, got ",
                            Value::kind_name(body.kind()));
  }
  // Keys: known, typed; unknown ones are errors listing the valid keys.
  const FieldSpec* begin = spec.fields;
  const FieldSpec* end = spec.fields + spec.num_fields;
  std::vector<std::string> all_keys;
  for (const FieldSpec* f = begin; f != end; ++f) all_keys.push_back(f->key);
  for (const auto& [key, v] : body.entries()) {
    const FieldSpec* f = std::find_if(begin, end, [&](const FieldSpec& s) { return key == s.key; });
    if (f == end) {
      if (std::find(std::begin(kIgnoredKeys), std::end(kIgnoredKeys), key) != std::end(kIgnoredKeys)) continue;
      const std::string guess = closest(key, all_keys);
      return invalid_argument(body.key_loc(key).to_string(), ": ", spec.name, ": unknown key '", key, "'",
                              guess.empty() ? "" : " (did you mean '" + guess + "'?)",
                              "; valid keys: ", valid_keys_list(spec));
    }
    SPARSIFY_RETURN_IF_ERROR(check_type(c, key, v, f->type));
    m.fields.emplace_back(key, v);
  }
  for (const FieldSpec* f = begin; f != end; ++f) {
    if (f->required && !body.find(f->key)) {
      // A pruning modifier whose final_sparsity is a map takes its params from the map.
      if (std::string(f->key) == "params" && body.find("final_sparsity") && body.find("final_sparsity")->is_map()) continue;
      return invalid_argument(loc.to_string(), ": ", spec.name, ": missing required key '", f->key,
                              "' (", field_type_name(f->type), "); valid keys: ", valid_keys_list(spec));
    }
  }
  auto get = [&](const char* key) { return body.find(key); };
  auto num = [&](const char* key, double dflt) { const Value* v = get(key); return v ? v->as_number() : dflt; };
  auto flag = [&](const char* key, bool dflt) { const Value* v = get(key); return v ? v->as_bool() : dflt; };

  m.start_epoch = num("start_epoch", -1.0);
  m.end_epoch = num("end_epoch", -1.0);
  if (const Value* v = get("update_frequency")) {
    SPARSIFY_RETURN_IF_ERROR(check_frequency(c, *v));
    m.update_frequency = v->as_number();
  }
  if (m.start_epoch >= 0 && m.end_epoch >= 0 && m.end_epoch < m.start_epoch) {
    return invalid_argument(get("end_epoch")->loc().to_string(), ": ", spec.name, ": end_epoch ",
                            get("end_epoch")->to_string(), " is before start_epoch ", get("start_epoch")->to_string());
  }

  switch (spec.category) {
    case ModifierCategory::kSchedule:
      break;
    case ModifierCategory::kLearningRate: {
      if (spec.kind == ModifierKind::kSetLearningRateModifier) {
        m.lr.learning_rate = num("learning_rate", 0);
        if (m.lr.learning_rate < 0) return c.error(get("learning_rate")->loc(), "learning_rate", "must be >= 0");
      } else if (spec.kind == ModifierKind::kLearningRateFunctionModifier) {
        SPARSIFY_RETURN_IF_ERROR(one_of(c, "lr_func", *get("lr_func"), {"linear", "cosine", "cyclic_linear"}));
        m.lr.func = get("lr_func")->as_string();
        m.lr.init_lr = num("init_lr", 0);
        m.lr.final_lr = num("final_lr", 0);
        m.lr.cycle_epochs = num("cycle_epochs", 1.0);
        if (m.lr.init_lr < 0 || m.lr.final_lr < 0) return c.error(loc, "init_lr", "and final_lr must be >= 0");
        if (m.lr.cycle_epochs <= 0) return c.error(get("cycle_epochs")->loc(), "cycle_epochs", "must be > 0");
        if (m.end_epoch < 0) return c.error(get("end_epoch")->loc(), "end_epoch", "must be set (>= start_epoch) for LearningRateFunctionModifier");
      } else {
        SPARSIFY_RETURN_IF_ERROR(one_of(c, "lr_class", *get("lr_class"), {"StepLR", "MultiStepLR", "ExponentialLR"}));
        m.lr.lr_class = get("lr_class")->as_string();
        m.lr.init_lr = num("init_lr", 0);
        if (m.lr.init_lr < 0) return c.error(get("init_lr")->loc(), "init_lr", "must be >= 0");
        SPARSIFY_RETURN_IF_ERROR(parse_lr_kwargs(c, get("lr_kwargs"), &m));
      }
      break;
    }
    case ModifierCategory::kWeightDecay:
      m.weight_decay = num("weight_decay", 0);
      if (m.weight_decay < 0) return c.error(get("weight_decay")->loc(), "weight_decay", "must be >= 0");
      break;
    case ModifierCategory::kPruning: {
      if (spec.kind == ModifierKind::kConstantPruningModifier) {
        m.targets.push_back({0.0, as_strings(*get("params"))});
        break;
      }
      const Value* params = get("params");
      if (spec.kind == ModifierKind::kGlobalMagnitudePruningModifier) {
        m.global_sparsity = true;
        if (!params) {
          static const Value kAll = Value::list({Value::string("__ALL_PRUNABLE__")});
          params = &kAll;
        }
      }
      SPARSIFY_ASSIGN_OR_RETURN(m.targets, parse_targets(c, *get("final_sparsity"), params));
      for (const auto& t : m.targets)
        if (t.params.empty()) return c.error(params ? params->loc() : loc, "params", "must name at least one parameter");
      if (const Value* v = get("init_sparsity")) {
        SPARSIFY_RETURN_IF_ERROR(check_sparsity(c, "init_sparsity", *v, v->as_number()));
        m.init_sparsity = v->as_number();
      }
      if (m.end_epoch < 0) {
        return c.error(get("end_epoch")->loc(), "end_epoch", str_cat("must be >= start_epoch for ", spec.name,
                                                                     ": gradual pruning needs an end to reach final_sparsity"));
      }
      if (const Value* v = get("inter_func")) {
        SPARSIFY_RETURN_IF_ERROR(one_of(c, "inter_func", *v, {"linear", "cubic", "inverse_cubic"}));
        m.inter_func = v->as_string() == "linear" ? InterFunc::kLinear
                       : v->as_string() == "cubic" ? InterFunc::kCubic : InterFunc::kInverseCubic;
      }
      if (const Value* v = get("mask_type")) {
        SPARSIFY_ASSIGN_OR_RETURN(m.mask, parse_mask_type(c, *v));
      }
      m.leave_enabled = flag("leave_enabled", true);
      if (flag("global_sparsity", false)) m.global_sparsity = true;
      if (flag("phased", false))
        return Status(StatusCode::kUnsupported, str_cat(get("phased")->loc().to_string(), ": ", spec.name,
                                                        ": phased: true (phased pruning) is not supported; use phased: false"));
      if (const Value* v = get("score_type"); v && v->as_string() != "magnitude")
        return Status(StatusCode::kUnsupported, str_cat(v->loc().to_string(), ": ", spec.name, ": score_type '",
                                                        v->as_string(), "' is not supported; only 'magnitude'"));
      break;
    }
    case ModifierCategory::kQuantization: {
      if (m.end_epoch != -1.0)
        return c.error(get("end_epoch")->loc(), "end_epoch", "must be -1 for QuantizationModifier: once started, quantization stays on");
      QuantSettings& q = m.quant;
      if (const Value* v = get("submodules")) q.submodules = as_strings(*v);
      if (const Value* v = get("exclude_module_types")) q.exclude_module_types = as_strings(*v);
      q.disable_observer_epoch = num("disable_quantization_observer_epoch", -1);
      q.freeze_bn_stats_epoch = num("freeze_bn_stats_epoch", -1);
      q.quantize_conv_activations = flag("quantize_conv_activations", true);
      q.quantize_linear_activations = flag("quantize_linear_activations", true);
      q.quantize_embeddings = flag("quantize_embeddings", true);
      q.reduce_range = flag("reduce_range", false);
      q.exclude_batchnorm = flag("exclude_batchnorm", true);
      q.activation_bits = static_cast<int>(num("activation_bits", 8));
      q.weight_bits = static_cast<int>(num("weight_bits", 8));
      q.num_calibration_steps = static_cast<std::int64_t>(num("num_calibration_steps", -1));
      for (const char* key : {"activation_bits", "weight_bits"})
        if (const Value* v = get(key); v && (v->as_number() < 2 || v->as_number() > 8))
          return c.error(v->loc(), key, str_cat("must be in [2, 8], got ", v->to_string()));
      if (flag("tensorrt", false))
        return Status(StatusCode::kUnsupported, str_cat(get("tensorrt")->loc().to_string(), ": ", spec.name,
                                                        ": tensorrt: true (symmetric TensorRT activations) is not supported"));
      const double start = std::max(0.0, m.start_epoch);
      for (const char* key : {"disable_quantization_observer_epoch", "freeze_bn_stats_epoch"})
        if (const Value* v = get(key); v && v->as_number() >= 0 && v->as_number() < start)
          return c.error(v->loc(), key, str_cat("(", v->to_string(), ") is before start_epoch ", start));
      break;
    }
    case ModifierCategory::kDistillation:
      m.hardness = num("hardness", 0.5);
      m.temperature = num("temperature", 2.0);
      if (m.hardness < 0 || m.hardness > 1) return c.error(get("hardness")->loc(), "hardness", "must be in [0, 1]");
      if (m.temperature <= 0) return c.error(get("temperature")->loc(), "temperature", "must be > 0");
      break;
  }
  return m;
}

}  // namespace sparsify::ml::recipe
