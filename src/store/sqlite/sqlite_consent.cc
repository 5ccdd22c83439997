// SQLite implementation of ConsentRepository (store.h).
#include "store/sqlite/sqlite_internal.h"

namespace cs::sqlite_internal {

namespace {

constexpr std::string_view kPurposeColumns =
    "tenant_id, id, name, legal_basis, category, special_category, confirmation_template, confirmation_language, "
    "created_at_ms";
constexpr std::string_view kConsentColumns =
    "tenant_id, subject, purpose_id, state, version, updated_at_ms, pending_expires_at_ms, channel_id, "
    "confirmation_message_id, notice_version, notice_hash, explicit_consent";
constexpr std::string_view kEventColumns =
    "seq, tenant_id, subject, purpose_id, from_state, to_state, at_ms, actor, reason, evidence";
constexpr std::string_view kTemplateColumns =
    "tenant_id, name, language, category, purpose_id, has_optout, updated_at_ms, status";

Purpose ReadPurpose(sqlite3_stmt* s) {
  Purpose p;
  p.tenant_id = ColumnText(s, 0);
  p.id = ColumnText(s, 1);
  p.name = ColumnText(s, 2);
  p.legal_basis = ColumnText(s, 3);
  p.category = ColumnText(s, 4);
  p.special_category = sqlite3_column_int64(s, 5) != 0;
  p.confirmation_template = ColumnText(s, 6);
  p.confirmation_language = ColumnText(s, 7);
  p.created_at_ms = sqlite3_column_int64(s, 8);
  return p;
}

ConsentRecord ReadConsent(sqlite3_stmt* s) {
  ConsentRecord c;
  c.tenant_id = ColumnText(s, 0);
  c.subject = ColumnText(s, 1);
  c.purpose_id = ColumnText(s, 2);
  c.state = ColumnText(s, 3);
  c.version = sqlite3_column_int64(s, 4);
  c.updated_at_ms = sqlite3_column_int64(s, 5);
  c.pending_expires_at_ms = sqlite3_column_int64(s, 6);
  c.channel_id = ColumnText(s, 7);
  c.confirmation_message_id = ColumnText(s, 8);
  c.notice_version = ColumnText(s, 9);
  c.notice_hash = ColumnText(s, 10);
  c.explicit_consent = sqlite3_column_int64(s, 11) != 0;
  return c;
}

ConsentEvent ReadEvent(sqlite3_stmt* s) {
  ConsentEvent e;
  e.seq = sqlite3_column_int64(s, 0);
  e.tenant_id = ColumnText(s, 1);
  e.subject = ColumnText(s, 2);
  e.purpose_id = ColumnText(s, 3);
  e.from_state = ColumnText(s, 4);
  e.to_state = ColumnText(s, 5);
  e.at_ms = sqlite3_column_int64(s, 6);
  e.actor = ColumnText(s, 7);
  e.reason = ColumnText(s, 8);
  e.evidence = ColumnText(s, 9);
  return e;
}

TemplateRecord ReadTemplate(sqlite3_stmt* s) {
  TemplateRecord t;
  t.tenant_id = ColumnText(s, 0);
  t.name = ColumnText(s, 1);
  t.language = ColumnText(s, 2);
  t.category = ColumnText(s, 3);
  t.purpose_id = ColumnText(s, 4);
  t.has_optout = sqlite3_column_int64(s, 5) != 0;
  t.updated_at_ms = sqlite3_column_int64(s, 6);
  t.status = ColumnText(s, 7);
  return t;
}

constexpr std::string_view kNoticeColumns =
    "tenant_id, version, language, seq, text, sha256, info_message, requires_reconsent, reconsent_purposes, "
    "special_category_purposes, valid_from_ms, created_at_ms, created_by";
constexpr std::string_view kDeliveryColumns =
    "tenant_id, subject, version, language, source, channel_id, message_id, at_ms";
constexpr std::string_view kSaleSharingColumns =
    "tenant_id, subject, opted_out, gpc, source, opted_out_at_ms, updated_at_ms";

// Purpose ids are [a-z0-9_], so a comma-separated column is unambiguous.
std::string JoinIds(const std::vector<std::string>& ids) {
  std::string out;
  for (const std::string& id : ids) out += (out.empty() ? "" : ",") + id;
  return out;
}

std::vector<std::string> SplitIds(std::string_view joined) {
  std::vector<std::string> out;
  while (!joined.empty()) {
    size_t comma = joined.find(',');
    out.emplace_back(joined.substr(0, comma));
    if (comma == std::string_view::npos) break;
    joined.remove_prefix(comma + 1);
  }
  return out;
}

Notice ReadNotice(sqlite3_stmt* s) {
  Notice n;
  n.tenant_id = ColumnText(s, 0);
  n.version = ColumnText(s, 1);
  n.language = ColumnText(s, 2);
  n.seq = sqlite3_column_int64(s, 3);
  n.text = ColumnText(s, 4);
  n.sha256 = ColumnText(s, 5);
  n.info_message = ColumnText(s, 6);
  n.requires_reconsent = sqlite3_column_int64(s, 7) != 0;
  n.reconsent_purposes = SplitIds(ColumnText(s, 8));
  n.special_category_purposes = SplitIds(ColumnText(s, 9));
  n.valid_from_ms = sqlite3_column_int64(s, 10);
  n.created_at_ms = sqlite3_column_int64(s, 11);
  n.created_by = ColumnText(s, 12);
  return n;
}

NoticeDelivery ReadDelivery(sqlite3_stmt* s) {
  NoticeDelivery d;
  d.tenant_id = ColumnText(s, 0);
  d.subject = ColumnText(s, 1);
  d.version = ColumnText(s, 2);
  d.language = ColumnText(s, 3);
  d.source = ColumnText(s, 4);
  d.channel_id = ColumnText(s, 5);
  d.message_id = ColumnText(s, 6);
  d.at_ms = sqlite3_column_int64(s, 7);
  return d;
}

SaleSharingChoice ReadSaleSharing(sqlite3_stmt* s) {
  SaleSharingChoice c;
  c.tenant_id = ColumnText(s, 0);
  c.subject = ColumnText(s, 1);
  c.opted_out = sqlite3_column_int64(s, 2) != 0;
  c.gpc = sqlite3_column_int64(s, 3) != 0;
  c.source = ColumnText(s, 4);
  c.opted_out_at_ms = sqlite3_column_int64(s, 5);
  c.updated_at_ms = sqlite3_column_int64(s, 6);
  return c;
}

class SqliteConsents final : public ConsentRepository {
 public:
  explicit SqliteConsents(std::function<ConnectionHandle()> acquire) : acquire_(std::move(acquire)) {}

