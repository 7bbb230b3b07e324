// The embedded store: one SQLite file in WAL mode. One writer thread groups concurrent
// requests into one transaction (group commit), each request in its own savepoint; a second
// thread makes committed groups durable (one fdatasync of the WAL for every group committed
// meanwhile) and only then publishes their changes and acknowledges them, so the writer goes
// on with the next group while the previous one is being synced (ADR 0010). Readers use a pool
// of connections; a read that saw a revision not yet durable waits until it is, so nothing is
// ever shown that a power cut could take back.
#ifndef OBSERVER_REGISTRY_STORAGE_SQLITE_STORE_H_
#define OBSERVER_REGISTRY_STORAGE_SQLITE_STORE_H_

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"
#include "common/digest.h"
#include "registry-service/src/storage/sqlite_db.h"
#include "registry-service/src/storage/store.h"
#include "registry-service/src/storage/store_common.h"

namespace observer::registry {

struct SqliteStoreOptions {
  // Most requests committed in one transaction.
  int max_group_size = 256;
  // How long a writer waits for a lock held by another process before the request fails
  // with UNAVAILABLE.
  absl::Duration busy_timeout = absl::Seconds(5);
  // Caps the file at this many pages (0: no cap), e.g. to keep room on a shared disk; writes
  // past it fail with RESOURCE_EXHAUSTED / STORE_FULL and change nothing.
  int64_t max_page_count = 0;
  // The writer connection's page cache, KiB (SQLite's default is 2000). Readers keep the
  // default: the operating system's page cache is behind them.
  int64_t writer_cache_kib = 32 * 1024;
  // Called on the writer thread after each transaction group: how many write requests it
  // held, how long it took from BEGIN to the end of COMMIT (the WAL written; its fsync follows
  // on the syncer thread), and the
  // status of the commit itself (not of the requests in it). For metrics; must be quick.
  std::function<void(int requests, absl::Duration duration, const absl::Status& commit)> on_commit;
  // Called on the syncer thread after each fdatasync of the WAL, with its duration. For
  // metrics; must be quick.
  std::function<void(absl::Duration duration)> on_sync;
  // WAL checkpoints run on a thread of their own, not on the writer: a passive checkpoint
  // starts once the WAL holds `checkpoint_frames` frames (16 MiB of 4 KiB pages; SQLite's
  // own autocheckpoint is at 1000, but a page changed by many commits is copied once per
  // checkpoint). Once it holds `checkpoint_restart_frames`, the writer itself pauses for a
  // RESTART checkpoint, so that the WAL cannot grow without bound under a writer that never
  // pauses.
  int checkpoint_frames = 4000;
  int checkpoint_restart_frames = 16000;
  // The HMAC key of the change log's hash chain (audit_chain.h): every change appended is
  // chained with it, and VerifyChangeLog checks with it. registry-service reads it from
  // --audit-key-file (at least 32 bytes); empty works (an unkeyed chain) for tests only.
  std::string audit_key;
};

class SqliteStore final : public Store {
 public:
  // Opens or creates the file and brings its schema to the current version. Fails with a
  // message naming the file if it cannot be opened, is not a registry store, or is newer
  // than this binary.
  static absl::StatusOr<std::unique_ptr<SqliteStore>> Open(const std::string& path,
                                                           const SqliteStoreOptions& options);
  ~SqliteStore() override;

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

  // The id of the key the newest stored change (else the compaction anchor) was chained with,
  // as found at open; empty for a store without changes. When it differs from the id of
  // `audit_key`, the key was changed (or rotated) since: earlier entries verify only with the
  // old key.
  const std::string& head_key_id() const { return head_key_id_; }
  // How many stored changes were chained when the file was migrated to the chained schema at
  // open (0 when it already was).
  int64_t changes_chained_at_open() const { return changes_chained_at_open_; }

  // The schema version this binary writes.
  static constexpr int kSchemaVersion = 2;

 private:
  class Txn;
  class Snapshot;

