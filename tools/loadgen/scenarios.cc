#include "tools/loadgen/scenarios.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <functional>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/grpc_status.h"
#include "observer/registry/v1/registry_service.grpc.pb.h"
#include "observer/stats/v1/stats_service.grpc.pb.h"
#include "tools/echo-server/echo.grpc.pb.h"
#include "tools/loadgen/people.h"
#include "tools/loadgen/setup.h"

namespace observer::loadgen {
namespace {

namespace rv1 = ::observer::registry::v1;
namespace sv1 = ::observer::stats::v1;
namespace ev1 = ::observer::echo::v1;

// A call that has not answered by then fails rather than hangs the run.
constexpr absl::Duration kCallDeadline = absl::Seconds(30);
// Prepare's own calls (batches of 1000 durable creates take a while on a loaded machine).
constexpr absl::Duration kPrepareDeadline = absl::Seconds(120);
// How long Prepare waits for a stats-service that is not yet in sync.
constexpr absl::Duration kSyncWait = absl::Seconds(20);
constexpr int kBatchRows = 1000;

// SplitMix64's finaliser: a bijective scramble of 64 bits.
uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// A uniform double in [0, 1) from 64 random bits.
double Uniform(uint64_t bits) { return static_cast<double>(bits >> 11) * 0x1.0p-53; }

// Independent draws from one seed.
class Draws {
 public:
  explicit Draws(uint64_t seed) : state_(seed) {}
  uint64_t Next() { return Mix(state_ += 0x632be59bd9b4e019ULL); }
  double NextUniform() { return Uniform(Next()); }

 private:
  uint64_t state_;
};

uint64_t RandomSalt() {
  std::random_device random;
  return (static_cast<uint64_t>(random()) << 32) ^ random() ^
         static_cast<uint64_t>(absl::ToUnixNanos(absl::Now()));
}

// `v` in base 36 (digits and capital letters), `width` characters (v modulo 36^width).
std::string Base36(uint64_t v, int width) {
  std::string out(static_cast<size_t>(width), '0');
  for (int i = width - 1; i >= 0; --i) {
    out[static_cast<size_t>(i)] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"[v % 36];
    v /= 36;
  }
  return out;
}

// A bijection of the 40-bit numbers keyed by `key`: distinct n below 2^40 give distinct
// results, which look random. Each step (odd multiplier, added constant, xor-shift) is
// invertible modulo 2^40.
uint64_t Permute40(uint64_t n, uint64_t key) {
  constexpr uint64_t kMask = (uint64_t{1} << 40) - 1;
  uint64_t x = n & kMask;
  x = (x * 0x9E3779B97ULL + (key & kMask)) & kMask;
  x ^= x >> 19;
  x = (x * (0xC2B2AE3DULL | 1) + (Mix(key) & kMask)) & kMask;
  x ^= x >> 13;
  x = (x * 0x27D4EB2FULL) & kMask;
  x ^= x >> 21;
  return x;
}

std::string ElectionName(const std::string& election) {
  return absl::StrCat("elections/", election);
}

std::string EmailPart(absl::string_view latin) {
  std::string out;
  for (char c : latin) {
    if (absl::ascii_isalpha(c)) {
      out.push_back(absl::ascii_tolower(c));
    } else if (c == ' ' || c == '-') {
      out.push_back('-');
    }
  }
  return out;
}

// Prepare runs once; later calls return the first outcome.
class Once {
 public:
  absl::Status Run(const std::function<absl::Status()>& prepare) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!done_) {
      status_ = prepare();
      done_ = true;
    }
    return status_;
  }

 private:
  std::mutex mu_;
  bool done_ = false;
  absl::Status status_;
};

template <typename Stub>
std::vector<std::unique_ptr<typename Stub::Stub>> StubsFor(const Channels& channels) {
  std::vector<std::unique_ptr<typename Stub::Stub>> stubs;
  for (const auto& channel : channels) stubs.push_back(Stub::NewStub(channel));
  return stubs;
}

template <typename T>
T& ForChannel(std::vector<T>& v, int channel) {
  return v[static_cast<size_t>(channel) % v.size()];
}

