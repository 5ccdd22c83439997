#include "json/json.h"

#include <gtest/gtest.h>

namespace cs {
namespace {

std::string CodeOf(std::string_view text, const JsonLimits& limits = {}) {
  auto r = ParseJson(text, limits);
  return r.ok() ? "ok" : r.status().machine_code();
}

TEST(ParseJsonTest, ParsesEveryType) {
  auto r = ParseJson(R"({"s":"é","i":-5,"d":1.5,"b":true,"n":null,"a":[1,"x"],"o":{}})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->Find("s")->as_string(), "é");
  EXPECT_EQ(r->Find("i")->as_int(), -5);
  EXPECT_DOUBLE_EQ(r->Find("d")->as_double(), 1.5);
  EXPECT_TRUE(r->Find("b")->as_bool());
  EXPECT_TRUE(r->Find("n")->is_null());
  EXPECT_EQ(r->Find("a")->as_array().size(), 2u);
  EXPECT_TRUE(r->Find("o")->is_object());
  EXPECT_EQ(r->Find("missing"), nullptr);
}

// covers: B-16
TEST(ParseJsonTest, RefusesMalformedUtf8BeforeParsing) {
  EXPECT_EQ(CodeOf("{\"a\":\"\xed\xa0\x80\"}"), "invalid_utf8");
  EXPECT_EQ(CodeOf("{\"a\":\"\xc0\xaf\"}"), "invalid_utf8");
  EXPECT_EQ(CodeOf("{\"a\":\"ok\xe2\x82"), "invalid_utf8");
}

TEST(ParseJsonTest, RefusesMalformedJson) {
  EXPECT_EQ(CodeOf(""), "invalid_json");
  EXPECT_EQ(CodeOf("{"), "invalid_json");
  EXPECT_EQ(CodeOf("{'a':1}"), "invalid_json");
  EXPECT_EQ(CodeOf("{\"a\":1,}"), "invalid_json");
  EXPECT_EQ(CodeOf("{\"a\":1} trailing"), "invalid_json");
  EXPECT_EQ(CodeOf("[NaN]"), "invalid_json");
}

// covers: B-17
TEST(ParseJsonTest, RefusesLoneSurrogateEscapes) {
  EXPECT_NE(CodeOf(R"({"a":"\ud800"})"), "ok");
  EXPECT_EQ(CodeOf(R"({"a":"\ud83d\ude00"})"), "ok");
}

// covers: W-08
TEST(ParseJsonTest, EnforcesTheDepthLimitExactly) {
  JsonLimits limits;
  limits.max_depth = 32;
  std::string at_limit = std::string(32, '[') + std::string(32, ']');
  std::string over = std::string(33, '[') + std::string(33, ']');
  EXPECT_EQ(CodeOf(at_limit, limits), "ok");
  EXPECT_EQ(CodeOf(over, limits), "json_too_deep");
  std::string very_deep = std::string(100000, '[') + std::string(100000, ']');
  EXPECT_EQ(CodeOf(very_deep, limits), "json_too_deep");
}

TEST(ParseJsonTest, EnforcesTheArrayLimit) {
  JsonLimits limits;
  limits.max_array_items = 3;
  EXPECT_EQ(CodeOf("[1,2,3]", limits), "ok");
  EXPECT_EQ(CodeOf("[1,2,3,4]", limits), "too_long");
}

// covers: I-11
TEST(ParseJsonTest, RefusesDuplicateKeysAtAnyDepth) {
  EXPECT_EQ(CodeOf(R"({"a":1,"a":2})"), "ambiguous_input");
  EXPECT_EQ(CodeOf(R"({"x":{"b":1,"b":1}})"), "ambiguous_input");
}

TEST(ParseJsonTest, RefusesOutOfRangeNumbers) {
  EXPECT_EQ(CodeOf("[18446744073709551615]"), "invalid_number");
  EXPECT_EQ(CodeOf("[1e400]"), "invalid_number");
}

// covers: B-21, I-11
TEST(ObjectReaderTest, MapsFieldsStrictly) {
  auto v = ParseJson(R"({"name":"n","n":3,"tags":["a"],"flag":false})");
  ASSERT_TRUE(v.ok());
  auto reader = ObjectReader::Create(*v);
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ(*reader->RequiredString("name"), "n");
  EXPECT_EQ(**reader->OptionalInt("n"), 3);
  EXPECT_EQ(**reader->OptionalStringArray("tags"), std::vector<std::string>{"a"});
  EXPECT_FALSE(**reader->OptionalBool("flag"));
  EXPECT_FALSE(reader->OptionalString("absent")->has_value());
  EXPECT_TRUE(reader->Finish().ok());
}

TEST(ObjectReaderTest, RefusesUnknownMissingAndMistypedFields) {
  auto v = ParseJson(R"({"name":{"$gt":""},"n":"1","extra":1})");
  ASSERT_TRUE(v.ok());
  auto reader = ObjectReader::Create(*v);
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ(reader->RequiredString("name").status().machine_code(), "invalid_type");
  EXPECT_EQ(reader->OptionalInt("n").status().machine_code(), "invalid_type");
  EXPECT_EQ(reader->RequiredString("absent").status().machine_code(), "missing_field");
  Status finish = reader->Finish();
  EXPECT_EQ(finish.machine_code(), "unknown_field");
  EXPECT_NE(finish.message().find("extra"), std::string::npos);
  auto not_object = ParseJson("[]");
  EXPECT_EQ(ObjectReader::Create(*not_object).status().machine_code(), "invalid_type");
}

}  // namespace
}  // namespace cs
