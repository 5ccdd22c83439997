// File: store.h
// Repository interfaces over durable storage. Every record belongs to a
// tenant, and every tenant-scoped lookup takes the TenantId, so another
// tenant's object is indistinguishable from a missing one (kNotFound).
//
// Backends: sqlite/ (embedded default, WAL). PostgreSQL will implement the
// same interfaces and must pass conformance/store_conformance.cc.
//
// Errors: kNotFound "not_found"; kAlreadyExists "conflict";
// kUnavailable "storage_unavailable" when the database cannot be reached,
// is locked past the busy timeout, or the disk is full.
//
// Thread-safety: a Store and its repositories are safe for concurrent use.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace cs {

struct Tenant {
  std::string id;           // "ten_" + 24 hex
  std::string name;         // unique, 1–100 printable characters
  int64_t created_at_ms = 0;
  std::optional<int64_t> audit_retention_days;  // unset: audit.retention_days
  std::optional<std::string> content_policy;    // JSON (docs/scan.md); unset: the defaults
};

struct ApiKeyRecord {
  std::string id;                     // "key_" + 24 hex; public, appears in the token
  std::string tenant_id;
  std::string name;                   // label chosen by the operator
  std::vector<std::string> scopes;    // sorted, unique
  std::string secret_hash;            // SHA-256 of the secret, hex; never the secret
  int64_t created_at_ms = 0;
  int64_t expires_at_ms = 0;          // always set: keys always expire
  std::optional<int64_t> revoked_at_ms;
  std::optional<std::string> rotated_from;  // the key this one replaced
};

class TenantRepository {
 public:
  virtual ~TenantRepository() = default;
  // Inserts `tenant`; kAlreadyExists "conflict" if the id or name is taken.
  virtual Status Create(const Tenant& tenant) = 0;
  // Returns the tenant with `id`, or kNotFound.
  virtual Result<Tenant> Get(const std::string& id) = 0;
  // Returns the tenant named `name`, or kNotFound.
  virtual Result<Tenant> FindByName(const std::string& name) = 0;
  // Returns every tenant, oldest first.
  virtual Result<std::vector<Tenant>> List() = 0;
  // Sets (or clears, with nullopt) the tenant's audit retention. kNotFound for an unknown tenant.
  virtual Status SetAuditRetention(const std::string& id, std::optional<int64_t> days) = 0;
  // Sets (or clears) the tenant's content-protection policy, a JSON object
  // validated by the caller. kNotFound for an unknown tenant.
  virtual Status SetContentPolicy(const std::string& id, std::optional<std::string> policy_json) = 0;
};

class ApiKeyRepository {
 public:
  virtual ~ApiKeyRepository() = default;
  // Inserts `key`; kAlreadyExists if the id is taken, kNotFound if its tenant does not exist.
  virtual Status Insert(const ApiKeyRecord& key) = 0;
  // Returns the key with `id` in any tenant (used only to authenticate a token).
  virtual Result<ApiKeyRecord> FindForAuthentication(const std::string& id) = 0;
  // Returns the key `id` of `tenant_id`, or kNotFound (also for another tenant's key).
  virtual Result<ApiKeyRecord> Get(const std::string& tenant_id, const std::string& id) = 0;
  // Returns the keys of `tenant_id`, oldest first.
  virtual Result<std::vector<ApiKeyRecord>> List(const std::string& tenant_id) = 0;
  // Marks the key revoked at `at_ms` (idempotent: an earlier revocation time
  // is kept). kNotFound for a missing or foreign key.
  virtual Status Revoke(const std::string& tenant_id, const std::string& id, int64_t at_ms) = 0;
  // Atomically inserts `replacement` and moves the old key's expiry to
  // min(current expiry, `old_expires_at_ms`). kNotFound if the old key is
  // missing, foreign or revoked.
  virtual Status Rotate(const std::string& tenant_id, const std::string& old_id, int64_t old_expires_at_ms,
                        const ApiKeyRecord& replacement) = 0;
};

// One entry of the audit ledger as stored. The audit module computes seq,
// prev_hash and entry_hash (docs/formats/audit-ledger.md); the store only
// keeps them. Text fields never hold personal data (pseudonyms and ids only).
struct AuditRecordView;  // audit/record_format.h

struct AuditRecord {
  int64_t seq = 0;            // 1, 2, 3, … without gaps
  int64_t ts_ms = 0;          // UTC unix milliseconds
  std::string tenant_id;      // "" for the system stream
  std::string actor_type;     // "integration" | "operator" | "system" | "anonymous"
  std::string actor_id;
  std::string action;         // e.g. "apikey.create"
  std::string subject;        // subject pseudonym or ""
  std::string purpose;
  std::string resource;       // e.g. "apikey:key_…"
  std::string outcome;        // "success" or a machine error code
  std::string request_id;
  std::string source;         // "api" | "cli" | "system"
  std::string details;        // compact JSON object of non-personal details
  std::string prev_hash;      // 32 bytes
  std::string entry_hash;     // 32 bytes: the RFC 6962 leaf hash
};

// One stored entry as raw bytes, for verification at full speed: the
// canonical record (audit/record_format.h) and its stored hash. Entries are
// stored in blocks, one per append transaction; `block` is the seq of the
// block's first entry. Views are valid only during the visit.
struct AuditRawEntry {
  int64_t seq = 0;
  int64_t block = 0;
  std::string_view record;      // canonical bytes
  std::string_view entry_hash;
  // The record already parsed by the store (it walks a block's records to
  // find where each ends), or null: saves the verifier a second parse.
  const AuditRecordView* parsed = nullptr;
};

