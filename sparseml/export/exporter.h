// Inside the exporter: the ExportContext that module exporters emit through, and the per-module exporter table.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include "engine/base/status.h"
#include "sparseml/export/export.h"
#include "sparseml/export/onnx_builder.h"
#include "sparseml/quant/qat.h"

namespace sparsify::ml::models { class Model; }

namespace sparsify::ml::onnx_export {

/// A tensor of the graph being built. In the int8 format `q` is set when `name` holds the uint8
/// quantized tensor (with those parameters); otherwise `name` is float (or the int64 token ids).
struct Value {
  std::string name;
  int rank = -1;                          // known rank, or -1
  std::optional<quant::QuantParams> q;
};

/// The state of one export: graph, format, QAT layer infos by name, module paths. Its layer
/// methods mirror QatContext's hooks (conv, linear, embedding, add), so a module exporter calls
/// them where the module's forward() calls the hooks and gets the same numerics in every format.
class ExportContext {
 public:
  /// `root` is the module exported (paths are relative to it); `qat` is its model's QAT context
  /// for qdq/int8 (null for fp32). Both must outlive the context.
  ExportContext(GraphBuilder& graph, Format format, int opset, torch::nn::Module& root,
                const quant::QatContext* qat, std::vector<std::int64_t> input_shape);

  GraphBuilder& g() { return g_; }
  Format format() const { return format_; }
  int opset() const { return opset_; }
  /// The graph input's shape, batch dim first (< 0: dynamic).
  const std::vector<std::int64_t>& input_shape() const { return input_shape_; }

  /// Dotted path of a module under the root ("layer1.0.conv1"); "" for the root. Aborts on a
  /// module outside the root (a bug in an exporter).
  const std::string& path_of(const torch::nn::Module& module) const;

  /// Exports `module` (at `path`) through the table; unsupported names the path and type when no
  /// row matches.
  StatusOr<Value> run(torch::nn::Module& module, const Value& x);

  // ---- Layers with QAT semantics (quantization only in qdq/int8 and when QAT quantized the layer) ----
  /// conv -> bn (folded; nullable) -> act -> output quantizer.
  StatusOr<Value> conv(torch::nn::Conv2dImpl& conv, torch::nn::BatchNorm2dImpl* bn, const Value& x, quant::Act act);
  /// linear -> act -> output quantizer; Gemm for rank-2 inputs, MatMul otherwise.
  StatusOr<Value> linear(torch::nn::LinearImpl& linear, const Value& x, quant::Act act);
  /// Gather from the (fake-quantized) table; the output is float.
  StatusOr<Value> embedding(torch::nn::EmbeddingImpl& embedding, const Value& ids);
  /// a + b -> act -> output quantizer of the QAT layer `name` ("<scope path>.add").
  StatusOr<Value> add(const std::string& name, const Value& a, const Value& b, quant::Act act);

  // ---- Float ops and plumbing ----
  /// The float form of `v` (a DequantizeLinear, emitted once per value, in int8 when quantized).
  std::string as_float(const Value& v);
  /// Applies `act` to a float value.
  std::string activation(const std::string& x, quant::Act act, const std::string& hint);
  /// LayerNorm over the last dim (LayerNormalization from opset 17, else its decomposition).
  StatusOr<Value> layer_norm(torch::nn::LayerNormImpl& norm, const Value& x);
  /// A unary float op on the float form of x.
  Value unary(const std::string& op_type, const Value& x, const std::string& hint);
  /// An op that commutes with quantization (MaxPool, Flatten, Reshape, ...): on uint8 in int8 when
  /// x is quantized (keeping its parameters), else on floats.
  Value pass_through(const std::string& op_type, const Value& x, std::vector<std::string> extra_inputs,
                     const std::string& hint, std::initializer_list<Attr> attrs, int out_rank);

  /// QAT info of a layer when this export quantizes it.
  const quant::QuantLayerInfo* layer(const std::string& name) const;
  /// Hint for value names: the module path, or `fallback` for the root.
  static std::string hint(const std::string& path, const char* fallback);

 private:
  Value quantize(const std::string& x, const quant::QuantParams& p, const std::string& prefix);
  Value quantized_input(const Value& x, const quant::QuantLayerInfo& info);
  std::pair<std::string, std::string> qparams(const quant::QuantParams& p, const std::string& prefix, bool as_signed);
  std::string weight_float(const std::string& name, const torch::Tensor& w, const quant::QuantLayerInfo* info);
  std::string weight_int8(const std::string& name, const torch::Tensor& w, const quant::QuantParams& p);
  std::string bias_int32(const std::string& name, const torch::Tensor& b, float input_scale, const quant::QuantParams& w);
  std::string tensor_initializer(const std::string& name, const torch::Tensor& t);

  GraphBuilder& g_;
  Format format_;
  int opset_;
  const quant::QatContext* qat_;
  std::vector<std::int64_t> input_shape_;
  std::unordered_map<const torch::nn::Module*, std::string> paths_;
  std::map<std::string, quant::QuantLayerInfo> layers_;
  std::unordered_map<std::string, std::string> dequantized_;  // uint8 value -> its float form
  // uint8 value -> the scale and zero point initializers it was quantized with
  std::unordered_map<std::string, std::pair<std::string, std::string>> dequant_params_;
};

/// One row of module_exporters.def: a module type, how to recognize it, how to export it.
struct ModuleExporter {
  const char* type;   // "Conv2d"
  bool (*matches)(torch::nn::Module& module);
  StatusOr<Value> (*run)(ExportContext& ctx, const std::string& path, torch::nn::Module& module, const Value& x);
};

/// Every row of module_exporters.def, in order.
const std::vector<ModuleExporter>& module_exporters();

/// The demangled class name of a module without namespaces and without an "Impl" suffix ("Conv2d").
std::string module_type_name(const torch::nn::Module& module);

/// The graph of one architecture of models.def (model_graphs.cc): from the graph input to the logits.
StatusOr<Value> export_model_graph(ExportContext& ctx, models::Model& model, const Value& input);

}  // namespace sparsify::ml::onnx_export
