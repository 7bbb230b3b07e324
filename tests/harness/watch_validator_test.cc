// The watch validator on made-up change streams: every kind of broken promise is reported,
// and correct streams (with an initial state, progress notifications, a resume after a broken
// call) pass. No processes.
#include "tests/harness/watch_validator.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <initializer_list>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/errors.h"

namespace observer::testing {
namespace {

using ::testing::AllOf;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

rv1::ChangeEvent Event(int64_t revision, const std::string& name = "") {
  rv1::ChangeEvent e;
  e.set_revision(revision);
  e.set_type(rv1::CHANGE_TYPE_UPDATED);
  e.set_kind(rv1::RESOURCE_KIND_OBSERVER);
  e.set_name(name.empty() ? absl::StrCat("elections/e/observers/", revision) : name);
  return e;
}

// Live events with these revisions; header = the last one (or `header` if given).
rv1::WatchResponse Live(std::initializer_list<int64_t> revisions, int64_t header = 0) {
  rv1::WatchResponse r;
  int64_t last = 0;
  for (int64_t rev : revisions) {
    *r.add_events() = Event(rev);
    last = rev;
  }
  r.set_header_revision(header > 0 ? header : last);
  return r;
}

rv1::WatchResponse LiveEvents(const std::vector<rv1::ChangeEvent>& events, int64_t header) {
  rv1::WatchResponse r;
  for (const auto& e : events) *r.add_events() = e;
  r.set_header_revision(header);
  return r;
}

rv1::WatchResponse Progress(int64_t header) {
  rv1::WatchResponse r;
  r.set_progress_notify(true);
  r.set_header_revision(header);
  return r;
}

// Initial-state records: (name, revision) pairs.
rv1::WatchResponse Initial(std::initializer_list<std::pair<const char*, int64_t>> records,
                           int64_t header) {
  rv1::WatchResponse r;
  r.set_initial_state(true);
  for (const auto& [name, rev] : records) {
    rv1::ChangeEvent* e = r.add_events();
    e->set_revision(rev);
    e->set_type(rv1::CHANGE_TYPE_CREATED);
    e->set_kind(rv1::RESOURCE_KIND_OBSERVER);
    e->set_name(name);
  }
  r.set_header_revision(header);
  return r;
}

rv1::WatchResponse Marker(int64_t r) {
  rv1::WatchResponse m;
  m.set_initial_state_complete(true);
  m.set_header_revision(r);
  return m;
}

rv1::WatchRequest From(int64_t start) {
  rv1::WatchRequest r;
  r.set_start_revision(start);
  return r;
}

rv1::WatchRequest WithInitialState() {
  rv1::WatchRequest r;
  r.set_send_initial_state(true);
  return r;
}

// One call: start, responses, end.
void Call(WatchValidator& v, const rv1::WatchRequest& request,
          const std::vector<rv1::WatchResponse>& responses,
          const absl::Status& end = absl::CancelledError("done")) {
  v.OnStart(request);
  for (const auto& r : responses) v.OnResponse(r);
  v.OnEnd(end);
}

// The violations of a single call from `start`.
std::vector<std::string> Check(int64_t start, const std::vector<rv1::WatchResponse>& responses,
                               const absl::Status& end = absl::CancelledError("done")) {
  WatchValidator v;
  Call(v, From(start), responses, end);
  return v.Violations();
}

// ---------------------------------------------------------------------------------------------
// Correct streams pass.

TEST(WatchValidatorTest, AnOrderedGapFreeStreamPasses) {
  WatchValidator v;
  Call(v, From(1), {Live({1, 2, 3}), Live({4}), Live({5, 6}, 9), Live({7, 8, 9})});
  EXPECT_THAT(v.Violations(), IsEmpty());
  EXPECT_EQ(v.last_revision(), 9);
  EXPECT_THAT(v.events(), SizeIs(9));
  EXPECT_EQ(v.calls(), 1);
}

TEST(WatchValidatorTest, InitialStateProgressAndResumePass) {
  WatchValidator v;
  // The initial state at R = 10 (records with their own older revisions; the header of the
  // state's responses may already be past R), live 11..12, a progress notification at 12, a
  // broken call, a resume at 13, another progress, more events.
  Call(v, WithInitialState(),
       {Initial({{"elections/e", 1}, {"organisations/a", 2}}, 11),
        Initial({{"elections/e/observers/x", 10}}, 11), Marker(10), Live({11}), Live({12}),
        Progress(12)},
       absl::UnavailableError("connection reset"));
  Call(v, From(13), {Live({13, 14}), Progress(14), Live({15})},
       absl::DeadlineExceededError("deadline"));
  Call(v, From(16), {Live({16})});
  EXPECT_THAT(v.Violations(), IsEmpty());
  EXPECT_EQ(v.last_revision(), 16);
  EXPECT_THAT(v.snapshot(), SizeIs(3));
  EXPECT_EQ(v.progress_notifications(), 2);
  EXPECT_EQ(v.calls(), 3);
}

TEST(WatchValidatorTest, AnEmptyInitialStateAndAFreshOneAfterCompactionPass) {
  WatchValidator v;
  Call(v, WithInitialState(), {Marker(0), Live({1})});
  Call(v, From(2), {},
       MakeError(absl::StatusCode::kOutOfRange, reason::kRevisionCompacted, "compacted",
                 {{"compact_revision", "50"}}));
  Call(v, WithInitialState(), {Initial({{"elections/e", 60}}, 60), Marker(60), Live({61})});
  EXPECT_THAT(v.Violations(), IsEmpty());
  EXPECT_EQ(v.last_revision(), 61);
  EXPECT_THAT(v.snapshot(), SizeIs(1));
}

TEST(WatchValidatorTest, AWatchFromTheNextRevisionLearnsItsPositionFromProgress) {
  WatchValidator v;
  Call(v, From(0), {Progress(41), Live({42})});
  EXPECT_THAT(v.Violations(), IsEmpty());
  EXPECT_EQ(v.last_revision(), 42);
}

TEST(WatchValidatorTest, TheContractsEndStatusesPass) {
  for (const absl::Status& end :
       {absl::OkStatus(), absl::UnavailableError("x"), absl::CancelledError("x"),
        absl::DeadlineExceededError("x"), absl::ResourceExhaustedError("x")}) {
    EXPECT_THAT(Check(1, {Live({1})}, end), IsEmpty()) << end;
  }
}

// ---------------------------------------------------------------------------------------------
// Each violation is reported.

TEST(WatchValidatorTest, AGapIsReported) {
  EXPECT_THAT(Check(1, {Live({1, 2}), Live({4})}),
              ElementsAre(AllOf(HasSubstr("gap"), HasSubstr("missing 3..3"))));
  // Within one response too, and a first event above the start revision.
  EXPECT_THAT(Check(1, {Live({1, 3})}), Contains(HasSubstr("gap")));
  EXPECT_THAT(Check(5, {Live({6})}), Contains(HasSubstr("gap")));
}

TEST(WatchValidatorTest, ADuplicateIsReported) {
  EXPECT_THAT(Check(1, {Live({1, 2}), Live({2, 3})}),
              ElementsAre(HasSubstr("revision 2 delivered twice")));
  EXPECT_THAT(Check(1, {Live({1, 2, 2})}), Contains(HasSubstr("delivered twice")));
}

TEST(WatchValidatorTest, ReorderingIsReported) {
  const std::vector<std::string> v = Check(1, {Live({1, 3, 2})});
  EXPECT_THAT(v, Contains(HasSubstr("gap")));
  EXPECT_THAT(v, Contains(HasSubstr("revision 2 out of order")));
  EXPECT_THAT(Check(1, {Live({1, 2}), Live({1})}), Contains(HasSubstr("out of order")));
}

TEST(WatchValidatorTest, ARevisionSplitAcrossResponsesIsReported) {
  // Revision 2 has two events (two changes in one revision, itself a violation), sent in two
  // responses: the split is named.
  EXPECT_THAT(Check(1, {LiveEvents({Event(1), Event(2, "a")}, 2),
                        LiveEvents({Event(2, "b"), Event(3)}, 3)}),
              ElementsAre(HasSubstr("revision 2 split across responses")));
}

TEST(WatchValidatorTest, TwoEventsWithOneRevisionAreReported) {
  EXPECT_THAT(Check(1, {LiveEvents({Event(1), Event(2, "a"), Event(2, "b"), Event(3)}, 3)}),
              ElementsAre(HasSubstr("two events with revision 2")));
}

TEST(WatchValidatorTest, AHeaderGoingBackIsReported) {
  EXPECT_THAT(Check(1, {Live({1}, 5), Live({2}, 4)}),
              ElementsAre(HasSubstr("header_revision went back from 5 to 4")));
  EXPECT_THAT(Check(1, {Live({1}, 5), Progress(3)}), Contains(HasSubstr("went back")));
  // A header below the response's own events.
  EXPECT_THAT(Check(1, {Live({1, 2}, 1)}),
              Contains(HasSubstr("event at revision 2 above the response's header_revision 1")));
  // Across calls: a resumed call may not announce an older head.
  WatchValidator v;
  Call(v, From(1), {Live({1}, 9)}, absl::UnavailableError("reset"));
  Call(v, From(2), {Live({2}, 8)});
  EXPECT_THAT(v.Violations(), ElementsAre(HasSubstr("went back from 9 to 8")));
}

TEST(WatchValidatorTest, AnEventAtOrBelowAProgressNotificationIsReported) {
  // Progress at 3 promises 1..3 delivered; revision 3 arriving later breaks the promise.
  EXPECT_THAT(Check(1, {Live({1, 2}), Progress(3), Live({3})}),
              AllOf(Contains(HasSubstr("progress notification at 3 but revisions 3..3 were never "
                                       "delivered")),
                    Contains(HasSubstr("event at revision 3 at or below an earlier progress "
                                       "notification at 3"))));
  // Repeating a delivered revision after the promise.
  EXPECT_THAT(Check(1, {Live({1, 2}), Progress(2), Live({2})}),
              Contains(HasSubstr("at or below an earlier progress notification at 2")));
  // A progress notification during the initial state.
  WatchValidator v;
  Call(v, WithInitialState(), {Initial({{"a", 1}}, 1), Progress(1), Marker(1)});
  EXPECT_THAT(v.Violations(),
              ElementsAre(HasSubstr("progress notification (at 1) before the initial state")));
}

TEST(WatchValidatorTest, InitialStateEventsAfterTheMarkerAreReported) {
  WatchValidator v;
  Call(v, WithInitialState(),
       {Initial({{"a", 1}}, 2), Marker(2), Initial({{"b", 2}}, 2), Live({3})});
  EXPECT_THAT(v.Violations(),
              ElementsAre(HasSubstr("initial-state events after the initial state was complete")));
}

TEST(WatchValidatorTest, InitialStateFlawsAreReported) {
  {
    // A record with a revision above the snapshot revision R.
    WatchValidator v;
    Call(v, WithInitialState(), {Initial({{"a", 1}, {"b", 7}}, 7), Marker(5), Live({6}, 7)});
    EXPECT_THAT(v.Violations(),
                ElementsAre(HasSubstr("record b has revision 7, above the snapshot revision 5")));
  }
  {
    // A record twice.
    WatchValidator v;
    Call(v, WithInitialState(), {Initial({{"a", 1}}, 3), Initial({{"a", 1}}, 3), Marker(3)});
    EXPECT_THAT(v.Violations(), ElementsAre(HasSubstr("record a twice in the initial state")));
  }
  {
    // Live events before the marker; a marker on a call without the initial state.
    WatchValidator v;
    Call(v, WithInitialState(), {Live({1}), Marker(1)});
    EXPECT_THAT(v.Violations(), Contains(HasSubstr("live events before the initial state")));
    WatchValidator w;
    Call(w, From(1), {Live({1}), Marker(1)});
    EXPECT_THAT(w.Violations(), Contains(HasSubstr("marker on a call without send_initial_state")));
  }
  {
    // A fresh initial state older than what was already delivered.
    WatchValidator v;
    Call(v, From(1), {Live({1, 2, 3})}, absl::UnavailableError("reset"));
    Call(v, WithInitialState(), {Initial({{"a", 1}}, 2), Marker(2)});
    EXPECT_THAT(v.Violations(), Contains(HasSubstr("the initial state at revision 2 is older")));
  }
}

TEST(WatchValidatorTest, LiveEventsAfterTheMarkerMustStartAtRPlusOne) {
  {
    WatchValidator v;
    Call(v, WithInitialState(), {Initial({{"a", 3}}, 5), Marker(5), Live({7})});
    EXPECT_THAT(v.Violations(), ElementsAre(HasSubstr("gap: revision 7 follows 5")));
  }
  {
    WatchValidator v;
    Call(v, WithInitialState(), {Initial({{"a", 3}}, 5), Marker(5), Live({5})});
    EXPECT_THAT(v.Violations(), ElementsAre(HasSubstr("revision 5 out of order")));
  }
}

TEST(WatchValidatorTest, AResumeNotAtLastPlusOneIsReported) {
  {
    WatchValidator v;
    Call(v, From(1), {Live({1, 2, 3})}, absl::UnavailableError("reset"));
    Call(v, From(5), {Live({5})});
    EXPECT_THAT(v.Violations(), ElementsAre(HasSubstr("resumed at start_revision 5, not at 4")));
  }
  {
    // Resuming too early, and from "the next revision" (which may skip some).
    WatchValidator v;
    Call(v, From(1), {Live({1, 2, 3})}, absl::UnavailableError("reset"));
    Call(v, From(3), {Live({3})});
    EXPECT_THAT(v.Violations(), Contains(HasSubstr("resumed at start_revision 3, not at 4")));
    WatchValidator w;
    Call(w, From(1), {Live({1, 2, 3})}, absl::UnavailableError("reset"));
    Call(w, From(0), {Live({9})});
    EXPECT_THAT(w.Violations(), Contains(HasSubstr("resumed at start_revision 0, not at 4")));
  }
  {
    // A resume at last+1 whose stream skips ahead is a gap across calls.
    WatchValidator v;
    Call(v, From(1), {Live({1, 2, 3})}, absl::UnavailableError("reset"));
    Call(v, From(4), {Live({6})});
    EXPECT_THAT(v.Violations(), ElementsAre(HasSubstr("gap")));
  }
}

TEST(WatchValidatorTest, AnUnexpectedEndStatusIsReported) {
  EXPECT_THAT(Check(1, {Live({1})}, absl::InternalError("boom")),
              ElementsAre(HasSubstr("the call ended with INTERNAL: boom")));
  EXPECT_THAT(Check(1, {Live({1})}, absl::DataLossError("lost")),
              ElementsAre(HasSubstr("DATA_LOSS")));
  // OUT_OF_RANGE is the contract's only for a compacted start; REVISION_AHEAD means the store
  // forgot revisions this consumer was given.
  EXPECT_THAT(Check(1, {Live({1})},
                    MakeError(absl::StatusCode::kOutOfRange, reason::kRevisionAhead, "ahead")),
              ElementsAre(HasSubstr("OUT_OF_RANGE (REVISION_AHEAD)")));
  EXPECT_THAT(Check(1, {Live({1})}, absl::OutOfRangeError("no reason")),
              ElementsAre(HasSubstr("OUT_OF_RANGE")));
}

TEST(WatchValidatorTest, MalformedResponsesAreReported) {
  rv1::WatchResponse both = Progress(1);
  both.set_initial_state_complete(true);
  EXPECT_THAT(Check(1, {both}), Contains(HasSubstr("several of")));
  rv1::WatchResponse progress_with_events = Live({1});
  progress_with_events.set_progress_notify(true);
  EXPECT_THAT(Check(1, {progress_with_events}),
              Contains(HasSubstr("progress notification carries events")));
  EXPECT_THAT(Check(1, {rv1::WatchResponse()}), Contains(HasSubstr("neither events nor a flag")));
  WatchValidator v;
  Call(v, From(1), {Live({1})});
  v.OnResponse(Live({2}));
  EXPECT_THAT(v.Violations(), Contains(HasSubstr("a response outside a call")));
}

}  // namespace
}  // namespace observer::testing
