// AVX-512 conv kernels: the implicit-im2col panel packer and a direct depthwise kernel that
// vectorises 16 output columns of one plane at a time (masked tails, strides 1 and 2 by loads and
// vpermt2ps, others by gathers).
//
// Depthwise: for each chunk of 16 output columns ox and each kj, the lanes that fall inside the
// input row form a mask computed once; then for every output row oy:
//     acc[ox..ox+15] = bias + sum_{ki,kj} w[ki*kw + kj] * x[oy*sh + ki*dh - pt][ox*sw + kj*dw - pl]
// with masked loads (rows outside the input are skipped, so no padded copy is needed).
// GCC 12 warns about _mm512_undefined_ps() inside its own intrinsics (GCC bug 105593).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <cstddef>
#include <cstring>

#include "engine/kernels/conv/family.h"

namespace sparsify::engine {
namespace {

inline __mmask16 lanes_mask(std::ptrdiff_t lo, std::ptrdiff_t hi) {  // bits [lo, hi) of 16, clipped
  if (lo < 0) lo = 0;
  if (hi > 16) hi = 16;
  if (hi <= lo) return 0;
  const unsigned all = hi >= 16 ? 0xFFFFu : ((1u << hi) - 1u);
  return static_cast<__mmask16>(all & ~((1u << lo) - 1u));
}

// 16 values row[ix0 + i*stride], i < n (n <= 16), zero outside [0, w).
inline __m512 load_strided(const float* row, std::ptrdiff_t ix0, std::size_t n, std::size_t w, std::size_t stride) {
  const std::ptrdiff_t sw = static_cast<std::ptrdiff_t>(w);
  if (stride == 1) {
    return _mm512_maskz_loadu_ps(lanes_mask(-ix0, sw - ix0) & lanes_mask(0, static_cast<std::ptrdiff_t>(n)), row + ix0);
  }
  if (stride == 2) {
    // Positions ix0 + t, t < 2n - 1, from two vectors; then pick the even ones.
    const std::ptrdiff_t span = 2 * static_cast<std::ptrdiff_t>(n) - 1;
    const __mmask16 m0 = lanes_mask(-ix0, sw - ix0) & lanes_mask(0, span);
    const __mmask16 m1 = lanes_mask(-ix0 - 16, sw - ix0 - 16) & lanes_mask(0, span - 16);
    const __m512 v0 = _mm512_maskz_loadu_ps(m0, row + ix0);
    const __m512 v1 = _mm512_maskz_loadu_ps(m1, row + ix0 + 16);
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    return _mm512_permutex2var_ps(v0, even, v1);
  }
  const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  const __m512i idx = _mm512_add_epi32(_mm512_set1_epi32(static_cast<int>(ix0)),
                                       _mm512_mullo_epi32(lane, _mm512_set1_epi32(static_cast<int>(stride))));
  const __mmask16 valid = _mm512_cmpge_epi32_mask(idx, _mm512_setzero_si512()) &
                          _mm512_cmplt_epi32_mask(idx, _mm512_set1_epi32(static_cast<int>(w))) &
                          lanes_mask(0, static_cast<std::ptrdiff_t>(n));
  return _mm512_mask_i32gather_ps(_mm512_setzero_ps(), valid, idx, row, 4);
}

struct Ops {
  static void copy(float* dst, const float* src, std::size_t n) {
    std::size_t i = 0;
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(dst + i, _mm512_loadu_ps(src + i));
    if (i < n) {
      const __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1u);
      _mm512_mask_storeu_ps(dst + i, m, _mm512_maskz_loadu_ps(m, src + i));
    }
  }
  static void run(float* dst, const float* row, std::ptrdiff_t ix0, std::size_t n, std::size_t w, std::size_t stride) {
    for (std::size_t i = 0; i < n; i += 16) {
      const std::size_t len = n - i < 16 ? n - i : 16;
      const __m512 v = load_strided(row, ix0 + static_cast<std::ptrdiff_t>(i * stride), len, w, stride);
      _mm512_mask_storeu_ps(dst + i, lanes_mask(0, static_cast<std::ptrdiff_t>(len)), v);
    }
  }
  static void copy_s2(float* dst, const float* src, std::size_t n) {
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    for (std::size_t i = 0; i < n; i += 16) {
      const std::ptrdiff_t len = static_cast<std::ptrdiff_t>(n - i < 16 ? n - i : 16), span = 2 * len - 1;
      const __m512 v0 = _mm512_maskz_loadu_ps(lanes_mask(0, span), src + 2 * i);
      const __m512 v1 = _mm512_maskz_loadu_ps(lanes_mask(0, span - 16), src + 2 * i + 16);
      _mm512_mask_storeu_ps(dst + i, lanes_mask(0, len), _mm512_permutex2var_ps(v0, even, v1));
    }
  }
  static void zero(float* dst, std::size_t n) {
    for (std::size_t i = 0; i < n; i += 16) {
      _mm512_mask_storeu_ps(dst + i, lanes_mask(0, static_cast<std::ptrdiff_t>(n - i)), _mm512_setzero_ps());
    }
  }
};

#include "engine/kernels/conv/im2col_walk.inl"

// Depthwise, stride 1, KW taps per row unrolled with the column masks and weights in registers.
template <int KW>
void dw_rows_s1(const ConvGeom& g, const float* x, const float* w, __m512 vb, __m512 lo, __m512 hi,
                const __mmask16* m0, const std::ptrdiff_t* ix0, __mmask16 out_mask, std::size_t ox, float* y) {
  __mmask16 m[KW];
  std::ptrdiff_t off[KW];
  for (int kj = 0; kj < KW; ++kj) {
    m[kj] = m0[kj];
    off[kj] = ix0[kj];
  }
  const std::ptrdiff_t sw = static_cast<std::ptrdiff_t>(g.w), h = static_cast<std::ptrdiff_t>(g.h);
  for (std::size_t oy = 0; oy < g.oh; ++oy) {
    __m512 acc = vb;
    for (std::size_t ki = 0; ki < g.kh; ++ki) {
      const std::ptrdiff_t iy = static_cast<std::ptrdiff_t>(oy * g.sh + ki * g.dh) - static_cast<std::ptrdiff_t>(g.pt);
      if (iy < 0 || iy >= h) continue;
      const float* row = x + iy * sw;
      const float* wk = w + ki * KW;
#pragma GCC unroll 8
      for (int kj = 0; kj < KW; ++kj) {
        acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m[kj], row + off[kj]), _mm512_set1_ps(wk[kj]), acc);
      }
    }
    acc = _mm512_min_ps(_mm512_max_ps(acc, lo), hi);
    _mm512_mask_storeu_ps(y + oy * g.ow + ox, out_mask, acc);
  }
}

}  // namespace

