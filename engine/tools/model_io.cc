// ModelProto reading, checking and atomic writing for the rewriting tools.
#include "engine/tools/model_io.h"

#include <onnx/checker.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "engine/graph/tensor_proto.h"

namespace sparsify::tools {

namespace fs = std::filesystem;
using engine::Tensor;

StatusOr<onnx::ModelProto> read_model(const std::string& path) {
  SPARSIFY_ASSIGN_OR_RETURN(std::string bytes, engine::read_file_bytes(path));
  onnx::ModelProto model;
  if (!model.ParseFromString(bytes) || !model.has_graph()) {
    return invalid_argument(path, ": not an ONNX model (protobuf parse failed or no graph)");
  }
  return model;
}

Status check_model(const onnx::ModelProto& model) {
  try {
    onnx::checker::check_model(model);
  } catch (const std::exception& e) {
    std::string msg = e.what();
    const auto nl = msg.find('\n');
    if (nl != std::string::npos) msg.resize(nl);
    return invalid_argument("onnx checker: ", msg);
  }
  return Status();
}

Status write_model_atomic(const onnx::ModelProto& model, const std::string& path) {
  std::string bytes;
  if (!model.SerializeToString(&bytes)) return internal_error("cannot serialize the model for '", path, "' (over 2 GiB?)");
  const fs::path target(path);
  const fs::path tmp = target.parent_path() / ("." + target.filename().string() + ".tmp." + std::to_string(::getpid()));
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return io_error("cannot create '", tmp.string(), "': ", std::strerror(errno));
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.flush();
    if (!out) {
      std::error_code ec;
      fs::remove(tmp, ec);
      return io_error("cannot write '", tmp.string(), "' (disk full?)");
    }
  }
  std::error_code ec;
  fs::rename(tmp, target, ec);
  if (ec) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    return io_error("cannot rename '", tmp.string(), "' to '", path, "': ", ec.message());
  }
  return Status();
}

onnx::TensorProto* find_initializer(onnx::GraphProto& graph, const std::string& name) {
  for (auto& t : *graph.mutable_initializer()) {
    if (t.name() == name) return &t;
  }
  return nullptr;
}

const onnx::TensorProto* find_initializer(const onnx::GraphProto& graph, const std::string& name) {
  for (const auto& t : graph.initializer()) {
    if (t.name() == name) return &t;
  }
  return nullptr;
}

StatusOr<Tensor> initializer_tensor(const onnx::TensorProto& proto) {
  const std::string what = "initializer '" + proto.name() + "'";
  if (proto.data_location() == onnx::TensorProto::EXTERNAL) {
    return unsupported(what, " keeps its data in an external file; the rewriting tools need weights inside the model");
  }
  return engine::tensor_from_proto(proto, ".", what);
}

void set_initializer(onnx::TensorProto& proto, const Tensor& values) {
  const std::string name = proto.name();
  proto.Clear();
  proto.set_name(name);
  proto.set_data_type(static_cast<int>(values.dtype()));
  for (std::int64_t d : values.dims()) proto.add_dims(d);
  proto.set_raw_data(values.raw_data(), values.nbytes());  // x86: host order is little-endian
}

onnx::TensorProto make_initializer(const std::string& name, const Tensor& t) {
  onnx::TensorProto p;
  p.set_name(name);
  set_initializer(p, t);
  return p;
}

std::int64_t int_attribute(const onnx::NodeProto& node, const std::string& name, std::int64_t fallback) {
  for (const auto& a : node.attribute()) {
    if (a.name() == name) return a.i();
  }
  return fallback;
}

float float_attribute(const onnx::NodeProto& node, const std::string& name, float fallback) {
  for (const auto& a : node.attribute()) {
    if (a.name() == name) return a.f();
  }
  return fallback;
}

std::int64_t default_opset(const onnx::ModelProto& model) {
  for (const auto& o : model.opset_import()) {
    if (o.domain().empty() || o.domain() == "ai.onnx") return o.version();
  }
  return 0;
}

std::string node_label(const onnx::NodeProto& node, int index) {
  return node.name().empty() ? node.op_type() + "_" + std::to_string(index) : node.name();
}

}  // namespace sparsify::tools
