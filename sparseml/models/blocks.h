// The named building blocks of the models (ConvBnAct, BasicBlock, Bottleneck, InvertedResidual, EncoderLayer, ...), exported per type.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <torch/nn/module.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/modules/pooling.h>

#include "sparseml/quant/qat.h"

namespace sparsify::ml::models {

// Every block keeps a pointer to its model's QatContext (the model outlives its blocks) and runs
// its convs, linears and adds through it. Member names are the PyTorch attribute names, so
// parameter names match torchvision / SparseML / Hugging Face.

/// Conv2d (no bias) -> BatchNorm2d -> activation. kTorchvision names the children "0", "1", "2"
/// (torchvision's Conv2dNormActivation); kSparseml names them "conv", "bn", "act" (SparseML's _ConvBNRelu).
class ConvBnAct : public torch::nn::Module {
 public:
  enum class Naming : std::uint8_t { kTorchvision, kSparseml };
  ConvBnAct(quant::QatContext* qat, Naming naming, std::int64_t in, std::int64_t out, std::int64_t kernel,
            std::int64_t stride, std::int64_t groups, quant::Act act);
  torch::Tensor forward(torch::Tensor x);

  torch::nn::Conv2d conv{nullptr};
  torch::nn::BatchNorm2d bn{nullptr};
  quant::Act act;

 private:
  quant::QatContext* qat_;
};

/// Sequential(Conv2d(in, out, k, padding=k/2, bias), ReLU, MaxPool2d(2)): children "0", "1", "2"
/// (the SparseML MNIST tutorial model's conv1 and conv2).
class ConvReluPool : public torch::nn::Module {
 public:
  ConvReluPool(quant::QatContext* qat, std::int64_t in, std::int64_t out, std::int64_t kernel);
  torch::Tensor forward(torch::Tensor x);

  torch::nn::Conv2d conv{nullptr};
  torch::nn::MaxPool2d pool{nullptr};

 private:
  quant::QatContext* qat_;
};

/// torchvision ResNet BasicBlock: conv1 3x3 (stride) / bn1 / relu, conv2 3x3 / bn2, add identity
/// (or downsample = Sequential(Conv2d 1x1 stride, BatchNorm2d)), relu.
class BasicBlock : public torch::nn::Module {
 public:
  static constexpr std::int64_t kExpansion = 1;
  BasicBlock(quant::QatContext* qat, std::int64_t in, std::int64_t planes, std::int64_t stride);
  torch::Tensor forward(torch::Tensor x);

  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr}, bn2{nullptr};
  torch::nn::Sequential downsample{nullptr};  // null when the shapes match

 private:
  quant::QatContext* qat_;
};

/// torchvision ResNet Bottleneck (v1.5, stride on the 3x3): conv1 1x1, conv2 3x3 (stride),
/// conv3 1x1 to planes * 4, each with bn1..bn3; add identity or downsample; relu.
class Bottleneck : public torch::nn::Module {
 public:
  static constexpr std::int64_t kExpansion = 4;
  Bottleneck(quant::QatContext* qat, std::int64_t in, std::int64_t planes, std::int64_t stride);
  torch::Tensor forward(torch::Tensor x);

  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr}, conv3{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr}, bn2{nullptr}, bn3{nullptr};
  torch::nn::Sequential downsample{nullptr};

 private:
  quant::QatContext* qat_;
};

/// torchvision MobileNetV2 InvertedResidual: conv = Sequential([ConvBnAct 1x1 expand,] ConvBnAct 3x3
/// depthwise (stride), Conv2d 1x1 project, BatchNorm2d); x + conv(x) when stride 1 and in == out.
class InvertedResidual : public torch::nn::Module {
 public:
  InvertedResidual(quant::QatContext* qat, std::int64_t in, std::int64_t out, std::int64_t stride,
                   std::int64_t expand_ratio);
  torch::Tensor forward(torch::Tensor x);

  std::shared_ptr<ConvBnAct> expand;      // null when expand_ratio == 1
  std::shared_ptr<ConvBnAct> depthwise;
  torch::nn::Conv2d project{nullptr};
  torch::nn::BatchNorm2d project_bn{nullptr};
  bool use_residual = false;

 private:
  quant::QatContext* qat_;
};

/// BERT embeddings: word_embeddings + position_embeddings -> LayerNorm (eps 1e-12). No token-type
/// embeddings (single-segment inputs).
class BertEmbeddings : public torch::nn::Module {
 public:
  BertEmbeddings(quant::QatContext* qat, std::int64_t vocab, std::int64_t max_seq_len, std::int64_t hidden);
  torch::Tensor forward(torch::Tensor ids);

  torch::nn::Embedding word_embeddings{nullptr}, position_embeddings{nullptr};
  torch::nn::LayerNorm norm{nullptr};  // registered as "LayerNorm"

 private:
  quant::QatContext* qat_;
};

/// BERT self-attention projections: query, key, value (Linear hidden -> hidden).
class SelfAttention : public torch::nn::Module {
 public:
  explicit SelfAttention(std::int64_t hidden);
  torch::nn::Linear query{nullptr}, key{nullptr}, value{nullptr};
};

/// dense (Linear) then residual add then LayerNorm (BERT's SelfOutput and Output); the add is named
/// "<path>.add".
class DenseAddNorm : public torch::nn::Module {
 public:
  DenseAddNorm(std::int64_t in, std::int64_t hidden);
  torch::nn::Linear dense{nullptr};
  torch::nn::LayerNorm norm{nullptr};  // registered as "LayerNorm"
};

/// BERT attention: self (SelfAttention) and output (DenseAddNorm).
class Attention : public torch::nn::Module {
 public:
  explicit Attention(std::int64_t hidden);
  std::shared_ptr<SelfAttention> self;
  std::shared_ptr<DenseAddNorm> output;
};

/// BERT intermediate: dense (Linear hidden -> ffn) with GELU.
class Intermediate : public torch::nn::Module {
 public:
  Intermediate(std::int64_t hidden, std::int64_t ffn);
  torch::nn::Linear dense{nullptr};
};

/// One post-norm BERT encoder layer: attention (multi-head, softmax(QK^T / sqrt(d)) V, all positions
/// attend), add & LayerNorm, intermediate GELU FFN, output add & LayerNorm. Children: attention,
/// intermediate, output — so parameters are "encoder.layer.N.attention.self.query.weight" etc.
class EncoderLayer : public torch::nn::Module {
 public:
  EncoderLayer(quant::QatContext* qat, std::int64_t hidden, std::int64_t heads, std::int64_t ffn);
  torch::Tensor forward(torch::Tensor h);

  std::shared_ptr<Attention> attention;
  std::shared_ptr<Intermediate> intermediate;
  std::shared_ptr<DenseAddNorm> output;
  std::int64_t heads;

 private:
  quant::QatContext* qat_;
};

}  // namespace sparsify::ml::models
