#include "registry-service/src/storage/sqlite_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <utility>
#include <vector>

#include "absl/cleanup/cleanup.h"
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

// Each entry brings the schema from version N to N+1; never edit a released entry.
constexpr const char* kMigrations[] = {
    R"sql(
CREATE TABLE store_state (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  head_revision INTEGER NOT NULL,
  compact_revision INTEGER NOT NULL
);
INSERT INTO store_state (id, head_revision, compact_revision) VALUES (1, 0, 1);
CREATE TABLE elections (id TEXT PRIMARY KEY, data BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE organisations (code TEXT PRIMARY KEY, data BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE observers (
  election_id TEXT NOT NULL,
  id TEXT NOT NULL,
  status INTEGER NOT NULL,
  organisation TEXT,
  state TEXT,
  citizenship TEXT NOT NULL,
  category INTEGER NOT NULL,
  test INTEGER NOT NULL,
  document_key TEXT NOT NULL,
  data BLOB NOT NULL,
  PRIMARY KEY (election_id, id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX observers_by_document ON observers (election_id, document_key);
CREATE INDEX observers_by_status ON observers (election_id, status, id);
CREATE INDEX observers_by_organisation ON observers (election_id, organisation, id);
CREATE INDEX observers_by_state ON observers (election_id, state, id);
CREATE TABLE observer_tags (
  election_id TEXT NOT NULL,
  tag TEXT NOT NULL,
  observer_id TEXT NOT NULL,
  PRIMARY KEY (election_id, tag, observer_id)
) WITHOUT ROWID;
CREATE TABLE badges (
  election_id TEXT NOT NULL,
  badge TEXT NOT NULL,
  PRIMARY KEY (election_id, badge)
) WITHOUT ROWID;
CREATE TABLE badge_sequences (election_id TEXT PRIMARY KEY, next INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE changes (revision INTEGER PRIMARY KEY, event BLOB NOT NULL);
CREATE TABLE requests (
  request_id TEXT PRIMARY KEY,
  fingerprint BLOB NOT NULL,
  response BLOB NOT NULL,
  revision INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX requests_by_revision ON requests (revision);
)sql",
    // 2: the audit hash chain (audit_chain.h). Existing changes are chained by
    // ChainExistingChanges in the same transaction.
    R"sql(
ALTER TABLE changes ADD COLUMN chain BLOB;
ALTER TABLE changes ADD COLUMN key_id TEXT;
ALTER TABLE store_state ADD COLUMN chain_anchor BLOB;
ALTER TABLE store_state ADD COLUMN anchor_key_id TEXT;
ALTER TABLE store_state ADD COLUMN anchor_mac BLOB;
)sql",
};
constexpr int kChainedSchemaVersion = 2;
static_assert(std::size(kMigrations) == SqliteStore::kSchemaVersion);

constexpr int kMaxReaders = 16;

// The file's schema version, read before anything changes the file: a file that is not an
// SQLite database, another application's database, or a newer store is refused untouched.
absl::StatusOr<int64_t> SchemaVersion(sqlite::Connection& db, const std::string& path) {
  absl::StatusOr<int64_t> version = db.QueryInt("PRAGMA user_version");
  absl::StatusOr<int64_t> tables =
      version.ok() ? db.QueryInt("SELECT count(*) FROM sqlite_master WHERE type = 'table'")
                   : version;
  if (!tables.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, " cannot be read as an SQLite database: ", tables.status().message()));
  }
  if (*version > SqliteStore::kSchemaVersion) {
    return absl::FailedPreconditionError(absl::StrCat(
        path, " has schema version ", *version, " but this registry-service only knows ",
        SqliteStore::kSchemaVersion, ": upgrade the binary"));
  }
  if (*version == 0 && *tables != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, " is an SQLite database but not a registry store"));
  }
  return *version;
}

// Chains the changes stored before the chain existed, in revision order, with `key`. A store
// compacted before gets the genesis value as its anchor: its chain starts at its oldest
// retained change. Returns how many changes were chained.
absl::StatusOr<int64_t> ChainExistingChanges(sqlite::Connection& db, const std::string& key) {
  const std::string key_id = AuditKeyId(key);
  const HmacSha256Key mac(key);
  ASSIGN_OR_RETURN(const int64_t compact, db.QueryInt("SELECT compact_revision FROM store_state"));
  std::string previous = GenesisChain();
  if (compact > 1) {
    ASSIGN_OR_RETURN(auto anchor, db.PrepareOnce("UPDATE store_state SET chain_anchor = ?1, "
                                                 "anchor_key_id = ?2, anchor_mac = ?3"));
    anchor.BindBlob(1, previous).Bind(2, key_id).BindBlob(3, AnchorMac(key, compact - 1, previous));
    RETURN_IF_ERROR(anchor.Run());
  }
  int64_t chained = 0;
  int64_t after = std::numeric_limits<int64_t>::min();
  for (;;) {
    // In batches, so that no row is updated under an open cursor of the same table.
    std::vector<std::pair<int64_t, std::string>> batch;
    {
      ASSIGN_OR_RETURN(auto read, db.PrepareOnce("SELECT revision, event FROM changes WHERE "
                                                 "revision > ?1 ORDER BY revision LIMIT 1000"));
      read.Bind(1, after);
      for (;;) {
        ASSIGN_OR_RETURN(const bool row, read.Step());
        if (!row) break;
        batch.emplace_back(read.Int(0), std::string(read.Blob(1)));
      }
    }
    if (batch.empty()) return chained;
    for (const auto& [revision, event] : batch) {
      previous = ChainLink(mac, previous, revision, event);
      ASSIGN_OR_RETURN(auto write, db.Prepare("UPDATE changes SET chain = ?1, key_id = ?2 "
                                              "WHERE revision = ?3"));
      write.BindBlob(1, previous).Bind(2, key_id).Bind(3, revision);
      RETURN_IF_ERROR(write.Run());
      ++chained;
    }
    after = batch.back().first;
  }
}

