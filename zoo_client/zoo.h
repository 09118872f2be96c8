// The zoo client's public API: resolve a stub to local files (downloading into the cache when
// needed), search a zoo, describe a model. Never links LibTorch.
//
// Which zoo: FetchOptions::zoo, else $SPARSIFY_ZOO_URL, else the default zoo built in
// (<source tree>/data/zoo when it exists). A zoo is an http(s) URL or a local directory.
// Offline: FetchOptions::offline or SPARSIFY_OFFLINE=1 uses the cache only.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "engine/base/status.h"
#include "zoo_client/cache.h"
#include "zoo_client/download.h"
#include "zoo_client/index.h"
#include "zoo_client/stub.h"
#include "zoo_client/transport.h"

namespace sparsify::zoo {

/// Where to fetch from, where to cache, and how patiently. Defaults suit interactive use.
struct FetchOptions {
  std::string zoo;          // URL or directory; "" = $SPARSIFY_ZOO_URL, then the built-in default
  std::string cache_dir;    // "" = $SPARSIFY_CACHE, else ~/.cache/sparsify
  bool offline = false;     // also on when SPARSIFY_OFFLINE is 1/true/yes/on
  bool progress = true;     // a progress bar on stderr when it is a TTY
  TransferLimits limits;
  RetryPolicy retry;
  Transport* transport = nullptr;  // overrides the transport chosen from the URL (tests); not owned
};

/// The zoo URL to use: options.zoo, $SPARSIFY_ZOO_URL, then the built-in default, normalized:
/// "http(s)://host[:port]/path" without a trailing '/', or "file:///absolute/dir" for directories.
/// not_found when none is configured.
StatusOr<std::string> resolve_zoo_url(const FetchOptions& options);
/// The cache directory the options mean.
std::string resolve_cache_dir(const FetchOptions& options);
/// True when the options or the environment ask for offline mode.
bool is_offline(const FetchOptions& options);

/// Reads the zoo's index.json. network/not_found/invalid_argument on failure.
StatusOr<ZooIndex> load_index(const FetchOptions& options);

/// Fetches every file of the model `stub` names (query ignored) into the cache and returns the
/// snapshot directory (the model folder: model.onnx, model.md, recipes/, ...). Files already
/// cached are not fetched again. Safe to call from several threads or processes at once; the
/// returned directory stays valid until `zoo rm`. Offline, answers from the cache or fails with
/// not_found naming the stub.
StatusOr<std::string> fetch_model(const std::string& stub, const FetchOptions& options = {});
/// fetch_model, also returning the model's index entry.
struct FetchResult {
  ModelEntry model;
  std::string snapshot_dir;
};
StatusOr<FetchResult> fetch_model_entry(const std::string& stub, const FetchOptions& options = {});
/// Fetches one recipe of a model and returns its path: `?recipe_type=T` picks
/// recipes/recipe_T.{md,yaml}; without it recipes/recipe.md, recipe_original.md or the only
/// recipe. not_found lists the recipes the model has.
StatusOr<std::string> fetch_recipe(const std::string& stub_with_query, const FetchOptions& options = {});
/// Fetches one checkpoint file (.pt, .pth, .ckpt, or under training/ or checkpoints/):
/// `?checkpoint=NAME` matches a file's path, name or stem; without it the only checkpoint.
StatusOr<std::string> fetch_checkpoint(const std::string& stub_with_query, const FetchOptions& options = {});

/// Copies a fetched model's files out of the cache into `dir` (plain files, created as needed).
Status copy_model_to(const std::string& snapshot_dir, const ModelEntry& model, const std::string& dir);

/// The index entry of a model: from the zoo, or offline from the cache's manifest.
StatusOr<ModelEntry> model_info(const std::string& stub, const FetchOptions& options = {});

/// Search filters; empty/unset fields match everything. Strings compare case-insensitively.
struct SearchQuery {
  std::string domain, sub_domain, architecture, dataset, framework, repo, sparse_name;
  std::string text;                         // substring of the stubs, display name or tags
  std::optional<double> sparsity_min, sparsity_max;
  std::optional<bool> quantized;
  std::string recipe_type;                  // models that have this recipe type
};
/// True when a model passes every filter.
bool matches(const ModelEntry& model, const SearchQuery& query);
/// The zoo's models that match, in index order (offline: the cached models that match).
StatusOr<std::vector<ModelEntry>> search(const SearchQuery& query, const FetchOptions& options = {});

}  // namespace sparsify::zoo
