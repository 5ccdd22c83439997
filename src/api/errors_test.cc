#include <gtest/gtest.h>

#include "api/api.h"

namespace cs {
namespace {

TEST(ErrorsTest, MapsMachineCodesToTheirDocumentedStatus) {
  EXPECT_EQ(HttpStatusFor(InvalidArgument("invalid_json", "")), 400);
  EXPECT_EQ(HttpStatusFor(InvalidArgument("unsupported_media_type", "")), 415);
  EXPECT_EQ(HttpStatusFor(InvalidArgument("too_long", "")), 422);
  EXPECT_EQ(HttpStatusFor(Unauthenticated("")), 401);
  EXPECT_EQ(HttpStatusFor(NotFound("")), 404);
  EXPECT_EQ(HttpStatusFor(AlreadyExists("conflict", "")), 409);
  EXPECT_EQ(HttpStatusFor(Unavailable("storage_unavailable", "")), 503);
  EXPECT_EQ(HttpStatusFor(Status(StatusCode::kPermissionDenied, "something_new", "")), 403);
}

TEST(ErrorsTest, InternalErrorsRevealNothing) {
  HttpResponse r = StatusResponse(Internal("sqlite said: secret detail"), "req_1");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.error_code, "internal_error");
  EXPECT_EQ(r.body.find("secret detail"), std::string::npos);
  EXPECT_NE(r.log_detail.find("secret detail"), std::string::npos);  // for the log only
  HttpResponse u = StatusResponse(Unavailable("storage_unavailable", "cannot open /var/lib/x.db"), "req_2");
  EXPECT_EQ(u.status, 503);
  EXPECT_EQ(u.body.find("/var/lib"), std::string::npos);
  bool retry_after = false;
  for (const auto& [k, v] : u.headers) retry_after = retry_after || k == "Retry-After";
  EXPECT_TRUE(retry_after);
}

}  // namespace
}  // namespace cs
