// End-to-end tests of the service pair: the real registry-service and stats-service binaries on
// loopback, each a child process, tested through their public gRPC APIs only.
//
// What is checked: the example data set reproduces the published figures through the stats
// API; read-your-writes with min_revision; health follows the first sync and the registry's
// reachability; stats converges to an exact recount from the registry after a crash of
// either process, after a registry restart on the same port and after a compaction that
// forces a rebuild; streaming answers push changed figures only and coalesce for a slow
// reader; bad requests name the bad field.
//
// Every wait is bounded (PollUntil / stream reads with deadlines), so a broken service fails a
// test instead of hanging it; no test asserts a tight upper bound on timing.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <grpcpp/create_channel.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/errors.h"
#include "tests/harness/builders.h"
#include "tests/harness/example_data.h"
#include "tests/harness/recount.h"
#include "tests/harness/registry_client.h"
#include "tests/harness/registry_process.h"
#include "tests/harness/stats_client.h"
#include "tests/harness/stats_process.h"
#include "tests/harness/status_matchers.h"
#include "tests/harness/temp_dir.h"

#ifndef OBSERVER_SOURCE_DIR
#error "OBSERVER_SOURCE_DIR must name the source tree (for data/region-schemes)"
#endif

namespace observer::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAreArray;

constexpr char kKz2021[] = "elections/kz-2021-majilis";
constexpr char kArticleScheme[] = OBSERVER_SOURCE_DIR "/data/region-schemes/kz2021-article.scheme";
// The line stats-service logs when it cannot resume and starts over from a fresh initial state.
constexpr char kRebuildLine[] = "cannot resume the change stream; rebuilding from a fresh initial";
constexpr char kSyncedLine[] = "\"msg\":\"synced with the registry\"";

// ---------------------------------------------------------------------------------------------
// Requests and answers.

sv1::Summary MakeSummary(const std::string& election, int64_t observers, int64_t org_observers,
                         int64_t organisations, int64_t state_observers, int64_t states) {
  sv1::Summary s;
  s.set_election(election);
  s.set_observers(observers);
  s.set_organisation_observers(org_observers);
  s.set_organisations(organisations);
  s.set_state_observers(state_observers);
  s.set_states(states);
  return s;
}

const sv1::BreakdownRow* FindRow(const sv1::Breakdown& b, const std::string& key) {
  for (const sv1::BreakdownRow& row : b.rows()) {
    if (row.key() == key) return &row;
  }
  return nullptr;
}

