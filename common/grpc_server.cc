#include "common/grpc_server.h"

#include <grpcpp/ext/channelz_service_plugin.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/impl/server_builder_option.h>
#include <grpcpp/impl/server_builder_plugin.h>
#include <signal.h>
#include <unistd.h>

#include <memory>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/grpc_metrics.h"
#include "common/log.h"

namespace observer {
namespace {

sigset_t TerminationSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}

// The host part of `listen` with the bound port.
std::string BoundAddress(const std::string& listen, int port) {
  const size_t colon = listen.rfind(':');
  return absl::StrCat(listen.substr(0, colon), ":", port);
}

// Keepalive, shared by both servers: probe an idle client every minute and drop it after 20 s
// without an answer; refuse clients that ping more often than every 10 s (two strikes, then
// GOAWAY).
void AddKeepaliveArguments(grpc::ServerBuilder& builder) {
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 60'000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 20'000);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10'000);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 2);
}

// Every health status change, applied to the main server's health service and to the
// health-only server's, so that both answer alike.
class HealthFanout final : public grpc::HealthCheckServiceInterface {
 public:
  explicit HealthFanout(std::vector<grpc::HealthCheckServiceInterface*> targets)
      : targets_(std::move(targets)) {}

  void SetServingStatus(const std::string& service_name, bool serving) override {
    for (grpc::HealthCheckServiceInterface* target : targets_) {
      target->SetServingStatus(service_name, serving);
    }
  }
  void SetServingStatus(bool serving) override {
    for (grpc::HealthCheckServiceInterface* target : targets_) target->SetServingStatus(serving);
  }
  void Shutdown() override {
    for (grpc::HealthCheckServiceInterface* target : targets_) target->Shutdown();
  }

 private:
  const std::vector<grpc::HealthCheckServiceInterface*> targets_;
};

// Removes the process-wide ServerBuilder plugins (server reflection, channelz) from one server:
// the health-only server serves grpc.health.v1.Health (the default health service) alone.
class WithoutPlugins final : public grpc::ServerBuilderOption {
 public:
  void UpdateArguments(grpc::ChannelArguments* /*args*/) override {}
  void UpdatePlugins(std::vector<std::unique_ptr<grpc::ServerBuilderPlugin>>* plugins) override {
    plugins->clear();
  }
};

// The plaintext health-only server (ServeOptions::health_listen): the default health service
// and, for every other method, the callback generic service's default answer, UNIMPLEMENTED.
// (Without a callback service gRPC refuses to build a server whose only service is the health
// service it adds itself: "at least one of the completion queues must be frequently polled".)
struct HealthServer {
  grpc::CallbackGenericService unimplemented;  // Outlives `server`.
  std::unique_ptr<grpc::Server> server;
  int port = 0;
};

// Starts the health-only server on `address`; null if it cannot listen there.
std::unique_ptr<HealthServer> StartHealthServer(const std::string& address) {
  auto health = std::make_unique<HealthServer>();
  grpc::ServerBuilder builder;
  builder.SetOption(std::make_unique<WithoutPlugins>());
  builder.RegisterCallbackGenericService(&health->unimplemented);
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  // Health requests are a service name: a few bytes. Probes open a connection per check.
  builder.SetMaxReceiveMessageSize(4096);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, 16);
  AddKeepaliveArguments(builder);
  builder.AddListeningPort(address, grpc::InsecureServerCredentials(), &health->port);
  health->server = builder.BuildAndStart();
  if (health->server == nullptr || health->port == 0 ||
      health->server->GetHealthCheckService() == nullptr) {
    return nullptr;
  }
  return health;
}

}  // namespace

void Readiness::Set(bool ready) {
  std::lock_guard<std::mutex> lock(mu_);
  ready_ = ready;
  if (health_ != nullptr) health_->SetServingStatus(ready_);
}

void Readiness::Attach(grpc::HealthCheckServiceInterface* health) {
  std::lock_guard<std::mutex> lock(mu_);
  health_ = health;
  health_->SetServingStatus(ready_);
}

void Readiness::Detach() {
  std::lock_guard<std::mutex> lock(mu_);
  health_ = nullptr;
}

