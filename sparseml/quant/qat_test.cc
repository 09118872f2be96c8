// Tests of QAT numerics against PyTorch's fake-quantize ops and hand-computed observer values.
#include <torch/torch.h>
// LibTorch pulls in glog, whose CHECK would shadow Catch's: Catch must define it last.
#undef CHECK
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdio>
#include <limits>
#include <string>

#include "sparseml/quant/qat.h"

namespace {

using sparsify::ml::quant::Act;
using sparsify::ml::quant::QatContext;
using sparsify::ml::quant::QuantParams;
using sparsify::ml::recipe::QuantSettings;
namespace quant = sparsify::ml::quant;

// conv1+bn1+relu -> maxpool -> conv2 (bias, no BN) -> add(residual) -> relu -> flatten -> fc.
struct TestNet : torch::nn::Module {
  TestNet() : qat(*this, [this] { forward(torch::randn({2, 3, 8, 8})); }) {
    conv1 = register_module("conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 8, 3).padding(1).bias(false)));
    bn1 = register_module("bn1", torch::nn::BatchNorm2d(8));
    conv2 = register_module("conv2", torch::nn::Conv2d(torch::nn::Conv2dOptions(8, 8, 3).padding(1)));
    fc = register_module("fc", torch::nn::Linear(8 * 4 * 4, 5));
    // Non-trivial BN state so that folding is exercised.
    torch::NoGradGuard g;
    bn1->weight.uniform_(0.5, 1.5);
    bn1->bias.uniform_(-0.5, 0.5);
    bn1->running_mean.uniform_(-0.2, 0.2);
    bn1->running_var.uniform_(0.5, 2.0);
  }
  torch::Tensor forward(const torch::Tensor& x) {
    auto y = qat.conv(*conv1, bn1.get(), x, Act::kRelu);
    y = qat.preserve(torch::max_pool2d(y, 2), y);
    y = qat.add(*this, qat.conv(*conv2, nullptr, y), y, "add", Act::kRelu);
    return qat.linear(*fc, y.flatten(1));
  }
  // The same network written with plain modules (what QAT-off must equal bit for bit).
  torch::Tensor float_forward(const torch::Tensor& x) {
    auto y = torch::max_pool2d(torch::relu(bn1->forward(conv1->forward(x))), 2);
    y = torch::relu(conv2->forward(y) + y);
    return fc->forward(y.flatten(1));
  }
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr};
  torch::nn::Linear fc{nullptr};
  QatContext qat;
};

// QuantStub -> fc, and an embedding lookup: the hooks without a conv.
struct StubNet : torch::nn::Module {
  StubNet() : qat(*this, [this] { forward(torch::zeros({2, 4}), torch::zeros({2, 3}, torch::kLong)); }) {
    fc = register_module("fc", torch::nn::Linear(4, 2));
    emb = register_module("emb", torch::nn::Embedding(6, 4));
  }
  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& x, const torch::Tensor& ids) {
    return {qat.linear(*fc, qat.activation(*this, x, "quant")), qat.embedding(*emb, ids)};
  }
  torch::nn::Linear fc{nullptr};
  torch::nn::Embedding emb{nullptr};
  QatContext qat;
};

torch::Tensor tensor_of(const std::vector<float>& v) { return torch::tensor(v); }
torch::Tensor zp_of(const std::vector<std::int32_t>& v) { return torch::tensor(v, torch::kInt); }

std::shared_ptr<TestNet> make_net(std::uint64_t seed) {
  torch::manual_seed(seed);
  return std::make_shared<TestNet>();
}

}  // namespace

TEST_CASE("quant ranges follow PyTorch's defaults", "[quant]") {
  CHECK(quant::weight_range(8).quant_min == -128);
  CHECK(quant::weight_range(8).quant_max == 127);
  CHECK(quant::weight_range(8).symmetric);
  CHECK(quant::activation_range(8, false).quant_max == 255);
  CHECK(quant::activation_range(8, true).quant_max == 127);
  CHECK(quant::activation_range(8, true).quant_min == 0);
  CHECK(quant::activation_range(4, false).quant_max == 15);
}

