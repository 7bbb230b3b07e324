// observer-bench: the performance suite of the table in one run. It starts the real
// processes on loopback (echo-server, registry-service with a fresh SQLite store, stats-service
// following it, a throwaway etcd), runs every scenario with the same concurrency for the pairs
// it compares, and writes report.json and report.md to --out-dir (the Markdown table also to
// stdout). Progress goes to stderr.
//
//   observer-bench --out-dir build/bench            # the full suite (1M observers: minutes)
//   observer-bench --smoke --out-dir /tmp/bench      # every size tiny: seconds
//   observer-bench --only echo,create,etcd           # some steps only
//
// Exit 0 when the suite ran, whatever the figures (a missed target is a figure, not a
// failure); 1 when it could not run (a process did not start, a scenario had call errors);
// 2 for a usage error.
#include <grpcpp/grpcpp.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/config.h"
#include "common/health_client.h"
#include "observer/registry/v1/registry_service.grpc.pb.h"
#include "observer/stats/v1/stats_service.grpc.pb.h"
#include "registry-service/src/storage/audit_chain.h"
#include "tests/harness/command.h"
#include "tests/harness/postgres_cluster.h"
#include "tools/bench/import_csv.h"
#include "tools/bench/report.h"
#include "tools/bench/server_process.h"
#include "tools/loadgen/etcd/etcd_process.h"
#include "tools/loadgen/loadgen.h"
#include "tools/loadgen/people.h"
#include "tools/loadgen/scenarios.h"
#include "tools/loadgen/setup.h"

// The binaries CMake built with this one (tools/bench/CMakeLists.txt); flags and BENCH_*
// environment variables override them.
#ifndef BENCH_REGISTRY_SERVICE_BINARY
#define BENCH_REGISTRY_SERVICE_BINARY ""
#endif
#ifndef BENCH_STATS_SERVICE_BINARY
#define BENCH_STATS_SERVICE_BINARY ""
#endif
#ifndef BENCH_ECHO_SERVER_BINARY
#define BENCH_ECHO_SERVER_BINARY ""
#endif
#ifndef BENCH_OBSERVERCTL_BINARY
#define BENCH_OBSERVERCTL_BINARY ""
#endif
#ifndef BENCH_POPULATE_BINARY
#define BENCH_POPULATE_BINARY ""
#endif
#ifndef BENCH_SOURCE_DIR
#define BENCH_SOURCE_DIR ""
#endif
#ifndef BENCH_BUILD_TYPE
#define BENCH_BUILD_TYPE "unknown"
#endif

ABSL_FLAG(std::string, out_dir, "bench-report",
          "Directory for report.json and report.md (created); the run's store, CSV file and etcd "
          "data go to a temporary directory inside it, removed at the end");
ABSL_FLAG(bool, smoke, false,
          "Every size and duration tiny (the whole run takes seconds): keeps the suite from "
          "rotting, measures nothing. Sizes and durations given explicitly still apply");
ABSL_FLAG(double, seconds, 10, "Measured seconds of each load scenario");
ABSL_FLAG(double, warmup, 2, "Warm-up seconds before each load scenario (not measured)");
ABSL_FLAG(int64_t, observers_large, 1000000, "The large register (stats RSS, cold start, ...)");
ABSL_FLAG(int64_t, observers_small, 10000,
          "The small register the large one is compared with; also the records GetObserver reads");
ABSL_FLAG(int64_t, import_rows, 100000, "Rows of the CSV file observerctl imports");
ABSL_FLAG(std::string, only, "",
          "Comma-separated steps to run (default: all): echo, create, etcd, get, breakdown, "
          "visibility, import, memory, cold_start (breakdown, memory and cold_start fill the "
          "register to --observers-small, then --observers-large)");
ABSL_FLAG(int32_t, channels, 4, "Connections of each load scenario");
ABSL_FLAG(int32_t, in_flight_per_channel, 16,
          "Calls in flight on each connection (4 x 16 = 64 in flight for every compared pair)");
ABSL_FLAG(double, visibility_rate, 1000, "Writes per second of the write-to-visible scenario");
ABSL_FLAG(bool, keep_state, false, "Keep the run's temporary directory (store, CSV, etcd data)");
ABSL_FLAG(std::string, registry_binary, BENCH_REGISTRY_SERVICE_BINARY, "registry-service binary");
ABSL_FLAG(std::string, stats_binary, BENCH_STATS_SERVICE_BINARY, "stats-service binary");
ABSL_FLAG(std::string, echo_binary, BENCH_ECHO_SERVER_BINARY, "echo-server binary");
ABSL_FLAG(std::string, observerctl_binary, BENCH_OBSERVERCTL_BINARY, "observerctl binary");
ABSL_FLAG(std::string, populate_binary, BENCH_POPULATE_BINARY, "observer-populate binary");
ABSL_FLAG(std::string, etcd_binary, observer::loadgen::kDefaultEtcdBinary,
          "etcd binary (Debian's etcd-server); the etcd comparison is skipped without it");

namespace observer::bench {
namespace {

namespace lg = ::observer::loadgen;
namespace rv1 = ::observer::registry::v1;
namespace sv1 = ::observer::stats::v1;

constexpr const char* kSteps[] = {"echo",      "create",     "etcd",   "scale_out", "get",
                                  "breakdown", "visibility", "import", "memory",    "cold_start"};
// Elections of the run, one per use, so that each scenario sees only its own records.
constexpr char kCreateElection[] = "bench-create";
constexpr char kGetElection[] = "bench-get";
constexpr char kRegisterElection[] = "bench-register";  // Filled by observer-populate.
constexpr char kVisibilityElection[] = "bench-visibility";
constexpr char kImportElection[] = "bench-import";
constexpr char kScaleOutElection[] = "bench-scale-out";

const absl::Time kStart = absl::Now();

// A progress line on stderr, with the time since the start.
void Progress(absl::string_view text) {
  std::fprintf(stderr, "[%7.1fs] %s\n", absl::ToDoubleSeconds(absl::Now() - kStart),
               std::string(text).c_str());
  std::fflush(stderr);
}

// "10k", "1M", "2.5k", "500".
std::string CountLabel(int64_t n) {
  auto trim = [](double v, const char* suffix) {
    std::string s = absl::StrFormat("%.1f", v);
    if (absl::EndsWith(s, ".0")) s.resize(s.size() - 2);
    return s + suffix;
  };
  if (n >= 1000000 && n % 100000 == 0) return trim(static_cast<double>(n) / 1e6, "M");
  if (n >= 1000 && n % 100 == 0) return trim(static_cast<double>(n) / 1e3, "k");
  return absl::StrCat(n);
}

// A target not measured yet: `measured` and the figures are filled in by the caller.
Target NewTarget(std::string name, std::string text, std::string unit) {
  Target t;
  t.name = std::move(name);
  t.text = std::move(text);
  t.unit = std::move(unit);
  return t;
}

std::string Percent(double ratio) { return absl::StrFormat("%.0f%%", ratio * 100); }
std::string Mib(double bytes) { return absl::StrFormat("%.1f MiB", bytes / (1024.0 * 1024.0)); }

struct Config {
  std::string out_dir;
  bool smoke = false;
  absl::Duration seconds;
  absl::Duration warmup;
  int64_t observers_large = 0;
  int64_t observers_small = 0;
  int64_t import_rows = 0;
  std::set<std::string> only;  // Empty: every step.
  int channels = 4;
  int in_flight_per_channel = 16;
  double visibility_rate = 1000;
  bool keep_state = false;
  std::string registry_binary, stats_binary, echo_binary, observerctl_binary, populate_binary,
      etcd_binary;

