// `sparsify zoo` end to end as separate processes: publish, serve, search, info, two concurrent
// downloads of one model, ls, verify, offline, rm, and exit codes.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <cstring>

#include "tests/zoo/zoo_test_util.h"
#include "zoo_client/sha256.h"

extern char** environ;

using namespace zoo_test;

namespace {

struct Proc {
  pid_t pid = -1;
  fs::path out, err;
};

struct Result {
  int code = -1;
  std::string out, err;
};

std::vector<char*> argv_of(std::vector<std::string>& args) {
  std::vector<char*> v;
  for (std::string& a : args) v.push_back(a.data());
  v.push_back(nullptr);
  return v;
}

// Starts `sparsify ARGS...` with stdout/stderr going to files in `dir`; `env` adds variables.
Proc start(const fs::path& dir, std::vector<std::string> args, const std::vector<std::string>& env = {}) {
  static int n = 0;
  Proc p;
  p.out = dir / ("out" + std::to_string(n));
  p.err = dir / ("err" + std::to_string(n++));
  args.insert(args.begin(), SPARSIFY_CLI);
  std::vector<char*> argv = argv_of(args);
  std::vector<std::string> env_strings(env);
  for (char** e = environ; *e; ++e) {
    if (std::strncmp(*e, "SPARSIFY_", 9) != 0) env_strings.push_back(*e);  // the test decides these
  }
  std::vector<char*> envp = argv_of(env_strings);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, p.out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&fa, 2, p.err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  REQUIRE(posix_spawn(&p.pid, argv[0], &fa, nullptr, argv.data(), envp.data()) == 0);
  posix_spawn_file_actions_destroy(&fa);
  return p;
}

Result finish(const Proc& p) {
  int status = 0;
  REQUIRE(waitpid(p.pid, &status, 0) == p.pid);
  Result r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = read_file(p.out);
  r.err = read_file(p.err);
  return r;
}

Result run(const fs::path& dir, std::vector<std::string> args, const std::vector<std::string>& env = {}) {
  Result r = finish(start(dir, std::move(args), env));
  UNSCOPED_INFO("stdout: " << r.out << "\nstderr: " << r.err);
  return r;
}

// `sparsify zoo serve DIR --port 0` in its own process; reads the port it prints.
class ServeProcess {
 public:
  explicit ServeProcess(const fs::path& zoo_dir) {
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    std::vector<std::string> args = {SPARSIFY_CLI, "zoo", "serve", zoo_dir.string(), "--port", "0", "--quiet"};
    std::vector<char*> argv = argv_of(args);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    REQUIRE(posix_spawn(&pid_, argv[0], &fa, nullptr, argv.data(), environ) == 0);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    std::string line;
    pollfd pfd{fds[0], POLLIN, 0};
    while (line.find('\n') == std::string::npos && poll(&pfd, 1, 10000) > 0) {
      char buf[256];
      const ssize_t n = read(fds[0], buf, sizeof buf);
      if (n <= 0) break;
      line.append(buf, static_cast<size_t>(n));
    }
    close(fds[0]);
    const size_t at = line.find("http://");
    REQUIRE(at != std::string::npos);
    url_ = line.substr(at, line.find('\n') - at);
  }
  ~ServeProcess() {
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
  }
  const std::string& url() const { return url_; }

 private:
  pid_t pid_ = -1;
  std::string url_;
};

}  // namespace

