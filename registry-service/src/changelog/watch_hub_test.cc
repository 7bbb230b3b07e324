// WatchHub on its own (a test Wakeable records the wake-ups), and WatchSession with a fake,
// transport-neutral WatchSink over a real SQLite store.
#include "registry-service/src/changelog/watch_hub.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/errors.h"
#include "common/status_macros.h"
#include "registry-service/src/changelog/watch_session.h"
#include "registry-service/src/storage/sqlite_store.h"

namespace observer::registry {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::IsEmpty;

std::vector<int64_t> Range(int64_t first, int64_t last) {
  std::vector<int64_t> out;
  for (int64_t r = first; r <= last; ++r) out.push_back(r);
  return out;
}

v1::ChangeEvent Event(int64_t revision, const std::string& padding = "") {
  v1::ChangeEvent e;
  e.set_revision(revision);
  e.set_type(v1::CHANGE_TYPE_UPDATED);
  e.set_kind(v1::RESOURCE_KIND_ELECTION);
  e.set_name("elections/e" + padding);
  return e;
}

std::vector<v1::ChangeEvent> Events(int64_t first, int64_t last) {
  std::vector<v1::ChangeEvent> out;
  for (int64_t r = first; r <= last; ++r) out.push_back(Event(r));
  return out;
}

std::vector<int64_t> RevisionsOf(const std::vector<std::shared_ptr<const v1::ChangeEvent>>& out) {
  std::vector<int64_t> revisions;
  for (const auto& e : out) revisions.push_back(e->revision());
  return revisions;
}

// Records every wake-up.
class RecordingWakeable : public Wakeable {
 public:
  struct WakeCall {
    bool progress;
    absl::Time at;
  };
  void Wake(bool progress) override {
    std::lock_guard<std::mutex> lock(mu_);
    calls_.push_back({progress, absl::Now()});
    cv_.notify_all();
  }
  bool WaitForCalls(size_t n, absl::Duration timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, absl::ToChronoMilliseconds(timeout),
                        [&] { return calls_.size() >= n; });
  }
  std::vector<WakeCall> calls() {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<WakeCall> calls_;
};

WatchHubOptions HubOptions(int cache_events, absl::Duration progress_interval) {
  WatchHubOptions options;
  options.cache_events = cache_events;
  options.progress_interval = progress_interval;
  return options;
}

// --- WatchHub -------------------------------------------------------------------------------

TEST(WatchHubTest, PollReturnsContiguousEventsFromTheWindow) {
  WatchHub hub(0, HubOptions(100, absl::Hours(1)));
  auto watcher = std::make_shared<RecordingWakeable>();
  hub.Publish(Events(1, 3));
  hub.Publish(Events(4, 5));
  EXPECT_EQ(hub.head(), 5);
  std::vector<std::shared_ptr<const v1::ChangeEvent>> out;
  EXPECT_EQ(hub.Poll(1, 100, 1 << 20, watcher, out), WatchHub::PollResult::kEvents);
  EXPECT_THAT(RevisionsOf(out), ElementsAre(1, 2, 3, 4, 5));
  std::vector<std::shared_ptr<const v1::ChangeEvent>> from3;
  EXPECT_EQ(hub.Poll(3, 100, 1 << 20, watcher, from3), WatchHub::PollResult::kEvents);
  EXPECT_THAT(RevisionsOf(from3), ElementsAre(3, 4, 5));
  EXPECT_EQ(from3[0].get(), out[2].get()) << "watchers share the window's events";
  std::vector<std::shared_ptr<const v1::ChangeEvent>> from5;
  EXPECT_EQ(hub.Poll(5, 100, 1 << 20, watcher, from5), WatchHub::PollResult::kEvents);
  EXPECT_THAT(RevisionsOf(from5), ElementsAre(5));
  EXPECT_EQ(hub.waiting(), 0u);
  hub.Publish({});
  EXPECT_EQ(hub.head(), 5) << "an empty commit changes nothing";
}

TEST(WatchHubTest, BelowTheWindowTheWatcherReadsTheStore) {
  WatchHub hub(0, HubOptions(3, absl::Hours(1)));
  auto watcher = std::make_shared<RecordingWakeable>();
  hub.Publish(Events(1, 2));
  hub.Publish(Events(3, 5));
  for (int64_t from : {1, 2}) {
    std::vector<std::shared_ptr<const v1::ChangeEvent>> out;
    EXPECT_EQ(hub.Poll(from, 100, 1 << 20, watcher, out), WatchHub::PollResult::kReadStore) << from;
    EXPECT_THAT(out, IsEmpty());
  }
  std::vector<std::shared_ptr<const v1::ChangeEvent>> out;
  EXPECT_EQ(hub.Poll(3, 100, 1 << 20, watcher, out), WatchHub::PollResult::kEvents);
  EXPECT_THAT(RevisionsOf(out), ElementsAre(3, 4, 5));
  // A commit larger than the window keeps only its newest events.
  hub.Publish(Events(6, 10));
  out.clear();
  EXPECT_EQ(hub.Poll(7, 100, 1 << 20, watcher, out), WatchHub::PollResult::kReadStore);
  EXPECT_EQ(hub.Poll(8, 100, 1 << 20, watcher, out), WatchHub::PollResult::kEvents);
  EXPECT_THAT(RevisionsOf(out), ElementsAre(8, 9, 10));
}

TEST(WatchHubTest, StartsEmptyAtTheStoreHead) {
  WatchHub hub(10, HubOptions(100, absl::Hours(1)));
  auto watcher = std::make_shared<RecordingWakeable>();
  EXPECT_EQ(hub.head(), 10);
  std::vector<std::shared_ptr<const v1::ChangeEvent>> out;
  EXPECT_EQ(hub.Poll(5, 100, 1 << 20, watcher, out), WatchHub::PollResult::kReadStore);
  EXPECT_EQ(hub.Poll(10, 100, 1 << 20, watcher, out), WatchHub::PollResult::kReadStore);
  EXPECT_EQ(hub.Poll(11, 100, 1 << 20, watcher, out), WatchHub::PollResult::kWaiting);
  hub.Publish(Events(11, 11));
  ASSERT_TRUE(watcher->WaitForCalls(1, absl::Seconds(5)));
  EXPECT_EQ(hub.Poll(10, 100, 1 << 20, watcher, out), WatchHub::PollResult::kReadStore);
  EXPECT_EQ(hub.Poll(11, 100, 1 << 20, watcher, out), WatchHub::PollResult::kEvents);
  EXPECT_THAT(RevisionsOf(out), ElementsAre(11));
}

// A store shared by several replicas publishes the changes committed between its open and
// the hub's creation too: those at or below the hub's head are dropped, the rest kept.
TEST(WatchHubTest, EventsAtOrBelowTheHeadAreDropped) {
  WatchHub hub(10, HubOptions(100, absl::Hours(1)));
  auto watcher = std::make_shared<RecordingWakeable>();
  std::vector<std::shared_ptr<const v1::ChangeEvent>> out;
  EXPECT_EQ(hub.Poll(11, 100, 1 << 20, watcher, out), WatchHub::PollResult::kWaiting);
  hub.Publish(Events(8, 10));
  EXPECT_EQ(hub.head(), 10);
  EXPECT_EQ(hub.Poll(11, 100, 1 << 20, watcher, out), WatchHub::PollResult::kWaiting);
  EXPECT_EQ(hub.waiting(), 1u) << "nothing new: the watcher stays waiting, not woken";
  hub.Publish(Events(9, 12));
  EXPECT_EQ(hub.head(), 12);
  EXPECT_EQ(hub.Poll(11, 100, 1 << 20, watcher, out), WatchHub::PollResult::kEvents);
  EXPECT_THAT(RevisionsOf(out), ElementsAre(11, 12));
  EXPECT_EQ(hub.Poll(10, 100, 1 << 20, watcher, out), WatchHub::PollResult::kReadStore);
}

TEST(WatchHubTest, WaitingWatcherIsWokenOnceOnPublish) {
  WatchHub hub(0, HubOptions(100, absl::Hours(1)));
  hub.Publish(Events(1, 5));
  auto waiter = std::make_shared<RecordingWakeable>();
  auto bystander = std::make_shared<RecordingWakeable>();
  std::vector<std::shared_ptr<const v1::ChangeEvent>> out;
  EXPECT_EQ(hub.Poll(6, 100, 1 << 20, waiter, out), WatchHub::PollResult::kWaiting);
  EXPECT_EQ(hub.Poll(6, 100, 1 << 20, waiter, out), WatchHub::PollResult::kWaiting);
  EXPECT_THAT(out, IsEmpty());
  EXPECT_EQ(hub.waiting(), 1u) << "polling twice registers once";
  EXPECT_FALSE(waiter->WaitForCalls(1, absl::Milliseconds(100))) << "no wake-up without events";

  hub.Publish(Events(6, 6));
  ASSERT_TRUE(waiter->WaitForCalls(1, absl::Seconds(5)));
  EXPECT_FALSE(waiter->calls()[0].progress);
  EXPECT_EQ(hub.waiting(), 0u);
  EXPECT_EQ(hub.Poll(6, 100, 1 << 20, waiter, out), WatchHub::PollResult::kEvents);
  EXPECT_THAT(RevisionsOf(out), ElementsAre(6));
  // Another commit does not wake a watcher that has not asked again.
  hub.Publish(Events(7, 7));
  EXPECT_FALSE(waiter->WaitForCalls(2, absl::Milliseconds(200)));
  EXPECT_THAT(bystander->calls(), IsEmpty());
}

TEST(WatchHubTest, ProgressWakeAfterTheIntervalForIdleWaitersOnly) {
  const absl::Duration interval = absl::Milliseconds(200);
  WatchHub hub(0, HubOptions(100, interval));
  hub.Publish(Events(1, 3));
  auto idle = std::make_shared<RecordingWakeable>();
  auto busy = std::make_shared<RecordingWakeable>();
  std::vector<std::shared_ptr<const v1::ChangeEvent>> out;
  const absl::Time registered = absl::Now();
  EXPECT_EQ(hub.Poll(4, 100, 1 << 20, idle, out), WatchHub::PollResult::kWaiting);
  EXPECT_EQ(hub.Poll(1, 100, 1 << 20, busy, out), WatchHub::PollResult::kEvents);

  ASSERT_TRUE(idle->WaitForCalls(1, absl::Seconds(5)));
  const auto calls = idle->calls();
  EXPECT_TRUE(calls[0].progress);
  EXPECT_GE(calls[0].at - registered, interval);
  EXPECT_EQ(hub.waiting(), 0u);
  // One progress wake per registration: nothing more until the watcher polls again.
  EXPECT_FALSE(idle->WaitForCalls(2, 3 * interval));
  EXPECT_THAT(busy->calls(), IsEmpty()) << "a watcher that is not waiting gets no progress";

  // A watcher woken by events before the interval gets no progress wake for that wait.
  auto quick = std::make_shared<RecordingWakeable>();
  EXPECT_EQ(hub.Poll(4, 100, 1 << 20, quick, out), WatchHub::PollResult::kWaiting);
  hub.Publish(Events(4, 4));
  ASSERT_TRUE(quick->WaitForCalls(1, absl::Seconds(5)));
  EXPECT_FALSE(quick->WaitForCalls(2, 2 * interval));
  EXPECT_FALSE(quick->calls()[0].progress);
}

TEST(WatchHubTest, ForgetStopsWakeUps) {
  WatchHub hub(0, HubOptions(100, absl::Milliseconds(50)));
  auto watcher = std::make_shared<RecordingWakeable>();
  std::vector<std::shared_ptr<const v1::ChangeEvent>> out;
  EXPECT_EQ(hub.Poll(1, 100, 1 << 20, watcher, out), WatchHub::PollResult::kWaiting);
  EXPECT_EQ(hub.waiting(), 1u);
  hub.Forget(watcher.get());
  EXPECT_EQ(hub.waiting(), 0u);
  hub.Publish(Events(1, 1));
  EXPECT_FALSE(watcher->WaitForCalls(1, absl::Milliseconds(300))) << "no event or progress wake";
  hub.Forget(watcher.get());  // Forgetting an unknown watcher is harmless.
}

TEST(WatchHubTest, AWatcherThatIsGoneIsNotWoken) {
  WatchHub hub(0, HubOptions(100, absl::Milliseconds(20)));
  std::vector<std::shared_ptr<const v1::ChangeEvent>> out;
  {
    auto watcher = std::make_shared<RecordingWakeable>();
    EXPECT_EQ(hub.Poll(1, 100, 1 << 20, watcher, out), WatchHub::PollResult::kWaiting);
  }
  hub.Publish(Events(1, 1));
  absl::SleepFor(absl::Milliseconds(100));  // The notifier must skip it without crashing.
  EXPECT_EQ(hub.head(), 1);
}

TEST(WatchHubTest, PollRespectsMaxEventsAndMaxBytes) {
  WatchHub hub(0, HubOptions(100, absl::Hours(1)));
  auto watcher = std::make_shared<RecordingWakeable>();
  std::vector<v1::ChangeEvent> events;
  for (int r = 1; r <= 10; ++r) events.push_back(Event(r, std::string(100, 'x')));
  const int64_t size = static_cast<int64_t>(events[0].ByteSizeLong());
  hub.Publish(events);

  std::vector<std::shared_ptr<const v1::ChangeEvent>> out;
  EXPECT_EQ(hub.Poll(1, 3, 1 << 20, watcher, out), WatchHub::PollResult::kEvents);
  EXPECT_THAT(RevisionsOf(out), ElementsAre(1, 2, 3));
  out.clear();
  EXPECT_EQ(hub.Poll(1, 100, 2 * size + size / 2, watcher, out), WatchHub::PollResult::kEvents);
  EXPECT_THAT(RevisionsOf(out), ElementsAre(1, 2));
  out.clear();
  EXPECT_EQ(hub.Poll(2, 100, 1, watcher, out), WatchHub::PollResult::kEvents);
  EXPECT_THAT(RevisionsOf(out), ElementsAre(2)) << "at least one event, however large";
  out.clear();
  EXPECT_EQ(hub.Poll(4, 100, 1 << 20, watcher, out), WatchHub::PollResult::kEvents);
  EXPECT_THAT(RevisionsOf(out), ElementsAreArray(Range(4, 10)));
}

// --- WatchSession ---------------------------------------------------------------------------

// A transport stand-in. Records what the session sends; acknowledges each send from its own
// thread (as a transport would) while auto-ack is on; checks the sink contract.
class FakeSink : public WatchSink {
 public:
  FakeSink() : worker_([this] { Work(); }) {}
  ~FakeSink() override { Stop(); }

