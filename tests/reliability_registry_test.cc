// Reliability of the registry-service under failures (README "Reliability"): real processes on
// loopback over a real SQLite file, concurrent writers (tests/harness/workload.h) whose every
// call is recorded and checked afterwards against the final store and its change log
// (tests/harness/history.h).
//
//   - kill -9 during concurrent writes, several times, the server restarted on the same port;
//   - a crash at each failpoint of the commit path (after apply, before commit, after commit
//     before the reply), then a restart without it;
//   - another connection holding the store's write lock for seconds;
//   - a full disk (a small tmpfs), then space again.
//
// After each: nothing acknowledged is lost, nothing definitely failed is applied, a request
// id is applied at most once, the change log is gap-free and explains every record,
// `PRAGMA integrity_check` is ok, and (after crashes) a stats-service started against the
// store converges to an exact recount.
//
// With OBSERVER_TEST_STORE=postgresql the store is a PostgreSQL database instead (the write
// lock is then its revision lock); the full disk and the integrity check are SQLite's only.
//
// OBSERVER_RELIABILITY_SCALE (integer, default 1) multiplies the rounds and the load.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/errors.h"
#include "tests/harness/builders.h"
#include "tests/harness/history.h"
#include "tests/harness/recount.h"
#include "tests/harness/registry_client.h"
#include "tests/harness/registry_process.h"
#include "tests/harness/stats_client.h"
#include "tests/harness/stats_process.h"
#include "tests/harness/status_matchers.h"
#include "tests/harness/store_file.h"
#include "tests/harness/temp_dir.h"
#include "tests/harness/workload.h"

