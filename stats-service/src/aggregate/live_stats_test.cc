#include "stats-service/src/aggregate/live_stats.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/country_codes.h"
#include "common/errors.h"
#include "common/resource_names.h"
#include "stats-service/src/aggregate/counters.h"
#include "stats-service/src/aggregate/regions.h"
#include "stats-service/src/aggregate/test_regions.h"

namespace observer::stats {
namespace {

namespace rv1 = ::observer::registry::v1;
using Events = google::protobuf::RepeatedPtrField<rv1::ChangeEvent>;

constexpr absl::string_view kElection = "kz-2021";

// Generous: only a broken implementation waits this long.
constexpr std::chrono::seconds kPatience(10);
// How long to watch for something that must not happen.
constexpr std::chrono::milliseconds kSettle(200);

using ::observer::stats::testing::Regions;

rv1::Observer StateObserver(absl::string_view id, absl::string_view state) {
  rv1::Observer observer;
  observer.set_name(ObserverName(kElection, id));
  observer.mutable_sending_body()->set_state(std::string(state));
  observer.set_citizenship(std::string(state));
  observer.set_status(rv1::OBSERVER_STATUS_ACCREDITED);
  observer.set_category(rv1::OBSERVER_CATEGORY_SHORT_TERM);
  return observer;
}

rv1::Observer OrganisationObserver(absl::string_view id, absl::string_view code) {
  rv1::Observer observer = StateObserver(id, "DE");
  observer.mutable_sending_body()->set_organisation(OrganisationName(code));
  return observer;
}

rv1::ChangeEvent Created(int64_t revision, const rv1::Observer& observer) {
  rv1::ChangeEvent event;
  event.set_revision(revision);
  event.set_type(rv1::CHANGE_TYPE_CREATED);
  event.set_kind(rv1::RESOURCE_KIND_OBSERVER);
  event.set_name(observer.name());
  *event.mutable_after()->mutable_observer() = observer;
  return event;
}

rv1::ChangeEvent Deleted(int64_t revision, const rv1::Observer& observer) {
  rv1::ChangeEvent event;
  event.set_revision(revision);
  event.set_type(rv1::CHANGE_TYPE_DELETED);
  event.set_kind(rv1::RESOURCE_KIND_OBSERVER);
  event.set_name(observer.name());
  *event.mutable_before()->mutable_observer() = observer;
  return event;
}

rv1::ChangeEvent ElectionCreated(int64_t revision) {
  rv1::ChangeEvent event;
  event.set_revision(revision);
  event.set_type(rv1::CHANGE_TYPE_CREATED);
  event.set_kind(rv1::RESOURCE_KIND_ELECTION);
  event.set_name(ElectionName(kElection));
  event.mutable_after()->mutable_election()->set_name(ElectionName(kElection));
  return event;
}

Events Batch(std::vector<rv1::ChangeEvent> events) {
  Events batch;
  for (rv1::ChangeEvent& event : events) *batch.Add() = std::move(event);
  return batch;
}

// Counters with the election and `observers` (created at revisions 2, 3, ...).
std::unique_ptr<Counters> CountersWith(const std::vector<rv1::Observer>& observers) {
  auto counters = std::make_unique<Counters>(Regions());
  EXPECT_TRUE(counters->Apply(ElectionCreated(1)).ok());
  int64_t revision = 1;
  for (const rv1::Observer& observer : observers) {
    const absl::Status status = counters->Apply(Created(++revision, observer));
    EXPECT_TRUE(status.ok()) << status;
  }
  return counters;
}

v1::GetSummaryRequest DefaultSummary() {
  v1::GetSummaryRequest request;
  request.set_election(ElectionName(kElection));
  return request;
}

// "N: A/K + B/J" of the default summary.
std::string Figures(const Counters& counters) {
  const absl::StatusOr<v1::Summary> summary = counters.Summarize(DefaultSummary());
  if (!summary.ok()) return summary.status().ToString();
  return absl::StrCat(summary->observers(), ": ", summary->organisation_observers(), "/",
                      summary->organisations(), " + ", summary->state_observers(), "/",
                      summary->states());
}

// (revision, figures) as a reader sees them.
std::pair<int64_t, std::string> Snapshot(const LiveStats& live) {
  std::pair<int64_t, std::string> seen{-1, ""};
  const absl::Status status = live.Read([&seen](const Counters& counters, int64_t revision) {
    seen = {revision, Figures(counters)};
    return absl::OkStatus();
  });
  EXPECT_TRUE(status.ok()) << status;
  return seen;
}

// Records the calls of a WaitFor `done`; shared with the callback so that a late call (e.g.
// from the destructor) never touches a dead test frame.
struct DoneLog {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<bool> calls;

