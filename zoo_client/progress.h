// A download progress bar on stderr, drawn only when stderr is a terminal.
#pragma once

#include "zoo_client/download.h"

namespace sparsify::zoo {

/// A ProgressFn drawing "model.onnx [####....] 43% 12.1/28.0 MB 9.8 MB/s" on one stderr line (at most 10
/// redraws a second, and a final one at 100%); an empty function when stderr is not a TTY.
ProgressFn terminal_progress();

}  // namespace sparsify::zoo
