#include "tools/loadgen/loadgen.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"

namespace observer::loadgen {
namespace {

// More slots than this is a typo, not a benchmark.
constexpr int64_t kMaxSlots = 100000;

// What one slot saw in the measured window. A slot has at most one call at a time, and its
// next call starts after the previous one was recorded, so its record needs no lock.
struct SlotRecord {
  int channel = 0;
  std::vector<double> latencies_ms;
  std::map<grpc::StatusCode, int64_t> errors;
  absl::Time first_error_time = absl::InfiniteFuture();
  std::string first_error;
  // Closed loop: whether the slot's call is being issued (see Run::StartClosed).
  std::atomic<int> state{0};
};

// Slot states of the closed loop.
constexpr int kIdle = 0;             // The call was issued; its callback starts the next one.
constexpr int kIssuing = 1;          // Issue has not returned yet.
constexpr int kCompletedInline = 2;  // The call completed before Issue returned.

std::string CodeName(grpc::StatusCode code) {
  std::string name = absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
  return name.empty() ? absl::StrCat("CODE_", static_cast<int>(code)) : name;
}

class Run {
 public:
  Run(Scenario& scenario, const LoadOptions& options)
      : scenario_(scenario),
        options_(options),
        slots_(static_cast<size_t>(options.channels) *
               static_cast<size_t>(options.in_flight_per_channel)) {
    for (size_t i = 0; i < slots_.size(); ++i) {
      slots_[i].channel = static_cast<int>(i / static_cast<size_t>(options.in_flight_per_channel));
    }
  }

  LoadResult Go() {
    start_ = absl::Now();
    window_start_ = start_ + options_.warmup;
    window_end_ = window_start_ + options_.duration;
    scenario_.SetWindow(window_start_, window_end_);
    if (options_.rate > 0) {
      RunPaced();
    } else {
      RunClosed();
    }
    return Collect();
  }

 private:
  void Record(size_t slot, absl::Time started, absl::Time completed, const grpc::Status& status) {
    if (started < window_start_ || completed >= window_end_) return;
    SlotRecord& r = slots_[slot];
    if (status.ok()) {
      r.latencies_ms.push_back(absl::ToDoubleMilliseconds(completed - started));
      return;
    }
    ++r.errors[status.error_code()];
    if (completed < r.first_error_time) {
      r.first_error_time = completed;
      r.first_error = absl::StrCat(CodeName(status.error_code()), ": ", status.error_message());
    }
  }

  // --- Closed loop: each slot starts its next call when the previous one completes. ---------

