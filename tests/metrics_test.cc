// Prometheus metrics and access logs of both services, scraped over HTTP from the real
// processes: the go-grpc-prometheus call metrics (every method at zero from the start, then
// the exact counts of known traffic), build info, process metrics, and one access-log line per
// call without personal data.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "google/protobuf/descriptor.h"
#include "observer/registry/v1/registry_service.grpc.pb.h"
#include "observer/stats/v1/stats_service.grpc.pb.h"
#include "tests/harness/builders.h"
#include "tests/harness/command.h"
#include "tests/harness/http_get.h"
#include "tests/harness/registry_client.h"
#include "tests/harness/registry_process.h"
#include "tests/harness/stats_client.h"
#include "tests/harness/stats_process.h"
#include "tests/harness/status_matchers.h"
#include "tests/harness/temp_dir.h"

namespace observer::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kRegistryService[] = "observer.registry.v1.RegistryService";
constexpr char kStatsService[] = "observer.stats.v1.StatsService";

std::string Scrape(const ServiceProcess& p) {
  absl::StatusOr<std::string> text = HttpGet(p.metrics_address(), "/metrics");
  EXPECT_TRUE(text.ok()) << text.status();
  return text.ok() ? *text : "";
}

std::map<std::string, std::string> Call(const std::string& service, const std::string& method,
                                        const std::string& type = "unary") {
  return {{"grpc_service", service}, {"grpc_method", method}, {"grpc_type", type}};
}

std::map<std::string, std::string> WithCode(std::map<std::string, std::string> labels,
                                            const std::string& code) {
  labels["grpc_code"] = code;
  return labels;
}

double Value(const std::string& text, const std::string& name,
             const std::map<std::string, std::string>& labels) {
  std::optional<double> v = SampleValue(text, name, labels);
  EXPECT_TRUE(v.has_value()) << name << " with the given labels is missing";
  return v.value_or(-1);
}

class MetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    registry_ = std::make_unique<RegistryProcess>(dir_.path());
    ASSERT_OK(registry_->Start());
    stats_ = std::make_unique<StatsProcess>(registry_->address());
    ASSERT_OK(stats_->Start());
    // Synced (health SERVING), so that stats calls get their real answers.
    ASSERT_TRUE(PollUntil(
        [&] {
          absl::StatusOr<HealthStatus> h = CheckHealth(stats_->channel());
          return h.ok() && *h == HealthStatus::kServing;
        },
        absl::Seconds(20)));
  }

  // stats-service's metrics once it has applied `head`; a fatal failure after 10 s.
  void ScrapeStatsAt(int64_t head, std::string* stats) {
    ASSERT_TRUE(PollUntil(
        [&] {
          *stats = Scrape(*stats_);
          return SampleValue(*stats, "stats_applied_revision").value_or(-1) == head;
        },
        absl::Seconds(10)))
        << *stats;
  }

  TempDir dir_;
  std::unique_ptr<RegistryProcess> registry_;
  std::unique_ptr<StatsProcess> stats_;
};

TEST_F(MetricsTest, EveryMethodStartsAtZero) {
  const std::string text = Scrape(*registry_);
  const auto* service =
      google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(kRegistryService);
  ASSERT_NE(service, nullptr);
  for (int i = 0; i < service->method_count(); ++i) {
    const auto& m = *service->method(i);
    const std::string type = m.server_streaming() ? "server_stream" : "unary";
    SCOPED_TRACE(m.name());
    // The only call so far may be stats-service's subscription (a Watch, not yet ended).
    const double started =
        Value(text, "grpc_server_started_total", Call(kRegistryService, m.name(), type));
    if (m.name() == "Watch") {
      EXPECT_LE(started, 1);
    } else {
      EXPECT_EQ(started, 0);
    }
    // Every code, so that error ratios exist before the first error.
    EXPECT_EQ(
        SampleCount(text, "grpc_server_handled_total", Call(kRegistryService, m.name(), type)), 17);
    EXPECT_EQ(Value(text, "grpc_server_handled_total",
                    WithCode(Call(kRegistryService, m.name(), type), "OK")),
              0);
    EXPECT_EQ(
        Value(text, "grpc_server_handling_seconds_count", Call(kRegistryService, m.name(), type)),
        0);
  }
  EXPECT_EQ(Value(text, "registry_build_info", {}), 1);
  EXPECT_GT(Value(text, "process_resident_memory_bytes", {}), 1e6);
  EXPECT_GT(Value(text, "process_open_fds", {}), 3);
  EXPECT_GT(Value(text, "process_start_time_seconds", {}), 1.7e9);
  EXPECT_GE(Value(text, "process_cpu_seconds_total", {}), 0);

  const std::string stats = Scrape(*stats_);
  EXPECT_EQ(Value(stats, "stats_build_info", {}), 1);
  EXPECT_EQ(Value(stats, "grpc_server_started_total", Call(kStatsService, "GetBreakdown")), 0);
  // Health checks are counted too (grpc.health.v1.Health is added on its first call).
  EXPECT_GE(Value(stats, "grpc_server_started_total", Call("grpc.health.v1.Health", "Check")), 1);
  EXPECT_EQ(Value(stats, "grpc_server_started_total",
                  Call(kStatsService, "WatchSummary", "server_stream")),
            0);
}

