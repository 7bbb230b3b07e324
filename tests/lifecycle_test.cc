// The life of both service processes as operators and load balancers see it (ServeUntilSignal
// in common/grpc_server.cc): grpc.health.v1 through start, first sync, drain and stop; SIGTERM
// while writes are in flight and streams are open (every stream ends with UNAVAILABLE and the
// shutdown reason, exit code 0, nothing acknowledged is lost, the change log has no gap); a
// second signal during the drain exits at once with code 1.
//
// Signals are sent with kill(2), not ServiceProcess::Stop: Stop sends SIGTERM itself, which
// during a drain would be the second signal. The exit is observed with ServiceProcess::exited()
// (waitid with WNOWAIT), which leaves the child unreaped (its pid cannot be reused meanwhile);
// Stop() then only reaps it and returns its exit status.
//
// Every wait is bounded. Lower bounds on timing (a drain lasts at least --drain-period) are
// exact; upper bounds are generous and multiplied by kSlowdown under the sanitizers.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <functional>
#include <future>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/errors.h"
#include "tests/harness/builders.h"
#include "tests/harness/registry_client.h"
#include "tests/harness/registry_process.h"
#include "tests/harness/stats_client.h"
#include "tests/harness/stats_process.h"
#include "tests/harness/status_matchers.h"
#include "tests/harness/store_file.h"
#include "tests/harness/temp_dir.h"

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define OBSERVER_LIFECYCLE_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
#define OBSERVER_LIFECYCLE_SANITIZED 1
#endif
#endif

namespace observer::testing {
namespace {

// Sanitizer builds run everything many times slower: the drain periods and the upper bounds
// on waits are multiplied by this.
#ifdef OBSERVER_LIFECYCLE_SANITIZED
constexpr int kSlowdown = 5;
#else
constexpr int kSlowdown = 1;
#endif

absl::Duration Scaled(absl::Duration d) { return d * kSlowdown; }

// A duration as the services' flags take it ("3s", "500ms").
std::string Flag(absl::Duration d) { return absl::FormatDuration(d); }

constexpr char kStoppedLine[] = "\"msg\":\"stopped\"";
constexpr char kSecondSignalLine[] = "second signal: exiting at once";

// Waits until `process` exits by itself (it is not signalled again), sets `*exited_at` to when
// that was seen, and reaps it. DEADLINE_EXCEEDED if it is still running after `timeout`.
absl::StatusOr<ExitResult> AwaitExit(ServiceProcess& process, absl::Duration timeout,
                                     absl::Time* exited_at) {
  if (!process.running()) return absl::FailedPreconditionError(process.name() + " is not running");
  if (!process.WaitForExit(timeout)) {
    return absl::DeadlineExceededError(
        absl::StrCat(process.name(), " still running ", absl::FormatDuration(timeout), " later"));
  }
  *exited_at = absl::Now();
  // The process is a zombie: Stop's SIGTERM reaches nobody; it reaps and reports the status.
  return process.Stop(absl::Seconds(5));
}

std::string HealthOf(const std::shared_ptr<grpc::Channel>& channel,
                     absl::Duration timeout = absl::Seconds(2)) {
  absl::StatusOr<HealthStatus> h = CheckHealth(channel, timeout);
  return h.ok() ? HealthStatusName(*h) : DescribeStatus(h.status());
}

constexpr char kRegistryService[] = "observer.registry.v1.RegistryService";
constexpr char kStatsService[] = "observer.stats.v1.StatsService";

// The health of one service by its name, as probes configured with a service name ask it.
std::string ServiceHealthOf(const std::shared_ptr<grpc::Channel>& channel,
                            const std::string& service) {
  absl::StatusOr<HealthStatus> h = CheckHealth(channel, absl::Seconds(2), service);
  return h.ok() ? HealthStatusName(*h) : DescribeStatus(h.status());
}

bool WaitHealth(const std::shared_ptr<grpc::Channel>& channel, HealthStatus want,
                absl::Duration timeout) {
  return PollUntil(
      [&] {
        absl::StatusOr<HealthStatus> h = CheckHealth(channel, absl::Seconds(1));
        return h.ok() && *h == want;
      },
      timeout, absl::Milliseconds(20));
}

sv1::GetSummaryRequest SummaryRequest(const std::string& election, int64_t min_revision = 0) {
  sv1::GetSummaryRequest req;
  req.set_election(election);
  req.set_min_revision(min_revision);
  return req;
}

// The shutdown error both services end streams (and stats-service pending waits) with:
// UNAVAILABLE, ErrorInfo reason UNAVAILABLE, and a message telling the client what to do.
constexpr char kRegistryShutdownMessage[] = "the server is shutting down: reconnect and resume";
constexpr char kStatsShutdownMessage[] =
    "stats-service is shutting down; retry on another replica or shortly";
MATCHER_P(IsShutdownError, message,
          std::string("is UNAVAILABLE / UNAVAILABLE \"") + message + "\"") {
  const absl::Status& s = ::observer::testing::GetStatus(arg);
  *result_listener << "status is " << DescribeStatus(s);
  return s.code() == absl::StatusCode::kUnavailable &&
         GetErrorDetails(s).reason == reason::kUnavailable && s.message() == message;
}

class LifecycleTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (HasFailure()) PrintOutputTails({registry_.get(), stats_.get()});
    stats_.reset();
    registry_.reset();
  }

