// Quantization-aware training: a QatContext that a model owns and calls from forward() at every conv, linear and add.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>

#include "engine/base/status.h"
#include "sparseml/quant/observer.h"
#include "sparseml/recipe/recipe.h"

namespace sparsify::ml::quant {

/// Activation fused after a conv, linear or add; it runs before the output quantizer
/// (as PyTorch's ConvBnReLU2d / LinearReLU / add_relu do).
enum class Act : std::uint8_t { kNone, kRelu, kRelu6, kGelu };
const char* act_name(Act act);  // "none", "relu", "relu6", "gelu"

/// Quantization parameters of one tensor, as plain values for the ONNX exporter.
struct QuantParams {
  std::vector<float> scale;               // one per channel (axis >= 0), or one
  std::vector<std::int32_t> zero_point;   // same length as scale
  std::int64_t quant_min = 0;             // -128..127: int8; 0..255: uint8
  std::int64_t quant_max = 255;
  int axis = -1;                          // channel axis, -1 = per tensor
  bool is_signed() const { return quant_min < 0; }
};

/// What the exporter needs to know about one quantized layer.
struct QuantLayerInfo {
  std::string name;   // the conv/linear/embedding module's path ("layer1.0.conv1"), or scope + name ("layer1.0.add")
  std::string type;   // "Conv2d", "Linear", "Embedding", "Add" or "Activation"
  std::string bn;     // path of the BatchNorm2d folded into this Conv2d ("layer1.0.bn1"), or ""
  Act act = Act::kNone;
  /// Weight quantizer: per output channel (axis 0), symmetric int8. For a Conv2d with `bn`, it
  /// quantizes the folded weight w * gamma / sqrt(running_var + eps).
  std::optional<QuantParams> weight;
  /// Per tensor input: the layer whose output quantizer produced it; this layer's own name when it
  /// observes its input itself; "" when the input stays float (e.g. an Add input from a LayerNorm).
  std::vector<std::string> input_sources;
  /// Quantization of input 0 as this layer sees it (its own input observer or its producer's output).
  std::optional<QuantParams> input;
  /// Output quantizer (after `act`), absent when the recipe leaves this layer's activations float.
  std::optional<QuantParams> output;
};

/// The float weight and bias a deployed layer computes with (detached copies).
struct FoldedWeights {
  torch::Tensor weight;  // Conv2d+BN: w * gamma / sqrt(running_var + eps); otherwise the module's weight
  torch::Tensor bias;    // Conv2d+BN: beta - gamma * (running_mean - b) / sqrt(running_var + eps); may be undefined
};

/// Quantization-aware training state of one model. The model owns the context and routes every
/// conv, linear, embedding and residual add through it; with QAT off each hook is exactly the
/// plain float op. enable() discovers the hooked layers by running the model once, then registers
/// the observers as buffers of a child module "qat" of the owner ("qat.layer1.0.conv1.weight_scale"),
/// so torch::save/torch::load of the owner round-trip them (enable before loading a QAT checkpoint).
/// As PyTorch's FakeQuantize, observers update on every forward while enabled — in eval mode too —
/// until disable_observers(). Weights use PyTorch's MovingAveragePerChannelMinMaxObserver (0.01),
/// so a weight that outgrows the tracked range is clipped until the average catches up.
/// Not thread-safe: forward() updates observers.
class QatContext {
 public:
  /// `owner` must outlive the context (a model owns its context). `probe` runs one forward pass of
  /// the owner on a representative input; enable() calls it once in eval mode without gradients.
  QatContext(torch::nn::Module& owner, std::function<void()> probe);
  ~QatContext();
  QatContext(const QatContext&) = delete;
  QatContext& operator=(const QatContext&) = delete;

  /// Turns QAT on with the recipe's settings: which layers (submodules = name prefixes; excluded
  /// module types "Conv2d", "Linear", "Embedding", "Add" (or "FloatFunctional"), "Activation" (or
  /// "QuantStub"); other type names match nothing), ranges (activation_bits, weight_bits in [2, 16],
  /// reduce_range for activations) and which outputs are quantized. Runs the probe once (eval mode,
  /// no grad; the owner's train()/eval() state is restored recursively afterwards). The epoch
  /// fields (disable_observer_epoch, freeze_bn_stats_epoch, num_calibration_steps) are the caller's
  /// schedule; exclude_batchnorm has no effect because every BatchNorm2d is folded into its conv.
  /// Once per context; a submodules entry that matches no layer is invalid_argument.
  [[nodiscard]] Status enable(const recipe::QuantSettings& settings);
  bool enabled() const { return enabled_; }
  /// True when forward passes run the plain float ops (QAT off and no probe running): models may
  /// then reorder ops whose results and gradients are identical (e.g. ReLU after max pooling).
  bool plain() const { return !enabled_ && !probing_; }
  const recipe::QuantSettings& settings() const { return settings_; }

