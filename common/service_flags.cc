#include "common/service_flags.h"

#include <cstdint>
#include <cstdlib>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "common/config.h"
#include "common/failpoint.h"
#include "common/log.h"

ABSL_FLAG(absl::Duration, drain_period, absl::Seconds(1),
          "After SIGTERM, how long health reports NOT_SERVING before the server stops");
ABSL_FLAG(absl::Duration, shutdown_timeout, absl::Seconds(10),
          "How long in-flight calls get to finish at shutdown");
ABSL_FLAG(std::string, log_level, "info", "debug, info, warning or error");
ABSL_FLAG(int32_t, max_message_bytes, 4 << 20,
          "Largest request message accepted, in bytes (larger: RESOURCE_EXHAUSTED)");
ABSL_FLAG(int32_t, max_concurrent_streams, 100,
          "Most calls open at once on one client connection (more wait)");

ABSL_FLAG(std::string, tls_cert, "",
          "PEM certificate chain the service presents (re-read when it changes)");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls-cert (re-read when it changes)");
ABSL_FLAG(std::string, tls_ca, "",
          "PEM CA bundle that signs the clients' (and the registry's) certificates");
ABSL_FLAG(absl::Duration, tls_reload_interval, absl::Seconds(10),
          "How often the TLS files are checked for changes");
ABSL_FLAG(bool, insecure_loopback, false,
          "Serve plaintext without client certificates: only on a loopback address (demos, "
          "tests); callers then name themselves in the x-observer-actor metadata");
ABSL_FLAG(std::string, health_listen, "",
          "Plaintext address (host:port; port 0 picks one) serving grpc.health.v1.Health only, "
          "with the same statuses as --listen (NOT_SERVING while draining): for probes that "
          "cannot speak TLS, such as Kubernetes grpc probes. No other service, no reflection. "
          "Keep it off untrusted networks. Empty: none");
ABSL_FLAG(std::string, authz_policy, "",
          "Authorization policy file (JSON; required with TLS; re-read when it changes)");
ABSL_FLAG(double, rate_limit, 200, "Calls a second allowed per caller identity (0: no limit)");
ABSL_FLAG(double, rate_limit_burst, 400, "Calls a caller identity may make at once");
ABSL_FLAG(int64_t, max_in_flight, 1000,
          "Unary calls in progress at once, over all callers; more are refused with "
          "RESOURCE_EXHAUSTED (OVERLOADED) and a retry delay (0: no limit)");
ABSL_FLAG(int64_t, max_in_flight_per_caller, 250,
          "Unary calls in progress at once per caller identity, so that one caller cannot take "
          "every place of --max-in-flight (0: no limit per caller)");

