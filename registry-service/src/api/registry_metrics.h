// registry-service's own Prometheus metrics: commits (count, requests per group, latency,
// failures by kind), idempotent replays, and, read at scrape time, the head and compacted
// revisions, open watches, the store's size on disk and the room left on its file system. No ids or
// names as labels.
#ifndef OBSERVER_REGISTRY_SERVICE_SRC_API_REGISTRY_METRICS_H_
#define OBSERVER_REGISTRY_SERVICE_SRC_API_REGISTRY_METRICS_H_

#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/metrics.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/histogram.h"
#include "registry-service/src/api/registry_handler.h"
#include "registry-service/src/changelog/watch_hub.h"
#include "registry-service/src/storage/store.h"

namespace observer::registry {

class RegistryMetrics {
 public:
  explicit RegistryMetrics(Metrics& metrics);

  // For SqliteStoreOptions::on_commit, on_sync and RegistryOptions::on_replay.
  void OnCommit(int requests, absl::Duration duration, const absl::Status& commit);
  void OnSync(absl::Duration duration);
  void OnReplay();

  // The gauges read at scrape time. The objects must outlive the metrics endpoint.
  // `store_path`: the SQLite file, for the file and file system gauges ("" for PostgreSQL).
  void Observe(Store& store, WatchHub& hub, RegistryHandler& handler, std::string store_path);

 private:
  Metrics& metrics_;
  prometheus::Counter& commits_;
  prometheus::Histogram& group_size_;
  prometheus::Histogram& commit_seconds_;
  prometheus::Histogram& sync_seconds_;
  prometheus::Family<prometheus::Counter>& failures_;
  prometheus::Counter& failures_full_;
  prometheus::Counter& failures_busy_;
  prometheus::Counter& failures_io_;
  prometheus::Counter& replays_;
};

}  // namespace observer::registry

#endif  // OBSERVER_REGISTRY_SERVICE_SRC_API_REGISTRY_METRICS_H_
