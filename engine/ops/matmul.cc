// Reference matrix products: MatMul (numpy batching), Gemm, MatMulInteger, QLinearMatMul.
#include <cmath>
#include <cstring>
#include <limits>

#include "engine/ops/op_util.h"

namespace sparsify::engine {
namespace {

// numpy matmul shapes: rank-1 operands are promoted and the promoted dim dropped from the output.
struct MatMulShape {
  Dims a, b;        // promoted to rank >= 2
  Dims out_batch;   // broadcast batch dims
  Dims out;         // final output dims
  std::int64_t m = 0, k = 0, n = 0;
};

Status matmul_shape(const OpContext& ctx, const Dims& a_in, const Dims& b_in, MatMulShape* s) {
  if (a_in.empty() || b_in.empty()) return ctx.error("operands must have rank >= 1");
  s->a = a_in.size() == 1 ? Dims{1, a_in[0]} : a_in;
  s->b = b_in.size() == 1 ? Dims{b_in[0], 1} : b_in;
  s->m = s->a[s->a.size() - 2];
  s->k = s->a.back();
  s->n = s->b.back();
  if (s->b[s->b.size() - 2] != s->k) {
    return ctx.error("inner dims differ: ", dims_to_string(a_in), " x ", dims_to_string(b_in));
  }
  SPARSIFY_RETURN_IF_ERROR(broadcast_dims(ctx, Dims(s->a.begin(), s->a.end() - 2), Dims(s->b.begin(), s->b.end() - 2),
                                          &s->out_batch));
  s->out = s->out_batch;
  if (a_in.size() > 1) s->out.push_back(s->m);
  if (b_in.size() > 1) s->out.push_back(s->n);
  return Status();
}

// out[batch, m, n] = sum_k (a - a_zero) * (b - b_zero), as doubles.
std::vector<double> matmul_doubles(const MatMulShape& s, const std::vector<double>& a, const std::vector<double>& b,
                                   double a_zero = 0, double b_zero = 0) {
  const Dims batch_a(s.a.begin(), s.a.end() - 2);
  const Dims batch_b(s.b.begin(), s.b.end() - 2);
  const std::array<Dims, 2> strides = {broadcast_strides(batch_a, s.out_batch), broadcast_strides(batch_b, s.out_batch)};
  const std::int64_t mk = s.m * s.k, kn = s.k * s.n, mn = s.m * s.n;
  std::vector<double> out(static_cast<std::size_t>(dims_numel(s.out_batch) * mn), 0.0);
  auto one = [&](std::int64_t o, const std::array<std::int64_t, 2>& off) {
    const double* pa = a.data() + off[0] * mk;
    const double* pb = b.data() + off[1] * kn;
    double* po = out.data() + o * mn;
    for (std::int64_t i = 0; i < s.m; ++i) {
      for (std::int64_t kk = 0; kk < s.k; ++kk) {
        const double av = pa[i * s.k + kk] - a_zero;
        const double* brow = pb + kk * s.n;
        for (std::int64_t j = 0; j < s.n; ++j) po[i * s.n + j] += av * (brow[j] - b_zero);
      }
    }
  };
  if (s.out_batch.empty()) one(0, {0, 0});
  else for_each_broadcast<2>(s.out_batch, strides, one);
  return out;
}

Status store_doubles(Tensor& y, const std::vector<double>& v) {
  return dispatch<kTypesNumeric | kTypesHalf>(y.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* out = y.data<T>();
    for (std::size_t i = 0; i < v.size(); ++i) out[i] = from_double<T>(v[i]);
    return Status();
  });
}

template <class T>
T saturate_round(double v) {
  return saturate_cast<T>(std::nearbyint(v));  // round half to even
}

// Transposes folded into a MatMul by the fold_transpose_matmul pass (internal attributes, see
// passes/pass.h): Y = transpose(transpose(A, perm_a) x transpose(B, perm_b), perm_y). Empty: none.
struct MatMulPerms {
  std::vector<std::int64_t> a, b, y;
};

MatMulPerms matmul_perms(const OpContext& ctx) {
  return {ctx.attr_ints("sparsify.perm_a"), ctx.attr_ints("sparsify.perm_b"), ctx.attr_ints("sparsify.perm_y")};
}

Status permuted_dims(const OpContext& ctx, const Dims& d, const std::vector<std::int64_t>& perm, Dims* out) {
  if (perm.empty()) {
    *out = d;
    return Status();
  }
  if (perm.size() != d.size()) return ctx.error("folded perm has ", perm.size(), " entries for rank ", d.size());
  out->clear();
  std::vector<bool> seen(d.size(), false);
  for (std::int64_t p : perm) {
    if (p < 0 || p >= static_cast<std::int64_t>(d.size()) || seen[static_cast<std::size_t>(p)]) return ctx.error("folded perm is not a permutation");
    seen[static_cast<std::size_t>(p)] = true;
    out->push_back(d[static_cast<std::size_t>(p)]);
  }
  return Status();
}

}  // namespace

