// The consent ledger over a real SQLite store: every transition, every
// refusal, and the evidence each change leaves.
#include "consent/consent.h"
#include "store/group_commit.h"
#include "store/sqlite/sqlite_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <thread>

namespace cs {
namespace {

const std::string kNoticeText = "Privacy notice of a: we process your number to send what you asked for.";

class ConsentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> counter{0};
    std::string dir = ::testing::TempDir() + "/consentry_consent_" + std::to_string(getpid()) + "_" +
                      std::to_string(counter++);
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    SqliteOptions o;
    o.path = dir + "/consentry.db";
    o.synchronous_full = false;
    auto store = OpenSqliteStore(o);
    ASSERT_TRUE(store.ok());
    store_ = std::move(store).value();
    ASSERT_TRUE(store_->Migrate().ok());
    ASSERT_TRUE(store_->tenants().Create(Tenant{"ten_a", "a", 1, std::nullopt, std::nullopt}).ok());
    commits_ = std::make_unique<GroupCommitter>(*store_);
    consent_ = std::make_unique<ConsentService>(*store_, *commits_, ledger_, clock_, 3600 * 1000);
    for (const char* id : {"marketing", "orders"}) {
      Purpose p;
      p.tenant_id = "ten_a";
      p.id = id;
      p.name = id;
      p.legal_basis = "consent";
      p.category = std::string(id) == "marketing" ? "MARKETING" : "UTILITY";
      p.confirmation_template = "confirm";
      ASSERT_TRUE(consent_->DefinePurpose(actor_, p).ok());
    }
    TemplateRecord confirm{"ten_a", "confirm", "en_US", "UTILITY", "orders", false, 0};
    TemplateRecord promo{"ten_a", "promo", "en_US", "MARKETING", "marketing", true, 0};
    ASSERT_TRUE(consent_->RegisterTemplate(actor_, confirm).ok());
    ASSERT_TRUE(consent_->RegisterTemplate(actor_, promo).ok());
    auto published = Publish("2026-11", "en", kNoticeText);
    ASSERT_TRUE(published.ok()) << published.status().ToString();
    notice_sha_ = published->sha256;
  }

  Result<Notice> Publish(const std::string& version, const std::string& language, const std::string& text,
                         bool reconsent = false, std::vector<std::string> reconsent_purposes = {},
                         std::vector<std::string> special = {}) {
    Notice n;
    n.tenant_id = "ten_a";
    n.version = version;
    n.language = language;
    n.text = text;
    n.info_message = "How we use your data: https://a.example/privacy";
    n.requires_reconsent = reconsent;
    n.reconsent_purposes = std::move(reconsent_purposes);
    n.special_category_purposes = std::move(special);
    return consent_->notices().Publish(actor_, n);
  }

  ConsentEvidence Evidence(const std::string& version = "2026-11") const {
    return ConsentEvidence{"web_form", "newsletter-box", version, "en", "", clock_.NowUnixMillis() - 1000};
  }

  // Registers and marks the confirmation as sent on channel "chn_1".
  void Request(const std::string& subject, const std::string& purpose) {
    auto r = consent_->Register(actor_, "ten_a", subject, purpose, Evidence(), false);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_TRUE(consent_->MarkConfirmationSent("ten_a", subject, purpose, "chn_1", "msg_confirm").ok());
  }

  // A reply from `subject` on `channel`, applied as the webhook does.
  InboundConsentOutcome Reply(const std::string& subject, const std::string& text, const std::string& channel = "chn_1",
                              const std::string& payload = "") {
    InboundConsentOutcome out;
    Status s = commits_->Run([&](StoreTransaction& tx) -> Status {
      std::vector<AuditEvent> events;
      CS_RETURN_IF_ERROR(consent_->OnInbound(tx, "ten_a", channel, subject, text, payload, "wamid.R", events, out));
      return ledger_.Append(tx.audit(), events);
    });
    EXPECT_TRUE(s.ok()) << s.ToString();
    return out;
  }

  std::string State(const std::string& subject, const std::string& purpose) {
    auto c = store_->consents().GetConsent("ten_a", subject, purpose);
    return c.ok() && *c ? (*c)->state : "none";
  }

  int64_t AuditCount(const std::string& action, const std::string& outcome = "") {
    AuditQuery q;
    q.action = action;
    q.limit = 1000;
    auto r = store_->audit().Query(q);
    int64_t n = 0;
    for (const AuditRecord& a : *r) n += outcome.empty() || a.outcome == outcome;
    return n;
  }

