// SHA-256 digests of byte streams and files (OpenSSL's EVP), as lower-case hex.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "engine/base/status.h"

namespace sparsify::zoo {

/// An incremental SHA-256. Not thread-safe; one per stream. Movable, not copyable.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;
  void update(const void* data, size_t size);
  /// Lower-case hex of the digest. Resets the hasher afterwards.
  std::string hex_digest();
  void reset();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// SHA-256 of a file's bytes (hex), or io_error naming the path.
StatusOr<std::string> sha256_file(const std::string& path);
/// SHA-256 of the first `length` bytes of a file, fed into `hasher` (for resuming a download).
Status sha256_update_from_file(const std::string& path, std::uint64_t length, Sha256* hasher);
/// SHA-256 of a string (hex).
std::string sha256_string(const std::string& bytes);
/// True for 64 lower-case hex digits.
bool is_sha256_hex(const std::string& text);

}  // namespace sparsify::zoo
