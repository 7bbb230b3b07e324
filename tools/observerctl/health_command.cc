// `health`: grpc.health.v1 of either service or both, for operators, container health checks
// and scripts that wait for a service to be ready.
#include <iostream>
#include <string>
#include <vector>

#include "common/health_client.h"
#include "tools/observerctl/commands.h"

namespace observer::ctl {
namespace {

int Health(const Invocation& inv) {
  std::vector<Service> services = {Service::kRegistry, Service::kStats};
  if (!inv.args.empty()) {
    if (inv.args[0] == "registry") {
      services = {Service::kRegistry};
    } else if (inv.args[0] == "stats") {
      services = {Service::kStats};
    } else {
      return UsageError("health: the service is 'registry' or 'stats', not '" + inv.args[0] + "'");
    }
  }
  return WithConnection(inv, [&](Connection& c) {
    int exit_code = kExitOk;
    for (Service service : services) {
      absl::StatusOr<HealthStatus> status = CheckHealth(c.channel(service), c.options().timeout);
      if (!status.ok()) {
        c.ReportFailure(service, "grpc.health.v1.Health/Check", status.status());
        exit_code = kExitFailed;
        continue;
      }
      std::cout << Connection::Name(service) << " at " << c.address(service) << ": "
                << HealthStatusName(*status) << "\n";
      if (*status != HealthStatus::kServing) exit_code = kExitFailed;
    }
    return exit_code;
  });
}

}  // namespace

std::vector<CommandSpec> HealthCommands() {
  return {{{"health"},
           "Whether the services are SERVING (grpc.health.v1).",
           "[registry|stats]",
           0,
           1,
           {},
           "Prints each service's health status. Exits 0 when every service checked is SERVING, "
           "1 when one is\nNOT_SERVING (stats-service before its first sync or when stale; either "
           "while draining) or\nunreachable.",
           "  observerctl health\n"
           "  observerctl health stats --stats 10.0.0.5:50052 --timeout 3s",
           Health}};
}

}  // namespace observer::ctl
