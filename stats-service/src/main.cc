// stats-service: wires the region data, the live counters, the registry subscriber and the
// gRPC server.
#include <arpa/inet.h>
#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "common/config.h"
#include "common/country_codes.h"
#include "common/grpc_server.h"
#include "common/log.h"
#include "common/service_flags.h"
#include "stats-service/src/aggregate/live_stats.h"
#include "stats-service/src/aggregate/regions.h"
#include "stats-service/src/api/stats_handler.h"
#include "stats-service/src/api/stats_metrics.h"
#include "stats-service/src/subscriber/registry_subscriber.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50052", "gRPC listen address (host:port)");
ABSL_FLAG(std::string, metrics_listen, "127.0.0.1:9465",
          "Prometheus /metrics address (host:port; port 0 picks one; empty: no metrics)");
ABSL_FLAG(std::string, registry, "127.0.0.1:50051",
          "Address of registry-service (host:port), or of several replicas of it as a "
          "comma-separated list of IP:port (the stream moves to another replica when one "
          "fails); a DNS name may also resolve to several replicas");
ABSL_FLAG(std::string, registry_tls_server_name, "",
          "Name to check the registry's certificate against (default: the host of --registry)");
ABSL_FLAG(std::string, region_schemes, "",
          "Comma-separated custom region scheme files (see data/region-schemes)");
ABSL_FLAG(absl::Duration, staleness_bound, absl::Seconds(30),
          "Health turns NOT_SERVING when the registry has not been heard from for this long");
ABSL_FLAG(absl::Duration, stream_idle_timeout, absl::Seconds(20),
          "A change stream silent for this long is reopened");
ABSL_FLAG(absl::Duration, reconnect_backoff_initial, absl::Milliseconds(100),
          "First delay before reconnecting to the registry");
ABSL_FLAG(absl::Duration, reconnect_backoff_max, absl::Seconds(10),
          "Longest delay between reconnection attempts");
ABSL_FLAG(absl::Duration, max_revision_wait, absl::Seconds(30),
          "Longest wait for a min_revision, whatever the call's deadline");

namespace {

constexpr char kUsage[] =
    "stats-service: live statistics of foreign election observers from the registry's change "
    "stream.\nUsage: stats-service --listen 127.0.0.1:50052 --registry 127.0.0.1:50051 "
    "[--region-schemes FILE,...]";

void RequirePositive(absl::Duration d, const char* flag) {
  if (d <= absl::ZeroDuration()) {
    observer::ExitWithUsageError(absl::StrCat("--", flag, " must be positive"));
  }
}

}  // namespace

