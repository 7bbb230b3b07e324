// observer-load-example: loads the example data set (Kazakhstan, 10 Jan 2021) into a running
// registry-service through its public gRPC API, then asks stats-service (which follows the
// registry's change stream) for the summary and the breakdowns the CEC published.
//
// Re-running is harmless: every write carries a request_id derived from the data, so a repeat
// returns the original response and creates nothing twice.
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "common/config.h"
#include "common/country_codes.h"
#include "common/errors.h"
#include "common/grpc_status.h"
#include "common/proto_time.h"
#include "common/status_macros.h"
#include "common/tls.h"
#include "observer/registry/v1/registry_service.grpc.pb.h"
#include "observer/stats/v1/stats_service.grpc.pb.h"
#include "tools/example-data/kz2021_dataset.h"
#include "tools/observerctl/output.h"

ABSL_FLAG(std::string, registry, "127.0.0.1:50051", "Address of registry-service (host:port).");
ABSL_FLAG(std::string, stats, "127.0.0.1:50052", "Address of stats-service (host:port).");
ABSL_FLAG(int, wait, 30, "Seconds to wait for registry-service to accept connections.");
ABSL_FLAG(std::string, tls_cert, "",
          "Client certificate (PEM) for mutual TLS; with --tls-key and --tls-ca. Without the "
          "three: plaintext (services started with --insecure-loopback)");
ABSL_FLAG(std::string, tls_key, "", "Private key (PEM) of --tls-cert");
ABSL_FLAG(std::string, tls_ca, "", "CA certificates (PEM) that sign the services' certificates");
ABSL_FLAG(std::string, tls_server_name, "",
          "Name to check the services' certificates against (default: the address's host)");

namespace observer::example {
namespace {

namespace v1 = ::observer::registry::v1;
using Stub = v1::RegistryService::Stub;

constexpr int kCallTimeoutSeconds = 30;
constexpr int kListPageSize = 100;
constexpr absl::string_view kOrgPrefix = "organisations/";

// --------------------------------------------------------------------------------------------
// Errors.

// Prints a failed call with its code, reason, metadata and field violations.
void PrintError(absl::string_view what, const absl::Status& status) {
  std::cerr << ctl::DescribeError(absl::StrCat(what, " failed"), status);
}

void PrintRowError(absl::string_view what, const v1::BatchRowStatus& row) {
  std::cerr << "error: " << what
            << " failed: " << absl::StatusCodeToString(static_cast<absl::StatusCode>(row.code()));
  if (!row.message().empty()) std::cerr << ": " << row.message();
  std::cerr << "\n";
  if (!row.reason().empty()) std::cerr << "  reason: " << row.reason() << "\n";
  for (const auto& v : row.field_violations()) {
    std::cerr << "  field " << v.field() << ": " << v.description() << "\n";
  }
}

std::unique_ptr<grpc::ClientContext> NewContext() {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(kCallTimeoutSeconds));
  return ctx;
}

// --------------------------------------------------------------------------------------------
// Output.

using ctl::Table;

std::string Plural(int n, absl::string_view one, absl::string_view many) {
  return absl::StrCat(n, " ", n == 1 ? one : many);
}

// --------------------------------------------------------------------------------------------
// Loading.

class Loader {
 public:
  Loader(Stub* stub, const ExampleDataSet& data) : stub_(stub), data_(data) {}

