#include "common/authz_policy.h"

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "common/country_codes.h"
#include "common/resource_names.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/util/json_util.h"
#include "observer/registry/v1/registry_service.pb.h"
#include "observer/stats/v1/stats_service.pb.h"

namespace observer {
namespace {

using config::v1::AuthorizationPolicy;
using config::v1::Rule;

constexpr absl::string_view kKnownRoles[] = {role::kSubmitter, role::kRegistrar, role::kReader,
                                             role::kPiiReader, role::kStatsSubscriber};

bool IsKnownRole(absl::string_view name) {
  return std::find(std::begin(kKnownRoles), std::end(kKnownRoles), name) != std::end(kKnownRoles);
}

// A43 allows one '*' at the start or the end, or '*' alone.
absl::Status CheckPattern(absl::string_view where, absl::string_view what,
                          absl::string_view pattern) {
  if (pattern.empty()) return absl::InvalidArgumentError(absl::StrCat(where, ": empty ", what));
  absl::string_view inner = pattern;
  if (inner != "*") {
    if (!absl::ConsumePrefix(&inner, "*")) absl::ConsumeSuffix(&inner, "*");
    if (absl::StrContains(inner, '*')) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": ", what, " '", pattern,
                                                     "': '*' may only stand alone, first or last"));
    }
  }
  return absl::OkStatus();
}

bool IsValidSendingBody(absl::string_view body) {
  if (absl::ConsumePrefix(&body, "organisations/")) return IsValidOrganisationCode(body);
  if (absl::ConsumePrefix(&body, "states/")) return CountryCodes::Default().Contains(body);
  return false;
}

absl::Status CheckRules(absl::string_view list_name,
                        const google::protobuf::RepeatedPtrField<Rule>& rules,
                        const std::set<std::string>& defined_roles,
                        const std::vector<std::string>& known_methods) {
  std::set<std::string> names;
  for (int i = 0; i < rules.size(); ++i) {
    const Rule& rule = rules[i];
    std::string where = absl::StrCat(list_name, "[", i, "]");
    if (rule.name().empty()) return absl::InvalidArgumentError(absl::StrCat(where, ": no name"));
    absl::StrAppend(&where, " (", rule.name(), ")");
    if (!names.insert(rule.name()).second) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": the name is used twice"));
    }
    for (const std::string& principal : rule.source().principals()) {
      if (absl::Status s = CheckPattern(where, "principal", principal); !s.ok()) return s;
    }
    for (const std::string& r : rule.source().roles()) {
      if (defined_roles.count(r) == 0) {
        return absl::InvalidArgumentError(absl::StrCat(
            where, ": role '", r, "' is not defined in roles",
            IsKnownRole(r)
                ? ""
                : absl::StrCat(" (known roles: ", absl::StrJoin(kKnownRoles, ", "), ")")));
      }
    }
    for (const std::string& path : rule.request().paths()) {
      if (absl::Status s = CheckPattern(where, "path", path); !s.ok()) return s;
      const bool names_a_method =
          std::any_of(known_methods.begin(), known_methods.end(),
                      [&path](const std::string& method) { return MatchesPattern(path, method); });
      if (!names_a_method) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, ": path '", path,
                         "' names no method of the services (use /package.Service/Method, e.g. "
                         "/observer.registry.v1.RegistryService/GetObserver)"));
      }
    }
  }
  return absl::OkStatus();
}

absl::Status Validate(const AuthorizationPolicy& policy,
                      const std::vector<std::string>& known_methods) {
  if (policy.name().empty()) return absl::InvalidArgumentError("name: the policy needs a name");
  std::set<std::string> defined_roles;
  for (int i = 0; i < policy.roles_size(); ++i) {
    const auto& r = policy.roles(i);
    const std::string where = absl::StrCat("roles[", i, "] (", r.name(), ")");
    if (!IsKnownRole(r.name())) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": unknown role (known roles: ", absl::StrJoin(kKnownRoles, ", "), ")"));
    }
    if (!defined_roles.insert(r.name()).second) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": the role is defined twice"));
    }
    if (r.principals().empty()) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": no principals"));
    }
    for (const std::string& principal : r.principals()) {
      if (absl::Status s = CheckPattern(where, "principal", principal); !s.ok()) return s;
    }
  }
  std::set<std::string> submitters;
  for (int i = 0; i < policy.submitters_size(); ++i) {
    const auto& s = policy.submitters(i);
    const std::string where = absl::StrCat("submitters[", i, "] (", s.principal(), ")");
    if (s.principal().empty()) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": no principal"));
    }
    if (absl::StrContains(s.principal(), '*')) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": a submitter's principal is one identity, without '*'"));
    }
    if (!submitters.insert(s.principal()).second) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": the principal is listed twice"));
    }
    bool member = false;
    for (const auto& r : policy.roles()) {
      if (r.name() != role::kSubmitter) continue;
      for (const std::string& p : r.principals())
        member = member || MatchesPattern(p, s.principal());
    }
    if (!member) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": the principal is not a member of the submitter role"));
    }
    if (!IsValidSendingBody(s.sending_body())) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": sending_body '", s.sending_body(),
                       "' is not organisations/{code} or states/{ISO 3166-1 alpha-2 code}"));
    }
  }
  if (policy.allow_rules().empty()) {
    return absl::InvalidArgumentError("allow_rules: none, so the policy would allow nothing");
  }
  if (absl::Status s = CheckRules("deny_rules", policy.deny_rules(), defined_roles, known_methods);
      !s.ok()) {
    return s;
  }
  return CheckRules("allow_rules", policy.allow_rules(), defined_roles, known_methods);
}