absl::StatusOr<int64_t> Migrate(sqlite::Connection& db, const std::string& path, int64_t version,
                                const std::string& audit_key) {
  int64_t chained = 0;
  for (int64_t v = version; v < SqliteStore::kSchemaVersion; ++v) {
    RETURN_IF_ERROR(db.Exec("BEGIN IMMEDIATE"));
    absl::Status status = db.Exec(kMigrations[v]);
    if (status.ok() && v + 1 == kChainedSchemaVersion) {
      absl::StatusOr<int64_t> n = ChainExistingChanges(db, audit_key);
      status = n.status();
      if (n.ok()) chained = *n;
    }
    if (status.ok()) status = db.Exec(absl::StrCat("PRAGMA user_version = ", v + 1));
    if (status.ok()) status = db.Exec("COMMIT");
    if (!status.ok()) {
      (void)db.Exec("ROLLBACK");
      return absl::Status(status.code(), absl::StrCat("migrating ", path, " to schema version ",
                                                      v + 1, ": ", status.message()));
    }
  }
  return chained;
}

// Reads up to `limit` records from the first column of `stmt`; one more row means `more`.
template <typename T>
absl::StatusOr<Page<T>> CollectPage(sqlite::Statement& stmt, int limit, int64_t head,
                                    absl::string_view what) {
  Page<T> page;
  page.revision = head;
  for (;;) {
    ASSIGN_OR_RETURN(const bool row, stmt.Step());
    if (!row) break;
    if (static_cast<int>(page.items.size()) == limit) {
      page.more = true;
      break;
    }
    ASSIGN_OR_RETURN(T record, ParseRecord<T>(stmt.Blob(0), what));
    page.items.push_back(std::move(record));
  }
  return page;
}

absl::Status ConfigureConnection(sqlite::Connection& db, absl::Duration busy_timeout) {
  RETURN_IF_ERROR(
      db.Exec(absl::StrCat("PRAGMA busy_timeout = ", absl::ToInt64Milliseconds(busy_timeout))));
  return db.Exec("PRAGMA foreign_keys = OFF");
}

// Held for the store's lifetime: one registry process per store file, since the writer
// caches the head revision.
absl::StatusOr<int> LockStoreFile(const std::string& path) {
  const std::string lock_path = path + ".lock";
  const int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot open ", lock_path, ": ", std::strerror(errno)));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return absl::FailedPreconditionError(
        absl::StrCat(path, " is in use by another registry-service (", lock_path, " is locked)"));
  }
  return fd;
}

}  // namespace

struct SqliteStore::Committed {
  int64_t head = 0;  // The store's head revision after the group.
  std::vector<v1::ChangeEvent> events;
  WriteGroup group;
  std::vector<absl::Status> results;  // Per request of `group`.
};

// The write side of one request. Revisions, events and the chain value are tracked so that a
// request rolled back to its savepoint gives its revisions back.
//
// One-row INSERTs say OR FAIL: every statement runs inside the request's savepoint, which is
// rolled back on any error, and a one-row INSERT checks its constraints before it writes, so
// SQLite's own statement journal (a copy of each page the statement changes) is not needed.
class SqliteStore::Txn final : public WriteTxn {
 public:
  Txn(sqlite::Connection& db, int64_t head, std::string chain, const std::string& audit_key,
      const HmacSha256Key& audit_mac, const std::string& audit_key_id)
      : db_(db),
        log_(head, std::move(chain), audit_mac),
        audit_key_(audit_key),
        audit_key_id_(audit_key_id) {}

  GroupLog& log() { return log_; }

  // Elections and organisations are read once per group (every row of a batch reads them):
  // the cache holds what this transaction read or wrote, and is dropped on a rollback.
  absl::StatusOr<std::optional<v1::Election>> GetElection(absl::string_view id) override {
    if (auto it = elections_.find(id); it != elections_.end()) return it->second;
    ASSIGN_OR_RETURN(
        auto election,
        GetBlob<v1::Election>("SELECT data FROM elections WHERE id = ?1", id, {}, "election"));
    elections_.emplace(std::string(id), election);
    return election;
  }
  absl::StatusOr<std::optional<v1::Organisation>> GetOrganisation(absl::string_view code) override {
    if (auto it = organisations_.find(code); it != organisations_.end()) return it->second;
    ASSIGN_OR_RETURN(auto organisation,
                     GetBlob<v1::Organisation>("SELECT data FROM organisations WHERE code = ?1",
                                               code, {}, "organisation"));
    organisations_.emplace(std::string(code), organisation);
    return organisation;
  }
  absl::StatusOr<std::optional<v1::Observer>> GetObserver(absl::string_view election_id,
                                                          absl::string_view observer_id) override {
    return GetBlob<v1::Observer>("SELECT data FROM observers WHERE election_id = ?1 AND id = ?2",
                                 election_id, observer_id, "observer");
  }

  absl::StatusOr<std::optional<std::string>> FindObserverByDocument(
      absl::string_view election_id, absl::string_view document_key) override {
    ASSIGN_OR_RETURN(auto stmt, Prepare("SELECT id FROM observers WHERE election_id = ?1 AND "
                                        "document_key = ?2"));
    stmt.Bind(1, election_id).Bind(2, document_key);
    ASSIGN_OR_RETURN(const bool row, stmt.Step());
    if (!row) return std::optional<std::string>();
    return std::optional<std::string>(stmt.Text(0));
  }

  absl::StatusOr<bool> BadgeUsed(absl::string_view election_id, absl::string_view badge) override {
    ASSIGN_OR_RETURN(auto stmt,
                     Prepare("SELECT 1 FROM badges WHERE election_id = ?1 AND badge = ?2"));
    stmt.Bind(1, election_id).Bind(2, badge);
    return stmt.Step();
  }

  absl::StatusOr<int64_t> NextBadgeSequence(absl::string_view election_id) override {
    ASSIGN_OR_RETURN(
        auto stmt, Prepare("INSERT OR FAIL INTO badge_sequences (election_id, next) VALUES (?1, 2) "
                           "ON CONFLICT (election_id) DO UPDATE SET next = next + 1 "
                           "RETURNING next - 1"));
    stmt.Bind(1, election_id);
    ASSIGN_OR_RETURN(const bool row, stmt.Step());
    if (!row) return absl::InternalError("badge sequence returned no row");
    return stmt.Int(0);
  }

  absl::Status PutElection(const v1::Election& election) override {
    ASSIGN_OR_RETURN(auto stmt,
                     Prepare("INSERT OR REPLACE INTO elections (id, data) VALUES (?1, ?2)"));
    const std::string id(absl::string_view(election.name()).substr(sizeof("elections/") - 1));
    stmt.Bind(1, id).BindBlob(2, election.SerializeAsString());
    RETURN_IF_ERROR(stmt.Run());
    elections_[id] = election;
    return absl::OkStatus();
  }