  void Attach(const std::shared_ptr<WatchSession>& session) { session_ = session; }

  void SetAutoAck(bool on) {
    std::lock_guard<std::mutex> lock(mu_);
    auto_ack_ = on;
    cv_.notify_all();
  }

  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
      cv_.notify_all();
    }
    if (worker_.joinable()) worker_.join();
  }

  void Send(const v1::WatchResponse* response) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (outstanding_ || finished_) ++contract_violations_;
    responses_.push_back(*response);
    outstanding_ = true;
    cv_.notify_all();
  }

  void Finish(const absl::Status& status) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (outstanding_ || finished_) ++contract_violations_;
    finished_ = true;
    status_ = status;
    cv_.notify_all();
  }

  // Waits until `done(responses, finished)` holds.
  bool WaitUntil(const std::function<bool(const std::vector<v1::WatchResponse>&, bool)>& done,
                 absl::Duration timeout = absl::Seconds(20)) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, absl::ToChronoMilliseconds(timeout),
                        [&] { return done(responses_, finished_); });
  }
  bool WaitForResponses(size_t n) {
    return WaitUntil([n](const auto& r, bool) { return r.size() >= n; });
  }
  bool WaitForFinish() {
    return WaitUntil([](const auto&, bool finished) { return finished; });
  }
  // Waits until the live events received reach `revision`.
  bool WaitForRevision(int64_t revision) {
    return WaitUntil([revision](const std::vector<v1::WatchResponse>& responses, bool) {
      for (const auto& r : responses) {
        if (!r.initial_state() && r.events_size() > 0 &&
            r.events(r.events_size() - 1).revision() >= revision) {
          return true;
        }
      }
      return false;
    });
  }

  std::vector<v1::WatchResponse> responses() {
    std::lock_guard<std::mutex> lock(mu_);
    return responses_;
  }
  absl::Status status() {
    std::lock_guard<std::mutex> lock(mu_);
    return status_;
  }
  bool finished() {
    std::lock_guard<std::mutex> lock(mu_);
    return finished_;
  }
  int contract_violations() {
    std::lock_guard<std::mutex> lock(mu_);
    return contract_violations_;
  }
  bool outstanding() {
    std::lock_guard<std::mutex> lock(mu_);
    return outstanding_;
  }

 private:
  void Work() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      cv_.wait(lock, [this] { return stop_ || (auto_ack_ && outstanding_); });
      if (stop_) return;
      outstanding_ = false;
      std::shared_ptr<WatchSession> session = session_.lock();
      lock.unlock();
      if (session) session->OnSent(true);
      lock.lock();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::weak_ptr<WatchSession> session_;
  std::vector<v1::WatchResponse> responses_;
  bool auto_ack_ = true;
  bool outstanding_ = false;
  bool finished_ = false;
  bool stop_ = false;
  int contract_violations_ = 0;
  absl::Status status_;
  std::thread worker_;
};

