// The flags both services share (--drain-period, --shutdown-timeout, --log-level, the limits,
// TLS, the plaintext health-only port, the authorization policy and the rate limit), defined
// once.
// Only a binary that calls into this file gets them.
#ifndef OBSERVER_COMMON_SERVICE_FLAGS_H_
#define OBSERVER_COMMON_SERVICE_FLAGS_H_

#include <memory>
#include <string>

#include "absl/time/time.h"
#include "common/authorizer.h"
#include "common/grpc_server.h"
#include "common/metrics.h"
#include "common/tls.h"

namespace observer {

// Applies --log-level; exits with a usage error naming the flag when it is not one of debug,
// info, warning, error. Call right after parsing the command line.
void ApplyLogLevelFlag();

// How the service's connections are secured: mutual TLS from --tls-cert/--tls-key/--tls-ca, or
// plaintext with --insecure-loopback, which requires `listen` to be a loopback address; and the
// one plaintext exception to TLS, the health-only port of --health-listen (validated like
// --metrics-listen, and not `listen` itself). A usage error (exit 2) for a bad combination, a
// bad address or an unreadable file.
struct TransportSecurity {
  bool insecure_loopback = false;
  TlsFiles tls;               // Unset with insecure_loopback.
  std::string health_listen;  // Empty: no health-only port (ServeOptions::health_listen).
};
// Arms the failpoints named in $OBSERVER_FAILPOINTS (common/failpoint.h), with a warning
// naming them; exits 2 naming a malformed term. In a build without failpoints the variable is
// ignored, with a warning saying so.
void ArmFailpointsFromEnvironment();

TransportSecurity TransportSecurityFromFlags(const std::string& listen);

// The admission of calls: --authz-policy (required with TLS; optional with
// --insecure-loopback, where callers name themselves in `x-observer-actor`), --rate-limit,
// --rate-limit-burst. A usage error (exit 2) naming the reason when the policy is not valid.
std::unique_ptr<Authorizer> AuthorizerFromFlags(const TransportSecurity& security,
                                                Metrics& metrics);

// Serve options for `service` listening on `listen` (metrics on `metrics_listen`), with the
// drain period, shutdown timeout, limits, transport security and health-only port
// (--health-listen) from the flags (a usage error, exit 2, for a limit out of range).
ServeOptions ServeOptionsFromFlags(std::string service, std::string listen,
                                   std::string metrics_listen);

}  // namespace observer

#endif  // OBSERVER_COMMON_SERVICE_FLAGS_H_