void BlockTerminationSignals() {
  sigset_t set = TerminationSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int ServeUntilSignal(const ServeOptions& options, const std::vector<grpc::Service*>& services,
                     const std::function<void()>& before_shutdown) {
  // Debian's abseil is built without NDEBUG, so every absl::Mutex lock (gRPC locks them on
  // each call) also updates a global lock-order graph to detect deadlock cycles: some 8% of a
  // busy server's CPU. Lock ordering is checked by the ThreadSanitizer runs instead.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  // grpc.channelz.v1.Channelz: live channel, server and socket statistics for debugging.
  if (options.credentials == nullptr) grpc::channelz::experimental::InitChannelzService();
  grpc::ServerBuilder builder;
  // A second server on the same address must fail, not share the port (Linux SO_REUSEPORT).
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.SetMaxReceiveMessageSize(options.max_message_bytes);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, options.max_concurrent_streams);
  AddKeepaliveArguments(builder);
  int port = 0;
  builder.AddListeningPort(
      options.listen,
      options.credentials != nullptr ? options.credentials : grpc::InsecureServerCredentials(),
      &port);
  for (grpc::Service* service : services) builder.RegisterService(service);
  std::unique_ptr<GrpcServerMetrics> call_metrics;
  std::string metrics_address;
  if (options.metrics != nullptr) {
    call_metrics = std::make_unique<GrpcServerMetrics>(options.metrics->registry(),
                                                       options.grpc_services, options.access_log);
    std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> creators;
    creators.push_back(call_metrics->NewFactory());
    builder.experimental().SetInterceptorCreators(std::move(creators));
    if (!options.metrics_listen.empty()) {
      absl::StatusOr<std::string> bound = options.metrics->Serve(options.metrics_listen);
      if (!bound.ok()) {
        LogError("cannot serve metrics", {{"service", options.service},
                                          {"metrics_listen", options.metrics_listen},
                                          {"error", bound.status().message()}});
        return 1;
      }
      metrics_address = *bound;
    }
  }
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    LogError("cannot listen", {{"service", options.service}, {"listen", options.listen}});
    if (options.metrics != nullptr) options.metrics->StopServing();
    return 1;
  }
  // The health-only server, plaintext, for probes that cannot speak TLS.
  std::unique_ptr<HealthServer> health_server;
  if (!options.health_listen.empty()) {
    health_server = StartHealthServer(options.health_listen);
    if (health_server == nullptr) {
      LogError("cannot listen",
               {{"service", options.service}, {"health_listen", options.health_listen}});
      server->Shutdown(absl::ToChronoTime(absl::Now()));
      server->Wait();
      if (options.metrics != nullptr) options.metrics->StopServing();
      return 1;
    }
  }
  std::vector<grpc::HealthCheckServiceInterface*> health_services = {
      server->GetHealthCheckService()};
  if (health_server != nullptr) {
    health_services.push_back(health_server->server->GetHealthCheckService());
  }
  HealthFanout fanout(std::move(health_services));
  grpc::HealthCheckServiceInterface* health = &fanout;
  // Health by service name too (e.g. Kubernetes probes with `service:` set): once named here,
  // each service follows the overall status.
  for (const std::string& name : options.grpc_services) health->SetServingStatus(name, false);
  if (options.readiness != nullptr) {
    options.readiness->Attach(health);
  } else {
    health->SetServingStatus(true);
  }
  LogInfo("serving",
          {{"service", options.service},
           {"grpc_address", BoundAddress(options.listen, port)},
           {"metrics_address", metrics_address},
           {"health_address", health_server != nullptr
                                  ? BoundAddress(options.health_listen, health_server->port)
                                  : std::string()},
           {"tls", options.credentials != nullptr}});

  sigset_t set = TerminationSignals();
  int signal_number = 0;
  sigwait(&set, &signal_number);
  LogInfo("stopping", {{"service", options.service},
                       {"signal", signal_number == SIGTERM ? "SIGTERM" : "SIGINT"}});
  std::thread second_signal([set] {
    int again = 0;
    if (sigwait(&set, &again) == 0) {
      LogWarning("second signal: exiting at once");
      _exit(1);
    }
  });
  second_signal.detach();

  if (options.readiness != nullptr) options.readiness->Detach();
  health->SetServingStatus(false);
  absl::SleepFor(options.drain_period);
  if (before_shutdown) before_shutdown();
  LogDebug("shutting down", {{"service", options.service}});
  // The metrics endpoint takes up to 2 s to stop (civetweb polls its stop flag): let it stop
  // while the calls end rather than after.
  std::thread stop_metrics;
  if (options.metrics != nullptr) {
    stop_metrics = std::thread([metrics = options.metrics] { metrics->StopServing(); });
  }
  server->Shutdown(absl::ToChronoTime(absl::Now() + options.shutdown_timeout));
  LogDebug("shut down; waiting", {{"service", options.service}});
  server->Wait();
  LogDebug("server done", {{"service", options.service}});
  // The health-only server answered NOT_SERVING until now; its calls are instant.
  if (health_server != nullptr) {
    health_server->server->Shutdown(absl::ToChronoTime(absl::Now()));
    health_server->server->Wait();
    health_server.reset();
  }
  server.reset();
  if (stop_metrics.joinable()) stop_metrics.join();
  LogInfo("stopped", {{"service", options.service}});
  return 0;
}

}  // namespace observer
