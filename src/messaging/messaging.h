// File: messaging.h
// The WhatsApp path through the gateway (docs/messaging.md): channels,
// accepting messages, dispatching them to the Cloud API, and receiving
// webhooks. The wire format is whatsapp/wire.h; storage is store.h.
//
// Privacy: recipients are keyed by subject pseudonym; the Graph body (with
// the phone number and content) is sealed under the tenant's content key
// before it is stored; channel secrets are sealed too. Nothing here logs a
// phone number, a body or a secret.
//
// Thread-safety: every class is safe for concurrent use.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "audit/audit.h"
#include "messaging/content_guard.h"
#include "common/secret.h"
#include "common/status.h"
#include "consent/consent.h"
#include "env/env.h"
#include "json/json.h"
#include "messaging/url_guard.h"
#include "store/store.h"
#include "vault/aead.h"
#include "vault/keys.h"
#include "whatsapp/wire.h"

namespace cs {

class HttpClient;
struct HttpClientResponse;

// ------------------------------------------------------------------ keys

// The key hierarchy below the KMS (docs/formats/ciphertext.md, issue 5):
// per tenant a pseudonym pepper and a content key, wrapped by the KMS; per
// subject a data key, wrapped by the tenant's content key. All are created on
// first use, stored wrapped, cached unwrapped in memory.
//
// Seal picks the key from the binding: a field bound to a subject is sealed
// under that subject's data key, so erasing the subject (DestroySubjectKey)
// makes every copy of it unreadable that does not come with an older copy
// of the key table (docs/erasure.md); a field without a subject (channel
// secrets, quarantine) under the tenant's content key.
class TenantKeyring {
 public:
  // `clock` times the key caches (and dates new subject keys): a fake one in tests.
  TenantKeyring(Store& store, Kms& kms, Random& random, const Clock& clock = RealClock())
      : store_(store), kms_(kms), random_(random), clock_(clock) {}

  // Returns "sub_" + HMAC(pepper, identity). `identity` is an E.164 number
  // ("+4917…") or "bsuid:" + a BSUID.
  Result<std::string> Pseudonym(const std::string& tenant_id, std::string_view identity);
  // The keyed hash standing for a provider identifier that may embed
  // personal data (a wamid): "wam_" + 32 hex (vault/keys.h ProviderIdToken).
  Result<std::string> ProviderIdToken(const std::string& tenant_id, std::string_view provider_id);
  Result<std::string> Seal(const std::string& tenant_id, std::string_view plaintext, const FieldBinding& binding);

  // A subject key that exists only in memory until a transaction stores it.
  struct UnstoredSubjectKey {
    SubjectKeyRecord record;
    int64_t previous_generation = 0;  // 0: no row existed; else the destroyed generation it renews
  };
  using NewSubjectKeys = std::vector<std::shared_ptr<const UnstoredSubjectKey>>;
  // Like Seal, but a subject without a key gets one in memory only, listed
  // in `created` (once): the caller stores it in the transaction that stores
  // what it sealed (StoreSubjectKeys), so a first message from a new customer
  // costs no transaction and no fsync of its own. Work of other requests in
  // this process reuses the unstored key and lists it too; whichever commits
  // first stores it.
  Result<std::string> SealDeferred(const std::string& tenant_id, std::string_view plaintext,
                                   const FieldBinding& binding, NewSubjectKeys& created);
  // Stores `created` through `tx` (a key another unit of the transaction
  // stored already is fine). unavailable "subject_key_conflict" when another
  // writer stored a different key for one of the subjects: nothing sealed
  // with `created` may be committed; call DropUnstored and start over.
  Status StoreSubjectKeys(StoreTransaction& tx, const NewSubjectKeys& created);
  // After the transaction committed: the keys are stored; later work needs not store them again.
  void SubjectKeysStored(const NewSubjectKeys& created);
  // After a conflict: the next use reads the stored key.
  void DropUnstored(const NewSubjectKeys& created);
  // The ciphertext's header says which key opens it. Besides the errors of
  // vault/aead.h: failed_precondition "subject_erased" when it was sealed
  // under a subject key that erasure destroyed.
  Result<SecretString> Open(const std::string& tenant_id, std::string_view ciphertext, const FieldBinding& binding);

  // Destroys the subject's data key (crypto-shredding) and drops it from
  // this process's cache. Other processes drop theirs within
  // kSubjectKeyCacheSeconds.
  Status DestroySubjectKey(StoreTransaction& tx, const std::string& tenant_id, const std::string& subject,
                           int64_t at_ms);
  void ForgetSubject(const std::string& tenant_id, const std::string& subject);

  // Tenant content-key rotation (docs/erasure.md#rotating-a-tenant-key).
  // Adds version current+1 of the tenant's content key, committed with its
  // audit entry ("keys.rotate_tenant"); from then on this process seals
  // under it, other processes within kTenantKeyCacheSeconds. Older versions
  // stay: what they sealed still opens. Returns the new version.
  Result<uint32_t> RotateContentKey(const std::string& tenant_id, const AuditLedger& ledger, const AuditActor& actor);
  struct RewrapCounts {
    int64_t rewrapped = 0;   // subject keys moved to the current version
    int64_t current = 0;     // already under it
    int64_t raced = 0;       // changed meanwhile (erased, renewed): left for the next run
  };
  // Re-wraps every subject key of the tenant that an older content-key
  // version wraps under the current one, a page per transaction, each row
  // only if unchanged since it was read (an erasure racing it wins). Safe
  // while the gateway serves and to run again; `progress` gets the rows seen.
  Result<RewrapCounts> RewrapSubjectKeys(const std::string& tenant_id,
                                         const std::function<void(int64_t)>& progress = nullptr);
  // Re-seals every field sealed directly under an older content-key version
  // (channel and subscriber secrets, payloads without a subject) under the
  // current one, each only if unchanged since read. Returns how many.
  Result<int64_t> ResealTenantFields(const std::string& tenant_id);
  // Retires content-key version `version` of the tenant: its wrapped form is
  // erased, and what it sealed no longer opens (key_version_retired). Only
  // when nothing uses it: failed_precondition "version_current", or
  // "version_in_use" (subject keys or tenant fields still under it: run
  // rotate-tenant --resume), or "version_in_backups" (superseded less than
  // `min_age_ms` ago: backups and quarantined bodies of that age may need it).
  // Committed with its audit entry ("keys.retire_tenant").
  Status RetireContentKey(const std::string& tenant_id, uint32_t version, int64_t min_age_ms, const Clock& clock,
                          const AuditLedger& ledger, const AuditActor& actor);
  struct ContentKeyInfo {
    std::vector<uint32_t> live;     // oldest first; the last is current
    std::vector<uint32_t> retired;
  };
  // The tenant's content-key versions (empty before first use).
  Result<ContentKeyInfo> ContentKeyVersions(const std::string& tenant_id);

