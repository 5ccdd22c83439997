// covers: CHAN-04, SEN-05 (tenant policy: refuse, mask or flag; cards fixed by PCI DSS)
#include "scan/policy.h"

#include <gtest/gtest.h>

namespace cs::scan {
namespace {

TEST(ContentPolicyTest, DefaultsRefuseAndMaskFinancialIdentifiers) {
  ContentPolicy p = ContentPolicy::Defaults();
  EXPECT_EQ(p.For(Direction::kOutbound, FindingType::kCard), Action::kRefuse);
  EXPECT_EQ(p.For(Direction::kOutbound, FindingType::kIban), Action::kRefuse);
  EXPECT_EQ(p.For(Direction::kOutbound, FindingType::kEmail), Action::kAllow);
  EXPECT_EQ(p.For(Direction::kInbound, FindingType::kCard), Action::kMask);
  EXPECT_EQ(p.For(Direction::kInbound, FindingType::kHealth), Action::kFlag);
}

TEST(ContentPolicyTest, OverridesOnTopOfDefaultsAndRoundTrips) {
  auto p = ContentPolicy::FromJson(R"({"outbound":{"email":"mask","health":"refuse"},"inbound":{"phone":"mask"}})");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->For(Direction::kOutbound, FindingType::kEmail), Action::kMask);
  EXPECT_EQ(p->For(Direction::kOutbound, FindingType::kHealth), Action::kRefuse);
  EXPECT_EQ(p->For(Direction::kOutbound, FindingType::kIban), Action::kRefuse);
  EXPECT_EQ(p->For(Direction::kInbound, FindingType::kPhone), Action::kMask);
  auto again = ContentPolicy::FromJson(p->ToJson());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->ToJson(), p->ToJson());
}

TEST(ContentPolicyTest, CardRulesCannotBeRelaxed) {
  EXPECT_EQ(ContentPolicy::FromJson(R"({"outbound":{"card":"allow"}})").status().machine_code(), "card_policy_fixed");
  EXPECT_EQ(ContentPolicy::FromJson(R"({"outbound":{"card":"mask"}})").status().machine_code(), "card_policy_fixed");
  EXPECT_EQ(ContentPolicy::FromJson(R"({"inbound":{"card":"flag"}})").status().machine_code(), "card_policy_fixed");
  EXPECT_TRUE(ContentPolicy::FromJson(R"({"outbound":{"card":"refuse"}})").ok());
}

TEST(ContentPolicyTest, BadPoliciesAreNamed) {
  EXPECT_EQ(ContentPolicy::FromJson(R"({"outbound":{"ssn":"mask"}})").status().machine_code(), "invalid_policy");
  EXPECT_EQ(ContentPolicy::FromJson(R"({"outbound":{"email":"flag"}})").status().machine_code(), "invalid_policy");
  EXPECT_EQ(ContentPolicy::FromJson(R"({"inbound":{"email":"refuse"}})").status().machine_code(), "invalid_policy");
  EXPECT_EQ(ContentPolicy::FromJson(R"({"sideways":{}})").status().machine_code(), "invalid_policy");
  EXPECT_EQ(ContentPolicy::FromJson(R"([])").status().machine_code(), "invalid_policy");
  EXPECT_EQ(ContentPolicy::FromJson(R"({"outbound":)").status().machine_code(), "invalid_json");
}

TEST(ContentPolicyTest, DecideMasksRefusesAndRecordsWithoutValues) {
  auto scanner = Scanner::Create();
  ASSERT_TRUE(scanner.ok());
  const std::string text = "IBAN DE89370400440532013000 or mail jane@example.org";
  Decision out = Decide(ContentPolicy::Defaults(), Direction::kOutbound, text, (*scanner)->Scan(text));
  EXPECT_TRUE(out.refused);
  EXPECT_FALSE(out.masked);
  Decision in = Decide(ContentPolicy::Defaults(), Direction::kInbound, text, (*scanner)->Scan(text));
  EXPECT_FALSE(in.refused);
  EXPECT_TRUE(in.masked);
  EXPECT_EQ(in.text, "IBAN DE****************3000 or mail jane@example.org");
  const std::string json = FindingsJson(in);
  EXPECT_EQ(json, R"([{"type":"iban","detail":"DE","start":5,"end":27,"action":"mask"},)"
                  R"({"type":"email","start":36,"end":52,"action":"flag"}])");
  EXPECT_EQ(json.find("jane"), std::string::npos);
}

}  // namespace
}  // namespace cs::scan
