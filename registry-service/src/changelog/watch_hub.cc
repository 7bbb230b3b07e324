#include "registry-service/src/changelog/watch_hub.h"

#include <algorithm>

#include "absl/time/clock.h"
#include "common/thread_name.h"

namespace observer::registry {

WatchHub::WatchHub(int64_t head_revision, WatchHubOptions options)
    : options_(options), head_(head_revision) {
  notifier_ = std::thread([this] {
    SetCurrentThreadName("watch-notifier");
    NotifierLoop();
  });
}

WatchHub::~WatchHub() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  notifier_.join();
}

void WatchHub::Publish(std::vector<v1::ChangeEvent> events) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    const int64_t before = head_;
    for (auto& e : events) {
      // A store shared by several replicas may publish changes committed before the hub was
      // made (at the head the hub started from): those are older than the head, and dropped.
      if (e.revision() <= head_) continue;
      head_ = e.revision();
      window_.push_back(std::make_shared<const v1::ChangeEvent>(std::move(e)));
    }
    if (head_ == before) return;
    while (static_cast<int>(window_.size()) > options_.cache_events) window_.pop_front();
    for (auto& [key, waiter] : waiting_) ready_.emplace_back(std::move(waiter.watcher), false);
    waiting_.clear();
  }
  cv_.notify_all();
}

int64_t WatchHub::head() const {
  std::lock_guard<std::mutex> lock(mu_);
  return head_;
}

size_t WatchHub::waiting() const {
  std::lock_guard<std::mutex> lock(mu_);
  return waiting_.size();
}

WatchHub::PollResult WatchHub::Poll(int64_t from, int max_events, int64_t max_bytes,
                                    const std::shared_ptr<Wakeable>& watcher,
                                    std::vector<std::shared_ptr<const v1::ChangeEvent>>& out) {
  std::lock_guard<std::mutex> lock(mu_);
  if (from > head_) {
    waiting_.try_emplace(watcher.get(), Waiter{watcher, absl::Now()});
    return PollResult::kWaiting;
  }
  if (window_.empty() || from < window_.front()->revision()) return PollResult::kReadStore;
  // Revisions in the window are contiguous, so the position is an offset.
  size_t i = static_cast<size_t>(from - window_.front()->revision());
  int64_t bytes = 0;
  for (; i < window_.size() && static_cast<int>(out.size()) < max_events; ++i) {
    const int64_t size = static_cast<int64_t>(window_[i]->ByteSizeLong());
    if (!out.empty() && bytes + size > max_bytes) break;
    bytes += size;
    out.push_back(window_[i]);
  }
  return PollResult::kEvents;
}

void WatchHub::Forget(const Wakeable* watcher) {
  std::lock_guard<std::mutex> lock(mu_);
  waiting_.erase(watcher);
}

void WatchHub::NotifierLoop() {
  const absl::Duration tick =
      std::max(absl::Milliseconds(10), std::min(options_.progress_interval / 4, absl::Seconds(1)));
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    cv_.wait_for(lock, absl::ToChronoMilliseconds(tick),
                 [this] { return stopping_ || !ready_.empty(); });
    if (stopping_) break;
    const absl::Time now = absl::Now();
    for (auto it = waiting_.begin(); it != waiting_.end();) {
      if (now - it->second.since >= options_.progress_interval) {
        ready_.emplace_back(std::move(it->second.watcher), true);
        it = waiting_.erase(it);
      } else {
        ++it;
      }
    }
    std::vector<std::pair<std::weak_ptr<Wakeable>, bool>> ready;
    ready.swap(ready_);
    lock.unlock();
    // Watchers are woken without the hub's lock: they call Poll from Wake.
    for (auto& [weak, progress] : ready) {
      if (auto watcher = weak.lock()) watcher->Wake(progress);
    }
    lock.lock();
  }
}

}  // namespace observer::registry
