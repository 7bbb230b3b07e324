// The registry's SQLite store file seen from outside the service, as an operator's tools would
// see it: SQLite's integrity check, and the write lock held by another connection (a backup
// tool, an operator's sqlite3 shell) while the registry keeps running. The write lock of a
// PostgreSQL store too: its revision lock, held by another session (an operator's psql).
//
//   ASSERT_OK_AND_ASSIGN(std::unique_ptr<StoreWriteLock> lock,
//                        StoreWriteLock::Acquire(dir.Join("registry.db"), absl::Seconds(10)));
//   ...  // The registry's writes wait (or fail with STORE_BUSY); reads go on (WAL).
//   ASSERT_OK(lock->Release());
//   ASSERT_OK(registry.Stop());
//   EXPECT_EQ(IntegrityCheck(dir.Join("registry.db")), "ok");
#ifndef OBSERVER_TESTS_HARNESS_STORE_FILE_H_
#define OBSERVER_TESTS_HARNESS_STORE_FILE_H_

#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

struct sqlite3;
struct pg_conn;

namespace observer::testing {

// `PRAGMA integrity_check` of the SQLite file at `path`, opened read-only: "ok" when sound,
// else what it reports (rows joined with "; "), or why the file could not be opened or checked.
std::string IntegrityCheck(const std::string& path);

// The write lock of the SQLite file at `store` (a path), held by a connection of its own
// ("BEGIN IMMEDIATE", nothing written) until Release() or destruction, which commit and close
// it. `store` may also be a store URL as the registry is given it (RegistryProcess::store_uri()):
// sqlite://PATH, or postgresql://... for the revision lock of a PostgreSQL store (its state row
// held FOR UPDATE by a session of its own: the registry's writes wait for it as for another
// replica's).
class StoreWriteLock {
 public:
  // Opens the existing file read-write (or connects to the database) and takes the lock,
  // waiting up to `busy_timeout` for a writer that holds it (zero: fail at once, with
  // SQLITE_BUSY or NOWAIT). An error names the file (the database) and what the store said.
  static absl::StatusOr<std::unique_ptr<StoreWriteLock>> Acquire(const std::string& store,
                                                                 absl::Duration busy_timeout);
  ~StoreWriteLock();  // Release() if not yet released.
  StoreWriteLock(const StoreWriteLock&) = delete;
  StoreWriteLock& operator=(const StoreWriteLock&) = delete;

  // COMMIT (of nothing) and close: the lock is free again. An error if either fails (the
  // connection is closed anyway, which also frees the lock); OK if already released.
  absl::Status Release();

 private:
  StoreWriteLock(std::string path, sqlite3* db) : path_(std::move(path)), db_(db) {}
  StoreWriteLock(std::string path, pg_conn* pg) : path_(std::move(path)), pg_(pg) {}

  const std::string path_;
  sqlite3* db_ = nullptr;  // SQLite; null once released.
  pg_conn* pg_ = nullptr;  // PostgreSQL; null once released.
};

}  // namespace observer::testing

#endif  // OBSERVER_TESTS_HARNESS_STORE_FILE_H_