void f32_im2col__avx512(const ConvGeom& g, const float* x, std::size_t k0, std::size_t kc, std::size_t n0,
                        std::size_t nc, std::size_t nr, float* packed) {
  im2col_walk<Ops>(g, x, k0, kc, n0, nc, nr, packed);
}

void f32_dwconv_minmax_16w__avx512(const ConvGeom& g, const float* x, const float* w, float bias, float* y, float min,
                                   float max) {
  // Reads the unpadded plane with masked loads: the column masks depend only on (ox chunk, kj), so
  // they are computed once per chunk; rows outside the input are skipped.
  constexpr std::size_t kMaxKw = 16;
  if (g.kw > kMaxKw) {
    f32_dwconv_minmax__scalar(g, x, w, bias, y, min, max);
    return;
  }
  const __m512 lo = _mm512_set1_ps(min), hi = _mm512_set1_ps(max), vb = _mm512_set1_ps(bias);
  const std::ptrdiff_t sw = static_cast<std::ptrdiff_t>(g.w), h = static_cast<std::ptrdiff_t>(g.h);
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i lane_stride = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                                 _mm512_set1_epi32(static_cast<int>(g.sw)));
  __mmask16 m0[kMaxKw], m1[kMaxKw];
  std::ptrdiff_t ix0[kMaxKw];
  for (std::size_t ox = 0; ox < g.ow; ox += 16) {
    const std::ptrdiff_t n = static_cast<std::ptrdiff_t>(g.ow - ox < 16 ? g.ow - ox : 16);
    const __mmask16 out_mask = lanes_mask(0, n);
    for (std::size_t kj = 0; kj < g.kw; ++kj) {
      ix0[kj] = static_cast<std::ptrdiff_t>(ox * g.sw + kj * g.dw) - static_cast<std::ptrdiff_t>(g.pl);
      if (g.sw == 1) {
        m0[kj] = lanes_mask(-ix0[kj], sw - ix0[kj]) & out_mask;
      } else if (g.sw == 2) {
        const std::ptrdiff_t span = 2 * n - 1;
        m0[kj] = lanes_mask(-ix0[kj], sw - ix0[kj]) & lanes_mask(0, span);
        m1[kj] = lanes_mask(-ix0[kj] - 16, sw - ix0[kj] - 16) & lanes_mask(0, span - 16);
      } else {
        const __m512i idx = _mm512_add_epi32(_mm512_set1_epi32(static_cast<int>(ix0[kj])), lane_stride);
        m0[kj] = _mm512_cmpge_epi32_mask(idx, _mm512_setzero_si512()) &
                 _mm512_cmplt_epi32_mask(idx, _mm512_set1_epi32(static_cast<int>(g.w))) & out_mask;
      }
    }
    if (g.sw == 1 && g.kw == 3) {
      dw_rows_s1<3>(g, x, w, vb, lo, hi, m0, ix0, out_mask, ox, y);
    } else if (g.sw == 1 && g.kw == 5) {
      dw_rows_s1<5>(g, x, w, vb, lo, hi, m0, ix0, out_mask, ox, y);
    } else {
      for (std::size_t oy = 0; oy < g.oh; ++oy) {
        __m512 acc = vb;
        for (std::size_t ki = 0; ki < g.kh; ++ki) {
          const std::ptrdiff_t iy = static_cast<std::ptrdiff_t>(oy * g.sh + ki * g.dh) - static_cast<std::ptrdiff_t>(g.pt);
          if (iy < 0 || iy >= h) continue;
          const float* row = x + iy * sw;
          const float* wk = w + ki * g.kw;
          for (std::size_t kj = 0; kj < g.kw; ++kj) {
            __m512 v;
            if (g.sw == 1) {
              v = _mm512_maskz_loadu_ps(m0[kj], row + ix0[kj]);
            } else if (g.sw == 2) {
              v = _mm512_permutex2var_ps(_mm512_maskz_loadu_ps(m0[kj], row + ix0[kj]), even,
                                         _mm512_maskz_loadu_ps(m1[kj], row + ix0[kj] + 16));
            } else {
              const __m512i idx = _mm512_add_epi32(_mm512_set1_epi32(static_cast<int>(ix0[kj])), lane_stride);
              v = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m0[kj], idx, row, 4);
            }
            acc = _mm512_fmadd_ps(v, _mm512_set1_ps(wk[kj]), acc);
          }
        }
        acc = _mm512_min_ps(_mm512_max_ps(acc, lo), hi);
        _mm512_mask_storeu_ps(y + oy * g.ow + ox, out_mask, acc);
      }
    }
  }
}

}  // namespace sparsify::engine
