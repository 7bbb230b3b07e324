// Filters: the ListObservers filter (AIP-160 subset, list_query.h) and the stats-service
// query filter (GetSummaryRequest / GetBreakdownRequest and their Filter).
//
// Input: a first byte 'S' or 'B' makes the rest a serialized GetSummaryRequest or
// GetBreakdownRequest, answered by stats-service's Counters built from the seeded registry's
// real change log (seeded_registry.h). Any other input is, whole, a ListObservers filter,
// parsed and then run by the real Registry and SqliteStore over the seeded election.
//
// Besides "no crash, no sanitizer report", every run checks:
// - a filter that parses lists exactly the seeded observers that an independent evaluation of
//   its conditions selects (so the SQL the store builds means what the parser meant), and a
//   filter that does not parse is INVALID_ARGUMENT on `filter`; a submitter confined to one
//   sending body lists the same less the other bodies' records;
// - a stats request that validates is answered (NOT_FOUND only for an unknown election); a
//   breakdown's total is the sum of its rows, its rows are ordered by count with the folded row
//   last and at most top_n + 1 of them, shares are count / total, and its total agrees with the
//   summary of the same filter.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/country_codes.h"
#include "common/errors.h"
#include "google/protobuf/stubs/logging.h"
#include "registry-service/src/domain/list_query.h"
#include "stats-service/src/aggregate/counters.h"
#include "stats-service/src/aggregate/regions.h"
#include "tests/fuzz/seeded_registry.h"