Status prepare_matmul(OpContext& ctx) {
  const MatMulPerms p = matmul_perms(ctx);
  Dims a, b, y;
  SPARSIFY_RETURN_IF_ERROR(permuted_dims(ctx, ctx.input(0).dims(), p.a, &a));
  SPARSIFY_RETURN_IF_ERROR(permuted_dims(ctx, ctx.input(1).dims(), p.b, &b));
  MatMulShape s;
  SPARSIFY_RETURN_IF_ERROR(matmul_shape(ctx, a, b, &s));
  if (ctx.input(0).dtype() != ctx.input(1).dtype()) return ctx.error("operand types differ");
  SPARSIFY_RETURN_IF_ERROR(permuted_dims(ctx, s.out, p.y, &y));
  ctx.set_output(0, ctx.input(0).dtype(), y);
  return Status();
}

Status run_matmul(OpContext& ctx) {
  const MatMulPerms p = matmul_perms(ctx);
  // Internal: a constant factor folded in by fuse_matmul_scale (Y = alpha * A x B).
  const Attribute* alpha_attr = ctx.node().find_attribute("sparsify.alpha");
  const double alpha = alpha_attr != nullptr ? alpha_attr->f : 1.0;
  auto product = [&](const MatMulShape& s, const Tensor& a, const Tensor& b) {
    std::vector<double> v = matmul_doubles(s, tensor_to_doubles(a), tensor_to_doubles(b));
    if (alpha != 1.0) for (double& x : v) x *= alpha;
    return v;
  };
  if (p.a.empty() && p.b.empty() && p.y.empty()) {
    MatMulShape s;
    SPARSIFY_RETURN_IF_ERROR(matmul_shape(ctx, ctx.input(0).dims(), ctx.input(1).dims(), &s));
    return store_doubles(ctx.output(0), product(s, ctx.input(0), ctx.input(1)));
  }
  // The plain product on transposed copies (the reference favours clarity over speed).
  auto permuted = [&](const Tensor& x, const std::vector<std::int64_t>& perm, Tensor* out) -> Status {
    Dims d;
    SPARSIFY_RETURN_IF_ERROR(permuted_dims(ctx, x.dims(), perm, &d));
    *out = Tensor(x.dtype(), d);
    permute_copy(x, x.dims(), perm.empty() ? std::vector<std::int64_t>() : perm, *out);
    return Status();
  };
  Tensor a, b;
  if (p.a.empty()) a = ctx.input(0);
  else SPARSIFY_RETURN_IF_ERROR(permuted(ctx.input(0), p.a, &a));
  if (p.b.empty()) b = ctx.input(1);
  else SPARSIFY_RETURN_IF_ERROR(permuted(ctx.input(1), p.b, &b));
  MatMulShape s;
  SPARSIFY_RETURN_IF_ERROR(matmul_shape(ctx, a.dims(), b.dims(), &s));
  Tensor c(ctx.output(0).dtype(), s.out);
  SPARSIFY_RETURN_IF_ERROR(store_doubles(c, product(s, a, b)));
  if (p.y.empty()) {
    std::memcpy(ctx.output(0).raw_data(), c.raw_data(), c.nbytes());
    return Status();
  }
  permute_copy(c, c.dims(), p.y, ctx.output(0));
  return Status();
}


Status prepare_gemm(OpContext& ctx) {
  const Dims& a = ctx.input(0).dims();
  const Dims& b = ctx.input(1).dims();
  if (a.size() != 2 || b.size() != 2) return ctx.error("A and B must be 2-D, got ", dims_to_string(a), " and ", dims_to_string(b));
  const bool ta = ctx.attr_int("transA", 0) != 0;
  const bool tb = ctx.attr_int("transB", 0) != 0;
  const std::int64_t m = ta ? a[1] : a[0], k = ta ? a[0] : a[1];
  const std::int64_t kb = tb ? b[1] : b[0], n = tb ? b[0] : b[1];
  if (k != kb) return ctx.error("inner dims differ: ", dims_to_string(a), " x ", dims_to_string(b));
  if (ctx.has_input(2)) {
    Dims c;
    SPARSIFY_RETURN_IF_ERROR(broadcast_dims(ctx, ctx.input(2).dims(), {m, n}, &c));
    if (c != Dims{m, n}) return ctx.error("C ", dims_to_string(ctx.input(2).dims()), " does not broadcast to [", m, ",", n, "]");
  }
  ctx.set_output(0, ctx.input(0).dtype(), {m, n});
  return Status();
}