namespace observer::testing {
namespace {

using ::testing::IsEmpty;

constexpr char kOrganisationCode[] = "REL-ORG";
constexpr char kOrganisation[] = "organisations/REL-ORG";

int Scale() {
  const char* v = std::getenv("OBSERVER_RELIABILITY_SCALE");
  int scale = 1;
  if (v != nullptr && absl::SimpleAtoi(v, &scale) && scale >= 1) return scale;
  return 1;
}

// Sets an environment variable for the processes started while it lives (children inherit
// the environment at spawn).
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() { unsetenv(name_); }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
};

// How the calls of a history ended, by code and reason ("UNAVAILABLE/STORE_BUSY: 12").
std::map<std::string, int> CountOutcomes(const std::vector<Operation>& ops) {
  std::map<std::string, int> counts;
  for (const Operation& op : ops) {
    std::string key = absl::StatusCodeToString(op.status.code());
    const std::string reason = GetErrorDetails(op.status).reason;
    if (!reason.empty()) absl::StrAppend(&key, "/", reason);
    ++counts[key];
  }
  return counts;
}

std::string Show(const std::map<std::string, int>& counts) {
  return absl::StrJoin(counts, ", ", absl::PairFormatter(": "));
}

class RegistryReliabilityTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (HasFailure()) PrintOutputTails({registry_.get(), stats_.get()});
    stats_.reset();
    registry_.reset();
  }

  // Starts the registry on `store_dir` (default: this test's directory), on `port` (0: new).
  void StartRegistry(std::vector<std::string> extra = {}, int port = 0,
                     const std::string& store_dir = "") {
    if (registry_ == nullptr) {
      registry_ = std::make_unique<RegistryProcess>(store_dir.empty() ? dir_.path() : store_dir,
                                                    TestRegistryFlags(std::move(extra)));
    }
    MUST(port == 0 ? registry_->Start() : registry_->StartOnPort(port));
  }
  std::string StorePath() const {
    return registry_->store_uri().substr(std::string("sqlite://").size());
  }

  // A future election (accreditation open) and the organisation the workload sends
  // observers from; returns the election's name.
  std::string SetUpElection(const std::string& election_id) {
    RegistryClient client(registry_->channel());
    MUST(client.CreateElection(FutureElection(election_id)));
    MUST(client.CreateOrganisation(NewOrganisation(kOrganisationCode, "Reliability observers")));
    return ElectionName(election_id);
  }

  Workload::Options LoadOptions(const std::string& election, uint64_t seed) {
    Workload::Options o;
    o.threads = 4;
    o.election = election;
    o.organisation = kOrganisation;
    o.seed = seed;
    o.call_timeout = absl::Seconds(5);
    o.retry_backoff = absl::Milliseconds(50);
    return o;
  }

  // The final state, checked against the history; returns it.
  FinalState CheckFinalState(const History& history) {
    RegistryClient client(registry_->channel());
    FinalState state = MUST(ReadFinalState(client));
    const std::vector<std::string> violations = CheckHistory(history, state);
    EXPECT_THAT(violations, IsEmpty())
        << history.Summary() << "; head " << state.head << ":\n"
        << absl::StrJoin(violations.begin(),
                         violations.begin() + std::min<size_t>(violations.size(), 50), "\n");
    return state;
  }

  // A stats-service started against the registry converges to the exact recount of its
  // records (nobody writes meanwhile).
  void ExpectStatsConverge(const FinalState& state, const std::string& election) {
    RegistryClient client(registry_->channel());
    const Recount expected = RecountFromRegistry(client, election);
    EXPECT_EQ(expected.revision, state.head);
    stats_ = std::make_unique<StatsProcess>(
        registry_->address(),
        std::vector<std::string>{"--reconnect-backoff-max", "500ms", "--drain-period", "100ms"});
    ASSERT_OK(stats_->Start());
    StatsClient stats(stats_->channel());
    ASSERT_NO_FATAL_FAILURE(ExpectStatsEqualRecount(stats, expected, absl::Seconds(30)));
    ASSERT_OK(stats_->Stop());
  }

  // Stops the registry (SIGTERM) and checks the store file (SQLite's PRAGMA integrity_check;
  // on PostgreSQL only the stop).
  void StopAndCheckIntegrity() {
    ASSERT_OK(registry_->Stop());
    if (!TestStoreIsPostgres()) {
      EXPECT_EQ(IntegrityCheck(StorePath()), "ok");
    }
  }

  // Everything checked after a run with crashes: the history, the recount, the file.
  void CheckAfterCrashes(const History& history, const std::string& election) {
    const FinalState state = CheckFinalState(history);
    EXPECT_GT(state.observers.size(), 0u);
    ASSERT_NO_FATAL_FAILURE(ExpectStatsConverge(state, election));
    ASSERT_NO_FATAL_FAILURE(StopAndCheckIntegrity());
  }

  // A crash by the failpoint `point` under load, a restart without it on the same port, the
  // workload's retries finish; then every check. `history` and `*final_state` are left for
  // the test's own checks.
  void RunFailpointCrash(const std::string& point, History& history, FinalState* final_state) {
    // 20 commit groups pass first (2 of them the set-up), so the crash comes under load.
    {
      ScopedEnv failpoints("OBSERVER_FAILPOINTS", absl::StrCat(point, "=20+1*crash"));
      ASSERT_NO_FATAL_FAILURE(StartRegistry());
    }
    const int port = registry_->port();
    const std::string address = registry_->address();
    const std::string election = SetUpElection("rel-" + point);
    Workload load(
        history, [address] { return address; }, LoadOptions(election, 17));
    load.Start();
    ASSERT_TRUE(registry_->WaitForExit(absl::Seconds(30)))
        << "the failpoint " << point << " did not crash the registry (" << load.acked()
        << " acks); is the build configured with -DOBSERVER_FAILPOINTS=ON?";
    ASSERT_OK_AND_ASSIGN(ExitResult crashed, registry_->Stop(absl::Seconds(5)));
    EXPECT_EQ(crashed.term_signal(), SIGKILL) << crashed.Describe();
    const int64_t acked_at_crash = load.acked();
    absl::SleepFor(absl::Milliseconds(200));  // Clients see the server gone.
    ASSERT_NO_FATAL_FAILURE(StartRegistry({}, port));
    ASSERT_TRUE(load.WaitForAcks(acked_at_crash + 40 * Scale(), absl::Seconds(30)))
        << history.Summary();
    load.Stop();
    const FinalState state = CheckFinalState(history);
    *final_state = state;
    ASSERT_NO_FATAL_FAILURE(ExpectStatsConverge(state, election));
    ASSERT_NO_FATAL_FAILURE(StopAndCheckIntegrity());
    std::cerr << point << ": " << history.Summary() << ", head " << state.head << "\n";
  }

  TempDir dir_;
  std::unique_ptr<RegistryProcess> registry_;
  std::unique_ptr<StatsProcess> stats_;
};

// ---------------------------------------------------------------------------------------------