  RegistryProcess& StartRegistry(std::vector<std::string> flags) {
    registry_ = std::make_unique<RegistryProcess>(dir_.path(), std::move(flags));
    MUST(registry_->Start(Scaled(absl::Seconds(30))));
    return *registry_;
  }
  StatsProcess& StartStats(std::vector<std::string> flags) {
    stats_ = std::make_unique<StatsProcess>(registry_->address(), std::move(flags));
    MUST(stats_->Start(Scaled(absl::Seconds(30))));
    return *stats_;
  }

  // Creates and accredits an observer in `election`; the accreditation's revision.
  static int64_t AddAccredited(RegistryClient& registry, const std::string& election,
                               const std::string& state = "DE") {
    rv1::Observer o =
        MUST(registry.CreateObserver(NewObserverRequest(election, NextSeq(), state))).observer();
    rv1::AccreditObserverRequest req;
    req.set_name(o.name());
    req.set_decision_reference("CEC-LIFE-1");
    return MUST(registry.AccreditObserver(req)).revision();
  }

  // Sends `first`, waits for NOT_SERVING, sends `second`: the process must exit at once with
  // code 1, long before the drain period would have ended.
  void ExpectSecondSignalExitsAtOnce(ServiceProcess& process, absl::Duration drain, int first,
                                     int second) {
    const auto channel = process.channel();
    ASSERT_EQ(HealthOf(channel), "SERVING");
    const absl::Time signalled = absl::Now();
    ASSERT_EQ(kill(process.pid(), first), 0);
    ASSERT_TRUE(WaitHealth(channel, HealthStatus::kNotServing, drain / 2))
        << process.name() << " is " << HealthOf(channel) << " after " << strsignal(first);
    ASSERT_FALSE(process.exited());

    const absl::Time again = absl::Now();
    ASSERT_EQ(kill(process.pid(), second), 0);
    absl::Time exited_at;
    ASSERT_OK_AND_ASSIGN(ExitResult exit, AwaitExit(process, drain, &exited_at));
    EXPECT_TRUE(exit.exited()) << exit.Describe();
    EXPECT_EQ(exit.exit_code(), 1) << exit.Describe();
    // "At once": well within the drain, which had most of its length still to run.
    EXPECT_LT(exited_at - again, drain / 4)
        << "exit took " << absl::FormatDuration(exited_at - again) << " after the second signal";
    EXPECT_LT(exited_at - signalled, drain);
    EXPECT_EQ(process.CountInOutput(kSecondSignalLine), 1);
    EXPECT_EQ(process.CountInOutput(kStoppedLine), 0) << "a clean stop despite the second signal";
  }

  TempDir dir_;
  std::unique_ptr<RegistryProcess> registry_;
  std::unique_ptr<StatsProcess> stats_;
};

// ---------------------------------------------------------------------------------------------
// Health through the lifecycle.

