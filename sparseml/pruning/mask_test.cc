// Tests for magnitude masks (exact counts, ties, blocks, N:M, global) and MaskedParameters, against plain references.
#include <torch/torch.h>
// c10's logging defines a glog-style CHECK; Catch2's must win in this file.
#undef CHECK
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <vector>

#include "sparseml/pruning/mask.h"
#include "sparseml/pruning/masked_parameters.h"
#include "sparseml/pruning/select.h"

using namespace sparsify;
using namespace sparsify::ml::pruning;
using sparsify::ml::recipe::MaskType;
using Catch::Matchers::Contains;

namespace {

const std::vector<double> kSparsities = {0.0, 0.05, 0.5, 0.9, 0.99, 1.0};

MaskType unstructured() { return MaskType{}; }
MaskType block(int rows, int cols) {
  MaskType t;
  t.kind = MaskType::Kind::kBlock, t.rows = rows, t.cols = cols;
  return t;
}
MaskType nm(int n, int m) {
  MaskType t;
  t.kind = MaskType::Kind::kNM, t.n = n, t.m = m;
  return t;
}

std::vector<double> to_vec(const torch::Tensor& t) {
  torch::Tensor c = t.detach().to(torch::kFloat64).contiguous().reshape({-1});
  return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}

// Test inputs: random, all ties, all zeros, half zeros plus ties.
std::vector<torch::Tensor> inputs(std::vector<std::int64_t> shape) {
  torch::manual_seed(1234);
  torch::Tensor r = torch::randn(shape);
  torch::Tensor half = torch::randn(shape);
  half.reshape({-1}).slice(0, 0, half.numel() / 2).zero_();
  half.reshape({-1}).slice(0, half.numel() / 2, half.numel() * 3 / 4).fill_(0.25);
  return {r, torch::full(shape, 0.5), torch::zeros(shape), half, -torch::full(shape, 0.5)};
}

// Reference: stable sort of scores, the first k pruned (ties by index).
std::vector<double> reference_keep(const std::vector<double>& scores, std::int64_t k) {
  std::vector<std::size_t> idx(scores.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) { return scores[a] < scores[b]; });
  std::vector<double> keep(scores.size(), 1.0);
  for (std::int64_t j = 0; j < k; ++j) keep[idx[static_cast<std::size_t>(j)]] = 0.0;
  return keep;
}

std::vector<double> abs_vec(const torch::Tensor& w) { return to_vec(w.abs()); }

// Block id of every element, computed from the documented layout ([out, in, spatial], blocks [a, b]).
std::vector<std::int64_t> block_ids(const std::vector<std::int64_t>& shape, int a, int b, std::int64_t* num) {
  const WeightLayout l = weight_layout(shape);
  const std::int64_t ib = (l.in + b - 1) / b;
  std::vector<std::int64_t> ids;
  for (std::int64_t o = 0; o < l.out; ++o)
    for (std::int64_t i = 0; i < l.in; ++i)
      for (std::int64_t s = 0; s < l.spatial; ++s) ids.push_back(((o / a) * ib + i / b) * l.spatial + s);
  *num = ((l.out + a - 1) / a) * ib * l.spatial;
  return ids;
}

void check_mask_basics(const torch::Tensor& mask, const torch::Tensor& w) {
  REQUIRE(mask.sizes() == w.sizes());
  CHECK(mask.scalar_type() == w.scalar_type());
  CHECK(!mask.requires_grad());
  CHECK(((mask == 0) | (mask == 1)).all().item<bool>());
}

}  // namespace

TEST_CASE("unstructured: exact zero counts and the smallest |w| pruned, ties by index") {
  const std::vector<std::vector<std::int64_t>> shapes = {{1}, {2}, {3}, {7}, {10}, {5, 7}, {16, 9}, {100, 10}, {4, 3, 3, 3}, {8, 16, 3, 3}, {3, 5, 7}, {4099}};
  for (const auto& shape : shapes)
    for (const torch::Tensor& w : inputs(shape))
      for (double s : kSparsities) {
        INFO("shape numel " << w.numel() << " sparsity " << s);
        const torch::Tensor mask = magnitude_mask(w, s, unstructured());
        check_mask_basics(mask, w);
        CHECK(count_zeros(mask) == std::llround(s * static_cast<double>(w.numel())));
        CHECK(to_vec(mask) == reference_keep(abs_vec(w), std::llround(s * static_cast<double>(w.numel()))));
      }
}

