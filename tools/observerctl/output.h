// How observerctl shows things to people and machines: aligned tables, one "field: value" line
// per set field of a record, canonical protobuf JSON, and share bars. Proto only, no gRPC.
#ifndef OBSERVER_TOOLS_OBSERVERCTL_OUTPUT_H_
#define OBSERVER_TOOLS_OBSERVERCTL_OUTPUT_H_

#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"

namespace observer::ctl {

// Display width of UTF-8 text: one column per code point (Latin, Cyrillic and Kazakh letters).
std::size_t DisplayWidth(absl::string_view s);

// A table with a header, a rule under it, and columns padded to their widest cell.
class Table {
 public:
  // `right` marks the columns aligned to the right (numbers).
  Table(std::vector<std::string> header, std::vector<bool> right);
  void Add(std::vector<std::string> row);
  // A rule across the table (e.g. above a total row).
  void AddRule();
  void Print(std::ostream& out) const;

 private:
  std::vector<std::string> header_;
  std::vector<bool> right_;
  std::vector<std::vector<std::string>> rows_;
};

// Canonical protobuf JSON with zero values included; on one line unless `pretty`.
std::string ToJson(const google::protobuf::Message& message, bool pretty = false);

// One "path: value" line per set field, nested messages flattened with '.' ("id_document.number"),
// enums as short names, timestamps in RFC 3339 and dates as YYYY-MM-DD.
void PrintFields(const google::protobuf::Message& message, std::ostream& out);

// A failed call for people: "error: WHAT: CODE: message", then the reason, each metadata entry
// and each field violation on its own indented line.
std::string DescribeError(absl::string_view what, const absl::Status& status);

// A bar of `width` cells for share / max_share, in eighths of a cell.
std::string ShareBar(double share, double max_share, int width);

}  // namespace observer::ctl

#endif  // OBSERVER_TOOLS_OBSERVERCTL_OUTPUT_H_
