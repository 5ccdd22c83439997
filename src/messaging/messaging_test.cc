// The messaging path against the sandbox over real sockets: a real SQLite
// store, the dispatcher sending to `consentry sandbox`'s implementation on
// its own HTTP listener, and the sandbox's signed webhooks coming back to
// the receiver on another listener.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <set>
#include <thread>

#include "common/json_writer.h"
#include "common/strings.h"
#include "http/client.h"
#include "http/http.h"
#include "messaging/channels.h"
#include "messaging/dispatcher.h"
#include "messaging/forwarding.h"
#include "messaging/history.h"
#include "messaging/media.h"
#include "messaging/message_state.h"
#include "messaging/receive_policy.h"
#include "messaging/send_policy.h"
#include "messaging/sending.h"
#include "messaging/webhooks.h"
#include "store/group_commit.h"
#include "store/sqlite/sqlite_store.h"
#include "vault/erasure.h"
#include "vault/keyring.h"
#include "sandbox/sandbox.h"
#include "whatsapp/wire.h"

namespace cs {
namespace {

constexpr char kToken[] = "sandbox-token-for-tests";
constexpr char kAppSecret[] = "app-secret-for-tests";
constexpr char kPhone[] = "4917612345678";

bool WaitFor(const std::function<bool()>& done, int timeout_ms = 15000) {
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < until) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return done();
}

// An HTTP listener on 127.0.0.1:0 serving `handler` on its own thread.
class Listener {
 public:
  explicit Listener(HttpHandler handler) {
    HttpServerOptions o;
    o.threads = 2;
    o.max_body_bytes = 4 << 20;
    auto s = CreateHttpServer(o, std::move(handler), nullptr);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(s).value();
    thread_ = std::thread([this] { server_->Run(); });
  }
  ~Listener() {
    server_->Stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(server_->port()); }

 private:
  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
};

class MessagingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> counter{0};
    dir_ = ::testing::TempDir() + "/consentry_messaging_" + std::to_string(getpid()) + "_" + std::to_string(counter++);
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    SqliteOptions so;
    so.path = dir_ + "/consentry.db";
    so.synchronous_full = false;
    auto store = OpenSqliteStore(so);
    ASSERT_TRUE(store.ok());
    store_ = std::move(store).value();
    ASSERT_TRUE(store_->Migrate().ok());
    ASSERT_TRUE(store_->tenants().Create(Tenant{"ten_a", "a", 1, std::nullopt, std::nullopt}).ok());
    ASSERT_TRUE(store_->tenants().Create(Tenant{"ten_b", "b", 1, std::nullopt, std::nullopt}).ok());
    auto master = random_.Bytes(32);
    ASSERT_TRUE(master.ok());
    kms_ = CreateLocalKms(SecretString(*master), random_);
    keyring_ = std::make_unique<TenantKeyring>(*store_, *kms_, random_);
    channels_ = std::make_unique<ChannelService>(*store_, *keyring_, ledger_, clock_, random_);
    commits_ = std::make_unique<GroupCommitter>(*store_);
    messages_ = std::make_unique<MessageService>(*store_, *commits_, *keyring_, ledger_, clock_, random_, Chain());
    receiver_ = std::make_unique<WebhookReceiver>(*store_, *commits_, *keyring_, *channels_, ledger_, clock_, random_,
                                                  Receiving(), *messages_);

    gateway_ = std::make_unique<Listener>([this](const HttpRequest& req) {
      HttpResponse r;
      const std::string prefix = "/webhooks/whatsapp/";
      WebhookOutcome o = receiver_->Receive(req.path.substr(prefix.size()), req.Header("x-hub-signature-256"),
                                            req.body, JsonLimits{});
      r.status = o.accepted() ? 200 : o.refusal.code() == StatusCode::kUnauthenticated ? 401 : 503;
      r.body = o.error_code;
      return r;
    });
    sandbox_listener_ = std::make_unique<Listener>([this](const HttpRequest& req) { return sandbox_->Handle(req); });

    ChannelSpec spec;
    spec.tenant_id = "ten_a";
    spec.phone_number_id = "100000000000002";
    spec.waba_id = "100000000000001";
    spec.display_phone_number = "15550000000";
    spec.graph_base_url = sandbox_listener_->url();
    spec.access_token = SecretString(kToken);
    spec.app_secret = SecretString(kAppSecret);
    spec.verify_token = SecretString("verify-me");
    auto channel = channels_->Create(AuditActor::System(), spec);
    ASSERT_TRUE(channel.ok()) << channel.status().ToString();
    channel_ = *channel;

    SandboxOptions sb;
    sb.access_token = kToken;
    sb.app_secret = kAppSecret;
    sb.webhook_url = gateway_->url() + "/webhooks/whatsapp/" + channel_.id;
    sb.status_delay_ms = 20;
    sb.webhook_retry_base_ms = 50;
    sandbox_options_ = sb;
    sandbox_ = CreateSandbox(sb, clock_);
    sandbox_->Start();
  }

  void TearDown() override {
    if (dispatcher_) dispatcher_->Stop();
    if (sandbox_) sandbox_->Stop();
    sandbox_listener_.reset();
    gateway_.reset();
  }

  // A subscriber of tenant ten_a at `url`, with the settings of `settings`
  // (a generated secret).
  Status Subscribe(const std::string& url, const SubscriberSpec& settings = {}) {
    SubscriberService subscribers(*store_, *keyring_, ledger_, clock_, random_, local_policy_);
    SubscriberSpec spec;
    spec.tenant_id = "ten_a";
    spec.url = url;
    spec.events = settings.events;
    spec.clear_phone_numbers = settings.clear_phone_numbers;
    spec.include_content = settings.include_content;
    spec.sale_or_sharing = settings.sale_or_sharing;
    return subscribers.Create(AuditActor::System(), spec).status();
  }
  // The forwarder serving subscribers on this machine, started.
  std::unique_ptr<Forwarder> StartForwarder() {
    ForwarderOptions fo;
    fo.idle_poll_ms = 5;
    auto forwarder = std::make_unique<Forwarder>(*store_, *keyring_, clock_, local_policy_, fo);
    forwarder->Start();
    return forwarder;
  }

  // The transport's checks (no consent, no content protection unless
  // given); documents not scanned by the gateway pass, marked.
  SendChain Chain(ConsentService* consent = nullptr, ContentGuard* content = nullptr) {
    std::vector<std::unique_ptr<const SendStage>> stages;
    stages.push_back(ServiceWindowStage(*store_, clock_));
    if (consent != nullptr) stages.push_back(ConsentStage(*consent));
    stages.push_back(ReferenceStage(*store_));
    stages.push_back(DocumentStage(*store_, /*refuse_unscanned=*/false));
    if (content != nullptr) stages.push_back(ContentStage(*content));
    Result<SendChain> chain = SendChain::Build(std::move(stages), {});
    EXPECT_TRUE(chain.ok());
    return std::move(chain).value();
  }

  // The receive chain with the stages given (the gateway's has all, receive_policy.h).
  ReceiveChain Receiving(ConsentService* consent = nullptr, ContentGuard* content = nullptr) {
    std::vector<std::unique_ptr<const ReceiveStage>> stages;
    if (content != nullptr) stages.push_back(ContentReceiveStage(*content));
    if (consent != nullptr) stages.push_back(ConsentReceiveStage(*consent));
    Result<ReceiveChain> chain = ReceiveChain::Build(std::move(stages), {});
    EXPECT_TRUE(chain.ok());
    return std::move(chain).value();
  }

  void StartDispatcher(DispatcherOptions o = {}) {
    o.backoff_base_ms = 20;
    o.backoff_max_ms = 200;
    o.idle_poll_ms = 5;
    o.breaker_open_ms = 200;
    if (o.http_timeout_ms == 15000) o.http_timeout_ms = 3000;
    if (!consent_) consent_ = std::make_unique<ConsentService>(*store_, *commits_, ledger_, clock_);
    dispatcher_ = std::make_unique<Dispatcher>(*store_, *commits_, *keyring_, *channels_, ledger_, clock_, random_,
                                               *consent_, o, [this](const std::string& a) {
                                                 std::lock_guard lock(alerts_mu_);
                                                 alerts_.push_back(a);
                                               });
    dispatcher_->Start();
  }

  // The sealed inbound payloads of a subject, read straight from the database: what a backup holds.
  std::vector<std::pair<std::string, std::string>> SealedInbound(const std::string& subject) {
    std::vector<std::pair<std::string, std::string>> out;
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open_v2((dir_ + "/consentry.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(db, "SELECT id, payload_sealed FROM inbound_messages WHERE subject = ?", -1, &st, nullptr);
    sqlite3_bind_text(st, 1, subject.c_str(), -1, SQLITE_TRANSIENT);
    while (sqlite3_step(st) == SQLITE_ROW) {
      out.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)),
                       std::string(static_cast<const char*>(sqlite3_column_blob(st, 1)),
                                   static_cast<size_t>(sqlite3_column_bytes(st, 1))));
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return out;
  }

  // Every byte of every file under `dir`, for canary searches.
  static std::string AllBytesUnder(const std::string& dir) {
    std::string all;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
      if (!entry.is_regular_file()) continue;
      std::ifstream in(entry.path(), std::ios::binary);
      std::stringstream ss;
      ss << in.rdbuf();
      all += ss.str();
    }
    return all;
  }

  // Calls a sandbox control endpoint in process.
  std::string Control(const std::string& method, const std::string& path, const std::string& body = "") {
    HttpRequest req;
    req.method = method;
    req.path = path;
    req.body = body;
    req.request_id = "req_test";
    return sandbox_->Handle(req).body;
  }

  // The user writes to the business: opens the 24-hour window.
  void UserWrites(const std::string& text = "Hello") {
    std::string inbound_before = std::to_string(Inbound());
    Control("POST", "/_sandbox/inbound",
            std::string(R"({"from":")") + kPhone + R"(","type":"text","text":{"body":")" + text + R"("}})");
    int64_t before = std::stoll(inbound_before);
    ASSERT_TRUE(WaitFor([&] { return Inbound() > before; }));
  }

  int64_t Inbound() {
    auto n = store_->inbound().CountInbound("ten_a");
    return n.ok() ? *n : -1;
  }

  int64_t SandboxAccepted() {
    auto stats = ParseJson(Control("GET", "/_sandbox/stats"));
    return stats.ok() ? stats->Find("accepted")->as_int() : -1;
  }

  Result<SendResult> Send(const std::string& json, const std::string& idempotency_key = "") {
    auto body = ParseJson(json);
    EXPECT_TRUE(body.ok()) << json;
    SendRequest r;
    r.tenant_id = "ten_a";
    r.actor = AuditActor{"integration", "key_test", "test", ""};
    r.body = &*body;
    r.idempotency_key = idempotency_key;
    return messages_->Send(r);
  }

  std::string TemplateTo(const std::string& to, const std::string& param = "Jonas") {
    return R"({"messaging_product":"whatsapp","to":")" + to +
           R"(","type":"template","template":{"name":"order_shipped","language":{"code":"en_US"},"components":[{"type":"body","parameters":[{"type":"text","text":")" +
           param + R"("}]}]}})";
  }

  MessageRecord Get(const std::string& id) {
    auto m = store_->outbound().GetMessage("ten_a", id);
    EXPECT_TRUE(m.ok());
    return m.ok() ? *m : MessageRecord{};
  }

  bool ReachesState(const std::string& id, const std::string& state, int timeout_ms = 15000) {
    return WaitFor([&] { return Get(id).state == state; }, timeout_ms);
  }

  // Posts a webhook body to the receiver as Meta would, signed over the exact bytes.
  WebhookOutcome Deliver(const std::string& body, const std::string& secret = kAppSecret) {
    std::string sig = whatsapp::HubSignature(secret, body);
    return receiver_->Receive(channel_.id, &sig, body, JsonLimits{});
  }

  std::string StatusBody(const std::string& wamid, const std::string& status, int64_t ts,
                         const std::string& pnid = "100000000000002") {
    std::string value = R"({"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550000000","phone_number_id":")" +
                        pnid + R"("},"statuses":[{"id":")" + wamid + R"(","status":")" + status +
                        R"(","timestamp":")" + std::to_string(ts) + R"(","recipient_id":")" + kPhone + "\"" +
                        (status == "failed" ? R"(,"errors":[{"code":131026,"title":"Message undeliverable"}])" : "") +
                        "}]}";
    return whatsapp::WebhookEnvelope("100000000000001", "messages", value);
  }

  std::string dir_;
  SystemClock clock_;
  CryptoRandom random_;
  AuditLedger ledger_{clock_};
  std::unique_ptr<Store> store_;
  std::unique_ptr<GroupCommitter> commits_;
  std::unique_ptr<Kms> kms_;
  std::unique_ptr<TenantKeyring> keyring_;
  std::unique_ptr<ChannelService> channels_;
  std::unique_ptr<MessageService> messages_;
  std::unique_ptr<WebhookReceiver> receiver_;
  std::unique_ptr<ConsentService> consent_;  // the dispatcher's last check
  std::unique_ptr<Listener> gateway_;
  std::unique_ptr<Listener> sandbox_listener_;
  SandboxOptions sandbox_options_;
  std::unique_ptr<Sandbox> sandbox_;
  std::unique_ptr<Dispatcher> dispatcher_;
  Channel channel_;
  UrlPolicy local_policy_{{"127.0.0.1"}};
  std::mutex alerts_mu_;
  std::vector<std::string> alerts_;
};