  absl::Status CreateElection() {
    const v1::CreateElectionRequest req = CreateElectionRequestFor(data_);
    v1::CreateElectionResponse resp;
    auto ctx = NewContext();
    absl::Status s = FromGrpcStatus(stub_->CreateElection(ctx.get(), req, &resp));
    v1::Election election;
    if (s.ok()) {
      election = resp.election();
      std::cout << "election " << election.name() << ": ready\n";
    } else if (s.code() == absl::StatusCode::kAlreadyExists) {
      v1::GetElectionRequest get;
      get.set_name(ElectionName());
      v1::GetElectionResponse got;
      auto get_ctx = NewContext();
      absl::Status g = FromGrpcStatus(stub_->GetElection(get_ctx.get(), get, &got));
      if (!g.ok()) return Fail("GetElection " + ElectionName(), g);
      election = got.election();
      std::cout << "election " << election.name()
                << ": already exists (created outside this loader)\n";
    } else {
      return Fail("CreateElection " + data_.election_id, s);
    }
    const absl::Time deadline = FromProto(election.accreditation_deadline());
    std::cout << "  accreditation deadline " << FormatUtc(deadline) << std::endl;
    if (deadline != Kz2021Deadline()) {
      std::cerr << "warning: expected the accreditation deadline " << FormatUtc(Kz2021Deadline())
                << " (18:00 Asia/Almaty on voting day minus 6 days)\n";
    }
    return absl::OkStatus();
  }

  absl::Status CreateOrganisations() {
    int created = 0, existing = 0;
    for (const PlannedOrganisation& po : data_.organisations) {
      const v1::CreateOrganisationRequest req = CreateOrganisationRequestFor(data_, po);
      v1::CreateOrganisationResponse resp;
      auto ctx = NewContext();
      absl::Status s = FromGrpcStatus(stub_->CreateOrganisation(ctx.get(), req, &resp));
      if (s.ok()) {
        ++created;
      } else if (s.code() == absl::StatusCode::kAlreadyExists) {
        ++existing;
      } else {
        return Fail("CreateOrganisation " + po.code, s);
      }
    }
    std::cout << "organisations: " << created + existing << " ready";
    if (existing > 0) std::cout << " (" << existing << " already existed)";
    std::cout << std::endl;
    return absl::OkStatus();
  }

  absl::Status CreateObservers() {
    names_.assign(data_.observers.size(), "");
    for (const ObserverBatch& batch : ObserverBatchesFor(data_)) {
      const Submission& sub = *batch.submission;
      const v1::BatchCreateObserversRequest& req = batch.request;
      v1::BatchCreateObserversResponse resp;
      auto ctx = NewContext();
      const std::string what =
          absl::StrCat("BatchCreateObservers ", sub.request_id, " (\"", sub.reference, "\")");
      absl::Status s = FromGrpcStatus(stub_->BatchCreateObservers(ctx.get(), req, &resp));
      if (!s.ok()) return Fail(what, s);
      if (resp.results_size() != req.requests_size()) {
        return Fail(
            what, absl::InternalError(absl::StrCat("the response has ", resp.results_size(),
                                                   " results for ", req.requests_size(), " rows")));
      }
      for (int r = 0; r < resp.results_size(); ++r) {
        const std::size_t index = batch.observers[static_cast<std::size_t>(r)];
        const auto& result = resp.results(r);
        if (result.status().code() != 0) {
          PrintRowError(absl::StrCat(what, " row ", r, " (", data_.observers[index].key, ")"),
                        result.status());
          return absl::UnknownError("batch row failed");
        }
        if (result.observer().name().empty()) {
          return Fail(what, absl::InternalError(absl::StrCat("row ", r, " has no name")));
        }
        names_[index] = result.observer().name();
      }
    }
    std::cout << "observers: " << data_.observers.size() << " submissions recorded in "
              << data_.submissions.size() << " notes" << std::endl;
    return absl::OkStatus();
  }