  static constexpr int kSubjectKeyCacheSeconds = 30;
  static constexpr int kTenantKeyCacheSeconds = 30;
  // Ciphertext key versions with this bit are subject key generations.
  static constexpr uint32_t kSubjectKeyFlag = 0x80000000u;

 private:
  struct Keys {
    SecretString pepper;
    std::map<uint32_t, AeadKey> content;  // every live version; sealing uses `current`
    std::set<uint32_t> retired;
    uint32_t current = 1;
    int64_t loaded_at_ns = 0;
    const AeadKey& sealing() const { return content.at(current); }
  };
  struct SubjectKey {
    int64_t generation = 0;
    std::shared_ptr<const AeadKey> key;  // null: destroyed
    int64_t loaded_at_ns = 0;
    std::shared_ptr<const UnstoredSubjectKey> unstored;  // set while only in memory (SealDeferred)
  };
  // The tenant's keys, from the cache unless `fresh` or older than
  // kTenantKeyCacheSeconds (another process may have rotated).
  Result<std::shared_ptr<const Keys>> KeysFor(const std::string& tenant_id, bool fresh = false);
  // The content key that opens `ciphertext` (its header names the version);
  // reloads once when the version is newer than the cache.
  Result<std::shared_ptr<const Keys>> KeysOpening(const std::string& tenant_id, std::string_view ciphertext,
                                                  uint32_t* version);
  Result<SecretString> LoadOrCreate(const std::string& tenant_id, const std::string& purpose);
  // The subject's current key; with `create`, a missing or destroyed one is
  // (re)created. Without, a missing one is returned as a null key. `fresh`
  // skips the cache (another process may have made a newer generation).
  // With `deferred`, a created key is not stored but listed there (SealDeferred);
  // without, an unstored key in the cache counts as missing.
  Result<SubjectKey> SubjectKeyFor(const std::string& tenant_id, const std::string& subject, bool create,
                                   bool fresh = false, NewSubjectKeys* deferred = nullptr);
  Result<SubjectKey> UnwrapSubjectKey(const Keys& keys, const SubjectKeyRecord& record);

  Store& store_;
  Kms& kms_;
  Random& random_;
  const Clock& clock_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<const Keys>> cache_;  // guarded by mu_
  std::map<std::string, SubjectKey> subject_cache_;    // guarded by mu_; key: tenant + '/' + subject
  // Bumped by every ForgetSubject: a key read from the store before a
  // destruction committed is used once but never cached (guarded by mu_).
  uint64_t forget_epoch_ = 0;
};

// What a tenant key is bound to when the KMS wraps it.
std::string TenantKeyContext(const std::string& tenant_id, const std::string& purpose);
// The tenant_keys purpose of content-key `version`: "content" for 1, then "content:2", …
std::string ContentKeyPurpose(uint32_t version);
// The version a purpose names, or nullopt for another purpose ("pepper").
std::optional<uint32_t> ContentKeyVersionOf(std::string_view purpose);

// Master-key rotation: every tenant key is unwrapped under `from` and wrapped
// under `to`, all in one transaction with its audit entry
// ("keys.rotate_master"), so a crash leaves either key working, never half.
// Returns how many keys were re-wrapped. The keys themselves do not change:
// nothing sealed under them needs touching.
Result<int> RewrapTenantKeys(Store& store, Kms& from, Kms& to, const AuditLedger& ledger, const AuditActor& actor);

// ------------------------------------------------------------------ state

// Bits of MessageRecord::seen.
inline constexpr int64_t kSeenSent = 1;
inline constexpr int64_t kSeenDelivered = 2;
inline constexpr int64_t kSeenRead = 4;
inline constexpr int64_t kSeenFailed = 8;

// Returns the bit for a status webhook value ("played" counts as read), or 0.
int64_t StatusBit(std::string_view status);

// Returns the exposed state for the statuses seen so far (REQUIREMENTS
// B-07): read > delivered > failed > sent > `before` ("accepted" or
// "unknown"). It only moves forward, whatever the order of callbacks, and
// failed is final only when no delivered or read was seen.
std::string StateFor(int64_t seen, std::string_view before);

// Maps Meta's error code to the gateway's machine code for a failed message
// (docs/errors.md), e.g. 131047 → "template_required".
std::string FailureCodeFor(int provider_code);

// --------------------------------------------------------------- channels

struct ChannelSpec {
  std::string tenant_id;
  std::string phone_number_id;
  std::string waba_id;
  std::string display_phone_number;
  std::string graph_base_url = "https://graph.facebook.com";
  std::string graph_version = "v23.0";
  SecretString access_token;
  SecretString app_secret;
  SecretString verify_token;
  int64_t throughput_per_second = 80;
  // Update only: how long webhooks signed with the app secret being
  // replaced are still accepted (SEC-03; Meta may retry deliveries signed
  // before the change). 0 ends the old secret at once.
  int64_t app_secret_overlap_seconds = 86400;
};

struct ChannelSecrets {
  SecretString access_token;
  SecretString app_secret;
  SecretString verify_token;
  std::optional<SecretString> previous_app_secret;  // while its overlap lasts
  int64_t previous_app_secret_until_ms = 0;
  // The sealed forms these were opened from: a change by another process
  // shows as a different blob, and the cache entry is dropped.
  std::string sealed_fingerprint;
};

class ChannelService {
 public:
  ChannelService(Store& store, TenantKeyring& keyring, const AuditLedger& ledger, const Clock& clock, Random& random)
      : store_(store), keyring_(keyring), ledger_(ledger), clock_(clock), random_(random) {}