TEST_F(RegistryReliabilityTest, Kill9DuringConcurrentWrites) {
  ASSERT_NO_FATAL_FAILURE(StartRegistry());
  const int port = registry_->port();
  const std::string address = registry_->address();
  const std::string election = SetUpElection("rel-kill9");
  History history;
  Workload load(
      history, [address] { return address; }, LoadOptions(election, 7));
  load.Start();
  const int rounds = 3 * Scale();
  for (int round = 0; round < rounds; ++round) {
    SCOPED_TRACE(absl::StrCat("round ", round));
    ASSERT_TRUE(load.WaitForAcks(load.acked() + 30 + 7 * round, absl::Seconds(30)))
        << history.Summary();
    ASSERT_OK_AND_ASSIGN(ExitResult killed, registry_->Kill());
    EXPECT_EQ(killed.term_signal(), SIGKILL);
    absl::SleepFor(absl::Milliseconds(50 * (round % 4)));
    ASSERT_NO_FATAL_FAILURE(StartRegistry({}, port));
  }
  ASSERT_TRUE(load.WaitForAcks(load.acked() + 30, absl::Seconds(30))) << history.Summary();
  load.Stop();
  std::cerr << "kill -9 x" << rounds << ": " << history.Summary() << "\n";
  const std::vector<Operation> ops = history.operations();
  EXPECT_GT(std::count_if(ops.begin(), ops.end(),
                          [](const Operation& op) { return op.outcome == Outcome::kUnknown; }),
            0)
      << "no call was cut off by the kills";

  const std::map<std::string, int> outcomes = CountOutcomes(ops);
  EXPECT_EQ(outcomes.count("INTERNAL"), 0u) << Show(outcomes);
  ASSERT_NO_FATAL_FAILURE(CheckAfterCrashes(history, election));
}

// A crash at each failpoint of the commit path. The requests of the group in flight are
// answered by nobody; their retries (same request ids) after the restart apply them once.
TEST_F(RegistryReliabilityTest, CrashAfterApply) {
  History history;
  FinalState state;
  ASSERT_NO_FATAL_FAILURE(RunFailpointCrash("registry-after-apply", history, &state));
}

TEST_F(RegistryReliabilityTest, CrashBeforeCommit) {
  History history;
  FinalState state;
  ASSERT_NO_FATAL_FAILURE(RunFailpointCrash("registry-before-commit", history, &state));
}

// The group was committed, so the retries must find it: they get the original answers (the
// event of the revision they name was committed before the retry was sent) and nothing is
// applied twice (CheckHistory: one event per request id).
TEST_F(RegistryReliabilityTest, CrashAfterCommitBeforeReply) {
  History history;
  FinalState state;
  ASSERT_NO_FATAL_FAILURE(RunFailpointCrash("registry-after-commit-before-reply", history, &state));
  std::map<int64_t, const rv1::ChangeEvent*> by_revision;
  for (const rv1::ChangeEvent& e : state.events) by_revision[e.revision()] = &e;
  std::map<std::string, std::vector<Operation>> by_rid;
  for (const Operation& op : history.operations()) by_rid[op.request_id].push_back(op);
  std::vector<std::string> replayed;
  for (const auto& [rid, ops] : by_rid) {
    if (ops.front().outcome != Outcome::kUnknown || ops.back().outcome != Outcome::kAcked) {
      continue;
    }
    auto e = by_revision.find(ops.back().revision);
    if (e == by_revision.end()) continue;  // CheckHistory reported it.
    if (FromProto(e->second->commit_time()) < ops.back().invoked) replayed.push_back(rid);
  }
  EXPECT_THAT(replayed, ::testing::Not(IsEmpty()))
      << "no call cut off by the crash was found applied before its retry; " << history.Summary();
  std::cerr << "answered from the stored response after the crash: "
            << absl::StrJoin(replayed, ", ") << "\n";
}

// ---------------------------------------------------------------------------------------------