  SystemClock clock_;
  AuditLedger ledger_{clock_};
  AuditActor actor_{"integration", "key_test", "test", ""};
  std::unique_ptr<Store> store_;
  std::unique_ptr<GroupCommitter> commits_;
  std::unique_ptr<ConsentService> consent_;
  std::string notice_sha_;
};

// covers: CONS-01, CONS-06
TEST_F(ConsentTest, DoubleOptInActivatesOnlyOnAnAffirmativeReply) {
  Request("sub_1", "orders");
  EXPECT_EQ(State("sub_1", "orders"), "pending");
  for (const char* not_consent : {"yes please", "ja?", "👍", "", "Y\xD0\x95S", "When is my parcel coming?"}) {
    Reply("sub_1", not_consent);
    EXPECT_EQ(State("sub_1", "orders"), "pending") << not_consent;
  }
  EXPECT_EQ(AuditCount("consent.confirm_rejected", "not_affirmative"), 6);
  Reply("sub_1", "\xEF\xBC\xB9\xEF\xBC\xA5\xEF\xBC\xB3");  // ＹＥＳ
  EXPECT_EQ(State("sub_1", "orders"), "active");
  auto events = store_->consents().ConsentEvents("ten_a", "sub_1");
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 3u);  // registered, confirmation requested, affirmed
  EXPECT_EQ((*events)[0].reason, "registered");
  EXPECT_NE((*events)[0].evidence.find("\"notice_sha256\":\"" + notice_sha_ + "\""), std::string::npos);
  EXPECT_NE((*events)[0].evidence.find("newsletter-box"), std::string::npos);
  EXPECT_NE((*events)[1].evidence.find("msg_confirm"), std::string::npos);
  EXPECT_EQ((*events)[2].to_state, "active");
  EXPECT_EQ((*events)[2].actor, "subject:sub_1");
  EXPECT_NE((*events)[2].evidence.find("reply_sha256"), std::string::npos);
  EXPECT_EQ((*events)[2].evidence.find("YES"), std::string::npos);  // a hash of the reply, not the reply
  // Each transition is also in the tamper-evident audit ledger.
  EXPECT_EQ(AuditCount("consent.pending"), 1);
  EXPECT_EQ(AuditCount("consent.active"), 1);
}

