// AVX2 conv kernels: the implicit-im2col packer and the direct depthwise kernel, 8 output columns
// per ymm (masked loads for stride 1, gathers otherwise). Same data layout as x86_avx512.cc.
#include <immintrin.h>

#include <cstddef>
#include <cstring>

#include "engine/kernels/conv/family.h"

namespace sparsify::engine {
namespace {

inline __m256i range_mask(std::ptrdiff_t lo, std::ptrdiff_t hi) {  // lanes l with lo <= l < hi
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i ge = _mm256_cmpgt_epi32(lane, _mm256_set1_epi32(static_cast<int>(lo < -1 ? -1 : lo) - 1));
  const __m256i lt = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(hi > 8 ? 8 : (hi < 0 ? 0 : hi))), lane);
  return _mm256_and_si256(ge, lt);
}

// 8 values row[ix0 + i*stride], i < n (n <= 8), zero outside [0, w).
inline __m256 load_strided(const float* row, std::ptrdiff_t ix0, std::size_t n, std::size_t w, std::size_t stride) {
  const std::ptrdiff_t sw = static_cast<std::ptrdiff_t>(w), sn = static_cast<std::ptrdiff_t>(n);
  if (stride == 1) {
    if (ix0 >= 0 && ix0 + 8 <= sw && n == 8) return _mm256_loadu_ps(row + ix0);
    const std::ptrdiff_t lo = -ix0, hi = sw - ix0 < sn ? sw - ix0 : sn;
    return _mm256_maskload_ps(row + ix0, range_mask(lo, hi));
  }
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i idx = _mm256_add_epi32(_mm256_set1_epi32(static_cast<int>(ix0)),
                                       _mm256_mullo_epi32(lane, _mm256_set1_epi32(static_cast<int>(stride))));
  const __m256i valid = _mm256_and_si256(
      _mm256_and_si256(_mm256_cmpgt_epi32(idx, _mm256_set1_epi32(-1)), _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(w)), idx)),
      range_mask(0, sn));
  return _mm256_mask_i32gather_ps(_mm256_setzero_ps(), row, idx, _mm256_castsi256_ps(valid), 4);
}

struct Ops {
  static void copy(float* dst, const float* src, std::size_t n) {
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, _mm256_loadu_ps(src + i));
    for (; i < n; ++i) dst[i] = src[i];
  }
  static void run(float* dst, const float* row, std::ptrdiff_t ix0, std::size_t n, std::size_t w, std::size_t stride) {
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, load_strided(row, ix0 + static_cast<std::ptrdiff_t>(i * stride), 8, w, stride));
    if (i < n) {
      const std::size_t len = n - i;
      _mm256_maskstore_ps(dst + i, range_mask(0, static_cast<std::ptrdiff_t>(len)),
                          load_strided(row, ix0 + static_cast<std::ptrdiff_t>(i * stride), len, w, stride));
    }
  }
  static void copy_s2(float* dst, const float* src, std::size_t n) {
    std::size_t i = 0;
    for (; i + 8 <= n && 2 * i + 16 <= 2 * n - 1; i += 8) {
      const __m256 a = _mm256_loadu_ps(src + 2 * i), b = _mm256_loadu_ps(src + 2 * i + 8);
      _mm256_storeu_ps(dst + i, _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(a, b, 0x88)), 0xD8)));
    }
    for (; i < n; ++i) dst[i] = src[2 * i];
  }
  static void zero(float* dst, std::size_t n) { std::memset(dst, 0, n * sizeof(float)); }
};

#include "engine/kernels/conv/im2col_walk.inl"

}  // namespace

void f32_im2col__avx2(const ConvGeom& g, const float* x, std::size_t k0, std::size_t kc, std::size_t n0,
                      std::size_t nc, std::size_t nr, float* packed) {
  im2col_walk<Ops>(g, x, k0, kc, n0, nc, nr, packed);
}

