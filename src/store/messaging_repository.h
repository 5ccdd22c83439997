// File: messaging_repository.h
// The WhatsApp path as stored (docs/messaging.md): channels, messages and their
// jobs, received messages, delivery keys, media references, subscribers and
// their outbox, conversation history, tenant keys.
//
// Errors as in store.h: kNotFound "not_found"; kAlreadyExists "conflict";
// kUnavailable "storage_unavailable". Thread-safety: safe for concurrent use.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "common/status.h"

namespace cs {

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

}  // namespace cs