// covers: CONS-01, B-37
TEST_F(ConsentTest, RepliesFromElsewhereLateOrUnaskedChangeNothing) {
  // Not asked yet: registered, but no confirmation went out.
  ASSERT_TRUE(consent_->Register(actor_, "ten_a", "sub_early", "orders", Evidence(), false).ok());
  Reply("sub_early", "YES");
  EXPECT_EQ(State("sub_early", "orders"), "pending");
  EXPECT_EQ(AuditCount("consent.confirm_rejected", "not_requested"), 1);
  // To another of the tenant's numbers than the one that asked.
  Request("sub_2", "orders");
  Reply("sub_2", "YES", "chn_other");
  EXPECT_EQ(State("sub_2", "orders"), "pending");
  EXPECT_EQ(AuditCount("consent.confirm_rejected", "other_business_number"), 1);
  // From another number: another subject, which has nothing pending.
  Reply("sub_someone_else", "YES");
  EXPECT_EQ(State("sub_2", "orders"), "pending");
  EXPECT_EQ(State("sub_someone_else", "orders"), "none");
  // After the TTL.
  ConsentService short_ttl(*store_, *commits_, ledger_, clock_, 1);
  ASSERT_TRUE(short_ttl.Register(actor_, "ten_a", "sub_3", "orders", Evidence(), false).ok());
  ASSERT_TRUE(short_ttl.MarkConfirmationSent("ten_a", "sub_3", "orders", "chn_1", "msg_c").ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  InboundConsentOutcome out;
  ASSERT_TRUE(commits_->Run([&](StoreTransaction& tx) -> Status {
    std::vector<AuditEvent> events;
    CS_RETURN_IF_ERROR(short_ttl.OnInbound(tx, "ten_a", "chn_1", "sub_3", "YES", "", "wamid.L", events, out));
    return ledger_.Append(tx.audit(), events);
  }).ok());
  EXPECT_EQ(State("sub_3", "orders"), "expired");
}

// covers: CONS-01, CONS-05, B-18
TEST_F(ConsentTest, NoAndStopDeclineAndStopWithdrawsMarketingOnly) {
  Request("sub_no", "orders");
  Reply("sub_no", "NO");
  EXPECT_EQ(State("sub_no", "orders"), "declined");

  Request("sub_4", "orders");
  Reply("sub_4", "yes");
  Request("sub_4", "marketing");
  Reply("sub_4", "Ja");
  ASSERT_EQ(State("sub_4", "marketing"), "active");
  InboundConsentOutcome out = Reply("sub_4", "ＳＴＯＰ!");
  EXPECT_TRUE(out.opted_out);
  EXPECT_EQ(State("sub_4", "marketing"), "withdrawn");
  EXPECT_EQ(State("sub_4", "orders"), "active");  // CONS-08: unbundled
  // A pending request is declined by STOP.
  Request("sub_5", "marketing");
  Reply("sub_5", " stop ");
  EXPECT_EQ(State("sub_5", "marketing"), "declined");
  // The opt-out button.
  Request("sub_6", "marketing");
  Reply("sub_6", "Yes");
  Reply("sub_6", "Stop promotions", "chn_1", "CONSENTRY_STOP");
  EXPECT_EQ(State("sub_6", "marketing"), "withdrawn");
}

// covers: CONS-08
TEST_F(ConsentTest, OneAnswerNeverConsentsToSeveralPurposes) {
  Request("sub_two", "orders");
  Request("sub_two", "marketing");
  Reply("sub_two", "YES");  // which one? neither
  EXPECT_EQ(State("sub_two", "orders"), "pending");
  EXPECT_EQ(State("sub_two", "marketing"), "pending");
  EXPECT_EQ(AuditCount("consent.confirm_rejected", "ambiguous_reply"), 2);
  Reply("sub_two", "Confirm", "chn_1", "CONSENTRY_CONFIRM:orders");
  EXPECT_EQ(State("sub_two", "orders"), "active");
  EXPECT_EQ(State("sub_two", "marketing"), "pending");
  Reply("sub_two", "No", "chn_1", "CONSENTRY_DECLINE:marketing");
  EXPECT_EQ(State("sub_two", "marketing"), "declined");
  // Only one pending now: a typed answer is unambiguous again.
  Request("sub_two", "marketing");
  Reply("sub_two", "oui");
  EXPECT_EQ(State("sub_two", "marketing"), "active");
  // A STOP that changes nothing asks for no confirmation message.
  EXPECT_FALSE(Reply("sub_nobody", "STOP").opted_out);
  EXPECT_TRUE(Reply("sub_two", "STOP").opted_out);
  EXPECT_FALSE(Reply("sub_two", "STOP").opted_out);
}

// A purpose on another legal basis still needs the WhatsApp opt-in Meta
// requires; it is recorded with that basis.
TEST_F(ConsentTest, NonConsentPurposesRecordTheWhatsAppOptIn) {
  Purpose contract;
  contract.tenant_id = "ten_a";
  contract.id = "delivery";
  contract.name = "delivery notices";
  contract.legal_basis = "contract";
  contract.category = "UTILITY";
  contract.confirmation_template = "confirm";
  ASSERT_TRUE(consent_->DefinePurpose(actor_, contract).ok());
  Request("sub_c", "delivery");
  Reply("sub_c", "YES");
  EXPECT_EQ(State("sub_c", "delivery"), "active");
  auto events = store_->consents().ConsentEvents("ten_a", "sub_c");
  EXPECT_NE(events->front().evidence.find(R"("legal_basis":"contract")"), std::string::npos);
}

// covers: CONS-05, F-21
TEST_F(ConsentTest, OptOutWinsWhenConfirmAndStopArriveTogether) {
  Request("sub_race", "marketing");
  // Both in one delivery, in either order: the result has no active marketing.
  Status s = commits_->Run([&](StoreTransaction& tx) -> Status {
    std::vector<AuditEvent> events;
    InboundConsentOutcome a, b;
    CS_RETURN_IF_ERROR(consent_->OnInbound(tx, "ten_a", "chn_1", "sub_race", "STOP", "", "wamid.S", events, b));
    CS_RETURN_IF_ERROR(consent_->OnInbound(tx, "ten_a", "chn_1", "sub_race", "YES", "", "wamid.Y", events, a));
    return ledger_.Append(tx.audit(), events);
  });
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(State("sub_race", "marketing"), "declined");
  Request("sub_race2", "marketing");
  Reply("sub_race2", "YES");
  Reply("sub_race2", "STOP");
  EXPECT_EQ(State("sub_race2", "marketing"), "withdrawn");
}

// covers: CONS-05
TEST_F(ConsentTest, WithdrawalThroughTheApiAndMetasSignal) {
  Request("sub_7", "marketing");
  Reply("sub_7", "oui");
  ASSERT_TRUE(consent_->Withdraw(actor_, "ten_a", "sub_7", "", "api_withdrawal").ok());
  EXPECT_EQ(State("sub_7", "marketing"), "withdrawn");
  EXPECT_TRUE(consent_->Withdraw(actor_, "ten_a", "sub_7", "", "api_withdrawal").ok());  // idempotent
  Request("sub_8", "marketing");
  Reply("sub_8", "sim");
  ASSERT_TRUE(commits_->Run([&](StoreTransaction& tx) -> Status {
    std::vector<AuditEvent> events;
    CS_RETURN_IF_ERROR(consent_->OnMarketingStop(tx, "ten_a", "sub_8", "user_preferences", events));
    return ledger_.Append(tx.audit(), events);
  }).ok());
  EXPECT_EQ(State("sub_8", "marketing"), "withdrawn");
  // A withdrawn consent needs a fresh double opt-in to come back.
  Request("sub_8", "marketing");
  EXPECT_EQ(State("sub_8", "marketing"), "pending");
}

// covers: CONS-02, CONS-03, CONS-07, CONS-11
TEST_F(ConsentTest, TheSendGateAndItsRefusals) {
  EXPECT_EQ(consent_->CheckTemplateSend("ten_a", "sub_9", "promo", "en_US").status().machine_code(), "consent_required");
  EXPECT_EQ(consent_->CheckTemplateSend("ten_a", "sub_9", "unregistered", "en_US").status().machine_code(),
            "consent_required");
  Request("sub_9", "marketing");
  EXPECT_EQ(consent_->CheckTemplateSend("ten_a", "sub_9", "promo", "en_US").status().machine_code(), "consent_required");
  // A second request while pending asks nothing new (CONS-02).
  auto again = consent_->Register(actor_, "ten_a", "sub_9", "marketing", Evidence(), false);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->needs_confirmation);
  Reply("sub_9", "YES");
  auto ok = consent_->CheckTemplateSend("ten_a", "sub_9", "promo", "en_US");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, "marketing");
  // A marketing template without an opt-out cannot be registered (CONS-07).
  TemplateRecord bare{"ten_a", "bare_promo", "en_US", "MARKETING", "marketing", false, 0};
  EXPECT_EQ(consent_->RegisterTemplate(actor_, bare).machine_code(), "optout_affordance_missing");
  // The confirmation request must be a UTILITY template (CONS-02).
  Request("sub_10", "marketing");
  EXPECT_TRUE(consent_->CheckConfirmationSend("ten_a", "sub_10", "marketing", "confirm", "en_US").ok());
  EXPECT_EQ(consent_->CheckConfirmationSend("ten_a", "sub_10", "marketing", "promo", "en_US").machine_code(),
            "confirmation_template_miscategorised");
  // Special categories need explicit consent (CONS-11).
  Purpose health;
  health.tenant_id = "ten_a";
  health.id = "health_reminders";
  health.name = "health reminders";
  health.legal_basis = "consent";
  health.category = "UTILITY";
  health.special_category = true;
  health.confirmation_template = "confirm";
  ASSERT_TRUE(consent_->DefinePurpose(actor_, health).ok());
  EXPECT_EQ(consent_->Register(actor_, "ten_a", "sub_11", "health_reminders", Evidence(), false).status().machine_code(),
            "explicit_consent_required");
  // Explicit, but under a notice that does not name the category: refused too.
  EXPECT_EQ(consent_->Register(actor_, "ten_a", "sub_11", "health_reminders", Evidence(), true).status().machine_code(),
            "explicit_consent_required");
  ASSERT_TRUE(Publish("2026-12-health", "en", "We also process health data (GDPR Art. 9) for reminders.", false, {},
                      {"health_reminders"})
                  .ok());
  EXPECT_TRUE(consent_->Register(actor_, "ten_a", "sub_11", "health_reminders", Evidence("2026-12-health"), true).ok());
  // Bad purposes and evidence are refused.
  Purpose bad = health;
  bad.id = "ads";
  bad.category = "MARKETING";
  bad.legal_basis = "legitimate_interests";
  EXPECT_EQ(consent_->DefinePurpose(actor_, bad).status().machine_code(), "invalid_field");
  ConsentEvidence no_notice = Evidence();
  no_notice.notice_sha256 = "abc";
  EXPECT_EQ(consent_->Register(actor_, "ten_a", "sub_12", "orders", no_notice, false).status().machine_code(),
            "invalid_field");
}

