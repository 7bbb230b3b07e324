// The history checker itself (no processes): each kind of violation is reported on made-up
// input, and a correct history, with unknown outcomes applied or not, passes.
#include "tests/harness/history.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/errors.h"
#include "tests/harness/builders.h"

namespace observer::testing {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr char kElection[] = "elections/e1";

std::string ObserverName(const std::string& id) {
  return std::string(kElection) + "/observers/" + id;
}

// A record as the API returns it (with personal data).
rv1::Observer Record(const std::string& id, rv1::ObserverStatus status, int64_t revision) {
  rv1::Observer o = NewObserver(1000 + revision);
  o.set_name(ObserverName(id));
  o.set_status(status);
  o.set_revision(revision);
  o.set_etag(absl::StrCat("\"", revision, "\""));
  return o;
}

rv1::ChangeEvent Event(int64_t revision, rv1::ChangeType type, const rv1::Observer& after,
                       const std::string& request_id) {
  rv1::ChangeEvent e;
  e.set_revision(revision);
  e.set_type(type);
  e.set_kind(rv1::RESOURCE_KIND_OBSERVER);
  e.set_name(after.name());
  *e.mutable_after()->mutable_observer() = StripPii(after);
  e.set_request_id(request_id);
  return e;
}

rv1::ChangeEvent ElectionEvent(int64_t revision) {
  rv1::ChangeEvent e;
  e.set_revision(revision);
  e.set_type(rv1::CHANGE_TYPE_CREATED);
  e.set_kind(rv1::RESOURCE_KIND_ELECTION);
  e.set_name(kElection);
  e.mutable_after()->mutable_election()->set_name(kElection);
  return e;
}

absl::Status Unknown() { return absl::UnavailableError("Socket closed"); }
absl::Status Failed() {
  return MakeError(absl::StatusCode::kUnavailable, reason::kStoreBusy, "the store is locked");
}

void Acked(History& h, const std::string& method, const std::string& rid, const std::string& target,
           const rv1::Observer& record) {
  h.Complete(h.Invoke(method, rid, target), absl::OkStatus(), &record, record.revision());
}

// The records of a correct run:
//   1  the election
//   2  A created (w0-0, acked)
//   3  A accredited (w0-1, acked)
//   4  B created (w0-2: first attempt unknown, the retry acked with the original answer)
//   5  C created (w0-3: unknown, applied; the run ended before a retry)
//   -  w0-4: a create, unknown, never applied
//   -  w0-5: suspend A, failed (STORE_BUSY)
//   6  B's tags updated (w0-6: unknown, applied)
struct Scenario {
  History history;
  FinalState state;
  rv1::Observer a2, a3, b4, c5, b6;
};

void MakeCorrectRun(Scenario& run) {
  History& h = run.history;
  run.a2 = Record("a", rv1::OBSERVER_STATUS_SUBMITTED, 2);
  run.a3 = run.a2;
  run.a3.set_status(rv1::OBSERVER_STATUS_ACCREDITED);
  run.a3.set_revision(3);
  run.a3.set_badge_number("1");
  run.b4 = Record("b", rv1::OBSERVER_STATUS_SUBMITTED, 4);
  run.c5 = Record("c", rv1::OBSERVER_STATUS_SUBMITTED, 5);
  run.b6 = run.b4;
  run.b6.set_revision(6);
  run.b6.add_tags("t1");

  Acked(h, "CreateObserver", "w0-0", "", run.a2);
  Acked(h, "AccreditObserver", "w0-1", run.a2.name(), run.a3);
  h.Complete(h.Invoke("CreateObserver", "w0-2", ""), Unknown(), nullptr, 0);
  Acked(h, "CreateObserver", "w0-2", "", run.b4);
  h.Complete(h.Invoke("CreateObserver", "w0-3", ""), absl::DeadlineExceededError("deadline"),
             nullptr, 0);
  h.Complete(h.Invoke("CreateObserver", "w0-4", ""), absl::CancelledError("cancelled"), nullptr, 0);
  h.Complete(h.Invoke("SuspendObserver", "w0-5", run.a2.name()), Failed(), nullptr, 0);
  h.Complete(h.Invoke("UpdateObserver", "w0-6", run.b4.name()), Unknown(), nullptr, 0);

  FinalState& s = run.state;
  s.head = 6;
  s.compact = 1;
  s.events = {ElectionEvent(1),
              Event(2, rv1::CHANGE_TYPE_CREATED, run.a2, "w0-0"),
              Event(3, rv1::CHANGE_TYPE_UPDATED, run.a3, "w0-1"),
              Event(4, rv1::CHANGE_TYPE_CREATED, run.b4, "w0-2"),
              Event(5, rv1::CHANGE_TYPE_CREATED, run.c5, "w0-3"),
              Event(6, rv1::CHANGE_TYPE_UPDATED, run.b6, "w0-6")};
  s.observers = {run.a3, run.b6, run.c5};
}

std::string Show(const std::vector<std::string>& v) { return absl::StrJoin(v, "\n"); }

TEST(ClassifyTest, OkIsAckedOurErrorsFailedTheRestUnknown) {
  EXPECT_EQ(Classify(absl::OkStatus()), Outcome::kAcked);
  EXPECT_EQ(Classify(Failed()), Outcome::kFailed);
  EXPECT_EQ(Classify(MakeError(absl::StatusCode::kInvalidArgument, reason::kInvalidStatusTransition,
                               "no")),
            Outcome::kFailed);
  EXPECT_EQ(Classify(MakeError(absl::StatusCode::kResourceExhausted, reason::kStoreFull, "full")),
            Outcome::kFailed);
  EXPECT_EQ(Classify(absl::UnavailableError("failed to connect to all addresses")),
            Outcome::kUnknown);
  EXPECT_EQ(Classify(absl::DeadlineExceededError("Deadline Exceeded")), Outcome::kUnknown);
  EXPECT_EQ(Classify(absl::CancelledError("Cancelled")), Outcome::kUnknown);
  EXPECT_EQ(Classify(absl::InternalError("no details")), Outcome::kUnknown);
  EXPECT_STREQ(OutcomeName(Outcome::kUnknown), "unknown");
}

TEST(HistoryTest, RecordsOperationsAndSummarises) {
  History h;
  const int64_t a = h.Invoke("CreateObserver", "r1", "");
  const int64_t b = h.Invoke("AccreditObserver", "r2", ObserverName("x"));
  EXPECT_EQ(a, 0);
  EXPECT_EQ(b, 1);
  const rv1::Observer x = Record("x", rv1::OBSERVER_STATUS_SUBMITTED, 7);
  h.Complete(a, absl::OkStatus(), &x, 7);
  h.Complete(b, Unknown(), nullptr, 0);
  const std::vector<Operation> ops = h.operations();
  ASSERT_EQ(ops.size(), 2u);
  EXPECT_EQ(ops[0].target, x.name()) << "an acked create names its record";
  EXPECT_EQ(ops[0].revision, 7);
  ASSERT_TRUE(ops[0].acked.has_value());
  EXPECT_EQ(ops[1].outcome, Outcome::kUnknown);
  EXPECT_GE(ops[1].completed, ops[1].invoked);
  EXPECT_EQ(h.Summary(), "2 ops: 1 acked, 0 failed, 1 unknown, 0 pending");
}

TEST(CheckHistoryTest, CorrectHistoryWithUnknownOutcomesAppliedOrNotPasses) {
  Scenario run;
  MakeCorrectRun(run);
  EXPECT_THAT(CheckHistory(run.history, run.state), IsEmpty());
}

TEST(CheckHistoryTest, EmptyStorePasses) {
  History h;
  FinalState s;
  EXPECT_THAT(CheckHistory(h, s), IsEmpty());
}

TEST(CheckHistoryTest, LostAckedCreateIsReported) {
  Scenario run;
  MakeCorrectRun(run);
  // B, acknowledged at 4, is gone from the store, and so is its log (the head was cut to 3:
  // a lost commit).
  run.state.head = 3;
  run.state.events.resize(3);
  run.state.observers = {run.a3};
  const std::vector<std::string> v = CheckHistory(run.history, run.state);
  EXPECT_THAT(v, Contains(HasSubstr("rid=w0-2 target=elections/e1/observers/b acked at 4: "
                                    "its record is missing")))
      << Show(v);
  EXPECT_THAT(v, Contains(HasSubstr("beyond the head"))) << Show(v);
}

TEST(CheckHistoryTest, AckedUpdateWhoseRecordDiffersIsReported) {
  Scenario run;
  MakeCorrectRun(run);
  // A's accreditation was acked with badge 1; the store (and its log, consistently) says 2.
  rv1::Observer other = run.a3;
  other.set_badge_number("2");
  run.state.events[2] = Event(3, rv1::CHANGE_TYPE_UPDATED, other, "w0-1");
  run.state.observers[0] = other;
  const std::vector<std::string> v = CheckHistory(run.history, run.state);
  EXPECT_THAT(v, Contains(HasSubstr("rid=w0-1 target=elections/e1/observers/a acked at 3: the "
                                    "record differs from the last acknowledged one")))
      << Show(v);
  EXPECT_THAT(v, Contains(HasSubstr("the event at its revision differs"))) << Show(v);
}

TEST(CheckHistoryTest, PersonalDataLostFromAnAckedRecordIsReported) {
  Scenario run;
  MakeCorrectRun(run);
  run.state.observers[0].clear_contact();  // Events carry none, so only the ack can tell.
  const std::vector<std::string> v = CheckHistory(run.history, run.state);
  EXPECT_THAT(v, Contains(HasSubstr("record differs from the last acknowledged"))) << Show(v);
}

TEST(CheckHistoryTest, EventOfADefinitelyFailedRequestIsReported) {
  Scenario run;
  MakeCorrectRun(run);
  // The suspension answered STORE_BUSY was applied all the same.
  rv1::Observer suspended = run.a3;
  suspended.set_status(rv1::OBSERVER_STATUS_SUSPENDED);
  suspended.set_revision(7);
  run.state.head = 7;
  run.state.events.push_back(Event(7, rv1::CHANGE_TYPE_UPDATED, suspended, "w0-5"));
  run.state.observers[0] = suspended;
  const std::vector<std::string> v = CheckHistory(run.history, run.state);
  EXPECT_THAT(v, Contains(HasSubstr("rid=w0-5 target=elections/e1/observers/a failed"))) << Show(v);
  EXPECT_THAT(v, Contains(HasSubstr("definitely failed, yet revision 7"))) << Show(v);
}

TEST(CheckHistoryTest, TwoEventsWithOneRequestIdAreReported) {
  Scenario run;
  MakeCorrectRun(run);
  // The unknown create w0-3 was applied twice (a retry created a second record).
  rv1::Observer d = Record("d", rv1::OBSERVER_STATUS_SUBMITTED, 7);
  run.state.head = 7;
  run.state.events.push_back(Event(7, rv1::CHANGE_TYPE_CREATED, d, "w0-3"));
  run.state.observers.push_back(d);
  const std::vector<std::string> v = CheckHistory(run.history, run.state);
  EXPECT_THAT(v, Contains(HasSubstr("request id w0-3 applied 2 times: revisions 5 "
                                    "(elections/e1/observers/c), 7 (elections/e1/observers/d)")))
      << Show(v);
}

TEST(CheckHistoryTest, GapInTheLogIsReported) {
  Scenario run;
  MakeCorrectRun(run);
  run.state.events.erase(run.state.events.begin() + 4);  // Revision 5.
  const std::vector<std::string> v = CheckHistory(run.history, run.state);
  EXPECT_THAT(v, Contains(HasSubstr("change log: gap, revisions 5..5 missing"))) << Show(v);
}

TEST(CheckHistoryTest, MissingTailOfTheLogIsReported) {
  Scenario run;
  MakeCorrectRun(run);
  run.state.events.pop_back();  // Revision 6 (the head).
  const std::vector<std::string> v = CheckHistory(run.history, run.state);
  EXPECT_THAT(v, Contains(HasSubstr("change log: revisions 6..6 missing"))) << Show(v);
}

TEST(CheckHistoryTest, DuplicateRevisionInTheLogIsReported) {
  Scenario run;
  MakeCorrectRun(run);
  run.state.events.insert(run.state.events.begin() + 3, run.state.events[2]);  // 3 twice.
  const std::vector<std::string> v = CheckHistory(run.history, run.state);
  EXPECT_THAT(v, Contains(HasSubstr("change log: revision 3 twice"))) << Show(v);
}

TEST(CheckHistoryTest, ListedRecordThatNoEventExplainsIsReported) {
  Scenario run;
  MakeCorrectRun(run);
  run.state.observers.push_back(Record("ghost", rv1::OBSERVER_STATUS_ACCREDITED, 5));
  const std::vector<std::string> v = CheckHistory(run.history, run.state);
  EXPECT_THAT(v, Contains(HasSubstr("listing: elections/e1/observers/ghost at revision 5 is "
                                    "explained by no change event")))
      << Show(v);
}

TEST(CheckHistoryTest, RecordOfTheLogMissingFromTheListingIsReported) {
  Scenario run;
  MakeCorrectRun(run);
  run.state.observers.pop_back();  // C, created at 5 by an unknown call.
  const std::vector<std::string> v = CheckHistory(run.history, run.state);
  EXPECT_THAT(v, Contains(HasSubstr("listing: elections/e1/observers/c (revision 5) is missing")))
      << Show(v);
}

TEST(CheckHistoryTest, ListedRecordDifferentFromItsEventsIsReported) {
  Scenario run;
  MakeCorrectRun(run);
  run.state.observers[2].add_tags("never-written");  // C: no acked op, only the log knows.
  const std::vector<std::string> v = CheckHistory(run.history, run.state);
  EXPECT_THAT(v, Contains(HasSubstr("listing: elections/e1/observers/c differs from the replay")))
      << Show(v);
}

TEST(CheckHistoryTest, PendingOperationIsReported) {
  Scenario run;
  MakeCorrectRun(run);
  run.history.Invoke("AccreditObserver", "w0-7", run.b4.name());
  const std::vector<std::string> v = CheckHistory(run.history, run.state);
  EXPECT_THAT(v, Contains(HasSubstr("rid=w0-7 target=elections/e1/observers/b pending: never "
                                    "completed")))
      << Show(v);
}

TEST(CheckHistoryTest, AckedChangeWhoseRevisionHoldsAnotherEventIsReported) {
  Scenario run;
  MakeCorrectRun(run);
  // The accreditation's answer names revision 3, but 3 is someone else's change.
  run.state.events[2].set_request_id("x-1");
  const std::vector<std::string> v = CheckHistory(run.history, run.state);
  EXPECT_THAT(v, Contains(HasSubstr("rid=w0-1 target=elections/e1/observers/a acked at 3: "
                                    "revision 3 is elections/e1/observers/a rid=x-1 (lost)")))
      << Show(v);
}

TEST(CheckHistoryTest, ChangeAppliedToAnotherObserverIsReported) {
  Scenario run;
  MakeCorrectRun(run);
  // The unknown tag update of B shows up on C.
  rv1::Observer c6 = run.c5;
  c6.set_revision(6);
  c6.add_tags("t1");
  run.state.events[5] = Event(6, rv1::CHANGE_TYPE_UPDATED, c6, "w0-6");
  run.state.observers = {run.a3, run.b4, c6};
  const std::vector<std::string> v = CheckHistory(run.history, run.state);
  EXPECT_THAT(v, Contains(HasSubstr("rid=w0-6 target=elections/e1/observers/b unknown")))
      << Show(v);
}

}  // namespace
}  // namespace observer::testing
