#include "vault/keys.h"

#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

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

class LocalKms final : public Kms {
 public:
  LocalKms(AeadKey key, std::string id, Random& random) : key_(std::move(key)), id_(std::move(id)), random_(random) {}

  Result<std::string> Wrap(const SecretString& key, std::string_view context) override {
    return Seal(key_, InsecureSecretAccess::Get(key), Binding(context), random_);
  }

  Result<SecretString> Unwrap(std::string_view wrapped, std::string_view context) override {
    return Open(key_, wrapped, Binding(context));
  }

  std::string key_id() const override { return id_; }

 private:
  static FieldBinding Binding(std::string_view context) { return FieldBinding{"", "", context, "wrapped-key"}; }

  AeadKey key_;
  std::string id_;
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

std::unique_ptr<Kms> CreateLocalKms(SecretString master_key, Random& random) {
  // The id names the key without revealing it: a domain-separated hash of it, truncated.
  std::string id = "local:" + HexEncode(Sha256({"consentry-kms-id", InsecureSecretAccess::Get(master_key)})).substr(0, 16);
  AeadKey key = std::move(AeadKey::Create(std::move(master_key), 1)).value();
  return std::make_unique<LocalKms>(std::move(key), std::move(id), random);
}

std::string SubjectPseudonym(const SecretString& pepper, std::string_view e164) {
  unsigned char mac[32];
  size_t len = 0;
  std::string_view key = InsecureSecretAccess::Get(pepper);
  if (EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, key.data(), key.size(),
                reinterpret_cast<const unsigned char*>(e164.data()), e164.size(), mac, sizeof mac, &len) == nullptr ||
      len != sizeof mac) {
    std::abort();  // only on allocation failure; a wrong pseudonym would silently split a person in two
  }
  return "sub_" + HexEncode(std::string_view(reinterpret_cast<const char*>(mac), len));
}

}  // namespace cs
