// registry-service: wires the store, the domain, the change stream and the gRPC server.
#include <cstdlib>
#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "common/config.h"
#include "common/country_codes.h"
#include "common/grpc_server.h"
#include "common/log.h"
#include "common/service_flags.h"
#include "registry-service/src/api/registry_handler.h"
#include "registry-service/src/api/registry_metrics.h"
#include "registry-service/src/changelog/watch_hub.h"
#include "registry-service/src/domain/registry.h"
#include "registry-service/src/storage/audit_chain.h"
#include "registry-service/src/storage/postgres_store.h"
#include "registry-service/src/storage/sqlite_store.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50051", "gRPC listen address (host:port)");
ABSL_FLAG(std::string, metrics_listen, "127.0.0.1:9464",
          "Prometheus /metrics address (host:port; port 0 picks one; empty: no metrics)");
ABSL_FLAG(std::string, store, "sqlite://registry.db",
          "Store URL: sqlite://PATH (relative) or sqlite:///ABSOLUTE/PATH, or a PostgreSQL "
          "URI postgresql://USER@HOST:PORT/DATABASE?sslmode=verify-full&sslrootcert=FILE (libpq "
          "parameters; several replicas may share one database)");
ABSL_FLAG(int32_t, store_max_connections, 8,
          "PostgreSQL: most read connections per replica (each also holds one writer and one "
          "change-listener connection)");
ABSL_FLAG(absl::Duration, store_poll_interval, absl::Seconds(1),
          "PostgreSQL: the change log is read at least this often for other replicas' "
          "changes (NOTIFY wakes it sooner)");
ABSL_FLAG(int64_t, changelog_retention, 1000000,
          "How many of the latest revisions the change log keeps for resuming watchers");
ABSL_FLAG(absl::Duration, watch_progress_interval, absl::Seconds(5),
          "Idle watchers get a progress notification this often");
ABSL_FLAG(int32_t, watch_cache_events, 65536, "Recent change events kept in memory for watchers");
ABSL_FLAG(int32_t, commit_max_group, 256, "Most write requests committed in one transaction");
ABSL_FLAG(int32_t, max_watchers, 1000,
          "Most Watch streams open at once; more are refused with RESOURCE_EXHAUSTED");
ABSL_FLAG(absl::Duration, default_deadline, absl::Seconds(30),
          "A write from a call that set no deadline is not begun after this long");
ABSL_FLAG(absl::Duration, store_busy_timeout, absl::Seconds(5),
          "How long a write waits for a store lock held by another process (or replica), and "
          "a PostgreSQL read for a free connection");
ABSL_FLAG(std::string, audit_key_file, "",
          "File holding the HMAC key of the change log's audit hash chain: its raw bytes, at "
          "least 32 (head -c 32 /dev/urandom > FILE), not readable by other users. Keep it "
          "outside the store's volume. Empty: STORE_PATH.audit-key, created if missing (SQLite "
          "only: every replica on PostgreSQL must be given the same key file)");

namespace {

constexpr char kUsage[] =
    "registry-service: the register of accredited foreign election observers.\n"
    "Usage: registry-service --listen 127.0.0.1:50051 --store sqlite:///var/lib/observer/"
    "registry.db";

bool IsPostgresUrl(absl::string_view url) {
  return absl::StartsWith(url, "postgresql://") || absl::StartsWith(url, "postgres://");
}

// sqlite://relative/path or sqlite:///absolute/path → the file path.
std::string SqlitePath(const std::string& url) {
  absl::string_view path = url;
  if (!absl::ConsumePrefix(&path, "sqlite://") || path.empty()) {
    observer::ExitWithUsageError(absl::StrCat(
        "--store: '", observer::RedactSecret("store", url),
        "' is not supported; use sqlite://PATH or postgresql://USER@HOST:PORT/DATABASE"));
  }
  return std::string(path);
}

// The audit key from --audit-key-file; without it, from STORE_PATH.audit-key, created with a
// random key on first use. Exits 2 naming the flag if the file is unusable.
std::string LoadAuditKey(const std::string& store_path) {
  std::string file = absl::GetFlag(FLAGS_audit_key_file);
  if (!file.empty()) {
    absl::StatusOr<std::string> key = observer::registry::ReadAuditKeyFile(file);
    if (!key.ok()) {
      observer::ExitWithUsageError(absl::StrCat("--audit-key-file: ", key.status().message()));
    }
    return *std::move(key);
  }
  if (store_path.empty()) {
    observer::ExitWithUsageError(
        "--audit-key-file is required with a PostgreSQL store: every replica must chain the "
        "change log with the same key (head -c 32 /dev/urandom > FILE, shared as a secret)");
  }
  file = store_path + ".audit-key";
  bool created = false;
  absl::StatusOr<std::string> key = observer::registry::ReadOrCreateAuditKeyFile(file, &created);
  if (!key.ok()) {
    observer::ExitWithUsageError(
        absl::StrCat("--audit-key-file not given, and the default ", key.status().message()));
  }
  observer::LogWarning(
      created ? "created an audit key beside the store (no --audit-key-file)"
              : "using the audit key beside the store (no --audit-key-file)",
      {{"service", "registry"},
       {"audit_key_file", file},
       {"advice",
        "in production keep the key outside the store's volume and pass --audit-key-file: "
        "whoever can edit the store and read this key can rewrite the change log undetected"}});
  return *std::move(key);
}

}  // namespace

