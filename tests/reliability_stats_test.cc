// Reliability of the change-stream consumer side (README "Reliability", DESIGN.md §4 and §5):
// the real registry-service and stats-service binaries on loopback.
//
//  - stats-service killed with SIGKILL at random moments, and crashed at its failpoints (after
//    counting a change but before publishing its revision; before swapping in a rebuilt
//    initial state), always comes back to figures equal to an exact recount of the registry's
//    final listing, at the registry's head revision;
//  - a registry frozen (SIGSTOP) under a synced stats-service: health turns NOT_SERVING after
//    the staleness bound (not before), the last figures are still served with their revision,
//    and after the registry resumes stats catches up exactly;
//  - a slow watcher (one read a second) while 20,000 changes are written: the registry's
//    memory stays bounded and writers are not slowed down; the watcher then catches up with
//    every revision delivered exactly once.
// Every Watch stream of these tests goes through the watch validator.
//
// Sizes scale with $OBSERVER_RELIABILITY_SCALE (integer, default 1).
#include <gmock/gmock.h>
#include <grpcpp/create_channel.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/health_client.h"
#include "tests/harness/builders.h"
#include "tests/harness/command.h"
#include "tests/harness/history.h"
#include "tests/harness/http_get.h"
#include "tests/harness/recount.h"
#include "tests/harness/registry_client.h"
#include "tests/harness/registry_process.h"
#include "tests/harness/stats_client.h"
#include "tests/harness/stats_process.h"
#include "tests/harness/status_matchers.h"
#include "tests/harness/temp_dir.h"
#include "tests/harness/watch_validator.h"
#include "tests/harness/workload.h"

namespace observer::testing {
namespace {

using ::testing::IsEmpty;

constexpr char kElectionId[] = "rel-stats";
const char* const kOrganisations[] = {"ORG-A", "ORG-B", "ORG-C"};

int Scale() {
  const char* s = std::getenv("OBSERVER_RELIABILITY_SCALE");
  int scale = 1;
  if (s != nullptr && (!absl::SimpleAtoi(s, &scale) || scale < 1)) scale = 1;
  return scale;
}

uint32_t Seed() {
  const char* s = std::getenv("OBSERVER_RELIABILITY_SEED");
  uint32_t seed = 0;
  if (s == nullptr || !absl::SimpleAtoi(s, &seed)) {
    seed = static_cast<uint32_t>(absl::ToUnixMicros(absl::Now()));
  }
  return seed;
}

// VmRSS of a process in KiB; -1 if unreadable.
int64_t RssKib(pid_t pid) {
  const absl::StatusOr<int64_t> bytes = ResidentBytes(pid);
  return bytes.ok() ? *bytes / 1024 : -1;
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  return v[i];
}

// ---------------------------------------------------------------------------------------------
// The fixture: a registry and (in most tests) a stats-service, in a fresh directory.

class ReliabilityStatsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    seed_ = Seed();
    std::cerr << "[ reliability ] scale " << Scale() << ", seed " << seed_
              << " (OBSERVER_RELIABILITY_SEED to repeat)\n";
  }

  void TearDown() override {
    if (HasFailure()) PrintOutputTails({registry_.get(), stats_.get()});
    watcher_.reset();
    stats_client_.reset();
    registry_client_.reset();
    stats_.reset();
    registry_.reset();
  }

  void StartRegistry(std::vector<std::string> extra = {}) {
    registry_ = std::make_unique<RegistryProcess>(dir_.path(), TestRegistryFlags(std::move(extra)));
    MUST(registry_->Start());
    registry_client_ = std::make_unique<RegistryClient>(registry_->channel());
  }

  void MakeStats(std::vector<std::string> extra = {}) {
    stats_ = std::make_unique<StatsProcess>(registry_->address(), TestStatsFlags(std::move(extra)));
  }
  void StartStats() {
    MUST(stats_->Start());
    ConnectStats();
  }
  void ConnectStats() { stats_client_ = std::make_unique<StatsClient>(stats_->channel()); }

