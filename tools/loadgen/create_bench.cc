// registry-create-bench: durable CreateObserver throughput at a given concurrency, on gRPC's
// callback client API. Each call carries a unique person and identity document.
//
//   registry-create-bench --registry 127.0.0.1:50051 --in-flight 64 --seconds 10
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/config.h"
#include "observer/registry/v1/registry_service.grpc.pb.h"

ABSL_FLAG(std::string, registry, "127.0.0.1:50051", "Registry address");
ABSL_FLAG(int32_t, in_flight, 64, "Calls in flight at once");
ABSL_FLAG(int32_t, channels, 1, "gRPC channels (connections)");
ABSL_FLAG(double, seconds, 10, "Measured duration");
ABSL_FLAG(double, warmup, 1, "Warm-up before measuring, in seconds");
ABSL_FLAG(std::string, election, "bench-2030", "Election id (created if missing)");

namespace {

namespace v1 = observer::registry::v1;

std::string first_error;

struct Shared {
  std::vector<std::unique_ptr<v1::RegistryService::Stub>> stubs;
  std::string parent;
  absl::Time measure_from;
  absl::Time stop_at;
  std::atomic<int64_t> sequence{0};
  std::mutex mu;
  std::condition_variable cv;
  int running = 0;
  std::vector<double> latencies_ms;  // Measured window only.
  std::map<int, int64_t> errors;     // By gRPC code.
};

// A Latin name unique to n ("Bab", "Bac", ...): transliterated names have no digits.
std::string LatinName(int64_t n) {
  std::string name = "B";
  do {
    name.push_back(static_cast<char>('a' + n % 26));
    n /= 26;
  } while (n > 0);
  return name;
}

// One slot: issues a call, and on completion the next, until the stop time.
class Slot {
 public:
  Slot(Shared& shared, int index) : shared_(shared), index_(index) {}

  void Issue() {
    const int64_t n = shared_.sequence.fetch_add(1);
    context_ = std::make_unique<grpc::ClientContext>();
    request_.Clear();
    request_.set_parent(shared_.parent);
    v1::Observer* o = request_.mutable_observer();
    o->set_given_names(LatinName(n));
    o->set_family_name(LatinName(index_));
    o->set_latin_given_names(LatinName(n));
    o->set_latin_family_name(LatinName(index_));
    o->set_citizenship("DE");
    o->set_gender(n % 2 == 0 ? v1::GENDER_FEMALE : v1::GENDER_MALE);
    o->mutable_id_document()->set_type(v1::ID_DOCUMENT_TYPE_PASSPORT);
    o->mutable_id_document()->set_number(absl::StrCat("C", absl::ToUnixNanos(absl::Now()), "N", n));
    o->mutable_id_document()->set_issuing_country("DE");
    o->mutable_sending_body()->set_state("DE");
    o->set_category(v1::OBSERVER_CATEGORY_SHORT_TERM);
    started_ = absl::Now();
    auto& stub = shared_.stubs[index_ % shared_.stubs.size()];
    stub->async()->CreateObserver(context_.get(), &request_, &response_,
                                  [this](grpc::Status status) { Done(status); });
  }

 private:
  void Done(const grpc::Status& status) {
    const absl::Time now = absl::Now();
    {
      std::lock_guard<std::mutex> lock(shared_.mu);
      if (started_ >= shared_.measure_from && now <= shared_.stop_at) {
        if (status.ok()) {
          shared_.latencies_ms.push_back(absl::ToDoubleMilliseconds(now - started_));
        } else {
          if (shared_.errors.empty()) first_error = status.error_message();
          ++shared_.errors[status.error_code()];
        }
      }
      if (now >= shared_.stop_at) {
        --shared_.running;
        shared_.cv.notify_all();
        return;
      }
    }
    Issue();
  }

  Shared& shared_;
  const int index_;
  std::unique_ptr<grpc::ClientContext> context_;
  v1::CreateObserverRequest request_;
  v1::CreateObserverResponse response_;
  absl::Time started_;
};

double Percentile(std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const size_t i = std::min(sorted.size() - 1, static_cast<size_t>(p * sorted.size()));
  return sorted[i];
}

}  // namespace

int main(int argc, char** argv) {
  observer::ParseFlagsWithEnv(argc, argv, "BENCH",
                              "registry-create-bench: durable CreateObserver throughput");
  Shared shared;
  grpc::ChannelArguments args;
  for (int i = 0; i < std::max(1, absl::GetFlag(FLAGS_channels)); ++i) {
    args.SetInt("observer.bench.channel", i);  // Distinct channels, not a shared subchannel.
    shared.stubs.push_back(v1::RegistryService::NewStub(grpc::CreateCustomChannel(
        absl::GetFlag(FLAGS_registry), grpc::InsecureChannelCredentials(), args)));
  }
  const std::string election = absl::GetFlag(FLAGS_election);
  shared.parent = absl::StrCat("elections/", election);
  {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    v1::CreateElectionRequest request;
    request.set_election_id(election);
    v1::Election* e = request.mutable_election();
    e->set_display_name("Benchmark election");
    e->set_kind(v1::ELECTION_KIND_PARLIAMENTARY);
    e->set_host_country("KZ");
    e->mutable_voting_day()->set_year(2030);
    e->mutable_voting_day()->set_month(6);
    e->mutable_voting_day()->set_day(16);
    e->set_time_zone("Asia/Almaty");
    v1::CreateElectionResponse response;
    grpc::Status status = shared.stubs[0]->CreateElection(&context, request, &response);
    if (!status.ok() && status.error_code() != grpc::StatusCode::ALREADY_EXISTS) {
      std::fprintf(stderr, "cannot create the election: %s\n", status.error_message().c_str());
      return 1;
    }
  }
  const int in_flight = std::max(1, absl::GetFlag(FLAGS_in_flight));
  const absl::Time start = absl::Now();
  shared.measure_from = start + absl::Seconds(absl::GetFlag(FLAGS_warmup));
  shared.stop_at = shared.measure_from + absl::Seconds(absl::GetFlag(FLAGS_seconds));
  std::vector<std::unique_ptr<Slot>> slots;
  shared.running = in_flight;
  for (int i = 0; i < in_flight; ++i) slots.push_back(std::make_unique<Slot>(shared, i));
  for (auto& slot : slots) slot->Issue();
  {
    std::unique_lock<std::mutex> lock(shared.mu);
    shared.cv.wait(lock, [&] { return shared.running == 0; });
  }
  std::vector<double>& l = shared.latencies_ms;
  std::sort(l.begin(), l.end());
  const double seconds = absl::GetFlag(FLAGS_seconds);
  int64_t errors = 0;
  for (const auto& [code, count] : shared.errors) errors += count;
  std::printf(
      "{\"scenario\":\"durable_create\",\"in_flight\":%d,\"seconds\":%.1f,\"ok\":%zu,"
      "\"errors\":%lld,\"per_second\":%.0f,\"p50_ms\":%.2f,\"p90_ms\":%.2f,\"p99_ms\":%.2f}\n",
      in_flight, seconds, l.size(), static_cast<long long>(errors), l.size() / seconds,
      Percentile(l, 0.50), Percentile(l, 0.90), Percentile(l, 0.99));
  if (!first_error.empty()) std::fprintf(stderr, "first error: %s\n", first_error.c_str());
  for (const auto& [code, count] : shared.errors) {
    std::fprintf(stderr, "errors with code %d: %lld\n", code, static_cast<long long>(count));
  }
  return errors == 0 ? 0 : 1;
}