  Status PutPurpose(const Purpose& p) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("INSERT OR REPLACE INTO purposes(" + std::string(kPurposeColumns) +
                                                 ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"));
    Binder(s).Text(p.tenant_id).Text(p.id).Text(p.name).Text(p.legal_basis).Text(p.category)
        .Int(p.special_category ? 1 : 0).Text(p.confirmation_template).Text(p.confirmation_language).Int(p.created_at_ms);
    return StepDone(*c, s, "put purpose");
  }

  Result<Purpose> GetPurpose(const std::string& tenant_id, const std::string& id) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("SELECT " + std::string(kPurposeColumns) +
                                                 " FROM purposes WHERE tenant_id = ? AND id = ?"));
    Binder(s).Text(tenant_id).Text(id);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) return NotFound("no such purpose");
    if (rc != SQLITE_ROW) return SqliteError(c->db(), rc, "read purpose");
    return ReadPurpose(s);
  }

  Result<std::vector<Purpose>> ListPurposes(const std::string& tenant_id) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("SELECT " + std::string(kPurposeColumns) +
                                                 " FROM purposes WHERE tenant_id = ? ORDER BY created_at_ms, id"));
    Binder(s).Text(tenant_id);
    std::vector<Purpose> out;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) out.push_back(ReadPurpose(s));
    if (rc != SQLITE_DONE) return SqliteError(c->db(), rc, "list purposes");
    return out;
  }

  Result<std::optional<ConsentRecord>> GetConsent(const std::string& tenant_id, const std::string& subject,
                                                  const std::string& purpose_id) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("SELECT " + std::string(kConsentColumns) +
                                                 " FROM consents WHERE tenant_id = ? AND subject = ? AND purpose_id = ?"));
    Binder(s).Text(tenant_id).Text(subject).Text(purpose_id);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) return std::optional<ConsentRecord>();
    if (rc != SQLITE_ROW) return SqliteError(c->db(), rc, "read consent");
    return std::optional<ConsentRecord>(ReadConsent(s));
  }

  Result<std::vector<ConsentRecord>> SubjectConsents(const std::string& tenant_id, const std::string& subject) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("SELECT " + std::string(kConsentColumns) +
                                                 " FROM consents WHERE tenant_id = ? AND subject = ? ORDER BY purpose_id"));
    Binder(s).Text(tenant_id).Text(subject);
    std::vector<ConsentRecord> out;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) out.push_back(ReadConsent(s));
    if (rc != SQLITE_DONE) return SqliteError(c->db(), rc, "list consents");
    return out;
  }

  Result<std::vector<ConsentRecord>> ConsentsPage(const std::string& tenant_id, const std::string& after_subject,
                                                  const std::string& after_purpose, int limit) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("SELECT " + std::string(kConsentColumns) +
                                                 " FROM consents WHERE tenant_id = ? AND (subject, purpose_id) > (?, ?) "
                                                 "ORDER BY subject, purpose_id LIMIT ?"));
    Binder(s).Text(tenant_id).Text(after_subject).Text(after_purpose).Int(limit);
    std::vector<ConsentRecord> out;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) out.push_back(ReadConsent(s));
    if (rc != SQLITE_DONE) return SqliteError(c->db(), rc, "page consents");
    return out;
  }

  Status PutConsent(const ConsentRecord& r, int64_t expected_version) override {
    auto c = acquire_();
    if (expected_version == 0) {
      CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("INSERT INTO consents(" + std::string(kConsentColumns) +
                                                   ") VALUES (?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?)"));
      Binder(s).Text(r.tenant_id).Text(r.subject).Text(r.purpose_id).Text(r.state).Int(r.updated_at_ms)
          .Int(r.pending_expires_at_ms).Text(r.channel_id).Text(r.confirmation_message_id).Text(r.notice_version)
          .Text(r.notice_hash).Int(r.explicit_consent ? 1 : 0);
      return StepDone(*c, s, "insert consent");
    }
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("UPDATE consents SET state = ?, version = version + 1, updated_at_ms = ?, "
                                                 "pending_expires_at_ms = ?, channel_id = ?, confirmation_message_id = ?, "
                                                 "notice_version = ?, notice_hash = ?, explicit_consent = ? WHERE "
                                                 "tenant_id = ? AND subject = ? AND purpose_id = ? AND version = ?"));
    Binder(s).Text(r.state).Int(r.updated_at_ms).Int(r.pending_expires_at_ms).Text(r.channel_id)
        .Text(r.confirmation_message_id).Text(r.notice_version).Text(r.notice_hash).Int(r.explicit_consent ? 1 : 0)
        .Text(r.tenant_id).Text(r.subject).Text(r.purpose_id).Int(expected_version);
    CS_RETURN_IF_ERROR(StepDone(*c, s, "update consent"));
    if (sqlite3_changes(c->db()) == 0) return AlreadyExists("conflict", "the consent changed meanwhile");
    return Status::Ok();
  }

  Status AppendConsentEvent(const ConsentEvent& e) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("INSERT INTO consent_events(tenant_id, subject, purpose_id, from_state, "
                                                 "to_state, at_ms, actor, reason, evidence) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"));
    Binder(s).Text(e.tenant_id).Text(e.subject).Text(e.purpose_id).Text(e.from_state).Text(e.to_state).Int(e.at_ms)
        .Text(e.actor).Text(e.reason).Text(e.evidence);
    return StepDone(*c, s, "append consent event");
  }

  Result<std::vector<ConsentEvent>> ConsentEvents(const std::string& tenant_id, const std::string& subject) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("SELECT " + std::string(kEventColumns) +
                                                 " FROM consent_events WHERE tenant_id = ? AND subject = ? ORDER BY seq"));
    Binder(s).Text(tenant_id).Text(subject);
    std::vector<ConsentEvent> out;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) out.push_back(ReadEvent(s));
    if (rc != SQLITE_DONE) return SqliteError(c->db(), rc, "list consent events");
    return out;
  }

  Status PutTemplate(const TemplateRecord& t) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("INSERT OR REPLACE INTO templates(" + std::string(kTemplateColumns) +
                                                 ") VALUES (?, ?, ?, ?, ?, ?, ?, ?)"));
    Binder(s).Text(t.tenant_id).Text(t.name).Text(t.language).Text(t.category).Text(t.purpose_id)
        .Int(t.has_optout ? 1 : 0).Int(t.updated_at_ms).Text(t.status);
    return StepDone(*c, s, "put template");
  }

  Result<std::optional<TemplateRecord>> GetTemplate(const std::string& tenant_id, const std::string& name,
                                                    const std::string& language) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("SELECT " + std::string(kTemplateColumns) +
                                                 " FROM templates WHERE tenant_id = ? AND name = ? AND language = ?"));
    Binder(s).Text(tenant_id).Text(name).Text(language);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) return std::optional<TemplateRecord>();
    if (rc != SQLITE_ROW) return SqliteError(c->db(), rc, "read template");
    return std::optional<TemplateRecord>(ReadTemplate(s));
  }

  Result<std::vector<TemplateRecord>> ListTemplates(const std::string& tenant_id) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("SELECT " + std::string(kTemplateColumns) +
                                                 " FROM templates WHERE tenant_id = ? ORDER BY name, language"));
    Binder(s).Text(tenant_id);
    std::vector<TemplateRecord> out;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) out.push_back(ReadTemplate(s));
    if (rc != SQLITE_DONE) return SqliteError(c->db(), rc, "list templates");
    return out;
  }

  Status InsertNotice(const Notice& n) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("INSERT INTO notices(" + std::string(kNoticeColumns) +
                                                 ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
    const std::string reconsent = JoinIds(n.reconsent_purposes);
    const std::string special = JoinIds(n.special_category_purposes);
    Binder(s).Text(n.tenant_id).Text(n.version).Text(n.language).Int(n.seq).Text(n.text).Text(n.sha256)
        .Text(n.info_message).Int(n.requires_reconsent ? 1 : 0).Text(reconsent).Text(special).Int(n.valid_from_ms)
        .Int(n.created_at_ms).Text(n.created_by);
    int rc = sqlite3_step(s);
    if ((rc & 0xff) == SQLITE_CONSTRAINT) return AlreadyExists("notice_exists", "this notice version and language exist; notices are immutable");
    if (rc != SQLITE_DONE) return SqliteError(c->db(), rc, "insert notice");
    return Status::Ok();
  }

  Result<std::vector<Notice>> ListNotices(const std::string& tenant_id) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("SELECT " + std::string(kNoticeColumns) +
                                                 " FROM notices WHERE tenant_id = ? ORDER BY seq, language"));
    Binder(s).Text(tenant_id);
    std::vector<Notice> out;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) out.push_back(ReadNotice(s));
    if (rc != SQLITE_DONE) return SqliteError(c->db(), rc, "list notices");
    return out;
  }

  Status PutNoticeDelivery(const NoticeDelivery& d) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("INSERT OR REPLACE INTO notice_deliveries(" +
                                                 std::string(kDeliveryColumns) + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?)"));
    Binder(s).Text(d.tenant_id).Text(d.subject).Text(d.version).Text(d.language).Text(d.source).Text(d.channel_id)
        .Text(d.message_id).Int(d.at_ms);
    return StepDone(*c, s, "put notice delivery");
  }

  Status ReleaseNoticeReservation(const std::string& tenant_id, const std::string& subject, const std::string& version,
                                  const std::string& language) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("DELETE FROM notice_deliveries WHERE tenant_id = ? AND subject = ? "
                                                 "AND version = ? AND language = ? AND source = 'info_message' "
                                                 "AND message_id = ''"));
    Binder(s).Text(tenant_id).Text(subject).Text(version).Text(language);
    return StepDone(*c, s, "delete notice delivery");
  }

  Result<std::vector<NoticeDelivery>> NoticeDeliveries(const std::string& tenant_id,
                                                       const std::string& subject) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("SELECT " + std::string(kDeliveryColumns) +
                                                 " FROM notice_deliveries WHERE tenant_id = ? AND subject = ? ORDER BY at_ms"));
    Binder(s).Text(tenant_id).Text(subject);
    std::vector<NoticeDelivery> out;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) out.push_back(ReadDelivery(s));
    if (rc != SQLITE_DONE) return SqliteError(c->db(), rc, "list notice deliveries");
    return out;
  }

  Status DeleteNoticeDeliveries(const std::string& tenant_id, const std::string& subject) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("DELETE FROM notice_deliveries WHERE tenant_id = ? AND subject = ?"));
    Binder(s).Text(tenant_id).Text(subject);
    return StepDone(*c, s, "delete notice deliveries");
  }

  Result<std::optional<SaleSharingChoice>> GetSaleSharing(const std::string& tenant_id,
                                                          const std::string& subject) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("SELECT " + std::string(kSaleSharingColumns) +
                                                 " FROM sale_sharing WHERE tenant_id = ? AND subject = ?"));
    Binder(s).Text(tenant_id).Text(subject);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) return std::optional<SaleSharingChoice>();
    if (rc != SQLITE_ROW) return SqliteError(c->db(), rc, "read sale/sharing choice");
    return std::optional<SaleSharingChoice>(ReadSaleSharing(s));
  }

  Status PutSaleSharing(const SaleSharingChoice& x) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("INSERT OR REPLACE INTO sale_sharing(" +
                                                 std::string(kSaleSharingColumns) + ") VALUES (?, ?, ?, ?, ?, ?, ?)"));
    Binder(s).Text(x.tenant_id).Text(x.subject).Int(x.opted_out ? 1 : 0).Int(x.gpc ? 1 : 0).Text(x.source)
        .Int(x.opted_out_at_ms).Int(x.updated_at_ms);
    return StepDone(*c, s, "put sale/sharing choice");
  }

 private:
  std::function<ConnectionHandle()> acquire_;
};

}  // namespace

std::unique_ptr<ConsentRepository> NewConsentRepository(std::function<ConnectionHandle()> acquire) {
  return std::make_unique<SqliteConsents>(std::move(acquire));
}

}  // namespace cs::sqlite_internal
