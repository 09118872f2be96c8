// Range collection by running the model in the engine with extra outputs.
#include "engine/tools/calibrate.h"

#include <algorithm>
#include <filesystem>
#include <limits>
#include <random>
#include <set>

#include "engine/graph/tensor_proto.h"

namespace sparsify::tools {

namespace fs = std::filesystem;
using engine::Tensor;

namespace {

StatusOr<Sample> read_sample(const fs::path& dir, const std::vector<std::string>& input_names) {
  std::vector<Tensor> files;
  std::vector<std::string> names;
  for (int k = 0;; ++k) {
    const fs::path p = dir / ("input_" + std::to_string(k) + ".pb");
    if (!fs::exists(p)) break;
    std::string name;
    SPARSIFY_ASSIGN_OR_RETURN(Tensor t, engine::read_tensor_file(p.string(), &name));
    files.push_back(std::move(t));
    names.push_back(name);
  }
  if (files.size() != input_names.size()) {
    return invalid_argument("'", dir.string(), "' holds ", files.size(), " input_K.pb files, the model has ", input_names.size(),
                            " inputs");
  }
  if (std::any_of(names.begin(), names.end(), [](const std::string& n) { return n.empty(); })) return files;
  Sample ordered;
  for (const std::string& want : input_names) {
    auto it = std::find(names.begin(), names.end(), want);
    if (it == names.end()) return invalid_argument("'", dir.string(), "' has no input_K.pb named '", want, "'");
    ordered.push_back(files[static_cast<std::size_t>(it - names.begin())]);
  }
  return ordered;
}

void widen(Range& r, const Tensor& t) {
  for (std::int64_t i = 0; i < t.numel(); ++i) {
    const auto v = static_cast<float>(t.element_as_double(i));
    r.min = std::min(r.min, v);
    r.max = std::max(r.max, v);
  }
}

}  // namespace

StatusOr<std::vector<Sample>> read_calibration_dir(const std::string& dir, const std::vector<std::string>& input_names) {
  if (!fs::is_directory(dir)) return not_found("calibration directory '", dir, "' does not exist");
  std::vector<Sample> out;
  if (fs::exists(fs::path(dir) / "input_0.pb")) {
    SPARSIFY_ASSIGN_OR_RETURN(Sample s, read_sample(dir, input_names));
    out.push_back(std::move(s));
    return out;
  }
  std::vector<std::pair<int, fs::path>> sets;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string n = e.path().filename().string();
    const std::string prefix = "test_data_set_";
    if (e.is_directory() && n.rfind(prefix, 0) == 0) {
      try {
        sets.emplace_back(std::stoi(n.substr(prefix.size())), e.path());
      } catch (...) {
      }
    }
  }
  std::sort(sets.begin(), sets.end());
  for (const auto& [k, p] : sets) {
    SPARSIFY_ASSIGN_OR_RETURN(Sample s, read_sample(p, input_names));
    out.push_back(std::move(s));
  }
  if (out.empty()) return not_found("calibration directory '", dir, "' holds no input_K.pb and no test_data_set_N/ directories");
  return out;
}

StatusOr<std::vector<Sample>> random_samples(const engine::Engine& engine, int count, std::int64_t batch, unsigned seed) {
  if (count < 1) return invalid_argument("calibration sample count must be >= 1, got ", count);
  SPARSIFY_ASSIGN_OR_RETURN(std::vector<Tensor> descs, engine.input_descs(batch));
  std::mt19937 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::vector<Sample> out;
  for (int s = 0; s < count; ++s) {
    Sample sample;
    for (const Tensor& d : descs) {
      Tensor t(d.dtype(), d.dims());
      SPARSIFY_RETURN_IF_ERROR(engine::dispatch<engine::kTypesAll>(d.dtype(), [&](auto tag) {
        using T = decltype(tag);
        T* p = t.data<T>();
        for (std::int64_t i = 0; i < t.numel(); ++i) {
          const double v = engine::dtype_is_float(d.dtype()) ? normal(rng) : static_cast<double>(rng() % 2);
          p[i] = engine::from_double<T>(v);
        }
        return Status();
      }));
      sample.push_back(std::move(t));
    }
    out.push_back(std::move(sample));
  }
  return out;
}

StatusOr<std::map<std::string, Range>> collect_ranges(const onnx::ModelProto& model, const std::vector<std::string>& tensors,
                                                      const std::vector<Sample>& samples, int threads) {
  if (samples.empty()) return invalid_argument("calibration needs at least one sample");
  onnx::ModelProto probe = model;
  onnx::GraphProto& g = *probe.mutable_graph();
  std::set<std::string> inits;
  for (const auto& t : g.initializer()) inits.insert(t.name());
  std::vector<std::string> feed_names;  // graph inputs that are fed (not initializers)
  for (const auto& v : g.input()) {
    if (inits.count(v.name()) == 0) feed_names.push_back(v.name());
  }
  std::set<std::string> outputs;
  for (const auto& o : g.output()) outputs.insert(o.name());
  for (const std::string& t : tensors) {
    if (std::find(feed_names.begin(), feed_names.end(), t) != feed_names.end() || outputs.count(t) != 0) continue;
    onnx::ValueInfoProto* vi = g.add_output();
    vi->set_name(t);
    vi->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
    outputs.insert(t);
  }
  std::string bytes;
  if (!probe.SerializeToString(&bytes)) return internal_error("cannot serialize the calibration model");
  engine::Options options;
  options.threads = threads;
  options.optimize = false;  // keep every calibrated tensor as computed by the float model
  SPARSIFY_ASSIGN_OR_RETURN(engine::Engine eng, engine::Engine::load_bytes(bytes, ".", options));
  const std::vector<std::string> out_names = eng.output_names();
  std::map<std::string, Range> ranges;
  const Range empty{std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity()};
  for (const std::string& t : tensors) ranges[t] = empty;
  for (const Sample& s : samples) {
    SPARSIFY_ASSIGN_OR_RETURN(std::vector<Tensor> outs, eng.run(s));
    for (std::size_t i = 0; i < out_names.size() && i < outs.size(); ++i) {
      if (auto it = ranges.find(out_names[i]); it != ranges.end()) widen(it->second, outs[i]);
    }
    for (std::size_t i = 0; i < feed_names.size() && i < s.size(); ++i) {
      if (auto it = ranges.find(feed_names[i]); it != ranges.end()) widen(it->second, s[i]);
    }
  }
  for (const auto& [name, r] : ranges) {
    if (r.min > r.max) return internal_error("calibration produced no values for tensor '", name, "'");
  }
  return ranges;
}

}  // namespace sparsify::tools
