// MNIST-format image datasets (MNIST, Fashion-MNIST, a user's own IDX files) and where to find them; no LibTorch.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/base/status.h"

namespace sparsify::ml::data {

/// Normalization constants of MNIST's train set (pixel mean and standard deviation over [0, 1]).
inline constexpr double kMnistMean = 0.1307;
inline constexpr double kMnistStd = 0.3081;

enum class Split : std::uint8_t { kTrain, kTest };

/// "train" or "test".
const char* split_name(Split split);

/// Images and labels, as stored in IDX: images uint8 [count, rows, cols] row-major, labels uint8.
/// Immutable once loaded; share one instance between readers (e.g. through shared_ptr<const>).
struct ImageDataset {
  std::vector<std::uint8_t> images;  // count * rows * cols
  std::vector<std::uint8_t> labels;  // count
  std::int64_t count = 0, rows = 0, cols = 0;
  int num_classes = 0;               // given by the caller, else max label + 1
  std::string images_path, labels_path;

  std::int64_t image_size() const { return rows * cols; }
  /// Pixels of image i (rows * cols bytes). No bounds check.
  const std::uint8_t* image(std::int64_t i) const { return images.data() + i * image_size(); }
};

/// The MNIST file names of a split, without ".gz": {"train-images-idx3-ubyte", "train-labels-idx1-ubyte"}
/// or {"t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"}.
std::vector<std::string> mnist_file_names(Split split);

/// Loads a pair of IDX files: images must be uint8 with 3 dims [N, rows, cols], labels uint8 with
/// 1 dim [N]. `num_classes` > 0 requires every label to be below it (an error names the first bad
/// label and its index); 0 accepts any labels and sets num_classes to max label + 1. Errors name the
/// file and the problem (see read_idx; plus wrong rank, count mismatch, label out of range).
/// Thread-safe; the caller owns the result.
StatusOr<ImageDataset> load_idx_dataset(const std::string& images_path, const std::string& labels_path,
                                        int num_classes = 0);

/// Loads a split from `dir` using MNIST's file names, each either plain or with ".gz" appended (the
/// plain file wins when both exist; gzip is detected by content either way). Works for any dataset
/// laid out like MNIST (Fashion-MNIST, KMNIST, your own files). not_found names the directory and
/// the files looked for. `num_classes` as in load_idx_dataset (pass 10 for MNIST to reject labels > 9).
StatusOr<ImageDataset> load_mnist(const std::string& dir, Split split, int num_classes = 0);

/// The directory of a dataset (e.g. "mnist"), searched in this order:
///   1. $SPARSIFY_DATA_DIR/<name> when SPARSIFY_DATA_DIR is set (then nothing else is searched, and
///      a missing directory is an error, so a typo in the variable is not silently ignored);
///   2. <d>/data/<name> for d = the running executable's directory and each of its parents
///      (finds the repository's data/ from build/apps/sparsify or build/sparseml/data/...);
///   3. <d>/data/<name> for d = the current directory and each of its parents.
/// A candidate counts only if it exists as a directory. not_found lists every place tried and
/// suggests scripts/setup.sh or SPARSIFY_DATA_DIR. Reads the environment and the file system only.
StatusOr<std::string> find_data_dir(const std::string& name = "mnist");

}  // namespace sparsify::ml::data
