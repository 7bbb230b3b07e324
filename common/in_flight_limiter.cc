#include "common/in_flight_limiter.h"

namespace observer {

InFlightSlot::~InFlightSlot() { limiter_.Release(identity_); }

std::shared_ptr<const InFlightSlot> InFlightLimiter::TryAcquire(const std::string& identity,
                                                                Refusal* refusal) {
  *refusal = Refusal::kNone;
  if (max_total_ <= 0) return nullptr;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (total_ >= max_total_) {
      *refusal = Refusal::kTotal;
      return nullptr;
    }
    if (max_per_caller_ > 0 && !identity.empty()) {
      int64_t& mine = callers_[identity];
      if (mine >= max_per_caller_) {
        *refusal = Refusal::kCaller;
        return nullptr;
      }
      ++mine;
    }
    ++total_;
  }
  return std::make_shared<const InFlightSlot>(*this, identity);
}

void InFlightLimiter::Release(const std::string& identity) {
  std::lock_guard<std::mutex> lock(mu_);
  --total_;
  if (max_per_caller_ > 0 && !identity.empty()) {
    auto it = callers_.find(identity);
    if (it != callers_.end() && --it->second <= 0) callers_.erase(it);
  }
}

int64_t InFlightLimiter::in_flight() {
  std::lock_guard<std::mutex> lock(mu_);
  return total_;
}

int64_t InFlightLimiter::in_flight(const std::string& identity) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = callers_.find(identity);
  return it == callers_.end() ? 0 : it->second;
}

}  // namespace observer
