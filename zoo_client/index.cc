// index.json reading and writing (nlohmann::json), stub lookup, and model.md front matter.
#include "zoo_client/index.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "zoo_client/sha256.h"

namespace sparsify::zoo {

using nlohmann::json;

const FileEntry* ModelEntry::find_file(const std::string& path) const {
  for (const FileEntry& f : files) {
    if (f.path == path) return &f;
  }
  return nullptr;
}

std::uint64_t ModelEntry::total_size() const {
  std::uint64_t n = 0;
  for (const FileEntry& f : files) n += f.size;
  return n;
}

const ModelEntry* ZooIndex::find(const Stub& stub) const {
  const std::string name = stub.name();
  for (const ModelEntry& m : models) {
    if (m.matches(name)) return &m;
  }
  return nullptr;
}

namespace {

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

}  // namespace

std::vector<std::string> ZooIndex::nearest(const Stub& stub, size_t limit) const {
  const std::string name = stub.name();
  std::vector<std::pair<size_t, std::string>> scored;
  for (const ModelEntry& m : models) {
    const std::string& candidate = stub.short_form ? m.short_stub : m.stub;
    scored.emplace_back(edit_distance(name, candidate), candidate);
  }
  std::sort(scored.begin(), scored.end());
  std::vector<std::string> out;
  for (size_t i = 0; i < scored.size() && i < limit; ++i) out.push_back(scored[i].second);
  return out;
}

Status check_file_path(const std::string& path) {
  if (path.empty()) return invalid_argument("empty file path");
  if (path.front() == '/') return invalid_argument("file path '", path, "' is absolute");
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    const std::string seg = path.substr(start, end - start);
    if (seg.empty() || seg == "." || seg == "..") {
      return invalid_argument("file path '", path, "' has an empty, '.' or '..' part");
    }
    if (seg.front() == '.') return invalid_argument("file path '", path, "' has a hidden part '", seg, "'");
    if (seg.find('\\') != std::string::npos || seg.find('\0') != std::string::npos) {
      return invalid_argument("file path '", path, "' has a backslash or NUL");
    }
    start = end + 1;
  }
  return Status::ok_status();
}