// The NOT_FOUND / INVALID_ARGUMENT answers of the stats API name the field in a BadRequest.
MATCHER_P2(IsErrorNaming, code, field,
           std::string(negation ? "isn't " : "is ") + absl::StatusCodeToString(code) +
               " naming field " + std::string(field)) {
  const absl::Status& s = ::observer::testing::GetStatus(arg);
  *result_listener << "status is " << ::observer::testing::DescribeStatus(s);
  if (s.code() != code) return false;
  for (const auto& v : ::observer::GetErrorDetails(s).violations) {
    if (v.field == std::string(field)) return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// A writer of random observer changes in one election (creates, decisions, withdrawals,
// suspensions, reinstatements, rejections, updates of the sending body, deletions).

class Writer {
 public:
  Writer(RegistryClient* client, std::string election, std::vector<std::string> organisations,
         std::vector<std::string> states, uint32_t seed)
      : client_(client),
        election_(std::move(election)),
        organisations_(std::move(organisations)),
        states_(std::move(states)),
        random_(seed) {}
  ~Writer() { StopThread(); }

  // The registry client to use from now on (e.g. after a registry restart). Not while the
  // thread runs.
  void set_client(RegistryClient* client) { client_ = client; }

  // One random write (a create when the chosen change has no candidate).
  void Step() {
    const int dice = Uniform(100);
    if (dice < 30 && !submitted_.empty()) return Accredit();
    if (dice < 36 && !accredited_.empty()) return Withdraw();
    if (dice < 42 && !accredited_.empty()) return Suspend();
    if (dice < 47 && !suspended_.empty()) return Reinstate();
    if (dice < 51 && !submitted_.empty()) return Reject();
    if (dice < 56 && !accredited_.empty()) return MoveToAnotherBody();
    if (dice < 60 && !all_.empty()) return Delete();
    Create();
  }
  void Steps(int n) {
    for (int i = 0; i < n; ++i) Step();
  }

  // Writes from a background thread until StopThread.
  void StartThread() {
    stop_ = false;
    thread_ = std::thread([this] {
      while (!stop_.load()) Step();
    });
  }
  void StopThread() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }

  int64_t writes() const { return writes_.load(); }
  int64_t last_revision() const { return last_revision_.load(); }
  // Waits until `n` more writes than now have been made; false on timeout.
  bool WaitForMoreWrites(int64_t n, absl::Duration timeout) const {
    const int64_t target = writes() + n;
    return PollUntil([&] { return writes() >= target; }, timeout, absl::Milliseconds(5));
  }
  std::vector<std::string> errors() const {
    std::lock_guard<std::mutex> lock(mu_);
    return errors_;
  }

 private:
  int Uniform(int n) { return std::uniform_int_distribution<int>(0, n - 1)(random_); }
  template <typename T>
  T Take(std::vector<T>& v) {
    const size_t i = static_cast<size_t>(Uniform(static_cast<int>(v.size())));
    T x = v[i];
    v[i] = v.back();
    v.pop_back();
    return x;
  }
  void Forget(const std::string& name) {
    for (auto* v : {&submitted_, &accredited_, &suspended_}) {
      v->erase(std::remove(v->begin(), v->end(), name), v->end());
    }
  }
  template <typename Resp>
  bool Done(const char* what, const absl::StatusOr<Resp>& resp) {
    if (!resp.ok()) {
      std::lock_guard<std::mutex> lock(mu_);
      errors_.push_back(absl::StrCat(what, ": ", DescribeStatus(resp.status())));
      return false;
    }
    int64_t last = last_revision_.load();
    while (resp->revision() > last &&
           !last_revision_.compare_exchange_weak(last, resp->revision())) {
    }
    ++writes_;
    return true;
  }

  void Create() {
    const std::string state =
        states_[static_cast<size_t>(Uniform(static_cast<int>(states_.size())))];
    rv1::CreateObserverRequest req = NewObserverRequest(election_, NextSeq(), state);
    if (Uniform(2) == 0) {
      req.mutable_observer()->mutable_sending_body()->set_organisation(absl::StrCat(
          "organisations/",
          organisations_[static_cast<size_t>(Uniform(static_cast<int>(organisations_.size())))]));
    }
    req.mutable_observer()->set_category(
        static_cast<rv1::ObserverCategory>(1 + Uniform(rv1::ObserverCategory_MAX)));
    req.mutable_observer()->set_gender(static_cast<rv1::Gender>(Uniform(rv1::Gender_MAX + 1)));
    auto resp = client_->CreateObserver(req);
    if (Done("CreateObserver", resp)) {
      submitted_.push_back(resp->observer().name());
      all_.push_back(resp->observer().name());
    }
  }
  void Accredit() {
    rv1::AccreditObserverRequest req;
    req.set_name(Take(submitted_));
    req.set_decision_reference("CEC-E2E-1");
    if (Done("AccreditObserver", client_->AccreditObserver(req))) {
      accredited_.push_back(req.name());
    }
  }
  void Reject() {
    rv1::RejectObserverRequest req;
    req.set_name(Take(submitted_));
    req.set_reason("Submission incomplete");
    Done("RejectObserver", client_->RejectObserver(req));
  }
  void Withdraw() {
    rv1::WithdrawObserverRequest req;
    req.set_name(Take(accredited_));
    req.set_reason("Mission ended early");
    Done("WithdrawObserver", client_->WithdrawObserver(req));
  }
  void Suspend() {
    rv1::SuspendObserverRequest req;
    req.set_name(Take(accredited_));
    req.set_reason("Under review");
    if (Done("SuspendObserver", client_->SuspendObserver(req))) suspended_.push_back(req.name());
  }
  void Reinstate() {
    rv1::ReinstateObserverRequest req;
    req.set_name(Take(suspended_));
    req.set_reason("Review closed");
    if (Done("ReinstateObserver", client_->ReinstateObserver(req))) {
      accredited_.push_back(req.name());
    }
  }
  void MoveToAnotherBody() {
    const std::string name =
        accredited_[static_cast<size_t>(Uniform(static_cast<int>(accredited_.size())))];
    rv1::UpdateObserverRequest req;
    req.mutable_observer()->set_name(name);
    req.mutable_observer()->mutable_sending_body()->set_state(
        states_[static_cast<size_t>(Uniform(static_cast<int>(states_.size())))]);
    req.mutable_update_mask()->add_paths("sending_body");
    Done("UpdateObserver", client_->UpdateObserver(req));
  }
  void Delete() {
    const std::string name = Take(all_);
    rv1::DeleteObserverRequest req;
    req.set_name(name);
    if (Done("DeleteObserver", client_->DeleteObserver(req))) Forget(name);
  }

  RegistryClient* client_;
  const std::string election_;
  const std::vector<std::string> organisations_;
  const std::vector<std::string> states_;
  std::mt19937 random_;
  // Names by status, as this writer left them (only the writing thread touches these).
  std::vector<std::string> submitted_, accredited_, suspended_, all_;
  std::atomic<int64_t> writes_{0};
  std::atomic<int64_t> last_revision_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
  mutable std::mutex mu_;
  std::vector<std::string> errors_;  // Guarded by mu_.
};

// ---------------------------------------------------------------------------------------------
// The fixture: one registry and one stats process per test, in a fresh directory.

class StatsE2eTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (HasFailure()) PrintOutputTails({registry_.get(), stats_.get()});
    stats_client_.reset();
    registry_client_.reset();
    stats_.reset();
    registry_.reset();
  }

  // Starts the registry (on a new port, or on `port`) and connects registry().
  void StartRegistry(std::vector<std::string> extra = {}, int port = 0) {
    if (registry_ == nullptr) {
      registry_ =
          std::make_unique<RegistryProcess>(dir_.path(), TestRegistryFlags(std::move(extra)));
    }
    MUST(port == 0 ? registry_->Start() : registry_->StartOnPort(port));
    ConnectRegistry();
  }
  void ConnectRegistry() {
    registry_client_ = std::make_unique<RegistryClient>(registry_->channel());
  }

  // Starts stats-service against the registry's address and connects stats().
  void StartStats(std::vector<std::string> extra = {}) {
    if (stats_ == nullptr) {
      stats_ =
          std::make_unique<StatsProcess>(registry_->address(), TestStatsFlags(std::move(extra)));
    }
    MUST(stats_->Start());
    ConnectStats();
  }
  void ConnectStats() { stats_client_ = std::make_unique<StatsClient>(stats_->channel()); }

  RegistryClient& registry() { return *registry_client_; }
  StatsClient& stats() { return *stats_client_; }
  RegistryProcess& registry_process() { return *registry_; }
  StatsProcess& stats_process() { return *stats_; }

  // A future election (accreditation open) and three organisations; returns the revision.
  int64_t SetUpElection(const std::string& election_id) {
    int64_t revision = MUST(registry().CreateElection(FutureElection(election_id))).revision();
    for (const char* code : {"ORG-A", "ORG-B", "ORG-C"}) {
      auto created =
          registry().CreateOrganisation(NewOrganisation(code, absl::StrCat("Organisation ", code)));
      if (created.ok()) {
        revision = created->revision();
      } else if (created.status().code() != absl::StatusCode::kAlreadyExists) {
        MUST(created.status());
      }
    }
    return revision;
  }

  // Creates and accredits one observer sent by `state`; returns the accreditation's revision.
  int64_t AddAccredited(const std::string& election, const std::string& state = "DE") {
    rv1::Observer o =
        MUST(registry().CreateObserver(NewObserverRequest(election, NextSeq(), state))).observer();
    rv1::AccreditObserverRequest req;
    req.set_name(o.name());
    req.set_decision_reference("CEC-E2E-1");
    return MUST(registry().AccreditObserver(req)).revision();
  }

  // Waits until stats-service has applied `revision` (and answers for `election`).
  void WaitApplied(const std::string& election, int64_t revision) {
    MUST(stats().GetSummary(SummaryRequest(election, revision), absl::Seconds(20)));
  }

  TempDir dir_;
  std::unique_ptr<RegistryProcess> registry_;
  std::unique_ptr<StatsProcess> stats_;
  std::unique_ptr<RegistryClient> registry_client_;
  std::unique_ptr<StatsClient> stats_client_;
};