TEST_CASE("unstructured: round() of the count, rank 0 and empty tensors, double weights") {
  CHECK(count_zeros(magnitude_mask(torch::randn({3}), 0.5, unstructured())) == 2);  // llround(1.5) = 2
  CHECK(count_zeros(magnitude_mask(torch::randn({10}), 0.25, unstructured())) == 3);  // llround(2.5) = 3
  CHECK(count_zeros(magnitude_mask(torch::randn({7}), 0.07, unstructured())) == 0);
  const torch::Tensor scalar = torch::tensor(2.0);
  CHECK(magnitude_mask(scalar, 1.0, unstructured()).item<float>() == 0.0f);
  CHECK(magnitude_mask(torch::empty({0, 4}), 0.5, unstructured()).numel() == 0);
  const torch::Tensor wd = torch::randn({50}, torch::kFloat64);
  const torch::Tensor md = magnitude_mask(wd, 0.3, unstructured());
  CHECK(md.scalar_type() == torch::kFloat64);
  CHECK(count_zeros(md) == 15);
  // A non-contiguous view is masked by its logical layout.
  const torch::Tensor t = torch::arange(12, torch::kFloat32).reshape({3, 4}).t();
  CHECK(to_vec(magnitude_mask(t, 0.25, unstructured())) == std::vector<double>{0, 1, 1, 0, 1, 1, 0, 1, 1, 1, 1, 1});
}

TEST_CASE("unstructured: NaN weights rank as largest") {
  torch::Tensor w = torch::tensor({1.0f, NAN, 0.5f, 2.0f});
  CHECK(to_vec(magnitude_mask(w, 0.75, unstructured())) == std::vector<double>{0, 1, 0, 0});
}

TEST_CASE("block: whole blocks of the right orientation, exact block counts, lowest mean first") {
  struct Case {
    std::vector<std::int64_t> shape;
    int a, b;
  };
  const std::vector<Case> cases = {
      {{8, 12}, 1, 4}, {{8, 12}, 4, 1}, {{8, 12}, 2, 2}, {{6, 10}, 1, 4},  // padded input blocks
      {{7, 9}, 2, 4},  {{16, 8, 3, 3}, 1, 4}, {{4, 6, 3, 3}, 1, 4}, {{8, 8, 1, 1}, 4, 4}, {{5, 3, 2}, 1, 2}, {{10}, 1, 4}};
  for (const Case& c : cases)
    for (const torch::Tensor& w : inputs(c.shape))
      for (double s : kSparsities) {
        INFO("block [" << c.a << "," << c.b << "] numel " << w.numel() << " sparsity " << s);
        const torch::Tensor mask = magnitude_mask(w, s, block(c.a, c.b));
        check_mask_basics(mask, w);
        std::int64_t nb = 0;
        const std::vector<std::int64_t> ids = block_ids(c.shape, c.a, c.b, &nb);
        const std::vector<double> m = to_vec(mask), aw = abs_vec(w);
        std::vector<double> sum(static_cast<std::size_t>(nb), 0.0), cnt(static_cast<std::size_t>(nb), 0.0);
        std::map<std::int64_t, double> value;
        bool uniform = true;
        for (std::size_t e = 0; e < ids.size(); ++e) {
          sum[ids[e]] += aw[e], cnt[ids[e]] += 1;
          auto [it, fresh] = value.emplace(ids[e], m[e]);
          if (!fresh && it->second != m[e]) uniform = false;
        }
        CHECK(uniform);  // every zero sits in a fully-zero block
        std::vector<double> block_keep(static_cast<std::size_t>(nb)), mean(static_cast<std::size_t>(nb));
        for (std::int64_t bl = 0; bl < nb; ++bl) block_keep[bl] = value[bl], mean[bl] = sum[bl] / cnt[bl];
        CHECK(std::count(block_keep.begin(), block_keep.end(), 0.0) == std::llround(s * static_cast<double>(nb)));
        CHECK(block_keep == reference_keep(mean, std::llround(s * static_cast<double>(nb))));
      }
}

