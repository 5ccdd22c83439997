// File: http_client.h
// A deliberately small HTTP/1.1 client over raw sockets (optionally TLS via
// OpenSSL) so tests can send exactly the bytes they mean, malformed ones
// included, and see exactly what comes back.
#pragma once

#include <openssl/ssl.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace cs::testing {

struct HttpReply {
  int status = 0;
  std::string status_line;
  std::vector<std::pair<std::string, std::string>> headers;  // names lowercased
  std::string body;
  std::string raw;  // the exact bytes of this response

  // Returns the first header named `lower_name`, or "".
  std::string Header(const std::string& lower_name) const;
  // Returns error.code of a JSON error envelope, or "".
  std::string ErrorCode() const;
};

struct TlsOptions {
  int min_version = TLS1_2_VERSION;
  int max_version = TLS1_3_VERSION;
};

class HttpConnection {
 public:
  // Connects to 127.0.0.1:port (TLS when `tls` is set). Check connected().
  explicit HttpConnection(int port, std::optional<TlsOptions> tls = std::nullopt);
  ~HttpConnection();
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  bool connected() const { return fd_ >= 0 && (!tls_ || handshake_ok_); }
  // Sends raw bytes; returns false if the peer closed.
  bool Send(const std::string& bytes);
  // Reads one response (Content-Length framed) within `timeout_ms`.
  std::optional<HttpReply> Read(int timeout_ms = 10000);
  // Returns true if the peer closes the connection within `timeout_ms`
  // (any further bytes it sends first are discarded).
  bool WaitClosed(int timeout_ms);

 private:
  int RecvSome(char* buf, size_t n, int timeout_ms);
  int fd_ = -1;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  bool tls_ = false;
  bool handshake_ok_ = false;
  std::string pending_;
};

// Returns `raw` with every generated request id ("req_" + 24 hex) replaced by
// "req_X", so two answers can be compared byte for byte apart from their ids.
std::string WithoutRequestIds(const std::string& raw);

// Builds a request with Host, Content-Length (when a body is given), and the headers.
std::string BuildRequest(const std::string& method, const std::string& target,
                         const std::vector<std::pair<std::string, std::string>>& headers = {},
                         const std::string& body = "");

// One request on a fresh connection.
std::optional<HttpReply> Exchange(int port, const std::string& raw_request, int timeout_ms = 10000);

// GET/POST/DELETE with an optional bearer token and JSON body.
HttpReply Call(int port, const std::string& method, const std::string& target, const std::string& token = "",
               const std::string& json_body = "", const std::vector<std::pair<std::string, std::string>>& extra = {});

}  // namespace cs::testing
