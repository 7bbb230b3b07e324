#include "registry-service/src/domain/list_query.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <climits>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "common/errors.h"
#include "observer/registry/v1/resources.pb.h"

namespace observer::registry {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using Field = ObserverCondition::Field;

std::vector<std::string> FieldsOf(const absl::Status& status) {
  std::vector<std::string> fields;
  for (const FieldViolation& fv : GetErrorDetails(status).violations) fields.push_back(fv.field);
  return fields;
}

// --- Page sizes -----------------------------------------------------------------------------

TEST(EffectivePageSizeTest, DefaultsClampsAndPassesThrough) {
  EXPECT_EQ(EffectivePageSize(0).value_or(-1), 50);
  EXPECT_EQ(EffectivePageSize(1).value_or(-1), 1);
  EXPECT_EQ(EffectivePageSize(7).value_or(-1), 7);
  EXPECT_EQ(EffectivePageSize(1000).value_or(-1), 1000);
  EXPECT_EQ(EffectivePageSize(1001).value_or(-1), 1000);
  EXPECT_EQ(EffectivePageSize(INT_MAX).value_or(-1), 1000);
  EXPECT_EQ(kDefaultPageSize, 50);
  EXPECT_EQ(kMaxPageSize, 1000);
}

TEST(EffectivePageSizeTest, NegativeIsInvalidArgumentOnPageSize) {
  for (int size : {-1, -50, INT_MIN}) {
    absl::StatusOr<int> got = EffectivePageSize(size);
    EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument) << size;
    EXPECT_EQ(GetErrorDetails(got.status()).reason, reason::kValidationFailed) << size;
    EXPECT_THAT(FieldsOf(got.status()), ElementsAre("page_size")) << size;
  }
}

// --- Page tokens ----------------------------------------------------------------------------

TEST(PageTokenTest, RoundTripsTheLastKey) {
  for (const std::string& key :
       {std::string("kz-2021-majilis"), std::string("0123456789abcdef"), std::string("a|b|c"),
        std::string("with space/and\"quote"), std::string("\xd0\x90\xd0\xb1"), std::string("")}) {
    const std::string token = EncodePageToken("fp-1", key);
    absl::StatusOr<std::string> decoded = DecodePageToken(token, "fp-1");
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_EQ(*decoded, key);
  }
}

TEST(PageTokenTest, TokensAreOpaqueAndUrlSafe) {
  const std::string token = EncodePageToken("observers", "kz-2021/0123");
  EXPECT_EQ(token.find("kz-2021"), std::string::npos);
  for (char c : token) {
    EXPECT_TRUE(absl::ascii_isalnum(c) || c == '-' || c == '_') << token;
  }
}

TEST(PageTokenTest, EmptyTokenMeansFirstPage) {
  absl::StatusOr<std::string> decoded = DecodePageToken("", "fp");
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, "");
}

TEST(PageTokenTest, RejectsGarbage) {
  std::string raw_other_version;
  absl::WebSafeBase64Escape("p0|fp|key", &raw_other_version);
  for (const std::string& token :
       {std::string("!!not base64!!"), std::string("a b c"), std::string("kz-2021-majilis"),
        absl::WebSafeBase64Escape("hello"), absl::WebSafeBase64Escape("p1"),
        absl::WebSafeBase64Escape("p1|"), raw_other_version, std::string("%%%")}) {
    absl::StatusOr<std::string> decoded = DecodePageToken(token, "fp");
    EXPECT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument) << token;
    EXPECT_THAT(FieldsOf(decoded.status()), ElementsAre("page_token")) << token;
  }
}

TEST(PageTokenTest, RejectsTokensOfAnotherQuery) {
  const std::string token = EncodePageToken("elections", "kz-2021");
  for (const char* other : {"organisations", "election", "elections2", "", "ELECTIONS"}) {
    absl::StatusOr<std::string> decoded = DecodePageToken(token, other);
    EXPECT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument) << other;
    EXPECT_THAT(FieldsOf(decoded.status()), ElementsAre("page_token")) << other;
  }
}

// --- Filters --------------------------------------------------------------------------------

std::vector<ObserverCondition> Parse(absl::string_view filter) {
  absl::StatusOr<std::vector<ObserverCondition>> parsed = ParseObserverFilter(filter);
  EXPECT_TRUE(parsed.ok()) << filter << ": " << parsed.status();
  return parsed.value_or(std::vector<ObserverCondition>{});
}

