#include "common/grpc_metrics.h"

#include <grpcpp/server_context.h>

#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/log.h"
#include "google/protobuf/descriptor.h"

namespace observer {
namespace {

using grpc::experimental::InterceptionHookPoints;
using grpc::experimental::ServerRpcInfo;

constexpr std::array<absl::string_view, 17> kCodeNames = {
    "OK",       "Canceled",       "Unknown",          "InvalidArgument",   "DeadlineExceeded",
    "NotFound", "AlreadyExists",  "PermissionDenied", "ResourceExhausted", "FailedPrecondition",
    "Aborted",  "OutOfRange",     "Unimplemented",    "Internal",          "Unavailable",
    "DataLoss", "Unauthenticated"};

std::string TypeName(ServerRpcInfo::Type type) {
  switch (type) {
    case ServerRpcInfo::Type::UNARY:
      return "unary";
    case ServerRpcInfo::Type::CLIENT_STREAMING:
      return "client_stream";
    case ServerRpcInfo::Type::SERVER_STREAMING:
      return "server_stream";
    case ServerRpcInfo::Type::BIDI_STREAMING:
      return "bidi_stream";
  }
  return "unary";
}

std::string TypeName(const google::protobuf::MethodDescriptor& m) {
  if (m.client_streaming() && m.server_streaming()) return "bidi_stream";
  if (m.client_streaming()) return "client_stream";
  if (m.server_streaming()) return "server_stream";
  return "unary";
}

// Handling-time buckets in seconds: from 0.5 ms (a cached read) to 60 s (a long stream).
const prometheus::Histogram::BucketBoundaries& Buckets() {
  static const auto* const buckets = new prometheus::Histogram::BucketBoundaries{
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
  return *buckets;
}

class Interceptor : public grpc::experimental::Interceptor {
 public:
  Interceptor(ServerRpcInfo* info, GrpcServerMetrics* metrics)
      : info_(info),
        metrics_(metrics),
        method_(metrics->For(info->method(), info->type())),
        start_(std::chrono::steady_clock::now()) {
    method_.started->Increment();
  }

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_MESSAGE)) {
      method_.received->Increment();
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_MESSAGE)) {
      method_.sent->Increment();
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      const grpc::Status status = methods->GetSendStatus();
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
      const auto code = static_cast<std::size_t>(status.error_code());
      if (code < method_.handled.size()) method_.handled[code]->Increment();
      method_.seconds->Observe(seconds);
      if (metrics_->access_log()) {
        const std::string peer =
            info_->server_context() != nullptr ? info_->server_context()->peer() : "";
        LogInfo("rpc", {{"method", info_->method()},
                        {"code", code < kCodeNames.size() ? kCodeNames[code] : "Unknown"},
                        {"duration_ms", seconds * 1000},
                        {"peer", peer}});
      }
    }
    methods->Proceed();
  }

 private:
  ServerRpcInfo* info_;
  GrpcServerMetrics* metrics_;
  GrpcServerMetrics::Method& method_;
  std::chrono::steady_clock::time_point start_;
};

class Factory : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit Factory(GrpcServerMetrics* metrics) : metrics_(metrics) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(ServerRpcInfo* info) override {
    return new Interceptor(info, metrics_);
  }

 private:
  GrpcServerMetrics* metrics_;
};

}  // namespace

GrpcServerMetrics::GrpcServerMetrics(prometheus::Registry& registry,
                                     const std::vector<std::string>& services, bool access_log)
    : started_(prometheus::BuildCounter()
                   .Name("grpc_server_started_total")
                   .Help("Total number of RPCs started on the server.")
                   .Register(registry)),
      handled_(prometheus::BuildCounter()
                   .Name("grpc_server_handled_total")
                   .Help("Total number of RPCs completed on the server, regardless of success "
                         "or failure.")
                   .Register(registry)),
      received_(prometheus::BuildCounter()
                    .Name("grpc_server_msg_received_total")
                    .Help("Total number of RPC stream messages received on the server.")
                    .Register(registry)),
      sent_(prometheus::BuildCounter()
                .Name("grpc_server_msg_sent_total")
                .Help("Total number of gRPC stream messages sent by the server.")
                .Register(registry)),
      seconds_(prometheus::BuildHistogram()
                   .Name("grpc_server_handling_seconds")
                   .Help("Histogram of response latency (seconds) of gRPC that had been "
                         "application-level handled by the server.")
                   .Register(registry)),
      access_log_(access_log) {
  const google::protobuf::DescriptorPool* pool = google::protobuf::DescriptorPool::generated_pool();
  for (const std::string& name : services) {
    const google::protobuf::ServiceDescriptor* service = pool->FindServiceByName(name);
    if (service == nullptr) continue;
    for (int i = 0; i < service->method_count(); ++i) {
      const google::protobuf::MethodDescriptor& m = *service->method(i);
      const std::string path = absl::StrCat("/", name, "/", m.name());
      known_.emplace(path, Make(path, TypeName(m)));
    }
  }
}

std::unique_ptr<GrpcServerMetrics::Method> GrpcServerMetrics::Make(const std::string& path,
                                                                   const std::string& type) {
  auto m = std::make_unique<Method>();
  const auto slash = path.rfind('/');
  m->service = path.substr(1, slash - 1);
  m->name = path.substr(slash + 1);
  m->type = type;
  const prometheus::Labels labels = {
      {"grpc_type", m->type}, {"grpc_service", m->service}, {"grpc_method", m->name}};
  m->started = &started_.Add(labels);
  m->received = &received_.Add(labels);
  m->sent = &sent_.Add(labels);
  m->seconds = &seconds_.Add(labels, Buckets());
  for (std::size_t code = 0; code < kCodeNames.size(); ++code) {
    prometheus::Labels with_code = labels;
    with_code["grpc_code"] = std::string(kCodeNames[code]);
    m->handled[code] = &handled_.Add(with_code);
  }
  return m;
}

GrpcServerMetrics::Method& GrpcServerMetrics::For(const std::string& path,
                                                  ServerRpcInfo::Type type) {
  // The services' own methods: a map that no longer changes, read without a lock.
  if (auto it = known_.find(path); it != known_.end()) return *it->second;
  // Others (health, reflection): added on first use; there are only a few.
  std::lock_guard<std::mutex> lock(mu_);
  auto& slot = others_[path];
  if (slot == nullptr) slot = Make(path, TypeName(type));
  return *slot;
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
GrpcServerMetrics::NewFactory() {
  return std::make_unique<Factory>(this);
}

}  // namespace observer
