// Value rendering and lookup.
#include "sparseml/recipe/value.h"

#include <cmath>
#include <cstdio>
#include <sstream>

namespace sparsify::ml::recipe {

std::string SourceLoc::to_string() const {
  if (line <= 0) return file;
  std::ostringstream os;
  os << file << ':' << line << ':' << column;
  return os.str();
}

const Value* Value::find(const std::string& key) const {
  for (const auto& [k, v] : entries_)
    if (k == key) return &v;
  return nullptr;
}

static std::string format_float(double f) {
  if (std::isnan(f)) return "nan";
  if (std::isinf(f)) return f > 0 ? "inf" : "-inf";
  char buf[64];
  // Shortest representation that round-trips, like Python's repr.
  for (int prec = 1; prec <= 17; ++prec) {
    std::snprintf(buf, sizeof buf, "%.*g", prec, f);
    if (std::strtod(buf, nullptr) == f) break;
  }
  std::string s = buf;
  if (s.find_first_of(".eninf") == std::string::npos) s += ".0";
  return s;
}

std::string Value::to_string() const {
  switch (kind_) {
    case Kind::kNull: return "None";
    case Kind::kBool: return b_ ? "True" : "False";
    case Kind::kInt: return std::to_string(i_);
    case Kind::kFloat: return format_float(f_);
    case Kind::kString: return "'" + s_ + "'";
    case Kind::kList: {
      std::string out = "[";
      for (size_t i = 0; i < items_.size(); ++i) out += (i ? ", " : "") + items_[i].to_string();
      return out + "]";
    }
    case Kind::kMap: {
      std::string out = "{";
      for (size_t i = 0; i < entries_.size(); ++i)
        out += (i ? ", " : "") + entries_[i].first + ": " + entries_[i].second.to_string();
      return out + "}";
    }
  }
  return "?";
}

const char* Value::kind_name(Kind kind) {
  switch (kind) {
    case Kind::kNull: return "null";
    case Kind::kBool: return "bool";
    case Kind::kInt: return "int";
    case Kind::kFloat: return "float";
    case Kind::kString: return "string";
    case Kind::kList: return "list";
    case Kind::kMap: return "map";
  }
  return "?";
}

}  // namespace sparsify::ml::recipe
