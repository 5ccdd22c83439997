// File: consent.h
// The consent ledger (docs/consent.md): purposes with their legal basis,
// per-subject consent as a state machine with append-only evidence, double
// opt-in over WhatsApp, opt-out at every interaction, and the send gate.
//
//   none ──register──▶ pending ──affirmative reply──▶ active ──withdraw──▶ withdrawn
//                        │ ├──decline / STOP──▶ declined
//                        │ └──TTL passes──────▶ expired
//   withdrawn / declined / expired ──register──▶ pending (a fresh double opt-in)
//
// Every transition writes a consent event with its evidence and an audit
// entry (action "consent.<state>", evidence hash in the details), in the
// caller's transaction. Subjects are pseudonyms; no phone number is stored.
//
// Thread-safety: safe for concurrent use; concurrent changes to one consent
// are serialised by the store (optimistic versions, retried on conflict).
#pragma once

#include <cstdint>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "audit/audit.h"
#include "consent/keywords.h"
#include "consent/notices.h"
#include "env/env.h"
#include "store/group_commit.h"
#include "store/store.h"

namespace cs {

// The first step of a double opt-in, captured outside WhatsApp (CONS-01, CONS-06).
struct ConsentEvidence {
  std::string source_channel;    // "web_form", "shop", "phone", "in_store", …
  std::string source_ref;        // the form, order or call it came from
  std::string notice_version;    // the privacy notice shown: a published version (POST /v1/notices)
  std::string notice_language;   // its language; optional with notice_sha256 or a one-language version
  std::string notice_sha256;     // optional: hex SHA-256 of the text shown, checked against the published one
  int64_t captured_at_ms = 0;
};

struct RegisterResult {
  ConsentRecord record;
  bool needs_confirmation = false;  // a new pending record: send the confirmation request
};

// What a reply changed, for the caller to act on after its commit.
struct InboundConsentOutcome {
  bool opted_out = false;        // send one opt-out confirmation
  bool stop_keyword = false;     // the reply was an opt-out, whether or not it changed anything
  std::string language;          // of the keyword that matched
};

// Why a template send was refused (recorded with "send.refused").
enum class GateRefusal {
  kNone,
  kTemplateUnregistered,
  kTemplateNotApproved,
  kTemplateRecategorised,
  kOptOutMissing,
  kNoConsent,
  kReconsent,
};

// What Meta says of a template after its review (webhooks
// template_category_update and message_template_status_update).
struct TemplateReview {
  std::string name;
  std::string language;
  std::string status;               // APPROVED, PAUSED, DISABLED, REJECTED, …; "" unchanged
  std::string category;             // the category in force now; "" unchanged
  std::string announced_category;   // a change Meta announced but has not applied yet
  int64_t announced_at_ms = 0;      // when it applies
}; 
std::string_view GateRefusalName(GateRefusal refusal);

// An opt-in to the sale or sharing of one's data (CONS-10).
struct SaleSharingOptIn {
  bool business_initiated = false;
  std::string source_channel;  // where the subject asked: "web_form", "phone", …
  std::string source_ref;
  int64_t captured_at_ms = 0;
};

// The CCPA/CPRA purpose id under which sale/sharing choices are kept in the
// consent history; tenant purpose ids cannot contain ':'.
inline constexpr std::string_view kSaleSharingPurpose = "ccpa:sale_sharing";

struct ConsentProof;

class ConsentService {
 public:
  ConsentService(Store& store, GroupCommitter& commits, const AuditLedger& ledger, const Clock& clock,
                 int64_t confirmation_ttl_ms = 72LL * 3600 * 1000)
      : store_(store),
        commits_(commits),
        ledger_(ledger),
        clock_(clock),
        ttl_ms_(confirmation_ttl_ms),
        notices_(store, ledger, clock) {}

  // The tenant's privacy notices (notices.h).
  NoticeRegistry& notices() { return notices_; }

  // Creates or replaces a purpose. invalid_field for an unknown legal basis
  // or category, or a consent-based purpose without a confirmation template.
  Result<Purpose> DefinePurpose(const AuditActor& actor, Purpose purpose);

