// One unary call with a deadline, its gRPC status turned back into an absl::Status with the
// google.rpc details: what the test clients wrap every method with.
#ifndef OBSERVER_TESTS_HARNESS_UNARY_CALL_H_
#define OBSERVER_TESTS_HARNESS_UNARY_CALL_H_

#include <grpcpp/grpcpp.h>

#include <chrono>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/grpc_status.h"

namespace observer::testing {

inline std::chrono::system_clock::time_point DeadlineAfter(absl::Duration d) {
  return std::chrono::system_clock::now() + absl::ToChronoMilliseconds(d);
}

template <typename Stub, typename Req, typename Resp>
absl::StatusOr<Resp> UnaryCall(Stub* stub,
                               grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&,
                                                            Resp*),
                               const Req& request, absl::Duration timeout) {
  grpc::ClientContext context;
  context.set_deadline(DeadlineAfter(timeout));
  Resp response;
  grpc::Status status = (stub->*method)(&context, request, &response);
  if (!status.ok()) return observer::FromGrpcStatus(status);
  return response;
}

}  // namespace observer::testing

#endif  // OBSERVER_TESTS_HARNESS_UNARY_CALL_H_