  absl::Status PutOrganisation(const v1::Organisation& organisation) override {
    ASSIGN_OR_RETURN(auto stmt, Prepare("INSERT OR REPLACE INTO organisations (code, data) "
                                        "VALUES (?1, ?2)"));
    const std::string code(
        absl::string_view(organisation.name()).substr(sizeof("organisations/") - 1));
    stmt.Bind(1, code).BindBlob(2, organisation.SerializeAsString());
    RETURN_IF_ERROR(stmt.Run());
    organisations_[code] = organisation;
    return absl::OkStatus();
  }

  absl::Status PutObserver(absl::string_view election_id, absl::string_view observer_id,
                           absl::string_view document_key, const v1::Observer& observer) override {
    {
      ASSIGN_OR_RETURN(
          auto stmt,
          Prepare("INSERT OR FAIL INTO observers (election_id, id, status, organisation, "
                  "state, citizenship, category, test, document_key, data) "
                  "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) "
                  "ON CONFLICT (election_id, id) DO UPDATE SET "
                  "status = excluded.status, organisation = excluded.organisation, "
                  "state = excluded.state, citizenship = excluded.citizenship, "
                  "category = excluded.category, test = excluded.test, "
                  "document_key = excluded.document_key, data = excluded.data"));
      stmt.Bind(1, election_id).Bind(2, observer_id).Bind(3, int64_t{observer.status()});
      if (observer.sending_body().has_organisation()) {
        stmt.Bind(4, observer.sending_body().organisation());
      } else {
        stmt.BindNull(4);
      }
      if (observer.sending_body().has_state()) {
        stmt.Bind(5, observer.sending_body().state());
      } else {
        stmt.BindNull(5);
      }
      stmt.Bind(6, observer.citizenship())
          .Bind(7, int64_t{observer.category()})
          .Bind(8, int64_t{observer.test() ? 1 : 0})
          .Bind(9, document_key)
          .BindBlob(10, observer.SerializeAsString());
      RETURN_IF_ERROR(stmt.Run());
    }
    RETURN_IF_ERROR(DeleteTags(election_id, observer_id));
    for (const std::string& tag : observer.tags()) {
      ASSIGN_OR_RETURN(auto stmt, Prepare("INSERT OR IGNORE INTO observer_tags (election_id, "
                                          "tag, observer_id) VALUES (?1, ?2, ?3)"));
      stmt.Bind(1, election_id).Bind(2, tag).Bind(3, observer_id);
      RETURN_IF_ERROR(stmt.Run());
    }
    if (!observer.badge_number().empty()) {
      ASSIGN_OR_RETURN(auto stmt, Prepare("INSERT OR IGNORE INTO badges (election_id, badge) "
                                          "VALUES (?1, ?2)"));
      stmt.Bind(1, election_id).Bind(2, observer.badge_number());
      RETURN_IF_ERROR(stmt.Run());
    }
    return absl::OkStatus();
  }

  absl::Status DeleteObserver(absl::string_view election_id,
                              absl::string_view observer_id) override {
    ASSIGN_OR_RETURN(auto stmt,
                     Prepare("DELETE FROM observers WHERE election_id = ?1 AND id = ?2"));
    stmt.Bind(1, election_id).Bind(2, observer_id);
    RETURN_IF_ERROR(stmt.Run());
    return DeleteTags(election_id, observer_id);
  }

  int64_t NextRevision() override { return log_.Next(); }
  int64_t CurrentRevision() const override { return log_.head(); }

  absl::Status Atomically(const std::function<absl::Status()>& fn) override {
    // One name for every level: RELEASE and ROLLBACK TO act on the innermost savepoint of
    // that name, which is this call's, however deep it is nested. (Fixed SQL also keeps each
    // statement prepared once.)
    RETURN_IF_ERROR(Run("SAVEPOINT nested"));
    const GroupLog::Mark m = log_.mark();
    absl::Status status = fn();
    if (status.ok()) status = Run("RELEASE nested");
    if (!status.ok()) {
      (void)Run("ROLLBACK TO nested");
      (void)Run("RELEASE nested");
      rollback_to(m);
    }
    return status;
  }

  absl::Status AppendChange(v1::ChangeEvent event) override {
    ASSIGN_OR_RETURN(GroupLog::Entry entry, log_.Link(event));
    ASSIGN_OR_RETURN(auto stmt,
                     Prepare("INSERT OR FAIL INTO changes (revision, event, chain, key_id) "
                             "VALUES (?1, ?2, ?3, ?4)"));
    stmt.Bind(1, event.revision())
        .BindBlob(2, entry.bytes)
        .BindBlob(3, entry.chain)
        .Bind(4, audit_key_id_);
    RETURN_IF_ERROR(stmt.Run());
    log_.Appended(std::move(event), std::move(entry));
    return absl::OkStatus();
  }

  absl::StatusOr<std::optional<StoredRequest>> GetRequest(absl::string_view request_id) override {
    ASSIGN_OR_RETURN(auto stmt, Prepare("SELECT fingerprint, response, revision FROM requests "
                                        "WHERE request_id = ?1"));
    stmt.Bind(1, request_id);
    ASSIGN_OR_RETURN(const bool row, stmt.Step());
    if (!row) return std::optional<StoredRequest>();
    return std::optional<StoredRequest>(StoredRequest{std::string(request_id),
                                                      std::string(stmt.Blob(0)),
                                                      std::string(stmt.Blob(1)), stmt.Int(2)});
  }

  absl::Status PutRequest(const StoredRequest& request) override {
    ASSIGN_OR_RETURN(auto stmt, Prepare("INSERT OR FAIL INTO requests (request_id, fingerprint, "
                                        "response, revision) VALUES (?1, ?2, ?3, ?4)"));
    stmt.Bind(1, request.request_id)
        .BindBlob(2, request.fingerprint)
        .BindBlob(3, request.response)
        .Bind(4, request.revision);
    return stmt.Run();
  }

