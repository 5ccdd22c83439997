#include "common/secret.h"

#include <openssl/crypto.h>

namespace cs {

std::string_view InsecureSecretAccess::Get(const SecretString& secret) { return secret.value_; }

SecretString::~SecretString() { Wipe(); }

SecretString::SecretString(SecretString&& other) noexcept : value_(std::move(other.value_)) {
  other.Wipe();
}

SecretString& SecretString::operator=(SecretString&& other) noexcept {
  if (this != &other) {
    Wipe();
    value_ = std::move(other.value_);
    other.Wipe();
  }
  return *this;
}

void SecretString::Wipe() {
  // Cleanse the whole capacity: short-string buffers and heap buffers alike.
  if (value_.capacity() > 0) OPENSSL_cleanse(value_.data(), value_.capacity());
  value_.clear();
}

bool SecretString::ConstantTimeEquals(std::string_view other) const {
  return cs::ConstantTimeEquals(value_, other);
}

std::ostream& operator<<(std::ostream& os, const SecretString&) { return os << "[redacted]"; }

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace cs
