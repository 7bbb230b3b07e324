#include "tools/observerctl/observer_columns.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/proto_time.h"
#include "google/protobuf/util/message_differencer.h"

namespace observer::ctl {
namespace {

namespace v1 = ::observer::registry::v1;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

google::protobuf::Timestamp Ts(int64_t seconds, int32_t nanos = 0) {
  google::protobuf::Timestamp ts;
  ts.set_seconds(seconds);
  ts.set_nanos(nanos);
  return ts;
}

// Every field set, sent by an organisation.
v1::Observer FullObserver() {
  v1::Observer o;
  o.set_name("elections/kz-2021/observers/0001");
  o.set_given_names("Әлия");
  o.set_family_name("Нұрланқызы");
  o.set_latin_given_names("ALIYA");
  o.set_latin_family_name("NURLANKYZY");
  o.set_citizenship("DE");
  o.set_gender(v1::GENDER_FEMALE);
  *o.mutable_birth_date() = MakeDate(1985, 3, 7);
  o.mutable_id_document()->set_type(v1::ID_DOCUMENT_TYPE_DIPLOMATIC_PASSPORT);
  o.mutable_id_document()->set_number("N1234567");
  o.mutable_id_document()->set_issuing_country("DE");
  o.mutable_contact()->set_email("aliya@example.org");
  o.mutable_contact()->set_phone("+49 30 1234567");
  o.mutable_sending_body()->set_organisation("organisations/OSCE-ODIHR");
  o.set_category(v1::OBSERVER_CATEGORY_HEAD_OF_DELEGATION);
  o.set_status(v1::OBSERVER_STATUS_SUSPENDED);
  o.set_badge_number("B-0042");
  o.set_submission_reference("Note 12/345, \"urgent\"");
  o.set_decision_reference("Resolution 7");
  o.set_status_reason("under review\nsecond line");
  *o.mutable_received_time() = Ts(1609459200 + 3600, 500000000);  // 2021-01-01T01:00:00.5Z
  *o.mutable_decision_time() = Ts(1609761600);                    // 2021-01-04T12:00:00Z
  o.add_tags("eu");
  o.add_tags("team-a");
  o.set_test(true);
  *o.mutable_create_time() = Ts(1609459200);
  *o.mutable_update_time() = Ts(1609761601);
  o.set_etag("W/\"7\"");
  o.set_revision(42);
  o.set_update_actor("operator@cec.kz");
  return o;
}

const ObserverColumn& Column(absl::string_view name) {
  const ObserverColumn* c = FindObserverColumn(name);
  if (c == nullptr) {
    ADD_FAILURE() << "no column " << name;
    return ObserverColumns().front();
  }
  return *c;
}

std::string Get(absl::string_view column, const v1::Observer& o) { return Column(column).get(o); }

// Sets `column` to `text` on `o`, expecting success.
void MustSet(absl::string_view column, v1::Observer& o, absl::string_view text) {
  const absl::Status s = Column(column).set(o, text);
  EXPECT_TRUE(s.ok()) << column << " = '" << text << "': " << s;
}

// The message of a set that must fail with INVALID_ARGUMENT.
std::string SetError(absl::string_view column, v1::Observer& o, absl::string_view text) {
  const absl::Status s = Column(column).set(o, text);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << column << " = '" << text << "'";
  return std::string(s.message());
}

TEST(ObserverColumnsTest, ColumnsInExportOrder) {
  std::vector<std::string> names;
  for (const ObserverColumn& c : ObserverColumns()) names.emplace_back(c.name);
  EXPECT_THAT(names, ElementsAre("name", "given_names", "family_name", "latin_given_names",
                                 "latin_family_name", "citizenship", "gender", "birth_date",
                                 "id_type", "id_number", "id_country", "email", "phone",
                                 "organisation", "state", "category", "submission_reference",
                                 "received_time", "tags", "test", "status", "badge_number",
                                 "decision_time", "decision_reference", "status_reason",
                                 "create_time", "update_time", "revision", "etag", "update_actor"));
}

TEST(ObserverColumnsTest, PiiFlagsExactlyThePersonalData) {
  std::vector<std::string> pii;
  for (const ObserverColumn& c : ObserverColumns()) {
    if (c.pii) pii.emplace_back(c.name);
  }
  EXPECT_THAT(pii, UnorderedElementsAre("birth_date", "id_type", "id_number", "id_country", "email",
                                        "phone"));
}

TEST(ObserverColumnsTest, RequiredColumnsAsDocumented) {
  std::vector<std::string> required;
  for (const ObserverColumn& c : ObserverColumns()) {
    if (c.required) required.emplace_back(c.name);
  }
  EXPECT_THAT(required, UnorderedElementsAre("given_names", "family_name", "latin_given_names",
                                             "latin_family_name", "citizenship", "id_type",
                                             "id_number", "id_country", "category"));
}

TEST(ObserverColumnsTest, Kinds) {
  std::vector<std::string> decision, export_only;
  for (const ObserverColumn& c : ObserverColumns()) {
    if (c.kind == ColumnKind::kDecision) decision.emplace_back(c.name);
    if (c.kind == ColumnKind::kExportOnly) export_only.emplace_back(c.name);
    if (c.kind == ColumnKind::kSubmission) {
      EXPECT_FALSE(c.help.empty()) << c.name;
    }
  }
  EXPECT_THAT(decision, UnorderedElementsAre("status", "badge_number", "decision_time",
                                             "decision_reference", "status_reason"));
  EXPECT_THAT(export_only, UnorderedElementsAre("name", "create_time", "update_time", "revision",
                                                "etag", "update_actor"));
}

TEST(ObserverColumnsTest, FindObserverColumn) {
  ASSERT_NE(FindObserverColumn("id_number"), nullptr);
  EXPECT_EQ(FindObserverColumn("id_number")->name, "id_number");
  EXPECT_EQ(FindObserverColumn("no_such_column"), nullptr);
  EXPECT_EQ(FindObserverColumn(""), nullptr);
}

TEST(ObserverColumnsTest, EveryColumnOfAFullRecordHasText) {
  const v1::Observer full = FullObserver();
  for (const ObserverColumn& c : ObserverColumns()) {
    if (c.name == "state") continue;  // Sent by an organisation.
    EXPECT_NE(c.get(full), "") << c.name;
  }
}

TEST(ObserverColumnsTest, GetTexts) {
  const v1::Observer full = FullObserver();
  EXPECT_EQ(Get("gender", full), "female");
  EXPECT_EQ(Get("birth_date", full), "1985-03-07");
  EXPECT_EQ(Get("id_type", full), "diplomatic-passport");
  EXPECT_EQ(Get("organisation", full), "OSCE-ODIHR");
  EXPECT_EQ(Get("state", full), "");
  EXPECT_EQ(Get("category", full), "head-of-delegation");
  EXPECT_EQ(Get("status", full), "suspended");
  EXPECT_EQ(Get("received_time", full), "2021-01-01T01:00:00.5Z");
  EXPECT_EQ(Get("decision_time", full), "2021-01-04T12:00:00Z");
  EXPECT_EQ(Get("tags", full), "eu,team-a");
  EXPECT_EQ(Get("test", full), "true");
  EXPECT_EQ(Get("revision", full), "42");
  EXPECT_EQ(Get("name", full), "elections/kz-2021/observers/0001");
  EXPECT_EQ(Get("update_actor", full), "operator@cec.kz");
}

TEST(ObserverColumnsTest, EveryColumnRoundTripsOnItsOwn) {
  v1::Observer by_state = FullObserver();
  by_state.mutable_sending_body()->set_state("FR");
  for (const v1::Observer& full : {FullObserver(), by_state}) {
    for (const ObserverColumn& c : ObserverColumns()) {
      if (c.kind == ColumnKind::kExportOnly) continue;
      v1::Observer fresh;
      const std::string text = c.get(full);
      const absl::Status s = c.set(fresh, text);
      ASSERT_TRUE(s.ok()) << c.name << " = '" << text << "': " << s;
      EXPECT_EQ(c.get(fresh), text) << c.name;
      // Setting the column's own text on the full record changes nothing.
      v1::Observer again = full;
      ASSERT_TRUE(c.set(again, text).ok()) << c.name;
      EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(again, full))
          << c.name << ":\n"
          << again.DebugString() << "\nvs\n"
          << full.DebugString();
    }
  }
}

TEST(ObserverColumnsTest, AllImportableColumnsRebuildTheRecord) {
  const v1::Observer full = FullObserver();
  v1::Observer rebuilt;
  for (const ObserverColumn& c : ObserverColumns()) {
    if (c.kind == ColumnKind::kExportOnly) continue;
    const absl::Status s = c.set(rebuilt, c.get(full));
    ASSERT_TRUE(s.ok()) << c.name << ": " << s;
  }
  v1::Observer expected = full;
  expected.clear_name();
  expected.clear_create_time();
  expected.clear_update_time();
  expected.clear_revision();
  expected.clear_etag();
  expected.clear_update_actor();
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(rebuilt, expected))
      << rebuilt.DebugString() << "\nvs\n"
      << expected.DebugString();
}