// ---------------------------------------------------------------------------------------------
// The reference case: the example data set gives the published figures through the stats API.

TEST_F(StatsE2eTest, ExampleDataReproducesTheArticleFigures) {
  ASSERT_NO_FATAL_FAILURE(StartRegistry());
  ASSERT_NO_FATAL_FAILURE(StartStats({"--region-schemes", kArticleScheme}));
  ASSERT_OK_AND_ASSIGN(const int64_t revision, LoadKz2021DataSet(registry()));

  // 398 observers accredited = 322 from 10 international organisations + 76 from 31 states.
  ASSERT_OK_AND_ASSIGN(sv1::GetSummaryResponse summary,
                       stats().GetSummary(SummaryRequest(kKz2021, revision)));
  EXPECT_GE(summary.revision(), revision);
  std::string diff;
  EXPECT_TRUE(ProtoEquals(summary.summary(), MakeSummary(kKz2021, 398, 322, 10, 76, 31), &diff))
      << Describe(summary.summary()) << "\n"
      << diff;

  // By organisation: the CEC's ten counts.
  ASSERT_OK_AND_ASSIGN(
      sv1::GetBreakdownResponse orgs,
      stats().GetBreakdown(BreakdownRequest(kKz2021, sv1::DIMENSION_ORGANISATION, revision)));
  CheckBreakdownShape(orgs.breakdown());
  EXPECT_EQ(orgs.breakdown().total(), 322);
  std::vector<int64_t> org_counts;
  for (const auto& row : orgs.breakdown().rows()) org_counts.push_back(row.count());
  EXPECT_THAT(org_counts, ElementsAre(179, 48, 42, 15, 9, 9, 7, 7, 4, 2));
  const std::map<std::string, int64_t> by_org = RowCounts(orgs.breakdown());
  EXPECT_EQ(by_org.count("CIS-EC") ? by_org.at("CIS-EC") : -1, 179);
  EXPECT_EQ(by_org.count("CIS-IPA") ? by_org.at("CIS-IPA") : -1, 48);
  EXPECT_EQ(by_org.count("OSCE-ODIHR") ? by_org.at("OSCE-ODIHR") : -1, 42);
  EXPECT_EQ(by_org.count("SCO") ? by_org.at("SCO") : -1, 15);
  ASSERT_GT(orgs.breakdown().rows_size(), 0);
  EXPECT_EQ(orgs.breakdown().rows(0).display_name(), "CIS Executive Committee");

  // The top 3 and the rest.
  sv1::GetBreakdownRequest top3 = BreakdownRequest(kKz2021, sv1::DIMENSION_ORGANISATION, revision);
  top3.set_top_n(3);
  ASSERT_OK_AND_ASSIGN(sv1::GetBreakdownResponse top, stats().GetBreakdown(top3));
  ASSERT_EQ(top.breakdown().rows_size(), 4) << top.DebugString();
  EXPECT_EQ(top.breakdown().rows(3).key(), "OTHER");
  EXPECT_EQ(top.breakdown().rows(3).count(), 322 - 179 - 48 - 42);
  EXPECT_EQ(top.breakdown().total(), 322);

  // By sending state: the article's 31 states, 76 observers.
  ASSERT_OK_AND_ASSIGN(
      sv1::GetBreakdownResponse states,
      stats().GetBreakdown(BreakdownRequest(kKz2021, sv1::DIMENSION_SENDING_STATE, revision)));
  CheckBreakdownShape(states.breakdown());
  EXPECT_EQ(states.breakdown().total(), 76);
  std::vector<std::string> state_keys;
  for (const auto& row : states.breakdown().rows()) state_keys.push_back(row.key());
  EXPECT_THAT(state_keys, UnorderedElementsAreArray({"KG", "MD", "TR", "AZ", "AM", "UZ", "UA", "RU",
                                                     "EE", "RO", "HU", "ES", "FR", "IT", "DE", "BE",
                                                     "CH", "PL", "CZ", "FI", "NO", "SE", "GB", "MN",
                                                     "IN", "PH", "PS", "CA", "MV", "ID", "JO"}));

  // By M49 continent (the default scheme): Europe 18 states, Asia 12, Americas 1.
  ASSERT_OK_AND_ASSIGN(
      sv1::GetBreakdownResponse m49,
      stats().GetBreakdown(BreakdownRequest(kKz2021, sv1::DIMENSION_REGION, revision)));
  CheckBreakdownShape(m49.breakdown());
  EXPECT_EQ(m49.breakdown().region_scheme(), "m49-continent");
  EXPECT_EQ(m49.breakdown().total(), 76);
  ASSERT_EQ(m49.breakdown().rows_size(), 3) << m49.DebugString();
  for (const auto& [key, distinct] :
       std::vector<std::pair<std::string, int64_t>>{{"150", 18}, {"142", 12}, {"019", 1}}) {
    const sv1::BreakdownRow* row = FindRow(m49.breakdown(), key);
    ASSERT_NE(row, nullptr) << "no row " << key << " in " << m49.DebugString();
    EXPECT_EQ(row->distinct_sources(), distinct) << "region " << key;
    EXPECT_GT(row->count(), 0) << "region " << key;
  }

  // By the article's own grouping: 9 post-Soviet, 14 European, 8 other states.
  ASSERT_OK_AND_ASSIGN(sv1::GetBreakdownResponse article,
                       stats().GetBreakdown(BreakdownRequest(kKz2021, sv1::DIMENSION_REGION,
                                                             revision, "kz2021-article")));
  CheckBreakdownShape(article.breakdown());
  EXPECT_EQ(article.breakdown().region_scheme(), "kz2021-article");
  EXPECT_EQ(article.breakdown().total(), 76);
  ASSERT_EQ(article.breakdown().rows_size(), 3) << article.DebugString();
  for (const auto& [key, distinct] : std::vector<std::pair<std::string, int64_t>>{
           {"post-soviet", 9}, {"europe", 14}, {"other", 8}}) {
    const sv1::BreakdownRow* row = FindRow(article.breakdown(), key);
    ASSERT_NE(row, nullptr) << "no row " << key << " in " << article.DebugString();
    EXPECT_EQ(row->distinct_sources(), distinct) << "group " << key;
  }

  // By observer type.
  ASSERT_OK_AND_ASSIGN(
      sv1::GetBreakdownResponse types,
      stats().GetBreakdown(BreakdownRequest(kKz2021, sv1::DIMENSION_OBSERVER_TYPE, revision)));
  CheckBreakdownShape(types.breakdown());
  ASSERT_EQ(types.breakdown().rows_size(), 2) << types.DebugString();
  EXPECT_EQ(types.breakdown().rows(0).key(), "ORGANISATION");
  EXPECT_EQ(types.breakdown().rows(0).count(), 322);
  EXPECT_EQ(types.breakdown().rows(0).distinct_sources(), 10);
  EXPECT_EQ(types.breakdown().rows(1).key(), "STATE");
  EXPECT_EQ(types.breakdown().rows(1).count(), 76);
  EXPECT_EQ(types.breakdown().rows(1).distinct_sources(), 31);

  // The accredited test record counts only when asked for.
  sv1::GetSummaryRequest with_test = SummaryRequest(kKz2021, revision);
  with_test.mutable_filter()->set_include_test(true);
  ASSERT_OK_AND_ASSIGN(sv1::GetSummaryResponse all, stats().GetSummary(with_test));
  EXPECT_EQ(all.summary().observers(), 399);

  // The custom scheme is listed.
  ASSERT_OK_AND_ASSIGN(sv1::ListRegionSchemesResponse schemes, stats().ListRegionSchemes({}));
  std::vector<std::string> scheme_names;
  for (const auto& s : schemes.schemes()) scheme_names.push_back(s.name());
  EXPECT_THAT(scheme_names, ::testing::IsSupersetOf({"m49-continent", "kz2021-article"}));

  // And the registry agrees.
  ExpectStatsEqualRecount(stats(), RecountFromRegistry(registry(), kKz2021));
}

