// A grpc.health.v1 client usable with any server, and raw unary calls for the services whose
// generated stubs Debian does not ship (health, channelz): the request and the response travel
// as serialized bytes through grpc::GenericStub. Used by observerctl and the tests.
#ifndef OBSERVER_COMMON_HEALTH_CLIENT_H_
#define OBSERVER_COMMON_HEALTH_CLIENT_H_

#include <grpcpp/channel.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace observer {

// grpc.health.v1.HealthCheckResponse.ServingStatus.
enum class HealthStatus { kUnknown = 0, kServing = 1, kNotServing = 2, kServiceUnknown = 3 };
std::string HealthStatusName(HealthStatus status);

// A unary call with the request and response as serialized bytes, for services Debian ships
// no generated stubs of (health, channelz).
absl::StatusOr<std::string> RawUnaryCall(const std::shared_ptr<grpc::Channel>& channel,
                                         const std::string& method, const std::string& request,
                                         absl::Duration timeout = absl::Seconds(5));

// grpc.health.v1.Health/Check of `service` ("" = the whole server). Debian's gRPC ships no
// generated health stub, so the call goes through grpc::GenericStub with the (tiny) messages
// encoded by hand.
absl::StatusOr<HealthStatus> CheckHealth(const std::shared_ptr<grpc::Channel>& channel,
                                         absl::Duration timeout = absl::Seconds(5),
                                         const std::string& service = "");

}  // namespace observer

#endif  // OBSERVER_COMMON_HEALTH_CLIENT_H_