// A signed tree head over the first tree_size entries.
struct TreeHead {
  int64_t tree_size = 0;
  std::string root_hash;      // 32 bytes
  int64_t ts_ms = 0;
  std::string key_id;         // hex id of the signing key
  std::string signature;      // Ed25519 over the signed form (see the format doc)
  std::string frontier;       // serialized right edge of the tree, to extend it later
};

// The state left in the database when entries 1..upto_seq were moved to an
// archived segment: verification continues from it.
struct AuditCheckpoint {
  int64_t upto_seq = 0;
  std::string last_hash;       // entry_hash of upto_seq
  std::string frontier;        // Merkle frontier of the tree of size upto_seq
  int64_t archived_at_ms = 0;
  int64_t retain_until_ms = 0;  // the segment may be destroyed after this
  std::string segment_name;    // file name of the segment
  std::string segment_sha256;  // 32 bytes: hash of the segment file
};

struct AuditQuery {
  std::optional<std::string> tenant_id;  // unset: every tenant (operator tools only)
  std::optional<std::string> actor_id;
  std::optional<std::string> subject;
  std::optional<std::string> action;
  int64_t from_ms = 0;                   // inclusive
  int64_t to_ms = INT64_MAX;             // exclusive
  int64_t after_seq = 0;                 // paging cursor
  int limit = 100;
};

class AuditRepository {
 public:
  virtual ~AuditRepository() = default;
  // Returns the last entry's seq and entry_hash, or {0, ""} when empty.
  virtual Result<std::pair<int64_t, std::string>> Tail() = 0;
  // Appends `records` (consecutive seqs, the first one past the tail) as one
  // block; kAlreadyExists if its first seq is taken.
  virtual Status AppendBlock(const std::vector<AuditRecord>& records) = 0;
  // Returns matching entries in seq order, at most query.limit. Every filter
  // is applied to the records themselves; the search index only narrows
  // down which blocks are read.
  virtual Result<std::vector<AuditRecord>> Query(const AuditQuery& query) = 0;
  // Calls `visit` for each entry with seq >= from_seq in order until it returns false.
  virtual Status Scan(int64_t from_seq, const std::function<bool(const AuditRecord&)>& visit) = 0;
  // Like Scan, without decoding: for verification.
  virtual Status ScanRaw(int64_t from_seq, const std::function<bool(const AuditRawEntry&)>& visit) = 0;
  // Returns entry hashes of seq in [from_seq, to_seq], in order, archived ones included.
  virtual Result<std::vector<std::string>> EntryHashes(int64_t from_seq, int64_t to_seq) = 0;
  // Moves entries up to checkpoint.upto_seq out of the live table, keeping
  // their hashes (proofs keep working) and recording `checkpoint`. Run inside
  // a transaction, after the segment file is safely written.
  virtual Status Archive(const AuditCheckpoint& checkpoint) = 0;
  // Returns the latest checkpoint, or nullopt when nothing was archived.
  virtual Result<std::optional<AuditCheckpoint>> LatestCheckpoint() = 0;
  virtual Status InsertTreeHead(const TreeHead& head) = 0;
  // Returns every tree head, smallest first.
  virtual Result<std::vector<TreeHead>> TreeHeads() = 0;
  // Returns the largest tree head, or nullopt when none.
  virtual Result<std::optional<TreeHead>> LatestTreeHead() = 0;

  // The search index: which blocks mention a term ("t" + tenant id, "s" +
  // subject pseudonym). It is built after commit, off the append path:
  // IndexPending indexes the blocks after IndexedUpto(), whole blocks, about
  // `max_entries` entries, and returns how many it indexed. Queries read
  // the index up to IndexedUpto() and the blocks after it directly.
  virtual Result<int64_t> IndexPending(int64_t max_entries) = 0;
  virtual Result<int64_t> IndexedUpto() = 0;
  // Empties the search index (to rebuild it with IndexPending).
  virtual Status ClearIndex() = 0;
  // Calls `visit` for every (term, block) posting, in no particular order.
  virtual Status ScanPostings(const std::function<void(std::string_view term, int64_t block)>& visit) = 0;

  // Stored Merkle nodes (a cache for proofs, docs/audit.md): the root of the
  // leaves [index * 2^level, (index + 1) * 2^level). A wrong node only
  // yields a proof that fails against the signed root.
  virtual Status PutMerkleNode(int level, int64_t index, const std::string& hash) = 0;
  virtual Result<std::optional<std::string>> GetMerkleNode(int level, int64_t index) = 0;
  // How many consecutive nodes from index 0 are stored at `level`.
  virtual Result<int64_t> CountMerkleNodes(int level) = 0;
};

// ------------------------------------------------------------- messaging
// Secrets and message content are stored sealed (vault/aead.h via a Kms);
// recipients appear only as subject pseudonyms. Nothing here is plaintext
// personal data except the business's own display number.

// Where a field sealed under a tenant key lives (see ListTenantSealedFields).
struct TenantSealedField {
  std::string table;    // "channels", "subscribers", "outbox", "inbound_messages", "messages"
  std::string column;   // e.g. "app_secret_sealed"
  std::string row_id;
  std::string sealed;
};

