#include "vault/keys.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "common/sha256.h"
#include "common/strings.h"
#include "vault/aead.h"

namespace cs {

namespace {

Result<SecretString> FromHex(std::string_view hex) {
  hex = TrimAscii(hex);
  auto bytes = HexDecode(hex);
  if (hex.size() != 64 || !bytes) {
    return InvalidArgument("master_key_invalid", "the master key must be 64 hexadecimal characters (32 bytes)");
  }
  return SecretString(std::move(*bytes));
}

std::string KeyId(const SecretString& master_key) {
  // Names the key without revealing it: a domain-separated hash of it, truncated.
  return "local:" + HexEncode(Sha256({"consentry-kms-id", InsecureSecretAccess::Get(master_key)})).substr(0, 16);
}

class LocalKms final : public Kms {
 public:
  LocalKms(AeadKey key, std::string id, std::optional<AeadKey> previous, std::string previous_id, Random& random)
      : key_(std::move(key)),
        id_(std::move(id)),
        previous_(std::move(previous)),
        previous_id_(std::move(previous_id)),
        random_(random) {}

  Result<std::string> Wrap(const SecretString& key, std::string_view context) override {
    return Seal(key_, InsecureSecretAccess::Get(key), Binding(context), random_);
  }

  Result<SecretString> Unwrap(std::string_view wrapped, std::string_view context) override {
    Result<SecretString> opened = Open(key_, wrapped, Binding(context));
    if (opened.ok() || !previous_) return opened;
    // Wrapped before the rotation began: the previous key opens it.
    Result<SecretString> before = Open(*previous_, wrapped, Binding(context));
    return before.ok() ? std::move(before) : std::move(opened);
  }

  std::string key_id() const override { return id_; }
  std::string previous_key_id() const override { return previous_id_; }

 private:
  static FieldBinding Binding(std::string_view context) { return FieldBinding{"", "", context, "wrapped-key"}; }

  AeadKey key_;
  std::string id_;
  std::optional<AeadKey> previous_;
  std::string previous_id_;
  Random& random_;
};

}  // namespace

Result<SecretString> LoadMasterKey(const MasterKeySource& source) {
  if (source.env_hex) return FromHex(*source.env_hex);
  if (!source.file) {
    return FailedPrecondition("master_key_missing",
                              "no master key: set CONSENTRY_MASTER_KEY or give a key file (64 hex characters, mode 0600)");
  }
  struct stat st {};
  if (::stat(source.file->c_str(), &st) != 0) {
    return FailedPrecondition("master_key_missing", "the master key file " + *source.file + " does not exist");
  }
  if ((st.st_mode & 077) != 0) {
    return FailedPrecondition("insecure_key_file", *source.file + " is readable by group or others; chmod 600 it");
  }
  std::ifstream in(*source.file);
  std::stringstream content;
  content << in.rdbuf();
  SecretString text(content.str());
  return FromHex(InsecureSecretAccess::Get(text));
}

std::unique_ptr<Kms> CreateLocalKms(SecretString master_key, Random& random, std::optional<SecretString> previous) {
  std::string id = KeyId(master_key);
  AeadKey key = std::move(AeadKey::Create(std::move(master_key), 1)).value();
  std::optional<AeadKey> previous_key;
  std::string previous_id;
  if (previous && KeyId(*previous) != id) {
    previous_id = KeyId(*previous);
    previous_key.emplace(std::move(AeadKey::Create(std::move(*previous), 1)).value());
  }
  return std::make_unique<LocalKms>(std::move(key), std::move(id), std::move(previous_key), std::move(previous_id),
                                    random);
}

namespace {

// HMAC-SHA-256 of `data` under `key`. The algorithm is fetched once: OpenSSL
// 3 looks it up by name on every EVP_Q_mac call, which cost more than the
// MAC itself on the ingest path (two per received message).
void HmacSha256(std::string_view key, std::string_view data, unsigned char (&out)[32]) {
  static EVP_MAC* const hmac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  static char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", digest, 0), OSSL_PARAM_construct_end()};
  EVP_MAC_CTX* ctx = hmac != nullptr ? EVP_MAC_CTX_new(hmac) : nullptr;
  size_t len = 0;
  const bool ok = ctx != nullptr &&
                  EVP_MAC_init(ctx, reinterpret_cast<const unsigned char*>(key.data()), key.size(), params) == 1 &&
                  EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1 &&
                  EVP_MAC_final(ctx, out, &len, sizeof out) == 1 && len == sizeof out;
  EVP_MAC_CTX_free(ctx);
  // Only on allocation failure; a wrong pseudonym would silently split a person in two.
  if (!ok) std::abort();
}

}  // namespace

std::string SubjectPseudonym(const SecretString& pepper, std::string_view e164) {
  unsigned char mac[32];
  HmacSha256(InsecureSecretAccess::Get(pepper), e164, mac);
  return "sub_" + HexEncode(std::string_view(reinterpret_cast<const char*>(mac), sizeof mac));
}

std::string ProviderIdToken(const SecretString& pepper, std::string_view provider_id) {
  // Its own domain: an identifier never hashes to what a number would as a pseudonym.
  std::string full = "provider-id:";
  full.append(provider_id);
  unsigned char mac[32];
  HmacSha256(InsecureSecretAccess::Get(pepper), full, mac);
  return "wam_" + HexEncode(std::string_view(reinterpret_cast<const char*>(mac), 16));
}

bool IsProviderIdToken(std::string_view token) {
  return token.size() == 36 && token.substr(0, 4) == "wam_" &&
         std::all_of(token.begin() + 4, token.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

bool IsSubjectPseudonym(std::string_view subject) {
  return subject.size() == 68 && subject.substr(0, 4) == "sub_" &&
         std::all_of(subject.begin() + 4, subject.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

}  // namespace cs
