// etcd-put-bench: the etcd baseline on its own. Starts a throwaway single-node etcd (default
// fsync) on free loopback ports, or uses --target, and measures etcd v3 KV/Put of a unique key
// with a unique value of --payload_bytes at each concurrency of --concurrency, one after the
// other against the same etcd. One JSON line per run on stdout, then a table.
//
//   etcd-put-bench --concurrency=1x64,4x16 --seconds=5
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "common/config.h"
#include "tools/loadgen/etcd/etcd_process.h"
#include "tools/loadgen/loadgen.h"
#include "tools/loadgen/scenarios.h"

ABSL_FLAG(std::string, target, "",
          "etcd client address (host:port); empty starts a throwaway etcd for the run");
ABSL_FLAG(std::string, etcd_binary, observer::loadgen::kDefaultEtcdBinary,
          "etcd binary to start when --target is empty");
ABSL_FLAG(std::string, dir, "", "Where the throwaway etcd's data directory goes ($TMPDIR, /tmp)");
ABSL_FLAG(std::string, concurrency, "1x64,4x16",
          "Runs as CHANNELSxIN_FLIGHT_PER_CHANNEL, comma-separated");
ABSL_FLAG(double, seconds, 5, "Measured duration of each run");
ABSL_FLAG(double, warmup, 1, "Warm-up before each run, in seconds");
ABSL_FLAG(int32_t, payload_bytes, 0,
          "Value size of each Put; 0: the size of a typical CreateObserverRequest");

namespace {

struct Concurrency {
  int channels = 1;
  int in_flight_per_channel = 1;
};

absl::StatusOr<std::vector<Concurrency>> ParseConcurrency(const std::string& text) {
  std::vector<Concurrency> runs;
  for (absl::string_view part : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    std::vector<absl::string_view> numbers = absl::StrSplit(part, 'x');
    Concurrency c;
    if (numbers.size() != 2 || !absl::SimpleAtoi(numbers[0], &c.channels) ||
        !absl::SimpleAtoi(numbers[1], &c.in_flight_per_channel) || c.channels < 1 ||
        c.in_flight_per_channel < 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("--concurrency: \"", part, "\" is not CHANNELSxIN_FLIGHT, e.g. 4x16"));
    }
    runs.push_back(c);
  }
  if (runs.empty()) return absl::InvalidArgumentError("--concurrency: no runs");
  return runs;
}

}  // namespace

int main(int argc, char** argv) {
  namespace loadgen = observer::loadgen;
  observer::ParseFlagsWithEnv(argc, argv, "BENCH",
                              "etcd-put-bench: etcd v3 Put throughput, the benchmarks' baseline");
  absl::StatusOr<std::vector<Concurrency>> runs =
      ParseConcurrency(absl::GetFlag(FLAGS_concurrency));
  if (!runs.ok()) {
    std::fprintf(stderr, "%s\n", std::string(runs.status().message()).c_str());
    return 2;
  }
  int payload_bytes = absl::GetFlag(FLAGS_payload_bytes);
  if (payload_bytes <= 0) payload_bytes = loadgen::TypicalCreateRequestBytes();

  std::unique_ptr<loadgen::EtcdProcess> etcd;
  std::string target = absl::GetFlag(FLAGS_target);
  if (target.empty()) {
    loadgen::EtcdOptions etcd_options;
    etcd_options.binary = absl::GetFlag(FLAGS_etcd_binary);
    etcd_options.parent_dir = absl::GetFlag(FLAGS_dir);
    absl::StatusOr<std::unique_ptr<loadgen::EtcdProcess>> started =
        loadgen::EtcdProcess::Start(etcd_options);
    if (!started.ok()) {
      std::fprintf(stderr, "%s\n", started.status().ToString().c_str());
      return 1;
    }
    etcd = std::move(*started);
    target = etcd->client_target();
    std::fprintf(stderr, "etcd-put-bench: etcd %s on %s, data in %s\n",
                 absl::GetFlag(FLAGS_etcd_binary).c_str(), target.c_str(),
                 etcd->data_dir().c_str());
  }

  std::vector<loadgen::LoadResult> results;
  int status = 0;
  for (const Concurrency& c : *runs) {
    std::unique_ptr<loadgen::Scenario> scenario =
        loadgen::MakeEtcdPutScenario(loadgen::MakeChannels(target, c.channels), payload_bytes);
    loadgen::LoadOptions options;
    options.channels = c.channels;
    options.in_flight_per_channel = c.in_flight_per_channel;
    options.warmup = absl::Seconds(absl::GetFlag(FLAGS_warmup));
    options.duration = absl::Seconds(absl::GetFlag(FLAGS_seconds));
    absl::StatusOr<loadgen::LoadResult> result = loadgen::RunLoad(*scenario, options);
    if (!result.ok()) {
      std::fprintf(stderr, "%dx%d: %s\n", c.channels, c.in_flight_per_channel,
                   result.status().ToString().c_str());
      status = 1;
      continue;
    }
    if (result->error_count() > 0) status = 1;
    std::printf("%s\n", loadgen::ToJson(*result).c_str());
    std::fflush(stdout);
    results.push_back(*std::move(result));
  }
  std::printf("%s", loadgen::ToTable(results).c_str());
  if (etcd != nullptr) {
    if (absl::Status stopped = etcd->Stop(); !stopped.ok()) {
      std::fprintf(stderr, "%s\n", stopped.ToString().c_str());
      status = 1;
    }
  }
  return status;
}
