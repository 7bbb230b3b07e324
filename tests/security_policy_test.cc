// The security behaviour of both services that the authorization policy, the per-identity rate
// limit and the server limits give, seen from outside against the real processes (plaintext on
// loopback: callers name themselves in the `x-observer-actor` metadata; the mutual TLS side is
// security_tls_test): personal data only for pii-readers and nowhere else (logs at debug level,
// /metrics, change events, stats, error messages, and for a submitter the records of other
// sending bodies), denied calls logged and counted, a flooding identity throttled without
// slowing another, the page-size cap, the server's default deadline for writes, and the policy
// file re-read when it changes.
#include <gmock/gmock.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/support/client_interceptor.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/errors.h"
#include "common/grpc_status.h"
#include "common/health_client.h"
#include "observer/registry/v1/registry_service.grpc.pb.h"
#include "observer/stats/v1/stats_service.grpc.pb.h"
#include "tests/harness/builders.h"
#include "tests/harness/http_get.h"
#include "tests/harness/registry_client.h"
#include "tests/harness/registry_process.h"
#include "tests/harness/stats_client.h"
#include "tests/harness/stats_process.h"
#include "tests/harness/status_matchers.h"
#include "tests/harness/store_file.h"
#include "tests/harness/temp_dir.h"

namespace observer::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kRegistryService[] = "observer.registry.v1.RegistryService";
constexpr char kDeniedLine[] = "\"msg\":\"call denied\"";
constexpr char kInvalidPolicyLine[] =
    "the changed policy is not valid; the previous one stays in force";

// --- Callers with an identity ----------------------------------------------------------------

// Adds `x-observer-actor: <actor>` to every call of the channel.
class ActorInterceptor final : public grpc::experimental::Interceptor {
 public:
  explicit ActorInterceptor(std::string actor) : actor_(std::move(actor)) {}
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
      methods->GetSendInitialMetadata()->insert({"x-observer-actor", actor_});
    }
    methods->Proceed();
  }

 private:
  const std::string actor_;
};

class ActorInterceptorFactory final : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  explicit ActorInterceptorFactory(std::string actor) : actor_(std::move(actor)) {}
  grpc::experimental::Interceptor* CreateClientInterceptor(
      grpc::experimental::ClientRpcInfo* /*info*/) override {
    return new ActorInterceptor(actor_);
  }

 private:
  const std::string actor_;
};

// A channel of its own to `service` whose calls declare `actor` as the caller.
std::shared_ptr<grpc::Channel> ChannelAs(const ServiceProcess& service, const std::string& actor) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetMaxReceiveMessageSize(16 * 1024 * 1024);
  std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>> factories;
  factories.push_back(std::make_unique<ActorInterceptorFactory>(actor));
  return grpc::experimental::CreateCustomChannelWithInterceptors(
      service.address(), grpc::InsecureChannelCredentials(), args, std::move(factories));
}

// --- Policy files ----------------------------------------------------------------------------

// Replaces `path` atomically (write a temporary file, rename it over), as an operator's tooling
// would, so the service never reads half a file.
void WriteFileAtomically(const std::string& path, const std::string& text) {
  const std::string temp = path + ".tmp";
  {
    std::ofstream out(temp, std::ios::trunc);
    out << text;
    out.close();
    if (!out) throw TestFailure(absl::StrCat("cannot write ", temp));
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    throw TestFailure(absl::StrCat("cannot rename ", temp, " to ", path));
  }
}

std::string RegistryPath(absl::string_view method) {
  return absl::StrCat("/", kRegistryService, "/", method);
}

// --- Metrics and logs ------------------------------------------------------------------------

std::string Scrape(const ServiceProcess& p) {
  absl::StatusOr<std::string> text = HttpGet(p.metrics_address(), "/metrics");
  EXPECT_TRUE(text.ok()) << p.name() << " /metrics: " << text.status();
  return text.ok() ? *text : "";
}

// grpc_server_denied_total of one registry method and reason; 0 if the sample does not exist
// (yet).
double Denied(const ServiceProcess& p, const std::string& method, const std::string& why) {
  return SampleValue(Scrape(p), "grpc_server_denied_total",
                     {{"grpc_service", kRegistryService}, {"grpc_method", method}, {"reason", why}})
      .value_or(0);
}

// The log lines of `output` that contain every one of `needles`.
std::vector<std::string> LinesWith(const std::string& output,
                                   const std::vector<std::string>& needles) {
  std::vector<std::string> lines;
  for (absl::string_view line : absl::StrSplit(output, '\n')) {
    bool all = true;
    for (const auto& n : needles) all = all && absl::StrContains(line, n);
    if (all) lines.emplace_back(line);
  }
  return lines;
}

// Everything a status carries: code, message, reason, metadata, field violations and the raw
// payloads.
std::string StatusText(const absl::Status& status) {
  std::string text = absl::StrCat(DescribeStatus(status), " | ",
                                  status.ToString(absl::StatusToStringMode::kWithEverything));
  for (const auto& v : GetErrorDetails(status).violations) {
    absl::StrAppend(&text, " | ", v.field, ": ", v.description);
  }
  return text;
}

template <typename T>
std::string StatusText(const absl::StatusOr<T>& result) {
  return StatusText(result.status());
}

// --- Personal data canaries ------------------------------------------------------------------

// Unique strings planted in the personal data of the PII test, searched (case-insensitively)
// wherever personal data must not go. Every identity document number contains kDocCanary,
// every e-mail address kMailCanary, every phone number kPhoneCanary; birth dates are the
// unusual dates of kBirthYears (13 July), found in any of the usual renderings.
constexpr char kDocCanary[] = "CANARY7Q93";
constexpr char kMailCanary[] = "canary-7q93";
constexpr char kPhoneCanary[] = "9979393";
constexpr int kBirthYears[] = {1931, 1932, 1933, 1934, 1935, 1936, 1937, 1938, 1939, 1850};