// covers: DOC-07, CONS-06
TEST_F(ConsentTest, EvidenceMustPointAtAPublishedImmutableNotice) {
  // A version the gateway does not hold, or a text other than the one published, is refused.
  EXPECT_EQ(consent_->Register(actor_, "ten_a", "sub_n", "orders", Evidence("1999-01"), false).status().machine_code(),
            "notice_unknown");
  ConsentEvidence edited = Evidence();
  edited.notice_language.clear();
  edited.notice_sha256 = std::string(64, 'c');
  EXPECT_EQ(consent_->Register(actor_, "ten_a", "sub_n", "orders", edited, false).status().machine_code(),
            "notice_mismatch");
  // The hash alone identifies the language.
  ConsentEvidence by_hash = Evidence();
  by_hash.notice_language.clear();
  by_hash.notice_sha256 = notice_sha_;
  ASSERT_TRUE(consent_->Register(actor_, "ten_a", "sub_n", "orders", by_hash, false).ok());
  // Published once: the same version and language cannot be replaced, in the API or in the database.
  EXPECT_EQ(Publish("2026-11", "en", "another text").status().machine_code(), "notice_exists");
  auto conn = store_->consents().ListNotices("ten_a");
  ASSERT_TRUE(conn.ok());
  EXPECT_EQ(conn->front().text, kNoticeText);
  // Another language of a version keeps the version's rules.
  EXPECT_EQ(Publish("2026-11", "de", "Datenschutzhinweis", true).status().machine_code(), "notice_conflict");
  auto de = Publish("2026-11", "de", "Datenschutzhinweis von a.");
  ASSERT_TRUE(de.ok());
  EXPECT_EQ(de->seq, conn->front().seq);
  // The proof carries the exact text the evidence refers to.
  auto proof = LoadConsentProof(*store_, clock_, "ten_a", "sub_n");
  ASSERT_TRUE(proof.ok());
  ASSERT_EQ(proof->notices.size(), 1u);
  EXPECT_EQ(proof->notices[0].text, kNoticeText);
  EXPECT_NE(ConsentProofJson(*proof).find(kNoticeText), std::string::npos);
}

