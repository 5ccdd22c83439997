// File: history.h
// Conversation history and the body purge (docs/retention.md).
//
// Thread-safety: safe for concurrent use.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "audit/audit.h"
#include "common/status.h"
#include "env/env.h"
#include "store/store.h"
#include "vault/keyring.h"

namespace cs {

// Conversation history (MIN-01, RET-01; docs/retention.md). Off by default:
// message bodies are cleared once delivered (inbound: after
// messaging.inbound_body_seconds; outbound: when Meta has them). A tenant
// turns it on with a purpose, a legal basis and a retention in days; bodies
// are then kept that long, sealed under each subject's key (an erasure
// shreds them), and the subject's conversation can be read back.
class HistoryService {
 public:
  HistoryService(Store& store, TenantKeyring& keyring, const AuditLedger& ledger, const Clock& clock)
      : store_(store), keyring_(keyring), ledger_(ledger), clock_(clock) {}

  Result<std::optional<HistoryPolicy>> Get(const std::string& tenant_id);
  // Turns history on, or changes its terms, with an audit entry
  // ("history.enable", the terms in its details). invalid_argument
  // "invalid_field": retention_days outside 1–3650, a purpose that is not 1–200
  // printable characters, a legal basis not in kLegalBases.
  Result<HistoryPolicy> Enable(const AuditActor& actor, HistoryPolicy policy);
  // Turns it off ("history.disable"): kept bodies go at the next purge run.
  // not_found when it was off.
  Status Disable(const AuditActor& actor, const std::string& tenant_id);

  struct Item {
    std::string direction;   // "inbound" | "outbound"
    std::string id;
    std::string type;
    std::string state;       // outbound only
    int64_t at_ms = 0;       // received (inbound) or created (outbound)
    std::optional<std::string> body;  // the message object as stored; nullopt once purged
  };
  // The subject's newest `limit` messages (1–500), oldest first, bodies
  // opened where kept. The read is audited ("history.read", the subject).
  Result<std::vector<Item>> Read(const AuditActor& actor, const std::string& tenant_id, const std::string& subject,
                                 int limit);

  static constexpr std::array<std::string_view, 4> kLegalBases = {"consent", "contract", "legal_obligation",
                                                                  "legitimate_interests"};

 private:
  Store& store_;
  TenantKeyring& keyring_;
  const AuditLedger& ledger_;
  const Clock& clock_;
};

// What one run of the body purge cleared (MIN-01, RET-01).
struct PurgedBodies {
  int64_t message_bodies = 0;  // inbound and outbound message bodies
  int64_t forward_bodies = 0;  // forwarding events (ExpireOutboxBodies)
};
// Clears every body past its retention at `now_ms`: for tenants without a
// history policy, messages older than `message_body_ms`; for the others,
// older than their policy's retention; forwarding events older than
// `forward_body_ms`. Run every minute by `serve`.
Result<PurgedBodies> PurgeExpiredBodies(Store& store, int64_t now_ms, int64_t message_body_ms, int64_t forward_body_ms);

// Returns a history policy as the JSON object of docs/api.md ({"enabled":false} for none).
std::string HistoryPolicyJson(const std::optional<HistoryPolicy>& policy);

}  // namespace cs
