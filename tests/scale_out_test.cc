// Scale-out on PostgreSQL (README "Scaling out", ADR 0012): several registry-service replicas
// on one database, each a real process on loopback, on a real PostgreSQL 15 cluster this test
// starts (tests/harness/postgres_cluster.h; with fsync on).
//
//   - three replicas with concurrent writers on all of them, a stats-service and a validating
//     watcher following one replica, that replica killed mid-run: the writers retry on another
//     replica with the same request ids, stats and the watcher move to another replica and
//     resume; then every acked write is present and applied once, the stream was gap-free and
//     without duplicates across the move, and stats equals a recount;
//   - a group holding a lower revision uncommitted (stalled before its COMMIT) never lets a
//     later revision of another replica be seen first;
//   - another session holding the revision lock: writes wait, then fail with the retryable
//     UNAVAILABLE/STORE_BUSY, and go on once it is released;
//   - PostgreSQL itself killed with SIGKILL during concurrent writes and restarted (crash
//     recovery): nothing acknowledged is lost.
//
// Skipped without the PostgreSQL server binaries, unless CI is set.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <signal.h>

#include <cstdlib>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/errors.h"
#include "common/failpoint.h"
#include "tests/harness/builders.h"
#include "tests/harness/history.h"
#include "tests/harness/postgres_cluster.h"
#include "tests/harness/recount.h"
#include "tests/harness/registry_client.h"
#include "tests/harness/registry_process.h"
#include "tests/harness/stats_client.h"
#include "tests/harness/stats_process.h"
#include "tests/harness/status_matchers.h"
#include "tests/harness/temp_dir.h"
#include "tests/harness/test_pki.h"
#include "tests/harness/watch_validator.h"
#include "tests/harness/workload.h"

namespace observer::testing {
namespace {

using ::testing::IsEmpty;

constexpr char kOrganisationCode[] = "SCALE-ORG";
constexpr char kOrganisation[] = "organisations/SCALE-ORG";

// An address that a test moves from one replica to another while other threads read it.
class MovableAddress {
 public:
  explicit MovableAddress(std::string address) : address_(std::move(address)) {}
  void Set(std::string address) {
    std::lock_guard<std::mutex> lock(mu_);
    address_ = std::move(address);
  }
  std::string Get() const {
    std::lock_guard<std::mutex> lock(mu_);
    return address_;
  }
  std::function<std::string()> Reader() const {
    return [this] { return Get(); };
  }

 private:
  mutable std::mutex mu_;
  std::string address_;
};

// A libpq session of the test's own on the replicas' database.
class Session {
 public:
  explicit Session(const std::string& url) : conn_(PQconnectdb(url.c_str())) {}
  ~Session() { PQfinish(conn_); }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  bool ok() const { return PQstatus(conn_) == CONNECTION_OK; }
  // Runs `sql`; its error message, or "" when it worked.
  std::string Exec(const std::string& sql) {
    PGresult* r = PQexec(conn_, sql.c_str());
    const ExecStatusType status = PQresultStatus(r);
    std::string error;
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) error = PQresultErrorMessage(r);
    PQclear(r);
    return error;
  }

 private:
  PGconn* conn_;
};

// The calls the server refused, as "CreateObserver r1-0-17: ALREADY_EXISTS: ...".
std::vector<std::string> FailedCalls(const History& history) {
  std::vector<std::string> failed;
  for (const Operation& op : history.operations()) {
    if (op.outcome != Outcome::kFailed) continue;
    failed.push_back(absl::StrCat(op.method, " ", op.request_id, ": ", op.status.ToString()));
  }
  return failed;
}

class ScaleOutTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (PostgresBinDir().empty() && std::getenv("CI") == nullptr) {
      GTEST_SKIP() << "no PostgreSQL server binaries; bash scripts/deps.sh installs them";
    }
    store_ =
        StoreUrl{TestPostgresDatabase(dir_.path()), EnsureAuditKeyFile(dir_.path() + "/audit.key")};
  }
  void TearDown() override {
    if (HasFailure()) {
      for (const auto& r : replicas_) PrintOutputTails({r.get()});
      if (stats_ != nullptr) PrintOutputTails({stats_.get()});
    }
    stats_.reset();
    replicas_.clear();
  }

  // Starts `n` replicas on the test's database.
  void StartReplicas(int n, const std::vector<std::vector<std::string>>& extra = {}) {
    for (int i = 0; i < n; ++i) {
      replicas_.push_back(std::make_unique<RegistryProcess>(
          store_, TestRegistryFlags(
                      i < static_cast<int>(extra.size()) ? extra[i] : std::vector<std::string>{})));
      ASSERT_OK(replicas_.back()->Start());
    }
  }
  RegistryProcess& replica(int i) { return *replicas_[static_cast<size_t>(i)]; }

  std::string SetUpElection(RegistryClient& client, const std::string& election_id) {
    MUST(client.CreateElection(FutureElection(election_id)));
    MUST(client.CreateOrganisation(NewOrganisation(kOrganisationCode, "Scale-out observers")));
    return ElectionName(election_id);
  }

  Workload::Options LoadOptions(const std::string& election, uint64_t seed,
                                const std::string& prefix) {
    Workload::Options o;
    o.threads = 3;
    o.election = election;
    o.organisation = kOrganisation;
    o.seed = seed;
    o.request_id_prefix = prefix;
    return o;
  }

  TempDir dir_;
  StoreUrl store_;
  std::vector<std::unique_ptr<RegistryProcess>> replicas_;
  std::unique_ptr<StatsProcess> stats_;
};

