// The Cloud API simulator of sandbox.h.
#include "sandbox/sandbox.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <unordered_set>
#include <queue>
#include <random>
#include <set>
#include <thread>

#include "common/json_writer.h"
#include "common/strings.h"
#include "common/sha256.h"
#include "http/client.h"
#include "json/json.h"
#include "whatsapp/wire.h"

namespace cs {

namespace wa = whatsapp;

std::vector<SandboxTemplate> DemoTemplates() {
  return {
      {"order_shipped", "en_US", "UTILITY", 1, "APPROVED"},
      {"appointment_reminder", "en_US", "UTILITY", 2, "APPROVED"},
      {"consent_request", "en_US", "UTILITY", 2, "APPROVED"},
      {"spring_sale", "en_US", "MARKETING", 1, "APPROVED"},
      {"login_code", "en_US", "AUTHENTICATION", 1, "APPROVED"},
      {"old_promo", "en_US", "MARKETING", 0, "PAUSED"},
      {"retired_notice", "en_US", "UTILITY", 0, "DISABLED"},
  };
}

namespace {

std::string Base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

struct Fault {
  int code = 0;          // Graph error code to answer (0: none)
  int http_status = 0;   // overrides the table's status; alone: a bare 5xx
  int64_t delay_ms = 0;  // answer slowly
  int remaining = 1;     // requests it applies to; -1: until cleared
};

struct PairBucket {
  double tokens = 0;
  int64_t refilled_ms = 0;
};

struct Delivery {
  int64_t due_ms = 0;
  uint64_t order = 0;  // FIFO among equal due times
  std::string body;
  int attempt = 0;
  bool operator>(const Delivery& o) const { return due_ms != o.due_ms ? due_ms > o.due_ms : order > o.order; }
};

struct SentMessage {
  std::string callback_data;
  std::string wamid;
  std::string to;
  std::string type;
  std::string body_json;
  int64_t at_ms = 0;
};

class SandboxImpl final : public Sandbox {
 public:
  SandboxImpl(SandboxOptions options, const Clock& clock) : options_(std::move(options)), clock_(clock) {
    if (options_.templates.empty()) options_.templates = DemoTemplates();
    std::random_device rd;
    rng_.seed((uint64_t{rd()} << 32) | rd());
  }
  ~SandboxImpl() override { Stop(); }

  void Start() override {
    if (emitter_.joinable() || options_.webhook_url.empty()) return;
    stopping_ = false;
    emitter_ = std::thread([this] { EmitLoop(); });
  }

  void Stop() override {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (emitter_.joinable()) emitter_.join();
  }

  HttpResponse Handle(const HttpRequest& req) override {
    std::vector<std::string> seg = Split(req.path.size() > 1 ? std::string_view(req.path).substr(1) : "", '/');
    if (!seg.empty() && seg[0] == "_sandbox") return Control(req, seg);
    // Clients may drop the version segment (spec §9), so it is optional.
    if (!seg.empty() && IsVersion(seg[0])) seg.erase(seg.begin());
    HttpResponse auth = CheckToken(req);
    if (auth.status != 200) return auth;
    if (seg.size() == 2 && (seg[1] == "messages" || seg[1] == "marketing_messages")) {
      if (req.method != "POST") return GraphError(wa::MakeGraphError(100, "Unsupported method"));
      if (seg[0] != options_.phone_number_id) return UnknownObject();
      return SendMessage(req, seg[1] == "marketing_messages");
    }
    if (seg.size() == 2 && seg[1] == "media") {
      if (req.method != "POST") return GraphError(wa::MakeGraphError(100, "Unsupported method"));
      if (seg[0] != options_.phone_number_id) return UnknownObject();
      return UploadMedia(req);
    }
    if (seg.size() == 1 && seg[0] == "lookaside" && req.method == "GET") return DownloadMedia(req);
    if (seg.size() == 1 && IsMediaId(seg[0])) {
      if (req.method == "GET") return DescribeMedia(req, seg[0]);
      if (req.method == "DELETE") return DeleteMedia(seg[0]);
      return GraphError(wa::MakeGraphError(100, "Unsupported method"));
    }
    return UnknownObject();
  }

 private:
  static bool IsVersion(const std::string& s) {
    if (s.size() < 4 || s[0] != 'v') return false;
    size_t dot = s.find('.');
    if (dot == std::string::npos) return false;
    return ParseNonNegativeInt(s.substr(1, dot - 1)).has_value() && ParseNonNegativeInt(s.substr(dot + 1)).has_value();
  }

  std::string FbTrace() {
    std::lock_guard lock(rng_mu_);
    std::string bytes(8, '\0');
    for (char& c : bytes) c = static_cast<char>(rng_());
    return Base64UrlEncode(bytes);
  }

