// `import FILE.csv`: a foreign ministry's submission (or an export), one observer per row.
//
// Phases: read and parse the file (file-level problems are usage errors); check every row
// locally and then with the registry (BatchCreateObservers with validate_only); create the rows
// in batches whose request_ids derive from their content; then apply the status columns. A
// person whose identity document is already registered in the election is "already registered"
// and never created twice, so a re-run after a crash or after fixing bad rows is safe.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "common/digest.h"
#include "common/errors.h"
#include "common/personal_data.h"
#include "common/proto_time.h"
#include "tools/observerctl/commands.h"
#include "tools/observerctl/csv.h"
#include "tools/observerctl/observer_columns.h"
#include "tools/observerctl/progress.h"
#include "tools/observerctl/values.h"

namespace observer::ctl {
namespace {

namespace v1 = ::observer::registry::v1;
using Stub = v1::RegistryService::Stub;

constexpr int kDefaultBatchSize = 500;
constexpr int kMaxBatchSize = 1000;
constexpr int kDecisionThreads = 8;
// Batches sent at once while checking and creating: the registry checks or writes one while
// the next travels and is parsed.
constexpr int kBatchesInFlight = 4;

struct Problem {
  std::string column;  // "-" when the problem is the row as a whole.
  std::string message;
};

struct Row {
  enum class State { kPending, kRefused, kCreated, kExisting };
  int number = 0;  // 1-based, after the header.
  int line = 0;
  v1::Observer submission;  // The submission columns.
  v1::Observer decision;    // The status columns (status, badge, decision time, reference, reason).
  std::string content;      // The row's cells, canonical, for request ids.
  State state = State::kPending;
  std::string name;  // The record created or already registered.
  std::vector<Problem> problems;
  bool decided = false;

  void Refuse(std::string column, std::string message) {
    state = State::kRefused;
    problems.push_back({std::move(column), std::move(message)});
  }
};

// The row problems of a registry answer: one per field violation, or the message.
void RefuseFromStatus(Row& row, absl::string_view code, absl::string_view message,
                      const std::vector<std::pair<std::string, std::string>>& violations) {
  if (violations.empty()) {
    row.Refuse("-", absl::StrCat(message, " (", code, ")"));
    return;
  }
  for (const auto& [field, description] : violations) {
    row.Refuse(ColumnForField(field), absl::StrCat(description, " (", code, ")"));
  }
}

class Importer {
 public:
  Importer(const Invocation& inv, Connection& conn) : inv_(inv), conn_(conn) {}

  int Run() {
    const std::string path = inv_.args[0];
    election_ = ElectionName(inv_.Get("election"));
    skip_bad_rows_ = inv_.IsSet("skip-bad-rows");
    dry_run_ = inv_.IsSet("dry-run");
    if (const std::string size = inv_.Get("batch-size"); !size.empty()) {
      if (!absl::SimpleAtoi(size, &batch_size_) || batch_size_ < 1 || batch_size_ > kMaxBatchSize) {
        return UsageError(
            absl::StrCat("--batch-size: '", size, "' is not a number from 1 to ", kMaxBatchSize));
      }
    }
    if (!absl::SimpleAtoi(inv_.Get("max-errors"), &max_errors_) || max_errors_ < 0) {
      return UsageError(
          absl::StrCat("--max-errors: '", inv_.Get("max-errors"), "' is not a number >= 0"));
    }
    const std::string progress = inv_.Get("progress");
    if (progress != "auto" && progress != "always" && progress != "never") {
      return UsageError(
          absl::StrCat("--progress: '", progress, "' is not one of: auto, always, never"));
    }
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    if (!in || !(text << in.rdbuf())) {
      if (in && in.peek() == std::ifstream::traits_type::eof()) {
        return UsageError(absl::StrCat(path, ": the file is empty"));
      }
      return UsageError(absl::StrCat(path, ": cannot read the file"));
    }
    if (int code = ReadRows(path, text.str()); code != kExitOk) return code;

    progress_ = std::make_unique<Progress>(std::cerr,
                                           Progress::ModeFor(progress, isatty(STDERR_FILENO) == 1),
                                           "import", static_cast<int64_t>(rows_.size()));

    v1::GetElectionRequest get;
    get.set_name(election_);
    v1::GetElectionResponse election;
    if (!conn_.Call(Service::kRegistry, "GetElection", &Stub::GetElection, get, &election).ok()) {
      return kExitFailed;
    }
    start_revision_ = election.revision();
    CheckDecisions(election.election());

    if (!Check()) return kExitFailed;
    if (dry_run_ || (Refused() > 0 && !skip_bad_rows_)) return Report();
    if (!Create()) {
      Report();
      return kExitFailed;
    }
    if (!Decide()) {
      Report();
      return kExitFailed;
    }
    return Report();
  }

