// Recipe parsing: structure, variables, overrides, modifiers, and the text of every error class.
#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>

#include "sparseml/recipe/recipe.h"

using namespace sparsify;
using namespace sparsify::ml::recipe;

namespace {

Recipe parse_ok(const std::string& yaml, const VariableOverrides& o = {}) {
  StatusOr<Recipe> r = parse_recipe_text(yaml, "t.yaml", o);
  INFO(r.status().to_string());
  REQUIRE(r.ok());
  return std::move(r).value();
}

Status parse_err(const std::string& yaml, const VariableOverrides& o = {}) {
  StatusOr<Recipe> r = parse_recipe_text(yaml, "t.yaml", o);
  REQUIRE_FALSE(r.ok());
  return r.status();
}

const char* kGmp = R"(
num_epochs: 10
modifiers:
  - !EpochRangeModifier
    start_epoch: 0.0
    end_epoch: eval(num_epochs)
  - !GMPruningModifier
    params: ['conv2.0.weight', 're:out.*']
    init_sparsity: 0.05
    final_sparsity: 0.9
    start_epoch: 1
    end_epoch: eval(num_epochs - 3)
    update_frequency: 0.5
    inter_func: linear
    mask_type: block4
)";

}  // namespace

TEST_CASE("a GMP recipe parses into typed modifiers", "[recipe]") {
  Recipe r = parse_ok(kGmp);
  REQUIRE(r.modifiers.size() == 2);
  const Modifier& m = r.modifiers[1];
  CHECK(m.kind == ModifierKind::kGMPruningModifier);
  CHECK(m.loc.to_string() == "t.yaml:7:5");
  CHECK(m.start_epoch == 1.0);
  CHECK(m.end_epoch == 7.0);
  CHECK(m.update_frequency == 0.5);
  CHECK(m.init_sparsity == 0.05);
  CHECK(m.inter_func == InterFunc::kLinear);
  CHECK(m.mask.kind == MaskType::Kind::kBlock);
  CHECK(m.mask.to_string() == "[1,4]");
  REQUIRE(m.targets.size() == 1);
  CHECK(m.targets[0].final_sparsity == 0.9);
  CHECK(m.targets[0].params == std::vector<std::string>{"conv2.0.weight", "re:out.*"});
  CHECK(r.end_epoch() == 10.0);
  CHECK(r.num_epochs() == 10);
  REQUIRE(r.find_variable("num_epochs"));
  CHECK(r.find_variable("num_epochs")->as_int() == 10);
}