namespace observer {

void ApplyLogLevelFlag() {
  LogLevel level;
  if (!ParseLogLevel(absl::GetFlag(FLAGS_log_level), &level)) {
    ExitWithUsageError("--log-level: use debug, info, warning or error");
  }
  SetLogLevel(level);
}

void ArmFailpointsFromEnvironment() {
  const char* spec = std::getenv("OBSERVER_FAILPOINTS");
  if (spec == nullptr || *spec == '\0') return;
  if (!failpoint::Enabled()) {
    LogWarning("OBSERVER_FAILPOINTS is set, but this build has no failpoints: ignored");
    return;
  }
  std::vector<std::string> armed;
  if (absl::Status s = failpoint::ArmFromEnvironment(&armed); !s.ok()) {
    ExitWithUsageError(absl::StrCat("OBSERVER_FAILPOINTS: ", s.message()));
  }
  if (armed.empty()) return;
  LogWarning("failpoints armed: this process will crash or stall on purpose",
             {{"failpoints", absl::StrJoin(armed, ";")}});
}

TransportSecurity TransportSecurityFromFlags(const std::string& listen) {
  TransportSecurity security;
  security.health_listen = absl::GetFlag(FLAGS_health_listen);
  if (!security.health_listen.empty()) {
    RequireAddressFlag("health-listen", security.health_listen);
    if (security.health_listen == listen) {
      ExitWithUsageError(absl::StrCat("--health-listen ", security.health_listen,
                                      " is the --listen address: give the health-only port "
                                      "its own address"));
    }
  }
  security.insecure_loopback = absl::GetFlag(FLAGS_insecure_loopback);
  security.tls.cert = absl::GetFlag(FLAGS_tls_cert);
  security.tls.key = absl::GetFlag(FLAGS_tls_key);
  security.tls.ca = absl::GetFlag(FLAGS_tls_ca);
  security.tls.reload_interval = absl::GetFlag(FLAGS_tls_reload_interval);
  const bool any_tls =
      !security.tls.cert.empty() || !security.tls.key.empty() || !security.tls.ca.empty();
  if (security.insecure_loopback) {
    if (any_tls) {
      ExitWithUsageError(
          "--insecure-loopback and --tls-cert/--tls-key/--tls-ca exclude each other");
    }
    if (!IsLoopbackAddress(listen)) {
      ExitWithUsageError(absl::StrCat("--insecure-loopback: --listen ", listen,
                                      " is not a loopback address (127.0.0.0/8, ::1, localhost)"));
    }
    security.tls = TlsFiles{};
    return security;
  }
  if (security.tls.cert.empty() || security.tls.key.empty() || security.tls.ca.empty()) {
    ExitWithUsageError(
        "mutual TLS is required: give --tls-cert, --tls-key and --tls-ca (or "
        "--insecure-loopback to serve plaintext on a loopback address only)");
  }
  if (security.tls.reload_interval < absl::Seconds(1)) {
    ExitWithUsageError("--tls-reload-interval must be at least 1s");
  }
  if (absl::Status s = CheckTlsFiles(security.tls, "tls-"); !s.ok()) {
    ExitWithUsageError(s.message());
  }
  return security;
}

std::unique_ptr<Authorizer> AuthorizerFromFlags(const TransportSecurity& security,
                                                Metrics& metrics) {
  AuthorizerOptions options;
  options.identity_from_metadata = security.insecure_loopback;
  options.policy_path = absl::GetFlag(FLAGS_authz_policy);
  options.rate_limit = absl::GetFlag(FLAGS_rate_limit);
  options.rate_limit_burst = absl::GetFlag(FLAGS_rate_limit_burst);
  options.max_in_flight = absl::GetFlag(FLAGS_max_in_flight);
  options.max_in_flight_per_caller = absl::GetFlag(FLAGS_max_in_flight_per_caller);
  options.metrics = &metrics.registry();
  if (!security.insecure_loopback && options.policy_path.empty()) {
    ExitWithUsageError("--authz-policy is required with TLS: without it every call is denied");
  }
  if (options.rate_limit < 0 || options.rate_limit_burst < 1) {
    ExitWithUsageError("--rate-limit must be at least 0 and --rate-limit-burst at least 1");
  }
  if (options.max_in_flight < 0 || options.max_in_flight_per_caller < 0) {
    ExitWithUsageError("--max-in-flight and --max-in-flight-per-caller must be at least 0");
  }
  // Plaintext loopback without a policy has no identities to limit (every caller is the same
  // nobody, e.g. the quick start's loader): no per-identity limit there.
  if (security.insecure_loopback && options.policy_path.empty()) options.rate_limit = 0;
  absl::StatusOr<std::unique_ptr<Authorizer>> authorizer = Authorizer::Create(options);
  if (!authorizer.ok()) {
    ExitWithUsageError(absl::StrCat("--authz-policy: ", authorizer.status().message()));
  }
  return *std::move(authorizer);
}

ServeOptions ServeOptionsFromFlags(std::string service, std::string listen,
                                   std::string metrics_listen) {
  ServeOptions options;
  options.service = std::move(service);
  options.listen = std::move(listen);
  options.metrics_listen = std::move(metrics_listen);
  options.drain_period = absl::GetFlag(FLAGS_drain_period);
  options.shutdown_timeout = absl::GetFlag(FLAGS_shutdown_timeout);
  options.max_message_bytes = absl::GetFlag(FLAGS_max_message_bytes);
  options.max_concurrent_streams = absl::GetFlag(FLAGS_max_concurrent_streams);
  if (options.max_message_bytes < 1024) {
    ExitWithUsageError("--max-message-bytes must be at least 1024");
  }
  if (options.max_concurrent_streams < 1) {
    ExitWithUsageError("--max-concurrent-streams must be at least 1");
  }
  const TransportSecurity security = TransportSecurityFromFlags(options.listen);
  if (!security.insecure_loopback) {
    options.credentials = MutualTlsServerCredentials(security.tls);
  }
  options.health_listen = security.health_listen;
  return options;
}

}  // namespace observer
