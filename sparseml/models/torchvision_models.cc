// torchvision-compatible ResNet-18/50 and MobileNetV2: same module tree, parameter names, shapes and init.
#include <torch/torch.h>

#include "sparseml/models/blocks.h"
#include "sparseml/models/models_internal.h"

namespace sparsify::ml::models {

using quant::Act;

namespace {

torch::nn::Conv2d conv3x3(std::int64_t in, std::int64_t out, std::int64_t stride) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 3).stride(stride).padding(1).bias(false));
}

torch::nn::Conv2d conv1x1(std::int64_t in, std::int64_t out, std::int64_t stride) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 1).stride(stride).bias(false));
}

// Sequential(Conv2d 1x1, BatchNorm2d) when the identity needs reshaping, else null.
torch::nn::Sequential make_downsample(std::int64_t in, std::int64_t out, std::int64_t stride) {
  if (stride == 1 && in == out) return torch::nn::Sequential(nullptr);
  return torch::nn::Sequential(conv1x1(in, out, stride), torch::nn::BatchNorm2d(out));
}

// The identity branch: x, or downsample's conv+bn through the QAT hook.
torch::Tensor shortcut(quant::QatContext& qat, const torch::nn::Sequential& downsample, const torch::Tensor& x) {
  if (!downsample) return x;
  return qat.conv(*downsample->ptr(0)->as<torch::nn::Conv2d>(), downsample->ptr(1)->as<torch::nn::BatchNorm2d>(), x);
}

}  // namespace

BasicBlock::BasicBlock(quant::QatContext* qat, std::int64_t in, std::int64_t planes, std::int64_t stride) : qat_(qat) {
  conv1 = register_module("conv1", conv3x3(in, planes, stride));
  bn1 = register_module("bn1", torch::nn::BatchNorm2d(planes));
  conv2 = register_module("conv2", conv3x3(planes, planes, 1));
  bn2 = register_module("bn2", torch::nn::BatchNorm2d(planes));
  downsample = make_downsample(in, planes * kExpansion, stride);
  if (downsample) register_module("downsample", downsample);
}

torch::Tensor BasicBlock::forward(torch::Tensor x) {
  torch::Tensor out = qat_->conv(*conv1, bn1.get(), x, Act::kRelu);
  out = qat_->conv(*conv2, bn2.get(), out);
  return qat_->add(*this, out, shortcut(*qat_, downsample, x), "add", Act::kRelu);
}

Bottleneck::Bottleneck(quant::QatContext* qat, std::int64_t in, std::int64_t planes, std::int64_t stride) : qat_(qat) {
  conv1 = register_module("conv1", conv1x1(in, planes, 1));
  bn1 = register_module("bn1", torch::nn::BatchNorm2d(planes));
  conv2 = register_module("conv2", conv3x3(planes, planes, stride));
  bn2 = register_module("bn2", torch::nn::BatchNorm2d(planes));
  conv3 = register_module("conv3", conv1x1(planes, planes * kExpansion, 1));
  bn3 = register_module("bn3", torch::nn::BatchNorm2d(planes * kExpansion));
  downsample = make_downsample(in, planes * kExpansion, stride);
  if (downsample) register_module("downsample", downsample);
}

torch::Tensor Bottleneck::forward(torch::Tensor x) {
  torch::Tensor out = qat_->conv(*conv1, bn1.get(), x, Act::kRelu);
  out = qat_->conv(*conv2, bn2.get(), out, Act::kRelu);
  out = qat_->conv(*conv3, bn3.get(), out);
  return qat_->add(*this, out, shortcut(*qat_, downsample, x), "add", Act::kRelu);
}

InvertedResidual::InvertedResidual(quant::QatContext* qat, std::int64_t in, std::int64_t out, std::int64_t stride,
                                   std::int64_t expand_ratio)
    : qat_(qat) {
  const std::int64_t hidden = in * expand_ratio;
  use_residual = stride == 1 && in == out;
  auto conv = register_module("conv", torch::nn::Sequential());
  using Naming = ConvBnAct::Naming;
  if (expand_ratio != 1) {
    expand = std::make_shared<ConvBnAct>(qat, Naming::kTorchvision, in, hidden, 1, 1, 1, Act::kRelu6);
    conv->push_back(expand);
  }
  depthwise = std::make_shared<ConvBnAct>(qat, Naming::kTorchvision, hidden, hidden, 3, stride, hidden, Act::kRelu6);
  conv->push_back(depthwise);
  project = conv1x1(hidden, out, 1);
  conv->push_back(project);
  project_bn = torch::nn::BatchNorm2d(out);
  conv->push_back(project_bn);
}

torch::Tensor InvertedResidual::forward(torch::Tensor x) {
  torch::Tensor y = expand ? expand->forward(x) : x;
  y = qat_->conv(*project, project_bn.get(), depthwise->forward(y));
  return use_residual ? qat_->add(*this, x, y, "add") : y;
}

