// File: sending.h
// Accepting messages to send (docs/messaging.md#sending): validation, the
// 24-hour window, the consent gate, content protection, references to other
// messages, then the message, its job and its audit entry in one commit. The
// dispatcher (dispatcher.h) sends them later.
//
// Thread-safety: safe for concurrent use.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "audit/audit.h"
#include "common/status.h"
#include "consent/consent.h"
#include "env/env.h"
#include "json/json.h"
#include "messaging/send_policy.h"
#include "store/group_commit.h"
#include "store/store.h"
#include "vault/keyring.h"
#include "whatsapp/wire.h"

namespace cs {

struct SendRequest {
  std::string tenant_id;
  AuditActor actor;
  std::string channel_id;        // "" : the tenant's only channel
  std::string phone_number_id;   // alternatively, from a Graph-compatible path
  const JsonValue* body = nullptr;  // the Graph message body
  std::string idempotency_key;   // "" : none
  // Set only by the double opt-in flow: this template asks the subject to
  // confirm a pending consent for this purpose (CONS-01, CONS-02).
  std::string confirmation_purpose;
};

struct SendResult {
  MessageRecord message;
  whatsapp::OutboundMessage parsed;
  bool replayed = false;         // an earlier answer for the same Idempotency-Key
};

class MessageService {
 public:
  // Writes go through `commits` (group commit): one fsync for many concurrent
  // sends. Every send passes `chain` (send_policy.h): the gateway's has every
  // required stage (SendChain::ForGateway); tests of the transport alone may
  // build a shorter one.
  MessageService(Store& store, GroupCommitter& commits, TenantKeyring& keyring, const AuditLedger& ledger,
                 const Clock& clock, Random& random, SendChain chain)
      : store_(store), commits_(commits), keyring_(keyring), ledger_(ledger), clock_(clock), random_(random),
        chain_(std::move(chain)) {}

  // Validates, runs the policy chain, then commits the message, its
  // outbound job, the idempotency key and the audit entry in one
  // transaction. Refusals: the validation codes of whatsapp/wire.h;
  // not_found (channel); "idempotency_key_reuse"; "channel_required" when
  // the tenant has several channels and none is named; and each stage's
  // (send_policy.h), recorded as send.refused.
  Result<SendResult> Send(const SendRequest& request);
  // Send without a thread blocked on the group commit: validates and
  // prepares on the calling thread (everything `request` points to is used
  // before this returns), then `then` is called, from the calling thread or
  // the committer's, with a function that returns the result. That function
  // must run on another thread than the committer's; `waits` says whether it
  // may wait on a commit (again, after a rare key conflict).
  using SendContinuation = std::function<void(std::function<Result<SendResult>()> result, bool waits)>;
  void SendAsync(const SendRequest& request, SendContinuation then);

  // Returns a message of the tenant with its status events; the read is audited.
  Result<MessageRecord> Get(const std::string& tenant_id, const AuditActor& actor, const std::string& id,
                            std::vector<StatusEventRecord>* events);
  // Meta's id for the message, opened from its sealed copy; nullopt before
  // Meta has the message and after the subject's erasure (provider_ids.h).
  Result<std::optional<std::string>> OpenWamid(const MessageRecord& message);

 private:
  Result<Channel> ResolveChannel(const SendRequest& request);
  // A send that passed every check, with what its commit needs (copied:
  // it outlives the request).
  struct PreparedSend {
    std::string tenant_id;
    AuditActor actor;
    std::string idempotency_key;
    std::string request_hash;
    std::string content_findings;
    bool unscanned_document = false;  // a document it sends was never scanned (allowed by configuration)
    std::string payload;  // sealed into message.payload_sealed by Seal
    MessageRecord message;
    OutboundJob job;
    whatsapp::OutboundMessage parsed;
    TenantKeyring::NewSubjectKeys created_keys;
    SendResult result;  // filled by the commit, or by Prepare for a replay
    bool replay = false;  // answered from an earlier request: nothing to commit
    Status refusal;       // not ok: refused, once refusal_event is recorded
    AuditEvent refusal_event;
  };
  // A refused send: answered with `refusal` once "send.refused" (with the
  // reason) is recorded (CONS-03).
  std::shared_ptr<PreparedSend> Refusal(const SendRequest& request, const std::string& subject, Status refusal,
                                        std::string details = "");
  // Everything before the commit.
  Result<std::shared_ptr<PreparedSend>> Prepare(const SendRequest& request);
  // Seals the payload; a new recipient's key is made in memory (created_keys).
  Status Seal(PreparedSend& p);
  // The unit of the group commit: the message, its job, its idempotency
  // record and its audit entry, with the recipient's key when it is new.
  Status CommitUnit(PreparedSend& p, StoreTransaction& tx);
  // Seals and commits, waiting; a key conflict is sealed again (twice at most).
  Result<SendResult> SealAndCommit(PreparedSend& p);

  Store& store_;
  GroupCommitter& commits_;
  TenantKeyring& keyring_;
  const AuditLedger& ledger_;
  const Clock& clock_;
  Random& random_;
  const SendChain chain_;
};

// Returns a message as the JSON object of docs/api.md; `wamid`, Meta's id,
// only for callers allowed clear identifiers ("" leaves it out).
std::string MessageJson(const MessageRecord& message, const std::vector<StatusEventRecord>* events,
                        std::string_view wamid = {});

}  // namespace cs
