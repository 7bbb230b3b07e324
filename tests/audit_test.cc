// The audit trail end to end (ADR 0008, "Audit chain"): the real registry-service writes changes
// through its API; the test stops it and tampers with its store (the SQLite file, or the
// PostgreSQL database under OBSERVER_TEST_STORE=postgresql) the way someone with access to it
// but not to the audit key would (edit an entry, delete one, swap two, change the key), starts
// it again and runs the real `observerctl audit verify`, which must name the first bad revision
// and the problem. An untampered log, before and after compaction and restarts, verifies. Also:
// the audit key file flag and its default, and the actor, request id and reason carried by
// every change.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "google/protobuf/util/json_util.h"
#include "observer/registry/v1/registry_service.grpc.pb.h"
#include "tests/harness/builders.h"
#include "tests/harness/command.h"
#include "tests/harness/postgres_cluster.h"
#include "tests/harness/registry_client.h"
#include "tests/harness/registry_process.h"
#include "tests/harness/service_process.h"
#include "tests/harness/status_matchers.h"
#include "tests/harness/temp_dir.h"
#include "tests/harness/unary_call.h"

namespace observer::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// The observerctl binary: $OBSERVERCTL_BINARY if set, else the path CMake compiled in.
std::string ObserverctlBinary() {
#ifdef OBSERVERCTL_BINARY
  return BinaryPath("OBSERVERCTL_BINARY", OBSERVERCTL_BINARY);
#else
  return BinaryPath("OBSERVERCTL_BINARY", "");
#endif
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteKeyFile(const std::string& path, const std::string& key, mode_t mode = 0600) {
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << key;
  }
  ASSERT_EQ(::chmod(path.c_str(), mode), 0) << path;
}

std::string FirstLine(const std::string& text) {
  return std::string(text.substr(0, text.find('\n')));
}

// The store opened directly, as someone with access to the disk (the SQLite file) or to the
// database (PostgreSQL) but not to the audit key would: `store_uri` as the registry was given it.
class StoreFile {
 public:
  explicit StoreFile(const std::string& store_uri) {
    if (absl::StartsWith(store_uri, "postgresql://")) {
      url_ = store_uri;
      return;
    }
    const std::string path(absl::StripPrefix(store_uri, "sqlite://"));
    EXPECT_EQ(sqlite3_open(path.c_str(), &db_), SQLITE_OK) << path;
  }
  ~StoreFile() {
    if (db_ != nullptr) sqlite3_close(db_);
  }
  StoreFile(const StoreFile&) = delete;
  StoreFile& operator=(const StoreFile&) = delete;

  void Exec(const std::string& sql) {
    if (!url_.empty()) {
      EXPECT_OK(PostgresQuery(url_, sql).status()) << sql;
      return;
    }
    char* error = nullptr;
    EXPECT_EQ(sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error), SQLITE_OK)
        << sql << ": " << (error == nullptr ? "" : error);
    sqlite3_free(error);
  }
  std::string Event(int64_t revision) {
    std::string out;
    if (!url_.empty()) {
      absl::StatusOr<std::vector<std::string>> rows = PostgresQuery(
          url_,
          absl::StrCat("SELECT encode(event, 'hex') FROM changes WHERE revision = ", revision));
      EXPECT_OK(rows.status());
      if (!rows.ok() || rows->size() != 1) {
        ADD_FAILURE() << "no change at revision " << revision;
      } else {
        out = absl::HexStringToBytes(rows->front());
      }
      return out;
    }
    sqlite3_stmt* stmt = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db_, "SELECT event FROM changes WHERE revision = ?1", -1, &stmt,
                                 nullptr),
              SQLITE_OK);
    sqlite3_bind_int64(stmt, 1, revision);
    if (sqlite3_step(stmt) == SQLITE_ROW) {
      out.assign(static_cast<const char*>(sqlite3_column_blob(stmt, 0)),
                 static_cast<size_t>(sqlite3_column_bytes(stmt, 0)));
    } else {
      ADD_FAILURE() << "no change at revision " << revision;
    }
    sqlite3_finalize(stmt);
    return out;
  }
  void SetEvent(int64_t revision, const std::string& bytes) {
    if (!url_.empty()) {
      absl::StatusOr<std::vector<std::string>> rows = PostgresQuery(
          url_, absl::StrCat("UPDATE changes SET event = decode('", absl::BytesToHexString(bytes),
                             "', 'hex') WHERE revision = ", revision, " RETURNING revision"));
      ASSERT_OK(rows.status());
      EXPECT_EQ(rows->size(), 1u);
      return;
    }
    sqlite3_stmt* stmt = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db_, "UPDATE changes SET event = ?1 WHERE revision = ?2", -1,
                                 &stmt, nullptr),
              SQLITE_OK);
    sqlite3_bind_blob(stmt, 1, bytes.data(), static_cast<int>(bytes.size()), SQLITE_TRANSIENT);
    sqlite3_bind_int64(stmt, 2, revision);
    EXPECT_EQ(sqlite3_step(stmt), SQLITE_DONE);
    EXPECT_EQ(sqlite3_changes(db_), 1);
    sqlite3_finalize(stmt);
  }

 private:
  std::string url_;        // PostgreSQL.
  sqlite3* db_ = nullptr;  // SQLite.
};