TEST_F(LifecycleTest, RegistryIsNotServingButAnswersThroughTheDrainThenExitsZero) {
  // Long enough for every check below to run inside the drain on a loaded machine.
  const absl::Duration drain = Scaled(absl::Seconds(5));
  RegistryProcess& registry = StartRegistry({"--drain-period", Flag(drain)});
  const auto channel = registry.channel();
  RegistryClient client(channel);
  EXPECT_EQ(HealthOf(channel), "SERVING");
  EXPECT_EQ(ServiceHealthOf(channel, kRegistryService), "SERVING");
  EXPECT_THAT(CheckHealth(channel, absl::Seconds(2), "no.such.Service"),
              StatusIs(absl::StatusCode::kNotFound));
  const rv1::Election election =
      MUST(client.CreateElection(FutureElection("life-health"))).election();
  EXPECT_EQ(HealthOf(channel), "SERVING");
  rv1::WatchRequest next_changes;
  next_changes.set_start_revision(election.revision() + 1);
  auto watch = client.Watch(next_changes, /*start_reading=*/true, Scaled(absl::Seconds(120)));

  const absl::Time signalled = absl::Now();
  ASSERT_EQ(kill(registry.pid(), SIGTERM), 0);
  ASSERT_TRUE(WaitHealth(channel, HealthStatus::kNotServing, drain / 4))
      << "registry-service is " << HealthOf(channel) << " after SIGTERM";
  EXPECT_FALSE(registry.exited());
  EXPECT_EQ(ServiceHealthOf(channel, kRegistryService), "NOT_SERVING");

  // Draining: reads and writes are still answered, on this connection and on a new one (the
  // listening socket is still open), and the open watch still delivers changes.
  rv1::GetElectionRequest get;
  get.set_name(election.name());
  ASSERT_OK_AND_ASSIGN(rv1::GetElectionResponse got, client.GetElection(get));
  std::string diff;
  EXPECT_TRUE(ProtoEquals(got.election(), election, &diff)) << diff;
  ASSERT_OK_AND_ASSIGN(rv1::CreateObserverResponse created,
                       client.CreateObserver(NewObserverRequest(election.name(), NextSeq())));
  EXPECT_EQ(created.revision(), election.revision() + 1);
  ASSERT_OK_AND_ASSIGN(std::vector<rv1::ChangeEvent> events,
                       watch->EventsThrough(created.revision(), drain));
  EXPECT_EQ(events.back().name(), created.observer().name());
  const auto fresh = registry.channel();
  EXPECT_EQ(HealthOf(fresh), "NOT_SERVING");
  RegistryClient fresh_client(fresh);
  EXPECT_THAT(fresh_client.HeadRevision(), IsOk());
  EXPECT_FALSE(registry.exited());
  EXPECT_EQ(HealthOf(channel), "NOT_SERVING");

  // Then the watch ends with the shutdown error, not before the drain period is over, and the
  // process stops by itself with exit code 0.
  EXPECT_THAT(watch->WaitFinished(drain + Scaled(absl::Seconds(30))),
              IsShutdownError(kRegistryShutdownMessage));
  EXPECT_GE(absl::Now() - signalled, drain);
  absl::Time exited_at;
  ASSERT_OK_AND_ASSIGN(ExitResult exit,
                       AwaitExit(registry, drain + Scaled(absl::Seconds(30)), &exited_at));
  EXPECT_TRUE(exit.exited()) << exit.Describe();
  EXPECT_EQ(exit.exit_code(), 0) << exit.Describe();
  EXPECT_GE(exited_at - signalled, drain);
  EXPECT_EQ(registry.CountInOutput(kStoppedLine), 1);
  EXPECT_EQ(registry.CountInOutput(kSecondSignalLine), 0);
  EXPECT_THAT(CheckHealth(channel, absl::Seconds(2)), StatusIs(absl::StatusCode::kUnavailable));
}

