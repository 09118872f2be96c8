// index.json round trips, validation, model cards, and publishing into a zoo directory.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "zoo_client/index.h"
#include "zoo_client/publish.h"
#include "zoo_client/sha256.h"

using namespace sparsify;
using namespace sparsify::zoo;
namespace fs = std::filesystem;

namespace {

fs::path temp_dir(const std::string& name) {
  fs::path d = fs::temp_directory_path() / ("sparsify_zoo_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

void write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << text;
}

}  // namespace

TEST_CASE("sha256 of known strings", "[zoo][index]") {
  CHECK(sha256_string("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256_string("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_CASE("model card front matter", "[zoo][index]") {
  const std::string md =
      "---\ndisplay_name: MNIST CNN 90% pruned, quantized\ndomain: cv\ntask: classification\narchitecture: mnist_cnn\n"
      "train_dataset: mnist\nsparsity: 90%\nquantized: true\naccuracy:\n  top1: 0.991\ntags: [mnist, pruned90]\n---\n# text\n";
  auto card = parse_model_card(md, "model.md");
  REQUIRE(card.ok());
  CHECK(card->display_name == "MNIST CNN 90% pruned, quantized");
  CHECK(card->dataset == "mnist");
  CHECK(*card->sparsity == Approx(0.9));
  CHECK(*card->quantized);
  CHECK(card->accuracy.at("top1") == Approx(0.991));
  CHECK(card->tags.size() == 2);
  CHECK(parse_model_card("no front matter\n", "m.md").ok());
  auto bad = parse_model_card("---\nsparsity: lots\n---\n", "m.md");
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(bad.status().message(), Catch::Contains("sparsity"));
  CHECK_FALSE(parse_model_card("---\nfoo: [\n", "m.md").ok());
}

TEST_CASE("index validation names the model and the field", "[zoo][index]") {
  const std::string sha(64, 'a');
  auto good = parse_index(R"({"version":1,"models":[{"id":"a","stub":"zoo:cv/c/a/p/r/d/n-c","short_stub":"zoo:a-d-n",
      "files":[{"path":"model.onnx","size":3,"sha256":")" + sha + R"("}]}]})", "index.json");
  REQUIRE(good.ok());
  auto s = parse_stub("zoo:a-d-n?recipe_type=x");
  REQUIRE(s.ok());
  REQUIRE(good->find(*s));
  CHECK(good->find(*s)->files[0].size == 3);
  auto round = parse_index(serialize_index(*good), "again");
  REQUIRE(round.ok());
  CHECK(round->models[0].stub == "zoo:cv/c/a/p/r/d/n-c");

  CHECK_THAT(parse_index("{", "i.json").status().message(), Catch::Contains("not valid JSON"));
  CHECK(parse_index(R"({"version":2,"models":[]})", "i.json").status().code() == StatusCode::kUnsupported);
  auto traversal = parse_index(R"({"version":1,"models":[{"id":"a","stub":"zoo:cv/c/a/p/r/d/n-c",
      "files":[{"path":"../etc/passwd","size":3,"sha256":")" + sha + R"("}]}]})", "i.json");
  CHECK_THAT(traversal.status().message(), Catch::Contains("'..'"));
  auto badsha = parse_index(R"({"version":1,"models":[{"id":"a","stub":"zoo:cv/c/a/p/r/d/n-c",
      "files":[{"path":"m","size":3,"sha256":"xyz"}]}]})", "i.json");
  CHECK_THAT(badsha.status().message(), Catch::Contains("64 lower-case hex"));
}

TEST_CASE("publish copies, hashes, reads the card and updates index.json", "[zoo][publish]") {
  const fs::path root = temp_dir("publish");
  const fs::path model = root / "export";
  write(model / "model.onnx", "onnx-bytes");
  write(model / "model.md", "---\ndisplay_name: tiny\nsparsity: 0.9\naccuracy: 0.98\n---\nA tiny model.\n");
  write(model / "recipes/recipe.md", "---\nversion: 1.1.0\n---\n");
  write(model / "recipes/recipe_transfer_learn.md", "---\nversion: 1.1.0\n---\n");
  write(model / "test_data_set_0/input_0.pb", "in");
  write(model / ".hidden", "skip me");
  const std::string stub = "zoo:cv/classification/mnist_cnn/pytorch/sparsify/mnist/pruned90_quant-none";
  auto m = publish_model(model.string(), (root / "zoo").string(), stub);
  REQUIRE(m.ok());
  CHECK(m->short_stub == "zoo:mnist_cnn-mnist-pruned90_quant");
  CHECK(m->files.size() == 5);
  CHECK(m->card.display_name == "tiny");
  CHECK(m->card.architecture == "mnist_cnn");
  CHECK(*m->card.quantized);
  CHECK(m->card.accuracy.at("top1") == Approx(0.98));
  CHECK(m->card.recipe_types == std::vector<std::string>{"original", "transfer_learn"});
  const FileEntry* onnx = m->find_file("model.onnx");
  REQUIRE(onnx);
  CHECK(onnx->sha256 == sha256_string("onnx-bytes"));
  CHECK(fs::exists(root / "zoo/models" / m->id / "test_data_set_0/input_0.pb"));
  CHECK_FALSE(fs::exists(root / "zoo/models" / m->id / ".hidden"));

  auto index = read_zoo_dir_index((root / "zoo").string());
  REQUIRE(index.ok());
  REQUIRE(index->models.size() == 1);
  CHECK(index->models[0].stub == stub);

  auto again = publish_model(model.string(), (root / "zoo").string(), stub);
  REQUIRE_FALSE(again.ok());
  CHECK_THAT(again.status().message(), Catch::Contains("--replace"));
  write(model / "model.onnx", "new-bytes");
  PublishOptions replace;
  replace.replace = true;
  REQUIRE(publish_model(model.string(), (root / "zoo").string(), stub, replace).ok());
  index = read_zoo_dir_index((root / "zoo").string());
  REQUIRE(index->models.size() == 1);
  CHECK(index->models[0].find_file("model.onnx")->sha256 == sha256_string("new-bytes"));
  // No temp or old folders are left behind.
  size_t entries = 0;
  for (const auto& e : fs::directory_iterator(root / "zoo/models")) entries += e.is_directory() ? 1 : 0;
  CHECK(entries == 1);

  auto short_only = publish_model(model.string(), (root / "zoo").string(), "zoo:mnist_cnn-mnist-pruned90");
  CHECK(short_only.status().code() == StatusCode::kInvalidArgument);
  fs::remove_all(root);
}
