// The load generator (tools/loadgen) against the real echo-server, registry-service and
// stats-service binaries on loopback: what the engine counts (calls, errors by code, latency
// percentiles, slots, the paced schedule), its JSON, and that each scenario does real work
// without errors. No assertion depends on how fast the machine is.
#include "tools/loadgen/loadgen.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "observer/registry/v1/registry_service.grpc.pb.h"
#include "tests/harness/registry_process.h"
#include "tests/harness/service_process.h"
#include "tests/harness/stats_process.h"
#include "tests/harness/status_matchers.h"
#include "tests/harness/temp_dir.h"
#include "tools/loadgen/scenarios.h"

namespace observer::testing {
namespace {

namespace loadgen = ::observer::loadgen;
namespace rv1 = ::observer::registry::v1;

std::string EchoServerBinary() {
#ifdef ECHO_SERVER_BINARY
  return BinaryPath("ECHO_SERVER_BINARY", ECHO_SERVER_BINARY);
#else
  return BinaryPath("ECHO_SERVER_BINARY", "");
#endif
}

// As the benchmarks run the services (the harness needs the "serving" line, logged at info).
std::vector<std::string> BenchFlags(std::vector<std::string> extra = {}) {
  std::vector<std::string> flags = {"--rate-limit", "0"};
  flags.insert(flags.end(), extra.begin(), extra.end());
  return flags;
}

class EchoProcess : public ServiceProcess {
 public:
  EchoProcess()
      : ServiceProcess("echo-server", EchoServerBinary(), "ECHO_SERVER_BINARY", [] {
          return BenchFlags({"--drain-period", "100ms"});
        }) {}
};

loadgen::LoadOptions Short(int channels, int per_channel) {
  loadgen::LoadOptions options;
  options.channels = channels;
  options.in_flight_per_channel = per_channel;
  options.warmup = absl::Milliseconds(200);
  options.duration = absl::Seconds(1);
  return options;
}

void ExpectOrderedPercentiles(const loadgen::LoadResult& r) {
  EXPECT_GT(r.p50_ms, 0);
  EXPECT_LE(r.p50_ms, r.p90_ms);
  EXPECT_LE(r.p90_ms, r.p99_ms);
  EXPECT_LE(r.p99_ms, r.p999_ms);
  EXPECT_LE(r.p999_ms, r.max_ms);
  EXPECT_GT(r.mean_ms, 0);
  EXPECT_LE(r.mean_ms, r.max_ms);
}

void ExpectNoErrors(const loadgen::LoadResult& r) {
  EXPECT_EQ(r.error_count(), 0) << r.first_error;
  EXPECT_TRUE(r.errors.empty());
  EXPECT_EQ(r.first_error, "");
}

google::protobuf::Struct ParseJson(const std::string& json) {
  google::protobuf::Struct parsed;
  const auto status = google::protobuf::util::JsonStringToMessage(json, &parsed);
  EXPECT_TRUE(status.ok()) << status.ToString() << "\n" << json;
  return parsed;
}

// Every observer of `election`, page by page.
int64_t CountObservers(const std::shared_ptr<grpc::Channel>& channel, const std::string& election) {
  auto stub = rv1::RegistryService::NewStub(channel);
  int64_t count = 0;
  std::string token;
  do {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
    rv1::ListObserversRequest request;
    request.set_parent("elections/" + election);
    request.set_page_size(1000);
    request.set_page_token(token);
    rv1::ListObserversResponse response;
    const grpc::Status status = stub->ListObservers(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    if (!status.ok()) return -1;
    count += response.observers_size();
    token = response.next_page_token();
  } while (!token.empty());
  return count;
}

// --- The engine, against echo-server ---------------------------------------------------------

class EchoLoadTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_OK(echo_.Start()); }
  void TearDown() override {
    if (HasFailure()) PrintOutputTails({&echo_});
  }

