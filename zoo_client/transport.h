// How the zoo client moves bytes: an interface (HTTP via libcurl, local directories, test fakes).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "engine/base/status.h"

namespace sparsify::zoo {

/// Timeouts of one transfer. A transfer slower than low_speed_limit bytes/s for low_speed_time
/// seconds is abandoned (it stalled), so there is no overall deadline on large files.
struct TransferLimits {
  double connect_timeout_s = 15;
  double low_speed_time_s = 30;
  long low_speed_limit_bytes = 1;
};

/// What the server said before the body.
struct ResponseHead {
  long status = 0;                 // HTTP status (file transports answer 200/206/404 too)
  std::uint64_t body_offset = 0;   // where the body starts in the resource (Content-Range), 0 on 200
  std::int64_t resource_size = -1; // whole resource size when known (Content-Length or Content-Range)
};

/// Receives a response. on_head is called once before any on_data, for every status; a non-ok
/// Status from either aborts the transfer and is returned by Transport::get as is.
class ResponseSink {
 public:
  virtual ~ResponseSink() = default;
  virtual Status on_head(const ResponseHead& head) = 0;
  virtual Status on_data(const char* data, size_t size) = 0;
};

/// Transfers one resource. Implementations are used from one thread at a time.
class Transport {
 public:
  virtual ~Transport() = default;
  /// GETs `url`, asking for the bytes from `offset` on (a Range request) when offset > 0; a
  /// server may ignore the range and answer 200 with the whole body, which ResponseHead shows.
  /// Returns the head when the transfer completed (any HTTP status, including 404 and 500);
  /// `network` when it failed midway (connection refused or closed, timeout) — the bytes that
  /// arrived have already gone to the sink; or the sink's own error.
  virtual StatusOr<ResponseHead> get(const std::string& url, std::uint64_t offset, const TransferLimits& limits,
                                     ResponseSink* sink) = 0;
};

/// libcurl for http:// and https:// (thread-safe to create; one easy handle per call).
std::unique_ptr<Transport> make_curl_transport();
/// Plain files for file:// URLs (a local-directory zoo): honours offsets, answers 404 when missing.
std::unique_ptr<Transport> make_file_transport();

/// A sink that collects a small body (an index) in memory; fails beyond `max_bytes`.
class StringSink : public ResponseSink {
 public:
  explicit StringSink(size_t max_bytes = 256u << 20) : max_bytes_(max_bytes) {}
  Status on_head(const ResponseHead& head) override;
  Status on_data(const char* data, size_t size) override;
  const ResponseHead& head() const { return head_; }
  const std::string& body() const { return body_; }

 private:
  size_t max_bytes_;
  ResponseHead head_;
  std::string body_;
};

}  // namespace sparsify::zoo
