#include "stats-service/src/aggregate/regions.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace observer::stats {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// The 31 foreign states of the 2021 Kazakh elections, in the article's three lists.
const std::vector<std::string> kPostSoviet = {"KG", "MD", "TR", "AZ", "AM", "UZ", "UA", "RU", "EE"};
const std::vector<std::string> kEuropean = {"RO", "HU", "ES", "FR", "IT", "DE", "BE",
                                            "CH", "PL", "CZ", "FI", "NO", "SE", "GB"};
const std::vector<std::string> kOthers = {"MN", "IN", "PH", "PS", "CA", "MV", "ID", "JO"};

std::vector<std::string> AllStates() {
  std::vector<std::string> all = kPostSoviet;
  all.insert(all.end(), kEuropean.begin(), kEuropean.end());
  all.insert(all.end(), kOthers.begin(), kOthers.end());
  return all;
}

// The key of the group `scheme` places `country` in, or "" when it places it nowhere.
std::string KeyOf(const RegionScheme& scheme, absl::string_view country) {
  const RegionGroup* group = scheme.GroupOf(country);
  return group == nullptr ? "" : group->key;
}

// Group key → number of `countries` the scheme places there ("" counts the unplaced ones).
std::map<std::string, int> CountByGroup(const RegionScheme& scheme,
                                        const std::vector<std::string>& countries) {
  std::map<std::string, int> counts;
  for (const std::string& country : countries) {
    ++counts[KeyOf(scheme, country)];
  }
  return counts;
}

std::string RealSchemeFile() {
  return absl::StrCat(OBSERVER_REGION_SCHEMES_DIR, "/kz2021-article.scheme");
}

std::unique_ptr<RegionDirectory> BuiltInOnly() {
  absl::StatusOr<std::unique_ptr<RegionDirectory>> directory =
      RegionDirectory::Create(CountryCodes::Default(), {});
  EXPECT_TRUE(directory.ok()) << directory.status();
  return directory.ok() ? *std::move(directory) : nullptr;
}

TEST(ParseLanguageTest, AcceptsEnRuKkInAnyCase) {
  const std::vector<std::pair<std::string, Language>> cases = {
      {"en", Language::kEn},    {"ru", Language::kRu},         {"kk", Language::kKk},
      {"EN", Language::kEn},    {"Ru", Language::kRu},         {"kK", Language::kKk},
      {"ru-KZ", Language::kRu}, {"kk-KZ", Language::kKk},      {"en-GB", Language::kEn},
      {"kk_KZ", Language::kKk}, {"kk-Cyrl-KZ", Language::kKk},
  };
  for (const auto& [code, expected] : cases) {
    // Start from a value other than the expected one, so that an untouched result fails.
    Language language = expected == Language::kEn ? Language::kKk : Language::kEn;
    EXPECT_TRUE(ParseLanguage(code, &language)) << code;
    EXPECT_EQ(language, expected) << code;
  }
}

TEST(ParseLanguageTest, EmptyMeansEnglish) {
  Language language = Language::kRu;
  EXPECT_TRUE(ParseLanguage("", &language));
  EXPECT_EQ(language, Language::kEn);
}

TEST(ParseLanguageTest, RejectsOtherLanguagesAndLeavesTheResultAlone) {
  for (const char* code :
       {"de", "kz", "eng", "rus", "r", "russian", "ru-", "-ru", "-", " ru", "ru ", "en,ru", "*"}) {
    Language language = Language::kRu;
    EXPECT_FALSE(ParseLanguage(code, &language)) << '"' << code << '"';
    EXPECT_EQ(language, Language::kRu) << '"' << code << '"';
  }
}

TEST(M49Test, ContinentsOfTheThirtyOneStates) {
  std::unique_ptr<RegionDirectory> directory = BuiltInOnly();
  ASSERT_NE(directory, nullptr);
  const RegionScheme* continents = directory->Find(kM49ContinentScheme);
  ASSERT_NE(continents, nullptr);
  EXPECT_EQ(CountByGroup(*continents, AllStates()),
            (std::map<std::string, int>{{"150", 18}, {"142", 12}, {"019", 1}}));
  EXPECT_EQ(KeyOf(*continents, "CA"), "019");
  EXPECT_EQ(KeyOf(*continents, "TR"), "142");
  EXPECT_EQ(KeyOf(*continents, "RU"), "150");
}

