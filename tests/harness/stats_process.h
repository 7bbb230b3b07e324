// Runs the real `stats-service` binary as a child process for black-box tests:
// `stats-service --listen 127.0.0.1:<port> --registry <address> [extra flags]`.
//
//   StatsProcess stats(registry.address(), {"--staleness-bound", "1s"});
//   ASSERT_OK(stats.Start());
//   StatsClient client(stats.channel());
//
// See ServiceProcess for readiness, output and signals.
#ifndef OBSERVER_TESTS_HARNESS_STATS_PROCESS_H_
#define OBSERVER_TESTS_HARNESS_STATS_PROCESS_H_

#include <string>
#include <vector>

#include "tests/harness/service_process.h"

namespace observer::testing {

// Path of the stats-service binary: $STATS_SERVICE_BINARY if set, else the path CMake
// compiled in, else "" (tests then fail with a clear message).
std::string StatsServiceBinary();

// The flags the tests give a stats-service: reconnect quickly (backoff at most 500 ms) and a
// short drain; then `extra`.
std::vector<std::string> TestStatsFlags(std::vector<std::string> extra = {});

class StatsProcess : public ServiceProcess {
 public:
  // `registry_address` ("127.0.0.1:<port>") is passed as --registry; `extra_args` are
  // appended to every start.
  explicit StatsProcess(std::string registry_address, std::vector<std::string> extra_args = {});

  const std::string& registry_address() const { return registry_address_; }
  // For the next start.
  void set_registry_address(std::string address) { registry_address_ = std::move(address); }

 private:
  std::string registry_address_;
  const std::vector<std::string> extra_args_;
};

}  // namespace observer::testing

#endif  // OBSERVER_TESTS_HARNESS_STATS_PROCESS_H_
