// The WhatsApp path of the real binary: `consentry serve --demo` with its
// Cloud API sandbox, the Graph-compatible endpoint as SDKs call it, the
// webhook route, and SIGKILL under inbound load.
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "testing/http_client.h"
#include "testing/process.h"
#include "common/sha256.h"
#include "common/strings.h"
#include "whatsapp/wire.h"

namespace cs::testing {
namespace {

constexpr char kPhone[] = "4917612345678";

// The forms in which a phone number can hide in stored bytes or answers:
// the digits, their hex, and their base64 at each of the three alignments
// (Meta's message ids are base64 of bytes around the number), standard and
// URL-safe.
std::vector<std::string> NumberForms(const std::string& digits) {
  std::vector<std::string> forms = {digits, HexEncode(digits)};
  std::string upper = HexEncode(digits);
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  forms.push_back(upper);
  for (size_t pad = 0; pad < 3; ++pad) {
    const std::string bytes = std::string(pad, '\x01') + digits;
    const std::string b64 = Base64(bytes);
    // Only the groups made of the number's digits alone.
    const size_t from = pad == 0 ? 0 : 4, to = 4 * (bytes.size() / 3);
    const std::string middle = b64.substr(from, to - from);
    forms.push_back(middle);
    std::string url = middle;
    std::replace(url.begin(), url.end(), '+', '-');
    std::replace(url.begin(), url.end(), '/', '_');
    if (url != middle) forms.push_back(url);
  }
  return forms;
}

std::string State(int port, const std::string& token, const std::string& id) {
  HttpReply r = Call(port, "GET", "/v1/messages/" + id, token);
  return After(r.body, R"("state":")");
}

class WhatsAppDemoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("demo");
    // Links are built on the configured public address, not on what the client sent as Host.
    server_ = std::make_unique<ServerProcess>(
        dir_, std::vector<std::string>{"CONSENTRY_HTTP_PUBLIC_BASE_URL=https://wa.example.test/gateway"},
        std::vector<std::string>{"--demo", "--sandbox-listen", "127.0.0.1:0"});
    ASSERT_TRUE(server_->started());
    std::string out = server_->Stdout();
    token_ = After(out, "csk_", "csk_");
    sandbox_port_ = std::atoi(After(out.substr(out.find("Sandbox:") == std::string::npos ? 0 : out.find("Sandbox:")),
                                    "http://127.0.0.1:").c_str());
    ASSERT_FALSE(token_.empty()) << out;
    ASSERT_GT(sandbox_port_, 0) << out;
  }
  int port() const { return server_->port(); }

  std::string Template(const std::string& to) const {
    return std::string(R"({"to":")") + to +
           R"(","type":"template","template":{"name":"order_shipped","language":{"code":"en_US"},"components":[{"type":"body","parameters":[{"type":"text","text":"Jonas"}]}]}})";
  }

  // The double opt-in: the integration registers the consent, the gateway
  // asks over WhatsApp, the simulated user answers YES. Returns the subject.
  std::string OptIn(const std::string& phone_digits, const std::string& purpose = "order_updates") {
    const std::string body = R"({"phone":"+)" + phone_digits + R"(","purpose":")" + purpose +
                             R"(","evidence":{"source_channel":"web_form","source_ref":"checkout","notice_version":"2026-11",)"
                             R"("notice_language":"en","captured_at":"2026-11-22T10:00:00Z"}})";
    HttpReply registered = Call(port(), "POST", "/v1/consents", token_, body);
    EXPECT_EQ(registered.status, 201) << registered.body;
    EXPECT_NE(registered.body.find(R"("state":"pending")"), std::string::npos) << registered.body;
    std::string subject = After(registered.body, R"("subject":")");
    std::string confirmation = After(registered.body, R"("confirmation_message_id":")");
    EXPECT_TRUE(WaitFor([&] { return State(port(), token_, confirmation) == "read"; }));
    HttpReply yes = Call(sandbox_port_, "POST", "/_sandbox/inbound", "",
                         R"({"from":")" + phone_digits + R"(","type":"text","text":{"body":"YES"}})");
    EXPECT_EQ(yes.status, 200);
    EXPECT_TRUE(WaitFor([&] {
      HttpReply c = Call(port(), "GET", "/v1/subjects/" + subject + "/consents", token_);
      return c.body.find(R"("purpose":")" + purpose + R"(","state":"active")") != std::string::npos;
    }));
    return subject;
  }

  std::string dir_;
  std::unique_ptr<ServerProcess> server_;
  std::string token_;
  int sandbox_port_ = 0;
};

