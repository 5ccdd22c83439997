#include "common/status.h"

#include <gtest/gtest.h>

#include <memory>

namespace cs {
namespace {

Result<int> Half(int v) {
  if (v % 2 != 0) return InvalidArgument("odd", "value is odd");
  return v / 2;
}

Result<int> Quarter(int v) {
  CS_ASSIGN_OR_RETURN(int half, Half(v));
  CS_ASSIGN_OR_RETURN(int quarter, Half(half));
  return quarter;
}

Status CheckEven(int v) {
  CS_RETURN_IF_ERROR(Half(v).status());
  return Status::Ok();
}

TEST(StatusTest, CarriesCodeMachineCodeAndMessage) {
  Status s = InvalidArgument("invalid_json", "body is not JSON");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.machine_code(), "invalid_json");
  EXPECT_EQ(s.ToString(), "INVALID_ARGUMENT invalid_json: body is not JSON");
}

TEST(ResultTest, PropagatesFirstError) {
  EXPECT_EQ(*Quarter(8), 2);
  Result<int> r = Quarter(6);  // 6 -> 3 -> odd
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().machine_code(), "odd");
  EXPECT_FALSE(CheckEven(3).ok());
  EXPECT_TRUE(CheckEven(4).ok());
}

TEST(ResultTest, OkStatusWithoutValueBecomesInternalError) {
  Result<int> r{Status::Ok()};
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInternal);
}

TEST(ResultTest, HoldsMoveOnlyValues) {
  Result<std::unique_ptr<int>> r = std::make_unique<int>(7);
  ASSERT_TRUE(r.ok());
  std::unique_ptr<int> p = std::move(r).value();
  EXPECT_EQ(*p, 7);
}

}  // namespace
}  // namespace cs
