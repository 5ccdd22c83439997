// Boost.Beast implementation of http.h.
//
// One Session per connection, all of its handlers serialised on a strand.
// Reading a request has two phases so that limits are enforced before any
// large buffer is filled: (1) raw header bytes are collected until the
// blank line, under the idle timeout for the first byte and then the read
// timeout for the rest; the raw block is checked (size → 431, obsolete line
// folding → 400) before Beast parses it; (2) Beast reads the body under the
// body limit (413, decided from Content-Length before reading when it can).
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <openssl/ssl.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <optional>
#include <thread>

#include "http/http.h"

namespace cs {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;

namespace {

using Clock = std::chrono::steady_clock;

struct Shared {
  HttpServerOptions options;
  HttpHandler handler;
  HttpObserver observer;
  std::atomic<int64_t> connections{0};
  std::atomic<int64_t> in_flight{0};
  std::atomic<int64_t> deferred{0};  // answers taken over by a handler, not yet written
  std::atomic<bool> stopping{false};
  // Runs the requests options.runs_inline declines (null: none is declined).
  net::thread_pool* workers = nullptr;
};

// The one answer of a deferred request (HttpRequest::defer). Given once;
// if every copy of the HttpRespond is dropped unanswered, a 500 is written,
// so the request is never left hanging nor counted in flight forever.
class DeferredAnswer {
 public:
  using Post = std::function<void(std::function<HttpResponse()>)>;
  DeferredAnswer(Post post, std::string request_id) : post_(std::move(post)), request_id_(std::move(request_id)) {}
  ~DeferredAnswer() {
    Give([id = request_id_] { return ErrorResponse(500, "internal_error", "internal error", id); });
  }
  DeferredAnswer(const DeferredAnswer&) = delete;
  DeferredAnswer& operator=(const DeferredAnswer&) = delete;
  // The first call wins; later ones are ignored.
  void Give(std::function<HttpResponse()> produce) {
    if (answered_.exchange(true)) return;
    post_(std::move(produce));
  }

 private:
  Post post_;
  std::string request_id_;
  std::atomic<bool> answered_{false};
};

// Returns the position just past the blank line ending the header block, or 0.
size_t HeaderEnd(std::string_view data) {
  size_t crlf = data.find("\r\n\r\n");
  size_t lf = data.find("\n\n");
  if (crlf != std::string_view::npos && (lf == std::string_view::npos || crlf < lf)) return crlf + 4;
  if (lf != std::string_view::npos) return lf + 2;
  return 0;
}

// Returns true when a header line starts with whitespace (obs-fold, RFC 9112 §5.2).
bool HasObsFold(std::string_view header_block) {
  size_t pos = header_block.find('\n');
  while (pos != std::string_view::npos && pos + 1 < header_block.size()) {
    char next = header_block[pos + 1];
    if (next == ' ' || next == '\t') return true;
    pos = header_block.find('\n', pos + 1);
  }
  return false;
}

template <typename Stream>
class Session : public std::enable_shared_from_this<Session<Stream>> {
 public:
  Session(Stream stream, std::shared_ptr<Shared> shared)
      : stream_(std::move(stream)), shared_(std::move(shared)) {
    ++shared_->connections;
  }
  ~Session() { --shared_->connections; }

  void Start(bool tls) {
    tls_ = tls;
    beast::error_code ec;
    auto endpoint = Lowest().socket().remote_endpoint(ec);
    if (!ec) remote_address_ = endpoint.address().to_string();
    net::dispatch(Lowest().get_executor(), [self = this->shared_from_this()] { self->Handshake(); });
  }

 private:
  beast::tcp_stream& Lowest() { return beast::get_lowest_layer(stream_); }
  const HttpServerOptions& opt() const { return shared_->options; }

  void Handshake() {
    if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
      WaitForRequest();
    } else {
      Lowest().expires_after(std::chrono::milliseconds(opt().read_timeout_ms));
      stream_.async_handshake(ssl::stream_base::server,
                              [self = this->shared_from_this()](beast::error_code ec) {
                                if (ec) return;  // plain HTTP or a bad client: drop, nothing to answer
                                self->WaitForRequest();
                              });
    }
  }

  void WaitForRequest() {
    if (shared_->stopping) return Close();
    started_ = false;
    // Pipelined bytes may already be buffered.
    if (buffer_.size() > 0) {
      started_ = true;
      started_at_ = Clock::now();
      Lowest().expires_after(std::chrono::milliseconds(opt().read_timeout_ms));
      return CollectHeader();
    }
    Lowest().expires_after(std::chrono::milliseconds(opt().idle_timeout_ms));
    CollectHeader();
  }