absl::Status Annotate(const grpc::Status& status, absl::string_view what) {
  const absl::Status error = FromGrpcStatus(status);
  return absl::Status(error.code(), absl::StrCat(what, ": ", error.message()));
}

// The election and every organisation MakeObserver sends observers from.
absl::Status PrepareRegistry(rv1::RegistryService::Stub& stub, const std::string& election) {
  if (absl::Status s = EnsureElection(stub, election); !s.ok()) return s;
  for (const SendingOrganisation& o : SendingOrganisations()) {
    if (absl::Status s = EnsureOrganisation(stub, o.code, o.name); !s.ok()) return s;
  }
  return absl::OkStatus();
}

// Calls `call` (one synchronous stats call) until it answers something else than UNAVAILABLE
// (stats-service before its first sync) or kSyncWait passes.
grpc::Status UntilSynced(const std::function<grpc::Status()>& call) {
  const absl::Time give_up = absl::Now() + kSyncWait;
  for (;;) {
    grpc::Status status = call();
    if (status.error_code() != grpc::StatusCode::UNAVAILABLE || absl::Now() >= give_up) {
      return status;
    }
    absl::SleepFor(absl::Milliseconds(200));
  }
}

// Latencies in milliseconds kept for Extra(), with their percentiles.
class LatencySample {
 public:
  void Add(double ms) {
    std::lock_guard<std::mutex> lock(mu_);
    values_.push_back(ms);
  }
  // "<prefix>p50_ms", ... "<prefix>max_ms" and "<prefix>samples".
  void Report(const std::string& prefix, std::map<std::string, double>& out) const {
    std::vector<double> v;
    {
      std::lock_guard<std::mutex> lock(mu_);
      v = values_;
    }
    std::sort(v.begin(), v.end());
    out[prefix + "samples"] = static_cast<double>(v.size());
    if (v.empty()) return;
    auto at = [&v](double p) {
      const double rank = std::ceil(p * static_cast<double>(v.size()));
      return v[std::min(v.size() - 1, rank < 1 ? 0 : static_cast<size_t>(rank) - 1)];
    };
    out[prefix + "p50_ms"] = at(0.5);
    out[prefix + "p90_ms"] = at(0.9);
    out[prefix + "p99_ms"] = at(0.99);
    out[prefix + "max_ms"] = v.back();
  }

 private:
  mutable std::mutex mu_;
  std::vector<double> values_;
};

// A running mean of a per-call figure (bytes, rows).
class Mean {
 public:
  void Add(int64_t v) {
    sum_.fetch_add(v, std::memory_order_relaxed);
    count_.fetch_add(1, std::memory_order_relaxed);
  }
  double value() const {
    const int64_t n = count_.load();
    return n == 0 ? 0 : static_cast<double>(sum_.load()) / static_cast<double>(n);
  }

 private:
  std::atomic<int64_t> sum_{0};
  std::atomic<int64_t> count_{0};
};

// Every call below is freed before its `done` is called: see Scenario::Issue.

// --- echo ------------------------------------------------------------------------------------

class EchoScenario final : public Scenario {
 public:
  EchoScenario(Channels channels, int payload_bytes)
      : stubs_(StubsFor<ev1::EchoService>(channels)), base_(std::max(0, payload_bytes), '\0') {
    std::mt19937_64 random(RandomSalt());
    for (char& c : base_) c = static_cast<char>(random());
  }

  std::string name() const override { return "echo"; }

  absl::Status Prepare() override {
    if (stubs_.empty()) return absl::InvalidArgumentError("echo: no channels");
    return absl::OkStatus();
  }

