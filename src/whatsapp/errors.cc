// Meta's error table (spec §4) and envelope (spec §2.7).
#include <algorithm>
#include <array>

#include "common/json_writer.h"
#include "whatsapp/wire.h"

namespace cs::whatsapp {

namespace {

struct ErrorRow {
  int code;
  int http_status;
  const char* title;
  RetryPolicy retry;
};

// Sorted by code for binary search. HTTP statuses are those Meta's table
// lists; clients must switch on the code, which is why it is exact here.
constexpr std::array kErrorTable = {
    ErrorRow{0, 401, "AuthException", RetryPolicy::kPauseChannel},
    ErrorRow{1, 400, "An unknown error occurred", RetryPolicy::kRetryOnce},
    ErrorRow{2, 503, "Service temporarily unavailable", RetryPolicy::kRetry},
    ErrorRow{3, 500, "Capability or permissions issue", RetryPolicy::kNever},
    ErrorRow{4, 429, "Too many calls", RetryPolicy::kRetryLong},
    ErrorRow{10, 403, "Permission denied", RetryPolicy::kNever},
    ErrorRow{33, 400, "Parameter value is not valid", RetryPolicy::kNever},
    ErrorRow{100, 400, "Invalid parameter", RetryPolicy::kNever},
    ErrorRow{190, 401, "Access token has expired", RetryPolicy::kPauseChannel},
    ErrorRow{368, 403, "Temporarily blocked for policies violations", RetryPolicy::kNever},
    ErrorRow{80007, 429, "Rate limit issues", RetryPolicy::kRetryLong},
    ErrorRow{130429, 429, "Rate limit hit", RetryPolicy::kRetry},
    ErrorRow{130472, 400, "User's number is part of an experiment", RetryPolicy::kNever},
    ErrorRow{130497, 403, "Business account is restricted from messaging users in this country",
             RetryPolicy::kNever},
    ErrorRow{131000, 500, "Something went wrong", RetryPolicy::kRetry},
    ErrorRow{131005, 403, "Access denied", RetryPolicy::kNever},
    ErrorRow{131008, 400, "Required parameter is missing", RetryPolicy::kNever},
    ErrorRow{131009, 400, "Parameter value is not valid", RetryPolicy::kNever},
    ErrorRow{131016, 503, "Service unavailable", RetryPolicy::kRetry},
    ErrorRow{131021, 400, "Recipient cannot be sender", RetryPolicy::kNever},
    ErrorRow{131026, 400, "Message undeliverable", RetryPolicy::kNever},
    ErrorRow{131030, 400, "Recipient phone number not in allowed list", RetryPolicy::kNever},
    ErrorRow{131031, 403, "Account has been locked", RetryPolicy::kNever},
    ErrorRow{131037, 400, "WhatsApp provided number needs display name approval", RetryPolicy::kNever},
    ErrorRow{131042, 400, "Business eligibility payment issue", RetryPolicy::kNever},
    ErrorRow{131045, 400, "Incorrect certificate", RetryPolicy::kNever},
    ErrorRow{131047, 400, "Re-engagement message", RetryPolicy::kNever},
    ErrorRow{131048, 429, "Spam rate limit hit", RetryPolicy::kNever},
    ErrorRow{131049, 400, "This message was not delivered to maintain healthy ecosystem engagement",
             RetryPolicy::kNever},
    ErrorRow{131050, 400, "User has stopped marketing messages", RetryPolicy::kNever},
    ErrorRow{131051, 400, "Unsupported message type", RetryPolicy::kNever},
    ErrorRow{131052, 400, "Media download error", RetryPolicy::kNever},
    ErrorRow{131053, 400, "Media upload error", RetryPolicy::kNever},
    ErrorRow{131056, 429, "(Business Account, Consumer Account) pair rate limit hit", RetryPolicy::kRetryPair},
    ErrorRow{131057, 500, "Account in maintenance mode", RetryPolicy::kRetry},
    ErrorRow{131062, 400, "BSUID recipients not supported for this message", RetryPolicy::kNever},
    ErrorRow{131063, 400, "Marketing templates disabled on Cloud API", RetryPolicy::kNever},
    ErrorRow{131064, 400, "Messaging limit reached", RetryPolicy::kNever},
    ErrorRow{132000, 400, "Number of parameters does not match the expected number of params",
             RetryPolicy::kNever},
    ErrorRow{132001, 404, "Template name does not exist in the translation", RetryPolicy::kNever},
    ErrorRow{132005, 400, "Translated text too long", RetryPolicy::kNever},
    ErrorRow{132007, 400, "Format character policy violated", RetryPolicy::kNever},
    ErrorRow{132008, 400, "Template parameter value invalid", RetryPolicy::kNever},
    ErrorRow{132012, 400, "Parameter format does not match format in the created template", RetryPolicy::kNever},
    ErrorRow{132015, 400, "Template is paused due to low quality", RetryPolicy::kNever},
    ErrorRow{132016, 400, "Template has been disabled", RetryPolicy::kNever},
    ErrorRow{133004, 503, "Server temporarily unavailable", RetryPolicy::kRetry},
    ErrorRow{133010, 400, "Phone number not registered", RetryPolicy::kNever},
    ErrorRow{135000, 400, "Generic user error", RetryPolicy::kNever},
    ErrorRow{137000, 400, "Identity key hash mismatch", RetryPolicy::kNever},
};

const ErrorRow* FindRow(int code) {
  auto it = std::lower_bound(kErrorTable.begin(), kErrorTable.end(), code,
                             [](const ErrorRow& row, int c) { return row.code < c; });
  return it != kErrorTable.end() && it->code == code ? &*it : nullptr;
}

}  // namespace

GraphError MakeGraphError(int code, std::string details) {
  GraphError e;
  e.code = code;
  e.details = std::move(details);
  if (const ErrorRow* row = FindRow(code)) {
    e.http_status = row->http_status;
    e.title = row->title;
  } else if (code >= 200 && code <= 299) {
    e.http_status = 403;
    e.title = "API permission missing";
  } else {
    e.title = "Error";
  }
  if (e.details.empty()) e.details = e.title;
  return e;
}

std::string GraphErrorBody(const GraphError& error, std::string_view fbtrace_id) {
  JsonWriter w;
  w.BeginObject().Key("error").BeginObject();
  const bool ours = !error.gateway_code.empty();
  w.Key("message").String("(#" + std::to_string(error.code) + ") " + (ours ? error.details : error.title));
  w.Key("type").String("OAuthException");
  w.Key("code").Int(error.code);
  w.Key("error_data").BeginObject();
  w.Key("messaging_product").String("whatsapp");
  w.Key("details").String(error.details);
  if (ours) w.Key("consentry_code").String(error.gateway_code);
  w.EndObject();
  w.Key("fbtrace_id").String(fbtrace_id);
  w.EndObject().EndObject();
  return MetaEscape(w.str());
}

RetryPolicy RetryPolicyFor(int code) {
  if (const ErrorRow* row = FindRow(code)) return row->retry;
  return RetryPolicy::kNever;
}

int GraphCodeFor(const Status& status) {
  const std::string& m = status.machine_code();
  if (m == "missing_parameter") return 131008;
  if (m == "invalid_parameter_value") return 131009;
  if (m == "unsupported_message_type") return 131051;
  return 100;
}

}  // namespace cs::whatsapp
