// Black-box tests of the change stream (RegistryService.Watch): initial state + live events
// equal the store, ordering without gaps or duplicates, resumption, compaction, progress
// notifications, slow watchers, and no personal data in events.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "tests/harness/registry_fixture.h"

namespace observer::testing {
namespace {

constexpr absl::StatusCode kOutOfRange = absl::StatusCode::kOutOfRange;

// Records by name, as a consumer of the change stream would hold them.
using Records = std::map<std::string, rv1::ResourceImage>;

rv1::ResourceImage Image(const rv1::Election& e) {
  rv1::ResourceImage i;
  *i.mutable_election() = e;
  return i;
}
rv1::ResourceImage Image(const rv1::Organisation& o) {
  rv1::ResourceImage i;
  *i.mutable_organisation() = o;
  return i;
}
rv1::ResourceImage Image(const rv1::Observer& o) {
  rv1::ResourceImage i;
  *i.mutable_observer() = StripPii(o);
  return i;
}

rv1::ResourceKind KindOf(const rv1::ResourceImage& image) {
  switch (image.resource_case()) {
    case rv1::ResourceImage::kElection:
      return rv1::RESOURCE_KIND_ELECTION;
    case rv1::ResourceImage::kOrganisation:
      return rv1::RESOURCE_KIND_ORGANISATION;
    case rv1::ResourceImage::kObserver:
      return rv1::RESOURCE_KIND_OBSERVER;
    default:
      return rv1::RESOURCE_KIND_UNSPECIFIED;
  }
}

// Checks the shape of one event (images match the type, name, kind and revision; no PII).
// Live events (not initial state) also carry their commit time.
void CheckEventShape(const rv1::ChangeEvent& e, bool live = true) {
  SCOPED_TRACE(absl::StrCat("event ", e.revision(), " ", e.name()));
  EXPECT_GT(e.revision(), 0);
  EXPECT_FALSE(e.name().empty());
  switch (e.type()) {
    case rv1::CHANGE_TYPE_CREATED:
      EXPECT_FALSE(e.has_before());
      ASSERT_TRUE(e.has_after());
      break;
    case rv1::CHANGE_TYPE_UPDATED:
      ASSERT_TRUE(e.has_before());
      ASSERT_TRUE(e.has_after());
      break;
    case rv1::CHANGE_TYPE_DELETED:
      ASSERT_TRUE(e.has_before());
      EXPECT_FALSE(e.has_after());
      break;
    default:
      ADD_FAILURE() << "event type " << e.type();
      return;
  }
  const rv1::ResourceImage& img = e.has_after() ? e.after() : e.before();
  EXPECT_EQ(ImageName(img), e.name());
  EXPECT_EQ(KindOf(img), e.kind());
  if (e.has_after()) {
    EXPECT_EQ(ImageRevision(e.after()), e.revision());
  }
  if (e.has_before()) {
    EXPECT_LT(ImageRevision(e.before()), e.revision());
  }
  for (const auto* image : {&e.before(), &e.after()}) {
    if (image->has_observer()) {
      EXPECT_FALSE(HasPii(image->observer())) << "PII in event: " << image->ShortDebugString();
    }
  }
  if (live) {
    EXPECT_TRUE(e.has_commit_time());
  }
}

// Applies one live event, checking that its before image is what the consumer holds.
void ApplyEvent(Records& records, const rv1::ChangeEvent& e) {
  CheckEventShape(e);
  SCOPED_TRACE(absl::StrCat("applying event ", e.revision(), " ", e.name()));
  auto it = records.find(e.name());
  std::string diff;
  switch (e.type()) {
    case rv1::CHANGE_TYPE_CREATED:
      EXPECT_TRUE(it == records.end()) << "created twice";
      records[e.name()] = e.after();
      break;
    case rv1::CHANGE_TYPE_UPDATED:
      ASSERT_TRUE(it != records.end()) << "update of an unknown record";
      EXPECT_TRUE(ProtoEquals(e.before(), it->second, &diff)) << "before image differs: " << diff;
      it->second = e.after();
      break;
    case rv1::CHANGE_TYPE_DELETED:
      ASSERT_TRUE(it != records.end()) << "delete of an unknown record";
      EXPECT_TRUE(ProtoEquals(e.before(), it->second, &diff)) << "before image differs: " << diff;
      records.erase(it);
      break;
    default:
      break;
  }
}

// The initial state of a Watch(send_initial_state): records and the snapshot revision R.
struct InitialState {
  Records records;
  int64_t revision = 0;
  int64_t events = 0;
};

InitialState ReadInitialState(WatchStream& stream, absl::Duration timeout = absl::Seconds(30)) {
  InitialState state;
  const absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    std::optional<rv1::WatchResponse> r = stream.Next(deadline - absl::Now());
    if (!r.has_value()) {
      throw TestFailure(absl::StrCat(
          "no initial_state_complete marker after ", state.events, " initial events: ",
          stream.finished() ? stream.WaitFinished(absl::ZeroDuration()).ToString() : "timeout"));
    }
    if (r->initial_state_complete()) {
      EXPECT_EQ(r->events_size(), 0) << "marker carries events";
      state.revision = r->header_revision();
      break;
    }
    if (r->progress_notify() && r->events_size() == 0) continue;
    EXPECT_TRUE(r->initial_state())
        << "non-initial response before the marker: " << r->ShortDebugString();
    for (const auto& e : r->events()) {
      ++state.events;
      EXPECT_EQ(e.type(), rv1::CHANGE_TYPE_CREATED) << e.ShortDebugString();
      CheckEventShape(e, /*live=*/false);
      EXPECT_TRUE(state.records.emplace(e.name(), e.after()).second)
          << "initial state repeats " << e.name();
    }
  }
  for (const auto& [name, image] : state.records) {
    EXPECT_LE(ImageRevision(image), state.revision) << name << " is newer than the snapshot";
  }
  return state;
}

// The store as a consumer should see it: every record, observers without PII.
Records StoreContents(RegistryClient& client) {
  Records records;
  for (const auto& e : MUST(client.AllElections())) {
    records[e.name()] = Image(e);
    for (const auto& o : MUST(client.AllObservers(e.name()))) records[o.name()] = Image(o);
  }
  for (const auto& o : MUST(client.AllOrganisations())) records[o.name()] = Image(o);
  return records;
}

void ExpectSameRecords(const Records& got, const Records& want) {
  std::set<std::string> got_names, want_names;
  for (const auto& [n, _] : got) got_names.insert(n);
  for (const auto& [n, _] : want) want_names.insert(n);
  EXPECT_EQ(got_names, want_names);
  for (const auto& [name, image] : want) {
    auto it = got.find(name);
    if (it == got.end()) continue;
    std::string diff;
    EXPECT_TRUE(ProtoEquals(it->second, image, &diff)) << name << ": " << diff;
  }
}

std::string DescribeRevisions(const std::vector<rv1::ChangeEvent>& events, int64_t first,
                              int64_t last) {
  std::set<int64_t> got;
  std::vector<int64_t> dups;
  for (const auto& e : events) {
    if (!got.insert(e.revision()).second) dups.push_back(e.revision());
  }
  std::vector<int64_t> missing;
  for (int64_t r = first; r <= last; ++r) {
    if (!got.count(r)) missing.push_back(r);
  }
  std::string out =
      absl::StrCat("expected revisions ", first, "..", last, ", got ", events.size(), " events");
  if (!events.empty()) {
    absl::StrAppend(&out, " from ", events.front().revision(), " to ", events.back().revision());
  }
  if (!missing.empty()) {
    absl::StrAppend(&out, "; missing:");
    for (size_t i = 0; i < missing.size() && i < 20; ++i) absl::StrAppend(&out, " ", missing[i]);
  }
  if (!dups.empty()) {
    absl::StrAppend(&out, "; duplicated:");
    for (size_t i = 0; i < dups.size() && i < 20; ++i) absl::StrAppend(&out, " ", dups[i]);
  }
  return out;
}

void ExpectContiguous(const std::vector<rv1::ChangeEvent>& events, int64_t first, int64_t last) {
  ASSERT_EQ(static_cast<int64_t>(events.size()), last - first + 1)
      << DescribeRevisions(events, first, last);
  for (size_t i = 0; i < events.size(); ++i) {
    ASSERT_EQ(events[i].revision(), first + static_cast<int64_t>(i))
        << "gap, duplicate or disorder at index " << i << ": "
        << DescribeRevisions(events, first, last);
  }
}

class RegistryWatchTest : public RegistryTest {
 protected:
  std::vector<std::string> ServerArgs() const override {
    return {"--watch-progress-interval", "200ms"};
  }
};

// ---------------------------------------------------------------------------------------------

TEST_F(RegistryWatchTest, InitialStatePlusLiveEventsEqualTheStoreUnderConcurrentWrites) {
  const std::string e1 = CreateElection(FutureElection("e1")).name();
  const std::string e2 = CreateElection(FutureElection("e2", "FR", "Europe/Paris")).name();
  CreateOrganisation(NewOrganisation("OSCE-ODIHR", "ODIHR"));
  CreateOrganisation(NewOrganisation("CIS-EC", "CIS Executive Committee"));
  for (int i = 0; i < 10; ++i) {
    rv1::Observer o = CreateObserver(i % 2 ? e1 : e2);
    if (i % 3 == 0) Accredit(o.name());
  }
  // Enough records that the initial state takes several responses while the writers go on.
  rv1::BatchCreateObserversRequest batch;
  batch.set_parent(e1);
  batch.set_all_or_nothing(true);
  for (int i = 0; i < 400; ++i) *batch.add_requests() = NewObserverRequest("", NextSeq(), "AT");
  MUST(client().BatchCreateObservers(batch));
  const int64_t setup_head = Head();
  constexpr int kWriters = 4;
  constexpr int kMaxOpsPerWriter = 400;
  std::atomic<bool> stop{false};
  std::atomic<int> ops{0};
  std::mutex mu;
  std::vector<std::string> errors;                    // Guarded by mu.
  std::vector<std::pair<int64_t, std::string>> acks;  // Guarded by mu: (revision, name).
  auto writer = [&](int t) {
    struct Mine {
      std::string name;
      rv1::ObserverStatus status;
    };
    std::vector<Mine> mine;
    auto ack = [&](int64_t revision, const std::string& name) {
      std::lock_guard<std::mutex> lock(mu);
      acks.emplace_back(revision, name);
    };
    auto fail = [&](const std::string& what, const absl::Status& s) {
      std::lock_guard<std::mutex> lock(mu);
      errors.push_back(absl::StrCat("writer ", t, ": ", what, ": ", DescribeStatus(s)));
    };
    auto find = [&](rv1::ObserverStatus status) -> Mine* {
      for (auto& m : mine) {
        if (m.status == status) return &m;
      }
      return nullptr;
    };
    for (int i = 0; i < kMaxOpsPerWriter && !stop.load(); ++i, ops.fetch_add(1)) {
      Mine* m = nullptr;
      switch (i % 7) {
        case 1:
          if ((m = find(rv1::OBSERVER_STATUS_SUBMITTED)) != nullptr) {
            rv1::AccreditObserverRequest r;
            r.set_name(m->name);
            auto resp = client().AccreditObserver(r);
            if (!resp.ok())
              fail("accredit", resp.status());
            else {
              m->status = rv1::OBSERVER_STATUS_ACCREDITED;
              ack(resp->revision(), m->name);
            }
            continue;
          }
          break;
        case 2:
          if (!mine.empty()) {
            m = &mine[static_cast<size_t>(i) % mine.size()];
            rv1::UpdateObserverRequest r;
            r.mutable_observer()->set_name(m->name);
            r.mutable_observer()->set_family_name(absl::StrCat("Upd", Letters(t), Letters(i)));
            r.mutable_observer()->add_tags(absl::StrCat("w", t));
            r.mutable_update_mask()->add_paths("family_name");
            r.mutable_update_mask()->add_paths("tags");
            auto resp = client().UpdateObserver(r);
            if (!resp.ok())
              fail("update", resp.status());
            else
              ack(resp->revision(), m->name);
            continue;
          }
          break;
        case 3:
          if ((m = find(rv1::OBSERVER_STATUS_ACCREDITED)) != nullptr) {
            rv1::SuspendObserverRequest r;
            r.set_name(m->name);
            r.set_reason("suspended by writer");
            auto resp = client().SuspendObserver(r);
            if (!resp.ok())
              fail("suspend", resp.status());
            else {
              m->status = rv1::OBSERVER_STATUS_SUSPENDED;
              ack(resp->revision(), m->name);
            }
            continue;
          }
          break;
        case 4:
          if ((m = find(rv1::OBSERVER_STATUS_SUSPENDED)) != nullptr) {
            if (i % 2 == 0) {
              rv1::ReinstateObserverRequest r;
              r.set_name(m->name);
              auto resp = client().ReinstateObserver(r);
              if (!resp.ok())
                fail("reinstate", resp.status());
              else {
                m->status = rv1::OBSERVER_STATUS_ACCREDITED;
                ack(resp->revision(), m->name);
              }
            } else {
              rv1::WithdrawObserverRequest r;
              r.set_name(m->name);
              r.set_reason("withdrawn by writer");
              auto resp = client().WithdrawObserver(r);
              if (!resp.ok())
                fail("withdraw", resp.status());
              else {
                m->status = rv1::OBSERVER_STATUS_WITHDRAWN;
                ack(resp->revision(), m->name);
              }
            }
            continue;
          }
          break;
        case 5:
          if (mine.size() > 3) {
            rv1::DeleteObserverRequest r;
            r.set_name(mine.front().name);
            auto resp = client().DeleteObserver(r);
            if (!resp.ok())
              fail("delete", resp.status());
            else {
              ack(resp->revision(), mine.front().name);
              mine.erase(mine.begin());
            }
            continue;
          }
          break;
        default:
          break;
      }
      auto req = NewObserverRequest(i % 2 ? e1 : e2, NextSeq(), t % 2 ? "DE" : "PL");
      if (i % 3 == 0) {
        req.mutable_observer()->mutable_sending_body()->set_organisation(
            t % 2 ? "organisations/OSCE-ODIHR" : "organisations/CIS-EC");
      }
      auto resp = client().CreateObserver(req);
      if (!resp.ok()) {
        fail("create", resp.status());
      } else {
        mine.push_back({resp->observer().name(), rv1::OBSERVER_STATUS_SUBMITTED});
        ack(resp->revision(), resp->observer().name());
      }
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < kWriters; ++t) threads.emplace_back(writer, t);

  // Open the watch while the writers run.
  while (ops.load() < 20) absl::SleepFor(absl::Milliseconds(2));
  rv1::WatchRequest req;
  req.set_send_initial_state(true);
  auto stream = client().Watch(req);
  InitialState initial;
  try {
    initial = ReadInitialState(*stream);
  } catch (...) {
    stop = true;
    for (auto& t : threads) t.join();
    throw;
  }
  // Let the writers go on for a while after the snapshot, then stop them.
  const int ops_at_marker = ops.load();
  const absl::Time until = absl::Now() + absl::Seconds(20);
  while (ops.load() < ops_at_marker + 80 && absl::Now() < until) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  stop = true;
  for (auto& t : threads) t.join();
  ASSERT_THAT(errors, ::testing::IsEmpty());

  const int64_t head = Head();
  ASSERT_GT(head, initial.revision) << "no writes after the snapshot: the test proves nothing";
  ASSERT_GT(initial.revision, setup_head) << "snapshot taken before the writers started";
  ASSERT_OK_AND_ASSIGN(auto live, stream->EventsThrough(head, absl::Seconds(30)));
  ASSERT_FALSE(live.empty());
  EXPECT_EQ(live.front().revision(), initial.revision + 1)
      << "live events must start right after the snapshot revision R announced by the "
         "initial_state_complete marker (header_revision)";
  ExpectContiguous(live, initial.revision + 1, head);

  Records records = initial.records;
  for (const auto& e : live) ApplyEvent(records, e);
  ExpectSameRecords(records, StoreContents(client()));

  // Every acknowledged write after the snapshot is the event of its revision.
  std::map<int64_t, std::string> by_revision;
  for (const auto& e : live) by_revision[e.revision()] = e.name();
  std::set<int64_t> ack_revisions;
  for (const auto& [rev, name] : acks) {
    EXPECT_TRUE(ack_revisions.insert(rev).second) << "two writes acknowledged revision " << rev;
    if (rev > initial.revision) {
      EXPECT_EQ(by_revision[rev], name) << "revision " << rev;
    }
  }
  // Nothing more is pending: the next response is a progress notification at the head.
  auto next = stream->Next(absl::Seconds(5));
  ASSERT_TRUE(next.has_value());
  EXPECT_TRUE(next->progress_notify());
  EXPECT_EQ(next->events_size(), 0);
  EXPECT_EQ(next->header_revision(), head);
}

TEST_F(RegistryWatchTest, ResumeFromAnyRevisionGetsExactlyTheEventsFromThere) {
  const std::string election = CreateElection(FutureElection("e1")).name();
  rv1::Organisation org = CreateOrganisation(NewOrganisation("OSCE-ODIHR", "ODIHR"));
  std::vector<rv1::Observer> observers;
  for (int i = 0; i < 12; ++i) observers.push_back(CreateObserver(election));
  for (int i = 0; i < 6; ++i) Accredit(observers[i].name());
  rv1::UpdateOrganisationRequest upd_org;
  upd_org.mutable_organisation()->set_name(org.name());
  upd_org.mutable_organisation()->mutable_names()->set_en("OSCE/ODIHR");
  upd_org.mutable_update_mask()->add_paths("names");
  MUST(client().UpdateOrganisation(upd_org));
  rv1::UpdateElectionRequest upd_el;
  upd_el.mutable_election()->set_name(election);
  upd_el.mutable_election()->set_display_name("Renamed");
  upd_el.mutable_update_mask()->add_paths("display_name");
  MUST(client().UpdateElection(upd_el));
  rv1::DeleteObserverRequest del;
  del.set_name(observers[11].name());
  del.set_request_id("delete-11");
  MUST(client().DeleteObserver(del));
  const int64_t head = Head();
  ASSERT_EQ(head, 1 + 1 + 12 + 6 + 1 + 1 + 1);

  rv1::WatchRequest req;
  req.set_start_revision(1);
  auto all_stream = client().Watch(req);
  ASSERT_OK_AND_ASSIGN(auto all, all_stream->EventsThrough(head, absl::Seconds(20)));
  ExpectContiguous(all, 1, head);
  Records records;
  for (const auto& e : all) ApplyEvent(records, e);
  ExpectSameRecords(records, StoreContents(client()));
  EXPECT_EQ(all[0].kind(), rv1::RESOURCE_KIND_ELECTION);
  EXPECT_EQ(all[1].kind(), rv1::RESOURCE_KIND_ORGANISATION);
  EXPECT_EQ(all.back().type(), rv1::CHANGE_TYPE_DELETED);
  EXPECT_EQ(all.back().request_id(), "delete-11");
  EXPECT_EQ(all[head - 3].type(), rv1::CHANGE_TYPE_UPDATED);  // The organisation rename.
  EXPECT_EQ(all[head - 3].after().organisation().names().en(), "OSCE/ODIHR");

  for (int64_t k : {int64_t{2}, int64_t{9}, head - 1, head}) {
    SCOPED_TRACE(absl::StrCat("start_revision ", k));
    req.set_start_revision(k);
    auto stream = client().Watch(req);
    ASSERT_OK_AND_ASSIGN(auto events, stream->EventsThrough(head, absl::Seconds(20)));
    ExpectContiguous(events, k, head);
    for (const auto& e : events) {
      std::string diff;
      EXPECT_TRUE(ProtoEquals(e, all[e.revision() - 1], &diff)) << diff;
    }
    // Nothing beyond the head: the next response is a progress notification.
    auto next = stream->Next(absl::Seconds(5));
    ASSERT_TRUE(next.has_value());
    EXPECT_TRUE(next->progress_notify()) << next->ShortDebugString();
    EXPECT_EQ(next->events_size(), 0);
    EXPECT_EQ(next->header_revision(), head);
  }

  // Starting at head+1 waits for the next write.
  req.set_start_revision(head + 1);
  auto future = client().Watch(req);
  auto first = future->Next(absl::Seconds(5));
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->events_size(), 0);
  rv1::Observer later = CreateObserver(election);
  ASSERT_OK_AND_ASSIGN(auto events, future->EventsThrough(head + 1, absl::Seconds(10)));
  ExpectContiguous(events, head + 1, head + 1);
  EXPECT_EQ(events[0].name(), later.name());
  // The stream from 1 got it too, in order.
  ASSERT_OK_AND_ASSIGN(auto more, all_stream->EventsThrough(head + 1, absl::Seconds(10)));
  ExpectContiguous(more, head + 1, head + 1);
}

TEST_F(RegistryWatchTest, ProgressNotificationsWhenIdle) {
  const std::string election = CreateElection(FutureElection("e1")).name();
  const int64_t head = Head();
  rv1::WatchRequest req;  // From the next revision committed.
  auto stream = client().Watch(req);
  const absl::Time start = absl::Now();
  int progress = 0;
  while (absl::Now() - start < absl::Milliseconds(1600)) {
    auto r = stream->Next(absl::Seconds(3));
    ASSERT_TRUE(r.has_value()) << "no progress notification within 3s";
    EXPECT_TRUE(r->progress_notify()) << r->ShortDebugString();
    EXPECT_EQ(r->events_size(), 0);
    EXPECT_EQ(r->header_revision(), head);
    ++progress;
  }
  // Interval 200ms: about 8 in 1.6s; allow for a slow machine, but not for "never" or a flood.
  EXPECT_GE(progress, 3);
  EXPECT_LE(progress, 20);

  rv1::Observer o = CreateObserver(election);
  ASSERT_OK_AND_ASSIGN(auto events, stream->EventsThrough(head + 1, absl::Seconds(10)));
  ExpectContiguous(events, head + 1, head + 1);
  EXPECT_EQ(events[0].name(), o.name());
  auto r = stream->Next(absl::Seconds(3));
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->progress_notify());
  EXPECT_EQ(r->header_revision(), head + 1);
}

