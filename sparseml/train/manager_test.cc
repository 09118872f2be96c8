// Manager: schedule-driven masks at given steps, gradient masking, lr, errors, save/load equivalence;
// and a short integration run of the trainer on a slice of real MNIST.
// LibTorch defines CHECK too: include it first and drop its macro before Catch2.
#include <torch/torch.h>
#undef CHECK
#include <catch2/catch.hpp>

#include <filesystem>

#include "sparseml/recipe/recipe.h"
#include "sparseml/train/manager.h"
#include "sparseml/train/trainer.h"

using namespace sparsify;
using namespace sparsify::ml;

namespace {

struct Net : torch::nn::Module {
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
  Net() {
    fc1 = register_module("fc1", torch::nn::Linear(64, 32));
    fc2 = register_module("fc2", torch::nn::Linear(32, 4));
  }
  torch::Tensor forward(const torch::Tensor& x) { return fc2->forward(torch::relu(fc1->forward(x))); }
};

recipe::Recipe parse(const std::string& yaml) {
  auto r = recipe::parse_recipe_text(yaml, "t.yaml");
  INFO(r.status().to_string());
  REQUIRE(r.ok());
  return std::move(r).value();
}

double zeros(const torch::Tensor& t) { return (t == 0).sum().item<double>() / static_cast<double>(t.numel()); }

// Runs `steps` SGD steps of the manager's schedule on fixed random data.
void run_steps(Net& net, torch::optim::Optimizer& opt, Manager& m, std::int64_t steps, std::uint64_t data_seed = 7) {
  torch::manual_seed(data_seed);
  auto x = torch::randn({steps, 16, 64});
  auto y = torch::randint(0, 4, {steps, 16});
  for (std::int64_t s = 0; s < steps; ++s) {
    REQUIRE(m.begin_step().ok());
    auto loss = torch::nn::functional::cross_entropy(net.forward(x[s]), y[s]);
    opt.zero_grad();
    loss.backward();
    m.mask_gradients();
    opt.step();
    m.end_step();
  }
}

const char* kRecipe = R"(
modifiers:
  - !EpochRangeModifier {start_epoch: 0, end_epoch: 4}
  - !SetLearningRateModifier {learning_rate: 0.05, start_epoch: 0}
  - !LearningRateFunctionModifier {lr_func: linear, init_lr: 0.05, final_lr: 0.01, start_epoch: 3, end_epoch: 4}
  - !GMPruningModifier {params: [fc1.weight], init_sparsity: 0.1, final_sparsity: 0.8, start_epoch: 1, end_epoch: 3,
                        update_frequency: 0.5, inter_func: linear}
)";

}  // namespace

TEST_CASE("masks follow the schedule at the steps it names and stay exact under momentum", "[manager]") {
  torch::manual_seed(1);
  Net net;
  torch::optim::SGD opt(net.parameters(), torch::optim::SGDOptions(0.1).momentum(0.9));
  auto m = Manager::create(parse(kRecipe), net, opt, /*steps_per_epoch=*/4);
  REQUIRE(m.ok());
  Manager& mg = **m;
  CHECK(mg.total_steps() == 16);
  run_steps(net, opt, mg, 4);                 // epoch 0: dense
  CHECK(zeros(net.fc1->weight) == 0.0);
  run_steps(net, opt, mg, 1);                 // step 4 = epoch 1: init_sparsity, round(0.1 * 2048) zeros
  CHECK(zeros(net.fc1->weight) == std::llround(0.1 * 2048) / 2048.0);
  run_steps(net, opt, mg, 1);                 // step 5: held
  CHECK(zeros(net.fc1->weight) == std::llround(0.1 * 2048) / 2048.0);
  run_steps(net, opt, mg, 1);                 // step 6 = epoch 1.5: x = 0.25 -> 0.275
  CHECK(zeros(net.fc1->weight) == Approx(std::llround(0.275 * 2048) / 2048.0));
  run_steps(net, opt, mg, 9);                 // steps 7..15: through the end (epoch 3) and beyond
  CHECK(zeros(net.fc1->weight) == Approx(0.8).margin(1.0 / 2048));
  CHECK(zeros(net.fc2->weight) == 0.0);
  CHECK(mg.learning_rate() == Approx(0.05 + 0.75 * (0.01 - 0.05)));  // last step (15) is epoch 3.75
  CHECK(opt.param_groups()[0].options().get_lr() == Approx(mg.learning_rate()));
  auto st = mg.pruning_state();
  REQUIRE(st.size() == 1);
  CHECK(st[0].name == "fc1.weight");
  CHECK(st[0].target == Approx(0.8));
}

TEST_CASE("params that match nothing are an error listing the prunable names", "[manager]") {
  Net net;
  torch::optim::SGD opt(net.parameters(), 0.1);
  auto m = Manager::create(parse("modifiers:\n  - !GMPruningModifier {params: [conv1.weight], final_sparsity: 0.5, start_epoch: 0, end_epoch: 1}\n"),
                           net, opt, 10);
  REQUIRE_FALSE(m.ok());
  CHECK(m.status().code() == StatusCode::kNotFound);
  CHECK_THAT(m.status().message(), Catch::Contains("'conv1.weight' matches no parameter of the model; prunable parameters: fc1.weight, fc2.weight"));
  auto q = Manager::create(parse("modifiers:\n  - !QuantizationModifier {start_epoch: 0}\n"), net, opt, 10);
  CHECK(q.status().code() == StatusCode::kUnsupported);
}

