// Exports every model of models.def (fp32), per-module cases and a QAT-trained MNIST model (qdq, int8, fp32)
// into SPARSIFY_EXPORT_ARTIFACTS; tests/export/run_onnx.js then runs them in ONNX Runtime (ctest
// export_ort_roundtrip) against the LibTorch outputs written here. Zero counts are checked here.
#include <torch/torch.h>
#undef CHECK
#include <catch2/catch.hpp>

#include <onnx/onnx_pb.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "sparseml/data/mnist.h"
#include "sparseml/export/export.h"
#include "sparseml/export/export_model.h"
#include "sparseml/models/blocks.h"
#include "sparseml/models/models.h"
#include "sparseml/recipe/recipe.h"
#include "sparseml/train/checkpoint.h"
#include "sparseml/train/trainer.h"

using namespace sparsify;
using namespace sparsify::ml;
namespace ox = sparsify::ml::onnx_export;
namespace fs = std::filesystem;

namespace {

fs::path artifacts() { return fs::path(SPARSIFY_EXPORT_ARTIFACTS); }

fs::path fresh_case_dir(const std::string& name) {
  const fs::path d = artifacts() / name;
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

void write_text(const fs::path& p, const std::string& text) {
  std::ofstream out(p);
  out << text;
}

onnx::ModelProto read_model(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  onnx::ModelProto mp;
  REQUIRE(mp.ParseFromIstream(&in));
  return mp;
}

std::int64_t zeros_in(const onnx::TensorProto& t) {
  REQUIRE(t.data_type() == onnx::TensorProto::FLOAT);
  const std::string& raw = t.raw_data();
  const float* f = reinterpret_cast<const float*>(raw.data());
  std::int64_t z = 0;
  for (std::size_t i = 0; i < raw.size() / sizeof(float); ++i) z += f[i] == 0.0f;
  return z;
}

// Zeroes the smallest half of every prunable weight (a pruned model, as far as the exporter can tell).
void prune_half(models::Model& model) {
  torch::NoGradGuard no_grad;
  auto params = model.named_parameters();
  for (const auto& info : models::describe_parameters(model)) {
    if (!info.prunable) continue;
    torch::Tensor& w = params[info.name];
    const auto threshold = std::get<0>(w.abs().flatten().kthvalue(w.numel() / 2));
    w.mul_((w.abs() > threshold).to(w.dtype()));
  }
}

// Random affine BN parameters, then running statistics taken from `x` (momentum 1 for one pass), so
// folding is exercised and activations stay O(1) through deep nets.
void calibrate_batch_norm(torch::nn::Module& model, const std::function<void()>& forward) {
  torch::NoGradGuard no_grad;
  std::vector<std::pair<torch::nn::BatchNorm2dImpl*, c10::optional<double>>> saved;
  for (auto& m : model.modules()) {
    if (auto* bn = m->as<torch::nn::BatchNorm2dImpl>()) {
      bn->weight.uniform_(0.5, 1.5);
      bn->bias.normal_(0.0, 0.1);
      saved.emplace_back(bn, bn->options.momentum());
      bn->options.momentum(1.0);
    }
  }
  model.train();
  forward();
  for (auto& [bn, momentum] : saved) bn->options.momentum(momentum);
  model.eval();
}

// Every float initializer named like a model parameter keeps that parameter's zero count.
void check_zero_counts(const fs::path& model_path, models::Model& model) {
  const onnx::ModelProto mp = read_model(model_path);
  const auto params = model.named_parameters();
  int compared = 0;
  for (const auto& t : mp.graph().initializer()) {
    const auto* p = params.find(t.name());
    if (p == nullptr || t.data_type() != onnx::TensorProto::FLOAT || t.name().rfind(".weight") != t.name().size() - 7) continue;
    if (p->dim() < 2) continue;  // norms' weights are not pruned
    INFO(t.name());
    CHECK(zeros_in(t) == (*p == 0).sum().item<std::int64_t>());
    ++compared;
  }
  CHECK(compared > 0);
}

struct ModelCase {
  std::string name;
  models::ModelConfig config;
};

std::vector<ModelCase> model_cases() {
  std::vector<ModelCase> cases;
  for (const auto& row : models::model_table()) {
    models::ModelConfig c;
    c.arch = row.name;
    if (row.name == "resnet18" || row.name == "resnet50" || row.name == "mobilenet_v2") {
      c.in_channels = 3;
      c.image_size = 64;
    } else if (row.name == "bert_encoder") {
      c.num_classes = 4;
      c.vocab_size = 1000;
      c.max_seq_len = 16;
      c.num_layers = 2;
      c.hidden = 64;
      c.heads = 4;
      c.ffn = 128;
    }
    cases.push_back({row.name, c});
  }
  return cases;
}

ox::ModelExportOptions export_options(const fs::path& dir, const torch::Tensor& sample, ox::Format format, int opset,
                                      std::int64_t batch) {
  ox::ModelExportOptions o;
  o.output = (dir / "model.onnx").string();
  o.build.format = format;
  o.build.opset = opset;
  o.build.batch_size = batch;
  o.sample_input = sample;
  o.card.dataset = "mnist";
  return o;
}

}  // namespace

TEST_CASE("fp32 export of every model in models.def", "[export][models]") {
  torch::manual_seed(7);
  torch::set_num_threads(2);
  for (const auto& mc : model_cases()) {
    for (int opset : {13, 17}) {
      if (opset == 17 && mc.name != "bert_encoder" && mc.name != "mnistnet") continue;
      DYNAMIC_SECTION(mc.name << " opset " << opset) {
        auto model_or = models::create_model(mc.config);
        REQUIRE(model_or.ok());
        models::Model& model = **model_or;
        torch::Tensor sample;
        if (model.input_dtype() == torch::kLong) {
          sample = ox::random_token_ids(8, mc.config.max_seq_len, mc.config.vocab_size, 11);
        } else {
          auto s = ox::mnist_samples("", 8, mc.config.in_channels, mc.config.image_size);
          REQUIRE(s.ok());
          sample = *s;
        }
        prune_half(model);
        calibrate_batch_norm(model, [&] { model.forward(sample); });
        const std::string name = mc.name + "_fp32" + (opset == 13 ? "" : "_opset" + std::to_string(opset));
        const fs::path dir = fresh_case_dir(name);
        auto r = ox::export_model(model, export_options(dir, sample, ox::Format::kFp32, opset, 0));
        INFO(r.status().to_string());
        REQUIRE(r.ok());
        write_text(dir / "check.json", R"({"max_abs": 1e-4})");
        check_zero_counts(r->model_path, model);
        const onnx::ModelProto mp = read_model(r->model_path);
        CHECK(mp.graph().input(0).type().tensor_type().shape().dim(0).dim_param() == "batch");
        CHECK(fs::exists(dir / "test_data_set_0" / "input_0.pb"));
        CHECK(fs::exists(dir / "model.md"));
      }
    }
  }
}

TEST_CASE("fixed batch export", "[export][models]") {
  models::ModelConfig c;
  c.arch = "lenet5";
  auto model = models::create_model(c);
  REQUIRE(model.ok());
  auto s = ox::mnist_samples("", 4, 1, 28);
  REQUIRE(s.ok());
  const fs::path dir = fresh_case_dir("lenet5_fp32_batch4");
  auto r = ox::export_model(**model, export_options(dir, *s, ox::Format::kFp32, 15, 4));
  INFO(r.status().to_string());
  REQUIRE(r.ok());
  write_text(dir / "check.json", R"({"max_abs": 1e-4})");
  const onnx::ModelProto mp = read_model(r->model_path);
  CHECK(mp.graph().input(0).type().tensor_type().shape().dim(0).dim_value() == 4);
  CHECK(mp.graph().output(0).type().tensor_type().shape().dim(0).dim_value() == 4);
}

namespace {

// A module round trip: build_onnx, then model.onnx + test_data_set_0 with the module's own outputs.
void module_case(const std::string& name, torch::nn::Sequential seq, const torch::Tensor& x, int opset = 13) {
  SECTION(name) {
    torch::NoGradGuard no_grad;
    calibrate_batch_norm(*seq, [&] { seq->forward(x); });
    ox::BuildOptions o;
    o.opset = opset;
    o.input_shape = x.sizes().vec();
    o.input_shape.erase(o.input_shape.begin());
    o.input_dtype = x.scalar_type();
    o.input_name = "input";
    o.output_name = "output";
    auto bytes = ox::build_onnx(*seq, o);
    INFO(bytes.status().to_string());
    REQUIRE(bytes.ok());
    const fs::path dir = fresh_case_dir("module_" + name);
    write_text(dir / "model.onnx", *bytes);
    fs::create_directories(dir / "test_data_set_0");
    REQUIRE(ox::write_tensor_pb((dir / "test_data_set_0" / "input_0.pb").string(), "input", x).ok());
    REQUIRE(ox::write_tensor_pb((dir / "test_data_set_0" / "output_0.pb").string(), "output", seq->forward(x)).ok());
    write_text(dir / "check.json", R"({"max_abs": 1e-4})");
  }
}

}  // namespace

TEST_CASE("per-module export round trips", "[export][modules]") {
  torch::manual_seed(3);
  namespace nn = torch::nn;
  // Blocks need a QatContext; with QAT off their hooks are the float ops.
  auto holder = std::make_shared<nn::Module>();
  quant::QatContext qat(*holder, [] {});
  const auto img = torch::randn({2, 8, 12, 12});
  using models::ConvBnAct;
  module_case("conv_bn_relu_maxpool_linear",
              nn::Sequential(nn::Conv2d(nn::Conv2dOptions(8, 16, 3).stride(2).padding(1)), nn::BatchNorm2d(16), nn::ReLU(),
                             nn::MaxPool2d(nn::MaxPool2dOptions(3).stride(2).padding(1)), nn::Flatten(), nn::Linear(144, 5)),
              img);
  module_case("grouped_dilated_conv_avgpool",
              nn::Sequential(nn::Conv2d(nn::Conv2dOptions(8, 8, 3).groups(4).dilation(2).padding(2)),
                             nn::AvgPool2d(nn::AvgPool2dOptions(3).stride(2).padding(1)), nn::BatchNorm2d(8),
                             nn::AdaptiveAvgPool2d(1), nn::Flatten()),
              img);
  module_case("activations",
              nn::Sequential(nn::Linear(8, 16), nn::GELU(), nn::Linear(16, 16), nn::Sigmoid(), nn::Linear(16, 16),
                             nn::Tanh(), nn::Linear(16, 16), nn::SiLU(), nn::ReLU6(), nn::Dropout(0.5), nn::Linear(16, 6),
                             nn::Softmax(1)),
              3 * torch::randn({4, 8}));
  const auto ids = torch::randint(50, {3, 7}, torch::kLong);
  for (int opset : {13, 17}) {
    module_case("embedding_layernorm_linear3d_opset" + std::to_string(opset),
                nn::Sequential(nn::Embedding(50, 16), nn::LayerNorm(nn::LayerNormOptions({16})), nn::Linear(16, 4)), ids,
                opset);
  }
  module_case("conv_bn_act_relu6",
              nn::Sequential(std::make_shared<ConvBnAct>(&qat, ConvBnAct::Naming::kTorchvision, 8, 8, 3, 2, 8, quant::Act::kRelu6)),
              img);
  module_case("conv_relu_pool", nn::Sequential(std::make_shared<models::ConvReluPool>(&qat, 8, 4, 5)), img);
  module_case("basic_block_downsample", nn::Sequential(std::make_shared<models::BasicBlock>(&qat, 8, 16, 2)), img);
  module_case("bottleneck", nn::Sequential(std::make_shared<models::Bottleneck>(&qat, 8, 2, 1)), img);
  module_case("inverted_residual", nn::Sequential(std::make_shared<models::InvertedResidual>(&qat, 8, 8, 1, 6)), img);
  module_case("encoder_layer", nn::Sequential(std::make_shared<models::EncoderLayer>(&qat, 32, 4, 64)),
              torch::randn({2, 5, 32}));
}

TEST_CASE("QAT MNIST model: qdq and int8 exports, full test set for ONNX Runtime", "[export][qat]") {
  // A short QAT run of the shipped recipe: prune in epoch 1-2, QAT from epoch 3, observers frozen half way through it.
  const fs::path run = artifacts() / "qat_run";
  fs::remove_all(run);
  TrainOptions t;
  t.recipe = "recipes/mnist_cnn-pruned90-quant.yaml";
  t.recipe_args = R"({"num_epochs": 3, "pruning_start_epoch": 0.0, "pruning_end_epoch": 1.5,
                      "pruning_update_frequency": 0.5, "quantization_start_epoch": 2.0, "observer_freeze_epoch": 2.5})";
  t.output_dir = run.string();
  t.train_limit = 2500;
  t.test_limit = 1000;
  t.threads = 2;
  t.progress = false;
  auto trained = train(t);
  INFO(trained.status().to_string());
  REQUIRE(trained.ok());

  // The QAT model as the checkpoint holds it, on the whole MNIST test set.
  auto state = read_checkpoint_state(run.string());
  REQUIRE(state.ok());
  models::ModelConfig cfg;
  cfg.arch = state->model.arch;
  auto model_or = models::create_model(cfg);
  REQUIRE(model_or.ok());
  models::Model& model = **model_or;
  auto recipe = recipe::parse_recipe_file((fs::path(trained->last_checkpoint) / "recipe.yaml").string());
  REQUIRE(recipe.ok());
  const recipe::Modifier* qm = nullptr;
  for (const auto& m : recipe->modifiers) {
    if (m.kind == recipe::ModifierKind::kQuantizationModifier) qm = &m;
  }
  REQUIRE(qm != nullptr);
  REQUIRE(model.qat().enable(qm->quant).ok());
  REQUIRE(load_model_weights(trained->last_checkpoint, model).ok());
  model.eval();
  model.qat().disable_observers();
  auto data_dir = data::find_data_dir("mnist");
  REQUIRE(data_dir.ok());
  auto test_set = data::load_mnist(*data_dir, data::Split::kTest);
  REQUIRE(test_set.ok());
  auto images = ox::mnist_samples(*data_dir, test_set->count, 1, 28);
  REQUIRE(images.ok());
  torch::Tensor logits;
  {
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> parts;
    for (std::int64_t b = 0; b < test_set->count; b += 1000) {
      parts.push_back(model.forward(images->slice(0, b, std::min(b + 1000, test_set->count))));
    }
    logits = torch::cat(parts);
  }
  const torch::Tensor labels =
      torch::from_blob(test_set->labels.data(), {test_set->count}, torch::kByte).to(torch::kLong).clone();
  const double qat_accuracy = logits.argmax(1).eq(labels).to(torch::kFloat).mean().item<double>();
  std::printf("QAT LibTorch model: MNIST test accuracy %.2f %% over %lld images\n", 100.0 * qat_accuracy,
              static_cast<long long>(test_set->count));
  CHECK(qat_accuracy > 0.80);

  for (const auto& [fmt, check] : std::vector<std::pair<ox::Format, std::string>>{
           {ox::Format::kInt8, R"({"min_agreement": 0.99, "max_accuracy_drop": 0.002, "chunk": 1000})"},
           {ox::Format::kQdq, R"({"min_agreement": 0.99, "max_accuracy_drop": 0.002, "chunk": 1000})"},
           {ox::Format::kFp32, R"({"max_abs": 1e-4})"}}) {
    const std::string name = std::string("mnist_cnn_qat_") + ox::format_name(fmt);
    const fs::path dir = fresh_case_dir(name);
    ox::ExportOptions o;
    o.checkpoint = run.string();
    o.output = (dir / "model.onnx").string();
    o.format = fmt;
    o.samples = 16;
    auto r = ox::export_checkpoint(o);
    INFO(name << ": " << r.status().to_string());
    REQUIRE(r.ok());
    write_text(dir / "check.json", check);
    if (fmt == ox::Format::kFp32) continue;
    // The whole test set with labels, outputs from the QAT LibTorch model.
    const fs::path set = dir / "test_data_set_1";
    fs::create_directories(set);
    REQUIRE(ox::write_tensor_pb((set / "input_0.pb").string(), "input", *images).ok());
    REQUIRE(ox::write_tensor_pb((set / "output_0.pb").string(), "logits", logits).ok());
    REQUIRE(ox::write_tensor_pb((set / "labels_0.pb").string(), "labels", labels).ok());
    std::printf("%s: %lld nodes, ops:", name.c_str(), static_cast<long long>(r->nodes));
    for (const auto& op : r->op_types) std::printf(" %s", op.c_str());
    std::printf("\n");
  }
}