// A small in-memory event cache, so that the slow watcher has to fall back to the durable log.
class RegistrySlowWatcherTest : public RegistryTest {
 protected:
  std::vector<std::string> ServerArgs() const override {
    return {"--watch-progress-interval", "200ms", "--watch-cache-events", "64"};
  }
};

TEST_F(RegistrySlowWatcherTest, SlowWatcherDoesNotBlockWritersOrOtherWatchers) {
  const std::string election = CreateElection(FutureElection("e1")).name();
  const int64_t head0 = Head();
  rv1::WatchRequest req;
  req.set_start_revision(head0 + 1);
  auto slow = client().Watch(req, /*start_reading=*/false);
  RegistryClient other_client(server().channel());  // Another connection.
  auto fast = other_client.Watch(req);

  constexpr int kWriters = 4;
  constexpr int kPerWriter = 500;
  std::atomic<int> failures{0};
  std::mutex mu;
  std::string first_error;
  const absl::Time start = absl::Now();
  std::vector<std::thread> threads;
  for (int t = 0; t < kWriters; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerWriter; ++i) {
        auto r = NewObserverRequest(election, NextSeq(), t % 2 ? "DE" : "FR");
        // Big events, so that the unread stream fills every flow-control window.
        for (int k = 0; k < 12; ++k) {
          r.mutable_observer()->add_tags(absl::StrCat("tag-", k, "-", std::string(50, 'x')));
        }
        auto resp = client().CreateObserver(r);
        if (!resp.ok()) {
          if (failures.fetch_add(1) == 0) {
            std::lock_guard<std::mutex> lock(mu);
            first_error = DescribeStatus(resp.status());
          }
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  const absl::Duration elapsed = absl::Now() - start;
  ASSERT_EQ(failures.load(), 0) << first_error;
  EXPECT_LT(elapsed, absl::Seconds(60)) << "writers took " << elapsed;
  const int64_t head = Head();
  ASSERT_EQ(head, head0 + kWriters * kPerWriter);

  // The reading watcher kept up while the other one did not read.
  ASSERT_OK_AND_ASSIGN(auto fast_events, fast->EventsThrough(head, absl::Seconds(30)));
  ExpectContiguous(fast_events, head0 + 1, head);

  // The slow one, read at last, delivers everything in order.
  slow->StartReading();
  ASSERT_OK_AND_ASSIGN(auto slow_events, slow->EventsThrough(head, absl::Seconds(60)));
  ExpectContiguous(slow_events, head0 + 1, head);
  for (size_t i = 0; i < slow_events.size(); ++i) {
    std::string diff;
    ASSERT_TRUE(ProtoEquals(slow_events[i], fast_events[i], &diff))
        << "revision " << slow_events[i].revision() << ": " << diff;
  }
}

TEST_F(RegistryWatchTest, InvalidWatchRequests) {
  CreateElection(FutureElection("e1"));
  rv1::WatchRequest both;
  both.set_send_initial_state(true);
  both.set_start_revision(1);
  EXPECT_THAT(client().Watch(both)->WaitFinished(absl::Seconds(10)),
              HasViolation("start_revision"));
  rv1::WatchRequest negative;
  negative.set_start_revision(-5);
  EXPECT_THAT(client().Watch(negative)->WaitFinished(absl::Seconds(10)),
              HasViolation("start_revision"));
  // The head is 1: a start at 2 waits for the next change, a start at 3 cannot come from
  // this store's history (e.g. a consumer of a store since restored from a backup).
  rv1::WatchRequest ahead;
  ahead.set_start_revision(3);
  const absl::Status status = client().Watch(ahead)->WaitFinished(absl::Seconds(10));
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kOutOfRange, "REVISION_AHEAD"));
  EXPECT_EQ(GetErrorDetails(status).metadata["head_revision"], "1");
}