  void Issue(int channel, int /*slot*/, int64_t sequence,
             std::function<void(const grpc::Status&)> done) override {
    auto* call = new Call;
    PrepareContext(call->context, kCallDeadline);
    std::string* payload = call->request.mutable_payload();
    *payload = base_;
    // The call's number in the first bytes: every payload differs.
    const uint64_t unique = static_cast<uint64_t>(sequence);
    std::memcpy(payload->data(), &unique, std::min(payload->size(), sizeof(unique)));
    request_bytes_.Add(static_cast<int64_t>(call->request.ByteSizeLong()));
    ForChannel(stubs_, channel)
        ->async()
        ->Echo(&call->context, &call->request, &call->response,
               [call, done = std::move(done)](grpc::Status status) {
                 if (status.ok() && call->response.payload() != call->request.payload()) {
                   status = grpc::Status(grpc::StatusCode::DATA_LOSS,
                                         "the echo differs from the payload sent");
                 }
                 delete call;
                 done(status);
               });
  }

  std::map<std::string, double> Extra() const override {
    return {{"payload_bytes", static_cast<double>(base_.size())},
            {"request_bytes", request_bytes_.value()}};
  }

 private:
  struct Call {
    grpc::ClientContext context;
    ev1::EchoRequest request;
    ev1::EchoResponse response;
  };

  std::vector<std::unique_ptr<ev1::EchoService::Stub>> stubs_;
  std::string base_;
  Mean request_bytes_;
};

// --- create ----------------------------------------------------------------------------------

class CreateScenario final : public Scenario {
 public:
  CreateScenario(Channels registry, std::string election)
      : stubs_(StubsFor<rv1::RegistryService>(registry)),
        election_(std::move(election)),
        parent_(ElectionName(election_)),
        salt_(RandomSalt()),
        request_id_prefix_(absl::StrCat("loadgen-create-", absl::Hex(salt_, absl::kZeroPad16))) {}

  std::string name() const override { return "create"; }

  absl::Status Prepare() override {
    return once_.Run([this] {
      if (stubs_.empty()) return absl::InvalidArgumentError("create: no registry channels");
      return PrepareRegistry(*stubs_[0], election_);
    });
  }

  void Issue(int channel, int /*slot*/, int64_t sequence,
             std::function<void(const grpc::Status&)> done) override {
    auto* call = new Call;
    PrepareContext(call->context, kCallDeadline);
    call->request.set_parent(parent_);
    *call->request.mutable_observer() = MakeObserver(sequence, salt_);
    call->request.set_request_id(absl::StrCat(request_id_prefix_, "-", sequence));
    request_bytes_.Add(static_cast<int64_t>(call->request.ByteSizeLong()));
    ForChannel(stubs_, channel)
        ->async()
        ->CreateObserver(&call->context, &call->request, &call->response,
                         [call, done = std::move(done)](grpc::Status status) {
                           delete call;
                           done(status);
                         });
  }

  std::map<std::string, double> Extra() const override {
    return {{"request_bytes", request_bytes_.value()}};
  }

 private:
  struct Call {
    grpc::ClientContext context;
    rv1::CreateObserverRequest request;
    rv1::CreateObserverResponse response;
  };

  std::vector<std::unique_ptr<rv1::RegistryService::Stub>> stubs_;
  const std::string election_;
  const std::string parent_;
  const uint64_t salt_;
  const std::string request_id_prefix_;
  Once once_;
  Mean request_bytes_;
};

// --- get -------------------------------------------------------------------------------------

class GetScenario final : public Scenario {
 public:
  GetScenario(Channels registry, std::string election, int records)
      : stubs_(StubsFor<rv1::RegistryService>(registry)),
        election_(std::move(election)),
        records_(records),
        salt_(RandomSalt()) {}

  std::string name() const override { return "get"; }

  absl::Status Prepare() override {
    return once_.Run([this]() -> absl::Status {
      if (stubs_.empty()) return absl::InvalidArgumentError("get: no registry channels");
      if (records_ < 1) return absl::InvalidArgumentError("get: records must be positive");
      if (absl::Status s = PrepareRegistry(*stubs_[0], election_); !s.ok()) return s;
      return CreateRecords();
    });
  }

  void Issue(int channel, int /*slot*/, int64_t sequence,
             std::function<void(const grpc::Status&)> done) override {
    auto* call = new Call;
    PrepareContext(call->context, kCallDeadline);
    call->request.set_name(names_[static_cast<size_t>(sequence) % names_.size()]);
    ForChannel(stubs_, channel)
        ->async()
        ->GetObserver(&call->context, &call->request, &call->response,
                      [this, call, done = std::move(done)](const grpc::Status& status) {
                        if (status.ok()) {
                          response_bytes_.Add(static_cast<int64_t>(call->response.ByteSizeLong()));
                        }
                        delete call;
                        done(status);
                      });
  }

