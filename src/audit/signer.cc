// Ed25519 signing and verification of tree heads (OpenSSL 3 EVP).
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <utility>

#include "audit/audit.h"
#include "common/sha256.h"
#include "common/strings.h"
#include "env/file_system.h"

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
constexpr std::string_view kSealedByMarker = "consentry-sealed-by: ";

// An open file descriptor, closed on scope exit.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

bool WriteAll(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// Reads the whole file; the staging buffer is wiped, since it may hold a
// plaintext key.
Result<std::string> ReadFile(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (fd.get() < 0) return Unavailable("storage_unavailable", "cannot open the audit signing key " + path);
  std::string out;
  char buf[4096];
  while (true) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      OPENSSL_cleanse(buf, sizeof buf);
      OPENSSL_cleanse(out.data(), out.size());
      return Unavailable("storage_unavailable", "cannot read the audit signing key " + path);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  OPENSSL_cleanse(buf, sizeof buf);
  return out;
}

// Creates `path` with `content`, whole or not at all (the durable writer,
// env/file_system.h). false when another process created it first.
Result<bool> CreateKeyFile(const std::string& path, std::string_view content) {
  DurableWriteOptions options;
  options.create_only = true;
  Status created = WriteFileAtomically(PosixFileSystem(), path, content, options);
  if (created.machine_code() == "file_exists") return false;
  CS_RETURN_IF_ERROR(created);
  return true;
}

// Replaces the key file at `path` with `content`, atomically. The new file
// keeps the old one's owner (a CLI run as root must not take the key away
// from the gateway's user). The old file's bytes, which may be a plaintext
// key, are then overwritten with zeros through a descriptor kept open
// across the rename. (On copy-on-write file systems and SSDs old blocks
// may survive; docs/audit.md says so.)
Status ReplaceKeyFile(const std::string& path, std::string_view content) {
  Fd old(::open(path.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW));
  struct stat st {};
  if (old.get() < 0 || ::fstat(old.get(), &st) != 0) return Unavailable("storage_unavailable", "cannot open " + path);
  DurableWriteOptions options;
  options.keep_owner = true;
  CS_RETURN_IF_ERROR(WriteFileAtomically(PosixFileSystem(), path, content, options));
  std::string zeros(static_cast<size_t>(st.st_size), '\0');
  if (::lseek(old.get(), 0, SEEK_SET) == 0 && WriteAll(old.get(), zeros)) ::fsync(old.get());
  return Status::Ok();
}

// Serialises the processes that create or rewrite the key file (the
// gateway and admin commands share the data directory).
class KeyFileLock {
 public:
  static Result<KeyFileLock> Acquire(const std::string& path) {
    int fd = ::open((path + ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return Unavailable("storage_unavailable", "cannot open " + path + ".lock");
    while (::flock(fd, LOCK_EX) != 0) {
      if (errno != EINTR) {
        ::close(fd);
        return Unavailable("storage_unavailable", "cannot lock " + path + ".lock");
      }
    }
    return KeyFileLock(fd);
  }
  KeyFileLock(KeyFileLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  KeyFileLock(const KeyFileLock&) = delete;
  KeyFileLock& operator=(const KeyFileLock&) = delete;
  KeyFileLock& operator=(KeyFileLock&&) = delete;
  ~KeyFileLock() {
    if (fd_ >= 0) ::close(fd_);  // releases the lock
  }

 private:
  explicit KeyFileLock(int fd) : fd_(fd) {}
  int fd_;
};

// The sealed file: the public key in the clear (verification needs no
// secret), which master key sealed it, then the private key sealed.
Result<std::string> SealedFile(EVP_PKEY* key, const SigningKeySealer& sealer) {
  std::string raw(32, '\0');
  size_t len = raw.size();
  if (EVP_PKEY_get_raw_private_key(key, reinterpret_cast<unsigned char*>(raw.data()), &len) != 1 || len != 32) {
    OPENSSL_cleanse(raw.data(), raw.size());
    return Internal("cannot read the audit signing key");
  }
  SecretString secret(std::move(raw));
  CS_ASSIGN_OR_RETURN(std::string sealed, sealer.seal(secret));
  CS_ASSIGN_OR_RETURN(AuditPublicKey pub, PublicOf(key));
  return pub.pem() + std::string(kSealedByMarker) + sealer.key_id + "\n" + std::string(kSealedMarker) +
         HexEncode(sealed) + "\n";
}

// The value after `marker` on its line, or "".
std::string_view LineValue(std::string_view content, std::string_view marker) {
  size_t at = content.find(marker);
  if (at == std::string_view::npos) return {};
  std::string_view rest = content.substr(at + marker.size());
  rest = rest.substr(0, rest.find('\n'));
  while (!rest.empty() && rest.back() == '\r') rest.remove_suffix(1);
  return rest;
}

}  // namespace

Result<std::unique_ptr<AuditSigner>> AuditSigner::LoadOrCreate(const std::string& path, const SigningKeySealer* sealer,
                                                               bool create) {
  // Everything below, the decision to create or rewrite included, happens
  // under the lock, so two processes never write the file at once.
  CS_ASSIGN_OR_RETURN(KeyFileLock lock, KeyFileLock::Acquire(path));
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (!create) {
      return FailedPrecondition("master_key_required",
                                "there is no audit signing key at " + path + " and it is not created without a "
                                "usable master key");
    }
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
      OPENSSL_cleanse(data, static_cast<size_t>(len));
    }
    Result<bool> created = CreateKeyFile(path, content);
    OPENSSL_cleanse(content.data(), content.size());
    CS_RETURN_IF_ERROR(created.status());
    if (::lstat(path.c_str(), &st) != 0) return Unavailable("storage_unavailable", "cannot read " + path);
  }
  if (!S_ISREG(st.st_mode)) return FailedPrecondition("insecure_key_file", path + " is not a regular file");
  if ((st.st_mode & 077) != 0) {
    return FailedPrecondition("insecure_key_file", path + " is readable by group or others; chmod 600 it");
  }
  CS_ASSIGN_OR_RETURN(std::string content, ReadFile(path));
  const size_t marker = content.find(kSealedMarker);
  if (marker != std::string::npos) {
    const size_t pem_end = std::min(marker, content.find(kSealedByMarker));
    CS_ASSIGN_OR_RETURN(AuditPublicKey pub, AuditPublicKey::FromPem(std::string_view(content).substr(0, pem_end)));
    // Verification needs no secret; signing needs the master key.
    if (sealer == nullptr) return std::unique_ptr<AuditSigner>(new AuditSigner(nullptr, std::move(pub)));
    std::optional<std::string> sealed = HexDecode(LineValue(content, kSealedMarker));
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
    if (sealer->reseal && LineValue(content, kSealedByMarker) != sealer->key_id) {
      // A master-key rotation: sealed again under the new key.
      CS_ASSIGN_OR_RETURN(std::string again, SealedFile(opened, *sealer));
      CS_RETURN_IF_ERROR(ReplaceKeyFile(path, again));
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
    CS_RETURN_IF_ERROR(ReplaceKeyFile(path, sealed_file));
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
