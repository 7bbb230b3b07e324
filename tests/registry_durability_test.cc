// Durability of the registry-service: acknowledged writes survive SIGKILL and SIGTERM, the
// change log stays gap-free from revision 1, and writes continue at head+1 after a restart.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <fstream>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/harness/registry_fixture.h"

namespace observer::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

class RegistryDurabilityTest : public RegistryTest {
 protected:
  // Every record as listed (with personal data, as the API returns it).
  struct Listing {
    std::vector<rv1::Election> elections;
    std::vector<rv1::Organisation> organisations;
    std::vector<rv1::Observer> observers;
  };
  Listing ListEverything() {
    Listing l;
    l.elections = MUST(client().AllElections());
    l.organisations = MUST(client().AllOrganisations());
    for (const auto& e : l.elections) {
      for (auto& o : MUST(client().AllObservers(e.name()))) l.observers.push_back(std::move(o));
    }
    return l;
  }

  // Watch from revision 1 to the head: every revision once, in order.
  std::vector<rv1::ChangeEvent> AllEvents(int64_t head) {
    rv1::WatchRequest req;
    req.set_start_revision(1);
    auto stream = client().Watch(req);
    auto events = MUST(stream->EventsThrough(head, absl::Seconds(30)));
    if (static_cast<int64_t>(events.size()) != head) {
      throw TestFailure(
          absl::StrCat("watch from 1 gave ", events.size(), " events, head is ", head));
    }
    for (size_t i = 0; i < events.size(); ++i) {
      if (events[i].revision() != static_cast<int64_t>(i) + 1) {
        throw TestFailure(absl::StrCat("event ", i, " has revision ", events[i].revision()));
      }
    }
    return events;
  }
};

template <typename T>
void ExpectSameList(const std::vector<T>& got, const std::vector<T>& want, const char* what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i) {
    std::string diff;
    EXPECT_TRUE(ProtoEquals(got[i], want[i], &diff)) << what << " " << i << ": " << diff;
  }
}

TEST_F(RegistryDurabilityTest, AcknowledgedWritesSurviveSigkill) {
  // Phase 1: records that are final once acknowledged.
  std::map<std::string, rv1::Observer> acked;  // name → last acknowledged version.
  std::map<int64_t, std::string> ack_revisions;
  rv1::Election election = CreateElection(FutureElection("e1"));
  ack_revisions[election.revision()] = election.name();
  rv1::Organisation org = CreateOrganisation(NewOrganisation("OSCE-ODIHR", "ODIHR"));
  ack_revisions[org.revision()] = org.name();
  for (int i = 0; i < 30; ++i) {
    auto req = NewObserverRequest(election.name(), NextSeq());
    if (i % 2) req.mutable_observer()->mutable_sending_body()->set_organisation(org.name());
    rv1::Observer o = MUST(client().CreateObserver(req)).observer();
    if (i % 3 == 0) o = Accredit(o.name());
    acked[o.name()] = o;
  }
  for (const auto& [name, o] : acked) ack_revisions[o.revision()] = name;

  // Phase 2: concurrent creates, killed in the middle.
  std::mutex mu;
  std::atomic<int> acks{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      RegistryClient own(server().channel(), absl::Seconds(10));
      for (int i = 0; i < 2000; ++i) {
        auto resp = own.CreateObserver(NewObserverRequest(election.name(), NextSeq()));
        if (!resp.ok()) return;  // The server is gone.
        acks.fetch_add(1);
        std::lock_guard<std::mutex> lock(mu);
        acked[resp->observer().name()] = resp->observer();
        ack_revisions[resp->revision()] = resp->observer().name();
      }
    });
  }
  const absl::Time until = absl::Now() + absl::Seconds(30);
  while (acks.load() < 150 && absl::Now() < until) absl::SleepFor(absl::Milliseconds(1));
  ASSERT_OK_AND_ASSIGN(ExitResult killed, server().Kill());
  for (auto& t : threads) t.join();
  EXPECT_EQ(killed.term_signal(), SIGKILL);
  ASSERT_GE(acks.load(), 150) << "writes too slow to test anything";
  const int64_t max_acked = ack_revisions.rbegin()->first;

  ASSERT_NO_FATAL_FAILURE(StartServer());
  const int64_t head = Head();
  EXPECT_GE(head, max_acked);

  // Every acknowledged record, exactly as acknowledged.
  for (const auto& [name, o] : acked) {
    rv1::GetObserverRequest get;
    get.set_name(name);
    auto got = client().GetObserver(get);
    ASSERT_OK(got) << name;
    std::string diff;
    EXPECT_TRUE(ProtoEquals(got->observer(), o, &diff)) << name << ": " << diff;
  }
  rv1::GetElectionRequest get_election;
  get_election.set_name(election.name());
  std::string diff;
  EXPECT_TRUE(ProtoEquals(MUST(client().GetElection(get_election)).election(), election, &diff))
      << diff;

  // The change log is complete from 1 and agrees with every acknowledgement.
  std::vector<rv1::ChangeEvent> events = AllEvents(head);
  for (const auto& [rev, name] : ack_revisions) {
    ASSERT_LE(rev, head) << name;
    EXPECT_EQ(events[rev - 1].name(), name) << "revision " << rev;
  }
  // Nothing in the store the log does not explain, and vice versa.
  const Listing listing = ListEverything();
  EXPECT_GE(listing.observers.size(), acked.size());
  for (const auto& o : listing.observers) {
    ASSERT_LE(o.revision(), head) << o.name();
    ASSERT_GE(o.revision(), 1) << o.name();
    EXPECT_EQ(events[o.revision() - 1].name(), o.name());
  }

  // Writes continue at head+1.
  rv1::Observer next = CreateObserver(election.name());
  EXPECT_EQ(next.revision(), head + 1);
  EXPECT_EQ(Head(), head + 1);
}