  double Uniform() {
    std::lock_guard lock(rng_mu_);
    return std::uniform_real_distribution<double>(0, 1)(rng_);
  }

  std::string NewWamid(std::string_view wa_id) {
    std::string raw = "\x1c\x18";
    raw += static_cast<char>(wa_id.size());
    raw += wa_id;
    raw += std::string_view("\x15\x02\x00\x11\x18\x12", 6);
    {
      std::lock_guard lock(rng_mu_);
      for (int i = 0; i < 18; ++i) raw += static_cast<char>(rng_());
    }
    return "wamid." + Base64(raw);
  }

  HttpResponse GraphError(const wa::GraphError& e) {
    HttpResponse r = JsonResponse(e.http_status, wa::GraphErrorBody(e, FbTrace()));
    r.error_code = std::to_string(e.code);
    return r;
  }

  HttpResponse UnknownObject() {
    return GraphError(wa::MakeGraphError(
        100, "Unsupported request: the object does not exist, cannot be loaded due to missing permissions, or "
             "does not support this operation"));
  }

  HttpResponse CheckToken(const HttpRequest& req) {
    const std::string* h = req.Header("authorization");
    std::string expected = "Bearer " + options_.access_token;
    if (h == nullptr || h->size() != expected.size() ||
        CRYPTO_memcmp(h->data(), expected.data(), expected.size()) != 0) {
      return GraphError(wa::MakeGraphError(190, "Invalid OAuth access token - Cannot parse access token"));
    }
    return JsonResponse(200, "");
  }

  // Applies the next fault preset, if any. Returns a response to send instead.
  std::optional<HttpResponse> TakeFault() {
    Fault f;
    {
      std::lock_guard lock(mu_);
      if (faults_.empty()) return std::nullopt;
      f = faults_.front();
      if (faults_.front().remaining > 0 && --faults_.front().remaining == 0) faults_.pop_front();
    }
    if (f.delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(f.delay_ms));
    if (f.code != 0) {
      wa::GraphError e = wa::MakeGraphError(f.code);
      if (f.http_status != 0) e.http_status = f.http_status;
      HttpResponse r = GraphError(e);
      if (f.code == 130429 || f.code == 131056 || f.code == 4 || f.code == 80007) r.headers.emplace_back("Retry-After", "1");
      return r;
    }
    if (f.http_status != 0) {
      HttpResponse r = JsonResponse(f.http_status, "<html><body>Service Unavailable</body></html>");
      r.content_type = "text/html";
      return r;
    }
    return std::nullopt;
  }

