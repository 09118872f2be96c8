// Dataset subsets for new tasks: keep some classes and relabel them 0..k-1.
#pragma once

#include <vector>

#include "engine/base/status.h"
#include "sparseml/data/mnist.h"

namespace sparsify::ml::data {

/// The examples of `dataset` whose label is in `classes`, relabelled by position in `classes`
/// (classes {3, 5} -> labels 0 and 1); num_classes = classes.size(). Errors: empty list, duplicate
/// or negative classes, a class with no example (names it and the dataset's files).
StatusOr<ImageDataset> select_classes(const ImageDataset& dataset, const std::vector<int>& classes);

}  // namespace sparsify::ml::data
