// stats-service's own Prometheus metrics, read at scrape time: the applied revision, the
// registry's head as last reported, the lag in revisions and in seconds, live events applied,
// rebuilds (relists), reconnects, readiness, whether a change stream is open, and the
// streaming answers being served; and the accredited observers of the largest elections by
// organisation, sending country and region (bounded).
#ifndef OBSERVER_STATS_SERVICE_SRC_API_STATS_METRICS_H_
#define OBSERVER_STATS_SERVICE_SRC_API_STATS_METRICS_H_

#include "common/metrics.h"
#include "stats-service/src/aggregate/live_stats.h"
#include "stats-service/src/api/stats_handler.h"
#include "stats-service/src/subscriber/registry_subscriber.h"

namespace observer::stats {

// Registers the metrics; `live`, `subscriber` and `handler` must outlive the metrics endpoint.
void ObserveStats(Metrics& metrics, const LiveStats& live, RegistrySubscriber& subscriber,
                  StatsHandler& handler);

}  // namespace observer::stats

#endif  // OBSERVER_STATS_SERVICE_SRC_API_STATS_METRICS_H_