  void CollectHeader() {
    std::string_view data(static_cast<const char*>(buffer_.data().data()), buffer_.size());
    size_t end = HeaderEnd(data);
    if (end == 0 && static_cast<int64_t>(data.size()) > opt().max_header_bytes) {
      return Refuse(431, "headers_too_large", "the request header section is too large");
    }
    if (end != 0) {
      if (static_cast<int64_t>(end) > opt().max_header_bytes) {
        return Refuse(431, "headers_too_large", "the request header section is too large");
      }
      if (HasObsFold(data.substr(0, end))) {
        return Refuse(400, "malformed_request", "obsolete line folding is not accepted");
      }
      return ParseHeader();
    }
    stream_.async_read_some(buffer_.prepare(8192), [self = this->shared_from_this()](beast::error_code ec,
                                                                                      size_t n) {
      if (ec) return self->Close();  // closed, reset or timed out before a full header
      self->buffer_.commit(n);
      if (!self->started_) {
        self->started_ = true;
        self->started_at_ = Clock::now();
        // From the first byte on, the whole request must arrive within the read timeout.
        self->Lowest().expires_after(std::chrono::milliseconds(self->opt().read_timeout_ms));
      }
      self->CollectHeader();
    });
  }

  // The header block is complete in buffer_: parse it synchronously (no
  // extra asynchronous hop), then read a body only if there is one.
  void ParseHeader() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(opt().max_header_bytes));
    // The largest limit until the target is known; OnHeader narrows it.
    body_limit_ = opt().max_body_bytes;
    for (const auto& [prefix, limit] : opt().body_limit_by_path_prefix) body_limit_ = std::max(body_limit_, limit);
    body_limit_ = std::max(body_limit_, opt().large_body_limit_max);
    parser_->body_limit(static_cast<std::uint64_t>(body_limit_));
    parser_->eager(false);
    beast::error_code ec;
    size_t used = parser_->put(buffer_.data(), ec);
    buffer_.consume(used);
    if (!ec && !parser_->is_header_done()) ec = bhttp::error::partial_message;
    OnHeader(ec);
  }

  void OnHeader(beast::error_code ec) {
    if (ec) return OnReadError(ec);
    const auto& req = parser_->get();
    size_t content_lengths = 0;
    bool has_te = false;
    for (const auto& field : req) {
      if (field.name() == bhttp::field::content_length) ++content_lengths;
      if (field.name() == bhttp::field::transfer_encoding) has_te = true;
    }
    if (content_lengths > 1 || (content_lengths == 1 && has_te)) {
      return Refuse(400, "malformed_request", "ambiguous message length (W-07)");
    }
    // The limit of this path: checked against Content-Length now, and
    // against chunked bodies as they stream.
    const std::string_view target(req.target().data(), req.target().size());
    int64_t limit = opt().max_body_bytes;
    for (const auto& [prefix, prefix_limit] : opt().body_limit_by_path_prefix) {
      if (target.substr(0, prefix.size()) == prefix) limit = prefix_limit;
    }
    if (opt().large_body_limit) {
      const std::string_view path = target.substr(0, target.find('?'));
      const std::string_view method(req.method_string().data(), req.method_string().size());
      const int64_t large = opt().large_body_limit(method, path, req.find(bhttp::field::authorization) != req.end());
      if (large > 0) limit = large;
    }
    if (limit != body_limit_) {
      body_limit_ = limit;
      if (parser_->content_length() && *parser_->content_length() > static_cast<std::uint64_t>(limit)) {
        return OnReadError(bhttp::error::body_limit);
      }
      parser_->body_limit(static_cast<std::uint64_t>(limit));
    }
    auto expect = req.find(bhttp::field::expect);
    if (expect != req.end() && beast::iequals(expect->value(), "100-continue")) {
      // The body limit was already checked against Content-Length by the parser.
      continue_ = std::make_shared<bhttp::response<bhttp::empty_body>>(bhttp::status::continue_, 11);
      return bhttp::async_write(stream_, *continue_,
                                [self = this->shared_from_this()](beast::error_code wec, size_t) {
                                  if (wec) return self->Close();
                                  self->ReadBody();
                                });
    }
    ReadBody();
  }

  void ReadBody() {
    if (parser_->is_done()) return Dispatch();
    bhttp::async_read(stream_, buffer_, *parser_, [self = this->shared_from_this()](beast::error_code ec, size_t) {
      if (ec) return self->OnReadError(ec);
      self->Dispatch();
    });
  }

  void OnReadError(beast::error_code ec) {
    if (ec == bhttp::error::body_limit) {
      return Refuse(413, "payload_too_large",
                    "the request body exceeds " + std::to_string(body_limit_) + " bytes");
    }
    if (ec == bhttp::error::header_limit) {
      return Refuse(431, "headers_too_large", "the request header section is too large");
    }
    const bool parse_error = &ec.category() == &bhttp::make_error_code(bhttp::error::bad_target).category() &&
                             ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message &&
                             ec != bhttp::error::need_more && ec != bhttp::error::need_buffer;
    if (parse_error) {
      return Refuse(400, "malformed_request", std::string("malformed HTTP request: ") + ec.message());
    }
    Close();  // transport error, timeout or truncated request: nobody to answer
  }

  void Dispatch() {
    auto& req = parser_->get();
    HttpRequest request;
    request.method = std::string(req.method_string());
    request.target = std::string(req.target());
    size_t q = request.target.find('?');
    request.path = request.target.substr(0, q);
    if (q != std::string::npos) request.query = request.target.substr(q + 1);
    for (const auto& field : req) {
      std::string name(field.name_string());
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      request.headers.emplace_back(std::move(name), std::string(field.value()));
    }
    request.body = std::move(req.body());
    // Always our own id: a client-chosen one could carry personal data into the logs.
    request.request_id = NewRequestId();
    request.tls = tls_;
    request.remote_address = remote_address_;
    keep_alive_ = req.keep_alive() && !shared_->stopping;

    ++shared_->in_flight;
    method_ = request.method;
    bool inline_request = true;
    try {
      inline_request = shared_->workers == nullptr || shared_->options.runs_inline(request);
    } catch (...) {
      inline_request = false;
    }
    if (!inline_request) {
      // A handler that may wait (a call to Meta, a long export) waits on a
      // worker, not on a thread that serves sockets.
      net::post(*shared_->workers, [self = this->shared_from_this(), request = std::move(request)]() mutable {
        self->Run(request, false);
      });
      return;
    }
    Run(request, true);
  }

  // Runs the handler; `on_strand` is false on a worker, where the answer is
  // posted back to the connection's strand to be written.
  void Run(HttpRequest& request, bool on_strand) {
    std::shared_ptr<DeferredAnswer> deferred;
    request.defer = [this, &deferred, id = request.request_id]() -> HttpRespond {
      if (!deferred) {
        ++shared_->deferred;
        // Keeps the session alive until answered. Posted to the session's
        // strand: an answer given before the handler returned runs after it.
        deferred = std::make_shared<DeferredAnswer>(
            [self = this->shared_from_this(), id](std::function<HttpResponse()> produce) {
              net::post(self->Lowest().get_executor(), [self, id, produce = std::move(produce)] {
                --self->shared_->deferred;
                self->Answer(produce, id);
              });
            },
            id);
      }
      return [answer = deferred](std::function<HttpResponse()> produce) { answer->Give(std::move(produce)); };
    };
    if (shared_->workers != nullptr) {
      request.offload = [self = this->shared_from_this()](std::function<void()> work) {
        net::post(*self->shared_->workers, [work = std::move(work)] {
          try {
            work();
          } catch (...) {
            // An exception escaping a pool thread would end the process.
          }
        });
      };
    }
    HttpResponse response;
    try {
      response = shared_->handler(request);
    } catch (...) {
      // Handlers return errors as values; an exception here is a bug, answered without details.
      const std::string id = request.request_id;
      auto internal = [id] { return ErrorResponse(500, "internal_error", "internal error", id); };
      if (deferred) {
        deferred->Give(internal);  // unless it was answered already: one answer only
        return;
      }
      response = internal();
    }
    if (deferred) return;  // the DeferredAnswer writes it
    if (on_strand) return Write(std::move(response), request.request_id);
    net::post(Lowest().get_executor(),
              [self = this->shared_from_this(), response = std::move(response), id = request.request_id]() mutable {
                self->Write(std::move(response), id);
              });
  }

  // Writes the answer of a deferred request, produced here on a worker.
  void Answer(const std::function<HttpResponse()>& produce, const std::string& request_id) {
    HttpResponse response;
    try {
      response = produce();
    } catch (...) {
      response = ErrorResponse(500, "internal_error", "internal error", request_id);
    }
    Write(std::move(response), request_id);
  }

  void Refuse(int status, std::string_view code, const std::string& message) {
    keep_alive_ = false;
    ++shared_->in_flight;
    if (!started_) {
      started_ = true;
      started_at_ = Clock::now();
    }
    method_.clear();
    std::string id = NewRequestId();
    Write(ErrorResponse(status, code, message, id), id);
  }

  void Write(HttpResponse response, const std::string& request_id) {
    auto res = std::make_shared<bhttp::response<bhttp::string_body>>(static_cast<bhttp::status>(response.status), 11);
    res->set(bhttp::field::content_type, response.content_type);
    res->set("X-Request-Id", request_id);
    res->set(bhttp::field::cache_control, "no-store");
    res->set("X-Content-Type-Options", "nosniff");
    for (const auto& [k, v] : response.headers) res->set(k, v);
    res->keep_alive(keep_alive_);
    res->body() = std::move(response.body);
    res->prepare_payload();
    response.body.clear();
    // Observed before the write completes, so a client that reads /metrics
    // right after an answer always finds that answer counted.
    double seconds = std::chrono::duration<double>(Clock::now() - started_at_).count();
    if (shared_->observer) shared_->observer(HttpExchange{request_id, method_, response, seconds});
    res_ = res;
    Lowest().expires_after(std::chrono::milliseconds(opt().write_timeout_ms));
    bhttp::async_write(stream_, *res_, [self = this->shared_from_this()](beast::error_code ec, size_t) {
      self->OnWritten(ec);
    });
  }

  void OnWritten(beast::error_code ec) {
    --shared_->in_flight;
    res_.reset();
    if (ec || !keep_alive_) return Close();
    WaitForRequest();
  }

  void Close() {
    if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
      // Lingering close: stop sending, then discard what the client is still
      // sending (e.g. the rest of a refused 413 body) for a moment, so the
      // kernel does not answer with a reset that destroys our response.
      beast::error_code ec;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
      if (ec) return;
      discard_.resize(16384);
      Lowest().expires_after(std::chrono::milliseconds(1000));
      Linger();
    } else {
      Lowest().expires_after(std::chrono::milliseconds(1000));
      stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) {
        beast::error_code ec;
        self->Lowest().socket().close(ec);
      });
    }
  }

  void Linger() {
    stream_.async_read_some(net::buffer(discard_), [self = this->shared_from_this()](beast::error_code ec, size_t n) {
      self->lingered_ += n;
      if (ec || self->lingered_ > (8 << 20)) {
        beast::error_code ignored;
        self->Lowest().socket().close(ignored);
        return;
      }
      self->Linger();
    });
  }

  Stream stream_;
  std::shared_ptr<Shared> shared_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  int64_t body_limit_ = 0;  // of the request being read
  std::shared_ptr<bhttp::response<bhttp::string_body>> res_;
  std::shared_ptr<bhttp::response<bhttp::empty_body>> continue_;
  std::string method_;
  bool keep_alive_ = false;
  bool tls_ = false;
  std::string remote_address_;
  bool started_ = false;
  Clock::time_point started_at_;
  std::vector<char> discard_;
  size_t lingered_ = 0;
};

