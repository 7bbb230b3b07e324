// `election`, `organisation` and `observer` commands: the registry's records.
#include <iostream>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "google/protobuf/field_mask.pb.h"
#include "tools/observerctl/commands.h"
#include "tools/observerctl/csv.h"
#include "tools/observerctl/observer_columns.h"
#include "tools/observerctl/output.h"
#include "tools/observerctl/values.h"

namespace observer::ctl {
namespace {

namespace v1 = ::observer::registry::v1;
using Stub = v1::RegistryService::Stub;

const std::vector<std::string> kRecordFormats = {"text", "json"};
const std::vector<std::string> kListFormats = {"table", "json", "csv"};

FlagSpec RequestIdFlag() {
  return {"request-id", "ID",
          "idempotency key: repeating the command with the same id changes nothing"};
}
FlagSpec EtagFlag() { return {"etag", "ETAG", "act only if the record still has this etag"}; }

// Prints a record in the --output format.
int PrintRecord(const Invocation& inv, const google::protobuf::Message& record) {
  absl::StatusOr<std::string> format = OutputFormat(inv, kRecordFormats);
  if (!format.ok()) return UsageError(format.status().message());
  if (*format == "json") {
    std::cout << ToJson(record, /*pretty=*/true) << "\n";
  } else {
    PrintFields(record, std::cout);
  }
  return kExitOk;
}

// A list in the --output format: `header` and `rows` for table and CSV, `records` for JSON.
template <typename Record>
int PrintList(const Invocation& inv, const std::vector<Record>& records,
              const std::vector<std::string>& header, const std::vector<bool>& right,
              const std::function<std::vector<std::string>(const Record&)>& row) {
  absl::StatusOr<std::string> format = OutputFormat(inv, kListFormats);
  if (!format.ok()) return UsageError(format.status().message());
  if (*format == "json") {
    JsonArrayWriter json(std::cout);
    for (const Record& r : records) json.Add(r);
    json.Finish();
  } else if (*format == "csv") {
    std::vector<std::string> h;
    for (const std::string& name : header) {
      h.push_back(absl::AsciiStrToLower(absl::StrReplaceAll(name, {{" ", "_"}})));
    }
    std::cout << CsvLine(h);
    for (const Record& r : records) std::cout << CsvLine(row(r));
  } else {
    Table table(header, right);
    for (const Record& r : records) table.Add(row(r));
    table.Print(std::cout);
    std::cout << records.size() << (records.size() == 1 ? " record" : " records") << "\n";
  }
  return kExitOk;
}

// --- Field flags ------------------------------------------------------------------------------

// A flag that sets one field of a record; `mask` is the update-mask path it changes.
template <typename Record>
struct FieldFlag {
  FlagSpec spec;
  std::string mask;
  absl::Status (*set)(Record& r, const std::vector<std::string>& values);
};

// Applies the field flags that were given; adds their mask paths. A usage error names the flag.
template <typename Record>
absl::Status ApplyFieldFlags(const Invocation& inv, const std::vector<FieldFlag<Record>>& flags,
                             Record& record, std::set<std::string>* mask) {
  for (const FieldFlag<Record>& f : flags) {
    if (!inv.Given(f.spec.name)) continue;
    absl::Status s = f.set(record, inv.GetAll(f.spec.name));
    if (!s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("--", f.spec.name, ": ", s.message()));
    }
    if (mask != nullptr) mask->insert(f.mask);
  }
  return absl::OkStatus();
}

template <typename Record>
std::vector<FlagSpec> Specs(const std::vector<FieldFlag<Record>>& flags, bool for_create,
                            const std::set<std::string>& required) {
  std::vector<FlagSpec> out;
  for (FieldFlag<Record> f : flags) {
    f.spec.required = for_create && required.count(f.spec.name) > 0;
    out.push_back(f.spec);
  }
  return out;
}

google::protobuf::FieldMask ToMask(const std::set<std::string>& paths) {
  google::protobuf::FieldMask mask;
  for (const std::string& p : paths) mask.add_paths(p);
  return mask;
}

// --- Elections --------------------------------------------------------------------------------

std::vector<FieldFlag<v1::Election>> ElectionFlags() {
  using E = v1::Election;
  using Values = const std::vector<std::string>&;
  return {
      {{"display-name", "TEXT", "human-readable name"},
       "display_name",
       [](E& e, Values v) {
         e.set_display_name(v.back());
         return absl::OkStatus();
       }},
      {{"kind", "KIND", "parliamentary, local, presidential, referendum or combined"},
       "kind",
       [](E& e, Values v) {
         if (v.back().empty()) return absl::InvalidArgumentError("must not be empty");
         absl::StatusOr<v1::ElectionKind> k = ParseEnum<v1::ElectionKind>(v.back());
         if (!k.ok()) return k.status();
         e.set_kind(*k);
         return absl::OkStatus();
       }},
      {{"host-country", "CC", "host country, ISO 3166-1 alpha-2"},
       "host_country",
       [](E& e, Values v) {
         e.set_host_country(absl::AsciiStrToUpper(v.back()));
         return absl::OkStatus();
       }},
      {{"voting-day", "DATE", "voting day, YYYY-MM-DD (local)"},
       "voting_day",
       [](E& e, Values v) {
         absl::StatusOr<google::type::Date> d = ParseDate(v.back());
         if (!d.ok()) return d.status();
         *e.mutable_voting_day() = *d;
         return absl::OkStatus();
       }},
      {{"time-zone", "ZONE", "IANA time zone of the host, e.g. Asia/Almaty"},
       "time_zone",
       [](E& e, Values v) {
         e.set_time_zone(v.back());
         return absl::OkStatus();
       }},
      {{"opens-time", "TIME", "when submissions start being accepted (RFC 3339; empty: no bound)"},
       "accreditation_opens_time",
       [](E& e, Values v) {
         return SetInstantField(e, &E::mutable_accreditation_opens_time,
                                &E::clear_accreditation_opens_time, v.back());
       }},
      {{"deadline", "TIME",
        "accreditation deadline (RFC 3339); default 18:00 local on voting day minus 6 days"},
       "accreditation_deadline",
       [](E& e, Values v) {
         return SetInstantField(e, &E::mutable_accreditation_deadline,
                                &E::clear_accreditation_deadline, v.back());
       }},
      {{"state", "STATE", "scheduled, held or cancelled"},
       "state",
       [](E& e, Values v) {
         absl::StatusOr<v1::ElectionState> s = ParseEnum<v1::ElectionState>(v.back());
         if (!s.ok()) return s.status();
         e.set_state(*s);
         return absl::OkStatus();
       }},
  };
}

std::vector<std::string> ElectionRow(const v1::Election& e) {
  return {e.name(),           e.display_name(),           EnumText(e.kind()),
          e.host_country(),   FormatDate(e.voting_day()), FormatInstant(e.accreditation_deadline()),
          EnumText(e.state())};
}

int ElectionCreate(const Invocation& inv) {
  v1::CreateElectionRequest req;
  req.set_election_id(std::string(absl::StripPrefix(inv.args[0], "elections/")));
  req.set_request_id(inv.Get("request-id"));
  if (absl::Status s = ApplyFieldFlags(inv, ElectionFlags(), *req.mutable_election(), nullptr);
      !s.ok()) {
    return UsageError(s.message());
  }
  return WithConnection(inv, [&](Connection& c) {
    v1::CreateElectionResponse resp;
    if (!c.Call(Service::kRegistry, "CreateElection", &Stub::CreateElection, req, &resp).ok()) {
      return kExitFailed;
    }
    return PrintRecord(inv, resp.election());
  });
}

int ElectionGet(const Invocation& inv) {
  v1::GetElectionRequest req;
  req.set_name(ElectionName(inv.args[0]));
  return WithConnection(inv, [&](Connection& c) {
    v1::GetElectionResponse resp;
    if (!c.Call(Service::kRegistry, "GetElection", &Stub::GetElection, req, &resp).ok()) {
      return kExitFailed;
    }
    return PrintRecord(inv, resp.election());
  });
}

int ElectionList(const Invocation& inv) {
  return WithConnection(inv, [&](Connection& c) {
    std::vector<v1::Election> all;
    v1::ListElectionsRequest req;
    req.set_page_size(1000);
    do {
      v1::ListElectionsResponse resp;
      if (!c.Call(Service::kRegistry, "ListElections", &Stub::ListElections, req, &resp).ok()) {
        return kExitFailed;
      }
      for (const auto& e : resp.elections()) all.push_back(e);
      req.set_page_token(resp.next_page_token());
    } while (!req.page_token().empty());
    return PrintList<v1::Election>(
        inv, all, {"NAME", "DISPLAY NAME", "KIND", "HOST", "VOTING DAY", "DEADLINE", "STATE"}, {},
        ElectionRow);
  });
}

int ElectionUpdate(const Invocation& inv) {
  v1::UpdateElectionRequest req;
  req.mutable_election()->set_name(ElectionName(inv.args[0]));
  req.mutable_election()->set_etag(inv.Get("etag"));
  req.set_request_id(inv.Get("request-id"));
  std::set<std::string> mask;
  if (absl::Status s = ApplyFieldFlags(inv, ElectionFlags(), *req.mutable_election(), &mask);
      !s.ok()) {
    return UsageError(s.message());
  }
  if (mask.empty()) return UsageError("nothing to update: give the flags of the fields to change");
  *req.mutable_update_mask() = ToMask(mask);
  return WithConnection(inv, [&](Connection& c) {
    v1::UpdateElectionResponse resp;
    if (!c.Call(Service::kRegistry, "UpdateElection", &Stub::UpdateElection, req, &resp).ok()) {
      return kExitFailed;
    }
    return PrintRecord(inv, resp.election());
  });
}

// --- Organisations ----------------------------------------------------------------------------

std::string OrganisationName(absl::string_view code_or_name) {
  return absl::StrCat("organisations/", OrganisationCode(code_or_name));
}

// "en=NAME;ru=NAME;kk=NAME;from=DATE;until=DATE".
absl::StatusOr<v1::OrganisationAlias> ParseAlias(absl::string_view text) {
  v1::OrganisationAlias alias;
  for (absl::string_view part : absl::StrSplit(text, ';', absl::SkipWhitespace())) {
    const auto eq = part.find('=');
    if (eq == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("'", part, "' is not KEY=VALUE (keys: en, ru, kk, from, until)"));
    }
    const std::string key(absl::StripAsciiWhitespace(part.substr(0, eq)));
    const std::string value(absl::StripAsciiWhitespace(part.substr(eq + 1)));
    if (key == "en") {
      alias.mutable_names()->set_en(value);
    } else if (key == "ru") {
      alias.mutable_names()->set_ru(value);
    } else if (key == "kk") {
      alias.mutable_names()->set_kk(value);
    } else if (key == "from" || key == "until") {
      absl::StatusOr<google::type::Date> d = ParseDate(value);
      if (!d.ok()) return d.status();
      *(key == "from" ? alias.mutable_valid_from() : alias.mutable_valid_until()) = *d;
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown alias key '", key, "' (keys: en, ru, kk, from, until)"));
    }
  }
  return alias;
}