  absl::Status Compact(int64_t keep_from) {
    ASSIGN_OR_RETURN(const int64_t current, QueryInt("SELECT compact_revision FROM store_state"));
    keep_from = std::min(keep_from, log_.head() + 1);
    if (keep_from <= current) return absl::OkStatus();
    // The chain value of the last change dropped becomes the anchor the kept ones verify from,
    // with a MAC so that it cannot be replaced without the key.
    std::string anchor;
    {
      ASSIGN_OR_RETURN(auto last_dropped, Prepare("SELECT chain FROM changes WHERE revision = ?1"));
      last_dropped.Bind(1, keep_from - 1);
      ASSIGN_OR_RETURN(const bool row, last_dropped.Step());
      if (!row || last_dropped.IsNull(0)) {
        // Compacting would destroy the evidence: keep the log as it is for verification.
        return MakeError(absl::StatusCode::kDataLoss, reason::kStoreError,
                         absl::StrCat("cannot compact the change log: revision ", keep_from - 1,
                                      " or its chain value is missing (run observerctl audit "
                                      "verify)"));
      }
      anchor = std::string(last_dropped.Blob(0));
    }
    ASSIGN_OR_RETURN(auto changes, Prepare("DELETE FROM changes WHERE revision < ?1"));
    changes.Bind(1, keep_from);
    RETURN_IF_ERROR(changes.Run());
    ASSIGN_OR_RETURN(auto requests, Prepare("DELETE FROM requests WHERE revision < ?1"));
    requests.Bind(1, keep_from);
    RETURN_IF_ERROR(requests.Run());
    ASSIGN_OR_RETURN(auto state,
                     Prepare("UPDATE store_state SET compact_revision = ?1, chain_anchor = ?2, "
                             "anchor_key_id = ?3, anchor_mac = ?4"));
    state.Bind(1, keep_from)
        .BindBlob(2, anchor)
        .Bind(3, audit_key_id_)
        .BindBlob(4, AnchorMac(audit_key_, keep_from - 1, anchor));
    return state.Run();
  }

  // What to give back if the current request is rolled back to its savepoint.
  void rollback_to(const GroupLog::Mark& m) {
    elections_.clear();
    organisations_.clear();
    log_.rollback_to(m);
  }

 private:
  // Every statement of a group runs inside its transaction. SQLite rolls a transaction back by
  // itself on some errors (I/O, disk full, out of memory); a statement run after that would
  // commit on its own, outside the group, with revisions the group never records. So once
  // the transaction is gone, every statement fails (and CommitGroup fails the whole group).
  absl::Status CheckInTransaction() const {
    if (sqlite3_get_autocommit(db_.raw()) == 0) return absl::OkStatus();
    return absl::InternalError(
        "the group's transaction was rolled back by SQLite after an earlier error");
  }
  absl::StatusOr<sqlite::Statement> Prepare(absl::string_view sql) {
    RETURN_IF_ERROR(CheckInTransaction());
    return db_.Prepare(sql);
  }
  absl::Status Run(absl::string_view sql) {
    RETURN_IF_ERROR(CheckInTransaction());
    return db_.Run(sql);
  }
  absl::StatusOr<int64_t> QueryInt(absl::string_view sql) {
    RETURN_IF_ERROR(CheckInTransaction());
    return db_.QueryInt(sql);
  }

  absl::Status DeleteTags(absl::string_view election_id, absl::string_view observer_id) {
    ASSIGN_OR_RETURN(auto stmt, Prepare("DELETE FROM observer_tags WHERE election_id = ?1 AND "
                                        "observer_id = ?2"));
    stmt.Bind(1, election_id).Bind(2, observer_id);
    return stmt.Run();
  }

  template <typename T>
  absl::StatusOr<std::optional<T>> GetBlob(absl::string_view sql, absl::string_view key1,
                                           absl::string_view key2, absl::string_view what) {
    ASSIGN_OR_RETURN(auto stmt, Prepare(sql));
    stmt.Bind(1, key1);
    if (!key2.empty()) stmt.Bind(2, key2);
    ASSIGN_OR_RETURN(const bool row, stmt.Step());
    if (!row) return std::optional<T>();
    ASSIGN_OR_RETURN(T value, ParseRecord<T>(stmt.Blob(0), what));
    return std::optional<T>(std::move(value));
  }

  sqlite::Connection& db_;
  GroupLog log_;
  const std::string& audit_key_;
  const std::string& audit_key_id_;
  absl::flat_hash_map<std::string, std::optional<v1::Election>> elections_;
  absl::flat_hash_map<std::string, std::optional<v1::Organisation>> organisations_;
};

