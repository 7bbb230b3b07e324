#include "tests/harness/example_data.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/harness/status_matchers.h"
#include "tools/example-data/kz2021_dataset.h"

namespace observer::testing {

absl::StatusOr<int64_t> LoadKz2021DataSet(RegistryClient& client, int threads) {
  const example::ExampleDataSet& data = example::Kz2021DataSet();
  int64_t revision = 0;
  auto note = [&revision](int64_t r) { revision = std::max(revision, r); };

  absl::StatusOr<rv1::CreateElectionResponse> e =
      client.CreateElection(example::CreateElectionRequestFor(data));
  if (!e.ok()) return e.status();
  note(e->revision());

  for (const example::PlannedOrganisation& po : data.organisations) {
    absl::StatusOr<rv1::CreateOrganisationResponse> r =
        client.CreateOrganisation(example::CreateOrganisationRequestFor(data, po));
    if (!r.ok()) return r.status();
    note(r->revision());
  }

  std::vector<std::string> names(data.observers.size());
  for (const example::ObserverBatch& batch : example::ObserverBatchesFor(data)) {
    const std::string& id = batch.submission->request_id;
    absl::StatusOr<rv1::BatchCreateObserversResponse> r =
        client.BatchCreateObservers(batch.request);
    if (!r.ok()) return r.status();
    if (r->results_size() != batch.request.requests_size()) {
      return absl::InternalError(absl::StrCat("BatchCreateObservers ", id, ": ", r->results_size(),
                                              " results for ", batch.request.requests_size(),
                                              " rows"));
    }
    for (int row = 0; row < r->results_size(); ++row) {
      if (r->results(row).status().code() != 0) {
        return absl::InternalError(absl::StrCat("BatchCreateObservers ", id, " row ", row, ": ",
                                                r->results(row).status().message()));
      }
      names[batch.observers[static_cast<size_t>(row)]] = r->results(row).observer().name();
    }
    note(r->revision());
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
          absl::StatusOr<rv1::AccreditObserverResponse> resp =
              client.AccreditObserver(example::AccreditRequestFor(data, p, names[i]));
          s = resp.status();
          if (resp.ok()) r = resp->revision();
        } else if (p.target_status == rv1::OBSERVER_STATUS_REJECTED) {
          absl::StatusOr<rv1::RejectObserverResponse> resp =
              client.RejectObserver(example::RejectRequestFor(data, p, names[i]));
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
