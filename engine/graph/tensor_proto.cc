// TensorProto decoding: raw_data is little-endian, typed fields follow onnx.proto's packing rules.
#include "engine/graph/tensor_proto.h"

#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>

namespace sparsify::engine {
namespace {

// Copies a typed repeated field into the tensor, converting element-wise.
template <class Field>
Status copy_typed(const Field& field, Tensor& t, const std::string& what, const char* field_name) {
  if (field.size() != t.numel()) {
    return invalid_argument(what, ": ", field_name, " holds ", field.size(), " elements, shape ",
                            dims_to_string(t.dims()), " needs ", t.numel());
  }
  return dispatch<kTypesAll>(t.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* out = t.data<T>();
    for (int i = 0; i < field.size(); ++i) {
      if constexpr (std::is_same_v<T, Float16>) out[i].bits = static_cast<std::uint16_t>(field.Get(i));
      else if constexpr (std::is_same_v<T, BFloat16>) out[i].bits = static_cast<std::uint16_t>(field.Get(i));
      else if constexpr (std::is_same_v<T, bool>) out[i] = field.Get(i) != 0;
      else out[i] = static_cast<T>(field.Get(i));
    }
    return Status();
  });
}

StatusOr<std::string> read_external(const onnx::TensorProto& proto, const std::string& base_dir,
                                    const std::string& what) {
  std::string location;
  std::int64_t offset = 0;
  std::int64_t length = -1;
  for (const auto& kv : proto.external_data()) {
    try {
      if (kv.key() == "location") location = kv.value();
      else if (kv.key() == "offset") offset = std::stoll(kv.value());
      else if (kv.key() == "length") length = std::stoll(kv.value());
    } catch (...) {
      return invalid_argument(what, ": external_data '", kv.key(), "' is not a number: '", kv.value(), "'");
    }
  }
  if (location.empty()) return invalid_argument(what, ": external data without a location");
  if (location[0] == '/' || location.find("..") != std::string::npos) {
    return invalid_argument(what, ": external data location '", location,
                            "' must be relative to the model directory");
  }
  if (offset < 0) return invalid_argument(what, ": external data offset ", offset, " is negative");
  const std::string path = base_dir.empty() ? location : base_dir + "/" + location;
  std::ifstream in(path, std::ios::binary);
  if (!in) return io_error(what, ": cannot open external data file '", path, "'");
  in.seekg(0, std::ios::end);
  const std::int64_t size = in.tellg();
  if (length < 0) length = size - offset;
  if (offset + length > size) {
    return invalid_argument(what, ": external data [", offset, ", ", offset + length, ") exceeds file '",
                            path, "' of ", size, " bytes");
  }
  std::string bytes(static_cast<std::size_t>(length), '\0');
  in.seekg(offset);
  in.read(bytes.data(), length);
  if (!in) return io_error(what, ": reading external data file '", path, "' failed");
  return bytes;
}

}  // namespace

StatusOr<Tensor> tensor_from_proto(const onnx::TensorProto& proto, const std::string& base_dir,
                                   const std::string& what) {
  auto dtype_or = dtype_from_onnx(proto.data_type());
  if (!dtype_or.ok()) return dtype_or.status().with_prefix(what);
  const DType dtype = *dtype_or;
  if (proto.has_segment()) return unsupported(what, ": segmented tensors are not supported");
  Dims dims;
  for (std::int64_t d : proto.dims()) {
    if (d < 0) return invalid_argument(what, ": negative dim ", d);
    dims.push_back(d);
  }
  // Guard against absurd sizes before allocating (2^40 bytes is far beyond any real model). Zero
  // dims are counted as 1: an empty [0, 2^40, 2^40] would overflow int64 in the ops' dim products.
  double total = static_cast<double>(dtype_size(dtype));
  for (std::int64_t d : dims) total *= static_cast<double>(std::max<std::int64_t>(d, 1));
  if (total > 1099511627776.0) return invalid_argument(what, ": shape ", dims_to_string(dims), " is too large");
  const Tensor desc = Tensor::shape_only(dtype, dims);

  const bool external = proto.data_location() == onnx::TensorProto::EXTERNAL;
  if (external || proto.has_raw_data()) {
    std::string ext_bytes;
    const std::string* bytes = &proto.raw_data();
    if (external) {
      SPARSIFY_ASSIGN_OR_RETURN(ext_bytes, read_external(proto, base_dir, what));
      bytes = &ext_bytes;
    }
    if (bytes->size() != desc.nbytes()) {  // checked before allocating: dims may be corrupt
      return invalid_argument(what, ": ", external ? "external" : "raw_data", " holds ", bytes->size(),
                              " bytes, ", desc.describe(), " needs ", desc.nbytes());
    }
    Tensor t(dtype, dims);
    if (t.nbytes() > 0) std::memcpy(t.raw_data(), bytes->data(), t.nbytes());  // x86: little-endian
    if (dtype == DType::kBool) {  // normalise to 0/1
      auto* b = static_cast<std::uint8_t*>(t.raw_data());
      for (std::int64_t i = 0; i < t.numel(); ++i) b[i] = b[i] != 0;
    }
    return t;
  }
  std::int64_t stored = proto.int32_data_size();
  if (dtype == DType::kFloat32) stored = proto.float_data_size();
  if (dtype == DType::kFloat64) stored = proto.double_data_size();
  if (dtype == DType::kInt64) stored = proto.int64_data_size();
  if (dtype == DType::kUInt32 || dtype == DType::kUInt64) stored = proto.uint64_data_size();
  if (stored != desc.numel()) {  // checked before allocating: dims may be corrupt
    return invalid_argument(what, ": holds ", stored, " elements, shape ", dims_to_string(dims), " needs ", desc.numel());
  }
  Tensor t(dtype, dims);
  switch (dtype) {
    case DType::kFloat32: SPARSIFY_RETURN_IF_ERROR(copy_typed(proto.float_data(), t, what, "float_data")); break;
    case DType::kFloat64: SPARSIFY_RETURN_IF_ERROR(copy_typed(proto.double_data(), t, what, "double_data")); break;
    case DType::kInt64: SPARSIFY_RETURN_IF_ERROR(copy_typed(proto.int64_data(), t, what, "int64_data")); break;
    case DType::kUInt32:
    case DType::kUInt64: SPARSIFY_RETURN_IF_ERROR(copy_typed(proto.uint64_data(), t, what, "uint64_data")); break;
    default: SPARSIFY_RETURN_IF_ERROR(copy_typed(proto.int32_data(), t, what, "int32_data")); break;
  }
  return t;
}

StatusOr<std::string> read_file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return io_error("cannot open '", path, "'");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return io_error("reading '", path, "' failed");
  return ss.str();
}

StatusOr<Tensor> read_tensor_file(const std::string& path, std::string* name) {
  SPARSIFY_ASSIGN_OR_RETURN(std::string bytes, read_file_bytes(path));
  onnx::TensorProto proto;
  if (!proto.ParseFromString(bytes)) return invalid_argument("'", path, "' is not a serialized TensorProto");
  if (name) *name = proto.name();
  const auto slash = path.find_last_of('/');
  return tensor_from_proto(proto, slash == std::string::npos ? "" : path.substr(0, slash),
                           "tensor file '" + path + "'");
}

}  // namespace sparsify::engine
