// Loads the example data set (tools/example-data: Kazakhstan, 10 Jan 2021) into a running
// registry through its public API, as observer-load-example does, with the decisions sent from
// a few threads at once (the registry groups concurrent writes into one commit).
#ifndef OBSERVER_TESTS_HARNESS_EXAMPLE_DATA_H_
#define OBSERVER_TESTS_HARNESS_EXAMPLE_DATA_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "tests/harness/registry_client.h"

namespace observer::testing {

// Returns the highest store revision the writes produced (the revision at which the data set
// is complete).
absl::StatusOr<int64_t> LoadKz2021DataSet(RegistryClient& client, int threads = 4);

}  // namespace observer::testing

#endif  // OBSERVER_TESTS_HARNESS_EXAMPLE_DATA_H_
