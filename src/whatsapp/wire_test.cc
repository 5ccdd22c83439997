#include "whatsapp/wire.h"

#include <gtest/gtest.h>

#include <string>

namespace cs::whatsapp {
namespace {

Result<OutboundMessage> Validate(std::string_view json) {
  Result<JsonValue> v = ParseJson(json);
  EXPECT_TRUE(v.ok()) << json;
  return ValidateOutbound(*v);
}

std::string Code(std::string_view json) {
  Result<OutboundMessage> r = Validate(json);
  return r.ok() ? "ok" : r.status().machine_code();
}

TEST(ValidateOutboundTest, AcceptsEveryMessageTypeOfTheSpec) {
  const char* valid[] = {
      R"({"messaging_product":"whatsapp","to":"+49 176 12345678","type":"text","text":{"body":"hi","preview_url":true}})",
      R"({"messaging_product":"whatsapp","to":"4917612345678","text":{"body":"default type is text"}})",
      R"({"messaging_product":"whatsapp","to":"4917612345678","type":"image","image":{"id":"1467","caption":"c"}})",
      R"({"messaging_product":"whatsapp","to":"4917612345678","type":"video","video":{"link":"https://cdn.ex.com/a.mp4"}})",
      R"({"messaging_product":"whatsapp","to":"4917612345678","type":"audio","audio":{"id":"1"}})",
      R"({"messaging_product":"whatsapp","to":"4917612345678","type":"document","document":{"link":"https://ex.com/i.pdf","filename":"i.pdf","caption":"x"}})",
      R"({"messaging_product":"whatsapp","to":"4917612345678","type":"sticker","sticker":{"id":"9"}})",
      R"({"messaging_product":"whatsapp","to":"4917612345678","type":"location","location":{"latitude":48.8583,"longitude":2.2945,"name":"Tour Eiffel","address":"Champ de Mars"}})",
      R"({"messaging_product":"whatsapp","to":"4917612345678","type":"contacts","contacts":[{"name":{"formatted_name":"Tom Li"},"phones":[{"phone":"+16505550199"}]}]})",
      R"({"messaging_product":"whatsapp","to":"4917612345678","type":"reaction","reaction":{"message_id":"wamid.X","emoji":""}})",
      R"({"messaging_product":"whatsapp","to":"4917612345678","type":"template","template":{"name":"order_shipped","language":{"code":"en_US"},"components":[{"type":"body","parameters":[{"type":"text","text":"Jonas"}]},{"type":"button","sub_type":"quick_reply","index":0,"parameters":[{"type":"payload","payload":"OK"}]}]}})",
      R"({"messaging_product":"whatsapp","to":"4917612345678","type":"interactive","interactive":{"type":"button","body":{"text":"Confirm?"},"action":{"buttons":[{"type":"reply","reply":{"id":"yes","title":"Yes"}},{"type":"reply","reply":{"id":"no","title":"No"}}]}}})",
      R"({"messaging_product":"whatsapp","to":"4917612345678","type":"interactive","interactive":{"type":"list","body":{"text":"Pick"},"action":{"button":"Choose","sections":[{"title":"Thu","rows":[{"id":"s1","title":"3 PM","description":"K"}]}]}}})",
      R"({"messaging_product":"whatsapp","to":"4917612345678","type":"interactive","interactive":{"type":"cta_url","body":{"text":"Invoice"},"action":{"name":"cta_url","parameters":{"display_text":"Open","url":"https://ex.com/i/1"}}}})",
      R"({"messaging_product":"whatsapp","to":"4917612345678","type":"interactive","interactive":{"type":"flow","body":{"text":"Rate"},"action":{"name":"flow","parameters":{"flow_message_version":"3","flow_id":"1","flow_token":"t","flow_cta":"Start"}}}})",
      R"({"messaging_product":"whatsapp","status":"read","message_id":"wamid.in","typing_indicator":{"type":"text"}})",
  };
  for (const char* json : valid) EXPECT_EQ(Code(json), "ok") << json;
}

TEST(ValidateOutboundTest, ExtractsWhatTheGatewayActsOn) {
  Result<OutboundMessage> m = Validate(
      R"({"messaging_product":"whatsapp","to":"+49 176 12345678","type":"template","template":{"name":"order_shipped","language":{"code":"en_US"},"components":[{"type":"body","parameters":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}]}})");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->wa_id, "4917612345678");
  EXPECT_EQ(m->to_input, "+49 176 12345678");
  EXPECT_FALSE(m->free_form);
  EXPECT_EQ(m->template_name, "order_shipped");
  EXPECT_EQ(m->template_body_parameters, 2);
  Result<OutboundMessage> read = Validate(R"({"messaging_product":"whatsapp","status":"read","message_id":"wamid.in"})");
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->kind, OutboundMessage::Kind::kMarkRead);
}