 private:
  // Parses the file into rows; file-level problems are usage errors.
  int ReadRows(const std::string& path, const std::string& text) {
    absl::StatusOr<std::vector<CsvRecord>> records = ParseCsv(text);
    if (!records.ok()) return UsageError(absl::StrCat(path, ": ", records.status().message()));
    if (records->empty()) return UsageError(absl::StrCat(path, ": the file has no header row"));
    const std::vector<std::string>& header = (*records)[0].fields;
    std::vector<const ObserverColumn*> columns;
    std::set<std::string> seen;
    for (const std::string& raw : header) {
      const std::string name =
          absl::AsciiStrToLower(absl::StrReplaceAll(absl::StripAsciiWhitespace(raw), {{"-", "_"}}));
      const ObserverColumn* column = FindObserverColumn(name);
      if (column == nullptr) {
        std::vector<std::string> known;
        for (const ObserverColumn& c : ObserverColumns()) known.emplace_back(c.name);
        return UsageError(absl::StrCat(
            path, ": unknown column '", raw,
            "' in the header (line 1); the columns are: ", absl::StrJoin(known, ", ")));
      }
      if (!seen.insert(name).second) {
        return UsageError(absl::StrCat(path, ": column '", name, "' appears twice in the header"));
      }
      columns.push_back(column);
    }
    for (const ObserverColumn& c : ObserverColumns()) {
      if (c.required && seen.count(std::string(c.name)) == 0) {
        return UsageError(absl::StrCat(path, ": the header has no column '", c.name, "'"));
      }
    }
    if (seen.count("organisation") == 0 && seen.count("state") == 0) {
      return UsageError(
          absl::StrCat(path, ": the header needs a column 'organisation' or 'state' (or both)"));
    }
    std::map<std::string, int> documents;  // Document key → row number.
    std::map<std::string, int> badges;
    for (std::size_t r = 1; r < records->size(); ++r) {
      const CsvRecord& record = (*records)[r];
      Row row;
      row.number = static_cast<int>(r);
      row.line = record.line;
      row.content = CsvLine(record.fields);
      if (record.fields.size() != columns.size()) {
        row.Refuse("-", absl::StrCat("has ", record.fields.size(), " fields; the header has ",
                                     columns.size()));
        rows_.push_back(std::move(row));
        continue;
      }
      for (std::size_t i = 0; i < columns.size(); ++i) {
        const ObserverColumn& c = *columns[i];
        if (c.kind == ColumnKind::kExportOnly) continue;
        v1::Observer& target = c.kind == ColumnKind::kDecision ? row.decision : row.submission;
        if (absl::Status s = c.set(target, record.fields[i]); !s.ok()) {
          row.Refuse(std::string(c.name), std::string(s.message()));
        }
      }
      if (row.state == Row::State::kPending && row.submission.has_id_document()) {
        auto [it, fresh] = documents.emplace(DocumentKey(row.submission.id_document()), row.number);
        if (!fresh) {
          row.Refuse("id_number", absl::StrCat("the same identity document as row ", it->second));
        }
      }
      if (const std::string& badge = row.decision.badge_number(); !badge.empty()) {
        auto [it, fresh] = badges.emplace(badge, row.number);
        if (!fresh) {
          row.Refuse("badge_number", absl::StrCat("the same badge number as row ", it->second));
        }
      }
      rows_.push_back(std::move(row));
    }
    if (rows_.empty()) return UsageError(absl::StrCat(path, ": the file has no data rows"));
    return kExitOk;
  }

