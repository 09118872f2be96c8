// AVX-512 VNNI int8 depthwise conv plane for the kQDwInt8Taps cover (kernels at most 4 wide with
// dilation 1 along W, stride 1 or 2 along W, at most 8 rows, taps w - w_zp that fit int8): one
// vpdpbusd per kernel row per 16 outputs, straight from the u8 input (no scratch); 3-row kernels
// compute 8 (stride 1) or 4 output rows at once, each input row gathered once; the accumulators
// start from the folded bias. Same exact int32 accumulator and requantization as every row.
//
// Byte t of dword lane i (output ox0 + i) is the input under tap kj = t of that output; a 3-wide
// kernel's 4th weight byte is zero, so what sits under it does not matter. One masked load of the
// row at column c = ox0 * sw - pl (lanes outside [0, w) filled with the padding value) holds them
// all; vpermd brings each 128-bit group q (lanes 4q .. 4q+3) the dwords it needs and vpshufb picks
// the bytes:
//   stride 1: lane i <- bytes c+i .. c+i+3;   group q uses bytes 4q .. 4q+6  = dwords q, q+1
//   stride 2: lane i <- bytes c+2i .. c+2i+3; group q uses bytes 8q .. 8q+9  = dwords 2q .. 2q+2
// weights: per kernel row ki, the dword (w'[ki][0], w'[ki][1], w'[ki][2], w'[ki][3] or 0) broadcast.
// GCC 12 warns about _mm512_undefined_* inside its own intrinsics (GCC bug 105593).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "engine/base/check.h"
#include "engine/kernels/qdwconv/family.h"

namespace sparsify::engine {
namespace {

constexpr std::size_t kMaxRows = 8;

// Bytes b in [0, 64) of a load at column c with 0 <= c + b < w.
inline __mmask64 load_mask(std::ptrdiff_t c, std::size_t w) {
  const std::ptrdiff_t lo = std::max<std::ptrdiff_t>(0, -c);
  const std::ptrdiff_t hi = std::min<std::ptrdiff_t>(64, static_cast<std::ptrdiff_t>(w) - c);
  if (hi <= lo) return 0;
  const std::uint64_t upto_hi = hi >= 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << hi) - 1;
  return upto_hi & ~((std::uint64_t{1} << lo) - 1);
}

struct Gather {
  __m512i pad, perm, shuf;
  bool narrow;  // stride 1: the 16 lanes need bytes 0..19 only, so a 32-byte load (fewer line splits)
  // The 16 lanes of tap bytes for input row iy (any integer; outside [0, h) is all padding).
  inline __m512i operator()(const ConvGeom& g, const std::uint8_t* x, std::ptrdiff_t iy, std::ptrdiff_t c,
                            __mmask64 m) const {
    if (iy < 0 || iy >= static_cast<std::ptrdiff_t>(g.h) || m == 0) return pad;
    const std::uint8_t* src = x + static_cast<std::size_t>(iy) * g.w + c;
    const __m512i raw = narrow ? _mm512_castsi256_si512(_mm256_mask_loadu_epi8(_mm512_castsi512_si256(pad),
                                                                               static_cast<__mmask32>(m), src))
                               : _mm512_mask_loadu_epi8(pad, m, src);
    return _mm512_shuffle_epi8(_mm512_permutexvar_epi32(perm, raw), shuf);
  }
};

Gather make_gather(std::size_t sw, std::uint8_t pad) {
  Gather ga;
  ga.pad = _mm512_set1_epi8(static_cast<char>(pad));
  ga.narrow = sw == 1;
  if (sw == 1) {
    ga.perm = _mm512_setr_epi32(0, 1, 0, 0, 1, 2, 0, 0, 2, 3, 0, 0, 3, 4, 0, 0);
    ga.shuf = _mm512_broadcast_i32x4(_mm_setr_epi8(0, 1, 2, 3, 1, 2, 3, 4, 2, 3, 4, 5, 3, 4, 5, 6));
  } else {
    ga.perm = _mm512_setr_epi32(0, 1, 2, 0, 2, 3, 4, 0, 4, 5, 6, 0, 6, 7, 8, 0);
    ga.shuf = _mm512_broadcast_i32x4(_mm_setr_epi8(0, 1, 2, 3, 2, 3, 4, 5, 4, 5, 6, 7, 6, 7, 8, 9));
  }
  return ga;
}

struct Epilogue {
  __m512i bias, yz;
  __m512 scale, lo, hi;
  bool output_u8;
  explicit Epilogue(const QDwConvParams& p)
      : bias(_mm512_set1_epi32(p.bias)),
        yz(_mm512_set1_epi32(p.y_zero)),
        scale(_mm512_set1_ps(p.scale)),
        lo(_mm512_set1_ps(static_cast<float>(p.y_min - p.y_zero))),
        hi(_mm512_set1_ps(static_cast<float>(p.y_max - p.y_zero))),
        output_u8(p.output_u8) {}
  // acc already holds the bias (accumulators start from it).
  inline void store(__m512i v, void* y, std::size_t o, __mmask16 m) const {
    if (output_u8) {
      __m512 f = _mm512_mul_ps(_mm512_cvtepi32_ps(v), scale);
      f = _mm512_min_ps(_mm512_max_ps(f, lo), hi);
      _mm512_mask_cvtepi32_storeu_epi8(static_cast<std::uint8_t*>(y) + o, m, _mm512_add_epi32(_mm512_cvtps_epi32(f), yz));
    } else {
      _mm512_mask_storeu_epi32(static_cast<std::int32_t*>(y) + o, m, v);
    }
  }
};

inline __mmask16 out_mask(std::size_t ow, std::size_t ox) {
  const std::size_t lanes = ow - ox;
  return lanes >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << lanes) - 1u);
}