TEST(M49Test, SubregionOfKazakhstanIsCentralAsia) {
  std::unique_ptr<RegionDirectory> directory = BuiltInOnly();
  ASSERT_NE(directory, nullptr);
  const RegionScheme* subregions = directory->Find(kM49SubregionScheme);
  ASSERT_NE(subregions, nullptr);
  const RegionGroup* group = subregions->GroupOf("KZ");
  ASSERT_NE(group, nullptr);
  EXPECT_EQ(group->key, "143");
  EXPECT_EQ(group->name_en, "Central Asia");
  EXPECT_EQ(KeyOf(*subregions, "DE"), "155");  // Western Europe.
}

TEST(M49Test, EuropeHasDistinctEnglishAndRussianNames) {
  std::unique_ptr<RegionDirectory> directory = BuiltInOnly();
  ASSERT_NE(directory, nullptr);
  const RegionGroup* europe = directory->Find(kM49ContinentScheme)->GroupOf("FR");
  ASSERT_NE(europe, nullptr);
  ASSERT_EQ(europe->key, "150");
  EXPECT_EQ(europe->Name(Language::kEn), "Europe");
  EXPECT_FALSE(europe->Name(Language::kRu).empty());
  EXPECT_NE(europe->Name(Language::kRu), europe->Name(Language::kEn));
  EXPECT_FALSE(europe->name_ru.empty());
  EXPECT_FALSE(europe->name_kk.empty());
}

TEST(M49Test, GroupsAreOrderedByKeyAndNamed) {
  std::unique_ptr<RegionDirectory> directory = BuiltInOnly();
  ASSERT_NE(directory, nullptr);
  const std::vector<RegionGroup>& continents = directory->Find(kM49ContinentScheme)->groups();
  std::vector<std::string> keys;
  for (const RegionGroup& group : continents) keys.push_back(group.key);
  EXPECT_THAT(keys, ElementsAre("002", "009", "019", "142", "150"));

  for (absl::string_view name : {kM49ContinentScheme, kM49SubregionScheme}) {
    const std::vector<RegionGroup>& groups = directory->Find(name)->groups();
    EXPECT_GT(groups.size(), 1u) << name;
    for (size_t i = 0; i < groups.size(); ++i) {
      EXPECT_FALSE(groups[i].name_en.empty()) << name << " " << groups[i].key;
      EXPECT_NE(groups[i].name_en, groups[i].key) << name;
      if (i > 0) {
        EXPECT_LT(groups[i - 1].key, groups[i].key) << name;
      }
    }
  }
}

TEST(M49Test, PlacesEveryKnownCountryAndNothingElse) {
  std::unique_ptr<RegionDirectory> directory = BuiltInOnly();
  ASSERT_NE(directory, nullptr);
  const CountryCodes& codes = CountryCodes::Default();
  for (absl::string_view name : {kM49ContinentScheme, kM49SubregionScheme}) {
    const RegionScheme* scheme = directory->Find(name);
    size_t placed = 0;
    for (char first = 'A'; first <= 'Z'; ++first) {
      for (char second = 'A'; second <= 'Z'; ++second) {
        const std::string code{first, second};
        if (scheme->GroupOf(code) != nullptr) {
          EXPECT_TRUE(codes.Contains(code)) << name << " places " << code;
          ++placed;
        }
      }
    }
    EXPECT_EQ(placed, codes.size()) << name;
    for (const char* code : {"", "kz", "KAZ", "XK", "EU", "150"}) {
      EXPECT_EQ(scheme->GroupOf(code), nullptr) << name << " " << code;
    }
  }
}

