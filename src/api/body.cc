#include "api/api.h"
#include "common/strings.h"
#include "vault/phone.h"

namespace cs {

namespace {

// Query parameter names that carry personal data or credentials and must
// never travel in a URL (they end up in proxy and browser logs).
constexpr std::string_view kForbiddenParams[] = {
    "phone", "phone_number", "msisdn", "wa_id", "to", "from", "recipient", "api_key", "apikey",
    "key", "token", "access_token", "password", "secret", "authorization",
};

// Paging cursors and counts: integers that may be long without being phone numbers.
// phone_number_id is Meta's id of the business's number (SDKs send it on
// GET /{media-id}), not a customer's phone number.
constexpr std::string_view kNumericParams[] = {"after",    "limit", "tree_size", "old_size",
                                               "new_size", "seq",   "expires",   "phone_number_id"};

// True when `text` reads like a phone number: the vault's normaliser accepts
// it (so every digit script and separator it knows counts), or it holds 8+
// ASCII digits once spaces, dashes, dots, parentheses and + are set aside.
bool LooksLikePhone(std::string_view text) {
  if (NormalizePhone(text).ok()) return true;
  size_t digits = 0;
  for (char c : text) {
    if (c >= '0' && c <= '9') {
      ++digits;
    } else if (c != '+' && c != ' ' && c != '-' && c != '.' && c != '(' && c != ')') {
      return false;
    }
  }
  return digits >= 8 && digits <= 17;
}

Status Sensitive() {
  return InvalidArgument("sensitive_data_in_url",
                         "personal data and credentials must not be sent in the URL; use the request body "
                         "or the Authorization header");
}

}  // namespace

Status CheckUrl(const HttpRequest& request) {
  for (const std::string& segment : Split(request.path, '/')) {
    // Decoded once, fully, so %31%37%36… is seen as the digits it is.
    CS_ASSIGN_OR_RETURN(std::string value, PercentDecode(segment, /*plus_is_space=*/false));
    if (LooksLikePhone(value)) return Sensitive();
  }
  CS_ASSIGN_OR_RETURN(auto params, ParseQuery(request.query));
  for (const auto& [name, value] : params) {
    std::string lower = AsciiLower(name);
    for (auto forbidden : kForbiddenParams) {
      if (lower == forbidden) return Sensitive();
    }
    bool numeric = false;
    for (auto n : kNumericParams) numeric = numeric || lower == n;
    if (numeric) {
      if (!ParseNonNegativeInt(value)) {
        return InvalidArgument("invalid_query", "query parameter " + lower + " must be a non-negative integer");
      }
      continue;
    }
    if (LooksLikePhone(value) || value.rfind("csk_", 0) == 0) return Sensitive();
  }
  return Status::Ok();
}

Result<JsonValue> DecodeJsonBody(const HttpRequest& request, const JsonLimits& limits, bool empty_as_object) {
  if (request.body.empty() && empty_as_object) return JsonValue::MakeObject({});
  const std::string* type = request.Header("content-type");
  std::string media = type ? AsciiLower(TrimAscii(std::string_view(*type).substr(0, type->find(';')))) : "";
  if (media != "application/json") {
    return Status(StatusCode::kInvalidArgument, "unsupported_media_type",
                  "the request body must be sent as Content-Type: application/json");
  }
  if (type && type->find(';') != std::string::npos) {
    std::string params = AsciiLower(*type);
    if (params.find("charset") != std::string::npos && params.find("charset=utf-8") == std::string::npos) {
      return Status(StatusCode::kInvalidArgument, "unsupported_media_type", "only UTF-8 JSON is accepted");
    }
  }
  return ParseJson(request.body, limits);
}

Result<JsonObjectBody> JsonObjectBody::Decode(const HttpRequest& request, const JsonLimits& limits,
                                             bool empty_as_object) {
  CS_ASSIGN_OR_RETURN(JsonValue value, DecodeJsonBody(request, limits, empty_as_object));
  JsonObjectBody body;
  body.value_ = std::make_unique<JsonValue>(std::move(value));
  CS_ASSIGN_OR_RETURN(ObjectReader reader, ObjectReader::Create(*body.value_));
  body.reader_.emplace(std::move(reader));
  return body;
}

}  // namespace cs
