// ISO 3166-1 alpha-2 country codes and their English names, read from Debian's iso-codes data
// rather than typed by hand, so that the list follows the operating system's updates.
#ifndef OBSERVER_COMMON_COUNTRY_CODES_H_
#define OBSERVER_COMMON_COUNTRY_CODES_H_

#include <array>
#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace observer {

// Where Debian's iso-codes package installs the ISO 3166-1 table.
inline constexpr absl::string_view kDefaultCountryCodesPath =
    "/usr/share/iso-codes/json/iso_3166-1.json";

// An immutable set of country codes. Copyable; safe to read from many threads.
class CountryCodes {
 public:
  // Reads an iso-codes style JSON file: {"3166-1": [{"alpha_2": "KZ", "name": "Kazakhstan",
  // "common_name": ...}, ...]}. NOT_FOUND (or another errno-derived code) when the file cannot
  // be read, INVALID_ARGUMENT when its content is malformed; the message names the file.
  static absl::StatusOr<CountryCodes> Load(absl::string_view path);

  // The table from kDefaultCountryCodesPath, loaded once on first use (thread-safe). Prints
  // the reason to stderr and aborts when it cannot be loaded: that is a start-up failure.
  static const CountryCodes& Default();

  // True for a known code written exactly as two upper-case letters ("KZ", not "kz" or "KAZ").
  bool Contains(absl::string_view alpha2) const;

  // The common English name (e.g. "Taiwan") when iso-codes has one, else the ISO name; empty
  // for an unknown code.
  std::string Name(absl::string_view alpha2) const;

  // How many codes are known.
  size_t size() const { return size_; }

 private:
  static constexpr int kLetters = 26;

  CountryCodes() = default;
  // Position of a two-letter upper-case code in names_, or -1 when it is not one.
  static int IndexOf(absl::string_view alpha2);

  // Indexed by IndexOf(code); an empty name means the code is not assigned.
  std::array<std::string, kLetters * kLetters> names_;
  size_t size_ = 0;
};

}  // namespace observer

#endif  // OBSERVER_COMMON_COUNTRY_CODES_H_
