// Reference window generators: HannWindow, HammingWindow, BlackmanWindow (opset 17).
#include <cmath>

#include "engine/ops/op_util.h"

namespace sparsify::engine {
namespace {

enum class WindowKind { kHann, kHamming, kBlackman };

Status run_window(OpContext& ctx, WindowKind kind) {
  Tensor& y = ctx.output(0);
  const std::int64_t size = y.numel();
  const bool periodic = ctx.attr_int("periodic", 1) != 0;
  const double n = static_cast<double>(periodic ? size : size - 1);
  const double pi = 3.14159265358979323846;
  std::vector<double> w(static_cast<std::size_t>(size));
  for (std::int64_t i = 0; i < size; ++i) {
    const double x = n == 0 ? 0 : 2 * pi * static_cast<double>(i) / n;
    switch (kind) {
      case WindowKind::kHann: w[i] = 0.5 - 0.5 * std::cos(x); break;
      case WindowKind::kHamming: w[i] = 25.0 / 46.0 - (1 - 25.0 / 46.0) * std::cos(x); break;
      case WindowKind::kBlackman: w[i] = 0.42 - 0.5 * std::cos(x) + 0.08 * std::cos(2 * x); break;
    }
  }
  return dispatch<kTypesNumeric | kTypesHalf>(y.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* o = y.data<T>();
    for (std::size_t i = 0; i < w.size(); ++i) o[i] = from_double<T>(w[i]);
    return Status();
  });
}

}  // namespace

Status prepare_window(OpContext& ctx) {
  const Tensor* size = ctx.input_value(0);
  if (!size) return ctx.defer();
  const std::int64_t n = size->element_as_int(0);
  if (n < 0) return ctx.error("size ", n, " is negative");
  SPARSIFY_ASSIGN_OR_RETURN(DType dt, dtype_from_onnx(static_cast<int>(ctx.attr_int("output_datatype", 1))));
  ctx.set_output(0, dt, {n});
  return Status();
}

Status run_hann_window(OpContext& ctx) { return run_window(ctx, WindowKind::kHann); }
Status run_hamming_window(OpContext& ctx) { return run_window(ctx, WindowKind::kHamming); }
Status run_blackman_window(OpContext& ctx) { return run_window(ctx, WindowKind::kBlackman); }

}  // namespace sparsify::engine