  // Creates a channel with its secrets sealed, and its audit entry.
  // invalid_argument for a bad field; conflict when the number is taken.
  Result<Channel> Create(const AuditActor& actor, const ChannelSpec& spec);
  // Replaces the endpoint, throughput and secrets of an existing channel
  // (the number and account stay), with an audit entry.
  Result<Channel> Update(const AuditActor& actor, const std::string& channel_id, const ChannelSpec& spec);
  // Opens a channel's secrets (cached per channel, until the stored sealed
  // forms change).
  Result<std::shared_ptr<const ChannelSecrets>> Secrets(const Channel& channel);
  // Pauses (reason non-empty) or resumes a channel, with an audit entry.
  Status SetPaused(const AuditActor& actor, const Channel& channel, const std::string& reason);
  // Bumped by every change made through this service: a cache of channels
  // drops what it read before (a replaced app secret ends at once).
  uint64_t changes() const { return changes_.load(); }

 private:
  Status SealSecrets(Channel& channel, const ChannelSpec& spec);
  std::atomic<uint64_t> changes_{0};

  Store& store_;
  TenantKeyring& keyring_;
  const AuditLedger& ledger_;
  const Clock& clock_;
  Random& random_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<const ChannelSecrets>> secrets_;  // guarded by mu_
};

// Returns a channel as the JSON object of docs/api.md (never its secrets).
std::string ChannelJson(const Channel& channel);

// ---------------------------------------------------------------- sending

struct SendRequest {
  std::string tenant_id;
  AuditActor actor;
  std::string channel_id;        // "" : the tenant's only channel
  std::string phone_number_id;   // alternatively, from a Graph-compatible path
  const JsonValue* body = nullptr;  // the Graph message body
  std::string idempotency_key;   // "" : none
  // Set only by the double opt-in flow: this template asks the subject to
  // confirm a pending consent for this purpose (CONS-01, CONS-02).
  std::string confirmation_purpose;
};

struct SendResult {
  MessageRecord message;
  whatsapp::OutboundMessage parsed;
  bool replayed = false;         // an earlier answer for the same Idempotency-Key
};

class MessageService {
 public:
  // Writes go through `commits` (group commit): one fsync for many concurrent sends.
  // With `consent`, templates pass the consent gate (CONS-03); without it
  // (tests of the transport alone) only the 24-hour window is enforced.
  MessageService(Store& store, GroupCommitter& commits, TenantKeyring& keyring, const AuditLedger& ledger,
                 const Clock& clock, Random& random, ConsentService* consent = nullptr)
      : store_(store), commits_(commits), keyring_(keyring), ledger_(ledger), clock_(clock), random_(random),
        consent_(consent) {}

  // Validates, checks the service window, then commits the message, its
  // outbound job, the idempotency key and the audit entry in one
  // transaction. Refusals: the validation codes of whatsapp/wire.h;
  // not_found (channel); failed_precondition "template_required" (free-form
  // outside the 24-hour window), "idempotency_key_reuse"; "channel_required"
  // when the tenant has several channels and none is named.
  Result<SendResult> Send(const SendRequest& request);
  // Send without a thread blocked on the group commit: validates and
  // prepares on the calling thread (everything `request` points to is used
  // before this returns), then `then` is called, from the calling thread or
  // the committer's, with a function that returns the result. That function
  // must run on another thread than the committer's; `waits` says whether it
  // may wait on a commit (again, after a rare key conflict).
  using SendContinuation = std::function<void(std::function<Result<SendResult>()> result, bool waits)>;
  void SendAsync(const SendRequest& request, SendContinuation then);

  // Scans every text field against the tenant's content policy (CHAN-04):
  // refusals are "sensitive_identifier" (422), or
  // "channel_not_permitted_for_phi" when only health terms are refused.
  void AttachContentGuard(ContentGuard* content) { content_ = content; }
  // With `refuse`, a document the gateway could not scan does not go out
  // (messaging.unscannable_documents): one sent by `link`, or by the id of
  // a file not uploaded through the gateway, in a message or a template
  // header, is refused with failed_precondition "media_unscannable".
  // Without, it goes out with "document_scanned":false in its audit entry.
  void RefuseUnscannedDocuments(bool refuse) { refuse_unscanned_documents_ = refuse; }

  // Returns a message of the tenant with its status events; the read is audited.
  Result<MessageRecord> Get(const std::string& tenant_id, const AuditActor& actor, const std::string& id,
                            std::vector<StatusEventRecord>* events);
  // Meta's id for the message, opened from its sealed copy; nullopt before
  // Meta has the message and after the subject's erasure (provider_ids.h).
  Result<std::optional<std::string>> OpenWamid(const MessageRecord& message);

