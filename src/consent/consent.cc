// The consent ledger of consent.h.
#include "consent/consent.h"

#include <algorithm>

#include "common/json_writer.h"
#include "common/sha256.h"
#include "common/strings.h"

namespace cs {

namespace {

bool IsHex64(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::string ActorName(const AuditActor& a) { return a.type + ":" + a.id; }

bool IsMarketing(const Purpose& p) { return p.category == "MARKETING"; }

// `reply` is the keyed hash of the reply's wamid (never the wamid: it
// embeds the number, and this table is append-only), or its gateway id.
std::string ReplyEvidence(std::string_view reply, std::string_view text, int64_t at_ms) {
  JsonWriter w;
  w.BeginObject().Key("reply_wamid_hash").String(reply);
  // The reply itself is not kept, only a hash of its normalised form (CONS-06).
  w.Key("reply_sha256").String(HexEncode(Sha256({NormalizeReply(text)})));
  w.Key("reply_at").String(FormatRfc3339Millis(at_ms)).EndObject();
  return w.Take();
}

// message_template_status_update names what happened, not always the
// status that results: FLAGGED (quality warning), LOCKED and the like leave
// the template sendable. Unknown events keep the status the gateway has.
std::string StatusAfterEvent(const std::string& event, const std::string& current) {
  if (event == "APPROVED" || event == "REINSTATED" || event == "UNPAUSED") return "APPROVED";
  if (event == "PAUSED" || event == "DISABLED" || event == "REJECTED" || event == "PENDING" ||
      event == "PENDING_DELETION" || event == "DELETED" || event == "ARCHIVED" || event == "IN_APPEAL") {
    return event;
  }
  return current;
}

}  // namespace

Status ConsentService::Transition(StoreTransaction& tx, const std::optional<ConsentRecord>& current,
                                  ConsentRecord next, const std::string& actor, const std::string& reason,
                                  const std::string& evidence, std::vector<AuditEvent>& events) {
  const int64_t now = clock_.NowUnixMillis();
  const std::string from = current ? current->state : "none";
  next.updated_at_ms = now;
  CS_RETURN_IF_ERROR(tx.consents().PutConsent(next, current ? current->version : 0));
  ConsentEvent e;
  e.tenant_id = next.tenant_id;
  e.subject = next.subject;
  e.purpose_id = next.purpose_id;
  e.from_state = from;
  e.to_state = next.state;
  e.at_ms = now;
  e.actor = actor;
  e.reason = reason;
  e.evidence = evidence.empty() ? "{}" : evidence;
  CS_RETURN_IF_ERROR(tx.consents().AppendConsentEvent(e));
  AuditEvent a{
      .tenant_id = next.tenant_id,
      .actor = AuditActor{actor.substr(0, actor.find(':')), actor.substr(actor.find(':') + 1), "consent", ""},
      .action = "consent." + next.state,
      .subject = next.subject,
      .purpose = next.purpose_id,
      .resource = "consent:" + next.purpose_id
  };
  JsonWriter w;
  // The audit entry seals the evidence: its hash is in the tamper-evident ledger.
  w.BeginObject().Key("from").String(from).Key("to").String(next.state).Key("reason").String(reason);
  w.Key("evidence_sha256").String(HexEncode(Sha256({e.evidence}))).EndObject();
  a.details = w.Take();
  events.push_back(std::move(a));
  return Status::Ok();
}

Result<Purpose> ConsentService::DefinePurpose(const AuditActor& actor, Purpose p) {
  static const char* kBases[] = {"consent", "contract", "legal_obligation", "vital_interests", "public_task",
                                 "legitimate_interests"};
  if (std::none_of(std::begin(kBases), std::end(kBases), [&](const char* b) { return p.legal_basis == b; })) {
    return InvalidArgument("invalid_field", "legal_basis must be one of consent, contract, legal_obligation, "
                                            "vital_interests, public_task, legitimate_interests (GDPR Art. 6(1)(a)-(f))");
  }
  if (p.category != "MARKETING" && p.category != "UTILITY" && p.category != "AUTHENTICATION") {
    return InvalidArgument("invalid_field", "category must be MARKETING, UTILITY or AUTHENTICATION");
  }
  if (p.id.empty() || p.id.size() > 64 ||
      !std::all_of(p.id.begin(), p.id.end(), [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; })) {
    return InvalidArgument("invalid_field", "purpose id must be 1-64 of [a-z0-9_]");
  }
  if (p.category == "MARKETING" && p.legal_basis != "consent") {
    // ePD Art. 13: direct marketing over messaging needs consent.
    return InvalidArgument("invalid_field", "a MARKETING purpose needs the legal basis consent");
  }
  if (p.confirmation_template.empty()) {
    return InvalidArgument("invalid_field", "confirmation_template is required: WhatsApp opt-in is confirmed by a double opt-in");
  }
  if (p.confirmation_language.empty()) p.confirmation_language = "en_US";
  p.created_at_ms = clock_.NowUnixMillis();
  CS_RETURN_IF_ERROR(store_.InTransaction([&](StoreTransaction& tx) -> Status {
    CS_RETURN_IF_ERROR(tx.consents().PutPurpose(p));
    AuditEvent e{
        .tenant_id = p.tenant_id,
        .actor = actor,
        .action = "purpose.define",
        .purpose = p.id,
        .resource = "purpose:" + p.id
    };
    JsonWriter w;
    w.BeginObject().Key("legal_basis").String(p.legal_basis).Key("category").String(p.category);
    w.Key("special_category").Bool(p.special_category).EndObject();
    e.details = w.Take();
    return ledger_.Record(tx, e);
  }));
  return p;
}

Status ConsentService::RegisterTemplate(const AuditActor& actor, TemplateRecord t) {
  if (t.category != "MARKETING" && t.category != "UTILITY" && t.category != "AUTHENTICATION") {
    return InvalidArgument("invalid_field", "category must be MARKETING, UTILITY or AUTHENTICATION");
  }
  if (t.name.empty() || t.language.empty()) return InvalidArgument("missing_field", "name and language are required");
  CS_ASSIGN_OR_RETURN(Purpose purpose, store_.consents().GetPurpose(t.tenant_id, t.purpose_id));
  if (t.category == "MARKETING" && !IsMarketing(purpose)) {
    // Otherwise a non-marketing consent (order updates) would carry marketing.
    return InvalidArgument("invalid_field", "a MARKETING template must serve a MARKETING purpose; " + purpose.id +
                                                " is " + purpose.category);
  }
  if (t.category == "MARKETING" && !t.has_optout) {
    return InvalidArgument("optout_affordance_missing",
                           "a MARKETING template needs an opt-out button or text (ePD Art. 13(2))");
  }
  t.updated_at_ms = clock_.NowUnixMillis();
  return store_.InTransaction([&](StoreTransaction& tx) -> Status {
    // A new template is taken as approved (registering states that it is);
    // registering again, e.g. for another purpose, keeps what Meta's review said.
    CS_ASSIGN_OR_RETURN(std::optional<TemplateRecord> known, tx.consents().GetTemplate(t.tenant_id, t.name, t.language));
    t.status = known ? known->status : "APPROVED";
    CS_RETURN_IF_ERROR(tx.consents().PutTemplate(t));
    AuditEvent e{
        .tenant_id = t.tenant_id,
        .actor = actor,
        .action = "template.register",
        .purpose = t.purpose_id,
        .resource = "template:" + t.name + ":" + t.language
    };
    return ledger_.Record(tx, e);
  });
}

Status ConsentService::ApplyTemplateReview(StoreTransaction& tx, const std::string& tenant_id,
                                           const TemplateReview& review, std::vector<AuditEvent>& events) {
  CS_ASSIGN_OR_RETURN(std::optional<TemplateRecord> t, tx.consents().GetTemplate(tenant_id, review.name, review.language));
  AuditEvent a{
      .tenant_id = tenant_id,
      .actor = AuditActor{"system", "whatsapp", "webhook", ""},
      .action = "template.review",
      .resource = "template:" + review.name + ":" + review.language
  };
  JsonWriter w;
  w.BeginObject();
  if (!review.status.empty()) w.Key("status").String(review.status);
  if (!review.category.empty()) w.Key("category").String(review.category);
  if (!review.announced_category.empty()) {
    w.Key("announced_category").String(review.announced_category);
    if (review.announced_at_ms > 0) w.Key("applies_at").String(FormatRfc3339Millis(review.announced_at_ms));
  }
  if (t) {
    w.Key("previous_category").String(t->category).Key("previous_status").String(t->status);
    a.purpose = t->purpose_id;
  }
  a.details = w.EndObject().Take();
  if (!t) {
    a.outcome = "unregistered";
    events.push_back(std::move(a));
    return Status::Ok();
  }
  TemplateRecord next = *t;
  if (!review.status.empty()) next.status = StatusAfterEvent(review.status, t->status);
  if (review.category == "MARKETING" || review.category == "UTILITY" || review.category == "AUTHENTICATION") {
    next.category = review.category;
  }
  if (next.category != t->category || next.status != t->status) {
    next.updated_at_ms = clock_.NowUnixMillis();
    CS_RETURN_IF_ERROR(tx.consents().PutTemplate(next));
  } else {
    a.outcome = review.announced_category.empty() ? "unchanged" : "announced";
  }
  events.push_back(std::move(a));
  return Status::Ok();
}

Result<RegisterResult> ConsentService::Register(const AuditActor& actor, const std::string& tenant_id,
                                                const std::string& subject, const std::string& purpose_id,
                                                const ConsentEvidence& ev, bool explicit_consent) {
  // For a purpose on another legal basis (contract, …) the record is the
  // WhatsApp opt-in Meta's policy requires before business-initiated messages.
  CS_ASSIGN_OR_RETURN(Purpose purpose, store_.consents().GetPurpose(tenant_id, purpose_id));
  if (purpose.special_category && !explicit_consent) {
    return PermissionDenied("explicit_consent_required",
                            "a special-category purpose needs explicit consent naming the category (GDPR Art. 9)");
  }
  if (ev.source_channel.empty() || ev.source_channel.size() > 64) {
    return InvalidArgument("invalid_field", "evidence.source_channel is required");
  }
  if (ev.notice_version.empty() || (!ev.notice_sha256.empty() && !IsHex64(ev.notice_sha256))) {
    return InvalidArgument("invalid_field", "evidence needs notice_version (and notice_sha256, if given, is 64 lowercase hex)");
  }
  const int64_t now = clock_.NowUnixMillis();
  if (ev.captured_at_ms <= 0 || ev.captured_at_ms > now + 300000) {
    return InvalidArgument("invalid_field", "evidence.captured_at must be a past time");
  }
  // DOC-07: the evidence points at a published, immutable text.
  CS_ASSIGN_OR_RETURN(Notice notice,
                      notices_.Resolve(tenant_id, ev.notice_version, ev.notice_language, ev.notice_sha256));
  if (purpose.special_category &&
      std::find(notice.special_category_purposes.begin(), notice.special_category_purposes.end(), purpose_id) ==
          notice.special_category_purposes.end()) {
    return PermissionDenied("explicit_consent_required",
                            "notice version " + notice.version + " does not name the special category of purpose " +
                                purpose_id + " (GDPR Art. 9(2)(a)): publish a version listing it in "
                                "special_category_purposes");
  }
  CS_ASSIGN_OR_RETURN(NoticeRegistry::Floor floor, notices_.ReconsentFloor(tenant_id, purpose_id));
  if (notice.seq < floor.seq) {
    return InvalidArgument("notice_superseded", "notice version " + notice.version + " is older than version " +
                                                    floor.version + ", which requires re-consent: show that one");
  }
  // Read before the transaction: the notices are not read inside it.
  CS_ASSIGN_OR_RETURN(std::vector<Notice> notices, notices_.List(tenant_id));
  RegisterResult out;
  Status s = commits_.Run([&](StoreTransaction& tx) -> Status {
    CS_ASSIGN_OR_RETURN(std::optional<ConsentRecord> current, tx.consents().GetConsent(tenant_id, subject, purpose_id));
    const int64_t given_under = current ? NoticeRegistry::SeqIn(notices, current->notice_version) : 0;
    std::string superseded;  // why a pending request is replaced
    if (current && current->state == "pending") {
      if (current->pending_expires_at_ms <= now) {
        superseded = "ttl_passed";
      } else if (given_under < floor.seq) {
        // Confirming it would give a consent retired at once (CONS-09).
        superseded = "notice_superseded";
      } else {
        // CONS-02: one request per pending record; a record whose request
        // never went out (the send failed) still needs it.
        out = {*current, current->confirmation_message_id.empty()};
        return Status::Ok();
      }
    }
    std::string reason = "registered";
    if (current && current->state == "active") {
      if (given_under >= floor.seq) {
        out = {*current, false};
        return Status::Ok();
      }
      // CONS-09: the consent predates a notice asking for re-consent; it
      // no longer counts, and is confirmed again under the new notice.
      reason = "reconsent_requested";
    }
    ConsentRecord next;
    next.tenant_id = tenant_id;
    next.subject = subject;
    next.purpose_id = purpose_id;
    next.state = "pending";
    next.updated_at_ms = now;
    next.pending_expires_at_ms = now + ttl_ms_;
    next.notice_version = notice.version;
    next.notice_hash = notice.sha256;
    next.explicit_consent = explicit_consent;
    std::vector<AuditEvent> events;
    if (current && current->state == "pending") {
      // An expired or superseded request: record its end before the new request.
      ConsentRecord expired = *current;
      expired.state = "expired";
      CS_RETURN_IF_ERROR(Transition(tx, current, expired, "system:consent", superseded, "{}", events));
      expired.version = current->version + 1;
      current = expired;
    }
    JsonWriter w;
    w.BeginObject().Key("source_channel").String(ev.source_channel).Key("source_ref").String(ev.source_ref);
    w.Key("notice_version").String(notice.version).Key("notice_language").String(notice.language);
    w.Key("notice_sha256").String(notice.sha256);
    w.Key("captured_at").String(FormatRfc3339Millis(ev.captured_at_ms)).Key("explicit").Bool(explicit_consent);
    w.Key("legal_basis").String(purpose.legal_basis).EndObject();
    CS_RETURN_IF_ERROR(Transition(tx, current, next, ActorName(actor), reason, w.str(), events));
    // The capture page showed this notice: the subject has been informed (Art. 13).
    CS_RETURN_IF_ERROR(tx.consents().PutNoticeDelivery(
        NoticeDelivery{tenant_id, subject, notice.version, notice.language, "consent_evidence", "", "", now}));
    CS_RETURN_IF_ERROR(ledger_.Append(tx.audit(), events));
    next.version = current ? current->version + 1 : 1;
    out = {next, true};
    return Status::Ok();
  });
  Forget(tenant_id, subject);
  CS_RETURN_IF_ERROR(s);
  return out;
}

Status ConsentService::MarkConfirmationSent(const std::string& tenant_id, const std::string& subject,
                                            const std::string& purpose_id, const std::string& channel_id,
                                            const std::string& message_id) {
  return commits_.Run([&](StoreTransaction& tx) -> Status {
    CS_ASSIGN_OR_RETURN(std::optional<ConsentRecord> current, tx.consents().GetConsent(tenant_id, subject, purpose_id));
    if (!current || current->state != "pending") return FailedPrecondition("conflict", "the consent is no longer pending");
    ConsentRecord next = *current;
    next.channel_id = channel_id;
    next.confirmation_message_id = message_id;
    next.updated_at_ms = clock_.NowUnixMillis();
    CS_RETURN_IF_ERROR(tx.consents().PutConsent(next, current->version));
    ConsentEvent e{0, tenant_id, subject, purpose_id, "pending", "pending", next.updated_at_ms, "system:consent",
                   "confirmation_requested", ""};
    JsonWriter w;
    w.BeginObject().Key("channel_id").String(channel_id).Key("message_id").String(message_id).EndObject();
    e.evidence = w.Take();
    return tx.consents().AppendConsentEvent(e);
  });
}

ConsentService::SendPass ConsentService::BeginSend(const std::string& tenant_id, const std::string& subject) {
  std::string key = tenant_id + "\n" + subject;
  std::unique_lock lock(fence_mu_);
  fence_cv_.wait(lock, [&] {
    auto it = fences_.find(key);
    return it == fences_.end() || it->second.changing == 0;
  });
  ++fences_[key].sending;
  return FenceTicket(this, std::move(key), /*hold=*/false);
}

ConsentService::SendHold ConsentService::HoldSends(const std::string& tenant_id, const std::string& subject) {
  std::string key = tenant_id + "\n" + subject;
  std::unique_lock lock(fence_mu_);
  // Marked first, so that sends arriving meanwhile wait behind the change
  // (a steady stream of sends cannot starve a withdrawal).
  ++fences_[key].changing;
  fence_cv_.wait(lock, [&] { return fences_[key].sending == 0; });
  return FenceTicket(this, std::move(key), /*hold=*/true);
}

ConsentService::FenceTicket::~FenceTicket() {
  if (owner_ != nullptr) owner_->EndFence(key_, hold_);
}

void ConsentService::EndFence(const std::string& key, bool hold) {
  std::lock_guard lock(fence_mu_);
  auto it = fences_.find(key);
  if (it == fences_.end()) return;
  --(hold ? it->second.changing : it->second.sending);
  if (it->second.changing == 0 && it->second.sending == 0) fences_.erase(it);
  fence_cv_.notify_all();
}

Status ConsentService::Withdraw(const AuditActor& actor, const std::string& tenant_id, const std::string& subject,
                                const std::string& purpose_id, const std::string& reason) {
  CS_ASSIGN_OR_RETURN(std::vector<Purpose> purposes, store_.consents().ListPurposes(tenant_id));
  if (!purpose_id.empty() &&
      std::none_of(purposes.begin(), purposes.end(), [&](const Purpose& p) { return p.id == purpose_id; })) {
    return NotFound("no such purpose");
  }
  // Sends of this subject already past their last check reach the provider
  // before the withdrawal commits; later ones see it (CONS-04).
  SendHold hold = HoldSends(tenant_id, subject);
  Status s = commits_.Run([&](StoreTransaction& tx) -> Status {
    std::vector<AuditEvent> events;
    for (const Purpose& p : purposes) {
      if (purpose_id.empty() ? !IsMarketing(p) : p.id != purpose_id) continue;
      CS_ASSIGN_OR_RETURN(std::optional<ConsentRecord> current, tx.consents().GetConsent(tenant_id, subject, p.id));
      if (!current || (current->state != "active" && current->state != "pending")) continue;
      ConsentRecord next = *current;
      next.state = current->state == "active" ? "withdrawn" : "declined";
      CS_RETURN_IF_ERROR(Transition(tx, current, next, ActorName(actor), reason, "{}", events));
    }
    return ledger_.Append(tx.audit(), events);
  });
  Forget(tenant_id, subject);
  return s;
}

Status ConsentService::OnMarketingStop(StoreTransaction& tx, const std::string& tenant_id, const std::string& subject,
                                       const std::string& source, std::vector<AuditEvent>& events) {
  CS_ASSIGN_OR_RETURN(std::vector<ConsentRecord> all, tx.consents().SubjectConsents(tenant_id, subject));
  for (const ConsentRecord& c : all) {
    if (c.state != "active" && c.state != "pending") continue;
    CS_ASSIGN_OR_RETURN(Purpose p, tx.consents().GetPurpose(tenant_id, c.purpose_id));
    if (!IsMarketing(p)) continue;
    ConsentRecord next = c;
    next.state = c.state == "active" ? "withdrawn" : "declined";
    CS_RETURN_IF_ERROR(Transition(tx, c, next, "subject:" + subject, source, "{}", events));
  }
  return Status::Ok();
}

Status ConsentService::OnErasure(StoreTransaction& tx, const std::string& tenant_id, const std::string& subject,
                                 const AuditActor& actor, std::vector<AuditEvent>& events) {
  CS_ASSIGN_OR_RETURN(std::vector<ConsentRecord> all, tx.consents().SubjectConsents(tenant_id, subject));
  for (const ConsentRecord& c : all) {
    if (c.state != "active" && c.state != "pending") continue;
    ConsentRecord next = c;
    next.state = c.state == "active" ? "withdrawn" : "declined";
    CS_RETURN_IF_ERROR(Transition(tx, c, next, ActorName(actor), "erasure", "{}", events));
  }
  // Should the person write again, they are a first contact and are informed again.
  return tx.consents().DeleteNoticeDeliveries(tenant_id, subject);
}

Status ConsentService::OnInbound(StoreTransaction& tx, const std::string& tenant_id, const std::string& channel_id,
                                 const std::string& subject, std::string_view text, std::string_view payload,
                                 const std::string& reply_ref, std::vector<AuditEvent>& events,
                                 InboundConsentOutcome& outcome) {
  const ReplyMeaning meaning = ClassifyReply(text, payload);
  const int64_t now = clock_.NowUnixMillis();
  CS_ASSIGN_OR_RETURN(std::vector<ConsentRecord> all, tx.consents().SubjectConsents(tenant_id, subject));
  const std::string evidence = ReplyEvidence(reply_ref, text, now);
  const std::string actor = "subject:" + subject;
  if (meaning.intent == ReplyIntent::kOptOut) {
    // Liberal on opt-out (CONS-05): marketing is withdrawn, pending requests declined.
    bool changed = false;
    for (const ConsentRecord& c : all) {
      if (c.state != "active" && c.state != "pending") continue;
      CS_ASSIGN_OR_RETURN(Purpose p, tx.consents().GetPurpose(tenant_id, c.purpose_id));
      if (c.state == "active" && !IsMarketing(p)) continue;
      ConsentRecord next = c;
      next.state = c.state == "active" ? "withdrawn" : "declined";
      CS_RETURN_IF_ERROR(Transition(tx, c, next, actor, "stop_keyword", evidence, events));
      changed = true;
    }
    // One confirmation per opt-out that changed something, not per keyword.
    outcome.opted_out = changed;
    outcome.stop_keyword = true;
    outcome.language = meaning.language;
    return Status::Ok();
  }
  auto reject = [&](const ConsentRecord& c, const std::string& reason) {
    // B-37: no change, but the attempt is on record.
    AuditEvent a{
        .tenant_id = tenant_id,
        .actor = AuditActor{"subject", subject, "consent", ""},
        .action = "consent.confirm_rejected",
        .subject = subject,
        .purpose = c.purpose_id,
        .resource = "consent:" + c.purpose_id,
        .outcome = reason
    };
    events.push_back(std::move(a));
  };
  // The pending requests this reply can answer.
  std::vector<const ConsentRecord*> answerable;
  for (const ConsentRecord& c : all) {
    if (c.state != "pending") continue;
    if (!meaning.purpose.empty() && c.purpose_id != meaning.purpose) continue;
    std::string rejected;
    if (c.confirmation_message_id.empty()) rejected = "not_requested";
    else if (c.channel_id != channel_id) rejected = "other_business_number";
    else if (now > c.pending_expires_at_ms) rejected = "expired";
    else if (meaning.intent == ReplyIntent::kNone) rejected = "not_affirmative";
    if (rejected.empty()) {
      answerable.push_back(&c);
      continue;
    }
    reject(c, rejected);
    if (rejected == "expired") {
      ConsentRecord next = c;
      next.state = "expired";
      CS_RETURN_IF_ERROR(Transition(tx, c, next, "system:consent", "ttl_passed", "{}", events));
    }
  }
  // A typed YES while several purposes wait would consent to all of them at
  // once: that is bundling (CONS-08). Only a button names its purpose.
  if (answerable.size() > 1 && meaning.purpose.empty()) {
    for (const ConsentRecord* c : answerable) reject(*c, "ambiguous_reply");
    return Status::Ok();
  }
  for (const ConsentRecord* c : answerable) {
    ConsentRecord next = *c;
    next.state = meaning.intent == ReplyIntent::kAffirm ? "active" : "declined";
    CS_RETURN_IF_ERROR(Transition(tx, *c, next, actor,
                                  meaning.intent == ReplyIntent::kAffirm ? "reply_affirmative" : "reply_negative",
                                  evidence, events));
  }
  return Status::Ok();
}

std::string_view GateRefusalName(GateRefusal refusal) {
  switch (refusal) {
    case GateRefusal::kNone: return "";
    case GateRefusal::kTemplateUnregistered: return "template_unregistered";
    case GateRefusal::kTemplateNotApproved: return "template_not_approved";
    case GateRefusal::kTemplateRecategorised: return "template_recategorised";
    case GateRefusal::kOptOutMissing: return "optout_affordance_missing";
    case GateRefusal::kNoConsent: return "no_active_consent";
    case GateRefusal::kReconsent: return "reconsent";
  }
  return "";
}

Result<std::string> ConsentService::CheckTemplateSend(const std::string& tenant_id, const std::string& subject,
                                                      const std::string& name, const std::string& language,
                                                      GateRefusal* why) {
  GateRefusal ignored;
  GateRefusal& reason = why != nullptr ? *why : ignored;
  reason = GateRefusal::kNone;
  CS_ASSIGN_OR_RETURN(std::optional<TemplateRecord> t, store_.consents().GetTemplate(tenant_id, name, language));
  if (!t) {
    reason = GateRefusal::kTemplateUnregistered;
    return PermissionDenied("consent_required",
                            "the template is not registered: its category and purpose are unknown, so no consent "
                            "can cover it (POST /v1/templates)");
  }
  if (t->status != "APPROVED") {
    reason = GateRefusal::kTemplateNotApproved;
    return FailedPrecondition("template_not_approved",
                              "Meta reports this template as " + t->status + ": it cannot be sent until approved");
  }
  if (t->category == "MARKETING") {
    // Meta may move a template to MARKETING after approval; the consent for
    // the purpose it was registered for does not cover marketing.
    CS_ASSIGN_OR_RETURN(Purpose purpose, store_.consents().GetPurpose(tenant_id, t->purpose_id));
    if (!IsMarketing(purpose)) {
      reason = GateRefusal::kTemplateRecategorised;
      return PermissionDenied("consent_required", "Meta categorises this template as MARKETING, but it is registered "
                                                  "for the purpose " + purpose.id + ", which does not cover marketing: "
                                                  "register it for a marketing purpose");
    }
  }
  if (t->category == "MARKETING" && !t->has_optout) {
    reason = GateRefusal::kOptOutMissing;
    return InvalidArgument("optout_affordance_missing", "a MARKETING template needs an opt-out button or text");
  }
  CS_ASSIGN_OR_RETURN(Standing standing, Evaluate(tenant_id, subject, t->purpose_id));
  if (standing == Standing::kReconsent) {
    reason = GateRefusal::kReconsent;
    CS_ASSIGN_OR_RETURN(NoticeRegistry::Floor floor, notices_.ReconsentFloor(tenant_id, t->purpose_id));
    return PermissionDenied("consent_required", "consent for purpose " + t->purpose_id +
                                                    " was given under an older notice; notice version " +
                                                    floor.version + " requires re-consent (reconsent)");
  }
  if (standing != Standing::kActive) {
    reason = GateRefusal::kNoConsent;
    return PermissionDenied("consent_required", "subject " + subject + " has no active consent for purpose " +
                                                    t->purpose_id + "; see GET /v1/subjects/" + subject +
                                                    "/consents, and register one with POST /v1/consents");
  }
  return t->purpose_id;
}

Result<bool> ConsentService::IsActive(const std::string& tenant_id, const std::string& subject,
                                      const std::string& purpose_id) {
  CS_ASSIGN_OR_RETURN(Standing standing, Evaluate(tenant_id, subject, purpose_id));
  return standing == Standing::kActive;
}

Result<ConsentService::Indexed> ConsentService::ReadIndexed(const std::string& tenant_id, const ConsentRecord* c,
                                                             const std::string& purpose_id) {
  Indexed out{purpose_id, c != nullptr && c->state == "active", 0};
  if (out.active) {
    CS_ASSIGN_OR_RETURN(out.notice_seq, notices_.SeqOf(tenant_id, c->notice_version));
  }
  return out;
}

void ConsentService::ClearIndexLocked() {
  index_.clear();
  complete_tenants_.clear();
  ++clear_epoch_;
}

Result<ConsentService::Standing> ConsentService::Evaluate(const std::string& tenant_id, const std::string& subject,
                                                          const std::string& purpose_id) {
  std::string key = tenant_id + "\n" + subject;
  std::optional<Indexed> known;
  uint64_t generation;
  {
    std::lock_guard lock(index_mu_);
    auto it = index_.find(key);
    if (it != index_.end() && !it->second.stale) {
      for (const Indexed& entry : it->second.purposes) {
        if (entry.purpose_id == purpose_id) known = entry;
      }
      if (!known && it->second.complete) known = Indexed{purpose_id, false, 0};
    } else if (it == index_.end() && complete_tenants_.count(tenant_id) != 0) {
      known = Indexed{purpose_id, false, 0};  // preloaded: no record at all
    }
    generation = generation_;
  }
  if (!known) {
    CS_ASSIGN_OR_RETURN(std::optional<ConsentRecord> c, store_.consents().GetConsent(tenant_id, subject, purpose_id));
    CS_ASSIGN_OR_RETURN(Indexed read, ReadIndexed(tenant_id, c ? &*c : nullptr, purpose_id));
    known = read;
    std::lock_guard lock(index_mu_);
    if (generation_ == generation) {  // no change committed meanwhile: the answer may be kept
      if (index_.size() >= kMaxIndexedSubjects) ClearIndexLocked();
      SubjectEntry& entry = index_[key];
      if (entry.stale) entry = SubjectEntry{};
      entry.purposes.push_back(*known);
    }
  }
  if (!known->active) return Standing::kNone;
  // CONS-09: a notice version asking for re-consent retires older consents.
  CS_ASSIGN_OR_RETURN(NoticeRegistry::Floor floor, notices_.ReconsentFloor(tenant_id, purpose_id));
  return known->notice_seq >= floor.seq ? Standing::kActive : Standing::kReconsent;
}

void ConsentService::Forget(const std::string& tenant_id, const std::string& subject) {
  std::lock_guard lock(index_mu_);
  ++generation_;
  std::string key = tenant_id + "\n" + subject;
  if (complete_tenants_.count(tenant_id) != 0 || preloading_tenants_.count(tenant_id) != 0) {
    // Missing would mean "no consent" here: keep a marker that says "read again".
    if (index_.size() >= kMaxIndexedSubjects) ClearIndexLocked();
    index_[key] = SubjectEntry{true, false, {}};
  } else {
    index_.erase(key);
  }
}

Status ConsentService::Preload(const std::string& tenant_id) {
  uint64_t epoch;
  {
    std::lock_guard lock(index_mu_);
    if (complete_tenants_.count(tenant_id) != 0 || preloading_tenants_.count(tenant_id) != 0) return Status::Ok();
    preloading_tenants_.insert(tenant_id);
    epoch = clear_epoch_;
  }
  auto finish = [&](bool complete) {
    std::lock_guard lock(index_mu_);
    preloading_tenants_.erase(tenant_id);
    // A clear meanwhile dropped part of what was loaded: not complete then.
    if (complete && clear_epoch_ == epoch) complete_tenants_.insert(tenant_id);
  };
  constexpr int kPage = 5000;
  std::string after_subject, after_purpose;
  std::string pending_subject;  // its rows may continue on the next page
  SubjectEntry pending;
  auto install = [&](const std::string& subject, SubjectEntry entry) -> Status {
    std::lock_guard lock(index_mu_);
    if (clear_epoch_ != epoch) return ResourceExhausted("index_full", "the consent index was cleared during the preload");
    if (index_.size() >= kMaxIndexedSubjects) {
      return ResourceExhausted("index_full", "the tenant has more subjects than the consent index holds");
    }
    // An entry already there is at least as fresh (a check or a change
    // after this row was read): never overwrite it with the older read.
    index_.emplace(tenant_id + "\n" + subject, std::move(entry));
    return Status::Ok();
  };
  while (!stopping_.load()) {
    Result<std::vector<ConsentRecord>> page = store_.consents().ConsentsPage(tenant_id, after_subject, after_purpose, kPage);
    if (!page.ok()) {
      finish(false);
      return page.status();
    }
    for (const ConsentRecord& c : *page) {
      if (c.subject != pending_subject) {
        if (!pending_subject.empty()) {
          Status s = install(pending_subject, std::move(pending));
          if (!s.ok()) {
            finish(false);
            return s;
          }
        }
        pending_subject = c.subject;
        pending = SubjectEntry{false, true, {}};
      }
      Result<Indexed> read = ReadIndexed(tenant_id, &c, c.purpose_id);
      if (!read.ok()) {
        finish(false);
        return read.status();
      }
      pending.purposes.push_back(std::move(*read));
    }
    if (page->size() < static_cast<size_t>(kPage)) {
      Status s = pending_subject.empty() ? Status::Ok() : install(pending_subject, std::move(pending));
      finish(s.ok());
      return s;
    }
    after_subject = page->back().subject;
    after_purpose = page->back().purpose_id;
  }
  finish(false);
  return Status::Ok();
}

bool ConsentService::IsIndexComplete(const std::string& tenant_id) {
  std::lock_guard lock(index_mu_);
  return complete_tenants_.count(tenant_id) != 0;
}

void ConsentService::PreloadInBackground(std::vector<std::string> tenant_ids) {
  if (preload_thread_.joinable()) return;
  preload_thread_ = std::thread([this, tenants = std::move(tenant_ids)] {
    for (const std::string& t : tenants) {
      if (stopping_.load()) return;
      // A tenant too large for the index keeps the lazy index; nothing is lost.
      Preload(t).IgnoreError();
    }
  });
}

void ConsentService::Stop() {
  stopping_ = true;
  if (preload_thread_.joinable()) preload_thread_.join();
}

ConsentService::~ConsentService() { Stop(); }

Status ConsentService::CheckConfirmationSend(const std::string& tenant_id, const std::string& subject,
                                             const std::string& purpose_id, const std::string& name,
                                             const std::string& language) {
  CS_ASSIGN_OR_RETURN(std::optional<TemplateRecord> t, store_.consents().GetTemplate(tenant_id, name, language));
  if (!t) return PermissionDenied("consent_required", "the confirmation template is not registered");
  if (t->category != "UTILITY") {
    return FailedPrecondition("confirmation_template_miscategorised",
                              "the confirmation template must be UTILITY as Meta categorised it; it is " + t->category);
  }
  CS_ASSIGN_OR_RETURN(std::optional<ConsentRecord> c, store_.consents().GetConsent(tenant_id, subject, purpose_id));
  if (!c || c->state != "pending") return FailedPrecondition("conflict", "the consent is not pending");
  return Status::Ok();
}

Status ConsentService::RecordSaleSharingChange(StoreTransaction& tx, const AuditActor& actor, const ConsentEvent& e) {
  CS_RETURN_IF_ERROR(tx.consents().AppendConsentEvent(e));
  AuditEvent a{
      .tenant_id = e.tenant_id,
      .actor = actor,
      .action = "privacy.sale_sharing_" + std::string(e.to_state == "opted_out" ? "opt_out" : "opt_in"),
      .subject = e.subject,
      .purpose = e.purpose_id,
      .resource = "subject:" + e.subject,
      .details = e.evidence
  };
  return ledger_.Record(tx, a);
}

Result<SaleSharingChoice> ConsentService::OptOutOfSaleSharing(const AuditActor& actor, const std::string& tenant_id,
                                                               const std::string& subject, const std::string& source,
                                                               bool gpc) {
  SaleSharingChoice out;
  Status s = commits_.Run([&](StoreTransaction& tx) -> Status {
    CS_ASSIGN_OR_RETURN(std::optional<SaleSharingChoice> current, tx.consents().GetSaleSharing(tenant_id, subject));
    const int64_t now = clock_.NowUnixMillis();
    if (current && current->opted_out) {
      out = *current;  // already honoured; the 12 months run from the first opt-out
      return Status::Ok();
    }
    out = SaleSharingChoice{tenant_id, subject, true, gpc, source, now, now};
    CS_RETURN_IF_ERROR(tx.consents().PutSaleSharing(out));
    JsonWriter w;
    w.BeginObject().Key("source").String(source).Key("gpc").Bool(gpc).EndObject();
    return RecordSaleSharingChange(tx, actor, ConsentEvent{0, tenant_id, subject, std::string(kSaleSharingPurpose),
                                                           current ? "opted_in" : "none", "opted_out", now,
                                                           ActorName(actor), gpc ? "gpc_signal" : "opt_out_request",
                                                           w.Take()});
  });
  CS_RETURN_IF_ERROR(s);
  return out;
}

Result<SaleSharingChoice> ConsentService::OptInToSaleSharing(const AuditActor& actor, const std::string& tenant_id,
                                                              const std::string& subject,
                                                              const SaleSharingOptIn& request) {
  static constexpr int64_t kResolicitBlockMs = 365LL * 24 * 3600 * 1000;
  const bool business_initiated = request.business_initiated;
  if (!business_initiated) {
    // Otherwise "the subject asked" would be a way around the 12 months.
    const int64_t now = clock_.NowUnixMillis();
    if (request.source_channel.empty() || request.source_channel.size() > 64 || request.captured_at_ms <= 0 ||
        request.captured_at_ms > now + 300000) {
      return InvalidArgument("invalid_field", "a subject's own opt-in needs evidence: source_channel and captured_at");
    }
  }
  SaleSharingChoice out;
  Status s = commits_.Run([&](StoreTransaction& tx) -> Status {
    CS_ASSIGN_OR_RETURN(std::optional<SaleSharingChoice> current, tx.consents().GetSaleSharing(tenant_id, subject));
    const int64_t now = clock_.NowUnixMillis();
    if (!current || !current->opted_out) {
      out = current.value_or(SaleSharingChoice{tenant_id, subject, false, false, "", 0, now});
      return Status::Ok();
    }
    if (business_initiated && now - current->opted_out_at_ms < kResolicitBlockMs) {
      return FailedPrecondition("resolicit_too_early",
                                "the subject opted out of sale or sharing on " +
                                    FormatRfc3339Millis(current->opted_out_at_ms) +
                                    "; the business may not ask again for 12 months (CCPA, 11 CCR 7026(k))");
    }
    out = *current;
    out.opted_out = false;
    out.gpc = false;
    out.source = business_initiated ? "business_request" : "subject_request";
    out.updated_at_ms = now;
    CS_RETURN_IF_ERROR(tx.consents().PutSaleSharing(out));
    JsonWriter w;
    w.BeginObject().Key("initiated_by").String(business_initiated ? "business" : "subject");
    if (!business_initiated) {
      w.Key("source_channel").String(request.source_channel).Key("source_ref").String(request.source_ref);
      w.Key("captured_at").String(FormatRfc3339Millis(request.captured_at_ms));
    }
    w.EndObject();
    return RecordSaleSharingChange(tx, actor, ConsentEvent{0, tenant_id, subject, std::string(kSaleSharingPurpose),
                                                           "opted_out", "opted_in", now, ActorName(actor),
                                                           "opt_in_request", w.Take()});
  });
  CS_RETURN_IF_ERROR(s);
  return out;
}

Result<bool> ConsentService::SaleSharingOptedOut(const std::string& tenant_id, const std::string& subject) {
  CS_ASSIGN_OR_RETURN(std::optional<SaleSharingChoice> c, store_.consents().GetSaleSharing(tenant_id, subject));
  return c.has_value() && c->opted_out;
}

Result<ConsentProof> ConsentService::Proof(const std::string& tenant_id, const std::string& subject) {
  return LoadConsentProof(store_, clock_, tenant_id, subject);
}

Result<ConsentProof> LoadConsentProof(Store& store, const Clock& clock, const std::string& tenant_id,
                                      const std::string& subject) {
  ConsentProof proof;
  proof.tenant_id = tenant_id;
  proof.subject = subject;
  proof.generated_at_ms = clock.NowUnixMillis();
  CS_ASSIGN_OR_RETURN(Tenant tenant, store.tenants().Get(tenant_id));
  proof.tenant_name = tenant.name;
  CS_ASSIGN_OR_RETURN(proof.consents, store.consents().SubjectConsents(tenant_id, subject));
  CS_ASSIGN_OR_RETURN(proof.events, store.consents().ConsentEvents(tenant_id, subject));
  CS_ASSIGN_OR_RETURN(proof.sale_sharing, store.consents().GetSaleSharing(tenant_id, subject));
  // The exact texts the history refers to (CONS-06: stored once per version).
  std::vector<std::pair<std::string, std::string>> referenced;  // (version, sha256)
  for (const ConsentRecord& c : proof.consents) referenced.emplace_back(c.notice_version, c.notice_hash);
  CS_ASSIGN_OR_RETURN(std::vector<Notice> notices, store.consents().ListNotices(tenant_id));
  for (const ConsentEvent& e : proof.events) {
    for (const Notice& n : notices) {
      if (e.evidence.find("\"notice_sha256\":\"" + n.sha256 + "\"") != std::string::npos) {
        referenced.emplace_back(n.version, n.sha256);
      }
    }
  }
  for (const Notice& n : notices) {
    if (std::any_of(referenced.begin(), referenced.end(),
                    [&](const auto& r) { return r.first == n.version && r.second == n.sha256; })) {
      proof.notices.push_back(n);
    }
  }
  return proof;
}

std::string ConsentProofJson(const ConsentProof& proof) {
  JsonWriter w;
  w.BeginObject().Key("subject").String(proof.subject).Key("tenant").String(proof.tenant_id);
  w.Key("generated_at").String(FormatRfc3339Millis(proof.generated_at_ms));
  w.Key("consents").BeginArray();
  for (const ConsentRecord& c : proof.consents) {
    w.BeginObject().Key("purpose").String(c.purpose_id).Key("state").String(c.state);
    w.Key("updated_at").String(FormatRfc3339Millis(c.updated_at_ms));
    if (c.state == "pending") w.Key("expires_at").String(FormatRfc3339Millis(c.pending_expires_at_ms));
    w.Key("notice_version").String(c.notice_version).Key("notice_sha256").String(c.notice_hash);
    w.Key("explicit").Bool(c.explicit_consent).EndObject();
  }
  w.EndArray().Key("sale_sharing").BeginObject();
  const bool opted_out = proof.sale_sharing && proof.sale_sharing->opted_out;
  w.Key("opted_out").Bool(opted_out);
  if (opted_out) {
    w.Key("since").String(FormatRfc3339Millis(proof.sale_sharing->opted_out_at_ms));
    w.Key("gpc").Bool(proof.sale_sharing->gpc).Key("source").String(proof.sale_sharing->source);
  }
  w.EndObject().Key("history").BeginArray();
  for (const ConsentEvent& e : proof.events) {
    w.BeginObject().Key("seq").Int(e.seq).Key("time").String(FormatRfc3339Millis(e.at_ms));
    w.Key("purpose").String(e.purpose_id).Key("from").String(e.from_state).Key("to").String(e.to_state);
    w.Key("actor").String(e.actor).Key("reason").String(e.reason).Key("evidence").Raw(e.evidence.empty() ? "{}" : e.evidence);
    w.EndObject();
  }
  w.EndArray().Key("notices").BeginArray();
  for (const Notice& n : proof.notices) {
    w.BeginObject().Key("version").String(n.version).Key("language").String(n.language);
    w.Key("sha256").String(n.sha256).Key("valid_from").String(FormatRfc3339Millis(n.valid_from_ms));
    w.Key("text").String(n.text).EndObject();
  }
  w.EndArray().EndObject();
  return w.Take();
}

}  // namespace cs
