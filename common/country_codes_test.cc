#include "common/country_codes.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "absl/status/status.h"

namespace observer {
namespace {

std::string WriteTempFile(const std::string& name, const std::string& content) {
  const std::string path = ::testing::TempDir() + name;
  std::ofstream(path) << content;
  return path;
}

TEST(CountryCodesTest, KnowsCommonCodes) {
  const CountryCodes& codes = CountryCodes::Default();
  for (const char* code : {"KZ", "DE", "PS", "GB", "US", "TW"}) {
    EXPECT_TRUE(codes.Contains(code)) << code;
  }
  EXPECT_EQ(codes.Name("KZ"), "Kazakhstan");
  EXPECT_EQ(codes.Name("DE"), "Germany");
  EXPECT_EQ(codes.Name("GB"), "United Kingdom");
  EXPECT_FALSE(codes.Name("PS").empty());
  EXPECT_EQ(codes.Name("CI"), "C\xc3\xb4te d'Ivoire");
}

TEST(CountryCodesTest, PrefersCommonName) {
  EXPECT_EQ(CountryCodes::Default().Name("TW"), "Taiwan");
}

TEST(CountryCodesTest, RejectsAnythingButKnownUpperCasePairs) {
  const CountryCodes& codes = CountryCodes::Default();
  for (const char* code : {"kz", "Kz", "XX", "", "K", "KAZ", "K1", " KZ", "KZ "}) {
    EXPECT_FALSE(codes.Contains(code)) << '"' << code << '"';
    EXPECT_EQ(codes.Name(code), "") << '"' << code << '"';
  }
}

TEST(CountryCodesTest, HasTheWholeTable) { EXPECT_GE(CountryCodes::Default().size(), 249u); }

TEST(CountryCodesTest, DefaultIsLoadedOnce) {
  EXPECT_EQ(&CountryCodes::Default(), &CountryCodes::Default());
}

TEST(CountryCodesTest, LoadsAMinimalFile) {
  const std::string path = WriteTempFile("minimal_3166.json",
                                         R"({"3166-1": [{"alpha_2": "AA", "name": "Alpha"},
                     {"alpha_2": "BB", "name": "Beta, Republic of", "common_name": "Beta"}]})");
  absl::StatusOr<CountryCodes> codes = CountryCodes::Load(path);
  ASSERT_TRUE(codes.ok()) << codes.status();
  EXPECT_EQ(codes->size(), 2u);
  EXPECT_EQ(codes->Name("AA"), "Alpha");
  EXPECT_EQ(codes->Name("BB"), "Beta");
  EXPECT_FALSE(codes->Contains("KZ"));
}

TEST(CountryCodesTest, DecodesJsonEscapesAndSkipsOtherValues) {
  const std::string path = WriteTempFile(
      "escaped_3166.json",
      R"( {"3166-1" : [ {"alpha_2":"CI", "name":"C\u00f4te d\u0027Ivoire \"x\"\\\/\t"},
                        {"alpha_2":"AA", "numeric": -1.5e+2, "flag": null, "x": [true, false],
                         "nested": {"a": [0, {}]}, "name":"Smile \ud83d\ude00"} ] } )");
  absl::StatusOr<CountryCodes> codes = CountryCodes::Load(path);
  ASSERT_TRUE(codes.ok()) << codes.status();
  EXPECT_EQ(codes->Name("CI"), "C\xc3\xb4te d'Ivoire \"x\"\\/\t");
  EXPECT_EQ(codes->Name("AA"), "Smile \xf0\x9f\x98\x80");
}

TEST(CountryCodesTest, MissingFileIsNotFound) {
  const std::string path = ::testing::TempDir() + "no_such_dir/iso_3166-1.json";
  absl::StatusOr<CountryCodes> codes = CountryCodes::Load(path);
  ASSERT_FALSE(codes.ok());
  EXPECT_EQ(codes.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(codes.status().message().find(path), absl::string_view::npos) << codes.status();
}

TEST(CountryCodesTest, MalformedFilesAreInvalidArgument) {
  const struct {
    const char* name;
    const char* content;
    const char* expected_problem;
  } cases[] = {
      {"empty.json", "", "unexpected end of input at byte 0"},
      {"truncated.json", R"({"3166-1": [)", "unexpected end of input at byte 12"},
      {"trailing_comma.json", R"({"3166-1": [{"alpha_2": "KZ", "name": "x"},]})",
       "unexpected character at byte 43"},
      {"raw_newline.json", "{\"3166-1\": [{\"alpha_2\": \"KZ\", \"name\": \"x\ny\"}]}",
       "control character"},
      {"bad_escape.json", R"({"3166-1": [{"alpha_2": "KZ", "name": "\q"}]})", "bad escape"},
      {"lone_surrogate.json", R"({"3166-1": [{"alpha_2": "KZ", "name": "\ud800"}]})",
       "missing low surrogate"},
      {"leading_zero.json", R"({"3166-1": [], "n": 01})", "expected ',' or '}'"},
      {"garbage_after.json", R"({"3166-1": []} x)", "after the top-level value"},
      {"top_level_array.json", "[1, 2]", "no \"3166-1\" array"},
      {"no_list.json", R"({"3166": []})", "no \"3166-1\" array"},
      {"empty_list.json", R"({"3166-1": []})", "empty"},
      {"not_object.json", R"({"3166-1": ["KZ"]})", "entry 0 is not an object"},
      {"bad_code.json", R"({"3166-1": [{"alpha_2": "kz", "name": "x"}]})", "alpha_2"},
      {"no_name.json", R"({"3166-1": [{"alpha_2": "KZ"}]})", "has no \"name\""},
      {"repeated.json",
       R"({"3166-1": [{"alpha_2": "KZ", "name": "x"}, {"alpha_2": "KZ", "name": "y"}]})",
       "entry 1 repeats the code KZ"},
  };
  for (const auto& c : cases) {
    const std::string path = WriteTempFile(c.name, c.content);
    absl::StatusOr<CountryCodes> codes = CountryCodes::Load(path);
    ASSERT_FALSE(codes.ok()) << c.name;
    EXPECT_EQ(codes.status().code(), absl::StatusCode::kInvalidArgument) << c.name;
    EXPECT_NE(codes.status().message().find(path), absl::string_view::npos) << codes.status();
    EXPECT_NE(codes.status().message().find(c.expected_problem), absl::string_view::npos)
        << codes.status();
  }
}

TEST(CountryCodesTest, DeepNestingIsRejectedNotACrash) {
  const std::string path =
      WriteTempFile("deep.json", std::string(100000, '[') + std::string(100000, ']'));
  absl::StatusOr<CountryCodes> codes = CountryCodes::Load(path);
  ASSERT_FALSE(codes.ok());
  EXPECT_NE(codes.status().message().find("nesting too deep"), absl::string_view::npos)
      << codes.status().code();
}

}  // namespace
}  // namespace observer