TEST_CASE("sparsify zoo: publish, serve, search, info, download, ls, verify, offline, rm", "[zoo][cli]") {
  const fs::path root = temp_dir("cli");
  const fs::path zoo = root / "zoo", cache = root / "cache";
  const fs::path model = make_model_folder(root, 1u << 20);
  Result r = run(root, {"zoo", "publish", model.string(), "--zoo", zoo.string(), "--stub", kLongStub});
  REQUIRE(r.code == 0);
  CHECK_THAT(r.out, Catch::Contains(kShortStub));

  ServeProcess serve(zoo);
  r = run(root, {"zoo", "search", "--zoo", serve.url(), "--architecture", "mnist_cnn", "--sparsity-min", "80"});
  CHECK(r.code == 0);
  CHECK_THAT(r.out, Catch::Contains(kShortStub) && Catch::Contains("90.0%"));
  r = run(root, {"zoo", "search", "--sparsity-min", "95"}, {"SPARSIFY_ZOO_URL=" + serve.url()});
  CHECK(r.code == 0);
  CHECK_THAT(r.out, !Catch::Contains(kShortStub));

  r = run(root, {"zoo", "info", kShortStub, "--zoo", serve.url()});
  CHECK(r.code == 0);
  CHECK_THAT(r.out, Catch::Contains(kLongStub) && Catch::Contains("recipes/recipe_transfer_learn.md") &&
                        Catch::Contains("original, transfer_learn"));

  r = run(root, {"zoo", "download", kShortStub, "--zoo", serve.url(), "--cache", cache.string(), "--dir",
                 (root / "copy").string()});
  REQUIRE(r.code == 0);
  CHECK(read_file(root / "copy/model.onnx") == read_file(model / "model.onnx"));

  r = run(root, {"zoo", "ls", "--cache", cache.string()});
  CHECK(r.code == 0);
  CHECK_THAT(r.out, Catch::Contains(kShortStub) && Catch::Contains("6/6"));
  r = run(root, {"zoo", "verify"}, {"SPARSIFY_CACHE=" + cache.string()});
  CHECK(r.code == 0);

  // Offline: the cached model answers with no zoo at all; an uncached one fails, naming the stub.
  r = run(root, {"zoo", "download", kLongStub, "--offline", "--cache", cache.string()});
  CHECK(r.code == 0);
  CHECK_THAT(r.out, Catch::Contains("snapshots"));
  r = run(root, {"zoo", "download", "zoo:resnet_v1-50-imagenet-pruned95", "--cache", cache.string()},
          {"SPARSIFY_OFFLINE=1"});
  CHECK(r.code == 5);
  CHECK_THAT(r.err, Catch::Contains("zoo:resnet_v1-50-imagenet-pruned95") && Catch::Contains("offline"));

  r = run(root, {"zoo", "rm", kShortStub, "--cache", cache.string()});
  CHECK(r.code == 0);
  r = run(root, {"zoo", "ls", "--cache", cache.string()});
  CHECK_THAT(r.out, !Catch::Contains(kShortStub));

  // Exit codes: a malformed stub is 3 and shows the grammar; an unknown model is 5; no server is 7.
  r = run(root, {"zoo", "info", "zoo:cv/classification", "--zoo", serve.url()});
  CHECK(r.code == 3);
  CHECK_THAT(r.err, Catch::Contains("zoo:DOMAIN/SUB_DOMAIN/ARCH[-SUB_ARCH]"));
  r = run(root, {"zoo", "info", "zoo:mnist_cnn-mnist-pruned50", "--zoo", serve.url()});
  CHECK(r.code == 5);
  r = run(root, {"zoo", "search", "--zoo", "http://127.0.0.1:1", "--retries", "0"});
  CHECK(r.code == 7);
  fs::remove_all(root);
}

TEST_CASE("two processes downloading the same model at once end with one valid copy", "[zoo][cli]") {
  const fs::path root = temp_dir("concurrent");
  const fs::path zoo = root / "zoo", cache = root / "cache";
  const fs::path model = make_model_folder(root, 2u << 20);
  REQUIRE(run(root, {"zoo", "publish", model.string(), "--zoo", zoo.string(), "--stub", kLongStub}).code == 0);
  const std::string id = "cv--classification--mnist_cnn--pytorch--sparsify--mnist--pruned90_quant-none";
  const std::string onnx_path = "/models/" + id + "/model.onnx";
  Faults slow;
  slow.fault_path = onnx_path;
  slow.slow_chunk_ms = 10;  // 64 KiB per 10 ms: ~0.3 s for the model, so the two runs overlap
  slow.hold_until_path = "/index.json";  // and the model only flows once both have read the index,
  slow.hold_until_count = 2;              // however late a loaded machine starts the second one
  FaultServer server(zoo, slow);
  const std::vector<std::string> args = {"zoo", "download", kLongStub, "--zoo", server.url(), "--cache",
                                         cache.string()};
  Proc a = start(root, args), b = start(root, args);
  Result ra = finish(a), rb = finish(b);
  INFO(ra.err << rb.err);
  CHECK(ra.code == 0);
  CHECK(rb.code == 0);
  CHECK(ra.out == rb.out);
  CHECK(server.count(onnx_path) == 1);  // the second process waited on the lock and reused the blob
  // Both processes had read the index before the model finished downloading: they did overlap.
  int index_reads_during_download = 0;
  for (const Seen& s : server.seen()) index_reads_during_download += s.path == "/index.json" && s.at < server.fault_done();
  CHECK(index_reads_during_download == 2);
  const std::string sha = sparsify::zoo::sha256_file((model / "model.onnx").string()).value();
  CHECK(sparsify::zoo::sha256_file((cache / "blobs" / sha).string()).value() == sha);
  size_t blobs = 0, incomplete = 0;
  for (const auto& e : fs::directory_iterator(cache / "blobs")) {
    const std::string name = e.path().filename().string();
    blobs += name.find('.') == std::string::npos ? 1 : 0;
    incomplete += name.find(".incomplete") != std::string::npos ? 1 : 0;
  }
  CHECK(blobs == 6);
  CHECK(incomplete == 0);
  CHECK(run(root, {"zoo", "verify", "--cache", cache.string()}).code == 0);
  fs::remove_all(root);
}
