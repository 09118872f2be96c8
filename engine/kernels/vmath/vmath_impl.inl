// The vector-math algorithms, written once over a vector type V and included inside the anonymous
// namespace of each ISA translation unit (x86_avx2.cc, x86_avx512.cc) after that TU defines V:
//   V::T, V::kLanes, set1, load, store, load_tail(p, n, fill) (lanes >= n read as fill),
//   store_tail(p, v, n), add, sub, mul, div, fmadd(a, b, c) = a * b + c, min, max, round (to
//   nearest), pow2i (2^n for integral n in [-126, 127]), select_lt(a, b, t, f) = a < b ? t : f,
//   select_nan(a, t, f) = isnan(a) ? t : f, reduce_add, reduce_max.
// Tails are handled by one masked iteration, so no row needs padding.

// exp(x): x = n ln2 + r, |r| <= ln2 / 2, exp(r) by the Cephes expf polynomial (~1 ulp), times 2^n.
// ref: Cephes Math Library, expf.c (S. L. Moshier). Below -87.3 the result is 0 (the float range
// ends there), above 88.72 it is +inf; NaN propagates through the polynomial.
template <class V>
typename V::T v_exp(typename V::T x) {
  using T = typename V::T;
  const T lo = V::set1(-87.3365447f), hi = V::set1(88.0f);
  const T xc = V::min(V::max(x, lo), hi);
  const T n = V::round(V::mul(xc, V::set1(1.44269504088896341f)));
  T r = V::fmadd(n, V::set1(-0.693359375f), xc);
  r = V::fmadd(n, V::set1(2.12194440e-4f), r);
  T p = V::set1(1.9875691500e-4f);
  p = V::fmadd(p, r, V::set1(1.3981999507e-3f));
  p = V::fmadd(p, r, V::set1(8.3334519073e-3f));
  p = V::fmadd(p, r, V::set1(4.1665795894e-2f));
  p = V::fmadd(p, r, V::set1(1.6666665459e-1f));
  p = V::fmadd(p, r, V::set1(5.0000001201e-1f));
  T y = V::fmadd(V::mul(p, r), r, V::add(r, V::set1(1.0f)));
  y = V::mul(y, V::pow2i(n));
  y = V::select_lt(x, lo, V::set1(0.0f), y);
  y = V::select_lt(V::set1(88.7228394f), x, V::set1(__builtin_inff()), y);
  return V::select_nan(x, x, y);
}

// erf(x) = x P(x^2) / Q(x^2) on [-4, 4] (|erf| rounds to 1 beyond), a rational minimax fit.
// ref: Eigen, generic_fast_erf_float (SpecialFunctionsImpl.h).
template <class V>
typename V::T v_erf(typename V::T x_in) {
  using T = typename V::T;
  const T x = V::min(V::max(x_in, V::set1(-4.0f)), V::set1(4.0f));
  const T x2 = V::mul(x, x);
  T p = V::fmadd(x2, V::set1(-2.72614225801306e-10f), V::set1(2.77068142495902e-08f));
  p = V::fmadd(x2, p, V::set1(-2.10102402082508e-06f));
  p = V::fmadd(x2, p, V::set1(-5.69250639462346e-05f));
  p = V::fmadd(x2, p, V::set1(-7.34990630326855e-04f));
  p = V::fmadd(x2, p, V::set1(-2.95459980854025e-03f));
  p = V::fmadd(x2, p, V::set1(-1.60960333262415e-02f));
  p = V::mul(x, p);
  T q = V::fmadd(x2, V::set1(-1.45660718464996e-05f), V::set1(-2.13374055278905e-04f));
  q = V::fmadd(x2, q, V::set1(-1.68282697438203e-03f));
  q = V::fmadd(x2, q, V::set1(-7.37332916720468e-03f));
  q = V::fmadd(x2, q, V::set1(-1.42647390514189e-02f));
  return V::select_nan(x_in, x_in, V::div(p, q));
}

template <class V>
typename V::T v_gelu(typename V::T x) {
  const auto e = v_erf<V>(V::mul(x, V::set1(0.70710678118654752440f)));
  return V::mul(V::mul(x, V::set1(0.5f)), V::add(e, V::set1(1.0f)));
}

