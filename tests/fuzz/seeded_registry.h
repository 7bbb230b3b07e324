// The fuzz targets' registry: the real domain Registry over a real SqliteStore in a temporary
// directory (on /dev/shm when there is one, so that fsync costs nothing), seeded once per process
// with known records and a pinned clock. Every run starts from the seeded state: a run that wrote
// something gets a fresh copy of the seeded file (ResetIfChanged); a run that only failed or read
// costs no copy. Not thread-safe: libFuzzer runs one input at a time.
#ifndef OBSERVER_TESTS_FUZZ_SEEDED_REGISTRY_H_
#define OBSERVER_TESTS_FUZZ_SEEDED_REGISTRY_H_

#include <future>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "observer/registry/v1/registry_service.pb.h"
#include "registry-service/src/domain/registry.h"
#include "registry-service/src/storage/sqlite_store.h"
#include "tests/fuzz/fuzz_check.h"

namespace observer::fuzz {

namespace v1 = ::observer::registry::v1;

// The seeded records (names as the registry gave them).
struct Seed {
  static constexpr absl::string_view kElection = "elections/kz-2021";
  // Accreditation opened 30 days before Now().
  static constexpr absl::string_view kOtherElection = "elections/ge-2024";
  // Accreditation closed in 2019; no observers.
  static constexpr absl::string_view kClosedElection = "elections/kz-2019";
  // Organisations: OSCE (parent), OSCE-ODIHR (child of OSCE), CIS-EC.
  std::vector<std::string> organisations;
  // Observers of kz-2021 in seeding order: SUBMITTED, ACCREDITED, REJECTED, SUSPENDED,
  // WITHDRAWN, then more SUBMITTED and ACCREDITED ones with other bodies, tags and test flags.
  std::vector<std::string> observers;
  // Observers of ge-2024.
  std::vector<std::string> other_observers;
  int64_t revision = 0;  // Head revision after seeding.
};

class SeededRegistry {
 public:
  // The clock every run sees: 2021-01-02T06:00:00Z, two days before kz-2021's deadline.
  static absl::Time Now();

  // Built on first use (seeding takes a moment), then reused by every run.
  static SeededRegistry& Get();

  registry::Registry& registry() { return *registry_; }
  registry::Store& store() { return *store_; }
  const Seed& seed() const { return seed_; }
  const registry::RequestContext& context() const { return context_; }

  // The callers a run can act as: 0 is unrestricted, 1 a submitter confined to
  // organisations/OSCE-ODIHR, 2 one confined to states/US (RequestContext::sending_body).
  static constexpr int kCallers = 3;
  const registry::RequestContext& caller(int i) const { return callers_[i]; }
  // Whether `ctx` may see `observer`, as RequestContext::sending_body describes it.
  static bool Visible(const registry::RequestContext& ctx, const v1::Observer& observer);
  // The names of the seeded observers caller `i` may not see.
  const std::vector<std::string>& HiddenFrom(int i) const { return hidden_[i]; }

  // A write method of Registry, waited for.
  template <typename Request, typename Response>
  absl::StatusOr<Response> Write(const registry::RequestContext& ctx,
                                 void (registry::Registry::*method)(const registry::RequestContext&,
                                                                    const Request&,
                                                                    registry::Callback<Response>),
                                 const Request& request) {
    std::promise<absl::StatusOr<Response>> answer;
    (registry_.get()->*method)(
        ctx, request, [&answer](absl::StatusOr<Response> r) { answer.set_value(std::move(r)); });
    return answer.get_future().get();
  }
  template <typename Request, typename Response>
  absl::StatusOr<Response> Write(void (registry::Registry::*method)(const registry::RequestContext&,
                                                                    const Request&,
                                                                    registry::Callback<Response>),
                                 const Request& request) {
    return Write(context_, method, request);
  }

  // The store's head revision now.
  int64_t HeadRevision();

  // Puts the seeded state back if more than `allowed_changes` revisions were written since
  // seeding. A reset reopens the store (about 20 ms under ASan): a target whose runs mostly
  // succeed may let a few changes pile up, as long as its properties hold in any state.
  void ResetIfChanged(int64_t allowed_changes = 0);
  // Puts the seeded state back now: after a write that stored something without a revision
  // (the request_id of a batch that created nothing).
  void Reset();

  // `elections/kz-2021/observers/N` with N a digit 0-9 names the N-th seeded observer of
  // kz-2021 (`ge-2024` likewise): observer ids are random, so inputs name them by number.
  // Anything else comes back unchanged.
  std::string ResolveObserverName(const std::string& name) const;

  // The etag of a seeded record as stored now (empty if there is none).
  std::string CurrentObserverEtag(const std::string& name);

 private:
  SeededRegistry();
  void Open(const std::string& path);
  void CopySeedAndOpen();
  void Close();

  std::string dir_;
  std::string seed_path_;
  std::string work_path_;
  registry::RequestContext context_;
  registry::RequestContext callers_[kCallers];
  std::vector<std::string> hidden_[kCallers];
  std::unique_ptr<registry::SqliteStore> store_;
  std::unique_ptr<registry::Registry> registry_;
  Seed seed_;
};

}  // namespace observer::fuzz

#endif  // OBSERVER_TESTS_FUZZ_SEEDED_REGISTRY_H_
