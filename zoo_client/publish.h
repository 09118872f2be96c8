// Publishing: add an exported model folder to a zoo directory, atomically and under a lock.
#pragma once

#include <string>

#include "engine/base/status.h"
#include "zoo_client/index.h"

namespace sparsify::zoo {

struct PublishOptions {
  std::string short_stub;  // "" = derived from the long stub (zoo:ARCH[-SUB_ARCH]-DATASET-SPARSE_NAME)
  bool replace = false;    // replace a model already published under the same stub
};

/// Copies every regular file under `model_dir` (hidden files skipped) into `zoo_dir`/models/<id>/,
/// hashing as it copies, and adds the model to `zoo_dir`/index.json. The card comes from the
/// YAML front matter of model_dir/model.md, filled from the stub; recipe_types from
/// recipes/recipe[_TYPE].md. The copy goes to a temp directory first; index.json is replaced
/// via temp + rename; all under an flock on `zoo_dir`/.zoo.lock, so concurrent publishers and
/// readers never see a half-published model. `stub` must be a long stub.
StatusOr<ModelEntry> publish_model(const std::string& model_dir, const std::string& zoo_dir, const std::string& stub,
                                   const PublishOptions& options = {});

/// Reads `zoo_dir`/index.json (an empty index when the file does not exist).
StatusOr<ZooIndex> read_zoo_dir_index(const std::string& zoo_dir);

}  // namespace sparsify::zoo
