// echo-server: the transport ceiling of the benchmarks. One unary method that returns its
// payload, served with the services' own bootstrap (flags, transport security, limits,
// metrics and access log, health, drain and stop), so that it starts, announces itself and
// stops like registry-service and stats-service.
//
//   echo-server --listen 127.0.0.1:50060 --insecure-loopback --log-level warning
#include <string>

#include "absl/flags/flag.h"
#include "common/config.h"
#include "common/grpc_server.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/service_flags.h"
#include "tools/echo-server/echo_handler.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50060", "gRPC listen address (host:port)");
ABSL_FLAG(std::string, metrics_listen, "",
          "Prometheus /metrics address (host:port; port 0 picks one; empty: no metrics endpoint, "
          "calls are still counted and timed as in the services)");

namespace {

constexpr char kUsage[] =
    "echo-server: returns each call's payload (observer.echo.v1.EchoService/Echo), the "
    "transport baseline of the benchmarks.\nUsage: echo-server --listen 127.0.0.1:50060 "
    "--insecure-loopback";

}  // namespace

int main(int argc, char** argv) {
  observer::BlockTerminationSignals();
  observer::ParseFlagsWithEnv(argc, argv, "ECHO", kUsage);
  observer::ApplyLogLevelFlag();
  observer::LogStartupConfig("echo");
  const std::string listen = absl::GetFlag(FLAGS_listen);
  observer::RequireAddressFlag("listen", listen);
  const std::string metrics_listen = absl::GetFlag(FLAGS_metrics_listen);
  if (!metrics_listen.empty()) observer::RequireAddressFlag("metrics-listen", metrics_listen);

  observer::Metrics metrics("echo");
  // Exits with a usage error for a bad combination (e.g. plaintext on a public address).
  (void)observer::TransportSecurityFromFlags(listen);
  observer::echo::EchoHandler handler;
  observer::ServeOptions serve = observer::ServeOptionsFromFlags("echo", listen, metrics_listen);
  serve.metrics = &metrics;
  serve.grpc_services = {"observer.echo.v1.EchoService"};
  return observer::ServeUntilSignal(serve, {&handler}, nullptr);
}
