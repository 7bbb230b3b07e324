#include "stats-service/src/aggregate/counters.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/country_codes.h"
#include "common/errors.h"
#include "common/resource_names.h"
#include "stats-service/src/aggregate/regions.h"
#include "stats-service/src/aggregate/test_regions.h"

namespace observer::stats {
namespace {

namespace rv1 = ::observer::registry::v1;

using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr absl::string_view kElection = "kz-2021";
constexpr absl::string_view kOtherElection = "kz-2023";
const std::string kElectionName = ElectionName(kElection);

constexpr absl::string_view kOsce = "OSCE-ODIHR";  // A record with en, ru and kk names.
constexpr absl::string_view kCis = "CIS";          // A record with en and ru names.
constexpr absl::string_view kSco = "SCO";          // A record with an English name only.
constexpr absl::string_view kTurkpa = "TURKPA";    // No organisation record at all.

constexpr absl::string_view kOsceEn = "OSCE Office for Democratic Institutions and Human Rights";
constexpr absl::string_view kOsceRu = "БДИПЧ ОБСЕ";
constexpr absl::string_view kOsceKk = "ЕҚЫҰ ДИАҚБ";
constexpr absl::string_view kCisEn = "Commonwealth of Independent States";
constexpr absl::string_view kCisRu = "Содружество Независимых Государств";
constexpr absl::string_view kScoEn = "Shanghai Cooperation Organisation";

using ::observer::stats::testing::Regions;

// Builds an observer as the change stream carries it (no personal data needed here):
// accredited, short-term, gender not recorded, not a test record, in kElection.
class Obs {
 public:
  explicit Obs(absl::string_view id) : id_(id) {
    observer_.set_status(rv1::OBSERVER_STATUS_ACCREDITED);
    observer_.set_category(rv1::OBSERVER_CATEGORY_SHORT_TERM);
  }
  Obs& In(absl::string_view election) {
    election_ = std::string(election);
    return *this;
  }
  Obs& Org(absl::string_view code) {
    observer_.mutable_sending_body()->set_organisation(OrganisationName(code));
    return *this;
  }
  Obs& State(absl::string_view state) {
    observer_.mutable_sending_body()->set_state(std::string(state));
    return *this;
  }
  Obs& Citizen(absl::string_view country) {
    observer_.set_citizenship(std::string(country));
    return *this;
  }
  Obs& Status(rv1::ObserverStatus status) {
    observer_.set_status(status);
    return *this;
  }
  Obs& Category(rv1::ObserverCategory category) {
    observer_.set_category(category);
    return *this;
  }
  Obs& Gender(rv1::Gender gender) {
    observer_.set_gender(gender);
    return *this;
  }
  Obs& Test(bool test = true) {
    observer_.set_test(test);
    return *this;
  }
  rv1::Observer Build() const {
    rv1::Observer observer = observer_;
    observer.set_name(ObserverName(election_, id_));
    return observer;
  }

 private:
  std::string election_ = std::string(kElection);
  std::string id_;
  rv1::Observer observer_;
};

rv1::Observer Make(const Obs& spec) { return spec.Build(); }

rv1::ChangeEvent ObserverEvent(int64_t revision, rv1::ChangeType type, const rv1::Observer* before,
                               const rv1::Observer* after) {
  rv1::ChangeEvent event;
  event.set_revision(revision);
  event.set_type(type);
  event.set_kind(rv1::RESOURCE_KIND_OBSERVER);
  event.set_name(after != nullptr ? after->name() : before->name());
  if (before != nullptr) *event.mutable_before()->mutable_observer() = *before;
  if (after != nullptr) *event.mutable_after()->mutable_observer() = *after;
  return event;
}

rv1::ChangeEvent ElectionEvent(int64_t revision, absl::string_view id, bool exists) {
  rv1::ChangeEvent event;
  event.set_revision(revision);
  event.set_type(exists ? rv1::CHANGE_TYPE_CREATED : rv1::CHANGE_TYPE_DELETED);
  event.set_kind(rv1::RESOURCE_KIND_ELECTION);
  event.set_name(ElectionName(id));
  rv1::Election election;
  election.set_name(ElectionName(id));
  election.set_display_name(absl::StrCat("Election ", id));
  election.set_host_country("KZ");
  *(exists ? event.mutable_after() : event.mutable_before())->mutable_election() = election;
  return event;
}

// `type` CREATED/UPDATED carries the names as the after image; DELETED as the before image.
rv1::ChangeEvent OrganisationEvent(int64_t revision, rv1::ChangeType type, absl::string_view code,
                                   absl::string_view en, absl::string_view ru,
                                   absl::string_view kk) {
  rv1::ChangeEvent event;
  event.set_revision(revision);
  event.set_type(type);
  event.set_kind(rv1::RESOURCE_KIND_ORGANISATION);
  event.set_name(OrganisationName(code));
  rv1::Organisation organisation;
  organisation.set_name(OrganisationName(code));
  organisation.mutable_names()->set_en(std::string(en));
  organisation.mutable_names()->set_ru(std::string(ru));
  organisation.mutable_names()->set_kk(std::string(kk));
  if (type != rv1::CHANGE_TYPE_CREATED) {
    *event.mutable_before()->mutable_organisation() = organisation;
  }
  if (type != rv1::CHANGE_TYPE_DELETED) {
    *event.mutable_after()->mutable_organisation() = organisation;
  }
  return event;
}

// "N: A from K organisations, B from J states".
std::string Figures(const v1::Summary& summary) {
  return absl::StrCat(summary.observers(), ": ", summary.organisation_observers(), " from ",
                      summary.organisations(), " organisations, ", summary.state_observers(),
                      " from ", summary.states(), " states");
}

// "KEY=count" per row, in the answer's order.
std::vector<std::string> Rows(const v1::Breakdown& breakdown) {
  std::vector<std::string> rows;
  for (const v1::BreakdownRow& row : breakdown.rows()) {
    rows.push_back(absl::StrCat(row.key(), "=", row.count()));
  }
  return rows;
}

// "KEY=count/distinct_sources" per row.
std::vector<std::string> RowsWithSources(const v1::Breakdown& breakdown) {
  std::vector<std::string> rows;
  for (const v1::BreakdownRow& row : breakdown.rows()) {
    rows.push_back(absl::StrCat(row.key(), "=", row.count(), "/", row.distinct_sources()));
  }
  return rows;
}

// "KEY:display name" per row.
std::vector<std::string> DisplayNames(const v1::Breakdown& breakdown) {
  std::vector<std::string> rows;
  for (const v1::BreakdownRow& row : breakdown.rows()) {
    rows.push_back(absl::StrCat(row.key(), ":", row.display_name()));
  }
  return rows;
}

// The fields a status's BadRequest names, in order.
std::vector<std::string> Fields(const absl::Status& status) {
  std::vector<std::string> fields;
  for (const FieldViolation& violation : GetErrorDetails(status).violations) {
    fields.push_back(violation.field);
  }
  return fields;
}

v1::Filter StatusFilter(std::initializer_list<rv1::ObserverStatus> statuses,
                        bool include_test = false) {
  v1::Filter filter;
  for (rv1::ObserverStatus status : statuses) filter.add_statuses(status);
  filter.set_include_test(include_test);
  return filter;
}

v1::GetSummaryRequest SummaryRequest(const v1::Filter& filter = {},
                                     absl::string_view election = kElectionName) {
  v1::GetSummaryRequest request;
  request.set_election(std::string(election));
  *request.mutable_filter() = filter;
  return request;
}

v1::GetBreakdownRequest By(v1::Dimension dimension, const v1::Filter& filter = {}) {
  v1::GetBreakdownRequest request;
  request.set_election(kElectionName);
  request.set_dimension(dimension);
  *request.mutable_filter() = filter;
  return request;
}

v1::GetBreakdownRequest ByRegion(absl::string_view scheme, v1::RegionBasis basis) {
  v1::GetBreakdownRequest request = By(v1::DIMENSION_REGION);
  request.set_region_scheme(std::string(scheme));
  request.set_region_basis(basis);
  return request;
}

v1::GetBreakdownRequest InLanguage(v1::GetBreakdownRequest request, absl::string_view language) {
  request.set_language_code(std::string(language));
  return request;
}

// A Counters fed by a tiny registry of the test's own: Put creates or updates an observer
// (the before image is the record as the test last put it), Remove deletes it.
class CountersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ApplyOk(ElectionEvent(++revision_, kElection, true));
    ApplyOk(ElectionEvent(++revision_, kOtherElection, true));
    ApplyOk(
        OrganisationEvent(++revision_, rv1::CHANGE_TYPE_CREATED, kOsce, kOsceEn, kOsceRu, kOsceKk));
    ApplyOk(OrganisationEvent(++revision_, rv1::CHANGE_TYPE_CREATED, kCis, kCisEn, kCisRu, ""));
    ApplyOk(OrganisationEvent(++revision_, rv1::CHANGE_TYPE_CREATED, kSco, kScoEn, "", ""));
  }

  void ApplyOk(const rv1::ChangeEvent& event) {
    const absl::Status status = counters_.Apply(event);
    EXPECT_TRUE(status.ok()) << status << "\n" << event.DebugString();
  }

  void Put(const rv1::Observer& observer) {
    auto it = current_.find(observer.name());
    const bool exists = it != current_.end();
    const rv1::ChangeEvent event =
        ObserverEvent(++revision_, exists ? rv1::CHANGE_TYPE_UPDATED : rv1::CHANGE_TYPE_CREATED,
                      exists ? &it->second : nullptr, &observer);
    const absl::Status status = counters_.Apply(event);
    EXPECT_TRUE(status.ok()) << status << "\n" << event.DebugString();
    if (status.ok()) current_[observer.name()] = observer;
  }
  void Put(const Obs& spec) { Put(spec.Build()); }

  void Remove(const std::string& name) {
    auto it = current_.find(name);
    ASSERT_NE(it, current_.end()) << name;
    const absl::Status status =
        counters_.Apply(ObserverEvent(++revision_, rv1::CHANGE_TYPE_DELETED, &it->second, nullptr));
    EXPECT_TRUE(status.ok()) << status;
    if (status.ok()) current_.erase(it);
  }

  // The record as last put, to change and put again.
  rv1::Observer Current(absl::string_view id, absl::string_view election = kElection) {
    auto it = current_.find(ObserverName(election, id));
    EXPECT_NE(it, current_.end()) << id;
    return it == current_.end() ? rv1::Observer() : it->second;
  }

  std::string SummaryFigures(const v1::Filter& filter = {},
                             absl::string_view election = kElectionName) {
    const v1::GetSummaryRequest request = SummaryRequest(filter, election);
    const absl::Status valid = Counters::ValidateSummaryRequest(request);
    EXPECT_TRUE(valid.ok()) << valid;
    absl::StatusOr<v1::Summary> summary = counters_.Summarize(request);
    EXPECT_TRUE(summary.ok()) << summary.status();
    if (!summary.ok()) return summary.status().ToString();
    EXPECT_EQ(summary->election(), election);
    return Figures(*summary);
  }

  v1::Breakdown Break(const v1::GetBreakdownRequest& request) {
    const absl::Status valid = Counters::ValidateBreakdownRequest(Regions(), request);
    EXPECT_TRUE(valid.ok()) << valid;
    absl::StatusOr<v1::Breakdown> breakdown = counters_.Break(request);
    EXPECT_TRUE(breakdown.ok()) << breakdown.status();
    if (!breakdown.ok()) return v1::Breakdown();
    EXPECT_EQ(breakdown->election(), request.election());
    EXPECT_EQ(breakdown->dimension(), request.dimension());
    return *std::move(breakdown);
  }

