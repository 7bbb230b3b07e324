#include "tests/harness/store_file.h"

#include <sqlite3.h>

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace observer::testing {

std::string IntegrityCheck(const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    std::string error = db != nullptr ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return absl::StrCat("cannot open ", path, ": ", error);
  }
  std::vector<std::string> rows;
  char* error = nullptr;
  const int rc = sqlite3_exec(
      db, "PRAGMA integrity_check",
      [](void* out, int n, char** values, char**) {
        for (int i = 0; i < n; ++i) {
          static_cast<std::vector<std::string>*>(out)->push_back(values[i] ? values[i] : "NULL");
        }
        return 0;
      },
      &rows, &error);
  std::string result =
      rc == SQLITE_OK
          ? absl::StrJoin(rows, "; ")
          : absl::StrCat("integrity_check failed: ", error != nullptr ? error : sqlite3_errstr(rc));
  sqlite3_free(error);
  sqlite3_close(db);
  return result;
}

absl::StatusOr<std::unique_ptr<StoreWriteLock>> StoreWriteLock::Acquire(
    const std::string& path, absl::Duration busy_timeout) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
    std::string error = db != nullptr ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return absl::InternalError(absl::StrCat("cannot open ", path, ": ", error));
  }
  sqlite3_busy_timeout(db, static_cast<int>(absl::ToInt64Milliseconds(busy_timeout)));
  if (sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK) {
    std::string error = sqlite3_errmsg(db);
    sqlite3_close(db);
    return absl::UnavailableError(
        absl::StrCat("cannot take the write lock of ", path, ": ", error));
  }
  return std::unique_ptr<StoreWriteLock>(new StoreWriteLock(path, db));
}

StoreWriteLock::~StoreWriteLock() { (void)Release(); }

absl::Status StoreWriteLock::Release() {
  if (db_ == nullptr) return absl::OkStatus();
  absl::Status status;
  if (sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
    status = absl::InternalError(absl::StrCat("COMMIT on ", path_, ": ", sqlite3_errmsg(db_)));
  }
  // Closing ends the transaction in any case (a failed COMMIT is rolled back).
  if (const int rc = sqlite3_close(db_); rc != SQLITE_OK && status.ok()) {
    status = absl::InternalError(absl::StrCat("close of ", path_, ": ", sqlite3_errstr(rc)));
  }
  db_ = nullptr;
  return status;
}

}  // namespace observer::testing