  HttpResponse SendMessage(const HttpRequest& req, bool marketing_api) {
    Result<JsonValue> body = ParseJson(req.body);
    if (!body.ok()) return GraphError(wa::MakeGraphError(100, "Invalid JSON in the request body"));
    Result<wa::OutboundMessage> msg = wa::ValidateOutbound(*body);
    if (!msg.ok()) return GraphError(wa::MakeGraphError(wa::GraphCodeFor(msg.status()), msg.status().message()));
    if (std::optional<HttpResponse> fault = TakeFault()) return *fault;
    // As Meta: a message is referred to by its wamid, one this number sent or received.
    auto known = [&](const std::string& id) {
      std::lock_guard lock(mu_);
      return known_wamids_.count(id) > 0;
    };
    if (msg->kind == wa::OutboundMessage::Kind::kMarkRead) {
      if (!known(msg->marked_message_id)) {
        return GraphError(wa::MakeGraphError(100, "message_id is not a message this number received"));
      }
      std::lock_guard lock(mu_);
      reads_.push_back({msg->marked_message_id, clock_.NowUnixMillis()});
      if (reads_.size() > 100000) reads_.pop_front();
      return JsonResponse(200, R"({"success":true})");
    }
    for (const char* field : {"context", "reaction"}) {
      const JsonValue* object = body->Find(field);
      const JsonValue* id = object != nullptr && object->is_object() ? object->Find("message_id") : nullptr;
      if (id != nullptr && id->is_string() && !known(id->as_string())) {
        return GraphError(wa::MakeGraphError(131009, std::string(field) + ".message_id is not a message of this number"));
      }
    }
    if (marketing_api && msg->type != "template") {
      return GraphError(wa::MakeGraphError(100, "The marketing messages API only sends templates"));
    }
    if (!msg->recipient_user_id.empty() && msg->wa_id.empty() && msg->type == "template" &&
        msg->template_name == "login_code") {
      return GraphError(wa::MakeGraphError(131062));
    }
    const std::string& user = msg->wa_id.empty() ? msg->recipient_user_id : msg->wa_id;
    if (user == options_.display_phone_number) return GraphError(wa::MakeGraphError(131021));

    std::optional<SandboxTemplate> tmpl;
    if (msg->type == "template") {
      {
        std::lock_guard lock(mu_);  // the control API may change a template's review meanwhile
        for (const SandboxTemplate& t : options_.templates) {
          if (t.name == msg->template_name && t.language == msg->template_language) tmpl = t;
        }
      }
      if (!tmpl) return GraphError(wa::MakeGraphError(132001, "template name or language does not exist"));
      if (tmpl->status == "PAUSED") return GraphError(wa::MakeGraphError(132015));
      if (tmpl->status == "DISABLED") return GraphError(wa::MakeGraphError(132016));
      if (msg->template_body_parameters != tmpl->body_parameters) {
        return GraphError(wa::MakeGraphError(
            132000, "body expects " + std::to_string(tmpl->body_parameters) + " parameters"));
      }
    }

    int64_t now = clock_.NowUnixMillis();
    std::string wamid = NewWamid(user);
    int async_failure = 0;
    std::string callback;
    {
      std::lock_guard lock(mu_);
      // Throughput: a fixed one-second window per number (spec §5).
      int64_t second = now / 1000;
      if (second != window_second_) {
        window_second_ = second;
        window_count_ = 0;
      }
      if (window_count_ >= options_.throughput_per_second) {
        ++throttled_;
        HttpResponse r = GraphError(wa::MakeGraphError(130429));
        r.headers.emplace_back("Retry-After", "1");
        return r;
      }
      // Pair rate: a token bucket per (number, user) with a burst allowance.
      PairBucket& bucket = pairs_[user];
      if (bucket.refilled_ms == 0) {
        bucket.tokens = options_.pair_burst;
        bucket.refilled_ms = now;
      }
      bucket.tokens = std::min<double>(options_.pair_burst, bucket.tokens + (now - bucket.refilled_ms) /
                                                                              (options_.pair_interval_seconds * 1000));
      bucket.refilled_ms = now;
      if (bucket.tokens < 1) {
        ++throttled_;
        HttpResponse r = GraphError(wa::MakeGraphError(131056));
        r.headers.emplace_back("Retry-After", std::to_string(static_cast<int>(options_.pair_interval_seconds)));
        return r;
      }
      bucket.tokens -= 1;
      ++window_count_;
      // Policy failures arrive later as a failed status (spec §2.6).
      auto last = last_inbound_ms_.find(user);
      bool window_open = last != last_inbound_ms_.end() && now - last->second < 24LL * 3600 * 1000;
      if (msg->free_form && !window_open) async_failure = 131047;
      if (tmpl && tmpl->category == "MARKETING" && marketing_stopped_.count(user)) async_failure = 131050;
      const JsonValue* cb = body->Find("biz_opaque_callback_data");
      callback = cb != nullptr && cb->is_string() ? cb->as_string() : "";
      sent_.push_back({callback, wamid, user, msg->type, msg->body_json, now});
      Remember(wamid);
      // Bounded: the sandbox keeps the latest messages for inspection only.
      if (sent_.size() > 100000) sent_.pop_front();
      ++accepted_;
    }
    ScheduleStatuses(wamid, user, callback, async_failure, now);

    JsonWriter w;
    w.BeginObject().Key("messaging_product").String("whatsapp");
    w.Key("contacts").BeginArray().BeginObject();
    if (!msg->wa_id.empty()) {
      w.Key("input").String(msg->to_input).Key("wa_id").String(msg->wa_id);
    } else {
      w.Key("input").String(msg->recipient_user_id).Key("user_id").String(msg->recipient_user_id);
    }
    w.EndObject().EndArray();
    w.Key("messages").BeginArray().BeginObject().Key("id").String(wamid);
    if (tmpl.has_value()) w.Key("message_status").String("accepted");
    w.EndObject().EndArray().EndObject();
    return JsonResponse(200, wa::MetaEscape(w.str()));
  }

  std::string Metadata() const {
    JsonWriter w;
    w.BeginObject().Key("display_phone_number").String(options_.display_phone_number);
    w.Key("phone_number_id").String(options_.phone_number_id).EndObject();
    return w.Take();
  }

  std::string StatusValue(const std::string& wamid, const std::string& user, const std::string& callback,
                          const std::string& status, int64_t ts_ms, int error_code) const {
    JsonWriter w;
    w.BeginObject().Key("messaging_product").String("whatsapp").Key("metadata").Raw(Metadata());
    w.Key("statuses").BeginArray().BeginObject();
    w.Key("id").String(wamid).Key("status").String(status).Key("timestamp").String(std::to_string(ts_ms / 1000));
    w.Key("recipient_id").String(user);
    if (!callback.empty()) w.Key("biz_opaque_callback_data").String(callback);
    if (error_code != 0) {
      wa::GraphError e = wa::MakeGraphError(error_code);
      w.Key("errors").BeginArray().BeginObject().Key("code").Int(error_code).Key("title").String(e.title);
      w.Key("message").String(e.title).Key("error_data").BeginObject().Key("details").String(e.details).EndObject();
      w.Key("href").String("https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/");
      w.EndObject().EndArray();
    } else {
      if (options_.include_conversation && status != "read") {
        // Meta's conversation ids are opaque; the wamid would give away the number.
        w.Key("conversation").BeginObject().Key("id").String("conv_" + HexEncode(Sha256({wamid})).substr(0, 32));
        w.Key("origin").BeginObject().Key("type").String("utility").EndObject().EndObject();
      }
      w.Key("pricing").BeginObject().Key("billable").Bool(true).Key("pricing_model").String("PMP");
      w.Key("category").String("utility").Key("type").String("regular").EndObject();
    }
    w.EndObject().EndArray().EndObject();
    return w.Take();
  }

