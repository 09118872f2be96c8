// AVX2 int8 depthwise conv plane: the AVX-512 row's algorithm with 8 outputs per ymm (phase-split
// float plane in scratch, one FMA per tap, exact float accumulation, the int8 GEMM's float
// requantization); the tail of a row is stored through a small stack buffer.
#include <immintrin.h>

#include <cstring>

#include "engine/kernels/qdwconv/family.h"

namespace sparsify::engine {
namespace {

void convert_row(const ConvGeom& g, const QDwScratchLayout& l, const std::uint8_t* xrow, std::uint8_t pad,
                 std::uint8_t* stage, float* dst) {
  const std::size_t pw = g.w + g.pl + g.pr;
  if (xrow == nullptr) {
    std::memset(stage, pad, pw);
  } else {
    std::memset(stage, pad, g.pl);
    std::memcpy(stage + g.pl, xrow, g.w);
    std::memset(stage + g.pl + g.w, pad, g.pr);
  }
  std::memset(stage + pw, 0, l.row_pitch - pw);
  if (g.sw == 1) {
    for (std::size_t i = 0; i < l.phase_len; i += 8) {
      const __m128i b = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(stage + i));
      _mm256_storeu_ps(dst + i, _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(b)));
    }
  } else if (g.sw == 2) {
    const __m256i low16 = _mm256_set1_epi32(0xFFFF);
    for (std::size_t i = 0; i < l.phase_len; i += 8) {
      const __m256i v = _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(stage + 2 * i)));
      _mm256_storeu_ps(dst + i, _mm256_cvtepi32_ps(_mm256_and_si256(v, low16)));
      _mm256_storeu_ps(dst + l.phase_len + i, _mm256_cvtepi32_ps(_mm256_srli_epi32(v, 16)));
    }
  } else {
    for (std::size_t ph = 0; ph < g.sw; ++ph)
      for (std::size_t i = 0; i < l.phase_len; ++i) dst[ph * l.phase_len + i] = stage[ph + i * g.sw];
  }
}

// Scratch column of a tap's horizontal offset d: phase d % sw, index d / sw (no division for the
// common strides: 18 divisions cost as much as a whole 7x7 plane).
inline std::size_t tap_column(std::size_t d, std::size_t sw, std::size_t phase_len) {
  if (sw == 1) return d;
  if (sw == 2) return (d & 1) * phase_len + (d >> 1);
  return d % sw * phase_len + d / sw;
}

