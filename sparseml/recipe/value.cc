// Value rendering and lookup.
#include "sparseml/recipe/value.h"

#include <cmath>
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
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

const SourceLoc& Value::key_loc(const std::string& key) const {
  for (size_t i = 0; i < entries_.size(); ++i)
    if (entries_[i].first == key) return key_loc(i);
  return loc_;
}

static std::string format_float(double f) {
  if (std::isnan(f)) return "nan";
  if (std::isinf(f)) return f > 0 ? "inf" : "-inf";
  // Python's repr: the fewest significant digits that round-trip, fixed notation when the decimal
  // exponent is in [-4, 16), scientific otherwise.
  char buf[64];
  int digits = 1;
  for (; digits <= 17; ++digits) {
    std::snprintf(buf, sizeof buf, "%.*e", digits - 1, f);
    if (std::strtod(buf, nullptr) == f) break;
  }
  const int exponent = std::atoi(std::strchr(buf, 'e') + 1);
  std::string s;
  if (exponent >= -4 && exponent < 16) {
    std::snprintf(buf, sizeof buf, "%.*f", std::max(0, digits - 1 - exponent), f);
    s = buf;
    if (s.find('.') == std::string::npos) s += ".0";
  } else {
    s = buf;  // e.g. 1e+16, 2.5e-05
  }
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