TEST_CASE("block: [1,4] runs along input channels (Linear [out,in], Conv [O,I,kh,kw]) as in SparseML") {
  // Linear: one output row is all small; blocks are 4 consecutive inputs of one output.
  torch::Tensor lin = torch::ones({4, 8});
  lin.slice(1, 0, 4).mul_(0.1);  // inputs 0..3 of every output are small
  torch::Tensor lm = magnitude_mask(lin, 0.5, block(1, 4));
  CHECK(lm.slice(1, 0, 4).eq(0).all().item<bool>());
  CHECK(lm.slice(1, 4, 8).eq(1).all().item<bool>());
  // Conv: input channels 0..3 small at every kernel tap -> exactly those blocks go.
  torch::Tensor conv = torch::ones({3, 8, 3, 3});
  conv.slice(1, 0, 4).mul_(0.1);
  torch::Tensor cm = magnitude_mask(conv, 0.5, block(1, 4));
  CHECK(cm.slice(1, 0, 4).eq(0).all().item<bool>());
  CHECK(cm.slice(1, 4, 8).eq(1).all().item<bool>());
  // A block is one kernel tap: a small value at tap (0,0) alone prunes only that tap's blocks.
  torch::Tensor conv2 = torch::ones({2, 4, 3, 3});
  conv2.select(2, 0).select(2, 0).mul_(0.01);
  torch::Tensor cm2 = magnitude_mask(conv2, 2.0 / 18.0, block(1, 4));
  CHECK(count_zeros(cm2) == 8);
  CHECK(cm2.select(2, 0).select(2, 0).eq(0).all().item<bool>());
  // Mask viewed as [O, kh, kw, I/4, 4]: each block of 4 inputs is uniform.
  torch::Tensor cr = torch::randn({6, 8, 3, 3});
  torch::Tensor v = magnitude_mask(cr, 0.5, block(1, 4)).permute({0, 2, 3, 1}).reshape({6, 3, 3, 2, 4});
  CHECK((std::get<0>(v.min(-1)) == std::get<0>(v.max(-1))).all().item<bool>());
}

TEST_CASE("block: padded blocks are scored by the mean over their real elements") {
  // I = 6, [1,4]: blocks {0..3} and {4,5}. Full block mean 0.6; padded block mean 1.0 (sum/4 would be 0.5).
  torch::Tensor w = torch::tensor({0.6f, 0.6f, 0.6f, 0.6f, 1.0f, 1.0f}).reshape({1, 6});
  CHECK(to_vec(magnitude_mask(w, 0.5, block(1, 4))) == std::vector<double>{0, 0, 0, 0, 1, 1});
  torch::Tensor w2 = torch::tensor({0.6f, 0.6f, 0.6f, 0.6f, 0.5f, 0.5f}).reshape({1, 6});
  CHECK(to_vec(magnitude_mask(w2, 0.5, block(1, 4))) == std::vector<double>{1, 1, 1, 1, 0, 0});
}

namespace {

// Checks the N:M invariant along input channels: in every group, at most n kept if pruned, and the
// pruned weights are the smallest of their group. Returns the number of pruned groups.
std::int64_t check_nm(const torch::Tensor& w, const torch::Tensor& mask, int n, int m) {
  const WeightLayout l = weight_layout(shape_of(w));
  const std::vector<double> aw = abs_vec(w), mk = to_vec(mask);
  std::int64_t pruned_groups = 0;
  for (std::int64_t o = 0; o < l.out; ++o)
    for (std::int64_t g0 = 0; g0 < l.in; g0 += m)
      for (std::int64_t s = 0; s < l.spatial; ++s) {
        const std::int64_t real = std::min<std::int64_t>(m, l.in - g0);
        std::vector<double> vals;
        std::int64_t kept = 0;
        double max_pruned = -1, min_kept = 1e300;
        for (std::int64_t j = 0; j < real; ++j) {
          const std::size_t e = static_cast<std::size_t>(((o * l.in) + g0 + j) * l.spatial + s);
          if (mk[e] == 1) ++kept, min_kept = std::min(min_kept, aw[e]);
          else max_pruned = std::max(max_pruned, aw[e]);
        }
        if (kept < real) {
          ++pruned_groups;
          CHECK(kept == std::min<std::int64_t>(n, real));
          CHECK(max_pruned <= min_kept);
        }
      }
  return pruned_groups;
}

}  // namespace

