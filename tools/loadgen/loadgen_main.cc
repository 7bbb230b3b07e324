// observer-loadgen: one benchmark scenario (scenarios.h) against a running server, on gRPC's
// callback client API, with a warm-up and a measured window; prints a table or one JSON line.
// Exits 1 if any call of the window failed (or the scenario could not be prepared), 2 for a
// usage error.
//
//   observer-loadgen --scenario echo --target 127.0.0.1:50060 --in-flight 64 --seconds 3
//   observer-loadgen --scenario create --target 127.0.0.1:50051 --channels 2 --in-flight 32
//   observer-loadgen --scenario get --target 127.0.0.1:50051 --records 10000 --format json
//   observer-loadgen --scenario breakdown --target 127.0.0.1:50052 --dimension region
//       --election bench-1m --status SUBMITTED
//   observer-loadgen --scenario visibility --target 127.0.0.1:50051 --stats 127.0.0.1:50052
//   observer-loadgen --scenario create --target 127.0.0.1:50051 --rate 500 --in-flight 64
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "common/config.h"
#include "observer/registry/v1/resources.pb.h"
#include "observer/stats/v1/stats_service.pb.h"
#include "tools/loadgen/loadgen.h"
#include "tools/loadgen/scenarios.h"

ABSL_FLAG(std::string, target, "127.0.0.1:50051",
          "The server the scenario calls (host:port): echo-server for echo, registry-service for "
          "create, get, visibility and mix, stats-service for breakdown");
ABSL_FLAG(std::string, stats, "",
          "stats-service (host:port) for visibility, and for a mix with a breakdown part");
ABSL_FLAG(std::string, scenario, "create", "echo, create, get, breakdown, visibility or mix");
ABSL_FLAG(int32_t, channels, 1, "Channels, each its own connection");
ABSL_FLAG(int32_t, in_flight, 64, "Calls in flight on each channel");
ABSL_FLAG(double, warmup, 1, "Warm-up before the measured window, in seconds");
ABSL_FLAG(double, seconds, 10, "Length of the measured window, in seconds");
ABSL_FLAG(double, rate, 0,
          "Calls started per second over all channels, latency counted from each call's "
          "scheduled start (0: closed loop, each call starts when the previous one of its slot "
          "ends)");
ABSL_FLAG(int32_t, payload_bytes, -1,
          "echo: payload bytes per call (-1: the size of a typical CreateObserver request)");
ABSL_FLAG(std::string, election, "bench-2030",
          "Election id (created by create, get, visibility and mix if missing)");
ABSL_FLAG(int32_t, records, 10000, "get: observers created before the run and then read");
ABSL_FLAG(std::string, dimension, "organisation",
          "breakdown: observer_type, organisation, sending_state, citizenship, region, "
          "category, status or gender");
ABSL_FLAG(std::string, status, "",
          "breakdown: count observers in this status (e.g. SUBMITTED); empty: the default "
          "filter (ACCREDITED)");
ABSL_FLAG(std::string, mix, "create=20,get=80",
          "mix: parts and weights, name=weight,... of create, get, breakdown (needs --stats) "
          "and visibility (needs --stats)");
ABSL_FLAG(std::string, format, "table", "table or json (one line)");

namespace {

namespace loadgen = observer::loadgen;

constexpr char kUsage[] =
    "observer-loadgen: load one scenario on a server and report calls/s and latency.\n"
    "Usage: observer-loadgen --scenario echo|create|get|breakdown|visibility|mix "
    "--target HOST:PORT [--stats HOST:PORT] [--channels N] [--in-flight N] [--seconds S] "
    "[--rate R] [--format table|json]";

void RequireAddress(const char* flag, const std::string& address) {
  if (address.empty()) {
    observer::ExitWithUsageError(
        absl::StrCat("--", flag, " is required for --scenario ", absl::GetFlag(FLAGS_scenario)));
  }
  if (absl::Status s = observer::ValidateListenAddress(address); !s.ok()) {
    observer::ExitWithUsageError(absl::StrCat("--", flag, ": ", s.message()));
  }
}

void CheckDimensionAndStatus() {
  const std::string dimension = absl::GetFlag(FLAGS_dimension);
  observer::stats::v1::Dimension d;
  if (!observer::stats::v1::Dimension_Parse(
          absl::StrCat("DIMENSION_", absl::AsciiStrToUpper(dimension)), &d) ||
      d == observer::stats::v1::DIMENSION_UNSPECIFIED) {
    observer::ExitWithUsageError(absl::StrCat(
        "--dimension: '", dimension,
        "' is not one of observer_type, organisation, sending_state, citizenship, region, "
        "category, status, gender"));
  }
  const std::string status = absl::GetFlag(FLAGS_status);
  observer::registry::v1::ObserverStatus s;
  if (!status.empty() &&
      (!observer::registry::v1::ObserverStatus_Parse(
           absl::StrCat("OBSERVER_STATUS_", absl::AsciiStrToUpper(status)), &s) ||
       s == observer::registry::v1::OBSERVER_STATUS_UNSPECIFIED)) {
    observer::ExitWithUsageError(
        absl::StrCat("--status: '", status,
                     "' is not one of SUBMITTED, ACCREDITED, REJECTED, SUSPENDED, "
                     "WITHDRAWN"));
  }
}

// One scenario by name, on `target` (and `stats`) channels.
std::unique_ptr<loadgen::Scenario> MakeScenario(const std::string& name,
                                                const loadgen::Channels& target,
                                                const loadgen::Channels& stats) {
  const std::string election = absl::GetFlag(FLAGS_election);
  if (name == "echo") {
    int payload = absl::GetFlag(FLAGS_payload_bytes);
    if (payload < 0) payload = loadgen::TypicalCreateRequestBytes();
    return loadgen::MakeEchoScenario(target, payload);
  }
  if (name == "create") return loadgen::MakeCreateScenario(target, election);
  if (name == "get") {
    return loadgen::MakeGetScenario(target, election, absl::GetFlag(FLAGS_records));
  }
  if (name == "breakdown") {
    return loadgen::MakeBreakdownScenario(stats, election, absl::GetFlag(FLAGS_dimension),
                                          absl::GetFlag(FLAGS_status));
  }
  if (name == "visibility") return loadgen::MakeVisibilityScenario(target, stats, election);
  return nullptr;
}

}  // namespace

