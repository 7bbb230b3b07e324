#include "common/authz_policy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"

namespace observer {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr char kRegistry[] = "/observer.registry.v1.RegistryService/";

std::string Method(absl::string_view name) { return absl::StrCat(kRegistry, name); }

constexpr char kPolicy[] = R"json({
  "name": "test",
  "roles": [
    {"name": "registrar", "principals": ["spiffe://cec.kz/registrar"]},
    {"name": "submitter", "principals": ["spiffe://mfa.kz/*"]},
    {"name": "reader", "principals": ["*.cec.kz", "spiffe://mfa.kz/osce"]}
  ],
  "submitters": [{"principal": "spiffe://mfa.kz/osce", "sending_body": "organisations/OSCE"}],
  "deny_rules": [
    {"name": "no-deletes-from-mfa", "source": {"principals": ["spiffe://mfa.kz/*"]},
     "request": {"paths": ["/observer.registry.v1.RegistryService/Delete*"]}}
  ],
  "allow_rules": [
    {"name": "registrar-all", "source": {"roles": ["registrar"]},
     "request": {"paths": ["/observer.registry.v1.RegistryService/*"]}},
    {"name": "submit", "source": {"roles": ["submitter"]},
     "request": {"paths": ["/observer.registry.v1.RegistryService/CreateObserver",
                           "/observer.registry.v1.RegistryService/BatchCreateObservers",
                           "/observer.registry.v1.RegistryService/DeleteObserver"]}},
    {"name": "read", "source": {"roles": ["reader"]},
     "request": {"paths": ["/observer.registry.v1.RegistryService/Get*",
                           "/observer.registry.v1.RegistryService/List*"]}}
  ]
})json";

AuthzPolicy MustParse(absl::string_view json) {
  absl::StatusOr<AuthzPolicy> policy = AuthzPolicy::Parse(json, ObserverServiceMethods());
  EXPECT_TRUE(policy.ok()) << policy.status();
  return *std::move(policy);
}

TEST(MatchesPattern, ExactPrefixSuffixAndStar) {
  EXPECT_TRUE(MatchesPattern("*", "x"));
  EXPECT_FALSE(MatchesPattern("*", ""));  // A43: "*" means present.
  EXPECT_TRUE(MatchesPattern("abc", "abc"));
  EXPECT_FALSE(MatchesPattern("abc", "abcd"));
  EXPECT_TRUE(MatchesPattern("ab*", "abcd"));
  EXPECT_FALSE(MatchesPattern("ab*", "xabcd"));
  EXPECT_TRUE(MatchesPattern("*cd", "abcd"));
  EXPECT_FALSE(MatchesPattern("*cd", "abcde"));
}

TEST(ObserverServiceMethods, ListsBothServices) {
  const std::vector<std::string> methods = ObserverServiceMethods();
  EXPECT_THAT(methods, ::testing::Contains(Method("Watch")));
  EXPECT_THAT(methods, ::testing::Contains(::testing::StartsWith("/observer.stats.v1.")));
}

TEST(AuthzPolicy, RolesAndRulesDecide) {
  const AuthzPolicy policy = MustParse(kPolicy);
  AuthzDecision d = policy.Evaluate("spiffe://cec.kz/registrar", Method("DeleteObserver"));
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.rule, "registrar-all");
  EXPECT_THAT(d.roles, ElementsAre("registrar"));

  d = policy.Evaluate("spiffe://mfa.kz/osce", Method("CreateObserver"));
  EXPECT_TRUE(d.allowed);
  EXPECT_THAT(d.roles, ElementsAre("submitter", "reader"));
  EXPECT_EQ(d.sending_body, "organisations/OSCE");

  // The deny rule wins over the allow rule that names the method.
  d = policy.Evaluate("spiffe://mfa.kz/osce", Method("DeleteObserver"));
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.rule, "no-deletes-from-mfa");

  d = policy.Evaluate("stats.cec.kz", Method("ListObservers"));
  EXPECT_TRUE(d.allowed);
  d = policy.Evaluate("stats.cec.kz", Method("UpdateObserver"));
  EXPECT_FALSE(d.allowed);
  EXPECT_THAT(d.rule, IsEmpty());  // Default deny.

  d = policy.Evaluate("", Method("GetObserver"));
  EXPECT_FALSE(d.allowed);
  EXPECT_THAT(d.roles, IsEmpty());
}

