// `zoo publish`: copy + hash into a temp directory, rename into place, rewrite index.json.
#include "zoo_client/publish.h"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <vector>

#include "zoo_client/fs_util.h"
#include "zoo_client/sha256.h"

namespace sparsify::zoo {

namespace fs = std::filesystem;

namespace {

std::string utc_now() {
  const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// Copies `from` to `to` while hashing; returns the file entry for `rel`.
StatusOr<FileEntry> copy_and_hash(const fs::path& from, const fs::path& to, const std::string& rel) {
  std::ifstream in(from, std::ios::binary);
  if (!in) return io_error("cannot open ", from.string());
  SPARSIFY_RETURN_IF_ERROR(make_dirs(to.parent_path().string()));
  std::ofstream out(to, std::ios::binary | std::ios::trunc);
  if (!out) return io_error("cannot create ", to.string());
  Sha256 h;
  std::vector<char> buf(1 << 20);
  FileEntry f;
  f.path = rel;
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    const std::streamsize n = in.gcount();
    if (n <= 0) break;
    h.update(buf.data(), static_cast<size_t>(n));
    out.write(buf.data(), n);
    f.size += static_cast<std::uint64_t>(n);
  }
  if (in.bad()) return io_error("cannot read ", from.string());
  out.flush();
  if (!out) return io_error("cannot write ", to.string());
  f.sha256 = h.hex_digest();
  return f;
}

void add_recipe_types(const std::vector<FileEntry>& files, ModelCard* card) {
  for (const FileEntry& f : files) {
    const fs::path p(f.path);
    if (f.path.rfind("recipes/", 0) != 0) continue;
    const std::string stem = p.stem().string();
    std::string type;
    if (stem == "recipe") type = "original";
    else if (stem.rfind("recipe_", 0) == 0) type = stem.substr(7);
    else continue;
    if (std::find(card->recipe_types.begin(), card->recipe_types.end(), type) == card->recipe_types.end()) {
      card->recipe_types.push_back(type);
    }
  }
  std::sort(card->recipe_types.begin(), card->recipe_types.end());
}

}  // namespace

StatusOr<ZooIndex> read_zoo_dir_index(const std::string& zoo_dir) {
  const std::string path = zoo_dir + "/index.json";
  StatusOr<std::string> text = read_text_file(path);
  if (!text.ok() && text.status().code() == StatusCode::kNotFound) return ZooIndex{};
  if (!text.ok()) return text.status();
  return parse_index(*text, path);
}

StatusOr<ModelEntry> publish_model(const std::string& model_dir, const std::string& zoo_dir,
                                   const std::string& stub_text, const PublishOptions& options) {
  SPARSIFY_ASSIGN_OR_RETURN(Stub stub, parse_stub(stub_text));
  if (stub.short_form) return invalid_argument("publish needs a long stub (", kStubGrammar, "); got ", stub_text);
  if (!stub.query.empty()) return invalid_argument("publish: the stub must not carry options: ", stub_text);
  std::error_code ec;
  if (!fs::is_directory(model_dir, ec)) return not_found("model folder ", model_dir, " does not exist");

  ModelEntry m;
  m.id = stub.derived_id();
  m.stub = stub.name();
  m.short_stub = options.short_stub.empty() ? stub.derived_short_name() : options.short_stub;
  SPARSIFY_ASSIGN_OR_RETURN(Stub short_parsed, parse_stub(m.short_stub));
  if (!short_parsed.short_form || !short_parsed.query.empty()) {
    return invalid_argument("--short-stub '", m.short_stub, "' must be a short stub zoo:ARCH-DATASET-SPARSE_TAG");
  }
  m.short_stub = short_parsed.name();
  m.published = utc_now();

  const fs::path card_path = fs::path(model_dir) / "model.md";
  if (fs::is_regular_file(card_path, ec)) {
    SPARSIFY_ASSIGN_OR_RETURN(std::string md, read_text_file(card_path.string()));
    SPARSIFY_ASSIGN_OR_RETURN(m.card, parse_model_card(md, card_path.string()));
  }
  fill_card_from_stub(stub, &m.card);

  SPARSIFY_RETURN_IF_ERROR(make_dirs(zoo_dir + "/models"));
  SPARSIFY_ASSIGN_OR_RETURN(FileLock lock, FileLock::acquire(zoo_dir + "/.zoo.lock"));
  SPARSIFY_ASSIGN_OR_RETURN(ZooIndex index, read_zoo_dir_index(zoo_dir));
  auto same = [&](const ModelEntry& e) { return e.id == m.id || e.stub == m.stub; };
  for (const ModelEntry& e : index.models) {
    if (same(e) && !options.replace) {
      return invalid_argument(m.stub, " is already in the zoo at ", zoo_dir, " (pass --replace to publish it again)");
    }
    if (!same(e) && e.short_stub == m.short_stub) {
      return invalid_argument("short stub ", m.short_stub, " already names ", e.stub, " in ", zoo_dir,
                              "; choose another with --short-stub");
    }
  }

  // Copy into a temp directory beside the final one (same file system, so the rename is atomic).
  const fs::path final_dir = fs::path(zoo_dir) / "models" / m.id;
  const fs::path tmp_dir = unique_temp_name((fs::path(zoo_dir) / "models" / ("." + m.id)).string());
  std::vector<fs::path> sources;
  for (auto it = fs::recursive_directory_iterator(model_dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (!name.empty() && name.front() == '.') {
      if (it->is_directory()) it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file()) sources.push_back(it->path());
  }
  if (ec) return io_error("cannot list ", model_dir, ": ", ec.message());
  if (sources.empty()) return invalid_argument("model folder ", model_dir, " has no files");
  std::sort(sources.begin(), sources.end());
  auto cleanup = [&] { fs::remove_all(tmp_dir, ec); };
  for (const fs::path& src : sources) {
    const std::string rel = src.lexically_relative(model_dir).generic_string();
    if (Status s = check_file_path(rel); !s.ok()) {
      cleanup();
      return s.with_prefix(model_dir);
    }
    StatusOr<FileEntry> f = copy_and_hash(src, tmp_dir / rel, rel);
    if (!f.ok()) {
      cleanup();
      return f.status();
    }
    m.files.push_back(std::move(*f));
  }
  add_recipe_types(m.files, &m.card);

  // Swap the folder in, then the index. Readers of the old index fetching old bytes during the
  // swap get a checksum error and retry; they never get unverified bytes.
  const fs::path old_dir = unique_temp_name((fs::path(zoo_dir) / "models" / (".old." + m.id)).string());
  if (fs::exists(final_dir, ec)) fs::rename(final_dir, old_dir, ec);
  fs::rename(tmp_dir, final_dir, ec);
  if (ec) {
    cleanup();
    return io_error("cannot move the model into ", final_dir.string(), ": ", ec.message());
  }
  index.models.erase(std::remove_if(index.models.begin(), index.models.end(), same), index.models.end());
  index.models.push_back(m);
  std::sort(index.models.begin(), index.models.end(),
            [](const ModelEntry& a, const ModelEntry& b) { return a.stub < b.stub; });
  SPARSIFY_RETURN_IF_ERROR(write_file_atomic(zoo_dir + "/index.json", serialize_index(index)));
  fs::remove_all(old_dir, ec);
  return m;
}

}  // namespace sparsify::zoo
