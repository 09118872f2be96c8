// Tests for BatchIterator: tensor shapes and normalization, seeded epoch orders, drop_last, subsets, real MNIST.
#include <torch/torch.h>
// c10's logging defines a glog-style CHECK; Catch2's must win in this file.
#undef CHECK
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <numeric>
#include <set>

#include "sparseml/data/batches.h"
#include "sparseml/data/shuffle.h"

using namespace sparsify;
using namespace sparsify::ml::data;
using Catch::Matchers::Contains;

namespace {

// count images of rows x cols; image i is filled with (i * 13 + pixel) % 256, label i % 10.
std::shared_ptr<const ImageDataset> synthetic(std::int64_t count, std::int64_t rows = 4, std::int64_t cols = 3) {
  auto ds = std::make_shared<ImageDataset>();
  ds->count = count, ds->rows = rows, ds->cols = cols, ds->num_classes = 10;
  ds->images_path = "<synthetic>";
  for (std::int64_t i = 0; i < count; ++i) {
    for (std::int64_t p = 0; p < rows * cols; ++p) ds->images.push_back(static_cast<std::uint8_t>((i * 13 + p) % 256));
    ds->labels.push_back(static_cast<std::uint8_t>(i % 10));
  }
  return ds;
}

BatchIterator make(std::shared_ptr<const ImageDataset> ds, BatchOptions o) {
  auto it = BatchIterator::create(std::move(ds), o);
  REQUIRE(it.ok());
  return std::move(it).value();
}

// Dataset indices visited in one epoch, recovered from the first pixel of each image.
std::vector<std::int64_t> visit(BatchIterator& it, std::int64_t epoch, std::vector<std::int64_t>* sizes = nullptr) {
  it.start_epoch(epoch);
  std::vector<std::int64_t> seen;
  while (auto b = it.next()) {
    if (sizes) sizes->push_back(b->images.size(0));
    const auto& o = it.options();
    for (std::int64_t k = 0; k < b->images.size(0); ++k) {
      const double first = b->images[k][0][0][0].item<float>() * o.std + o.mean;  // = pixel / 255
      const std::int64_t label = b->labels[k].item<std::int64_t>();
      // Pixel 0 of image i is (i * 13) % 256 and the label i % 10: find i among candidates.
      const auto pixel = static_cast<std::int64_t>(std::llround(first * 255));
      std::int64_t found = -1;
      for (std::int64_t i = label; i < it.dataset().count; i += 10)
        if ((i * 13) % 256 == pixel) found = i;
      seen.push_back(found);
    }
  }
  return seen;
}

}  // namespace

TEST_CASE("batches: shapes, dtypes and normalization") {
  auto ds = synthetic(10, 4, 3);
  BatchOptions o;
  o.batch_size = 4;
  o.shuffle = false;
  BatchIterator it = make(ds, o);
  CHECK(it.size() == 10);
  CHECK(it.num_batches() == 3);
  it.start_epoch(0);
  auto b = it.next();
  REQUIRE(b.has_value());
  CHECK(b->images.sizes() == torch::IntArrayRef({4, 1, 4, 3}));
  CHECK(b->images.scalar_type() == torch::kFloat32);
  CHECK(b->labels.sizes() == torch::IntArrayRef({4}));
  CHECK(b->labels.scalar_type() == torch::kInt64);
  CHECK(b->index == 0);
  // Image 1 pixel p is (13 + p) / 255, normalized.
  const torch::Tensor expect =
      ((torch::arange(12, torch::kFloat64) + 13) / 255.0 - kMnistMean) / kMnistStd;
  CHECK(torch::allclose(b->images[1].reshape({-1}).to(torch::kFloat64), expect, 1e-6, 1e-6));
  CHECK(b->labels[3].item<std::int64_t>() == 3);
  // Custom mean/std: (x / 255 - 0.5) / 0.5 maps 0 -> -1 and 255 -> 1.
  auto full = std::make_shared<ImageDataset>(*synthetic(2, 1, 2));
  full->images = {0, 255, 255, 0};
  BatchOptions c;
  c.mean = 0.5, c.std = 0.5, c.shuffle = false;
  BatchIterator it2 = make(full, c);
  const Batch b2 = it2.batch(0);
  CHECK(b2.images.reshape({-1}).equal(torch::tensor({-1.0f, 1.0f, 1.0f, -1.0f})));
  // make_batch works on any index list.
  const std::int64_t idx[] = {1, 0};
  CHECK(make_batch(*full, idx, 2, 0.5, 0.5).images.reshape({-1}).equal(torch::tensor({1.0f, -1.0f, -1.0f, 1.0f})));
}