TEST_CASE("ConstantPruningModifier holds existing zeros; global magnitude counts across params", "[manager]") {
  torch::manual_seed(2);
  Net net;
  {
    torch::NoGradGuard g;
    net.fc1->weight.masked_fill_(torch::rand_like(net.fc1->weight) < 0.3, 0.0);
  }
  const auto before = (net.fc1->weight == 0).clone();
  torch::optim::SGD opt(net.parameters(), torch::optim::SGDOptions(0.1).momentum(0.9));
  auto m = Manager::create(parse("modifiers:\n  - !ConstantPruningModifier {params: [fc1.weight], start_epoch: 0, end_epoch: -1}\n"
                                 "  - !EpochRangeModifier {end_epoch: 2}\n"), net, opt, 5);
  REQUIRE(m.ok());
  run_steps(net, opt, **m, 10);
  CHECK(torch::equal((net.fc1->weight == 0), before));

  Net net2;
  torch::optim::SGD opt2(net2.parameters(), 0.1);
  auto g = Manager::create(parse("modifiers:\n  - !GlobalMagnitudePruningModifier {params: [fc1.weight, fc2.weight], final_sparsity: 0.5, "
                                 "init_sparsity: 0.5, start_epoch: 0, end_epoch: 0}\n  - !EpochRangeModifier {end_epoch: 1}\n"),
                           net2, opt2, 3);
  REQUIRE(g.ok());
  run_steps(net2, opt2, **g, 3);
  const double total_zeros = (net2.fc1->weight == 0).sum().item<double>() + (net2.fc2->weight == 0).sum().item<double>();
  CHECK(total_zeros == std::llround(0.5 * (2048 + 128)));
}

TEST_CASE("save at step k and load into a fresh run continues identically", "[manager]") {
  torch::set_num_threads(1);
  auto make = [](Net& net) { return std::make_unique<torch::optim::SGD>(net.parameters(), torch::optim::SGDOptions(0.1).momentum(0.9)); };
  torch::manual_seed(3);
  Net a;
  auto opt_a = make(a);
  auto ma = Manager::create(parse(kRecipe), a, *opt_a, 4).value();
  run_steps(a, *opt_a, *ma, 16);

  torch::manual_seed(3);
  Net b;
  auto opt_b = make(b);
  auto mb = Manager::create(parse(kRecipe), b, *opt_b, 4).value();
  run_steps(b, *opt_b, *mb, 16);  // reference for determinism
  CHECK(torch::equal(a.fc1->weight, b.fc1->weight));

  torch::manual_seed(3);
  Net c;
  auto opt_c = make(c);
  auto mc = Manager::create(parse(kRecipe), c, *opt_c, 4).value();
  // Steps 0..8 on the first 9 slices of the data, then save.
  torch::manual_seed(7);
  auto x = torch::randn({16, 16, 64});
  auto y = torch::randint(0, 4, {16, 16});
  auto step = [&](Net& net, torch::optim::Optimizer& opt, Manager& m, std::int64_t s) {
    REQUIRE(m.begin_step().ok());
    auto loss = torch::nn::functional::cross_entropy(net.forward(x[s]), y[s]);
    opt.zero_grad();
    loss.backward();
    m.mask_gradients();
    opt.step();
    m.end_step();
  };
  for (std::int64_t s = 0; s < 9; ++s) step(c, *opt_c, *mc, s);
  torch::serialize::OutputArchive net_ar, opt_ar, man_ar;
  c.save(net_ar);
  opt_c->save(opt_ar);
  mc->save(man_ar);
  const std::string dir = std::filesystem::temp_directory_path() / "sparsify_manager_test";
  std::filesystem::create_directories(dir);
  net_ar.save_to(dir + "/net.pt");
  opt_ar.save_to(dir + "/opt.pt");
  man_ar.save_to(dir + "/man.pt");

  torch::manual_seed(99);  // different init: everything must come from the checkpoint
  Net d;
  auto opt_d = make(d);
  auto md = Manager::create(parse(kRecipe), d, *opt_d, 4).value();
  torch::serialize::InputArchive man_in, net_in, opt_in;
  man_in.load_from(dir + "/man.pt");
  REQUIRE(md->load(man_in).ok());
  net_in.load_from(dir + "/net.pt");
  d.load(net_in);
  opt_in.load_from(dir + "/opt.pt");
  opt_d->load(opt_in);
  CHECK(md->step() == 9);
  for (std::int64_t s = 9; s < 16; ++s) step(d, *opt_d, *md, s);
  CHECK(torch::equal(d.fc1->weight, a.fc1->weight));
  CHECK(torch::equal(d.fc2->weight, a.fc2->weight));
  std::filesystem::remove_all(dir);
}
