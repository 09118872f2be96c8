// pack_a with 8x8 register transposes, included inside the anonymous namespace of the AVX2 and
// AVX-512 gemm translation units (it needs only AVX). Packed layout as in family.h: panel p holds
// a[k * MR + r] = A[p * MR + r][k]. Groups of 8 rows x 8 k go through 8 row loads, an 8x8
// transpose (unpack, shuffle, permute2f128) and 8 stores of one k each (8 consecutive r);
// leftover rows and columns take the scalar loop; rows past mc are zero.

inline void transpose_8x8(const float* src, std::size_t lda, float* dst, std::size_t dst_stride) {
  const __m256 r0 = _mm256_loadu_ps(src), r1 = _mm256_loadu_ps(src + lda), r2 = _mm256_loadu_ps(src + 2 * lda),
               r3 = _mm256_loadu_ps(src + 3 * lda), r4 = _mm256_loadu_ps(src + 4 * lda),
               r5 = _mm256_loadu_ps(src + 5 * lda), r6 = _mm256_loadu_ps(src + 6 * lda),
               r7 = _mm256_loadu_ps(src + 7 * lda);
  const __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1), t2 = _mm256_unpacklo_ps(r2, r3),
               t3 = _mm256_unpackhi_ps(r2, r3), t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5),
               t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
  const __m256 s0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0)), s1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2)),
               s2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0)), s3 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2)),
               s4 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(1, 0, 1, 0)), s5 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(3, 2, 3, 2)),
               s6 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(1, 0, 1, 0)), s7 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(3, 2, 3, 2));
  _mm256_storeu_ps(dst, _mm256_permute2f128_ps(s0, s4, 0x20));
  _mm256_storeu_ps(dst + dst_stride, _mm256_permute2f128_ps(s1, s5, 0x20));
  _mm256_storeu_ps(dst + 2 * dst_stride, _mm256_permute2f128_ps(s2, s6, 0x20));
  _mm256_storeu_ps(dst + 3 * dst_stride, _mm256_permute2f128_ps(s3, s7, 0x20));
  _mm256_storeu_ps(dst + 4 * dst_stride, _mm256_permute2f128_ps(s0, s4, 0x31));
  _mm256_storeu_ps(dst + 5 * dst_stride, _mm256_permute2f128_ps(s1, s5, 0x31));
  _mm256_storeu_ps(dst + 6 * dst_stride, _mm256_permute2f128_ps(s2, s6, 0x31));
  _mm256_storeu_ps(dst + 7 * dst_stride, _mm256_permute2f128_ps(s3, s7, 0x31));
}

inline void pack_a_ymm(std::size_t mc, std::size_t kc, const float* a, std::size_t lda, std::size_t mr, float* packed) {
  for (std::size_t m0 = 0; m0 < mc; m0 += mr) {
    const std::size_t rows = mc - m0 < mr ? mc - m0 : mr;
    std::size_t r = 0;
    for (; r + 8 <= rows; r += 8) {
      const float* src = a + (m0 + r) * lda;
      std::size_t k = 0;
      for (; k + 8 <= kc; k += 8) transpose_8x8(src + k, lda, packed + k * mr + r, mr);
      for (; k < kc; ++k)
        for (std::size_t i = 0; i < 8; ++i) packed[k * mr + r + i] = src[i * lda + k];
    }
    for (; r < rows; ++r) {
      const float* src = a + (m0 + r) * lda;
      for (std::size_t k = 0; k < kc; ++k) packed[k * mr + r] = src[k];
    }
    for (r = rows; r < mr; ++r)
      for (std::size_t k = 0; k < kc; ++k) packed[k * mr + r] = 0.0f;
    packed += kc * mr;
  }
}
