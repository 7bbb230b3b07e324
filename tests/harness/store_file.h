// The registry's SQLite store file seen from outside the service, as an operator's tools would
// see it: SQLite's integrity check, and the write lock held by another connection (a backup
// tool, an operator's sqlite3 shell) while the registry keeps running.
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

namespace observer::testing {

// `PRAGMA integrity_check` of the SQLite file at `path`, opened read-only: "ok" when sound,
// else what it reports (rows joined with "; "), or why the file could not be opened or checked.
std::string IntegrityCheck(const std::string& path);

// The write lock of the SQLite file at `path`, held by a connection of its own ("BEGIN
// IMMEDIATE", nothing written) until Release() or destruction, which commit and close it.
class StoreWriteLock {
 public:
  // Opens the existing file read-write and takes the lock, waiting up to `busy_timeout` for a
  // writer that holds it (zero: fail at once with SQLITE_BUSY). An error names the file and
  // what SQLite said.
  static absl::StatusOr<std::unique_ptr<StoreWriteLock>> Acquire(const std::string& path,
                                                                 absl::Duration busy_timeout);
  ~StoreWriteLock();  // Release() if not yet released.
  StoreWriteLock(const StoreWriteLock&) = delete;
  StoreWriteLock& operator=(const StoreWriteLock&) = delete;

  // COMMIT (of nothing) and close: the lock is free again. An error if either fails (the
  // connection is closed anyway, which also frees the lock); OK if already released.
  absl::Status Release();

 private:
  StoreWriteLock(std::string path, sqlite3* db) : path_(std::move(path)), db_(db) {}

  const std::string path_;
  sqlite3* db_;  // Null once released.
};

}  // namespace observer::testing

#endif  // OBSERVER_TESTS_HARNESS_STORE_FILE_H_