namespace {

// The writer connection's settings (the readers get ConfigureConnection only).
absl::Status ConfigureWriter(sqlite::Connection& db, const std::string& path,
                             const SqliteStoreOptions& options) {
  // journal_mode=WAL persists in the file. synchronous=NORMAL: COMMIT writes the WAL without
  // an fsync, and the syncer thread fdatasyncs the WAL before anything is acknowledged or
  // shown (SyncerLoop); checkpoints still sync the WAL before and the file after.
  ASSIGN_OR_RETURN(const std::string mode, db.QueryText("PRAGMA journal_mode = WAL"));
  if (mode != "wal") {
    return absl::FailedPreconditionError(
        absl::StrCat(path, ": cannot switch to WAL journal mode (got ", mode, ")"));
  }
  RETURN_IF_ERROR(db.Exec("PRAGMA synchronous = NORMAL"));
  // Savepoints (one per request, one per row of a batch that is not all-or-nothing) copy each
  // page they change into a journal. SQLite spills that journal to a temporary file past
  // 64 KiB, which a group of large batches always passes: a system call per page. Kept in
  // memory, it is a copy.
  RETURN_IF_ERROR(db.Exec("PRAGMA temp_store = MEMORY"));
  // After a burst of large batches the WAL is cut back to 64 MiB when it starts over.
  RETURN_IF_ERROR(db.Exec("PRAGMA journal_size_limit = 67108864"));
  // The writer's page cache: the B-tree pages a group commit touches (index leaves of random
  // keys such as identity documents) stay in memory instead of being read back from the file.
  RETURN_IF_ERROR(db.Exec(absl::StrCat("PRAGMA cache_size = -", options.writer_cache_kib)));
  if (options.max_page_count > 0) {
    RETURN_IF_ERROR(db.Exec(absl::StrCat("PRAGMA max_page_count = ", options.max_page_count)));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<SqliteStore>> SqliteStore::Open(const std::string& path,
                                                               const SqliteStoreOptions& options) {
  ASSIGN_OR_RETURN(const int lock_fd, LockStoreFile(path));
  absl::Cleanup unlock = [lock_fd] { ::close(lock_fd); };
  auto writer = sqlite::Connection::Open(path, /*create=*/true, /*read_only=*/false);
  if (!writer.ok()) return writer.status();
  sqlite::Connection& db = **writer;
  ASSIGN_OR_RETURN(const int64_t version, SchemaVersion(db, path));
  RETURN_IF_ERROR(ConfigureWriter(db, path, options));
  RETURN_IF_ERROR(ConfigureConnection(db, options.busy_timeout));
  ASSIGN_OR_RETURN(const int64_t chained, Migrate(db, path, version, options.audit_key));
  auto store = std::unique_ptr<SqliteStore>(new SqliteStore(path, options, std::move(*writer)));
  std::move(unlock).Cancel();
  store->lock_fd_ = lock_fd;
  store->changes_chained_at_open_ = chained;
  ASSIGN_OR_RETURN(store->head_revision_,
                   store->writer_->QueryInt("SELECT head_revision FROM store_state"));
  // New changes link to the newest stored one, else to the compaction anchor, else to the
  // genesis value.
  {
    ASSIGN_OR_RETURN(auto last, store->writer_->PrepareOnce(
                                    "SELECT chain, key_id FROM changes ORDER BY revision DESC "
                                    "LIMIT 1"));
    ASSIGN_OR_RETURN(const bool row, last.Step());
    if (row) {
      store->head_chain_ = std::string(last.Blob(0));
      store->head_key_id_ = last.Text(1);
    }
  }
  if (store->head_key_id_.empty()) {
    ASSIGN_OR_RETURN(auto anchor, store->writer_->PrepareOnce(
                                      "SELECT chain_anchor, anchor_key_id FROM store_state "
                                      "WHERE compact_revision > 1"));
    ASSIGN_OR_RETURN(const bool row, anchor.Step());
    if (row) {
      store->head_chain_ = std::string(anchor.Blob(0));
      store->head_key_id_ = anchor.Text(1);
    }
  }
  if (store->head_chain_.empty()) store->head_chain_ = GenesisChain();
  // The WAL is fdatasynced through a descriptor of our own (a sync covers the file, whichever
  // descriptor wrote it). Whatever an earlier process left in it is made durable now.
  const std::string wal_path = path + "-wal";
  store->wal_fd_ = ::open(wal_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (store->wal_fd_ < 0 || ::fdatasync(store->wal_fd_) != 0) {
    return absl::InternalError(absl::StrCat(wal_path, ": ", std::strerror(errno)));
  }
  store->durable_revision_ = store->head_revision_;  // No other thread runs yet.
  // Checkpoints move to the checkpointer thread: the writer only reports its WAL's size.
  ASSIGN_OR_RETURN(store->checkpointer_,
                   sqlite::Connection::Open(path, /*create=*/false, /*read_only=*/false));
  RETURN_IF_ERROR(ConfigureConnection(*store->checkpointer_, options.busy_timeout));
  // A connection finds the file in WAL mode when it first reads it; until then a checkpoint
  // through it does nothing.
  RETURN_IF_ERROR(store->checkpointer_->QueryInt("SELECT count(*) FROM sqlite_master").status());
  sqlite3_wal_autocheckpoint(store->writer_->raw(), 0);
  sqlite3_wal_hook(store->writer_->raw(), &SqliteStore::OnWalCommit, store.get());
  store->checkpointer_thread_ = std::thread([s = store.get()] {
    SetCurrentThreadName("store-checkpt");
    s->CheckpointerLoop();
  });
  store->syncer_thread_ = std::thread([s = store.get()] {
    SetCurrentThreadName("store-syncer");
    s->SyncerLoop();
  });
  store->writer_thread_ = std::thread([s = store.get()] {
    SetCurrentThreadName("store-writer");
    s->WriterLoop();
  });
  return store;
}

SqliteStore::SqliteStore(std::string path, SqliteStoreOptions options,
                         std::unique_ptr<sqlite::Connection> writer)
    : path_(std::move(path)),
      options_(options),
      writer_(std::move(writer)),
      audit_key_id_(AuditKeyId(options_.audit_key)),
      audit_mac_(options_.audit_key) {}

SqliteStore::~SqliteStore() {
  queue_.Close();
  if (writer_thread_.joinable()) writer_thread_.join();
  // Everything queued is committed; the syncer makes it durable and answers it, then stops.
  {
    std::lock_guard<std::mutex> lock(sync_mu_);
    writer_stopped_ = true;
  }
  sync_cv_.notify_all();
  if (syncer_thread_.joinable()) syncer_thread_.join();
  {
    std::lock_guard<std::mutex> lock(checkpoint_mu_);
    checkpoint_stopping_ = true;
  }
  checkpoint_cv_.notify_all();
  if (checkpointer_thread_.joinable()) checkpointer_thread_.join();
  checkpointer_.reset();
  if (wal_fd_ >= 0) ::close(wal_fd_);
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

void SqliteStore::SetCommitListener(CommitListener listener) { listener_ = std::move(listener); }

void SqliteStore::WriteAsync(WriteFn fn, WriteDone done) {
  queue_.Push(std::move(fn), std::move(done));
}

void SqliteStore::WriterLoop() {
  WriteGroup group;
  while (queue_.TakeGroup(options_.max_group_size, group)) {
    CommitGroup(group);
    group.clear();
    if (wal_frames_at_commit_ >= options_.checkpoint_restart_frames) {
      // The WAL starts over only when a checkpoint has copied all of it before the next
      // commit, which passive checkpoints behind a writer that never pauses may never do.
      // So the writer pauses here for one RESTART checkpoint: it copies what the passive ones
      // left and waits (up to the busy timeout) for readers of older snapshots; the next
      // commit then writes from the WAL's start. Rare: only when checkpoints fall behind.
      // Busy or failed: the next commit tries again. One checkpoint runs at a time (SQLite
      // refuses a second at once, without waiting), so this one waits for a passive one.
      std::lock_guard<std::mutex> lock(checkpoint_run_mu_);
      (void)sqlite3_wal_checkpoint_v2(writer_->raw(), nullptr, SQLITE_CHECKPOINT_RESTART, nullptr,
                                      nullptr);
      wal_frames_at_commit_ = 0;
    }
  }
}

void SqliteStore::CommitGroup(WriteGroup& group) {
  const absl::Time start = absl::Now();
  absl::Status commit;
  auto report = [&] {
    if (options_.on_commit) {
      options_.on_commit(static_cast<int>(group.size()), absl::Now() - start, commit);
    }
  };
  sqlite::Connection& db = *writer_;
  absl::Status begin = db.Run("BEGIN IMMEDIATE");
  if (!begin.ok()) {
    commit = begin;
    report();
    for (auto& p : group) p->done(begin);
    return;
  }
  Txn txn(db, head_revision_, head_chain_, options_.audit_key, audit_mac_, audit_key_id_);
  std::vector<absl::Status> results;
  results.reserve(group.size());
  for (auto& p : group) {
    absl::Status status = db.Run("SAVEPOINT request");
    if (status.ok()) {
      const GroupLog::Mark mark = txn.log().mark();
      status = p->fn(txn);
      OBSERVER_FAILPOINT("registry-after-apply");
      if (status.ok() && !txn.log().complete()) {
        status = absl::InternalError("a write allocated a revision without recording its change");
      }
      if (status.ok()) status = db.Run("RELEASE request");
      if (!status.ok()) {
        (void)db.Run("ROLLBACK TO request");
        (void)db.Run("RELEASE request");
        txn.rollback_to(mark);
      }
    }
    if (sqlite3_get_autocommit(db.raw()) != 0) {
      // SQLite rolled back the whole transaction (disk full, I/O error): nothing of the group
      // is written, so every request fails with that error and no revision is consumed.
      commit = status.ok() ? absl::InternalError("transaction lost") : status;
      report();
      for (auto& q : group) q->done(commit);
      return;
    }
    results.push_back(std::move(status));
  }
  if (txn.log().head() != head_revision_) {
    auto stmt = db.Prepare("UPDATE store_state SET head_revision = ?1");
    commit = stmt.ok() ? stmt->Bind(1, txn.log().head()).Run() : stmt.status();
  }
  OBSERVER_FAILPOINT("registry-before-commit");
  if (commit.ok()) commit = db.Run("COMMIT");
  report();
  if (!commit.ok()) {
    (void)db.Run("ROLLBACK");
    for (auto& p : group) p->done(commit);
    return;
  }
  head_revision_ = txn.log().head();
  head_chain_ = txn.log().chain();
  // Every group goes to the syncer, also one that changed nothing (a replayed request answers
  // with a revision that may still be syncing), so answers keep commit order.
  Committed committed{txn.log().head(), std::move(txn.log().events()), std::move(group),
                      std::move(results)};
  {
    std::lock_guard<std::mutex> lock(sync_mu_);
    committed_.push_back(std::move(committed));
  }
  sync_cv_.notify_one();
}

void SqliteStore::SyncerLoop() {
  std::deque<Committed> batch;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(sync_mu_);
      sync_cv_.wait(lock, [this] { return writer_stopped_ || !committed_.empty(); });
      if (committed_.empty()) return;  // The writer stopped and everything was answered.
      batch.swap(committed_);
    }
    // One fdatasync covers every group committed before it started.
    const absl::Time sync_start = absl::Now();
    if (::fdatasync(wal_fd_) != 0) {
      // The kernel may have dropped the dirty pages: what is on disk is unknown, and a retry
      // could report success for data that is gone. Stop at once; a restart recovers from
      // what the disk really holds (PostgreSQL does the same).
      const int error = errno;
      LogError(
          "fdatasync of the store's WAL failed; stopping so that nothing unsynced is "
          "acknowledged",
          {{"store", path_}, {"error", std::strerror(error)}});
      std::abort();
    }
    if (options_.on_sync) options_.on_sync(absl::Now() - sync_start);
    OBSERVER_FAILPOINT("registry-after-commit-before-reply");
    {
      std::lock_guard<std::mutex> lock(sync_mu_);
      durable_revision_ = batch.back().head;
    }
    durable_cv_.notify_all();
    for (Committed& c : batch) {
      if (listener_ && !c.events.empty()) listener_(std::move(c.events));
      for (size_t i = 0; i < c.group.size(); ++i) c.group[i]->done(std::move(c.results[i]));
    }
    batch.clear();
  }
}

int SqliteStore::OnWalCommit(void* store, sqlite3* /*db*/, const char* /*schema*/, int frames) {
  auto* self = static_cast<SqliteStore*>(store);
  self->wal_frames_at_commit_ = frames;
  if (frames < self->options_.checkpoint_frames) return SQLITE_OK;
  {
    std::lock_guard<std::mutex> lock(self->checkpoint_mu_);
    self->checkpoint_wanted_ = true;
  }
  self->checkpoint_cv_.notify_one();
  return SQLITE_OK;
}

void SqliteStore::CheckpointerLoop() {
  bool failing = false;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(checkpoint_mu_);
      checkpoint_cv_.wait(lock, [this] { return checkpoint_stopping_ || checkpoint_wanted_; });
      if (checkpoint_stopping_) return;
      checkpoint_wanted_ = false;
    }
    // PASSIVE copies what no reader still needs and never blocks the writer.
    int rc = SQLITE_OK;
    {
      std::lock_guard<std::mutex> lock(checkpoint_run_mu_);
      rc = sqlite3_wal_checkpoint_v2(checkpointer_->raw(), nullptr, SQLITE_CHECKPOINT_PASSIVE,
                                     nullptr, nullptr);
    }
    if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
      // Nothing is lost (the frames stay in the WAL); the next commit asks again. Logged once
      // per run of failures, e.g. while the disk is full.
      if (!failing) {
        LogWarning("WAL checkpoint failed; retrying after the next commit",
                   {{"store", path_}, {"error", sqlite3_errmsg(checkpointer_->raw())}});
      }
      failing = true;
    } else {
      failing = false;
    }
  }
}

