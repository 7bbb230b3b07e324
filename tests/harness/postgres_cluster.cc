#include "tests/harness/postgres_cluster.h"

#include <dirent.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"

extern char** environ;

namespace observer::testing {
namespace {

// The user PostgreSQL runs as when we are root (Debian's postgresql-common makes it).
constexpr char kServerUser[] = "postgres";
constexpr char kLogFile[] = "postgresql.log";
// What is kept of the postmaster's own output (its logger takes over once started).
constexpr size_t kMaxOutputBytes = 256 * 1024;
// What error messages quote of the log: its end.
constexpr size_t kQuotedLogBytes = 16384;
// sockaddr_un.sun_path is 108 bytes with the final NUL; the socket is DIR/.s.PGSQL.PORT.
constexpr size_t kMaxSocketDirLength = 107 - sizeof("/.s.PGSQL.65535") + 1;

std::string ErrnoText(absl::string_view what) {
  return absl::StrCat(what, ": ", std::strerror(errno));
}

std::string LastBytes(const std::string& text, size_t n = kQuotedLogBytes) {
  return text.size() > n ? absl::StrCat("[...]\n", text.substr(text.size() - n)) : text;
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Writes `contents` to the new file `path` with `mode`, owned by `uid`/`gid` if set.
absl::Status WriteNewFile(const std::string& path, const std::string& contents, mode_t mode,
                          const std::optional<uid_t>& uid, const std::optional<gid_t>& gid) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return absl::InternalError(ErrnoText(absl::StrCat("create ", path)));
  absl::Status status;
  size_t done = 0;
  while (done < contents.size() && status.ok()) {
    const ssize_t n = write(fd, contents.data() + done, contents.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      status = absl::InternalError(ErrnoText(absl::StrCat("write ", path)));
    } else {
      done += static_cast<size_t>(n);
    }
  }
  if (status.ok() && fchmod(fd, mode) != 0) {  // Whatever the umask.
    status = absl::InternalError(ErrnoText(absl::StrCat("chmod ", path)));
  }
  if (status.ok() && (uid.has_value() || gid.has_value()) &&
      fchown(fd, uid.value_or(static_cast<uid_t>(-1)), gid.value_or(static_cast<gid_t>(-1))) != 0) {
    status = absl::InternalError(ErrnoText(absl::StrCat("chown ", path)));
  }
  close(fd);
  return status;
}

// Whether a process of `uid` and (only) group `gid` can reach `dir`: search permission on it
// and on every directory above it.
bool Reachable(const std::string& dir, uid_t uid, gid_t gid) {
  std::filesystem::path path = std::filesystem::absolute(dir).lexically_normal();
  for (;;) {
    struct stat st;
    if (stat(path.c_str(), &st) != 0) return false;
    const mode_t bit = st.st_uid == uid ? S_IXUSR : st.st_gid == gid ? S_IXGRP : S_IXOTH;
    if ((st.st_mode & bit) == 0) return false;
    if (!path.has_relative_path()) return true;  // The root directory.
    path = path.parent_path();
  }
}

// The environment variables libpq-based programs read (PGDATA, PGPORT, PGOPTIONS, ...), unset
// for initdb and the server so that nothing set outside changes them.
std::vector<std::string> PgVariables() {
  std::vector<std::string> names;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    absl::string_view entry(*e);
    if (absl::StartsWith(entry, "PG")) names.emplace_back(entry.substr(0, entry.find('=')));
  }
  return names;
}

// The pids of the processes whose working directory is `dir` (every PostgreSQL server process
// works in its data directory).
std::vector<pid_t> ProcessesIn(const std::string& dir) {
  std::vector<pid_t> pids;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return pids;
  char target[PATH_MAX];
  while (const dirent* entry = readdir(proc)) {
    int pid = 0;
    if (!absl::SimpleAtoi(entry->d_name, &pid) || pid <= 0) continue;
    const std::string link = absl::StrCat("/proc/", pid, "/cwd");
    const ssize_t n = readlink(link.c_str(), target, sizeof(target));
    if (n > 0 && absl::string_view(target, static_cast<size_t>(n)) == dir) pids.push_back(pid);
  }
  closedir(proc);
  return pids;
}

// "db" percent-encoded for the path of a URI.
std::string PercentEncode(absl::string_view text) {
  std::string out;
  for (const char c : text) {
    if (absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ||
        c == '~') {
      out.push_back(c);
    } else {
      absl::StrAppend(&out, "%", absl::Hex(static_cast<unsigned char>(c), absl::kZeroPad2));
    }
  }
  return out;
}

// A quoted SQL identifier: "name", with any " doubled.
std::string QuoteIdentifier(absl::string_view name) {
  std::string out = "\"";
  for (const char c : name) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

absl::StatusCode CodeForSqlState(absl::string_view state) {
  if (state == "42P04" || state == "42P06" || state == "42P07" || state == "42710") {
    return absl::StatusCode::kAlreadyExists;  // duplicate_database, _schema, _table, _object
  }
  if (state == "3D000") return absl::StatusCode::kNotFound;  // invalid_catalog_name
  if (absl::StartsWith(state, "42")) return absl::StatusCode::kInvalidArgument;
  if (absl::StartsWith(state, "08") || absl::StartsWith(state, "57P")) {
    return absl::StatusCode::kUnavailable;  // Connection exceptions, shutdowns.
  }
  return absl::StatusCode::kInternal;
}

// Whether the lock file `pid_file` of postmaster `pid` says it accepts connections (its line
// LOCK_FILE_LINE_PM_STATUS, the eighth, is PM_STATUS_READY).
bool PostmasterReady(const std::string& pid_file, pid_t pid) {
  std::ifstream in(pid_file);
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    line = std::string(absl::StripAsciiWhitespace(line));
    if (number == 1 && line != absl::StrCat(pid)) return false;  // An earlier run's file.
    if (number == 8) return line == "ready";
  }
  return false;
}

std::string Abridged(const std::string& sql) {
  return sql.size() > 500 ? absl::StrCat(sql.substr(0, 500), "...") : sql;
}

}  // namespace

