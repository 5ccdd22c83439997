// Boost.Beast implementation of client.h. Operations are asynchronous on a
// private io_context that the calling thread runs, because Beast's timeouts
// (tcp_stream::expires_after) only apply to asynchronous operations.
#include "http/client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <openssl/ssl.h>

#include <poll.h>

#include <chrono>
#include <optional>

#include "common/strings.h"

namespace cs {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;

const std::string* HttpClientResponse::Header(std::string_view lower_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_name) return &value;
  }
  return nullptr;
}

Result<ParsedUrl> ParseUrl(std::string_view url) {
  ParsedUrl out;
  std::string_view rest;
  if (url.rfind("https://", 0) == 0) {
    out.tls = true;
    rest = url.substr(8);
  } else if (url.rfind("http://", 0) == 0) {
    rest = url.substr(7);
  } else {
    return InvalidArgument("invalid_url", "the URL must start with http:// or https://");
  }
  size_t slash = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, slash);
  out.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (!out.target.empty() && out.target[0] == '?') out.target = "/" + out.target;
  if (out.target.find('#') != std::string::npos) return InvalidArgument("invalid_url", "the URL must not have a fragment");
  if (authority.empty() || authority.find('@') != std::string_view::npos) {
    return InvalidArgument("invalid_url", "the URL needs a host and no user info");
  }
  std::string_view host = authority;
  std::string_view port;
  if (authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return InvalidArgument("invalid_url", "unbalanced IPv6 brackets");
    host = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return InvalidArgument("invalid_url", "bad port");
      port = authority.substr(close + 2);
    }
  } else if (size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty()) return InvalidArgument("invalid_url", "the URL needs a host");
  out.host = AsciiLower(host);
  if (port.empty()) {
    out.port = out.tls ? 443 : 80;
  } else {
    std::optional<int64_t> p = ParseNonNegativeInt(port);
    if (!p || *p == 0 || *p > 65535) return InvalidArgument("invalid_url", "bad port");
    out.port = static_cast<uint16_t>(*p);
  }
  return out;
}

namespace {

Status Unreachable(std::string_view what) {
  return Unavailable("upstream_unreachable", "could not reach the upstream: " + std::string(what));
}
Status Unknown(std::string_view what) {
  return Unavailable("upstream_outcome_unknown", "no complete answer from the upstream: " + std::string(what));
}

class BeastHttpClient final : public HttpClient {
 public:
  explicit BeastHttpClient(const HttpClientOptions& options)
      : options_(options), ssl_ctx_(ssl::context::tls_client) {
    ssl_ctx_.set_default_verify_paths();
    if (!options_.ca_file.empty()) {
      beast::error_code ec;
      ssl_ctx_.load_verify_file(options_.ca_file, ec);
    }
    ssl_ctx_.set_verify_mode(ssl::verify_peer);
    SSL_CTX_set_min_proto_version(ssl_ctx_.native_handle(), TLS1_2_VERSION);
  }

  Result<HttpClientResponse> Send(std::string_view method, std::string_view url, const HeaderList& headers,
                                  std::string_view body) override {
    CS_ASSIGN_OR_RETURN(ParsedUrl parsed, ParseUrl(url));
    bool reused = Connected() && parsed.tls == current_.tls && parsed.host == current_.host &&
                  parsed.port == current_.port;
    // An idle kept-alive connection the peer closed (or that has unexpected
    // bytes waiting) is replaced before anything is written: once a request
    // is written it is never sent again, because the peer may have acted on
    // it (a resent POST could be a second message).
    if (reused && !IdleConnectionUsable()) reused = false;
    if (!reused) {
      Close();
      CS_RETURN_IF_ERROR(Connect(parsed));
    }
    Result<HttpClientResponse> result = Exchange(parsed, method, headers, body);
    if (!result.ok()) Close();
    return result;
  }

 private:
  bool Connected() const { return plain_ != nullptr || tls_ != nullptr; }

  void Close() {
    beast::error_code ec;
    if (tls_) beast::get_lowest_layer(*tls_).socket().close(ec);
    if (plain_) plain_->socket().close(ec);
    tls_.reset();
    plain_.reset();
    // Bytes of a half-read answer must not be parsed as the next connection's.
    buffer_.clear();
  }

  // True when the idle connection has nothing to read: no EOF, no stray bytes.
  bool IdleConnectionUsable() {
    if (buffer_.size() != 0) return false;
    int fd = Lowest().socket().native_handle();
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, 0) == 0;
  }

  beast::tcp_stream& Lowest() { return tls_ ? beast::get_lowest_layer(*tls_) : *plain_; }

  // Runs the io_context until the pending operation completes.
  void RunUntilDone() {
    ioc_.restart();
    ioc_.run();
  }

