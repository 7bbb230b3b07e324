// The echo service on gRPC's callback API: each call's payload is copied into its answer, and
// nothing else is done, so a benchmark against it measures the transport and the server
// bootstrap (interceptors, metrics, access log) alone.
#ifndef OBSERVER_TOOLS_ECHO_SERVER_ECHO_HANDLER_H_
#define OBSERVER_TOOLS_ECHO_SERVER_ECHO_HANDLER_H_

#include <grpcpp/grpcpp.h>

#include "tools/echo-server/echo.grpc.pb.h"

namespace observer::echo {

class EchoHandler final : public v1::EchoService::CallbackService {
 public:
  grpc::ServerUnaryReactor* Echo(grpc::CallbackServerContext* context,
                                 const v1::EchoRequest* request,
                                 v1::EchoResponse* response) override;
};

}  // namespace observer::echo

#endif  // OBSERVER_TOOLS_ECHO_SERVER_ECHO_HANDLER_H_
