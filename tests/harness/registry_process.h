// Runs the real `registry-service` binary as a child process for black-box tests.
//
//   TempDir dir;
//   RegistryProcess server(dir.path());
//   ASSERT_OK(server.Start());
//   RegistryClient client(server.channel());
//   ...
//   server.Kill();     // SIGKILL: a crash
//   ASSERT_OK(server.Start());  // same store, new port
//   ASSERT_OK(server.StartOnPort(port));  // or the same port, for clients configured with it
//
// The server is started with `--listen 127.0.0.1:<port> --store sqlite://<dir>/registry.db`
// plus any extra flags. See ServiceProcess for readiness, output and signals.
#ifndef OBSERVER_TESTS_HARNESS_REGISTRY_PROCESS_H_
#define OBSERVER_TESTS_HARNESS_REGISTRY_PROCESS_H_

#include <string>
#include <vector>

#include "tests/harness/service_process.h"

namespace observer::testing {

// Path of the registry-service binary: $REGISTRY_SERVICE_BINARY if set, else the path CMake
// compiled in, else "" (tests then fail with a clear message).
std::string RegistryServiceBinary();

// The flags the tests give a registry they follow closely: progress notifications every 200 ms
// (a follower's idle revision and staleness move with them) and a short drain; then `extra`.
std::vector<std::string> TestRegistryFlags(std::vector<std::string> extra = {});

class RegistryProcess : public ServiceProcess {
 public:
  // `store_dir` holds registry.db; `extra_args` are appended to every start.
  explicit RegistryProcess(std::string store_dir, std::vector<std::string> extra_args = {});

  const std::string& store_uri() const { return store_uri_; }

 private:
  const std::string store_uri_;
  const std::vector<std::string> extra_args_;
};

}  // namespace observer::testing

#endif  // OBSERVER_TESTS_HARNESS_REGISTRY_PROCESS_H_
