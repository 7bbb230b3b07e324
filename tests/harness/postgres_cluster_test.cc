// The harness's throwaway PostgreSQL cluster (postgres_cluster.h): it starts, serves queries,
// survives a kill -9 with its committed rows (crash recovery), stops cleanly, cleans up after
// itself, and serves TLS that libpq verifies.
//
// Needs the PostgreSQL 15 server binaries (Debian postgresql-15, scripts/deps.sh): skipped
// without them, except under CI (the CI environment variable set), where they are a failure.
#include "tests/harness/postgres_cluster.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "tests/harness/status_matchers.h"
#include "tests/harness/temp_dir.h"
#include "tests/harness/test_pki.h"

namespace observer::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

bool PathExists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

class PostgresClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (PostgresBinDir().empty()) {
      if (std::getenv("CI") != nullptr) {
        FAIL() << "the PostgreSQL 15 server binaries are missing from "
               << (std::getenv("OBSERVER_PG_BINDIR") != nullptr ? "$OBSERVER_PG_BINDIR"
                                                                : kDefaultPostgresBinDir)
               << " (apt-get install postgresql-15; scripts/deps.sh)";
      }
      GTEST_SKIP() << "the PostgreSQL 15 server binaries are missing (apt-get install "
                      "postgresql-15, or set OBSERVER_PG_BINDIR)";
    }
  }

  // Starts a cluster, reporting how long that took.
  std::unique_ptr<PostgresCluster> StartCluster(PostgresClusterOptions options = {}) {
    const absl::Time start = absl::Now();
    absl::StatusOr<std::unique_ptr<PostgresCluster>> cluster = PostgresCluster::Start(options);
    const absl::Duration took = absl::Now() - start;
    EXPECT_TRUE(cluster.ok()) << cluster.status();
    if (!cluster.ok()) return nullptr;
    std::cout << "PostgreSQL cluster (fsync " << (options.fsync ? "on" : "off") << ", tls "
              << (options.tls ? "on" : "off") << ") started in " << absl::FormatDuration(took)
              << " on port " << (*cluster)->port() << "\n";
    RecordProperty("start_ms", static_cast<int>(absl::ToInt64Milliseconds(took)));
    return std::move(*cluster);
  }
};

