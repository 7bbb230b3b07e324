// A seeded, randomized mix of every fault the other reliability suites inject one at a time,
// on a short schedule, while writers and a validating watcher run throughout: kill -9 of either
// service, crashes at failpoints, the registry frozen (a partition), the store's write lock held
// by another process, a slow watcher, bursts of overload, and quiet spells. The schedule and the
// writers' calls are a function of the seed alone (printed first), so a failing run can be
// replayed:
//
//   OBSERVER_RELIABILITY_SEED=1234 OBSERVER_RELIABILITY_SCALE=10
//   build-test/tests/reliability_random_test
//
// At the end: every acknowledged write is there and nothing refused is (the history checker),
// the change stream the watcher followed through every crash kept every promise (the watch
// validator), stats-service shows an exact recount at the registry's head, and the store file
// passes SQLite's integrity check.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdint>
#include <iostream>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/errors.h"
#include "tests/harness/builders.h"
#include "tests/harness/history.h"
#include "tests/harness/recount.h"
#include "tests/harness/registry_client.h"
#include "tests/harness/registry_process.h"
#include "tests/harness/stats_client.h"
#include "tests/harness/stats_process.h"
#include "tests/harness/status_matchers.h"
#include "tests/harness/store_file.h"
#include "tests/harness/temp_dir.h"
#include "tests/harness/watch_validator.h"
#include "tests/harness/workload.h"

