#include "common/failpoint.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace observer::failpoint {
namespace {

using ::testing::HasSubstr;

class FailpointTest : public ::testing::Test {
 protected:
  void TearDown() override { DisarmAll(); }
};

// How long a hit of `name` takes.
absl::Duration TimeHit(absl::string_view name) {
  const absl::Time start = absl::Now();
  Hit(name);
  return absl::Now() - start;
}

TEST_F(FailpointTest, UnarmedPointsDoNothing) {
  EXPECT_LT(TimeHit("registry-before-commit"), absl::Milliseconds(50));
}

TEST_F(FailpointTest, SleepStallsTheCaller) {
  ASSERT_TRUE(Arm("registry-after-apply=sleep(120)").ok());
  EXPECT_GE(TimeHit("registry-after-apply"), absl::Milliseconds(120));
  EXPECT_LT(TimeHit("registry-before-commit"), absl::Milliseconds(50));  // Another point.
}

TEST_F(FailpointTest, SkipAndCountBoundWhichHitsAct) {
  ASSERT_TRUE(Arm("registry-after-apply=2+1*sleep(100)").ok());
  EXPECT_LT(TimeHit("registry-after-apply"), absl::Milliseconds(50));  // Skipped.
  EXPECT_LT(TimeHit("registry-after-apply"), absl::Milliseconds(50));  // Skipped.
  EXPECT_GE(TimeHit("registry-after-apply"), absl::Milliseconds(100));
  EXPECT_LT(TimeHit("registry-after-apply"), absl::Milliseconds(50));  // Count used up.
}

TEST_F(FailpointTest, SpacesAroundNamesAndActionsAreAllowed) {
  ASSERT_TRUE(Arm(" registry-after-apply = sleep(100) ; ").ok());
  EXPECT_GE(TimeHit("registry-after-apply"), absl::Milliseconds(100));
}

TEST_F(FailpointTest, PercentZeroNeverActsAndOffDisarms) {
  ASSERT_TRUE(Arm("stats-before-swap=0%sleep(200)").ok());
  for (int i = 0; i < 20; ++i) EXPECT_LT(TimeHit("stats-before-swap"), absl::Milliseconds(50));
  ASSERT_TRUE(Arm("registry-after-apply=sleep(200); registry-after-apply=off").ok());
  EXPECT_LT(TimeHit("registry-after-apply"), absl::Milliseconds(50));
}

TEST_F(FailpointTest, CrashKillsTheProcessAtThePoint) {
  ASSERT_TRUE(Arm("registry-before-commit=1+crash").ok());
  Hit("registry-before-commit");  // Skipped.
  EXPECT_EXIT(Hit("registry-before-commit"), ::testing::KilledBySignal(SIGKILL),
              "failpoint registry-before-commit: crash");
}

TEST_F(FailpointTest, BadSpecificationsAreRefusedWithTheReason) {
  struct Case {
    const char* spec;
    const char* reason;
  };
  const Case cases[] = {
      {"registry-before-comit=crash", "no failpoint is named 'registry-before-comit'"},
      {"registry-before-commit", "no '=' and action"},
      {"registry-before-commit=explode", "unknown action 'explode'"},
      {"registry-before-commit=sleep(x)", "sleep takes milliseconds"},
      {"registry-before-commit=x+crash", "'x' before '+'"},
      {"registry-before-commit=-1*crash", "'-1' before '*'"},
      {"registry-before-commit=150%crash", "PERCENT must be a number up to 100"},
      {"registry-before-commit=nan%crash", "PERCENT must be a number up to 100"},
      {"registry-before-commit=crash=junk", "unknown action 'crash=junk'"},
      {"registry-before-commit=sleep(5)x", "unknown action 'sleep(5)x'"},
  };
  for (const Case& c : cases) {
    const absl::Status s = Arm(c.spec);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.spec;
    EXPECT_THAT(std::string(s.message()), HasSubstr(c.reason)) << c.spec;
  }
  // Nothing of a refused specification is armed.
  ASSERT_FALSE(Arm("registry-after-apply=sleep(200);registry-before-commit=explode").ok());
  EXPECT_LT(TimeHit("registry-after-apply"), absl::Milliseconds(50));
}

TEST_F(FailpointTest, TheEnvironmentArmsOnlyBuildsWithFailpoints) {
  ::setenv("OBSERVER_FAILPOINTS", "registry-after-apply=sleep(100)", 1);
  std::vector<std::string> armed;
  ASSERT_TRUE(ArmFromEnvironment(&armed).ok());
  ::unsetenv("OBSERVER_FAILPOINTS");
  if (Enabled()) {
    EXPECT_EQ(armed, std::vector<std::string>{"registry-after-apply=sleep(100)"});
    EXPECT_GE(TimeHit("registry-after-apply"), absl::Milliseconds(100));
  } else {
    EXPECT_TRUE(armed.empty());
    EXPECT_LT(TimeHit("registry-after-apply"), absl::Milliseconds(50));
  }
}

}  // namespace
}  // namespace observer::failpoint