 private:
  Result<Channel> ResolveChannel(const SendRequest& request);
  // A send that passed every check, with what its commit needs (copied:
  // it outlives the request).
  struct PreparedSend {
    std::string tenant_id;
    AuditActor actor;
    std::string idempotency_key;
    std::string request_hash;
    std::string content_findings;
    bool unscanned_document = false;  // a document it sends was never scanned (allowed by configuration)
    std::string payload;  // sealed into message.payload_sealed by Seal
    MessageRecord message;
    OutboundJob job;
    whatsapp::OutboundMessage parsed;
    TenantKeyring::NewSubjectKeys created_keys;
    SendResult result;  // filled by the commit, or by Prepare for a replay
    bool replay = false;  // answered from an earlier request: nothing to commit
    Status refusal;       // not ok: refused, once refusal_event is recorded
    AuditEvent refusal_event;
  };
  // A refused send: answered with `refusal` once "send.refused" (with the
  // reason) is recorded (CONS-03).
  std::shared_ptr<PreparedSend> Refusal(const SendRequest& request, const std::string& subject, Status refusal,
                                        std::string details = "");
  // Everything before the commit.
  Result<std::shared_ptr<PreparedSend>> Prepare(const SendRequest& request);
  // ok, or why `ref` (a gateway message id a reply, reaction or read
  // receipt names) cannot be sent to: unknown_message_reference,
  // referenced_message_failed, reference_unavailable. A read receipt for a
  // received message takes its sender as `m`'s subject.
  Status CheckReference(const std::string& tenant_id, const std::string& ref, MessageRecord& m);
  // ok, or the reason a document of the body was not scanned by the gateway.
  Status CheckDocumentsScanned(const std::string& tenant_id, const JsonValue& body);
  // Seals the payload; a new recipient's key is made in memory (created_keys).
  Status Seal(PreparedSend& p);
  // The unit of the group commit: the message, its job, its idempotency
  // record and its audit entry, with the recipient's key when it is new.
  Status CommitUnit(PreparedSend& p, StoreTransaction& tx);
  // Seals and commits, waiting; a key conflict is sealed again (twice at most).
  Result<SendResult> SealAndCommit(PreparedSend& p);

  Store& store_;
  GroupCommitter& commits_;
  TenantKeyring& keyring_;
  const AuditLedger& ledger_;
  const Clock& clock_;
  Random& random_;
  ConsentService* consent_;
  ContentGuard* content_ = nullptr;
  bool refuse_unscanned_documents_ = false;
};

// Returns a message as the JSON object of docs/api.md; `wamid`, Meta's id,
// only for callers allowed clear identifiers ("" leaves it out).
std::string MessageJson(const MessageRecord& message, const std::vector<StatusEventRecord>* events,
                        std::string_view wamid = {});

// Pauses (reason non-empty) or resumes a channel with its audit entry, in
// one transaction. Needs no keys: an operator can stop a channel without
// the master key at hand.
Status SetChannelPaused(Store& store, const AuditLedger& ledger, const AuditActor& actor, const Channel& channel,
                        const std::string& reason);

// ------------------------------------------------------------------ media

// Media through the gateway (docs/media.md): uploads are passed to Meta
// with the channel's token and never stored; the gateway keeps only which
// tenant may use which media id (MediaRef), so one tenant can never read or
// delete another's files. Downloads are proxied: the URL handed out points
// at the gateway, signed for 5 minutes with the tenant's pepper, and the
// gateway fetches the bytes from Meta's URL (whose host must be the
// channel's Graph host or Meta's lookaside CDN) with the real token.
struct MediaUpload {
  std::string phone_number_id;
  std::string mime_type;        // the `type` field, or the file part's type
  std::string filename;
  std::string_view bytes;
};

struct MediaAnswer {
  int http_status = 200;        // Meta's status, passed through
  std::string body;             // Meta's JSON body (an error envelope too)
};

struct MediaDownload {
  std::string content_type;
  std::string bytes;
};

struct MediaServiceOptions {
  int max_concurrent = 8;             // Meta calls in flight; more answer media_busy (503)
  int64_t http_timeout_ms = 60000;
  int64_t max_download_bytes = 100 << 20;
  int64_t link_lifetime_ms = 5 * 60'000;
  // Reads a document's text for the content scanner (docscan): the server
  // sets the isolated child process; null, in this process (unit tests).
  std::function<Result<std::string>(std::string_view mime_type, std::string_view bytes)> document_text;
  // A document whose text cannot be read (password, damage, a legacy Office
  // format, a limit): refused (true), or passed on unscanned and audited so.
  bool refuse_unscannable_documents = true;
  // Pictures (JPEG, PNG, WebP) are read by text recognition and scanned as
  // documents are (messaging.ocr_images).
  bool ocr_images = true;
};

class MediaService {
 public:
  MediaService(Store& store, ChannelService& channels, TenantKeyring& keyring, const AuditLedger& ledger,
               const Clock& clock, MediaServiceOptions options = {})
      : store_(store), channels_(channels), keyring_(keyring), ledger_(ledger), clock_(clock), options_(options) {}

  // Uploads to Meta through the tenant's channel for `phone_number_id`.
  // kNotFound "no_channel"; kInvalidArgument "media_unsupported" /
  // "media_too_large" before anything leaves. Meta's refusals come back as
  // a MediaAnswer with its status. Audited as media.upload.
  Result<MediaAnswer> Upload(const AuditActor& actor, const std::string& tenant_id, const MediaUpload& upload);
  // Meta's description of the media (mime_type, sha256, file_size), with
  // `url` replaced by a signed gateway URL built on `public_base` (e.g.
  // "http://127.0.0.1:8080"). kNotFound for media the tenant does not hold.
  Result<MediaAnswer> Describe(const AuditActor& actor, const std::string& tenant_id, const std::string& media_id,
                               const std::string& public_base);
  // The bytes, fetched from Meta. Audited as media.download.
  Result<MediaDownload> Download(const AuditActor& actor, const std::string& tenant_id, const std::string& media_id);
  // Deletes at Meta, then forgets the reference. Audited as media.delete.
  Result<MediaAnswer> Delete(const AuditActor& actor, const std::string& tenant_id, const std::string& media_id);

