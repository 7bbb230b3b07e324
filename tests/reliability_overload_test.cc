// Overload: ten times more concurrent callers than a service's --max-in-flight. The service
// sheds the excess with RESOURCE_EXHAUSTED/OVERLOADED and a retry delay (it never queues
// without bound, never answers INTERNAL), keeps answering health checks meanwhile, loses
// nothing it acknowledged, and serves everyone again as soon as the load drops.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "common/grpc_status.h"
#include "common/health_client.h"
#include "tests/harness/builders.h"
#include "tests/harness/history.h"
#include "tests/harness/http_get.h"
#include "tests/harness/registry_client.h"
#include "tests/harness/registry_process.h"
#include "tests/harness/stats_client.h"
#include "tests/harness/stats_process.h"
#include "tests/harness/status_matchers.h"
#include "tests/harness/temp_dir.h"

namespace observer::testing {
namespace {

using ::testing::IsEmpty;

constexpr int kMaxInFlight = 8;
// A health check must answer within this while the service sheds load (a loaded CI machine
// runs other suites at the same time; ThreadSanitizer makes everything several times slower).
#if defined(__SANITIZE_THREAD__)
constexpr absl::Duration kHealthBound = absl::Seconds(5);
#else
constexpr absl::Duration kHealthBound = absl::Seconds(2);
#endif
constexpr int kCallers = 10 * kMaxInFlight;

// What the callers saw, by code (and reason, for errors).
class Outcomes {
 public:
  void Add(const absl::Status& status) {
    std::lock_guard<std::mutex> lock(mu_);
    std::string key = absl::StatusCodeToString(status.code());
    if (!status.ok()) absl::StrAppend(&key, "/", GetErrorDetails(status).reason);
    ++counts_[key];
    if (status.code() == absl::StatusCode::kResourceExhausted) {
      const std::optional<absl::Duration> delay = GetErrorDetails(status).retry_delay;
      if (!delay.has_value() || *delay <= absl::ZeroDuration()) ++refusals_without_delay_;
    }
  }
  int64_t Count(const std::string& key) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = counts_.find(key);
    return it == counts_.end() ? 0 : it->second;
  }
  // Every outcome other than OK, OVERLOADED refusals and `expected`.
  std::map<std::string, int64_t> Others(const std::string& expected = "") {
    std::lock_guard<std::mutex> lock(mu_);
    std::map<std::string, int64_t> others = counts_;
    others.erase("OK");
    others.erase("RESOURCE_EXHAUSTED/OVERLOADED");
    others.erase(expected);
    return others;
  }
  int64_t refusals_without_delay() {
    std::lock_guard<std::mutex> lock(mu_);
    return refusals_without_delay_;
  }
  std::string Describe() {
    std::lock_guard<std::mutex> lock(mu_);
    std::string out;
    for (const auto& [key, n] : counts_) absl::StrAppend(&out, key, "=", n, " ");
    return out;
  }

 private:
  std::mutex mu_;
  std::map<std::string, int64_t> counts_;
  int64_t refusals_without_delay_ = 0;
};

// Health checks every 50 ms while the load runs: each must answer SERVING promptly.
class HealthProbe {
 public:
  explicit HealthProbe(std::shared_ptr<grpc::Channel> channel)
      : thread_([this, channel = std::move(channel)] {
          while (!stop_.load()) {
            const absl::Time start = absl::Now();
            absl::StatusOr<HealthStatus> health = CheckHealth(channel, absl::Seconds(5));
            const absl::Duration took = absl::Now() - start;
            {
              std::lock_guard<std::mutex> lock(mu_);
              ++checks_;
              if (!health.ok() || *health != HealthStatus::kServing) ++failures_;
              slowest_ = std::max(slowest_, took);
            }
            absl::SleepFor(absl::Milliseconds(50));
          }
        }) {}
  ~HealthProbe() { Stop(); }
  void Stop() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
  }
  int checks() const { return checks_; }
  int failures() const { return failures_; }
  absl::Duration slowest() const { return slowest_; }

 private:
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  int checks_ = 0;
  int failures_ = 0;
  absl::Duration slowest_;
  std::thread thread_;
};

