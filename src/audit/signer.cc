// Ed25519 signing and verification of tree heads (OpenSSL 3 EVP).
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>

#include "audit/audit.h"
#include "common/sha256.h"
#include "common/strings.h"

namespace cs {

namespace {

struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;
struct CtxDeleter {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

std::shared_ptr<EVP_PKEY> Own(EVP_PKEY* k) { return std::shared_ptr<EVP_PKEY>(k, EVP_PKEY_free); }

Result<AuditPublicKey> PublicOf(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), key) != 1) return Internal("cannot encode the audit public key");
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return AuditPublicKey::FromPem(std::string_view(data, static_cast<size_t>(len)));
}

}  // namespace

Result<AuditPublicKey> AuditPublicKey::FromPem(std::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  EVP_PKEY* raw = bio ? PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr) : nullptr;
  if (raw == nullptr) return InvalidArgument("invalid_key", "not a PEM public key");
  auto key = Own(raw);
  if (EVP_PKEY_get_id(raw) != EVP_PKEY_ED25519) return InvalidArgument("invalid_key", "not an Ed25519 key");
  unsigned char pub[32];
  size_t len = sizeof pub;
  if (EVP_PKEY_get_raw_public_key(raw, pub, &len) != 1 || len != 32) return Internal("cannot read the public key");
  AuditPublicKey out;
  out.key_ = std::move(key);
  out.key_id_ = HexEncode(Sha256({std::string_view(reinterpret_cast<char*>(pub), len)}).substr(0, 8));
  out.pem_ = std::string(pem);
  return out;
}

bool AuditPublicKey::Verify(std::string_view message, std::string_view signature) const {
  std::unique_ptr<EVP_MD_CTX, CtxDeleter> ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key_.get()) != 1) return false;
  return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                          reinterpret_cast<const unsigned char*>(message.data()), message.size()) == 1;
}

Result<std::unique_ptr<AuditSigner>> AuditSigner::LoadOrCreate(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    EVP_PKEY* generated = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
    if (generated == nullptr) return Internal("cannot generate the audit signing key");
    auto key = Own(generated);
    // O_EXCL: never overwrite a key another process created meanwhile.
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) {
      FILE* f = fdopen(fd, "w");
      bool ok = f != nullptr && PEM_write_PrivateKey(f, key.get(), nullptr, nullptr, 0, nullptr, nullptr) == 1;
      ok = f != nullptr && fflush(f) == 0 && fsync(fd) == 0 && ok;
      if (f) fclose(f);
      else ::close(fd);
      if (!ok) return Unavailable("storage_unavailable", "cannot write the audit signing key " + path);
    } else if (errno != EEXIST) {
      return Unavailable("storage_unavailable", "cannot create the audit signing key " + path);
    }
    if (::stat(path.c_str(), &st) != 0) return Unavailable("storage_unavailable", "cannot read " + path);
  }
  if ((st.st_mode & 077) != 0) {
    return FailedPrecondition("insecure_key_file", path + " is readable by group or others; chmod 600 it");
  }
  FILE* f = fopen(path.c_str(), "r");
  if (f == nullptr) return Unavailable("storage_unavailable", "cannot open the audit signing key " + path);
  EVP_PKEY* raw = PEM_read_PrivateKey(f, nullptr, nullptr, nullptr);
  fclose(f);
  if (raw == nullptr) return DataLoss("the audit signing key " + path + " is not a PEM private key");
  auto key = Own(raw);
  if (EVP_PKEY_get_id(raw) != EVP_PKEY_ED25519) return DataLoss("the audit signing key is not Ed25519");
  CS_ASSIGN_OR_RETURN(AuditPublicKey pub, PublicOf(raw));
  return std::unique_ptr<AuditSigner>(new AuditSigner(std::move(key), std::move(pub)));  // private constructor
}

Result<std::string> AuditSigner::Sign(std::string_view message) const {
  std::unique_ptr<EVP_MD_CTX, CtxDeleter> ctx(EVP_MD_CTX_new());
  std::string sig(64, '\0');
  size_t len = sig.size();
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key_.get()) != 1 ||
      EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                     reinterpret_cast<const unsigned char*>(message.data()), message.size()) != 1) {
    return Internal("cannot sign the tree head");
  }
  sig.resize(len);
  return sig;
}

}  // namespace cs