bool AnyMatches(const google::protobuf::RepeatedPtrField<std::string>& patterns,
                absl::string_view value) {
  return std::any_of(patterns.begin(), patterns.end(),
                     [value](const std::string& p) { return MatchesPattern(p, value); });
}

}  // namespace

bool MatchesPattern(absl::string_view pattern, absl::string_view value) {
  // As in A43, "*" means "present": it does not match an empty value (a caller without an
  // identity).
  if (pattern == "*") return !value.empty();
  if (absl::ConsumePrefix(&pattern, "*")) return absl::EndsWith(value, pattern);
  if (absl::ConsumeSuffix(&pattern, "*")) return absl::StartsWith(value, pattern);
  return pattern == value;
}

std::vector<std::string> ObserverServiceMethods(bool streaming_only) {
  std::vector<std::string> methods;
  // Naming a message of each file links the file (and its services) into the binary.
  for (const google::protobuf::FileDescriptor* fd :
       {registry::v1::WatchRequest::descriptor()->file(),
        stats::v1::GetSummaryRequest::descriptor()->file()}) {
    for (int s = 0; s < fd->service_count(); ++s) {
      const google::protobuf::ServiceDescriptor* service = fd->service(s);
      for (int m = 0; m < service->method_count(); ++m) {
        if (streaming_only && !service->method(m)->server_streaming()) continue;
        methods.push_back(absl::StrCat("/", service->full_name(), "/", service->method(m)->name()));
      }
    }
  }
  return methods;
}

absl::StatusOr<AuthzPolicy> AuthzPolicy::Parse(absl::string_view json,
                                               const std::vector<std::string>& known_methods) {
  AuthorizationPolicy policy;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  if (auto status = google::protobuf::util::JsonStringToMessage(
          google::protobuf::StringPiece(json.data(), json.size()), &policy, options);
      !status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a valid policy: ", std::string(status.message())));
  }
  if (absl::Status s = Validate(policy, known_methods); !s.ok()) return s;
  return AuthzPolicy(std::move(policy));
}

absl::StatusOr<AuthzPolicy> AuthzPolicy::Load(const std::string& path,
                                              const std::vector<std::string>& known_methods) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot read the file"));
  std::stringstream text;
  text << in.rdbuf();
  absl::StatusOr<AuthzPolicy> policy = Parse(text.str(), known_methods);
  if (!policy.ok()) {
    return absl::Status(policy.status().code(),
                        absl::StrCat(path, ": ", policy.status().message()));
  }
  return policy;
}

bool AuthzPolicy::SourceMatches(const config::v1::Source& source, absl::string_view principal,
                                const std::vector<std::string>& roles) const {
  if (source.principals().empty() && source.roles().empty()) return true;
  if (AnyMatches(source.principals(), principal)) return true;
  return std::any_of(source.roles().begin(), source.roles().end(), [&roles](const std::string& r) {
    return std::find(roles.begin(), roles.end(), r) != roles.end();
  });
}

AuthzDecision AuthzPolicy::Evaluate(absl::string_view principal,
                                    absl::string_view full_method) const {
  AuthzDecision decision;
  for (const auto& r : policy_.roles()) {
    if (AnyMatches(r.principals(), principal)) decision.roles.push_back(r.name());
  }
  for (const auto& s : policy_.submitters()) {
    if (s.principal() == principal) decision.sending_body = s.sending_body();
  }
  auto matches = [&](const Rule& rule) {
    return SourceMatches(rule.source(), principal, decision.roles) &&
           (rule.request().paths().empty() || AnyMatches(rule.request().paths(), full_method));
  };
  for (const Rule& rule : policy_.deny_rules()) {
    if (matches(rule)) {
      decision.rule = rule.name();
      return decision;
    }
  }
  for (const Rule& rule : policy_.allow_rules()) {
    if (matches(rule)) {
      decision.allowed = true;
      decision.rule = rule.name();
      return decision;
    }
  }
  return decision;
}

}  // namespace observer