  // The dump entries of one election.
  std::map<std::string, int64_t> DumpOf(absl::string_view election) const {
    std::map<std::string, int64_t> dump;
    const std::string prefix = absl::StrCat(election, "/");
    for (const auto& [key, count] : counters_.Dump()) {
      if (key.rfind(prefix, 0) == 0) dump.emplace(key, count);
    }
    return dump;
  }

  Counters counters_{Regions()};
  std::map<std::string, rv1::Observer> current_;
  int64_t revision_ = 0;
};

// --- Transitions ----------------------------------------------------------------------------

TEST_F(CountersTest, NoObserversGivesZeroFiguresAndEmptyBreakdowns) {
  EXPECT_EQ(SummaryFigures(), "0: 0 from 0 organisations, 0 from 0 states");
  const v1::Breakdown breakdown = Break(By(v1::DIMENSION_ORGANISATION));
  EXPECT_THAT(Rows(breakdown), IsEmpty());
  EXPECT_EQ(breakdown.total(), 0);
  EXPECT_THAT(counters_.Dump(), IsEmpty());
  EXPECT_EQ(counters_.CounterCount(), 0);
}

TEST_F(CountersTest, CreateAccreditedFromOrganisationAndFromState) {
  Put(Obs("a1").Org(kOsce).Citizen("DE"));
  Put(Obs("a2").State("FR").Citizen("FR"));
  Put(Obs("a3").State("FR").Citizen("FR").Gender(rv1::GENDER_FEMALE));

  EXPECT_EQ(SummaryFigures(), "3: 1 from 1 organisations, 2 from 1 states");
  EXPECT_THAT(RowsWithSources(Break(By(v1::DIMENSION_OBSERVER_TYPE))),
              ElementsAre("STATE=2/1", "ORGANISATION=1/1"));
  EXPECT_THAT(Rows(Break(By(v1::DIMENSION_ORGANISATION))), ElementsAre("OSCE-ODIHR=1"));
  EXPECT_THAT(Rows(Break(By(v1::DIMENSION_SENDING_STATE))), ElementsAre("FR=2"));
  EXPECT_THAT(Rows(Break(By(v1::DIMENSION_CITIZENSHIP))), ElementsAre("FR=2", "DE=1"));
  EXPECT_THAT(Rows(Break(By(v1::DIMENSION_CATEGORY))),
              ElementsAre("OBSERVER_CATEGORY_SHORT_TERM=3"));
  EXPECT_THAT(Rows(Break(By(v1::DIMENSION_STATUS))), ElementsAre("OBSERVER_STATUS_ACCREDITED=3"));
  EXPECT_THAT(Rows(Break(By(v1::DIMENSION_GENDER))),
              ElementsAre("GENDER_UNSPECIFIED=2", "GENDER_FEMALE=1"));
  // Other dimensions carry no distinct_sources.
  const v1::Breakdown citizenship = Break(By(v1::DIMENSION_CITIZENSHIP));
  for (const v1::BreakdownRow& row : citizenship.rows()) {
    EXPECT_EQ(row.distinct_sources(), 0) << row.key();
  }
  // The other election is untouched.
  EXPECT_EQ(SummaryFigures({}, ElectionName(kOtherElection)),
            "0: 0 from 0 organisations, 0 from 0 states");
}

TEST_F(CountersTest, DumpOfOneCellIsExact) {
  Put(Obs("a1").Org(kOsce).Citizen("DE"));
  Put(Obs("a2").State("FR").Citizen("FR").Gender(rv1::GENDER_MALE));
  // Cell 34 = (ACCREDITED 2 * 7 categories + SHORT_TERM 3) * 2 + not test.
  EXPECT_EQ(counters_.Dump(), (std::map<std::string, int64_t>{
                                  {"kz-2021/34/observers", 2},
                                  {"kz-2021/34/organisations", 1},
                                  {"kz-2021/34/states", 1},
                                  {"kz-2021/34/gender/0", 1},
                                  {"kz-2021/34/gender/2", 1},
                                  {"kz-2021/34/organisation/OSCE-ODIHR", 1},
                                  {"kz-2021/34/state/FR", 1},
                                  {"kz-2021/34/citizenship/DE", 1},
                                  {"kz-2021/34/citizenship/FR", 1},
                              }));
}

TEST_F(CountersTest, SubmittedIsNotCountedByDefaultButWithItsStatus) {
  Put(Obs("s1").Org(kOsce).Citizen("DE").Status(rv1::OBSERVER_STATUS_SUBMITTED));
  Put(Obs("a1").State("FR").Citizen("FR"));

  EXPECT_EQ(SummaryFigures(), "1: 0 from 0 organisations, 1 from 1 states");
  EXPECT_THAT(Rows(Break(By(v1::DIMENSION_ORGANISATION))), IsEmpty());
  EXPECT_EQ(SummaryFigures(StatusFilter({rv1::OBSERVER_STATUS_SUBMITTED})),
            "1: 1 from 1 organisations, 0 from 0 states");
  EXPECT_THAT(
      Rows(Break(By(v1::DIMENSION_ORGANISATION, StatusFilter({rv1::OBSERVER_STATUS_SUBMITTED})))),
      ElementsAre("OSCE-ODIHR=1"));
  EXPECT_EQ(SummaryFigures(
                StatusFilter({rv1::OBSERVER_STATUS_SUBMITTED, rv1::OBSERVER_STATUS_ACCREDITED})),
            "2: 1 from 1 organisations, 1 from 1 states");
}

TEST_F(CountersTest, UpdateChangingOrganisationMovesOneObserver) {
  Put(Obs("a1").Org(kOsce).Citizen("DE"));
  Put(Obs("a2").Org(kOsce).Citizen("FR"));
  rv1::Observer moved = Current("a1");
  moved.mutable_sending_body()->set_organisation(OrganisationName(kCis));
  Put(moved);

  EXPECT_EQ(SummaryFigures(), "2: 2 from 2 organisations, 0 from 0 states");
  EXPECT_THAT(Rows(Break(By(v1::DIMENSION_ORGANISATION))), ElementsAre("CIS=1", "OSCE-ODIHR=1"));
  EXPECT_THAT(Rows(Break(By(v1::DIMENSION_CITIZENSHIP))), ElementsAre("DE=1", "FR=1"));

  // Moving the last observer of OSCE away leaves no OSCE counter behind.
  moved = Current("a2");
  moved.mutable_sending_body()->set_organisation(OrganisationName(kCis));
  Put(moved);
  EXPECT_EQ(SummaryFigures(), "2: 2 from 1 organisations, 0 from 0 states");
  EXPECT_THAT(Rows(Break(By(v1::DIMENSION_ORGANISATION))), ElementsAre("CIS=2"));
  for (const auto& [key, count] : counters_.Dump()) {
    EXPECT_EQ(key.find("OSCE"), std::string::npos) << key << " = " << count;
  }
}

TEST_F(CountersTest, UpdateChangingSendingStateAndSwitchingBodyKind) {
  Put(Obs("a1").State("FR").Citizen("FR"));
  Put(Obs("a2").State("FR").Citizen("FR"));
  rv1::Observer changed = Current("a1");
  changed.mutable_sending_body()->set_state("DE");
  Put(changed);
  EXPECT_EQ(SummaryFigures(), "2: 0 from 0 organisations, 2 from 2 states");
  EXPECT_THAT(Rows(Break(By(v1::DIMENSION_SENDING_STATE))), ElementsAre("DE=1", "FR=1"));

  // State → organisation.
  changed = Current("a2");
  changed.mutable_sending_body()->set_organisation(OrganisationName(kSco));
  Put(changed);
  EXPECT_EQ(SummaryFigures(), "2: 1 from 1 organisations, 1 from 1 states");
  EXPECT_THAT(Rows(Break(By(v1::DIMENSION_SENDING_STATE))), ElementsAre("DE=1"));
  EXPECT_THAT(Rows(Break(By(v1::DIMENSION_ORGANISATION))), ElementsAre("SCO=1"));
  EXPECT_THAT(RowsWithSources(Break(By(v1::DIMENSION_OBSERVER_TYPE))),
              ElementsAre("ORGANISATION=1/1", "STATE=1/1"));

  // Organisation → state.
  changed = Current("a2");
  changed.mutable_sending_body()->set_state("DE");
  Put(changed);
  EXPECT_EQ(SummaryFigures(), "2: 0 from 0 organisations, 2 from 1 states");
  EXPECT_THAT(Rows(Break(By(v1::DIMENSION_ORGANISATION))), IsEmpty());
  EXPECT_THAT(RowsWithSources(Break(By(v1::DIMENSION_OBSERVER_TYPE))), ElementsAre("STATE=2/1"));
  // Citizenship was never touched.
  EXPECT_THAT(Rows(Break(By(v1::DIMENSION_CITIZENSHIP))), ElementsAre("FR=2"));
}

TEST_F(CountersTest, UpdateChangingCitizenshipOnly) {
  Put(Obs("a1").State("DE").Citizen("DE"));
  rv1::Observer changed = Current("a1");
  changed.set_citizenship("AT");
  Put(changed);
  EXPECT_EQ(SummaryFigures(), "1: 0 from 0 organisations, 1 from 1 states");
  EXPECT_THAT(Rows(Break(By(v1::DIMENSION_CITIZENSHIP))), ElementsAre("AT=1"));
  EXPECT_THAT(Rows(Break(By(v1::DIMENSION_SENDING_STATE))), ElementsAre("DE=1"));
}

TEST_F(CountersTest, StatusLifecycleMovesTheObserverInAndOutOfTheDefaultFigures) {
  Put(Obs("a1").Org(kOsce).Citizen("DE").Status(rv1::OBSERVER_STATUS_SUBMITTED));
  const std::string none = "0: 0 from 0 organisations, 0 from 0 states";
  const std::string one = "1: 1 from 1 organisations, 0 from 0 states";
  EXPECT_EQ(SummaryFigures(), none);

  rv1::Observer observer = Current("a1");
  observer.set_status(rv1::OBSERVER_STATUS_ACCREDITED);  // Accredit.
  Put(observer);
  EXPECT_EQ(SummaryFigures(), one);
  EXPECT_EQ(SummaryFigures(StatusFilter({rv1::OBSERVER_STATUS_SUBMITTED})), none);

  observer.set_status(rv1::OBSERVER_STATUS_SUSPENDED);  // Suspend.
  Put(observer);
  EXPECT_EQ(SummaryFigures(), none);
  EXPECT_EQ(SummaryFigures(StatusFilter({rv1::OBSERVER_STATUS_SUSPENDED})), one);
  EXPECT_THAT(Rows(Break(By(v1::DIMENSION_STATUS))), ElementsAre("OBSERVER_STATUS_SUSPENDED=1"));

  observer.set_status(rv1::OBSERVER_STATUS_ACCREDITED);  // Reinstate.
  Put(observer);
  EXPECT_EQ(SummaryFigures(), one);
  EXPECT_EQ(SummaryFigures(StatusFilter({rv1::OBSERVER_STATUS_SUSPENDED})), none);

  observer.set_status(rv1::OBSERVER_STATUS_WITHDRAWN);  // Withdraw.
  Put(observer);
  EXPECT_EQ(SummaryFigures(), none);
  EXPECT_EQ(SummaryFigures(StatusFilter({rv1::OBSERVER_STATUS_WITHDRAWN})), one);
  EXPECT_THAT(Rows(Break(By(v1::DIMENSION_STATUS))), ElementsAre("OBSERVER_STATUS_WITHDRAWN=1"));

  Put(Obs("r1").State("FR").Citizen("FR").Status(rv1::OBSERVER_STATUS_REJECTED));
  EXPECT_EQ(SummaryFigures(), none);
  EXPECT_EQ(SummaryFigures(StatusFilter({rv1::OBSERVER_STATUS_REJECTED})),
            "1: 0 from 0 organisations, 1 from 1 states");
}