TEST_F(ScaleOutTest, ThreeReplicasConcurrentWritersStatsMovesAcrossAKilledReplica) {
  ASSERT_NO_FATAL_FAILURE(StartReplicas(3));
  RegistryClient setup(replica(0).channel());
  const std::string election = SetUpElection(setup, "scale-three");

  // Stats follows replica 1 first (its list's order), replica 2 when 1 is gone.
  stats_ = std::make_unique<StatsProcess>(
      absl::StrCat(replica(1).address(), ",", replica(2).address()),
      std::vector<std::string>{"--reconnect-backoff-max", "300ms", "--drain-period", "100ms"});
  ASSERT_OK(stats_->Start());
  // A consumer of the change stream on replica 1, moved to replica 2 mid-stream.
  MovableAddress watched(replica(1).address());
  ValidatingWatcher watcher(watched.Reader(), {});

  History history;
  std::vector<std::unique_ptr<MovableAddress>> targets;
  std::vector<std::unique_ptr<Workload>> loads;
  for (int i = 0; i < 3; ++i) {
    targets.push_back(std::make_unique<MovableAddress>(replica(i).address()));
    loads.push_back(std::make_unique<Workload>(
        history, targets.back()->Reader(),
        LoadOptions(election, 100 + static_cast<uint64_t>(i), absl::StrCat("r", i, "-"))));
  }
  for (auto& load : loads) load->Start();
  for (auto& load : loads) {
    ASSERT_TRUE(load->WaitForAcks(40, absl::Seconds(60))) << history.Summary();
  }

  // Replica 1 dies: its writers retry on replica 2 (same request ids), the watcher resumes
  // there, stats moves there by itself.
  const int64_t watched_before_kill = watcher.last_revision();
  ASSERT_OK_AND_ASSIGN(ExitResult killed, replica(1).Kill());
  EXPECT_EQ(killed.term_signal(), SIGKILL);
  targets[1]->Set(replica(2).address());
  watched.Set(replica(2).address());
  for (auto& load : loads) {
    ASSERT_TRUE(load->WaitForAcks(load->acked() + 40, absl::Seconds(60))) << history.Summary();
  }
  for (auto& load : loads) load->Stop();

  ASSERT_OK_AND_ASSIGN(FinalState state, ReadFinalState(setup));
  EXPECT_THAT(CheckHistory(history, state), IsEmpty()) << history.Summary();
  EXPECT_GT(state.observers.size(), 100u);
  // The server refused nothing: the replicas' groups never collided on a revision (that
  // would be ALREADY_EXISTS or INTERNAL), and no write gave up waiting for another's.
  EXPECT_THAT(FailedCalls(history), IsEmpty());
  ASSERT_TRUE(watcher.WaitFor(state.head, absl::Seconds(30)))
      << "watcher at " << watcher.last_revision() << ", head " << state.head;
  watcher.Stop();
  EXPECT_THAT(watcher.Violations(), IsEmpty());
  EXPECT_GT(watched_before_kill, 0);
  EXPECT_GE(watcher.reconnects(), 1);

  // Every replica's own view agrees: the same head and change log.
  for (int i : {0, 2}) {
    RegistryClient client(replica(i).channel());
    ASSERT_OK_AND_ASSIGN(FinalState seen, ReadFinalState(client));
    EXPECT_EQ(seen.head, state.head) << "replica " << i;
    ASSERT_EQ(seen.events.size(), state.events.size()) << "replica " << i;
  }

  const Recount expected = RecountFromRegistry(setup, election);
  EXPECT_EQ(expected.revision, state.head);
  StatsClient stats(stats_->channel());
  ASSERT_NO_FATAL_FAILURE(ExpectStatsEqualRecount(stats, expected, absl::Seconds(30)));
  std::cerr << "3 replicas, replica 1 killed: " << history.Summary() << ", head " << state.head
            << "\n";
}

