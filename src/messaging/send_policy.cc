// The send chain and its stages (send_policy.h).
#include "messaging/send_policy.h"

#include <algorithm>
#include <optional>

#include "common/json_writer.h"
#include "consent/consent.h"
#include "messaging/content_guard.h"
#include "messaging/provider_ids.h"

namespace cs {

namespace {

constexpr int64_t kServiceWindowMs = 24LL * 3600 * 1000;

// ok, or the reason a document of `body` was not scanned by the gateway.
Status CheckDocumentsScanned(Store& store, const std::string& tenant_id, const JsonValue& body) {
  // The documents of a message: its own, an interactive message's header, or a template header's.
  std::vector<const JsonValue*> documents;
  if (const JsonValue* d = body.Find("document"); d != nullptr && d->is_object()) documents.push_back(d);
  if (const JsonValue* i = body.Find("interactive"); i != nullptr && i->is_object()) {
    if (const JsonValue* h = i->Find("header"); h != nullptr && h->is_object()) {
      if (const JsonValue* d = h->Find("document"); d != nullptr && d->is_object()) documents.push_back(d);
    }
  }
  if (const JsonValue* t = body.Find("template"); t != nullptr && t->is_object()) {
    if (const JsonValue* cs = t->Find("components"); cs != nullptr && cs->is_array()) {
      for (const JsonValue& c : cs->as_array()) {
        const JsonValue* ps = c.is_object() ? c.Find("parameters") : nullptr;
        if (ps == nullptr || !ps->is_array()) continue;
        for (const JsonValue& p : ps->as_array()) {
          const JsonValue* d = p.is_object() ? p.Find("document") : nullptr;
          if (d != nullptr && d->is_object()) documents.push_back(d);
        }
      }
    }
  }
  for (const JsonValue* d : documents) {
    if (d->Find("link") != nullptr) {
      return FailedPrecondition("media_unscannable",
                                "a document sent by link cannot be scanned for sensitive data: upload it through "
                                "POST /{phone_number_id}/media and send its id");
    }
    const JsonValue* id = d->Find("id");
    if (id == nullptr || !id->is_string()) continue;  // the validator has refused it already
    Result<MediaRef> ref = store.inbound().GetMediaRef(tenant_id, id->as_string());
    if (!ref.ok() && ref.status().code() != StatusCode::kNotFound) return ref.status();
    if (!ref.ok() || ref->direction != "upload") {
      return FailedPrecondition("media_unscannable",
                                "this document was not uploaded through the gateway, so it was not scanned for "
                                "sensitive data: upload it through POST /{phone_number_id}/media and send that id");
    }
  }
  return Status::Ok();
}

// ok, or why `ref` cannot be referred to: unknown_message_reference,
// referenced_message_failed, reference_unavailable. A read receipt for a
// received message takes its sender as `m`'s subject.
Status CheckReference(Store& store, const std::string& tenant_id, const std::string& ref, MessageRecord& m) {
  if (ref.rfind("msg_", 0) == 0) {
    Result<MessageRecord> target = store.outbound().GetMessage(tenant_id, ref);
    if (!target.ok() && target.status().code() == StatusCode::kNotFound) {
      return InvalidArgument("unknown_message_reference", "message " + ref + " is not one this tenant sent");
    }
    CS_RETURN_IF_ERROR(target.status());
    if (target->wamid_sealed.empty() && (target->state == "failed" || target->state == "unknown")) {
      return FailedPrecondition("referenced_message_failed",
                                "message " + ref + " never reached Meta (" + target->state +
                                    (target->error_code.empty() ? "" : ", " + target->error_code) +
                                    "): nothing can reply or react to it; see GET /v1/messages/" + ref);
    }
    return Status::Ok();
  }
  if (ref.rfind("inm_", 0) == 0) {
    Result<InboundMessageRecord> target = store.inbound().GetInbound(tenant_id, ref);
    if (!target.ok() && target.status().code() == StatusCode::kNotFound) {
      return InvalidArgument("unknown_message_reference", "message " + ref + " is not one this tenant received");
    }
    CS_RETURN_IF_ERROR(target.status());
    if (target->wamid_sealed.empty()) {
      return FailedPrecondition("reference_unavailable", "Meta's id of message " + ref +
                                                             " is no longer kept (received before this version)");
    }
    // A read receipt concerns the customer who wrote: erased with them.
    if (m.subject.empty()) m.subject = target->subject;
    return Status::Ok();
  }
  return FailedPrecondition("reference_unavailable",
                            ref + " stands for a message the gateway cannot resolve (received more than the "
                                  "deduplication horizon ago, or not through it): refer to a msg_ or inm_ id");
}

// The customer-service window (spec §5): free-form messages only within 24
// hours of the user's last message; refused here, before Meta sees it.
class ServiceWindow final : public SendStage {
 public:
  ServiceWindow(Store& store, const Clock& clock) : store_(store), clock_(clock) {}
  std::string_view name() const override { return "service_window"; }
  Result<Decision> Apply(SendContext& c) const override {
    const MessageRecord& m = *c.message;
    if (!m.free_form || m.kind != "message" || c.parsed->group) return Decision::Allow();
    CS_ASSIGN_OR_RETURN(std::optional<int64_t> last, store_.inbound().LastInbound(m.channel_id, m.subject));
    if (!last || clock_.NowUnixMillis() - *last >= kServiceWindowMs) {
      return Decision::Refuse(FailedPrecondition("template_required",
                                                 "more than 24 hours since this user's last message: send an "
                                                 "approved template"));
    }
    return Decision::Allow();
  }