// covers: CONS-01, CONS-03, CONS-05
TEST_F(WhatsAppDemoTest, TheDemoSendsThroughTheSandboxAndReceivesItsWebhooks) {
  // No consent yet: the template is refused before anything is queued.
  HttpReply refused_template = Call(port(), "POST", "/v1/messages", token_, Template("+49 176 12345678"));
  EXPECT_EQ(refused_template.status, 403) << refused_template.body;
  EXPECT_EQ(refused_template.ErrorCode(), "consent_required");
  // covers: CHAN-01
  const std::string text = std::string(R"({"to":")") + kPhone + R"(","text":{"body":"canary outbound 5521"}})";
  HttpReply refused = Call(port(), "POST", "/v1/messages", token_, text);
  EXPECT_EQ(refused.status, 422);
  EXPECT_EQ(refused.ErrorCode(), "template_required");
  // Both refusals are on the record by the time they are answered (CONS-03),
  // though the send path answers them without holding a thread.
  HttpReply refusals = Call(port(), "GET", "/v1/audit/events?action=send.refused&limit=10", token_);
  ASSERT_EQ(refusals.status, 200) << refusals.body;
  EXPECT_NE(refusals.body.find(R"("outcome":"consent_required")"), std::string::npos) << refusals.body;
  EXPECT_NE(refusals.body.find(R"("outcome":"template_required")"), std::string::npos) << refusals.body;
  std::string subject = OptIn(kPhone);
  OptIn(kPhone, "marketing");
  HttpReply sent = Call(port(), "POST", "/v1/messages", token_, Template("+49 176 12345678"));
  ASSERT_EQ(sent.status, 202) << sent.body;
  std::string id = After(sent.body, R"("id":")");
  EXPECT_TRUE(WaitFor([&] { return State(port(), token_, id) == "read"; })) << State(port(), token_, id);
  HttpReply got = Call(port(), "GET", "/v1/messages/" + id, token_);
  EXPECT_NE(got.body.find(R"("status":"delivered")"), std::string::npos) << got.body;

  // The simulated user writes (the YES above already did): the window is open.
  HttpReply inbound = Call(sandbox_port_, "POST", "/_sandbox/inbound", "",
                           std::string(R"({"from":")") + kPhone + R"(","type":"text","text":{"body":"canary inbound 8812"}})");
  ASSERT_EQ(inbound.status, 200) << inbound.body;
  HttpReply reply;
  EXPECT_TRUE(WaitFor([&] {
    reply = Call(port(), "POST", "/v1/messages", token_, text);
    return reply.status == 202;
  })) << reply.body;
  std::string reply_id = After(reply.body, R"("id":")");
  EXPECT_TRUE(WaitFor([&] { return State(port(), token_, reply_id) == "read"; }));

  // STOP withdraws at once; the proof export shows every change with its evidence.
  Call(sandbox_port_, "POST", "/_sandbox/inbound", "", std::string(R"({"from":")") + kPhone + R"(","type":"text","text":{"body":"Stopp!"}})");
  HttpReply proof;
  EXPECT_TRUE(WaitFor([&] {
    proof = Call(port(), "GET", "/v1/subjects/" + subject + "/consents", token_);
    return proof.body.find(R"("purpose":"marketing","state":"withdrawn")") != std::string::npos;
  })) << proof.body;
  EXPECT_NE(proof.body.find(R"("reason":"registered")"), std::string::npos) << proof.body;
  EXPECT_NE(proof.body.find(R"("reason":"reply_affirmative")"), std::string::npos);
  EXPECT_NE(proof.body.find(R"("notice_version":"2026-11")"), std::string::npos);
  // Purposes are unbundled (CONS-08): order updates stay active.
  EXPECT_NE(proof.body.find(R"("purpose":"order_updates","state":"active")"), std::string::npos);
  EXPECT_NE(proof.body.find(R"("reason":"stop_keyword")"), std::string::npos);

  // Nothing personal in the logs (the message text, the number in any form).
  std::string logs = server_->Stderr() + server_->Stdout();
  for (const std::string& canary : {std::string(kPhone), std::string("176 12345678"), std::string("canary outbound"),
                                    std::string("canary inbound")}) {
    EXPECT_EQ(logs.find(canary), std::string::npos) << canary;
  }
}

// covers: CHAN-04, SEN-05, B-38
TEST_F(WhatsAppDemoTest, ContentProtectionOverHttp) {
  // The explain API says what would happen, without storing anything.
  HttpReply scan = Call(port(), "POST", "/v1/scan", token_,
                        R"({"text":"card 4111 1111 1111 1111 mail a@example.org","mask":true})");
  ASSERT_EQ(scan.status, 200) << scan.body;
  EXPECT_NE(scan.body.find(R"({"type":"card","detail":"visa","start":5,"end":24,"outbound":"refuse","inbound":"mask"})"),
            std::string::npos)
      << scan.body;
  EXPECT_NE(scan.body.find(R"("outbound":"refused","masked_text":"card 4111 11** **** 1111 mail a@example.org")"),
            std::string::npos);
  EXPECT_EQ(Call(port(), "POST", "/v1/scan", token_, R"({"txt":"x"})").ErrorCode(), "missing_field");
  EXPECT_EQ(Call(port(), "POST", "/v1/scan", token_, R"({"text":"x","txt":"y"})").ErrorCode(), "unknown_field");

  // The tenant's policy: cards are fixed, the rest is the tenant's choice.
  HttpReply fixed = Call(port(), "PUT", "/v1/scan/policy", token_, R"({"outbound":{"card":"allow"}})");
  EXPECT_EQ(fixed.status, 422);
  EXPECT_EQ(fixed.ErrorCode(), "card_policy_fixed");
  EXPECT_EQ(Call(port(), "PUT", "/v1/scan/policy", token_, R"({"outbound":{"ssn":"mask"}})").ErrorCode(),
            "invalid_policy");
  HttpReply set = Call(port(), "PUT", "/v1/scan/policy", token_, R"({"outbound":{"email":"refuse"}})");
  ASSERT_EQ(set.status, 200) << set.body;
  EXPECT_NE(Call(port(), "GET", "/v1/scan/policy", token_).body.find(R"("email":"refuse")"), std::string::npos);
  HttpReply rescan = Call(port(), "POST", "/v1/scan", token_, R"({"text":"mail a@example.org"})");
  EXPECT_NE(rescan.body.find(R"("outbound":"refuse","inbound":"flag")"), std::string::npos) << rescan.body;
  HttpReply reset = Call(port(), "DELETE", "/v1/scan/policy", token_);
  EXPECT_NE(reset.body.find(R"("email":"allow")"), std::string::npos) << reset.body;

  // A customer types a card number: masked before storage, answered with the neutral reply.
  HttpReply inbound = Call(sandbox_port_, "POST", "/_sandbox/inbound", "",
                           std::string(R"({"from":")") + kPhone +
                               R"(","type":"text","text":{"body":"here: 4111 1111 1111 1111 exp 12/27"}})");
  ASSERT_EQ(inbound.status, 200);
  EXPECT_TRUE(WaitFor([&] {
    return Call(sandbox_port_, "GET", "/_sandbox/messages", "").body.find("removed the card number") !=
           std::string::npos;
  }));
  HttpReply pan = Call(port(), "GET", "/v1/audit/events?action=content.pan_received", token_);
  EXPECT_NE(pan.body.find(R"("action":"content.pan_received")"), std::string::npos) << pan.body;

  // Sending one is refused before anything is queued, on both APIs.
  const std::string card_text = std::string(R"({"to":")") + kPhone + R"(","text":{"body":"card 4111111111111111"}})";
  HttpReply native = Call(port(), "POST", "/v1/messages", token_, card_text);
  EXPECT_EQ(native.status, 422) << native.body;
  EXPECT_EQ(native.ErrorCode(), "sensitive_identifier");
  HttpReply graph = Call(port(), "POST", "/v23.0/100000000000002/messages", token_,
                         std::string(R"({"messaging_product":"whatsapp","to":")") + kPhone +
                             R"(","type":"text","text":{"body":"card 4111111111111111"}})");
  EXPECT_EQ(graph.status, 400) << graph.body;
  EXPECT_NE(graph.body.find(R"("code":131009)"), std::string::npos) << graph.body;
  EXPECT_NE(graph.body.find("sensitive_identifier"), std::string::npos);

  std::string logs = server_->Stderr() + server_->Stdout();
  for (const std::string& canary : {std::string("4111 1111 1111 1111"), std::string("4111111111111111"),
                                    std::string("a@example.org")}) {
    EXPECT_EQ(logs.find(canary), std::string::npos) << canary;
  }
}

// covers: DOC-07, CONS-07, CONS-09, CONS-10
TEST_F(WhatsAppDemoTest, NoticesFirstContactAndSaleSharingOverHttp) {
  // The demo's notice is published in English and German.
  HttpReply notices = Call(port(), "GET", "/v1/notices", token_);
  ASSERT_EQ(notices.status, 200) << notices.body;
  EXPECT_NE(notices.body.find(R"("version":"2026-11","language":"de")"), std::string::npos) << notices.body;
  // Published notices are immutable.
  HttpReply again = Call(port(), "POST", "/v1/notices", token_,
                         R"({"version":"2026-11","language":"en","text":"other","info_message":"x"})");
  EXPECT_EQ(again.status, 409) << again.body;
  EXPECT_EQ(again.ErrorCode(), "notice_exists");

  // A German number writes for the first time: the information message in
  // German, with the opt-out footer, once.
  const std::string german = "4915112345678";
  auto info_count = [&] {
    std::string sent = Call(sandbox_port_, "GET", "/_sandbox/messages", "").body;
    size_t n = 0;
    for (size_t at = sent.find("Der Demo Shop verarbeitet"); at != std::string::npos;
         at = sent.find("Der Demo Shop verarbeitet", at + 1)) {
      ++n;
    }
    return n;
  };
  for (const char* text : {"Hallo, wo ist mein Paket?", "Noch da?"}) {
    ASSERT_EQ(Call(sandbox_port_, "POST", "/_sandbox/inbound", "",
                   R"({"from":")" + german + R"(","type":"text","text":{"body":")" + text + R"("}})")
                  .status,
              200);
    EXPECT_TRUE(WaitFor([&] { return info_count() >= 1; }));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(info_count(), 1u);
  EXPECT_NE(Call(sandbox_port_, "GET", "/_sandbox/messages", "").body.find("STOPP"), std::string::npos);
  HttpReply sent_audit = Call(port(), "GET", "/v1/audit/events?action=notice.sent", token_);
  EXPECT_NE(sent_audit.body.find(R"("resource":"notice:2026-11:de")"), std::string::npos) << sent_audit.body;

  // Evidence must name a published notice.
  HttpReply unknown = Call(port(), "POST", "/v1/consents", token_,
                           R"({"phone":"+4915112345679","purpose":"marketing","evidence":{"source_channel":"web_form",)"
                           R"("notice_version":"1999","captured_at":"2026-11-22T10:00:00Z"}})");
  EXPECT_EQ(unknown.status, 422) << unknown.body;  // a well-formed request naming an unknown notice
  EXPECT_EQ(unknown.ErrorCode(), "notice_unknown");

  // A consent captured on a page whose browser sent Sec-GPC: 1 also opts
  // the subject out of sale and sharing.
  HttpReply gpc = Call(port(), "POST", "/v1/consents", token_,
                       R"({"phone":"+4915112345670","purpose":"order_updates","evidence":{"source_channel":"web_form",)"
                       R"("notice_version":"2026-11","notice_language":"en","captured_at":"2026-11-22T10:00:00Z"}})",
                       {{"Sec-GPC", "1"}});
  ASSERT_EQ(gpc.status, 201) << gpc.body;
  const std::string subject = After(gpc.body, R"("subject":")");
  HttpReply proof = Call(port(), "GET", "/v1/subjects/" + subject + "/consents", token_);
  EXPECT_NE(proof.body.find(R"("sale_sharing":{"opted_out":true)"), std::string::npos) << proof.body;
  EXPECT_NE(proof.body.find(R"("reason":"gpc_signal")"), std::string::npos) << proof.body;
  EXPECT_NE(proof.body.find("Demo Shop privacy notice"), std::string::npos);  // the exact text shown
  // covers: CONS-06 (the printable proof)
  HttpReply pdf = Call(port(), "GET", "/v1/subjects/" + subject + "/consents/evidence", token_, "",
                       {{"Accept", "application/pdf"}});
  ASSERT_EQ(pdf.status, 200) << pdf.body.substr(0, 300);
  EXPECT_EQ(pdf.Header("content-type"), "application/pdf");
  EXPECT_EQ(pdf.body.rfind("%PDF-", 0), 0u);
  HttpReply evidence_json = Call(port(), "GET", "/v1/subjects/" + subject + "/consents/evidence", token_);
  EXPECT_EQ(evidence_json.Header("content-type").rfind("application/json", 0), 0u);
  HttpReply exported = Call(port(), "GET", "/v1/audit/events?action=consent.evidence_export", token_);
  EXPECT_NE(exported.body.find(subject), std::string::npos) << exported.body;
  HttpReply resolicit = Call(port(), "POST", "/v1/privacy/sale-sharing/opt-in", token_,
                             R"({"subject":")" + subject + R"(","initiated_by":"business"})");
  EXPECT_EQ(resolicit.status, 409) << resolicit.body;
  EXPECT_EQ(resolicit.ErrorCode(), "resolicit_too_early");
  HttpReply inventory = Call(port(), "GET", "/v1/privacy/sale-sharing", token_);
  EXPECT_NE(inventory.body.find(R"("sells_or_shares":false)"), std::string::npos) << inventory.body;

  // A notice asking for re-consent of marketing: the earlier consent stops
  // counting at once, with the reason.
  OptIn(german, "marketing");
  HttpReply promo_ok = Call(port(), "POST", "/v1/messages", token_,
                            R"({"to":"+)" + german + R"(","type":"template","template":{"name":"spring_sale",)"
                            R"("language":{"code":"en_US"},"components":[{"type":"body","parameters":[{"type":"text","text":"x"}]}]}})");
  EXPECT_EQ(promo_ok.status, 202) << promo_ok.body;
  HttpReply v2 = Call(port(), "POST", "/v1/notices", token_,
                      R"({"version":"2027-01","language":"en","text":"We now measure reach.","info_message":"Updated: https://shop.example/privacy",)"
                      R"("requires_reconsent":true,"reconsent_purposes":["marketing"]})");
  ASSERT_EQ(v2.status, 201) << v2.body;
  HttpReply promo_refused = Call(port(), "POST", "/v1/messages", token_,
                                 R"({"to":"+)" + german + R"(","type":"template","template":{"name":"spring_sale",)"
                                 R"("language":{"code":"en_US"},"components":[{"type":"body","parameters":[{"type":"text","text":"x"}]}]}})");
  EXPECT_EQ(promo_refused.status, 403) << promo_refused.body;
  EXPECT_EQ(promo_refused.ErrorCode(), "consent_required");
  EXPECT_NE(promo_refused.body.find("reconsent"), std::string::npos) << promo_refused.body;
}

// covers: CHAN-02, CONS-02, CONS-03
TEST_F(WhatsAppDemoTest, MetasTemplateReviewReachesTheSendGateOverWebhooks) {
  OptIn(kPhone);
  ASSERT_EQ(Call(port(), "POST", "/v1/messages", token_, Template(kPhone)).status, 202);
  // Meta pauses the template: the gateway refuses before Meta would.
  ASSERT_EQ(Call(sandbox_port_, "POST", "/_sandbox/templates", "", R"({"name":"order_shipped","status":"PAUSED"})").status,
            200);
  HttpReply paused;
  EXPECT_TRUE(WaitFor([&] {
    paused = Call(port(), "POST", "/v1/messages", token_, Template(kPhone));
    return paused.status == 409;
  })) << paused.body;
  EXPECT_EQ(paused.ErrorCode(), "template_not_approved");
  // Approved again, then moved to MARKETING: the order-updates consent no longer covers it.
  Call(sandbox_port_, "POST", "/_sandbox/templates", "", R"({"name":"order_shipped","status":"APPROVED"})");
  EXPECT_TRUE(WaitFor([&] { return Call(port(), "POST", "/v1/messages", token_, Template(kPhone)).status == 202; }));
  Call(sandbox_port_, "POST", "/_sandbox/templates", "", R"({"name":"order_shipped","category":"MARKETING"})");
  HttpReply moved;
  EXPECT_TRUE(WaitFor([&] {
    moved = Call(port(), "POST", "/v1/messages", token_, Template(kPhone));
    return moved.status == 403;
  })) << moved.body;
  EXPECT_EQ(moved.ErrorCode(), "consent_required");
  HttpReply templates = Call(port(), "GET", "/v1/templates", token_);
  EXPECT_NE(templates.body.find(R"("name":"order_shipped","language":"en_US","category":"MARKETING")"), std::string::npos)
      << templates.body;
  // The double opt-in's request template recategorised: no request goes out (CONS-02).
  Call(sandbox_port_, "POST", "/_sandbox/templates", "", R"({"name":"consent_request","category":"MARKETING"})");
  // Once the review webhook is in (a registration before it would start a
  // pending request, which later calls return as is):
  ASSERT_TRUE(WaitFor([&] {
    return Call(port(), "GET", "/v1/templates", token_)
               .body.find(R"("name":"consent_request","language":"en_US","category":"MARKETING")") != std::string::npos;
  }));
  HttpReply refused = Call(port(), "POST", "/v1/consents", token_,
                           R"({"phone":"+4915112345600","purpose":"order_updates","evidence":{"source_channel":"web_form",)"
                           R"("notice_version":"2026-11","notice_language":"en","captured_at":"2026-11-22T10:00:00Z"}})");
  EXPECT_EQ(refused.status, 409) << refused.body;
  EXPECT_EQ(refused.ErrorCode(), "confirmation_template_miscategorised");
}

// covers: F-03, DSR-05
// Conversation history over HTTP: off by default; turned on with its terms
// (checked), the subject's conversation is read back under the pseudonym,
// without the number, and the read shows in the subject's access log.
// covers: RET-01, MIN-01, MIN-02, AUD-01
TEST_F(WhatsAppDemoTest, ConversationHistoryOverHttp) {
  EXPECT_EQ(Call(port(), "GET", "/v1/conversation-history", token_).body, R"({"enabled":false})");
  EXPECT_EQ(Call(port(), "PUT", "/v1/conversation-history", token_, R"({"retention_days":30,"purpose":"support"})")
                .ErrorCode(),
            "missing_field");
  EXPECT_EQ(Call(port(), "PUT", "/v1/conversation-history", token_,
                 R"({"retention_days":0,"purpose":"support","legal_basis":"contract"})")
                .ErrorCode(),
            "invalid_field");
  HttpReply on = Call(port(), "PUT", "/v1/conversation-history", token_,
                      R"({"retention_days":30,"purpose":"Support follow-up","legal_basis":"contract"})");
  ASSERT_EQ(on.status, 200) << on.body;
  EXPECT_NE(on.body.find(R"("enabled":true,"retention_days":30)"), std::string::npos) << on.body;
  const std::string subject = OptIn(kPhone);  // a confirmation out, a YES in
  HttpReply read = Call(port(), "GET", "/v1/subjects/" + subject + "/conversation?limit=10", token_);
  ASSERT_EQ(read.status, 200) << read.body;
  EXPECT_NE(read.body.find(R"("direction":"inbound")"), std::string::npos) << read.body;
  EXPECT_NE(read.body.find(R"("direction":"outbound")"), std::string::npos) << read.body;
  EXPECT_NE(read.body.find(R"("body":"YES")"), std::string::npos) << read.body;
  EXPECT_EQ(read.body.find(kPhone), std::string::npos) << read.body;
  EXPECT_EQ(Call(port(), "GET", "/v1/subjects/" + subject + "/conversation?limit=0", token_).ErrorCode(),
            "invalid_type");
  EXPECT_EQ(Call(port(), "GET", "/v1/subjects/" + subject + "/conversation?since=x", token_).ErrorCode(),
            "unknown_field");
  HttpReply log = Call(port(), "GET", "/v1/subjects/" + subject + "/access-log", token_);
  EXPECT_NE(log.body.find(R"("action":"history.read")"), std::string::npos) << log.body;
  EXPECT_EQ(Call(port(), "DELETE", "/v1/conversation-history", token_).body, R"({"enabled":false})");
  EXPECT_EQ(Call(port(), "DELETE", "/v1/conversation-history", token_).status, 404);
}

TEST_F(WhatsAppDemoTest, ErasureOverHttp) {
  const std::string subject = OptIn(kPhone);
  HttpReply erased = Call(port(), "POST", "/v1/erasures", token_, R"({"phone":"+49 176 12345678"})");
  ASSERT_EQ(erased.status, 200) << erased.body;
  EXPECT_NE(erased.body.find(R"("subject":")" + subject + "\""), std::string::npos) << erased.body;
  EXPECT_NE(erased.body.find(R"("state":"done")"), std::string::npos);
  const std::string id = After(erased.body, R"("id":")");
  HttpReply again = Call(port(), "GET", "/v1/erasures/" + id, token_);
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(Call(port(), "GET", "/v1/erasures/era_000000000000000000000000", token_).status, 404);
  // Consents ended with the erasure: nothing more is sent to this person.
  HttpReply proof = Call(port(), "GET", "/v1/subjects/" + subject + "/consents", token_);
  EXPECT_NE(proof.body.find(R"("purpose":"order_updates","state":"withdrawn")"), std::string::npos) << proof.body;
  EXPECT_NE(proof.body.find(R"("reason":"erasure")"), std::string::npos);
  HttpReply refused = Call(port(), "POST", "/v1/messages", token_, Template("+49 176 12345678"));
  EXPECT_EQ(refused.ErrorCode(), "consent_required");
  // Bad requests say what is wrong.
  EXPECT_EQ(Call(port(), "POST", "/v1/erasures", token_, R"({"subject":"sub_x"})").ErrorCode(), "invalid_subject");
  EXPECT_EQ(Call(port(), "POST", "/v1/erasures", token_, R"({"subject":")" + subject + R"(","phone":"+4917612345678"})")
                .ErrorCode(),
            "ambiguous_input");
  EXPECT_EQ(Call(port(), "POST", "/v1/erasures", token_, R"({})").ErrorCode(), "missing_field");
  std::string logs = server_->Stderr() + server_->Stdout();
  EXPECT_EQ(logs.find(kPhone), std::string::npos);
}

// The canary proof of issue 5 over the real binary: a unique number and
// text go through the gateway; no backup file, no byte of the data
// directory, no log holds them in clear; after the subject's erasure, a
// restore of the older backup (from the live key store, and after the
// database is lost, from a later keys archive) leaves the subject erased
// before the gateway serves again.
// Meta's message ids embed the number (base64): none is kept in clear, none
// is answered after the erasure, none survives the restore (issue 18).
// covers: F-18, RET-08, DSR-05, OPS-01, SEC-02, MIN-02
TEST_F(WhatsAppDemoTest, ARestoredBackupNeverBringsAnErasedSubjectBack) {
  const std::string canary_phone = "4915199988877";
  const std::string canary_text = "canary-backup-7731 parcel";
  // Bodies kept too (conversation history): more to shred.
  ASSERT_EQ(Call(port(), "PUT", "/v1/conversation-history", token_,
                 R"({"retention_days":30,"purpose":"support follow-up","legal_basis":"contract"})").status, 200);
  const std::string subject = OptIn(canary_phone);
  OptIn(kPhone);  // someone else, who stays
  // A template to the canary: Meta's id for it embeds the number.
  HttpReply sent = Call(port(), "POST", "/v1/messages", token_, Template("+" + canary_phone));
  ASSERT_EQ(sent.status, 202) << sent.body;
  const std::string sent_id = After(sent.body, R"("id":")");
  ASSERT_TRUE(WaitFor([&] { return State(port(), token_, sent_id) == "read"; }));
  // An admin key may see it (it reads numbers too), and it is Meta's.
  std::string sent_wamid;
  {
    Result<JsonValue> got = ParseJson(Call(port(), "GET", "/v1/messages/" + sent_id, token_).body);
    ASSERT_TRUE(got.ok() && got->Find("wamid") != nullptr);
    sent_wamid = got->Find("wamid")->as_string();
  }
  ASSERT_EQ(sent_wamid.rfind("wamid.", 0), 0u) << sent_wamid;
  // The canary writes, quoting the template.
  HttpReply in = Call(sandbox_port_, "POST", "/_sandbox/inbound", "",
                      R"({"from":")" + canary_phone + R"(","type":"text","text":{"body":")" + canary_text +
                          R"("},"context":{"from":"15550000000","id":")" + sent_wamid + R"("}})");
  ASSERT_EQ(in.status, 200) << in.body;
  ASSERT_TRUE(WaitFor([&] {
    HttpReply r = Call(port(), "GET", "/v1/audit/events?action=message.receive&subject=" + subject, token_);
    size_t n = 0;
    for (size_t at = r.body.find("\"seq\""); at != std::string::npos; at = r.body.find("\"seq\"", at + 1)) ++n;
    return n >= 2;  // the YES and the canary text
  }));
  // Every answer about the subject, for the number in any form, and for Meta's ids.
  auto answers = [&](bool admin_may_see_wamid) {
    std::string all;
    for (const std::string& path :
         {"/v1/messages/" + sent_id, "/v1/subjects/" + subject + "/conversation", "/v1/subjects/" + subject + "/consents",
          "/v1/subjects/" + subject + "/access-log", "/v1/audit/events?subject=" + subject + "&limit=100"}) {
      HttpReply r = Call(port(), "GET", path, token_);
      EXPECT_EQ(r.status, 200) << path << " " << r.body;
      all += (admin_may_see_wamid && path == "/v1/messages/" + sent_id) ? std::string() : r.body;
    }
    return all;
  };
  {
    const std::string before = answers(/*admin_may_see_wamid=*/true);
    EXPECT_NE(before.find(R"("context":{"id":")" + sent_id + "\""), std::string::npos) << before;  // the quote, by our id
    EXPECT_EQ(before.find("wamid."), std::string::npos) << before;
    for (const std::string& form : NumberForms(canary_phone)) EXPECT_EQ(before.find(form), std::string::npos) << form;
  }

  const std::vector<std::string> key_env = {"CONSENTRY_VAULT_MASTER_KEY_FILE=" + dir_ + "/master.key"};
  const std::string backups = MakeTempDir("backups");
  auto create = [&] {
    CliResult r = RunConsentry({"backup", "create", "--data-dir", dir_, "--out", backups, "--json"}, key_env);
    EXPECT_EQ(r.exit_code, 0) << r.err << r.out;
    JsonValue j = r.Json();
    return std::make_pair(j.Find("data_file")->as_string(), j.Find("keys_file")->as_string());
  };
  auto keys_status = [&] {
    CliResult r = RunConsentry({"keys", "status", "--data-dir", dir_, "--json"}, key_env);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    JsonValue j = r.Json();
    return j.Find("tenants")->as_array().front().Find("subject_keys")->as_int();
  };
  const auto [data1, keys1] = create();
  const int64_t keys_before = keys_status();

  // Nowhere in clear: backups, the data directory (with the erasure journal
  // copy beside it), logs, metrics.
  HttpReply metrics = Call(port(), "GET", "/metrics");
  ASSERT_EQ(metrics.status, 200);
  const std::string everything = ReadTree(backups) + ReadTree(dir_) + server_->Stdout() + server_->Stderr() +
                                 metrics.body;
  std::vector<std::string> canaries = NumberForms(canary_phone);
  canaries.push_back("151 99988877");
  canaries.push_back("canary-backup-7731");
  canaries.push_back(sent_wamid.substr(0, 24));  // Meta's id itself
  for (const std::string& canary : canaries) {
    EXPECT_EQ(everything.find(canary), std::string::npos) << canary;
  }
  CliResult verified = RunConsentry({"backup", "verify", data1, keys1, "--data-dir", dir_, "--json"}, key_env);
  EXPECT_EQ(verified.exit_code, 0) << verified.out << verified.err;
  EXPECT_NE(verified.out.find(R"("database_intact":true)"), std::string::npos) << verified.out;

  HttpReply erased = Call(port(), "POST", "/v1/erasures", token_, R"({"subject":")" + subject + R"("})");
  ASSERT_EQ(erased.status, 200) << erased.body;
  const std::string erasure_id = After(erased.body, R"("id":")");
  EXPECT_EQ(keys_status(), keys_before - 1);
  // No answer gives the number away now, Meta's id for the message included.
  {
    const std::string after = answers(/*admin_may_see_wamid=*/false);
    EXPECT_EQ(after.find("wamid."), std::string::npos) << after;
    EXPECT_EQ(after.find(R"("wamid")"), std::string::npos) << after;
    for (const std::string& form : NumberForms(canary_phone)) EXPECT_EQ(after.find(form), std::string::npos) << form;
  }

  // Never under a serving gateway.
  CliResult busy = RunConsentry({"backup", "restore", data1, "--data-dir", dir_, "--json"}, key_env);
  EXPECT_NE(busy.exit_code, 0);
  EXPECT_NE(busy.out.find(R"("code":"gateway_running")"), std::string::npos) << busy.out;
  const auto [data2, keys2] = create();  // after the erasure: its keys archive knows it
  ASSERT_EQ(server_->Stop(), 0);

  auto restore_and_check = [&](const std::vector<std::string>& extra) {
    std::vector<std::string> args = {"backup", "restore", data1, "--data-dir", dir_, "--json"};
    args.insert(args.end(), extra.begin(), extra.end());
    CliResult restored = RunConsentry(args, key_env);
    ASSERT_EQ(restored.exit_code, 0) << restored.err << restored.out;
    EXPECT_NE(restored.out.find(R"("erasures_replayed":1)"), std::string::npos) << restored.out;
    // The erased subject stays erased, before anything serves: its key is
    // gone, the other subject's is there.
    EXPECT_EQ(keys_status(), keys_before - 1);
    server_ = std::make_unique<ServerProcess>(dir_, std::vector<std::string>{},
                                              std::vector<std::string>{"--demo", "--sandbox-listen", "127.0.0.1:0"});
    ASSERT_TRUE(server_->started());
    token_ = After(server_->Stdout(), "csk_", "csk_");
    HttpReply journal = Call(port(), "GET", "/v1/erasures/" + erasure_id, token_);
    EXPECT_NE(journal.body.find(R"("state":"done")"), std::string::npos) << journal.body;
    HttpReply consents = Call(port(), "GET", "/v1/subjects/" + subject + "/consents", token_);
    EXPECT_NE(consents.body.find(R"("reason":"erasure")"), std::string::npos) << consents.body;
    // The restore is on the record, and the restored ledger verifies (the
    // previous ledger's tree heads file was set aside with it).
    CliResult restore_audit = RunConsentry({"audit", "search", "--data-dir", dir_, "--action", "backup.restore", "--json"});
    EXPECT_NE(restore_audit.out.find(R"("action":"backup.restore")"), std::string::npos) << restore_audit.out;
    CliResult audit_ok = RunConsentry({"audit", "verify", "--data-dir", dir_, "--json"});
    EXPECT_EQ(audit_ok.exit_code, 0) << audit_ok.out << audit_ok.err;
    const std::string after = ReadTree(dir_) + ReadTree(dir_ + "-backups") + server_->Stdout() + server_->Stderr();
    for (const std::string& canary : canaries) EXPECT_EQ(after.find(canary), std::string::npos) << canary;
    const std::string answered = answers(/*admin_may_see_wamid=*/false);
    EXPECT_EQ(answered.find("wamid."), std::string::npos) << answered;
    EXPECT_EQ(answered.find(R"("wamid")"), std::string::npos) << answered;
    for (const std::string& form : NumberForms(canary_phone)) EXPECT_EQ(answered.find(form), std::string::npos) << form;
    ASSERT_EQ(server_->Stop(), 0);
  };
  // 1. The database is there: its key store and journal are the source.
  restore_and_check({});
  // 2. The database is lost, and only the older keys archive is left (it
  // still holds the subject's key): the copy of the erasure journal the
  // gateway keeps beside the backups (<data_dir>-backups) replays it.
  for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
    if (entry.path().filename().string().rfind("consentry.db", 0) == 0) std::filesystem::remove(entry.path());
  }
  CliResult no_source = RunConsentry({"backup", "restore", data1, "--data-dir", dir_, "--json"}, key_env);
  EXPECT_NE(no_source.out.find(R"("code":"backup_keys_missing")"), std::string::npos) << no_source.out;
  restore_and_check({"--keys", keys1});
  (void)keys2;
}

