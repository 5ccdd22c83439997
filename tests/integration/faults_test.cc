// Faults of the machine under the real binary: a full data volume (F-05)
// and a full audit volume (F-06), made by tests/testing/full_disk_shim.cc
// (writes under one directory fail with ENOSPC while a flag file exists).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>

#include "testing/http_client.h"
#include "testing/process.h"

namespace cs::testing {
namespace {

constexpr char kPhone[] = "4917612345678";

// A demo gateway whose writes under `full_under` fail while `flag` exists.
class FullDiskTest : public ::testing::Test {
 protected:
  void Start(const std::string& full_under, std::vector<std::string> env = {}) {
    const char* asan = std::getenv("ASAN_OPTIONS");
    env.push_back(std::string("LD_PRELOAD=") + CS_FULL_DISK_SHIM);
    env.push_back("CS_FULL_DISK_FLAG=" + flag_);
    env.push_back("CS_FULL_DISK_UNDER=" + std::filesystem::canonical(full_under).string());
    // The shim comes before the sanitizer runtime in the library list.
    env.push_back(std::string("ASAN_OPTIONS=") + (asan != nullptr ? asan : "") + ":verify_asan_link_order=0");
    server_ = std::make_unique<ServerProcess>(dir_, env,
                                              std::vector<std::string>{"--demo", "--sandbox-listen", "127.0.0.1:0"});
    ASSERT_TRUE(server_->started());
    const std::string out = server_->Stdout();
    token_ = After(out, "csk_", "csk_");
    sandbox_ = std::atoi(After(out.substr(out.find("Sandbox:") == std::string::npos ? 0 : out.find("Sandbox:")),
                               "http://127.0.0.1:")
                             .c_str());
    ASSERT_FALSE(token_.empty()) << out;
    ASSERT_GT(sandbox_, 0) << out;
  }
  void Fill() { std::ofstream(flag_).put('1'); }
  void Free() { std::filesystem::remove(flag_); }
  int port() const { return server_->port(); }