TEST_F(LifecycleTest, StatsHealthGoesSyncingServingDraining) {
  RegistryProcess& registry =
      StartRegistry({"--watch-progress-interval", "200ms", "--drain-period", "100ms"});
  // Frozen: stats-service's connection is accepted by the kernel but never answered.
  ASSERT_OK(registry.Pause());
  const absl::Duration drain = Scaled(absl::Seconds(4));
  StatsProcess& stats = StartStats({"--reconnect-backoff-max", "500ms", "--staleness-bound", "5s",
                                    "--drain-period", Flag(drain)});
  const auto channel = stats.channel();
  StatsClient client(channel);
  const std::string election = ElectionName("life-stats-health");

  // Syncing: up and answering, but NOT_SERVING, and figures are refused as not synced.
  EXPECT_EQ(HealthOf(channel), "NOT_SERVING");
  EXPECT_EQ(ServiceHealthOf(channel, kStatsService), "NOT_SERVING");
  EXPECT_THAT(client.GetSummary(SummaryRequest(election)),
              StatusIs(absl::StatusCode::kUnavailable, "NOT_SYNCED"));
  absl::SleepFor(absl::Seconds(1));
  EXPECT_EQ(HealthOf(channel), "NOT_SERVING");

  // Serving once the registry answers and the first sync is done.
  ASSERT_OK(registry.Resume());
  ASSERT_TRUE(WaitHealth(channel, HealthStatus::kServing, Scaled(absl::Seconds(30))))
      << "stats-service is " << HealthOf(channel) << " after the registry resumed";
  EXPECT_EQ(ServiceHealthOf(channel, kStatsService), "SERVING");
  RegistryClient registry_client(registry.channel());
  MUST(registry_client.CreateElection(FutureElection("life-stats-health")));
  const int64_t first = AddAccredited(registry_client, election);
  ASSERT_OK_AND_ASSIGN(sv1::GetSummaryResponse before,
                       client.GetSummary(SummaryRequest(election, first)));
  EXPECT_EQ(before.summary().observers(), 1);

  // Draining: NOT_SERVING while still following the registry and answering, and it stays
  // NOT_SERVING although it is in sync.
  const absl::Time signalled = absl::Now();
  ASSERT_EQ(kill(stats.pid(), SIGTERM), 0);
  ASSERT_TRUE(WaitHealth(channel, HealthStatus::kNotServing, drain))
      << "stats-service is " << HealthOf(channel) << " after SIGTERM";
  EXPECT_FALSE(stats.exited());
  EXPECT_EQ(ServiceHealthOf(channel, kStatsService), "NOT_SERVING");
  const int64_t second = AddAccredited(registry_client, election, "FR");
  ASSERT_OK_AND_ASSIGN(sv1::GetSummaryResponse during,
                       client.GetSummary(SummaryRequest(election, second)));
  EXPECT_EQ(during.summary().observers(), 2);
  EXPECT_GE(during.revision(), second);
  EXPECT_EQ(HealthOf(channel), "NOT_SERVING");
  EXPECT_FALSE(stats.exited());

  absl::Time exited_at;
  ASSERT_OK_AND_ASSIGN(ExitResult exit,
                       AwaitExit(stats, drain + Scaled(absl::Seconds(30)), &exited_at));
  EXPECT_TRUE(exit.exited()) << exit.Describe();
  EXPECT_EQ(exit.exit_code(), 0) << exit.Describe();
  EXPECT_GE(exited_at - signalled, drain);
  EXPECT_EQ(stats.CountInOutput(kStoppedLine), 1);
  // The registry was not disturbed.
  EXPECT_EQ(HealthOf(registry.channel()), "SERVING");
}

// ---------------------------------------------------------------------------------------------
// SIGTERM with work in flight.

