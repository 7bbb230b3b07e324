// The change stream's fan-out. The hub keeps the most recent committed events in a bounded
// in-memory window shared by every watcher; a watcher is only a cursor. A watcher behind the
// window reads the durable change log in batches instead, so a slow watcher costs no memory
// and never blocks the writer or other watchers.
#ifndef OBSERVER_REGISTRY_CHANGELOG_WATCH_HUB_H_
#define OBSERVER_REGISTRY_CHANGELOG_WATCH_HUB_H_

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"
#include "observer/registry/v1/registry_service.pb.h"

namespace observer::registry {

struct WatchHubOptions {
  // Events kept in memory for watchers that are (nearly) caught up.
  int cache_events = 65536;
  // An idle watcher gets a progress notification after this long without events.
  absl::Duration progress_interval = absl::Seconds(5);
};

// What a watcher does when the hub wakes it; called on the hub's notifier thread.
class Wakeable {
 public:
  virtual ~Wakeable() = default;
  // New events were committed past the watcher's cursor (`progress` false), or it has been
  // idle for the progress interval (`progress` true).
  virtual void Wake(bool progress) = 0;
};

class WatchHub {
 public:
  WatchHub(int64_t head_revision, WatchHubOptions options);
  ~WatchHub();
  WatchHub(const WatchHub&) = delete;
  WatchHub& operator=(const WatchHub&) = delete;

  // The store's commit listener: events of one commit, in revision order. Events at or below
  // the head are dropped.
  void Publish(std::vector<v1::ChangeEvent> events);

  int64_t head() const;

  enum class PollResult {
    kEvents,     // `out` holds events from `from` on.
    kReadStore,  // `from` is older than the window: read the durable log.
    kWaiting,    // Caught up; the watcher is registered and will be woken.
  };
  // Up to `max_events`/about `max_bytes` of events with revision >= `from` from the window. If
  // `from` is past the head, registers `watcher` to be woken when events arrive.
  PollResult Poll(int64_t from, int max_events, int64_t max_bytes,
                  const std::shared_ptr<Wakeable>& watcher,
                  std::vector<std::shared_ptr<const v1::ChangeEvent>>& out);
  // Stops waking `watcher`.
  void Forget(const Wakeable* watcher);

  // Number of watchers currently waiting for events (for tests and metrics).
  size_t waiting() const;

 private:
  struct Waiter {
    std::weak_ptr<Wakeable> watcher;
    absl::Time since;
  };

  void NotifierLoop();

  const WatchHubOptions options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  int64_t head_ ABSL_GUARDED_BY(mu_);
  std::deque<std::shared_ptr<const v1::ChangeEvent>> window_ ABSL_GUARDED_BY(mu_);
  std::unordered_map<const Wakeable*, Waiter> waiting_ ABSL_GUARDED_BY(mu_);
  // Watchers to wake on the notifier thread, with the progress flag.
  std::vector<std::pair<std::weak_ptr<Wakeable>, bool>> ready_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread notifier_;
};

}  // namespace observer::registry

#endif  // OBSERVER_REGISTRY_CHANGELOG_WATCH_HUB_H_