TEST_F(MetricsTest, KnownTrafficIsCountedExactly) {
  RegistryClient client(registry_->channel());
  ASSERT_OK(client.CreateElection(FutureElection("metrics-1")).status());
  const rv1::CreateObserverRequest request = NewObserverRequest(ElectionName("metrics-1"), 1);
  for (int i = 0; i < 3; ++i)
    ASSERT_OK(
        client.CreateObserver(NewObserverRequest(ElectionName("metrics-1"), NextSeq())).status());
  rv1::GetElectionRequest missing;
  missing.set_name("elections/no-such-election");
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(client.GetElection(missing).status().code(), absl::StatusCode::kNotFound);
  }
  rv1::CreateObserverRequest bad = NewObserverRequest(ElectionName("metrics-1"), NextSeq());
  bad.mutable_observer()->set_citizenship("XX");
  EXPECT_EQ(client.CreateObserver(bad).status().code(), absl::StatusCode::kInvalidArgument);

  const std::string text = Scrape(*registry_);
  const auto create = Call(kRegistryService, "CreateObserver");
  EXPECT_EQ(Value(text, "grpc_server_started_total", create), 4);
  EXPECT_EQ(Value(text, "grpc_server_handled_total", WithCode(create, "OK")), 3);
  EXPECT_EQ(Value(text, "grpc_server_handled_total", WithCode(create, "InvalidArgument")), 1);
  EXPECT_EQ(Value(text, "grpc_server_msg_received_total", create), 4);
  EXPECT_EQ(Value(text, "grpc_server_msg_sent_total", create), 3);
  EXPECT_EQ(Value(text, "grpc_server_handling_seconds_count", create), 4);
  EXPECT_EQ(Value(text, "grpc_server_handling_seconds_bucket",
                  [&] {
                    auto l = create;
                    l["le"] = "+Inf";
                    return l;
                  }()),
            4);
  const auto get = Call(kRegistryService, "GetElection");
  EXPECT_EQ(Value(text, "grpc_server_handled_total", WithCode(get, "NotFound")), 2);
  EXPECT_EQ(Value(text, "grpc_server_handled_total", WithCode(get, "OK")), 0);
  EXPECT_EQ(Value(text, "grpc_server_started_total", Call(kRegistryService, "CreateElection")), 1);

  // The subscriber's Watch stream is a server stream that has started and sends messages.
  const auto watch = Call(kRegistryService, "Watch", "server_stream");
  EXPECT_GE(Value(text, "grpc_server_started_total", watch), 1);

  // One access-log line per call, with method, code, duration and peer; never personal data.
  ASSERT_TRUE(PollUntil(
      [&] {
        return registry_->CountInOutput(
                   "\"method\":\"/observer.registry.v1.RegistryService/CreateObserver\"") == 4;
      },
      absl::Seconds(5)))
      << registry_->output();
  const std::string log = registry_->output();
  EXPECT_THAT(log, HasSubstr("\"code\":\"InvalidArgument\""));
  EXPECT_THAT(log, HasSubstr("\"peer\":\"ipv4:127.0.0.1:"));
  EXPECT_THAT(log, HasSubstr("\"duration_ms\":"));
  EXPECT_THAT(log, Not(HasSubstr(request.observer().id_document().number())));
  EXPECT_THAT(log, Not(HasSubstr(bad.observer().id_document().number())));
}