TEST_F(LifecycleTest, RegistrySigtermDuringWritesAndAWatchLosesNothingAcknowledged) {
  const absl::Duration drain = Scaled(absl::Milliseconds(500));
  RegistryProcess& registry = StartRegistry({"--drain-period", Flag(drain)});
  RegistryClient client(registry.channel());
  const rv1::Election election =
      MUST(client.CreateElection(FutureElection("life-sigterm"))).election();

  rv1::WatchRequest from_one;
  from_one.set_start_revision(1);
  auto watch = client.Watch(from_one, /*start_reading=*/true, Scaled(absl::Seconds(120)));

  // Writers: each on its own connection, creating observers (each with its own request_id)
  // until refused once the process is gone.
  struct Ack {
    std::string request_id;
    std::string name;
    int64_t revision;
    absl::Time at;
  };
  struct Refusal {
    rv1::CreateObserverRequest request;
    absl::Status status;
    absl::Duration took;
    size_t acks_before;  // How many of this writer's acks came before it.
    bool after_exit;     // Sent when the process was known to have exited.
  };
  struct WriterLog {
    std::vector<Ack> acks;
    std::vector<Refusal> refusals;
  };
  constexpr int kWriters = 4;
  std::vector<WriterLog> logs(kWriters);
  std::atomic<int> acked{0};
  std::atomic<bool> exited{false};  // The registry process is gone.
  std::atomic<int> finished{0};     // Writers refused after that.
  std::atomic<bool> give_up{false};
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      RegistryClient own(registry.channel(), Scaled(absl::Seconds(20)));
      WriterLog& log = logs[w];  // Only this thread touches it until it is joined.
      for (int i = 0; !give_up.load(); ++i) {
        rv1::CreateObserverRequest req = NewObserverRequest(election.name(), NextSeq());
        req.set_request_id(absl::StrCat("life-", w, "-", i));
        const bool after_exit = exited.load();
        const absl::Time start = absl::Now();
        auto resp = own.CreateObserver(req);
        if (resp.ok()) {
          log.acks.push_back(
              {req.request_id(), resp->observer().name(), resp->revision(), absl::Now()});
          acked.fetch_add(1);
          continue;
        }
        log.refusals.push_back(
            {req, resp.status(), absl::Now() - start, log.acks.size(), after_exit});
        if (after_exit) {
          finished.fetch_add(1);
          break;
        }
        absl::SleepFor(absl::Milliseconds(10));  // Refused while stopping: keep trying.
      }
    });
  }
  // Joins the writers (at the latest when the test returns, failed or not).
  auto stop_writers = [&] {
    give_up.store(true);
    for (auto& t : writers) t.join();
    writers.clear();
  };
  struct JoinAtExit {
    std::function<void()> join;
    ~JoinAtExit() { join(); }
  } join_at_exit{stop_writers};

  ASSERT_TRUE(PollUntil([&] { return acked.load() >= 100; }, Scaled(absl::Seconds(60)),
                        absl::Milliseconds(1)))
      << "only " << acked.load() << " writes acknowledged";
  const absl::Time signalled = absl::Now();
  ASSERT_EQ(kill(registry.pid(), SIGTERM), 0);
  absl::Time exited_at;
  absl::StatusOr<ExitResult> exit = AwaitExit(registry, Scaled(absl::Seconds(60)), &exited_at);
  ASSERT_OK(exit);
  EXPECT_TRUE(exit->exited()) << exit->Describe();
  EXPECT_EQ(exit->exit_code(), 0) << exit->Describe();
  EXPECT_GE(exited_at - signalled, drain);
  exited.store(true);
  // The writers end by themselves: refused, not hung.
  const bool writers_done = PollUntil([&] { return finished.load() == kWriters; },
                                      Scaled(absl::Seconds(30)), absl::Milliseconds(10));
  stop_writers();  // Joins; every log is stable from here on.
  EXPECT_TRUE(writers_done) << "a writer was still writing 30s after the registry exited";

  // Writes were served through the drain; once refused, a writer got no more
  // acknowledgements; every refusal is UNAVAILABLE, except that calls that reach the server
  // while it stops accepting calls, before a handler takes them, are CANCELLED by gRPC core
  // (grpc/grpc#41785): either way at once, and (checked below) not applied. With the process
  // gone: UNAVAILABLE.
  std::map<std::string, const Ack*> acks;  // By request_id.
  std::set<std::string> names;
  std::set<int64_t> revisions;
  int after_signal = 0;
  for (int w = 0; w < kWriters; ++w) {
    const WriterLog& log = logs[w];
    for (const Ack& ack : log.acks) {
      acks[ack.request_id] = &ack;
      EXPECT_TRUE(names.insert(ack.name).second) << ack.name << " acknowledged twice";
      EXPECT_TRUE(revisions.insert(ack.revision).second) << "revision " << ack.revision << " twice";
      if (ack.at > signalled) ++after_signal;
    }
    ASSERT_FALSE(log.refusals.empty()) << "writer " << w;
    EXPECT_TRUE(log.refusals.back().after_exit) << "writer " << w;
    EXPECT_EQ(log.refusals.front().acks_before, log.acks.size())
        << "writer " << w << " got acknowledgements after a refusal";
    for (const Refusal& r : log.refusals) {
      EXPECT_THAT(r.status, ::testing::AnyOf(StatusIs(absl::StatusCode::kUnavailable),
                                             StatusIs(absl::StatusCode::kCancelled)))
          << "writer " << w << ", " << r.request.request_id() << ", after "
          << absl::FormatDuration(r.took);
      if (r.after_exit) {
        EXPECT_THAT(r.status, StatusIs(absl::StatusCode::kUnavailable)) << "writer " << w;
      }
    }
  }
  EXPECT_GT(after_signal, 0) << "no write was acknowledged during the drain";

  // The watch ended with the shutdown error (after the drain), having delivered revisions
  // 1..R in order, each once.
  EXPECT_THAT(watch->WaitFinished(Scaled(absl::Seconds(30))),
              IsShutdownError(kRegistryShutdownMessage));
  std::vector<rv1::ChangeEvent> watched;
  for (const rv1::WatchResponse& r : watch->TakeAll()) {
    for (const rv1::ChangeEvent& e : r.events()) watched.push_back(e);
  }
  ASSERT_FALSE(watched.empty());
  for (size_t i = 0; i < watched.size(); ++i) {
    ASSERT_EQ(watched[i].revision(), static_cast<int64_t>(i) + 1) << "watch event " << i;
  }
  const int64_t watched_through = watched.back().revision();

  // Restarted on the same store: everything acknowledged is there, as acknowledged.
  ASSERT_OK(registry.Start(Scaled(absl::Seconds(30))));
  RegistryClient after(registry.channel());
  ASSERT_OK_AND_ASSIGN(const int64_t head, after.HeadRevision());
  ASSERT_FALSE(revisions.empty());
  EXPECT_GE(head, *revisions.rbegin());
  EXPECT_GE(head, watched_through);
  for (const auto& [request_id, ack] : acks) {
    rv1::GetObserverRequest get;
    get.set_name(ack->name);
    auto got = after.GetObserver(get);
    ASSERT_OK(got) << ack->name;
    EXPECT_EQ(got->observer().revision(), ack->revision) << ack->name;
  }

  // The change log: 1..head without a gap, agreeing with every acknowledgement and with what
  // the watch delivered before the shutdown; no refused request in it.
  auto replay = after.Watch(from_one);
  ASSERT_OK_AND_ASSIGN(std::vector<rv1::ChangeEvent> log,
                       replay->EventsThrough(head, Scaled(absl::Seconds(60))));
  ASSERT_EQ(log.size(), static_cast<size_t>(head));
  for (size_t i = 0; i < log.size(); ++i) {
    ASSERT_EQ(log[i].revision(), static_cast<int64_t>(i) + 1) << "event " << i;
  }
  for (const auto& [request_id, ack] : acks) {
    const rv1::ChangeEvent& e = log[ack->revision - 1];
    EXPECT_EQ(e.name(), ack->name) << "revision " << ack->revision;
    EXPECT_EQ(e.request_id(), request_id) << "revision " << ack->revision;
    EXPECT_EQ(e.type(), rv1::CHANGE_TYPE_CREATED) << "revision " << ack->revision;
  }
  for (size_t i = 0; i < watched.size(); ++i) {
    std::string diff;
    EXPECT_TRUE(ProtoEquals(watched[i], log[i], &diff)) << "revision " << i + 1 << ": " << diff;
  }
  std::set<std::string> logged_request_ids;
  for (const rv1::ChangeEvent& e : log) logged_request_ids.insert(e.request_id());
  for (const WriterLog& w : logs) {
    for (const Refusal& r : w.refusals) {
      EXPECT_EQ(logged_request_ids.count(r.request.request_id()), 0u)
          << r.request.request_id() << " was refused (" << DescribeStatus(r.status)
          << ") but applied";
    }
  }
  // Every observer in the store is explained by the log (a write may have been committed
  // without its acknowledgement reaching the writer, never the other way round).
  ASSERT_OK_AND_ASSIGN(std::vector<rv1::Observer> observers, after.AllObservers(election.name()));
  EXPECT_GE(observers.size(), acks.size());
  EXPECT_EQ(static_cast<int64_t>(observers.size()), head - election.revision());
  for (const rv1::Observer& o : observers) {
    ASSERT_GE(o.revision(), 1);
    ASSERT_LE(o.revision(), head);
    EXPECT_EQ(log[o.revision() - 1].name(), o.name());
  }

  // A watcher resuming after the last revision it received gets exactly the rest.
  if (watched_through < head) {
    rv1::WatchRequest resume;
    resume.set_start_revision(watched_through + 1);
    auto resumed = after.Watch(resume);
    ASSERT_OK_AND_ASSIGN(std::vector<rv1::ChangeEvent> rest,
                         resumed->EventsThrough(head, Scaled(absl::Seconds(60))));
    ASSERT_EQ(rest.size(), static_cast<size_t>(head - watched_through));
    EXPECT_EQ(rest.front().revision(), watched_through + 1);
    EXPECT_EQ(rest.back().revision(), head);
  }
  // A refused write retried with its request_id is applied now, once; writing continues at
  // head + 1.
  const Refusal& first_refused = logs[0].refusals.front();
  ASSERT_OK_AND_ASSIGN(rv1::CreateObserverResponse retried,
                       after.CreateObserver(first_refused.request));
  EXPECT_EQ(retried.revision(), head + 1);
  ASSERT_OK_AND_ASSIGN(rv1::CreateObserverResponse again,
                       after.CreateObserver(first_refused.request));
  std::string diff;
  EXPECT_TRUE(ProtoEquals(again, retried, &diff)) << diff;
  EXPECT_EQ(MUST(after.HeadRevision()), head + 1);
}