TEST_F(MessagingTest, EveryMessageTypeTravelsEndToEnd) {
  StartDispatcher();
  UserWrites();
  const std::string to = std::string(R"("to":")") + kPhone + "\"";
  std::vector<std::string> bodies = {
      R"({"messaging_product":"whatsapp",)" + to + R"(,"type":"text","text":{"body":"Your order shipped: https://ex.com/t/1"}})",
      R"({"messaging_product":"whatsapp",)" + to + R"(,"type":"image","image":{"link":"https://cdn.ex.com/p.jpg","caption":"c"}})",
      R"({"messaging_product":"whatsapp",)" + to + R"(,"type":"document","document":{"link":"https://ex.com/i.pdf","filename":"i.pdf"}})",
      R"({"messaging_product":"whatsapp",)" + to + R"(,"type":"audio","audio":{"id":"123"}})",
      R"({"messaging_product":"whatsapp",)" + to + R"(,"type":"video","video":{"id":"123"}})",
      R"({"messaging_product":"whatsapp",)" + to + R"(,"type":"sticker","sticker":{"id":"123"}})",
      R"({"messaging_product":"whatsapp",)" + to + R"(,"type":"location","location":{"latitude":48.85,"longitude":2.29}})",
      R"({"messaging_product":"whatsapp",)" + to + R"(,"type":"contacts","contacts":[{"name":{"formatted_name":"Tom"}}]})",
      // A reaction to the first message, by the id its send answered: Meta gets its wamid.
      R"({"messaging_product":"whatsapp",)" + to + R"(,"type":"reaction","reaction":{"message_id":"FIRST","emoji":"👍"}})",
      R"({"messaging_product":"whatsapp",)" + to + R"(,"type":"interactive","interactive":{"type":"button","body":{"text":"OK?"},"action":{"buttons":[{"type":"reply","reply":{"id":"y","title":"Yes"}}]}}})",
      R"({"messaging_product":"whatsapp",)" + to + R"(,"type":"interactive","interactive":{"type":"list","body":{"text":"Pick"},"action":{"button":"Choose","sections":[{"rows":[{"id":"a","title":"A"}]}]}}})",
      TemplateTo(kPhone),
  };
  std::vector<std::string> ids;
  for (std::string b : bodies) {
    if (size_t at = b.find("FIRST"); at != std::string::npos) b.replace(at, 5, ids.front());
    auto r = Send(b);
    ASSERT_TRUE(r.ok()) << r.status().ToString() << " " << b;
    EXPECT_EQ(r->message.state, "accepted");
    ids.push_back(r->message.id);
  }
  for (const std::string& id : ids) EXPECT_TRUE(ReachesState(id, "read")) << id << " " << Get(id).state;
  EXPECT_EQ(SandboxAccepted(), static_cast<int64_t>(bodies.size()));
  // Every message reached Meta carrying our reconciliation tag, exactly once.
  std::string sent = Control("GET", "/_sandbox/messages");
  for (const std::string& id : ids) {
    size_t first = sent.find("cs:" + id);
    EXPECT_NE(first, std::string::npos);
    EXPECT_EQ(sent.find("cs:" + id, first + 1), std::string::npos);
  }
  // covers: CHAN-04 (unscanned documents allowed by configuration are on the record as such)
  // The document went by link, so unscanned: allowed here (the gateway's
  // default refuses it), and its entry says so; no other entry does.
  AuditQuery q;
  q.tenant_id = "ten_a";
  q.action = "message.send";
  auto entries = store_->audit().Query(q);
  ASSERT_TRUE(entries.ok());
  int unscanned = 0;
  for (const AuditRecord& r : *entries) unscanned += r.details.find(R"("document_scanned":false)") != std::string::npos;
  EXPECT_EQ(unscanned, 1);
}

// covers: CHAN-01
TEST_F(MessagingTest, FreeFormOutsideTheWindowIsRefusedBeforeMeta) {
  auto r = Send(R"({"messaging_product":"whatsapp","to":"+49 176 12345678","text":{"body":"hi"}})");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().machine_code(), "template_required");
  EXPECT_TRUE(Send(TemplateTo("+49 176 12345678")).ok());
  UserWrites();
  EXPECT_TRUE(Send(R"({"messaging_product":"whatsapp","to":"+49 176 12345678","text":{"body":"hi"}})").ok());
  EXPECT_EQ(store_->outbound().CountJobs().value(), 2);
  // The boundary: one second before the close is allowed, the close is not.
  auto subject = keyring_->Pseudonym("ten_a", "+4917600000001");
  ASSERT_TRUE(subject.ok());
  const std::string text = R"({"messaging_product":"whatsapp","to":"4917600000001","text":{"body":"hi"}})";
  const int64_t day = 24LL * 3600 * 1000;
  ASSERT_TRUE(store_->inbound().TouchWindow(channel_.id, *subject, clock_.NowUnixMillis() - day + 5000).ok());
  EXPECT_TRUE(Send(text).ok());
  std::string other = R"({"messaging_product":"whatsapp","to":"4917600000002","text":{"body":"hi"}})";
  auto closed = keyring_->Pseudonym("ten_a", "+4917600000002");
  ASSERT_TRUE(store_->inbound().TouchWindow(channel_.id, *closed, clock_.NowUnixMillis() - day).ok());
  EXPECT_EQ(Send(other).status().machine_code(), "template_required");
}

// The window is 24 hours of time that really passed: with the gateway's
// clock (SteadyWallClock), the system clock set forward a day does not
// close it early and set back an hour does not stretch it. The plain
// system clock is fooled both ways.
// covers: F-19, CHAN-01
TEST_F(MessagingTest, TheServiceWindowIsTwentyFourHoursOfRealTimeWhateverTheSystemClockSays) {
  FakeClock system(1'800'000'000'000);
  SteadyWallClock steady(system);
  std::unique_ptr<const SendStage> gateway = ServiceWindowStage(*store_, steady);
  std::unique_ptr<const SendStage> naive = ServiceWindowStage(*store_, system);
  ASSERT_TRUE(store_->inbound().TouchWindow(channel_.id, "sub_window", system.NowUnixMillis()).ok());
  auto decide = [&](const SendStage& stage) {
    MessageRecord m;
    m.free_form = true;
    m.kind = "message";
    m.channel_id = channel_.id;
    m.subject = "sub_window";
    whatsapp::OutboundMessage parsed;
    SendContext c;
    c.tenant_id = "ten_a";
    c.parsed = &parsed;
    c.message = &m;
    Result<Decision> d = stage.Apply(c);
    EXPECT_TRUE(d.ok()) << d.status().ToString();
    return d.ok() ? d->refusal.machine_code() : std::string("error");
  };
  const int64_t hour = 3'600'000;
  system.AdvanceMillis(23 * hour);
  system.JumpWallMillis(24 * hour);
  EXPECT_EQ(decide(*gateway), "");
  EXPECT_EQ(decide(*naive), "template_required");
  system.JumpWallMillis(-25 * hour);
  system.AdvanceMillis(hour);  // 24 hours have passed
  EXPECT_EQ(decide(*gateway), "template_required");
  EXPECT_EQ(decide(*naive), "");
}

// covers: F-20
TEST_F(MessagingTest, IdempotencyKeyReplaysOrRefuses) {
  auto first = Send(TemplateTo(kPhone), "order-88213");
  ASSERT_TRUE(first.ok());
  auto again = Send(TemplateTo(kPhone), "order-88213");
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->replayed);
  EXPECT_EQ(again->message.id, first->message.id);
  auto other = Send(TemplateTo(kPhone, "Other"), "order-88213");
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.status().machine_code(), "idempotency_key_reuse");
  EXPECT_EQ(store_->outbound().CountJobs().value(), 1);
}

// covers: B-19, F-14
TEST_F(MessagingTest, PermanentErrorsFailAtOnceWithoutRetry) {
  StartDispatcher();
  Control("POST", "/_sandbox/faults", R"({"code":131026,"count":1})");
  auto r = Send(TemplateTo(kPhone));
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(ReachesState(r->message.id, "failed"));
  MessageRecord m = Get(r->message.id);
  EXPECT_EQ(m.error_code, "undeliverable");
  EXPECT_EQ(m.provider_code, 131026);
  EXPECT_EQ(m.attempts, 1);
  // The sandbox's template registry: an unknown template fails the same way.
  auto unknown = Send(R"({"messaging_product":"whatsapp","to":"4917612345678","type":"template","template":{"name":"nope","language":{"code":"en_US"}}})");
  ASSERT_TRUE(unknown.ok());
  ASSERT_TRUE(ReachesState(unknown->message.id, "failed"));
  EXPECT_EQ(Get(unknown->message.id).error_code, "template_rejected");
  EXPECT_EQ(Get(unknown->message.id).provider_code, 132001);
  EXPECT_EQ(dispatcher_->stats().retried.load(), 0);
}

// covers: F-10, F-11
TEST_F(MessagingTest, ThrottlingAndServerErrorStormsLoseAndDuplicateNothing) {
  StartDispatcher();
  Control("POST", "/_sandbox/faults", R"({"code":130429,"count":8})");
  Control("POST", "/_sandbox/faults", R"({"http_status":503,"count":6})");
  Control("POST", "/_sandbox/faults", R"({"code":131000,"count":4})");
  std::vector<std::string> ids;
  for (int i = 0; i < 30; ++i) {
    auto r = Send(TemplateTo("49176" + std::to_string(10000000 + i)));
    ASSERT_TRUE(r.ok());
    ids.push_back(r->message.id);
  }
  for (const std::string& id : ids) EXPECT_TRUE(ReachesState(id, "read", 30000)) << Get(id).state << " " << Get(id).error_code;
  EXPECT_EQ(SandboxAccepted(), 30);
  EXPECT_GE(dispatcher_->stats().retried.load(), 18);
  EXPECT_EQ(store_->outbound().CountJobs().value(), 0);
}

// covers: F-15
TEST_F(MessagingTest, AnExpiredTokenPausesTheChannelAndKeepsTheQueue) {
  StartDispatcher();
  Control("POST", "/_sandbox/faults", R"({"code":190,"count":1})");
  auto r = Send(TemplateTo(kPhone));
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(WaitFor([&] { return store_->channels().GetChannel("ten_a", channel_.id)->paused_reason == "token_invalid"; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(Get(r->message.id).state, "accepted");
  EXPECT_EQ(SandboxAccepted(), 0);
  {
    std::lock_guard lock(alerts_mu_);
    EXPECT_NE(std::find_if(alerts_.begin(), alerts_.end(),
                           [](const std::string& a) { return a.find("token_invalid") != std::string::npos; }),
              alerts_.end());
  }
  // After the operator fixes the token and resumes, the message goes out.
  ASSERT_TRUE(channels_->SetPaused(AuditActor::System(), channel_, "").ok());
  ASSERT_TRUE(store_->outbound().RescheduleJob(r->message.id, 0, 0).ok());  // skip the pause's wait
  EXPECT_TRUE(ReachesState(r->message.id, "read"));
  EXPECT_EQ(SandboxAccepted(), 1);
}

// covers: F-02, F-13, F-12
TEST_F(MessagingTest, ATimeoutAfterSendingIsUnknownAndNeverResent) {
  DispatcherOptions o;
  o.http_timeout_ms = 300;
  StartDispatcher(o);
  // The sandbox accepts the message, but answers after the gateway gave up.
  Control("POST", "/_sandbox/faults", R"({"delay_ms":800,"count":1})");
  auto r = Send(TemplateTo(kPhone));
  ASSERT_TRUE(r.ok());
  // The status webhooks carry our tag, so the unknown outcome is reconciled.
  EXPECT_TRUE(ReachesState(r->message.id, "read"));
  EXPECT_FALSE(Get(r->message.id).wamid_hash.empty());
  EXPECT_EQ(SandboxAccepted(), 1);
  EXPECT_EQ(dispatcher_->stats().unknown.load(), 1);
  EXPECT_EQ(dispatcher_->stats().retried.load(), 0);
}

// The sandbox dies mid-run and comes back (as a provider outage would):
// every message reaches Meta at most once, and every one whose outcome is
// known reaches it exactly once.
TEST_F(MessagingTest, TheProviderRestartingMidRunDuplicatesNothing) {
  DispatcherOptions o;
  o.threads = 2;
  StartDispatcher(o);
  std::vector<std::string> ids;
  for (int i = 0; i < 60; ++i) {
    auto r = Send(TemplateTo("49176" + std::to_string(20000000 + i)));
    ASSERT_TRUE(r.ok());
    ids.push_back(r->message.id);
  }
  ASSERT_TRUE(WaitFor([&] { return SandboxAccepted() >= 10; }));
  std::string first_run = Control("GET", "/_sandbox/messages");
  sandbox_->Stop();
  sandbox_listener_.reset();  // connections drop; the port is gone
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  first_run = first_run.size() > Control("GET", "/_sandbox/messages").size() ? first_run : Control("GET", "/_sandbox/messages");
  sandbox_ = CreateSandbox(sandbox_options_, clock_);
  sandbox_->Start();
  sandbox_listener_ = std::make_unique<Listener>([this](const HttpRequest& req) { return sandbox_->Handle(req); });
  ChannelSpec spec;
  spec.tenant_id = "ten_a";
  spec.graph_base_url = sandbox_listener_->url();
  spec.access_token = SecretString(kToken);
  spec.app_secret = SecretString(kAppSecret);
  spec.verify_token = SecretString("verify-me");
  ASSERT_TRUE(channels_->Update(AuditActor::System(), channel_.id, spec).ok());
  ASSERT_TRUE(WaitFor([&] { return store_->outbound().CountJobs().value() == 0; }, 30000));
  std::string second_run = Control("GET", "/_sandbox/messages");
  int unknown = 0;
  for (const std::string& id : ids) {
    auto count = [&](const std::string& text) {
      int n = 0;
      for (size_t pos = text.find("cs:" + id); pos != std::string::npos; pos = text.find("cs:" + id, pos + 1)) ++n;
      return n;
    };
    int total = count(first_run) + count(second_run);
    EXPECT_LE(total, 1) << id;
    MessageRecord m = Get(id);
    if (m.state == "unknown") {
      ++unknown;
    } else if (count(second_run) == 1) {
      EXPECT_TRUE(ReachesState(id, "read")) << id << " " << Get(id).state;
    } else {
      // Accepted before the outage: its status webhooks died with the
      // provider, so it stays submitted (with Meta's id), never resent.
      EXPECT_EQ(total, 1) << id << " " << m.state;
      EXPECT_FALSE(m.wamid_hash.empty()) << id;
      EXPECT_FALSE(m.wamid_sealed.empty()) << id;
    }
  }
  EXPECT_LE(unknown, 4);  // at most the requests in flight when it died
}

// covers: CONS-04, F-24
// A 1,000-message campaign queued under active consents; one subject
// withdraws before the queue drains: 999 are delivered, that one never.
TEST_F(MessagingTest, ACampaignQueuedBeforeAWithdrawalNeverReachesThatSubject) {
  ConsentService consent(*store_, *commits_, ledger_, clock_);
  MessageService gated(*store_, *commits_, *keyring_, ledger_, clock_, random_, Chain(&consent));
  // The dispatcher started below reads `consent`: stop it before `consent`
  // goes away, on every path out of this test (ASan found the race).
  struct OnExit {
    std::function<void()> run;
    ~OnExit() { run(); }
  } stop_dispatcher_first{[this] {
    if (dispatcher_) dispatcher_->Stop();
  }};
  const AuditActor actor{"integration", "key_test", "test", ""};
  Purpose marketing;
  marketing.tenant_id = "ten_a";
  marketing.id = "marketing";
  marketing.name = "offers";
  marketing.legal_basis = "consent";
  marketing.category = "MARKETING";
  marketing.confirmation_template = "consent_request";
  ASSERT_TRUE(consent.DefinePurpose(actor, marketing).ok());
  ASSERT_TRUE(consent.RegisterTemplate(actor, TemplateRecord{"ten_a", "spring_sale", "en_US", "MARKETING", "marketing", true, 0}).ok());
  // A fast number, and a sandbox that allows it.
  sandbox_->Stop();
  sandbox_options_.throughput_per_second = 1000;
  sandbox_ = CreateSandbox(sandbox_options_, clock_);
  sandbox_->Start();
  ChannelSpec spec;
  spec.tenant_id = "ten_a";
  spec.graph_base_url = sandbox_listener_->url();
  spec.throughput_per_second = 1000;
  spec.access_token = SecretString(kToken);
  spec.app_secret = SecretString(kAppSecret);
  spec.verify_token = SecretString("verify-me");
  ASSERT_TRUE(channels_->Update(AuditActor::System(), channel_.id, spec).ok());

  const int n = 1000, k = 437;
  std::vector<std::string> ids, subjects;
  for (int i = 0; i < n; ++i) {
    std::string number = "49176" + std::to_string(40000000 + i);
    auto subject = keyring_->Pseudonym("ten_a", "+" + number);
    ASSERT_TRUE(subject.ok());
    ConsentRecord c;
    c.tenant_id = "ten_a";
    c.subject = *subject;
    c.purpose_id = "marketing";
    c.state = "active";
    ASSERT_TRUE(store_->consents().PutConsent(c, 0).ok());
    auto body = ParseJson(R"({"messaging_product":"whatsapp","to":")" + number +
                          R"(","type":"template","template":{"name":"spring_sale","language":{"code":"en_US"},"components":[{"type":"body","parameters":[{"type":"text","text":"10%"}]}]}})");
    SendRequest r;
    r.tenant_id = "ten_a";
    r.actor = actor;
    r.body = &*body;
    auto sent = gated.Send(r);
    ASSERT_TRUE(sent.ok()) << sent.status().ToString();
    EXPECT_EQ(sent->message.purpose_id, "marketing");
    ids.push_back(sent->message.id);
    subjects.push_back(*subject);
  }
  // Not consented: refused at acceptance, nothing queued.
  auto stranger = ParseJson(R"({"messaging_product":"whatsapp","to":"4917699999999","type":"template","template":{"name":"spring_sale","language":{"code":"en_US"},"components":[{"type":"body","parameters":[{"type":"text","text":"x"}]}]}})");
  SendRequest sr;
  sr.tenant_id = "ten_a";
  sr.actor = actor;
  sr.body = &*stranger;
  EXPECT_EQ(gated.Send(sr).status().machine_code(), "consent_required");
  ASSERT_TRUE(consent.Withdraw(actor, "ten_a", subjects[k], "marketing", "api_withdrawal").ok());

  DispatcherOptions o;
  dispatcher_ = std::make_unique<Dispatcher>(*store_, *commits_, *keyring_, *channels_, ledger_, clock_, random_,
                                             consent, o, [](const std::string&) {});
  dispatcher_->Start();
  ASSERT_TRUE(WaitFor([&] { return store_->outbound().CountJobs().value() == 0; }, 60000));
  EXPECT_EQ(SandboxAccepted(), n - 1);
  MessageRecord refused = Get(ids[k]);
  EXPECT_EQ(refused.state, "failed");
  EXPECT_EQ(refused.error_code, "consent_required");
  EXPECT_EQ(dispatcher_->stats().consent_refused.load(), 1);
  EXPECT_EQ(std::string(Control("GET", "/_sandbox/messages")).find("cs:" + ids[k]), std::string::npos);
  // A client retrying an accepted send with its Idempotency-Key gets the
  // original answer, even though the consent is gone now (F-20 before CONS-03).
  auto retry_body = ParseJson(R"({"messaging_product":"whatsapp","to":"49176)" + std::to_string(40000000 + k) +
                              R"(","type":"template","template":{"name":"spring_sale","language":{"code":"en_US"},"components":[{"type":"body","parameters":[{"type":"text","text":"keyed"}]}]}})");
  SendRequest keyed;
  keyed.tenant_id = "ten_a";
  keyed.actor = actor;
  keyed.body = &*retry_body;
  keyed.idempotency_key = "campaign-retry";
  Notice notice;
  notice.tenant_id = "ten_a";
  notice.version = "1";
  notice.language = "en";
  notice.text = "How ten_a uses your number.";
  notice.info_message = "How we use your data: https://a.example/privacy";
  ASSERT_TRUE(consent.notices().Publish(actor, notice).ok());
  ASSERT_TRUE(consent.Register(actor, "ten_a", subjects[k], "marketing",
                               ConsentEvidence{"web_form", "x", "1", "en", "", clock_.NowUnixMillis() - 10}, false)
                  .ok());
  EXPECT_EQ(gated.Send(keyed).status().machine_code(), "consent_required");  // first attempt: refused, nothing stored
  ConsentRecord again = *store_->consents().GetConsent("ten_a", subjects[k], "marketing").value();
  again.state = "active";
  ASSERT_TRUE(store_->consents().PutConsent(again, again.version).ok());
  consent.Forget("ten_a", subjects[k]);
  auto accepted = gated.Send(keyed);
  ASSERT_TRUE(accepted.ok());
  ASSERT_TRUE(consent.Withdraw(actor, "ten_a", subjects[k], "marketing", "api_withdrawal").ok());
  auto replayed = gated.Send(keyed);
  ASSERT_TRUE(replayed.ok()) << replayed.status().ToString();
  EXPECT_TRUE(replayed->replayed);
  EXPECT_EQ(replayed->message.id, accepted->message.id);
}