  std::map<std::string, double> Extra() const override {
    return {{"records", static_cast<double>(names_.size())},
            {"response_bytes", response_bytes_.value()}};
  }

 private:
  struct Call {
    grpc::ClientContext context;
    rv1::GetObserverRequest request;
    rv1::GetObserverResponse response;
  };

  // `records_` new observers in batches (a few in parallel), then their names shuffled.
  absl::Status CreateRecords() {
    const int batches = (records_ + kBatchRows - 1) / kBatchRows;
    std::atomic<int> next{0};
    std::mutex mu;
    absl::Status failure;
    std::vector<std::string> names;
    auto worker = [&](size_t stub_index) {
      rv1::RegistryService::Stub& stub = *stubs_[stub_index % stubs_.size()];
      for (int b = next.fetch_add(1); b < batches; b = next.fetch_add(1)) {
        {
          std::lock_guard<std::mutex> lock(mu);
          if (!failure.ok()) return;
        }
        grpc::ClientContext context;
        PrepareContext(context, kPrepareDeadline);
        rv1::BatchCreateObserversRequest request;
        request.set_parent(ElectionName(election_));
        request.set_all_or_nothing(true);
        request.set_request_id(
            absl::StrCat("loadgen-get-", absl::Hex(salt_, absl::kZeroPad16), "-", b));
        const int64_t first = static_cast<int64_t>(b) * kBatchRows;
        const int64_t end = std::min<int64_t>(records_, first + kBatchRows);
        for (int64_t n = first; n < end; ++n) {
          *request.add_requests()->mutable_observer() = MakeObserver(n, salt_);
        }
        rv1::BatchCreateObserversResponse response;
        const grpc::Status status = stub.BatchCreateObservers(&context, request, &response);
        std::lock_guard<std::mutex> lock(mu);
        if (!status.ok()) {
          failure = Annotate(status, absl::StrCat("get: creating the records to read (batch ",
                                                  b + 1, " of ", batches, ")"));
          return;
        }
        for (const auto& result : response.results()) {
          if (result.status().code() != 0) {
            failure = absl::InternalError(
                absl::StrCat("get: a record to read was not created: ", result.status().message()));
            return;
          }
          names.push_back(result.observer().name());
        }
      }
    };
    std::vector<std::thread> threads;
    for (size_t i = 0; i < std::min<size_t>(4, static_cast<size_t>(batches)); ++i) {
      threads.emplace_back(worker, i);
    }
    for (std::thread& t : threads) t.join();
    if (!failure.ok()) return failure;
    // Scrambled: consecutive reads hit records created far apart.
    std::sort(names.begin(), names.end());
    std::shuffle(names.begin(), names.end(), std::mt19937_64(salt_));
    names_ = std::move(names);
    return absl::OkStatus();
  }

  std::vector<std::unique_ptr<rv1::RegistryService::Stub>> stubs_;
  const std::string election_;
  const int records_;
  const uint64_t salt_;
  Once once_;
  std::vector<std::string> names_;  // Set by Prepare, read-only afterwards.
  Mean response_bytes_;
};

// --- breakdown -------------------------------------------------------------------------------

