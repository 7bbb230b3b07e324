#include "tests/harness/recount.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/harness/builders.h"
#include "tests/harness/status_matchers.h"

namespace observer::testing {

sv1::GetSummaryRequest SummaryRequest(const std::string& election, int64_t min_revision) {
  sv1::GetSummaryRequest req;
  req.set_election(election);
  req.set_min_revision(min_revision);
  return req;
}

sv1::GetBreakdownRequest BreakdownRequest(const std::string& election, sv1::Dimension dimension,
                                          int64_t min_revision, const std::string& region_scheme) {
  sv1::GetBreakdownRequest req;
  req.set_election(election);
  req.set_dimension(dimension);
  req.set_min_revision(min_revision);
  req.set_region_scheme(region_scheme);
  return req;
}

std::string Describe(const sv1::Summary& s) {
  return absl::StrCat(s.observers(), " observers: ", s.organisation_observers(), " from ",
                      s.organisations(), " organisations, ", s.state_observers(), " from ",
                      s.states(), " states");
}

// key → count of a breakdown; a repeated key is a failure.
std::map<std::string, int64_t> RowCounts(const sv1::Breakdown& b) {
  std::map<std::string, int64_t> counts;
  for (const sv1::BreakdownRow& row : b.rows()) {
    EXPECT_TRUE(counts.emplace(row.key(), row.count()).second) << "key " << row.key() << " twice";
  }
  return counts;
}

// Consistency every breakdown must have: total = sum of the rows, rows by count (largest
// first, ties by key), shares = count / total.
void CheckBreakdownShape(const sv1::Breakdown& b) {
  SCOPED_TRACE(b.DebugString());
  int64_t sum = 0;
  for (int i = 0; i < b.rows_size(); ++i) {
    sum += b.rows(i).count();
    if (b.total() > 0) {
      EXPECT_NEAR(b.rows(i).share(),
                  static_cast<double>(b.rows(i).count()) / static_cast<double>(b.total()), 1e-9);
    }
    if (i > 0) {
      const auto& prev = b.rows(i - 1);
      const auto& row = b.rows(i);
      EXPECT_TRUE(prev.count() > row.count() ||
                  (prev.count() == row.count() && prev.key() < row.key()))
          << "rows " << i - 1 << " and " << i << " out of order";
    }
  }
  EXPECT_EQ(sum, b.total());
}

Recount RecountFromRegistry(RegistryClient& client, const std::string& election) {
  Recount r;
  r.revision = MUST(client.HeadRevision());
  std::vector<rv1::Observer> observers;
  rv1::ListObserversRequest req;
  req.set_parent(election);
  req.set_page_size(37);
  std::set<std::string> names;
  for (int pages = 0;; ++pages) {
    if (pages > 10000) throw TestFailure("ListObservers: too many pages");
    rv1::ListObserversResponse resp = MUST(client.ListObservers(req));
    for (const rv1::Observer& o : resp.observers()) {
      if (!names.insert(o.name()).second) {
        throw TestFailure(absl::StrCat("ListObservers returned ", o.name(), " twice"));
      }
      observers.push_back(o);
    }
    if (resp.next_page_token().empty()) break;
    req.set_page_token(resp.next_page_token());
  }
  const int64_t after = MUST(client.HeadRevision());
  if (after != r.revision) {
    throw TestFailure(absl::StrCat("the registry was written to during the recount (head ",
                                   r.revision, " → ", after, ")"));
  }
  r.summary.set_election(election);
  for (const rv1::Observer& o : observers) {
    if (o.test()) continue;
    ++r.by_status[rv1::ObserverStatus_Name(o.status())];
    if (o.status() != rv1::OBSERVER_STATUS_ACCREDITED) continue;
    r.summary.set_observers(r.summary.observers() + 1);
    ++r.by_citizenship[o.citizenship()];
    if (o.sending_body().has_organisation()) {
      std::string code = o.sending_body().organisation();
      code = code.substr(code.find('/') + 1);
      ++r.by_organisation[code];
      r.summary.set_organisation_observers(r.summary.organisation_observers() + 1);
    } else if (o.sending_body().has_state()) {
      ++r.by_state[o.sending_body().state()];
      r.summary.set_state_observers(r.summary.state_observers() + 1);
    }
  }
  r.summary.set_organisations(static_cast<int64_t>(r.by_organisation.size()));
  r.summary.set_states(static_cast<int64_t>(r.by_state.size()));
  return r;
}

void ExpectStatsEqualRecount(StatsClient& stats, const Recount& expected, absl::Duration timeout) {
  const std::string& election = expected.summary.election();
  SCOPED_TRACE(
      absl::StrCat("recount at revision ", expected.revision, ": ", Describe(expected.summary)));
  ASSERT_OK_AND_ASSIGN(sv1::GetSummaryResponse summary,
                       stats.GetSummary(SummaryRequest(election, expected.revision), timeout));
  EXPECT_EQ(summary.revision(), expected.revision) << "stats' applied revision";
  std::string diff;
  EXPECT_TRUE(ProtoEquals(summary.summary(), expected.summary, &diff))
      << "stats: " << Describe(summary.summary()) << "\n"
      << diff;
  const std::pair<sv1::Dimension, const std::map<std::string, int64_t>*> dimensions[] = {
      {sv1::DIMENSION_ORGANISATION, &expected.by_organisation},
      {sv1::DIMENSION_SENDING_STATE, &expected.by_state},
      {sv1::DIMENSION_CITIZENSHIP, &expected.by_citizenship},
      {sv1::DIMENSION_STATUS, &expected.by_status},
  };
  for (const auto& [dimension, counts] : dimensions) {
    SCOPED_TRACE(sv1::Dimension_Name(dimension));
    ASSERT_OK_AND_ASSIGN(
        sv1::GetBreakdownResponse b,
        stats.GetBreakdown(BreakdownRequest(election, dimension, expected.revision), timeout));
    EXPECT_EQ(b.revision(), expected.revision);
    EXPECT_EQ(RowCounts(b.breakdown()), *counts);
    CheckBreakdownShape(b.breakdown());
  }
}

}  // namespace observer::testing