TEST_CASE("N:M: full pattern at 1 - N/M along input channels, Linear and Conv") {
  torch::manual_seed(7);
  const std::vector<std::pair<int, int>> nms = {{2, 4}, {1, 4}, {3, 4}, {2, 8}, {1, 2}};
  const std::vector<std::vector<std::int64_t>> shapes = {{6, 8}, {16, 32}, {4, 8, 3, 3}, {8, 16, 1, 1}, {5, 8, 5}};
  for (auto [n, m] : nms)
    for (const auto& shape : shapes) {
      const torch::Tensor w = torch::randn(shape);
      const double full = 1.0 - static_cast<double>(n) / m;
      const torch::Tensor mask = magnitude_mask(w, full, nm(n, m));
      check_mask_basics(mask, w);
      const std::int64_t groups = w.numel() / m;
      CHECK(check_nm(w, mask, n, m) == groups);
      CHECK(count_zeros(mask) == groups * (m - n));
      // SparseML accepts targets within 1e-2 above 1 - N/M: same full mask.
      CHECK(magnitude_mask(w, std::min(1.0, full + 0.005), nm(n, m)).equal(mask));
      CHECK(count_zeros(magnitude_mask(w, 0.0, nm(n, m))) == 0);
    }
  // Conv groups: [O, I, kh, kw] permuted to [O, kh, kw, I] has (m - n) zeros per m inputs.
  const torch::Tensor conv = torch::randn({4, 8, 3, 3});
  const torch::Tensor g = magnitude_mask(conv, 0.5, nm(2, 4)).permute({0, 2, 3, 1}).reshape({-1, 4});
  CHECK((g.sum(1) == 2).all().item<bool>());
}

TEST_CASE("N:M: a gradual target prunes a growing fraction of groups, cheapest first, monotonically") {
  torch::manual_seed(11);
  const torch::Tensor w = torch::randn({16, 32});
  const std::int64_t groups = w.numel() / 4;
  std::int64_t prev_groups = 0;
  torch::Tensor masked = w.clone();
  for (double s : {0.05, 0.1, 0.25, 0.4, 0.5}) {
    const torch::Tensor mask = magnitude_mask(masked, s, nm(2, 4));
    const std::int64_t pruned = check_nm(masked, mask, 2, 4);
    CHECK(pruned == std::llround(s / 0.5 * static_cast<double>(groups)));
    CHECK(count_zeros(mask) == pruned * 2);
    CHECK(pruned >= prev_groups);
    // Weights pruned earlier stay pruned (their groups now cost nothing).
    CHECK_FALSE((masked == 0).logical_and(mask != 0).any().item<bool>());
    masked = masked * mask;
    prev_groups = pruned;
  }
  // The cheapest group (sum of its 2 smallest |w|) goes first.
  torch::Tensor v = torch::ones({1, 12});
  v.slice(1, 4, 8).copy_(torch::tensor({0.5f, 0.01f, 3.0f, 0.02f}));
  CHECK(to_vec(magnitude_mask(v, 0.5 / 3.0, nm(2, 4))) == std::vector<double>{1, 1, 1, 1, 1, 0, 1, 0, 1, 1, 1, 1});
}

TEST_CASE("N:M: input channels not a multiple of M are zero-padded groups") {
  torch::manual_seed(3);
  for (std::int64_t in : {5, 6, 7, 9, 10, 11}) {
    const torch::Tensor w = torch::randn({3, in, 2, 2});
    const torch::Tensor mask = magnitude_mask(w, 0.5, nm(2, 4));
    check_nm(w, mask, 2, 4);
    const std::int64_t full = in / 4, rem = in % 4;
    const std::int64_t zeros_per_row = full * 2 + std::max<std::int64_t>(0, rem - 2);
    CHECK(count_zeros(mask) == zeros_per_row * 3 * 4);
  }
}

TEST_CASE("check_mask_args: bad sparsity and mask types are invalid_argument naming the values") {
  CHECK(check_mask_args({4, 4}, 0.5, unstructured()).ok());
  const Status s1 = check_mask_args({4, 4}, 1.5, unstructured());
  CHECK(s1.code() == StatusCode::kInvalidArgument);
  CHECK_THAT(s1.message(), Contains("sparsity 1.5 is outside [0, 1]"));
  CHECK(check_mask_args({4, 4}, std::nan(""), unstructured()).code() == StatusCode::kInvalidArgument);
  CHECK(check_mask_args({4, 4}, -0.1, block(1, 4)).code() == StatusCode::kInvalidArgument);
  CHECK_THAT(check_mask_args({4, 4}, 0.5, block(0, 4)).message(), Contains("[0, 4]"));
  const Status s2 = check_mask_args({4, 8}, 0.75, nm(2, 4));
  CHECK(s2.code() == StatusCode::kInvalidArgument);
  CHECK_THAT(s2.message(), Contains("above 0.5, the most a 2:4 mask reaches"));
  CHECK(check_mask_args({4, 8}, 0.509, nm(2, 4)).ok());
  CHECK_THAT(check_mask_args({4, 8}, 0.5, nm(5, 4)).message(), Contains("1 <= N <= M"));
  CHECK(max_sparsity(nm(2, 4)) == Approx(0.51));
  CHECK(max_sparsity(block(1, 4)) == 1.0);
}