class BeastServer final : public HttpServer {
 public:
  BeastServer(std::shared_ptr<Shared> shared, int io_threads)
      : shared_(std::move(shared)),
        io_threads_(io_threads),
        ioc_(io_threads),
        acceptor_(net::make_strand(ioc_)),
        drain_timer_(ioc_) {
    if (shared_->options.runs_inline) {
      workers_.emplace(static_cast<size_t>(std::max(1, shared_->options.threads)));
      shared_->workers = &*workers_;
    }
  }

  ~BeastServer() override {
    // Requests still on a worker hold their sessions, which hold this server's
    // io_context: they finish first (each is bounded by its own timeouts).
    if (workers_) workers_->join();
  }

  Status Bind() {
    const auto& o = shared_->options;
    beast::error_code ec;
    auto address = net::ip::make_address(o.host, ec);
    if (ec) return InvalidArgument("invalid_config", "http.listen: \"" + o.host + "\" is not an IP address");
    tcp::endpoint endpoint(address, o.port);
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (ec) return Unavailable("listen_failed", "cannot listen on http.listen: " + ec.message());
    port_ = acceptor_.local_endpoint(ec).port();
    if (o.tls_enabled) CS_RETURN_IF_ERROR(SetUpTls());
    return Status::Ok();
  }