// covers: CONS-09
TEST_F(ConsentTest, ANoticeRequiringReconsentRetiresOlderConsentsUntilConfirmedAgain) {
  Request("sub_r", "marketing");
  Reply("sub_r", "YES");
  Request("sub_o", "orders");
  Reply("sub_o", "YES");
  ASSERT_TRUE(consent_->CheckTemplateSend("ten_a", "sub_r", "promo", "en_US").ok());
  auto waiting = consent_->Register(actor_, "ten_a", "sub_w", "marketing", Evidence(), false);  // pending under v1
  ASSERT_TRUE(waiting.ok());
  // v2 asks for re-consent for marketing only.
  ASSERT_TRUE(Publish("2027-01", "en", "New notice: we now also measure campaign reach.", true, {"marketing"}).ok());
  // A request still pending under v1 is replaced, not confirmed into a consent retired at once.
  auto replaced = consent_->Register(actor_, "ten_a", "sub_w", "marketing", Evidence("2027-01"), false);
  ASSERT_TRUE(replaced.ok());
  EXPECT_TRUE(replaced->needs_confirmation);
  EXPECT_EQ(replaced->record.notice_version, "2027-01");
  auto w_events = store_->consents().ConsentEvents("ten_a", "sub_w").value();
  EXPECT_EQ(w_events[w_events.size() - 2].reason, "notice_superseded");
  GateRefusal why = GateRefusal::kNone;
  auto refused = consent_->CheckTemplateSend("ten_a", "sub_r", "promo", "en_US", &why);
  EXPECT_EQ(refused.status().machine_code(), "consent_required");
  EXPECT_EQ(why, GateRefusal::kReconsent);
  EXPECT_NE(refused.status().message().find("reconsent"), std::string::npos);
  EXPECT_FALSE(consent_->IsActive("ten_a", "sub_r", "marketing").value());  // the dispatch re-check agrees
  EXPECT_TRUE(consent_->IsActive("ten_a", "sub_o", "orders").value());       // other purposes are untouched
  // New evidence under the old notice is refused; under the new one the
  // consent goes back to pending and needs a fresh confirmation.
  EXPECT_EQ(consent_->Register(actor_, "ten_a", "sub_r", "marketing", Evidence(), false).status().machine_code(),
            "notice_superseded");
  auto again = consent_->Register(actor_, "ten_a", "sub_r", "marketing", Evidence("2027-01"), false);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->needs_confirmation);
  EXPECT_EQ(State("sub_r", "marketing"), "pending");
  ASSERT_TRUE(consent_->MarkConfirmationSent("ten_a", "sub_r", "marketing", "chn_1", "msg_confirm2").ok());
  Reply("sub_r", "YES");
  EXPECT_EQ(State("sub_r", "marketing"), "active");
  EXPECT_TRUE(consent_->CheckTemplateSend("ten_a", "sub_r", "promo", "en_US").ok());
  auto events = store_->consents().ConsentEvents("ten_a", "sub_r");
  ASSERT_TRUE(events.ok());
  EXPECT_TRUE(std::any_of(events->begin(), events->end(),
                          [](const ConsentEvent& e) { return e.reason == "reconsent_requested"; }));
}

