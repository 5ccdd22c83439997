// File: aead.h
// Field encryption: AES-256-GCM (OpenSSL 3) with a versioned header and
// associated data that binds every ciphertext to its tenant, subject, record
// and field, so a ciphertext moved to another place does not decrypt.
// Format: docs/formats/ciphertext.md.
//
//   [0]      format version (1)
//   [1]      algorithm (1 = AES-256-GCM)
//   [2..5]   key version, big-endian
//   [6..17]  nonce, 96 random bits
//   [18..]   ciphertext, then the 16-byte tag
//
// Errors: invalid_argument "malformed_ciphertext" (too short, unknown
// version or algorithm); failed_precondition "wrong_key_version" (the header
// names another key version than the key given); data_loss
// "integrity_error" (tag mismatch: tampered, truncated, moved, or the wrong
// key). Never garbage: plaintext is returned only after the tag checks.
//
// Thread-safety: AeadKey is immutable; Seal/Open are reentrant.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/secret.h"
#include "common/status.h"
#include "env/env.h"

namespace cs {

// Where a ciphertext belongs. Empty parts are allowed (a tenant-level field
// has no subject) but are still bound: "" is not any other value.
struct FieldBinding {
  std::string_view tenant_id;
  std::string_view subject;
  std::string_view record;
  std::string_view field;
};

class AeadKey {
 public:
  // Wraps 32 bytes of key material as key `version`. kInvalidArgument
  // "invalid_key" for another length.
  static Result<AeadKey> Create(SecretString bytes, uint32_t version);
  uint32_t version() const { return version_; }

 private:
  friend Result<std::string> Seal(const AeadKey&, std::string_view, const FieldBinding&, Random&);
  friend Result<SecretString> Open(const AeadKey&, std::string_view, const FieldBinding&);
  AeadKey(SecretString bytes, uint32_t version) : bytes_(std::move(bytes)), version_(version) {}
  SecretString bytes_;
  uint32_t version_;
};

// Encrypts `plaintext` for the place `binding` names.
Result<std::string> Seal(const AeadKey& key, std::string_view plaintext, const FieldBinding& binding, Random& random);

// Decrypts, or fails with one of the errors of the file comment.
Result<SecretString> Open(const AeadKey& key, std::string_view ciphertext, const FieldBinding& binding);

// Returns the key version a ciphertext names (to pick the key to open it with).
Result<uint32_t> CiphertextKeyVersion(std::string_view ciphertext);

}  // namespace cs
