// Status and Result<T>: errors as values at every module boundary.
//
// A Status is either OK or carries a code and a message. The message always names the thing that
// was wrong (file, tensor, field, offset), what was found and what was expected; callers add
// context with Status::WithContext() as the error travels up. Result<T> holds a T or a non-OK
// Status. Both are cheap to move and are [[nodiscard]] so an ignored error is a compile warning.
// Thread safety: values, no shared state.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <fmt/format.h>

namespace moedist {

// Codes are few and mean "what should the caller do", not "where it happened".
enum class StatusCode {
  kOk = 0,
  kInvalidArgument,  // the user asked for something that cannot be done (bad flag, bad range)
  kNotFound,         // a named file, tensor or key is absent
  kCorruption,       // input bytes violate their format (bad header, bad offsets, bad JSON)
  kUnsupported,      // well-formed input that moedist does not handle (unknown family, dtype)
  kIoError,          // the operating system refused (open, mmap, write, fsync, rename)
  kFailedPrecondition,  // state on disk or in a plan forbids the operation (lock held, rollback)
  kInternal,            // a bug in moedist
};

std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return {}; }
  template <typename... Args>
  static Status InvalidArgument(fmt::format_string<Args...> f, Args&&... a) {
    return {StatusCode::kInvalidArgument, fmt::format(f, std::forward<Args>(a)...)};
  }
  template <typename... Args>
  static Status NotFound(fmt::format_string<Args...> f, Args&&... a) {
    return {StatusCode::kNotFound, fmt::format(f, std::forward<Args>(a)...)};
  }
  template <typename... Args>
  static Status Corruption(fmt::format_string<Args...> f, Args&&... a) {
    return {StatusCode::kCorruption, fmt::format(f, std::forward<Args>(a)...)};
  }
  template <typename... Args>
  static Status Unsupported(fmt::format_string<Args...> f, Args&&... a) {
    return {StatusCode::kUnsupported, fmt::format(f, std::forward<Args>(a)...)};
  }
  template <typename... Args>
  static Status IoError(fmt::format_string<Args...> f, Args&&... a) {
    return {StatusCode::kIoError, fmt::format(f, std::forward<Args>(a)...)};
  }
  template <typename... Args>
  static Status FailedPrecondition(fmt::format_string<Args...> f, Args&&... a) {
    return {StatusCode::kFailedPrecondition, fmt::format(f, std::forward<Args>(a)...)};
  }
  template <typename... Args>
  static Status Internal(fmt::format_string<Args...> f, Args&&... a) {
    return {StatusCode::kInternal, fmt::format(f, std::forward<Args>(a)...)};
  }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // Prefixes the message with where the error was met: "model-00001.safetensors: <message>".
  Status WithContext(std::string_view context) const {
    if (ok()) return *this;
    return {code_, fmt::format("{}: {}", context, message_)};
  }
  std::string ToString() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {  // NOLINT: implicit by design
    assert(!status_.ok() && "Result built from an OK status carries no value");
    if (status_.ok()) status_ = Status::Internal("Result built from an OK status");
  }

  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace moedist

#define MOEDIST_CONCAT_INNER(a, b) a##b
#define MOEDIST_CONCAT(a, b) MOEDIST_CONCAT_INNER(a, b)

// Returns the Status from the enclosing function if `expr` is not OK.
#define RETURN_IF_ERROR(expr)                 \
  do {                                        \
    ::moedist::Status _st = (expr);           \
    if (!_st.ok()) return _st;                \
  } while (0)

// `ASSIGN_OR_RETURN(auto x, MakeX());` binds the value or returns the error.
#define ASSIGN_OR_RETURN(lhs, expr) \
  ASSIGN_OR_RETURN_IMPL(MOEDIST_CONCAT(_result_, __LINE__), lhs, expr)
#define ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                          \
  if (!tmp.ok()) return tmp.status();         \
  lhs = std::move(tmp).value()