TEST_CASE("calculate_qparams matches PyTorch's formulas", "[quant]") {
  torch::Tensor scale, zp;
  // Affine uint8: scale = (max - min) / 255, zero point = 0 - round(min / scale).
  quant::calculate_qparams(torch::tensor(-1.0f), torch::tensor(2.0f), quant::activation_range(8, false), &scale, &zp);
  CHECK(scale.item<float>() == Approx(3.0f / 255.0f).epsilon(1e-7));
  CHECK(zp.item<int>() == 85);
  // Range widened to include zero.
  quant::calculate_qparams(torch::tensor(0.5f), torch::tensor(2.0f), quant::activation_range(8, false), &scale, &zp);
  CHECK(scale.item<float>() == Approx(2.0f / 255.0f).epsilon(1e-7));
  CHECK(zp.item<int>() == 0);
  // Symmetric per channel: scale = max(|min|, |max|) / 127.5, zero point 0.
  quant::calculate_qparams(torch::tensor({-1.0f, -0.5f, 0.0f}), torch::tensor({0.5f, 2.0f, 0.0f}),
                           quant::weight_range(8), &scale, &zp);
  CHECK(scale[0].item<float>() == Approx(1.0f / 127.5f).epsilon(1e-7));
  CHECK(scale[1].item<float>() == Approx(2.0f / 127.5f).epsilon(1e-7));
  CHECK(scale[2].item<float>() == std::numeric_limits<float>::epsilon());  // eps clamp
  CHECK(torch::equal(zp, torch::zeros({3}, torch::kInt)));
  // Nothing observed yet: scale 1, zero point 0.
  quant::calculate_qparams(torch::tensor(std::numeric_limits<float>::infinity()),
                           torch::tensor(-std::numeric_limits<float>::infinity()), quant::activation_range(8, false),
                           &scale, &zp);
  CHECK(scale.item<float>() == 1.0f);
  CHECK(zp.item<int>() == 0);
}

TEST_CASE("moving-average observer matches a hand computation", "[quant]") {
  quant::Observer obs(quant::activation_range(8, false), -1, torch::TensorOptions());
  obs.observe(torch::tensor({-1.0f, 0.5f, 3.0f}));
  CHECK(obs.min_val().item<float>() == -1.0f);  // first batch taken as is
  CHECK(obs.max_val().item<float>() == 3.0f);
  obs.observe(torch::tensor({-2.0f, 1.0f}));
  const float min2 = -1.0f + 0.01f * (-2.0f - -1.0f), max2 = 3.0f + 0.01f * (1.0f - 3.0f);
  CHECK(obs.min_val().item<float>() == Approx(min2).epsilon(1e-6));
  CHECK(obs.max_val().item<float>() == Approx(max2).epsilon(1e-6));
  CHECK(obs.scale()[0].item<float>() == Approx((max2 - min2) / 255.0f).epsilon(1e-6));
  CHECK(obs.zero_point()[0].item<int>() == static_cast<int>(std::nearbyint(-min2 / ((max2 - min2) / 255.0f))));
}

TEST_CASE("QAT off is bit-identical to the float model", "[quant]") {
  auto net = make_net(1);
  const auto x = torch::randn({4, 3, 8, 8});
  net->train();
  const auto a = net->forward(x);
  // Same BN state for the second pass: reset the running statistics the first pass moved.
  auto net2 = make_net(1);
  net2->train();
  const auto b = net2->float_forward(x);
  CHECK(torch::equal(a, b));
  CHECK_FALSE(net->qat.enabled());
}