TEST_CASE("batches: deterministic shuffling, every example once, drop_last") {
  auto ds = synthetic(103);
  BatchOptions o;
  o.batch_size = 10;
  o.seed = 17;
  BatchIterator a = make(ds, o), b = make(ds, o);
  std::vector<std::int64_t> sizes;
  const std::vector<std::int64_t> e0 = visit(a, 0, &sizes);
  CHECK(sizes.size() == 11u);
  CHECK(sizes.back() == 3);
  std::vector<std::int64_t> sorted = e0;
  std::sort(sorted.begin(), sorted.end());
  std::vector<std::int64_t> all(103);
  std::iota(all.begin(), all.end(), 0);
  CHECK(sorted == all);                       // every index exactly once
  CHECK(e0 == visit(b, 0));                   // same seed + epoch, another iterator
  CHECK(e0 == a.order());
  CHECK(e0 == shuffled_indices(103, 17, 0));  // the documented order
  const std::vector<std::int64_t> e1 = visit(a, 1);
  CHECK(e1 != e0);                            // epochs differ
  CHECK(visit(a, 0) == e0);                   // and revisiting an epoch repeats it
  o.seed = 18;
  BatchIterator other_seed = make(ds, o);
  CHECK(visit(other_seed, 0) != e0);
  // drop_last: 10 full batches.
  o.drop_last = true;
  BatchIterator d = make(ds, o);
  CHECK(d.num_batches() == 10);
  sizes.clear();
  CHECK(visit(d, 0, &sizes).size() == 100u);
  CHECK(std::all_of(sizes.begin(), sizes.end(), [](std::int64_t s) { return s == 10; }));
  // No shuffle: dataset order every epoch.
  o.shuffle = false, o.drop_last = false;
  BatchIterator n = make(ds, o);
  CHECK(visit(n, 5) == all);
}

TEST_CASE("batches: subset and slice") {
  auto ds = synthetic(50);
  BatchOptions o;
  o.batch_size = 8;
  BatchIterator it = make(ds, o);
  BatchIterator s = it.subset(20);
  CHECK(s.size() == 20);
  CHECK(s.num_batches() == 3);
  std::vector<std::int64_t> seen = visit(s, 2);
  std::sort(seen.begin(), seen.end());
  std::vector<std::int64_t> first20(20);
  std::iota(first20.begin(), first20.end(), 0);
  CHECK(seen == first20);
  CHECK(it.subset(1000).size() == 50);
  auto sl = it.slice(30, 15);
  REQUIRE(sl.ok());
  seen = visit(*sl, 0);
  std::sort(seen.begin(), seen.end());
  std::vector<std::int64_t> mid(15);
  std::iota(mid.begin(), mid.end(), 30);
  CHECK(seen == mid);
  auto bad = it.slice(45, 10);
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(bad.status().message(), Contains("slice(45, 10): out of range for 50 examples"));
}

TEST_CASE("batches: create rejects bad options") {
  BatchOptions o;
  o.batch_size = 0;
  auto r = BatchIterator::create(synthetic(5), o);
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.status().message(), Contains("batch_size is 0"));
  o.batch_size = 2, o.std = 0;
  CHECK_THAT(BatchIterator::create(synthetic(5), o).status().message(), Contains("std must be finite and > 0"));
  CHECK(BatchIterator::create(nullptr, BatchOptions{}).status().code() == StatusCode::kInvalidArgument);
  CHECK_THAT(BatchIterator::create(synthetic(0), BatchOptions{}).status().message(), Contains("empty"));
}

TEST_CASE("batches: the real MNIST train set normalizes to mean ~0, std ~1, quickly") {
  auto dir = find_data_dir("mnist");
  if (!dir.ok()) FAIL("real MNIST not found (run scripts/setup.sh): " << dir.status().to_string());
  auto train = load_mnist(*dir, Split::kTrain, 10);
  REQUIRE(train.ok());
  auto ds = std::make_shared<const ImageDataset>(std::move(train).value());
  BatchOptions o;
  o.batch_size = 1000;
  o.seed = 1;
  BatchIterator it = make(ds, o);
  CHECK(it.num_batches() == 60);
  it.start_epoch(0);
  double sum = 0, sum_sq = 0;
  std::int64_t n = 0, label_sum = 0;
  const auto t0 = std::chrono::steady_clock::now();
  while (auto b = it.next()) {
    sum += b->images.sum().item<double>();
    sum_sq += b->images.pow(2).sum().item<double>();
    n += b->images.numel();
    label_sum += b->labels.sum().item<std::int64_t>();
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  CHECK(n == 60000 * 784);
  const double mean = sum / static_cast<double>(n);
  CHECK(mean == Approx(0.0).margin(1e-3));
  CHECK(std::sqrt(sum_sq / static_cast<double>(n) - mean * mean) == Approx(1.0).margin(2e-3));
  // Label sum from the per-class counts (5923, 6742, ...): sum of label * count.
  CHECK(label_sum == 0 * 5923 + 1 * 6742 + 2 * 5958 + 3 * 6131 + 4 * 5842 + 5 * 5421 + 6 * 5918 + 7 * 6265 +
                         8 * 5851 + 9 * 5949);
  INFO("converted 60000 MNIST images in " << seconds << " s");
  CHECK(seconds < 5.0);  // one LUT pass: ~0.1 s; generous for a loaded 2-core machine
  // Unshuffled batch 0 starts with the first image (pixel sum 27525, label 5).
  o.shuffle = false;
  const Batch first = make(ds, o).batch(0);
  CHECK(first.labels[0].item<std::int64_t>() == 5);
  const double pixel_sum = ((first.images[0] * kMnistStd + kMnistMean) * 255).sum().item<double>();
  CHECK(pixel_sum == Approx(27525).margin(0.05));
}