TEST(M49Test, CountryIcuCannotPlaceIsNotPlaced) {
  const std::string path = ::testing::TempDir() + "regions_test_codes.json";
  std::ofstream(path) << R"({"3166-1": [{"alpha_2": "AA", "name": "Alphaland"},
                                        {"alpha_2": "DE", "name": "Germany"}]})";
  absl::StatusOr<CountryCodes> codes = CountryCodes::Load(path);
  std::filesystem::remove(path);
  ASSERT_TRUE(codes.ok()) << codes.status();
  absl::StatusOr<std::unique_ptr<RegionDirectory>> directory = RegionDirectory::Create(*codes, {});
  ASSERT_TRUE(directory.ok()) << directory.status();
  const RegionScheme* continents = (*directory)->Find(kM49ContinentScheme);
  EXPECT_EQ(continents->GroupOf("AA"), nullptr);
  ASSERT_NE(continents->GroupOf("DE"), nullptr);
  EXPECT_THAT(continents->groups(), ::testing::SizeIs(1));
  // ICU has no name for AA either: every language falls back to English.
  EXPECT_EQ((*directory)->CountryName("AA", Language::kRu), "Alphaland");
  EXPECT_EQ((*directory)->CountryName("AA", Language::kKk), "Alphaland");
  EXPECT_EQ((*directory)->CountryName("DE", Language::kRu), "Германия");
}

TEST(CountryNameTest, EnglishFromIsoCodesOthersFromIcu) {
  std::unique_ptr<RegionDirectory> directory = BuiltInOnly();
  ASSERT_NE(directory, nullptr);
  EXPECT_EQ(directory->CountryName("DE", Language::kEn), "Germany");
  EXPECT_EQ(directory->CountryName("DE", Language::kRu), "Германия");
  EXPECT_EQ(directory->CountryName("KZ", Language::kRu), "Казахстан");
  EXPECT_EQ(directory->CountryName("KZ", Language::kKk), "Қазақстан");
  EXPECT_EQ(directory->CountryName("TW", Language::kEn), "Taiwan");
}

TEST(CountryNameTest, EmptyForUnknownCodes) {
  std::unique_ptr<RegionDirectory> directory = BuiltInOnly();
  ASSERT_NE(directory, nullptr);
  for (const char* code : {"XX", "de", "", "DEU", "150"}) {
    for (Language language : {Language::kEn, Language::kRu, Language::kKk}) {
      EXPECT_EQ(directory->CountryName(code, language), "") << code;
    }
  }
}

TEST(DirectoryTest, FindUnknownSchemeIsNull) {
  std::unique_ptr<RegionDirectory> directory = BuiltInOnly();
  ASSERT_NE(directory, nullptr);
  EXPECT_EQ(directory->Find("kz2021-article"), nullptr);
  EXPECT_EQ(directory->Find(""), nullptr);
  EXPECT_EQ(directory->Find("M49-CONTINENT"), nullptr);
  EXPECT_NE(directory->Find(kM49ContinentScheme), nullptr);
}

TEST(RealSchemeFileTest, PlacesTheThirtyOneStatesAsTheArticle) {
  absl::StatusOr<std::unique_ptr<RegionDirectory>> directory =
      RegionDirectory::Create(CountryCodes::Default(), {RealSchemeFile()});
  ASSERT_TRUE(directory.ok()) << directory.status();
  const RegionScheme* scheme = (*directory)->Find("kz2021-article");
  ASSERT_NE(scheme, nullptr);
  EXPECT_FALSE(scheme->title().empty());

  EXPECT_EQ(CountByGroup(*scheme, AllStates()),
            (std::map<std::string, int>{{"post-soviet", 9}, {"europe", 14}, {"other", 8}}));
  for (const std::string& country : kPostSoviet) {
    EXPECT_EQ(KeyOf(*scheme, country), "post-soviet") << country;
  }
  for (const std::string& country : kEuropean) {
    EXPECT_EQ(KeyOf(*scheme, country), "europe") << country;
  }
  for (const std::string& country : kOthers) {
    EXPECT_EQ(KeyOf(*scheme, country), "other") << country;
  }

  std::vector<std::string> keys;
  for (const RegionGroup& group : scheme->groups()) keys.push_back(group.key);
  EXPECT_THAT(keys, ElementsAre("post-soviet", "europe", "other"));
  EXPECT_EQ(scheme->groups()[0].Name(Language::kEn), "Post-Soviet space");
  EXPECT_EQ(scheme->groups()[0].Name(Language::kRu), "Постсоветское пространство");
  for (const RegionGroup& group : scheme->groups()) {
    EXPECT_FALSE(group.name_ru.empty()) << group.key;
  }
}

