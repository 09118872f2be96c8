// The zoo client against real HTTP servers on 127.0.0.1: round trips (directory and HTTP zoo),
// resume after a dropped connection, corrupt bytes, 500s, stalls, offline mode.
#include <catch2/catch.hpp>

#include <chrono>
#include <thread>

#include "tests/zoo/zoo_test_util.h"
#include "zoo_client/fs_util.h"
#include "zoo_client/publish.h"
#include "zoo_client/server.h"
#include "zoo_client/sha256.h"
#include "zoo_client/zoo.h"

using namespace sparsify;
using namespace sparsify::zoo;
using namespace zoo_test;

namespace {

constexpr size_t kOnnxBytes = 3u << 20;

// A temp zoo with the sample model published, and a private cache.
struct Fixture {
  fs::path root = temp_dir("http");
  fs::path zoo_dir = root / "zoo";
  fs::path cache_dir = root / "cache";
  ModelEntry model;

  Fixture() {
    auto m = publish_model(make_model_folder(root, kOnnxBytes).string(), zoo_dir.string(), kLongStub);
    REQUIRE(m.ok());
    model = *m;
  }
  ~Fixture() { fs::remove_all(root); }

  FetchOptions options(const std::string& zoo) const {
    FetchOptions o;
    o.zoo = zoo;
    o.cache_dir = cache_dir.string();
    o.progress = false;
    o.retry.initial_backoff_s = 0.02;
    o.retry.max_backoff_s = 0.1;
    o.limits.connect_timeout_s = 2;
    o.limits.low_speed_time_s = 2;
    return o;
  }
  const FileEntry& onnx() const { return *model.find_file("model.onnx"); }
  std::string onnx_url_path() const { return "/models/" + model.id + "/model.onnx"; }
  fs::path blob(const FileEntry& f) const { return cache_dir / "blobs" / f.sha256; }
  fs::path snapshot() const { return cache_dir / "snapshots" / model.id; }
};

size_t count_files(const fs::path& dir, const std::string& suffix) {
  size_t n = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator(); ++it) {
    const std::string name = it->path().filename().string();
    if (name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) ++n;
  }
  return n;
}

// publish -> search -> info -> download -> recipe -> checkpoint -> offline, against one zoo URL.
void round_trip(const Fixture& fx, const std::string& zoo) {
  FetchOptions o = fx.options(zoo);
  SearchQuery q;
  q.architecture = "mnist_cnn";
  q.sparsity_min = 0.8;
  auto found = search(q, o);
  REQUIRE(found.ok());
  REQUIRE(found->size() == 1);
  CHECK((*found)[0].short_stub == kShortStub);
  q.sparsity_min = 0.95;
  CHECK(search(q, o)->empty());
  SearchQuery by_text;
  by_text.text = "DEMO";
  CHECK(search(by_text, o)->size() == 1);

  auto info = model_info(kShortStub, o);
  REQUIRE(info.ok());
  CHECK(info->stub == kLongStub);
  CHECK(info->card.display_name == "MNIST CNN pruned 90%, quantized");
  CHECK(*info->card.quantized);

  auto dir = fetch_model(kShortStub, o);
  REQUIRE(dir.ok());
  for (const FileEntry& f : fx.model.files) {
    INFO(f.path);
    CHECK(read_file(fs::path(*dir) / f.path) == read_file(fx.zoo_dir / "models" / fx.model.id / f.path));
    CHECK(fs::is_symlink(fs::path(*dir) / f.path));
  }
  CHECK(count_files(fx.cache_dir, ".incomplete") == 0);

  auto recipe = fetch_recipe(std::string(kShortStub) + "?recipe_type=transfer_learn", o);
  REQUIRE(recipe.ok());
  CHECK_THAT(read_file(*recipe), Catch::Contains("# transfer"));
  auto original = fetch_recipe(kLongStub, o);
  REQUIRE(original.ok());
  CHECK_THAT(read_file(*original), Catch::Contains("# original"));
  auto missing = fetch_recipe(std::string(kShortStub) + "?recipe_type=distill", o);
  CHECK(missing.status().code() == StatusCode::kNotFound);
  CHECK_THAT(missing.status().message(), Catch::Contains("recipes/recipe_transfer_learn.md"));
  auto ckpt = fetch_checkpoint(std::string(kShortStub) + "?checkpoint=model", o);
  REQUIRE(ckpt.ok());
  CHECK(fs::path(*ckpt).filename() == "model.pt");

  auto unknown = fetch_model("zoo:mnist_cnn-mnist-pruned80_quant", o);
  CHECK(unknown.status().code() == StatusCode::kNotFound);
  CHECK_THAT(unknown.status().message(), Catch::Contains("nearest: zoo:mnist_cnn-mnist-pruned90_quant"));

  const fs::path out = fx.root / "copy";
  REQUIRE(copy_model_to(*dir, *info, out.string()).ok());
  CHECK(read_file(out / "model.onnx") == read_file(fx.zoo_dir / "models" / fx.model.id / "model.onnx"));
  CHECK_FALSE(fs::is_symlink(out / "model.onnx"));

  Cache cache(fx.cache_dir.string());
  auto issues = cache.verify();
  REQUIRE(issues.ok());
  CHECK(issues->empty());
}

}  // namespace

