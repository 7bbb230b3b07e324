// One gRPC server interceptor that records, for every call, the go-grpc-prometheus metrics
// (grpc_server_started_total, grpc_server_handled_total, grpc_server_msg_received_total,
// grpc_server_msg_sent_total, grpc_server_handling_seconds) and, if asked, writes one
// access-log line per call (method, code, duration, peer). Every method of the services named
// at construction starts at zero, so rates and ratios exist before the first call.
#ifndef OBSERVER_COMMON_GRPC_METRICS_H_
#define OBSERVER_COMMON_GRPC_METRICS_H_

#include <grpcpp/support/server_interceptor.h>

#include <array>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace observer {

class GrpcServerMetrics {
 public:
  // `services`: full names of the services served (e.g. "observer.registry.v1.RegistryService");
  // their methods are found in the protobuf descriptor pool and initialised at zero.
  GrpcServerMetrics(prometheus::Registry& registry, const std::vector<std::string>& services,
                    bool access_log);

  // The interceptor factory to give the server builder (one per server).
  std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> NewFactory();

  // The metrics of one method ("/package.Service/Method").
  struct Method {
    std::string service;
    std::string name;
    std::string type;  // "unary", "server_stream", "client_stream", "bidi_stream".
    prometheus::Counter* started = nullptr;
    prometheus::Counter* received = nullptr;
    prometheus::Counter* sent = nullptr;
    prometheus::Histogram* seconds = nullptr;
    std::array<prometheus::Counter*, 17> handled{};  // By grpc::StatusCode.
  };
  Method& For(const std::string& path, grpc::experimental::ServerRpcInfo::Type type);
  bool access_log() const { return access_log_; }

 private:
  std::unique_ptr<Method> Make(const std::string& path, const std::string& type);

  prometheus::Family<prometheus::Counter>& started_;
  prometheus::Family<prometheus::Counter>& handled_;
  prometheus::Family<prometheus::Counter>& received_;
  prometheus::Family<prometheus::Counter>& sent_;
  prometheus::Family<prometheus::Histogram>& seconds_;
  const bool access_log_;
  // Set in the constructor, read-only after.
  std::unordered_map<std::string, std::unique_ptr<Method>> known_;
  std::mutex mu_;
  std::unordered_map<std::string, std::unique_ptr<Method>> others_;  // Guarded by mu_.
};

}  // namespace observer

#endif  // OBSERVER_COMMON_GRPC_METRICS_H_
