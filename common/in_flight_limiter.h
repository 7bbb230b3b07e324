// Bounds the unary calls a service has in progress (--max-in-flight), over all callers and per
// caller identity (--max-in-flight-per-caller), so that an overloaded service refuses work at
// once instead of queueing it without bound, and one caller cannot take every place.
// A place is held by an InFlightSlot until its last owner lets go of it.
#ifndef OBSERVER_COMMON_IN_FLIGHT_LIMITER_H_
#define OBSERVER_COMMON_IN_FLIGHT_LIMITER_H_

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "absl/container/flat_hash_map.h"

namespace observer {

class InFlightLimiter;

// One call's place; given back when destroyed.
class InFlightSlot {
 public:
  InFlightSlot(InFlightLimiter& limiter, std::string identity)
      : limiter_(limiter), identity_(std::move(identity)) {}
  ~InFlightSlot();
  InFlightSlot(const InFlightSlot&) = delete;
  InFlightSlot& operator=(const InFlightSlot&) = delete;

 private:
  InFlightLimiter& limiter_;
  const std::string identity_;
};

class InFlightLimiter {
 public:
  // `max_total` <= 0: no limit at all. `max_per_caller` <= 0: no limit per identity.
  InFlightLimiter(int64_t max_total, int64_t max_per_caller)
      : max_total_(max_total), max_per_caller_(max_per_caller) {}
  // Must outlive every slot it gave.
  ~InFlightLimiter() = default;

  enum class Refusal { kNone, kTotal, kCaller };
  // A place for a call of `identity` ("" for a caller without one: only the total applies), or
  // null with the limit that refused it in `*refusal`. Null with kNone when there is no limit.
  std::shared_ptr<const InFlightSlot> TryAcquire(const std::string& identity, Refusal* refusal);

  int64_t in_flight();
  int64_t in_flight(const std::string& identity);

 private:
  friend class InFlightSlot;
  void Release(const std::string& identity);

  const int64_t max_total_;
  const int64_t max_per_caller_;
  std::mutex mu_;
  int64_t total_ = 0;                                  // Guarded by mu_.
  absl::flat_hash_map<std::string, int64_t> callers_;  // Guarded by mu_; no zero entries.
};

}  // namespace observer

#endif  // OBSERVER_COMMON_IN_FLIGHT_LIMITER_H_
