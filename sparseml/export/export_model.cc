// build_onnx (graph, checker, shape inference) and export_model (atomic files: model, test data, model card).
#include "sparseml/export/export_model.h"

#include <onnx/checker.h>
#include <onnx/shape_inference/implementation.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>

#include <torch/torch.h>

#include "sparseml/data/batches.h"
#include "sparseml/data/mnist.h"
#include "sparseml/export/exporter.h"
#include "sparseml/models/models.h"

namespace sparsify::ml::onnx_export {
namespace fs = std::filesystem;

namespace {

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

StatusOr<int> onnx_elem_type(torch::ScalarType t) {
  switch (t) {
    case torch::kFloat: return static_cast<int>(onnx::TensorProto::FLOAT);
    case torch::kLong: return static_cast<int>(onnx::TensorProto::INT64);
    case torch::kInt: return static_cast<int>(onnx::TensorProto::INT32);
    case torch::kByte: return static_cast<int>(onnx::TensorProto::UINT8);
    default: return invalid_argument("dtype ", c10::toString(t), " has no ONNX export here (float32, int64, int32, uint8)");
  }
}

// QAT ranges the exported types can hold: int8 weights, 8-bit activations.
Status check_quant_ranges(const std::vector<quant::QuantLayerInfo>& layers) {
  for (const auto& l : layers) {
    if (l.weight && (l.weight->quant_min < -128 || l.weight->quant_max > 127)) {
      return unsupported("layer '", l.name, "': weight range [", l.weight->quant_min, ", ", l.weight->quant_max,
                         "] does not fit int8 (weight_bits must be <= 8 to export)");
    }
    for (const auto* p : {l.input ? &*l.input : nullptr, l.output ? &*l.output : nullptr}) {
      if (p == nullptr) continue;
      const bool fits = p->is_signed() ? (p->quant_min >= -128 && p->quant_max <= 127) : p->quant_max <= 255;
      if (!fits) {
        return unsupported("layer '", l.name, "': activation range [", p->quant_min, ", ", p->quant_max,
                           "] does not fit 8 bits (activation_bits must be <= 8 to export)");
      }
    }
  }
  return Status();
}

// Renames the producer of `value` to write `name` (the graph output), or adds an Identity.
void name_output(GraphBuilder& g, const std::string& value, const std::string& name) {
  for (auto& node : *g.graph().mutable_node()) {
    for (auto& out : *node.mutable_output()) {
      if (out == value) {
        out = name;
        return;
      }
    }
  }
  g.add("Identity", {value}, name);
}

StatusOr<onnx::ModelProto> build_model_proto(torch::nn::Module& module, const BuildOptions& o) {
  if (o.opset < kMinOpset || o.opset > kMaxOpset) {
    return invalid_argument("opset ", o.opset, " is not supported; the exporter writes opsets ", kMinOpset, "..", kMaxOpset);
  }
  if (o.batch_size < 0) return invalid_argument("batch size ", o.batch_size, " is negative (0 = dynamic)");
  auto* model = dynamic_cast<models::Model*>(&module);
  std::vector<std::int64_t> shape = o.input_shape;
  torch::ScalarType dtype = o.input_dtype;
  if (model != nullptr && shape.empty()) {
    shape = model->input_shape(1);
    shape.erase(shape.begin());
    dtype = model->input_dtype();
  }
  if (shape.empty()) return invalid_argument("build_onnx: the input shape (without batch) is required for a bare module");
  const quant::QatContext* qat = nullptr;
  if (o.format != Format::kFp32) {
    if (model == nullptr || !model->qat().enabled()) {
      return invalid_argument("--format ", format_name(o.format),
                              " needs a model with quantization-aware training enabled (a QAT checkpoint)");
    }
    qat = &model->qat();
    SPARSIFY_RETURN_IF_ERROR(check_quant_ranges(qat->layers()));
  }
  SPARSIFY_ASSIGN_OR_RETURN(const int elem, onnx_elem_type(dtype));

  onnx::ModelProto mp;
  mp.set_ir_version(o.opset >= 15 ? 8 : 7);
  mp.set_producer_name("sparsify");
  mp.set_producer_version("0.1.0");
  mp.set_doc_string(o.doc);
  auto* opset = mp.add_opset_import();
  opset->set_domain("");
  opset->set_version(o.opset);
  onnx::GraphProto* graph = mp.mutable_graph();
  graph->set_name(model != nullptr ? model->config().arch : module_type_name(module));
  GraphBuilder g(graph);
  const std::string input_name = !o.input_name.empty() ? o.input_name : (dtype == torch::kLong ? "input_ids" : "input");
  std::vector<std::int64_t> dims = {o.batch_size > 0 ? o.batch_size : -1};
  dims.insert(dims.end(), shape.begin(), shape.end());
  g.input(input_name, elem, dims);

  ExportContext ctx(g, o.format, o.opset, module, qat, dims);
  const Value input{input_name, static_cast<int>(dims.size()), std::nullopt};
  SPARSIFY_ASSIGN_OR_RETURN(Value out, model != nullptr ? export_model_graph(ctx, *model, input) : ctx.run(module, input));
  name_output(g, ctx.as_float(out), o.output_name);
  std::vector<std::int64_t> out_dims;
  if (model != nullptr) out_dims = {dims[0], model->config().num_classes};
  if (out_dims.empty()) {
    // A bare module: the output's type is whatever shape inference derives for it.
    onnx::ModelProto probe = mp;
    try {
      onnx::shape_inference::InferShapes(probe);
    } catch (const std::exception& e) {
      return internal_error("the exported graph fails ONNX shape inference: ", first_line(e.what()));
    }
    const onnx::ValueInfoProto* inferred = nullptr;
    for (const auto& vi : probe.graph().value_info()) {
      if (vi.name() == o.output_name) inferred = &vi;
    }
    if (inferred == nullptr) return internal_error("shape inference gives no type for the output '", o.output_name, "'");
    *graph->add_output() = *inferred;
  } else {
    g.output(o.output_name, onnx::TensorProto::FLOAT, out_dims);
  }

  try {
    onnx::checker::check_model(mp);
  } catch (const std::exception& e) {
    return internal_error("the exported graph fails onnx::checker::check_model: ", first_line(e.what()));
  }
  try {
    onnx::shape_inference::InferShapes(mp, onnx::OpSchemaRegistry::Instance(),
                                       onnx::ShapeInferenceOptions(/*check_type_val=*/true, /*strict_mode_val=*/1));
  } catch (const std::exception& e) {
    return internal_error("the exported graph fails ONNX shape inference: ", first_line(e.what()));
  }
  graph->clear_value_info();  // inference was the check; the file stays lean
  return mp;
}

// A temporary name beside `path` that no other process uses.
fs::path temp_beside(const fs::path& path) {
  return path.parent_path() / ("." + path.filename().string() + ".tmp." + std::to_string(::getpid()));
}

Status write_bytes(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return io_error(path.string(), ": cannot create file");
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.flush();
  if (!out) return io_error(path.string(), ": write failed");
  return Status();
}

// Removes the listed temporaries unless released (an export that fails leaves no file).
class TempFiles {
 public:
  ~TempFiles() {
    std::error_code ec;
    for (const auto& p : paths_) fs::remove_all(p, ec);
  }
  const fs::path& add(fs::path p) { return paths_.emplace_back(std::move(p)); }
  void release() { paths_.clear(); }

