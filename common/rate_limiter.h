// Per-caller token buckets: each caller may make `rate` calls a second on average and `burst`
// at once. Thread-safe; no gRPC.
#ifndef OBSERVER_COMMON_RATE_LIMITER_H_
#define OBSERVER_COMMON_RATE_LIMITER_H_

#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>

#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace observer {

class RateLimiter {
 public:
  // `rate` <= 0 disables the limit (every call is admitted).
  RateLimiter(
      double rate, double burst, std::function<absl::Time()> clock = [] { return absl::Now(); });

  // Takes one token from `caller`'s bucket: zero when admitted, else how long until a token
  // is there (the call is not admitted and takes no token).
  absl::Duration Acquire(absl::string_view caller);

  bool enabled() const { return rate_ > 0; }

  // At most this many callers have their own bucket at once; beyond, new ones share one.
  static constexpr size_t kMaxBuckets = 100'000;
  static constexpr absl::string_view kOverflowBucket = "\x01overflow";

 private:
  struct Bucket {
    double tokens;
    absl::Time updated;
  };
  // Drops buckets that are full again (idle callers), so the map stays as small as the set of
  // recently active callers.
  void Sweep(absl::Time now);

  const double rate_;
  const double burst_;
  const std::function<absl::Time()> clock_;
  std::mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_;  // Guarded by mu_.
  absl::Time last_sweep_;                            // Guarded by mu_.
};

}  // namespace observer

#endif  // OBSERVER_COMMON_RATE_LIMITER_H_