  // The status columns the registry would only check after the records exist.
  void CheckDecisions(const v1::Election& election) {
    const absl::Time deadline = FromProto(election.accreditation_deadline());
    const absl::Time now = absl::Now();
    for (Row& row : rows_) {
      const v1::Observer& d = row.decision;
      const v1::ObserverStatus status = d.status();
      if (status == v1::OBSERVER_STATUS_UNSPECIFIED || status == v1::OBSERVER_STATUS_SUBMITTED) {
        continue;
      }
      if ((status == v1::OBSERVER_STATUS_SUSPENDED || status == v1::OBSERVER_STATUS_WITHDRAWN) &&
          d.status_reason().empty()) {
        row.Refuse("status_reason", absl::StrCat("is required with status ", EnumText(status)));
      }
      if (d.has_decision_time()) {
        const absl::Time t = FromProto(d.decision_time());
        if (t > now) row.Refuse("decision_time", "is in the future");
        if ((status == v1::OBSERVER_STATUS_ACCREDITED || status == v1::OBSERVER_STATUS_REJECTED) &&
            t > deadline) {
          row.Refuse("decision_time",
                     absl::StrCat("is after the accreditation deadline ", FormatUtc(deadline)));
        }
      }
    }
  }

  int64_t Refused() const {
    return std::count_if(rows_.begin(), rows_.end(),
                         [](const Row& r) { return r.state == Row::State::kRefused; });
  }

  std::vector<Row*> RowsIn(Row::State state) {
    std::vector<Row*> out;
    for (Row& r : rows_) {
      if (r.state == state) out.push_back(&r);
    }
    return out;
  }

  // Applies one row's result: created, already registered, or refused with its problems.
  void ApplyRowResult(Row& row, const v1::BatchCreateObserversResponse::Result& result,
                      bool validating) {
    const v1::BatchRowStatus& s = result.status();
    if (s.code() == 0) {
      if (validating) return;
      row.name = result.observer().name();
      // A replayed batch (same request_id, e.g. a re-run after a crash) answers with records
      // created before this run began.
      row.state = result.observer().revision() <= start_revision_ ? Row::State::kExisting
                                                                  : Row::State::kCreated;
      return;
    }
    if (s.reason() == reason::kDuplicateIdDocument && s.metadata().count("existing") > 0) {
      row.state = Row::State::kExisting;
      row.name = s.metadata().at("existing");
      return;
    }
    std::vector<std::pair<std::string, std::string>> violations;
    for (const auto& v : s.field_violations()) violations.emplace_back(v.field(), v.description());
    RefuseFromStatus(row, absl::StatusCodeToString(static_cast<absl::StatusCode>(s.code())),
                     s.message(), violations);
  }

  // A call-level refusal of a batch: the row it names is refused. False if it names no row
  // (the whole call failed: reported, and the import stops).
  bool ApplyCallError(const std::vector<Row*>& rows, std::size_t begin, std::size_t end,
                      const absl::Status& status) {
    const ErrorDetails d = GetErrorDetails(status);
    std::map<std::size_t, std::vector<std::pair<std::string, std::string>>> by_row;
    for (const auto& v : d.violations) {
      std::size_t index = 0;
      if (absl::StartsWith(v.field, "requests[") &&
          absl::SimpleAtoi(v.field.substr(9, v.field.find(']') - 9), &index) &&
          begin + index < end) {
        by_row[begin + index].emplace_back(v.field, v.description);
      }
    }
    if (by_row.empty()) return false;
    for (auto& [index, violations] : by_row) {
      RefuseFromStatus(*rows[index], absl::StatusCodeToString(status.code()), status.message(),
                       violations);
    }
    return true;
  }

  // Sends rows [begin, end) as one batch and applies the rows' results. On a refusal of the
  // whole call, the rows it names are refused; `*named_rows` says whether it named any.
  absl::Status SendBatch(const std::vector<Row*>& rows, std::size_t begin, std::size_t end,
                         v1::BatchCreateObserversRequest req, bool* named_rows) {
    req.set_parent(election_);
    for (std::size_t i = begin; i < end; ++i) {
      *req.add_requests()->mutable_observer() = rows[i]->submission;
    }
    v1::BatchCreateObserversResponse resp;
    absl::Status s = conn_.Unary(&Stub::BatchCreateObservers, req, &resp);
    *named_rows = false;
    if (!s.ok()) {
      *named_rows = ApplyCallError(rows, begin, end, s);
      return s;
    }
    if (resp.results_size() != static_cast<int>(end - begin)) {
      return absl::InternalError(absl::StrCat("the registry answered ", resp.results_size(),
                                              " results for ", end - begin, " rows"));
    }
    for (std::size_t i = begin; i < end; ++i) {
      ApplyRowResult(*rows[i], resp.results(static_cast<int>(i - begin)), req.validate_only());
    }
    return absl::OkStatus();
  }

