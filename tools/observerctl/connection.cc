#include "tools/observerctl/connection.h"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/random/random.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "tools/observerctl/output.h"
#include "tools/observerctl/values.h"

namespace observer::ctl {
namespace {

// The file at `path` if it holds a PEM block of `kind` ("CERTIFICATE", "PRIVATE KEY").
absl::StatusOr<std::string> ReadPem(const std::string& flag, const std::string& path,
                                    absl::string_view kind) {
  if (path.empty()) return std::string();
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  if (!in || !(text << in.rdbuf())) {
    return absl::InvalidArgumentError(absl::StrCat("--", flag, ": cannot read '", path, "'"));
  }
  const std::string& pem = text.str();
  const std::size_t begin = pem.find("-----BEGIN ");
  if (begin == std::string::npos ||
      pem.find(absl::StrCat(kind, "-----"), begin) == std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, ": '", path, "' holds no PEM ", absl::AsciiStrToLower(kind)));
  }
  return text.str();
}

}  // namespace

std::vector<FlagSpec> ConnectionFlags() {
  return {
      {"registry", "ADDR", "registry-service address", false, false, "OBSERVERCTL_REGISTRY",
       "127.0.0.1:50051"},
      {"stats", "ADDR", "stats-service address", false, false, "OBSERVERCTL_STATS",
       "127.0.0.1:50052"},
      {"timeout", "DURATION", "deadline of each call", false, false, "OBSERVERCTL_TIMEOUT", "30s"},
      {"tls-ca", "FILE", "CA certificates (PEM) that sign the servers' certificates; turns TLS on",
       false, false, "OBSERVERCTL_TLS_CA", ""},
      {"tls-cert", "FILE", "client certificate (PEM) for mutual TLS", false, false,
       "OBSERVERCTL_TLS_CERT", ""},
      {"tls-key", "FILE", "client private key (PEM) for mutual TLS", false, false,
       "OBSERVERCTL_TLS_KEY", ""},
      {"tls-server-name", "NAME", "name to check the server certificate against", false, false,
       "OBSERVERCTL_TLS_SERVER_NAME", ""},
  };
}

absl::StatusOr<ConnectionOptions> ConnectionOptionsFrom(const Invocation& inv) {
  ConnectionOptions o;
  o.registry = inv.Get("registry");
  o.stats = inv.Get("stats");
  if (o.registry.empty()) return absl::InvalidArgumentError("--registry must not be empty");
  if (o.stats.empty()) return absl::InvalidArgumentError("--stats must not be empty");
  absl::StatusOr<absl::Duration> timeout = ParsePositiveDuration(inv.Get("timeout"));
  if (!timeout.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--timeout: ", timeout.status().message()));
  }
  o.timeout = *timeout;
  absl::StatusOr<std::string> ca = ReadPem("tls-ca", inv.Get("tls-ca"), "CERTIFICATE");
  absl::StatusOr<std::string> cert = ReadPem("tls-cert", inv.Get("tls-cert"), "CERTIFICATE");
  absl::StatusOr<std::string> key = ReadPem("tls-key", inv.Get("tls-key"), "PRIVATE KEY");
  for (const auto* s : {&ca, &cert, &key}) {
    if (!s->ok()) return s->status();
  }
  o.ca = *ca;
  o.cert = *cert;
  o.key = *key;
  o.server_name = inv.Get("tls-server-name");
  if (o.cert.empty() != o.key.empty()) {
    return absl::InvalidArgumentError("--tls-cert and --tls-key go together");
  }
  if (o.ca.empty() && (!o.cert.empty() || !o.server_name.empty())) {
    return absl::InvalidArgumentError(
        "--tls-cert, --tls-key and --tls-server-name need --tls-ca (which turns TLS on)");
  }
  return o;
}

Connection::Connection(ConnectionOptions options) : options_(std::move(options)) {}

std::shared_ptr<grpc::Channel> Connection::MakeChannel(const std::string& address) const {
  grpc::ChannelArguments args;
  // An operator's command: report an unreachable service at once instead of waiting through
  // reconnect backoff.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 200);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  args.SetMaxReceiveMessageSize(64 * 1024 * 1024);
  if (options_.ca.empty()) {
    return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
  }
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = options_.ca;
  ssl.pem_cert_chain = options_.cert;
  ssl.pem_private_key = options_.key;
  if (!options_.server_name.empty()) args.SetSslTargetNameOverride(options_.server_name);
  return grpc::CreateCustomChannel(address, grpc::SslCredentials(ssl), args);
}

std::shared_ptr<grpc::Channel> Connection::channel(Service service) {
  std::shared_ptr<grpc::Channel>& channel =
      service == Service::kRegistry ? registry_channel_ : stats_channel_;
  if (channel == nullptr) channel = MakeChannel(address(service));
  return channel;
}

const std::string& Connection::address(Service service) const {
  return service == Service::kRegistry ? options_.registry : options_.stats;
}

absl::string_view Connection::Name(Service service) {
  return service == Service::kRegistry ? "registry-service" : "stats-service";
}

registry::v1::RegistryService::Stub& Connection::registry() {
  if (registry_ == nullptr) {
    registry_ = registry::v1::RegistryService::NewStub(channel(Service::kRegistry));
  }
  return *registry_;
}

stats::v1::StatsService::Stub& Connection::stats() {
  if (stats_ == nullptr) stats_ = stats::v1::StatsService::NewStub(channel(Service::kStats));
  return *stats_;
}

std::optional<absl::Duration> Connection::AdmissionRetryDelay(const absl::Status& s) {
  if (s.code() != absl::StatusCode::kResourceExhausted) return std::nullopt;
  const ErrorDetails details = GetErrorDetails(s);
  if ((details.reason != reason::kRateLimited && details.reason != reason::kOverloaded) ||
      !details.retry_delay.has_value()) {
    return std::nullopt;
  }
  thread_local absl::BitGen random;
  return std::max(*details.retry_delay, absl::Milliseconds(10)) * absl::Uniform(random, 1.0, 1.5);
}

std::unique_ptr<grpc::ClientContext> Connection::Context(bool with_deadline) const {
  auto ctx = std::make_unique<grpc::ClientContext>();
  if (with_deadline) ctx->set_deadline(absl::ToChronoTime(absl::Now() + options_.timeout));
  return ctx;
}

void Connection::ReportFailure(Service service, absl::string_view method,
                               const absl::Status& s) const {
  std::ostream& err = std::cerr;
  const bool registry = service == Service::kRegistry;
  const std::string& address = this->address(service);
  const absl::string_view name = Name(service);
  if (s.code() == absl::StatusCode::kUnavailable && GetErrorDetails(s).reason.empty()) {
    err << "error: " << name << " at " << address << " is unavailable: " << s.message()
        << "\n  (is it running? check --" << (registry ? "registry" : "stats") << " or "
        << (registry ? "OBSERVERCTL_REGISTRY" : "OBSERVERCTL_STATS") << ")\n";
    return;
  }
  if (s.code() == absl::StatusCode::kDeadlineExceeded && GetErrorDetails(s).reason.empty()) {
    err << "error: " << method << ": DEADLINE_EXCEEDED: " << name << " at " << address
        << " did not answer within " << absl::FormatDuration(options_.timeout) << " (--timeout)\n";
    return;
  }
  err << DescribeError(method, s);
}

}  // namespace observer::ctl
