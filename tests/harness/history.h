// A record of every write a reliability test made, with its outcome, and the checks run against
// the final store and change stream once the run is over (the shape of etcd's robustness tests
// and Jepsen's histories: record what the clients saw, then check it against what was kept).
//
//   History history;
//   const int64_t op = history.Invoke("CreateObserver", request_id, /*target=*/"");
//   auto resp = client.CreateObserver(req);
//   history.Complete(op, resp.status(), resp.ok() ? &resp->observer() : nullptr,
//                    resp.ok() ? resp->revision() : 0);
//   ...
//   ASSERT_OK_AND_ASSIGN(FinalState state, ReadFinalState(client));
//   EXPECT_THAT(CheckHistory(history, state), IsEmpty());
#ifndef OBSERVER_TESTS_HARNESS_HISTORY_H_
#define OBSERVER_TESTS_HARNESS_HISTORY_H_

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "observer/registry/v1/registry_service.pb.h"
#include "tests/harness/registry_client.h"

namespace observer::testing {

// What a client can know about a write from its answer.
enum class Outcome {
  kPending,  // Invoked, not completed yet.
  kAcked,    // OK: the write is durable.
  kFailed,   // The server decided not to apply it: an error carrying our ErrorInfo (any code).
  kUnknown,  // The client cannot know: the connection broke, its deadline passed, it cancelled
             // (an error without our ErrorInfo, e.g. UNAVAILABLE from the transport).
};
Outcome Classify(const absl::Status& status);
const char* OutcomeName(Outcome outcome);

// One attempt of one write call.
struct Operation {
  int64_t id = 0;          // Order of invocation, from 0.
  std::string method;      // "CreateObserver", "AccreditObserver", ...
  std::string request_id;  // Every recorded write carries one.
  std::string target;      // The observer's name; "" for a create until it is acked.
  absl::Time invoked;
  absl::Time completed;
  Outcome outcome = Outcome::kPending;
  absl::Status status;
  std::optional<rv1::Observer> acked;  // The record as acknowledged (with personal data).
  int64_t revision = 0;                // The revision the acknowledgement named.
};

// Thread-safe.
class History {
 public:
  // Records the start of a call; returns its id for Complete.
  int64_t Invoke(std::string method, std::string request_id, std::string target);
  // Records its end. `acked` is the record in the response (null unless OK).
  void Complete(int64_t id, const absl::Status& status, const rv1::Observer* acked,
                int64_t revision);
  std::vector<Operation> operations() const;
  // "1234 ops: 1200 acked, 10 failed, 24 unknown, 0 pending".
  std::string Summary() const;

 private:
  mutable std::mutex mu_;
  std::vector<Operation> ops_;  // Guarded by mu_; indexed by id.
};

// Everything the registry holds once the run is over, read through its API.
struct FinalState {
  int64_t head = 0;
  int64_t compact = 1;                   // First revision of the change log.
  std::vector<rv1::Observer> observers;  // Every observer of every election, as listed.
  std::vector<rv1::ChangeEvent> events;  // Revisions compact..head, from a Watch.
};
// Read while nobody writes: retried (until `timeout`) while the server is unreachable or the
// head moves during the listing.
absl::StatusOr<FinalState> ReadFinalState(RegistryClient& client,
                                          absl::Duration timeout = absl::Seconds(60));

// What the checks found; empty when the history is explained by the final state. Each entry is
// one violation, readable on its own ("op 17 CreateObserver rid=w3-17 acked at 120 but ...").
// The checks:
//  - the change log is gap-free from `compact` to `head`, each revision once, in order;
//  - replaying the observer events' after-images gives exactly the listed observers (personal
//    data stripped from the listing), and every listed observer's revision is an event of its
//    own (a record below a compaction point is exempt when no retained event names it);
//  - every acked write's revision holds an event with its request id and target whose
//    after-image is the acknowledged record (personal data stripped); every acked create's
//    record exists (unless an event deleted it); the record equals the last acked image
//    (personal data included) when no unknown or pending op without a definite answer for its
//    request id touched it, and otherwise is at least that revision;
//  - no event carries the request id of a definitely failed call;
//  - at most one event per request id (a retried or repeated request is applied once), and the
//    event of a change (not a create) names the observer the call named;
//  - every pending operation is reported (a test must complete every call it started).
// Only observers are compared; elections and organisations may be in the log (set-up writes).
std::vector<std::string> CheckHistory(const History& history, const FinalState& state);

}  // namespace observer::testing

#endif  // OBSERVER_TESTS_HARNESS_HISTORY_H_