  // The signature of a download link (hex), and its check in constant time.
  Result<std::string> LinkSignature(const std::string& tenant_id, const std::string& media_id, int64_t expires_ms);
  bool CheckLink(const std::string& tenant_id, const std::string& media_id, int64_t expires_ms,
                 std::string_view signature);

  // Documents are scanned for what the tenant's content policy stops
  // (CHAN-04) before an upload leaves and before a customer's file is
  // handed on. Without a guard, nothing is scanned.
  void AttachContentGuard(ContentGuard* content) { content_ = content; }

 private:
  // The content policy applied to a document's text. A document cannot be
  // masked: a finding the policy would mask or refuse stops it, as
  // `stopped`. `details` gets {"scanned":…,"content":[findings]} or the
  // reason it could not be scanned; never a value.
  struct DocumentVerdict {
    Status stopped;
    std::string details;
  };
  // A picture's text is recognised (OCR); one whose text cannot be read
  // passes unscanned, as pictures always did, where a document is refused.
  Result<DocumentVerdict> ScanDocument(const std::string& tenant_id, const std::string& mime_type,
                                       std::string_view bytes, scan::Direction direction, bool picture = false);
  Result<std::pair<MediaRef, Channel>> Resolve(const std::string& tenant_id, const std::string& media_id);
  // Pauses the channel (token_invalid) when Meta refused its token, and
  // returns channel_token_invalid (503 to the caller) then.
  Status CheckToken(const Channel& channel, const HttpClientResponse& answer);
  // GET or DELETE /{media_id}?phone_number_id=… with the channel's token.
  Result<HttpClientResponse> CallMediaObject(const Channel& channel, std::string_view method,
                                             const std::string& media_id);
  Status Audit(const AuditActor& actor, const std::string& tenant_id, const std::string& action,
               const std::string& media_id, const std::string& outcome, const std::string& details);

  Store& store_;
  ChannelService& channels_;
  TenantKeyring& keyring_;
  const AuditLedger& ledger_;
  const Clock& clock_;
  MediaServiceOptions options_;
  ContentGuard* content_ = nullptr;
  std::atomic<int> in_flight_{0};
};

// Records the media id of an inbound message (`record.type` image, video,
// audio, document or sticker) as its tenant's, for its channel and subject,
// in the caller's transaction.
Status RecordInboundMedia(StoreTransaction& tx, const InboundMessageRecord& record, std::string_view message_json,
                          int64_t now_ms);

// ------------------------------------------------------------ dispatching

struct DispatcherOptions {
  int threads = 2;
  int batch = 64;                     // jobs leased per round
  int64_t lease_ms = 60000;           // a crashed worker's jobs come back after this
  int64_t valid_for_ms = 24LL * 3600 * 1000;  // retryable failures stop, as "expired", after this
  int64_t backoff_base_ms = 1000;
  int64_t backoff_max_ms = 300000;
  int pair_burst = 45;                // per recipient, as Meta's pair rate (spec §5)
  double pair_interval_seconds = 6;
  int breaker_threshold = 5;          // consecutive 5xx that open a channel's circuit
  int64_t breaker_open_ms = 30000;
  int64_t http_timeout_ms = 15000;
  int64_t idle_poll_ms = 50;
};

// Counters for metrics and tests.
struct DispatcherStats {
  std::atomic<int64_t> submitted{0};
  std::atomic<int64_t> retried{0};
  std::atomic<int64_t> failed{0};
  std::atomic<int64_t> unknown{0};
  std::atomic<int64_t> paced{0};
  std::atomic<int64_t> consent_refused{0};
};

// Leases due jobs, paces each channel to its throughput and each recipient
// to the pair rate, sends, and records the outcome (docs/messaging.md):
// retries only what the retry table allows, never resends after an
// unknown outcome, pauses a channel on a bad token, opens a circuit breaker
// on 5xx storms.
class Dispatcher {
 public:
  // With `consent`, each message is checked again just before it is sent (CONS-04).
  Dispatcher(Store& store, GroupCommitter& commits, TenantKeyring& keyring, ChannelService& channels,
             const AuditLedger& ledger, const Clock& clock, Random& random, DispatcherOptions options,
             std::function<void(const std::string&)> alert, ConsentService* consent = nullptr);
  ~Dispatcher();  // stops
  void Start();
  void Stop();
  const DispatcherStats& stats() const { return stats_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  DispatcherStats stats_;
};

// ------------------------------------------------------------- forwarding

struct SubscriberSpec {
  std::string tenant_id;
  std::string url;
  SecretString secret;                 // empty: one is generated and returned once
  std::vector<std::string> events = {"messages", "preferences", "statuses"};
  bool clear_phone_numbers = false;
  bool include_content = false;
  bool sale_or_sharing = false;        // CCPA: this recipient buys or shares the data (CONS-10)
};

struct CreatedSubscriber {
  Subscriber subscriber;
  SecretString secret;  // shown once
};

class SubscriberService {
 public:
  SubscriberService(Store& store, TenantKeyring& keyring, const AuditLedger& ledger, const Clock& clock,
                    Random& random, UrlPolicy policy)
      : store_(store), keyring_(keyring), ledger_(ledger), clock_(clock), random_(random), policy_(std::move(policy)) {}

