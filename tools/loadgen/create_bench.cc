// registry-create-bench: durable CreateObserver throughput at a given concurrency, on gRPC's
// callback client API. Each call carries a unique person and identity document.
//
//   registry-create-bench --registry 127.0.0.1:50051 --in-flight 64 --seconds 10
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <memory>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/config.h"
#include "observer/registry/v1/registry_service.grpc.pb.h"
#include "tools/loadgen/closed_loop.h"
#include "tools/loadgen/setup.h"

ABSL_FLAG(std::string, registry, "127.0.0.1:50051", "Registry address");
ABSL_FLAG(int32_t, in_flight, 64, "Calls in flight at once");
ABSL_FLAG(int32_t, channels, 1, "gRPC channels (connections)");
ABSL_FLAG(double, seconds, 10, "Measured duration");
ABSL_FLAG(double, warmup, 1, "Warm-up before measuring, in seconds");
ABSL_FLAG(std::string, election, "bench-2030", "Election id (created if missing)");

namespace {

namespace v1 = observer::registry::v1;
using observer::loadgen::LatinName;

// The state of one slot's call in flight.
struct Call {
  grpc::ClientContext context;
  v1::CreateObserverRequest request;
  v1::CreateObserverResponse response;
};

}  // namespace

int main(int argc, char** argv) {
  observer::ParseFlagsWithEnv(argc, argv, "BENCH",
                              "registry-create-bench: durable CreateObserver throughput");
  std::vector<std::unique_ptr<v1::RegistryService::Stub>> stubs;
  grpc::ChannelArguments args;
  for (int i = 0; i < std::max(1, absl::GetFlag(FLAGS_channels)); ++i) {
    args.SetInt("observer.bench.channel", i);  // Distinct channels, not a shared subchannel.
    stubs.push_back(v1::RegistryService::NewStub(grpc::CreateCustomChannel(
        absl::GetFlag(FLAGS_registry), grpc::InsecureChannelCredentials(), args)));
  }
  const std::string election = absl::GetFlag(FLAGS_election);
  if (absl::Status status = observer::loadgen::EnsureElection(*stubs[0], election); !status.ok()) {
    std::fprintf(stderr, "%s\n", std::string(status.message()).c_str());
    return 1;
  }
  const std::string parent = absl::StrCat("elections/", election);
  observer::loadgen::ClosedLoopOptions options;
  options.scenario = "durable_create";
  options.in_flight = std::max(1, absl::GetFlag(FLAGS_in_flight));
  options.warmup = absl::Seconds(absl::GetFlag(FLAGS_warmup));
  options.measure = absl::Seconds(absl::GetFlag(FLAGS_seconds));
  std::vector<std::unique_ptr<Call>> calls(static_cast<size_t>(options.in_flight));
  std::atomic<int64_t> sequence{0};
  const auto result = observer::loadgen::RunClosedLoop(
      options, [&](int slot, std::function<void(const grpc::Status&)> done) {
        const int64_t n = sequence.fetch_add(1);
        auto& call = calls[static_cast<size_t>(slot)];
        call = std::make_unique<Call>();
        call->request.set_parent(parent);
        v1::Observer* o = call->request.mutable_observer();
        o->set_given_names(LatinName(n));
        o->set_family_name(LatinName(slot));
        o->set_latin_given_names(LatinName(n));
        o->set_latin_family_name(LatinName(slot));
        o->set_citizenship("DE");
        o->set_gender(n % 2 == 0 ? v1::GENDER_FEMALE : v1::GENDER_MALE);
        o->mutable_id_document()->set_type(v1::ID_DOCUMENT_TYPE_PASSPORT);
        o->mutable_id_document()->set_number(
            absl::StrCat("C", absl::ToUnixNanos(absl::Now()), "N", n));
        o->mutable_id_document()->set_issuing_country("DE");
        o->mutable_sending_body()->set_state("DE");
        o->set_category(v1::OBSERVER_CATEGORY_SHORT_TERM);
        stubs[static_cast<size_t>(slot) % stubs.size()]->async()->CreateObserver(
            &call->context, &call->request, &call->response, std::move(done));
      });
  observer::loadgen::PrintResult(result);
  return result.error_count() == 0 ? 0 : 1;
}