namespace observer::fuzz {
namespace {

using registry::ObserverCondition;
namespace sv1 = ::observer::stats::v1;

// --- ListObservers --------------------------------------------------------------------------

// Whether `o` meets `c`, as the API describes it (a field an observer does not have equals
// nothing).
bool Meets(const v1::Observer& o, const ObserverCondition& c) {
  bool match = false;
  switch (c.field) {
    case ObserverCondition::Field::kStatus:
      match = o.status() == c.number;
      break;
    case ObserverCondition::Field::kCategory:
      match = o.category() == c.number;
      break;
    case ObserverCondition::Field::kTest:
      match = (o.test() ? 1 : 0) == c.number;
      break;
    case ObserverCondition::Field::kOrganisation:
      match = o.sending_body().has_organisation() && o.sending_body().organisation() == c.text;
      break;
    case ObserverCondition::Field::kState:
      match = o.sending_body().has_state() && o.sending_body().state() == c.text;
      break;
    case ObserverCondition::Field::kCitizenship:
      match = o.citizenship() == c.text;
      break;
    case ObserverCondition::Field::kTag:
      for (const std::string& tag : o.tags()) match = match || tag == c.text;
      break;
  }
  return match != c.negated;
}

// Every observer of the seeded election, read once.
const std::vector<v1::Observer>& AllObservers() {
  static const auto* const all = [] {
    v1::ListObserversRequest req;
    req.set_parent(std::string(Seed::kElection));
    req.set_page_size(registry::kMaxPageSize);
    auto answer = SeededRegistry::Get().registry().ListObservers({}, req);
    if (!answer.ok()) Fail(answer.status().ToString());
    return new std::vector<v1::Observer>(answer->observers().begin(), answer->observers().end());
  }();
  return *all;
}

void RunObserverFilter(const std::string& filter) {
  absl::StatusOr<std::vector<ObserverCondition>> conditions = registry::ParseObserverFilter(filter);
  v1::ListObserversRequest req;
  req.set_parent(std::string(Seed::kElection));
  req.set_filter(filter);
  req.set_page_size(registry::kMaxPageSize);
  if (!TransportDelivers(req)) return;
  auto answer = SeededRegistry::Get().registry().ListObservers({}, req);
  if (!conditions.ok()) {
    Note(absl::StrCat("'", filter, "': ", conditions.status().message()));
    FUZZ_CHECK(!answer.ok(), "a filter the parser refuses is accepted by ListObservers");
    const ErrorDetails details = GetErrorDetails(conditions.status());
    FUZZ_CHECK(conditions.status().code() == absl::StatusCode::kInvalidArgument &&
                   details.violations.size() == 1 && details.violations[0].field == "filter",
               conditions.status().ToString());
    return;
  }
  FUZZ_CHECK(answer.ok(),
             absl::StrCat("'", absl::CEscape(filter),
                          "' parses but ListObservers fails: ", answer.status().ToString()));
  std::vector<std::string> expected;
  for (const v1::Observer& o : AllObservers()) {
    bool all = true;
    for (const ObserverCondition& c : *conditions) all = all && Meets(o, c);
    if (all) expected.push_back(o.name());
  }
  std::vector<std::string> listed;
  for (const v1::Observer& o : answer->observers()) listed.push_back(o.name());
  Note(absl::StrCat("'", filter, "': ", listed.size(), " observers"));
  FUZZ_CHECK(listed == expected,
             absl::StrCat("filter '", absl::CEscape(filter), "' lists ", listed.size(),
                          " observers; its conditions select ", expected.size()));

  // A submitter confined to one sending body lists the same, less other bodies' records.
  SeededRegistry& r = SeededRegistry::Get();
  for (int caller = 1; caller < SeededRegistry::kCallers; ++caller) {
    std::vector<std::string> own;
    for (const v1::Observer& o : AllObservers()) {
      if (std::find(expected.begin(), expected.end(), o.name()) != expected.end() &&
          SeededRegistry::Visible(r.caller(caller), o)) {
        own.push_back(o.name());
      }
    }
    auto confined = r.registry().ListObservers(r.caller(caller), req);
    FUZZ_CHECK(confined.ok(), confined.status().ToString());
    std::vector<std::string> seen;
    for (const v1::Observer& o : confined->observers()) seen.push_back(o.name());
    FUZZ_CHECK(seen == own, absl::StrCat("filter '", absl::CEscape(filter), "' lists ", seen.size(),
                                         " observers to ", r.caller(caller).sending_body, "; ",
                                         own.size(), " are its own"));
  }
}

// --- Stats ----------------------------------------------------------------------------------

const stats::RegionDirectory& Regions() {
  static const stats::RegionDirectory* const regions = [] {
    auto directory = stats::RegionDirectory::Create(
        CountryCodes::Default(),
        {absl::StrCat(OBSERVER_REGION_SCHEMES_DIR, "/kz2021-article.scheme")});
    if (!directory.ok()) Fail(directory.status().ToString());
    return directory->release();
  }();
  return *regions;
}

// The seeded registry's change log applied, as stats-service applies the Watch stream.
const stats::Counters& SeededCounters() {
  static const stats::Counters* const counters = [] {
    auto* c = new stats::Counters(Regions());
    registry::Store& store = SeededRegistry::Get().store();
    auto events = store.ReadChanges(1, 100000, int64_t{1} << 40);
    if (!events.ok()) Fail(events.status().ToString());
    for (const v1::ChangeEvent& event : *events) {
      if (absl::Status s = c->Apply(event); !s.ok()) Fail(s.ToString());
    }
    return c;
  }();
  return *counters;
}

void CheckStatsError(const absl::Status& status) {
  FUZZ_CHECK(status.code() == absl::StatusCode::kInvalidArgument ||
                 status.code() == absl::StatusCode::kNotFound,
             absl::StrCat("unexpected error: ", status.ToString()));
}

void RunSummary(const std::string& bytes) {
  sv1::GetSummaryRequest req;
  if (!req.ParseFromString(bytes)) return;
  if (absl::Status s = stats::Counters::ValidateSummaryRequest(req); !s.ok()) {
    Note(s.ToString());
    return CheckStatsError(s);
  }
  auto summary = SeededCounters().Summarize(req);
  Note(summary.ok() ? summary->ShortDebugString() : summary.status().ToString());
  if (!summary.ok()) return CheckStatsError(summary.status());
  FUZZ_CHECK(summary->observers() == summary->organisation_observers() + summary->state_observers(),
             summary->DebugString());
  FUZZ_CHECK(summary->organisations() <= summary->organisation_observers() &&
                 summary->states() <= summary->state_observers(),
             summary->DebugString());
}

void RunBreakdown(const std::string& bytes) {
  sv1::GetBreakdownRequest req;
  if (!req.ParseFromString(bytes)) return;
  if (absl::Status s = stats::Counters::ValidateBreakdownRequest(Regions(), req); !s.ok()) {
    Note(s.ToString());
    return CheckStatsError(s);
  }
  auto breakdown = SeededCounters().Break(req);
  Note(breakdown.ok() ? breakdown->ShortDebugString() : breakdown.status().ToString());
  if (!breakdown.ok()) return CheckStatsError(breakdown.status());
  int64_t sum = 0;
  for (int i = 0; i < breakdown->rows_size(); ++i) {
    const sv1::BreakdownRow& row = breakdown->rows(i);
    sum += row.count();
    FUZZ_CHECK(!row.folded() || i == breakdown->rows_size() - 1, "a folded row before the last");
    if (i > 0 && !row.folded()) {
      FUZZ_CHECK(breakdown->rows(i - 1).count() >= row.count(), breakdown->DebugString());
    }
    const double share =
        breakdown->total() == 0 ? 0 : static_cast<double>(row.count()) / breakdown->total();
    FUZZ_CHECK(std::fabs(row.share() - share) < 1e-9, breakdown->DebugString());
  }
  FUZZ_CHECK(sum == breakdown->total(), breakdown->DebugString());
  if (req.top_n() > 0) {
    FUZZ_CHECK(breakdown->rows_size() <= req.top_n() + 1, breakdown->DebugString());
  }

  // The same filter's summary.
  sv1::GetSummaryRequest same;
  same.set_election(req.election());
  *same.mutable_filter() = req.filter();
  auto summary = SeededCounters().Summarize(same);
  FUZZ_CHECK(summary.ok(), summary.status().ToString());
  int64_t expected = -1;
  switch (req.dimension()) {
    case sv1::DIMENSION_OBSERVER_TYPE:
    case sv1::DIMENSION_CITIZENSHIP:
    case sv1::DIMENSION_CATEGORY:
    case sv1::DIMENSION_GENDER:
      expected = summary->observers();
      break;
    case sv1::DIMENSION_ORGANISATION:
      expected = summary->organisation_observers();
      break;
    case sv1::DIMENSION_SENDING_STATE:
      expected = summary->state_observers();
      break;
    case sv1::DIMENSION_STATUS:
      if (req.filter().statuses_size() > 0) expected = summary->observers();
      break;
    default:
      break;
  }
  if (expected >= 0) {
    FUZZ_CHECK(breakdown->total() == expected,
               absl::StrCat("breakdown total ", breakdown->total(), ", summary ", expected, "\n",
                            req.DebugString()));
  }
}

void Run(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  if (!input.empty() && input[0] == 'S') return RunSummary(input.substr(1));
  if (!input.empty() && input[0] == 'B') return RunBreakdown(input.substr(1));
  RunObserverFilter(input);
}

}  // namespace
}  // namespace observer::fuzz

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  google::protobuf::SetLogHandler(nullptr);
  observer::fuzz::AllObservers();
  observer::fuzz::SeededCounters();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  observer::fuzz::Run(data, size);
  return 0;
}
