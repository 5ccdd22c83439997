#include "log/log.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace cs {
namespace {

TEST(LogTest, RendersOneJsonObjectPerLine) {
  std::string line = RenderLogLine(0, LogLevel::kInfo, "http_request",
                                   {{"request_id", std::string_view("req_1")},
                                    {"status", int64_t{200}},
                                    {"latency_ms", 1.5},
                                    {"tls", false}});
  EXPECT_EQ(line,
            R"({"ts":"1970-01-01T00:00:00.000Z","level":"info","event":"http_request","request_id":"req_1",)"
            R"("status":200,"latency_ms":1.5,"tls":false})");
}

// covers: B-23
TEST(LogTest, ValuesCannotForgeASecondEntry) {
  std::string line = RenderLogLine(0, LogLevel::kWarn, "x",
                                   {{"route", std::string_view("a\n2025-01-01 INFO admin login ok\x1b[2J")}});
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_EQ(line.find('\x1b'), std::string::npos);
}

TEST(LogTest, FileLoggerAppendsAndFiltersByLevel) {
  std::string path = ::testing::TempDir() + "/consentry_log_test.log";
  std::remove(path.c_str());
  {
    auto logger = CreateJsonLogger(LogLevel::kInfo, path);
    ASSERT_TRUE(logger.ok());
    (*logger)->Log(LogLevel::kDebug, "hidden", {});
    (*logger)->Log(LogLevel::kInfo, "shown", {{"n", int64_t{1}}});
    (*logger)->Flush();
  }
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_EQ(ss.str().find("hidden"), std::string::npos);
  EXPECT_NE(ss.str().find("\"event\":\"shown\""), std::string::npos);
  EXPECT_EQ(ParseLogLevel("loud").status().machine_code(), "invalid_config");
}

}  // namespace
}  // namespace cs