TEST_F(CountersTest, DeleteRemovesTheObserverAndEveryCounter) {
  Put(Obs("a1").Org(kOsce).Citizen("DE").Gender(rv1::GENDER_FEMALE));
  Put(Obs("a2").State("FR").Citizen("FR"));
  Remove(ObserverName(kElection, "a1"));
  EXPECT_EQ(SummaryFigures(), "1: 0 from 0 organisations, 1 from 1 states");
  EXPECT_THAT(Rows(Break(By(v1::DIMENSION_ORGANISATION))), IsEmpty());
  EXPECT_THAT(Rows(Break(By(v1::DIMENSION_GENDER))), ElementsAre("GENDER_UNSPECIFIED=1"));
  Remove(ObserverName(kElection, "a2"));
  EXPECT_EQ(SummaryFigures(), "0: 0 from 0 organisations, 0 from 0 states");
  EXPECT_THAT(counters_.Dump(), IsEmpty());
  EXPECT_EQ(counters_.CounterCount(), 0);
}

TEST_F(CountersTest, ZeroCountersAreErased) {
  Put(Obs("k1").In(kOtherElection).State("TR").Citizen("TR"));
  const std::map<std::string, int64_t> other_before = DumpOf(kOtherElection);
  const int64_t count_before = counters_.CounterCount();
  ASSERT_FALSE(other_before.empty());

  Put(Obs("a1")
          .Org(kOsce)
          .Citizen("DE")
          .Status(rv1::OBSERVER_STATUS_SUBMITTED)
          .Category(rv1::OBSERVER_CATEGORY_CORE_TEAM)
          .Gender(rv1::GENDER_MALE)
          .Test());
  rv1::Observer observer = Current("a1");
  observer.set_status(rv1::OBSERVER_STATUS_ACCREDITED);
  observer.set_test(false);
  observer.set_citizenship("AT");
  Put(observer);
  EXPECT_FALSE(DumpOf(kElection).empty());
  Remove(observer.name());

  EXPECT_THAT(DumpOf(kElection), IsEmpty());
  EXPECT_EQ(DumpOf(kOtherElection), other_before);
  EXPECT_EQ(counters_.CounterCount(), count_before);

  Remove(ObserverName(kOtherElection, "k1"));
  EXPECT_THAT(counters_.Dump(), IsEmpty());
  EXPECT_EQ(counters_.CounterCount(), 0);
  // The elections themselves are still known.
  EXPECT_EQ(SummaryFigures(), "0: 0 from 0 organisations, 0 from 0 states");
}

TEST_F(CountersTest, TestFlagExcludesByDefaultAndIncludeTestCountsIt) {
  Put(Obs("t1").Org(kOsce).Citizen("DE").Test());
  Put(Obs("a1").State("FR").Citizen("FR"));
  v1::Filter with_test;
  with_test.set_include_test(true);

  EXPECT_EQ(SummaryFigures(), "1: 0 from 0 organisations, 1 from 1 states");
  EXPECT_EQ(SummaryFigures(with_test), "2: 1 from 1 organisations, 1 from 1 states");
  EXPECT_THAT(Rows(Break(By(v1::DIMENSION_STATUS))), ElementsAre("OBSERVER_STATUS_ACCREDITED=1"));
  EXPECT_THAT(Rows(Break(By(v1::DIMENSION_STATUS, with_test))),
              ElementsAre("OBSERVER_STATUS_ACCREDITED=2"));

  rv1::Observer observer = Current("t1");  // Test flag off: now a real record.
  observer.set_test(false);
  Put(observer);
  EXPECT_EQ(SummaryFigures(), "2: 1 from 1 organisations, 1 from 1 states");
  EXPECT_EQ(SummaryFigures(with_test), "2: 1 from 1 organisations, 1 from 1 states");

  observer = Current("a1");  // Test flag on.
  observer.set_test(true);
  Put(observer);
  EXPECT_EQ(SummaryFigures(), "1: 1 from 1 organisations, 0 from 0 states");
  EXPECT_EQ(SummaryFigures(with_test), "2: 1 from 1 organisations, 1 from 1 states");
}

TEST_F(CountersTest, CategoryFilterAndCategoryBreakdown) {
  Put(Obs("a1").State("FR").Citizen("FR").Category(rv1::OBSERVER_CATEGORY_LONG_TERM));
  Put(Obs("a2").State("DE").Citizen("DE").Category(rv1::OBSERVER_CATEGORY_SHORT_TERM));
  Put(Obs("a3").State("DE").Citizen("DE").Category(rv1::OBSERVER_CATEGORY_SHORT_TERM));
  Put(Obs("a4").Org(kOsce).Citizen("PL").Category(rv1::OBSERVER_CATEGORY_HEAD_OF_DELEGATION));

  v1::Filter long_term;
  long_term.add_categories(rv1::OBSERVER_CATEGORY_LONG_TERM);
  EXPECT_EQ(SummaryFigures(long_term), "1: 0 from 0 organisations, 1 from 1 states");
  v1::Filter two;
  two.add_categories(rv1::OBSERVER_CATEGORY_LONG_TERM);
  two.add_categories(rv1::OBSERVER_CATEGORY_HEAD_OF_DELEGATION);
  EXPECT_EQ(SummaryFigures(two), "2: 1 from 1 organisations, 1 from 1 states");
  EXPECT_THAT(Rows(Break(By(v1::DIMENSION_SENDING_STATE, two))), ElementsAre("FR=1"));

  EXPECT_THAT(
      Rows(Break(By(v1::DIMENSION_CATEGORY))),
      ElementsAre("OBSERVER_CATEGORY_SHORT_TERM=2", "OBSERVER_CATEGORY_HEAD_OF_DELEGATION=1",
                  "OBSERVER_CATEGORY_LONG_TERM=1"));
  EXPECT_THAT(
      Rows(Break(By(v1::DIMENSION_CATEGORY, two))),
      ElementsAre("OBSERVER_CATEGORY_HEAD_OF_DELEGATION=1", "OBSERVER_CATEGORY_LONG_TERM=1"));

  rv1::Observer observer = Current("a2");  // Change of category.
  observer.set_category(rv1::OBSERVER_CATEGORY_LONG_TERM);
  Put(observer);
  EXPECT_EQ(SummaryFigures(long_term), "2: 0 from 0 organisations, 2 from 2 states");
  EXPECT_THAT(DisplayNames(Break(InLanguage(By(v1::DIMENSION_CATEGORY), "ru"))),
              ElementsAre("OBSERVER_CATEGORY_LONG_TERM:Долгосрочный наблюдатель",
                          "OBSERVER_CATEGORY_HEAD_OF_DELEGATION:Глава делегации",
                          "OBSERVER_CATEGORY_SHORT_TERM:Краткосрочный наблюдатель"));
}

TEST_F(CountersTest, GenderBreakdown) {
  Put(Obs("a1").State("FR").Citizen("FR").Gender(rv1::GENDER_FEMALE));
  Put(Obs("a2").State("FR").Citizen("FR").Gender(rv1::GENDER_FEMALE));
  Put(Obs("a3").State("DE").Citizen("DE").Gender(rv1::GENDER_MALE));
  Put(Obs("a4").State("DE").Citizen("DE"));
  Put(Obs("a5")
          .State("DE")
          .Citizen("DE")
          .Status(rv1::OBSERVER_STATUS_SUBMITTED)
          .Gender(rv1::GENDER_OTHER));

  v1::Breakdown breakdown = Break(By(v1::DIMENSION_GENDER));
  EXPECT_THAT(Rows(breakdown),
              ElementsAre("GENDER_FEMALE=2", "GENDER_MALE=1", "GENDER_UNSPECIFIED=1"));
  EXPECT_EQ(breakdown.total(), 4);
  EXPECT_THAT(DisplayNames(breakdown), ElementsAre("GENDER_FEMALE:Female", "GENDER_MALE:Male",
                                                   "GENDER_UNSPECIFIED:Not recorded"));
  EXPECT_THAT(
      DisplayNames(Break(InLanguage(By(v1::DIMENSION_GENDER), "ru"))),
      ElementsAre("GENDER_FEMALE:Женщины", "GENDER_MALE:Мужчины", "GENDER_UNSPECIFIED:Не указан"));

  rv1::Observer observer = Current("a3");
  observer.set_gender(rv1::GENDER_FEMALE);
  Put(observer);
  EXPECT_THAT(Rows(Break(By(v1::DIMENSION_GENDER))),
              ElementsAre("GENDER_FEMALE=3", "GENDER_UNSPECIFIED=1"));
  EXPECT_THAT(Rows(Break(By(v1::DIMENSION_GENDER, StatusFilter({rv1::OBSERVER_STATUS_SUBMITTED})))),
              ElementsAre("GENDER_OTHER=1"));
}

TEST_F(CountersTest, StatusBreakdownWithEmptyFilterCountsEveryStatus) {
  Put(Obs("a1").State("FR").Citizen("FR"));
  Put(Obs("a2").State("FR").Citizen("FR"));
  Put(Obs("s1").State("DE").Citizen("DE").Status(rv1::OBSERVER_STATUS_SUBMITTED));
  Put(Obs("r1").State("DE").Citizen("DE").Status(rv1::OBSERVER_STATUS_REJECTED));
  Put(Obs("p1").State("DE").Citizen("DE").Status(rv1::OBSERVER_STATUS_SUSPENDED));
  Put(Obs("w1").State("DE").Citizen("DE").Status(rv1::OBSERVER_STATUS_WITHDRAWN));
  Put(Obs("t1").State("DE").Citizen("DE").Status(rv1::OBSERVER_STATUS_WITHDRAWN).Test());

  v1::Breakdown all = Break(By(v1::DIMENSION_STATUS));
  EXPECT_THAT(Rows(all), ElementsAre("OBSERVER_STATUS_ACCREDITED=2", "OBSERVER_STATUS_REJECTED=1",
                                     "OBSERVER_STATUS_SUBMITTED=1", "OBSERVER_STATUS_SUSPENDED=1",
                                     "OBSERVER_STATUS_WITHDRAWN=1"));
  EXPECT_EQ(all.total(), 6);
  EXPECT_THAT(
      Rows(Break(By(
          v1::DIMENSION_STATUS,
          StatusFilter({rv1::OBSERVER_STATUS_SUSPENDED, rv1::OBSERVER_STATUS_WITHDRAWN}, true)))),
      ElementsAre("OBSERVER_STATUS_WITHDRAWN=2", "OBSERVER_STATUS_SUSPENDED=1"));
  // Only a breakdown by status widens the empty filter.
  EXPECT_THAT(Rows(Break(By(v1::DIMENSION_SENDING_STATE))), ElementsAre("FR=2"));
  EXPECT_THAT(
      DisplayNames(Break(InLanguage(By(v1::DIMENSION_STATUS), "ru"))),
      ElementsAre("OBSERVER_STATUS_ACCREDITED:Аккредитован", "OBSERVER_STATUS_REJECTED:Отказано",
                  "OBSERVER_STATUS_SUBMITTED:Заявка подана",
                  "OBSERVER_STATUS_SUSPENDED:Приостановлен", "OBSERVER_STATUS_WITHDRAWN:Отозван"));
}