class BreakdownScenario final : public Scenario {
 public:
  BreakdownScenario(Channels stats, std::string election, std::string dimension, std::string status)
      : stubs_(StubsFor<sv1::StatsService>(stats)),
        election_(ElectionName(election)),
        dimension_name_(absl::AsciiStrToLower(dimension)) {
    if (!sv1::Dimension_Parse(absl::StrCat("DIMENSION_", absl::AsciiStrToUpper(dimension)),
                              &dimension_) ||
        dimension_ == sv1::DIMENSION_UNSPECIFIED) {
      invalid_ = absl::InvalidArgumentError(absl::StrCat(
          "breakdown: unknown dimension '", dimension,
          "' (observer_type, organisation, sending_state, citizenship, region, category, "
          "status, gender)"));
    }
    if (!status.empty()) {
      rv1::ObserverStatus value;
      if (!rv1::ObserverStatus_Parse(
              absl::StrCat("OBSERVER_STATUS_", absl::AsciiStrToUpper(status)), &value) ||
          value == rv1::OBSERVER_STATUS_UNSPECIFIED) {
        invalid_ = absl::InvalidArgumentError(
            absl::StrCat("breakdown: unknown status '", status,
                         "' (SUBMITTED, ACCREDITED, REJECTED, SUSPENDED, WITHDRAWN)"));
      } else {
        filter_.add_statuses(value);
      }
    }
  }

  std::string name() const override { return absl::StrCat("breakdown_", dimension_name_); }

  // Checks once that stats-service answers this breakdown (waiting for its first sync).
  absl::Status Prepare() override {
    return once_.Run([this]() -> absl::Status {
      if (!invalid_.ok()) return invalid_;
      if (stubs_.empty()) return absl::InvalidArgumentError("breakdown: no stats channels");
      const grpc::Status status = UntilSynced([this] {
        grpc::ClientContext context;
        PrepareContext(context, absl::Seconds(10));
        sv1::GetBreakdownRequest request = MakeRequest();
        sv1::GetBreakdownResponse response;
        return stubs_[0]->GetBreakdown(&context, request, &response);
      });
      if (!status.ok()) {
        return Annotate(status, absl::StrCat("breakdown: GetBreakdown of ", election_));
      }
      return absl::OkStatus();
    });
  }

  void Issue(int channel, int /*slot*/, int64_t /*sequence*/,
             std::function<void(const grpc::Status&)> done) override {
    auto* call = new Call;
    PrepareContext(call->context, kCallDeadline);
    call->request = MakeRequest();
    ForChannel(stubs_, channel)
        ->async()
        ->GetBreakdown(&call->context, &call->request, &call->response,
                       [this, call, done = std::move(done)](const grpc::Status& status) {
                         if (status.ok()) rows_.Add(call->response.breakdown().rows_size());
                         delete call;
                         done(status);
                       });
  }

  std::map<std::string, double> Extra() const override { return {{"rows", rows_.value()}}; }

 private:
  struct Call {
    grpc::ClientContext context;
    sv1::GetBreakdownRequest request;
    sv1::GetBreakdownResponse response;
  };

  sv1::GetBreakdownRequest MakeRequest() const {
    sv1::GetBreakdownRequest request;
    request.set_election(election_);
    request.set_dimension(dimension_);
    *request.mutable_filter() = filter_;
    return request;
  }

  std::vector<std::unique_ptr<sv1::StatsService::Stub>> stubs_;
  const std::string election_;
  const std::string dimension_name_;
  sv1::Dimension dimension_ = sv1::DIMENSION_UNSPECIFIED;
  sv1::Filter filter_;
  absl::Status invalid_;
  Once once_;
  Mean rows_;
};

// --- visibility ------------------------------------------------------------------------------

class VisibilityScenario final : public Scenario {
 public:
  VisibilityScenario(Channels registry, Channels stats, std::string election)
      : registry_(StubsFor<rv1::RegistryService>(registry)),
        stats_(StubsFor<sv1::StatsService>(stats)),
        election_(std::move(election)),
        parent_(ElectionName(election_)),
        salt_(RandomSalt()),
        request_id_prefix_(
            absl::StrCat("loadgen-visibility-", absl::Hex(salt_, absl::kZeroPad16))) {
    // The new records are SUBMITTED: count them, so that each answer includes the write.
    filter_.add_statuses(rv1::OBSERVER_STATUS_SUBMITTED);
  }

  std::string name() const override { return "visibility"; }