// covers: B-07
TEST_F(MessagingTest, StatusesOnlyMoveForwardInEveryOrder) {
  std::vector<std::string> statuses = {"sent", "delivered", "read", "failed"};
  std::sort(statuses.begin(), statuses.end());
  auto rank = [](const std::string& s) {
    if (s == "accepted") return 0;
    if (s == "sent") return 1;
    if (s == "failed") return 2;
    if (s == "delivered") return 3;
    return 4;  // read
  };
  int orders = 0;
  do {
    auto r = Send(TemplateTo(kPhone));
    ASSERT_TRUE(r.ok());
    MessageRecord m = Get(r->message.id);
    const std::string wamid = "wamid.order" + std::to_string(orders);
    m.wamid_hash = keyring_->ProviderIdToken(m.tenant_id, wamid).value();
    ASSERT_TRUE(store_->outbound().UpdateMessage(m).ok());
    int last = 0;
    std::string seen;
    for (size_t i = 0; i < statuses.size(); ++i) {
      WebhookOutcome o = Deliver(StatusBody(wamid, statuses[i], 1771420388 + static_cast<int64_t>(i)));
      ASSERT_TRUE(o.accepted());
      std::string state = Get(m.id).state;
      EXPECT_GE(rank(state), last) << "order " << orders << " step " << i;
      last = rank(state);
      seen += statuses[i] + " ";
      // failed is final only while no delivered or read was seen.
      bool positive = seen.find("delivered") != std::string::npos || seen.find("read") != std::string::npos;
      if (seen.find("failed") != std::string::npos && !positive) {
        EXPECT_EQ(state, "failed") << seen;
      }
    }
    EXPECT_EQ(Get(m.id).state, "read") << seen;
    auto events = store_->outbound().StatusEvents(m.id);
    ASSERT_TRUE(events.ok());
    EXPECT_EQ(events->size(), 4u);  // each stored with its provider timestamp
    ++orders;
  } while (std::next_permutation(statuses.begin(), statuses.end()));
  EXPECT_EQ(orders, 24);
}

// covers: W-01, B-05, B-06
TEST_F(MessagingTest, ForgedUnsignedTamperedAndReplayedWebhooks) {
  std::string body = whatsapp::WebhookEnvelope(
      "100000000000001", "messages",
      std::string(R"({"messaging_product":"whatsapp","metadata":{"phone_number_id":"100000000000002"},"contacts":[{"profile":{"name":"J"},"wa_id":")") +
          kPhone + R"("}],"messages":[{"from":")" + kPhone +
          R"(","id":"wamid.IN1","timestamp":"1771423555","type":"text","text":{"body":"Grüße"}}]})");
  EXPECT_EQ(receiver_->Receive(channel_.id, nullptr, body, {}).refusal.code(), StatusCode::kUnauthenticated);
  std::string forged = whatsapp::HubSignature("wrong-secret", body);
  EXPECT_EQ(receiver_->Receive(channel_.id, &forged, body, {}).error_code, "signature_mismatch");
  std::string good = whatsapp::HubSignature(kAppSecret, body);
  std::string tampered = body;
  tampered.replace(tampered.find("wamid.IN1"), 9, "wamid.IN2");
  EXPECT_EQ(receiver_->Receive(channel_.id, &good, tampered, {}).refusal.code(), StatusCode::kUnauthenticated);
  std::string malformed = "sha256=xyz";
  EXPECT_EQ(receiver_->Receive(channel_.id, &malformed, body, {}).error_code, "signature_malformed");
  EXPECT_EQ(Inbound(), 0);  // nothing parsed or stored

  WebhookOutcome first = Deliver(body);
  EXPECT_TRUE(first.accepted());
  EXPECT_EQ(first.messages, 1);
  WebhookOutcome replay = Deliver(body);
  EXPECT_TRUE(replay.accepted());
  EXPECT_EQ(replay.duplicates, 1);
  // The same message in another envelope (with a sibling) is still one.
  std::string other = whatsapp::WebhookEnvelope(
      "100000000000001", "messages",
      std::string(R"({"messaging_product":"whatsapp","metadata":{"phone_number_id":"100000000000002"},"messages":[{"from":")") +
          kPhone + R"(","id":"wamid.IN1","timestamp":"1771423555","type":"text","text":{"body":"Grüße"}},{"from":")" +
          kPhone + R"(","id":"wamid.IN3","timestamp":"1771423556","type":"sticker","sticker":{"id":"9"}}]})");
  WebhookOutcome mixed = Deliver(other);
  EXPECT_EQ(mixed.messages, 1);
  EXPECT_EQ(mixed.duplicates, 1);
  EXPECT_EQ(Inbound(), 2);
}

// Replacing the Meta app secret loses no webhook: deliveries signed with
// the previous secret verify during the overlap, and not after it ends.
// covers: SEC-03, W-01
TEST_F(MessagingTest, AReplacedAppSecretKeepsVerifyingForItsOverlapOnly) {
  auto body = [&](int n) {
    return whatsapp::WebhookEnvelope(
        "100000000000001", "messages",
        std::string(R"({"messaging_product":"whatsapp","metadata":{"phone_number_id":"100000000000002"},"messages":[{"from":")") +
            kPhone + R"(","id":"wamid.ROT)" + std::to_string(n) + R"(","timestamp":"1771423555","type":"text","text":{"body":"hi"}}]})");
  };
  auto deliver = [&](const std::string& secret, int n) {
    const std::string b = body(n);
    const std::string sig = whatsapp::HubSignature(secret, b);
    return receiver_->Receive(channel_.id, &sig, b, {});
  };
  ChannelService other(*store_, *keyring_, ledger_, clock_, random_);  // another process, cache warm
  ASSERT_TRUE(other.Secrets(channel_).ok());
  auto replace = [&](const std::string& secret, int64_t overlap) {
    ChannelSpec spec;
    spec.tenant_id = "ten_a";
    spec.graph_base_url = sandbox_listener_->url();
    spec.access_token = SecretString(kToken);
    spec.app_secret = SecretString(secret);
    spec.verify_token = SecretString("verify-me");
    spec.app_secret_overlap_seconds = overlap;
    auto updated = channels_->Update(AuditActor::System(), channel_.id, spec);
    EXPECT_TRUE(updated.ok()) << updated.status().ToString();
    return updated.ok() ? *updated : Channel{};
  };
  Channel rotated = replace("new-secret", 3600);
  EXPECT_GT(rotated.previous_app_secret_until_ms, clock_.NowUnixMillis() + 3500 * 1000);
  EXPECT_NE(ChannelJson(rotated).find("previous_app_secret_accepted_until"), std::string::npos);
  EXPECT_TRUE(deliver(kAppSecret, 1).accepted());    // signed before the change
  EXPECT_TRUE(deliver("new-secret", 2).accepted());
  EXPECT_EQ(deliver("someone-else", 3).error_code, "signature_mismatch");
  // The other process sees the stored change, not its cached secret.
  auto fresh = other.Secrets(*store_->channels().GetChannel("ten_a", channel_.id));
  ASSERT_TRUE(fresh.ok());
  EXPECT_EQ(InsecureSecretAccess::Get((*fresh)->app_secret), "new-secret");
  // Re-sending the same secret is not a rotation: the overlap stays.
  EXPECT_EQ(replace("new-secret", 3600).previous_app_secret_until_ms, rotated.previous_app_secret_until_ms);

  // No overlap: the replaced secret ends at once (a leaked secret).
  replace("newest-secret", 0);
  EXPECT_EQ(deliver("new-secret", 4).error_code, "signature_mismatch");
  EXPECT_EQ(deliver(kAppSecret, 5).error_code, "signature_mismatch");
  EXPECT_TRUE(deliver("newest-secret", 6).accepted());
  EXPECT_EQ(Inbound(), 3);
  ChannelSpec bad;
  bad.tenant_id = "ten_a";
  bad.graph_base_url = sandbox_listener_->url();
  bad.access_token = SecretString(kToken);
  bad.app_secret = SecretString("x");
  bad.verify_token = SecretString("v");
  bad.app_secret_overlap_seconds = 8 * 86400;
  EXPECT_EQ(channels_->Update(AuditActor::System(), channel_.id, bad).status().machine_code(), "invalid_field");
  // The audit trail says a secret was replaced, never which.
  AuditQuery q;
  q.tenant_id = "ten_a";
  q.action = "channel.update";
  auto updates = store_->audit().Query(q);
  ASSERT_TRUE(updates.ok());
  ASSERT_EQ(updates->size(), 3u);
  EXPECT_NE(updates->front().details.find(R"("app_secret_replaced":true)"), std::string::npos);
  for (const AuditRecord& r : *updates) EXPECT_EQ(r.details.find("secret\":\"new"), std::string::npos);
}

// A burst of bad signatures on a channel raises one alert per minute.
// covers: W-01, AUD-01
TEST_F(MessagingTest, ABurstOfBadSignaturesRaisesOneAlert) {
  std::vector<std::pair<std::string, int64_t>> alerts;
  receiver_->SetSignatureFailureAlert(3, [&](const std::string& channel, int64_t n) { alerts.emplace_back(channel, n); });
  const std::string body = StatusBody("wamid.X", "delivered", 1771420388);
  const std::string forged = whatsapp::HubSignature("not-the-secret", body);
  for (int i = 0; i < 2; ++i) EXPECT_EQ(receiver_->Receive(channel_.id, &forged, body, {}).refusal.code(), StatusCode::kUnauthenticated);
  EXPECT_TRUE(alerts.empty());
  EXPECT_EQ(receiver_->Receive(channel_.id, nullptr, body, {}).refusal.code(), StatusCode::kUnauthenticated);  // missing counts too
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0], std::make_pair(channel_.id, int64_t{3}));
  for (int i = 0; i < 5; ++i) receiver_->Receive(channel_.id, &forged, body, {});
  EXPECT_EQ(alerts.size(), 1u);  // once per minute
  // Good deliveries and unknown channels do not count.
  EXPECT_TRUE(Deliver(body).accepted());
  EXPECT_EQ(receiver_->Receive("chn_000000000000000000000000", &forged, body, {}).refusal.code(), StatusCode::kNotFound);
  EXPECT_EQ(alerts.size(), 1u);
}

