// observer-load-example: loads the example data set (Kazakhstan, 10 Jan 2021) into a running
// registry-service through its public gRPC API, then reads the accredited observers back and
// prints the breakdowns the CEC published.
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
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "common/country_codes.h"
#include "common/errors.h"
#include "common/grpc_status.h"
#include "common/proto_time.h"
#include "observer/registry/v1/registry_service.grpc.pb.h"
#include "tools/example-data/kz2021_dataset.h"

ABSL_FLAG(std::string, registry, "127.0.0.1:50051", "Address of registry-service (host:port).");
ABSL_FLAG(int, wait, 30, "Seconds to wait for registry-service to accept connections.");

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
  std::cerr << "error: " << what << " failed: " << absl::StatusCodeToString(status.code());
  if (!status.message().empty()) std::cerr << ": " << status.message();
  std::cerr << "\n";
  const ErrorDetails d = GetErrorDetails(status);
  if (!d.reason.empty()) std::cerr << "  reason: " << d.reason << "\n";
  for (const auto& [k, v] : d.metadata) std::cerr << "  " << k << ": " << v << "\n";
  for (const auto& v : d.violations) {
    std::cerr << "  field " << v.field << ": " << v.description << "\n";
  }
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

// Display width of UTF-8 text: one column per code point (enough for the names printed here).
std::size_t Width(absl::string_view s) {
  std::size_t n = 0;
  for (char c : s) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  }
  return n;
}

class Table {
 public:
  // `right` marks the columns aligned to the right (numbers).
  Table(std::vector<std::string> header, std::vector<bool> right)
      : header_(std::move(header)), right_(std::move(right)) {}
  void Add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  void AddRule() { rows_.push_back({}); }

  void Print(std::ostream& out) const {
    std::vector<std::size_t> width(header_.size(), 0);
    auto measure = [&width](const std::vector<std::string>& row) {
      for (std::size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], Width(row[i]));
    };
    measure(header_);
    for (const auto& row : rows_) measure(row);
    std::size_t total = 0;
    for (std::size_t w : width) total += w;
    total += 2 * (width.size() - 1);
    auto print = [&](const std::vector<std::string>& row) {
      std::string line = "  ";
      for (std::size_t i = 0; i < row.size(); ++i) {
        const std::string pad(width[i] - Width(row[i]), ' ');
        if (i > 0) line += "  ";
        line += right_[i] ? pad + row[i] : row[i] + pad;
      }
      while (!line.empty() && line.back() == ' ') line.pop_back();
      out << line << "\n";
    };
    print(header_);
    out << "  " << std::string(total, '-') << "\n";
    for (const auto& row : rows_) {
      if (row.empty()) {
        out << "  " << std::string(total, '-') << "\n";
      } else {
        print(row);
      }
    }
  }

 private:
  std::vector<std::string> header_;
  std::vector<bool> right_;
  std::vector<std::vector<std::string>> rows_;
};

std::string Plural(int n, absl::string_view one, absl::string_view many) {
  return absl::StrCat(n, " ", n == 1 ? one : many);
}

// --------------------------------------------------------------------------------------------
// Loading.

class Loader {
 public:
  Loader(Stub* stub, const ExampleDataSet& data) : stub_(stub), data_(data) {}

