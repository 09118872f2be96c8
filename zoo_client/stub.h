// Zoo stubs: the names of zoo models ("zoo:cv/classification/resnet_v1-50/...") parsed into fields.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "engine/base/status.h"

namespace sparsify::zoo {

/// The stub grammar, as printed in every parse error (and in docs/zoo.md).
extern const char kStubGrammar[];

/// A parsed stub. Long form fills every field it names; the short form fills architecture,
/// dataset and sparse_tag only. `query` holds the options after '?' (recipe_type, checkpoint).
struct Stub {
  bool short_form = false;
  std::string domain, sub_domain, architecture, sub_architecture, framework, repo;
  std::string dataset, training_scheme, sparse_name, sparse_category, sparse_target;
  std::string sparse_tag;  // short form: the text after the dataset (e.g. "pruned90_quant")
  std::map<std::string, std::string> query;

  /// The stub without "zoo:" and without the query: "cv/classification/.../pruned95_quant-none".
  std::string path() const;
  /// "zoo:" + path() (no query): the key models are looked up by.
  std::string name() const { return "zoo:" + path(); }
  /// name() plus "?k=v&..." when there is a query.
  std::string to_string() const;
  /// The short stub this long stub abbreviates: "zoo:ARCH[-SUB_ARCH]-DATASET-SPARSE_NAME".
  std::string derived_short_name() const;
  /// A file-system-safe model id: the long path with '/' replaced by "--".
  std::string derived_id() const;
  /// The value of a query option, or "" when absent.
  std::string option(const std::string& key) const;
};

/// True when `text` starts with "zoo:" (what other commands test before treating an argument as a stub).
bool is_stub(std::string_view text);

/// Parses a stub. Errors are invalid_argument and name the part that is wrong plus the grammar.
StatusOr<Stub> parse_stub(std::string_view text);

}  // namespace sparsify::zoo