TEST(ObserverColumnsTest, ExportOnlyColumnsIgnoreInput) {
  for (const ObserverColumn& c : ObserverColumns()) {
    if (c.kind != ColumnKind::kExportOnly) continue;
    v1::Observer o;
    EXPECT_TRUE(c.set(o, "something").ok()) << c.name;
    EXPECT_EQ(o.ByteSizeLong(), 0u) << c.name;
    EXPECT_EQ(c.get(o), "") << c.name;  // Unset: revision 0 and timestamps print "".
  }
}

TEST(ObserverColumnsTest, EmptyTextClearsEveryImportableColumn) {
  v1::Observer by_state = FullObserver();
  by_state.mutable_sending_body()->set_state("FR");
  for (const v1::Observer& full : {FullObserver(), by_state}) {
    for (const ObserverColumn& c : ObserverColumns()) {
      if (c.kind == ColumnKind::kExportOnly) continue;
      v1::Observer o = full;
      const absl::Status s = c.set(o, "");
      ASSERT_TRUE(s.ok()) << c.name << ": " << s;
      EXPECT_EQ(c.get(o), c.name == "test" ? "false" : "") << c.name;
    }
  }
}

TEST(ObserverColumnsTest, EmptyClearsTheUnderlyingFields) {
  v1::Observer o = FullObserver();
  MustSet("birth_date", o, "");
  EXPECT_FALSE(o.has_birth_date());
  MustSet("received_time", o, "");
  EXPECT_FALSE(o.has_received_time());
  MustSet("gender", o, "  ");
  EXPECT_EQ(o.gender(), v1::GENDER_UNSPECIFIED);
  MustSet("id_type", o, " ");
  EXPECT_EQ(o.id_document().type(), v1::ID_DOCUMENT_TYPE_UNSPECIFIED);
  MustSet("decision_time", o, " ");
  EXPECT_FALSE(o.has_decision_time());
  MustSet("organisation", o, "");
  EXPECT_EQ(o.sending_body().body_case(), v1::SendingBody::BODY_NOT_SET);
  MustSet("tags", o, "");
  EXPECT_THAT(o.tags(), IsEmpty());
}

