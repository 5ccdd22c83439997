// SQLite implementation of MessagingRepository (store.h).
#include "common/json_writer.h"
#include "store/sqlite/sqlite_internal.h"

namespace cs::sqlite_internal {

namespace {

// Every column holding data sealed directly under a tenant key (not a
// subject key); `only` narrows to the rows that have no subject.
struct TenantSealedColumn {
  const char* table;
  const char* column;
  const char* only;
};
constexpr TenantSealedColumn kTenantSealedColumns[] = {
    {"channels", "access_token_sealed", ""},
    {"channels", "app_secret_sealed", ""},
    {"channels", "verify_token_sealed", ""},
    {"channels", "previous_app_secret_sealed", ""},
    {"subscribers", "secret_sealed", ""},
    {"outbox", "payload_sealed", " AND subject = ''"},
    {"inbound_messages", "payload_sealed", " AND subject = ''"},
    {"messages", "payload_sealed", " AND subject = ''"},
};

constexpr std::string_view kChannelColumns =
    "id, tenant_id, phone_number_id, waba_id, display_phone_number, graph_base_url, graph_version, "
    "access_token_sealed, app_secret_sealed, verify_token_sealed, throughput_per_second, paused_reason, "
    "created_at_ms, previous_app_secret_sealed, previous_app_secret_until_ms";
constexpr std::string_view kMessageColumns =
    "id, tenant_id, channel_id, subject, kind, type, free_form, payload_sealed, state, wamid_hash, error_code, "
    "provider_code, seen, attempts, created_at_ms, updated_at_ms, purpose_id, wamid_sealed";
// Columns: id, tenant_id, channel_id, subject, wamid_hash, type, sent_at_ms, received_at_ms, payload_sealed, wamid_sealed.
constexpr std::string_view kInboundColumns =
    "id, tenant_id, channel_id, subject, wamid_hash, type, sent_at_ms, received_at_ms, payload_sealed, wamid_sealed";

constexpr std::string_view kSubscriberColumns =
    "id, tenant_id, url, secret_sealed, events, clear_phone_numbers, include_content, created_at_ms, deleted_at_ms, "
    "sale_or_sharing";
constexpr std::string_view kOutboxColumns =
    "id, tenant_id, subscriber_id, field, waba_id, payload_sealed, state, due_ms, attempts, last_error, created_at_ms, "
    "subject";

Subscriber ReadSubscriber(sqlite3_stmt* s) {
  Subscriber sb;
  sb.id = ColumnText(s, 0);
  sb.tenant_id = ColumnText(s, 1);
  sb.url = ColumnText(s, 2);
  sb.secret_sealed = ColumnBlob(s, 3);
  std::string events = ColumnText(s, 4);
  size_t start = 0;
  while (start < events.size()) {
    size_t sp = events.find(' ', start);
    if (sp == std::string::npos) sp = events.size();
    if (sp > start) sb.events.push_back(events.substr(start, sp - start));
    start = sp + 1;
  }
  sb.clear_phone_numbers = sqlite3_column_int64(s, 5) != 0;
  sb.include_content = sqlite3_column_int64(s, 6) != 0;
  sb.created_at_ms = sqlite3_column_int64(s, 7);
  if (sqlite3_column_type(s, 8) != SQLITE_NULL) sb.deleted_at_ms = sqlite3_column_int64(s, 8);
  sb.sale_or_sharing = sqlite3_column_int64(s, 9) != 0;
  return sb;
}

OutboxEntry ReadOutbox(sqlite3_stmt* s) {
  OutboxEntry e;
  e.id = ColumnText(s, 0);
  e.tenant_id = ColumnText(s, 1);
  e.subscriber_id = ColumnText(s, 2);
  e.field = ColumnText(s, 3);
  e.waba_id = ColumnText(s, 4);
  e.payload_sealed = ColumnBlob(s, 5);
  e.state = ColumnText(s, 6);
  e.due_ms = sqlite3_column_int64(s, 7);
  e.attempts = sqlite3_column_int64(s, 8);
  e.last_error = ColumnText(s, 9);
  e.created_at_ms = sqlite3_column_int64(s, 10);
  e.subject = ColumnText(s, 11);
  return e;
}

Channel ReadChannel(sqlite3_stmt* s) {
  Channel c;
  c.id = ColumnText(s, 0);
  c.tenant_id = ColumnText(s, 1);
  c.phone_number_id = ColumnText(s, 2);
  c.waba_id = ColumnText(s, 3);
  c.display_phone_number = ColumnText(s, 4);
  c.graph_base_url = ColumnText(s, 5);
  c.graph_version = ColumnText(s, 6);
  c.access_token_sealed = ColumnBlob(s, 7);
  c.app_secret_sealed = ColumnBlob(s, 8);
  c.verify_token_sealed = ColumnBlob(s, 9);
  c.throughput_per_second = sqlite3_column_int64(s, 10);
  c.paused_reason = ColumnText(s, 11);
  c.created_at_ms = sqlite3_column_int64(s, 12);
  c.previous_app_secret_sealed = ColumnBlob(s, 13);
  c.previous_app_secret_until_ms = sqlite3_column_int64(s, 14);
  return c;
}

// Columns: kInboundColumns.
InboundMessageRecord ReadInbound(sqlite3_stmt* s) {
  InboundMessageRecord m;
  m.id = ColumnText(s, 0);
  m.tenant_id = ColumnText(s, 1);
  m.channel_id = ColumnText(s, 2);
  m.subject = ColumnText(s, 3);
  m.wamid_hash = ColumnText(s, 4);
  m.type = ColumnText(s, 5);
  m.sent_at_ms = sqlite3_column_int64(s, 6);
  m.received_at_ms = sqlite3_column_int64(s, 7);
  m.payload_sealed = ColumnBlob(s, 8);
  m.wamid_sealed = ColumnBlob(s, 9);
  return m;
}

MessageRecord ReadMessage(sqlite3_stmt* s) {
  MessageRecord m;
  m.id = ColumnText(s, 0);
  m.tenant_id = ColumnText(s, 1);
  m.channel_id = ColumnText(s, 2);
  m.subject = ColumnText(s, 3);
  m.kind = ColumnText(s, 4);
  m.type = ColumnText(s, 5);
  m.free_form = sqlite3_column_int64(s, 6) != 0;
  m.payload_sealed = ColumnBlob(s, 7);
  m.state = ColumnText(s, 8);
  m.wamid_hash = ColumnText(s, 9);
  m.error_code = ColumnText(s, 10);
  m.provider_code = sqlite3_column_int64(s, 11);
  m.seen = sqlite3_column_int64(s, 12);
  m.attempts = sqlite3_column_int64(s, 13);
  m.created_at_ms = sqlite3_column_int64(s, 14);
  m.updated_at_ms = sqlite3_column_int64(s, 15);
  m.purpose_id = ColumnText(s, 16);
  m.wamid_sealed = ColumnBlob(s, 17);
  return m;
}

class SqliteMessaging final : public MessagingRepository {
 public:
  explicit SqliteMessaging(std::function<ConnectionHandle()> acquire) : acquire_(std::move(acquire)) {}