  void ScheduleStatuses(const std::string& wamid, const std::string& user, const std::string& callback, int failure,
                        int64_t now) {
    if (options_.webhook_url.empty()) return;
    std::vector<std::pair<std::string, int>> steps;
    if (failure != 0) {
      steps.emplace_back("failed", failure);
    } else {
      steps.emplace_back("sent", 0);
      steps.emplace_back("delivered", 0);
      if (options_.read_receipts) steps.emplace_back("read", 0);
    }
    if (steps.size() > 1 && Uniform() < options_.reorder_rate) std::reverse(steps.begin(), steps.end());
    int64_t at = now;
    for (const auto& [status, code] : steps) {
      at += options_.status_delay_ms;
      if (Uniform() < options_.drop_rate) continue;
      std::string body = wa::WebhookEnvelope(options_.waba_id, "messages", StatusValue(wamid, user, callback, status, at, code));
      int copies = Uniform() < options_.duplicate_rate ? 2 : 1;
      for (int i = 0; i < copies; ++i) Enqueue(body, at);
    }
  }

  void Enqueue(std::string body, int64_t due_ms) {
    {
      std::lock_guard lock(mu_);
      queue_.push(Delivery{due_ms, next_order_++, std::move(body), 0});
    }
    cv_.notify_one();
  }

  void EmitLoop() {
    HttpClientOptions copts;
    copts.timeout_ms = 10000;
    std::unique_ptr<HttpClient> client = CreateHttpClient(copts);
    std::unique_lock lock(mu_);
    while (!stopping_) {
      if (queue_.empty()) {
        cv_.wait(lock);
        continue;
      }
      int64_t now = clock_.NowUnixMillis();
      if (queue_.top().due_ms > now) {
        cv_.wait_for(lock, std::chrono::milliseconds(std::min<int64_t>(queue_.top().due_ms - now, 1000)));
        continue;
      }
      Delivery d = queue_.top();
      queue_.pop();
      lock.unlock();
      HeaderList headers = {{"Content-Type", "application/json"},
                            {"X-Hub-Signature-256", wa::HubSignature(options_.app_secret, d.body)}};
      Result<HttpClientResponse> r = client->Send("POST", options_.webhook_url, headers, d.body);
      bool delivered = r.ok() && r->status == 200;
      lock.lock();
      if (delivered) {
        ++webhooks_delivered_;
      } else if (++d.attempt < options_.webhook_max_attempts) {
        // Decreasing frequency, as Meta retries: doubling delays, capped at 10 minutes.
        int64_t delay = std::min<int64_t>(options_.webhook_retry_base_ms << std::min(d.attempt, 20), 600000);
        d.due_ms = clock_.NowUnixMillis() + delay;
        d.order = next_order_++;
        queue_.push(std::move(d));
        ++webhook_retries_;
      } else {
        ++webhooks_abandoned_;
      }
    }
  }

  // ------------------------------------------------------------ media
  // Uploads and the media simulated users send, in memory (bounded by
  // kMaxMediaBytes), with Meta's lifetimes: 30 days for an upload, 7 for a
  // received file, 5 minutes for a download URL (spec §3).

  static constexpr size_t kMaxMediaBytes = 256 << 20;
  static constexpr int64_t kUploadLifetimeMs = 30LL * 86'400'000;
  static constexpr int64_t kInboundLifetimeMs = 7LL * 86'400'000;
  static constexpr int64_t kUrlLifetimeMs = 5LL * 60'000;

  struct StoredMedia {
    std::string bytes;
    std::string mime_type;
    std::string sha256_hex;
    int64_t expires_ms = 0;
  };

  static bool IsMediaId(std::string_view s) { return s.size() >= 10 && s.size() <= 20 && IsAsciiDigits(s); }

