// A thin RAII layer over the SQLite C API: one connection, cached prepared statements, and
// the mapping of SQLite result codes to our error model.
#ifndef OBSERVER_REGISTRY_STORAGE_SQLITE_DB_H_
#define OBSERVER_REGISTRY_STORAGE_SQLITE_DB_H_

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace observer::registry::sqlite {

// Maps an SQLite result code to a status: BUSY/LOCKED → UNAVAILABLE (retryable), FULL →
// RESOURCE_EXHAUSTED, CONSTRAINT → ALREADY_EXISTS, everything else → INTERNAL. `what` says which
// operation failed.
absl::Status StatusFromSqlite(int rc, sqlite3* db, absl::string_view what);

// A prepared statement, reset on destruction so a cached statement can be reused.
class Statement {
 public:
  // `owned`: finalized on destruction instead of reset for reuse.
  explicit Statement(sqlite3_stmt* stmt, bool owned = false) : stmt_(stmt), owned_(owned) {}
  Statement(Statement&& other) noexcept
      : stmt_(std::exchange(other.stmt_, nullptr)), owned_(other.owned_) {}
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  Statement& operator=(Statement&&) = delete;
  ~Statement();

  Statement& Bind(int index, int64_t value);
  Statement& Bind(int index, absl::string_view text);
  Statement& BindBlob(int index, absl::string_view bytes);
  Statement& BindNull(int index);

  // Advances to the next row: true with a row, false when done, or an error.
  absl::StatusOr<bool> Step();
  // Runs a statement that returns no rows.
  [[nodiscard]] absl::Status Run();

  int64_t Int(int column) const;
  std::string Text(int column) const;
  absl::string_view Blob(int column) const;
  bool IsNull(int column) const;

 private:
  sqlite3_stmt* stmt_;
  bool owned_;
};

class Connection {
 public:
  // Opens (creating if `create`) the database file. Read-only connections cannot write.
  static absl::StatusOr<std::unique_ptr<Connection>> Open(const std::string& path, bool create,
                                                          bool read_only);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection();

  // A cached prepared statement for `sql` (the SQL text is the cache key).
  absl::StatusOr<Statement> Prepare(absl::string_view sql);
  // A statement prepared for one use, for SQL built at run time.
  absl::StatusOr<Statement> PrepareOnce(absl::string_view sql);
  // Runs one cached statement without results (e.g. BEGIN, SAVEPOINT, COMMIT).
  [[nodiscard]] absl::Status Run(absl::string_view sql);
  // Runs one or more statements without results (DDL, PRAGMA), parsing them every time.
  [[nodiscard]] absl::Status Exec(absl::string_view sql);
  // The first column of the first row of `sql` as an integer.
  absl::StatusOr<int64_t> QueryInt(absl::string_view sql);
  absl::StatusOr<std::string> QueryText(absl::string_view sql);

  sqlite3* raw() const { return db_; }

 private:
  explicit Connection(sqlite3* db) : db_(db) {}
  // The cached statement for `sql`, stepped to its first row (INTERNAL if there is none).
  absl::StatusOr<Statement> QueryRow(absl::string_view sql);

  sqlite3* db_;
  absl::flat_hash_map<std::string, sqlite3_stmt*> cache_;  // Prepared statements by SQL.
};

}  // namespace observer::registry::sqlite

#endif  // OBSERVER_REGISTRY_STORAGE_SQLITE_DB_H_
