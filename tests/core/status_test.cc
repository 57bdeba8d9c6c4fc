#include "core/status.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace geocache {
namespace {

TEST(StatusTest, DefaultIsOk) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kOk);
  EXPECT_EQ(s.to_string(), "OK");
  EXPECT_TRUE(Status::Ok().ok());
}

TEST(StatusTest, NamedConstructorsCarryCodeAndMessage) {
  EXPECT_EQ(Status::NotFound().code(), StatusCode::kNotFound);
  EXPECT_EQ(Status::WrongType().code(), StatusCode::kWrongType);
  EXPECT_EQ(Status::TooLarge("big").code(), StatusCode::kTooLarge);
  EXPECT_EQ(Status::Corruption("bad").code(), StatusCode::kCorruption);
  EXPECT_EQ(Status::Unavailable("down").code(), StatusCode::kUnavailable);
  const Status s = Status::InvalidArgument("key too long");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "key too long");
  EXPECT_EQ(s.to_string(), "key too long");
}

TEST(ResultTest, HoldsAValueAndReportsOk) {
  Result<std::string> r(std::string("v"));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r.status().ok());
  EXPECT_EQ(*r, "v");
  EXPECT_EQ(r->size(), 1u);
}

TEST(ResultTest, HoldsAnErrorAndReportsIt) {
  Result<int> r(Status::NotInteger());
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotInteger);
}

TEST(ResultTest, MovesMoveOnlyValuesOut) {
  Result<std::unique_ptr<int>> r(std::make_unique<int>(7));
  std::unique_ptr<int> p = std::move(r).value();
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(*p, 7);
}

}  // namespace
}  // namespace geocache