void f32_dwconv_minmax_8w__avx2(const ConvGeom& g, const float* x, const float* w, float bias, float* y, float min,
                                float max) {
  // Unpadded plane, masked loads (stride 1) or masked gathers; column masks hoisted per 8-column
  // chunk and kj, rows outside the input skipped (see x86_avx512.cc).
  constexpr std::size_t kMaxKw = 16;
  if (g.kw > kMaxKw) {
    f32_dwconv_minmax__scalar(g, x, w, bias, y, min, max);
    return;
  }
  const __m256 lo = _mm256_set1_ps(min), hi = _mm256_set1_ps(max), vb = _mm256_set1_ps(bias);
  const std::ptrdiff_t sw = static_cast<std::ptrdiff_t>(g.w), h = static_cast<std::ptrdiff_t>(g.h);
  const __m256i lane_stride = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
                                                 _mm256_set1_epi32(static_cast<int>(g.sw)));
  __m256i mask[kMaxKw];
  std::ptrdiff_t ix0[kMaxKw];
  bool inside[kMaxKw];  // all 8 lanes valid: plain loads
  for (std::size_t ox = 0; ox < g.ow; ox += 8) {
    const std::ptrdiff_t n = static_cast<std::ptrdiff_t>(g.ow - ox < 8 ? g.ow - ox : 8);
    const __m256i out_mask = range_mask(0, n);
    for (std::size_t kj = 0; kj < g.kw; ++kj) {
      ix0[kj] = static_cast<std::ptrdiff_t>(ox * g.sw + kj * g.dw) - static_cast<std::ptrdiff_t>(g.pl);
      const __m256i idx = _mm256_add_epi32(_mm256_set1_epi32(static_cast<int>(ix0[kj])), lane_stride);
      mask[kj] = _mm256_and_si256(_mm256_and_si256(_mm256_cmpgt_epi32(idx, _mm256_set1_epi32(-1)),
                                                   _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(g.w)), idx)),
                                  out_mask);
      // Stride 2 reads two whole vectors (16 floats) even though lane 15 is unused.
      inside[kj] = n == 8 && ix0[kj] >= 0 && ix0[kj] + (g.sw == 1 ? 8 : 16) <= sw;
    }
    for (std::size_t oy = 0; oy < g.oh; ++oy) {
      __m256 acc = vb;
      for (std::size_t ki = 0; ki < g.kh; ++ki) {
        const std::ptrdiff_t iy = static_cast<std::ptrdiff_t>(oy * g.sh + ki * g.dh) - static_cast<std::ptrdiff_t>(g.pt);
        if (iy < 0 || iy >= h) continue;
        const float* row = x + iy * sw;
        const float* wk = w + ki * g.kw;
        for (std::size_t kj = 0; kj < g.kw; ++kj) {
          __m256 v;
          if (g.sw == 1) {
            v = inside[kj] ? _mm256_loadu_ps(row + ix0[kj]) : _mm256_maskload_ps(row + ix0[kj], mask[kj]);
          } else if (g.sw == 2 && inside[kj]) {
            // Lanes 0..14 of two vectors, even ones: shuffle within 128-bit halves, then reorder.
            const __m256 a = _mm256_loadu_ps(row + ix0[kj]), b = _mm256_loadu_ps(row + ix0[kj] + 8);
            v = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(a, b, 0x88)), 0xD8));
          } else {
            const __m256i idx = _mm256_add_epi32(_mm256_set1_epi32(static_cast<int>(ix0[kj])), lane_stride);
            v = _mm256_mask_i32gather_ps(_mm256_setzero_ps(), row, idx, _mm256_castsi256_ps(mask[kj]), 4);
          }
          acc = _mm256_fmadd_ps(v, _mm256_set1_ps(wk[kj]), acc);
        }
      }
      acc = _mm256_min_ps(_mm256_max_ps(acc, lo), hi);
      float* out = y + oy * g.ow + ox;
      if (n == 8) _mm256_storeu_ps(out, acc);
      else _mm256_maskstore_ps(out, out_mask, acc);
    }
  }
}

}  // namespace sparsify::engine
