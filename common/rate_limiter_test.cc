#include "common/rate_limiter.h"

#include <gtest/gtest.h>

namespace observer {
namespace {

class RateLimiterTest : public ::testing::Test {
 protected:
  absl::Time now_ = absl::FromUnixSeconds(1'700'000'000);
  RateLimiter limiter_{10, 3, [this] { return now_; }};
};

TEST_F(RateLimiterTest, AdmitsTheBurstThenAsksToWaitForTheNextToken) {
  for (int i = 0; i < 3; ++i) EXPECT_EQ(limiter_.Acquire("a"), absl::ZeroDuration()) << i;
  EXPECT_EQ(limiter_.Acquire("a"), absl::Milliseconds(100));
  now_ += absl::Milliseconds(50);
  EXPECT_EQ(limiter_.Acquire("a"), absl::Milliseconds(50));
  now_ += absl::Milliseconds(50);
  EXPECT_EQ(limiter_.Acquire("a"), absl::ZeroDuration());
  EXPECT_GT(limiter_.Acquire("a"), absl::ZeroDuration());
}

TEST_F(RateLimiterTest, CallersHaveTheirOwnBuckets) {
  for (int i = 0; i < 3; ++i) ASSERT_EQ(limiter_.Acquire("flood"), absl::ZeroDuration());
  EXPECT_GT(limiter_.Acquire("flood"), absl::ZeroDuration());
  EXPECT_EQ(limiter_.Acquire("quiet"), absl::ZeroDuration());
}

TEST_F(RateLimiterTest, RefillsNoFurtherThanTheBurstAndSurvivesTheSweep) {
  now_ += absl::Hours(1);
  for (int i = 0; i < 3; ++i) ASSERT_EQ(limiter_.Acquire("a"), absl::ZeroDuration());
  EXPECT_GT(limiter_.Acquire("a"), absl::ZeroDuration());
  now_ += absl::Minutes(2);  // The next call sweeps the idle buckets.
  for (int i = 0; i < 3; ++i) EXPECT_EQ(limiter_.Acquire("a"), absl::ZeroDuration());
  EXPECT_GT(limiter_.Acquire("a"), absl::ZeroDuration());
}

TEST_F(RateLimiterTest, AClockSteppedBackRefillsNothingAndCountsOnFromThere) {
  for (int i = 0; i < 3; ++i) ASSERT_EQ(limiter_.Acquire("a"), absl::ZeroDuration());
  now_ -= absl::Hours(1);
  EXPECT_EQ(limiter_.Acquire("a"), absl::Milliseconds(100));
  now_ += absl::Milliseconds(100);
  EXPECT_EQ(limiter_.Acquire("a"), absl::ZeroDuration());
}

TEST(RateLimiterDisabled, ZeroRateAdmitsEverything) {
  RateLimiter limiter(0, 1);
  EXPECT_FALSE(limiter.enabled());
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(limiter.Acquire("a"), absl::ZeroDuration());
}

}  // namespace
}  // namespace observer