  // Stores `bytes`; returns the new id, or a Graph error (131053) when it does not fit.
  Result<std::string> StoreMedia(std::string bytes, std::string mime_type, int64_t lifetime_ms) {
    const int64_t now = clock_.NowUnixMillis();
    std::string id;
    {
      std::lock_guard lock(rng_mu_);
      id = std::to_string(1'000'000'000'000'000ULL + rng_() % 8'999'999'999'999'999ULL);
    }
    std::lock_guard lock(mu_);
    for (auto it = media_.begin(); it != media_.end();) {  // expired media go first
      if (it->second.expires_ms <= now) {
        media_bytes_ -= it->second.bytes.size();
        it = media_.erase(it);
      } else {
        ++it;
      }
    }
    if (media_bytes_ + bytes.size() > kMaxMediaBytes) {
      return InvalidArgument("media_store_full", "the sandbox holds at most 256 MiB of media; delete some");
    }
    StoredMedia m;
    m.sha256_hex = HexEncode(Sha256({bytes}));
    m.bytes = std::move(bytes);
    m.mime_type = std::move(mime_type);
    m.expires_ms = now + lifetime_ms;
    media_bytes_ += m.bytes.size();
    media_[id] = std::move(m);
    return id;
  }

  HttpResponse UploadMedia(const HttpRequest& req) {
    if (auto fault = TakeFault()) return *fault;
    auto form = wa::ReadMediaUploadForm(req);
    if (!form.ok()) return GraphError(wa::MakeGraphError(100, form.status().message()));
    const std::string& type = form->mime_type;
    auto kind = wa::CheckMediaUpload(type, form->bytes);
    if (!kind.ok()) return GraphError(wa::MakeGraphError(131053, kind.status().message()));
    auto id = StoreMedia(std::string(form->bytes), AsciiLower(TrimAscii(type.substr(0, type.find(';')))),
                         kUploadLifetimeMs);
    if (!id.ok()) return GraphError(wa::MakeGraphError(131053, id.status().message()));
    JsonWriter w;
    w.BeginObject().Key("id").String(*id).EndObject();
    return JsonResponse(200, w.Take());
  }

  // The lookaside-style URL of a medium, valid for 5 minutes: its mid, its
  // expiry and a MAC over both (ext and hash, as Meta's URLs carry).
  std::string LinkMac(std::string_view id, int64_t expires_ms) {
    return wa::HubSignature(options_.app_secret + "|sandbox-media", std::string(id) + "|" + std::to_string(expires_ms))
        .substr(7, 32);
  }

  HttpResponse DescribeMedia(const HttpRequest& req, const std::string& id) {
    const int64_t now = clock_.NowUnixMillis();
    StoredMedia copy;
    {
      std::lock_guard lock(mu_);
      auto it = media_.find(id);
      if (it == media_.end() || it->second.expires_ms <= now) return UnknownObject();
      copy.mime_type = it->second.mime_type;
      copy.sha256_hex = it->second.sha256_hex;
      copy.expires_ms = static_cast<int64_t>(it->second.bytes.size());  // the size, here
    }
    const int64_t url_expires = now + kUrlLifetimeMs;
    const std::string* host = req.Header("host");
    std::string url = std::string(req.tls ? "https://" : "http://") + (host ? *host : "127.0.0.1") +
                      "/lookaside?mid=" + id + "&ext=" + std::to_string(url_expires) + "&hash=" +
                      LinkMac(id, url_expires);
    JsonWriter w;
    w.BeginObject().Key("messaging_product").String("whatsapp").Key("url").String(url);
    w.Key("mime_type").String(copy.mime_type).Key("sha256").String(copy.sha256_hex);
    w.Key("file_size").Int(copy.expires_ms).Key("id").String(id).EndObject();
    return JsonResponse(200, w.Take());
  }

  HttpResponse DownloadMedia(const HttpRequest& req) {
    std::string mid, ext, hash;
    if (auto q = ParseQuery(req.query); q.ok()) {
      for (const auto& [k, v] : *q) {
        if (k == "mid") mid = v;
        if (k == "ext") ext = v;
        if (k == "hash") hash = v;
      }
    }
    auto expires = ParseNonNegativeInt(ext);
    const int64_t now = clock_.NowUnixMillis();
    const std::string expected = expires ? LinkMac(mid, static_cast<int64_t>(*expires)) : "";
    // Expired, forged or unknown: Meta answers 404 without detail.
    if (!expires || static_cast<int64_t>(*expires) <= now || hash.size() != expected.size() ||
        CRYPTO_memcmp(hash.data(), expected.data(), expected.size()) != 0) {
      return JsonResponse(404, "");
    }
    std::lock_guard lock(mu_);
    auto it = media_.find(mid);
    if (it == media_.end() || it->second.expires_ms <= now) return JsonResponse(404, "");
    HttpResponse r = JsonResponse(200, it->second.bytes);
    r.content_type = it->second.mime_type;
    return r;
  }

