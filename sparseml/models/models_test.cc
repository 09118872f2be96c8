// Tests of the model table: names and shapes vs torchvision/SparseML fixtures, forward numerics and shapes, QAT wiring.
#include <torch/torch.h>
// LibTorch pulls in glog, whose CHECK would shadow Catch's: Catch must define it last.
#undef CHECK
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "sparseml/models/models.h"

namespace {

using sparsify::StatusCode;
using sparsify::ml::models::create_model;
using sparsify::ml::models::describe_parameters;
using sparsify::ml::models::Model;
using sparsify::ml::models::ModelConfig;
using sparsify::ml::recipe::QuantSettings;

const std::string kFixtures = SPARSIFY_MODEL_FIXTURES;

std::shared_ptr<Model> make(const ModelConfig& c) {
  auto m = create_model(c);
  INFO(m.status().to_string());
  REQUIRE(m.ok());
  return m.value();
}

ModelConfig image_config(const std::string& arch, std::int64_t classes, std::int64_t in, std::int64_t size) {
  ModelConfig c;
  c.arch = arch;
  c.num_classes = classes;
  c.in_channels = in;
  c.image_size = size;
  return c;
}

ModelConfig small_bert() {
  ModelConfig c;
  c.arch = "bert_encoder";
  c.num_classes = 3;
  c.vocab_size = 100;
  c.max_seq_len = 16;
  c.num_layers = 2;
  c.hidden = 32;
  c.heads = 4;
  c.ffn = 64;
  return c;
}

// "arch key=value ..." -> config.
ModelConfig parse_config(const std::string& text) {
  std::istringstream in(text);
  ModelConfig c;
  in >> c.arch;
  std::string kv;
  while (in >> kv) {
    const auto eq = kv.find('=');
    const std::string key = kv.substr(0, eq);
    const std::int64_t v = std::stoll(kv.substr(eq + 1));
    if (key == "num_classes") c.num_classes = v;
    if (key == "in_channels") c.in_channels = v;
    if (key == "image_size") c.image_size = v;
    if (key == "vocab_size") c.vocab_size = v;
    if (key == "max_seq_len") c.max_seq_len = v;
    if (key == "num_layers") c.num_layers = v;
    if (key == "hidden") c.hidden = v;
    if (key == "heads") c.heads = v;
    if (key == "ffn") c.ffn = v;
  }
  return c;
}

std::string shape_str(const torch::Tensor& t) {
  if (t.dim() == 0) return "scalar";
  std::string s;
  for (auto d : t.sizes()) s += (s.empty() ? "" : "x") + std::to_string(d);
  return s;
}

// "param name shape" / "buffer name shape" lines, in named_parameters() then named_buffers() order.
std::vector<std::string> model_lines(const Model& m) {
  std::vector<std::string> lines;
  for (const auto& p : m.named_parameters()) lines.push_back("param " + p.key() + " " + shape_str(p.value()));
  for (const auto& b : m.named_buffers()) lines.push_back("buffer " + b.key() + " " + shape_str(b.value()));
  return lines;
}

std::vector<std::string> fixture_lines(const std::string& file, std::string* header) {
  std::ifstream in(kFixtures + "/" + file);
  REQUIRE(in.good());
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("# ", 0) == 0 && header->empty()) *header = line.substr(2);
    if (!line.empty() && line[0] != '#') lines.push_back(line);
  }
  return lines;
}

// make_fixtures.py fill(): the same deterministic values for every parameter and float buffer.
void fill(Model& m) {
  torch::NoGradGuard no_grad;
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  for (const auto& p : m.named_parameters()) tensors.emplace_back(p.key(), p.value());
  for (const auto& b : m.named_buffers()) {
    if (b.value().is_floating_point()) tensors.emplace_back(b.key(), b.value());
  }
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const auto& [name, t] = tensors[i];
    const auto wave = torch::sin(torch::arange(t.numel(), torch::kDouble) * 0.37 + static_cast<double>(i)).reshape(t.sizes());
    auto ends = [&](const std::string& s) { return name.size() >= s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0; };
    torch::Tensor v;
    if (ends("running_var")) {
      v = 1.0 + 0.25 * wave * wave;
    } else if (t.dim() >= 2) {
      v = wave * std::sqrt(3.0 / static_cast<double>(t.numel() / t.size(0)));
    } else if (ends("weight")) {
      v = 1.0 + 0.1 * wave;
    } else {
      v = 0.1 * wave;
    }
    t.copy_(v.to(t.scalar_type()));
  }
}