  EchoProcess echo_;
};

TEST_F(EchoLoadTest, ClosedLoopCountsEveryCallWithOrderedPercentiles) {
  auto scenario = loadgen::MakeEchoScenario(loadgen::MakeChannels(echo_.address(), 2),
                                            loadgen::TypicalCreateRequestBytes());
  ASSERT_OK_AND_ASSIGN(loadgen::LoadResult r, loadgen::RunLoad(*scenario, Short(2, 4)));
  EXPECT_EQ(r.scenario, "echo");
  EXPECT_EQ(r.channels, 2);
  EXPECT_EQ(r.in_flight, 8);
  EXPECT_EQ(r.rate, 0);
  EXPECT_DOUBLE_EQ(r.seconds, 1.0);
  EXPECT_GT(r.ok, 0);
  EXPECT_DOUBLE_EQ(r.per_second(), static_cast<double>(r.ok));
  ExpectNoErrors(r);
  ExpectOrderedPercentiles(r);
  EXPECT_EQ(r.extra["payload_bytes"], loadgen::TypicalCreateRequestBytes());
  EXPECT_GT(r.extra["request_bytes"], r.extra["payload_bytes"]);
}

TEST_F(EchoLoadTest, EverySlotHasItsOwnSlotNumberAndChannel) {
  // A scenario that checks the engine's promise: a slot never has two calls at once.
  class Checking : public loadgen::Scenario {
   public:
    explicit Checking(std::unique_ptr<loadgen::Scenario> inner) : inner_(std::move(inner)) {}
    std::string name() const override { return "checking"; }
    void Issue(int channel, int slot, int64_t sequence,
               std::function<void(const grpc::Status&)> done) override {
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (!busy_.insert(slot).second) ++overlaps_;
        channels_.insert(channel);
        if (slot / 3 != channel) ++wrong_channel_;
        slots_.insert(slot);
      }
      inner_->Issue(channel, slot, sequence, [this, slot, done](const grpc::Status& status) {
        {
          std::lock_guard<std::mutex> lock(mu_);
          busy_.erase(slot);
        }
        done(status);
      });
    }
    std::mutex mu_;
    std::set<int> busy_, channels_, slots_;
    int overlaps_ = 0, wrong_channel_ = 0;

   private:
    std::unique_ptr<loadgen::Scenario> inner_;
  };
  Checking scenario(loadgen::MakeEchoScenario(loadgen::MakeChannels(echo_.address(), 2), 64));
  ASSERT_OK_AND_ASSIGN(loadgen::LoadResult r, loadgen::RunLoad(scenario, Short(2, 3)));
  ExpectNoErrors(r);
  EXPECT_EQ(r.in_flight, 6);
  std::lock_guard<std::mutex> lock(scenario.mu_);
  EXPECT_EQ(scenario.overlaps_, 0);
  EXPECT_EQ(scenario.wrong_channel_, 0);
  EXPECT_EQ(scenario.slots_, (std::set<int>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(scenario.channels_, (std::set<int>{0, 1}));
  EXPECT_TRUE(scenario.busy_.empty()) << "RunLoad returned before every call completed";
}

TEST_F(EchoLoadTest, PacedRunSendsNoMoreThanTheSchedule) {
  auto scenario = loadgen::MakeEchoScenario(loadgen::MakeChannels(echo_.address(), 1), 100);
  loadgen::LoadOptions options = Short(1, 8);
  options.rate = 200;
  ASSERT_OK_AND_ASSIGN(loadgen::LoadResult r, loadgen::RunLoad(*scenario, options));
  EXPECT_GT(r.ok, 0);
  // 200 calls are scheduled in the 1 s window; a few more for rounding, never a burst.
  EXPECT_LE(r.ok + r.error_count(), 200 + 5);
  EXPECT_EQ(r.rate, 200);
  ExpectNoErrors(r);
  ExpectOrderedPercentiles(r);
  EXPECT_TRUE(r.extra.count("unsent_calls"));
}

TEST_F(EchoLoadTest, FailedCallsAreCountedByCodeWithTheFirstMessage) {
  const std::string address = echo_.address();
  ASSERT_OK(echo_.Stop());
  auto scenario = loadgen::MakeEchoScenario(loadgen::MakeChannels(address, 1), 10);
  loadgen::LoadOptions options = Short(1, 2);
  options.duration = absl::Milliseconds(500);
  ASSERT_OK_AND_ASSIGN(loadgen::LoadResult r, loadgen::RunLoad(*scenario, options));
  EXPECT_EQ(r.ok, 0);
  EXPECT_GT(r.errors[grpc::StatusCode::UNAVAILABLE], 0);
  EXPECT_EQ(r.error_count(), r.errors[grpc::StatusCode::UNAVAILABLE]);
  EXPECT_TRUE(absl::StartsWith(r.first_error, "UNAVAILABLE: ")) << r.first_error;

  const google::protobuf::Struct json = ParseJson(loadgen::ToJson(r));
  EXPECT_EQ(json.fields().at("errors").struct_value().fields().at("UNAVAILABLE").number_value(),
            static_cast<double>(r.error_count()));
  EXPECT_EQ(json.fields().at("error_count").number_value(), static_cast<double>(r.error_count()));
}

TEST_F(EchoLoadTest, JsonIsOneParseableLineWithEveryField) {
  auto scenario = loadgen::MakeEchoScenario(loadgen::MakeChannels(echo_.address(), 1), 50);
  ASSERT_OK_AND_ASSIGN(loadgen::LoadResult r, loadgen::RunLoad(*scenario, Short(1, 2)));
  r.errors[grpc::StatusCode::RESOURCE_EXHAUSTED] = 3;
  r.errors[grpc::StatusCode::DEADLINE_EXCEEDED] = 1;
  r.first_error = "RESOURCE_EXHAUSTED: \"quoted\"\tand\nnewline \xff bad byte, caf\xc3\xa9";
  const std::string line = loadgen::ToJson(r);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  const google::protobuf::Struct json = ParseJson(line);
  const auto& f = json.fields();
  for (const char* field : {"scenario", "channels", "in_flight", "rate", "seconds", "ok",
                            "per_second", "error_count", "errors", "first_error", "p50_ms",
                            "p90_ms", "p99_ms", "p999_ms", "max_ms", "mean_ms", "extra"}) {
    EXPECT_TRUE(f.count(field)) << field << " missing in " << line;
  }
  EXPECT_EQ(f.at("scenario").string_value(), "echo");
  EXPECT_EQ(f.at("ok").number_value(), static_cast<double>(r.ok));
  EXPECT_EQ(f.at("errors").struct_value().fields().at("RESOURCE_EXHAUSTED").number_value(), 3);
  EXPECT_EQ(f.at("errors").struct_value().fields().at("DEADLINE_EXCEEDED").number_value(), 1);
  EXPECT_EQ(f.at("error_count").number_value(), 4);
  EXPECT_TRUE(absl::StrContains(f.at("first_error").string_value(), "\"quoted\"\tand\nnewline"));
  EXPECT_TRUE(absl::StrContains(f.at("first_error").string_value(), "caf\xc3\xa9"));
  EXPECT_EQ(f.at("extra").struct_value().fields().at("payload_bytes").number_value(), 50);
  EXPECT_NEAR(f.at("p50_ms").number_value(), r.p50_ms, 0.001);

  const std::string table = loadgen::ToTable({r, r});
  EXPECT_TRUE(absl::StrContains(table, "P99.9 MS")) << table;
  EXPECT_TRUE(absl::StrContains(table, "RESOURCE_EXHAUSTED 3")) << table;
}

TEST(LoadOptionsTest, OutOfRangeOptionsAreRefused) {
  auto scenario = loadgen::MakeEchoScenario(loadgen::MakeChannels("127.0.0.1:1", 1), 10);
  loadgen::LoadOptions options = Short(1, 1);
  options.in_flight_per_channel = 0;
  EXPECT_THAT(loadgen::RunLoad(*scenario, options), StatusIs(absl::StatusCode::kInvalidArgument));
  options = Short(1, 1);
  options.duration = absl::ZeroDuration();
  EXPECT_THAT(loadgen::RunLoad(*scenario, options), StatusIs(absl::StatusCode::kInvalidArgument));
  options = Short(1, 1);
  options.rate = -1;
  EXPECT_THAT(loadgen::RunLoad(*scenario, options), StatusIs(absl::StatusCode::kInvalidArgument));
}

// --- Observers -------------------------------------------------------------------------------

bool IsLatin(const std::string& name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (!absl::ascii_isalpha(c) && c != ' ' && c != '-' && c != '\'' && c != '.') return false;
  }
  return true;
}

TEST(MakeObserverTest, DocumentNumbersAreUniqueAndPeopleRealistic) {
  constexpr int kCount = 10000;
  std::set<std::string> numbers;
  std::set<std::string> citizenships;
  std::set<std::string> full_names;
  int by_organisation = 0;
  for (int n = 0; n < kCount; ++n) {
    const rv1::Observer o = loadgen::MakeObserver(n, 42);
    numbers.insert(o.id_document().number());
    citizenships.insert(o.citizenship());
    full_names.insert(o.latin_given_names() + " " + o.latin_family_name());
    if (o.sending_body().has_organisation()) ++by_organisation;
    ASSERT_TRUE(IsLatin(o.latin_given_names())) << o.ShortDebugString();
    ASSERT_TRUE(IsLatin(o.latin_family_name())) << o.ShortDebugString();
    ASSERT_FALSE(o.given_names().empty());
    ASSERT_FALSE(o.family_name().empty());
    ASSERT_NE(o.citizenship(), "KZ");
    ASSERT_LE(o.id_document().number().size(), 32u);
    ASSERT_EQ(o.id_document().issuing_country(), o.citizenship());
    ASSERT_NE(o.category(), rv1::OBSERVER_CATEGORY_UNSPECIFIED);
  }
  EXPECT_EQ(numbers.size(), static_cast<size_t>(kCount));
  EXPECT_GE(citizenships.size(), 15u);
  EXPECT_GT(full_names.size(), static_cast<size_t>(kCount / 2));
  // About four in five sent by organisations.
  EXPECT_GT(by_organisation, kCount * 70 / 100);
  EXPECT_LT(by_organisation, kCount * 90 / 100);
  // Deterministic by (n, salt); another salt gives other documents.
  EXPECT_EQ(loadgen::MakeObserver(7, 42).SerializeAsString(),
            loadgen::MakeObserver(7, 42).SerializeAsString());
  EXPECT_EQ(numbers.count(loadgen::MakeObserver(7, 43).id_document().number()), 0u);
}

// A part that answers at once (inside Issue), counting its calls.
class InstantScenario : public loadgen::Scenario {
 public:
  explicit InstantScenario(std::string name) : name_(std::move(name)) {}
  std::string name() const override { return name_; }
  absl::Status Prepare() override {
    ++prepared;
    return absl::OkStatus();
  }
  void Issue(int, int, int64_t sequence, std::function<void(const grpc::Status&)> done) override {
    sequences.push_back(sequence);
    done(grpc::Status::OK);
  }
  std::map<std::string, double> Extra() const override {
    return {{"calls", 1.0 * sequences.size()}};
  }

