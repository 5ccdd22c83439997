// File: history_repository.h
// Conversation history and the purge of message bodies (MIN-01, RET-01;
// docs/retention.md).
//
// Errors as in store.h: kNotFound "not_found"; kAlreadyExists "conflict";
// kUnavailable "storage_unavailable". Thread-safety: safe for concurrent use.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "store/inbound_repository.h"
#include "store/outbound_repository.h"

namespace cs {

// Conversation history (MIN-01, RET-01): off unless the tenant turns it on
// with a purpose, a legal basis and a retention. While on, message bodies
// are kept `retention_days` instead of being cleared after delivery.
struct HistoryPolicy {
  std::string tenant_id;
  int64_t retention_days = 0;   // 1–3650
  std::string purpose;          // why the history is kept (records of processing)
  std::string legal_basis;      // consent | contract | legal_obligation | legitimate_interests
  int64_t enabled_at_ms = 0;
};

class HistoryRepository {
 public:
  virtual ~HistoryRepository() = default;
  // MIN-01: clears the sealed body of every inbound message received before
  // `before_ms`, and of every outbound message created before it whose
  // dispatching is over, in tenants without a history policy (the metadata
  // stays); returns how many.
  virtual Result<int64_t> PurgeInboundBodies(int64_t before_ms) = 0;
  // RET-01: the same for one tenant (its history policy's retention).
  virtual Result<int64_t> PurgeTenantBodies(const std::string& tenant_id, int64_t before_ms) = 0;
  virtual Result<std::optional<HistoryPolicy>> GetHistoryPolicy(const std::string& tenant_id) = 0;
  virtual Status PutHistoryPolicy(const HistoryPolicy& policy) = 0;
  // False when there was none.
  virtual Result<bool> DeleteHistoryPolicy(const std::string& tenant_id) = 0;
  virtual Result<std::vector<HistoryPolicy>> ListHistoryPolicies() = 0;
  // The subject's newest `limit` inbound messages and outbound messages of
  // the tenant, newest first (bodies as stored: empty once purged).
  virtual Result<std::vector<InboundMessageRecord>> ListInboundOfSubject(const std::string& tenant_id,
                                                                        const std::string& subject, int limit) = 0;
  virtual Result<std::vector<MessageRecord>> ListMessagesOfSubject(const std::string& tenant_id,
                                                                   const std::string& subject, int limit) = 0;
};

}  // namespace cs
