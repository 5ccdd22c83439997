#include "common/json_writer.h"

#include <gtest/gtest.h>

namespace cs {
namespace {

TEST(JsonWriterTest, WritesNestedValuesWithCommas) {
  JsonWriter w;
  w.BeginObject().Key("a").Int(1).Key("b").BeginArray().Bool(true).Null().String("x").EndArray();
  w.Key("c").BeginObject().EndObject().EndObject();
  EXPECT_EQ(w.str(), R"({"a":1,"b":[true,null,"x"],"c":{}})");
}

// covers: B-23, I-04
TEST(JsonWriterTest, EscapesControlCharactersAndLogInjection) {
  std::string out;
  AppendJsonString(out, "line\n2025-01-01 INFO admin login ok\x1b[2J\"\\\x7f");
  EXPECT_EQ(out, R"("line\n2025-01-01 INFO admin login ok\u001b[2J\"\\\u007f")");
}

TEST(JsonWriterTest, EscapesLineSeparatorsAndReplacesInvalidUtf8) {
  std::string out;
  AppendJsonString(out, "a\xe2\x80\xa8" "b\xff" "c\xed\xa0\x80" "d\xc3\xa9");
  EXPECT_EQ(out, "\"a\\u2028b\\ufffdc\\ufffd\\ufffd\\ufffdd\xc3\xa9\"");
}

TEST(JsonWriterTest, ErrorEnvelopeHasTheDocumentedShape) {
  EXPECT_EQ(ErrorEnvelope("invalid_json", "bad \"body\"", "req_1"),
            R"({"error":{"code":"invalid_json","message":"bad \"body\"","request_id":"req_1"}})");
}

}  // namespace
}  // namespace cs
