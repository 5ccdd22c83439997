// ErasureService: crypto-shredding erasure of a subject (docs/erasure.md).
#include <algorithm>
#include <functional>

#include "common/json_writer.h"
#include "common/strings.h"
#include "vault/erasure.h"

namespace cs {

namespace {

AuditEvent ErasureEvent(const ErasureRecord& e, std::string action, std::string details = "{}") {
  AuditEvent a{
      .tenant_id = e.tenant_id,
      .actor = AuditActor{"system", "vault", "erasure", ""},
      .action = std::move(action),
      .subject = e.subject,
      .resource = "erasure:" + e.id,
      .details = std::move(details)
  };
  return a;
}

std::string CountsJson(const ErasedCounts& n) {
  JsonWriter w;
  w.BeginObject().Key("inbound_messages").Int(n.inbound_messages).Key("outbound_payloads").Int(n.outbound_payloads);
  w.Key("cancelled_sends").Int(n.cancelled_sends).Key("forwarded_events").Int(n.forwarded_events).EndObject();
  return w.Take();
}

}  // namespace

std::string ErasureJson(const ErasureRecord& e) {
  JsonWriter w;
  w.BeginObject().Key("id").String(e.id).Key("subject").String(e.subject).Key("state").String(e.step);
  w.Key("requested_at").String(FormatRfc3339Millis(e.requested_at_ms));
  w.Key("updated_at").String(FormatRfc3339Millis(e.updated_at_ms));
  w.Key("erased").Raw(e.details).EndObject();
  return w.Take();
}

Result<ErasureRecord> ErasureService::Erase(const std::string& tenant_id, const std::string& subject,
                                            const AuditActor& actor) {
  if (!IsSubjectPseudonym(subject)) {
    return InvalidArgument("invalid_subject", "subject must be a pseudonym: sub_ and 64 hex characters");
  }
  ErasureRecord e;
  CS_ASSIGN_OR_RETURN(e.id, NewId(random_, "era", 12));
  e.tenant_id = tenant_id;
  e.subject = subject;
  e.actor = actor.type + ":" + actor.id;
  e.requested_at_ms = e.updated_at_ms = clock_.NowUnixMillis();
  // Sends to the subject already past their last check reach Meta before
  // the erasure starts; later ones wait for it and find their job gone.
  std::optional<ConsentService::SendHold> hold;
  if (consent_ != nullptr) hold.emplace(consent_->HoldSends(tenant_id, subject));
  CS_RETURN_IF_ERROR(store_.InTransaction([&](StoreTransaction& tx) -> Status {
    CS_RETURN_IF_ERROR(tx.vault().InsertErasure(e));
    AuditEvent requested = ErasureEvent(e, "subject.erase_requested");
    requested.actor = actor;
    return ledger_.Record(tx, requested);
  }));
  return Continue(std::move(e));
}

Result<int> ErasureService::ResumePending() {
  CS_ASSIGN_OR_RETURN(std::vector<ErasureRecord> pending, store_.vault().PendingErasures());
  // One erasure that cannot finish now must not hold up the others (nor the
  // start of the gateway): it stays pending for the next run.
  int finished = 0;
  Status first_error;
  for (ErasureRecord& e : pending) {
    Result<ErasureRecord> r = Continue(std::move(e));
    if (r.ok()) {
      ++finished;
    } else if (first_error.ok()) {
      first_error = r.status();
    }
  }
  if (finished == 0 && !first_error.ok()) return first_error;
  return finished;
}

Result<ErasureRecord> ErasureService::Continue(ErasureRecord e) {
  // Runs one step's work and records the step reached, in one transaction.
  auto advance = [&](const std::string& next,
                     const std::function<Status(StoreTransaction&, ErasureRecord&)>& work) -> Status {
    ErasureRecord updated = e;
    updated.step = next;
    updated.updated_at_ms = clock_.NowUnixMillis();
    CS_RETURN_IF_ERROR(store_.InTransaction([&](StoreTransaction& tx) -> Status {
      CS_RETURN_IF_ERROR(work(tx, updated));
      return tx.vault().UpdateErasure(updated);
    }));
    e = std::move(updated);
    return Status::Ok();
  };
  // 1. The key first: from this commit on, nothing sealed for the subject opens.
  if (e.step == "requested") {
    CS_RETURN_IF_ERROR(advance("key_destroyed", [&](StoreTransaction& tx, ErasureRecord&) {
      return keyring_.DestroySubjectKey(tx, e.tenant_id, e.subject, clock_.NowUnixMillis());
    }));
    // A reader that raced the commit may have cached the key again.
    keyring_.ForgetSubject(e.tenant_id, e.subject);
    // The write-ahead log still holds the page with the wrapped key: empty it
    // (best effort; busy readers delay it to SQLite's next checkpoint).
    store_.Checkpoint().IgnoreError();
    if (crash_after_ == e.step) return e;
  }
  // 2. The rows: gone or cleared, queued sends cancelled, consents ended.
  if (e.step == "key_destroyed") {
    if (key_destroyed_hook_) {
      CS_RETURN_IF_ERROR(key_destroyed_hook_(e));
    }
    CS_RETURN_IF_ERROR(advance("data_erased", [&](StoreTransaction& tx, ErasureRecord& updated) -> Status {
      CS_ASSIGN_OR_RETURN(ErasedCounts n, tx.vault().EraseSubjectData(e.tenant_id, e.subject, clock_.NowUnixMillis()));
      std::vector<AuditEvent> events;
      if (consent_ != nullptr) {
        CS_RETURN_IF_ERROR(consent_->OnErasure(tx, e.tenant_id, e.subject, AuditActor{"system", "vault", "erasure", ""},
                                               events));
      }
      if (!events.empty()) CS_RETURN_IF_ERROR(ledger_.Append(tx.audit(), events));
      updated.details = CountsJson(n);
      return Status::Ok();
    }));
    if (consent_ != nullptr) {
      consent_->Forget(e.tenant_id, e.subject);
      consent_->notices().ForgetSubject(e.tenant_id, e.subject);
    }
    if (crash_after_ == e.step) return e;
  }
  // 3. Done, on the record.
  if (e.step == "data_erased") {
    CS_RETURN_IF_ERROR(advance("done", [&](StoreTransaction& tx, ErasureRecord& updated) {
      return ledger_.Record(tx, ErasureEvent(updated, "subject.erase", updated.details));
    }));
  }
  return e;
}

}  // namespace cs
