// The scale-out store: PostgreSQL, shared by several stateless registry replicas (ADR 0012).
//
// Writes: each replica has one writer thread that commits concurrent requests in one
// transaction (group commit), each request in its own savepoint, like the SQLite store. A
// group's first statement locks the store's one state row (SELECT ... FOR UPDATE), which holds
// the head revision and the audit chain value, until its COMMIT: groups of every replica are
// serialized, so revisions are store-wide, gap-free and committed in revision order. A reader
// that sees revision N therefore sees every revision below it.
//
// Change stream: every replica publishes every committed change, its own and the other
// replicas', in revision order, to its commit listener, read from the change log table. The
// writer publishes after its own commit, before acknowledging; a listener thread waits for
// NOTIFY (sent by each commit) or a poll interval, then reads the log past what it published.
// NOTIFY only wakes it: the log is the source of the events.
//
// Reads run on a pool of connections with a limit, in one statement or one REPEATABLE READ
// transaction each. The schema is migrated at open under an advisory lock, so replicas
// starting together migrate once.
#ifndef OBSERVER_REGISTRY_STORAGE_POSTGRES_STORE_H_
#define OBSERVER_REGISTRY_STORAGE_POSTGRES_STORE_H_

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"
#include "common/digest.h"
#include "registry-service/src/storage/pg_db.h"
#include "registry-service/src/storage/store.h"
#include "registry-service/src/storage/store_common.h"

namespace observer::registry {

struct PostgresStoreOptions {
  // Most requests committed in one transaction.
  int max_group_size = 256;
  // Most read connections open at once; a replica also holds one writer and one listener
  // connection. A read that finds all of them busy waits up to `busy_timeout`.
  int max_read_connections = 8;
  // How long a write waits for the revision lock held by another replica's group, and a read
  // for a connection, before failing with UNAVAILABLE / STORE_BUSY.
  absl::Duration busy_timeout = absl::Seconds(5);
  // The listener reads the change log at least this often, NOTIFY or not.
  absl::Duration poll_interval = absl::Seconds(1);
  // Called on the writer thread after each transaction group (as SqliteStoreOptions).
  std::function<void(int requests, absl::Duration duration, const absl::Status& commit)> on_commit;
  // The HMAC key of the change log's hash chain; every replica must use the same key.
  std::string audit_key;
};

class PostgresStore final : public Store {
 public:
  // Connects with the libpq connection string or URI (postgresql://...; TLS with sslmode,
  // sslrootcert, sslcert, sslkey) and brings the schema to the current version. Fails with a
  // message (never with the password) if the server cannot be reached, the database holds
  // other tables, or its schema is newer than this binary.
  static absl::StatusOr<std::unique_ptr<PostgresStore>> Open(const std::string& conninfo,
                                                             const PostgresStoreOptions& options);
  ~PostgresStore() override;

  void WriteAsync(WriteFn fn, WriteDone done) override;
  void SetCommitListener(CommitListener listener) override;

  absl::StatusOr<Versioned<v1::Election>> GetElection(absl::string_view id) override;
  absl::StatusOr<Page<v1::Election>> ListElections(absl::string_view after_id, int limit) override;
  absl::StatusOr<Versioned<v1::Organisation>> GetOrganisation(absl::string_view code) override;
  absl::StatusOr<Page<v1::Organisation>> ListOrganisations(absl::string_view after_code,
                                                           int limit) override;
  absl::StatusOr<Versioned<v1::Observer>> GetObserver(absl::string_view election_id,
                                                      absl::string_view observer_id) override;
  absl::StatusOr<Page<v1::Observer>> ListObservers(const ObserverQuery& query) override;

