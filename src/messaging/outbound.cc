// MessageService: accepting messages (docs/messaging.md).
#include "common/json_writer.h"
#include "common/sha256.h"
#include "common/strings.h"
#include "messaging/sending.h"
#include "messaging/provider_ids.h"

namespace cs {

namespace {

constexpr int64_t kServiceWindowMs = 24LL * 3600 * 1000;

FieldBinding PayloadBinding(const MessageRecord& m) { return FieldBinding{m.tenant_id, m.subject, m.id, "payload"}; }

Status CheckIdempotencyKey(std::string_view key) {
  if (key.empty() || key.size() > 255) return InvalidArgument("invalid_idempotency_key", "Idempotency-Key must be 1-255 characters");
  for (char c : key) {
    if (c < 0x21 || c > 0x7e) return InvalidArgument("invalid_idempotency_key", "Idempotency-Key must be printable ASCII");
  }
  return Status::Ok();
}

}  // namespace

std::string MessageJson(const MessageRecord& m, const std::vector<StatusEventRecord>* events, std::string_view wamid) {
  JsonWriter w;
  w.BeginObject();
  w.Key("id").String(m.id);
  w.Key("channel_id").String(m.channel_id);
  w.Key("subject").String(m.subject);
  w.Key("kind").String(m.kind);
  w.Key("type").String(m.type);
  w.Key("state").String(m.state);
  if (!wamid.empty()) w.Key("wamid").String(wamid);
  if (!m.error_code.empty()) {
    w.Key("error").BeginObject().Key("code").String(m.error_code);
    if (m.provider_code != 0) w.Key("provider_code").Int(m.provider_code);
    w.EndObject();
  }
  w.Key("attempts").Int(m.attempts);
  w.Key("created_at").String(FormatRfc3339Millis(m.created_at_ms));
  w.Key("updated_at").String(FormatRfc3339Millis(m.updated_at_ms));
  if (events != nullptr) {
    w.Key("events").BeginArray();
    for (const StatusEventRecord& e : *events) {
      w.BeginObject().Key("status").String(e.status);
      w.Key("provider_time").String(FormatRfc3339Millis(e.provider_ts_ms));
      w.Key("received_at").String(FormatRfc3339Millis(e.received_at_ms));
      if (e.provider_code != 0) w.Key("provider_code").Int(e.provider_code);
      w.EndObject();
    }
    w.EndArray();
  }
  w.EndObject();
  return w.Take();
}

Result<Channel> MessageService::ResolveChannel(const SendRequest& r) {
  MessagingRepository& repo = store_.messaging();
  if (!r.channel_id.empty()) return repo.GetChannel(r.tenant_id, r.channel_id);
  if (!r.phone_number_id.empty()) {
    Result<Channel> c = repo.FindChannelByPhoneNumberId(r.phone_number_id);
    // Another tenant's number is indistinguishable from a missing one.
    if (c.ok() && c->tenant_id != r.tenant_id) return NotFound("no such channel");
    return c;
  }
  CS_ASSIGN_OR_RETURN(std::vector<Channel> all, repo.ListChannels(r.tenant_id));
  if (all.empty()) return FailedPrecondition("no_channel", "this tenant has no WhatsApp channel yet");
  if (all.size() > 1) return InvalidArgument("channel_required", "this tenant has several channels: name one in channel_id");
  return std::move(all.front());
}

std::shared_ptr<MessageService::PreparedSend> MessageService::Refusal(const SendRequest& r, const std::string& subject,
                                                                     Status refusal, std::string details) {
  auto p = std::make_shared<PreparedSend>();
  AuditEvent& e = p->refusal_event;
  e.tenant_id = r.tenant_id;
  e.actor = r.actor;
  e.action = "send.refused";
  e.subject = subject;
  e.resource = "messages";
  e.outcome = refusal.machine_code();
  if (!details.empty()) e.details = std::move(details);
  p->refusal = std::move(refusal);
  return p;
}

Status MessageService::CheckDocumentsScanned(const std::string& tenant_id, const JsonValue& body) {
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
    Result<MediaRef> ref = store_.messaging().GetMediaRef(tenant_id, id->as_string());
    if (!ref.ok() && ref.status().code() != StatusCode::kNotFound) return ref.status();
    if (!ref.ok() || ref->direction != "upload") {
      return FailedPrecondition("media_unscannable",
                                "this document was not uploaded through the gateway, so it was not scanned for "
                                "sensitive data: upload it through POST /{phone_number_id}/media and send that id");
    }
  }
  return Status::Ok();
}

