#include "registry-service/src/storage/pg_db.h"

#include <endian.h>

#include <cstring>
#include <optional>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/errors.h"
#include "common/status_macros.h"

namespace observer::registry::pg {
namespace {

// Type OIDs of the parameters we send (pg_type.h; stable across PostgreSQL versions).
constexpr unsigned int kInt8Oid = 20;
constexpr unsigned int kTextOid = 25;
constexpr unsigned int kByteaOid = 17;

}  // namespace

Param Param::Int(int64_t value) {
  Param p(kInt8Oid, {}, false);
  const uint64_t big = htobe64(static_cast<uint64_t>(value));
  std::memcpy(p.int_bytes_, &big, sizeof(big));
  return p;
}
Param Param::Text(absl::string_view text) { return Param(kTextOid, text, false); }
Param Param::Bytes(absl::string_view bytes) { return Param(kByteaOid, bytes, false); }
Param Param::NullText() { return Param(kTextOid, {}, true); }

const char* Param::data() const {
  if (is_null_) return nullptr;
  if (type_ == kInt8Oid) return int_bytes_;
  // A non-null empty value must not be sent as a null pointer (libpq would send NULL).
  return view_.data() == nullptr ? "" : view_.data();
}
int Param::length() const {
  return type_ == kInt8Oid ? static_cast<int>(sizeof(int_bytes_)) : static_cast<int>(view_.size());
}

Result::Result(Result&& other) noexcept : result_(std::exchange(other.result_, nullptr)) {}
Result& Result::operator=(Result&& other) noexcept {
  if (this != &other) {
    if (result_ != nullptr) PQclear(result_);
    result_ = std::exchange(other.result_, nullptr);
  }
  return *this;
}
Result::~Result() {
  if (result_ != nullptr) PQclear(result_);
}
int Result::rows() const { return PQntuples(result_); }
bool Result::IsNull(int row, int column) const { return PQgetisnull(result_, row, column) != 0; }
int64_t Result::Int(int row, int column) const {
  if (IsNull(row, column)) return 0;
  uint64_t big = 0;
  if (PQgetlength(result_, row, column) != sizeof(big)) return 0;
  std::memcpy(&big, PQgetvalue(result_, row, column), sizeof(big));
  return static_cast<int64_t>(be64toh(big));
}
absl::string_view Result::Bytes(int row, int column) const {
  return absl::string_view(PQgetvalue(result_, row, column),
                           static_cast<size_t>(PQgetlength(result_, row, column)));
}

absl::Status StatusFromPg(PGconn* conn, const PGresult* result, absl::string_view what) {
  const char* sqlstate = result == nullptr ? nullptr : PQresultErrorField(result, PG_DIAG_SQLSTATE);
  std::string message(result != nullptr ? PQresultErrorMessage(result) : "");
  if (message.empty() && conn != nullptr) message = PQerrorMessage(conn);
  message = std::string(absl::StripAsciiWhitespace(message));
  const std::string text = absl::StrCat(what, ": ", message);
  const absl::string_view state = sqlstate == nullptr ? "" : sqlstate;
  if (state == "23505") {
    return MakeError(absl::StatusCode::kAlreadyExists, reason::kAlreadyExists, text);
  }
  if (state == "55P03" || state == "57014" || state == "40P01" || state == "40001") {
    // Lock timeout, statement timeout, deadlock, serialization failure: retryable.
    return MakeError(absl::StatusCode::kUnavailable, reason::kStoreBusy, text);
  }
  if (state == "53100") {
    return MakeError(absl::StatusCode::kResourceExhausted, reason::kStoreFull, text);
  }
  if (state.empty() || absl::StartsWith(state, "08") || absl::StartsWith(state, "57P") ||
      state == "53300" || (conn != nullptr && PQstatus(conn) != CONNECTION_OK)) {
    // No server answer, a connection exception, the server shutting down, too many
    // connections: the store is unreachable for now.
    return MakeError(absl::StatusCode::kUnavailable, reason::kUnavailable, text);
  }
  return MakeError(absl::StatusCode::kInternal, reason::kStoreError,
                   absl::StrCat(text, " (SQLSTATE ", state, ")"));
}

absl::StatusOr<std::unique_ptr<Connection>> Connection::Open(const std::string& conninfo) {
  PGconn* conn = PQconnectdb(conninfo.c_str());
  if (conn == nullptr) {
    return absl::ResourceExhaustedError("cannot allocate a PostgreSQL connection");
  }
  if (PQstatus(conn) != CONNECTION_OK) {
    absl::Status status = MakeError(absl::StatusCode::kUnavailable, reason::kUnavailable,
                                    absl::StrCat("cannot connect to PostgreSQL: ",
                                                 absl::StripAsciiWhitespace(PQerrorMessage(conn))));
    PQfinish(conn);
    return status;
  }
  return std::unique_ptr<Connection>(new Connection(conn));
}

Connection::~Connection() { PQfinish(conn_); }

bool Connection::ok() const { return PQstatus(conn_) == CONNECTION_OK; }

bool Connection::InTransaction() const {
  const PGTransactionStatusType status = PQtransactionStatus(conn_);
  return status == PQTRANS_INTRANS || status == PQTRANS_INERROR || status == PQTRANS_ACTIVE;
}

absl::Status Connection::Exec(absl::string_view sql) {
  if (pipeline_) return QueryArray(sql, nullptr, 0).status();
  Result result(PQexec(conn_, std::string(sql).c_str()));
  const ExecStatusType status = PQresultStatus(result.raw());
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return absl::OkStatus();
  return StatusFromPg(conn_, result.raw(), sql.substr(0, 60));
}

absl::Status Connection::EnterPipelineMode() {
  if (PQenterPipelineMode(conn_) != 1) {
    return StatusFromPg(conn_, nullptr, "entering pipeline mode");
  }
  pipeline_ = true;
  return absl::OkStatus();
}

absl::Status Connection::Defer(absl::string_view sql, std::initializer_list<Param> params) {
  if (!pipeline_) return QueryArray(sql, params.begin(), static_cast<int>(params.size())).status();
  return Send(sql, params.begin(), static_cast<int>(params.size()));
}

// The parameters as libpq takes them: all binary.
struct Connection::Marshalled {
  Marshalled(const Param* params, int count)
      : types(static_cast<size_t>(count)),
        values(static_cast<size_t>(count)),
        lengths(static_cast<size_t>(count)),
        formats(static_cast<size_t>(count), 1) {
    for (size_t i = 0; i < types.size(); ++i) {
      types[i] = params[i].type();
      values[i] = params[i].data();
      lengths[i] = params[i].length();
    }
  }
  int count() const { return static_cast<int>(types.size()); }
  std::vector<unsigned int> types;
  std::vector<const char*> values;
  std::vector<int> lengths;
  std::vector<int> formats;
};

absl::Status Connection::Send(absl::string_view sql, const Param* params, int count) {
  const Marshalled m(params, count);
  ASSIGN_OR_RETURN(const std::string* name, Prepared(sql, m));
  // libpq copies the parameters into its output buffer here.
  if (PQsendQueryPrepared(conn_, name->c_str(), m.count(), m.values.data(), m.lengths.data(),
                          m.formats.data(), /*resultFormat=*/1) != 1) {
    return StatusFromPg(conn_, nullptr, sql.substr(0, 60));
  }
  ++unread_;
  return absl::OkStatus();
}

absl::StatusOr<const std::string*> Connection::Prepared(absl::string_view sql,
                                                        const Marshalled& m) {
  if (auto it = prepared_.find(sql); it != prepared_.end()) return &it->second;
  std::string name = absl::StrCat("s", prepared_.size());
  if (pipeline_) {
    // Its result is read with the statement's.
    if (PQsendPrepare(conn_, name.c_str(), std::string(sql).c_str(), m.count(), m.types.data()) !=
        1) {
      return StatusFromPg(conn_, nullptr, absl::StrCat("preparing ", sql.substr(0, 60)));
    }
    ++unread_;
  } else {
    Result prepared(
        PQprepare(conn_, name.c_str(), std::string(sql).c_str(), m.count(), m.types.data()));
    if (PQresultStatus(prepared.raw()) != PGRES_COMMAND_OK) {
      return StatusFromPg(conn_, prepared.raw(), absl::StrCat("preparing ", sql.substr(0, 60)));
    }
  }
  return &prepared_.emplace(std::string(sql), std::move(name)).first->second;
}

absl::StatusOr<Result> Connection::Sync(absl::string_view what) {
  if (PQpipelineSync(conn_) != 1) return StatusFromPg(conn_, nullptr, what);
  absl::Status first_error;
  std::optional<Result> last;
  // Each statement gives one result followed by a null; the Sync gives PGRES_PIPELINE_SYNC.
  for (; unread_ > 0; --unread_) {
    Result result(PQgetResult(conn_));
    if (result.raw() == nullptr) {
      unread_ = 0;
      return StatusFromPg(conn_, nullptr, what);  // The connection broke.
    }
    const ExecStatusType status = PQresultStatus(result.raw());
    if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK && first_error.ok()) {
      // PGRES_PIPELINE_ABORTED (skipped after an earlier error) carries no error of its own.
      first_error = StatusFromPg(conn_, result.raw(), what);
    }
    while (PGresult* extra = PQgetResult(conn_)) PQclear(extra);
    last.emplace(std::move(result));
  }
  Result sync(PQgetResult(conn_));
  if (sync.raw() == nullptr || PQresultStatus(sync.raw()) != PGRES_PIPELINE_SYNC) {
    if (first_error.ok()) first_error = StatusFromPg(conn_, sync.raw(), what);
  }
  if (!first_error.ok()) return first_error;
  if (!last.has_value()) return absl::InternalError("a pipeline sync without a statement");
  return std::move(*last);
}

absl::StatusOr<Result> Connection::Query(absl::string_view sql,
                                         std::initializer_list<Param> params) {
  return QueryArray(sql, params.begin(), static_cast<int>(params.size()));
}

absl::StatusOr<Result> Connection::Query(absl::string_view sql, const std::vector<Param>& params) {
  return QueryArray(sql, params.data(), static_cast<int>(params.size()));
}

absl::StatusOr<Result> Connection::QueryArray(absl::string_view sql, const Param* params,
                                              int count) {
  if (pipeline_) {
    RETURN_IF_ERROR(Send(sql, params, count));
    return Sync(sql.substr(0, 60));
  }
  const Marshalled m(params, count);
  ASSIGN_OR_RETURN(const std::string* name, Prepared(sql, m));
  PGresult* raw = PQexecPrepared(conn_, name->c_str(), m.count(), m.values.data(), m.lengths.data(),
                                 m.formats.data(), /*resultFormat=*/1);
  Result result(raw);
  const ExecStatusType status = PQresultStatus(raw);
  if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
    return StatusFromPg(conn_, raw, sql.substr(0, 60));
  }
  return result;
}

}  // namespace observer::registry::pg