namespace observer::testing {
namespace {

using ::testing::IsEmpty;

uint64_t EnvNumber(const char* name, uint64_t fallback) {
  const char* value = std::getenv(name);
  uint64_t n = 0;
  return value != nullptr && absl::SimpleAtoi(value, &n) ? n : fallback;
}

enum class Fault {
  kKillRegistry,
  kRegistryFailpoint,
  kKillStats,
  kStatsFailpoint,
  kPauseRegistry,
  kHoldWriteLock,
  kSlowWatcher,
  kOverload,
  kQuiet,
};
constexpr int kFaultKinds = 9;
constexpr int kMaxInFlight = 16;

struct Step {
  Fault fault = Fault::kQuiet;
  std::string failpoint;  // For the failpoint faults: the term armed.
  absl::Duration duration;
};

std::string Describe(const Step& step) {
  switch (step.fault) {
    case Fault::kKillRegistry:
      return "kill -9 registry";
    case Fault::kRegistryFailpoint:
    case Fault::kStatsFailpoint:
      return absl::StrCat("crash at ", step.failpoint);
    case Fault::kKillStats:
      return "kill -9 stats";
    case Fault::kPauseRegistry:
      return absl::StrCat("freeze registry ", absl::FormatDuration(step.duration));
    case Fault::kHoldWriteLock:
      return absl::StrCat("hold write lock ", absl::FormatDuration(step.duration));
    case Fault::kSlowWatcher:
      return absl::StrCat("slow watcher ", absl::FormatDuration(step.duration));
    case Fault::kOverload:
      return absl::StrCat("overload ", absl::FormatDuration(step.duration));
    case Fault::kQuiet:
      return absl::StrCat("quiet ", absl::FormatDuration(step.duration));
  }
  return "?";
}

// The schedule: a function of the seed alone.
std::vector<Step> MakeSchedule(uint64_t seed, int steps) {
  std::mt19937_64 random(seed);
  auto uniform = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(random);
  };
  const char* registry_points[] = {"registry-after-apply", "registry-before-commit",
                                   "registry-after-commit-before-reply"};
  std::vector<Step> schedule;
  for (int i = 0; i < steps; ++i) {
    Step step;
    step.fault = static_cast<Fault>(uniform(0, kFaultKinds - 1));
    step.duration = absl::Milliseconds(uniform(200, 2000));
    if (step.fault == Fault::kRegistryFailpoint) {
      step.failpoint = absl::StrCat(registry_points[uniform(0, 2)], "=", uniform(5, 60), "+crash");
    } else if (step.fault == Fault::kStatsFailpoint) {
      step.failpoint =
          uniform(0, 3) == 0
              ? "stats-before-swap=crash"
              : absl::StrCat("stats-after-apply-before-publish=", uniform(5, 60), "+crash");
    }
    schedule.push_back(step);
  }
  return schedule;
}

// 4 × --max-in-flight callers creating observers for `duration`, recorded in `history`.
void Overload(History& history, const std::string& address, const std::string& election,
              absl::Duration duration) {
  const absl::Time until = absl::Now() + duration;
  std::vector<std::thread> threads;
  for (int c = 0; c < 4 * kMaxInFlight; ++c) {
    threads.emplace_back([&, c] {
      RegistryClient own(grpc::CreateChannel(address, grpc::InsecureChannelCredentials()),
                         absl::Seconds(5));
      for (int n = 0; absl::Now() < until; ++n) {
        rv1::CreateObserverRequest req = NewObserverRequest(election, NextSeq());
        req.set_request_id(absl::StrCat("burst-", NextSeq(), "-", c, "-", n));
        const int64_t op = history.Invoke("CreateObserver", req.request_id(), "");
        auto resp = own.CreateObserver(req);
        history.Complete(op, resp.status(), resp.ok() ? &resp->observer() : nullptr,
                         resp.ok() ? resp->revision() : 0);
        if (auto delay = GetErrorDetails(resp.status()).retry_delay) absl::SleepFor(*delay);
      }
    });
  }
  for (auto& t : threads) t.join();
}

// Starts `service` with `failpoint` armed and waits until it has crashed there: the point's
// "crash" line tells which point fired, and the process must have ended by itself.
void CrashAt(ServiceProcess& service, const std::string& failpoint, bool keep_port) {
  const std::string point = failpoint.substr(0, failpoint.find('='));
  const std::string line = absl::StrCat("failpoint ", point, ": crash");
  const int crashes = service.CountInOutput(line);
  ASSERT_OK(service.Kill());
  ::setenv("OBSERVER_FAILPOINTS", failpoint.c_str(), 1);
  const absl::Status started = keep_port ? service.StartOnPort(service.port()) : service.Start();
  ::unsetenv("OBSERVER_FAILPOINTS");
  ASSERT_OK(started);
  EXPECT_TRUE(service.WaitForOutput(line, crashes + 1, absl::Seconds(30)))
      << service.name() << " did not reach " << failpoint;
  EXPECT_TRUE(service.WaitForExit(absl::Seconds(10)))
      << service.name() << " still running after reaching " << failpoint;
  ASSERT_OK_AND_ASSIGN(ExitResult exit, service.Kill());  // Reaps it.
  EXPECT_EQ(exit.term_signal(), SIGKILL) << exit.Describe();
}

TEST(RandomFaultsTest, SeededScheduleLosesNothingAndStatsConverges) {
  const uint64_t seed = EnvNumber("OBSERVER_RELIABILITY_SEED", 20261129);
  const int steps = 6 * static_cast<int>(EnvNumber("OBSERVER_RELIABILITY_SCALE", 1));
  const std::vector<Step> schedule = MakeSchedule(seed, steps);
  std::vector<std::string> described;
  for (const Step& step : schedule) described.push_back(Describe(step));
  std::cout << "seed " << seed << ": " << absl::StrJoin(described, ", ") << "\n";
  RecordProperty("seed", std::to_string(seed));

  TempDir dir;
  const std::string store = dir.path() + "/registry.db";
  RegistryProcess registry(
      dir.path(), {"--store-busy-timeout", "1s", "--max-in-flight", absl::StrCat(kMaxInFlight)});
  ASSERT_OK(registry.Start());
  const std::string address = registry.address();  // Every restart keeps the port.
  RegistryClient client(registry.channel());
  const std::string election =
      MUST(client.CreateElection(FutureElection("random"))).election().name();
  const std::string organisation =
      MUST(client.CreateOrganisation(NewOrganisation("OSCE-ODIHR", "ODIHR"))).organisation().name();
  StatsProcess stats(address, {"--staleness-bound", "3s", "--stream-idle-timeout", "2s",
                               "--reconnect-backoff-max", "500ms"});
  ASSERT_OK(stats.Start());

  History history;
  Workload::Options load_options;
  load_options.threads = 3;
  load_options.election = election;
  load_options.organisation = organisation;
  load_options.seed = seed;
  Workload load(
      history, [address] { return address; }, load_options);
  ValidatingWatcher::Options watch_options;
  watch_options.start_revision = 1;
  ValidatingWatcher watcher([address] { return address; }, watch_options);
  load.Start();

  for (size_t i = 0; i < schedule.size(); ++i) {
    const Step& step = schedule[i];
    SCOPED_TRACE(absl::StrCat("step ", i, ": ", Describe(step)));
    // Some writes land between faults.
    ASSERT_TRUE(load.WaitForAcks(load.acked() + 20, absl::Seconds(60))) << history.Summary();
    switch (step.fault) {
      case Fault::kKillRegistry:
        ASSERT_OK(registry.Kill());
        ASSERT_OK(registry.StartOnPort(registry.port()));
        break;
      case Fault::kRegistryFailpoint:
        ASSERT_NO_FATAL_FAILURE(CrashAt(registry, step.failpoint, /*keep_port=*/true));
        ASSERT_OK(registry.StartOnPort(registry.port()));
        break;
      case Fault::kKillStats:
        ASSERT_OK(stats.Kill());
        ASSERT_OK(stats.Start());
        break;
      case Fault::kStatsFailpoint:
        ASSERT_NO_FATAL_FAILURE(CrashAt(stats, step.failpoint, /*keep_port=*/false));
        ASSERT_OK(stats.Start());
        break;
      case Fault::kPauseRegistry:
        ASSERT_OK(registry.Pause());
        absl::SleepFor(step.duration);
        ASSERT_OK(registry.Resume());
        break;
      case Fault::kHoldWriteLock: {
        // Another connection holds the lock for `duration`, once it gets it between the
        // registry's commits (up to 10 s).
        ASSERT_OK_AND_ASSIGN(std::unique_ptr<StoreWriteLock> lock,
                             StoreWriteLock::Acquire(store, absl::Seconds(10)));
        absl::SleepFor(step.duration);
        EXPECT_OK(lock->Release());
        break;
      }
      case Fault::kSlowWatcher: {
        ValidatingWatcher::Options slow;
        slow.start_revision = 1;
        slow.reads_per_second = 2;
        ValidatingWatcher slow_watcher([address] { return address; }, slow);
        absl::SleepFor(step.duration);
        slow_watcher.Stop();
        EXPECT_THAT(slow_watcher.Violations(), IsEmpty());
        break;
      }
      case Fault::kOverload:
        Overload(history, address, election, step.duration);
        break;
      case Fault::kQuiet:
        absl::SleepFor(step.duration);
        break;
    }
  }
  ASSERT_TRUE(load.WaitForAcks(load.acked() + 20, absl::Seconds(60))) << history.Summary();
  load.Stop();
  std::cout << history.Summary() << "\n";

  // Nothing acknowledged lost, nothing refused applied, each request id applied at most once.
  ASSERT_OK_AND_ASSIGN(FinalState state, ReadFinalState(client));
  EXPECT_THAT(CheckHistory(history, state), IsEmpty()) << history.Summary();
  // The watcher followed every crash without a gap or a duplicate.
  EXPECT_TRUE(watcher.WaitFor(state.head, absl::Seconds(60)));
  watcher.Stop();
  EXPECT_THAT(watcher.Violations(), IsEmpty());
  EXPECT_EQ(watcher.last_revision(), state.head);
  // Stats shows exactly the registry's figures, at its head.
  StatsClient stats_client(stats.channel());
  const Recount expected = RecountFromRegistry(client, election);
  EXPECT_EQ(expected.revision, state.head);
  ASSERT_NO_FATAL_FAILURE(ExpectStatsEqualRecount(stats_client, expected, absl::Seconds(60)));
  ASSERT_OK_AND_ASSIGN(sv1::GetSummaryResponse summary,
                       stats_client.GetSummary(SummaryRequest(election)));
  EXPECT_EQ(summary.revision(), state.head);

  ASSERT_OK(stats.Stop());
  ASSERT_OK(registry.Stop());
  EXPECT_EQ(IntegrityCheck(store), "ok");
  if (HasFailure()) PrintOutputTails({&registry, &stats});
}

}  // namespace
}  // namespace observer::testing
