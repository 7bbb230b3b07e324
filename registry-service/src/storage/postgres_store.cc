#include "registry-service/src/storage/postgres_store.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/errors.h"
#include "common/failpoint.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "common/thread_name.h"
#include "registry-service/src/storage/audit_chain.h"
#include "registry-service/src/storage/group_log.h"
#include "registry-service/src/storage/store_common.h"

namespace observer::registry {
namespace {

using pg::Param;

// Each entry brings the schema from version N to N+1; never edit a released entry. Keys are
// compared byte-wise (COLLATE "C"), as in the SQLite store, so that keyset pages do not depend
// on the database's locale.
constexpr const char* kMigrations[] = {
    R"sql(
CREATE TABLE store_state (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  head_revision BIGINT NOT NULL,
  compact_revision BIGINT NOT NULL,
  head_chain BYTEA,
  head_key_id TEXT,
  chain_anchor BYTEA,
  anchor_key_id TEXT,
  anchor_mac BYTEA
);
INSERT INTO store_state (id, head_revision, compact_revision) VALUES (1, 0, 1);
CREATE TABLE elections (id TEXT COLLATE "C" PRIMARY KEY, data BYTEA NOT NULL);
CREATE TABLE organisations (code TEXT COLLATE "C" PRIMARY KEY, data BYTEA NOT NULL);
CREATE TABLE observers (
  election_id TEXT COLLATE "C" NOT NULL,
  id TEXT COLLATE "C" NOT NULL,
  status BIGINT NOT NULL,
  organisation TEXT COLLATE "C",
  state TEXT COLLATE "C",
  citizenship TEXT COLLATE "C" NOT NULL,
  category BIGINT NOT NULL,
  test BIGINT NOT NULL,
  document_key TEXT COLLATE "C" NOT NULL,
  data BYTEA NOT NULL,
  PRIMARY KEY (election_id, id)
);
CREATE UNIQUE INDEX observers_by_document ON observers (election_id, document_key);
CREATE INDEX observers_by_status ON observers (election_id, status, id);
CREATE INDEX observers_by_organisation ON observers (election_id, organisation, id);
CREATE INDEX observers_by_state ON observers (election_id, state, id);
CREATE TABLE observer_tags (
  election_id TEXT COLLATE "C" NOT NULL,
  tag TEXT COLLATE "C" NOT NULL,
  observer_id TEXT COLLATE "C" NOT NULL,
  PRIMARY KEY (election_id, tag, observer_id)
);
CREATE INDEX observer_tags_by_observer ON observer_tags (election_id, observer_id);
CREATE TABLE badges (
  election_id TEXT COLLATE "C" NOT NULL,
  badge TEXT COLLATE "C" NOT NULL,
  PRIMARY KEY (election_id, badge)
);
CREATE TABLE badge_sequences (election_id TEXT COLLATE "C" PRIMARY KEY, next BIGINT NOT NULL);
CREATE TABLE changes (
  revision BIGINT PRIMARY KEY,
  event BYTEA NOT NULL,
  chain BYTEA,
  key_id TEXT
);
CREATE TABLE requests (
  request_id TEXT COLLATE "C" PRIMARY KEY,
  fingerprint BYTEA NOT NULL,
  response BYTEA NOT NULL,
  revision BIGINT NOT NULL
);
CREATE INDEX requests_by_revision ON requests (revision);
)sql",
};
static_assert(std::size(kMigrations) == PostgresStore::kSchemaVersion);

// The session advisory lock replicas take while migrating ("observer" in ASCII).
constexpr const char* kMigrationLock = "SELECT pg_advisory_lock(111627920733810)";
constexpr const char* kMigrationUnlock = "SELECT pg_advisory_unlock(111627920733810)";
// Sent by every commit that appended changes; the payload is the new head revision.
constexpr const char* kChannel = "observer_changes";
constexpr int kCatchUpBatch = 1000;

absl::Status Prefixed(const absl::Status& status, absl::string_view prefix) {
  return absl::Status(status.code(), absl::StrCat(prefix, status.message()));
}

// Brings the database's schema to kSchemaVersion; replicas starting together take turns.
absl::Status Migrate(pg::Connection& db) {
  RETURN_IF_ERROR(db.Exec(kMigrationLock));
  auto migrate = [&db]() -> absl::Status {
    ASSIGN_OR_RETURN(pg::Result ours,
                     db.Query("SELECT count(*) FROM pg_tables WHERE schemaname = "
                              "current_schema() AND tablename = 'observer_schema'"));
    if (ours.Int(0, 0) == 0) {
      ASSIGN_OR_RETURN(pg::Result tables, db.Query("SELECT count(*) FROM pg_tables WHERE "
                                                   "schemaname = current_schema()"));
      if (tables.Int(0, 0) != 0) {
        return absl::FailedPreconditionError(
            "the database holds other tables but no registry store (observer_schema is "
            "missing): give the registry a database of its own");
      }
      RETURN_IF_ERROR(
          db.Exec("CREATE TABLE observer_schema (version BIGINT PRIMARY KEY, "
                  "applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"));
    }
    ASSIGN_OR_RETURN(pg::Result version,
                     db.Query("SELECT coalesce(max(version), 0)::bigint FROM observer_schema"));
    const int64_t current = version.Int(0, 0);
    if (current > PostgresStore::kSchemaVersion) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the database has schema version ", current, " but this registry-service only knows ",
          PostgresStore::kSchemaVersion, ": upgrade the binary"));
    }
    for (int64_t v = current; v < PostgresStore::kSchemaVersion; ++v) {
      absl::Status status = db.Exec("BEGIN");
      if (status.ok()) status = db.Exec(kMigrations[v]);
      if (status.ok()) {
        status = db.Query("INSERT INTO observer_schema (version) VALUES ($1)", {Param::Int(v + 1)})
                     .status();
      }
      if (status.ok()) status = db.Exec("COMMIT");
      if (!status.ok()) {
        (void)db.Exec("ROLLBACK");
        return Prefixed(status, absl::StrCat("migrating to schema version ", v + 1, ": "));
      }
    }
    return absl::OkStatus();
  };
  absl::Status status = migrate();
  (void)db.Exec(kMigrationUnlock);
  return status;
}