std::string PostgresBinDir() {
  const char* env = std::getenv("OBSERVER_PG_BINDIR");
  const std::string dir = (env != nullptr && *env != '\0') ? env : kDefaultPostgresBinDir;
  for (const char* binary : {"initdb", "postgres"}) {
    if (access(absl::StrCat(dir, "/", binary).c_str(), X_OK) != 0) return "";
  }
  return dir;
}

absl::StatusOr<std::vector<std::string>> PostgresQuery(const std::string& url,
                                                       const std::string& sql) {
  // The URI's own connect_timeout, if any, comes later and wins.
  const char* keywords[] = {"connect_timeout", "dbname", nullptr};
  const char* values[] = {"10", url.c_str(), nullptr};
  std::unique_ptr<PGconn, decltype(&PQfinish)> conn(
      PQconnectdbParams(keywords, values, /*expand_dbname=*/1), &PQfinish);
  if (conn == nullptr) return absl::ResourceExhaustedError("libpq: out of memory");
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    return absl::UnavailableError(
        absl::StrCat("cannot connect to ", url, ": ",
                     absl::StripTrailingAsciiWhitespace(PQerrorMessage(conn.get()))));
  }
  std::unique_ptr<PGresult, decltype(&PQclear)> result(PQexec(conn.get(), sql.c_str()), &PQclear);
  if (result == nullptr) {
    return absl::UnavailableError(
        absl::StrCat("no result from ", url, ": ",
                     absl::StripTrailingAsciiWhitespace(PQerrorMessage(conn.get()))));
  }
  std::vector<std::string> rows;
  switch (PQresultStatus(result.get())) {
    case PGRES_TUPLES_OK:
      for (int r = 0; r < PQntuples(result.get()); ++r) {
        std::string row;
        for (int c = 0; c < PQnfields(result.get()); ++c) {
          if (c > 0) row.push_back('\t');
          if (PQgetisnull(result.get(), r, c)) {
            row += "\\N";
          } else {
            row.append(PQgetvalue(result.get(), r, c),
                       static_cast<size_t>(PQgetlength(result.get(), r, c)));
          }
        }
        rows.push_back(std::move(row));
      }
      return rows;
    case PGRES_COMMAND_OK:
    case PGRES_EMPTY_QUERY:
      return rows;
    default: {
      const char* state = PQresultErrorField(result.get(), PG_DIAG_SQLSTATE);
      return absl::Status(
          state == nullptr ? absl::StatusCode::kUnavailable : CodeForSqlState(state),
          absl::StrCat(absl::StripTrailingAsciiWhitespace(PQresultErrorMessage(result.get())),
                       " (SQLSTATE ", state == nullptr ? "none" : state, ") in: ", Abridged(sql)));
    }
  }
}

