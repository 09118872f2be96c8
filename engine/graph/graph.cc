// Graph IR lookups.
#include "engine/graph/graph.h"

namespace sparsify::engine {

const Attribute* Node::find_attribute(const std::string& attr_name) const {
  for (const Attribute& a : attributes) {
    if (a.name == attr_name) return &a;
  }
  return nullptr;
}

ValueId Graph::find_value(const std::string& value_name) const {
  auto it = value_by_name.find(value_name);
  return it == value_by_name.end() ? kNoValue : it->second;
}

ValueId Graph::intern_value(const std::string& value_name) {
  auto it = value_by_name.find(value_name);
  if (it != value_by_name.end()) return it->second;
  const auto id = static_cast<ValueId>(values.size());
  Value v;
  v.name = value_name;
  values.push_back(std::move(v));
  value_by_name.emplace(value_name, id);
  return id;
}

}  // namespace sparsify::engine
