#include "tools/observerctl/csv.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace observer::ctl {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

std::vector<CsvRecord> MustParse(absl::string_view text) {
  absl::StatusOr<std::vector<CsvRecord>> r = ParseCsv(text);
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? *r : std::vector<CsvRecord>{};
}

// The error message of a parse that must fail with INVALID_ARGUMENT.
std::string ParseError(absl::string_view text) {
  absl::StatusOr<std::vector<CsvRecord>> r = ParseCsv(text);
  EXPECT_FALSE(r.ok());
  if (r.ok()) return "";
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(r.status().message());
}

TEST(ParseCsvTest, SimpleRecordsWithLineNumbers) {
  std::vector<CsvRecord> r = MustParse("a,b,c\n1,2,3\n");
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].line, 1);
  EXPECT_THAT(r[0].fields, ElementsAre("a", "b", "c"));
  EXPECT_EQ(r[1].line, 2);
  EXPECT_THAT(r[1].fields, ElementsAre("1", "2", "3"));
}

TEST(ParseCsvTest, LastLineWithoutNewline) {
  std::vector<CsvRecord> r = MustParse("a,b\nc,d");
  ASSERT_EQ(r.size(), 2u);
  EXPECT_THAT(r[1].fields, ElementsAre("c", "d"));
}

TEST(ParseCsvTest, EmptyInput) {
  EXPECT_THAT(MustParse(""), IsEmpty());
  EXPECT_THAT(MustParse("\n\n"), IsEmpty());
}

TEST(ParseCsvTest, EmptyFields) {
  std::vector<CsvRecord> r = MustParse("a,,\n,\n,b\n");
  ASSERT_EQ(r.size(), 3u);
  EXPECT_THAT(r[0].fields, ElementsAre("a", "", ""));
  EXPECT_THAT(r[1].fields, ElementsAre("", ""));
  EXPECT_THAT(r[2].fields, ElementsAre("", "b"));
}

TEST(ParseCsvTest, SpacesAreKept) {
  std::vector<CsvRecord> r = MustParse(" a , b\n");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_THAT(r[0].fields, ElementsAre(" a ", " b"));
}

TEST(ParseCsvTest, QuotedFieldsWithCommasAndDoubledQuotes) {
  std::vector<CsvRecord> r = MustParse("\"a,b\",\"say \"\"hi\"\"\",plain,\"\",\"\"\"\"\n");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_THAT(r[0].fields, ElementsAre("a,b", "say \"hi\"", "plain", "", "\""));
}

TEST(ParseCsvTest, EmbeddedNewlinesKeepTheStartLine) {
  std::vector<CsvRecord> r = MustParse("h1,h2\n\"multi\nline\",x\nnext,\"a\nb\nc\"\nlast,z\n");
  ASSERT_EQ(r.size(), 4u);
  EXPECT_EQ(r[0].line, 1);
  EXPECT_EQ(r[1].line, 2);
  EXPECT_THAT(r[1].fields, ElementsAre("multi\nline", "x"));
  EXPECT_EQ(r[2].line, 4);
  EXPECT_THAT(r[2].fields, ElementsAre("next", "a\nb\nc"));
  EXPECT_EQ(r[3].line, 7);
  EXPECT_THAT(r[3].fields, ElementsAre("last", "z"));
}

TEST(ParseCsvTest, CrlfAndLfLineEnds) {
  std::vector<CsvRecord> r = MustParse("a,b\r\nc,d\r\ne,f\ng,h\r\n");
  ASSERT_EQ(r.size(), 4u);
  EXPECT_THAT(r[0].fields, ElementsAre("a", "b"));
  EXPECT_THAT(r[1].fields, ElementsAre("c", "d"));
  EXPECT_THAT(r[2].fields, ElementsAre("e", "f"));
  EXPECT_THAT(r[3].fields, ElementsAre("g", "h"));
  EXPECT_EQ(r[0].line, 1);
  EXPECT_EQ(r[1].line, 2);
  EXPECT_EQ(r[2].line, 3);
  EXPECT_EQ(r[3].line, 4);
}

TEST(ParseCsvTest, CrlfInsideQuotedFieldIsKept) {
  std::vector<CsvRecord> r = MustParse("\"one\r\ntwo\",x\r\ny,z\r\n");
  ASSERT_EQ(r.size(), 2u);
  EXPECT_THAT(r[0].fields, ElementsAre("one\r\ntwo", "x"));
  EXPECT_EQ(r[1].line, 3);
}