// A withdrawal answered is final: while the dispatcher sends marketing at
// the channel's full pace to several subjects, two of them withdraw, and not
// one message reaches the provider (the sandbox's clock, the same machine's)
// after the withdrawal's 200.
// covers: CONS-04
TEST_F(WhatsAppDemoTest, NothingReachesTheProviderAfterAWithdrawalIsAnswered) {
  const std::vector<std::string> phones = {"4917612340001", "4917612340002", "4917612340003"};
  for (const std::string& phone : phones) OptIn(phone, "marketing");
  auto marketing = [&](const std::string& phone) {
    return R"({"to":"+)" + phone +
           R"(","type":"template","template":{"name":"spring_sale","language":{"code":"en_US"},"components":[{"type":"body","parameters":[{"type":"text","text":"J"}]}]}})";
  };
  auto sent_to = [&](const std::string& phone) {
    // Every template the sandbox received for `phone`, with its arrival time.
    std::vector<int64_t> at;
    HttpReply sent = Call(sandbox_port_, "GET", "/_sandbox/messages", "");
    Result<JsonValue> j = ParseJson(sent.body);
    const JsonValue* messages = j.ok() ? j->Find("messages") : nullptr;
    if (messages == nullptr || !messages->is_array()) {
      ADD_FAILURE() << sent.body;
      return at;
    }
    for (const JsonValue& m : messages->as_array()) {
      const JsonValue* to = m.Find("to");
      const JsonValue* type = m.Find("type");
      const JsonValue* when = m.Find("at_ms");
      if (to != nullptr && to->is_string() && to->as_string() == phone && type != nullptr && type->is_string() &&
          type->as_string() == "template" && when != nullptr && when->type() == JsonValue::Type::kInt) {
        at.push_back(when->as_int());
      }
    }
    return at;
  };
  // 40 each (inside the pair rate's burst), interleaved: 120 at 80/s.
  for (int i = 0; i < 40; ++i) {
    for (const std::string& phone : phones) {
      HttpReply r = Call(port(), "POST", "/v1/messages", token_, marketing(phone));
      ASSERT_EQ(r.status, 202) << r.body;
    }
  }
  auto now_ms = [] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  std::vector<int64_t> answered;
  for (size_t k = 0; k < 2; ++k) {
    ASSERT_TRUE(WaitFor([&] { return sent_to(phones[k]).size() >= 5; }));
    HttpReply w = Call(port(), "POST", "/v1/consents/withdraw", token_,
                       R"({"phone":"+)" + phones[k] + R"(","purpose":"marketing"})");
    ASSERT_EQ(w.status, 200) << w.body;
    answered.push_back(now_ms());
  }
  // The third subject's messages all go: the queue is drained by then.
  ASSERT_TRUE(WaitFor([&] { return sent_to(phones[2]).size() >= 40; }, 30000)) << sent_to(phones[2]).size();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  for (size_t k = 0; k < 2; ++k) {
    const std::vector<int64_t> at = sent_to(phones[k]);
    EXPECT_GE(at.size(), 5u);
    EXPECT_LT(at.size(), 40u) << "the withdrawal stopped nothing";
    int late = 0;
    for (int64_t t : at) late += t > answered[k] ? 1 : 0;
    EXPECT_EQ(late, 0) << "messages reached the provider after the withdrawal of " << k << " was answered";
  }
}

