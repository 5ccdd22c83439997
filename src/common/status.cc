#include "common/status.h"

namespace cs {

std::string_view StatusCodeName(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return "OK";
    case StatusCode::kInvalidArgument: return "INVALID_ARGUMENT";
    case StatusCode::kNotFound: return "NOT_FOUND";
    case StatusCode::kAlreadyExists: return "ALREADY_EXISTS";
    case StatusCode::kPermissionDenied: return "PERMISSION_DENIED";
    case StatusCode::kUnauthenticated: return "UNAUTHENTICATED";
    case StatusCode::kFailedPrecondition: return "FAILED_PRECONDITION";
    case StatusCode::kResourceExhausted: return "RESOURCE_EXHAUSTED";
    case StatusCode::kUnavailable: return "UNAVAILABLE";
    case StatusCode::kInternal: return "INTERNAL";
    case StatusCode::kUnimplemented: return "UNIMPLEMENTED";
    case StatusCode::kDataLoss: return "DATA_LOSS";
  }
  return "UNKNOWN";
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  std::string out(StatusCodeName(code_));
  out += ' ';
  out += machine_code_;
  out += ": ";
  out += message_;
  return out;
}

Status InvalidArgument(std::string machine_code, std::string message) {
  return Status(StatusCode::kInvalidArgument, std::move(machine_code), std::move(message));
}
Status NotFound(std::string message) {
  return Status(StatusCode::kNotFound, "not_found", std::move(message));
}
Status AlreadyExists(std::string machine_code, std::string message) {
  return Status(StatusCode::kAlreadyExists, std::move(machine_code), std::move(message));
}
Status PermissionDenied(std::string machine_code, std::string message) {
  return Status(StatusCode::kPermissionDenied, std::move(machine_code), std::move(message));
}
Status Unauthenticated(std::string message) {
  return Status(StatusCode::kUnauthenticated, "unauthenticated", std::move(message));
}
Status FailedPrecondition(std::string machine_code, std::string message) {
  return Status(StatusCode::kFailedPrecondition, std::move(machine_code), std::move(message));
}
Status ResourceExhausted(std::string machine_code, std::string message) {
  return Status(StatusCode::kResourceExhausted, std::move(machine_code), std::move(message));
}
Status Unavailable(std::string machine_code, std::string message) {
  return Status(StatusCode::kUnavailable, std::move(machine_code), std::move(message));
}
Status Internal(std::string message) {
  return Status(StatusCode::kInternal, "internal_error", std::move(message));
}
Status DataLoss(std::string message) {
  return Status(StatusCode::kDataLoss, "data_loss", std::move(message));
}

}  // namespace cs
