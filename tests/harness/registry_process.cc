#include "tests/harness/registry_process.h"

#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <utility>

#include "registry-service/src/storage/audit_chain.h"
#include "tests/harness/postgres_cluster.h"

namespace observer::testing {
namespace {

StoreUrl StoreFor(const std::string& store_dir) {
  if (!TestStoreIsPostgres()) return {"sqlite://" + store_dir + "/registry.db", ""};
  return {TestPostgresDatabase(store_dir), EnsureAuditKeyFile(store_dir + "/audit.key")};
}

// Whether a test's own flags name the audit key file (then the store's is not added: a test of
// the flag sees only its own).
bool GivesAuditKeyFile(const std::vector<std::string>& args) {
  for (const std::string& arg : args) {
    if (arg == "--audit-key-file" || arg.rfind("--audit-key-file=", 0) == 0) return true;
  }
  return false;
}

std::mutex& PostgresMutex() {
  static std::mutex mu;
  return mu;
}

}  // namespace

bool TestStoreIsPostgres() {
  const char* store = std::getenv("OBSERVER_TEST_STORE");
  return store != nullptr && std::string(store) == "postgresql";
}

PostgresCluster& TestPostgres() {
  static std::unique_ptr<PostgresCluster> cluster;
  std::lock_guard<std::mutex> lock(PostgresMutex());
  if (cluster == nullptr) {
    if (PostgresBinDir().empty() && std::getenv("CI") == nullptr) {
      std::fprintf(stderr,
                   "skipped: no PostgreSQL server binaries for OBSERVER_TEST_STORE=postgresql "
                   "(bash scripts/deps.sh installs them)\n");
      std::exit(77);  // The SKIP_RETURN_CODE of the SUITE_postgres tests (tests/CMakeLists.txt).
    }
    absl::StatusOr<std::unique_ptr<PostgresCluster>> started = PostgresCluster::Start();
    if (!started.ok()) {
      std::fprintf(stderr, "cannot start the tests' PostgreSQL cluster: %s\n",
                   std::string(started.status().message()).c_str());
      std::exit(1);
    }
    cluster = std::move(*started);
  }
  return *cluster;
}

std::string TestPostgresDatabase(const std::string& key) {
  PostgresCluster& cluster = TestPostgres();
  static std::map<std::string, std::string> databases;
  std::lock_guard<std::mutex> lock(PostgresMutex());
  auto it = databases.find(key);
  if (it == databases.end()) {
    const std::string name = "registry_" + std::to_string(databases.size() + 1);
    if (absl::Status created = cluster.CreateDatabase(name); !created.ok()) {
      std::fprintf(stderr, "cannot create the test database %s: %s\n", name.c_str(),
                   std::string(created.message()).c_str());
      std::exit(1);
    }
    it = databases.emplace(key, name).first;
  }
  return cluster.Url(it->second);
}

std::string EnsureAuditKeyFile(const std::string& path) {
  bool created = false;
  if (absl::StatusOr<std::string> key = registry::ReadOrCreateAuditKeyFile(path, &created);
      !key.ok()) {
    std::fprintf(stderr, "cannot make the audit key %s: %s\n", path.c_str(),
                 std::string(key.status().message()).c_str());
  }
  return path;
}

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
    : RegistryProcess(StoreFor(store_dir), std::move(extra_args)) {}

RegistryProcess::RegistryProcess(StoreUrl store, std::vector<std::string> extra_args)
    : ServiceProcess("registry-service", RegistryServiceBinary(), "REGISTRY_SERVICE_BINARY",
                     [this] {
                       std::vector<std::string> args = {"--store", store_.url};
                       if (!store_.audit_key_file.empty() && !GivesAuditKeyFile(extra_args_)) {
                         args.insert(args.end(), {"--audit-key-file", store_.audit_key_file});
                       }
                       args.insert(args.end(), extra_args_.begin(), extra_args_.end());
                       return args;
                     }),
      store_(std::move(store)),
      extra_args_(std::move(extra_args)) {}

}  // namespace observer::testing
