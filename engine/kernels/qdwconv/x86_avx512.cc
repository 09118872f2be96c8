// AVX-512 int8 depthwise conv plane, any shape (kQDwAnyShape): float accumulation (exact for
// kh*kw <= 256; see family.h). The padded plane is converted to phase-split floats in scratch row
// by row just before the first output row that reads it, then 16 outputs per zmm: one FMA per tap
// with the taps broadcast in registers, then the int8 GEMM's requantization (vcvtps2dq rounds half
// to even) and a masked vpmovdb / int32 store for the tail.
// GCC 12 warns about _mm512_undefined_* inside its own intrinsics (GCC bug 105593).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "engine/kernels/qdwconv/family.h"

namespace sparsify::engine {
namespace {

// Lanes [lo, hi) of an n-lane chunk whose padded columns start at c0 (x column = c0 + lane - pl)
// that fall inside the row.
inline std::uint64_t inside_mask(const ConvGeom& g, std::ptrdiff_t c0, std::ptrdiff_t n) {
  const std::ptrdiff_t lo = std::max<std::ptrdiff_t>(0, static_cast<std::ptrdiff_t>(g.pl) - c0);
  const std::ptrdiff_t hi = std::min<std::ptrdiff_t>(n, static_cast<std::ptrdiff_t>(g.w + g.pl) - c0);
  if (hi <= lo) return 0;
  const std::uint64_t upto_hi = hi >= 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << hi) - 1;
  return upto_hi & ~((std::uint64_t{1} << lo) - 1);
}

// Padded row (xrow == nullptr: a padding row) -> floats, split by column phase. Columns outside
// the row (padding, and the slack past pw) read as `pad`: finite, and only ever feeding lanes that
// are not stored. Masked loads never touch bytes outside [xrow, xrow + w).
void convert_row(const ConvGeom& g, const QDwScratchLayout& l, const std::uint8_t* xrow, std::uint8_t pad,
                 std::uint8_t* stage, float* dst) {
  const std::ptrdiff_t pl = static_cast<std::ptrdiff_t>(g.pl);
  if (xrow == nullptr) {
    const __m512 pv = _mm512_set1_ps(static_cast<float>(pad));
    for (std::size_t i = 0; i < l.row_pitch; i += 16) _mm512_storeu_ps(dst + i, pv);
  } else if (g.sw == 1) {
    const __m128i pv = _mm_set1_epi8(static_cast<char>(pad));
    for (std::size_t i = 0; i < l.phase_len; i += 16) {
      const std::ptrdiff_t c0 = static_cast<std::ptrdiff_t>(i);
      const __mmask16 m = static_cast<__mmask16>(inside_mask(g, c0, 16));
      const __m128i b = m == 0 ? pv : _mm_mask_loadu_epi8(pv, m, xrow + (c0 - pl));
      _mm512_storeu_ps(dst + i, _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(b)));
    }
  } else if (g.sw == 2) {
    const __m256i pv = _mm256_set1_epi8(static_cast<char>(pad));
    const __m512i low16 = _mm512_set1_epi32(0xFFFF);
    for (std::size_t i = 0; i < l.phase_len; i += 16) {
      const std::ptrdiff_t c0 = static_cast<std::ptrdiff_t>(2 * i);
      const __mmask32 m = static_cast<__mmask32>(inside_mask(g, c0, 32));
      const __m256i b = m == 0 ? pv : _mm256_mask_loadu_epi8(pv, m, xrow + (c0 - pl));
      const __m512i v = _mm512_cvtepu8_epi16(b);
      _mm512_storeu_ps(dst + i, _mm512_cvtepi32_ps(_mm512_and_si512(v, low16)));
      _mm512_storeu_ps(dst + l.phase_len + i, _mm512_cvtepi32_ps(_mm512_srli_epi32(v, 16)));
    }
  } else {
    std::memset(stage, pad, l.row_pitch);
    std::memcpy(stage + g.pl, xrow, g.w);
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

// Sum over the taps of one 16-output vector at p (fixed kernel size): one accumulator per kernel
// row, so the FMA chains are KW long instead of KH * KW.
template <int KH, int KW>
inline __m512 tap_sum(const float* p, const std::size_t* off, const __m512* wv) {
  __m512 part[KH];
#pragma GCC unroll 5
  for (int ki = 0; ki < KH; ++ki) {
    part[ki] = _mm512_mul_ps(_mm512_loadu_ps(p + off[ki * KW]), wv[ki * KW]);
#pragma GCC unroll 5
    for (int kj = 1; kj < KW; ++kj) part[ki] = _mm512_fmadd_ps(_mm512_loadu_ps(p + off[ki * KW + kj]), wv[ki * KW + kj], part[ki]);
  }
  __m512 acc = part[0];
#pragma GCC unroll 5
  for (int ki = 1; ki < KH; ++ki) acc = _mm512_add_ps(acc, part[ki]);
  return acc;
}
template <>
inline __m512 tap_sum<0, 0>(const float*, const std::size_t*, const __m512*) {
  return _mm512_setzero_ps();
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
  __m512 wv[kFixed];
  if (KH * KW != 0)
    for (std::size_t t = 0; t < kFixed; ++t) wv[t] = _mm512_set1_ps(taps[t]);
  const __m512i bias = _mm512_set1_epi32(p.bias), yz = _mm512_set1_epi32(p.y_zero);
  const __m512 scale = _mm512_set1_ps(p.scale);
  const __m512 lo = _mm512_set1_ps(static_cast<float>(p.y_min - p.y_zero));
  const __m512 hi = _mm512_set1_ps(static_cast<float>(p.y_max - p.y_zero));
  auto store = [&](__m512 acc, std::size_t oy, std::size_t ox, __mmask16 m) {
    const __m512i v = _mm512_add_epi32(_mm512_cvtps_epi32(acc), bias);
    const std::size_t o = oy * g.ow + ox;
    if (p.output_u8) {
      __m512 f = _mm512_mul_ps(_mm512_cvtepi32_ps(v), scale);
      f = _mm512_min_ps(_mm512_max_ps(f, lo), hi);
      _mm512_mask_cvtepi32_storeu_epi8(static_cast<std::uint8_t*>(y) + o, m, _mm512_add_epi32(_mm512_cvtps_epi32(f), yz));
    } else {
      _mm512_mask_storeu_epi32(static_cast<std::int32_t*>(y) + o, m, v);
    }
  };
  auto tail_mask = [&](std::size_t ox) {
    const std::size_t lanes = g.ow - ox;
    return lanes >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << lanes) - 1u);
  };
  const std::size_t row_step = g.sh * l.row_pitch;
  std::size_t oy = 0;
  // 3x3: kRows output rows at once, so small planes (7 or 14 wide: one vector per row) still have
  // independent FMA chains in flight.
  constexpr int kRows = KH == 3 && KW == 3 ? 4 : 1;
  if (kRows > 1) {
    for (; oy + kRows <= g.oh; oy += kRows) {
      convert_upto((oy + kRows - 1) * g.sh + (kh - 1) * g.dh);
      const float* row = s + oy * row_step;
      for (std::size_t ox = 0; ox < g.ow; ox += 16) {
        __m512 acc[kRows];
#pragma GCC unroll 4
        for (int r = 0; r < kRows; ++r) acc[r] = tap_sum<KH, KW>(row + r * row_step + ox, off, wv);
        const __mmask16 m = tail_mask(ox);
#pragma GCC unroll 4
        for (int r = 0; r < kRows; ++r) store(acc[r], oy + r, ox, m);
      }
    }
  }
  for (; oy < g.oh; ++oy) {
    convert_upto(oy * g.sh + (kh - 1) * g.dh);
    const float* row = s + oy * row_step;
    for (std::size_t ox = 0; ox < g.ow; ox += 16) {
      __m512 acc = _mm512_setzero_ps();
      if (KH * KW != 0) {
        acc = tap_sum<KH, KW>(row + ox, off, wv);
      } else {
        for (std::size_t t = 0; t < nt; ++t)
          acc = _mm512_fmadd_ps(_mm512_loadu_ps(row + off[t] + ox), _mm512_set1_ps(taps[t]), acc);
      }
      store(acc, oy, ox, tail_mask(ox));
    }
  }
}


}  // namespace

// 3x3 and 5x5 with the taps in registers, others with a runtime tap loop.
void qu8_dwconv_16w__avx512(const ConvGeom& g, const std::uint8_t* x, std::uint8_t pad, const float* taps,
                            const QDwConvParams& p, void* scratch, void* y) {
  if (g.kh == 3 && g.kw == 3) plane<3, 3>(g, x, pad, taps, p, scratch, y);
  else if (g.kh == 5 && g.kw == 5) plane<5, 5>(g, x, pad, taps, p, scratch, y);
  else plane<0, 0>(g, x, pad, taps, p, scratch, y);
}

}  // namespace sparsify::engine