  void RunClosed() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      running_ = slots_.size();
    }
    for (size_t slot = 0; slot < slots_.size(); ++slot) StartClosed(slot);
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return running_ == 0; });
  }

  // Issues the slot's calls until one completes after Issue returned (its callback then goes
  // on) or the window is over. A call that completes inside Issue goes on in this loop rather
  // than recursing.
  void StartClosed(size_t slot) {
    SlotRecord& r = slots_[slot];
    for (;;) {
      if (absl::Now() >= window_end_) {
        std::lock_guard<std::mutex> lock(mu_);
        if (--running_ == 0) cv_.notify_all();
        return;
      }
      const int64_t sequence = next_sequence_.fetch_add(1);
      r.state.store(kIssuing);
      const absl::Time started = absl::Now();
      scenario_.Issue(
          r.channel, static_cast<int>(slot), sequence,
          [this, slot, started](const grpc::Status& status) {
            Record(slot, started, absl::Now(), status);
            int expected = kIssuing;
            if (slots_[slot].state.compare_exchange_strong(expected, kCompletedInline)) {
              return;  // The issuing loop goes on.
            }
            StartClosed(slot);
          });
      int expected = kIssuing;
      if (r.state.compare_exchange_strong(expected, kIdle)) return;  // The callback goes on.
    }
  }

  // --- Paced: calls scheduled at fixed intervals, each on a free slot. -----------------------

  void RunPaced() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (size_t slot = slots_.size(); slot > 0; --slot) free_.push_back(slot - 1);
    }
    const double total_seconds = absl::ToDoubleSeconds(window_end_ - start_);
    const int64_t scheduled_calls = static_cast<int64_t>(std::ceil(total_seconds * options_.rate));
    const int64_t first_in_window =
        static_cast<int64_t>(std::ceil(absl::ToDoubleSeconds(options_.warmup) * options_.rate));
    for (int64_t k = 0; k < scheduled_calls; ++k) {
      const absl::Time scheduled = start_ + absl::Seconds(static_cast<double>(k) / options_.rate);
      if (scheduled >= window_end_) break;
      const absl::Time now = absl::Now();
      if (scheduled > now) absl::SleepFor(scheduled - now);
      size_t slot = 0;
      {
        std::unique_lock<std::mutex> lock(mu_);
        if (!cv_.wait_until(lock, absl::ToChronoTime(window_end_),
                            [this] { return !free_.empty(); })) {
          // Every slot busy until the end: the rest of the schedule is never sent.
          unsent_ = std::max<int64_t>(0, scheduled_calls - std::max(k, first_in_window));
          break;
        }
        slot = free_.back();
        free_.pop_back();
      }
      scenario_.Issue(slots_[slot].channel, static_cast<int>(slot), k,
                      [this, slot, scheduled](const grpc::Status& status) {
                        // From the scheduled start: time spent waiting for a slot counts.
                        Record(slot, scheduled, absl::Now(), status);
                        std::lock_guard<std::mutex> lock(mu_);
                        free_.push_back(slot);
                        cv_.notify_all();
                      });
    }
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return free_.size() == slots_.size(); });
  }

  LoadResult Collect() {
    LoadResult result;
    result.scenario = scenario_.name();
    result.channels = options_.channels;
    result.in_flight = static_cast<int>(slots_.size());
    result.rate = options_.rate;
    result.seconds = absl::ToDoubleSeconds(options_.duration);
    std::vector<double> latencies;
    absl::Time first_error_time = absl::InfiniteFuture();
    for (SlotRecord& r : slots_) {
      latencies.insert(latencies.end(), r.latencies_ms.begin(), r.latencies_ms.end());
      for (const auto& [code, count] : r.errors) result.errors[code] += count;
      if (r.first_error_time < first_error_time) {
        first_error_time = r.first_error_time;
        result.first_error = r.first_error;
      }
    }
    std::sort(latencies.begin(), latencies.end());
    result.ok = static_cast<int64_t>(latencies.size());
    if (!latencies.empty()) {
      // Nearest rank: the smallest latency at or above the fraction p of the calls.
      auto percentile = [&latencies](double p) {
        const double rank = std::ceil(p * static_cast<double>(latencies.size()));
        const size_t i = rank < 1 ? 0 : static_cast<size_t>(rank) - 1;
        return latencies[std::min(i, latencies.size() - 1)];
      };
      result.p50_ms = percentile(0.50);
      result.p90_ms = percentile(0.90);
      result.p99_ms = percentile(0.99);
      result.p999_ms = percentile(0.999);
      result.max_ms = latencies.back();
      double sum = 0;
      for (double l : latencies) sum += l;
      result.mean_ms = sum / static_cast<double>(latencies.size());
    }
    result.extra = scenario_.Extra();
    if (options_.rate > 0) result.extra["unsent_calls"] = static_cast<double>(unsent_);
    return result;
  }

  Scenario& scenario_;
  const LoadOptions options_;
  std::vector<SlotRecord> slots_;
  absl::Time start_, window_start_, window_end_;
  std::atomic<int64_t> next_sequence_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  size_t running_ = 0;        // Guarded by mu_: closed-loop slots still issuing.
  std::vector<size_t> free_;  // Guarded by mu_: paced slots without a call.
  int64_t unsent_ = 0;        // Paced calls scheduled in the window that no slot was free for.
};

// JSON text of `s` (quoted); invalid UTF-8 becomes U+FFFD.
std::string JsonString(absl::string_view s) {
  std::string out = "\"";
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
      ++i;
    } else if (c < 0x20) {
      out += absl::StrFormat("\\u%04x", c);
      ++i;
    } else if (c < 0x80) {
      out.push_back(static_cast<char>(c));
      ++i;
    } else {
      // A well-formed multi-byte sequence is copied; anything else is replaced.
      const size_t length = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
      bool valid = length > 0 && i + length <= s.size();
      for (size_t j = 1; valid && j < length; ++j) {
        valid = (static_cast<unsigned char>(s[i + j]) & 0xC0) == 0x80;
      }
      if (valid) {
        out.append(s.data() + i, length);
        i += length;
      } else {
        out += "\\ufffd";
        ++i;
      }
    }
  }
  out.push_back('"');
  return out;
}

// A JSON number with up to three decimals (null if not finite).
std::string JsonNumber(double v) {
  if (!std::isfinite(v)) return "null";
  std::string s = absl::StrFormat("%.3f", v);
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s == "-0" ? "0" : s;
}

std::string Milliseconds(double ms) { return absl::StrFormat("%.2f", ms); }

}  // namespace

int64_t LoadResult::error_count() const {
  int64_t n = 0;
  for (const auto& [code, count] : errors) n += count;
  return n;
}

