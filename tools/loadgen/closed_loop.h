// A closed-loop load generator on gRPC's callback client API: a fixed number of calls in flight,
// each slot starting its next call when the previous one completes, for a warm-up and then a
// measured window. Prints one JSON line of figures, which is what our benchmarks report.
#ifndef OBSERVER_TOOLS_LOADGEN_CLOSED_LOOP_H_
#define OBSERVER_TOOLS_LOADGEN_CLOSED_LOOP_H_

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace observer::loadgen {

struct ClosedLoopOptions {
  std::string scenario;  // Named in the output line.
  int in_flight = 64;
  absl::Duration warmup = absl::Seconds(1);
  absl::Duration measure = absl::Seconds(10);
};

// Starts one call for `slot` (0 <= slot < in_flight; a slot never has two calls at once) and
// arranges for `done` to be called exactly once with its status.
using IssueCall =
    std::function<void(int slot, std::function<void(const grpc::Status& status)> done)>;

struct ClosedLoopResult {
  std::string scenario;
  int in_flight = 0;
  double seconds = 0;
  std::vector<double> latencies_ms;  // Successful calls in the measured window, sorted.
  std::map<int, int64_t> errors;     // Failed calls in the measured window, by gRPC code.
  std::string first_error;
  double per_second() const;
  double Percentile(double p) const;
  int64_t error_count() const;
};

ClosedLoopResult RunClosedLoop(const ClosedLoopOptions& options, const IssueCall& issue);

// One JSON line on stdout, with `extra` ("key":value pairs, already formatted) appended; errors
// to stderr.
void PrintResult(const ClosedLoopResult& result, const std::string& extra = "");

}  // namespace observer::loadgen

#endif  // OBSERVER_TOOLS_LOADGEN_CLOSED_LOOP_H_
