#include <gtest/gtest.h>

#include "http/http.h"

namespace cs {
namespace {

TEST(RequestIdTest, FreshIdsAreRandomAndWellFormed) {
  std::string fresh = NewRequestId();
  EXPECT_EQ(fresh.size(), 28u);
  EXPECT_EQ(fresh.rfind("req_", 0), 0u);
  EXPECT_EQ(fresh.find_first_not_of("0123456789abcdef", 4), std::string::npos);
  EXPECT_NE(fresh, NewRequestId());
}

// covers: I-02, I-11
TEST(ParseQueryTest, DecodesOnceAndRefusesRepeats) {
  auto q = ParseQuery("a=1&b=x%20y+z&c=%2527&flag");
  ASSERT_TRUE(q.ok());
  ASSERT_EQ(q->size(), 4u);
  EXPECT_EQ((*q)[1].second, "x y z");
  EXPECT_EQ((*q)[2].second, "%27");  // decoded once only
  EXPECT_EQ((*q)[3].first, "flag");
  EXPECT_EQ(ParseQuery("a=1&a=2").status().machine_code(), "ambiguous_input");
  EXPECT_EQ(ParseQuery("a=%zz").status().machine_code(), "invalid_query");
  EXPECT_EQ(ParseQuery("a=%2").status().machine_code(), "invalid_query");
  EXPECT_EQ(ParseQuery("a=%ff").status().machine_code(), "invalid_query");
}

TEST(ErrorResponseTest, UsesTheEnvelope) {
  HttpResponse r = ErrorResponse(404, "not_found", "no such thing", "req_1");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.error_code, "not_found");
  EXPECT_EQ(r.body, R"({"error":{"code":"not_found","message":"no such thing","request_id":"req_1"}})");
}

}  // namespace
}  // namespace cs