  HttpResponse DeleteMedia(const std::string& id) {
    {
      std::lock_guard lock(mu_);
      auto it = media_.find(id);
      if (it != media_.end()) {
        media_bytes_ -= it->second.bytes.size();
        media_.erase(it);
      }
    }
    return JsonResponse(200, R"({"success":true})");  // idempotent, as Meta
  }

  // ------------------------------------------------------------ control API

  HttpResponse Control(const HttpRequest& req, const std::vector<std::string>& seg) {
    std::string what = seg.size() >= 2 ? seg[1] : "";
    Result<JsonValue> body = ParseJson(req.body.empty() ? "{}" : req.body);
    if (!body.ok() || !body->is_object()) {
      return JsonResponse(400, ErrorEnvelope("invalid_json", "the body must be a JSON object", req.request_id));
    }
    if (what == "inbound" && req.method == "POST") return SimulateInbound(*body, req.request_id);
    if (what == "preferences" && req.method == "POST") return SimulatePreference(*body, req.request_id);
    if (what == "faults" && req.method == "POST") return AddFault(*body, req.request_id);
    if (what == "templates" && req.method == "POST") return ReviewTemplate(*body, req.request_id);
    if (what == "faults" && req.method == "DELETE") {
      std::lock_guard lock(mu_);
      faults_.clear();
      return JsonResponse(200, R"({"cleared":true})");
    }
    if (what == "messages" && req.method == "GET") return ListSent();
    if (what == "stats" && req.method == "GET") return Stats();
    return JsonResponse(404, ErrorEnvelope("not_found", "no such sandbox control endpoint", req.request_id));
  }

  HttpResponse SimulateInbound(const JsonValue& body, const std::string& request_id) {
    const JsonValue* from = body.Find("from");
    if (from == nullptr || !from->is_string()) {
      return JsonResponse(400, ErrorEnvelope("missing_field", "from (the user's number, digits) is required", request_id));
    }
    const JsonValue* type = body.Find("type");
    std::string t = type != nullptr && type->is_string() ? type->as_string() : "text";
    const JsonValue* name = body.Find("name");
    int64_t now = clock_.NowUnixMillis();
    std::string wamid = NewWamid(from->as_string());
    JsonWriter m;
    m.BeginObject().Key("from").String(from->as_string()).Key("id").String(wamid);
    m.Key("timestamp").String(std::to_string(now / 1000)).Key("type").String(t);
    // A file the user sends: {"media": {"mime_type", "data_base64", "caption"?, "filename"?}} is
    // stored like Meta stores it (7 days) and becomes the message's <type> object.
    std::string media_id;
    if (const JsonValue* media = body.Find("media"); media != nullptr) {
      auto payload = InboundMedia(t, *media, media_id);
      if (!payload.ok()) {
        return JsonResponse(400, ErrorEnvelope(payload.status().machine_code(), payload.status().message(), request_id));
      }
      m.Key(t).Raw(*payload);
    }
    // Everything else the caller gave is the message's own payload (text,
    // button, interactive, image, …), passed through as Meta would.
    for (const auto& [key, value] : body.as_object()) {
      if (key == "from" || key == "type" || key == "name" || key == "media") continue;
      m.Key(key).Raw(ToJson(value));
    }
    m.EndObject();
    JsonWriter v;
    v.BeginObject().Key("messaging_product").String("whatsapp").Key("metadata").Raw(Metadata());
    v.Key("contacts").BeginArray().BeginObject().Key("profile").BeginObject().Key("name");
    v.String(name != nullptr && name->is_string() ? name->as_string() : "Sandbox User").EndObject();
    v.Key("wa_id").String(from->as_string()).EndObject().EndArray();
    v.Key("messages").BeginArray().Raw(m.str()).EndArray().EndObject();
    {
      std::lock_guard lock(mu_);
      last_inbound_ms_[from->as_string()] = now;
      Remember(wamid);
      std::string text;
      if (const JsonValue* tx = body.Find("text"); tx != nullptr && tx->is_object() && tx->Find("body") &&
                                                   tx->Find("body")->is_string()) {
        text = AsciiLower(TrimAscii(tx->Find("body")->as_string()));
      }
      // WhatsApp itself turns "Stop promotions" into a preference change.
      if (text == "stop promotions") marketing_stopped_.insert(from->as_string());
    }
    Enqueue(wa::WebhookEnvelope(options_.waba_id, "messages", v.str()), now);
    JsonWriter out;
    out.BeginObject().Key("id").String(wamid);
    if (!media_id.empty()) out.Key("media_id").String(media_id);
    out.EndObject();
    return JsonResponse(200, out.Take());
  }