// Observers for the region tests: sent by states DE, DE, FR (Europe), TR (Asia), CA, US
// (Americas; US is not listed by the kz2021 scheme), and by organisations (citizens of KG, DE,
// KG); two more outside the default figures.
class CountersRegionTest : public CountersTest {
 protected:
  void SetUp() override {
    CountersTest::SetUp();
    Put(Obs("de1").State("DE").Citizen("DE"));
    Put(Obs("de2").State("DE").Citizen("DE"));
    Put(Obs("fr1").State("FR").Citizen("FR"));
    Put(Obs("tr1").State("TR").Citizen("TR"));
    Put(Obs("ca1").State("CA").Citizen("CA"));
    Put(Obs("us1").State("US").Citizen("US"));
    Put(Obs("o1").Org(kOsce).Citizen("KG"));
    Put(Obs("o2").Org(kOsce).Citizen("DE"));
    Put(Obs("o3").Org(kCis).Citizen("KG"));
    // Not in the default figures.
    Put(Obs("x1").State("JP").Citizen("JP").Status(rv1::OBSERVER_STATUS_REJECTED));
    Put(Obs("x2").State("JP").Citizen("JP").Test());
  }
};

TEST_F(CountersRegionTest, M49ContinentBySendingState) {
  const v1::Breakdown breakdown = Break(By(v1::DIMENSION_REGION));  // Scheme and basis default.
  EXPECT_EQ(breakdown.region_scheme(), "m49-continent");
  // Observers sent by organisations are not counted; distinct_sources counts states.
  EXPECT_THAT(RowsWithSources(breakdown), ElementsAre("150=3/2", "019=2/2", "142=1/1"));
  EXPECT_EQ(breakdown.total(), 6);
  EXPECT_THAT(DisplayNames(breakdown), ElementsAre("150:Europe", "019:Americas", "142:Asia"));
  EXPECT_THAT(RowsWithSources(Break(ByRegion("m49-continent", v1::REGION_BASIS_SENDING_STATE))),
              ElementsAre("150=3/2", "019=2/2", "142=1/1"));
}

TEST_F(CountersRegionTest, M49ContinentByCitizenship) {
  const v1::Breakdown breakdown = Break(ByRegion("m49-continent", v1::REGION_BASIS_CITIZENSHIP));
  EXPECT_EQ(breakdown.region_scheme(), "m49-continent");
  // Everyone counts; Asia: TR, KG, KG → 3 observers from 2 countries.
  EXPECT_THAT(RowsWithSources(breakdown), ElementsAre("150=4/2", "142=3/2", "019=2/2"));
  EXPECT_EQ(breakdown.total(), 9);
  // Test records and other statuses follow the filter.
  v1::GetBreakdownRequest all = ByRegion("m49-continent", v1::REGION_BASIS_CITIZENSHIP);
  *all.mutable_filter() =
      StatusFilter({rv1::OBSERVER_STATUS_ACCREDITED, rv1::OBSERVER_STATUS_REJECTED}, true);
  EXPECT_THAT(RowsWithSources(Break(all)), ElementsAre("142=5/3", "150=4/2", "019=2/2"));
}

TEST_F(CountersRegionTest, M49Subregion) {
  const v1::Breakdown breakdown = Break(ByRegion("m49-subregion", v1::REGION_BASIS_CITIZENSHIP));
  EXPECT_EQ(breakdown.region_scheme(), "m49-subregion");
  // 155 Western Europe (DE, FR), 143 Central Asia (KG), 021 Northern America (CA, US),
  // 145 Western Asia (TR).
  EXPECT_THAT(RowsWithSources(breakdown), ElementsAre("155=4/2", "021=2/2", "143=2/1", "145=1/1"));
}

TEST_F(CountersRegionTest, CustomSchemeWithDefaultGroup) {
  v1::Breakdown breakdown = Break(ByRegion("kz2021-article", v1::REGION_BASIS_SENDING_STATE));
  EXPECT_EQ(breakdown.region_scheme(), "kz2021-article");
  // TR is post-Soviet as published; CA is listed under "other", US falls into it by default.
  EXPECT_THAT(RowsWithSources(breakdown),
              ElementsAre("europe=3/2", "other=2/2", "post-soviet=1/1"));
  EXPECT_THAT(DisplayNames(breakdown),
              ElementsAre("europe:European countries", "other:Other countries",
                          "post-soviet:Post-Soviet space"));
  breakdown = Break(InLanguage(ByRegion("kz2021-article", v1::REGION_BASIS_CITIZENSHIP), "ru"));
  EXPECT_THAT(RowsWithSources(breakdown),
              ElementsAre("europe=4/2", "post-soviet=3/2", "other=2/2"));
  EXPECT_THAT(DisplayNames(breakdown),
              ElementsAre("europe:Европейские страны", "post-soviet:Постсоветское пространство",
                          "other:Другие страны"));
  EXPECT_THAT(DisplayNames(Break(
                  InLanguage(ByRegion("kz2021-article", v1::REGION_BASIS_CITIZENSHIP), "kk"))),
              ElementsAre("europe:Еуропа елдері", "post-soviet:Посткеңестік кеңістік",
                          "other:Басқа елдер"));
}

TEST_F(CountersRegionTest, CitizenshipNotRecordedIsNotPlaced) {
  Put(Obs("n1").Org(kSco).Citizen(""));
  const v1::Breakdown breakdown =
      Break(InLanguage(ByRegion("m49-continent", v1::REGION_BASIS_CITIZENSHIP), "ru"));
  // Empty key; a missing citizenship is no country, so no distinct source.
  EXPECT_THAT(RowsWithSources(breakdown), ElementsAre("150=4/2", "142=3/2", "019=2/2", "=1/0"));
  EXPECT_EQ(breakdown.rows(3).display_name(), "Вне регионов схемы");
  const v1::Breakdown custom = Break(ByRegion("kz2021-article", v1::REGION_BASIS_CITIZENSHIP));
  ASSERT_EQ(custom.rows_size(), 4);
  EXPECT_EQ(custom.rows(3).key(), "");
  EXPECT_EQ(custom.rows(3).display_name(), "Not placed in a region");
  EXPECT_THAT(DisplayNames(Break(InLanguage(By(v1::DIMENSION_CITIZENSHIP), "en"))),
              ::testing::Contains(":Not recorded"));
}

TEST_F(CountersRegionTest, TopNFoldsTheRestIntoOther) {
  // Sending states: DE 2, CA 1, FR 1, TR 1, US 1 (ties by key).
  v1::GetBreakdownRequest request = By(v1::DIMENSION_SENDING_STATE);
  EXPECT_THAT(Rows(Break(request)), ElementsAre("DE=2", "CA=1", "FR=1", "TR=1", "US=1"));
  request.set_top_n(2);
  v1::Breakdown breakdown = Break(request);
  EXPECT_THAT(Rows(breakdown), ElementsAre("DE=2", "CA=1", "OTHER=3"));
  EXPECT_EQ(breakdown.total(), 6);
  EXPECT_EQ(breakdown.rows(2).display_name(), "Other");
  EXPECT_FALSE(breakdown.rows(0).folded());
  EXPECT_FALSE(breakdown.rows(1).folded());
  EXPECT_TRUE(breakdown.rows(2).folded());
  EXPECT_EQ(Break(InLanguage(request, "ru")).rows(2).display_name(), "Прочие");
  EXPECT_EQ(Break(InLanguage(request, "kk")).rows(2).display_name(), "Басқалары");

  request.set_top_n(5);  // Exactly as many rows as there are: nothing to fold.
  breakdown = Break(request);
  EXPECT_THAT(Rows(breakdown), ElementsAre("DE=2", "CA=1", "FR=1", "TR=1", "US=1"));
  for (const v1::BreakdownRow& row : breakdown.rows()) EXPECT_FALSE(row.folded()) << row.key();
  request.set_top_n(100);
  EXPECT_THAT(Rows(Break(request)), ElementsAre("DE=2", "CA=1", "FR=1", "TR=1", "US=1"));

  // For regions, OTHER sums the distinct sources of the folded rows.
  v1::GetBreakdownRequest regions = ByRegion("m49-continent", v1::REGION_BASIS_SENDING_STATE);
  regions.set_top_n(1);
  EXPECT_THAT(RowsWithSources(Break(regions)), ElementsAre("150=3/2", "OTHER=3/3"));
  v1::GetBreakdownRequest types = By(v1::DIMENSION_OBSERVER_TYPE);
  types.set_top_n(1);
  EXPECT_THAT(RowsWithSources(Break(types)), ElementsAre("STATE=6/5", "OTHER=3/2"));
}

// The folded row comes last even when it is the largest, and an organisation coded OTHER is
// told from it by `folded`.
TEST_F(CountersTest, FoldedRowIsLastAndToldFromAnOrganisationCodedOther) {
  for (const char* id : {"a1", "a2", "a3"}) Put(Obs(id).Org("OTHER").Citizen("DE"));
  for (const char* id : {"b1", "b2"}) Put(Obs(id).Org(kOsce).Citizen("DE"));
  for (const char* id : {"c1", "c2"}) Put(Obs(id).Org(kCis).Citizen("DE"));
  for (const char* id : {"d1", "d2"}) Put(Obs(id).Org(kSco).Citizen("DE"));
  v1::GetBreakdownRequest request = By(v1::DIMENSION_ORGANISATION);
  request.set_top_n(1);
  const v1::Breakdown breakdown = Break(request);
  ASSERT_THAT(Rows(breakdown), ElementsAre("OTHER=3", "OTHER=6"));
  EXPECT_FALSE(breakdown.rows(0).folded());
  EXPECT_EQ(breakdown.rows(0).display_name(), "OTHER");  // No record: its code.
  EXPECT_TRUE(breakdown.rows(1).folded());
  EXPECT_EQ(breakdown.rows(1).display_name(), "Other");
  EXPECT_DOUBLE_EQ(breakdown.rows(1).share(), 6.0 / 9.0);
}