  int prepared = 0;
  std::vector<int64_t> sequences;

 private:
  const std::string name_;
};

TEST(MixScenarioTest, ChoosesPartsByWeightDeterministically) {
  auto split = [](int calls) {
    std::vector<std::pair<double, std::unique_ptr<loadgen::Scenario>>> parts;
    parts.emplace_back(1, std::make_unique<InstantScenario>("a"));
    parts.emplace_back(3, std::make_unique<InstantScenario>("b"));
    parts.emplace_back(0, std::make_unique<InstantScenario>("never"));
    auto mix = loadgen::MakeMixScenario("m", std::move(parts));
    EXPECT_OK(mix->Prepare());
    EXPECT_OK(mix->Prepare());  // Once only.
    for (int i = 0; i < calls; ++i) {
      mix->Issue(0, 0, i, [](const grpc::Status& status) { EXPECT_TRUE(status.ok()); });
    }
    return mix->Extra();
  };
  std::map<std::string, double> extra = split(20000);
  EXPECT_NEAR(extra["a_share"], 0.25, 0.02);
  EXPECT_NEAR(extra["b_share"], 0.75, 0.02);
  EXPECT_EQ(extra["never_share"], 0);
  EXPECT_EQ(extra["a_calls"] + extra["b_calls"], 20000);
  EXPECT_EQ(split(20000), extra);  // The same sequences, the same parts.
}

TEST(MixScenarioTest, RunLoadPreparesOnceAndSurvivesCallsCompletedInsideIssue) {
  auto* a = new InstantScenario("a");
  std::vector<std::pair<double, std::unique_ptr<loadgen::Scenario>>> parts;
  parts.emplace_back(1, std::unique_ptr<loadgen::Scenario>(a));
  auto mix = loadgen::MakeMixScenario("m", std::move(parts));
  loadgen::LoadOptions options = Short(1, 2);
  options.warmup = absl::ZeroDuration();
  options.duration = absl::Milliseconds(100);
  ASSERT_OK_AND_ASSIGN(loadgen::LoadResult r, loadgen::RunLoad(*mix, options));
  EXPECT_EQ(a->prepared, 1);
  EXPECT_GT(r.ok, 0);
  ExpectNoErrors(r);
  // Every sequence number once.
  std::set<int64_t> unique(a->sequences.begin(), a->sequences.end());
  EXPECT_EQ(unique.size(), a->sequences.size());
}

// --- Scenarios against the services -----------------------------------------------------------

class RegistryLoadTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_OK(registry_.Start()); }
  void TearDown() override {
    if (HasFailure()) PrintOutputTails({&registry_, stats_.get()});
  }

  TempDir dir_;
  RegistryProcess registry_{dir_.path(), BenchFlags()};
  std::unique_ptr<StatsProcess> stats_;
};

