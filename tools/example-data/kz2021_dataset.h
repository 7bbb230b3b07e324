// The example data set: foreign observers of Kazakhstan's elections of 10 January 2021 (Majilis
// and maslikhats), as messages of the public API.
//
// The published figures (see docs of the reference case: 398 observers accredited, 322 from 10
// international organisations with the per-organisation counts of the CEC, 76 from 31 foreign
// states, accreditation closed 4 Jan 2021 18:00 local time, seven commission meetings) are
// reproduced exactly. Everything the CEC did not publish is ILLUSTRATIVE: the split of the 76
// state observers over the 31 states, the citizenship of organisation observers, categories,
// meeting dates, resolution and note numbers, and all people (synthetic names, birth dates and
// document numbers drawn from per-country name pools with a fixed seed). No real person is
// described.
//
// The generator is deterministic: no clock, no std::random_device, no implementation-defined
// distributions; the same binary input always yields the same data set.
#ifndef OBSERVER_TOOLS_EXAMPLE_DATA_KZ2021_DATASET_H_
#define OBSERVER_TOOLS_EXAMPLE_DATA_KZ2021_DATASET_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "observer/registry/v1/registry_service.pb.h"
#include "observer/registry/v1/resources.pb.h"

namespace observer::example {

// An organisation to create, with the code that becomes `organisations/{code}`.
struct PlannedOrganisation {
  std::string code;
  // `name` is empty (the code is passed separately); `parent` names a parent created earlier.
  observer::registry::v1::Organisation organisation;
};

// One meeting of the Central Election Commission that decided accreditations.
struct Meeting {
  int number = 0;  // 1..7 in time order.
  absl::Time time;
  std::string decision_reference;  // e.g. "CEC resolution No. 215".
};

// One submission: a note naming one or more people, created with one BatchCreateObservers call.
struct Submission {
  std::string reference;     // Observer.submission_reference of every person in it.
  std::string request_id;    // Idempotency key of the batch call, derived from the data.
  std::string sending_body;  // Organisation code or state code, for display.
  absl::Time received_time;
  std::vector<std::size_t> observers;  // Indices into ExampleDataSet::observers, in order.
};

// One person and what the commission decided about them.
struct PlannedObserver {
  // Stable key, e.g. "CIS-EC-017" or "STATE-RU-03"; request ids are derived from it.
  std::string key;
  // The submission as sent to CreateObserver: output-only fields empty, received_time set.
  observer::registry::v1::Observer observer;
  std::size_t submission = 0;  // Index into ExampleDataSet::submissions.
  // ACCREDITED, REJECTED, or SUBMITTED (no decision yet).
  observer::registry::v1::ObserverStatus target_status =
      observer::registry::v1::OBSERVER_STATUS_SUBMITTED;
  int meeting = 0;  // Meeting::number of the decision; 0 when undecided.
  absl::Time decision_time = absl::InfinitePast();
  std::string decision_reference;
  std::string reason;  // Given with a rejection.

  // Whether the record counts in the published figures (accredited, not a test record).
  bool counted() const {
    return target_status == observer::registry::v1::OBSERVER_STATUS_ACCREDITED && !observer.test();
  }
};

struct ExampleDataSet {
  std::string election_id;  // "kz-2021-majilis".
  // `name` empty; accreditation_deadline unset (the server's default rule gives
  // 2021-01-04T12:00:00Z).
  observer::registry::v1::Election election;
  std::vector<PlannedOrganisation> organisations;  // Parents before their children.
  std::vector<Meeting> meetings;                   // In time order.
  std::vector<Submission> submissions;             // In order of received time.
  std::vector<PlannedObserver> observers;
};

// The accreditation deadline the server derives for this election: 4 Jan 2021 18:00 in
// Asia/Almaty (UTC+6 then), i.e. 2021-01-04T12:00:00Z.
absl::Time Kz2021Deadline();

// Builds the data set (a few milliseconds). Equal on every call.
ExampleDataSet BuildKz2021DataSet();

// The data set, built once.
const ExampleDataSet& Kz2021DataSet();

// The API requests that load a data set. Their request ids are derived from the data, so any
// loader (the tool, the tests) can repeat a load without creating anything twice.
observer::registry::v1::CreateElectionRequest CreateElectionRequestFor(const ExampleDataSet& data);
observer::registry::v1::CreateOrganisationRequest CreateOrganisationRequestFor(
    const ExampleDataSet& data, const PlannedOrganisation& organisation);

// One BatchCreateObservers call: part of one submission (at most 1000 rows).
struct ObserverBatch {
  const Submission* submission = nullptr;
  observer::registry::v1::BatchCreateObserversRequest request;
  std::vector<std::size_t> observers;  // Indices into ExampleDataSet::observers, one per row.
};
// Every submission as batches, in order of received time.
std::vector<ObserverBatch> ObserverBatchesFor(const ExampleDataSet& data);

// The decision on an observer created as `name` (target status ACCREDITED or REJECTED).
observer::registry::v1::AccreditObserverRequest AccreditRequestFor(const ExampleDataSet& data,
                                                                   const PlannedObserver& observer,
                                                                   const std::string& name);
observer::registry::v1::RejectObserverRequest RejectRequestFor(const ExampleDataSet& data,
                                                               const PlannedObserver& observer,
                                                               const std::string& name);

}  // namespace observer::example

#endif  // OBSERVER_TOOLS_EXAMPLE_DATA_KZ2021_DATASET_H_