// covers: B-08, B-09, B-11
TEST_F(MessagingTest, UnroutableAndUnreadableDeliveriesAreQuarantined) {
  // A status for a wamid nobody sent.
  WebhookOutcome unknown = Deliver(StatusBody("wamid.NOBODY", "delivered", 1771420388));
  EXPECT_TRUE(unknown.accepted());
  EXPECT_EQ(unknown.quarantined, 1);
  // A message for a number no channel (of this tenant) has.
  ChannelSpec other;
  other.tenant_id = "ten_b";
  other.phone_number_id = "200000000000002";
  other.waba_id = "200000000000001";
  other.graph_base_url = "https://graph.facebook.com";
  other.access_token = SecretString("t");
  other.app_secret = SecretString("s");
  other.verify_token = SecretString("v");
  ASSERT_TRUE(channels_->Create(AuditActor::System(), other).ok());
  std::string foreign = whatsapp::WebhookEnvelope(
      "1", "messages",
      R"({"metadata":{"phone_number_id":"200000000000002"},"messages":[{"from":"4917600000000","id":"wamid.F","timestamp":"1","type":"text","text":{"body":"x"}}]})");
  WebhookOutcome f = Deliver(foreign);
  EXPECT_TRUE(f.accepted());
  EXPECT_EQ(f.quarantined, 1);
  EXPECT_EQ(store_->inbound().CountInbound("ten_b").value(), 0);
  // Signed but not JSON: kept sealed, acknowledged so Meta stops retrying.
  WebhookOutcome garbage = Deliver("{\"object\": truncated");
  EXPECT_TRUE(garbage.accepted());
  EXPECT_EQ(garbage.quarantined, 1);
  // A template review of another tenant's business account (an app shared
  // by tenants) is kept aside, never applied to this tenant's templates.
  const std::string review =
      R"({"message_template_id":1,"message_template_name":"order_shipped","message_template_language":"en_US","event":"PAUSED","reason":"NONE"})";
  WebhookOutcome theirs = Deliver(whatsapp::WebhookEnvelope("200000000000001", "message_template_status_update", review));
  EXPECT_TRUE(theirs.accepted());
  EXPECT_EQ(theirs.quarantined, 1);
  WebhookOutcome ours = Deliver(whatsapp::WebhookEnvelope("100000000000001", "message_template_status_update", review));
  EXPECT_EQ(ours.quarantined, 0);
  EXPECT_EQ(store_->inbound().CountQuarantined().value(), 4);
  EXPECT_EQ(Inbound(), 0);
}

// covers: W-02
TEST_F(MessagingTest, VerificationHandshake) {
  WebhookOutcome ok = receiver_->Verify(channel_.id, "subscribe", "verify-me", "1158201444");
  EXPECT_TRUE(ok.accepted());
  EXPECT_EQ(ok.body, "1158201444");
  EXPECT_EQ(receiver_->Verify(channel_.id, "subscribe", "wrong", "1158201444").refusal.code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(receiver_->Verify(channel_.id, "unsubscribe", "verify-me", "1").refusal.code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(receiver_->Verify(channel_.id, "subscribe", "verify-me", "<script>").refusal.code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(receiver_->Verify("chn_000000000000000000000000", "subscribe", "verify-me", "1").refusal.code(), StatusCode::kPermissionDenied);
}

// A company system receiving forwarded events.
struct Receiver {
  std::mutex mu;
  std::vector<HttpRequest> requests;
  std::atomic<int> status{200};
  Listener listener{[this](const HttpRequest& req) {
    {
      std::lock_guard lock(mu);
      requests.push_back(req);
    }
    HttpResponse r;
    r.status = status.load();
    return r;
  }};
  size_t Count() {
    std::lock_guard lock(mu);
    return requests.size();
  }
  std::vector<HttpRequest> Take() {
    std::lock_guard lock(mu);
    return requests;
  }
};

// covers: MIN-03, W-04, B-05
TEST_F(MessagingTest, EventsAreForwardedPseudonymisedSignedAndOnce) {
  Receiver company;
  UrlPolicy policy{{"127.0.0.1"}};
  SubscriberService subscribers(*store_, *keyring_, ledger_, clock_, random_, policy);
  SubscriberSpec spec;
  spec.tenant_id = "ten_a";
  spec.url = company.listener.url() + "/whatsapp-events";
  auto created = subscribers.Create(AuditActor::System(), spec);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  const std::string secret(InsecureSecretAccess::Get(created->secret));
  ForwarderOptions fo;
  fo.idle_poll_ms = 5;
  Forwarder forwarder(*store_, *keyring_, clock_, policy, fo);
  forwarder.Start();
  StartDispatcher();

  UserWrites("forward canary 3344");
  ASSERT_TRUE(WaitFor([&] { return company.Count() >= 1; }));
  auto subject = keyring_->Pseudonym("ten_a", std::string("+") + kPhone);
  ASSERT_TRUE(subject.ok());
  {
    HttpRequest first = company.Take().front();
    EXPECT_EQ(first.body.find(kPhone), std::string::npos);
    EXPECT_EQ(first.body.find("forward canary"), std::string::npos);  // content only when allowed
    EXPECT_NE(first.body.find(*subject), std::string::npos) << first.body;
    EXPECT_NE(first.body.find(R"("type":"text")"), std::string::npos);
    EXPECT_TRUE(whatsapp::VerifyHubSignature(secret, *first.Header("x-hub-signature-256"), first.body).ok());
    const std::string& ts = *first.Header("x-gateway-timestamp");
    EXPECT_TRUE(whatsapp::VerifyHubSignature(secret, *first.Header("x-gateway-signature"), ts + "." + first.body).ok());
    EXPECT_EQ(first.Header("x-gateway-event-id")->rfind("evt_", 0), 0u);
  }
  // Statuses of a sent message carry the gateway's id, never our tag.
  auto sent = Send(TemplateTo(kPhone));
  ASSERT_TRUE(sent.ok());
  ASSERT_TRUE(ReachesState(sent->message.id, "read"));
  ASSERT_TRUE(WaitFor([&] { return company.Count() >= 4; }));
  int statuses = 0;
  for (const HttpRequest& r : company.Take()) {
    if (r.body.find(R"("statuses")") == std::string::npos) continue;
    ++statuses;
    EXPECT_NE(r.body.find(R"("id":")" + sent->message.id + "\""), std::string::npos) << r.body;
    EXPECT_EQ(r.body.find("cs:msg_"), std::string::npos);
    EXPECT_EQ(r.body.find(kPhone), std::string::npos);
  }
  EXPECT_EQ(statuses, 3);
  // A replayed delivery forwards nothing more (B-05: one forwarded webhook).
  std::string value = std::string(R"({"messaging_product":"whatsapp","metadata":{"phone_number_id":"100000000000002"},"messages":[{"from":")") +
                      kPhone + R"(","id":"wamid.ONCE","timestamp":"1771423555","type":"text","text":{"body":"x"}}]})";
  std::string body = whatsapp::WebhookEnvelope("100000000000001", "messages", value);
  ASSERT_EQ(Deliver(body).messages, 1);
  ASSERT_TRUE(WaitFor([&] { return company.Count() >= 5; }));
  ASSERT_EQ(Deliver(body).duplicates, 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(company.Count(), 5u);
  forwarder.Stop();
}

// The forms in which a phone number can hide in stored or sent bytes: the
// digits, their hex, and their base64 at each of the three alignments (a
// wamid is base64 of bytes around them), standard and URL-safe.
std::vector<std::string> NumberForms(const std::string& digits) {
  std::vector<std::string> forms = {digits, HexEncode(digits)};
  std::string upper = HexEncode(digits);
  std::transform(upper.begin(), upper.end(), upper.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  forms.push_back(upper);
  for (size_t pad = 0; pad < 3; ++pad) {
    const std::string bytes = std::string(pad, '\x01') + digits;
    std::string b64(4 * ((bytes.size() + 2) / 3), '\0');
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64.data()),
                                  reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
    b64.resize(static_cast<size_t>(n));
    // Only the groups made of the number's digits alone.
    const size_t from = pad == 0 ? 0 : 4, to = 4 * (bytes.size() / 3);
    std::string middle = b64.substr(from, to - from);
    forms.push_back(middle);
    std::string url = middle;
    std::replace(url.begin(), url.end(), '+', '-');
    std::replace(url.begin(), url.end(), '/', '_');
    if (url != middle) forms.push_back(url);
  }
  return forms;
}

// The id of the sandbox's message that carries our tag for `message_id`.
std::string WamidOf(const std::string& sandbox_messages, const std::string& message_id) {
  Result<JsonValue> j = ParseJson(sandbox_messages);
  if (!j.ok()) return "";
  for (const JsonValue& m : j->Find("messages")->as_array()) {
    if (ToJson(*m.Find("body")).find("cs:" + message_id) != std::string::npos) return m.Find("id")->as_string();
  }
  return "";
}

// Meta's ids carry the number in base64: a subscriber without clear
// identifiers gets the gateway's ids for every one of them (the message,
// the message a reply quotes, the one a reaction is for, statuses), and
// a subscriber with them gets Meta's id beside the gateway's.
// covers: MIN-03, MIN-02
TEST_F(MessagingTest, ForwardedEventsCarryNoIdThatDecodesToTheNumber) {
  Receiver minimised, clear;
  SubscriberSpec spec;
  spec.include_content = true;
  ASSERT_TRUE(Subscribe(minimised.listener.url() + "/events", spec).ok());
  spec.clear_phone_numbers = true;
  ASSERT_TRUE(Subscribe(clear.listener.url() + "/events", spec).ok());
  std::unique_ptr<Forwarder> forwarder = StartForwarder();
  StartDispatcher();

  UserWrites("first words");
  auto sent = Send(TemplateTo(kPhone));
  ASSERT_TRUE(sent.ok());
  ASSERT_TRUE(ReachesState(sent->message.id, "read"));
  const std::string wamid = WamidOf(Control("GET", "/_sandbox/messages"), sent->message.id);
  ASSERT_FALSE(wamid.empty());
  // The customer replies to the template, and reacts to it.
  const std::string reply = Control("POST", "/_sandbox/inbound",
                                    std::string(R"({"from":")") + kPhone + R"(","type":"text","text":{"body":"thanks"},)" +
                                        R"("context":{"from":"15550000000","id":")" + wamid + R"("}})");
  Control("POST", "/_sandbox/inbound",
          std::string(R"({"from":")") + kPhone + R"(","type":"reaction","reaction":{"message_id":")" + wamid +
              R"(","emoji":"👍"}})");
  // …and quotes its own message: that one is named by the id it was forwarded under.
  ASSERT_TRUE(WaitFor([&] { return Inbound() >= 3; }));
  Control("POST", "/_sandbox/inbound",
          std::string(R"({"from":")") + kPhone + R"(","type":"text","text":{"body":"as I said"},"context":{"from":")" +
              kPhone + R"(","id":")" + ParseJson(reply)->Find("id")->as_string() + R"("}})");
  // A user known only by a business-scoped id and a username.
  const std::string bsuid_value =
      R"({"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550000000","phone_number_id":"100000000000002"},)"
      R"("contacts":[{"profile":{"name":"Una","username":"@una"},"user_id":"DE.8172000000000001","parent_user_id":"DE.ENT.77"}],)"
      R"("messages":[{"from_user_id":"DE.8172000000000001","from_parent_user_id":"DE.ENT.77","id":"wamid.BSUIDONLY1","timestamp":"1771423555","type":"text","text":{"body":"hi"}}]})";
  ASSERT_EQ(Deliver(whatsapp::WebhookEnvelope("100000000000001", "messages", bsuid_value)).messages, 1);
  // 5 messages and 3 statuses each.
  ASSERT_TRUE(WaitFor([&] { return minimised.Count() >= 8 && clear.Count() >= 8; })) << minimised.Count();

  auto subject = keyring_->Pseudonym("ten_a", std::string("+") + kPhone);
  auto bsuid_subject = keyring_->Pseudonym("ten_a", "bsuid:DE.8172000000000001");
  ASSERT_TRUE(subject.ok() && bsuid_subject.ok());
  std::string all_minimised, all_clear;
  for (const HttpRequest& r : minimised.Take()) all_minimised += r.body + "\n";
  for (const HttpRequest& r : clear.Take()) all_clear += r.body + "\n";
  // Forwarded bodies use Meta's escaping: "/" (in base64) is sent as "\/".
  for (std::string* text : {&all_minimised, &all_clear}) {
    for (size_t at = text->find("\\/"); at != std::string::npos; at = text->find("\\/", at)) text->erase(at, 1);
  }
  EXPECT_EQ(all_minimised.find("wamid."), std::string::npos) << all_minimised;
  for (const std::string& form : NumberForms(kPhone)) {
    EXPECT_EQ(all_minimised.find(form), std::string::npos) << form << "\n" << all_minimised;
  }
  EXPECT_EQ(all_minimised.find("DE.8172"), std::string::npos);
  EXPECT_EQ(all_minimised.find("@una"), std::string::npos);
  // The reply quotes the template under its gateway id; the reaction names it so too.
  EXPECT_NE(all_minimised.find(R"("context":{"from":"15550000000","id":")" + sent->message.id + "\""), std::string::npos)
      << all_minimised;
  EXPECT_NE(all_minimised.find(R"("reaction":{"message_id":")" + sent->message.id + "\""), std::string::npos)
      << all_minimised;
  EXPECT_NE(all_minimised.find(R"("from_user_id":")" + *bsuid_subject + "\""), std::string::npos) << all_minimised;
  {
    // The customer's own quoted message: its forwarded id, and the pseudonym as who wrote it.
    const size_t thanks = all_minimised.find(R"("text":{"body":"thanks"})");
    ASSERT_NE(thanks, std::string::npos);
    const size_t id_at = all_minimised.rfind(R"("id":"inm_)", thanks);
    ASSERT_NE(id_at, std::string::npos);
    const std::string thanks_id = all_minimised.substr(id_at + 6, 28);
    EXPECT_NE(all_minimised.find(R"("context":{"from":")" + *subject + R"(","id":")" + thanks_id + "\""),
              std::string::npos)
        << thanks_id << "\n" << all_minimised;
  }
  // Received messages are named by the gateway's ids, which the history and replies accept.
  const std::string reply_wamid = ParseJson(reply)->Find("id")->as_string();
  EXPECT_EQ(all_clear.find(R"("id":")" + reply_wamid), std::string::npos) << "Meta's id in the id field";
  EXPECT_NE(all_clear.find(R"("wamid":")" + reply_wamid + "\""), std::string::npos) << all_clear;
  EXPECT_NE(all_clear.find(R"("id":"inm_)"), std::string::npos);
  EXPECT_NE(all_minimised.find(R"("id":"inm_)"), std::string::npos);
  // With clear identifiers: the number, Meta's ids beside the gateway's, the
  // business-scoped id and the username.
  EXPECT_NE(all_clear.find(R"("from":")" + std::string(kPhone) + "\""), std::string::npos);
  EXPECT_NE(all_clear.find(R"("id":")" + sent->message.id + R"(","wamid":")" + wamid + "\""), std::string::npos)
      << all_clear;
  EXPECT_NE(all_clear.find(R"("from_user_id":"DE.8172000000000001","from_parent_user_id":"DE.ENT.77")"),
            std::string::npos)
      << all_clear;
  EXPECT_NE(all_clear.find(R"("username":"@una")"), std::string::npos) << all_clear;
  EXPECT_NE(all_clear.find(R"("user_id":"DE.8172000000000001")"), std::string::npos) << all_clear;
  forwarder->Stop();

  // Nothing stored names Meta's ids in clear either: the database holds
  // their keyed hashes and sealed copies only.
  const std::string stored = AllBytesUnder(dir_);
  EXPECT_EQ(stored.find(wamid.substr(6, 20)), std::string::npos);
  EXPECT_EQ(stored.find(reply_wamid.substr(6, 20)), std::string::npos);
  EXPECT_EQ(stored.find("BSUIDONLY1"), std::string::npos);
}