// ---------------------------------------------------------------------------------------------
// Read-your-writes.

TEST_F(StatsE2eTest, MinRevisionGivesReadYourWrites) {
  ASSERT_NO_FATAL_FAILURE(StartRegistry());
  ASSERT_NO_FATAL_FAILURE(StartStats());
  const std::string election = ElectionName("e2e-ryw");
  WaitApplied(election, SetUpElection("e2e-ryw"));
  // Each write is read back at once through the revision it returned: the figures include it,
  // however far behind stats-service would otherwise be.
  for (int i = 1; i <= 15; ++i) {
    const int64_t revision = AddAccredited(election, i % 2 == 0 ? "DE" : "FR");
    ASSERT_OK_AND_ASSIGN(sv1::GetSummaryResponse s,
                         stats().GetSummary(SummaryRequest(election, revision)));
    EXPECT_GE(s.revision(), revision);
    EXPECT_EQ(s.summary().observers(), i) << "after write " << i << " at revision " << revision;
    ASSERT_OK_AND_ASSIGN(
        sv1::GetBreakdownResponse b,
        stats().GetBreakdown(BreakdownRequest(election, sv1::DIMENSION_SENDING_STATE, revision)));
    EXPECT_GE(b.revision(), revision);
    EXPECT_EQ(b.breakdown().total(), i);
  }
}

// A revision that will not come: the call fails with DEADLINE_EXCEEDED at its deadline, not
// later, and with the reason REVISION_NOT_APPLIED, so that the caller can tell it from a
// server that did not answer in time (for the reason to arrive, stats-service must answer a
// little before the deadline the caller set: at the deadline itself the caller's own timer
// wins).
TEST_F(StatsE2eTest, MinRevisionAheadFailsAtTheCallDeadline) {
  ASSERT_NO_FATAL_FAILURE(StartRegistry());
  ASSERT_NO_FATAL_FAILURE(StartStats());
  const std::string election = ElectionName("e2e-ahead");
  const int64_t head = SetUpElection("e2e-ahead");
  WaitApplied(election, head);

  const absl::Time start = absl::Now();
  absl::StatusOr<sv1::GetSummaryResponse> r =
      stats().GetSummary(SummaryRequest(election, head + 1000000), absl::Seconds(1));
  const absl::Duration took = absl::Now() - start;
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_LT(took, absl::Seconds(3));
  EXPECT_EQ(GetErrorDetails(r.status()).reason, "REVISION_NOT_APPLIED")
      << "the caller cannot tell a slow stats-service from a revision that is not applied: "
      << DescribeStatus(r.status());

  // stats-service still answers, at once, afterwards.
  EXPECT_OK(stats().GetSummary(SummaryRequest(election, head), absl::Seconds(5)));
}

