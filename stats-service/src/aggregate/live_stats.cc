#include "stats-service/src/aggregate/live_stats.h"

#include <algorithm>
#include <shared_mutex>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "common/failpoint.h"
#include "common/thread_name.h"

namespace observer::stats {

LiveStats::LiveStats(const RegionDirectory& regions)
    : regions_(regions), counters_(std::make_unique<Counters>(regions)) {
  notifier_ = std::thread([this] {
    SetCurrentThreadName("stats-notifier");
    NotifierLoop();
  });
}

LiveStats::~LiveStats() {
  {
    std::lock_guard<std::mutex> lock(notify_mu_);
    stop_ = true;
  }
  notify_cv_.notify_all();
  notifier_.join();
}

absl::Status LiveStats::ApplyLive(
    const google::protobuf::RepeatedPtrField<registry::v1::ChangeEvent>& events) {
  std::unique_lock<WriterPreferringLock> lock(state_mu_);
  const int64_t before = revision_;
  absl::Status status;
  for (const registry::v1::ChangeEvent& event : events) {
    if (event.revision() <= revision_) continue;
    if (event.revision() != revision_ + 1) {
      // The stream promises no gaps: a gap means changes were lost on the way.
      status = absl::DataLossError(absl::StrCat("the change stream skipped from revision ",
                                                revision_, " to ", event.revision()));
      break;
    }
    if (status = counters_->Apply(event); !status.ok()) {
      status = absl::Status(status.code(), absl::StrCat("applying the change at revision ",
                                                        event.revision(), ": ", status.message()));
      break;
    }
    revision_ = event.revision();
  }
  // Whatever was applied before a failure is a consistent state at revision_: announce it.
  OBSERVER_FAILPOINT("stats-after-apply-before-publish");
  if (revision_ != before) Publish(revision_);
  return status;
}

void LiveStats::AdvanceTo(int64_t revision) {
  std::unique_lock<WriterPreferringLock> lock(state_mu_);
  if (!synced_ || revision <= revision_) return;
  revision_ = revision;
  Publish(revision_);
}

void LiveStats::SwapIn(std::unique_ptr<Counters> fresh, int64_t revision) {
  std::unique_ptr<Counters> old;
  {
    std::unique_lock<WriterPreferringLock> lock(state_mu_);
    old = std::exchange(counters_, std::move(fresh));
    revision_ = revision;
    synced_ = true;
    Publish(revision_);
  }
  // `old` is freed here, outside the lock.
}

absl::Status LiveStats::Read(
    const std::function<absl::Status(const Counters&, int64_t revision)>& read) const {
  std::shared_lock<WriterPreferringLock> lock(state_mu_);
  if (!synced_) {
    return MakeError(absl::StatusCode::kUnavailable, reason::kNotSynced,
                     "stats-service has not completed its first sync with the registry yet; "
                     "retry shortly");
  }
  return read(*counters_, revision_);
}

int64_t LiveStats::applied_revision() const {
  std::shared_lock<WriterPreferringLock> lock(state_mu_);
  return synced_ ? revision_ : 0;
}

bool LiveStats::synced() const {
  std::shared_lock<WriterPreferringLock> lock(state_mu_);
  return synced_;
}

void LiveStats::Publish(int64_t revision) {
  {
    std::lock_guard<std::mutex> lock(notify_mu_);
    published_revision_ = revision;
    ++generation_;
  }
  notify_cv_.notify_all();
}

uint64_t LiveStats::WaitFor(int64_t revision, absl::Time deadline,
                            std::function<void(bool reached)> done) {
  std::lock_guard<std::mutex> lock(notify_mu_);
  if (published_revision_ >= revision) return 0;
  const uint64_t id = next_id_++;
  waiters_.push_back({id, revision, deadline, std::move(done)});
  waiters_added_ = true;  // The earliest deadline may have changed: the notifier re-reads it.
  notify_cv_.notify_all();
  return id;
}

bool LiveStats::CancelWait(uint64_t id) {
  std::lock_guard<std::mutex> lock(notify_mu_);
  auto it =
      std::find_if(waiters_.begin(), waiters_.end(), [id](const Waiter& w) { return w.id == id; });
  if (it == waiters_.end()) return false;
  waiters_.erase(it);
  return true;
}

uint64_t LiveStats::Subscribe(std::function<void()> changed) {
  auto listener = std::make_shared<Listener>();
  listener->changed = std::move(changed);
  std::lock_guard<std::mutex> lock(notify_mu_);
  const uint64_t id = next_id_++;
  listeners_.emplace_back(id, std::move(listener));
  return id;
}

void LiveStats::Unsubscribe(uint64_t id) {
  std::shared_ptr<Listener> listener;
  {
    std::lock_guard<std::mutex> lock(notify_mu_);
    auto it = std::find_if(listeners_.begin(), listeners_.end(),
                           [id](const auto& entry) { return entry.first == id; });
    if (it == listeners_.end()) return;
    listener = std::move(it->second);
    listeners_.erase(it);
  }
  std::lock_guard<std::mutex> lock(listener->call_mu);  // Waits for a running call.
  listener->active = false;
}

void LiveStats::NotifierLoop() {
  uint64_t seen_generation = 0;
  std::unique_lock<std::mutex> lock(notify_mu_);
  while (true) {
    absl::Time earliest = absl::InfiniteFuture();
    for (const Waiter& w : waiters_) earliest = std::min(earliest, w.deadline);
    auto ready = [&] { return stop_ || waiters_added_ || generation_ != seen_generation; };
    if (earliest == absl::InfiniteFuture()) {
      notify_cv_.wait(lock, ready);
    } else {
      notify_cv_.wait_until(lock, absl::ToChronoTime(earliest), ready);
    }
    waiters_added_ = false;
    // Collect what to call, then call it without the lock.
    const bool changed = generation_ != seen_generation;
    seen_generation = generation_;
    const absl::Time now = absl::Now();
    std::vector<std::pair<std::function<void(bool)>, bool>> fire;
    for (auto it = waiters_.begin(); it != waiters_.end();) {
      const bool reached = it->revision <= published_revision_;
      if (reached || stop_ || it->deadline <= now) {
        fire.emplace_back(std::move(it->done), reached);
        it = waiters_.erase(it);
      } else {
        ++it;
      }
    }
    std::vector<std::shared_ptr<Listener>> listeners;
    if (changed && !stop_) {
      for (const auto& entry : listeners_) listeners.push_back(entry.second);
    }
    const bool stopping = stop_;
    lock.unlock();
    for (auto& [done, reached] : fire) done(reached);
    for (const auto& listener : listeners) {
      std::lock_guard<std::mutex> call_lock(listener->call_mu);
      if (listener->active) listener->changed();
    }
    lock.lock();
    if (stopping) return;
  }
}

}  // namespace observer::stats