TEST_F(MetricsTest, ChannelzAnswersAndIsCounted) {
  // GetServersRequest{} (all fields zero): the servers of the process, here exactly one.
  ASSERT_OK_AND_ASSIGN(
      std::string servers,
      RawUnaryCall(registry_->channel(), "/grpc.channelz.v1.Channelz/GetServers", ""));
  EXPECT_FALSE(servers.empty());
  EXPECT_EQ(Value(Scrape(*registry_), "grpc_server_handled_total",
                  WithCode(Call("grpc.channelz.v1.Channelz", "GetServers"), "OK")),
            1);
}

TEST_F(MetricsTest, StatsCallsAreCounted) {
  StatsClient client(stats_->channel());
  sv1::GetSummaryRequest missing;
  missing.set_election("elections/none");
  EXPECT_EQ(client.GetSummary(missing).status().code(), absl::StatusCode::kNotFound);
  const std::string text = Scrape(*stats_);
  EXPECT_EQ(Value(text, "grpc_server_handled_total",
                  WithCode(Call(kStatsService, "GetSummary"), "NotFound")),
            1);
}

TEST_F(MetricsTest, ServiceMetricsFollowTheRegisterAndTheStream) {
  RegistryClient client(registry_->channel());
  rv1::CreateElectionRequest election = FutureElection("metrics-2");
  election.set_request_id("metrics-2-create");
  ASSERT_OK(client.CreateElection(election).status());
  ASSERT_OK(client.CreateElection(election).status());  // A replay: nothing new.
  for (int i = 0; i < 5; ++i) {
    ASSERT_OK(
        client.CreateObserver(NewObserverRequest(ElectionName("metrics-2"), NextSeq())).status());
  }
  ASSERT_OK_AND_ASSIGN(const int64_t head, client.HeadRevision());
  ASSERT_EQ(head, 6);

  const std::string text = Scrape(*registry_);
  EXPECT_EQ(Value(text, "registry_head_revision", {}), head);
  EXPECT_EQ(Value(text, "registry_compacted_revision", {}), 1);
  EXPECT_EQ(Value(text, "registry_idempotent_replays_total", {}), 1);
  // Seven write requests (the replay too reads its stored answer in a write transaction), in
  // at most seven groups.
  EXPECT_GE(Value(text, "registry_commits_total", {}), 1);
  EXPECT_LE(Value(text, "registry_commits_total", {}), 7);
  EXPECT_EQ(Value(text, "registry_commit_group_requests_sum", {}), 7);
  EXPECT_EQ(Value(text, "registry_commit_seconds_count", {}),
            Value(text, "registry_commits_total", {}));
  // One fdatasync covers one or more groups; every acknowledged write waited for one.
  EXPECT_GE(Value(text, "registry_wal_sync_seconds_count", {}), 1);
  EXPECT_LE(Value(text, "registry_wal_sync_seconds_count", {}),
            Value(text, "registry_commits_total", {}));
  EXPECT_EQ(Value(text, "registry_commit_failures_total", {{"kind", "io"}}), 0);
  EXPECT_EQ(Value(text, "registry_watchers", {}), 1) << "stats-service's subscription";
  EXPECT_GT(Value(text, "registry_store_size_bytes", {}), 4096);
  EXPECT_GT(Value(text, "registry_store_filesystem_avail_bytes", {}), 0);
  EXPECT_GE(Value(text, "registry_store_filesystem_size_bytes", {}),
            Value(text, "registry_store_filesystem_avail_bytes", {}));

  // Prometheus's own linter finds nothing in either exposition.
  for (const std::string& exposition : {text, Scrape(*stats_)}) {
    CommandOptions lint;
    lint.stdin_data = exposition;
    absl::StatusOr<CommandResult> r =
        RunCommand({"/bin/sh", "-c", "exec promtool check metrics"}, lint);
    ASSERT_OK(r.status());
    EXPECT_EQ(r->exit_code(), 0) << r->Describe();
    EXPECT_EQ(r->stdout_text + r->stderr_text, "") << r->Describe();
  }

  // stats-service catches up: applied = head, no lag, every live event counted.
  std::string stats;
  ASSERT_NO_FATAL_FAILURE(ScrapeStatsAt(head, &stats));
  EXPECT_EQ(Value(stats, "stats_registry_head_revision", {}), head);
  EXPECT_EQ(Value(stats, "stats_lag_revisions", {}), 0);
  EXPECT_EQ(Value(stats, "stats_lag_seconds", {}), 0);
  EXPECT_EQ(Value(stats, "stats_events_applied_total", {}), head);
  EXPECT_EQ(Value(stats, "stats_relists_total", {}), 0);
  EXPECT_EQ(Value(stats, "stats_ready", {}), 1);
  EXPECT_EQ(Value(stats, "stats_subscriber_connected", {}), 1);
  EXPECT_EQ(Value(stats, "stats_streaming_clients", {}), 0);

  // The registry frozen: stats keeps its figures; after it is gone, the stream is closed.
  ASSERT_OK(registry_->Stop().status());
  ASSERT_TRUE(PollUntil(
      [&] {
        stats = Scrape(*stats_);
        return SampleValue(stats, "stats_subscriber_connected").value_or(-1) == 0 &&
               SampleValue(stats, "stats_reconnects_total").value_or(0) >= 1;
      },
      absl::Seconds(10)))
      << stats;
  EXPECT_EQ(Value(stats, "stats_applied_revision", {}), head);
}

