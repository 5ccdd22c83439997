// File: status.h
// Status and Result<T>: the one error vocabulary that crosses module edges.
//
// A Status carries a canonical code (abseil's set, used for control flow)
// and a stable machine code (the public error vocabulary of
// docs/errors.md, e.g. "invalid_json"), plus a human message. The message
// must never contain personal data or secrets: it is logged and returned.
// Exceptions never cross a module boundary; adapters convert them here.
//
// Thread-safety: values; safe to copy between threads.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace cs {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,
  kNotFound,
  kAlreadyExists,
  kPermissionDenied,
  kUnauthenticated,
  kFailedPrecondition,
  kResourceExhausted,
  kUnavailable,
  kInternal,
  kUnimplemented,
  kDataLoss,
};

// Returns the canonical name of `code`, e.g. "INVALID_ARGUMENT".
std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  // Returns an OK status.
  Status() = default;
  // Creates a status; `machine_code` is a stable identifier from
  // docs/errors.md and `message` a human explanation without personal data.
  Status(StatusCode code, std::string machine_code, std::string message)
      : code_(code), machine_code_(std::move(machine_code)), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& machine_code() const { return machine_code_; }
  const std::string& message() const { return message_; }

  // Returns "CODE machine_code: message" for logs and CLI output.
  std::string ToString() const;

  // Explicitly discards a status whose failure is acceptable; say why at the call site.
  void IgnoreError() const {}

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string machine_code_;
  std::string message_;
};

// Convenience constructors, one per canonical code.
Status InvalidArgument(std::string machine_code, std::string message);
Status NotFound(std::string message);
Status AlreadyExists(std::string machine_code, std::string message);
Status PermissionDenied(std::string machine_code, std::string message);
Status Unauthenticated(std::string message);
Status FailedPrecondition(std::string machine_code, std::string message);
Status ResourceExhausted(std::string machine_code, std::string message);
Status Unavailable(std::string machine_code, std::string message);
Status Internal(std::string message);
Status DataLoss(std::string message);

// Result<T> holds either a value or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  // REQUIRES: !status.ok(). An OK status without a value is a programming
  // error and is turned into an internal error rather than undefined state.
  Result(Status status)  // NOLINT(google-explicit-constructor): ergonomic returns
      : data_(status.ok() ? Internal("Result constructed from OK status") : std::move(status)) {}
  Result(T value)  // NOLINT(google-explicit-constructor)
      : data_(std::move(value)) {}

  bool ok() const { return std::holds_alternative<T>(data_); }

  // Returns the error, or OK when a value is present.
  Status status() const { return ok() ? Status::Ok() : std::get<Status>(data_); }

  // REQUIRES: ok().
  const T& value() const& { return std::get<T>(data_); }
  T& value() & { return std::get<T>(data_); }
  T&& value() && { return std::get<T>(std::move(data_)); }
  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }
  const T* operator->() const { return &std::get<T>(data_); }
  T* operator->() { return &std::get<T>(data_); }

 private:
  std::variant<Status, T> data_;
};

}  // namespace cs

#define CS_CONCAT_INNER_(a, b) a##b
#define CS_CONCAT_(a, b) CS_CONCAT_INNER_(a, b)

// Returns from the current function when `expr` yields a non-OK Status.
#define CS_RETURN_IF_ERROR(expr) CS_RETURN_IF_ERROR_IMPL_(CS_CONCAT_(cs_status_, __LINE__), expr)
#define CS_RETURN_IF_ERROR_IMPL_(status, expr) \
  do {                                         \
    ::cs::Status status = (expr);              \
    if (!status.ok()) return status;           \
  } while (false)

// Evaluates `rexpr` (a Result<T>); on error returns its Status, otherwise
// moves the value into `lhs` (which may be a declaration).
#define CS_ASSIGN_OR_RETURN(lhs, rexpr) \
  CS_ASSIGN_OR_RETURN_IMPL_(CS_CONCAT_(cs_result_, __LINE__), lhs, rexpr)
#define CS_ASSIGN_OR_RETURN_IMPL_(result, lhs, rexpr) \
  auto result = (rexpr);                              \
  if (!result.ok()) return result.status();           \
  lhs = std::move(result).value()
