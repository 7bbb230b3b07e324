#include "stats-service/src/api/stats_metrics.h"

#include <algorithm>
#include <functional>
#include <string>

namespace observer::stats {

void ObserveStats(Metrics& metrics, RegistrySubscriber& subscriber, StatsHandler& handler) {
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
}

}  // namespace observer::stats
