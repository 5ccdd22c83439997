#include "testing/http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>

#include "json/json.h"

namespace cs::testing {

std::string HttpReply::Header(const std::string& lower_name) const {
  for (const auto& [k, v] : headers) {
    if (k == lower_name) return v;
  }
  return "";
}

std::string HttpReply::ErrorCode() const {
  auto v = ParseJson(body);
  if (!v.ok()) return "";
  const JsonValue* e = v->Find("error");
  if (!e || !e->Find("code")) return "";
  return e->Find("code")->as_string();
}

HttpConnection::HttpConnection(int port, std::optional<TlsOptions> tls) {
  fd_ = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd_);
    fd_ = -1;
    return;
  }
  int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (tls) {
    tls_ = true;
    ctx_ = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_min_proto_version(ctx_, tls->min_version);
    SSL_CTX_set_max_proto_version(ctx_, tls->max_version);
    // Older protocol versions need the lowest security level to even be offered by the client.
    if (tls->max_version < TLS1_2_VERSION) SSL_CTX_set_security_level(ctx_, 0);
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_NONE, nullptr);  // self-signed test certificate
    ssl_ = SSL_new(ctx_);
    SSL_set_fd(ssl_, fd_);
    handshake_ok_ = SSL_connect(ssl_) == 1;
  }
}

HttpConnection::~HttpConnection() {
  if (ssl_) SSL_free(ssl_);
  if (ctx_) SSL_CTX_free(ctx_);
  if (fd_ >= 0) close(fd_);
}

bool HttpConnection::Send(const std::string& bytes) {
  size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = tls_ ? SSL_write(ssl_, bytes.data() + off, static_cast<int>(bytes.size() - off))
                     : send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

int HttpConnection::RecvSome(char* buf, size_t n, int timeout_ms) {
  if (tls_ && SSL_pending(ssl_) > 0) return SSL_read(ssl_, buf, static_cast<int>(n));
  pollfd p{fd_, POLLIN, 0};
  int r = poll(&p, 1, timeout_ms);
  if (r <= 0) return -2;  // timeout
  if (tls_) {
    int got = SSL_read(ssl_, buf, static_cast<int>(n));
    return got > 0 ? got : 0;
  }
  ssize_t got = recv(fd_, buf, n, 0);
  return got > 0 ? static_cast<int>(got) : 0;
}

std::optional<HttpReply> HttpConnection::Read(int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  auto remaining = [&] {
    return static_cast<int>(std::max<int64_t>(
        0, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count()));
  };
  char buf[65536];
  // Skip interim 1xx responses.
  while (true) {
    size_t header_end;
    while ((header_end = pending_.find("\r\n\r\n")) == std::string::npos) {
      int n = RecvSome(buf, sizeof buf, remaining());
      if (n <= 0) return std::nullopt;
      pending_.append(buf, static_cast<size_t>(n));
    }
    HttpReply reply;
    std::string head = pending_.substr(0, header_end);
    size_t line_end = head.find("\r\n");
    reply.status_line = head.substr(0, line_end);
    if (reply.status_line.size() >= 12) reply.status = std::stoi(reply.status_line.substr(9, 3));
    size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
    size_t content_length = 0;
    while (pos < head.size()) {
      size_t next = head.find("\r\n", pos);
      if (next == std::string::npos) next = head.size();
      std::string line = head.substr(pos, next - pos);
      size_t colon = line.find(':');
      if (colon != std::string::npos) {
        std::string name = line.substr(0, colon);
        for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        std::string value = line.substr(colon + 1);
        while (!value.empty() && value.front() == ' ') value.erase(0, 1);
        if (name == "content-length") content_length = std::stoul(value);
        reply.headers.emplace_back(name, value);
      }
      pos = next + 2;
    }
    size_t total = header_end + 4 + content_length;
    while (pending_.size() < total) {
      int n = RecvSome(buf, sizeof buf, remaining());
      if (n <= 0) return std::nullopt;
      pending_.append(buf, static_cast<size_t>(n));
    }
    reply.body = pending_.substr(header_end + 4, content_length);
    reply.raw = pending_.substr(0, total);
    pending_.erase(0, total);
    if (reply.status >= 100 && reply.status < 200) continue;
    return reply;
  }
}

bool HttpConnection::WaitClosed(int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  char buf[4096];
  while (std::chrono::steady_clock::now() < deadline) {
    int left = static_cast<int>(
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count());
    int n = RecvSome(buf, sizeof buf, std::max(1, left));
    if (n == 0) return true;
    if (n == -2) return false;
  }
  return false;
}

std::string WithoutRequestIds(const std::string& raw) {
  std::string out;
  out.reserve(raw.size());
  size_t i = 0;
  while (i < raw.size()) {
    bool id = raw.compare(i, 4, "req_") == 0 && i + 28 <= raw.size();
    for (size_t k = i + 4; id && k < i + 28; ++k) id = std::isxdigit(static_cast<unsigned char>(raw[k])) != 0;
    if (id) {
      out.append("req_X");
      i += 28;
    } else {
      out.push_back(raw[i++]);
    }
  }
  return out;
}

std::string BuildRequest(const std::string& method, const std::string& target,
                         const std::vector<std::pair<std::string, std::string>>& headers, const std::string& body) {
  std::string out = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  for (const auto& [k, v] : headers) out += k + ": " + v + "\r\n";
  if (!body.empty() || method == "POST") out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  out += "\r\n" + body;
  return out;
}

std::optional<HttpReply> Exchange(int port, const std::string& raw_request, int timeout_ms) {
  HttpConnection c(port);
  if (!c.connected() || !c.Send(raw_request)) return std::nullopt;
  return c.Read(timeout_ms);
}

HttpReply Call(int port, const std::string& method, const std::string& target, const std::string& token,
               const std::string& json_body, const std::vector<std::pair<std::string, std::string>>& extra) {
  std::vector<std::pair<std::string, std::string>> headers = extra;
  if (!token.empty()) headers.emplace_back("Authorization", "Bearer " + token);
  if (!json_body.empty()) headers.emplace_back("Content-Type", "application/json");
  auto reply = Exchange(port, BuildRequest(method, target, headers, json_body));
  return reply ? *reply : HttpReply{};
}

}  // namespace cs::testing