  // The tenant's purposes, templates and a subject's consents, as stored.
  Result<std::vector<Purpose>> ListPurposes(const std::string& tenant_id) { return store_.consents().ListPurposes(tenant_id); }
  Result<Purpose> GetPurpose(const std::string& tenant_id, const std::string& purpose_id) {
    return store_.consents().GetPurpose(tenant_id, purpose_id);
  }
  Result<std::vector<TemplateRecord>> ListTemplates(const std::string& tenant_id) {
    return store_.consents().ListTemplates(tenant_id);
  }
  Result<std::optional<TemplateRecord>> GetTemplate(const std::string& tenant_id, const std::string& name,
                                                    const std::string& language) {
    return store_.consents().GetTemplate(tenant_id, name, language);
  }
  Result<std::vector<ConsentRecord>> SubjectConsents(const std::string& tenant_id, const std::string& subject) {
    return store_.consents().SubjectConsents(tenant_id, subject);
  }
  // A subject's consent proof (LoadConsentProof below).
  Result<ConsentProof> Proof(const std::string& tenant_id, const std::string& subject);

  // Registers a template as Meta categorised it, with the purpose it
  // serves. optout_affordance_missing (422) for a MARKETING template
  // without an opt-out (CONS-07); invalid_field for a MARKETING template
  // serving a purpose that is not marketing; not_found for an unknown purpose.
  Status RegisterTemplate(const AuditActor& actor, TemplateRecord record);

  // Follows Meta's review of a registered template, inside the webhook's
  // transaction: its category and status as Meta has them now. The send
  // gate then refuses a template that is not APPROVED, or that Meta moved
  // to MARKETING while it serves a purpose that is not marketing, until an
  // admin registers it again. An announced change is only audited. A
  // template the tenant never registered is audited and otherwise ignored.
  Status ApplyTemplateReview(StoreTransaction& tx, const std::string& tenant_id, const TemplateReview& review,
                             std::vector<AuditEvent>& events);

  // Records a first-step consent as pending (CONS-01). While pending, a
  // second call returns the same record without asking again (CONS-02).
  // An active consent is returned as is, unless a later notice asks for
  // re-consent (CONS-09): then it becomes pending again and is re-confirmed.
  // For a purpose on another legal basis than consent, the record is the
  // WhatsApp opt-in Meta requires. The evidence must name a published
  // notice (notice_unknown, notice_mismatch). Refusals: not_found
  // (purpose), permission_denied "explicit_consent_required" (a
  // special-category purpose registered without explicit consent, or under
  // a notice that does not name its category, CONS-11), invalid_field.
  Result<RegisterResult> Register(const AuditActor& actor, const std::string& tenant_id, const std::string& subject,
                                  const std::string& purpose_id, const ConsentEvidence& evidence,
                                  bool explicit_consent);

  // Remembers which message asked for confirmation, on which number.
  Status MarkConfirmationSent(const std::string& tenant_id, const std::string& subject, const std::string& purpose_id,
                              const std::string& channel_id, const std::string& message_id);

  // Withdraws (active) or declines (pending) one purpose, or every
  // marketing purpose when `purpose_id` is empty. Idempotent. Returns only
  // once no send the withdrawal ends can still reach the provider: it waits
  // for the subject's sends already past their last check (SendPass) and
  // holds new ones back until it committed (CONS-04).
  Status Withdraw(const AuditActor& actor, const std::string& tenant_id, const std::string& subject,
                  const std::string& purpose_id, const std::string& reason);

  // Applies a subject's inbound message inside the webhook's transaction
  // (`tx`, appending audit events to `events`): STOP withdraws marketing and
  // declines pending requests; an affirmative reply activates pending
  // consents requested on this channel within their TTL; NO declines;
  // anything else while pending is a rejected confirmation (audited). A
  // typed answer while several purposes are pending answers none of them
  // (bundling, CONS-08); the buttons name their purpose. `reply_ref` goes
  // into the evidence: the keyed hash of the reply's wamid, never the
  // wamid itself (it embeds the number).
  Status OnInbound(StoreTransaction& tx, const std::string& tenant_id, const std::string& channel_id,
                   const std::string& subject, std::string_view text, std::string_view button_payload,
                   const std::string& reply_ref, std::vector<AuditEvent>& events, InboundConsentOutcome& outcome);

