// File: notices.h
// Privacy notices (GDPR Art. 7(1), 13; DOC-07; CONS-09; docs/consent.md):
// versioned per tenant and language, immutable once published; the
// information message a subject gets at first contact; and the oldest
// version a consent may have been given under once a version asks for
// re-consent.
//
// A notice's language is a ISO 639-1 code. Versions are ordered by
// publication (seq); a version becomes the one in force at its valid_from.
//
// Thread-safety: safe for concurrent use. What a process knows of the
// notices is cached for 30 s and dropped at once by its own Publish(), so a
// notice published through another gateway process is seen within 30 s.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "audit/audit.h"
#include "env/env.h"
#include "store/store.h"

namespace cs {

class NoticeRegistry {
 public:
  NoticeRegistry(Store& store, const AuditLedger& ledger, const Clock& clock)
      : store_(store), ledger_(ledger), clock_(clock) {}

  // Publishes one language of a version; the gateway computes the hash. A
  // new version takes the next seq; another language of a stored version
  // shares its seq and must repeat its requires_reconsent and purpose lists.
  // Errors: invalid_field, notice_exists (immutable), notice_conflict.
  Result<Notice> Publish(const AuditActor& actor, Notice notice);

  Result<std::vector<Notice>> List(const std::string& tenant_id);

  // The stored notice a consent's evidence names: `version` in `language`,
  // or the language whose text hashes to `sha256`; with neither, the
  // version's only language. notice_unknown when the version (or language)
  // is not stored, notice_mismatch when `sha256` matches none of its texts.
  Result<Notice> Resolve(const std::string& tenant_id, const std::string& version, const std::string& language,
                         const std::string& sha256);

  // The version in force now (the latest published whose valid_from has
  // come), in `language`, else English, else its first language; nullopt
  // when the tenant has none in force.
  Result<std::optional<Notice>> InForce(const std::string& tenant_id, std::string_view language);

  // CONS-09: the oldest version a consent for `purpose_id` may have been
  // given under. seq 0 means any version counts.
  struct Floor {
    int64_t seq = 0;
    std::string version;
  };
  Result<Floor> ReconsentFloor(const std::string& tenant_id, const std::string& purpose_id);

  // The publication order of a version; 0 when it is not stored (a consent
  // recorded before notices were kept in the gateway). A version this
  // process has not seen yet is looked up again (at most once a second).
  Result<int64_t> SeqOf(const std::string& tenant_id, const std::string& version);
  // The same, in a list of the tenant's notices.
  static int64_t SeqIn(const std::vector<Notice>& notices, const std::string& version);

  // First contact (GDPR Art. 13): inside the transaction that stores a
  // subject's inbound message, decides whether the notice in force must be
  // sent to them (they never got any version, or they lack one that asks
  // for re-consent). If so, reserves the delivery (so a second message in
  // flight does not send it again) and returns the notice; the caller sends
  // its information message after the commit and reports with Delivered().
  Result<std::optional<Notice>> ReserveInformation(StoreTransaction& tx, const std::string& tenant_id,
                                                   const std::string& subject, std::string_view language,
                                                   const std::string& channel_id);

  // The information message was queued as `message_id`: the delivery is
  // recorded with it and audited as "notice.sent". Or it could not be
  // (`message_id` not ok): the reservation is released, so the next
  // contact tries again, and "notice.send_failed" is audited.
  Status Delivered(const std::string& tenant_id, const std::string& subject, const Notice& notice,
                   const std::string& channel_id, const Result<std::string>& message_id);

  // Drops what this process remembers of the subject's deliveries (after
  // an erasure, which deletes them).
  void ForgetSubject(const std::string& tenant_id, const std::string& subject);

  // The text of the information message: the notice's info_message and the
  // opt-out footer of its language (CONS-07: an automated message).
  static std::string InformationText(const Notice& notice);

 private:
  static constexpr int64_t kCacheMs = 30'000;
  using Notices = std::shared_ptr<const std::vector<Notice>>;
  // The tenant's notices, from the cache when younger than `max_age_ms`,
  // else read through `via` (a transaction's repository inside one).
  Result<Notices> Load(const std::string& tenant_id, ConsentRepository& via, int64_t max_age_ms = kCacheMs);
  Result<Notices> Load(const std::string& tenant_id) { return Load(tenant_id, store_.consents()); }
  std::optional<Notice> InForceIn(const std::vector<Notice>& notices, std::string_view language) const;
  void Invalidate(const std::string& tenant_id);

  Store& store_;
  const AuditLedger& ledger_;
  const Clock& clock_;

  struct Cached {
    Notices notices;
    int64_t loaded_at_ms = 0;
  };
  std::mutex mu_;
  std::unordered_map<std::string, Cached> cache_;  // guarded by mu_
  // "tenant\nsubject" → versions known to need no information message:
  // spares the inbound path a read per message. Bounded; cleared when full.
  static constexpr size_t kMaxDelivered = 1'000'000;
  std::unordered_map<std::string, std::vector<std::string>> delivered_;  // guarded by mu_
  bool KnownDelivered(const std::string& tenant_id, const std::string& subject, const std::string& version);
  void RememberDelivered(const std::string& tenant_id, const std::string& subject, const std::string& version);
};

// The language to inform a subject in, from their number's country code
// ("+49…" → "de", "+33…" → "fr"); "" when the code says nothing useful.
std::string LanguageForPhone(std::string_view e164);

}  // namespace cs
