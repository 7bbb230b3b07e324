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
//
// With OBSERVER_TEST_STORE=postgresql in the environment (how ctest runs the end-to-end suites
// a second time), the store is instead a PostgreSQL database of its own per `store_dir`, on a
// cluster the test binary starts on first use (TestPostgres below), with an audit key file in
// `store_dir` (`store_dir`/audit.key, not given when the test's own flags name one): the same
// suites then test the PostgreSQL store.
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

// Whether the registries of this test run on PostgreSQL (OBSERVER_TEST_STORE=postgresql).
bool TestStoreIsPostgres();

class PostgresCluster;
// The test binary's PostgreSQL cluster (fsync on), started on first use from the calling
// thread (the main thread: the server is stopped when the thread that started it ends) and
// stopped at exit. Exits the test with a message if it cannot start: with 77 (the ctest skip
// code of the SUITE_postgres tests) when the server binaries are missing, unless CI is set.
PostgresCluster& TestPostgres();
// A database of its own on TestPostgres() for `key` (created on first use; the same key gives
// the same database), as a URL.
std::string TestPostgresDatabase(const std::string& key);

// A store given by URL (e.g. one PostgreSQL database several replicas share) and the audit key
// file every registry on it must be given.
struct StoreUrl {
  std::string url;
  std::string audit_key_file;
};

// Writes 32 random bytes to `path` (mode 0600) unless it exists; returns `path`.
std::string EnsureAuditKeyFile(const std::string& path);

class RegistryProcess : public ServiceProcess {
 public:
  // `store_dir` holds registry.db (or the audit key of the PostgreSQL database made for it);
  // `extra_args` are appended to every start.
  explicit RegistryProcess(std::string store_dir, std::vector<std::string> extra_args = {});
  RegistryProcess(StoreUrl store, std::vector<std::string> extra_args = {});

  const std::string& store_uri() const { return store_.url; }

 private:
  const StoreUrl store_;
  const std::vector<std::string> extra_args_;
};

}  // namespace observer::testing

#endif  // OBSERVER_TESTS_HARNESS_REGISTRY_PROCESS_H_
