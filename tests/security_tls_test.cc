// Security of both services as black boxes (ADR 0008, DESIGN.md §7): mutual TLS with
// certificates made at test time by scripts/make-dev-certs.sh, certificate rotation without a
// restart, stats-service following the registry over mutual TLS (and not at all when the policy
// does not let it Watch), the startup refusals of a bad security configuration, every method of
// both services called by one identity per role (the expected outcome derived from the policy
// the test writes), and a submitter's confinement to its own sending body with personal data
// for pii-readers only.
//
// Real processes on loopback (port 0), every wait bounded; calls that must be refused have short
// deadlines so that a failure is quick.
#include <gmock/gmock.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/errors.h"
#include "common/grpc_status.h"
#include "common/health_client.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "google/protobuf/util/json_util.h"
#include "observer/config/v1/authorization_policy.pb.h"
#include "observer/registry/v1/registry_service.grpc.pb.h"
#include "observer/stats/v1/stats_service.grpc.pb.h"
#include "tests/harness/builders.h"
#include "tests/harness/command.h"
#include "tests/harness/http_get.h"
#include "tests/harness/registry_client.h"
#include "tests/harness/registry_process.h"
#include "tests/harness/service_process.h"
#include "tests/harness/stats_client.h"
#include "tests/harness/stats_process.h"
#include "tests/harness/status_matchers.h"
#include "tests/harness/temp_dir.h"
#include "tests/harness/test_pki.h"

#ifndef OBSERVER_SOURCE_DIR
#error "OBSERVER_SOURCE_DIR must name the source tree (for deploy/policy)"
#endif

