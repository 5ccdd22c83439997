// The consent routes of consent_routes.h.
#include "api/consent_routes.h"

#include <algorithm>

#include "common/json_writer.h"
#include "common/strings.h"
#include "consent/proof_pdf.h"
#include "messaging/forwarding.h"
#include "messaging/sending.h"
#include "vault/erasure.h"
#include "vault/keyring.h"
#include "vault/keys.h"
#include "vault/phone.h"

namespace cs::api_internal {

namespace {

std::string PurposeJson(const Purpose& p) {
  JsonWriter w;
  w.BeginObject().Key("id").String(p.id).Key("name").String(p.name).Key("legal_basis").String(p.legal_basis);
  w.Key("category").String(p.category).Key("special_category").Bool(p.special_category);
  w.Key("confirmation_template").BeginObject().Key("name").String(p.confirmation_template);
  w.Key("language").String(p.confirmation_language).EndObject();
  w.Key("created_at").String(FormatRfc3339Millis(p.created_at_ms)).EndObject();
  return w.Take();
}

std::string TemplateJson(const TemplateRecord& t) {
  JsonWriter w;
  w.BeginObject().Key("name").String(t.name).Key("language").String(t.language).Key("category").String(t.category);
  w.Key("purpose").String(t.purpose_id).Key("has_optout").Bool(t.has_optout).Key("status").String(t.status);
  w.Key("updated_at").String(FormatRfc3339Millis(t.updated_at_ms)).EndObject();
  return w.Take();
}

std::string ConsentJson(const ConsentRecord& c) {
  JsonWriter w;
  w.BeginObject().Key("subject").String(c.subject).Key("purpose").String(c.purpose_id).Key("state").String(c.state);
  if (c.state == "pending") w.Key("expires_at").String(FormatRfc3339Millis(c.pending_expires_at_ms));
  if (!c.confirmation_message_id.empty()) w.Key("confirmation_message_id").String(c.confirmation_message_id);
  w.Key("notice_version").String(c.notice_version).Key("updated_at").String(FormatRfc3339Millis(c.updated_at_ms));
  w.EndObject();
  return w.Take();
}

// The subject pseudonym of a phone number given in a body (never in a URL).
Result<std::string> SubjectOf(const ConsentRouteDeps& d, const std::string& tenant_id, const std::string& phone,
                              std::string* e164_out) {
  Result<std::string> e164 = NormalizePhone(phone);
  if (!e164.ok()) return InvalidArgument("invalid_phone", "phone is not a valid phone number");
  if (e164_out != nullptr) *e164_out = *e164;
  return d.keyring->Pseudonym(tenant_id, *e164);
}

// The subject a body names: by "phone" (pseudonymised here) or by "subject".
Result<std::string> SubjectFromBody(const ConsentRouteDeps& d, const std::string& tenant_id,
                                    const std::optional<std::string>& phone,
                                    const std::optional<std::string>& subject) {
  if (phone) return SubjectOf(d, tenant_id, *phone, nullptr);
  // Anything else (a number typed into the wrong field) would be stored as is.
  if (subject && !IsSubjectPseudonym(*subject)) {
    return InvalidArgument("invalid_subject", "subject must be a pseudonym: sub_ and 64 hex characters");
  }
  if (subject) return *subject;
  return InvalidArgument("missing_field", "give phone or subject");
}

// Where and when a choice was captured: the fields every evidence object
// shares (the caller reads its own and calls Finish).
struct Capture {
  std::string source_channel;
  std::string source_ref;
  int64_t captured_at_ms = 0;
};

Result<Capture> ReadCapture(ObjectReader& ev) {
  Capture c;
  CS_ASSIGN_OR_RETURN(c.source_channel, ev.RequiredString("source_channel"));
  CS_ASSIGN_OR_RETURN(auto ref, ev.OptionalString("source_ref"));
  CS_ASSIGN_OR_RETURN(std::string captured, ev.RequiredString("captured_at"));
  c.source_ref = ref.value_or("");
  std::optional<int64_t> ms = ParseRfc3339Millis(captured);
  if (!ms) return InvalidArgument("invalid_field", "evidence.captured_at must be an RFC 3339 time");
  c.captured_at_ms = *ms;
  return c;
}

bool GpcHeader(const HttpRequest& req) {
  const std::string* h = req.Header("sec-gpc");
  return h != nullptr && TrimAscii(*h) == "1";
}

std::string NoticeJson(const Notice& n, bool with_text) {
  JsonWriter w;
  w.BeginObject().Key("version").String(n.version).Key("language").String(n.language).Key("seq").Int(n.seq);
  w.Key("sha256").String(n.sha256).Key("requires_reconsent").Bool(n.requires_reconsent);
  w.Key("reconsent_purposes").BeginArray();
  for (const std::string& id : n.reconsent_purposes) w.String(id);
  w.EndArray().Key("special_category_purposes").BeginArray();
  for (const std::string& id : n.special_category_purposes) w.String(id);
  w.EndArray().Key("valid_from").String(FormatRfc3339Millis(n.valid_from_ms));
  w.Key("created_at").String(FormatRfc3339Millis(n.created_at_ms)).Key("created_by").String(n.created_by);
  if (with_text) w.Key("text").String(n.text).Key("info_message").String(n.info_message);
  w.EndObject();
  return w.Take();
}

std::string SaleSharingJson(const SaleSharingChoice& c) {
  JsonWriter w;
  w.BeginObject().Key("subject").String(c.subject).Key("opted_out").Bool(c.opted_out);
  if (c.opted_out_at_ms > 0) w.Key("last_opt_out_at").String(FormatRfc3339Millis(c.opted_out_at_ms));
  if (c.opted_out) w.Key("gpc").Bool(c.gpc);
  if (!c.source.empty()) w.Key("source").String(c.source);
  w.EndObject();
  return w.Take();
}

}  // namespace

Result<HttpResponse> PublishNotice(const ConsentRouteDeps& d, const HttpRequest& req, const Principal& p,
                                   const AuditActor& actor) {
  if (d.consent == nullptr) return MessagingDisabled();
  CS_ASSIGN_OR_RETURN(JsonObjectBody body, JsonObjectBody::Decode(req, d.json_limits));
  ObjectReader& r = body.reader();
  Notice n;
  n.tenant_id = p.tenant_id;
  CS_ASSIGN_OR_RETURN(n.version, r.RequiredString("version"));
  CS_ASSIGN_OR_RETURN(n.language, r.RequiredString("language"));
  CS_ASSIGN_OR_RETURN(n.text, r.RequiredString("text"));
  CS_ASSIGN_OR_RETURN(n.info_message, r.RequiredString("info_message"));
  CS_ASSIGN_OR_RETURN(auto reconsent, r.OptionalBool("requires_reconsent"));
  CS_ASSIGN_OR_RETURN(auto reconsent_purposes, r.OptionalStringArray("reconsent_purposes"));
  CS_ASSIGN_OR_RETURN(auto special, r.OptionalStringArray("special_category_purposes"));
  CS_ASSIGN_OR_RETURN(auto valid_from, r.OptionalString("valid_from"));
  CS_RETURN_IF_ERROR(r.Finish());
  n.requires_reconsent = reconsent.value_or(false);
  n.reconsent_purposes = reconsent_purposes.value_or(std::vector<std::string>{});
  n.special_category_purposes = special.value_or(std::vector<std::string>{});
  if (valid_from) {
    std::optional<int64_t> ms = ParseRfc3339Millis(*valid_from);
    if (!ms) return InvalidArgument("invalid_field", "valid_from must be an RFC 3339 time");
    n.valid_from_ms = *ms;
  }
  CS_ASSIGN_OR_RETURN(Notice stored, d.consent->notices().Publish(actor, n));
  return JsonResponse(201, NoticeJson(stored, true));
}

Result<HttpResponse> ListNotices(const ConsentRouteDeps& d, const Principal& p) {
  if (d.consent == nullptr) return MessagingDisabled();
  CS_ASSIGN_OR_RETURN(std::vector<Notice> all, d.consent->notices().List(p.tenant_id));
  return ListResponse("notices", all, [](const Notice& n) { return NoticeJson(n, true); });
}

Result<HttpResponse> SaleSharingChoiceRoute(const ConsentRouteDeps& d, const HttpRequest& req, const Principal& p,
                                            const AuditActor& actor, bool opt_out) {
  if (d.consent == nullptr) return MessagingDisabled();
  CS_ASSIGN_OR_RETURN(JsonObjectBody body, JsonObjectBody::Decode(req, d.json_limits));
  ObjectReader& r = body.reader();
  CS_ASSIGN_OR_RETURN(auto phone, r.OptionalString("phone"));
  CS_ASSIGN_OR_RETURN(auto subject_in, r.OptionalString("subject"));
  std::optional<bool> gpc;
  std::optional<std::string> initiated_by;
  SaleSharingOptIn opt_in;
  if (opt_out) {
    CS_ASSIGN_OR_RETURN(gpc, r.OptionalBool("gpc"));
  } else {
    CS_ASSIGN_OR_RETURN(initiated_by, r.OptionalString("initiated_by"));
    CS_ASSIGN_OR_RETURN(const JsonValue* evidence, r.OptionalObject("evidence"));
    if (evidence != nullptr) {
      CS_ASSIGN_OR_RETURN(ObjectReader ev, ObjectReader::Create(*evidence, "body.evidence"));
      CS_ASSIGN_OR_RETURN(Capture capture, ReadCapture(ev));
      CS_RETURN_IF_ERROR(ev.Finish());
      opt_in.source_channel = std::move(capture.source_channel);
      opt_in.source_ref = std::move(capture.source_ref);
      opt_in.captured_at_ms = capture.captured_at_ms;
    }
  }
  CS_RETURN_IF_ERROR(r.Finish());
  if (phone && subject_in) return InvalidArgument("ambiguous_input", "give phone or subject, not both");
  CS_ASSIGN_OR_RETURN(std::string subject, SubjectFromBody(d, p.tenant_id, phone, subject_in));
  if (opt_out) {
    // No identity verification or account is needed for an opt-out (CCPA §7026(d)).
    const bool signal = gpc.value_or(false) || GpcHeader(req);
    CS_ASSIGN_OR_RETURN(SaleSharingChoice c, d.consent->OptOutOfSaleSharing(actor, p.tenant_id, subject,
                                                                            signal ? "gpc_signal" : "request", signal));
    return JsonResponse(200, SaleSharingJson(c));
  }
  if (!initiated_by || (*initiated_by != "subject" && *initiated_by != "business")) {
    return InvalidArgument("invalid_field", "initiated_by must be subject or business");
  }
  opt_in.business_initiated = *initiated_by == "business";
  CS_ASSIGN_OR_RETURN(SaleSharingChoice c, d.consent->OptInToSaleSharing(actor, p.tenant_id, subject, opt_in));
  return JsonResponse(200, SaleSharingJson(c));
}

Result<HttpResponse> SaleSharingInventory(const ConsentRouteDeps& d, const Principal& p) {
  // DOC-05 / CONS-10: the gateway itself sells and shares nothing; the only
  // possible flows are subscribers the tenant marked as such.
  CS_ASSIGN_OR_RETURN(std::vector<Subscriber> subscribers, d.subscribers->List(p.tenant_id));
  JsonWriter w;
  w.BeginObject().Key("flows").BeginArray();
  for (const Subscriber& sb : subscribers) {
    if (!sb.sale_or_sharing) continue;
    w.BeginObject().Key("subscriber_id").String(sb.id).Key("events").BeginArray();
    for (const std::string& e : sb.events) w.String(e);
    w.EndArray().EndObject();
  }
  w.EndArray();
  const bool any = std::any_of(subscribers.begin(), subscribers.end(), [](const Subscriber& sb) { return sb.sale_or_sharing; });
  w.Key("sells_or_shares").Bool(any);
  w.Key("statement").String(any ? "Events are forwarded to the listed subscribers, which the tenant marked as sale or "
                                  "sharing; subjects who opted out (including by Global Privacy Control) are never "
                                  "forwarded to them."
                                : "No personal data is sold or shared: no subscriber is marked as sale or sharing.");
  w.EndObject();
  return JsonResponse(200, w.Take());
}

Result<HttpResponse> DefinePurpose(const ConsentRouteDeps& d, const HttpRequest& req, const Principal& p,
                                   const AuditActor& actor) {
  if (d.consent == nullptr) return MessagingDisabled();
  CS_ASSIGN_OR_RETURN(JsonObjectBody body, JsonObjectBody::Decode(req, d.json_limits));
  ObjectReader& r = body.reader();
  Purpose purpose;
  purpose.tenant_id = p.tenant_id;
  CS_ASSIGN_OR_RETURN(purpose.id, r.RequiredString("id"));
  CS_ASSIGN_OR_RETURN(purpose.name, r.RequiredString("name"));
  CS_ASSIGN_OR_RETURN(purpose.legal_basis, r.RequiredString("legal_basis"));
  CS_ASSIGN_OR_RETURN(purpose.category, r.RequiredString("category"));
  CS_ASSIGN_OR_RETURN(auto special, r.OptionalBool("special_category"));
  CS_ASSIGN_OR_RETURN(purpose.confirmation_template, r.RequiredString("confirmation_template"));
  CS_ASSIGN_OR_RETURN(auto language, r.OptionalString("confirmation_language"));
  CS_RETURN_IF_ERROR(r.Finish());
  purpose.special_category = special.value_or(false);
  if (language) purpose.confirmation_language = *language;
  CS_ASSIGN_OR_RETURN(Purpose stored, d.consent->DefinePurpose(actor, purpose));
  return JsonResponse(201, PurposeJson(stored));
}

Result<HttpResponse> ListPurposes(const ConsentRouteDeps& d, const Principal& p) {
  CS_ASSIGN_OR_RETURN(std::vector<Purpose> all, d.consent->ListPurposes(p.tenant_id));
  return ListResponse("purposes", all, PurposeJson);
}

Result<HttpResponse> RegisterTemplate(const ConsentRouteDeps& d, const HttpRequest& req, const Principal& p,
                                      const AuditActor& actor) {
  if (d.consent == nullptr) return MessagingDisabled();
  CS_ASSIGN_OR_RETURN(JsonObjectBody body, JsonObjectBody::Decode(req, d.json_limits));
  ObjectReader& r = body.reader();
  TemplateRecord t;
  t.tenant_id = p.tenant_id;
  CS_ASSIGN_OR_RETURN(t.name, r.RequiredString("name"));
  CS_ASSIGN_OR_RETURN(t.language, r.RequiredString("language"));
  CS_ASSIGN_OR_RETURN(t.category, r.RequiredString("category"));
  CS_ASSIGN_OR_RETURN(t.purpose_id, r.RequiredString("purpose"));
  CS_ASSIGN_OR_RETURN(auto optout, r.OptionalBool("has_optout"));
  CS_RETURN_IF_ERROR(r.Finish());
  t.has_optout = optout.value_or(false);
  CS_RETURN_IF_ERROR(d.consent->RegisterTemplate(actor, t));
  CS_ASSIGN_OR_RETURN(auto stored, d.consent->GetTemplate(t.tenant_id, t.name, t.language));
  return JsonResponse(201, TemplateJson(stored.value_or(t)));
}

Result<HttpResponse> ListTemplates(const ConsentRouteDeps& d, const Principal& p) {
  CS_ASSIGN_OR_RETURN(std::vector<TemplateRecord> all, d.consent->ListTemplates(p.tenant_id));
  return ListResponse("templates", all, TemplateJson);
}

Result<HttpResponse> RegisterConsent(const ConsentRouteDeps& d, const HttpRequest& req, const Principal& p,
                                     const AuditActor& actor) {
  if (d.consent == nullptr || d.messages == nullptr) return MessagingDisabled();
  CS_ASSIGN_OR_RETURN(JsonObjectBody body, JsonObjectBody::Decode(req, d.json_limits));
  ObjectReader& r = body.reader();
  CS_ASSIGN_OR_RETURN(std::string phone, r.RequiredString("phone"));
  CS_ASSIGN_OR_RETURN(std::string purpose_id, r.RequiredString("purpose"));
  CS_ASSIGN_OR_RETURN(auto channel_id, r.OptionalString("channel_id"));
  CS_ASSIGN_OR_RETURN(auto explicit_consent, r.OptionalBool("explicit"));
  CS_ASSIGN_OR_RETURN(const JsonValue* evidence_value, r.OptionalObject("evidence"));
  if (body.value().Find("purposes") != nullptr) {
    return InvalidArgument("bundled_consent", "one consent per purpose: bundled purposes are not consent (CONS-08)");
  }
  if (evidence_value == nullptr) return InvalidArgument("missing_field", "body.evidence is required");
  CS_ASSIGN_OR_RETURN(ObjectReader ev, ObjectReader::Create(*evidence_value, "body.evidence"));
  ConsentEvidence evidence;
  CS_ASSIGN_OR_RETURN(Capture capture, ReadCapture(ev));
  CS_ASSIGN_OR_RETURN(evidence.notice_version, ev.RequiredString("notice_version"));
  CS_ASSIGN_OR_RETURN(auto notice_language, ev.OptionalString("notice_language"));
  CS_ASSIGN_OR_RETURN(auto notice_sha256, ev.OptionalString("notice_sha256"));
  CS_ASSIGN_OR_RETURN(auto gpc_field, r.OptionalBool("gpc"));
  CS_RETURN_IF_ERROR(ev.Finish());
  CS_RETURN_IF_ERROR(r.Finish());
  evidence.source_channel = std::move(capture.source_channel);
  evidence.source_ref = std::move(capture.source_ref);
  evidence.captured_at_ms = capture.captured_at_ms;
  evidence.notice_language = notice_language.value_or("");
  evidence.notice_sha256 = notice_sha256.value_or("");
  std::string e164;
  CS_ASSIGN_OR_RETURN(std::string subject, SubjectOf(d, p.tenant_id, phone, &e164));
  // CONS-10: a Global Privacy Control signal seen where the consent was
  // captured (the browser's Sec-GPC header, relayed or as "gpc": true) is
  // an opt-out of sale and sharing, honoured whatever becomes of the consent.
  if (gpc_field.value_or(false) || GpcHeader(req)) {
    CS_RETURN_IF_ERROR(d.consent->OptOutOfSaleSharing(actor, p.tenant_id, subject, "gpc_signal", true).status());
  }
  CS_ASSIGN_OR_RETURN(RegisterResult reg, d.consent->Register(actor, p.tenant_id, subject, purpose_id, evidence,
                                                              explicit_consent.value_or(false)));
  if (reg.needs_confirmation) {
    // The double opt-in request (CONS-01, CONS-02): the purpose's UTILITY
    // template naming the business and the purpose, with confirm and decline buttons.
    CS_ASSIGN_OR_RETURN(Purpose purpose, d.consent->GetPurpose(p.tenant_id, purpose_id));
    CS_ASSIGN_OR_RETURN(Tenant tenant, d.tenants->Get(p.tenant_id));
    JsonWriter w;
    w.BeginObject().Key("messaging_product").String("whatsapp").Key("to").String(e164).Key("type").String("template");
    w.Key("template").BeginObject().Key("name").String(purpose.confirmation_template);
    w.Key("language").BeginObject().Key("code").String(purpose.confirmation_language).EndObject();
    w.Key("components").BeginArray();
    w.BeginObject().Key("type").String("body").Key("parameters").BeginArray();
    w.BeginObject().Key("type").String("text").Key("text").String(tenant.name).EndObject();
    w.BeginObject().Key("type").String("text").Key("text").String(purpose.name).EndObject();
    w.EndArray().EndObject();
    for (int i = 0; i < 2; ++i) {
      w.BeginObject().Key("type").String("button").Key("sub_type").String("quick_reply").Key("index").String(std::to_string(i));
      w.Key("parameters").BeginArray().BeginObject().Key("type").String("payload");
      // The button names its purpose, so one tap answers one request (CONS-08).
      w.Key("payload").String((i == 0 ? "CONSENTRY_CONFIRM:" : "CONSENTRY_DECLINE:") + purpose_id);
      w.EndObject().EndArray().EndObject();
    }
    w.EndArray().EndObject().EndObject();
    CS_ASSIGN_OR_RETURN(JsonValue send_body, ParseJson(w.str()));
    SendRequest sr;
    sr.tenant_id = p.tenant_id;
    sr.actor = actor;
    sr.channel_id = channel_id.value_or("");
    sr.body = &send_body;
    sr.confirmation_purpose = purpose_id;
    sr.idempotency_key = "consent-confirmation:" + subject.substr(4, 24) + ":" + purpose_id + ":" +
                         std::to_string(reg.record.version);
    CS_ASSIGN_OR_RETURN(SendResult sent, d.messages->Send(sr));
    CS_RETURN_IF_ERROR(d.consent->MarkConfirmationSent(p.tenant_id, subject, purpose_id, sent.message.channel_id,
                                                       sent.message.id));
    reg.record.confirmation_message_id = sent.message.id;
  }
  return JsonResponse(reg.needs_confirmation ? 201 : 200, ConsentJson(reg.record));
}

Result<HttpResponse> WithdrawConsent(const ConsentRouteDeps& d, const HttpRequest& req, const Principal& p,
                                     const AuditActor& actor) {
  if (d.consent == nullptr) return MessagingDisabled();
  CS_ASSIGN_OR_RETURN(JsonObjectBody body, JsonObjectBody::Decode(req, d.json_limits));
  ObjectReader& r = body.reader();
  CS_ASSIGN_OR_RETURN(auto phone, r.OptionalString("phone"));
  CS_ASSIGN_OR_RETURN(auto subject_in, r.OptionalString("subject"));
  CS_ASSIGN_OR_RETURN(auto purpose, r.OptionalString("purpose"));
  CS_RETURN_IF_ERROR(r.Finish());
  CS_ASSIGN_OR_RETURN(std::string subject, SubjectFromBody(d, p.tenant_id, phone, subject_in));
  CS_RETURN_IF_ERROR(d.consent->Withdraw(actor, p.tenant_id, subject, purpose.value_or(""), "api_withdrawal"));
  CS_ASSIGN_OR_RETURN(std::vector<ConsentRecord> all, d.consent->SubjectConsents(p.tenant_id, subject));
  JsonWriter w;
  w.BeginObject().Key("subject").String(subject).Key("consents").BeginArray();
  for (const ConsentRecord& c : all) w.Raw(ConsentJson(c));
  w.EndArray().EndObject();
  return JsonResponse(200, w.Take());
}

Result<HttpResponse> SubjectConsents(const ConsentRouteDeps& d, const HttpRequest& req, const Principal& p,
                                     const std::string& subject, bool printable_allowed) {
  CS_ASSIGN_OR_RETURN(ConsentProof proof, d.consent->Proof(p.tenant_id, subject));
  bool pdf = false;
  if (printable_allowed) {
    const std::string* accept = req.Header("accept");
    pdf = accept != nullptr && accept->find("application/pdf") != std::string::npos;
    CS_ASSIGN_OR_RETURN(auto params, ParseQuery(req.query));
    for (const auto& [name, value] : params) {
      if (name == "format" && value != "pdf" && value != "json") {
        return InvalidArgument("invalid_query", "format must be pdf or json");
      }
      if (name == "format") pdf = value == "pdf";
    }
  }
  if (!pdf) return JsonResponse(200, ConsentProofJson(proof));
  CS_ASSIGN_OR_RETURN(std::string bytes, RenderConsentProofPdf(proof));
  HttpResponse r;
  r.status = 200;
  r.content_type = "application/pdf";
  r.body = std::move(bytes);
  r.headers.emplace_back("Content-Disposition", "attachment; filename=\"consent-proof-" + subject + ".pdf\"");
  return r;
}

Result<HttpResponse> EraseSubject(const ConsentRouteDeps& d, const HttpRequest& req, const Principal& p,
                                  const AuditActor& actor) {
  if (d.erasures == nullptr) return MessagingDisabled();
  CS_ASSIGN_OR_RETURN(JsonObjectBody body, JsonObjectBody::Decode(req, d.json_limits));
  ObjectReader& r = body.reader();
  CS_ASSIGN_OR_RETURN(auto phone, r.OptionalString("phone"));
  CS_ASSIGN_OR_RETURN(auto subject_in, r.OptionalString("subject"));
  CS_RETURN_IF_ERROR(r.Finish());
  // An erasure must not guess which of two people was meant.
  if (phone && subject_in) return InvalidArgument("ambiguous_input", "give phone or subject, not both");
  CS_ASSIGN_OR_RETURN(std::string subject, SubjectFromBody(d, p.tenant_id, phone, subject_in));
  CS_ASSIGN_OR_RETURN(ErasureRecord done, d.erasures->Erase(p.tenant_id, subject, actor));
  return JsonResponse(200, ErasureJson(done));
}

Result<HttpResponse> GetErasure(const ConsentRouteDeps& d, const Principal& p, const std::string& id) {
  if (d.erasures == nullptr) return MessagingDisabled();
  CS_ASSIGN_OR_RETURN(ErasureRecord e, d.erasures->Get(p.tenant_id, id));
  return JsonResponse(200, ErasureJson(e));
}

}  // namespace cs::api_internal
