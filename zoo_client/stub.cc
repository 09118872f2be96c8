// Stub parsing: SparseZoo's long stub grammar, a short form, and '?key=value' options.
#include "zoo_client/stub.h"

#include <vector>

namespace sparsify::zoo {

const char kStubGrammar[] =
    "stubs are zoo:DOMAIN/SUB_DOMAIN/ARCH[-SUB_ARCH]/FRAMEWORK/REPO/DATASET[-TRAINING_SCHEME]/"
    "SPARSE_NAME-SPARSE_CATEGORY[-SPARSE_TARGET] (e.g. zoo:cv/classification/resnet_v1-50/pytorch/sparseml/"
    "imagenet/pruned95_quant-none) or the short form zoo:ARCH-DATASET-SPARSE_TAG (e.g. "
    "zoo:mnist_cnn-mnist-pruned90_quant); each part is letters, digits, '_' or '.'; options follow '?' as "
    "key=value pairs joined by '&': recipe_type=NAME (alias recipe=NAME), checkpoint=NAME";

namespace {

constexpr std::string_view kPrefix = "zoo:";
// The query keys a stub may carry; "recipe" is SparseZoo's later name for recipe_type.
constexpr const char* kQueryKeys[] = {"recipe_type", "recipe", "checkpoint"};

bool is_word_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.';
}

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == sep) {
      out.emplace_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  return out;
}

Status bad(std::string_view text, const std::string& what) {
  return invalid_argument("invalid zoo stub '", text, "': ", what, "; ", kStubGrammar);
}

// Checks one word of a stub ("resnet_v1", "50"): non-empty, only word characters.
Status check_word(std::string_view text, const char* part, const std::string& word) {
  if (word.empty()) return bad(text, str_cat(part, " is empty"));
  if (word == "." || word == "..") return bad(text, str_cat(part, " is '", word, "'"));
  for (char c : word) {
    if (!is_word_char(c)) return bad(text, str_cat(part, " '", word, "' has the character '", c, "'"));
  }
  return Status::ok_status();
}

// Splits "A[-B]" at the first '-' into (A, B); both checked.
Status split_optional(std::string_view text, const std::string& seg, const char* first_name, const char* second_name,
                      std::string* first, std::string* second) {
  const size_t dash = seg.find('-');
  *first = seg.substr(0, dash);
  *second = dash == std::string::npos ? "" : seg.substr(dash + 1);
  SPARSIFY_RETURN_IF_ERROR(check_word(text, first_name, *first));
  if (dash != std::string::npos) SPARSIFY_RETURN_IF_ERROR(check_word(text, second_name, *second));
  return Status::ok_status();
}

Status parse_query(std::string_view text, std::string_view query, Stub* stub) {
  if (query.empty()) return bad(text, "nothing follows '?'");
  for (const std::string& pair : split(query, '&')) {
    const size_t eq = pair.find('=');
    if (eq == std::string::npos) return bad(text, str_cat("option '", pair, "' is not key=value"));
    const std::string key = pair.substr(0, eq), value = pair.substr(eq + 1);
    bool known = false;
    for (const char* k : kQueryKeys) known = known || key == k;
    if (!known) return bad(text, str_cat("unknown option '", key, "' (valid: recipe_type, recipe, checkpoint)"));
    SPARSIFY_RETURN_IF_ERROR(check_word(text, key.c_str(), value));
    const std::string canonical = key == "recipe" ? "recipe_type" : key;
    if (stub->query.count(canonical)) return bad(text, str_cat("option '", canonical, "' is given twice"));
    stub->query[canonical] = value;
  }
  return Status::ok_status();
}