absl::StatusOr<LoadResult> RunLoad(Scenario& scenario, const LoadOptions& options) {
  // The client's gRPC locks, like the servers' (common/grpc_server.cc): no deadlock-cycle
  // bookkeeping, which Debian's abseil build does on every lock.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  if (options.channels < 1 || options.in_flight_per_channel < 1) {
    return absl::InvalidArgumentError("channels and in-flight calls per channel must be positive");
  }
  if (static_cast<int64_t>(options.channels) * options.in_flight_per_channel > kMaxSlots) {
    return absl::InvalidArgumentError(
        absl::StrCat("at most ", kMaxSlots, " calls in flight over all channels"));
  }
  if (options.duration <= absl::ZeroDuration() || options.warmup < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("the duration must be positive and the warm-up not negative");
  }
  if (!(options.rate >= 0) || !std::isfinite(options.rate)) {
    return absl::InvalidArgumentError("the rate must be a finite number, at least 0");
  }
  if (absl::Status prepared = scenario.Prepare(); !prepared.ok()) return prepared;
  Run run(scenario, options);
  return run.Go();
}

std::vector<std::shared_ptr<grpc::Channel>> MakeChannels(const std::string& target, int channels) {
  std::vector<std::shared_ptr<grpc::Channel>> result;
  for (int i = 0; i < channels; ++i) {
    grpc::ChannelArguments args;
    // A distinct argument makes a distinct subchannel: each channel is its own connection.
    args.SetInt("observer.loadgen.channel", i);
    args.SetMaxReceiveMessageSize(64 << 20);
    result.push_back(grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args));
  }
  return result;
}

std::string ToJson(const LoadResult& r) {
  std::vector<std::string> errors;
  for (const auto& [code, count] : r.errors) {
    errors.push_back(absl::StrCat(JsonString(CodeName(code)), ":", count));
  }
  std::vector<std::string> extra;
  for (const auto& [key, value] : r.extra) {
    extra.push_back(absl::StrCat(JsonString(key), ":", JsonNumber(value)));
  }
  return absl::StrCat("{\"scenario\":", JsonString(r.scenario), ",\"channels\":", r.channels,
                      ",\"in_flight\":", r.in_flight, ",\"rate\":", JsonNumber(r.rate),
                      ",\"seconds\":", JsonNumber(r.seconds), ",\"ok\":", r.ok,
                      ",\"per_second\":", JsonNumber(r.per_second()),
                      ",\"error_count\":", r.error_count(), ",\"errors\":{",
                      absl::StrJoin(errors, ","), "},\"first_error\":", JsonString(r.first_error),
                      ",\"p50_ms\":", JsonNumber(r.p50_ms), ",\"p90_ms\":", JsonNumber(r.p90_ms),
                      ",\"p99_ms\":", JsonNumber(r.p99_ms), ",\"p999_ms\":", JsonNumber(r.p999_ms),
                      ",\"max_ms\":", JsonNumber(r.max_ms), ",\"mean_ms\":", JsonNumber(r.mean_ms),
                      ",\"extra\":{", absl::StrJoin(extra, ","), "}}");
}

std::string ToTable(const std::vector<LoadResult>& results) {
  const std::vector<std::string> header = {"SCENARIO", "CHANNELS", "IN FLIGHT", "RATE",
                                           "CALLS/S",  "P50 MS",   "P90 MS",    "P99 MS",
                                           "P99.9 MS", "MAX MS",   "ERRORS"};
  std::vector<std::vector<std::string>> rows = {header};
  for (const LoadResult& r : results) {
    rows.push_back({r.scenario, absl::StrCat(r.channels), absl::StrCat(r.in_flight),
                    r.rate > 0 ? absl::StrFormat("%.0f/s", r.rate) : "closed",
                    absl::StrFormat("%.0f", r.per_second()), Milliseconds(r.p50_ms),
                    Milliseconds(r.p90_ms), Milliseconds(r.p99_ms), Milliseconds(r.p999_ms),
                    Milliseconds(r.max_ms), absl::StrCat(r.error_count())});
  }
  std::vector<size_t> widths(header.size(), 0);
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      const std::string pad(widths[i] - row[i].size(), ' ');
      // The scenario's name left, the figures right.
      line += i == 0 ? row[i] + pad : absl::StrCat("  ", pad, row[i]);
    }
    absl::StrAppend(&out, line, "\n");
  }
  // What does not fit a column: the scenario's own figures and the errors by code.
  for (const LoadResult& r : results) {
    if (!r.extra.empty()) {
      std::vector<std::string> items;
      for (const auto& [key, value] : r.extra) {
        items.push_back(absl::StrCat(key, " ", JsonNumber(value)));
      }
      absl::StrAppend(&out, r.scenario, ": ", absl::StrJoin(items, ", "), "\n");
    }
    if (!r.errors.empty()) {
      std::vector<std::string> items;
      for (const auto& [code, count] : r.errors) {
        items.push_back(absl::StrCat(CodeName(code), " ", count));
      }
      absl::StrAppend(&out, r.scenario, ": errors ", absl::StrJoin(items, ", "),
                      "; first: ", r.first_error, "\n");
    }
  }
  return out;
}

}  // namespace observer::loadgen