TEST_CASE("round trip through a local-directory zoo", "[zoo][http]") {
  Fixture fx;
  round_trip(fx, fx.zoo_dir.string());
}

TEST_CASE("round trip through `zoo serve` over HTTP, with Range answered by 206", "[zoo][http]") {
  Fixture fx;
  ZooServer server(fx.zoo_dir.string());
  std::vector<std::string> log;
  std::mutex mu;
  server.set_logger([&](const std::string&, const std::string& path, int status, const std::string& range) {
    std::lock_guard<std::mutex> l(mu);
    log.push_back(path + " " + std::to_string(status) + " " + range);
  });
  auto port = server.bind("127.0.0.1", 0);
  REQUIRE(port.ok());
  std::thread t([&] { (void)server.listen(); });
  server.wait_until_listening();
  struct Joiner {  // stops the server even when a REQUIRE below fails
    ZooServer& s;
    std::thread& t;
    ~Joiner() {
      s.stop();
      t.join();
    }
  } joiner{server, t};
  const std::string url = "http://127.0.0.1:" + std::to_string(*port);
  round_trip(fx, url);

  // Range: the server answers 206 with the tail of the file.
  auto transport = make_curl_transport();
  StringSink sink;
  auto head = transport->get(url + fx.onnx_url_path(), kOnnxBytes - 10, TransferLimits{}, &sink);
  REQUIRE(head.ok());
  CHECK(head->status == 206);
  CHECK(head->body_offset == kOnnxBytes - 10);
  CHECK(head->resource_size == static_cast<std::int64_t>(kOnnxBytes));
  CHECK(sink.body() == read_file(fx.zoo_dir / "models" / fx.model.id / "model.onnx").substr(kOnnxBytes - 10));
  // Hidden files (locks, publish temp folders) and traversal are never served.
  StringSink hidden;
  CHECK(transport->get(url + "/.zoo.lock", 0, TransferLimits{}, &hidden)->status == 404);
  httplib::Client raw("127.0.0.1", *port);  // curl would normalize "..", so send it raw
  auto traversal = raw.Get(("/models/" + fx.model.id + "/../../index.json").c_str());
  REQUIRE(traversal);
  CHECK(traversal->status == 404);
}