ObserverCondition ParseOne(absl::string_view filter) {
  std::vector<ObserverCondition> conditions = Parse(filter);
  EXPECT_EQ(conditions.size(), 1u) << filter;
  if (conditions.size() != 1) return ObserverCondition{Field::kTag, false, "<none>", -1};
  return conditions[0];
}

MATCHER_P4(Condition, field, negated, text, number, "") {
  return arg.field == field && arg.negated == negated && arg.text == text && arg.number == number;
}

void ExpectBadFilter(absl::string_view filter) {
  absl::StatusOr<std::vector<ObserverCondition>> parsed = ParseObserverFilter(filter);
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << filter;
  EXPECT_EQ(GetErrorDetails(parsed.status()).reason, reason::kValidationFailed) << filter;
  EXPECT_THAT(FieldsOf(parsed.status()), ElementsAre("filter")) << filter;
}

TEST(ParseObserverFilterTest, EmptyFilterHasNoConditions) {
  EXPECT_THAT(Parse(""), IsEmpty());
  EXPECT_THAT(Parse("   "), IsEmpty());
}

TEST(ParseObserverFilterTest, Status) {
  EXPECT_THAT(ParseOne("status = ACCREDITED"),
              Condition(Field::kStatus, false, "", v1::OBSERVER_STATUS_ACCREDITED));
  EXPECT_THAT(ParseOne("status=SUBMITTED"),
              Condition(Field::kStatus, false, "", v1::OBSERVER_STATUS_SUBMITTED));
  EXPECT_THAT(ParseOne("status != WITHDRAWN"),
              Condition(Field::kStatus, true, "", v1::OBSERVER_STATUS_WITHDRAWN));
  EXPECT_THAT(ParseOne("status = \"SUSPENDED\""),
              Condition(Field::kStatus, false, "", v1::OBSERVER_STATUS_SUSPENDED));
  EXPECT_THAT(ParseOne("status = OBSERVER_STATUS_REJECTED"),
              Condition(Field::kStatus, false, "", v1::OBSERVER_STATUS_REJECTED));
}

TEST(ParseObserverFilterTest, Organisation) {
  EXPECT_THAT(ParseOne("organisation = \"OSCE-ODIHR\""),
              Condition(Field::kOrganisation, false, "organisations/OSCE-ODIHR", 0));
  EXPECT_THAT(ParseOne("organisation = organisations/OSCE-ODIHR"),
              Condition(Field::kOrganisation, false, "organisations/OSCE-ODIHR", 0));
  EXPECT_THAT(ParseOne("organisation != CIS-EC"),
              Condition(Field::kOrganisation, true, "organisations/CIS-EC", 0));
  EXPECT_THAT(ParseOne("sending_body.organisation = SCO"),
              Condition(Field::kOrganisation, false, "organisations/SCO", 0));
}

TEST(ParseObserverFilterTest, StateAndCitizenship) {
  EXPECT_THAT(ParseOne("state = DE"), Condition(Field::kState, false, "DE", 0));
  EXPECT_THAT(ParseOne("state != \"TR\""), Condition(Field::kState, true, "TR", 0));
  EXPECT_THAT(ParseOne("sending_body.state = UZ"), Condition(Field::kState, false, "UZ", 0));
  EXPECT_THAT(ParseOne("citizenship = RU"), Condition(Field::kCitizenship, false, "RU", 0));
  EXPECT_THAT(ParseOne("citizenship != KG"), Condition(Field::kCitizenship, true, "KG", 0));
}

TEST(ParseObserverFilterTest, Category) {
  EXPECT_THAT(ParseOne("category = SHORT_TERM"),
              Condition(Field::kCategory, false, "", v1::OBSERVER_CATEGORY_SHORT_TERM));
  EXPECT_THAT(ParseOne("category != OBSERVER_CATEGORY_LONG_TERM"),
              Condition(Field::kCategory, true, "", v1::OBSERVER_CATEGORY_LONG_TERM));
  EXPECT_THAT(ParseOne("category = \"HEAD_OF_DELEGATION\""),
              Condition(Field::kCategory, false, "", v1::OBSERVER_CATEGORY_HEAD_OF_DELEGATION));
}