  uint16_t port() const override { return port_; }

  void Run() override {
    Accept();
    std::vector<std::thread> extra;
    for (int i = 1; i < io_threads_; ++i) extra.emplace_back([this] { ioc_.run(); });
    ioc_.run();
    for (auto& t : extra) t.join();
    if (workers_) workers_->join();
  }

  void Stop() override {
    net::post(acceptor_.get_executor(), [this] {
      if (shared_->stopping.exchange(true)) return;
      beast::error_code ec;
      acceptor_.close(ec);
      drain_deadline_ = Clock::now() + std::chrono::seconds(5);
      deferred_deadline_ = Clock::now() + std::chrono::seconds(60);
      Drain();
    });
  }

 private:
  void Drain() {
    // Deferred answers (webhooks waiting on the group commit) get longer:
    // their commit and post-commit work (opt-out confirmations) must not be
    // cut off; they end when the committer does.
    const auto now = Clock::now();
    const bool requests_done = shared_->in_flight == 0 || now >= drain_deadline_;
    const bool deferred_done = shared_->deferred == 0 || now >= deferred_deadline_;
    if (requests_done && deferred_done) {
      // Requests still queued for a worker past the deadline are dropped, as
      // the socket threads drop theirs: nothing would write their answers.
      if (workers_) workers_->stop();
      ioc_.stop();
      return;
    }
    drain_timer_.expires_after(std::chrono::milliseconds(20));
    drain_timer_.async_wait([this](beast::error_code) { Drain(); });
  }

