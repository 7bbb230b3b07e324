#include "stats-service/src/subscriber/registry_subscriber.h"

#include <algorithm>
#include <utility>

#include "absl/random/random.h"
#include "absl/time/clock.h"
#include "common/errors.h"
#include "common/failpoint.h"
#include "common/grpc_status.h"
#include "common/log.h"
#include "common/thread_name.h"

namespace observer::stats {

namespace rv1 = ::observer::registry::v1;

RegistrySubscriber::RegistrySubscriber(std::shared_ptr<grpc::Channel> channel, LiveStats& live,
                                       SubscriberOptions options)
    : stub_(rv1::RegistryService::NewStub(std::move(channel))),
      live_(live),
      options_(std::move(options)) {}

RegistrySubscriber::~RegistrySubscriber() { Stop(); }

void RegistrySubscriber::Start() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    last_heard_ = absl::Now();
  }
  runner_ = std::thread([this] {
    SetCurrentThreadName("subscriber");
    Run();
  });
  watchdog_ = std::thread([this] {
    SetCurrentThreadName("sub-watchdog");
    Watchdog();
  });
}

void RegistrySubscriber::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    stopping_ = true;
    if (active_ != nullptr) active_->TryCancel();
  }
  cv_.notify_all();
  if (runner_.joinable()) runner_.join();
  if (watchdog_.joinable()) watchdog_.join();
}

void RegistrySubscriber::NoteHead(int64_t header_revision) {
  int64_t head = registry_head_.load();
  while (header_revision > head && !registry_head_.compare_exchange_weak(head, header_revision)) {
  }
  const bool behind = live_.applied_revision() < registry_head_.load();
  std::lock_guard<std::mutex> lock(mu_);
  if (!behind) {
    behind_since_ = absl::InfiniteFuture();
  } else if (behind_since_ == absl::InfiniteFuture()) {
    behind_since_ = absl::Now();
  }
}

RegistrySubscriber::Progress RegistrySubscriber::GetProgress() {
  Progress p;
  p.registry_head = registry_head_.load();
  p.applied = live_.applied_revision();
  p.events_applied = events_applied_.load();
  p.rebuilds = rebuilds_.load();
  p.reconnects = reconnects_.load();
  p.ready = ready_.load();
  std::lock_guard<std::mutex> lock(mu_);
  p.connected = active_ != nullptr;
  if (p.applied < p.registry_head && behind_since_ != absl::InfiniteFuture()) {
    p.seconds_behind = absl::ToDoubleSeconds(absl::Now() - behind_since_);
  }
  return p;
}

void RegistrySubscriber::Touch() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    last_heard_ = stream_last_message_ = absl::Now();
  }
  UpdateReadiness();
}

void RegistrySubscriber::UpdateReadiness() {
  // One lock across the decision and the callback: two threads deciding concurrently must not
  // deliver their verdicts in the opposite order.
  std::lock_guard<std::mutex> readiness_lock(readiness_mu_);
  bool fresh;
  {
    std::lock_guard<std::mutex> lock(mu_);
    fresh = absl::Now() - last_heard_ <= options_.staleness_bound;
  }
  const bool ready = fresh && !out_of_step_ && live_.synced();
  if (ready_.exchange(ready) != ready) {
    const char* msg = ready          ? "ready: serving figures"
                      : out_of_step_ ? "not ready: the counters cannot follow the change stream"
                      : fresh        ? "not ready: not synced with the registry"
                                     : "not ready: the registry has not been heard from";
    LogInfo(msg, {{"applied_revision", live_.applied_revision()},
                  {"rebuilds", rebuilds_.load()},
                  {"reconnects", reconnects_.load()}});
    if (options_.on_ready_changed) options_.on_ready_changed(ready);
  }
}

bool RegistrySubscriber::SleepUnlessStopped(absl::Duration d) {
  std::unique_lock<std::mutex> lock(mu_);
  return !cv_.wait_for(lock, absl::ToChronoNanoseconds(d), [this] { return stopping_; });
}

void RegistrySubscriber::Watchdog() {
  const absl::Duration tick =
      std::clamp(options_.staleness_bound / 4, absl::Milliseconds(50), absl::Seconds(1));
  while (SleepUnlessStopped(tick)) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (active_ != nullptr && absl::Now() - stream_last_message_ > options_.idle_timeout) {
        LogWarning("the change stream is silent; reopening it",
                   {{"idle_timeout", absl::FormatDuration(options_.idle_timeout)}});
        active_->TryCancel();
      }
    }
    UpdateReadiness();
  }
}