  // Runs work(i) for i = 0, 1, ... count-1 on `threads` threads, handing out items in order,
  // until every item ran or one returned false (the items already running finish). Shows the
  // progress counted in `done` meanwhile. False if an item returned false.
  bool InParallel(std::size_t count, int threads, const std::atomic<int64_t>& done,
                  const std::function<bool(std::size_t)>& work) {
    std::atomic<std::size_t> next{0};
    std::atomic<bool> stopped{false};
    std::atomic<int> running{threads};
    auto loop = [&]() {
      for (std::size_t i = next++; i < count && !stopped; i = next++) {
        if (!work(i)) stopped = true;
      }
      --running;
    };
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) pool.emplace_back(loop);
    while (running > 0) {
      progress_->Update(done);
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    for (std::thread& t : pool) t.join();
    progress_->Update(done);
    progress_->Finish();
    return !stopped;
  }

  std::size_t BatchCount(std::size_t rows) const {
    const auto size = static_cast<std::size_t>(batch_size_);
    return (rows + size - 1) / size;
  }

  // Checks every pending row with the registry (validate_only): nothing is created. Batches
  // are independent (rows repeated across the file were refused while reading it), so several
  // are in flight at once.
  bool Check() {
    const std::vector<Row*> rows = RowsIn(Row::State::kPending);
    progress_->Phase("checking", static_cast<int64_t>(rows.size()));
    std::atomic<int64_t> done{0};
    std::mutex mu;
    bool reported = false;  // The first batch that failed as a whole is reported, once.
    const auto size = static_cast<std::size_t>(batch_size_);
    return InParallel(BatchCount(rows.size()), kBatchesInFlight, done, [&](std::size_t b) {
      std::vector<Row*> batch(
          rows.begin() + static_cast<std::ptrdiff_t>(b * size),
          rows.begin() + static_cast<std::ptrdiff_t>(std::min(rows.size(), (b + 1) * size)));
      const auto batch_rows = static_cast<int64_t>(batch.size());
      v1::BatchCreateObserversRequest req;
      req.set_validate_only(true);
      while (!batch.empty()) {
        bool named_rows = false;
        absl::Status s = SendBatch(batch, 0, batch.size(), req, &named_rows);
        if (s.ok()) break;
        if (!named_rows) {
          std::lock_guard<std::mutex> lock(mu);
          if (!std::exchange(reported, true)) {
            conn_.ReportFailure(Service::kRegistry, "BatchCreateObservers (validate_only)", s);
          }
          return false;
        }
        // The call refused the rows it named: check the others again without them.
        batch.erase(std::remove_if(batch.begin(), batch.end(),
                                   [](const Row* r) { return r->state == Row::State::kRefused; }),
                    batch.end());
      }
      done += batch_rows;
      return true;
    });
  }

  // Creates the pending rows in batches, several in flight; false if the import had to stop.
  bool Create() {
    const std::vector<Row*> rows = RowsIn(Row::State::kPending);
    progress_->Phase("creating", static_cast<int64_t>(rows.size()));
    std::atomic<int64_t> done{0};
    std::mutex mu;
    std::size_t first_failed = rows.size();  // Index of the first row of the first failed batch.
    const auto size = static_cast<std::size_t>(batch_size_);
    const bool ok = InParallel(BatchCount(rows.size()), kBatchesInFlight, done, [&](std::size_t b) {
      const std::size_t begin = b * size;
      const std::size_t end = std::min(rows.size(), begin + size);
      v1::BatchCreateObserversRequest req;
      req.set_all_or_nothing(!skip_bad_rows_);
      std::string content = absl::StrCat(election_, "\n", skip_bad_rows_ ? "skip" : "atomic");
      for (std::size_t i = begin; i < end; ++i) absl::StrAppend(&content, "\n", rows[i]->content);
      req.set_request_id(absl::StrCat("import-", Sha256Hex(content).substr(0, 40)));
      bool named_rows = false;
      if (absl::Status s = SendBatch(rows, begin, end, req, &named_rows); !s.ok()) {
        std::lock_guard<std::mutex> lock(mu);
        if (begin < first_failed) {
          first_failed = begin;
          if (!named_rows) conn_.ReportFailure(Service::kRegistry, "BatchCreateObservers", s);
        }
        return false;
      }
      done += static_cast<int64_t>(end - begin);
      return true;
    });
    if (!ok) {
      std::cerr << "import stopped at row " << rows[first_failed]->number
                << ": rows of other batches may be created; running the same import again "
                   "creates nothing twice\n";
    }
    return ok;
  }

