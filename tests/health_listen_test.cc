// The plaintext health-only port (--health-listen, common/grpc_server.cc), for probes that
// cannot speak TLS (Kubernetes' `grpc:` probes): a registry serving mutual TLS answers
// grpc.health.v1.Health/Check in plaintext on that port exactly as its main server does (the
// whole server, its service by name, NOT_FOUND for an unknown name, NOT_SERVING from the drain
// on) and serves nothing else there (its own methods, reflection and channelz are
// UNIMPLEMENTED); stats-service's health port follows its readiness (NOT_SERVING until the first
// sync); a bad --health-listen is refused at start.
//
// Real processes on loopback, every wait bounded. The health port is taken from
// FreeLoopbackPort (the harness reads only the main and metrics addresses from the "serving"
// line); a start that loses the port to someone else is retried on another.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/health_client.h"
#include "tests/harness/command.h"
#include "tests/harness/registry_process.h"
#include "tests/harness/service_process.h"
#include "tests/harness/stats_process.h"
#include "tests/harness/status_matchers.h"
#include "tests/harness/temp_dir.h"
#include "tests/harness/test_pki.h"

#ifndef OBSERVER_SOURCE_DIR
#error "OBSERVER_SOURCE_DIR must name the source tree (for deploy/policy)"
#endif

namespace observer::testing {
namespace {

constexpr char kRegistryService[] = "observer.registry.v1.RegistryService";
constexpr char kStatsService[] = "observer.stats.v1.StatsService";
constexpr char kExamplePolicy[] = OBSERVER_SOURCE_DIR "/deploy/policy/example-policy.json";
// grpc.reflection.v1alpha.ServerReflectionRequest{list_services: ""}: field 7, length 0.
constexpr char kListServicesRequest[] = "\x3a\x00";
constexpr char kReflectionMethod[] =
    "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo";

std::string HealthOf(const std::shared_ptr<grpc::Channel>& channel,
                     const std::string& service = "") {
  absl::StatusOr<HealthStatus> h = CheckHealth(channel, absl::Seconds(2), service);
  return h.ok() ? HealthStatusName(*h) : h.status().ToString();
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

// Starts `make(health_address)` with a free loopback port as its health port: the process
// and its health address. Retries on another port when the one picked was taken meanwhile.
template <typename Process, typename Make>
std::unique_ptr<Process> StartWithHealthPort(Make make, std::string* health_address) {
  absl::Status last;
  for (int attempt = 0; attempt < 5; ++attempt) {
    const int port = MUST(FreeLoopbackPort());
    *health_address = absl::StrCat("127.0.0.1:", port);
    std::unique_ptr<Process> process = make(*health_address);
    last = process->Start();
    if (last.ok()) return process;
    if (!absl::StrContains(process->output(), "cannot listen")) break;
  }
  ADD_FAILURE() << "cannot start with --health-listen " << *health_address << ": " << last;
  return nullptr;
}

class HealthListenTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (HasFailure()) PrintOutputTails({registry_.get(), stats_.get()});
    stats_.reset();
    registry_.reset();
  }

  // A registry-service with mutual TLS and the example policy, its health-only port on
  // *health_address; `extra` flags appended.
  void StartTlsRegistry(TestPki& pki, std::string* health_address,
                        const std::vector<std::string>& extra = {}) {
    registry_ = StartWithHealthPort<RegistryProcess>(
        [&](const std::string& health) {
          std::vector<std::string> args = pki.ServerFlags("registry", kExamplePolicy);
          args.insert(args.end(), {"--health-listen", health, "--metrics-listen", "127.0.0.1:0"});
          args.insert(args.end(), extra.begin(), extra.end());
          return std::make_unique<RegistryProcess>(dir_.path(), args);
        },
        health_address);
  }