  absl::Status Prepare() override {
    return once_.Run([this]() -> absl::Status {
      if (registry_.empty() || stats_.empty()) {
        return absl::InvalidArgumentError("visibility: needs registry and stats channels");
      }
      if (absl::Status s = PrepareRegistry(*registry_[0], election_); !s.ok()) return s;
      // Stats must be in sync (and know the election) before the clock starts.
      const grpc::Status status = UntilSynced([this] {
        grpc::ClientContext context;
        PrepareContext(context, absl::Seconds(10));
        sv1::GetSummaryRequest request;
        request.set_election(parent_);
        *request.mutable_filter() = filter_;
        sv1::GetSummaryResponse response;
        grpc::Status s = stats_[0]->GetSummary(&context, request, &response);
        // A new election may not have reached stats yet.
        if (s.error_code() == grpc::StatusCode::NOT_FOUND) {
          s = grpc::Status(grpc::StatusCode::UNAVAILABLE, s.error_message());
        }
        return s;
      });
      if (!status.ok())
        return Annotate(status, absl::StrCat("visibility: GetSummary of ", parent_));
      return absl::OkStatus();
    });
  }

  void SetWindow(absl::Time start, absl::Time end) override {
    std::lock_guard<std::mutex> lock(mu_);
    window_start_ = start;
    window_end_ = end;
  }

  void Issue(int channel, int /*slot*/, int64_t sequence,
             std::function<void(const grpc::Status&)> done) override {
    auto* call = new Call;
    call->issued = absl::Now();
    PrepareContext(call->create_context, kCallDeadline);
    call->create.set_parent(parent_);
    *call->create.mutable_observer() = MakeObserver(sequence, salt_);
    call->create.set_request_id(absl::StrCat(request_id_prefix_, "-", sequence));
    ForChannel(registry_, channel)
        ->async()
        ->CreateObserver(
            &call->create_context, &call->create, &call->created,
            [this, call, channel, done = std::move(done)](const grpc::Status& status) mutable {
              if (!status.ok()) {
                delete call;
                done(status);
                return;
              }
              call->written = absl::Now();
              PrepareContext(call->summary_context, kCallDeadline);
              call->summary_request.set_election(parent_);
              *call->summary_request.mutable_filter() = filter_;
              call->summary_request.set_min_revision(call->created.revision());
              ForChannel(stats_, channel)
                  ->async()
                  ->GetSummary(&call->summary_context, &call->summary_request,
                               &call->summary_response,
                               [this, call, done = std::move(done)](const grpc::Status& seen) {
                                 if (seen.ok()) Visible(*call, absl::Now());
                                 delete call;
                                 done(seen);
                               });
            });
  }

  std::map<std::string, double> Extra() const override {
    std::map<std::string, double> extra;
    lag_.Report("visible_", extra);
    return extra;
  }

 private:
  struct Call {
    absl::Time issued, written;
    grpc::ClientContext create_context;
    rv1::CreateObserverRequest create;
    rv1::CreateObserverResponse created;
    grpc::ClientContext summary_context;
    sv1::GetSummaryRequest summary_request;
    sv1::GetSummaryResponse summary_response;
  };

  // The lag from the registry's answer to stats' answer, for calls in the measured window.
  void Visible(const Call& call, absl::Time seen) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (call.issued < window_start_ || seen >= window_end_) return;
    }
    lag_.Add(absl::ToDoubleMilliseconds(seen - call.written));
  }

  std::vector<std::unique_ptr<rv1::RegistryService::Stub>> registry_;
  std::vector<std::unique_ptr<sv1::StatsService::Stub>> stats_;
  const std::string election_;
  const std::string parent_;
  const uint64_t salt_;
  const std::string request_id_prefix_;
  sv1::Filter filter_;
  Once once_;
  std::mutex mu_;
  absl::Time window_start_ = absl::InfinitePast();  // Guarded by mu_.
  absl::Time window_end_ = absl::InfiniteFuture();  // Guarded by mu_.
  LatencySample lag_;
};

// --- mix -------------------------------------------------------------------------------------

class MixScenario final : public Scenario {
 public:
  MixScenario(std::string name, std::vector<std::pair<double, std::unique_ptr<Scenario>>> parts)
      : name_(std::move(name)), parts_(std::move(parts)), calls_(parts_.size()) {
    for (const auto& [weight, part] : parts_) {
      total_ += weight > 0 ? weight : 0;
      cumulative_.push_back(total_);
    }
  }