std::vector<FieldFlag<v1::Organisation>> OrganisationFlags() {
  using O = v1::Organisation;
  using Values = const std::vector<std::string>&;
  return {
      {{"name-en", "TEXT", "English name"},
       "names.en",
       [](O& o, Values v) {
         o.mutable_names()->set_en(v.back());
         return absl::OkStatus();
       }},
      {{"name-ru", "TEXT", "Russian name"},
       "names.ru",
       [](O& o, Values v) {
         o.mutable_names()->set_ru(v.back());
         return absl::OkStatus();
       }},
      {{"name-kk", "TEXT", "Kazakh name"},
       "names.kk",
       [](O& o, Values v) {
         o.mutable_names()->set_kk(v.back());
         return absl::OkStatus();
       }},
      {{"parent", "CODE", "parent organisation (empty: none)"},
       "parent",
       [](O& o, Values v) {
         o.set_parent(v.back().empty() ? "" : OrganisationName(v.back()));
         return absl::OkStatus();
       }},
      {{"alias", "ALIAS",
        "former or other name: en=NAME[;ru=NAME][;kk=NAME][;from=DATE][;until=DATE]", true},
       "aliases",
       [](O& o, Values v) {
         o.clear_aliases();
         for (const std::string& text : v) {
           if (text.empty()) continue;
           absl::StatusOr<v1::OrganisationAlias> a = ParseAlias(text);
           if (!a.ok()) return a.status();
           *o.add_aliases() = *a;
         }
         return absl::OkStatus();
       }},
  };
}