TEST_CASE("enable discovers layers, inputs and buffers", "[quant]") {
  auto net = make_net(2);
  const auto param_count = net->named_parameters().size();
  REQUIRE(net->qat.enable(QuantSettings{}).ok());
  CHECK(net->qat.enabled());
  CHECK(net->named_parameters().size() == param_count);  // only buffers were added
  const auto layers = net->qat.layers();
  REQUIRE(layers.size() == 4);
  CHECK(layers[0].name == "conv1");
  CHECK(layers[0].bn == "bn1");
  CHECK(layers[0].act == Act::kRelu);
  CHECK(layers[0].input_sources == std::vector<std::string>{"conv1"});  // its own input observer
  CHECK(layers[1].name == "conv2");
  CHECK(layers[1].input_sources == std::vector<std::string>{"conv1"});  // through the max pool
  CHECK(layers[2].name == "add");
  CHECK((layers[2].input_sources == std::vector<std::string>{"conv2", "conv1"}));
  CHECK(layers[3].name == "fc");
  CHECK(layers[3].input_sources == std::vector<std::string>{"add"});   // through flatten
  CHECK(layers[3].weight->axis == 0);
  CHECK(layers[3].weight->scale.size() == 5);
  const auto buffers = net->named_buffers();
  CHECK(buffers.find("qat.conv1.weight_scale") != nullptr);
  CHECK(buffers.find("qat.conv1.input_min_val") != nullptr);
  CHECK(buffers.find("qat.conv2.input_min_val") == nullptr);
  CHECK(buffers.find("qat.add.output_zero_point") != nullptr);
  CHECK(net->qat.layer("nope").status().code() == sparsify::StatusCode::kNotFound);
  CHECK_FALSE(net->qat.enable(QuantSettings{}).ok());  // only once
}

TEST_CASE("weight and activation fake quantization equal PyTorch's ops", "[quant]") {
  auto net = make_net(3);
  REQUIRE(net->qat.enable(QuantSettings{}).ok());
  net->train();
  const auto x = torch::randn({2, 8 * 4 * 4});
  torch::Tensor y;
  {
    // Run only the fc layer through its hook (input from "add" is then float: fc has no own input
    // observer, so the hook must leave x alone).
    y = net->qat.linear(*net->fc, x);
  }
  const auto info = net->qat.layer("fc").value();
  REQUIRE(info.weight);
  REQUIRE(info.output);
  // First observation is exact: per-channel symmetric scale from the weight's own min/max.
  const auto w = net->fc->weight.detach();
  torch::Tensor s, z;
  quant::calculate_qparams(std::get<0>(w.aminmax(1)), std::get<1>(w.aminmax(1)), quant::weight_range(8), &s, &z);
  CHECK(torch::equal(tensor_of(info.weight->scale), s));
  CHECK(torch::equal(zp_of(info.weight->zero_point), z));
  const auto wq = torch::fake_quantize_per_channel_affine(w, s, z, 0, -128, 127);
  const auto expect = torch::fake_quantize_per_tensor_affine(torch::linear(x, wq, net->fc->bias.detach()),
                                                             info.output->scale[0], info.output->zero_point[0], 0, 255);
  CHECK(torch::equal(y.detach(), expect));
  CHECK(info.output->quant_min == 0);
  CHECK(info.output->quant_max == 255);
}