// The register's content as gauges: observers per election and status from the registry, and
// accredited observers by organisation, country and region from stats-service.
TEST_F(MetricsTest, ObserverCountsPerElectionStatusAndBreakdown) {
  RegistryClient client(registry_->channel());
  ASSERT_OK(client.CreateElection(FutureElection("metrics-4")).status());
  ASSERT_OK(client.CreateOrganisation(NewOrganisation("OSCE", "OSCE")).status());
  std::vector<std::string> names;
  for (const char* citizenship : {"DE", "DE", "DE", "FR", "FR"}) {
    ASSERT_OK_AND_ASSIGN(rv1::CreateObserverResponse created,
                         client.CreateObserver(NewObserverRequest(ElectionName("metrics-4"),
                                                                  NextSeq(), citizenship)));
    names.push_back(created.observer().name());
  }
  rv1::CreateObserverRequest from_osce =
      NewObserverRequest(ElectionName("metrics-4"), NextSeq(), "PL");
  from_osce.mutable_observer()->mutable_sending_body()->set_organisation("organisations/OSCE");
  ASSERT_OK_AND_ASSIGN(rv1::CreateObserverResponse osce, client.CreateObserver(from_osce));
  names.push_back(osce.observer().name());
  // Accredited: two from Germany, one from France, the one from OSCE. One German and one French
  // observer stay submitted.
  for (size_t i : {0, 1, 3, 5}) {
    rv1::AccreditObserverRequest accredit;
    accredit.set_name(names[i]);
    accredit.set_decision_reference("CEC-METRICS-1");
    ASSERT_OK(client.AccreditObserver(accredit).status());
  }
  ASSERT_OK_AND_ASSIGN(const int64_t head, client.HeadRevision());

  const std::string registry = Scrape(*registry_);
  EXPECT_EQ(
      Value(registry, "registry_observers", {{"election", "metrics-4"}, {"status", "ACCREDITED"}}),
      4);
  EXPECT_EQ(
      Value(registry, "registry_observers", {{"election", "metrics-4"}, {"status", "SUBMITTED"}}),
      2);
  EXPECT_EQ(SampleCount(registry, "registry_observers", {{"election", "metrics-4"}}), 2)
      << "statuses without observers have no series";

  std::string stats;
  ASSERT_NO_FATAL_FAILURE(ScrapeStatsAt(head, &stats));
  const auto accredited = [&](const std::string& dimension, const std::string& key) {
    return Value(stats, "stats_accredited_observers",
                 {{"election", "metrics-4"}, {"dimension", dimension}, {"key", key}});
  };
  EXPECT_EQ(accredited("country", "DE"), 2);
  EXPECT_EQ(accredited("country", "FR"), 1);
  EXPECT_EQ(accredited("organisation", "OSCE"), 1);
  EXPECT_EQ(accredited("region", "150"), 3) << "Europe (M49), by sending state";
  EXPECT_EQ(SampleCount(stats, "stats_accredited_observers",
                        {{"dimension", "region"}, {"key", "150"}, {"name", "Europe"}}),
            1)
      << "the key's English name for dashboards";
  EXPECT_EQ(SampleCount(stats, "stats_accredited_observers", {{"election", "metrics-4"}}), 4);

  // The only watcher, stats-service's subscription, is caught up.
  EXPECT_EQ(Value(Scrape(*registry_), "registry_watcher_max_lag_revisions", {}), 0);
}