std::vector<std::string> OrganisationRow(const v1::Organisation& o) {
  return {OrganisationCode(o.name()), o.names().en(), OrganisationCode(o.parent())};
}

int OrganisationCreate(const Invocation& inv) {
  v1::CreateOrganisationRequest req;
  req.set_organisation_code(OrganisationCode(inv.args[0]));
  req.set_request_id(inv.Get("request-id"));
  if (absl::Status s =
          ApplyFieldFlags(inv, OrganisationFlags(), *req.mutable_organisation(), nullptr);
      !s.ok()) {
    return UsageError(s.message());
  }
  return WithConnection(inv, [&](Connection& c) {
    v1::CreateOrganisationResponse resp;
    if (!c.Call(Service::kRegistry, "CreateOrganisation", &Stub::CreateOrganisation, req, &resp)
             .ok()) {
      return kExitFailed;
    }
    return PrintRecord(inv, resp.organisation());
  });
}

int OrganisationGet(const Invocation& inv) {
  v1::GetOrganisationRequest req;
  req.set_name(OrganisationName(inv.args[0]));
  return WithConnection(inv, [&](Connection& c) {
    v1::GetOrganisationResponse resp;
    if (!c.Call(Service::kRegistry, "GetOrganisation", &Stub::GetOrganisation, req, &resp).ok()) {
      return kExitFailed;
    }
    return PrintRecord(inv, resp.organisation());
  });
}