TEST_CASE("variables: numbers, strings, lists and eval() in any order", "[recipe]") {
  Recipe r = parse_ok(R"(
end: eval(start + length)
length: eval(max(2, num_epochs // 3) * 1.5)
start: 1
num_epochs: 10
layers: ['a.weight', 'b.weight']
name: pruned
modifiers:
  - !ConstantPruningModifier
    params: eval(layers)
    start_epoch: eval(start)
    end_epoch: eval(end)
)");
  CHECK(r.find_variable("length")->as_number() == 4.5);
  CHECK(r.find_variable("end")->as_number() == 5.5);
  CHECK(r.find_variable("name")->as_string() == "pruned");
  CHECK(r.modifiers[0].targets[0].params == std::vector<std::string>{"a.weight", "b.weight"});
  CHECK(r.modifiers[0].end_epoch == 5.5);
}

TEST_CASE("--recipe-args overrides existing variables only", "[recipe]") {
  auto o = parse_recipe_args(R"({"num_epochs": 5})");
  REQUIRE(o.ok());
  Recipe r = parse_ok(kGmp, *o);
  CHECK(r.modifiers[0].end_epoch == 5.0);
  CHECK(r.modifiers[1].end_epoch == 2.0);

  auto bad = parse_recipe_args(R"({"num_epoch": 5})");
  REQUIRE(bad.ok());
  Status s = parse_err(kGmp, *bad);
  CHECK(s.code() == StatusCode::kNotFound);
  CHECK_THAT(s.message(), Catch::Contains("'num_epoch' is not a variable") && Catch::Contains("variables: num_epochs"));

  CHECK_THAT(parse_recipe_args("{num_epochs: 5").status().message(), Catch::Contains("not valid JSON"));
  CHECK_THAT(parse_recipe_args("[1]").status().message(), Catch::Contains("expected a JSON object"));
}

TEST_CASE("error: unknown key gives file:line:col, a suggestion and the valid keys", "[recipe][errors]") {
  Status s = parse_err(R"(
modifiers:
  - !GMPruningModifier
    params: [w]
    final_sparsty: 0.9
    start_epoch: 0
    end_epoch: 1
)");
  CHECK(s.code() == StatusCode::kInvalidArgument);
  CHECK_THAT(s.message(), Catch::StartsWith("t.yaml:5:5: GMPruningModifier: unknown key 'final_sparsty' "
                                            "(did you mean 'final_sparsity'?); valid keys: params, init_sparsity, final_sparsity"));
}

TEST_CASE("error: wrong type names the key, the expected type and the value", "[recipe][errors]") {
  Status s = parse_err(R"(
modifiers:
  - !SetLearningRateModifier
    learning_rate: fast
)");
  CHECK(s.message() == "t.yaml:4:20: SetLearningRateModifier: 'learning_rate' must be a number, got string 'fast'");
  s = parse_err("modifiers:\n  - !GMPruningModifier\n    params: [w]\n    final_sparsity: 1.5\n    start_epoch: 0\n    end_epoch: 1\n");
  CHECK(s.message() == "t.yaml:4:21: GMPruningModifier: 'final_sparsity' must be in [0, 1], got 1.5");
  s = parse_err("modifiers:\n  - !EpochRangeModifier\n    end_epoch: -2\n");
  CHECK_THAT(s.message(), Catch::Contains("'end_epoch' must be >= -1"));
}

TEST_CASE("error: missing required key", "[recipe][errors]") {
  Status s = parse_err("modifiers:\n  - !GMPruningModifier\n    params: [w]\n    start_epoch: 0\n    end_epoch: 1\n");
  CHECK_THAT(s.message(), Catch::StartsWith("t.yaml:2:5: GMPruningModifier: missing required key 'final_sparsity'"));
}

TEST_CASE("error: unknown modifier lists the known ones", "[recipe][errors]") {
  Status s = parse_err("modifiers:\n  - !GMPrunningModifier\n    params: [w]\n");
  CHECK_THAT(s.message(), Catch::StartsWith("t.yaml:2:5: unknown modifier '!GMPrunningModifier' (did you mean '!GMPruningModifier'?)") &&
                              Catch::Contains("known modifiers: EpochRangeModifier, SetLearningRateModifier"));
  s = parse_err("modifiers:\n  - start_epoch: 1\n");
  CHECK_THAT(s.message(), Catch::Contains("must be a tagged modifier"));
}

TEST_CASE("error: bad YAML carries the position", "[recipe][errors]") {
  Status s = parse_err("modifiers:\n  - !EpochRangeModifier\n    end_epoch: [1, 2\n");
  CHECK(s.code() == StatusCode::kInvalidArgument);
  CHECK_THAT(s.message(), Catch::StartsWith("t.yaml:") && Catch::Contains("invalid YAML"));
  s = parse_err("a: 1\na: 2\nmodifiers: []\n");
  CHECK(s.message() == "t.yaml:2:1: duplicate key 'a'");
}

TEST_CASE("error: eval errors and undefined variables", "[recipe][errors]") {
  Status s = parse_err("modifiers:\n  - !EpochRangeModifier\n    end_epoch: eval(num_epochs)\n");
  CHECK_THAT(s.message(), Catch::StartsWith("t.yaml:3:21: EpochRangeModifier.end_epoch: eval(num_epochs): undefined variable 'num_epochs'"));
  s = parse_err("a: eval(b + 1)\nb: eval(a * 2)\nmodifiers:\n  - !EpochRangeModifier\n    end_epoch: 1\n");
  CHECK_THAT(s.message(), Catch::Contains("variable 'a'") && Catch::Contains("cycle"));
  s = parse_err("a: eval(1 / 0)\nmodifiers:\n  - !EpochRangeModifier\n    end_epoch: eval(a)\n");
  CHECK_THAT(s.message(), Catch::StartsWith("t.yaml:1:") && Catch::Contains("division by zero"));
  s = parse_err("n: 2\nmodifiers:\n  - !EpochRangeModifier\n    end_epoch: eval(n +)\n");
  CHECK_THAT(s.message(), Catch::StartsWith("t.yaml:4:"));
}

TEST_CASE("error: structure", "[recipe][errors]") {
  CHECK_THAT(parse_err("- 1\n- 2\n").message(), Catch::Contains("a recipe must be a YAML map"));
  CHECK_THAT(parse_err("a: 1\n").message(), Catch::Contains("no modifier list"));
  CHECK_THAT(parse_err("modifiers: 3\n").message(), Catch::Contains("'modifiers' must be a list of modifiers"));
  CHECK_THAT(parse_err("modifiers:\n  - !EpochRangeModifier\n    start_epoch: 3\n    end_epoch: 2\n").message(),
             Catch::Contains("end_epoch 2 is before start_epoch 3"));
  CHECK_THAT(parse_err("modifiers:\n  - !GMPruningModifier\n    params: [w]\n    final_sparsity: 0.5\n    start_epoch: 0\n    end_epoch: -1\n").message(),
             Catch::Contains("gradual pruning needs an end"));
  CHECK_THAT(parse_err("modifiers:\n  - !QuantizationModifier\n    start_epoch: 0\n    end_epoch: 3\n").message(),
             Catch::Contains("must be -1 for QuantizationModifier"));
}

TEST_CASE("legacy keys of real recipes are accepted", "[recipe]") {
  Recipe r = parse_ok(R"(
modifiers:
  - !GMPruningModifier
    params: [w]
    init_sparsity: 0.05
    final_sparsity: 0.8
    start_epoch: 0
    end_epoch: 2
    update_frequency: -1
    log_types: __ALL__
    constant_logging: False
    phased: False
    score_type: magnitude
    global_sparsity: True
)");
  CHECK(r.modifiers[0].global_sparsity);
  CHECK(r.modifiers[0].update_frequency == -1.0);
  Status s = parse_err("modifiers:\n  - !GMPruningModifier\n    params: [w]\n    final_sparsity: 0.5\n    start_epoch: 0\n    end_epoch: 1\n    phased: True\n");
  CHECK(s.code() == StatusCode::kUnsupported);
  CHECK_THAT(s.message(), Catch::Contains("phased pruning) is not supported"));
}

TEST_CASE("final_sparsity as a map of sparsity to params", "[recipe]") {
  Recipe r = parse_ok(R"(
modifiers:
  - !GMPruningModifier
    final_sparsity:
      0.8: ['a.weight']
      0.95: ['b.weight', 'c.weight']
    start_epoch: 0
    end_epoch: 2
)");
  REQUIRE(r.modifiers[0].targets.size() == 2);
  CHECK(r.modifiers[0].targets[1].final_sparsity == 0.95);
  CHECK(r.modifiers[0].targets[1].params.size() == 2);
  CHECK_THAT(parse_err("modifiers:\n  - !GMPruningModifier\n    params: [x]\n    final_sparsity: {0.8: [a]}\n    start_epoch: 0\n    end_epoch: 1\n").message(),
             Catch::Contains("must be empty or absent when final_sparsity is a map"));
}

TEST_CASE("mask types", "[recipe]") {
  auto mask = [](const std::string& m) {
    return parse_recipe_text("modifiers:\n  - !MagnitudePruningModifier\n    params: [w]\n    final_sparsity: 0.5\n"
                             "    start_epoch: 0\n    end_epoch: 1\n    mask_type: " + m + "\n", "t.yaml");
  };
  CHECK(mask("unstructured")->modifiers[0].mask.kind == MaskType::Kind::kUnstructured);
  CHECK(mask("[4, 1]")->modifiers[0].mask.to_string() == "[4,1]");
  CHECK(mask("'2:4'")->modifiers[0].mask.to_string() == "2:4");
  CHECK(mask("block")->modifiers[0].mask.to_string() == "[1,4]");
  CHECK_THAT(mask("channels").status().message(), Catch::Contains("'unstructured', 'block4', 'N:M'"));
  CHECK_THAT(mask("'5:4'").status().message(), Catch::Contains("1 <= N <= M"));
}

TEST_CASE("every modifier type parses with SparseML's keys", "[recipe]") {
  Recipe r = parse_ok(R"(
modifiers:
  - !EpochRangeModifier {start_epoch: 0, end_epoch: 20}
  - !SetLearningRateModifier {learning_rate: 0.1, start_epoch: 0}
  - !LearningRateFunctionModifier {lr_func: cyclic_linear, init_lr: 0.1, final_lr: 0.01, start_epoch: 1, end_epoch: 5, cycle_epochs: 2}
  - !LearningRateModifier {lr_class: MultiStepLR, lr_kwargs: {milestones: [8, 6], gamma: 0.5}, init_lr: 0.1, start_epoch: 5}
  - !SetWeightDecayModifier {weight_decay: 0.0001, start_epoch: 2}
  - !GlobalMagnitudePruningModifier {final_sparsity: 0.9, start_epoch: 1, end_epoch: 8, update_frequency: 1}
  - !ConstantPruningModifier {params: __ALL_PRUNABLE__}
  - !QuantizationModifier {start_epoch: 15, submodules: [features], disable_quantization_observer_epoch: 18, freeze_bn_stats_epoch: 17, reduce_range: True, exclude_module_types: [LayerNorm], num_calibration_steps: 100}
  - !DistillationModifier {hardness: 0.7, temperature: 3.0, start_epoch: 0}
)");
  REQUIRE(r.modifiers.size() == 9);
  CHECK(r.modifiers[2].lr.func == "cyclic_linear");
  CHECK(r.modifiers[3].lr.milestones == std::vector<double>{6, 8});
  CHECK(r.modifiers[5].global_sparsity);
  CHECK(r.modifiers[5].targets[0].params == std::vector<std::string>{"__ALL_PRUNABLE__"});
  CHECK(r.modifiers[7].quant.freeze_bn_stats_epoch == 17);
  CHECK(r.modifiers[7].quant.reduce_range);
  CHECK(r.modifiers[7].quant.num_calibration_steps == 100);
  CHECK(r.modifiers[8].hardness == 0.7);
  CHECK_THAT(parse_err("modifiers:\n  - !LearningRateModifier {lr_class: StepLR, init_lr: 0.1}\n").message(),
             Catch::Contains("needs step_size"));
  CHECK_THAT(parse_err("modifiers:\n  - !LearningRateModifier {lr_class: StepLR, init_lr: 0.1, lr_kwargs: {step: 1}}\n").message(),
             Catch::Contains("unknown key 'step' for StepLR; valid keys: step_size, gamma"));
  CHECK_THAT(parse_err("modifiers:\n  - !LearningRateFunctionModifier {lr_func: exp, init_lr: 0.1, final_lr: 0, start_epoch: 0, end_epoch: 1}\n").message(),
             Catch::Contains("unknown value 'exp'; valid values: linear, cosine, cyclic_linear"));
}

TEST_CASE("multi-stage recipes: stage variables shadow globals, epochs are absolute", "[recipe]") {
  Recipe r = parse_ok(R"(
lr: 0.1
dense_stage:
  end: 3
  dense_modifiers:
    - !EpochRangeModifier {start_epoch: 0, end_epoch: eval(end)}
    - !SetLearningRateModifier {learning_rate: eval(lr), start_epoch: 0}
prune_stage:
  end: 10
  lr: 0.01
  pruning_modifiers:
    - !GMPruningModifier {params: [w], final_sparsity: 0.9, start_epoch: 3, end_epoch: eval(end - 2)}
    - !SetLearningRateModifier {learning_rate: eval(lr), start_epoch: 3}
)");
  REQUIRE(r.staged());
  REQUIRE(r.stages.size() == 2);
  CHECK(r.stages[1].name == "prune_stage");
  CHECK(r.modifiers.size() == 4);
  CHECK(r.modifiers[1].lr.learning_rate == 0.1);
  CHECK(r.modifiers[3].lr.learning_rate == 0.01);
  CHECK(r.modifiers[2].stage == "prune_stage");
  CHECK(r.modifiers[2].end_epoch == 8);
  CHECK(r.end_epoch() == 8);
  // Overrides reach stage variables of the same name.
  auto o = parse_recipe_args(R"({"end": 12})");
  Recipe r2 = parse_ok(R"(
s1:
  end: 3
  modifiers:
    - !EpochRangeModifier {start_epoch: 0, end_epoch: eval(end)}
)", *o);
  CHECK(r2.modifiers[0].end_epoch == 12);
  CHECK_THAT(parse_err("modifiers: []\ns1:\n  modifiers: []\n").message(), Catch::Contains("every modifier list belongs to a stage"));
}

TEST_CASE("recipe files: .md front matter keeps real line numbers; bad files", "[recipe]") {
  const std::string md = "/tmp/sparsify_recipe_test.md";
  {
    std::ofstream f(md);
    f << "---\nnum_epochs: 2\nmodifiers:\n  - !EpochRangeModifier\n    end_epoch: eval(num_epochs)\n"
         "  - !SetLearningRateModifier\n    learnin_rate: 0.1\n---\n# Model card\n";
  }
  StatusOr<Recipe> r = parse_recipe_file(md);
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.status().message(), Catch::StartsWith(md + ":7:5: SetLearningRateModifier: unknown key 'learnin_rate'"));
  {
    std::ofstream f(md);
    f << "---\nnum_epochs: 2\nmodifiers:\n  - !EpochRangeModifier\n    end_epoch: eval(num_epochs)\n---\n# Card\n";
  }
  r = parse_recipe_file(md);
  REQUIRE(r.ok());
  CHECK(r->modifiers[0].loc.line == 4);
  {
    std::ofstream f(md);
    f << "# no front matter\n";
  }
  CHECK_THAT(parse_recipe_file(md).status().message(), Catch::Contains("expected YAML front matter"));
  std::remove(md.c_str());
  CHECK(parse_recipe_file("/nonexistent/r.yaml").status().code() == StatusCode::kNotFound);
  CHECK_THAT(parse_recipe_file("/tmp/recipe.txt").status().message(), Catch::Contains("must end in .yaml, .yml or .md"));
}

TEST_CASE("values print as Python's repr", "[recipe]") {
  CHECK(Value::real(10.0).to_string() == "10.0");
  CHECK(Value::real(100.0).to_string() == "100.0");
  CHECK(Value::real(0.1).to_string() == "0.1");
  CHECK(Value::real(0.0005).to_string() == "0.0005");
  CHECK(Value::real(2.5e-05).to_string() == "2.5e-05");
  CHECK(Value::real(1e16).to_string() == "1e+16");
  CHECK(Value::real(-3.25).to_string() == "-3.25");
  CHECK(Value::real(0.82).to_string() == "0.82");
  CHECK(Value::integer(3).to_string() == "3");
  CHECK(Value::list({Value::string("a"), Value::boolean(false)}).to_string() == "['a', False]");
}

#include "sparseml/recipe/emit.h"

TEST_CASE("to_yaml: a resolved recipe parses back to the same modifiers", "[recipe]") {
  for (const char* path : {"recipes/mnist_cnn-pruned90-quant.yaml", "recipes/pytorch-nm-mnist-recipe.yaml"}) {
    auto r = parse_recipe_file(path);
    REQUIRE(r.ok());
    const std::string yaml = to_yaml(*r);
    INFO(yaml);
    auto back = parse_recipe_text(yaml, "resolved.yaml");
    REQUIRE(back.ok());
    REQUIRE(back->modifiers.size() == r->modifiers.size());
    for (size_t i = 0; i < r->modifiers.size(); ++i) {
      CHECK(back->modifiers[i].type_name == r->modifiers[i].type_name);
      CHECK(back->modifiers[i].start_epoch == r->modifiers[i].start_epoch);
      CHECK(back->modifiers[i].end_epoch == r->modifiers[i].end_epoch);
      CHECK(back->modifiers[i].all_params() == r->modifiers[i].all_params());
      for (size_t t = 0; t < r->modifiers[i].targets.size(); ++t)
        CHECK(back->modifiers[i].targets[t].final_sparsity == r->modifiers[i].targets[t].final_sparsity);
    }
    CHECK(back->end_epoch() == r->end_epoch());
  }
  Recipe staged = parse_ok("s1:\n  n: 2\n  m_modifiers:\n    - !EpochRangeModifier {end_epoch: eval(n)}\n"
                           "s2:\n  modifiers:\n    - !SetLearningRateModifier {learning_rate: 0.1, start_epoch: 2}\n");
  auto back = parse_recipe_text(to_yaml(staged), "x.yaml");
  REQUIRE(back.ok());
  CHECK(back->stages.size() == 2);
  CHECK(back->modifiers[1].stage == "s2");
  CHECK(to_yaml(Value::string("it's")) == "'it''s'");
}
