// The import file of the benchmark: observers as a foreign ministry's submission in
// observerctl's CSV format (docs/observerctl.md), written with observerctl's own column table so
// that the file is exactly what `observerctl import` reads.
#ifndef OBSERVER_TOOLS_BENCH_IMPORT_CSV_H_
#define OBSERVER_TOOLS_BENCH_IMPORT_CSV_H_

#include <cstdint>
#include <set>
#include <string>

#include "absl/status/statusor.h"

namespace observer::bench {

// Writes a header and `rows` observers (loadgen's MakeObserver: real-looking names of their
// citizenship, unique passport numbers) to `path`. Returns the codes of the organisations the
// rows name (they must exist in the registry before the import).
absl::StatusOr<std::set<std::string>> WriteImportCsv(const std::string& path, int64_t rows,
                                                     uint64_t salt);

}  // namespace observer::bench

#endif  // OBSERVER_TOOLS_BENCH_IMPORT_CSV_H_
