// Shared inputs of the microbenchmarks: realistic records from the example data set (the
// observers of Kazakhstan's elections of 10 January 2021, tools/example-data), the change
// events the registry itself produces for them, an in-memory stand-in for the Store, and
// stats states holding the counters of registers of a given size.
//
// Everything here is built once per process and reused by every benchmark that asks for it,
// so that setup never counts in a measurement and a smoke run stays short.
#ifndef OBSERVER_BENCH_MICRO_FIXTURES_H_
#define OBSERVER_BENCH_MICRO_FIXTURES_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/country_codes.h"
#include "common/digest.h"
#include "observer/registry/v1/registry_service.pb.h"
#include "registry-service/src/domain/registry.h"
#include "registry-service/src/storage/store.h"
#include "stats-service/src/aggregate/live_stats.h"
#include "stats-service/src/aggregate/regions.h"

namespace observer::bench {

namespace rv1 = ::observer::registry::v1;

// The audit key the stand-in store chains with (32 bytes, like a generated key file).
const std::string& BenchAuditKey();

// A Store kept in memory, for measuring the registry's domain code without SQLite and fsync.
// Writes run at once on the calling thread (no writer thread, no group commit) and are not
// rolled back on error: the benchmarks only drive writes that succeed.
//
// Per change it does what SqliteStore::AppendChange does besides the SQL: serialize the event,
// compute its audit chain link (with the key's padded blocks hashed once) and keep the event
// for the commit listener. Elections and
// organisations are always kept. Observers, document keys, badges and idempotency records are
// kept only with `keep_records` (to produce a realistic history); without it they are
// dropped, so that a benchmark can create observers for ever in bounded memory (duplicate
// document checks then never find a holder, as for a register of unique people).
class MemoryStore final : public registry::Store {
 public:
  explicit MemoryStore(bool keep_records);
  ~MemoryStore() override;

  void WriteAsync(registry::WriteFn fn, registry::WriteDone done) override;
  void SetCommitListener(registry::CommitListener listener) override;

  absl::StatusOr<registry::Versioned<rv1::Election>> GetElection(absl::string_view id) override;
  absl::StatusOr<registry::Page<rv1::Election>> ListElections(absl::string_view after_id,
                                                              int limit) override;
  absl::StatusOr<registry::Versioned<rv1::Organisation>> GetOrganisation(
      absl::string_view code) override;
  absl::StatusOr<registry::Page<rv1::Organisation>> ListOrganisations(absl::string_view after_code,
                                                                      int limit) override;
  absl::StatusOr<registry::Versioned<rv1::Observer>> GetObserver(
      absl::string_view election_id, absl::string_view observer_id) override;
  absl::StatusOr<registry::Page<rv1::Observer>> ListObservers(
      const registry::ObserverQuery& query) override;
  absl::StatusOr<std::vector<registry::ObserverCount>> CountObservers() override;
  absl::StatusOr<registry::Revisions> GetRevisions() override;
  absl::StatusOr<std::vector<rv1::ChangeEvent>> ReadChanges(int64_t from, int max_events,
                                                            int64_t max_bytes) override;
  void CompactAsync(int64_t keep_from, registry::WriteDone done) override;
  absl::StatusOr<std::unique_ptr<registry::SnapshotReader>> OpenSnapshot() override;
  absl::StatusOr<registry::ChangeLogVerification> VerifyChangeLog(
      const std::optional<registry::ChainWitness>& witness) override;

  int64_t head() const { return head_; }
  // Pretends the log reaches `head` (for a watch served from a hub filled by hand).
  void set_head(int64_t head) { head_ = head; }

 private:
  class Txn;
  friend class Txn;

  const bool keep_records_;
  const HmacSha256Key audit_mac_;  // Of BenchAuditKey(), as the SQLite store keeps its key.
  registry::CommitListener listener_;
  int64_t head_ = 0;
  std::string chain_;
  std::map<std::string, rv1::Election, std::less<>> elections_;
  std::map<std::string, rv1::Organisation, std::less<>> organisations_;
  std::map<std::pair<std::string, std::string>, rv1::Observer> observers_;
  std::map<std::pair<std::string, std::string>, std::string> documents_;  // → observer id
  std::set<std::pair<std::string, std::string>> badges_;
  std::map<std::string, int64_t, std::less<>> badge_sequences_;
  std::map<std::string, registry::StoredRequest, std::less<>> requests_;
};

// Calls a write of the Registry (which answers through a callback; at once with MemoryStore)
// and returns its answer.
template <typename Response>
absl::StatusOr<Response> CallSync(const std::function<void(registry::Callback<Response>)>& write) {
  std::optional<absl::StatusOr<Response>> result;
  write([&result](absl::StatusOr<Response> r) { result = std::move(r); });
  if (!result.has_value()) return absl::InternalError("the write did not answer");
  return *std::move(result);
}

// The example data set's election, organisations and observers, as requests.
struct RegistryInputs {
  std::string election_name;  // "elections/kz-2021-majilis".
  rv1::CreateElectionRequest election;
  std::vector<rv1::CreateOrganisationRequest> organisations;
  // One CreateObserverRequest per person of the data set, with a request_id derived from the
  // person's key as the example loader does.
  std::vector<rv1::CreateObserverRequest> observers;
};
const RegistryInputs& Inputs();

// Creates the example election and organisations through `registry`; aborts on failure.
void LoadElectionAndOrganisations(registry::Registry& registry);

// The change events the registry commits when the example data set is loaded and decided:
// everything in revision order, and per person the CREATED event and, for those the
// commission decided, the UPDATED event of the decision (SUBMITTED → ACCREDITED/REJECTED).
struct History {
  std::vector<rv1::ChangeEvent> all;  // Revisions 1..N.
  int64_t head = 0;
  // Per observer: the CREATED event, then its decision if there is one.
  std::vector<std::vector<rv1::ChangeEvent>> per_observer;
  std::vector<rv1::ChangeEvent> setup;  // The election and organisation events.
  std::vector<std::string> serialized;  // all[i] as the store writes it.
};
const History& ExampleHistory();

// The registry's country table (iso-codes).
const CountryCodes& Countries();
// Every ISO 3166-1 alpha-2 code, in order.
const std::vector<std::string>& AllCountryCodes();

// The built-in M49 schemes plus the commission's kz2021-article scheme.
const stats::RegionDirectory& Regions();

// A synced LiveStats holding the counters of `observers` observers: the people of the example
// data set cycled (CREATED then their decision) until there are that many. With `wide`, the
// citizenships and sending states are spread over every ISO country instead of the data
// set's own few dozen, the most distinct groups a register can have. Built once per
// (observers, wide) and kept for the life of the process.
stats::LiveStats& LiveStatsOfSize(int64_t observers, bool wide);

// Feeds `observers` observers into `counters` as LiveStatsOfSize describes.
void FillCounters(stats::Counters& counters, int64_t observers, bool wide);

// The election's resource name in the example data set.
const std::string& ExampleElectionName();

}  // namespace observer::bench

#endif  // OBSERVER_BENCH_MICRO_FIXTURES_H_