std::vector<std::string> CanaryNeedles() {
  std::vector<std::string> needles = {absl::AsciiStrToLower(kDocCanary), kMailCanary, kPhoneCanary};
  for (int year : kBirthYears) {
    needles.push_back(absl::StrCat(year, "-07-13"));
    needles.push_back(absl::StrCat(year, "-7-13"));
    needles.push_back(absl::StrCat("13.07.", year));
    needles.push_back(absl::StrCat(year, "0713"));
    needles.push_back(absl::StrCat("year: ", year));  // Text format of google.type.Date.
  }
  return needles;
}

// The canaries found in `text` (empty if none).
std::vector<std::string> CanariesIn(const std::string& text) {
  const std::string lower = absl::AsciiStrToLower(text);
  std::vector<std::string> found;
  for (const auto& needle : CanaryNeedles()) {
    if (absl::StrContains(lower, needle)) found.push_back(needle);
  }
  return found;
}

// A short excerpt of `text` around the first canary, for failure messages.
std::string AroundCanary(const std::string& text) {
  const std::string lower = absl::AsciiStrToLower(text);
  for (const auto& needle : CanaryNeedles()) {
    const size_t at = lower.find(needle);
    if (at == std::string::npos) continue;
    const size_t from = at > 300 ? at - 300 : 0;
    return text.substr(from, 600);
  }
  return "";
}

#define EXPECT_NO_CANARY(text, where)                           \
  do {                                                          \
    const std::string canary_text_ = (text);                    \
    EXPECT_THAT(CanariesIn(canary_text_), ::testing::IsEmpty()) \
        << "personal data in " << (where) << ":\n...\n"         \
        << AroundCanary(canary_text_) << "\n...";               \
  } while (false)

// An observer whose personal data are canaries; `tag` (one letter) makes them unique.
rv1::Observer CanaryObserver(int64_t seq, char tag, int birth_year) {
  rv1::Observer o = NewObserver(seq, "DE");
  o.mutable_id_document()->set_number(absl::StrCat(kDocCanary, std::string(1, tag)));
  *o.mutable_birth_date() = MakeDate(birth_year, 7, 13);
  o.mutable_contact()->set_email(
      absl::StrCat(kMailCanary, "-", std::string(1, tag), "@example.org"));
  o.mutable_contact()->set_phone(absl::StrCat("+", kPhoneCanary, static_cast<int>(tag)));
  return o;
}

rv1::CreateObserverRequest CreateRequest(const std::string& parent, const rv1::Observer& o) {
  rv1::CreateObserverRequest req;
  req.set_parent(parent);
  *req.mutable_observer() = o;
  return req;
}

// True if an observer image inside the event carries personal data.
bool EventHasPii(const rv1::ChangeEvent& e) {
  return (e.before().has_observer() && HasPii(e.before().observer())) ||
         (e.after().has_observer() && HasPii(e.after().observer()));
}

// --- Fixture ---------------------------------------------------------------------------------

class SecurityPolicyTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (HasFailure()) PrintOutputTails({registry_.get(), stats_.get()});
    stats_.reset();
    registry_.reset();
  }

  RegistryProcess& StartRegistry(std::vector<std::string> args) {
    registry_ = std::make_unique<RegistryProcess>(dir_.path(), std::move(args));
    MUST(registry_->Start());
    return *registry_;
  }

  StatsProcess& StartStats(std::vector<std::string> args) {
    stats_ = std::make_unique<StatsProcess>(registry_->address(), std::move(args));
    MUST(stats_->Start());
    if (!PollUntil(
            [&] {
              absl::StatusOr<HealthStatus> h = CheckHealth(stats_->channel());
              return h.ok() && *h == HealthStatus::kServing;
            },
            absl::Seconds(20))) {
      throw TestFailure("stats-service did not sync with the registry");
    }
    return *stats_;
  }

  std::string PolicyPath() const { return dir_.Join("policy.json"); }

  // A policy that allows every call: the rate limit applies to named callers only when there is
  // a policy (plaintext loopback without one has no identities to limit).
  std::string OpenPolicy() const {
    const std::string path = dir_.Join("open-policy.json");
    WriteFileAtomically(path, R"({"name": "open", "allow_rules": [{"name": "everyone"}]})");
    return path;
  }

  TempDir dir_;
  std::unique_ptr<RegistryProcess> registry_;
  std::unique_ptr<StatsProcess> stats_;
};

// ---------------------------------------------------------------------------------------------
// 1. Personal data: only to pii-readers, nowhere else.

// clerk: registrar + pii-reader; desk: registrar only; viewer: reader; stats: stats-subscriber.
// stats-service itself declares no identity under --insecure-loopback, so Watch is open to
// every caller here (under mutual TLS it is its certificate's identity).
constexpr char kPiiPolicy[] = R"json({
  "name": "pii-canary",
  "roles": [
    {"name": "registrar", "principals": ["clerk", "desk"]},
    {"name": "pii-reader", "principals": ["clerk"]},
    {"name": "reader", "principals": ["viewer"]},
    {"name": "stats-subscriber", "principals": ["stats"]}
  ],
  "allow_rules": [
    {"name": "registrars-everything", "source": {"roles": ["registrar"]},
     "request": {"paths": ["/observer.registry.v1.RegistryService/*"]}},
    {"name": "readers-read", "source": {"roles": ["reader", "pii-reader"]},
     "request": {"paths": ["/observer.registry.v1.RegistryService/Get*",
                           "/observer.registry.v1.RegistryService/List*"]}},
    {"name": "loopback-watch", "request": {"paths": ["/observer.registry.v1.RegistryService/Watch"]}},
    {"name": "figures", "source": {"roles": ["stats-subscriber", "reader", "pii-reader"]},
     "request": {"paths": ["/observer.stats.v1.StatsService/*"]}}
  ]
})json";

