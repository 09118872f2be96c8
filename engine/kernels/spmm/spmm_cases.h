// Real-model shapes for the sparse families' benchmarks (and the plan's cost model checks):
// ResNet-50 convs at batch 1 (224x224 input) and BERT-base linear layers at sequence 128.
#pragma once

#include <cstddef>

#include "engine/kernels/conv/family.h"

namespace sparsify::engine::sparse_cases {

struct ConvCase {
  const char* what;
  std::size_t c, hw, m, k, stride;  // NCHW input [1, c, hw, hw], k x k kernel, pad k/2
  Conv2dShape shape() const {
    Conv2dShape s;
    s.in_channels = c;
    s.in_h = s.in_w = hw;
    s.out_channels = m;
    s.kernel_h = s.kernel_w = k;
    s.stride_h = s.stride_w = stride;
    s.pad_top = s.pad_left = s.pad_bottom = s.pad_right = k / 2;
    return s;
  }
};

inline constexpr ConvCase kResNet50[] = {
    {"rn50_l1_1x1_256to64_56", 256, 56, 64, 1, 1},    {"rn50_l1_3x3_64_56", 64, 56, 64, 3, 1},
    {"rn50_l1_1x1_64to256_56", 64, 56, 256, 1, 1},    {"rn50_l2_3x3_128_s2_56", 128, 56, 128, 3, 2},
    {"rn50_l2_1x1_512to128_28", 512, 28, 128, 1, 1},  {"rn50_l3_3x3_256_14", 256, 14, 256, 3, 1},
    {"rn50_l3_1x1_1024to256_14", 1024, 14, 256, 1, 1}, {"rn50_l4_3x3_512_7", 512, 7, 512, 3, 1},
    {"rn50_l4_1x1_512to2048_7", 512, 7, 2048, 1, 1},
};

struct LinearCase {
  const char* what;
  std::size_t m, k, n;  // X[m, k] x W[k, n]
};

inline constexpr LinearCase kBert[] = {
    {"bert_768x768_seq128", 128, 768, 768},
    {"bert_768x3072_seq128", 128, 768, 3072},
    {"bert_3072x768_seq128", 128, 3072, 768},
};

}  // namespace sparsify::engine::sparse_cases