// A business phone number on the Cloud API, owned by one tenant.
struct Channel {
  std::string id;                    // "chn_" + 24 hex
  std::string tenant_id;
  std::string phone_number_id;       // Meta's numeric id; unique across tenants
  std::string waba_id;
  std::string display_phone_number;  // the business's number (not personal data)
  std::string graph_base_url;        // "https://graph.facebook.com" or the sandbox
  std::string graph_version;         // "v23.0"
  std::string access_token_sealed;   // Meta token, sealed
  std::string app_secret_sealed;     // verifies inbound webhooks, sealed
  std::string verify_token_sealed;   // the GET handshake token, sealed
  // The app secret replaced last, sealed ("" when none), and until when
  // webhooks signed with it are still accepted (SEC-03).
  std::string previous_app_secret_sealed;
  int64_t previous_app_secret_until_ms = 0;
  int64_t throughput_per_second = 80;
  std::string paused_reason;         // "" while active, e.g. "token_invalid"
  int64_t created_at_ms = 0;
};

// Exposed states; they only move forward (docs/messaging.md).
// accepted → sent → delivered → read; failed; unknown (outcome not known).
struct MessageRecord {
  std::string id;                 // "msg_" + 24 hex
  std::string tenant_id;
  std::string channel_id;
  std::string subject;            // recipient pseudonym
  std::string kind;               // "message" | "mark_read"
  std::string type;               // "text", "template", …
  bool free_form = true;
  std::string purpose_id;         // the purpose its consent was checked for ("" for free-form and receipts)
  std::string payload_sealed;     // the Graph body (with the recipient), sealed
  std::string state = "accepted";
  // Meta's id once submitted. Meta's ids embed the user's number, so it is
  // kept as a keyed hash (status webhooks find the message by it) and as a
  // copy sealed under the subject's key (replies refer to it; erasure
  // shreds it), never in clear (MIN-02, DSR-05).
  std::string wamid_hash;         // TenantKeyring::ProviderIdToken, "" until known
  std::string wamid_sealed;       // "" until known
  std::string error_code;         // gateway code when failed, e.g. "template_required"
  int64_t provider_code = 0;      // Meta's error code, if any
  int64_t seen = 0;               // bit set of statuses received: 1 sent, 2 delivered, 4 read, 8 failed
  int64_t attempts = 0;
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
};

struct OutboundJob {
  std::string message_id;
  std::string tenant_id;
  std::string channel_id;
  std::string subject;
  int64_t due_ms = 0;
  int64_t attempts = 0;
  bool was_in_flight = false;     // a previous lease ended mid-call: the outcome is unknown
};

struct StatusEventRecord {
  std::string message_id;
  std::string status;             // as received
  int64_t provider_ts_ms = 0;
  int64_t received_at_ms = 0;
  int64_t provider_code = 0;
};

struct InboundMessageRecord {
  std::string id;                 // "inm_" + 24 hex
  std::string tenant_id;
  std::string channel_id;
  std::string subject;            // sender pseudonym ("" if hidden)
  std::string wamid_hash;         // keyed hash of Meta's id ("" for rows older than migration 18)
  std::string wamid_sealed;       // Meta's id sealed under the subject's key: mark-read, replies, reactions
  std::string type;
  int64_t sent_at_ms = 0;         // the provider timestamp
  int64_t received_at_ms = 0;
  std::string payload_sealed;     // the raw message object, sealed
};

// Conversation history (MIN-01, RET-01): off unless the tenant turns it on
// with a purpose, a legal basis and a retention. While on, message bodies
// are kept `retention_days` instead of being cleared after delivery.
struct HistoryPolicy {
  std::string tenant_id;
  int64_t retention_days = 0;   // 1–3650
  std::string purpose;          // why the history is kept (records of processing)
  std::string legal_basis;      // consent | contract | legal_obligation | legitimate_interests
  int64_t enabled_at_ms = 0;
};

struct IdempotencyRecord {
  std::string request_hash;       // SHA-256 of the canonical request
  std::string message_id;
};

// A company system that receives events in Meta's webhook shape (docs/forwarding.md).
struct Subscriber {
  std::string id;                 // "sbs_" + 24 hex
  std::string tenant_id;
  std::string url;
  std::string secret_sealed;      // signs what it receives
  std::vector<std::string> events;  // sorted subset of "messages", "statuses", "preferences"
  bool clear_phone_numbers = false; // false: numbers replaced by subject pseudonyms (MIN-03)
  bool include_content = false;     // false: ids, types, states and times only (MIN-03)
  // A third party that receives data for sale or cross-context behavioural
  // advertising (CCPA "sale or sharing"): subjects who opted out are never
  // forwarded to it (CONS-10).
  bool sale_or_sharing = false;
  int64_t created_at_ms = 0;
  std::optional<int64_t> deleted_at_ms;
};

// One event waiting for (or given up on by) one subscriber.
struct OutboxEntry {
  std::string id;                 // "evt_" + 24 hex; X-Gateway-Event-Id
  std::string tenant_id;
  std::string subject;            // whose event it is ("" for none): the payload is sealed under their key
  std::string subscriber_id;
  std::string field;              // the webhook field: "messages" or "user_preferences"
  std::string waba_id;
  std::string payload_sealed;     // the "value" object to send, sealed
  std::string state = "pending";  // "pending" | "dead"
  int64_t due_ms = 0;
  int64_t attempts = 0;
  std::string last_error;         // machine code or HTTP status of the last failure
  int64_t created_at_ms = 0;
};

// A media id the tenant may use through the gateway: one it uploaded, or
// one its customers sent (docs/media.md). Only the reference is kept: the
// bytes stay with Meta (data minimisation).
struct MediaRef {
  std::string tenant_id;
  std::string media_id;        // Meta's id
  std::string channel_id;      // whose token reads it
  std::string direction;       // "upload" | "inbound"
  std::string subject;         // the customer who sent it ("" for uploads): erased with them
  std::string mime_type;
  int64_t created_at_ms = 0;
  int64_t expires_at_ms = 0;   // Meta's lifetime: 30 days from upload, 7 from receipt
};

