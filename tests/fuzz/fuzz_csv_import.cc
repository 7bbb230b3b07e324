// CSV import rows: observerctl's RFC 4180 parser (tools/observerctl/csv.h) on the whole input,
// then, as `observerctl import` reads a file, the header mapped to the observer columns
// (observer_columns.h) and every data row parsed into an observer record.
//
// Besides "no crash, no sanitizer report", every run checks:
// - what ParseCsv accepts is UTF-8 and written back with CsvLine parses to the same fields;
// - records start on increasing lines;
// - a row the registry would accept (ValidateObserver) survives export and re-import: its
//   record, written as `observerctl export --include-pii` writes it (every column, through
//   CsvLine) and read back through the import's column parsers, is the same record, status
//   columns included.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "common/country_codes.h"
#include "common/errors.h"
#include "google/protobuf/stubs/logging.h"
#include "google/protobuf/util/message_differencer.h"
#include "observer/registry/v1/resources.pb.h"
#include "registry-service/src/domain/rules.h"
#include "tests/fuzz/fuzz_check.h"
#include "tools/observerctl/csv.h"
#include "tools/observerctl/observer_columns.h"

namespace observer::fuzz {
namespace {

namespace v1 = ::observer::registry::v1;
using ctl::ColumnKind;
using ctl::CsvRecord;
using ctl::ObserverColumn;
using google::protobuf::util::MessageDifferencer;

std::string Fields(const std::vector<std::string>& fields) {
  std::vector<std::string> escaped;
  for (const std::string& f : fields) escaped.push_back(absl::StrCat("\"", absl::CEscape(f), "\""));
  return absl::StrCat("[", absl::StrJoin(escaped, ", "), "]");
}

void CheckCsvRoundTrip(const std::vector<CsvRecord>& records) {
  // After a header line, as in every import and export file: a file's first bytes may be a
  // byte-order mark, which the reader skips, so a first field starting with U+FEFF would not
  // read back.
  std::string written = "header\n";
  int line = 0;
  for (const CsvRecord& record : records) {
    FUZZ_CHECK(record.line > line, absl::StrCat("record on line ", record.line, " after ", line));
    line = record.line;
    FUZZ_CHECK(!record.fields.empty(), "a record without fields");
    for (const std::string& field : record.fields) {
      FUZZ_CHECK(ctl::FindInvalidUtf8(field).line == 0,
                 absl::StrCat("a field that is not UTF-8: ", absl::CEscape(field)));
    }
    written += ctl::CsvLine(record.fields);
  }
  absl::StatusOr<std::vector<CsvRecord>> again = ctl::ParseCsv(written);
  FUZZ_CHECK(again.ok(), absl::StrCat("CsvLine's output does not parse: ",
                                      again.status().ToString(), "\n", absl::CEscape(written)));
  FUZZ_CHECK(again->size() == records.size() + 1,
             absl::StrCat(records.size(), " records written, ", again->size() - 1, " read back:\n",
                          absl::CEscape(written)));
  for (size_t i = 0; i < records.size(); ++i) {
    FUZZ_CHECK((*again)[i + 1].fields == records[i].fields,
               absl::StrCat("written ", Fields(records[i].fields), ", read back ",
                            Fields((*again)[i + 1].fields)));
  }
}

// The import's column for a header cell ("ID-Number " → id_number), or null.
const ObserverColumn* HeaderColumn(const std::string& raw) {
  return ctl::FindObserverColumn(
      absl::AsciiStrToLower(absl::StrReplaceAll(absl::StripAsciiWhitespace(raw), {{"-", "_"}})));
}

struct Row {
  v1::Observer submission;  // The columns that make the create request.
  v1::Observer decision;    // The status columns, applied after the record exists.
};

// Parses one data row as the import does; false if the import would refuse it.
bool ParseRow(const std::vector<const ObserverColumn*>& columns,
              const std::vector<std::string>& fields, Row& row) {
  if (fields.size() != columns.size()) return false;
  bool ok = true;
  for (size_t i = 0; i < columns.size(); ++i) {
    const ObserverColumn& c = *columns[i];
    if (c.kind == ColumnKind::kExportOnly) continue;
    v1::Observer& target = c.kind == ColumnKind::kDecision ? row.decision : row.submission;
    ok = c.set(target, fields[i]).ok() && ok;
  }
  return ok;
}

// The record as export writes it and import reads it back.
void CheckExportImport(const Row& row) {
  v1::Observer record = row.submission;
  Violations violations;
  registry::ValidateObserver(CountryCodes::Default(), record, violations);
  if (!violations.empty()) {  // The registry would refuse it: nothing to export.
    Note(absl::StrCat("row refused: ", violations.ToStatus().message()));
    return;
  }
  Note("row accepted: checking export and re-import");
  v1::Observer stored = record;
  stored.MergeFrom(row.decision);

  std::vector<std::string> header;
  std::vector<std::string> values;
  for (const ObserverColumn& c : ctl::ObserverColumns()) {
    header.emplace_back(c.name);
    values.push_back(c.get(stored));
  }
  const std::string file = ctl::CsvLine(header) + ctl::CsvLine(values);
  absl::StatusOr<std::vector<CsvRecord>> records = ctl::ParseCsv(file);
  FUZZ_CHECK(records.ok() && records->size() == 2,
             absl::StrCat("an export does not parse: ", absl::CEscape(file)));
  std::vector<const ObserverColumn*> columns;
  for (const std::string& name : (*records)[0].fields) columns.push_back(HeaderColumn(name));
  Row back;
  for (size_t i = 0; i < columns.size(); ++i) {
    const ObserverColumn& c = *columns[i];
    if (c.kind == ColumnKind::kExportOnly) continue;
    v1::Observer& target = c.kind == ColumnKind::kDecision ? back.decision : back.submission;
    const absl::Status s = c.set(target, (*records)[1].fields[i]);
    FUZZ_CHECK(s.ok(), absl::StrCat("column ", c.name, " refuses its own export '",
                                    absl::CEscape((*records)[1].fields[i]), "': ", s.ToString()));
  }
  Violations again;
  registry::ValidateObserver(CountryCodes::Default(), back.submission, again);
  FUZZ_CHECK(again.empty(), absl::StrCat("the re-imported record is refused: ",
                                         again.ToStatus().ToString(), "\n", absl::CEscape(file)));
  if (!MessageDifferencer::Equals(record, back.submission) ||
      !MessageDifferencer::Equals(row.decision, back.decision)) {
    Fail(absl::StrCat("export and re-import change the record:\n", stored.DebugString(), "---\n",
                      back.submission.DebugString(), back.decision.DebugString(),
                      "--- exported as:\n", absl::CEscape(file)));
  }
}

void Run(const uint8_t* data, size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<std::vector<CsvRecord>> records = ctl::ParseCsv(text);
  if (!records.ok()) {
    Note(records.status().ToString());
    FUZZ_CHECK(records.status().code() == absl::StatusCode::kInvalidArgument,
               records.status().ToString());
    return;
  }
  CheckCsvRoundTrip(*records);
  if (records->empty()) return;

  std::vector<const ObserverColumn*> columns;
  for (const std::string& raw : (*records)[0].fields) {
    const ObserverColumn* column = HeaderColumn(raw);
    if (column == nullptr) return;  // The import stops at an unknown column.
    for (const ObserverColumn* seen : columns) {
      if (seen == column) return;  // ... and at a column given twice.
    }
    columns.push_back(column);
  }
  for (size_t r = 1; r < records->size(); ++r) {
    Row row;
    if (ParseRow(columns, (*records)[r].fields, row)) {
      CheckExportImport(row);
    } else {
      Note(absl::StrCat("row ", r, " refused by the import's column parsers"));
    }
  }
}

}  // namespace
}  // namespace observer::fuzz

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  google::protobuf::SetLogHandler(nullptr);
  observer::CountryCodes::Default();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  observer::fuzz::Run(data, size);
  return 0;
}
