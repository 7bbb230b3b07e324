// A throwaway PostgreSQL 15 cluster owned by the test (or benchmark) that starts it: initdb into
// a fresh temporary directory, the server (`postgres`, no pg_ctl) started as a child process
// listening on 127.0.0.1 only, on a free loopback port, with its unix socket in that directory;
// stopped and the directory removed when the owner goes away. It never outlives this process
// (PR_SET_PDEATHSIG, command.h).
//
//   absl::StatusOr<std::unique_ptr<PostgresCluster>> pg = PostgresCluster::Start();
//   ASSERT_TRUE(pg.ok()) << pg.status();             // The message carries the server's log.
//   ASSERT_OK((*pg)->CreateDatabase("registry"));
//   std::string url = (*pg)->Url("registry");        // postgresql://observer@127.0.0.1:P/registry
//   ... (*pg)->Kill(); ASSERT_OK((*pg)->Restart());  // A crash, then crash recovery.
//
// Authentication: the bootstrap superuser is `observer` (initdb -U observer) and every
// connection is trusted (no password): any local user of the machine can connect to it as
// superuser while it runs. It listens on loopback only and lives as long as a test; never put
// data in it that other local users must not see.
//
// Root: PostgreSQL refuses to run as root. When this process runs as root, initdb and the
// server run as the Debian `postgres` system user (made by the postgresql-common package): the
// temporary directory (mode 0700) is given to that user and the children drop to its uid and
// gid before exec (CommandOptions::run_as_uid). Otherwise they run as the current user.
//
// The server settings: listen_addresses 127.0.0.1, fsync per the options (synchronous_commit and
// full_page_writes always on; recovery_init_sync_method syncfs), shared_buffers 128MB, timezone
// UTC, locale C.UTF-8 and encoding UTF8, its log in DIR/postgresql.log (logging_collector), ssl
// per the options. It is ready when its postmaster.pid says so (as pg_ctl waits).
//
// Start (and Restart) it from the main thread (or a thread that outlives it): the server is
// killed when the thread that started it exits. No test framework here: the benchmarks use it too.
#ifndef OBSERVER_TESTS_HARNESS_POSTGRES_CLUSTER_H_
#define OBSERVER_TESTS_HARNESS_POSTGRES_CLUSTER_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tests/harness/command.h"

namespace observer::testing {

// Where Debian's postgresql-15 package installs the server binaries.
inline constexpr char kDefaultPostgresBinDir[] = "/usr/lib/postgresql/15/bin";

// The directory of the PostgreSQL server binaries (initdb, postgres): $OBSERVER_PG_BINDIR if
// set, else kDefaultPostgresBinDir; "" if initdb or postgres is not executable there.
std::string PostgresBinDir();

struct PostgresClusterOptions {
  // The server's fsync: off only for fast unit suites; durability tests and benchmarks keep
  // it on. (initdb never syncs the files it writes: only a power loss, which no test causes,
  // would need that.)
  bool fsync = true;
  // ssl=on with `tls_cert` and `tls_key` (PEM files, copied into the data directory, owned by
  // the server's user, the key 0600). With `tls_ca` (also copied), clients may present
  // certificates, which the server verifies against it (authentication stays trust).
  bool tls = false;
  std::string tls_cert;
  std::string tls_key;
  std::string tls_ca;
  int max_connections = 200;
  // The port on 127.0.0.1 (0: a free one, with another attempt when it is taken before the
  // server binds it).
  int port = 0;
  // More server settings, "name=value" each (passed as -c name=value).
  std::vector<std::string> settings;
  // The temporary directory is made under this one. "": $TMPDIR, or /tmp when it is unset or
  // the server's user cannot reach it (running as root) or it is too long for a socket path.
  std::string parent_dir;
  // From the start of the server until it accepts connections (crash recovery included).
  absl::Duration start_timeout = absl::Seconds(60);
  // Attempts with a new port when the server could not bind the free port found (taken between
  // our probe and its bind).
  int port_attempts = 5;
};

class PostgresCluster {
 public:
  // The role every connection uses (a superuser).
  static constexpr char kUser[] = "observer";

  // initdb, then starts the server and waits until it accepts connections as `observer`.
  // FAILED_PRECONDITION if the server binaries are missing (PostgresBinDir) or cannot be run
  // (as root without a `postgres` user, or when the change of user is not permitted), saying
  // why; otherwise an error with initdb's output or the server's log.
  static absl::StatusOr<std::unique_ptr<PostgresCluster>> Start(
      PostgresClusterOptions options = {});