TEST_F(SecurityPolicyTest, PersonalDataReachesOnlyPiiReaders) {
  WriteFileAtomically(PolicyPath(), kPiiPolicy);
  RegistryProcess& registry =
      StartRegistry({"--log-level", "debug", "--authz-policy", PolicyPath()});
  StatsProcess& stats = StartStats({"--log-level", "debug", "--authz-policy", PolicyPath()});
  // The clients go before the services stop (an open connection delays the shutdown).
  {
    RegistryClient clerk(ChannelAs(registry, "clerk"));
    RegistryClient desk(ChannelAs(registry, "desk"));
    RegistryClient viewer(ChannelAs(registry, "viewer"));
    RegistryClient watcher(ChannelAs(registry, "stats"));
    StatsClient figures(ChannelAs(stats, "stats"));

    const rv1::Election election =
        MUST(clerk.CreateElection(FutureElection("pii-canary"))).election();
    MUST(clerk.CreateOrganisation(NewOrganisation("WATCH-ORG", "Observers without borders")));
    const std::string parent = election.name();

    // Observers A..D by the clerk, E by the registrar without pii-reader.
    std::map<char, rv1::Observer> created;
    int year = 0;
    for (char tag : {'A', 'B', 'C', 'D'}) {
      rv1::Observer o = CanaryObserver(NextSeq(), tag, kBirthYears[year++]);
      if (tag == 'D') {
        o.mutable_sending_body()->set_organisation("organisations/WATCH-ORG");
      }
      created[tag] = MUST(clerk.CreateObserver(CreateRequest(parent, o))).observer();
      EXPECT_TRUE(HasPii(created[tag])) << "the clerk is a pii-reader";
    }
    {
      const rv1::Observer o = CanaryObserver(NextSeq(), 'E', kBirthYears[year++]);
      const rv1::CreateObserverResponse r = MUST(desk.CreateObserver(CreateRequest(parent, o)));
      EXPECT_FALSE(HasPii(r.observer())) << "a write's answer to a registrar without pii-reader";
      EXPECT_NO_CANARY(r.DebugString(), "desk's CreateObserver response");
      created['E'] = r.observer();
    }
    // A batch: row 0 is created, row 1 repeats its document (a row error).
    {
      rv1::BatchCreateObserversRequest batch;
      batch.set_parent(parent);
      const rv1::Observer f = CanaryObserver(NextSeq(), 'F', kBirthYears[year++]);
      *batch.add_requests()->mutable_observer() = f;
      rv1::Observer twin = CanaryObserver(NextSeq(), 'G', kBirthYears[year++]);
      *twin.mutable_id_document() = f.id_document();
      *batch.add_requests()->mutable_observer() = twin;
      const rv1::BatchCreateObserversResponse r = MUST(clerk.BatchCreateObservers(batch));
      ASSERT_EQ(r.results_size(), 2) << r.DebugString();
      EXPECT_EQ(r.results(0).status().code(), 0) << r.DebugString();
      EXPECT_NE(r.results(1).status().code(), 0) << r.DebugString();
      EXPECT_NO_CANARY(r.results(1).status().DebugString(), "a batch row's error");
    }

    // Update B's contact, accredit C, delete D.
    {
      rv1::UpdateObserverRequest update;
      *update.mutable_observer() = created['B'];
      update.mutable_observer()->mutable_contact()->set_email(
          absl::StrCat(kMailCanary, "-updated@example.org"));
      update.mutable_update_mask()->add_paths("contact");
      const rv1::UpdateObserverResponse r = MUST(clerk.UpdateObserver(update));
      EXPECT_EQ(r.observer().contact().email(), absl::StrCat(kMailCanary, "-updated@example.org"));
      created['B'] = r.observer();
    }
    {
      rv1::AccreditObserverRequest accredit;
      accredit.set_name(created['C'].name());
      accredit.set_decision_reference("CEC-7");
      MUST(clerk.AccreditObserver(accredit));
    }
    {
      rv1::DeleteObserverRequest del;
      del.set_name(created['D'].name());
      del.set_reason("entered twice");
      MUST(clerk.DeleteObserver(del));
    }

    // Errors about personal data name the field, never the value.
    {
      rv1::Observer dup = CanaryObserver(NextSeq(), 'H', kBirthYears[year++]);
      *dup.mutable_id_document() = created['A'].id_document();
      auto r = clerk.CreateObserver(CreateRequest(parent, dup));
      EXPECT_THAT(r, StatusIs(absl::StatusCode::kAlreadyExists));
      EXPECT_NO_CANARY(StatusText(r), "the duplicate-document error");
    }
    {
      rv1::UpdateObserverRequest update;
      *update.mutable_observer() = created['B'];
      *update.mutable_observer()->mutable_id_document() = created['A'].id_document();
      update.mutable_update_mask()->add_paths("id_document");
      auto r = clerk.UpdateObserver(update);
      EXPECT_THAT(r, StatusIs(absl::StatusCode::kAlreadyExists));
      EXPECT_NO_CANARY(StatusText(r), "the duplicate-document error of an update");
    }
    {
      rv1::Observer bad = CanaryObserver(NextSeq(), 'I', 1939);
      bad.mutable_id_document()->set_number(absl::StrCat(kDocCanary, "$BAD/NUMBER"));
      auto r = clerk.CreateObserver(CreateRequest(parent, bad));
      EXPECT_THAT(r, HasViolation("observer.id_document.number"));
      EXPECT_NO_CANARY(StatusText(r), "the malformed-document error");
    }
    {
      rv1::Observer bad = CanaryObserver(NextSeq(), 'J', 1939);
      bad.mutable_id_document()->set_number(absl::StrCat(kDocCanary, std::string(40, 'X')));
      auto r = clerk.CreateObserver(CreateRequest(parent, bad));
      EXPECT_THAT(r, HasViolation("observer.id_document.number"));
      EXPECT_NO_CANARY(StatusText(r), "the over-long-document error");
    }
    {
      rv1::Observer bad = CanaryObserver(NextSeq(), 'K', 1939);
      bad.mutable_contact()->set_email(absl::StrCat(kMailCanary, "-no-at-sign.example.org"));
      bad.mutable_contact()->set_phone(absl::StrCat("+", kPhoneCanary, std::string(40, '1')));
      *bad.mutable_birth_date() = MakeDate(1850, 7, 13);
      auto r = clerk.CreateObserver(CreateRequest(parent, bad));
      EXPECT_THAT(r, HasViolation("observer.contact.email"));
      EXPECT_THAT(r, HasViolation("observer.contact.phone"));
      EXPECT_THAT(r, HasViolation("observer.birth_date"));
      EXPECT_NO_CANARY(StatusText(r), "the contact and birth date errors");
    }
    const int64_t head = MUST(clerk.HeadRevision());

    // Positive control: the clerk (pii-reader) gets the personal data, so the search can fail.
    {
      rv1::GetObserverRequest get;
      get.set_name(created['A'].name());
      const rv1::Observer a = MUST(clerk.GetObserver(get)).observer();
      EXPECT_EQ(a.id_document().number(), absl::StrCat(kDocCanary, "A"));
      EXPECT_EQ(a.birth_date().year(), kBirthYears[0]);
      EXPECT_EQ(a.contact().email(), absl::StrCat(kMailCanary, "-A@example.org"));
      EXPECT_THAT(CanariesIn(a.DebugString()), Not(::testing::IsEmpty()));
      const std::vector<rv1::Observer> all = MUST(clerk.AllObservers(parent));
      EXPECT_EQ(all.size(), 5u);  // A, B, C, E, F.
      for (const auto& o : all) EXPECT_TRUE(HasPii(o)) << o.name();
    }

    // A reader and a registrar without pii-reader get none.
    for (RegistryClient* client : {&viewer, &desk}) {
      SCOPED_TRACE(client == &viewer ? "viewer" : "desk");
      for (const auto& [tag, o] : created) {
        if (tag == 'D') continue;
        rv1::GetObserverRequest g;
        g.set_name(o.name());
        const rv1::GetObserverResponse r = MUST(client->GetObserver(g));
        EXPECT_FALSE(HasPii(r.observer())) << r.DebugString();
        EXPECT_NO_CANARY(r.DebugString(), "GetObserver of a caller without pii-reader");
        EXPECT_EQ(r.observer().name(), o.name());
      }
      rv1::ListObserversRequest list;
      list.set_parent(parent);
      const rv1::ListObserversResponse r = MUST(client->ListObservers(list));
      EXPECT_EQ(r.observers_size(), 5);
      for (const auto& o : r.observers()) EXPECT_FALSE(HasPii(o)) << o.name();
      EXPECT_NO_CANARY(r.DebugString(), "ListObservers of a caller without pii-reader");
    }

    // Change events: from revision 1, and as an initial state.
    {
      rv1::WatchRequest from_start;
      from_start.set_start_revision(1);
      auto watch = watcher.Watch(from_start);
      const std::vector<rv1::ChangeEvent> events =
          MUST(watch->EventsThrough(head, absl::Seconds(10)));
      ASSERT_FALSE(events.empty());
      EXPECT_EQ(events.front().revision(), 1);
      EXPECT_EQ(events.back().revision(), head);
      std::set<rv1::ChangeType> types;
      for (const auto& e : events) {
        types.insert(e.type());
        EXPECT_FALSE(EventHasPii(e)) << e.DebugString();
        EXPECT_NO_CANARY(e.DebugString(), absl::StrCat("change event ", e.revision()));
        EXPECT_NO_CANARY(e.SerializeAsString(), absl::StrCat("change event bytes ", e.revision()));
      }
      EXPECT_EQ(types.count(rv1::CHANGE_TYPE_DELETED), 1u) << "the delete is among the events";
    }
    {
      rv1::WatchRequest initial;
      initial.set_send_initial_state(true);
      auto watch = watcher.Watch(initial);
      int observers = 0;
      bool complete = false;
      for (absl::Time until = absl::Now() + absl::Seconds(10); !complete && absl::Now() < until;) {
        std::optional<rv1::WatchResponse> r = watch->Next(absl::Seconds(1));
        if (!r.has_value()) continue;
        complete = r->initial_state_complete();
        for (const auto& e : r->events()) {
          if (e.after().has_observer()) ++observers;
          EXPECT_FALSE(EventHasPii(e)) << e.DebugString();
        }
        EXPECT_NO_CANARY(r->DebugString(), "an initial-state Watch response");
        EXPECT_NO_CANARY(r->SerializeAsString(), "an initial-state Watch response (bytes)");
      }
      EXPECT_TRUE(complete);
      EXPECT_EQ(observers, 5);
    }

    // Every figure of stats-service, once it has applied everything.
    {
      sv1::GetSummaryRequest summary;
      summary.set_election(parent);
      summary.set_min_revision(head);
      summary.mutable_filter();
      const sv1::GetSummaryResponse s = MUST(figures.GetSummary(summary));
      EXPECT_NO_CANARY(s.DebugString(), "GetSummary");
      EXPECT_NO_CANARY(s.SerializeAsString(), "GetSummary (bytes)");
      for (int d = sv1::DIMENSION_OBSERVER_TYPE; d <= sv1::DIMENSION_GENDER; ++d) {
        sv1::GetBreakdownRequest breakdown;
        breakdown.set_election(parent);
        breakdown.set_dimension(static_cast<sv1::Dimension>(d));
        breakdown.set_min_revision(head);
        const sv1::GetBreakdownResponse b = MUST(figures.GetBreakdown(breakdown));
        EXPECT_NO_CANARY(b.DebugString(), absl::StrCat("GetBreakdown ", sv1::Dimension_Name(d)));
        EXPECT_NO_CANARY(b.SerializeAsString(), absl::StrCat("GetBreakdown bytes ", d));
      }
    }

    EXPECT_NO_CANARY(Scrape(registry), "registry-service /metrics");
    EXPECT_NO_CANARY(Scrape(stats), "stats-service /metrics");
  }

  // The logs, through the shutdown.
  ASSERT_OK_AND_ASSIGN(ExitResult stats_exit, stats.Stop());
  ASSERT_OK_AND_ASSIGN(ExitResult registry_exit, registry.Stop());
  EXPECT_GT(registry.CountInOutput("\"level\":\"debug\""), 0) << "logging at debug level";
  EXPECT_NO_CANARY(registry.output(), "registry-service's output");
  EXPECT_NO_CANARY(registry_exit.output, "registry-service's output at exit");
  EXPECT_NO_CANARY(stats.output(), "stats-service's output");
  EXPECT_NO_CANARY(stats_exit.output, "stats-service's output at exit");
}