namespace observer::testing {
namespace {

namespace cv1 = ::observer::config::v1;
namespace gpb = ::google::protobuf;

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kRegistryService[] = "observer.registry.v1.RegistryService";
constexpr char kStatsService[] = "observer.stats.v1.StatsService";
constexpr char kExamplePolicy[] = OBSERVER_SOURCE_DIR "/deploy/policy/example-policy.json";
constexpr char kCallDenied[] = "\"msg\":\"call denied\"";
// How long a call that the transport must refuse may take.
constexpr absl::Duration kRefusedCallTimeout = absl::Seconds(5);
// The organisation the table's submitter submits for.
constexpr char kSubmitterOrg[] = "SEC-X";

std::string Path(absl::string_view service, absl::string_view method) {
  return absl::StrCat("/", service, "/", method);
}

std::string Id(absl::string_view name) { return absl::StrCat("spiffe://observer.test/", name); }

// ---------------------------------------------------------------------------------------------
// Policies: written as the proto the services parse (printed to JSON), and evaluated here
// independently of the product's evaluator to derive what each identity may call.

void AddRole(cv1::AuthorizationPolicy& policy, const std::string& role,
             const std::vector<std::string>& principals) {
  cv1::Role* r = nullptr;
  for (cv1::Role& existing : *policy.mutable_roles()) {
    if (existing.name() == role) r = &existing;
  }
  if (r == nullptr) {
    r = policy.add_roles();
    r->set_name(role);
  }
  for (const std::string& p : principals) r->add_principals(p);
}

void AddRule(google::protobuf::RepeatedPtrField<cv1::Rule>* rules, const std::string& name,
             const std::vector<std::string>& roles, const std::vector<std::string>& paths) {
  cv1::Rule* rule = rules->Add();
  rule->set_name(name);
  for (const std::string& r : roles) rule->mutable_source()->add_roles(r);
  for (const std::string& p : paths) rule->mutable_request()->add_paths(p);
}

void AddSubmitter(cv1::AuthorizationPolicy& policy, const std::string& principal,
                  const std::string& body) {
  cv1::Submitter* s = policy.add_submitters();
  s->set_principal(principal);
  s->set_sending_body(body);
}

// The policy of deploy/policy/example-policy.json, with one identity per role: registrar,
// reader, pii-reader, submitter (submitter-x for organisations/SEC-X, submitter-us for
// states/US, submitter-none without a sending body) and stats-subscriber (stats-service's
// own certificate). "nobody" has a valid certificate and no role.
// `submitters_edit_own`: submitters may also update and delete (their own body's) records,
// instead of being denied Delete*.
cv1::AuthorizationPolicy StandardPolicy(bool submitters_edit_own = false) {
  cv1::AuthorizationPolicy policy;
  policy.set_name("security-tls-test");
  AddRole(policy, "registrar", {Id("registrar")});
  AddRole(policy, "reader", {Id("reader")});
  AddRole(policy, "pii-reader", {Id("pii-reader")});
  AddRole(policy, "submitter", {Id("submitter-x"), Id("submitter-us"), Id("submitter-none")});
  AddRole(policy, "stats-subscriber", {Id("stats")});
  AddSubmitter(policy, Id("submitter-x"), absl::StrCat("organisations/", kSubmitterOrg));
  AddSubmitter(policy, Id("submitter-us"), "states/US");
  const std::string registry = absl::StrCat("/", kRegistryService, "/");
  const std::string stats = absl::StrCat("/", kStatsService, "/");
  if (!submitters_edit_own) {
    AddRule(policy.mutable_deny_rules(), "submitters-never-delete", {"submitter"},
            {registry + "Delete*"});
  }
  AddRule(policy.mutable_allow_rules(), "registrars-everything", {"registrar"},
          {registry + "*", stats + "*"});
  AddRule(policy.mutable_allow_rules(), "readers-read", {"reader", "pii-reader"},
          {registry + "Get*", registry + "List*", stats + "*"});
  AddRule(policy.mutable_allow_rules(), "submitters-submit-and-read-their-own", {"submitter"},
          {registry + "CreateObserver", registry + "BatchCreateObservers", registry + "GetObserver",
           registry + "ListObservers", registry + "GetElection", registry + "ListElections",
           registry + "GetOrganisation", registry + "ListOrganisations"});
  if (submitters_edit_own) {
    AddRule(policy.mutable_allow_rules(), "submitters-edit-their-own", {"submitter"},
            {registry + "UpdateObserver", registry + "DeleteObserver"});
  }
  AddRule(policy.mutable_allow_rules(), "stats-service-watches", {"stats-subscriber"},
          {registry + "Watch"});
  return policy;
}

std::string PolicyJson(const cv1::AuthorizationPolicy& policy) {
  gpb::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.add_whitespace = true;
  std::string json;
  const auto status = gpb::util::MessageToJsonString(policy, &json, options);
  if (!status.ok()) throw TestFailure(absl::StrCat("policy to JSON: ", status.ToString()));
  return json;
}

// A43 matching, written here from the ADR rather than taken from the product.
bool PatternMatches(absl::string_view pattern, absl::string_view value) {
  if (pattern == "*") return true;
  if (absl::StartsWith(pattern, "*")) return absl::EndsWith(value, pattern.substr(1));
  if (absl::EndsWith(pattern, "*")) {
    return absl::StartsWith(value, pattern.substr(0, pattern.size() - 1));
  }
  return pattern == value;
}

template <typename Patterns>
bool AnyPatternMatches(const Patterns& patterns, absl::string_view value) {
  return std::any_of(patterns.begin(), patterns.end(),
                     [value](const std::string& p) { return PatternMatches(p, value); });
}

// Whether `policy` lets `principal` call `full_method`: deny rules first, then allow rules,
// default deny.
bool PolicyAllows(const cv1::AuthorizationPolicy& policy, const std::string& principal,
                  const std::string& full_method) {
  std::set<std::string> roles;
  for (const cv1::Role& r : policy.roles()) {
    if (AnyPatternMatches(r.principals(), principal)) roles.insert(r.name());
  }
  auto matches = [&](const cv1::Rule& rule) {
    const bool who = (rule.source().principals().empty() && rule.source().roles().empty()) ||
                     AnyPatternMatches(rule.source().principals(), principal) ||
                     std::any_of(rule.source().roles().begin(), rule.source().roles().end(),
                                 [&roles](const std::string& r) { return roles.count(r) > 0; });
    const bool what =
        rule.request().paths().empty() || AnyPatternMatches(rule.request().paths(), full_method);
    return who && what;
  };
  for (const cv1::Rule& rule : policy.deny_rules()) {
    if (matches(rule)) return false;
  }
  for (const cv1::Rule& rule : policy.allow_rules()) {
    if (matches(rule)) return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// Calls of any method by its descriptor.

// Calls `method` with `request` over `channel`: OK once the response (for a server stream: its
// first message) has arrived, else the call's status.
absl::Status CallMethod(const std::shared_ptr<grpc::Channel>& channel,
                        const gpb::MethodDescriptor& method, const gpb::Message& request,
                        absl::Duration timeout) {
  const std::string path = Path(method.service()->full_name(), method.name());
  if (method.client_streaming()) {
    return absl::UnimplementedError(absl::StrCat(path, ": client streams are not covered"));
  }
  if (!method.server_streaming()) {
    return RawUnaryCall(channel, path, request.SerializeAsString(), timeout).status();
  }
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  grpc::CompletionQueue cq;
  grpc::GenericStub stub(channel);
  std::unique_ptr<grpc::GenericClientAsyncReaderWriter> call =
      stub.PrepareCall(&context, path, &cq);
  // One operation at a time: each completes (the deadline bounds it) before the next starts.
  auto await = [&cq] {
    void* tag = nullptr;
    bool ok = false;
    return cq.Next(&tag, &ok) && ok;
  };
  int tag = 0;
  call->StartCall(&tag);
  bool ok = await();
  const std::string bytes = request.SerializeAsString();
  grpc::Slice slice(bytes);
  grpc::ByteBuffer buffer(&slice, 1);
  if (ok) {
    call->Write(buffer, &tag);
    ok = await();
  }
  if (ok) {
    call->WritesDone(&tag);
    ok = await();
  }
  bool first_message = false;
  if (ok) {
    grpc::ByteBuffer response;
    call->Read(&response, &tag);
    first_message = await();
  }
  if (first_message) context.TryCancel();
  grpc::Status status;
  call->Finish(&status, &tag);
  (void)await();
  cq.Shutdown();
  void* ignored_tag = nullptr;
  bool ignored_ok = false;
  while (cq.Next(&ignored_tag, &ignored_ok)) {
  }
  if (first_message) return absl::OkStatus();
  if (status.ok()) return absl::InternalError(absl::StrCat(path, ": the stream ended empty"));
  return FromGrpcStatus(status);
}

// The service descriptor from the generated pool (linked in through the stubs).
const gpb::ServiceDescriptor* ServiceByName(const std::string& name) {
  return gpb::DescriptorPool::generated_pool()->FindServiceByName(name);
}

// ---------------------------------------------------------------------------------------------
// The fixture: one PKI per test process (each identity issued when a test first needs it), a
// temporary directory per test.

class SecurityTlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pki_dir_ = new TempDir();
    pki_ = new TestPki(pki_dir_->Join("pki"));
    issued_ = new std::set<std::string>();
  }
  static void TearDownTestSuite() {
    delete issued_;
    issued_ = nullptr;
    delete pki_;
    pki_ = nullptr;
    delete pki_dir_;
    pki_dir_ = nullptr;
  }

  void TearDown() override {
    if (HasFailure()) {
      for (const auto& p : processes_) PrintOutputTails({p.get()});
    }
  }

  static TestPki& pki() { return *pki_; }

  // Issues (valid for 30 days) each "NAME[:dns,...]" of `specs` whose NAME this process has
  // not issued yet, in one run of make-dev-certs.sh. Servers are issued for "localhost".
  static absl::Status Ensure(const std::vector<std::string>& specs) {
    std::vector<std::string> missing;
    for (const std::string& spec : specs) {
      const std::string name = spec.substr(0, spec.find(':'));
      if (issued_->insert(name).second) missing.push_back(spec);
    }
    if (missing.empty()) return absl::OkStatus();
    return pki().Issue(missing);
  }

  // Writes `policy` as JSON into the test's directory; its path.
  std::string WritePolicy(const cv1::AuthorizationPolicy& policy,
                          const std::string& file = "policy.json") {
    const std::string path = dir_.Join(file);
    MUST(WriteFileAtomically(path, PolicyJson(policy)));
    return path;
  }

  // A registry-service presenting the "registry" certificate, with `policy_path`, no rate
  // limit; its store in the test's directory. Not started.
  RegistryProcess* Registry(const std::string& policy_path) {
    MUST(Ensure({"registry:localhost"}));
    std::vector<std::string> args = pki().ServerFlags("registry", policy_path);
    args.insert(args.end(), {"--rate-limit", "0"});
    return Own(std::make_unique<RegistryProcess>(dir_.path(), std::move(args)));
  }

  // A stats-service presenting the "stats" certificate (also towards the registry, whose
  // certificate is checked for `registry_name`). Not started.
  StatsProcess* Stats(const ServiceProcess& registry, const std::string& policy_path,
                      const std::string& registry_name = "localhost") {
    MUST(Ensure({"stats:localhost"}));
    std::vector<std::string> args = pki().ServerFlags("stats", policy_path);
    args.insert(args.end(), {"--registry-tls-server-name", registry_name, "--rate-limit", "0"});
    return Own(std::make_unique<StatsProcess>(registry.address(), std::move(args)));
  }

  // Keeps `process` until the end of the test (after TearDown, which prints its output if the
  // test failed).
  template <typename P>
  P* Own(std::unique_ptr<P> process) {
    P* p = process.get();
    processes_.push_back(std::move(process));
    return p;
  }

  // A channel to `process` presenting `identity`'s certificate.
  std::shared_ptr<grpc::Channel> As(const ServiceProcess& process, const std::string& identity) {
    MUST(Ensure({identity}));
    return MUST(pki().Channel(process.address(), identity));
  }

  TempDir dir_;
  std::vector<std::unique_ptr<ServiceProcess>> processes_;  // Ended before dir_ is removed.

 private:
  static TempDir* pki_dir_;
  static TestPki* pki_;
  static std::set<std::string>* issued_;
};

TempDir* SecurityTlsTest::pki_dir_ = nullptr;
TestPki* SecurityTlsTest::pki_ = nullptr;
std::set<std::string>* SecurityTlsTest::issued_ = nullptr;

// Creates `election_id` (accreditation open now, host KZ) and the organisation `code`.
void CreateElectionAndOrganisation(RegistryClient& admin, const std::string& election_id,
                                   const std::string& code) {
  MUST(admin.CreateElection(FutureElection(election_id)));
  MUST(admin.CreateOrganisation(NewOrganisation(code, absl::StrCat("Organisation ", code))));
}

// A valid submission with personal data, sent by `body` ("organisations/X" or "states/XX").
rv1::CreateObserverRequest SubmissionFor(const std::string& election, const std::string& body) {
  rv1::CreateObserverRequest req = NewObserverRequest(election, NextSeq(), "DE");
  if (absl::StartsWith(body, "states/")) {
    req.mutable_observer()->mutable_sending_body()->set_state(body.substr(strlen("states/")));
  } else {
    req.mutable_observer()->mutable_sending_body()->set_organisation(body);
  }
  return req;
}

// ---------------------------------------------------------------------------------------------
// 1. The transport: only clients with a certificate of the CA, valid now, get in.

TEST_F(SecurityTlsTest, OnlyClientsWithAValidCertificateOfTheCaGetIn) {
  ASSERT_OK(Ensure({"registry:localhost", "stats:localhost", "registrar", "reader"}));
  ASSERT_OK(pki().Issue({"expired"}, /*days=*/0));
  TestPki other(dir_.Join("other-ca"));
  ASSERT_OK(other.Issue({"registrar", "reader"}));  // Same SPIFFE IDs, another CA.
  cv1::AuthorizationPolicy policy = StandardPolicy();
  AddRole(policy, "registrar", {Id("expired")});  // Only the expiry may stop it.
  AddRole(policy, "reader", {Id("expired")});
  const std::string policy_path = WritePolicy(policy);
  auto registry = Registry(policy_path);
  ASSERT_OK(registry->Start());
  auto stats = Stats(*registry, policy_path);
  ASSERT_OK(stats->Start());

  const TlsClientConfig valid = MUST(pki().ClientConfig("registrar"));
  TlsClientConfig no_cert = MUST(pki().ClientConfig(""));
  TlsClientConfig other_ca = MUST(other.ClientConfig("registrar"));
  other_ca.ca_pem = valid.ca_pem;  // It trusts the server; the server must not trust it.
  const TlsClientConfig expired = MUST(pki().ClientConfig("expired"));

  auto registry_call = [](const std::shared_ptr<grpc::Channel>& channel) {
    return RegistryClient(channel, kRefusedCallTimeout).ListElections({}).status();
  };
  auto stats_call = [](const std::shared_ptr<grpc::Channel>& channel) {
    return StatsClient(channel, kRefusedCallTimeout).ListRegionSchemes({}).status();
  };
  struct Case {
    std::string what;
    std::function<std::shared_ptr<grpc::Channel>(const std::string& address)> channel;
    absl::StatusCode want;
  };
  const std::vector<Case> cases = {
      {"a valid certificate", [&](const std::string& a) { return TlsChannel(a, valid); },
       absl::StatusCode::kOk},
      {"no client certificate", [&](const std::string& a) { return TlsChannel(a, no_cert); },
       absl::StatusCode::kUnavailable},
      {"a certificate of another CA", [&](const std::string& a) { return TlsChannel(a, other_ca); },
       absl::StatusCode::kUnavailable},
      {"an expired certificate", [&](const std::string& a) { return TlsChannel(a, expired); },
       absl::StatusCode::kUnavailable},
      {"plaintext", [](const std::string& a) { return PlaintextChannel(a); },
       absl::StatusCode::kUnavailable},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    const absl::Time start = absl::Now();
    EXPECT_THAT(registry_call(c.channel(registry->address())), StatusIs(c.want))
        << "registry-service, " << c.what;
    EXPECT_LT(absl::Now() - start, kRefusedCallTimeout) << "refused by the deadline, not the TLS";
  }
  // stats-service: the same transport (a valid certificate in, none out, plaintext out).
  EXPECT_OK(stats_call(TlsChannel(stats->address(), MUST(pki().ClientConfig("reader")))));
  EXPECT_THAT(stats_call(TlsChannel(stats->address(), no_cert)),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(stats_call(PlaintextChannel(stats->address())),
              StatusIs(absl::StatusCode::kUnavailable));
  TlsClientConfig other_reader = MUST(other.ClientConfig("reader"));
  other_reader.ca_pem = valid.ca_pem;
  EXPECT_THAT(stats_call(TlsChannel(stats->address(), other_reader)),
              StatusIs(absl::StatusCode::kUnavailable));
  // The refused handshakes never reached the policy.
  EXPECT_EQ(registry->CountInOutput(kCallDenied), 0);
  EXPECT_EQ(stats->CountInOutput(kCallDenied), 0);
}

// ---------------------------------------------------------------------------------------------
// 2. Rotation: new connections get the new certificate, without a restart.

// The certificate `registry` answers a new connection with ("" if the call fails).
std::string ServerCertificateOfNewConnection(const TlsClientConfig& client,
                                             const std::string& address) {
  auto stub = rv1::RegistryService::NewStub(TlsChannel(address, client));
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + kRefusedCallTimeout));
  rv1::ListElectionsRequest request;
  rv1::ListElectionsResponse response;
  if (!stub->ListElections(&context, request, &response).ok()) return "";
  return std::string(absl::StripAsciiWhitespace(PeerCertificatePem(context)));
}

TEST_F(SecurityTlsTest, RotatedServerCertificateServesNewConnectionsWithoutRestart) {
  ASSERT_OK(Ensure(
      {"registry:localhost", "registry-next:localhost,registry.observer.test", "registrar"}));
  // The server's files in a directory of this test, replaced while it runs.
  const std::string cert = dir_.Join("server.pem");
  const std::string key = dir_.Join("server.key");
  const std::string old_pem = MUST(ReadFileToString(pki().cert_path("registry")));
  const std::string new_pem = MUST(ReadFileToString(pki().cert_path("registry-next")));
  ASSERT_NE(old_pem, new_pem);
  ASSERT_OK(WriteFileAtomically(cert, old_pem));
  ASSERT_OK(WriteFileAtomically(key, MUST(ReadFileToString(pki().key_path("registry")))));
  const std::string policy_path = WritePolicy(StandardPolicy());
  RegistryProcess& registry = *Own(std::make_unique<RegistryProcess>(
      dir_.path(),
      std::vector<std::string>{"--tls-cert", cert, "--tls-key", key, "--tls-ca", pki().ca_path(),
                               "--authz-policy", policy_path, "--tls-reload-interval", "1s"}));
  ASSERT_OK(registry.Start());
  const pid_t pid = registry.pid();
  const TlsClientConfig client = MUST(pki().ClientConfig("registrar"));

  auto first_channel = TlsChannel(registry.address(), client);
  ASSERT_EQ(ServerCertificateOfNewConnection(client, registry.address()),
            absl::StripAsciiWhitespace(old_pem));
  ASSERT_OK(RegistryClient(first_channel).ListElections({}));  // Connected with the old one.

  // Key first, then the certificate, each replaced whole (rename).
  ASSERT_OK(WriteFileAtomically(key, MUST(ReadFileToString(pki().key_path("registry-next")))));
  ASSERT_OK(WriteFileAtomically(cert, new_pem));
  const absl::Time rotated = absl::Now();
  std::string seen;
  EXPECT_TRUE(PollUntil(
      [&] {
        seen = ServerCertificateOfNewConnection(client, registry.address());
        return seen == absl::StripAsciiWhitespace(new_pem);
      },
      absl::Seconds(10), absl::Milliseconds(200)))
      << "a new connection still gets:\n"
      << seen;
  std::cerr << "the rotated certificate was served after "
            << absl::FormatDuration(absl::Now() - rotated) << "\n";
  EXPECT_TRUE(registry.running());
  EXPECT_EQ(registry.pid(), pid) << "not restarted";
  EXPECT_EQ(registry.output().find("==== run 2"), std::string::npos);
  // The connection made before the rotation keeps working.
  EXPECT_OK(RegistryClient(first_channel).ListElections({}));
}

// ---------------------------------------------------------------------------------------------
// 3. stats-service follows the registry over mutual TLS, as stats-subscriber only.

TEST_F(SecurityTlsTest, StatsFollowsTheRegistryOverMutualTls) {
  ASSERT_OK(Ensure({"registry:localhost", "stats:localhost", "registrar", "reader"}));
  const std::string policy_path = WritePolicy(StandardPolicy());
  auto registry = Registry(policy_path);
  ASSERT_OK(registry->Start());
  auto stats = Stats(*registry, policy_path);
  ASSERT_OK(stats->Start());

  RegistryClient admin(As(*registry, "registrar"));
  CreateElectionAndOrganisation(admin, "stats-tls", kSubmitterOrg);
  const std::string election = ElectionName("stats-tls");
  rv1::Observer o = MUST(admin.CreateObserver(SubmissionFor(
                             election, absl::StrCat("organisations/", kSubmitterOrg))))
                        .observer();
  rv1::AccreditObserverRequest accredit;
  accredit.set_name(o.name());
  const int64_t revision = MUST(admin.AccreditObserver(accredit)).revision();

  StatsClient reader(As(*stats, "reader"));
  sv1::GetSummaryRequest summary;
  summary.set_election(election);
  summary.set_min_revision(revision);
  auto answer = reader.GetSummary(summary, absl::Seconds(20));
  ASSERT_OK(answer);
  EXPECT_GE(answer->revision(), revision);
  EXPECT_EQ(answer->summary().observers(), 1);
  EXPECT_EQ(answer->summary().organisation_observers(), 1);
  EXPECT_TRUE(PollUntil(
      [&] {
        auto health = reader.Health();
        return health.ok() && *health == HealthStatus::kServing;
      },
      absl::Seconds(10)));
  EXPECT_EQ(registry->CountInOutput(kCallDenied), 0);
  // stats-service's own identity may Watch and nothing else.
  RegistryClient as_stats(As(*registry, "stats"), kRefusedCallTimeout);
  EXPECT_THAT(as_stats.ListElections({}),
              StatusIs(absl::StatusCode::kPermissionDenied, "PERMISSION_DENIED"));

  // A stats-service that expects another name on the registry's certificate does not talk to
  // it (the registry's certificate is checked, not just its CA).
  StatsProcess* misnamed = Stats(*registry, policy_path, "registry.wrong.example");
  ASSERT_OK(misnamed->Start());
  StatsClient misnamed_reader(As(*misnamed, "reader"));
  EXPECT_THAT(misnamed_reader.GetSummary(summary, absl::Seconds(3)), Not(IsOk()));
  auto misnamed_health = misnamed_reader.Health();
  ASSERT_OK(misnamed_health);
  EXPECT_NE(*misnamed_health, HealthStatus::kServing);
  EXPECT_THAT(misnamed->output(), Not(HasSubstr("\"msg\":\"synced with the registry\"")));
}

TEST_F(SecurityTlsTest, StatsThatMayNotWatchNeverSyncsAndTheRegistryLogsTheDenial) {
  ASSERT_OK(Ensure({"registry:localhost", "stats:localhost", "registrar", "reader"}));
  cv1::AuthorizationPolicy policy = StandardPolicy();
  // stats-subscriber is someone else; stats-service is only a reader (Get*/List*, not Watch).
  for (cv1::Role& r : *policy.mutable_roles()) {
    if (r.name() == "stats-subscriber") {
      r.clear_principals();
      r.add_principals(Id("someone-else"));
    }
  }
  AddRole(policy, "reader", {Id("stats")});
  ASSERT_FALSE(PolicyAllows(policy, Id("stats"), Path(kRegistryService, "Watch")));
  const std::string policy_path = WritePolicy(policy);
  auto registry = Registry(policy_path);
  ASSERT_OK(registry->Start());
  auto stats = Stats(*registry, policy_path);
  ASSERT_OK(stats->Start());

  RegistryClient admin(As(*registry, "registrar"));
  CreateElectionAndOrganisation(admin, "no-watch", kSubmitterOrg);
  const std::string election = ElectionName("no-watch");
  rv1::Observer o = MUST(admin.CreateObserver(SubmissionFor(
                             election, absl::StrCat("organisations/", kSubmitterOrg))))
                        .observer();
  rv1::AccreditObserverRequest accredit;
  accredit.set_name(o.name());
  const int64_t revision = MUST(admin.AccreditObserver(accredit)).revision();

  // The registry refuses stats-service's Watch, and says so.
  ASSERT_TRUE(registry->WaitForOutput(kCallDenied, 1, absl::Seconds(15)));
  const std::regex denied_watch(
      R"re("msg":"call denied".*"/observer\.registry\.v1\.RegistryService/Watch")re");
  const std::string stats_identity = Id("stats");
  bool found = false;
  for (absl::string_view line : absl::StrSplit(registry->output(), '\n')) {
    const std::string l(line);
    if (std::regex_search(l, denied_watch) && absl::StrContains(l, stats_identity)) found = true;
  }
  EXPECT_TRUE(found) << "no \"call denied\" line for " << stats_identity << " calling Watch";
  const std::string metrics = MUST(HttpGet(registry->metrics_address(), "/metrics"));
  EXPECT_GE(
      SampleValue(
          metrics, "grpc_server_denied_total",
          {{"grpc_service", kRegistryService}, {"grpc_method", "Watch"}, {"reason", "policy"}})
          .value_or(0),
      1)
      << metrics;

  // stats-service never becomes ready and counts nothing.
  StatsClient reader(As(*stats, "reader"));
  sv1::GetSummaryRequest summary;
  summary.set_election(election);
  summary.set_min_revision(revision);
  EXPECT_THAT(reader.GetSummary(summary, absl::Seconds(3)), Not(IsOk()));
  auto health = reader.Health();
  ASSERT_OK(health);
  EXPECT_NE(*health, HealthStatus::kServing);
  summary.set_min_revision(0);
  auto now = reader.GetSummary(summary, absl::Seconds(3));
  if (now.ok()) {
    EXPECT_EQ(now->summary().observers(), 0);
    EXPECT_LT(now->revision(), revision);
  }
  EXPECT_THAT(stats->output(), Not(HasSubstr("\"msg\":\"synced with the registry\"")));
}

// ---------------------------------------------------------------------------------------------
// 4. A bad security configuration is refused at start, with the reason.

TEST_F(SecurityTlsTest, BadSecurityConfigurationsAreRefusedAtStart) {
  ASSERT_OK(Ensure({"registry:localhost", "stats:localhost"}));
  ASSERT_OK(pki().Issue({"expired-server"}, /*days=*/0));
  const std::string good_policy = WritePolicy(StandardPolicy());
  auto bad_policy = [&](const std::string& file, const std::string& json) {
    MUST(WriteFileAtomically(dir_.Join(file), json));
    return dir_.Join(file);
  };
  std::string json = PolicyJson(StandardPolicy());
  const std::string unknown_role =
      bad_policy("unknown-role.json", absl::StrReplaceAll(json, {{"\"pii-reader\"", "\"boss\""}}));
  cv1::AuthorizationPolicy no_method = StandardPolicy();
  AddRule(no_method.mutable_allow_rules(), "typo", {"reader"},
          {Path(kRegistryService, "GetObservers")});
  const std::string path_no_method = bad_policy("no-method.json", PolicyJson(no_method));
  const std::string unknown_key = bad_policy(
      "unknown-key.json",
      absl::StrReplaceAll(json, {{"\"name\": \"security-tls-test\"",
                                  "\"name\": \"security-tls-test\", \"colour\": \"blue\""}}));
  ASSERT_NE(json, MUST(ReadFileToString(unknown_key))) << "the test's JSON edit did not apply";
  ASSERT_NE(json, MUST(ReadFileToString(unknown_role))) << "the test's JSON edit did not apply";

  const std::string store = absl::StrCat("sqlite://", dir_.Join("refused.db"));
  const std::vector<std::string> tls = pki().ServerFlags("registry");
  auto with = [](std::vector<std::string> a, const std::vector<std::string>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
  };
  struct Case {
    std::string what;
    std::string binary;
    std::vector<std::string> args;
    std::string reason;  // On stderr.
  };
  const std::string registry = RegistryServiceBinary();
  const std::string stats = StatsServiceBinary();
  const std::vector<std::string> registry_base = {"--metrics-listen", "127.0.0.1:0", "--store",
                                                  store};
  const std::vector<std::string> loopback = {"--listen", "127.0.0.1:0"};
  const std::vector<std::string> stats_base = {"--metrics-listen", "127.0.0.1:0", "--listen",
                                               "127.0.0.1:0"};
  const std::vector<Case> cases = {
      {"no TLS and no --insecure-loopback", registry, with(registry_base, loopback),
       "mutual TLS is required"},
      {"--insecure-loopback on 0.0.0.0", registry,
       with(registry_base, {"--insecure-loopback", "--listen", "0.0.0.0:0"}),
       "is not a loopback address"},
      {"TLS without --authz-policy", registry, with(with(registry_base, loopback), tls),
       "--authz-policy is required"},
      {"TLS and --insecure-loopback", registry,
       with(with(with(registry_base, loopback), tls),
            {"--insecure-loopback", "--authz-policy", good_policy}),
       "exclude each other"},
      {"a missing certificate file", registry,
       with(with(registry_base, loopback),
            {"--tls-cert", dir_.Join("missing.pem"), "--tls-key", pki().key_path("registry"),
             "--tls-ca", pki().ca_path(), "--authz-policy", good_policy}),
       absl::StrCat("--tls-cert: cannot read ", dir_.Join("missing.pem"))},
      {"a certificate file that holds a key", registry,
       with(with(registry_base, loopback),
            {"--tls-cert", pki().key_path("registry"), "--tls-key", pki().key_path("registry"),
             "--tls-ca", pki().ca_path(), "--authz-policy", good_policy}),
       "--tls-cert"},
      {"a key that is not the certificate's", registry,
       with(with(registry_base, loopback),
            {"--tls-cert", pki().cert_path("registry"), "--tls-key", pki().key_path("stats"),
             "--tls-ca", pki().ca_path(), "--authz-policy", good_policy}),
       "is not the key of --tls-cert"},
      {"an expired server certificate", registry,
       with(with(registry_base, loopback),
            {"--tls-cert", pki().cert_path("expired-server"), "--tls-key",
             pki().key_path("expired-server"), "--tls-ca", pki().ca_path(), "--authz-policy",
             good_policy}),
       "has expired"},
      {"--tls-reload-interval below 1s", registry,
       with(with(with(registry_base, loopback), tls),
            {"--authz-policy", good_policy, "--tls-reload-interval", "500ms"}),
       "--tls-reload-interval"},
      {"a policy with an unknown role", registry,
       with(with(with(registry_base, loopback), tls), {"--authz-policy", unknown_role}),
       "unknown role"},
      {"a policy path naming no method", registry,
       with(with(with(registry_base, loopback), tls), {"--authz-policy", path_no_method}),
       "GetObservers' names no method"},
      {"a policy with an unknown key", registry,
       with(with(with(registry_base, loopback), tls), {"--authz-policy", unknown_key}), "colour"},
      {"a missing policy file", registry,
       with(with(with(registry_base, loopback), tls), {"--authz-policy", dir_.Join("none.json")}),
       absl::StrCat("--authz-policy: ", dir_.Join("none.json"))},
      {"stats: no TLS and no --insecure-loopback", stats,
       with(stats_base, {"--registry", "127.0.0.1:1"}), "mutual TLS is required"},
      {"stats: --insecure-loopback with a remote registry", stats,
       with(stats_base, {"--insecure-loopback", "--registry", "10.0.0.1:1"}),
       "--registry 10.0.0.1:1 is not a loopback address"},
      {"stats: TLS without --authz-policy", stats,
       with(with(stats_base, {"--registry", "127.0.0.1:1"}), pki().ServerFlags("stats")),
       "--authz-policy is required"},
      {"stats: a policy with an unknown role", stats,
       with(with(stats_base, {"--registry", "127.0.0.1:1"}),
            pki().ServerFlags("stats", unknown_role)),
       "unknown role"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    std::vector<std::string> argv = {c.binary};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    CommandOptions options;
    options.timeout = absl::Seconds(20);
    // The services read flags from the environment too: none of it may leak in.
    options.unset_env = {"REGISTRY_TLS_CERT",
                         "REGISTRY_TLS_KEY",
                         "REGISTRY_TLS_CA",
                         "REGISTRY_AUTHZ_POLICY",
                         "REGISTRY_INSECURE_LOOPBACK",
                         "STATS_TLS_CERT",
                         "STATS_TLS_KEY",
                         "STATS_TLS_CA",
                         "STATS_AUTHZ_POLICY",
                         "STATS_INSECURE_LOOPBACK"};
    absl::StatusOr<CommandResult> run = RunCommand(argv, options);
    ASSERT_OK(run);
    EXPECT_EQ(run->exit_code(), 2) << c.what << ":\n" << run->Describe();
    // The reason is the usage error, not the JSON log lines (the "config" line echoes the flags).
    std::string errors;
    for (absl::string_view line : absl::StrSplit(run->stderr_text, '\n')) {
      if (!absl::StartsWith(line, "{")) absl::StrAppend(&errors, line, "\n");
    }
    EXPECT_THAT(errors, HasSubstr(c.reason)) << c.what << ":\n" << run->Describe();
    EXPECT_THAT(run->stderr_text, Not(HasSubstr("\"msg\":\"serving\""))) << c.what;
  }
}

TEST_F(SecurityTlsTest, ShippedExamplePolicyIsAccepted) {
  ASSERT_OK(Ensure({"registry:localhost", "stats:localhost", "registrar", "nobody"}));
  auto registry = Registry(kExamplePolicy);
  ASSERT_OK(registry->Start());
  auto stats = Stats(*registry, kExamplePolicy);
  ASSERT_OK(stats->Start());
  // The example's identities are of the observer.test domain, as the dev PKI's.
  EXPECT_OK(RegistryClient(As(*registry, "registrar")).ListElections({}));
  EXPECT_THAT(RegistryClient(As(*registry, "nobody"), kRefusedCallTimeout).ListElections({}),
              StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_OK(StatsClient(As(*stats, "registrar")).ListRegionSchemes({}));
}

// ---------------------------------------------------------------------------------------------
// 5. Every method by every role: exactly what the policy allows, nothing else, nothing changed.

// The table's setup and the request of every method, each valid for a fresh cell.
class RequestBuilders {
 public:
  RequestBuilders(RegistryClient& admin, std::string election)
      : admin_(admin), election_(std::move(election)) {}

  void Setup() {
    CreateElectionAndOrganisation(admin_, election_.substr(strlen("elections/")), kSubmitterOrg);
    readable_ = FreshObserver(rv1::OBSERVER_STATUS_ACCREDITED);
  }
  const std::string& election() const { return election_; }

  // The request of `full_method` for the next cell, after any setup it needs (done as
  // registrar); null if no builder knows the method.
  std::unique_ptr<gpb::Message> Build(const std::string& full_method) {
    const auto it = builders().find(full_method);
    if (it == builders().end()) return nullptr;
    ++cell_;
    return it->second(*this);
  }
  // Every method a builder knows.
  std::set<std::string> Methods() const {
    std::set<std::string> all;
    for (const auto& [method, build] : builders()) all.insert(method);
    return all;
  }

 private:
  using Builder = std::function<std::unique_ptr<gpb::Message>(RequestBuilders&)>;

  std::string Unique() const { return Letters(cell_ + 26 * 26); }
  std::string OrganisationBody() const { return absl::StrCat("organisations/", kSubmitterOrg); }

  // An observer of the submitter's organisation in `status` (SUBMITTED, ACCREDITED or
  // SUSPENDED); its name.
  std::string FreshObserver(rv1::ObserverStatus status) {
    const rv1::Observer o =
        MUST(admin_.CreateObserver(SubmissionFor(election_, OrganisationBody()))).observer();
    if (status == rv1::OBSERVER_STATUS_ACCREDITED || status == rv1::OBSERVER_STATUS_SUSPENDED) {
      rv1::AccreditObserverRequest accredit;
      accredit.set_name(o.name());
      accredit.set_decision_reference("CEC-2030-1");
      MUST(admin_.AccreditObserver(accredit));
    }
    if (status == rv1::OBSERVER_STATUS_SUSPENDED) {
      rv1::SuspendObserverRequest suspend;
      suspend.set_name(o.name());
      suspend.set_reason("Left the country");
      MUST(admin_.SuspendObserver(suspend));
    }
    return o.name();
  }

  template <typename M>
  static std::unique_ptr<gpb::Message> Boxed(M message) {
    return std::make_unique<M>(std::move(message));
  }

  static const std::map<std::string, Builder>& builders() {
    static const auto* all = new std::map<std::string, Builder>(MakeBuilders());
    return *all;
  }

  static std::map<std::string, Builder> MakeBuilders() {
    std::map<std::string, Builder> b;
    auto registry = [](absl::string_view method) { return Path(kRegistryService, method); };
    auto stats = [](absl::string_view method) { return Path(kStatsService, method); };
    b[registry("CreateElection")] = [](RequestBuilders& t) {
      return Boxed(FutureElection(absl::StrCat("cell-", t.Unique())));
    };
    b[registry("GetElection")] = [](RequestBuilders& t) {
      rv1::GetElectionRequest r;
      r.set_name(t.election_);
      return Boxed(r);
    };
    b[registry("ListElections")] = [](RequestBuilders&) {
      return Boxed(rv1::ListElectionsRequest());
    };
    b[registry("UpdateElection")] = [](RequestBuilders& t) {
      rv1::UpdateElectionRequest r;
      r.mutable_election()->set_name(t.election_);
      r.mutable_election()->set_display_name(absl::StrCat("Renamed ", t.Unique()));
      r.mutable_update_mask()->add_paths("display_name");
      return Boxed(r);
    };
    b[registry("CreateOrganisation")] = [](RequestBuilders& t) {
      return Boxed(NewOrganisation(absl::StrCat("CELL-", absl::AsciiStrToUpper(t.Unique())),
                                   absl::StrCat("Cell organisation ", t.Unique())));
    };
    b[registry("GetOrganisation")] = [](RequestBuilders&) {
      rv1::GetOrganisationRequest r;
      r.set_name(absl::StrCat("organisations/", kSubmitterOrg));
      return Boxed(r);
    };
    b[registry("ListOrganisations")] = [](RequestBuilders&) {
      return Boxed(rv1::ListOrganisationsRequest());
    };
    b[registry("UpdateOrganisation")] = [](RequestBuilders& t) {
      rv1::UpdateOrganisationRequest r;
      r.mutable_organisation()->set_name(absl::StrCat("organisations/", kSubmitterOrg));
      r.mutable_organisation()->mutable_names()->set_en(absl::StrCat("Renamed ", t.Unique()));
      r.mutable_update_mask()->add_paths("names");
      return Boxed(r);
    };
    b[registry("CreateObserver")] = [](RequestBuilders& t) {
      return Boxed(SubmissionFor(t.election_, t.OrganisationBody()));
    };
    b[registry("BatchCreateObservers")] = [](RequestBuilders& t) {
      rv1::BatchCreateObserversRequest r;
      r.set_parent(t.election_);
      r.set_all_or_nothing(true);
      for (int i = 0; i < 2; ++i) {
        rv1::CreateObserverRequest row = SubmissionFor(t.election_, t.OrganisationBody());
        row.clear_parent();
        *r.add_requests() = row;
      }
      return Boxed(r);
    };
    b[registry("GetObserver")] = [](RequestBuilders& t) {
      rv1::GetObserverRequest r;
      r.set_name(t.readable_);
      return Boxed(r);
    };
    b[registry("ListObservers")] = [](RequestBuilders& t) {
      rv1::ListObserversRequest r;
      r.set_parent(t.election_);
      return Boxed(r);
    };
    b[registry("UpdateObserver")] = [](RequestBuilders& t) {
      rv1::UpdateObserverRequest r;
      r.mutable_observer()->set_name(t.FreshObserver(rv1::OBSERVER_STATUS_SUBMITTED));
      r.mutable_observer()->set_submission_reference(absl::StrCat("Note-", t.Unique()));
      r.mutable_update_mask()->add_paths("submission_reference");
      return Boxed(r);
    };
    b[registry("AccreditObserver")] = [](RequestBuilders& t) {
      rv1::AccreditObserverRequest r;
      r.set_name(t.FreshObserver(rv1::OBSERVER_STATUS_SUBMITTED));
      r.set_decision_reference("CEC-2030-2");
      return Boxed(r);
    };
    b[registry("RejectObserver")] = [](RequestBuilders& t) {
      rv1::RejectObserverRequest r;
      r.set_name(t.FreshObserver(rv1::OBSERVER_STATUS_SUBMITTED));
      r.set_reason("Incomplete submission");
      return Boxed(r);
    };
    b[registry("SuspendObserver")] = [](RequestBuilders& t) {
      rv1::SuspendObserverRequest r;
      r.set_name(t.FreshObserver(rv1::OBSERVER_STATUS_ACCREDITED));
      r.set_reason("Left the country");
      return Boxed(r);
    };
    b[registry("ReinstateObserver")] = [](RequestBuilders& t) {
      rv1::ReinstateObserverRequest r;
      r.set_name(t.FreshObserver(rv1::OBSERVER_STATUS_SUSPENDED));
      r.set_reason("Returned");
      return Boxed(r);
    };
    b[registry("WithdrawObserver")] = [](RequestBuilders& t) {
      rv1::WithdrawObserverRequest r;
      r.set_name(t.FreshObserver(rv1::OBSERVER_STATUS_ACCREDITED));
      r.set_reason("Mission ended early");
      return Boxed(r);
    };
    b[registry("DeleteObserver")] = [](RequestBuilders& t) {
      rv1::DeleteObserverRequest r;
      r.set_name(t.FreshObserver(rv1::OBSERVER_STATUS_SUBMITTED));
      r.set_reason("entered twice");
      return Boxed(r);
    };
    b[registry("Watch")] = [](RequestBuilders&) {
      rv1::WatchRequest r;
      r.set_send_initial_state(true);  // The first response comes at once.
      return Boxed(r);
    };
    b[registry("VerifyChangeLog")] = [](RequestBuilders&) {
      return Boxed(rv1::VerifyChangeLogRequest());
    };
    b[stats("GetSummary")] = [](RequestBuilders& t) {
      sv1::GetSummaryRequest r;
      r.set_election(t.election_);
      return Boxed(r);
    };
    b[stats("GetBreakdown")] = [](RequestBuilders& t) {
      sv1::GetBreakdownRequest r;
      r.set_election(t.election_);
      r.set_dimension(sv1::DIMENSION_ORGANISATION);
      return Boxed(r);
    };
    b[stats("WatchSummary")] = [](RequestBuilders& t) {
      sv1::WatchSummaryRequest r;
      r.mutable_request()->set_election(t.election_);
      return Boxed(r);
    };
    b[stats("WatchBreakdown")] = [](RequestBuilders& t) {
      sv1::WatchBreakdownRequest r;
      r.mutable_request()->set_election(t.election_);
      r.mutable_request()->set_dimension(sv1::DIMENSION_SENDING_STATE);
      return Boxed(r);
    };
    b[stats("ListRegionSchemes")] = [](RequestBuilders&) {
      return Boxed(sv1::ListRegionSchemesRequest());
    };
    return b;
  }

  RegistryClient& admin_;
  const std::string election_;
  std::string readable_;  // An observer of the submitter's organisation.
  int64_t cell_ = 0;
};

TEST_F(SecurityTlsTest, EveryMethodByEveryRoleIsExactlyWhatThePolicyAllows) {
  ASSERT_OK(Ensure({"registry:localhost", "stats:localhost", "registrar", "reader", "pii-reader",
                    "submitter-x", "nobody"}));
  const cv1::AuthorizationPolicy policy = StandardPolicy();
  const std::string policy_path = WritePolicy(policy);
  auto registry = Registry(policy_path);
  ASSERT_OK(registry->Start());
  auto stats = Stats(*registry, policy_path);
  ASSERT_OK(stats->Start());

  RegistryClient admin(As(*registry, "registrar"));
  RequestBuilders requests(admin, ElectionName("table"));
  requests.Setup();
  // stats-service has the election before its methods are called.
  sv1::GetSummaryRequest synced;
  synced.set_election(requests.election());
  synced.set_min_revision(MUST(admin.HeadRevision()));
  ASSERT_OK(StatsClient(As(*stats, "registrar")).GetSummary(synced, absl::Seconds(20)));

  // The methods, from the descriptors.
  std::vector<const gpb::MethodDescriptor*> methods;
  std::set<std::string> described;
  for (const char* name : {kRegistryService, kStatsService}) {
    const gpb::ServiceDescriptor* service = ServiceByName(name);
    ASSERT_NE(service, nullptr) << name << " is not in the generated pool";
    for (int i = 0; i < service->method_count(); ++i) {
      methods.push_back(service->method(i));
      described.insert(Path(name, service->method(i)->name()));
    }
  }
  for (const std::string& m : requests.Methods()) {
    EXPECT_TRUE(described.count(m) > 0) << "a request builder for a method that is gone: " << m;
  }

  const std::vector<std::pair<std::string, std::string>> identities = {
      {"registrar", "registrar"},   {"reader", "reader"},          {"pii-reader", "pii-reader"},
      {"submitter-x", "submitter"}, {"stats", "stats-subscriber"}, {"nobody", "no role"}};
  std::map<std::string, std::shared_ptr<grpc::Channel>> to_registry, to_stats;
  for (const auto& [identity, role] : identities) {
    to_registry[identity] = As(*registry, identity);
    to_stats[identity] = As(*stats, identity);
  }

  std::map<std::string, int> denied_by_method;
  int denied_registry = 0, denied_stats = 0, allowed = 0;
  std::vector<std::string> table;
  for (const gpb::MethodDescriptor* method : methods) {
    const std::string path = Path(method->service()->full_name(), method->name());
    const bool on_registry = method->service()->full_name() == kRegistryService;
    std::string row = absl::StrCat(method->name(), ":");
    for (const auto& [identity, role] : identities) {
      SCOPED_TRACE(absl::StrCat(path, " by ", identity, " (", role, ")"));
      std::unique_ptr<gpb::Message> request = requests.Build(path);
      if (request == nullptr) {
        ADD_FAILURE() << "no request builder for " << path
                      << ": add one to RequestBuilders, so that the table covers the new method";
        break;
      }
      ASSERT_EQ(request->GetDescriptor(), method->input_type());
      const bool expect_allowed = PolicyAllows(policy, Id(identity), path);
      const int64_t before = MUST(admin.HeadRevision());
      const absl::Status got = CallMethod(on_registry ? to_registry[identity] : to_stats[identity],
                                          *method, *request, absl::Seconds(10));
      absl::StrAppend(&row, " ", identity, "=", absl::StatusCodeToString(got.code()));
      if (expect_allowed) {
        ++allowed;
        EXPECT_OK(got) << "the policy allows it";
      } else {
        ++denied_by_method[path];
        ++(on_registry ? denied_registry : denied_stats);
        EXPECT_THAT(got, StatusIs(absl::StatusCode::kPermissionDenied, "PERMISSION_DENIED"))
            << "the policy does not allow it";
        EXPECT_EQ(MUST(admin.HeadRevision()), before) << "a refused call changed the registry";
      }
    }
    table.push_back(row);
  }
  std::cerr << "method x identity:\n  " << absl::StrJoin(table, "\n  ") << "\n";
  EXPECT_GT(allowed, 0);
  EXPECT_GT(denied_registry, 0);

  // Each refusal logged once and counted by method.
  EXPECT_TRUE(registry->WaitForOutput(kCallDenied, denied_registry, absl::Seconds(5)));
  EXPECT_TRUE(stats->WaitForOutput(kCallDenied, denied_stats, absl::Seconds(5)));
  EXPECT_EQ(registry->CountInOutput(kCallDenied), denied_registry);
  EXPECT_EQ(stats->CountInOutput(kCallDenied), denied_stats);
  for (const ServiceProcess* p :
       {static_cast<const ServiceProcess*>(registry), static_cast<const ServiceProcess*>(stats)}) {
    const std::string metrics = MUST(HttpGet(p->metrics_address(), "/metrics"));
    for (const gpb::MethodDescriptor* method : methods) {
      const std::string service = method->service()->full_name();
      if ((service == kRegistryService) != (p == registry)) continue;
      const std::string path = Path(service, method->name());
      EXPECT_EQ(
          SampleValue(
              metrics, "grpc_server_denied_total",
              {{"grpc_service", service}, {"grpc_method", method->name()}, {"reason", "policy"}})
              .value_or(0),
          denied_by_method[path])
          << p->name() << " grpc_server_denied_total of " << path;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// 6. A submitter sees and changes its own sending body's records only; personal data goes to
// pii-readers only.

TEST_F(SecurityTlsTest, SubmitterIsConfinedToItsSendingBody) {
  ASSERT_OK(Ensure({"registry:localhost", "registrar", "reader", "pii-reader", "submitter-x",
                    "submitter-us", "submitter-none"}));
  const std::string policy_path = WritePolicy(StandardPolicy(/*submitters_edit_own=*/true));
  auto registry = Registry(policy_path);
  ASSERT_OK(registry->Start());
  RegistryClient admin(As(*registry, "registrar"));
  CreateElectionAndOrganisation(admin, "confined", kSubmitterOrg);
  const std::string election = ElectionName("confined");
  const std::string own_body = absl::StrCat("organisations/", kSubmitterOrg);
  RegistryClient submitter(As(*registry, "submitter-x"));

  // Creates for its own body; for another, PERMISSION_DENIED and nothing written.
  auto own = submitter.CreateObserver(SubmissionFor(election, own_body));
  ASSERT_OK(own);
  EXPECT_EQ(own->observer().status(), rv1::OBSERVER_STATUS_SUBMITTED);
  EXPECT_FALSE(HasPii(own->observer())) << "a submitter is not a pii-reader";
  int64_t head = MUST(admin.HeadRevision());
  EXPECT_THAT(submitter.CreateObserver(SubmissionFor(election, "states/US")),
              StatusIs(absl::StatusCode::kPermissionDenied, "PERMISSION_DENIED"));
  rv1::BatchCreateObserversRequest batch;
  batch.set_parent(election);
  for (const std::string& body : {own_body, std::string("states/US")}) {
    rv1::CreateObserverRequest row = SubmissionFor(election, body);
    row.clear_parent();
    *batch.add_requests() = row;
  }
  batch.set_all_or_nothing(true);
  EXPECT_THAT(submitter.BatchCreateObservers(batch),
              StatusIs(absl::StatusCode::kPermissionDenied, "PERMISSION_DENIED"));
  EXPECT_EQ(MUST(admin.HeadRevision()), head) << "a refused submission was written";
  batch.set_all_or_nothing(false);
  auto partial = submitter.BatchCreateObservers(batch);
  ASSERT_OK(partial);
  ASSERT_EQ(partial->results_size(), 2);
  EXPECT_EQ(partial->results(0).status().code(), 0);
  EXPECT_EQ(partial->results(1).status().code(), static_cast<int>(grpc::PERMISSION_DENIED));
  EXPECT_EQ(partial->results(1).status().reason(), "PERMISSION_DENIED");
  EXPECT_FALSE(partial->results(1).has_observer());
  const std::string own_batch = partial->results(0).observer().name();

  // Another body's record, submitted by the registrar, does not exist for the submitter:
  // exactly the answer for a record that does not exist (a deleted one, a never-made one).
  const rv1::Observer theirs =
      MUST(admin.CreateObserver(SubmissionFor(election, "states/US"))).observer();
  const std::string deleted =
      MUST(admin.CreateObserver(SubmissionFor(election, own_body))).observer().name();
  rv1::DeleteObserverRequest del;
  del.set_name(deleted);
  MUST(admin.DeleteObserver(del));
  const std::string never = absl::StrCat(election, "/observers/00000000000000ff");
  auto get = [&](const std::string& name) {
    rv1::GetObserverRequest r;
    r.set_name(name);
    return submitter.GetObserver(r).status();
  };
  const absl::Status get_theirs = get(theirs.name());
  const absl::Status get_deleted = get(deleted);
  const absl::Status get_never = get(never);
  EXPECT_THAT(get_theirs, StatusIs(absl::StatusCode::kNotFound));
  for (const absl::Status* missing : {&get_deleted, &get_never}) {
    EXPECT_THAT(*missing, StatusIs(absl::StatusCode::kNotFound));
    EXPECT_EQ(get_theirs.code(), missing->code());
    EXPECT_EQ(GetErrorDetails(get_theirs).reason, GetErrorDetails(*missing).reason);
  }
  // The same message but for the name.
  EXPECT_EQ(absl::StrReplaceAll(get_theirs.message(), {{theirs.name(), "NAME"}}),
            absl::StrReplaceAll(get_deleted.message(), {{deleted, "NAME"}}));
  // Writes other than submissions are refused to a submitter even where the policy lets it
  // call them (fail closed), on its own records and others' alike, and nothing changes.
  head = MUST(admin.HeadRevision());
  rv1::UpdateObserverRequest update;
  update.mutable_observer()->set_name(theirs.name());
  update.mutable_observer()->set_submission_reference("Hijacked");
  update.mutable_update_mask()->add_paths("submission_reference");
  EXPECT_THAT(submitter.UpdateObserver(update),
              StatusIs(absl::StatusCode::kPermissionDenied, "PERMISSION_DENIED"));
  rv1::DeleteObserverRequest delete_theirs;
  delete_theirs.set_name(theirs.name());
  EXPECT_THAT(submitter.DeleteObserver(delete_theirs),
              StatusIs(absl::StatusCode::kPermissionDenied, "PERMISSION_DENIED"));
  EXPECT_EQ(MUST(admin.HeadRevision()), head);
  rv1::GetObserverRequest get_req;
  get_req.set_name(theirs.name());
  EXPECT_EQ(MUST(admin.GetObserver(get_req)).observer().etag(), theirs.etag());
  update.mutable_observer()->set_name(own->observer().name());
  EXPECT_THAT(submitter.UpdateObserver(update),
              StatusIs(absl::StatusCode::kPermissionDenied, "PERMISSION_DENIED"));
  EXPECT_EQ(MUST(admin.HeadRevision()), head);

  // Lists: the submitter its own body's records only; readers everything.
  std::set<std::string> all_names, own_names;
  for (const rv1::Observer& o : MUST(admin.AllObservers(election))) {
    all_names.insert(o.name());
    if (o.sending_body().organisation() == own_body) own_names.insert(o.name());
  }
  ASSERT_EQ(own_names, (std::set<std::string>{own->observer().name(), own_batch}));
  std::set<std::string> listed;
  for (const rv1::Observer& o : MUST(submitter.AllObservers(election))) listed.insert(o.name());
  EXPECT_EQ(listed, own_names);
  RegistryClient us(As(*registry, "submitter-us"));
  listed.clear();
  for (const rv1::Observer& o : MUST(us.AllObservers(election))) listed.insert(o.name());
  EXPECT_EQ(listed, std::set<std::string>{theirs.name()});
  for (const char* reader : {"reader", "pii-reader"}) {
    listed.clear();
    for (const rv1::Observer& o :
         MUST(RegistryClient(As(*registry, reader)).AllObservers(election)))
      listed.insert(o.name());
    EXPECT_EQ(listed, all_names) << reader;
  }

  // A submitter without a sending body may neither submit nor read records.
  RegistryClient bodiless(As(*registry, "submitter-none"));
  EXPECT_THAT(bodiless.CreateObserver(SubmissionFor(election, own_body)),
              StatusIs(absl::StatusCode::kPermissionDenied, "PERMISSION_DENIED"));
  rv1::GetObserverRequest get_own;
  get_own.set_name(own->observer().name());
  EXPECT_THAT(bodiless.GetObserver(get_own),
              StatusIs(absl::StatusCode::kPermissionDenied, "PERMISSION_DENIED"));
  rv1::ListObserversRequest list_req;
  list_req.set_parent(election);
  EXPECT_THAT(bodiless.ListObservers(list_req),
              StatusIs(absl::StatusCode::kPermissionDenied, "PERMISSION_DENIED"));
}

TEST_F(SecurityTlsTest, PersonalDataGoesToPiiReadersOnly) {
  ASSERT_OK(Ensure({"registry:localhost", "registrar", "reader", "pii-reader", "submitter-x"}));
  const std::string policy_path = WritePolicy(StandardPolicy());
  auto registry = Registry(policy_path);
  ASSERT_OK(registry->Start());
  RegistryClient admin(As(*registry, "registrar"));
  CreateElectionAndOrganisation(admin, "pii", kSubmitterOrg);
  const std::string election = ElectionName("pii");
  const rv1::CreateObserverRequest submission =
      SubmissionFor(election, absl::StrCat("organisations/", kSubmitterOrg));
  ASSERT_TRUE(HasPii(submission.observer()));
  const rv1::Observer created = MUST(admin.CreateObserver(submission)).observer();
  EXPECT_FALSE(HasPii(created)) << "the registrar (not a pii-reader) got personal data back";

  for (const char* identity : {"registrar", "reader", "pii-reader", "submitter-x"}) {
    SCOPED_TRACE(identity);
    const bool pii = std::string(identity) == "pii-reader";
    RegistryClient client(As(*registry, identity));
    rv1::GetObserverRequest get;
    get.set_name(created.name());
    auto got = client.GetObserver(get);
    ASSERT_OK(got);
    EXPECT_EQ(got->observer().has_id_document(), pii);
    EXPECT_EQ(got->observer().has_birth_date(), pii);
    EXPECT_EQ(got->observer().has_contact(), pii);
    if (pii) {
      EXPECT_EQ(got->observer().id_document().number(),
                submission.observer().id_document().number());
      EXPECT_EQ(got->observer().contact().email(), submission.observer().contact().email());
    }
    auto listed = client.AllObservers(election);
    ASSERT_OK(listed);
    ASSERT_EQ(listed->size(), 1u);
    EXPECT_EQ(HasPii(listed->front()), pii);
  }
}

}  // namespace
}  // namespace observer::testing
