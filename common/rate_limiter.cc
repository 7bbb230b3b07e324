#include "common/rate_limiter.h"

#include <algorithm>
#include <utility>

namespace observer {

RateLimiter::RateLimiter(double rate, double burst, std::function<absl::Time()> clock)
    : rate_(rate), burst_(std::max(burst, 1.0)), clock_(std::move(clock)), last_sweep_(clock_()) {}

absl::Duration RateLimiter::Acquire(absl::string_view caller) {
  if (rate_ <= 0) return absl::ZeroDuration();
  const absl::Time now = clock_();
  std::lock_guard<std::mutex> lock(mu_);
  if (now - last_sweep_ > absl::Seconds(60) ||
      (buckets_.size() >= kMaxBuckets && now - last_sweep_ > absl::Seconds(1))) {
    Sweep(now);
  }
  // Past kMaxBuckets active callers (names are free to invent on plaintext loopback), new
  // callers share one bucket.
  const std::string key = buckets_.size() < kMaxBuckets || buckets_.count(std::string(caller)) > 0
                              ? std::string(caller)
                              : std::string(kOverflowBucket);
  auto [it, inserted] = buckets_.try_emplace(key, Bucket{burst_, now});
  Bucket& bucket = it->second;
  if (!inserted) {
    // A clock stepped back refills nothing, and the bucket counts from the new time on.
    if (now > bucket.updated) {
      bucket.tokens =
          std::min(burst_, bucket.tokens + absl::ToDoubleSeconds(now - bucket.updated) * rate_);
    }
    bucket.updated = now;
  }
  if (bucket.tokens >= 1) {
    bucket.tokens -= 1;
    return absl::ZeroDuration();
  }
  return absl::Seconds((1 - bucket.tokens) / rate_);
}

void RateLimiter::Sweep(absl::Time now) {
  last_sweep_ = now;
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    const double refilled =
        it->second.tokens + absl::ToDoubleSeconds(now - it->second.updated) * rate_;
    if (refilled >= burst_) {
      it = buckets_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace observer