// A submitter is confined to its own sending body: other bodies' records answer NOT_FOUND "so
// existence does not leak" (ADR 0008). Submitting a person whose identity document another
// body's observer holds must fail, but must not name that record: the name would confirm that
// this document (this person) is registered, and by whom, to a caller who may not read it.
constexpr char kSubmitterPolicy[] = R"json({
  "name": "submitters",
  "roles": [
    {"name": "registrar", "principals": ["clerk"]},
    {"name": "pii-reader", "principals": ["clerk"]},
    {"name": "submitter", "principals": ["submitter-us"]}
  ],
  "submitters": [{"principal": "submitter-us", "sending_body": "states/US"}],
  "allow_rules": [
    {"name": "registrars-everything", "source": {"roles": ["registrar"]},
     "request": {"paths": ["/observer.registry.v1.RegistryService/*"]}},
    {"name": "submitters-submit", "source": {"roles": ["submitter"]},
     "request": {"paths": ["/observer.registry.v1.RegistryService/CreateObserver",
                           "/observer.registry.v1.RegistryService/GetObserver",
                           "/observer.registry.v1.RegistryService/ListObservers"]}}
  ]
})json";

TEST_F(SecurityPolicyTest, DuplicateDocumentErrorDoesNotRevealOtherBodiesRecordsToASubmitter) {
  WriteFileAtomically(PolicyPath(), kSubmitterPolicy);
  RegistryProcess& registry = StartRegistry({"--authz-policy", PolicyPath()});
  RegistryClient clerk(ChannelAs(registry, "clerk"));
  RegistryClient submitter(ChannelAs(registry, "submitter-us"));
  const rv1::Election election =
      MUST(clerk.CreateElection(FutureElection("confined-dup"))).election();
  // Sent by Germany: outside the submitter's scope.
  const rv1::Observer german =
      MUST(clerk.CreateObserver(
               CreateRequest(election.name(), CanaryObserver(NextSeq(), 'A', kBirthYears[0]))))
          .observer();
  const std::string german_id = german.name().substr(german.name().rfind('/') + 1);
  rv1::GetObserverRequest get;
  get.set_name(german.name());
  ASSERT_THAT(submitter.GetObserver(get), StatusIs(absl::StatusCode::kNotFound))
      << "the record is outside the submitter's scope";

  // Control: the submitter submits for its own body.
  rv1::Observer own = NewObserver(NextSeq(), "US");
  ASSERT_OK(submitter.CreateObserver(CreateRequest(election.name(), own)));

  rv1::Observer same_person = NewObserver(NextSeq(), "US");
  *same_person.mutable_id_document() = german.id_document();
  auto r = submitter.CreateObserver(CreateRequest(election.name(), same_person));
  EXPECT_FALSE(r.ok()) << "one accreditation per document per election";
  EXPECT_NO_CANARY(StatusText(r), "the submitter's duplicate-document error");
  EXPECT_THAT(StatusText(r), Not(HasSubstr(german_id)))
      << "the error names a record the submitter may not see";
}