class AuditTest : public ::testing::Test {
 protected:
  // Changes 1..10: an election, three organisations, three observers, an accreditation, a
  // suspension with a reason and a deletion with a reason.
  static constexpr int64_t kChanges = 10;

  void SetUp() override {
    key_path_ = dir_.Join("audit.key");
    WriteKeyFile(key_path_, std::string(32, 'A'));
  }
  void TearDown() override {
    if (HasFailure() && registry_ != nullptr) PrintOutputTails({registry_.get()});
  }

  void StartRegistry(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"--audit-key-file", key_path_};
    args.insert(args.end(), extra.begin(), extra.end());
    registry_ = std::make_unique<RegistryProcess>(dir_.path(), args);
    ASSERT_OK(registry_->Start());
  }
  void StopRegistry() { ASSERT_OK(registry_->Stop()); }

  std::string store_path() const { return dir_.Join("registry.db"); }

  // Writes the kChanges changes.
  void MakeChanges() {
    RegistryClient client(registry_->channel());
    ASSERT_OK(client.CreateElection(FutureElection("audit-2030")));
    for (const char* code : {"AUDIT-A", "AUDIT-B", "AUDIT-C"}) {
      ASSERT_OK(client.CreateOrganisation(NewOrganisation(code, "Audited organisation")));
    }
    std::vector<std::string> observers;
    for (int i = 0; i < 3; ++i) {
      ASSERT_OK_AND_ASSIGN(auto created, client.CreateObserver(NewObserverRequest(
                                             ElectionName("audit-2030"), NextSeq())));
      observers.push_back(created.observer().name());
    }
    rv1::AccreditObserverRequest accredit;
    accredit.set_name(observers[0]);
    ASSERT_OK(client.AccreditObserver(accredit));
    rv1::SuspendObserverRequest suspend;
    suspend.set_name(observers[0]);
    suspend.set_reason("breach of the code of conduct");
    suspend.set_request_id("audit-suspend-1");
    ASSERT_OK(client.SuspendObserver(suspend));
    // A deletion with a declared actor (metadata, as allowed on plaintext loopback).
    rv1::DeleteObserverRequest del;
    del.set_name(observers[1]);
    del.set_reason("entered twice");
    del.set_request_id("audit-delete-1");
    grpc::ClientContext context;
    context.set_deadline(DeadlineAfter(absl::Seconds(10)));
    context.AddMetadata("x-observer-actor", "registrar-anna");
    rv1::DeleteObserverResponse deleted;
    ASSERT_TRUE(client.stub().DeleteObserver(&context, del, &deleted).ok());
    ASSERT_EQ(deleted.revision(), kChanges);
    deleted_ = observers[1];
    suspended_ = observers[0];
  }

  absl::StatusOr<CommandResult> Verify(std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {ObserverctlBinary(), "audit", "verify", "--registry",
                                     registry_->address()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    CommandOptions options;
    options.unset_env = {"OBSERVERCTL_REGISTRY",       "OBSERVERCTL_STATS",
                         "OBSERVERCTL_TIMEOUT",        "OBSERVERCTL_TLS_CA",
                         "OBSERVERCTL_TLS_CERT",       "OBSERVERCTL_TLS_KEY",
                         "OBSERVERCTL_TLS_SERVER_NAME"};
    options.timeout = absl::Seconds(60);
    return RunCommand(argv, options);
  }

  // Runs observerctl audit verify and expects the log broken at `revision` with `problem`.
  void ExpectBroken(int64_t revision, const std::string& problem,
                    const std::string& message_part = "") {
    ASSERT_OK_AND_ASSIGN(CommandResult r, Verify());
    EXPECT_EQ(r.exit_code(), 1) << r.Describe();
    EXPECT_THAT(FirstLine(r.stdout_text), StartsWith(absl::StrCat("change log broken at revision ",
                                                                  revision, ": ", problem, " — ")))
        << r.Describe();
    EXPECT_THAT(FirstLine(r.stdout_text), HasSubstr(message_part)) << r.Describe();
    // The same answer in JSON.
    ASSERT_OK_AND_ASSIGN(CommandResult json, Verify({"--output", "json"}));
    EXPECT_EQ(json.exit_code(), 1) << json.Describe();
    rv1::VerifyChangeLogResponse resp;
    ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json.stdout_text, &resp).ok())
        << json.Describe();
    EXPECT_EQ(resp.bad_revision(), revision);
    EXPECT_NE(resp.problem(), rv1::CHANGE_LOG_PROBLEM_UNSPECIFIED);
    EXPECT_EQ(resp.last_revision(), revision - 1) << "every entry before the bad one verified";
  }

  void ExpectVerified(int64_t first, int64_t last) {
    ASSERT_OK_AND_ASSIGN(CommandResult r, Verify());
    EXPECT_EQ(r.exit_code(), 0) << r.Describe();
    EXPECT_EQ(FirstLine(r.stdout_text), absl::StrCat("change log verified: ", last - first + 1,
                                                     last == first ? " entry" : " entries",
                                                     ", revisions ", first, "..", last))
        << r.Describe();
  }

  // The verification as the API gives it.
  absl::StatusOr<rv1::VerifyChangeLogResponse> VerifyRpc() {
    RegistryClient client(registry_->channel());
    return UnaryCall(&client.stub(), &rv1::RegistryService::Stub::VerifyChangeLog,
                     rv1::VerifyChangeLogRequest(), absl::Seconds(20));
  }

  TempDir dir_;
  std::string key_path_;
  std::unique_ptr<RegistryProcess> registry_;
  std::string deleted_;
  std::string suspended_;
};

