// YAML to Value conversion on top of yaml-cpp, keeping marks for error messages.
#include "sparseml/recipe/yaml_load.h"

#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstdlib>
#include <regex>
#include <set>

namespace sparsify::ml::recipe {
namespace {

SourceLoc loc_of(const YAML::Mark& mark, const std::string& file, int line_offset) {
  SourceLoc loc;
  loc.file = file;
  if (mark.line >= 0) {
    loc.line = mark.line + 1 + line_offset;
    loc.column = mark.column + 1;
  }
  return loc;
}

StatusOr<Value> convert(const YAML::Node& node, const std::string& file, int line_offset) {
  const SourceLoc loc = loc_of(node.Mark(), file, line_offset);
  Value out;
  switch (node.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      out = Value::null();
      break;
    case YAML::NodeType::Scalar: {
      // yaml-cpp gives quoted scalars the non-specific tag "!", plain ones "?".
      out = node.Tag() == "!" ? Value::string(node.Scalar()) : resolve_plain_scalar(node.Scalar());
      break;
    }
    case YAML::NodeType::Sequence: {
      std::vector<Value> items;
      for (const auto& item : node) {
        SPARSIFY_ASSIGN_OR_RETURN(Value v, convert(item, file, line_offset));
        items.push_back(std::move(v));
      }
      out = Value::list(std::move(items));
      break;
    }
    case YAML::NodeType::Map: {
      std::vector<std::pair<std::string, Value>> entries;
      std::vector<SourceLoc> key_locs;
      std::set<std::string> seen;
      for (const auto& kv : node) {
        if (!kv.first.IsScalar()) {
          return invalid_argument(loc_of(kv.first.Mark(), file, line_offset).to_string(),
                                  ": map keys must be plain scalars");
        }
        const std::string key = kv.first.Scalar();
        if (!seen.insert(key).second) {
          return invalid_argument(loc_of(kv.first.Mark(), file, line_offset).to_string(),
                                  ": duplicate key '", key, "'");
        }
        SPARSIFY_ASSIGN_OR_RETURN(Value v, convert(kv.second, file, line_offset));
        if (v.loc().line == 0 || v.is_null()) v.set_loc(loc_of(kv.first.Mark(), file, line_offset));
        entries.emplace_back(key, std::move(v));
        key_locs.push_back(loc_of(kv.first.Mark(), file, line_offset));
      }
      out = Value::map(std::move(entries));
      out.set_key_locs(std::move(key_locs));
      break;
    }
  }
  const std::string& tag = node.Tag();
  if (!tag.empty() && tag != "?" && tag != "!") out.set_tag(tag);
  if (out.loc().line == 0) out.set_loc(loc);
  return out;
}

}  // namespace

Value resolve_plain_scalar(const std::string& s) {
  // YAML 1.1 core schema as PyYAML's safe_load resolves it (plus `1e-3` without a dot as float).
  static const std::set<std::string> kNull = {"", "~", "null", "Null", "NULL"};
  static const std::set<std::string> kTrue = {"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON"};
  static const std::set<std::string> kFalse = {"false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF"};
  if (kNull.count(s)) return Value::null();
  if (kTrue.count(s)) return Value::boolean(true);
  if (kFalse.count(s)) return Value::boolean(false);
  static const std::regex kInt(R"([-+]?[0-9]+)");
  static const std::regex kFloat(R"([-+]?(([0-9]+\.[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?|[0-9]+[eE][-+]?[0-9]+))");
  if (std::regex_match(s, kInt)) {
    errno = 0;
    const long long v = std::strtoll(s.c_str(), nullptr, 10);
    if (errno != ERANGE) return Value::integer(v);
  }
  if (std::regex_match(s, kFloat)) return Value::real(std::strtod(s.c_str(), nullptr));
  if (s == ".inf" || s == ".Inf" || s == "+.inf") return Value::real(HUGE_VAL);
  if (s == "-.inf" || s == "-.Inf") return Value::real(-HUGE_VAL);
  return Value::string(s);
}

StatusOr<Value> load_yaml(std::string_view text, const std::string& file, int line_offset) {
  try {
    YAML::Node root = YAML::Load(std::string(text));
    return convert(root, file, line_offset);
  } catch (const YAML::Exception& e) {
    SourceLoc loc = loc_of(e.mark, file, line_offset);
    return invalid_argument(loc.to_string(), ": invalid YAML: ", e.msg);
  } catch (const std::exception& e) {
    return invalid_argument(file, ": invalid YAML: ", e.what());
  }
}

StatusOr<std::string> recipe_yaml_text(std::string_view text, const std::string& file, int* line_offset) {
  *line_offset = 0;
  const bool is_md = file.size() >= 3 && file.compare(file.size() - 3, 3, ".md") == 0;
  if (!is_md) return std::string(text);
  // Front matter: optional blank lines, a line `---`, YAML, a line `---`.
  size_t pos = 0;
  int line = 0;
  auto next_line = [&](std::string_view* out) {
    if (pos >= text.size()) return false;
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    *out = text.substr(pos, end - pos);
    if (!out->empty() && out->back() == '\r') out->remove_suffix(1);
    pos = end + 1;
    ++line;
    return true;
  };
  auto trim = [](std::string_view s) {
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    return s;
  };
  std::string_view l;
  bool opened = false;
  while (next_line(&l)) {
    if (trim(l).empty()) continue;
    opened = trim(l) == "---";
    break;
  }
  if (!opened) {
    return invalid_argument(file, ":", line, ":1: expected YAML front matter opening with a '---' line "
                            "(a .md recipe keeps its recipe between two '---' lines at the top)");
  }
  const size_t start = pos;
  *line_offset = line;
  while (next_line(&l)) {
    if (trim(l) == "---") return std::string(text.substr(start, pos - start - (pos <= text.size() ? l.size() + 1 : 0)));
  }
  return invalid_argument(file, ":", *line_offset, ":1: YAML front matter is not closed: expected a second '---' line");
}

}  // namespace sparsify::ml::recipe