// However many elections there are, registry_observers has series for the 20 with the most
// observers (ties by id) and one more, "_other", for the rest.
TEST_F(MetricsTest, ObserverCountSeriesAreBounded) {
  RegistryClient client(registry_->channel());
  for (int i = 0; i < 23; ++i) {
    const std::string id = absl::StrFormat("bound-%02d", i);
    ASSERT_OK(client.CreateElection(FutureElection(id)).status());
    for (int n = 0; n < (i >= 20 ? 2 : 1); ++n) {
      ASSERT_OK(client.CreateObserver(NewObserverRequest(ElectionName(id), NextSeq())).status());
    }
  }
  const std::string text = Scrape(*registry_);
  EXPECT_EQ(SampleCount(text, "registry_observers", {}), 21) << text;
  for (const char* shown : {"bound-00", "bound-16", "bound-20", "bound-22"}) {
    EXPECT_EQ(Value(text, "registry_observers", {{"election", shown}, {"status", "SUBMITTED"}}),
              shown[6] == '2' ? 2 : 1)
        << shown;
  }
  EXPECT_EQ(SampleCount(text, "registry_observers", {{"election", "bound-17"}}), 0);
  EXPECT_EQ(Value(text, "registry_observers", {{"election", "_other"}, {"status", "SUBMITTED"}}), 3)
      << "bound-17, bound-18 and bound-19";
}

// stats_accredited_observers covers the 10 elections with the most accredited observers (ties
// by id) and, per dimension, the 20 largest keys plus "_other" for the rest.
TEST_F(MetricsTest, AccreditedObserverSeriesAreBounded) {
  RegistryClient client(registry_->channel());
  const auto add_accredited = [&](const std::string& election, const std::string& state) {
    ASSERT_OK_AND_ASSIGN(
        rv1::CreateObserverResponse created,
        client.CreateObserver(NewObserverRequest(ElectionName(election), NextSeq(), state)));
    rv1::AccreditObserverRequest accredit;
    accredit.set_name(created.observer().name());
    accredit.set_decision_reference("CEC-METRICS-CAP");
    ASSERT_OK(client.AccreditObserver(accredit).status());
  };
  ASSERT_OK(client.CreateElection(FutureElection("cap-00")).status());
  for (const char* state : {"DE", "FR", "GB", "IT", "ES", "PL", "CZ", "SE", "NO", "FI", "DK",
                            "NL", "BE", "AT", "CH", "US", "CA", "JP", "KR", "TR", "IN"}) {
    ASSERT_NO_FATAL_FAILURE(add_accredited("cap-00", state));
  }
  for (int i = 1; i <= 10; ++i) {
    const std::string id = absl::StrFormat("cap-%02d", i);
    ASSERT_OK(client.CreateElection(FutureElection(id)).status());
    ASSERT_NO_FATAL_FAILURE(add_accredited(id, "DE"));
  }
  ASSERT_OK_AND_ASSIGN(const int64_t head, client.HeadRevision());
  std::string stats;
  ASSERT_NO_FATAL_FAILURE(ScrapeStatsAt(head, &stats));

  for (int i = 0; i <= 9; ++i) {
    EXPECT_GT(SampleCount(stats, "stats_accredited_observers",
                          {{"election", absl::StrFormat("cap-%02d", i)}}),
              0)
        << i;
  }
  EXPECT_EQ(SampleCount(stats, "stats_accredited_observers", {{"election", "cap-10"}}), 0)
      << "the eleventh election (ties broken by id) has no series";
  EXPECT_EQ(SampleCount(stats, "stats_accredited_observers",
                        {{"election", "cap-00"}, {"dimension", "country"}}),
            21);
  EXPECT_EQ(Value(stats, "stats_accredited_observers",
                  {{"election", "cap-00"}, {"dimension", "country"}, {"key", "_other"}}),
            1)
      << "21 countries of one observer each: 20 shown, one folded";
}