TEST_F(AuditTest, AnUntamperedLogVerifiesAcrossRestarts) {
  ASSERT_NO_FATAL_FAILURE(StartRegistry());
  ASSERT_NO_FATAL_FAILURE(MakeChanges());
  ASSERT_NO_FATAL_FAILURE(ExpectVerified(1, kChanges));
  ASSERT_OK_AND_ASSIGN(rv1::VerifyChangeLogResponse before, VerifyRpc());
  EXPECT_EQ(before.head_revision(), kChanges);
  EXPECT_EQ(before.head_chain().size(), 64u);

  // A restart continues the chain: the same head value, and new changes link to it.
  ASSERT_OK(registry_->Restart());
  ASSERT_OK_AND_ASSIGN(rv1::VerifyChangeLogResponse after, VerifyRpc());
  EXPECT_EQ(after.head_chain(), before.head_chain());
  EXPECT_EQ(after.key_id(), before.key_id());
  RegistryClient client(registry_->channel());
  ASSERT_OK(client.CreateOrganisation(NewOrganisation("AUDIT-E", "After the restart")));
  ASSERT_NO_FATAL_FAILURE(ExpectVerified(1, kChanges + 1));
  EXPECT_EQ(registry_->CountInOutput("created an audit key"), 0)
      << "--audit-key-file was given: no key is created";
}