int OrganisationList(const Invocation& inv) {
  return WithConnection(inv, [&](Connection& c) {
    std::vector<v1::Organisation> all;
    v1::ListOrganisationsRequest req;
    req.set_page_size(1000);
    do {
      v1::ListOrganisationsResponse resp;
      if (!c.Call(Service::kRegistry, "ListOrganisations", &Stub::ListOrganisations, req, &resp)
               .ok()) {
        return kExitFailed;
      }
      for (const auto& o : resp.organisations()) all.push_back(o);
      req.set_page_token(resp.next_page_token());
    } while (!req.page_token().empty());
    return PrintList<v1::Organisation>(inv, all, {"CODE", "NAME", "PARENT"}, {}, OrganisationRow);
  });
}

int OrganisationUpdate(const Invocation& inv) {
  v1::UpdateOrganisationRequest req;
  req.mutable_organisation()->set_name(OrganisationName(inv.args[0]));
  req.mutable_organisation()->set_etag(inv.Get("etag"));
  req.set_request_id(inv.Get("request-id"));
  std::set<std::string> mask;
  if (absl::Status s =
          ApplyFieldFlags(inv, OrganisationFlags(), *req.mutable_organisation(), &mask);
      !s.ok()) {
    return UsageError(s.message());
  }
  if (mask.empty()) return UsageError("nothing to update: give the flags of the fields to change");
  *req.mutable_update_mask() = ToMask(mask);
  return WithConnection(inv, [&](Connection& c) {
    v1::UpdateOrganisationResponse resp;
    if (!c.Call(Service::kRegistry, "UpdateOrganisation", &Stub::UpdateOrganisation, req, &resp)
             .ok()) {
      return kExitFailed;
    }
    return PrintRecord(inv, resp.organisation());
  });
}

// --- Observers --------------------------------------------------------------------------------

std::string FlagName(absl::string_view column) { return absl::StrReplaceAll(column, {{"_", "-"}}); }

FlagSpec ElectionFlag(bool required) {
  return {"election", "ELECTION", "the election, e.g. kz-2021", false, required};
}

// The observer's flags: one per submission column.
std::vector<FlagSpec> ObserverFieldFlags(bool for_add) {
  std::vector<FlagSpec> out;
  for (const ObserverColumn& c : ObserverColumns()) {
    if (c.kind != ColumnKind::kSubmission) continue;
    if (!for_add && c.mask.empty()) continue;  // Not updatable (received_time).
    out.push_back({FlagName(c.name), std::string(c.value_name), std::string(c.help), false,
                   for_add && c.required});
  }
  return out;
}

// Applies the observer field flags given; adds their mask paths.
absl::Status ApplyObserverFlags(const Invocation& inv, v1::Observer& o,
                                std::set<std::string>* mask) {
  if (inv.Given("organisation") || inv.Given("state")) o.clear_sending_body();
  for (const ObserverColumn& c : ObserverColumns()) {
    const std::string flag = FlagName(c.name);
    if (c.kind != ColumnKind::kSubmission || !inv.Given(flag)) continue;
    if (absl::Status s = c.set(o, inv.Get(flag)); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("--", flag, ": ", s.message()));
    }
    if (mask != nullptr && !c.mask.empty()) mask->insert(std::string(c.mask));
  }
  return absl::OkStatus();
}

