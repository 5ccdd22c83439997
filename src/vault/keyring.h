// File: keyring.h
// The key hierarchy below the KMS (docs/erasure.md, docs/formats/ciphertext.md):
// per tenant a pseudonym pepper and versioned content keys, per subject a data
// key; sealing bound to tenant, subject, record and field; master- and
// tenant-key rotation. Crypto-shredding destroys a subject's key.
//
// Thread-safety: safe for concurrent use.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "audit/audit.h"
#include "common/secret.h"
#include "common/status.h"
#include "env/env.h"
#include "store/store.h"
#include "vault/aead.h"
#include "vault/keys.h"

namespace cs {

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

}  // namespace cs