  // Refusals: url_not_allowed (url_guard.h), invalid_field (events, a
  // secret under 16 characters).
  Result<CreatedSubscriber> Create(const AuditActor& actor, const SubscriberSpec& spec);
  Status Delete(const AuditActor& actor, const std::string& tenant_id, const std::string& id);
  Status Requeue(const AuditActor& actor, const std::string& tenant_id, const std::string& event_id);
  const UrlPolicy& policy() const { return policy_; }

 private:
  Store& store_;
  TenantKeyring& keyring_;
  const AuditLedger& ledger_;
  const Clock& clock_;
  Random& random_;
  UrlPolicy policy_;
};

// Returns a subscriber as the JSON object of docs/api.md (never its secret).
std::string SubscriberJson(const Subscriber& subscriber);

// The "value" objects forwarded to a subscriber, in Meta's shape, minimised
// per its settings (MIN-03):
// - identifiers: the number (`from`, `wa_id`, `recipient_id`), the
//   business-scoped user id and its parent (`from_user_id`, `user_id`, …)
//   and the username appear only with clear_phone_numbers; otherwise each
//   becomes the subject's pseudonym and the username is left out;
// - Meta's message ids embed the number (provider_ids.h): every one is
//   replaced by the gateway's id (messages[].id is the received message's
//   "inm_…", statuses[].id the sent message's "msg_…", a reply's context.id
//   the message it quotes). With clear_phone_numbers, Meta's id is added
//   beside it as "wamid", for support cases with Meta;
// - message content and profile names appear only with include_content.
// A message in which content protection found something carries
// "consentry":{"findings":[…]} (types and positions, never values).
struct ForwardedIds {
  std::string subject;      // the customer's pseudonym
  std::string message_id;   // the gateway's id of the received message
  // Every other wamid the message names (context.id, reaction.message_id, …)
  // → the gateway's id for it (GatewayIdForWamid).
  std::map<std::string, std::string> wamids;
};
std::string ForwardedMessageValue(const whatsapp::InboundMessage& message, const ForwardedIds& ids,
                                  const Subscriber& subscriber, std::string_view content_findings = "");
std::string ForwardedStatusValue(const whatsapp::StatusUpdate& status, const MessageRecord& message,
                                 const Subscriber& subscriber);
std::string ForwardedPreferenceValue(const whatsapp::UserPreference& preference, const std::string& subject,
                                     const Subscriber& subscriber);

// A send that failed at dispatch: Meta refused it, or the gateway could not
// send it (the consent ended, it expired, the message it replies to failed).
struct DispatchFailure {
  int code = 0;              // Meta's code; for the gateway's own reasons, the closest of Meta's
  std::string title;         // Meta's title for it
  std::string details;       // what happened, a sentence without personal data
  std::string gateway_code;  // the gateway's machine code (docs/errors.md), e.g. "consent_required"
};
// Builds the failure from the gateway's code, Meta's code and Meta's error
// body (may be empty).
DispatchFailure MakeDispatchFailure(const std::string& gateway_code, int provider_code, std::string_view provider_body);
// The failed status forwarded for it, in Meta's shape (statuses[] with
// errors[{code,title,message,error_data:{details}}]), so an integration's
// error handling runs as it would for Meta's own failed status. `to` is the
// recipient's number when known ("" otherwise), shown only with clear_phone_numbers.
std::string ForwardedFailureValue(const Channel& channel, const MessageRecord& message, const DispatchFailure& failure,
                                  const std::string& to, int64_t at_ms, const Subscriber& subscriber);

struct ForwarderOptions {
  int threads = 4;                    // deliveries in flight at once, each to a different subscriber
  int64_t lease_ms = 60000;           // longer than one delivery (connect + timeout), so it never lapses mid-way
  int64_t give_up_after_ms = 24LL * 3600 * 1000;  // then the event is a dead letter (W-05)
  int64_t backoff_base_ms = 1000;
  int64_t backoff_max_ms = 3600000;
  int64_t connect_timeout_ms = 5000;
  int64_t timeout_ms = 15000;
  int64_t idle_poll_ms = 100;
};

struct ForwarderStats {
  std::atomic<int64_t> delivered{0};
  std::atomic<int64_t> retried{0};
  std::atomic<int64_t> dead{0};
  std::atomic<int64_t> withheld{0};  // not sent: the subject opted out of sale or sharing (CONS-10)
};

// Delivers outbox entries: signed with the subscriber's secret
// (X-Hub-Signature-256 over the exact bytes, plus X-Gateway-Event-Id,
// -Timestamp and -Signature over "timestamp.body", W-04), through the SSRF
// guard, no redirects, retried with backoff for a day, then dead-lettered.
//
// A pool of `threads` workers shares the outbox, each leasing one entry at
// a time. A subscriber never has more than one delivery in flight, and
// after a failure (timeout, refused connection, non-2xx) its entries are
// not leased until a cool-down ends, instead of each waiting for its own
// timeout in front of other subscribers' events: a slow or dead subscriber
// delays nobody else. (Events are not strictly ordered: a retried one goes
// after those queued behind it, as Meta's own deliveries may.)
class Forwarder {
 public:
  Forwarder(Store& store, TenantKeyring& keyring, const Clock& clock, UrlPolicy policy, ForwarderOptions options);
  ~Forwarder();
  void Start();
  void Stop();
  const ForwarderStats& stats() const { return stats_; }

 private:
  // Per subscriber, shared by the workers.
  struct Gate {
    bool busy = false;          // a worker is delivering to it
    int64_t cool_until_ms = 0;  // after a failure: nothing is tried before this
    int failures = 0;           // consecutive, for the cool-down's length
  };
  void Loop();
  // Delivers one entry; `failed` tells whether the subscriber failed it
  // (the Status reports storage errors only).
  Status Deliver(const OutboxEntry& entry, HttpClient& guarded, HttpClient& local, bool& failed);

