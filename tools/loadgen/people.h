// The reference data behind MakeObserver (scenarios.h): given and family names of the countries
// that send observers, in the Latin script of their documents with the transliteration of the
// passport's machine-readable zone, and the sending organisations and states with the weights
// of a real mission (most observers come from a few organisations and neighbouring states).
#ifndef OBSERVER_TOOLS_LOADGEN_PEOPLE_H_
#define OBSERVER_TOOLS_LOADGEN_PEOPLE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace observer::loadgen {

// A name as on the document and as in the machine-readable zone (ASCII letters, spaces, '-',
// '\'' and '.', as the registry requires of Latin names).
struct Name {
  std::string native;
  std::string latin;
};

// The ISO 3166-1 codes of the countries with name lists (never KZ, the benchmark election's
// host).
const std::vector<std::string>& NameCountries();

// A given name of a citizen of `country` (one of NameCountries()), chosen by `draw`.
Name GivenName(absl::string_view country, bool female, uint64_t draw);
// A family name of a citizen of `country`, in the feminine form where the language has one
// (Ivanova, Kowalska), chosen by `draw`. Spanish citizens get two family names.
Name FamilyName(absl::string_view country, bool female, uint64_t draw);

// The MRZ transliteration of a name in a Latin alphabet with diacritics (Müller → Mueller for
// DE, Yılmaz → Yilmaz, Məmmədov → Mammadov); unknown non-ASCII characters are dropped.
std::string Transliterate(absl::string_view country, absl::string_view native);

// A choice with a weight.
struct Weighted {
  std::string code;
  double weight = 0;
};

// An international organisation that sends observers, with the citizenships of its
// observers.
struct SendingOrganisation {
  std::string code;   // organisations/{code}
  std::string name;   // English
  double weight = 0;  // Share of the observers sent by organisations.
  std::vector<Weighted> citizenships;
};

const std::vector<SendingOrganisation>& SendingOrganisations();

// Foreign states that send observers of their own, with their weights.
const std::vector<Weighted>& SendingStates();

// The entry of `choices` that `u` (uniform in [0, 1)) falls on by weight.
const Weighted& ChooseWeighted(const std::vector<Weighted>& choices, double u);

}  // namespace observer::loadgen

#endif  // OBSERVER_TOOLS_LOADGEN_PEOPLE_H_