// Each service logs its effective configuration once at start-up, as one JSON line.
TEST_F(MetricsTest, StartupConfigIsLoggedOnce) {
  for (const ServiceProcess* p : {static_cast<const ServiceProcess*>(registry_.get()),
                                  static_cast<const ServiceProcess*>(stats_.get())}) {
    EXPECT_EQ(p->CountInOutput(R"("msg":"config")"), 1) << p->output_tail();
    EXPECT_EQ(p->CountInOutput(R"("metrics_listen":"127.0.0.1:0")"), 1) << p->output_tail();
    EXPECT_EQ(p->CountInOutput(R"("drain_period":)"), 1) << p->output_tail();
  }
  EXPECT_EQ(registry_->CountInOutput(R"("service":"registry","version":")"), 1);
  EXPECT_EQ(stats_->CountInOutput(absl::StrCat(R"("registry":")", registry_->address(), "\"")), 1)
      << stats_->output_tail();
}

// Every metric the deploy files (alert rules, dashboard) query exists in the services' output.
TEST_F(MetricsTest, DeployFilesQueryOnlyMetricsTheServicesExport) {
  RegistryClient client(registry_->channel());
  ASSERT_OK(client.CreateElection(FutureElection("metrics-3")).status());
  // One accredited observer, so that the per-election families have a series.
  ASSERT_OK_AND_ASSIGN(
      rv1::CreateObserverResponse created,
      client.CreateObserver(NewObserverRequest(ElectionName("metrics-3"), NextSeq())));
  rv1::AccreditObserverRequest accredit;
  accredit.set_name(created.observer().name());
  accredit.set_decision_reference("CEC-METRICS-3");
  ASSERT_OK(client.AccreditObserver(accredit).status());
  ASSERT_OK_AND_ASSIGN(const int64_t head, client.HeadRevision());
  std::string stats;
  ASSERT_NO_FATAL_FAILURE(ScrapeStatsAt(head, &stats));
  const std::string exported = Scrape(*registry_) + stats;
  std::set<std::string> names;
  static const std::regex kSample(R"re(^([a-z_]+)[{ ])re");
  for (absl::string_view line : absl::StrSplit(exported, '\n')) {
    std::smatch m;
    const std::string l(line);
    if (std::regex_search(l, m, kSample)) names.insert(m[1].str());
  }
  ASSERT_GT(names.size(), 20u);
  static const std::regex kQueried(R"re(\b((?:grpc_server|registry|stats|process)_[a-z_]+))re");
  for (const char* file :
       {"deploy/prometheus/alerts.yml", "deploy/grafana/observer-registry.json"}) {
    std::ifstream in(absl::StrCat(OBSERVER_SOURCE_DIR, "/", file));
    ASSERT_TRUE(in) << file;
    std::stringstream text;
    text << in.rdbuf();
    const std::string content = text.str();
    int queried = 0;
    for (std::sregex_iterator it(content.begin(), content.end(), kQueried), end; it != end; ++it) {
      const std::string name = (*it)[1].str();
      if (name == "stats_service" || name == "registry_service") continue;  // Not metrics.
      ++queried;
      EXPECT_TRUE(names.count(name) > 0)
          << file << " queries " << name << ", which neither service exports";
    }
    EXPECT_GT(queried, 5) << file;
  }
}

TEST(MetricsFlagsTest, BadOrBusyMetricsAddressIsRefused) {
  TempDir dir;
  absl::StatusOr<CommandResult> r =
      RunCommand({RegistryServiceBinary(), "--listen", "127.0.0.1:0", "--metrics-listen", "nowhere",
                  "--insecure-loopback", "--store", absl::StrCat("sqlite://", dir.Join("r.db"))},
                 CommandOptions{});
  ASSERT_OK(r.status());
  EXPECT_EQ(r->exit_code(), 2) << r->Describe();
  EXPECT_THAT(r->stderr_text, HasSubstr("metrics-listen"));

  // A port another process holds: exit 1 with the reason, before serving anything.
  RegistryProcess first(dir.path());
  ASSERT_OK(first.Start());
  TempDir other;
  r = RunCommand({RegistryServiceBinary(), "--listen", "127.0.0.1:0", "--metrics-listen",
                  first.metrics_address(), "--insecure-loopback", "--store",
                  absl::StrCat("sqlite://", other.Join("r.db"))},
                 CommandOptions{});
  ASSERT_OK(r.status());
  EXPECT_EQ(r->exit_code(), 1) << r->Describe();
  EXPECT_THAT(r->stderr_text, HasSubstr("cannot serve metrics"));
  EXPECT_THAT(r->stderr_text, Not(HasSubstr("\"msg\":\"serving\"")));
}

}  // namespace
}  // namespace observer::testing
