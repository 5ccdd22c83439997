// File: send_policy.h
// The checks a message passes before it is accepted, as one chain of stages
// (the Envoy filter-chain model; docs/architecture.md#the-send-chain):
//
//   service_window → consent → references → documents → content
//
// The chain is built once at start-up from validated configuration; each
// stage is immutable and decides allow, refuse (with a machine code and a
// reason, recorded as send.refused) or transform (content protection masks
// the body). A chain that lacks a required stage is refused when it is
// built, so the gateway does not start without one: no check can be
// forgotten into silence (fail closed). Coming stages plug in here: rate
// limits, restriction of processing (DSR-06), jurisdiction and retention
// rules, the DPIA gate.
//
// Thread-safety: a built chain and its stages are immutable and safe for
// concurrent use.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "env/env.h"
#include "json/json.h"
#include "store/store.h"
#include "whatsapp/wire.h"

namespace cs {

class ConsentService;
class ContentGuard;

// What the stages see of one send, and what they may change.
struct SendContext {
  std::string tenant_id;
  const JsonValue* body = nullptr;            // the request's Graph body
  const whatsapp::OutboundMessage* parsed = nullptr;
  std::string confirmation_purpose;           // set only by the double opt-in flow
  MessageRecord* message = nullptr;           // a stage may set subject (read receipts) and purpose_id (consent)
  std::string payload;                        // what will be stored and sent; content protection may mask it
  std::string content_findings;               // "" or the findings' JSON (types and positions, never values)
  bool unscanned_document = false;            // a document in it was never scanned (allowed by configuration)
};

// A stage's decision. An error Result (storage unreachable…) is a failure
// to decide, answered as such, never taken as allow.
struct Decision {
  Status refusal;       // OK: go on; otherwise the send is refused with it
  std::string details;  // the refusal's audit details: reasons and findings, never values
  static Decision Allow() { return {}; }
  static Decision Refuse(Status refusal, std::string details = "") { return {std::move(refusal), std::move(details)}; }
};

class SendStage {
 public:
  virtual ~SendStage() = default;
  virtual std::string_view name() const = 0;
  virtual Result<Decision> Apply(SendContext& context) const = 0;
};

class SendChain {
 public:
  // The stages the gateway must run, in this order.
  static constexpr std::string_view kRequired[] = {"service_window", "consent", "references", "documents", "content"};

  // Builds a chain from `stages`, in their order. failed_precondition
  // "policy_stage_missing" when a stage named in `required` is absent, or
  // "policy_stage_duplicated" when a name comes twice.
  static Result<SendChain> Build(std::vector<std::unique_ptr<const SendStage>> stages,
                                 const std::vector<std::string_view>& required);
  // The gateway's chain: every stage of kRequired (send_policy.cc).
  static Result<SendChain> ForGateway(Store& store, const Clock& clock, ConsentService& consent, ContentGuard& content,
                                      bool refuse_unscanned_documents);

  // Runs the stages in order; the first refusal ends it.
  Result<Decision> Run(SendContext& context) const;
  std::vector<std::string_view> names() const;

 private:
  std::vector<std::shared_ptr<const SendStage>> stages_;
};

// The checks common to the send and the receive chain (receive_policy.h):
// every stage named once, every required one present.
Status CheckPolicyStages(std::string_view chain, const std::vector<std::string_view>& names,
                         const std::vector<std::string_view>& required);

// The stages (send_policy.cc).
// Free-form messages only within 24 hours of the user's last message: template_required.
std::unique_ptr<const SendStage> ServiceWindowStage(Store& store, const Clock& clock);
// A template needs an active consent for its registered purpose (CONS-03): consent_required, …
std::unique_ptr<const SendStage> ConsentStage(ConsentService& consent);
// A reply, reaction or read receipt naming a gateway id must name one of the tenant's messages that Meta can know.
std::unique_ptr<const SendStage> ReferenceStage(Store& store);
// A document the gateway never scanned is refused (media_unscannable) or let through and marked.
std::unique_ptr<const SendStage> DocumentStage(Store& store, bool refuse_unscanned);
// Every text field scanned under the tenant's content policy (CHAN-04): refused or masked.
std::unique_ptr<const SendStage> ContentStage(ContentGuard& content);

}  // namespace cs
