// AVX-512 VNNI int8 direct conv (qdirect_vector_covers shapes): per output row and 16 outputs,
// each of the C * kh input rows is gathered once into tap-byte dwords (as in the depthwise VNNI
// row: one masked row load, vpermd to the 128-bit groups, vpshufb to the bytes under taps
// kj = 0..3 of each output), then every output channel takes C * kh vpdpbusd with its broadcast
// weight dwords, the int8 GEMM's requantization and a masked vpmovdb store.
//   stride 1: lane i <- row bytes c+i .. c+i+3;   group q uses bytes 4q .. 4q+6 = dwords q, q+1
//   stride 2: lane i <- row bytes c+2i .. c+2i+3; group q uses bytes 8q .. 8q+9 = dwords 2q .. 2q+2
// GCC 12 warns about _mm512_undefined_* inside its own intrinsics (GCC bug 105593).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "engine/kernels/qdirect/family.h"

namespace sparsify::engine {
namespace {

constexpr std::size_t kMaxRows = 4 * 7;  // C * kh within the cover

inline __mmask64 load_mask(std::ptrdiff_t c, std::size_t w) {
  const std::ptrdiff_t lo = std::max<std::ptrdiff_t>(0, -c);
  const std::ptrdiff_t hi = std::min<std::ptrdiff_t>(64, static_cast<std::ptrdiff_t>(w) - c);
  if (hi <= lo) return 0;
  const std::uint64_t upto_hi = hi >= 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << hi) - 1;
  return upto_hi & ~((std::uint64_t{1} << lo) - 1);
}

struct Gather {
  __m512i pad, perm, shuf;
  inline __m512i operator()(const ConvGeom& g, const std::uint8_t* plane, std::ptrdiff_t iy, std::ptrdiff_t c,
                            __mmask64 m) const {
    if (iy < 0 || iy >= static_cast<std::ptrdiff_t>(g.h) || m == 0) return pad;
    const __m512i raw = _mm512_mask_loadu_epi8(pad, m, plane + static_cast<std::size_t>(iy) * g.w + c);
    return _mm512_shuffle_epi8(_mm512_permutexvar_epi32(perm, raw), shuf);
  }
};

Gather make_gather(std::size_t sw, std::uint8_t pad) {
  Gather ga;
  ga.pad = _mm512_set1_epi8(static_cast<char>(pad));
  if (sw == 1) {
    ga.perm = _mm512_setr_epi32(0, 1, 0, 0, 1, 2, 0, 0, 2, 3, 0, 0, 3, 4, 0, 0);
    ga.shuf = _mm512_broadcast_i32x4(_mm_setr_epi8(0, 1, 2, 3, 1, 2, 3, 4, 2, 3, 4, 5, 3, 4, 5, 6));
  } else {
    ga.perm = _mm512_setr_epi32(0, 1, 2, 0, 2, 3, 4, 0, 4, 5, 6, 0, 6, 7, 8, 0);
    ga.shuf = _mm512_broadcast_i32x4(_mm_setr_epi8(0, 1, 2, 3, 2, 3, 4, 5, 4, 5, 6, 7, 6, 7, 8, 9));
  }
  return ga;
}

// C input channels and KH kernel rows fixed at compile time (the gathered rows stay in registers),
// or 0, 0 for runtime counts.
template <int C, int KH>
void direct(const ConvGeom& g, const QDirectConvParams& p, std::size_t m0, std::size_t m1, std::size_t oy0,
            std::size_t oy1, const std::uint8_t* x, std::uint8_t* y) {
  constexpr int kRows = C * KH;
  const std::size_t channels = C != 0 ? C : p.channels, kh = KH != 0 ? KH : g.kh;
  const std::size_t rows = channels * kh, plane = g.h * g.w;
  const Gather ga = make_gather(g.sw, p.pad);
  const __m512i yz = _mm512_set1_epi32(p.y_zero);
  const __m512 lo = _mm512_set1_ps(static_cast<float>(p.y_min - p.y_zero));
  const __m512 hi = _mm512_set1_ps(static_cast<float>(p.y_max - p.y_zero));
  __m512i q[kRows != 0 ? kRows : kMaxRows];
  for (std::size_t oy = oy0; oy < oy1; ++oy) {
    for (std::size_t ox = 0; ox < g.ow; ox += 16) {
      const std::ptrdiff_t c = static_cast<std::ptrdiff_t>(ox * g.sw) - static_cast<std::ptrdiff_t>(g.pl);
      const __mmask64 m = load_mask(c, g.w);
#pragma GCC unroll 4
      for (std::size_t ch = 0; ch < channels; ++ch) {
#pragma GCC unroll 7
        for (std::size_t ki = 0; ki < kh; ++ki) {
          const std::ptrdiff_t iy = static_cast<std::ptrdiff_t>(oy * g.sh + ki * g.dh) - static_cast<std::ptrdiff_t>(g.pt);
          q[ch * kh + ki] = ga(g, x + ch * plane, iy, c, m);
        }
      }
      const std::size_t lanes = g.ow - ox;
      const __mmask16 om = lanes >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << lanes) - 1u);
      for (std::size_t mm = m0; mm < m1; ++mm) {
        const std::int8_t* w = p.w4 + mm * rows * 4;
        __m512i acc = _mm512_set1_epi32(p.bias[mm]);
#pragma GCC unroll 28
        for (std::size_t r = 0; r < rows; ++r) {
          std::int32_t dword;
          std::memcpy(&dword, w + r * 4, 4);
          acc = _mm512_dpbusd_epi32(acc, q[r], _mm512_set1_epi32(dword));
        }
        __m512 f = _mm512_mul_ps(_mm512_cvtepi32_ps(acc), _mm512_set1_ps(p.scale[mm]));
        f = _mm512_min_ps(_mm512_max_ps(f, lo), hi);
        _mm512_mask_cvtepi32_storeu_epi8(y + (mm * g.oh + oy) * g.ow + ox, om, _mm512_add_epi32(_mm512_cvtps_epi32(f), yz));
      }
    }
  }
}

}  // namespace

void qu8_conv_direct_16w__avx512vnni(const ConvGeom& g, const QDirectConvParams& p, std::size_t m0, std::size_t m1,
                                     std::size_t oy0, std::size_t oy1, const std::uint8_t* x, std::uint8_t* y) {
  if (p.channels == 3 && g.kh == 3) direct<3, 3>(g, p, m0, m1, oy0, oy1, x, y);  // RGB 3x3 stems
  else direct<0, 0>(g, p, m0, m1, oy0, oy1, x, y);
}

}  // namespace sparsify::engine
