// File: http.h
// The HTTP/1.1 server: listener, limits, timeouts, TLS, keep-alive. No
// business logic: it turns bytes into an HttpRequest, calls one handler and
// writes the HttpResponse. Boost.Beast stays inside server.cc.
//
// Protocol-level refusals are answered here with the JSON error envelope
// and the connection closed: 400 malformed_request (bad syntax, obsolete
// line folding, Content-Length together with Transfer-Encoding, duplicate
// Content-Length: W-07), 413 payload_too_large (decided from the header or
// while streaming, before the body is read), 431 headers_too_large.
// A request that does not arrive within the read timeout, or a connection
// idle past the idle timeout, is closed.
//
// Every response carries X-Request-Id, always generated here (96 random
// bits): a client-supplied id is not reused, because a header the client
// controls could carry personal data into every log line. Responses also
// carry Cache-Control: no-store and X-Content-Type-Options: nosniff.
//
// Thread-safety: the handler and observer are called concurrently from the
// worker threads and must be thread-safe. Stop() may be called from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace cs {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct HttpResponse;
// Answers a deferred request (HttpRequest::defer), once, from any thread:
// `produce` runs on a server worker thread, and what it returns is written.
using HttpRespond = std::function<void(std::function<HttpResponse()> produce)>;

struct HttpRequest {
  std::string method;      // as sent, e.g. "GET"
  std::string target;      // request-target as sent (never logged: it may hold personal data)
  std::string path;        // target before '?'
  std::string query;       // target after '?', without it ("" if none)
  HeaderList headers;      // names lowercased, in arrival order
  std::string body;
  std::string request_id;
  std::string remote_address;  // the peer's IP, read once per connection (for the audit record only)
  bool tls = false;
  // Set by the server (null elsewhere, e.g. in tests calling a handler):
  // for a handler that waits on something without holding a worker thread
  // (the group commit). Calling it takes over the answer: the handler's
  // return value is ignored, and the returned HttpRespond answers later.
  // The request object lives only until the handler returns: copy what the
  // answer needs.
  std::function<HttpRespond()> defer;
  // Set by the server (null elsewhere): runs `work` on a thread that may
  // wait (HttpServerOptions::threads), for a deferred answer whose
  // continuation must wait after all (runs_inline). May be kept and called
  // after the handler returned.
  std::function<void(std::function<void()> work)> offload;

  // Returns the first header named `lower_name`, or nullptr.
  const std::string* Header(std::string_view lower_name) const;
  // Returns how many headers are named `lower_name`.
  size_t HeaderCount(std::string_view lower_name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  HeaderList headers;
  std::string body;
  // Not sent. Labels for logs and metrics: the route template (never the
  // raw path), the tenant, and the machine error code if any.
  std::string route = "unmatched";
  std::string tenant_id;
  std::string error_code;
  std::string log_detail;  // for 5xx: the internal reason, logged, never sent
};

// Returns a JSON error response with the standard envelope.
HttpResponse ErrorResponse(int status, std::string_view code, std::string_view message,
                           std::string_view request_id);

// Returns a JSON response with `status` and `body` (already serialised).
HttpResponse JsonResponse(int status, std::string body);

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

// Called once per answered request, just before the response is written.
// `method` is empty when the request line could not be parsed.
struct HttpExchange {
  std::string_view request_id;
  std::string_view method;
  const HttpResponse& response;
  double seconds;  // from the first byte received to the response ready
};
using HttpObserver = std::function<void(const HttpExchange&)>;

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  // Threads that run handlers which may wait (on Meta, on a long export).
  int threads = 2;
  // With runs_inline set, the requests it accepts run on the threads that
  // serve the sockets (io_threads; 0: one per CPU this process may use),
  // saving two thread switches each; the others on the `threads` workers.
  // A handler accepted here must not wait long: it defers its answer
  // instead (HttpRequest::defer). Null: every handler runs on `threads`
  // socket threads, and io_threads is unused.
  std::function<bool(const HttpRequest&)> runs_inline;
  int io_threads = 0;
  int64_t max_body_bytes = 1 << 20;
  // Paths starting with a prefix get that body limit instead (Meta's
  // webhook deliveries can be larger than any API request).
  std::vector<std::pair<std::string, int64_t>> body_limit_by_path_prefix;
  // A larger limit for some requests, decided from the request line and
  // whether an Authorization header came (0: the default applies). Read
  // before the body, so an anonymous client cannot claim the large limit.
  // Used for the Graph media upload `POST /{version}/{phone_number_id}/media`.
  std::function<int64_t(std::string_view method, std::string_view path, bool has_authorization)> large_body_limit;
  int64_t large_body_limit_max = 0;  // the largest value large_body_limit returns
  int64_t max_header_bytes = 16 << 10;
  int64_t idle_timeout_ms = 30000;
  int64_t read_timeout_ms = 10000;
  int64_t write_timeout_ms = 10000;
  int64_t max_connections = 10000;
  bool tls_enabled = false;
  std::string tls_cert_file;
  std::string tls_key_file;
  bool tls_min_13 = false;  // false: TLS 1.2 and 1.3; true: TLS 1.3 only
};

class HttpServer {
 public:
  virtual ~HttpServer() = default;
  // Returns the bound port (useful with port 0).
  virtual uint16_t port() const = 0;
  // Serves until Stop() on the caller's thread and the options' others.
  virtual void Run() = 0;
  // Stops accepting, lets requests in flight finish (up to 5 s), then makes Run() return.
  virtual void Stop() = 0;
};

// Binds the listener and loads TLS material. Fails with kInvalidArgument
// (bad address, unreadable certificate or key) or kUnavailable (address in use).
Result<std::unique_ptr<HttpServer>> CreateHttpServer(const HttpServerOptions& options, HttpHandler handler,
                                                     HttpObserver observer);

// --- request helpers (request.cc) ---

// Returns a fresh request id "req_" + 24 hex characters.
std::string NewRequestId();

// Percent-decodes `text` once; '+' becomes a space only when `plus_is_space`
// (query strings, not paths). invalid_query for a bad escape or invalid UTF-8.
Result<std::string> PercentDecode(std::string_view text, bool plus_is_space);

// Splits and percent-decodes a query string. Refusals: invalid_argument
// "ambiguous_input" for a repeated name (I-11), "invalid_query" for a bad
// escape or invalid UTF-8 after decoding. Decodes exactly once (I-02).
Result<std::vector<std::pair<std::string, std::string>>> ParseQuery(std::string_view query);

}  // namespace cs
