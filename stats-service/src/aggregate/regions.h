// Regions of countries: the UN M49 continent and sub-region as ICU's icu::Region reports them,
// and custom region schemes loaded from files (e.g. the grouping a commission uses in its
// press releases). Also the display names of countries and regions in en/ru/kk.
//
// No gRPC here. Immutable after construction; safe to read from many threads.
//
// Custom scheme files (see data/region-schemes/) are line-oriented UTF-8 text. Blank lines are
// ignored; '#' at the start of a line or after a space or tab starts a comment that runs to the
// end of the line. Each line is a directive, then spaces or tabs, then its value:
//
//   scheme kz2021-article          # exactly one, before any other directive
//   title Grouping of the ...      # optional, at most once; one line of English (default: NAME)
//   group post-soviet              # starts a group; the key is unique in the file
//   name.en Post-Soviet space      # required in every group
//   name.ru Постсоветское пространство   # optional (falls back to name.en)
//   name.kk Посткеңестік кеңістік        # optional (falls back to name.en)
//   countries KG MD TR AZ AM       # ISO 3166-1 alpha-2 codes; may be repeated in a group
//   default other                  # optional, at most once: the group of every known country
//                                  # the file does not list
//
// The scheme name and group keys are 1 to 63 lower-case ASCII letters, digits and '-'. A scheme
// name may not be that of a built-in scheme or of another file's scheme. A country code must be
// known to the CountryCodes and appear in at most one group; `default` names a group of the
// file; a file must define at least one group. Errors are INVALID_ARGUMENT "FILE:LINE: what is
// wrong", e.g. `kz2021-article.scheme:12: unknown country code "XX"`.
#ifndef OBSERVER_STATS_SERVICE_SRC_AGGREGATE_REGIONS_H_
#define OBSERVER_STATS_SERVICE_SRC_AGGREGATE_REGIONS_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/country_codes.h"

namespace observer::stats {

// Names of the built-in schemes.
inline constexpr absl::string_view kM49ContinentScheme = "m49-continent";
inline constexpr absl::string_view kM49SubregionScheme = "m49-subregion";

// Display languages; anything else falls back to English.
enum class Language { kEn, kRu, kKk };

// "en", "ru", "kk" (case-insensitive, a region subtag such as "ru-KZ" is ignored); empty → kEn.
// Returns false for any other language (the caller reports the bad field), leaving *language
// unchanged. Subtags may be separated by '-' or '_' ("kk_KZ"); "ru-" is not a language tag.
bool ParseLanguage(absl::string_view code, Language* language);

// A group of a scheme: its stable key and its names.
struct RegionGroup {
  std::string key;      // e.g. "150" (M49 Europe) or "post-soviet".
  std::string name_en;  // Never empty.
  std::string name_ru;  // May be empty: falls back to name_en.
  std::string name_kk;  // May be empty: falls back to name_en.
  const std::string& Name(Language language) const;
};

// One way of grouping countries.
class RegionScheme {
 public:
  const std::string& name() const { return name_; }
  const std::string& title() const { return title_; }  // English, one line.
  // The group of an ISO 3166-1 alpha-2 code, or nullptr if the scheme does not place it. A
  // file's `default` group places every known code that the file does not list, but never a
  // code the CountryCodes does not know.
  const RegionGroup* GroupOf(absl::string_view country) const;
  // Every group in the scheme's own order (file order; for M49 by key).
  const std::vector<RegionGroup>& groups() const { return groups_; }

 private:
  friend class RegionDirectory;
  std::string name_;
  std::string title_;
  std::vector<RegionGroup> groups_;
  absl::flat_hash_map<std::string, size_t> group_of_country_;  // Index into groups_.
  int default_group_ = -1;                   // Index of the group for unlisted countries, or -1.
  const CountryCodes* countries_ = nullptr;  // What default_group_ may place.
};

// The schemes a stats-service knows, and localized country names.
class RegionDirectory {
 public:
  // The two built-in M49 schemes, computed from ICU for every code in `countries`, plus the
  // custom scheme files in `scheme_files`. Errors name the file and line (INVALID_ARGUMENT),
  // or the file (NOT_FOUND when it cannot be read); a custom scheme may not reuse a name.
  // `countries` must outlive the directory.
  static absl::StatusOr<std::unique_ptr<RegionDirectory>> Create(
      const CountryCodes& countries, const std::vector<std::string>& scheme_files);

  // nullptr when there is no scheme of that name.
  const RegionScheme* Find(absl::string_view scheme) const;
  // All schemes, built-in first, then custom ones in file order.
  std::vector<const RegionScheme*> schemes() const;

  // The name of a country in `language`: English from iso-codes, Russian and Kazakh from
  // ICU's locale data (falling back to English when ICU has none). Empty for an unknown code.
  std::string CountryName(absl::string_view country, Language language) const;

 private:
  explicit RegionDirectory(const CountryCodes& countries) : countries_(countries) {}
  const CountryCodes& countries_;
  std::vector<std::unique_ptr<RegionScheme>> schemes_;
  // ICU's names, only for the codes ICU has a name for; English otherwise.
  absl::flat_hash_map<std::string, std::string> names_ru_;
  absl::flat_hash_map<std::string, std::string> names_kk_;
};

}  // namespace observer::stats

#endif  // OBSERVER_STATS_SERVICE_SRC_AGGREGATE_REGIONS_H_
