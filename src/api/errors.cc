#include <map>

#include "api/api.h"

namespace cs {

namespace {

// The machine codes of docs/errors.md with their HTTP status. One table,
// one place: handlers return Status values and never pick HTTP codes.
const std::map<std::string, int, std::less<>>& CodeTable() {
  static const std::map<std::string, int, std::less<>> kTable = {
      {"invalid_json", 400},        {"invalid_utf8", 400},          {"json_too_deep", 400},
      {"invalid_number", 400},      {"invalid_type", 400},          {"ambiguous_input", 400},
      {"unknown_field", 400},       {"missing_field", 400},         {"invalid_header_value", 400},
      {"sensitive_data_in_url", 400}, {"invalid_query", 400},       {"malformed_request", 400},
      {"invalid_scope", 400},       {"invalid_name", 400},          {"invalid_ttl", 400},
      {"invalid_overlap", 400},     {"invalid_field", 400},         {"invalid_parameter", 400},
      {"missing_parameter", 400},   {"invalid_parameter_value", 400}, {"unsupported_message_type", 400},
      {"channel_required", 400},    {"invalid_idempotency_key", 400}, {"invalid_phone", 400},
      {"consent_required", 403},    {"explicit_consent_required", 403},
      {"confirmation_template_miscategorised", 409},
      {"optout_affordance_missing", 422}, {"bundled_consent", 422},
      {"notice_unknown", 422},      {"notice_mismatch", 422},       {"notice_superseded", 422},
      {"template_not_approved", 409},
      {"notice_exists", 409},       {"notice_conflict", 409},       {"resolicit_too_early", 409},
      {"unauthenticated", 401},     {"mfa_required", 401},
      {"forbidden", 403},           {"insufficient_scope", 403},
      {"not_found", 404},           {"method_not_allowed", 405},
      {"conflict", 409},
      {"payload_too_large", 413},   {"unsupported_media_type", 415}, {"headers_too_large", 431},
      {"no_channel", 409},
      {"too_long", 422},            {"template_required", 422},     {"idempotency_key_reuse", 422},
      {"url_not_allowed", 422},     {"sensitive_identifier", 422},  {"channel_not_permitted_for_phi", 422},
      {"media_unscannable", 422},
      {"unknown_message_reference", 422}, {"referenced_message_failed", 422}, {"reference_unavailable", 422},
      {"invalid_policy", 400},      {"card_policy_fixed", 422},     {"invalid_input", 400},
      {"invalid_subject", 400},     {"subject_erased", 410},
      {"rate_limited", 429},
      // Operators (docs/operators.md).
      {"invalid_login", 400},       {"invalid_role", 400},          {"weak_password", 422},
      {"login_failed", 401},        {"mfa_failed", 401},            {"session_expired", 401},
      {"reauth_failed", 401},       {"session_required", 403},      {"csrf_failed", 403},
      {"reauth_required", 403},     {"grant_expired", 403},         {"invalid_grant", 400},
      {"operator_inactive", 409},     {"invitation_invalid", 404},    {"operator_active", 409},
      {"login_throttled", 429},     {"operators_unavailable", 503}, {"oauth_unavailable", 503},
      {"internal_error", 500},
      {"storage_unavailable", 503}, {"audit_unavailable", 503},     {"kms_unavailable", 503},
  };
  return kTable;
}

int ByCanonicalCode(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return 200;
    case StatusCode::kInvalidArgument: return 400;
    case StatusCode::kUnauthenticated: return 401;
    case StatusCode::kPermissionDenied: return 403;
    case StatusCode::kNotFound: return 404;
    case StatusCode::kAlreadyExists: return 409;
    case StatusCode::kFailedPrecondition: return 409;
    case StatusCode::kResourceExhausted: return 429;
    case StatusCode::kUnimplemented: return 501;
    case StatusCode::kUnavailable: return 503;
    case StatusCode::kInternal:
    case StatusCode::kDataLoss: return 500;
  }
  return 500;
}

}  // namespace

Status MessagingDisabled() {
  return FailedPrecondition("no_channel",
                            "messaging is not enabled on this gateway: it serves without a master key "
                            "(set vault.master_key_file or CONSENTRY_MASTER_KEY)");
}

int HttpStatusFor(const Status& status) {
  auto it = CodeTable().find(status.machine_code());
  if (it != CodeTable().end()) return it->second;
  return ByCanonicalCode(status.code());
}

HttpResponse StatusResponse(const Status& status, const std::string& request_id) {
  int http = HttpStatusFor(status);
  if (http >= 500 && http != 503) {
    HttpResponse r =
        ErrorResponse(500, "internal_error", "internal error; quote the request id to the operator", request_id);
    r.log_detail = status.ToString();
    return r;
  }
  if (http == 503) {
    // The code says which dependency is down; the details (file names, SQLite
    // messages) stay in the log.
    HttpResponse r = ErrorResponse(503, status.machine_code(), "temporarily unavailable; retry later", request_id);
    r.log_detail = status.ToString();
    r.headers.emplace_back("Retry-After", "5");
    return r;
  }
  HttpResponse r = ErrorResponse(http, status.machine_code(), status.message(), request_id);
  if (status.code() == StatusCode::kUnauthenticated) r.headers.emplace_back("WWW-Authenticate", "Bearer");
  return r;
}

}  // namespace cs