Status run_gemm(OpContext& ctx) {
  const Dims& a = ctx.input(0).dims();
  const bool ta = ctx.attr_int("transA", 0) != 0;
  const bool tb = ctx.attr_int("transB", 0) != 0;
  const double alpha = ctx.attr_float("alpha", 1.0f);
  const double beta = ctx.attr_float("beta", 1.0f);
  const std::int64_t m = ctx.output(0).dim(0), n = ctx.output(0).dim(1);
  const std::int64_t k = ta ? a[0] : a[1];
  const std::vector<double> av = tensor_to_doubles(ctx.input(0));
  const std::vector<double> bv = tensor_to_doubles(ctx.input(1));
  std::vector<double> out(static_cast<std::size_t>(m * n), 0.0);
  for (std::int64_t i = 0; i < m; ++i) {
    for (std::int64_t kk = 0; kk < k; ++kk) {
      const double x = av[ta ? kk * m + i : i * k + kk];
      for (std::int64_t j = 0; j < n; ++j) out[i * n + j] += x * bv[tb ? j * k + kk : kk * n + j];
    }
  }
  for (double& v : out) v *= alpha;
  if (ctx.has_input(2)) {
    const std::vector<double> cv = tensor_to_doubles(ctx.input(2));
    const std::array<Dims, 1> strides = {broadcast_strides(ctx.input(2).dims(), {m, n})};
    for_each_broadcast<1>({m, n}, strides, [&](std::int64_t o, const std::array<std::int64_t, 1>& off) {
      out[o] += beta * cv[off[0]];
    });
  }
  return store_doubles(ctx.output(0), out);
}

Status prepare_matmul_integer(OpContext& ctx) {
  MatMulShape s;
  SPARSIFY_RETURN_IF_ERROR(matmul_shape(ctx, ctx.input(0).dims(), ctx.input(1).dims(), &s));
  ctx.set_output(0, DType::kInt32, s.out);
  return Status();
}

Status run_matmul_integer(OpContext& ctx) {
  MatMulShape s;
  SPARSIFY_RETURN_IF_ERROR(matmul_shape(ctx, ctx.input(0).dims(), ctx.input(1).dims(), &s));
  if ((ctx.has_input(2) && ctx.input(2).numel() != 1) || (ctx.has_input(3) && ctx.input(3).numel() != 1)) {
    return ctx.unsupported_error("per-row or per-column zero points are not supported");
  }
  const double az = ctx.has_input(2) ? ctx.input(2).element_as_double(0) : 0;
  const double bz = ctx.has_input(3) ? ctx.input(3).element_as_double(0) : 0;
  const auto v = matmul_doubles(s, tensor_to_doubles(ctx.input(0)), tensor_to_doubles(ctx.input(1)), az, bz);
  std::int32_t* out = ctx.output(0).data<std::int32_t>();
  for (std::size_t i = 0; i < v.size(); ++i) out[i] = static_cast<std::int32_t>(v[i]);
  return Status();
}

// What QLinearMatMul and QLinearMatMulDequantize share: the exact (double) products of the
// zero-point-shifted operands, the requantization scale a_scale * b_scale / y_scale and y's zero point.
struct QLinearMatMulAcc {
  MatMulShape shape;
  std::vector<double> acc;
  double scale = 0, y_zero = 0;
};

Status qlinear_matmul_acc(OpContext& ctx, QLinearMatMulAcc* r) {
  SPARSIFY_RETURN_IF_ERROR(matmul_shape(ctx, ctx.input(0).dims(), ctx.input(3).dims(), &r->shape));
  for (std::size_t i : {1, 2, 4, 5, 6, 7}) {
    if (ctx.input(i).numel() != 1) return ctx.unsupported_error("per-axis scales or zero points are not supported");
  }
  r->acc = matmul_doubles(r->shape, tensor_to_doubles(ctx.input(0)), tensor_to_doubles(ctx.input(3)),
                          ctx.input(2).element_as_double(0), ctx.input(5).element_as_double(0));
  r->scale = ctx.input(1).element_as_double(0) * ctx.input(4).element_as_double(0) / ctx.input(6).element_as_double(0);
  r->y_zero = ctx.input(7).element_as_double(0);
  return Status();
}

// QLinearMatMul(a, a_scale, a_zp, b, b_scale, b_zp, y_scale, y_zp); scalar scales and zero points.
Status prepare_qlinear_matmul(OpContext& ctx) {
  MatMulShape s;
  SPARSIFY_RETURN_IF_ERROR(matmul_shape(ctx, ctx.input(0).dims(), ctx.input(3).dims(), &s));
  ctx.set_output(0, ctx.input(7).dtype(), s.out);
  return Status();
}