template <class V, class F>
void map_row(const float* x, float* y, std::size_t n, F f) {
  constexpr std::size_t L = V::kLanes;
  std::size_t i = 0;
  for (; i + L <= n; i += L) V::store(y + i, f(V::load(x + i)));
  if (i < n) V::store_tail(y + i, f(V::load_tail(x + i, n - i, 0.0f)), n - i);
}

template <class V>
void softmax_row(const float* x, float* y, std::size_t n) {
  constexpr std::size_t L = V::kLanes;
  const float ninf = -__builtin_inff();
  auto m = V::set1(ninf);
  std::size_t i = 0;
  for (; i + L <= n; i += L) m = V::max(m, V::load(x + i));
  if (i < n) m = V::max(m, V::load_tail(x + i, n - i, ninf));
  const auto mx = V::set1(V::reduce_max(m));
  // Float lane sums folded into a double every kFold vectors: long rows keep ~1e-7 accuracy.
  constexpr std::size_t kFold = 64 * L;
  double total = 0;
  auto s = V::set1(0.0f);
  for (i = 0; i + L <= n; i += L) {
    const auto e = v_exp<V>(V::sub(V::load(x + i), mx));
    V::store(y + i, e);
    s = V::add(s, e);
    if ((i + L) % kFold == 0) {
      total += V::reduce_add(s);
      s = V::set1(0.0f);
    }
  }
  if (i < n) {
    const auto e = v_exp<V>(V::sub(V::load_tail(x + i, n - i, ninf), mx));  // tail lanes: exp(-inf) = 0
    V::store_tail(y + i, e, n - i);
    s = V::add(s, e);
  }
  total += V::reduce_add(s);
  const auto inv = V::set1(static_cast<float>(1.0 / total));
  for (i = 0; i + L <= n; i += L) V::store(y + i, V::mul(V::load(y + i), inv));
  if (i < n) V::store_tail(y + i, V::mul(V::load_tail(y + i, n - i, 0.0f), inv), n - i);
}

// Two passes over the row (it is in L1): the mean, then the sum of squared deviations. More
// stable than one-pass sum / sum-of-squares in float, and as fast for rows that fit in cache.
template <class V>
void layer_norm_row(const float* x, float* y, std::size_t n, const float* scale, const float* bias, float eps) {
  constexpr std::size_t L = V::kLanes;
  auto s = V::set1(0.0f);
  std::size_t i = 0;
  for (; i + L <= n; i += L) s = V::add(s, V::load(x + i));
  if (i < n) s = V::add(s, V::load_tail(x + i, n - i, 0.0f));
  const float mean = V::reduce_add(s) / static_cast<float>(n);
  const auto mv = V::set1(mean);
  auto q = V::set1(0.0f);
  for (i = 0; i + L <= n; i += L) {
    const auto d = V::sub(V::load(x + i), mv);
    q = V::fmadd(d, d, q);
  }
  if (i < n) {
    const auto d = V::sub(V::load_tail(x + i, n - i, mean), mv);  // tail lanes: 0
    q = V::fmadd(d, d, q);
  }
  const float var = V::reduce_add(q) / static_cast<float>(n);
  const auto inv = V::set1(1.0f / __builtin_sqrtf(var + eps));
  for (i = 0; i + L <= n; i += L) {
    const auto d = V::mul(V::sub(V::load(x + i), mv), inv);
    const auto b = bias != nullptr ? V::load(bias + i) : V::set1(0.0f);
    V::store(y + i, V::fmadd(d, V::load(scale + i), b));
  }
  if (i < n) {
    const std::size_t t = n - i;
    const auto d = V::mul(V::sub(V::load_tail(x + i, t, 0.0f), mv), inv);
    const auto b = bias != nullptr ? V::load_tail(bias + i, t, 0.0f) : V::set1(0.0f);
    V::store_tail(y + i, V::fmadd(d, V::load_tail(scale + i, t, 0.0f), b), t);
  }
}