TEST_F(RegistryWatchTest, EventsCarryNoPersonalData) {
  const std::string election = CreateElection(FutureElection("e1")).name();
  auto create = NewObserverRequest(election, 777);
  create.mutable_observer()->mutable_id_document()->set_number("PIIDOC777X");
  create.mutable_observer()->mutable_contact()->set_email("secret.person@example.org");
  rv1::Observer o = MUST(client().CreateObserver(create)).observer();
  rv1::UpdateObserverRequest upd;
  upd.mutable_observer()->set_name(o.name());
  upd.mutable_observer()->mutable_id_document()->set_type(rv1::ID_DOCUMENT_TYPE_PASSPORT);
  upd.mutable_observer()->mutable_id_document()->set_number("PIIDOC888Y");
  upd.mutable_observer()->mutable_id_document()->set_issuing_country("DE");
  upd.mutable_observer()->mutable_contact()->set_email("other.secret@example.org");
  *upd.mutable_observer()->mutable_birth_date() = MakeDate(1961, 7, 3);
  upd.mutable_observer()->set_family_name("Visible");
  upd.mutable_update_mask()->add_paths("id_document");
  upd.mutable_update_mask()->add_paths("contact");
  upd.mutable_update_mask()->add_paths("birth_date");
  upd.mutable_update_mask()->add_paths("family_name");
  rv1::Observer updated = MUST(client().UpdateObserver(upd)).observer();
  Accredit(o.name());
  rv1::Observer kept = CreateObserver(election);
  rv1::DeleteObserverRequest del;
  del.set_name(o.name());
  MUST(client().DeleteObserver(del));
  const int64_t head = Head();

  rv1::WatchRequest from_start;
  from_start.set_start_revision(1);
  auto stream = client().Watch(from_start);
  ASSERT_OK_AND_ASSIGN(auto events, stream->EventsThrough(head, absl::Seconds(20)));
  ExpectContiguous(events, 1, head);
  int observer_images = 0;
  for (const auto& e : events) {
    CheckEventShape(e);
    for (const auto* img : {&e.before(), &e.after()}) {
      if (!img->has_observer()) continue;
      ++observer_images;
      EXPECT_FALSE(img->observer().has_id_document()) << e.ShortDebugString();
      EXPECT_FALSE(img->observer().has_birth_date()) << e.ShortDebugString();
      EXPECT_FALSE(img->observer().has_contact()) << e.ShortDebugString();
    }
    const std::string text = e.SerializeAsString();
    EXPECT_EQ(text.find("PIIDOC"), std::string::npos) << "document number in an event";
    EXPECT_EQ(text.find("secret"), std::string::npos) << "contact in an event";
  }
  EXPECT_GE(observer_images, 6);
  // The update event shows the non-personal change.
  const rv1::ChangeEvent& update_event = events[updated.revision() - 1];
  EXPECT_EQ(update_event.type(), rv1::CHANGE_TYPE_UPDATED);
  EXPECT_EQ(update_event.before().observer().family_name(), o.family_name());
  EXPECT_EQ(update_event.after().observer().family_name(), "Visible");

  rv1::WatchRequest initial;
  initial.set_send_initial_state(true);
  auto snapshot = client().Watch(initial);
  InitialState state = ReadInitialState(*snapshot);
  EXPECT_EQ(state.revision, head);
  ASSERT_TRUE(state.records.count(kept.name()));
  EXPECT_FALSE(HasPii(state.records[kept.name()].observer()));
  EXPECT_EQ(state.records.count(o.name()), 0u);

  // Nor in the server's logs.
  const std::string logs = server().output();
  EXPECT_EQ(logs.find("PIIDOC"), std::string::npos) << "document number in the logs";
  EXPECT_EQ(logs.find("secret.person"), std::string::npos) << "contact in the logs";
  EXPECT_EQ(logs.find(kept.id_document().number()), std::string::npos) << "document in the logs";
}

