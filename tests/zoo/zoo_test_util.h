// Test helpers for the zoo: temp folders, a sample model, and a loopback HTTP server that can
// misbehave on purpose (drop the connection, corrupt bytes, answer 500, stall, go slow).
#pragma once

#include <httplib.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace zoo_test {

namespace fs = std::filesystem;

inline fs::path temp_dir(const std::string& name) {
  static std::atomic<int> n{0};
  fs::path d = fs::temp_directory_path() /
               ("sparsify_zoo_" + name + "_" + std::to_string(::getpid()) + "_" + std::to_string(n++));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

inline void write_file(const fs::path& p, const std::string& bytes) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << bytes;
}

inline std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream os;
  os << in.rdbuf();
  return os.str();
}

inline std::string random_bytes(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng() & 0xff);
  return s;
}

inline const char* kLongStub = "zoo:cv/classification/mnist_cnn/pytorch/sparsify/mnist/pruned90_quant-none";
inline const char* kShortStub = "zoo:mnist_cnn-mnist-pruned90_quant";

/// An exported model folder: a `onnx_bytes`-sized model.onnx, a card, two recipes, test data.
inline fs::path make_model_folder(const fs::path& where, size_t onnx_bytes, unsigned seed = 1) {
  const fs::path d = where / "export";
  write_file(d / "model.onnx", random_bytes(onnx_bytes, seed));
  write_file(d / "model.md",
             "---\ndisplay_name: MNIST CNN pruned 90%, quantized\ndomain: cv\ntask: classification\n"
             "architecture: mnist_cnn\ndataset: mnist\nsparsity: 0.9\nquantized: true\naccuracy:\n  top1: 0.985\n"
             "tags: [mnist, demo]\n---\n# MNIST CNN\n");
  write_file(d / "recipes/recipe.md", "---\nversion: 1.1.0\n---\n# original\n");
  write_file(d / "recipes/recipe_transfer_learn.md", "---\nversion: 1.1.0\n---\n# transfer\n");
  write_file(d / "training/model.pt", random_bytes(1000, seed + 1));
  write_file(d / "test_data_set_0/input_0.pb", random_bytes(100, seed + 2));
  return d;
}

/// What the fault server does to the files it serves (each fault applies to `fault_path` only).
struct Faults {
  std::string fault_path;       // URL path the faults apply to ("" = none)
  int drop_first = 0;           // this many requests send `drop_after` bytes, then close the connection
  size_t drop_after = 0;
  int fail_first = 0;           // this many requests answer 500
  bool corrupt = false;         // flip one byte in the middle
  bool stall = false;           // send headers, then nothing
  int slow_chunk_ms = 0;        // > 0: send 64 KiB every this many ms
  std::string hold_until_path;  // non-empty: the faulty body starts only after this path was requested
  int hold_until_count = 0;     // this many times (or after 20 s), so tests of overlap do not race
};

/// One request the server saw.
struct Seen {
  std::string path, range;
  std::chrono::steady_clock::time_point at;
};

/// A loopback HTTP server over a directory, with faults. Starts on an ephemeral port.
class FaultServer {
 public:
  FaultServer(fs::path root, Faults faults) : root_(std::move(root)), faults_(std::move(faults)) {
    server_.Get(R"(/.*)", [this](const httplib::Request& req, httplib::Response& res) { handle(req, res); });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~FaultServer() {
    stopping_ = true;
    server_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::vector<Seen> seen() {
    std::lock_guard<std::mutex> l(mu_);
    return seen_;
  }
  /// When the last faulty response finished sending its body.
  std::chrono::steady_clock::time_point fault_done() {
    std::lock_guard<std::mutex> l(mu_);
    return fault_done_;
  }
  int requests(const std::string& path) {
    std::lock_guard<std::mutex> l(mu_);
    auto it = counts_.find(path);
    return it == counts_.end() ? 0 : it->second;
  }
  int count(const std::string& path) {
    int n = 0;
    for (const Seen& s : seen()) n += s.path == path ? 1 : 0;
    return n;
  }

 private:
  void handle(const httplib::Request& req, httplib::Response& res) {
    int nth = 0;
    {
      std::lock_guard<std::mutex> l(mu_);
      seen_.push_back({req.path, req.get_header_value("Range"), std::chrono::steady_clock::now()});
      nth = ++counts_[req.path];
    }
    const fs::path file = root_ / req.path.substr(1);
    if (req.path.find("..") != std::string::npos || !fs::is_regular_file(file)) {
      res.status = 404;
      return;
    }
    auto body = std::make_shared<std::string>(read_file(file));
    const bool faulty = req.path == faults_.fault_path;
    if (faulty && nth <= faults_.fail_first) {
      res.status = 500;
      res.set_content("try again\n", "text/plain");
      return;
    }
    if (faulty && faults_.corrupt) (*body)[body->size() / 2] ^= 0x5a;
    const bool drop = faulty && nth <= faults_.drop_first;
    const bool stall = faulty && faults_.stall;
    const int slow = faulty ? faults_.slow_chunk_ms : 0;
    const size_t drop_after = faults_.drop_after;
    const bool hold = faulty && !faults_.hold_until_path.empty();
    res.set_content_provider(body->size(), "application/octet-stream",
                             [this, body, drop, stall, slow, drop_after, hold](size_t offset, size_t length,
                                                                                httplib::DataSink& sink) {
      for (int i = 0; hold && offset == 0 && i < 4000 && !stopping_ && requests(faults_.hold_until_path) < faults_.hold_until_count; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      if (stall) {
        for (int i = 0; i < 200 && !stopping_; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(25));
        return false;
      }
      size_t end = offset + length;
      if (drop) end = std::min(end, drop_after);
      size_t pos = offset;
      while (pos < end) {
        const size_t n = std::min<size_t>(end - pos, 64 << 10);
        if (!sink.write(body->data() + pos, n)) return false;
        pos += n;
        if (slow) std::this_thread::sleep_for(std::chrono::milliseconds(slow));
      }
      if (slow) {
        std::lock_guard<std::mutex> l(mu_);
        fault_done_ = std::chrono::steady_clock::now();
      }
      return !drop;  // false closes the connection before Content-Length bytes went out
    });
  }

  fs::path root_;
  Faults faults_;
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  std::vector<Seen> seen_;
  std::map<std::string, int> counts_;
  std::chrono::steady_clock::time_point fault_done_;
};

}  // namespace zoo_test
