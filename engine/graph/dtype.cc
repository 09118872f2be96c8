// DType names, sizes, the ONNX mapping and half-precision conversions.
#include "engine/graph/dtype.h"

#include <cmath>

namespace sparsify::engine {

const char* dtype_name(DType dtype) {
  switch (dtype) {
#define SPARSIFY_DTYPE(e, name, type, onnx) \
  case DType::e: return name;
#include "engine/graph/dtype.def"
#undef SPARSIFY_DTYPE
    case DType::kUndefined: break;
  }
  return "undefined";
}

std::size_t dtype_size(DType dtype) {
  switch (dtype) {
#define SPARSIFY_DTYPE(e, name, type, onnx) \
  case DType::e: return sizeof(type);
#include "engine/graph/dtype.def"
#undef SPARSIFY_DTYPE
    case DType::kUndefined: break;
  }
  return 0;
}

bool dtype_is_float(DType dtype) {
  return dtype == DType::kFloat32 || dtype == DType::kFloat64 || dtype == DType::kFloat16 ||
         dtype == DType::kBFloat16;
}

const char* onnx_dtype_name(int onnx_type) {
  switch (onnx_type) {
#define SPARSIFY_DTYPE(e, name, type, onnx) \
  case onnx: return name;
#include "engine/graph/dtype.def"
#undef SPARSIFY_DTYPE
    case 8: return "string";
    case 14: return "complex64";
    case 15: return "complex128";
    default: return "unknown";
  }
}

StatusOr<DType> dtype_from_onnx(int onnx_type) {
  switch (onnx_type) {
#define SPARSIFY_DTYPE(e, name, type, onnx) \
  case onnx: return DType::e;
#include "engine/graph/dtype.def"
#undef SPARSIFY_DTYPE
    default: break;
  }
  return unsupported("element type ", onnx_dtype_name(onnx_type), " (ONNX type ", onnx_type,
                     ") is not supported");
}

float half_to_float(Float16 h) {
  const std::uint32_t sign = (h.bits & 0x8000u) << 16;
  const std::uint32_t exp = (h.bits >> 10) & 0x1fu;
  std::uint32_t mant = h.bits & 0x3ffu;
  std::uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal: value = mant * 2^-24
      const float f = std::ldexp(static_cast<float>(mant), -24);
      return sign ? -f : f;
    }
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else {
    bits = sign | ((exp + 112) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

Float16 float_to_half(float f) {
  std::uint32_t x;
  std::memcpy(&x, &f, 4);
  const std::uint16_t sign = static_cast<std::uint16_t>((x >> 16) & 0x8000u);
  const std::uint32_t abs = x & 0x7fffffffu;
  Float16 h;
  if (abs >= 0x7f800000u) {  // inf or NaN
    h.bits = static_cast<std::uint16_t>(sign | 0x7c00u | (abs > 0x7f800000u ? 0x200u : 0u));
    return h;
  }
  if (abs >= 0x477ff000u) {  // rounds to >= 65520: overflow to inf
    h.bits = static_cast<std::uint16_t>(sign | 0x7c00u);
    return h;
  }
  if (abs < 0x38800000u) {  // below the smallest normal half (2^-14): subnormal or zero
    float a;
    std::memcpy(&a, &abs, 4);
    const float scaled = a * 16777216.0f;  // 2^24: units of the smallest subnormal
    const auto m = static_cast<std::uint32_t>(std::nearbyint(scaled));  // ties to even (default mode)
    h.bits = static_cast<std::uint16_t>(sign | m);
    return h;
  }
  const std::uint32_t exp = ((abs >> 23) - 112) << 10;
  const std::uint32_t mant = abs & 0x7fffffu;
  std::uint32_t r = exp | (mant >> 13);
  const std::uint32_t rest = mant & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (r & 1u))) ++r;
  h.bits = static_cast<std::uint16_t>(sign | r);
  return h;
}

float bfloat16_to_float(BFloat16 h) {
  const std::uint32_t bits = static_cast<std::uint32_t>(h.bits) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

BFloat16 float_to_bfloat16(float f) {
  std::uint32_t x;
  std::memcpy(&x, &f, 4);
  BFloat16 b;
  if ((x & 0x7fffffffu) > 0x7f800000u) {
    b.bits = static_cast<std::uint16_t>((x >> 16) | 0x40u);
    return b;
  }
  const std::uint32_t rounding = 0x7fffu + ((x >> 16) & 1u);
  b.bits = static_cast<std::uint16_t>((x + rounding) >> 16);
  return b;
}

}  // namespace sparsify::engine