// The observer's resource name from the argument: a full name, or an id with --election.
absl::StatusOr<std::string> ObserverName(const Invocation& inv) {
  const std::string& arg = inv.args[0];
  if (absl::StartsWith(arg, "elections/")) return arg;
  if (inv.Get("election").empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "'", arg, "' is not a full name (elections/ELECTION/observers/ID); give --election too"));
  }
  return absl::StrCat(ElectionName(inv.Get("election")), "/observers/", arg);
}

std::vector<std::string> ObserverRow(const v1::Observer& o) {
  const std::string& body = o.sending_body().has_organisation() ? o.sending_body().organisation()
                                                                : o.sending_body().state();
  return {o.name().substr(o.name().rfind('/') + 1),
          o.latin_family_name(),
          o.latin_given_names(),
          o.citizenship(),
          OrganisationCode(body),
          EnumText(o.category()),
          EnumText(o.status()),
          o.badge_number()};
}

int ObserverAdd(const Invocation& inv) {
  v1::CreateObserverRequest req;
  req.set_parent(ElectionName(inv.Get("election")));
  req.set_request_id(inv.Get("request-id"));
  if (absl::Status s = ApplyObserverFlags(inv, *req.mutable_observer(), nullptr); !s.ok()) {
    return UsageError(s.message());
  }
  return WithConnection(inv, [&](Connection& c) {
    v1::CreateObserverResponse resp;
    if (!c.Call(Service::kRegistry, "CreateObserver", &Stub::CreateObserver, req, &resp).ok()) {
      return kExitFailed;
    }
    return PrintRecord(inv, resp.observer());
  });
}

int ObserverGet(const Invocation& inv) {
  absl::StatusOr<std::string> name = ObserverName(inv);
  if (!name.ok()) return UsageError(name.status().message());
  v1::GetObserverRequest req;
  req.set_name(*name);
  return WithConnection(inv, [&](Connection& c) {
    v1::GetObserverResponse resp;
    if (!c.Call(Service::kRegistry, "GetObserver", &Stub::GetObserver, req, &resp).ok()) {
      return kExitFailed;
    }
    return PrintRecord(inv, resp.observer());
  });
}

int ObserverList(const Invocation& inv) {
  return WithConnection(inv, [&](Connection& c) {
    std::vector<v1::Observer> all;
    v1::ListObserversRequest req;
    req.set_parent(ElectionName(inv.Get("election")));
    req.set_filter(inv.Get("filter"));
    req.set_page_size(1000);
    do {
      v1::ListObserversResponse resp;
      if (!c.Call(Service::kRegistry, "ListObservers", &Stub::ListObservers, req, &resp).ok()) {
        return kExitFailed;
      }
      for (const auto& o : resp.observers()) all.push_back(o);
      req.set_page_token(resp.next_page_token());
    } while (!req.page_token().empty());
    return PrintList<v1::Observer>(inv, all,
                                   {"ID", "FAMILY NAME", "GIVEN NAMES", "CITIZENSHIP", "SENT BY",
                                    "CATEGORY", "STATUS", "BADGE"},
                                   {}, ObserverRow);
  });
}

int ObserverUpdate(const Invocation& inv) {
  absl::StatusOr<std::string> name = ObserverName(inv);
  if (!name.ok()) return UsageError(name.status().message());
  v1::Observer probe;
  std::set<std::string> mask;
  if (absl::Status s = ApplyObserverFlags(inv, probe, &mask); !s.ok()) {
    return UsageError(s.message());
  }
  if (mask.empty()) return UsageError("nothing to update: give the flags of the fields to change");
  return WithConnection(inv, [&](Connection& c) {
    // Read, change the given fields, write back with the etag read: a concurrent change makes
    // the write fail (ABORTED) instead of being overwritten.
    v1::GetObserverRequest get;
    get.set_name(*name);
    v1::GetObserverResponse current;
    if (!c.Call(Service::kRegistry, "GetObserver", &Stub::GetObserver, get, &current).ok()) {
      return kExitFailed;
    }
    v1::UpdateObserverRequest req;
    *req.mutable_observer() = current.observer();
    (void)ApplyObserverFlags(inv, *req.mutable_observer(), nullptr);
    if (inv.Given("etag")) req.mutable_observer()->set_etag(inv.Get("etag"));
    *req.mutable_update_mask() = ToMask(mask);
    req.set_request_id(inv.Get("request-id"));
    v1::UpdateObserverResponse resp;
    if (!c.Call(Service::kRegistry, "UpdateObserver", &Stub::UpdateObserver, req, &resp).ok()) {
      return kExitFailed;
    }
    return PrintRecord(inv, resp.observer());
  });
}

