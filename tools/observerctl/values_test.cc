#include "tools/observerctl/values.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "common/errors.h"
#include "common/proto_time.h"
#include "observer/registry/v1/resources.pb.h"
#include "tools/observerctl/output.h"

namespace observer::ctl {
namespace {

namespace v1 = ::observer::registry::v1;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

constexpr int64_t k20210104Noon = 1609761600;  // 2021-01-04T12:00:00Z

google::protobuf::Timestamp Ts(int64_t seconds, int32_t nanos = 0) {
  google::protobuf::Timestamp ts;
  ts.set_seconds(seconds);
  ts.set_nanos(nanos);
  return ts;
}

// ---- Enums ----

TEST(ParseEnumTest, AcceptsShortUpperAndPrefixedForms) {
  for (absl::string_view text :
       {"short-term", "SHORT_TERM", "OBSERVER_CATEGORY_SHORT_TERM", "short_term", "Short-Term",
        " short-term ", "observer-category-short-term"}) {
    absl::StatusOr<v1::ObserverCategory> c = ParseEnum<v1::ObserverCategory>(text);
    ASSERT_TRUE(c.ok()) << text << ": " << c.status();
    EXPECT_EQ(*c, v1::OBSERVER_CATEGORY_SHORT_TERM) << text;
  }
  EXPECT_EQ(*ParseEnum<v1::ObserverCategory>("head-of-delegation"),
            v1::OBSERVER_CATEGORY_HEAD_OF_DELEGATION);
  EXPECT_EQ(*ParseEnum<v1::IdDocumentType>("national-id"), v1::ID_DOCUMENT_TYPE_NATIONAL_ID);
  EXPECT_EQ(*ParseEnum<v1::ElectionKind>("combined"), v1::ELECTION_KIND_COMBINED);
  EXPECT_EQ(*ParseEnum<v1::ElectionState>("CANCELLED"), v1::ELECTION_STATE_CANCELLED);
  EXPECT_EQ(*ParseEnum<v1::Gender>("GENDER_MALE"), v1::GENDER_MALE);
}

TEST(ParseEnumTest, RefusesUnknownUnspecifiedAndEmptyListingChoices) {
  for (absl::string_view text : {"volunteer", "", "unspecified", "OBSERVER_CATEGORY_UNSPECIFIED",
                                 "short", "short term", "GENDER_SHORT_TERM", "3"}) {
    absl::StatusOr<v1::ObserverCategory> c = ParseEnum<v1::ObserverCategory>(text);
    ASSERT_FALSE(c.ok()) << text;
    EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(c.status().message(), HasSubstr(absl::StrCat("'", text, "'")));
    EXPECT_THAT(c.status().message(),
                HasSubstr("core-team, long-term, short-term, parliamentarian, "
                          "head-of-delegation, other"));
  }
}

TEST(EnumTextTest, ShortLowerCaseNames) {
  EXPECT_EQ(EnumText(v1::OBSERVER_CATEGORY_HEAD_OF_DELEGATION), "head-of-delegation");
  EXPECT_EQ(EnumText(v1::OBSERVER_CATEGORY_CORE_TEAM), "core-team");
  EXPECT_EQ(EnumText(v1::ID_DOCUMENT_TYPE_DIPLOMATIC_PASSPORT), "diplomatic-passport");
  EXPECT_EQ(EnumText(v1::OBSERVER_STATUS_ACCREDITED), "accredited");
  EXPECT_EQ(EnumText(v1::GENDER_FEMALE), "female");
  EXPECT_EQ(EnumText(v1::ELECTION_KIND_PARLIAMENTARY), "parliamentary");
}

TEST(EnumTextTest, UnspecifiedIsEmptyAndUnknownIsTheNumber) {
  EXPECT_EQ(EnumText(v1::OBSERVER_CATEGORY_UNSPECIFIED), "");
  EXPECT_EQ(EnumText(static_cast<v1::ObserverCategory>(99)), "99");
  EXPECT_EQ(EnumText(*v1::Gender_descriptor(), 7), "7");
}

TEST(EnumTextTest, RoundTripsThroughParseEnum) {
  const google::protobuf::EnumDescriptor& d = *v1::ObserverCategory_descriptor();
  for (int i = 0; i < d.value_count(); ++i) {
    const int n = d.value(i)->number();
    if (n == 0) continue;
    absl::StatusOr<int> back = ParseEnumValue(d, EnumText(d, n));
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(*back, n);
  }
}

TEST(EnumChoicesTest, ListsEveryValueButUnspecified) {
  EXPECT_EQ(EnumChoices(*v1::Gender_descriptor()), "female, male, other");
  EXPECT_EQ(EnumChoices(*v1::ObserverCategory_descriptor()),
            "core-team, long-term, short-term, parliamentarian, head-of-delegation, other");
  EXPECT_EQ(EnumChoices(*v1::IdDocumentType_descriptor()),
            "passport, diplomatic-passport, service-passport, national-id, other");
  EXPECT_EQ(EnumChoices(*v1::ObserverStatus_descriptor()),
            "submitted, accredited, rejected, suspended, withdrawn");
  EXPECT_EQ(EnumChoices(*v1::ElectionKind_descriptor()),
            "parliamentary, local, presidential, referendum, combined");
  EXPECT_EQ(EnumChoices(*v1::ElectionState_descriptor()), "scheduled, held, cancelled");
}

// ---- Dates ----

TEST(ParseDateTest, ValidDates) {
  absl::StatusOr<google::type::Date> d = ParseDate("2021-01-10");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->year(), 2021);
  EXPECT_EQ(d->month(), 1);
  EXPECT_EQ(d->day(), 10);
  absl::StatusOr<google::type::Date> leap = ParseDate(" 2024-02-29 ");
  ASSERT_TRUE(leap.ok()) << leap.status();
  EXPECT_EQ(leap->month(), 2);
  EXPECT_EQ(leap->day(), 29);
  EXPECT_TRUE(ParseDate("1999-12-31").ok());
}

TEST(ParseDateTest, InvalidDates) {
  for (absl::string_view text :
       {"2021-02-30", "2021-02-29", "2021-13-01", "2021-00-10", "2021-01-00", "2021-01-32",
        "2021-1-4", "2021-01-4", "21-01-04", "10.01.2021", "2021/01/10", "2021-01-10T00:00:00Z",
        "2021-01-10x", "", "today"}) {
    absl::StatusOr<google::type::Date> d = ParseDate(text);
    ASSERT_FALSE(d.ok()) << text << " parsed as " << FormatDate(*d);
    EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(d.status().message(), HasSubstr(absl::StrCat("'", text, "'")));
    EXPECT_THAT(d.status().message(), HasSubstr("YYYY-MM-DD"));
  }
}

// In google.type.Date a zero year means "no year" (an anniversary), so year 0000 is not a
// calendar day the API can hold.
TEST(ParseDateTest, RefusesYearZero) {
  absl::StatusOr<google::type::Date> d = ParseDate("0000-01-01");
  EXPECT_FALSE(d.ok()) << "parsed as year=" << d->year() << " month=" << d->month()
                       << " day=" << d->day();
}

TEST(FormatDateTest, PadsAndLeavesUnsetEmpty) {
  EXPECT_EQ(FormatDate(MakeDate(2021, 1, 4)), "2021-01-04");
  EXPECT_EQ(FormatDate(MakeDate(985, 12, 31)), "0985-12-31");
  EXPECT_EQ(FormatDate(google::type::Date()), "");
  EXPECT_EQ(FormatDate(*ParseDate("2024-02-29")), "2024-02-29");
}

// ---- Instants ----

TEST(ParseInstantTest, ZuluAndOffsetAreTheSameInstant) {
  absl::StatusOr<google::protobuf::Timestamp> z = ParseInstant("2021-01-04T12:00:00Z");
  absl::StatusOr<google::protobuf::Timestamp> plus6 = ParseInstant("2021-01-04T18:00:00+06:00");
  absl::StatusOr<google::protobuf::Timestamp> minus5 = ParseInstant("2021-01-04T07:00:00-05:00");
  ASSERT_TRUE(z.ok()) << z.status();
  ASSERT_TRUE(plus6.ok()) << plus6.status();
  ASSERT_TRUE(minus5.ok()) << minus5.status();
  EXPECT_EQ(z->seconds(), k20210104Noon);
  EXPECT_EQ(z->nanos(), 0);
  EXPECT_EQ(plus6->seconds(), k20210104Noon);
  EXPECT_EQ(minus5->seconds(), k20210104Noon);
}

TEST(ParseInstantTest, FractionalSeconds) {
  absl::StatusOr<google::protobuf::Timestamp> t = ParseInstant("2021-01-04T12:00:00.25Z");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->seconds(), k20210104Noon);
  EXPECT_EQ(t->nanos(), 250000000);
}