  // A watcher of the registry's stream from a fresh initial state, validated throughout.
  void StartWatcher() {
    ValidatingWatcher::Options options;
    options.start_revision = 0;
    watcher_ = std::make_unique<ValidatingWatcher>(
        [address = registry_->address()] { return address; }, options);
  }
  // The watcher reached `head` and saw nothing wrong.
  void ExpectWatcherClean(int64_t head) {
    EXPECT_TRUE(watcher_->WaitFor(head, absl::Seconds(30)))
        << "watcher at " << watcher_->last_revision() << ", head " << head;
    watcher_->Stop();
    EXPECT_THAT(watcher_->Violations(), IsEmpty());
    EXPECT_EQ(watcher_->last_revision(), head);
  }

  // A future election and three organisations; returns the revision.
  int64_t SetUpElection() {
    int64_t revision = MUST(registry().CreateElection(FutureElection(kElectionId))).revision();
    for (const char* code : kOrganisations) {
      revision = MUST(registry().CreateOrganisation(
                          NewOrganisation(code, absl::StrCat("Organisation ", code))))
                     .revision();
    }
    return revision;
  }
  std::string election() const { return ElectionName(kElectionId); }

  // Writers: one Workload per organisation (2 threads each), so that the breakdown by
  // organisation has several rows; lifecycle changes move counts up and down.
  void StartWrites() {
    int i = 0;
    for (const char* code : {"ORG-A", "ORG-B"}) {
      Workload::Options options;
      options.threads = 2;
      options.election = election();
      options.organisation = absl::StrCat("organisations/", code);
      options.seed = seed_ + 100 * static_cast<uint64_t>(i);
      options.request_id_prefix = absl::StrCat("w", i, "-", writes_started_, "-");
      options.create_share = 0.4;
      workloads_.push_back(std::make_unique<Workload>(
          history_, [address = registry_->address()] { return address; }, options));
      workloads_.back()->Start();
      ++i;
    }
    ++writes_started_;
  }
  int64_t Acked() {
    int64_t n = 0;
    for (const auto& w : workloads_) n += w->acked();
    return n;
  }
  bool WaitForMoreAcks(int64_t n, absl::Duration timeout) {
    const int64_t target = Acked() + n;
    return PollUntil([&] { return Acked() >= target; }, timeout, absl::Milliseconds(5));
  }
  void StopWrites() {
    for (auto& w : workloads_) w->Stop();
    workloads_.clear();
    std::cerr << "[ reliability ] writes: " << history_.Summary() << "\n";
  }

  RegistryClient& registry() { return *registry_client_; }
  StatsClient& stats() { return *stats_client_; }

  uint32_t seed_ = 0;
  TempDir dir_;
  std::unique_ptr<RegistryProcess> registry_;
  std::unique_ptr<StatsProcess> stats_;
  std::unique_ptr<RegistryClient> registry_client_;
  std::unique_ptr<StatsClient> stats_client_;
  std::unique_ptr<ValidatingWatcher> watcher_;
  History history_;
  std::vector<std::unique_ptr<Workload>> workloads_;
  int writes_started_ = 0;
};

// ---------------------------------------------------------------------------------------------
// kill -9 at random moments: while following live changes, while loading its initial state.

