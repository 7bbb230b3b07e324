#include "tools/observerctl/observer_columns.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "tools/observerctl/values.h"

namespace observer::ctl {
namespace {

namespace v1 = ::observer::registry::v1;
using Observer = v1::Observer;

constexpr absl::string_view kOrganisationsPrefix = "organisations/";

template <typename E, void (Observer::*Set)(E)>
absl::Status SetEnum(Observer& o, absl::string_view text) {
  if (absl::StripAsciiWhitespace(text).empty()) {
    (o.*Set)(static_cast<E>(0));
    return absl::OkStatus();
  }
  absl::StatusOr<E> v = ParseEnum<E>(text);
  if (!v.ok()) return v.status();
  (o.*Set)(*v);
  return absl::OkStatus();
}

template <typename E>
absl::Status SetIdType(Observer& o, absl::string_view text) {
  if (absl::StripAsciiWhitespace(text).empty()) {
    o.mutable_id_document()->set_type(static_cast<E>(0));
    return absl::OkStatus();
  }
  absl::StatusOr<E> v = ParseEnum<E>(text);
  if (!v.ok()) return v.status();
  o.mutable_id_document()->set_type(*v);
  return absl::OkStatus();
}

absl::Status Ignore(Observer&, absl::string_view) { return absl::OkStatus(); }

const std::vector<ObserverColumn>* BuildColumns() {
  using K = ColumnKind;
  auto* c = new std::vector<ObserverColumn>{
      {"name", K::kExportOnly, false, false, "", "NAME", "resource name", Ignore,
       [](const Observer& o) { return o.name(); }},
      {"given_names", K::kSubmission, true, false, "given_names", "TEXT",
       "given names as on the identity document (any script)",
       [](Observer& o, absl::string_view t) {
         o.set_given_names(std::string(t));
         return absl::OkStatus();
       },
       [](const Observer& o) { return o.given_names(); }},
      {"family_name", K::kSubmission, true, false, "family_name", "TEXT",
       "family name as on the identity document",
       [](Observer& o, absl::string_view t) {
         o.set_family_name(std::string(t));
         return absl::OkStatus();
       },
       [](const Observer& o) { return o.family_name(); }},
      {"latin_given_names", K::kSubmission, true, false, "latin_given_names", "TEXT",
       "given names in Latin letters (passport's machine-readable zone)",
       [](Observer& o, absl::string_view t) {
         o.set_latin_given_names(std::string(t));
         return absl::OkStatus();
       },
       [](const Observer& o) { return o.latin_given_names(); }},
      {"latin_family_name", K::kSubmission, true, false, "latin_family_name", "TEXT",
       "family name in Latin letters",
       [](Observer& o, absl::string_view t) {
         o.set_latin_family_name(std::string(t));
         return absl::OkStatus();
       },
       [](const Observer& o) { return o.latin_family_name(); }},
      {"citizenship", K::kSubmission, true, false, "citizenship", "CC",
       "citizenship, ISO 3166-1 alpha-2",
       [](Observer& o, absl::string_view t) {
         o.set_citizenship(absl::AsciiStrToUpper(absl::StripAsciiWhitespace(t)));
         return absl::OkStatus();
       },
       [](const Observer& o) { return o.citizenship(); }},
      {"gender", K::kSubmission, false, false, "gender", "GENDER", "female, male or other",
       SetEnum<v1::Gender, &Observer::set_gender>,
       [](const Observer& o) { return EnumText(o.gender()); }},
      {"birth_date", K::kSubmission, false, true, "birth_date", "DATE", "birth date, YYYY-MM-DD",
       [](Observer& o, absl::string_view t) {
         if (absl::StripAsciiWhitespace(t).empty()) {
           o.clear_birth_date();
           return absl::OkStatus();
         }
         absl::StatusOr<google::type::Date> d = ParseDate(t);
         if (!d.ok()) return d.status();
         *o.mutable_birth_date() = *d;
         return absl::OkStatus();
       },
       [](const Observer& o) { return FormatDate(o.birth_date()); }},
      {"id_type", K::kSubmission, true, true, "id_document", "TYPE",
       "identity document type: passport, diplomatic-passport, service-passport, national-id, "
       "other",
       SetIdType<v1::IdDocumentType>,
       [](const Observer& o) { return EnumText(o.id_document().type()); }},
      {"id_number", K::kSubmission, true, true, "id_document", "NUMBER", "identity document number",
       [](Observer& o, absl::string_view t) {
         o.mutable_id_document()->set_number(std::string(absl::StripAsciiWhitespace(t)));
         return absl::OkStatus();
       },
       [](const Observer& o) { return o.id_document().number(); }},
      {"id_country", K::kSubmission, true, true, "id_document", "CC",
       "issuing country of the identity document, ISO 3166-1 alpha-2",
       [](Observer& o, absl::string_view t) {
         o.mutable_id_document()->set_issuing_country(
             absl::AsciiStrToUpper(absl::StripAsciiWhitespace(t)));
         return absl::OkStatus();
       },
       [](const Observer& o) { return o.id_document().issuing_country(); }},
      {"email", K::kSubmission, false, true, "contact", "EMAIL", "e-mail address",
       [](Observer& o, absl::string_view t) {
         o.mutable_contact()->set_email(std::string(absl::StripAsciiWhitespace(t)));
         if (o.contact().email().empty() && o.contact().phone().empty()) o.clear_contact();
         return absl::OkStatus();
       },
       [](const Observer& o) { return o.contact().email(); }},
      {"phone", K::kSubmission, false, true, "contact", "PHONE", "telephone number",
       [](Observer& o, absl::string_view t) {
         o.mutable_contact()->set_phone(std::string(absl::StripAsciiWhitespace(t)));
         if (o.contact().email().empty() && o.contact().phone().empty()) o.clear_contact();
         return absl::OkStatus();
       },
       [](const Observer& o) { return o.contact().phone(); }},
      {"organisation", K::kSubmission, false, false, "sending_body", "CODE",
       "sending organisation code, e.g. OSCE-ODIHR (or give --state)",
       [](Observer& o, absl::string_view t) {
         const std::string code = OrganisationCode(t);
         if (!code.empty()) {
           if (o.sending_body().has_state()) {
             return absl::InvalidArgumentError(
                 "a person is sent by an organisation or by a state, not both");
           }
           o.mutable_sending_body()->set_organisation(absl::StrCat(kOrganisationsPrefix, code));
         } else if (o.sending_body().has_organisation()) {
           o.clear_sending_body();
         }
         return absl::OkStatus();
       },
       [](const Observer& o) { return OrganisationCode(o.sending_body().organisation()); }},
      {"state", K::kSubmission, false, false, "sending_body", "CC",
       "sending state, ISO 3166-1 alpha-2 (or give --organisation)",
       [](Observer& o, absl::string_view t) {
         const std::string code = absl::AsciiStrToUpper(absl::StripAsciiWhitespace(t));
         if (!code.empty()) {
           if (o.sending_body().has_organisation()) {
             return absl::InvalidArgumentError(
                 "a person is sent by an organisation or by a state, not both");
           }
           o.mutable_sending_body()->set_state(code);
         } else if (o.sending_body().has_state()) {
           o.clear_sending_body();
         }
         return absl::OkStatus();
       },
       [](const Observer& o) { return o.sending_body().state(); }},
      {"category", K::kSubmission, true, false, "category", "CATEGORY",
       "core-team, long-term, short-term, parliamentarian, head-of-delegation or other",
       SetEnum<v1::ObserverCategory, &Observer::set_category>,
       [](const Observer& o) { return EnumText(o.category()); }},
      {"submission_reference", K::kSubmission, false, false, "submission_reference", "REF",
       "the foreign ministry's note that named the person",
       [](Observer& o, absl::string_view t) {
         o.set_submission_reference(std::string(t));
         return absl::OkStatus();
       },
       [](const Observer& o) { return o.submission_reference(); }},
      {"received_time", K::kSubmission, false, false, "", "TIME",
       "when the submission was received, RFC 3339 (default: now)",
       [](Observer& o, absl::string_view t) {
         return SetInstantField(o, &Observer::mutable_received_time, &Observer::clear_received_time,
                                t);
       },
       [](const Observer& o) { return FormatInstant(o.received_time()); }},
      {"tags", K::kSubmission, false, false, "tags", "LIST", "comma-separated labels",
       [](Observer& o, absl::string_view t) {
         o.clear_tags();
         for (std::string& tag : SplitList(t)) o.add_tags(std::move(tag));
         return absl::OkStatus();
       },
       [](const Observer& o) { return absl::StrJoin(o.tags(), ","); }},
      {"test", K::kSubmission, false, false, "test", "BOOL",
       "a test record, left out of statistics (true or false)",
       [](Observer& o, absl::string_view t) {
         absl::StatusOr<bool> b = ParseBoolText(t);
         if (!b.ok()) return b.status();
         o.set_test(*b);
         return absl::OkStatus();
       },
       [](const Observer& o) { return std::string(o.test() ? "true" : "false"); }},
      {"status", K::kDecision, false, false, "", "STATUS",
       "submitted, accredited, rejected, suspended or withdrawn",
       SetEnum<v1::ObserverStatus, &Observer::set_status>,
       [](const Observer& o) { return EnumText(o.status()); }},
      {"badge_number", K::kDecision, false, false, "", "BADGE", "badge number",
       [](Observer& o, absl::string_view t) {
         o.set_badge_number(std::string(absl::StripAsciiWhitespace(t)));
         return absl::OkStatus();
       },
       [](const Observer& o) { return o.badge_number(); }},
      {"decision_time", K::kDecision, false, false, "", "TIME", "when the status was decided",
       [](Observer& o, absl::string_view t) {
         return SetInstantField(o, &Observer::mutable_decision_time, &Observer::clear_decision_time,
                                t);
       },
       [](const Observer& o) { return FormatInstant(o.decision_time()); }},
      {"decision_reference", K::kDecision, false, false, "", "REF", "the commission's resolution",
       [](Observer& o, absl::string_view t) {
         o.set_decision_reference(std::string(t));
         return absl::OkStatus();
       },
       [](const Observer& o) { return o.decision_reference(); }},
      {"status_reason", K::kDecision, false, false, "", "TEXT", "reason for the status",
       [](Observer& o, absl::string_view t) {
         o.set_status_reason(std::string(t));
         return absl::OkStatus();
       },
       [](const Observer& o) { return o.status_reason(); }},
      {"create_time", K::kExportOnly, false, false, "", "TIME", "", Ignore,
       [](const Observer& o) { return FormatInstant(o.create_time()); }},
      {"update_time", K::kExportOnly, false, false, "", "TIME", "", Ignore,
       [](const Observer& o) { return FormatInstant(o.update_time()); }},
      {"revision", K::kExportOnly, false, false, "", "N", "", Ignore,
       [](const Observer& o) { return o.revision() == 0 ? "" : absl::StrCat(o.revision()); }},
      {"etag", K::kExportOnly, false, false, "", "ETAG", "", Ignore,
       [](const Observer& o) { return o.etag(); }},
      {"update_actor", K::kExportOnly, false, false, "", "ACTOR", "", Ignore,
       [](const Observer& o) { return o.update_actor(); }},
  };
  return c;
}

}  // namespace

const std::vector<ObserverColumn>& ObserverColumns() {
  static const std::vector<ObserverColumn>* const columns = BuildColumns();
  return *columns;
}

const ObserverColumn* FindObserverColumn(absl::string_view name) {
  for (const ObserverColumn& c : ObserverColumns()) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

std::string ColumnForField(absl::string_view field_path) {
  absl::string_view p = field_path;
  if (absl::StartsWith(p, "requests[")) {
    const auto dot = p.find("].");
    if (dot != absl::string_view::npos) p.remove_prefix(dot + 2);
  }
  p = absl::StripPrefix(p, "observer.");
  if (const auto bracket = p.find('['); bracket != absl::string_view::npos) {
    p = p.substr(0, bracket);
  }
  static const std::pair<absl::string_view, absl::string_view> kPaths[] = {
      {"id_document.type", "id_type"},
      {"id_document.number", "id_number"},
      {"id_document.issuing_country", "id_country"},
      {"id_document", "id_number"},
      {"contact.email", "email"},
      {"contact.phone", "phone"},
      {"contact", "email"},
      {"sending_body.organisation", "organisation"},
      {"sending_body.state", "state"},
      {"sending_body", "organisation"},
  };
  for (const auto& [path, column] : kPaths) {
    if (p == path) return std::string(column);
  }
  if (FindObserverColumn(p) != nullptr) return std::string(p);
  return std::string(field_path);
}

std::string OrganisationCode(absl::string_view name_or_code) {
  return std::string(
      absl::StripPrefix(absl::StripAsciiWhitespace(name_or_code), kOrganisationsPrefix));
}

}  // namespace observer::ctl