// Tenant-key rotation is online: the CLI adds a content-key version and
// re-wraps the subject keys while the gateway serves, and messages keep
// flowing both ways.
// covers: SEC-03
TEST_F(WhatsAppDemoTest, ATenantKeyRotatesWhileTheGatewayServes) {
  OptIn(kPhone);
  const std::vector<std::string> key_env = {"CONSENTRY_VAULT_MASTER_KEY_FILE=" + dir_ + "/master.key"};
  CliResult status = RunConsentry({"keys", "status", "--data-dir", dir_, "--json"}, key_env);
  ASSERT_EQ(status.exit_code, 0) << status.err;
  const std::string tenant = status.Json().Find("tenants")->as_array().front().Find("id")->as_string();
  CliResult rotated = RunConsentry({"keys", "rotate-tenant", "--tenant", tenant, "--data-dir", dir_, "--json"}, key_env);
  ASSERT_EQ(rotated.exit_code, 0) << rotated.err << rotated.out;
  JsonValue r = rotated.Json();
  EXPECT_EQ(r.Find("content_key_version")->as_int(), 2);
  EXPECT_GE(r.Find("rewrapped")->as_int(), 1);

  HttpReply sent = Call(port(), "POST", "/v1/messages", token_, Template(kPhone));
  ASSERT_EQ(sent.status, 202) << sent.body;
  const std::string id = After(sent.body, R"("id":")");
  EXPECT_TRUE(WaitFor([&] { return State(port(), token_, id) == "read"; }));
  OptIn("4917600000009");  // a new subject after the rotation
  CliResult after = RunConsentry({"keys", "status", "--data-dir", dir_, "--json"}, key_env);
  JsonValue a = after.Json();
  const JsonValue& t = a.Find("tenants")->as_array().front();
  EXPECT_EQ(t.Find("content_key_version")->as_int(), 2);
  EXPECT_EQ(t.Find("subject_keys")->as_int(), 2);
  // Whatever the serving process sealed under its cached view meanwhile, a
  // resumed run leaves every subject key under the current version.
  CliResult resumed =
      RunConsentry({"keys", "rotate-tenant", "--tenant", tenant, "--resume", "--data-dir", dir_, "--json"}, key_env);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_EQ(resumed.Json().Find("content_key_version")->as_int(), 2);
  CliResult final_status = RunConsentry({"keys", "status", "--data-dir", dir_, "--json"}, key_env);
  EXPECT_NE(final_status.out.find(R"("subject_keys_by_content_key_version":{"2":2})"), std::string::npos)
      << final_status.out;
}