void RegistrySubscriber::Run() {
  absl::BitGen random;
  absl::Duration backoff = options_.initial_backoff;
  bool rebuild = true;  // The first sync starts from an initial state.
  while (true) {
    const bool was_rebuild = rebuild;
    bool progressed = false;
    const Outcome outcome = Follow(&rebuild, &progressed);
    if (outcome == Outcome::kStopped) return;
    if (outcome == Outcome::kRebuild) {
      ++rebuilds_;
      // Rebuilding is the remedy and starts at once, unless a rebuild itself just failed.
      if (!was_rebuild) continue;
    }
    // Only real progress resets the backoff: a stream that delivers a message and then dies,
    // or a rebuild that fails again, must not be retried in a tight loop.
    if (progressed) backoff = options_.initial_backoff;
    ++reconnects_;
    // Jitter: between half the backoff and the whole of it.
    const absl::Duration sleep = backoff / 2 + absl::Uniform(random, 0.0, 0.5) * backoff;
    if (!SleepUnlessStopped(sleep)) return;
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
}

RegistrySubscriber::Outcome RegistrySubscriber::Follow(bool* rebuild, bool* progressed) {
  const bool initial_state = *rebuild;
  grpc::ClientContext context;
  // Names the caller to a registry on plaintext loopback (--insecure-loopback), where the
  // policy, if any, sees this name; with mutual TLS the registry uses the certificate instead.
  context.AddMetadata("x-observer-actor", "stats-service");
  rv1::WatchRequest request;
  if (initial_state) {
    request.set_send_initial_state(true);
  } else {
    request.set_start_revision(live_.applied_revision() + 1);
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return Outcome::kStopped;
    active_ = &context;
    stream_last_message_ = absl::Now();
  }
  LogDebug("opening the change stream",
           {{"initial_state", initial_state}, {"start_revision", request.start_revision()}});
  std::unique_ptr<grpc::ClientReader<rv1::WatchResponse>> reader = stub_->Watch(&context, request);
  std::unique_ptr<Counters> fresh =
      initial_state ? std::make_unique<Counters>(live_.regions()) : nullptr;
  bool out_of_step = false;
  int64_t initial_events = 0;
  rv1::WatchResponse response;
  while (reader->Read(&response)) {
    Touch();
    absl::Status applied;
    if (response.initial_state()) {
      if (fresh == nullptr) {
        applied = absl::InternalError("initial state on a resumed stream");
      } else {
        for (const rv1::ChangeEvent& event : response.events()) {
          applied = fresh->Apply(event);
          if (!applied.ok()) break;
          ++initial_events;
        }
      }
    } else if (response.initial_state_complete()) {
      if (fresh == nullptr) {
        applied = absl::InternalError("initial state marker on a resumed stream");
      } else {
        const int64_t counters = fresh->CounterCount();
        OBSERVER_FAILPOINT("stats-before-swap");
        live_.SwapIn(std::move(fresh), response.header_revision());
        *rebuild = false;
        *progressed = true;
        out_of_step_ = false;
        LogInfo("synced with the registry", {{"revision", response.header_revision()},
                                             {"records", initial_events},
                                             {"counters", counters}});
        UpdateReadiness();
      }
    } else if (fresh != nullptr) {
      // Nothing but the initial state belongs before its marker; a progress notification
      // there would move the revision of the state still being served.
      if (!response.progress_notify()) {
        applied = absl::InternalError("live changes before the initial state was complete");
      }
    } else if (response.progress_notify()) {
      const int64_t before = live_.applied_revision();
      live_.AdvanceTo(response.header_revision());
      *progressed = *progressed || live_.applied_revision() > before;
    } else {
      const int64_t before = live_.applied_revision();
      applied = live_.ApplyLive(response.events());
      events_applied_ += live_.applied_revision() - before;
      *progressed = *progressed || live_.applied_revision() > before;
    }
    NoteHead(response.header_revision());
    if (!applied.ok()) {
      LogError(
          "the change stream does not fit the counters; rebuilding from a fresh initial "
          "state",
          {{"error", applied.message()}});
      out_of_step = true;
      out_of_step_ = true;  // Not ready until a rebuild succeeds.
      UpdateReadiness();
      context.TryCancel();
      break;
    }
  }
  const grpc::Status finish = reader->Finish();
  {
    std::lock_guard<std::mutex> lock(mu_);
    active_ = nullptr;
    if (stopping_) return Outcome::kStopped;
  }
  if (out_of_step) {
    *rebuild = true;
    return Outcome::kRebuild;
  }
  const absl::Status status = FromGrpcStatus(finish);
  const ErrorDetails details = GetErrorDetails(status);
  if (details.reason == reason::kRevisionCompacted || details.reason == reason::kRevisionAhead) {
    LogWarning("cannot resume the change stream; rebuilding from a fresh initial state",
               {{"reason", details.reason},
                {"applied_revision", live_.applied_revision()},
                {"error", status.message()}});
    *rebuild = true;
    return Outcome::kRebuild;
  }
  LogWarning("the change stream ended; reconnecting",
             {{"code", absl::StatusCodeToString(status.code())},
              {"error", status.message()},
              {"applied_revision", live_.applied_revision()}});
  return Outcome::kRetry;
}

}  // namespace observer::stats