TEST(RealSchemeFileTest, UnlistedCountryFallsIntoOther) {
  absl::StatusOr<std::unique_ptr<RegionDirectory>> directory =
      RegionDirectory::Create(CountryCodes::Default(), {RealSchemeFile()});
  ASSERT_TRUE(directory.ok()) << directory.status();
  const RegionScheme* scheme = (*directory)->Find("kz2021-article");
  ASSERT_NE(scheme, nullptr);
  for (const char* country : {"BR", "US", "KZ"}) {
    const RegionGroup* group = scheme->GroupOf(country);
    ASSERT_NE(group, nullptr) << country;
    EXPECT_EQ(group->key, "other") << country;
  }
  // The default is for countries, not for anything at all.
  EXPECT_EQ(scheme->GroupOf("XX"), nullptr);
  EXPECT_EQ(scheme->GroupOf("br"), nullptr);
  EXPECT_EQ(scheme->GroupOf(""), nullptr);
}

// Writes scheme files into a fresh temporary directory, removed after the test.
class SchemeFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "regions_test_XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr) << pattern;
    dir_ = pattern;
  }
  void TearDown() override {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  std::string Write(const std::string& name, const std::string& content) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::binary) << content;
    return path;
  }

  absl::StatusOr<std::unique_ptr<RegionDirectory>> Load(const std::vector<std::string>& paths) {
    return RegionDirectory::Create(CountryCodes::Default(), paths);
  }

  std::string dir_;
};

TEST_F(SchemeFileTest, ReadsCommentsBlankLinesAndOptionalParts) {
  const std::string path = Write("custom.scheme",
                                 "\xEF\xBB\xBF# A comment\r\n"
                                 "\r\n"
                                 "scheme cis-eu-other   # trailing comment\r\n"
                                 "group cis\n"
                                 "name.en\tCIS\n"
                                 "countries RU   KZ\tBY\n"
                                 "countries KG\n"
                                 "group eu\n"
                                 "  name.en   Group#1 of the EU  \n"
                                 "name.ru Евросоюз\n"
                                 "countries DE FR\n");
  absl::StatusOr<std::unique_ptr<RegionDirectory>> directory = Load({path});
  ASSERT_TRUE(directory.ok()) << directory.status();
  const RegionScheme* scheme = (*directory)->Find("cis-eu-other");
  ASSERT_NE(scheme, nullptr);
  EXPECT_EQ(scheme->title(), "cis-eu-other");  // No title line: the name.
  ASSERT_EQ(scheme->groups().size(), 2u);
  const RegionGroup& cis = scheme->groups()[0];
  const RegionGroup& eu = scheme->groups()[1];
  EXPECT_EQ(cis.key, "cis");
  EXPECT_EQ(cis.name_en, "CIS");
  EXPECT_EQ(cis.Name(Language::kRu), "CIS");  // No name.ru: English.
  EXPECT_EQ(cis.Name(Language::kKk), "CIS");
  EXPECT_EQ(eu.name_en, "Group#1 of the EU");
  EXPECT_EQ(eu.Name(Language::kRu), "Евросоюз");
  EXPECT_EQ(eu.Name(Language::kKk), "Group#1 of the EU");
  for (const char* country : {"RU", "KZ", "BY", "KG"}) {
    EXPECT_EQ(scheme->GroupOf(country), &cis) << country;
  }
  EXPECT_EQ(scheme->GroupOf("DE"), &eu);
  EXPECT_EQ(scheme->GroupOf("BR"), nullptr);  // No default line.
}