TEST_F(ReliabilityStatsTest, StatsKill9Repeatedly) {
  ASSERT_NO_FATAL_FAILURE(StartRegistry());
  ASSERT_NO_FATAL_FAILURE(StartWatcher());
  SetUpElection();
  ASSERT_NO_FATAL_FAILURE(MakeStats());
  ASSERT_NO_FATAL_FAILURE(StartStats());
  StartWrites();
  ASSERT_TRUE(WaitForMoreAcks(100, absl::Seconds(30)));

  std::mt19937 random(seed_);
  const int kills = 3 * Scale();
  for (int i = 0; i < kills; ++i) {
    // Alive for a random while (sometimes so short that the initial state is still loading).
    const int alive_ms = std::uniform_int_distribution<int>(0, 3)(random) == 0
                             ? std::uniform_int_distribution<int>(0, 50)(random)
                             : std::uniform_int_distribution<int>(200, 1500)(random);
    absl::SleepFor(absl::Milliseconds(alive_ms));
    ASSERT_OK_AND_ASSIGN(ExitResult killed, stats_->Kill());
    EXPECT_EQ(killed.term_signal(), SIGKILL) << killed.Describe();
    std::cerr << "[ reliability ] kill " << i + 1 << "/" << kills << " after " << alive_ms
              << " ms, " << Acked() << " writes acked\n";
    // Down for a while: the registry moves on.
    ASSERT_TRUE(
        WaitForMoreAcks(std::uniform_int_distribution<int>(1, 60)(random), absl::Seconds(20)));
    ASSERT_NO_FATAL_FAILURE(StartStats());
  }
  ASSERT_TRUE(WaitForMoreAcks(50, absl::Seconds(20)));
  StopWrites();

  const Recount expected = RecountFromRegistry(registry(), election());
  ASSERT_NO_FATAL_FAILURE(ExpectStatsEqualRecount(stats(), expected, absl::Seconds(30)));
  std::cerr << "[ reliability ] stats-service synced "
            << stats_->CountInOutput("\"msg\":\"synced with the registry\"") << " times in "
            << kills + 1 << " runs\n";
  ExpectWatcherClean(expected.revision);
}

// ---------------------------------------------------------------------------------------------
// Crashes at the stats failpoints: the process dies by SIGKILL exactly there; restarted
// without the failpoint, it converges to the recount.

struct FailpointCase {
  const char* name;
  const char* spec;   // $OBSERVER_FAILPOINTS
  const char* point;  // The point that fires.
};

class StatsFailpointTest : public ReliabilityStatsTest,
                           public ::testing::WithParamInterface<FailpointCase> {};

TEST_P(StatsFailpointTest, StatsFailpointCrashes) {
  const FailpointCase& c = GetParam();
  ASSERT_NO_FATAL_FAILURE(StartRegistry());
  ASSERT_NO_FATAL_FAILURE(StartWatcher());
  SetUpElection();
  StartWrites();
  ASSERT_TRUE(WaitForMoreAcks(100, absl::Seconds(30)));  // An initial state with records.

  ASSERT_NO_FATAL_FAILURE(MakeStats());
  // The child inherits the environment at spawn (tests/harness/command.cc copies environ).
  ASSERT_EQ(setenv("OBSERVER_FAILPOINTS", c.spec, 1), 0);
  const absl::Status started = stats_->Start();
  ASSERT_EQ(unsetenv("OBSERVER_FAILPOINTS"), 0);
  const std::string crash_line = absl::StrCat("failpoint ", c.point, ": crash");
  if (started.ok()) {
    // Serving (not yet synced, or following live changes): it dies at the point.
    EXPECT_TRUE(stats_->WaitForExit(absl::Seconds(30)))
        << "stats-service did not crash at " << c.point;
    ASSERT_OK_AND_ASSIGN(ExitResult exit, stats_->Kill());  // Reaps it.
    EXPECT_EQ(exit.term_signal(), SIGKILL) << exit.Describe();
  } else {
    // It crashed before it reported serving (the first sync is fast).
    EXPECT_THAT(started.message(), ::testing::HasSubstr("killed by signal 9"))
        << DescribeStatus(started);
  }
  EXPECT_TRUE(stats_->WaitForOutput(crash_line, 1, absl::Seconds(5))) << stats_->output_tail();
  std::cerr << "[ reliability ] stats-service crashed at " << c.point << " with " << Acked()
            << " writes acked\n";

  // Restarted without the failpoint, while writes go on.
  ASSERT_TRUE(WaitForMoreAcks(30, absl::Seconds(20)));
  ASSERT_NO_FATAL_FAILURE(StartStats());
  ASSERT_TRUE(WaitForMoreAcks(60, absl::Seconds(20)));
  StopWrites();

  const Recount expected = RecountFromRegistry(registry(), election());
  ASSERT_NO_FATAL_FAILURE(ExpectStatsEqualRecount(stats(), expected, absl::Seconds(30)));
  EXPECT_EQ(stats_->CountInOutput(crash_line), 1);
  ExpectWatcherClean(expected.revision);
}

