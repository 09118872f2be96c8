// Exporter unit tests without ONNX Runtime: checker/shape inference, names, folding, QAT scales in qdq and int8,
// error texts, and atomic output. (ONNX Runtime round trips: export_models_test + tests/export/run_onnx.js.)
#include <torch/torch.h>
#undef CHECK
#include <catch2/catch.hpp>

#include <onnx/checker.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>

#include "sparseml/export/export.h"
#include "sparseml/export/export_model.h"
#include "sparseml/models/models.h"
#include "sparseml/train/trainer.h"

using namespace sparsify;
using namespace sparsify::ml;
namespace ox = sparsify::ml::onnx_export;
namespace fs = std::filesystem;

namespace {

std::shared_ptr<models::Model> make(const std::string& arch, std::int64_t in_channels = 1, std::int64_t size = 28) {
  models::ModelConfig c;
  c.arch = arch;
  c.in_channels = in_channels;
  c.image_size = size;
  auto m = models::create_model(c);
  REQUIRE(m.ok());
  (*m)->eval();
  return *m;
}

onnx::ModelProto build(torch::nn::Module& m, ox::Format format = ox::Format::kFp32, int opset = 13) {
  ox::BuildOptions o;
  o.format = format;
  o.opset = opset;
  auto bytes = ox::build_onnx(m, o);
  INFO(bytes.status().to_string());
  REQUIRE(bytes.ok());
  onnx::ModelProto mp;
  REQUIRE(mp.ParseFromString(*bytes));
  return mp;
}

const onnx::TensorProto* initializer(const onnx::ModelProto& mp, const std::string& name) {
  for (const auto& t : mp.graph().initializer()) {
    if (t.name() == name) return &t;
  }
  return nullptr;
}

std::multiset<std::string> op_types(const onnx::ModelProto& mp) {
  std::multiset<std::string> ops;
  for (const auto& n : mp.graph().node()) ops.insert(n.op_type());
  return ops;
}

template <class T>
std::vector<T> raw_values(const onnx::TensorProto& t) {
  std::vector<T> v(t.raw_data().size() / sizeof(T));
  std::memcpy(v.data(), t.raw_data().data(), t.raw_data().size());
  return v;
}

fs::path temp_dir(const std::string& name) {
  const fs::path p = fs::temp_directory_path() / ("sparsify_export_test_" + name);
  fs::remove_all(p);
  return p;
}

// QAT on with the default settings, observers calibrated on a few MNIST batches, then frozen.
void enable_qat(models::Model& model) {
  REQUIRE(model.qat().enable(recipe::QuantSettings{}).ok());
  auto x = ox::mnist_samples("", 64, 1, 28);
  REQUIRE(x.ok());
  torch::NoGradGuard no_grad;
  model.train();
  for (int i = 0; i < 3; ++i) model.forward(*x);
  model.qat().disable_observers();
  model.eval();
}

}  // namespace

TEST_CASE("exports pass the ONNX checker and strict shape inference, with a dynamic batch", "[export]") {
  for (int opset : {13, 14, 15, 16, 17}) {
    auto model = make("mnistnet");
    onnx::ModelProto mp = build(*model, ox::Format::kFp32, opset);
    CHECK(mp.opset_import(0).version() == opset);
    CHECK_NOTHROW(onnx::checker::check_model(mp));
    CHECK_NOTHROW(onnx::shape_inference::InferShapes(mp, onnx::OpSchemaRegistry::Instance(),
                                                     onnx::ShapeInferenceOptions(true, 1)));
    const auto& in = mp.graph().input(0).type().tensor_type().shape();
    REQUIRE(in.dim_size() == 4);
    CHECK(in.dim(0).dim_param() == "batch");
    CHECK(in.dim(2).dim_value() == 28);
    const auto& out = mp.graph().output(0);
    CHECK(out.name() == "logits");
    CHECK(out.type().tensor_type().shape().dim(0).dim_param() == "batch");
    CHECK(out.type().tensor_type().shape().dim(1).dim_value() == 10);
  }
}

TEST_CASE("initializers keep PyTorch parameter names; BatchNorm is folded into the conv", "[export]") {
  auto model = make("resnet18", 3, 32);
  const onnx::ModelProto mp = build(*model);
  for (const char* name : {"conv1.weight", "conv1.bias", "layer1.0.conv1.weight", "layer1.0.conv1.bias",
                           "layer2.0.downsample.0.weight", "fc.weight", "fc.bias"}) {
    INFO(name);
    CHECK(initializer(mp, name) != nullptr);
  }
  CHECK(initializer(mp, "bn1.weight") == nullptr);
  CHECK(initializer(mp, "layer1.0.bn1.running_mean") == nullptr);
  const auto ops = op_types(mp);
  CHECK(ops.count("BatchNormalization") == 0);
  CHECK(ops.count("Conv") == 20);
  CHECK(ops.count("Add") == 8);
  // Folded with running statistics: w * gamma / sqrt(var + eps).
  const auto w = raw_values<float>(*initializer(mp, "conv1.weight"));
  const float scale = 1.0f / std::sqrt(1.0f + 1e-5f);
  CHECK(w[5] == Approx(model->named_parameters()["conv1.weight"].flatten()[5].item<float>() * scale));
}