  std::function<void(bool)> Callback(const std::shared_ptr<DoneLog>& self) {
    return [self](bool reached) {
      std::lock_guard<std::mutex> lock(self->mu);
      self->calls.push_back(reached);
      self->cv.notify_all();
    };
  }
  // Waits up to kPatience for at least `n` calls; returns the calls so far.
  std::vector<bool> WaitForCalls(size_t n) {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait_for(lock, kPatience, [&] { return calls.size() >= n; });
    return calls;
  }
  std::vector<bool> Calls() {
    std::lock_guard<std::mutex> lock(mu);
    return calls;
  }
};

// Counts the calls of a Subscribe callback.
struct CallCounter {
  std::mutex mu;
  std::condition_variable cv;
  int calls = 0;

  void Called() {
    std::lock_guard<std::mutex> lock(mu);
    ++calls;
    cv.notify_all();
  }
  int WaitForCalls(int n) {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait_for(lock, kPatience, [&] { return calls >= n; });
    return calls;
  }
  int Calls() {
    std::lock_guard<std::mutex> lock(mu);
    return calls;
  }
};

// A one-shot flag threads can wait for.
class Latch {
 public:
  void Open() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  bool WaitOpen(std::chrono::milliseconds timeout = kPatience) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return open_; });
  }
  bool IsOpen() {
    std::lock_guard<std::mutex> lock(mu_);
    return open_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

// --- Sync and reads ---------------------------------------------------------------------------

TEST(LiveStatsTest, ReadBeforeTheFirstSwapInIsUnavailableNotSynced) {
  LiveStats live(Regions());
  bool called = false;
  const absl::Status status = live.Read([&called](const Counters&, int64_t) {
    called = true;
    return absl::OkStatus();
  });
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_EQ(GetErrorDetails(status).reason, reason::kNotSynced);
  EXPECT_FALSE(called);
  EXPECT_FALSE(live.synced());
  EXPECT_EQ(live.applied_revision(), 0);
  EXPECT_EQ(&live.regions(), &Regions());

  // A progress notification before the sync does not make it readable either.
  live.AdvanceTo(50);
  EXPECT_FALSE(live.synced());
  EXPECT_EQ(live.applied_revision(), 0);
  EXPECT_EQ(live.Read([](const Counters&, int64_t) { return absl::OkStatus(); }).code(),
            absl::StatusCode::kUnavailable);
}

TEST(LiveStatsTest, SwapInMakesTheStateReadableAtItsRevision) {
  LiveStats live(Regions());
  live.SwapIn(CountersWith({StateObserver("a1", "FR"), OrganisationObserver("a2", "CIS")}), 10);
  EXPECT_TRUE(live.synced());
  EXPECT_EQ(live.applied_revision(), 10);
  EXPECT_EQ(Snapshot(live), std::make_pair(int64_t{10}, std::string("2: 1/1 + 1/1")));
  // Read passes on the reader's status.
  EXPECT_EQ(live.Read([](const Counters&, int64_t) { return absl::NotFoundError("x"); }).code(),
            absl::StatusCode::kNotFound);

  // A rebuilt state replaces the old one whole.
  live.SwapIn(CountersWith({StateObserver("b1", "DE")}), 20);
  EXPECT_EQ(Snapshot(live), std::make_pair(int64_t{20}, std::string("1: 0/0 + 1/1")));
}

TEST(LiveStatsTest, ApplyLiveDropsEventsAtOrBelowTheAppliedRevision) {
  LiveStats live(Regions());
  const rv1::Observer a1 = StateObserver("a1", "FR");
  live.SwapIn(CountersWith({a1}), 10);  // a1 created at revision 2.

  // A resumed stream repeats revisions 9 and 10: applying them would count twice (9) or
  // delete an observer that is there (10).
  const Events batch = Batch({Created(9, StateObserver("x9", "TR")), Deleted(10, a1),
                              Created(11, StateObserver("a2", "DE"))});
  absl::Status status = live.ApplyLive(batch);
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_EQ(Snapshot(live), std::make_pair(int64_t{11}, std::string("2: 0/0 + 2/2")));

  // The same batch again: everything is at or below 11 now.
  status = live.ApplyLive(batch);
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_EQ(Snapshot(live), std::make_pair(int64_t{11}, std::string("2: 0/0 + 2/2")));

  // An empty batch changes nothing.
  EXPECT_TRUE(live.ApplyLive(Events()).ok());
  EXPECT_EQ(live.applied_revision(), 11);
}

TEST(LiveStatsTest, ApplyLiveReportsAnEventOutOfStep) {
  LiveStats live(Regions());
  live.SwapIn(CountersWith({StateObserver("a1", "FR")}), 10);
  const absl::Status status = live.ApplyLive(Batch({Deleted(11, StateObserver("zz", "TR"))}));
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find("11"), absl::string_view::npos) << status;
  EXPECT_EQ(live.applied_revision(), 10);
}

