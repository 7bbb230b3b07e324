// What the store backends share beyond the Store interface: decoding stored records, the
// error of a store shutting down, and a snapshot read in keyset pages, stage by stage.
#ifndef OBSERVER_REGISTRY_STORAGE_STORE_COMMON_H_
#define OBSERVER_REGISTRY_STORAGE_STORE_COMMON_H_

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/errors.h"
#include "registry-service/src/storage/store.h"

namespace observer::registry {

// A record as stored (serialized protobuf); DATA_LOSS naming `what` if it does not parse.
template <typename T>
absl::StatusOr<T> ParseRecord(absl::string_view bytes, absl::string_view what) {
  T message;
  if (!message.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return MakeError(absl::StatusCode::kDataLoss, reason::kStoreError,
                     absl::StrCat("corrupt ", what, " record in the store"));
  }
  return message;
}

// UNAVAILABLE: a write queued while the store closes.
absl::Status StoreShuttingDown();

// The change events of one ReadChanges, added in revision order as stored.
class ChangeBatch {
 public:
  // OUT_OF_RANGE / REVISION_COMPACTED (with the compaction point) for a read from `from`
  // below `compact`, else OK.
  static absl::Status CheckNotCompacted(int64_t from, int64_t compact);

  explicit ChangeBatch(int64_t max_bytes) : max_bytes_(max_bytes) {}
  // Adds one stored event; false (and not added) when it would pass the byte budget, which
  // the first event never does.
  absl::StatusOr<bool> Add(absl::string_view stored);
  std::vector<v1::ChangeEvent> Take() { return std::move(events_); }

 private:
  const int64_t max_bytes_;
  int64_t bytes_ = 0;
  std::vector<v1::ChangeEvent> events_;
};

// The write requests a backend's writer thread commits in groups (ADR 0002).
struct PendingWrite {
  WriteFn fn;
  WriteDone done;
};
using WriteGroup = std::vector<std::unique_ptr<PendingWrite>>;

class WriteQueue {
 public:
  // Queues a write; after Close, answers it at once with StoreShuttingDown().
  void Push(WriteFn fn, WriteDone done);
  // Waits for writes and moves up to `max` of them into `group` (empty before); false once
  // closed and drained.
  bool TakeGroup(int max, WriteGroup& group);
  // Nothing is queued after this; what was queued is still taken.
  void Close();

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<PendingWrite>> queue_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

// A snapshot read in three stages (elections by id, organisations by code, observers by
// election and id), each in keyset pages after the last key read. The backend reads the rows
// in its own transaction, held for the snapshot's life.
class StagedSnapshot : public SnapshotReader {
 public:
  explicit StagedSnapshot(int64_t revision) : revision_(revision) {}
  int64_t revision() const override { return revision_; }
  absl::StatusOr<std::vector<v1::ResourceImage>> Next(int max_items, int64_t max_bytes) final;

 protected:
  // Gives `row(key_a, key_b, data)` the rows of `stage` (0, 1, 2) after (after_a, after_b)
  // in key order (after_b and key_b are "" for stages 0 and 1), at most `limit`, until `row`
  // returns false.
  using RowFn =
      std::function<bool(absl::string_view key_a, absl::string_view key_b, absl::string_view data)>;
  virtual absl::Status ReadRows(int stage, const std::string& after_a, const std::string& after_b,
                                int limit, const RowFn& row) = 0;

 private:
  // Appends records of the current stage until `max_items`/`max_bytes` (at least one record
  // per call); true when the stage has no more records.
  absl::StatusOr<bool> ReadStage(int max_items, int64_t max_bytes,
                                 std::vector<v1::ResourceImage>& out, int64_t& bytes);

  const int64_t revision_;
  int stage_ = 0;
  std::string after_a_;
  std::string after_b_;
};

}  // namespace observer::registry

#endif  // OBSERVER_REGISTRY_STORAGE_STORE_COMMON_H_