int main(int argc, char** argv) {
  observer::BlockTerminationSignals();
  observer::ParseFlagsWithEnv(argc, argv, "REGISTRY", kUsage);
  observer::ApplyLogLevelFlag();
  observer::ArmFailpointsFromEnvironment();
  observer::LogStartupConfig("registry");
  const std::string listen = absl::GetFlag(FLAGS_listen);
  observer::RequireAddressFlag("listen", listen);
  if (const std::string metrics_listen = absl::GetFlag(FLAGS_metrics_listen);
      !metrics_listen.empty()) {
    observer::RequireAddressFlag("metrics-listen", metrics_listen);
  }
  if (absl::GetFlag(FLAGS_changelog_retention) < 1) {
    observer::ExitWithUsageError("--changelog-retention must be at least 1");
  }
  if (absl::GetFlag(FLAGS_watch_cache_events) < 1 || absl::GetFlag(FLAGS_commit_max_group) < 1) {
    observer::ExitWithUsageError("--watch-cache-events and --commit-max-group must be positive");
  }
  if (absl::GetFlag(FLAGS_max_watchers) < 1) {
    observer::ExitWithUsageError("--max-watchers must be at least 1");
  }
  if (absl::GetFlag(FLAGS_watch_progress_interval) < absl::Milliseconds(10)) {
    observer::ExitWithUsageError("--watch-progress-interval must be at least 10ms");
  }
  const std::string store_url = absl::GetFlag(FLAGS_store);
  const bool postgres = IsPostgresUrl(store_url);
  // The SQLite file ("" for PostgreSQL).
  const std::string path = postgres ? std::string() : SqlitePath(store_url);
  const std::string store_for_logs = observer::RedactSecret("store", store_url);
  if (absl::GetFlag(FLAGS_store_max_connections) < 1) {
    observer::ExitWithUsageError("--store-max-connections must be at least 1");
  }
  if (absl::GetFlag(FLAGS_store_poll_interval) < absl::Milliseconds(10)) {
    observer::ExitWithUsageError("--store-poll-interval must be at least 10ms");
  }
  const observer::CountryCodes& countries = observer::CountryCodes::Default();

  observer::Metrics metrics("registry");
  const observer::TransportSecurity security = observer::TransportSecurityFromFlags(listen);
  std::unique_ptr<observer::Authorizer> authorizer =
      observer::AuthorizerFromFlags(security, metrics);
  const absl::Duration default_deadline = absl::GetFlag(FLAGS_default_deadline);
  if (default_deadline < absl::Milliseconds(100)) {
    observer::ExitWithUsageError("--default-deadline must be at least 100ms");
  }
  observer::registry::RegistryMetrics registry_metrics(metrics);
  auto on_commit = [&registry_metrics](int requests, absl::Duration duration,
                                       const absl::Status& commit) {
    registry_metrics.OnCommit(requests, duration, commit);
  };
  const std::string audit_key = LoadAuditKey(path);
  const std::string audit_key_id = observer::registry::AuditKeyId(audit_key);
  std::unique_ptr<observer::registry::Store> store;
  std::string head_key_id;
  int64_t changes_chained_at_open = 0;
  absl::Status opened;
  if (postgres) {
    observer::registry::PostgresStoreOptions store_options;
    store_options.on_commit = on_commit;
    store_options.max_group_size = absl::GetFlag(FLAGS_commit_max_group);
    store_options.busy_timeout = absl::GetFlag(FLAGS_store_busy_timeout);
    store_options.max_read_connections = absl::GetFlag(FLAGS_store_max_connections);
    store_options.poll_interval = absl::GetFlag(FLAGS_store_poll_interval);
    store_options.audit_key = audit_key;
    auto pg_store = observer::registry::PostgresStore::Open(store_url, store_options);
    opened = pg_store.status();
    if (pg_store.ok()) {
      head_key_id = (*pg_store)->head_key_id();
      store = std::move(*pg_store);
    }
  } else {
    observer::registry::SqliteStoreOptions store_options;
    store_options.on_commit = on_commit;
    store_options.on_sync = [&registry_metrics](absl::Duration duration) {
      registry_metrics.OnSync(duration);
    };
    store_options.max_group_size = absl::GetFlag(FLAGS_commit_max_group);
    store_options.busy_timeout = absl::GetFlag(FLAGS_store_busy_timeout);
    store_options.audit_key = audit_key;
    auto sqlite_store = observer::registry::SqliteStore::Open(path, store_options);
    opened = sqlite_store.status();
    if (sqlite_store.ok()) {
      head_key_id = (*sqlite_store)->head_key_id();
      changes_chained_at_open = (*sqlite_store)->changes_chained_at_open();
      store = std::move(*sqlite_store);
    }
  }
  if (!opened.ok()) {
    observer::LogError("cannot open the store",
                       {{"store", store_for_logs}, {"error", opened.message()}});
    return 1;
  }
  auto revisions = store->GetRevisions();
  if (!revisions.ok()) {
    observer::LogError("cannot read the store",
                       {{"store", store_for_logs}, {"error", revisions.status().message()}});
    return 1;
  }
  observer::registry::WatchHub hub(revisions->head, {absl::GetFlag(FLAGS_watch_cache_events),
                                                     absl::GetFlag(FLAGS_watch_progress_interval)});
  store->SetCommitListener([&hub](std::vector<observer::registry::v1::ChangeEvent> events) {
    hub.Publish(std::move(events));
  });
  observer::registry::RegistryOptions registry_options;
  registry_options.changelog_retention = absl::GetFlag(FLAGS_changelog_retention);
  registry_options.on_replay = [&registry_metrics] { registry_metrics.OnReplay(); };
  observer::registry::Registry registry(*store, countries, registry_options);
  observer::registry::RegistryHandler handler(
      registry, *store, hub, *authorizer,
      {static_cast<size_t>(absl::GetFlag(FLAGS_max_watchers)), default_deadline});
  registry_metrics.Observe(*store, hub, handler, path);

  observer::LogInfo("store opened", {{"service", "registry"},
                                     {"store", store_for_logs},
                                     {"head_revision", revisions->head},
                                     {"compact_revision", revisions->compact},
                                     {"audit_key_id", audit_key_id}});
  if (changes_chained_at_open > 0) {
    observer::LogInfo("chained the existing change log with the audit key",
                      {{"service", "registry"},
                       {"changes", changes_chained_at_open},
                       {"audit_key_id", audit_key_id}});
  }
  if (!head_key_id.empty() && head_key_id != audit_key_id) {
    observer::LogWarning(
        "the audit key differs from the one the newest change was chained with",
        {{"service", "registry"},
         {"audit_key_id", audit_key_id},
         {"head_key_id", head_key_id},
         {"effect",
          "new changes are chained with this key; observerctl audit verify reports the older "
          "ones as KEY_MISMATCH: if the key file was replaced by mistake, restore it"}});
  }
  observer::ServeOptions serve =
      observer::ServeOptionsFromFlags("registry", listen, absl::GetFlag(FLAGS_metrics_listen));
  serve.metrics = &metrics;
  serve.grpc_services = {"observer.registry.v1.RegistryService"};
  const int exit_code =
      observer::ServeUntilSignal(serve, {&handler}, [&handler] { handler.CloseWatches(); });
  // The store's writer publishes to the hub until its queue (e.g. a compaction) is drained:
  // stop it while the hub still exists.
  store.reset();
  return exit_code;
}