  bool Runs(const std::string& step) const { return only.empty() || only.count(step) > 0; }
  int in_flight() const { return channels * in_flight_per_channel; }
};

// Whether the flag `name` was given on the command line or in its BENCH_ variable.
bool Given(int argc, char** argv, absl::string_view name) {
  if (const char* env = std::getenv(EnvVarName("BENCH", name).c_str());
      env != nullptr && *env != '\0') {
    return true;
  }
  std::string dashed(name);
  std::replace(dashed.begin(), dashed.end(), '_', '-');
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (arg == "--") break;
    if (!absl::ConsumePrefix(&arg, "--") && !absl::ConsumePrefix(&arg, "-")) continue;
    arg = arg.substr(0, arg.find('='));
    std::string normal(arg);
    std::replace(normal.begin(), normal.end(), '_', '-');
    if (normal == dashed) return true;
  }
  return false;
}

Config ReadConfig(int argc, char** argv) {
  Config c;
  c.out_dir = absl::GetFlag(FLAGS_out_dir);
  c.smoke = absl::GetFlag(FLAGS_smoke);
  double seconds = absl::GetFlag(FLAGS_seconds);
  double warmup = absl::GetFlag(FLAGS_warmup);
  c.observers_large = absl::GetFlag(FLAGS_observers_large);
  c.observers_small = absl::GetFlag(FLAGS_observers_small);
  c.import_rows = absl::GetFlag(FLAGS_import_rows);
  if (c.smoke) {
    if (!Given(argc, argv, "seconds")) seconds = 0.5;
    if (!Given(argc, argv, "warmup")) warmup = 0.2;
    if (!Given(argc, argv, "observers_large")) c.observers_large = 3000;
    if (!Given(argc, argv, "observers_small")) c.observers_small = 1000;
    if (!Given(argc, argv, "import_rows")) c.import_rows = 500;
  }
  if (c.out_dir.empty()) ExitWithUsageError("--out-dir must not be empty");
  if (!(seconds > 0) || !(warmup >= 0)) {
    ExitWithUsageError("--seconds must be positive and --warmup not negative");
  }
  if (c.observers_small < 1 || c.observers_large < c.observers_small) {
    ExitWithUsageError("--observers-small must be positive and at most --observers-large");
  }
  if (c.import_rows < 1) ExitWithUsageError("--import-rows must be positive");
  c.seconds = absl::Seconds(seconds);
  c.warmup = absl::Seconds(warmup);
  for (absl::string_view step :
       absl::StrSplit(absl::GetFlag(FLAGS_only), ',', absl::SkipWhitespace())) {
    step = absl::StripAsciiWhitespace(step);
    if (std::find(std::begin(kSteps), std::end(kSteps), step) == std::end(kSteps)) {
      ExitWithUsageError(absl::StrCat("--only: unknown step '", step,
                                      "'; the steps are: ", absl::StrJoin(kSteps, ", ")));
    }
    c.only.insert(std::string(step));
  }
  c.channels = absl::GetFlag(FLAGS_channels);
  c.in_flight_per_channel = absl::GetFlag(FLAGS_in_flight_per_channel);
  if (c.channels < 1 || c.in_flight_per_channel < 1) {
    ExitWithUsageError("--channels and --in-flight-per-channel must be positive");
  }
  c.visibility_rate = absl::GetFlag(FLAGS_visibility_rate);
  if (!(c.visibility_rate > 0)) ExitWithUsageError("--visibility-rate must be positive");
  c.keep_state = absl::GetFlag(FLAGS_keep_state);
  c.registry_binary = absl::GetFlag(FLAGS_registry_binary);
  c.stats_binary = absl::GetFlag(FLAGS_stats_binary);
  c.echo_binary = absl::GetFlag(FLAGS_echo_binary);
  c.observerctl_binary = absl::GetFlag(FLAGS_observerctl_binary);
  c.populate_binary = absl::GetFlag(FLAGS_populate_binary);
  c.etcd_binary = absl::GetFlag(FLAGS_etcd_binary);
  return c;
}

// A scenario's figures, kept under a key of the suite ("breakdown_organisation_large").
struct Measured {
  std::string key;
  int64_t observers = 0;  // Records in the election it read (0: not applicable).
  lg::LoadResult result;
};

class Suite {
 public:
  explicit Suite(Config config) : c_(std::move(config)) {}

  // Runs every step; false when the suite could not run (the reasons are in failures_).
  bool Run();
  // Writes report.json and report.md and prints the table; false if they cannot be written.
  bool WriteReport();

 private:
  // Servers.
  std::vector<std::string> ServiceArgs(const std::string& address) const;
  absl::Status StartServices();

  // Steps.
  void StepEcho();
  void StepCreate();
  void StepEtcd();
  // Durable creates on PostgreSQL (a throwaway cluster, fsync on) with 1 and 3 registry
  // replicas, beside the SQLite store's "create" of the same run.
  void StepScaleOut();
  void StepGet();
  void StepRegister(int64_t observers, const std::string& size);  // Populate, breakdowns, RSS.
  void StepVisibility();
  void StepImport();
  void StepColdStart();

