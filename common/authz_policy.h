// The authorization policy (--authz-policy): gRPC's A43 policy shape with roles, parsed,
// validated and evaluated here (Debian's gRPC 1.51 ships no A43 engine; ADR 0008). Knows
// nothing of gRPC calls: the caller's identity and the full method name come in as strings.
#ifndef OBSERVER_COMMON_AUTHZ_POLICY_H_
#define OBSERVER_COMMON_AUTHZ_POLICY_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "observer/config/v1/authorization_policy.pb.h"

namespace observer {

// The roles a policy may define.
namespace role {
inline constexpr absl::string_view kSubmitter = "submitter";
inline constexpr absl::string_view kRegistrar = "registrar";
inline constexpr absl::string_view kReader = "reader";
inline constexpr absl::string_view kPiiReader = "pii-reader";
inline constexpr absl::string_view kStatsSubscriber = "stats-subscriber";
}  // namespace role

// A43 matching: "*" matches any non-empty value, "abc*" by prefix, "*abc" by suffix, else
// exactly.
bool MatchesPattern(absl::string_view pattern, absl::string_view value);

// Every method of the observer.* gRPC services linked into this binary, as
// "/package.Service/Method"; with `streaming_only`, only those that stream their responses.
std::vector<std::string> ObserverServiceMethods(bool streaming_only = false);

struct AuthzDecision {
  bool allowed = false;
  std::string rule;                // The deciding rule; empty when no rule matched.
  std::vector<std::string> roles;  // Every role the caller is a member of.
  std::string sending_body;        // A submitter's sending body; empty otherwise.
};

class AuthzPolicy {
 public:
  // Parses the JSON text and validates it: known fields only, a name, known and non-empty
  // roles, well-formed patterns, unique rule names, roles named by rules defined, every path
  // naming at least one of `known_methods`, submitters that are members of the submitter
  // role with a well-formed sending body, and at least one allow rule. The error says what
  // is wrong and where (e.g. "allow_rules[1] (readers): path '/x/Y' names no method").
  static absl::StatusOr<AuthzPolicy> Parse(absl::string_view json,
                                           const std::vector<std::string>& known_methods);
  // Reads `path` and parses it; errors name the file.
  static absl::StatusOr<AuthzPolicy> Load(const std::string& path,
                                          const std::vector<std::string>& known_methods);

  // Deny rules first (a match denies), then allow rules (a match allows), else deny.
  AuthzDecision Evaluate(absl::string_view principal, absl::string_view full_method) const;

  const std::string& name() const { return policy_.name(); }

 private:
  explicit AuthzPolicy(config::v1::AuthorizationPolicy policy) : policy_(std::move(policy)) {}
  bool SourceMatches(const config::v1::Source& source, absl::string_view principal,
                     const std::vector<std::string>& roles) const;

  config::v1::AuthorizationPolicy policy_;
};

}  // namespace observer

#endif  // OBSERVER_COMMON_AUTHZ_POLICY_H_
