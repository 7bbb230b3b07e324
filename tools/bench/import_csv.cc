#include "tools/bench/import_csv.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tools/loadgen/scenarios.h"
#include "tools/observerctl/csv.h"
#include "tools/observerctl/observer_columns.h"

namespace observer::bench {

absl::StatusOr<std::set<std::string>> WriteImportCsv(const std::string& path, int64_t rows,
                                                     uint64_t salt) {
  // The submission columns: what a foreign ministry sends (no status, no export-only fields).
  std::vector<const ctl::ObserverColumn*> columns;
  std::vector<std::string> header;
  for (const ctl::ObserverColumn& column : ctl::ObserverColumns()) {
    if (column.kind != ctl::ColumnKind::kSubmission) continue;
    columns.push_back(&column);
    header.emplace_back(column.name);
  }
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) {
    return absl::InternalError(absl::StrCat("cannot write ", path, ": ", std::strerror(errno)));
  }
  out << ctl::CsvLine(header);
  std::set<std::string> organisations;
  std::vector<std::string> fields(columns.size());
  for (int64_t n = 0; n < rows; ++n) {
    const registry::v1::Observer observer = loadgen::MakeObserver(n, salt);
    if (observer.sending_body().has_organisation()) {
      organisations.insert(ctl::OrganisationCode(observer.sending_body().organisation()));
    }
    for (size_t i = 0; i < columns.size(); ++i) fields[i] = columns[i]->get(observer);
    out << ctl::CsvLine(fields);
  }
  out.close();
  if (!out) {
    return absl::InternalError(absl::StrCat("cannot write ", path, ": ", std::strerror(errno)));
  }
  return organisations;
}

}  // namespace observer::bench