Status MessageService::CheckReference(const std::string& tenant_id, const std::string& ref, MessageRecord& m) {
  if (ref.rfind("msg_", 0) == 0) {
    Result<MessageRecord> target = store_.messaging().GetMessage(tenant_id, ref);
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
    Result<InboundMessageRecord> target = store_.messaging().GetInbound(tenant_id, ref);
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

Result<std::shared_ptr<MessageService::PreparedSend>> MessageService::Prepare(const SendRequest& r) {
  if (r.body == nullptr) return InvalidArgument("invalid_json", "a JSON body is required");
  CS_ASSIGN_OR_RETURN(whatsapp::OutboundMessage parsed, whatsapp::ValidateOutbound(*r.body));
  if (!r.idempotency_key.empty()) CS_RETURN_IF_ERROR(CheckIdempotencyKey(r.idempotency_key));
  CS_ASSIGN_OR_RETURN(Channel channel, ResolveChannel(r));
  const int64_t now = clock_.NowUnixMillis();

  MessageRecord m;
  CS_ASSIGN_OR_RETURN(m.id, NewTimeOrderedId(random_, "msg", now));
  m.tenant_id = r.tenant_id;
  m.channel_id = channel.id;
  m.kind = parsed.kind == whatsapp::OutboundMessage::Kind::kMarkRead ? "mark_read" : "message";
  m.type = parsed.kind == whatsapp::OutboundMessage::Kind::kMarkRead ? "read_receipt" : parsed.type;
  m.free_form = parsed.free_form;
  if (!parsed.wa_id.empty() && !parsed.group) {
    CS_ASSIGN_OR_RETURN(m.subject, keyring_.Pseudonym(r.tenant_id, "+" + parsed.wa_id));
  } else if (!parsed.recipient_user_id.empty()) {
    CS_ASSIGN_OR_RETURN(m.subject, keyring_.Pseudonym(r.tenant_id, "bsuid:" + parsed.recipient_user_id));
  } else if (parsed.group) {
    CS_ASSIGN_OR_RETURN(m.subject, keyring_.Pseudonym(r.tenant_id, "group:" + parsed.wa_id));
  }
  m.created_at_ms = m.updated_at_ms = now;
  std::string request_hash = Sha256({channel.id, "\n", parsed.body_json});

  // A retry with the same key gets the original answer, before any policy
  // check: the window may have closed or the consent changed since, but
  // the original message was accepted and is on its way.
  if (!r.idempotency_key.empty()) {
    CS_ASSIGN_OR_RETURN(std::optional<IdempotencyRecord> prior,
                        store_.messaging().FindIdempotencyKey(r.tenant_id, r.idempotency_key));
    if (prior) {
      if (prior->request_hash != request_hash) {
        return FailedPrecondition("idempotency_key_reuse", "this Idempotency-Key was used with a different request");
      }
      auto replay = std::make_shared<PreparedSend>();
      CS_ASSIGN_OR_RETURN(replay->result.message, store_.messaging().GetMessage(r.tenant_id, prior->message_id));
      replay->result.replayed = true;
      replay->result.parsed = std::move(parsed);
      replay->replay = true;
      return replay;
    }
  }

  // The customer-service window (spec §5): free-form messages only within
  // 24 hours of the user's last message; refused here, before Meta sees it.
  if (m.free_form && m.kind == "message" && !parsed.group) {
    CS_ASSIGN_OR_RETURN(std::optional<int64_t> last, store_.messaging().LastInbound(channel.id, m.subject));
    if (!last || now - *last >= kServiceWindowMs) {
      return Refusal(r, m.subject, FailedPrecondition("template_required",
                                                     "more than 24 hours since this user's last message: send an "
                                                     "approved template"));
    }
  }
  // The consent gate (CONS-03): a template is sent only under an active
  // consent for the purpose it is registered for. Nothing is queued otherwise.
  if (consent_ != nullptr && m.kind == "message" && parsed.type == "template") {
    if (!r.confirmation_purpose.empty()) {
      Status ok = consent_->CheckConfirmationSend(r.tenant_id, m.subject, r.confirmation_purpose, parsed.template_name,
                                                  parsed.template_language);
      if (!ok.ok()) return Refusal(r, m.subject, ok);
    } else {
      GateRefusal why = GateRefusal::kNone;
      Result<std::string> purpose =
          consent_->CheckTemplateSend(r.tenant_id, m.subject, parsed.template_name, parsed.template_language, &why);
      if (!purpose.ok()) {
        JsonWriter w;
        w.BeginObject().Key("reason").String(GateRefusalName(why)).EndObject();
        return Refusal(r, m.subject, purpose.status(), why == GateRefusal::kNone ? std::string() : w.Take());
      }
      m.purpose_id = *purpose;
    }
  }

  // A reply, reaction or read receipt may name a message by the gateway's
  // id (the one its send answered, or the one a forwarded event carried):
  // it must be the tenant's and one Meta can still know. It is translated
  // to Meta's id at dispatch (provider_ids.h).
  for (const std::string& ref : GatewayReferences(*r.body)) {
    Status checked = CheckReference(r.tenant_id, ref, m);
    if (!checked.ok()) {
      if (checked.code() == StatusCode::kInvalidArgument || checked.code() == StatusCode::kFailedPrecondition) {
        return Refusal(r, m.subject, checked);
      }
      return checked;
    }
  }

  // Documents are scanned when they are uploaded through the gateway
  // (MediaService): one it never held cannot have been (CHAN-04).
  // Under "deliver", it goes out, and its audit entry says it was not scanned.
  bool unscanned_document = false;
  if (m.kind == "message") {
    Status scanned = CheckDocumentsScanned(r.tenant_id, *r.body);
    if (scanned.machine_code() == "media_unscannable") {
      if (refuse_unscanned_documents_) return Refusal(r, m.subject, scanned);
      unscanned_document = true;
    } else {
      CS_RETURN_IF_ERROR(scanned);
    }
  }

  // Content protection (CHAN-04): every text field, before anything is
  // stored or sent. What was found is recorded without the values.
  std::string payload = parsed.body_json;
  std::string content_findings;
  if (content_ != nullptr && m.kind == "message") {
    CS_ASSIGN_OR_RETURN(scan::ContentPolicy policy, content_->PolicyFor(r.tenant_id));
    CS_ASSIGN_OR_RETURN(JsonValue canonical, ParseJson(parsed.body_json));
    ContentGuard::Outcome c = content_->Apply(policy, scan::Direction::kOutbound, canonical);
    if (c.findings > 0) content_findings = c.findings_json;
    if (c.refused) {
      JsonWriter w;
      w.BeginObject().Key("content").Raw(c.findings_json).EndObject();
      const bool only_health = !c.refused_beyond_health;
      Status refusal =
          only_health
              ? InvalidArgument("channel_not_permitted_for_phi",
                                "this tenant does not send health information over WhatsApp (" + c.summary +
                                    "): send a notification that links to the secure portal instead")
              : InvalidArgument("sensitive_identifier",
                                "the message contains data that must not be sent over WhatsApp (" + c.summary +
                                    ")" + (c.card ? "; card numbers are never sent (PCI DSS): send a payment link" : ""));
      return Refusal(r, m.subject, refusal, w.Take());
    }
    if (c.changed) payload = std::move(c.json);
  }

  // Statuses echo biz_opaque_callback_data: tagging the message with its id
  // lets a status webhook reconcile a send whose answer was lost.
  if (m.kind == "message" && r.body->Find("biz_opaque_callback_data") == nullptr) {
    payload.pop_back();
    payload += ",\"biz_opaque_callback_data\":\"cs:" + m.id + "\"}";
  }
  auto p = std::make_shared<PreparedSend>();
  p->tenant_id = r.tenant_id;
  p->actor = r.actor;
  p->idempotency_key = r.idempotency_key;
  p->request_hash = std::move(request_hash);
  p->content_findings = std::move(content_findings);
  p->unscanned_document = unscanned_document;
  p->payload = std::move(payload);
  p->job = OutboundJob{m.id, m.tenant_id, m.channel_id, m.subject, now, 0, false};
  p->message = std::move(m);
  p->parsed = std::move(parsed);
  return p;
}

Status MessageService::Seal(PreparedSend& p) {
  p.created_keys.clear();
  CS_ASSIGN_OR_RETURN(p.message.payload_sealed,
                      keyring_.SealDeferred(p.tenant_id, p.payload, PayloadBinding(p.message), p.created_keys));
  return Status::Ok();
}

Result<SendResult> MessageService::SealAndCommit(PreparedSend& p) {
  // A first message to a new recipient stores the recipient's key with the
  // message. A key conflict (another process made it at the same moment)
  // committed nothing: sealed again, the stored key is used.
  Status s;
  for (int attempt = 0; attempt < 3; ++attempt) {
    CS_RETURN_IF_ERROR(Seal(p));
    s = commits_.Run([&](StoreTransaction& tx) { return CommitUnit(p, tx); });
    if (s.ok()) {
      keyring_.SubjectKeysStored(p.created_keys);
      p.result.parsed = p.parsed;
      return p.result;
    }
    if (s.machine_code() != "subject_key_conflict") break;
    keyring_.DropUnstored(p.created_keys);
  }
  return s;
}

Result<SendResult> MessageService::Send(const SendRequest& r) {
  CS_ASSIGN_OR_RETURN(std::shared_ptr<PreparedSend> p, Prepare(r));
  if (p->replay) return std::move(p->result);
  if (!p->refusal.ok()) {
    Status recorded = commits_.Run([&](StoreTransaction& tx) { return ledger_.Append(tx.audit(), p->refusal_event); });
    return recorded.ok() ? p->refusal : recorded;
  }
  return SealAndCommit(*p);
}

void MessageService::SendAsync(const SendRequest& r, SendContinuation then) {
  Result<std::shared_ptr<PreparedSend>> prepared = Prepare(r);
  if (!prepared.ok()) {
    then([s = prepared.status()]() -> Result<SendResult> { return s; }, false);
    return;
  }
  std::shared_ptr<PreparedSend> p = std::move(prepared).value();
  if (p->replay) {
    then([p]() -> Result<SendResult> { return p->result; }, false);
    return;
  }
  if (!p->refusal.ok()) {
    // A refusal is answered once it is on the record (CONS-03), without holding a thread either.
    commits_.Submit([this, p](StoreTransaction& tx) { return ledger_.Append(tx.audit(), p->refusal_event); },
                    [p, then = std::move(then)](Status recorded) {
                      then([p, recorded]() -> Result<SendResult> { return recorded.ok() ? p->refusal : recorded; },
                           false);
                    });
    return;
  }
  if (Status sealed = Seal(*p); !sealed.ok()) {
    then([sealed]() -> Result<SendResult> { return sealed; }, false);
    return;
  }
  // The wait for the commit holds no thread: `then` runs when the committer is done.
  commits_.Submit([this, p](StoreTransaction& tx) { return CommitUnit(*p, tx); },
                  [this, p, then = std::move(then)](Status committed) {
                    if (committed.ok()) {
                      keyring_.SubjectKeysStored(p->created_keys);
                      then(
                          [p]() -> Result<SendResult> {
                            p->result.parsed = p->parsed;
                            return p->result;
                          },
                          false);
                      return;
                    }
                    if (committed.machine_code() == "subject_key_conflict") {
                      keyring_.DropUnstored(p->created_keys);
                      // Rare: another process made the recipient's key meanwhile. Again, waiting.
                      then([this, p] { return SealAndCommit(*p); }, true);
                      return;
                    }
                    then([committed]() -> Result<SendResult> { return committed; }, false);
                  });
}

Status MessageService::CommitUnit(PreparedSend& p, StoreTransaction& tx) {
  const MessageRecord& m = p.message;
  const int64_t now = m.created_at_ms;
  // First, so that every way out of this unit that commits has stored them.
  CS_RETURN_IF_ERROR(keyring_.StoreSubjectKeys(tx, p.created_keys));
  if (!p.idempotency_key.empty()) {
    CS_ASSIGN_OR_RETURN(std::optional<IdempotencyRecord> prior,
                        tx.messaging().FindIdempotencyKey(p.tenant_id, p.idempotency_key));
    if (prior) {
      if (prior->request_hash != p.request_hash) {
        return FailedPrecondition("idempotency_key_reuse", "this Idempotency-Key was used with a different request");
      }
      CS_ASSIGN_OR_RETURN(p.result.message, tx.messaging().GetMessage(p.tenant_id, prior->message_id));
      p.result.replayed = true;
      return Status::Ok();
    }
    CS_RETURN_IF_ERROR(tx.messaging().InsertIdempotencyKey(p.tenant_id, p.idempotency_key,
                                                           IdempotencyRecord{p.request_hash, m.id}, now));
  }
  CS_RETURN_IF_ERROR(tx.messaging().InsertMessage(m, p.job));
  AuditEvent e;
  e.tenant_id = p.tenant_id;
  e.actor = p.actor;
  e.action = "message.send";
  e.subject = m.subject;
  e.resource = "message:" + m.id;
  JsonWriter w;
  w.BeginObject().Key("channel_id").String(m.channel_id).Key("type").String(m.type);
  if (!p.content_findings.empty()) w.Key("content").Raw(p.content_findings);
  if (p.unscanned_document) w.Key("document_scanned").Bool(false);
  e.details = w.EndObject().Take();
  CS_RETURN_IF_ERROR(ledger_.Append(tx.audit(), e));
  p.result.message = m;
  p.result.replayed = false;
  return Status::Ok();
}

Result<std::optional<std::string>> MessageService::OpenWamid(const MessageRecord& m) {
  if (m.wamid_sealed.empty()) return std::optional<std::string>();
  Result<SecretString> wamid = keyring_.Open(m.tenant_id, m.wamid_sealed, FieldBinding{m.tenant_id, m.subject, m.id, "wamid"});
  if (!wamid.ok() && wamid.status().machine_code() == "subject_erased") return std::optional<std::string>();
  CS_RETURN_IF_ERROR(wamid.status());
  return std::optional<std::string>(std::string(InsecureSecretAccess::Get(*wamid)));
}

Result<MessageRecord> MessageService::Get(const std::string& tenant_id, const AuditActor& actor, const std::string& id,
                                          std::vector<StatusEventRecord>* events) {
  CS_ASSIGN_OR_RETURN(MessageRecord m, store_.messaging().GetMessage(tenant_id, id));
  if (events != nullptr) {
    CS_ASSIGN_OR_RETURN(*events, store_.messaging().StatusEvents(id));
  }
  // Reading a message's metadata is an access to the subject's data.
  Status s = commits_.Run([&](StoreTransaction& tx) -> Status {
    AuditEvent e;
    e.tenant_id = tenant_id;
    e.actor = actor;
    e.action = "message.read";
    e.subject = m.subject;
    e.resource = "message:" + m.id;
    return ledger_.Append(tx.audit(), e);
  });
  CS_RETURN_IF_ERROR(s);
  return m;
}

}  // namespace cs