// All live (non initial-state) event revisions, in the order received.
std::vector<int64_t> LiveRevisions(const std::vector<v1::WatchResponse>& responses) {
  std::vector<int64_t> out;
  for (const auto& r : responses) {
    if (r.initial_state()) continue;
    for (const auto& e : r.events()) out.push_back(e.revision());
  }
  return out;
}

class WatchSessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "watch_hub_test_XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    auto store = SqliteStore::Open(dir_ + "/registry.db", SqliteStoreOptions{});
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
  }

  void TearDown() override {
    if (session_) session_->Cancel();
    sink_.Stop();
    session_.reset();
    store_.reset();
    hub_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  // The hub follows the store from its current head, as the server wires it.
  void StartHub(WatchHubOptions options = {}) {
    absl::StatusOr<Revisions> revisions = store_->GetRevisions();
    ASSERT_TRUE(revisions.ok()) << revisions.status();
    hub_ = std::make_unique<WatchHub>(revisions->head, options);
    store_->SetCommitListener([hub = hub_.get()](std::vector<v1::ChangeEvent> events) {
      hub->Publish(std::move(events));
    });
  }

  void StartSession(const v1::WatchRequest& request, WatchLimits limits = {}) {
    session_ = std::make_shared<WatchSession>(*store_, *hub_, &sink_, limits);
    sink_.Attach(session_);
    session_->Start(request);
  }

  int64_t Head() {
    absl::StatusOr<Revisions> revisions = store_->GetRevisions();
    EXPECT_TRUE(revisions.ok()) << revisions.status();
    return revisions.ok() ? revisions->head : -1;
  }

  // Writes a record and its CREATED/UPDATED event like the domain does; returns the revision.
  int64_t PutElection(const std::string& id, const std::string& display_name = "Election") {
    int64_t revision = 0;
    const absl::Status status = store_->Write([&](WriteTxn& txn) -> absl::Status {
      ASSIGN_OR_RETURN(std::optional<v1::Election> before, txn.GetElection(id));
      revision = txn.NextRevision();
      v1::Election e;
      e.set_name("elections/" + id);
      e.set_display_name(display_name);
      e.set_revision(revision);
      RETURN_IF_ERROR(txn.PutElection(e));
      v1::ChangeEvent event;
      event.set_revision(revision);
      event.set_type(before ? v1::CHANGE_TYPE_UPDATED : v1::CHANGE_TYPE_CREATED);
      event.set_kind(v1::RESOURCE_KIND_ELECTION);
      event.set_name(e.name());
      if (before) *event.mutable_before()->mutable_election() = *before;
      *event.mutable_after()->mutable_election() = e;
      return txn.AppendChange(event);
    });
    EXPECT_TRUE(status.ok()) << status;
    return revision;
  }
  int64_t PutOrganisation(const std::string& code) {
    int64_t revision = 0;
    const absl::Status status = store_->Write([&](WriteTxn& txn) -> absl::Status {
      revision = txn.NextRevision();
      v1::Organisation o;
      o.set_name("organisations/" + code);
      o.mutable_names()->set_en(code);
      o.set_revision(revision);
      RETURN_IF_ERROR(txn.PutOrganisation(o));
      v1::ChangeEvent event;
      event.set_revision(revision);
      event.set_type(v1::CHANGE_TYPE_CREATED);
      event.set_kind(v1::RESOURCE_KIND_ORGANISATION);
      event.set_name(o.name());
      *event.mutable_after()->mutable_organisation() = o;
      return txn.AppendChange(event);
    });
    EXPECT_TRUE(status.ok()) << status;
    return revision;
  }
  // An observer with personal data, as the register keeps it.
  int64_t PutObserver(const std::string& election_id, const std::string& id) {
    int64_t revision = 0;
    const absl::Status status = store_->Write([&](WriteTxn& txn) -> absl::Status {
      revision = txn.NextRevision();
      v1::Observer o;
      o.set_name(absl::StrCat("elections/", election_id, "/observers/", id));
      o.set_given_names("Anna");
      o.set_citizenship("DE");
      o.mutable_id_document()->set_number("SECRET-" + id);
      o.mutable_birth_date()->set_year(1980);
      o.mutable_contact()->set_email("anna@example.org");
      o.set_revision(revision);
      RETURN_IF_ERROR(txn.PutObserver(election_id, id, "doc:" + id, o));
      v1::ChangeEvent event;
      event.set_revision(revision);
      event.set_type(v1::CHANGE_TYPE_CREATED);
      event.set_kind(v1::RESOURCE_KIND_OBSERVER);
      event.set_name(o.name());
      v1::Observer image = o;
      image.clear_id_document();
      image.clear_birth_date();
      image.clear_contact();
      *event.mutable_after()->mutable_observer() = image;
      return txn.AppendChange(event);
    });
    EXPECT_TRUE(status.ok()) << status;
    return revision;
  }

  std::string dir_;
  std::unique_ptr<SqliteStore> store_;
  std::unique_ptr<WatchHub> hub_;
  FakeSink sink_;
  std::shared_ptr<WatchSession> session_;
};