TEST_F(SchemeFileTest, KeysMayBeSixtyThreeCharacters) {
  const std::string key(63, 'k');
  const std::string path = Write("long.scheme", absl::StrCat("scheme ", key, "\ngroup ", key,
                                                             "\nname.en Long\ntitle A title\n"));
  absl::StatusOr<std::unique_ptr<RegionDirectory>> directory = Load({path});
  ASSERT_TRUE(directory.ok()) << directory.status();
  ASSERT_NE((*directory)->Find(key), nullptr);
  EXPECT_EQ((*directory)->Find(key)->title(), "A title");
  EXPECT_EQ((*directory)->Find(key)->groups()[0].key, key);
}

TEST_F(SchemeFileTest, SchemesAreBuiltInFirstThenInFileOrder) {
  const std::string b = Write("b.scheme", "scheme zeta\ngroup g\nname.en G\n");
  const std::string a = Write("a.scheme", "scheme alpha\ngroup g\nname.en G\n");
  absl::StatusOr<std::unique_ptr<RegionDirectory>> directory = Load({b, RealSchemeFile(), a});
  ASSERT_TRUE(directory.ok()) << directory.status();
  std::vector<std::string> names;
  for (const RegionScheme* scheme : (*directory)->schemes()) names.push_back(scheme->name());
  EXPECT_THAT(names,
              ElementsAre("m49-continent", "m49-subregion", "zeta", "kz2021-article", "alpha"));
  EXPECT_EQ((*directory)->Find("alpha"), (*directory)->schemes()[4]);
  EXPECT_EQ((*directory)->Find("nope"), nullptr);
}

