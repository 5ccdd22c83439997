// Ed25519 signing and verification of tree heads (OpenSSL 3 EVP).
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
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

namespace {

constexpr std::string_view kSealedMarker = "consentry-sealed-private-key: ";

// The sealed file: the public key in the clear (verification needs no
// secret), then the private key sealed under the master key.
Result<std::string> SealedFile(EVP_PKEY* key, const SigningKeySealer& sealer) {
  std::string raw(32, '\0');
  size_t len = raw.size();
  if (EVP_PKEY_get_raw_private_key(key, reinterpret_cast<unsigned char*>(raw.data()), &len) != 1 || len != 32) {
    return Internal("cannot read the audit signing key");
  }
  SecretString secret(std::move(raw));
  CS_ASSIGN_OR_RETURN(std::string sealed, sealer.seal(secret));
  CS_ASSIGN_OR_RETURN(AuditPublicKey pub, PublicOf(key));
  return pub.pem() + std::string(kSealedMarker) + HexEncode(sealed) + "\n";
}

// Writes `content` to a new 0600 file; false (and no error) if it exists.
Result<bool> CreatePrivateFile(const std::string& path, std::string_view content) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return false;
    return Unavailable("storage_unavailable", "cannot create " + path);
  }
  bool ok = ::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) return Unavailable("storage_unavailable", "cannot write " + path);
  return true;
}

// Replaces the file at `path` with `content`: the old bytes are overwritten
// with zeros first (a plaintext key must not linger in freed blocks), then
// a new file is renamed over it.
Status ReplacePrivateFile(const std::string& path, std::string_view content) {
  const std::string tmp = path + ".tmp";
  ::unlink(tmp.c_str());
  CS_ASSIGN_OR_RETURN(bool created, CreatePrivateFile(tmp, content));
  if (!created) return Unavailable("storage_unavailable", "cannot create " + tmp);
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
      std::string zeros(static_cast<size_t>(st.st_size), '\0');
      bool ok = ::write(fd, zeros.data(), zeros.size()) == static_cast<ssize_t>(zeros.size()) && ::fsync(fd) == 0;
      ::close(fd);
      if (!ok) return Unavailable("storage_unavailable", "cannot overwrite " + path);
    }
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) return Unavailable("storage_unavailable", "cannot replace " + path);
  const std::string dir = path.find('/') == std::string::npos ? "." : path.substr(0, path.rfind('/'));
  int dfd = ::open(dir.empty() ? "/" : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return Status::Ok();
}

Result<std::string> ReadFile(const std::string& path) {
  FILE* f = fopen(path.c_str(), "r");
  if (f == nullptr) return Unavailable("storage_unavailable", "cannot open the audit signing key " + path);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  fclose(f);
  return out;
}

}  // namespace

Result<std::unique_ptr<AuditSigner>> AuditSigner::LoadOrCreate(const std::string& path, const SigningKeySealer* sealer) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    EVP_PKEY* generated = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
    if (generated == nullptr) return Internal("cannot generate the audit signing key");
    auto key = Own(generated);
    std::string content;
    if (sealer != nullptr) {
      CS_ASSIGN_OR_RETURN(content, SealedFile(key.get(), *sealer));
    } else {
      BioPtr bio(BIO_new(BIO_s_mem()));
      if (!bio || PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
        return Internal("cannot encode the audit signing key");
      }
      char* data = nullptr;
      long len = BIO_get_mem_data(bio.get(), &data);
      content.assign(data, static_cast<size_t>(len));
    }
    // O_EXCL: never overwrite a key another process created meanwhile.
    CS_RETURN_IF_ERROR(CreatePrivateFile(path, content).status());
    OPENSSL_cleanse(content.data(), content.size());
    if (::stat(path.c_str(), &st) != 0) return Unavailable("storage_unavailable", "cannot read " + path);
  }
  if ((st.st_mode & 077) != 0) {
    return FailedPrecondition("insecure_key_file", path + " is readable by group or others; chmod 600 it");
  }
  CS_ASSIGN_OR_RETURN(std::string content, ReadFile(path));
  const size_t marker = content.find(kSealedMarker);
  if (marker != std::string::npos) {
    CS_ASSIGN_OR_RETURN(AuditPublicKey pub, AuditPublicKey::FromPem(std::string_view(content).substr(0, marker)));
    // Verification needs no secret; signing needs the master key.
    if (sealer == nullptr) return std::unique_ptr<AuditSigner>(new AuditSigner(nullptr, std::move(pub)));
    std::string_view hex = std::string_view(content).substr(marker + kSealedMarker.size());
    while (!hex.empty() && (hex.back() == '\n' || hex.back() == '\r')) hex.remove_suffix(1);
    std::optional<std::string> sealed = HexDecode(hex);
    if (!sealed) return DataLoss("the sealed audit signing key in " + path + " is damaged");
    CS_ASSIGN_OR_RETURN(SecretString raw, sealer->open(*sealed));
    std::string_view bytes = InsecureSecretAccess::Get(raw);
    EVP_PKEY* opened = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr,
                                                    reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
    if (opened == nullptr) return DataLoss("the sealed audit signing key in " + path + " is damaged");
    auto key = Own(opened);
    CS_ASSIGN_OR_RETURN(AuditPublicKey derived, PublicOf(opened));
    if (derived.key_id() != pub.key_id()) {
      return DataLoss("the audit signing key in " + path + " does not match its public key");
    }
    if (sealer->reseal) {
      // A master-key rotation: seal it under the new key before the old one goes.
      CS_ASSIGN_OR_RETURN(std::string again, SealedFile(opened, *sealer));
      CS_RETURN_IF_ERROR(ReplacePrivateFile(path, again));
    }
    return std::unique_ptr<AuditSigner>(new AuditSigner(std::move(key), std::move(derived)));
  }
  BioPtr bio(BIO_new_mem_buf(content.data(), static_cast<int>(content.size())));
  EVP_PKEY* raw = bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr;
  OPENSSL_cleanse(content.data(), content.size());
  if (raw == nullptr) return DataLoss("the audit signing key " + path + " is not a PEM private key");
  auto key = Own(raw);
  if (EVP_PKEY_get_id(raw) != EVP_PKEY_ED25519) return DataLoss("the audit signing key is not Ed25519");
  if (sealer != nullptr) {
    // A key from before the master key: sealed in place, the plaintext overwritten.
    CS_ASSIGN_OR_RETURN(std::string sealed_file, SealedFile(raw, *sealer));
    CS_RETURN_IF_ERROR(ReplacePrivateFile(path, sealed_file));
  }
  CS_ASSIGN_OR_RETURN(AuditPublicKey pub, PublicOf(raw));
  return std::unique_ptr<AuditSigner>(new AuditSigner(std::move(key), std::move(pub)));  // private constructor
}

Result<std::string> AuditSigner::Sign(std::string_view message) const {
  if (key_ == nullptr) {
    return FailedPrecondition("master_key_required",
                              "the audit signing key is sealed under the master key: configure vault.master_key_file "
                              "or CONSENTRY_MASTER_KEY to sign tree heads");
  }
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
