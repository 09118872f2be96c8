// Mini-batches of an ImageDataset as LibTorch tensors: normalized float images, int64 labels, seeded shuffling.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include <torch/types.h>

#include "engine/base/status.h"
#include "sparseml/data/mnist.h"

namespace sparsify::ml::data {

/// How a BatchIterator batches, orders and normalizes; plain values, copied into the iterator.
struct BatchOptions {
  std::int64_t batch_size = 128;
  bool shuffle = true;      // false: dataset order every epoch
  std::uint64_t seed = 0;   // with the epoch number, fixes the order (see shuffled_indices)
  bool drop_last = false;   // drop a final batch smaller than batch_size
  double mean = kMnistMean; // images become (x / 255 - mean) / std
  double std = kMnistStd;
};

/// One mini-batch. images: float32 [B, 1, rows, cols]; labels: int64 [B]; both on the CPU and owned
/// by the batch (fresh storage, safe to keep or move to another device).
struct Batch {
  torch::Tensor images;
  torch::Tensor labels;
  std::int64_t index = 0;  // batch number within the epoch
};

/// Iterates an ImageDataset (or a contiguous slice of it) in mini-batches, in an order fixed by
/// (seed, epoch). Usage: `it.start_epoch(e); while (auto b = it.next()) train(*b);`.
/// Holds a shared_ptr to the immutable dataset, so copies share it (each copy has its own order and
/// cursor). Not thread-safe: use one iterator per thread.
class BatchIterator {
 public:
  /// invalid_argument when the dataset is null or empty, batch_size < 1, or std is not > 0.
  /// Starts at epoch 0.
  static StatusOr<BatchIterator> create(std::shared_ptr<const ImageDataset> dataset, const BatchOptions& options);

  /// The first min(n, size()) examples of this iterator's view (for short tests), at epoch 0.
  BatchIterator subset(std::int64_t n) const;
  /// Examples [begin, begin + count) of this view, at epoch 0; invalid_argument when out of range.
  StatusOr<BatchIterator> slice(std::int64_t begin, std::int64_t count) const;

  /// Examples in the view.
  std::int64_t size() const { return count_; }
  /// Batches per epoch (drop_last taken into account).
  std::int64_t num_batches() const;
  const BatchOptions& options() const { return options_; }
  const ImageDataset& dataset() const { return *dataset_; }
  std::int64_t epoch() const { return epoch_; }

  /// Sets the epoch's example order and rewinds to its first batch.
  void start_epoch(std::int64_t epoch);
  /// The next batch of the current epoch, or nullopt at its end.
  std::optional<Batch> next();
  /// Batch i (0 <= i < num_batches()) of the current epoch; does not move the cursor.
  Batch batch(std::int64_t i) const;
  /// Dataset indices of the current epoch, in order (size() entries, before drop_last).
  const std::vector<std::int64_t>& order() const { return order_; }

 private:
  BatchIterator(std::shared_ptr<const ImageDataset> dataset, const BatchOptions& options, std::int64_t begin,
                std::int64_t count);

  std::shared_ptr<const ImageDataset> dataset_;
  BatchOptions options_;
  std::int64_t begin_ = 0, count_ = 0;  // the view: dataset examples [begin_, begin_ + count_)
  std::int64_t epoch_ = 0;
  std::int64_t cursor_ = 0;             // next batch number
  std::vector<std::int64_t> order_;     // dataset indices for this epoch
  float lut_[256] = {};                 // normalized value of each pixel byte
};

/// Converts examples `indices` of `dataset` into a batch: one pass over the pixels through a
/// 256-entry lookup table of (v / 255 - mean) / std. Indices must be in range (checked: aborts).
/// Thread-safe for a shared dataset. Like every batch-producing call here, it allocates tensors, so
/// LibTorch may throw c10::Error on allocation failure only.
Batch make_batch(const ImageDataset& dataset, const std::int64_t* indices, std::int64_t count, double mean,
                 double std);

}  // namespace sparsify::ml::data
