// File: url_guard.h
// The SSRF guard for URLs the gateway calls on a tenant's behalf (webhook
// subscribers; REQUIREMENTS B-30…B-34). Two stages: CheckOutboundUrl when a
// URL is registered (scheme, shape, literal addresses in any notation), and
// IsPublicAddress on every address the name resolves to at connection time
// (HttpClientOptions::allow_address pins the connection to a checked one).
//
// Hosts in the allow-list (local development, e.g. "127.0.0.1" or
// "localhost:9000") may use http and private addresses; nothing else may.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace cs {

struct UrlPolicy {
  std::vector<std::string> allowed_hosts;  // "host" or "host:port", lowercase
};

// Refusals: invalid_argument "url_not_allowed" with the reason: not https,
// user info, over 2,048 characters, a non-ASCII or punycode host, a literal
// address (decimal, hex, octal or short IPv4 forms included) that is not
// public, localhost, or a metadata host name.
Status CheckOutboundUrl(std::string_view url, const UrlPolicy& policy);

// True when `url`'s host (and port) is in the allow-list.
bool IsAllowListed(std::string_view url, const UrlPolicy& policy);

// True for a public unicast address; false for loopback, private,
// link-local, carrier-grade NAT, multicast, reserved, unspecified, the
// cloud metadata addresses, and IPv6 forms embedding such an IPv4 address.
bool IsPublicAddress(std::string_view address);

}  // namespace cs
