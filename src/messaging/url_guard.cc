// The SSRF guard of url_guard.h.
#include "messaging/url_guard.h"

#include <arpa/inet.h>

#include <cstring>

#include "common/strings.h"
#include "http/client.h"

namespace cs {

namespace {

Status NotAllowed(std::string why) { return InvalidArgument("url_not_allowed", "the URL is not allowed: " + why); }

bool PublicV4(uint32_t a) {  // host byte order
  auto in = [a](uint32_t net, int bits) { return (a >> (32 - bits)) == (net >> (32 - bits)); };
  return !(in(0x00000000, 8) ||     // "this" network, 0.0.0.0
           in(0x0A000000, 8) ||     // 10/8
           in(0x64400000, 10) ||    // 100.64/10 carrier-grade NAT
           in(0x7F000000, 8) ||     // loopback
           in(0xA9FE0000, 16) ||    // link-local, cloud metadata 169.254.169.254
           in(0xAC100000, 12) ||    // 172.16/12
           in(0xC0000000, 24) ||    // 192.0.0/24 IETF
           in(0xC0000200, 24) ||    // TEST-NET-1
           in(0xC0A80000, 16) ||    // 192.168/16
           in(0xC6120000, 15) ||    // 198.18/15 benchmarking
           in(0xC6336400, 24) ||    // TEST-NET-2
           in(0xCB007100, 24) ||    // TEST-NET-3
           in(0xE0000000, 4) ||     // multicast
           in(0xF0000000, 4));      // reserved, broadcast
}

bool PublicV6(const unsigned char b[16]) {
  static const unsigned char kZero[16] = {};
  if (std::memcmp(b, kZero, 15) == 0 && (b[15] == 0 || b[15] == 1)) return false;  // :: and ::1
  if ((b[0] & 0xFE) == 0xFC) return false;                   // fc00::/7 unique local (fd00:ec2::254 too)
  if (b[0] == 0xFE && (b[1] & 0xC0) == 0x80) return false;   // fe80::/10 link-local
  if (b[0] == 0xFF) return false;                            // multicast
  static const unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
  static const unsigned char kNat64[12] = {0, 0x64, 0xFF, 0x9B, 0, 0, 0, 0, 0, 0, 0, 0};
  if (std::memcmp(b, kMapped, 12) == 0 || std::memcmp(b, kNat64, 12) == 0 || std::memcmp(b, kZero, 12) == 0) {
    uint32_t v4 = (uint32_t{b[12]} << 24) | (uint32_t{b[13]} << 16) | (uint32_t{b[14]} << 8) | b[15];
    return PublicV4(v4);  // IPv4-mapped, NAT64 and IPv4-compatible forms
  }
  if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0D && b[3] == 0xB8) return false;  // documentation
  return true;
}

std::string HostPort(const ParsedUrl& parsed) {
  bool bracketed = parsed.host.find(':') != std::string::npos;
  std::string host = bracketed ? "[" + parsed.host + "]" : parsed.host;
  return host + ":" + std::to_string(parsed.port);
}

}  // namespace

bool IsPublicAddress(std::string_view address) {
  std::string a(address);
  in_addr v4{};
  if (inet_pton(AF_INET, a.c_str(), &v4) == 1) return PublicV4(ntohl(v4.s_addr));
  unsigned char v6[16];
  if (inet_pton(AF_INET6, a.c_str(), v6) == 1) return PublicV6(v6);
  return false;
}

bool IsAllowListed(std::string_view url, const UrlPolicy& policy) {
  Result<ParsedUrl> parsed = ParseUrl(url);
  if (!parsed.ok()) return false;
  std::string with_port = HostPort(*parsed);
  for (const std::string& allowed : policy.allowed_hosts) {
    if (allowed == parsed->host || allowed == with_port) return true;
  }
  return false;
}

Status CheckOutboundUrl(std::string_view url, const UrlPolicy& policy) {
  if (url.size() > 2048) return NotAllowed("longer than 2,048 characters");
  for (char c : url) {
    if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7F) {
      return NotAllowed("only printable ASCII is allowed (no IDN hosts)");
    }
  }
  std::string lower = AsciiLower(url);
  if (lower.rfind("https://", 0) != 0 && lower.rfind("http://", 0) != 0) return NotAllowed("the scheme must be https");
  Result<ParsedUrl> parsed = ParseUrl(url);
  if (!parsed.ok()) return NotAllowed(parsed.status().message());
  if (IsAllowListed(url, policy)) return Status::Ok();
  if (!parsed->tls) return NotAllowed("the scheme must be https");
  const std::string& host = parsed->host;
  if (host.find("xn--") != std::string::npos) return NotAllowed("punycode hosts are refused (homographs)");
  if (host == "localhost" || (host.size() > 10 && host.substr(host.size() - 10) == ".localhost") ||
      host == "metadata.google.internal" || host == "metadata" ||
      (host.size() > 9 && host.substr(host.size() - 9) == ".internal")) {
    return NotAllowed("the host is local or a metadata service");
  }
  // inet_aton accepts every IPv4 notation a resolver would (2130706433,
  // 0x7f000001, 017700000001, 127.1), so a literal cannot hide in one.
  in_addr v4{};
  if (inet_aton(host.c_str(), &v4) != 0) {
    if (!PublicV4(ntohl(v4.s_addr))) return NotAllowed("the address is not public");
    return Status::Ok();
  }
  unsigned char v6[16];
  if (inet_pton(AF_INET6, host.c_str(), v6) == 1 && !PublicV6(v6)) return NotAllowed("the address is not public");
  if (host.find('.') == std::string::npos && host.find(':') == std::string::npos) {
    return NotAllowed("the host must be a fully qualified name");
  }
  return Status::Ok();
}

}  // namespace cs