TEST_F(SchemeFileTest, TwoFilesWithTheSameSchemeName) {
  const std::string first = Write("first.scheme", "scheme same\ngroup g\nname.en G\n");
  const std::string second = Write("second.scheme", "# again\nscheme same\ngroup h\nname.en H\n");
  absl::StatusOr<std::unique_ptr<RegionDirectory>> directory = Load({first, second});
  ASSERT_FALSE(directory.ok());
  EXPECT_EQ(directory.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(directory.status().message(),
            absl::StrCat(second, ":2: scheme name \"same\" is already used by ", first));
}

TEST_F(SchemeFileTest, MissingFileIsNotFound) {
  const std::string path = dir_ + "/missing.scheme";
  absl::StatusOr<std::unique_ptr<RegionDirectory>> directory = Load({path});
  ASSERT_FALSE(directory.ok());
  EXPECT_EQ(directory.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(directory.status().message(), HasSubstr(path));
}

// A file's content and the message expected after "PATH:".
struct BadFile {
  std::string name;
  std::string content;
  std::string message;
};

// Keeps the parameter's bytes out of the test names that ctest shows.
void PrintTo(const BadFile& file, std::ostream* out) { *out << file.name; }

class BadSchemeFileTest : public SchemeFileTest, public ::testing::WithParamInterface<BadFile> {};

TEST_P(BadSchemeFileTest, IsRejectedWithTheLine) {
  const std::string path = Write("bad.scheme", GetParam().content);
  absl::StatusOr<std::unique_ptr<RegionDirectory>> directory = Load({path});
  ASSERT_FALSE(directory.ok());
  EXPECT_EQ(directory.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(directory.status().message(), absl::StrCat(path, ":", GetParam().message));
}

constexpr char kKeyRule[] = ": use 1 to 63 lower-case letters, digits and '-'";

INSTANTIATE_TEST_SUITE_P(
    Errors, BadSchemeFileTest,
    ::testing::Values(
        BadFile{"Empty", "", "1: no \"scheme NAME\" line"},
        BadFile{"OnlyComments", "# one\n\n# three\n", "3: no \"scheme NAME\" line"},
        BadFile{"GroupBeforeScheme", "# c\ngroup x\nscheme a\n",
                "2: expected \"scheme NAME\" first, found \"group\""},
        BadFile{"UpperCaseSchemeName", "scheme Kz2021\n",
                absl::StrCat("1: invalid scheme name \"Kz2021\"", kKeyRule)},
        BadFile{"SchemeNameWithSpace", "scheme a b\n",
                absl::StrCat("1: invalid scheme name \"a b\"", kKeyRule)},
        BadFile{"SchemeNameTooLong", absl::StrCat("scheme ", std::string(64, 'a'), "\n"),
                absl::StrCat("1: invalid scheme name \"", std::string(64, 'a'), "\"", kKeyRule)},
        BadFile{"SchemeWithoutName", "scheme\n",
                absl::StrCat("1: invalid scheme name \"\"", kKeyRule)},
        BadFile{"BuiltInName", "\nscheme m49-continent\n",
                "2: scheme name \"m49-continent\" is already used by a built-in scheme"},
        BadFile{"TwoSchemes", "scheme a\ngroup x\nname.en X\nscheme b\n",
                "4: a file defines one scheme, and \"a\" was started on line 1"},
        BadFile{"UnknownDirective", "scheme a\ngroup x\n\n# c\nnme.en X\n",
                "5: unknown directive \"nme.en\""},
        BadFile{"BadGroupKey", "scheme a\ngroup Europe\n",
                absl::StrCat("2: invalid group key \"Europe\"", kKeyRule)},
        BadFile{"DuplicateGroup", "scheme a\ngroup x\nname.en X\ngroup y\nname.en Y\ngroup x\n",
                "6: group \"x\" is already defined on line 2"},
        BadFile{"LastGroupWithoutEnglishName", "scheme a\ngroup x\nname.ru Икс\ncountries KG\n",
                "2: group \"x\" has no name.en"},
        BadFile{"EarlierGroupWithoutEnglishName",
                "scheme a\ngroup x\ncountries KG\n\ngroup y\nname.en Y\n",
                "2: group \"x\" has no name.en"},
        BadFile{"NameOutsideGroup", "scheme a\nname.en X\n",
                "2: name.en outside a group (start one with \"group KEY\")"},
        BadFile{"EmptyName", "scheme a\ngroup x\nname.en   # nothing\n",
                "3: name.en needs a value"},
        BadFile{"NameTwice", "scheme a\ngroup x\nname.kk X\nname.en X\nname.kk Y\n",
                "5: group \"x\" already has a name.kk"},
        BadFile{"CountriesOutsideGroup", "scheme a\ncountries KG\n",
                "2: countries outside a group (start one with \"group KEY\")"},
        BadFile{"EmptyCountries", "scheme a\ngroup x\nname.en X\ncountries\n",
                "4: countries needs at least one country code"},
        BadFile{"UnknownCountry", "scheme a\ngroup x\nname.en X\ncountries KG\ncountries RU XX\n",
                "5: unknown country code \"XX\""},
        BadFile{"LowerCaseCountry", "scheme a\ngroup x\nname.en X\ncountries kg\n",
                "4: unknown country code \"kg\""},
        BadFile{"CountryInTwoGroups",
                "scheme a\ngroup post-soviet\nname.en P\ncountries KG RU\ngroup europe\n"
                "name.en E\ncountries DE RU\n",
                "7: \"RU\" is already in group \"post-soviet\""},
        BadFile{"CountryTwiceInOneGroup", "scheme a\ngroup x\nname.en X\ncountries KG RU KG\n",
                "4: \"KG\" is already in group \"x\""},
        BadFile{"UnknownDefault", "scheme a\ndefault nope\ngroup x\nname.en X\n",
                "2: default group \"nope\" is not defined"},
        BadFile{"DefaultTwice", "scheme a\ngroup x\nname.en X\ndefault x\ndefault x\n",
                "5: default is already given on line 4"},
        BadFile{"EmptyDefault", "scheme a\ngroup x\nname.en X\ndefault\n",
                "4: default needs a group key"},
        BadFile{"TitleTwice", "scheme a\ntitle One\ntitle Two\n",
                "3: title is already given on line 2"},
        BadFile{"NoGroups", "# c\nscheme a\ntitle T\n", "2: scheme \"a\" has no groups"},
        BadFile{"InvalidUtf8", "scheme a\ngroup x\nname.ru \xD0\n",
                "3: the line is not valid UTF-8"}),
    [](const ::testing::TestParamInfo<BadFile>& param_info) { return param_info.param.name; });

}  // namespace
}  // namespace observer::stats
