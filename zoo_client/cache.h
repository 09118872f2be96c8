// The local cache: blobs by sha256, per-model snapshots of links to them, and one manifest per model.
//
//   $SPARSIFY_CACHE/                      (default ~/.cache/sparsify)
//     blobs/<sha256>                      verified file contents, read-only
//     blobs/<sha256>.incomplete           a download in progress or interrupted (resumed later)
//     snapshots/<model id>/<path>         symlink -> ../../blobs/<sha256> (one more ../ per directory level)
//     models/<model id>.json              the model's index entry; written after its files are linked
//     locks/<sha256 or model id>.lock     flock files (held only while downloading)
#pragma once

#include <string>
#include <vector>

#include "engine/base/status.h"
#include "zoo_client/index.h"

namespace sparsify::zoo {

/// One problem `Cache::verify` found.
struct CacheIssue {
  std::string stub;     // the model's stub ("" for stray files)
  std::string path;     // file path in the model, or the blob name
  std::string problem;  // e.g. "sha256 is ..., expected ..."
};

/// A cache directory. Cheap to copy; holds no open files. Safe to use from several processes:
/// writers take the flocks, files and links are renamed into place.
class Cache {
 public:
  explicit Cache(std::string root);

  const std::string& root() const { return root_; }
  std::string blobs_dir() const { return root_ + "/blobs"; }
  std::string locks_dir() const { return root_ + "/locks"; }
  std::string blob_path(const std::string& sha256) const { return blobs_dir() + "/" + sha256; }
  std::string snapshot_dir(const std::string& model_id) const { return root_ + "/snapshots/" + model_id; }
  std::string manifest_path(const std::string& model_id) const { return root_ + "/models/" + model_id + ".json"; }
  std::string model_lock_path(const std::string& model_id) const { return locks_dir() + "/" + model_id + ".lock"; }

  /// True when the file's blob is in the cache with the right size and the snapshot links to it.
  bool has_file(const ModelEntry& model, const FileEntry& file) const;
  /// Points snapshots/<id>/<path> at the file's blob (a relative symlink, replaced atomically).
  Status link_file(const ModelEntry& model, const FileEntry& file) const;
  /// Writes models/<id>.json and removes snapshot entries that the model no longer lists.
  Status write_manifest(const ModelEntry& model) const;

  /// Every cached model (by manifest), sorted by stub.
  StatusOr<std::vector<ModelEntry>> list_models() const;
  /// The cached model whose long or short stub is `stub`; not_found otherwise.
  StatusOr<ModelEntry> find_model(const Stub& stub) const;
  /// Re-hashes every linked blob. Corrupt blobs are deleted (with their links) so the next fetch
  /// downloads them again; each becomes an issue, as do missing blobs and dangling links.
  StatusOr<std::vector<CacheIssue>> verify() const;
  /// Deletes a model's snapshot and manifest, then every blob no other cached model uses.
  Status remove_model(const ModelEntry& model) const;
  /// Bytes held in blobs/*.incomplete (interrupted downloads).
  std::uint64_t incomplete_bytes() const;

 private:
  std::string root_;
};

}  // namespace sparsify::zoo
