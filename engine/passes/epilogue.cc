// Epilogue decoding (node attributes written by the fusion passes) and the reference application.
#include "engine/passes/epilogue.h"

#include <algorithm>
#include <cmath>

#include "engine/kernels/vmath/family.h"
#include "engine/passes/pass.h"

namespace sparsify::engine {

const char* fused_act_name(FusedAct act) {
  switch (act) {
    case FusedAct::kNone: return "none";
    case FusedAct::kRelu: return "Relu";
    case FusedAct::kClip: return "Clip";
    case FusedAct::kLeakyRelu: return "LeakyRelu";
    case FusedAct::kSigmoid: return "Sigmoid";
    case FusedAct::kTanh: return "Tanh";
    case FusedAct::kHardSigmoid: return "HardSigmoid";
    case FusedAct::kGelu: return "Gelu";
  }
  return "none";
}

FusedAct fused_act_from_op(const std::string& op_type) {
  for (FusedAct a : {FusedAct::kRelu, FusedAct::kClip, FusedAct::kLeakyRelu, FusedAct::kSigmoid,
                       FusedAct::kTanh, FusedAct::kHardSigmoid, FusedAct::kGelu}) {
    if (op_type == fused_act_name(a)) return a;
  }
  return FusedAct::kNone;
}

std::string Epilogue::describe() const {
  std::string s = matmul_bias ? "bias" : "";
  if (residual) s += s.empty() ? "residual" : "+residual";
  if (act == FusedAct::kNone) return s;
  if (!s.empty()) s += "+";
  s += fused_act_name(act);
  if (act == FusedAct::kClip) s += str_cat("[", alpha, ",", beta, "]");
  if (act == FusedAct::kLeakyRelu) s += str_cat("(", alpha, ")");
  if (act == FusedAct::kHardSigmoid) s += str_cat("(", alpha, ",", beta, ")");
  return s;
}

Epilogue read_epilogue(const Node& node) {
  Epilogue ep;
  if (const Attribute* a = node.find_attribute(kAttrActivation)) ep.act = fused_act_from_op(a->s);
  if (const Attribute* p = node.find_attribute(kAttrActivationParams)) {
    if (!p->floats.empty()) ep.alpha = p->floats[0];
    if (p->floats.size() > 1) ep.beta = p->floats[1];
  }
  if (const Attribute* b = node.find_attribute(kAttrMatMulBias)) ep.matmul_bias = b->i != 0;
  if (const Attribute* r = node.find_attribute(kAttrResidual)) ep.residual = r->i != 0;
  return ep;
}

void apply_activation(const Epilogue& ep, float* y, std::int64_t n) {
  switch (ep.act) {
    case FusedAct::kNone: return;
    case FusedAct::kRelu:
      for (std::int64_t i = 0; i < n; ++i) y[i] = y[i] > 0.0f ? y[i] : 0.0f;
      return;
    case FusedAct::kClip:
      for (std::int64_t i = 0; i < n; ++i) y[i] = std::min(std::max(y[i], ep.alpha), ep.beta);
      return;
    case FusedAct::kLeakyRelu:
      for (std::int64_t i = 0; i < n; ++i) y[i] = y[i] >= 0.0f ? y[i] : y[i] * ep.alpha;
      return;
    case FusedAct::kSigmoid:
      for (std::int64_t i = 0; i < n; ++i) y[i] = 1.0f / (1.0f + std::exp(-y[i]));
      return;
    case FusedAct::kTanh:
      for (std::int64_t i = 0; i < n; ++i) y[i] = std::tanh(y[i]);
      return;
    case FusedAct::kHardSigmoid:
      for (std::int64_t i = 0; i < n; ++i) y[i] = std::min(1.0f, std::max(0.0f, ep.alpha * y[i] + ep.beta));
      return;
    case FusedAct::kGelu:
      for (std::int64_t i = 0; i < n; ++i) {
        const double v = y[i];
        y[i] = static_cast<float>(0.5 * v * (1.0 + std::erf(v * 0.70710678118654752440)));
      }
      return;
  }
}

void add_residual(float* y, const float* r, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) y[i] += r[i];
}

void apply_activation(const Epilogue& ep, float* y, std::int64_t n, Isa isa) {
  if (ep.act == FusedAct::kGelu) {
    if (n > 0) select_f32_vmath(isa).gelu(y, y, static_cast<std::size_t>(n));
    return;
  }
  apply_activation(ep, y, n);
}

void add_bias_rows(float* y, const float* bias, std::int64_t rows, std::int64_t cols) {
  for (std::int64_t r = 0; r < rows; ++r) {
    float* row = y + r * cols;
    for (std::int64_t c = 0; c < cols; ++c) row[c] += bias[c];
  }
}

}  // namespace sparsify::engine
