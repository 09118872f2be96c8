// bert_encoder: a BERT-style post-norm transformer encoder for sequence classification, with Hugging Face parameter names.
#include <cmath>

#include <torch/torch.h>

#include "sparseml/models/blocks.h"
#include "sparseml/models/models_internal.h"

namespace sparsify::ml::models {

using quant::Act;

namespace {

constexpr double kLayerNormEps = 1e-12;  // BERT's layer_norm_eps

torch::nn::LayerNorm layer_norm(std::int64_t hidden) {
  return torch::nn::LayerNorm(torch::nn::LayerNormOptions({hidden}).eps(kLayerNormEps));
}

}  // namespace

BertEmbeddings::BertEmbeddings(quant::QatContext* qat, std::int64_t vocab, std::int64_t max_seq_len,
                               std::int64_t hidden)
    : qat_(qat) {
  word_embeddings = register_module("word_embeddings", torch::nn::Embedding(vocab, hidden));
  position_embeddings = register_module("position_embeddings", torch::nn::Embedding(max_seq_len, hidden));
  norm = register_module("LayerNorm", layer_norm(hidden));
}

torch::Tensor BertEmbeddings::forward(torch::Tensor ids) {
  TORCH_CHECK(ids.dim() == 2, "bert_encoder: input must be token ids [batch, seq], got rank ", ids.dim());
  TORCH_CHECK(ids.scalar_type() == torch::kLong, "bert_encoder: token ids must be int64");
  const std::int64_t seq = ids.size(1);
  TORCH_CHECK(seq <= position_embeddings->options.num_embeddings(), "bert_encoder: sequence length ", seq,
              " exceeds max_seq_len ", position_embeddings->options.num_embeddings());
  const auto positions = torch::arange(seq, ids.options());
  const torch::Tensor words = qat_->embedding(*word_embeddings, ids);
  const torch::Tensor pos = qat_->embedding(*position_embeddings, positions).unsqueeze(0);
  return norm->forward(qat_->add(*this, words, pos, "add"));
}

SelfAttention::SelfAttention(std::int64_t hidden) {
  query = register_module("query", torch::nn::Linear(hidden, hidden));
  key = register_module("key", torch::nn::Linear(hidden, hidden));
  value = register_module("value", torch::nn::Linear(hidden, hidden));
}

DenseAddNorm::DenseAddNorm(std::int64_t in, std::int64_t hidden) {
  dense = register_module("dense", torch::nn::Linear(in, hidden));
  norm = register_module("LayerNorm", layer_norm(hidden));
}

Attention::Attention(std::int64_t hidden) {
  self = register_module("self", std::make_shared<SelfAttention>(hidden));
  output = register_module("output", std::make_shared<DenseAddNorm>(hidden, hidden));
}

Intermediate::Intermediate(std::int64_t hidden, std::int64_t ffn) {
  dense = register_module("dense", torch::nn::Linear(hidden, ffn));
}

EncoderLayer::EncoderLayer(quant::QatContext* qat, std::int64_t hidden, std::int64_t heads_in, std::int64_t ffn)
    : heads(heads_in), qat_(qat) {
  attention = register_module("attention", std::make_shared<Attention>(hidden));
  intermediate = register_module("intermediate", std::make_shared<Intermediate>(hidden, ffn));
  output = register_module("output", std::make_shared<DenseAddNorm>(ffn, hidden));
}

torch::Tensor EncoderLayer::forward(torch::Tensor h) {
  const std::int64_t batch = h.size(0), seq = h.size(1), hidden = h.size(2), head_dim = hidden / heads;
  // [batch, seq, hidden] -> [batch, heads, seq, head_dim]
  auto split = [&](const torch::Tensor& t) { return t.view({batch, seq, heads, head_dim}).transpose(1, 2); };
  SelfAttention& self = *attention->self;
  const torch::Tensor q = split(qat_->linear(*self.query, h));
  const torch::Tensor k = split(qat_->linear(*self.key, h));
  const torch::Tensor v = split(qat_->linear(*self.value, h));
  const torch::Tensor scores = torch::matmul(q, k.transpose(-1, -2)) / std::sqrt(static_cast<double>(head_dim));
  const torch::Tensor context = torch::matmul(torch::softmax(scores, -1), v).transpose(1, 2).reshape({batch, seq, hidden});

  DenseAddNorm& attn_out = *attention->output;
  const torch::Tensor a = qat_->linear(*attn_out.dense, context);
  const torch::Tensor h1 = attn_out.norm->forward(qat_->add(attn_out, a, h, "add"));

  const torch::Tensor inter = qat_->linear(*intermediate->dense, h1, Act::kGelu);
  const torch::Tensor o = qat_->linear(*output->dense, inter);
  return output->norm->forward(qat_->add(*output, o, h1, "add"));
}

namespace {

/// embeddings (BertEmbeddings), encoder.layer.N (EncoderLayer), classifier (Linear) on token 0.
class BertEncoder : public Model {
 public:
  explicit BertEncoder(const ModelConfig& c) : Model(c) {
    embeddings = register_module("embeddings", std::make_shared<BertEmbeddings>(&qat(), c.vocab_size, c.max_seq_len, c.hidden));
    auto encoder = register_module("encoder", std::make_shared<torch::nn::Module>("BertEncoder"));
    layer = encoder->register_module("layer", torch::nn::ModuleList());
    for (std::int64_t i = 0; i < c.num_layers; ++i) {
      auto l = std::make_shared<EncoderLayer>(&qat(), c.hidden, c.heads, c.ffn);
      layer->push_back(l);
      layers_.push_back(l);
    }
    classifier = register_module("classifier", torch::nn::Linear(c.hidden, c.num_classes));
    // BERT's init: N(0, 0.02) for linear and embedding weights, zero biases, LayerNorm 1 / 0.
    torch::NoGradGuard no_grad;
    for (auto& m : modules(/*include_self=*/false)) {
      if (auto* lin = m->as<torch::nn::Linear>()) {
        lin->weight.normal_(0.0, 0.02);
        lin->bias.zero_();
      } else if (auto* emb = m->as<torch::nn::Embedding>()) {
        emb->weight.normal_(0.0, 0.02);
      } else if (auto* ln = m->as<torch::nn::LayerNorm>()) {
        ln->weight.fill_(1.0);
        ln->bias.zero_();
      }
    }
  }
  torch::Tensor forward(torch::Tensor ids) override {
    torch::Tensor h = embeddings->forward(ids);
    for (auto& l : layers_) h = l->forward(h);
    return qat().linear(*classifier, h.select(1, 0));
  }
  std::vector<std::int64_t> input_shape(std::int64_t batch) const override { return {batch, config().max_seq_len}; }
  torch::ScalarType input_dtype() const override { return torch::kLong; }