TEST_CASE("a module without an exporter is an error naming its path and type", "[export]") {
  namespace nn = torch::nn;
  nn::Sequential seq(nn::Linear(4, 4), nn::ReLU(), nn::PReLU());
  ox::BuildOptions o;
  o.input_shape = {4};
  auto r = ox::build_onnx(*seq, o);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == StatusCode::kUnsupported);
  CHECK_THAT(r.status().message(), Catch::Contains("module '2' of type PReLU has no ONNX exporter"));
  CHECK_THAT(r.status().message(), Catch::Contains("Conv2d, Linear"));

  nn::Sequential pool(nn::Conv2d(1, 2, 3), nn::AdaptiveAvgPool2d(2));
  o.input_shape = {1, 8, 8};
  r = ox::build_onnx(*pool, o);
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.status().message(), Catch::Contains("AdaptiveAvgPool2d '1'"));

  o.input_shape = {};
  CHECK(ox::build_onnx(*pool, o).status().code() == StatusCode::kInvalidArgument);
}

TEST_CASE("bad options are invalid_argument", "[export]") {
  auto model = make("lenet5");
  ox::BuildOptions o;
  o.opset = 12;
  CHECK_THAT(ox::build_onnx(*model, o).status().message(), Catch::Contains("opset 12 is not supported"));
  o.opset = 18;
  CHECK(ox::build_onnx(*model, o).status().code() == StatusCode::kInvalidArgument);
  o.opset = 13;
  o.format = ox::Format::kInt8;
  CHECK_THAT(ox::build_onnx(*model, o).status().message(), Catch::Contains("quantization-aware training"));
  CHECK(ox::parse_format("int4").status().code() == StatusCode::kInvalidArgument);
  CHECK(*ox::parse_format("qdq") == ox::Format::kQdq);
}

TEST_CASE("qdq and int8 carry the QAT observers' scales and zero points", "[export][qat]") {
  auto model = make("mnist_cnn");
  enable_qat(*model);
  auto conv1 = model->qat().layer("conv1.0");
  auto out = model->qat().layer("out");
  REQUIRE(conv1.ok());
  REQUIRE(out.ok());

  const onnx::ModelProto qdq = build(*model, ox::Format::kQdq);
  const auto qdq_ops = op_types(qdq);
  CHECK(qdq_ops.count("Conv") == 2);
  CHECK(qdq_ops.count("Gemm") == 1);
  // conv1: input, weight and output quantizers; conv2: weight, output; out: weight, output.
  CHECK(qdq_ops.count("QuantizeLinear") == 7);
  CHECK(raw_values<float>(*initializer(qdq, "conv1.0.weight_scale")) == conv1->weight->scale);
  CHECK(raw_values<float>(*initializer(qdq, "conv1.0.input_scale"))[0] == conv1->input->scale[0]);
  CHECK(raw_values<std::uint8_t>(*initializer(qdq, "conv1.0.output_zero_point"))[0] == conv1->output->zero_point[0]);
  for (const auto& n : qdq.graph().node()) {
    if (n.op_type() == "QuantizeLinear" && n.input(0) == "conv1.0.weight") {
      REQUIRE(n.attribute_size() == 1);
      CHECK(n.attribute(0).name() == "axis");
      CHECK(n.attribute(0).i() == 0);
    }
  }
  CHECK(initializer(qdq, "conv1.0.weight")->data_type() == onnx::TensorProto::FLOAT);

  const onnx::ModelProto int8 = build(*model, ox::Format::kInt8);
  const auto ops = op_types(int8);
  CHECK(ops.count("QLinearConv") == 2);
  CHECK(ops.count("MatMulInteger") == 1);
  CHECK(ops.count("Conv") == 0);
  CHECK(ops.count("MaxPool") == 2);  // on uint8
  const auto* w = initializer(int8, "conv1.0.weight");
  REQUIRE(w != nullptr);
  CHECK(w->data_type() == onnx::TensorProto::INT8);
  // int32 bias with scale input_scale * weight_scale[c].
  const auto* b = initializer(int8, "conv1.0.bias");
  REQUIRE(b->data_type() == onnx::TensorProto::INT32);
  const auto bq = raw_values<std::int32_t>(*b);
  const auto bias = model->named_parameters()["conv1.0.bias"];
  for (std::size_t c = 0; c < bq.size(); ++c) {
    const float s = conv1->input->scale[0] * conv1->weight->scale[c];
    CHECK(std::abs(bq[c] * s - bias[static_cast<std::int64_t>(c)].item<float>()) <= 0.5f * s * 1.0001f);
  }
  // int8 weights round-trip the fake quantizer: q * scale == fake_quant(w).
  const auto wq = raw_values<std::int8_t>(*w);
  const auto weight = model->named_parameters()["conv1.0.weight"];
  const auto fq = torch::fake_quantize_per_channel_affine(weight, torch::tensor(conv1->weight->scale),
                                                          torch::zeros({32}, torch::kInt), 0, -128, 127);
  const auto fq_flat = fq.flatten();
  for (std::size_t i = 0; i < wq.size(); i += 97) {
    CHECK(wq[i] * conv1->weight->scale[i / 25] == Approx(fq_flat[static_cast<std::int64_t>(i)].item<float>()));
  }

  // fp32 of a model whose forward fake-quantizes is refused by export_model.
  ox::ModelExportOptions mo;
  const fs::path dir = temp_dir("qat_fp32");
  mo.output = (dir / "model.onnx").string();
  mo.sample_input = torch::zeros({1, 1, 28, 28});
  auto r = ox::export_model(*model, mo);
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.status().message(), Catch::Contains("QAT is enabled"));
  CHECK_FALSE(fs::exists(dir / "model.onnx"));
}