TEST_F(CountersRegionTest, SharesAreCountOverTotal) {
  v1::GetBreakdownRequest request = By(v1::DIMENSION_SENDING_STATE);
  request.set_top_n(1);
  const v1::Breakdown breakdown = Break(request);
  ASSERT_EQ(breakdown.rows_size(), 2);
  EXPECT_EQ(breakdown.total(), 6);
  EXPECT_DOUBLE_EQ(breakdown.rows(0).share(), 2.0 / 6.0);
  EXPECT_DOUBLE_EQ(breakdown.rows(1).share(), 4.0 / 6.0);

  const v1::Breakdown organisations = Break(By(v1::DIMENSION_ORGANISATION));
  EXPECT_THAT(Rows(organisations), ElementsAre("OSCE-ODIHR=2", "CIS=1"));
  EXPECT_DOUBLE_EQ(organisations.rows(0).share(), 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(organisations.rows(1).share(), 1.0 / 3.0);

  // No rows, no shares: total 0 and nothing divided by it.
  const v1::Breakdown none =
      Break(By(v1::DIMENSION_ORGANISATION, StatusFilter({
                                               rv1::OBSERVER_STATUS_SUSPENDED,
                                           })));
  EXPECT_EQ(none.total(), 0);
  EXPECT_EQ(none.rows_size(), 0);
}

// --- Display names ----------------------------------------------------------------------------

TEST_F(CountersTest, OrganisationNamesFromRecordsWithFallbacks) {
  Put(Obs("a1").Org(kOsce).Citizen("DE"));
  Put(Obs("a2").Org(kOsce).Citizen("DE"));
  Put(Obs("a3").Org(kOsce).Citizen("DE"));
  Put(Obs("a4").Org(kOsce).Citizen("DE"));
  Put(Obs("b1").Org(kCis).Citizen("RU"));
  Put(Obs("b2").Org(kCis).Citizen("RU"));
  Put(Obs("b3").Org(kCis).Citizen("RU"));
  Put(Obs("c1").Org(kSco).Citizen("CN"));
  Put(Obs("c2").Org(kSco).Citizen("CN"));
  Put(Obs("d1").Org(kTurkpa).Citizen("TR"));

  const v1::GetBreakdownRequest request = By(v1::DIMENSION_ORGANISATION);
  EXPECT_THAT(DisplayNames(Break(request)),
              ElementsAre(absl::StrCat("OSCE-ODIHR:", kOsceEn), absl::StrCat("CIS:", kCisEn),
                          absl::StrCat("SCO:", kScoEn), "TURKPA:TURKPA"));
  EXPECT_THAT(DisplayNames(Break(InLanguage(request, "ru"))),
              ElementsAre(absl::StrCat("OSCE-ODIHR:", kOsceRu), absl::StrCat("CIS:", kCisRu),
                          absl::StrCat("SCO:", kScoEn), "TURKPA:TURKPA"));
  EXPECT_THAT(DisplayNames(Break(InLanguage(request, "kk"))),
              ElementsAre(absl::StrCat("OSCE-ODIHR:", kOsceKk), absl::StrCat("CIS:", kCisEn),
                          absl::StrCat("SCO:", kScoEn), "TURKPA:TURKPA"));

  // A renamed organisation shows its new name; a deleted one its code.
  ApplyOk(
      OrganisationEvent(++revision_, rv1::CHANGE_TYPE_UPDATED, kSco, "SCO (renamed)", "ШОС", ""));
  ApplyOk(
      OrganisationEvent(++revision_, rv1::CHANGE_TYPE_DELETED, kOsce, kOsceEn, kOsceRu, kOsceKk));
  EXPECT_THAT(DisplayNames(Break(InLanguage(request, "ru"))),
              ElementsAre("OSCE-ODIHR:OSCE-ODIHR", absl::StrCat("CIS:", kCisRu), "SCO:ШОС",
                          "TURKPA:TURKPA"));
  EXPECT_EQ(DisplayNames(Break(InLanguage(request, "kk")))[2], "SCO:SCO (renamed)");
  // The organisation record coming later names the counted observers.
  ApplyOk(OrganisationEvent(++revision_, rv1::CHANGE_TYPE_CREATED, kTurkpa,
                            "Parliamentary Assembly of Turkic States", "ТюркПА", ""));
  EXPECT_EQ(DisplayNames(Break(InLanguage(request, "ru")))[3], "TURKPA:ТюркПА");
}

TEST_F(CountersTest, CountryAndTypeNamesInEachLanguage) {
  Put(Obs("a1").State("DE").Citizen("DE"));
  Put(Obs("a2").State("DE").Citizen("DE"));
  Put(Obs("b1").Org(kOsce).Citizen(""));

  EXPECT_THAT(DisplayNames(Break(By(v1::DIMENSION_SENDING_STATE))), ElementsAre("DE:Germany"));
  EXPECT_THAT(DisplayNames(Break(InLanguage(By(v1::DIMENSION_SENDING_STATE), "ru"))),
              ElementsAre("DE:Германия"));
  EXPECT_THAT(DisplayNames(Break(InLanguage(By(v1::DIMENSION_SENDING_STATE), "kk"))),
              ElementsAre(absl::StrCat("DE:", Regions().CountryName("DE", Language::kKk))));
  EXPECT_THAT(DisplayNames(Break(InLanguage(By(v1::DIMENSION_CITIZENSHIP), "ru"))),
              ElementsAre("DE:Германия", ":Не указано"));
  // Kazakh has no "not recorded" of its own: English.
  EXPECT_EQ(DisplayNames(Break(InLanguage(By(v1::DIMENSION_CITIZENSHIP), "kk")))[1],
            ":Not recorded");

  EXPECT_THAT(DisplayNames(Break(By(v1::DIMENSION_OBSERVER_TYPE))),
              ElementsAre("STATE:Foreign states", "ORGANISATION:International organisations"));
  EXPECT_THAT(
      DisplayNames(Break(InLanguage(By(v1::DIMENSION_OBSERVER_TYPE), "ru"))),
      ElementsAre("STATE:Иностранные государства", "ORGANISATION:Международные организации"));
  EXPECT_THAT(DisplayNames(Break(InLanguage(By(v1::DIMENSION_OBSERVER_TYPE), "kk"))),
              ElementsAre("STATE:Шет мемлекеттер", "ORGANISATION:Халықаралық ұйымдар"));
}

TEST_F(CountersTest, LanguageTagsAndFallbackToEnglish) {
  Put(Obs("a1").State("DE").Citizen("DE").Gender(rv1::GENDER_FEMALE));
  // Region subtags and case are ignored; empty means English.
  EXPECT_THAT(DisplayNames(Break(InLanguage(By(v1::DIMENSION_GENDER), "RU-kz"))),
              ElementsAre("GENDER_FEMALE:Женщины"));
  EXPECT_THAT(DisplayNames(Break(InLanguage(By(v1::DIMENSION_GENDER), ""))),
              ElementsAre("GENDER_FEMALE:Female"));
  EXPECT_THAT(DisplayNames(Break(InLanguage(By(v1::DIMENSION_GENDER), "en-GB"))),
              ElementsAre("GENDER_FEMALE:Female"));
  // Kazakh names of enum values are not in the table: English.
  EXPECT_THAT(DisplayNames(Break(InLanguage(By(v1::DIMENSION_GENDER), "kk-KZ"))),
              ElementsAre("GENDER_FEMALE:Female"));
  EXPECT_THAT(DisplayNames(Break(InLanguage(By(v1::DIMENSION_STATUS), "kk"))),
              ElementsAre("OBSERVER_STATUS_ACCREDITED:Accredited"));
  EXPECT_THAT(DisplayNames(Break(InLanguage(By(v1::DIMENSION_CATEGORY), "kk"))),
              ElementsAre("OBSERVER_CATEGORY_SHORT_TERM:Short-term observer"));
}

// --- Errors -----------------------------------------------------------------------------------

TEST_F(CountersTest, OutOfStepUpdateOrDeleteIsReported) {
  Put(Obs("a1").Org(kOsce).Citizen("DE"));
  const rv1::Observer counted = Current("a1");

  // Before images that were never counted, from "nothing in that election" to "differs from
  // what was counted in one attribute".
  std::vector<std::pair<std::string, rv1::Observer>> never_counted;
  never_counted.emplace_back("empty election",
                             Make(Obs("a1").In(kOtherElection).Org(kOsce).Citizen("DE")));
  rv1::Observer other = counted;
  other.set_status(rv1::OBSERVER_STATUS_SUBMITTED);
  never_counted.emplace_back("other status", other);
  other = counted;
  other.set_test(true);
  never_counted.emplace_back("test", other);
  other = counted;
  other.mutable_sending_body()->set_organisation(OrganisationName(kCis));
  never_counted.emplace_back("other organisation", other);
  other = counted;
  other.mutable_sending_body()->set_state("DE");
  never_counted.emplace_back("sent by a state", other);
  other = counted;
  other.set_citizenship("FR");
  never_counted.emplace_back("other citizenship", other);
  other = counted;
  other.set_gender(rv1::GENDER_MALE);
  never_counted.emplace_back("other gender", other);
  other = counted;
  other.set_category(rv1::OBSERVER_CATEGORY_LONG_TERM);
  never_counted.emplace_back("other category", other);

  for (const auto& [what, before] : never_counted) {
    SCOPED_TRACE(what);
    Counters counters(Regions());
    ASSERT_TRUE(counters.Apply(ObserverEvent(1, rv1::CHANGE_TYPE_CREATED, nullptr, &counted)).ok());
    const std::map<std::string, int64_t> dump = counters.Dump();
    rv1::Observer after = before;
    after.set_citizenship("PL");
    absl::Status status =
        counters.Apply(ObserverEvent(2, rv1::CHANGE_TYPE_UPDATED, &before, &after));
    EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
    EXPECT_EQ(counters.Dump(), dump) << "a refused update changes nothing";
    status = counters.Apply(ObserverEvent(3, rv1::CHANGE_TYPE_DELETED, &before, nullptr));
    EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
    EXPECT_EQ(counters.Dump(), dump) << "a refused delete changes nothing";
  }

  // Deleting twice.
  Remove(counted.name());
  EXPECT_FALSE(
      counters_.Apply(ObserverEvent(++revision_, rv1::CHANGE_TYPE_DELETED, &counted, nullptr))
          .ok());
}

// The header promises that an event that cannot be understood changes nothing.
TEST_F(CountersTest, UnreadableEventIsReportedAndChangesNothing) {
  Put(Obs("a1").Org(kOsce).Citizen("DE"));
  Put(Obs("a2").State("FR").Citizen("FR"));
  const std::map<std::string, int64_t> dump = counters_.Dump();
  const rv1::Observer a1 = Current("a1");

  rv1::Observer bad_name = Make(Obs("a3").State("FR").Citizen("FR"));
  bad_name.set_name("elections/kz-2021/observers/Not_An_Id");
  EXPECT_FALSE(
      counters_.Apply(ObserverEvent(++revision_, rv1::CHANGE_TYPE_CREATED, nullptr, &bad_name))
          .ok());
  EXPECT_EQ(counters_.Dump(), dump);

  rv1::Observer bad_body = Make(Obs("a3").State("FR").Citizen("FR"));
  bad_body.mutable_sending_body()->set_organisation("OSCE-ODIHR");  // No "organisations/".
  EXPECT_FALSE(
      counters_.Apply(ObserverEvent(++revision_, rv1::CHANGE_TYPE_CREATED, nullptr, &bad_body))
          .ok());
  EXPECT_EQ(counters_.Dump(), dump);

  rv1::ChangeEvent unknown_kind =
      ObserverEvent(++revision_, rv1::CHANGE_TYPE_CREATED, nullptr, &a1);
  unknown_kind.set_kind(rv1::RESOURCE_KIND_UNSPECIFIED);
  EXPECT_FALSE(counters_.Apply(unknown_kind).ok());
  EXPECT_EQ(counters_.Dump(), dump);
}

// The same promise for an update whose before image is fine but whose after image cannot be
// read: the before image must not stay subtracted.
TEST(CountersUnreadableTest, UpdateWithUnreadableAfterImageChangesNothing) {
  const rv1::Observer counted = Make(Obs("a1").Org(kOsce).Citizen("DE"));
  std::vector<std::pair<std::string, rv1::Observer>> unreadable;
  rv1::Observer after = counted;
  after.mutable_sending_body()->set_organisation("organisations/");
  unreadable.emplace_back("empty organisation code", after);
  after = counted;
  after.mutable_sending_body()->set_organisation("CIS");
  unreadable.emplace_back("organisation without prefix", after);
  after = counted;
  after.set_name("elections/kz-2021/observers/A1");
  unreadable.emplace_back("malformed name", after);

  for (const auto& [what, bad] : unreadable) {
    SCOPED_TRACE(what);
    Counters counters(Regions());
    ASSERT_TRUE(counters.Apply(ElectionEvent(1, kElection, true)).ok());
    ASSERT_TRUE(counters.Apply(ObserverEvent(2, rv1::CHANGE_TYPE_CREATED, nullptr, &counted)).ok());
    const std::map<std::string, int64_t> dump = counters.Dump();
    EXPECT_FALSE(counters.Apply(ObserverEvent(3, rv1::CHANGE_TYPE_UPDATED, &counted, &bad)).ok());
    EXPECT_EQ(counters.Dump(), dump) << "the before image must not stay subtracted";
    EXPECT_EQ(Figures(*counters.Summarize(SummaryRequest())),
              "1: 1 from 1 organisations, 0 from 0 states");
  }
}

// Enum values this version does not know (from a newer registry) are counted as UNSPECIFIED,
// and subtracted as such.
TEST_F(CountersTest, UnknownEnumValuesAreCountedAsUnspecified) {
  rv1::Observer observer = Obs("a1").State("FR").Citizen("FR").Build();
  observer.set_status(static_cast<rv1::ObserverStatus>(42));
  observer.set_category(static_cast<rv1::ObserverCategory>(-3));
  observer.set_gender(static_cast<rv1::Gender>(9));
  Put(observer);
  EXPECT_EQ(SummaryFigures(), "0: 0 from 0 organisations, 0 from 0 states");
  EXPECT_THAT(Rows(Break(By(v1::DIMENSION_STATUS))), ElementsAre("OBSERVER_STATUS_UNSPECIFIED=1"));
  EXPECT_THAT(Rows(Break(By(v1::DIMENSION_STATUS, StatusFilter({rv1::OBSERVER_STATUS_SUBMITTED})))),
              IsEmpty());

  observer.set_status(rv1::OBSERVER_STATUS_ACCREDITED);  // Now known: leaves UNSPECIFIED.
  Put(observer);
  EXPECT_EQ(SummaryFigures(), "1: 0 from 0 organisations, 1 from 1 states");
  EXPECT_THAT(Rows(Break(By(v1::DIMENSION_STATUS))), ElementsAre("OBSERVER_STATUS_ACCREDITED=1"));
  EXPECT_THAT(Rows(Break(By(v1::DIMENSION_CATEGORY))),
              ElementsAre("OBSERVER_CATEGORY_UNSPECIFIED=1"));
  EXPECT_THAT(Rows(Break(By(v1::DIMENSION_GENDER))), ElementsAre("GENDER_UNSPECIFIED=1"));
  observer.set_gender(static_cast<rv1::Gender>(77));  // Another unknown value: the same group.
  Put(observer);
  EXPECT_THAT(Rows(Break(By(v1::DIMENSION_GENDER))), ElementsAre("GENDER_UNSPECIFIED=1"));
  Remove(observer.name());
  EXPECT_THAT(counters_.Dump(), IsEmpty());
}

TEST_F(CountersTest, UnknownElectionIsNotFoundNamingTheElection) {
  const std::string unknown = ElectionName("kz-1999");
  const absl::StatusOr<v1::Summary> summary = counters_.Summarize(SummaryRequest({}, unknown));
  ASSERT_FALSE(summary.ok());
  EXPECT_EQ(summary.status().code(), absl::StatusCode::kNotFound);
  const ErrorDetails details = GetErrorDetails(summary.status());
  EXPECT_EQ(details.reason, reason::kNotFound);
  EXPECT_THAT(Fields(summary.status()), ElementsAre("election"));
  EXPECT_EQ(details.metadata.at("election"), unknown);

  v1::GetBreakdownRequest request = By(v1::DIMENSION_GENDER);
  request.set_election(unknown);
  const absl::StatusOr<v1::Breakdown> breakdown = counters_.Break(request);
  ASSERT_FALSE(breakdown.ok());
  EXPECT_EQ(breakdown.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(Fields(breakdown.status()), ElementsAre("election"));
}

TEST_F(CountersTest, ElectionExistsOnlyWhileItsRecordDoes) {
  // Observers of an election whose record was never seen do not make it exist.
  Put(Obs("a1").In("kz-2024").State("FR").Citizen("FR"));
  EXPECT_EQ(counters_.Summarize(SummaryRequest({}, ElectionName("kz-2024"))).status().code(),
            absl::StatusCode::kNotFound);
  ApplyOk(ElectionEvent(++revision_, "kz-2024", true));
  EXPECT_EQ(SummaryFigures({}, ElectionName("kz-2024")),
            "1: 0 from 0 organisations, 1 from 1 states");

  // A deleted election is not found, and its counters go once its observers do.
  ApplyOk(ElectionEvent(++revision_, "kz-2024", false));
  EXPECT_EQ(counters_.Summarize(SummaryRequest({}, ElectionName("kz-2024"))).status().code(),
            absl::StatusCode::kNotFound);
  Remove(ObserverName("kz-2024", "a1"));
  EXPECT_THAT(DumpOf("kz-2024"), IsEmpty());
  ApplyOk(ElectionEvent(++revision_, "kz-2024", true));
  EXPECT_EQ(SummaryFigures({}, ElectionName("kz-2024")),
            "0: 0 from 0 organisations, 0 from 0 states");
}

TEST_F(CountersTest, SharedBreakIsKeptUntilTheNextChange) {
  Put(Obs("a1").Org(kOsce).Citizen("DE"));
  v1::GetBreakdownRequest request = By(v1::DIMENSION_ORGANISATION);
  absl::StatusOr<std::shared_ptr<const v1::Breakdown>> first = counters_.SharedBreak(request);
  ASSERT_TRUE(first.ok()) << first.status();
  // The same question, whatever its min_revision, gets the same answer object.
  request.set_min_revision(42);
  absl::StatusOr<std::shared_ptr<const v1::Breakdown>> again = counters_.SharedBreak(request);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(first->get(), again->get());
  // Another question gets its own.
  absl::StatusOr<std::shared_ptr<const v1::Breakdown>> ru =
      counters_.SharedBreak(InLanguage(request, "ru"));
  ASSERT_TRUE(ru.ok());
  EXPECT_NE(first->get(), ru->get());
  EXPECT_THAT(DisplayNames(**ru), ElementsAre(absl::StrCat("OSCE-ODIHR:", kOsceRu)));
  // A change makes a new answer; the one handed out before stays as it was.
  Put(Obs("a2").Org(kCis).Citizen("DE"));
  absl::StatusOr<std::shared_ptr<const v1::Breakdown>> changed = counters_.SharedBreak(request);
  ASSERT_TRUE(changed.ok());
  EXPECT_NE(first->get(), changed->get());
  EXPECT_THAT(Rows(**changed), ElementsAre("CIS=1", "OSCE-ODIHR=1"));
  EXPECT_THAT(Rows(**first), ElementsAre("OSCE-ODIHR=1"));
  // Errors are not kept: the election appears with its record.
  request.set_election(ElectionName("kz-2030"));
  EXPECT_EQ(counters_.SharedBreak(request).status().code(), absl::StatusCode::kNotFound);
  ApplyOk(ElectionEvent(++revision_, "kz-2030", true));
  EXPECT_TRUE(counters_.SharedBreak(request).ok());
}

TEST(BreakdownCacheTest, KeyIgnoresMinRevisionOnly) {
  v1::GetBreakdownRequest request = By(v1::DIMENSION_SENDING_STATE);
  const std::string key = BreakdownCache::KeyOf(request);
  request.set_min_revision(7);
  EXPECT_EQ(BreakdownCache::KeyOf(request), key);
  request.set_top_n(3);
  EXPECT_NE(BreakdownCache::KeyOf(request), key);
}

TEST(BreakdownCacheTest, StaysWithinItsBounds) {
  auto breakdown = [](int rows) {
    auto b = std::make_shared<v1::Breakdown>();
    for (int i = 0; i < rows; ++i) b->add_rows()->set_key(absl::StrCat("K", i));
    return std::shared_ptr<const v1::Breakdown>(std::move(b));
  };
  BreakdownCache cache(/*max_entries=*/3, /*max_bytes=*/200);
  for (int i = 0; i < 10; ++i) {
    cache.Insert(absl::StrCat("k", i), breakdown(1));
    EXPECT_LE(cache.entries(), 3u);
    EXPECT_LE(cache.bytes(), 200u);
    EXPECT_NE(cache.Find(absl::StrCat("k", i)), nullptr);  // The newest is always kept.
  }
  cache.Insert("big", breakdown(100));  // Larger than the byte bound alone: never kept.
  EXPECT_EQ(cache.Find("big"), nullptr);
  cache.Insert("k9", breakdown(2));  // Replacing an entry counts its bytes once.
  EXPECT_LE(cache.bytes(), 200u);
  EXPECT_EQ(cache.Find("k9")->rows_size(), 2);
  const std::shared_ptr<const v1::Breakdown> held = cache.Find("k9");
  cache.Clear();
  EXPECT_EQ(cache.entries(), 0u);
  EXPECT_EQ(cache.bytes(), 0u);
  EXPECT_EQ(cache.Find("k9"), nullptr);
  EXPECT_EQ(held->rows_size(), 2);  // A reader's copy outlives the entry.
}

TEST(CountersValidationTest, SummaryRequestNamesEachBadField) {
  struct Case {
    std::string what;
    v1::GetSummaryRequest request;
    std::vector<std::string> fields;
  };
  std::vector<Case> cases;
  cases.push_back({"empty election", SummaryRequest({}, ""), {"election"}});
  cases.push_back({"no prefix", SummaryRequest({}, "kz-2021"), {"election"}});
  cases.push_back({"upper case", SummaryRequest({}, "elections/KZ-2021"), {"election"}});
  cases.push_back(
      {"observer name", SummaryRequest({}, "elections/kz-2021/observers/a1"), {"election"}});
  cases.push_back({"unspecified status",
                   SummaryRequest(StatusFilter({rv1::OBSERVER_STATUS_UNSPECIFIED})),
                   {"filter.statuses[0]"}});
  cases.push_back({"unknown status",
                   SummaryRequest(StatusFilter(
                       {rv1::OBSERVER_STATUS_ACCREDITED, static_cast<rv1::ObserverStatus>(17)})),
                   {"filter.statuses[1]"}});
  v1::Filter bad_category;
  bad_category.add_categories(static_cast<rv1::ObserverCategory>(99));
  cases.push_back({"unknown category", SummaryRequest(bad_category), {"filter.categories[0]"}});
  v1::GetSummaryRequest negative = SummaryRequest();
  negative.set_min_revision(-1);
  cases.push_back({"negative min_revision", negative, {"min_revision"}});
  v1::GetSummaryRequest everything =
      SummaryRequest(StatusFilter({rv1::OBSERVER_STATUS_UNSPECIFIED}), "");
  everything.set_min_revision(-7);
  cases.push_back({"all at once", everything, {"election", "min_revision", "filter.statuses[0]"}});

  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    const absl::Status status = Counters::ValidateSummaryRequest(c.request);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
    EXPECT_EQ(GetErrorDetails(status).reason, reason::kValidationFailed);
    EXPECT_EQ(Fields(status), c.fields);
  }

  v1::GetSummaryRequest fine = SummaryRequest(
      StatusFilter({rv1::OBSERVER_STATUS_SUBMITTED, rv1::OBSERVER_STATUS_WITHDRAWN}, true));
  fine.mutable_filter()->add_categories(rv1::OBSERVER_CATEGORY_OTHER);
  fine.set_min_revision(12);
  EXPECT_TRUE(Counters::ValidateSummaryRequest(fine).ok());
}

TEST(CountersValidationTest, BreakdownRequestNamesEachBadField) {
  struct Case {
    std::string what;
    v1::GetBreakdownRequest request;
    std::vector<std::string> fields;
  };
  std::vector<Case> cases;
  auto with = [](v1::Dimension dimension, auto change) {
    v1::GetBreakdownRequest request = By(dimension);
    change(request);
    return request;
  };
  cases.push_back({"empty election",
                   with(v1::DIMENSION_GENDER, [](auto& r) { r.clear_election(); }),
                   {"election"}});
  cases.push_back({"malformed election",
                   with(v1::DIMENSION_GENDER, [](auto& r) { r.set_election("elections/"); }),
                   {"election"}});
  cases.push_back({"unspecified dimension", By(v1::DIMENSION_UNSPECIFIED), {"dimension"}});
  cases.push_back({"unknown dimension", By(static_cast<v1::Dimension>(42)), {"dimension"}});
  cases.push_back({"unknown scheme",
                   with(v1::DIMENSION_REGION, [](auto& r) { r.set_region_scheme("m49-planet"); }),
                   {"region_scheme"}});
  cases.push_back(
      {"scheme without region",
       with(v1::DIMENSION_SENDING_STATE, [](auto& r) { r.set_region_scheme("m49-continent"); }),
       {"region_scheme"}});
  cases.push_back({"basis without region",
                   with(v1::DIMENSION_CITIZENSHIP,
                        [](auto& r) { r.set_region_basis(v1::REGION_BASIS_CITIZENSHIP); }),
                   {"region_basis"}});
  cases.push_back({"unknown basis",
                   with(v1::DIMENSION_REGION,
                        [](auto& r) { r.set_region_basis(static_cast<v1::RegionBasis>(9)); }),
                   {"region_basis"}});
  cases.push_back(
      {"negative top_n", with(v1::DIMENSION_GENDER, [](auto& r) { r.set_top_n(-1); }), {"top_n"}});
  for (const char* language : {"de", "kz", "ru-", "english"}) {
    cases.push_back(
        {absl::StrCat("language ", language),
         with(v1::DIMENSION_GENDER, [language](auto& r) { r.set_language_code(language); }),
         {"language_code"}});
  }
  cases.push_back(
      {"bad status",
       with(v1::DIMENSION_GENDER,
            [](auto& r) { r.mutable_filter()->add_statuses(rv1::OBSERVER_STATUS_UNSPECIFIED); }),
       {"filter.statuses[0]"}});
  cases.push_back({"negative min_revision",
                   with(v1::DIMENSION_GENDER, [](auto& r) { r.set_min_revision(-1); }),
                   {"min_revision"}});
  cases.push_back({"several",
                   with(v1::DIMENSION_UNSPECIFIED,
                        [](auto& r) {
                          r.set_election("x");
                          r.set_top_n(-3);
                          r.set_language_code("fr");
                        }),
                   {"election", "dimension", "top_n", "language_code"}});

  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    const absl::Status status = Counters::ValidateBreakdownRequest(Regions(), c.request);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
    EXPECT_EQ(GetErrorDetails(status).reason, reason::kValidationFailed);
    EXPECT_EQ(Fields(status), c.fields);
  }

  for (const char* scheme : {"", "m49-continent", "m49-subregion", "kz2021-article"}) {
    v1::GetBreakdownRequest fine = ByRegion(scheme, v1::REGION_BASIS_CITIZENSHIP);
    fine.set_top_n(3);
    fine.set_language_code("kk-KZ");
    fine.set_min_revision(5);
    const absl::Status status = Counters::ValidateBreakdownRequest(Regions(), fine);
    EXPECT_TRUE(status.ok()) << scheme << ": " << status;
  }
}

