// The receive chain and its stages (receive_policy.h).
#include "messaging/receive_policy.h"

#include <algorithm>

#include "common/json_writer.h"
#include "consent/consent.h"
#include "consent/keywords.h"
#include "consent/notices.h"
#include "messaging/content_guard.h"
#include "messaging/send_policy.h"

namespace cs {

namespace {

constexpr std::string_view kDefaultPanReply =
    "For your security, we removed the card number from your message. Please never send card details in this "
    "chat: we will send you a secure payment link instead.";

class ContentReceive final : public ReceiveStage {
 public:
  explicit ContentReceive(ContentGuard& content) : content_(content) {}
  std::string_view name() const override { return "content"; }

  Status Begin(ReceiveContext& c) const override {
    CS_ASSIGN_OR_RETURN(c.content_policy, content_.PolicyFor(c.tenant_id));
    return Status::Ok();
  }

  // Masks what the tenant's policy says to mask, before the message is
  // sealed, stored or forwarded, and notes what was found (CHAN-04, B-38).
  Status Inspect(const ReceiveContext& c, ReceivedMessage& m) const override {
    if (!c.content_policy) return Internal("the content stage inspected a delivery it did not begin");
    const scan::ContentPolicy& policy = *c.content_policy;
    Result<JsonValue> raw = ParseJson(m.msg->raw_json);
    if (!raw.ok()) return Status::Ok();  // the parser produced it: cannot happen, and then nothing is stored differently
    ContentGuard::Outcome o = content_.Apply(policy, scan::Direction::kInbound, *raw);
    if (o.findings == 0) return Status::Ok();
    m.content_findings = std::move(o.findings_json);
    m.card = o.card;
    m.health = o.health;
    if (!o.changed) return Status::Ok();
    auto masked = std::make_shared<whatsapp::InboundMessage>(*m.msg);
    masked->raw_json = std::move(o.json);
    // The text a keyword check reads is masked the same way.
    masked->text = scan::Decide(policy, scan::Direction::kInbound, m.msg->text, content_.scanner().Scan(m.msg->text)).text;
    m.masked = masked;
    m.msg = masked.get();
    return Status::Ok();
  }

  // Card numbers never reach storage, even in a body kept aside.
  std::string Redact(std::string raw) const override { return content_.MaskCards(raw); }

  Status Apply(const ReceiveContext& c, const ReceivedMessage& m, StoreTransaction&, std::vector<AuditEvent>& events,
               ReceiveFollowUps& after) const override {
    auto flag = [&](std::string action, std::string outcome, std::string details) {
      AuditEvent e{
          .tenant_id = c.tenant_id,
          .actor = AuditActor{"system", "whatsapp", "content", ""},
          .action = std::move(action),
          .subject = m.record.subject,
          .resource = "inbound:" + m.record.id,
          .outcome = std::move(outcome),
          .details = std::move(details)
      };
      events.push_back(std::move(e));
    };
    if (m.card) {
      // The tenant's notice that a customer typed a card number: no digits in it (CHAN-04).
      flag("content.pan_received", "masked", m.split_card ? R"({"split":true})" : "{}");
      if (!m.msg->from.empty()) {
        // An automated reply: it carries the opt-out footer (CONS-07). The
        // customer's language is not known here, so English.
        const std::string text = c.content_policy && !c.content_policy->pan_reply.empty()
                                     ? c.content_policy->pan_reply
                                     : std::string(kDefaultPanReply);
        after.replies.push_back({m.record.channel_id, m.msg->from, text + "\n\n" + OptOutFooter("en"),
                                 AuditActor{"system", "whatsapp", "content", ""}});
      }
    }
    // Possible PHI (SEN-02): the operator's flag; the terms stay in the sealed message.
    if (m.health) flag("content.phi_flagged", "flagged", "{}");
    return Status::Ok();
  }

 private:
  ContentGuard& content_;
};

class ConsentReceive final : public ReceiveStage {
 public:
  explicit ConsentReceive(ConsentService& consent) : consent_(consent) {}
  std::string_view name() const override { return "consent"; }

