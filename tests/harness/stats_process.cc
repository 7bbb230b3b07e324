#include "tests/harness/stats_process.h"

#include <utility>

namespace observer::testing {

std::vector<std::string> TestStatsFlags(std::vector<std::string> extra) {
  std::vector<std::string> flags = {"--reconnect-backoff-max", "500ms", "--drain-period", "100ms"};
  flags.insert(flags.end(), extra.begin(), extra.end());
  return flags;
}

std::string StatsServiceBinary() {
#ifdef STATS_SERVICE_BINARY
  return BinaryPath("STATS_SERVICE_BINARY", STATS_SERVICE_BINARY);
#else
  return BinaryPath("STATS_SERVICE_BINARY", "");
#endif
}

StatsProcess::StatsProcess(std::string registry_address, std::vector<std::string> extra_args)
    : ServiceProcess("stats-service", StatsServiceBinary(), "STATS_SERVICE_BINARY",
                     [this] {
                       std::vector<std::string> args = {"--registry", registry_address_};
                       args.insert(args.end(), extra_args_.begin(), extra_args_.end());
                       return args;
                     }),
      registry_address_(std::move(registry_address)),
      extra_args_(std::move(extra_args)) {}

}  // namespace observer::testing
