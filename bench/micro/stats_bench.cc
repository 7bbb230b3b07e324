// Stats hot paths: applying the registry's change events to the counters, and assembling the
// answers of GetBreakdown and GetSummary from them.
//
// The aggregation benchmarks are parameterised by the size of the register the counters were
// filled from (`observers`). The counters are kept per group (election × status × category ×
// test flag, then per organisation, state, citizenship, gender), never per record, so their
// number — reported as the `counters` column — and with it the cost of a breakdown depend on
// how many distinct groups there are, not on how many observers: compare 10k with 1M. `wide`
// spreads citizenships and sending states over every ISO country, the most groups a register
// can have; without it the example data set's own few dozen countries are used.
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bench/micro/fixtures.h"
#include "benchmark/benchmark.h"
#include "observer/stats/v1/stats_service.pb.h"
#include "stats-service/src/aggregate/counters.h"
#include "stats-service/src/aggregate/live_stats.h"
#include "stats-service/src/aggregate/regions.h"

namespace observer::bench {
namespace {

namespace sv1 = ::observer::stats::v1;

constexpr int64_t kSmallRegister = 10'000;
constexpr int64_t kLargeRegister = 1'000'000;

size_t Next(size_t i, size_t n) { return i + 1 == n ? 0 : i + 1; }

// The live change stream of the example data set: per person the CREATED event, then the
// decision (if any), in data-set order. Replayed in a loop it keeps every `before` image
// counted, as a real stream does.
const std::vector<rv1::ChangeEvent>& LiveStream() {
  static const std::vector<rv1::ChangeEvent>* const stream = [] {
    auto* out = new std::vector<rv1::ChangeEvent>;
    for (const auto& events : ExampleHistory().per_observer) {
      out->insert(out->end(), events.begin(), events.end());
    }
    return out;
  }();
  return *stream;
}

// Counters of a register of `observers`, owned here (not inside a LiveStats): a copy of the
// LiveStatsOfSize state, which holds a few hundred counters whatever the size, so copying is
// cheaper than filling again. Made once per size.
stats::Counters& CountersOfSize(int64_t observers) {
  static auto* counters = new std::map<int64_t, std::unique_ptr<stats::Counters>>;
  std::unique_ptr<stats::Counters>& c = (*counters)[observers];
  if (c == nullptr) {
    absl::Status read =
        LiveStatsOfSize(observers, /*wide=*/false).Read([&c](const stats::Counters& live, int64_t) {
          c = std::make_unique<stats::Counters>(live);
          return absl::OkStatus();
        });
    if (!read.ok()) std::abort();
  }
  return *c;
}

int64_t CounterCountOf(const stats::LiveStats& live) {
  int64_t n = 0;
  absl::Status read = live.Read([&n](const stats::Counters& counters, int64_t) {
    n = counters.CounterCount();
    return absl::OkStatus();
  });
  return read.ok() ? n : -1;
}

// --- Aggregation update ---------------------------------------------------------------------

// Counters::Apply of one change event (a CREATED observer or a decision's UPDATED with before
// and after images) on counters of a register of `observers`.
void BM_Counters_Apply(benchmark::State& state) {
  stats::Counters& counters = CountersOfSize(state.range(0));
  const std::vector<rv1::ChangeEvent>& stream = LiveStream();
  size_t i = 0;
  for (auto _ : state) {
    absl::Status status = counters.Apply(stream[i]);
    if (!status.ok()) {
      state.SkipWithError(status.ToString().c_str());
      break;
    }
    benchmark::DoNotOptimize(status);
    i = Next(i, stream.size());
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["counters"] = static_cast<double>(counters.CounterCount());
}
BENCHMARK(BM_Counters_Apply)->ArgName("observers")->Arg(kSmallRegister)->Arg(kLargeRegister);

// LiveStats::ApplyLive of one Watch response of `batch` events, as the subscriber calls it:
// the write lock, the revision checks, Counters::Apply per event and the notification of
// waiters and streams. Items are events.
void BM_LiveStats_ApplyLive(benchmark::State& state) {
  stats::LiveStats& live = LiveStatsOfSize(state.range(0), /*wide=*/false);
  const size_t batch = static_cast<size_t>(state.range(1));
  const std::vector<rv1::ChangeEvent>& stream = LiveStream();
  std::vector<google::protobuf::RepeatedPtrField<rv1::ChangeEvent>> batches;
  for (size_t begin = 0; begin + batch <= stream.size(); begin += batch) {
    google::protobuf::RepeatedPtrField<rv1::ChangeEvent>& events = batches.emplace_back();
    for (size_t k = begin; k < begin + batch; ++k) *events.Add() = stream[k];
  }
  int64_t revision = live.applied_revision();
  size_t b = 0;
  for (auto _ : state) {
    google::protobuf::RepeatedPtrField<rv1::ChangeEvent>& events = batches[b];
    for (rv1::ChangeEvent& e : events) e.set_revision(++revision);
    absl::Status status = live.ApplyLive(events);
    if (!status.ok()) {
      state.SkipWithError(status.ToString().c_str());
      break;
    }
    benchmark::DoNotOptimize(status);
    b = Next(b, batches.size());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(batch));
  state.counters["counters"] = static_cast<double>(CounterCountOf(live));
}
BENCHMARK(BM_LiveStats_ApplyLive)
    ->ArgNames({"observers", "batch"})
    ->Args({kSmallRegister, 1})
    ->Args({kSmallRegister, 100})
    ->Args({kLargeRegister, 1})
    ->Args({kLargeRegister, 100});

// --- Breakdown assembly ---------------------------------------------------------------------

// One query answered as StatsHandler answers it, without gRPC: `valid` (the request's
// validation), then `fill` under the read lock, the revision, and the serialization the
// transport would do. False, with the benchmark skipped, on an error.
template <typename Response, typename Fill>
bool AnswerLikeTheHandler(benchmark::State& state, stats::LiveStats& live, absl::Status valid,
                          Fill fill, Response& response, std::string& wire) {
  absl::Status status = std::move(valid);
  if (status.ok()) {
    status = live.Read([&](const stats::Counters& counters, int64_t revision) {
      absl::Status filled = fill(counters, response);
      if (filled.ok()) response.set_revision(revision);
      return filled;
    });
  }
  if (!status.ok()) {
    state.SkipWithError(status.ToString().c_str());
    return false;
  }
  response.SerializeToString(&wire);
  benchmark::DoNotOptimize(wire);
  return true;
}

struct Query {
  sv1::Dimension dimension;
  const char* region_scheme = "";
  sv1::RegionBasis region_basis = sv1::REGION_BASIS_UNSPECIFIED;
  // Answered from Counters' cache (every query between two changes but the first) instead of
  // assembled (the first query after a change).
  bool cached = false;
};

// What StatsHandler::GetBreakdown does for a request, without gRPC: validate the request,
// read the counters under the read lock, assemble the Breakdown (merge the selected cells,
// name the rows in Russian, sort), fill the GetBreakdownResponse, and serialize it as the
// transport would. Items are breakdowns answered.
void BM_GetBreakdown(benchmark::State& state, Query query) {
  stats::LiveStats& live = LiveStatsOfSize(state.range(0), state.range(1) != 0);
  sv1::GetBreakdownRequest request;
  request.set_election(ExampleElectionName());
  request.set_dimension(query.dimension);
  request.set_region_scheme(query.region_scheme);
  request.set_region_basis(query.region_basis);
  request.set_language_code("ru");
  std::string wire;
  int rows = 0;
  for (auto _ : state) {
    sv1::GetBreakdownResponse response;
    const bool answered = AnswerLikeTheHandler(
        state, live, stats::Counters::ValidateBreakdownRequest(live.regions(), request),
        [&](const stats::Counters& counters, sv1::GetBreakdownResponse& out) {
          absl::StatusOr<sv1::Breakdown> breakdown =
              query.cached ? counters.Break(request) : counters.Assemble(request);
          if (!breakdown.ok()) return breakdown.status();
          *out.mutable_breakdown() = *std::move(breakdown);
          return absl::OkStatus();
        },
        response, wire);
    if (!answered) break;
    rows = response.breakdown().rows_size();
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["rows"] = rows;
  state.counters["counters"] = static_cast<double>(CounterCountOf(live));
}

void RegisterSizes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"observers", "wide"});
  for (int wide : {0, 1}) {
    for (int64_t observers : {kSmallRegister, kLargeRegister}) b->Args({observers, wide});
  }
}

BENCHMARK_CAPTURE(BM_GetBreakdown, organisation, Query{sv1::DIMENSION_ORGANISATION})
    ->Apply(RegisterSizes);
BENCHMARK_CAPTURE(BM_GetBreakdown, sending_state, Query{sv1::DIMENSION_SENDING_STATE})
    ->Apply(RegisterSizes);
BENCHMARK_CAPTURE(BM_GetBreakdown, sending_state_cached,
                  Query{sv1::DIMENSION_SENDING_STATE, "", sv1::REGION_BASIS_UNSPECIFIED, true})
    ->Apply(RegisterSizes);
BENCHMARK_CAPTURE(BM_GetBreakdown, citizenship, Query{sv1::DIMENSION_CITIZENSHIP})
    ->Apply(RegisterSizes);
BENCHMARK_CAPTURE(BM_GetBreakdown, region_m49_citizenship,
                  Query{sv1::DIMENSION_REGION, "", sv1::REGION_BASIS_CITIZENSHIP})
    ->Apply(RegisterSizes);
BENCHMARK_CAPTURE(BM_GetBreakdown, region_kz2021_state,
                  Query{sv1::DIMENSION_REGION, "kz2021-article", sv1::REGION_BASIS_SENDING_STATE})
    ->Apply(RegisterSizes);

// What StatsHandler::GetSummary does for a request, without gRPC, as BM_GetBreakdown.
void BM_GetSummary(benchmark::State& state) {
  stats::LiveStats& live = LiveStatsOfSize(state.range(0), state.range(1) != 0);
  sv1::GetSummaryRequest request;
  request.set_election(ExampleElectionName());
  std::string wire;
  for (auto _ : state) {
    sv1::GetSummaryResponse response;
    const bool answered = AnswerLikeTheHandler(
        state, live, stats::Counters::ValidateSummaryRequest(request),
        [&](const stats::Counters& counters, sv1::GetSummaryResponse& out) {
          absl::StatusOr<sv1::Summary> summary = counters.Summarize(request);
          if (!summary.ok()) return summary.status();
          *out.mutable_summary() = *std::move(summary);
          return absl::OkStatus();
        },
        response, wire);
    if (!answered) break;
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["counters"] = static_cast<double>(CounterCountOf(live));
}
BENCHMARK(BM_GetSummary)->Apply(RegisterSizes);

}  // namespace
}  // namespace observer::bench