// The server's own bound (--max-revision-wait) ends the wait even when the caller's deadline
// is far away, with the REVISION_NOT_APPLIED reason and the revisions in the metadata.
TEST_F(StatsE2eTest, MinRevisionWaitIsBoundedByMaxRevisionWait) {
  ASSERT_NO_FATAL_FAILURE(StartRegistry());
  ASSERT_NO_FATAL_FAILURE(StartStats({"--max-revision-wait", "1s"}));
  const std::string election = ElectionName("e2e-bounded");
  const int64_t head = SetUpElection("e2e-bounded");
  WaitApplied(election, head);

  const absl::Time start = absl::Now();
  absl::StatusOr<sv1::GetSummaryResponse> r =
      stats().GetSummary(SummaryRequest(election, head + 1000000), absl::Seconds(6));
  const absl::Duration took = absl::Now() - start;
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kDeadlineExceeded, "REVISION_NOT_APPLIED"));
  EXPECT_LT(took, absl::Seconds(4)) << "the 1s bound of --max-revision-wait was not kept";
  const ErrorDetails details = GetErrorDetails(r.status());
  EXPECT_EQ(details.metadata.count("min_revision") ? details.metadata.at("min_revision") : "",
            absl::StrCat(head + 1000000));
}

// ---------------------------------------------------------------------------------------------
// Health.

TEST_F(StatsE2eTest, HealthNotServingUntilTheFirstSync) {
  // A registry address with nothing listening: start the registry once for its port, stop it.
  ASSERT_NO_FATAL_FAILURE(StartRegistry());
  const int port = registry_process().port();
  ASSERT_OK(registry_process().Kill());
  ASSERT_NO_FATAL_FAILURE(StartStats({"--staleness-bound", "1s"}));

  ASSERT_OK_AND_ASSIGN(HealthStatus before, stats().Health());
  EXPECT_EQ(HealthStatusName(before), "NOT_SERVING");
  EXPECT_THAT(stats().GetSummary(SummaryRequest(kKz2021)),
              StatusIs(absl::StatusCode::kUnavailable, "NOT_SYNCED"));
  EXPECT_THAT(stats().GetBreakdown(BreakdownRequest(kKz2021, sv1::DIMENSION_ORGANISATION)),
              StatusIs(absl::StatusCode::kUnavailable, "NOT_SYNCED"));
  // Still not serving after a few reconnection attempts.
  absl::SleepFor(absl::Milliseconds(1500));
  EXPECT_EQ(stats().HealthName(), "NOT_SERVING");

  ASSERT_NO_FATAL_FAILURE(StartRegistry({}, port));
  EXPECT_TRUE(stats().WaitForHealth(HealthStatus::kServing, absl::Seconds(15)))
      << "stats-service is " << stats().HealthName() << " after the registry came up";
  const int64_t revision = SetUpElection("e2e-health");
  EXPECT_OK(stats().GetSummary(SummaryRequest(ElectionName("e2e-health"), revision)));
}

TEST_F(StatsE2eTest, HealthFollowsTheRegistrysReachability) {
  ASSERT_NO_FATAL_FAILURE(StartRegistry());
  ASSERT_NO_FATAL_FAILURE(StartStats({"--staleness-bound", "1s"}));
  const std::string election = ElectionName("e2e-reach");
  const int64_t revision = SetUpElection("e2e-reach");
  WaitApplied(election, revision);
  ASSERT_TRUE(stats().WaitForHealth(HealthStatus::kServing, absl::Seconds(10)))
      << stats().HealthName();
  // Serving stays serving while the registry is idle (progress notifications keep it fresh).
  absl::SleepFor(absl::Milliseconds(1500));
  EXPECT_EQ(stats().HealthName(), "SERVING");

  // Frozen registry: the stream stays open but silent.
  ASSERT_OK(registry_process().Pause());
  EXPECT_TRUE(stats().WaitForHealth(HealthStatus::kNotServing, absl::Seconds(8)))
      << "stats-service is " << stats().HealthName() << " with the registry frozen";
  // The last figures are still served, with their revision.
  ASSERT_OK_AND_ASSIGN(sv1::GetSummaryResponse stale,
                       stats().GetSummary(SummaryRequest(election), absl::Seconds(5)));
  EXPECT_GE(stale.revision(), revision);
  ASSERT_OK(registry_process().Resume());
  EXPECT_TRUE(stats().WaitForHealth(HealthStatus::kServing, absl::Seconds(10)))
      << "stats-service is " << stats().HealthName() << " after the registry resumed";

  // Killed registry.
  ASSERT_OK(registry_process().Kill());
  EXPECT_TRUE(stats().WaitForHealth(HealthStatus::kNotServing, absl::Seconds(8)))
      << "stats-service is " << stats().HealthName() << " with the registry down";
  ASSERT_NO_FATAL_FAILURE(StartRegistry({}, registry_process().port()));
  EXPECT_TRUE(stats().WaitForHealth(HealthStatus::kServing, absl::Seconds(15)))
      << "stats-service is " << stats().HealthName() << " after the registry restarted";
  const int64_t after = AddAccredited(election);
  ASSERT_OK_AND_ASSIGN(sv1::GetSummaryResponse s,
                       stats().GetSummary(SummaryRequest(election, after)));
  EXPECT_EQ(s.summary().observers(), 1);
}

// ---------------------------------------------------------------------------------------------
// Crashes and restarts: the figures always converge to an exact recount.