  // One status change of a row; `step` names it in the request id. Counts the changes made by
  // this run (a replayed request answers with a revision from before the run).
  template <typename Request, typename Response>
  absl::Status Transition(const Row& row, absl::string_view step,
                          grpc::Status (Stub::*fn)(grpc::ClientContext*, const Request&, Response*),
                          Request req) {
    req.set_name(row.name);
    req.set_decision_reference(row.decision.decision_reference());
    req.set_request_id(absl::StrCat(
        "import-",
        Sha256Hex(absl::StrCat(election_, "\n", step, "\n", row.content)).substr(0, 40)));
    Response resp;
    absl::Status s = conn_.Unary(fn, req, &resp);
    if (s.ok() && resp.observer().revision() > start_revision_) ++changes_;
    return s;
  }

  // Brings a created or already registered row to the status of its status column.
  absl::Status DecideRow(const Row& row) {
    const v1::Observer& d = row.decision;
    const v1::ObserverStatus target = d.status();
    if (row.state == Row::State::kExisting) {
      v1::GetObserverRequest get;
      get.set_name(row.name);
      v1::GetObserverResponse current;
      absl::Status s = conn_.Unary(&Stub::GetObserver, get, &current);
      if (!s.ok()) return s;
      if (current.observer().status() == target) return absl::OkStatus();
      if (current.observer().status() != v1::OBSERVER_STATUS_SUBMITTED) {
        return absl::FailedPreconditionError(
            absl::StrCat("the registered record is ", EnumText(current.observer().status()),
                         ", not ", EnumText(target), "; change it with the observer commands"));
      }
    }
    if (target == v1::OBSERVER_STATUS_REJECTED) {
      v1::RejectObserverRequest req;
      *req.mutable_decision_time() = d.decision_time();
      req.set_reason(d.status_reason());
      return Transition(row, "reject", &Stub::RejectObserver, req);
    }
    // Accredited first: at the decision time, or (when a later decision followed) at the time
    // the submission was received, the only earlier instant the file knows.
    v1::AccreditObserverRequest accredit;
    accredit.set_badge_number(d.badge_number());
    if (target == v1::OBSERVER_STATUS_ACCREDITED) {
      *accredit.mutable_decision_time() = d.decision_time();
    } else if (row.submission.has_received_time()) {
      *accredit.mutable_decision_time() = row.submission.received_time();
    }
    if (absl::Status s = Transition(row, "accredit", &Stub::AccreditObserver, accredit); !s.ok()) {
      return s;
    }
    if (target == v1::OBSERVER_STATUS_SUSPENDED) {
      v1::SuspendObserverRequest req;
      *req.mutable_decision_time() = d.decision_time();
      req.set_reason(d.status_reason());
      return Transition(row, "suspend", &Stub::SuspendObserver, req);
    }
    if (target == v1::OBSERVER_STATUS_WITHDRAWN) {
      v1::WithdrawObserverRequest req;
      *req.mutable_decision_time() = d.decision_time();
      req.set_reason(d.status_reason());
      return Transition(row, "withdraw", &Stub::WithdrawObserver, req);
    }
    return absl::OkStatus();
  }

  // Applies the status columns, several rows at a time.
  bool Decide() {
    std::vector<Row*> rows;
    for (Row& r : rows_) {
      const v1::ObserverStatus s = r.decision.status();
      if ((r.state == Row::State::kCreated || r.state == Row::State::kExisting) &&
          s != v1::OBSERVER_STATUS_UNSPECIFIED && s != v1::OBSERVER_STATUS_SUBMITTED) {
        rows.push_back(&r);
      }
    }
    if (rows.empty()) return true;
    progress_->Phase("deciding", static_cast<int64_t>(rows.size()));
    std::atomic<int64_t> done{0};
    std::atomic<bool> unreachable{false};
    std::mutex mu;
    std::vector<std::pair<Row*, absl::Status>> failures;
    InParallel(rows.size(), kDecisionThreads, done, [&](std::size_t i) {
      absl::Status s = DecideRow(*rows[i]);
      ++done;
      if (s.ok()) {
        rows[i]->decided = true;
        return true;
      }
      if (s.code() == absl::StatusCode::kUnavailable) unreachable = true;
      std::lock_guard<std::mutex> lock(mu);
      failures.emplace_back(rows[i], s);
      return !unreachable;
    });
    for (auto& [row, status] : failures) {
      const ErrorDetails d = GetErrorDetails(status);
      const std::string code = absl::StatusCodeToString(status.code());
      if (d.violations.empty()) {
        row->problems.push_back({"status", absl::StrCat(status.message(), " (", code, ")")});
      }
      for (const auto& v : d.violations) {
        row->problems.push_back(
            {ColumnForField(v.field), absl::StrCat(v.description, " (", code, ")")});
      }
      ++undecided_;
    }
    if (unreachable) {
      conn_.ReportFailure(Service::kRegistry, "status change",
                          absl::UnavailableError("the registry stopped answering"));
      return false;
    }
    return true;
  }