TEST_F(PostgresClusterTest, CommittedRowsSurviveKillAndRestart) {
  std::unique_ptr<PostgresCluster> pg = StartCluster();
  ASSERT_NE(pg, nullptr);
  EXPECT_GT(pg->port(), 0);
  EXPECT_TRUE(pg->Running());
  EXPECT_EQ(pg->Url("registry"),
            absl::StrCat("postgresql://observer@127.0.0.1:", pg->port(), "/registry"));
  EXPECT_EQ(
      pg->Url("registry", "sslmode=disable"),
      absl::StrCat("postgresql://observer@127.0.0.1:", pg->port(), "/registry?sslmode=disable"));

  // The server runs as the Debian postgres user when we are root, else as ourselves.
  struct stat st;
  ASSERT_EQ(stat(pg->data_dir().c_str(), &st), 0);
  if (geteuid() == 0) {
    const passwd* postgres = getpwnam("postgres");
    ASSERT_NE(postgres, nullptr);
    EXPECT_EQ(st.st_uid, postgres->pw_uid);
  } else {
    EXPECT_EQ(st.st_uid, geteuid());
  }
  EXPECT_THAT(MUST(pg->Query("postgres", "SHOW fsync")), ElementsAre("on"));
  EXPECT_THAT(MUST(pg->Query("postgres", "SHOW listen_addresses")), ElementsAre("127.0.0.1"));
  EXPECT_THAT(
      MUST(pg->Query("postgres", "SELECT rolsuper FROM pg_roles WHERE rolname = current_user")),
      ElementsAre("t"));

  ASSERT_OK(pg->CreateDatabase("registry"));
  absl::Status again = pg->CreateDatabase("registry");
  EXPECT_THAT(again, StatusIs(absl::StatusCode::kAlreadyExists)) << again;
  EXPECT_THAT(std::string(again.message()), HasSubstr("already exists"));

  ASSERT_OK(pg->Query("registry",
                      "CREATE TABLE observers (id bigint PRIMARY KEY, name text, note text);"
                      "INSERT INTO observers VALUES (1, 'Ана', NULL), (2, 'Zoë', 'tab\there')"));
  EXPECT_THAT(MUST(pg->Query("registry", "SELECT id, name, note FROM observers ORDER BY id")),
              ElementsAre("1\tАна\t\\N", "2\tZoë\ttab\there"));
  // Several statements: the rows of the last one.
  EXPECT_THAT(MUST(pg->Query("registry", "SELECT 1; SELECT count(*) FROM observers")),
              ElementsAre("2"));
  EXPECT_THAT(pg->Query("registry", "SELECT * FROM nowhere"),
              StatusIs(absl::StatusCode::kInvalidArgument));

  // A crash: kill -9 the postmaster. Nothing answers until the restart, which recovers the
  // committed rows from the WAL.
  const int port = pg->port();
  const pid_t old_pid = pg->pid();
  pg->Kill();
  EXPECT_FALSE(pg->Running());
  EXPECT_THAT(pg->Query("registry", "SELECT 1"), StatusIs(absl::StatusCode::kUnavailable));
  const absl::Time restart = absl::Now();
  ASSERT_OK(pg->Restart()) << pg->log();
  std::cout << "Restart with crash recovery: " << absl::FormatDuration(absl::Now() - restart)
            << "\n";
  EXPECT_EQ(pg->port(), port);
  EXPECT_NE(pg->pid(), old_pid);
  EXPECT_THAT(MUST(pg->Query("registry", "SELECT name FROM observers ORDER BY id")),
              ElementsAre("Ана", "Zoë"));
  EXPECT_THAT(pg->log(), HasSubstr("database system was interrupted"));
  EXPECT_THAT(pg->Restart(), StatusIs(absl::StatusCode::kFailedPrecondition));

  // A clean stop and start again.
  ASSERT_OK(pg->Query("registry", "INSERT INTO observers VALUES (3, 'Kim', NULL)"));
  ASSERT_OK(pg->Stop()) << pg->log();
  EXPECT_FALSE(pg->Running());
  ASSERT_OK(pg->Restart()) << pg->log();
  EXPECT_THAT(MUST(pg->Query("registry", "SELECT count(*) FROM observers")), ElementsAre("3"));

  // DROP DATABASE ... WITH (FORCE) ends the sessions on it.
  ASSERT_OK(pg->DropDatabase("registry"));
  EXPECT_THAT(pg->Query("registry", "SELECT 1"), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(pg->DropDatabase("registry"), StatusIs(absl::StatusCode::kNotFound));

  // The directory goes with the cluster.
  const std::string dir = pg->dir();
  ASSERT_TRUE(PathExists(dir));
  pg.reset();
  EXPECT_FALSE(PathExists(dir));
}

TEST_F(PostgresClusterTest, TwoClustersAtOnceWithoutFsync) {
  PostgresClusterOptions options;
  options.fsync = false;
  options.max_connections = 20;
  std::unique_ptr<PostgresCluster> a = StartCluster(options);
  std::unique_ptr<PostgresCluster> b = StartCluster(options);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_NE(a->port(), b->port());
  EXPECT_NE(a->dir(), b->dir());
  EXPECT_THAT(MUST(a->Query("postgres", "SHOW fsync")), ElementsAre("off"));
  EXPECT_THAT(MUST(a->Query("postgres", "SHOW synchronous_commit")), ElementsAre("on"));
  EXPECT_THAT(MUST(b->Query("postgres", "SHOW max_connections")), ElementsAre("20"));
}

TEST_F(PostgresClusterTest, ServesTlsThatLibpqVerifies) {
  TempDir dir;
  TestPki pki(dir.Join("pki"));
  // libpq checks the host of the URI, 127.0.0.1, against the certificate's names.
  ASSERT_OK(pki.Issue({"postgres:localhost,127.0.0.1", "registry"}));
  TestPki other(dir.Join("other"));
  ASSERT_OK(other.Issue({"stranger:localhost,127.0.0.1"}));

  PostgresClusterOptions options;
  options.fsync = false;
  options.tls = true;
  options.tls_cert = pki.cert_path("postgres");
  options.tls_key = pki.key_path("postgres");
  options.tls_ca = pki.ca_path();
  std::unique_ptr<PostgresCluster> pg = StartCluster(options);
  ASSERT_NE(pg, nullptr);

  const std::string ssl_in_use = "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()";
  EXPECT_THAT(MUST(PostgresQuery(pg->Url("postgres", "sslmode=require"), ssl_in_use)),
              ElementsAre("t"));
  EXPECT_THAT(
      MUST(PostgresQuery(pg->Url("postgres", "sslmode=verify-full&sslrootcert=" + pki.ca_path()),
                         ssl_in_use)),
      ElementsAre("t"));
  // Plaintext is still allowed (host, not hostssl, in pg_hba.conf).
  EXPECT_THAT(MUST(PostgresQuery(pg->Url("postgres", "sslmode=disable"), ssl_in_use)),
              ElementsAre("f"));
  // Another CA does not verify the server.
  absl::StatusOr<std::vector<std::string>> wrong_ca = PostgresQuery(
      pg->Url("postgres", "sslmode=verify-full&sslrootcert=" + other.ca_path()), ssl_in_use);
  EXPECT_THAT(wrong_ca, StatusIs(absl::StatusCode::kUnavailable)) << wrong_ca.status();
  EXPECT_THAT(std::string(wrong_ca.status().message()), HasSubstr("certificate verify failed"));
  // A client certificate from the CA given in tls_ca is accepted and seen by the server.
  EXPECT_THAT(
      MUST(PostgresQuery(
          pg->Url("postgres", absl::StrCat("sslmode=verify-full&sslrootcert=", pki.ca_path(),
                                           "&sslcert=", pki.cert_path("registry"),
                                           "&sslkey=", pki.key_path("registry"))),
          "SELECT client_dn FROM pg_stat_ssl WHERE pid = pg_backend_pid()")),
      ElementsAre(HasSubstr("CN=registry")));
}

TEST_F(PostgresClusterTest, StartFailsClearlyWhenItsPortIsTaken) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(fd, 1), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  PostgresClusterOptions options;
  options.fsync = false;
  options.port = ntohs(addr.sin_port);
  absl::StatusOr<std::unique_ptr<PostgresCluster>> pg = PostgresCluster::Start(options);
  close(fd);
  EXPECT_THAT(pg, StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(std::string(pg.status().message()), HasSubstr("Address already in use"));
}

TEST_F(PostgresClusterTest, StartFailsClearlyWithABadSetting) {
  PostgresClusterOptions options;
  options.fsync = false;
  options.settings = {"no_such_setting_anywhere=1"};
  absl::StatusOr<std::unique_ptr<PostgresCluster>> pg = PostgresCluster::Start(options);
  ASSERT_FALSE(pg.ok());
  EXPECT_THAT(std::string(pg.status().message()), HasSubstr("no_such_setting_anywhere"));
}

TEST(PostgresBinDirTest, MissingBinariesAreAFailedPrecondition) {
  const char* saved = std::getenv("OBSERVER_PG_BINDIR");
  const std::string restore = saved != nullptr ? saved : "";
  ASSERT_EQ(setenv("OBSERVER_PG_BINDIR", "/nonexistent/postgresql/bin", 1), 0);
  EXPECT_EQ(PostgresBinDir(), "");
  absl::StatusOr<std::unique_ptr<PostgresCluster>> pg = PostgresCluster::Start();
  EXPECT_THAT(pg, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(std::string(pg.status().message()), HasSubstr("OBSERVER_PG_BINDIR"));
  if (saved != nullptr) {
    setenv("OBSERVER_PG_BINDIR", restore.c_str(), 1);
  } else {
    unsetenv("OBSERVER_PG_BINDIR");
  }
}

}  // namespace
}  // namespace observer::testing
