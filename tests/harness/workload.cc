#include "tests/harness/workload.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include <memory>
#include <optional>
#include <random>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tests/harness/builders.h"
#include "tests/harness/registry_client.h"
#include "tests/harness/service_process.h"

namespace observer::testing {
namespace {

// The observers a thread created and what it knows of them (from its acknowledgements).
struct Owned {
  std::string name;
  rv1::ObserverStatus status = rv1::OBSERVER_STATUS_UNSPECIFIED;
  int tags = 0;  // How many tag updates were acknowledged (names the next tag).
};

constexpr const char* kCitizenships[] = {"DE", "FR", "US", "JP", "TR", "RU"};

}  // namespace

Workload::Workload(History& history, std::function<std::string()> address, Options options)
    : history_(history), address_(std::move(address)), options_(std::move(options)) {}

Workload::~Workload() { Stop(absl::ZeroDuration()); }

void Workload::Start() {
  if (!threads_.empty()) return;
  stop_.store(false);
  for (int i = 0; i < options_.threads; ++i) threads_.emplace_back([this, i] { Run(i); });
}

void Workload::Stop(absl::Duration drain) {
  drain_until_ = absl::Now() + drain;
  stop_.store(true);  // Publishes drain_until_ to the threads.
  for (std::thread& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

bool Workload::WaitForAcks(int64_t n, absl::Duration timeout) const {
  return PollUntil([&] { return acked_.load() >= n; }, timeout, absl::Milliseconds(5));
}

void Workload::Run(int thread_index) {
  std::mt19937_64 random(options_.seed + static_cast<uint64_t>(thread_index));
  auto uniform = [&](int n) { return std::uniform_int_distribution<int>(0, n - 1)(random); };
  auto chance = [&](double p) { return std::uniform_real_distribution<double>(0, 1)(random) < p; };
  std::unique_ptr<RegistryClient> client;
  auto connect = [&] {
    client = std::make_unique<RegistryClient>(
        grpc::CreateChannel(address_(), grpc::InsecureChannelCredentials()), options_.call_timeout);
  };
  connect();
  std::vector<Owned> owned;
  int64_t n = 0;

  // Runs one logical call: attempts with the same request id until a definite outcome (or the
  // drain is over). `call` makes one attempt and returns its status, filling `acked` and
  // `revision` when OK. Returns the definite status, or nullopt if it stayed unknown.
  auto perform = [&](const std::string& method, const std::string& request_id,
                     const std::string& target,
                     const std::function<absl::Status(rv1::Observer*, int64_t*)>& call)
      -> std::optional<rv1::Observer> {
    for (;;) {
      const int64_t op = history_.Invoke(method, request_id, target);
      rv1::Observer acked;
      int64_t revision = 0;
      const absl::Status status = call(&acked, &revision);
      history_.Complete(op, status, status.ok() ? &acked : nullptr, revision);
      switch (Classify(status)) {
        case Outcome::kAcked:
          acked_.fetch_add(1);
          return acked;
        case Outcome::kFailed:
          return std::nullopt;
        case Outcome::kUnknown:
        case Outcome::kPending:
          break;
      }
      if (stop_.load() && absl::Now() >= drain_until_) return std::nullopt;
      absl::SleepFor(options_.retry_backoff);
      connect();  // The server may be a new process (on the same address).
    }
  };

  while (!stop_.load()) {
    if (options_.max_ops_per_thread > 0 && n >= options_.max_ops_per_thread) break;
    const std::string request_id = absl::StrCat(options_.request_id_prefix, thread_index, "-", n++);
    if (owned.empty() || chance(options_.create_share)) {
      rv1::CreateObserverRequest req = NewObserverRequest(
          options_.election, NextSeq(), kCitizenships[uniform(std::size(kCitizenships))]);
      if (!options_.organisation.empty() && chance(0.5)) {
        req.mutable_observer()->mutable_sending_body()->set_organisation(options_.organisation);
      }
      req.set_request_id(request_id);
      std::optional<rv1::Observer> created =
          perform("CreateObserver", request_id, "", [&](rv1::Observer* out, int64_t* revision) {
            absl::StatusOr<rv1::CreateObserverResponse> resp = client->CreateObserver(req);
            if (!resp.ok()) return resp.status();
            *out = resp->observer();
            *revision = resp->revision();
            return absl::OkStatus();
          });
      if (created.has_value()) {
        Owned o;
        o.name = created->name();
        o.status = created->status();
        owned.push_back(std::move(o));
      }
      continue;
    }

    Owned& o = owned[static_cast<size_t>(uniform(static_cast<int>(owned.size())))];
    std::optional<rv1::Observer> changed;
    const bool update_tags = chance(0.25);
    if (update_tags) {
      rv1::UpdateObserverRequest req;
      req.mutable_observer()->set_name(o.name);
      req.mutable_observer()->add_tags(absl::StrCat("t", o.tags + 1));
      req.mutable_update_mask()->add_paths("tags");
      req.set_request_id(request_id);
      changed =
          perform("UpdateObserver", request_id, o.name, [&](rv1::Observer* out, int64_t* rev) {
            absl::StatusOr<rv1::UpdateObserverResponse> resp = client->UpdateObserver(req);
            if (!resp.ok()) return resp.status();
            *out = resp->observer();
            *rev = resp->revision();
            return absl::OkStatus();
          });
      if (changed.has_value()) ++o.tags;
    } else if (o.status == rv1::OBSERVER_STATUS_SUBMITTED) {
      rv1::AccreditObserverRequest req;
      req.set_name(o.name);
      req.set_decision_reference("CEC-W-1");
      req.set_request_id(request_id);
      changed =
          perform("AccreditObserver", request_id, o.name, [&](rv1::Observer* out, int64_t* rev) {
            absl::StatusOr<rv1::AccreditObserverResponse> resp = client->AccreditObserver(req);
            if (!resp.ok()) return resp.status();
            *out = resp->observer();
            *rev = resp->revision();
            return absl::OkStatus();
          });
    } else if (o.status == rv1::OBSERVER_STATUS_ACCREDITED) {
      rv1::SuspendObserverRequest req;
      req.set_name(o.name);
      req.set_reason("workload suspension");
      req.set_request_id(request_id);
      changed =
          perform("SuspendObserver", request_id, o.name, [&](rv1::Observer* out, int64_t* rev) {
            absl::StatusOr<rv1::SuspendObserverResponse> resp = client->SuspendObserver(req);
            if (!resp.ok()) return resp.status();
            *out = resp->observer();
            *rev = resp->revision();
            return absl::OkStatus();
          });
    } else if (o.status == rv1::OBSERVER_STATUS_SUSPENDED) {
      rv1::ReinstateObserverRequest req;
      req.set_name(o.name);
      req.set_decision_reference("CEC-W-2");
      req.set_reason("workload reinstatement");
      req.set_request_id(request_id);
      changed =
          perform("ReinstateObserver", request_id, o.name, [&](rv1::Observer* out, int64_t* rev) {
            absl::StatusOr<rv1::ReinstateObserverResponse> resp = client->ReinstateObserver(req);
            if (!resp.ok()) return resp.status();
            *out = resp->observer();
            *rev = resp->revision();
            return absl::OkStatus();
          });
    }
    if (changed.has_value()) o.status = changed->status();
  }
}

}  // namespace observer::testing
