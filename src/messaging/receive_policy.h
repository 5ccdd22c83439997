// File: receive_policy.h
// What happens to a delivery Meta made, after its signature and routing
// checked out (webhooks.h), as one chain of stages: the inbound twin of the
// send chain (send_policy.h, docs/architecture.md#the-receive-chain):
//
//   content → consent
//
// A delivery is never refused here: Meta has it and would only send it
// again. A stage may transform a message before it is sealed, stored or
// forwarded (content protection masks card numbers, CHAN-04), act on it
// inside the delivery's transaction (a STOP withdraws consent, CONS-05; a
// first contact reserves the information notice, Art. 13), and ask for
// replies once it committed. The chain is built once at start-up; a chain
// without a required stage is refused, so the gateway does not start with
// a check that silently never runs (fail closed). Coming stages plug in
// here: restriction of processing (DSR-06), jurisdiction rules, retention
// classes, rights requests by WhatsApp keyword.
//
// Thread-safety: a built chain and its stages are immutable and safe for
// concurrent use.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "audit/audit.h"
#include "common/status.h"
#include "scan/policy.h"
#include "store/store.h"
#include "whatsapp/wire.h"

namespace cs {

class ConsentService;
class ContentGuard;
struct TemplateReview;

// One delivery, as every stage sees it.
struct ReceiveContext {
  std::string tenant_id;
  // The tenant's content policy, when the content stage loaded one (split
  // card numbers are joined under it, webhooks.h).
  std::optional<scan::ContentPolicy> content_policy;
};

// One inbound message before it is sealed: a stage may replace `msg` with
// a masked copy (kept alive by `masked`) and note what it found.
struct ReceivedMessage {
  const whatsapp::InboundMessage* msg = nullptr;
  std::shared_ptr<const whatsapp::InboundMessage> masked;
  InboundMessageRecord record;                   // id, channel and subject are set before the stages
  std::string content_findings;                  // "" or the findings' JSON (types and positions, never values)
  bool card = false;                             // a card number was masked
  bool health = false;                           // a health term was found (possible PHI)
  bool split_card = false;                       // …typed over this message and the previous one
};

// What stages ask for once the delivery committed, each on the channel the
// message came in on (its service window is the one just opened).
struct ReceiveFollowUps {
  struct Reply {
    std::string channel_id;
    std::string to;  // the sender's number, held in memory until the reply is queued
    std::string text;
    AuditActor actor;  // who the queued reply is recorded as
  };
  struct Information {
    std::string channel_id;
    std::string to;
    std::string subject;
    Notice notice;
    std::string text;  // the notice's information message
  };
  std::vector<Reply> replies;             // automated answers (opt-out confirmation, card warning)
  std::vector<Information> informs;       // first-contact information notices
  std::vector<std::string> stopped;       // subjects a 131050 failure stopped (their consent is re-read)
};

class ReceiveStage {
 public:
  virtual ~ReceiveStage() = default;
  virtual std::string_view name() const = 0;
  // Once per delivery with messages, before any Inspect.
  virtual Status Begin(ReceiveContext&) const { return Status::Ok(); }
  // Before the transaction (sealing may need its own key writes).
  virtual Status Inspect(const ReceiveContext&, ReceivedMessage&) const { return Status::Ok(); }
  // A body kept aside unread (quarantine): what may be stored of it.
  virtual std::string Redact(std::string raw) const { return raw; }
  // Inside the delivery's transaction, for a message stored for the first time.
  virtual Status Apply(const ReceiveContext&, const ReceivedMessage&, StoreTransaction&, std::vector<AuditEvent>&,
                       ReceiveFollowUps&) const {
    return Status::Ok();
  }
  // Inside the transaction: Meta says the user stopped marketing (a 131050
  // failure, or a user_preferences "stop"); `source` names which.
  virtual Status ApplyMarketingStop(const ReceiveContext&, const std::string& /*subject*/,
                                    const std::string& /*source*/, StoreTransaction&, std::vector<AuditEvent>&) const {
    return Status::Ok();
  }
  // Inside the transaction: Meta reviewed one of the tenant's templates.
  virtual Status ApplyTemplateReview(const ReceiveContext&, const TemplateReview&, StoreTransaction&,
                                     std::vector<AuditEvent>&) const {
    return Status::Ok();
  }
  // After the commit, or its failure: the subjects the delivery touched.
  virtual void Settled(const std::string& /*tenant_id*/, const std::vector<std::string>& /*subjects*/) const {}
  // After an information notice was queued (`sent` is the message id) or failed to be.
  virtual void InformationSent(const std::string& /*tenant_id*/, const ReceiveFollowUps::Information&,
                               const Result<std::string>& /*sent*/) const {}
};

class ReceiveChain {
 public:
  // The stages the gateway must run, in this order.
  static constexpr std::string_view kRequired[] = {"content", "consent"};

  // Builds a chain from `stages`, in their order: failed_precondition
  // "policy_stage_missing" or "policy_stage_duplicated" as SendChain::Build.
  static Result<ReceiveChain> Build(std::vector<std::unique_ptr<const ReceiveStage>> stages,
                                    const std::vector<std::string_view>& required);
  // The gateway's chain: every stage of kRequired.
  static Result<ReceiveChain> ForGateway(ConsentService& consent, ContentGuard& content);

  const std::vector<std::shared_ptr<const ReceiveStage>>& stages() const { return stages_; }
  std::vector<std::string_view> names() const;
  // Every stage's Redact, in order.
  std::string Redact(std::string raw) const;

 private:
  std::vector<std::shared_ptr<const ReceiveStage>> stages_;
};

// The stages (receive_policy.cc).
// Masks what the tenant's content policy says to mask and notes what was
// found (CHAN-04, SEN-02), with the tenant's notice and the neutral reply
// to a card number (SEN-05).
std::unique_ptr<const ReceiveStage> ContentReceiveStage(ContentGuard& content);
// Opt-out at every interaction, confirmations, Meta's marketing stops and
// template reviews (CONS-01, CONS-05), the information notice at first
// contact (GDPR Art. 13).
std::unique_ptr<const ReceiveStage> ConsentReceiveStage(ConsentService& consent);

}  // namespace cs