TEST(ParseInstantTest, RefusesGarbageAndInstantsWithoutZone) {
  for (absl::string_view text :
       {"yesterday", "", "2021-01-04", "2021-01-04T12:00:00", "2021-01-04 12:00", "12:00:00Z",
        "2021-01-04T25:00:00Z", "2021-02-30T12:00:00Z", "2021-01-04T12:00:00Zjunk"}) {
    absl::StatusOr<google::protobuf::Timestamp> t = ParseInstant(text);
    ASSERT_FALSE(t.ok()) << text << " parsed as " << FormatInstant(*t);
    EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(t.status().message(), HasSubstr(absl::StrCat("'", text, "'")));
    EXPECT_THAT(t.status().message(), HasSubstr("RFC 3339"));
  }
}

// absl::ParseTime also takes "infinite-future" and "infinite-past"; neither is an RFC 3339
// instant, and they come out as invalid Timestamps (seconds = INT64_MAX, nanos = -1).
TEST(ParseInstantTest, RefusesInfiniteFutureAndPast) {
  for (absl::string_view text : {"infinite-future", "infinite-past"}) {
    absl::StatusOr<google::protobuf::Timestamp> t = ParseInstant(text);
    EXPECT_FALSE(t.ok()) << text << " parsed as seconds=" << t->seconds()
                         << " nanos=" << t->nanos();
  }
}