absl::StatusOr<std::unique_ptr<PostgresCluster>> PostgresCluster::Start(
    PostgresClusterOptions options) {
  const std::string bin_dir = PostgresBinDir();
  if (bin_dir.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("the PostgreSQL server binaries (initdb, postgres) are not in ",
                     std::getenv("OBSERVER_PG_BINDIR") != nullptr ? "$OBSERVER_PG_BINDIR"
                                                                  : kDefaultPostgresBinDir,
                     " (Debian: apt-get install postgresql-15; elsewhere set OBSERVER_PG_BINDIR)"));
  }
  if (options.tls && (options.tls_cert.empty() || options.tls_key.empty())) {
    return absl::InvalidArgumentError("tls needs tls_cert and tls_key");
  }
  std::unique_ptr<PostgresCluster> cluster(new PostgresCluster());
  cluster->options_ = options;
  cluster->bin_dir_ = bin_dir;
  CommandOptions& command = cluster->command_;
  command.unset_env = PgVariables();
  command.merge_stderr = true;
  command.max_output_bytes = kMaxOutputBytes;

  // Who the server runs as: we, unless we are root, which PostgreSQL refuses.
  uid_t uid = geteuid();
  gid_t gid = getegid();
  if (uid == 0) {
    passwd entry;
    passwd* found = nullptr;
    char buf[4096];
    if (getpwnam_r(kServerUser, &entry, buf, sizeof(buf), &found) != 0 || found == nullptr) {
      return absl::FailedPreconditionError(absl::StrCat(
          "running as root, which PostgreSQL refuses, and there is no '", kServerUser,
          "' user to run it as (Debian: apt-get install postgresql-15 makes it; or run the "
          "tests as another user)"));
    }
    if (found->pw_uid == 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("the '", kServerUser, "' user is root, which PostgreSQL refuses"));
    }
    uid = found->pw_uid;
    gid = found->pw_gid;
    command.run_as_uid = uid;
    command.run_as_gid = gid;
  }

  // The directory: where the server's user can reach it, short enough for the socket path.
  auto usable = [&](const std::string& parent) {
    return Reachable(parent, uid, gid) &&
           parent.size() + sizeof("/observer-pg-XXXXXX") - 1 <= kMaxSocketDirLength;
  };
  std::string parent = options.parent_dir;
  if (parent.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    parent = (tmp != nullptr && *tmp != '\0' && usable(tmp)) ? tmp : "/tmp";
  }
  if (!usable(parent)) {
    return absl::FailedPreconditionError(
        absl::StrCat(parent, " cannot hold the cluster: not reachable by uid ", uid,
                     " (the server's user) or too long for a unix socket path"));
  }
  std::string dir_template = absl::StrCat(parent, "/observer-pg-XXXXXX");
  if (mkdtemp(dir_template.data()) == nullptr) {  // Mode 0700.
    return absl::InternalError(ErrnoText(absl::StrCat("mkdtemp ", dir_template)));
  }
  char real[PATH_MAX];
  if (realpath(dir_template.c_str(), real) == nullptr) {
    const absl::Status status = absl::InternalError(ErrnoText("realpath " + dir_template));
    rmdir(dir_template.c_str());
    return status;
  }
  cluster->dir_ = real;  // From here on the destructor removes it.
  if (cluster->dir_.size() > kMaxSocketDirLength) {
    return absl::FailedPreconditionError(
        absl::StrCat(cluster->dir_, " is too long for a unix socket path"));
  }
  cluster->data_dir_ = absl::StrCat(cluster->dir_, "/data");
  if (command.run_as_uid.has_value() && chown(cluster->dir_.c_str(), uid, gid) != 0) {
    return absl::InternalError(ErrnoText(absl::StrCat("chown ", cluster->dir_)));
  }

  // initdb: the bootstrap superuser is `observer`, every connection trusted. Without a sync
  // of what it wrote: the server syncs what it writes (per `fsync`), the files initdb wrote
  // would only matter after a power loss, which no test can cause, and syncing them one by
  // one takes seconds on a slow disk.
  const std::vector<std::string> initdb = {absl::StrCat(bin_dir, "/initdb"),
                                           "--pgdata",
                                           cluster->data_dir_,
                                           absl::StrCat("--username=", kUser),
                                           "--auth=trust",
                                           "--encoding=UTF8",
                                           "--locale=C.UTF-8",
                                           "--no-instructions",
                                           "--no-sync"};
  CommandOptions initdb_options = command;
  initdb_options.timeout = absl::Seconds(120);
  absl::StatusOr<CommandResult> ran = RunCommand(initdb, initdb_options);
  if (!ran.ok()) return ran.status();
  if (ran->exit_code() != 0) {
    const bool user_change_failed = ran->exit_code() == 126 && command.run_as_uid.has_value();
    return absl::Status(
        user_change_failed ? absl::StatusCode::kFailedPrecondition : absl::StatusCode::kInternal,
        absl::StrCat(user_change_failed
                         ? absl::StrCat("cannot run initdb as the '", kServerUser,
                                        "' user (is changing user permitted here?): ")
                         : "initdb failed: ",
                     ran->Describe()));
  }

  // The server's certificate and key (and CA) in its data directory, owned by its user.
  if (options.tls) {
    const std::pair<const std::string*, const char*> files[] = {{&options.tls_cert, "server.crt"},
                                                                {&options.tls_key, "server.key"},
                                                                {&options.tls_ca, "root.crt"}};
    for (const auto& [source, name] : files) {
      if (source->empty()) continue;
      absl::StatusOr<std::string> contents = ReadFile(*source);
      if (!contents.ok()) return contents.status();
      if (absl::Status s = WriteNewFile(absl::StrCat(cluster->data_dir_, "/", name), *contents,
                                        0600, command.run_as_uid, command.run_as_gid);
          !s.ok()) {
        return s;
      }
    }
  }

  absl::Status last;
  // Another attempt only on a port of our choosing.
  const int attempts = options.port != 0 ? 1 : std::max(1, options.port_attempts);
  for (int attempt = 0; attempt < attempts; ++attempt) {
    if (options.port != 0) {
      cluster->port_ = options.port;
    } else {
      absl::StatusOr<int> port = FreeLoopbackPort();
      if (!port.ok()) return port.status();
      cluster->port_ = *port;
    }
    bool port_conflict = false;
    last = cluster->Launch(&port_conflict);
    if (last.ok()) return cluster;
    if (!port_conflict) break;
  }
  return last;
}