TEST(ObserverColumnsTest, EnumColumnsAcceptShortUpperAndPrefixedForms) {
  struct Case {
    const char* column;
    const char* text;
    const char* expected;
  };
  for (const Case& k : {
           Case{"gender", "female", "female"},
           Case{"gender", "MALE", "male"},
           Case{"gender", "GENDER_OTHER", "other"},
           Case{"gender", " Female ", "female"},
           Case{"category", "short-term", "short-term"},
           Case{"category", "SHORT_TERM", "short-term"},
           Case{"category", "OBSERVER_CATEGORY_SHORT_TERM", "short-term"},
           Case{"category", "head_of_delegation", "head-of-delegation"},
           Case{"category", "Core-Team", "core-team"},
           Case{"id_type", "national-id", "national-id"},
           Case{"id_type", "SERVICE_PASSPORT", "service-passport"},
           Case{"id_type", "id_document_type_passport", "passport"},
           Case{"status", "accredited", "accredited"},
           Case{"status", "OBSERVER_STATUS_WITHDRAWN", "withdrawn"},
       }) {
    v1::Observer o;
    MustSet(k.column, o, k.text);
    EXPECT_EQ(Get(k.column, o), k.expected) << k.column << " = " << k.text;
  }
  v1::Observer o;
  MustSet("category", o, "OBSERVER_CATEGORY_SHORT_TERM");
  EXPECT_EQ(o.category(), v1::OBSERVER_CATEGORY_SHORT_TERM);
  MustSet("id_type", o, "passport");
  EXPECT_EQ(o.id_document().type(), v1::ID_DOCUMENT_TYPE_PASSPORT);
}

