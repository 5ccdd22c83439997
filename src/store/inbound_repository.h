// File: inbound_repository.h
// What Meta delivered: received messages, delivery keys (deduplication),
// media references, the customer-service window and quarantine
// (docs/messaging.md#receiving).
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

struct InboundMessageRecord {
  std::string id;                 // "inm_" + 24 hex
  std::string tenant_id;
  std::string channel_id;
  std::string subject;            // sender pseudonym ("" if hidden)
  std::string wamid_hash;         // keyed hash of Meta's id ("" for rows older than migration 18)
  std::string wamid_sealed;       // Meta's id sealed under the subject's key: mark-read, replies, reactions
  std::string type;
  int64_t sent_at_ms = 0;         // the provider timestamp
  int64_t received_at_ms = 0;
  std::string payload_sealed;     // the raw message object, sealed
};

// A media id the tenant may use through the gateway: one it uploaded, or
// one its customers sent (docs/media.md). Only the reference is kept: the
// bytes stay with Meta (data minimisation).
struct MediaRef {
  std::string tenant_id;
  std::string media_id;        // Meta's id
  std::string channel_id;      // whose token reads it
  std::string direction;       // "upload" | "inbound"
  std::string subject;         // the customer who sent it ("" for uploads): erased with them
  std::string mime_type;
  int64_t created_at_ms = 0;
  int64_t expires_at_ms = 0;   // Meta's lifetime: 30 days from upload, 7 from receipt
};

class InboundRepository {
 public:
  virtual ~InboundRepository() = default;
  // Records a delivery key (a wamid's keyed hash, with the status for a
  // status), with `ref`, the gateway's id of what it delivered; false if
  // already seen.
  virtual Result<bool> MarkSeen(const std::string& dedupe_key, int64_t now_ms, const std::string& ref) = 0;
  // The `ref` recorded with a delivery key still within the horizon, or nullopt.
  virtual Result<std::optional<std::string>> SeenRef(const std::string& dedupe_key) = 0;
  // Forgets delivery keys older than `before_ms`; returns how many.
  virtual Result<int64_t> PurgeSeen(int64_t before_ms) = 0;
  virtual Status InsertInbound(const InboundMessageRecord& message) = 0;
  // Returns an inbound message of the tenant, or kNotFound.
  virtual Result<InboundMessageRecord> GetInbound(const std::string& tenant_id, const std::string& id) = 0;
  // Replaces the sealed payload of an inbound message (content protection
  // masking a value found after it was stored). kNotFound if absent.
  virtual Status UpdateInboundPayload(const std::string& tenant_id, const std::string& id,
                                      const std::string& payload_sealed) = 0;
  virtual Result<int64_t> CountInbound(const std::string& tenant_id) = 0;
  // Media references (MediaRef). Put replaces the tenant's earlier one.
  virtual Status PutMediaRef(const MediaRef& ref) = 0;
  // The tenant's reference, or kNotFound (another tenant's media included).
  virtual Result<MediaRef> GetMediaRef(const std::string& tenant_id, const std::string& media_id) = 0;
  virtual Status DeleteMediaRef(const std::string& tenant_id, const std::string& media_id) = 0;
  // Forgets references that expired before `now_ms`; returns how many.
  virtual Result<int64_t> PurgeMediaRefs(int64_t now_ms) = 0;
  // The customer-service window: the last inbound message time per (channel, subject).
  virtual Status TouchWindow(const std::string& channel_id, const std::string& subject, int64_t at_ms) = 0;
  virtual Result<std::optional<int64_t>> LastInbound(const std::string& channel_id, const std::string& subject) = 0;
  // Keeps what could not be routed or parsed, sealed, for an operator.
  virtual Status Quarantine(int64_t at_ms, const std::string& reason, const std::string& body_sealed) = 0;
  virtual Result<int64_t> CountQuarantined() = 0;
  // Deletes quarantined items kept since before `before_ms`; returns how many.
  virtual Result<int64_t> PurgeQuarantine(int64_t before_ms) = 0;
};

}  // namespace cs
