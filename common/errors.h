// The error model shared by every layer: absl::Status values that carry the google.rpc
// details (one ErrorInfo, and a BadRequest for validation) as payloads, so that domain and
// storage code can produce precise errors without knowing about gRPC.
#ifndef OBSERVER_COMMON_ERRORS_H_
#define OBSERVER_COMMON_ERRORS_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace observer {

// The ErrorInfo domain of every error the services return.
inline constexpr absl::string_view kErrorDomain = "registry.observer";

// Reasons (google.rpc.ErrorInfo.reason). Clients may switch on these.
namespace reason {
inline constexpr absl::string_view kValidationFailed = "VALIDATION_FAILED";
inline constexpr absl::string_view kRequestIdReused = "REQUEST_ID_REUSED";
inline constexpr absl::string_view kInvalidStatusTransition = "INVALID_STATUS_TRANSITION";
inline constexpr absl::string_view kNotFound = "NOT_FOUND";
inline constexpr absl::string_view kAlreadyExists = "ALREADY_EXISTS";
inline constexpr absl::string_view kDuplicateIdDocument = "DUPLICATE_ID_DOCUMENT";
inline constexpr absl::string_view kBadgeNumberTaken = "BADGE_NUMBER_TAKEN";
inline constexpr absl::string_view kAccreditationClosed = "ACCREDITATION_CLOSED";
inline constexpr absl::string_view kAccreditationNotOpen = "ACCREDITATION_NOT_OPEN";
inline constexpr absl::string_view kHostCountryCitizen = "HOST_COUNTRY_CITIZEN";
inline constexpr absl::string_view kEtagMismatch = "ETAG_MISMATCH";
inline constexpr absl::string_view kRevisionCompacted = "REVISION_COMPACTED";
inline constexpr absl::string_view kRevisionAhead = "REVISION_AHEAD";
inline constexpr absl::string_view kStoreBusy = "STORE_BUSY";
inline constexpr absl::string_view kStoreFull = "STORE_FULL";
inline constexpr absl::string_view kStoreError = "STORE_ERROR";
inline constexpr absl::string_view kUnavailable = "UNAVAILABLE";
// registry-service: --max-watchers Watch streams are open already.
inline constexpr absl::string_view kTooManyWatchers = "TOO_MANY_WATCHERS";
// stats-service: the first sync with the registry is not complete yet.
inline constexpr absl::string_view kNotSynced = "NOT_SYNCED";
// stats-service: `min_revision` was not applied before the call's deadline.
inline constexpr absl::string_view kRevisionNotApplied = "REVISION_NOT_APPLIED";
// Both services: the caller's identity is not allowed to call the method.
inline constexpr absl::string_view kPermissionDenied = "PERMISSION_DENIED";
// Both services: the caller made more calls than its rate limit allows; see RetryInfo.
inline constexpr absl::string_view kRateLimited = "RATE_LIMITED";
// Both services: --max-in-flight calls are in progress already; see RetryInfo.
inline constexpr absl::string_view kOverloaded = "OVERLOADED";
}  // namespace reason

struct FieldViolation {
  std::string field;        // Path in the request, e.g. "observer.citizenship".
  std::string description;  // What is wrong, for a person.
};

// Collects field violations while a request is validated.
class Violations {
 public:
  void Add(std::string field, std::string description) {
    list_.push_back({std::move(field), std::move(description)});
  }
  bool empty() const { return list_.empty(); }
  const std::vector<FieldViolation>& list() const { return list_; }
  // INVALID_ARGUMENT / VALIDATION_FAILED naming every violation, or OK when there is none.
  [[nodiscard]] absl::Status ToStatus() const;

 private:
  std::vector<FieldViolation> list_;
};

// An error with an ErrorInfo reason, optional metadata and optional field violations.
[[nodiscard]] absl::Status MakeError(absl::StatusCode code, absl::string_view reason,
                                     absl::string_view message,
                                     const std::map<std::string, std::string>& metadata = {},
                                     const std::vector<FieldViolation>& violations = {});

// `status` with a google.rpc.RetryInfo telling the client to retry after `delay`.
[[nodiscard]] absl::Status WithRetryDelay(absl::Status status, absl::Duration delay);

// INVALID_ARGUMENT / VALIDATION_FAILED for one field.
[[nodiscard]] absl::Status InvalidField(absl::string_view field, absl::string_view description);

// The details carried by a status, for handlers and tests.
struct ErrorDetails {
  std::string reason;
  std::map<std::string, std::string> metadata;
  std::vector<FieldViolation> violations;
  std::optional<absl::Duration> retry_delay;  // From a google.rpc.RetryInfo.
};
ErrorDetails GetErrorDetails(const absl::Status& status);

// Prefixes every field violation path with `prefix` + "." (e.g. "requests[3]").
[[nodiscard]] absl::Status PrefixFields(const absl::Status& status, absl::string_view prefix);

}  // namespace observer

#endif  // OBSERVER_COMMON_ERRORS_H_
