#include "tests/harness/example_data.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/harness/builders.h"
#include "tests/harness/status_matchers.h"
#include "tools/example-data/kz2021_dataset.h"

namespace observer::testing {

absl::StatusOr<int64_t> LoadKz2021DataSet(RegistryClient& client, int threads) {
  const example::ExampleDataSet& data = example::Kz2021DataSet();
  const std::string election = ElectionName(data.election_id);
  int64_t revision = 0;
  auto note = [&revision](int64_t r) { revision = std::max(revision, r); };

  rv1::CreateElectionRequest create_election;
  *create_election.mutable_election() = data.election;
  create_election.set_election_id(data.election_id);
  create_election.set_request_id(absl::StrCat(data.election_id, "/create-election"));
  absl::StatusOr<rv1::CreateElectionResponse> e = client.CreateElection(create_election);
  if (!e.ok()) return e.status();
  note(e->revision());

  for (const example::PlannedOrganisation& po : data.organisations) {
    rv1::CreateOrganisationRequest req;
    *req.mutable_organisation() = po.organisation;
    req.set_organisation_code(po.code);
    req.set_request_id(absl::StrCat(data.election_id, "/create-organisation/", po.code));
    absl::StatusOr<rv1::CreateOrganisationResponse> r = client.CreateOrganisation(req);
    if (!r.ok()) return r.status();
    note(r->revision());
  }

  std::vector<std::string> names(data.observers.size());
  for (const example::Submission& sub : data.submissions) {
    for (size_t begin = 0; begin < sub.observers.size(); begin += 1000) {
      const size_t end = std::min(sub.observers.size(), begin + 1000);
      rv1::BatchCreateObserversRequest req;
      req.set_parent(election);
      req.set_all_or_nothing(true);
      req.set_request_id(begin == 0 ? sub.request_id : absl::StrCat(sub.request_id, "/", begin));
      for (size_t i = begin; i < end; ++i) {
        *req.add_requests()->mutable_observer() = data.observers[sub.observers[i]].observer;
      }
      absl::StatusOr<rv1::BatchCreateObserversResponse> r = client.BatchCreateObservers(req);
      if (!r.ok()) return r.status();
      if (r->results_size() != req.requests_size()) {
        return absl::InternalError(absl::StrCat("BatchCreateObservers ", sub.request_id, ": ",
                                                r->results_size(), " results for ",
                                                req.requests_size(), " rows"));
      }
      for (int row = 0; row < r->results_size(); ++row) {
        if (r->results(row).status().code() != 0) {
          return absl::InternalError(absl::StrCat("BatchCreateObservers ", sub.request_id, " row ",
                                                  row, ": ", r->results(row).status().message()));
        }
        names[sub.observers[begin + static_cast<size_t>(row)]] = r->results(row).observer().name();
      }
      note(r->revision());
    }
  }

  // The decisions, from `threads` threads.
  std::atomic<size_t> next{0};
  std::mutex mu;
  absl::Status first_error;
  std::vector<std::thread> workers;
  for (int t = 0; t < std::max(1, threads); ++t) {
    workers.emplace_back([&] {
      for (size_t i = next++; i < data.observers.size(); i = next++) {
        const example::PlannedObserver& p = data.observers[i];
        absl::Status s;
        int64_t r = 0;
        if (p.target_status == rv1::OBSERVER_STATUS_ACCREDITED) {
          rv1::AccreditObserverRequest req;
          req.set_name(names[i]);
          *req.mutable_decision_time() = ToProto(p.decision_time);
          req.set_decision_reference(p.decision_reference);
          req.set_request_id(absl::StrCat(data.election_id, "/accredit/", p.key));
          absl::StatusOr<rv1::AccreditObserverResponse> resp = client.AccreditObserver(req);
          s = resp.status();
          if (resp.ok()) r = resp->revision();
        } else if (p.target_status == rv1::OBSERVER_STATUS_REJECTED) {
          rv1::RejectObserverRequest req;
          req.set_name(names[i]);
          *req.mutable_decision_time() = ToProto(p.decision_time);
          req.set_decision_reference(p.decision_reference);
          req.set_reason(p.reason);
          req.set_request_id(absl::StrCat(data.election_id, "/reject/", p.key));
          absl::StatusOr<rv1::RejectObserverResponse> resp = client.RejectObserver(req);
          s = resp.status();
          if (resp.ok()) r = resp->revision();
        } else {
          continue;
        }
        std::lock_guard<std::mutex> lock(mu);
        if (!s.ok() && first_error.ok()) {
          first_error = absl::Status(s.code(), absl::StrCat("decision on ", names[i], " (", p.key,
                                                            "): ", DescribeStatus(s)));
        }
        note(r);
      }
    });
  }
  for (std::thread& w : workers) w.join();
  if (!first_error.ok()) return first_error;
  return revision;
}

}  // namespace observer::testing