template <int KH, int KW>
void plane(const ConvGeom& g, const std::uint8_t* x, std::uint8_t pad, const float* taps, const QDwConvParams& p,
           void* scratch, void* y) {
  const QDwScratchLayout l = qdwconv_scratch_layout(g);
  float* s = static_cast<float*>(scratch);
  std::uint8_t* stage = reinterpret_cast<std::uint8_t*>(s + l.floats());
  // Rows are converted when the first output row needing them comes up, so they are still in L1.
  std::size_t converted = 0;
  auto convert_upto = [&](std::size_t last) {
    for (; converted <= last; ++converted) {
      const std::size_t r = converted;
      const bool inside = r >= g.pt && r < g.pt + g.h;
      convert_row(g, l, inside ? x + (r - g.pt) * g.w : nullptr, pad, stage, s + r * l.row_pitch);
    }
  };
  const std::size_t kh = KH != 0 ? KH : g.kh, kw = KW != 0 ? KW : g.kw, nt = kh * kw;
  constexpr std::size_t kFixed = KH * KW != 0 ? KH * KW : 1;
  std::size_t off[KH * KW != 0 ? kFixed : kQDwConvMaxTaps];
  for (std::size_t ki = 0; ki < kh; ++ki)
    for (std::size_t kj = 0; kj < kw; ++kj)
      off[ki * kw + kj] = ki * g.dh * l.row_pitch + tap_column(kj * g.dw, g.sw, l.phase_len);
  __m256 wv[kFixed];
  if (KH * KW != 0)
    for (std::size_t t = 0; t < kFixed; ++t) wv[t] = _mm256_set1_ps(taps[t]);
  const __m256i bias = _mm256_set1_epi32(p.bias), yz = _mm256_set1_epi32(p.y_zero);
  const __m256 scale = _mm256_set1_ps(p.scale);
  const __m256 lo = _mm256_set1_ps(static_cast<float>(p.y_min - p.y_zero));
  const __m256 hi = _mm256_set1_ps(static_cast<float>(p.y_max - p.y_zero));
  for (std::size_t oy = 0; oy < g.oh; ++oy) {
    convert_upto(oy * g.sh + (kh - 1) * g.dh);
    const float* row = s + oy * g.sh * l.row_pitch;
    for (std::size_t ox = 0; ox < g.ow; ox += 8) {
      const std::size_t lanes = g.ow - ox < 8 ? g.ow - ox : 8;
      __m256 acc = _mm256_setzero_ps();
      if (KH * KW != 0) {
        // One accumulator per kernel row: KW-long FMA chains instead of one KH*KW-long chain.
        __m256 part[KH];
#pragma GCC unroll 5
        for (int ki = 0; ki < KH; ++ki) {
          part[ki] = _mm256_mul_ps(_mm256_loadu_ps(row + off[ki * KW] + ox), wv[ki * KW]);
#pragma GCC unroll 5
          for (int kj = 1; kj < KW; ++kj)
            part[ki] = _mm256_fmadd_ps(_mm256_loadu_ps(row + off[ki * KW + kj] + ox), wv[ki * KW + kj], part[ki]);
        }
        acc = part[0];
#pragma GCC unroll 5
        for (int ki = 1; ki < KH; ++ki) acc = _mm256_add_ps(acc, part[ki]);
      } else {
        for (std::size_t t = 0; t < nt; ++t)
          acc = _mm256_fmadd_ps(_mm256_loadu_ps(row + off[t] + ox), _mm256_set1_ps(taps[t]), acc);
      }
      const __m256i v = _mm256_add_epi32(_mm256_cvtps_epi32(acc), bias);
      const std::size_t o = oy * g.ow + ox;
      if (p.output_u8) {
        __m256 f = _mm256_mul_ps(_mm256_cvtepi32_ps(v), scale);
        f = _mm256_min_ps(_mm256_max_ps(f, lo), hi);
        const __m256i q = _mm256_add_epi32(_mm256_cvtps_epi32(f), yz);  // in [0, 255]
        const __m128i w16 = _mm_packs_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
        const __m128i b8 = _mm_packus_epi16(w16, w16);
        std::uint8_t* dst = static_cast<std::uint8_t*>(y) + o;
        if (lanes == 8) {
          _mm_storel_epi64(reinterpret_cast<__m128i*>(dst), b8);
        } else {
          alignas(16) std::uint8_t tmp[16];
          _mm_store_si128(reinterpret_cast<__m128i*>(tmp), b8);
          std::memcpy(dst, tmp, lanes);
        }
      } else {
        std::int32_t* dst = static_cast<std::int32_t*>(y) + o;
        if (lanes == 8) {
          _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst), v);
        } else {
          alignas(32) std::int32_t tmp[8];
          _mm256_store_si256(reinterpret_cast<__m256i*>(tmp), v);
          std::memcpy(dst, tmp, lanes * sizeof(std::int32_t));
        }
      }
    }
  }
}

}  // namespace

void qu8_dwconv_8w__avx2(const ConvGeom& g, const std::uint8_t* x, std::uint8_t pad, const float* taps,
                         const QDwConvParams& p, void* scratch, void* y) {
  if (g.kh == 3 && g.kw == 3) plane<3, 3>(g, x, pad, taps, p, scratch, y);
  else if (g.kh == 5 && g.kw == 5) plane<5, 5>(g, x, pad, taps, p, scratch, y);
  else plane<0, 0>(g, x, pad, taps, p, scratch, y);
}

}  // namespace sparsify::engine