TEST_F(WatchSessionTest, InitialStateThenMarkerThenLiveEvents) {
  ASSERT_NO_FATAL_FAILURE(StartHub());
  PutElection("e1");
  PutElection("e2");
  PutOrganisation("OSCE");
  PutObserver("e1", "o1");
  PutObserver("e1", "o2");
  PutElection("e1", "renamed");  // e1's own revision is now 6.

  v1::WatchRequest request;
  request.set_send_initial_state(true);
  WatchLimits limits;
  limits.snapshot_batch = 2;
  StartSession(request, limits);
  ASSERT_TRUE(sink_.WaitUntil([](const std::vector<v1::WatchResponse>& responses, bool) {
    for (const auto& r : responses) {
      if (r.initial_state_complete()) return true;
    }
    return false;
  }));
  const int64_t e3 = PutElection("e3");
  const int64_t o3 = PutObserver("e1", "o3");
  ASSERT_TRUE(sink_.WaitForRevision(o3));

  const std::vector<v1::WatchResponse> responses = sink_.responses();
  std::vector<std::string> initial;
  size_t i = 0;
  for (; i < responses.size() && responses[i].initial_state(); ++i) {
    const v1::WatchResponse& r = responses[i];
    EXPECT_LE(r.events_size(), 2);
    EXPECT_FALSE(r.initial_state_complete());
    for (const auto& e : r.events()) {
      EXPECT_EQ(e.type(), v1::CHANGE_TYPE_CREATED);
      EXPECT_FALSE(e.has_before());
      ASSERT_TRUE(e.has_after());
      if (e.after().has_observer()) {
        EXPECT_FALSE(e.after().observer().has_id_document()) << "no personal data in events";
        EXPECT_FALSE(e.after().observer().has_birth_date());
        EXPECT_FALSE(e.after().observer().has_contact());
        EXPECT_EQ(e.kind(), v1::RESOURCE_KIND_OBSERVER);
      }
      initial.push_back(absl::StrCat(e.name(), "@", e.revision()));
    }
  }
  EXPECT_THAT(initial, ElementsAre("elections/e1@6", "elections/e2@2", "organisations/OSCE@3",
                                   "elections/e1/observers/o1@4", "elections/e1/observers/o2@5"));
  ASSERT_LT(i, responses.size());
  const v1::WatchResponse& marker = responses[i];
  EXPECT_TRUE(marker.initial_state_complete());
  EXPECT_FALSE(marker.initial_state());
  EXPECT_THAT(marker.events(), IsEmpty());
  EXPECT_EQ(marker.header_revision(), 6);
  EXPECT_THAT(LiveRevisions(responses), ElementsAre(e3, o3));
  EXPECT_EQ(e3, 7);
  for (; i < responses.size(); ++i) EXPECT_FALSE(responses[i].initial_state());
  EXPECT_EQ(responses.back().header_revision(), o3);
  EXPECT_EQ(sink_.contract_violations(), 0);
  EXPECT_FALSE(sink_.finished());
}