  // Stops the server (immediate shutdown, SIGKILL if that takes over 10 s) and removes the
  // directory.
  ~PostgresCluster();
  PostgresCluster(const PostgresCluster&) = delete;
  PostgresCluster& operator=(const PostgresCluster&) = delete;

  int port() const { return port_; }
  // A libpq URI for database `db`: postgresql://observer@127.0.0.1:PORT/DB, followed by
  // "?" `query` (e.g. "sslmode=verify-full&sslrootcert=/path/ca.pem") when it is not empty.
  std::string Url(const std::string& db, const std::string& query = "") const;

  // CREATE DATABASE; ALREADY_EXISTS if there is one of that name.
  absl::Status CreateDatabase(const std::string& name);
  // DROP DATABASE ... WITH (FORCE): connections to it are ended. NOT_FOUND if there is none.
  absl::Status DropDatabase(const std::string& name);
  // PostgresQuery(Url(db), sql).
  absl::StatusOr<std::vector<std::string>> Query(const std::string& db, const std::string& sql);

  // SIGKILL to the postmaster (a crash); its children notice and exit on their own. Returns
  // when no process of the cluster runs any more (the children still running after 10 s are
  // killed too). No-op if it is not running.
  void Kill();
  // A fast shutdown (SIGINT: sessions ended, a checkpoint written), waiting up to `timeout`.
  // An error if the server had exited before (crashed) or did not stop in time (it is then
  // killed). OK if it is not running.
  absl::Status Stop(absl::Duration timeout = absl::Seconds(60));
  // Starts the server again on the same data directory and port, after Kill or Stop (crash
  // recovery after Kill), and waits until it accepts connections. FAILED_PRECONDITION if it is
  // running.
  absl::Status Restart();
  // Whether the postmaster runs (has not exited, been killed or stopped).
  bool Running() const;
  // The postmaster's pid (-1 if not running).
  pid_t pid() const { return process_.pid(); }

  // The temporary directory: the data directory, the unix socket and the log are in it.
  const std::string& dir() const { return dir_; }
  const std::string& data_dir() const { return data_dir_; }
  // The server log (DIR/postgresql.log) followed by what the postmaster wrote to its stdout
  // and stderr before its logger started (all its runs), for failure messages.
  std::string log() const;

 private:
  PostgresCluster() = default;

  // Starts the postmaster on port_ and waits until it answers as this cluster. UNAVAILABLE
  // with `*port_conflict` set when it exited because the port was taken.
  absl::Status Launch(bool* port_conflict);
  // Waits until no process runs in the data directory (the postmaster's children after a
  // crash), killing those left after `grace`.
  void WaitForLeftovers(absl::Duration grace);
  // Reaps the postmaster (after it exited or was killed), keeping what it wrote.
  void Reap(absl::StatusOr<CommandResult> ended);

  PostgresClusterOptions options_;
  std::string bin_dir_;
  std::string dir_;
  std::string data_dir_;
  int port_ = 0;
  CommandOptions command_;  // How children are run (user, environment).
  std::vector<std::string> argv_;
  std::string earlier_output_;  // What earlier runs of the postmaster wrote.
  CommandProcess process_;
};

// Runs `sql` (one or more statements; several run in one transaction unless they say
// otherwise) on a new connection to the libpq URI `url`, and returns the rows of the last
// statement's result as text: one string per row, its columns separated by tabs, NULL as \N.
// No rows for a statement that returns none. UNAVAILABLE if it cannot connect (a database that
// does not exist included); a failed statement's error, with its SQLSTATE in the message, as
// ALREADY_EXISTS (42P04, 42P06, 42P07, 42710: duplicate database, schema, table, object),
// NOT_FOUND (3D000), INVALID_ARGUMENT (the rest of class 42: syntax, undefined objects,
// privileges), UNAVAILABLE (classes 08 and 57P: connection lost, shutdown) or INTERNAL.
absl::StatusOr<std::vector<std::string>> PostgresQuery(const std::string& url,
                                                       const std::string& sql);

}  // namespace observer::testing

#endif  // OBSERVER_TESTS_HARNESS_POSTGRES_CLUSTER_H_