  absl::Status Decide() {
    std::vector<std::size_t> order;
    for (std::size_t i = 0; i < data_.observers.size(); ++i) {
      if (data_.observers[i].meeting > 0) order.push_back(i);
    }
    std::stable_sort(order.begin(), order.end(), [this](std::size_t a, std::size_t b) {
      return data_.observers[a].meeting < data_.observers[b].meeting;
    });
    struct Tally {
      int accredited = 0, rejected = 0, test = 0;
    };
    std::map<int, Tally> per_meeting;
    for (std::size_t i : order) {
      const PlannedObserver& p = data_.observers[i];
      absl::Status s;
      v1::Observer result;
      if (p.target_status == v1::OBSERVER_STATUS_ACCREDITED) {
        const v1::AccreditObserverRequest req = AccreditRequestFor(data_, p, names_[i]);
        v1::AccreditObserverResponse resp;
        auto ctx = NewContext();
        s = FromGrpcStatus(stub_->AccreditObserver(ctx.get(), req, &resp));
        if (!s.ok()) return Fail(absl::StrCat("AccreditObserver ", names_[i], " (", p.key, ")"), s);
        result = resp.observer();
        ++per_meeting[p.meeting].accredited;
        if (p.observer.test()) ++per_meeting[p.meeting].test;
      } else if (p.target_status == v1::OBSERVER_STATUS_REJECTED) {
        const v1::RejectObserverRequest req = RejectRequestFor(data_, p, names_[i]);
        v1::RejectObserverResponse resp;
        auto ctx = NewContext();
        s = FromGrpcStatus(stub_->RejectObserver(ctx.get(), req, &resp));
        if (!s.ok()) return Fail(absl::StrCat("RejectObserver ", names_[i], " (", p.key, ")"), s);
        result = resp.observer();
        ++per_meeting[p.meeting].rejected;
      } else {
        continue;
      }
      if (result.status() != p.target_status) {
        std::cerr << "warning: " << names_[i] << " (" << p.key << ") is "
                  << v1::ObserverStatus_Name(result.status()) << " after the decision, expected "
                  << v1::ObserverStatus_Name(p.target_status) << "\n";
      }
    }
    const absl::TimeZone almaty = Almaty();
    for (const Meeting& m : data_.meetings) {
      const Tally& t = per_meeting[m.number];
      std::cout << "meeting " << m.number << "  "
                << absl::FormatTime("%Y-%m-%d %H:%M %Ez", m.time, almaty) << "  "
                << absl::StrFormat("%-24s", m.decision_reference) << " " << t.accredited
                << " accredited";
      if (t.test > 0) std::cout << " (" << Plural(t.test, "test record", "test records") << ")";
      if (t.rejected > 0) std::cout << ", " << t.rejected << " rejected";
      std::cout << "\n";
    }
    return absl::OkStatus();
  }

  // The store revision after every write above: what the statistics must reflect.
  absl::Status HeadRevision(int64_t* revision) {
    v1::GetElectionRequest req;
    req.set_name(ElectionName());
    v1::GetElectionResponse resp;
    auto ctx = NewContext();
    absl::Status s = FromGrpcStatus(stub_->GetElection(ctx.get(), req, &resp));
    if (!s.ok()) return Fail("GetElection", s);
    *revision = resp.revision();
    return absl::OkStatus();
  }

 private:
  std::string ElectionName() const { return absl::StrCat("elections/", data_.election_id); }

  static absl::Status Fail(absl::string_view what, const absl::Status& s) {
    PrintError(what, s);
    return s;
  }

  static absl::TimeZone Almaty() {
    absl::TimeZone tz;
    if (!absl::LoadTimeZone("Asia/Almaty", &tz)) tz = absl::FixedTimeZone(6 * 3600);
    return tz;
  }

  Stub* stub_;
  const ExampleDataSet& data_;
  std::vector<std::string> names_;  // Resource names, parallel to data_.observers.
};

// --------------------------------------------------------------------------------------------
// Breakdowns, as stats-service computes them from the registry's change stream.

class Report {
 public:
  Report(stats::v1::StatsService::Stub* stub, std::string election, int64_t revision)
      : stub_(stub), election_(std::move(election)), revision_(revision) {}

