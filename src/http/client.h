// File: client.h
// An outbound HTTP/1.1 client (Boost.Beast inside client.cc): one
// keep-alive connection, http or https, with connect and total timeouts and
// a cap on the response size. Used by the dispatcher (to the Cloud API),
// the sandbox (status webhooks) and tests.
//
// The errors tell a caller whether the request may have reached the peer,
// because a send that might have been delivered must never be blindly
// repeated (REQUIREMENTS F-13):
//   kUnavailable "upstream_unreachable": nothing was sent (DNS, connect, TLS
//     handshake); safe to retry.
//   kUnavailable "upstream_outcome_unknown": the request was written, or may
//     have been, and no complete answer came (timeout, reset, garbage).
//   kResourceExhausted "upstream_response_too_large": the answer passed the cap.
//   kInvalidArgument "invalid_url".
//   kPermissionDenied "url_not_allowed": allow_address refused every address.
// Redirects are never followed (a 3xx is returned as is: B-33).
// TLS peers are verified against the system store (or ca_file); there is no
// option to turn verification off.
//
// Thread-safety: none. Use one client per thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/status.h"
#include "http/http.h"

namespace cs {

struct HttpClientOptions {
  int64_t connect_timeout_ms = 5000;
  int64_t timeout_ms = 15000;            // whole exchange after connecting
  int64_t max_response_bytes = 1 << 20;
  std::string ca_file;                   // extra trust anchor for https (tests, private CAs)
  std::string user_agent = "consentry";
  // When set, every resolved address (as text, "10.0.0.1" or "::1") is
  // offered to it before connecting, and only accepted ones are dialled: the
  // connection is pinned to an address that was checked, so DNS rebinding
  // cannot slip past (B-32). None accepted: kPermissionDenied "url_not_allowed",
  // and no packet is sent.
  std::function<bool(std::string_view address)> allow_address;
};

struct HttpClientResponse {
  int status = 0;
  HeaderList headers;   // names lowercased
  std::string body;
  const std::string* Header(std::string_view lower_name) const;
};

struct ParsedUrl {
  bool tls = false;
  std::string host;
  uint16_t port = 0;
  std::string target;  // path and query, at least "/"
};

// Parses http(s)://host[:port][/path][?query]. No user info, no fragment.
Result<ParsedUrl> ParseUrl(std::string_view url);

class HttpClient {
 public:
  virtual ~HttpClient() = default;
  // Sends one request to `url` and reads the whole answer. Reuses the open
  // connection when the scheme, host and port are the same.
  virtual Result<HttpClientResponse> Send(std::string_view method, std::string_view url, const HeaderList& headers,
                                          std::string_view body) = 0;
};

std::unique_ptr<HttpClient> CreateHttpClient(const HttpClientOptions& options);

}  // namespace cs