TEST_CASE("global: one ranking across tensors, exact total count") {
  torch::manual_seed(5);
  const std::vector<torch::Tensor> ws = {torch::randn({8, 1, 3, 3}) * 1e-4, torch::randn({16, 8, 3, 3}),
                                         torch::randn({10, 64}) * 3, torch::zeros({7})};
  std::int64_t total = 0;
  std::vector<double> all;
  for (const auto& w : ws) {
    total += w.numel();
    const std::vector<double> a = abs_vec(w);
    all.insert(all.end(), a.begin(), a.end());
  }
  for (double s : kSparsities) {
    const std::vector<torch::Tensor> masks = global_magnitude_masks(ws, s, unstructured());
    REQUIRE(masks.size() == ws.size());
    std::int64_t zeros = 0;
    std::vector<double> got;
    for (std::size_t i = 0; i < ws.size(); ++i) {
      check_mask_basics(masks[i], ws[i]);
      zeros += count_zeros(masks[i]);
      const std::vector<double> m = to_vec(masks[i]);
      got.insert(got.end(), m.begin(), m.end());
    }
    CHECK(zeros == std::llround(s * static_cast<double>(total)));
    CHECK(got == reference_keep(all, std::llround(s * static_cast<double>(total))));
  }
  // The small-magnitude first tensor is pruned before the others.
  const std::vector<torch::Tensor> m = global_magnitude_masks(ws, 0.02, unstructured());
  CHECK(count_zeros(m[1]) + count_zeros(m[2]) == 0);
  // Blocks: exact total block count.
  const std::vector<torch::Tensor> wb = {torch::randn({4, 8}), torch::randn({6, 12, 3, 3}), torch::randn({2, 6})};
  const std::int64_t total_blocks = 4 * 2 + 6 * 3 * 9 + 2 * 2;
  for (double s : kSparsities) {
    const std::vector<torch::Tensor> mb = global_magnitude_masks(wb, s, block(1, 4));
    std::int64_t zero_blocks = 0;
    for (std::size_t i = 0; i < wb.size(); ++i) {
      std::int64_t nb = 0;
      const std::vector<std::int64_t> ids = block_ids(shape_of(wb[i]), 1, 4, &nb);
      const std::vector<double> v = to_vec(mb[i]);
      std::vector<bool> zero(static_cast<std::size_t>(nb), false);
      for (std::size_t e = 0; e < ids.size(); ++e) zero[ids[e]] = zero[ids[e]] || v[e] == 0;
      zero_blocks += std::count(zero.begin(), zero.end(), true);
    }
    CHECK(zero_blocks == std::llround(s * static_cast<double>(total_blocks)));
  }
  // N:M: per tensor.
  const std::vector<torch::Tensor> mn = global_magnitude_masks(wb, 0.5, nm(2, 4));
  for (std::size_t i = 0; i < wb.size(); ++i) CHECK(mn[i].equal(magnitude_mask(wb[i], 0.5, nm(2, 4))));
}

TEST_CASE("sparsity: fraction of exact zeros") {
  CHECK(sparsity(torch::tensor({0.0f, -0.0f, 1.0f, NAN})) == 0.5);
  CHECK(count_zeros(torch::zeros({3, 3})) == 9);
  CHECK(sparsity(torch::Tensor()) == 0.0);
  CHECK(sparsity(torch::empty({0})) == 0.0);
}

