// observerctl's connections to the two services: channels (plaintext or TLS, with or without a
// client certificate), per-call deadlines, and the one way every failed call is reported.
#ifndef OBSERVER_TOOLS_OBSERVERCTL_CONNECTION_H_
#define OBSERVER_TOOLS_OBSERVERCTL_CONNECTION_H_

#include <grpcpp/grpcpp.h>

#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/errors.h"
#include "common/grpc_status.h"
#include "observer/registry/v1/registry_service.grpc.pb.h"
#include "observer/stats/v1/stats_service.grpc.pb.h"
#include "tools/observerctl/command_line.h"

namespace observer::ctl {

// The connection flags every command takes.
std::vector<FlagSpec> ConnectionFlags();

struct ConnectionOptions {
  std::string registry;
  std::string stats;
  absl::Duration timeout = absl::Seconds(30);
  // PEM contents; TLS is on when `ca` is set.
  std::string ca;
  std::string cert;
  std::string key;
  std::string server_name;
};

// INVALID_ARGUMENT (a usage error) for a bad duration, an unreadable file, or a certificate
// without its key.
absl::StatusOr<ConnectionOptions> ConnectionOptionsFrom(const Invocation& inv);

enum class Service { kRegistry, kStats };

class Connection {
 public:
  explicit Connection(ConnectionOptions options);

  registry::v1::RegistryService::Stub& registry();
  stats::v1::StatsService::Stub& stats();
  // The channel to `service` (one per service, shared by its stub).
  std::shared_ptr<grpc::Channel> channel(Service service);
  // The address of `service` and its name for messages ("registry-service").
  const std::string& address(Service service) const;
  static absl::string_view Name(Service service);

  // A context with the call deadline (--timeout), or none for streams.
  std::unique_ptr<grpc::ClientContext> Context(bool with_deadline = true) const;

  // Makes a unary call within --timeout. A refusal at admission (RESOURCE_EXHAUSTED with reason
  // RATE_LIMITED or OVERLOADED) changed nothing; it is retried after the delay its RetryInfo
  // names (at least 10 ms, plus up to half again at random, so that refused clients do not come
  // back in step) while the --timeout of the whole call lasts.
  template <typename Stub, typename Request, typename Response>
  absl::Status Unary(grpc::Status (Stub::*fn)(grpc::ClientContext*, const Request&, Response*),
                     const Request& request, Response* response) {
    Stub& stub = StubFor<Stub>();
    const absl::Time give_up = absl::Now() + options_.timeout;
    for (;;) {
      grpc::ClientContext ctx;
      ctx.set_deadline(absl::ToChronoTime(give_up));
      absl::Status s = FromGrpcStatus((stub.*fn)(&ctx, request, response));
      const std::optional<absl::Duration> delay = AdmissionRetryDelay(s);
      if (!delay.has_value() || absl::Now() + *delay >= give_up) return s;
      absl::SleepFor(*delay);
    }
  }

  // When a failed call should be tried again (see Unary); nullopt for any other outcome.
  static std::optional<absl::Duration> AdmissionRetryDelay(const absl::Status& s);

  // Unary, and a failure is reported on stderr (ReportFailure) as well as returned.
  template <typename Stub, typename Request, typename Response>
  absl::Status Call(Service service, absl::string_view method,
                    grpc::Status (Stub::*fn)(grpc::ClientContext*, const Request&, Response*),
                    const Request& request, Response* response) {
    absl::Status s = Unary(fn, request, response);
    if (!s.ok()) ReportFailure(service, method, s);
    return s;
  }

  // "error: METHOD: CODE: message", then the reason, metadata and each field violation; for an
  // unreachable service, which service at which address.
  void ReportFailure(Service service, absl::string_view method, const absl::Status& s) const;

  const ConnectionOptions& options() const { return options_; }

 private:
  template <typename Stub>
  Stub& StubFor();
  std::shared_ptr<grpc::Channel> MakeChannel(const std::string& address) const;

  ConnectionOptions options_;
  std::shared_ptr<grpc::Channel> registry_channel_;
  std::shared_ptr<grpc::Channel> stats_channel_;
  std::unique_ptr<registry::v1::RegistryService::Stub> registry_;
  std::unique_ptr<stats::v1::StatsService::Stub> stats_;
};

template <>
inline registry::v1::RegistryService::Stub& Connection::StubFor() {
  return registry();
}
template <>
inline stats::v1::StatsService::Stub& Connection::StubFor() {
  return stats();
}

}  // namespace observer::ctl

#endif  // OBSERVER_TOOLS_OBSERVERCTL_CONNECTION_H_
