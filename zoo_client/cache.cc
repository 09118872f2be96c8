// The cache: blob store, snapshot links, manifests, verify and remove.
#include "zoo_client/cache.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "zoo_client/fs_util.h"
#include "zoo_client/sha256.h"

namespace sparsify::zoo {

namespace fs = std::filesystem;

Cache::Cache(std::string root) : root_(std::move(root)) {
  while (root_.size() > 1 && root_.back() == '/') root_.pop_back();
}

namespace {

// "../../" plus one "../" per directory in `path`: from snapshots/<id>/<path> back to the root.
std::string link_target(const std::string& path, const std::string& sha256) {
  std::string up = "../../";
  for (char c : path) {
    if (c == '/') up += "../";
  }
  return up + "blobs/" + sha256;
}

}  // namespace

bool Cache::has_file(const ModelEntry& model, const FileEntry& file) const {
  if (file_size_or_minus_one(blob_path(file.sha256)) != static_cast<std::int64_t>(file.size)) return false;
  std::error_code ec;
  const fs::path link = fs::path(snapshot_dir(model.id)) / file.path;
  return fs::is_symlink(link, ec) && fs::read_symlink(link, ec).string() == link_target(file.path, file.sha256);
}

Status Cache::link_file(const ModelEntry& model, const FileEntry& file) const {
  const fs::path link = fs::path(snapshot_dir(model.id)) / file.path;
  SPARSIFY_RETURN_IF_ERROR(make_dirs(link.parent_path().string()));
  const std::string tmp = unique_temp_name(link.string());
  std::error_code ec;
  fs::create_symlink(link_target(file.path, file.sha256), tmp, ec);
  if (ec) return io_error("cannot create link ", tmp, ": ", ec.message());
  fs::rename(tmp, link, ec);
  if (ec) {
    fs::remove(tmp, ec);
    return io_error("cannot rename link to ", link.string(), ": ", ec.message());
  }
  return Status::ok_status();
}

Status Cache::write_manifest(const ModelEntry& model) const {
  SPARSIFY_RETURN_IF_ERROR(make_dirs(root_ + "/models"));
  SPARSIFY_RETURN_IF_ERROR(write_file_atomic(manifest_path(model.id), serialize_model(model)));
  // Drop links of files that an earlier version of the model had and this one does not.
  std::set<std::string> listed;
  for (const FileEntry& f : model.files) listed.insert(f.path);
  const fs::path snap = snapshot_dir(model.id);
  std::error_code ec;
  std::vector<fs::path> stale;
  for (auto it = fs::recursive_directory_iterator(snap, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (!it->is_symlink() && !it->is_regular_file()) continue;
    if (!listed.count(it->path().lexically_relative(snap).generic_string())) stale.push_back(it->path());
  }
  for (const fs::path& p : stale) fs::remove(p, ec);
  return Status::ok_status();
}

StatusOr<std::vector<ModelEntry>> Cache::list_models() const {
  std::vector<ModelEntry> out;
  std::error_code ec;
  const fs::path dir = root_ + "/models";
  if (!fs::is_directory(dir, ec)) return out;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.path().extension() != ".json") continue;
    SPARSIFY_ASSIGN_OR_RETURN(std::string text, read_text_file(e.path().string()));
    SPARSIFY_ASSIGN_OR_RETURN(ModelEntry m, parse_model(text, e.path().string()));
    out.push_back(std::move(m));
  }
  std::sort(out.begin(), out.end(), [](const ModelEntry& a, const ModelEntry& b) { return a.stub < b.stub; });
  return out;
}

StatusOr<ModelEntry> Cache::find_model(const Stub& stub) const {
  SPARSIFY_ASSIGN_OR_RETURN(std::vector<ModelEntry> models, list_models());
  for (ModelEntry& m : models) {
    if (m.matches(stub.name())) return std::move(m);
  }
  return not_found(stub.name(), " is not in the cache at ", root_);
}

StatusOr<std::vector<CacheIssue>> Cache::verify() const {
  SPARSIFY_ASSIGN_OR_RETURN(std::vector<ModelEntry> models, list_models());
  std::vector<CacheIssue> issues;
  std::set<std::string> checked_bad, checked_good;
  for (const ModelEntry& m : models) {
    for (const FileEntry& f : m.files) {
      const fs::path link = fs::path(snapshot_dir(m.id)) / f.path;
      std::error_code ec;
      if (!fs::is_symlink(link, ec)) continue;  // not downloaded (fetch_recipe fetches single files)
      const std::string blob = blob_path(f.sha256);
      if (checked_good.count(f.sha256)) continue;
      if (checked_bad.count(f.sha256)) {
        fs::remove(link, ec);
        issues.push_back({m.stub, f.path, "shares a corrupt blob; link removed"});
        continue;
      }
      if (file_size_or_minus_one(blob) < 0) {
        fs::remove(link, ec);
        issues.push_back({m.stub, f.path, str_cat("blob ", f.sha256, " is missing; link removed")});
        continue;
      }
      StatusOr<std::string> digest = sha256_file(blob);
      if (!digest.ok()) {
        issues.push_back({m.stub, f.path, digest.status().message()});
        continue;
      }
      if (*digest != f.sha256) {
        ::unlink(blob.c_str());
        fs::remove(link, ec);
        checked_bad.insert(f.sha256);
        issues.push_back({m.stub, f.path, str_cat("sha256 is ", *digest, ", expected ", f.sha256,
                                                  "; the corrupt blob was deleted")});
        continue;
      }
      checked_good.insert(f.sha256);
    }
  }
  return issues;
}

Status Cache::remove_model(const ModelEntry& model) const {
  std::error_code ec;
  fs::remove_all(snapshot_dir(model.id), ec);
  if (ec) return io_error("cannot remove ", snapshot_dir(model.id), ": ", ec.message());
  fs::remove(manifest_path(model.id), ec);
  fs::remove(model_lock_path(model.id), ec);
  SPARSIFY_ASSIGN_OR_RETURN(std::vector<ModelEntry> rest, list_models());
  std::set<std::string> used;
  for (const ModelEntry& m : rest) {
    for (const FileEntry& f : m.files) used.insert(f.sha256);
  }
  for (const FileEntry& f : model.files) {
    if (used.count(f.sha256)) continue;
    fs::remove(blob_path(f.sha256), ec);
    fs::remove(blob_path(f.sha256) + ".incomplete", ec);
  }
  return Status::ok_status();
}

std::uint64_t Cache::incomplete_bytes() const {
  std::uint64_t n = 0;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(blobs_dir(), ec)) {
    if (e.path().extension() == ".incomplete") n += e.file_size(ec);
  }
  return n;
}

}  // namespace sparsify::zoo