  std::string name() const override { return name_; }

  absl::Status Prepare() override {
    return once_.Run([this]() -> absl::Status {
      if (parts_.empty() || !(total_ > 0)) {
        return absl::InvalidArgumentError(
            absl::StrCat(name_, ": a mix needs a part with a positive weight"));
      }
      for (auto& [weight, part] : parts_) {
        if (part == nullptr) return absl::InvalidArgumentError(absl::StrCat(name_, ": no part"));
        if (absl::Status s = part->Prepare(); !s.ok()) return s;
      }
      return absl::OkStatus();
    });
  }

  void SetWindow(absl::Time start, absl::Time end) override {
    for (auto& [weight, part] : parts_) part->SetWindow(start, end);
  }

  void Issue(int channel, int slot, int64_t sequence,
             std::function<void(const grpc::Status&)> done) override {
    // The part by weight, from a scramble of the sequence: deterministic, not periodic.
    const double at = Uniform(Mix(static_cast<uint64_t>(sequence) ^ 0x5bd1e995ULL)) * total_;
    size_t i = static_cast<size_t>(std::upper_bound(cumulative_.begin(), cumulative_.end(), at) -
                                   cumulative_.begin());
    i = std::min(i, parts_.size() - 1);
    calls_[i].fetch_add(1, std::memory_order_relaxed);
    parts_[i].second->Issue(channel, slot, sequence, std::move(done));
  }

  // Each part's share of the calls and its own figures, prefixed with its name.
  std::map<std::string, double> Extra() const override {
    std::map<std::string, double> extra;
    int64_t total = 0;
    for (const auto& c : calls_) total += c.load();
    for (size_t i = 0; i < parts_.size(); ++i) {
      const std::string prefix = parts_[i].second->name() + "_";
      extra[prefix + "share"] =
          total == 0 ? 0 : static_cast<double>(calls_[i].load()) / static_cast<double>(total);
      for (const auto& [key, value] : parts_[i].second->Extra()) extra[prefix + key] = value;
    }
    return extra;
  }

 private:
  const std::string name_;
  std::vector<std::pair<double, std::unique_ptr<Scenario>>> parts_;
  std::vector<double> cumulative_;
  double total_ = 0;
  std::vector<std::atomic<int64_t>> calls_;
  Once once_;
};

}  // namespace

