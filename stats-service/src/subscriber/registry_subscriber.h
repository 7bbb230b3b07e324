// Follows the registry's change stream and keeps LiveStats up to date.
//
// Start-up and every rebuild: Watch with the initial state (all records at revision R, the
// completion marker, then live changes from R+1), counted into a fresh Counters object that
// replaces the served one only when complete. After a broken stream: reconnect with
// exponential backoff (with jitter) and resume after the last applied revision. When the
// registry answers that the resume point is compacted (REVISION_COMPACTED) or not from its
// history (REVISION_AHEAD), or when an event does not fit the counters, rebuild from a fresh
// initial state; the old figures are served, with their old revision, until then.
//
// Health: not ready until the first initial state is complete; not ready again while nothing
// has been heard from the registry for longer than the staleness bound (the registry sends
// progress notifications on idle streams, so silence means it is unreachable), and while the
// counters cannot follow the stream (until a rebuild succeeds). Retries back off exponentially
// unless the last attempt made progress, so a rebuild that keeps failing is not a tight loop.
#ifndef OBSERVER_STATS_SERVICE_SRC_SUBSCRIBER_REGISTRY_SUBSCRIBER_H_
#define OBSERVER_STATS_SERVICE_SRC_SUBSCRIBER_REGISTRY_SUBSCRIBER_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/time/time.h"
#include "observer/registry/v1/registry_service.grpc.pb.h"
#include "stats-service/src/aggregate/live_stats.h"

namespace observer::stats {

struct SubscriberOptions {
  absl::Duration initial_backoff = absl::Milliseconds(100);
  absl::Duration max_backoff = absl::Seconds(10);
  // Not ready when nothing was heard from the registry for longer than this.
  absl::Duration staleness_bound = absl::Seconds(30);
  // A stream silent for this long is abandoned and reopened (the registry's progress
  // notifications come every few seconds on a healthy stream).
  absl::Duration idle_timeout = absl::Seconds(20);
  // Called with the new readiness whenever it changes (from the subscriber's threads).
  std::function<void(bool ready)> on_ready_changed;
};

class RegistrySubscriber {
 public:
  RegistrySubscriber(std::shared_ptr<grpc::Channel> channel, LiveStats& live,
                     SubscriberOptions options);
  ~RegistrySubscriber();  // Stops.
  RegistrySubscriber(const RegistrySubscriber&) = delete;
  RegistrySubscriber& operator=(const RegistrySubscriber&) = delete;

  void Start();
  // Cancels the stream and joins the threads. Idempotent.
  void Stop();

  // Where the subscriber stands, for metrics. Thread-safe.
  struct Progress {
    int64_t registry_head = 0;   // The latest revision the registry has reported.
    int64_t applied = 0;         // The revision the served figures reflect.
    int64_t events_applied = 0;  // Live events applied since start.
    int64_t rebuilds = 0;        // Rebuilds from a fresh initial state (relists).
    int64_t reconnects = 0;
    double seconds_behind = 0;  // How long the figures have lagged the registry's head.
    bool ready = false;
    bool connected = false;  // A change stream is open.
  };
  Progress GetProgress();

 private:
  enum class Outcome { kRetry, kRebuild, kStopped };

  void Run();
  // One Watch call, from open to end. `*rebuild` in: start from an initial state; out: whether
  // the next call must (false once an initial state completed, true when the counters can no
  // longer be resumed). `*progressed`: whether the applied revision moved or a rebuild
  // completed.
  Outcome Follow(bool* rebuild, bool* progressed);
  void Watchdog();
  void Touch();  // Something was heard from the registry.
  // After each response: the registry's head as the response reported it.
  void NoteHead(int64_t header_revision);
  void UpdateReadiness();
  // Sleeps for `d` unless stopped first; false if stopped.
  bool SleepUnlessStopped(absl::Duration d);

  std::unique_ptr<registry::v1::RegistryService::Stub> stub_;
  LiveStats& live_;
  const SubscriberOptions options_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;                  // Guarded by mu_.
  grpc::ClientContext* active_ = nullptr;  // Guarded by mu_: the open stream.
  absl::Time last_heard_;                  // Guarded by mu_.
  absl::Time stream_last_message_;         // Guarded by mu_.
  // Since when the applied revision has been below the registry's head; InfiniteFuture when
  // it is not.
  absl::Time behind_since_ = absl::InfiniteFuture();  // Guarded by mu_.
  std::atomic<int64_t> registry_head_{0};
  std::atomic<int64_t> events_applied_{0};

  std::mutex readiness_mu_;  // Serializes UpdateReadiness.
  std::atomic<bool> ready_{false};
  // An event did not fit the counters; cleared by the next completed rebuild.
  std::atomic<bool> out_of_step_{false};
  std::atomic<int64_t> rebuilds_{0};    // For the logs.
  std::atomic<int64_t> reconnects_{0};  // For the logs.
  std::thread runner_;
  std::thread watchdog_;
};

}  // namespace observer::stats

#endif  // OBSERVER_STATS_SERVICE_SRC_SUBSCRIBER_REGISTRY_SUBSCRIBER_H_
