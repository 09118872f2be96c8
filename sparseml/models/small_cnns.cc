// MNIST-sized CNNs (mnist_cnn, mnistnet, lenet5) and the conv blocks they share with MobileNetV2.
#include <torch/torch.h>

#include "sparseml/models/blocks.h"
#include "sparseml/models/models_internal.h"

namespace sparsify::ml::models {

using quant::Act;

ConvBnAct::ConvBnAct(quant::QatContext* qat, Naming naming, std::int64_t in, std::int64_t out, std::int64_t kernel,
                     std::int64_t stride, std::int64_t groups, Act act_in)
    : act(act_in), qat_(qat) {
  const bool tv = naming == Naming::kTorchvision;
  conv = register_module(tv ? "0" : "conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, kernel)
                                                                  .stride(stride)
                                                                  .padding((kernel - 1) / 2)
                                                                  .groups(groups)
                                                                  .bias(false)));
  bn = register_module(tv ? "1" : "bn", torch::nn::BatchNorm2d(out));
  // The activation module is declared for structure only: it runs fused inside qat->conv().
  if (act == Act::kRelu6) register_module(tv ? "2" : "act", torch::nn::ReLU6());
  if (act == Act::kRelu) register_module(tv ? "2" : "act", torch::nn::ReLU());
}

torch::Tensor ConvBnAct::forward(torch::Tensor x) { return qat_->conv(*conv, bn.get(), x, act); }

ConvReluPool::ConvReluPool(quant::QatContext* qat, std::int64_t in, std::int64_t out, std::int64_t kernel)
    : qat_(qat) {
  conv = register_module("0", torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, kernel).padding(kernel / 2)));
  register_module("1", torch::nn::ReLU());  // runs fused inside qat->conv()
  pool = register_module("2", torch::nn::MaxPool2d(2));
}

torch::Tensor ConvReluPool::forward(torch::Tensor x) {
  // Float training pools before the ReLU: ReLU is monotonic, so max-pooling commutes with it, and
  // the outputs and gradients are identical (a window whose max is <= 0 passes no gradient either
  // way), while ReLU and its backward touch a 4x smaller tensor. QAT keeps the exported order.
  if (qat_->plain()) return pool->forward(conv->forward(x)).relu_();
  const torch::Tensor y = qat_->conv(*conv, nullptr, x, Act::kRelu);
  return qat_->preserve(pool->forward(y), y);
}

namespace {

// Spatial size after a 2x2/2 max pool.
std::int64_t pooled(std::int64_t s) { return s / 2; }

/// The SparseML MNIST tutorial model: conv1, conv2 (ConvReluPool), out = Linear(64 * (s/4)^2, classes).
class MnistCnn : public Model {
 public:
  explicit MnistCnn(const ModelConfig& c) : Model(c) {
    const std::int64_t s = pooled(pooled(c.image_size));
    conv1 = register_module("conv1", std::make_shared<ConvReluPool>(&qat(), c.in_channels, 32, 5));
    conv2 = register_module("conv2", std::make_shared<ConvReluPool>(&qat(), 32, 64, 5));
    out = register_module("out", torch::nn::Linear(64 * s * s, c.num_classes));
  }
  torch::Tensor forward(torch::Tensor x) override {
    x = conv2->forward(conv1->forward(x));
    return qat().linear(*out, x.flatten(1));
  }