  Status Apply(const ReceiveContext& c, const ReceivedMessage& m, StoreTransaction& tx, std::vector<AuditEvent>& events,
               ReceiveFollowUps& after) const override {
    const InboundMessageRecord& r = m.record;
    if (r.subject.empty()) return Status::Ok();
    // Opt-out at every interaction (CONS-05), confirmations (CONS-01).
    InboundConsentOutcome co;
    CS_RETURN_IF_ERROR(consent_.OnInbound(tx, c.tenant_id, r.channel_id, r.subject, m.msg->text, m.msg->reply_id,
                                          r.wamid_hash, events, co));
    if (m.msg->from.empty()) return Status::Ok();
    if (co.opted_out) {
      // One non-promotional reply inside the window the STOP just opened;
      // failing to send it does not undo the opt-out.
      Result<Tenant> tenant = tx.tenants().Get(c.tenant_id);
      after.replies.push_back({r.channel_id, m.msg->from, OptOutConfirmation(co.language, tenant.ok() ? tenant->name : "us"),
                               AuditActor{"system", "consent", "consent", ""}});
    }
    // The information message at first contact; not in answer to a STOP,
    // which gets its one confirmation and nothing more (CONS-05).
    if (!co.stop_keyword) {
      CS_ASSIGN_OR_RETURN(std::optional<Notice> notice,
                          consent_.notices().ReserveInformation(tx, c.tenant_id, r.subject,
                                                                LanguageForPhone("+" + m.msg->from), r.channel_id));
      if (notice) {
        std::string text = NoticeRegistry::InformationText(*notice);
        after.informs.push_back({r.channel_id, m.msg->from, r.subject, std::move(*notice), std::move(text)});
      }
    }
    return Status::Ok();
  }

  Status ApplyMarketingStop(const ReceiveContext& c, const std::string& subject, const std::string& source,
                            StoreTransaction& tx, std::vector<AuditEvent>& events) const override {
    return consent_.OnMarketingStop(tx, c.tenant_id, subject, source, events);
  }

  // Meta's review of a template: the send gate follows it.
  Status ApplyTemplateReview(const ReceiveContext& c, const TemplateReview& review, StoreTransaction& tx,
                             std::vector<AuditEvent>& events) const override {
    return consent_.ApplyTemplateReview(tx, c.tenant_id, review, events);
  }

  // Whatever committed (or not), the consent index must re-read these subjects.
  void Settled(const std::string& tenant_id, const std::vector<std::string>& subjects) const override {
    for (const std::string& subject : subjects) consent_.Forget(tenant_id, subject);
  }

  // A failed send releases the reservation: the next contact tries again.
  void InformationSent(const std::string& tenant_id, const ReceiveFollowUps::Information& i,
                       const Result<std::string>& sent) const override {
    consent_.notices().Delivered(tenant_id, i.subject, i.notice, i.channel_id, sent).IgnoreError();
  }

 private:
  ConsentService& consent_;
};

}  // namespace

Result<ReceiveChain> ReceiveChain::Build(std::vector<std::unique_ptr<const ReceiveStage>> stages,
                                         const std::vector<std::string_view>& required) {
  ReceiveChain chain;
  for (std::unique_ptr<const ReceiveStage>& stage : stages) {
    if (stage == nullptr) return InvalidArgument("invalid_policy_stage", "a receive policy stage is null");
    chain.stages_.push_back(std::move(stage));
  }
  CS_RETURN_IF_ERROR(CheckPolicyStages("receive", chain.names(), required));
  return chain;
}

Result<ReceiveChain> ReceiveChain::ForGateway(ConsentService& consent, ContentGuard& content) {
  std::vector<std::unique_ptr<const ReceiveStage>> stages;
  stages.push_back(ContentReceiveStage(content));
  stages.push_back(ConsentReceiveStage(consent));
  return Build(std::move(stages), std::vector<std::string_view>(std::begin(kRequired), std::end(kRequired)));
}

std::vector<std::string_view> ReceiveChain::names() const {
  std::vector<std::string_view> out;
  for (const auto& stage : stages_) out.push_back(stage->name());
  return out;
}

std::string ReceiveChain::Redact(std::string raw) const {
  for (const auto& stage : stages_) raw = stage->Redact(std::move(raw));
  return raw;
}

std::unique_ptr<const ReceiveStage> ContentReceiveStage(ContentGuard& content) {
  return std::make_unique<ContentReceive>(content);
}

std::unique_ptr<const ReceiveStage> ConsentReceiveStage(ConsentService& consent) {
  return std::make_unique<ConsentReceive>(consent);
}

}  // namespace cs