// covers: CONS-10
TEST_F(ConsentTest, SaleSharingOptOutIsRecordedAndBlocksResolicitationForTwelveMonths) {
  EXPECT_FALSE(consent_->SaleSharingOptedOut("ten_a", "sub_c").value());
  auto out = consent_->OptOutOfSaleSharing(actor_, "ten_a", "sub_c", "gpc_signal", true);
  ASSERT_TRUE(out.ok());
  EXPECT_TRUE(out->gpc);
  EXPECT_TRUE(consent_->SaleSharingOptedOut("ten_a", "sub_c").value());
  // A second signal changes nothing: the 12 months run from the first.
  auto twice = consent_->OptOutOfSaleSharing(actor_, "ten_a", "sub_c", "request", false);
  ASSERT_TRUE(twice.ok());
  EXPECT_EQ(twice->opted_out_at_ms, out->opted_out_at_ms);
  // The business may not ask again within 12 months; the subject may opt back in.
  EXPECT_EQ(consent_->OptInToSaleSharing(actor_, "ten_a", "sub_c", SaleSharingOptIn{true, "", "", 0}).status().machine_code(),
            "resolicit_too_early");
  // The subject's own request needs its evidence, like any consent.
  EXPECT_EQ(consent_->OptInToSaleSharing(actor_, "ten_a", "sub_c", SaleSharingOptIn{false, "", "", 0}).status().machine_code(),
            "invalid_field");
  EXPECT_TRUE(consent_->SaleSharingOptedOut("ten_a", "sub_c").value());
  // After 12 months the business may ask.
  SaleSharingChoice old = *store_->consents().GetSaleSharing("ten_a", "sub_c").value();
  old.opted_out_at_ms -= 366LL * 24 * 3600 * 1000;
  ASSERT_TRUE(store_->consents().PutSaleSharing(old).ok());
  EXPECT_TRUE(consent_->OptInToSaleSharing(actor_, "ten_a", "sub_c", SaleSharingOptIn{true, "", "", 0}).ok());
  EXPECT_FALSE(consent_->SaleSharingOptedOut("ten_a", "sub_c").value());
  auto refusal_free = consent_->OptOutOfSaleSharing(actor_, "ten_a", "sub_d", "request", false);
  ASSERT_TRUE(refusal_free.ok());
  // The subject's own choice, with its evidence.
  EXPECT_TRUE(consent_->OptInToSaleSharing(actor_, "ten_a", "sub_d",
                                           SaleSharingOptIn{false, "web_form", "privacy-center", clock_.NowUnixMillis()})
                  .ok());
  // Every change is in the history with its evidence, and audited.
  auto events = store_->consents().ConsentEvents("ten_a", "sub_c");
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[0].purpose_id, kSaleSharingPurpose);
  EXPECT_EQ((*events)[0].reason, "gpc_signal");
  EXPECT_EQ((*events)[1].to_state, "opted_in");
  EXPECT_EQ(AuditCount("privacy.sale_sharing_opt_out"), 2);
  EXPECT_EQ(AuditCount("privacy.sale_sharing_opt_in"), 2);
}

