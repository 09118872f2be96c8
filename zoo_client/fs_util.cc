// File-system helpers: flock-based locks, temp-then-rename writes.
#include "zoo_client/fs_util.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace sparsify::zoo {

namespace fs = std::filesystem;

StatusOr<FileLock> FileLock::acquire(const std::string& path) {
  SPARSIFY_RETURN_IF_ERROR(make_dirs(fs::path(path).parent_path().string()));
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return io_error("cannot open lock file ", path, ": ", std::strerror(errno));
  while (::flock(fd, LOCK_EX) != 0) {
    if (errno == EINTR) continue;
    const int err = errno;
    ::close(fd);
    return io_error("cannot lock ", path, ": ", std::strerror(err));
  }
  return FileLock(fd);
}

FileLock& FileLock::operator=(FileLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

FileLock::~FileLock() {
  if (fd_ >= 0) ::close(fd_);  // closing the descriptor releases the flock
}

Status make_dirs(const std::string& path) {
  if (path.empty()) return Status::ok_status();
  std::error_code ec;
  fs::create_directories(path, ec);
  if (ec) return io_error("cannot create directory ", path, ": ", ec.message());
  return Status::ok_status();
}

StatusOr<std::string> read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (errno == ENOENT) return not_found(path, " does not exist");
    return io_error("cannot open ", path, ": ", std::strerror(errno));
  }
  std::ostringstream os;
  os << in.rdbuf();
  if (in.bad()) return io_error("cannot read ", path);
  return os.str();
}

std::string unique_temp_name(const std::string& path) {
  static std::atomic<unsigned> counter{0};
  return str_cat(path, ".tmp.", ::getpid(), ".", counter++);
}

Status write_file_atomic(const std::string& path, const std::string& bytes) {
  const std::string tmp = unique_temp_name(path);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return io_error("cannot create ", tmp, ": ", std::strerror(errno));
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return io_error("cannot write ", tmp, ": ", std::strerror(err));
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    ::unlink(tmp.c_str());
    return io_error("cannot flush ", tmp, ": ", std::strerror(errno));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return io_error("cannot rename ", tmp, " to ", path, ": ", std::strerror(err));
  }
  return Status::ok_status();
}

Status copy_file(const std::string& from, const std::string& to) {
  std::error_code ec;
  fs::copy_file(from, to, fs::copy_options::overwrite_existing, ec);
  if (ec) return io_error("cannot copy ", from, " to ", to, ": ", ec.message());
  fs::permissions(to, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read | fs::perms::others_read,
                  ec);
  return Status::ok_status();
}

std::int64_t file_size_or_minus_one(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return -1;
  return static_cast<std::int64_t>(st.st_size);
}

std::string default_cache_dir() {
  if (const char* c = std::getenv("SPARSIFY_CACHE"); c && *c) return c;
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::string(x) + "/sparsify";
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : ".") + "/.cache/sparsify";
}

}  // namespace sparsify::zoo