TEST(ParseCsvTest, ByteOrderMarkIsSkipped) {
  std::vector<CsvRecord> r = MustParse("\xEF\xBB\xBFgiven_names,family_name\nA,B\n");
  ASSERT_EQ(r.size(), 2u);
  EXPECT_THAT(r[0].fields, ElementsAre("given_names", "family_name"));
  EXPECT_EQ(r[0].line, 1);
}

TEST(ParseCsvTest, BlankLinesAreSkipped) {
  std::vector<CsvRecord> r = MustParse("a,b\n\n\r\nc,d\n\n");
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].line, 1);
  EXPECT_EQ(r[1].line, 4);
  EXPECT_THAT(r[1].fields, ElementsAre("c", "d"));
}

TEST(ParseCsvTest, UnterminatedQuoteNamesItsStartLine) {
  const std::string error = ParseError("a,b\nc,\"open\nmore\nstill\n");
  EXPECT_THAT(error, HasSubstr("line 2"));
  EXPECT_THAT(error, HasSubstr("not closed"));
}

TEST(ParseCsvTest, QuoteInsideUnquotedFieldIsAnError) {
  const std::string error = ParseError("a,b\nab\"c,d\n");
  EXPECT_THAT(error, HasSubstr("line 2"));
  EXPECT_THAT(error, HasSubstr("inside an unquoted field"));
}

TEST(ParseCsvTest, TextAfterClosingQuoteIsAnError) {
  const std::string error = ParseError("x,y\nz,\"ab\"c\n");
  EXPECT_THAT(error, HasSubstr("line 2"));
  EXPECT_THAT(error, HasSubstr("after a closing quote"));
}

TEST(ParseCsvTest, TextAfterClosingQuoteOfMultiLineFieldNamesTheLineOfTheText) {
  const std::string error = ParseError("x\n\"a\nb\"junk\n");
  EXPECT_THAT(error, HasSubstr("line 3"));
}

TEST(ParseCsvTest, NulByteIsAnError) {
  EXPECT_THAT(ParseError(std::string("a,b\0c\n", 6)), HasSubstr("NUL"));
}

TEST(ParseCsvTest, Cp1251IsRefusedWithLineAndByte) {
  // "Иван" in CP1251 on line 2, starting at the third byte of the line.
  const std::string error = ParseError("name,x\nx,\xC8\xE2\xE0\xED\n");
  EXPECT_THAT(error, HasSubstr("line 2, byte 3"));
  EXPECT_THAT(error, HasSubstr("not UTF-8"));
}

TEST(ParseCsvTest, OverlongEncodingIsRefused) {
  EXPECT_THAT(ParseError("ab\xC0\xAF\n"), HasSubstr("line 1, byte 3"));
  EXPECT_THAT(ParseError("\xE0\x80\xAF\n"), HasSubstr("line 1, byte 1"));
}

TEST(ParseCsvTest, SurrogateIsRefused) {
  EXPECT_THAT(ParseError("ok\nx,\xED\xA0\x80\n"), HasSubstr("line 2, byte 3"));
}

TEST(ParseCsvTest, CodePointAboveMaximumIsRefused) {
  EXPECT_THAT(ParseError("\xF4\x90\x80\x80"), HasSubstr("line 1, byte 1"));
}

TEST(ParseCsvTest, TruncatedSequenceAtEndIsRefused) {
  EXPECT_THAT(ParseError("a,b\nabc\xD0"), HasSubstr("line 2, byte 4"));
  EXPECT_THAT(ParseError("a,b\nabc\xE2\x82"), HasSubstr("line 2, byte 4"));
  EXPECT_THAT(ParseError("\xF0\x9F\x98"), HasSubstr("line 1, byte 1"));
}

TEST(ParseCsvTest, InvalidByteInsideMultiLineQuotedFieldCountsItsLine) {
  EXPECT_THAT(ParseError("\"a\nbb\xFF\"\n"), HasSubstr("line 2, byte 3"));
}

TEST(ParseCsvTest, Utf16IsRefusedWithAHint) {
  const std::string le("\xFF\xFEn\0a\0m\0e\0\n\0", 12);
  EXPECT_THAT(ParseError(le), HasSubstr("UTF-16"));
  const std::string be("\xFE\xFF\0n\0a\0m\0e\0\n", 12);
  EXPECT_THAT(ParseError(be), HasSubstr("UTF-16"));
}