class MessagingRepository {
 public:
  virtual ~MessagingRepository() = default;
  // kAlreadyExists "conflict" when the phone_number_id is taken.
  virtual Status InsertChannel(const Channel& channel) = 0;
  virtual Result<Channel> GetChannel(const std::string& tenant_id, const std::string& id) = 0;
  // Any tenant: only for routing inbound webhooks.
  virtual Result<Channel> FindChannel(const std::string& id) = 0;
  virtual Result<Channel> FindChannelByPhoneNumberId(const std::string& phone_number_id) = 0;
  virtual Result<std::vector<Channel>> ListChannels(const std::string& tenant_id) = 0;
  // Every channel of every tenant (the dispatcher's view).
  virtual Result<std::vector<Channel>> AllChannels() = 0;
  virtual Status SetChannelPaused(const std::string& id, const std::string& reason) = 0;
  // Writes the endpoint, throughput and sealed secrets of `channel` (by tenant and id).
  virtual Status UpdateChannel(const Channel& channel) = 0;

  // Inserts the message and its outbound job together.
  virtual Status InsertMessage(const MessageRecord& message, const OutboundJob& job) = 0;
  virtual Result<MessageRecord> GetMessage(const std::string& tenant_id, const std::string& id) = 0;
  // By the keyed hash of Meta's id (MessageRecord::wamid_hash).
  virtual Result<MessageRecord> FindMessageByWamidHash(const std::string& wamid_hash) = 0;
  virtual Result<MessageRecord> FindMessage(const std::string& id) = 0;
  // Writes state, wamid_hash and wamid_sealed, error, seen, attempts, updated_at and the payload
  // (emptied once dispatching ends: bodies are not kept, MIN-01).
  virtual Status UpdateMessage(const MessageRecord& message) = 0;
  virtual Status InsertStatusEvent(const StatusEventRecord& event) = 0;
  virtual Result<std::vector<StatusEventRecord>> StatusEvents(const std::string& message_id) = 0;

  // Leases up to `limit` due jobs (due_ms <= now, no live lease) until
  // `lease_until_ms`; returns them with their in-flight flag (set when a
  // previous holder was about to call the provider and never recorded the outcome).
  virtual Result<std::vector<OutboundJob>> LeaseJobs(int64_t now_ms, int64_t lease_until_ms, int limit) = 0;
  // Marks a leased job as being sent now (committed before the provider call).
  // kNotFound when the job is gone (cancelled by an erasure meanwhile) or
  // already in flight: the caller must not send.
  virtual Status MarkInFlight(const std::string& message_id) = 0;
  // Puts a job back for later: no lease, not in flight.
  virtual Status RescheduleJob(const std::string& message_id, int64_t due_ms, int64_t attempts) = 0;
  virtual Status DeleteJob(const std::string& message_id) = 0;
  virtual Result<int64_t> CountJobs() = 0;

  virtual Result<std::optional<IdempotencyRecord>> FindIdempotencyKey(const std::string& tenant_id,
                                                                      const std::string& key) = 0;
  virtual Status InsertIdempotencyKey(const std::string& tenant_id, const std::string& key,
                                      const IdempotencyRecord& record, int64_t now_ms) = 0;

  // Records a delivery key (a wamid's keyed hash, with the status for a
  // status), with `ref`, the gateway's id of what it delivered; false if
  // already seen.
  virtual Result<bool> MarkSeen(const std::string& dedupe_key, int64_t now_ms, const std::string& ref) = 0;
  // The `ref` recorded with a delivery key still within the horizon, or nullopt.
  virtual Result<std::optional<std::string>> SeenRef(const std::string& dedupe_key) = 0;
  // Forgets delivery keys older than `before_ms`; returns how many.
  virtual Result<int64_t> PurgeSeen(int64_t before_ms) = 0;
  virtual Status InsertInbound(const InboundMessageRecord& message) = 0;
  // Returns an inbound message of the tenant, or kNotFound.
  virtual Result<InboundMessageRecord> GetInbound(const std::string& tenant_id, const std::string& id) = 0;
  // Replaces the sealed payload of an inbound message (content protection
  // masking a value found after it was stored). kNotFound if absent.
  virtual Status UpdateInboundPayload(const std::string& tenant_id, const std::string& id,
                                      const std::string& payload_sealed) = 0;
  virtual Result<int64_t> CountInbound(const std::string& tenant_id) = 0;
  // Media references (MediaRef). Put replaces the tenant's earlier one.
  virtual Status PutMediaRef(const MediaRef& ref) = 0;
  // The tenant's reference, or kNotFound (another tenant's media included).
  virtual Result<MediaRef> GetMediaRef(const std::string& tenant_id, const std::string& media_id) = 0;
  virtual Status DeleteMediaRef(const std::string& tenant_id, const std::string& media_id) = 0;
  // Forgets references that expired before `now_ms`; returns how many.
  virtual Result<int64_t> PurgeMediaRefs(int64_t now_ms) = 0;
  // The customer-service window: the last inbound message time per (channel, subject).
  virtual Status TouchWindow(const std::string& channel_id, const std::string& subject, int64_t at_ms) = 0;
  virtual Result<std::optional<int64_t>> LastInbound(const std::string& channel_id, const std::string& subject) = 0;
  // Keeps what could not be routed or parsed, sealed, for an operator.
  virtual Status Quarantine(int64_t at_ms, const std::string& reason, const std::string& body_sealed) = 0;
  virtual Result<int64_t> CountQuarantined() = 0;
  // Deletes quarantined items kept since before `before_ms`; returns how many.
  virtual Result<int64_t> PurgeQuarantine(int64_t before_ms) = 0;
  // MIN-01: clears the sealed body of every inbound message received before
  // `before_ms`, and of every outbound message created before it whose
  // dispatching is over, in tenants without a history policy (the metadata
  // stays); returns how many.
  virtual Result<int64_t> PurgeInboundBodies(int64_t before_ms) = 0;
  // RET-01: the same for one tenant (its history policy's retention).
  virtual Result<int64_t> PurgeTenantBodies(const std::string& tenant_id, int64_t before_ms) = 0;
  virtual Result<std::optional<HistoryPolicy>> GetHistoryPolicy(const std::string& tenant_id) = 0;
  virtual Status PutHistoryPolicy(const HistoryPolicy& policy) = 0;
  // False when there was none.
  virtual Result<bool> DeleteHistoryPolicy(const std::string& tenant_id) = 0;
  virtual Result<std::vector<HistoryPolicy>> ListHistoryPolicies() = 0;
  // The subject's newest `limit` inbound messages and outbound messages of
  // the tenant, newest first (bodies as stored: empty once purged).
  virtual Result<std::vector<InboundMessageRecord>> ListInboundOfSubject(const std::string& tenant_id,
                                                                        const std::string& subject, int limit) = 0;
  virtual Result<std::vector<MessageRecord>> ListMessagesOfSubject(const std::string& tenant_id,
                                                                   const std::string& subject, int limit) = 0;
  // MIN-01: events created before `before_ms` lose their body; those not yet
  // delivered become dead letters with last_error "expired". An event a
  // forwarder holds a lease on at `now_ms` waits for the next run. Returns how many.
  virtual Result<int64_t> ExpireOutboxBodies(int64_t before_ms, int64_t now_ms) = 0;

