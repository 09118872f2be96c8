// Downloads into the content-addressed blob store: resume with Range, verify sha256, retry with
// backoff, rename into place; one flock per blob so concurrent processes share the work.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "engine/base/status.h"
#include "zoo_client/transport.h"

namespace sparsify::zoo {

/// Bounded retries with exponential backoff, for 5xx/408/429 answers and failed transfers.
struct RetryPolicy {
  int max_retries = 4;             // attempts = 1 + max_retries
  double initial_backoff_s = 0.5;  // doubled after each failure...
  double max_backoff_s = 8;        // ...up to this
};

/// Called as bytes arrive: (label, bytes of the file present so far, file size). May be empty.
using ProgressFn = std::function<void(const std::string& label, std::uint64_t done, std::uint64_t total)>;

/// One blob to fetch.
struct BlobRequest {
  std::string url;
  std::string sha256;
  std::uint64_t size = 0;
  std::string label;  // names the file in messages: "zoo:...: model.onnx"
};

/// Makes `blobs_dir`/<sha256> exist with exactly the requested bytes. Bytes go to
/// <sha256>.incomplete first (kept on network failure so the next call resumes it with a Range
/// request; removed on a checksum mismatch), and are renamed into place only once verified.
/// Holds an exclusive flock on `locks_dir`/<sha256>.lock meanwhile. Errors: not_found (404),
/// network (after the retries), checksum_mismatch (nothing is left behind), io_error.
Status download_blob(Transport& transport, const BlobRequest& request, const std::string& blobs_dir,
                     const std::string& locks_dir, const TransferLimits& limits, const RetryPolicy& retry,
                     const ProgressFn& progress);

/// GETs a small resource (an index) into memory, with the same retries. not_found on 404.
StatusOr<std::string> fetch_text(Transport& transport, const std::string& url, const TransferLimits& limits,
                                 const RetryPolicy& retry);

/// True for HTTP statuses worth retrying: 408, 429 and 5xx.
bool is_retryable_http_status(long status);

}  // namespace sparsify::zoo