// CounterCount is the number of non-zero counters, as many as Dump lists.
TEST_F(CountersTest, CounterCountIsTheNumberOfNonZeroCounters) {
  Put(Obs("a1").Org(kOsce).Citizen("DE"));
  EXPECT_EQ(counters_.CounterCount(), static_cast<int64_t>(counters_.Dump().size()));
  Put(Obs("a2").State("FR").Citizen("FR").Gender(rv1::GENDER_MALE));
  EXPECT_EQ(counters_.CounterCount(), static_cast<int64_t>(counters_.Dump().size()));
}

// --- Property: incremental counters equal a recount -------------------------------------------

const std::vector<std::string> kUniverseElections = {"alpha-2021", "beta-2023"};
const std::vector<std::string> kUniverseOrganisations = {"OSCE-ODIHR", "CIS", "SCO", "TURKPA"};
const std::vector<std::string> kUniverseCountries = {"DE", "FR", "TR", "CA",
                                                     "KG", "US", "JP", "EG"};

// A fresh Counters that knows the universe's elections and organisations.
std::unique_ptr<Counters> UniverseCounters() {
  auto counters = std::make_unique<Counters>(Regions());
  int64_t revision = 0;
  for (const std::string& election : kUniverseElections) {
    EXPECT_TRUE(counters->Apply(ElectionEvent(++revision, election, true)).ok());
  }
  for (const std::string& code : kUniverseOrganisations) {
    EXPECT_TRUE(counters
                    ->Apply(OrganisationEvent(++revision, rv1::CHANGE_TYPE_CREATED, code,
                                              absl::StrCat(code, " en"), "", ""))
                    .ok());
  }
  return counters;
}