TEST(ObserverColumnsTest, EnumColumnsRefuseUnknownValuesListingTheChoices) {
  v1::Observer o;
  const std::string category = SetError("category", o, "volunteer");
  EXPECT_THAT(category, HasSubstr("'volunteer'"));
  EXPECT_THAT(category, HasSubstr("core-team, long-term, short-term, parliamentarian, "
                                  "head-of-delegation, other"));
  EXPECT_THAT(SetError("gender", o, "f"), HasSubstr("female, male, other"));
  EXPECT_THAT(SetError("id_type", o, "driving-licence"),
              HasSubstr("passport, diplomatic-passport, service-passport, national-id, other"));
  EXPECT_THAT(SetError("status", o, "pending"),
              HasSubstr("submitted, accredited, rejected, suspended, withdrawn"));
  SetError("category", o, "unspecified");
  SetError("category", o, "OBSERVER_CATEGORY_UNSPECIFIED");
  EXPECT_EQ(o.ByteSizeLong(), 0u);  // Failed sets leave the record alone.
}

TEST(ObserverColumnsTest, OrganisationAcceptsCodeOrResourceName) {
  for (absl::string_view text :
       {"OSCE-ODIHR", "organisations/OSCE-ODIHR", " OSCE-ODIHR ", " organisations/OSCE-ODIHR"}) {
    v1::Observer o;
    MustSet("organisation", o, text);
    EXPECT_EQ(o.sending_body().organisation(), "organisations/OSCE-ODIHR") << text;
    EXPECT_EQ(Get("organisation", o), "OSCE-ODIHR") << text;
  }
}

TEST(ObserverColumnsTest, StateIsUpperCased) {
  v1::Observer o;
  MustSet("state", o, " fr ");
  EXPECT_EQ(o.sending_body().state(), "FR");
  EXPECT_EQ(Get("state", o), "FR");
}

TEST(ObserverColumnsTest, OrganisationAndStateTogetherIsAnError) {
  v1::Observer o;
  MustSet("state", o, "FR");
  EXPECT_THAT(SetError("organisation", o, "OSCE-ODIHR"), HasSubstr("not both"));
  EXPECT_EQ(o.sending_body().state(), "FR");

  v1::Observer p;
  MustSet("organisation", p, "OSCE-ODIHR");
  EXPECT_THAT(SetError("state", p, "FR"), HasSubstr("not both"));
  EXPECT_EQ(p.sending_body().organisation(), "organisations/OSCE-ODIHR");
}

TEST(ObserverColumnsTest, EmptyOrganisationDoesNotClearState) {
  // An import row has both columns; one of them is empty, in either order.
  v1::Observer o;
  MustSet("state", o, "FR");
  MustSet("organisation", o, "");
  EXPECT_EQ(o.sending_body().state(), "FR");
  v1::Observer p;
  MustSet("organisation", p, "");
  MustSet("state", p, "FR");
  EXPECT_EQ(p.sending_body().state(), "FR");
  v1::Observer q;
  MustSet("organisation", q, "OSCE-ODIHR");
  MustSet("state", q, "");
  EXPECT_EQ(q.sending_body().organisation(), "organisations/OSCE-ODIHR");
}

TEST(ObserverColumnsTest, TagsAreACommaList) {
  v1::Observer o;
  MustSet("tags", o, " eu, team-a ,,kz.2021 ,");
  EXPECT_THAT(o.tags(), ElementsAre("eu", "team-a", "kz.2021"));
  EXPECT_EQ(Get("tags", o), "eu,team-a,kz.2021");
  MustSet("tags", o, "other");  // Replaces, does not append.
  EXPECT_THAT(o.tags(), ElementsAre("other"));
}

TEST(ObserverColumnsTest, TestIsABoolean) {
  for (absl::string_view yes : {"true", "TRUE", "yes", "1", " true "}) {
    v1::Observer o;
    MustSet("test", o, yes);
    EXPECT_TRUE(o.test()) << yes;
    EXPECT_EQ(Get("test", o), "true");
  }
  for (absl::string_view no : {"false", "False", "no", "0", ""}) {
    v1::Observer o;
    o.set_test(true);
    MustSet("test", o, no);
    EXPECT_FALSE(o.test()) << no;
    EXPECT_EQ(Get("test", o), "false");
  }
  v1::Observer o;
  o.set_test(true);
  EXPECT_THAT(SetError("test", o, "maybe"), HasSubstr("'maybe'"));
  EXPECT_TRUE(o.test());
}