torch::Tensor image_input(const std::vector<std::int64_t>& shape) {
  std::int64_t n = 1;
  for (auto d : shape) n *= d;
  return torch::sin(torch::arange(n, torch::kDouble) * 0.1).reshape(shape).to(torch::kFloat);
}

}  // namespace

TEST_CASE("the model table lists every model once", "[models]") {
  const auto& table = sparsify::ml::models::model_table();
  std::vector<std::string> names;
  for (const auto& row : table) names.push_back(row.name);
  CHECK(names == std::vector<std::string>{"mnist_cnn", "mnistnet", "lenet5", "resnet18", "resnet50", "mobilenet_v2",
                                          "bert_encoder"});
  for (const auto& row : table) {
    CHECK_FALSE(row.description.empty());
    CHECK((row.input == "image" || row.input == "tokens"));
  }
  const auto unknown = create_model(image_config("resnet19", 10, 3, 32));
  CHECK(unknown.status().code() == StatusCode::kInvalidArgument);
  CHECK(unknown.status().message().find("resnet18, resnet50") != std::string::npos);
}

TEST_CASE("parameter names and shapes match torchvision and SparseML", "[models]") {
  struct Case {
    const char* file;
    ModelConfig config;
  };
  const Case cases[] = {
      {"params_resnet18.txt", image_config("resnet18", 1000, 3, 224)},
      {"params_resnet50.txt", image_config("resnet50", 1000, 3, 224)},
      {"params_mobilenet_v2.txt", image_config("mobilenet_v2", 1000, 3, 224)},
      {"params_mnist_cnn.txt", image_config("mnist_cnn", 10, 1, 28)},
      {"params_mnistnet.txt", image_config("mnistnet", 10, 1, 28)},
      {"params_lenet5.txt", image_config("lenet5", 10, 1, 28)},
      {"params_bert_encoder.txt", small_bert()},
  };
  for (const auto& c : cases) {
    SECTION(c.file) {
      std::string header;
      const auto expected = fixture_lines(c.file, &header);
      INFO(header);
      const auto model = make(c.config);
      const auto actual = model_lines(*model);
      CHECK(actual.size() == expected.size());
      for (std::size_t i = 0; i < std::min(actual.size(), expected.size()); ++i) CHECK(actual[i] == expected[i]);
    }
  }
  // Spot checks of the spec'd names.
  const auto cnn = make(image_config("mnist_cnn", 10, 1, 28));
  CHECK(cnn->named_parameters().find("out.weight")->sizes() == std::vector<std::int64_t>{10, 3136});
}

TEST_CASE("forward matches PyTorch on deterministic weights", "[models]") {
  std::ifstream in(kFixtures + "/forward_outputs.txt");
  REQUIRE(in.good());
  std::string line;
  int cases = 0;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const auto colon = line.find(" : ");
    const ModelConfig config = parse_config(line.substr(0, colon));
    std::vector<float> expected;
    std::istringstream values(line.substr(colon + 3));
    for (float v; values >> v;) expected.push_back(v);
    SECTION(config.arch) {
      const auto model = make(config);
      fill(*model);
      model->eval();
      torch::Tensor x;
      if (config.arch == "bert_encoder") {
        x = (torch::arange(2 * config.max_seq_len, torch::kLong) * 7 % config.vocab_size).reshape({2, config.max_seq_len});
      } else {
        x = image_input({2, config.in_channels, config.image_size, config.image_size});
      }
      torch::NoGradGuard no_grad;
      const auto y = model->forward(x).flatten();
      const auto want = torch::tensor(expected);
      INFO("got " << y << "\nwant " << want);
      CHECK(torch::allclose(y, want, /*rtol=*/1e-4, /*atol=*/1e-4));
    }
    ++cases;
  }
  CHECK(cases == 7);
}