TEST_F(WatchSessionTest, ChangesDuringTheInitialStateFollowTheMarker) {
  ASSERT_NO_FATAL_FAILURE(StartHub());
  PutElection("e1");
  PutElection("e2");
  PutElection("e3");
  sink_.SetAutoAck(false);
  v1::WatchRequest request;
  request.set_send_initial_state(true);
  WatchLimits limits;
  limits.snapshot_batch = 1;
  StartSession(request, limits);
  ASSERT_TRUE(sink_.WaitForResponses(1));
  // Written while the initial state is being sent: not in it, but right after the marker.
  PutElection("e1", "changed");
  PutElection("e4");
  sink_.SetAutoAck(true);
  ASSERT_TRUE(sink_.WaitForRevision(5));
  const std::vector<v1::WatchResponse> responses = sink_.responses();
  std::vector<std::string> initial;
  for (const auto& r : responses) {
    if (!r.initial_state()) continue;
    for (const auto& e : r.events()) {
      initial.push_back(absl::StrCat(e.name(), "@", e.after().election().display_name()));
    }
  }
  EXPECT_THAT(initial, ElementsAre("elections/e1@Election", "elections/e2@Election",
                                   "elections/e3@Election"));
  EXPECT_THAT(LiveRevisions(responses), ElementsAre(4, 5));
  EXPECT_EQ(sink_.contract_violations(), 0);
}

