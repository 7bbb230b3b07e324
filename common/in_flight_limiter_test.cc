#include "common/in_flight_limiter.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace observer {
namespace {

using Refusal = InFlightLimiter::Refusal;

TEST(InFlightLimiterTest, RefusesBeyondTheTotalAndFreesPlacesWithTheLastOwner) {
  InFlightLimiter limiter(2, 0);
  Refusal why;
  auto a = limiter.TryAcquire("", &why);
  auto b = limiter.TryAcquire("x", &why);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(limiter.TryAcquire("y", &why), nullptr);
  EXPECT_EQ(why, Refusal::kTotal);
  auto copy = a;  // A second owner (a callback holding the caller) keeps the place.
  a.reset();
  EXPECT_EQ(limiter.in_flight(), 2);
  EXPECT_EQ(limiter.TryAcquire("y", &why), nullptr);
  copy.reset();
  EXPECT_EQ(limiter.in_flight(), 1);
  EXPECT_NE(limiter.TryAcquire("y", &why), nullptr);
  EXPECT_EQ(why, Refusal::kNone);
}

TEST(InFlightLimiterTest, OneCallerCannotTakeEveryPlace) {
  InFlightLimiter limiter(10, 3);
  Refusal why;
  std::vector<std::shared_ptr<const InFlightSlot>> hog;
  for (int i = 0; i < 3; ++i) hog.push_back(limiter.TryAcquire("hog", &why));
  for (const auto& slot : hog) ASSERT_NE(slot, nullptr);
  EXPECT_EQ(limiter.TryAcquire("hog", &why), nullptr);
  EXPECT_EQ(why, Refusal::kCaller);
  EXPECT_NE(limiter.TryAcquire("quiet", &why), nullptr) << "another caller still gets in";
  // Callers without an identity cannot be told apart: only the total bounds them.
  std::vector<std::shared_ptr<const InFlightSlot>> unnamed;
  for (int i = 0; i < 6; ++i) unnamed.push_back(limiter.TryAcquire("", &why));
  for (const auto& slot : unnamed) EXPECT_NE(slot, nullptr);
  EXPECT_EQ(limiter.in_flight(), 9);
  hog.clear();
  EXPECT_EQ(limiter.in_flight("hog"), 0);
  EXPECT_NE(limiter.TryAcquire("hog", &why), nullptr);
}

TEST(InFlightLimiterTest, NoLimitGivesNoSlot) {
  InFlightLimiter limiter(0, 0);
  Refusal why = Refusal::kTotal;
  EXPECT_EQ(limiter.TryAcquire("x", &why), nullptr);
  EXPECT_EQ(why, Refusal::kNone);
}

TEST(InFlightLimiterTest, ConcurrentCallersNeverExceedTheLimit) {
  InFlightLimiter limiter(8, 0);
  std::atomic<int64_t> held{0};
  std::atomic<int64_t> most{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      Refusal why;
      for (int i = 0; i < 20000; ++i) {
        auto slot = limiter.TryAcquire(i % 2 ? "a" : "", &why);
        if (slot == nullptr) continue;
        const int64_t now = ++held;
        int64_t seen = most.load();
        while (now > seen && !most.compare_exchange_weak(seen, now)) {
        }
        --held;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_LE(most.load(), 8);
  EXPECT_EQ(limiter.in_flight(), 0);
}

}  // namespace
}  // namespace observer
