// Checkpoint directories: atomic writes (temp dir + rename), state.json, and loading for resume.
#include "sparseml/train/checkpoint.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "sparseml/models/models.h"
#include "sparseml/train/manager.h"

namespace sparsify::ml {
namespace fs = std::filesystem;
namespace {

constexpr const char* kFormat = "sparsify-checkpoint/1";

Status write_file_atomic(const fs::path& path, const std::string& text) {
  const fs::path tmp = path.string() + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return io_error(tmp.string(), ": cannot create file");
    out << text;
    out.flush();
    if (!out) return io_error(tmp.string(), ": write failed");
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return io_error(path.string(), ": cannot rename into place: ", ec.message());
  return Status();
}

StatusOr<std::string> read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return not_found(path.string(), ": cannot open");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

Status prepare_output_dir(const std::string& dir, bool overwrite) {
  std::error_code ec;
  const fs::path ckpt = fs::path(dir) / "checkpoints";
  if (fs::exists(ckpt, ec)) {
    if (!overwrite)
      return invalid_argument("--output-dir ", dir, " already holds a training run (", ckpt.string(),
                              "); choose another --output-dir, continue it with --resume ", ckpt.string(),
                              "/last, or pass --overwrite");
    fs::remove_all(ckpt, ec);
    fs::remove(fs::path(dir) / "metrics.jsonl", ec);
    if (ec) return io_error(dir, ": cannot clear the previous run: ", ec.message());
  }
  fs::create_directories(ckpt, ec);
  if (ec) return io_error(ckpt.string(), ": cannot create directory: ", ec.message());
  return Status();
}

StatusOr<std::string> write_checkpoint(const std::string& output_dir, const CheckpointState& s, const std::string& recipe_yaml,
                                       models::Model& model, torch::optim::Optimizer& optimizer, const Manager& manager) {
  const fs::path root = fs::path(output_dir) / "checkpoints";
  const std::string name = "epoch-" + std::to_string(s.epoch);
  const fs::path final_dir = root / name;
  const fs::path tmp = root / ("." + name + ".tmp." + std::to_string(::getpid()));
  std::error_code ec;
  fs::remove_all(tmp, ec);
  fs::create_directories(tmp, ec);
  if (ec) return io_error(tmp.string(), ": cannot create directory: ", ec.message());
  try {
    torch::serialize::OutputArchive model_archive;
    model.save(model_archive);
    model_archive.save_to((tmp / "model.pt").string());
    torch::serialize::OutputArchive opt_archive;
    optimizer.save(opt_archive);
    opt_archive.save_to((tmp / "optimizer.pt").string());
    torch::serialize::OutputArchive manager_archive;
    manager.save(manager_archive);
    manager_archive.save_to((tmp / "manager.pt").string());
  } catch (const c10::Error& e) {
    fs::remove_all(tmp, ec);
    return io_error(tmp.string(), ": saving tensors failed: ", e.what_without_backtrace());
  }
  nlohmann::json j = {{"format", kFormat},
                      {"model", {{"arch", s.model.arch}, {"num_classes", s.model.num_classes},
                                 {"in_channels", s.model.in_channels}, {"image_size", s.model.image_size}}},
                      {"epoch", s.epoch},
                      {"step", s.step},
                      {"steps_per_epoch", s.steps_per_epoch},
                      {"batch_size", s.batch_size},
                      {"train_limit", s.train_limit},
                      {"optimizer", s.optimizer},
                      {"lr", s.lr},
                      {"seed", s.seed},
                      {"data_dir", s.data_dir},
                      {"recipe_source", s.recipe_source},
                      {"classes", s.classes},
                      {"freeze", s.freeze},
                      {"quantized", model.qat().enabled()},
                      {"metrics", nlohmann::json::parse(s.metrics.empty() ? "{}" : s.metrics)}};
  SPARSIFY_RETURN_IF_ERROR(write_file_atomic(tmp / "recipe.yaml", recipe_yaml));
  SPARSIFY_RETURN_IF_ERROR(write_file_atomic(tmp / "state.json", j.dump(2) + "\n"));
  fs::remove_all(final_dir, ec);
  fs::rename(tmp, final_dir, ec);
  if (ec) return io_error(final_dir.string(), ": cannot rename checkpoint into place: ", ec.message());
  SPARSIFY_RETURN_IF_ERROR(write_file_atomic(root / "last", name + "\n"));
  return final_dir.string();
}

StatusOr<std::string> resolve_checkpoint_dir(const std::string& path) {
  fs::path p(path);
  std::error_code ec;
  if (fs::exists(p / "state.json", ec)) return p.string();
  for (const fs::path& root : {p, p / "checkpoints"}) {
    if (fs::exists(root / "last", ec)) {
      SPARSIFY_ASSIGN_OR_RETURN(std::string name, read_text(root / "last"));
      while (!name.empty() && (name.back() == '\n' || name.back() == ' ')) name.pop_back();
      if (fs::exists(root / name / "state.json", ec)) return (root / name).string();
      return not_found(path, ": 'last' names ", name, " but ", (root / name / "state.json").string(), " does not exist");
    }
  }
  return not_found(path, ": not a checkpoint (expected state.json, or checkpoints/last in a training output dir)");
}

StatusOr<CheckpointState> read_checkpoint_state(const std::string& path) {
  SPARSIFY_ASSIGN_OR_RETURN(std::string dir, resolve_checkpoint_dir(path));
  const fs::path file = fs::path(dir) / "state.json";
  SPARSIFY_ASSIGN_OR_RETURN(std::string text, read_text(file));
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return invalid_argument(file.string(), ": not valid JSON");
  if (j.value("format", "") != kFormat)
    return invalid_argument(file.string(), ": format is '", j.value("format", ""), "', expected '", kFormat, "'");
  CheckpointState s;
  try {
    const auto& m = j.at("model");
    s.model.arch = m.at("arch").get<std::string>();
    s.model.num_classes = m.at("num_classes").get<std::int64_t>();
    s.model.in_channels = m.at("in_channels").get<std::int64_t>();
    s.model.image_size = m.at("image_size").get<std::int64_t>();
    s.epoch = j.at("epoch").get<int>();
    s.step = j.at("step").get<std::int64_t>();
    s.steps_per_epoch = j.at("steps_per_epoch").get<std::int64_t>();
    s.batch_size = j.at("batch_size").get<std::int64_t>();
    s.train_limit = j.value("train_limit", std::int64_t{0});
    s.optimizer = j.at("optimizer").get<std::string>();
    s.lr = j.at("lr").get<double>();
    s.seed = j.at("seed").get<std::uint64_t>();
    s.data_dir = j.at("data_dir").get<std::string>();
    s.recipe_source = j.value("recipe_source", "");
    s.classes = j.value("classes", std::vector<int>{});
    s.freeze = j.value("freeze", std::vector<std::string>{});
    s.metrics = j.value("metrics", nlohmann::json::object()).dump();
  } catch (const nlohmann::json::exception& e) {
    return invalid_argument(file.string(), ": ", e.what());
  }
  return s;
}

Status load_checkpoint(const std::string& path, models::Model& model, torch::optim::Optimizer& optimizer, Manager& manager) {
  SPARSIFY_ASSIGN_OR_RETURN(std::string dir, resolve_checkpoint_dir(path));
  try {
    torch::serialize::InputArchive manager_archive;
    manager_archive.load_from((fs::path(dir) / "manager.pt").string());
    SPARSIFY_RETURN_IF_ERROR(manager.load(manager_archive));
    torch::serialize::InputArchive model_archive;
    model_archive.load_from((fs::path(dir) / "model.pt").string());
    model.load(model_archive);
    torch::serialize::InputArchive opt_archive;
    opt_archive.load_from((fs::path(dir) / "optimizer.pt").string());
    optimizer.load(opt_archive);
  } catch (const c10::Error& e) {
    return invalid_argument(dir, ": cannot load checkpoint: ", e.what_without_backtrace());
  }
  return Status();
}

Status load_model_weights(const std::string& path, models::Model& model) {
  SPARSIFY_ASSIGN_OR_RETURN(std::string dir, resolve_checkpoint_dir(path));
  try {
    torch::serialize::InputArchive archive;
    archive.load_from((fs::path(dir) / "model.pt").string());
    model.load(archive);
  } catch (const c10::Error& e) {
    return invalid_argument(dir, "/model.pt: cannot load weights: ", e.what_without_backtrace());
  }
  return Status();
}

Status append_metrics(const std::string& output_dir, const std::string& json_line) {
  const fs::path path = fs::path(output_dir) / "metrics.jsonl";
  std::ofstream out(path, std::ios::app);
  if (!out) return io_error(path.string(), ": cannot open for appending");
  out << json_line << "\n";
  out.flush();
  if (!out) return io_error(path.string(), ": write failed");
  return Status();
}

}  // namespace sparsify::ml
