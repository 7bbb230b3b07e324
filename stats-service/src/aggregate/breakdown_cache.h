// A bounded cache of assembled breakdowns, for Counters: a GetBreakdown answer is the same for
// every caller until the counters change, and assembling it (merging the cells' counts, naming
// and sorting the rows, building the message) costs more than the rest of the call.
//
// Entries are immutable and shared: a reader keeps the one it got (a shared_ptr) even if the
// cache is cleared or the entry evicted meanwhile. Lookups and insertions may run on many
// threads at once; the owner clears the cache whenever the state the entries were computed from
// changes (see Counters). Bounded by entries and by bytes (the serialized size of the
// breakdowns, a proxy for their memory): when an insertion would exceed either bound, the cache
// is emptied first (cheap, and rare: the key space is the set of distinct queries since the last
// change); a breakdown larger than the byte bound alone is never kept.
//
// Header-only. No gRPC here.
#ifndef OBSERVER_STATS_SERVICE_SRC_AGGREGATE_BREAKDOWN_CACHE_H_
#define OBSERVER_STATS_SERVICE_SRC_AGGREGATE_BREAKDOWN_CACHE_H_

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "observer/stats/v1/stats_service.pb.h"

namespace observer::stats {

class BreakdownCache {
 public:
  static constexpr size_t kDefaultMaxEntries = 256;
  static constexpr size_t kDefaultMaxBytes = 4 << 20;

  explicit BreakdownCache(size_t max_entries = kDefaultMaxEntries,
                          size_t max_bytes = kDefaultMaxBytes)
      : max_entries_(max_entries), max_bytes_(max_bytes) {}
  // A copy is an empty cache with the same bounds (what it holds is derived from its owner).
  BreakdownCache(const BreakdownCache& other)
      : BreakdownCache(other.max_entries_, other.max_bytes_) {}
  BreakdownCache& operator=(const BreakdownCache&) = delete;

  // The cache key of a request: every field that shapes the answer (all but `min_revision`,
  // which only says when to answer).
  static std::string KeyOf(const v1::GetBreakdownRequest& request);

  // The breakdown cached under `key`, or null.
  std::shared_ptr<const v1::Breakdown> Find(const std::string& key) const;
  // Keeps `breakdown` under `key` (replacing any entry there), within the bounds.
  void Insert(const std::string& key, std::shared_ptr<const v1::Breakdown> breakdown);
  // Forgets every entry.
  void Clear();

  // For tests and metrics.
  size_t entries() const;
  size_t bytes() const;

 private:
  struct Entry {
    std::shared_ptr<const v1::Breakdown> breakdown;
    size_t bytes = 0;
  };

  const size_t max_entries_;
  const size_t max_bytes_;
  mutable std::mutex mu_;
  absl::flat_hash_map<std::string, Entry> entries_;  // Guarded by mu_.
  size_t bytes_ = 0;                                 // Guarded by mu_: sum of entries' bytes.
};

inline std::string BreakdownCache::KeyOf(const v1::GetBreakdownRequest& request) {
  // The request itself, serialized, less `min_revision`: a field added to the request later is
  // part of the key without anyone having to remember it.
  v1::GetBreakdownRequest shape = request;
  shape.clear_min_revision();
  std::string key;
  {
    google::protobuf::io::StringOutputStream stream(&key);
    google::protobuf::io::CodedOutputStream out(&stream);
    out.SetSerializationDeterministic(true);
    shape.SerializeToCodedStream(&out);
  }
  return key;
}

inline std::shared_ptr<const v1::Breakdown> BreakdownCache::Find(const std::string& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(key);
  return it == entries_.end() ? nullptr : it->second.breakdown;
}

inline void BreakdownCache::Insert(const std::string& key,
                                   std::shared_ptr<const v1::Breakdown> breakdown) {
  const size_t bytes = key.size() + breakdown->ByteSizeLong();
  if (bytes > max_bytes_ || max_entries_ == 0) return;
  // Whatever leaves the cache is freed outside the lock.
  std::shared_ptr<const v1::Breakdown> replaced;
  absl::flat_hash_map<std::string, Entry> evicted;
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = entries_.find(key); it != entries_.end()) {
    bytes_ -= it->second.bytes;
    replaced = std::move(it->second.breakdown);
    entries_.erase(it);
  }
  if (entries_.size() + 1 > max_entries_ || bytes_ + bytes > max_bytes_) {
    evicted.swap(entries_);
    bytes_ = 0;
  }
  entries_.emplace(key, Entry{std::move(breakdown), bytes});
  bytes_ += bytes;
}

inline void BreakdownCache::Clear() {
  absl::flat_hash_map<std::string, Entry> old;  // Freed outside the lock.
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (entries_.empty()) return;
    old.swap(entries_);
    bytes_ = 0;
  }
}

inline size_t BreakdownCache::entries() const {
  std::lock_guard<std::mutex> lock(mu_);
  return entries_.size();
}

inline size_t BreakdownCache::bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return bytes_;
}

}  // namespace observer::stats

#endif  // OBSERVER_STATS_SERVICE_SRC_AGGREGATE_BREAKDOWN_CACHE_H_
