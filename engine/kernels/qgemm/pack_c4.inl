// c4 packers shared by the x86 int8 TUs (SSE2 byte interleave; scalar tails). Included INSIDE each
// ISA translation unit's anonymous namespace, after <emmintrin.h>, <cstring> and family.h.

// B [k, nc] u8 row-major -> NR-column c4 panels: 4 rows of 16 bytes become 16 dwords by two
// rounds of unpack (bytes of rows 0/1 and 2/3, then 16-bit pairs).
inline void pack_b_c4(std::size_t k, std::size_t nc, const std::uint8_t* b, std::size_t ldb, std::size_t nr,
                      std::uint8_t* packed) {
  const std::size_t k4 = (k + 3) / 4;
  for (std::size_t n0 = 0; n0 < nc; n0 += nr, packed += k4 * 4 * nr) {
    const std::size_t cols = nc - n0 < nr ? nc - n0 : nr;
    for (std::size_t g = 0; g < k4; ++g) {
      std::uint8_t* dst = packed + g * nr * 4;
      const std::uint8_t* src = b + 4 * g * ldb + n0;
      if (cols == nr && nr % 16 == 0) {
        // The last group of a K that is not a multiple of 4 reads its 1-3 rows and zeros.
        const std::size_t rows = k - 4 * g < 4 ? k - 4 * g : 4;
        const __m128i zero = _mm_setzero_si128();
        auto row = [&](std::size_t t, std::size_t c0) {
          return t < rows ? _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + t * ldb + c0)) : zero;
        };
        for (std::size_t c0 = 0; c0 < nr; c0 += 16) {
          const __m128i r0 = row(0, c0), r1 = row(1, c0), r2 = row(2, c0), r3 = row(3, c0);
          const __m128i a01lo = _mm_unpacklo_epi8(r0, r1), a01hi = _mm_unpackhi_epi8(r0, r1);
          const __m128i a23lo = _mm_unpacklo_epi8(r2, r3), a23hi = _mm_unpackhi_epi8(r2, r3);
          __m128i* out = reinterpret_cast<__m128i*>(dst + c0 * 4);
          _mm_storeu_si128(out + 0, _mm_unpacklo_epi16(a01lo, a23lo));
          _mm_storeu_si128(out + 1, _mm_unpackhi_epi16(a01lo, a23lo));
          _mm_storeu_si128(out + 2, _mm_unpacklo_epi16(a01hi, a23hi));
          _mm_storeu_si128(out + 3, _mm_unpackhi_epi16(a01hi, a23hi));
        }
        continue;
      }
      for (std::size_t j = 0; j < nr; ++j)
        for (std::size_t t = 0; t < 4; ++t)
          dst[j * 4 + t] = j < cols && 4 * g + t < k ? src[t * ldb + j] : 0;
    }
  }
}

// A [mc, k] u8 row-major -> MR-row c4 panels: dword copies.
inline void pack_a_c4(std::size_t mc, std::size_t k, const std::uint8_t* a, std::size_t lda, std::size_t mr,
                      std::uint8_t* packed) {
  const std::size_t k4 = (k + 3) / 4, full = k / 4;
  for (std::size_t m0 = 0; m0 < mc; m0 += mr, packed += k4 * 4 * mr) {
    for (std::size_t r = 0; r < mr; ++r) {
      if (m0 + r >= mc) {
        for (std::size_t g = 0; g < k4; ++g) std::memset(packed + (g * mr + r) * 4, 0, 4);
        continue;
      }
      const std::uint8_t* src = a + (m0 + r) * lda;
      for (std::size_t g = 0; g < full; ++g) std::memcpy(packed + (g * mr + r) * 4, src + 4 * g, 4);
      if (full < k4) {
        std::uint8_t tail[4] = {0, 0, 0, 0};
        for (std::size_t t = 0; 4 * full + t < k; ++t) tail[t] = src[4 * full + t];
        std::memcpy(packed + (full * mr + r) * 4, tail, 4);
      }
    }
  }
}