 private:
  Store& store_;
  const Clock& clock_;
};

// The consent gate (CONS-03): a template is sent only under an active
// consent for the purpose it is registered for. Nothing is queued otherwise.
class ConsentGate final : public SendStage {
 public:
  explicit ConsentGate(ConsentService& consent) : consent_(consent) {}
  std::string_view name() const override { return "consent"; }
  Result<Decision> Apply(SendContext& c) const override {
    MessageRecord& m = *c.message;
    const whatsapp::OutboundMessage& parsed = *c.parsed;
    if (m.kind != "message" || parsed.type != "template") return Decision::Allow();
    if (!c.confirmation_purpose.empty()) {
      Status ok = consent_.CheckConfirmationSend(c.tenant_id, m.subject, c.confirmation_purpose,
                                                 parsed.template_name, parsed.template_language);
      return ok.ok() ? Decision::Allow() : Decision::Refuse(ok);
    }
    GateRefusal why = GateRefusal::kNone;
    Result<std::string> purpose =
        consent_.CheckTemplateSend(c.tenant_id, m.subject, parsed.template_name, parsed.template_language, &why);
    if (!purpose.ok()) {
      // A refusal names its reason; a store that cannot answer is a failure, not a refusal.
      if (why == GateRefusal::kNone && purpose.status().code() == StatusCode::kUnavailable) return purpose.status();
      JsonWriter w;
      w.BeginObject().Key("reason").String(GateRefusalName(why)).EndObject();
      return Decision::Refuse(purpose.status(), why == GateRefusal::kNone ? std::string() : w.Take());
    }
    m.purpose_id = *purpose;
    return Decision::Allow();
  }

 private:
  ConsentService& consent_;
};

// A reply, reaction or read receipt may name a message by the gateway's id
// (the one its send answered, or the one a forwarded event carried): it
// must be the tenant's and one Meta can still know. It is translated to
// Meta's id at dispatch (provider_ids.h).
class References final : public SendStage {
 public:
  explicit References(Store& store) : store_(store) {}
  std::string_view name() const override { return "references"; }
  Result<Decision> Apply(SendContext& c) const override {
    for (const std::string& ref : GatewayReferences(*c.body)) {
      Status checked = CheckReference(store_, c.tenant_id, ref, *c.message);
      if (checked.code() == StatusCode::kInvalidArgument || checked.code() == StatusCode::kFailedPrecondition) {
        return Decision::Refuse(checked);
      }
      CS_RETURN_IF_ERROR(checked);
    }
    return Decision::Allow();
  }

 private:
  Store& store_;
};

// Documents are scanned when they are uploaded through the gateway
// (MediaService): one it never held cannot have been (CHAN-04). Under
// "deliver", it goes out, and its audit entry says it was not scanned.
class Documents final : public SendStage {
 public:
  Documents(Store& store, bool refuse) : store_(store), refuse_(refuse) {}
  std::string_view name() const override { return "documents"; }
  Result<Decision> Apply(SendContext& c) const override {
    if (c.message->kind != "message") return Decision::Allow();
    Status scanned = CheckDocumentsScanned(store_, c.tenant_id, *c.body);
    if (scanned.machine_code() != "media_unscannable") {
      CS_RETURN_IF_ERROR(scanned);
      return Decision::Allow();
    }
    if (refuse_) return Decision::Refuse(scanned);
    c.unscanned_document = true;
    return Decision::Allow();
  }

