// File-system helpers of the zoo: advisory locks, atomic writes, temp names, copying.
#pragma once

#include <cstdint>
#include <string>

#include "engine/base/status.h"

namespace sparsify::zoo {

/// An exclusive flock(2) on a lock file, released on destruction (or when the process dies, so a
/// killed holder never leaves a stale lock). Move-only.
class FileLock {
 public:
  /// Blocks until the lock on `path` is held; creates the file and its parent directories.
  static StatusOr<FileLock> acquire(const std::string& path);
  FileLock(FileLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  FileLock& operator=(FileLock&& other) noexcept;
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  ~FileLock();

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

/// Creates a directory and its parents; io_error naming the path on failure.
Status make_dirs(const std::string& path);
/// Reads a whole file; not_found when it does not exist, io_error otherwise.
StatusOr<std::string> read_text_file(const std::string& path);
/// Writes `bytes` to a temp file beside `path`, fsyncs it and renames it over `path` (readers see
/// the old or the new file, never a torn one).
Status write_file_atomic(const std::string& path, const std::string& bytes);
/// A name for a temp file or directory beside `path` that no other process or thread will pick.
std::string unique_temp_name(const std::string& path);
/// Copies a regular file (mode 0644); io_error on failure.
Status copy_file(const std::string& from, const std::string& to);
/// Size of a file, or -1 when it does not exist.
std::int64_t file_size_or_minus_one(const std::string& path);
/// `$HOME/.cache/sparsify` unless SPARSIFY_CACHE is set.
std::string default_cache_dir();

}  // namespace sparsify::zoo