TEST_CASE("folded Conv+BN at high precision matches float conv+bn", "[quant]") {
  QuantSettings hi;
  hi.weight_bits = 16;
  hi.activation_bits = 16;
  // Training mode: batch statistics, BN running statistics move exactly as in float. (Only the first
  // step is compared: later the folded weight moves with running_var faster than the 0.01 moving
  // average of PyTorch's weight observer follows, and its edge values clip, as in PyTorch.)
  {
    auto qnet = make_net(4);
    auto fnet = make_net(4);
    REQUIRE(qnet->qat.enable(hi).ok());
    qnet->train();
    fnet->train();
    const auto x = torch::randn({4, 3, 8, 8});
    const auto yq = qnet->qat.conv(*qnet->conv1, qnet->bn1.get(), x, Act::kRelu);
    const auto yf = torch::relu(fnet->bn1->forward(fnet->conv1->forward(x)));
    CHECK(torch::allclose(yq, yf, /*rtol=*/1e-3, /*atol=*/1e-3));
    CHECK(torch::allclose(qnet->bn1->running_mean, fnet->bn1->running_mean, 1e-4, 1e-5));
    CHECK(torch::allclose(qnet->bn1->running_var, fnet->bn1->running_var, 1e-4, 1e-5));
  }
  // Eval mode: running statistics, the whole network.
  {
    auto qnet = make_net(5);
    auto fnet = make_net(5);
    REQUIRE(qnet->qat.enable(hi).ok());
    qnet->eval();
    fnet->eval();
    const auto x = torch::randn({2, 3, 8, 8});
    const auto yq = qnet->forward(x), yf = fnet->float_forward(x);
    CHECK(torch::allclose(yq, yf, 1e-3, 1e-3));
    // At 8 bits the difference is visible but bounded.
    auto q8 = make_net(5);
    REQUIRE(q8->qat.enable(QuantSettings{}).ok());
    q8->eval();
    const auto y8 = q8->forward(x);
    CHECK_FALSE(torch::equal(y8, yf));
    CHECK((y8 - yf).abs().max().item<float>() < 0.1f * yf.abs().max().item<float>());
  }
}

TEST_CASE("fake quantization keeps pruned zeros and weights untouched", "[quant]") {
  const auto w = torch::randn({6, 4, 3, 3});
  auto mask = torch::rand_like(w) > 0.5;
  const auto pruned = w * mask;
  torch::Tensor s, z;
  quant::calculate_qparams(std::get<0>(pruned.flatten(1).aminmax(1)), std::get<1>(pruned.flatten(1).aminmax(1)),
                           quant::weight_range(8), &s, &z);
  const auto q = torch::fake_quantize_per_channel_affine(pruned, s, z, 0, -128, 127);
  CHECK(torch::equal(q.masked_select(~mask), torch::zeros({(~mask).sum().item<std::int64_t>()})));

  auto net = make_net(5);
  {
    torch::NoGradGuard g;
    net->conv1->weight.mul_((torch::rand_like(net->conv1->weight) > 0.5).to(torch::kFloat));
  }
  const auto before = net->conv1->weight.detach().clone();
  REQUIRE(net->qat.enable(QuantSettings{}).ok());
  net->train();
  auto out = net->forward(torch::randn({2, 3, 8, 8}));
  out.sum().backward();
  CHECK(torch::equal(net->conv1->weight.detach(), before));
  REQUIRE(net->conv1->weight.grad().defined());
  CHECK(net->conv1->weight.grad().abs().sum().item<float>() > 0.0f);  // straight-through gradient
}

TEST_CASE("freeze_bn_stats uses running statistics in training", "[quant]") {
  auto net = make_net(6);
  REQUIRE(net->qat.enable(QuantSettings{}).ok());
  net->train();
  net->forward(torch::randn({4, 3, 8, 8}));
  net->qat.disable_observers();
  net->qat.freeze_bn_stats();
  CHECK(net->qat.bn_stats_frozen());
  const auto mean = net->bn1->running_mean.clone();
  const auto x = torch::randn({4, 3, 8, 8});
  const auto train_out = net->qat.conv(*net->conv1, net->bn1.get(), x, Act::kRelu);
  CHECK(torch::equal(net->bn1->running_mean, mean));
  net->eval();
  const auto eval_out = net->qat.conv(*net->conv1, net->bn1.get(), x, Act::kRelu);
  CHECK(torch::equal(train_out, eval_out));
}

