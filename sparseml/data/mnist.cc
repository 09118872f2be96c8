// Loading MNIST-format datasets from IDX pairs and locating the data directory.
#include "sparseml/data/mnist.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <system_error>

#include "sparseml/data/idx.h"

namespace sparsify::ml::data {
namespace fs = std::filesystem;

namespace {

bool is_file(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec);
}

bool is_dir(const fs::path& p) {
  std::error_code ec;
  return fs::is_directory(p, ec);
}

// The existing one of `<dir>/<name>` and `<dir>/<name>.gz`, or "".
std::string existing_variant(const std::string& dir, const std::string& name) {
  const fs::path plain = fs::path(dir) / name;
  if (is_file(plain)) return plain.string();
  fs::path gz = plain;
  gz += ".gz";
  if (is_file(gz)) return gz.string();
  return "";
}

// Appends <d>/data/<name> for d = start and each parent.
void add_upward(fs::path start, const std::string& name, std::vector<fs::path>* out) {
  for (int depth = 0; depth < 64 && !start.empty(); ++depth) {
    out->push_back(start / "data" / name);
    if (start == start.root_path() || start.parent_path() == start) break;
    start = start.parent_path();
  }
}

}  // namespace

const char* split_name(Split split) { return split == Split::kTrain ? "train" : "test"; }

std::vector<std::string> mnist_file_names(Split split) {
  const std::string prefix = split == Split::kTrain ? "train" : "t10k";
  return {prefix + "-images-idx3-ubyte", prefix + "-labels-idx1-ubyte"};
}

StatusOr<ImageDataset> load_idx_dataset(const std::string& images_path, const std::string& labels_path,
                                        int num_classes) {
  if (num_classes < 0 || num_classes > 256)
    return invalid_argument("num_classes is ", num_classes, ", expected 0 (derive from labels) to 256");
  SPARSIFY_ASSIGN_OR_RETURN(IdxArray images, read_idx(images_path));
  SPARSIFY_ASSIGN_OR_RETURN(IdxArray labels, read_idx(labels_path));
  if (images.dims.size() != 3)
    return invalid_argument("'", images_path, "': images have ", images.dims.size(), " dims (", images.shape_string(),
                            "), expected 3 [count, rows, cols]");
  if (labels.dims.size() != 1)
    return invalid_argument("'", labels_path, "': labels have ", labels.dims.size(), " dims (", labels.shape_string(),
                            "), expected 1 [count]");
  if (images.dims[0] != labels.dims[0])
    return invalid_argument("'", labels_path, "' has ", labels.dims[0], " labels but '", images_path, "' has ",
                            images.dims[0], " images");
  int max_label = -1;
  for (std::size_t i = 0; i < labels.data.size(); ++i) {
    const int label = labels.data[i];
    if (num_classes > 0 && label >= num_classes)
      return invalid_argument("'", labels_path, "': label ", label, " at index ", i, " is out of range for ",
                              num_classes, " classes (0..", num_classes - 1, ")");
    if (label > max_label) max_label = label;
  }
  ImageDataset ds;
  ds.count = images.dims[0];
  ds.rows = images.dims[1];
  ds.cols = images.dims[2];
  ds.images = std::move(images.data);
  ds.labels = std::move(labels.data);
  ds.num_classes = num_classes > 0 ? num_classes : max_label + 1;
  ds.images_path = images_path;
  ds.labels_path = labels_path;
  return ds;
}

StatusOr<ImageDataset> load_mnist(const std::string& dir, Split split, int num_classes) {
  if (!is_dir(dir))
    return not_found("MNIST ", split_name(split), " split: '", dir,
                     "' is not a directory (run scripts/setup.sh, or set SPARSIFY_DATA_DIR)");
  const std::vector<std::string> names = mnist_file_names(split);
  std::string paths[2];
  for (int i = 0; i < 2; ++i) {
    paths[i] = existing_variant(dir, names[i]);
    if (paths[i].empty())
      return not_found("MNIST ", split_name(split), " split: '", dir, "' has neither ", names[i], " nor ", names[i],
                       ".gz");
  }
  return load_idx_dataset(paths[0], paths[1], num_classes);
}

StatusOr<std::string> find_data_dir(const std::string& name) {
  if (const char* env = std::getenv("SPARSIFY_DATA_DIR"); env != nullptr && *env != '\0') {
    const fs::path p = fs::path(env) / name;
    if (is_dir(p)) return p.string();
    return not_found("data directory '", p.string(), "' does not exist (from SPARSIFY_DATA_DIR='", env, "')");
  }
  std::vector<fs::path> candidates;
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec && exe.has_parent_path()) add_upward(exe.parent_path(), name, &candidates);
  const fs::path cwd = fs::current_path(ec);
  if (!ec) add_upward(cwd, name, &candidates);
  std::string tried;
  std::vector<fs::path> seen;
  for (const fs::path& c : candidates) {
    if (std::find(seen.begin(), seen.end(), c) != seen.end()) continue;
    seen.push_back(c);
    if (is_dir(c)) return c.string();
    tried += (tried.empty() ? "" : ", ") + c.string();
  }
  return not_found("no data directory for '", name, "': tried ", tried.empty() ? "nothing" : tried,
                   " (run scripts/setup.sh, or set SPARSIFY_DATA_DIR to a directory holding ", name, "/)");
}

}  // namespace sparsify::ml::data