// covers: DOC-07 (first contact, GDPR Art. 13)
TEST_F(ConsentTest, TheInformationMessageGoesOnceAtFirstContactAndAgainForAReconsentVersion) {
  auto reserve = [&](const std::string& subject, const std::string& language) {
    std::optional<Notice> out;
    Status s = commits_->Run([&](StoreTransaction& tx) -> Status {
      CS_ASSIGN_OR_RETURN(out, consent_->notices().ReserveInformation(tx, "ten_a", subject, language, "chn_1"));
      return Status::Ok();
    });
    EXPECT_TRUE(s.ok()) << s.ToString();
    return out;
  };
  ASSERT_TRUE(Publish("2026-11", "de", "Datenschutzhinweis von a.").ok());
  auto first = reserve("sub_f", LanguageForPhone("+4915112345678"));
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->language, "de");
  EXPECT_NE(NoticeRegistry::InformationText(*first).find("STOPP"), std::string::npos);  // CONS-07 footer
  // While its send is in flight, a second message does not send it again.
  EXPECT_FALSE(reserve("sub_f", "de").has_value());
  ASSERT_TRUE(consent_->notices().Delivered("ten_a", "sub_f", *first, "chn_1", std::string("msg_info")).ok());
  EXPECT_FALSE(reserve("sub_f", "de").has_value());
  // A failed send is released and tried at the next contact.
  auto other = reserve("sub_g", "fr");
  ASSERT_TRUE(other.has_value());
  EXPECT_EQ(other->language, "en");  // no French text: English
  ASSERT_TRUE(consent_->notices().Delivered("ten_a", "sub_g", *other, "chn_1",
                                            Result<std::string>(Unavailable("provider_unavailable", "down"))).ok());
  EXPECT_TRUE(reserve("sub_g", "fr").has_value());
  // Consent captured on a page that showed the notice counts as informed.
  Request("sub_h", "orders");
  EXPECT_FALSE(reserve("sub_h", "en").has_value());
  // A failed send releases only its own reservation, never that record.
  Notice en = *consent_->notices().InForce("ten_a", "en").value();
  ASSERT_TRUE(consent_->notices().Delivered("ten_a", "sub_h", en, "chn_1",
                                            Result<std::string>(Unavailable("provider_unavailable", "down"))).ok());
  EXPECT_EQ(store_->consents().NoticeDeliveries("ten_a", "sub_h").value().size(), 1u);
  // A minor revision is not pushed; one asking for re-consent is, once.
  ASSERT_TRUE(Publish("2026-11b", "en", "Typo fixed.").ok());
  EXPECT_FALSE(reserve("sub_h", "en").has_value());
  ASSERT_TRUE(Publish("2027-02", "en", "We now share reach figures.", true).ok());
  auto pushed = reserve("sub_h", "en");
  ASSERT_TRUE(pushed.has_value());
  EXPECT_EQ(pushed->version, "2027-02");
  // Audited when queued, with the message that carried it; a failure too.
  EXPECT_EQ(AuditCount("notice.sent"), 1);
  EXPECT_EQ(AuditCount("notice.send_failed"), 2);
  // Erasure makes the person a first contact again.
  Status erased = commits_->Run([&](StoreTransaction& tx) -> Status {
    std::vector<AuditEvent> events;
    CS_RETURN_IF_ERROR(consent_->OnErasure(tx, "ten_a", "sub_f", actor_, events));
    return ledger_.Append(tx.audit(), events);
  });
  ASSERT_TRUE(erased.ok());
  consent_->notices().ForgetSubject("ten_a", "sub_f");
  EXPECT_TRUE(store_->consents().NoticeDeliveries("ten_a", "sub_f").value().empty());
  EXPECT_TRUE(reserve("sub_f", "de").has_value());
}

// covers: CONS-02, CONS-03, CHAN-02
TEST_F(ConsentTest, MetasTemplateReviewReachesTheSendGate) {
  auto review = [&](TemplateReview r) {
    Status s = commits_->Run([&](StoreTransaction& tx) -> Status {
      std::vector<AuditEvent> events;
      CS_RETURN_IF_ERROR(consent_->ApplyTemplateReview(tx, "ten_a", r, events));
      return ledger_.Append(tx.audit(), events);
    });
    ASSERT_TRUE(s.ok()) << s.ToString();
  };
  // A MARKETING template cannot ride on a non-marketing purpose.
  TemplateRecord sneaky{"ten_a", "sneaky", "en_US", "MARKETING", "orders", true, 0};
  EXPECT_EQ(consent_->RegisterTemplate(actor_, sneaky).machine_code(), "invalid_field");
  TemplateRecord shipped{"ten_a", "shipped", "en_US", "UTILITY", "orders", false, 0};
  ASSERT_TRUE(consent_->RegisterTemplate(actor_, shipped).ok());
  Request("sub_t", "orders");
  Reply("sub_t", "YES");
  ASSERT_TRUE(consent_->CheckTemplateSend("ten_a", "sub_t", "shipped", "en_US").ok());
  // Meta pauses it: refused locally, before Meta would refuse it.
  review({"shipped", "en_US", "PAUSED", "UTILITY", "", 0});
  GateRefusal why = GateRefusal::kNone;
  EXPECT_EQ(consent_->CheckTemplateSend("ten_a", "sub_t", "shipped", "en_US", &why).status().machine_code(),
            "template_not_approved");
  EXPECT_EQ(why, GateRefusal::kTemplateNotApproved);
  // Re-registering (e.g. for another purpose) does not lift Meta's pause.
  ASSERT_TRUE(consent_->RegisterTemplate(actor_, shipped).ok());
  EXPECT_EQ(store_->consents().GetTemplate("ten_a", "shipped", "en_US").value()->status, "PAUSED");
  review({"shipped", "en_US", "REINSTATED", "", "", 0});
  ASSERT_TRUE(consent_->CheckTemplateSend("ten_a", "sub_t", "shipped", "en_US").ok());
  // Events that leave a template sendable (a quality flag) do not block it.
  review({"shipped", "en_US", "FLAGGED", "", "", 0});
  ASSERT_TRUE(consent_->CheckTemplateSend("ten_a", "sub_t", "shipped", "en_US").ok());
  // An announced change is only recorded.
  review({"shipped", "en_US", "", "", "MARKETING", 1795000000000});
  ASSERT_TRUE(consent_->CheckTemplateSend("ten_a", "sub_t", "shipped", "en_US").ok());
  // Meta moves it to MARKETING: an order-updates consent does not cover it.
  review({"shipped", "en_US", "", "MARKETING", "", 0});
  auto refused = consent_->CheckTemplateSend("ten_a", "sub_t", "shipped", "en_US", &why);
  EXPECT_EQ(refused.status().machine_code(), "consent_required");
  EXPECT_EQ(why, GateRefusal::kTemplateRecategorised);
  // The double opt-in's own request stops when Meta calls it MARKETING (CONS-02).
  Request("sub_u", "marketing");
  ASSERT_TRUE(consent_->CheckConfirmationSend("ten_a", "sub_u", "marketing", "confirm", "en_US").ok());
  review({"confirm", "en_US", "", "MARKETING", "", 0});
  EXPECT_EQ(consent_->CheckConfirmationSend("ten_a", "sub_u", "marketing", "confirm", "en_US").machine_code(),
            "confirmation_template_miscategorised");
  // Reviews of templates the tenant never registered are kept on record only.
  review({"someone_elses", "en_US", "APPROVED", "UTILITY", "", 0});
  EXPECT_EQ(AuditCount("template.review", "unregistered"), 1);
  EXPECT_EQ(AuditCount("template.review", "announced"), 1);
  EXPECT_EQ(AuditCount("template.review"), 7);
}