  Store& store_;
  TenantKeyring& keyring_;
  const Clock& clock_;
  UrlPolicy policy_;
  ForwarderOptions options_;
  ForwarderStats stats_;
  std::atomic<bool> stopping_{false};
  std::vector<std::thread> threads_;
  std::mutex gates_mu_;
  std::map<std::string, Gate> gates_;  // guarded by gates_mu_
};

// ----------------------------------------------------------------- history

// Conversation history (MIN-01, RET-01; docs/retention.md). Off by default:
// message bodies are cleared once delivered (inbound: after
// messaging.inbound_body_seconds; outbound: when Meta has them). A tenant
// turns it on with a purpose, a legal basis and a retention in days; bodies
// are then kept that long, sealed under each subject's key (an erasure
// shreds them), and the subject's conversation can be read back.
class HistoryService {
 public:
  HistoryService(Store& store, TenantKeyring& keyring, const AuditLedger& ledger, const Clock& clock)
      : store_(store), keyring_(keyring), ledger_(ledger), clock_(clock) {}

  Result<std::optional<HistoryPolicy>> Get(const std::string& tenant_id);
  // Turns history on, or changes its terms, with an audit entry
  // ("history.enable", the terms in its details). invalid_argument
  // "invalid_field": retention_days outside 1–3650, a purpose that is not 1–200
  // printable characters, a legal basis not in kLegalBases.
  Result<HistoryPolicy> Enable(const AuditActor& actor, HistoryPolicy policy);
  // Turns it off ("history.disable"): kept bodies go at the next purge run.
  // not_found when it was off.
  Status Disable(const AuditActor& actor, const std::string& tenant_id);

  struct Item {
    std::string direction;   // "inbound" | "outbound"
    std::string id;
    std::string type;
    std::string state;       // outbound only
    int64_t at_ms = 0;       // received (inbound) or created (outbound)
    std::optional<std::string> body;  // the message object as stored; nullopt once purged
  };
  // The subject's newest `limit` messages (1–500), oldest first, bodies
  // opened where kept. The read is audited ("history.read", the subject).
  Result<std::vector<Item>> Read(const AuditActor& actor, const std::string& tenant_id, const std::string& subject,
                                 int limit);

  static constexpr std::array<std::string_view, 4> kLegalBases = {"consent", "contract", "legal_obligation",
                                                                  "legitimate_interests"};

 private:
  Store& store_;
  TenantKeyring& keyring_;
  const AuditLedger& ledger_;
  const Clock& clock_;
};

// What one run of the body purge cleared (MIN-01, RET-01).
struct PurgedBodies {
  int64_t message_bodies = 0;  // inbound and outbound message bodies
  int64_t forward_bodies = 0;  // forwarding events (ExpireOutboxBodies)
};
// Clears every body past its retention at `now_ms`: for tenants without a
// history policy, messages older than `message_body_ms`; for the others,
// older than their policy's retention; forwarding events older than
// `forward_body_ms`. Run every minute by `serve`.
Result<PurgedBodies> PurgeExpiredBodies(Store& store, int64_t now_ms, int64_t message_body_ms, int64_t forward_body_ms);

// Returns a history policy as the JSON object of docs/api.md ({"enabled":false} for none).
std::string HistoryPolicyJson(const std::optional<HistoryPolicy>& policy);

// ----------------------------------------------------------------- erasure

// Erasing a subject (GDPR Art. 17, F-03; docs/erasure.md): its data key is
// destroyed first (crypto-shredding: every sealed copy becomes unreadable at
// once, unless it comes with an older copy of the key table), then its rows are deleted or
// cleared and its consents end. Each step is journalled and commits with
// its own changes, so an erasure interrupted by a crash is finished by
// ResumePending at the next start (and every minute while serving). The
// rest of the tenant is untouched.
class ErasureService {
 public:
  ErasureService(Store& store, TenantKeyring& keyring, ConsentService* consent, const AuditLedger& ledger,
                 const Clock& clock, Random& random)
      : store_(store), keyring_(keyring), consent_(consent), ledger_(ledger), clock_(clock), random_(random) {}

  // Erases `subject` ("sub_…") of the tenant and returns the finished
  // journal entry. invalid_argument "invalid_subject" for a malformed id.
  Result<ErasureRecord> Erase(const std::string& tenant_id, const std::string& subject, const AuditActor& actor);
  // Finishes every erasure a crash interrupted; returns how many finished.
  // One that fails stays pending (an error only when none could finish).
  Result<int> ResumePending();

  // Called with the journal entry once the key is destroyed and before the
  // data step; an error keeps the erasure pending (retried by
  // ResumePending). The gateway copies the entry off the database volume
  // with it, so a restore after losing the database still replays it
  // (docs/backup.md). Set before use.
  void SetKeyDestroyedHook(std::function<Status(const ErasureRecord&)> hook) { key_destroyed_hook_ = std::move(hook); }

  // Tests only: behave as if the process died right after `step` committed.
  void CrashAfterStepForTest(std::string step) { crash_after_ = std::move(step); }

 private:
  Result<ErasureRecord> Continue(ErasureRecord erasure);

  std::function<Status(const ErasureRecord&)> key_destroyed_hook_;

  Store& store_;
  TenantKeyring& keyring_;
  ConsentService* consent_;
  const AuditLedger& ledger_;
  const Clock& clock_;
  Random& random_;
  std::string crash_after_;
};

// Returns an erasure journal entry as the JSON object of docs/api.md.
std::string ErasureJson(const ErasureRecord& erasure);

// ---------------------------------------------------------------- receiving

struct WebhookOutcome {
  int http_status = 200;
  std::string body;           // for the GET handshake: the challenge
  std::string content_type = "text/plain";
  std::string error_code;     // for logs: why it was refused
  int messages = 0, statuses = 0, duplicates = 0, quarantined = 0;
};

class WebhookReceiver {
 public:
  WebhookReceiver(Store& store, GroupCommitter& commits, TenantKeyring& keyring, ChannelService& channels,
                  const AuditLedger& ledger, const Clock& clock, Random& random)
      : store_(store), commits_(commits), keyring_(keyring), channels_(channels), ledger_(ledger), clock_(clock),
        random_(random) {}