TEST_F(StatsE2eTest, StatsKilledDuringWritesConvergesToTheRecount) {
  ASSERT_NO_FATAL_FAILURE(StartRegistry());
  ASSERT_NO_FATAL_FAILURE(StartStats());
  const std::string election = ElectionName("e2e-crash");
  WaitApplied(election, SetUpElection("e2e-crash"));
  Writer writer(&registry(), election, {"ORG-A", "ORG-B", "ORG-C"},
                {"DE", "FR", "RU", "US", "JP", "TR"}, 20210110);
  writer.Steps(30);
  writer.StartThread();

  ASSERT_TRUE(writer.WaitForMoreWrites(40, absl::Seconds(20)));
  ASSERT_OK(stats_process().Kill());
  ASSERT_TRUE(writer.WaitForMoreWrites(40, absl::Seconds(20)));
  ASSERT_NO_FATAL_FAILURE(StartStats());  // New port: a new client.
  // Killed again while it may still be loading its initial state, then once more started.
  ASSERT_OK(stats_process().Kill());
  ASSERT_NO_FATAL_FAILURE(StartStats());
  ASSERT_TRUE(writer.WaitForMoreWrites(60, absl::Seconds(20)));
  writer.StopThread();
  ASSERT_THAT(writer.errors(), ::testing::IsEmpty());

  const Recount expected = RecountFromRegistry(registry(), election);
  EXPECT_EQ(writer.last_revision(), expected.revision);
  EXPECT_GT(expected.summary.observers(), 0);
  ExpectStatsEqualRecount(stats(), expected);
  EXPECT_GE(stats_process().CountInOutput(kSyncedLine), 2);
}

// A stand-in for a registry that is down: listens on the registry's port, accepts every
// connection and closes it at once (the gRPC handshake fails), and records when each came.
class RefusingListener {
 public:
  explicit RefusingListener(int port) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw TestFailure("socket() failed");
    int one = 1;
    setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || listen(fd_, 16) != 0) {
      close(fd_);
      throw TestFailure(absl::StrCat("cannot listen on 127.0.0.1:", port));
    }
    thread_ = std::thread([this] { Loop(); });
  }
  ~RefusingListener() {
    stop_ = true;
    thread_.join();
    close(fd_);
  }
  std::vector<absl::Time> accepted() {
    std::lock_guard<std::mutex> lock(mu_);
    return accepted_;
  }

 private:
  void Loop() {
    while (!stop_.load()) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 20) <= 0) continue;
      const int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      close(c);
      std::lock_guard<std::mutex> lock(mu_);
      accepted_.push_back(absl::Now());
    }
  }

  int fd_ = -1;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::vector<absl::Time> accepted_;  // Guarded by mu_.
};

// --reconnect-backoff-max is "the longest delay between reconnection attempts": while the
// registry is down, stats-service must try to reach it at least that often, so that it is back
// soon after the registry is.
TEST_F(StatsE2eTest, StatsRetriesTheRegistryAtLeastEveryReconnectBackoffMax) {
  ASSERT_NO_FATAL_FAILURE(StartRegistry());
  ASSERT_NO_FATAL_FAILURE(StartStats());  // --reconnect-backoff-max 500ms
  const std::string election = ElectionName("e2e-backoff");
  WaitApplied(election, SetUpElection("e2e-backoff"));
  const int port = registry_process().port();
  ASSERT_OK(registry_process().Kill());
  std::vector<absl::Time> attempts;
  {
    RefusingListener down(port);
    absl::SleepFor(absl::Seconds(4));
    attempts = down.accepted();
  }
  absl::Duration longest_gap = absl::ZeroDuration();
  std::vector<std::string> gaps;
  for (size_t i = 1; i < attempts.size(); ++i) {
    longest_gap = std::max(longest_gap, attempts[i] - attempts[i - 1]);
    gaps.push_back(absl::FormatDuration(attempts[i] - attempts[i - 1]));
  }
  EXPECT_GE(attempts.size(), 5u) << "connection attempts in 4s; gaps: "
                                 << absl::StrJoin(gaps, ", ");
  EXPECT_LT(longest_gap, absl::Milliseconds(1500)) << "gaps: " << absl::StrJoin(gaps, ", ");

  // And once the registry is back, stats follows it.
  ASSERT_NO_FATAL_FAILURE(StartRegistry({}, port));
  const int64_t revision = AddAccredited(election);
  ASSERT_OK_AND_ASSIGN(sv1::GetSummaryResponse s,
                       stats().GetSummary(SummaryRequest(election, revision), absl::Seconds(30)));
  EXPECT_EQ(s.summary().observers(), 1);
}

// The registry restarts on the same address while stats-service runs, with writes before and
// after: stats reconnects, resumes after its last applied revision (no rebuild needed: nothing
// was compacted) and converges to the recount. Meanwhile it keeps serving the last figures.
class StatsRegistryRestartTest : public StatsE2eTest {
 public:
  void Run(bool sigkill) {
    ASSERT_NO_FATAL_FAILURE(StartRegistry());
    ASSERT_NO_FATAL_FAILURE(StartStats());
    const std::string election = ElectionName("e2e-restart");
    SetUpElection("e2e-restart");
    Writer writer(&registry(), election, {"ORG-A", "ORG-B", "ORG-C"}, {"DE", "FR", "PL", "IN"},
                  sigkill ? 7u : 8u);
    writer.Steps(60);
    ASSERT_THAT(writer.errors(), ::testing::IsEmpty());
    const Recount before = RecountFromRegistry(registry(), election);
    ASSERT_NO_FATAL_FAILURE(ExpectStatsEqualRecount(stats(), before));

    const int port = registry_process().port();
    if (sigkill) {
      ASSERT_OK(registry_process().Kill());
    } else {
      // An idle client connection holds a graceful stop until that client notices the
      // GOAWAY (gRPC's idle client polls every 5s): close this test's own connection first.
      registry_client_.reset();
      ASSERT_OK_AND_ASSIGN(ExitResult stopped, registry_process().Stop());
      EXPECT_EQ(stopped.exit_code(), 0) << stopped.Describe();
    }
    // The last figures are still served while the registry is away.
    ASSERT_OK_AND_ASSIGN(sv1::GetSummaryResponse stale,
                         stats().GetSummary(SummaryRequest(election), absl::Seconds(5)));
    EXPECT_EQ(stale.summary().observers(), before.summary.observers());
    EXPECT_GE(stale.revision(), before.revision);
    absl::SleepFor(absl::Milliseconds(300));  // A few failed reconnection attempts.

    ASSERT_NO_FATAL_FAILURE(StartRegistry({}, port));
    writer.set_client(&registry());
    writer.Steps(60);
    ASSERT_THAT(writer.errors(), ::testing::IsEmpty());
    const Recount after = RecountFromRegistry(registry(), election);
    EXPECT_GT(after.revision, before.revision);
    ExpectStatsEqualRecount(stats(), after);
    EXPECT_GE(stats_process().CountInOutput("the change stream ended; reconnecting"), 1);
    EXPECT_EQ(stats_process().CountInOutput(kSyncedLine), 1)
        << "stats-service rebuilt from an initial state instead of resuming";
  }
};

