// Value: a YAML/eval value of a recipe (null, bool, int, float, string, list, map) with its source location.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace sparsify::ml::recipe {

/// Where a value came from: 1-based line and column in `file` (0 when unknown).
struct SourceLoc {
  std::string file;
  int line = 0;
  int column = 0;
  /// "file:line:col" (or just "file" when the position is unknown).
  std::string to_string() const;
};

/// A recipe value. Ints and floats stay distinct, as in Python, so that `//`, `%` and `int()`
/// behave as SparseML's eval() did. Maps keep their keys' insertion order.
class Value {
 public:
  enum class Kind : std::uint8_t { kNull, kBool, kInt, kFloat, kString, kList, kMap };

  Value() = default;
  static Value null() { return Value(); }
  static Value boolean(bool b) { Value v; v.kind_ = Kind::kBool; v.b_ = b; return v; }
  static Value integer(std::int64_t i) { Value v; v.kind_ = Kind::kInt; v.i_ = i; return v; }
  static Value real(double f) { Value v; v.kind_ = Kind::kFloat; v.f_ = f; return v; }
  static Value string(std::string s) { Value v; v.kind_ = Kind::kString; v.s_ = std::move(s); return v; }
  static Value list(std::vector<Value> items) { Value v; v.kind_ = Kind::kList; v.items_ = std::move(items); return v; }
  /// A map; `entries` keep their order. Keys are strings (YAML scalars as written).
  static Value map(std::vector<std::pair<std::string, Value>> entries) {
    Value v; v.kind_ = Kind::kMap; v.entries_ = std::move(entries); return v;
  }

  Kind kind() const { return kind_; }
  bool is_null() const { return kind_ == Kind::kNull; }
  bool is_bool() const { return kind_ == Kind::kBool; }
  bool is_int() const { return kind_ == Kind::kInt; }
  bool is_float() const { return kind_ == Kind::kFloat; }
  bool is_number() const { return kind_ == Kind::kInt || kind_ == Kind::kFloat; }
  bool is_string() const { return kind_ == Kind::kString; }
  bool is_list() const { return kind_ == Kind::kList; }
  bool is_map() const { return kind_ == Kind::kMap; }

  bool as_bool() const { return b_; }
  std::int64_t as_int() const { return i_; }
  /// The number as a double (ints converted). Only meaningful when is_number().
  double as_number() const { return kind_ == Kind::kInt ? static_cast<double>(i_) : f_; }
  const std::string& as_string() const { return s_; }
  const std::vector<Value>& items() const { return items_; }
  std::vector<Value>& items() { return items_; }
  const std::vector<std::pair<std::string, Value>>& entries() const { return entries_; }
  std::vector<std::pair<std::string, Value>>& entries() { return entries_; }
  /// The map entry with this key, or nullptr.
  const Value* find(const std::string& key) const;
  /// Where the i-th map key was written (falls back to the map's own location).
  const SourceLoc& key_loc(size_t i) const { return i < key_locs_.size() ? key_locs_[i] : loc_; }
  /// Where the map key `key` was written (falls back to the map's own location).
  const SourceLoc& key_loc(const std::string& key) const;
  void set_key_locs(std::vector<SourceLoc> locs) { key_locs_ = std::move(locs); }

  /// YAML tag such as "!GMPruningModifier" (empty when untagged).
  const std::string& tag() const { return tag_; }
  void set_tag(std::string tag) { tag_ = std::move(tag); }
  const SourceLoc& loc() const { return loc_; }
  void set_loc(SourceLoc loc) { loc_ = std::move(loc); }

  /// Python-like rendering: 0.9, 3, 'name', [1, 2], {a: 1}, True, None.
  std::string to_string() const;
  /// Name of the kind for error messages: "number", "string", "list", ...
  static const char* kind_name(Kind kind);

 private:
  Kind kind_ = Kind::kNull;
  bool b_ = false;
  std::int64_t i_ = 0;
  double f_ = 0.0;
  std::string s_;
  std::vector<Value> items_;
  std::vector<std::pair<std::string, Value>> entries_;
  std::vector<SourceLoc> key_locs_;
  std::string tag_;
  SourceLoc loc_;
};

}  // namespace sparsify::ml::recipe
