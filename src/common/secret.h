// File: secret.h
// SecretString: holds key material, API keys and tokens.
//
// Move-only; wipes its buffer on destruction (OPENSSL_cleanse); compares in
// constant time; streams and formats as "[redacted]". Raw access needs
// InsecureSecretAccess, so every place that touches a secret is greppable.
#pragma once

#include <ostream>
#include <string>
#include <string_view>

namespace cs {

class SecretString;

// The token that unlocks a secret's bytes. Every use is a review point.
class InsecureSecretAccess {
 public:
  static std::string_view Get(const SecretString& secret);
};

class SecretString {
 public:
  SecretString() = default;
  explicit SecretString(std::string value) : value_(std::move(value)) {}
  ~SecretString();
  SecretString(const SecretString&) = delete;
  SecretString& operator=(const SecretString&) = delete;
  SecretString(SecretString&& other) noexcept;
  SecretString& operator=(SecretString&& other) noexcept;

  bool empty() const { return value_.empty(); }
  size_t size() const { return value_.size(); }

  // Compares in time that depends only on the lengths.
  bool ConstantTimeEquals(std::string_view other) const;

 private:
  friend class InsecureSecretAccess;
  void Wipe();
  std::string value_;
};

std::ostream& operator<<(std::ostream& os, const SecretString&);

// Compares two byte strings in time independent of their content.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace cs
