// The exact figures stats-service must show, recounted from the registry's records, and the
// comparison of its answers with them (the end-to-end and reliability suites' oracle).
#ifndef OBSERVER_TESTS_HARNESS_RECOUNT_H_
#define OBSERVER_TESTS_HARNESS_RECOUNT_H_

#include <cstdint>
#include <map>
#include <string>

#include "absl/time/time.h"
#include "observer/stats/v1/stats_service.pb.h"
#include "tests/harness/registry_client.h"
#include "tests/harness/stats_client.h"

namespace observer::testing {

sv1::GetSummaryRequest SummaryRequest(const std::string& election, int64_t min_revision = 0);
sv1::GetBreakdownRequest BreakdownRequest(const std::string& election, sv1::Dimension dimension,
                                          int64_t min_revision = 0,
                                          const std::string& region_scheme = "");

// "N observers: A from K organisations, B from J states".
std::string Describe(const sv1::Summary& s);
// key → count of a breakdown; a repeated key is a test failure.
std::map<std::string, int64_t> RowCounts(const sv1::Breakdown& b);
// Consistency every breakdown must have: total = sum of the rows, rows by count (largest
// first, ties by key), shares = count / total. Test failures if not.
void CheckBreakdownShape(const sv1::Breakdown& b);

struct Recount {
  int64_t revision = 0;  // The registry's head when counted (no writes in between).
  sv1::Summary summary;
  // Accredited, non-test observers by sending organisation, sending state and citizenship.
  std::map<std::string, int64_t> by_organisation;
  std::map<std::string, int64_t> by_state;
  std::map<std::string, int64_t> by_citizenship;
  // Non-test observers in every status.
  std::map<std::string, int64_t> by_status;
};

// Lists every observer of `election` page by page (a small page size, so that several pages
// are read) and counts the accredited, non-test ones as the stats default filter does. Must be
// called while nobody writes: the head revision is read before and after and must not move
// (TestFailure otherwise).
Recount RecountFromRegistry(RegistryClient& client, const std::string& election);

// stats-service answers at exactly the recount's revision (nothing is written any more, so
// waiting for it gives exactly it) with the recount's figures: the summary and the ORGANISATION,
// SENDING_STATE, CITIZENSHIP and STATUS breakdowns. Test failures if not.
void ExpectStatsEqualRecount(StatsClient& stats, const Recount& expected,
                             absl::Duration timeout = absl::Seconds(20));

}  // namespace observer::testing

#endif  // OBSERVER_TESTS_HARNESS_RECOUNT_H_
