// The observer record as columns: one table that the CSV import and export, the `observer add`
// and `observer update` flags, and the mapping of the registry's field paths back to columns all
// use. Proto only, no gRPC.
#ifndef OBSERVER_TOOLS_OBSERVERCTL_OBSERVER_COLUMNS_H_
#define OBSERVER_TOOLS_OBSERVERCTL_OBSERVER_COLUMNS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "observer/registry/v1/resources.pb.h"

namespace observer::ctl {

enum class ColumnKind {
  kSubmission,  // Set by the submitter: a flag of `observer add`, a column of the import.
  kDecision,    // The status and its decision, applied by import after creating the record.
  kExportOnly,  // Output only: written by export, ignored by import.
};

struct ObserverColumn {
  absl::string_view name;  // CSV column; the flag is the same with '-' for '_'.
  ColumnKind kind;
  bool required;           // A submission column every import file must have.
  bool pii;                // Personal data: exported only with --include-pii.
  absl::string_view mask;  // Top-level field for update masks ("" for none).
  absl::string_view value_name;
  absl::string_view help;
  // Parses `text` into the record ("" clears the field); INVALID_ARGUMENT says what is wrong.
  absl::Status (*set)(registry::v1::Observer& o, absl::string_view text);
  std::string (*get)(const registry::v1::Observer& o);
};

// Every column, in export order.
const std::vector<ObserverColumn>& ObserverColumns();
const ObserverColumn* FindObserverColumn(absl::string_view name);

// The column a registry field path names: "observer.id_document.number",
// "requests[3].observer.citizenship" or "observer.tags[2]" → "id_number", "citizenship", "tags".
// Paths that name no column come back as given.
std::string ColumnForField(absl::string_view field_path);

// The organisation code of "organisations/OSCE-ODIHR" (or of "OSCE-ODIHR").
std::string OrganisationCode(absl::string_view name_or_code);

}  // namespace observer::ctl

#endif  // OBSERVER_TOOLS_OBSERVERCTL_OBSERVER_COLUMNS_H_