  TempDir dir_;
  std::unique_ptr<RegistryProcess> registry_;
  std::unique_ptr<StatsProcess> stats_;
};

TEST_F(HealthListenTest, TlsRegistryAnswersHealthInPlaintextOnTheHealthPortAndNothingElse) {
  TestPki pki(dir_.Join("pki"));
  ASSERT_OK(pki.Issue({"registry:localhost", "registrar"}));
  std::string health_address;
  StartTlsRegistry(pki, &health_address);
  ASSERT_NE(registry_, nullptr);
  EXPECT_GE(registry_->CountInOutput(absl::StrCat("\"health_address\":\"", health_address, "\"")),
            1)
      << "the serving line does not announce the health port";

  // Plaintext on the health port: the same answers as the main server's health service.
  const std::shared_ptr<grpc::Channel> health = PlaintextChannel(health_address);
  EXPECT_EQ(HealthOf(health), "SERVING");
  EXPECT_EQ(HealthOf(health, kRegistryService), "SERVING");
  EXPECT_THAT(CheckHealth(health, absl::Seconds(2), "no.such.Service"),
              StatusIs(absl::StatusCode::kNotFound));
  const std::shared_ptr<grpc::Channel> main = MUST(pki.Channel(registry_->address(), "registrar"));
  EXPECT_EQ(HealthOf(main), "SERVING");
  EXPECT_EQ(HealthOf(main, kRegistryService), "SERVING");
  EXPECT_THAT(CheckHealth(main, absl::Seconds(2), "no.such.Service"),
              StatusIs(absl::StatusCode::kNotFound));

  // Nothing but health there: the registry's methods, reflection and channelz are unknown.
  for (const std::string& method : {absl::StrCat("/", kRegistryService, "/ListElections"),
                                    absl::StrCat("/", kRegistryService, "/GetElection"),
                                    absl::StrCat("/", kRegistryService, "/CreateElection"),
                                    std::string("/grpc.channelz.v1.Channelz/GetTopChannels"),
                                    std::string("/grpc.channelz.v1.Channelz/GetServers")}) {
    EXPECT_THAT(RawUnaryCall(health, method, "", absl::Seconds(2)),
                StatusIs(absl::StatusCode::kUnimplemented))
        << method << " on the health port";
  }
  EXPECT_THAT(RawUnaryCall(health, kReflectionMethod, std::string(kListServicesRequest, 2),
                           absl::Seconds(2)),
              StatusIs(absl::StatusCode::kUnimplemented))
      << "reflection on the health port";
  // ... while the main server (over TLS) has reflection: the check above can tell.
  EXPECT_THAT(
      RawUnaryCall(main, kReflectionMethod, std::string(kListServicesRequest, 2), absl::Seconds(5)),
      IsOk());
  // The main port still takes no plaintext.
  EXPECT_THAT(CheckHealth(PlaintextChannel(registry_->address()), absl::Seconds(2)),
              StatusIs(absl::StatusCode::kUnavailable));
}

TEST_F(HealthListenTest, HealthPortIsNotServingThroughTheDrainThenCloses) {
  TestPki pki(dir_.Join("pki"));
  ASSERT_OK(pki.Issue({"registry:localhost", "registrar"}));
  std::string health_address;
  const absl::Duration drain = absl::Seconds(4);
  StartTlsRegistry(pki, &health_address, {"--drain-period", absl::FormatDuration(drain)});
  ASSERT_NE(registry_, nullptr);
  const std::shared_ptr<grpc::Channel> health = PlaintextChannel(health_address);
  ASSERT_EQ(HealthOf(health), "SERVING");

  ASSERT_EQ(kill(registry_->pid(), SIGTERM), 0);
  ASSERT_TRUE(WaitHealth(health, HealthStatus::kNotServing, drain / 2))
      << "the health port says " << HealthOf(health) << " after SIGTERM";
  EXPECT_FALSE(registry_->exited()) << "the drain is not over yet";
  EXPECT_EQ(HealthOf(health, kRegistryService), "NOT_SERVING");
  EXPECT_EQ(HealthOf(PlaintextChannel(health_address)), "NOT_SERVING") << "on a new connection";

  ASSERT_TRUE(registry_->WaitForExit(drain + absl::Seconds(30)));
  ASSERT_OK_AND_ASSIGN(ExitResult exit, registry_->Stop(absl::Seconds(5)));
  EXPECT_EQ(exit.exit_code(), 0) << exit.Describe();
  EXPECT_THAT(CheckHealth(PlaintextChannel(health_address), absl::Seconds(2)),
              StatusIs(absl::StatusCode::kUnavailable));
}

TEST_F(HealthListenTest, StatsHealthPortFollowsItsReadiness) {
  registry_ = std::make_unique<RegistryProcess>(
      dir_.path(), TestRegistryFlags({"--insecure-loopback", "--metrics-listen", "127.0.0.1:0"}));
  ASSERT_OK(registry_->Start());
  // Frozen: stats-service cannot sync until it is resumed.
  ASSERT_OK(registry_->Pause());
  std::string health_address;
  stats_ = StartWithHealthPort<StatsProcess>(
      [&](const std::string& health) {
        return std::make_unique<StatsProcess>(
            registry_->address(), TestStatsFlags({"--insecure-loopback", "--metrics-listen",
                                                  "127.0.0.1:0", "--health-listen", health}));
      },
      &health_address);
  ASSERT_NE(stats_, nullptr);
  const std::shared_ptr<grpc::Channel> health = PlaintextChannel(health_address);
  EXPECT_EQ(HealthOf(health), "NOT_SERVING");
  EXPECT_EQ(HealthOf(health, kStatsService), "NOT_SERVING");
  EXPECT_EQ(HealthOf(stats_->channel()), "NOT_SERVING");

  ASSERT_OK(registry_->Resume());
  ASSERT_TRUE(WaitHealth(health, HealthStatus::kServing, absl::Seconds(30)))
      << "the health port says " << HealthOf(health) << " after the registry resumed";
  EXPECT_EQ(HealthOf(health, kStatsService), "SERVING");
  EXPECT_EQ(HealthOf(stats_->channel()), "SERVING");
  EXPECT_THAT(
      RawUnaryCall(health, absl::StrCat("/", kStatsService, "/GetSummary"), "", absl::Seconds(2)),
      StatusIs(absl::StatusCode::kUnimplemented));
}

TEST_F(HealthListenTest, BadHealthListenIsRefusedAtStart) {
  struct Case {
    std::string binary;
    std::vector<std::string> args;
    std::string reason;
  };
  const std::string store = absl::StrCat("sqlite://", dir_.Join("refused.db"));
  const std::vector<Case> cases = {
      {RegistryServiceBinary(),
       {"--insecure-loopback", "--store", store, "--health-listen", "localhost"},
       "--health-listen: invalid listen address \"localhost\": missing ':port'"},
      {RegistryServiceBinary(),
       {"--insecure-loopback", "--store", store, "--listen", "127.0.0.1:50999", "--health-listen",
        "127.0.0.1:50999"},
       "is the --listen address"},
      {StatsServiceBinary(),
       {"--insecure-loopback", "--health-listen", "127.0.0.1:99999"},
       "--health-listen: invalid listen address \"127.0.0.1:99999\""},
  };
  for (const Case& c : cases) {
    std::vector<std::string> argv = {c.binary};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    ASSERT_OK_AND_ASSIGN(ExitResult r, RunToExit(argv, absl::Seconds(30)));
    EXPECT_EQ(r.exit_code(), 2) << r.Describe();
    EXPECT_THAT(r.output, ::testing::HasSubstr(c.reason)) << r.Describe();
  }
  // Refused before the store is opened (or created).
  EXPECT_FALSE(std::filesystem::exists(dir_.Join("refused.db")));
}

TEST_F(HealthListenTest, HelpListsTheFlagForBothServices) {
  const std::vector<std::pair<std::string, std::string>> services = {
      {RegistryServiceBinary(), "REGISTRY_HEALTH_LISTEN"},
      {StatsServiceBinary(), "STATS_HEALTH_LISTEN"}};
  for (const auto& [binary, env] : services) {
    ASSERT_OK_AND_ASSIGN(ExitResult r, RunToExit({binary, "--help"}, absl::Seconds(30)));
    EXPECT_EQ(r.exit_code(), 0) << r.Describe();
    EXPECT_THAT(r.output, ::testing::HasSubstr("--health-listen")) << r.Describe();
    EXPECT_THAT(r.output, ::testing::HasSubstr(env)) << r.Describe();
    EXPECT_THAT(r.output, ::testing::HasSubstr("grpc.health.v1.Health only")) << r.Describe();
  }
}

}  // namespace
}  // namespace observer::testing