TEST_CASE("forward output shapes across sizes and class counts", "[models]") {
  struct Case {
    ModelConfig config;
    std::int64_t batch, size;  // size: input H = W (0: token model)
  };
  const Case cases[] = {
      {image_config("mnist_cnn", 10, 1, 28), 2, 28},     {image_config("mnist_cnn", 4, 3, 32), 1, 32},
      {image_config("mnistnet", 10, 1, 28), 2, 28},      {image_config("mnistnet", 7, 2, 20), 3, 45},
      {image_config("lenet5", 10, 1, 28), 2, 28},        {image_config("lenet5", 2, 3, 32), 1, 32},
      {image_config("resnet18", 7, 1, 32), 2, 32},       {image_config("resnet18", 1000, 3, 64), 1, 77},
      {image_config("resnet50", 3, 3, 40), 2, 40},       {image_config("mobilenet_v2", 12, 3, 33), 2, 33},
      {image_config("mobilenet_v2", 2, 1, 64), 1, 64},   {small_bert(), 3, 0},
  };
  for (const auto& c : cases) {
    const auto model = make(c.config);
    model->train();
    torch::Tensor x;
    if (c.size == 0) {
      x = torch::randint(0, c.config.vocab_size, {c.batch, 9}, torch::kLong);
    } else {
      x = torch::randn({c.batch, c.config.in_channels, c.size, c.size});
    }
    const auto y = model->forward(x);
    INFO(c.config.arch << " size " << c.size);
    CHECK(y.sizes() == std::vector<std::int64_t>{c.batch, c.config.num_classes});
    CHECK(model->input_shape(5)[0] == 5);
    CHECK(model->example_input(2).scalar_type() == model->input_dtype());
  }
}

TEST_CASE("describe_parameters marks conv and linear weights prunable", "[models]") {
  const auto resnet = make(image_config("resnet18", 10, 3, 32));
  int prunable = 0;
  for (const auto& p : describe_parameters(*resnet)) {
    const bool conv_or_fc = p.name.find("conv") != std::string::npos || p.name.find("downsample.0") != std::string::npos ||
                            p.name.rfind("fc.", 0) == 0;
    CHECK(p.prunable == (conv_or_fc && p.name.size() > 7 && p.name.substr(p.name.size() - 7) == ".weight"));
    prunable += p.prunable;
  }
  CHECK(prunable == 21);  // 17 convs + 3 downsample convs + fc

  const auto bert = make(small_bert());
  const auto params = describe_parameters(*bert);
  auto find = [&](const std::string& n) {
    for (const auto& p : params)
      if (p.name == n) return p;
    FAIL("missing " << n);
    return params[0];
  };
  CHECK(find("encoder.layer.1.attention.self.query.weight").prunable);
  CHECK(find("encoder.layer.0.output.dense.weight").prunable);
  CHECK(find("classifier.weight").prunable);
  CHECK_FALSE(find("embeddings.word_embeddings.weight").prunable);
  CHECK_FALSE(find("encoder.layer.0.attention.output.LayerNorm.weight").prunable);
  CHECK_FALSE(find("encoder.layer.0.intermediate.dense.bias").prunable);
  CHECK(find("encoder.layer.0.intermediate.dense.weight").shape == std::vector<std::int64_t>{64, 32});
}

