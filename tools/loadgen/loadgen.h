// The load generator's engine, on gRPC's callback client API: N channels (TCP connections) ×
// M calls in flight on each, a warm-up, then a measured window of fixed duration; optionally
// paced to a fixed rate (open loop, latency counted from each call's scheduled start, so a
// stalled server is not hidden by coordinated omission). Scenarios (scenarios.h) say what one
// call is; the engine counts, times and reports.
#ifndef OBSERVER_TOOLS_LOADGEN_LOADGEN_H_
#define OBSERVER_TOOLS_LOADGEN_LOADGEN_H_

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace observer::loadgen {

// What one call of a scenario is. Implementations keep the state of each slot's call (a slot
// never has two calls at once) and must be safe to call from gRPC's callback threads.
class Scenario {
 public:
  virtual ~Scenario() = default;
  // Short name for reports, e.g. "create", "get", "breakdown_organisation", "echo".
  virtual std::string name() const = 0;
  // Runs once before the load (creates the election, the records to read, ...); an error
  // aborts the run. RunLoad calls it; the scenarios here make a second call a no-op, so a
  // caller may also prepare ahead of RunLoad.
  virtual absl::Status Prepare() { return absl::OkStatus(); }
  // Told by RunLoad, before the first call, when the measured window starts and ends, so that
  // Extra() can count only the calls in it.
  virtual void SetWindow(absl::Time /*start*/, absl::Time /*end*/) {}
  // Starts call number `sequence` (unique over the run, from 0) for `slot` (0 <= slot <
  // channels × in_flight_per_channel, unique over all channels) on channel `channel` (0 <=
  // channel < channels) and arranges for `done` to be called exactly once with its status
  // (from any thread, possibly before Issue returns). Free the call's objects (its
  // ClientContext holds a reference to the channel) before calling `done`, and touch nothing
  // after: RunLoad may return, and the caller drop the scenario and its channels, as soon as
  // the last `done` is called, and a channel whose last reference goes on a gRPC callback
  // thread brings gRPC 1.51's callback completion queue down (grpc/grpc#32584).
  virtual void Issue(int channel, int slot, int64_t sequence,
                     std::function<void(const grpc::Status& status)> done) = 0;
  // Scenario-specific figures added to the result after the run (bytes per request, rows
  // returned, ...).
  virtual std::map<std::string, double> Extra() const { return {}; }
};

struct LoadOptions {
  int channels = 1;                // Separate connections (distinct channel arguments).
  int in_flight_per_channel = 64;  // Calls in flight on each channel.
  absl::Duration warmup = absl::Seconds(1);
  absl::Duration duration = absl::Seconds(10);
  // Calls started per second over all slots; 0 runs closed loop (each slot starts its next
  // call when the previous one completes). Paced calls are scheduled at fixed intervals and
  // their latency counts from the scheduled start, so a call that waited for a free slot
  // shows the wait; at most channels × in_flight_per_channel are in flight.
  double rate = 0;
};

struct LoadResult {
  std::string scenario;
  int channels = 0;
  int in_flight = 0;  // Over all channels.
  double rate = 0;    // As asked (0: closed loop).
  double seconds = 0;
  int64_t ok = 0;
  std::map<grpc::StatusCode, int64_t> errors;  // Calls that failed in the window, by code.
  std::string first_error;                     // "CODE: message" of the first failure.
  // Latency of successful calls completed in the window, milliseconds.
  double p50_ms = 0, p90_ms = 0, p99_ms = 0, p999_ms = 0, max_ms = 0, mean_ms = 0;
  std::map<std::string, double> extra;

  double per_second() const { return seconds > 0 ? static_cast<double>(ok) / seconds : 0; }
  int64_t error_count() const;
};

// Prepares `scenario`, runs it under `options` and returns the figures of the measured window:
// a call counts if it started at or after the window's start and completed before its end.
// Blocks until every call has completed. INVALID_ARGUMENT for options out of range; Prepare's
// error as it is.
absl::StatusOr<LoadResult> RunLoad(Scenario& scenario, const LoadOptions& options);

// `channels` channels to `target`, each its own connection; plaintext (loopback benchmarks).
std::vector<std::shared_ptr<grpc::Channel>> MakeChannels(const std::string& target, int channels);

// One JSON object (one line, no newline) with every field of `result`; error codes by name
// ("UNAVAILABLE": 3).
std::string ToJson(const LoadResult& result);
// A table for people: one row per result (scenario, in flight, calls/s, p50/p90/p99/p99.9 ms,
// errors).
std::string ToTable(const std::vector<LoadResult>& results);

}  // namespace observer::loadgen

#endif  // OBSERVER_TOOLS_LOADGEN_LOADGEN_H_
