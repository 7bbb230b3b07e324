// Checks a recorded change stream against the contract of DESIGN.md §4 (etcd's watch
// guarantees): ordered, unique, no gaps, atomic revisions, resumable, honest progress events.
//
// Feed it every response of every Watch call a consumer made, in order, with the start of each
// call (a resume) and its end; then ask for the violations. A consumer that resumes after a
// broken stream at last+1 must see last+1 next: across calls the validator checks the whole
// sequence as one.
//
//   WatchValidator v;
//   v.OnStart(request);                 // each Watch call
//   for (auto& r : responses) v.OnResponse(r);
//   v.OnEnd(status);
//   EXPECT_THAT(v.Violations(), IsEmpty());
//   EXPECT_EQ(v.last_revision(), head);
#ifndef OBSERVER_TESTS_HARNESS_WATCH_VALIDATOR_H_
#define OBSERVER_TESTS_HARNESS_WATCH_VALIDATOR_H_

#include <grpcpp/client_context.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "observer/registry/v1/registry_service.pb.h"
#include "tests/harness/registry_client.h"

namespace observer::testing {

class WatchValidator {
 public:
  // A new Watch call. A resume must start at last_revision() + 1 (or with the initial state).
  void OnStart(const rv1::WatchRequest& request);
  void OnResponse(const rv1::WatchResponse& response);
  // The call ended with `status` (OK, or the error it ended with).
  void OnEnd(const absl::Status& status);

  // Checked:
  //  - live events: revisions strictly increasing by exactly one (no gap, no duplicate, no
  //    reordering), from the start revision (or the snapshot revision + 1) on;
  //  - a revision's events arrive in one response (atomic), with one event per revision;
  //  - a response's header_revision is at least its last event's revision and never goes back;
  //  - a progress notification at R promises every revision <= R was delivered: no event at or
  //    below R may follow, and R may not be above the next event's revision - 1;
  //  - the initial state: events only before the completion marker, each record once, each
  //    revision <= the snapshot revision R; live events after it start at R + 1;
  //  - the only errors a stream may end with are the contract's (OUT_OF_RANGE with
  //    REVISION_COMPACTED, UNAVAILABLE, CANCELLED, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED).
  std::vector<std::string> Violations() const { return violations_; }

  // The last revision delivered (events or the snapshot revision); 0 before any.
  int64_t last_revision() const { return last_revision_; }
  // Every live event received, in order (initial-state events are in snapshot()).
  const std::vector<rv1::ChangeEvent>& events() const { return events_; }
  // The records of the latest initial state, by name.
  const std::map<std::string, rv1::ChangeEvent>& snapshot() const { return snapshot_; }
  int64_t progress_notifications() const { return progress_; }
  int64_t calls() const { return calls_; }

 private:
  void Violation(std::string what);
  // "call 2, response 5" (for messages).
  std::string Where() const;
  // header_revision may only grow (the initial-state marker, which carries R, aside).
  void CheckHeader(int64_t header);
  void OnLiveEvents(const rv1::WatchResponse& response);

  std::vector<std::string> violations_;
  std::vector<rv1::ChangeEvent> events_;
  std::map<std::string, rv1::ChangeEvent> snapshot_;
  int64_t last_revision_ = 0;
  int64_t last_header_ = 0;
  int64_t header_at_start_ = 0;   // last_header_ when the current call started.
  int64_t progress_promise_ = 0;  // The highest progress revision seen.
  int64_t progress_ = 0;
  int64_t calls_ = 0;
  int64_t responses_ = 0;  // Over all calls.
  int64_t responses_in_call_ = 0;
  int64_t last_event_response_ = -1;  // The response (over all calls) of the last live event.
  int64_t expected_next_ = 0;         // The revision the next live event must have; 0: any.
  int64_t max_initial_revision_ = 0;  // Of the initial state being received...
  std::string max_initial_name_;      // ... and the record that has it.
  bool call_open_ = false;
  bool call_wants_initial_state_ = false;
  bool in_initial_state_ = false;
  bool expecting_resume_ = false;  // A call ended: the next call is a resume.
};

// A consumer following the registry through crashes: Watches from `start_revision` (0: with
// the initial state), feeds a WatchValidator, and on any stream end reconnects (with a short
// backoff) and resumes at last_revision() + 1, until Stop. `reads_per_second` > 0 reads at most
// that many responses a second (a slow consumer; its channel then has a small fixed HTTP/2
// receive window, so that flow control holds the server back instead of the client buffering
// megabytes). After OUT_OF_RANGE/REVISION_COMPACTED it starts over with the initial state.
// `address` is read at each (re)connect.
class ValidatingWatcher {
 public:
  struct Options {
    int64_t start_revision = 1;
    double reads_per_second = 0;
    absl::Duration backoff = absl::Milliseconds(100);
  };
  ValidatingWatcher(std::function<std::string()> address, Options options);
  ~ValidatingWatcher();  // Stops.
  ValidatingWatcher(const ValidatingWatcher&) = delete;
  ValidatingWatcher& operator=(const ValidatingWatcher&) = delete;

  // Waits until last_revision() >= revision; false on timeout.
  bool WaitFor(int64_t revision, absl::Duration timeout);
  // Changes the read rate from now on (0: as fast as responses arrive), e.g. to let a slow
  // consumer catch up.
  void SetReadsPerSecond(double reads_per_second);
  void Stop();
  // After Stop (or under its lock): the validator's findings.
  std::vector<std::string> Violations();
  int64_t last_revision();
  int64_t reconnects();
  // The end statuses of the calls, for assertions ("cut off with RESOURCE_EXHAUSTED ...").
  std::vector<absl::Status> ends();
  // The validator itself (call after Stop).
  const WatchValidator& validator() const { return validator_; }

 private:
  void Run();

  const std::function<std::string()> address_;
  const Options options_;
  std::atomic<double> reads_per_second_;
  std::mutex mu_;
  std::condition_variable cv_;
  WatchValidator validator_;  // Guarded by mu_.
  std::vector<absl::Status> ends_;
  int64_t reconnects_ = 0;
  bool stop_ = false;
  std::shared_ptr<grpc::ClientContext> context_;  // Of the open call, to cancel it on Stop.
  std::thread thread_;
};

}  // namespace observer::testing

#endif  // OBSERVER_TESTS_HARNESS_WATCH_VALIDATOR_H_
