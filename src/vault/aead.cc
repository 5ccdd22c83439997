#include "vault/aead.h"

#include <openssl/evp.h>

#include <unistd.h>

#include <algorithm>
#include <memory>

namespace cs {

namespace {

constexpr uint8_t kFormatVersion = 1;
constexpr uint8_t kAlgAes256Gcm = 1;
constexpr size_t kHeaderSize = 6;
constexpr size_t kNonceSize = 12;
constexpr size_t kTagSize = 16;

struct CtxDeleter {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};

// Fetched once; the implicit fetch of EVP_aes_256_gcm() per call costs a provider lookup.
const EVP_CIPHER* Aes256Gcm() {
  static const EVP_CIPHER* const kCipher = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
  return kCipher;
}

EVP_CIPHER_CTX* ThreadContext() {
  thread_local std::unique_ptr<EVP_CIPHER_CTX, CtxDeleter> ctx(EVP_CIPHER_CTX_new());
  return ctx.get();
}

void PutField(std::string& out, std::string_view v) {
  const auto n = static_cast<uint32_t>(v.size());
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((n >> shift) & 0xff));
  out.append(v);
}

// Associated data: a domain tag, the binding, and the header (so neither the
// key version nor the algorithm can be swapped). Built in a per-thread
// buffer: this runs for every field read or written.
const std::string& AssociatedData(const FieldBinding& b, std::string_view header) {
  thread_local std::string aad;
  aad.assign("consentry-field-v1");
  PutField(aad, b.tenant_id);
  PutField(aad, b.subject);
  PutField(aad, b.record);
  PutField(aad, b.field);
  aad.append(header);
  return aad;
}

std::string Header(uint32_t version) {
  std::string h;
  h.push_back(static_cast<char>(kFormatVersion));
  h.push_back(static_cast<char>(kAlgAes256Gcm));
  for (int shift = 24; shift >= 0; shift -= 8) h.push_back(static_cast<char>((version >> shift) & 0xff));
  return h;
}

Status CryptoFailure() { return Internal("the cipher failed"); }

// Nonces come from the CSPRNG in 4 KiB draws per thread: one RAND_bytes
// call per field would cost more than the encryption itself. The buffer is
// dropped if the process forks (the child must not reuse the parent's nonces).
Result<std::string> NextNonce(Random& random) {
  struct Buffer {
    std::string bytes;
    size_t used = 0;
    pid_t pid = 0;
  };
  thread_local Buffer buffer;
  if (buffer.pid != getpid() || buffer.used + kNonceSize > buffer.bytes.size()) {
    CS_ASSIGN_OR_RETURN(buffer.bytes, random.Bytes(4096));
    buffer.used = 0;
    buffer.pid = getpid();
  }
  std::string nonce = buffer.bytes.substr(buffer.used, kNonceSize);
  // Spent nonce bytes are overwritten so no copy of them lingers for reuse.
  std::fill(buffer.bytes.begin() + static_cast<long>(buffer.used),
            buffer.bytes.begin() + static_cast<long>(buffer.used + kNonceSize), '\0');
  buffer.used += kNonceSize;
  return nonce;
}

}  // namespace

Result<AeadKey> AeadKey::Create(SecretString bytes, uint32_t version) {
  if (bytes.size() != 32) return InvalidArgument("invalid_key", "an AES-256 key has 32 bytes");
  return AeadKey(std::move(bytes), version);
}

Result<uint32_t> CiphertextKeyVersion(std::string_view c) {
  if (c.size() < kHeaderSize + kNonceSize + kTagSize) {
    return InvalidArgument("malformed_ciphertext", "the ciphertext is too short");
  }
  if (static_cast<uint8_t>(c[0]) != kFormatVersion || static_cast<uint8_t>(c[1]) != kAlgAes256Gcm) {
    return InvalidArgument("malformed_ciphertext", "unknown ciphertext format or algorithm");
  }
  uint32_t v = 0;
  for (size_t i = 2; i < 6; ++i) v = (v << 8) | static_cast<uint8_t>(c[i]);
  return v;
}

Result<std::string> Seal(const AeadKey& key, std::string_view plaintext, const FieldBinding& binding,
                         Random& random) {
  CS_ASSIGN_OR_RETURN(std::string nonce, NextNonce(random));
  std::string out = Header(key.version_);
  const std::string& aad = AssociatedData(binding, out);
  out += nonce;
  const size_t body = out.size();
  out.resize(body + plaintext.size() + kTagSize);
  auto* dst = reinterpret_cast<unsigned char*>(out.data() + body);
  EVP_CIPHER_CTX* ctx = ThreadContext();
  const auto* k = reinterpret_cast<const unsigned char*>(InsecureSecretAccess::Get(key.bytes_).data());
  int len = 0;
  int final_len = 0;
  if (ctx == nullptr || Aes256Gcm() == nullptr ||
      EVP_EncryptInit_ex2(ctx, Aes256Gcm(), k, reinterpret_cast<const unsigned char*>(nonce.data()), nullptr) != 1 ||
      EVP_EncryptUpdate(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(aad.data()),
                        static_cast<int>(aad.size())) != 1 ||
      EVP_EncryptUpdate(ctx, dst, &len, reinterpret_cast<const unsigned char*>(plaintext.data()),
                        static_cast<int>(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx, dst + len, &final_len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, kTagSize, dst + plaintext.size()) != 1) {
    return CryptoFailure();
  }
  return out;
}

Result<SecretString> Open(const AeadKey& key, std::string_view c, const FieldBinding& binding) {
  CS_ASSIGN_OR_RETURN(uint32_t version, CiphertextKeyVersion(c));
  if (version != key.version_) {
    return FailedPrecondition("wrong_key_version", "the ciphertext was sealed under key version " +
                                                       std::to_string(version) + ", not " +
                                                       std::to_string(key.version_));
  }
  const std::string& aad = AssociatedData(binding, c.substr(0, kHeaderSize));
  const std::string_view nonce = c.substr(kHeaderSize, kNonceSize);
  const std::string_view body = c.substr(kHeaderSize + kNonceSize, c.size() - kHeaderSize - kNonceSize - kTagSize);
  unsigned char tag[kTagSize];
  std::copy(c.end() - kTagSize, c.end(), tag);
  std::string plain(body.size(), '\0');
  EVP_CIPHER_CTX* ctx = ThreadContext();
  const auto* k = reinterpret_cast<const unsigned char*>(InsecureSecretAccess::Get(key.bytes_).data());
  int len = 0;
  int final_len = 0;
  if (ctx == nullptr || Aes256Gcm() == nullptr ||
      EVP_DecryptInit_ex2(ctx, Aes256Gcm(), k, reinterpret_cast<const unsigned char*>(nonce.data()), nullptr) != 1 ||
      EVP_DecryptUpdate(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(aad.data()),
                        static_cast<int>(aad.size())) != 1 ||
      EVP_DecryptUpdate(ctx, reinterpret_cast<unsigned char*>(plain.data()), &len,
                        reinterpret_cast<const unsigned char*>(body.data()), static_cast<int>(body.size())) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, kTagSize, tag) != 1) {
    SecretString wipe(std::move(plain));
    return CryptoFailure();
  }
  if (EVP_DecryptFinal_ex(ctx, reinterpret_cast<unsigned char*>(plain.data()) + len, &final_len) != 1) {
    SecretString wipe(std::move(plain));  // never hand out unauthenticated plaintext
    return Status(StatusCode::kDataLoss, "integrity_error",
                  "the ciphertext failed its integrity check (tampered, moved, truncated or another key)");
  }
  return SecretString(std::move(plain));
}

}  // namespace cs