  // Runs one scenario under the suite's load options; the result is kept under `key`.
  // `channels` (0: --channels) spread the same number of calls in flight (--channels ×
  // --in-flight) over that many channels.
  std::optional<lg::LoadResult> Load(const std::string& key, lg::Scenario& scenario,
                                     int64_t observers = 0, double rate = 0, int channels = 0);
  // Runs a tool to completion, its stderr passed on as progress; the result if it exited 0.
  absl::StatusOr<testing::CommandResult> RunTool(const std::string& label,
                                                 const std::vector<std::string>& argv,
                                                 const testing::CommandOptions& options);
  // Waits until stats-service has applied the registry's head revision; the SUBMITTED
  // observers it counts in `election`.
  absl::StatusOr<int64_t> WaitStatsCaughtUp(const std::string& election);
  std::unique_ptr<rv1::RegistryService::Stub> RegistryStub() const;

  void Fail(const std::string& step, absl::string_view why);
  void Skip(const std::string& step, const std::string& why) { skipped_[step] = why; }
  const lg::LoadResult* Find(const std::string& key) const;
  void AddStepJson(const std::string& json) { steps_json_.push_back(json); }

  std::vector<Target> Targets() const;

  Config c_;
  std::string run_dir_;
  std::unique_ptr<ServerProcess> echo_, registry_, stats_;
  std::vector<Measured> measured_;
  std::vector<std::string> steps_json_;
  std::vector<std::string> failures_;
  std::vector<std::string> warnings_;
  std::map<std::string, std::string> skipped_;  // Step → why it was not measured.
  // Figures that are not load results.
  std::optional<double> stats_rss_small_, stats_rss_large_, stats_rss_restarted_;
  std::optional<double> registry_rss_large_;
  std::optional<double> cold_start_seconds_;
  std::optional<double> import_rows_per_second_, import_seconds_;
  bool populated_large_ = false;
};

void Suite::Fail(const std::string& step, absl::string_view why) {
  failures_.push_back(absl::StrCat(step, ": ", why));
  Progress(absl::StrCat("FAILED ", step, ": ", why));
}

const lg::LoadResult* Suite::Find(const std::string& key) const {
  for (const Measured& m : measured_) {
    if (m.key == key) return &m.result;
  }
  return nullptr;
}

std::vector<std::string> Suite::ServiceArgs(const std::string& address) const {
  // As the README's Benchmarking section says: no per-call log lines, no per-identity limit.
  // --max-in-flight keeps its default (1000): far above the suite's 64 calls in flight. No
  // drain at shutdown: nothing measures it, and the suite stops the servers several times.
  std::vector<std::string> args = {"--listen", address, "--insecure-loopback"};
  args.insert(args.end(), {"--rate-limit", "0", "--log-level", "warning"});
  args.insert(args.end(), {"--metrics-listen=", "--drain-period=0s"});
  return args;
}

std::unique_ptr<rv1::RegistryService::Stub> Suite::RegistryStub() const {
  return rv1::RegistryService::NewStub(lg::MakeChannels(registry_->address(), 1).front());
}

absl::Status Suite::StartServices() {
  const std::string store = absl::StrCat("sqlite://", run_dir_, "/registry.db");
  registry_ = std::make_unique<ServerProcess>(
      "registry-service", c_.registry_binary, [this, store](const std::string& address) {
        std::vector<std::string> args = ServiceArgs(address);
        args.insert(args.end(), {"--store", store});
        return args;
      });
  Progress("starting registry-service (fresh SQLite store)");
  if (absl::Status s = registry_->Start(); !s.ok()) return s;
  Progress(absl::StrCat("registry-service serving on ", registry_->address(), " (pid ",
                        registry_->pid(), ")"));
  stats_ = std::make_unique<ServerProcess>(
      "stats-service", c_.stats_binary, [this](const std::string& address) {
        std::vector<std::string> args = ServiceArgs(address);
        args.insert(args.end(), {"--registry", registry_->address()});
        return args;
      });
  if (absl::Status s = stats_->Start(); !s.ok()) return s;
  if (absl::Status s = stats_->WaitServing(absl::Seconds(60)); !s.ok()) return s;
  Progress(absl::StrCat("stats-service serving on ", stats_->address(), " (pid ", stats_->pid(),
                        "), following the registry"));
  return absl::OkStatus();
}

std::optional<lg::LoadResult> Suite::Load(const std::string& key, lg::Scenario& scenario,
                                          int64_t observers, double rate, int channels) {
  lg::LoadOptions options;
  options.channels = channels > 0 ? channels : c_.channels;
  options.in_flight_per_channel = (c_.in_flight() + options.channels - 1) / options.channels;
  options.warmup = c_.warmup;
  options.duration = c_.seconds;
  options.rate = rate;
  Progress(absl::StrCat(key, ": ", options.channels, " channels x ", options.in_flight_per_channel,
                        " in flight",
                        rate > 0 ? absl::StrCat(", ", rate, " calls/s") : std::string(), ", ",
                        absl::FormatDuration(options.warmup), " warm-up, ",
                        absl::FormatDuration(options.duration), " measured"));
  absl::StatusOr<lg::LoadResult> result = lg::RunLoad(scenario, options);
  if (!result.ok()) {
    Fail(key, result.status().ToString());
    return std::nullopt;
  }
  measured_.push_back({key, observers, *result});
  Progress(absl::StrFormat("%s: %s calls/s, p50 %.2f ms, p99 %.2f ms, %d errors", key,
                           Thousands(result->per_second()), result->p50_ms, result->p99_ms,
                           result->error_count()));
  if (result->error_count() > 0) {
    Fail(key, absl::StrCat(result->error_count(), " calls failed; first: ", result->first_error));
  } else if (result->ok == 0) {
    Fail(key, "no call completed in the measured window");
  }
  return *result;
}

absl::StatusOr<testing::CommandResult> Suite::RunTool(const std::string& label,
                                                      const std::vector<std::string>& argv,
                                                      const testing::CommandOptions& options) {
  testing::CommandProcess process;
  if (absl::Status s = process.Start(
          argv, options, absl::StrCat(label, ": binary unknown (observer-bench --help)"));
      !s.ok()) {
    return s;
  }
  size_t passed_on = 0;
  auto pass_on = [&](bool all) {
    const std::string err = process.stderr_so_far();
    size_t end = all ? err.size() : err.rfind('\n');
    if (end == std::string::npos || end < passed_on) return;
    if (!all) ++end;
    for (absl::string_view line :
         absl::StrSplit(absl::string_view(err).substr(passed_on, end - passed_on), '\n',
                        absl::SkipWhitespace())) {
      Progress(absl::StrCat("  ", label, ": ", line));
    }
    passed_on = end;
  };
  const absl::Time deadline = absl::Now() + options.timeout;
  while (!process.Exited() && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(100));
    pass_on(false);
  }
  absl::StatusOr<testing::CommandResult> result =
      process.Wait(std::max(deadline - absl::Now(), absl::Seconds(5)));
  pass_on(true);
  if (!result.ok()) return result.status();
  if (result->exit_code() != 0) {
    return absl::InternalError(absl::StrCat(label, " failed: ", result->Describe(4000)));
  }
  return result;
}

