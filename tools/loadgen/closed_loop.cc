#include "tools/loadgen/closed_loop.h"

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <mutex>

#include "absl/time/clock.h"

namespace observer::loadgen {
namespace {

struct Run {
  const IssueCall* issue = nullptr;
  absl::Time measure_from;
  absl::Time stop_at;
  std::mutex mu;
  std::condition_variable cv;
  int running = 0;
  ClosedLoopResult result;
};

void Start(Run& run, int slot) {
  const absl::Time started = absl::Now();
  (*run.issue)(slot, [&run, slot, started](const grpc::Status& status) {
    const absl::Time now = absl::Now();
    {
      std::lock_guard<std::mutex> lock(run.mu);
      if (started >= run.measure_from && now <= run.stop_at) {
        if (status.ok()) {
          run.result.latencies_ms.push_back(absl::ToDoubleMilliseconds(now - started));
        } else {
          if (run.result.errors.empty()) run.result.first_error = status.error_message();
          ++run.result.errors[status.error_code()];
        }
      }
      if (now >= run.stop_at) {
        --run.running;
        run.cv.notify_all();
        return;
      }
    }
    Start(run, slot);
  });
}

}  // namespace

double ClosedLoopResult::per_second() const {
  return seconds > 0 ? static_cast<double>(latencies_ms.size()) / seconds : 0;
}

double ClosedLoopResult::Percentile(double p) const {
  if (latencies_ms.empty()) return 0;
  const size_t i = std::min(latencies_ms.size() - 1, static_cast<size_t>(p * latencies_ms.size()));
  return latencies_ms[i];
}

int64_t ClosedLoopResult::error_count() const {
  int64_t n = 0;
  for (const auto& [code, count] : errors) n += count;
  return n;
}

ClosedLoopResult RunClosedLoop(const ClosedLoopOptions& options, const IssueCall& issue) {
  Run run;
  run.issue = &issue;
  run.result.scenario = options.scenario;
  run.result.in_flight = std::max(1, options.in_flight);
  run.result.seconds = absl::ToDoubleSeconds(options.measure);
  run.measure_from = absl::Now() + options.warmup;
  run.stop_at = run.measure_from + options.measure;
  run.running = run.result.in_flight;
  for (int slot = 0; slot < run.result.in_flight; ++slot) Start(run, slot);
  std::unique_lock<std::mutex> lock(run.mu);
  run.cv.wait(lock, [&run] { return run.running == 0; });
  std::sort(run.result.latencies_ms.begin(), run.result.latencies_ms.end());
  return std::move(run.result);
}

void PrintResult(const ClosedLoopResult& r, const std::string& extra) {
  std::printf(
      "{\"scenario\":\"%s\",\"in_flight\":%d,\"seconds\":%.1f,\"ok\":%zu,\"errors\":%lld,"
      "\"per_second\":%.0f,\"p50_ms\":%.2f,\"p90_ms\":%.2f,\"p99_ms\":%.2f%s%s}\n",
      r.scenario.c_str(), r.in_flight, r.seconds, r.latencies_ms.size(),
      static_cast<long long>(r.error_count()), r.per_second(), r.Percentile(0.50),
      r.Percentile(0.90), r.Percentile(0.99), extra.empty() ? "" : ",", extra.c_str());
  std::fflush(stdout);
  if (!r.first_error.empty()) std::fprintf(stderr, "first error: %s\n", r.first_error.c_str());
  for (const auto& [code, count] : r.errors) {
    std::fprintf(stderr, "errors with code %d: %lld\n", code, static_cast<long long>(count));
  }
}

}  // namespace observer::loadgen
