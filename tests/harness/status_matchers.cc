#include "tests/harness/status_matchers.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace observer::testing {

std::string DescribeStatus(const absl::Status& status) {
  if (status.ok()) return "OK";
  std::string out = absl::StrCat(absl::StatusCodeToString(status.code()), ": ", status.message());
  ErrorDetails d = GetErrorDetails(status);
  std::vector<std::string> parts;
  parts.push_back(absl::StrCat("reason=", d.reason.empty() ? "<none>" : d.reason));
  if (!d.violations.empty()) {
    std::vector<std::string> fields;
    for (const auto& v : d.violations) fields.push_back(v.field);
    parts.push_back(absl::StrCat("fields=", absl::StrJoin(fields, ",")));
  }
  for (const auto& [k, v] : d.metadata) parts.push_back(absl::StrCat(k, "=", v));
  absl::StrAppend(&out, " [", absl::StrJoin(parts, ", "), "]");
  return out;
}

}  // namespace observer::testing