  absl::Status Print() {
    stats::v1::GetSummaryRequest req;
    req.set_election(election_);
    req.set_min_revision(revision_);
    stats::v1::GetSummaryResponse resp;
    auto ctx = NewContext();
    absl::Status s = FromGrpcStatus(stub_->GetSummary(ctx.get(), req, &resp));
    if (!s.ok()) return Fail("GetSummary", s);
    const stats::v1::Summary& sum = resp.summary();
    std::cout << "\n"
              << Plural(sum.observers(), "observer", "observers")
              << " accredited: " << sum.organisation_observers() << " from "
              << Plural(sum.organisations(), "international organisation",
                        "international organisations")
              << ", " << sum.state_observers() << " from "
              << Plural(sum.states(), "foreign state", "foreign states") << "\n";
    std::cout << "(stats-service at registry revision " << resp.revision()
              << "; test records and records not accredited are left out)\n";
    if (sum.observers() == 398 && sum.organisation_observers() == 322 &&
        sum.organisations() == 10 && sum.state_observers() == 76 && sum.states() == 31) {
      std::cout << "These are the figures the Central Election Commission published on 4 Jan "
                   "2021.\n";
    } else {
      std::cout << "Note: the CEC published 398 = 322 from 10 organisations + 76 from 31 states; "
                   "this registry holds other records as well.\n";
    }

    RETURN_IF_ERROR(Breakdown("By international organisation", stats::v1::DIMENSION_ORGANISATION,
                              "", {"CODE", "ORGANISATION", "OBSERVERS", "SHARE"}));
    RETURN_IF_ERROR(Breakdown("By region of the sending state (UN M49, from ICU)",
                              stats::v1::DIMENSION_REGION, "m49-continent",
                              {"M49", "REGION", "STATES", "OBSERVERS", "SHARE"}));
    if (HasScheme(kArticleScheme)) {
      RETURN_IF_ERROR(Breakdown("By region as grouped in the CEC's report",
                                stats::v1::DIMENSION_REGION, std::string(kArticleScheme),
                                {"GROUP", "REGION", "STATES", "OBSERVERS", "SHARE"}));
    }
    return Breakdown("By sending state", stats::v1::DIMENSION_SENDING_STATE, "",
                     {"CODE", "STATE", "OBSERVERS", "SHARE"});
  }

 private:
  static constexpr absl::string_view kArticleScheme = "kz2021-article";

  bool HasScheme(absl::string_view name) {
    stats::v1::ListRegionSchemesResponse resp;
    auto ctx = NewContext();
    if (!stub_->ListRegionSchemes(ctx.get(), {}, &resp).ok()) return false;
    for (const auto& scheme : resp.schemes()) {
      if (scheme.name() == name) return true;
    }
    return false;
  }

  // One table; a header of five columns adds the distinct-sources (states) column.
  absl::Status Breakdown(absl::string_view title, stats::v1::Dimension dimension,
                         const std::string& scheme, std::vector<std::string> header) {
    stats::v1::GetBreakdownRequest req;
    req.set_election(election_);
    req.set_dimension(dimension);
    req.set_region_scheme(scheme);
    req.set_min_revision(revision_);
    stats::v1::GetBreakdownResponse resp;
    auto ctx = NewContext();
    absl::Status s = FromGrpcStatus(stub_->GetBreakdown(ctx.get(), req, &resp));
    if (!s.ok()) return Fail(absl::StrCat("GetBreakdown ", title), s);
    const bool distinct = header.size() == 5;
    std::vector<bool> right(header.size(), true);
    right[0] = right[1] = false;
    Table table(std::move(header), std::move(right));
    int64_t sources = 0;
    for (const auto& row : resp.breakdown().rows()) {
      std::vector<std::string> cells = {row.key().empty() ? "-" : row.key(), row.display_name()};
      if (distinct) cells.push_back(absl::StrCat(row.distinct_sources()));
      cells.push_back(absl::StrCat(row.count()));
      cells.push_back(absl::StrFormat("%.1f%%", 100.0 * row.share()));
      table.Add(std::move(cells));
      sources += row.distinct_sources();
    }
    table.AddRule();
    std::vector<std::string> total = {"total", Plural(resp.breakdown().rows_size(), "row", "rows")};
    if (distinct) total.push_back(absl::StrCat(sources));
    total.push_back(absl::StrCat(resp.breakdown().total()));
    total.push_back(resp.breakdown().total() > 0 ? "100.0%" : "-");
    table.Add(std::move(total));
    std::cout << "\n" << title << "\n";
    table.Print(std::cout);
    return absl::OkStatus();
  }