TEST_CASE("a download cut halfway keeps its .incomplete and resumes with a Range request", "[zoo][http]") {
  Fixture fx;
  const size_t cut = 1u << 20;
  {
    Faults f;
    f.fault_path = fx.onnx_url_path();
    f.drop_first = 100;
    f.drop_after = cut;
    FaultServer dropping(fx.zoo_dir, f);
    FetchOptions o = fx.options(dropping.url());
    o.retry.max_retries = 0;
    auto r = fetch_model(kLongStub, o);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == StatusCode::kNetwork);
    CHECK_THAT(r.status().message(), Catch::Contains("resumes next time"));
    const fs::path partial = fx.blob(fx.onnx()).string() + ".incomplete";
    REQUIRE(fs::exists(partial));
    CHECK(fs::file_size(partial) == cut);
    CHECK_FALSE(fs::exists(fx.blob(fx.onnx())));
    CHECK_FALSE(fs::exists(fx.cache_dir / "models" / (fx.model.id + ".json")));
  }
  // A healthy server: the client asks only for the rest.
  FaultServer healthy(fx.zoo_dir, Faults{});
  auto r = fetch_model(kLongStub, fx.options(healthy.url()));
  REQUIRE(r.ok());
  bool ranged = false;
  for (const Seen& s : healthy.seen()) {
    if (s.path == fx.onnx_url_path()) {
      CHECK(s.range == "bytes=" + std::to_string(cut) + "-");
      ranged = true;
    }
  }
  CHECK(ranged);
  CHECK(sha256_file((fs::path(*r) / "model.onnx").string()).value() == fx.onnx().sha256);
  CHECK(count_files(fx.cache_dir, ".incomplete") == 0);
}

TEST_CASE("within one call, a dropped connection is retried from where it stopped", "[zoo][http]") {
  Fixture fx;
  Faults f;
  f.fault_path = fx.onnx_url_path();
  f.drop_first = 1;
  f.drop_after = 700000;
  FaultServer server(fx.zoo_dir, f);
  auto r = fetch_model(kShortStub, fx.options(server.url()));
  REQUIRE(r.ok());
  std::vector<std::string> ranges;
  for (const Seen& s : server.seen()) {
    if (s.path == fx.onnx_url_path()) ranges.push_back(s.range);
  }
  CHECK(ranges == std::vector<std::string>{"", "bytes=700000-"});
  CHECK(sha256_file((fs::path(*r) / "model.onnx").string()).value() == fx.onnx().sha256);
}

TEST_CASE("corrupt bytes give checksum_mismatch and leave nothing in the cache", "[zoo][http]") {
  Fixture fx;
  Faults f;
  f.fault_path = fx.onnx_url_path();
  f.corrupt = true;
  FaultServer server(fx.zoo_dir, f);
  auto r = fetch_model(kLongStub, fx.options(server.url()));
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == StatusCode::kChecksumMismatch);
  CHECK_THAT(r.status().message(), Catch::Contains("model.onnx") && Catch::Contains(fx.onnx().sha256));
  CHECK(server.count(fx.onnx_url_path()) == 1);  // a checksum mismatch is not retried
  CHECK_FALSE(fs::exists(fx.blob(fx.onnx())));
  CHECK(count_files(fx.cache_dir, ".incomplete") == 0);
  CHECK_FALSE(fs::exists(fx.snapshot() / "model.onnx"));
  CHECK_FALSE(fs::exists(fx.cache_dir / "models" / (fx.model.id + ".json")));
}

TEST_CASE("500 twice, then 200: the download succeeds after two retries", "[zoo][http]") {
  Fixture fx;
  Faults f;
  f.fault_path = fx.onnx_url_path();
  f.fail_first = 2;
  FaultServer server(fx.zoo_dir, f);
  auto r = fetch_model(kLongStub, fx.options(server.url()));
  REQUIRE(r.ok());
  CHECK(server.count(fx.onnx_url_path()) == 3);
  CHECK(sha256_file((fs::path(*r) / "model.onnx").string()).value() == fx.onnx().sha256);

  // With fewer retries than failures the error says what the server answered.
  Fixture fx2;
  Faults five_500s;
  five_500s.fault_path = fx2.onnx_url_path();
  five_500s.fail_first = 5;
  FaultServer server2(fx2.zoo_dir, five_500s);
  FetchOptions o = fx2.options(server2.url());
  o.retry.max_retries = 1;
  auto r2 = fetch_model(kLongStub, o);
  CHECK(r2.status().code() == StatusCode::kNetwork);
  CHECK_THAT(r2.status().message(), Catch::Contains("HTTP 500") && Catch::Contains("after 2 attempts"));
}