TEST_CASE("MaskedParameters: masks, apply, gradient masking through an optimizer step") {
  torch::manual_seed(9);
  torch::nn::Linear fc1(16, 32), fc2(32, 4);
  MaskedParameters masked;
  REQUIRE(masked.add("fc1.weight", fc1->weight).ok());
  REQUIRE(masked.add("fc2.weight", fc2->weight).ok());
  CHECK(masked.find("fc2.weight") == 1);
  CHECK(masked.find("nope") == -1);
  CHECK(masked.mask_sparsity() == 0.0);
  REQUIRE(masked.update_masks(0.75, unstructured(), /*global=*/false).ok());
  CHECK(masked.weight_sparsity() == 0.0);  // masks computed, weights untouched
  CHECK(masked.mask_sparsity() == 0.75);
  REQUIRE(masked.apply().ok());
  CHECK(masked.weight_sparsities() == std::vector<double>{0.75, 0.75});
  CHECK(fc1->weight.requires_grad());

  torch::optim::SGD opt({fc1->weight, fc1->bias, fc2->weight, fc2->bias},
                        torch::optim::SGDOptions(0.1).momentum(0.9).weight_decay(1e-2));
  for (int step = 0; step < 3; ++step) {
    opt.zero_grad();
    const torch::Tensor x = torch::randn({8, 16});
    fc2->forward(torch::relu(fc1->forward(x))).pow(2).sum().backward();
    REQUIRE(masked.mask_gradients().ok());
    for (const ParamMask& e : masked.entries()) {
      CHECK((e.param.grad() * (1 - e.mask)).abs().sum().item<double>() == 0.0);
      CHECK(e.param.grad().abs().sum().item<double>() > 0.0);
    }
    opt.step();
    REQUIRE(masked.apply().ok());
    CHECK(masked.weight_sparsity() == 0.75);
  }
  // Global update: exact over both parameters together.
  REQUIRE(masked.update_masks(0.9, unstructured(), /*global=*/true).ok());
  CHECK(count_zeros(masked.entries()[0].mask) + count_zeros(masked.entries()[1].mask) ==
        std::llround(0.9 * (16 * 32 + 32 * 4)));
  REQUIRE(masked.update_mask(1, 0.5, nm(2, 4)).ok());
  CHECK(count_zeros(masked.entries()[1].mask) == 64);
}

TEST_CASE("MaskedParameters: constant mode holds existing zeros") {
  torch::manual_seed(2);
  torch::nn::Conv2d conv(torch::nn::Conv2dOptions(3, 8, 3));
  {
    torch::NoGradGuard g;
    conv->weight.mul_((torch::rand_like(conv->weight) > 0.6).to(torch::kFloat32));
  }
  const torch::Tensor zeros_before = conv->weight.detach() == 0;
  const double before = sparsity(conv->weight);
  REQUIRE(before > 0.5);
  MaskedParameters masked;
  REQUIRE(masked.add("conv.weight", conv->weight).ok());
  REQUIRE(masked.masks_from_zeros().ok());
  CHECK(masked.mask_sparsity() == before);
  torch::optim::Adam opt({conv->weight}, torch::optim::AdamOptions(0.05));
  for (int step = 0; step < 3; ++step) {
    opt.zero_grad();
    conv->forward(torch::randn({2, 3, 8, 8})).sum().backward();
    REQUIRE(masked.mask_gradients().ok());
    opt.step();
    REQUIRE(masked.apply().ok());
  }
  CHECK(sparsity(conv->weight) == before);
  CHECK(((conv->weight.detach() == 0) == zeros_before).all().item<bool>());
}

TEST_CASE("MaskedParameters: errors are Status naming the parameter") {
  MaskedParameters masked;
  const torch::Tensor w = torch::randn({4, 8});
  REQUIRE(masked.add("w", w).ok());
  const Status dup = masked.add("w", w);
  CHECK(dup.code() == StatusCode::kInvalidArgument);
  CHECK_THAT(dup.message(), Contains("'w' was already added"));
  CHECK_THAT(masked.add("i", torch::ones({2}, torch::kInt64)).message(), Contains("floating-point"));
  CHECK_THAT(masked.add("u", torch::Tensor()).message(), Contains("'u' is undefined"));
  const Status bad_sparsity = masked.update_masks(1.5, unstructured(), false);
  CHECK(bad_sparsity.code() == StatusCode::kInvalidArgument);
  CHECK_THAT(bad_sparsity.message(), Contains("parameter 'w'"));
  CHECK_THAT(masked.update_mask(0, 0.9, nm(2, 4)).message(), Contains("2:4"));
  CHECK(masked.update_mask(3, 0.5, unstructured()).code() == StatusCode::kInvalidArgument);
  CHECK_THAT(masked.set_mask(0, torch::ones({8, 4})).message(), Contains("mask shape [8, 4] differs from the parameter's [4, 8]"));
  CHECK_THAT(masked.set_mask(0, torch::full({4, 8}, 0.5)).message(), Contains("other than 0 and 1"));
  REQUIRE(masked.set_mask(0, torch::zeros({4, 8}, torch::kFloat64)).ok());
  CHECK(masked.entries()[0].mask.scalar_type() == torch::kFloat32);
  CHECK(masked.mask_sparsity() == 1.0);
}
