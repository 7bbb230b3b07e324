// List requests: page sizes (AIP-158), opaque page tokens bound to their query, and the
// AIP-160 filter subset of ListObservers.
#ifndef OBSERVER_REGISTRY_DOMAIN_LIST_QUERY_H_
#define OBSERVER_REGISTRY_DOMAIN_LIST_QUERY_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "registry-service/src/storage/store.h"

namespace observer::registry {

inline constexpr int kDefaultPageSize = 50;
inline constexpr int kMaxPageSize = 1000;

// 0 → default, above the maximum → maximum, negative → INVALID_ARGUMENT on `page_size`.
absl::StatusOr<int> EffectivePageSize(int requested);

// A token carries the last key returned and a fingerprint of the query it belongs to.
std::string EncodePageToken(absl::string_view query_fingerprint, absl::string_view last_key);
// The last key, or INVALID_ARGUMENT on `page_token` if the token is malformed or was issued
// for another query.
absl::StatusOr<std::string> DecodePageToken(absl::string_view token,
                                            absl::string_view query_fingerprint);

// Parses e.g. `status = ACCREDITED AND organisation = "OSCE-ODIHR" AND tags:"batch-3"`.
// INVALID_ARGUMENT on `filter` naming the problem.
absl::StatusOr<std::vector<ObserverCondition>> ParseObserverFilter(absl::string_view filter);

}  // namespace observer::registry

#endif  // OBSERVER_REGISTRY_DOMAIN_LIST_QUERY_H_
