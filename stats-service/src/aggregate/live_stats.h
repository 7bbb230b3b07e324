// The statistics as served: the counters at the last applied registry revision, shared between
// the subscriber (one writer) and the query handlers (many readers), plus notifications when
// the applied revision moves (for `min_revision` waits and streaming answers).
//
// Readers always see a whole revision: a batch of events is applied under the write lock and
// the revision moves with it. A rebuilt state (after a relist) is swapped in whole, so no
// reader ever sees a mix of the old and the new.
//
// No gRPC here.
#ifndef OBSERVER_STATS_SERVICE_SRC_AGGREGATE_LIVE_STATS_H_
#define OBSERVER_STATS_SERVICE_SRC_AGGREGATE_LIVE_STATS_H_

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "observer/registry/v1/registry_service.pb.h"
#include "stats-service/src/aggregate/counters.h"
#include "stats-service/src/aggregate/rw_lock.h"

namespace observer::stats {

class LiveStats {
 public:
  // `regions` must outlive this object.
  explicit LiveStats(const RegionDirectory& regions);
  ~LiveStats();  // Stops the notifier thread; waiters still pending get `reached = false`.
  LiveStats(const LiveStats&) = delete;
  LiveStats& operator=(const LiveStats&) = delete;

  const RegionDirectory& regions() const { return regions_; }

  // --- The writer (the subscriber) ------------------------------------------------------------

  // Applies live events (one response of the change stream, in revision order). Events at or
  // below the applied revision are dropped (a resumed stream may repeat some). An error (a gap
  // in the revisions, or an event that does not fit) means the counters can no longer follow
  // the registry: the caller must rebuild from a fresh initial state. The events before the
  // failing one stay applied; the failing one changes nothing.
  absl::Status ApplyLive(
      const google::protobuf::RepeatedPtrField<registry::v1::ChangeEvent>& events);
  // Everything up to `revision` has been delivered (a progress notification): moves the
  // applied revision there if it is behind.
  void AdvanceTo(int64_t revision);
  // Replaces the whole state by `fresh`, which reflects `revision` (a completed initial state).
  // Marks the state synced.
  void SwapIn(std::unique_ptr<Counters> fresh, int64_t revision);

  // --- Readers --------------------------------------------------------------------------------

  // Runs `read` under the read lock with the counters and the revision they reflect. Returns
  // UNAVAILABLE (reason NOT_SYNCED) before the first initial state is complete.
  absl::Status Read(
      const std::function<absl::Status(const Counters&, int64_t revision)>& read) const;
  int64_t applied_revision() const;
  bool synced() const;

  // Returns 0 if `revision` is already applied (`done` is not called). Otherwise calls
  // `done(true)` on the notifier thread once `revision` is applied, or `done(false)` at
  // `deadline` (or when this object is destroyed), and returns an id for CancelWait.
  uint64_t WaitFor(int64_t revision, absl::Time deadline, std::function<void(bool reached)> done);
  // Forgets a wait. True if it was still pending (`done` will not be called); false if `done`
  // has run or is running.
  bool CancelWait(uint64_t id);

  // Calls `changed()` on the notifier thread after the applied revision moves (coalesced: many
  // moves during one call make one more call). Returns an id for Unsubscribe.
  uint64_t Subscribe(std::function<void()> changed);
  // After it returns, `changed` is not running and will not run again. Must not be called from
  // within `changed`.
  void Unsubscribe(uint64_t id);

 private:
  struct Waiter {
    uint64_t id;
    int64_t revision;
    absl::Time deadline;
    std::function<void(bool)> done;
  };
  struct Listener {
    std::function<void()> changed;
    std::mutex call_mu;
    bool active = true;  // Guarded by call_mu.
  };

  void Publish(int64_t revision);  // Called with state_mu_ held exclusively.
  void NotifierLoop();

  const RegionDirectory& regions_;

  // Writer-preferring: a busy query load must not starve the subscriber's writes.
  mutable WriterPreferringLock state_mu_;
  std::unique_ptr<Counters> counters_;  // Guarded by state_mu_.
  int64_t revision_ = 0;                // Guarded by state_mu_.
  bool synced_ = false;                 // Guarded by state_mu_.

  std::mutex notify_mu_;
  std::condition_variable notify_cv_;
  int64_t published_revision_ = 0;  // Guarded by notify_mu_.
  uint64_t generation_ = 0;         // Guarded by notify_mu_; bumped on every publish.
  uint64_t next_id_ = 1;            // Guarded by notify_mu_.
  std::vector<Waiter> waiters_;     // Guarded by notify_mu_.
  bool waiters_added_ = false;      // Guarded by notify_mu_; set by WaitFor.
  std::vector<std::pair<uint64_t, std::shared_ptr<Listener>>> listeners_;  // Guarded by notify_mu_.
  bool stop_ = false;                                                      // Guarded by notify_mu_.
  std::thread notifier_;
};

}  // namespace observer::stats

#endif  // OBSERVER_STATS_SERVICE_SRC_AGGREGATE_LIVE_STATS_H_