TEST_CASE("observers stop after disable_observers", "[quant]") {
  auto net = make_net(7);
  REQUIRE(net->qat.enable(QuantSettings{}).ok());
  net->train();
  net->forward(torch::randn({2, 3, 8, 8}));
  const auto before = net->qat.layer("conv1").value();
  net->forward(torch::randn({2, 3, 8, 8}) * 3);
  const auto moved = net->qat.layer("conv1").value();
  CHECK(moved.output->scale != before.output->scale);
  net->qat.disable_observers();
  CHECK_FALSE(net->qat.observers_enabled());
  net->forward(torch::randn({2, 3, 8, 8}) * 10);
  const auto frozen = net->qat.layer("conv1").value();
  CHECK(frozen.output->scale == moved.output->scale);
  CHECK(frozen.input->scale == moved.input->scale);
  CHECK(frozen.weight->scale == moved.weight->scale);
}

TEST_CASE("observer buffers round-trip through torch::save and torch::load", "[quant]") {
  auto net = make_net(8);
  REQUIRE(net->qat.enable(QuantSettings{}).ok());
  net->train();
  for (int i = 0; i < 3; ++i) net->forward(torch::randn({2, 3, 8, 8}));
  const std::string path = "/tmp/sparsify_quant_test_" + std::to_string(::getpid()) + ".pt";
  torch::save(net, path);
  auto loaded = make_net(99);
  REQUIRE(loaded->qat.enable(QuantSettings{}).ok());
  torch::load(loaded, path);
  std::remove(path.c_str());
  const auto a = net->named_buffers();
  const auto b = loaded->named_buffers();
  REQUIRE(a.size() == b.size());
  for (const auto& item : a) CHECK(torch::equal(item.value(), b[item.key()]));
  CHECK(loaded->qat.layer("add").value().output->scale == net->qat.layer("add").value().output->scale);
  net->eval();
  loaded->eval();
  net->qat.disable_observers();
  loaded->qat.disable_observers();
  const auto x = torch::randn({2, 3, 8, 8});
  CHECK(torch::equal(net->forward(x), loaded->forward(x)));
}

TEST_CASE("submodules and exclude_module_types restrict quantization", "[quant]") {
  SECTION("exclude Linear") {
    auto net = make_net(9);
    QuantSettings s;
    s.exclude_module_types = {"Linear"};
    REQUIRE(net->qat.enable(s).ok());
    for (const auto& l : net->qat.layers()) CHECK(l.type != "Linear");
    net->train();
    const auto x = torch::randn({2, 128});
    CHECK(torch::equal(net->qat.linear(*net->fc, x), net->fc->forward(x)));
  }
  SECTION("submodules prefix") {
    auto net = make_net(10);
    QuantSettings s;
    s.submodules = {"conv2"};
    REQUIRE(net->qat.enable(s).ok());
    const auto layers = net->qat.layers();
    REQUIRE(layers.size() == 1);
    CHECK(layers[0].name == "conv2");
    CHECK(layers[0].input_sources[0] == "conv2");  // conv1 is float now: conv2 observes its input
  }
  SECTION("unknown prefix") {
    auto net = make_net(11);
    QuantSettings s;
    s.submodules = {"backbone"};
    const auto st = net->qat.enable(s);
    CHECK(st.code() == sparsify::StatusCode::kInvalidArgument);
    CHECK(st.message().find("conv1") != std::string::npos);
    CHECK_FALSE(net->qat.enabled());
  }
  SECTION("linear activations off, reduce_range on") {
    auto net = make_net(12);
    QuantSettings s;
    s.quantize_linear_activations = false;
    s.reduce_range = true;
    REQUIRE(net->qat.enable(s).ok());
    const auto fc = net->qat.layer("fc").value();
    CHECK_FALSE(fc.output);
    CHECK(net->qat.layer("conv1").value().output->quant_max == 127);
    CHECK(fc.weight->quant_min == -128);
  }
  SECTION("bad bits") {
    auto net = make_net(13);
    QuantSettings s;
    s.weight_bits = 1;
    CHECK(net->qat.enable(s).code() == sparsify::StatusCode::kInvalidArgument);
  }
}

