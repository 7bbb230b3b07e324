// The life of a gRPC server process, shared by both services: start with health checking,
// reflection and channelz (and, when asked, a plaintext health-only port for probes), announce
// the bound addresses, wait for SIGTERM/SIGINT, then drain and stop.
#ifndef OBSERVER_COMMON_GRPC_SERVER_H_
#define OBSERVER_COMMON_GRPC_SERVER_H_

#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "common/metrics.h"

namespace observer {

// Blocks SIGTERM and SIGINT in the calling thread and every thread it starts afterwards, so
// that ServeUntilSignal receives them. Call first thing in main.
void BlockTerminationSignals();

struct ServeOptions;

// Readiness of a service that is not ready as soon as it listens (stats-service before its
// first sync), reported through grpc.health.v1 for the whole server. Thread-safe.
class Readiness {
 public:
  void Set(bool ready);

 private:
  friend int ServeUntilSignal(const ServeOptions&, const std::vector<grpc::Service*>&,
                              const std::function<void()>&);
  void Attach(grpc::HealthCheckServiceInterface* health);
  void Detach();  // From the drain on: NOT_SERVING whatever Set says.

  std::mutex mu_;
  bool ready_ = false;                                   // Guarded by mu_.
  grpc::HealthCheckServiceInterface* health_ = nullptr;  // Guarded by mu_.
};

struct ServeOptions {
  std::string service;  // For logs, e.g. "registry".
  std::string listen;   // host:port; port 0 picks a free port.
  // After a signal the health status is NOT_SERVING for this long before the server stops
  // accepting calls, so that load balancers move away first.
  absl::Duration drain_period = absl::Seconds(1);
  // In-flight calls get this long to finish before they are cancelled.
  absl::Duration shutdown_timeout = absl::Seconds(10);
  // Limits: the largest request message (larger ones fail with RESOURCE_EXHAUSTED before
  // they reach a handler) and the most calls open at once on one connection.
  int max_message_bytes = 4 << 20;
  int max_concurrent_streams = 100;
  // When set, health follows it (NOT_SERVING until it says ready); otherwise the server is
  // SERVING from the start.
  Readiness* readiness = nullptr;
  // When set, /metrics is served on `metrics_listen` (port 0 picks a free port, announced as
  // `metrics_address` in the "serving" line; empty: no metrics endpoint), and every call is
  // counted and timed; the methods of `grpc_services` (full service names) start at zero.
  // Health is reported for the whole server ("") and for each of `grpc_services`.
  Metrics* metrics = nullptr;
  std::string metrics_listen;
  std::vector<std::string> grpc_services;
  // Mutual TLS; null serves plaintext (--insecure-loopback). Channelz, which shows peers'
  // addresses, is served only on plaintext loopback servers.
  std::shared_ptr<grpc::ServerCredentials> credentials;
  // One access-log line (method, code, duration, peer) per call.
  bool access_log = true;
  // When set, a second server on this address (host:port; port 0 picks a free port, announced
  // as `health_address` in the "serving" line) serves grpc.health.v1.Health and nothing else,
  // in plaintext whatever `credentials` say: for probes that cannot speak TLS (Kubernetes'
  // `grpc:` probes). It answers exactly as the main server's health service does (the same
  // statuses for "" and each of `grpc_services`, NOT_SERVING from the drain on); it has no
  // other service, no reflection, no channelz, and its calls are neither counted in the
  // metrics nor logged. It stops after the main server.
  std::string health_listen;
};

// Builds and starts the server with `services` (and the health-only server, if asked), logs a
// "serving" line carrying `grpc_address` (and `health_address`), and waits for SIGTERM or SIGINT.
// Then: health NOT_SERVING, the drain period, `before_shutdown` (to end long-lived streams
// cleanly), Shutdown with the timeout. A second signal exits at once. Returns the process exit code
// (0 after a clean stop, 1 if an address cannot be bound).
int ServeUntilSignal(const ServeOptions& options, const std::vector<grpc::Service*>& services,
                     const std::function<void()>& before_shutdown);

}  // namespace observer

#endif  // OBSERVER_COMMON_GRPC_SERVER_H_
