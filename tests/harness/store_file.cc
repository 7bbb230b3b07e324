#include "tests/harness/store_file.h"

#include <libpq-fe.h>
#include <sqlite3.h>

#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"

namespace observer::testing {
namespace {

// The revision lock of the PostgreSQL store at `url`: its state row, FOR UPDATE in a
// transaction left open (as PostgresStore::BeginGroup takes it).
absl::StatusOr<PGconn*> LockPostgres(const std::string& url, absl::Duration busy_timeout) {
  PGconn* conn = PQconnectdb(url.c_str());
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string error = PQerrorMessage(conn);
    PQfinish(conn);
    return absl::InternalError(absl::StrCat("cannot connect to ", url, ": ", error));
  }
  const int64_t ms = absl::ToInt64Milliseconds(busy_timeout);
  const std::string sql =
      ms > 0 ? absl::StrCat("BEGIN; SET LOCAL lock_timeout = '", ms,
                            "ms'; SELECT head_revision FROM store_state FOR UPDATE")
             : "BEGIN; SELECT head_revision FROM store_state FOR UPDATE NOWAIT";
  PGresult* result = PQexec(conn, sql.c_str());
  const bool locked = PQresultStatus(result) == PGRES_TUPLES_OK;
  std::string error = locked ? "" : PQresultErrorMessage(result);
  PQclear(result);
  if (!locked) {
    PQfinish(conn);
    return absl::UnavailableError(
        absl::StrCat("cannot take the revision lock of ", url, ": ", error));
  }
  return conn;
}

}  // namespace

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
    const std::string& store, absl::Duration busy_timeout) {
  if (absl::StartsWith(store, "postgresql://") || absl::StartsWith(store, "postgres://")) {
    absl::StatusOr<PGconn*> conn = LockPostgres(store, busy_timeout);
    if (!conn.ok()) return conn.status();
    return std::unique_ptr<StoreWriteLock>(new StoreWriteLock(store, *conn));
  }
  const std::string path(absl::StripPrefix(store, "sqlite://"));
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
  if (pg_ != nullptr) {
    absl::Status status;
    PGresult* result = PQexec(pg_, "COMMIT");
    if (PQresultStatus(result) != PGRES_COMMAND_OK) {
      status = absl::InternalError(
          absl::StrCat("COMMIT on ", path_, ": ", PQresultErrorMessage(result)));
    }
    PQclear(result);
    PQfinish(pg_);  // Ends the transaction in any case.
    pg_ = nullptr;
    return status;
  }
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
