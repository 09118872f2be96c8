// Blob downloads: resumable, verified, retried, locked.
#include "zoo_client/download.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <random>
#include <thread>

#include "zoo_client/fs_util.h"
#include "zoo_client/sha256.h"

namespace sparsify::zoo {

bool is_retryable_http_status(long status) { return status == 408 || status == 429 || (status >= 500 && status < 600); }

namespace {

void backoff_sleep(const RetryPolicy& retry, int attempt) {
  double s = retry.initial_backoff_s;
  for (int i = 0; i < attempt; ++i) s *= 2;
  s = std::min(s, retry.max_backoff_s);
  static thread_local std::mt19937 rng(std::random_device{}());
  s *= std::uniform_real_distribution<double>(0.8, 1.2)(rng);  // jitter, so clients do not retry in step
  std::this_thread::sleep_for(std::chrono::duration<double>(s));
}

std::string http_error(const std::string& url, long status) {
  return str_cat(url, ": HTTP ", status, status == 404 ? " Not Found" : status >= 500 ? " server error" : "");
}

// Appends the response body to an .incomplete file while hashing it.
class BlobSink : public ResponseSink {
 public:
  BlobSink(int fd, const BlobRequest& request, std::uint64_t have, Sha256* hasher, const ProgressFn& progress)
      : fd_(fd), request_(request), have_(have), hasher_(hasher), progress_(progress) {}

  Status on_head(const ResponseHead& head) override {
    head_ = head;
    discard_ = !(head.status == 200 || head.status == 206);
    if (discard_) return Status::ok_status();
    if (head.status == 200 || head.body_offset != have_) {
      // The server sent the whole file (or another range): start over.
      const std::uint64_t asked = have_;
      if (::ftruncate(fd_, 0) != 0 || ::lseek(fd_, 0, SEEK_SET) != 0) return io_error("cannot truncate ", request_.label);
      hasher_->reset();
      have_ = 0;
      if (head.status == 206 && head.body_offset != 0) {
        return Status(StatusCode::kNetwork, str_cat(request_.url, ": asked for bytes from ", asked, ", got from ",
                                                    head.body_offset));
      }
    }
    if (head.resource_size >= 0 && static_cast<std::uint64_t>(head.resource_size) != request_.size) {
      return Status(StatusCode::kChecksumMismatch,
                    str_cat(request_.label, ": the server has ", head.resource_size, " bytes at ", request_.url,
                            ", the zoo index says ", request_.size));
    }
    return Status::ok_status();
  }