  int Report() {
    int64_t created = 0, existing = 0, refused = 0, decided = 0, shown = 0, hidden = 0;
    for (const Row& r : rows_) {
      if (!r.problems.empty() && max_errors_ > 0 && shown >= max_errors_) {
        ++hidden;
      } else if (!r.problems.empty()) {
        ++shown;
        for (const Problem& p : r.problems) {
          std::cout << "row " << r.number << " (line " << r.line
                    << "): " << (p.column == "-" ? "" : absl::StrCat(p.column, ": ")) << p.message
                    << "\n";
        }
      }
      switch (r.state) {
        case Row::State::kCreated:
          ++created;
          break;
        case Row::State::kExisting:
          ++existing;
          break;
        case Row::State::kRefused:
          ++refused;
          break;
        case Row::State::kPending:
          break;
      }
      if (r.decided) ++decided;
    }
    if (hidden > 0) {
      std::cout << "... and " << hidden << " more rows with problems (--max-errors 0 shows all)\n";
    }
    const int64_t total = static_cast<int64_t>(rows_.size());
    std::cout << "import: " << total << (total == 1 ? " row" : " rows") << ": ";
    if (dry_run_) {
      const int64_t would = total - refused - existing;
      std::cout << "dry run: " << would << " would be created, " << existing
                << " already registered, " << refused << " refused; nothing was changed\n";
    } else if (refused > 0 && !skip_bad_rows_ && created == 0) {
      std::cout << refused << " refused; nothing was created (fix the rows, or import with "
                << "--skip-bad-rows)\n";
    } else {
      std::cout << created << " created, " << existing << " already registered, " << refused
                << " refused";
      if (decided > 0 || undecided_ > 0) {
        std::cout << "; statuses: " << decided << " as in the file (" << changes_
                  << " status changes made)";
        if (undecided_ > 0) std::cout << ", " << undecided_ << " not applied";
      }
      std::cout << "\n";
    }
    return refused > 0 || undecided_ > 0 ? kExitFailed : kExitOk;
  }

  const Invocation& inv_;
  Connection& conn_;
  std::string election_;
  bool skip_bad_rows_ = false;
  bool dry_run_ = false;
  int batch_size_ = kDefaultBatchSize;
  int64_t max_errors_ = 0;
  int64_t start_revision_ = 0;
  int64_t undecided_ = 0;
  std::atomic<int64_t> changes_{0};  // Status changes made by this run.
  std::vector<Row> rows_;
  std::unique_ptr<Progress> progress_;
};

}  // namespace

std::vector<CommandSpec> ImportCommands() {
  return {{{"import"},
           "Import observers from a CSV file (a foreign ministry's submission, or an export).",
           "FILE.csv",
           1,
           1,
           {{"election", "ELECTION", "the election the rows are submitted to", false, true},
            {"dry-run", "", "check every row, create nothing"},
            {"skip-bad-rows", "", "create the good rows even if some are refused"},
            {"batch-size", "N", "rows per call (1 to 1000)", false, false, "",
             absl::StrCat(kDefaultBatchSize)},
            {"progress", "WHEN", "auto (a bar on a terminal), always or never", false, false, "",
             "auto"},
            {"max-errors", "N", "report the problems of at most N rows (0: all)", false, false, "",
             "100"}},
           "The file is UTF-8 CSV with a header row; docs/observerctl.md lists the columns.\n"
           "By default the import is all or nothing: every row is checked first, and if any row "
           "is refused\nnothing is created. Running the same import again creates nothing twice: "
           "people already\nregistered (same identity document) are reported as already "
           "registered.",
           "  observerctl import note-2021-117.csv --election kz-2021 --dry-run\n"
           "  observerctl import note-2021-117.csv --election kz-2021\n"
           "  observerctl import export.csv --election kz-2021 --skip-bad-rows --progress never",
           [](const Invocation& inv) {
             return WithConnection(inv, [&inv](Connection& c) { return Importer(inv, c).Run(); });
           }}};
}

}  // namespace observer::ctl