absl::Status PostgresCluster::Launch(bool* port_conflict) {
  *port_conflict = false;
  argv_ = {absl::StrCat(bin_dir_, "/postgres"), "-D", data_dir_};
  std::vector<std::string> settings = {
      "listen_addresses=127.0.0.1",
      absl::StrCat("port=", port_),
      absl::StrCat("unix_socket_directories=", dir_),
      "unix_socket_permissions=0700",
      absl::StrCat("max_connections=", options_.max_connections),
      "shared_buffers=128MB",
      absl::StrCat("fsync=", options_.fsync ? "on" : "off"),
      "synchronous_commit=on",
      "full_page_writes=on",
      // After a crash, with fsync on, it syncs its files before recovery: one syncfs() instead
      // of an fsync per file (seconds on a slow disk).
      "recovery_init_sync_method=syncfs",
      "timezone=UTC",
      "log_timezone=UTC",
      "cluster_name=observer-test",
      "logging_collector=on",
      absl::StrCat("log_directory=", dir_),
      absl::StrCat("log_filename=", kLogFile),
      "log_rotation_age=0",
      "log_rotation_size=0",
      "log_line_prefix=%m [%p] %q%u@%d ",
  };
  if (options_.tls) {
    settings.push_back("ssl=on");
    settings.push_back(absl::StrCat("ssl_cert_file=", data_dir_, "/server.crt"));
    settings.push_back(absl::StrCat("ssl_key_file=", data_dir_, "/server.key"));
    if (!options_.tls_ca.empty()) {
      settings.push_back(absl::StrCat("ssl_ca_file=", data_dir_, "/root.crt"));
    }
  }
  settings.insert(settings.end(), options_.settings.begin(), options_.settings.end());
  for (const std::string& setting : settings) {
    argv_.push_back("-c");
    argv_.push_back(setting);
  }

  auto failed = [&](absl::StatusCode code, absl::string_view what) {
    return absl::Status(
        code, absl::StrCat("PostgreSQL did not start: ", what, "\n$ ", absl::StrJoin(argv_, " "),
                           "\n---- server log ----\n", LastBytes(log()), "\n---- end ----"));
  };
  // Where this run's part of the log starts (its logger starts before it binds its port).
  const std::string log_file = absl::StrCat(dir_, "/", kLogFile);
  const size_t log_start = ReadFile(log_file).value_or("").size();
  if (absl::Status s = process_.Start(argv_, command_); !s.ok()) return s;
  const absl::Time deadline = absl::Now() + options_.start_timeout;
  // Ready when its lock file says so, as pg_ctl waits (connection attempts until then would
  // each put a FATAL line in the log).
  const std::string pid_file = absl::StrCat(data_dir_, "/postmaster.pid");
  for (;;) {
    if (process_.Exited()) {
      const std::string file = ReadFile(log_file).value_or("");
      const std::string said =
          absl::StrCat(absl::ClippedSubstr(file, log_start), process_.stdout_so_far());
      *port_conflict = absl::StrContains(said, "could not bind IPv4 address") &&
                       absl::StrContains(said, "Address already in use");
      Reap(process_.Kill());
      WaitForLeftovers(absl::Seconds(10));
      return failed(absl::StatusCode::kUnavailable, "the postmaster exited");
    }
    if (PostmasterReady(pid_file, process_.pid())) break;
    if (absl::Now() >= deadline) {
      Reap(process_.Kill());
      WaitForLeftovers(absl::Seconds(10));
      return failed(absl::StatusCode::kDeadlineExceeded,
                    absl::StrCat("not ready to accept connections within ",
                                 absl::FormatDuration(options_.start_timeout)));
    }
    absl::SleepFor(absl::Milliseconds(5));
  }
  // Our server, not another one on that port, and `observer` can log in.
  absl::StatusOr<std::vector<std::string>> answer = Query("postgres", "SHOW data_directory");
  if (!answer.ok() || answer->size() != 1 || answer->front() != data_dir_) {
    Reap(process_.Kill());
    WaitForLeftovers(absl::Seconds(10));
    *port_conflict = answer.ok();  // Someone else's server answered.
    return failed(absl::StatusCode::kUnavailable,
                  answer.ok() ? absl::StrCat("the server on port ", port_, " is another one (",
                                             absl::StrJoin(*answer, ","), ")")
                              : answer.status().message());
  }
  return absl::OkStatus();
}

