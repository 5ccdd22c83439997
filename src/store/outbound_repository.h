// File: outbound_repository.h
// Messages the gateway accepted, their dispatch jobs, status events and
// idempotency keys (docs/messaging.md#sending).
//
// Secrets and message content are stored sealed (vault/aead.h via a Kms);
// recipients appear only as subject pseudonyms.
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

// Exposed states; they only move forward (docs/messaging.md).
// accepted → sent → delivered → read; failed; unknown (outcome not known).
struct MessageRecord {
  std::string id;                 // "msg_" + 24 hex
  std::string tenant_id;
  std::string channel_id;
  std::string subject;            // recipient pseudonym
  std::string kind;               // "message" | "mark_read"
  std::string type;               // "text", "template", …
  bool free_form = true;
  std::string purpose_id;         // the purpose its consent was checked for ("" for free-form and receipts)
  std::string payload_sealed;     // the Graph body (with the recipient), sealed
  std::string state = "accepted";
  // Meta's id once submitted. Meta's ids embed the user's number, so it is
  // kept as a keyed hash (status webhooks find the message by it) and as a
  // copy sealed under the subject's key (replies refer to it; erasure
  // shreds it), never in clear (MIN-02, DSR-05).
  std::string wamid_hash;         // TenantKeyring::ProviderIdToken, "" until known
  std::string wamid_sealed;       // "" until known
  std::string error_code;         // gateway code when failed, e.g. "template_required"
  int64_t provider_code = 0;      // Meta's error code, if any
  int64_t seen = 0;               // bit set of statuses received: 1 sent, 2 delivered, 4 read, 8 failed
  int64_t attempts = 0;
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
};

struct OutboundJob {
  std::string message_id;
  std::string tenant_id;
  std::string channel_id;
  std::string subject;
  int64_t due_ms = 0;
  int64_t attempts = 0;
  bool was_in_flight = false;     // a previous lease ended mid-call: the outcome is unknown
};

struct StatusEventRecord {
  std::string message_id;
  std::string status;             // as received
  int64_t provider_ts_ms = 0;
  int64_t received_at_ms = 0;
  int64_t provider_code = 0;
};

struct IdempotencyRecord {
  std::string request_hash;       // SHA-256 of the canonical request
  std::string message_id;
};

class OutboundRepository {
 public:
  virtual ~OutboundRepository() = default;
  // Inserts the message and its outbound job together.
  virtual Status InsertMessage(const MessageRecord& message, const OutboundJob& job) = 0;
  virtual Result<MessageRecord> GetMessage(const std::string& tenant_id, const std::string& id) = 0;
  // By the keyed hash of Meta's id (MessageRecord::wamid_hash).
  virtual Result<MessageRecord> FindMessageByWamidHash(const std::string& wamid_hash) = 0;
  virtual Result<MessageRecord> FindMessage(const std::string& id) = 0;
  // Writes state, wamid_hash and wamid_sealed, error, seen, attempts, updated_at and the payload
  // (emptied once dispatching ends: bodies are not kept, MIN-01).
  virtual Status UpdateMessage(const MessageRecord& message) = 0;
  virtual Status InsertStatusEvent(const StatusEventRecord& event) = 0;
  virtual Result<std::vector<StatusEventRecord>> StatusEvents(const std::string& message_id) = 0;

  // Leases up to `limit` due jobs (due_ms <= now, no live lease) until
  // `lease_until_ms`; returns them with their in-flight flag (set when a
  // previous holder was about to call the provider and never recorded the outcome).
  virtual Result<std::vector<OutboundJob>> LeaseJobs(int64_t now_ms, int64_t lease_until_ms, int limit) = 0;
  // Marks a leased job as being sent now (committed before the provider call).
  // kNotFound when the job is gone (cancelled by an erasure meanwhile) or
  // already in flight: the caller must not send.
  virtual Status MarkInFlight(const std::string& message_id) = 0;
  // Puts a job back for later: no lease, not in flight.
  virtual Status RescheduleJob(const std::string& message_id, int64_t due_ms, int64_t attempts) = 0;
  virtual Status DeleteJob(const std::string& message_id) = 0;
  virtual Result<int64_t> CountJobs() = 0;

  virtual Result<std::optional<IdempotencyRecord>> FindIdempotencyKey(const std::string& tenant_id,
                                                                      const std::string& key) = 0;
  virtual Status InsertIdempotencyKey(const std::string& tenant_id, const std::string& key,
                                      const IdempotencyRecord& record, int64_t now_ms) = 0;
};

}  // namespace cs