namespace {

json card_to_json(const ModelCard& c) {
  json j = json::object();
  auto put = [&](const char* k, const std::string& v) {
    if (!v.empty()) j[k] = v;
  };
  put("display_name", c.display_name);
  put("description", c.description);
  put("domain", c.domain);
  put("sub_domain", c.sub_domain);
  put("task", c.task);
  put("architecture", c.architecture);
  put("sub_architecture", c.sub_architecture);
  put("framework", c.framework);
  put("repo", c.repo);
  put("dataset", c.dataset);
  put("training_scheme", c.training_scheme);
  put("sparse_name", c.sparse_name);
  put("sparse_category", c.sparse_category);
  put("sparse_target", c.sparse_target);
  if (c.sparsity) j["sparsity"] = *c.sparsity;
  if (c.quantized) j["quantized"] = *c.quantized;
  if (!c.accuracy.empty()) j["accuracy"] = c.accuracy;
  j["recipe_types"] = c.recipe_types;
  if (!c.tags.empty()) j["tags"] = c.tags;
  return j;
}

// Reads JSON fields into a card; the first wrong type becomes invalid_argument.
Status card_from_json(const json& j, const std::string& where, ModelCard* c) {
  if (!j.is_object()) return invalid_argument(where, ": 'card' must be an object");
  try {
    auto get = [&](const char* k, std::string* out) {
      if (j.contains(k)) *out = j.at(k).get<std::string>();
    };
    get("display_name", &c->display_name);
    get("description", &c->description);
    get("domain", &c->domain);
    get("sub_domain", &c->sub_domain);
    get("task", &c->task);
    get("architecture", &c->architecture);
    get("sub_architecture", &c->sub_architecture);
    get("framework", &c->framework);
    get("repo", &c->repo);
    get("dataset", &c->dataset);
    get("training_scheme", &c->training_scheme);
    get("sparse_name", &c->sparse_name);
    get("sparse_category", &c->sparse_category);
    get("sparse_target", &c->sparse_target);
    if (j.contains("sparsity") && !j.at("sparsity").is_null()) c->sparsity = j.at("sparsity").get<double>();
    if (j.contains("quantized") && !j.at("quantized").is_null()) c->quantized = j.at("quantized").get<bool>();
    if (j.contains("accuracy")) c->accuracy = j.at("accuracy").get<std::map<std::string, double>>();
    if (j.contains("recipe_types")) c->recipe_types = j.at("recipe_types").get<std::vector<std::string>>();
    if (j.contains("tags")) c->tags = j.at("tags").get<std::vector<std::string>>();
  } catch (const json::exception& e) {
    return invalid_argument(where, ": card field has the wrong type: ", e.what());
  }
  return Status::ok_status();
}

json model_to_json(const ModelEntry& m) {
  json files = json::array();
  for (const FileEntry& f : m.files) {
    json jf = {{"path", f.path}, {"size", f.size}, {"sha256", f.sha256}};
    if (!f.url.empty()) jf["url"] = f.url;
    files.push_back(jf);
  }
  json j = {{"id", m.id}, {"stub", m.stub}, {"short_stub", m.short_stub}, {"card", card_to_json(m.card)},
            {"files", files}};
  if (!m.published.empty()) j["published"] = m.published;
  return j;
}

Status model_from_json(const json& j, const std::string& where, ModelEntry* m) {
  if (!j.is_object()) return invalid_argument(where, ": a model must be an object");
  try {
    m->id = j.at("id").get<std::string>();
    m->stub = j.at("stub").get<std::string>();
    m->short_stub = j.value("short_stub", std::string());
    m->published = j.value("published", std::string());
  } catch (const json::exception& e) {
    return invalid_argument(where, ": model needs string fields id and stub: ", e.what());
  }
  const std::string at = str_cat(where, " (", m->stub, ")");
  if (m->id.empty() || m->id.find('/') != std::string::npos || m->id.front() == '.') {
    return invalid_argument(at, ": model id '", m->id, "' must be a non-empty name without '/' or a leading '.'");
  }
  SPARSIFY_ASSIGN_OR_RETURN(Stub parsed, parse_stub(m->stub));
  if (parsed.short_form) return invalid_argument(at, ": 'stub' must be a long stub");
  if (!m->short_stub.empty()) {
    SPARSIFY_ASSIGN_OR_RETURN(Stub short_parsed, parse_stub(m->short_stub));
    if (!short_parsed.short_form) return invalid_argument(at, ": 'short_stub' must be a short stub");
  }
  if (j.contains("card")) SPARSIFY_RETURN_IF_ERROR(card_from_json(j.at("card"), at, &m->card));
  if (!j.contains("files") || !j.at("files").is_array()) return invalid_argument(at, ": 'files' must be an array");
  for (const json& jf : j.at("files")) {
    FileEntry f;
    try {
      f.path = jf.at("path").get<std::string>();
      f.size = jf.at("size").get<std::uint64_t>();
      f.sha256 = jf.at("sha256").get<std::string>();
      f.url = jf.value("url", std::string());
    } catch (const json::exception& e) {
      return invalid_argument(at, ": a file needs path (string), size (integer) and sha256 (string): ", e.what());
    }
    SPARSIFY_RETURN_IF_ERROR(check_file_path(f.path).with_prefix(at));
    if (!is_sha256_hex(f.sha256)) {
      return invalid_argument(at, ": file '", f.path, "' has sha256 '", f.sha256, "', expected 64 lower-case hex digits");
    }
    if (m->find_file(f.path)) return invalid_argument(at, ": file '", f.path, "' is listed twice");
    m->files.push_back(std::move(f));
  }
  return Status::ok_status();
}

StatusOr<json> parse_json(const std::string& text, const std::string& origin) {
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    return invalid_argument(origin, ": not valid JSON: ", e.what());
  }
}

}  // namespace

StatusOr<ZooIndex> parse_index(const std::string& json_text, const std::string& origin) {
  SPARSIFY_ASSIGN_OR_RETURN(json j, parse_json(json_text, origin));
  if (!j.is_object()) return invalid_argument(origin, ": the index must be a JSON object");
  ZooIndex index;
  index.version = j.value("version", 0);
  if (index.version != kIndexVersion) {
    return unsupported(origin, ": index version ", index.version, " is not supported (this client reads version ",
                       kIndexVersion, ")");
  }
  if (!j.contains("models") || !j.at("models").is_array()) return invalid_argument(origin, ": 'models' must be an array");
  size_t i = 0;
  for (const json& jm : j.at("models")) {
    ModelEntry m;
    SPARSIFY_RETURN_IF_ERROR(model_from_json(jm, str_cat(origin, ": models[", i++, "]"), &m));
    index.models.push_back(std::move(m));
  }
  return index;
}

std::string serialize_index(const ZooIndex& index) {
  json models = json::array();
  for (const ModelEntry& m : index.models) models.push_back(model_to_json(m));
  json j = {{"format", "sparsify-zoo"}, {"version", index.version}, {"models", models}};
  return j.dump(2) + "\n";
}

std::string serialize_model(const ModelEntry& model) { return model_to_json(model).dump(2) + "\n"; }

StatusOr<ModelEntry> parse_model(const std::string& json_text, const std::string& origin) {
  SPARSIFY_ASSIGN_OR_RETURN(json j, parse_json(json_text, origin));
  ModelEntry m;
  SPARSIFY_RETURN_IF_ERROR(model_from_json(j, origin, &m));
  return m;
}