TEST_CASE("bad configs and inputs are reported as Status", "[models]") {
  CHECK(create_model(image_config("resnet18", 10, 3, 16)).status().message().find("image_size is 16") != std::string::npos);
  CHECK(create_model(image_config("lenet5", 0, 1, 28)).status().code() == StatusCode::kInvalidArgument);
  auto bert_cfg = small_bert();
  bert_cfg.heads = 5;
  CHECK(create_model(bert_cfg).status().code() == StatusCode::kInvalidArgument);

  const auto bert = make(small_bert());
  const auto too_long = sparsify::ml::models::run_forward(*bert, torch::zeros({1, 17}, torch::kLong));
  CHECK(too_long.status().code() == StatusCode::kInvalidArgument);
  CHECK(too_long.status().message().find("max_seq_len") != std::string::npos);
  const auto cnn = make(image_config("mnist_cnn", 10, 1, 28));
  CHECK(sparsify::ml::models::run_forward(*cnn, torch::zeros({1, 3, 28, 28})).status().code() ==
        StatusCode::kInvalidArgument);
  CHECK(sparsify::ml::models::run_forward(*cnn, torch::zeros({1, 1, 28, 28})).ok());
}

TEST_CASE("QAT is wired through every model", "[models][quant]") {
  const ModelConfig configs[] = {image_config("mnist_cnn", 10, 1, 28), image_config("mnistnet", 10, 1, 28),
                                 image_config("lenet5", 10, 1, 28),    image_config("resnet18", 10, 3, 32),
                                 image_config("resnet50", 10, 3, 32),  image_config("mobilenet_v2", 10, 3, 32),
                                 small_bert()};
  for (const auto& config : configs) {
    INFO(config.arch);
    const auto model = make(config);
    model->eval();
    const auto x = model->example_input(2).to(torch::kFloat).normal_().to(model->input_dtype()).abs_() % 50;
    torch::Tensor float_out;
    {
      torch::NoGradGuard g;
      float_out = model->forward(x);
    }
    REQUIRE(model->qat().enable(QuantSettings{}).ok());
    // Every conv and linear module became a quantized layer with a per-channel weight quantizer.
    std::size_t conv_linear = 0;
    for (const auto& p : describe_parameters(*model)) conv_linear += p.prunable;
    std::size_t weighted = 0;
    for (const auto& l : model->qat().layers()) {
      if (l.type == "Conv2d" || l.type == "Linear") {
        ++weighted;
        REQUIRE(l.weight);
        CHECK(l.weight->scale.size() == static_cast<std::size_t>(
                                            model->named_parameters().find(l.name + ".weight")->size(0)));
        CHECK(l.input);  // every conv/linear input is quantized (own observer or producer's output)
      }
    }
    CHECK(weighted == conv_linear);
    model->train();
    const auto y = model->forward(x);
    CHECK(y.sizes() == float_out.sizes());
    CHECK(torch::isfinite(y).all().item<bool>());
    y.sum().backward();
  }
}