 private:
  std::shared_ptr<BertEmbeddings> embeddings;
  torch::nn::ModuleList layer{nullptr};
  std::vector<std::shared_ptr<EncoderLayer>> layers_;
  torch::nn::Linear classifier{nullptr};
};

}  // namespace

namespace detail {

StatusOr<std::shared_ptr<Model>> make_bert_encoder(const ModelConfig& c) {
  SPARSIFY_RETURN_IF_ERROR(check_at_least(c, "vocab_size", c.vocab_size, 1));
  SPARSIFY_RETURN_IF_ERROR(check_at_least(c, "max_seq_len", c.max_seq_len, 1));
  SPARSIFY_RETURN_IF_ERROR(check_at_least(c, "num_layers", c.num_layers, 1));
  SPARSIFY_RETURN_IF_ERROR(check_at_least(c, "heads", c.heads, 1));
  SPARSIFY_RETURN_IF_ERROR(check_at_least(c, "hidden", c.hidden, c.heads));
  SPARSIFY_RETURN_IF_ERROR(check_at_least(c, "ffn", c.ffn, 1));
  if (c.hidden % c.heads != 0) {
    return invalid_argument(c.arch, ": hidden (", c.hidden, ") must be a multiple of heads (", c.heads, ")");
  }
  return std::shared_ptr<Model>(std::make_shared<BertEncoder>(c));
}

}  // namespace detail

}  // namespace sparsify::ml::models