void PostgresCluster::Reap(absl::StatusOr<CommandResult> ended) {
  if (ended.ok()) {
    absl::StrAppend(&earlier_output_, ended->stdout_text, "[postmaster ", ended->DescribeExit(),
                    "]\n");
  } else {
    absl::StrAppend(&earlier_output_, "[postmaster: ", ended.status().message(), "]\n");
  }
}

void PostgresCluster::WaitForLeftovers(absl::Duration grace) {
  if (data_dir_.empty()) return;
  const absl::Time deadline = absl::Now() + grace;
  const absl::Time give_up = deadline + absl::Seconds(5);
  for (;;) {
    const std::vector<pid_t> pids = ProcessesIn(data_dir_);
    if (pids.empty()) return;
    const absl::Time now = absl::Now();
    if (now >= give_up) return;
    if (now >= deadline) {
      for (const pid_t pid : pids) kill(pid, SIGKILL);
    }
    absl::SleepFor(absl::Milliseconds(5));
  }
}

std::string PostgresCluster::Url(const std::string& db, const std::string& query) const {
  return absl::StrCat("postgresql://", kUser, "@127.0.0.1:", port_, "/", PercentEncode(db),
                      query.empty() ? "" : "?", query);
}

absl::Status PostgresCluster::CreateDatabase(const std::string& name) {
  return Query("postgres", absl::StrCat("CREATE DATABASE ", QuoteIdentifier(name))).status();
}