  Status InsertChannel(const Channel& ch) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("INSERT INTO channels(" + std::string(kChannelColumns) +
                                                 ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
    Binder(s)
        .Text(ch.id)
        .Text(ch.tenant_id)
        .Text(ch.phone_number_id)
        .Text(ch.waba_id)
        .Text(ch.display_phone_number)
        .Text(ch.graph_base_url)
        .Text(ch.graph_version)
        .Blob(ch.access_token_sealed)
        .Blob(ch.app_secret_sealed)
        .Blob(ch.verify_token_sealed)
        .Int(ch.throughput_per_second)
        .Text(ch.paused_reason)
        .Int(ch.created_at_ms)
        .Blob(ch.previous_app_secret_sealed)
        .Int(ch.previous_app_secret_until_ms);
    return StepDone(*c, s, "insert channel");
  }

  Result<Channel> GetChannel(const std::string& tenant_id, const std::string& id) override {
    return OneChannel("SELECT " + std::string(kChannelColumns) + " FROM channels WHERE tenant_id = ? AND id = ?",
                      {tenant_id, id});
  }
  Result<Channel> FindChannel(const std::string& id) override {
    return OneChannel("SELECT " + std::string(kChannelColumns) + " FROM channels WHERE id = ?", {id});
  }
  Result<Channel> FindChannelByPhoneNumberId(const std::string& pnid) override {
    return OneChannel("SELECT " + std::string(kChannelColumns) + " FROM channels WHERE phone_number_id = ?", {pnid});
  }
  Result<std::vector<Channel>> ListChannels(const std::string& tenant_id) override {
    return Channels("SELECT " + std::string(kChannelColumns) +
                        " FROM channels WHERE tenant_id = ? ORDER BY created_at_ms, id",
                    {tenant_id});
  }
  Result<std::vector<Channel>> AllChannels() override {
    return Channels("SELECT " + std::string(kChannelColumns) + " FROM channels ORDER BY created_at_ms, id", {});
  }

  Status SetChannelPaused(const std::string& id, const std::string& reason) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("UPDATE channels SET paused_reason = ? WHERE id = ?"));
    Binder(s).Text(reason).Text(id);
    CS_RETURN_IF_ERROR(StepDone(*c, s, "pause channel"));
    if (sqlite3_changes(c->db()) == 0) return NotFound("no such channel");
    return Status::Ok();
  }