  virtual Status InsertSubscriber(const Subscriber& subscriber) = 0;
  // Live (not deleted) subscribers of the tenant, oldest first.
  virtual Result<std::vector<Subscriber>> ListSubscribers(const std::string& tenant_id) = 0;
  virtual Result<Subscriber> GetSubscriber(const std::string& tenant_id, const std::string& id) = 0;
  // Marks it deleted and drops its pending events. kNotFound if missing or foreign.
  virtual Status DeleteSubscriber(const std::string& tenant_id, const std::string& id, int64_t at_ms) = 0;
  virtual Status InsertOutbox(const OutboxEntry& entry) = 0;
  // Leases up to `limit` pending entries due by `now_ms` until `lease_until_ms`.
  // Leases up to `limit` due entries, oldest due first, skipping those of
  // the subscribers in `skip_subscribers` (busy or cooling down).
  virtual Result<std::vector<OutboxEntry>> LeaseOutbox(int64_t now_ms, int64_t lease_until_ms, int limit,
                                                       const std::vector<std::string>& skip_subscribers = {}) = 0;
  virtual Status DeleteOutbox(const std::string& id) = 0;
  virtual Status RetryOutbox(const std::string& id, int64_t due_ms, int64_t attempts, const std::string& last_error) = 0;
  virtual Status KillOutbox(const std::string& id, int64_t attempts, const std::string& last_error) = 0;
  // Dead entries of a subscriber of the tenant, oldest first, at most `limit`.
  virtual Result<std::vector<OutboxEntry>> DeadLetters(const std::string& tenant_id, const std::string& subscriber_id,
                                                       int limit) = 0;
  // Puts a dead entry back in the queue, due now. kNotFound if missing, foreign or not dead.
  virtual Status RequeueDead(const std::string& tenant_id, const std::string& id, int64_t now_ms) = 0;
  virtual Result<int64_t> CountOutbox(const std::string& state) = 0;

  // A tenant key ("pepper", "content"), wrapped by the KMS.
  virtual Result<std::optional<std::string>> TenantKey(const std::string& tenant_id, const std::string& purpose) = 0;
  // Inserts the key unless one exists (first writer wins; read it back after).
  virtual Status InsertTenantKey(const std::string& tenant_id, const std::string& purpose,
                                 const std::string& wrapped) = 0;
  // Every stored tenant key: (tenant id, purpose, wrapped), for master-key rotation.
  virtual Result<std::vector<std::tuple<std::string, std::string, std::string>>> ListTenantKeys() = 0;
  // Replaces a stored tenant key's wrapped form (the same key under another
  // master key). kNotFound if absent.
  virtual Status ReplaceTenantKey(const std::string& tenant_id, const std::string& purpose,
                                  const std::string& wrapped) = 0;
  // Deletes every tenant key (a backup's data part holds none); returns how many.
  virtual Result<int64_t> DeleteAllTenantKeys() = 0;
  // The tenant's keys as (purpose, wrapped); a retired key has wrapped "".
  virtual Result<std::vector<std::pair<std::string, std::string>>> TenantKeysOf(const std::string& tenant_id) = 0;
  // Retires a tenant key: its wrapped form is erased, the row stays (so the
  // version is never created again). kNotFound if absent.
  virtual Status RetireTenantKey(const std::string& tenant_id, const std::string& purpose) = 0;

