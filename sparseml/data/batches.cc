// BatchIterator: epoch orders from shuffled_indices, batches filled through a 256-entry lookup table.
#include "sparseml/data/batches.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "engine/base/check.h"
#include "sparseml/data/shuffle.h"

namespace sparsify::ml::data {
namespace {

void fill_lut(double mean, double std, float* lut) {
  for (int v = 0; v < 256; ++v) lut[v] = static_cast<float>((v / 255.0 - mean) / std);
}

Batch make_batch_lut(const ImageDataset& ds, const std::int64_t* indices, std::int64_t count, const float* lut) {
  Batch b;
  b.images = torch::empty({count, 1, ds.rows, ds.cols}, torch::kFloat32);
  b.labels = torch::empty({count}, torch::kInt64);
  float* dst = b.images.data_ptr<float>();
  std::int64_t* lab = b.labels.data_ptr<std::int64_t>();
  const std::int64_t pixels = ds.image_size();
  for (std::int64_t k = 0; k < count; ++k) {
    const std::int64_t i = indices[k];
    SPARSIFY_CHECK(i >= 0 && i < ds.count);
    const std::uint8_t* src = ds.image(i);
    for (std::int64_t p = 0; p < pixels; ++p) dst[p] = lut[src[p]];
    dst += pixels;
    lab[k] = ds.labels[static_cast<std::size_t>(i)];
  }
  return b;
}

}  // namespace

Batch make_batch(const ImageDataset& dataset, const std::int64_t* indices, std::int64_t count, double mean,
                 double std) {
  float lut[256];
  fill_lut(mean, std, lut);
  return make_batch_lut(dataset, indices, count, lut);
}

StatusOr<BatchIterator> BatchIterator::create(std::shared_ptr<const ImageDataset> dataset,
                                              const BatchOptions& options) {
  if (dataset == nullptr) return invalid_argument("BatchIterator: dataset is null");
  if (dataset->count <= 0) return invalid_argument("BatchIterator: dataset '", dataset->images_path, "' is empty");
  if (static_cast<std::int64_t>(dataset->labels.size()) != dataset->count ||
      static_cast<std::int64_t>(dataset->images.size()) != dataset->count * dataset->image_size())
    return invalid_argument("BatchIterator: dataset '", dataset->images_path, "' has ", dataset->images.size(),
                            " pixel bytes and ", dataset->labels.size(), " labels, inconsistent with count ",
                            dataset->count, " of ", dataset->rows, "x", dataset->cols, " images");
  if (options.batch_size < 1) return invalid_argument("BatchIterator: batch_size is ", options.batch_size, ", expected >= 1");
  if (!(options.std > 0) || !std::isfinite(options.std) || !std::isfinite(options.mean))
    return invalid_argument("BatchIterator: normalization mean ", options.mean, " / std ", options.std,
                            ": std must be finite and > 0");
  const std::int64_t count = dataset->count;
  return BatchIterator(std::move(dataset), options, 0, count);
}

BatchIterator::BatchIterator(std::shared_ptr<const ImageDataset> dataset, const BatchOptions& options,
                             std::int64_t begin, std::int64_t count)
    : dataset_(std::move(dataset)), options_(options), begin_(begin), count_(count) {
  fill_lut(options_.mean, options_.std, lut_);
  start_epoch(0);
}

BatchIterator BatchIterator::subset(std::int64_t n) const {
  return BatchIterator(dataset_, options_, begin_, std::max<std::int64_t>(0, std::min(n, count_)));
}

StatusOr<BatchIterator> BatchIterator::slice(std::int64_t begin, std::int64_t count) const {
  if (begin < 0 || count < 0 || begin > count_ || count > count_ - begin)
    return invalid_argument("BatchIterator::slice(", begin, ", ", count, "): out of range for ", count_, " examples");
  return BatchIterator(dataset_, options_, begin_ + begin, count);
}

std::int64_t BatchIterator::num_batches() const {
  const std::int64_t b = options_.batch_size;
  return options_.drop_last ? count_ / b : (count_ + b - 1) / b;
}

void BatchIterator::start_epoch(std::int64_t epoch) {
  epoch_ = epoch;
  cursor_ = 0;
  if (options_.shuffle) {
    order_ = shuffled_indices(count_, options_.seed, epoch);
    for (std::int64_t& i : order_) i += begin_;
  } else {
    order_.resize(static_cast<std::size_t>(count_));
    std::iota(order_.begin(), order_.end(), begin_);
  }
}

std::optional<Batch> BatchIterator::next() {
  if (cursor_ >= num_batches()) return std::nullopt;
  return batch(cursor_++);
}

Batch BatchIterator::batch(std::int64_t i) const {
  SPARSIFY_CHECK(i >= 0 && i < num_batches());
  const std::int64_t start = i * options_.batch_size;
  const std::int64_t n = std::min(options_.batch_size, count_ - start);
  Batch b = make_batch_lut(*dataset_, order_.data() + start, n, lut_);
  b.index = i;
  return b;
}

}  // namespace sparsify::ml::data
