// Manager implementation: recipe schedule -> optimizer options, pruning masks and QAT state per step.
#include "sparseml/train/manager.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "sparseml/pruning/mask.h"
#include "sparseml/recipe/schedule.h"

namespace sparsify::ml {

using recipe::Modifier;
using recipe::ModifierCategory;
using recipe::ModifierKind;

namespace {

// One pruned parameter of one modifier target.
struct MaskedParam {
  std::string name;
  torch::Tensor param;  // shares storage with the model's parameter
  torch::Tensor mask;   // undefined while no mask applies
};

// A pruning modifier bound to the model.
struct PruningBinding {
  const Modifier* modifier = nullptr;
  size_t index = 0;                          // position in the recipe
  std::vector<std::vector<MaskedParam>> targets;  // per PruneTarget
  recipe::UpdateSchedule schedule;
  bool active = false;
};

bool is_prunable_module(torch::nn::Module& m) {
  return dynamic_cast<torch::nn::Conv1dImpl*>(&m) || dynamic_cast<torch::nn::Conv2dImpl*>(&m) ||
         dynamic_cast<torch::nn::Conv3dImpl*>(&m) || dynamic_cast<torch::nn::LinearImpl*>(&m) ||
         dynamic_cast<torch::nn::ConvTranspose2dImpl*>(&m);
}

void set_weight_decay(torch::optim::OptimizerParamGroup& group, double wd) {
  auto& o = group.options();
  if (auto* sgd = dynamic_cast<torch::optim::SGDOptions*>(&o)) sgd->weight_decay(wd);
  else if (auto* adam = dynamic_cast<torch::optim::AdamOptions*>(&o)) adam->weight_decay(wd);
  else if (auto* adamw = dynamic_cast<torch::optim::AdamWOptions*>(&o)) adamw->weight_decay(wd);
  else if (auto* rms = dynamic_cast<torch::optim::RMSpropOptions*>(&o)) rms->weight_decay(wd);
  else if (auto* ada = dynamic_cast<torch::optim::AdagradOptions*>(&o)) ada->weight_decay(wd);
}

}  // namespace

std::vector<recipe::ParamInfo> describe_module_parameters(torch::nn::Module& model) {
  std::vector<recipe::ParamInfo> out;
  std::map<std::string, bool> prunable;
  // include_self=false: named_modules on the root needs shared_from_this, and a user's model may
  // live on the stack.
  if (is_prunable_module(model)) prunable["weight"] = true;
  for (const auto& item : model.named_modules("", /*include_self=*/false)) {
    if (is_prunable_module(*item.value())) prunable[item.key() + ".weight"] = true;
  }
  for (const auto& p : model.named_parameters(/*recurse=*/true)) {
    recipe::ParamInfo info;
    info.name = p.key();
    info.shape = p.value().sizes().vec();
    info.prunable = prunable.count(p.key()) > 0;
    out.push_back(std::move(info));
  }
  return out;
}

struct Manager::Impl {
  recipe::Recipe recipe;
  torch::optim::Optimizer* optimizer = nullptr;
  QuantizationControl* quant = nullptr;
  std::int64_t spe = 1;
  std::int64_t step = 0;
  double base_lr = 0.0;
  double base_wd = 0.0;
  double lr = 0.0;
  bool has_lr = false, has_wd = false;
  std::vector<PruningBinding> pruning;
  recipe::QuantState quant_state;  // what has been applied so far

  // Recomputes the masks of a binding for the targets due at `step`.
  void update_masks(PruningBinding& b) {
    torch::NoGradGuard no_grad;
    const Modifier& m = *b.modifier;
    const auto targets = recipe::pruning_targets_at(m, step, spe);
    if (!targets) {
      for (auto& group : b.targets)
        for (auto& p : group) p.mask = torch::Tensor();
      b.active = false;
      return;
    }
    b.active = true;
    for (size_t t = 0; t < b.targets.size(); ++t) {
      auto& group = b.targets[t];
      const double sparsity = (*targets)[t];
      if (m.kind == ModifierKind::kConstantPruningModifier) {
        // Hold the zeros the weights have when the modifier starts.
        for (auto& p : group)
          if (!p.mask.defined()) p.mask = (p.param != 0).to(p.param.dtype());
        continue;
      }
      if (m.global_sparsity) {
        std::vector<torch::Tensor> weights;
        for (auto& p : group) weights.push_back(p.param.detach());
        std::vector<torch::Tensor> masks = pruning::global_magnitude_masks(weights, sparsity, m.mask);
        for (size_t i = 0; i < group.size(); ++i) group[i].mask = masks[i];
      } else {
        for (auto& p : group) p.mask = pruning::magnitude_mask(p.param.detach(), sparsity, m.mask);
      }
    }
  }

  void apply_masks() {
    torch::NoGradGuard no_grad;
    for (auto& b : pruning)
      for (auto& group : b.targets)
        for (auto& p : group)
          if (p.mask.defined()) p.param.mul_(p.mask);
  }