  static absl::Status Fail(absl::string_view what, const absl::Status& s) {
    PrintError(what, s);
    return s;
  }

  stats::v1::StatsService::Stub* stub_;
  std::string election_;
  int64_t revision_;
};

int Run() {
  const std::string address = absl::GetFlag(FLAGS_registry);
  const int wait = absl::GetFlag(FLAGS_wait);
  if (address.empty()) {
    std::cerr << "error: --registry must not be empty\n";
    return 2;
  }
  if (wait < 0) {
    std::cerr << "error: --wait must not be negative\n";
    return 2;
  }

  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
  const observer::TlsFiles tls{absl::GetFlag(FLAGS_tls_cert), absl::GetFlag(FLAGS_tls_key),
                               absl::GetFlag(FLAGS_tls_ca), absl::Seconds(10)};
  if (!tls.cert.empty() || !tls.key.empty() || !tls.ca.empty()) {
    if (absl::Status files = observer::CheckTlsFiles(tls, "tls-"); !files.ok()) {
      std::cerr << "error: " << files.message() << "\n";
      return 2;
    }
    credentials = observer::MutualTlsChannelCredentials(tls);
  }
  grpc::ChannelArguments args;
  if (const std::string name = absl::GetFlag(FLAGS_tls_server_name); !name.empty()) {
    args.SetSslTargetNameOverride(name);
  }
  // Retry connecting often while the server starts.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 200);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 200);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  auto channel = grpc::CreateCustomChannel(address, credentials, args);
  std::cout << "connecting to registry-service at " << address << " ..." << std::endl;
  if (!channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(wait))) {
    std::cerr << "error: registry-service at " << address << " is not reachable (waited " << wait
              << " s). Is it running and listening there?\n";
    return 2;
  }
  auto stub = v1::RegistryService::NewStub(channel);

  const ExampleDataSet& data = Kz2021DataSet();
  Loader loader(stub.get(), data);
  if (!loader.CreateElection().ok()) return 1;
  if (!loader.CreateOrganisations().ok()) return 1;
  if (!loader.CreateObservers().ok()) return 1;
  if (!loader.Decide().ok()) return 1;

  int64_t revision = 0;
  if (!loader.HeadRevision(&revision).ok()) return 1;

  const std::string stats_address = absl::GetFlag(FLAGS_stats);
  auto stats_channel = grpc::CreateCustomChannel(stats_address, credentials, args);
  std::cout << "\nasking stats-service at " << stats_address << " (revision " << revision << ") ..."
            << std::endl;
  if (!stats_channel->WaitForConnected(std::chrono::system_clock::now() +
                                       std::chrono::seconds(wait))) {
    std::cerr << "error: stats-service at " << stats_address << " is not reachable (waited " << wait
              << " s). Is it running and listening there?\n";
    return 2;
  }
  auto stats_stub = stats::v1::StatsService::NewStub(stats_channel);
  Report report(stats_stub.get(), absl::StrCat("elections/", data.election_id), revision);
  if (!report.Print().ok()) return 1;
  return 0;
}

}  // namespace
}  // namespace observer::example

int main(int argc, char** argv) {
  // Flags with environment fallbacks (OBSERVER_EXAMPLE_REGISTRY, ...), as the services have;
  // --help exits 0, a bad flag or an argument exits 2.
  observer::ParseFlagsWithEnv(
      argc, argv, "OBSERVER_EXAMPLE",
      "Loads the example data set (foreign observers of Kazakhstan's elections of 10 Jan 2021) "
      "into registry-service and prints the breakdowns stats-service computes from it.\n"
      "Usage: observer-load-example [--registry=127.0.0.1:50051] [--stats=127.0.0.1:50052] "
      "[--wait=30]");
  return observer::example::Run();
}
