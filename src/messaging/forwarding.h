// File: forwarding.h
// Forwarding events to the company's systems (docs/forwarding.md):
// subscribers, the minimised Meta-shaped values, the outbox worker pool.
//
// Thread-safety: safe for concurrent use.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "audit/audit.h"
#include "common/secret.h"
#include "common/status.h"
#include "env/env.h"
#include "messaging/url_guard.h"
#include "store/store.h"
#include "vault/keyring.h"
#include "whatsapp/wire.h"

namespace cs {

class HttpClient;

struct SubscriberSpec {
  std::string tenant_id;
  std::string url;
  SecretString secret;                 // empty: one is generated and returned once
  std::vector<std::string> events = {"messages", "preferences", "statuses"};
  bool clear_phone_numbers = false;
  bool include_content = false;
  bool sale_or_sharing = false;        // CCPA: this recipient buys or shares the data (CONS-10)
};

struct CreatedSubscriber {
  Subscriber subscriber;
  SecretString secret;  // shown once
};

class SubscriberService {
 public:
  SubscriberService(Store& store, TenantKeyring& keyring, const AuditLedger& ledger, const Clock& clock,
                    Random& random, UrlPolicy policy)
      : store_(store), keyring_(keyring), ledger_(ledger), clock_(clock), random_(random), policy_(std::move(policy)) {}

  // Refusals: url_not_allowed (url_guard.h), invalid_field (events, a
  // secret under 16 characters).
  Result<CreatedSubscriber> Create(const AuditActor& actor, const SubscriberSpec& spec);
  Status Delete(const AuditActor& actor, const std::string& tenant_id, const std::string& id);
  Status Requeue(const AuditActor& actor, const std::string& tenant_id, const std::string& event_id);
  // The tenant's subscribers; one of them; its undeliverable events (kNotFound for another tenant's).
  Result<std::vector<Subscriber>> List(const std::string& tenant_id) { return store_.outbox().ListSubscribers(tenant_id); }
  Result<Subscriber> Get(const std::string& tenant_id, const std::string& id) {
    return store_.outbox().GetSubscriber(tenant_id, id);
  }
  Result<std::vector<OutboxEntry>> DeadLetters(const std::string& tenant_id, const std::string& id, int limit) {
    CS_RETURN_IF_ERROR(Get(tenant_id, id).status());
    return store_.outbox().DeadLetters(tenant_id, id, limit);
  }
  const UrlPolicy& policy() const { return policy_; }