// covers: B-19
TEST(ValidateOutboundTest, RefusesWhatMetaRefusesWithItsCodes) {
  std::string long_text(4097, 'a');
  struct Case {
    std::string json;
    std::string code;
    int graph;
  } cases[] = {
      {R"({"to":"4917612345678","text":{"body":"x"}})", "invalid_parameter", 100},
      {R"({"messaging_product":"sms","to":"4917612345678","text":{"body":"x"}})", "invalid_parameter", 100},
      {R"({"messaging_product":"whatsapp","type":"text","text":{"body":"x"}})", "missing_parameter", 131008},
      {R"({"messaging_product":"whatsapp","to":"49abc","text":{"body":"x"}})", "invalid_parameter_value", 131009},
      {R"({"messaging_product":"whatsapp","to":"4917612345678","type":"poll","poll":{}})", "invalid_parameter", 100},
      {R"({"messaging_product":"whatsapp","to":"4917612345678","type":"hologram"})", "unsupported_message_type", 131051},
      {R"({"messaging_product":"whatsapp","to":"4917612345678","text":{"body":")" + long_text + R"("}})", "too_long", 100},
      {R"({"messaging_product":"whatsapp","to":"4917612345678","text":{"body":"x","bold":true}})", "invalid_parameter", 100},
      {R"({"messaging_product":"whatsapp","to":"4917612345678","type":"image","image":{"id":"1","link":"https://a"}})", "invalid_parameter_value", 131009},
      {R"({"messaging_product":"whatsapp","to":"4917612345678","type":"image","image":{}})", "missing_parameter", 131008},
      {R"({"messaging_product":"whatsapp","to":"4917612345678","type":"audio","audio":{"id":"1","caption":"no"}})", "invalid_parameter", 100},
      {R"({"messaging_product":"whatsapp","to":"4917612345678","type":"location","location":{"latitude":91,"longitude":0}})", "invalid_parameter_value", 131009},
      {R"({"messaging_product":"whatsapp","to":"4917612345678","type":"contacts","contacts":[{"name":{}}]})", "missing_parameter", 131008},
      {R"({"messaging_product":"whatsapp","to":"4917612345678","type":"interactive","interactive":{"type":"button","body":{"text":"x"},"action":{"buttons":[{"reply":{"id":"a","title":"A"}},{"reply":{"id":"b","title":"B"}},{"reply":{"id":"c","title":"C"}},{"reply":{"id":"d","title":"D"}}]}}})", "invalid_parameter_value", 131009},
      {R"({"messaging_product":"whatsapp","to":"4917612345678","type":"interactive","interactive":{"type":"button","body":{"text":"x"},"action":{"buttons":[{"reply":{"id":"a","title":"A"}},{"reply":{"id":"a","title":"B"}}]}}})", "invalid_parameter_value", 131009},
      {R"({"messaging_product":"whatsapp","to":"4917612345678","type":"interactive","interactive":{"type":"button","body":{"text":"x"},"action":{"buttons":[{"reply":{"id":"a","title":"This title is too long"}}]}}})", "too_long", 100},
      {R"({"messaging_product":"whatsapp","to":"4917612345678","type":"template","template":{"name":"t"}})", "missing_parameter", 131008},
      {R"({"messaging_product":"whatsapp","to":"4917612345678","type":"text","text":{"body":"x"},"image":{"id":"1"}})", "invalid_parameter", 100},
      {R"({"messaging_product":"whatsapp","to":"4917612345678","text":{"body":"x"},"biz_opaque_callback_data":")" + std::string(513, 'o') + R"("})", "too_long", 100},
  };
  for (const Case& c : cases) {
    Result<OutboundMessage> r = Validate(c.json);
    ASSERT_FALSE(r.ok()) << c.json;
    EXPECT_EQ(r.status().machine_code(), c.code) << c.json;
    EXPECT_EQ(GraphCodeFor(r.status()), c.graph) << c.json;
    // The message names the field, never its value.
    EXPECT_EQ(r.status().message().find("4917612345678"), std::string::npos);
  }
}

TEST(ValidateOutboundTest, ToleratesWhatRealSdksSend) {
  // contacts as a JSON-encoded string; a button index as a string.
  Result<OutboundMessage> m = Validate(
      R"({"messaging_product":"whatsapp","to":"4917612345678","type":"contacts","contacts":"[{\"name\":{\"formatted_name\":\"Tom\"}}]"})");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_NE(m->body_json.find(R"("contacts":[{"name")"), std::string::npos) << m->body_json;
  EXPECT_EQ(Code(R"({"messaging_product":"whatsapp","to":"4917612345678","type":"template","template":{"name":"t","language":{"code":"en"},"components":[{"type":"button","sub_type":"url","index":"1","parameters":[{"type":"text","text":"x"}]}]}})"),
            "ok");
}

TEST(GraphErrorTest, EnvelopeIsMetasShape) {
  GraphError e = MakeGraphError(131056);
  EXPECT_EQ(e.http_status, 429);
  std::string body = GraphErrorBody(e, "Ab/Cd");
  EXPECT_NE(body.find(R"("message":"(#131056) (Business Account, Consumer Account) pair rate limit hit")"), std::string::npos) << body;
  EXPECT_NE(body.find(R"("type":"OAuthException","code":131056)"), std::string::npos);
  EXPECT_NE(body.find(R"("fbtrace_id":"Ab\/Cd")"), std::string::npos) << body;
  EXPECT_EQ(MakeGraphError(190).http_status, 401);
}

// covers: F-14, F-15
TEST(GraphErrorTest, RetryTableFollowsTheSpec) {
  for (int code : {2, 130429, 131000, 131016, 131057, 133004}) EXPECT_EQ(RetryPolicyFor(code), RetryPolicy::kRetry) << code;
  for (int code : {4, 80007}) EXPECT_EQ(RetryPolicyFor(code), RetryPolicy::kRetryLong) << code;
  EXPECT_EQ(RetryPolicyFor(1), RetryPolicy::kRetryOnce);
  EXPECT_EQ(RetryPolicyFor(131056), RetryPolicy::kRetryPair);
  for (int code : {0, 190}) EXPECT_EQ(RetryPolicyFor(code), RetryPolicy::kPauseChannel) << code;
  for (int code : {100, 131026, 131047, 131049, 131050, 132000, 132001, 132015, 368, 131048, 999999}) {
    EXPECT_EQ(RetryPolicyFor(code), RetryPolicy::kNever) << code;
  }
}

// covers: W-01
TEST(SignatureTest, VerifiesTheExactBytesInConstantTimeComparison) {
  std::string body = R"({"object":"whatsapp_business_account","entry":[{"id":"1","changes":[]}],"x":"caf\u00e9"})";
  std::string sig = HubSignature("app-secret", body);
  ASSERT_EQ(sig.size(), 7u + 64u);
  EXPECT_TRUE(VerifyHubSignature("app-secret", sig, body).ok());
  std::string upper = "sha256=" ;
  for (char c : sig.substr(7)) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_TRUE(VerifyHubSignature("app-secret", upper, body).ok());
  EXPECT_EQ(VerifyHubSignature("app-secret", "", body).machine_code(), "signature_missing");
  EXPECT_EQ(VerifyHubSignature("app-secret", "sha1=abc", body).machine_code(), "signature_malformed");
  EXPECT_EQ(VerifyHubSignature("other", sig, body).machine_code(), "signature_mismatch");
  // The same document re-serialised (the escape decoded) is other bytes.
  std::string reserialised = R"({"object":"whatsapp_business_account","entry":[{"id":"1","changes":[]}],"x":"café"})";
  EXPECT_EQ(VerifyHubSignature("app-secret", sig, reserialised).machine_code(), "signature_mismatch");
  std::string tampered = body;
  tampered[10] ^= 1;
  EXPECT_EQ(VerifyHubSignature("app-secret", sig, tampered).machine_code(), "signature_mismatch");
}

TEST(MetaEscapeTest, EscapesSlashAndNonAsciiLikeMeta) {
  EXPECT_EQ(MetaEscape(R"({"u":"https://a/b","t":"café 👍"})"),
            R"({"u":"https:\/\/a\/b","t":"caf\u00e9 \ud83d\udc4d"})");
  Result<JsonValue> back = ParseJson(MetaEscape(R"({"t":"Grüße 👍"})"));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->Find("t")->as_string(), "Grüße 👍");
}

TEST(ParseWebhookTest, ReadsEveryEntryChangeAndItem) {
  std::string body = R"({"object":"whatsapp_business_account","entry":[
    {"id":"WABA1","changes":[
      {"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15557654321","phone_number_id":"111"},
        "contacts":[{"profile":{"name":"Jonas"},"wa_id":"4917612345678"}],
        "messages":[{"from":"4917612345678","id":"wamid.A","timestamp":"1771423555","type":"text","text":{"body":"STOP"}},
                    {"from":"4917612345678","id":"wamid.B","timestamp":"1771423556","type":"interactive","interactive":{"type":"button_reply","button_reply":{"id":"yes","title":"Yes"}}},
                    {"from":"4917612345678","id":"wamid.C","timestamp":"1771423557","type":"brand_new_type","brand_new_type":{"x":1},"future_field":true}]}},
      {"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"phone_number_id":"111"},
        "statuses":[{"id":"wamid.OUT","status":"delivered","timestamp":"1771423600","recipient_id":"4917612345678"},
                    {"id":"wamid.OUT2","status":"failed","timestamp":"1771423601","errors":[{"code":131047,"title":"Re-engagement message"}]}]}}]},
    {"id":"WABA2","changes":[
      {"field":"user_preferences","value":{"messaging_product":"whatsapp","metadata":{"phone_number_id":"222"},
        "user_preferences":[{"wa_id":"4917612345678","category":"marketing_messages","value":"stop","timestamp":1771423000}]}},
      {"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"phone_number_id":"222"},"errors":[{"code":130429,"title":"Rate limit hit"}]}},
      {"field":"message_template_status_update","value":{"event":"APPROVED","message_template_name":"t"}}]}]})";
  Result<JsonValue> root = ParseJson(body);
  ASSERT_TRUE(root.ok());
  Result<WebhookBatch> batch = ParseWebhook(*root);
  ASSERT_TRUE(batch.ok()) << batch.status().ToString();
  ASSERT_EQ(batch->messages.size(), 3u);
  EXPECT_EQ(batch->messages[0].text, "STOP");
  EXPECT_EQ(batch->messages[0].profile_name, "Jonas");
  EXPECT_EQ(batch->messages[0].timestamp, 1771423555);
  EXPECT_EQ(batch->messages[0].where.phone_number_id, "111");
  EXPECT_EQ(batch->messages[1].reply_id, "yes");
  EXPECT_EQ(batch->messages[2].type, "brand_new_type");
  EXPECT_NE(batch->messages[2].raw_json.find("future_field"), std::string::npos);
  ASSERT_EQ(batch->statuses.size(), 2u);
  EXPECT_EQ(batch->statuses[1].error_codes, std::vector<int>{131047});
  ASSERT_EQ(batch->preferences.size(), 1u);
  EXPECT_EQ(batch->preferences[0].value, "stop");
  EXPECT_EQ(batch->preferences[0].where.phone_number_id, "222");
  ASSERT_EQ(batch->errors.size(), 1u);
  EXPECT_EQ(batch->errors[0].code, 130429);
  EXPECT_EQ(batch->other_changes.size(), 1u);
}

// covers: CHAN-02
TEST(ParseWebhookTest, ReadsTemplateReviewsCompletedAndAnnounced) {
  std::string body = R"({"object":"whatsapp_business_account","entry":[{"id":"WABA1","time":1771423000,"changes":[
      {"field":"template_category_update","value":{"message_template_id":12,"message_template_name":"shipped",
        "message_template_language":"en_US","previous_category":"UTILITY","new_category":"MARKETING"}},
      {"field":"template_category_update","value":{"message_template_id":12,"message_template_name":"shipped",
        "message_template_language":"en_US","correct_category":"MARKETING","new_category":"UTILITY",
        "category_update_timestamp":1771500000}},
      {"field":"message_template_status_update","value":{"event":"PAUSED","message_template_id":12,
        "message_template_name":"shipped","message_template_language":"en_US","reason":"NONE",
        "message_template_category":"UTILITY"}}]}]})";
  Result<JsonValue> root = ParseJson(body);
  ASSERT_TRUE(root.ok());
  Result<WebhookBatch> batch = ParseWebhook(*root);
  ASSERT_TRUE(batch.ok());
  ASSERT_EQ(batch->templates.size(), 3u);
  EXPECT_EQ(batch->templates[0].category, "MARKETING");
  EXPECT_EQ(batch->templates[0].previous_category, "UTILITY");
  // An announcement's new_category is the category in force now, not the coming one.
  EXPECT_EQ(batch->templates[1].category, "");
  EXPECT_EQ(batch->templates[1].correct_category, "MARKETING");
  EXPECT_EQ(batch->templates[1].change_at, 1771500000);
  EXPECT_EQ(batch->templates[2].status, "PAUSED");
  EXPECT_EQ(batch->templates[2].language, "en_US");
  EXPECT_TRUE(batch->other_changes.empty());
}

TEST(ParseWebhookTest, RefusesWhatIsNotAWhatsAppDelivery) {
  for (const char* json : {R"([])", R"({"object":"page","entry":[]})", R"({"object":"whatsapp_business_account"})"}) {
    Result<JsonValue> root = ParseJson(json);
    ASSERT_TRUE(root.ok());
    EXPECT_EQ(ParseWebhook(*root).status().machine_code(), "invalid_webhook") << json;
  }
}

TEST(WebhookEnvelopeTest, WrapsAValueAsMetaDoes) {
  std::string env = WebhookEnvelope("WABA", "messages", R"({"statuses":[{"id":"wamid.1/2"}]})");
  EXPECT_EQ(env, R"({"object":"whatsapp_business_account","entry":[{"id":"WABA","changes":[{"value":{"statuses":[{"id":"wamid.1\/2"}]},"field":"messages"}]}]})");
}

}  // namespace
}  // namespace cs::whatsapp