  // Stores the file of a simulated user's media message; returns the
  // message's <type> object and sets `id` to the new media id.
  Result<std::string> InboundMedia(const std::string& type, const JsonValue& media, std::string& media_id) {
    auto text = [&](const char* key) -> std::string {
      const JsonValue* v = media.is_object() ? media.Find(key) : nullptr;
      return v != nullptr && v->is_string() ? v->as_string() : "";
    };
    const std::string mime = text("mime_type");
    std::string bytes = Base64Decode(text("data_base64"));
    auto kind = wa::CheckMediaUpload(mime, bytes);
    if (!kind.ok()) return kind.status();
    if (*kind != type && !(type == "document" && !bytes.empty())) {
      return InvalidArgument("media_mismatch", "a " + type + " message needs a " + type + " file, not " + *kind);
    }
    const std::string sha = HexEncode(Sha256({bytes}));
    CS_ASSIGN_OR_RETURN(std::string id, StoreMedia(std::move(bytes), AsciiLower(mime), kInboundLifetimeMs));
    media_id = id;
    JsonWriter w;
    w.BeginObject();
    if (!text("caption").empty()) w.Key("caption").String(text("caption"));
    if (!text("filename").empty()) w.Key("filename").String(text("filename"));
    w.Key("mime_type").String(AsciiLower(mime)).Key("sha256").String(sha).Key("id").String(id).EndObject();
    return w.Take();
  }

  static std::string Base64Decode(std::string_view text) {
    std::string out(3 * ((text.size() + 3) / 4), '\0');
    int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                            reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
    if (n < 0) return "";
    size_t len = static_cast<size_t>(n);
    // EVP_DecodeBlock keeps the bytes the padding stands for: drop them.
    for (size_t i = text.size(); i > 0 && text[i - 1] == '=' && len > 0; --i) --len;
    out.resize(len);
    return out;
  }

  // Meta's review of a template changes: its category (template_category_update)
  // or its status (message_template_status_update), each announced by webhook.
  HttpResponse ReviewTemplate(const JsonValue& body, const std::string& request_id) {
    auto text = [&](const char* key) -> std::string {
      const JsonValue* v = body.Find(key);
      return v != nullptr && v->is_string() ? v->as_string() : "";
    };
    const std::string name = text("name"), language = text("language").empty() ? "en_US" : text("language");
    const std::string category = text("category"), status = text("status");
    if (name.empty() || (category.empty() && status.empty())) {
      return JsonResponse(400, ErrorEnvelope("missing_field", "name and category or status are required", request_id));
    }
    if (!category.empty() && category != "MARKETING" && category != "UTILITY" && category != "AUTHENTICATION") {
      return JsonResponse(400, ErrorEnvelope("invalid_field", "category must be MARKETING, UTILITY or AUTHENTICATION", request_id));
    }
    std::string previous_category;
    int64_t template_id = 0;
    {
      std::lock_guard lock(mu_);
      for (size_t i = 0; i < options_.templates.size(); ++i) {
        SandboxTemplate& t = options_.templates[i];
        if (t.name != name || t.language != language) continue;
        previous_category = t.category;
        template_id = 1284000000000 + static_cast<int64_t>(i);
        if (!category.empty()) t.category = category;
        if (!status.empty()) t.status = status;
      }
    }
    if (template_id == 0) {
      return JsonResponse(404, ErrorEnvelope("not_found", "no such template name and language", request_id));
    }
    const int64_t now = clock_.NowUnixMillis();
    if (!category.empty() && category != previous_category) {
      JsonWriter v;
      v.BeginObject().Key("message_template_id").Int(template_id).Key("message_template_name").String(name);
      v.Key("message_template_language").String(language).Key("previous_category").String(previous_category);
      v.Key("new_category").String(category).EndObject();
      Enqueue(wa::WebhookEnvelope(options_.waba_id, "template_category_update", v.str()), now);
    }
    if (!status.empty()) {
      JsonWriter v;
      v.BeginObject().Key("event").String(status).Key("message_template_id").Int(template_id);
      v.Key("message_template_name").String(name).Key("message_template_language").String(language);
      v.Key("reason").String("NONE");
      v.Key("message_template_category").String(category.empty() ? previous_category : category).EndObject();
      Enqueue(wa::WebhookEnvelope(options_.waba_id, "message_template_status_update", v.str()), now);
    }
    return JsonResponse(200, R"({"ok":true})");
  }