TEST_F(RegistryLoadTest, CreateScenarioWritesEveryCallWithoutErrors) {
  auto scenario =
      loadgen::MakeCreateScenario(loadgen::MakeChannels(registry_.address(), 2), "load-create");
  ASSERT_OK_AND_ASSIGN(loadgen::LoadResult r, loadgen::RunLoad(*scenario, Short(2, 4)));
  EXPECT_EQ(r.scenario, "create");
  EXPECT_GT(r.ok, 0);
  ExpectNoErrors(r);
  ExpectOrderedPercentiles(r);
  // Calls of the warm-up and those that ended after the window exist too.
  EXPECT_GE(CountObservers(registry_.channel(), "load-create"), r.ok);
  EXPECT_GT(r.extra["request_bytes"], 100);

  // A second run in the same election: new people, new documents, no conflicts.
  auto again =
      loadgen::MakeCreateScenario(loadgen::MakeChannels(registry_.address(), 1), "load-create");
  ASSERT_OK_AND_ASSIGN(loadgen::LoadResult r2, loadgen::RunLoad(*again, Short(1, 4)));
  EXPECT_GT(r2.ok, 0);
  ExpectNoErrors(r2);
}

TEST_F(RegistryLoadTest, GetScenarioReadsTheRecordsItCreated) {
  auto scenario =
      loadgen::MakeGetScenario(loadgen::MakeChannels(registry_.address(), 1), "load-get", 1500);
  ASSERT_OK_AND_ASSIGN(loadgen::LoadResult r, loadgen::RunLoad(*scenario, Short(1, 8)));
  EXPECT_EQ(r.scenario, "get");
  EXPECT_GT(r.ok, 0);
  ExpectNoErrors(r);
  ExpectOrderedPercentiles(r);
  EXPECT_EQ(r.extra["records"], 1500);
  EXPECT_GT(r.extra["response_bytes"], 100);
  EXPECT_EQ(CountObservers(registry_.channel(), "load-get"), 1500);
}