// A google.protobuf.Timestamp holds years 1 to 9999 only.
TEST(ParseInstantTest, RefusesInstantsOutsideTheTimestampRange) {
  for (absl::string_view text :
       {"10000-01-01T00:00:00Z", "0000-12-31T23:59:59Z", "-0001-01-01T00:00:00Z"}) {
    absl::StatusOr<google::protobuf::Timestamp> t = ParseInstant(text);
    EXPECT_FALSE(t.ok()) << text << " parsed as seconds=" << t->seconds()
                         << " nanos=" << t->nanos();
  }
}

TEST(ParseInstantTest, AcceptsTheTimestampRangeEnds) {
  absl::StatusOr<google::protobuf::Timestamp> first = ParseInstant("0001-01-01T00:00:00Z");
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->seconds(), -62135596800);
  absl::StatusOr<google::protobuf::Timestamp> last = ParseInstant("9999-12-31T23:59:59Z");
  ASSERT_TRUE(last.ok()) << last.status();
  EXPECT_EQ(last->seconds(), 253402300799);
}

TEST(FormatInstantTest, UtcWithZ) {
  EXPECT_EQ(FormatInstant(Ts(k20210104Noon)), "2021-01-04T12:00:00Z");
  EXPECT_EQ(FormatInstant(Ts(k20210104Noon, 500000000)), "2021-01-04T12:00:00.5Z");
  EXPECT_EQ(FormatInstant(*ParseInstant("2021-01-04T18:00:00+06:00")), "2021-01-04T12:00:00Z");
}

TEST(FormatInstantTest, UnsetIsEmpty) { EXPECT_EQ(FormatInstant(Ts(0)), ""); }

TEST(FormatInstantTest, RoundTrips) {
  for (const google::protobuf::Timestamp& ts :
       {Ts(k20210104Noon), Ts(k20210104Noon, 1), Ts(1, 0), Ts(-86400), Ts(253402300799)}) {
    absl::StatusOr<google::protobuf::Timestamp> back = ParseInstant(FormatInstant(ts));
    ASSERT_TRUE(back.ok()) << FormatInstant(ts) << ": " << back.status();
    EXPECT_EQ(back->seconds(), ts.seconds());
    EXPECT_EQ(back->nanos(), ts.nanos());
  }
}

// ---- Booleans, lists, durations ----