TEST(ObserverColumnsTest, DatesAndTimesAreChecked) {
  v1::Observer o;
  MustSet("birth_date", o, "1985-03-07");
  EXPECT_EQ(o.birth_date().year(), 1985);
  EXPECT_EQ(o.birth_date().month(), 3);
  EXPECT_EQ(o.birth_date().day(), 7);
  EXPECT_THAT(SetError("birth_date", o, "1985-02-30"), HasSubstr("'1985-02-30'"));
  EXPECT_THAT(SetError("birth_date", o, "07.03.1985"), HasSubstr("YYYY-MM-DD"));
  EXPECT_EQ(Get("birth_date", o), "1985-03-07");

  MustSet("received_time", o, "2021-01-04T18:00:00+06:00");
  EXPECT_EQ(o.received_time().seconds(), 1609761600);
  EXPECT_EQ(Get("received_time", o), "2021-01-04T12:00:00Z");
  EXPECT_THAT(SetError("decision_time", o, "2021-01-04 12:00"), HasSubstr("RFC 3339"));
}

TEST(ObserverColumnsTest, CountryCodesAreUpperCasedAndTrimmed) {
  v1::Observer o;
  MustSet("citizenship", o, " de");
  MustSet("id_country", o, "fr ");
  MustSet("id_number", o, " N 123 ");
  EXPECT_EQ(o.citizenship(), "DE");
  EXPECT_EQ(o.id_document().issuing_country(), "FR");
  EXPECT_EQ(o.id_document().number(), "N 123");
}

TEST(ObserverColumnsTest, NamesAreKeptAsGiven) {
  v1::Observer o;
  MustSet("given_names", o, "Әлия");
  MustSet("family_name", o, "Нұрланқызы");
  EXPECT_EQ(o.given_names(), "Әлия");
  EXPECT_EQ(o.family_name(), "Нұрланқызы");
}

TEST(ColumnForFieldTest, MapsRegistryFieldPathsToColumns) {
  EXPECT_EQ(ColumnForField("observer.id_document.number"), "id_number");
  EXPECT_EQ(ColumnForField("observer.id_document.type"), "id_type");
  EXPECT_EQ(ColumnForField("observer.id_document.issuing_country"), "id_country");
  EXPECT_EQ(ColumnForField("observer.id_document"), "id_number");
  EXPECT_EQ(ColumnForField("requests[3].observer.citizenship"), "citizenship");
  EXPECT_EQ(ColumnForField("requests[12].observer.id_document.number"), "id_number");
  EXPECT_EQ(ColumnForField("observer.tags[2]"), "tags");
  EXPECT_EQ(ColumnForField("requests[0].observer.tags[31]"), "tags");
  EXPECT_EQ(ColumnForField("observer.sending_body.organisation"), "organisation");
  EXPECT_EQ(ColumnForField("observer.sending_body.state"), "state");
  EXPECT_EQ(ColumnForField("observer.sending_body"), "organisation");
  EXPECT_EQ(ColumnForField("observer.contact.email"), "email");
  EXPECT_EQ(ColumnForField("observer.contact.phone"), "phone");
  EXPECT_EQ(ColumnForField("observer.birth_date"), "birth_date");
  EXPECT_EQ(ColumnForField("observer.received_time"), "received_time");
  EXPECT_EQ(ColumnForField("given_names"), "given_names");
}

TEST(ColumnForFieldTest, UnknownPathsComeBackUnchanged) {
  for (absl::string_view path :
       {"election", "observer.election", "requests[3].request_id", "observer.no_such_field",
        "requests[1].observer.id_document.serial", "page_size", ""}) {
    EXPECT_EQ(ColumnForField(path), path);
  }
}

TEST(OrganisationCodeTest, StripsPrefixAndSpaces) {
  EXPECT_EQ(OrganisationCode("organisations/OSCE-ODIHR"), "OSCE-ODIHR");
  EXPECT_EQ(OrganisationCode("OSCE-ODIHR"), "OSCE-ODIHR");
  EXPECT_EQ(OrganisationCode(" organisations/CIS "), "CIS");
  EXPECT_EQ(OrganisationCode(""), "");
}

}  // namespace
}  // namespace observer::ctl