  Status apply_quant() {
    if (!quant) return Status();
    const recipe::QuantState want = recipe::quantization_at(recipe, step, spe);
    if (want.active && !quant_state.active) {
      const Modifier* first = nullptr;
      for (const auto& m : recipe.modifiers)
        if (m.kind == ModifierKind::kQuantizationModifier && (!first || m.start_epoch < first->start_epoch)) first = &m;
      SPARSIFY_RETURN_IF_ERROR(quant->enable_quantization(first->quant));
      quant_state.active = true;
    }
    if (want.observers_disabled && !quant_state.observers_disabled) {
      quant->disable_observers();
      quant_state.observers_disabled = true;
    }
    if (want.bn_frozen && !quant_state.bn_frozen) {
      quant->freeze_bn_stats();
      quant_state.bn_frozen = true;
    }
    return Status();
  }
};

Manager::Manager(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Manager::~Manager() = default;

StatusOr<std::unique_ptr<Manager>> Manager::create(const recipe::Recipe& recipe, torch::nn::Module& model,
                                                   torch::optim::Optimizer& optimizer, std::int64_t steps_per_epoch,
                                                   QuantizationControl* quant, std::vector<recipe::ParamInfo> params) {
  try {
    return create_impl(recipe, model, optimizer, steps_per_epoch, quant, std::move(params));
  } catch (const c10::Error& e) {
    return internal_error("Manager::create: LibTorch: ", e.what_without_backtrace());
  }
}

StatusOr<std::unique_ptr<Manager>> Manager::create_impl(const recipe::Recipe& recipe, torch::nn::Module& model,
                                                        torch::optim::Optimizer& optimizer, std::int64_t steps_per_epoch,
                                                        QuantizationControl* quant, std::vector<recipe::ParamInfo> params) {
  if (steps_per_epoch < 1) return invalid_argument("steps_per_epoch must be >= 1, got ", steps_per_epoch);
  if (optimizer.param_groups().empty()) return invalid_argument("the optimizer has no parameter groups");
  auto impl = std::make_unique<Impl>();
  impl->recipe = recipe;
  impl->optimizer = &optimizer;
  impl->quant = quant;
  impl->spe = steps_per_epoch;
  impl->base_lr = optimizer.param_groups()[0].options().get_lr();
  impl->lr = impl->base_lr;
  if (params.empty()) params = describe_module_parameters(model);
  std::map<std::string, torch::Tensor> by_name;
  for (const auto& p : model.named_parameters(/*recurse=*/true)) by_name[p.key()] = p.value();
  std::string prunable;
  for (const auto& p : params)
    if (p.prunable) prunable += (prunable.empty() ? "" : ", ") + p.name;

  const recipe::Recipe& r = impl->recipe;  // bindings point into the manager's own copy
  for (size_t i = 0; i < r.modifiers.size(); ++i) {
    const Modifier& m = r.modifiers[i];
    switch (m.category()) {
      case ModifierCategory::kLearningRate: impl->has_lr = true; break;
      case ModifierCategory::kWeightDecay: impl->has_wd = true; break;
      case ModifierCategory::kQuantization:
        if (!quant)
          return Status(StatusCode::kUnsupported, str_cat(m.describe(), ": this model does not support quantization-aware training"));
        break;
      case ModifierCategory::kDistillation:
        return Status(StatusCode::kUnsupported, str_cat(m.describe(), ": training with a distillation teacher is not supported yet"));
      case ModifierCategory::kPruning: {
        PruningBinding b;
        b.modifier = &m;
        b.index = i;
        b.schedule = recipe::make_update_schedule(m, steps_per_epoch);
        for (const auto& target : m.targets) {
          std::vector<MaskedParam> group;
          for (const auto& pattern : target.params) {
            const auto names = recipe::match_params({pattern}, params);
            if (names.empty()) {
              return not_found(m.describe(), ": params entry '", pattern,
                               "' matches no parameter of the model; prunable parameters: ", prunable.empty() ? "(none)" : prunable);
            }
            for (const auto& n : names) {
              auto it = by_name.find(n);
              if (it == by_name.end()) return not_found(m.describe(), ": parameter '", n, "' is not in the model");
              if (std::none_of(group.begin(), group.end(), [&](const MaskedParam& q) { return q.name == n; }))
                group.push_back({n, it->second, torch::Tensor()});
            }
          }
          b.targets.push_back(std::move(group));
        }
        impl->pruning.push_back(std::move(b));
        break;
      }
      case ModifierCategory::kSchedule: break;
    }
  }
  if (impl->has_wd) {
    auto& o = optimizer.param_groups()[0].options();
    if (auto* sgd = dynamic_cast<torch::optim::SGDOptions*>(&o)) impl->base_wd = sgd->weight_decay();
    else if (auto* adam = dynamic_cast<torch::optim::AdamOptions*>(&o)) impl->base_wd = adam->weight_decay();
  }
  return std::unique_ptr<Manager>(new Manager(std::move(impl)));
}

Status Manager::begin_step() {
  try {
    return begin_step_impl();
  } catch (const c10::Error& e) {
    return internal_error("Manager::begin_step at step ", impl_->step, ": LibTorch: ", e.what_without_backtrace());
  }
}

Status Manager::begin_step_impl() {
  Impl& s = *impl_;
  if (s.has_lr) {
    s.lr = recipe::learning_rate_at(s.recipe, s.step, s.spe, s.base_lr);
    for (auto& g : s.optimizer->param_groups()) g.options().set_lr(s.lr);
  }
  if (s.has_wd) {
    const double wd = recipe::weight_decay_at(s.recipe, s.step, s.spe, s.base_wd);
    for (auto& g : s.optimizer->param_groups()) set_weight_decay(g, wd);
  }
  bool changed = false;
  for (auto& b : s.pruning) {
    const bool fires = b.schedule.fires_at(s.step);
    const bool ended = !b.modifier->leave_enabled && b.schedule.end_step >= 0 && s.step == b.schedule.end_step + 1;
    if (fires || ended) {
      s.update_masks(b);
      changed = true;
    }
  }
  if (changed) s.apply_masks();
  return s.apply_quant();
}

void Manager::mask_gradients() {
  torch::NoGradGuard no_grad;
  for (auto& b : impl_->pruning)
    for (auto& group : b.targets)
      for (auto& p : group)
        if (p.mask.defined() && p.param.grad().defined()) p.param.mutable_grad().mul_(p.mask);
}

void Manager::end_step() {
  impl_->apply_masks();
  ++impl_->step;
}

void Manager::finalize() { impl_->apply_masks(); }

std::int64_t Manager::step() const { return impl_->step; }
double Manager::epoch() const { return static_cast<double>(impl_->step) / static_cast<double>(impl_->spe); }
std::int64_t Manager::steps_per_epoch() const { return impl_->spe; }
int Manager::num_epochs() const { return impl_->recipe.num_epochs(); }
std::int64_t Manager::total_steps() const { return static_cast<std::int64_t>(num_epochs()) * impl_->spe; }
double Manager::learning_rate() const { return impl_->lr; }
bool Manager::quantization_active() const { return impl_->quant_state.active; }

std::vector<ParamPruningState> Manager::pruning_state() const {
  std::vector<ParamPruningState> out;
  std::map<std::string, size_t> seen;
  for (const auto& b : impl_->pruning) {
    const auto targets = recipe::pruning_targets_at(*b.modifier, std::max<std::int64_t>(0, impl_->step - 1), impl_->spe);
    for (size_t t = 0; t < b.targets.size(); ++t)
      for (const auto& p : b.targets[t]) {
        ParamPruningState st;
        st.name = p.name;
        st.shape = p.param.sizes().vec();
        st.masked = p.mask.defined();
        st.target = targets && (*targets)[t] >= 0 ? (*targets)[t] : 0.0;
        st.sparsity = p.param.numel() ? (p.param == 0).sum().item<double>() / static_cast<double>(p.param.numel()) : 0.0;
        auto it = seen.find(p.name);
        if (it == seen.end()) {
          seen[p.name] = out.size();
          out.push_back(st);
        } else if (st.masked) {
          out[it->second] = st;  // the modifier holding a mask now wins
        }
      }
  }
  return out;
}

double Manager::overall_pruned_sparsity() const {
  double zeros = 0, total = 0;
  for (const auto& st : pruning_state()) {
    double n = 1;
    for (auto d : st.shape) n *= static_cast<double>(d);
    zeros += st.sparsity * n;
    total += n;
  }
  return total > 0 ? zeros / total : 0.0;
}

void Manager::save(torch::serialize::OutputArchive& archive) const {
  archive.write("step", torch::tensor(impl_->step, torch::kInt64));
  for (const auto& b : impl_->pruning)
    for (size_t t = 0; t < b.targets.size(); ++t)
      for (const auto& p : b.targets[t])
        if (p.mask.defined()) archive.write(str_cat("mask.", b.index, ".", t, ".", p.name), p.mask, /*is_buffer=*/true);
}

Status Manager::load(torch::serialize::InputArchive& archive) {
  Impl& s = *impl_;
  torch::Tensor step;
  if (!archive.try_read("step", step)) return invalid_argument("manager state has no 'step'");
  s.step = step.item<std::int64_t>();
  for (auto& b : s.pruning) {
    for (size_t t = 0; t < b.targets.size(); ++t)
      for (auto& p : b.targets[t]) {
        torch::Tensor mask;
        if (archive.try_read(str_cat("mask.", b.index, ".", t, ".", p.name), mask, /*is_buffer=*/true)) {
          if (!mask.sizes().equals(p.param.sizes()))
            return invalid_argument("mask of '", p.name, "' has shape ", mask.sizes(), ", the parameter ", p.param.sizes());
          p.mask = mask;
          b.active = true;
        }
      }
  }
  // Quantization state due at this step must exist before the model's observer buffers load.
  return s.apply_quant();
}

}  // namespace sparsify::ml