absl::StatusOr<std::unique_ptr<pg::Connection>> Connect(const std::string& conninfo) {
  return pg::Connection::Open(conninfo);
}

// The writer's connection. A writer session left idle inside a transaction (a replica hung
// while it held the revision lock) is ended by the server, which releases the lock for the
// other replicas. (Readers keep no such limit: a snapshot is read at the pace of its watcher.)
absl::StatusOr<std::unique_ptr<pg::Connection>> ConnectWriter(const std::string& conninfo) {
  ASSIGN_OR_RETURN(std::unique_ptr<pg::Connection> conn, pg::Connection::Open(conninfo));
  RETURN_IF_ERROR(conn->Exec("SET idle_in_transaction_session_timeout = '60s'"));
  return conn;
}

}  // namespace

// The write side of one request (see SqliteStore::Txn): the same statements in PostgreSQL's
// dialect. Any error aborts PostgreSQL's transaction until the request's savepoint is rolled
// back, which CommitGroup and Atomically do.
class PostgresStore::Txn final : public WriteTxn {
 public:
  Txn(pg::Connection& db, int64_t head, std::string chain, const std::string& audit_key,
      const HmacSha256Key& audit_mac, const std::string& audit_key_id)
      : db_(db),
        log_(head, std::move(chain), audit_mac),
        audit_key_(audit_key),
        audit_key_id_(audit_key_id) {}

  GroupLog& log() { return log_; }

  absl::StatusOr<std::optional<v1::Election>> GetElection(absl::string_view id) override {
    if (auto it = elections_.find(id); it != elections_.end()) return it->second;
    ASSIGN_OR_RETURN(auto election,
                     GetBlob<v1::Election>("SELECT data FROM elections WHERE id = $1",
                                           {Param::Text(id)}, "election"));
    elections_.emplace(std::string(id), election);
    return election;
  }
  absl::StatusOr<std::optional<v1::Organisation>> GetOrganisation(absl::string_view code) override {
    if (auto it = organisations_.find(code); it != organisations_.end()) return it->second;
    ASSIGN_OR_RETURN(auto organisation,
                     GetBlob<v1::Organisation>("SELECT data FROM organisations WHERE code = $1",
                                               {Param::Text(code)}, "organisation"));
    organisations_.emplace(std::string(code), organisation);
    return organisation;
  }
  absl::StatusOr<std::optional<v1::Observer>> GetObserver(absl::string_view election_id,
                                                          absl::string_view observer_id) override {
    return GetBlob<v1::Observer>("SELECT data FROM observers WHERE election_id = $1 AND id = $2",
                                 {Param::Text(election_id), Param::Text(observer_id)}, "observer");
  }

  absl::StatusOr<std::optional<std::string>> FindObserverByDocument(
      absl::string_view election_id, absl::string_view document_key) override {
    ASSIGN_OR_RETURN(pg::Result r,
                     db_.Query("SELECT id FROM observers WHERE election_id = $1 AND "
                               "document_key = $2",
                               {Param::Text(election_id), Param::Text(document_key)}));
    if (r.rows() == 0) return std::optional<std::string>();
    return std::optional<std::string>(r.Text(0, 0));
  }

  absl::StatusOr<bool> BadgeUsed(absl::string_view election_id, absl::string_view badge) override {
    ASSIGN_OR_RETURN(pg::Result r,
                     db_.Query("SELECT 1::bigint FROM badges WHERE election_id = $1 AND badge = $2",
                               {Param::Text(election_id), Param::Text(badge)}));
    return r.rows() > 0;
  }

  absl::StatusOr<int64_t> NextBadgeSequence(absl::string_view election_id) override {
    ASSIGN_OR_RETURN(pg::Result r,
                     db_.Query("INSERT INTO badge_sequences (election_id, next) VALUES ($1, 2) "
                               "ON CONFLICT (election_id) DO UPDATE SET "
                               "next = badge_sequences.next + 1 RETURNING next - 1",
                               {Param::Text(election_id)}));
    if (r.rows() != 1) return absl::InternalError("badge sequence returned no row");
    return r.Int(0, 0);
  }

  absl::Status PutElection(const v1::Election& election) override {
    const std::string id(absl::string_view(election.name()).substr(sizeof("elections/") - 1));
    const std::string data = election.SerializeAsString();
    RETURN_IF_ERROR(
        db_.Defer("INSERT INTO elections (id, data) VALUES ($1, $2) ON CONFLICT (id) "
                  "DO UPDATE SET data = EXCLUDED.data",
                  {Param::Text(id), Param::Bytes(data)}));
    elections_[id] = election;
    return absl::OkStatus();
  }

  absl::Status PutOrganisation(const v1::Organisation& organisation) override {
    const std::string code(
        absl::string_view(organisation.name()).substr(sizeof("organisations/") - 1));
    const std::string data = organisation.SerializeAsString();
    RETURN_IF_ERROR(
        db_.Defer("INSERT INTO organisations (code, data) VALUES ($1, $2) "
                  "ON CONFLICT (code) DO UPDATE SET data = EXCLUDED.data",
                  {Param::Text(code), Param::Bytes(data)}));
    organisations_[code] = organisation;
    return absl::OkStatus();
  }

