#include "registry-service/src/storage/store.h"

#include <future>

namespace observer::registry {

absl::Status Store::Write(WriteFn fn) {
  std::promise<absl::Status> promise;
  std::future<absl::Status> result = promise.get_future();
  WriteAsync(std::move(fn), [&promise](absl::Status status) { promise.set_value(status); });
  return result.get();
}

absl::Status Store::Compact(int64_t keep_from) {
  std::promise<absl::Status> promise;
  std::future<absl::Status> result = promise.get_future();
  CompactAsync(keep_from, [&promise](absl::Status status) { promise.set_value(status); });
  return result.get();
}

}  // namespace observer::registry