// ---------------------------------------------------------------------------------------------
// 2. Denied calls.

constexpr char kClerkOnlyPolicy[] = R"json({
  "name": "clerk-only",
  "roles": [{"name": "registrar", "principals": ["clerk"]}],
  "allow_rules": [
    {"name": "registrars-everything", "source": {"roles": ["registrar"]},
     "request": {"paths": ["/observer.registry.v1.RegistryService/*"]}}
  ]
})json";

TEST_F(SecurityPolicyTest, DeniedCallIsRefusedLoggedAndCounted) {
  WriteFileAtomically(PolicyPath(), kClerkOnlyPolicy);
  RegistryProcess& registry = StartRegistry({"--authz-policy", PolicyPath()});
  RegistryClient clerk(ChannelAs(registry, "clerk"));
  RegistryClient stranger(ChannelAs(registry, "stranger"));
  MUST(clerk.CreateElection(FutureElection("denied-base")));
  const int64_t head = MUST(clerk.HeadRevision());
  EXPECT_EQ(Denied(registry, "CreateElection", "policy"), 0);

  auto denied = stranger.CreateElection(FutureElection("denied-1"));
  EXPECT_THAT(denied, StatusIs(absl::StatusCode::kPermissionDenied, "PERMISSION_DENIED"));
  EXPECT_THAT(std::string(denied.status().message()), Not(HasSubstr("registrars-everything")))
      << "no detail about the policy";
  EXPECT_EQ(MUST(clerk.HeadRevision()), head) << "the store changed";
  rv1::GetElectionRequest get;
  get.set_name(ElectionName("denied-1"));
  EXPECT_THAT(clerk.GetElection(get), StatusIs(absl::StatusCode::kNotFound));

  const std::string method = RegistryPath("CreateElection");
  ASSERT_TRUE(registry.WaitForOutput(kDeniedLine, 1, absl::Seconds(5))) << registry.output_tail();
  std::vector<std::string> lines = LinesWith(registry.output(), {kDeniedLine});
  ASSERT_EQ(lines.size(), 1u) << absl::StrJoin(lines, "\n");
  EXPECT_THAT(lines[0], HasSubstr("\"identity\":\"stranger\""));
  EXPECT_THAT(lines[0], HasSubstr(absl::StrCat("\"method\":\"", method, "\"")));
  EXPECT_THAT(lines[0], HasSubstr("\"rule\":"));
  EXPECT_THAT(lines[0], HasSubstr("\"peer\":"));
  EXPECT_EQ(Denied(registry, "CreateElection", "policy"), 1);
  EXPECT_EQ(Denied(registry, "CreateElection", "rate_limit"), 0);

  EXPECT_THAT(stranger.CreateElection(FutureElection("denied-2")),
              StatusIs(absl::StatusCode::kPermissionDenied, "PERMISSION_DENIED"));
  ASSERT_TRUE(registry.WaitForOutput(kDeniedLine, 2, absl::Seconds(5))) << registry.output_tail();
  EXPECT_EQ(Denied(registry, "CreateElection", "policy"), 2);
  EXPECT_EQ(Denied(registry, "GetElection", "policy"), 0) << "counted under its own method";
  EXPECT_EQ(MUST(clerk.HeadRevision()), head) << "the store changed";
  lines = LinesWith(registry.output(), {kDeniedLine, "\"identity\":\"stranger\"", method});
  EXPECT_EQ(lines.size(), 2u) << absl::StrJoin(lines, "\n");

  // A caller without an identity, and a stream.
  RegistryClient anonymous(registry.channel());
  EXPECT_THAT(anonymous.CreateElection(FutureElection("denied-3")),
              StatusIs(absl::StatusCode::kPermissionDenied, "PERMISSION_DENIED"));
  rv1::WatchRequest watch_request;
  watch_request.set_start_revision(1);
  auto watch = stranger.Watch(watch_request);
  EXPECT_THAT(watch->WaitFinished(absl::Seconds(10)),
              StatusIs(absl::StatusCode::kPermissionDenied, "PERMISSION_DENIED"));
  EXPECT_EQ(watch->responses_received(), 0u);
  ASSERT_TRUE(registry.WaitForOutput(kDeniedLine, 4, absl::Seconds(5))) << registry.output_tail();
  EXPECT_EQ(LinesWith(registry.output(), {kDeniedLine, "\"identity\":\"\"", method}).size(), 1u);
  EXPECT_EQ(Denied(registry, "CreateElection", "policy"), 3);
  EXPECT_EQ(Denied(registry, "Watch", "policy"), 1);
  EXPECT_EQ(MUST(clerk.HeadRevision()), head) << "the store changed";
}