TEST_CASE("a stalled server hits the stall timeout with a clear error", "[zoo][http]") {
  Fixture fx;
  Faults f;
  f.fault_path = fx.onnx_url_path();
  f.stall = true;
  FaultServer server(fx.zoo_dir, f);
  FetchOptions o = fx.options(server.url());
  o.limits.low_speed_time_s = 1;
  o.retry.max_retries = 1;
  const auto t0 = std::chrono::steady_clock::now();
  auto r = fetch_model(kLongStub, o);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == StatusCode::kNetwork);
  CHECK_THAT(r.status().message(), Catch::Contains("timed out") && Catch::Contains("model.onnx"));
  CHECK(secs < 8);
  CHECK(server.count(fx.onnx_url_path()) == 2);

  // Nothing listening: the connection is refused, quickly, as a network error.
  FetchOptions refused = fx.options("http://127.0.0.1:1");
  refused.retry.max_retries = 0;
  CHECK(fetch_model(kLongStub, refused).status().code() == StatusCode::kNetwork);
}

TEST_CASE("offline: a cached model answers without a zoo; a missing one fails naming the stub", "[zoo][http]") {
  Fixture fx;
  {
    FaultServer server(fx.zoo_dir, Faults{});
    REQUIRE(fetch_model(kLongStub, fx.options(server.url())).ok());
  }
  FetchOptions o = fx.options("http://127.0.0.1:1");  // nothing there
  o.offline = true;
  auto dir = fetch_model(kShortStub, o);
  REQUIRE(dir.ok());
  CHECK(fs::exists(fs::path(*dir) / "model.onnx"));
  CHECK(fetch_recipe(std::string(kLongStub) + "?recipe_type=transfer_learn", o).ok());
  auto info = model_info(kShortStub, o);
  REQUIRE(info.ok());
  CHECK(info->stub == kLongStub);

  auto missing = fetch_model("zoo:resnet_v1-50-imagenet-pruned95", o);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().code() == StatusCode::kNotFound);
  CHECK_THAT(missing.status().message(),
             Catch::Contains("zoo:resnet_v1-50-imagenet-pruned95") && Catch::Contains("offline"));

  // The environment variable does the same as the option.
  ::setenv("SPARSIFY_OFFLINE", "1", 1);
  FetchOptions env = fx.options("http://127.0.0.1:1");
  CHECK(fetch_model(kLongStub, env).ok());
  CHECK(fetch_model("zoo:resnet_v1-50-imagenet-pruned95", env).status().code() == StatusCode::kNotFound);
  ::unsetenv("SPARSIFY_OFFLINE");

  // Online but the zoo is unreachable: a fully cached model still answers.
  FetchOptions unreachable = fx.options("http://127.0.0.1:1");
  unreachable.retry.max_retries = 0;
  CHECK(fetch_model(kShortStub, unreachable).ok());
}

TEST_CASE("verify re-hashes the cache, deletes a corrupt blob, and the next fetch repairs it", "[zoo][http]") {
  Fixture fx;
  auto o = fx.options(fx.zoo_dir.string());
  REQUIRE(fetch_model(kLongStub, o).ok());
  const fs::path blob = fx.blob(fx.onnx());
  fs::permissions(blob, fs::perms::owner_write, fs::perm_options::add);
  {
    std::fstream f(blob, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(10);
    f.put('X');
  }
  Cache cache(fx.cache_dir.string());
  auto issues = cache.verify();
  REQUIRE(issues.ok());
  REQUIRE(issues->size() == 1);
  CHECK((*issues)[0].path == "model.onnx");
  CHECK_FALSE(fs::exists(blob));
  REQUIRE(fetch_model(kLongStub, o).ok());
  CHECK(sha256_file(blob.string()).value() == fx.onnx().sha256);
  CHECK(cache.verify()->empty());

  auto m = cache.find_model(*parse_stub(kShortStub));
  REQUIRE(m.ok());
  REQUIRE(cache.remove_model(*m).ok());
  CHECK_FALSE(fs::exists(fx.snapshot()));
  CHECK_FALSE(fs::exists(blob));
  CHECK(cache.list_models()->empty());
}
