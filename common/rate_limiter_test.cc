#include "common/rate_limiter.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"

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

// Callers on many threads (a server's): every admission is counted once (run under TSan too).
TEST(RateLimiterConcurrency, ThreadsShareABucketWithoutLosingCount) {
  RateLimiter limiter(1e-9, 1000);  // No refill during the test: exactly the burst is admitted.
  std::atomic<int> admitted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&limiter, &admitted, t] {
      for (int i = 0; i < 1000; ++i) {
        if (limiter.Acquire(i % 2 == 0 ? "shared" : absl::StrCat("own-", t)) ==
            absl::ZeroDuration()) {
          ++admitted;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  // "shared": 1000 admitted of 2000 asked; each own bucket: its 500 calls.
  EXPECT_EQ(admitted.load(), 1000 + 4 * 500);
}

TEST(RateLimiterDisabled, ZeroRateAdmitsEverything) {
  RateLimiter limiter(0, 1);
  EXPECT_FALSE(limiter.enabled());
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(limiter.Acquire("a"), absl::ZeroDuration());
}

}  // namespace
}  // namespace observer