  HttpResponse SimulatePreference(const JsonValue& body, const std::string& request_id) {
    const JsonValue* wa_id = body.Find("wa_id");
    const JsonValue* value = body.Find("value");
    if (wa_id == nullptr || !wa_id->is_string() || value == nullptr || !value->is_string() ||
        (value->as_string() != "stop" && value->as_string() != "resume")) {
      return JsonResponse(400, ErrorEnvelope("invalid_field", "wa_id and value (stop|resume) are required", request_id));
    }
    int64_t now = clock_.NowUnixMillis();
    {
      std::lock_guard lock(mu_);
      if (value->as_string() == "stop") marketing_stopped_.insert(wa_id->as_string());
      else marketing_stopped_.erase(wa_id->as_string());
    }
    JsonWriter v;
    v.BeginObject().Key("messaging_product").String("whatsapp").Key("metadata").Raw(Metadata());
    v.Key("user_preferences").BeginArray().BeginObject().Key("wa_id").String(wa_id->as_string());
    v.Key("detail").String(value->as_string() == "stop" ? "User requested to stop marketing messages"
                                                         : "User requested to resume marketing messages");
    v.Key("category").String("marketing_messages").Key("value").String(value->as_string());
    v.Key("timestamp").Int(now / 1000).EndObject().EndArray().EndObject();
    Enqueue(wa::WebhookEnvelope(options_.waba_id, "user_preferences", v.str()), now);
    return JsonResponse(200, R"({"ok":true})");
  }

  HttpResponse AddFault(const JsonValue& body, const std::string& request_id) {
    Fault f;
    auto num = [&](const char* key, int64_t& out) {
      const JsonValue* v = body.Find(key);
      if (v != nullptr && v->type() == JsonValue::Type::kInt) out = v->as_int();
    };
    int64_t code = 0, status = 0, count = 1;
    num("code", code);
    num("http_status", status);
    num("delay_ms", f.delay_ms);
    num("count", count);
    f.code = static_cast<int>(code);
    f.http_status = static_cast<int>(status);
    f.remaining = static_cast<int>(count);
    if ((f.code == 0 && f.http_status == 0 && f.delay_ms == 0) || f.remaining == 0 || f.delay_ms > 60000) {
      return JsonResponse(400, ErrorEnvelope("invalid_field", "give code, http_status or delay_ms (≤ 60000), and count (-1: until cleared)", request_id));
    }
    std::lock_guard lock(mu_);
    faults_.push_back(f);
    return JsonResponse(200, R"({"ok":true})");
  }

  HttpResponse ListSent() {
    std::lock_guard lock(mu_);
    JsonWriter w;
    w.BeginObject().Key("messages").BeginArray();
    for (const SentMessage& m : sent_) {
      w.BeginObject().Key("id").String(m.wamid).Key("to").String(m.to).Key("type").String(m.type);
      w.Key("body").Raw(m.body_json).Key("at_ms").Int(m.at_ms).EndObject();
    }
    w.EndArray().Key("reads").BeginArray();
    for (const Read& r : reads_) w.BeginObject().Key("message_id").String(r.message_id).Key("at_ms").Int(r.at_ms).EndObject();
    w.EndArray().EndObject();
    return JsonResponse(200, w.Take());
  }

  HttpResponse Stats() {
    std::lock_guard lock(mu_);
    JsonWriter w;
    w.BeginObject().Key("accepted").Int(accepted_).Key("throttled").Int(throttled_);
    w.Key("webhooks_delivered").Int(webhooks_delivered_).Key("webhook_retries").Int(webhook_retries_);
    w.Key("webhooks_abandoned").Int(webhooks_abandoned_).Key("webhooks_pending").Int(static_cast<int64_t>(queue_.size()));
    w.EndObject();
    return JsonResponse(200, w.Take());
  }

  SandboxOptions options_;
  const Clock& clock_;
  std::mutex rng_mu_;
  std::mt19937_64 rng_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread emitter_;
  std::priority_queue<Delivery, std::vector<Delivery>, std::greater<>> queue_;
  uint64_t next_order_ = 0;
  std::deque<Fault> faults_;
  int64_t window_second_ = 0;
  int window_count_ = 0;
  std::map<std::string, PairBucket> pairs_;
  std::map<std::string, int64_t> last_inbound_ms_;
  std::set<std::string> marketing_stopped_;
  std::map<std::string, StoredMedia> media_;
  size_t media_bytes_ = 0;
  std::deque<SentMessage> sent_;
  struct Read {
    std::string message_id;
    int64_t at_ms = 0;
  };
  std::deque<Read> reads_;               // read receipts received (guarded by mu_)
  // The latest million messages sent or received (guarded by mu_).
  std::unordered_set<std::string> known_wamids_;
  std::deque<std::string> known_order_;
  void Remember(const std::string& wamid) {  // REQUIRES: mu_ held
    known_wamids_.insert(wamid);
    known_order_.push_back(wamid);
    if (known_order_.size() > 1000000) {
      known_wamids_.erase(known_order_.front());
      known_order_.pop_front();
    }
  }
  int64_t accepted_ = 0, throttled_ = 0, webhooks_delivered_ = 0, webhook_retries_ = 0, webhooks_abandoned_ = 0;
};

}  // namespace

std::unique_ptr<Sandbox> CreateSandbox(SandboxOptions options, const Clock& clock) {
  return std::make_unique<SandboxImpl>(std::move(options), clock);
}

}  // namespace cs