absl::StatusOr<int64_t> Suite::WaitStatsCaughtUp(const std::string& election) {
  std::unique_ptr<rv1::RegistryService::Stub> registry = RegistryStub();
  rv1::GetElectionRequest get;
  get.set_name(absl::StrCat("elections/", election));
  rv1::GetElectionResponse got;
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
  if (grpc::Status s = registry->GetElection(&context, get, &got); !s.ok()) {
    return absl::UnavailableError(absl::StrCat("GetElection: ", s.error_message()));
  }
  auto stats = sv1::StatsService::NewStub(lg::MakeChannels(stats_->address(), 1).front());
  const absl::Time give_up = absl::Now() + absl::Minutes(30);
  for (;;) {
    sv1::GetSummaryRequest request;
    request.set_election(get.name());
    request.mutable_filter()->add_statuses(rv1::OBSERVER_STATUS_SUBMITTED);
    request.set_min_revision(got.revision());
    sv1::GetSummaryResponse response;
    grpc::ClientContext summary_context;
    summary_context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(20)));
    grpc::Status s = stats->GetSummary(&summary_context, request, &response);
    if (s.ok()) return response.summary().observers();
    if (s.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED || absl::Now() > give_up) {
      return absl::UnavailableError(
          absl::StrCat("GetSummary at min_revision ", got.revision(), ": ", s.error_message()));
    }
    Progress(absl::StrCat("waiting for stats-service to apply revision ", got.revision()));
  }
}

void Suite::StepEcho() {
  if (!c_.Runs("echo")) return Skip("echo", "not run (--only)");
  echo_ = std::make_unique<ServerProcess>(
      "echo-server", c_.echo_binary, [this](const std::string& address) {
        return ServiceArgs(address);  // The services' bootstrap, flags and log level.
      });
  if (absl::Status s = echo_->Start(); !s.ok()) return Fail("echo", s.ToString());
  Progress(absl::StrCat("echo-server serving on ", echo_->address()));
  std::unique_ptr<lg::Scenario> echo = lg::MakeEchoScenario(
      lg::MakeChannels(echo_->address(), c_.channels), lg::TypicalCreateRequestBytes());
  Load("echo", *echo);
  if (absl::Status s = echo_->Stop(); !s.ok()) warnings_.push_back(s.ToString());
}

void Suite::StepCreate() {
  if (!c_.Runs("create")) return Skip("create", "not run (--only)");
  std::unique_ptr<lg::Scenario> create =
      lg::MakeCreateScenario(lg::MakeChannels(registry_->address(), c_.channels), kCreateElection);
  Load("create", *create);
}

void Suite::StepEtcd() {
  if (!c_.Runs("etcd")) return Skip("etcd", "not run (--only)");
  if (!lg::EtcdProcess::Available(c_.etcd_binary)) {
    Progress(absl::StrCat("etcd: skipped: ", c_.etcd_binary, " not found"));
    return Skip("etcd", absl::StrCat("skipped: ", c_.etcd_binary, " not found"));
  }
  lg::EtcdOptions options;
  options.binary = c_.etcd_binary;
  options.parent_dir = run_dir_;
  Progress("starting etcd (single node, fresh data directory)");
  absl::StatusOr<std::unique_ptr<lg::EtcdProcess>> etcd = lg::EtcdProcess::Start(options);
  if (!etcd.ok()) return Fail("etcd", etcd.status().ToString());
  Progress(absl::StrCat("etcd serving on ", (*etcd)->client_target()));
  std::unique_ptr<lg::Scenario> put = lg::MakeEtcdPutScenario(
      lg::MakeChannels((*etcd)->client_target(), c_.channels), lg::TypicalCreateRequestBytes());
  Load("etcd_put", *put);
  if (absl::Status s = (*etcd)->Stop(); !s.ok()) warnings_.push_back(s.ToString());
}

void Suite::StepScaleOut() {
  if (!c_.Runs("scale_out")) return Skip("scale_out", "not run (--only)");
  if (testing::PostgresBinDir().empty()) {
    Progress("scale_out: skipped: no PostgreSQL server binaries");
    return Skip("scale_out", "skipped: no PostgreSQL server binaries (postgresql-15)");
  }
  // In a temporary directory of its own (the run's is not reachable by PostgreSQL's user when
  // the suite runs as root).
  Progress("starting PostgreSQL 15 (throwaway cluster, fsync on)");
  absl::StatusOr<std::unique_ptr<testing::PostgresCluster>> pg = testing::PostgresCluster::Start();
  if (!pg.ok()) return Fail("scale_out", pg.status().ToString());
  if (absl::Status s = (*pg)->CreateDatabase("registry"); !s.ok()) {
    return Fail("scale_out", s.ToString());
  }
  const std::string url = (*pg)->Url("registry");
  const std::string key_file = absl::StrCat(run_dir_, "/pg-audit.key");
  bool created = false;
  if (absl::StatusOr<std::string> key = registry::ReadOrCreateAuditKeyFile(key_file, &created);
      !key.ok()) {
    return Fail("scale_out", key.status().ToString());
  }
  std::vector<std::unique_ptr<ServerProcess>> replicas;
  for (int n : {1, 3}) {
    while (static_cast<int>(replicas.size()) < n) {
      replicas.push_back(std::make_unique<ServerProcess>(
          "registry-service", c_.registry_binary, [this, url, key_file](const std::string& a) {
            std::vector<std::string> args = ServiceArgs(a);
            args.insert(args.end(), {"--store", url, "--audit-key-file", key_file});
            return args;
          }));
      if (absl::Status s = replicas.back()->Start(); !s.ok()) {
        return Fail("scale_out", absl::StrCat(s.ToString(), "\n", replicas.back()->OutputTail()));
      }
    }
    // The calls in flight of the SQLite step, over channels to every replica in turn.
    std::vector<std::shared_ptr<grpc::Channel>> channels;
    const int count = std::max(c_.channels, n) / n * n;
    for (int i = 0; i < count; ++i) {
      channels.push_back(
          lg::MakeChannels(replicas[static_cast<size_t>(i % n)]->address(), 1).front());
    }
    const std::string election = absl::StrCat(kScaleOutElection, "-", n);
    auto stub = rv1::RegistryService::NewStub(channels.front());
    if (absl::Status s = lg::EnsureElection(*stub, election); !s.ok()) {
      return Fail("scale_out", s.ToString());
    }
    std::unique_ptr<lg::Scenario> create = lg::MakeCreateScenario(channels, election);
    // A fresh database's first seconds run at about half speed (its cached statement plans
    // and statistics settle): a longer warm-up than the SQLite step's, so that the figure is
    // the steady state.
    lg::LoadOptions settle;
    settle.channels = count;
    settle.in_flight_per_channel = (c_.in_flight() + count - 1) / count;
    settle.warmup = absl::ZeroDuration();
    settle.duration = 2 * c_.warmup;
    Progress(absl::StrCat("create_postgres_", n, ": settling for ",
                          absl::FormatDuration(settle.duration)));
    (void)lg::RunLoad(*create, settle);
    Load(absl::StrCat("create_postgres_", n), *create, 0, 0, count);
  }
  for (auto& r : replicas) {
    if (absl::Status s = r->Stop(); !s.ok()) warnings_.push_back(s.ToString());
  }
}