  absl::Status CreateElection() {
    v1::CreateElectionRequest req;
    *req.mutable_election() = data_.election;
    req.set_election_id(data_.election_id);
    req.set_request_id(absl::StrCat(data_.election_id, "/create-election"));
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
      v1::CreateOrganisationRequest req;
      *req.mutable_organisation() = po.organisation;
      req.set_organisation_code(po.code);
      req.set_request_id(absl::StrCat(data_.election_id, "/create-organisation/", po.code));
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
    for (const Submission& sub : data_.submissions) {
      // A submission is one note; the data set keeps each within the 1000-row limit.
      for (std::size_t begin = 0; begin < sub.observers.size(); begin += 1000) {
        const std::size_t end = std::min(sub.observers.size(), begin + 1000);
        v1::BatchCreateObserversRequest req;
        req.set_parent(ElectionName());
        req.set_all_or_nothing(true);
        req.set_request_id(begin == 0 ? sub.request_id : absl::StrCat(sub.request_id, "/", begin));
        for (std::size_t i = begin; i < end; ++i) {
          *req.add_requests()->mutable_observer() = data_.observers[sub.observers[i]].observer;
        }
        v1::BatchCreateObserversResponse resp;
        auto ctx = NewContext();
        const std::string what =
            absl::StrCat("BatchCreateObservers ", sub.request_id, " (\"", sub.reference, "\")");
        absl::Status s = FromGrpcStatus(stub_->BatchCreateObservers(ctx.get(), req, &resp));
        if (!s.ok()) return Fail(what, s);
        if (resp.results_size() != req.requests_size()) {
          return Fail(what, absl::InternalError(absl::StrCat("the response has ",
                                                             resp.results_size(), " results for ",
                                                             req.requests_size(), " rows")));
        }
        for (int r = 0; r < resp.results_size(); ++r) {
          const std::size_t index = sub.observers[begin + static_cast<std::size_t>(r)];
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
        v1::AccreditObserverRequest req;
        req.set_name(names_[i]);
        *req.mutable_decision_time() = ToProto(p.decision_time);
        req.set_decision_reference(p.decision_reference);
        req.set_request_id(absl::StrCat(data_.election_id, "/accredit/", p.key));
        v1::AccreditObserverResponse resp;
        auto ctx = NewContext();
        s = FromGrpcStatus(stub_->AccreditObserver(ctx.get(), req, &resp));
        if (!s.ok()) return Fail(absl::StrCat("AccreditObserver ", names_[i], " (", p.key, ")"), s);
        result = resp.observer();
        ++per_meeting[p.meeting].accredited;
        if (p.observer.test()) ++per_meeting[p.meeting].test;
      } else if (p.target_status == v1::OBSERVER_STATUS_REJECTED) {
        v1::RejectObserverRequest req;
        req.set_name(names_[i]);
        *req.mutable_decision_time() = ToProto(p.decision_time);
        req.set_decision_reference(p.decision_reference);
        req.set_reason(p.reason);
        req.set_request_id(absl::StrCat(data_.election_id, "/reject/", p.key));
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

  // All accredited, non-test observers, page by page.
  absl::Status ListAccredited(std::vector<v1::Observer>* out, int64_t* revision) {
    v1::ListObserversRequest req;
    req.set_parent(ElectionName());
    req.set_page_size(kListPageSize);
    req.set_filter("status = ACCREDITED AND test = false");
    std::set<std::string> seen_tokens, seen_names;
    int unexpected = 0;
    for (;;) {
      v1::ListObserversResponse resp;
      auto ctx = NewContext();
      absl::Status s = FromGrpcStatus(stub_->ListObservers(ctx.get(), req, &resp));
      if (!s.ok()) return Fail("ListObservers", s);
      *revision = std::max(*revision, resp.revision());
      for (const auto& o : resp.observers()) {
        if (o.status() != v1::OBSERVER_STATUS_ACCREDITED || o.test()) {
          ++unexpected;  // The server's filter let it through; do not count it.
          continue;
        }
        if (!seen_names.insert(o.name()).second) {
          std::cerr << "warning: ListObservers returned " << o.name() << " twice\n";
          continue;
        }
        out->push_back(o);
      }
      if (resp.next_page_token().empty()) break;
      if (!seen_tokens.insert(resp.next_page_token()).second) {
        return Fail("ListObservers", absl::InternalError("the server repeated a page token"));
      }
      req.set_page_token(resp.next_page_token());
    }
    if (unexpected > 0) {
      std::cerr << "warning: ListObservers returned " << unexpected
                << " records that do not match the filter; they are not counted\n";
    }
    return absl::OkStatus();
  }

  absl::Status OrganisationNames(std::map<std::string, std::string>* names) {
    v1::ListOrganisationsRequest req;
    req.set_page_size(kListPageSize);
    std::set<std::string> seen_tokens;
    for (;;) {
      v1::ListOrganisationsResponse resp;
      auto ctx = NewContext();
      absl::Status s = FromGrpcStatus(stub_->ListOrganisations(ctx.get(), req, &resp));
      if (!s.ok()) return Fail("ListOrganisations", s);
      for (const auto& o : resp.organisations()) {
        std::string code = o.name();
        if (absl::StartsWith(code, kOrgPrefix)) code = code.substr(kOrgPrefix.size());
        (*names)[code] = o.names().en();
      }
      if (resp.next_page_token().empty()) break;
      if (!seen_tokens.insert(resp.next_page_token()).second) {
        return Fail("ListOrganisations", absl::InternalError("the server repeated a page token"));
      }
      req.set_page_token(resp.next_page_token());
    }
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
// Breakdowns.

void PrintBreakdowns(const std::vector<v1::Observer>& observers, int64_t revision,
                     const std::map<std::string, std::string>& org_names) {
  std::map<std::string, int> by_org, by_state;
  int from_orgs = 0, from_states = 0, other = 0;
  for (const auto& o : observers) {
    if (o.sending_body().has_organisation()) {
      std::string code = o.sending_body().organisation();
      if (absl::StartsWith(code, kOrgPrefix)) code = code.substr(kOrgPrefix.size());
      ++by_org[code];
      ++from_orgs;
    } else if (o.sending_body().has_state()) {
      ++by_state[o.sending_body().state()];
      ++from_states;
    } else {
      ++other;
    }
  }
  const int total = static_cast<int>(observers.size());
  const int orgs = static_cast<int>(by_org.size());
  const int states = static_cast<int>(by_state.size());

  std::cout << "\n"
            << Plural(total, "observer", "observers") << " accredited: " << from_orgs << " from "
            << Plural(orgs, "international organisation", "international organisations") << ", "
            << from_states << " from " << Plural(states, "foreign state", "foreign states") << "\n";
  if (other > 0) std::cout << "(" << other << " without a sending body)\n";
  std::cout << "(store revision " << revision << "; test records and records not accredited "
            << "are left out)\n";
  if (total == 398 && from_orgs == 322 && orgs == 10 && from_states == 76 && states == 31) {
    std::cout << "These are the figures the Central Election Commission published on 4 Jan 2021.\n";
  } else {
    std::cout << "Note: the CEC published 398 = 322 from 10 organisations + 76 from 31 states; "
                 "this registry holds other records as well.\n";
  }

  auto by_count = [](const std::map<std::string, int>& m) {
    std::vector<std::pair<std::string, int>> v(m.begin(), m.end());
    std::stable_sort(v.begin(), v.end(),
                     [](const auto& a, const auto& b) { return a.second > b.second; });
    return v;
  };

  std::cout << "\nBy international organisation\n";
  Table orgs_table({"CODE", "ORGANISATION", "OBSERVERS", "SHARE"}, {false, false, true, true});
  for (const auto& [code, n] : by_count(by_org)) {
    auto it = org_names.find(code);
    orgs_table.Add({code, it == org_names.end() ? "" : it->second, absl::StrCat(n),
                    absl::StrFormat("%.1f%%", 100.0 * n / std::max(1, from_orgs))});
  }
  orgs_table.AddRule();
  orgs_table.Add({"total", Plural(orgs, "organisation", "organisations"), absl::StrCat(from_orgs),
                  from_orgs > 0 ? "100.0%" : "-"});
  orgs_table.Print(std::cout);

  // Names from Debian's iso-codes; codes alone if it cannot be read.
  const absl::StatusOr<CountryCodes> countries = CountryCodes::Load(kDefaultCountryCodesPath);
  if (!countries.ok()) std::cerr << "warning: " << countries.status().message() << "\n";
  std::cout << "\nBy sending state\n";
  Table states_table({"CODE", "STATE", "OBSERVERS"}, {false, false, true});
  for (const auto& [code, n] : by_count(by_state)) {
    states_table.Add({code, countries.ok() ? countries->Name(code) : "", absl::StrCat(n)});
  }
  states_table.AddRule();
  states_table.Add({"total", Plural(states, "state", "states"), absl::StrCat(from_states)});
  states_table.Print(std::cout);
}

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

  grpc::ChannelArguments args;
  // Retry connecting often while the server starts.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 200);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 200);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  auto channel = grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
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

  std::vector<v1::Observer> accredited;
  int64_t revision = 0;
  if (!loader.ListAccredited(&accredited, &revision).ok()) return 1;
  std::map<std::string, std::string> org_names;
  if (!loader.OrganisationNames(&org_names).ok()) return 1;
  PrintBreakdowns(accredited, revision, org_names);
  return 0;
}

}  // namespace
}  // namespace observer::example

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Loads the example data set (foreign observers of Kazakhstan's elections of 10 Jan 2021) "
      "into registry-service and prints the breakdowns.\n"
      "Usage: observer-load-example [--registry=127.0.0.1:50051] [--wait=30]");
  absl::FlagsUsageConfig usage;
  usage.contains_help_flags = [](absl::string_view path) {
    return absl::StrContains(path, "load_example");
  };
  usage.contains_helpshort_flags = usage.contains_help_flags;
  absl::SetFlagsUsageConfig(usage);
  const std::vector<char*> rest = absl::ParseCommandLine(argc, argv);
  if (rest.size() > 1) {
    std::cerr << "error: unexpected argument " << rest[1] << " (see --help)\n";
    return 2;
  }
  return observer::example::Run();
}