TEST_F(StatsRegistryRestartTest, RegistrySigtermRestartOnSamePortStatsConverges) { Run(false); }
TEST_F(StatsRegistryRestartTest, RegistrySigkillRestartOnSamePortStatsConverges) { Run(true); }

// The registry compacts its change log past the revision stats-service would resume from:
// stats must notice (REVISION_COMPACTED), rebuild from a fresh initial state and still be exact.
TEST_F(StatsE2eTest, CompactionPastTheResumePointForcesARebuild) {
  ASSERT_NO_FATAL_FAILURE(StartRegistry({"--changelog-retention", "10"}));
  ASSERT_NO_FATAL_FAILURE(StartStats());
  const std::string election = ElectionName("e2e-compact");
  SetUpElection("e2e-compact");
  Writer writer(&registry(), election, {"ORG-A", "ORG-B", "ORG-C"}, {"DE", "FR", "RU", "CN"}, 99);
  writer.Steps(25);
  const Recount first = RecountFromRegistry(registry(), election);
  ASSERT_NO_FATAL_FAILURE(ExpectStatsEqualRecount(stats(), first));
  ASSERT_EQ(stats_process().CountInOutput(kRebuildLine), 0);

  // Freeze stats at `first.revision`; break its stream (registry crash and restart on the same
  // port); write well past the retention so the log no longer holds first.revision + 1.
  ASSERT_OK(stats_process().Pause());
  const int port = registry_process().port();
  ASSERT_OK(registry_process().Kill());
  ASSERT_NO_FATAL_FAILURE(StartRegistry({}, port));
  writer.set_client(&registry());
  writer.Steps(40);
  ASSERT_THAT(writer.errors(), ::testing::IsEmpty());
  // Compaction is asynchronous: wait until the registry refuses to resume there.
  rv1::WatchRequest resume;
  resume.set_start_revision(first.revision + 1);
  EXPECT_TRUE(PollUntil(
      [&] {
        std::unique_ptr<WatchStream> w = registry().Watch(resume);
        return GetErrorDetails(w->WaitFinished(absl::Milliseconds(500))).reason ==
               "REVISION_COMPACTED";
      },
      absl::Seconds(10), absl::Milliseconds(50)))
      << "the registry did not compact past revision " << first.revision + 1;

  ASSERT_OK(stats_process().Resume());
  EXPECT_TRUE(stats_process().WaitForOutput(kRebuildLine, 1, absl::Seconds(20)))
      << "stats-service did not rebuild after the compaction";
  const std::string output = stats_process().output();
  const size_t at = output.find(kRebuildLine);
  if (at != std::string::npos) {
    const std::string line = output.substr(at, output.find('\n', at) - at);
    EXPECT_THAT(line, HasSubstr("REVISION_COMPACTED"));
  }
  const Recount after = RecountFromRegistry(registry(), election);
  ExpectStatsEqualRecount(stats(), after);
  // The "synced" line is logged just after the swap, so it may trail the answer a little.
  EXPECT_TRUE(stats_process().WaitForOutput(kSyncedLine, 2, absl::Seconds(10)));
}

// ---------------------------------------------------------------------------------------------
// Streaming answers.