  // Tenant-key rotation: fields of the tenant sealed directly under a
  // tenant key (channel and subscriber secrets, payloads without a subject)
  // whose ciphertext header names `version`, at most `limit`. Each is bound
  // to (tenant, "", row_id, column without "_sealed").
  virtual Result<std::vector<TenantSealedField>> ListTenantSealedFields(const std::string& tenant_id,
                                                                        uint32_t version, int limit) = 0;
  // Replaces one such field if it still holds field.sealed; false otherwise.
  virtual Result<bool> ReplaceTenantSealedField(const std::string& tenant_id, const TenantSealedField& field,
                                                const std::string& resealed) = 0;
};

// --------------------------------------------------------------- consent

// What a tenant processes personal data for, and on which legal basis.
struct Purpose {
  std::string tenant_id;
  std::string id;                  // slug chosen by the tenant, e.g. "marketing"
  std::string name;
  std::string legal_basis;         // consent | contract | legal_obligation | vital_interests | public_task | legitimate_interests
  std::string category;            // the template category it covers: MARKETING | UTILITY | AUTHENTICATION
  bool special_category = false;   // GDPR Art. 9: needs explicit consent
  std::string confirmation_template;  // the double opt-in request (a UTILITY template)
  std::string confirmation_language;
  int64_t created_at_ms = 0;
};

// The current consent of one subject for one purpose (channel: WhatsApp).
// States: pending, active, withdrawn, expired, declined (none = no record).
struct ConsentRecord {
  std::string tenant_id;
  std::string subject;
  std::string purpose_id;
  std::string state;
  int64_t version = 0;             // optimistic concurrency: +1 per change
  int64_t updated_at_ms = 0;
  int64_t pending_expires_at_ms = 0;
  std::string channel_id;          // the business number the confirmation went out on
  std::string confirmation_message_id;  // the gateway message that asked
  std::string notice_version;
  std::string notice_hash;         // hex SHA-256 of the exact notice text
  bool explicit_consent = false;   // Art. 9 consent, recorded as such
};

// One transition, with its evidence (CONS-06). Append-only.
struct ConsentEvent {
  int64_t seq = 0;                 // assigned on insert
  std::string tenant_id;
  std::string subject;
  std::string purpose_id;
  std::string from_state;          // "none" for the first
  std::string to_state;
  int64_t at_ms = 0;
  std::string actor;               // "integration:key_…", "subject", "operator:…", "system"
  std::string reason;              // e.g. "registered", "reply_affirmative", "stop_keyword", "user_preferences"
  std::string evidence;            // compact JSON: source, notice, wamids, reply hash, …
};

// A message template as the gateway knows it (registered or synced from Meta).
struct TemplateRecord {
  std::string tenant_id;
  std::string name;
  std::string language;
  std::string category;            // MARKETING | UTILITY | AUTHENTICATION, as Meta categorised it
  std::string purpose_id;          // what sending it is for
  bool has_optout = false;         // carries an opt-out button or text (CONS-07)
  int64_t updated_at_ms = 0;
  std::string status = "APPROVED"; // Meta's review: APPROVED, PAUSED, DISABLED, REJECTED, …
};

// A privacy notice in one language (DOC-07): stored once per version and
// language, immutable, referenced by the consent events given under it.
struct Notice {
  std::string tenant_id;
  std::string version;             // chosen by the tenant, e.g. "2026-11"
  std::string language;            // ISO 639-1: "en", "de", …
  int64_t seq = 0;                 // publication order of the version within the tenant
  std::string text;                // the exact notice text
  std::string sha256;              // hex SHA-256 of text
  std::string info_message;        // the short information message sent at first contact
  bool requires_reconsent = false; // CONS-09: consents under older versions stop counting
  std::vector<std::string> reconsent_purposes;         // empty: every purpose
  std::vector<std::string> special_category_purposes;  // whose special category the text names (CONS-11)
  int64_t valid_from_ms = 0;
  int64_t created_at_ms = 0;
  std::string created_by;
};

// That a subject was given a notice version: by the information message
// the gateway sent, or on the page that captured their consent.
struct NoticeDelivery {
  std::string tenant_id;
  std::string subject;
  std::string version;
  std::string language;
  std::string source;              // "info_message" | "consent_evidence"
  std::string channel_id;
  std::string message_id;          // "" while the information message is being sent
  int64_t at_ms = 0;
};

// A subject's choice about the sale or sharing of their data (CCPA/CPRA
// §1798.120, CONS-10). No record: the default (not opted out).
struct SaleSharingChoice {
  std::string tenant_id;
  std::string subject;
  bool opted_out = false;
  bool gpc = false;                // the last opt-out came from a Global Privacy Control signal
  std::string source;              // "gpc_header", "integration", "request", …
  int64_t opted_out_at_ms = 0;     // the last opt-out (re-solicitation is blocked 12 months after it)
  int64_t updated_at_ms = 0;
};