// Replica 0 stalls for 2 s between writing its group (holding revision N) and its COMMIT.
// Replica 1's write meanwhile waits for the revision lock, so it gets N + 1 and commits after
// N: a watcher of replica 1 sees N, then N + 1, and never N + 1 alone.
TEST_F(ScaleOutTest, AHeldLowerRevisionIsNeverSkippedByAWatcher) {
  ASSERT_NO_FATAL_FAILURE(StartReplicas(2));
  RegistryClient client1(replica(1).channel());
  const std::string election = SetUpElection(client1, "scale-held");
  ASSERT_OK_AND_ASSIGN(rv1::CreateObserverResponse first,
                       client1.CreateObserver(NewObserverRequest(election, NextSeq())));
  // Replica 0 again, with the stall armed on its next group.
  ASSERT_OK(replica(0).Stop().status());
  replicas_[0] = std::make_unique<RegistryProcess>(store_, TestRegistryFlags());
  {
    setenv("OBSERVER_FAILPOINTS", "registry-before-commit=1*sleep(2000)", 1);
    const absl::Status started = replica(0).Start();
    unsetenv("OBSERVER_FAILPOINTS");
    ASSERT_OK(started);
  }
  const int64_t head = first.revision();
  ValidatingWatcher watcher([address = replica(1).address()] { return address; },
                            {.start_revision = head + 1});

  RegistryClient client0(replica(0).channel());
  absl::StatusOr<rv1::CreateObserverResponse> held;
  const rv1::CreateObserverRequest held_request = NewObserverRequest(election, NextSeq(), "FR");
  std::thread stalled([&] { held = client0.CreateObserver(held_request); });
  absl::SleepFor(absl::Milliseconds(500));  // Replica 0 holds revision head + 1.
  const absl::Time sent = absl::Now();
  ASSERT_OK_AND_ASSIGN(rv1::CreateObserverResponse later,
                       client1.CreateObserver(NewObserverRequest(election, NextSeq(), "IT")));
  const absl::Duration waited = absl::Now() - sent;
  stalled.join();
  ASSERT_OK(held);
  if (!failpoint::Enabled()) GTEST_SKIP() << "built without failpoints (OBSERVER_FAILPOINTS)";
  EXPECT_EQ(held->revision(), head + 1);
  EXPECT_EQ(later.revision(), head + 2);
  EXPECT_GT(waited, absl::Milliseconds(800)) << "replica 1 did not wait for the held revision";
  ASSERT_TRUE(watcher.WaitFor(head + 2, absl::Seconds(10)));
  watcher.Stop();
  // The watcher started at head + 1: the validator reports any other first revision, a gap
  // or a repeat.
  EXPECT_THAT(watcher.Violations(), IsEmpty());
}

