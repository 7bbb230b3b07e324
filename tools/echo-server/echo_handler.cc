#include "tools/echo-server/echo_handler.h"

namespace observer::echo {

grpc::ServerUnaryReactor* EchoHandler::Echo(grpc::CallbackServerContext* context,
                                            const v1::EchoRequest* request,
                                            v1::EchoResponse* response) {
  response->set_payload(request->payload());
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace observer::echo