void Suite::StepGet() {
  if (!c_.Runs("get")) return Skip("get", "not run (--only)");
  const int records = static_cast<int>(std::min<int64_t>(c_.observers_small, 1000000));
  Progress(absl::StrCat("get: preparing ", records, " records"));
  std::unique_ptr<lg::Scenario> get = lg::MakeGetScenario(
      lg::MakeChannels(registry_->address(), c_.channels), kGetElection, records);
  Load("get", *get, records);
}

void Suite::StepRegister(int64_t observers, const std::string& size) {
  const bool breakdowns = c_.Runs("breakdown");
  const bool memory = c_.Runs("memory");
  if (!breakdowns && !memory && !(size == "large" && c_.Runs("cold_start"))) return;
  Progress(absl::StrCat("register: filling elections/", kRegisterElection, " to ",
                        Thousands(static_cast<double>(observers)),
                        " observers (observer-populate, batches of 1000, 4 in flight)"));
  testing::CommandOptions options;
  options.timeout = absl::Hours(6);
  absl::StatusOr<testing::CommandResult> populate =
      RunTool("observer-populate",
              {c_.populate_binary, "--registry", registry_->address(), "--election",
               kRegisterElection, "--observers", absl::StrCat(observers), "--in-flight", "4"},
              options);
  if (!populate.ok()) return Fail(absl::StrCat("populate_", size), populate.status().ToString());
  const std::string line(absl::StripAsciiWhitespace(populate->stdout_text));
  AddStepJson(JsonObject()
                  .Add("step", absl::StrCat("populate_", size))
                  .Add("observers", observers)
                  .Add("seconds", absl::ToDoubleSeconds(populate->elapsed))
                  .AddRaw("populate", absl::StartsWith(line, "{") ? line : JsonString(line))
                  .str());
  Progress(absl::StrCat("register: ", line));
  absl::StatusOr<int64_t> counted = WaitStatsCaughtUp(kRegisterElection);
  if (!counted.ok()) return Fail(absl::StrCat("populate_", size), counted.status().ToString());
  if (*counted != observers) {
    return Fail(absl::StrCat("populate_", size),
                absl::StrCat("stats-service counts ", *counted, " submitted observers in ",
                             kRegisterElection, ", expected ", observers));
  }
  Progress(absl::StrCat("register: stats-service counts ", Thousands(static_cast<double>(*counted)),
                        " observers"));
  if (size == "large") {
    populated_large_ = true;
    if (absl::StatusOr<int64_t> rss = registry_->ResidentBytes(); rss.ok()) {
      registry_rss_large_ = static_cast<double>(*rss);
      Progress(absl::StrCat("registry-service RSS: ", Mib(*registry_rss_large_)));
    } else {
      Fail("memory", rss.status().ToString());
    }
  }
  if (breakdowns) {
    for (const char* dimension : {"organisation", "sending_state"}) {
      std::unique_ptr<lg::Scenario> breakdown =
          lg::MakeBreakdownScenario(lg::MakeChannels(stats_->address(), c_.channels),
                                    kRegisterElection, dimension, "SUBMITTED");
      Load(absl::StrCat("breakdown_", dimension, "_", size), *breakdown, observers);
    }
  }
  if (absl::StatusOr<int64_t> rss = stats_->ResidentBytes(); rss.ok()) {
    (size == "large" ? stats_rss_large_ : stats_rss_small_) = static_cast<double>(*rss);
    Progress(absl::StrCat("stats-service RSS with ", CountLabel(observers),
                          " observers: ", Mib(static_cast<double>(*rss))));
  } else {
    Fail("memory", rss.status().ToString());
  }
}

void Suite::StepVisibility() {
  if (!c_.Runs("visibility")) return Skip("visibility", "not run (--only)");
  std::unique_ptr<lg::Scenario> visibility = lg::MakeVisibilityScenario(
      lg::MakeChannels(registry_->address(), c_.channels),
      lg::MakeChannels(stats_->address(), c_.channels), kVisibilityElection);
  Load("visibility", *visibility, 0, c_.visibility_rate);
}