// The decision flags of the status commands.
std::vector<FlagSpec> DecisionFlags(bool reason_required, bool badge) {
  std::vector<FlagSpec> out = {
      {"decision-time", "TIME", "when the commission decided (RFC 3339; default now)"},
      {"decision-reference", "REF", "the commission's resolution, e.g. CEC-2021-12"},
  };
  if (badge) {
    out.push_back({"badge-number", "BADGE", "badge number (default: the election's next)"});
  } else {
    out.push_back({"reason", "TEXT", "the reason", false, reason_required});
  }
  out.push_back(EtagFlag());
  out.push_back(RequestIdFlag());
  out.push_back(ElectionFlag(false));
  out.push_back(OutputFlag(kRecordFormats));
  return out;
}

// The fields every status-change request has, set from the flags.
template <typename Request>
absl::Status FillDecision(const Invocation& inv, const std::string& name, Request& req) {
  req.set_name(name);
  req.set_etag(inv.Get("etag"));
  req.set_request_id(inv.Get("request-id"));
  req.set_decision_reference(inv.Get("decision-reference"));
  if (inv.Given("decision-time")) {
    absl::StatusOr<google::protobuf::Timestamp> t = ParseInstant(inv.Get("decision-time"));
    if (!t.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("--decision-time: ", t.status().message()));
    }
    *req.mutable_decision_time() = *t;
  }
  return absl::OkStatus();
}

template <typename Request, typename Response>
int StatusChange(const Invocation& inv, absl::string_view method,
                 grpc::Status (Stub::*fn)(grpc::ClientContext*, const Request&, Response*),
                 const std::function<void(Request&)>& extra) {
  absl::StatusOr<std::string> name = ObserverName(inv);
  if (!name.ok()) return UsageError(name.status().message());
  Request req;
  if (absl::Status s = FillDecision(inv, *name, req); !s.ok()) return UsageError(s.message());
  extra(req);
  return WithConnection(inv, [&](Connection& c) {
    Response resp;
    if (!c.Call(Service::kRegistry, method, fn, req, &resp).ok()) return kExitFailed;
    return PrintRecord(inv, resp.observer());
  });
}

template <typename Request>
std::function<void(Request&)> WithReason(const Invocation& inv) {
  return [&inv](Request& r) { r.set_reason(inv.Get("reason")); };
}

int ObserverDelete(const Invocation& inv) {
  absl::StatusOr<std::string> name = ObserverName(inv);
  if (!name.ok()) return UsageError(name.status().message());
  v1::DeleteObserverRequest req;
  req.set_name(*name);
  req.set_etag(inv.Get("etag"));
  req.set_request_id(inv.Get("request-id"));
  req.set_reason(inv.Get("reason"));
  return WithConnection(inv, [&](Connection& c) {
    v1::DeleteObserverResponse resp;
    if (!c.Call(Service::kRegistry, "DeleteObserver", &Stub::DeleteObserver, req, &resp).ok()) {
      return kExitFailed;
    }
    std::cout << "deleted " << *name << " at revision " << resp.revision() << "\n";
    return kExitOk;
  });
}

}  // namespace