TEST_CASE("QAT layer names and wiring in resnet18, mobilenet_v2 and bert_encoder", "[models][quant]") {
  SECTION("resnet18") {
    const auto m = make(image_config("resnet18", 10, 3, 32));
    REQUIRE(m->qat().enable(QuantSettings{}).ok());
    const auto c = m->qat().layer("layer1.0.conv1").value();
    CHECK(c.bn == "layer1.0.bn1");
    CHECK(c.input_sources == std::vector<std::string>{"conv1"});  // through the max pool
    const auto add = m->qat().layer("layer1.0.add").value();
    CHECK((add.input_sources == std::vector<std::string>{"layer1.0.conv2", "conv1"}));
    const auto ds = m->qat().layer("layer2.0.downsample.0").value();
    CHECK(ds.bn == "layer2.0.downsample.1");
    CHECK(ds.input_sources == std::vector<std::string>{"layer1.1.add"});
    CHECK(m->qat().layer("conv1").value().input_sources == std::vector<std::string>{"conv1"});
    CHECK(m->qat().layer("fc").value().input_sources == std::vector<std::string>{"fc"});
  }
  SECTION("mobilenet_v2") {
    const auto m = make(image_config("mobilenet_v2", 10, 3, 32));
    REQUIRE(m->qat().enable(QuantSettings{}).ok());
    const auto dw = m->qat().layer("features.1.conv.0.0").value();
    CHECK(dw.bn == "features.1.conv.0.1");
    CHECK(dw.act == sparsify::ml::quant::Act::kRelu6);
    CHECK(m->qat().layer("features.2.conv.2").value().bn == "features.2.conv.3");
    CHECK(m->qat().layer("features.3.add").ok());
    CHECK_FALSE(m->qat().layer("features.2.add").ok());  // stride 2: no residual
  }
  SECTION("bert_encoder, embeddings excluded by type") {
    const auto m = make(small_bert());
    QuantSettings s;
    s.exclude_module_types = {"Embedding"};
    REQUIRE(m->qat().enable(s).ok());
    CHECK_FALSE(m->qat().layer("embeddings.word_embeddings").ok());
    CHECK(m->qat().layer("encoder.layer.0.attention.self.query").value().input_sources ==
          std::vector<std::string>{"encoder.layer.0.attention.self.query"});  // LayerNorm output is float
    CHECK(m->qat().layer("encoder.layer.0.intermediate.dense").value().act == sparsify::ml::quant::Act::kGelu);
    CHECK(m->qat().layer("encoder.layer.1.output.add").ok());
    CHECK(m->qat().layer("classifier").ok());
  }
  SECTION("bert_encoder, submodules restrict to one layer") {
    const auto m = make(small_bert());
    QuantSettings s;
    s.submodules = {"encoder.layer.1"};
    REQUIRE(m->qat().enable(s).ok());
    for (const auto& l : m->qat().layers()) CHECK(l.name.rfind("encoder.layer.1.", 0) == 0);
    CHECK(m->qat().layer("embeddings.word_embeddings").status().code() == StatusCode::kNotFound);
  }
}

TEST_CASE("a QAT model checkpoint round-trips", "[models][quant]") {
  const auto a = make(image_config("mnistnet", 10, 1, 28));
  REQUIRE(a->qat().enable(QuantSettings{}).ok());
  a->train();
  for (int i = 0; i < 2; ++i) a->forward(torch::randn({4, 1, 28, 28}));
  const std::string path = "/tmp/sparsify_models_test_" + std::to_string(::getpid()) + ".pt";
  torch::save(std::static_pointer_cast<torch::nn::Module>(a), path);
  const auto b = make(image_config("mnistnet", 10, 1, 28));
  REQUIRE(b->qat().enable(QuantSettings{}).ok());
  auto b_module = std::static_pointer_cast<torch::nn::Module>(b);
  torch::load(b_module, path);
  std::remove(path.c_str());
  a->eval();
  b->eval();
  a->qat().disable_observers();
  b->qat().disable_observers();
  const auto x = torch::randn({2, 1, 28, 28});
  CHECK(torch::equal(a->forward(x), b->forward(x)));
  CHECK(a->qat().layer("blocks.2.conv").value().output->scale == b->qat().layer("blocks.2.conv").value().output->scale);
}

TEST_CASE("mnist_cnn pools before ReLU in float training with identical values and gradients", "[models]") {
  torch::manual_seed(7);
  const auto cnn = make(image_config("mnist_cnn", 10, 1, 28));
  const torch::Tensor x = torch::randn({4, 1, 28, 28});
  const torch::Tensor y = cnn->forward(x);
  y.sum().backward();
  // The textbook order, conv -> ReLU -> pool, on the same parameters.
  std::map<std::string, torch::Tensor> p;
  for (const auto& kv : cnn->named_parameters()) p[kv.key()] = kv.value().detach().clone().requires_grad_(true);
  auto block = [&](const torch::Tensor& in, const std::string& n) {
    return torch::max_pool2d(torch::relu(torch::conv2d(in, p[n + ".0.weight"], p[n + ".0.bias"], 1, 2)), 2);
  };
  const torch::Tensor ref = torch::linear(block(block(x, "conv1"), "conv2").flatten(1), p["out.weight"], p["out.bias"]);
  ref.sum().backward();
  CHECK(torch::equal(y, ref));
  for (const auto& kv : cnn->named_parameters()) {
    INFO(kv.key());
    CHECK(torch::allclose(kv.value().grad(), p[kv.key()].grad(), 0, 0));
  }
}