TEST_F(StatsE2eTest, WatchSummaryPushesChangesOnlyAndCoalescesForASlowReader) {
  ASSERT_NO_FATAL_FAILURE(StartRegistry());
  ASSERT_NO_FATAL_FAILURE(StartStats());
  const std::string election = ElectionName("e2e-watch");
  const std::string other = ElectionName("e2e-watch-other");
  SetUpElection("e2e-watch-other");
  const int64_t setup = SetUpElection("e2e-watch");
  WaitApplied(election, setup);

  sv1::WatchSummaryRequest req;
  *req.mutable_request() = SummaryRequest(election);
  auto stream = stats().WatchSummary(req);
  // The first answer at once.
  std::optional<sv1::WatchSummaryResponse> first = stream->Next(absl::Seconds(5));
  ASSERT_TRUE(first.has_value()) << "no first response: "
                                 << stream->WaitFinished(absl::ZeroDuration());
  EXPECT_GE(first->revision(), setup);
  EXPECT_EQ(first->summary().observers(), 0);

  // A change of the figures: a new answer with a higher revision.
  const int64_t r1 = AddAccredited(election);
  std::optional<sv1::WatchSummaryResponse> second = stream->Next(absl::Seconds(10));
  ASSERT_TRUE(second.has_value());
  EXPECT_GE(second->revision(), r1);
  EXPECT_GT(second->revision(), first->revision());
  EXPECT_EQ(second->summary().observers(), 1);

  // Writes to another election do not change these figures: nothing is sent.
  const int64_t r_other = AddAccredited(other);
  WaitApplied(other, r_other);
  std::optional<sv1::WatchSummaryResponse> none = stream->Next(absl::Seconds(1));
  EXPECT_FALSE(none.has_value()) << "unexpected " << none->DebugString();
  // Nor does a submission that is not accredited (the default filter counts ACCREDITED only).
  rv1::CreateObserverResponse submitted =
      MUST(registry().CreateObserver(NewObserverRequest(election, NextSeq(), "FR")));
  WaitApplied(election, submitted.revision());
  none = stream->Next(absl::Milliseconds(500));
  EXPECT_FALSE(none.has_value()) << "unexpected " << none->DebugString();
  // The next answer is for the next change here.
  const int64_t r2 = AddAccredited(election, "FR");
  std::optional<sv1::WatchSummaryResponse> third = stream->Next(absl::Seconds(10));
  ASSERT_TRUE(third.has_value());
  EXPECT_GE(third->revision(), r2);
  EXPECT_EQ(third->summary().observers(), 2);
  EXPECT_EQ(third->summary().states(), 2);

  // A slow reader: it does not read while 200 accreditations change the figures 200 times.
  // Its connection accepts little before the reader reads (small HTTP/2 window, no BDP
  // probing), so what it gets is up to stats-service.
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 128);
  StatsClient slow_client(grpc::CreateCustomChannel(stats_process().address(),
                                                    grpc::InsecureChannelCredentials(), args));
  auto slow = slow_client.WatchSummary(req, /*start_reading=*/false);
  rv1::BatchCreateObserversRequest batch;
  batch.set_parent(election);
  for (int i = 0; i < 200; ++i) {
    *batch.add_requests()->mutable_observer() = NewObserver(NextSeq(), i % 2 ? "PL" : "IN");
  }
  rv1::BatchCreateObserversResponse created = MUST(registry().BatchCreateObservers(batch));
  ASSERT_EQ(created.results_size(), 200);
  int64_t last = 0;
  for (const auto& row : created.results()) {
    ASSERT_EQ(row.status().code(), 0) << row.status().message();
    rv1::AccreditObserverRequest accredit;
    accredit.set_name(row.observer().name());
    last = MUST(registry().AccreditObserver(accredit)).revision();
  }
  ASSERT_OK_AND_ASSIGN(sv1::GetSummaryResponse final_figures,
                       stats().GetSummary(SummaryRequest(election, last)));
  EXPECT_EQ(final_figures.summary().observers(), 202);

  slow->StartReading();
  std::vector<sv1::WatchSummaryResponse> got;
  const bool caught_up = PollUntil(
      [&] {
        while (auto r = slow->Next(absl::ZeroDuration())) got.push_back(*r);
        return !got.empty() && got.back().summary().observers() == 202;
      },
      absl::Seconds(10), absl::Milliseconds(10));
  ASSERT_TRUE(caught_up) << "the slow reader got " << got.size() << " responses, last "
                         << (got.empty() ? "none" : got.back().DebugString());
  // A little more time for a backlog to show, if there were one.
  absl::SleepFor(absl::Milliseconds(300));
  while (auto r = slow->Next(absl::ZeroDuration())) got.push_back(*r);
  EXPECT_LE(got.size(), 20u) << "a slow reader got a backlog of " << got.size()
                             << " responses for 200 changes";
  std::string diff;
  EXPECT_TRUE(ProtoEquals(got.back().summary(), final_figures.summary(), &diff)) << diff;
  EXPECT_GE(got.back().revision(), last);
  EXPECT_EQ(got.back().summary().observers(), 202);
}

// ---------------------------------------------------------------------------------------------
// Bad input.

TEST_F(StatsE2eTest, BadRequestsNameTheBadField) {
  ASSERT_NO_FATAL_FAILURE(StartRegistry());
  ASSERT_NO_FATAL_FAILURE(StartStats());
  const std::string election = ElectionName("e2e-bad");
  WaitApplied(election, SetUpElection("e2e-bad"));

  EXPECT_THAT(stats().GetSummary(SummaryRequest(ElectionName("no-such-election"))),
              IsErrorNaming(absl::StatusCode::kNotFound, "election"));
  EXPECT_THAT(stats().GetBreakdown(
                  BreakdownRequest(ElectionName("no-such-election"), sv1::DIMENSION_ORGANISATION)),
              IsErrorNaming(absl::StatusCode::kNotFound, "election"));
  EXPECT_THAT(stats().GetSummary(SummaryRequest("kz-2021-majilis")), HasViolation("election"));
  EXPECT_THAT(stats().GetSummary(SummaryRequest(election, -1)), HasViolation("min_revision"));
  EXPECT_THAT(stats().GetBreakdown(BreakdownRequest(election, sv1::DIMENSION_UNSPECIFIED)),
              HasViolation("dimension"));
  EXPECT_THAT(
      stats().GetBreakdown(BreakdownRequest(election, sv1::DIMENSION_REGION, 0, "no-such-scheme")),
      HasViolation("region_scheme"));
  sv1::GetBreakdownRequest negative = BreakdownRequest(election, sv1::DIMENSION_ORGANISATION);
  negative.set_top_n(-1);
  EXPECT_THAT(stats().GetBreakdown(negative), HasViolation("top_n"));
  sv1::GetBreakdownRequest language = BreakdownRequest(election, sv1::DIMENSION_ORGANISATION);
  language.set_language_code("xx");
  EXPECT_THAT(stats().GetBreakdown(language), HasViolation("language_code"));

  // Streams: the same checks, the fields named by their path in the streaming request.
  sv1::WatchBreakdownRequest watch_breakdown;
  *watch_breakdown.mutable_request() = BreakdownRequest(election, sv1::DIMENSION_UNSPECIFIED);
  auto bad_breakdown = stats().WatchBreakdown(watch_breakdown);
  EXPECT_THAT(bad_breakdown->WaitFinished(absl::Seconds(10)), HasViolation("request.dimension"));
  EXPECT_EQ(bad_breakdown->responses_received(), 0u);
  sv1::WatchSummaryRequest watch_summary;
  *watch_summary.mutable_request() = SummaryRequest(ElectionName("no-such-election"));
  auto unknown = stats().WatchSummary(watch_summary);
  EXPECT_THAT(unknown->WaitFinished(absl::Seconds(10)),
              IsErrorNaming(absl::StatusCode::kNotFound, "request.election"));
  EXPECT_EQ(unknown->responses_received(), 0u);

  // None of it disturbed the service.
  EXPECT_OK(stats().GetSummary(SummaryRequest(election)));
  EXPECT_EQ(stats().HealthName(), "SERVING");
}

}  // namespace
}  // namespace observer::testing
