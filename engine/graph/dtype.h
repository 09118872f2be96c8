// Element types (expanded from dtype.def), half-precision storage types and type-set dispatch.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <type_traits>

#include "engine/base/status.h"

namespace sparsify::engine {

/// IEEE binary16 storage; arithmetic goes through float.
struct Float16 {
  std::uint16_t bits = 0;
};
/// bfloat16 storage (the top half of a float32); arithmetic goes through float.
struct BFloat16 {
  std::uint16_t bits = 0;
};

/// Converts binary16 to float exactly (subnormals, inf and NaN included).
float half_to_float(Float16 h);
/// Converts float to binary16, rounding to nearest even.
Float16 float_to_half(float f);
/// Converts bfloat16 to float exactly.
float bfloat16_to_float(BFloat16 h);
/// Converts float to bfloat16, rounding to nearest even (NaN stays NaN).
BFloat16 float_to_bfloat16(float f);

/// An element type. Values equal ONNX's TensorProto.DataType numbers.
enum class DType : std::uint8_t {
  kUndefined = 0,
#define SPARSIFY_DTYPE(e, name, type, onnx) e = onnx,
#include "engine/graph/dtype.def"
#undef SPARSIFY_DTYPE
};

/// Printed name ("float32"); "undefined" for kUndefined.
const char* dtype_name(DType dtype);
/// Bytes per element (bool is one byte); 0 for kUndefined.
std::size_t dtype_size(DType dtype);
/// Maps an ONNX TensorProto.DataType number to a DType; unsupported for string, complex and unknowns.
StatusOr<DType> dtype_from_onnx(int onnx_type);
/// Name of an ONNX TensorProto.DataType number, including the ones the engine does not store.
const char* onnx_dtype_name(int onnx_type);
/// True for float32/float64/float16/bfloat16.
bool dtype_is_float(DType dtype);

/// The DType of a C++ storage type: dtype_of<float> == DType::kFloat32.
template <class T>
constexpr DType dtype_of() {
#define SPARSIFY_DTYPE(e, name, type, onnx) \
  if constexpr (std::is_same_v<T, type>) return DType::e;
#include "engine/graph/dtype.def"
#undef SPARSIFY_DTYPE
  return DType::kUndefined;
}

/// Type sets for dispatch: which DTypes an op's reference implementation instantiates for.
enum TypeSet : unsigned {
  kTypesFloat = 1u << 0,     // float32, float64
  kTypesSigned = 1u << 1,    // int8, int16, int32, int64
  kTypesUnsigned = 1u << 2,  // uint8, uint16, uint32, uint64
  kTypesBool = 1u << 3,
  kTypesHalf = 1u << 4,  // float16, bfloat16 (storage only: ops convert through float)
  kTypesInt = kTypesSigned | kTypesUnsigned,
  kTypesNumeric = kTypesFloat | kTypesInt,
  kTypesAll = kTypesNumeric | kTypesBool | kTypesHalf,
};

/// Calls f(T{}) with the storage type of `dtype` if it is in `Set`; otherwise an unsupported Status.
/// f returns Status. Used by reference ops: `return dispatch<kTypesFloat>(x.dtype(), [&](auto t) {...});`
template <unsigned Set, class F>
Status dispatch(DType dtype, F&& f) {
  switch (dtype) {
    case DType::kFloat32: if constexpr ((Set & kTypesFloat) != 0) return f(float{}); break;
    case DType::kFloat64: if constexpr ((Set & kTypesFloat) != 0) return f(double{}); break;
    case DType::kInt8: if constexpr ((Set & kTypesSigned) != 0) return f(std::int8_t{}); break;
    case DType::kInt16: if constexpr ((Set & kTypesSigned) != 0) return f(std::int16_t{}); break;
    case DType::kInt32: if constexpr ((Set & kTypesSigned) != 0) return f(std::int32_t{}); break;
    case DType::kInt64: if constexpr ((Set & kTypesSigned) != 0) return f(std::int64_t{}); break;
    case DType::kUInt8: if constexpr ((Set & kTypesUnsigned) != 0) return f(std::uint8_t{}); break;
    case DType::kUInt16: if constexpr ((Set & kTypesUnsigned) != 0) return f(std::uint16_t{}); break;
    case DType::kUInt32: if constexpr ((Set & kTypesUnsigned) != 0) return f(std::uint32_t{}); break;
    case DType::kUInt64: if constexpr ((Set & kTypesUnsigned) != 0) return f(std::uint64_t{}); break;
    case DType::kBool: if constexpr ((Set & kTypesBool) != 0) return f(bool{}); break;
    case DType::kFloat16: if constexpr ((Set & kTypesHalf) != 0) return f(Float16{}); break;
    case DType::kBFloat16: if constexpr ((Set & kTypesHalf) != 0) return f(BFloat16{}); break;
    case DType::kUndefined: break;
  }
  return unsupported("element type ", dtype_name(dtype), " is not supported");
}

/// Converts any storage type to double (half types through float).
template <class T>
inline double to_double(T v) {
  if constexpr (std::is_same_v<T, Float16>) return half_to_float(v);
  else if constexpr (std::is_same_v<T, BFloat16>) return bfloat16_to_float(v);
  else return static_cast<double>(v);
}

/// double -> integer T with saturation: values beyond T's range clamp to its limits and NaN maps to 0,
/// so every input is defined (a plain static_cast is UB out of range; clamping to
/// double(max) is not enough for 64-bit T, where it rounds up to 2^63 or 2^64).
template <class T>
T saturate_cast(double v) {
  static_assert(std::is_integral_v<T> && !std::is_same_v<T, bool>, "saturate_cast is for integer types");
  if (std::isnan(v)) return 0;
  constexpr double upper = 2.0 * static_cast<double>(std::numeric_limits<T>::max() / 2 + 1);  // max + 1, exact
  if (v >= upper) return std::numeric_limits<T>::max();
  if (v <= static_cast<double>(std::numeric_limits<T>::lowest())) return std::numeric_limits<T>::lowest();
  return static_cast<T>(v);
}

/// Converts a double to any storage type with C++ conversion semantics (half types round to nearest
/// even), except that integer types saturate and take 0 for NaN where C++ leaves it undefined.
template <class T>
inline T from_double(double v) {
  if constexpr (std::is_same_v<T, Float16>) return float_to_half(static_cast<float>(v));
  else if constexpr (std::is_same_v<T, BFloat16>) return float_to_bfloat16(static_cast<float>(v));
  else if constexpr (std::is_same_v<T, bool>) return v != 0;
  else if constexpr (std::is_integral_v<T>) return saturate_cast<T>(v);
  else return static_cast<T>(v);
}

}  // namespace sparsify::engine