// An integration replies, reacts and marks as read by the ids the gateway
// gave it (msg_…, inm_…): Meta gets its own ids for them. A reply to a
// message that never reached Meta is refused with a reason; one to a
// message still queued waits for it.
// covers: MIN-03
TEST_F(MessagingTest, RepliesReactionsAndReadReceiptsToTheGatewaysIdsReachMetaWithItsIds) {
  StartDispatcher();
  UserWrites("question");
  auto inbound = store_->history().ListInboundOfSubject("ten_a", keyring_->Pseudonym("ten_a", std::string("+") + kPhone).value(), 1);
  ASSERT_TRUE(inbound.ok() && inbound->size() == 1u);
  const std::string inm = inbound->front().id;
  const std::string to = std::string(R"("to":")") + kPhone + "\"";
  auto first = Send(R"({"messaging_product":"whatsapp",)" + to + R"(,"type":"text","text":{"body":"answer"}})");
  ASSERT_TRUE(first.ok());
  // Queued right behind it: the reply waits until the first has Meta's id.
  auto reply = Send(R"({"messaging_product":"whatsapp",)" + to + R"(,"context":{"message_id":")" + first->message.id +
                    R"("},"type":"text","text":{"body":"more"}})");
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  auto reaction = Send(R"({"messaging_product":"whatsapp",)" + to + R"(,"type":"reaction","reaction":{"message_id":")" +
                       inm + R"(","emoji":"👍"}})");
  ASSERT_TRUE(reaction.ok()) << reaction.status().ToString();
  auto read = Send(R"({"messaging_product":"whatsapp","status":"read","message_id":")" + inm + R"("})");
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_FALSE(read->message.subject.empty());  // the reader's subject: erased with them
  for (const auto& id : {first->message.id, reply->message.id, reaction->message.id}) {
    EXPECT_TRUE(ReachesState(id, "read")) << id << " " << Get(id).state << " " << Get(id).error_code;
  }
  EXPECT_TRUE(ReachesState(read->message.id, "accepted"));
  const std::string messages = Control("GET", "/_sandbox/messages");
  const std::string first_wamid = WamidOf(messages, first->message.id);
  ASSERT_FALSE(first_wamid.empty());
  Result<SecretString> opened = keyring_->Open("ten_a", inbound->front().wamid_sealed,
                                               FieldBinding{"ten_a", inbound->front().subject, inm, "wamid"});
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  const std::string inbound_wamid(InsecureSecretAccess::Get(*opened));
  ASSERT_EQ(inbound_wamid.rfind("wamid.", 0), 0u);
  EXPECT_NE(messages.find(R"("context":{"message_id":")" + first_wamid + "\""), std::string::npos) << messages;
  EXPECT_NE(messages.find(R"("reaction":{"message_id":")" + inbound_wamid + "\""), std::string::npos) << messages;
  EXPECT_NE(messages.find(R"("reads":[{"message_id":")" + inbound_wamid + "\""), std::string::npos) << messages;
  auto count = [&](const std::string& what) {
    size_t n = 0;
    for (size_t at = messages.find(what); at != std::string::npos; at = messages.find(what, at + 1)) ++n;
    return n;
  };
  EXPECT_EQ(count("msg_"), count("cs:msg_"));  // the gateway's ids only in its own tags
  EXPECT_EQ(messages.find(inm), std::string::npos);

  // Unknown, foreign or unresolvable ids are refused before anything is queued.
  auto unknown = Send(R"({"messaging_product":"whatsapp",)" + to +
                      R"(,"context":{"message_id":"msg_000000000000000000000000"},"type":"text","text":{"body":"x"}})");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().machine_code(), "unknown_message_reference");
  auto hashed = Send(R"({"messaging_product":"whatsapp",)" + to +
                     R"(,"context":{"message_id":"wam_00000000000000000000000000000000"},"type":"text","text":{"body":"x"}})");
  ASSERT_FALSE(hashed.ok());
  EXPECT_EQ(hashed.status().machine_code(), "reference_unavailable");
  // A message Meta refused cannot be replied to.
  Control("POST", "/_sandbox/faults", R"({"code":131026,"count":1})");
  auto doomed = Send(TemplateTo(kPhone));
  ASSERT_TRUE(doomed.ok());
  ASSERT_TRUE(ReachesState(doomed->message.id, "failed"));
  auto late = Send(R"({"messaging_product":"whatsapp",)" + to + R"(,"context":{"message_id":")" + doomed->message.id +
                   R"("},"type":"text","text":{"body":"x"}})");
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.status().machine_code(), "referenced_message_failed");
  EXPECT_NE(late.status().message().find(doomed->message.id), std::string::npos);
}

// A send Meta refuses at dispatch ends `failed`, and subscribers of
// statuses get it as Meta's failed status, with Meta's error object.
// covers: W-05
TEST_F(MessagingTest, AFailureAtDispatchIsForwardedWithMetasError) {
  Receiver company;
  SubscriberSpec spec;
  spec.events = {"statuses"};
  ASSERT_TRUE(Subscribe(company.listener.url() + "/events", spec).ok());
  std::unique_ptr<Forwarder> forwarder = StartForwarder();
  StartDispatcher();
  // A template whose parameters Meta does not accept (132000).
  auto sent = Send(TemplateTo(kPhone).substr(0, TemplateTo(kPhone).find(R"(,"components")")) + "}}");
  ASSERT_TRUE(sent.ok()) << sent.status().ToString();
  ASSERT_TRUE(ReachesState(sent->message.id, "failed"));
  ASSERT_TRUE(WaitFor([&] { return company.Count() >= 1; }));
  const std::string body = company.Take().front().body;
  Result<JsonValue> event = ParseJson(body);
  ASSERT_TRUE(event.ok()) << body;
  const JsonValue& status = event->Find("entry")->as_array()[0].Find("changes")->as_array()[0].Find("value")->Find(
      "statuses")->as_array()[0];
  EXPECT_EQ(status.Find("id")->as_string(), sent->message.id);
  EXPECT_EQ(status.Find("status")->as_string(), "failed");
  const JsonValue& error = status.Find("errors")->as_array()[0];
  EXPECT_EQ(error.Find("code")->as_int(), 132000);
  EXPECT_FALSE(error.Find("title")->as_string().empty());
  EXPECT_NE(error.Find("error_data")->Find("details")->as_string().find("parameters"), std::string::npos) << body;
  EXPECT_EQ(body.find(kPhone), std::string::npos);
  forwarder->Stop();
}

// A subscriber that answers after its timeout delays only itself: the
// others get their events at once, and its own are kept, not dropped.
TEST_F(MessagingTest, ASlowSubscriberDelaysOnlyItself) {
  Receiver fast;
  std::atomic<int> slow_calls{0};
  Listener slow{[&](const HttpRequest&) {
    ++slow_calls;
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    return HttpResponse{};
  }};
  UrlPolicy policy{{"127.0.0.1"}};
  SubscriberService subscribers(*store_, *keyring_, ledger_, clock_, random_, policy);
  SubscriberSpec spec;
  spec.tenant_id = "ten_a";
  spec.url = slow.url() + "/hangs";
  ASSERT_TRUE(subscribers.Create(AuditActor::System(), spec).ok());
  spec.url = fast.listener.url() + "/events";
  ASSERT_TRUE(subscribers.Create(AuditActor::System(), spec).ok());
  ForwarderOptions fo;
  fo.idle_poll_ms = 5;
  fo.timeout_ms = 500;
  fo.threads = 3;
  fo.backoff_base_ms = 60000;
  Forwarder forwarder(*store_, *keyring_, clock_, policy, fo);
  StartDispatcher();
  for (int i = 0; i < 6; ++i) UserWrites("event " + std::to_string(i));
  forwarder.Start();
  ASSERT_TRUE(WaitFor([&] { return fast.Count() >= 6 && forwarder.stats().retried.load() >= 1; }));
  forwarder.Stop();
  // The slow subscriber was tried once, by one worker; its other five events
  // wait out its cool-down, kept, neither tried nor dead.
  EXPECT_EQ(slow_calls.load(), 1);
  EXPECT_EQ(forwarder.stats().retried.load(), 1);
  EXPECT_EQ(forwarder.stats().dead.load(), 0);
  std::set<std::string> ids;
  for (const HttpRequest& r : fast.Take()) ids.insert(*r.Header("x-gateway-event-id"));
  EXPECT_EQ(ids.size(), 6u);  // each event once
}

