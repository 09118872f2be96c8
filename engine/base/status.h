// Status and StatusOr: the error currency at every library boundary of sparsify.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace sparsify {

/// Few, actionable codes. The CLI maps each to its own exit code (see exit_code()).
enum class StatusCode : std::uint8_t {
  kOk = 0,
  kInvalidArgument,   // the input (file, recipe, model, flag) is wrong; the message says where
  kUnsupported,       // valid, but not supported here; inside prepare() also "try the next kernel"
  kNotFound,          // a named file, variable, model or parameter does not exist
  kIoError,           // reading or writing a file failed
  kNetwork,           // a transfer failed
  kChecksumMismatch,  // bytes do not match their recorded digest
  kInternal,          // a bug: an invariant broke in a way that could be reported
};

/// Lower-case name of a code, as printed in messages ("invalid_argument").
const char* status_code_name(StatusCode code);

/// A code plus a message naming the thing and the values. Cheap to move; copyable.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok_status() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  /// "invalid_argument: <message>"
  std::string to_string() const;

  /// Returns a copy whose message is "<prefix>: <message>" (for adding context while unwinding).
  Status with_prefix(std::string_view prefix) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

/// Concatenates any streamable values into a string: str_cat("rank ", 3, ", expected 4").
template <class... Args>
std::string str_cat(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}

template <class... Args>
Status invalid_argument(const Args&... args) { return Status(StatusCode::kInvalidArgument, str_cat(args...)); }
template <class... Args>
Status unsupported(const Args&... args) { return Status(StatusCode::kUnsupported, str_cat(args...)); }
template <class... Args>
Status not_found(const Args&... args) { return Status(StatusCode::kNotFound, str_cat(args...)); }
template <class... Args>
Status io_error(const Args&... args) { return Status(StatusCode::kIoError, str_cat(args...)); }
template <class... Args>
Status internal_error(const Args&... args) { return Status(StatusCode::kInternal, str_cat(args...)); }

/// A value or the Status saying why there is none. Construct from either; never from an ok Status.
template <class T>
class [[nodiscard]] StatusOr {
 public:
  StatusOr(T value) : v_(std::move(value)) {}                  // NOLINT(implicit)
  StatusOr(Status status) : v_(std::move(status)) {            // NOLINT(implicit)
    if (std::get<Status>(v_).ok()) v_ = Status(StatusCode::kInternal, "StatusOr built from ok Status");
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOkStatus;
    return ok() ? kOkStatus : std::get<Status>(v_);
  }
  T& value() & { check_ok(); return std::get<T>(v_); }
  const T& value() const& { check_ok(); return std::get<T>(v_); }
  T&& value() && { check_ok(); return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  void check_ok() const {
    if (!ok()) {
      std::fprintf(stderr, "sparsify: value() on error StatusOr: %s\n", std::get<Status>(v_).to_string().c_str());
      std::abort();
    }
  }
  std::variant<Status, T> v_;
};

}  // namespace sparsify

#define SPARSIFY_CONCAT_INNER_(a, b) a##b
#define SPARSIFY_CONCAT_(a, b) SPARSIFY_CONCAT_INNER_(a, b)

/// Returns the Status from the enclosing function if `expr` is not ok.
#define SPARSIFY_RETURN_IF_ERROR(expr)                 \
  do {                                                 \
    ::sparsify::Status sparsify_status_ = (expr);      \
    if (!sparsify_status_.ok()) return sparsify_status_; \
  } while (0)

/// `SPARSIFY_ASSIGN_OR_RETURN(auto x, f());` declares x from a StatusOr or returns its error.
#define SPARSIFY_ASSIGN_OR_RETURN(lhs, expr) \
  SPARSIFY_ASSIGN_OR_RETURN_IMPL_(SPARSIFY_CONCAT_(sparsify_statusor_, __LINE__), lhs, expr)
#define SPARSIFY_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                    \
  if (!tmp.ok()) return tmp.status();                   \
  lhs = std::move(tmp).value()