Status parse_long(std::string_view text, const std::vector<std::string>& segs, Stub* s) {
  if (segs.size() != 7) {
    return bad(text, str_cat("a long stub has 7 '/'-separated parts, this one has ", segs.size()));
  }
  SPARSIFY_RETURN_IF_ERROR(check_word(text, "DOMAIN", s->domain = segs[0]));
  SPARSIFY_RETURN_IF_ERROR(check_word(text, "SUB_DOMAIN", s->sub_domain = segs[1]));
  SPARSIFY_RETURN_IF_ERROR(split_optional(text, segs[2], "ARCH", "SUB_ARCH", &s->architecture, &s->sub_architecture));
  SPARSIFY_RETURN_IF_ERROR(check_word(text, "FRAMEWORK", s->framework = segs[3]));
  SPARSIFY_RETURN_IF_ERROR(check_word(text, "REPO", s->repo = segs[4]));
  SPARSIFY_RETURN_IF_ERROR(split_optional(text, segs[5], "DATASET", "TRAINING_SCHEME", &s->dataset, &s->training_scheme));
  const std::vector<std::string> tag = split(segs[6], '-');
  if (tag.size() < 2 || tag.size() > 3) {
    return bad(text, str_cat("the last part '", segs[6], "' must be SPARSE_NAME-SPARSE_CATEGORY[-SPARSE_TARGET]"));
  }
  SPARSIFY_RETURN_IF_ERROR(check_word(text, "SPARSE_NAME", s->sparse_name = tag[0]));
  SPARSIFY_RETURN_IF_ERROR(check_word(text, "SPARSE_CATEGORY", s->sparse_category = tag[1]));
  if (tag.size() == 3) SPARSIFY_RETURN_IF_ERROR(check_word(text, "SPARSE_TARGET", s->sparse_target = tag[2]));
  s->sparse_tag = segs[6];
  return Status::ok_status();
}

// Short form ARCH-DATASET-SPARSE_TAG: the last '-' part is the sparse tag, the one before it the
// dataset, everything before that the architecture (which may itself hold '-', as in resnet_v1-50).
Status parse_short(std::string_view text, const std::string& body, Stub* s) {
  const std::vector<std::string> parts = split(body, '-');
  if (parts.size() < 3) {
    return bad(text, "a short stub has at least 3 '-'-separated parts (ARCH-DATASET-SPARSE_TAG)");
  }
  for (size_t i = 0; i < parts.size(); ++i) {
    const char* what = i + 1 == parts.size() ? "SPARSE_TAG" : i + 2 == parts.size() ? "DATASET" : "ARCH";
    SPARSIFY_RETURN_IF_ERROR(check_word(text, what, parts[i]));
  }
  s->short_form = true;
  s->architecture = parts[0];
  for (size_t i = 1; i + 2 < parts.size(); ++i) s->architecture += "-" + parts[i];
  s->dataset = parts[parts.size() - 2];
  s->sparse_tag = parts.back();
  return Status::ok_status();
}

}  // namespace

bool is_stub(std::string_view text) { return text.substr(0, kPrefix.size()) == kPrefix; }

StatusOr<Stub> parse_stub(std::string_view text) {
  if (!is_stub(text)) return bad(text, "it does not start with 'zoo:'");
  std::string_view body = text.substr(kPrefix.size());
  Stub stub;
  const size_t q = body.find('?');
  if (q != std::string_view::npos) {
    SPARSIFY_RETURN_IF_ERROR(parse_query(text, body.substr(q + 1), &stub));
    body = body.substr(0, q);
  }
  if (body.empty()) return bad(text, "nothing follows 'zoo:'");
  if (body.find('/') != std::string_view::npos) {
    SPARSIFY_RETURN_IF_ERROR(parse_long(text, split(body, '/'), &stub));
  } else {
    SPARSIFY_RETURN_IF_ERROR(parse_short(text, std::string(body), &stub));
  }
  return stub;
}

std::string Stub::path() const {
  if (short_form) return architecture + "-" + dataset + "-" + sparse_tag;
  std::string p = domain + "/" + sub_domain + "/" + architecture;
  if (!sub_architecture.empty()) p += "-" + sub_architecture;
  p += "/" + framework + "/" + repo + "/" + dataset;
  if (!training_scheme.empty()) p += "-" + training_scheme;
  p += "/" + sparse_name + "-" + sparse_category;
  if (!sparse_target.empty()) p += "-" + sparse_target;
  return p;
}

std::string Stub::to_string() const {
  std::string s = name();
  char sep = '?';
  for (const auto& [k, v] : query) {
    s += sep + k + "=" + v;
    sep = '&';
  }
  return s;
}

std::string Stub::derived_short_name() const {
  if (short_form) return name();
  std::string arch = architecture + (sub_architecture.empty() ? "" : "-" + sub_architecture);
  return "zoo:" + arch + "-" + dataset + "-" + sparse_name;
}

std::string Stub::derived_id() const {
  std::string id;
  for (char c : path()) {
    if (c == '/') id += "--";
    else id += c;
  }
  return id;
}

std::string Stub::option(const std::string& key) const {
  auto it = query.find(key);
  return it == query.end() ? "" : it->second;
}

}  // namespace sparsify::zoo