INSTANTIATE_TEST_SUITE_P(
    Points, StatsFailpointTest,
    ::testing::Values(
        // A live change counted, its revision not yet published (the 51st live response).
        FailpointCase{"AfterApplyBeforePublish", "stats-after-apply-before-publish=50+crash",
                      "stats-after-apply-before-publish"},
        // The first initial state counted, not yet swapped in.
        FailpointCase{"BeforeSwap", "stats-before-swap=crash", "stats-before-swap"}),
    [](const ::testing::TestParamInfo<FailpointCase>& p) { return p.param.name; });

// ---------------------------------------------------------------------------------------------
// A registry frozen under a synced stats-service (a partition: the stream stays open, silent).

TEST_F(ReliabilityStatsTest, PartitionStatsFromRegistry) {
  const absl::Duration bound = absl::Seconds(2);
  // Health is decided by a watchdog every bound/4; the last message before the freeze may be
  // a progress interval (200 ms) old.
  const absl::Duration margin = absl::Milliseconds(600);
  ASSERT_NO_FATAL_FAILURE(StartRegistry());
  ASSERT_NO_FATAL_FAILURE(StartWatcher());
  SetUpElection();
  ASSERT_NO_FATAL_FAILURE(MakeStats({"--staleness-bound", "2s", "--stream-idle-timeout", "1s"}));
  ASSERT_NO_FATAL_FAILURE(StartStats());
  StartWrites();
  ASSERT_TRUE(WaitForMoreAcks(150, absl::Seconds(30)));
  StopWrites();
  const Recount before = RecountFromRegistry(registry(), election());
  ASSERT_NO_FATAL_FAILURE(ExpectStatsEqualRecount(stats(), before, absl::Seconds(30)));
  ASSERT_TRUE(stats().WaitForHealth(HealthStatus::kServing, absl::Seconds(10)))
      << stats().HealthName();

  // Freeze the registry; watch health flip.
  ASSERT_OK(registry_->Pause());
  const absl::Time paused = absl::Now();
  absl::Time last_serving = absl::InfinitePast();
  absl::Time first_not_serving = absl::InfiniteFuture();
  while (absl::Now() - paused < bound + absl::Seconds(8)) {
    const absl::Time asked = absl::Now();
    absl::StatusOr<HealthStatus> h = stats().Health(absl::Seconds(1));
    if (h.ok() && *h == HealthStatus::kServing) last_serving = asked;
    if (h.ok() && *h == HealthStatus::kNotServing) {
      first_not_serving = asked;
      break;
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  std::cerr << "[ reliability ] staleness bound " << absl::FormatDuration(bound)
            << ": last SERVING " << absl::FormatDuration(last_serving - paused)
            << " after the freeze, first NOT_SERVING "
            << absl::FormatDuration(first_not_serving - paused) << "\n";
  ASSERT_NE(first_not_serving, absl::InfiniteFuture())
      << "still " << stats().HealthName() << " " << absl::FormatDuration(bound + absl::Seconds(8))
      << " after the registry froze";
  EXPECT_GE(first_not_serving - paused, bound - margin) << "NOT_SERVING before the bound";
  EXPECT_GE(last_serving - paused, bound - 2 * margin) << "not SERVING until shortly before";

  // The last figures are still served, with their revision; a newer revision cannot be had.
  ASSERT_NO_FATAL_FAILURE(ExpectStatsEqualRecount(stats(), before, absl::Seconds(30)));
  sv1::GetSummaryRequest newer;
  newer.set_election(election());
  newer.set_min_revision(before.revision + 1);
  EXPECT_THAT(stats().GetSummary(newer, absl::Milliseconds(500)),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_EQ(stats().HealthName(), "NOT_SERVING");

  // Thawed: stats follows again and catches up with new writes exactly.
  ASSERT_OK(registry_->Resume());
  EXPECT_TRUE(stats().WaitForHealth(HealthStatus::kServing, absl::Seconds(15)))
      << "stats-service is " << stats().HealthName() << " after the registry resumed";
  StartWrites();
  ASSERT_TRUE(WaitForMoreAcks(100, absl::Seconds(30)));
  StopWrites();
  const Recount after = RecountFromRegistry(registry(), election());
  ASSERT_GT(after.revision, before.revision);
  ASSERT_NO_FATAL_FAILURE(ExpectStatsEqualRecount(stats(), after, absl::Seconds(30)));
  EXPECT_TRUE(stats().WaitForHealth(HealthStatus::kServing, absl::Seconds(10)))
      << stats().HealthName();
  ExpectWatcherClean(after.revision);
}

// ---------------------------------------------------------------------------------------------
// A slow watcher during 20,000 changes: bounded registry memory, writers not slowed down.
//
// Write latency is compared in interleaved phases, so that drift (the store growing, other
// processes on the machine) does not count against the watcher: no watcher / a slow watcher
// lagging during 10,000 changes / no watcher / another slow watcher during 10,000 changes / no
// watcher. Each slow watcher then catches up at full speed and must have received every
// revision exactly once.

TEST_F(ReliabilityStatsTest, SlowWatcherDuring20kChanges) {
  // A small in-memory window, so that the slow watcher falls behind it and reads the durable
  // log (DESIGN.md §4.7), as it would with a large store.
  ASSERT_NO_FATAL_FAILURE(StartRegistry({"--watch-cache-events", "1024"}));
  SetUpElection();
  constexpr int kBatch = 100;
  constexpr int kSlowPhases = 2;
  const int changes = 20000 * Scale();
  const int batches_per_slow_phase = changes / kBatch / kSlowPhases;
  constexpr int kBaselineBatches = 20;

  // One batch of kBatch creates; its latency in milliseconds goes to `latencies`.
  std::vector<double> without, with;
  auto batch = [&](std::vector<double>* latencies) {
    rv1::BatchCreateObserversRequest req;
    req.set_parent(election());
    for (int i = 0; i < kBatch; ++i) {
      *req.add_requests() = NewObserverRequest(election(), NextSeq(), "FR");
    }
    const absl::Time t0 = absl::Now();
    rv1::BatchCreateObserversResponse resp = MUST(registry().BatchCreateObservers(req));
    latencies->push_back(absl::ToDoubleMilliseconds(absl::Now() - t0));
    for (const auto& r : resp.results()) {
      if (r.status().code() != 0) throw TestFailure(r.status().DebugString());
    }
    return resp.revision();
  };
  for (int i = 0; i < 5; ++i) batch(&without);  // Warm-up (not counted).
  without.clear();

  const int64_t rss_start = RssKib(registry_->pid());
  int64_t rss_max = rss_start;
  absl::Duration slow_writing;
  for (int phase = 0; phase < kSlowPhases; ++phase) {
    SCOPED_TRACE(absl::StrCat("slow phase ", phase + 1));
    for (int i = 0; i < kBaselineBatches; ++i) batch(&without);

    // A slow watcher (one read a second) from the next revision.
    const int64_t start = MUST(registry().HeadRevision()) + 1;
    ValidatingWatcher::Options options;
    options.start_revision = start;
    options.reads_per_second = 1;
    watcher_ = std::make_unique<ValidatingWatcher>(
        [address = registry_->address()] { return address; }, options);
    absl::SleepFor(absl::Milliseconds(200));
    int64_t head = 0;
    const absl::Time t0 = absl::Now();
    for (int i = 0; i < batches_per_slow_phase; ++i) {
      head = batch(&with);
      if (i % 10 == 0) rss_max = std::max(rss_max, RssKib(registry_->pid()));
    }
    slow_writing += absl::Now() - t0;
    rss_max = std::max(rss_max, RssKib(registry_->pid()));
    const int64_t lag = head - watcher_->last_revision();
    // How far behind the server sees it (the responses in flight and in buffers aside).
    const absl::StatusOr<std::string> metrics = HttpGet(registry_->metrics_address(), "/metrics");
    const std::optional<double> server_lag =
        metrics.ok() ? SampleValue(*metrics, "registry_watcher_max_lag_revisions") : std::nullopt;
    std::cerr << "[ reliability ] slow phase " << phase + 1 << ": " << head - start + 1
              << " changes in " << absl::FormatDuration(absl::Now() - t0)
              << ", the watcher (1 read/s) " << lag
              << " revisions behind at the end (the registry's lag gauge: "
              << (server_lag ? absl::StrCat(*server_lag) : "none") << ")\n";
    EXPECT_GT(lag, (head - start + 1) / 4) << "the watcher was not slow: the test proves nothing";

    // Full speed: the watcher catches up, every revision exactly once (or, had it been cut
    // off, resumed without a gap: the validator checks the resume).
    watcher_->SetReadsPerSecond(0);
    const absl::Time catch_up = absl::Now();
    ASSERT_TRUE(watcher_->WaitFor(head, absl::Seconds(60)))
        << "watcher at " << watcher_->last_revision() << " of " << head;
    std::cerr << "[ reliability ] the watcher caught up " << head - start + 1 << " revisions in "
              << absl::FormatDuration(absl::Now() - catch_up) << " (" << watcher_->reconnects()
              << " reconnects)\n";
    watcher_->Stop();
    EXPECT_THAT(watcher_->Violations(), IsEmpty());
    for (const absl::Status& end : watcher_->ends()) {
      if (!absl::IsCancelled(end)) {
        std::cerr << "[ reliability ] watch call ended: " << DescribeStatus(end) << "\n";
      }
    }
    const std::vector<rv1::ChangeEvent>& events = watcher_->validator().events();
    ASSERT_FALSE(events.empty());
    EXPECT_EQ(events.front().revision(), start);
    EXPECT_EQ(events.back().revision(), head);
    EXPECT_EQ(static_cast<int64_t>(events.size()), head - start + 1);
    watcher_.reset();
  }
  for (int i = 0; i < kBaselineBatches; ++i) batch(&without);

  const double p50_without = Percentile(without, 0.5);
  const double p90_without = Percentile(without, 0.9);
  const double p50_with = Percentile(with, 0.5);
  const double p90_with = Percentile(with, 0.9);
  std::cerr << "[ reliability ] " << changes << " changes with a slow watcher in "
            << absl::FormatDuration(slow_writing) << "; registry VmRSS " << rss_start / 1024
            << " MiB at the start, max " << rss_max / 1024 << " MiB (growth "
            << (rss_max - rss_start) / 1024 << " MiB)\n"
            << "[ reliability ] BatchCreateObservers(" << kBatch
            << ") latency without a watcher p50 " << p50_without << " ms p90 " << p90_without
            << " ms (" << without.size() << " calls); with a slow watcher p50 " << p50_with
            << " ms p90 " << p90_with << " ms (" << with.size() << " calls); ratio of medians "
            << p50_with / p50_without << "\n";
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
  // (Sanitizers keep freed memory in quarantine: their builds' RSS says nothing about ours.)
  EXPECT_LT(rss_max - rss_start, 64 * 1024) << "registry memory grew with the watcher's lag";
#endif
  EXPECT_LE(p50_with, 2 * p50_without) << "writes were slowed down by the slow watcher";
}

}  // namespace
}  // namespace observer::testing
