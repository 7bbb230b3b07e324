// A thin synchronous client over the generated stub: every call has a deadline and returns
// absl::StatusOr with the google.rpc details decoded (observer::FromGrpcStatus).
#ifndef OBSERVER_TESTS_HARNESS_REGISTRY_CLIENT_H_
#define OBSERVER_TESTS_HARNESS_REGISTRY_CLIENT_H_

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "observer/registry/v1/registry_service.grpc.pb.h"
#include "tests/harness/response_stream.h"

namespace observer::testing {

namespace rv1 = ::observer::registry::v1;

class WatchStream;

// Every unary method of RegistryService, for declaring and defining one wrapper each.
// clang-format off
#define OBSERVER_REGISTRY_UNARY_RPCS(X) \
  X(CreateElection) \
  X(GetElection) \
  X(ListElections) \
  X(UpdateElection) \
  X(CreateOrganisation) \
  X(GetOrganisation) \
  X(ListOrganisations) \
  X(UpdateOrganisation) \
  X(CreateObserver) \
  X(BatchCreateObservers) \
  X(GetObserver) \
  X(ListObservers) \
  X(UpdateObserver) \
  X(AccreditObserver) \
  X(RejectObserver) \
  X(SuspendObserver) \
  X(ReinstateObserver) \
  X(WithdrawObserver) \
  X(DeleteObserver)
// clang-format on

class RegistryClient {
 public:
  explicit RegistryClient(std::shared_ptr<grpc::Channel> channel,
                          absl::Duration timeout = absl::Seconds(20));

#define OBSERVER_TEST_RPC(Method) \
  absl::StatusOr<rv1::Method##Response> Method(const rv1::Method##Request& request);
  OBSERVER_REGISTRY_UNARY_RPCS(OBSERVER_TEST_RPC)
#undef OBSERVER_TEST_RPC

  // The head revision, as reported by a List response.
  absl::StatusOr<int64_t> HeadRevision();
  // Every election / organisation / observer of `parent` (all pages).
  absl::StatusOr<std::vector<rv1::Election>> AllElections();
  absl::StatusOr<std::vector<rv1::Organisation>> AllOrganisations();
  absl::StatusOr<std::vector<rv1::Observer>> AllObservers(const std::string& parent,
                                                          const std::string& filter = "");

  // Opens a Watch; see WatchStream.
  std::unique_ptr<WatchStream> Watch(const rv1::WatchRequest& request, bool start_reading = true,
                                     absl::Duration stream_timeout = absl::Seconds(90));

  rv1::RegistryService::Stub& stub() { return *stub_; }

 private:
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<rv1::RegistryService::Stub> stub_;
  absl::Duration timeout_;
};

// One Watch call (see ResponseStream), plus reading through to a revision.
class WatchStream : public ResponseStream<rv1::WatchResponse> {
 public:
  WatchStream(rv1::RegistryService::Stub* stub, const rv1::WatchRequest& request,
              bool start_reading, absl::Duration stream_timeout);

  // Reads until an event with revision >= `revision` has been received and returns every event
  // received meanwhile (progress responses are skipped). Error on stream end or timeout.
  absl::StatusOr<std::vector<rv1::ChangeEvent>> EventsThrough(int64_t revision,
                                                              absl::Duration timeout);
};

}  // namespace observer::testing

#endif  // OBSERVER_TESTS_HARNESS_REGISTRY_CLIENT_H_
