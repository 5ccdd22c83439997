#include "common/sha256.h"

#include <openssl/evp.h>

#include <cstdlib>

namespace cs {

namespace {

// Fetched once: an implicit fetch on every init costs a provider lookup.
const EVP_MD* Sha256Md() {
  static const EVP_MD* const kMd = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return kMd;
}

struct ThreadContext {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ~ThreadContext() { EVP_MD_CTX_free(ctx); }
};

ThreadContext& Context() {
  thread_local ThreadContext t;
  return t;
}

[[noreturn]] void HashFailure() {
  // Hashing only fails when OpenSSL cannot allocate; continuing with a wrong
  // digest would silently break tamper evidence, so stop instead.
  std::abort();
}

}  // namespace

Sha256Hasher::Sha256Hasher() {
  if (Context().ctx == nullptr || Sha256Md() == nullptr || EVP_DigestInit_ex(Context().ctx, Sha256Md(), nullptr) != 1) {
    HashFailure();
  }
}

void Sha256Hasher::Update(std::string_view bytes) {
  if (EVP_DigestUpdate(Context().ctx, bytes.data(), bytes.size()) != 1) HashFailure();
}

std::string Sha256Hasher::Final() {
  std::string out(32, '\0');
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(Context().ctx, reinterpret_cast<unsigned char*>(out.data()), &len) != 1 || len != 32) {
    HashFailure();
  }
  return out;
}

void Sha256Into(std::initializer_list<std::string_view> pieces, char* out) {
  ThreadContext& t = Context();
  unsigned int len = 0;
  bool ok = t.ctx != nullptr && Sha256Md() != nullptr && EVP_DigestInit_ex(t.ctx, Sha256Md(), nullptr) == 1;
  for (std::string_view p : pieces) ok = ok && EVP_DigestUpdate(t.ctx, p.data(), p.size()) == 1;
  ok = ok && EVP_DigestFinal_ex(t.ctx, reinterpret_cast<unsigned char*>(out), &len) == 1;
  if (!ok || len != 32) HashFailure();
}

std::string Sha256(std::initializer_list<std::string_view> pieces) {
  std::string out(32, '\0');
  Sha256Into(pieces, out.data());
  return out;
}

}  // namespace cs
