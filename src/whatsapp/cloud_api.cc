// The Cloud API adapter (cloud_api.h).
#include "whatsapp/cloud_api.h"

#include "common/strings.h"
#include "http/client.h"
#include "json/json.h"
#include "whatsapp/wire.h"

namespace cs::whatsapp {

namespace {

// Meta's error code of an error body; nullopt when there is none (0 is a
// real code: AuthException).
std::optional<int> GraphErrorCode(const std::string& body) {
  Result<JsonValue> v = ParseJson(body);
  if (!v.ok()) return std::nullopt;
  const JsonValue* error = v->Find("error");
  if (error == nullptr) return std::nullopt;
  const JsonValue* code = error->Find("code");
  if (code == nullptr || code->type() != JsonValue::Type::kInt) return std::nullopt;
  return static_cast<int>(code->as_int());
}

// messages[0].id of a success body, or "" if the body is not one.
std::string SentId(const std::string& body) {
  Result<JsonValue> v = ParseJson(body);
  if (!v.ok()) return "";
  const JsonValue* messages = v->Find("messages");
  if (messages == nullptr || !messages->is_array() || messages->as_array().empty()) return "";
  const JsonValue* id = messages->as_array()[0].Find("id");
  return id != nullptr && id->is_string() ? id->as_string() : "";
}

bool IsSuccessAck(const std::string& body) {
  Result<JsonValue> v = ParseJson(body);
  if (!v.ok()) return false;
  const JsonValue* success = v->Find("success");
  return success != nullptr && success->type() == JsonValue::Type::kBool && success->as_bool();
}

ProviderRetry RetryFor(RetryPolicy policy) {
  switch (policy) {
    case RetryPolicy::kNever: return ProviderRetry::kNever;
    case RetryPolicy::kRetry: return ProviderRetry::kRetry;
    case RetryPolicy::kRetryOnce: return ProviderRetry::kRetryOnce;
    case RetryPolicy::kRetryLong: return ProviderRetry::kRetryLong;
    case RetryPolicy::kRetryPair: return ProviderRetry::kRetryPair;
    case RetryPolicy::kPauseChannel: return ProviderRetry::kPauseChannel;
  }
  return ProviderRetry::kNever;
}

class CloudApi final : public Provider {
 public:
  explicit CloudApi(int64_t timeout_ms) {
    HttpClientOptions options;
    options.timeout_ms = timeout_ms;
    client_ = CreateHttpClient(options);
  }

  ProviderAnswer Send(const ProviderEndpoint& endpoint, std::string_view kind, const std::string& body) override {
    ProviderAnswer a;
    const std::string url = endpoint.base_url + "/" + endpoint.version + "/" + endpoint.sender_id + "/messages";
    HeaderList headers = {{"Content-Type", "application/json"}};
    if (endpoint.access_token != nullptr) {
      headers.emplace_back("Authorization", "Bearer " + std::string(InsecureSecretAccess::Get(*endpoint.access_token)));
    }
    Result<HttpClientResponse> r = client_->Send("POST", url, headers, body);
    if (!r.ok()) {
      // Refused before a byte left, or lost after: only the first is safe to retry.
      a.outcome = r.status().machine_code() == "upstream_unreachable" ? ProviderAnswer::Outcome::kUnreachable
                                                                       : ProviderAnswer::Outcome::kUnknown;
      return a;
    }
    const HttpClientResponse& resp = *r;
    if (resp.status == 200) {
      const bool receipt = kind == "mark_read";
      a.message_id = receipt ? std::string() : SentId(resp.body);
      // 200 with an unexpected body (F-12) is not a success that can be proven.
      a.outcome = (receipt ? IsSuccessAck(resp.body) : !a.message_id.empty()) ? ProviderAnswer::Outcome::kAccepted
                                                                               : ProviderAnswer::Outcome::kUnknown;
      return a;
    }
    a.outcome = ProviderAnswer::Outcome::kRefused;
    a.code = GraphErrorCode(resp.body);
    a.detail = resp.body;
    a.server_error = resp.status >= 500;
    if (const std::string* ra = resp.Header("retry-after")) {
      if (std::optional<int64_t> secs = ParseNonNegativeInt(TrimAscii(*ra)); secs && *secs <= 3600) {
        a.retry_after_ms = *secs * 1000;
      }
    }
    if (a.code) {
      a.retry = RetryFor(RetryPolicyFor(*a.code));
    } else {
      a.retry = resp.status >= 500 || resp.status == 429 ? ProviderRetry::kRetry : ProviderRetry::kNever;
    }
    return a;
  }

 private:
  std::unique_ptr<HttpClient> client_;
};

}  // namespace

std::unique_ptr<Provider> CreateCloudApiProvider(int64_t timeout_ms) { return std::make_unique<CloudApi>(timeout_ms); }

}  // namespace cs::whatsapp