class RandomHistory {
 public:
  explicit RandomHistory(uint32_t seed) : random_(seed) {}

  // One random change; returns its event.
  rv1::ChangeEvent Next() {
    const int roll = Uniform(0, 99);
    ++revision_;
    if (records_.empty() || roll < 35) {
      rv1::Observer observer;
      observer.set_name(ObserverName(Pick(kUniverseElections), absl::StrCat("o", next_id_++)));
      if (Uniform(0, 1) == 0) {
        observer.mutable_sending_body()->set_organisation(
            OrganisationName(Pick(kUniverseOrganisations)));
      } else {
        observer.mutable_sending_body()->set_state(Pick(kUniverseCountries));
      }
      observer.set_citizenship(Uniform(0, 19) == 0 ? "" : Pick(kUniverseCountries));
      observer.set_status(RandomStatus());
      observer.set_category(static_cast<rv1::ObserverCategory>(Uniform(0, 6)));
      observer.set_gender(static_cast<rv1::Gender>(Uniform(0, 3)));
      observer.set_test(Uniform(0, 4) == 0);
      observer.set_revision(revision_);
      records_[observer.name()] = observer;
      return ObserverEvent(revision_, rv1::CHANGE_TYPE_CREATED, nullptr, &observer);
    }
    auto it = records_.begin();
    std::advance(it, Uniform(0, static_cast<int>(records_.size()) - 1));
    const rv1::Observer before = it->second;
    if (roll >= 85) {
      records_.erase(it);
      return ObserverEvent(revision_, rv1::CHANGE_TYPE_DELETED, &before, nullptr);
    }
    rv1::Observer& after = it->second;
    for (int changes = Uniform(1, 3); changes > 0; --changes) {
      switch (Uniform(0, 7)) {
        case 0:
          after.set_status(RandomStatus());
          break;
        case 1:  // Organisation ↔ state.
          if (after.sending_body().has_organisation()) {
            after.mutable_sending_body()->set_state(Pick(kUniverseCountries));
          } else {
            after.mutable_sending_body()->set_organisation(
                OrganisationName(Pick(kUniverseOrganisations)));
          }
          break;
        case 2:  // Another body of the same kind.
          if (after.sending_body().has_organisation()) {
            after.mutable_sending_body()->set_organisation(
                OrganisationName(Pick(kUniverseOrganisations)));
          } else {
            after.mutable_sending_body()->set_state(Pick(kUniverseCountries));
          }
          break;
        case 3:
          after.set_citizenship(Pick(kUniverseCountries));
          break;
        case 4:
          after.set_category(static_cast<rv1::ObserverCategory>(Uniform(0, 6)));
          break;
        case 5:
          after.set_gender(static_cast<rv1::Gender>(Uniform(0, 3)));
          break;
        case 6:
          after.set_test(!after.test());
          break;
        default:
          break;  // An update that changes nothing counted (e.g. tags).
      }
    }
    after.set_revision(revision_);
    return ObserverEvent(revision_, rv1::CHANGE_TYPE_UPDATED, &before, &after);
  }

  const std::map<std::string, rv1::Observer>& records() const { return records_; }

 private:
  int Uniform(int low, int high) { return std::uniform_int_distribution<int>(low, high)(random_); }
  const std::string& Pick(const std::vector<std::string>& from) {
    return from[static_cast<size_t>(Uniform(0, static_cast<int>(from.size()) - 1))];
  }
  rv1::ObserverStatus RandomStatus() {
    // Mostly ACCREDITED, so that the default figures are not trivially small.
    const int roll = Uniform(0, 9);
    return roll < 5 ? rv1::OBSERVER_STATUS_ACCREDITED
                    : static_cast<rv1::ObserverStatus>(Uniform(1, 5));
  }

  std::mt19937 random_;
  std::map<std::string, rv1::Observer> records_;
  int64_t revision_ = 100;
  int next_id_ = 1;
};

// Counters built from scratch from CREATED events of `records`.
std::unique_ptr<Counters> Recount(const std::map<std::string, rv1::Observer>& records) {
  std::unique_ptr<Counters> counters = UniverseCounters();
  for (const auto& [name, observer] : records) {
    const absl::Status status = counters->Apply(
        ObserverEvent(observer.revision(), rv1::CHANGE_TYPE_CREATED, nullptr, &observer));
    EXPECT_TRUE(status.ok()) << status;
  }
  return counters;
}

bool Selected(const rv1::Observer& observer, const v1::Filter& filter, bool all_statuses) {
  if (observer.test() && !filter.include_test()) return false;
  if (filter.statuses().empty()) {
    if (!all_statuses && observer.status() != rv1::OBSERVER_STATUS_ACCREDITED) return false;
  } else if (std::find(filter.statuses().begin(), filter.statuses().end(), observer.status()) ==
             filter.statuses().end()) {
    return false;
  }
  return filter.categories().empty() ||
         std::find(filter.categories().begin(), filter.categories().end(), observer.category()) !=
             filter.categories().end();
}

std::string OrganisationCode(const rv1::Observer& observer) {
  return observer.sending_body().organisation().substr(std::string("organisations/").size());
}

// The figures of a summary counted directly from the records.
std::string NaiveSummary(const std::vector<rv1::Observer>& records, const v1::Filter& filter) {
  v1::Summary summary;
  std::set<std::string> organisations;
  std::set<std::string> states;
  for (const rv1::Observer& observer : records) {
    if (!Selected(observer, filter, false)) continue;
    summary.set_observers(summary.observers() + 1);
    if (observer.sending_body().has_organisation()) {
      summary.set_organisation_observers(summary.organisation_observers() + 1);
      organisations.insert(OrganisationCode(observer));
    } else if (observer.sending_body().has_state()) {
      summary.set_state_observers(summary.state_observers() + 1);
      states.insert(observer.sending_body().state());
    }
  }
  summary.set_organisations(static_cast<int64_t>(organisations.size()));
  summary.set_states(static_cast<int64_t>(states.size()));
  return Figures(summary);
}