// covers: CONS-10
TEST_F(MessagingTest, ASubjectWhoOptedOutOfSaleOrSharingIsNeverForwardedToASharingRecipient) {
  Receiver company, ad_partner;
  UrlPolicy policy{{"127.0.0.1"}};
  SubscriberService subscribers(*store_, *keyring_, ledger_, clock_, random_, policy);
  SubscriberSpec own;
  own.tenant_id = "ten_a";
  own.url = company.listener.url() + "/events";
  own.events = {"messages"};
  SubscriberSpec sharing;
  sharing.tenant_id = "ten_a";
  sharing.url = ad_partner.listener.url() + "/events";
  sharing.events = {"messages"};
  sharing.sale_or_sharing = true;
  ASSERT_TRUE(subscribers.Create(AuditActor::System(), own).ok());
  auto partner = subscribers.Create(AuditActor::System(), sharing);
  ASSERT_TRUE(partner.ok());
  EXPECT_TRUE(partner->subscriber.sale_or_sharing);
  ConsentService consent(*store_, *commits_, ledger_, clock_);
  auto subject = keyring_->Pseudonym("ten_a", std::string("+") + kPhone);
  ASSERT_TRUE(subject.ok());
  // Queued before the opt-out, delivered after it: still withheld (checked at delivery).
  UserWrites("before the opt-out");
  ASSERT_TRUE(consent.OptOutOfSaleSharing(AuditActor::System(), "ten_a", *subject, "gpc_signal", true).ok());
  UserWrites("after the opt-out");
  ForwarderOptions fo;
  fo.idle_poll_ms = 5;
  Forwarder forwarder(*store_, *keyring_, clock_, policy, fo);
  forwarder.Start();
  ASSERT_TRUE(WaitFor([&] { return company.Count() >= 2 && forwarder.stats().withheld.load() >= 2; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(ad_partner.Count(), 0u);
  EXPECT_EQ(company.Count(), 2u);  // the tenant's own systems still get both
  forwarder.Stop();
}

// covers: W-05
TEST_F(MessagingTest, UndeliverableEventsBecomeDeadLettersAndCanBeRequeued) {
  Receiver company;
  company.status = 500;
  UrlPolicy policy{{"127.0.0.1"}};
  SubscriberService subscribers(*store_, *keyring_, ledger_, clock_, random_, policy);
  SubscriberSpec spec;
  spec.tenant_id = "ten_a";
  spec.url = company.listener.url() + "/hook";
  spec.events = {"messages"};
  auto created = subscribers.Create(AuditActor::System(), spec);
  ASSERT_TRUE(created.ok());
  ForwarderOptions fo;
  fo.idle_poll_ms = 5;
  fo.backoff_base_ms = 20;
  fo.backoff_max_ms = 50;
  // Long enough for a second attempt even when a loaded machine (sanitizer
  // builds, tests in parallel) makes the first one late.
  fo.give_up_after_ms = 3000;
  Forwarder forwarder(*store_, *keyring_, clock_, policy, fo);
  forwarder.Start();
  UserWrites();
  ASSERT_TRUE(WaitFor([&] { return store_->outbox().CountOutbox("dead").value() == 1; }));
  EXPECT_GE(company.Count(), 2u);  // retried before giving up
  auto dead = store_->outbox().DeadLetters("ten_a", created->subscriber.id, 10);
  ASSERT_TRUE(dead.ok());
  ASSERT_EQ(dead->size(), 1u);
  EXPECT_EQ(dead->front().last_error, "http_500");
  company.status = 200;
  size_t before = company.Count();
  ASSERT_TRUE(subscribers.Requeue(AuditActor::System(), "ten_a", dead->front().id).ok());
  ASSERT_TRUE(WaitFor([&] { return store_->outbox().CountOutbox("pending").value() == 0 &&
                                   store_->outbox().CountOutbox("dead").value() == 0; }));
  EXPECT_EQ(company.Count(), before + 1);
  // Private or plain-http URLs outside the allow-list are refused at creation.
  spec.url = "http://10.0.0.5/hook";
  EXPECT_EQ(subscribers.Create(AuditActor::System(), spec).status().machine_code(), "url_not_allowed");
  forwarder.Stop();
}

// MIN-01 on the inbound side: no conversation history. The body of an
// inbound message goes after messaging.inbound_body_seconds, the body of an
// event waiting to be forwarded after messaging.forward_body_ttl_seconds
// (it becomes a dead letter "expired" that cannot be requeued); metadata stays.
// covers: MIN-01
TEST_F(MessagingTest, InboundAndForwardBodiesAreDeletedAfterTheirRetention) {
  UrlPolicy policy{{"127.0.0.1"}};
  SubscriberService subscribers(*store_, *keyring_, ledger_, clock_, random_, policy);
  SubscriberSpec spec;
  spec.tenant_id = "ten_a";
  spec.url = "https://127.0.0.1:1/hook";  // nobody there, and no forwarder running: the event waits
  spec.events = {"messages"};
  auto created = subscribers.Create(AuditActor::System(), spec);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  UserWrites("history canary 8080");
  const std::string subject = keyring_->Pseudonym("ten_a", std::string("+") + kPhone).value();
  const auto sealed = SealedInbound(subject);
  ASSERT_EQ(sealed.size(), 1u);
  ASSERT_EQ(store_->outbox().CountOutbox("pending").value(), 1);
  const int64_t now = clock_.NowUnixMillis();
  // Younger than the retention: kept.
  EXPECT_EQ(*store_->history().PurgeInboundBodies(now - 300'000), 0);
  EXPECT_EQ(*store_->outbox().ExpireOutboxBodies(now - 86'400'000, now), 0);
  // Older: gone, and their bytes with them (secure_delete).
  EXPECT_EQ(*store_->history().PurgeInboundBodies(now + 1), 1);
  EXPECT_EQ(*store_->outbox().ExpireOutboxBodies(now + 1, now), 1);
  EXPECT_EQ(*store_->history().PurgeInboundBodies(now + 1), 0);  // once
  EXPECT_EQ(Inbound(), 1);                                          // the metadata stays
  auto stored = store_->inbound().GetInbound("ten_a", sealed[0].first);
  ASSERT_TRUE(stored.ok());
  EXPECT_TRUE(stored->payload_sealed.empty());
  auto dead = store_->outbox().DeadLetters("ten_a", created->subscriber.id, 10);
  ASSERT_TRUE(dead.ok());
  ASSERT_EQ(dead->size(), 1u);
  EXPECT_EQ(dead->front().last_error, "expired");
  EXPECT_TRUE(dead->front().payload_sealed.empty());
  EXPECT_EQ(subscribers.Requeue(AuditActor::System(), "ten_a", dead->front().id).machine_code(), "body_expired");
  ASSERT_TRUE(store_->Checkpoint().ok());
  const std::string all = AllBytesUnder(dir_);
  EXPECT_EQ(all.find(sealed[0].second.substr(18, 24)), std::string::npos);  // not even the ciphertext
}

// covers: MIN-02, MIN-01
TEST_F(MessagingTest, NoPhoneNumberMessageTextOrSecretIsStoredInTheClear) {
  StartDispatcher();
  UserWrites("inbound canary text 7391");
  auto r = Send(std::string(R"({"messaging_product":"whatsapp","to":")") + kPhone +
                R"(","text":{"body":"outbound canary text 4422"}})");
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(ReachesState(r->message.id, "read"));
  // Once Meta accepted it, the sealed body is gone too (MIN-01).
  EXPECT_TRUE(Get(r->message.id).payload_sealed.empty());
  dispatcher_->Stop();
  sandbox_->Stop();
  // Checkpoint the WAL so every byte is in files we read.
  const std::string all = AllBytesUnder(dir_);
  ASSERT_GT(all.size(), 10000u);
  for (const std::string& canary : {std::string(kPhone), std::string("outbound canary text 4422"),
                                    std::string("inbound canary text 7391"), std::string(kToken),
                                    std::string(kAppSecret), std::string("verify-me")}) {
    EXPECT_EQ(all.find(canary), std::string::npos) << canary;
  }
}


// Content protection on the WhatsApp path, with the real scanner.
class ContentProtectionTest : public MessagingTest {
 protected:
  void SetUp() override {
    MessagingTest::SetUp();
    auto scanner = scan::Scanner::Create();
    ASSERT_TRUE(scanner.ok());
    scanner_ = std::move(scanner).value();
    guard_ = std::make_unique<ContentGuard>(*scanner_, *store_, ledger_, clock_);
    messages_ = std::make_unique<MessageService>(*store_, *commits_, *keyring_, ledger_, clock_, random_,
                                                 Chain(nullptr, guard_.get()));
    receiver_ = std::make_unique<WebhookReceiver>(*store_, *commits_, *keyring_, *channels_, ledger_, clock_, random_,
                                                  Receiving(nullptr, guard_.get()), *messages_);
  }

  std::vector<AuditRecord> Audit(const std::string& action) {
    AuditQuery q;
    q.tenant_id = "ten_a";
    q.action = action;
    q.limit = 100;
    auto r = store_->audit().Query(q);
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : std::vector<AuditRecord>{};
  }

  std::string SentBodies() { return Control("GET", "/_sandbox/messages"); }

  // A subscriber that sees message content, and the forwarder that serves it.
  std::unique_ptr<Forwarder> ForwardWithContentTo(Receiver& company) {
    SubscriberSpec spec;
    spec.include_content = true;
    if (!Subscribe(company.listener.url() + "/events", spec).ok()) return nullptr;
    return StartForwarder();
  }


  std::unique_ptr<scan::Scanner> scanner_;
  std::unique_ptr<ContentGuard> guard_;
};

// covers: CHAN-04, SEN-05, B-38
TEST_F(ContentProtectionTest, OutboundCardsAndIbansAreRefusedBeforeAnythingIsStored) {
  UserWrites();
  const int64_t accepted = SandboxAccepted();
  auto card = Send(std::string(R"({"messaging_product":"whatsapp","to":")") + kPhone +
                   R"(","text":{"body":"your card 4111 1111 1111 1111 is on file"}})");
  ASSERT_FALSE(card.ok());
  EXPECT_EQ(card.status().machine_code(), "sensitive_identifier");
  EXPECT_NE(card.status().message().find("card in text.body"), std::string::npos) << card.status().message();
  EXPECT_EQ(card.status().message().find("4111"), std::string::npos);
  // In a template parameter too.
  auto iban = Send(TemplateTo(kPhone, "DE89 3704 0044 0532 0130 00"));
  ASSERT_FALSE(iban.ok());
  EXPECT_EQ(iban.status().machine_code(), "sensitive_identifier");
  EXPECT_NE(iban.status().message().find("template.components[0].parameters[0].text"), std::string::npos)
      << iban.status().message();
  // Nothing queued, nothing sent; the refusal is audited without the value.
  EXPECT_EQ(store_->outbound().CountJobs().value(), 0);
  EXPECT_EQ(SandboxAccepted(), accepted);
  std::vector<AuditRecord> refused = Audit("send.refused");
  ASSERT_EQ(refused.size(), 2u);
  EXPECT_EQ(refused[0].outcome, "sensitive_identifier");
  EXPECT_NE(refused[0].details.find(R"("type":"card")"), std::string::npos) << refused[0].details;
  EXPECT_NE(refused[0].details.find(R"("action":"refuse")"), std::string::npos);
  for (const AuditRecord& r : refused) {
    EXPECT_EQ(r.details.find("4111"), std::string::npos);
    EXPECT_EQ(r.details.find("3704"), std::string::npos);
  }
}

// covers: CHAN-04, SEN-02
TEST_F(ContentProtectionTest, TheTenantPolicyMasksOrRefusesOtherTypes) {
  UserWrites();
  StartDispatcher();
  // Cards cannot be relaxed; other types follow the tenant.
  EXPECT_EQ(scan::ContentPolicy::FromJson(R"({"outbound":{"card":"mask"}})").status().machine_code(),
            "card_policy_fixed");
  auto policy = scan::ContentPolicy::FromJson(R"({"outbound":{"email":"mask","health":"refuse"}})");
  ASSERT_TRUE(policy.ok());
  ASSERT_TRUE(guard_->SetPolicy("ten_a", AuditActor::System(), *policy).ok());
  EXPECT_EQ(Audit("content.policy_set").size(), 1u);
  auto masked = Send(std::string(R"({"messaging_product":"whatsapp","to":")") + kPhone +
                     R"(","text":{"body":"write to jane.doe@example.org"}})");
  ASSERT_TRUE(masked.ok()) << masked.status().ToString();
  ASSERT_TRUE(ReachesState(masked->message.id, "read"));
  const std::string sent = SentBodies();
  EXPECT_NE(sent.find("write to ****.***@*******.***"), std::string::npos) << sent;
  EXPECT_EQ(sent.find("jane.doe@example.org"), std::string::npos);
  auto phi = Send(std::string(R"({"messaging_product":"whatsapp","to":")") + kPhone +
                  R"(","text":{"body":"your insulin prescription is ready"}})");
  ASSERT_FALSE(phi.ok());
  EXPECT_EQ(phi.status().machine_code(), "channel_not_permitted_for_phi");
  // Another tenant keeps the defaults.
  auto other = guard_->PolicyFor("ten_b");
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->For(scan::Direction::kOutbound, scan::FindingType::kEmail), scan::Action::kAllow);
  ASSERT_TRUE(guard_->SetPolicy("ten_a", AuditActor::System(), std::nullopt).ok());
  EXPECT_EQ(guard_->PolicyFor("ten_a")->ToJson(), scan::ContentPolicy::Defaults().ToJson());
}

// covers: CHAN-04, SEN-05, B-38, MIN-02
TEST_F(ContentProtectionTest, InboundCardsAreMaskedBeforeStorageAndForwardingAndAnswered) {
  Receiver company;
  std::unique_ptr<Forwarder> forwarder = ForwardWithContentTo(company);
  ASSERT_TRUE(forwarder);
  StartDispatcher();

  // Through the sandbox, as a real user's message arrives (signed webhook).
  UserWrites("my card is 4111 1111 1111 1111, IBAN DE89370400440532013000, I have diabetes");
  ASSERT_TRUE(WaitFor([&] { return company.Count() >= 1; }));
  const std::string forwarded = company.Take().front().body;
  EXPECT_NE(forwarded.find("my card is 4111 11** **** 1111, IBAN DE****************3000, I have diabetes"),
            std::string::npos)
      << forwarded;
  EXPECT_NE(forwarded.find(R"("consentry":{"findings":[{"field":"text.body","type":"card")"), std::string::npos);
  EXPECT_NE(forwarded.find(R"("type":"health","start":68,"end":76,"action":"flag")"), std::string::npos) << forwarded;
  EXPECT_EQ(forwarded.find("4111 1111 1111 1111"), std::string::npos);
  EXPECT_EQ(forwarded.find("DE89370400440532013000"), std::string::npos);

  // The tenant is told (no digits), and the customer gets the neutral reply.
  std::vector<AuditRecord> pan = Audit("content.pan_received");
  ASSERT_EQ(pan.size(), 1u);
  EXPECT_EQ(pan[0].outcome, "masked");
  EXPECT_EQ(Audit("content.phi_flagged").size(), 1u);
  std::vector<AuditRecord> received = Audit("message.receive");
  ASSERT_EQ(received.size(), 1u);
  EXPECT_NE(received[0].details.find(R"("type":"card")"), std::string::npos);
  EXPECT_EQ(received[0].details.find("4111"), std::string::npos);
  ASSERT_TRUE(WaitFor([&] { return SentBodies().find("removed the card number") != std::string::npos; }));
  EXPECT_NE(SentBodies().find("Reply STOP to stop receiving messages."), std::string::npos);  // CONS-07

  // Stored: the sealed inbound body holds the masked text only; on disk, no trace of the card.
  forwarder->Stop();
  dispatcher_->Stop();
  sandbox_->Stop();
  const std::string all = AllBytesUnder(dir_);
  for (const std::string& canary : {std::string("4111 1111 1111 1111"), std::string("4111111111111111"),
                                    std::string("DE89370400440532013000")}) {
    EXPECT_EQ(all.find(canary), std::string::npos) << canary;
  }
}

// covers: CHAN-04
TEST_F(ContentProtectionTest, QuarantinedBodiesHaveTheirCardsMasked) {
  // Signed but unreadable: kept for an operator, without the card number.
  WebhookOutcome o = Deliver(R"({"object":"whatsapp_business_account","note":"4111 1111 1111 1111" truncated)");
  EXPECT_TRUE(o.accepted());
  EXPECT_EQ(o.quarantined, 1);
  // Read the row as an operator's tool would: straight from the database.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2((dir_ + "/consentry.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT body_sealed FROM quarantine", -1, &st, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  const std::string sealed(static_cast<const char*>(sqlite3_column_blob(st, 0)),
                           static_cast<size_t>(sqlite3_column_bytes(st, 0)));
  sqlite3_finalize(st);
  sqlite3_close(db);
  auto opened = keyring_->Open("ten_a", sealed, FieldBinding{"ten_a", "", "quarantine", "body"});
  ASSERT_TRUE(opened.ok());
  const std::string body(InsecureSecretAccess::Get(*opened));
  EXPECT_NE(body.find("4111 11** **** 1111"), std::string::npos) << body;
}


// covers: B-38
TEST(SplitCardDetectorTest, JoinsTwoPartsOfOneCustomerWithinAMinute) {
  SplitCardDetector d;
  EXPECT_FALSE(d.Match("ch/sub_a", "my card: 4111 1111", 1000));
  d.Remember("ch/sub_a", "inm_1", "my card: 4111 1111", false, 1000);
  // Matching changes nothing: a failed or duplicate delivery can ask again.
  auto split = d.Match("ch/sub_a", "1111 1111 thanks", 5000);
  ASSERT_TRUE(split.has_value());
  EXPECT_TRUE(d.Match("ch/sub_a", "1111 1111 thanks", 5000).has_value());
  EXPECT_EQ(split->previous_inbound_id, "inm_1");
  EXPECT_EQ(split->lead_start, 0u);
  EXPECT_EQ(split->lead_end, 9u);
  d.Remember("ch/sub_a", "inm_2", "**** **** thanks", true, 5000);
  EXPECT_FALSE(d.Match("ch/sub_a", "1111 1111", 6000));  // completed: forgotten
  // Another customer, too late, or digits that do not make a card: nothing.
  d.Remember("ch/sub_a", "inm_3", "4111 1111", false, 10000);
  EXPECT_FALSE(d.Match("ch/sub_b", "1111 1111", 11000));
  EXPECT_FALSE(d.Match("ch/sub_a", "1111 1111", 10000 + SplitCardDetector::kWindowMs + 1));
  d.Remember("ch/sub_c", "inm_6", "order 4111 1111", false, 1000);
  EXPECT_FALSE(d.Match("ch/sub_c", "1111 1112", 2000));  // fails Luhn
  EXPECT_EQ(SplitCardDetector::TrailingDigits("ref AB1234"), (std::pair<size_t, size_t>{0, 0}));
  EXPECT_EQ(SplitCardDetector::TrailingDigits("it is 5500 0000 "), (std::pair<size_t, size_t>{6, 15}));
}

// covers: B-38, CHAN-04
TEST_F(ContentProtectionTest, ACardSplitOverTwoMessagesIsMaskedInBoth) {
  Receiver company;
  std::unique_ptr<Forwarder> forwarder = ForwardWithContentTo(company);
  ASSERT_TRUE(forwarder);

  UserWrites("my card: 4111 1111");
  UserWrites("1111 1111 thanks");
  ASSERT_TRUE(WaitFor([&] { return company.Count() >= 2; }));
  const std::string second = company.Take()[1].body;
  EXPECT_NE(second.find(R"("body":"**** **** thanks")"), std::string::npos) << second;
  EXPECT_NE(second.find(R"("type":"card","detail":"split")"), std::string::npos) << second;
  std::vector<AuditRecord> pan = Audit("content.pan_received");
  ASSERT_EQ(pan.size(), 1u);
  EXPECT_EQ(pan[0].details, R"({"split":true})");
  forwarder->Stop();

  // Both stored copies hold masked digits only.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2((dir_ + "/consentry.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT id, subject, payload_sealed FROM inbound_messages ORDER BY received_at_ms",
                               -1, &st, nullptr),
            SQLITE_OK);
  std::vector<std::string> bodies;
  while (sqlite3_step(st) == SQLITE_ROW) {
    const std::string id(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)));
    const std::string subject(reinterpret_cast<const char*>(sqlite3_column_text(st, 1)));
    const std::string sealed(static_cast<const char*>(sqlite3_column_blob(st, 2)),
                             static_cast<size_t>(sqlite3_column_bytes(st, 2)));
    auto opened = keyring_->Open("ten_a", sealed, FieldBinding{"ten_a", subject, id, "payload"});
    ASSERT_TRUE(opened.ok());
    bodies.emplace_back(InsecureSecretAccess::Get(*opened));
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  ASSERT_EQ(bodies.size(), 2u);
  EXPECT_NE(bodies[0].find(R"("body":"my card: **** ****")"), std::string::npos) << bodies[0];
  EXPECT_NE(bodies[1].find(R"("body":"**** **** thanks")"), std::string::npos) << bodies[1];
}