TEST(ParseCsvTest, CyrillicKazakhAndOtherScriptsAreAccepted) {
  std::vector<CsvRecord> r = MustParse(
      "given_names,family_name,note\n"
      "Әлия,Нұрланқызы,\"Қазақстан, Алматы\"\n"
      "Иван,Петров,日本 😀\n");
  ASSERT_EQ(r.size(), 3u);
  EXPECT_THAT(r[1].fields, ElementsAre("Әлия", "Нұрланқызы", "Қазақстан, Алматы"));
  EXPECT_THAT(r[2].fields, ElementsAre("Иван", "Петров", "日本 😀"));
}

TEST(FindInvalidUtf8Test, ReportsLineAndByte) {
  const Utf8Error ok = FindInvalidUtf8("Әлия Нұрланқызы\nx\n");
  EXPECT_EQ(ok.line, 0);
  const Utf8Error bad = FindInvalidUtf8("ok\nӘ\xC8\xE2\xE0\xED\n");
  EXPECT_EQ(bad.line, 2);
  EXPECT_EQ(bad.byte_in_line, 3);  // "Ә" takes bytes 1 and 2.
  const Utf8Error lone = FindInvalidUtf8("\x80");
  EXPECT_EQ(lone.line, 1);
  EXPECT_EQ(lone.byte_in_line, 1);
}

TEST(CsvLineTest, PlainFieldsAreNotQuoted) {
  EXPECT_EQ(CsvLine({"a", "b c", "Әлия"}), "a,b c,Әлия\n");
  EXPECT_EQ(CsvLine({"", "x", ""}), ",x,\n");
}

TEST(CsvLineTest, QuotesFieldsWithCommaQuoteOrLineBreak) {
  EXPECT_EQ(CsvLine({"a,b"}), "\"a,b\"\n");
  EXPECT_EQ(CsvLine({"say \"hi\""}), "\"say \"\"hi\"\"\"\n");
  EXPECT_EQ(CsvLine({"one\ntwo"}), "\"one\ntwo\"\n");
  EXPECT_EQ(CsvLine({"one\rtwo"}), "\"one\rtwo\"\n");
  EXPECT_EQ(CsvLine({"x", "\"", "y"}), "x,\"\"\"\",y\n");
}

TEST(CsvLineTest, RoundTripsTrickyFields) {
  const std::vector<std::string> fields = {
      "",
      "plain",
      "a,b",
      "\"",
      "\"\"",
      "say \"hi\", then leave",
      "line1\nline2",
      "crlf\r\nend",
      "cr\ronly",
      " spaced ",
      "Әлия Нұрланқызы",
      "trailing,",
      ",leading",
      "\"quoted\" start",
      "",
  };
  absl::StatusOr<std::vector<CsvRecord>> r = ParseCsv(CsvLine(fields));
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].fields, fields);
  EXPECT_EQ((*r)[0].line, 1);
}

TEST(CsvLineTest, RoundTripsEveryTrickyFieldAlone) {
  for (const std::string& f : {std::string("a,b"), std::string("\""), std::string("x\ny"),
                               std::string("x\r\ny"), std::string(" "), std::string("Қ")}) {
    absl::StatusOr<std::vector<CsvRecord>> r = ParseCsv(CsvLine({f}));
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_EQ(r->size(), 1u) << f;
    EXPECT_THAT((*r)[0].fields, ElementsAre(f));
  }
}

TEST(CsvLineTest, RoundTripsSeveralRecordsWithLines) {
  const std::string text =
      CsvLine({"a", "multi\nline"}) + CsvLine({"b", "x"}) + CsvLine({"c", "\"q\""});
  std::vector<CsvRecord> r = MustParse(text);
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].line, 1);
  EXPECT_EQ(r[1].line, 3);
  EXPECT_EQ(r[2].line, 4);
  EXPECT_THAT(r[2].fields, ElementsAre("c", "\"q\""));
}

// A record of one empty field (a one-column file with an empty value) must survive the round
// trip; it is a record, not a blank line.
TEST(CsvLineTest, RoundTripsSingleEmptyField) {
  absl::StatusOr<std::vector<CsvRecord>> r = ParseCsv(CsvLine({""}));
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->size(), 1u) << "CsvLine({\"\"}) = \"" << CsvLine({""}) << "\"";
  EXPECT_THAT((*r)[0].fields, ElementsAre(""));
}

// A line holding only a quoted empty field is a record of one empty field, not a blank line.
TEST(ParseCsvTest, QuotedEmptyFieldAloneIsARecord) {
  std::vector<CsvRecord> r = MustParse("a\n\"\"\nb\n");
  ASSERT_EQ(r.size(), 3u);
  EXPECT_THAT(r[1].fields, ElementsAre(""));
  EXPECT_EQ(r[1].line, 2);
}

}  // namespace
}  // namespace observer::ctl
