#include "registry-service/src/domain/rules.h"

#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/proto_time.h"

namespace observer::registry {
namespace {

constexpr int kMaxTags = 32;
constexpr int kMaxAliases = 32;

// Time zone names as tzdata spells them; keeps paths like "../x" away from the loader.
bool IsPlausibleZoneName(absl::string_view tz) {
  if (tz.empty() || tz.size() > 64 || absl::StrContains(tz, "..") || tz.front() == '/') {
    return false;
  }
  // Area/Location names (and UTC); not aliases of the host's own setting such as "localtime".
  if (!absl::StrContains(tz, '/') && tz != "UTC") return false;
  for (char c : tz) {
    if (!absl::ascii_isalnum(c) && c != '/' && c != '_' && c != '-' && c != '+') return false;
  }
  return true;
}

void RequireText(absl::string_view value, absl::string_view field, size_t max, Violations& v) {
  if (absl::StripAsciiWhitespace(value).empty()) {
    v.Add(std::string(field), "is required");
  } else if (value.size() > max) {
    v.Add(std::string(field), absl::StrCat("is longer than ", max, " bytes"));
  }
}

void LimitText(absl::string_view value, absl::string_view field, size_t max, Violations& v) {
  if (value.size() > max) v.Add(std::string(field), absl::StrCat("is longer than ", max, " bytes"));
}

void RequireCountry(const CountryCodes& countries, absl::string_view code, absl::string_view field,
                    Violations& v) {
  if (code.empty()) {
    v.Add(std::string(field), "is required (ISO 3166-1 alpha-2 code, e.g. DE)");
  } else if (!countries.Contains(code)) {
    v.Add(std::string(field),
          absl::StrCat("'", code, "' is not an ISO 3166-1 alpha-2 country code"));
  }
}

// Latin transliteration as in a machine-readable zone, plus the punctuation of real names.
bool IsLatinName(absl::string_view name) {
  for (char c : name) {
    if (!absl::ascii_isalpha(c) && c != ' ' && c != '-' && c != '\'' && c != '.') return false;
  }
  return true;
}

bool IsValidTag(absl::string_view tag) {
  if (tag.empty() || tag.size() > 63) return false;
  for (char c : tag) {
    if (!absl::ascii_isalnum(c) && c != '-' && c != '_' && c != '.') return false;
  }
  return true;
}

// The value is not echoed: some dates (birth dates) are personal data.
void ValidateDateField(const google::type::Date& date, absl::string_view field, Violations& v) {
  if (!ToCivilDay(date)) v.Add(std::string(field), "is not a calendar date");
}

void CheckTimestamp(const google::protobuf::Timestamp& ts, absl::string_view field, Violations& v) {
  if (!ValidateTimestamp(ts, field).ok()) {
    v.Add(std::string(field), "is not a valid instant (years 1 to 9999, nanos 0 to 999999999)");
  }
}

}  // namespace

absl::Status ValidateTimestamp(const google::protobuf::Timestamp& ts, absl::string_view field) {
  // 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z, as google.protobuf.Timestamp defines.
  constexpr int64_t kMinSeconds = -62135596800;
  constexpr int64_t kMaxSeconds = 253402300799;
  if (ts.seconds() < kMinSeconds || ts.seconds() > kMaxSeconds || ts.nanos() < 0 ||
      ts.nanos() > 999999999) {
    return InvalidField(field, "is not a valid instant (years 1 to 9999, nanos 0 to 999999999)");
  }
  return absl::OkStatus();
}

absl::StatusOr<absl::Time> DefaultAccreditationDeadline(const google::type::Date& voting_day,
                                                        absl::string_view time_zone) {
  const std::optional<absl::CivilDay> day = ToCivilDay(voting_day);
  if (!day) return InvalidField("election.voting_day", "is not a calendar date");
  absl::TimeZone tz;
  if (!IsPlausibleZoneName(time_zone) || !absl::LoadTimeZone(std::string(time_zone), &tz)) {
    return InvalidField("election.time_zone",
                        absl::StrCat("'", time_zone, "' is not an IANA time zone"));
  }
  const absl::CivilDay closing_day = *day - 6;
  const absl::CivilSecond closing(closing_day.year(), closing_day.month(), closing_day.day(), 18, 0,
                                  0);
  return absl::FromCivil(closing, tz);
}

void ValidateElection(const CountryCodes& countries, v1::Election& election, Violations& v) {
  RequireText(election.display_name(), "election.display_name", kMaxNameLength, v);
  if (election.kind() == v1::ELECTION_KIND_UNSPECIFIED ||
      !v1::ElectionKind_IsValid(election.kind())) {
    v.Add("election.kind",
          "is required (PARLIAMENTARY, LOCAL, PRESIDENTIAL, REFERENDUM, COMBINED)");
  }
  RequireCountry(countries, election.host_country(), "election.host_country", v);
  const bool day_ok = election.has_voting_day() && ToCivilDay(election.voting_day()).has_value();
  if (!election.has_voting_day()) {
    v.Add("election.voting_day", "is required");
  } else if (!day_ok) {
    ValidateDateField(election.voting_day(), "election.voting_day", v);
  }
  absl::TimeZone tz;
  const bool tz_ok =
      IsPlausibleZoneName(election.time_zone()) && absl::LoadTimeZone(election.time_zone(), &tz);
  if (election.time_zone().empty()) {
    v.Add("election.time_zone", "is required (IANA time zone, e.g. Asia/Almaty)");
  } else if (!tz_ok) {
    v.Add("election.time_zone",
          absl::StrCat("'", election.time_zone(), "' is not an IANA time zone"));
  }
  if (!v1::ElectionState_IsValid(election.state())) {
    v.Add("election.state", "is not a known state");
  } else if (election.state() == v1::ELECTION_STATE_UNSPECIFIED) {
    election.set_state(v1::ELECTION_STATE_SCHEDULED);
  }
  if (!election.has_accreditation_deadline() && day_ok && tz_ok) {
    auto deadline = DefaultAccreditationDeadline(election.voting_day(), election.time_zone());
    if (deadline.ok()) *election.mutable_accreditation_deadline() = ToProto(*deadline);
  }
  if (election.has_accreditation_opens_time()) {
    CheckTimestamp(election.accreditation_opens_time(), "election.accreditation_opens_time", v);
  }
  if (election.has_accreditation_deadline()) {
    CheckTimestamp(election.accreditation_deadline(), "election.accreditation_deadline", v);
  }
  if (election.has_accreditation_opens_time() && election.has_accreditation_deadline() &&
      FromProto(election.accreditation_opens_time()) >=
          FromProto(election.accreditation_deadline())) {
    v.Add("election.accreditation_opens_time", "must be before the accreditation deadline");
  }
}

void ValidateOrganisation(v1::Organisation& organisation, Violations& v) {
  RequireText(organisation.names().en(), "organisation.names.en", kMaxNameLength, v);
  LimitText(organisation.names().ru(), "organisation.names.ru", kMaxNameLength, v);
  LimitText(organisation.names().kk(), "organisation.names.kk", kMaxNameLength, v);
  if (organisation.aliases_size() > kMaxAliases) {
    v.Add("organisation.aliases", absl::StrCat("has more than ", kMaxAliases, " aliases"));
  }
  for (int i = 0; i < organisation.aliases_size(); ++i) {
    const v1::OrganisationAlias& alias = organisation.aliases(i);
    const std::string field = absl::StrCat("organisation.aliases[", i, "]");
    LimitText(alias.names().en(), field + ".names.en", kMaxNameLength, v);
    LimitText(alias.names().ru(), field + ".names.ru", kMaxNameLength, v);
    LimitText(alias.names().kk(), field + ".names.kk", kMaxNameLength, v);
    if (alias.names().en().empty() && alias.names().ru().empty() && alias.names().kk().empty()) {
      v.Add(absl::StrCat(field, ".names"), "needs at least one name");
    }
    if (alias.has_valid_from()) ValidateDateField(alias.valid_from(), field + ".valid_from", v);
    if (alias.has_valid_until()) ValidateDateField(alias.valid_until(), field + ".valid_until", v);
    auto from = alias.has_valid_from() ? ToCivilDay(alias.valid_from()) : std::nullopt;
    auto until = alias.has_valid_until() ? ToCivilDay(alias.valid_until()) : std::nullopt;
    if (from && until && *from > *until) v.Add(field + ".valid_until", "is before valid_from");
  }
  if (!organisation.parent().empty()) {
    auto parent = ParseOrganisationName(organisation.parent(), "organisation.parent");
    if (!parent.ok()) {
      v.Add("organisation.parent", "is not an organisation name (organisations/{code})");
    } else if (organisation.parent() == organisation.name()) {
      v.Add("organisation.parent", "cannot be the organisation itself");
    }
  }
}

void ValidateObserver(const CountryCodes& countries, v1::Observer& observer, Violations& v) {
  RequireText(observer.given_names(), "observer.given_names", kMaxNameLength, v);
  RequireText(observer.family_name(), "observer.family_name", kMaxNameLength, v);
  RequireText(observer.latin_given_names(), "observer.latin_given_names", kMaxNameLength, v);
  RequireText(observer.latin_family_name(), "observer.latin_family_name", kMaxNameLength, v);
  if (!IsLatinName(observer.latin_given_names())) {
    v.Add("observer.latin_given_names", "must use Latin letters, spaces, '-', '\\'' and '.'");
  }
  if (!IsLatinName(observer.latin_family_name())) {
    v.Add("observer.latin_family_name", "must use Latin letters, spaces, '-', '\\'' and '.'");
  }
  RequireCountry(countries, observer.citizenship(), "observer.citizenship", v);
  if (!v1::Gender_IsValid(observer.gender())) v.Add("observer.gender", "is not a known gender");
  if (observer.has_birth_date()) {
    const auto day = ToCivilDay(observer.birth_date());
    if (!day) {
      ValidateDateField(observer.birth_date(), "observer.birth_date", v);
    } else if (day->year() < 1900 || *day > absl::ToCivilDay(absl::Now(), absl::UTCTimeZone())) {
      v.Add("observer.birth_date", "is not a plausible birth date");
    }
  }
  if (!observer.has_id_document()) {
    v.Add("observer.id_document", "is required");
  } else {
    const v1::IdDocument& doc = observer.id_document();
    if (doc.type() == v1::ID_DOCUMENT_TYPE_UNSPECIFIED || !v1::IdDocumentType_IsValid(doc.type())) {
      v.Add("observer.id_document.type", "is required (PASSPORT, DIPLOMATIC_PASSPORT, ...)");
    }
    std::string digits;
    bool clean = true;
    for (char c : doc.number()) {
      if (absl::ascii_isalnum(c)) {
        digits.push_back(c);
      } else if (c != ' ' && c != '-') {
        clean = false;
      }
    }
    if (digits.empty()) {
      v.Add("observer.id_document.number", "is required");
    } else if (!clean || digits.size() > 32) {
      v.Add("observer.id_document.number", "must be up to 32 letters and digits");
    }
    if (!countries.Contains(doc.issuing_country())) {
      // Not echoed: part of the identity document.
      v.Add("observer.id_document.issuing_country",
            "is required: the ISO 3166-1 alpha-2 code of the issuing country");
    }
  }
  if (!observer.contact().email().empty() && (!absl::StrContains(observer.contact().email(), '@') ||
                                              observer.contact().email().size() > 254)) {
    v.Add("observer.contact.email", "is not an e-mail address");
  }
  LimitText(observer.contact().phone(), "observer.contact.phone", 32, v);
  switch (observer.sending_body().body_case()) {
    case v1::SendingBody::kOrganisation:
      if (!ParseOrganisationName(observer.sending_body().organisation(), "").ok()) {
        v.Add("observer.sending_body.organisation",
              absl::StrCat("'", observer.sending_body().organisation(),
                           "' is not an organisation name (organisations/{code})"));
      }
      break;
    case v1::SendingBody::kState:
      RequireCountry(countries, observer.sending_body().state(), "observer.sending_body.state", v);
      break;
    case v1::SendingBody::BODY_NOT_SET:
      v.Add("observer.sending_body", "is required (an organisation or a foreign state)");
  }
  if (observer.category() == v1::OBSERVER_CATEGORY_UNSPECIFIED ||
      !v1::ObserverCategory_IsValid(observer.category())) {
    v.Add("observer.category", "is required (CORE_TEAM, LONG_TERM, SHORT_TERM, ...)");
  }
  LimitText(observer.submission_reference(), "observer.submission_reference", kMaxReferenceLength,
            v);
  if (observer.has_received_time()) {
    CheckTimestamp(observer.received_time(), "observer.received_time", v);
  }
  if (observer.tags_size() > kMaxTags) {
    v.Add("observer.tags", absl::StrCat("has more than ", kMaxTags, " tags"));
  }
  std::set<std::string> seen;
  for (int i = 0; i < observer.tags_size(); ++i) {
    if (!IsValidTag(observer.tags(i))) {
      v.Add(absl::StrCat("observer.tags[", i, "]"),
            "must be 1 to 63 letters, digits, '-', '_' or '.'");
    }
    seen.insert(observer.tags(i));
  }
  // Tags are a set: duplicates are dropped, order normalised.
  observer.clear_tags();
  for (const std::string& t : seen) observer.add_tags(t);
}

absl::string_view TransitionName(Transition t) {
  switch (t) {
    case Transition::kAccredit:
      return "accredit";
    case Transition::kReject:
      return "reject";
    case Transition::kSuspend:
      return "suspend";
    case Transition::kReinstate:
      return "reinstate";
    case Transition::kWithdraw:
      return "withdraw";
  }
  return "?";
}

std::optional<v1::ObserverStatus> NextStatus(v1::ObserverStatus from, Transition t) {
  switch (t) {
    case Transition::kAccredit:
      if (from == v1::OBSERVER_STATUS_SUBMITTED) return v1::OBSERVER_STATUS_ACCREDITED;
      break;
    case Transition::kReject:
      if (from == v1::OBSERVER_STATUS_SUBMITTED) return v1::OBSERVER_STATUS_REJECTED;
      break;
    case Transition::kSuspend:
      if (from == v1::OBSERVER_STATUS_ACCREDITED) return v1::OBSERVER_STATUS_SUSPENDED;
      break;
    case Transition::kReinstate:
      if (from == v1::OBSERVER_STATUS_SUSPENDED) return v1::OBSERVER_STATUS_ACCREDITED;
      break;
    case Transition::kWithdraw:
      if (from == v1::OBSERVER_STATUS_ACCREDITED || from == v1::OBSERVER_STATUS_SUSPENDED) {
        return v1::OBSERVER_STATUS_WITHDRAWN;
      }
      break;
  }
  return std::nullopt;
}

std::string EtagFor(int64_t revision) { return absl::StrCat("r", revision); }

}  // namespace observer::registry