TEST_CASE("QuantStub activation and embedding hooks", "[quant]") {
  torch::manual_seed(14);
  auto net = std::make_shared<StubNet>();
  REQUIRE(net->qat.enable(QuantSettings{}).ok());
  const auto stub = net->qat.layer("quant").value();
  CHECK(stub.type == "Activation");
  CHECK(net->qat.layer("fc").value().input_sources == std::vector<std::string>{"quant"});
  CHECK(net->qat.layer("emb").value().type == "Embedding");
  const auto ids = torch::tensor({{0, 5, 2}}, torch::kLong);
  net->forward(torch::tensor({{-1.0f, 0.5f, 3.0f, 0.0f}}), ids);
  const auto [y, e] = net->forward(torch::tensor({{-2.0f, 1.0f, 0.0f, 0.0f}}), ids);
  // Moving average of the stub's min/max, read back from the registered buffers.
  const auto buffers = net->named_buffers();
  CHECK(buffers["qat.quant.output_min_val"].item<float>() == Approx(-1.01f).epsilon(1e-6));
  CHECK(buffers["qat.quant.output_max_val"].item<float>() == Approx(2.98f).epsilon(1e-6));
  // Embedding: the table fake-quantized per row (symmetric int8), then looked up.
  const auto w = net->emb->weight.detach();
  const auto info = net->qat.layer("emb").value();
  REQUIRE(info.weight);
  CHECK(info.weight->scale.size() == 6);
  CHECK_FALSE(info.output);
  const auto wq = torch::fake_quantize_per_channel_affine(w, tensor_of(info.weight->scale), zp_of(info.weight->zero_point),
                                                          0, -128, 127);
  CHECK(torch::equal(e.detach(), wq.index_select(0, ids.flatten()).reshape({1, 3, 4})));
  QuantSettings no_emb;
  no_emb.quantize_embeddings = false;
  auto plain = std::make_shared<StubNet>();
  REQUIRE(plain->qat.enable(no_emb).ok());
  CHECK_FALSE(plain->qat.layer("emb").ok());
  CHECK(torch::equal(plain->forward(torch::zeros({1, 4}), ids).second, plain->emb->forward(ids)));
}

TEST_CASE("folded_weights reproduce the QAT conv in eval mode", "[quant]") {
  auto net = make_net(15);
  REQUIRE(net->qat.enable(QuantSettings{}).ok());
  net->train();
  for (int i = 0; i < 3; ++i) net->forward(torch::randn({4, 3, 8, 8}));
  net->qat.disable_observers();
  net->eval();
  const auto x = torch::randn({2, 3, 8, 8});
  const auto y = net->qat.conv(*net->conv1, net->bn1.get(), x, Act::kRelu);
  const auto info = net->qat.layer("conv1").value();
  const auto folded = net->qat.folded_weights("conv1").value();
  const auto xq = torch::fake_quantize_per_tensor_affine(x, info.input->scale[0], info.input->zero_point[0], 0, 255);
  const auto wq = torch::fake_quantize_per_channel_affine(folded.weight, tensor_of(info.weight->scale),
                                                          zp_of(info.weight->zero_point), 0, -128, 127);
  const auto ref = torch::fake_quantize_per_tensor_affine(
      torch::relu(torch::conv2d(xq, wq, folded.bias, /*stride=*/1, /*padding=*/1)), info.output->scale[0],
      info.output->zero_point[0], 0, 255);
  // Equal up to float rounding of the BN scale, which can move a value across one output step.
  CHECK((y - ref).abs().max().item<float>() <= info.output->scale[0] * 1.001f);
  CHECK((y - ref).abs().gt(0).sum().item<std::int64_t>() < y.numel() / 50);
  CHECK(net->qat.folded_weights("add").status().code() == sparsify::StatusCode::kNotFound);
  const auto fc = net->qat.folded_weights("fc").value();
  CHECK(torch::equal(fc.weight, net->fc->weight.detach()));
}
