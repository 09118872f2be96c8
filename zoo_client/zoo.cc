// The public zoo API: choose the zoo and cache, read the index, fetch files, search.
#include "zoo_client/zoo.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <functional>

#include "zoo_client/fs_util.h"
#include "zoo_client/progress.h"

namespace sparsify::zoo {

namespace fs = std::filesystem;

namespace {

bool env_true(const char* name) {
  const char* v = std::getenv(name);
  if (!v) return false;
  const std::string s = v;
  return s == "1" || s == "true" || s == "TRUE" || s == "yes" || s == "on";
}

bool is_http(const std::string& s) { return s.rfind("http://", 0) == 0 || s.rfind("https://", 0) == 0; }

// Percent-encodes what is not safe in a URL path ('/' kept).
std::string encode_path(const std::string& s) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '/' || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string file_url(const std::string& base, const ModelEntry& m, const FileEntry& f) {
  if (f.url.empty()) return base + "/models/" + encode_path(m.id) + "/" + encode_path(f.path);
  if (is_http(f.url) || f.url.rfind("file://", 0) == 0) return f.url;
  return base + "/" + f.url;
}

// The transport for a URL: the options' override, else libcurl or plain files.
Transport* pick_transport(const FetchOptions& o, const std::string& url, std::unique_ptr<Transport>* owned) {
  if (o.transport) return o.transport;
  *owned = is_http(url) ? make_curl_transport() : make_file_transport();
  return owned->get();
}

std::string offline_hint(const std::string& stub) {
  return str_cat("offline mode is on (--offline or SPARSIFY_OFFLINE=1); fetch it once with network access: "
                 "sparsify zoo download ", stub);
}

using FileFilter = std::function<StatusOr<std::vector<const FileEntry*>>(const ModelEntry&)>;

std::vector<const FileEntry*> all_files(const ModelEntry& m) {
  std::vector<const FileEntry*> out;
  for (const FileEntry& f : m.files) out.push_back(&f);
  return out;
}

// Answers from the cache alone: the model's manifest and every wanted file must be there.
StatusOr<std::vector<const FileEntry*>> cached_files(const Cache& cache, const ModelEntry& m, const FileFilter& filter,
                                                     const std::string& stub_text) {
  SPARSIFY_ASSIGN_OR_RETURN(std::vector<const FileEntry*> wanted, filter(m));
  for (const FileEntry* f : wanted) {
    if (!cache.has_file(m, *f)) return not_found(stub_text, ": file ", f->path, " is not in the cache at ", cache.root());
  }
  return wanted;
}

struct Fetched {
  ModelEntry model;
  std::vector<std::string> paths;  // snapshot paths of the wanted files, in order
  std::string snapshot_dir;
};

Fetched make_fetched(const Cache& cache, ModelEntry m, const std::vector<const FileEntry*>& files) {
  Fetched out;
  out.snapshot_dir = cache.snapshot_dir(m.id);
  for (const FileEntry* f : files) out.paths.push_back(out.snapshot_dir + "/" + f->path);
  out.model = std::move(m);
  return out;
}

StatusOr<Fetched> from_cache(const Cache& cache, const Stub& stub, const FileFilter& filter) {
  SPARSIFY_ASSIGN_OR_RETURN(ModelEntry m, cache.find_model(stub));
  SPARSIFY_ASSIGN_OR_RETURN(std::vector<const FileEntry*> files, cached_files(cache, m, filter, stub.name()));
  std::vector<std::string> keep;
  for (const FileEntry* f : files) keep.push_back(f->path);
  // Pointers into `m` die when it moves; rebuild them from paths.
  Fetched out;
  out.snapshot_dir = cache.snapshot_dir(m.id);
  for (const std::string& p : keep) out.paths.push_back(out.snapshot_dir + "/" + p);
  out.model = std::move(m);
  return out;
}

StatusOr<Fetched> fetch(const std::string& stub_text, const FetchOptions& o, const FileFilter& filter) {
  SPARSIFY_ASSIGN_OR_RETURN(Stub stub, parse_stub(stub_text));
  const Cache cache(resolve_cache_dir(o));
  if (is_offline(o)) {
    StatusOr<Fetched> cached = from_cache(cache, stub, filter);
    if (!cached.ok() && cached.status().code() == StatusCode::kNotFound) {
      return not_found(cached.status().message(), "; ", offline_hint(stub.name()));
    }
    return cached;
  }
  SPARSIFY_ASSIGN_OR_RETURN(std::string base, resolve_zoo_url(o));
  StatusOr<ZooIndex> index = load_index(o);
  if (!index.ok()) {
    // The zoo is unreachable: a model that is fully cached still answers (as the HF hub client does).
    if (index.status().code() == StatusCode::kNetwork) {
      StatusOr<Fetched> cached = from_cache(cache, stub, filter);
      if (cached.ok()) return cached;
    }
    return index.status();
  }
  const ModelEntry* found = index->find(stub);
  if (!found) {
    std::string near;
    for (const std::string& s : index->nearest(stub, 3)) near += (near.empty() ? "" : ", ") + s;
    return not_found(stub.name(), " is not in the zoo at ", base, " (", index->models.size(), index->models.size() == 1 ? " model" : " models",
                     near.empty() ? "" : "; nearest: " + near, ")");
  }
  const ModelEntry& m = *found;
  SPARSIFY_ASSIGN_OR_RETURN(std::vector<const FileEntry*> wanted, filter(m));
  std::unique_ptr<Transport> owned;
  Transport* transport = pick_transport(o, base, &owned);
  const ProgressFn progress = o.progress ? terminal_progress() : ProgressFn();
  {
    // One process at a time per model; a second one waits, then finds the blobs in place.
    SPARSIFY_ASSIGN_OR_RETURN(FileLock lock, FileLock::acquire(cache.model_lock_path(m.id)));
    for (const FileEntry* f : wanted) {
      if (cache.has_file(m, *f)) continue;
      BlobRequest req{file_url(base, m, *f), f->sha256, f->size, str_cat(m.short_stub.empty() ? m.stub : m.short_stub,
                                                                          ": ", f->path)};
      SPARSIFY_RETURN_IF_ERROR(
          download_blob(*transport, req, cache.blobs_dir(), cache.locks_dir(), o.limits, o.retry, progress));
      SPARSIFY_RETURN_IF_ERROR(cache.link_file(m, *f));
    }
    SPARSIFY_RETURN_IF_ERROR(cache.write_manifest(m));
  }
  return make_fetched(cache, m, wanted);
}

bool has_ext(const std::string& path, std::initializer_list<const char*> exts) {
  const std::string e = fs::path(path).extension().string();
  return std::any_of(exts.begin(), exts.end(), [&](const char* x) { return e == x; });
}

bool is_recipe(const FileEntry& f) {
  return f.path.rfind("recipes/", 0) == 0 && has_ext(f.path, {".md", ".yaml", ".yml"});
}

bool is_checkpoint(const FileEntry& f) {
  return has_ext(f.path, {".pt", ".pth", ".ckpt"}) || f.path.rfind("training/", 0) == 0 ||
         f.path.rfind("checkpoints/", 0) == 0;
}

std::string list_paths(const std::vector<const FileEntry*>& files) {
  std::string s;
  for (const FileEntry* f : files) s += (s.empty() ? "" : ", ") + f->path;
  return s.empty() ? "none" : s;
}

StatusOr<std::vector<const FileEntry*>> pick_recipe(const ModelEntry& m, const std::string& type) {
  std::vector<const FileEntry*> recipes;
  for (const FileEntry& f : m.files) {
    if (is_recipe(f)) recipes.push_back(&f);
  }
  std::vector<std::string> names;
  if (!type.empty()) {
    names = {"recipes/recipe_" + type + ".md", "recipes/recipe_" + type + ".yaml", "recipes/recipe_" + type + ".yml"};
  } else {
    names = {"recipes/recipe.md", "recipes/recipe.yaml", "recipes/recipe_original.md", "recipes/recipe_original.yaml"};
  }
  for (const std::string& n : names) {
    if (const FileEntry* f = m.find_file(n)) return std::vector<const FileEntry*>{f};
  }
  if (type.empty() && recipes.size() == 1) return recipes;
  return not_found(m.stub, ": no ", type.empty() ? "default recipe" : "recipe of type '" + type + "'",
                   " (recipes of this model: ", list_paths(recipes), "; pick one with ?recipe_type=TYPE)");
}

StatusOr<std::vector<const FileEntry*>> pick_checkpoint(const ModelEntry& m, const std::string& name) {
  std::vector<const FileEntry*> ckpts;
  for (const FileEntry& f : m.files) {
    if (is_checkpoint(f)) ckpts.push_back(&f);
  }
  if (name.empty() && ckpts.size() == 1) return ckpts;
  for (const FileEntry* f : ckpts) {
    const fs::path p(f->path);
    if (!name.empty() && (f->path == name || p.filename() == name || p.stem() == name)) {
      return std::vector<const FileEntry*>{f};
    }
  }
  return not_found(m.stub, ": ", name.empty() ? "no single checkpoint" : "no checkpoint '" + name + "'",
                   " (checkpoints of this model: ", list_paths(ckpts), "; pick one with ?checkpoint=NAME)");
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool eq_or_empty(const std::string& want, const std::string& have) { return want.empty() || lower(want) == lower(have); }

}  // namespace

StatusOr<std::string> resolve_zoo_url(const FetchOptions& o) {
  std::string z = o.zoo;
  if (z.empty()) {
    if (const char* e = std::getenv("SPARSIFY_ZOO_URL"); e && *e) z = e;
  }
#ifdef SPARSIFY_DEFAULT_ZOO
  if (z.empty()) {
    const std::string def = SPARSIFY_DEFAULT_ZOO;
    std::error_code ec;
    if (is_http(def) || fs::is_regular_file(fs::path(def) / "index.json", ec)) z = def;
  }
#endif
  if (z.empty()) {
    return not_found("no zoo configured: pass --zoo URL_OR_DIR or set SPARSIFY_ZOO_URL (an http(s) URL or a "
                     "directory made by `sparsify zoo publish`)");
  }
  while (z.size() > 1 && z.back() == '/') z.pop_back();
  if (is_http(z) || z.rfind("file://", 0) == 0) return z;
  if (z.find("://") != std::string::npos) return invalid_argument("zoo '", z, "': only http://, https:// and directories");
  std::error_code ec;
  const fs::path abs = fs::absolute(z, ec);
  if (ec) return io_error("zoo '", z, "': ", ec.message());
  return "file://" + encode_path(abs.lexically_normal().string());
}

std::string resolve_cache_dir(const FetchOptions& o) { return o.cache_dir.empty() ? default_cache_dir() : o.cache_dir; }

bool is_offline(const FetchOptions& o) { return o.offline || env_true("SPARSIFY_OFFLINE"); }

StatusOr<ZooIndex> load_index(const FetchOptions& o) {
  if (is_offline(o)) return not_found("the zoo index is not available offline (--offline or SPARSIFY_OFFLINE=1)");
  SPARSIFY_ASSIGN_OR_RETURN(std::string base, resolve_zoo_url(o));
  std::unique_ptr<Transport> owned;
  Transport* transport = pick_transport(o, base, &owned);
  const std::string url = base + "/index.json";
  StatusOr<std::string> text = fetch_text(*transport, url, o.limits, o.retry);
  if (!text.ok()) {
    if (text.status().code() == StatusCode::kNotFound) {
      return not_found("no zoo at ", base, ": ", url, " does not exist (make one with `sparsify zoo publish`)");
    }
    return text.status().with_prefix(str_cat("cannot read the zoo index"));
  }
  return parse_index(*text, url);
}

StatusOr<FetchResult> fetch_model_entry(const std::string& stub, const FetchOptions& o) {
  SPARSIFY_ASSIGN_OR_RETURN(Fetched f, fetch(stub, o, [](const ModelEntry& m) {
    return StatusOr<std::vector<const FileEntry*>>(all_files(m));
  }));
  return FetchResult{std::move(f.model), std::move(f.snapshot_dir)};
}

StatusOr<std::string> fetch_model(const std::string& stub, const FetchOptions& o) {
  SPARSIFY_ASSIGN_OR_RETURN(FetchResult r, fetch_model_entry(stub, o));
  return r.snapshot_dir;
}

StatusOr<std::string> fetch_recipe(const std::string& stub_with_query, const FetchOptions& o) {
  SPARSIFY_ASSIGN_OR_RETURN(Stub stub, parse_stub(stub_with_query));
  const std::string type = stub.option("recipe_type");
  SPARSIFY_ASSIGN_OR_RETURN(Fetched f, fetch(stub_with_query, o, [&](const ModelEntry& m) { return pick_recipe(m, type); }));
  return f.paths.front();
}

StatusOr<std::string> fetch_checkpoint(const std::string& stub_with_query, const FetchOptions& o) {
  SPARSIFY_ASSIGN_OR_RETURN(Stub stub, parse_stub(stub_with_query));
  const std::string name = stub.option("checkpoint");
  SPARSIFY_ASSIGN_OR_RETURN(Fetched f,
                            fetch(stub_with_query, o, [&](const ModelEntry& m) { return pick_checkpoint(m, name); }));
  return f.paths.front();
}

Status copy_model_to(const std::string& snapshot_dir, const ModelEntry& model, const std::string& dir) {
  for (const FileEntry& f : model.files) {
    const fs::path to = fs::path(dir) / f.path;
    SPARSIFY_RETURN_IF_ERROR(make_dirs(to.parent_path().string()));
    const std::string tmp = unique_temp_name(to.string());
    SPARSIFY_RETURN_IF_ERROR(copy_file(snapshot_dir + "/" + f.path, tmp));
    std::error_code ec;
    fs::rename(tmp, to, ec);
    if (ec) return io_error("cannot rename ", tmp, " to ", to.string(), ": ", ec.message());
  }
  return Status::ok_status();
}

StatusOr<ModelEntry> model_info(const std::string& stub_text, const FetchOptions& o) {
  SPARSIFY_ASSIGN_OR_RETURN(Stub stub, parse_stub(stub_text));
  if (is_offline(o)) {
    StatusOr<ModelEntry> m = Cache(resolve_cache_dir(o)).find_model(stub);
    if (!m.ok() && m.status().code() == StatusCode::kNotFound) {
      return not_found(m.status().message(), "; ", offline_hint(stub.name()));
    }
    return m;
  }
  SPARSIFY_ASSIGN_OR_RETURN(ZooIndex index, load_index(o));
  if (const ModelEntry* m = index.find(stub)) return *m;
  std::string near;
  for (const std::string& s : index.nearest(stub, 3)) near += (near.empty() ? "" : ", ") + s;
  SPARSIFY_ASSIGN_OR_RETURN(std::string base, resolve_zoo_url(o));
  return not_found(stub.name(), " is not in the zoo at ", base, near.empty() ? "" : " (nearest: " + near + ")");
}

bool matches(const ModelEntry& m, const SearchQuery& q) {
  const ModelCard& c = m.card;
  if (!eq_or_empty(q.domain, c.domain) || !eq_or_empty(q.sub_domain, c.sub_domain) ||
      !eq_or_empty(q.architecture, c.architecture) || !eq_or_empty(q.dataset, c.dataset) ||
      !eq_or_empty(q.framework, c.framework) || !eq_or_empty(q.repo, c.repo) ||
      !eq_or_empty(q.sparse_name, c.sparse_name)) {
    return false;
  }
  if (q.sparsity_min && (!c.sparsity || *c.sparsity < *q.sparsity_min)) return false;
  if (q.sparsity_max && (!c.sparsity || *c.sparsity > *q.sparsity_max)) return false;
  if (q.quantized && c.quantized.value_or(false) != *q.quantized) return false;
  if (!q.recipe_type.empty() &&
      std::find(c.recipe_types.begin(), c.recipe_types.end(), q.recipe_type) == c.recipe_types.end()) {
    return false;
  }
  if (!q.text.empty()) {
    const std::string t = lower(q.text);
    std::string hay = lower(m.stub + " " + m.short_stub + " " + c.display_name);
    for (const std::string& tag : c.tags) hay += " " + lower(tag);
    if (hay.find(t) == std::string::npos) return false;
  }
  return true;
}

StatusOr<std::vector<ModelEntry>> search(const SearchQuery& q, const FetchOptions& o) {
  ZooIndex index;
  if (is_offline(o)) {  // offline, the cache's models are the zoo
    SPARSIFY_ASSIGN_OR_RETURN(index.models, Cache(resolve_cache_dir(o)).list_models());
  } else {
    SPARSIFY_ASSIGN_OR_RETURN(index, load_index(o));
  }
  std::vector<ModelEntry> out;
  for (const ModelEntry& m : index.models) {
    if (matches(m, q)) out.push_back(m);
  }
  return out;
}

}  // namespace sparsify::zoo