// ---------------------------------------------------------------------------------------------
// 3. Rate limit per identity.

TEST_F(SecurityPolicyTest, FloodingIdentityIsThrottledOthersAreNot) {
  constexpr double kRate = 5;
  constexpr int kBurst = 10;
  RegistryProcess& registry = StartRegistry(
      {"--rate-limit", "5", "--rate-limit-burst", "10", "--authz-policy", OpenPolicy()});
  RegistryClient setup(ChannelAs(registry, "setup"));
  RegistryClient flood(ChannelAs(registry, "flood"));
  RegistryClient quiet(ChannelAs(registry, "quiet"));
  const rv1::Election election =
      MUST(setup.CreateElection(FutureElection("rate-limited"))).election();
  rv1::GetElectionRequest get;
  get.set_name(election.name());

  int ok = 0;
  int refused = 0;
  int quiet_ok = 0;
  absl::Duration last_delay;
  const absl::Time start = absl::Now();
  for (int i = 0; i < 60; ++i) {
    absl::StatusOr<rv1::GetElectionResponse> r = flood.GetElection(get);
    if (r.ok()) {
      ++ok;
    } else {
      ++refused;
      EXPECT_THAT(r, StatusIs(absl::StatusCode::kResourceExhausted, "RATE_LIMITED"));
      const std::optional<absl::Duration> delay = GetErrorDetails(r.status()).retry_delay;
      EXPECT_TRUE(delay.has_value()) << DescribeStatus(r.status());
      if (delay.has_value()) {
        EXPECT_GT(*delay, absl::ZeroDuration());
        EXPECT_LE(*delay, absl::Seconds(1));
        last_delay = *delay;
      }
    }
    if (i % 12 == 11) {
      absl::StatusOr<rv1::GetElectionResponse> q = quiet.GetElection(get);
      EXPECT_OK(q) << "another identity is throttled by the flood";
      if (q.ok()) ++quiet_ok;
    }
  }
  const absl::Duration elapsed = absl::Now() - start;
  EXPECT_EQ(quiet_ok, 5);
  EXPECT_GE(ok, kBurst) << "the burst is allowed";
  const int most = kBurst + static_cast<int>(std::ceil(kRate * absl::ToDoubleSeconds(elapsed))) + 1;
  EXPECT_LE(ok, most) << "in " << elapsed;
  EXPECT_EQ(ok + refused, 60);
  ASSERT_GT(refused, 0);

  // A call served after the last refusal may have taken the token that refusal announced (on a
  // slow machine calls are far enough apart for tokens to come back): take the delay of a fresh
  // refusal.
  for (int k = 0; k < 50; ++k) {
    absl::StatusOr<rv1::GetElectionResponse> r = flood.GetElection(get);
    if (r.ok()) {
      ++ok;
      continue;
    }
    ++refused;
    last_delay = GetErrorDetails(r.status()).retry_delay.value_or(absl::Seconds(1));
    break;
  }
  absl::SleepFor(last_delay + absl::Milliseconds(5));
  EXPECT_OK(flood.GetElection(get)) << "after the advertised retry delay (" << last_delay << ")";
  EXPECT_EQ(Denied(registry, "GetElection", "rate_limit"), refused);
  EXPECT_EQ(Denied(registry, "GetElection", "policy"), 0);
}

