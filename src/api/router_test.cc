#include "api/router.h"

#include <gtest/gtest.h>

namespace cs::api_internal {
namespace {

TEST(RouterTest, MatchesLiteralAndParameterSegments) {
  Router<int> r;
  r.Add("GET", "/v1/apikeys", 1);
  r.Add("GET", "/v1/apikeys/{id}", 2);
  r.Add("DELETE", "/v1/apikeys/{id}", 3);
  r.Add("POST", "/v1/apikeys/{id}/rotate", 4);
  auto m = r.Find("GET", "/v1/apikeys/key_1");
  ASSERT_EQ(m.outcome, Router<int>::Outcome::kFound);
  EXPECT_EQ(*m.payload, 2);
  EXPECT_EQ(m.params.at("id"), "key_1");
  EXPECT_EQ(m.pattern, "/v1/apikeys/{id}");
  EXPECT_EQ(*r.Find("DELETE", "/v1/apikeys/x").payload, 3);
  EXPECT_EQ(*r.Find("POST", "/v1/apikeys/x/rotate").payload, 4);
}

//
TEST(RouterTest, DistinguishesMissingRoutesFromWrongMethods) {
  Router<int> r;
  r.Add("GET", "/v1/apikeys/{id}", 1);
  r.Add("DELETE", "/v1/apikeys/{id}", 2);
  auto m = r.Find("PATCH", "/v1/apikeys/x");
  EXPECT_EQ(m.outcome, Router<int>::Outcome::kMethodNotAllowed);
  EXPECT_EQ(m.allowed, (std::vector<std::string>{"GET", "DELETE"}));
  EXPECT_EQ(r.Find("GET", "/v0/apikeys/x").outcome, Router<int>::Outcome::kNotFound);
  EXPECT_EQ(r.Find("GET", "/v1/apikeys//").outcome, Router<int>::Outcome::kNotFound);
  EXPECT_EQ(r.Find("GET", "/v1/apikeys/x/y").outcome, Router<int>::Outcome::kNotFound);
  EXPECT_EQ(r.Find("GET", "/v1/apikeys").outcome, Router<int>::Outcome::kNotFound);
}

}  // namespace
}  // namespace cs::api_internal