void Suite::StepImport() {
  if (!c_.Runs("import")) return Skip("import", "not run (--only)");
  const std::string csv = absl::StrCat(run_dir_, "/import.csv");
  Progress(absl::StrCat("import: writing ", Thousands(static_cast<double>(c_.import_rows)),
                        " rows to ", csv));
  absl::StatusOr<std::set<std::string>> organisations =
      WriteImportCsv(csv, c_.import_rows, /*salt=*/0x1B0B7);
  if (!organisations.ok()) return Fail("import", organisations.status().ToString());
  std::unique_ptr<rv1::RegistryService::Stub> stub = RegistryStub();
  absl::Status s = lg::EnsureElection(*stub, kImportElection);
  for (const std::string& code : *organisations) {
    std::string name = absl::StrCat("Organisation ", code);
    for (const lg::SendingOrganisation& o : lg::SendingOrganisations()) {
      if (o.code == code) name = o.name;
    }
    if (s.ok()) s = lg::EnsureOrganisation(*stub, code, name);
  }
  if (!s.ok()) return Fail("import", s.ToString());
  testing::CommandOptions options;
  options.env = {{"OBSERVERCTL_REGISTRY", registry_->address()}};
  options.timeout = absl::Hours(1);
  Progress(absl::StrCat("import: observerctl import into elections/", kImportElection));
  absl::StatusOr<testing::CommandResult> run = RunTool(
      "observerctl import",
      {c_.observerctl_binary, "import", csv, "--election", kImportElection, "--progress", "never"},
      options);
  if (!run.ok()) return Fail("import", run.status().ToString());
  const std::string report(absl::StripAsciiWhitespace(run->stdout_text));
  const std::string expected = absl::StrCat(c_.import_rows, " created");
  if (!absl::StrContains(report, expected)) {
    return Fail("import", absl::StrCat("expected \"", expected, "\", observerctl said: ", report));
  }
  import_seconds_ = absl::ToDoubleSeconds(run->elapsed);
  import_rows_per_second_ = static_cast<double>(c_.import_rows) / *import_seconds_;
  AddStepJson(JsonObject()
                  .Add("step", "import")
                  .Add("rows", c_.import_rows)
                  .Add("seconds", *import_seconds_)
                  .Add("rows_per_second", *import_rows_per_second_)
                  .Add("observerctl", report)
                  .str());
  Progress(absl::StrFormat("import: %s rows/s (%s)", Thousands(*import_rows_per_second_), report));
}

void Suite::StepColdStart() {
  if (!c_.Runs("cold_start")) return;
  if (!populated_large_) return;  // Its failure is reported already.
  Progress("cold start: stopping stats-service");
  if (absl::Status s = stats_->Stop(); !s.ok()) return Fail("cold_start", s.ToString());
  Progress("cold start: starting stats-service");
  if (absl::Status s = stats_->Start(absl::Minutes(10)); !s.ok()) {
    return Fail("cold_start", s.ToString());
  }
  if (absl::Status s = stats_->WaitServing(absl::Minutes(10)); !s.ok()) {
    return Fail("cold_start", s.ToString());
  }
  cold_start_seconds_ = absl::ToDoubleSeconds(absl::Now() - stats_->spawned());
  Progress(absl::StrFormat("cold start: SERVING %.2f s after spawn", *cold_start_seconds_));
  if (absl::StatusOr<int64_t> rss = stats_->ResidentBytes(); rss.ok()) {
    stats_rss_restarted_ = static_cast<double>(*rss);
    Progress(absl::StrCat("stats-service RSS after the cold start: ", Mib(*stats_rss_restarted_)));
  }
  AddStepJson(JsonObject()
                  .Add("step", "cold_start")
                  .Add("seconds_to_serving", *cold_start_seconds_)
                  .AddRaw("stats_rss_bytes_after",
                          stats_rss_restarted_ ? JsonNumber(*stats_rss_restarted_) : "null")
                  .str());
}

bool Suite::Run() {
  std::error_code error;
  std::filesystem::create_directories(c_.out_dir, error);
  if (error) {
    Fail("setup", absl::StrCat("cannot create ", c_.out_dir, ": ", error.message()));
    return false;
  }
  std::string dir_template = absl::StrCat(c_.out_dir, "/run-XXXXXX");
  if (mkdtemp(dir_template.data()) == nullptr) {
    Fail("setup", absl::StrCat("mkdtemp ", dir_template, ": ", std::strerror(errno)));
    return false;
  }
  run_dir_ = std::filesystem::absolute(dir_template).string();
  Progress(absl::StrCat("observer-bench", c_.smoke ? " --smoke" : "", ": ", c_.in_flight(),
                        " calls in flight (", c_.channels, " channels x ", c_.in_flight_per_channel,
                        "), ", absl::FormatDuration(c_.seconds), " per scenario; state in ",
                        run_dir_));

  for (const char* step : {"breakdown", "memory", "cold_start"}) {
    if (!c_.Runs(step)) Skip(step, "not run (--only)");
  }
  StepEcho();
  if (absl::Status s = StartServices(); !s.ok()) {
    Fail("setup", s.ToString());
  } else {
    StepCreate();
    StepEtcd();
    StepScaleOut();
    StepGet();
    StepRegister(c_.observers_small, "small");
    StepVisibility();
    StepImport();
    StepRegister(c_.observers_large, "large");
    StepColdStart();
  }
  for (ServerProcess* p : {stats_.get(), registry_.get()}) {
    if (p == nullptr || !p->running()) continue;
    if (absl::Status s = p->Stop(); !s.ok()) {
      warnings_.push_back(s.ToString());
      Progress(absl::StrCat("warning: ", s.ToString()));
    }
  }
  if (!c_.keep_state) {
    std::filesystem::remove_all(run_dir_, error);
  } else {
    Progress(absl::StrCat("kept ", run_dir_));
  }
  return failures_.empty();
}

