// AVX-512 vector-math row (vmath_impl.inl over 16-lane zmm vectors, tails by opmask).
// GCC 12 warns about _mm512_undefined_ps() inside its own intrinsics (GCC bug 105593).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <cstddef>

#include "engine/kernels/vmath/family.h"

namespace sparsify::engine {
namespace {

struct V {
  using T = __m512;
  static constexpr std::size_t kLanes = 16;
  static __mmask16 mask(std::size_t n) { return static_cast<__mmask16>((1u << n) - 1u); }
  static T set1(float v) { return _mm512_set1_ps(v); }
  static T load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, T v) { _mm512_storeu_ps(p, v); }
  static T load_tail(const float* p, std::size_t n, float fill) { return _mm512_mask_loadu_ps(set1(fill), mask(n), p); }
  static void store_tail(float* p, T v, std::size_t n) { _mm512_mask_storeu_ps(p, mask(n), v); }
  static T add(T a, T b) { return _mm512_add_ps(a, b); }
  static T sub(T a, T b) { return _mm512_sub_ps(a, b); }
  static T mul(T a, T b) { return _mm512_mul_ps(a, b); }
  static T div(T a, T b) { return _mm512_div_ps(a, b); }
  static T fmadd(T a, T b, T c) { return _mm512_fmadd_ps(a, b, c); }
  static T min(T a, T b) { return _mm512_min_ps(a, b); }
  static T max(T a, T b) { return _mm512_max_ps(a, b); }
  static T round(T a) { return _mm512_roundscale_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  static T pow2i(T n) {
    const __m512i e = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
    return _mm512_castsi512_ps(e);
  }
  static T select_lt(T a, T b, T t, T f) { return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(a, b, _CMP_LT_OQ), f, t); }
  static T select_nan(T a, T t, T f) { return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(a, a, _CMP_UNORD_Q), f, t); }
  static float reduce_add(T a) { return _mm512_reduce_add_ps(a); }
  static float reduce_max(T a) { return _mm512_reduce_max_ps(a); }
};

#include "engine/kernels/vmath/vmath_impl.inl"

}  // namespace

void f32_softmax__avx512(const float* x, float* y, std::size_t n) { softmax_row<V>(x, y, n); }
void f32_erf__avx512(const float* x, float* y, std::size_t n) { map_row<V>(x, y, n, v_erf<V>); }
void f32_gelu__avx512(const float* x, float* y, std::size_t n) { map_row<V>(x, y, n, v_gelu<V>); }
void f32_layer_norm__avx512(const float* x, float* y, std::size_t n, const float* scale, const float* bias, float eps) {
  layer_norm_row<V>(x, y, n, scale, bias, eps);
}

}  // namespace sparsify::engine
