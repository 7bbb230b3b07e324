// A thin RAII layer over libpq: one connection, statements prepared once per connection and
// run with binary parameters and results, and the mapping of PostgreSQL errors (SQLSTATE) to
// our error model.
#ifndef OBSERVER_REGISTRY_STORAGE_PG_DB_H_
#define OBSERVER_REGISTRY_STORAGE_PG_DB_H_

#include <libpq-fe.h>

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace observer::registry::pg {

// One statement parameter, sent in binary. Text and bytes are referenced, not copied: they must
// outlive the call.
class Param {
 public:
  static Param Int(int64_t value);
  static Param Text(absl::string_view text);
  static Param Bytes(absl::string_view bytes);
  // NULL of type text.
  static Param NullText();

  unsigned int type() const { return type_; }
  const char* data() const;
  int length() const;

 private:
  Param(unsigned int type, absl::string_view view, bool is_null)
      : type_(type), view_(view), is_null_(is_null) {}
  unsigned int type_;
  absl::string_view view_;
  bool is_null_;
  char int_bytes_[8] = {};  // Network order, for Int (kept in the object: copies stay valid).
};

// The rows of one statement, in binary format.
class Result {
 public:
  explicit Result(PGresult* result) : result_(result) {}
  Result(Result&& other) noexcept;
  Result(const Result&) = delete;
  Result& operator=(const Result&) = delete;
  Result& operator=(Result&& other) noexcept;
  ~Result();

  int rows() const;
  bool IsNull(int row, int column) const;
  // A bigint (int8) column; 0 for NULL.
  int64_t Int(int row, int column) const;
  // A text or bytea column, as stored.
  absl::string_view Bytes(int row, int column) const;
  std::string Text(int row, int column) const { return std::string(Bytes(row, column)); }
  PGresult* raw() const { return result_; }

 private:
  PGresult* result_;
};

// Maps a failed result (or a connection error when `result` is null) to a status: unique
// violations → ALREADY_EXISTS; lock and statement timeouts → UNAVAILABLE / STORE_BUSY;
// a lost connection, a server shutting down or too many connections → UNAVAILABLE;
// disk full → RESOURCE_EXHAUSTED / STORE_FULL; everything else → INTERNAL / STORE_ERROR.
// `what` says which operation failed.
absl::Status StatusFromPg(PGconn* conn, const PGresult* result, absl::string_view what);

class Connection {
 public:
  // Connects with a libpq connection string or URI (postgresql://...), which also carries TLS
  // (sslmode, sslrootcert, sslcert, sslkey). UNAVAILABLE if the server cannot be reached.
  static absl::StatusOr<std::unique_ptr<Connection>> Open(const std::string& conninfo);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection();

  // Runs `sql` (prepared once per connection and cached by its text) with binary parameters.
  // In pipeline mode, the statements deferred before it run first, in order, in the same round
  // trip, and the first error among them is its error.
  absl::StatusOr<Result> Query(absl::string_view sql, std::initializer_list<Param> params = {});
  absl::StatusOr<Result> Query(absl::string_view sql, const std::vector<Param>& params);
  // Runs statements without parameters (DDL, BEGIN, COMMIT), parsed every time: one or more
  // outside pipeline mode, exactly one in it (then as Query).
  [[nodiscard]] absl::Status Exec(absl::string_view sql);

  // Pipeline mode (libpq's): Defer sends a statement without waiting for its result; the next
  // Query or Exec reads its result (and reports the first error). For a writer whose writes
  // inside a transaction need no answer: one round trip for several statements. Parameters
  // are copied when the statement is sent.
  [[nodiscard]] absl::Status EnterPipelineMode();
  [[nodiscard]] absl::Status Defer(absl::string_view sql, std::initializer_list<Param> params = {});
  // Whether the connection still works (false once the server or the network dropped it).
  bool ok() const;
  // Whether a transaction is open (or failed and waiting for its rollback).
  bool InTransaction() const;

  PGconn* raw() const { return conn_; }

 private:
  explicit Connection(PGconn* conn) : conn_(conn) {}
  absl::StatusOr<Result> QueryArray(absl::string_view sql, const Param* params, int count);
  struct Marshalled;
  // The name of `sql` prepared on this connection (prepared now if new).
  absl::StatusOr<const std::string*> Prepared(absl::string_view sql, const Marshalled& m);
  // Sends `sql` (preparing it first if new) without reading anything: pipeline mode only.
  absl::Status Send(absl::string_view sql, const Param* params, int count);
  // Pipeline mode: a Sync, then the results of everything sent since the last one; the last
  // statement's result, or the first error.
  absl::StatusOr<Result> Sync(absl::string_view what);

  PGconn* conn_;
  bool pipeline_ = false;
  int unread_ = 0;  // Pipeline mode: statements (and preparations) sent, results not read.
  absl::flat_hash_map<std::string, std::string> prepared_;  // SQL → statement name.
};

}  // namespace observer::registry::pg

#endif  // OBSERVER_REGISTRY_STORAGE_PG_DB_H_