// registry_service.proto: the marker's header_revision is the snapshot revision R, even when
// writes land while the initial state is sent (a consumer that took a later revision would
// drop the live events between R and it as already applied).
TEST_F(WatchSessionTest, MarkerCarriesTheSnapshotRevision) {
  ASSERT_NO_FATAL_FAILURE(StartHub());
  PutElection("e1");
  PutElection("e2");
  PutElection("e3");
  sink_.SetAutoAck(false);
  v1::WatchRequest request;
  request.set_send_initial_state(true);
  StartSession(request);
  ASSERT_TRUE(sink_.WaitForResponses(1));
  PutElection("e4");
  PutElection("e5");
  sink_.SetAutoAck(true);
  ASSERT_TRUE(sink_.WaitForRevision(5));
  int markers = 0;
  for (const auto& r : sink_.responses()) {
    if (r.initial_state_complete()) {
      ++markers;
      EXPECT_EQ(r.header_revision(), 3);
    }
  }
  EXPECT_EQ(markers, 1);
  EXPECT_THAT(LiveRevisions(sink_.responses()), ElementsAre(4, 5));
}

TEST_F(WatchSessionTest, ResumesFromAStartRevisionFromTheWindowOrTheStore) {
  // A window of two events: resuming further back reads the durable log.
  ASSERT_NO_FATAL_FAILURE(StartHub(HubOptions(2, absl::Hours(1))));
  for (int i = 1; i <= 6; ++i) PutElection(absl::StrCat("e", i));
  v1::WatchRequest request;
  request.set_start_revision(3);
  WatchLimits limits;
  limits.max_events_per_response = 2;
  StartSession(request, limits);
  ASSERT_TRUE(sink_.WaitForRevision(6));
  PutElection("e7");
  ASSERT_TRUE(sink_.WaitForRevision(7));
  const std::vector<v1::WatchResponse> responses = sink_.responses();
  EXPECT_THAT(LiveRevisions(responses), ElementsAre(3, 4, 5, 6, 7));
  for (const auto& r : responses) {
    EXPECT_LE(r.events_size(), 2);
    EXPECT_FALSE(r.initial_state());
    EXPECT_GE(r.header_revision(),
              r.events_size() > 0 ? r.events(r.events_size() - 1).revision() : 0);
  }
  EXPECT_EQ(responses[0].events(0).name(), "elections/e3");
  EXPECT_EQ(sink_.contract_violations(), 0);
}

