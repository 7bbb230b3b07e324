// RFC 4180 CSV for the register's import and export files: UTF-8 only (a leading byte-order mark
// is skipped), comma-separated, fields quoted with '"' when they hold a comma, a quote or a line
// break. Every record remembers the file line it starts on, for error reports.
#ifndef OBSERVER_TOOLS_OBSERVERCTL_CSV_H_
#define OBSERVER_TOOLS_OBSERVERCTL_CSV_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace observer::ctl {

struct CsvRecord {
  int line = 0;  // 1-based line of the file where the record starts.
  std::vector<std::string> fields;
};

// Parses a whole file. INVALID_ARGUMENT, naming the line, for text that is not UTF-8 (with a
// hint when it looks like UTF-16), an unterminated quoted field, or a quote inside an unquoted
// field. Blank lines are skipped.
absl::StatusOr<std::vector<CsvRecord>> ParseCsv(absl::string_view text);

// One record as a line ending in "\n" (ParseCsv reads both "\n" and RFC 4180's "\r\n").
std::string CsvLine(const std::vector<std::string>& fields);

// The 1-based line and column of the first byte that is not valid UTF-8, or line 0 if all is.
struct Utf8Error {
  int line = 0;
  int byte_in_line = 0;
};
Utf8Error FindInvalidUtf8(absl::string_view text);

}  // namespace observer::ctl

#endif  // OBSERVER_TOOLS_OBSERVERCTL_CSV_H_