// Output rows [oy, oy + R) of a KH-row kernel with vertical stride SH and dilation 1: each of the
// (R - 1) * SH + KH input rows is gathered once and feeds every output row that reads it.
template <int KH, int SH, int R>
void rows_block(const ConvGeom& g, const std::uint8_t* x, std::size_t oy, const Gather& ga, const __m512i* wk,
                const Epilogue& ep, void* y) {
  constexpr int kIn = (R - 1) * SH + KH;
  const std::ptrdiff_t iy0 = static_cast<std::ptrdiff_t>(oy * SH) - static_cast<std::ptrdiff_t>(g.pt);
  for (std::size_t ox = 0; ox < g.ow; ox += 16) {
    const std::ptrdiff_t c = static_cast<std::ptrdiff_t>(ox * g.sw) - static_cast<std::ptrdiff_t>(g.pl);
    const __mmask64 m = load_mask(c, g.w);
    __m512i acc[R];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) acc[r] = ep.bias;
#pragma GCC unroll 16
    for (int j = 0; j < kIn; ++j) {
      const __m512i q = ga(g, x, iy0 + j, c, m);
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) {
        const int ki = j - r * SH;
        if (ki >= 0 && ki < KH) acc[r] = _mm512_dpbusd_epi32(acc[r], q, wk[ki]);
      }
    }
    const __mmask16 om = out_mask(g.ow, ox);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) ep.store(acc[r], y, (oy + r) * g.ow + ox, om);
  }
}

// One output row, any kernel height (<= kMaxRows) and vertical dilation.
void row_any(const ConvGeom& g, const std::uint8_t* x, std::size_t oy, const Gather& ga, const __m512i* wk,
             const Epilogue& ep, void* y) {
  for (std::size_t ox = 0; ox < g.ow; ox += 16) {
    const std::ptrdiff_t c = static_cast<std::ptrdiff_t>(ox * g.sw) - static_cast<std::ptrdiff_t>(g.pl);
    const __mmask64 m = load_mask(c, g.w);
    __m512i acc = ep.bias;
    for (std::size_t ki = 0; ki < g.kh; ++ki) {
      const std::ptrdiff_t iy = static_cast<std::ptrdiff_t>(oy * g.sh + ki * g.dh) - static_cast<std::ptrdiff_t>(g.pt);
      acc = _mm512_dpbusd_epi32(acc, ga(g, x, iy, c, m), wk[ki]);
    }
    ep.store(acc, y, oy * g.ow + ox, out_mask(g.ow, ox));
  }
}

template <int SH>
void plane_3(const ConvGeom& g, const std::uint8_t* x, const Gather& ga, const __m512i* wk, const Epilogue& ep,
             void* y) {
  std::size_t oy = 0;
  if (SH == 1)
    for (; oy + 8 <= g.oh; oy += 8) rows_block<3, SH, 8>(g, x, oy, ga, wk, ep, y);
  for (; oy + 4 <= g.oh; oy += 4) rows_block<3, SH, 4>(g, x, oy, ga, wk, ep, y);
  switch (g.oh - oy) {  // the last 1-3 rows still share their input rows
    case 3: rows_block<3, SH, 3>(g, x, oy, ga, wk, ep, y); break;
    case 2: rows_block<3, SH, 2>(g, x, oy, ga, wk, ep, y); break;
    case 1: rows_block<3, SH, 1>(g, x, oy, ga, wk, ep, y); break;
    default: break;
  }
}

// Taps as broadcast int8 weight dwords, one per kernel row (the cover guarantees they fit).
void vnni_weights(const ConvGeom& g, const float* taps, __m512i* wk) {
  for (std::size_t ki = 0; ki < g.kh; ++ki) {
    std::int8_t b[4] = {0, 0, 0, 0};
    for (std::size_t kj = 0; kj < g.kw; ++kj) b[kj] = static_cast<std::int8_t>(taps[ki * g.kw + kj]);
    std::int32_t dword;
    std::memcpy(&dword, b, 4);
    wk[ki] = _mm512_set1_epi32(dword);
  }
}

}  // namespace

void qu8_dwconv_3x16w__avx512vnni(const ConvGeom& g, const std::uint8_t* x, std::uint8_t pad, const float* taps,
                                  const QDwConvParams& p, void* /*scratch*/, void* y) {
  SPARSIFY_DCHECK(g.kw <= 4 && g.kh <= kMaxRows && g.dw == 1 && (g.sw == 1 || g.sw == 2));
  __m512i wk[kMaxRows];
  vnni_weights(g, taps, wk);
  const Gather ga = make_gather(g.sw, pad);
  const Epilogue ep(p);
  if (g.kh == 3 && g.dh == 1 && g.sh == 1) {
    plane_3<1>(g, x, ga, wk, ep, y);
  } else if (g.kh == 3 && g.dh == 1 && g.sh == 2) {
    plane_3<2>(g, x, ga, wk, ep, y);
  } else {
    for (std::size_t oy = 0; oy < g.oh; ++oy) row_any(g, x, oy, ga, wk, ep, y);
  }
}

}  // namespace sparsify::engine