TEST_F(RegistryDurabilityTest, GracefulStopAndRestartKeepsEverything) {
  rv1::Election election = CreateElection(FutureElection("e1"));
  CreateElection(Kz2021Election("kz-2021"));
  CreateOrganisation(NewOrganisation("OSCE", "OSCE"));
  auto odihr = NewOrganisation("OSCE-ODIHR", "ODIHR");
  odihr.mutable_organisation()->set_parent("organisations/OSCE");
  CreateOrganisation(odihr);
  for (int i = 0; i < 40; ++i) {
    rv1::Observer o = CreateObserver(election.name(), i % 2 ? "DE" : "FR");
    if (i % 4 == 0) Accredit(o.name());
    if (i % 8 == 0) {
      rv1::SuspendObserverRequest s;
      s.set_name(o.name());
      s.set_reason("x");
      MUST(client().SuspendObserver(s));
    }
    if (i % 10 == 9) {
      rv1::DeleteObserverRequest d;
      d.set_name(o.name());
      MUST(client().DeleteObserver(d));
    }
  }
  auto idem = NewObserverRequest(election.name(), NextSeq());
  idem.set_request_id("before-restart");
  auto idem_resp = MUST(client().CreateObserver(idem));
  const int64_t head = Head();
  const Listing before = ListEverything();
  const std::vector<rv1::ChangeEvent> events_before = AllEvents(head);

  // A watcher is connected while the server drains.
  rv1::WatchRequest watch;
  watch.set_start_revision(head + 1);
  auto stream = client().Watch(watch);
  ASSERT_OK_AND_ASSIGN(ExitResult stopped, server().Stop());
  EXPECT_TRUE(stopped.exited()) << stopped.Describe();
  EXPECT_EQ(stopped.exit_code(), 0) << stopped.Describe();
  EXPECT_THAT(stream->WaitFinished(absl::Seconds(10)),
              Not(StatusIs(absl::StatusCode::kDeadlineExceeded)));

  ASSERT_NO_FATAL_FAILURE(StartServer());
  EXPECT_EQ(Head(), head);
  const Listing after = ListEverything();
  ExpectSameList(after.elections, before.elections, "election");
  ExpectSameList(after.organisations, before.organisations, "organisation");
  ExpectSameList(after.observers, before.observers, "observer");
  const std::vector<rv1::ChangeEvent> events_after = AllEvents(head);
  ExpectSameList(events_after, events_before, "event");

  // The idempotency record survived too.
  ASSERT_OK_AND_ASSIGN(auto replay, client().CreateObserver(idem));
  std::string diff;
  EXPECT_TRUE(ProtoEquals(replay, idem_resp, &diff)) << diff;
  EXPECT_EQ(Head(), head);

  rv1::Observer next = CreateObserver(election.name());
  EXPECT_EQ(next.revision(), head + 1);

  // And once more, by SIGTERM straight after a write.
  ASSERT_OK_AND_ASSIGN(ExitResult stopped2, server().Stop());
  EXPECT_EQ(stopped2.exit_code(), 0) << stopped2.Describe();
  ASSERT_NO_FATAL_FAILURE(StartServer());
  rv1::GetObserverRequest get;
  get.set_name(next.name());
  ASSERT_OK_AND_ASSIGN(auto got, client().GetObserver(get));
  EXPECT_TRUE(ProtoEquals(got.observer(), next, &diff)) << diff;
  EXPECT_EQ(Head(), head + 1);
}

// ---------------------------------------------------------------------------------------------

class RegistryBadStoreTest : public ::testing::TestWithParam<std::string> {};

TEST_P(RegistryBadStoreTest, ExitsNonZeroWithAMessage) {
  TempDir dir;
  {
    std::ofstream f(dir.Join("afile"));
    f << "not a directory\n";
  }
  std::string store = GetParam();
  const std::string kDir = "$DIR";
  if (auto pos = store.find(kDir); pos != std::string::npos)
    store.replace(pos, kDir.size(), dir.path());
  ASSERT_OK_AND_ASSIGN(ExitResult r, RunToExit({RegistryServiceBinary(), "--listen", "127.0.0.1:0",
                                                "--insecure-loopback", "--store", store},
                                               absl::Seconds(20)));
  EXPECT_TRUE(r.exited()) << r.Describe() << "\n" << r.output;
  EXPECT_NE(r.exit_code(), 0) << r.output;
  EXPECT_THAT(r.output, Not(IsEmpty()));
  EXPECT_THAT(r.output, Not(HasSubstr("\"msg\":\"serving\""))) << r.output;
}

struct BadStore {
  const char* name;
  const char* store;  // "$DIR" stands for a temporary directory holding a regular file "afile".
};
const BadStore kBadStores[] = {
    {"UnknownScheme", "foo://x"},
    {"UnderAFile", "sqlite://$DIR/afile/registry.db"},
    {"NotADatabase", "sqlite://$DIR/afile"},
    {"IsADirectory", "sqlite://$DIR"},
};
std::string BadStoreName(const ::testing::TestParamInfo<std::string>& param) {
  return kBadStores[param.index].name;
}
std::vector<std::string> BadStoreUris() {
  std::vector<std::string> uris;
  for (const auto& b : kBadStores) uris.push_back(b.store);
  return uris;
}

INSTANTIATE_TEST_SUITE_P(Stores, RegistryBadStoreTest, ::testing::ValuesIn(BadStoreUris()),
                         BadStoreName);

}  // namespace
}  // namespace observer::testing