TEST(AuthzPolicy, AMethodNoRuleNamesIsDenied) {
  const AuthzPolicy policy = MustParse(kPolicy);
  EXPECT_FALSE(policy
                   .Evaluate("spiffe://cec.kz/registrar",
                             "/observer.stats.v1.StatsService/"
                             "GetSummary")
                   .allowed);
}

struct BadPolicy {
  const char* json;
  const char* error;
};

TEST(AuthzPolicy, InvalidPoliciesAreRefusedWithTheReason) {
  const BadPolicy cases[] = {
      {"{", "not a valid policy"},
      {R"({"name":"x","allow_rule":[]})", "allow_rule"},
      {R"({"allow_rules":[{"name":"a"}]})", "name: the policy needs a name"},
      {R"({"name":"x"})", "allow_rules: none"},
      {R"({"name":"x","roles":[{"name":"admin","principals":["a"]}],"allow_rules":[{"name":"a"}]})",
       "roles[0] (admin): unknown role"},
      {R"({"name":"x","roles":[{"name":"reader"}],"allow_rules":[{"name":"a"}]})",
       "roles[0] (reader): no principals"},
      {R"({"name":"x","roles":[{"name":"reader","principals":["a*b"]}],"allow_rules":[{"name":"a"}]})",
       "'*' may only stand alone"},
      {R"({"name":"x","allow_rules":[{"name":"a"},{"name":"a"}]})",
       "allow_rules[1] (a): the name is used twice"},
      {R"({"name":"x","allow_rules":[{"name":"a","source":{"roles":["reader"]}}]})",
       "role 'reader' is not defined in roles"},
      {R"({"name":"x","allow_rules":[{"name":"a","request":{"paths":["/observer.registry.v1.RegistryService/GetObserve"]}}]})",
       "names no method of the services"},
      {R"({"name":"x","allow_rules":[{"name":"a","request":{"paths":[""]}}]})", "empty path"},
      {R"({"name":"x","roles":[{"name":"submitter","principals":["a"]}],
           "submitters":[{"principal":"b","sending_body":"organisations/OSCE"}],
           "allow_rules":[{"name":"a"}]})",
       "not a member of the submitter role"},
      {R"({"name":"x","roles":[{"name":"submitter","principals":["a"]}],
           "submitters":[{"principal":"a","sending_body":"states/usa"}],
           "allow_rules":[{"name":"a"}]})",
       "sending_body 'states/usa'"},
      {R"({"name":"x","roles":[{"name":"submitter","principals":["a"]}],
           "submitters":[{"principal":"a","sending_body":"states/XX"}],
           "allow_rules":[{"name":"a"}]})",
       "sending_body 'states/XX'"},
      {R"({"name":"x","roles":[{"name":"submitter","principals":["a*"]}],
           "submitters":[{"principal":"a*","sending_body":"states/US"}],
           "allow_rules":[{"name":"a"}]})",
       "without '*'"},
  };
  for (const BadPolicy& c : cases) {
    absl::StatusOr<AuthzPolicy> policy = AuthzPolicy::Parse(c.json, ObserverServiceMethods());
    ASSERT_FALSE(policy.ok()) << c.json;
    EXPECT_EQ(policy.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(policy.status().message()), HasSubstr(c.error)) << c.json;
  }
}

TEST(AuthzPolicy, LoadNamesTheFile) {
  absl::StatusOr<AuthzPolicy> policy =
      AuthzPolicy::Load("/nonexistent/policy.json", ObserverServiceMethods());
  ASSERT_FALSE(policy.ok());
  EXPECT_THAT(std::string(policy.status().message()), HasSubstr("/nonexistent/policy.json"));
}

}  // namespace
}  // namespace observer