int main(int argc, char** argv) {
  observer::ParseFlagsWithEnv(argc, argv, "LOADGEN", kUsage);
  const std::string scenario = absl::GetFlag(FLAGS_scenario);
  const std::string format = absl::GetFlag(FLAGS_format);
  if (format != "table" && format != "json") {
    observer::ExitWithUsageError(absl::StrCat("--format: '", format, "' is not table or json"));
  }
  loadgen::LoadOptions options;
  options.channels = absl::GetFlag(FLAGS_channels);
  options.in_flight_per_channel = absl::GetFlag(FLAGS_in_flight);
  if (options.channels < 1 || options.channels > 1000) {
    observer::ExitWithUsageError("--channels must be 1 to 1000");
  }
  if (options.in_flight_per_channel < 1 || options.in_flight_per_channel > 10000) {
    observer::ExitWithUsageError("--in-flight must be 1 to 10000");
  }
  const double warmup = absl::GetFlag(FLAGS_warmup);
  const double seconds = absl::GetFlag(FLAGS_seconds);
  const double rate = absl::GetFlag(FLAGS_rate);
  if (!(warmup >= 0) || !std::isfinite(warmup)) {
    observer::ExitWithUsageError("--warmup must be at least 0 seconds");
  }
  if (!(seconds > 0) || !std::isfinite(seconds)) {
    observer::ExitWithUsageError("--seconds must be positive");
  }
  if (!(rate >= 0) || !std::isfinite(rate)) {
    observer::ExitWithUsageError("--rate must be at least 0 (0: closed loop)");
  }
  options.warmup = absl::Seconds(warmup);
  options.duration = absl::Seconds(seconds);
  options.rate = rate;
  if (absl::GetFlag(FLAGS_records) < 1) observer::ExitWithUsageError("--records must be positive");
  if (absl::GetFlag(FLAGS_payload_bytes) > (64 << 20)) {
    observer::ExitWithUsageError("--payload-bytes must be at most 64 MiB");
  }

  const std::string target = absl::GetFlag(FLAGS_target);
  const std::string stats_address = absl::GetFlag(FLAGS_stats);
  RequireAddress("target", target);
  const loadgen::Channels channels = loadgen::MakeChannels(target, options.channels);
  loadgen::Channels stats_channels;
  std::unique_ptr<loadgen::Scenario> run;
  if (scenario == "echo" || scenario == "create" || scenario == "get") {
    run = MakeScenario(scenario, channels, {});
  } else if (scenario == "breakdown") {
    CheckDimensionAndStatus();
    run = MakeScenario(scenario, {}, channels);
  } else if (scenario == "visibility") {
    RequireAddress("stats", stats_address);
    stats_channels = loadgen::MakeChannels(stats_address, options.channels);
    run = MakeScenario(scenario, channels, stats_channels);
  } else if (scenario == "mix") {
    std::vector<std::pair<double, std::unique_ptr<loadgen::Scenario>>> parts;
    for (absl::string_view part :
         absl::StrSplit(absl::GetFlag(FLAGS_mix), ',', absl::SkipEmpty())) {
      std::vector<std::string> name_weight = absl::StrSplit(part, '=');
      double weight = 0;
      if (name_weight.size() != 2 || !absl::SimpleAtod(name_weight[1], &weight) || !(weight > 0) ||
          !std::isfinite(weight)) {
        observer::ExitWithUsageError(
            absl::StrCat("--mix: '", part, "' is not name=weight with a positive weight"));
      }
      const std::string& name = name_weight[0];
      if (name != "create" && name != "get" && name != "breakdown" && name != "visibility") {
        observer::ExitWithUsageError(
            absl::StrCat("--mix: '", name, "' is not one of create, get, breakdown, visibility"));
      }
      if (name == "breakdown" || name == "visibility") {
        RequireAddress("stats", stats_address);
        if (name == "breakdown") CheckDimensionAndStatus();
        if (stats_channels.empty()) {
          stats_channels = loadgen::MakeChannels(stats_address, options.channels);
        }
      }
      parts.emplace_back(weight, MakeScenario(name, channels, stats_channels));
    }
    if (parts.empty()) observer::ExitWithUsageError("--mix: no parts");
    run = loadgen::MakeMixScenario("mix", std::move(parts));
  } else {
    observer::ExitWithUsageError(
        absl::StrCat("--scenario: '", scenario,
                     "' is not one of echo, create, get, breakdown, visibility, mix"));
  }

  absl::StatusOr<loadgen::LoadResult> result = loadgen::RunLoad(*run, options);
  if (!result.ok()) {
    std::fprintf(stderr, "observer-loadgen: %s\n", result.status().ToString().c_str());
    return 1;
  }
  if (format == "json") {
    std::printf("%s\n", loadgen::ToJson(*result).c_str());
  } else {
    std::printf("%s", loadgen::ToTable({*result}).c_str());
  }
  std::fflush(stdout);
  if (result->error_count() > 0) {
    std::fprintf(stderr, "observer-loadgen: %lld calls failed; first: %s\n",
                 static_cast<long long>(result->error_count()), result->first_error.c_str());
    return 1;
  }
  return 0;
}