// Another connection (a backup tool, an operator's sqlite3 shell) holds the write lock for
// seconds, longer than --store-busy-timeout: writes wait, those that wait too long get the
// retryable UNAVAILABLE/STORE_BUSY (never INTERNAL), reads go on, and once the lock is released
// everything proceeds.
TEST_F(RegistryReliabilityTest, WriteLockHeldForSeconds) {
  ASSERT_NO_FATAL_FAILURE(StartRegistry({"--store-busy-timeout", "1s"}));
  const std::string address = registry_->address();
  const std::string election = SetUpElection("rel-lock");
  History history;
  Workload load(
      history, [address] { return address; }, LoadOptions(election, 23));
  load.Start();
  ASSERT_TRUE(load.WaitForAcks(30, absl::Seconds(30))) << history.Summary();

  for (int round = 0; round < Scale(); ++round) {
    // The registry commits all the time: wait up to 10 s for a moment between its commits.
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<StoreWriteLock> lock,
                         StoreWriteLock::Acquire(registry_->store_uri(), absl::Seconds(10)));
    const int64_t acked_before = load.acked();
    const absl::Time held = absl::Now();
    // Reads are not blocked by a writer (WAL).
    RegistryClient reader(registry_->channel(), absl::Seconds(2));
    while (absl::Now() - held < absl::Seconds(3)) {
      EXPECT_OK(reader.AllObservers(election));
      absl::SleepFor(absl::Milliseconds(200));
    }
    EXPECT_LE(load.acked(), acked_before + 4) << "writes acknowledged while the lock was held";
    ASSERT_OK(lock->Release());
    ASSERT_TRUE(load.WaitForAcks(load.acked() + 30, absl::Seconds(20)))
        << "writes did not resume after the lock was released; " << history.Summary();
  }
  load.Stop();
  std::cerr << "lock held: " << history.Summary() << "\n";

  const std::vector<Operation> ops = history.operations();
  const std::map<std::string, int> outcomes = CountOutcomes(ops);
  std::cerr << "outcomes: " << Show(outcomes) << "\n";
  for (const Operation& op : ops) {
    if (op.outcome == Outcome::kAcked) continue;
    const bool busy = op.status.code() == absl::StatusCode::kUnavailable &&
                      GetErrorDetails(op.status).reason == reason::kStoreBusy;
    const bool waited_out = op.status.code() == absl::StatusCode::kDeadlineExceeded;
    EXPECT_TRUE(busy || waited_out) << "op " << op.id << " " << op.method << " " << op.request_id
                                    << ": " << DescribeStatus(op.status);
  }
  EXPECT_GT(outcomes.count("UNAVAILABLE/STORE_BUSY"), 0u)
      << "no write gave up although the lock outlasted --store-busy-timeout: " << Show(outcomes);
  CheckFinalState(history);
  ASSERT_NO_FATAL_FAILURE(StopAndCheckIntegrity());
}

// ---------------------------------------------------------------------------------------------

// A tmpfs mounted for the test (the suite runs as root); unmounted when it goes.
class TmpfsMount {
 public:
  TmpfsMount(const std::string& path, const std::string& options) : path_(path) {
    if (mount("tmpfs", path.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, options.c_str()) != 0) {
      error_ = absl::StrCat("mount tmpfs on ", path, ": ", std::strerror(errno));
    }
  }
  ~TmpfsMount() {
    if (error_.empty() && umount2(path_.c_str(), 0) != 0) umount2(path_.c_str(), MNT_DETACH);
  }
  TmpfsMount(const TmpfsMount&) = delete;
  TmpfsMount& operator=(const TmpfsMount&) = delete;
  const std::string& error() const { return error_; }

 private:
  const std::string path_;
  std::string error_;
};

int64_t FreeBytes(const std::string& path) {
  struct statvfs s = {};
  if (statvfs(path.c_str(), &s) != 0) return -1;
  return static_cast<int64_t>(s.f_bavail) * static_cast<int64_t>(s.f_frsize);
}

// Writes `bytes` of zeros to `path`; false if the file system refused them.
bool WriteBallast(const std::string& path, int64_t bytes) {
  std::ofstream f(path, std::ios::binary);
  const std::string chunk(64 * 1024, '\0');
  while (bytes > 0 && f) {
    const int64_t n = std::min<int64_t>(bytes, static_cast<int64_t>(chunk.size()));
    f.write(chunk.data(), n);
    bytes -= n;
  }
  f.flush();
  return static_cast<bool>(f);
}

