// File: keys.h
// The top of the key hierarchy (docs/formats/ciphertext.md, issue 5): the
// master key, the KMS interface that wraps lower keys under it, and subject
// pseudonyms. Tenant key-encryption keys and subject data keys are wrapped
// by a Kms; only wrapped forms are ever stored.
//
// Thread-safety: LocalKms is immutable and thread-safe; functions are reentrant.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/secret.h"
#include "common/status.h"
#include "env/env.h"

namespace cs {

struct MasterKeySource {
  std::optional<std::string> file;     // 64 hex characters, mode 0600 (or stricter)
  std::optional<std::string> env_hex;  // the value of CONSENTRY_MASTER_KEY, if set
};

// Loads the 32-byte master key from the environment value or the file (the
// environment wins). Refusals: failed_precondition "master_key_missing"
// (neither given), "insecure_key_file" (readable by group or others);
// invalid_argument "master_key_invalid" (not 64 hex characters).
Result<SecretString> LoadMasterKey(const MasterKeySource& source);

// Wraps and unwraps key material under a key it holds and never reveals.
// `context` names what is wrapped ("tenant:<id>:kek:<version>"), so a
// wrapped key cannot be swapped for another one.
class Kms {
 public:
  virtual ~Kms() = default;
  virtual Result<std::string> Wrap(const SecretString& key, std::string_view context) = 0;
  // kDataLoss "integrity_error" for a wrong context, a wrong master key or a damaged blob.
  virtual Result<SecretString> Unwrap(std::string_view wrapped, std::string_view context) = 0;
  // A short, non-secret id of the wrapping key (for rotation bookkeeping).
  virtual std::string key_id() const = 0;
  // The id of the previous key that Unwrap still accepts during a rotation, or "".
  virtual std::string previous_key_id() const { return ""; }
};

// A Kms over a local master key (file or environment). An external KMS or
// HSM implements the same interface. With `previous`, a master-key rotation
// is under way: Wrap uses `master_key`, Unwrap accepts either, so gateways
// restarted one by one keep serving (docs/erasure.md).
std::unique_ptr<Kms> CreateLocalKms(SecretString master_key, Random& random,
                                    std::optional<SecretString> previous = std::nullopt);

// Returns the subject pseudonym "sub_" + hex(HMAC-SHA-256(pepper, e164)).
// REQUIRES: `e164` is normalised (NormalizePhone). The same number gives the
// same pseudonym under one tenant's pepper and unrelated ones across tenants.
std::string SubjectPseudonym(const SecretString& pepper, std::string_view e164);
// Whether `subject` has the form SubjectPseudonym gives: "sub_" and 64
// lowercase hex characters (so a phone number cannot pass for one).
bool IsSubjectPseudonym(std::string_view subject);

// Returns "wam_" + 32 hex characters of HMAC-SHA-256(pepper, "provider-id:" +
// id): the keyed hash that stands for a provider identifier that may embed
// personal data (Meta's wamids carry the user's number in base64). Lookups
// and deduplication use it; without the pepper it tells nothing, and the
// identifiers are random enough that it cannot be searched either.
std::string ProviderIdToken(const SecretString& pepper, std::string_view provider_id);
// Whether `token` has the form ProviderIdToken gives.
bool IsProviderIdToken(std::string_view token);

}  // namespace cs
