// TenantKeyring (vault/keyring.h).
#include <algorithm>
#include <chrono>

#include "common/json_writer.h"
#include "common/strings.h"
#include "vault/keyring.h"

namespace cs {

namespace {

// The audit entry of a change to a tenant's keys.
AuditEvent KeyEvent(const std::string& tenant_id, const AuditActor& actor, std::string action, std::string details) {
  AuditEvent e{
      .tenant_id = tenant_id,
      .actor = actor,
      .action = std::move(action),
      .resource = "keys",
      .details = std::move(details)
  };
  return e;
}

}  // namespace

Result<SecretString> TenantKeyring::LoadOrCreate(const std::string& tenant_id, const std::string& purpose) {
  const std::string context = TenantKeyContext(tenant_id, purpose);
  CS_ASSIGN_OR_RETURN(std::optional<std::string> wrapped, store_.tenant_keys().TenantKey(tenant_id, purpose));
  // A retired key stays retired: never created again under the same version.
  if (wrapped && wrapped->empty()) return SecretString();
  if (!wrapped) {
    CS_ASSIGN_OR_RETURN(std::string fresh, random_.Bytes(32));
    CS_ASSIGN_OR_RETURN(std::string sealed, kms_.Wrap(SecretString(std::move(fresh)), context));
    CS_RETURN_IF_ERROR(store_.tenant_keys().InsertTenantKey(tenant_id, purpose, sealed));
    // Another process may have won the race; its key is the one stored.
    CS_ASSIGN_OR_RETURN(wrapped, store_.tenant_keys().TenantKey(tenant_id, purpose));
    if (!wrapped) return Internal("tenant key vanished after insert");
  }
  return kms_.Unwrap(*wrapped, context);
}

Result<std::shared_ptr<const TenantKeyring::Keys>> TenantKeyring::KeysFor(const std::string& tenant_id, bool fresh) {
  const int64_t now = clock_.MonotonicNanos();
  {
    std::lock_guard lock(mu_);
    auto it = cache_.find(tenant_id);
    if (!fresh && it != cache_.end() && now - it->second->loaded_at_ns < kTenantKeyCacheSeconds * 1'000'000'000LL) {
      return it->second;
    }
  }
  auto keys = std::make_shared<Keys>();
  keys->loaded_at_ns = now;
  // First use creates the pepper and content key version 1.
  CS_ASSIGN_OR_RETURN(keys->pepper, LoadOrCreate(tenant_id, "pepper"));
  CS_RETURN_IF_ERROR(LoadOrCreate(tenant_id, ContentKeyPurpose(1)).status());
  CS_ASSIGN_OR_RETURN(auto rows, store_.tenant_keys().TenantKeysOf(tenant_id));
  for (const auto& [purpose, wrapped] : rows) {
    std::optional<uint32_t> version = ContentKeyVersionOf(purpose);
    if (!version) continue;
    if (wrapped.empty()) {
      keys->retired.insert(*version);
      continue;
    }
    CS_ASSIGN_OR_RETURN(SecretString bytes, kms_.Unwrap(wrapped, TenantKeyContext(tenant_id, purpose)));
    CS_ASSIGN_OR_RETURN(AeadKey key, AeadKey::Create(std::move(bytes), *version));
    keys->content.emplace(*version, std::move(key));
  }
  if (keys->content.empty()) return Internal("every content key of tenant " + tenant_id + " is retired");
  keys->current = keys->content.rbegin()->first;
  std::shared_ptr<const Keys> out = std::move(keys);
  std::lock_guard lock(mu_);
  // A slower load that started earlier must not replace a newer one.
  std::shared_ptr<const Keys>& slot = cache_[tenant_id];
  if (!slot || slot->loaded_at_ns <= out->loaded_at_ns) slot = out;
  return out;
}

Result<std::shared_ptr<const TenantKeyring::Keys>> TenantKeyring::KeysOpening(const std::string& tenant_id,
                                                                               std::string_view ciphertext,
                                                                               uint32_t* version) {
  CS_ASSIGN_OR_RETURN(*version, CiphertextKeyVersion(ciphertext));
  CS_ASSIGN_OR_RETURN(std::shared_ptr<const Keys> keys, KeysFor(tenant_id));
  if (keys->content.count(*version) == 0) {
    CS_ASSIGN_OR_RETURN(keys, KeysFor(tenant_id, true));
  }
  if (keys->retired.count(*version) != 0) {
    return FailedPrecondition("key_version_retired", "the tenant key version " + std::to_string(*version) +
                                                         " that sealed this data was retired");
  }
  if (keys->content.count(*version) == 0) {
    return FailedPrecondition("wrong_key_version",
                              "the ciphertext names tenant key version " + std::to_string(*version) +
                                  ", which this tenant does not have");
  }
  return keys;
}

Result<TenantKeyring::ContentKeyInfo> TenantKeyring::ContentKeyVersions(const std::string& tenant_id) {
  CS_ASSIGN_OR_RETURN(std::optional<std::string> first, store_.tenant_keys().TenantKey(tenant_id, ContentKeyPurpose(1)));
  ContentKeyInfo out;
  if (!first) return out;
  CS_ASSIGN_OR_RETURN(std::shared_ptr<const Keys> keys, KeysFor(tenant_id, true));
  for (const auto& [v, key] : keys->content) out.live.push_back(v);
  out.retired.assign(keys->retired.begin(), keys->retired.end());
  return out;
}

Result<uint32_t> TenantKeyring::RotateContentKey(const std::string& tenant_id, const AuditLedger& ledger,
                                                 const AuditActor& actor) {
  CS_ASSIGN_OR_RETURN(std::shared_ptr<const Keys> keys, KeysFor(tenant_id, true));
  const uint32_t next = std::max(keys->current, keys->retired.empty() ? 0u : *keys->retired.rbegin()) + 1;
  const std::string purpose = ContentKeyPurpose(next);
  CS_ASSIGN_OR_RETURN(std::string fresh, random_.Bytes(32));
  CS_ASSIGN_OR_RETURN(std::string wrapped, kms_.Wrap(SecretString(std::move(fresh)), TenantKeyContext(tenant_id, purpose)));
  CS_RETURN_IF_ERROR(store_.InTransaction([&](StoreTransaction& tx) -> Status {
    CS_ASSIGN_OR_RETURN(std::optional<std::string> existing, tx.tenant_keys().TenantKey(tenant_id, purpose));
    if (existing) {
      return AlreadyExists("rotation_in_progress", "another process added content key version " +
                                                       std::to_string(next) + " meanwhile: run it again");
    }
    CS_RETURN_IF_ERROR(tx.tenant_keys().InsertTenantKey(tenant_id, purpose, wrapped));
    JsonWriter w;
    w.BeginObject().Key("content_key_version").Int(next).Key("previous_version").Int(keys->current);
    return ledger.Record(tx, KeyEvent(tenant_id, actor, "keys.rotate_tenant", w.EndObject().Take()));
  }));
  CS_RETURN_IF_ERROR(KeysFor(tenant_id, true).status());
  return next;
}

Result<std::string> TenantKeyring::Pseudonym(const std::string& tenant_id, std::string_view identity) {
  CS_ASSIGN_OR_RETURN(std::shared_ptr<const Keys> keys, KeysFor(tenant_id));
  return SubjectPseudonym(keys->pepper, identity);
}

Result<std::string> TenantKeyring::ProviderIdToken(const std::string& tenant_id, std::string_view provider_id) {
  CS_ASSIGN_OR_RETURN(std::shared_ptr<const Keys> keys, KeysFor(tenant_id));
  return cs::ProviderIdToken(keys->pepper, provider_id);
}

namespace {

std::string SubjectCacheKey(const std::string& tenant_id, const std::string& subject) {
  return tenant_id + "/" + subject;
}

std::string DekField(int64_t generation) { return "dek:" + std::to_string(generation); }

void ListOnce(TenantKeyring::NewSubjectKeys& list, const std::shared_ptr<const TenantKeyring::UnstoredSubjectKey>& k) {
  if (std::find(list.begin(), list.end(), k) == list.end()) list.push_back(k);
}

// The cache holds at most this many subject keys; past it, it starts over.
constexpr size_t kSubjectKeyCacheMax = 200000;

}  // namespace

Result<TenantKeyring::SubjectKey> TenantKeyring::UnwrapSubjectKey(const Keys&, const SubjectKeyRecord& record) {
  SubjectKey out;
  out.generation = record.generation;
  out.loaded_at_ns = clock_.MonotonicNanos();
  if (!record.wrapped) return out;
  const std::string field = DekField(record.generation);
  uint32_t version = 0;
  CS_ASSIGN_OR_RETURN(std::shared_ptr<const Keys> wrapping, KeysOpening(record.tenant_id, *record.wrapped, &version));
  CS_ASSIGN_OR_RETURN(SecretString bytes,
                      cs::Open(wrapping->content.at(version), *record.wrapped,
                               FieldBinding{record.tenant_id, record.subject, "subject_key", field}));
  CS_ASSIGN_OR_RETURN(AeadKey key,
                      AeadKey::Create(std::move(bytes), kSubjectKeyFlag | static_cast<uint32_t>(record.generation)));
  out.key = std::make_shared<const AeadKey>(std::move(key));
  return out;
}

Result<TenantKeyring::SubjectKey> TenantKeyring::SubjectKeyFor(const std::string& tenant_id,
                                                               const std::string& subject, bool create, bool fresh,
                                                               NewSubjectKeys* deferred) {
  const std::string cache_key = SubjectCacheKey(tenant_id, subject);
  const int64_t now = clock_.MonotonicNanos();
  uint64_t epoch = 0;
  {
    std::lock_guard lock(mu_);
    epoch = forget_epoch_;
    auto it = subject_cache_.find(cache_key);
    // An unstored key serves readers and deferred sealing; sealing that
    // stores nothing itself must not depend on a key nobody may ever store.
    const bool usable = it != subject_cache_.end() && (!it->second.unstored || !create || deferred != nullptr);
    if (!fresh && usable && now - it->second.loaded_at_ns < kSubjectKeyCacheSeconds * 1'000'000'000LL &&
        (it->second.key || !create)) {
      if (it->second.unstored && create) ListOnce(*deferred, it->second.unstored);
      return it->second;
    }
  }
  CS_ASSIGN_OR_RETURN(std::shared_ptr<const Keys> keys, KeysFor(tenant_id));
  for (int attempt = 0; attempt < 3; ++attempt) {
    CS_ASSIGN_OR_RETURN(std::optional<SubjectKeyRecord> stored, store_.vault().GetSubjectKey(tenant_id, subject));
    if (!create || (stored && stored->wrapped)) {
      SubjectKey out;
      if (stored) {
        CS_ASSIGN_OR_RETURN(out, UnwrapSubjectKey(*keys, *stored));
      } else {
        out.loaded_at_ns = now;
      }
      std::lock_guard lock(mu_);
      // A destruction committed while this read ran: do not cache what was read before it.
      if (forget_epoch_ != epoch) return out;
      if (subject_cache_.size() >= kSubjectKeyCacheMax) subject_cache_.clear();
      subject_cache_[cache_key] = out;
      return out;
    }
    // A first key, or a new generation after an erasure (the person wrote again).
    SubjectKeyRecord created;
    created.tenant_id = tenant_id;
    created.subject = subject;
    created.generation = stored ? stored->generation + 1 : 1;
    created.created_at_ms = clock_.NowUnixMillis();
    CS_ASSIGN_OR_RETURN(std::string bytes, random_.Bytes(32));
    const std::string field = DekField(created.generation);
    CS_ASSIGN_OR_RETURN(created.wrapped, cs::Seal(keys->sealing(), bytes, FieldBinding{tenant_id, subject, "subject_key", field},
                                                random_));
    if (deferred != nullptr) {
      auto unstored = std::make_shared<UnstoredSubjectKey>();
      unstored->previous_generation = stored ? stored->generation : 0;
      unstored->record = std::move(created);
      SubjectKey out;
      out.generation = unstored->record.generation;
      out.loaded_at_ns = now;
      CS_ASSIGN_OR_RETURN(AeadKey key,
                          AeadKey::Create(SecretString(std::move(bytes)), kSubjectKeyFlag | static_cast<uint32_t>(out.generation)));
      out.key = std::make_shared<const AeadKey>(std::move(key));
      out.unstored = std::move(unstored);
      std::lock_guard lock(mu_);
      if (forget_epoch_ == epoch) {
        auto it = subject_cache_.find(cache_key);
        if (it != subject_cache_.end() && it->second.unstored && it->second.key &&
            it->second.unstored->previous_generation == out.unstored->previous_generation) {
          // Another request made one meanwhile: share it, so both commit the same key.
          out = it->second;
        } else {
          if (subject_cache_.size() >= kSubjectKeyCacheMax) subject_cache_.clear();
          subject_cache_[cache_key] = out;
        }
      }
      ListOnce(*deferred, out.unstored);
      return out;
    }
    // Whether this writer or a racing one won, the stored key is read next.
    CS_ASSIGN_OR_RETURN([[maybe_unused]] bool won, stored ? store_.vault().RenewSubjectKey(created, stored->generation)
                                                          : store_.vault().InsertSubjectKey(created));
  }
  return Unavailable("storage_unavailable", "subject key could not be created");
}

Result<std::string> TenantKeyring::SealDeferred(const std::string& tenant_id, std::string_view plaintext,
                                                const FieldBinding& binding, NewSubjectKeys& created) {
  if (binding.subject.empty()) return Seal(tenant_id, plaintext, binding);
  CS_ASSIGN_OR_RETURN(SubjectKey k, SubjectKeyFor(tenant_id, std::string(binding.subject), true, false, &created));
  if (!k.key) return Internal("subject key missing after creation");
  return cs::Seal(*k.key, plaintext, binding, random_);
}

Status TenantKeyring::StoreSubjectKeys(StoreTransaction& tx, const NewSubjectKeys& created) {
  for (const auto& k : created) {
    const SubjectKeyRecord& r = k->record;
    CS_ASSIGN_OR_RETURN(bool won, k->previous_generation == 0
                                      ? tx.vault().InsertSubjectKey(r)
                                      : tx.vault().RenewSubjectKey(r, k->previous_generation));
    if (won) continue;
    // Stored by an earlier unit of this transaction, or of an earlier one.
    CS_ASSIGN_OR_RETURN(std::optional<SubjectKeyRecord> stored, tx.vault().GetSubjectKey(r.tenant_id, r.subject));
    if (stored && stored->generation == r.generation && stored->wrapped == r.wrapped) continue;
    return Unavailable("subject_key_conflict", "another writer created this subject's key first; start over");
  }
  return Status::Ok();
}

void TenantKeyring::SubjectKeysStored(const NewSubjectKeys& created) {
  std::lock_guard lock(mu_);
  for (const auto& k : created) {
    auto it = subject_cache_.find(SubjectCacheKey(k->record.tenant_id, k->record.subject));
    if (it != subject_cache_.end() && it->second.unstored == k) it->second.unstored.reset();
  }
}

void TenantKeyring::DropUnstored(const NewSubjectKeys& created) {
  std::lock_guard lock(mu_);
  ++forget_epoch_;
  for (const auto& k : created) subject_cache_.erase(SubjectCacheKey(k->record.tenant_id, k->record.subject));
}

Result<std::string> TenantKeyring::Seal(const std::string& tenant_id, std::string_view plaintext,
                                        const FieldBinding& binding) {
  if (!binding.subject.empty()) {
    CS_ASSIGN_OR_RETURN(SubjectKey k, SubjectKeyFor(tenant_id, std::string(binding.subject), true));
    if (!k.key) return Internal("subject key missing after creation");
    return cs::Seal(*k.key, plaintext, binding, random_);
  }
  CS_ASSIGN_OR_RETURN(std::shared_ptr<const Keys> keys, KeysFor(tenant_id));
  return cs::Seal(keys->sealing(), plaintext, binding, random_);
}

Result<SecretString> TenantKeyring::Open(const std::string& tenant_id, std::string_view ciphertext,
                                         const FieldBinding& binding) {
  CS_ASSIGN_OR_RETURN(uint32_t version, CiphertextKeyVersion(ciphertext));
  if ((version & kSubjectKeyFlag) == 0) {
    CS_ASSIGN_OR_RETURN(std::shared_ptr<const Keys> keys, KeysOpening(tenant_id, ciphertext, &version));
    return cs::Open(keys->content.at(version), ciphertext, binding);
  }
  const int64_t generation = version & ~kSubjectKeyFlag;
  if (binding.subject.empty()) return DataLoss("a subject-key ciphertext in a field without a subject");
  CS_ASSIGN_OR_RETURN(SubjectKey k, SubjectKeyFor(tenant_id, std::string(binding.subject), false));
  if (!k.key || generation != k.generation) {
    // The cache may be behind another process (a new generation after an erasure): ask the store.
    CS_ASSIGN_OR_RETURN(k, SubjectKeyFor(tenant_id, std::string(binding.subject), false, true));
  }
  if (!k.key || generation < k.generation) {
    return FailedPrecondition("subject_erased", "this data belonged to a subject who was erased: its key is destroyed");
  }
  if (generation > k.generation) return DataLoss("ciphertext names a subject key generation that does not exist");
  return cs::Open(*k.key, ciphertext, binding);
}

Status TenantKeyring::DestroySubjectKey(StoreTransaction& tx, const std::string& tenant_id,
                                        const std::string& subject, int64_t at_ms) {
  CS_RETURN_IF_ERROR(tx.vault().DestroySubjectKey(tenant_id, subject, at_ms));
  ForgetSubject(tenant_id, subject);
  return Status::Ok();
}

void TenantKeyring::ForgetSubject(const std::string& tenant_id, const std::string& subject) {
  std::lock_guard lock(mu_);
  ++forget_epoch_;
  subject_cache_.erase(SubjectCacheKey(tenant_id, subject));
}

std::string ContentKeyPurpose(uint32_t version) {
  return version == 1 ? "content" : "content:" + std::to_string(version);
}

std::optional<uint32_t> ContentKeyVersionOf(std::string_view purpose) {
  if (purpose == "content") return 1u;
  if (purpose.rfind("content:", 0) != 0) return std::nullopt;
  std::optional<int64_t> v = ParseNonNegativeInt(purpose.substr(8));
  if (!v || *v < 2 || *v > 0x7fffffff) return std::nullopt;
  return static_cast<uint32_t>(*v);
}

Result<int64_t> TenantKeyring::ResealTenantFields(const std::string& tenant_id) {
  CS_ASSIGN_OR_RETURN(std::shared_ptr<const Keys> keys, KeysFor(tenant_id, true));
  int64_t resealed = 0;
  for (const auto& [version, key] : keys->content) {
    if (version == keys->current) continue;
    for (;;) {
      CS_ASSIGN_OR_RETURN(std::vector<TenantSealedField> fields,
                          store_.tenant_keys().ListTenantSealedFields(tenant_id, version, 500));
      if (fields.empty()) break;
      std::vector<std::string> again;
      for (const TenantSealedField& f : fields) {
        const std::string name = f.column.substr(0, f.column.size() - std::string_view("_sealed").size());
        const FieldBinding binding{tenant_id, "", f.row_id, name};
        CS_ASSIGN_OR_RETURN(SecretString plain, cs::Open(key, f.sealed, binding));
        CS_ASSIGN_OR_RETURN(std::string sealed, cs::Seal(keys->sealing(), InsecureSecretAccess::Get(plain), binding,
                                                         random_));
        again.push_back(std::move(sealed));
      }
      int64_t moved = 0;
      CS_RETURN_IF_ERROR(store_.InTransaction([&](StoreTransaction& tx) -> Status {
        moved = 0;
        for (size_t i = 0; i < fields.size(); ++i) {
          CS_ASSIGN_OR_RETURN(bool swapped, tx.tenant_keys().ReplaceTenantSealedField(tenant_id, fields[i], again[i]));
          moved += swapped ? 1 : 0;
        }
        return Status::Ok();
      }));
      resealed += moved;
      if (moved == 0) break;  // every row changed under us: the next run picks them up
    }
  }
  return resealed;
}

Status TenantKeyring::RetireContentKey(const std::string& tenant_id, uint32_t version, int64_t min_age_ms,
                                       const Clock& clock, const AuditLedger& ledger, const AuditActor& actor) {
  CS_ASSIGN_OR_RETURN(std::shared_ptr<const Keys> keys, KeysFor(tenant_id, true));
  if (keys->content.count(version) == 0) {
    return NotFound(keys->retired.count(version) != 0 ? "content key version " + std::to_string(version) +
                                                             " is already retired"
                                                       : "no content key version " + std::to_string(version));
  }
  if (version == keys->current) {
    return FailedPrecondition("version_current", "version " + std::to_string(version) +
                                                     " is the current content key: rotate first");
  }
  CS_ASSIGN_OR_RETURN(auto by_version, store_.vault().CountSubjectKeysByWrappingVersion(tenant_id));
  const int64_t subject_keys = by_version.count(version) != 0 ? by_version.at(version) : 0;
  CS_ASSIGN_OR_RETURN(std::vector<TenantSealedField> fields,
                      store_.tenant_keys().ListTenantSealedFields(tenant_id, version, 1000));
  if (subject_keys > 0 || !fields.empty()) {
    return FailedPrecondition("version_in_use", std::to_string(subject_keys) + " subject keys and " +
                                                    std::to_string(fields.size()) +
                                                    " tenant fields are still sealed under version " +
                                                    std::to_string(version) + ": run `keys rotate-tenant --resume`");
  }
  // When it stopped being current: the rotation that made the next version.
  AuditQuery q;
  q.tenant_id = tenant_id;
  q.action = "keys.rotate_tenant";
  q.limit = 1000;
  CS_ASSIGN_OR_RETURN(std::vector<AuditRecord> rotations, store_.audit().Query(q));
  const std::string marker = "\"content_key_version\":" + std::to_string(version + 1) + ",";
  std::optional<int64_t> superseded_at;
  for (const AuditRecord& r : rotations) {
    if (r.details.find(marker) != std::string::npos) superseded_at = r.ts_ms;
  }
  const int64_t now = clock.NowUnixMillis();
  if (!superseded_at || now - *superseded_at < min_age_ms) {
    return FailedPrecondition(
        "version_in_backups",
        "version " + std::to_string(version) + " was superseded " +
            (superseded_at ? std::to_string((now - *superseded_at) / 86'400'000) + " days ago" : "at an unknown time") +
            "; backups and quarantined bodies younger than " + std::to_string(min_age_ms / 86'400'000) +
            " days may still need it");
  }
  CS_RETURN_IF_ERROR(store_.InTransaction([&](StoreTransaction& tx) -> Status {
    CS_RETURN_IF_ERROR(tx.tenant_keys().RetireTenantKey(tenant_id, ContentKeyPurpose(version)));
    JsonWriter w;
    w.BeginObject().Key("content_key_version").Int(version);
    return ledger.Record(tx, KeyEvent(tenant_id, actor, "keys.retire_tenant", w.EndObject().Take()));
  }));
  return KeysFor(tenant_id, true).status();
}

Result<TenantKeyring::RewrapCounts> TenantKeyring::RewrapSubjectKeys(const std::string& tenant_id,
                                                                    const std::function<void(int64_t)>& progress) {
  RewrapCounts counts;
  CS_ASSIGN_OR_RETURN(std::shared_ptr<const Keys> keys, KeysFor(tenant_id, true));
  constexpr int kPage = 2000;
  std::string after;
  int64_t seen = 0;
  for (;;) {
    CS_ASSIGN_OR_RETURN(std::vector<SubjectKeyRecord> page, store_.vault().ListSubjectKeys(tenant_id, after, kPage));
    size_t mine = 0;
    while (mine < page.size() && page[mine].tenant_id == tenant_id) ++mine;
    page.resize(mine);
    if (page.empty()) break;
    after = page.back().subject;
    // Unwrap and re-wrap outside the transaction; the transaction only
    // swaps each row if it is still the one read.
    std::vector<std::pair<SubjectKeyRecord, std::string>> moves;
    for (const SubjectKeyRecord& k : page) {
      if (!k.wrapped) continue;
      CS_ASSIGN_OR_RETURN(uint32_t version, CiphertextKeyVersion(*k.wrapped));
      if (version == keys->current) {
        ++counts.current;
        continue;
      }
      auto key = keys->content.find(version);
      if (key == keys->content.end()) {
        return FailedPrecondition("wrong_key_version", "subject key wrapped under unknown content key version " +
                                                           std::to_string(version));
      }
      const std::string field = DekField(k.generation);  // outlives the binding's view of it
      const FieldBinding binding{k.tenant_id, k.subject, "subject_key", field};
      CS_ASSIGN_OR_RETURN(SecretString dek, cs::Open(key->second, *k.wrapped, binding));
      CS_ASSIGN_OR_RETURN(std::string again, cs::Seal(keys->sealing(), InsecureSecretAccess::Get(dek), binding, random_));
      moves.emplace_back(k, std::move(again));
    }
    int64_t moved = 0;
    CS_RETURN_IF_ERROR(store_.InTransaction([&](StoreTransaction& tx) -> Status {
      moved = 0;
      for (const auto& [k, again] : moves) {
        CS_ASSIGN_OR_RETURN(bool swapped, tx.vault().ReplaceWrappedSubjectKey(k, again));
        moved += swapped ? 1 : 0;
      }
      return Status::Ok();
    }));
    counts.rewrapped += moved;
    counts.raced += static_cast<int64_t>(moves.size()) - moved;
    seen += static_cast<int64_t>(page.size());
    if (progress) progress(seen);
    if (mine < static_cast<size_t>(kPage)) break;
  }
  return counts;
}

std::string TenantKeyContext(const std::string& tenant_id, const std::string& purpose) {
  return "tenant:" + tenant_id + ":" + purpose + ":1";
}

Result<int> RewrapTenantKeys(Store& store, Kms& from, Kms& to, const AuditLedger& ledger, const AuditActor& actor) {
  int rewrapped = 0;
  CS_RETURN_IF_ERROR(store.InTransaction([&](StoreTransaction& tx) -> Status {
    rewrapped = 0;
    CS_ASSIGN_OR_RETURN(auto keys, tx.tenant_keys().ListTenantKeys());
    for (const auto& [tenant_id, purpose, wrapped] : keys) {
      if (wrapped.empty()) continue;  // retired: nothing to re-wrap
      const std::string context = TenantKeyContext(tenant_id, purpose);
      CS_ASSIGN_OR_RETURN(SecretString key, from.Unwrap(wrapped, context));
      CS_ASSIGN_OR_RETURN(std::string again, to.Wrap(key, context));
      CS_RETURN_IF_ERROR(tx.tenant_keys().ReplaceTenantKey(tenant_id, purpose, again));
      ++rewrapped;
    }
    AuditEvent e{.actor = actor, .action = "keys.rotate_master", .resource = "keys"};
    // Finishing an online rotation: one Kms that still accepts the previous key.
    const std::string from_id = &from == &to && !from.previous_key_id().empty() ? from.previous_key_id() : from.key_id();
    JsonWriter w;
    w.BeginObject().Key("from").String(from_id).Key("to").String(to.key_id()).Key("rewrapped").Int(rewrapped);
    e.details = w.EndObject().Take();
    return ledger.Record(tx, e);
  }));
  return rewrapped;
}

}  // namespace cs