std::vector<Target> Suite::Targets() const {
  std::vector<Target> targets;
  const lg::LoadResult* echo = Find("echo");
  const std::string in_flight = absl::StrCat(c_.in_flight());
  const std::string small = CountLabel(c_.observers_small);
  const std::string large = CountLabel(c_.observers_large);
  // Why a figure is missing: the step's skip reason, else its failure.
  auto missing = [this](const std::vector<std::string>& steps) -> std::string {
    for (const std::string& step : steps) {
      if (auto it = skipped_.find(step); it != skipped_.end()) return it->second;
    }
    for (const std::string& step : steps) {
      for (const std::string& f : failures_) {
        if (absl::StartsWith(f, step)) return "not measured: " + step + " failed";
      }
    }
    return "not measured";
  };
  // `key`'s calls/s as a share of echo's, at least `minimum`.
  auto vs_echo = [&](const std::string& name, const std::string& text, const std::string& key,
                     const std::string& step, double minimum) {
    Target t = NewTarget(name, text, "ratio");
    const lg::LoadResult* r = Find(key);
    if (r == nullptr) {
      t.measured = missing({step});
    } else if (echo == nullptr) {
      t.measured = absl::StrCat(Thousands(r->per_second()), "/s; echo ", missing({"echo"}));
    } else {
      const double ratio = r->per_second() / echo->per_second();
      t.ratio = t.value = ratio;
      t.met = ratio >= minimum;
      t.measured = absl::StrCat(Thousands(r->per_second()), "/s = ", Percent(ratio), " of echo (",
                                Thousands(echo->per_second()), "/s)");
    }
    targets.push_back(t);
  };

  vs_echo("create_vs_echo",
          absl::StrCat("durable creates (fsync before ack), ", in_flight,
                       " in flight: ≥ 50% of echo throughput at the same concurrency"),
          "create", "create", 0.5);
  {
    Target t = NewTarget(
        "create_vs_etcd",
        absl::StrCat("durable creates vs a single-node etcd 3.4 put of the same payload (",
                     lg::TypicalCreateRequestBytes(), " bytes): ≥ 1.5× etcd's throughput"),
        "ratio");
    const lg::LoadResult* create = Find("create");
    const lg::LoadResult* etcd = Find("etcd_put");
    if (create == nullptr || etcd == nullptr) {
      t.measured = missing({"etcd", "create"});
      if (create != nullptr) {
        absl::StrAppend(&t.measured, " (creates: ", Thousands(create->per_second()), "/s)");
      }
    } else {
      const double ratio = create->per_second() / etcd->per_second();
      t.ratio = t.value = ratio;
      t.met = ratio >= 1.5;
      t.measured = absl::StrFormat("%s/s = %.2f× etcd (%s/s)", Thousands(create->per_second()),
                                   ratio, Thousands(etcd->per_second()));
    }
    targets.push_back(t);
  }
  vs_echo("get_vs_echo", "Get accreditation (GetObserver): ≥ 80% of echo", "get", "get", 0.8);

  for (const auto& [dimension, label] : std::vector<std::pair<std::string, std::string>>{
           {"organisation", "organisation"}, {"sending_state", "country (sending_state)"}}) {
    const std::string base = absl::StrCat("breakdown_", dimension);
    const lg::LoadResult* at_small = Find(base + "_small");
    const lg::LoadResult* at_large = Find(base + "_large");
    Target t = NewTarget(base + "_vs_echo",
                         absl::StrCat("GetBreakdown by ", label, ": ≥ 80% of echo (at ", small,
                                      " and ", large, " observers)"),
                         "ratio");
    if (at_small == nullptr && at_large == nullptr) {
      t.measured = missing({"breakdown"});
    } else if (echo == nullptr) {
      t.measured = absl::StrCat(
          small, ": ", at_small != nullptr ? Thousands(at_small->per_second()) : "?", "/s; ", large,
          ": ", at_large != nullptr ? Thousands(at_large->per_second()) : "?", "/s; echo ",
          missing({"echo"}));
    } else {
      std::vector<std::string> parts;
      double worst = 1e300;
      for (const auto& [r, size] : {std::pair{at_small, small}, std::pair{at_large, large}}) {
        if (r == nullptr) continue;
        const double ratio = r->per_second() / echo->per_second();
        worst = std::min(worst, ratio);
        parts.push_back(
            absl::StrCat(size, ": ", Thousands(r->per_second()), "/s = ", Percent(ratio)));
      }
      t.ratio = t.value = worst;
      t.met = worst >= 0.8;
      t.measured = absl::StrCat(absl::StrJoin(parts, "; "), " of echo (",
                                Thousands(echo->per_second()), "/s)");
    }
    targets.push_back(t);
    Target scale = NewTarget(base + "_large_vs_small",
                             absl::StrCat("GetBreakdown by ", label, " at ", large,
                                          " observers: within 10% of at ", small),
                             "ratio");
    if (at_small == nullptr || at_large == nullptr) {
      scale.measured = missing({"breakdown"});
    } else {
      const double ratio = at_large->per_second() / at_small->per_second();
      scale.ratio = scale.value = ratio;
      scale.met = ratio >= 0.9;
      scale.measured =
          absl::StrCat(large, ": ", Thousands(at_large->per_second()), "/s = ", Percent(ratio),
                       " of ", small, " (", Thousands(at_small->per_second()), "/s)");
    }
    targets.push_back(scale);
  }

  {
    Target t = NewTarget("visibility_p99",
                         absl::StrCat("write → visible in stats (min_revision) at ",
                                      Thousands(c_.visibility_rate), " writes/s: p99 ≤ 5 ms"),
                         "ms");
    if (const lg::LoadResult* r = Find("visibility"); r == nullptr) {
      t.measured = missing({"visibility"});
    } else {
      auto extra = [r](const char* k) -> std::optional<double> {
        auto it = r->extra.find(k);
        if (it == r->extra.end()) return std::nullopt;
        return it->second;
      };
      const std::optional<double> p99 = extra("visible_p99_ms");
      const std::optional<double> p50 = extra("visible_p50_ms");
      t.value = p99 ? *p99 : r->p99_ms;
      t.met = *t.value <= 5.0;
      t.measured = absl::StrFormat("p99 %.2f ms%s (p50 %.2f ms) at %s writes/s", *t.value,
                                   p99 ? "" : " (whole call)", p50 ? *p50 : r->p50_ms,
                                   Thousands(r->per_second()));
    }
    targets.push_back(t);
  }
  {
    Target t = NewTarget("stats_cold_start",
                         absl::StrCat("stats cold start with ", large,
                                      " observers in the registry: SERVING in ≤ 10 s"),
                         "s");
    if (!cold_start_seconds_) {
      t.measured = missing({"cold_start", "memory", "populate_large"});
    } else {
      t.value = *cold_start_seconds_;
      t.met = *cold_start_seconds_ <= 10.0;
      t.measured = absl::StrFormat("%.2f s from spawn to SERVING", *cold_start_seconds_);
    }
    targets.push_back(t);
  }
  {
    Target t = NewTarget("stats_rss_large",
                         absl::StrCat("stats RSS with ", large, " observers: ≤ 64 MiB"), "MiB");
    if (!stats_rss_large_) {
      t.measured = missing({"memory", "populate_large"});
    } else {
      const double worst = std::max(*stats_rss_large_, stats_rss_restarted_.value_or(0));
      t.value = worst / (1024.0 * 1024.0);
      t.met = *t.value <= 64.0;
      t.measured = Mib(*stats_rss_large_);
      if (stats_rss_restarted_) {
        absl::StrAppend(&t.measured, " (", Mib(*stats_rss_restarted_), " after the cold start)");
      }
    }
    targets.push_back(t);
  }
  {
    Target t = NewTarget(
        "stats_rss_large_vs_small",
        absl::StrCat("stats RSS with ", large, " observers: within 10% of its RSS at ", small),
        "ratio");
    if (!stats_rss_large_ || !stats_rss_small_) {
      t.measured = missing({"memory", "populate_small", "populate_large"});
    } else {
      const double ratio = *stats_rss_large_ / *stats_rss_small_;
      t.ratio = t.value = ratio;
      t.met = ratio <= 1.1;
      t.measured = absl::StrCat(Mib(*stats_rss_large_), " = ", Percent(ratio), " of ",
                                Mib(*stats_rss_small_), " at ", small);
    }
    targets.push_back(t);
  }
  {
    Target t = NewTarget("registry_rss_large",
                         absl::StrCat("registry RSS with ", large, " observers: ≤ 256 MiB"), "MiB");
    if (!registry_rss_large_) {
      t.measured = missing({"memory", "populate_large"});
    } else {
      t.value = *registry_rss_large_ / (1024.0 * 1024.0);
      t.met = *t.value <= 256.0;
      t.measured = Mib(*registry_rss_large_);
    }
    targets.push_back(t);
  }
  {
    Target t = NewTarget(
        "import_rows_per_second",
        absl::StrCat("observerctl import of a ", Thousands(static_cast<double>(c_.import_rows)),
                     "-row CSV: ≥ 20,000 rows/s"),
        "rows/s");
    if (!import_rows_per_second_) {
      t.measured = missing({"import"});
    } else {
      t.value = *import_rows_per_second_;
      t.met = *import_rows_per_second_ >= 20000;
      t.measured = absl::StrFormat("%s rows/s (%.2f s)", Thousands(*import_rows_per_second_),
                                   *import_seconds_);
    }
    targets.push_back(t);
  }
  return targets;
}