 private:
  Store& store_;
  const bool refuse_;
};

// Content protection (CHAN-04): every text field, before anything is
// stored or sent. What was found is recorded without the values.
class Content final : public SendStage {
 public:
  explicit Content(ContentGuard& content) : content_(content) {}
  std::string_view name() const override { return "content"; }
  Result<Decision> Apply(SendContext& c) const override {
    if (c.message->kind != "message") return Decision::Allow();
    CS_ASSIGN_OR_RETURN(scan::ContentPolicy policy, content_.PolicyFor(c.tenant_id));
    CS_ASSIGN_OR_RETURN(JsonValue canonical, ParseJson(c.payload));
    ContentGuard::Outcome outcome = content_.Apply(policy, scan::Direction::kOutbound, canonical);
    if (outcome.findings > 0) c.content_findings = outcome.findings_json;
    if (outcome.refused) {
      JsonWriter w;
      w.BeginObject().Key("content").Raw(outcome.findings_json).EndObject();
      const bool only_health = !outcome.refused_beyond_health;
      Status refusal =
          only_health
              ? InvalidArgument("channel_not_permitted_for_phi",
                                "this tenant does not send health information over WhatsApp (" + outcome.summary +
                                    "): send a notification that links to the secure portal instead")
              : InvalidArgument("sensitive_identifier",
                                "the message contains data that must not be sent over WhatsApp (" + outcome.summary +
                                    ")" +
                                    (outcome.card ? "; card numbers are never sent (PCI DSS): send a payment link"
                                                  : ""));
      return Decision::Refuse(refusal, w.Take());
    }
    if (outcome.changed) c.payload = std::move(outcome.json);  // transformed: masked
    return Decision::Allow();
  }

 private:
  ContentGuard& content_;
};

}  // namespace

std::unique_ptr<const SendStage> ServiceWindowStage(Store& store, const Clock& clock) {
  return std::make_unique<ServiceWindow>(store, clock);
}
std::unique_ptr<const SendStage> ConsentStage(ConsentService& consent) { return std::make_unique<ConsentGate>(consent); }
std::unique_ptr<const SendStage> ReferenceStage(Store& store) { return std::make_unique<References>(store); }
std::unique_ptr<const SendStage> DocumentStage(Store& store, bool refuse_unscanned) {
  return std::make_unique<Documents>(store, refuse_unscanned);
}
std::unique_ptr<const SendStage> ContentStage(ContentGuard& content) { return std::make_unique<Content>(content); }

Status CheckPolicyStages(std::string_view chain, const std::vector<std::string_view>& names,
                         const std::vector<std::string_view>& required) {
  for (size_t i = 0; i < names.size(); ++i) {
    if (std::find(names.begin(), names.begin() + static_cast<long>(i), names[i]) != names.begin() + static_cast<long>(i)) {
      return FailedPrecondition("policy_stage_duplicated",
                                "the " + std::string(chain) + " policy names stage " + std::string(names[i]) + " twice");
    }
  }
  for (std::string_view name : required) {
    if (std::find(names.begin(), names.end(), name) == names.end()) {
      return FailedPrecondition("policy_stage_missing", "the " + std::string(chain) +
                                                            " policy lacks its required stage " + std::string(name) +
                                                            ": the gateway does not start without it");
    }
  }
  return Status::Ok();
}

Result<SendChain> SendChain::Build(std::vector<std::unique_ptr<const SendStage>> stages,
                                   const std::vector<std::string_view>& required) {
  SendChain chain;
  for (std::unique_ptr<const SendStage>& stage : stages) {
    if (stage == nullptr) return InvalidArgument("invalid_policy_stage", "a send policy stage is null");
    chain.stages_.push_back(std::move(stage));
  }
  CS_RETURN_IF_ERROR(CheckPolicyStages("send", chain.names(), required));
  return chain;
}

Result<SendChain> SendChain::ForGateway(Store& store, const Clock& clock, ConsentService& consent,
                                        ContentGuard& content, bool refuse_unscanned_documents) {
  std::vector<std::unique_ptr<const SendStage>> stages;
  stages.push_back(ServiceWindowStage(store, clock));
  stages.push_back(ConsentStage(consent));
  stages.push_back(ReferenceStage(store));
  stages.push_back(DocumentStage(store, refuse_unscanned_documents));
  stages.push_back(ContentStage(content));
  return Build(std::move(stages), std::vector<std::string_view>(std::begin(kRequired), std::end(kRequired)));
}

Result<Decision> SendChain::Run(SendContext& context) const {
  for (const std::shared_ptr<const SendStage>& stage : stages_) {
    CS_ASSIGN_OR_RETURN(Decision d, stage->Apply(context));
    if (!d.refusal.ok()) return d;
  }
  return Decision::Allow();
}

std::vector<std::string_view> SendChain::names() const {
  std::vector<std::string_view> out;
  for (const auto& stage : stages_) out.push_back(stage->name());
  return out;
}

}  // namespace cs
