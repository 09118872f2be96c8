// Reference Einsum: explicit and implicit outputs, ellipsis broadcasting, repeated labels
// (diagonals), evaluated by iterating over every label combination.
#include <map>

#include "engine/ops/op_util.h"

namespace sparsify::engine {
namespace {

// Labels per operand and for the output; '.' stands for one ellipsis dim each.
struct EinsumSpec {
  std::vector<std::string> inputs;
  std::string output;
  std::map<char, std::int64_t> extent;
};

Status parse_einsum(const OpContext& ctx, EinsumSpec* spec) {
  std::string eq;
  for (char c : ctx.attr_string("equation", "")) {
    if (c != ' ') eq += c;
  }
  const auto arrow = eq.find("->");
  const std::string lhs = eq.substr(0, arrow);
  std::vector<std::string> terms;
  std::size_t start = 0;
  while (true) {
    const auto comma = lhs.find(',', start);
    terms.push_back(lhs.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (terms.size() != ctx.num_inputs()) return ctx.error("equation '", eq, "' has ", terms.size(), " operands, node has ", ctx.num_inputs());
  std::size_t ellipsis_rank = 0;
  // Ellipsis dims are named by characters '0'..'9' (not valid labels) from the right.
  auto expand = [&](const std::string& term, std::size_t rank, std::string* out) -> Status {
    const auto dots = term.find("...");
    if (dots == std::string::npos) {
      *out = term;
      return Status();
    }
    const std::size_t named = term.size() - 3;
    if (rank < named) return ctx.error("operand rank ", rank, " is below its labels in '", term, "'");
    const std::size_t e = rank - named;
    ellipsis_rank = std::max(ellipsis_rank, e);
    std::string mid;
    for (std::size_t i = 0; i < e; ++i) mid += static_cast<char>('0' + (ellipsis_rank > 10 ? 0 : 10 - e + i));
    *out = term.substr(0, dots) + mid + term.substr(dots + 3);
    return Status();
  };
  for (std::size_t i = 0; i < terms.size(); ++i) {
    std::string labels;
    SPARSIFY_RETURN_IF_ERROR(expand(terms[i], ctx.input(i).rank(), &labels));
    if (labels.size() != ctx.input(i).rank()) return ctx.error("operand ", i, " has rank ", ctx.input(i).rank(), ", labels '", terms[i], "'");
    if (ellipsis_rank > 10) return ctx.unsupported_error("more than 10 ellipsis dims are not supported");
    for (std::size_t d = 0; d < labels.size(); ++d) {
      const std::int64_t n = ctx.input(i).dim(d);
      auto [it, inserted] = spec->extent.emplace(labels[d], n);
      if (!inserted && it->second != n) {
        if (it->second == 1 && labels[d] >= '0' && labels[d] <= '9') it->second = n;  // ellipsis broadcast
        else if (!(n == 1 && labels[d] >= '0' && labels[d] <= '9')) return ctx.error("label '", labels[d], "' has extents ", it->second, " and ", n);
      }
    }
    spec->inputs.push_back(labels);
  }
  std::string ell;
  for (std::size_t i = 0; i < ellipsis_rank; ++i) ell += static_cast<char>('0' + 10 - ellipsis_rank + i);
  if (arrow != std::string::npos) {
    std::string rhs = eq.substr(arrow + 2);
    const auto dots = rhs.find("...");
    spec->output = dots == std::string::npos ? rhs : rhs.substr(0, dots) + ell + rhs.substr(dots + 3);
  } else {  // implicit: ellipsis dims, then labels used once, alphabetically
    std::map<char, int> count;
    for (const std::string& t : spec->inputs) for (char c : t) ++count[c];
    spec->output = ell;
    for (const auto& [c, n] : count) {
      if (n == 1 && !(c >= '0' && c <= '9')) spec->output += c;
    }
  }
  for (char c : spec->output) {
    if (!spec->extent.count(c)) return ctx.error("output label '", c, "' is not in any operand");
  }
  return Status();
}

}  // namespace

Status prepare_einsum(OpContext& ctx) {
  EinsumSpec spec;
  SPARSIFY_RETURN_IF_ERROR(parse_einsum(ctx, &spec));
  for (std::size_t i = 1; i < ctx.num_inputs(); ++i) {
    if (ctx.input(i).dtype() != ctx.input(0).dtype()) return ctx.error("operand types differ");
  }
  Dims out;
  for (char c : spec.output) out.push_back(spec.extent[c]);
  ctx.set_output(0, ctx.input(0).dtype(), out);
  return Status();
}

Status run_einsum(OpContext& ctx) {
  EinsumSpec spec;
  SPARSIFY_RETURN_IF_ERROR(parse_einsum(ctx, &spec));
  // All labels: output labels first (outer), then summed ones.
  std::string all = spec.output;
  for (const auto& [c, n] : spec.extent) {
    if (all.find(c) == std::string::npos) all += c;
  }
  Dims extents;
  for (char c : all) extents.push_back(spec.extent[c]);
  std::vector<std::vector<double>> vals;
  std::vector<Dims> strides;  // per operand, stride of each label in `all` (0 if absent or broadcast)
  for (std::size_t i = 0; i < spec.inputs.size(); ++i) {
    vals.push_back(tensor_to_doubles(ctx.input(i)));
    const Dims own = strides_of(ctx.input(i).dims());
    Dims s(all.size(), 0);
    for (std::size_t d = 0; d < spec.inputs[i].size(); ++d) {
      if (ctx.input(i).dim(d) == 1 && spec.extent[spec.inputs[i][d]] != 1) continue;
      s[all.find(spec.inputs[i][d])] += own[d];  // repeated labels add up: a diagonal
    }
    strides.push_back(s);
  }
  const std::int64_t out_n = ctx.output(0).numel();
  const std::int64_t total = dims_numel(extents);
  const std::int64_t inner = out_n == 0 ? 0 : total / std::max<std::int64_t>(out_n, 1);
  std::vector<double> result(static_cast<std::size_t>(out_n), 0.0);
  Dims c;
  for (std::int64_t k = 0; k < total; ++k) {
    unravel(k, extents, c);
    double prod = 1;
    for (std::size_t i = 0; i < vals.size(); ++i) {
      std::int64_t off = 0;
      for (std::size_t d = 0; d < all.size(); ++d) off += c[d] * strides[i][d];
      prod *= vals[i][off];
    }
    result[k / std::max<std::int64_t>(inner, 1)] += prod;
  }
  return dispatch<kTypesNumeric | kTypesHalf>(ctx.output(0).dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* o = ctx.output(0).data<T>();
    for (std::size_t i = 0; i < result.size(); ++i) o[i] = from_double<T>(result[i]);
    return Status();
  });
}

}  // namespace sparsify::engine