// covers: F-20
TEST_F(WhatsAppDemoTest, IdempotencyKeyOverHttp) {
  OptIn(kPhone);
  OptIn("4917600000000");
  auto send = [&](const std::string& body) {
    return Call(port(), "POST", "/v1/messages", token_, body, {{"Idempotency-Key", "order-42"}});
  };
  HttpReply a = send(Template(kPhone));
  HttpReply b = send(Template(kPhone));
  ASSERT_EQ(a.status, 202);
  ASSERT_EQ(b.status, 202);
  EXPECT_EQ(After(a.body, R"("id":")"), After(b.body, R"("id":")"));
  EXPECT_EQ(b.Header("idempotent-replayed"), "true");
  HttpReply c = send(Template("4917600000000"));
  EXPECT_EQ(c.status, 422);
  EXPECT_EQ(c.ErrorCode(), "idempotency_key_reuse");
}

// What an unmodified Cloud API SDK sends when its base URL points here.
// A multipart upload as SDKs send it (no `type` field: the file part's type counts).
std::optional<HttpReply> UploadMedia(int port, const std::string& token, const std::string& path,
                                     const std::string& mime, const std::string& bytes) {
  const std::string boundary = "----sdkFormBoundary7MA4YWxk";
  std::string body = "--" + boundary + "\r\nContent-Disposition: form-data; name=\"messaging_product\"\r\n\r\nwhatsapp\r\n";
  body += "--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"receipt\"\r\nContent-Type: " +
          mime + "\r\n\r\n" + bytes + "\r\n--" + boundary + "--\r\n";
  return Exchange(port, BuildRequest("POST", path, {{"Authorization", "Bearer " + token},
                                                    {"Content-Type", "multipart/form-data; boundary=" + boundary}},
                                     body));
}