  Status UpdateChannel(const Channel& ch) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("UPDATE channels SET graph_base_url = ?, graph_version = ?, "
                                                 "throughput_per_second = ?, access_token_sealed = ?, "
                                                 "app_secret_sealed = ?, verify_token_sealed = ?, "
                                                 "previous_app_secret_sealed = ?, previous_app_secret_until_ms = ? "
                                                 "WHERE tenant_id = ? AND id = ?"));
    Binder(s).Text(ch.graph_base_url).Text(ch.graph_version).Int(ch.throughput_per_second)
        .Blob(ch.access_token_sealed).Blob(ch.app_secret_sealed).Blob(ch.verify_token_sealed)
        .Blob(ch.previous_app_secret_sealed).Int(ch.previous_app_secret_until_ms).Text(ch.tenant_id).Text(ch.id);
    CS_RETURN_IF_ERROR(StepDone(*c, s, "update channel"));
    if (sqlite3_changes(c->db()) == 0) return NotFound("no such channel");
    return Status::Ok();
  }

  Status InsertMessage(const MessageRecord& m, const OutboundJob& job) override {
    auto c = acquire_();
    Connection* conn = &*c;
    return InWriteTransaction(*c, [&]() -> Status {
      CS_ASSIGN_OR_RETURN(ScopedStmt s, conn->Prepare("INSERT INTO messages(" + std::string(kMessageColumns) +
                                                      ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?, ?, ?, ?, NULL)"));
      Binder(s)
          .Text(m.id)
          .Text(m.tenant_id)
          .Text(m.channel_id)
          .Text(m.subject)
          .Text(m.kind)
          .Text(m.type)
          .Int(m.free_form ? 1 : 0)
          .Blob(m.payload_sealed)
          .Text(m.state)
          .Text(m.error_code)
          .Int(m.provider_code)
          .Int(m.seen)
          .Int(m.attempts)
          .Int(m.created_at_ms)
          .Int(m.updated_at_ms)
          .Text(m.purpose_id);
      CS_RETURN_IF_ERROR(StepDone(*conn, s, "insert message"));
      CS_ASSIGN_OR_RETURN(ScopedStmt j, conn->Prepare("INSERT INTO outbound_jobs(message_id, tenant_id, channel_id, "
                                                      "subject, due_ms, attempts) VALUES (?, ?, ?, ?, ?, ?)"));
      Binder(j).Text(job.message_id).Text(job.tenant_id).Text(job.channel_id).Text(job.subject).Int(job.due_ms).Int(job.attempts);
      return StepDone(*conn, j, "insert job");
    });
  }

  Result<MessageRecord> GetMessage(const std::string& tenant_id, const std::string& id) override {
    return OneMessage("SELECT " + std::string(kMessageColumns) + " FROM messages WHERE tenant_id = ? AND id = ?",
                      {tenant_id, id});
  }
  Result<MessageRecord> FindMessageByWamidHash(const std::string& wamid_hash) override {
    return OneMessage("SELECT " + std::string(kMessageColumns) + " FROM messages WHERE wamid_hash = ?", {wamid_hash});
  }
  Result<MessageRecord> FindMessage(const std::string& id) override {
    return OneMessage("SELECT " + std::string(kMessageColumns) + " FROM messages WHERE id = ?", {id});
  }

  Status UpdateMessage(const MessageRecord& m) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("UPDATE messages SET state = ?, wamid_hash = ?, error_code = ?, "
                                                 "provider_code = ?, seen = ?, attempts = ?, updated_at_ms = ?, "
                                                 "payload_sealed = ?, wamid_sealed = ? WHERE id = ?"));
    Binder b(s);
    b.Text(m.state).OptText(m.wamid_hash.empty() ? std::nullopt : std::optional<std::string>(m.wamid_hash));
    b.Text(m.error_code).Int(m.provider_code).Int(m.seen).Int(m.attempts).Int(m.updated_at_ms).Blob(m.payload_sealed);
    b.OptBlob(m.wamid_sealed.empty() ? std::nullopt : std::optional<std::string>(m.wamid_sealed));
    b.Text(m.id);
    CS_RETURN_IF_ERROR(StepDone(*c, s, "update message"));
    if (sqlite3_changes(c->db()) == 0) return NotFound("no such message");
    return Status::Ok();
  }

  Status InsertStatusEvent(const StatusEventRecord& e) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("INSERT INTO message_status_events(message_id, status, "
                                                 "provider_ts_ms, received_at_ms, provider_code) VALUES (?, ?, ?, ?, ?)"));
    Binder(s).Text(e.message_id).Text(e.status).Int(e.provider_ts_ms).Int(e.received_at_ms).Int(e.provider_code);
    return StepDone(*c, s, "insert status event");
  }

  Result<std::vector<StatusEventRecord>> StatusEvents(const std::string& message_id) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("SELECT message_id, status, provider_ts_ms, received_at_ms, "
                                                 "provider_code FROM message_status_events WHERE message_id = ? "
                                                 "ORDER BY rowid"));
    Binder(s).Text(message_id);
    std::vector<StatusEventRecord> out;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
      out.push_back({ColumnText(s, 0), ColumnText(s, 1), sqlite3_column_int64(s, 2), sqlite3_column_int64(s, 3),
                     sqlite3_column_int64(s, 4)});
    }
    if (rc != SQLITE_DONE) return SqliteError(c->db(), rc, "read status events");
    return out;
  }

  Result<std::vector<OutboundJob>> LeaseJobs(int64_t now_ms, int64_t lease_until_ms, int limit) override {
    auto c = acquire_();
    Connection* conn = &*c;
    std::vector<OutboundJob> out;
    Status st = InWriteTransaction(*c, [&]() -> Status {
      out.clear();
      CS_ASSIGN_OR_RETURN(ScopedStmt s, conn->Prepare("SELECT message_id, tenant_id, channel_id, subject, due_ms, "
                                                      "attempts, in_flight FROM outbound_jobs WHERE due_ms <= ? AND "
                                                      "lease_until_ms <= ? ORDER BY due_ms LIMIT ?"));
      Binder(s).Int(now_ms).Int(now_ms).Int(limit);
      int rc;
      while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        OutboundJob j;
        j.message_id = ColumnText(s, 0);
        j.tenant_id = ColumnText(s, 1);
        j.channel_id = ColumnText(s, 2);
        j.subject = ColumnText(s, 3);
        j.due_ms = sqlite3_column_int64(s, 4);
        j.attempts = sqlite3_column_int64(s, 5);
        j.was_in_flight = sqlite3_column_int64(s, 6) != 0;
        out.push_back(std::move(j));
      }
      if (rc != SQLITE_DONE) return SqliteError(conn->db(), rc, "lease jobs");
      CS_ASSIGN_OR_RETURN(ScopedStmt u, conn->Prepare("UPDATE outbound_jobs SET lease_until_ms = ? WHERE message_id = ?"));
      for (const OutboundJob& j : out) {
        sqlite3_reset(u);
        Binder(u).Int(lease_until_ms).Text(j.message_id);
        CS_RETURN_IF_ERROR(StepDone(*conn, u, "lease job"));
      }
      return Status::Ok();
    });
    CS_RETURN_IF_ERROR(st);
    return out;
  }

  Status MarkInFlight(const std::string& message_id) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("UPDATE outbound_jobs SET in_flight = 1 WHERE message_id = ? AND "
                                                 "in_flight = 0"));
    Binder(s).Text(message_id);
    CS_RETURN_IF_ERROR(StepDone(*c, s, "mark in flight"));
    if (sqlite3_changes(c->db()) == 0) return NotFound("the job is gone or already in flight");
    return Status::Ok();
  }

  Status RescheduleJob(const std::string& message_id, int64_t due_ms, int64_t attempts) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("UPDATE outbound_jobs SET due_ms = ?, attempts = ?, "
                                                 "lease_until_ms = 0, in_flight = 0 WHERE message_id = ?"));
    Binder(s).Int(due_ms).Int(attempts).Text(message_id);
    return StepDone(*c, s, "reschedule job");
  }

  Status DeleteJob(const std::string& message_id) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("DELETE FROM outbound_jobs WHERE message_id = ?"));
    Binder(s).Text(message_id);
    return StepDone(*c, s, "delete job");
  }

  Result<int64_t> CountJobs() override { return Count("SELECT COUNT(*) FROM outbound_jobs", {}); }

  Result<std::optional<IdempotencyRecord>> FindIdempotencyKey(const std::string& tenant_id,
                                                              const std::string& key) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("SELECT request_hash, message_id FROM idempotency_keys "
                                                 "WHERE tenant_id = ? AND key = ?"));
    Binder(s).Text(tenant_id).Text(key);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) return std::optional<IdempotencyRecord>();
    if (rc != SQLITE_ROW) return SqliteError(c->db(), rc, "read idempotency key");
    return std::optional<IdempotencyRecord>(IdempotencyRecord{ColumnBlob(s, 0), ColumnText(s, 1)});
  }

  Status InsertIdempotencyKey(const std::string& tenant_id, const std::string& key, const IdempotencyRecord& r,
                              int64_t now_ms) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("INSERT INTO idempotency_keys(tenant_id, key, request_hash, "
                                                 "message_id, created_at_ms) VALUES (?, ?, ?, ?, ?)"));
    Binder(s).Text(tenant_id).Text(key).Blob(r.request_hash).Text(r.message_id).Int(now_ms);
    return StepDone(*c, s, "insert idempotency key");
  }

  Result<bool> MarkSeen(const std::string& key, int64_t now_ms, const std::string& ref) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("INSERT OR IGNORE INTO inbound_seen(dedupe_key, received_at_ms, ref) "
                                                 "VALUES (?, ?, ?)"));
    Binder(s).Text(key).Int(now_ms).Text(ref);
    CS_RETURN_IF_ERROR(StepDone(*c, s, "mark seen"));
    return sqlite3_changes(c->db()) == 1;
  }

  Result<std::optional<std::string>> SeenRef(const std::string& key) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("SELECT ref FROM inbound_seen WHERE dedupe_key = ?"));
    Binder(s).Text(key);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) return std::optional<std::string>();
    if (rc != SQLITE_ROW) return SqliteError(c->db(), rc, "read delivery key");
    std::string ref = ColumnText(s, 0);
    if (ref.empty()) return std::optional<std::string>();
    return std::optional<std::string>(std::move(ref));
  }

  Result<int64_t> PurgeSeen(int64_t before_ms) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("DELETE FROM inbound_seen WHERE received_at_ms < ?"));
    Binder(s).Int(before_ms);
    CS_RETURN_IF_ERROR(StepDone(*c, s, "purge seen"));
    return static_cast<int64_t>(sqlite3_changes(c->db()));
  }

  Status InsertInbound(const InboundMessageRecord& m) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("INSERT INTO inbound_messages(" + std::string(kInboundColumns) +
                                                 ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
    Binder b(s);
    b.Text(m.id).Text(m.tenant_id).Text(m.channel_id).Text(m.subject).Text(m.wamid_hash).Text(m.type)
        .Int(m.sent_at_ms).Int(m.received_at_ms).Blob(m.payload_sealed);
    b.OptBlob(m.wamid_sealed.empty() ? std::nullopt : std::optional<std::string>(m.wamid_sealed));
    return StepDone(*c, s, "insert inbound message");
  }

  Status PutMediaRef(const MediaRef& r) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("INSERT OR REPLACE INTO media_refs(tenant_id, media_id, channel_id, "
                                                 "direction, subject, mime_type, created_at_ms, expires_at_ms) "
                                                 "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"));
    Binder(s).Text(r.tenant_id).Text(r.media_id).Text(r.channel_id).Text(r.direction).Text(r.subject)
        .Text(r.mime_type).Int(r.created_at_ms).Int(r.expires_at_ms);
    return StepDone(*c, s, "put media reference");
  }

  Result<MediaRef> GetMediaRef(const std::string& tenant_id, const std::string& media_id) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("SELECT channel_id, direction, mime_type, created_at_ms, "
                                                 "expires_at_ms, subject FROM media_refs WHERE tenant_id = ? AND "
                                                 "media_id = ?"));
    Binder(s).Text(tenant_id).Text(media_id);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) return NotFound("no such media");
    if (rc != SQLITE_ROW) return SqliteError(c->db(), rc, "read media reference");
    MediaRef r;
    r.tenant_id = tenant_id;
    r.media_id = media_id;
    r.channel_id = ColumnText(s, 0);
    r.direction = ColumnText(s, 1);
    r.mime_type = ColumnText(s, 2);
    r.created_at_ms = sqlite3_column_int64(s, 3);
    r.expires_at_ms = sqlite3_column_int64(s, 4);
    r.subject = ColumnText(s, 5);
    return r;
  }

  Status DeleteMediaRef(const std::string& tenant_id, const std::string& media_id) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("DELETE FROM media_refs WHERE tenant_id = ? AND media_id = ?"));
    Binder(s).Text(tenant_id).Text(media_id);
    return StepDone(*c, s, "delete media reference");
  }

  Result<int64_t> PurgeMediaRefs(int64_t now_ms) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("DELETE FROM media_refs WHERE expires_at_ms < ?"));
    Binder(s).Int(now_ms);
    CS_RETURN_IF_ERROR(StepDone(*c, s, "purge media references"));
    return static_cast<int64_t>(sqlite3_changes(c->db()));
  }

  Result<InboundMessageRecord> GetInbound(const std::string& tenant_id, const std::string& id) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("SELECT " + std::string(kInboundColumns) + " FROM inbound_messages "
                                                 "WHERE tenant_id = ? AND id = ?"));
    Binder(s).Text(tenant_id).Text(id);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) return NotFound("no such inbound message");
    if (rc != SQLITE_ROW) return SqliteError(c->db(), rc, "read inbound message");
    return ReadInbound(s);
  }

  Status UpdateInboundPayload(const std::string& tenant_id, const std::string& id,
                              const std::string& payload_sealed) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("UPDATE inbound_messages SET payload_sealed = ? "
                                                 "WHERE tenant_id = ? AND id = ?"));
    Binder(s).Blob(payload_sealed).Text(tenant_id).Text(id);
    CS_RETURN_IF_ERROR(StepDone(*c, s, "update inbound payload"));
    if (sqlite3_changes(c->db()) == 0) return NotFound("no such inbound message");
    return Status::Ok();
  }

  Result<int64_t> CountInbound(const std::string& tenant_id) override {
    return Count("SELECT COUNT(*) FROM inbound_messages WHERE tenant_id = ?", {tenant_id});
  }

  Status TouchWindow(const std::string& channel_id, const std::string& subject, int64_t at_ms) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("INSERT INTO service_windows(channel_id, subject, last_inbound_ms) "
                                                 "VALUES (?, ?, ?) ON CONFLICT(channel_id, subject) DO UPDATE SET "
                                                 "last_inbound_ms = MAX(last_inbound_ms, excluded.last_inbound_ms)"));
    Binder(s).Text(channel_id).Text(subject).Int(at_ms);
    return StepDone(*c, s, "touch window");
  }

  Result<std::optional<int64_t>> LastInbound(const std::string& channel_id, const std::string& subject) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("SELECT last_inbound_ms FROM service_windows WHERE channel_id = ? "
                                                 "AND subject = ?"));
    Binder(s).Text(channel_id).Text(subject);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) return std::optional<int64_t>();
    if (rc != SQLITE_ROW) return SqliteError(c->db(), rc, "read window");
    return std::optional<int64_t>(sqlite3_column_int64(s, 0));
  }

  Status Quarantine(int64_t at_ms, const std::string& reason, const std::string& body_sealed) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("INSERT INTO quarantine(at_ms, reason, body_sealed) VALUES (?, ?, ?)"));
    Binder(s).Int(at_ms).Text(reason).Blob(body_sealed);
    return StepDone(*c, s, "quarantine");
  }

  Result<int64_t> CountQuarantined() override { return Count("SELECT COUNT(*) FROM quarantine", {}); }

  Result<int64_t> PurgeQuarantine(int64_t before_ms) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("DELETE FROM quarantine WHERE at_ms < ?"));
    Binder(s).Int(before_ms);
    CS_RETURN_IF_ERROR(StepDone(*c, s, "purge quarantine"));
    return static_cast<int64_t>(sqlite3_changes(c->db()));
  }

  Result<int64_t> PurgeInboundBodies(int64_t before_ms) override {
    auto c = acquire_();
    int64_t n = 0;
    {
      CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("UPDATE inbound_messages SET payload_sealed = X'' "
                                                   "WHERE received_at_ms < ? AND length(payload_sealed) > 0 AND "
                                                   "tenant_id NOT IN (SELECT tenant_id FROM conversation_history)"));
      Binder(s).Int(before_ms);
      CS_RETURN_IF_ERROR(StepDone(*c, s, "purge inbound bodies"));
      n += sqlite3_changes(c->db());
    }
    // Only bodies dispatching no longer needs (no job left): kept this long
    // only after a history policy was turned off.
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("UPDATE messages SET payload_sealed = X'' "
                                                 "WHERE created_at_ms < ? AND length(payload_sealed) > 0 AND "
                                                 "tenant_id NOT IN (SELECT tenant_id FROM conversation_history) AND "
                                                 "NOT EXISTS (SELECT 1 FROM outbound_jobs j WHERE j.message_id = messages.id)"));
    Binder(s).Int(before_ms);
    CS_RETURN_IF_ERROR(StepDone(*c, s, "purge outbound bodies"));
    return n + sqlite3_changes(c->db());
  }

  Result<int64_t> PurgeTenantBodies(const std::string& tenant_id, int64_t before_ms) override {
    auto c = acquire_();
    int64_t n = 0;
    {
      CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("UPDATE inbound_messages SET payload_sealed = X'' "
                                                   "WHERE tenant_id = ? AND received_at_ms < ? AND "
                                                   "length(payload_sealed) > 0"));
      Binder(s).Text(tenant_id).Int(before_ms);
      CS_RETURN_IF_ERROR(StepDone(*c, s, "purge inbound bodies"));
      n += sqlite3_changes(c->db());
    }
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("UPDATE messages SET payload_sealed = X'' "
                                                 "WHERE tenant_id = ? AND created_at_ms < ? AND "
                                                 "length(payload_sealed) > 0 AND NOT EXISTS (SELECT 1 FROM "
                                                 "outbound_jobs j WHERE j.message_id = messages.id)"));
    Binder(s).Text(tenant_id).Int(before_ms);
    CS_RETURN_IF_ERROR(StepDone(*c, s, "purge outbound bodies"));
    return n + sqlite3_changes(c->db());
  }

  Result<std::optional<HistoryPolicy>> GetHistoryPolicy(const std::string& tenant_id) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("SELECT retention_days, purpose, legal_basis, enabled_at_ms "
                                                 "FROM conversation_history WHERE tenant_id = ?"));
    Binder(s).Text(tenant_id);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) return std::optional<HistoryPolicy>();
    if (rc != SQLITE_ROW) return SqliteError(c->db(), rc, "read history policy");
    return std::optional<HistoryPolicy>(HistoryPolicy{tenant_id, sqlite3_column_int64(s, 0), ColumnText(s, 1),
                                                      ColumnText(s, 2), sqlite3_column_int64(s, 3)});
  }

  Status PutHistoryPolicy(const HistoryPolicy& p) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("INSERT OR REPLACE INTO conversation_history(tenant_id, "
                                                 "retention_days, purpose, legal_basis, enabled_at_ms) "
                                                 "VALUES (?, ?, ?, ?, ?)"));
    Binder(s).Text(p.tenant_id).Int(p.retention_days).Text(p.purpose).Text(p.legal_basis).Int(p.enabled_at_ms);
    return StepDone(*c, s, "put history policy");
  }

  Result<bool> DeleteHistoryPolicy(const std::string& tenant_id) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("DELETE FROM conversation_history WHERE tenant_id = ?"));
    Binder(s).Text(tenant_id);
    CS_RETURN_IF_ERROR(StepDone(*c, s, "delete history policy"));
    return sqlite3_changes(c->db()) > 0;
  }

  Result<std::vector<HistoryPolicy>> ListHistoryPolicies() override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("SELECT tenant_id, retention_days, purpose, legal_basis, "
                                                 "enabled_at_ms FROM conversation_history ORDER BY tenant_id"));
    std::vector<HistoryPolicy> out;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
      out.push_back(HistoryPolicy{ColumnText(s, 0), sqlite3_column_int64(s, 1), ColumnText(s, 2), ColumnText(s, 3),
                                  sqlite3_column_int64(s, 4)});
    }
    if (rc != SQLITE_DONE) return SqliteError(c->db(), rc, "list history policies");
    return out;
  }

  Result<std::vector<InboundMessageRecord>> ListInboundOfSubject(const std::string& tenant_id,
                                                                const std::string& subject, int limit) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("SELECT " + std::string(kInboundColumns) + " FROM inbound_messages "
                                                 "WHERE tenant_id = ? AND subject = ? "
                                                 "ORDER BY received_at_ms DESC, id DESC LIMIT ?"));
    Binder(s).Text(tenant_id).Text(subject).Int(limit);
    std::vector<InboundMessageRecord> out;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) out.push_back(ReadInbound(s));
    if (rc != SQLITE_DONE) return SqliteError(c->db(), rc, "list inbound messages");
    return out;
  }

  Result<std::vector<MessageRecord>> ListMessagesOfSubject(const std::string& tenant_id, const std::string& subject,
                                                           int limit) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("SELECT " + std::string(kMessageColumns) +
                                                 " FROM messages WHERE tenant_id = ? AND subject = ? AND "
                                                 "kind = 'message' ORDER BY created_at_ms DESC, id DESC LIMIT ?"));
    Binder(s).Text(tenant_id).Text(subject).Int(limit);
    std::vector<MessageRecord> out;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) out.push_back(ReadMessage(s));
    if (rc != SQLITE_DONE) return SqliteError(c->db(), rc, "list messages");
    return out;
  }

  Result<int64_t> ExpireOutboxBodies(int64_t before_ms, int64_t now_ms) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("UPDATE outbox SET payload_sealed = X'', lease_until_ms = 0, "
                                                 "last_error = CASE WHEN state = 'pending' THEN 'expired' ELSE "
                                                 "last_error END, state = 'dead' "
                                                 "WHERE created_at_ms < ? AND length(payload_sealed) > 0 AND "
                                                 "(state = 'dead' OR lease_until_ms < ?)"));
    Binder(s).Int(before_ms).Int(now_ms);
    CS_RETURN_IF_ERROR(StepDone(*c, s, "expire outbox bodies"));
    return static_cast<int64_t>(sqlite3_changes(c->db()));
  }

  Status InsertSubscriber(const Subscriber& sb) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("INSERT INTO subscribers(id, tenant_id, url, secret_sealed, events, "
                                                 "clear_phone_numbers, include_content, created_at_ms, sale_or_sharing) "
                                                 "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"));
    std::string events;
    for (const std::string& e : sb.events) events += (events.empty() ? "" : " ") + e;
    Binder(s).Text(sb.id).Text(sb.tenant_id).Text(sb.url).Blob(sb.secret_sealed).Text(events)
        .Int(sb.clear_phone_numbers ? 1 : 0).Int(sb.include_content ? 1 : 0).Int(sb.created_at_ms)
        .Int(sb.sale_or_sharing ? 1 : 0);
    return StepDone(*c, s, "insert subscriber");
  }

  Result<std::vector<Subscriber>> ListSubscribers(const std::string& tenant_id) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("SELECT " + std::string(kSubscriberColumns) +
                                                 " FROM subscribers WHERE tenant_id = ? AND deleted_at_ms IS NULL "
                                                 "ORDER BY created_at_ms, id"));
    Binder(s).Text(tenant_id);
    std::vector<Subscriber> out;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) out.push_back(ReadSubscriber(s));
    if (rc != SQLITE_DONE) return SqliteError(c->db(), rc, "list subscribers");
    return out;
  }

  Result<Subscriber> GetSubscriber(const std::string& tenant_id, const std::string& id) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("SELECT " + std::string(kSubscriberColumns) +
                                                 " FROM subscribers WHERE tenant_id = ? AND id = ? AND "
                                                 "deleted_at_ms IS NULL"));
    Binder(s).Text(tenant_id).Text(id);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) return NotFound("no such subscriber");
    if (rc != SQLITE_ROW) return SqliteError(c->db(), rc, "read subscriber");
    return ReadSubscriber(s);
  }

  Status DeleteSubscriber(const std::string& tenant_id, const std::string& id, int64_t at_ms) override {
    auto c = acquire_();
    Connection* conn = &*c;
    return InWriteTransaction(*c, [&]() -> Status {
      CS_ASSIGN_OR_RETURN(ScopedStmt s, conn->Prepare("UPDATE subscribers SET deleted_at_ms = ? WHERE tenant_id = ? "
                                                      "AND id = ? AND deleted_at_ms IS NULL"));
      Binder(s).Int(at_ms).Text(tenant_id).Text(id);
      CS_RETURN_IF_ERROR(StepDone(*conn, s, "delete subscriber"));
      if (sqlite3_changes(conn->db()) == 0) return NotFound("no such subscriber");
      CS_ASSIGN_OR_RETURN(ScopedStmt d, conn->Prepare("DELETE FROM outbox WHERE subscriber_id = ?"));
      Binder(d).Text(id);
      return StepDone(*conn, d, "drop subscriber events");
    });
  }

  Status InsertOutbox(const OutboxEntry& e) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("INSERT INTO outbox(" + std::string(kOutboxColumns) +
                                                 ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
    Binder(s).Text(e.id).Text(e.tenant_id).Text(e.subscriber_id).Text(e.field).Text(e.waba_id).Blob(e.payload_sealed)
        .Text(e.state).Int(e.due_ms).Int(e.attempts).Text(e.last_error).Int(e.created_at_ms).Text(e.subject);
    return StepDone(*c, s, "insert outbox");
  }

  Result<std::vector<OutboxEntry>> LeaseOutbox(int64_t now_ms, int64_t lease_until_ms, int limit,
                                               const std::vector<std::string>& skip_subscribers) override {
    auto c = acquire_();
    Connection* conn = &*c;
    std::vector<OutboxEntry> out;
    // The subscribers to skip, as one JSON array parameter: one prepared statement for any count.
    JsonWriter skip;
    skip.BeginArray();
    for (const std::string& id : skip_subscribers) skip.String(id);
    skip.EndArray();
    CS_RETURN_IF_ERROR(InWriteTransaction(*c, [&]() -> Status {
      out.clear();
      CS_ASSIGN_OR_RETURN(ScopedStmt s, conn->Prepare("SELECT " + std::string(kOutboxColumns) +
                                                      " FROM outbox WHERE state = 'pending' AND due_ms <= ? AND "
                                                      "lease_until_ms <= ? AND subscriber_id NOT IN "
                                                      "(SELECT value FROM json_each(?)) ORDER BY due_ms LIMIT ?"));
      Binder(s).Int(now_ms).Int(now_ms).Text(skip.str()).Int(limit);
      int rc;
      while ((rc = sqlite3_step(s)) == SQLITE_ROW) out.push_back(ReadOutbox(s));
      if (rc != SQLITE_DONE) return SqliteError(conn->db(), rc, "lease outbox");
      CS_ASSIGN_OR_RETURN(ScopedStmt u, conn->Prepare("UPDATE outbox SET lease_until_ms = ? WHERE id = ?"));
      for (const OutboxEntry& e : out) {
        sqlite3_reset(u);
        Binder(u).Int(lease_until_ms).Text(e.id);
        CS_RETURN_IF_ERROR(StepDone(*conn, u, "lease outbox entry"));
      }
      return Status::Ok();
    }));
    return out;
  }

  Status DeleteOutbox(const std::string& id) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("DELETE FROM outbox WHERE id = ?"));
    Binder(s).Text(id);
    return StepDone(*c, s, "delete outbox entry");
  }

  Status RetryOutbox(const std::string& id, int64_t due_ms, int64_t attempts, const std::string& last_error) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("UPDATE outbox SET due_ms = ?, attempts = ?, last_error = ?, "
                                                 "lease_until_ms = 0 WHERE id = ?"));
    Binder(s).Int(due_ms).Int(attempts).Text(last_error).Text(id);
    return StepDone(*c, s, "retry outbox entry");
  }

  Status KillOutbox(const std::string& id, int64_t attempts, const std::string& last_error) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("UPDATE outbox SET state = 'dead', attempts = ?, last_error = ?, "
                                                 "lease_until_ms = 0 WHERE id = ?"));
    Binder(s).Int(attempts).Text(last_error).Text(id);
    return StepDone(*c, s, "kill outbox entry");
  }

  Result<std::vector<OutboxEntry>> DeadLetters(const std::string& tenant_id, const std::string& subscriber_id,
                                               int limit) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("SELECT " + std::string(kOutboxColumns) +
                                                 " FROM outbox WHERE tenant_id = ? AND subscriber_id = ? AND "
                                                 "state = 'dead' ORDER BY created_at_ms, id LIMIT ?"));
    Binder(s).Text(tenant_id).Text(subscriber_id).Int(limit);
    std::vector<OutboxEntry> out;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) out.push_back(ReadOutbox(s));
    if (rc != SQLITE_DONE) return SqliteError(c->db(), rc, "list dead letters");
    return out;
  }

  Status RequeueDead(const std::string& tenant_id, const std::string& id, int64_t now_ms) override {
    auto c = acquire_();
    {
      CS_ASSIGN_OR_RETURN(ScopedStmt check, c->Prepare("SELECT length(payload_sealed) FROM outbox WHERE tenant_id = ? "
                                                       "AND id = ? AND state = 'dead'"));
      Binder(check).Text(tenant_id).Text(id);
      int rc = sqlite3_step(check);
      if (rc == SQLITE_ROW && sqlite3_column_int64(check, 0) == 0) {
        return FailedPrecondition("body_expired", "this event's body was deleted after its retention (MIN-01): it "
                                                  "cannot be delivered again");
      }
      if (rc != SQLITE_ROW && rc != SQLITE_DONE) return SqliteError(c->db(), rc, "read dead letter");
    }
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("UPDATE outbox SET state = 'pending', due_ms = ?, attempts = 0, "
                                                 "created_at_ms = ?, lease_until_ms = 0 WHERE tenant_id = ? AND id = ? "
                                                 "AND state = 'dead' AND length(payload_sealed) > 0"));
    Binder(s).Int(now_ms).Int(now_ms).Text(tenant_id).Text(id);
    CS_RETURN_IF_ERROR(StepDone(*c, s, "requeue dead letter"));
    if (sqlite3_changes(c->db()) == 0) return NotFound("no such dead letter");
    return Status::Ok();
  }

  Result<int64_t> CountOutbox(const std::string& state) override {
    return Count("SELECT COUNT(*) FROM outbox WHERE state = ?", {state});
  }

  Result<std::optional<std::string>> TenantKey(const std::string& tenant_id, const std::string& purpose) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("SELECT wrapped FROM tenant_keys WHERE tenant_id = ? AND purpose = ?"));
    Binder(s).Text(tenant_id).Text(purpose);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) return std::optional<std::string>();
    if (rc != SQLITE_ROW) return SqliteError(c->db(), rc, "read tenant key");
    return std::optional<std::string>(ColumnBlob(s, 0));
  }

  Status InsertTenantKey(const std::string& tenant_id, const std::string& purpose,
                         const std::string& wrapped) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("INSERT OR IGNORE INTO tenant_keys(tenant_id, purpose, wrapped) "
                                                 "VALUES (?, ?, ?)"));
    Binder(s).Text(tenant_id).Text(purpose).Blob(wrapped);
    return StepDone(*c, s, "insert tenant key");
  }

  Result<std::vector<std::tuple<std::string, std::string, std::string>>> ListTenantKeys() override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("SELECT tenant_id, purpose, wrapped FROM tenant_keys "
                                                 "ORDER BY tenant_id, purpose"));
    std::vector<std::tuple<std::string, std::string, std::string>> out;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) out.emplace_back(ColumnText(s, 0), ColumnText(s, 1), ColumnBlob(s, 2));
    if (rc != SQLITE_DONE) return SqliteError(c->db(), rc, "list tenant keys");
    return out;
  }

  Status ReplaceTenantKey(const std::string& tenant_id, const std::string& purpose,
                          const std::string& wrapped) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("UPDATE tenant_keys SET wrapped = ? WHERE tenant_id = ? AND "
                                                 "purpose = ?"));
    Binder(s).Blob(wrapped).Text(tenant_id).Text(purpose);
    CS_RETURN_IF_ERROR(StepDone(*c, s, "replace tenant key"));
    if (sqlite3_changes(c->db()) == 0) return NotFound("no such tenant key");
    return Status::Ok();
  }

  Result<std::vector<std::pair<std::string, std::string>>> TenantKeysOf(const std::string& tenant_id) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("SELECT purpose, wrapped FROM tenant_keys WHERE tenant_id = ? "
                                                 "ORDER BY purpose"));
    Binder(s).Text(tenant_id);
    std::vector<std::pair<std::string, std::string>> out;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) out.emplace_back(ColumnText(s, 0), ColumnBlob(s, 1));
    if (rc != SQLITE_DONE) return SqliteError(c->db(), rc, "list tenant keys");
    return out;
  }

  Status RetireTenantKey(const std::string& tenant_id, const std::string& purpose) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("UPDATE tenant_keys SET wrapped = X'' WHERE tenant_id = ? AND "
                                                 "purpose = ?"));
    Binder(s).Text(tenant_id).Text(purpose);
    CS_RETURN_IF_ERROR(StepDone(*c, s, "retire tenant key"));
    if (sqlite3_changes(c->db()) == 0) return NotFound("no such tenant key");
    return Status::Ok();
  }

  Result<std::vector<TenantSealedField>> ListTenantSealedFields(const std::string& tenant_id, uint32_t version,
                                                                int limit) override {
    auto c = acquire_();
    const std::string header{static_cast<char>((version >> 24) & 0xff), static_cast<char>((version >> 16) & 0xff),
                             static_cast<char>((version >> 8) & 0xff), static_cast<char>(version & 0xff)};
    std::vector<TenantSealedField> out;
    for (const TenantSealedColumn& col : kTenantSealedColumns) {
      if (static_cast<int>(out.size()) >= limit) break;
      // Bytes 2..5 of a ciphertext are its key version (docs/formats/ciphertext.md).
      CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare(std::string("SELECT id, ") + col.column + " FROM " + col.table +
                                                   " WHERE tenant_id = ? AND substr(" + col.column +
                                                   ", 3, 4) = ?" + col.only + " LIMIT ?"));
      Binder(s).Text(tenant_id).Blob(header).Int(limit - static_cast<int>(out.size()));
      int rc;
      while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        out.push_back(TenantSealedField{col.table, col.column, ColumnText(s, 0), ColumnBlob(s, 1)});
      }
      if (rc != SQLITE_DONE) return SqliteError(c->db(), rc, "list sealed fields");
    }
    return out;
  }

  Result<bool> ReplaceTenantSealedField(const std::string& tenant_id, const TenantSealedField& field,
                                        const std::string& resealed) override {
    const TenantSealedColumn* col = nullptr;
    for (const TenantSealedColumn& candidate : kTenantSealedColumns) {
      if (field.table == candidate.table && field.column == candidate.column) col = &candidate;
    }
    if (col == nullptr) return InvalidArgument("invalid_field", "not a tenant-sealed column: " + field.table);
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare(std::string("UPDATE ") + col->table + " SET " + col->column +
                                                 " = ? WHERE tenant_id = ? AND id = ? AND " + col->column + " = ?"));
    Binder(s).Blob(resealed).Text(tenant_id).Text(field.row_id).Blob(field.sealed);
    CS_RETURN_IF_ERROR(StepDone(*c, s, "reseal field"));
    return sqlite3_changes(c->db()) == 1;
  }

  Result<int64_t> DeleteAllTenantKeys() override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("DELETE FROM tenant_keys"));
    CS_RETURN_IF_ERROR(StepDone(*c, s, "delete tenant keys"));
    return static_cast<int64_t>(sqlite3_changes(c->db()));
  }

 private:
  Result<Channel> OneChannel(const std::string& sql, std::initializer_list<std::string> args) {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare(sql));
    Binder b(s);
    for (const std::string& a : args) b.Text(a);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) return NotFound("no such channel");
    if (rc != SQLITE_ROW) return SqliteError(c->db(), rc, "read channel");
    return ReadChannel(s);
  }

  Result<std::vector<Channel>> Channels(const std::string& sql, std::initializer_list<std::string> args) {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare(sql));
    Binder b(s);
    for (const std::string& a : args) b.Text(a);
    std::vector<Channel> out;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) out.push_back(ReadChannel(s));
    if (rc != SQLITE_DONE) return SqliteError(c->db(), rc, "list channels");
    return out;
  }

  Result<MessageRecord> OneMessage(const std::string& sql, std::initializer_list<std::string> args) {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare(sql));
    Binder b(s);
    for (const std::string& a : args) b.Text(a);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) return NotFound("no such message");
    if (rc != SQLITE_ROW) return SqliteError(c->db(), rc, "read message");
    return ReadMessage(s);
  }

  Result<int64_t> Count(const std::string& sql, std::initializer_list<std::string> args) {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare(sql));
    Binder b(s);
    for (const std::string& a : args) b.Text(a);
    int rc = sqlite3_step(s);
    if (rc != SQLITE_ROW) return SqliteError(c->db(), rc, "count");
    return static_cast<int64_t>(sqlite3_column_int64(s, 0));
  }

  std::function<ConnectionHandle()> acquire_;
};

}  // namespace

std::unique_ptr<MessagingRepository> NewMessagingRepository(std::function<ConnectionHandle()> acquire) {
  return std::make_unique<SqliteMessaging>(std::move(acquire));
}

}  // namespace cs::sqlite_internal