namespace {

/// torchvision ResNet: conv1 7x7/2, bn1, relu, maxpool 3x3/2, layer1..layer4, avgpool, fc.
template <class Block>
class ResNet : public Model {
 public:
  ResNet(const ModelConfig& c, const std::int64_t (&blocks)[4]) : Model(c) {
    conv1 = register_module("conv1", torch::nn::Conv2d(
                                         torch::nn::Conv2dOptions(c.in_channels, 64, 7).stride(2).padding(3).bias(false)));
    bn1 = register_module("bn1", torch::nn::BatchNorm2d(64));
    maxpool = register_module("maxpool", torch::nn::MaxPool2d(torch::nn::MaxPool2dOptions(3).stride(2).padding(1)));
    std::int64_t in = 64;
    const std::int64_t planes[] = {64, 128, 256, 512};
    for (int i = 0; i < 4; ++i) {
      auto layer = torch::nn::Sequential();
      for (std::int64_t b = 0; b < blocks[i]; ++b) {
        const std::int64_t stride = (b == 0 && i > 0) ? 2 : 1;
        layer->push_back(std::make_shared<Block>(&qat(), in, planes[i], stride));
        in = planes[i] * Block::kExpansion;
      }
      layers[i] = register_module("layer" + std::to_string(i + 1), layer);
    }
    avgpool = register_module("avgpool", torch::nn::AdaptiveAvgPool2d(1));
    fc = register_module("fc", torch::nn::Linear(512 * Block::kExpansion, c.num_classes));
    detail::init_conv_bn(*this);
  }
  torch::Tensor forward(torch::Tensor x) override {
    const torch::Tensor y = qat().conv(*conv1, bn1.get(), x, Act::kRelu);
    x = qat().preserve(maxpool->forward(y), y);
    for (auto& layer : layers) x = layer->forward(x);
    return qat().linear(*fc, avgpool->forward(x).flatten(1));
  }

 private:
  torch::nn::Conv2d conv1{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr};
  torch::nn::MaxPool2d maxpool{nullptr};
  torch::nn::Sequential layers[4] = {nullptr, nullptr, nullptr, nullptr};
  torch::nn::AdaptiveAvgPool2d avgpool{nullptr};
  torch::nn::Linear fc{nullptr};
};

/// torchvision MobileNetV2 (width 1.0): features = [ConvBnAct 3x3/2 -> 32, 17 InvertedResidual,
/// ConvBnAct 1x1 -> 1280], global average pool, classifier = Sequential(Dropout(0.2), Linear).
class MobileNetV2 : public Model {
 public:
  explicit MobileNetV2(const ModelConfig& c) : Model(c) {
    using Naming = ConvBnAct::Naming;
    features = register_module("features", torch::nn::Sequential());
    features->push_back(std::make_shared<ConvBnAct>(&qat(), Naming::kTorchvision, c.in_channels, 32, 3, 2, 1, Act::kRelu6));
    // t (expansion), c (channels), n (repeats), s (first stride): torchvision's inverted_residual_setting.
    const std::int64_t setting[7][4] = {{1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 3, 2}, {6, 64, 4, 2},
                                        {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
    std::int64_t in = 32;
    for (const auto& row : setting) {
      for (std::int64_t i = 0; i < row[2]; ++i) {
        features->push_back(std::make_shared<InvertedResidual>(&qat(), in, row[1], i == 0 ? row[3] : 1, row[0]));
        in = row[1];
      }
    }
    features->push_back(std::make_shared<ConvBnAct>(&qat(), Naming::kTorchvision, in, 1280, 1, 1, 1, Act::kRelu6));
    dropout = torch::nn::Dropout(0.2);
    fc = torch::nn::Linear(1280, c.num_classes);
    register_module("classifier", torch::nn::Sequential(dropout, fc));
    detail::init_conv_bn(*this);
    torch::NoGradGuard no_grad;
    torch::nn::init::normal_(fc->weight, 0.0, 0.01);
    fc->bias.zero_();
  }
  torch::Tensor forward(torch::Tensor x) override {
    x = torch::adaptive_avg_pool2d(features->forward(x), {1, 1}).flatten(1);
    return qat().linear(*fc, dropout->forward(x));
  }

 private:
  torch::nn::Sequential features{nullptr};
  torch::nn::Dropout dropout{nullptr};
  torch::nn::Linear fc{nullptr};
};

Status check_image(const ModelConfig& config) {
  return detail::check_at_least(config, "image_size", config.image_size, 32);
}

}  // namespace

namespace detail {

StatusOr<std::shared_ptr<Model>> make_resnet18(const ModelConfig& config) {
  SPARSIFY_RETURN_IF_ERROR(check_image(config));
  const std::int64_t blocks[4] = {2, 2, 2, 2};
  return std::shared_ptr<Model>(std::make_shared<ResNet<BasicBlock>>(config, blocks));
}

StatusOr<std::shared_ptr<Model>> make_resnet50(const ModelConfig& config) {
  SPARSIFY_RETURN_IF_ERROR(check_image(config));
  const std::int64_t blocks[4] = {3, 4, 6, 3};
  return std::shared_ptr<Model>(std::make_shared<ResNet<Bottleneck>>(config, blocks));
}

StatusOr<std::shared_ptr<Model>> make_mobilenet_v2(const ModelConfig& config) {
  SPARSIFY_RETURN_IF_ERROR(check_image(config));
  return std::shared_ptr<Model>(std::make_shared<MobileNetV2>(config));
}

}  // namespace detail

}  // namespace sparsify::ml::models