  // A read connection lent for the duration of one read, returned on destruction.
  class ReaderLease {
   public:
    ReaderLease(SqliteStore* store, std::unique_ptr<sqlite::Connection> conn)
        : store_(store), conn_(std::move(conn)) {}
    ReaderLease(ReaderLease&&) = default;
    ReaderLease(const ReaderLease&) = delete;
    ReaderLease& operator=(const ReaderLease&) = delete;
    ReaderLease& operator=(ReaderLease&&) = delete;
    ~ReaderLease();
    sqlite::Connection* operator->() const { return conn_.get(); }
    sqlite::Connection& operator*() const { return *conn_; }

   private:
    SqliteStore* store_;
    std::unique_ptr<sqlite::Connection> conn_;
  };

  SqliteStore(std::string path, SqliteStoreOptions options,
              std::unique_ptr<sqlite::Connection> writer);

  absl::StatusOr<ReaderLease> LeaseReader();
  // Runs `read` inside one read transaction on a leased connection.
  template <typename T, typename F>
  absl::StatusOr<T> InReadTxn(F read);
  // One record by key (`key2` empty for single-column keys), in one read transaction.
  template <typename T>
  absl::StatusOr<Versioned<T>> ReadOne(absl::string_view sql, absl::string_view key1,
                                       absl::string_view key2, absl::string_view what);
  // One page of records after `after`; `sql` takes ?1 = after, ?2 = limit.
  template <typename T>
  absl::StatusOr<Page<T>> ReadPage(absl::string_view sql, absl::string_view after, int limit,
                                   absl::string_view what);

  void WriterLoop();
  void CommitGroup(WriteGroup& group);
  // Makes committed groups durable, then publishes and acknowledges them, in commit order.
  void SyncerLoop();
  // Blocks until `revision` is durable (at once when it already is).
  void WaitDurable(int64_t revision);
  // Checkpoints the WAL into the database file (PASSIVE) when the writer's commits ask.
  void CheckpointerLoop();
  // The writer connection's WAL hook: called on the writer thread after each commit with the
  // WAL's frame count.
  static int OnWalCommit(void* store, sqlite3* db, const char* schema, int frames);

  const std::string path_;
  int lock_fd_ = -1;
  const SqliteStoreOptions options_;
  std::unique_ptr<sqlite::Connection> writer_;  // Used by the writer thread only.
  int64_t head_revision_ = 0;                   // Writer thread only.
  std::string head_chain_;                      // Chain value at head_revision_; writer only.
  const std::string audit_key_id_;
  const HmacSha256Key audit_mac_;  // Of options_.audit_key; writer thread only.
  std::string head_key_id_;
  int64_t changes_chained_at_open_ = 0;
  CommitListener listener_;

  std::mutex readers_mu_;
  std::vector<std::unique_ptr<sqlite::Connection>> idle_readers_ ABSL_GUARDED_BY(readers_mu_);

  WriteQueue queue_;
  std::thread writer_thread_;

  // Groups committed by the writer and waiting for their fdatasync, in commit order.
  struct Committed;
  int wal_fd_ = -1;  // The WAL file, opened by us to fdatasync it.
  std::mutex sync_mu_;
  std::condition_variable sync_cv_;     // The syncer waits for committed groups.
  std::condition_variable durable_cv_;  // Readers wait for durable_revision_.
  std::deque<Committed> committed_ ABSL_GUARDED_BY(sync_mu_);
  bool writer_stopped_ ABSL_GUARDED_BY(sync_mu_) = false;
  // Written under sync_mu_ (so that waiters cannot miss the notification); atomic so that a
  // read of a revision already durable, the usual case, does not take the lock.
  std::atomic<int64_t> durable_revision_{0};
  std::thread syncer_thread_;

  std::unique_ptr<sqlite::Connection> checkpointer_;  // Checkpointer thread only.
  std::mutex checkpoint_mu_;
  std::condition_variable checkpoint_cv_;
  bool checkpoint_wanted_ ABSL_GUARDED_BY(checkpoint_mu_) = false;
  int wal_frames_at_commit_ = 0;  // Writer thread only (its WAL hook).
  bool checkpoint_stopping_ ABSL_GUARDED_BY(checkpoint_mu_) = false;
  std::mutex checkpoint_run_mu_;  // Held while either thread runs a checkpoint.
  std::thread checkpointer_thread_;
};

}  // namespace observer::registry

#endif  // OBSERVER_REGISTRY_STORAGE_SQLITE_STORE_H_
