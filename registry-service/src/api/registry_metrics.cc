#include "registry-service/src/api/registry_metrics.h"

#include <sys/stat.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/log.h"

namespace observer::registry {
namespace {

double FileSize(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0 ? static_cast<double>(st.st_size) : 0;
}

// registry_observers keeps its series bounded: this many elections, then one for the rest.
constexpr size_t kMaxElectionsInMetrics = 20;
constexpr absl::string_view kOtherElections = "_other";

// "OBSERVER_STATUS_ACCREDITED" → "ACCREDITED".
std::string StatusLabel(v1::ObserverStatus status) {
  const std::string& name = v1::ObserverStatus_Name(status);
  if (name.empty()) return absl::StrCat(static_cast<int>(status));
  return std::string(absl::StripPrefix(name, "OBSERVER_STATUS_"));
}

std::vector<Metrics::Sample> ObserverSamples(Store& store) {
  absl::StatusOr<std::vector<ObserverCount>> counts = store.CountObservers();
  if (!counts.ok()) {
    // The scrape goes on without this family.
    LogWarning("cannot count observers for metrics", {{"error", counts.status().message()}});
    return {};
  }
  // Elections by observer count, largest first (ties by id); the tail is folded.
  std::map<std::string, int64_t> totals;
  for (const ObserverCount& c : *counts) totals[c.election_id] += c.count;
  std::vector<std::pair<std::string, int64_t>> order(totals.begin(), totals.end());
  std::stable_sort(order.begin(), order.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  std::set<std::string> shown;
  for (size_t i = 0; i < order.size() && i < kMaxElectionsInMetrics; ++i) {
    shown.insert(order[i].first);
  }
  std::map<std::pair<std::string, std::string>, int64_t> series;
  for (const ObserverCount& c : *counts) {
    const std::string election =
        shown.count(c.election_id) > 0 ? c.election_id : std::string(kOtherElections);
    series[{election, StatusLabel(c.status)}] += c.count;
  }
  std::vector<Metrics::Sample> samples;
  for (const auto& [labels, count] : series) {
    samples.push_back(
        {{{"election", labels.first}, {"status", labels.second}}, static_cast<double>(count)});
  }
  return samples;
}

}  // namespace

RegistryMetrics::RegistryMetrics(Metrics& metrics)
    : metrics_(metrics),
      commits_(prometheus::BuildCounter()
                   .Name("registry_commits_total")
                   .Help("Transactions committed (each a group of write requests, fsynced before "
                         "any answer).")
                   .Register(metrics.registry())
                   .Add({})),
      group_size_(prometheus::BuildHistogram()
                      .Name("registry_commit_group_requests")
                      .Help("Write requests per committed transaction group.")
                      .Register(metrics.registry())
                      .Add({}, prometheus::Histogram::BucketBoundaries{1, 2, 4, 8, 16, 32, 64, 128,
                                                                       256, 512})),
      commit_seconds_(
          prometheus::BuildHistogram()
              .Name("registry_commit_seconds")
              .Help("Time from BEGIN to the end of COMMIT (the WAL written, before its fsync) per "
                    "transaction group.")
              .Register(metrics.registry())
              .Add({}, prometheus::Histogram::BucketBoundaries{0.0005, 0.001, 0.002, 0.005, 0.01,
                                                               0.02, 0.05, 0.1, 0.25, 0.5, 1})),
      sync_seconds_(
          prometheus::BuildHistogram()
              .Name("registry_wal_sync_seconds")
              .Help("Time of each fdatasync of the store's WAL, which makes every group committed "
                    "before it durable (no answer before it ends).")
              .Register(metrics.registry())
              .Add({}, prometheus::Histogram::BucketBoundaries{0.0005, 0.001, 0.002, 0.005, 0.01,
                                                               0.02, 0.05, 0.1, 0.25, 0.5, 1})),
      failures_(prometheus::BuildCounter()
                    .Name("registry_commit_failures_total")
                    .Help("Transaction groups that could not be committed, by kind: full (store "
                          "full), busy (locked by another process), io (write or fsync "
                          "failed).")
                    .Register(metrics.registry())),
      failures_full_(failures_.Add({{"kind", "full"}})),
      failures_busy_(failures_.Add({{"kind", "busy"}})),
      failures_io_(failures_.Add({{"kind", "io"}})),
      replays_(prometheus::BuildCounter()
                   .Name("registry_idempotent_replays_total")
                   .Help("Writes answered from a stored response (a repeated request_id).")
                   .Register(metrics.registry())
                   .Add({})) {}

void RegistryMetrics::OnCommit(int requests, absl::Duration duration, const absl::Status& commit) {
  if (commit.ok()) {
    commits_.Increment();
    group_size_.Observe(requests);
    commit_seconds_.Observe(absl::ToDoubleSeconds(duration));
    return;
  }
  switch (commit.code()) {
    case absl::StatusCode::kResourceExhausted:
      failures_full_.Increment();
      break;
    case absl::StatusCode::kUnavailable:
      failures_busy_.Increment();
      break;
    default:
      failures_io_.Increment();
  }
}

void RegistryMetrics::OnSync(absl::Duration duration) {
  sync_seconds_.Observe(absl::ToDoubleSeconds(duration));
}

void RegistryMetrics::OnReplay() { replays_.Increment(); }

void RegistryMetrics::Observe(Store& store, WatchHub& hub, RegistryHandler& handler,
                              std::string store_path) {
  metrics_.AddCallback("registry_head_revision", "The latest committed store revision.",
                       [&hub] { return static_cast<double>(hub.head()); });
  metrics_.AddCallback("registry_compacted_revision",
                       "The oldest revision the change log still holds (watchers starting "
                       "below it must start over).",
                       [&store] {
                         absl::StatusOr<Revisions> r = store.GetRevisions();
                         return r.ok() ? static_cast<double>(r->compact) : 0.0;
                       });
  metrics_.AddCallback("registry_watchers", "Open Watch streams.",
                       [&handler] { return static_cast<double>(handler.OpenWatches()); });
  metrics_.AddCallback(
      "registry_watcher_max_lag_revisions",
      "Revisions the slowest open Watch stream has not been sent yet (0 with none open).",
      [&handler, &hub] { return static_cast<double>(handler.MaxWatchLag(hub.head())); });
  metrics_.AddGaugeFamilyCallback(
      "registry_observers",
      absl::StrCat("Observer records (test records included) per election and status, for the ",
                   kMaxElectionsInMetrics,
                   " elections with the most observers; the others are summed under "
                   "election=\"",
                   kOtherElections, "\"."),
      [&store] { return ObserverSamples(store); });
  // A PostgreSQL store's disk is the database server's, watched there.
  if (store_path.empty()) return;
  // The file system holding the store: what "nearly full" is measured against.
  const std::string dir = store_path.find('/') == std::string::npos
                              ? "."
                              : store_path.substr(0, store_path.rfind('/') + 1);
  metrics_.AddCallback("registry_store_filesystem_avail_bytes",
                       "Bytes available to the registry on the store's file system.", [dir] {
                         struct statvfs fs {};
                         return statvfs(dir.c_str(), &fs) == 0
                                    ? static_cast<double>(fs.f_bavail) * fs.f_frsize
                                    : 0.0;
                       });
  metrics_.AddCallback(
      "registry_store_filesystem_size_bytes", "Size of the store's file system in bytes.", [dir] {
        struct statvfs fs {};
        return statvfs(dir.c_str(), &fs) == 0 ? static_cast<double>(fs.f_blocks) * fs.f_frsize
                                              : 0.0;
      });
  metrics_.AddCallback("registry_store_size_bytes",
                       "Size of the store's files on disk (database and write-ahead log).",
                       [path = std::move(store_path)] {
                         return FileSize(path) + FileSize(absl::StrCat(path, "-wal"));
                       });
}

}  // namespace observer::registry