absl::Status PostgresCluster::DropDatabase(const std::string& name) {
  return Query("postgres", absl::StrCat("DROP DATABASE ", QuoteIdentifier(name), " WITH (FORCE)"))
      .status();
}

absl::StatusOr<std::vector<std::string>> PostgresCluster::Query(const std::string& db,
                                                                const std::string& sql) {
  return PostgresQuery(Url(db), sql);
}

bool PostgresCluster::Running() const {
  return process_.running() && !ChildHasExited(process_.pid());
}

void PostgresCluster::Kill() {
  if (!process_.running()) return;
  Reap(process_.Kill());
  WaitForLeftovers(absl::Seconds(10));
}

absl::Status PostgresCluster::Stop(absl::Duration timeout) {
  if (!process_.running()) return absl::OkStatus();
  if (process_.Exited()) {
    Reap(process_.Kill());
    WaitForLeftovers(absl::Seconds(10));
    return absl::InternalError(absl::StrCat("PostgreSQL had exited before it was stopped\n",
                                            "---- server log ----\n", LastBytes(log()),
                                            "\n---- end ----"));
  }
  const absl::Time start = absl::Now();
  (void)process_.Signal(SIGINT);  // Fast shutdown.
  while (!process_.Exited() && absl::Now() - start < timeout) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  const bool stopped = process_.Exited();
  absl::StatusOr<CommandResult> ended = process_.Kill();  // Reaps it.
  const bool clean = stopped && ended.ok() && ended->exit_code() == 0;
  Reap(std::move(ended));
  WaitForLeftovers(absl::Seconds(10));
  if (clean) return absl::OkStatus();
  return absl::InternalError(absl::StrCat("PostgreSQL did not stop cleanly on SIGINT within ",
                                          absl::FormatDuration(timeout), "\n---- server log ----\n",
                                          LastBytes(log()), "\n---- end ----"));
}

absl::Status PostgresCluster::Restart() {
  if (process_.running()) {
    if (!process_.Exited()) return absl::FailedPreconditionError("PostgreSQL is running");
    Reap(process_.Kill());  // It crashed on its own.
  }
  WaitForLeftovers(absl::Seconds(10));
  bool port_conflict = false;
  return Launch(&port_conflict);
}

std::string PostgresCluster::log() const {
  std::string text;
  if (!dir_.empty()) {
    absl::StatusOr<std::string> file = ReadFile(absl::StrCat(dir_, "/", kLogFile));
    if (file.ok()) text = *std::move(file);
  }
  std::string output = earlier_output_;
  if (process_.running()) output += process_.stdout_so_far();
  if (!output.empty()) absl::StrAppend(&text, "---- postmaster output ----\n", output);
  return text;
}

PostgresCluster::~PostgresCluster() {
  if (process_.running()) {
    if (!process_.Exited()) {
      (void)process_.Signal(SIGQUIT);  // Immediate shutdown: ends its children, then itself.
      const absl::Time deadline = absl::Now() + absl::Seconds(10);
      while (!process_.Exited() && absl::Now() < deadline) {
        absl::SleepFor(absl::Milliseconds(5));
      }
    }
    (void)process_.Kill();  // Reaps it (SIGKILL if it is still running).
  }
  WaitForLeftovers(absl::Seconds(10));
  if (!dir_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
}

}  // namespace observer::testing
