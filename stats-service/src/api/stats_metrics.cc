#include "stats-service/src/api/stats_metrics.h"

#include <algorithm>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace observer::stats {
namespace {

// stats_accredited_observers keeps its series bounded: this many elections (those with the
// most accredited observers) and this many rows per dimension, the rest folded into "_other".
constexpr size_t kMaxElectionsInMetrics = 10;
constexpr int kMaxRowsInMetrics = 20;
constexpr char kOther[] = "_other";
// The key of the row without one (e.g. observers of countries no region holds): an empty label
// value would mean no label at all to Prometheus.
constexpr char kNone[] = "_none";

struct MetricDimension {
  v1::Dimension dimension;
  const char* label;
};
constexpr MetricDimension kMetricDimensions[] = {
    {v1::DIMENSION_ORGANISATION, "organisation"},
    {v1::DIMENSION_SENDING_STATE, "country"},
    {v1::DIMENSION_REGION, "region"},
};

// Accredited, non-test observers of the largest elections by organisation, sending country
// and region (the default scheme, by sending country).
std::vector<Metrics::Sample> AccreditedObserverSamples(const Counters& counters) {
  std::vector<std::pair<std::string, int64_t>> elections;
  for (const std::string& id : counters.KnownElections()) {
    v1::GetSummaryRequest request;
    request.set_election(absl::StrCat("elections/", id));
    absl::StatusOr<v1::Summary> summary = counters.Summarize(request);
    if (summary.ok()) elections.emplace_back(id, summary->observers());
  }
  std::stable_sort(elections.begin(), elections.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  if (elections.size() > kMaxElectionsInMetrics) elections.resize(kMaxElectionsInMetrics);

  std::vector<Metrics::Sample> samples;
  for (const auto& [id, total] : elections) {
    for (const MetricDimension& d : kMetricDimensions) {
      v1::GetBreakdownRequest request;
      request.set_election(absl::StrCat("elections/", id));
      request.set_dimension(d.dimension);
      request.set_top_n(kMaxRowsInMetrics);
      absl::StatusOr<v1::Breakdown> breakdown = counters.Break(request);
      if (!breakdown.ok()) continue;
      for (const v1::BreakdownRow& row : breakdown->rows()) {
        samples.push_back({{{"election", id},
                            {"dimension", d.label},
                            {"key", row.folded()        ? kOther
                                    : row.key().empty() ? kNone
                                                        : row.key()},
                            {"name", row.display_name()}},
                           static_cast<double>(row.count())});
      }
    }
  }
  return samples;
}

}  // namespace

void ObserveStats(Metrics& metrics, const LiveStats& live, RegistrySubscriber& subscriber,
                  StatsHandler& handler) {
  using Progress = RegistrySubscriber::Progress;
  auto add = [&](const std::string& name, const std::string& help,
                 std::function<double(const Progress&)> field, bool counter = false) {
    metrics.AddCallback(
        name, help, [&subscriber, field] { return field(subscriber.GetProgress()); }, counter);
  };
  add("stats_applied_revision", "The registry revision the served figures reflect.",
      [](const Progress& p) { return static_cast<double>(p.applied); });
  add("stats_registry_head_revision", "The latest revision the registry has reported.",
      [](const Progress& p) { return static_cast<double>(p.registry_head); });
  add("stats_lag_revisions", "Revisions committed in the registry and not yet applied.",
      [](const Progress& p) {
        return static_cast<double>(std::max<int64_t>(0, p.registry_head - p.applied));
      });
  add("stats_lag_seconds", "How long the figures have been behind the registry's head.",
      [](const Progress& p) { return p.seconds_behind; });
  add(
      "stats_events_applied_total", "Live change events applied to the counters.",
      [](const Progress& p) { return static_cast<double>(p.events_applied); }, true);
  add(
      "stats_relists_total", "Rebuilds of the counters from a fresh initial state.",
      [](const Progress& p) { return static_cast<double>(p.rebuilds); }, true);
  add(
      "stats_reconnects_total", "Change streams reopened after they ended.",
      [](const Progress& p) { return static_cast<double>(p.reconnects); }, true);
  add("stats_ready", "1 when synced and not stale (health SERVING), else 0.",
      [](const Progress& p) { return p.ready ? 1.0 : 0.0; });
  add("stats_subscriber_connected", "1 while a change stream to the registry is open.",
      [](const Progress& p) { return p.connected ? 1.0 : 0.0; });
  metrics.AddCallback("stats_streaming_clients", "Open WatchSummary and WatchBreakdown streams.",
                      [&handler] { return static_cast<double>(handler.OpenStreams()); });
  metrics.AddGaugeFamilyCallback(
      "stats_accredited_observers",
      absl::StrCat("Accredited observers (test records excluded) by organisation, sending "
                   "country and region (default scheme), for the ",
                   kMaxElectionsInMetrics, " elections with the most; at most ", kMaxRowsInMetrics,
                   " keys per dimension, the rest summed under key=\"", kOther,
                   "\"; `name` is the key's English name. Empty until the first sync."),
      [&live] {
        std::vector<Metrics::Sample> samples;
        live.Read([&samples](const Counters& counters, int64_t) {
              samples = AccreditedObserverSamples(counters);
              return absl::OkStatus();
            })
            .IgnoreError();
        return samples;
      });
}

}  // namespace observer::stats