  // Applies inbound messages and preference signals to consent (STOP,
  // confirmations), and sends the opt-out confirmation through `replies`.
  void AttachConsent(ConsentService* consent, MessageService* replies) {
    consent_ = consent;
    replies_ = replies;
  }
  // Masks sensitive data in inbound messages before anything is stored or
  // forwarded (CHAN-04, B-38), and answers a card number with a neutral
  // reply through the `replies` given to AttachConsent (SEN-05).
  void AttachContentGuard(ContentGuard* content) { content_ = content; }
  // Signature failures on one channel reaching `per_minute` within a clock
  // minute call `alert` once for that minute (with the channel and the
  // count): forged or misconfigured deliveries, or a rotated secret not
  // yet set here. Set before use.
  void SetSignatureFailureAlert(int64_t per_minute, std::function<void(const std::string&, int64_t)> alert) {
    signature_alert_per_minute_ = per_minute;
    signature_alert_ = std::move(alert);
  }

  // The GET verification handshake (W-02).
  WebhookOutcome Verify(const std::string& channel_id, const std::string& mode, const std::string& token,
                        const std::string& challenge);
  // A POST delivery: the signature is checked over the raw bytes before
  // anything is parsed (W-01); everything is committed before 200.
  WebhookOutcome Receive(const std::string& channel_id, const std::string* signature, const std::string& raw_body,
                         const JsonLimits& limits);
  // Receive without a thread blocked on the group commit: checks and
  // prepares on the calling thread, then `then` is called, from the calling
  // thread or the committer's, with a function that finishes the delivery
  // (post-commit state and automated replies, which may wait on a commit of
  // their own) and returns its outcome. That function must be run on
  // another thread than the committer's; `waits` says whether it may wait
  // on a commit (then not on a thread that serves sockets).
  using Continuation = std::function<void(std::function<WebhookOutcome()> finish, bool waits)>;
  void ReceiveAsync(const std::string& channel_id, const std::string* signature, const std::string& raw_body,
                    const JsonLimits& limits, Continuation then);

 private:
  // A delivery whose channel and signature checked out, parsed.
  struct Admitted {
    Channel channel;
    whatsapp::WebhookBatch batch;
    int64_t now = 0;
    // Set when the signed body cannot be read: it is quarantined whole
    // (QuarantineWhole), and the batch is empty.
    std::string unreadable;
  };
  struct Pending;  // inbound.cc
  // The checks before anything is prepared: the channel, the signature (W-01),
  // the parse. An outcome when the delivery is refused there.
  std::variant<WebhookOutcome, std::shared_ptr<const Admitted>> Admit(const std::string& channel_id,
                                                                      const std::string* signature,
                                                                      const std::string& raw_body,
                                                                      const JsonLimits& limits);
  // Keeps a signed delivery that cannot be read aside, sealed, for an operator (B-11).
  WebhookOutcome QuarantineWhole(const Admitted& admitted, const std::string& raw_body);
  // Prepares, commits (waiting) and finishes, starting over after a key conflict.
  WebhookOutcome ProcessNow(std::shared_ptr<const Admitted> admitted);
  // Everything sealed and looked up before the transaction.
  Result<std::shared_ptr<Pending>> Prepare(std::shared_ptr<const Admitted> source);
  // The unit of work in the group commit.
  Status Commit(Pending& pending, StoreTransaction& tx);
  // After the commit (or its failure): caches, split-card state, replies; the outcome.
  Status Finish(Pending& pending, const Status& committed, WebhookOutcome& outcome);
  Result<OutboxEntry> Forward(Pending& pending, const Subscriber& sb, const std::string& field,
                              const std::string& waba, const std::string& value, const std::string& subject);
  void SendOptOutConfirmation(const Channel& channel, const std::string& from, const std::string& language);
  // Queues an automated text reply; returns the message id.
  Result<std::string> SendText(const Channel& channel, const std::string& to, const std::string& text,
                               const AuditActor& actor);
  void CountSignatureFailure(const std::string& channel_id);
  // The channel, read at most once a second per channel (a webhook burst
  // would otherwise open a read transaction per delivery), and again after
  // any change through the ChannelService. `fresh` reads it now; *cached
  // tells whether the answer came from the cache.
  Result<Channel> FindChannel(const std::string& channel_id, bool fresh, bool* cached);

  Store& store_;
  GroupCommitter& commits_;
  TenantKeyring& keyring_;
  ChannelService& channels_;
  const AuditLedger& ledger_;
  const Clock& clock_;
  Random& random_;
  ConsentService* consent_ = nullptr;
  MessageService* replies_ = nullptr;
  ContentGuard* content_ = nullptr;
  SplitCardDetector splits_;
  int64_t signature_alert_per_minute_ = 0;
  std::function<void(const std::string&, int64_t)> signature_alert_;
  struct FailureWindow {
    int64_t minute = 0;
    int64_t count = 0;
  };
  std::mutex failures_mu_;
  std::map<std::string, FailureWindow> failures_;  // by channel id (existing channels only); guarded by failures_mu_
  struct CachedChannel {
    Channel channel;
    int64_t loaded_ns = 0;  // steady clock
    uint64_t changes = 0;   // ChannelService::changes() before it was read
  };
  std::mutex channels_mu_;
  std::map<std::string, CachedChannel> channel_cache_;  // existing channels only; guarded by channels_mu_
};

}  // namespace cs