TEST_F(WatchSessionTest, StartRevisionZeroSendsOnlyNewChanges) {
  ASSERT_NO_FATAL_FAILURE(StartHub());
  PutElection("old1");
  PutElection("old2");
  v1::WatchRequest request;
  StartSession(request);
  EXPECT_FALSE(
      sink_.WaitUntil([](const auto& r, bool) { return !r.empty(); }, absl::Milliseconds(200)))
      << "nothing to send yet";
  PutElection("new");
  ASSERT_TRUE(sink_.WaitForRevision(3));
  EXPECT_THAT(LiveRevisions(sink_.responses()), ElementsAre(3));
}

TEST_F(WatchSessionTest, CompactedStartIsOutOfRange) {
  ASSERT_NO_FATAL_FAILURE(StartHub());
  for (int i = 1; i <= 6; ++i) PutElection(absl::StrCat("e", i));
  ASSERT_TRUE(store_->Compact(4).ok());
  v1::WatchRequest request;
  request.set_start_revision(2);
  StartSession(request);
  ASSERT_TRUE(sink_.WaitForFinish());
  const absl::Status status = sink_.status();
  EXPECT_EQ(status.code(), absl::StatusCode::kOutOfRange);
  const ErrorDetails details = GetErrorDetails(status);
  EXPECT_EQ(details.reason, reason::kRevisionCompacted);
  ASSERT_EQ(details.metadata.count("compact_revision"), 1u);
  EXPECT_EQ(details.metadata.at("compact_revision"), "4");
  EXPECT_THAT(sink_.responses(), IsEmpty()) << "never skip silently";

  // The compaction point itself is still served.
  sink_.Stop();
  FakeSink other;
  auto session = std::make_shared<WatchSession>(*store_, *hub_, &other);
  other.Attach(session);
  request.set_start_revision(4);
  session->Start(request);
  EXPECT_TRUE(other.WaitForRevision(6));
  EXPECT_THAT(LiveRevisions(other.responses()), ElementsAre(4, 5, 6));
  session->Cancel();
  other.Stop();
}