 private:
  std::vector<fs::path> paths_;
};

Status rename_into_place(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  if (fs::is_directory(from, ec)) fs::remove_all(to, ec);
  fs::rename(from, to, ec);
  if (ec) return io_error(to.string(), ": cannot rename into place: ", ec.message());
  return Status();
}

// model.forward(input) in eval mode without gradients and with QAT observers held still; restores both.
torch::Tensor reference_outputs(models::Model& model, const torch::Tensor& input) {
  const bool was_training = model.is_training();
  const bool observers_on = model.qat().enabled() && model.qat().observers_enabled();
  torch::NoGradGuard no_grad;
  model.eval();
  if (observers_on) model.qat().disable_observers();
  torch::Tensor out;
  try {
    out = model.forward(input);
  } catch (...) {
    if (observers_on) model.qat().enable_observers();
    model.train(was_training);
    throw;
  }
  if (observers_on) model.qat().enable_observers();
  model.train(was_training);
  return out;
}

StatusOr<ExportResult> export_model_impl(models::Model& model, const ModelExportOptions& o) {
  if (o.output.empty()) return invalid_argument("export: the output path is empty");
  if (!o.sample_input.defined()) return invalid_argument("export: a sample input is required for test_data_set_0");
  if (o.build.format == Format::kFp32 && model.qat().enabled()) {
    return invalid_argument("export: QAT is enabled on this ", model.config().arch,
                            " model, so its forward fake-quantizes; export it as qdq or int8, or export a model "
                            "without QAT as fp32");
  }
  if (o.build.batch_size > 0 && o.sample_input.size(0) != o.build.batch_size) {
    return invalid_argument("export: the sample input has batch ", o.sample_input.size(0), " but --batch-size is ",
                            o.build.batch_size);
  }
  BuildOptions build = o.build;
  if (build.doc.empty()) build.doc = "sparsify export of " + model.config().arch + " (" + format_name(build.format) + ")";
  SPARSIFY_ASSIGN_OR_RETURN(onnx::ModelProto mp, build_model_proto(model, build));
  const torch::Tensor outputs = reference_outputs(model, o.sample_input);

  ExportResult r;
  r.format = build.format;
  r.opset = build.opset;
  r.batch_size = build.batch_size;
  r.nodes = mp.graph().node_size();
  r.initializers = mp.graph().initializer_size();
  std::set<std::string> ops;
  for (const auto& n : mp.graph().node()) ops.insert(n.op_type());
  r.op_types.assign(ops.begin(), ops.end());

  const fs::path model_path = fs::absolute(o.output);
  const fs::path dir = model_path.parent_path();
  const fs::path test_dir = dir / "test_data_set_0";
  const fs::path card_path = dir / (model_path.stem().string() + ".md");
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return io_error(dir.string(), ": cannot create directory: ", ec.message());

  ModelCard card = o.card;
  card.architecture = model.config().arch;
  card.format = format_name(build.format);
  card.opset = build.opset;
  card.batch_size = build.batch_size;
  card.input_name = mp.graph().input(0).name();
  card.input_dtype = model.input_dtype() == torch::kLong ? "int64" : "float32";
  card.input_shape = model.input_shape(1);
  card.input_shape.erase(card.input_shape.begin());
  card.output_name = build.output_name;
  card.num_classes = model.config().num_classes;
  card.op_types = r.op_types;
  card.sparsity = measure_sparsity(model);
  card.quantized = build.format != Format::kFp32;

  TempFiles temps;
  const fs::path tmp_model = temps.add(temp_beside(model_path));
  const fs::path tmp_test = temps.add(temp_beside(test_dir));
  const fs::path tmp_card = temps.add(temp_beside(card_path));
  std::string bytes;
  if (!mp.SerializeToString(&bytes)) return internal_error(model_path.string(), ": serializing the ModelProto failed");
  r.file_bytes = static_cast<std::int64_t>(bytes.size());
  SPARSIFY_RETURN_IF_ERROR(write_bytes(tmp_model, bytes));
  bytes.clear();
  fs::create_directories(tmp_test, ec);
  if (ec) return io_error(tmp_test.string(), ": cannot create directory: ", ec.message());
  SPARSIFY_RETURN_IF_ERROR(write_tensor_pb((tmp_test / "input_0.pb").string(), card.input_name, o.sample_input));
  SPARSIFY_RETURN_IF_ERROR(write_tensor_pb((tmp_test / "output_0.pb").string(), build.output_name, outputs));
  SPARSIFY_RETURN_IF_ERROR(write_bytes(tmp_card, render_model_card(card)));
  // The model goes last, so it appears only with its test data and card; a failed rename takes back
  // the files already placed.
  TempFiles placed;
  for (const auto& [from, to] : {std::pair{tmp_test, test_dir}, {tmp_card, card_path}, {tmp_model, model_path}}) {
    SPARSIFY_RETURN_IF_ERROR(rename_into_place(from, to));
    placed.add(to);
  }
  placed.release();
  temps.release();
  r.model_path = model_path.string();
  r.test_data_dir = test_dir.string();
  r.model_card_path = card_path.string();
  return r;
}

}  // namespace

StatusOr<std::string> build_onnx(torch::nn::Module& module, const BuildOptions& options) {
  try {
    SPARSIFY_ASSIGN_OR_RETURN(onnx::ModelProto mp, build_model_proto(module, options));
    std::string bytes;
    if (!mp.SerializeToString(&bytes)) return internal_error("serializing the ModelProto failed");
    return bytes;
  } catch (const c10::Error& e) {
    return internal_error("export: ", first_line(e.what_without_backtrace()));
  }
}

StatusOr<ExportResult> export_model(models::Model& model, const ModelExportOptions& options) {
  try {
    return export_model_impl(model, options);
  } catch (const c10::Error& e) {
    return invalid_argument("export of ", model.config().arch, ": ", first_line(e.what_without_backtrace()));
  } catch (const std::exception& e) {
    return internal_error("export of ", model.config().arch, ": ", first_line(e.what()));
  }
}

Status write_tensor_pb(const std::string& path, const std::string& name, const torch::Tensor& tensor) {
  const torch::Tensor t = tensor.detach().to(torch::kCPU).contiguous();
  SPARSIFY_ASSIGN_OR_RETURN(const int elem, onnx_elem_type(t.scalar_type()));
  const onnx::TensorProto proto = make_tensor(name, elem, t.sizes().vec(), t.data_ptr(), t.numel() * t.element_size());
  std::string bytes;
  if (!proto.SerializeToString(&bytes)) return internal_error(path, ": serializing the TensorProto failed");
  return write_bytes(path, bytes);
}

StatusOr<torch::Tensor> mnist_samples(const std::string& data_dir, std::int64_t n, std::int64_t in_channels,
                                      std::int64_t image_size) {
  std::string dir = data_dir;
  if (dir.empty()) {
    SPARSIFY_ASSIGN_OR_RETURN(dir, data::find_data_dir("mnist"));
  }
  SPARSIFY_ASSIGN_OR_RETURN(data::ImageDataset test, data::load_mnist(dir, data::Split::kTest));
  n = std::min(n, test.count);
  std::vector<std::int64_t> idx(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) idx[static_cast<std::size_t>(i)] = i;
  torch::Tensor x = data::make_batch(test, idx.data(), n, data::kMnistMean, data::kMnistStd).images;
  if (image_size != test.rows || image_size != test.cols) {
    namespace F = torch::nn::functional;
    x = F::interpolate(x, F::InterpolateFuncOptions()
                              .size(std::vector<std::int64_t>{image_size, image_size})
                              .mode(torch::kBilinear)
                              .align_corners(false));
  }
  if (in_channels != 1) x = x.repeat({1, in_channels, 1, 1});
  return x.contiguous();
}

torch::Tensor random_token_ids(std::int64_t n, std::int64_t seq, std::int64_t vocab, std::uint64_t seed) {
  auto gen = at::detail::createCPUGenerator(seed);
  return torch::randint(vocab, {n, seq}, gen, torch::TensorOptions().dtype(torch::kLong));
}

std::vector<LayerSparsity> measure_sparsity(const models::Model& model) {
  std::vector<LayerSparsity> out;
  const auto params = model.named_parameters(/*recurse=*/true);
  for (const auto& info : models::describe_parameters(model)) {
    if (!info.prunable) continue;
    const torch::Tensor& p = params[info.name];
    LayerSparsity l;
    l.name = info.name;
    l.shape = info.shape;
    l.numel = p.numel();
    l.zeros = (p.detach() == 0).sum().item<std::int64_t>();
    out.push_back(std::move(l));
  }
  return out;
}

}  // namespace sparsify::ml::onnx_export
