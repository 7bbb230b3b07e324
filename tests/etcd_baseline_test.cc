// The etcd baseline of the benchmarks (tools/loadgen/etcd): the launcher starts a real
// single-node etcd on free loopback ports and stops it; the etcd_put scenario, driven by the
// load generator, stores what it sends (read back with our minimal proto's Range).
//
// Needs /usr/bin/etcd (Debian etcd-server, scripts/deps.sh): skipped without it, except under
// CI (the CI environment variable set), where a missing etcd is a failure.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "tools/loadgen/etcd/etcd_kv.grpc.pb.h"
#include "tools/loadgen/etcd/etcd_process.h"
#include "tools/loadgen/loadgen.h"
#include "tools/loadgen/scenarios.h"

namespace observer::loadgen {
namespace {

bool PathExists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

class EtcdBaselineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!EtcdProcess::Available()) {
      if (std::getenv("CI") != nullptr) {
        FAIL() << kDefaultEtcdBinary
               << " is missing (apt-get install etcd-server; scripts/deps.sh)";
      }
      GTEST_SKIP() << kDefaultEtcdBinary << " is missing (apt-get install etcd-server)";
    }
    std::string dir_template = ::testing::TempDir() + "etcd_baseline_test-XXXXXX";
    ASSERT_NE(mkdtemp(dir_template.data()), nullptr) << dir_template << ": " << errno;
    dir_ = dir_template;
  }

  void TearDown() override {
    // The launchers remove their data directories, which are all that is in here.
    if (!dir_.empty()) {
      EXPECT_EQ(rmdir(dir_.c_str()), 0) << dir_ << " is not empty";
    }
  }

  std::unique_ptr<EtcdProcess> StartEtcd() {
    EtcdOptions options;
    options.parent_dir = dir_;
    absl::StatusOr<std::unique_ptr<EtcdProcess>> etcd = EtcdProcess::Start(options);
    EXPECT_TRUE(etcd.ok()) << etcd.status();
    return etcd.ok() ? std::move(*etcd) : nullptr;
  }

  std::string dir_;
};

TEST_F(EtcdBaselineTest, PutLoadIsStoredByEtcd) {
  std::unique_ptr<EtcdProcess> etcd = StartEtcd();
  ASSERT_NE(etcd, nullptr);
  constexpr int kPayloadBytes = 300;
  std::unique_ptr<Scenario> scenario =
      MakeEtcdPutScenario(MakeChannels(etcd->client_target(), 2), kPayloadBytes);
  EXPECT_EQ(scenario->name(), "etcd_put");
  LoadOptions options;
  options.channels = 2;
  options.in_flight_per_channel = 8;
  options.warmup = absl::Milliseconds(200);
  options.duration = absl::Seconds(1);
  absl::StatusOr<LoadResult> result = RunLoad(*scenario, options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_GT(result->ok, 0);
  EXPECT_EQ(result->error_count(), 0) << result->first_error;
  EXPECT_EQ(result->in_flight, 16);
  EXPECT_EQ(result->extra["value_bytes"], kPayloadBytes);
  EXPECT_GT(result->extra["request_bytes"], kPayloadBytes);

  // Every call created its own key under /bench/: at least as many keys as measured calls
  // (the warm-up's are there too), each with a value of the payload size.
  std::unique_ptr<etcdserverpb::KV::Stub> kv =
      etcdserverpb::KV::NewStub(MakeChannels(etcd->client_target(), 1)[0]);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  etcdserverpb::RangeRequest range;
  range.set_key("/bench/");
  range.set_range_end("/bench0");  // '/' + 1: every key with the prefix.
  range.set_limit(1);
  etcdserverpb::RangeResponse response;
  const grpc::Status status = kv->Range(&context, range, &response);
  ASSERT_TRUE(status.ok()) << status.error_code() << ": " << status.error_message();
  EXPECT_GE(response.count(), result->ok);
  EXPECT_GT(response.header().revision(), result->ok);
  ASSERT_EQ(response.kvs_size(), 1);
  EXPECT_EQ(response.kvs(0).value().size(), static_cast<size_t>(kPayloadBytes));
  EXPECT_EQ(response.kvs(0).version(), 1);  // Created, never overwritten.
  EXPECT_TRUE(response.more());

  EXPECT_TRUE(etcd->Stop().ok());
}

TEST_F(EtcdBaselineTest, InstancesGetTheirOwnPortsAndStopCleanly) {
  std::unique_ptr<EtcdProcess> first = StartEtcd();
  std::unique_ptr<EtcdProcess> second = StartEtcd();
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  EXPECT_NE(first->client_port(), second->client_port());
  EXPECT_NE(first->client_port(), first->peer_port());
  EXPECT_NE(first->client_port(), 2379);  // Never etcd's well-known ports.
  EXPECT_EQ(first->client_target(), "127.0.0.1:" + std::to_string(first->client_port()));
  EXPECT_TRUE(first->Running());
  EXPECT_TRUE(PathExists(first->data_dir() + "/member"));
  EXPECT_NE(first->output().find("elected leader"), std::string::npos) << first->output();

  const pid_t pid = first->pid();
  const std::string data_dir = first->data_dir();
  absl::Status stopped = first->Stop();
  EXPECT_TRUE(stopped.ok()) << stopped;
  EXPECT_FALSE(first->Running());
  EXPECT_NE(kill(pid, 0), 0);  // Reaped: no such process (pids are not reused this fast).
  EXPECT_FALSE(PathExists(data_dir));
  EXPECT_TRUE(first->Stop().ok());  // Again: nothing to do.
  EXPECT_TRUE(second->Running());   // The other one is untouched.
}

TEST_F(EtcdBaselineTest, AnEtcdThatDiesIsReportedWhenStopped) {
  std::unique_ptr<EtcdProcess> etcd = StartEtcd();
  ASSERT_NE(etcd, nullptr);
  ASSERT_EQ(kill(etcd->pid(), SIGKILL), 0);
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (etcd->Running() && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(10));
  EXPECT_FALSE(etcd->Running());
  absl::Status stopped = etcd->Stop();
  EXPECT_FALSE(stopped.ok());
  EXPECT_NE(stopped.message().find("signal 9"), absl::string_view::npos) << stopped;
}

TEST(EtcdProcessTest, AMissingBinaryIsAFailedPrecondition) {
  EtcdOptions options;
  options.binary = "/nonexistent/etcd";
  absl::StatusOr<std::unique_ptr<EtcdProcess>> etcd = EtcdProcess::Start(options);
  EXPECT_EQ(etcd.status().code(), absl::StatusCode::kFailedPrecondition) << etcd.status();
  EXPECT_FALSE(EtcdProcess::Available("/nonexistent/etcd"));
}

TEST_F(EtcdBaselineTest, AFailedStartCarriesEtcdsOutput) {
  // An unknown flag: etcd prints its complaint and exits at once.
  EtcdOptions options;
  options.parent_dir = dir_;
  options.extra_args = {"--no-such-flag"};
  absl::StatusOr<std::unique_ptr<EtcdProcess>> etcd = EtcdProcess::Start(options);
  ASSERT_FALSE(etcd.ok());
  EXPECT_NE(etcd.status().message().find("no-such-flag"), absl::string_view::npos) << etcd.status();
}

}  // namespace
}  // namespace observer::loadgen
