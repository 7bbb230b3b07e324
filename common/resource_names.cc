#include "common/resource_names.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/errors.h"

namespace observer {
namespace {

bool IsLowerAlnum(char c) { return absl::ascii_islower(c) || absl::ascii_isdigit(c); }
bool IsUpperAlnum(char c) { return absl::ascii_isupper(c) || absl::ascii_isdigit(c); }

}  // namespace

bool IsValidElectionId(absl::string_view id) {
  if (id.empty() || id.size() > 63 || !absl::ascii_islower(id.front()) || id.back() == '-') {
    return false;
  }
  for (char c : id) {
    if (!IsLowerAlnum(c) && c != '-') return false;
  }
  return true;
}

bool IsValidOrganisationCode(absl::string_view code) {
  if (code.empty() || code.size() > 32 || !absl::ascii_isupper(code.front()) ||
      code.back() == '-') {
    return false;
  }
  for (char c : code) {
    if (!IsUpperAlnum(c) && c != '-') return false;
  }
  return true;
}

absl::StatusOr<std::string> ParseElectionName(absl::string_view name, absl::string_view field) {
  absl::string_view id = name;
  if (!absl::ConsumePrefix(&id, "elections/") || !IsValidElectionId(id)) {
    return InvalidField(field, absl::StrCat("'", name,
                                            "' is not an election name "
                                            "(elections/{election})"));
  }
  return std::string(id);
}

absl::StatusOr<std::string> ParseOrganisationName(absl::string_view name, absl::string_view field) {
  absl::string_view code = name;
  if (!absl::ConsumePrefix(&code, "organisations/") || !IsValidOrganisationCode(code)) {
    return InvalidField(field, absl::StrCat("'", name,
                                            "' is not an organisation name "
                                            "(organisations/{code})"));
  }
  return std::string(code);
}

absl::StatusOr<std::pair<std::string, std::string>> ParseObserverName(absl::string_view name,
                                                                      absl::string_view field) {
  std::vector<absl::string_view> parts = absl::StrSplit(name, '/');
  if (parts.size() != 4 || parts[0] != "elections" || !IsValidElectionId(parts[1]) ||
      parts[2] != "observers" || parts[3].empty() || parts[3].size() > 64) {
    return InvalidField(field, absl::StrCat("'", name,
                                            "' is not an observer name "
                                            "(elections/{election}/observers/{observer})"));
  }
  for (char c : parts[3]) {
    if (!IsLowerAlnum(c)) {
      return InvalidField(field, absl::StrCat("'", name, "' is not an observer name"));
    }
  }
  return std::make_pair(std::string(parts[1]), std::string(parts[3]));
}

std::string ElectionName(absl::string_view id) { return absl::StrCat("elections/", id); }
std::string OrganisationName(absl::string_view code) {
  return absl::StrCat("organisations/", code);
}
std::string ObserverName(absl::string_view election_id, absl::string_view observer_id) {
  return absl::StrCat("elections/", election_id, "/observers/", observer_id);
}

}  // namespace observer
