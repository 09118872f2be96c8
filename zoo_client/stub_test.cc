// Stub parsing: long and short forms, options, and errors that show the grammar.
#include <catch2/catch.hpp>

#include "zoo_client/stub.h"

using namespace sparsify;
using namespace sparsify::zoo;

TEST_CASE("long stubs parse into every field", "[zoo][stub]") {
  auto s = parse_stub("zoo:cv/classification/resnet_v1-50/pytorch/sparseml/imagenet/pruned95_quant-none");
  REQUIRE(s.ok());
  CHECK_FALSE(s->short_form);
  CHECK(s->domain == "cv");
  CHECK(s->sub_domain == "classification");
  CHECK(s->architecture == "resnet_v1");
  CHECK(s->sub_architecture == "50");
  CHECK(s->framework == "pytorch");
  CHECK(s->repo == "sparseml");
  CHECK(s->dataset == "imagenet");
  CHECK(s->training_scheme.empty());
  CHECK(s->sparse_name == "pruned95_quant");
  CHECK(s->sparse_category == "none");
  CHECK(s->sparse_target.empty());
  CHECK(s->path() == "cv/classification/resnet_v1-50/pytorch/sparseml/imagenet/pruned95_quant-none");
  CHECK(s->derived_short_name() == "zoo:resnet_v1-50-imagenet-pruned95_quant");
  CHECK(s->derived_id() == "cv--classification--resnet_v1-50--pytorch--sparseml--imagenet--pruned95_quant-none");
}

TEST_CASE("optional parts: training scheme and sparse target", "[zoo][stub]") {
  auto s = parse_stub("zoo:nlp/question_answering/bert-base/pytorch/huggingface/squad-augmented/pruned90-aggressive-deepsparse");
  REQUIRE(s.ok());
  CHECK(s->architecture == "bert");
  CHECK(s->sub_architecture == "base");
  CHECK(s->dataset == "squad");
  CHECK(s->training_scheme == "augmented");
  CHECK(s->sparse_target == "deepsparse");
  CHECK(s->name() == "zoo:nlp/question_answering/bert-base/pytorch/huggingface/squad-augmented/pruned90-aggressive-deepsparse");
}

TEST_CASE("short stubs: ARCH-DATASET-SPARSE_TAG, architecture may hold '-'", "[zoo][stub]") {
  auto s = parse_stub("zoo:mnist_cnn-mnist-pruned90_quant");
  REQUIRE(s.ok());
  CHECK(s->short_form);
  CHECK(s->architecture == "mnist_cnn");
  CHECK(s->dataset == "mnist");
  CHECK(s->sparse_tag == "pruned90_quant");
  CHECK(s->name() == "zoo:mnist_cnn-mnist-pruned90_quant");
  auto r = parse_stub("zoo:resnet_v1-50-imagenet-pruned95");
  REQUIRE(r.ok());
  CHECK(r->architecture == "resnet_v1-50");
  CHECK(r->dataset == "imagenet");
}

TEST_CASE("query options: recipe_type (alias recipe) and checkpoint", "[zoo][stub]") {
  auto s = parse_stub("zoo:mnist_cnn-mnist-pruned90_quant?recipe_type=transfer_learn");
  REQUIRE(s.ok());
  CHECK(s->option("recipe_type") == "transfer_learn");
  CHECK(s->name() == "zoo:mnist_cnn-mnist-pruned90_quant");
  CHECK(s->to_string() == "zoo:mnist_cnn-mnist-pruned90_quant?recipe_type=transfer_learn");
  auto a = parse_stub("zoo:cv/classification/mnist_cnn/pytorch/sparsify/mnist/pruned90-none?recipe=original&checkpoint=best");
  REQUIRE(a.ok());
  CHECK(a->option("recipe_type") == "original");
  CHECK(a->option("checkpoint") == "best");
  CHECK(is_stub("zoo:x"));
  CHECK_FALSE(is_stub("recipes/x.yaml"));
}

TEST_CASE("malformed stubs are invalid_argument errors that show the grammar", "[zoo][stub]") {
  struct Case { const char* text; const char* says; };
  const Case cases[] = {
      {"cv/classification/resnet_v1-50/pytorch/sparseml/imagenet/pruned95-none", "does not start with 'zoo:'"},
      {"zoo:", "nothing follows 'zoo:'"},
      {"zoo:cv/classification/resnet_v1-50/pytorch/imagenet/pruned95-none", "7 '/'-separated parts, this one has 6"},
      {"zoo:cv/classification/resnet_v1-50/pytorch/sparseml/imagenet/pruned95", "SPARSE_NAME-SPARSE_CATEGORY"},
      {"zoo:cv/classification/resnet_v1-50/pytorch/sparseml/imagenet/a-b-c-d", "SPARSE_NAME-SPARSE_CATEGORY"},
      {"zoo:cv//resnet_v1-50/pytorch/sparseml/imagenet/pruned95-none", "SUB_DOMAIN is empty"},
      {"zoo:cv/classification/resnet v1/pytorch/sparseml/imagenet/pruned95-none", "has the character ' '"},
      {"zoo:cv/classification/-50/pytorch/sparseml/imagenet/pruned95-none", "ARCH is empty"},
      {"zoo:cv/classification/resnet/pytorch/sparseml/../pruned95-none", "DATASET is '..'"},
      {"zoo:mnist_cnn-mnist", "at least 3"},
      {"zoo:mnist_cnn--pruned90", "DATASET is empty"},
      {"zoo:mnist_cnn-mnist-pruned90?", "nothing follows '?'"},
      {"zoo:mnist_cnn-mnist-pruned90?recipe_type", "is not key=value"},
      {"zoo:mnist_cnn-mnist-pruned90?color=red", "unknown option 'color'"},
      {"zoo:mnist_cnn-mnist-pruned90?recipe_type=", "recipe_type is empty"},
      {"zoo:mnist_cnn-mnist-pruned90?recipe=a&recipe_type=b", "given twice"},
      {"zoo:mnist_cnn-mnist-pruned90?recipe_type=../../etc", "has the character '/'"},
  };
  for (const Case& c : cases) {
    INFO(c.text);
    auto s = parse_stub(c.text);
    REQUIRE_FALSE(s.ok());
    CHECK(s.status().code() == StatusCode::kInvalidArgument);
    CHECK_THAT(s.status().message(), Catch::Contains(c.says));
    CHECK_THAT(s.status().message(), Catch::Contains("zoo:DOMAIN/SUB_DOMAIN/ARCH[-SUB_ARCH]/FRAMEWORK/REPO/"));
    CHECK_THAT(s.status().message(), Catch::Contains("zoo:ARCH-DATASET-SPARSE_TAG"));
  }
}
