// TOTP (totp.h).
#include "auth/totp.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <qrencode.h>

#include <memory>

#include "common/strings.h"

namespace cs {

namespace {

// Percent-encodes everything but RFC 3986 unreserved characters.
std::string PercentEncode(std::string_view text) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
        c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

struct QrDeleter {
  void operator()(QRcode* q) const { QRcode_free(q); }
};

}  // namespace

std::string Base32(std::string_view bytes) {
  static const char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (unsigned char c : bytes) {
    buffer = (buffer << 8) | c;
    bits += 8;
    while (bits >= 5) {
      out.push_back(kAlphabet[(buffer >> (bits - 5)) & 31]);
      bits -= 5;
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(buffer << (5 - bits)) & 31]);
  return out;
}

std::string Base32Decode(std::string_view text) {
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (char c : text) {
    int v;
    if (c >= 'A' && c <= 'Z') {
      v = c - 'A';
    } else if (c >= '2' && c <= '7') {
      v = c - '2' + 26;
    } else {
      break;
    }
    buffer = (buffer << 5) | static_cast<uint32_t>(v);
    bits += 5;
    if (bits >= 8) {
      out.push_back(static_cast<char>((buffer >> (bits - 8)) & 0xff));
      bits -= 8;
    }
  }
  return out;
}

Result<SecretString> NewTotpSecret(Random& random) {
  CS_ASSIGN_OR_RETURN(std::string bytes, random.Bytes(20));
  return SecretString(std::move(bytes));
}

std::string TotpCode(const SecretString& secret, int64_t step) {
  unsigned char counter[8];
  for (int i = 7; i >= 0; --i) {
    counter[i] = static_cast<unsigned char>(step & 0xff);
    step >>= 8;
  }
  const std::string_view key = InsecureSecretAccess::Get(secret);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  HMAC(EVP_sha1(), key.data(), static_cast<int>(key.size()), counter, sizeof counter, mac, &mac_len);
  // RFC 4226 §5.3, dynamic truncation.
  const int offset = mac[mac_len - 1] & 0x0f;
  const uint32_t binary = (static_cast<uint32_t>(mac[offset] & 0x7f) << 24) | (static_cast<uint32_t>(mac[offset + 1]) << 16) |
                          (static_cast<uint32_t>(mac[offset + 2]) << 8) | static_cast<uint32_t>(mac[offset + 3]);
  std::string code = std::to_string(binary % 1'000'000);
  return std::string(6 - code.size(), '0') + code;
}

std::optional<int64_t> MatchTotp(const SecretString& secret, std::string_view code, int64_t now_unix_ms,
                                 int64_t last_used_step) {
  if (code.size() != 6 || code.find_first_not_of("0123456789") != std::string_view::npos) return std::nullopt;
  const int64_t now_step = now_unix_ms / 1000 / kTotpStepSeconds;
  std::optional<int64_t> matched;
  // Every candidate is computed, so timing does not say which one matched.
  for (int64_t step = now_step - 1; step <= now_step + 1; ++step) {
    const std::string expected = TotpCode(secret, step);
    if (CRYPTO_memcmp(expected.data(), code.data(), 6) == 0 && step > last_used_step && !matched) matched = step;
  }
  return matched;
}

SecretString TotpUri(const SecretString& secret, std::string_view issuer, std::string_view account) {
  return SecretString("otpauth://totp/" + PercentEncode(issuer) + ":" + PercentEncode(account) +
                      "?secret=" + Base32(InsecureSecretAccess::Get(secret)) + "&issuer=" + PercentEncode(issuer) +
                      "&algorithm=SHA1&digits=6&period=30");
}

Result<std::string> QrSvg(const SecretString& text) {
  const std::string data(InsecureSecretAccess::Get(text));
  std::unique_ptr<QRcode, QrDeleter> qr(QRcode_encodeString8bit(data.c_str(), 0, QR_ECLEVEL_M));
  if (!qr) return Internal("the QR code could not be made");
  const int quiet = 4;
  const int size = qr->width + 2 * quiet;
  std::string svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 " + std::to_string(size) + " " +
                    std::to_string(size) + "\" shape-rendering=\"crispEdges\" role=\"img\" aria-label=\"QR code\">"
                    "<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/><path fill=\"#000\" d=\"";
  for (int y = 0; y < qr->width; ++y) {
    for (int x = 0; x < qr->width; ++x) {
      if (qr->data[y * qr->width + x] & 1) {
        svg += "M" + std::to_string(x + quiet) + " " + std::to_string(y + quiet) + "h1v1h-1z";
      }
    }
  }
  svg += "\"/></svg>";
  return svg;
}

}  // namespace cs