Status run_qlinear_matmul(OpContext& ctx) {
  QLinearMatMulAcc q;
  SPARSIFY_RETURN_IF_ERROR(qlinear_matmul_acc(ctx, &q));
  const std::vector<double>& acc = q.acc;
  const double scale = q.scale, yz = q.y_zero;
  return dispatch<kTypesInt>(ctx.output(0).dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* out = ctx.output(0).data<T>();
    for (std::size_t i = 0; i < acc.size(); ++i) out[i] = saturate_round<T>(std::nearbyint(acc[i] * scale) + yz);
    return Status();
  });
}

// QLinearMatMulDequantize (internal, made by pass fuse_qmatmul_dequant; never in a model file):
//   inputs  QLinearMatMul's 8 (a, a_scale, a_zp, b, b_scale, b_zp, y_scale, y_zp), bias (float32, optional)
//   output  Y float32 = float(q - y_zp) * float(y_scale) [+ bias[j] along the last axis]
// where q is QLinearMatMul's 8-bit output: each step rounds exactly as the QLinearMatMul,
// DequantizeLinear and Add nodes it replaces, so the fusion is exact.
Status prepare_qlinear_matmul_dequantize(OpContext& ctx) {
  MatMulShape s;
  SPARSIFY_RETURN_IF_ERROR(matmul_shape(ctx, ctx.input(0).dims(), ctx.input(3).dims(), &s));
  if (ctx.has_input(8)) {
    const Tensor& bias = ctx.input(8);
    if (bias.dtype() != DType::kFloat32 || s.out.empty() || bias.numel() != s.out.back()) {
      return ctx.error("bias ", bias.describe(), " is not float32 over the last axis of ", dims_to_string(s.out));
    }
  }
  ctx.set_output(0, DType::kFloat32, s.out);
  return Status();
}

Status run_qlinear_matmul_dequantize(OpContext& ctx) {
  QLinearMatMulAcc q;
  SPARSIFY_RETURN_IF_ERROR(qlinear_matmul_acc(ctx, &q));
  const MatMulShape& s = q.shape;
  const std::vector<double>& acc = q.acc;
  const double scale = q.scale, yz = q.y_zero;
  const float ys = static_cast<float>(ctx.input(6).element_as_double(0));
  const float* bias = ctx.has_input(8) ? ctx.input(8).data<float>() : nullptr;
  const std::size_t cols = s.out.empty() ? 1 : static_cast<std::size_t>(s.out.back());
  float* out = ctx.output(0).data<float>();
  return dispatch<kTypesInt>(ctx.input(7).dtype(), [&](auto tag) {
    using T = decltype(tag);
    for (std::size_t i = 0; i < acc.size(); ++i) {
      const T q = saturate_round<T>(std::nearbyint(acc[i] * scale) + yz);
      float y = static_cast<float>(static_cast<double>(q) - yz) * ys;
      if (bias != nullptr) y += bias[i % cols];
      out[i] = y;
    }
    return Status();
  });
}

}  // namespace sparsify::engine

namespace sparsify::engine {

// Det over the last two (square) dims, by LU decomposition with partial pivoting.
Status prepare_det(OpContext& ctx) {
  const Dims& x = ctx.input(0).dims();
  if (x.size() < 2 || x[x.size() - 1] != x[x.size() - 2]) return ctx.error("input ", dims_to_string(x), " is not [..., M, M]");
  ctx.set_output(0, ctx.input(0).dtype(), Dims(x.begin(), x.end() - 2));
  return Status();
}

Status run_det(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  const std::int64_t m = x.dims().back();
  const std::vector<double> v = tensor_to_doubles(x);
  const std::int64_t mats = ctx.output(0).numel();
  std::vector<double> dets(static_cast<std::size_t>(mats));
  for (std::int64_t b = 0; b < mats; ++b) {
    std::vector<double> a(v.begin() + b * m * m, v.begin() + (b + 1) * m * m);
    double det = 1;
    for (std::int64_t c = 0; c < m && det != 0; ++c) {
      std::int64_t p = c;
      for (std::int64_t r = c + 1; r < m; ++r) {
        if (std::abs(a[r * m + c]) > std::abs(a[p * m + c])) p = r;
      }
      if (a[p * m + c] == 0) {
        det = 0;
        break;
      }
      if (p != c) {
        for (std::int64_t k = 0; k < m; ++k) std::swap(a[p * m + k], a[c * m + k]);
        det = -det;
      }
      det *= a[c * m + c];
      for (std::int64_t r = c + 1; r < m; ++r) {
        const double f = a[r * m + c] / a[c * m + c];
        for (std::int64_t k = c; k < m; ++k) a[r * m + k] -= f * a[c * m + k];
      }
    }
    dets[b] = det;
  }
  return store_doubles(ctx.output(0), dets);
}

}  // namespace sparsify::engine
