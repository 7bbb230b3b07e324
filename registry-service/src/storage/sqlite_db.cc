#include "registry-service/src/storage/sqlite_db.h"

#include "absl/strings/str_cat.h"
#include "common/errors.h"

namespace observer::registry::sqlite {

absl::Status StatusFromSqlite(int rc, sqlite3* db, absl::string_view what) {
  const std::string detail = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  const std::string message = absl::StrCat(what, ": ", detail);
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return MakeError(absl::StatusCode::kUnavailable, reason::kStoreBusy,
                       absl::StrCat("the store is locked by another writer, retry: ", message));
    case SQLITE_CONSTRAINT:
      return MakeError(absl::StatusCode::kAlreadyExists, reason::kAlreadyExists,
                       absl::StrCat("a unique key is already taken: ", message));
    case SQLITE_FULL:
      return MakeError(absl::StatusCode::kResourceExhausted, reason::kStoreFull,
                       absl::StrCat("the store is full: ", message));
    default:
      return MakeError(absl::StatusCode::kInternal, reason::kStoreError, message);
  }
}

Statement::~Statement() {
  if (stmt_ != nullptr && owned_) {
    sqlite3_finalize(stmt_);
  } else if (stmt_ != nullptr) {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
}

Statement& Statement::Bind(int index, int64_t value) {
  sqlite3_bind_int64(stmt_, index, value);
  return *this;
}

Statement& Statement::Bind(int index, absl::string_view text) {
  sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  return *this;
}

Statement& Statement::BindBlob(int index, absl::string_view bytes) {
  sqlite3_bind_blob(stmt_, index, bytes.data(), static_cast<int>(bytes.size()), SQLITE_TRANSIENT);
  return *this;
}

Statement& Statement::BindNull(int index) {
  sqlite3_bind_null(stmt_, index);
  return *this;
}

absl::StatusOr<bool> Statement::Step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return StatusFromSqlite(rc, sqlite3_db_handle(stmt_), sqlite3_sql(stmt_));
}

absl::Status Statement::Run() {
  auto row = Step();
  if (!row.ok()) return row.status();
  return absl::OkStatus();
}

int64_t Statement::Int(int column) const { return sqlite3_column_int64(stmt_, column); }

std::string Statement::Text(int column) const {
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
  return text == nullptr ? std::string() : std::string(text, sqlite3_column_bytes(stmt_, column));
}

absl::string_view Statement::Blob(int column) const {
  const void* data = sqlite3_column_blob(stmt_, column);
  if (data == nullptr) return {};
  return absl::string_view(static_cast<const char*>(data), sqlite3_column_bytes(stmt_, column));
}

bool Statement::IsNull(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

absl::StatusOr<std::unique_ptr<Connection>> Connection::Open(const std::string& path, bool create,
                                                             bool read_only) {
  int flags = SQLITE_OPEN_NOMUTEX;
  flags |= read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
  if (create && !read_only) flags |= SQLITE_OPEN_CREATE;
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    absl::Status status = StatusFromSqlite(rc, db, absl::StrCat("cannot open ", path));
    sqlite3_close(db);
    return status;
  }
  sqlite3_extended_result_codes(db, 1);
  return std::unique_ptr<Connection>(new Connection(db));
}

Connection::~Connection() {
  for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
  sqlite3_close(db_);
}

absl::StatusOr<Statement> Connection::Prepare(absl::string_view sql) {
  auto it = cache_.find(sql);
  if (it != cache_.end()) return Statement(it->second);
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                    SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) return StatusFromSqlite(rc, db_, absl::StrCat("prepare ", sql));
  cache_.emplace(std::string(sql), stmt);
  return Statement(stmt);
}

absl::StatusOr<Statement> Connection::PrepareOnce(absl::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
  if (rc != SQLITE_OK) return StatusFromSqlite(rc, db_, absl::StrCat("prepare ", sql));
  return Statement(stmt, /*owned=*/true);
}

absl::Status Connection::Run(absl::string_view sql) {
  auto stmt = Prepare(sql);
  if (!stmt.ok()) return stmt.status();
  return stmt->Run();
}

absl::Status Connection::Exec(absl::string_view sql) {
  char* error = nullptr;
  const int rc = sqlite3_exec(db_, std::string(sql).c_str(), nullptr, nullptr, &error);
  if (rc == SQLITE_OK) return absl::OkStatus();
  absl::Status status = StatusFromSqlite(rc, db_, sql);
  sqlite3_free(error);
  return status;
}

absl::StatusOr<Statement> Connection::QueryRow(absl::string_view sql) {
  auto stmt = Prepare(sql);
  if (!stmt.ok()) return stmt.status();
  auto row = stmt->Step();
  if (!row.ok()) return row.status();
  if (!*row) {
    return MakeError(absl::StatusCode::kInternal, reason::kStoreError,
                     absl::StrCat("no row: ", sql));
  }
  return stmt;
}

absl::StatusOr<int64_t> Connection::QueryInt(absl::string_view sql) {
  auto stmt = QueryRow(sql);
  if (!stmt.ok()) return stmt.status();
  return stmt->Int(0);
}

absl::StatusOr<std::string> Connection::QueryText(absl::string_view sql) {
  auto stmt = QueryRow(sql);
  if (!stmt.ok()) return stmt.status();
  return stmt->Text(0);
}

}  // namespace observer::registry::sqlite
