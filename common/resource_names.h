// Resource names shared by both services (AIP-122): `elections/{election}`,
// `organisations/{code}` and `elections/{election}/observers/{observer}`.
#ifndef OBSERVER_COMMON_RESOURCE_NAMES_H_
#define OBSERVER_COMMON_RESOURCE_NAMES_H_

#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace observer {

bool IsValidElectionId(absl::string_view id);
bool IsValidOrganisationCode(absl::string_view code);

// `elections/{id}` → id. INVALID_ARGUMENT naming `field` if malformed.
absl::StatusOr<std::string> ParseElectionName(absl::string_view name, absl::string_view field);
// `organisations/{code}` → code.
absl::StatusOr<std::string> ParseOrganisationName(absl::string_view name, absl::string_view field);
// `elections/{e}/observers/{o}` → (e, o).
absl::StatusOr<std::pair<std::string, std::string>> ParseObserverName(absl::string_view name,
                                                                      absl::string_view field);
std::string ElectionName(absl::string_view id);
std::string OrganisationName(absl::string_view code);
std::string ObserverName(absl::string_view election_id, absl::string_view observer_id);

}  // namespace observer

#endif  // OBSERVER_COMMON_RESOURCE_NAMES_H_