void SqliteStore::WaitDurable(int64_t revision) {
  if (durable_revision_.load() >= revision) return;
  std::unique_lock<std::mutex> lock(sync_mu_);
  durable_cv_.wait(lock, [&] { return durable_revision_ >= revision; });
}

SqliteStore::ReaderLease::~ReaderLease() {
  if (conn_ == nullptr) return;
  std::lock_guard<std::mutex> lock(store_->readers_mu_);
  if (store_->idle_readers_.size() < kMaxReaders) {
    store_->idle_readers_.push_back(std::move(conn_));
  }
}

absl::StatusOr<SqliteStore::ReaderLease> SqliteStore::LeaseReader() {
  {
    std::lock_guard<std::mutex> lock(readers_mu_);
    if (!idle_readers_.empty()) {
      auto conn = std::move(idle_readers_.back());
      idle_readers_.pop_back();
      return ReaderLease(this, std::move(conn));
    }
  }
  auto conn = sqlite::Connection::Open(path_, /*create=*/false, /*read_only=*/true);
  if (!conn.ok()) return conn.status();
  RETURN_IF_ERROR(ConfigureConnection(**conn, options_.busy_timeout));
  return ReaderLease(this, std::move(*conn));
}

template <typename T, typename F>
absl::StatusOr<T> SqliteStore::InReadTxn(F read) {
  ASSIGN_OR_RETURN(ReaderLease db, LeaseReader());
  RETURN_IF_ERROR(db->Run("BEGIN"));
  absl::StatusOr<int64_t> head = db->QueryInt("SELECT head_revision FROM store_state");
  absl::StatusOr<T> result = head.ok() ? read(*db, *head) : absl::StatusOr<T>(head.status());
  (void)db->Run("COMMIT");
  if (head.ok()) WaitDurable(*head);
  return result;
}

