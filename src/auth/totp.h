// File: totp.h
// Time-based one-time passwords (RFC 6238 over RFC 4226: HMAC-SHA-1, six
// digits, 30-second steps), the second factor every operator must have
// (SEC-07, S-08), and the enrolment's otpauth:// URI with its QR code.
//
// Thread-safety: free functions, safe for concurrent use.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/secret.h"
#include "common/status.h"
#include "env/env.h"

namespace cs {

constexpr int64_t kTotpStepSeconds = 30;

// A new shared secret: 20 random bytes (160 bits, RFC 4226's recommendation).
Result<SecretString> NewTotpSecret(Random& random);

// The six-digit code of `secret` for time step `step` (unix seconds / 30).
std::string TotpCode(const SecretString& secret, int64_t step);

// The step `code` belongs to, among the current one and one step either
// side (clock drift), provided it is later than `last_used_step`: a code
// works once (S-08). nullopt when it matches none of them.
std::optional<int64_t> MatchTotp(const SecretString& secret, std::string_view code, int64_t now_unix_ms,
                                 int64_t last_used_step);

// otpauth://totp/<issuer>:<account>?secret=<base32>&issuer=<issuer>&algorithm=SHA1&digits=6&period=30
// (the Key Uri Format authenticator apps read).
SecretString TotpUri(const SecretString& secret, std::string_view issuer, std::string_view account);

// The URI as a QR code, an SVG image (libqrencode; error correction M).
Result<std::string> QrSvg(const SecretString& text);

// RFC 4648 base32 without padding, as authenticator apps take secrets.
std::string Base32(std::string_view bytes);
// Its inverse (what an authenticator app does with the secret it is shown);
// characters outside the alphabet end the input.
std::string Base32Decode(std::string_view text);

}  // namespace cs
