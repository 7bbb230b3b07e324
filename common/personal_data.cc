#include "common/personal_data.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace observer {

std::string DocumentKey(const registry::v1::IdDocument& document) {
  std::string number;
  for (char c : document.number()) {
    if (absl::ascii_isalnum(c)) number.push_back(absl::ascii_toupper(c));
  }
  return absl::StrCat(static_cast<int>(document.type()), ":", document.issuing_country(), ":",
                      number);
}

void StripPersonalData(registry::v1::Observer& observer) {
  observer.clear_birth_date();
  observer.clear_id_document();
  observer.clear_contact();
}

}  // namespace observer
