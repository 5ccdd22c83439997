// MessageService: accepting messages (docs/messaging.md).
#include "common/json_writer.h"
#include "common/sha256.h"
#include "common/strings.h"
#include "messaging/sending.h"

namespace cs {

namespace {

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
                        store_.outbound().FindIdempotencyKey(r.tenant_id, r.idempotency_key));
    if (prior) {
      if (prior->request_hash != request_hash) {
        return FailedPrecondition("idempotency_key_reuse", "this Idempotency-Key was used with a different request");
      }
      auto replay = std::make_shared<PreparedSend>();
      CS_ASSIGN_OR_RETURN(replay->result.message, store_.outbound().GetMessage(r.tenant_id, prior->message_id));
      replay->result.replayed = true;
      replay->result.parsed = std::move(parsed);
      replay->replay = true;
      return replay;
    }
  }

  // The policy chain (send_policy.h): every check, in order; nothing is
  // queued unless all allow, and a refusal is on the record (send.refused).
  SendContext context;
  context.tenant_id = r.tenant_id;
  context.body = r.body;
  context.parsed = &parsed;
  context.confirmation_purpose = r.confirmation_purpose;
  context.message = &m;
  context.payload = parsed.body_json;
  CS_ASSIGN_OR_RETURN(Decision decision, chain_.Run(context));
  if (!decision.refusal.ok()) return Refusal(r, m.subject, decision.refusal, std::move(decision.details));
  std::string payload = std::move(context.payload);
  std::string content_findings = std::move(context.content_findings);
  const bool unscanned_document = context.unscanned_document;

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
                        tx.outbound().FindIdempotencyKey(p.tenant_id, p.idempotency_key));
    if (prior) {
      if (prior->request_hash != p.request_hash) {
        return FailedPrecondition("idempotency_key_reuse", "this Idempotency-Key was used with a different request");
      }
      CS_ASSIGN_OR_RETURN(p.result.message, tx.outbound().GetMessage(p.tenant_id, prior->message_id));
      p.result.replayed = true;
      return Status::Ok();
    }
    CS_RETURN_IF_ERROR(tx.outbound().InsertIdempotencyKey(p.tenant_id, p.idempotency_key,
                                                           IdempotencyRecord{p.request_hash, m.id}, now));
  }
  CS_RETURN_IF_ERROR(tx.outbound().InsertMessage(m, p.job));
  AuditEvent e{
      .tenant_id = p.tenant_id,
      .actor = p.actor,
      .action = "message.send",
      .subject = m.subject,
      .resource = "message:" + m.id
  };
  JsonWriter w;
  w.BeginObject().Key("channel_id").String(m.channel_id).Key("type").String(m.type);
  if (!p.content_findings.empty()) w.Key("content").Raw(p.content_findings);
  if (p.unscanned_document) w.Key("document_scanned").Bool(false);
  e.details = w.EndObject().Take();
  CS_RETURN_IF_ERROR(ledger_.Record(tx, e));
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
  CS_ASSIGN_OR_RETURN(MessageRecord m, store_.outbound().GetMessage(tenant_id, id));
  if (events != nullptr) {
    CS_ASSIGN_OR_RETURN(*events, store_.outbound().StatusEvents(id));
  }
  // Reading a message's metadata is an access to the subject's data.
  Status s = commits_.Run([&](StoreTransaction& tx) -> Status {
    AuditEvent e{
        .tenant_id = tenant_id,
        .actor = actor,
        .action = "message.read",
        .subject = m.subject,
        .resource = "message:" + m.id
    };
    return ledger_.Record(tx, e);
  });
  CS_RETURN_IF_ERROR(s);
  return m;
}

}  // namespace cs