// Another session (an operator's psql, a migration) holds the revision lock longer than
// --store-busy-timeout: writes wait, then fail with the retryable UNAVAILABLE/STORE_BUSY and
// change nothing; reads go on; once the lock is released, writes go on.
TEST_F(ScaleOutTest, TheRevisionLockHeldElsewhereIsBusyThenWritesGoOn) {
  ASSERT_NO_FATAL_FAILURE(StartReplicas(1, {{"--store-busy-timeout", "1s"}}));
  RegistryClient client(replica(0).channel());
  const std::string election = SetUpElection(client, "scale-busy");
  ASSERT_OK_AND_ASSIGN(const int64_t head, client.HeadRevision());

  Session holder(store_.url);
  ASSERT_TRUE(holder.ok());
  ASSERT_EQ(holder.Exec("BEGIN; SELECT head_revision FROM store_state FOR UPDATE"), "");
  const absl::Time sent = absl::Now();
  absl::StatusOr<rv1::CreateObserverResponse> busy =
      client.CreateObserver(NewObserverRequest(election, NextSeq()));
  EXPECT_GE(absl::Now() - sent, absl::Milliseconds(900));
  EXPECT_THAT(busy, StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(GetErrorDetails(busy.status()).reason, reason::kStoreBusy) << busy.status();
  // Reads do not wait for the lock.
  rv1::GetElectionRequest get;
  get.set_name(election);
  EXPECT_OK(client.GetElection(get));
  ASSERT_EQ(holder.Exec("ROLLBACK"), "");

  ASSERT_OK_AND_ASSIGN(rv1::CreateObserverResponse created,
                       client.CreateObserver(NewObserverRequest(election, NextSeq())));
  EXPECT_EQ(created.revision(), head + 1) << "the busy write consumed a revision";
  ASSERT_OK_AND_ASSIGN(std::vector<rv1::Observer> observers, client.AllObservers(election));
  EXPECT_EQ(observers.size(), 1u);
}

// PostgreSQL killed with SIGKILL during concurrent writes on two replicas, then restarted on
// the same data (crash recovery): the replicas reconnect by themselves; every acked write is
// present and applied once, the change stream a watcher followed throughout is gap-free, and
// stats equals a recount.
TEST_F(ScaleOutTest, PostgresKilledDuringConcurrentWritesLosesNothingAcked) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<PostgresCluster> pg, PostgresCluster::Start());
  ASSERT_OK(pg->CreateDatabase("registry"));
  store_.url = pg->Url("registry");
  ASSERT_NO_FATAL_FAILURE(StartReplicas(2));
  RegistryClient setup(replica(0).channel());
  const std::string election = SetUpElection(setup, "scale-pg-kill");
  ValidatingWatcher watcher([address = replica(1).address()] { return address; }, {});

  History history;
  Workload load0(
      history, [address = replica(0).address()] { return address; },
      LoadOptions(election, 7, "a-"));
  Workload load1(
      history, [address = replica(1).address()] { return address; },
      LoadOptions(election, 8, "b-"));
  load0.Start();
  load1.Start();
  for (int round = 0; round < 2; ++round) {
    SCOPED_TRACE(absl::StrCat("round ", round));
    ASSERT_TRUE(load0.WaitForAcks(load0.acked() + 30, absl::Seconds(60))) << history.Summary();
    ASSERT_TRUE(load1.WaitForAcks(load1.acked() + 30, absl::Seconds(60))) << history.Summary();
    pg->Kill();
    absl::SleepFor(absl::Milliseconds(300));
    ASSERT_OK(pg->Restart());
  }
  ASSERT_TRUE(load0.WaitForAcks(load0.acked() + 30, absl::Seconds(60))) << history.Summary();
  ASSERT_TRUE(load1.WaitForAcks(load1.acked() + 30, absl::Seconds(60))) << history.Summary();
  load0.Stop();
  load1.Stop();

  ASSERT_OK_AND_ASSIGN(FinalState state, ReadFinalState(setup));
  EXPECT_THAT(CheckHistory(history, state), IsEmpty()) << history.Summary();
  ASSERT_TRUE(watcher.WaitFor(state.head, absl::Seconds(30)))
      << "watcher at " << watcher.last_revision() << ", head " << state.head;
  watcher.Stop();
  EXPECT_THAT(watcher.Violations(), IsEmpty());

  stats_ = std::make_unique<StatsProcess>(replica(1).address(),
                                          std::vector<std::string>{"--drain-period", "100ms"});
  ASSERT_OK(stats_->Start());
  StatsClient stats(stats_->channel());
  const Recount expected = RecountFromRegistry(setup, election);
  ASSERT_NO_FATAL_FAILURE(ExpectStatsEqualRecount(stats, expected, absl::Seconds(30)));
  std::cerr << "PostgreSQL killed twice: " << history.Summary() << ", head " << state.head << "\n";
}

// The connection to the database over TLS (libpq's sslmode=verify-full): every connection of
// the replica is encrypted; a server certificate from another CA is refused at start.
TEST_F(ScaleOutTest, TheDatabaseConnectionIsVerifiedTls) {
  TestPki pki(dir_.Join("pki"));
  ASSERT_OK(pki.Issue({"postgres:localhost,127.0.0.1"}));
  TestPki other(dir_.Join("other"));
  ASSERT_OK(other.Issue({"stranger:localhost,127.0.0.1"}));
  PostgresClusterOptions options;
  options.fsync = false;
  options.tls = true;
  options.tls_cert = pki.cert_path("postgres");
  options.tls_key = pki.key_path("postgres");
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<PostgresCluster> pg, PostgresCluster::Start(options));
  ASSERT_OK(pg->CreateDatabase("registry"));

  store_.url = pg->Url("registry", "sslmode=verify-full&sslrootcert=" + pki.ca_path());
  ASSERT_NO_FATAL_FAILURE(StartReplicas(1));
  RegistryClient client(replica(0).channel());
  SetUpElection(client, "scale-tls");
  const std::vector<std::string> connections =
      MUST(pg->Query("postgres",
                     "SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a ON a.pid = s.pid "
                     "WHERE a.datname = 'registry'"));
  EXPECT_GE(connections.size(), 2u);  // The writer and the change listener at least.
  EXPECT_THAT(connections, ::testing::Each("t"));

  RegistryProcess wrong_ca(
      StoreUrl{pg->Url("registry", "sslmode=verify-full&sslrootcert=" + other.ca_path()),
               store_.audit_key_file},
      TestRegistryFlags());
  EXPECT_FALSE(wrong_ca.Start(absl::Seconds(10)).ok());
  EXPECT_THAT(wrong_ca.output(), ::testing::HasSubstr("certificate verify failed"));
}

}  // namespace
}  // namespace observer::testing
