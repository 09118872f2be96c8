// YAML emission of resolved recipes.
#include "sparseml/recipe/emit.h"

#include <sstream>

namespace sparsify::ml::recipe {

std::string to_yaml(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kNull: return "null";
    case Value::Kind::kBool: return v.as_bool() ? "true" : "false";
    case Value::Kind::kInt:
    case Value::Kind::kFloat: return v.to_string();
    case Value::Kind::kString: {
      std::string out = "'";
      for (char c : v.as_string()) out += c == '\'' ? std::string("''") : std::string(1, c);
      return out + "'";
    }
    case Value::Kind::kList: {
      std::string out = "[";
      for (size_t i = 0; i < v.items().size(); ++i) out += (i ? ", " : "") + to_yaml(v.items()[i]);
      return out + "]";
    }
    case Value::Kind::kMap: {
      std::string out = "{";
      for (size_t i = 0; i < v.entries().size(); ++i)
        out += (i ? ", " : "") + v.entries()[i].first + ": " + to_yaml(v.entries()[i].second);
      return out + "}";
    }
  }
  return "null";
}

namespace {
void emit_modifiers(std::ostringstream& os, const Recipe& r, const std::string& stage, const char* indent) {
  os << indent << "modifiers:\n";
  for (const auto& m : r.modifiers) {
    if (m.stage != stage) continue;
    os << indent << "  - !" << m.type_name << "\n";
    if (m.fields.empty()) os << indent << "    {}\n";
    for (const auto& [k, v] : m.fields) os << indent << "    " << k << ": " << to_yaml(v) << "\n";
  }
}
}  // namespace

std::string to_yaml(const Recipe& r) {
  std::ostringstream os;
  os << "# resolved from " << r.file << "\n";
  for (const auto& [k, v] : r.variables) os << k << ": " << to_yaml(v) << "\n";
  if (!r.staged()) {
    emit_modifiers(os, r, "", "");
    return os.str();
  }
  for (const auto& s : r.stages) {
    os << s.name << ":\n";
    for (const auto& [k, v] : s.variables) os << "  " << k << ": " << to_yaml(v) << "\n";
    emit_modifiers(os, r, s.name, "  ");
  }
  return os.str();
}

}  // namespace sparsify::ml::recipe