// Erasure by crypto-shredding (issue 5).
// The keyring's caches live on the injected monotonic clock: the wall clock
// set back an hour or forward a day changes nothing, thirty seconds passing
// do, so a content key another process rotated is picked up then.
// covers: F-19
TEST_F(MessagingTest, KeyCachesFollowTheMonotonicClockNotTheWallClock) {
  FakeClock clock(1'800'000'000'000);
  TenantKeyring mine(*store_, *kms_, random_, clock);
  TenantKeyring other(*store_, *kms_, random_, clock);  // another gateway process
  auto version = [&] {
    Result<std::string> sealed = mine.Seal("ten_a", "x", FieldBinding{"ten_a", "", "rec", "field"});
    EXPECT_TRUE(sealed.ok());
    if (!sealed.ok() || sealed->size() < 6) return 0u;
    uint32_t v = 0;
    for (int i = 2; i < 6; ++i) v = (v << 8) | static_cast<unsigned char>((*sealed)[static_cast<size_t>(i)]);
    return static_cast<unsigned>(v);
  };
  ASSERT_EQ(version(), 1u);
  ASSERT_EQ(*other.RotateContentKey("ten_a", ledger_, AuditActor{"operator", "cli:test", "cli", ""}), 2u);
  EXPECT_EQ(version(), 1u);  // cached
  clock.JumpWallMillis(-3'600'000);
  EXPECT_EQ(version(), 1u);
  clock.JumpWallMillis(86'400'000 + 3'600'000);
  EXPECT_EQ(version(), 1u);
  clock.AdvanceMillis((TenantKeyring::kTenantKeyCacheSeconds + 1) * 1000);
  EXPECT_EQ(version(), 2u);
}

// The gateway's send chain is whole or the gateway does not start: a
// chain that lacks any required stage (or names one twice) is refused when
// it is built, so no check can silently stop running.
TEST_F(MessagingTest, ASendChainMissingARequiredStageIsRefused) {
  ConsentService consent(*store_, *commits_, ledger_, clock_);
  auto scanner = scan::Scanner::Create();
  ASSERT_TRUE(scanner.ok());
  ContentGuard guard(**scanner, *store_, ledger_, clock_);
  Result<SendChain> whole = SendChain::ForGateway(*store_, clock_, consent, guard, true);
  ASSERT_TRUE(whole.ok()) << whole.status().ToString();
  EXPECT_EQ(whole->names(), (std::vector<std::string_view>{"service_window", "consent", "references", "documents",
                                                          "content"}));
  const std::vector<std::string_view> required(std::begin(SendChain::kRequired), std::end(SendChain::kRequired));
  for (size_t missing = 0; missing < required.size(); ++missing) {
    std::vector<std::unique_ptr<const SendStage>> stages;
    auto add = [&](std::string_view name, std::unique_ptr<const SendStage> stage) {
      if (name != required[missing]) stages.push_back(std::move(stage));
    };
    add("service_window", ServiceWindowStage(*store_, clock_));
    add("consent", ConsentStage(consent));
    add("references", ReferenceStage(*store_));
    add("documents", DocumentStage(*store_, true));
    add("content", ContentStage(guard));
    Result<SendChain> chain = SendChain::Build(std::move(stages), required);
    ASSERT_FALSE(chain.ok()) << required[missing];
    EXPECT_EQ(chain.status().machine_code(), "policy_stage_missing");
    EXPECT_NE(chain.status().message().find(std::string(required[missing])), std::string::npos);
  }
  std::vector<std::unique_ptr<const SendStage>> twice;
  twice.push_back(ReferenceStage(*store_));
  twice.push_back(ReferenceStage(*store_));
  EXPECT_EQ(SendChain::Build(std::move(twice), {}).status().machine_code(), "policy_stage_duplicated");
}

// The same for what arrives: a receive chain without content protection
// or without consent handling is refused when built, so a gateway cannot
// start that would store card numbers or ignore a STOP.
TEST_F(MessagingTest, AReceiveChainMissingARequiredStageIsRefused) {
  ConsentService consent(*store_, *commits_, ledger_, clock_);
  auto scanner = scan::Scanner::Create();
  ASSERT_TRUE(scanner.ok());
  ContentGuard guard(**scanner, *store_, ledger_, clock_);
  Result<ReceiveChain> whole = ReceiveChain::ForGateway(consent, guard);
  ASSERT_TRUE(whole.ok()) << whole.status().ToString();
  EXPECT_EQ(whole->names(), (std::vector<std::string_view>{"content", "consent"}));
  const std::vector<std::string_view> required(std::begin(ReceiveChain::kRequired), std::end(ReceiveChain::kRequired));
  for (std::string_view missing : required) {
    std::vector<std::unique_ptr<const ReceiveStage>> stages;
    if (missing != "content") stages.push_back(ContentReceiveStage(guard));
    if (missing != "consent") stages.push_back(ConsentReceiveStage(consent));
    Result<ReceiveChain> chain = ReceiveChain::Build(std::move(stages), required);
    ASSERT_FALSE(chain.ok()) << missing;
    EXPECT_EQ(chain.status().machine_code(), "policy_stage_missing");
    EXPECT_NE(chain.status().message().find(std::string(missing)), std::string::npos);
  }
  std::vector<std::unique_ptr<const ReceiveStage>> twice;
  twice.push_back(ConsentReceiveStage(consent));
  twice.push_back(ConsentReceiveStage(consent));
  EXPECT_EQ(ReceiveChain::Build(std::move(twice), {}).status().machine_code(), "policy_stage_duplicated");
}

class ErasureTest : public MessagingTest {
 protected:
  void Writes(const std::string& from, const std::string& text) {
    const int64_t before = Inbound();
    Control("POST", "/_sandbox/inbound",
            R"({"from":")" + from + R"(","type":"text","text":{"body":")" + text + R"("}})");
    ASSERT_TRUE(WaitFor([&] { return Inbound() > before; }));
  }

  std::string Subject(const std::string& digits) { return keyring_->Pseudonym("ten_a", "+" + digits).value(); }

  std::vector<AuditRecord> Audit(const std::string& action) {
    AuditQuery q;
    q.tenant_id = "ten_a";
    q.action = action;
    auto r = store_->audit().Query(q);
    return r.ok() ? *r : std::vector<AuditRecord>{};
  }
};

// Tenant content-key rotation while data keeps being sealed: every
// ciphertext from before, during and after still opens, in this process
// and in another one whose cache only knew the old version; the re-wrap
// moves every subject key to the new version.
// covers: SEC-03, SEC-02
TEST_F(ErasureTest, ATenantKeyRotatesUnderLoadAndEverythingStillOpens) {
  Writes(kPhone, "before rotation 1111");
  const std::string a = Subject(kPhone);
  const auto inbound = SealedInbound(a);
  ASSERT_EQ(inbound.size(), 1u);
  const FieldBinding tenant_field{"ten_a", "", "rec", "secret"};
  auto v1_blob = keyring_->Seal("ten_a", "tenant secret v1", tenant_field);
  ASSERT_TRUE(v1_blob.ok());
  EXPECT_EQ(*CiphertextKeyVersion(*v1_blob), 1u);
  TenantKeyring other(*store_, *kms_, random_);  // another gateway process, cache warm on version 1
  ASSERT_TRUE(other.Open("ten_a", *v1_blob, tenant_field).ok());

  std::atomic<bool> stop{false};
  std::mutex mu;
  std::vector<std::pair<std::string, std::string>> written;  // (subject, ciphertext)
  std::thread load([&] {
    for (int i = 0; !stop.load() || i < 50; ++i) {
      const std::string subject = "sub_load" + std::to_string(i);
      auto blob = keyring_->Seal("ten_a", "load " + std::to_string(i), FieldBinding{"ten_a", subject, "rec", "f"});
      ASSERT_TRUE(blob.ok()) << blob.status().ToString();
      std::lock_guard lock(mu);
      written.emplace_back(subject, *blob);
    }
  });
  auto version = keyring_->RotateContentKey("ten_a", ledger_, AuditActor{"operator", "cli:test", "cli", ""});
  ASSERT_TRUE(version.ok()) << version.status().ToString();
  EXPECT_EQ(*version, 2u);
  auto first = keyring_->RewrapSubjectKeys("ten_a");
  stop = true;
  load.join();
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  // A second run moves what was created under a view read before the rotation.
  auto second = keyring_->RewrapSubjectKeys("ten_a");
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->raced, 0);
  auto by_version = store_->vault().CountSubjectKeysByWrappingVersion("ten_a");
  ASSERT_TRUE(by_version.ok());
  ASSERT_EQ(by_version->size(), 1u);
  EXPECT_EQ(by_version->begin()->first, 2u);
  EXPECT_EQ(by_version->begin()->second, static_cast<int64_t>(written.size()) + 1);

  // New tenant-level data is sealed under version 2; the other process
  // opens it (it reloads on a version it does not know) and the old one.
  auto v2_blob = keyring_->Seal("ten_a", "tenant secret v2", tenant_field);
  EXPECT_EQ(*CiphertextKeyVersion(*v2_blob), 2u);
  for (TenantKeyring* k : {keyring_.get(), &other}) {
    EXPECT_EQ(InsecureSecretAccess::Get(*k->Open("ten_a", *v1_blob, tenant_field)), "tenant secret v1");
    EXPECT_EQ(InsecureSecretAccess::Get(*k->Open("ten_a", *v2_blob, tenant_field)), "tenant secret v2");
    EXPECT_TRUE(k->Open("ten_a", inbound[0].second, FieldBinding{"ten_a", a, inbound[0].first, "payload"}).ok());
  }
  TenantKeyring cold(*store_, *kms_, random_);  // a process started after the rotation
  for (size_t i = 0; i < written.size(); ++i) {
    const auto& [subject, blob] = written[i];
    auto opened = cold.Open("ten_a", blob, FieldBinding{"ten_a", subject, "rec", "f"});
    ASSERT_TRUE(opened.ok()) << i << ": " << opened.status().ToString();
  }
  EXPECT_EQ(keyring_->ContentKeyVersions("ten_a")->live, (std::vector<uint32_t>{1, 2}));
  EXPECT_EQ(Audit("keys.rotate_tenant").size(), 1u);
  // Another tenant is untouched.
  auto b_blob = keyring_->Seal("ten_b", "b", FieldBinding{"ten_b", "", "rec", "secret"});
  EXPECT_EQ(*CiphertextKeyVersion(*b_blob), 1u);
  // A version the tenant does not have is a clear error.
  std::string forged = *v2_blob;
  forged[5] = 9;
  EXPECT_EQ(keyring_->Open("ten_a", forged, tenant_field).status().machine_code(), "wrong_key_version");
}

// An old content-key version retires only when nothing uses it: no subject
// key, no channel or subscriber secret, and no backup or quarantined body
// young enough to need it. After that, what it sealed is a clear error.
// covers: SEC-03
TEST_F(ErasureTest, AnOldTenantKeyVersionRetiresOnlyWhenNothingUsesIt) {
  const AuditActor actor{"operator", "cli:test", "cli", ""};
  Writes(kPhone, "retire canary");
  const std::string a = Subject(kPhone);
  const auto inbound = SealedInbound(a);
  ASSERT_EQ(inbound.size(), 1u);
  const FieldBinding kept_binding{"ten_a", "", "rec", "old"};
  auto v1_blob = keyring_->Seal("ten_a", "sealed under v1", kept_binding);  // a copy kept elsewhere
  ASSERT_EQ(*keyring_->RotateContentKey("ten_a", ledger_, actor), 2u);
  auto retire = [&](uint32_t v, int64_t min_age_ms) {
    return keyring_->RetireContentKey("ten_a", v, min_age_ms, clock_, ledger_, actor).machine_code();
  };
  EXPECT_EQ(retire(2, 0), "version_current");
  EXPECT_EQ(retire(1, 0), "version_in_use");  // the subject key and the channel secrets
  ASSERT_TRUE(keyring_->RewrapSubjectKeys("ten_a").ok());
  EXPECT_EQ(retire(1, 0), "version_in_use");  // the channel secrets
  auto resealed = keyring_->ResealTenantFields("ten_a");
  ASSERT_TRUE(resealed.ok()) << resealed.status().ToString();
  EXPECT_EQ(*resealed, 3);  // access token, app secret, verify token
  EXPECT_EQ(retire(1, 35LL * 86'400'000), "version_in_backups");
  ASSERT_EQ(retire(1, 0), "");
  EXPECT_EQ(retire(1, 0), "not_found");  // already retired

  // Everything in use still opens, in this process and in a fresh one.
  TenantKeyring cold(*store_, *kms_, random_);
  for (TenantKeyring* k : {keyring_.get(), &cold}) {
    EXPECT_TRUE(k->Open("ten_a", inbound[0].second, FieldBinding{"ten_a", a, inbound[0].first, "payload"}).ok());
    auto old = k->Open("ten_a", *v1_blob, kept_binding);
    EXPECT_EQ(old.status().machine_code(), "key_version_retired");
  }
  ChannelService fresh_channels(*store_, cold, ledger_, clock_, random_);
  auto secrets = fresh_channels.Secrets(*store_->channels().GetChannel("ten_a", channel_.id));
  ASSERT_TRUE(secrets.ok()) << secrets.status().ToString();
  EXPECT_EQ(InsecureSecretAccess::Get((*secrets)->app_secret), kAppSecret);
  EXPECT_TRUE(Deliver(StatusBody("wamid.AFTER", "delivered", 1771420388)).accepted());
  // The retired version is never made again: the next one is 3.
  EXPECT_EQ(*keyring_->RotateContentKey("ten_a", ledger_, actor), 3u);
  auto versions = keyring_->ContentKeyVersions("ten_a");
  EXPECT_EQ(versions->live, (std::vector<uint32_t>{2, 3}));
  EXPECT_EQ(versions->retired, (std::vector<uint32_t>{1}));
  EXPECT_EQ(Audit("keys.retire_tenant").size(), 1u);
  // Master-key rotation passes over the retired version.
  auto next_kms = CreateLocalKms(SecretString(std::string(32, 'n')), random_);
  auto rewrapped = RewrapTenantKeys(*store_, *kms_, *next_kms, ledger_, actor);
  ASSERT_TRUE(rewrapped.ok()) << rewrapped.status().ToString();
}