  // Meta's marketing stop (user_preferences "stop", or a 131050 failure):
  // withdraws every marketing purpose, inside `tx`.
  Status OnMarketingStop(StoreTransaction& tx, const std::string& tenant_id, const std::string& subject,
                         const std::string& source, std::vector<AuditEvent>& events);

  // The subject is erased (GDPR Art. 17): every active or pending consent
  // ends, whatever its purpose, inside `tx`. The ledger keeps its
  // pseudonymous history as the proof Art. 7(1) asks for.
  Status OnErasure(StoreTransaction& tx, const std::string& tenant_id, const std::string& subject,
                   const AuditActor& actor, std::vector<AuditEvent>& events);

  // The send gate for a template (CONS-03): returns the purpose the send is
  // for, or permission_denied "consent_required" (template not registered,
  // no active consent, or one given under a notice older than a version
  // that requires re-consent, CONS-09), "optout_affordance_missing" (422).
  // `why`, when given, receives the reason of a refusal.
  Result<std::string> CheckTemplateSend(const std::string& tenant_id, const std::string& subject,
                                        const std::string& template_name, const std::string& language,
                                        GateRefusal* why = nullptr);

  // For the dispatch-time re-check (CONS-04): is the consent still active
  // (and given under a notice no re-consent has superseded)?
  // Answered from an in-memory index filled on first read and dropped by
  // Forget() after every committed change (a read racing a change never
  // re-installs the old answer: fills are discarded when a change happened
  // meanwhile).
  Result<bool> IsActive(const std::string& tenant_id, const std::string& subject, const std::string& purpose_id);

  // A per-subject fence between sends and the changes that end them, held
  // for as long as the object lives (RAII):
  // - a pass (BeginSend) is held by the dispatcher from its last consent
  //   check of a message until the provider call returned; passes of one
  //   subject do not exclude each other, those of other subjects never wait;
  // - a hold (HoldSends) waits until every pass of the subject has ended and
  //   keeps new ones from beginning while it lives. Withdraw takes one, an
  //   erasure takes one around its steps: once either answered, nothing it
  //   ended goes out (CONS-04, D4).
  class FenceTicket {
   public:
    FenceTicket(FenceTicket&& other) noexcept
        : owner_(other.owner_), key_(std::move(other.key_)), hold_(other.hold_) {
      other.owner_ = nullptr;
    }
    FenceTicket& operator=(FenceTicket&&) = delete;
    FenceTicket(const FenceTicket&) = delete;
    ~FenceTicket();

   private:
    friend class ConsentService;
    FenceTicket(ConsentService* owner, std::string key, bool hold) : owner_(owner), key_(std::move(key)), hold_(hold) {}
    ConsentService* owner_;
    std::string key_;
    bool hold_;
  };
  using SendPass = FenceTicket;
  using SendHold = FenceTicket;
  // Blocks while a hold of the subject is under way.
  SendPass BeginSend(const std::string& tenant_id, const std::string& subject);
  // Blocks until the subject's passes have ended.
  SendHold HoldSends(const std::string& tenant_id, const std::string& subject);

  // Drops what the index knows of a subject. Called after each commit that
  // changed its consents (this service's own methods do it; callers of
  // OnInbound and OnMarketingStop do it after their transaction commits).
  void Forget(const std::string& tenant_id, const std::string& subject);

  // Loads every consent of the tenant into the index, page by page, so that
  // a subject's first check is answered from memory too (a campaign to a
  // million subjects this process has never seen). Safe while changes
  // commit: a subject changed during the load is read again at its next
  // check. Gives up (ResourceExhausted) rather than grow the index past its
  // bound, and stops early when Stop() is called.
  Status Preload(const std::string& tenant_id);

  // Whether every consent of the tenant is in the index (a preload finished).
  bool IsIndexComplete(const std::string& tenant_id);

  // Preloads the tenants one after another on a thread of this service.
  void PreloadInBackground(std::vector<std::string> tenant_ids);
  // Ends a background preload (also done by the destructor).
  void Stop();
  ~ConsentService();