  /// Freezes scales and zero points: observers stop updating; fake quantization continues.
  void disable_observers() { observers_enabled_ = false; }
  /// Lets observers update again (the state after enable()).
  void enable_observers() { observers_enabled_ = true; }
  bool observers_enabled() const { return observers_enabled_; }
  /// Folded Conv+BN layers use the BN running statistics from now on, also in training mode.
  void freeze_bn_stats() { bn_frozen_ = true; }
  bool bn_stats_frozen() const { return bn_frozen_; }

  /// conv -> bn (nullable) -> act. With QAT on: BN folded into the fake-quantized weight (see qat.cc)
  /// and the output fake-quantized when quantize_conv_activations. A BN weight (gamma) of exactly 0
  /// gives NaN, as in PyTorch's approximate ConvBn2d forward.
  torch::Tensor conv(torch::nn::Conv2dImpl& conv, torch::nn::BatchNorm2dImpl* bn, const torch::Tensor& x,
                     Act act = Act::kNone);
  /// linear -> act, fake-quantized weight, output quantized when quantize_linear_activations.
  torch::Tensor linear(torch::nn::LinearImpl& linear, const torch::Tensor& x, Act act = Act::kNone);
  /// Embedding lookup with a fake-quantized table (per row) when quantize_embeddings; output float.
  torch::Tensor embedding(torch::nn::EmbeddingImpl& embedding, const torch::Tensor& ids);
  /// a + b -> act with a quantized output; the layer is named "<path of scope>.<name>".
  torch::Tensor add(const torch::nn::Module& scope, const torch::Tensor& a, const torch::Tensor& b,
                    const char* name, Act act = Act::kNone);
  /// Observes and fake-quantizes x (a QuantStub); named "<path of scope>.<name>".
  torch::Tensor activation(const torch::nn::Module& scope, const torch::Tensor& x, const char* name);
  /// Declares that `out` carries the quantization of `in` (max pooling): a conv/linear reading `out`
  /// then needs no input observer of its own. Returns `out`.
  torch::Tensor preserve(const torch::Tensor& out, const torch::Tensor& in);

  /// Quantized layers in forward order (excluded layers are not listed). Copies current values.
  std::vector<QuantLayerInfo> layers() const;
  /// One quantized layer by name; not_found lists the names.
  StatusOr<QuantLayerInfo> layer(std::string_view name) const;
  /// The weight and bias to export for a quantized Conv2d, Linear or Embedding layer (BN folded with
  /// its running statistics); quantize the weight with layer(name)->weight. not_found otherwise.
  StatusOr<FoldedWeights> folded_weights(std::string_view name) const;

 private:
  struct Site;
  enum class Kind : std::uint8_t { kConv, kLinear, kEmbedding, kAdd, kActivation };

  Site* discover(Kind kind, const std::string& name, const torch::Tensor* weight, const std::vector<torch::Tensor>& inputs,
                 const std::string& bn_name, Act act);
  void note_output(const Site& site, const torch::Tensor& out);
  Site& site_for(const void* module, const char* what);
  Site& site_for(const torch::nn::Module& scope, const char* name);
  std::string path_of(const void* module) const;
  std::string scoped_name(const torch::nn::Module& scope, const char* name) const;
  bool include(Kind kind, const std::string& name) const;
  torch::Tensor quant_input(Site& site, const torch::Tensor& x);
  torch::Tensor quant_output(Site& site, const torch::Tensor& y);
  Status create_buffers();
  QuantLayerInfo info(const Site& site) const;

  torch::nn::Module& owner_;
  std::function<void()> probe_;
  recipe::QuantSettings settings_;
  bool enabled_ = false;
  bool probing_ = false;
  bool observers_enabled_ = true;
  bool bn_frozen_ = false;
  std::string probe_error_;
  std::unordered_map<const void*, std::string> paths_;           // module -> path, built by enable()
  std::vector<std::unique_ptr<Site>> sites_;                     // forward order
  std::unordered_map<const void*, Site*> by_module_;
  std::unordered_map<std::string, Site*> by_name_;
  std::vector<std::pair<torch::Tensor, std::string>> produced_;  // probe only: quantized outputs, kept alive
};

}  // namespace sparsify::ml::quant
