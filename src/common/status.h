// Errors as values: Status carries a code and a message that names the file, field or step
// that failed; Result<T> is a value or a Status. Nothing in cove throws across a boundary.
#pragma once

#include <cerrno>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace cove {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,   // caller gave bad input (path, option, field)
  kNotFound,          // a file, entry or key does not exist
  kAlreadyExists,     // create refused because the target exists
  kPermissionDenied,  // policy forbids the operation
  kIntegrityError,    // authentication failed: tampering, wrong key, rollback
  kDataLoss,          // on-disk state is inconsistent (torn or truncated)
  kUnsupported,       // valid but not implemented / format version unknown
  kFailedPrecondition,
  kIo,  // an OS call failed; the message carries errno's text
  kInternal,
  kConflict,  // another process changed the same thing first: retry on its version, or give up
};

// Status of an operation: ok, or a code plus a human-readable message.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return {}; }
  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // Returns a copy whose message is prefixed with `context: `, to add the file or step name.
  Status WithContext(const std::string& context) const {
    if (ok()) return *this;
    return {code_, context + ": " + message_};
  }

  // The errno value the runtime reports for this status at the libc boundary (an OS error
  // keeps its own errno).
  int ToErrno() const;
  std::string ToString() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status InvalidArgument(std::string m) {
  return {StatusCode::kInvalidArgument, std::move(m)};
}
inline Status NotFound(std::string m) {
  return {StatusCode::kNotFound, std::move(m)};
}
inline Status IntegrityError(std::string m) {
  return {StatusCode::kIntegrityError, std::move(m)};
}
inline Status DataLoss(std::string m) {
  return {StatusCode::kDataLoss, std::move(m)};
}
inline Status Unsupported(std::string m) {
  return {StatusCode::kUnsupported, std::move(m)};
}
inline Status Internal(std::string m) {
  return {StatusCode::kInternal, std::move(m)};
}
inline Status FailedPrecondition(std::string m) {
  return {StatusCode::kFailedPrecondition, std::move(m)};
}
inline Status Conflict(std::string m) {
  return {StatusCode::kConflict, std::move(m)};
}
// An OS error: `what` names the call and the path, errno's text is appended.
Status IoError(const std::string& what, int err = errno);

// A value of type T or the Status explaining why there is none.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}          // NOLINT(google-explicit-constructor)
  Result(Status status) : status_(std::move(status)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace cove

// Propagates a non-ok Status from an expression returning Status.
#define COVE_RETURN_IF_ERROR(expr)               \
  do {                                           \
    ::cove::Status cove_status_ = (expr);        \
    if (!cove_status_.ok()) return cove_status_; \
  } while (0)

#define COVE_CONCAT_INNER(a, b) a##b
#define COVE_CONCAT(a, b) COVE_CONCAT_INNER(a, b)
// Declares `lhs` from a Result expression, or returns its Status.
#define COVE_ASSIGN_OR_RETURN(lhs, expr) \
  COVE_ASSIGN_OR_RETURN_IMPL(COVE_CONCAT(cove_result_, __LINE__), lhs, expr)
// NOLINTBEGIN(bugprone-macro-parentheses): `lhs` may be a declaration.
#define COVE_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                               \
  if (!tmp.ok()) return tmp.status();              \
  lhs = std::move(tmp).value()
// NOLINTEND(bugprone-macro-parentheses)
