#include "tests/harness/stats_process.h"

#include <cstdlib>
#include <utility>

namespace observer::testing {

std::string StatsServiceBinary() {
  if (const char* env = std::getenv("STATS_SERVICE_BINARY"); env != nullptr && *env != '\0') {
    return env;
  }
#ifdef STATS_SERVICE_BINARY
  return STATS_SERVICE_BINARY;
#else
  return "";
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