 private:
  Store& store_;
  TenantKeyring& keyring_;
  const AuditLedger& ledger_;
  const Clock& clock_;
  Random& random_;
  UrlPolicy policy_;
};

// Returns a subscriber as the JSON object of docs/api.md (never its secret).
std::string SubscriberJson(const Subscriber& subscriber);

// The "value" objects forwarded to a subscriber, in Meta's shape, minimised
// per its settings (MIN-03):
// - identifiers: the number (`from`, `wa_id`, `recipient_id`), the
//   business-scoped user id and its parent (`from_user_id`, `user_id`, …)
//   and the username appear only with clear_phone_numbers; otherwise each
//   becomes the subject's pseudonym and the username is left out;
// - Meta's message ids embed the number (provider_ids.h): every one is
//   replaced by the gateway's id (messages[].id is the received message's
//   "inm_…", statuses[].id the sent message's "msg_…", a reply's context.id
//   the message it quotes). With clear_phone_numbers, Meta's id is added
//   beside it as "wamid", for support cases with Meta;
// - message content and profile names appear only with include_content.
// A message in which content protection found something carries
// "consentry":{"findings":[…]} (types and positions, never values).
struct ForwardedIds {
  std::string subject;      // the customer's pseudonym
  std::string message_id;   // the gateway's id of the received message
  // Every other wamid the message names (context.id, reaction.message_id, …)
  // → the gateway's id for it (GatewayIdForWamid).
  std::map<std::string, std::string> wamids;
};
std::string ForwardedMessageValue(const whatsapp::InboundMessage& message, const ForwardedIds& ids,
                                  const Subscriber& subscriber, std::string_view content_findings = "");
std::string ForwardedStatusValue(const whatsapp::StatusUpdate& status, const MessageRecord& message,
                                 const Subscriber& subscriber);
std::string ForwardedPreferenceValue(const whatsapp::UserPreference& preference, const std::string& subject,
                                     const Subscriber& subscriber);

// A send that failed at dispatch: Meta refused it, or the gateway could not
// send it (the consent ended, it expired, the message it replies to failed).
struct DispatchFailure {
  int code = 0;              // Meta's code; for the gateway's own reasons, the closest of Meta's
  std::string title;         // Meta's title for it
  std::string details;       // what happened, a sentence without personal data
  std::string gateway_code;  // the gateway's machine code (docs/errors.md), e.g. "consent_required"
};
// Builds the failure from the gateway's code, Meta's code and Meta's error
// body (may be empty).
DispatchFailure MakeDispatchFailure(const std::string& gateway_code, int provider_code, std::string_view provider_body);
// The failed status forwarded for it, in Meta's shape (statuses[] with
// errors[{code,title,message,error_data:{details}}]), so an integration's
// error handling runs as it would for Meta's own failed status. `to` is the
// recipient's number when known ("" otherwise), shown only with clear_phone_numbers.
std::string ForwardedFailureValue(const Channel& channel, const MessageRecord& message, const DispatchFailure& failure,
                                  const std::string& to, int64_t at_ms, const Subscriber& subscriber);

struct ForwarderOptions {
  int threads = 4;                    // deliveries in flight at once, each to a different subscriber
  int64_t lease_ms = 60000;           // longer than one delivery (connect + timeout), so it never lapses mid-way
  int64_t give_up_after_ms = 24LL * 3600 * 1000;  // then the event is a dead letter (W-05)
  int64_t backoff_base_ms = 1000;
  int64_t backoff_max_ms = 3600000;
  int64_t connect_timeout_ms = 5000;
  int64_t timeout_ms = 15000;
  int64_t idle_poll_ms = 100;
};

struct ForwarderStats {
  std::atomic<int64_t> delivered{0};
  std::atomic<int64_t> retried{0};
  std::atomic<int64_t> dead{0};
  std::atomic<int64_t> withheld{0};  // not sent: the subject opted out of sale or sharing (CONS-10)
};

// Delivers outbox entries: signed with the subscriber's secret
// (X-Hub-Signature-256 over the exact bytes, plus X-Gateway-Event-Id,
// -Timestamp and -Signature over "timestamp.body", W-04), through the SSRF
// guard, no redirects, retried with backoff for a day, then dead-lettered.
//
// A pool of `threads` workers shares the outbox, each leasing one entry at
// a time. A subscriber never has more than one delivery in flight, and
// after a failure (timeout, refused connection, non-2xx) its entries are
// not leased until a cool-down ends, instead of each waiting for its own
// timeout in front of other subscribers' events: a slow or dead subscriber
// delays nobody else. (Events are not strictly ordered: a retried one goes
// after those queued behind it, as Meta's own deliveries may.)
class Forwarder {
 public:
  Forwarder(Store& store, TenantKeyring& keyring, const Clock& clock, UrlPolicy policy, ForwarderOptions options);
  ~Forwarder();
  void Start();
  void Stop();
  const ForwarderStats& stats() const { return stats_; }

 private:
  // Per subscriber, shared by the workers.
  struct Gate {
    bool busy = false;          // a worker is delivering to it
    int64_t cool_until_ms = 0;  // after a failure: nothing is tried before this
    int failures = 0;           // consecutive, for the cool-down's length
  };
  void Loop();
  // Delivers one entry; `failed` tells whether the subscriber failed it
  // (the Status reports storage errors only).
  Status Deliver(const OutboxEntry& entry, HttpClient& guarded, HttpClient& local, bool& failed);

  Store& store_;
  TenantKeyring& keyring_;
  const Clock& clock_;
  UrlPolicy policy_;
  ForwarderOptions options_;
  ForwarderStats stats_;
  std::atomic<bool> stopping_{false};
  std::vector<std::thread> threads_;
  std::mutex gates_mu_;
  std::map<std::string, Gate> gates_;  // guarded by gates_mu_
};

}  // namespace cs