std::vector<CommandSpec> RegistryCommands() {
  const FlagSpec record_output = OutputFlag(kRecordFormats);
  const FlagSpec list_output = OutputFlag(kListFormats);
  std::vector<CommandSpec> c;

  c.push_back(
      {{"election", "create"},
       "Create an election.",
       "ID",
       1,
       1,
       Concat(Specs(ElectionFlags(), true,
                    {"display-name", "kind", "host-country", "voting-day", "time-zone"}),
              {RequestIdFlag(), record_output}),
       "The accreditation deadline defaults to 18:00 local time on voting day minus 6 "
       "calendar days.",
       "  observerctl election create kz-2021 --display-name \"Majilis and maslikhats\" \\\n"
       "      --kind combined --host-country KZ --voting-day 2021-01-10 "
       "--time-zone Asia/Almaty",
       ElectionCreate});
  c.push_back({{"election", "get"},
               "Show an election.",
               "ELECTION",
               1,
               1,
               {record_output},
               "",
               "  observerctl election get kz-2021 --output json",
               ElectionGet});
  c.push_back({{"election", "list"},
               "List every election.",
               "",
               0,
               0,
               {list_output},
               "",
               "  observerctl election list",
               ElectionList});
  c.push_back(
      {{"election", "update"},
       "Change the fields of an election whose flags are given.",
       "ELECTION",
       1,
       1,
       Concat(Specs(ElectionFlags(), false, {}), {EtagFlag(), RequestIdFlag(), record_output}),
       "An empty value clears a field: --deadline= restores the default deadline.",
       "  observerctl election update kz-2021 --state held\n"
       "  observerctl election update kz-2021 --deadline 2021-01-05T12:00:00Z",
       ElectionUpdate});

  c.push_back(
      {{"organisation", "create"},
       "Create a sending organisation.",
       "CODE",
       1,
       1,
       Concat(Specs(OrganisationFlags(), true, {"name-en"}), {RequestIdFlag(), record_output}),
       "",
       "  observerctl organisation create OSCE-ODIHR --name-en \"OSCE/ODIHR\" "
       "--parent OSCE\n"
       "  observerctl organisation create OTS --name-en \"Organization of Turkic "
       "States\" \\\n"
       "      --alias \"en=Cooperation Council of Turkic-speaking States;"
       "until=2021-11-11\"",
       OrganisationCreate});
  c.push_back({{"organisation", "get"},
               "Show an organisation.",
               "CODE",
               1,
               1,
               {record_output},
               "",
               "  observerctl organisation get OSCE-ODIHR",
               OrganisationGet});
  c.push_back({{"organisation", "list"},
               "List every organisation.",
               "",
               0,
               0,
               {list_output},
               "",
               "  observerctl organisation list --output csv",
               OrganisationList});
  c.push_back(
      {{"organisation", "update"},
       "Change the fields of an organisation whose flags are given.",
       "CODE",
       1,
       1,
       Concat(Specs(OrganisationFlags(), false, {}), {EtagFlag(), RequestIdFlag(), record_output}),
       "The --alias flags replace the aliases; --alias= removes them all; --parent= "
       "removes the parent.",
       "  observerctl organisation update CIS --name-ru \"СНГ\"",
       OrganisationUpdate});

  c.push_back({{"observer", "add"},
               "Record a submission: one person proposed as observer (status submitted).",
               "",
               0,
               0,
               Concat(Concat({ElectionFlag(true)}, ObserverFieldFlags(true)),
                      {RequestIdFlag(), record_output}),
               "Give --organisation or --state as the sending body.",
               "  observerctl observer add --election kz-2021 --given-names Иван "
               "--family-name Петров \\\n"
               "      --latin-given-names Ivan --latin-family-name Petrov --citizenship RU \\\n"
               "      --id-type passport --id-number 7201234 --id-country RU \\\n"
               "      --organisation CIS-MISSION --category short-term",
               ObserverAdd});
  c.push_back({{"observer", "get"},
               "Show an observer record (with personal data).",
               "OBSERVER",
               1,
               1,
               {ElectionFlag(false), record_output},
               "OBSERVER is the full name elections/ELECTION/observers/ID, or ID with --election.",
               "  observerctl observer get elections/kz-2021/observers/0f3a9c1e2b4d5a6f\n"
               "  observerctl observer get 0f3a9c1e2b4d5a6f --election kz-2021 --output json",
               ObserverGet});
  c.push_back({{"observer", "list"},
               "List the observers of an election (every page).",
               "",
               0,
               0,
               {ElectionFlag(true),
                {"filter", "FILTER",
                 "the API's filter: status, organisation, state, citizenship, category, test, "
                 "tags; = and !=, joined by AND"},
                list_output},
               "",
               "  observerctl observer list --election kz-2021 --filter 'status = ACCREDITED'\n"
               "  observerctl observer list --election kz-2021 --filter 'organisation = "
               "OSCE-ODIHR AND category = SHORT_TERM' --output csv",
               ObserverList});
  c.push_back({{"observer", "update"},
               "Change the fields of an observer whose flags are given (not the status).",
               "OBSERVER",
               1,
               1,
               Concat(Concat({ElectionFlag(false)}, ObserverFieldFlags(false)),
                      {EtagFlag(), RequestIdFlag(), record_output}),
               "The record is read first and written back with its etag, so a concurrent change "
               "is never overwritten (ABORTED: run the command again).",
               "  observerctl observer update 0f3a9c1e2b4d5a6f --election kz-2021 "
               "--family-name Петрова --tags batch-3,late",
               ObserverUpdate});
  c.push_back({{"observer", "accredit"},
               "Accredit a submitted observer (submitted → accredited).",
               "OBSERVER",
               1,
               1,
               DecisionFlags(false, true),
               "The decision time must not be after the election's accreditation deadline.",
               "  observerctl observer accredit 0f3a9c1e2b4d5a6f --election kz-2021 \\\n"
               "      --decision-reference CEC-2021-12 --decision-time 2021-01-04T10:00:00Z",
               [](const Invocation& inv) {
                 return StatusChange<v1::AccreditObserverRequest, v1::AccreditObserverResponse>(
                     inv, "AccreditObserver", &Stub::AccreditObserver,
                     [&inv](v1::AccreditObserverRequest& r) {
                       r.set_badge_number(inv.Get("badge-number"));
                     });
               }});
  c.push_back({{"observer", "reject"},
               "Reject a submitted observer (submitted → rejected).",
               "OBSERVER",
               1,
               1,
               DecisionFlags(false, false),
               "",
               "  observerctl observer reject 0f3a9c1e2b4d5a6f --election kz-2021 "
               "--reason \"host-country citizen\"",
               [](const Invocation& inv) {
                 return StatusChange<v1::RejectObserverRequest, v1::RejectObserverResponse>(
                     inv, "RejectObserver", &Stub::RejectObserver,
                     WithReason<v1::RejectObserverRequest>(inv));
               }});
  c.push_back({{"observer", "suspend"},
               "Suspend an accredited observer (accredited → suspended).",
               "OBSERVER",
               1,
               1,
               DecisionFlags(true, false),
               "",
               "  observerctl observer suspend 0f3a9c1e2b4d5a6f --election kz-2021 "
               "--reason \"breach of the code of conduct\"",
               [](const Invocation& inv) {
                 return StatusChange<v1::SuspendObserverRequest, v1::SuspendObserverResponse>(
                     inv, "SuspendObserver", &Stub::SuspendObserver,
                     WithReason<v1::SuspendObserverRequest>(inv));
               }});
  c.push_back({{"observer", "reinstate"},
               "Reinstate a suspended observer (suspended → accredited).",
               "OBSERVER",
               1,
               1,
               DecisionFlags(false, false),
               "",
               "  observerctl observer reinstate 0f3a9c1e2b4d5a6f --election kz-2021",
               [](const Invocation& inv) {
                 return StatusChange<v1::ReinstateObserverRequest, v1::ReinstateObserverResponse>(
                     inv, "ReinstateObserver", &Stub::ReinstateObserver,
                     WithReason<v1::ReinstateObserverRequest>(inv));
               }});
  c.push_back({{"observer", "withdraw"},
               "Withdraw an accreditation (accredited or suspended → withdrawn).",
               "OBSERVER",
               1,
               1,
               DecisionFlags(true, false),
               "",
               "  observerctl observer withdraw 0f3a9c1e2b4d5a6f --election kz-2021 "
               "--reason \"recalled by the sending organisation\"",
               [](const Invocation& inv) {
                 return StatusChange<v1::WithdrawObserverRequest, v1::WithdrawObserverResponse>(
                     inv, "WithdrawObserver", &Stub::WithdrawObserver,
                     WithReason<v1::WithdrawObserverRequest>(inv));
               }});
  c.push_back({{"observer", "delete"},
               "Delete an observer record entered by mistake (its badge is never reused).",
               "OBSERVER",
               1,
               1,
               {ElectionFlag(false),
                {"reason", "TEXT", "why the record is deleted (kept in the change log)"},
                EtagFlag(),
                RequestIdFlag()},
               "",
               "  observerctl observer delete 0f3a9c1e2b4d5a6f --election kz-2021 "
               "--reason \"entered twice\"",
               ObserverDelete});
  return c;
}

}  // namespace observer::ctl
