// Class subsets of image datasets.
#include "sparseml/data/subset.h"

#include <algorithm>
#include <cstring>

namespace sparsify::ml::data {

StatusOr<ImageDataset> select_classes(const ImageDataset& dataset, const std::vector<int>& classes) {
  if (classes.empty()) return invalid_argument("class subset: no classes given");
  std::vector<int> remap(256, -1);
  for (size_t i = 0; i < classes.size(); ++i) {
    const int c = classes[i];
    if (c < 0 || c > 255) return invalid_argument("class subset: class ", c, " is outside the label range 0..255");
    if (remap[c] >= 0) return invalid_argument("class subset: class ", c, " is listed twice");
    remap[c] = static_cast<int>(i);
  }
  ImageDataset out;
  out.rows = dataset.rows;
  out.cols = dataset.cols;
  out.num_classes = static_cast<int>(classes.size());
  out.images_path = dataset.images_path;
  out.labels_path = dataset.labels_path;
  std::vector<std::int64_t> per_class(classes.size(), 0);
  const std::int64_t size = dataset.image_size();
  for (std::int64_t i = 0; i < dataset.count; ++i) {
    const int r = remap[dataset.labels[static_cast<size_t>(i)]];
    if (r < 0) continue;
    out.labels.push_back(static_cast<std::uint8_t>(r));
    out.images.insert(out.images.end(), dataset.image(i), dataset.image(i) + size);
    ++per_class[static_cast<size_t>(r)];
  }
  out.count = static_cast<std::int64_t>(out.labels.size());
  for (size_t i = 0; i < classes.size(); ++i)
    if (per_class[i] == 0)
      return invalid_argument("class subset: class ", classes[i], " has no example in ", dataset.labels_path);
  return out;
}

}  // namespace sparsify::ml::data