TEST_F(AuditTest, EveryChangeCarriesActorRequestIdAndReason) {
  ASSERT_NO_FATAL_FAILURE(StartRegistry());
  ASSERT_NO_FATAL_FAILURE(MakeChanges());
  RegistryClient client(registry_->channel());
  rv1::WatchRequest watch;
  watch.set_start_revision(1);
  auto stream = client.Watch(watch);
  ASSERT_OK_AND_ASSIGN(std::vector<rv1::ChangeEvent> events,
                       stream->EventsThrough(kChanges, absl::Seconds(20)));
  ASSERT_EQ(static_cast<int64_t>(events.size()), kChanges);
  for (const rv1::ChangeEvent& e : events) {
    EXPECT_FALSE(e.actor().empty()) << e.ShortDebugString();
  }
  const rv1::ChangeEvent& suspension = events[kChanges - 2];
  EXPECT_EQ(suspension.name(), suspended_);
  EXPECT_EQ(suspension.request_id(), "audit-suspend-1");
  EXPECT_EQ(suspension.reason(), "breach of the code of conduct");
  const rv1::ChangeEvent& deletion = events[kChanges - 1];
  EXPECT_EQ(deletion.type(), rv1::CHANGE_TYPE_DELETED);
  EXPECT_EQ(deletion.name(), deleted_);
  EXPECT_EQ(deletion.actor(), "registrar-anna");
  EXPECT_EQ(deletion.request_id(), "audit-delete-1");
  EXPECT_EQ(deletion.reason(), "entered twice");
}

TEST_F(AuditTest, AnUntamperedLogVerifiesAfterCompaction) {
  // Keeps the last 4 revisions: every write past the 4th compacts.
  ASSERT_NO_FATAL_FAILURE(StartRegistry({"--changelog-retention", "4"}));
  ASSERT_NO_FATAL_FAILURE(MakeChanges());
  // Compaction runs after the write is acknowledged: wait for the last one.
  ASSERT_TRUE(PollUntil(
      [&] {
        absl::StatusOr<rv1::VerifyChangeLogResponse> v = VerifyRpc();
        return v.ok() && v->compact_revision() == kChanges - 3;
      },
      absl::Seconds(10)));
  ASSERT_NO_FATAL_FAILURE(ExpectVerified(kChanges - 3, kChanges));
  ASSERT_OK(registry_->Restart());
  ASSERT_NO_FATAL_FAILURE(ExpectVerified(kChanges - 3, kChanges));
  RegistryClient client(registry_->channel());
  ASSERT_OK(client.CreateOrganisation(NewOrganisation("AUDIT-E", "After compaction")));
  ASSERT_TRUE(PollUntil(
      [&] {
        absl::StatusOr<rv1::VerifyChangeLogResponse> v = VerifyRpc();
        return v.ok() && v->compact_revision() == kChanges - 2;
      },
      absl::Seconds(10)));
  ASSERT_NO_FATAL_FAILURE(ExpectVerified(kChanges - 2, kChanges + 1));
}

TEST_F(AuditTest, AnEditedEntryIsAlteredAtItsRevision) {
  ASSERT_NO_FATAL_FAILURE(StartRegistry());
  ASSERT_NO_FATAL_FAILURE(MakeChanges());
  ASSERT_NO_FATAL_FAILURE(StopRegistry());
  {
    // Someone rewrites who made change 5 (a valid event, only the actor differs).
    StoreFile file(registry_->store_uri());
    rv1::ChangeEvent event;
    ASSERT_TRUE(event.ParseFromString(file.Event(5)));
    event.set_actor("someone-else");
    file.SetEvent(5, event.SerializeAsString());
  }
  ASSERT_OK(registry_->Start());
  ASSERT_NO_FATAL_FAILURE(ExpectBroken(5, "altered", "HMAC"));
}