rv1::Observer MakeObserver(int64_t n, uint64_t salt) {
  Draws draws(Mix(salt) ^ Mix(static_cast<uint64_t>(n) * 0xd6e8feb86659fd93ULL));
  rv1::Observer o;
  // Four in five are sent by an organisation, as in the reference mission.
  const bool by_state = draws.NextUniform() < 0.2;
  std::string citizenship;
  if (by_state) {
    citizenship = ChooseWeighted(SendingStates(), draws.NextUniform()).code;
    o.mutable_sending_body()->set_state(citizenship);
  } else {
    const std::vector<SendingOrganisation>& organisations = SendingOrganisations();
    double total = 0;
    for (const SendingOrganisation& s : organisations) total += s.weight;
    double at = draws.NextUniform() * total;
    const SendingOrganisation* chosen = &organisations.back();
    for (const SendingOrganisation& s : organisations) {
      if (at < s.weight) {
        chosen = &s;
        break;
      }
      at -= s.weight;
    }
    o.mutable_sending_body()->set_organisation(absl::StrCat("organisations/", chosen->code));
    citizenship = ChooseWeighted(chosen->citizenships, draws.NextUniform()).code;
  }
  const bool female = draws.NextUniform() < 0.42;
  const Name given = GivenName(citizenship, female, draws.Next());
  const Name family = FamilyName(citizenship, female, draws.Next());
  o.set_given_names(given.native);
  o.set_family_name(family.native);
  o.set_latin_given_names(given.latin);
  o.set_latin_family_name(family.latin);
  o.set_citizenship(citizenship);
  o.set_gender(female ? rv1::GENDER_FEMALE : rv1::GENDER_MALE);
  const absl::CivilDay born =
      absl::CivilDay(1950, 1, 1) + static_cast<int64_t>(draws.Next() % (50 * 365));
  o.mutable_birth_date()->set_year(static_cast<int32_t>(born.year()));
  o.mutable_birth_date()->set_month(born.month());
  o.mutable_birth_date()->set_day(born.day());

  const double category = draws.NextUniform();
  rv1::ObserverCategory c = rv1::OBSERVER_CATEGORY_SHORT_TERM;
  if (category < 0.02) {
    c = rv1::OBSERVER_CATEGORY_HEAD_OF_DELEGATION;
  } else if (category < 0.08) {
    c = rv1::OBSERVER_CATEGORY_CORE_TEAM;
  } else if (category < 0.22) {
    c = rv1::OBSERVER_CATEGORY_LONG_TERM;
  } else if (category < 0.30) {
    c = rv1::OBSERVER_CATEGORY_PARLIAMENTARIAN;
  } else if (category < 0.31) {
    c = rv1::OBSERVER_CATEGORY_OTHER;
  }
  o.set_category(c);

  rv1::IdDocument* doc = o.mutable_id_document();
  doc->set_type(by_state && c == rv1::OBSERVER_CATEGORY_HEAD_OF_DELEGATION
                    ? rv1::ID_DOCUMENT_TYPE_DIPLOMATIC_PASSPORT
                    : rv1::ID_DOCUMENT_TYPE_PASSPORT);
  // Unique for each n below 2^40 under one salt; the salt's own prefix keeps runs apart.
  doc->set_number(absl::StrCat(Base36(Mix(salt ^ 0xa0761d6478bd642fULL), 6),
                               Base36(Permute40(static_cast<uint64_t>(n), salt), 8)));
  doc->set_issuing_country(citizenship);
  o.mutable_contact()->set_email(
      absl::StrCat(EmailPart(given.latin), ".", EmailPart(family.latin), "@observers.example"));
  o.set_submission_reference(
      absl::StrCat(by_state ? "Note verbale " : "Letter ", 1 + draws.Next() % 900, "/2030"));
  return o;
}

int TypicalCreateRequestBytes() {
  static const int bytes = [] {
    constexpr int kSamples = 256;
    int64_t total = 0;
    for (int n = 0; n < kSamples; ++n) {
      rv1::CreateObserverRequest request;
      request.set_parent(ElectionName("bench-2030"));
      *request.mutable_observer() = MakeObserver(n, 0);
      request.set_request_id(
          absl::StrCat("loadgen-create-", absl::Hex(0, absl::kZeroPad16), "-", 100000 + n));
      total += static_cast<int64_t>(request.ByteSizeLong());
    }
    return static_cast<int>((total + kSamples / 2) / kSamples);
  }();
  return bytes;
}

std::unique_ptr<Scenario> MakeEchoScenario(Channels channels, int payload_bytes) {
  return std::make_unique<EchoScenario>(std::move(channels), payload_bytes);
}

std::unique_ptr<Scenario> MakeCreateScenario(Channels registry, std::string election) {
  return std::make_unique<CreateScenario>(std::move(registry), std::move(election));
}

std::unique_ptr<Scenario> MakeGetScenario(Channels registry, std::string election, int records) {
  return std::make_unique<GetScenario>(std::move(registry), std::move(election), records);
}

std::unique_ptr<Scenario> MakeBreakdownScenario(Channels stats, std::string election,
                                                std::string dimension, std::string status) {
  return std::make_unique<BreakdownScenario>(std::move(stats), std::move(election),
                                             std::move(dimension), std::move(status));
}

std::unique_ptr<Scenario> MakeVisibilityScenario(Channels registry, Channels stats,
                                                 std::string election) {
  return std::make_unique<VisibilityScenario>(std::move(registry), std::move(stats),
                                              std::move(election));
}

std::unique_ptr<Scenario> MakeMixScenario(
    std::string name, std::vector<std::pair<double, std::unique_ptr<Scenario>>> parts) {
  return std::make_unique<MixScenario>(std::move(name), std::move(parts));
}

}  // namespace observer::loadgen