TEST_F(LifecycleTest, StatsSigtermEndsOpenStreamsAndWaitsWithUnavailable) {
  RegistryProcess& registry =
      StartRegistry({"--watch-progress-interval", "200ms", "--drain-period", "100ms"});
  const absl::Duration drain = Scaled(absl::Seconds(3));
  StatsProcess& stats = StartStats({"--reconnect-backoff-max", "500ms", "--drain-period",
                                    Flag(drain), "--max-revision-wait", "5m"});
  RegistryClient registry_client(registry.channel());
  StatsClient client(stats.channel());
  const std::string election = ElectionName("life-stats-streams");
  MUST(registry_client.CreateElection(FutureElection("life-stats-streams")));
  const int64_t first = AddAccredited(registry_client, election);

  sv1::WatchSummaryRequest watch_summary;
  *watch_summary.mutable_request() = SummaryRequest(election, first);
  auto summaries = client.WatchSummary(watch_summary, true, Scaled(absl::Seconds(120)));
  std::optional<sv1::WatchSummaryResponse> initial = summaries->Next(Scaled(absl::Seconds(20)));
  ASSERT_TRUE(initial.has_value()) << summaries->WaitFinished(absl::ZeroDuration());
  EXPECT_EQ(initial->summary().observers(), 1);
  sv1::WatchBreakdownRequest watch_breakdown;
  watch_breakdown.mutable_request()->set_election(election);
  watch_breakdown.mutable_request()->set_dimension(sv1::DIMENSION_SENDING_STATE);
  watch_breakdown.mutable_request()->set_min_revision(first);
  auto breakdowns = client.WatchBreakdown(watch_breakdown, true, Scaled(absl::Seconds(120)));
  std::optional<sv1::WatchBreakdownResponse> initial_breakdown =
      breakdowns->Next(Scaled(absl::Seconds(20)));
  ASSERT_TRUE(initial_breakdown.has_value()) << breakdowns->WaitFinished(absl::ZeroDuration());
  EXPECT_EQ(initial_breakdown->breakdown().total(), 1);
  // A read waiting for a revision the registry will not reach before the shutdown.
  auto pending = std::async(std::launch::async, [&] {
    StatsClient own(stats.channel());
    return own.GetSummary(SummaryRequest(election, first + 1000000), Scaled(absl::Seconds(120)))
        .status();
  });
  absl::SleepFor(absl::Milliseconds(200));
  ASSERT_EQ(pending.wait_for(std::chrono::seconds(0)), std::future_status::timeout)
      << pending.get();

  const absl::Time signalled = absl::Now();
  ASSERT_EQ(kill(stats.pid(), SIGTERM), 0);
  ASSERT_TRUE(WaitHealth(stats.channel(), HealthStatus::kNotServing, drain));
  // Through the drain, the streams still push changed figures.
  const int64_t second = AddAccredited(registry_client, election, "FR");
  std::optional<sv1::WatchSummaryResponse> changed = summaries->Next(drain);
  ASSERT_TRUE(changed.has_value())
      << "no update during the drain; stream " << summaries->WaitFinished(absl::ZeroDuration());
  EXPECT_EQ(changed->summary().observers(), 2);
  EXPECT_GE(changed->revision(), second);

  // Then every stream and the waiting read end with the shutdown error, not before the drain
  // period is over, and the process exits with 0.
  EXPECT_THAT(summaries->WaitFinished(drain + Scaled(absl::Seconds(30))),
              IsShutdownError(kStatsShutdownMessage));
  const absl::Time summaries_ended = absl::Now();
  EXPECT_GE(summaries_ended - signalled, drain);
  EXPECT_THAT(breakdowns->WaitFinished(Scaled(absl::Seconds(30))),
              IsShutdownError(kStatsShutdownMessage));
  ASSERT_EQ(pending.wait_for(absl::ToChronoSeconds(Scaled(absl::Seconds(30)))),
            std::future_status::ready);
  EXPECT_THAT(pending.get(), IsShutdownError(kStatsShutdownMessage));
  absl::Time exited_at;
  ASSERT_OK_AND_ASSIGN(ExitResult exit, AwaitExit(stats, Scaled(absl::Seconds(30)), &exited_at));
  EXPECT_TRUE(exit.exited()) << exit.Describe();
  EXPECT_EQ(exit.exit_code(), 0) << exit.Describe();
  EXPECT_EQ(stats.CountInOutput(kStoppedLine), 1);
}