  absl::Status PutObserver(absl::string_view election_id, absl::string_view observer_id,
                           absl::string_view document_key, const v1::Observer& observer) override {
    const std::string data = observer.SerializeAsString();
    const auto& body = observer.sending_body();
    RETURN_IF_ERROR(db_.Defer(
        // The observer's old tags are cleared in the same statement (one round
        // trip fewer: the writer's statements are what a group's time is spent on).
        "WITH cleared AS (DELETE FROM observer_tags WHERE election_id = $1 AND "
        "observer_id = $2) "
        "INSERT INTO observers (election_id, id, status, organisation, state, "
        "citizenship, category, test, document_key, data) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) "
        "ON CONFLICT (election_id, id) DO UPDATE SET "
        "status = EXCLUDED.status, organisation = EXCLUDED.organisation, "
        "state = EXCLUDED.state, citizenship = EXCLUDED.citizenship, "
        "category = EXCLUDED.category, test = EXCLUDED.test, "
        "document_key = EXCLUDED.document_key, data = EXCLUDED.data",
        {Param::Text(election_id), Param::Text(observer_id), Param::Int(observer.status()),
         body.has_organisation() ? Param::Text(body.organisation()) : Param::NullText(),
         body.has_state() ? Param::Text(body.state()) : Param::NullText(),
         Param::Text(observer.citizenship()), Param::Int(observer.category()),
         Param::Int(observer.test() ? 1 : 0), Param::Text(document_key), Param::Bytes(data)}));
    for (const std::string& tag : observer.tags()) {
      RETURN_IF_ERROR(
          db_.Defer("INSERT INTO observer_tags (election_id, tag, observer_id) "
                    "VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                    {Param::Text(election_id), Param::Text(tag), Param::Text(observer_id)}));
    }
    if (!observer.badge_number().empty()) {
      RETURN_IF_ERROR(
          db_.Defer("INSERT INTO badges (election_id, badge) VALUES ($1, $2) "
                    "ON CONFLICT DO NOTHING",
                    {Param::Text(election_id), Param::Text(observer.badge_number())}));
    }
    return absl::OkStatus();
  }

  absl::Status DeleteObserver(absl::string_view election_id,
                              absl::string_view observer_id) override {
    RETURN_IF_ERROR(db_.Defer("DELETE FROM observers WHERE election_id = $1 AND id = $2",
                              {Param::Text(election_id), Param::Text(observer_id)}));
    return DeleteTags(election_id, observer_id);
  }

  int64_t NextRevision() override { return log_.Next(); }
  int64_t CurrentRevision() const override { return log_.head(); }

  absl::Status Atomically(const std::function<absl::Status()>& fn) override {
    // As in SQLite, one name for every level: ROLLBACK TO and RELEASE act on the innermost.
    RETURN_IF_ERROR(db_.Defer("SAVEPOINT nested"));
    const GroupLog::Mark m = log_.mark();
    absl::Status status = fn();
    if (status.ok()) status = db_.Exec("RELEASE nested");
    if (!status.ok()) {
      (void)db_.Exec("ROLLBACK TO nested");
      (void)db_.Exec("RELEASE nested");
      rollback_to(m);
    }
    return status;
  }

  absl::Status AppendChange(v1::ChangeEvent event) override {
    ASSIGN_OR_RETURN(GroupLog::Entry entry, log_.Link(event));
    RETURN_IF_ERROR(
        db_.Defer("INSERT INTO changes (revision, event, chain, key_id) "
                  "VALUES ($1, $2, $3, $4)",
                  {Param::Int(event.revision()), Param::Bytes(entry.bytes),
                   Param::Bytes(entry.chain), Param::Text(audit_key_id_)}));
    log_.Appended(std::move(event), std::move(entry));
    return absl::OkStatus();
  }

  absl::StatusOr<std::optional<StoredRequest>> GetRequest(absl::string_view request_id) override {
    ASSIGN_OR_RETURN(pg::Result r, db_.Query("SELECT fingerprint, response, revision FROM "
                                             "requests WHERE request_id = $1",
                                             {Param::Text(request_id)}));
    if (r.rows() == 0) return std::optional<StoredRequest>();
    return std::optional<StoredRequest>(
        StoredRequest{std::string(request_id), r.Text(0, 0), r.Text(0, 1), r.Int(0, 2)});
  }

  absl::Status PutRequest(const StoredRequest& request) override {
    return db_.Defer(
        "INSERT INTO requests (request_id, fingerprint, response, revision) "
        "VALUES ($1, $2, $3, $4)",
        {Param::Text(request.request_id), Param::Bytes(request.fingerprint),
         Param::Bytes(request.response), Param::Int(request.revision)});
  }

  absl::Status Compact(int64_t keep_from) {
    ASSIGN_OR_RETURN(pg::Result state, db_.Query("SELECT compact_revision FROM store_state"));
    const int64_t current = state.Int(0, 0);
    keep_from = std::min(keep_from, log_.head() + 1);
    if (keep_from <= current) return absl::OkStatus();
    // The chain value of the last change dropped becomes the anchor the kept ones verify from.
    ASSIGN_OR_RETURN(
        pg::Result last_dropped,
        db_.Query("SELECT chain FROM changes WHERE revision = $1", {Param::Int(keep_from - 1)}));
    if (last_dropped.rows() == 0 || last_dropped.IsNull(0, 0)) {
      return MakeError(absl::StatusCode::kDataLoss, reason::kStoreError,
                       absl::StrCat("cannot compact the change log: revision ", keep_from - 1,
                                    " or its chain value is missing (run observerctl audit "
                                    "verify)"));
    }
    const std::string anchor = last_dropped.Text(0, 0);
    RETURN_IF_ERROR(
        db_.Query("DELETE FROM changes WHERE revision < $1", {Param::Int(keep_from)}).status());
    RETURN_IF_ERROR(
        db_.Query("DELETE FROM requests WHERE revision < $1", {Param::Int(keep_from)}).status());
    const std::string mac = AnchorMac(audit_key_, keep_from - 1, anchor);
    return db_
        .Query(
            "UPDATE store_state SET compact_revision = $1, chain_anchor = $2, "
            "anchor_key_id = $3, anchor_mac = $4",
            {Param::Int(keep_from), Param::Bytes(anchor), Param::Text(audit_key_id_),
             Param::Bytes(mac)})
        .status();
  }

  void rollback_to(const GroupLog::Mark& m) {
    elections_.clear();
    organisations_.clear();
    log_.rollback_to(m);
  }

 private:
  absl::Status DeleteTags(absl::string_view election_id, absl::string_view observer_id) {
    return db_.Defer("DELETE FROM observer_tags WHERE election_id = $1 AND observer_id = $2",
                     {Param::Text(election_id), Param::Text(observer_id)});
  }

  template <typename T>
  absl::StatusOr<std::optional<T>> GetBlob(absl::string_view sql,
                                           std::initializer_list<Param> params,
                                           absl::string_view what) {
    ASSIGN_OR_RETURN(pg::Result r, db_.Query(sql, params));
    if (r.rows() == 0) return std::optional<T>();
    ASSIGN_OR_RETURN(T value, ParseRecord<T>(r.Bytes(0, 0), what));
    return std::optional<T>(std::move(value));
  }

  pg::Connection& db_;
  GroupLog log_;
  const std::string& audit_key_;
  const std::string& audit_key_id_;
  absl::flat_hash_map<std::string, std::optional<v1::Election>> elections_;
  absl::flat_hash_map<std::string, std::optional<v1::Organisation>> organisations_;
};

absl::StatusOr<std::unique_ptr<PostgresStore>> PostgresStore::Open(
    const std::string& conninfo, const PostgresStoreOptions& options) {
  ASSIGN_OR_RETURN(std::unique_ptr<pg::Connection> writer, ConnectWriter(conninfo));
  RETURN_IF_ERROR(Migrate(*writer));
  ASSIGN_OR_RETURN(pg::Result state,
                   writer->Query("SELECT head_revision, coalesce(head_key_id, anchor_key_id, '') "
                                 "FROM store_state"));
  if (state.rows() != 1) return absl::FailedPreconditionError("the store has no state row");
  auto store =
      std::unique_ptr<PostgresStore>(new PostgresStore(conninfo, options, state.Int(0, 0)));
  store->head_key_id_ = state.Text(0, 1);
  // The writer's statements that need no answer go in the round trip of the next one that
  // does (a request's writes with its RELEASE, the state row's update with the COMMIT).
  RETURN_IF_ERROR(writer->EnterPipelineMode());
  store->writer_ = std::move(writer);
  store->stop_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (store->stop_fd_ < 0) {
    return absl::InternalError(absl::StrCat("eventfd: ", std::strerror(errno)));
  }
  store->listener_thread_ = std::thread([s = store.get()] {
    SetCurrentThreadName("store-listen");
    s->ListenerLoop();
  });
  store->writer_thread_ = std::thread([s = store.get()] {
    SetCurrentThreadName("store-writer");
    s->WriterLoop();
  });
  return store;
}

PostgresStore::PostgresStore(std::string conninfo, PostgresStoreOptions options, int64_t head)
    : conninfo_(std::move(conninfo)),
      options_(std::move(options)),
      audit_key_id_(AuditKeyId(options_.audit_key)),
      audit_mac_(options_.audit_key),
      published_(head) {}

PostgresStore::~PostgresStore() {
  queue_.Close();
  if (writer_thread_.joinable()) writer_thread_.join();
  if (stop_fd_ >= 0) {
    const uint64_t one = 1;
    (void)::write(stop_fd_, &one, sizeof(one));
  }
  if (listener_thread_.joinable()) listener_thread_.join();
  if (stop_fd_ >= 0) ::close(stop_fd_);
}

void PostgresStore::SetCommitListener(CommitListener listener) {
  std::lock_guard<std::mutex> lock(publish_mu_);
  listener_ = std::move(listener);
}

void PostgresStore::WriteAsync(WriteFn fn, WriteDone done) {
  queue_.Push(std::move(fn), std::move(done));
}

void PostgresStore::WriterLoop() {
  WriteGroup group;
  while (queue_.TakeGroup(options_.max_group_size, group)) {
    CommitGroup(group);
    group.clear();
  }
}

void PostgresStore::CommitGroup(WriteGroup& group) {
  const absl::Time start = absl::Now();
  absl::Status commit;
  auto fail_all = [&](const absl::Status& status) {
    commit = status;
    if (options_.on_commit) {
      options_.on_commit(static_cast<int>(group.size()), absl::Now() - start, commit);
    }
    for (auto& p : group) p->done(status);
  };
  absl::StatusOr<pg::Result> state = BeginGroup();
  if (!state.ok() && writer_ != nullptr && !writer_->ok()) {
    // The connection broke while idle (the server restarted): nothing of this group was
    // sent, so it is begun once more on a new connection.
    state = BeginGroup();
  }
  if (!state.ok()) return fail_all(state.status());
  pg::Connection& db = *writer_;
  const int64_t head = state->Int(0, 0);
  Txn txn(db, head, state->IsNull(0, 1) ? GenesisChain() : state->Text(0, 1), options_.audit_key,
          audit_mac_, audit_key_id_);
  std::vector<absl::Status> results;
  results.reserve(group.size());
  for (auto& p : group) {
    // Deferred (pipeline mode): sent with the request's first statement that needs an answer.
    absl::Status status = db.Defer("SAVEPOINT request");
    if (status.ok()) {
      const GroupLog::Mark mark = txn.log().mark();
      status = p->fn(txn);
      OBSERVER_FAILPOINT("registry-after-apply");
      if (status.ok() && !txn.log().complete()) {
        status = absl::InternalError("a write allocated a revision without recording its change");
      }
      if (status.ok()) status = db.Exec("RELEASE request");
      if (!status.ok()) {
        (void)db.Exec("ROLLBACK TO request");
        (void)db.Exec("RELEASE request");
        txn.rollback_to(mark);
      }
    }
    if (!db.ok()) {
      // The connection broke: the server rolls the transaction back; nothing of the group
      // is written.
      (void)db.Exec("ROLLBACK");
      return fail_all(status.ok() ? MakeError(absl::StatusCode::kUnavailable, reason::kUnavailable,
                                              "lost the connection to PostgreSQL")
                                  : status);
    }
    results.push_back(std::move(status));
  }
  const int64_t new_head = txn.log().head();
  if (new_head != head) {
    // Sent with the COMMIT, in its round trip.
    const std::string chain = txn.log().chain();
    const std::string head_text = absl::StrCat(new_head);
    commit = db.Defer(
        "UPDATE store_state SET head_revision = $1, head_chain = $2, head_key_id = $3 "
        "WHERE id = 1",
        {Param::Int(new_head), Param::Bytes(chain), Param::Text(audit_key_id_)});
    if (commit.ok()) {
      commit =
          db.Defer("SELECT pg_notify($1, $2)", {Param::Text(kChannel), Param::Text(head_text)});
    }
  }
  OBSERVER_FAILPOINT("registry-before-commit");
  if (commit.ok()) commit = db.Exec("COMMIT");
  if (commit.ok() && !db.ok()) commit = absl::UnavailableError("lost the connection");
  if (!commit.ok()) {
    if (!db.ok()) {
      // The connection broke during COMMIT: whether the server committed is unknown.
      commit = MakeError(absl::StatusCode::kUnavailable, reason::kUnavailable,
                         absl::StrCat("the connection to PostgreSQL broke during the commit, "
                                      "whose outcome is unknown: retry with the same request id (",
                                      commit.message(), ")"));
    }
    (void)db.Exec("ROLLBACK");
    return fail_all(commit);
  }
  if (options_.on_commit) {
    options_.on_commit(static_cast<int>(group.size()), absl::Now() - start, commit);
  }
  OBSERVER_FAILPOINT("registry-after-commit-before-reply");
  // Committed and durable (synchronous_commit): publish, then answer.
  if (new_head != head) CatchUp(db, &txn.log().events());
  for (size_t i = 0; i < group.size(); ++i) group[i]->done(std::move(results[i]));
}

absl::StatusOr<pg::Result> PostgresStore::BeginGroup() {
  if (writer_ == nullptr || !writer_->ok()) {
    writer_.reset();
    ASSIGN_OR_RETURN(std::unique_ptr<pg::Connection> conn, ConnectWriter(conninfo_));
    RETURN_IF_ERROR(conn->EnterPipelineMode());
    writer_ = std::move(conn);
  }
  pg::Connection& db = *writer_;
  // The revision lock: the state row, held until COMMIT. lock_timeout bounds the wait for
  // another replica's group (or any other session holding it). One round trip.
  absl::Status begin = db.Defer("BEGIN");
  if (begin.ok()) {
    begin = db.Defer(absl::StrCat("SET LOCAL lock_timeout = '",
                                  absl::ToInt64Milliseconds(options_.busy_timeout), "ms'"));
  }
  absl::StatusOr<pg::Result> state =
      begin.ok() ? db.Query(
                       "SELECT head_revision, head_chain FROM store_state WHERE id = 1 "
                       "FOR UPDATE")
                 : absl::StatusOr<pg::Result>(begin);
  if (state.ok() && state->rows() != 1) state = absl::InternalError("the store has no state row");
  if (!state.ok()) (void)db.Exec("ROLLBACK");
  return state;
}

void PostgresStore::CatchUp(pg::Connection& conn, std::vector<v1::ChangeEvent>* own) {
  std::lock_guard<std::mutex> lock(publish_mu_);
  for (;;) {
    if (own != nullptr && !own->empty() && own->front().revision() == published_ + 1) {
      published_ = own->back().revision();
      if (listener_) listener_(std::move(*own));
      return;
    }
    if (own != nullptr && !own->empty() && own->back().revision() <= published_) return;
    absl::StatusOr<pg::Result> rows = conn.Query(
        "SELECT revision, event FROM changes WHERE revision > $1 ORDER BY revision "
        "LIMIT $2",
        {Param::Int(published_), Param::Int(kCatchUpBatch)});
    if (!rows.ok()) {
      // The listener thread retries; a watcher only waits a little longer.
      LogWarning("cannot read the change log to publish it",
                 {{"error", rows.status().message()}, {"published_revision", published_}});
      return;
    }
    if (rows->rows() == 0) return;
    std::vector<v1::ChangeEvent> events;
    events.reserve(static_cast<size_t>(rows->rows()));
    for (int i = 0; i < rows->rows(); ++i) {
      const int64_t revision = rows->Int(i, 0);
      absl::StatusOr<v1::ChangeEvent> event =
          ParseRecord<v1::ChangeEvent>(rows->Bytes(i, 1), "change");
      if (revision != published_ + 1 || !event.ok() || event->revision() != revision) {
        // A gap: compacted away before this replica published it, or a damaged log. Watchers
        // of this replica cannot be given a gap-free stream past it.
        LogError("the change log has a gap this replica cannot publish across",
                 {{"published_revision", published_}, {"next_stored_revision", revision}});
        return;
      }
      published_ = revision;
      events.push_back(*std::move(event));
    }
    if (listener_) listener_(std::move(events));
    if (rows->rows() < kCatchUpBatch && own == nullptr) return;
  }
}

int64_t PostgresStore::Published() {
  std::lock_guard<std::mutex> lock(publish_mu_);
  return published_;
}

void PostgresStore::ListenerLoop() {
  std::unique_ptr<pg::Connection> conn;
  absl::Duration backoff = absl::Milliseconds(100);
  // A new store's tables have no statistics until autovacuum first analyzes them (its naptime
  // is a minute): meanwhile the planner cannot tell the index of a lookup's full key from
  // another index that merely starts with the election, and a lookup scans the election's
  // entries. So the listener analyzes the tables as the log grows by each factor of ten from
  // 500 revisions; autovacuum keeps them up to date after that.
  int64_t next_analyze = 500;
  while (next_analyze <= Published()) next_analyze *= 10;
  for (;;) {
    if (conn == nullptr || !conn->ok()) {
      conn.reset();
      absl::StatusOr<std::unique_ptr<pg::Connection>> c = Connect(conninfo_);
      absl::Status listen = c.ok() ? (*c)->Exec(absl::StrCat("LISTEN ", kChannel)) : c.status();
      if (listen.ok()) {
        conn = std::move(*c);
        backoff = absl::Milliseconds(100);
      } else {
        LogWarning("the change listener cannot connect to PostgreSQL; retrying",
                   {{"error", listen.message()}});
      }
    }
    if (conn != nullptr) {
      CatchUp(*conn, nullptr);
      if (const int64_t published = Published(); published >= next_analyze) {
        if (absl::Status analyzed = conn->Exec(
                "ANALYZE observers, observer_tags, badges, badge_sequences, changes, requests");
            !analyzed.ok()) {
          LogWarning("cannot analyze the store's tables", {{"error", analyzed.message()}});
        }
        while (next_analyze <= published) next_analyze *= 10;
      }
    }
    pollfd fds[2] = {{stop_fd_, POLLIN, 0}, {conn ? PQsocket(conn->raw()) : -1, POLLIN, 0}};
    const absl::Duration wait = conn ? options_.poll_interval : backoff;
    if (!conn) backoff = std::min(backoff * 2, absl::Seconds(5));
    const int ready = ::poll(fds, 2, static_cast<int>(absl::ToInt64Milliseconds(wait)));
    if (ready > 0 && (fds[0].revents & POLLIN) != 0) return;
    if (conn != nullptr) {
      (void)PQconsumeInput(conn->raw());
      while (PGnotify* n = PQnotifies(conn->raw())) PQfreemem(n);
    }
  }
}

// --- Reads ----------------------------------------------------------------------------------

PostgresStore::Lease::~Lease() {
  if (conn_ == nullptr) return;  // Moved from.
  std::lock_guard<std::mutex> lock(store_->pool_mu_);
  if (conn_ != nullptr && conn_->ok() && !conn_->InTransaction()) {
    store_->idle_.push_back(std::move(conn_));
  } else {
    --store_->open_readers_;
  }
  store_->pool_cv_.notify_one();
}

absl::StatusOr<PostgresStore::Lease> PostgresStore::LeaseReader() {
  {
    std::unique_lock<std::mutex> lock(pool_mu_);
    const bool free = pool_cv_.wait_for(
        lock, absl::ToChronoMilliseconds(options_.busy_timeout),
        [this]() { return !idle_.empty() || open_readers_ < options_.max_read_connections; });
    if (!free) {
      return MakeError(absl::StatusCode::kUnavailable, reason::kStoreBusy,
                       absl::StrCat("all ", options_.max_read_connections,
                                    " read connections to PostgreSQL are busy"));
    }
    if (!idle_.empty()) {
      auto conn = std::move(idle_.back());
      idle_.pop_back();
      return Lease(this, std::move(conn));
    }
    ++open_readers_;
  }
  absl::StatusOr<std::unique_ptr<pg::Connection>> conn = Connect(conninfo_);
  if (!conn.ok()) {
    std::lock_guard<std::mutex> lock(pool_mu_);
    --open_readers_;
    pool_cv_.notify_one();
    return conn.status();
  }
  return Lease(this, std::move(*conn));
}

template <typename T, typename F>
absl::StatusOr<T> PostgresStore::WithReader(F read) {
  absl::StatusOr<T> result;
  for (int attempt = 0; attempt < 2; ++attempt) {
    ASSIGN_OR_RETURN(Lease db, LeaseReader());
    result = read(*db);
    // A pooled connection that broke while idle (the server restarted) fails its first
    // statement: a read changes nothing, so it runs once more on a new connection. The other
    // idle ones broke with it: they are closed too.
    if (result.ok() || db->ok()) break;
    std::lock_guard<std::mutex> lock(pool_mu_);
    open_readers_ -= static_cast<int>(idle_.size());
    idle_.clear();
  }
  return result;
}

template <typename T, typename F>
absl::StatusOr<T> PostgresStore::InReadTxn(F read) {
  return WithReader<T>([&](pg::Connection& db) -> absl::StatusOr<T> {
    RETURN_IF_ERROR(db.Exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"));
    absl::StatusOr<pg::Result> head = db.Query("SELECT head_revision FROM store_state");
    absl::StatusOr<T> result =
        head.ok() ? read(db, head->Int(0, 0)) : absl::StatusOr<T>(head.status());
    (void)db.Exec("COMMIT");
    return result;
  });
}

template <typename T>
absl::StatusOr<Versioned<T>> PostgresStore::ReadOne(absl::string_view sql, absl::string_view key1,
                                                    absl::string_view key2,
                                                    absl::string_view what) {
  return WithReader<Versioned<T>>([&](pg::Connection& db) -> absl::StatusOr<Versioned<T>> {
    ASSIGN_OR_RETURN(pg::Result r, key2.empty()
                                       ? db.Query(sql, {Param::Text(key1)})
                                       : db.Query(sql, {Param::Text(key1), Param::Text(key2)}));
    Versioned<T> out{std::nullopt, r.Int(0, 0)};
    if (!r.IsNull(0, 1)) {
      ASSIGN_OR_RETURN(T value, ParseRecord<T>(r.Bytes(0, 1), what));
      out.value = std::move(value);
    }
    return out;
  });
}

namespace {

// Up to `limit` records from column `column` of `rows`; one more row means `more`.
template <typename T>
absl::StatusOr<Page<T>> CollectPage(const pg::Result& rows, int column, int limit, int64_t head,
                                    absl::string_view what) {
  Page<T> page;
  page.revision = head;
  for (int i = 0; i < rows.rows(); ++i) {
    if (i == limit) {
      page.more = true;
      break;
    }
    ASSIGN_OR_RETURN(T record, ParseRecord<T>(rows.Bytes(i, column), what));
    page.items.push_back(std::move(record));
  }
  return page;
}

}  // namespace

template <typename T>
absl::StatusOr<Page<T>> PostgresStore::ReadPage(absl::string_view sql, absl::string_view after,
                                                int limit, absl::string_view what) {
  return InReadTxn<Page<T>>([&](pg::Connection& db, int64_t head) -> absl::StatusOr<Page<T>> {
    ASSIGN_OR_RETURN(pg::Result rows,
                     db.Query(sql, {Param::Text(after), Param::Int(int64_t{limit} + 1)}));
    return CollectPage<T>(rows, 0, limit, head, what);
  });
}

absl::StatusOr<Versioned<v1::Election>> PostgresStore::GetElection(absl::string_view id) {
  return ReadOne<v1::Election>(
      "SELECT s.head_revision, e.data FROM store_state s LEFT JOIN elections e ON e.id = $1", id,
      {}, "election");
}

absl::StatusOr<Page<v1::Election>> PostgresStore::ListElections(absl::string_view after_id,
                                                                int limit) {
  return ReadPage<v1::Election>("SELECT data FROM elections WHERE id > $1 ORDER BY id LIMIT $2",
                                after_id, limit, "election");
}

absl::StatusOr<Versioned<v1::Organisation>> PostgresStore::GetOrganisation(absl::string_view code) {
  return ReadOne<v1::Organisation>(
      "SELECT s.head_revision, o.data FROM store_state s LEFT JOIN organisations o ON o.code = $1",
      code, {}, "organisation");
}

absl::StatusOr<Page<v1::Organisation>> PostgresStore::ListOrganisations(
    absl::string_view after_code, int limit) {
  return ReadPage<v1::Organisation>(
      "SELECT data FROM organisations WHERE code > $1 ORDER BY code LIMIT $2", after_code, limit,
      "organisation");
}

absl::StatusOr<Versioned<v1::Observer>> PostgresStore::GetObserver(absl::string_view election_id,
                                                                   absl::string_view observer_id) {
  return ReadOne<v1::Observer>(
      "SELECT s.head_revision, o.data FROM store_state s LEFT JOIN observers o "
      "ON o.election_id = $1 AND o.id = $2",
      election_id, observer_id, "observer");
}

absl::StatusOr<Page<v1::Observer>> PostgresStore::ListObservers(const ObserverQuery& query) {
  // The SQL is built from a fixed vocabulary; every value is a bound parameter. A value is
  // never NULL, so `=` matches as SQLite's IS does; `IS DISTINCT FROM` also keeps NULLs, as
  // SQLite's IS NOT does.
  std::string sql = "SELECT data FROM observers o WHERE election_id = $1 AND id > $2";
  std::vector<Param> params = {Param::Text(query.election_id), Param::Text(query.after_id)};
  for (const ObserverCondition& c : query.conditions) {
    const char* op = c.negated ? " IS DISTINCT FROM $" : " = $";
    const char* column = nullptr;
    switch (c.field) {
      case ObserverCondition::Field::kStatus:
        column = "status";
        break;
      case ObserverCondition::Field::kCategory:
        column = "category";
        break;
      case ObserverCondition::Field::kTest:
        column = "test";
        break;
      case ObserverCondition::Field::kOrganisation:
        column = "organisation";
        break;
      case ObserverCondition::Field::kState:
        column = "state";
        break;
      case ObserverCondition::Field::kCitizenship:
        column = "citizenship";
        break;
      case ObserverCondition::Field::kTag:
        break;
    }
    const bool numeric = c.field == ObserverCondition::Field::kStatus ||
                         c.field == ObserverCondition::Field::kCategory ||
                         c.field == ObserverCondition::Field::kTest;
    params.push_back(numeric ? Param::Int(c.number) : Param::Text(c.text));
    if (column != nullptr) {
      absl::StrAppend(&sql, " AND ", column, op, params.size());
    } else {
      absl::StrAppend(&sql, c.negated ? " AND NOT" : " AND",
                      " EXISTS (SELECT 1 FROM observer_tags t WHERE t.election_id = "
                      "o.election_id AND t.observer_id = o.id AND t.tag = $",
                      params.size(), ")");
    }
  }
  params.push_back(Param::Int(int64_t{query.limit} + 1));
  absl::StrAppend(&sql, " ORDER BY id LIMIT $", params.size());
  return InReadTxn<Page<v1::Observer>>(
      [&](pg::Connection& db, int64_t head) -> absl::StatusOr<Page<v1::Observer>> {
        ASSIGN_OR_RETURN(pg::Result rows, db.Query(sql, params));
        return CollectPage<v1::Observer>(rows, 0, query.limit, head, "observer");
      });
}

absl::StatusOr<std::vector<ObserverCount>> PostgresStore::CountObservers() {
  return InReadTxn<std::vector<ObserverCount>>(
      [](pg::Connection& db, int64_t) -> absl::StatusOr<std::vector<ObserverCount>> {
        ASSIGN_OR_RETURN(pg::Result rows,
                         db.Query("SELECT election_id, status, count(*) FROM observers "
                                  "GROUP BY election_id, status ORDER BY election_id, status"));
        std::vector<ObserverCount> counts;
        for (int i = 0; i < rows.rows(); ++i) {
          counts.push_back(
              {rows.Text(i, 0), static_cast<v1::ObserverStatus>(rows.Int(i, 1)), rows.Int(i, 2)});
        }
        return counts;
      });
}

absl::StatusOr<Revisions> PostgresStore::GetRevisions() {
  return WithReader<Revisions>([](pg::Connection& db) -> absl::StatusOr<Revisions> {
    ASSIGN_OR_RETURN(pg::Result r,
                     db.Query("SELECT head_revision, compact_revision FROM store_state"));
    return Revisions{r.Int(0, 0), r.Int(0, 1)};
  });
}

absl::StatusOr<std::vector<v1::ChangeEvent>> PostgresStore::ReadChanges(int64_t from,
                                                                        int max_events,
                                                                        int64_t max_bytes) {
  return InReadTxn<std::vector<v1::ChangeEvent>>(
      [&](pg::Connection& db, int64_t) -> absl::StatusOr<std::vector<v1::ChangeEvent>> {
        ASSIGN_OR_RETURN(pg::Result state, db.Query("SELECT compact_revision FROM store_state"));
        const int64_t compact = state.Int(0, 0);
        RETURN_IF_ERROR(ChangeBatch::CheckNotCompacted(from, compact));
        ASSIGN_OR_RETURN(pg::Result rows, db.Query("SELECT event FROM changes WHERE revision >= $1 "
                                                   "ORDER BY revision LIMIT $2",
                                                   {Param::Int(from), Param::Int(max_events)}));
        ChangeBatch batch(max_bytes);
        for (int i = 0; i < rows.rows(); ++i) {
          ASSIGN_OR_RETURN(const bool added, batch.Add(rows.Bytes(i, 0)));
          if (!added) break;
        }
        return batch.Take();
      });
}

void PostgresStore::CompactAsync(int64_t keep_from, WriteDone done) {
  WriteAsync([keep_from](WriteTxn& txn) { return static_cast<Txn&>(txn).Compact(keep_from); },
             std::move(done));
}

// Holds one REPEATABLE READ transaction open on a leased connection for the whole snapshot.
class PostgresStore::Snapshot final : public StagedSnapshot {
 public:
  Snapshot(Lease db, int64_t revision) : StagedSnapshot(revision), db_(std::move(db)) {}
  ~Snapshot() override { (void)db_->Exec("COMMIT"); }

 private:
  absl::Status ReadRows(int stage, const std::string& after_a, const std::string& after_b,
                        int limit, const RowFn& row) override {
    absl::StatusOr<pg::Result> rows;
    if (stage == 0) {
      rows = db_->Query("SELECT id, '', data FROM elections WHERE id > $1 ORDER BY id LIMIT $2",
                        {Param::Text(after_a), Param::Int(limit)});
    } else if (stage == 1) {
      rows = db_->Query(
          "SELECT code, '', data FROM organisations WHERE code > $1 ORDER BY code LIMIT $2",
          {Param::Text(after_a), Param::Int(limit)});
    } else {
      rows = db_->Query(
          "SELECT election_id, id, data FROM observers WHERE (election_id, id) > ($1, $2) "
          "ORDER BY election_id, id LIMIT $3",
          {Param::Text(after_a), Param::Text(after_b), Param::Int(limit)});
    }
    if (!rows.ok()) return rows.status();
    for (int i = 0; i < rows->rows(); ++i) {
      if (!row(rows->Bytes(i, 0), rows->Bytes(i, 1), rows->Bytes(i, 2))) break;
    }
    return absl::OkStatus();
  }

  Lease db_;
};

absl::StatusOr<std::unique_ptr<SnapshotReader>> PostgresStore::OpenSnapshot() {
  ASSIGN_OR_RETURN(Lease db, LeaseReader());
  RETURN_IF_ERROR(db->Exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"));
  absl::StatusOr<pg::Result> head = db->Query("SELECT head_revision FROM store_state");
  if (!head.ok()) {
    (void)db->Exec("ROLLBACK");
    return head.status();
  }
  const int64_t revision = head->Int(0, 0);
  return std::unique_ptr<SnapshotReader>(new Snapshot(std::move(db), revision));
}

absl::StatusOr<ChangeLogVerification> PostgresStore::VerifyChangeLog(
    const std::optional<ChainWitness>& witness) {
  return InReadTxn<ChangeLogVerification>(
      [&](pg::Connection& db, int64_t head) -> absl::StatusOr<ChangeLogVerification> {
        ASSIGN_OR_RETURN(pg::Result state,
                         db.Query("SELECT compact_revision, coalesce(chain_anchor, ''::bytea), "
                                  "coalesce(anchor_key_id, ''), coalesce(anchor_mac, ''::bytea) "
                                  "FROM store_state"));
        ChainVerifier::Anchor anchor{state.Text(0, 1), state.Text(0, 2), state.Text(0, 3)};
        ChainVerifier verifier(options_.audit_key, head, state.Int(0, 0), anchor);
        if (witness.has_value()) RETURN_IF_ERROR(verifier.Expect(*witness));
        // Over the whole table in revision order, in batches: an entry left below the
        // compaction point is found too.
        int64_t after = std::numeric_limits<int64_t>::min();
        while (!verifier.broken()) {
          ASSIGN_OR_RETURN(pg::Result rows,
                           db.Query("SELECT revision, event, chain, coalesce(key_id, '') "
                                    "FROM changes WHERE revision > $1 ORDER BY revision "
                                    "LIMIT 1000",
                                    {Param::Int(after)}));
          if (rows.rows() == 0) break;
          for (int i = 0; i < rows.rows() && !verifier.broken(); ++i) {
            std::optional<absl::string_view> chain;
            if (!rows.IsNull(i, 2)) chain = rows.Bytes(i, 2);
            verifier.Add(rows.Int(i, 0), rows.Bytes(i, 1), chain, rows.Bytes(i, 3));
          }
          after = rows.Int(rows.rows() - 1, 0);
        }
        return verifier.Finish();
      });
}

}  // namespace observer::registry