  absl::StatusOr<std::vector<ObserverCount>> CountObservers() override;
  absl::StatusOr<Revisions> GetRevisions() override;
  absl::StatusOr<std::vector<v1::ChangeEvent>> ReadChanges(int64_t from, int max_events,
                                                           int64_t max_bytes) override;
  void CompactAsync(int64_t keep_from, WriteDone done) override;
  absl::StatusOr<std::unique_ptr<SnapshotReader>> OpenSnapshot() override;
  absl::StatusOr<ChangeLogVerification> VerifyChangeLog(
      const std::optional<ChainWitness>& witness) override;

  // The id of the key the newest change was chained with, as found at open (empty: none).
  const std::string& head_key_id() const { return head_key_id_; }

  // The schema version this binary writes.
  static constexpr int kSchemaVersion = 1;

 private:
  class Txn;
  class Snapshot;

  // A read connection lent for one read, returned to the pool on destruction (or closed if
  // it broke).
  class Lease {
   public:
    Lease(PostgresStore* store, std::unique_ptr<pg::Connection> conn)
        : store_(store), conn_(std::move(conn)) {}
    Lease(Lease&&) = default;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Lease& operator=(Lease&&) = delete;
    ~Lease();
    pg::Connection* operator->() const { return conn_.get(); }
    pg::Connection& operator*() const { return *conn_; }

   private:
    PostgresStore* store_;
    std::unique_ptr<pg::Connection> conn_;
  };

  PostgresStore(std::string conninfo, PostgresStoreOptions options, int64_t head);

  absl::StatusOr<Lease> LeaseReader();
  // Runs `read(conn)` on a leased connection (once more on a new one if it had broken).
  template <typename T, typename F>
  absl::StatusOr<T> WithReader(F read);
  // Runs `read(conn, head)` in one REPEATABLE READ, READ ONLY transaction.
  template <typename T, typename F>
  absl::StatusOr<T> InReadTxn(F read);
  // One record: `sql` takes $1 (and $2 when `key2` is not empty) and returns the head
  // revision and the record's data (NULL when not found) in one row.
  template <typename T>
  absl::StatusOr<Versioned<T>> ReadOne(absl::string_view sql, absl::string_view key1,
                                       absl::string_view key2, absl::string_view what);
  template <typename T>
  absl::StatusOr<Page<T>> ReadPage(absl::string_view sql, absl::string_view after, int limit,
                                   absl::string_view what);

  void WriterLoop();
  void CommitGroup(WriteGroup& group);
  // (Re)connects the writer if needed, begins a group's transaction and takes the revision
  // lock; the state row (head revision, chain value).
  absl::StatusOr<pg::Result> BeginGroup();
  // Publishes to the listener every committed change past the last one published, read
  // through `conn`; `own` are the events of a group `conn` just committed, used as they are
  // when they come next.
  void CatchUp(pg::Connection& conn, std::vector<v1::ChangeEvent>* own);
  void ListenerLoop();
  // The last revision given to the listener.
  int64_t Published();

  const std::string conninfo_;
  const PostgresStoreOptions options_;
  const std::string audit_key_id_;
  const HmacSha256Key audit_mac_;  // Of options_.audit_key; writer thread only.
  std::string head_key_id_;

  std::unique_ptr<pg::Connection> writer_;  // Writer thread only; reconnected when broken.

  WriteQueue queue_;
  std::thread writer_thread_;

  std::mutex pool_mu_;
  std::condition_variable pool_cv_;
  std::vector<std::unique_ptr<pg::Connection>> idle_ ABSL_GUARDED_BY(pool_mu_);
  int open_readers_ ABSL_GUARDED_BY(pool_mu_) = 0;

  // Publishing: the listener and the last revision given to it.
  std::mutex publish_mu_;
  CommitListener listener_ ABSL_GUARDED_BY(publish_mu_);
  int64_t published_ ABSL_GUARDED_BY(publish_mu_);
  int stop_fd_ = -1;  // An eventfd that wakes the listener thread to stop.
  std::thread listener_thread_;
};

}  // namespace observer::registry

#endif  // OBSERVER_REGISTRY_STORAGE_POSTGRES_STORE_H_