class ConsentRepository {
 public:
  virtual ~ConsentRepository() = default;
  // Inserts or replaces a purpose of the tenant.
  virtual Status PutPurpose(const Purpose& purpose) = 0;
  virtual Result<Purpose> GetPurpose(const std::string& tenant_id, const std::string& id) = 0;
  virtual Result<std::vector<Purpose>> ListPurposes(const std::string& tenant_id) = 0;
  virtual Result<std::optional<ConsentRecord>> GetConsent(const std::string& tenant_id, const std::string& subject,
                                                          const std::string& purpose_id) = 0;
  virtual Result<std::vector<ConsentRecord>> SubjectConsents(const std::string& tenant_id,
                                                             const std::string& subject) = 0;
  // The tenant's consents in (subject, purpose) order, after the given pair
  // ("", "" for the first page): for loading them all, page by page.
  virtual Result<std::vector<ConsentRecord>> ConsentsPage(const std::string& tenant_id,
                                                          const std::string& after_subject,
                                                          const std::string& after_purpose, int limit) = 0;
  // Writes `record` if the stored version is `expected_version` (0: none
  // stored yet); otherwise kAlreadyExists "conflict". Stores version + 1.
  virtual Status PutConsent(const ConsentRecord& record, int64_t expected_version) = 0;
  virtual Status AppendConsentEvent(const ConsentEvent& event) = 0;
  virtual Result<std::vector<ConsentEvent>> ConsentEvents(const std::string& tenant_id, const std::string& subject) = 0;
  virtual Status PutTemplate(const TemplateRecord& record) = 0;
  virtual Result<std::optional<TemplateRecord>> GetTemplate(const std::string& tenant_id, const std::string& name,
                                                            const std::string& language) = 0;
  virtual Result<std::vector<TemplateRecord>> ListTemplates(const std::string& tenant_id) = 0;

  // Notices are immutable: kAlreadyExists "notice_exists" when the version
  // and language are already stored.
  virtual Status InsertNotice(const Notice& notice) = 0;
  // Every notice of the tenant, in publication order (seq, then language).
  virtual Result<std::vector<Notice>> ListNotices(const std::string& tenant_id) = 0;
  // Inserts or replaces the delivery of (tenant, subject, version, language).
  virtual Status PutNoticeDelivery(const NoticeDelivery& delivery) = 0;
  // Deletes the delivery of (tenant, subject, version, language) only if it
  // is still an information message reserved and never sent.
  virtual Status ReleaseNoticeReservation(const std::string& tenant_id, const std::string& subject,
                                          const std::string& version, const std::string& language) = 0;
  virtual Result<std::vector<NoticeDelivery>> NoticeDeliveries(const std::string& tenant_id,
                                                               const std::string& subject) = 0;
  // Erasure: the subject starts over, as a first contact.
  virtual Status DeleteNoticeDeliveries(const std::string& tenant_id, const std::string& subject) = 0;

  virtual Result<std::optional<SaleSharingChoice>> GetSaleSharing(const std::string& tenant_id,
                                                                  const std::string& subject) = 0;
  virtual Status PutSaleSharing(const SaleSharingChoice& choice) = 0;
};

// Repositories bound to one open write transaction.
// ---------------------------------------------------------------- vault

// A subject's data key, wrapped under the tenant's content key. Erasure
// destroys it (wrapped cleared); data sealed under it can never be opened
// again. A later message from the same person starts a new generation.
struct SubjectKeyRecord {
  std::string tenant_id;
  std::string subject;
  int64_t generation = 1;          // appears in ciphertext headers (docs/formats/ciphertext.md)
  std::optional<std::string> wrapped;  // nullopt once destroyed
  int64_t created_at_ms = 0;
  std::optional<int64_t> destroyed_at_ms;
};

// One erasure of a subject (GDPR Art. 17), journalled so it resumes after a
// crash at any step: requested → key_destroyed → data_erased → done.
struct ErasureRecord {
  std::string id;                  // "era_" + 24 hex
  std::string tenant_id;
  std::string subject;
  std::string step = "requested";
  std::string actor;               // "<type>:<id>" of who asked
  int64_t requested_at_ms = 0;
  int64_t updated_at_ms = 0;
  std::string details = "{}";      // counts of what was erased, no personal data
};

// What EraseSubjectData removed.
struct ErasedCounts {
  int64_t inbound_messages = 0;
  int64_t outbound_payloads = 0;   // message bodies cleared (their metadata stays, pseudonymous)
  int64_t cancelled_sends = 0;     // queued messages that will now never be sent
  int64_t forwarded_events = 0;    // pending or dead outbox entries
};

class VaultRepository {
 public:
  virtual ~VaultRepository() = default;
  virtual Result<std::optional<SubjectKeyRecord>> GetSubjectKey(const std::string& tenant_id,
                                                                const std::string& subject) = 0;
  // Inserts generation 1; false (no error) when a row exists already.
  virtual Result<bool> InsertSubjectKey(const SubjectKeyRecord& key) = 0;
  // Starts `key.generation` after a destroyed one, only if the stored row is
  // still at `previous_generation` and destroyed; false when another writer won.
  virtual Result<bool> RenewSubjectKey(const SubjectKeyRecord& key, int64_t previous_generation) = 0;
  // Clears the wrapped key (crypto-shredding). Idempotent; a subject with no
  // key gets a destroyed row, so the erasure is on record either way.
  virtual Status DestroySubjectKey(const std::string& tenant_id, const std::string& subject, int64_t at_ms) = 0;
  virtual Result<int64_t> CountSubjectKeys(const std::string& tenant_id) = 0;

  // Deletes or clears everything the messaging tables hold about the
  // subject: inbound messages, outbound bodies, queued sends (the message
  // becomes failed/subject_erased), forwarding events, service windows.
  // Messages already in flight at Meta keep their job: their outcome still arrives.
  virtual Result<ErasedCounts> EraseSubjectData(const std::string& tenant_id, const std::string& subject,
                                                int64_t at_ms) = 0;

  virtual Status InsertErasure(const ErasureRecord& erasure) = 0;
  virtual Status UpdateErasure(const ErasureRecord& erasure) = 0;
  virtual Result<ErasureRecord> GetErasure(const std::string& tenant_id, const std::string& id) = 0;
  // Erasures not yet done, oldest first (resumed at start).
  virtual Result<std::vector<ErasureRecord>> PendingErasures() = 0;