// stats-service has the same per-identity limit.
TEST_F(SecurityPolicyTest, StatsServiceThrottlesPerIdentityToo) {
  StartRegistry({});
  MUST(RegistryClient(registry_->channel()).CreateElection(FutureElection("stats-limited")));
  StatsProcess& stats =
      StartStats({"--rate-limit", "2", "--rate-limit-burst", "3", "--authz-policy", OpenPolicy()});
  StatsClient flood(ChannelAs(stats, "flood"));
  StatsClient quiet(ChannelAs(stats, "quiet"));
  sv1::GetSummaryRequest summary;
  summary.set_election(ElectionName("stats-limited"));
  int ok = 0;
  int refused = 0;
  const absl::Time start = absl::Now();
  for (int i = 0; i < 12; ++i) {
    absl::StatusOr<sv1::GetSummaryResponse> r = flood.GetSummary(summary);
    if (r.ok()) {
      ++ok;
      continue;
    }
    ++refused;
    EXPECT_THAT(r, StatusIs(absl::StatusCode::kResourceExhausted, "RATE_LIMITED"));
    const std::optional<absl::Duration> delay = GetErrorDetails(r.status()).retry_delay;
    ASSERT_TRUE(delay.has_value()) << DescribeStatus(r.status());
    EXPECT_GT(*delay, absl::ZeroDuration());
    EXPECT_LE(*delay, absl::Seconds(1));
  }
  const absl::Duration elapsed = absl::Now() - start;
  EXPECT_GE(ok, 3) << "the burst is allowed";
  EXPECT_LE(ok, 3 + static_cast<int>(std::ceil(2 * absl::ToDoubleSeconds(elapsed))) + 1)
      << "in " << elapsed;
  EXPECT_EQ(ok + refused, 12);
  EXPECT_OK(quiet.GetSummary(summary)) << "another identity is throttled by the flood";
  EXPECT_EQ(SampleValue(Scrape(stats), "grpc_server_denied_total",
                        {{"grpc_service", "observer.stats.v1.StatsService"},
                         {"grpc_method", "GetSummary"},
                         {"reason", "rate_limit"}})
                .value_or(0),
            refused);
}

// ---------------------------------------------------------------------------------------------
// 4. Page size cap (AIP-158).

TEST_F(SecurityPolicyTest, HugePageSizeIsClampedTo1000) {
  RegistryProcess& registry = StartRegistry({});
  RegistryClient client(registry.channel());
  const rv1::Election election = MUST(client.CreateElection(FutureElection("big-page"))).election();
  for (int rows : {1000, 5}) {
    rv1::BatchCreateObserversRequest batch;
    batch.set_parent(election.name());
    batch.set_all_or_nothing(true);
    for (int i = 0; i < rows; ++i) {
      *batch.add_requests()->mutable_observer() = NewObserver(NextSeq());
    }
    const rv1::BatchCreateObserversResponse r = MUST(client.BatchCreateObservers(batch));
    ASSERT_EQ(r.results_size(), rows);
  }
  rv1::ListObserversRequest list;
  list.set_parent(election.name());
  list.set_page_size(2000000000);
  const rv1::ListObserversResponse first = MUST(client.ListObservers(list));
  EXPECT_EQ(first.observers_size(), 1000);
  ASSERT_FALSE(first.next_page_token().empty());
  list.set_page_token(first.next_page_token());
  const rv1::ListObserversResponse second = MUST(client.ListObservers(list));
  EXPECT_EQ(second.observers_size(), 5);
  EXPECT_TRUE(second.next_page_token().empty());
  std::set<std::string> names;
  for (const auto& o : first.observers()) names.insert(o.name());
  for (const auto& o : second.observers()) names.insert(o.name());
  EXPECT_EQ(names.size(), 1005u);
}

// ---------------------------------------------------------------------------------------------
// 5. The server's default deadline for writes from calls without one.

TEST_F(SecurityPolicyTest, QueuedWriteWithoutDeadlineExpiresAtTheDefaultDeadline) {
  RegistryProcess& registry =
      StartRegistry({"--default-deadline", "500ms", "--store-busy-timeout", "60s"});
  RegistryClient client(registry.channel(), absl::Seconds(30));
  const rv1::Election election =
      MUST(client.CreateElection(FutureElection("default-deadline"))).election();
  std::unique_ptr<rv1::RegistryService::Stub> stub =
      rv1::RegistryService::NewStub(registry.channel());
  // A call without a deadline, cancellable by the test if it never ends.
  grpc::ClientContext no_deadline_context;
  auto create_without_deadline =
      [&](grpc::ClientContext* context,
          const rv1::CreateObserverRequest& req) -> absl::StatusOr<rv1::CreateObserverResponse> {
    rv1::CreateObserverResponse resp;
    const grpc::Status s = stub->CreateObserver(context, req, &resp);
    if (!s.ok()) return FromGrpcStatus(s);
    return resp;
  };

  // Control: without contention a call without a deadline is served.
  {
    grpc::ClientContext context;
    EXPECT_OK(create_without_deadline(&context, NewObserverRequest(election.name(), NextSeq())));
  }

  ASSERT_OK_AND_ASSIGN(std::unique_ptr<StoreWriteLock> lock,
                       StoreWriteLock::Acquire(dir_.Join("registry.db"), absl::ZeroDuration()));
  const rv1::CreateObserverRequest first = NewObserverRequest(election.name(), NextSeq());
  std::future<absl::StatusOr<rv1::CreateObserverResponse>> first_call =
      std::async(std::launch::async, [&] { return client.CreateObserver(first); });
  absl::SleepFor(absl::Milliseconds(300));
  const rv1::CreateObserverRequest second = NewObserverRequest(election.name(), NextSeq());
  std::future<absl::StatusOr<rv1::CreateObserverResponse>> second_call = std::async(
      std::launch::async, [&] { return create_without_deadline(&no_deadline_context, second); });
  absl::SleepFor(absl::Milliseconds(1200));  // Well past the default deadline of the second.
  EXPECT_EQ(first_call.wait_for(std::chrono::seconds(0)), std::future_status::timeout)
      << "the first write did not wait for the lock";
  EXPECT_EQ(second_call.wait_for(std::chrono::seconds(0)), std::future_status::timeout)
      << "the second write did not wait for the lock";
  ASSERT_OK(lock->Release());

  ASSERT_EQ(first_call.wait_for(std::chrono::seconds(20)), std::future_status::ready);
  const absl::StatusOr<rv1::CreateObserverResponse> first_result = first_call.get();
  EXPECT_OK(first_result) << "the caller's own deadline (30 s) had not passed";
  if (second_call.wait_for(std::chrono::seconds(20)) != std::future_status::ready) {
    no_deadline_context.TryCancel();
    ADD_FAILURE() << "the write without a deadline was never answered";
  }
  const absl::StatusOr<rv1::CreateObserverResponse> second_result = second_call.get();
  EXPECT_THAT(second_result, StatusIs(absl::StatusCode::kDeadlineExceeded));

  const std::vector<rv1::Observer> stored = MUST(client.AllObservers(election.name()));
  std::set<std::string> numbers;
  for (const auto& o : stored) numbers.insert(o.id_document().number());
  EXPECT_EQ(stored.size(), 2u);
  EXPECT_EQ(numbers.count(first.observer().id_document().number()), 1u);
  EXPECT_EQ(numbers.count(second.observer().id_document().number()), 0u)
      << "the expired write was applied";
  if (first_result.ok()) {
    EXPECT_EQ(MUST(client.HeadRevision()), first_result->revision());
  }
}

