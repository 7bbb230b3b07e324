// One Watch call: the optional initial state (every record at revision R from one read
// transaction, then a completion marker), then changes in revision order from the hub's
// window or, when behind it, from the durable change log; progress notifications when idle.
// Transport-neutral: the transport provides a WatchSink and reports when a send completed.
#ifndef OBSERVER_REGISTRY_CHANGELOG_WATCH_SESSION_H_
#define OBSERVER_REGISTRY_CHANGELOG_WATCH_SESSION_H_

#include <memory>
#include <mutex>
#include <optional>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "observer/registry/v1/registry_service.pb.h"
#include "registry-service/src/changelog/watch_hub.h"
#include "registry-service/src/storage/store.h"

namespace observer::registry {

// The transport side of a watch. Send and Finish are never called concurrently, never while
// a send is outstanding, and nothing is called after Finish.
class WatchSink {
 public:
  virtual ~WatchSink() = default;
  // Starts sending `response`, which stays valid until the session's OnSent.
  virtual void Send(const v1::WatchResponse* response) = 0;
  virtual void Finish(const absl::Status& status) = 0;
};

struct WatchLimits {
  int max_events_per_response = 1000;
  int64_t max_bytes_per_response = 1 << 20;  // Well under gRPC's 4 MiB default.
  int snapshot_batch = 500;
};

class WatchSession final : public Wakeable, public std::enable_shared_from_this<WatchSession> {
 public:
  WatchSession(Store& store, WatchHub& hub, WatchSink* sink, WatchLimits limits = {});
  ~WatchSession() override;

  // Validates the request and starts streaming; errors (bad arguments, a compacted start
  // revision) finish the call through the sink.
  void Start(const v1::WatchRequest& request);
  // The previous Send completed; `ok` false means the stream is broken.
  void OnSent(bool ok);
  // The client went away.
  void Cancel();
  // Ends the watch with `status` (e.g. UNAVAILABLE when the server is stopping).
  void Close(const absl::Status& status);

  void Wake(bool progress) override;

  // The last revision handed to the transport (during the initial state: the snapshot's
  // revision); head minus it is how far the watcher is behind. -1 before the start.
  int64_t Position();

 private:
  // What to do after the lock is released.
  struct Action {
    const v1::WatchResponse* send = nullptr;
    std::optional<absl::Status> finish;
  };
  void Pump(Action& action) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Fail(const absl::Status& status, Action& action) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void SendLocked(Action& action) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Run(const Action& action);

  Store& store_;
  WatchHub& hub_;
  WatchSink* const sink_;
  const WatchLimits limits_;

  std::mutex mu_;
  bool sending_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<absl::Status> finish_after_send_ ABSL_GUARDED_BY(mu_);
  int64_t cursor_ ABSL_GUARDED_BY(mu_) = 0;  // Next revision to send.
  std::unique_ptr<SnapshotReader> snapshot_ ABSL_GUARDED_BY(mu_);
  v1::WatchResponse response_ ABSL_GUARDED_BY(mu_);
};

}  // namespace observer::registry

#endif  // OBSERVER_REGISTRY_CHANGELOG_WATCH_SESSION_H_