  // For backups (docs/backup.md), which keep keys apart from data.
  // Subject keys in (tenant_id, subject) order after the given position
  // ("" "" for the first page), at most `limit`.
  virtual Result<std::vector<SubjectKeyRecord>> ListSubjectKeys(const std::string& after_tenant,
                                                                const std::string& after_subject, int limit) = 0;
  // Writes the row exactly as given, replacing any row of that subject.
  virtual Status PutSubjectKey(const SubjectKeyRecord& key) = 0;
  // Tenant-key rotation: replaces the wrapped form of `key` with `rewrapped`
  // only if the row still holds key.generation and key.wrapped (an erasure
  // or a renewal meanwhile wins); false when it did not.
  virtual Result<bool> ReplaceWrappedSubjectKey(const SubjectKeyRecord& key, const std::string& rewrapped) = 0;
  // Live subject keys of the tenant per content-key version that wraps them
  // (read from the ciphertext header, docs/formats/ciphertext.md).
  virtual Result<std::map<uint32_t, int64_t>> CountSubjectKeysByWrappingVersion(const std::string& tenant_id) = 0;
  // Deletes every subject key row; returns how many there were.
  virtual Result<int64_t> DeleteAllSubjectKeys() = 0;
  // Every erasure, done or not, oldest first.
  virtual Result<std::vector<ErasureRecord>> ListErasures() = 0;
};

// ---------------------------------------------------------------- store

class StoreTransaction {
 public:
  virtual ~StoreTransaction() = default;
  virtual TenantRepository& tenants() = 0;
  virtual ApiKeyRepository& api_keys() = 0;
  virtual AuditRepository& audit() = 0;
  virtual MessagingRepository& messaging() = 0;
  virtual ConsentRepository& consents() = 0;
  virtual VaultRepository& vault() = 0;
  // Runs `body` inside a savepoint of this transaction: when it fails, only
  // its own changes are undone and its error returned; the transaction goes on.
  virtual Status Savepoint(const std::function<Status(StoreTransaction&)>& body) = 0;
  // False once the backend has rolled the whole transaction back on its own
  // (disk full, I/O error): nothing more may run in it.
  virtual bool StillOpen() const = 0;
};

struct MigrationStatus {
  int current_version = 0;
  int latest_version = 0;
  std::vector<std::string> applied_now;  // "0001_initial", … applied by this call
};

class Store {
 public:
  virtual ~Store() = default;
  virtual TenantRepository& tenants() = 0;
  virtual ApiKeyRepository& api_keys() = 0;
  virtual AuditRepository& audit() = 0;
  virtual MessagingRepository& messaging() = 0;
  virtual ConsentRepository& consents() = 0;
  virtual VaultRepository& vault() = 0;
  // Runs `body` in one write transaction: commits when it returns OK, rolls
  // back otherwise (and on any commit failure). Data and the audit entries
  // describing it commit together or not at all.
  virtual Status InTransaction(const std::function<Status(StoreTransaction&)>& body) = 0;
  // Checks that the database answers a trivial query.
  virtual Status Ping() = 0;
  // Moves everything committed from the write-ahead log into the database
  // and empties the log, so superseded page images (a destroyed key's) do
  // not linger in it. Best effort: busy readers can make it a no-op.
  virtual Status Checkpoint() = 0;
  // Writes a transactionally consistent, compacted copy of the whole
  // database to `path`, which must not exist; writers are not blocked.
  virtual Status SnapshotTo(const std::string& path) = 0;
  // Checks every page and index; kDataLoss "database_corrupt" with the first
  // problem found.
  virtual Status CheckIntegrity() = 0;
  // Returns the applied and the latest known schema version.
  virtual Result<MigrationStatus> GetMigrationStatus() = 0;
  // Applies every pending migration, each in its own transaction.
  virtual Result<MigrationStatus> Migrate() = 0;
};

struct SqliteOptions {
  std::string path;                  // database file; parent directory must exist
  int64_t busy_timeout_ms = 5000;
  bool synchronous_full = true;      // false: synchronous=NORMAL
  int pool_size = 4;
};

// Group commit: runs units of work submitted by many threads in shared
// write transactions, one fsync for many units. Each unit runs in its own
// savepoint, so one unit's failure undoes only that unit; Run() returns
// once the transaction holding the unit is durable (or with the error that
// stopped it). Lets N concurrent requests cost one commit instead of N.
// Thread-safe; units must use only the StoreTransaction they are given.
class GroupCommitter {
 public:
  explicit GroupCommitter(Store& store, size_t max_batch = 512);
  ~GroupCommitter();  // Stop()
  // Finishes the units already queued (their callbacks included), then
  // refuses new ones (storage_unavailable). Call it before destroying what
  // queued units or callbacks use. Idempotent; not from a callback.
  void Stop();
  GroupCommitter(const GroupCommitter&) = delete;
  GroupCommitter& operator=(const GroupCommitter&) = delete;
  Status Run(const std::function<Status(StoreTransaction&)>& work);
  // Like Run, without waiting: `done` is called on the committer thread with
  // the unit's result once its batch committed (or failed). `done` must be
  // quick and must not wait on this committer (post the rest elsewhere).
  void Submit(std::function<Status(StoreTransaction&)> work, std::function<void(Status)> done);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Opens (creating if needed) a SQLite store in WAL mode. Does not migrate.
Result<std::unique_ptr<Store>> OpenSqliteStore(const SqliteOptions& options);

}  // namespace cs