// ---------------------------------------------------------------------------------------------
// A second signal during the drain.

// A write still queued when the shutdown deadline cancels its call is not applied afterwards:
// its caller was told the call failed. The store's write lock is held by another connection
// (as a backup tool would) until the deadline has passed, so the write cannot begin before.
TEST_F(LifecycleTest, RegistryWriteCancelledAtTheShutdownDeadlineIsNotApplied) {
  RegistryProcess& registry =
      StartRegistry({"--drain-period", "100ms", "--shutdown-timeout", "1s", "--store-busy-timeout",
                     Flag(Scaled(absl::Seconds(60)))});
  RegistryClient client(registry.channel());
  const rv1::Election election =
      MUST(client.CreateElection(FutureElection("life-deadline"))).election();

  ASSERT_OK_AND_ASSIGN(std::unique_ptr<StoreWriteLock> lock,
                       StoreWriteLock::Acquire(registry.store_uri(), absl::ZeroDuration()));
  rv1::CreateObserverRequest queued = NewObserverRequest(election.name(), NextSeq());
  queued.set_request_id("life-deadline-queued");
  RegistryClient patient(registry.channel(), Scaled(absl::Seconds(60)));
  std::future<absl::StatusOr<rv1::CreateObserverResponse>> call =
      std::async(std::launch::async, [&] { return patient.CreateObserver(queued); });
  absl::SleepFor(absl::Milliseconds(300));  // The write is queued behind the lock.
  ASSERT_EQ(call.wait_for(std::chrono::seconds(0)), std::future_status::timeout);

  ASSERT_EQ(kill(registry.pid(), SIGTERM), 0);
  ASSERT_EQ(call.wait_for(absl::ToChronoSeconds(Scaled(absl::Seconds(20)))),
            std::future_status::ready)
      << "the shutdown deadline did not end the call";
  const absl::StatusOr<rv1::CreateObserverResponse> result = call.get();
  ASSERT_FALSE(result.ok()) << "acknowledged although the store was locked";
  EXPECT_THAT(result.status().code(),
              ::testing::AnyOf(absl::StatusCode::kUnavailable, absl::StatusCode::kCancelled))
      << result.status();
  EXPECT_FALSE(registry.exited()) << "the write is still queued";

  // The lock goes; the write's turn comes, after its call ended.
  ASSERT_OK(lock->Release());
  absl::Time exited_at;
  ASSERT_OK_AND_ASSIGN(ExitResult exit, AwaitExit(registry, Scaled(absl::Seconds(20)), &exited_at));
  EXPECT_EQ(exit.exit_code(), 0) << exit.Describe();

  ASSERT_OK(registry.Start(Scaled(absl::Seconds(30))));
  RegistryClient after(registry.channel());
  ASSERT_OK_AND_ASSIGN(const int64_t head, after.HeadRevision());
  EXPECT_EQ(head, election.revision()) << "the cancelled write was applied";
  // Retried with its request_id, it is applied now, once.
  ASSERT_OK_AND_ASSIGN(rv1::CreateObserverResponse retried, after.CreateObserver(queued));
  EXPECT_EQ(retried.revision(), head + 1);
}

