// The statistics state: counters of observers keyed by (election, filter cell, dimension,
// value), kept up to date from the registry's change events.
//
// A filter cell is one combination of the attributes a query can filter on (status, category,
// test flag). Each cell holds, per dimension, a count per value (organisation code, country
// code, gender...), so memory grows with the number of distinct groups, never with the number
// of observers: no observer record is kept. An event's `before` image is subtracted and its
// `after` image added, which covers every transition (create, any update, status change,
// test-flag change, delete).
//
// Elections and organisations are kept whole (they are few): queries need to know which
// elections exist and the organisations' names.
//
// Not thread-safe: LiveStats guards it. Const methods may run on many threads at once (under
// LiveStats' read lock), never alongside Apply (under its write lock). No gRPC here.
#ifndef OBSERVER_STATS_SERVICE_SRC_AGGREGATE_COUNTERS_H_
#define OBSERVER_STATS_SERVICE_SRC_AGGREGATE_COUNTERS_H_

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "observer/registry/v1/registry_service.pb.h"
#include "observer/stats/v1/stats_service.pb.h"
#include "stats-service/src/aggregate/breakdown_cache.h"
#include "stats-service/src/aggregate/regions.h"

namespace observer::stats {

class Counters {
 public:
  // `regions` gives country and region names; it must outlive this object.
  explicit Counters(const RegionDirectory& regions) : regions_(regions) {}

  // Applies one change event (live, or a CREATED event of an initial state). An event that
  // cannot be understood (e.g. a malformed observer name) or does not fit the counters (its
  // `before` image was never counted) changes nothing and is reported.
  absl::Status Apply(const registry::v1::ChangeEvent& event);

  // Checks what can be checked without the state: field formats, enum values, the scheme and
  // the language. INVALID_ARGUMENT naming the field.
  static absl::Status ValidateSummaryRequest(const v1::GetSummaryRequest& request);
  static absl::Status ValidateBreakdownRequest(const RegionDirectory& regions,
                                               const v1::GetBreakdownRequest& request);

  // The answers, for a request that passed validation. NOT_FOUND naming `election` when the
  // election does not exist.
  absl::StatusOr<v1::Summary> Summarize(const v1::GetSummaryRequest& request) const;
  absl::StatusOr<v1::Breakdown> Break(const v1::GetBreakdownRequest& request) const;
  // The same answer, shared and immutable: assembled once per state and request shape
  // (`min_revision` aside) and kept until the next Apply, so that repeated queries between
  // changes cost a lookup. Errors are not kept.
  absl::StatusOr<std::shared_ptr<const v1::Breakdown>> SharedBreak(
      const v1::GetBreakdownRequest& request) const;
  // Break without the cache: what the first query after a change costs.
  absl::StatusOr<v1::Breakdown> Assemble(const v1::GetBreakdownRequest& request) const;

  // Every non-zero counter as "election/cell/dimension/value" → count, in key order. Two
  // states with the same dump answer every query alike; tests compare the state after a random
  // history with a recount of the final records, and check that no zero counter lingers.
  std::map<std::string, int64_t> Dump() const;

  // The ids of the elections whose records have been seen, in id order.
  std::vector<std::string> KnownElections() const;

  // How many counters are held: the non-zero (election, cell, dimension, value) entries, as
  // many as Dump() lists. Memory is proportional to it.
  int64_t CounterCount() const;

 private:
  static constexpr int kStatuses = 6;    // ObserverStatus values 0..5.
  static constexpr int kCategories = 7;  // ObserverCategory values 0..6.
  static constexpr int kGenders = 4;     // Gender values 0..3.

  using ValueCounts = absl::flat_hash_map<std::string, int64_t>;

  // The counts of one filter cell (one status, one category, test or not).
  struct Cell {
    int64_t observers = 0;
    int64_t from_organisations = 0;
    int64_t from_states = 0;
    std::array<int64_t, kGenders> by_gender{};
    ValueCounts by_organisation;  // Organisation code.
    ValueCounts by_state;         // Sending state.
    ValueCounts by_citizenship;   // "" when not recorded.
  };
  static int CellIndex(int status, int category, bool test) {
    return (status * kCategories + category) * 2 + (test ? 1 : 0);
  }
  static constexpr int kCells = kStatuses * kCategories * 2;

  struct ElectionState {
    bool known = false;  // The election record has been seen (not only its observers).
    registry::v1::Election election;
    absl::flat_hash_map<int, Cell> cells;  // By CellIndex; empty cells are erased.
  };

  // What one observer adds to the counters.
  struct Contribution {
    std::string election;
    int cell = 0;
    bool from_organisation = false;
    bool from_state = false;
    std::string body;  // Organisation code or state code.
    std::string citizenship;
    int gender = 0;
  };
  // Reads an observer image. Enum values this version does not know are counted as
  // UNSPECIFIED (a newer registry must not stop the statistics).
  static absl::StatusOr<Contribution> Describe(const registry::v1::Observer& observer);
  // FAILED_PRECONDITION unless `c` is counted, i.e. it can be subtracted.
  absl::Status CheckCounted(const Contribution& c) const;
  // Adds `sign` (+1 or -1) times `c`; a subtraction must have passed CheckCounted.
  void Add(const Contribution& c, int sign);
  // The cells a filter selects (`all_statuses` for a breakdown by status with no statuses).
  std::vector<const Cell*> Select(const ElectionState& election, const v1::Filter& filter,
                                  bool all_statuses, std::vector<int>* indices) const;
  absl::StatusOr<const ElectionState*> FindElection(const std::string& name) const;
  std::string OrganisationDisplayName(const std::string& code, Language language) const;

  const RegionDirectory& regions_;
  absl::flat_hash_map<std::string, ElectionState> elections_;                   // By election id.
  absl::flat_hash_map<std::string, registry::v1::Organisation> organisations_;  // By code.
  // Breakdowns of the current state; emptied by every Apply (the only mutator), which never
  // runs alongside a reader, so an entry is always computed from the state it is read with.
  mutable BreakdownCache breakdowns_;
};

}  // namespace observer::stats

#endif  // OBSERVER_STATS_SERVICE_SRC_AGGREGATE_COUNTERS_H_