// "Readers always see a whole revision", and "the failing one changes nothing": after a failed
// event the caller rebuilds, but until the rebuilt state is swapped in, readers keep reading
// this one.
TEST(LiveStatsTest, FailedEventLeavesReadersTheLastAppliedRevision) {
  LiveStats live(Regions());
  const rv1::Observer a1 = StateObserver("a1", "FR");
  live.SwapIn(CountersWith({a1, StateObserver("a2", "DE")}), 10);
  const std::pair<int64_t, std::string> before = Snapshot(live);

  // Out of step: the registry says a1 had another citizenship. Everything but the citizenship
  // matches what is counted, so only a check of the whole image before any change refuses it
  // cleanly.
  rv1::Observer wrong = a1;
  wrong.set_citizenship("PL");
  EXPECT_FALSE(live.ApplyLive(Batch({Deleted(11, wrong)})).ok());
  EXPECT_EQ(Snapshot(live), before) << "readers see figures of no revision";
}

// The stream is gap-free: a missing revision means lost changes. The events before the gap
// stay applied (and announced); nothing after it is applied.
TEST(LiveStatsTest, ApplyLiveRefusesAGapInTheRevisions) {
  auto log = std::make_shared<DoneLog>();
  LiveStats live(Regions());
  live.SwapIn(CountersWith({}), 10);
  const uint64_t wait = live.WaitFor(11, absl::Now() + absl::Seconds(600), log->Callback(log));
  ASSERT_NE(wait, 0u);
  const absl::Status status = live.ApplyLive(
      Batch({Created(11, StateObserver("a1", "FR")), Created(13, StateObserver("a2", "DE")),
             Created(14, StateObserver("a3", "TR"))}));
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << status;
  EXPECT_EQ(Snapshot(live), std::make_pair(int64_t{11}, std::string("1: 0/0 + 1/1")));
  EXPECT_EQ(log->WaitForCalls(1), std::vector<bool>{true});

  // A gap right at the start applies nothing.
  EXPECT_EQ(live.ApplyLive(Batch({Created(13, StateObserver("a2", "DE"))})).code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(Snapshot(live), std::make_pair(int64_t{11}, std::string("1: 0/0 + 1/1")));
}

TEST(LiveStatsTest, AdvanceToMovesTheRevisionForwardOnly) {
  LiveStats live(Regions());
  live.SwapIn(CountersWith({StateObserver("a1", "FR")}), 10);
  live.AdvanceTo(15);
  EXPECT_EQ(Snapshot(live), std::make_pair(int64_t{15}, std::string("1: 0/0 + 1/1")));
  live.AdvanceTo(12);
  EXPECT_EQ(live.applied_revision(), 15);
  // Events up to the progress revision are now dropped.
  EXPECT_TRUE(live.ApplyLive(Batch({Created(14, StateObserver("a2", "DE"))})).ok());
  EXPECT_EQ(Snapshot(live), std::make_pair(int64_t{15}, std::string("1: 0/0 + 1/1")));
}

// Readers on other threads, while the writer alternates between swapping in rebuilt states
// and applying multi-event batches, only ever see (revision, figures) pairs that belong
// together.
// Two reader threads read `live` again and again while `write` runs on this thread, then go on
// until they have made `min_reads` reads in all. `check` says what is wrong with a state read
// at a revision (empty: nothing). Returns the first problem found, or "".
std::string ReadWhileWriting(LiveStats& live,
                             const std::function<std::string(const Counters&, int64_t)>& check,
                             const std::function<void()>& write, int64_t min_reads) {
  std::atomic<bool> done{false};
  std::atomic<int64_t> reads{0};
  std::mutex first_bad_mu;
  std::string first_bad;
  auto reader = [&] {
    while (!done.load()) {
      std::string problem;
      const absl::Status status = live.Read([&](const Counters& counters, int64_t revision) {
        problem = check(counters, revision);
        return absl::OkStatus();
      });
      if (!status.ok()) problem = status.ToString();
      if (!problem.empty()) {
        std::lock_guard<std::mutex> lock(first_bad_mu);
        if (first_bad.empty()) first_bad = problem;
      }
      reads.fetch_add(1);
      // A pause between reads: back-to-back readers starve the writer (see
      // WriterIsNotStarvedByBusyReaders), which is not what these tests are about.
      std::this_thread::sleep_for(std::chrono::microseconds(20));
    }
  };
  std::vector<std::thread> readers;
  for (int i = 0; i < 2; ++i) readers.emplace_back(reader);
  write();
  // Let the readers see the final state too.
  while (reads.load() < min_reads) std::this_thread::yield();
  done.store(true);
  for (std::thread& thread : readers) thread.join();
  return first_bad;
}

TEST(LiveStatsTest, ReadersNeverSeeAMixOfStates) {
  constexpr int kSteps = 200;
  // Step i swaps in a state at revision 100·i with (i % 4) + 2 state observers, then applies
  // one batch (revisions 100·i+1..100·i+3) deleting one of them and adding two organisation
  // observers. Expected figures per revision, computed before any thread starts.
  auto initial = [](int step) {
    std::vector<rv1::Observer> observers;
    for (int k = 0; k < step % 4 + 2; ++k) {
      observers.push_back(StateObserver(absl::StrCat("s", k), k % 2 == 0 ? "FR" : "DE"));
    }
    return observers;
  };
  auto batch = [](int step, const std::vector<rv1::Observer>& observers) {
    const int64_t base = 100 * int64_t{step};
    return Batch({Deleted(base + 1, observers[0]),
                  Created(base + 2, OrganisationObserver("o1", "OSCE-ODIHR")),
                  Created(base + 3, OrganisationObserver("o2", step % 2 == 0 ? "CIS" : "SCO"))});
  };
  std::map<int64_t, std::string> expected;
  for (int step = 1; step <= kSteps; ++step) {
    std::unique_ptr<Counters> counters = CountersWith(initial(step));
    expected[100 * int64_t{step}] = Figures(*counters);
    for (const rv1::ChangeEvent& event : batch(step, initial(step))) {
      ASSERT_TRUE(counters->Apply(event).ok());
    }
    expected[100 * int64_t{step} + 3] = Figures(*counters);
  }

  LiveStats live(Regions());
  live.SwapIn(CountersWith(initial(1)), 100);
  const std::string problem = ReadWhileWriting(
      live,
      [&expected](const Counters& counters, int64_t revision) -> std::string {
        const std::string figures = Figures(counters);
        auto it = expected.find(revision);
        if (it != expected.end() && it->second == figures) return "";
        return absl::StrCat("revision ", revision, ": ", figures, " (expected ",
                            it == expected.end() ? "no such revision" : it->second, ")");
      },
      [&] {
        for (int step = 1; step <= kSteps; ++step) {
          live.SwapIn(CountersWith(initial(step)), 100 * int64_t{step});
          const absl::Status status = live.ApplyLive(batch(step, initial(step)));
          EXPECT_TRUE(status.ok()) << status;
          if (step % 20 == 0) std::this_thread::yield();
        }
      },
      1000);
  EXPECT_EQ(problem, "");
  EXPECT_EQ(Snapshot(live), std::make_pair(int64_t{100 * kSteps + 3}, expected[100 * kSteps + 3]));
}

TEST(LiveStatsTest, CachedBreakdownsFollowEveryRevision) {
  // One live event per revision; readers ask for the same breakdown again and again and must
  // always get the one of the revision they read at, never a cached answer of an older one.
  constexpr int kEvents = 300;
  std::vector<rv1::ChangeEvent> events;
  // Observer i, created at revision 2 + i; every third event deletes the observer created two
  // events before instead.
  auto observer = [](int i) {
    const std::string id = absl::StrCat("o", i);
    return i % 4 == 3 ? StateObserver(id, "FR")
                      : OrganisationObserver(id, i % 2 == 0 ? "CIS" : "SCO");
  };
  for (int i = 0; i < kEvents; ++i) {
    const int64_t revision = 2 + i;
    events.push_back(i % 3 == 2 ? Deleted(revision, observer(i - 2))
                                : Created(revision, observer(i)));
  }
  v1::GetBreakdownRequest request;
  request.set_election(ElectionName(kElection));
  request.set_dimension(v1::DIMENSION_ORGANISATION);
  std::map<int64_t, std::string> expected;
  {
    std::unique_ptr<Counters> counters = CountersWith({});
    expected[1] = counters->Break(request)->SerializeAsString();
    for (const rv1::ChangeEvent& event : events) {
      ASSERT_TRUE(counters->Apply(event).ok());
      expected[event.revision()] = counters->Break(request)->SerializeAsString();
    }
  }

  LiveStats live(Regions());
  live.SwapIn(CountersWith({}), 1);
  const std::string problem = ReadWhileWriting(
      live,
      [&](const Counters& counters, int64_t revision) -> std::string {
        absl::StatusOr<std::shared_ptr<const v1::Breakdown>> breakdown =
            counters.SharedBreak(request);
        auto it = expected.find(revision);
        if (breakdown.ok() && it != expected.end() &&
            (*breakdown)->SerializeAsString() == it->second) {
          return "";
        }
        return absl::StrCat("revision ", revision, ": a breakdown of another revision");
      },
      [&] {
        for (const rv1::ChangeEvent& event : events) {
          const absl::Status status = live.ApplyLive(Batch({event}));
          EXPECT_TRUE(status.ok()) << status;
          if (event.revision() % 10 == 0) {
            std::this_thread::sleep_for(std::chrono::microseconds(200));
          }
        }
      },
      500);
  EXPECT_EQ(problem, "");
}

// --- Waits ------------------------------------------------------------------------------------

TEST(LiveStatsTest, WaitForAnAppliedRevisionReturnsZeroAndNeverCallsDone) {
  auto log = std::make_shared<DoneLog>();
  {
    LiveStats live(Regions());
    live.SwapIn(CountersWith({}), 10);
    EXPECT_EQ(live.WaitFor(10, absl::Now() + absl::Seconds(60), log->Callback(log)), 0u);
    EXPECT_EQ(live.WaitFor(3, absl::Now() + absl::Seconds(60), log->Callback(log)), 0u);
    live.AdvanceTo(11);
  }  // The destructor fires every pending wait: there must be none.
  EXPECT_TRUE(log->Calls().empty());
}

TEST(LiveStatsTest, WaitForCallsDoneTrueOnceTheRevisionIsApplied) {
  auto log = std::make_shared<DoneLog>();
  LiveStats live(Regions());
  live.SwapIn(CountersWith({}), 10);
  const uint64_t id = live.WaitFor(12, absl::Now() + absl::Seconds(600), log->Callback(log));
  EXPECT_NE(id, 0u);

  ASSERT_TRUE(live.ApplyLive(Batch({Created(11, StateObserver("a1", "FR"))})).ok());
  std::this_thread::sleep_for(kSettle);
  EXPECT_TRUE(log->Calls().empty()) << "revision 12 is not applied yet";

  ASSERT_TRUE(live.ApplyLive(Batch({Created(12, StateObserver("a2", "FR"))})).ok());
  EXPECT_EQ(log->WaitForCalls(1), std::vector<bool>{true});
  // Once fired, a wait is gone.
  EXPECT_FALSE(live.CancelWait(id));
  std::this_thread::sleep_for(kSettle);
  EXPECT_EQ(log->Calls(), std::vector<bool>{true});
}

TEST(LiveStatsTest, WaitForIsReachedByAdvanceToAndBySwapIn) {
  auto by_progress = std::make_shared<DoneLog>();
  auto by_swap = std::make_shared<DoneLog>();
  LiveStats live(Regions());
  // Before the first sync nothing is applied.
  EXPECT_NE(live.WaitFor(30, absl::Now() + absl::Seconds(600), by_swap->Callback(by_swap)), 0u);
  live.SwapIn(CountersWith({}), 30);
  EXPECT_EQ(by_swap->WaitForCalls(1), std::vector<bool>{true});

  EXPECT_NE(live.WaitFor(40, absl::Now() + absl::Seconds(600), by_progress->Callback(by_progress)),
            0u);
  live.AdvanceTo(45);
  EXPECT_EQ(by_progress->WaitForCalls(1), std::vector<bool>{true});
}

// done(false) at the deadline, with nothing else happening in the meantime.
TEST(LiveStatsTest, WaitForCallsDoneFalseAtTheDeadline) {
  auto log = std::make_shared<DoneLog>();
  LiveStats live(Regions());
  live.SwapIn(CountersWith({}), 10);
  std::this_thread::sleep_for(kSettle);  // Let the notifier go idle after the swap.
  const absl::Time start = absl::Now();
  EXPECT_NE(live.WaitFor(11, start + absl::Milliseconds(100), log->Callback(log)), 0u);
  EXPECT_EQ(log->WaitForCalls(1), std::vector<bool>{false})
      << "no call " << absl::ToInt64Milliseconds(absl::Now() - start)
      << " ms after a deadline 100 ms away";
  // Not before the deadline.
  EXPECT_GE(absl::Now(), start + absl::Milliseconds(100));
}

TEST(LiveStatsTest, WaitForWithAnEarlierDeadlineThanAPendingWait) {
  auto late = std::make_shared<DoneLog>();
  auto early = std::make_shared<DoneLog>();
  LiveStats live(Regions());
  live.SwapIn(CountersWith({}), 10);
  std::this_thread::sleep_for(kSettle);
  const uint64_t late_id = live.WaitFor(11, absl::Now() + absl::Seconds(600), late->Callback(late));
  std::this_thread::sleep_for(kSettle);
  EXPECT_NE(live.WaitFor(11, absl::Now() + absl::Milliseconds(100), early->Callback(early)), 0u);
  EXPECT_EQ(early->WaitForCalls(1), std::vector<bool>{false});
  EXPECT_TRUE(late->Calls().empty());
  EXPECT_TRUE(live.CancelWait(late_id));
}

TEST(LiveStatsTest, DestructionCallsPendingWaitsWithFalse) {
  auto log = std::make_shared<DoneLog>();
  {
    LiveStats live(Regions());
    live.SwapIn(CountersWith({}), 10);
    EXPECT_NE(live.WaitFor(11, absl::Now() + absl::Seconds(600), log->Callback(log)), 0u);
    EXPECT_NE(live.WaitFor(12, absl::InfiniteFuture(), log->Callback(log)), 0u);
  }
  EXPECT_EQ(log->Calls(), (std::vector<bool>{false, false}));
}

TEST(LiveStatsTest, CancelWait) {
  auto cancelled = std::make_shared<DoneLog>();
  auto kept = std::make_shared<DoneLog>();
  LiveStats live(Regions());
  live.SwapIn(CountersWith({}), 10);
  const uint64_t a =
      live.WaitFor(11, absl::Now() + absl::Seconds(600), cancelled->Callback(cancelled));
  const uint64_t b = live.WaitFor(11, absl::Now() + absl::Seconds(600), kept->Callback(kept));
  ASSERT_NE(a, 0u);
  ASSERT_NE(b, 0u);
  EXPECT_NE(a, b);

  EXPECT_TRUE(live.CancelWait(a));   // Still pending: forgotten, done will not run.
  EXPECT_FALSE(live.CancelWait(a));  // Already forgotten.
  EXPECT_FALSE(live.CancelWait(0));  // The "already applied" id.
  EXPECT_FALSE(live.CancelWait(987654));

  live.AdvanceTo(11);
  EXPECT_EQ(kept->WaitForCalls(1), std::vector<bool>{true});
  EXPECT_FALSE(live.CancelWait(b));  // done has run.
  std::this_thread::sleep_for(kSettle);
  EXPECT_TRUE(cancelled->Calls().empty());
}

// CancelWait while `done` runs: false, because done has started (and will finish).
TEST(LiveStatsTest, CancelWaitWhileDoneRunsReturnsFalse) {
  auto entered = std::make_shared<Latch>();
  auto release = std::make_shared<Latch>();
  LiveStats live(Regions());
  const absl::Cleanup unblock = [release] { release->Open(); };  // Even when a check fails.
  live.SwapIn(CountersWith({}), 10);
  const uint64_t id =
      live.WaitFor(11, absl::Now() + absl::Seconds(600), [entered, release](bool reached) {
        EXPECT_TRUE(reached);
        entered->Open();
        release->WaitOpen();
      });
  ASSERT_NE(id, 0u);
  live.AdvanceTo(11);
  ASSERT_TRUE(entered->WaitOpen());
  EXPECT_FALSE(live.CancelWait(id));
  release->Open();
}

// --- Subscriptions ----------------------------------------------------------------------------

TEST(LiveStatsTest, SubscribeIsCalledAfterEachChange) {
  auto counter = std::make_shared<CallCounter>();
  std::atomic<int64_t> seen_revision{0};  // Outlives `live` and its notifier.
  LiveStats live(Regions());
  LiveStats* const live_ptr = &live;
  const uint64_t id = live.Subscribe([counter, live_ptr, &seen_revision] {
    seen_revision.store(live_ptr->applied_revision());
    counter->Called();
  });
  std::this_thread::sleep_for(kSettle);
  EXPECT_EQ(counter->Calls(), 0) << "called before anything changed";

  live.SwapIn(CountersWith({}), 10);
  EXPECT_EQ(counter->WaitForCalls(1), 1);
  EXPECT_EQ(seen_revision.load(), 10);

  ASSERT_TRUE(live.ApplyLive(Batch({Created(11, StateObserver("a1", "FR"))})).ok());
  EXPECT_EQ(counter->WaitForCalls(2), 2);
  EXPECT_EQ(seen_revision.load(), 11);

  live.AdvanceTo(20);
  EXPECT_EQ(counter->WaitForCalls(3), 3);
  EXPECT_EQ(seen_revision.load(), 20);

  // Nothing moved: no call.
  ASSERT_TRUE(live.ApplyLive(Batch({Created(15, StateObserver("a2", "FR"))})).ok());
  live.AdvanceTo(19);
  std::this_thread::sleep_for(kSettle);
  EXPECT_EQ(counter->Calls(), 3);
  live.Unsubscribe(id);
}

TEST(LiveStatsTest, ChangesDuringACallAreCoalescedIntoOneMoreCall) {
  auto counter = std::make_shared<CallCounter>();
  auto entered = std::make_shared<Latch>();
  auto release = std::make_shared<Latch>();
  std::atomic<int64_t> last_seen{0};  // Outlives `live` and its notifier.
  LiveStats live(Regions());
  const absl::Cleanup unblock = [release] { release->Open(); };  // Even when a check fails.
  LiveStats* const live_ptr = &live;
  const uint64_t id = live.Subscribe([=, &last_seen] {
    entered->Open();
    release->WaitOpen();
    last_seen.store(live_ptr->applied_revision());
    counter->Called();
  });
  live.SwapIn(CountersWith({}), 10);
  ASSERT_TRUE(entered->WaitOpen());
  // The first call is running (and blocked): fifty moves now.
  for (int64_t revision = 11; revision <= 60; ++revision) live.AdvanceTo(revision);
  release->Open();
  EXPECT_EQ(counter->WaitForCalls(2), 2);
  std::this_thread::sleep_for(kSettle);
  EXPECT_EQ(counter->Calls(), 2) << "fifty moves during one call make one more call";
  EXPECT_EQ(last_seen.load(), 60);
  live.Unsubscribe(id);
}

TEST(LiveStatsTest, UnsubscribeWaitsForARunningCallAndStopsFurtherCalls) {
  auto counter = std::make_shared<CallCounter>();
  auto entered = std::make_shared<Latch>();
  auto release = std::make_shared<Latch>();
  auto in_call = std::make_shared<std::atomic<bool>>(false);
  LiveStats live(Regions());
  const absl::Cleanup unblock = [release] { release->Open(); };  // Even when a check fails.
  const uint64_t id = live.Subscribe([=] {
    in_call->store(true);
    entered->Open();
    release->WaitOpen();
    counter->Called();
    in_call->store(false);
  });
  live.SwapIn(CountersWith({}), 10);
  ASSERT_TRUE(entered->WaitOpen());

  Latch unsubscribed;
  std::thread unsubscriber([&] {
    live.Unsubscribe(id);
    EXPECT_FALSE(in_call->load()) << "Unsubscribe returned while the call was running";
    unsubscribed.Open();
  });
  // More changes while the call runs and Unsubscribe waits: they must not make another call.
  live.AdvanceTo(11);
  live.AdvanceTo(12);
  EXPECT_FALSE(unsubscribed.WaitOpen(kSettle)) << "Unsubscribe did not wait for the call";
  release->Open();
  EXPECT_TRUE(unsubscribed.WaitOpen());
  unsubscriber.join();
  EXPECT_EQ(counter->Calls(), 1);

  live.AdvanceTo(13);
  ASSERT_TRUE(live.ApplyLive(Batch({Created(14, StateObserver("a1", "FR"))})).ok());
  std::this_thread::sleep_for(kSettle);
  EXPECT_EQ(counter->Calls(), 1) << "called after Unsubscribe returned";

  live.Unsubscribe(id);      // Twice: harmless.
  live.Unsubscribe(123456);  // Unknown: harmless.
}

TEST(LiveStatsTest, UnsubscribeOneOfTwoListeners) {
  auto first = std::make_shared<CallCounter>();
  auto second = std::make_shared<CallCounter>();
  LiveStats live(Regions());
  const uint64_t a = live.Subscribe([first] { first->Called(); });
  const uint64_t b = live.Subscribe([second] { second->Called(); });
  EXPECT_NE(a, b);
  live.SwapIn(CountersWith({}), 10);
  EXPECT_EQ(first->WaitForCalls(1), 1);
  EXPECT_EQ(second->WaitForCalls(1), 1);
  live.Unsubscribe(a);
  live.AdvanceTo(11);
  EXPECT_EQ(second->WaitForCalls(2), 2);
  EXPECT_EQ(first->Calls(), 1);
  live.Unsubscribe(b);
}

// A batch that fails part-way has applied (and made readable) the events before the failing
// one: waits and subscribers must hear of them like of any other applied revision.
TEST(LiveStatsTest, FailedBatchStillPublishesTheEventsAppliedBeforeIt) {
  auto log = std::make_shared<DoneLog>();
  auto counter = std::make_shared<CallCounter>();
  LiveStats live(Regions());
  live.SwapIn(CountersWith({}), 10);
  const uint64_t id = live.Subscribe([counter] { counter->Called(); });
  std::this_thread::sleep_for(kSettle);  // The swap's publication is behind us.
  const int calls = counter->Calls();
  const uint64_t wait = live.WaitFor(11, absl::Now() + absl::Seconds(600), log->Callback(log));
  ASSERT_NE(wait, 0u);

  // Revision 12 deletes an observer of an election with no observers counted: refused before
  // it changes anything.
  rv1::Observer elsewhere = StateObserver("zz", "TR");
  elsewhere.set_name(ObserverName("kz-1999", "zz"));
  EXPECT_FALSE(
      live.ApplyLive(Batch({Created(11, StateObserver("a1", "FR")), Deleted(12, elsewhere)})).ok());
  ASSERT_EQ(Snapshot(live), std::make_pair(int64_t{11}, std::string("1: 0/0 + 1/1")));
  EXPECT_EQ(log->WaitForCalls(1), std::vector<bool>{true})
      << "revision 11 is applied and readable, but the wait for it is not told";
  EXPECT_GT(counter->WaitForCalls(calls + 1), calls) << "subscribers are not told either";
  live.CancelWait(wait);
  live.Unsubscribe(id);
}

// Readers that follow one another back to back (a busy stats-service: more handler threads
// than cores) must not keep the writer out: the applied revision has to keep moving, or
// every min_revision wait times out. Each write below needs the lock for microseconds.
TEST(LiveStatsTest, WriterIsNotStarvedByBusyReaders) {
  constexpr int kReaders = 4;
  constexpr int kWrites = 20;
  LiveStats live(Regions());
  live.SwapIn(CountersWith({StateObserver("a1", "FR"), OrganisationObserver("a2", "CIS")}), 10);
  std::atomic<bool> stop{false};
  std::vector<std::thread> readers;
  for (int i = 0; i < kReaders; ++i) {
    readers.emplace_back([&] {
      while (!stop.load()) {
        const absl::Status status = live.Read([](const Counters& counters, int64_t) {
          return counters.Summarize(DefaultSummary()).status();
        });
        EXPECT_TRUE(status.ok()) << status;
      }
    });
  }
  Latch written;
  std::thread writer([&] {
    for (int i = 1; i <= kWrites; ++i) live.AdvanceTo(10 + i);
    written.Open();
  });
  const absl::Time start = absl::Now();
  const bool in_time = written.WaitOpen(std::chrono::seconds(20));
  const absl::Duration took = absl::Now() - start;
  stop.store(true);  // Lets a starved writer through.
  writer.join();
  for (std::thread& reader : readers) reader.join();
  EXPECT_TRUE(in_time) << kWrites << " writes not done after " << took << " (revision "
                       << live.applied_revision() << " of " << 10 + kWrites << ")";
}

}  // namespace
}  // namespace observer::stats