  // CCPA/CPRA (CONS-10): records an opt-out of the sale or sharing of the
  // subject's data. Idempotent; `gpc` marks a Global Privacy Control signal.
  Result<SaleSharingChoice> OptOutOfSaleSharing(const AuditActor& actor, const std::string& tenant_id,
                                                const std::string& subject, const std::string& source, bool gpc);
  // Records an opt-in to sale or sharing. Business-initiated (the tenant
  // asked for it): refused for 12 months after an opt-out
  // (resolicit_too_early, 11 CCR §7026(k)). The subject may always ask,
  // and their request carries its evidence (source_channel and
  // captured_at required, invalid_field otherwise).
  Result<SaleSharingChoice> OptInToSaleSharing(const AuditActor& actor, const std::string& tenant_id,
                                               const std::string& subject, const SaleSharingOptIn& request);
  // Whether the subject opted out of sale or sharing.
  Result<bool> SaleSharingOptedOut(const std::string& tenant_id, const std::string& subject);

  // For the confirmation request itself: the template must be UTILITY
  // (confirmation_template_miscategorised otherwise, CONS-02) and the consent pending.
  Status CheckConfirmationSend(const std::string& tenant_id, const std::string& subject, const std::string& purpose_id,
                               const std::string& template_name, const std::string& language);

 private:
  // Appends a sale/sharing change to the history and its audit entry.
  Status RecordSaleSharingChange(StoreTransaction& tx, const AuditActor& actor, const ConsentEvent& event);

  enum class Standing { kNone, kActive, kReconsent };
  Result<Standing> Evaluate(const std::string& tenant_id, const std::string& subject, const std::string& purpose_id);

  Status Transition(StoreTransaction& tx, const std::optional<ConsentRecord>& current, ConsentRecord next,
                    const std::string& actor, const std::string& reason, const std::string& evidence,
                    std::vector<AuditEvent>& events);

  Store& store_;
  GroupCommitter& commits_;
  const AuditLedger& ledger_;
  const Clock& clock_;
  int64_t ttl_ms_;
  NoticeRegistry notices_;

  // The index: "tenant\nsubject" → what is known of the subject's purposes.
  struct Indexed {
    std::string purpose_id;
    bool active = false;
    int64_t notice_seq = 0;  // of the notice the consent was given under
  };
  struct SubjectEntry {
    bool stale = false;     // changed since it was read: read again
    bool complete = false;  // every purpose with a record is listed (a preload read them all)
    std::vector<Indexed> purposes;
  };
  Result<Indexed> ReadIndexed(const std::string& tenant_id, const ConsentRecord* record, const std::string& purpose_id);
  void ClearIndexLocked();

  static constexpr size_t kMaxIndexedSubjects = 2'000'000;
  std::mutex index_mu_;
  std::unordered_map<std::string, SubjectEntry> index_;  // guarded by index_mu_
  // Tenants whose every consent is in the index: a subject missing from it has none.
  std::unordered_set<std::string> complete_tenants_;    // guarded by index_mu_
  std::unordered_set<std::string> preloading_tenants_;  // guarded by index_mu_
  uint64_t generation_ = 0;                              // guarded by index_mu_; +1 per change
  uint64_t clear_epoch_ = 0;                             // guarded by index_mu_; +1 per clear
  std::atomic<bool> stopping_{false};
  std::thread preload_thread_;

  // The send fence, per "tenant\nsubject": passes held, withdrawals under way.
  struct Fence {
    int sending = 0;
    int changing = 0;
  };
  // Ends a pass (`hold` false) or a hold of the subject `key`.
  void EndFence(const std::string& key, bool hold);
  std::mutex fence_mu_;
  std::condition_variable fence_cv_;
  std::unordered_map<std::string, Fence> fences_;  // guarded by fence_mu_; entries in use only
};

// One subject's proof (CONS-06): current states, the history with its
// evidence, the exact texts of the notices it refers to, and the
// sale/sharing choice.
struct ConsentProof {
  std::string tenant_id;
  std::string tenant_name;
  std::string subject;
  std::vector<ConsentRecord> consents;
  std::vector<ConsentEvent> events;
  std::vector<Notice> notices;
  std::optional<SaleSharingChoice> sale_sharing;
  int64_t generated_at_ms = 0;
};

// Gathers the proof of one subject from the store.
Result<ConsentProof> LoadConsentProof(Store& store, const Clock& clock, const std::string& tenant_id,
                                      const std::string& subject);

// Returns the proof as JSON (docs/api.md).
std::string ConsentProofJson(const ConsentProof& proof);

}  // namespace cs
