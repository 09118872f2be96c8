// The zoo index (index.json): every model's stubs, model card and files with sizes and sha256.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "engine/base/status.h"
#include "zoo_client/stub.h"

namespace sparsify::zoo {

/// The index format version this client reads and writes.
inline constexpr int kIndexVersion = 1;

/// A model's description: read from the YAML front matter of its model.md, filled from its stub.
struct ModelCard {
  std::string display_name, description;
  std::string domain, sub_domain, task, architecture, sub_architecture, framework, repo;
  std::string dataset, training_scheme, sparse_name, sparse_category, sparse_target;
  std::optional<double> sparsity;            // fraction of prunable weights that are zero, 0..1
  std::optional<bool> quantized;
  std::map<std::string, double> accuracy;    // metric name -> value, e.g. top1 -> 0.991
  std::vector<std::string> recipe_types;     // e.g. original, transfer_learn (from recipes/recipe_<type>.md)
  std::vector<std::string> tags;
};

/// One file of a model: its path inside the model folder, size and digest.
struct FileEntry {
  std::string path;    // relative, '/'-separated, no "..": "model.onnx", "recipes/recipe.md"
  std::uint64_t size = 0;
  std::string sha256;  // lower-case hex
  std::string url;     // optional: where to fetch it (absolute, or relative to the zoo root);
                       // empty means models/<id>/<path>
};

/// One model of a zoo.
struct ModelEntry {
  std::string id;          // file-system-safe; blobs live at models/<id>/<path> by default
  std::string stub;        // long stub, "zoo:..."
  std::string short_stub;  // "zoo:ARCH-DATASET-SPARSE_TAG"
  ModelCard card;
  std::vector<FileEntry> files;
  std::string published;   // UTC ISO-8601 time of publication

  /// True when `stub_name` ("zoo:...", no query) is this model's long or short stub.
  bool matches(const std::string& stub_name) const { return stub_name == stub || stub_name == short_stub; }
  const FileEntry* find_file(const std::string& path) const;
  std::uint64_t total_size() const;
};

/// A whole zoo: index.json parsed.
struct ZooIndex {
  int version = kIndexVersion;
  std::vector<ModelEntry> models;

  /// The model whose long or short stub is `stub` (query ignored), or nullptr.
  const ModelEntry* find(const Stub& stub) const;
  /// Up to `limit` stubs that look most like `stub` (for "did you mean").
  std::vector<std::string> nearest(const Stub& stub, size_t limit) const;
};

/// Parses index.json text; `origin` names it in errors. invalid_argument on bad JSON or fields.
StatusOr<ZooIndex> parse_index(const std::string& json_text, const std::string& origin);
/// Serializes an index as pretty JSON (stable key order, trailing newline).
std::string serialize_index(const ZooIndex& index);
/// One model entry as JSON text (the cache keeps one per model as its manifest).
std::string serialize_model(const ModelEntry& model);
StatusOr<ModelEntry> parse_model(const std::string& json_text, const std::string& origin);

/// Checks a model file path: relative, '/'-separated, no empty, "." or ".." segments, no leading '.'.
Status check_file_path(const std::string& path);

/// Reads the YAML front matter of a model.md (between the first two '---' lines) into a card.
/// Unknown keys are ignored; a missing front matter gives an empty card.
StatusOr<ModelCard> parse_model_card(const std::string& markdown, const std::string& origin);
/// Fills the card fields that are empty from the stub's fields.
void fill_card_from_stub(const Stub& stub, ModelCard* card);

}  // namespace sparsify::zoo