  Status SetUpTls() {
    const auto& o = shared_->options;
    tls_ = std::make_unique<ssl::context>(ssl::context::tls_server);
    SSL_CTX* ctx = tls_->native_handle();
    SSL_CTX_set_min_proto_version(ctx, o.tls_min_13 ? TLS1_3_VERSION : TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    // TLS 1.2: forward-secret AEAD suites only (TLS 1.3 suites are all AEAD).
    SSL_CTX_set_cipher_list(ctx, "ECDHE+AESGCM:ECDHE+CHACHA20");
    beast::error_code ec;
    tls_->use_certificate_chain_file(o.tls_cert_file, ec);
    if (ec) return InvalidArgument("invalid_config", "http.tls.cert_file cannot be loaded: " + ec.message());
    tls_->use_private_key_file(o.tls_key_file, ssl::context::pem, ec);
    if (ec) return InvalidArgument("invalid_config", "http.tls.key_file cannot be loaded: " + ec.message());
    if (SSL_CTX_check_private_key(ctx) != 1) {
      return InvalidArgument("invalid_config", "http.tls.key_file does not match http.tls.cert_file");
    }
    return Status::Ok();
  }

  void Accept() {
    acceptor_.async_accept(net::make_strand(ioc_), [this](beast::error_code ec, tcp::socket socket) {
      if (ec) {
        if (!acceptor_.is_open()) return;  // stopping
        return Accept();                   // e.g. EMFILE: keep serving the others
      }
      if (shared_->connections >= shared_->options.max_connections) {
        beast::error_code ignored;
        socket.close(ignored);
        return Accept();
      }
      socket.set_option(tcp::no_delay(true), ec);
      if (tls_) {
        std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(
            beast::ssl_stream<beast::tcp_stream>(beast::tcp_stream(std::move(socket)), *tls_), shared_)
            ->Start(true);
      } else {
        std::make_shared<Session<beast::tcp_stream>>(beast::tcp_stream(std::move(socket)), shared_)->Start(false);
      }
      Accept();
    });
  }

  std::shared_ptr<Shared> shared_;
  int io_threads_;
  net::io_context ioc_;
  tcp::acceptor acceptor_;
  net::steady_timer drain_timer_;
  Clock::time_point drain_deadline_;
  Clock::time_point deferred_deadline_;
  std::unique_ptr<ssl::context> tls_;
  uint16_t port_ = 0;
  // Declared last: joined (in the destructor) before anything above is destroyed.
  std::optional<net::thread_pool> workers_;
};

// The CPUs this process may run on (taskset, cgroup cpusets), at least 1.
int UsableCpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return std::max(1u, std::thread::hardware_concurrency());
  return std::max(1, CPU_COUNT(&set));
}

}  // namespace

Result<std::unique_ptr<HttpServer>> CreateHttpServer(const HttpServerOptions& options, HttpHandler handler,
                                                     HttpObserver observer) {
  auto shared = std::make_shared<Shared>();
  shared->options = options;
  shared->handler = std::move(handler);
  shared->observer = std::move(observer);
  // Without runs_inline, every handler runs on the socket threads, as many as `threads`.
  const int io_threads = !options.runs_inline ? std::max(1, options.threads)
                         : options.io_threads > 0 ? options.io_threads
                                                  : UsableCpus();
  auto server = std::make_unique<BeastServer>(shared, io_threads);
  CS_RETURN_IF_ERROR(server->Bind());
  return std::unique_ptr<HttpServer>(std::move(server));
}

}  // namespace cs
