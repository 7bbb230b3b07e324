// Translation of our absl::Status errors to gRPC statuses with google.rpc.Status details.
// Only the transport layer (handlers, clients) includes this file.
#ifndef OBSERVER_COMMON_GRPC_STATUS_H_
#define OBSERVER_COMMON_GRPC_STATUS_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"
#include "common/errors.h"

namespace observer {

// An absl::Status becomes a grpc::Status whose binary details are a google.rpc.Status with
// the ErrorInfo and BadRequest payloads packed as Any. A status without a reason gets
// the reason named after its code, so every error carries exactly one ErrorInfo.
grpc::Status ToGrpcStatus(const absl::Status& status);

// The reverse, for clients and tests: code, message and details recovered.
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace observer

#endif  // OBSERVER_COMMON_GRPC_STATUS_H_
