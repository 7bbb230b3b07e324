#include "registry-service/src/storage/store_common.h"

#include <utility>

#include "common/status_macros.h"

namespace observer::registry {

absl::Status StoreShuttingDown() {
  return MakeError(absl::StatusCode::kUnavailable, reason::kUnavailable,
                   "the store is shutting down");
}

absl::Status ChangeBatch::CheckNotCompacted(int64_t from, int64_t compact) {
  if (from >= compact) return absl::OkStatus();
  return MakeError(
      absl::StatusCode::kOutOfRange, reason::kRevisionCompacted,
      absl::StrCat("revision ", from, " is compacted; the oldest retained revision is ", compact),
      {{"compact_revision", absl::StrCat(compact)}});
}

absl::StatusOr<bool> ChangeBatch::Add(absl::string_view stored) {
  const int64_t size = static_cast<int64_t>(stored.size());
  if (!events_.empty() && bytes_ + size > max_bytes_) return false;
  ASSIGN_OR_RETURN(v1::ChangeEvent event, ParseRecord<v1::ChangeEvent>(stored, "change"));
  bytes_ += size;
  events_.push_back(std::move(event));
  return true;
}

void WriteQueue::Push(WriteFn fn, WriteDone done) {
  auto pending = std::make_unique<PendingWrite>(PendingWrite{std::move(fn), std::move(done)});
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!closed_) queue_.push_back(std::move(pending));
  }
  if (pending != nullptr) {
    pending->done(StoreShuttingDown());
    return;
  }
  cv_.notify_one();
}

bool WriteQueue::TakeGroup(int max, WriteGroup& group) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [this] { return closed_ || !queue_.empty(); });
  if (queue_.empty()) return false;  // Closed, and everything queued was taken.
  while (!queue_.empty() && static_cast<int>(group.size()) < max) {
    group.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  return true;
}

void WriteQueue::Close() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
  }
  cv_.notify_all();
}

absl::StatusOr<std::vector<v1::ResourceImage>> StagedSnapshot::Next(int max_items,
                                                                    int64_t max_bytes) {
  std::vector<v1::ResourceImage> out;
  int64_t bytes = 0;
  while (stage_ < 3 && static_cast<int>(out.size()) < max_items) {
    ASSIGN_OR_RETURN(const bool exhausted, ReadStage(max_items, max_bytes, out, bytes));
    if (!exhausted) break;
    ++stage_;
    after_a_.clear();
    after_b_.clear();
  }
  return out;
}

absl::StatusOr<bool> StagedSnapshot::ReadStage(int max_items, int64_t max_bytes,
                                               std::vector<v1::ResourceImage>& out,
                                               int64_t& bytes) {
  const int want = max_items - static_cast<int>(out.size());
  int count = 0;
  bool full = false;
  bool corrupt = false;
  RETURN_IF_ERROR(ReadRows(stage_, after_a_, after_b_, want,
                           [&](absl::string_view a, absl::string_view b, absl::string_view data) {
                             const int size = static_cast<int>(data.size());
                             if (!out.empty() && bytes + size > max_bytes) {
                               full = true;
                               return false;
                             }
                             v1::ResourceImage image;
                             bool parsed = false;
                             if (stage_ == 0) {
                               parsed = image.mutable_election()->ParseFromArray(data.data(), size);
                             } else if (stage_ == 1) {
                               parsed =
                                   image.mutable_organisation()->ParseFromArray(data.data(), size);
                             } else {
                               parsed = image.mutable_observer()->ParseFromArray(data.data(), size);
                             }
                             if (!parsed) {
                               corrupt = true;
                               return false;
                             }
                             ++count;
                             bytes += size;
                             after_a_ = std::string(a);
                             after_b_ = std::string(b);
                             out.push_back(std::move(image));
                             return true;
                           }));
  if (corrupt) {
    return MakeError(absl::StatusCode::kDataLoss, reason::kStoreError,
                     "corrupt record in the store");
  }
  if (full) return false;
  return count < want;
}

}  // namespace observer::registry
