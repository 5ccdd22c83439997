// File: outbox_repository.h
// Subscribers (company systems that receive events) and the outbox of
// events waiting for them (docs/forwarding.md).
//
// Errors as in store.h: kNotFound "not_found"; kAlreadyExists "conflict";
// kUnavailable "storage_unavailable". Thread-safety: safe for concurrent use.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace cs {

// A company system that receives events in Meta's webhook shape (docs/forwarding.md).
struct Subscriber {
  std::string id;                 // "sbs_" + 24 hex
  std::string tenant_id;
  std::string url;
  std::string secret_sealed;      // signs what it receives
  std::vector<std::string> events;  // sorted subset of "messages", "statuses", "preferences"
  bool clear_phone_numbers = false; // false: numbers replaced by subject pseudonyms (MIN-03)
  bool include_content = false;     // false: ids, types, states and times only (MIN-03)
  // A third party that receives data for sale or cross-context behavioural
  // advertising (CCPA "sale or sharing"): subjects who opted out are never
  // forwarded to it (CONS-10).
  bool sale_or_sharing = false;
  int64_t created_at_ms = 0;
  std::optional<int64_t> deleted_at_ms;
};

// One event waiting for (or given up on by) one subscriber.
struct OutboxEntry {
  std::string id;                 // "evt_" + 24 hex; X-Gateway-Event-Id
  std::string tenant_id;
  std::string subject;            // whose event it is ("" for none): the payload is sealed under their key
  std::string subscriber_id;
  std::string field;              // the webhook field: "messages" or "user_preferences"
  std::string waba_id;
  std::string payload_sealed;     // the "value" object to send, sealed
  std::string state = "pending";  // "pending" | "dead"
  int64_t due_ms = 0;
  int64_t attempts = 0;
  std::string last_error;         // machine code or HTTP status of the last failure
  int64_t created_at_ms = 0;
};

class OutboxRepository {
 public:
  virtual ~OutboxRepository() = default;
  // MIN-01: events created before `before_ms` lose their body; those not yet
  // delivered become dead letters with last_error "expired". An event a
  // forwarder holds a lease on at `now_ms` waits for the next run. Returns how many.
  virtual Result<int64_t> ExpireOutboxBodies(int64_t before_ms, int64_t now_ms) = 0;

  virtual Status InsertSubscriber(const Subscriber& subscriber) = 0;
  // Live (not deleted) subscribers of the tenant, oldest first.
  virtual Result<std::vector<Subscriber>> ListSubscribers(const std::string& tenant_id) = 0;
  virtual Result<Subscriber> GetSubscriber(const std::string& tenant_id, const std::string& id) = 0;
  // Marks it deleted and drops its pending events. kNotFound if missing or foreign.
  virtual Status DeleteSubscriber(const std::string& tenant_id, const std::string& id, int64_t at_ms) = 0;
  virtual Status InsertOutbox(const OutboxEntry& entry) = 0;
  // Leases up to `limit` pending entries due by `now_ms` until `lease_until_ms`.
  // Leases up to `limit` due entries, oldest due first, skipping those of
  // the subscribers in `skip_subscribers` (busy or cooling down).
  virtual Result<std::vector<OutboxEntry>> LeaseOutbox(int64_t now_ms, int64_t lease_until_ms, int limit,
                                                       const std::vector<std::string>& skip_subscribers = {}) = 0;
  virtual Status DeleteOutbox(const std::string& id) = 0;
  virtual Status RetryOutbox(const std::string& id, int64_t due_ms, int64_t attempts, const std::string& last_error) = 0;
  virtual Status KillOutbox(const std::string& id, int64_t attempts, const std::string& last_error) = 0;
  // Dead entries of a subscriber of the tenant, oldest first, at most `limit`.
  virtual Result<std::vector<OutboxEntry>> DeadLetters(const std::string& tenant_id, const std::string& subscriber_id,
                                                       int limit) = 0;
  // Puts a dead entry back in the queue, due now. kNotFound if missing, foreign or not dead.
  virtual Status RequeueDead(const std::string& tenant_id, const std::string& id, int64_t now_ms) = 0;
  virtual Result<int64_t> CountOutbox(const std::string& state) = 0;
};

}  // namespace cs
