#include "tests/harness/registry_process.h"

#include <utility>

namespace observer::testing {

std::vector<std::string> TestRegistryFlags(std::vector<std::string> extra) {
  std::vector<std::string> flags = {"--watch-progress-interval", "200ms", "--drain-period",
                                    "100ms"};
  flags.insert(flags.end(), extra.begin(), extra.end());
  return flags;
}

std::string RegistryServiceBinary() {
#ifdef REGISTRY_SERVICE_BINARY
  return BinaryPath("REGISTRY_SERVICE_BINARY", REGISTRY_SERVICE_BINARY);
#else
  return BinaryPath("REGISTRY_SERVICE_BINARY", "");
#endif
}

RegistryProcess::RegistryProcess(std::string store_dir, std::vector<std::string> extra_args)
    : ServiceProcess("registry-service", RegistryServiceBinary(), "REGISTRY_SERVICE_BINARY",
                     [this] {
                       std::vector<std::string> args = {"--store", store_uri_};
                       args.insert(args.end(), extra_args_.begin(), extra_args_.end());
                       return args;
                     }),
      store_uri_("sqlite://" + std::move(store_dir) + "/registry.db"),
      extra_args_(std::move(extra_args)) {}

}  // namespace observer::testing