bool Suite::WriteReport() {
  const std::vector<Target> targets = Targets();
  std::vector<std::string> scenarios;
  for (const Measured& m : measured_) {
    scenarios.push_back(JsonObject()
                            .Add("key", m.key)
                            .Add("observers", m.observers)
                            .AddRaw("result", lg::ToJson(m.result))
                            .str());
  }
  std::vector<std::string> target_json;
  for (const Target& t : targets) target_json.push_back(TargetJson(t));
  std::vector<std::string> failures, warnings, skipped;
  for (const std::string& f : failures_) failures.push_back(JsonString(f));
  for (const std::string& w : warnings_) warnings.push_back(JsonString(w));
  for (const auto& [step, why] : skipped_) {
    skipped.push_back(JsonObject().Add("step", step).Add("why", why).str());
  }
  const std::string options = JsonObject()
                                  .Add("smoke", c_.smoke)
                                  .Add("seconds", absl::ToDoubleSeconds(c_.seconds))
                                  .Add("warmup_seconds", absl::ToDoubleSeconds(c_.warmup))
                                  .Add("channels", c_.channels)
                                  .Add("in_flight_per_channel", c_.in_flight_per_channel)
                                  .Add("in_flight", c_.in_flight())
                                  .Add("observers_small", c_.observers_small)
                                  .Add("observers_large", c_.observers_large)
                                  .Add("import_rows", c_.import_rows)
                                  .Add("visibility_rate", c_.visibility_rate)
                                  .Add("payload_bytes", lg::TypicalCreateRequestBytes())
                                  .Add("only", absl::StrJoin(c_.only, ","))
                                  .str();
  const std::string json =
      JsonObject()
          .Add("suite", "observer-bench")
          .Add("time", absl::FormatTime(absl::RFC3339_sec, kStart, absl::UTCTimeZone()))
          .Add("elapsed_seconds", absl::ToDoubleSeconds(absl::Now() - kStart))
          .Add("complete", failures_.empty())
          .AddRaw("machine", MachineJson(BENCH_SOURCE_DIR, BENCH_BUILD_TYPE))
          .AddRaw("options", options)
          .AddRaw("targets", JsonArray(target_json))
          .AddRaw("scenarios", JsonArray(scenarios))
          .AddRaw("steps", JsonArray(steps_json_))
          .AddRaw("skipped", JsonArray(skipped))
          .AddRaw("failures", JsonArray(failures))
          .AddRaw("warnings", JsonArray(warnings))
          .str() +
      "\n";
  std::string markdown = MarkdownTable(targets);
  const std::string md = absl::StrCat(
      "# observer-bench", c_.smoke ? " (smoke: tiny sizes, the figures mean nothing)" : "", "\n\n",
      markdown, "\n", failures_.empty() ? "" : "Failures:\n\n",
      absl::StrJoin(failures_, "\n",
                    [](std::string* out, const std::string& f) { absl::StrAppend(out, "- ", f); }),
      failures_.empty() ? "" : "\n");
  bool ok = true;
  for (const auto& [name, text] : {std::pair{"report.json", json}, std::pair{"report.md", md}}) {
    const std::string path = absl::StrCat(c_.out_dir, "/", name);
    std::ofstream out(path, std::ios::trunc);
    out << text;
    out.close();
    if (!out) {
      Progress(absl::StrCat("cannot write ", path));
      ok = false;
    }
  }
  std::fputs(markdown.c_str(), stdout);
  std::fflush(stdout);
  Progress(absl::StrCat("report: ", c_.out_dir, "/report.json and ", c_.out_dir, "/report.md"));
  return ok;
}

}  // namespace
}  // namespace observer::bench

int main(int argc, char** argv) {
  observer::ParseFlagsWithEnv(
      argc, argv, "BENCH",
      "observer-bench: the performance suite (echo, durable creates, etcd, GetObserver, "
      "breakdowns, write-to-visible, import, memory, cold start) against real processes on "
      "loopback; writes report.json and report.md to --out-dir.\n"
      "Usage: observer-bench [--smoke] [--out-dir DIR] [--only STEP,...]");
  // gRPC 1.51 (without a background poller) completes callback-API calls on one shared
  // "alternative" completion queue whose threads are stopped, and the queue freed, when the
  // last channel using it goes. A call's ClientContext holds its channel, so when a scenario's
  // channels are gone and its last call is deleted in its callback, that callback thread would
  // free the queue it runs on (double free). This channel uses the queue (one failed health
  // check to nowhere) and lives until the end, so the queue is never released mid-run.
  const std::shared_ptr<grpc::Channel> keeper =
      observer::loadgen::MakeChannels("127.0.0.1:1", 1).front();
  (void)observer::CheckHealth(keeper, absl::Milliseconds(200));
  observer::bench::Suite suite(observer::bench::ReadConfig(argc, argv));
  const bool ran = suite.Run();
  const bool written = suite.WriteReport();
  return ran && written ? 0 : 1;
}