// Runs `call` from kCallers threads until `duration` has passed; a refused caller waits the
// retry delay it was given, as a well-behaved client does.
void Storm(absl::Duration duration, const std::function<absl::Status(int caller, int n)>& call,
           Outcomes& outcomes) {
  const absl::Time until = absl::Now() + duration;
  std::vector<std::thread> threads;
  for (int c = 0; c < kCallers; ++c) {
    threads.emplace_back([&, c] {
      for (int n = 0; absl::Now() < until; ++n) {
        const absl::Status status = call(c, n);
        outcomes.Add(status);
        if (std::optional<absl::Duration> delay = GetErrorDetails(status).retry_delay) {
          absl::SleepFor(*delay);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
}

double DeniedForOverload(const ServiceProcess& service, const std::string& grpc_service,
                         const std::string& method) {
  absl::StatusOr<std::string> metrics = HttpGet(service.metrics_address(), "/metrics");
  if (!metrics.ok()) return -1;
  return SampleValue(
             *metrics, "grpc_server_denied_total",
             {{"grpc_service", grpc_service}, {"grpc_method", method}, {"reason", "overload"}})
      .value_or(0);
}

TEST(OverloadTest, RegistryShedsExcessWritesStaysHealthyAndLosesNothing) {
  TempDir dir;
  // Each group commit stalls 20 ms, so that writes pile up behind the store's writer.
  ::setenv("OBSERVER_FAILPOINTS", "registry-before-commit=sleep(20)", 1);
  RegistryProcess registry(dir.path(), {"--max-in-flight", absl::StrCat(kMaxInFlight)});
  const absl::Status started = registry.Start();
  ::unsetenv("OBSERVER_FAILPOINTS");
  ASSERT_OK(started);
  RegistryClient client(registry.channel());
  const std::string election =
      MUST(client.CreateElection(FutureElection("overload"))).election().name();

  History history;
  Outcomes outcomes;
  {
    HealthProbe probe(registry.channel());
    // One channel per ten callers: the limit is the server's, not a connection's.
    std::vector<std::shared_ptr<grpc::Channel>> channels;
    for (int i = 0; i < kCallers / 10; ++i) channels.push_back(registry.channel());
    Storm(
        absl::Seconds(3),
        [&](int caller, int n) {
          RegistryClient own(channels[caller % channels.size()], absl::Seconds(10));
          rv1::CreateObserverRequest req = NewObserverRequest(election, NextSeq());
          req.set_request_id(absl::StrCat("c", caller, "-", n));
          const int64_t op = history.Invoke("CreateObserver", req.request_id(), "");
          auto resp = own.CreateObserver(req);
          history.Complete(op, resp.status(), resp.ok() ? &resp->observer() : nullptr,
                           resp.ok() ? resp->revision() : 0);
          return resp.status();
        },
        outcomes);
    probe.Stop();
    std::cout << "registry under " << kCallers << " callers, --max-in-flight " << kMaxInFlight
              << ": " << outcomes.Describe() << "; health checks " << probe.checks() << ", slowest "
              << absl::FormatDuration(probe.slowest()) << "\n";
    EXPECT_EQ(probe.failures(), 0);
    EXPECT_GE(probe.checks(), 10);
    EXPECT_LT(probe.slowest(), kHealthBound);
  }
  EXPECT_GT(outcomes.Count("OK"), 0) << outcomes.Describe();
  EXPECT_GT(outcomes.Count("RESOURCE_EXHAUSTED/OVERLOADED"), 0) << outcomes.Describe();
  EXPECT_THAT(outcomes.Others(), IsEmpty()) << "no INTERNAL, no other failure";
  EXPECT_EQ(outcomes.refusals_without_delay(), 0) << "every refusal says when to retry";
  EXPECT_EQ(DeniedForOverload(registry, "observer.registry.v1.RegistryService", "CreateObserver"),
            outcomes.Count("RESOURCE_EXHAUSTED/OVERLOADED"));

  // The load is gone: every call is served again.
  for (int i = 0; i < 20; ++i) {
    rv1::CreateObserverRequest req = NewObserverRequest(election, NextSeq());
    req.set_request_id(absl::StrCat("after-", i));
    const int64_t op = history.Invoke("CreateObserver", req.request_id(), "");
    auto resp = client.CreateObserver(req);
    history.Complete(op, resp.status(), resp.ok() ? &resp->observer() : nullptr,
                     resp.ok() ? resp->revision() : 0);
    ASSERT_OK(resp);
  }
  // Everything acknowledged is there, nothing refused is.
  ASSERT_OK_AND_ASSIGN(FinalState state, ReadFinalState(client));
  EXPECT_THAT(CheckHistory(history, state), IsEmpty()) << history.Summary();
}

TEST(OverloadTest, StatsShedsExcessWaitingQueriesAndStaysHealthy) {
  TempDir dir;
  RegistryProcess registry(dir.path());
  ASSERT_OK(registry.Start());
  RegistryClient registry_client(registry.channel());
  const std::string election =
      MUST(registry_client.CreateElection(FutureElection("overload"))).election().name();
  StatsProcess stats(registry.address(),
                     {"--max-in-flight", absl::StrCat(kMaxInFlight), "--max-revision-wait", "1s"});
  ASSERT_OK(stats.Start());
  StatsClient client(stats.channel());
  ASSERT_TRUE(PollUntil(
      [&] {
        auto h = client.Health();
        return h.ok() && *h == HealthStatus::kServing;
      },
      absl::Seconds(20)));
  const int64_t head = MUST(registry_client.HeadRevision());

  // Every query waits for a revision that does not come (up to --max-revision-wait): each
  // holds its place among the calls in flight for a second.
  Outcomes outcomes;
  {
    HealthProbe probe(stats.channel());
    std::vector<std::shared_ptr<grpc::Channel>> channels;
    for (int i = 0; i < kCallers / 10; ++i) channels.push_back(stats.channel());
    Storm(
        absl::Seconds(3),
        [&](int caller, int) {
          StatsClient own(channels[caller % channels.size()], absl::Seconds(10));
          sv1::GetSummaryRequest req;
          req.set_election(election);
          req.set_min_revision(head + 1000);
          return own.GetSummary(req).status();
        },
        outcomes);
    probe.Stop();
    std::cout << "stats under " << kCallers << " waiting callers, --max-in-flight " << kMaxInFlight
              << ": " << outcomes.Describe() << "; health checks " << probe.checks() << ", slowest "
              << absl::FormatDuration(probe.slowest()) << "\n";
    EXPECT_EQ(probe.failures(), 0);
    EXPECT_GE(probe.checks(), 10);
    EXPECT_LT(probe.slowest(), kHealthBound);
  }
  // The waits that were let in ran to their bound; the others were refused at once.
  EXPECT_GT(outcomes.Count("DEADLINE_EXCEEDED/REVISION_NOT_APPLIED"), 0) << outcomes.Describe();
  EXPECT_GT(outcomes.Count("RESOURCE_EXHAUSTED/OVERLOADED"), 0) << outcomes.Describe();
  EXPECT_THAT(outcomes.Others("DEADLINE_EXCEEDED/REVISION_NOT_APPLIED"), IsEmpty());
  EXPECT_EQ(outcomes.refusals_without_delay(), 0) << "every refusal says when to retry";
  EXPECT_EQ(DeniedForOverload(stats, "observer.stats.v1.StatsService", "GetSummary"),
            outcomes.Count("RESOURCE_EXHAUSTED/OVERLOADED"));

  // The load is gone: queries are answered again, with the registry's head.
  sv1::GetSummaryRequest req;
  req.set_election(election);
  req.set_min_revision(head);
  for (int i = 0; i < 20; ++i) {
    auto summary = client.GetSummary(req);
    ASSERT_OK(summary);
    EXPECT_EQ(summary->revision(), head);
  }
}

// One caller parking queries until its place limit cannot lock the others out: the limit per
// caller identity refuses it first.
TEST(OverloadTest, OneCallerCannotTakeEveryPlace) {
  TempDir dir;
  RegistryProcess registry(dir.path());
  ASSERT_OK(registry.Start());
  RegistryClient registry_client(registry.channel());
  const std::string election =
      MUST(registry_client.CreateElection(FutureElection("hog"))).election().name();
  StatsProcess stats(registry.address(),
                     {"--max-in-flight", absl::StrCat(kMaxInFlight), "--max-in-flight-per-caller",
                      "3", "--max-revision-wait", "3s"});
  ASSERT_OK(stats.Start());
  StatsClient client(stats.channel());
  ASSERT_TRUE(client.WaitForHealth(HealthStatus::kServing, absl::Seconds(20)));
  const int64_t head = MUST(registry_client.HeadRevision());

  // GetSummary as `actor` (plaintext loopback: callers name themselves).
  auto summary_as = [&](const std::string& actor, int64_t min_revision) {
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    ctx.AddMetadata("x-observer-actor", actor);
    sv1::GetSummaryRequest req;
    req.set_election(election);
    req.set_min_revision(min_revision);
    sv1::GetSummaryResponse resp;
    return FromGrpcStatus(client.stub().GetSummary(&ctx, req, &resp));
  };
  // "hog" parks ten queries for a revision that does not come.
  Outcomes hog;
  std::vector<std::thread> parked;
  for (int i = 0; i < 10; ++i) {
    parked.emplace_back([&] { hog.Add(summary_as("hog", head + 1000)); });
  }
  absl::SleepFor(absl::Milliseconds(500));
  // Meanwhile every other caller is served.
  for (int i = 0; i < 5; ++i) EXPECT_OK(summary_as(absl::StrCat("quiet-", i), head));
  for (auto& t : parked) t.join();
  EXPECT_EQ(hog.Count("DEADLINE_EXCEEDED/REVISION_NOT_APPLIED"), 3) << hog.Describe();
  EXPECT_EQ(hog.Count("RESOURCE_EXHAUSTED/OVERLOADED"), 7) << hog.Describe();
}

}  // namespace
}  // namespace observer::testing