TEST_F(AuditTest, ADeletedEntryIsMissing) {
  ASSERT_NO_FATAL_FAILURE(StartRegistry());
  ASSERT_NO_FATAL_FAILURE(MakeChanges());
  ASSERT_NO_FATAL_FAILURE(StopRegistry());
  {
    StoreFile file(registry_->store_uri());
    file.Exec("DELETE FROM changes WHERE revision = 4");
  }
  ASSERT_OK(registry_->Start());
  ASSERT_NO_FATAL_FAILURE(ExpectBroken(4, "missing", "revision 4 is missing"));
}

TEST_F(AuditTest, TwoSwappedEntriesAreReordered) {
  ASSERT_NO_FATAL_FAILURE(StartRegistry());
  ASSERT_NO_FATAL_FAILURE(MakeChanges());
  ASSERT_NO_FATAL_FAILURE(StopRegistry());
  {
    StoreFile file(registry_->store_uri());
    file.Exec(
        "UPDATE changes SET revision = -1 WHERE revision = 6; "
        "UPDATE changes SET revision = 6 WHERE revision = 7; "
        "UPDATE changes SET revision = 7 WHERE revision = -1");
  }
  ASSERT_OK(registry_->Start());
  ASSERT_NO_FATAL_FAILURE(ExpectBroken(6, "reordered", "holds the change of revision 7"));
}

TEST_F(AuditTest, AnotherKeyFileIsAKeyMismatch) {
  ASSERT_NO_FATAL_FAILURE(StartRegistry());
  ASSERT_NO_FATAL_FAILURE(MakeChanges());
  ASSERT_NO_FATAL_FAILURE(StopRegistry());
  WriteKeyFile(key_path_, std::string(32, 'B'));
  ASSERT_OK(registry_->Start());
  EXPECT_EQ(registry_->CountInOutput("the audit key differs from the one the newest change was "
                                     "chained with"),
            1);
  ASSERT_NO_FATAL_FAILURE(ExpectBroken(
      1, "key-mismatch", "the audit key does not match the one the log was written with"));
}

// The chain alone cannot show that changes were cut off the end of the log (with the head
// lowered to match); the head value recorded by an earlier check can.
TEST_F(AuditTest, ARecordedHeadChainFindsChangesCutOffTheEnd) {
  ASSERT_NO_FATAL_FAILURE(StartRegistry());
  ASSERT_NO_FATAL_FAILURE(MakeChanges());
  ASSERT_OK_AND_ASSIGN(CommandResult first, Verify());
  ASSERT_EQ(first.exit_code(), 0) << first.Describe();
  // "head chain 10:HEX (audit key ...)": the REVISION:CHAIN to record.
  const std::string label = "head chain ";
  const std::string revision = absl::StrCat(kChanges, ":");
  const size_t at = first.stdout_text.find(label + revision);
  ASSERT_NE(at, std::string::npos) << first.Describe();
  const std::string recorded = first.stdout_text.substr(at + label.size(), revision.size() + 64);
  ASSERT_OK_AND_ASSIGN(CommandResult again, Verify({"--expect", recorded}));
  EXPECT_EQ(again.exit_code(), 0) << again.Describe();
  EXPECT_THAT(again.stdout_text, HasSubstr(absl::StrCat("the recorded chain value at revision ",
                                                        kChanges, " matches")));

  ASSERT_NO_FATAL_FAILURE(StopRegistry());
  {
    StoreFile file(registry_->store_uri());
    file.Exec(absl::StrCat("DELETE FROM changes WHERE revision > ", kChanges - 2,
                           "; UPDATE store_state SET head_revision = ", kChanges - 2));
  }
  ASSERT_OK(registry_->Start());
  ASSERT_NO_FATAL_FAILURE(ExpectVerified(1, kChanges - 2));
  ASSERT_OK_AND_ASSIGN(CommandResult r, Verify({"--expect", recorded}));
  EXPECT_EQ(r.exit_code(), 1) << r.Describe();
  EXPECT_EQ(
      FirstLine(r.stdout_text),
      absl::StrCat("change log broken at revision ", kChanges - 1, ": missing — revision ",
                   kChanges, ", whose chain value was recorded, is beyond the head revision (",
                   kChanges - 2, "): changes after it were removed"))
      << r.Describe();

  ASSERT_OK_AND_ASSIGN(CommandResult bad, Verify({"--expect", "10:abc"}));
  EXPECT_EQ(bad.exit_code(), 2) << bad.Describe();
  EXPECT_THAT(bad.stderr_text, HasSubstr("--expect"));
}