  HttpReply SendText(const std::string& text) {
    return Call(port(), "POST", "/v1/messages", token_,
                std::string(R"({"to":"+)") + kPhone + R"(","text":{"body":")" + text + R"("}})");
  }
  std::string State(const std::string& id) {
    return After(Call(port(), "GET", "/v1/messages/" + id, token_).body, R"("state":")");
  }
  // Inbound messages the gateway stored (one audit entry each, same transaction).
  int Received() {
    HttpReply r = Call(port(), "GET", "/v1/audit/events?action=message.receive&limit=100", token_);
    int n = 0;
    for (size_t pos = 0; (pos = r.body.find(R"("action":"message.receive")", pos)) != std::string::npos; ++pos) ++n;
    return n;
  }
  int64_t WebhookRetries() {
    HttpReply r = Call(sandbox_, "GET", "/_sandbox/stats");
    return std::atoll(After(r.body, R"("webhook_retries":)").c_str());
  }
  void Inbound(const std::string& text) {
    HttpReply r = Call(sandbox_, "POST", "/_sandbox/inbound", "",
                       std::string(R"({"from":")") + kPhone + R"(","type":"text","text":{"body":")" + text + R"("}})");
    ASSERT_EQ(r.status, 200) << r.body;
  }

  std::string dir_ = MakeTempDir("full");
  std::string flag_ = MakeTempDir("full_flag") + "/full";
  std::unique_ptr<ServerProcess> server_;
  std::string token_;
  int sandbox_ = 0;
};

// covers: F-05, AUD-07
TEST_F(FullDiskTest, AFullDataVolumeRefusesNewWorkWith503LosesNothingAndRecoversWhenSpaceReturns) {
  Start(dir_);
  Inbound("hello before");  // opens the service window
  ASSERT_TRUE(WaitFor([&] { return Received() == 1; }));
  HttpReply before = SendText("accepted before");
  ASSERT_EQ(before.status, 202) << before.body;
  const std::string accepted = After(before.body, R"("id":")");

  Fill();
  // New work is refused with a code and a time to come back, never half-done.
  HttpReply refused = SendText("refused while full");
  EXPECT_EQ(refused.status, 503) << refused.body;
  EXPECT_EQ(refused.ErrorCode(), "storage_unavailable") << refused.body;
  EXPECT_FALSE(refused.Header("retry-after").empty());
  // Meta's deliveries are answered 503, so Meta keeps them and tries again.
  const int64_t retries = WebhookRetries();
  Inbound("written while full");
  EXPECT_TRUE(WaitFor([&] { return WebhookRetries() > retries; })) << server_->Stderr();
  // Reading personal data needs its audit entry: refused while none can be
  // written, whether the entry is written with the read or queued (AUD-07).
  EXPECT_EQ(Call(port(), "GET", "/v1/messages/" + accepted, token_).status, 503);
  EXPECT_TRUE(WaitFor([&] {
    return Call(port(), "GET", "/v1/subjects/sub_abc/consents", token_).ErrorCode() == "audit_unavailable";
  }));
  // The operator sees why in the log, without a number or a text in it.
  EXPECT_NE(server_->Stderr().find("storage_unavailable"), std::string::npos);

  Free();
  // Everything comes back by itself: the retried delivery is stored, the
  // message accepted before reaches Meta, new sends are accepted.
  EXPECT_TRUE(WaitFor([&] { return Received() == 2; }, 30000)) << Received();
  EXPECT_TRUE(WaitFor([&] { return State(accepted) == "read"; }, 30000)) << State(accepted);
  HttpReply after;
  EXPECT_TRUE(WaitFor([&] {
    after = SendText("accepted after");
    return after.status == 202;
  })) << after.body;
  const std::string later = After(after.body, R"("id":")");
  EXPECT_TRUE(WaitFor([&] { return State(later) == "read"; }, 30000)) << State(later);
  // The refused send left nothing: Meta got exactly the two accepted ones.
  HttpReply sent = Call(sandbox_, "GET", "/_sandbox/messages");
  EXPECT_EQ(sent.body.find("refused while full"), std::string::npos);
  EXPECT_NE(sent.body.find("accepted before"), std::string::npos);
  EXPECT_NE(sent.body.find("accepted after"), std::string::npos);

  EXPECT_EQ(server_->Stop(), 0);
  // No torn record: the database and the audit chain check out.
  CliResult verified = RunConsentry({"audit", "verify", "--data-dir", dir_, "--json"});
  EXPECT_EQ(verified.exit_code, 0) << verified.out << verified.err;
  EXPECT_TRUE(verified.Json().Find("ok")->as_bool()) << verified.out;
}

// covers: F-06
// The signed tree heads are copied to a file on another volume (the audit
// anchor, docs/audit.md). When that volume is full the ledger itself, in
// the database, keeps every entry: the gateway goes on, reports the lag,
// and the file catches up with every head when space returns.
TEST_F(FullDiskTest, AFullAuditVolumeKeepsEveryHeadAndCatchesUp) {
  const std::string audit_volume = MakeTempDir("audit_volume");
  const std::string heads = audit_volume + "/heads.jsonl";
  Start(audit_volume, {"CONSENTRY_AUDIT_HEADS_FILE=" + heads, "CONSENTRY_AUDIT_SEAL_INTERVAL_SECONDS=1"});
  ASSERT_TRUE(WaitFor([&] { return !ReadFile(heads).empty(); })) << server_->Stderr();

  Fill();
  const size_t before = ReadFile(heads).size();
  Inbound("while the audit volume is full");
  ASSERT_TRUE(WaitFor([&] { return Received() == 1; }));
  // Heads are sealed meanwhile but cannot be copied: the log says so.
  EXPECT_TRUE(WaitFor([&] { return server_->Stderr().find("audit_unavailable") != std::string::npos; }))
      << server_->Stderr();
  EXPECT_EQ(ReadFile(heads).size(), before);

  Free();
  EXPECT_TRUE(WaitFor([&] { return ReadFile(heads).size() > before; })) << server_->Stderr();
  EXPECT_EQ(server_->Stop(), 0);
  // Every head in the database is in the file, in order: verification
  // against the file finds nothing missing.
  CliResult verified = RunConsentry({"audit", "verify", "--data-dir", dir_, "--json"}, {"CONSENTRY_AUDIT_HEADS_FILE=" + heads});
  EXPECT_EQ(verified.exit_code, 0) << verified.out << verified.err;
  EXPECT_TRUE(verified.Json().Find("ok")->as_bool()) << verified.out;
}

}  // namespace
}  // namespace cs::testing