// ---------------------------------------------------------------------------------------------
// 6. The policy file re-read when it changes.

std::string ReloadPolicy(absl::string_view name, bool viewer_creates, bool invalid = false) {
  std::string rules = R"json(
    {"name": "registrars-everything", "source": {"roles": ["registrar"]},
     "request": {"paths": ["/observer.registry.v1.RegistryService/*"]}},
    {"name": "readers-read", "source": {"roles": ["reader"]},
     "request": {"paths": ["/observer.registry.v1.RegistryService/Get*",
                           "/observer.registry.v1.RegistryService/List*"]}})json";
  if (viewer_creates) {
    absl::StrAppend(&rules, R"json(,
    {"name": "viewers-create-elections", "source": {"principals": ["viewer"]},
     "request": {"paths": ["/observer.registry.v1.RegistryService/CreateElection"]}})json");
  }
  if (invalid) {
    // A role no one defined: the whole file is refused.
    absl::StrAppend(&rules, R"json(,
    {"name": "auditors-read", "source": {"roles": ["auditor"]},
     "request": {"paths": ["/observer.registry.v1.RegistryService/Get*"]}})json");
  }
  return absl::StrCat(R"json({
  "name": ")json",
                      name, R"json(",
  "roles": [
    {"name": "registrar", "principals": ["clerk"]},
    {"name": "reader", "principals": ["viewer"]}
  ],
  "allow_rules": [)json",
                      rules, "\n  ]\n}\n");
}

TEST_F(SecurityPolicyTest, ChangedPolicyIsAppliedAndAnInvalidOneIgnored) {
  WriteFileAtomically(PolicyPath(), ReloadPolicy("reload-v1", /*viewer_creates=*/false));
  RegistryProcess& registry = StartRegistry({"--authz-policy", PolicyPath()});
  RegistryClient viewer(ChannelAs(registry, "viewer"));
  int next_id = 0;
  auto viewer_creates = [&] {
    return viewer.CreateElection(FutureElection(absl::StrCat("reload-", next_id++)));
  };
  rv1::ListElectionsRequest list;
  list.set_page_size(1);
  EXPECT_OK(viewer.ListElections(list));
  EXPECT_THAT(viewer_creates(), StatusIs(absl::StatusCode::kPermissionDenied));

  WriteFileAtomically(PolicyPath(), ReloadPolicy("reload-v2", /*viewer_creates=*/true));
  const absl::Time changed = absl::Now();
  EXPECT_TRUE(
      PollUntil([&] { return viewer_creates().ok(); }, absl::Seconds(5), absl::Milliseconds(100)))
      << "the allowing policy was not applied";
  const absl::Duration took = absl::Now() - changed;
  EXPECT_LE(took, absl::Seconds(5));
  EXPECT_EQ(LinesWith(registry.output(), {"policy reloaded", "reload-v2"}).size(), 1u)
      << "the reload is logged";

  // An invalid version (one that would deny the viewer, were it applied) is logged and ignored.
  WriteFileAtomically(PolicyPath(), ReloadPolicy("reload-broken", /*viewer_creates=*/false,
                                                 /*invalid=*/true));
  EXPECT_TRUE(PollUntil(
      [&] {
        (void)viewer.ListElections(list);  // The file is checked on calls.
        return registry.CountInOutput(kInvalidPolicyLine) > 0;
      },
      absl::Seconds(6), absl::Milliseconds(100)))
      << "the invalid policy was not reported";
  std::vector<std::string> lines = LinesWith(registry.output(), {kInvalidPolicyLine});
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_THAT(lines[0], HasSubstr("auditor")) << "the error says what is wrong";
  EXPECT_OK(viewer_creates()) << "the previous policy stays in force";
  EXPECT_OK(viewer.ListElections(list));

  // Reloading still works after an invalid version: deny the viewer again.
  WriteFileAtomically(PolicyPath(), ReloadPolicy("reload-v3", /*viewer_creates=*/false));
  EXPECT_TRUE(PollUntil(
      [&] {
        absl::StatusOr<rv1::CreateElectionResponse> r = viewer_creates();
        return r.status().code() == absl::StatusCode::kPermissionDenied;
      },
      absl::Seconds(5), absl::Milliseconds(100)))
      << "the fixed policy was not applied";
  EXPECT_OK(viewer.ListElections(list));
  EXPECT_EQ(registry.CountInOutput(kInvalidPolicyLine), 1) << "reported once";
}

}  // namespace
}  // namespace observer::testing
