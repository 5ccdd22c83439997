// File: provider.h
// The seam between the gateway and a messaging network (CHAN-07): the
// dispatcher hands a provider one payload at a time and acts on a
// provider-neutral answer (accepted, refused with a retry rule, unknown,
// unreachable). The WhatsApp Cloud API is the first adapter
// (whatsapp/cloud_api.h); another network plugs in with its own adapter
// and its own payload format, and nothing above this line changes.
//
// Thread-safety: a Provider is used by one dispatcher worker at a time;
// each worker makes its own from a ProviderFactory.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/secret.h"

namespace cs {

// Where a payload goes and as whom, from the channel's configuration.
struct ProviderEndpoint {
  std::string base_url;   // e.g. https://graph.facebook.com
  std::string version;    // e.g. v23.0
  std::string sender_id;  // the sending identity there (a phone_number_id)
  const SecretString* access_token = nullptr;
};

// What the sender may do after a refusal.
enum class ProviderRetry {
  kNever,         // permanent: fix the request, never resend
  kRetry,         // transient: exponential back-off with jitter
  kRetryOnce,     // one more attempt
  kRetryLong,     // account-wide rate limits: minutes of back-off
  kRetryPair,     // this recipient only is throttled (≥ 6 s, growing)
  kPauseChannel,  // the credentials are refused: pause the channel and alert
};

struct ProviderAnswer {
  enum class Outcome {
    kAccepted,     // taken; `message_id` is the provider's id ("" for a read receipt)
    kRefused,      // an answer that is not a success: see code, retry, server_error
    kUnknown,      // sent, but its fate cannot be told (no answer, an answer not understood)
    kUnreachable,  // nothing was sent: retrying cannot duplicate
  };
  Outcome outcome = Outcome::kUnknown;
  std::string message_id;
  std::optional<int> code;     // the provider's error code, when it gave one
  ProviderRetry retry = ProviderRetry::kNever;
  bool server_error = false;   // the provider itself failed (counts toward the circuit breaker)
  int64_t retry_after_ms = 0;  // what the provider asked for, at most an hour
  std::string detail;          // a refusal as the provider wrote it, for the audit record
};

class Provider {
 public:
  virtual ~Provider() = default;
  // Sends one payload in the provider's own format: `kind` "message" or "mark_read".
  virtual ProviderAnswer Send(const ProviderEndpoint& endpoint, std::string_view kind, const std::string& body) = 0;
};

using ProviderFactory = std::function<std::unique_ptr<Provider>()>;

}  // namespace cs