// covers: F-03, DSR-05
TEST_F(ErasureTest, ErasureShredsTheSubjectAndLeavesTheRestOfTheTenant) {
  const std::string other_phone = "4917600000001";
  Writes(kPhone, "erase canary 5151");
  Writes(other_phone, "keep me 6262");
  const std::string a = Subject(kPhone), b = Subject(other_phone);
  // Queued but not sent (no dispatcher): the erasure cancels it.
  auto queued = Send(std::string(R"({"messaging_product":"whatsapp","to":")") + kPhone +
                     R"(","text":{"body":"queued canary 7373"}})");
  ASSERT_TRUE(queued.ok()) << queued.status().ToString();
  const auto before = SealedInbound(a);  // a copy, as a backup would hold it
  ASSERT_EQ(before.size(), 1u);
  ASSERT_TRUE(keyring_->Open("ten_a", before[0].second, FieldBinding{"ten_a", a, before[0].first, "payload"}).ok());

  const std::string wrapped_key = *(*store_->vault().GetSubjectKey("ten_a", a))->wrapped;
  ASSERT_NE(AllBytesUnder(dir_).find(wrapped_key), std::string::npos);
  ErasureService erasure(*store_, *keyring_, nullptr, ledger_, clock_, random_);
  auto done = erasure.Erase("ten_a", a, AuditActor{"integration", "key_dpo", "test", ""});
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_EQ(done->step, "done");
  EXPECT_EQ(done->details, R"({"inbound_messages":1,"outbound_payloads":1,"cancelled_sends":1,"forwarded_events":0})");

  // Every copy of the subject's data is unreadable, with a clear error.
  auto shredded = keyring_->Open("ten_a", before[0].second, FieldBinding{"ten_a", a, before[0].first, "payload"});
  ASSERT_FALSE(shredded.ok());
  EXPECT_EQ(shredded.status().machine_code(), "subject_erased");
  EXPECT_TRUE(SealedInbound(a).empty());
  EXPECT_FALSE((*store_->vault().GetSubjectKey("ten_a", a))->wrapped.has_value());
  // Not in the database file, nor in its write-ahead log (secure_delete, checkpoint).
  EXPECT_EQ(AllBytesUnder(dir_).find(wrapped_key), std::string::npos);
  MessageRecord cancelled = Get(queued->message.id);
  EXPECT_EQ(cancelled.state, "failed");
  EXPECT_EQ(cancelled.error_code, "subject_erased");
  EXPECT_TRUE(cancelled.payload_sealed.empty());
  EXPECT_EQ(store_->outbound().CountJobs().value(), 0);
  // The rest of the tenant is untouched.
  const auto kept = SealedInbound(b);
  ASSERT_EQ(kept.size(), 1u);
  auto readable = keyring_->Open("ten_a", kept[0].second, FieldBinding{"ten_a", b, kept[0].first, "payload"});
  ASSERT_TRUE(readable.ok());
  EXPECT_NE(std::string(InsecureSecretAccess::Get(*readable)).find("keep me 6262"), std::string::npos);
  // On the record, without personal data.
  ASSERT_EQ(Audit("subject.erase_requested").size(), 1u);
  ASSERT_EQ(Audit("subject.erase").size(), 1u);
  EXPECT_EQ(Audit("subject.erase")[0].subject, a);

  // The same person writing again starts afresh under a new key; the old data stays shredded.
  Writes(kPhone, "new conversation");
  const auto fresh = SealedInbound(a);
  ASSERT_EQ(fresh.size(), 1u);
  EXPECT_TRUE(keyring_->Open("ten_a", fresh[0].second, FieldBinding{"ten_a", a, fresh[0].first, "payload"}).ok());
  EXPECT_EQ((*store_->vault().GetSubjectKey("ten_a", a))->generation, 2);
  EXPECT_EQ(keyring_->Open("ten_a", before[0].second, FieldBinding{"ten_a", a, before[0].first, "payload"})
                .status()
                .machine_code(),
            "subject_erased");
  // Moved to another subject's place, a ciphertext does not open either.
  EXPECT_FALSE(keyring_->Open("ten_a", kept[0].second, FieldBinding{"ten_a", a, kept[0].first, "payload"}).ok());
  EXPECT_EQ(erasure.Erase("ten_a", "sub_nothex", AuditActor::System()).status().machine_code(), "invalid_subject");
}

// A first message's subject key costs no transaction of its own: it is
// stored by the transaction that stores the message, and only then. When
// another writer stored a different key first, that key wins and what was
// sealed under the losing one commits nothing.
// covers: SEC-02
TEST_F(ErasureTest, ANewSubjectsKeyIsStoredWithItsFirstMessageAndARacingKeyWins) {
  const std::string subject = Subject("4917600000077");
  const FieldBinding first{"ten_a", subject, "inm_first", "payload"};
  TenantKeyring::NewSubjectKeys created;
  auto sealed = keyring_->SealDeferred("ten_a", "first words", first, created);
  ASSERT_TRUE(sealed.ok()) << sealed.status().ToString();
  ASSERT_EQ(created.size(), 1u);
  EXPECT_FALSE(store_->vault().GetSubjectKey("ten_a", subject)->has_value());  // nothing written yet
  // The same customer again (another message of the batch): the same key, listed once.
  ASSERT_TRUE(keyring_->SealDeferred("ten_a", "second", FieldBinding{"ten_a", subject, "inm_second", "payload"}, created).ok());
  EXPECT_EQ(created.size(), 1u);
  EXPECT_TRUE(keyring_->Open("ten_a", *sealed, first).ok());
  // Two units of one batch storing it is fine.
  ASSERT_TRUE(store_->InTransaction([&](StoreTransaction& tx) -> Status {
                       CS_RETURN_IF_ERROR(keyring_->StoreSubjectKeys(tx, created));
                       return keyring_->StoreSubjectKeys(tx, created);
                     }).ok());
  keyring_->SubjectKeysStored(created);
  EXPECT_EQ((*store_->vault().GetSubjectKey("ten_a", subject))->wrapped, created[0]->record.wrapped);
  TenantKeyring other(*store_, *kms_, random_);  // another process: only the stored key
  EXPECT_TRUE(other.Open("ten_a", *sealed, first).ok());

  // A race: this process makes a key in memory, another one stores its own first.
  const std::string raced = Subject("4917600000078");
  const FieldBinding mine_binding{"ten_a", raced, "inm_mine", "payload"};
  TenantKeyring::NewSubjectKeys mine;
  auto lost = keyring_->SealDeferred("ten_a", "mine", mine_binding, mine);
  ASSERT_TRUE(lost.ok());
  ASSERT_TRUE(other.Seal("ten_a", "theirs", FieldBinding{"ten_a", raced, "inm_theirs", "payload"}).ok());
  Status conflict = store_->InTransaction([&](StoreTransaction& tx) { return keyring_->StoreSubjectKeys(tx, mine); });
  EXPECT_EQ(conflict.machine_code(), "subject_key_conflict");
  keyring_->DropUnstored(mine);
  TenantKeyring::NewSubjectKeys again;
  auto retried = keyring_->SealDeferred("ten_a", "mine", mine_binding, again);
  ASSERT_TRUE(retried.ok());
  EXPECT_TRUE(again.empty());  // sealed under the stored key: nothing left to store
  EXPECT_TRUE(other.Open("ten_a", *retried, mine_binding).ok());
  EXPECT_FALSE(other.Open("ten_a", *lost, mine_binding).ok());
}

// Conversation history is off by default and turned on per tenant with a
// purpose, a legal basis and a retention: bodies of both directions are then
// kept that long, read back under the subject's pseudonym (never the
// number), every read on record; turned off, they go at the next purge.
// covers: MIN-01, RET-01, RET-02, MIN-02, AUD-01
TEST_F(ErasureTest, ConversationHistoryKeepsBodiesOnlyWhileTheTenantHasItOn) {
  HistoryService history(*store_, *keyring_, ledger_, clock_);
  const AuditActor dpo{"integration", "key_dpo", "test", ""};
  constexpr int64_t kMinute = 60'000, kDay = 86'400'000;
  const std::string subject = Subject(kPhone);
  StartDispatcher();
  auto reply = [&](const std::string& text) {
    auto sent = Send(std::string(R"({"messaging_product":"whatsapp","to":")") + kPhone +
                     R"(","type":"text","text":{"body":")" + text + R"("}})");
    EXPECT_TRUE(sent.ok()) << sent.status().ToString();
    const std::string id = sent.ok() ? sent->message.id : "";
    EXPECT_TRUE(WaitFor([&] { return Get(id).state != "accepted"; }));
    return id;
  };
  // Off by default: an outbound body goes once Meta has it, an inbound one after the default window.
  EXPECT_EQ(HistoryPolicyJson(*history.Get("ten_a")), R"({"enabled":false})");
  Writes(kPhone, "default canary 1111");
  const std::string first_reply = reply("reply canary 2222");
  EXPECT_TRUE(Get(first_reply).payload_sealed.empty());
  EXPECT_EQ(PurgeExpiredBodies(*store_, clock_.NowUnixMillis() + 6 * kMinute, 5 * kMinute, kDay)->message_bodies, 1);

  // Turning it on takes a retention, a purpose and a legal basis.
  for (const HistoryPolicy& bad : {HistoryPolicy{"ten_a", 0, "support", "contract", 0},
                                   HistoryPolicy{"ten_a", 3651, "support", "contract", 0},
                                   HistoryPolicy{"ten_a", 30, "", "contract", 0},
                                   HistoryPolicy{"ten_a", 30, "bad\ncontrol", "contract", 0},
                                   HistoryPolicy{"ten_a", 30, "support", "because", 0}}) {
    EXPECT_EQ(history.Enable(dpo, bad).status().machine_code(), "invalid_field") << bad.purpose << bad.retention_days;
  }
  ASSERT_TRUE(history.Enable(dpo, HistoryPolicy{"ten_a", 30, "Follow-up of open support cases", "contract", 0}).ok());
  ASSERT_EQ(Audit("history.enable").size(), 1u);
  EXPECT_NE(Audit("history.enable")[0].details.find(R"("retention_days":30)"), std::string::npos);
  Writes(kPhone, "history canary 3333");
  const std::string kept_reply = reply("kept reply 4444");
  EXPECT_FALSE(Get(kept_reply).payload_sealed.empty());
  const int64_t now = clock_.NowUnixMillis();
  EXPECT_EQ(PurgeExpiredBodies(*store_, now + kDay, 5 * kMinute, kDay)->message_bodies, 0);  // a day later: kept

  // Read back oldest first, without the number; the read is on record.
  auto items = history.Read(dpo, "ten_a", subject, 10);
  ASSERT_TRUE(items.ok()) << items.status().ToString();
  ASSERT_EQ(items->size(), 4u);
  EXPECT_EQ((*items)[0].direction, "inbound");
  EXPECT_FALSE((*items)[0].body.has_value());  // before history was on: purged
  EXPECT_EQ((*items)[1].id, first_reply);
  EXPECT_FALSE((*items)[1].body.has_value());
  ASSERT_TRUE((*items)[2].body.has_value());
  EXPECT_NE((*items)[2].body->find("history canary 3333"), std::string::npos);
  EXPECT_EQ((*items)[3].id, kept_reply);
  ASSERT_TRUE((*items)[3].body.has_value());
  EXPECT_NE((*items)[3].body->find("kept reply 4444"), std::string::npos);
  for (const auto& it : *items) {
    if (it.body) {
      EXPECT_EQ(it.body->find(kPhone), std::string::npos) << *it.body;
    }
  }
  ASSERT_EQ(Audit("history.read").size(), 1u);
  EXPECT_EQ(Audit("history.read")[0].subject, subject);
  EXPECT_EQ(history.Read(dpo, "ten_a", subject, 0).status().machine_code(), "invalid_query");
  EXPECT_EQ(history.Read(dpo, "ten_a", "+" + std::string(kPhone), 10).status().machine_code(), "invalid_subject");
  EXPECT_TRUE(history.Read(dpo, "ten_b", subject, 10)->empty());  // another tenant sees nothing

  // Past the retention: both bodies go.
  EXPECT_EQ(PurgeExpiredBodies(*store_, now + 31 * kDay, 5 * kMinute, kDay)->message_bodies, 2);

  // Turned off: what it kept goes with the default window.
  Writes(kPhone, "kept until off 5555");
  ASSERT_TRUE(history.Disable(dpo, "ten_a").ok());
  EXPECT_EQ(history.Disable(dpo, "ten_a").code(), StatusCode::kNotFound);
  ASSERT_EQ(Audit("history.disable").size(), 1u);
  EXPECT_EQ(PurgeExpiredBodies(*store_, clock_.NowUnixMillis() + 6 * kMinute, 5 * kMinute, kDay)->message_bodies, 1);
}

// covers: F-03
TEST_F(ErasureTest, AnErasureInterruptedAtAnyStepResumesToACleanEnd) {
  int n = 0;
  for (const std::string step : {"requested", "key_destroyed", "data_erased"}) {
    const std::string phone = "49176000001" + std::to_string(10 + n++);
    Writes(phone, "resume canary");
    const std::string subject = Subject(phone);
    ErasureRecord interrupted;
    if (step == "requested") {
      // Died right after the request was journalled.
      interrupted = ErasureRecord{"era_000000000000000000000001", "ten_a", subject, "requested", "operator:cli:x",
                                  clock_.NowUnixMillis(), clock_.NowUnixMillis(), "{}"};
      ASSERT_TRUE(store_->vault().InsertErasure(interrupted).ok());
    } else {
      ErasureService crashing(*store_, *keyring_, nullptr, ledger_, clock_, random_);
      crashing.CrashAfterStepForTest(step);
      auto partial = crashing.Erase("ten_a", subject, AuditActor::System());
      ASSERT_TRUE(partial.ok());
      ASSERT_EQ(partial->step, step);
      interrupted = *partial;
    }
    ErasureService restarted(*store_, *keyring_, nullptr, ledger_, clock_, random_);
    ASSERT_EQ(restarted.ResumePending().value(), 1) << step;
    EXPECT_EQ(store_->vault().GetErasure("ten_a", interrupted.id)->step, "done") << step;
    EXPECT_TRUE(SealedInbound(subject).empty()) << step;
    EXPECT_FALSE((*store_->vault().GetSubjectKey("ten_a", subject))->wrapped.has_value()) << step;
    EXPECT_EQ(restarted.ResumePending().value(), 0);
  }
  EXPECT_EQ(Audit("subject.erase").size(), 3u);
}


// covers: B-38
TEST_F(ContentProtectionTest, ARedeliveredFirstPartStillGetsMasked) {
  const std::string ts = std::to_string(clock_.NowUnixMillis() / 1000);
  auto delivery = [&](const std::string& wamid, const std::string& text) {
    return whatsapp::WebhookEnvelope(
        "100000000000001", "messages",
        std::string(R"({"messaging_product":"whatsapp","metadata":{"phone_number_id":"100000000000002"},"messages":[{"from":")") +
            kPhone + R"(","id":")" + wamid + R"(","timestamp":")" + ts + R"(","type":"text","text":{"body":")" + text +
            R"("}}]})");
  };
  ASSERT_EQ(Deliver(delivery("wamid.FIRST", "card: 4111 1111")).messages, 1);
  ASSERT_EQ(Deliver(delivery("wamid.FIRST", "card: 4111 1111")).duplicates, 1);  // Meta retries
  ASSERT_EQ(Deliver(delivery("wamid.SECOND", "1111 1111 ok")).messages, 1);
  const std::string subject = keyring_->Pseudonym("ten_a", std::string("+") + kPhone).value();
  std::string all;
  for (const auto& [id, sealed] : SealedInbound(subject)) {
    auto opened = keyring_->Open("ten_a", sealed, FieldBinding{"ten_a", subject, id, "payload"});
    ASSERT_TRUE(opened.ok());
    all += std::string(InsecureSecretAccess::Get(*opened));
  }
  EXPECT_NE(all.find(R"("body":"card: **** ****")"), std::string::npos) << all;
  EXPECT_NE(all.find(R"("body":"**** **** ok")"), std::string::npos) << all;
  EXPECT_EQ(all.find("4111"), std::string::npos);
}

}  // namespace
}  // namespace cs