 private:
  std::shared_ptr<ConvReluPool> conv1, conv2;
  torch::nn::Linear out{nullptr};
};

/// SparseML's MnistNet classifier head: avgpool (global) and fc (softmax is not part of the logits).
class MnistClassifier : public torch::nn::Module {
 public:
  MnistClassifier(std::int64_t in, std::int64_t classes) {
    avgpool = register_module("avgpool", torch::nn::AdaptiveAvgPool2d(1));
    fc = register_module("fc", torch::nn::Linear(in, classes));
  }
  torch::nn::AdaptiveAvgPool2d avgpool{nullptr};
  torch::nn::Linear fc{nullptr};
};

/// SparseML MnistNet: blocks = four ConvBnAct (SparseML names conv/bn/act), classifier.fc.
class MnistNet : public Model {
 public:
  explicit MnistNet(const ModelConfig& c) : Model(c) {
    blocks = register_module("blocks", torch::nn::Sequential());
    const std::int64_t channels[] = {c.in_channels, 16, 32, 64, 128};
    const std::int64_t strides[] = {1, 2, 1, 2};
    for (int i = 0; i < 4; ++i) {
      blocks->push_back(std::make_shared<ConvBnAct>(&qat(), ConvBnAct::Naming::kSparseml, channels[i], channels[i + 1],
                                                    /*kernel=*/5, strides[i], /*groups=*/1, Act::kRelu));
    }
    classifier = register_module("classifier", std::make_shared<MnistClassifier>(128, c.num_classes));
  }
  torch::Tensor forward(torch::Tensor x) override {
    x = classifier->avgpool->forward(blocks->forward(x));
    return qat().linear(*classifier->fc, x.flatten(1));
  }

 private:
  torch::nn::Sequential blocks{nullptr};
  std::shared_ptr<MnistClassifier> classifier;
};

/// LeNet-5 for 28x28 (padding 2 on conv1 stands in for the original 32x32 input), with ReLU and max
/// pooling: conv1 (6@5x5), conv2 (16@5x5), fc1 (120), fc2 (84), fc3 (classes). Parameter names:
/// conv1.weight/bias, conv2.weight/bias, fc1.weight/bias, fc2.weight/bias, fc3.weight/bias.
class LeNet5 : public Model {
 public:
  explicit LeNet5(const ModelConfig& c) : Model(c) {
    const std::int64_t s = pooled(pooled(c.image_size) - 4);
    conv1 = register_module("conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(c.in_channels, 6, 5).padding(2)));
    conv2 = register_module("conv2", torch::nn::Conv2d(torch::nn::Conv2dOptions(6, 16, 5)));
    fc1 = register_module("fc1", torch::nn::Linear(16 * s * s, 120));
    fc2 = register_module("fc2", torch::nn::Linear(120, 84));
    fc3 = register_module("fc3", torch::nn::Linear(84, c.num_classes));
  }
  torch::Tensor forward(torch::Tensor x) override {
    auto& q = qat();
    torch::Tensor y = q.conv(*conv1, nullptr, x, Act::kRelu);
    x = q.preserve(torch::max_pool2d(y, 2), y);
    y = q.conv(*conv2, nullptr, x, Act::kRelu);
    x = q.preserve(torch::max_pool2d(y, 2), y);
    x = q.linear(*fc1, x.flatten(1), Act::kRelu);
    x = q.linear(*fc2, x, Act::kRelu);
    return q.linear(*fc3, x);
  }

 private:
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr};
  torch::nn::Linear fc1{nullptr}, fc2{nullptr}, fc3{nullptr};
};

}  // namespace

namespace detail {

StatusOr<std::shared_ptr<Model>> make_mnist_cnn(const ModelConfig& config) {
  SPARSIFY_RETURN_IF_ERROR(check_at_least(config, "image_size", config.image_size, 4));
  return std::shared_ptr<Model>(std::make_shared<MnistCnn>(config));
}

StatusOr<std::shared_ptr<Model>> make_mnistnet(const ModelConfig& config) {
  SPARSIFY_RETURN_IF_ERROR(check_at_least(config, "image_size", config.image_size, 4));
  auto model = std::make_shared<MnistNet>(config);
  return std::shared_ptr<Model>(model);
}

StatusOr<std::shared_ptr<Model>> make_lenet5(const ModelConfig& config) {
  SPARSIFY_RETURN_IF_ERROR(check_at_least(config, "image_size", config.image_size, 12));
  return std::shared_ptr<Model>(std::make_shared<LeNet5>(config));
}

}  // namespace detail

}  // namespace sparsify::ml::models
