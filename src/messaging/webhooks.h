// File: webhooks.h
// Receiving Meta's webhooks (docs/messaging.md#receiving): signature first,
// then routing, the receive chain (content protection, consent;
// receive_policy.h), deduplication and the outbox, all committed before the 200.
//
// Thread-safety: safe for concurrent use.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <variant>
#include <vector>

#include "audit/audit.h"
#include "common/status.h"
#include "env/env.h"
#include "json/json.h"
#include "messaging/channels.h"
#include "messaging/content_guard.h"
#include "messaging/receive_policy.h"
#include "messaging/sending.h"
#include "store/group_commit.h"
#include "store/store.h"
#include "vault/keyring.h"
#include "whatsapp/wire.h"

namespace cs {

// What became of a delivery or a handshake, for the edge to answer (the
// HTTP mapping is the API's, api/messaging_routes.cc).
struct WebhookOutcome {
  // OK: taken (committed, or kept aside unread); otherwise unauthenticated
  // (the signature), permission_denied (the handshake), not_found (no such
  // channel) or unavailable (nothing committed: Meta must deliver it again).
  Status refusal;
  std::string body;           // for the GET handshake: the challenge
  std::string error_code;     // for logs: why it was refused, or why it was kept aside
  int messages = 0, statuses = 0, duplicates = 0, quarantined = 0;
  bool accepted() const { return refusal.ok(); }
};

class WebhookReceiver {
 public:
  // `chain` acts on what arrives (receive_policy.h); `replies` queues the
  // automated answers its stages ask for.
  WebhookReceiver(Store& store, GroupCommitter& commits, TenantKeyring& keyring, ChannelService& channels,
                  const AuditLedger& ledger, const Clock& clock, Random& random, ReceiveChain chain,
                  MessageService& replies)
      : store_(store), commits_(commits), keyring_(keyring), channels_(channels), ledger_(ledger), clock_(clock),
        random_(random), chain_(std::move(chain)), replies_(replies) {}

  // Signature failures on one channel reaching `per_minute` within a clock
  // minute call `alert` once for that minute (with the channel and the
  // count): forged or misconfigured deliveries, or a rotated secret not
  // yet set here. Set before use.
  void SetSignatureFailureAlert(int64_t per_minute, std::function<void(const std::string&, int64_t)> alert) {
    signature_alert_per_minute_ = per_minute;
    signature_alert_ = std::move(alert);
  }

  // The GET verification handshake (W-02).
  WebhookOutcome Verify(const std::string& channel_id, const std::string& mode, const std::string& token,
                        const std::string& challenge);
  // A POST delivery: the signature is checked over the raw bytes before
  // anything is parsed (W-01); everything is committed before 200.
  WebhookOutcome Receive(const std::string& channel_id, const std::string* signature, const std::string& raw_body,
                         const JsonLimits& limits);
  // Receive without a thread blocked on the group commit: checks and
  // prepares on the calling thread, then `then` is called, from the calling
  // thread or the committer's, with a function that finishes the delivery
  // (post-commit state and automated replies, which may wait on a commit of
  // their own) and returns its outcome. That function must be run on
  // another thread than the committer's; `waits` says whether it may wait
  // on a commit (then not on a thread that serves sockets).
  using Continuation = std::function<void(std::function<WebhookOutcome()> finish, bool waits)>;
  void ReceiveAsync(const std::string& channel_id, const std::string* signature, const std::string& raw_body,
                    const JsonLimits& limits, Continuation then);

 private:
  // A delivery whose channel and signature checked out, parsed.
  struct Admitted {
    Channel channel;
    whatsapp::WebhookBatch batch;
    int64_t now = 0;
    // Set when the signed body cannot be read: it is quarantined whole
    // (QuarantineWhole), and the batch is empty.
    std::string unreadable;
  };
  struct Pending;  // inbound.cc
  // The checks before anything is prepared: the channel, the signature (W-01),
  // the parse. An outcome when the delivery is refused there.
  std::variant<WebhookOutcome, std::shared_ptr<const Admitted>> Admit(const std::string& channel_id,
                                                                      const std::string* signature,
                                                                      const std::string& raw_body,
                                                                      const JsonLimits& limits);
  // Keeps a signed delivery that cannot be read aside, sealed, for an operator (B-11).
  WebhookOutcome QuarantineWhole(const Admitted& admitted, const std::string& raw_body);
  // Prepares, commits (waiting) and finishes, starting over after a key conflict.
  WebhookOutcome ProcessNow(std::shared_ptr<const Admitted> admitted);
  // Everything sealed and looked up before the transaction.
  Result<std::shared_ptr<Pending>> Prepare(std::shared_ptr<const Admitted> source);
  // The unit of work in the group commit.
  Status Commit(Pending& pending, StoreTransaction& tx);
  // After the commit (or its failure): caches, split-card state, replies; the outcome.
  Status Finish(Pending& pending, const Status& committed, WebhookOutcome& outcome);
  Result<OutboxEntry> Forward(Pending& pending, const Subscriber& sb, const std::string& field,
                              const std::string& waba, const std::string& value, const std::string& subject);
  // Queues an automated text reply; returns the message id.
  Result<std::string> SendText(const Channel& channel, const std::string& to, const std::string& text,
                               const AuditActor& actor);
  void CountSignatureFailure(const std::string& channel_id);
  // The channel, read at most once a second per channel (a webhook burst
  // would otherwise open a read transaction per delivery), and again after
  // any change through the ChannelService. `fresh` reads it now; *cached
  // tells whether the answer came from the cache.
  Result<Channel> FindChannel(const std::string& channel_id, bool fresh, bool* cached);

  Store& store_;
  GroupCommitter& commits_;
  TenantKeyring& keyring_;
  ChannelService& channels_;
  const AuditLedger& ledger_;
  const Clock& clock_;
  Random& random_;
  const ReceiveChain chain_;
  MessageService& replies_;
  SplitCardDetector splits_;
  int64_t signature_alert_per_minute_ = 0;
  std::function<void(const std::string&, int64_t)> signature_alert_;
  struct FailureWindow {
    int64_t minute = 0;
    int64_t count = 0;
  };
  std::mutex failures_mu_;
  std::map<std::string, FailureWindow> failures_;  // by channel id (existing channels only); guarded by failures_mu_
  struct CachedChannel {
    Channel channel;
    int64_t loaded_ns = 0;  // steady clock
    uint64_t changes = 0;   // ChannelService::changes() before it was read
  };
  std::mutex channels_mu_;
  std::map<std::string, CachedChannel> channel_cache_;  // existing channels only; guarded by channels_mu_
};

}  // namespace cs