namespace {

std::string scalar(const YAML::Node& n) { return n.IsScalar() ? n.as<std::string>() : std::string(); }

// Accepts 0.9, "90%" or 90 (a number above 1 is a percentage).
std::optional<double> parse_fraction(const YAML::Node& n) {
  if (!n.IsScalar()) return std::nullopt;
  std::string s = n.as<std::string>();
  bool percent = !s.empty() && s.back() == '%';
  if (percent) s.pop_back();
  try {
    size_t used = 0;
    double v = std::stod(s, &used);
    if (used != s.size()) return std::nullopt;
    if (percent || v > 1.0) v /= 100.0;
    return v;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace

StatusOr<ModelCard> parse_model_card(const std::string& markdown, const std::string& origin) {
  ModelCard card;
  // Front matter: a first line "---", then YAML, then another "---" line.
  if (markdown.rfind("---", 0) != 0) return card;
  const size_t first_nl = markdown.find('\n');
  if (first_nl == std::string::npos) return card;
  size_t end = markdown.find("\n---", first_nl);
  if (end == std::string::npos) return invalid_argument(origin, ": YAML front matter is not closed by a '---' line");
  const std::string yaml_text = markdown.substr(first_nl + 1, end - first_nl);
  YAML::Node y;
  try {
    y = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    return invalid_argument(origin, ":", e.mark.line + 2, ":", e.mark.column + 1, ": bad YAML front matter: ", e.msg);
  }
  if (!y.IsMap()) return card;
  try {
    auto get = [&](const char* k, std::string* out) {
      if (y[k]) *out = scalar(y[k]);
    };
    get("display_name", &card.display_name);
    get("description", &card.description);
    get("domain", &card.domain);
    get("sub_domain", &card.sub_domain);
    get("task", &card.task);
    get("architecture", &card.architecture);
    get("sub_architecture", &card.sub_architecture);
    get("framework", &card.framework);
    get("repo", &card.repo);
    get("dataset", &card.dataset);
    if (card.dataset.empty()) get("train_dataset", &card.dataset);   // SparseZoo card keys
    if (card.dataset.empty()) get("source_dataset", &card.dataset);
    get("training_scheme", &card.training_scheme);
    get("sparse_name", &card.sparse_name);
    get("sparse_category", &card.sparse_category);
    get("sparse_target", &card.sparse_target);
    if (const YAML::Node sp = y["sparsity"]; sp) {
      // A number, or the map `sparsify export` writes: {prunable_overall: 0.926, layers: {...}}.
      const YAML::Node value = sp.IsMap() ? (sp["prunable_overall"] ? sp["prunable_overall"] : sp["overall"]) : sp;
      if (value) card.sparsity = parse_fraction(value);
      if (!value || !card.sparsity)
        return invalid_argument(origin, ": 'sparsity' must be a number (0.9, 90 or \"90%\") or a map with prunable_overall");
    }
    if (y["quantized"]) {
      card.quantized = y["quantized"].as<bool>();
    } else if (const YAML::Node ex = y["export"]; ex && ex.IsMap() && ex["format"]) {
      const std::string format = ex["format"].as<std::string>();  // `sparsify export` cards
      card.quantized = format == "int8" || format == "qdq";
    }
    if (const YAML::Node acc = y["accuracy"]; acc) {
      if (acc.IsMap()) {
        for (const auto& kv : acc) card.accuracy[kv.first.as<std::string>()] = kv.second.as<double>();
      } else {
        card.accuracy["top1"] = acc.as<double>();
      }
    }
    if (const YAML::Node tags = y["tags"]; tags && tags.IsSequence()) {
      for (const auto& t : tags) card.tags.push_back(t.as<std::string>());
    }
    if (const YAML::Node rt = y["recipe_types"]; rt && rt.IsSequence()) {
      for (const auto& t : rt) card.recipe_types.push_back(t.as<std::string>());
    }
  } catch (const YAML::Exception& e) {
    return invalid_argument(origin, ":", e.mark.line + 2, ": front matter field has the wrong type: ", e.msg);
  }
  return card;
}

void fill_card_from_stub(const Stub& s, ModelCard* c) {
  auto fill = [](std::string* field, const std::string& value) {
    if (field->empty()) *field = value;
  };
  fill(&c->domain, s.domain);
  fill(&c->sub_domain, s.sub_domain);
  fill(&c->task, s.sub_domain);
  fill(&c->architecture, s.architecture);
  fill(&c->sub_architecture, s.sub_architecture);
  fill(&c->framework, s.framework);
  fill(&c->repo, s.repo);
  fill(&c->dataset, s.dataset);
  fill(&c->training_scheme, s.training_scheme);
  fill(&c->sparse_name, s.sparse_name);
  fill(&c->sparse_category, s.sparse_category);
  fill(&c->sparse_target, s.sparse_target);
  if (!c->quantized && !s.sparse_name.empty()) c->quantized = s.sparse_name.find("quant") != std::string::npos;
}

}  // namespace sparsify::zoo