TEST_F(AuditTest, AnUnusableKeyFileIsAUsageError) {
  struct Case {
    std::string name;
    std::string content;
    mode_t mode;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"short.key", std::string(31, 'x'), 0600, "holds 31 bytes"},
      {"shared.key", std::string(32, 'x'), 0644, "other users"},
      {"missing.key", "", 0, "No such file"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string path = dir_.Join(c.name);
    if (c.mode != 0) WriteKeyFile(path, c.content, c.mode);
    RegistryProcess registry(dir_.path(), {"--audit-key-file", path});
    ASSERT_OK_AND_ASSIGN(ExitResult r, RunToExit(registry.argv(), absl::Seconds(30)));
    EXPECT_EQ(r.exit_code(), 2) << r.Describe();
    EXPECT_THAT(r.output, HasSubstr("--audit-key-file"));
    EXPECT_THAT(r.output, HasSubstr(path));
    EXPECT_THAT(r.output, HasSubstr(c.expected));
  }
  // The environment variable names the file too (the store alone on the command line: on
  // PostgreSQL, without the key file flag the harness adds).
  WriteKeyFile(dir_.Join("env.key"), "short", 0600);
  RegistryProcess registry(StoreUrl{RegistryProcess(dir_.path()).store_uri(), ""});
  std::vector<std::string> argv = {"/usr/bin/env",
                                   absl::StrCat("REGISTRY_AUDIT_KEY_FILE=", dir_.Join("env.key"))};
  for (const std::string& a : registry.argv()) argv.push_back(a);
  ASSERT_OK_AND_ASSIGN(ExitResult r, RunToExit(argv, absl::Seconds(30)));
  EXPECT_EQ(r.exit_code(), 2) << r.Describe();
  EXPECT_THAT(r.output, HasSubstr("--audit-key-file"));
  if (TestStoreIsPostgres()) {
    // No key file at all: a PostgreSQL store has no default (every replica needs the same key).
    ASSERT_OK_AND_ASSIGN(ExitResult none, RunToExit(registry.argv(), absl::Seconds(30)));
    EXPECT_EQ(none.exit_code(), 2) << none.Describe();
    EXPECT_THAT(none.output, HasSubstr("--audit-key-file is required with a PostgreSQL store"));
  }
}

TEST_F(AuditTest, WithoutTheFlagAKeyIsCreatedBesideTheStoreWithAWarning) {
  if (TestStoreIsPostgres()) {
    GTEST_SKIP() << "SQLite only: the default key file is made beside the store file; a "
                    "PostgreSQL store has no default and requires --audit-key-file "
                    "(AnUnusableKeyFileIsAUsageError checks the refusal)";
  }
  registry_ = std::make_unique<RegistryProcess>(dir_.path());
  ASSERT_OK(registry_->Start());
  const std::string default_key = store_path() + ".audit-key";
  struct stat st;
  ASSERT_EQ(::stat(default_key.c_str(), &st), 0) << default_key;
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(st.st_size, 32);
  EXPECT_EQ(registry_->CountInOutput("created an audit key beside the store"), 1);
  EXPECT_EQ(registry_->CountInOutput("outside the store's volume"), 1);
  const std::string key = ReadFile(default_key);
  ASSERT_NO_FATAL_FAILURE(MakeChanges());
  ASSERT_NO_FATAL_FAILURE(ExpectVerified(1, kChanges));
  // The same key is used again, not replaced.
  ASSERT_OK(registry_->Restart());
  EXPECT_EQ(ReadFile(default_key), key);
  EXPECT_EQ(registry_->CountInOutput("using the audit key beside the store"), 1);
  ASSERT_NO_FATAL_FAILURE(ExpectVerified(1, kChanges));
}

}  // namespace
}  // namespace observer::testing