TEST_CASE("output is atomic: an error leaves no file behind", "[export]") {
  auto model = make("mnist_cnn");
  auto x = ox::mnist_samples("", 2, 1, 28);
  REQUIRE(x.ok());
  const fs::path dir = temp_dir("atomic");
  fs::create_directories(dir / "model.onnx");  // the model's path is taken by a directory: the rename fails
  ox::ModelExportOptions mo;
  mo.output = (dir / "model.onnx").string();
  mo.sample_input = *x;
  auto r = ox::export_model(*model, mo);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == StatusCode::kIoError);
  std::vector<std::string> left;
  for (const auto& e : fs::directory_iterator(dir)) left.push_back(e.path().filename().string());
  CHECK(left == std::vector<std::string>{"model.onnx"});

  // The same export into a free path writes all three.
  fs::remove_all(dir / "model.onnx");
  r = ox::export_model(*model, mo);
  INFO(r.status().to_string());
  REQUIRE(r.ok());
  CHECK(fs::exists(dir / "model.onnx"));
  CHECK(fs::exists(dir / "model.md"));
  CHECK(fs::exists(dir / "test_data_set_0" / "output_0.pb"));
  for (const auto& e : fs::directory_iterator(dir)) CHECK(e.path().filename().string().find(".tmp.") == std::string::npos);
  fs::remove_all(dir);
}

TEST_CASE("export_checkpoint: default output, model card, non-QAT checkpoints refuse int8", "[export][checkpoint]") {
  const fs::path out = temp_dir("ckpt");
  TrainOptions t;
  t.recipe = "recipes/mnist_cnn-dense.yaml";
  t.recipe_args = R"({"num_epochs": 1, "decay_start_epoch": 0.5})";
  t.output_dir = out.string();
  t.train_limit = 256;
  t.test_limit = 200;
  t.threads = 2;
  t.progress = false;
  auto trained = train(t);
  INFO(trained.status().to_string());
  REQUIRE(trained.ok());

  ox::ExportOptions o;
  o.checkpoint = out.string();
  o.format = ox::Format::kInt8;
  auto bad = ox::export_checkpoint(o);
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(bad.status().message(), Catch::Contains("not trained with quantization-aware training"));
  CHECK_FALSE(fs::exists(out / "export"));

  o.format = ox::Format::kFp32;
  o.opset = 14;
  o.batch_size = 3;
  auto r = ox::export_checkpoint(o);
  INFO(r.status().to_string());
  REQUIRE(r.ok());
  CHECK(fs::path(r->model_path) == fs::absolute(out / "export" / "model.onnx").lexically_normal());
  std::ifstream card(r->model_card_path);
  const std::string text((std::istreambuf_iterator<char>(card)), std::istreambuf_iterator<char>());
  CHECK(text.rfind("---\narchitecture: \"mnist_cnn\"", 0) == 0);
  CHECK_THAT(text, Catch::Contains("recipe_source: \"recipes/mnist_cnn-dense.yaml\""));
  CHECK_THAT(text, Catch::Contains("accuracy: "));
  CHECK_THAT(text, Catch::Contains("  opset: 14"));
  CHECK_THAT(text, Catch::Contains("  batch: 3"));
  CHECK_THAT(text, Catch::Contains("\"conv2.0.weight\": "));
  onnx::TensorProto input;
  std::ifstream in(fs::path(r->test_data_dir) / "input_0.pb", std::ios::binary);
  REQUIRE(input.ParseFromIstream(&in));
  CHECK(input.dims_size() == 4);
  CHECK(input.dims(0) == 3);
  CHECK(input.name() == "input");
  fs::remove_all(out);
}
