// Operators' passwords (passwords.h).
#include "auth/passwords.h"

#include <argon2.h>
#include <openssl/crypto.h>
#include <unicode/normalizer2.h>
#include <unicode/unistr.h>

#include <algorithm>
#include <cstring>
#include <string_view>
#include <unordered_set>

#include "common/strings.h"

namespace cs {

// The common-password list, embedded at build time (common_passwords.cc.in).
extern const char kCommonPasswords[];

namespace {

constexpr uint32_t kSaltBytes = 16;
constexpr uint32_t kHashBytes = 32;

Status Weak(std::string why) { return InvalidArgument("weak_password", std::move(why)); }

const std::unordered_set<std::string>& CommonPasswords() {
  static const std::unordered_set<std::string> list = [] {
    std::unordered_set<std::string> set;
    std::string_view all(kCommonPasswords);
    while (!all.empty()) {
      const size_t end = all.find('\n');
      std::string_view line = all.substr(0, end);
      all.remove_prefix(end == std::string_view::npos ? all.size() : end + 1);
      if (line.empty() || line[0] == '#') continue;
      set.insert(AsciiLower(line));
    }
    return set;
  }();
  return list;
}

// NFKC (NIST 800-63B 5.1.1.2): the same password typed on two keyboards
// hashes the same. Invalid UTF-8 is refused rather than guessed at.
Result<std::string> Normalize(std::string_view password) {
  if (!IsValidUtf8(password)) return Weak("the password is not valid UTF-8");
  UErrorCode err = U_ZERO_ERROR;
  const icu::Normalizer2* nfkc = icu::Normalizer2::getNFKCInstance(err);
  if (U_FAILURE(err)) return Internal("the Unicode normaliser is unavailable");
  icu::UnicodeString in = icu::UnicodeString::fromUTF8(icu::StringPiece(password.data(), static_cast<int32_t>(password.size())));
  icu::UnicodeString out = nfkc->normalize(in, err);
  if (U_FAILURE(err)) return Internal("the password could not be normalised");
  std::string utf8;
  out.toUTF8String(utf8);
  return utf8;
}

size_t CodePoints(std::string_view utf8) {
  return static_cast<size_t>(std::count_if(utf8.begin(), utf8.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

// A run of one short unit ("abcabcabcabc", "111111111111").
bool IsRepetition(std::string_view s) {
  for (size_t unit = 1; unit <= 4 && unit < s.size(); ++unit) {
    bool repeats = true;
    for (size_t i = unit; i < s.size() && repeats; ++i) repeats = s[i] == s[i - unit];
    if (repeats) return true;
  }
  return false;
}

// Part of a keyboard row or of the alphabet or digits, forwards or backwards.
bool IsSequence(std::string_view s) {
  static const std::string kRuns[] = {"abcdefghijklmnopqrstuvwxyz", "01234567890123456789", "qwertyuiopasdfghjklzxcvbnm",
                                      "qwertzuiopasdfghjklyxcvbnm", "azertyuiopqsdfghjklmwxcvbn", "1qaz2wsx3edc4rfv5tgb6yhn"};
  for (const std::string& run : kRuns) {
    std::string twice = run + run;
    std::string back(twice.rbegin(), twice.rend());
    if (twice.find(s) != std::string::npos || back.find(s) != std::string::npos) return true;
  }
  return false;
}

// What is left of `lower` once its non-letters at both ends are set aside.
std::string_view LetterCore(std::string_view lower) {
  auto letter = [](char c) { return (c >= 'a' && c <= 'z') || (static_cast<unsigned char>(c) & 0x80) != 0; };
  size_t b = 0, e = lower.size();
  while (b < e && !letter(lower[b])) ++b;
  while (e > b && !letter(lower[e - 1])) --e;
  return lower.substr(b, e - b);
}

}  // namespace

Status CheckNewPassword(const SecretString& password, const std::vector<std::string>& context_words,
                        const PasswordRules& rules) {
  CS_ASSIGN_OR_RETURN(std::string normal, Normalize(InsecureSecretAccess::Get(password)));
  const size_t length = CodePoints(normal);
  if (length < static_cast<size_t>(rules.min_length)) {
    return Weak("use at least " + std::to_string(rules.min_length) +
                " characters; a few unrelated words make a long password easy to remember");
  }
  if (length > static_cast<size_t>(rules.max_length)) {
    return Weak("use at most " + std::to_string(rules.max_length) + " characters");
  }
  const std::string lower = AsciiLower(normal);
  const auto& common = CommonPasswords();
  if (common.count(lower) > 0) return Weak("this password is on a list of the most common passwords");
  // A common word with a few digits or signs around it is still a common password.
  const std::string_view core = LetterCore(lower);
  if (lower.size() - core.size() < 8 && common.count(std::string(core)) > 0) {
    return Weak("this password is a common password with a few characters added");
  }
  if (IsRepetition(lower)) return Weak("this password repeats a few characters");
  if (IsSequence(lower)) return Weak("this password is a sequence of keys or letters");
  for (const std::string& word : context_words) {
    const std::string w = AsciiLower(word);
    if (w.size() < 4) continue;
    const size_t at = lower.find(w);
    if (at != std::string::npos && lower.size() - w.size() < 8) {
      return Weak("this password is built on the product's, the tenant's or the login's name");
    }
  }
  return Status::Ok();
}

Result<std::string> HashPassword(const SecretString& password, Random& random, const PasswordCost& cost) {
  CS_ASSIGN_OR_RETURN(std::string normal, Normalize(InsecureSecretAccess::Get(password)));
  CS_ASSIGN_OR_RETURN(std::string salt, random.Bytes(kSaltBytes));
  const size_t encoded_len = argon2_encodedlen(cost.passes, cost.memory_kib, cost.lanes, kSaltBytes, kHashBytes, Argon2_id);
  std::string encoded(encoded_len, '\0');
  const int rc = argon2id_hash_encoded(cost.passes, cost.memory_kib, cost.lanes, normal.data(), normal.size(), salt.data(),
                                       salt.size(), kHashBytes, encoded.data(), encoded.size());
  OPENSSL_cleanse(normal.data(), normal.size());
  if (rc != ARGON2_OK) return Internal(std::string("password hashing failed: ") + argon2_error_message(rc));
  encoded.resize(std::strlen(encoded.c_str()));
  return encoded;
}

Result<bool> VerifyPassword(const SecretString& password, const std::string& phc) {
  if (phc.rfind("$argon2id$", 0) != 0) return InvalidArgument("invalid_hash", "not an argon2id password hash");
  Result<std::string> normal = Normalize(InsecureSecretAccess::Get(password));
  if (!normal.ok()) return false;  // such a password was never accepted
  const int rc = argon2id_verify(phc.c_str(), normal->data(), normal->size());
  OPENSSL_cleanse(normal->data(), normal->size());
  if (rc == ARGON2_OK) return true;
  if (rc == ARGON2_VERIFY_MISMATCH) return false;
  return InvalidArgument("invalid_hash", std::string("the password hash cannot be checked: ") + argon2_error_message(rc));
}

bool PasswordNeedsRehash(const std::string& phc, const PasswordCost& cost) {
  const std::string params = "$m=" + std::to_string(cost.memory_kib) + ",t=" + std::to_string(cost.passes) +
                             ",p=" + std::to_string(cost.lanes) + "$";
  return phc.find(params) == std::string::npos;
}

}  // namespace cs