template <typename T>
absl::StatusOr<Versioned<T>> SqliteStore::ReadOne(absl::string_view sql, absl::string_view key1,
                                                  absl::string_view key2, absl::string_view what) {
  return InReadTxn<Versioned<T>>(
      [&](sqlite::Connection& db, int64_t head) -> absl::StatusOr<Versioned<T>> {
        ASSIGN_OR_RETURN(auto stmt, db.Prepare(sql));
        stmt.Bind(1, key1);
        if (!key2.empty()) stmt.Bind(2, key2);
        ASSIGN_OR_RETURN(Page<T> page, CollectPage<T>(stmt, 1, head, what));
        Versioned<T> out{std::nullopt, head};
        if (!page.items.empty()) out.value = std::move(page.items.front());
        return out;
      });
}

template <typename T>
absl::StatusOr<Page<T>> SqliteStore::ReadPage(absl::string_view sql, absl::string_view after,
                                              int limit, absl::string_view what) {
  return InReadTxn<Page<T>>([&](sqlite::Connection& db, int64_t head) -> absl::StatusOr<Page<T>> {
    ASSIGN_OR_RETURN(auto stmt, db.Prepare(sql));
    stmt.Bind(1, after).Bind(2, int64_t{limit} + 1);
    return CollectPage<T>(stmt, limit, head, what);
  });
}

absl::StatusOr<Versioned<v1::Election>> SqliteStore::GetElection(absl::string_view id) {
  return ReadOne<v1::Election>("SELECT data FROM elections WHERE id = ?1", id, {}, "election");
}

absl::StatusOr<Page<v1::Election>> SqliteStore::ListElections(absl::string_view after_id,
                                                              int limit) {
  return ReadPage<v1::Election>("SELECT data FROM elections WHERE id > ?1 ORDER BY id LIMIT ?2",
                                after_id, limit, "election");
}

absl::StatusOr<Versioned<v1::Organisation>> SqliteStore::GetOrganisation(absl::string_view code) {
  return ReadOne<v1::Organisation>("SELECT data FROM organisations WHERE code = ?1", code, {},
                                   "organisation");
}

absl::StatusOr<Page<v1::Organisation>> SqliteStore::ListOrganisations(absl::string_view after_code,
                                                                      int limit) {
  return ReadPage<v1::Organisation>(
      "SELECT data FROM organisations WHERE code > ?1 ORDER BY code LIMIT ?2", after_code, limit,
      "organisation");
}

absl::StatusOr<Versioned<v1::Observer>> SqliteStore::GetObserver(absl::string_view election_id,
                                                                 absl::string_view observer_id) {
  return ReadOne<v1::Observer>("SELECT data FROM observers WHERE election_id = ?1 AND id = ?2",
                               election_id, observer_id, "observer");
}

absl::StatusOr<Page<v1::Observer>> SqliteStore::ListObservers(const ObserverQuery& query) {
  // The SQL is built from a fixed vocabulary; every value is a bound parameter.
  std::string sql = "SELECT data FROM observers o WHERE election_id = ?1 AND id > ?2";
  int param = 3;
  for (const ObserverCondition& c : query.conditions) {
    const char* op = c.negated ? " IS NOT " : " IS ";
    switch (c.field) {
      case ObserverCondition::Field::kStatus:
        absl::StrAppend(&sql, " AND status", op, "?", param++);
        break;
      case ObserverCondition::Field::kCategory:
        absl::StrAppend(&sql, " AND category", op, "?", param++);
        break;
      case ObserverCondition::Field::kTest:
        absl::StrAppend(&sql, " AND test", op, "?", param++);
        break;
      case ObserverCondition::Field::kOrganisation:
        absl::StrAppend(&sql, " AND organisation", op, "?", param++);
        break;
      case ObserverCondition::Field::kState:
        absl::StrAppend(&sql, " AND state", op, "?", param++);
        break;
      case ObserverCondition::Field::kCitizenship:
        absl::StrAppend(&sql, " AND citizenship", op, "?", param++);
        break;
      case ObserverCondition::Field::kTag:
        absl::StrAppend(&sql, c.negated ? " AND NOT" : " AND",
                        " EXISTS (SELECT 1 FROM observer_tags t WHERE t.election_id = "
                        "o.election_id AND t.observer_id = o.id AND t.tag = ?",
                        param++, ")");
        break;
    }
  }
  absl::StrAppend(&sql, " ORDER BY id LIMIT ?", param);
  return InReadTxn<Page<v1::Observer>>(
      [&](sqlite::Connection& db, int64_t head) -> absl::StatusOr<Page<v1::Observer>> {
        // Filters make many distinct statements: prepared for this read only, not cached.
        ASSIGN_OR_RETURN(auto stmt, db.PrepareOnce(sql));
        stmt.Bind(1, query.election_id).Bind(2, query.after_id);
        int p = 3;
        for (const ObserverCondition& c : query.conditions) {
          switch (c.field) {
            case ObserverCondition::Field::kStatus:
            case ObserverCondition::Field::kCategory:
            case ObserverCondition::Field::kTest:
              stmt.Bind(p++, c.number);
              break;
            default:
              stmt.Bind(p++, c.text);
          }
        }
        stmt.Bind(p, int64_t{query.limit} + 1);
        return CollectPage<v1::Observer>(stmt, query.limit, head, "observer");
      });
}