  Status on_data(const char* data, size_t size) override {
    if (discard_) return Status::ok_status();
    if (have_ + size > request_.size) {
      return Status(StatusCode::kChecksumMismatch, str_cat(request_.label, ": ", request_.url, " sent more than the ",
                                                           request_.size, " bytes the zoo index lists"));
    }
    size_t done = 0;
    while (done < size) {
      const ssize_t n = ::write(fd_, data + done, size - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return io_error(request_.label, ": cannot write to the cache: ", std::strerror(errno));
      done += static_cast<size_t>(n);
    }
    hasher_->update(data, size);
    have_ += size;
    if (progress_) progress_(request_.label, have_, request_.size);
    return Status::ok_status();
  }

  std::uint64_t have() const { return have_; }

 private:
  int fd_;
  const BlobRequest& request_;
  std::uint64_t have_;
  Sha256* hasher_;
  const ProgressFn& progress_;
  ResponseHead head_;
  bool discard_ = false;
};

// One attempt over an open .incomplete file. Returns ok once all bytes are in (not yet verified).
Status attempt(Transport& transport, const BlobRequest& req, int fd, std::uint64_t have, Sha256* hasher,
               const TransferLimits& limits, const ProgressFn& progress, long* http_status) {
  BlobSink sink(fd, req, have, hasher, progress);
  *http_status = 0;
  StatusOr<ResponseHead> head = transport.get(req.url, have, limits, &sink);
  if (!head.ok()) return head.status();
  *http_status = head->status;
  if (head->status == 404) return not_found(http_error(req.url, head->status));
  if (head->status != 200 && head->status != 206) return Status(StatusCode::kNetwork, http_error(req.url, head->status));
  if (sink.have() != req.size) {
    return Status(StatusCode::kNetwork, str_cat(req.url, ": the transfer ended after ", sink.have(), " of ", req.size,
                                                " bytes"));
  }
  return Status::ok_status();
}

}  // namespace

Status download_blob(Transport& transport, const BlobRequest& req, const std::string& blobs_dir,
                     const std::string& locks_dir, const TransferLimits& limits, const RetryPolicy& retry,
                     const ProgressFn& progress) {
  SPARSIFY_RETURN_IF_ERROR(make_dirs(blobs_dir));
  SPARSIFY_ASSIGN_OR_RETURN(FileLock lock, FileLock::acquire(locks_dir + "/" + req.sha256 + ".lock"));
  const std::string final_path = blobs_dir + "/" + req.sha256;
  if (file_size_or_minus_one(final_path) == static_cast<std::int64_t>(req.size)) return Status::ok_status();
  const std::string partial = final_path + ".incomplete";
  const int fd = ::open(partial.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return io_error("cannot open ", partial, ": ", std::strerror(errno));
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } closer{fd};

  // Resume: hash what an earlier, interrupted download left behind and ask for the rest.
  Sha256 hasher;
  std::int64_t have = file_size_or_minus_one(partial);
  if (have < 0 || static_cast<std::uint64_t>(have) > req.size) {
    if (::ftruncate(fd, 0) != 0) return io_error("cannot truncate ", partial);
    have = 0;
  }
  if (have > 0) SPARSIFY_RETURN_IF_ERROR(sha256_update_from_file(partial, static_cast<std::uint64_t>(have), &hasher));
  if (::lseek(fd, have, SEEK_SET) < 0) return io_error("cannot seek in ", partial);

  Status last;
  for (int a = 0; a <= retry.max_retries; ++a) {
    if (a > 0) backoff_sleep(retry, a - 1);
    long http_status = 0;
    if (static_cast<std::uint64_t>(have) == req.size) {
      last = Status::ok_status();  // an earlier run got every byte but died before renaming
    } else {
      last = attempt(transport, req, fd, static_cast<std::uint64_t>(have), &hasher, limits, progress, &http_status);
    }
    if (last.ok()) {
      const std::string digest = hasher.hex_digest();
      if (digest != req.sha256) {
        ::unlink(partial.c_str());
        return Status(StatusCode::kChecksumMismatch,
                      str_cat(req.label, ": sha256 of the downloaded bytes is ", digest, ", the zoo index says ",
                              req.sha256, " (from ", req.url, "); the download was discarded"));
      }
      if (::fsync(fd) != 0) return io_error("cannot flush ", partial, ": ", std::strerror(errno));
      ::fchmod(fd, 0444);
      if (::rename(partial.c_str(), final_path.c_str()) != 0) {
        return io_error("cannot rename ", partial, " to ", final_path, ": ", std::strerror(errno));
      }
      return Status::ok_status();
    }
    if (last.code() == StatusCode::kChecksumMismatch) {
      ::unlink(partial.c_str());
      return last.with_prefix("the download was discarded");
    }
    const bool retryable = last.code() == StatusCode::kNetwork &&
                           (http_status == 0 || is_retryable_http_status(http_status));
    if (!retryable) {
      if (file_size_or_minus_one(partial) == 0) ::unlink(partial.c_str());  // nothing worth resuming
      return last;
    }
    have = file_size_or_minus_one(partial);  // keep what arrived; the next attempt resumes after it
    if (have < 0) have = 0;
    // The hasher already holds exactly the bytes in the file: BlobSink hashes what it writes.
  }
  return Status(StatusCode::kNetwork, str_cat(last.message(), " (gave up after ", retry.max_retries + 1,
                                              retry.max_retries == 0 ? " attempt" : " attempts",
                                              "; the partial download is kept and resumes next time)"));
}

StatusOr<std::string> fetch_text(Transport& transport, const std::string& url, const TransferLimits& limits,
                                 const RetryPolicy& retry) {
  Status last;
  for (int a = 0; a <= retry.max_retries; ++a) {
    if (a > 0) backoff_sleep(retry, a - 1);
    StringSink sink;
    StatusOr<ResponseHead> head = transport.get(url, 0, limits, &sink);
    if (!head.ok()) {
      last = head.status();
      if (last.code() != StatusCode::kNetwork) return last;
      continue;
    }
    if (head->status == 200) return sink.body();
    if (head->status == 404) return not_found(http_error(url, head->status));
    last = Status(StatusCode::kNetwork, http_error(url, head->status));
    if (!is_retryable_http_status(head->status)) return last;
  }
  return Status(StatusCode::kNetwork, str_cat(last.message(), " (gave up after ", retry.max_retries + 1,
                                              retry.max_retries == 0 ? " attempt)" : " attempts)"));
}

}  // namespace sparsify::zoo