// key → "count/distinct sources" of a breakdown counted directly from the records.
std::map<std::string, std::string> NaiveBreakdown(const std::vector<rv1::Observer>& records,
                                                  const v1::GetBreakdownRequest& request) {
  std::map<std::string, std::pair<int64_t, std::set<std::string>>> groups;
  const v1::Dimension dimension = request.dimension();
  const bool has_sources =
      dimension == v1::DIMENSION_OBSERVER_TYPE || dimension == v1::DIMENSION_REGION;
  for (const rv1::Observer& observer : records) {
    if (!Selected(observer, request.filter(), dimension == v1::DIMENSION_STATUS)) continue;
    const rv1::SendingBody& body = observer.sending_body();
    std::string key;
    std::string source;
    switch (dimension) {
      case v1::DIMENSION_OBSERVER_TYPE:
        if (body.has_organisation()) {
          key = "ORGANISATION";
          source = OrganisationCode(observer);
        } else {
          key = "STATE";
          source = body.state();
        }
        break;
      case v1::DIMENSION_ORGANISATION:
        if (!body.has_organisation()) continue;
        key = OrganisationCode(observer);
        break;
      case v1::DIMENSION_SENDING_STATE:
        if (!body.has_state()) continue;
        key = body.state();
        break;
      case v1::DIMENSION_CITIZENSHIP:
        key = observer.citizenship();
        break;
      case v1::DIMENSION_REGION: {
        if (request.region_basis() == v1::REGION_BASIS_CITIZENSHIP) {
          source = observer.citizenship();
        } else if (body.has_state()) {
          source = body.state();
        } else {
          continue;
        }
        const RegionScheme* scheme = Regions().Find(
            request.region_scheme().empty() ? kM49ContinentScheme : request.region_scheme());
        const RegionGroup* group = source.empty() ? nullptr : scheme->GroupOf(source);
        key = group == nullptr ? "" : group->key;
        break;
      }
      case v1::DIMENSION_CATEGORY:
        key = rv1::ObserverCategory_Name(observer.category());
        break;
      case v1::DIMENSION_STATUS:
        key = rv1::ObserverStatus_Name(observer.status());
        break;
      case v1::DIMENSION_GENDER:
        key = rv1::Gender_Name(observer.gender());
        break;
      default:
        ADD_FAILURE() << "dimension " << dimension;
        continue;
    }
    auto& [count, sources] = groups[key];
    ++count;
    if (!source.empty()) sources.insert(source);  // A missing citizenship is no country.
  }
  std::map<std::string, std::string> expected;
  for (const auto& [key, group] : groups) {
    expected[key] = absl::StrCat(group.first, "/", has_sources ? group.second.size() : 0);
  }
  return expected;
}

// Checks a breakdown against the naive count, and its order, total and shares.
void ExpectBreakdownMatches(const v1::Breakdown& breakdown,
                            const std::vector<rv1::Observer>& records,
                            const v1::GetBreakdownRequest& request) {
  std::map<std::string, std::string> actual;
  int64_t total = 0;
  double shares = 0;
  for (int i = 0; i < breakdown.rows_size(); ++i) {
    const v1::BreakdownRow& row = breakdown.rows(i);
    EXPECT_TRUE(
        actual.emplace(row.key(), absl::StrCat(row.count(), "/", row.distinct_sources())).second)
        << "duplicate key " << row.key();
    EXPECT_GT(row.count(), 0) << row.key();
    total += row.count();
    shares += row.share();
    if (i > 0) {
      const v1::BreakdownRow& previous = breakdown.rows(i - 1);
      EXPECT_TRUE(previous.count() > row.count() ||
                  (previous.count() == row.count() && previous.key() < row.key()))
          << "rows out of order at " << i;
    }
  }
  EXPECT_EQ(actual, NaiveBreakdown(records, request));
  EXPECT_EQ(breakdown.total(), total);
  if (total > 0) {
    EXPECT_NEAR(shares, 1.0, 1e-9);
  }
}

std::vector<v1::Filter> PropertyFilters() {
  std::vector<v1::Filter> filters(5);
  filters[1].set_include_test(true);
  filters[2] = StatusFilter({rv1::OBSERVER_STATUS_SUBMITTED, rv1::OBSERVER_STATUS_SUSPENDED}, true);
  filters[3].add_categories(rv1::OBSERVER_CATEGORY_SHORT_TERM);
  filters[3].add_categories(rv1::OBSERVER_CATEGORY_LONG_TERM);
  filters[4] = StatusFilter({rv1::OBSERVER_STATUS_SUBMITTED, rv1::OBSERVER_STATUS_ACCREDITED,
                             rv1::OBSERVER_STATUS_REJECTED, rv1::OBSERVER_STATUS_SUSPENDED,
                             rv1::OBSERVER_STATUS_WITHDRAWN},
                            true);
  filters[4].add_categories(rv1::OBSERVER_CATEGORY_UNSPECIFIED);
  filters[4].add_categories(rv1::OBSERVER_CATEGORY_OTHER);
  filters[4].add_categories(rv1::OBSERVER_CATEGORY_CORE_TEAM);
  return filters;
}

std::vector<v1::GetBreakdownRequest> PropertyRequests(const std::string& election,
                                                      const v1::Filter& filter) {
  std::vector<v1::GetBreakdownRequest> requests;
  for (v1::Dimension dimension :
       {v1::DIMENSION_OBSERVER_TYPE, v1::DIMENSION_ORGANISATION, v1::DIMENSION_SENDING_STATE,
        v1::DIMENSION_CITIZENSHIP, v1::DIMENSION_CATEGORY, v1::DIMENSION_STATUS,
        v1::DIMENSION_GENDER}) {
    requests.push_back(By(dimension, filter));
  }
  requests.push_back(By(v1::DIMENSION_REGION, filter));
  for (const auto& [scheme, basis] : std::vector<std::pair<std::string, v1::RegionBasis>>{
           {"m49-continent", v1::REGION_BASIS_CITIZENSHIP},
           {"m49-subregion", v1::REGION_BASIS_SENDING_STATE},
           {"kz2021-article", v1::REGION_BASIS_CITIZENSHIP},
           {"kz2021-article", v1::REGION_BASIS_SENDING_STATE}}) {
    v1::GetBreakdownRequest request = ByRegion(scheme, basis);
    *request.mutable_filter() = filter;
    requests.push_back(request);
  }
  for (v1::GetBreakdownRequest& request : requests) request.set_election(election);
  return requests;
}

TEST(CountersPropertyTest, RandomHistoryEqualsRecountAndNaiveCount) {
  constexpr int kSeeds = 20;
  constexpr int kOperations = 500;
  for (int s = 0; s < kSeeds; ++s) {
    const uint32_t seed = 20210110u + static_cast<uint32_t>(s);
    SCOPED_TRACE(absl::StrCat("seed ", seed));
    RandomHistory history(seed);
    std::unique_ptr<Counters> incremental = UniverseCounters();
    for (int op = 1; op <= kOperations; ++op) {
      const rv1::ChangeEvent event = history.Next();
      const absl::Status status = incremental->Apply(event);
      ASSERT_TRUE(status.ok()) << "operation " << op << ": " << status << "\n"
                               << event.DebugString();
      if (op % 100 == 0) {
        ASSERT_EQ(incremental->Dump(), Recount(history.records())->Dump()) << "operation " << op;
      }
    }
    const std::unique_ptr<Counters> recount = Recount(history.records());
    ASSERT_EQ(incremental->Dump(), recount->Dump());
    EXPECT_EQ(incremental->CounterCount(), recount->CounterCount());
    EXPECT_EQ(incremental->CounterCount(), static_cast<int64_t>(recount->Dump().size()));

    for (const std::string& id : kUniverseElections) {
      const std::string election = ElectionName(id);
      std::vector<rv1::Observer> records;
      for (const auto& [name, observer] : history.records()) {
        if (name.rfind(election + "/", 0) == 0) records.push_back(observer);
      }
      for (const v1::Filter& filter : PropertyFilters()) {
        SCOPED_TRACE(absl::StrCat(election, " filter {", filter.ShortDebugString(), "}"));
        const absl::StatusOr<v1::Summary> summary =
            incremental->Summarize(SummaryRequest(filter, election));
        ASSERT_TRUE(summary.ok()) << summary.status();
        EXPECT_EQ(Figures(*summary), NaiveSummary(records, filter));
        for (const v1::GetBreakdownRequest& request : PropertyRequests(election, filter)) {
          SCOPED_TRACE(request.ShortDebugString());
          ASSERT_TRUE(Counters::ValidateBreakdownRequest(Regions(), request).ok());
          const absl::StatusOr<v1::Breakdown> breakdown = incremental->Break(request);
          ASSERT_TRUE(breakdown.ok()) << breakdown.status();
          ExpectBreakdownMatches(*breakdown, records, request);
        }
      }
    }
    if (::testing::Test::HasFailure()) {
      std::cerr << "CountersPropertyTest failed with seed " << seed << "\n";
      return;
    }
  }
}

// --- Scale ------------------------------------------------------------------------------------

TEST(CountersScaleTest, MemoryGrowsWithGroupsNotObservers) {
  constexpr int kObservers = 10000;
  const std::vector<std::string> elections = {"alpha-2021", "beta-2023", "gamma-2024"};
  const std::vector<std::string> countries = {"DE", "FR", "TR", "CA", "KG",
                                              "US", "JP", "EG", "PL", "IN"};
  std::mt19937 random(7);
  auto uniform = [&random](int high) {
    return std::uniform_int_distribution<int>(0, high - 1)(random);
  };
  auto counters = std::make_unique<Counters>(Regions());
  int64_t revision = 0;
  for (const std::string& election : elections) {
    ASSERT_TRUE(counters->Apply(ElectionEvent(++revision, election, true)).ok());
  }
  std::vector<rv1::Observer> first;
  int64_t accredited = 0;
  for (int i = 0; i < kObservers; ++i) {
    rv1::Observer observer;
    observer.set_name(ObserverName(elections[static_cast<size_t>(i % 3)], absl::StrCat("o", i)));
    if (uniform(2) == 0) {
      observer.mutable_sending_body()->set_organisation(
          OrganisationName(kUniverseOrganisations[static_cast<size_t>(uniform(4))]));
    } else {
      observer.mutable_sending_body()->set_state(countries[static_cast<size_t>(uniform(10))]);
    }
    observer.set_citizenship(countries[static_cast<size_t>(uniform(10))]);
    observer.set_status(uniform(10) == 0 ? rv1::OBSERVER_STATUS_SUBMITTED
                                         : rv1::OBSERVER_STATUS_ACCREDITED);
    if (observer.status() == rv1::OBSERVER_STATUS_ACCREDITED) ++accredited;
    observer.set_category(static_cast<rv1::ObserverCategory>(1 + uniform(3)));
    observer.set_gender(static_cast<rv1::Gender>(uniform(3)));
    ASSERT_TRUE(
        counters->Apply(ObserverEvent(++revision, rv1::CHANGE_TYPE_CREATED, nullptr, &observer))
            .ok());
    first.push_back(std::move(observer));
  }
  const int64_t groups = counters->CounterCount();
  // 3 elections × 6 cells × (6 totals + 4 organisations + 10 states + 10 citizenships) at most.
  EXPECT_LE(groups, 3 * 6 * 30);
  EXPECT_LT(groups, kObservers / 10);

  // As many observers again, in the same groups: not one counter more.
  for (int i = 0; i < kObservers; ++i) {
    rv1::Observer observer = first[static_cast<size_t>(i)];
    observer.set_name(absl::StrCat(observer.name(), "x"));
    ASSERT_TRUE(
        counters->Apply(ObserverEvent(++revision, rv1::CHANGE_TYPE_CREATED, nullptr, &observer))
            .ok());
  }
  EXPECT_EQ(counters->CounterCount(), groups);
  int64_t counted = 0;
  for (const std::string& election : elections) {
    const absl::StatusOr<v1::Summary> summary =
        counters->Summarize(SummaryRequest({}, ElectionName(election)));
    ASSERT_TRUE(summary.ok()) << summary.status();
    counted += summary->observers();
  }
  EXPECT_EQ(counted, 2 * accredited);
}

}  // namespace
}  // namespace observer::stats