// covers: CONS-04 (the index a preload fills stays true while changes commit)
TEST_F(ConsentTest, APreloadRacingChangesNeverLeavesAStaleAnswer) {
  constexpr int kSubjects = 12000;  // more than two pages
  auto subject = [](int i) { return "sub_p" + std::to_string(100000 + i); };
  ASSERT_TRUE(store_->InTransaction([&](StoreTransaction& tx) -> Status {
    for (int i = 0; i < kSubjects; ++i) {
      for (const char* purpose : {"marketing", "orders"}) {
        ConsentRecord c;
        c.tenant_id = "ten_a";
        c.subject = subject(i);
        c.purpose_id = purpose;
        c.state = i % 3 == 0 ? "withdrawn" : "active";
        c.notice_version = "2026-11";
        CS_RETURN_IF_ERROR(tx.consents().PutConsent(c, 0));
      }
    }
    return Status::Ok();
  }).ok());
  // A writer flips consents while the preload runs, the way commits do: write, then Forget.
  std::atomic<bool> done{false};
  std::atomic<int> flips{0};
  std::thread writer([&] {
    for (int round = 0; !done.load() || round < 200; ++round) {
      const int i = (round * 7919) % kSubjects;
      auto c = store_->consents().GetConsent("ten_a", subject(i), "marketing");
      if (!c.ok() || !*c) continue;
      ConsentRecord next = **c;
      next.state = next.state == "active" ? "withdrawn" : "active";
      if (store_->consents().PutConsent(next, next.version).ok()) {
        consent_->Forget("ten_a", subject(i));
        ++flips;
      }
    }
  });
  while (flips.load() == 0) std::this_thread::yield();  // the writer is running before the preload starts
  const int before = flips.load();
  ASSERT_TRUE(consent_->Preload("ten_a").ok());
  const int during = flips.load() - before;
  done = true;
  writer.join();
  EXPECT_TRUE(consent_->IsIndexComplete("ten_a"));
  EXPECT_GT(during, 0);  // changes committed while the preload ran
  // Every answer, from the index or the store, matches the store.
  for (int i = 0; i < kSubjects; ++i) {
    for (const char* purpose : {"marketing", "orders"}) {
      auto c = store_->consents().GetConsent("ten_a", subject(i), purpose);
      ASSERT_TRUE(c.ok() && *c);
      EXPECT_EQ(consent_->IsActive("ten_a", subject(i), purpose).value(), (*c)->state == "active")
          << subject(i) << " " << purpose;
    }
  }
  // Someone with no record at all is answered without a record, and a
  // consent given after the preload is seen.
  EXPECT_FALSE(consent_->IsActive("ten_a", "sub_never_seen", "orders").value());
  Request("sub_late", "orders");
  Reply("sub_late", "YES");
  EXPECT_TRUE(consent_->IsActive("ten_a", "sub_late", "orders").value());
}

}  // namespace
}  // namespace cs
