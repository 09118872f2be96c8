// download_blob against a fake transport: servers that ignore Range, 404s, retry accounting.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>

#include "zoo_client/download.h"
#include "zoo_client/sha256.h"

using namespace sparsify;
using namespace sparsify::zoo;
namespace fs = std::filesystem;

namespace {

// Answers every request with `respond(offset)`: a status and whether it honours the range.
class FakeTransport : public Transport {
 public:
  struct Answer {
    long status = 200;
    bool honour_range = true;
  };
  FakeTransport(std::string body, std::function<Answer(int call, std::uint64_t offset)> respond)
      : body_(std::move(body)), respond_(std::move(respond)) {}
  StatusOr<ResponseHead> get(const std::string&, std::uint64_t offset, const TransferLimits&,
                             ResponseSink* sink) override {
    offsets.push_back(offset);
    const Answer a = respond_(calls_++, offset);
    ResponseHead head;
    head.status = a.status;
    if (a.status == 200 || a.status == 206) {
      const std::uint64_t from = a.honour_range ? offset : 0;
      head.status = from > 0 ? 206 : 200;
      head.body_offset = from;
      head.resource_size = static_cast<std::int64_t>(body_.size());
      SPARSIFY_RETURN_IF_ERROR(sink->on_head(head));
      SPARSIFY_RETURN_IF_ERROR(sink->on_data(body_.data() + from, body_.size() - from));
      return head;
    }
    SPARSIFY_RETURN_IF_ERROR(sink->on_head(head));
    SPARSIFY_RETURN_IF_ERROR(sink->on_data("error page", 10));
    return head;
  }
  std::vector<std::uint64_t> offsets;

 private:
  std::string body_;
  std::function<Answer(int, std::uint64_t)> respond_;
  int calls_ = 0;
};

struct Dirs {
  fs::path root = fs::temp_directory_path() / ("sparsify_dl_" + std::to_string(::getpid()));
  Dirs() { fs::remove_all(root); fs::create_directories(root / "blobs"); }
  ~Dirs() { fs::remove_all(root); }
  std::string blobs() const { return (root / "blobs").string(); }
  std::string locks() const { return (root / "locks").string(); }
};

RetryPolicy fast_retry(int n) {
  RetryPolicy r;
  r.max_retries = n;
  r.initial_backoff_s = 0.001;
  r.max_backoff_s = 0.002;
  return r;
}

}  // namespace

TEST_CASE("a server that ignores Range restarts the file and still verifies", "[zoo][download]") {
  Dirs d;
  const std::string body(5000, 'z');
  const BlobRequest req{"http://fake/m", sha256_string(body), body.size(), "m"};
  std::ofstream(d.root / "blobs" / (req.sha256 + ".incomplete"), std::ios::binary) << body.substr(0, 1200);
  FakeTransport t(body, [](int, std::uint64_t) { return FakeTransport::Answer{200, /*honour_range=*/false}; });
  REQUIRE(download_blob(t, req, d.blobs(), d.locks(), {}, fast_retry(0), {}).ok());
  CHECK(t.offsets == std::vector<std::uint64_t>{1200});
  CHECK(sha256_file(d.blobs() + "/" + req.sha256).value() == req.sha256);
  CHECK_FALSE(fs::exists(d.root / "blobs" / (req.sha256 + ".incomplete")));
}

TEST_CASE("an .incomplete that already holds every byte is verified without a request", "[zoo][download]") {
  Dirs d;
  const std::string body = "all here";
  const BlobRequest req{"http://fake/m", sha256_string(body), body.size(), "m"};
  std::ofstream(d.root / "blobs" / (req.sha256 + ".incomplete"), std::ios::binary) << body;
  FakeTransport t(body, [](int, std::uint64_t) { return FakeTransport::Answer{}; });
  REQUIRE(download_blob(t, req, d.blobs(), d.locks(), {}, fast_retry(0), {}).ok());
  CHECK(t.offsets.empty());
}

TEST_CASE("404 is not_found at once; 503 is retried the configured number of times", "[zoo][download]") {
  Dirs d;
  const std::string body = "bytes";
  const BlobRequest req{"http://fake/m", sha256_string(body), body.size(), "m"};
  FakeTransport missing(body, [](int, std::uint64_t) { return FakeTransport::Answer{404}; });
  Status s = download_blob(missing, req, d.blobs(), d.locks(), {}, fast_retry(3), {});
  CHECK(s.code() == StatusCode::kNotFound);
  CHECK(missing.offsets.size() == 1);
  CHECK_FALSE(fs::exists(d.root / "blobs" / (req.sha256 + ".incomplete")));

  FakeTransport busy(body, [](int, std::uint64_t) { return FakeTransport::Answer{503}; });
  s = download_blob(busy, req, d.blobs(), d.locks(), {}, fast_retry(3), {});
  CHECK(s.code() == StatusCode::kNetwork);
  CHECK(busy.offsets.size() == 4);
  CHECK_THAT(s.message(), Catch::Contains("HTTP 503") && Catch::Contains("4 attempts"));

  FakeTransport forbidden(body, [](int, std::uint64_t) { return FakeTransport::Answer{403}; });
  CHECK(download_blob(forbidden, req, d.blobs(), d.locks(), {}, fast_retry(3), {}).code() == StatusCode::kNetwork);
  CHECK(forbidden.offsets.size() == 1);  // 4xx other than 408/429 is not retried
}

TEST_CASE("a server whose size differs from the index is a checksum mismatch", "[zoo][download]") {
  Dirs d;
  const std::string body = "longer than listed";
  const BlobRequest req{"http://fake/m", sha256_string(body), body.size() - 3, "model.onnx"};
  FakeTransport t(body, [](int, std::uint64_t) { return FakeTransport::Answer{}; });
  Status s = download_blob(t, req, d.blobs(), d.locks(), {}, fast_retry(3), {});
  CHECK(s.code() == StatusCode::kChecksumMismatch);
  CHECK_THAT(s.message(), Catch::Contains("model.onnx"));
  CHECK(t.offsets.size() == 1);
  CHECK(fs::is_empty(d.root / "blobs"));
}
