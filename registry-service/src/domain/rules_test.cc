#include "registry-service/src/domain/rules.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/country_codes.h"
#include "common/errors.h"
#include "common/proto_time.h"
#include "google/protobuf/util/message_differencer.h"

namespace observer::registry {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

absl::Time Utc(int year, int month, int day, int hour, int minute = 0) {
  return absl::FromCivil(absl::CivilSecond(year, month, day, hour, minute, 0), absl::UTCTimeZone());
}

std::vector<std::string> FieldsOf(const Violations& v) {
  std::vector<std::string> fields;
  for (const FieldViolation& fv : v.list()) fields.push_back(fv.field);
  return fields;
}

std::vector<std::string> FieldsOf(const absl::Status& status) {
  std::vector<std::string> fields;
  for (const FieldViolation& fv : GetErrorDetails(status).violations) fields.push_back(fv.field);
  return fields;
}

std::string Reason(const absl::Status& status) { return GetErrorDetails(status).reason; }

const CountryCodes& Countries() { return CountryCodes::Default(); }

// --- DefaultAccreditationDeadline -----------------------------------------------------------

absl::Time Deadline(const google::type::Date& voting_day, absl::string_view zone) {
  absl::StatusOr<absl::Time> deadline = DefaultAccreditationDeadline(voting_day, zone);
  EXPECT_TRUE(deadline.ok()) << deadline.status();
  return deadline.value_or(absl::InfinitePast());
}

TEST(ValidateTimestampTest, AcceptsTheProtobufRangeOnly) {
  google::protobuf::Timestamp ts;
  ts.set_seconds(253402300799);
  ts.set_nanos(999999999);
  EXPECT_TRUE(ValidateTimestamp(ts, "t").ok());
  ts.set_seconds(253402300800);
  EXPECT_THAT(FieldsOf(ValidateTimestamp(ts, "t")), ElementsAre("t"));
  ts.set_seconds(0);
  ts.set_nanos(-1);
  EXPECT_THAT(FieldsOf(ValidateTimestamp(ts, "decision_time")), ElementsAre("decision_time"));
}

TEST(DefaultAccreditationDeadlineTest, Kazakhstan2021UsesUtcPlus6) {
  // 10 Jan 2021 Majilis election: accreditation closed on 4 Jan at 18:00 Almaty time (UTC+6).
  EXPECT_EQ(Deadline(MakeDate(2021, 1, 10), "Asia/Almaty"), Utc(2021, 1, 4, 12));
}

TEST(DefaultAccreditationDeadlineTest, Kazakhstan2025UsesUtcPlus5) {
  // Kazakhstan moved to UTC+5 on 2024-03-01: the same rule closes an hour later in UTC.
  EXPECT_EQ(Deadline(MakeDate(2025, 1, 10), "Asia/Almaty"), Utc(2025, 1, 4, 13));
}

TEST(DefaultAccreditationDeadlineTest, Kazakhstan2019And2023) {
  // Presidential election 9 Jun 2019: closes 3 Jun 18:00 local = 12:00Z.
  EXPECT_EQ(Deadline(MakeDate(2019, 6, 9), "Asia/Almaty"), Utc(2019, 6, 3, 12));
  // Majilis 19 Mar 2023: closes 13 Mar 18:00 local = 12:00Z.
  EXPECT_EQ(Deadline(MakeDate(2023, 3, 19), "Asia/Almaty"), Utc(2023, 3, 13, 12));
}

TEST(DefaultAccreditationDeadlineTest, UsesTheOffsetOfTheClosingDayNotOfVotingDay) {
  // Asia/Almaty switched from UTC+6 to UTC+5 at the start of 2024-03-01.
  // Voting 6 Mar: closing day 29 Feb (leap day), still UTC+6.
  EXPECT_EQ(Deadline(MakeDate(2024, 3, 6), "Asia/Almaty"), Utc(2024, 2, 29, 12));
  // Voting 7 Mar: closing day 1 Mar, already UTC+5.
  EXPECT_EQ(Deadline(MakeDate(2024, 3, 7), "Asia/Almaty"), Utc(2024, 3, 1, 13));
}

TEST(DefaultAccreditationDeadlineTest, ParisAroundTheSpringDstSwitch) {
  // CET → CEST on 2024-03-31. Closing day 30 Mar is CET (UTC+1), 31 Mar is CEST (UTC+2).
  EXPECT_EQ(Deadline(MakeDate(2024, 4, 5), "Europe/Paris"), Utc(2024, 3, 30, 17));
  EXPECT_EQ(Deadline(MakeDate(2024, 4, 6), "Europe/Paris"), Utc(2024, 3, 31, 16));
}

TEST(DefaultAccreditationDeadlineTest, ParisAroundTheAutumnDstSwitch) {
  // CEST → CET on 2024-10-27.
  EXPECT_EQ(Deadline(MakeDate(2024, 11, 1), "Europe/Paris"), Utc(2024, 10, 26, 16));
  EXPECT_EQ(Deadline(MakeDate(2024, 11, 2), "Europe/Paris"), Utc(2024, 10, 27, 17));
}

TEST(DefaultAccreditationDeadlineTest, CountsCalendarDaysAcrossMonthAndYearEnds) {
  EXPECT_EQ(Deadline(MakeDate(2021, 3, 3), "UTC"), Utc(2021, 2, 25, 18));
  EXPECT_EQ(Deadline(MakeDate(2021, 1, 3), "UTC"), Utc(2020, 12, 28, 18));
  EXPECT_EQ(Deadline(MakeDate(2020, 3, 6), "UTC"), Utc(2020, 2, 29, 18));
}

TEST(DefaultAccreditationDeadlineTest, RejectsUnknownAndPathLikeZones) {
  for (const char* zone : {"", "Mars/Olympus", "Asia/Almaty ", "../etc/passwd",
                           "../../../../etc/passwd", "/etc/localtime", "Asia/../Europe/Paris",
                           "file:/etc/localtime", "Asia\\Almaty", "Asia/Almaty\n"}) {
    absl::StatusOr<absl::Time> deadline = DefaultAccreditationDeadline(MakeDate(2021, 1, 10), zone);
    EXPECT_EQ(deadline.status().code(), absl::StatusCode::kInvalidArgument) << '"' << zone << '"';
    EXPECT_THAT(FieldsOf(deadline.status()), ElementsAre("election.time_zone"))
        << '"' << zone << '"';
  }
}

// "localtime" is the host's own setting, not an IANA zone: the deadline must not depend on it.
TEST(DefaultAccreditationDeadlineTest, RejectsTheHostLocaltimeAlias) {
  absl::StatusOr<absl::Time> deadline =
      DefaultAccreditationDeadline(MakeDate(2021, 1, 10), "localtime");
  EXPECT_EQ(deadline.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(FieldsOf(deadline.status()), ElementsAre("election.time_zone"));
}

TEST(DefaultAccreditationDeadlineTest, RejectsDatesThatAreNotCalendarDates) {
  for (const google::type::Date& day :
       {MakeDate(2021, 2, 30), MakeDate(2021, 2, 29), MakeDate(2021, 13, 1), MakeDate(2021, 0, 10),
        MakeDate(2021, 4, 31), MakeDate(0, 1, 10), MakeDate(2021, 1, 0), google::type::Date()}) {
    absl::StatusOr<absl::Time> deadline = DefaultAccreditationDeadline(day, "Asia/Almaty");
    EXPECT_EQ(deadline.status().code(), absl::StatusCode::kInvalidArgument) << day.DebugString();
    EXPECT_THAT(FieldsOf(deadline.status()), ElementsAre("election.voting_day"))
        << day.DebugString();
  }
}

// --- ValidateElection -----------------------------------------------------------------------

v1::Election ValidElection() {
  v1::Election e;
  e.set_name("elections/kz-2021-majilis");
  e.set_display_name("Elections of deputies of the Majilis and maslikhats");
  e.set_kind(v1::ELECTION_KIND_COMBINED);
  e.set_host_country("KZ");
  *e.mutable_voting_day() = MakeDate(2021, 1, 10);
  e.set_time_zone("Asia/Almaty");
  return e;
}

TEST(ValidateElectionTest, ValidElectionHasNoViolationsAndGetsDefaults) {
  v1::Election e = ValidElection();
  Violations v;
  ValidateElection(Countries(), e, v);
  EXPECT_THAT(FieldsOf(v), IsEmpty());
  EXPECT_EQ(e.state(), v1::ELECTION_STATE_SCHEDULED);
  ASSERT_TRUE(e.has_accreditation_deadline());
  EXPECT_EQ(FromProto(e.accreditation_deadline()), Utc(2021, 1, 4, 12));
}

TEST(ValidateElectionTest, KeepsAnExplicitDeadlineAndState) {
  v1::Election e = ValidElection();
  *e.mutable_accreditation_deadline() = ToProto(Utc(2021, 1, 5, 6));
  e.set_state(v1::ELECTION_STATE_HELD);
  Violations v;
  ValidateElection(Countries(), e, v);
  EXPECT_THAT(FieldsOf(v), IsEmpty());
  EXPECT_EQ(FromProto(e.accreditation_deadline()), Utc(2021, 1, 5, 6));
  EXPECT_EQ(e.state(), v1::ELECTION_STATE_HELD);
}

TEST(ValidateElectionTest, AcceptsOpeningBeforeTheDeadline) {
  v1::Election e = ValidElection();
  *e.mutable_accreditation_opens_time() = ToProto(Utc(2020, 11, 1, 0));
  Violations v;
  ValidateElection(Countries(), e, v);
  EXPECT_THAT(FieldsOf(v), IsEmpty());
}

struct ElectionCase {
  const char* what;
  std::function<void(v1::Election&)> mutate;
  const char* field;
};

TEST(ValidateElectionTest, EachBadFieldIsNamedExactly) {
  const std::string long_name(201, 'x');
  const std::vector<ElectionCase> cases = {
      {"no display name", [](v1::Election& e) { e.clear_display_name(); }, "election.display_name"},
      {"blank display name", [](v1::Election& e) { e.set_display_name(" \t "); },
       "election.display_name"},
      {"long display name", [&](v1::Election& e) { e.set_display_name(long_name); },
       "election.display_name"},
      {"no kind", [](v1::Election& e) { e.clear_kind(); }, "election.kind"},
      {"unknown kind", [](v1::Election& e) { e.set_kind(static_cast<v1::ElectionKind>(99)); },
       "election.kind"},
      {"no host", [](v1::Election& e) { e.clear_host_country(); }, "election.host_country"},
      {"host XX", [](v1::Election& e) { e.set_host_country("XX"); }, "election.host_country"},
      {"host kz", [](v1::Election& e) { e.set_host_country("kz"); }, "election.host_country"},
      {"host KAZ", [](v1::Election& e) { e.set_host_country("KAZ"); }, "election.host_country"},
      {"no voting day", [](v1::Election& e) { e.clear_voting_day(); }, "election.voting_day"},
      {"voting day 30 Feb",
       [](v1::Election& e) { *e.mutable_voting_day() = MakeDate(2021, 2, 30); },
       "election.voting_day"},
      {"voting day without day",
       [](v1::Election& e) { *e.mutable_voting_day() = MakeDate(2021, 1, 0); },
       "election.voting_day"},
      {"no zone", [](v1::Election& e) { e.clear_time_zone(); }, "election.time_zone"},
      {"unknown zone", [](v1::Election& e) { e.set_time_zone("Mars/Olympus"); },
       "election.time_zone"},
      {"path zone", [](v1::Election& e) { e.set_time_zone("../etc/passwd"); },
       "election.time_zone"},
      {"unknown state", [](v1::Election& e) { e.set_state(static_cast<v1::ElectionState>(42)); },
       "election.state"},
      {"opens after deadline",
       [](v1::Election& e) { *e.mutable_accreditation_opens_time() = ToProto(Utc(2021, 1, 5, 0)); },
       "election.accreditation_opens_time"},
      {"opens at deadline",
       [](v1::Election& e) {
         *e.mutable_accreditation_opens_time() = ToProto(Utc(2021, 1, 4, 12));
       },
       "election.accreditation_opens_time"},
  };
  for (const ElectionCase& c : cases) {
    SCOPED_TRACE(c.what);
    v1::Election e = ValidElection();
    c.mutate(e);
    Violations v;
    ValidateElection(Countries(), e, v);
    EXPECT_THAT(FieldsOf(v), ElementsAre(c.field));
    EXPECT_EQ(v.ToStatus().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(Reason(v.ToStatus()), reason::kValidationFailed);
  }
}

TEST(ValidateElectionTest, NoDefaultDeadlineWithoutAValidDayAndZone) {
  v1::Election e = ValidElection();
  e.set_time_zone("Mars/Olympus");
  Violations v;
  ValidateElection(Countries(), e, v);
  EXPECT_FALSE(e.has_accreditation_deadline());
}

// --- ValidateOrganisation -------------------------------------------------------------------

v1::Organisation ValidOrganisation() {
  v1::Organisation o;
  o.set_name("organisations/OTS");
  o.mutable_names()->set_en("Organization of Turkic States");
  o.mutable_names()->set_ru("Организация тюркских государств");
  o.mutable_names()->set_kk("Түркі мемлекеттері ұйымы");
  v1::OrganisationAlias* alias = o.add_aliases();
  alias->mutable_names()->set_en("Cooperation Council of Turkic-speaking States");
  *alias->mutable_valid_from() = MakeDate(2009, 10, 3);
  *alias->mutable_valid_until() = MakeDate(2021, 11, 12);
  o.set_parent("organisations/TURKIC");
  return o;
}

TEST(ValidateOrganisationTest, ValidOrganisationHasNoViolations) {
  v1::Organisation o = ValidOrganisation();
  Violations v;
  ValidateOrganisation(o, v);
  EXPECT_THAT(FieldsOf(v), IsEmpty());
}

TEST(ValidateOrganisationTest, AliasesAreBoundedInNumberAndLength) {
  v1::Organisation o = ValidOrganisation();
  o.clear_aliases();
  for (int i = 0; i < 32; ++i) o.add_aliases()->mutable_names()->set_en("Former name");
  Violations ok;
  ValidateOrganisation(o, ok);
  EXPECT_THAT(FieldsOf(ok), IsEmpty());
  o.add_aliases()->mutable_names()->set_en("One too many");
  o.mutable_aliases(0)->mutable_names()->set_ru(std::string(201, 'x'));
  Violations v;
  ValidateOrganisation(o, v);
  EXPECT_THAT(FieldsOf(v), ElementsAre("organisation.aliases", "organisation.aliases[0].names.ru"));
}

TEST(ValidateOrganisationTest, AliasWithOneNameAndNoDatesIsValid) {
  v1::Organisation o = ValidOrganisation();
  v1::OrganisationAlias* alias = o.add_aliases();
  alias->mutable_names()->set_kk("ТМҰ");
  Violations v;
  ValidateOrganisation(o, v);
  EXPECT_THAT(FieldsOf(v), IsEmpty());
}

struct OrganisationCase {
  const char* what;
  std::function<void(v1::Organisation&)> mutate;
  const char* field;
};

TEST(ValidateOrganisationTest, EachBadFieldIsNamedExactly) {
  const std::string long_name(201, 'x');
  const std::vector<OrganisationCase> cases = {
      {"no English name", [](v1::Organisation& o) { o.mutable_names()->clear_en(); },
       "organisation.names.en"},
      {"blank English name", [](v1::Organisation& o) { o.mutable_names()->set_en("  "); },
       "organisation.names.en"},
      {"long English name", [&](v1::Organisation& o) { o.mutable_names()->set_en(long_name); },
       "organisation.names.en"},
      {"long Russian name", [&](v1::Organisation& o) { o.mutable_names()->set_ru(long_name); },
       "organisation.names.ru"},
      {"long Kazakh name", [&](v1::Organisation& o) { o.mutable_names()->set_kk(long_name); },
       "organisation.names.kk"},
      {"alias without names", [](v1::Organisation& o) { o.add_aliases(); },
       "organisation.aliases[1].names"},
      {"alias bad from",
       [](v1::Organisation& o) {
         *o.mutable_aliases(0)->mutable_valid_from() = MakeDate(2009, 2, 30);
       },
       "organisation.aliases[0].valid_from"},
      {"alias bad until",
       [](v1::Organisation& o) {
         *o.mutable_aliases(0)->mutable_valid_until() = MakeDate(2021, 13, 1);
       },
       "organisation.aliases[0].valid_until"},
      {"alias ends before it starts",
       [](v1::Organisation& o) {
         *o.mutable_aliases(0)->mutable_valid_until() = MakeDate(2009, 10, 2);
       },
       "organisation.aliases[0].valid_until"},
      {"parent not a name", [](v1::Organisation& o) { o.set_parent("TURKIC"); },
       "organisation.parent"},
      {"parent lower case", [](v1::Organisation& o) { o.set_parent("organisations/turkic"); },
       "organisation.parent"},
      {"parent is itself", [](v1::Organisation& o) { o.set_parent("organisations/OTS"); },
       "organisation.parent"},
  };
  for (const OrganisationCase& c : cases) {
    SCOPED_TRACE(c.what);
    v1::Organisation o = ValidOrganisation();
    c.mutate(o);
    Violations v;
    ValidateOrganisation(o, v);
    EXPECT_THAT(FieldsOf(v), ElementsAre(c.field));
  }
}

// --- ValidateObserver -----------------------------------------------------------------------

v1::Observer ValidObserver() {
  v1::Observer o;
  o.set_given_names("Иван Петрович");
  o.set_family_name("Иванов");
  o.set_latin_given_names("IVAN PETROVICH");
  o.set_latin_family_name("IVANOV");
  o.set_citizenship("RU");
  o.set_gender(v1::GENDER_MALE);
  *o.mutable_birth_date() = MakeDate(1970, 5, 1);
  o.mutable_id_document()->set_type(v1::ID_DOCUMENT_TYPE_PASSPORT);
  o.mutable_id_document()->set_number("75 1234-567");
  o.mutable_id_document()->set_issuing_country("RU");
  o.mutable_contact()->set_email("ivanov@example.org");
  o.mutable_contact()->set_phone("+7 495 000-00-00");
  o.mutable_sending_body()->set_organisation("organisations/CIS-EC");
  o.set_category(v1::OBSERVER_CATEGORY_SHORT_TERM);
  o.set_submission_reference("Note 12/345");
  o.add_tags("batch-3");
  return o;
}

TEST(ValidateObserverTest, ValidObserverHasNoViolations) {
  v1::Observer o = ValidObserver();
  Violations v;
  ValidateObserver(Countries(), o, v);
  EXPECT_THAT(FieldsOf(v), IsEmpty());
}

TEST(ValidateObserverTest, ReceivedTimeMustBeAValidInstant) {
  for (auto [seconds, nanos] : {std::pair<int64_t, int32_t>{1609761600, -1},
                                {1609761600, 1000000000},
                                {int64_t{1} << 50, 0},
                                {-62135596801, 0}}) {
    v1::Observer o = ValidObserver();
    o.mutable_received_time()->set_seconds(seconds);
    o.mutable_received_time()->set_nanos(nanos);
    Violations v;
    ValidateObserver(Countries(), o, v);
    EXPECT_THAT(FieldsOf(v), ElementsAre("observer.received_time")) << seconds << "/" << nanos;
  }
  v1::Observer o = ValidObserver();
  o.mutable_received_time()->set_seconds(1609761600);
  o.mutable_received_time()->set_nanos(999999999);
  Violations v;
  ValidateObserver(Countries(), o, v);
  EXPECT_THAT(FieldsOf(v), IsEmpty());
}

TEST(ValidateObserverTest, PersonalDataIsNotEchoedInViolations) {
  v1::Observer o = ValidObserver();
  *o.mutable_birth_date() = MakeDate(1985, 2, 30);
  o.mutable_id_document()->set_issuing_country("QQ");
  Violations v;
  ValidateObserver(Countries(), o, v);
  ASSERT_THAT(FieldsOf(v),
              ElementsAre("observer.birth_date", "observer.id_document.issuing_country"));
  for (const FieldViolation& fv : v.list()) {
    EXPECT_EQ(fv.description.find("1985"), std::string::npos) << fv.description;
    EXPECT_EQ(fv.description.find("QQ"), std::string::npos) << fv.description;
  }
}

TEST(ValidateObserverTest, OptionalFieldsMayBeAbsent) {
  v1::Observer o = ValidObserver();
  o.clear_gender();
  o.clear_birth_date();
  o.clear_contact();
  o.clear_submission_reference();
  o.clear_tags();
  o.mutable_sending_body()->set_state("DE");
  Violations v;
  ValidateObserver(Countries(), o, v);
  EXPECT_THAT(FieldsOf(v), IsEmpty());
}

TEST(ValidateObserverTest, LatinNamesAllowTheirPunctuation) {
  v1::Observer o = ValidObserver();
  o.set_latin_given_names("Jean-Pierre J.");
  o.set_latin_family_name("O'Neill");
  Violations v;
  ValidateObserver(Countries(), o, v);
  EXPECT_THAT(FieldsOf(v), IsEmpty());
}

struct ObserverCase {
  const char* what;
  std::function<void(v1::Observer&)> mutate;
  const char* field;
};

TEST(ValidateObserverTest, EachBadFieldIsNamedExactly) {
  const std::string long_name(201, 'A');
  const std::string long_tag(64, 't');
  const std::vector<ObserverCase> cases = {
      {"no given names", [](v1::Observer& o) { o.clear_given_names(); }, "observer.given_names"},
      {"blank given names", [](v1::Observer& o) { o.set_given_names("  "); },
       "observer.given_names"},
      {"long given names", [&](v1::Observer& o) { o.set_given_names(long_name); },
       "observer.given_names"},
      {"no family name", [](v1::Observer& o) { o.clear_family_name(); }, "observer.family_name"},
      {"long family name", [&](v1::Observer& o) { o.set_family_name(long_name); },
       "observer.family_name"},
      {"no Latin given names", [](v1::Observer& o) { o.clear_latin_given_names(); },
       "observer.latin_given_names"},
      {"Cyrillic Latin given names", [](v1::Observer& o) { o.set_latin_given_names("Иван"); },
       "observer.latin_given_names"},
      {"digits in Latin given names", [](v1::Observer& o) { o.set_latin_given_names("IVAN2"); },
       "observer.latin_given_names"},
      {"no Latin family name", [](v1::Observer& o) { o.clear_latin_family_name(); },
       "observer.latin_family_name"},
      {"Cyrillic Latin family name", [](v1::Observer& o) { o.set_latin_family_name("Иванов"); },
       "observer.latin_family_name"},
      {"no citizenship", [](v1::Observer& o) { o.clear_citizenship(); }, "observer.citizenship"},
      {"citizenship XX", [](v1::Observer& o) { o.set_citizenship("XX"); }, "observer.citizenship"},
      {"citizenship kz", [](v1::Observer& o) { o.set_citizenship("kz"); }, "observer.citizenship"},
      {"citizenship RUS", [](v1::Observer& o) { o.set_citizenship("RUS"); },
       "observer.citizenship"},
      {"unknown gender", [](v1::Observer& o) { o.set_gender(static_cast<v1::Gender>(17)); },
       "observer.gender"},
      {"birth 30 Feb", [](v1::Observer& o) { *o.mutable_birth_date() = MakeDate(1970, 2, 30); },
       "observer.birth_date"},
      {"birth 1850", [](v1::Observer& o) { *o.mutable_birth_date() = MakeDate(1850, 1, 1); },
       "observer.birth_date"},
      {"birth in the future",
       [](v1::Observer& o) { *o.mutable_birth_date() = MakeDate(2999, 1, 1); },
       "observer.birth_date"},
      {"no document", [](v1::Observer& o) { o.clear_id_document(); }, "observer.id_document"},
      {"no document type", [](v1::Observer& o) { o.mutable_id_document()->clear_type(); },
       "observer.id_document.type"},
      {"unknown document type",
       [](v1::Observer& o) {
         o.mutable_id_document()->set_type(static_cast<v1::IdDocumentType>(77));
       },
       "observer.id_document.type"},
      {"no document number", [](v1::Observer& o) { o.mutable_id_document()->clear_number(); },
       "observer.id_document.number"},
      {"only separators", [](v1::Observer& o) { o.mutable_id_document()->set_number(" - -"); },
       "observer.id_document.number"},
      {"punctuation in number",
       [](v1::Observer& o) { o.mutable_id_document()->set_number("AB#1234"); },
       "observer.id_document.number"},
      {"33 characters",
       [](v1::Observer& o) { o.mutable_id_document()->set_number(std::string(33, '7')); },
       "observer.id_document.number"},
      {"no issuing country",
       [](v1::Observer& o) { o.mutable_id_document()->clear_issuing_country(); },
       "observer.id_document.issuing_country"},
      {"issuing country ru",
       [](v1::Observer& o) { o.mutable_id_document()->set_issuing_country("ru"); },
       "observer.id_document.issuing_country"},
      {"e-mail without @",
       [](v1::Observer& o) { o.mutable_contact()->set_email("ivanov.example.org"); },
       "observer.contact.email"},
      {"long phone", [](v1::Observer& o) { o.mutable_contact()->set_phone(std::string(33, '1')); },
       "observer.contact.phone"},
      {"no sending body", [](v1::Observer& o) { o.clear_sending_body(); }, "observer.sending_body"},
      {"organisation not a name",
       [](v1::Observer& o) { o.mutable_sending_body()->set_organisation("CIS-EC"); },
       "observer.sending_body.organisation"},
      {"organisation lower case",
       [](v1::Observer& o) { o.mutable_sending_body()->set_organisation("organisations/cis"); },
       "observer.sending_body.organisation"},
      {"sending state XX", [](v1::Observer& o) { o.mutable_sending_body()->set_state("XX"); },
       "observer.sending_body.state"},
      {"sending state de", [](v1::Observer& o) { o.mutable_sending_body()->set_state("de"); },
       "observer.sending_body.state"},
      {"sending state empty", [](v1::Observer& o) { o.mutable_sending_body()->set_state(""); },
       "observer.sending_body.state"},
      {"no category", [](v1::Observer& o) { o.clear_category(); }, "observer.category"},
      {"unknown category",
       [](v1::Observer& o) { o.set_category(static_cast<v1::ObserverCategory>(99)); },
       "observer.category"},
      {"long submission reference",
       [](v1::Observer& o) { o.set_submission_reference(std::string(201, 'r')); },
       "observer.submission_reference"},
      {"tag with space", [](v1::Observer& o) { o.add_tags("batch 4"); }, "observer.tags[1]"},
      {"empty tag", [](v1::Observer& o) { o.add_tags(""); }, "observer.tags[1]"},
      {"64-character tag", [&](v1::Observer& o) { o.add_tags(long_tag); }, "observer.tags[1]"},
      {"33 tags",
       [](v1::Observer& o) {
         o.clear_tags();
         for (int i = 0; i < 33; ++i) o.add_tags("t" + std::to_string(i));
       },
       "observer.tags"},
  };
  for (const ObserverCase& c : cases) {
    SCOPED_TRACE(c.what);
    v1::Observer o = ValidObserver();
    c.mutate(o);
    Violations v;
    ValidateObserver(Countries(), o, v);
    EXPECT_THAT(FieldsOf(v), ElementsAre(c.field));
  }
}

TEST(ValidateObserverTest, ReportsEveryBadFieldAtOnce) {
  v1::Observer o = ValidObserver();
  o.set_citizenship("XX");
  o.clear_category();
  o.clear_given_names();
  Violations v;
  ValidateObserver(Countries(), o, v);
  EXPECT_THAT(FieldsOf(v),
              ::testing::UnorderedElementsAre("observer.category", "observer.citizenship",
                                              "observer.given_names"));
}

TEST(ValidateObserverTest, ThirtyTwoTagsAreAllowed) {
  v1::Observer o = ValidObserver();
  o.clear_tags();
  for (int i = 0; i < 32; ++i) o.add_tags("t" + std::to_string(i));
  Violations v;
  ValidateObserver(Countries(), o, v);
  EXPECT_THAT(FieldsOf(v), IsEmpty());
  EXPECT_EQ(o.tags_size(), 32);
}

TEST(ValidateObserverTest, DeduplicatesTags) {
  v1::Observer o = ValidObserver();
  o.clear_tags();
  for (const char* tag : {"batch-3", "osce.core", "batch-3", "a_b", "osce.core", "batch-3"}) {
    o.add_tags(tag);
  }
  Violations v;
  ValidateObserver(Countries(), o, v);
  EXPECT_THAT(FieldsOf(v), IsEmpty());
  EXPECT_THAT(std::vector<std::string>(o.tags().begin(), o.tags().end()),
              ::testing::UnorderedElementsAre("batch-3", "osce.core", "a_b"));
}

// --- Lifecycle ------------------------------------------------------------------------------

TEST(NextStatusTest, FullLifecycleTable) {
  using S = v1::ObserverStatus;
  const std::vector<S> statuses = {v1::OBSERVER_STATUS_UNSPECIFIED, v1::OBSERVER_STATUS_SUBMITTED,
                                   v1::OBSERVER_STATUS_ACCREDITED,  v1::OBSERVER_STATUS_REJECTED,
                                   v1::OBSERVER_STATUS_SUSPENDED,   v1::OBSERVER_STATUS_WITHDRAWN};
  const std::vector<Transition> transitions = {Transition::kAccredit, Transition::kReject,
                                               Transition::kSuspend, Transition::kReinstate,
                                               Transition::kWithdraw};
  const std::map<std::pair<S, Transition>, S> allowed = {
      {{v1::OBSERVER_STATUS_SUBMITTED, Transition::kAccredit}, v1::OBSERVER_STATUS_ACCREDITED},
      {{v1::OBSERVER_STATUS_SUBMITTED, Transition::kReject}, v1::OBSERVER_STATUS_REJECTED},
      {{v1::OBSERVER_STATUS_ACCREDITED, Transition::kSuspend}, v1::OBSERVER_STATUS_SUSPENDED},
      {{v1::OBSERVER_STATUS_SUSPENDED, Transition::kReinstate}, v1::OBSERVER_STATUS_ACCREDITED},
      {{v1::OBSERVER_STATUS_ACCREDITED, Transition::kWithdraw}, v1::OBSERVER_STATUS_WITHDRAWN},
      {{v1::OBSERVER_STATUS_SUSPENDED, Transition::kWithdraw}, v1::OBSERVER_STATUS_WITHDRAWN},
  };
  int allowed_seen = 0;
  for (S from : statuses) {
    for (Transition t : transitions) {
      SCOPED_TRACE(absl::StrCat(v1::ObserverStatus_Name(from), " ", TransitionName(t)));
      const std::optional<S> next = NextStatus(from, t);
      auto it = allowed.find({from, t});
      if (it == allowed.end()) {
        EXPECT_FALSE(next.has_value()) << v1::ObserverStatus_Name(*next);
      } else {
        ++allowed_seen;
        ASSERT_TRUE(next.has_value());
        EXPECT_EQ(*next, it->second);
      }
    }
  }
  EXPECT_EQ(allowed_seen, 6);
}

TEST(NextStatusTest, UnknownStatusAllowsNothing) {
  for (Transition t : {Transition::kAccredit, Transition::kReject, Transition::kSuspend,
                       Transition::kReinstate, Transition::kWithdraw}) {
    EXPECT_FALSE(NextStatus(static_cast<v1::ObserverStatus>(42), t).has_value());
  }
}

TEST(TransitionNameTest, NamesEveryTransitionDistinctly) {
  std::set<std::string> names;
  for (Transition t : {Transition::kAccredit, Transition::kReject, Transition::kSuspend,
                       Transition::kReinstate, Transition::kWithdraw}) {
    names.insert(std::string(TransitionName(t)));
  }
  EXPECT_THAT(names, ElementsAre("accredit", "reinstate", "reject", "suspend", "withdraw"));
}

// --- Documents and personal data ------------------------------------------------------------

v1::IdDocument Document(v1::IdDocumentType type, const std::string& number,
                        const std::string& country) {
  v1::IdDocument d;
  d.set_type(type);
  d.set_number(number);
  d.set_issuing_country(country);
  return d;
}

TEST(DocumentKeyTest, IgnoresSpacesDashesAndCase) {
  const std::string key = DocumentKey(Document(v1::ID_DOCUMENT_TYPE_PASSPORT, "N12345AB", "DE"));
  for (const char* number :
       {"N12345AB", "n12345ab", "N 12345 AB", "N-12345-AB", " n-123 45ab ", "N--12345  AB"}) {
    EXPECT_EQ(DocumentKey(Document(v1::ID_DOCUMENT_TYPE_PASSPORT, number, "DE")), key) << number;
  }
}

TEST(DocumentKeyTest, TypeCountryAndNumberMatter) {
  const std::string key = DocumentKey(Document(v1::ID_DOCUMENT_TYPE_PASSPORT, "N12345AB", "DE"));
  EXPECT_NE(DocumentKey(Document(v1::ID_DOCUMENT_TYPE_DIPLOMATIC_PASSPORT, "N12345AB", "DE")), key);
  EXPECT_NE(DocumentKey(Document(v1::ID_DOCUMENT_TYPE_PASSPORT, "N12345AB", "AT")), key);
  EXPECT_NE(DocumentKey(Document(v1::ID_DOCUMENT_TYPE_PASSPORT, "N12345AC", "DE")), key);
  EXPECT_NE(DocumentKey(Document(v1::ID_DOCUMENT_TYPE_PASSPORT, "N12345A", "DE")), key);
  // Field boundaries cannot be shifted: the country and the number stay apart.
  EXPECT_NE(DocumentKey(Document(v1::ID_DOCUMENT_TYPE_PASSPORT, "E1", "D")),
            DocumentKey(Document(v1::ID_DOCUMENT_TYPE_PASSPORT, "1", "DE")));
}

TEST(StripPersonalDataTest, RemovesExactlyDocumentBirthDateAndContact) {
  v1::Observer o = ValidObserver();
  o.set_name("elections/kz-2021/observers/00ff");
  o.set_status(v1::OBSERVER_STATUS_ACCREDITED);
  o.set_badge_number("0007");
  v1::Observer expected = o;
  expected.clear_id_document();
  expected.clear_birth_date();
  expected.clear_contact();
  StripPersonalData(o);
  EXPECT_FALSE(o.has_id_document());
  EXPECT_FALSE(o.has_birth_date());
  EXPECT_FALSE(o.has_contact());
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(o, expected)) << o.DebugString();
  EXPECT_EQ(o.given_names(), "Иван Петрович");
  EXPECT_EQ(o.citizenship(), "RU");
}

// --- Resource names -------------------------------------------------------------------------

TEST(ResourceNameTest, ParsesElectionNames) {
  absl::StatusOr<std::string> id = ParseElectionName("elections/kz-2021-majilis", "parent");
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(*id, "kz-2021-majilis");
  EXPECT_EQ(ElectionName(*id), "elections/kz-2021-majilis");
  EXPECT_TRUE(ParseElectionName("elections/a", "parent").ok());
  EXPECT_TRUE(ParseElectionName("elections/" + std::string(63, 'a'), "parent").ok());
}

TEST(ResourceNameTest, RejectsBadElectionNamesNamingTheField) {
  for (const std::string& name :
       {std::string(""), std::string("elections/"), std::string("kz-2021"),
        std::string("election/kz-2021"), std::string("elections/KZ-2021"),
        std::string("elections/kz_2021"), std::string("elections/2021-kz"),
        std::string("elections/-kz"), std::string("elections/kz-"),
        std::string("elections/kz/observers"), std::string("/elections/kz"),
        std::string("elections/") + std::string(64, 'a')}) {
    absl::StatusOr<std::string> id = ParseElectionName(name, "parent");
    EXPECT_EQ(id.status().code(), absl::StatusCode::kInvalidArgument) << name;
    EXPECT_THAT(FieldsOf(id.status()), ElementsAre("parent")) << name;
  }
}

TEST(ResourceNameTest, ParsesOrganisationNames) {
  absl::StatusOr<std::string> code = ParseOrganisationName("organisations/OSCE-ODIHR", "name");
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, "OSCE-ODIHR");
  EXPECT_EQ(OrganisationName(*code), "organisations/OSCE-ODIHR");
  EXPECT_TRUE(ParseOrganisationName("organisations/" + std::string(32, 'A'), "name").ok());
  for (const std::string& name :
       {std::string("organisations/"), std::string("OSCE"), std::string("organisations/osce"),
        std::string("organisations/1OSCE"), std::string("organisations/OSCE-"),
        std::string("organisations/OSCE ODIHR"), std::string("organisations/OSCE/ODIHR"),
        std::string("organisations/") + std::string(33, 'A')}) {
    absl::StatusOr<std::string> parsed = ParseOrganisationName(name, "organisation.parent");
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << name;
    EXPECT_THAT(FieldsOf(parsed.status()), ElementsAre("organisation.parent")) << name;
  }
}

TEST(ResourceNameTest, ParsesObserverNames) {
  auto ids = ParseObserverName("elections/kz-2021/observers/0123456789abcdef", "name");
  ASSERT_TRUE(ids.ok()) << ids.status();
  EXPECT_EQ(ids->first, "kz-2021");
  EXPECT_EQ(ids->second, "0123456789abcdef");
  EXPECT_EQ(ObserverName(ids->first, ids->second), "elections/kz-2021/observers/0123456789abcdef");
  for (const std::string& name :
       {std::string("elections/kz-2021/observers/"), std::string("elections/kz-2021/observers"),
        std::string("elections/kz-2021/observer/abc"), std::string("elections/KZ/observers/abc"),
        std::string("elections/kz-2021/observers/ABC"),
        std::string("elections/kz-2021/observers/a-b"),
        std::string("elections/kz-2021/observers/abc/x"), std::string("observers/abc"),
        std::string("elections/kz-2021/observers/") + std::string(65, 'a')}) {
    auto parsed = ParseObserverName(name, "observer.name");
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << name;
    EXPECT_THAT(FieldsOf(parsed.status()), ElementsAre("observer.name")) << name;
  }
}

TEST(ResourceNameTest, IdAndCodeRules) {
  EXPECT_TRUE(IsValidElectionId("kz-2021-majilis"));
  EXPECT_FALSE(IsValidElectionId(""));
  EXPECT_FALSE(IsValidElectionId("Kz"));
  EXPECT_FALSE(IsValidElectionId("kz 2021"));
  EXPECT_TRUE(IsValidOrganisationCode("OSCE-ODIHR"));
  EXPECT_TRUE(IsValidOrganisationCode("CIS2"));
  EXPECT_FALSE(IsValidOrganisationCode(""));
  EXPECT_FALSE(IsValidOrganisationCode("Osce"));
  EXPECT_FALSE(IsValidOrganisationCode("OSCE_ODIHR"));
}

TEST(EtagTest, DiffersPerRevision) {
  EXPECT_NE(EtagFor(1), EtagFor(2));
  EXPECT_NE(EtagFor(12), EtagFor(112));
  EXPECT_EQ(EtagFor(7), EtagFor(7));
  EXPECT_FALSE(EtagFor(0).empty());
}

}  // namespace
}  // namespace observer::registry