  Status Connect(const ParsedUrl& url) {
    beast::error_code ec;
    tcp::resolver resolver(ioc_);
    tcp::resolver::results_type endpoints;
    resolver.async_resolve(url.host, std::to_string(url.port),
                           [&](beast::error_code e, tcp::resolver::results_type r) {
                             ec = e;
                             endpoints = std::move(r);
                           });
    RunUntilDone();
    if (ec) return Unreachable("name resolution failed");
    if (options_.allow_address) {
      std::vector<tcp::endpoint> allowed;
      for (const auto& entry : endpoints) {
        tcp::endpoint ep = entry.endpoint();
        // An IPv4-mapped IPv6 address is judged as the IPv4 address it is.
        net::ip::address a = ep.address();
        if (a.is_v6() && a.to_v6().is_v4_mapped()) a = net::ip::make_address_v4(net::ip::v4_mapped, a.to_v6());
        if (options_.allow_address(a.to_string())) allowed.push_back(ep);
      }
      if (allowed.empty()) {
        return PermissionDenied("url_not_allowed", "the URL resolves only to addresses that are not allowed");
      }
      return ConnectTo(url, allowed);
    }
    std::vector<tcp::endpoint> all;
    for (const auto& entry : endpoints) all.push_back(entry.endpoint());
    return ConnectTo(url, all);
  }

  Status ConnectTo(const ParsedUrl& url, const std::vector<tcp::endpoint>& endpoints) {
    beast::error_code ec;
    auto stream = std::make_unique<beast::tcp_stream>(ioc_);
    stream->expires_after(std::chrono::milliseconds(options_.connect_timeout_ms));
    stream->async_connect(endpoints, [&](beast::error_code e, const tcp::endpoint&) { ec = e; });
    RunUntilDone();
    if (ec) return Unreachable("connection failed");
    stream->socket().set_option(tcp::no_delay(true), ec);
    if (url.tls) {
      tls_ = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(std::move(*stream), ssl_ctx_);
      if (!SSL_set_tlsext_host_name(tls_->native_handle(), url.host.c_str())) {
        Close();
        return Unreachable("TLS setup failed");
      }
      tls_->set_verify_callback(ssl::host_name_verification(url.host));
      tls_->async_handshake(ssl::stream_base::client, [&](beast::error_code e) { ec = e; });
      RunUntilDone();
      if (ec) {
        Close();
        return Unreachable("TLS handshake failed");
      }
    } else {
      plain_ = std::move(stream);
    }
    current_ = url;
    return Status::Ok();
  }

  Result<HttpClientResponse> Exchange(const ParsedUrl& url, std::string_view method, const HeaderList& headers,
                                      std::string_view body) {
    bhttp::request<bhttp::string_body> req;
    req.method_string(std::string(method));
    req.target(url.target);
    req.version(11);
    bool default_port = url.port == (url.tls ? 443 : 80);
    req.set(bhttp::field::host, default_port ? url.host : url.host + ":" + std::to_string(url.port));
    req.set(bhttp::field::user_agent, options_.user_agent);
    for (const auto& [name, value] : headers) req.set(name, value);
    req.body() = std::string(body);
    if (!body.empty() || method == "POST" || method == "PUT") req.prepare_payload();

    Lowest().expires_after(std::chrono::milliseconds(options_.timeout_ms));
    beast::error_code ec;
    size_t written = 0;
    auto on_write = [&](beast::error_code e, size_t n) {
      ec = e;
      written = n;
    };
    if (tls_) bhttp::async_write(*tls_, req, on_write);
    else bhttp::async_write(*plain_, req, on_write);
    RunUntilDone();
    if (ec) {
      // Nothing written at all cannot have reached the peer.
      return written == 0 ? Unreachable("write failed") : Unknown("write failed");
    }
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(static_cast<uint64_t>(options_.max_response_bytes));
    parser.header_limit(64 * 1024);
    auto on_read = [&](beast::error_code e, size_t) { ec = e; };
    auto too_large = [] {
      return ResourceExhausted("upstream_response_too_large", "the upstream answer is larger than the limit");
    };
    // The header first, so a declared length over the cap is refused before
    // any of the body is buffered (the parser's own limit is kept for
    // chunked answers).
    if (tls_) bhttp::async_read_header(*tls_, buffer_, parser, on_read);
    else bhttp::async_read_header(*plain_, buffer_, parser, on_read);
    RunUntilDone();
    if (ec == bhttp::error::body_limit) return too_large();
    if (ec) return Unknown(ec == beast::error::timeout ? "timed out" : "connection lost");
    if (parser.content_length() && *parser.content_length() > static_cast<uint64_t>(options_.max_response_bytes)) {
      return too_large();
    }
    if (!parser.is_done()) {
      if (tls_) bhttp::async_read(*tls_, buffer_, parser, on_read);
      else bhttp::async_read(*plain_, buffer_, parser, on_read);
      RunUntilDone();
    }
    if (ec == bhttp::error::body_limit) return too_large();
    if (ec) return Unknown(ec == beast::error::timeout ? "timed out" : "connection lost");
    if (parser.get().body().size() > static_cast<size_t>(options_.max_response_bytes)) return too_large();
    bhttp::response<bhttp::string_body> res = parser.release();
    HttpClientResponse out;
    out.status = static_cast<int>(res.result_int());
    for (const auto& field : res) {
      out.headers.emplace_back(AsciiLower(std::string_view(field.name_string().data(), field.name_string().size())),
                               std::string(field.value()));
    }
    out.body = std::move(res.body());
    if (!res.keep_alive()) Close();
    return out;
  }

  HttpClientOptions options_;
  net::io_context ioc_;
  ssl::context ssl_ctx_;
  std::unique_ptr<beast::tcp_stream> plain_;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> tls_;
  beast::flat_buffer buffer_;
  ParsedUrl current_;
};

}  // namespace

std::unique_ptr<HttpClient> CreateHttpClient(const HttpClientOptions& options) {
  return std::make_unique<BeastHttpClient>(options);
}

}  // namespace cs