absl::StatusOr<std::vector<ObserverCount>> SqliteStore::CountObservers() {
  return InReadTxn<std::vector<ObserverCount>>([](sqlite::Connection& db, int64_t)
                                                   -> absl::StatusOr<std::vector<ObserverCount>> {
    // A scan of the observers_by_status index, not of the records.
    ASSIGN_OR_RETURN(auto stmt, db.Prepare("SELECT election_id, status, COUNT(*) FROM observers "
                                           "GROUP BY election_id, status "
                                           "ORDER BY election_id, status"));
    std::vector<ObserverCount> counts;
    for (;;) {
      ASSIGN_OR_RETURN(const bool row, stmt.Step());
      if (!row) break;
      counts.push_back({stmt.Text(0), static_cast<v1::ObserverStatus>(stmt.Int(1)), stmt.Int(2)});
    }
    return counts;
  });
}

absl::StatusOr<Revisions> SqliteStore::GetRevisions() {
  return InReadTxn<Revisions>(
      [&](sqlite::Connection& db, int64_t head) -> absl::StatusOr<Revisions> {
        ASSIGN_OR_RETURN(const int64_t compact,
                         db.QueryInt("SELECT compact_revision FROM store_state"));
        return Revisions{head, compact};
      });
}

absl::StatusOr<std::vector<v1::ChangeEvent>> SqliteStore::ReadChanges(int64_t from, int max_events,
                                                                      int64_t max_bytes) {
  return InReadTxn<std::vector<v1::ChangeEvent>>(
      [&](sqlite::Connection& db, int64_t) -> absl::StatusOr<std::vector<v1::ChangeEvent>> {
        ASSIGN_OR_RETURN(const int64_t compact,
                         db.QueryInt("SELECT compact_revision FROM store_state"));
        RETURN_IF_ERROR(ChangeBatch::CheckNotCompacted(from, compact));
        ASSIGN_OR_RETURN(auto stmt, db.Prepare("SELECT event FROM changes WHERE revision >= ?1 "
                                               "ORDER BY revision LIMIT ?2"));
        stmt.Bind(1, from).Bind(2, int64_t{max_events});
        ChangeBatch batch(max_bytes);
        for (;;) {
          ASSIGN_OR_RETURN(const bool row, stmt.Step());
          if (!row) break;
          ASSIGN_OR_RETURN(const bool added, batch.Add(stmt.Blob(0)));
          if (!added) break;
        }
        return batch.Take();
      });
}

void SqliteStore::CompactAsync(int64_t keep_from, WriteDone done) {
  WriteAsync([keep_from](WriteTxn& txn) { return static_cast<Txn&>(txn).Compact(keep_from); },
             std::move(done));
}

// Holds one read transaction open on a leased connection for the whole snapshot.
class SqliteStore::Snapshot final : public StagedSnapshot {
 public:
  Snapshot(ReaderLease db, int64_t revision) : StagedSnapshot(revision), db_(std::move(db)) {}
  ~Snapshot() override { (void)db_->Run("COMMIT"); }

 private:
  absl::Status ReadRows(int stage, const std::string& after_a, const std::string& after_b,
                        int limit, const RowFn& row) override {
    static constexpr const char* kSql[] = {
        "SELECT id, '', data FROM elections WHERE id > ?1 ORDER BY id LIMIT ?3",
        "SELECT code, '', data FROM organisations WHERE code > ?1 ORDER BY code LIMIT ?3",
        ("SELECT election_id, id, data FROM observers WHERE (election_id, id) > (?1, ?2) "
         "ORDER BY election_id, id LIMIT ?3"),
    };
    ASSIGN_OR_RETURN(auto stmt, db_->Prepare(kSql[stage]));
    stmt.Bind(1, after_a).Bind(3, int64_t{limit});
    if (stage == 2) stmt.Bind(2, after_b);
    for (;;) {
      ASSIGN_OR_RETURN(const bool more, stmt.Step());
      if (!more || !row(stmt.Blob(0), stmt.Blob(1), stmt.Blob(2))) return absl::OkStatus();
    }
  }

  ReaderLease db_;
};

absl::StatusOr<std::unique_ptr<SnapshotReader>> SqliteStore::OpenSnapshot() {
  ASSIGN_OR_RETURN(ReaderLease db, LeaseReader());
  RETURN_IF_ERROR(db->Run("BEGIN"));
  absl::StatusOr<int64_t> head = db->QueryInt("SELECT head_revision FROM store_state");
  if (!head.ok()) {
    (void)db->Run("COMMIT");
    return head.status();
  }
  WaitDurable(*head);
  return std::unique_ptr<SnapshotReader>(new Snapshot(std::move(db), *head));
}

absl::StatusOr<ChangeLogVerification> SqliteStore::VerifyChangeLog(
    const std::optional<ChainWitness>& witness) {
  return InReadTxn<ChangeLogVerification>(
      [&](sqlite::Connection& db, int64_t head) -> absl::StatusOr<ChangeLogVerification> {
        ASSIGN_OR_RETURN(auto state, db.Prepare("SELECT compact_revision, chain_anchor, "
                                                "anchor_key_id, anchor_mac FROM store_state"));
        ASSIGN_OR_RETURN(const bool found, state.Step());
        if (!found) return absl::InternalError("the store has no state row");
        const int64_t compact = state.Int(0);
        ChainVerifier::Anchor anchor{std::string(state.Blob(1)), state.Text(2),
                                     std::string(state.Blob(3))};
        ChainVerifier verifier(options_.audit_key, head, compact, anchor);
        if (witness.has_value()) RETURN_IF_ERROR(verifier.Expect(*witness));
        // One pass over the whole table, in revision order: an entry left below the
        // compaction point is found too.
        ASSIGN_OR_RETURN(auto changes, db.Prepare("SELECT revision, event, chain, key_id FROM "
                                                  "changes ORDER BY revision"));
        while (!verifier.broken()) {
          ASSIGN_OR_RETURN(const bool row, changes.Step());
          if (!row) break;
          std::optional<absl::string_view> chain;
          if (!changes.IsNull(2)) chain = changes.Blob(2);
          verifier.Add(changes.Int(0), changes.Blob(1), chain, changes.Text(3));
        }
        return verifier.Finish();
      });
}

}  // namespace observer::registry