TEST_F(LifecycleTest, RegistrySecondSigtermDuringTheDrainExitsAtOnceWithCode1) {
  const absl::Duration drain = Scaled(absl::Seconds(10));
  RegistryProcess& registry = StartRegistry({"--drain-period", Flag(drain)});
  ASSERT_NO_FATAL_FAILURE(ExpectSecondSignalExitsAtOnce(registry, drain, SIGTERM, SIGTERM));
}

TEST_F(LifecycleTest, StatsSecondSigintDuringTheDrainExitsAtOnceWithCode1) {
  RegistryProcess& registry = StartRegistry({"--watch-progress-interval", "200ms"});
  const absl::Duration drain = Scaled(absl::Seconds(10));
  StatsProcess& stats =
      StartStats({"--reconnect-backoff-max", "500ms", "--drain-period", Flag(drain)});
  ASSERT_TRUE(WaitHealth(stats.channel(), HealthStatus::kServing, Scaled(absl::Seconds(30))));
  ASSERT_NO_FATAL_FAILURE(ExpectSecondSignalExitsAtOnce(stats, drain, SIGINT, SIGINT));
  // The registry was not disturbed.
  EXPECT_EQ(HealthOf(registry.channel()), "SERVING");
}

}  // namespace
}  // namespace observer::testing