TEST_F(WatchSessionTest, InvalidRequestsFinishWithInvalidArgument) {
  ASSERT_NO_FATAL_FAILURE(StartHub());
  PutElection("e1");
  v1::WatchRequest request;
  request.set_start_revision(-1);
  StartSession(request);
  ASSERT_TRUE(sink_.WaitForFinish());
  EXPECT_EQ(sink_.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(GetErrorDetails(sink_.status()).violations.size(), 1u);
  EXPECT_EQ(GetErrorDetails(sink_.status()).violations[0].field, "start_revision");

  FakeSink other;
  auto session = std::make_shared<WatchSession>(*store_, *hub_, &other);
  other.Attach(session);
  v1::WatchRequest both;
  both.set_start_revision(1);
  both.set_send_initial_state(true);
  session->Start(both);
  ASSERT_TRUE(other.WaitForFinish());
  EXPECT_EQ(other.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(other.responses(), IsEmpty());
  other.Stop();
}

TEST_F(WatchSessionTest, ASinkThatDoesNotAcknowledgeNeverBlocksWriters) {
  ASSERT_NO_FATAL_FAILURE(StartHub(HubOptions(16, absl::Hours(1))));
  sink_.SetAutoAck(false);
  v1::WatchRequest request;
  WatchLimits limits;
  limits.max_events_per_response = 50;
  StartSession(request, limits);
  PutElection("first");
  ASSERT_TRUE(sink_.WaitForResponses(1));
  EXPECT_TRUE(sink_.outstanding());

  // 300 more durable writes while the first send is still outstanding.
  constexpr int kWrites = 300;
  std::future<void> writes = std::async(std::launch::async, [&] {
    for (int i = 0; i < kWrites; ++i) PutElection(absl::StrCat("e", i % 7), absl::StrCat(i));
  });
  ASSERT_EQ(writes.wait_for(std::chrono::seconds(60)), std::future_status::ready)
      << "writers blocked behind a slow watcher";
  writes.get();
  EXPECT_EQ(Head(), kWrites + 1);
  EXPECT_EQ(sink_.responses().size(), 1u) << "nothing is sent while a send is outstanding";
  // The watcher's position (what the lag metric measures) is the one revision it was sent.
  EXPECT_EQ(session_->Position(), 1);

  sink_.SetAutoAck(true);
  ASSERT_TRUE(sink_.WaitForRevision(kWrites + 1));
  EXPECT_EQ(session_->Position(), kWrites + 1);
  const std::vector<v1::WatchResponse> responses = sink_.responses();
  EXPECT_THAT(LiveRevisions(responses), ElementsAreArray(Range(1, kWrites + 1)));
  for (const auto& r : responses) EXPECT_LE(r.events_size(), 50);
  EXPECT_EQ(sink_.contract_violations(), 0);
  EXPECT_FALSE(sink_.finished());
}

TEST_F(WatchSessionTest, IdleWatcherGetsProgressNotifications) {
  ASSERT_NO_FATAL_FAILURE(StartHub(HubOptions(100, absl::Milliseconds(100))));
  PutElection("e1");
  PutElection("e2");
  v1::WatchRequest request;
  StartSession(request);
  ASSERT_TRUE(sink_.WaitForResponses(2));
  const std::vector<v1::WatchResponse> responses = sink_.responses();
  for (const auto& r : responses) {
    EXPECT_TRUE(r.progress_notify());
    EXPECT_THAT(r.events(), IsEmpty());
    EXPECT_EQ(r.header_revision(), 2);
  }
  PutElection("e3");
  ASSERT_TRUE(sink_.WaitForRevision(3));
  EXPECT_THAT(LiveRevisions(sink_.responses()), ElementsAre(3));
  EXPECT_EQ(sink_.contract_violations(), 0);
}

TEST_F(WatchSessionTest, CancelFinishesTheCallAndStopsSending) {
  ASSERT_NO_FATAL_FAILURE(StartHub());
  v1::WatchRequest request;
  StartSession(request);
  PutElection("e1");
  ASSERT_TRUE(sink_.WaitForRevision(1));
  session_->Cancel();
  ASSERT_TRUE(sink_.WaitForFinish());
  EXPECT_EQ(sink_.status().code(), absl::StatusCode::kCancelled);
  const size_t sent = sink_.responses().size();
  PutElection("e2");
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_EQ(sink_.responses().size(), sent);
  EXPECT_EQ(hub_->waiting(), 0u);
  EXPECT_EQ(sink_.contract_violations(), 0);
}

}  // namespace
}  // namespace observer::registry
