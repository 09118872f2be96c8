// Recipe structure: variables, eval() resolution, --recipe-args overrides, stages and modifier lists.
#include "sparseml/recipe/recipe.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

#include "sparseml/recipe/expr.h"
#include "sparseml/recipe/modifiers_internal.h"
#include "sparseml/recipe/yaml_load.h"

namespace sparsify::ml::recipe {
namespace {

using Entries = std::vector<std::pair<std::string, Value>>;

bool is_modifiers_key(const std::string& key) { return key.find("modifiers") != std::string::npos; }

bool is_stage(const Value& v) {
  if (!v.is_map()) return false;
  for (const auto& [k, _] : v.entries())
    if (is_modifiers_key(k)) return true;
  return false;
}

bool is_eval_string(const Value& v) {
  if (!v.is_string()) return false;
  const std::string& s = v.as_string();
  return s.size() >= 6 && s.compare(0, 5, "eval(") == 0 && s.back() == ')';
}

// Variables visible while evaluating: stage-local first, then global.
struct Scope {
  const Entries* local = nullptr;
  const Entries* global = nullptr;
  const Value* find(std::string_view name) const {
    for (const Entries* e : {local, global}) {
      if (!e) continue;
      for (const auto& [k, v] : *e)
        if (k == name && !is_eval_string(v)) return &v;
    }
    return nullptr;
  }
};

StatusOr<Value> evaluate(const Value& v, const Scope& scope, const std::string& what) {
  const std::string& s = v.as_string();
  const std::string body = s.substr(5, s.size() - 6);
  ExprError where;
  auto lookup = [&](std::string_view name) { return scope.find(name); };
  StatusOr<Value> r = evaluate_expression(body, lookup, &where);
  if (!r.ok()) {
    SourceLoc at = v.loc();
    if (at.line > 0) at.column += 5 + static_cast<int>(where.offset);
    return Status(r.status().code(), str_cat(at.to_string(), ": ", what, ": ", s, ": ", r.status().message()));
  }
  Value out = std::move(r).value();
  out.set_loc(v.loc());
  return out;
}

// Resolves variables to a fixed point, as SparseML did: an eval() may use any variable
// defined before or after it; what is left unresolved is an undefined name or a cycle.
Status resolve_variables(Entries* vars, const Entries* global) {
  bool progress = true;
  while (progress) {
    progress = false;
    for (auto& [name, v] : *vars) {
      if (!is_eval_string(v)) continue;
      Scope scope{vars, global};
      StatusOr<Value> r = evaluate(v, scope, "variable '" + name + "'");
      if (r.ok()) {
        v = std::move(r).value();
        progress = true;
      } else if (r.status().code() != StatusCode::kNotFound) {
        return r.status();
      }
    }
  }
  for (auto& [name, v] : *vars) {
    if (!is_eval_string(v)) continue;
    Scope scope{vars, global};
    StatusOr<Value> r = evaluate(v, scope, "variable '" + name + "'");
    if (!r.ok()) {
      return Status(StatusCode::kInvalidArgument, r.status().message() +
                                                      " (undefined, or part of a cycle of variables)");
    }
  }
  return Status();
}

// Replaces every eval() string inside a modifier body.
Status resolve_body(Value* v, const Scope& scope, const std::string& what) {
  if (is_eval_string(*v)) {
    SPARSIFY_ASSIGN_OR_RETURN(Value r, evaluate(*v, scope, what));
    const std::string tag = v->tag();
    *v = std::move(r);
    if (!tag.empty()) v->set_tag(tag);
    return Status();
  }
  if (v->is_list())
    for (auto& item : v->items()) SPARSIFY_RETURN_IF_ERROR(resolve_body(&item, scope, what));
  if (v->is_map())
    for (auto& [k, item] : v->entries()) SPARSIFY_RETURN_IF_ERROR(resolve_body(&item, scope, what + "." + k));
  return Status();
}

Status parse_modifier_list(const std::string& key, const Value& list, const Scope& scope,
                           const std::string& stage, std::vector<Modifier>* out) {
  if (list.is_null()) return Status();
  if (!list.is_list()) {
    return invalid_argument(list.loc().to_string(), ": '", key, "' must be a list of modifiers (- !ModifierName ...), got ",
                            Value::kind_name(list.kind()));
  }
  for (const Value& item : list.items()) {
    if (item.tag().empty() || item.tag()[0] != '!') {
      return invalid_argument(item.loc().to_string(), ": each entry of '", key,
                              "' must be a tagged modifier such as '- !GMPruningModifier', got ", item.to_string());
    }
    const std::string name = item.tag().substr(1);
    const ModifierSpec* spec = find_modifier_spec(name);
    if (!spec) {
      std::vector<std::string> names;
      std::string all;
      for (const auto& s : modifier_specs()) names.push_back(s.name), all += (all.empty() ? "" : ", ") + std::string(s.name);
      const std::string guess = closest(name, names);
      return invalid_argument(item.loc().to_string(), ": unknown modifier '!", name, "'",
                              guess.empty() ? "" : " (did you mean '!" + guess + "'?)", "; known modifiers: ", all);
    }
    Value body = item;
    SPARSIFY_RETURN_IF_ERROR(resolve_body(&body, scope, name));
    SPARSIFY_ASSIGN_OR_RETURN(Modifier m, build_modifier(*spec, body, item.loc(), stage));
    out->push_back(std::move(m));
  }
  return Status();
}

Status apply_overrides(const VariableOverrides& overrides, Entries* global, std::vector<std::pair<std::string, Entries>>* stages,
                       const std::string& file) {
  for (const auto& [name, value] : overrides) {
    bool found = false;
    auto set_in = [&](Entries* e) {
      for (auto& [k, v] : *e) {
        if (k != name) continue;
        SourceLoc loc = v.loc();
        v = value;
        v.set_loc(loc);
        found = true;
      }
    };
    set_in(global);
    for (auto& [stage_name, vars] : *stages) set_in(&vars);
    if (!found) {
      std::string all;
      for (const auto& [k, _] : *global) all += (all.empty() ? "" : ", ") + k;
      for (const auto& [stage_name, vars] : *stages)
        for (const auto& [k, _] : vars) all += (all.empty() ? "" : ", ") + k + " (stage " + stage_name + ")";
      return Status(StatusCode::kNotFound,
                    str_cat("--recipe-args: '", name, "' is not a variable of ", file,
                            "; only existing variables can be overridden; variables: ", all.empty() ? "(none)" : all));
    }
  }
  return Status();
}

}  // namespace

StatusOr<Recipe> parse_recipe_text(std::string_view text, const std::string& file, const VariableOverrides& overrides,
                                   int line_offset) {
  SPARSIFY_ASSIGN_OR_RETURN(Value root, load_yaml(text, file, line_offset));
  if (!root.is_map()) {
    return invalid_argument(file, ":", line_offset + 1, ":1: a recipe must be a YAML map of variables and "
                            "modifier lists (e.g. 'modifiers:'), got ", Value::kind_name(root.kind()));
  }
  Recipe recipe;
  recipe.file = file;

  // Shape: top-level modifier lists and variables, or stages (maps holding their own modifier lists).
  Entries global;
  std::vector<std::pair<std::string, Entries>> stage_vars;
  std::vector<std::pair<std::string, const Value*>> top_lists;
  std::vector<std::pair<std::string, std::vector<std::pair<std::string, const Value*>>>> stage_lists;
  for (const auto& [key, v] : root.entries()) {
    if (is_modifiers_key(key)) {
      top_lists.emplace_back(key, &v);
    } else if (is_stage(v)) {
      Entries vars;
      std::vector<std::pair<std::string, const Value*>> lists;
      for (const auto& [k, sv] : v.entries()) {
        if (is_modifiers_key(k)) lists.emplace_back(k, &sv);
        else if (is_stage(sv))
          return invalid_argument(sv.loc().to_string(), ": stage '", key, "' holds a nested stage '", k,
                                  "'; stages cannot be nested");
        else vars.emplace_back(k, sv);
      }
      stage_vars.emplace_back(key, std::move(vars));
      stage_lists.emplace_back(key, std::move(lists));
    } else {
      global.emplace_back(key, v);
    }
  }
  if (!top_lists.empty() && !stage_lists.empty()) {
    return invalid_argument(top_lists[0].second->loc().to_string(), ": '", top_lists[0].first,
                            "' is a top-level modifier list, but the recipe also has stages ('", stage_lists[0].first,
                            "'); in a multi-stage recipe every modifier list belongs to a stage");
  }
  if (top_lists.empty() && stage_lists.empty()) {
    return invalid_argument(file, ":", line_offset + 1, ":1: the recipe has no modifier list: expected a top-level "
                            "key containing 'modifiers' (e.g. 'modifiers:' or 'pruning_modifiers:') or stages holding them");
  }

  SPARSIFY_RETURN_IF_ERROR(apply_overrides(overrides, &global, &stage_vars, file));
  SPARSIFY_RETURN_IF_ERROR(resolve_variables(&global, nullptr));
  recipe.variables = global;

  for (const auto& [key, list] : top_lists) {
    SPARSIFY_RETURN_IF_ERROR(parse_modifier_list(key, *list, Scope{&global, nullptr}, "", &recipe.modifiers));
  }
  for (size_t i = 0; i < stage_lists.size(); ++i) {
    Entries& vars = stage_vars[i].second;
    SPARSIFY_RETURN_IF_ERROR(resolve_variables(&vars, &global));
    Stage stage{stage_lists[i].first, vars};
    for (const auto& [key, list] : stage_lists[i].second) {
      SPARSIFY_RETURN_IF_ERROR(parse_modifier_list(key, *list, Scope{&vars, &global}, stage.name, &recipe.modifiers));
    }
    recipe.stages.push_back(std::move(stage));
  }
  return recipe;
}

StatusOr<Recipe> parse_recipe_file(const std::string& path, const VariableOverrides& overrides) {
  auto ends_with = [&](const char* suffix) {
    const size_t n = std::char_traits<char>::length(suffix);
    return path.size() >= n && path.compare(path.size() - n, n, suffix) == 0;
  };
  if (!ends_with(".yaml") && !ends_with(".yml") && !ends_with(".md")) {
    return invalid_argument(path, ": a recipe file must end in .yaml, .yml or .md (YAML front matter)");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status(StatusCode::kNotFound, str_cat(path, ": cannot open recipe file"));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return io_error(path, ": read failed");
  int line_offset = 0;
  SPARSIFY_ASSIGN_OR_RETURN(std::string yaml, recipe_yaml_text(ss.str(), path, &line_offset));
  return parse_recipe_text(yaml, path, overrides, line_offset);
}

namespace {
StatusOr<Value> json_to_value(const nlohmann::json& j, const std::string& name) {
  if (j.is_boolean()) return Value::boolean(j.get<bool>());
  if (j.is_number_integer()) return Value::integer(j.get<std::int64_t>());
  if (j.is_number()) return Value::real(j.get<double>());
  if (j.is_string()) return Value::string(j.get<std::string>());
  if (j.is_null()) return Value::null();
  if (j.is_array()) {
    std::vector<Value> items;
    for (const auto& e : j) {
      SPARSIFY_ASSIGN_OR_RETURN(Value v, json_to_value(e, name));
      items.push_back(std::move(v));
    }
    return Value::list(std::move(items));
  }
  return invalid_argument("--recipe-args: value of '", name, "' must be a number, string, bool or list, got an object");
}
}  // namespace

StatusOr<VariableOverrides> parse_recipe_args(std::string_view json) {
  nlohmann::json j = nlohmann::json::parse(json.begin(), json.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    return invalid_argument("--recipe-args: not valid JSON: expected an object such as '{\"num_epochs\": 5}', got '",
                            std::string(json), "'");
  }
  if (!j.is_object()) return invalid_argument("--recipe-args: expected a JSON object such as '{\"num_epochs\": 5}'");
  VariableOverrides out;
  for (const auto& [k, v] : j.items()) {
    SPARSIFY_ASSIGN_OR_RETURN(Value value, json_to_value(v, k));
    value.set_loc(SourceLoc{"--recipe-args", 0, 0});
    out.emplace_back(k, std::move(value));
  }
  return out;
}

double Recipe::end_epoch() const {
  double end = 0.0;
  for (const auto& m : modifiers) end = std::max({end, m.start_epoch, m.end_epoch});
  return end;
}

int Recipe::num_epochs() const { return static_cast<int>(std::ceil(end_epoch() - 1e-9)); }

const Value* Recipe::find_variable(const std::string& name) const {
  for (const auto& [k, v] : variables)
    if (k == name) return &v;
  return nullptr;
}

}  // namespace sparsify::ml::recipe