TEST(ParseBoolTextTest, TrueFalseAndErrors) {
  for (absl::string_view yes : {"true", "TRUE", "True", "yes", "YES", "1", " true "}) {
    absl::StatusOr<bool> b = ParseBoolText(yes);
    ASSERT_TRUE(b.ok()) << yes;
    EXPECT_TRUE(*b) << yes;
  }
  for (absl::string_view no : {"false", "FALSE", "no", "0", "", " "}) {
    absl::StatusOr<bool> b = ParseBoolText(no);
    ASSERT_TRUE(b.ok()) << no;
    EXPECT_FALSE(*b) << no;
  }
  for (absl::string_view bad : {"maybe", "t", "2", "on", "truee"}) {
    absl::StatusOr<bool> b = ParseBoolText(bad);
    ASSERT_FALSE(b.ok()) << bad;
    EXPECT_EQ(b.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(b.status().message(), HasSubstr(absl::StrCat("'", bad, "'")));
  }
}

TEST(SplitListTest, TrimsAndDropsEmptyItems) {
  EXPECT_THAT(SplitList("a,b,c"), ElementsAre("a", "b", "c"));
  EXPECT_THAT(SplitList(" accredited , submitted ,,suspended,"),
              ElementsAre("accredited", "submitted", "suspended"));
  EXPECT_THAT(SplitList("one"), ElementsAre("one"));
  EXPECT_THAT(SplitList("a b, c"), ElementsAre("a b", "c"));
  EXPECT_THAT(SplitList(""), IsEmpty());
  EXPECT_THAT(SplitList(" , ,"), IsEmpty());
}

TEST(ParsePositiveDurationTest, AcceptsPositiveDurations) {
  EXPECT_EQ(*ParsePositiveDuration("500ms"), absl::Milliseconds(500));
  EXPECT_EQ(*ParsePositiveDuration("30s"), absl::Seconds(30));
  EXPECT_EQ(*ParsePositiveDuration("2m"), absl::Minutes(2));
  EXPECT_EQ(*ParsePositiveDuration(" 1h30m "), absl::Minutes(90));
  EXPECT_EQ(*ParsePositiveDuration("1.5s"), absl::Milliseconds(1500));
}

TEST(ParsePositiveDurationTest, RefusesZeroNegativeAndGarbage) {
  for (absl::string_view text : {"0", "0s", "-5s", "-1ms", "abc", "", "5", "30 s"}) {
    absl::StatusOr<absl::Duration> d = ParsePositiveDuration(text);
    ASSERT_FALSE(d.ok()) << text << " parsed as " << absl::FormatDuration(*d);
    EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(d.status().message(), HasSubstr(absl::StrCat("'", text, "'")));
    EXPECT_THAT(d.status().message(), HasSubstr("positive duration"));
  }
}

// ---- output.h ----

TEST(DisplayWidthTest, OneColumnPerCodePoint) {
  EXPECT_EQ(DisplayWidth(""), 0u);
  EXPECT_EQ(DisplayWidth("abc"), 3u);
  EXPECT_EQ(DisplayWidth("Әлия"), 4u);
  EXPECT_EQ(DisplayWidth("Нұрланқызы"), 10u);
  EXPECT_EQ(DisplayWidth("Иван Петров"), 11u);
  EXPECT_EQ(DisplayWidth("█▏"), 2u);
}

std::string Printed(const Table& t) {
  std::ostringstream out;
  t.Print(out);
  return out.str();
}

TEST(TableTest, AlignsColumnsWithCyrillicCells) {
  Table t({"Name", "Country", "Observers"}, {false, false, true});
  t.Add({"Нұрланқызы", "KZ", "5"});
  t.Add({"Li", "Қазақстан", "12345"});
  EXPECT_EQ(Printed(t),
            "  Name        Country    Observers\n"
            "  --------------------------------\n"
            "  Нұрланқызы  KZ                 5\n"
            "  Li          Қазақстан      12345\n");
}

TEST(TableTest, ColumnsLineUpByCodePoints) {
  Table t({"a", "b"}, {false, false});
  t.Add({"Әлия Нұрланқызы", "x"});
  t.Add({"Bob", "y"});
  t.Add({"Иван", "z"});
  const std::vector<std::string> lines = absl::StrSplit(Printed(t), '\n');
  ASSERT_GE(lines.size(), 5u);
  // The second column starts at the same code point on every line.
  const std::size_t col = DisplayWidth("  Әлия Нұрланқызы  ");
  for (std::size_t i : {2u, 3u, 4u}) {
    const std::string& line = lines[i];
    std::size_t width = 0, byte = 0;
    while (byte < line.size() && width < col) {
      ++byte;
      while (byte < line.size() && (static_cast<unsigned char>(line[byte]) & 0xC0) == 0x80) ++byte;
      ++width;
    }
    ASSERT_LT(byte, line.size()) << line;
    EXPECT_EQ(line.substr(byte), std::string(1, "xyz"[i - 2])) << line;
  }
}

TEST(TableTest, RuleRowAndShortRowsAndNoTrailingSpaces) {
  Table t({"Organisation", "N"}, {false, true});
  t.Add({"ОБСЕ", "7"});
  t.Add({"CIS"});  // Missing cells are empty.
  t.AddRule();
  t.Add({"Total", "7"});
  const std::string text = Printed(t);
  EXPECT_EQ(text,
            "  Organisation  N\n"
            "  ---------------\n"
            "  ОБСЕ          7\n"
            "  CIS\n"
            "  ---------------\n"
            "  Total         7\n");
}

TEST(ShareBarTest, MaxShareFillsTheWidth) {
  std::string full;
  for (int i = 0; i < 20; ++i) full += "█";
  EXPECT_EQ(ShareBar(40, 40, 20), full);
  EXPECT_EQ(ShareBar(0.3, 0.3, 20), full);
  EXPECT_EQ(DisplayWidth(ShareBar(40, 40, 20)), 20u);
}

TEST(ShareBarTest, EighthsOfACell) {
  EXPECT_EQ(ShareBar(10, 20, 2), "█");
  EXPECT_EQ(ShareBar(1, 16, 2), "▏");    // One eighth.
  EXPECT_EQ(ShareBar(3, 16, 2), "▍");    // Three eighths.
  EXPECT_EQ(ShareBar(12, 16, 2), "█▌");  // One and a half cells.
}

TEST(ShareBarTest, TinyShareShowsAtLeastOneEighth) {
  EXPECT_EQ(ShareBar(0.0001, 100, 20), "▏");
  EXPECT_EQ(ShareBar(1, 1000000, 10), "▏");
}

TEST(ShareBarTest, ZeroShareOrMaxIsEmpty) {
  EXPECT_EQ(ShareBar(0, 10, 20), "");
  EXPECT_EQ(ShareBar(5, 0, 20), "");
}

TEST(ShareBarTest, NeverWiderThanWidth) {
  for (int share = 1; share <= 100; ++share) {
    EXPECT_LE(DisplayWidth(ShareBar(share, 100, 30)), 30u) << share;
    EXPECT_GE(DisplayWidth(ShareBar(share, 100, 30)), 1u) << share;
  }
}

TEST(ToJsonTest, IncludesZeroValuedFields) {
  v1::Observer o;
  o.set_given_names("Aliya");
  const std::string json = ToJson(o);
  EXPECT_THAT(json, HasSubstr("\"givenNames\":\"Aliya\""));
  EXPECT_THAT(json, HasSubstr("\"familyName\":\"\""));
  EXPECT_THAT(json, HasSubstr("\"test\":false"));
  EXPECT_THAT(json, HasSubstr("\"revision\":\"0\""));
  EXPECT_THAT(json, HasSubstr("\"gender\":\"GENDER_UNSPECIFIED\""));
  EXPECT_THAT(json, HasSubstr("\"tags\":[]"));
  EXPECT_THAT(json, Not(HasSubstr("\n")));
}

TEST(ToJsonTest, CanonicalNamesEnumsAndTimes) {
  v1::Observer o;
  o.set_category(v1::OBSERVER_CATEGORY_SHORT_TERM);
  *o.mutable_received_time() = Ts(k20210104Noon);
  *o.mutable_birth_date() = MakeDate(1985, 3, 7);
  o.add_tags("eu");
  const std::string json = ToJson(o);
  EXPECT_THAT(json, HasSubstr("\"category\":\"OBSERVER_CATEGORY_SHORT_TERM\""));
  EXPECT_THAT(json, HasSubstr("\"receivedTime\":\"2021-01-04T12:00:00Z\""));
  EXPECT_THAT(json, HasSubstr("\"tags\":[\"eu\"]"));
  EXPECT_THAT(json, HasSubstr("\"birthDate\":{"));
  EXPECT_THAT(json, HasSubstr("\"year\":1985"));
}

TEST(ToJsonTest, PrettyIsMultiLineWithoutTrailingNewline) {
  v1::Observer o;
  o.set_given_names("Aliya");
  const std::string json = ToJson(o, /*pretty=*/true);
  EXPECT_THAT(json, HasSubstr("\n"));
  EXPECT_THAT(json, HasSubstr("\"givenNames\": \"Aliya\""));
  ASSERT_FALSE(json.empty());
  EXPECT_EQ(json.back(), '}');
}

std::string Fields(const google::protobuf::Message& m) {
  std::ostringstream out;
  PrintFields(m, out);
  return out.str();
}

TEST(PrintFieldsTest, FlattensNestedFieldsWithShortEnumsAndTimes) {
  v1::Observer o;
  o.set_given_names("Әлия");
  o.set_gender(v1::GENDER_FEMALE);
  *o.mutable_birth_date() = MakeDate(1985, 3, 7);
  o.mutable_id_document()->set_type(v1::ID_DOCUMENT_TYPE_NATIONAL_ID);
  o.mutable_id_document()->set_number("N1");
  o.mutable_contact()->set_email("a@example.org");
  o.mutable_sending_body()->set_organisation("organisations/OSCE-ODIHR");
  o.set_category(v1::OBSERVER_CATEGORY_SHORT_TERM);
  o.set_status(v1::OBSERVER_STATUS_ACCREDITED);
  *o.mutable_received_time() = *ParseInstant("2021-01-04T18:00:00+06:00");
  o.add_tags("eu");
  o.add_tags("team-a");
  o.set_test(true);
  o.set_revision(42);
  EXPECT_EQ(Fields(o),
            "given_names: Әлия\n"
            "gender: female\n"
            "birth_date: 1985-03-07\n"
            "id_document.type: national-id\n"
            "id_document.number: N1\n"
            "contact.email: a@example.org\n"
            "sending_body.organisation: organisations/OSCE-ODIHR\n"
            "category: short-term\n"
            "status: accredited\n"
            "received_time: 2021-01-04T12:00:00Z\n"
            "tags: eu, team-a\n"
            "test: true\n"
            "revision: 42\n");
}

TEST(PrintFieldsTest, RepeatedMessagesAreIndexed) {
  v1::Organisation org;
  org.set_name("organisations/OTS");
  org.mutable_names()->set_en("Organization of Turkic States");
  v1::OrganisationAlias* alias = org.add_aliases();
  alias->mutable_names()->set_en("Turkic Council");
  alias->mutable_names()->set_ru("Тюркский совет");
  *alias->mutable_valid_until() = MakeDate(2021, 11, 12);
  EXPECT_EQ(Fields(org),
            "name: organisations/OTS\n"
            "names.en: Organization of Turkic States\n"
            "aliases[0].names.en: Turkic Council\n"
            "aliases[0].names.ru: Тюркский совет\n"
            "aliases[0].valid_until: 2021-11-12\n");
}

TEST(PrintFieldsTest, EmptyMessagePrintsNothing) { EXPECT_EQ(Fields(v1::Observer()), ""); }

TEST(DescribeErrorTest, PlainStatus) {
  EXPECT_EQ(DescribeError("GetObserver", absl::NotFoundError("no such observer")),
            "error: GetObserver: NOT_FOUND: no such observer\n");
}

TEST(DescribeErrorTest, ReasonMetadataAndViolationsOnTheirOwnLines) {
  const absl::Status status =
      MakeError(absl::StatusCode::kInvalidArgument, reason::kValidationFailed,
                "observer.citizenship: \"XX\" is not an ISO 3166-1 alpha-2 code",
                {{"election", "elections/kz-2021"}},
                {{"observer.citizenship", "\"XX\" is not an ISO 3166-1 alpha-2 code"}});
  EXPECT_EQ(DescribeError("CreateObserver", status),
            "error: CreateObserver: INVALID_ARGUMENT: observer.citizenship: \"XX\" is not an ISO "
            "3166-1 alpha-2 code\n"
            "  reason: VALIDATION_FAILED\n"
            "  election: elections/kz-2021\n"
            "  field observer.citizenship: \"XX\" is not an ISO 3166-1 alpha-2 code\n");
}

}  // namespace
}  // namespace observer::ctl