// ---------------------------------------------------------------------------------------------

class RegistryWatchCompactionTest : public RegistryTest {
 protected:
  std::vector<std::string> ServerArgs() const override {
    return {"--changelog-retention", "20", "--watch-progress-interval", "200ms"};
  }
};

TEST_F(RegistryWatchCompactionTest, StartBelowCompactionIsOutOfRange) {
  const std::string election = CreateElection(FutureElection("e1")).name();
  for (int i = 0; i < 60; ++i) CreateObserver(election);
  const int64_t head = Head();
  ASSERT_EQ(head, 61);

  // Compaction may run in the background after the writes are acknowledged: ask (bounded)
  // until revision 1 is gone and the reported compaction point has settled.
  auto compact_point = [&](absl::Status* status) -> int64_t {
    rv1::WatchRequest from1;
    from1.set_start_revision(1);
    auto stream = client().Watch(from1);
    *status = stream->WaitFinished(absl::Seconds(2));
    if (status->code() == absl::StatusCode::kDeadlineExceeded) {
      // Still open: then it must be delivering from revision 1.
      auto r = stream->Next(absl::ZeroDuration());
      EXPECT_TRUE(r.has_value()) << "open watch from 1 sends nothing";
      if (r.has_value() && r->events_size() > 0) {
        EXPECT_EQ(r->events(0).revision(), 1);
      }
      return 0;
    }
    auto details = GetErrorDetails(*status);
    int64_t c = 0;
    if (!absl::SimpleAtoi(details.metadata["compact_revision"], &c)) return -1;
    return c;
  };
  absl::Status status;
  int64_t compact = 0;
  int64_t previous = -2;
  const absl::Time deadline = absl::Now() + absl::Seconds(15);
  for (;;) {
    compact = compact_point(&status);
    if (compact > 1 && compact == previous) break;
    if (absl::Now() > deadline) break;
    previous = compact;
    absl::SleepFor(absl::Milliseconds(300));
  }
  ASSERT_THAT(status, StatusIs(kOutOfRange, "REVISION_COMPACTED"));
  ASSERT_GT(compact, 1) << "no usable compact_revision in the metadata: " << DescribeStatus(status);
  EXPECT_LE(compact, head - 19) << "fewer than 20 revisions retained";

  // Just below fails the same way; at the compact revision it works.
  rv1::WatchRequest req;
  req.set_start_revision(compact - 1);
  EXPECT_THAT(client().Watch(req)->WaitFinished(absl::Seconds(10)),
              StatusIs(kOutOfRange, "REVISION_COMPACTED"));
  req.set_start_revision(compact);
  auto stream = client().Watch(req);
  ASSERT_OK_AND_ASSIGN(auto events, stream->EventsThrough(head, absl::Seconds(20)));
  ExpectContiguous(events, compact, head);

  // A fresh initial state is always possible.
  rv1::WatchRequest initial;
  initial.set_send_initial_state(true);
  auto snapshot = client().Watch(initial);
  InitialState state = ReadInitialState(*snapshot);
  EXPECT_EQ(state.revision, head);
  ExpectSameRecords(state.records, StoreContents(client()));
}

}  // namespace
}  // namespace observer::testing