// covers: CHAN-08
TEST_F(WhatsAppDemoTest, MediaPassesThroughTheGatewayAndStaysWithItsTenant) {
  // A PNG whose bytes hold CR, LF and "--": the multipart framing must not cut it.
  const std::string png = std::string("\x89PNG\r\n\x1A\n", 8) + "\r\n--canary-media-7781\r\n" + std::string(3000, '\x07');
  auto uploaded = UploadMedia(port(), token_, "/v23.0/100000000000002/media", "image/png", png);
  ASSERT_TRUE(uploaded.has_value());
  ASSERT_EQ(uploaded->status, 200) << uploaded->body;
  const std::string media_id = After(uploaded->body, R"("id":")");
  ASSERT_FALSE(media_id.empty()) << uploaded->body;

  // Meta's description, with the URL pointing at the gateway, signed for 5 minutes.
  HttpReply described = Call(port(), "GET", "/v23.0/" + media_id, token_);
  ASSERT_EQ(described.status, 200) << described.body;
  EXPECT_NE(described.body.find(R"("mime_type":"image/png")"), std::string::npos) << described.body;
  EXPECT_NE(described.body.find(R"("sha256":")" + HexEncode(Sha256({png})) + "\""), std::string::npos);
  EXPECT_NE(described.body.find(R"("file_size":)" + std::to_string(png.size())), std::string::npos);
  const std::string marker = "/v1/media/med_" + media_id + "/download?";
  ASSERT_NE(described.body.find(marker), std::string::npos) << described.body;
  EXPECT_NE(described.body.find(R"("url":"https://wa.example.test/gateway)" + marker), std::string::npos)
      << described.body;
  std::string link = described.body.substr(described.body.find(marker));
  link = link.substr(0, link.find('"'));
  // The link needs no key (SDKs send none to unknown hosts), and gives the exact bytes.
  HttpReply download = Call(port(), "GET", link);
  ASSERT_EQ(download.status, 200) << download.body;
  EXPECT_EQ(download.body, png);
  EXPECT_EQ(download.Header("content-type"), "image/png");
  EXPECT_EQ(download.Header("cache-control"), "no-store");
  std::string forged = link;
  forged[forged.size() - 1] = forged.back() == 'a' ? 'b' : 'a';
  EXPECT_EQ(Call(port(), "GET", forged).status, 404);
  // covers: AUD-01 (a forged link is on the record like a refused key)
  EXPECT_TRUE(WaitFor([&] {
    CliResult refusals = RunConsentry({"audit", "search", "--data-dir", dir_, "--action", "auth.failure", "--json"});
    return refusals.out.find("/v1/media/{id}/download") != std::string::npos;
  }));
  // Another tenant named in the link, or an expiry pushed out: 404 too.
  Credentials other = CreateTenantWithKey(dir_, "other-shop", "messages:read,messages:send");
  std::string swapped = link;
  swapped.replace(swapped.find("tenant=") + 7, other.tenant_id.size(), other.tenant_id);
  EXPECT_EQ(Call(port(), "GET", swapped).status, 404);
  const size_t exp_at = link.find("expires=") + 8;
  std::string later = link;
  later.replace(exp_at, 13, std::to_string(std::stoll(link.substr(exp_at, 13)) + 3'600'000));
  EXPECT_EQ(Call(port(), "GET", later).status, 404);
  // SDKs may name the number on GET /{media-id}: Meta's id is not a phone number.
  EXPECT_EQ(Call(port(), "GET", "/v23.0/" + media_id + "?phone_number_id=100000000000002", token_).status, 200);
  EXPECT_EQ(Call(port(), "GET", "/v1/media/med_" + media_id + "/download", token_).body, png);  // or with a key

  // The bytes passed through: nothing under the data directory holds them.
  for (const auto& f : std::filesystem::recursive_directory_iterator(dir_)) {
    if (!f.is_regular_file()) continue;
    std::ifstream in(f.path(), std::ios::binary);
    std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(content.find("canary-media-7781"), std::string::npos) << f.path();
  }

  // Another tenant sees nothing of it, even knowing the id.
  EXPECT_NE(Call(port(), "GET", "/v23.0/" + media_id, other.token).body.find(R"("code":100)"), std::string::npos);
  EXPECT_EQ(Call(port(), "GET", "/v1/media/med_" + media_id + "/download", other.token).status, 404);
  EXPECT_NE(Call(port(), "DELETE", "/v23.0/" + media_id, other.token).body.find(R"("code":100)"), std::string::npos);

  // A document over the ordinary 1 MiB body limit goes through the upload route…
  const std::string pdf = "Minutes of the meeting\n" + std::string(2 << 20, 'p');
  auto big = UploadMedia(port(), token_, "/v23.0/100000000000002/media", "text/plain", pdf);
  ASSERT_TRUE(big.has_value());
  EXPECT_EQ(big->status, 200) << big->body;
  // …but not without credentials, or on another path: refused before the body is read.
  auto anonymous = Exchange(port(), BuildRequest("POST", "/v23.0/100000000000002/media",
                                                 {{"Content-Type", "multipart/form-data; boundary=x"}}, pdf));
  ASSERT_TRUE(anonymous.has_value());
  EXPECT_EQ(anonymous->status, 413);
  auto elsewhere = Exchange(port(), BuildRequest("POST", "/v1/messages/media", {{"Authorization", "Bearer " + token_}}, pdf));
  ASSERT_TRUE(elsewhere.has_value());
  EXPECT_EQ(elsewhere->status, 413);

  // Refused before anything leaves: a type WhatsApp does not take, and content that is not what it claims.
  auto exe = UploadMedia(port(), token_, "/100000000000002/media", "application/x-msdownload", "MZ\x90");
  ASSERT_TRUE(exe.has_value());
  EXPECT_NE(exe->body.find(R"("code":131053)"), std::string::npos) << exe->body;
  auto fake_pdf = UploadMedia(port(), token_, "/100000000000002/media", "application/pdf", "MZ not a pdf");
  ASSERT_TRUE(fake_pdf.has_value());
  EXPECT_NE(fake_pdf->body.find("media_content_mismatch"), std::string::npos) << fake_pdf->body;

  // A customer sends a photo: the tenant reads it through the gateway.
  const std::string jpeg = std::string("\xFF\xD8\xFF\xE0", 4) + std::string(500, 'j');
  HttpReply sent = Call(sandbox_port_, "POST", "/_sandbox/inbound", "",
                        std::string(R"({"from":")") + kPhone + R"(","type":"image","media":{"mime_type":"image/jpeg",)" +
                            R"("data_base64":")" + Base64(jpeg) + R"(","caption":"my receipt"}})");
  ASSERT_EQ(sent.status, 200) << sent.body;
  const std::string inbound_id = After(sent.body, R"("media_id":")");
  ASSERT_FALSE(inbound_id.empty()) << sent.body;
  ASSERT_TRUE(WaitFor([&] { return Call(port(), "GET", "/v23.0/" + inbound_id, token_).status == 200; }));
  EXPECT_EQ(Call(port(), "GET", "/v1/media/med_" + inbound_id + "/download", token_).body, jpeg);

  // Deleted at Meta through the gateway, and forgotten.
  HttpReply deleted = Call(port(), "DELETE", "/v23.0/" + media_id, token_);
  EXPECT_EQ(deleted.status, 200) << deleted.body;
  EXPECT_EQ(deleted.body, R"({"success":true})");
  EXPECT_NE(Call(port(), "GET", "/v23.0/" + media_id, token_).body.find(R"("code":100)"), std::string::npos);
}

// A one-page PDF showing `line`, written by hand as the simplest producers
// do (no cross-reference table: readers rebuild it).
std::string HandMadePdf(const std::string& line) {
  const std::string content = "BT /F1 12 Tf 72 700 Td (" + line + ") Tj ET";
  return "%PDF-1.4\n1 0 obj <</Type/Catalog/Pages 2 0 R>> endobj\n"
         "2 0 obj <</Type/Pages/Kids[3 0 R]/Count 1>> endobj\n"
         "3 0 obj <</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]/Contents 4 0 R"
         "/Resources<</Font<</F1 5 0 R>>>>>> endobj\n"
         "4 0 obj <</Length " + std::to_string(content.size()) + ">> stream\n" + content +
         "\nendstream endobj\n5 0 obj <</Type/Font/Subtype/Type1/BaseFont/Helvetica>> endobj\n"
         "trailer <</Root 1 0 R>>\n%%EOF\n";
}

// The same, with `value` filled in a form field: page text does not show it.
std::string HandMadeFormPdf(const std::string& line, const std::string& value) {
  const std::string content = "BT /F1 12 Tf 72 700 Td (" + line + ") Tj ET";
  return "%PDF-1.4\n1 0 obj <</Type/Catalog/Pages 2 0 R/AcroForm<</Fields[6 0 R]>>>> endobj\n"
         "2 0 obj <</Type/Pages/Kids[3 0 R]/Count 1>> endobj\n"
         "3 0 obj <</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]/Contents 4 0 R"
         "/Resources<</Font<</F1 5 0 R>>>>/Annots[6 0 R]>> endobj\n"
         "4 0 obj <</Length " + std::to_string(content.size()) + ">> stream\n" + content +
         "\nendstream endobj\n5 0 obj <</Type/Font/Subtype/Type1/BaseFont/Helvetica>> endobj\n"
         "6 0 obj <</Type/Annot/Subtype/Widget/FT/Tx/T(card)/V(" + value + ")/Rect[72 600 300 620]/P 3 0 R>> endobj\n"
         "trailer <</Root 1 0 R>>\n%%EOF\n";
}

// covers: CHAN-04, CHAN-08
// Documents are read (in a child process) and scanned like messages: a card
// number in an upload stops it before it leaves, a document that cannot be
// read is refused, and a customer's document holding a card number is not
// handed on; what was found is audited, never the number.
TEST_F(WhatsAppDemoTest, DocumentsAreScannedBeforeTheyLeaveAndBeforeTheyAreHandedOn) {
  const std::string path = "/v23.0/100000000000002/media";
  auto clean = UploadMedia(port(), token_, path, "application/pdf", HandMadePdf("Your appointment is on Monday"));
  ASSERT_TRUE(clean.has_value());
  EXPECT_EQ(clean->status, 200) << clean->body;
  auto card_pdf = UploadMedia(port(), token_, path, "application/pdf", HandMadePdf("Card 4111 1111 1111 1111"));
  ASSERT_TRUE(card_pdf.has_value());
  EXPECT_NE(card_pdf->body.find(R"("code":131009)"), std::string::npos) << card_pdf->body;
  EXPECT_NE(card_pdf->body.find("sensitive_identifier"), std::string::npos) << card_pdf->body;
  // A filled-in form keeps the number outside the page's text.
  auto form = UploadMedia(port(), token_, path, "application/pdf",
                          HandMadeFormPdf("Payment authorisation", "5555 5555 5555 4444"));
  ASSERT_TRUE(form.has_value());
  EXPECT_NE(form->body.find(R"("code":131009)"), std::string::npos) << form->body;
  auto card_text = UploadMedia(port(), token_, path, "text/plain", "IBAN DE89 3704 0044 0532 0130 00");
  ASSERT_TRUE(card_text.has_value());
  EXPECT_NE(card_text->body.find("sensitive_identifier"), std::string::npos) << card_text->body;
  // Cannot be read, so cannot be checked: refused (messaging.unscannable_documents = refuse).
  auto damaged = UploadMedia(port(), token_, path, "application/pdf", "%PDF-1.7\n" + std::string(3000, 'p'));
  ASSERT_TRUE(damaged.has_value());
  EXPECT_NE(damaged->body.find("media_unscannable"), std::string::npos) << damaged->body;
  auto legacy = UploadMedia(port(), token_, path, "application/msword",
                            std::string("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", 8) + std::string(600, '\0'));
  ASSERT_TRUE(legacy.has_value());
  EXPECT_NE(legacy->body.find("media_unscannable"), std::string::npos) << legacy->body;

  // A customer sends a document with a card number in it: withheld.
  const std::string statement = "Statement\nCard 4111 1111 1111 1111\nThank you";
  HttpReply sent = Call(sandbox_port_, "POST", "/_sandbox/inbound", "",
                        std::string(R"({"from":")") + kPhone + R"(","type":"document","media":{"mime_type":"text/plain",)" +
                            R"("data_base64":")" + Base64(statement) + R"(","filename":"statement.txt"}})");
  ASSERT_EQ(sent.status, 200) << sent.body;
  const std::string inbound_id = After(sent.body, R"("media_id":")");
  ASSERT_FALSE(inbound_id.empty()) << sent.body;
  ASSERT_TRUE(WaitFor([&] { return Call(port(), "GET", "/v23.0/" + inbound_id, token_).status == 200; }));
  HttpReply withheld = Call(port(), "GET", "/v1/media/med_" + inbound_id + "/download", token_);
  EXPECT_EQ(withheld.status, 422) << withheld.body;
  EXPECT_EQ(withheld.ErrorCode(), "media_quarantined");
  EXPECT_EQ(withheld.body.find("4111 1111"), std::string::npos);

  // Pictures are read too (text recognition): a photo of a card number is
  // refused before it leaves, and withheld when a customer sends one.
  const std::string card_photo = ReadFile(std::string(CONSENTRY_TEST_DATA) + "/card-photo.png");
  ASSERT_GT(card_photo.size(), 1000u);
  auto photo = UploadMedia(port(), token_, path, "image/png", card_photo);
  ASSERT_TRUE(photo.has_value());
  EXPECT_NE(photo->body.find(R"("code":131009)"), std::string::npos) << photo->body;
  auto clean_photo = UploadMedia(port(), token_, path, "image/png",
                                 ReadFile(std::string(CONSENTRY_TEST_DATA) + "/clean-photo.png"));
  ASSERT_TRUE(clean_photo.has_value());
  EXPECT_EQ(clean_photo->status, 200) << clean_photo->body;
  HttpReply snapped = Call(sandbox_port_, "POST", "/_sandbox/inbound", "",
                           std::string(R"({"from":")") + kPhone + R"(","type":"image","media":{"mime_type":"image/png",)" +
                               R"("data_base64":")" + Base64(card_photo) + R"("}})");
  ASSERT_EQ(snapped.status, 200) << snapped.body;
  const std::string snapped_id = After(snapped.body, R"("media_id":")");
  ASSERT_FALSE(snapped_id.empty()) << snapped.body;
  ASSERT_TRUE(WaitFor([&] { return Call(port(), "GET", "/v23.0/" + snapped_id, token_).status == 200; }));
  HttpReply withheld_photo = Call(port(), "GET", "/v1/media/med_" + snapped_id + "/download", token_);
  EXPECT_EQ(withheld_photo.status, 422) << withheld_photo.body;
  EXPECT_EQ(withheld_photo.ErrorCode(), "media_quarantined");

  // A document goes out only as the id of a file uploaded (so scanned)
  // through the gateway: not by link, not as a file the gateway never read.
  const std::string clean_id = After(clean->body, R"("id":")");
  ASSERT_FALSE(clean_id.empty()) << clean->body;
  auto document = [&](const std::string& media) {
    return std::string(R"({"to":")") + kPhone + R"(","type":"document","document":{)" + media + R"(,"filename":"a.pdf"}})";
  };
  HttpReply by_id = Call(port(), "POST", "/v1/messages", token_, document(R"("id":")" + clean_id + R"(")"));
  EXPECT_EQ(by_id.status, 202) << by_id.body;
  HttpReply by_link = Call(port(), "POST", "/v1/messages", token_, document(R"("link":"https://example.com/a.pdf")"));
  EXPECT_EQ(by_link.status, 422) << by_link.body;
  EXPECT_EQ(by_link.ErrorCode(), "media_unscannable");
  HttpReply header = Call(port(), "POST", "/v1/messages", token_,
                         std::string(R"({"to":")") + kPhone +
                             R"(","type":"interactive","interactive":{"type":"button","header":{"type":"document",)"
                             R"("document":{"link":"https://example.com/a.pdf"}},"body":{"text":"Your invoice"},)"
                             R"("action":{"buttons":[{"type":"reply","reply":{"id":"ok","title":"OK"}}]}}})");
  EXPECT_EQ(header.ErrorCode(), "media_unscannable") << header.body;
  HttpReply theirs = Call(port(), "POST", "/v1/messages", token_, document(R"("id":")" + inbound_id + R"(")"));
  EXPECT_EQ(theirs.ErrorCode(), "media_unscannable") << theirs.body;
  HttpReply graph = Call(port(), "POST", "/v23.0/100000000000002/messages", token_,
                         R"({"messaging_product":"whatsapp",)" + document(R"("link":"https://example.com/a.pdf")").substr(1));
  EXPECT_NE(graph.body.find(R"("code":131053)"), std::string::npos) << graph.body;

  // On the record: what was found and where, never the value.
  HttpReply uploads = Call(port(), "GET", "/v1/audit/events?action=media.upload&limit=50", token_);
  EXPECT_NE(uploads.body.find(R"("outcome":"sensitive_identifier")"), std::string::npos) << uploads.body;
  EXPECT_NE(uploads.body.find(R"("outcome":"media_unscannable")"), std::string::npos) << uploads.body;
  EXPECT_NE(uploads.body.find(R"(\"type\":\"card\")"), std::string::npos) << uploads.body;
  EXPECT_NE(uploads.body.find(R"(\"recognised\":true)"), std::string::npos) << uploads.body;
  HttpReply refused_sends = Call(port(), "GET", "/v1/audit/events?action=send.refused&limit=10", token_);
  EXPECT_NE(refused_sends.body.find(R"("outcome":"media_unscannable")"), std::string::npos) << refused_sends.body;
  HttpReply quarantined = Call(port(), "GET", "/v1/audit/events?action=media.quarantine&limit=10", token_);
  EXPECT_NE(quarantined.body.find(R"("outcome":"sensitive_content")"), std::string::npos) << quarantined.body;
  // (The values as written: hashes and ids are hex, so "4111" alone may occur in them by chance.)
  for (const HttpReply* r : {&uploads, &quarantined, &refused_sends}) {
    EXPECT_EQ(r->body.find("4111 1111"), std::string::npos);
    EXPECT_EQ(r->body.find("DE89 3704"), std::string::npos);
  }
}

// An SDK replies, reacts and marks as read through the Graph-compatible
// API with the ids the gateway gave it: the send's `msg_…`, and the
// received message's `inm_…` (as forwarded events and the conversation read
// name it). Meta (the sandbox, which refuses ids it does not know, as Meta
// does) receives its own wamids for them.
// covers: MIN-03
TEST_F(WhatsAppDemoTest, SdkRepliesReactionsAndReadReceiptsByTheGatewaysIdsReachMetaAsWamids) {
  const std::string subject = OptIn(kPhone);
  const std::string graph = "/v23.0/100000000000002/messages";
  auto graph_send = [&](const std::string& body) {
    HttpReply r = Call(port(), "POST", graph, token_, body);
    EXPECT_EQ(r.status, 200) << body << " → " << r.body;
    return After(r.body, R"("messages":[{"id":")");
  };
  const std::string tmpl = graph_send(std::string(R"({"messaging_product":"whatsapp","to":")") + kPhone +
                                      R"(","type":"template","template":{"name":"order_shipped","language":{"code":"en_US"},"components":[{"type":"body","parameters":[{"type":"text","text":"J"}]}]}})");
  ASSERT_EQ(tmpl.rfind("msg_", 0), 0u);
  // Replied to and reacted to at once: the reply waits for the template's wamid.
  const std::string reply = graph_send(std::string(R"({"messaging_product":"whatsapp","to":")") + kPhone +
                                       R"(","context":{"message_id":")" + tmpl +
                                       R"("},"type":"template","template":{"name":"order_shipped","language":{"code":"en_US"},"components":[{"type":"body","parameters":[{"type":"text","text":"K"}]}]}})");
  const std::string reaction = graph_send(std::string(R"({"messaging_product":"whatsapp","to":")") + kPhone +
                                          R"(","type":"reaction","reaction":{"message_id":")" + tmpl +
                                          R"(","emoji":"\ud83d\udc4d"}})");
  for (const std::string& id : {tmpl, reply, reaction}) {
    EXPECT_TRUE(WaitFor([&] { return State(port(), token_, id) == "read"; })) << id << " " << State(port(), token_, id);
  }
  // The customer's YES is a received message: read back under its gateway id.
  HttpReply conversation = Call(port(), "GET", "/v1/subjects/" + subject + "/conversation?limit=50", token_);
  const std::string inm = After(conversation.body, R"("direction":"inbound","id":")");
  ASSERT_EQ(inm.rfind("inm_", 0), 0u) << conversation.body;
  HttpReply read = Call(port(), "POST", graph, token_,
                        R"({"messaging_product":"whatsapp","status":"read","message_id":")" + inm + R"("})");
  EXPECT_EQ(read.status, 200) << read.body;
  EXPECT_EQ(read.body, R"({"success":true})");

  std::string tmpl_wamid;
  {
    Result<JsonValue> got = ParseJson(Call(port(), "GET", "/v1/messages/" + tmpl, token_).body);
    ASSERT_TRUE(got.ok() && got->Find("wamid") != nullptr);
    tmpl_wamid = got->Find("wamid")->as_string();
  }
  ASSERT_TRUE(WaitFor([&] {
    Result<JsonValue> sent = ParseJson(Call(sandbox_port_, "GET", "/_sandbox/messages", "").body);
    return sent.ok() && sent->Find("reads") != nullptr && !sent->Find("reads")->as_array().empty();
  }));
  Result<JsonValue> sent = ParseJson(Call(sandbox_port_, "GET", "/_sandbox/messages", "").body);
  ASSERT_TRUE(sent.ok());
  bool replied = false, reacted = false;
  for (const JsonValue& m : sent->Find("messages")->as_array()) {
    const JsonValue& body = *m.Find("body");
    if (const JsonValue* c = body.Find("context")) replied |= c->Find("message_id")->as_string() == tmpl_wamid;
    if (const JsonValue* r = body.Find("reaction")) reacted |= r->Find("message_id")->as_string() == tmpl_wamid;
  }
  EXPECT_TRUE(replied);
  EXPECT_TRUE(reacted);
  const std::string read_id = sent->Find("reads")->as_array().front().Find("message_id")->as_string();
  EXPECT_EQ(read_id.rfind("wamid.", 0), 0u) << read_id;
  // Unknown ids are refused in Meta's envelope, with the reason.
  HttpReply unknown = Call(port(), "POST", graph, token_,
                           R"({"messaging_product":"whatsapp","status":"read","message_id":"inm_000000000000000000000000"})");
  EXPECT_EQ(unknown.status, 400) << unknown.body;
  EXPECT_NE(unknown.body.find(R"("code":131009)"), std::string::npos) << unknown.body;
  EXPECT_NE(unknown.body.find("unknown_message_reference"), std::string::npos) << unknown.body;
}

// covers: CONS-03, CHAN-01
TEST_F(WhatsAppDemoTest, SdkShapedRequestsGetMetaShapedAnswers) {
  OptIn(kPhone);
  const std::string body = std::string(R"({"messaging_product":"whatsapp","recipient_type":"individual","to":")") +
                           kPhone +
                           R"(","type":"template","template":{"name":"order_shipped","language":{"code":"en_US"},"components":[{"type":"body","parameters":[{"type":"text","text":"J"}]},{"type":"button","sub_type":"quick_reply","index":0,"parameters":[{"type":"payload","payload":"OK"}]}]}})";
  // Chunked, as some HTTP clients send it, to the versioned path.
  std::string chunked_body;
  chunked_body += [&] {
    char size[16];
    std::snprintf(size, sizeof size, "%zx", body.size());
    return std::string(size);
  }() + "\r\n" + body + "\r\n0\r\n\r\n";
  std::string raw = "POST /v23.0/100000000000002/messages HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token_ +
                    "\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked_body;
  auto reply = Exchange(port(), raw);
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->status, 200) << reply->body;
  EXPECT_NE(reply->body.find(R"("contacts":[{"input":"4917612345678","wa_id":"4917612345678"}])"), std::string::npos)
      << reply->body;
  EXPECT_NE(reply->body.find(R"("message_status":"accepted")"), std::string::npos);
  // The unversioned path works too (clients that lose the version segment).
  HttpReply unversioned = Call(port(), "POST", "/100000000000002/messages", token_, body);
  EXPECT_EQ(unversioned.status, 200) << unversioned.body;
  // A wrong token is code 190, in Meta's envelope, with fbtrace_id.
  HttpReply bad = Call(port(), "POST", "/v23.0/100000000000002/messages", "not-a-key", body);
  EXPECT_EQ(bad.status, 401);
  EXPECT_NE(bad.body.find(R"("type":"OAuthException","code":190)"), std::string::npos) << bad.body;
  EXPECT_NE(bad.body.find(R"("fbtrace_id":")"), std::string::npos);
  // Validation errors carry Meta's codes.
  HttpReply invalid = Call(port(), "POST", "/v23.0/100000000000002/messages", token_,
                           R"({"messaging_product":"whatsapp","to":"4917612345678","type":"text","text":{}})");
  EXPECT_EQ(invalid.status, 400);
  EXPECT_NE(invalid.body.find(R"("code":131008)"), std::string::npos) << invalid.body;
  // Another number id is an unknown object (code 100), as on Meta.
  HttpReply unknown = Call(port(), "POST", "/v23.0/999999999999999/messages", token_, body);
  EXPECT_EQ(unknown.status, 400);
  EXPECT_NE(unknown.body.find(R"("code":100)"), std::string::npos);
  // No consent: Meta's "access denied" with the gateway's code in the details.
  HttpReply no_consent = Call(port(), "POST", "/v23.0/100000000000002/messages", token_,
                              R"({"messaging_product":"whatsapp","to":"4917699999999","type":"template","template":{"name":"order_shipped","language":{"code":"en_US"},"components":[{"type":"body","parameters":[{"type":"text","text":"J"}]}]}})");
  EXPECT_EQ(no_consent.status, 403);
  EXPECT_NE(no_consent.body.find(R"("code":131005)"), std::string::npos) << no_consent.body;
  EXPECT_NE(no_consent.body.find("consent_required"), std::string::npos);
  // …and in the message an SDK shows: the gateway's code and what to do.
  {
    Result<JsonValue> e = ParseJson(no_consent.body);
    ASSERT_TRUE(e.ok());
    const JsonValue& error = *e->Find("error");
    EXPECT_EQ(error.Find("message")->as_string().rfind("(#131005) consent_required: subject sub_", 0), 0u)
        << no_consent.body;
    EXPECT_NE(error.Find("message")->as_string().find("/consents"), std::string::npos) << no_consent.body;
    EXPECT_EQ(error.Find("error_data")->Find("consentry_code")->as_string(), "consent_required");
    EXPECT_EQ(error.Find("error_data")->Find("details")->as_string().rfind("consent_required: ", 0), 0u);
  }
  // Free-form outside the window: Meta's 131047, the gateway's reason in the message.
  HttpReply outside = Call(port(), "POST", "/v23.0/100000000000002/messages", token_,
                           R"({"messaging_product":"whatsapp","to":"4917699999998","type":"text","text":{"body":"hi"}})");
  EXPECT_EQ(outside.status, 400) << outside.body;
  EXPECT_NE(outside.body.find(R"("code":131047)"), std::string::npos) << outside.body;
  EXPECT_NE(outside.body.find(R"("message":"(#131047) template_required: )"), std::string::npos) << outside.body;
  // Mark as read.
  HttpReply read = Call(port(), "POST", "/v23.0/100000000000002/messages", token_,
                        R"({"messaging_product":"whatsapp","status":"read","message_id":"wamid.X"})");
  EXPECT_EQ(read.status, 200);
  EXPECT_EQ(read.body, R"({"success":true})");
}

// covers: SEC-02, SEC-03 (issue 5: master key missing or wrong; master-key rotation offline and online)
// The master key is checked at start: a wrong or missing key for a data
// directory with sealed data stops the gateway with a clear message.
TEST(MasterKeyStartTest, AWrongOrMissingKeyRefusesToStart) {
  std::string dir = MakeTempDir("masterkey");
  Credentials admin = CreateTenantWithKey(dir, "mk", "admin");
  {
    ServerProcess first(dir, {"CONSENTRY_MASTER_KEY=" + std::string(64, 'a')});
    ASSERT_TRUE(first.started());
    HttpReply created = Call(first.port(), "POST", "/v1/channels", admin.token,
                             R"({"phone_number_id":"100000000000002","waba_id":"100000000000001","access_token":"t","app_secret":"s","verify_token":"v"})");
    ASSERT_EQ(created.status, 201) << created.body;
  }
  const std::vector<std::string> serve = {"serve", "--data-dir", dir, "--listen", "127.0.0.1:0"};
  CliResult wrong = RunConsentry(serve, {"CONSENTRY_MASTER_KEY=" + std::string(64, 'b')});
  EXPECT_NE(wrong.exit_code, 0);
  EXPECT_NE(wrong.err.find("master_key_wrong"), std::string::npos) << wrong.err;
  CliResult missing = RunConsentry(serve);
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE(missing.err.find("master_key_missing"), std::string::npos) << missing.err;
  {
    ServerProcess right(dir, {"CONSENTRY_MASTER_KEY=" + std::string(64, 'a')});
    EXPECT_TRUE(right.started());
  }

  // Rotation: every tenant key re-wrapped under the new master key at once.
  const std::string new_key_file = dir + "/new-master.key";
  {
    std::ofstream(new_key_file) << std::string(64, 'd');
  }
  std::filesystem::permissions(new_key_file, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  CliResult rotated = RunConsentry({"keys", "rotate-master", "--data-dir", dir, "--new-key-file", new_key_file, "--json"},
                                   {"CONSENTRY_MASTER_KEY=" + std::string(64, 'a')});
  ASSERT_EQ(rotated.exit_code, 0) << rotated.err << rotated.out;
  EXPECT_NE(rotated.out.find(R"("rewrapped":2)"), std::string::npos) << rotated.out;  // pepper and content key
  CliResult old_key = RunConsentry(serve, {"CONSENTRY_MASTER_KEY=" + std::string(64, 'a')});
  EXPECT_NE(old_key.err.find("master_key_wrong"), std::string::npos) << old_key.err;
  ServerProcess rotated_server(dir, {"CONSENTRY_MASTER_KEY=" + std::string(64, 'd')});
  ASSERT_TRUE(rotated_server.started());
  // The channel's sealed verify token still opens: the handshake answers.
  HttpReply channels = Call(rotated_server.port(), "GET", "/v1/channels", admin.token);
  const std::string channel = After(channels.body, R"("id":")");
  HttpReply handshake = Call(rotated_server.port(), "GET",
                             "/webhooks/whatsapp/" + channel + "?hub.mode=subscribe&hub.verify_token=v&hub.challenge=ok123",
                             "");
  EXPECT_EQ(handshake.status, 200);
  EXPECT_EQ(handshake.body, "ok123");
  rotated_server.Stop();

  // Online rotation (no gateway stopped at once): each gateway restarts
  // with the new key and the old one as previous, serves, and the
  // re-wrap runs while it does; the old key can then go.
  auto key_file = [&](const std::string& name, char fill) {
    const std::string path = dir + "/" + name;
    std::ofstream(path) << std::string(64, fill);
    std::filesystem::permissions(path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    return path;
  };
  const std::string key_d = key_file("d.key", 'd'), key_e = key_file("e.key", 'e');
  const std::vector<std::string> during = {"CONSENTRY_VAULT_MASTER_KEY_FILE=" + key_e,
                                           "CONSENTRY_VAULT_PREVIOUS_MASTER_KEY_FILE=" + key_d};
  ServerProcess rolling(dir, during);
  ASSERT_TRUE(rolling.started()) << rolling.Stderr();
  CliResult status = RunConsentry({"keys", "status", "--data-dir", dir, "--json"}, during);
  EXPECT_NE(status.out.find(R"("rotating_from":"local:)"), std::string::npos) << status.out;
  CliResult finished = RunConsentry({"keys", "rotate-master", "--data-dir", dir, "--json"}, during);
  ASSERT_EQ(finished.exit_code, 0) << finished.out << finished.err;
  EXPECT_NE(finished.out.find(R"("rewrapped":2)"), std::string::npos) << finished.out;
  HttpReply still = Call(rolling.port(), "GET",
                         "/webhooks/whatsapp/" + channel + "?hub.mode=subscribe&hub.verify_token=v&hub.challenge=ok456", "");
  EXPECT_EQ(still.body, "ok456");
  rolling.Stop();
  ServerProcess after(dir, {"CONSENTRY_VAULT_MASTER_KEY_FILE=" + key_e});
  EXPECT_TRUE(after.started());
  after.Stop();
  CliResult old_only = RunConsentry(serve, {"CONSENTRY_VAULT_MASTER_KEY_FILE=" + key_d});
  EXPECT_NE(old_only.err.find("master_key_wrong"), std::string::npos) << old_only.err;
  // Without a rotation under way, there is nothing to finish.
  CliResult nothing = RunConsentry({"keys", "rotate-master", "--data-dir", dir, "--json"},
                                   {"CONSENTRY_VAULT_MASTER_KEY_FILE=" + key_e});
  EXPECT_NE(nothing.out.find(R"("code":"no_rotation")"), std::string::npos) << nothing.out;
}

// covers: F-01, W-01
// SIGKILL while signed webhooks stream in: every delivery answered 200 is
// in the database after the restart (the 200 follows the commit).
TEST(WebhookDurabilityTest, EveryAcknowledgedInboundMessageSurvivesSigkill) {
  std::string dir = MakeTempDir("kill");
  const std::vector<std::string> env = {"CONSENTRY_MASTER_KEY=" + std::string(64, 'a')};
  Credentials admin = CreateTenantWithKey(dir, "kill", "admin,audit:read");
  auto server = std::make_unique<ServerProcess>(dir, env);
  ASSERT_TRUE(server->started());
  const std::string channel_body =
      R"({"phone_number_id":"100000000000002","waba_id":"100000000000001","access_token":"t","app_secret":"the-app-secret","verify_token":"v"})";
  HttpReply created = Call(server->port(), "POST", "/v1/channels", admin.token, channel_body);
  ASSERT_EQ(created.status, 201) << created.body;
  std::string channel = After(created.body, R"("id":")");

  std::atomic<int> acked{0}, attempted{0};
  std::atomic<bool> stop{false};
  int port = server->port();
  std::thread sender([&] {
    for (int i = 0; !stop.load(); ++i) {
      std::string value = R"({"messaging_product":"whatsapp","metadata":{"phone_number_id":"100000000000002"},"messages":[{"from":"49176)" +
                          std::to_string(10000000 + i) + R"(","id":"wamid.K)" + std::to_string(i) +
                          R"(","timestamp":"1771423555","type":"text","text":{"body":"hello"}}]})";
      std::string body = whatsapp::WebhookEnvelope("100000000000001", "messages", value);
      std::string raw = BuildRequest("POST", "/webhooks/whatsapp/" + channel,
                                     {{"Content-Type", "application/json"},
                                      {"X-Hub-Signature-256", whatsapp::HubSignature("the-app-secret", body)}},
                                     body);
      ++attempted;
      auto reply = Exchange(port, raw, 2000);
      if (!reply) break;  // the server is gone
      if (reply->status == 200) ++acked;
    }
  });
  ASSERT_TRUE(WaitFor([&] { return acked.load() >= 50; }, 20000));
  server->Kill();
  stop = true;
  sender.join();
  const int acknowledged = acked.load();

  ServerProcess restarted(dir, env);
  ASSERT_TRUE(restarted.started());
  // Each stored message has its audit entry, committed in the same transaction.
  int stored = 0;
  std::string after = "0";
  while (true) {
    HttpReply page = Call(restarted.port(), "GET", "/v1/audit/events?action=message.receive&limit=100&after=" + after,
                          admin.token);
    ASSERT_EQ(page.status, 200) << page.body;
    size_t pos = 0;
    int n = 0;
    std::string last;
    while ((pos = page.body.find("\"seq\":", pos)) != std::string::npos) {
      pos += 6;
      last = page.body.substr(pos, page.body.find_first_of(",}", pos) - pos);
      ++n;
    }
    stored += n;
    if (n < 100) break;
    after = last;
  }
  EXPECT_GE(stored, acknowledged);
  EXPECT_LE(stored, attempted.load());
}

// covers: B-11
// A signed delivery the gateway cannot read is kept aside (on a worker
// thread: the socket threads do not wait on its write) and answered 200, so
// Meta does not retry it forever; an unsigned one is refused before that.
TEST(WebhookQuarantineTest, ASignedDeliveryThatCannotBeReadIsKeptAsideAndAcknowledged) {
  std::string dir = MakeTempDir("unreadable");
  const std::vector<std::string> env = {"CONSENTRY_MASTER_KEY=" + std::string(64, 'b')};
  Credentials admin = CreateTenantWithKey(dir, "unreadable", "admin");
  ServerProcess server(dir, env);
  ASSERT_TRUE(server.started());
  HttpReply created = Call(server.port(), "POST", "/v1/channels", admin.token,
                           R"({"phone_number_id":"100000000000002","waba_id":"100000000000001","access_token":"t",)"
                           R"("app_secret":"the-app-secret","verify_token":"v"})");
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string path = "/webhooks/whatsapp/" + After(created.body, R"("id":")");
  for (const std::string& body : {std::string("{not json"), std::string(R"({"object":"something_else"})")}) {
    auto reply = Exchange(server.port(),
                          BuildRequest("POST", path,
                                       {{"Content-Type", "application/json"},
                                        {"X-Hub-Signature-256", whatsapp::HubSignature("the-app-secret", body)}},
                                       body),
                          5000);
    ASSERT_TRUE(reply.has_value());
    EXPECT_EQ(reply->status, 200) << body;
  }
  auto unsigned_reply = Exchange(server.port(), BuildRequest("POST", path, {{"Content-Type", "application/json"}}, "{"),
                                 5000);
  ASSERT_TRUE(unsigned_reply.has_value());
  EXPECT_EQ(unsigned_reply->status, 401);
  server.Stop();
  const std::string log = server.Stderr();
  EXPECT_NE(log.find("quarantined: unparseable:"), std::string::npos) << log;
  EXPECT_NE(log.find("quarantined: not_a_delivery"), std::string::npos) << log;
}

}  // namespace
}  // namespace cs::testing