// The store's file system fills up: creates get RESOURCE_EXHAUSTED/STORE_FULL (never
// INTERNAL, never a partial record or an orphan change event), reads keep working, and once
// there is space again writes resume.
TEST_F(RegistryReliabilityTest, DiskFull) {
  if (TestStoreIsPostgres()) {
    GTEST_SKIP() << "SQLite only: the test fills the file system of the store file (a small "
                    "tmpfs as the store directory); a PostgreSQL store's data is in the server's "
                    "data directory, shared by the whole suite, and a full pg_wal is a PANIC of "
                    "the server, not a refused write";
  }
  TempDir mount_dir;
  TmpfsMount tmpfs(mount_dir.path(), "size=8m,mode=0700");
  if (!tmpfs.error().empty()) {
    if (std::getenv("CI") != nullptr) FAIL() << tmpfs.error() << " (CI is set: no skipping)";
    GTEST_SKIP() << tmpfs.error();
  }
  ASSERT_NO_FATAL_FAILURE(StartRegistry({}, 0, mount_dir.path()));
  // Reset before the stop (see there).
  auto client_ptr = std::make_unique<RegistryClient>(registry_->channel(), absl::Seconds(10));
  RegistryClient& client = *client_ptr;
  const std::string election = SetUpElection("rel-full");
  History history;
  int64_t n = 0;
  // One create recorded in the history; returns its status.
  auto create = [&]() -> absl::Status {
    rv1::CreateObserverRequest req = NewObserverRequest(election, NextSeq(), "FR");
    req.set_request_id(absl::StrCat("df-", n++));
    for (;;) {
      const int64_t op = history.Invoke("CreateObserver", req.request_id(), "");
      absl::StatusOr<rv1::CreateObserverResponse> resp = client.CreateObserver(req);
      history.Complete(op, resp.status(), resp.ok() ? &resp->observer() : nullptr,
                       resp.ok() ? resp->revision() : 0);
      if (Classify(resp.status()) != Outcome::kUnknown) return resp.status();
      absl::SleepFor(absl::Milliseconds(100));  // Retried with the same request id.
    }
  };
  for (int i = 0; i < 20; ++i) ASSERT_OK(create());

  // Twice: with a little room left (the WAL fills up at a commit), then with none at all.
  const std::string ballast = mount_dir.Join("ballast");
  for (const int64_t margin : {int64_t{300 * 1024}, int64_t{0}}) {
    SCOPED_TRACE(absl::StrCat("ballast leaving ", margin, " bytes"));
    const int64_t free_bytes = FreeBytes(mount_dir.path());
    ASSERT_GT(free_bytes, 1 << 20);
    if (margin > 0) {
      ASSERT_TRUE(WriteBallast(ballast, free_bytes - margin));
    } else {
      WriteBallast(ballast, free_bytes + (1 << 20));  // Until ENOSPC.
    }
    std::cerr << "free after the ballast: " << FreeBytes(mount_dir.path()) << " bytes\n";

    absl::Status full;
    int created_until_full = 0;
    for (int i = 0; i < 5000; ++i) {
      full = create();
      if (!full.ok()) break;
      ++created_until_full;
    }
    std::cerr << created_until_full << " creates until: " << DescribeStatus(full) << "\n";
    EXPECT_THAT(full, StatusIs(absl::StatusCode::kResourceExhausted, "STORE_FULL"));
    // A few more: each refused the same way (or, with space freed by a checkpoint, done).
    for (int i = 0; i < 5; ++i) {
      EXPECT_THAT(create(), ::testing::AnyOf(IsOk(), StatusIs(absl::StatusCode::kResourceExhausted,
                                                              "STORE_FULL")));
    }

    // Reads keep working.
    ASSERT_OK_AND_ASSIGN(std::vector<rv1::Observer> listed, client.AllObservers(election));
    EXPECT_GE(static_cast<int>(listed.size()), 20 + created_until_full);
    rv1::GetObserverRequest get;
    get.set_name(listed.back().name());
    EXPECT_OK(client.GetObserver(get));
    EXPECT_FALSE(registry_->exited());

    // Space again: writes resume.
    ASSERT_EQ(unlink(ballast.c_str()), 0);
    for (int i = 0; i < 10; ++i) EXPECT_OK(create());
  }

  const std::map<std::string, int> outcomes = CountOutcomes(history.operations());
  std::cerr << "disk full: " << history.Summary() << "; " << Show(outcomes) << "\n";
  EXPECT_EQ(outcomes.count("INTERNAL/STORE_ERROR"), 0u) << Show(outcomes);
  EXPECT_EQ(outcomes.count("INTERNAL"), 0u) << Show(outcomes);
  // An idle connection left open delays the server's shutdown by seconds (gRPC).
  client_ptr.reset();
  CheckFinalState(history);
  ASSERT_NO_FATAL_FAILURE(StopAndCheckIntegrity());
}

}  // namespace
}  // namespace observer::testing