TEST_F(RegistryLoadTest, MixRunsEveryPartWithoutErrors) {
  const loadgen::Channels channels = loadgen::MakeChannels(registry_.address(), 1);
  std::vector<std::pair<double, std::unique_ptr<loadgen::Scenario>>> parts;
  parts.emplace_back(1, loadgen::MakeCreateScenario(channels, "load-mix"));
  parts.emplace_back(3, loadgen::MakeGetScenario(channels, "load-mix", 200));
  auto scenario = loadgen::MakeMixScenario("mix", std::move(parts));
  ASSERT_OK_AND_ASSIGN(loadgen::LoadResult r, loadgen::RunLoad(*scenario, Short(1, 4)));
  EXPECT_EQ(r.scenario, "mix");
  EXPECT_GT(r.ok, 0);
  ExpectNoErrors(r);
  EXPECT_NEAR(r.extra["create_share"] + r.extra["get_share"], 1.0, 1e-9);
  EXPECT_EQ(r.extra["get_records"], 200);
}

TEST_F(RegistryLoadTest, VisibilityAndBreakdownAgainstStats) {
  stats_ = std::make_unique<StatsProcess>(registry_.address(), TestStatsFlags(BenchFlags()));
  ASSERT_OK(stats_->Start());
  auto visibility =
      loadgen::MakeVisibilityScenario(loadgen::MakeChannels(registry_.address(), 1),
                                      loadgen::MakeChannels(stats_->address(), 1), "load-seen");
  ASSERT_OK_AND_ASSIGN(loadgen::LoadResult r, loadgen::RunLoad(*visibility, Short(1, 4)));
  EXPECT_EQ(r.scenario, "visibility");
  EXPECT_GT(r.ok, 0);
  ExpectNoErrors(r);
  ExpectOrderedPercentiles(r);
  EXPECT_GT(r.extra["visible_samples"], 0);
  EXPECT_LE(r.extra["visible_p50_ms"], r.extra["visible_p90_ms"]);
  EXPECT_LE(r.extra["visible_p90_ms"], r.extra["visible_p99_ms"]);
  EXPECT_LE(r.extra["visible_p99_ms"], r.extra["visible_max_ms"]);

  auto breakdown = loadgen::MakeBreakdownScenario(loadgen::MakeChannels(stats_->address(), 1),
                                                  "load-seen", "organisation", "SUBMITTED");
  ASSERT_OK_AND_ASSIGN(loadgen::LoadResult b, loadgen::RunLoad(*breakdown, Short(1, 4)));
  EXPECT_EQ(b.scenario, "breakdown_organisation");
  EXPECT_GT(b.ok, 0);
  ExpectNoErrors(b);
  EXPECT_GT(b.extra["rows"], 0);

  auto unknown = loadgen::MakeBreakdownScenario(loadgen::MakeChannels(stats_->address(), 1),
                                                "load-seen", "shoe_size", "");
  EXPECT_THAT(loadgen::RunLoad(*unknown, Short(1, 1)),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace observer::testing
