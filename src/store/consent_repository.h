// File: consent_repository.h
// The consent ledger as stored (docs/consent.md): purposes, consents with their
// append-only events, templates, notices and their deliveries, sale/sharing choices.
//
// Errors as in store.h: kNotFound "not_found"; kAlreadyExists "conflict";
// kUnavailable "storage_unavailable". Thread-safety: safe for concurrent use.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace cs {

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

}  // namespace cs
