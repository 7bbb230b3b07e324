// The registry's domain rules that need no stored state: resource names, the accreditation
// deadline, field validation of elections, organisations and observers, the status
// lifecycle, and what counts as personal data. Field paths in violations are request paths
// (`election.`, `organisation.`, `observer.` prefixes).
#ifndef OBSERVER_REGISTRY_DOMAIN_RULES_H_
#define OBSERVER_REGISTRY_DOMAIN_RULES_H_

#include <optional>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/country_codes.h"
#include "common/errors.h"
#include "common/personal_data.h"
#include "common/resource_names.h"
#include "observer/registry/v1/resources.pb.h"

namespace observer::registry {

inline constexpr size_t kMaxNameLength = 200;
inline constexpr size_t kMaxReferenceLength = 200;

// INVALID_ARGUMENT on `field` unless `ts` is a valid instant between years 1 and 9999.
[[nodiscard]] absl::Status ValidateTimestamp(const google::protobuf::Timestamp& ts,
                                             absl::string_view field);

// --- Elections ------------------------------------------------------------------------------

// 18:00 local time on voting day minus 6 calendar days, with the UTC offset in force at that
// instant in `time_zone` (historical offsets from tzdata). INVALID_ARGUMENT if the zone is
// unknown.
absl::StatusOr<absl::Time> DefaultAccreditationDeadline(const google::type::Date& voting_day,
                                                        absl::string_view time_zone);

// Validates the caller-settable fields of an election and fills defaults (deadline, state).
void ValidateElection(const CountryCodes& countries, v1::Election& election, Violations& v);

// --- Organisations --------------------------------------------------------------------------

void ValidateOrganisation(v1::Organisation& organisation, Violations& v);

// --- Observers ------------------------------------------------------------------------------

// Validates the caller-settable fields of an observer (not the checks that need the store:
// organisation existence, host country, duplicates, deadline).
void ValidateObserver(const CountryCodes& countries, v1::Observer& observer, Violations& v);

// DocumentKey and StripPersonalData: common/personal_data.h.
using ::observer::DocumentKey;
using ::observer::StripPersonalData;

// The status transitions of the lifecycle.
enum class Transition { kAccredit, kReject, kSuspend, kReinstate, kWithdraw };
absl::string_view TransitionName(Transition t);
// The status an observer moves to, or nullopt if `from` does not allow the transition.
std::optional<v1::ObserverStatus> NextStatus(v1::ObserverStatus from, Transition t);

// An etag for a record last changed at `revision`.
std::string EtagFor(int64_t revision);

}  // namespace observer::registry

#endif  // OBSERVER_REGISTRY_DOMAIN_RULES_H_