TEST(ParseObserverFilterTest, Test) {
  EXPECT_THAT(ParseOne("test = true"), Condition(Field::kTest, false, "", 1));
  EXPECT_THAT(ParseOne("test = false"), Condition(Field::kTest, false, "", 0));
  EXPECT_THAT(ParseOne("test != true"), Condition(Field::kTest, true, "", 1));
}

TEST(ParseObserverFilterTest, Tags) {
  EXPECT_THAT(ParseOne("tags:\"batch-3\""), Condition(Field::kTag, false, "batch-3", 0));
  EXPECT_THAT(ParseOne("tags : batch-3"), Condition(Field::kTag, false, "batch-3", 0));
  EXPECT_THAT(ParseOne("tags != \"batch-3\""), Condition(Field::kTag, true, "batch-3", 0));
  EXPECT_THAT(ParseOne("tags:\"osce.core_team\""),
              Condition(Field::kTag, false, "osce.core_team", 0));
  EXPECT_THAT(ParseOne("tags:\"with \\\"quote\\\"\""),
              Condition(Field::kTag, false, "with \"quote\"", 0));
}

TEST(ParseObserverFilterTest, AndChainsKeepTheirOrder) {
  EXPECT_THAT(
      Parse("status = ACCREDITED AND organisation = \"OSCE-ODIHR\" AND tags:\"batch-3\" AND "
            "test = false AND citizenship != KZ"),
      ElementsAre(Condition(Field::kStatus, false, "", v1::OBSERVER_STATUS_ACCREDITED),
                  Condition(Field::kOrganisation, false, "organisations/OSCE-ODIHR", 0),
                  Condition(Field::kTag, false, "batch-3", 0),
                  Condition(Field::kTest, false, "", 0),
                  Condition(Field::kCitizenship, true, "KZ", 0)));
  EXPECT_THAT(Parse("state=DE AND state!=FR"),
              ElementsAre(Condition(Field::kState, false, "DE", 0),
                          Condition(Field::kState, true, "FR", 0)));
}

TEST(ParseObserverFilterTest, UnknownField) {
  ExpectBadFilter("colour = red");
  ExpectBadFilter("given_names = \"Ivan\"");
  ExpectBadFilter("id_document.number = 123");
}

TEST(ParseObserverFilterTest, BadValues) {
  ExpectBadFilter("status = BOGUS");
  ExpectBadFilter("status = UNSPECIFIED");
  ExpectBadFilter("status = OBSERVER_STATUS_UNSPECIFIED");
  ExpectBadFilter("category = UNSPECIFIED");
  ExpectBadFilter("category = NOPE");
  ExpectBadFilter("test = yes");
  ExpectBadFilter("test = 1");
  ExpectBadFilter("state = XX");
  ExpectBadFilter("state = de");
  ExpectBadFilter("citizenship = RUS");
  ExpectBadFilter("organisation = osce");
  ExpectBadFilter("organisation = \"organisations/\"");
}

TEST(ParseObserverFilterTest, BadSyntax) {
  ExpectBadFilter("status = ACCREDITED AND");
  ExpectBadFilter("AND status = ACCREDITED");
  ExpectBadFilter("status = ACCREDITED AND AND test = true");
  ExpectBadFilter("tags:\"batch-3");
  ExpectBadFilter("status = \"ACCREDITED");
  ExpectBadFilter("status = ACCREDITED OR status = SUBMITTED");
  ExpectBadFilter("status = ACCREDITED and test = true");
  ExpectBadFilter("status = ACCREDITED test = true");
  ExpectBadFilter("status =");
  ExpectBadFilter("status");
  ExpectBadFilter("= ACCREDITED");
  ExpectBadFilter("status ACCREDITED");
  ExpectBadFilter("status : ACCREDITED");
  ExpectBadFilter("status > ACCREDITED");
  ExpectBadFilter("status = (ACCREDITED)");
  ExpectBadFilter("NOT status = ACCREDITED");
  ExpectBadFilter("\"status\" = ACCREDITED");
  ExpectBadFilter("status = ACCREDITED; DROP TABLE observers");
}

TEST(ParseObserverFilterTest, RejectsOverlongFilters) {
  std::string filter = "status = ACCREDITED";
  while (filter.size() <= 2048) filter += " AND test = false";
  ExpectBadFilter(filter);
}

}  // namespace
}  // namespace observer::registry
