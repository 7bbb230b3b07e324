#include "stats-service/src/aggregate/regions.h"

#include <unicode/locid.h>
#include <unicode/region.h>
#include <unicode/unistr.h>
#include <unicode/utf8.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace observer::stats {
namespace {

constexpr size_t kMaxKeyLength = 63;

// Scheme names and group keys: 1..63 of [a-z0-9-].
bool IsValidKey(absl::string_view key) {
  if (key.empty() || key.size() > kMaxKeyLength) return false;
  return std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

bool IsValidUtf8(absl::string_view text) {
  const auto* bytes = reinterpret_cast<const uint8_t*>(text.data());
  const int32_t length = static_cast<int32_t>(text.size());
  int32_t i = 0;
  while (i < length) {
    UChar32 c;
    U8_NEXT(bytes, i, length, c);
    if (c < 0) return false;
  }
  return true;
}

// Every code the table knows; CountryCodes has no iterator, but there are only 26 * 26 pairs.
std::vector<std::string> AllCodes(const CountryCodes& countries) {
  std::vector<std::string> codes;
  for (char first = 'A'; first <= 'Z'; ++first) {
    for (char second = 'A'; second <= 'Z'; ++second) {
      std::string code{first, second};
      if (countries.Contains(code)) codes.push_back(std::move(code));
    }
  }
  return codes;
}

// ICU's name of a region (an alpha-2 code or an M49 number) in `language`, or "" when ICU has
// none: it then answers with the code itself.
std::string IcuRegionName(const std::string& region, const char* language) {
  icu::UnicodeString name;
  icu::Locale("", region.c_str()).getDisplayCountry(icu::Locale(language), name);
  if (name.isBogus() || name.isEmpty()) return std::string();
  std::string utf8;
  name.toUTF8String(utf8);
  return utf8 == region ? std::string() : utf8;
}

// What a scheme file or ICU yields, before it becomes a RegionScheme.
struct SchemeDraft {
  std::string name;
  std::string title;
  std::vector<RegionGroup> groups;
  absl::flat_hash_map<std::string, size_t> group_of_country;
  int default_group = -1;
};

// One M49 scheme: `container` picks the region of a territory that becomes its group.
SchemeDraft BuildM49Scheme(absl::string_view name, absl::string_view title,
                           const std::vector<std::string>& codes, URegionType container) {
  // Ordered by key, which is the order of the scheme's groups.
  std::map<std::string, std::vector<std::string>> members;
  for (const std::string& code : codes) {
    UErrorCode status = U_ZERO_ERROR;
    const icu::Region* region = icu::Region::getInstance(code.c_str(), status);
    if (U_FAILURE(status) || region == nullptr) continue;
    const icu::Region* group = region->getContainingRegion(container);
    if (group == nullptr) continue;
    members[group->getRegionCode()].push_back(code);
  }

  SchemeDraft draft;
  draft.name = std::string(name);
  draft.title = std::string(title);
  for (auto& [key, countries] : members) {
    RegionGroup group;
    group.key = key;
    group.name_en = IcuRegionName(key, "en");
    if (group.name_en.empty()) group.name_en = key;
    group.name_ru = IcuRegionName(key, "ru");
    group.name_kk = IcuRegionName(key, "kk");
    for (std::string& country : countries) {
      draft.group_of_country.emplace(std::move(country), draft.groups.size());
    }
    draft.groups.push_back(std::move(group));
  }
  return draft;
}

// Reads one scheme file. `taken` maps the scheme names already in use to where they come from.
class SchemeFileParser {
 public:
  SchemeFileParser(const std::string& path, const CountryCodes& countries,
                   const std::map<std::string, std::string>& taken)
      : path_(path), countries_(countries), taken_(taken) {}

  absl::StatusOr<SchemeDraft> Parse() {
    std::ifstream in(path_, std::ios::binary);
    if (!in) {
      return absl::NotFoundError(absl::StrCat("cannot open region scheme file ", path_));
    }
    std::string line;
    while (std::getline(in, line)) {
      ++line_number_;
      absl::Status status = ParseLine(line);
      if (!status.ok()) return status;
    }
    if (in.bad()) {
      return absl::NotFoundError(absl::StrCat("cannot read region scheme file ", path_));
    }
    absl::Status status = Finish();
    if (!status.ok()) return status;
    return std::move(draft_);
  }

 private:
  absl::Status ErrorAt(int line, absl::string_view problem) const {
    return absl::InvalidArgumentError(absl::StrCat(path_, ":", line, ": ", problem));
  }
  absl::Status Error(absl::string_view problem) const { return ErrorAt(line_number_, problem); }

  // The text before a comment: '#' opens one at the start or after a space or tab.
  static absl::string_view StripComment(absl::string_view line) {
    for (size_t i = 0; i < line.size(); ++i) {
      if (line[i] == '#' && (i == 0 || line[i - 1] == ' ' || line[i - 1] == '\t')) {
        return line.substr(0, i);
      }
    }
    return line;
  }

  absl::Status ParseLine(absl::string_view line) {
    if (line_number_ == 1) absl::ConsumePrefix(&line, "\xEF\xBB\xBF");  // A UTF-8 BOM.
    if (!IsValidUtf8(line)) return Error("the line is not valid UTF-8");
    line = absl::StripAsciiWhitespace(StripComment(line));  // Also a CR before the LF.
    if (line.empty()) return absl::OkStatus();

    const size_t space = line.find_first_of(" \t");
    const absl::string_view directive = line.substr(0, space);
    const absl::string_view value = space == absl::string_view::npos
                                        ? absl::string_view()
                                        : absl::StripLeadingAsciiWhitespace(line.substr(space));

    if (scheme_line_ == 0 && directive != "scheme") {
      return Error(absl::StrCat("expected \"scheme NAME\" first, found \"", directive, "\""));
    }
    if (directive == "scheme") return ParseScheme(value);
    if (directive == "title") return ParseTitle(value);
    if (directive == "group") return ParseGroup(value);
    if (directive == "name.en" || directive == "name.ru" || directive == "name.kk") {
      return ParseName(directive, value);
    }
    if (directive == "countries") return ParseCountries(value);
    if (directive == "default") return ParseDefault(value);
    return Error(absl::StrCat("unknown directive \"", directive, "\""));
  }

  absl::Status ParseScheme(absl::string_view name) {
    if (scheme_line_ != 0) {
      return Error(absl::StrCat("a file defines one scheme, and \"", draft_.name,
                                "\" was started on line ", scheme_line_));
    }
    if (!IsValidKey(name)) {
      return Error(absl::StrCat("invalid scheme name \"", name,
                                "\": use 1 to 63 lower-case letters, digits and '-'"));
    }
    const auto it = taken_.find(std::string(name));
    if (it != taken_.end()) {
      return Error(absl::StrCat("scheme name \"", name, "\" is already used by ", it->second));
    }
    scheme_line_ = line_number_;
    draft_.name = std::string(name);
    return absl::OkStatus();
  }

  absl::Status ParseTitle(absl::string_view title) {
    if (title.empty()) return Error("title needs a value");
    if (title_line_ != 0) {
      return Error(absl::StrCat("title is already given on line ", title_line_));
    }
    title_line_ = line_number_;
    draft_.title = std::string(title);
    return absl::OkStatus();
  }

  absl::Status ParseGroup(absl::string_view key) {
    if (!IsValidKey(key)) {
      return Error(absl::StrCat("invalid group key \"", key,
                                "\": use 1 to 63 lower-case letters, digits and '-'"));
    }
    absl::Status status = FinishGroup();
    if (!status.ok()) return status;
    const auto it = group_lines_.find(std::string(key));
    if (it != group_lines_.end()) {
      return Error(absl::StrCat("group \"", key, "\" is already defined on line ", it->second));
    }
    group_lines_.emplace(std::string(key), line_number_);
    group_line_ = line_number_;
    draft_.groups.emplace_back().key = std::string(key);
    return absl::OkStatus();
  }

  absl::Status ParseName(absl::string_view directive, absl::string_view name) {
    if (draft_.groups.empty()) {
      return Error(absl::StrCat(directive, " outside a group (start one with \"group KEY\")"));
    }
    if (name.empty()) return Error(absl::StrCat(directive, " needs a value"));
    RegionGroup& group = draft_.groups.back();
    std::string* field = directive == "name.en"   ? &group.name_en
                         : directive == "name.ru" ? &group.name_ru
                                                  : &group.name_kk;
    if (!field->empty()) {
      return Error(absl::StrCat("group \"", group.key, "\" already has a ", directive));
    }
    *field = std::string(name);
    return absl::OkStatus();
  }

  absl::Status ParseCountries(absl::string_view list) {
    if (draft_.groups.empty()) {
      return Error("countries outside a group (start one with \"group KEY\")");
    }
    if (list.empty()) return Error("countries needs at least one country code");
    const size_t index = draft_.groups.size() - 1;
    for (absl::string_view code : absl::StrSplit(list, absl::ByAnyChar(" \t"), absl::SkipEmpty())) {
      if (!countries_.Contains(code)) {
        return Error(absl::StrCat("unknown country code \"", code, "\""));
      }
      const auto [it, inserted] = draft_.group_of_country.emplace(std::string(code), index);
      if (!inserted) {
        return Error(absl::StrCat("\"", code, "\" is already in group \"",
                                  draft_.groups[it->second].key, "\""));
      }
    }
    return absl::OkStatus();
  }

  absl::Status ParseDefault(absl::string_view key) {
    if (key.empty()) return Error("default needs a group key");
    if (default_line_ != 0) {
      return Error(absl::StrCat("default is already given on line ", default_line_));
    }
    default_line_ = line_number_;
    default_key_ = std::string(key);
    return absl::OkStatus();
  }

  // Checks the group being read, if any, now that it is complete.
  absl::Status FinishGroup() const {
    if (draft_.groups.empty() || !draft_.groups.back().name_en.empty()) return absl::OkStatus();
    return ErrorAt(group_line_,
                   absl::StrCat("group \"", draft_.groups.back().key, "\" has no name.en"));
  }

  absl::Status Finish() {
    if (scheme_line_ == 0) {
      return ErrorAt(std::max(line_number_, 1), "no \"scheme NAME\" line");
    }
    absl::Status status = FinishGroup();
    if (!status.ok()) return status;
    if (draft_.groups.empty()) {
      return ErrorAt(scheme_line_, absl::StrCat("scheme \"", draft_.name, "\" has no groups"));
    }
    if (default_line_ != 0) {
      for (size_t i = 0; i < draft_.groups.size(); ++i) {
        if (draft_.groups[i].key == default_key_) draft_.default_group = static_cast<int>(i);
      }
      if (draft_.default_group < 0) {
        return ErrorAt(default_line_,
                       absl::StrCat("default group \"", default_key_, "\" is not defined"));
      }
    }
    if (draft_.title.empty()) draft_.title = draft_.name;
    return absl::OkStatus();
  }

  const std::string& path_;
  const CountryCodes& countries_;
  const std::map<std::string, std::string>& taken_;

  SchemeDraft draft_;
  int line_number_ = 0;
  int scheme_line_ = 0;  // 0 until the scheme directive is read; likewise below.
  int title_line_ = 0;
  int default_line_ = 0;
  int group_line_ = 0;  // Of the last group.
  std::string default_key_;
  absl::flat_hash_map<std::string, int> group_lines_;
};

}  // namespace

bool ParseLanguage(absl::string_view code, Language* language) {
  const size_t separator = code.find_first_of("-_");
  if (separator != absl::string_view::npos && separator + 1 == code.size()) return false;
  const std::string primary = absl::AsciiStrToLower(code.substr(0, separator));
  if (primary.empty() && separator == absl::string_view::npos) {
    *language = Language::kEn;
  } else if (primary == "en") {
    *language = Language::kEn;
  } else if (primary == "ru") {
    *language = Language::kRu;
  } else if (primary == "kk") {
    *language = Language::kKk;
  } else {
    return false;
  }
  return true;
}

const std::string& RegionGroup::Name(Language language) const {
  switch (language) {
    case Language::kRu:
      return name_ru.empty() ? name_en : name_ru;
    case Language::kKk:
      return name_kk.empty() ? name_en : name_kk;
    case Language::kEn:
      break;
  }
  return name_en;
}

const RegionGroup* RegionScheme::GroupOf(absl::string_view country) const {
  const auto it = group_of_country_.find(country);
  if (it != group_of_country_.end()) return &groups_[it->second];
  if (default_group_ >= 0 && countries_ != nullptr && countries_->Contains(country)) {
    return &groups_[default_group_];
  }
  return nullptr;
}

absl::StatusOr<std::unique_ptr<RegionDirectory>> RegionDirectory::Create(
    const CountryCodes& countries, const std::vector<std::string>& scheme_files) {
  std::unique_ptr<RegionDirectory> directory(new RegionDirectory(countries));
  const auto add = [&](SchemeDraft draft) {
    auto scheme = std::make_unique<RegionScheme>();
    scheme->name_ = std::move(draft.name);
    scheme->title_ = std::move(draft.title);
    scheme->groups_ = std::move(draft.groups);
    scheme->group_of_country_ = std::move(draft.group_of_country);
    scheme->default_group_ = draft.default_group;
    scheme->countries_ = &countries;
    directory->schemes_.push_back(std::move(scheme));
  };

  const std::vector<std::string> codes = AllCodes(countries);
  add(BuildM49Scheme(kM49ContinentScheme, "UN M49 continents (ICU)", codes, URGN_CONTINENT));
  // For a territory the direct container is its sub-region; asking for the type keeps a
  // continent from ever being taken for one.
  add(BuildM49Scheme(kM49SubregionScheme, "UN M49 sub-regions (ICU)", codes, URGN_SUBCONTINENT));

  std::map<std::string, std::string> taken = {
      {std::string(kM49ContinentScheme), "a built-in scheme"},
      {std::string(kM49SubregionScheme), "a built-in scheme"},
  };
  for (const std::string& path : scheme_files) {
    absl::StatusOr<SchemeDraft> draft = SchemeFileParser(path, countries, taken).Parse();
    if (!draft.ok()) return draft.status();
    taken.emplace(draft->name, path);
    add(*std::move(draft));
  }

  for (const std::string& code : codes) {
    std::string ru = IcuRegionName(code, "ru");
    if (!ru.empty()) directory->names_ru_.emplace(code, std::move(ru));
    std::string kk = IcuRegionName(code, "kk");
    if (!kk.empty()) directory->names_kk_.emplace(code, std::move(kk));
  }
  return directory;
}

const RegionScheme* RegionDirectory::Find(absl::string_view scheme) const {
  for (const auto& candidate : schemes_) {
    if (candidate->name() == scheme) return candidate.get();
  }
  return nullptr;
}

std::vector<const RegionScheme*> RegionDirectory::schemes() const {
  std::vector<const RegionScheme*> all;
  all.reserve(schemes_.size());
  for (const auto& scheme : schemes_) all.push_back(scheme.get());
  return all;
}

std::string RegionDirectory::CountryName(absl::string_view country, Language language) const {
  if (!countries_.Contains(country)) return std::string();
  const absl::flat_hash_map<std::string, std::string>* names = nullptr;
  if (language == Language::kRu) names = &names_ru_;
  if (language == Language::kKk) names = &names_kk_;
  if (names != nullptr) {
    const auto it = names->find(country);
    if (it != names->end()) return it->second;
  }
  return countries_.Name(country);
}

}  // namespace observer::stats
