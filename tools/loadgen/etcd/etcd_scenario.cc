// MakeEtcdPutScenario (scenarios.h): the baseline the durable creates are compared with, an
// etcd v3 KV/Put of a unique key and a unique value per call, over our own minimal proto of
// etcd's wire format (etcd_kv.proto).
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "tools/loadgen/etcd/etcd_kv.grpc.pb.h"
#include "tools/loadgen/scenarios.h"

namespace observer::loadgen {
namespace {

// A call that has not answered by then is an error rather than a hung run.
constexpr absl::Duration kCallDeadline = absl::Seconds(30);

uint64_t SplitMix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

class EtcdPutScenario final : public Scenario {
 public:
  EtcdPutScenario(Channels channels, int payload_bytes)
      : payload_bytes_(payload_bytes < 0 ? 0 : payload_bytes) {
    for (const std::shared_ptr<grpc::Channel>& channel : channels) {
      stubs_.push_back(etcdserverpb::KV::NewStub(channel));
    }
    // Keys differ between runs against the same etcd too: every Put creates a key.
    std::random_device random;
    salt_ = (static_cast<uint64_t>(random()) << 32) ^ random();
    prefix_ = absl::StrCat("/bench/", absl::Hex(salt_, absl::kZeroPad16), "/");
  }

  std::string name() const override { return "etcd_put"; }

  // Checks that the channels reach an etcd that serves reads, for a clear error up front.
  absl::Status Prepare() override {
    if (stubs_.empty()) return absl::InvalidArgumentError("etcd_put: no channels");
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    context.set_wait_for_ready(true);
    etcdserverpb::RangeRequest request;
    request.set_key(prefix_);
    request.set_count_only(true);
    etcdserverpb::RangeResponse response;
    const grpc::Status status = stubs_[0]->Range(&context, request, &response);
    if (!status.ok()) {
      return absl::UnavailableError(
          absl::StrCat("etcd_put: etcd does not answer a Range: ", status.error_code(), ": ",
                       status.error_message()));
    }
    if (!response.has_header() || response.header().member_id() == 0) {
      return absl::FailedPreconditionError(
          "etcd_put: the target answered a Range without etcd's response header");
    }
    return absl::OkStatus();
  }

  void Issue(int channel, int /*slot*/, int64_t sequence,
             std::function<void(const grpc::Status& status)> done) override {
    auto* call = new Call();
    call->request.set_key(absl::StrCat(prefix_, sequence));
    FillValue(sequence, call->request.mutable_value());
    request_bytes_.fetch_add(static_cast<int64_t>(call->request.ByteSizeLong()),
                             std::memory_order_relaxed);
    requests_.fetch_add(1, std::memory_order_relaxed);
    call->context.set_deadline(absl::ToChronoTime(absl::Now() + kCallDeadline));
    etcdserverpb::KV::Stub& stub = *stubs_[static_cast<size_t>(channel) % stubs_.size()];
    stub.async()->Put(&call->context, &call->request, &call->response,
                      [call, done = std::move(done)](grpc::Status status) {
                        if (status.ok() && (!call->response.has_header() ||
                                            call->response.header().revision() <= 0)) {
                          status = grpc::Status(grpc::StatusCode::INTERNAL,
                                                "etcd Put answered without a revision");
                        }
                        delete call;
                        done(status);
                      });
  }

  std::map<std::string, double> Extra() const override {
    const int64_t n = requests_.load(std::memory_order_relaxed);
    std::map<std::string, double> extra = {{"value_bytes", static_cast<double>(payload_bytes_)}};
    if (n > 0) {
      extra["request_bytes"] = static_cast<double>(request_bytes_.load(std::memory_order_relaxed)) /
                               static_cast<double>(n);
    }
    return extra;
  }

 private:
  struct Call {
    grpc::ClientContext context;
    etcdserverpb::PutRequest request;
    etcdserverpb::PutResponse response;
  };

  // `payload_bytes_` bytes unique to this run and `sequence`: the sequence number itself, then
  // pseudo-random bytes.
  void FillValue(int64_t sequence, std::string* value) const {
    value->resize(static_cast<size_t>(payload_bytes_));
    uint64_t state = salt_ ^ (static_cast<uint64_t>(sequence) * 0xd1342543de82ef95ULL);
    const uint64_t seq = static_cast<uint64_t>(sequence);
    size_t at = std::min(sizeof(seq), value->size());
    std::memcpy(value->data(), &seq, at);
    while (at < value->size()) {
      const uint64_t word = SplitMix64(state);
      const size_t n = std::min(sizeof(word), value->size() - at);
      std::memcpy(value->data() + at, &word, n);
      at += n;
    }
  }

  const int payload_bytes_;
  std::vector<std::unique_ptr<etcdserverpb::KV::Stub>> stubs_;
  uint64_t salt_ = 0;
  std::string prefix_;
  std::atomic<int64_t> request_bytes_{0};
  std::atomic<int64_t> requests_{0};
};

}  // namespace

std::unique_ptr<Scenario> MakeEtcdPutScenario(Channels etcd, int payload_bytes) {
  return std::make_unique<EtcdPutScenario>(std::move(etcd), payload_bytes);
}

}  // namespace observer::loadgen