int main(int argc, char** argv) {
  observer::BlockTerminationSignals();
  observer::ParseFlagsWithEnv(argc, argv, "STATS", kUsage);
  observer::ApplyLogLevelFlag();
  observer::ArmFailpointsFromEnvironment();
  observer::LogStartupConfig("stats");
  const std::string listen = absl::GetFlag(FLAGS_listen);
  observer::RequireAddressFlag("listen", listen);
  if (const std::string metrics_listen = absl::GetFlag(FLAGS_metrics_listen);
      !metrics_listen.empty()) {
    observer::RequireAddressFlag("metrics-listen", metrics_listen);
  }
  // One address, or several replicas' (IP literals: gRPC's ipv4:/ipv6: targets list several).
  std::vector<std::string> registry_addresses =
      absl::StrSplit(absl::GetFlag(FLAGS_registry), ',', absl::SkipWhitespace());
  if (registry_addresses.empty()) observer::ExitWithUsageError("--registry: it is empty");
  for (const std::string& address : registry_addresses) {
    observer::RequireAddressFlag("registry", address);
  }
  std::string registry = registry_addresses.front();
  if (registry_addresses.size() > 1) {
    const bool ipv6 = absl::StartsWith(registry, "[");
    for (const std::string& address : registry_addresses) {
      std::string host = address.substr(0, address.rfind(':'));
      if (ipv6) host = std::string(absl::StripSuffix(absl::StripPrefix(host, "["), "]"));
      in6_addr ignored;
      if (inet_pton(ipv6 ? AF_INET6 : AF_INET, host.c_str(), &ignored) != 1) {
        observer::ExitWithUsageError(absl::StrCat(
            "--registry: with several addresses each must be an IP address of the same family (",
            address, " is not); for names, give one DNS name that resolves to every replica"));
      }
    }
    registry = absl::StrCat(ipv6 ? "ipv6:" : "ipv4:", absl::StrJoin(registry_addresses, ","));
  }
  RequirePositive(absl::GetFlag(FLAGS_staleness_bound), "staleness-bound");
  RequirePositive(absl::GetFlag(FLAGS_stream_idle_timeout), "stream-idle-timeout");
  RequirePositive(absl::GetFlag(FLAGS_reconnect_backoff_initial), "reconnect-backoff-initial");
  RequirePositive(absl::GetFlag(FLAGS_max_revision_wait), "max-revision-wait");
  if (absl::GetFlag(FLAGS_reconnect_backoff_max) < absl::GetFlag(FLAGS_reconnect_backoff_initial)) {
    observer::ExitWithUsageError(
        "--reconnect-backoff-max must not be below --reconnect-backoff-initial");
  }
  if (absl::GetFlag(FLAGS_reconnect_backoff_max) > absl::Minutes(10)) {
    observer::ExitWithUsageError("--reconnect-backoff-max must not exceed 10m");
  }

  std::vector<std::string> scheme_files;
  for (absl::string_view file :
       absl::StrSplit(absl::GetFlag(FLAGS_region_schemes), ',', absl::SkipWhitespace())) {
    scheme_files.emplace_back(file);
  }
  auto regions =
      observer::stats::RegionDirectory::Create(observer::CountryCodes::Default(), scheme_files);
  if (!regions.ok()) {
    observer::ExitWithUsageError(absl::StrCat("--region-schemes: ", regions.status().message()));
  }

  observer::Metrics metrics("stats");
  const observer::TransportSecurity security = observer::TransportSecurityFromFlags(listen);
  std::unique_ptr<observer::Authorizer> authorizer =
      observer::AuthorizerFromFlags(security, metrics);

  observer::stats::LiveStats live(**regions);
  observer::Readiness readiness;
  observer::stats::SubscriberOptions subscriber_options;
  subscriber_options.initial_backoff = absl::GetFlag(FLAGS_reconnect_backoff_initial);
  subscriber_options.max_backoff = absl::GetFlag(FLAGS_reconnect_backoff_max);
  subscriber_options.staleness_bound = absl::GetFlag(FLAGS_staleness_bound);
  subscriber_options.idle_timeout = absl::GetFlag(FLAGS_stream_idle_timeout);
  subscriber_options.on_ready_changed = [&readiness](bool ready) { readiness.Set(ready); };
  // The channel's own reconnection backoff (gRPC's default grows to 120 s) must not outlast
  // ours, or a registry back from an outage would wait that long to be noticed.
  auto milliseconds = [](absl::Duration d) {
    return static_cast<int>(absl::ToInt64Milliseconds(d));
  };
  grpc::ChannelArguments channel_args;
  channel_args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS,
                      milliseconds(subscriber_options.initial_backoff));
  channel_args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS,
                      milliseconds(subscriber_options.initial_backoff));
  channel_args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS,
                      milliseconds(subscriber_options.max_backoff));
  // Initial states of large registers come in messages up to the registry's limit.
  channel_args.SetMaxReceiveMessageSize(16 * 1024 * 1024);
  // The registry is called with the same certificate the service presents, over mutual TLS;
  // plaintext only between loopback addresses (--insecure-loopback).
  std::shared_ptr<grpc::ChannelCredentials> registry_credentials =
      grpc::InsecureChannelCredentials();
  if (security.insecure_loopback) {
    for (const std::string& address : registry_addresses) {
      if (!observer::IsLoopbackAddress(address)) {
        observer::ExitWithUsageError(absl::StrCat("--insecure-loopback: --registry ", address,
                                                  " is not a loopback address"));
      }
    }
  } else {
    registry_credentials = observer::MutualTlsChannelCredentials(security.tls);
    if (const std::string name = absl::GetFlag(FLAGS_registry_tls_server_name); !name.empty()) {
      channel_args.SetSslTargetNameOverride(name);
    }
  }
  observer::stats::RegistrySubscriber subscriber(
      grpc::CreateCustomChannel(registry, registry_credentials, channel_args), live,
      subscriber_options);
  observer::stats::StatsHandler handler(live, *authorizer,
                                        {absl::GetFlag(FLAGS_max_revision_wait)});

  observer::stats::ObserveStats(metrics, live, subscriber, handler);
  subscriber.Start();
  observer::ServeOptions serve =
      observer::ServeOptionsFromFlags("stats", listen, absl::GetFlag(FLAGS_metrics_listen));
  serve.metrics = &metrics;
  serve.grpc_services = {"observer.stats.v1.StatsService"};
  serve.readiness = &readiness;
  const int exit_code =
      observer::ServeUntilSignal(serve, {&handler}, [&handler] { handler.Close(); });
  subscriber.Stop();
  return exit_code;
}
