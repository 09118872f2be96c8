// One-shot magnitude pruning of the constant weights of an ONNX model: Conv (group 1), Gemm and
// MatMul, unstructured or in blocks of 4 input channels. Torch-free; rewrites the ModelProto.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/base/status.h"
#include "engine/graph/shape.h"

namespace sparsify::tools {

/// Mask structures. THE list: parse_mask_type and --help expand it.
#define SPARSIFY_MASK_TYPES(X)                                                  \
  X(kUnstructured, "unstructured", "each weight scored by |w|")                  \
  X(kBlock4, "block4", "blocks of 4 consecutive input channels scored by L1")

enum class MaskType : std::uint8_t {
#define SPARSIFY_MASK_ENUM(e, name, what) e,
  SPARSIFY_MASK_TYPES(SPARSIFY_MASK_ENUM)
#undef SPARSIFY_MASK_ENUM
};

/// "unstructured", "block4".
const char* mask_type_name(MaskType mask);
/// Parses a mask name; unsupported listing the valid names otherwise.
StatusOr<MaskType> parse_mask_type(std::string_view name);
/// "unstructured|block4", for usage lines.
std::string mask_type_list();

/// A weight viewed as [outer, in, inner]: blocks run along `in` (the input channels) at fixed
/// outer and inner indices. Conv OIHW: [O, I, H*W]; MatMul [K, N]: [1, K, N]; Gemm with transB
/// ([N, K]): [N, K, 1].
struct WeightLayout {
  std::int64_t outer = 1, in = 1, inner = 1;
  std::int64_t size() const { return outer * in * inner; }
};

/// Zeroes the lowest-scoring round(sparsity * units) units of `w`, where a unit is one element
/// (unstructured) or a block of up to 4 consecutive `in` indices (block4; a last, shorter block
/// is scored by its mean |w| x 4 so it competes fairly). Ties go to the lower index first, so the
/// result is deterministic. Returns the number of units zeroed. `sparsity` must be in [0, 1].
std::int64_t prune_weights(float* w, const WeightLayout& layout, double sparsity, MaskType mask);

/// What optimize did to one weight-bearing node (also the rows of the per-layer table).
struct LayerReport {
  std::string node;      // node name (or <op>_<index>)
  std::string op;        // Conv, Gemm, MatMul
  std::string weight;    // initializer name
  engine::Dims shape;    // weight dims
  double sparsity = 0;   // fraction of zeros after pruning
  bool pruned = false;
  std::string note;      // why it was left alone, or ""
  std::string quantized; // "" (float), "int8 per-channel", "int8 per-tensor"
};

struct PruneOptions {
  double sparsity = 0;
  MaskType mask = MaskType::kUnstructured;
};

/// Prunes every eligible weight of `model` in place: Conv with group 1 and a constant weight of
/// rank >= 3, Gemm with a constant rank-2 B, MatMul with a constant rank-2 right operand. Grouped
/// and depthwise convolutions are reported and left alone. A weight shared by several nodes is
/// pruned once. Errors name the node or initializer. Not thread-safe on the same model.
StatusOr<std::vector<LayerReport>> prune_model(onnx::ModelProto& model, const PruneOptions& options);

}  // namespace sparsify::tools
