// File: passwords.h
// Operators' passwords (SEC-07, S-02, S-03; docs/operators.md#passwords):
// NIST SP 800-63B rules (a minimum length, no composition rules, a check
// against common and context words) and argon2id hashing (libargon2).
//
// Thread-safety: free functions, safe for concurrent use.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/secret.h"
#include "common/status.h"
#include "env/env.h"

namespace cs {

struct PasswordRules {
  int min_length = 12;   // in characters (code points), after NFKC normalisation
  int max_length = 256;  // bounds the hashing work one request can ask for
};

// The argon2id cost (RFC 9106 §4, the memory-constrained recommendation,
// with more passes): 64 MiB, 3 passes, 1 lane, a 16-byte salt, a 32-byte
// hash. About 0.15 s on one core of the reference machine (docs/operators.md).
struct PasswordCost {
  uint32_t memory_kib = 64 * 1024;
  uint32_t passes = 3;
  uint32_t lanes = 1;
};

// Checks a new password: invalid_argument "weak_password" with a sentence
// saying why (too short, too long, common, made of a common word, a
// repetition or a sequence, or built on one of `context_words`: the
// product, the tenant, the login). No composition rules (S-02).
Status CheckNewPassword(const SecretString& password, const std::vector<std::string>& context_words,
                        const PasswordRules& rules = {});

// The PHC string of argon2id over the NFKC form of `password`
// ("$argon2id$v=19$m=…,t=…,p=…$salt$hash"). The whole password is
// hashed: no truncation (S-02).
Result<std::string> HashPassword(const SecretString& password, Random& random, const PasswordCost& cost = {});

// True when `password` matches `phc`. invalid_argument "invalid_hash" for
// a string this module did not write. The comparison is argon2's (constant time).
Result<bool> VerifyPassword(const SecretString& password, const std::string& phc);

// True when `phc` was made with another cost than `cost`: rehash at the next login.
bool PasswordNeedsRehash(const std::string& phc, const PasswordCost& cost = {});

}  // namespace cs
