// Both services scraped by a real Prometheus server (Debian's prometheus package): after known
// traffic, Prometheus's HTTP API returns the gRPC call counts and the service metrics with the
// right values.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <csignal>
#include <fstream>
#include <optional>
#include <regex>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "tests/harness/builders.h"
#include "tests/harness/command.h"
#include "tests/harness/http_get.h"
#include "tests/harness/registry_client.h"
#include "tests/harness/registry_process.h"
#include "tests/harness/stats_process.h"
#include "tests/harness/status_matchers.h"
#include "tests/harness/temp_dir.h"

namespace observer::testing {
namespace {

// A loopback port nothing listens on now (Prometheus takes a fixed listen address).
int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  const int port = ntohs(addr.sin_port);
  close(fd);
  return port;
}

std::string UrlEncode(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '_' || c == '-' || c == '.') {
      out += static_cast<char>(c);
    } else {
      out += absl::StrCat("%", absl::BytesToHexString(std::string(1, static_cast<char>(c))));
    }
  }
  return out;
}

// The single value of an instant query, or nullopt if Prometheus returns no series (yet).
std::optional<double> Query(const std::string& prometheus, const std::string& promql) {
  absl::StatusOr<std::string> body =
      HttpGet(prometheus, absl::StrCat("/api/v1/query?query=", UrlEncode(promql)));
  if (!body.ok()) return std::nullopt;
  static const std::regex kValue(R"re("value":\[[0-9.]+,"([^"]+)"\])re");
  std::smatch m;
  if (!std::regex_search(*body, m, kValue)) return std::nullopt;
  double v = 0;
  if (!absl::SimpleAtod(m[1].str(), &v)) return std::nullopt;
  return v;
}

TEST(PrometheusE2eTest, ScrapedMetricsHaveTheValuesOfKnownTraffic) {
  TempDir dir;
  RegistryProcess registry(dir.path());
  ASSERT_OK(registry.Start());
  StatsProcess stats(registry.address());
  ASSERT_OK(stats.Start());

  const std::string config = dir.Join("prometheus.yml");
  {
    std::ofstream out(config);
    out << "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        << "scrape_configs:\n"
        << "  - job_name: registry\n    static_configs:\n      - targets: [\""
        << registry.metrics_address() << "\"]\n"
        << "  - job_name: stats\n    static_configs:\n      - targets: [\""
        << stats.metrics_address() << "\"]\n";
  }
  const std::string prometheus = absl::StrCat("127.0.0.1:", FreePort());
  CommandProcess server;
  ASSERT_OK(
      server.Start({"/bin/sh", "-c",
                    absl::StrCat("exec prometheus --config.file='", config,
                                 "' --storage.tsdb.path='", dir.Join("tsdb"),
                                 "' --web.listen-address=", prometheus, " --log.level=warn")}));
  ASSERT_TRUE(PollUntil([&] { return HttpGet(prometheus, "/-/ready").ok(); }, absl::Seconds(30),
                        absl::Milliseconds(200)))
      << server.stderr_so_far();

  // Known traffic: one election, three observers, two refused reads.
  RegistryClient client(registry.channel());
  ASSERT_OK(client.CreateElection(FutureElection("prom-1")).status());
  for (int i = 0; i < 3; ++i) {
    ASSERT_OK(
        client.CreateObserver(NewObserverRequest(ElectionName("prom-1"), NextSeq())).status());
  }
  rv1::GetElectionRequest missing;
  missing.set_name("elections/nowhere");
  for (int i = 0; i < 2; ++i) ASSERT_FALSE(client.GetElection(missing).ok());
  ASSERT_OK_AND_ASSIGN(const int64_t head, client.HeadRevision());

  auto eventually = [&](const std::string& promql, double want) {
    std::optional<double> got;
    const bool ok = PollUntil(
        [&] {
          got = Query(prometheus, promql);
          return got.has_value() && *got == want;
        },
        absl::Seconds(30), absl::Milliseconds(250));
    EXPECT_TRUE(ok) << promql << " = " << (got ? absl::StrCat(*got) : "no data") << ", want "
                    << want;
  };
  eventually(R"(up{job="registry"})", 1);
  eventually(R"(up{job="stats"})", 1);
  eventually(
      R"(grpc_server_handled_total{job="registry",grpc_method="CreateObserver",grpc_code="OK"})",
      3);
  eventually(
      R"(grpc_server_handled_total{job="registry",grpc_method="GetElection",grpc_code="NotFound"})",
      2);
  eventually(
      R"(sum(grpc_server_started_total{job="registry",grpc_service="observer.registry.v1.RegistryService",grpc_type="unary"}))",
      6 + 1);  // The calls above plus the List behind HeadRevision.
  eventually(R"(registry_head_revision)", static_cast<double>(head));
  eventually(R"(stats_applied_revision)", static_cast<double>(head));
  eventually(R"(stats_lag_revisions)", 0);
  eventually(R"(registry_build_info{job="registry"})", 1);
  eventually(R"(count(process_resident_memory_bytes > 0))", 2);
  ASSERT_OK(server.Signal(SIGTERM));
  (void)server.Wait(absl::Seconds(20));
}

}  // namespace
}  // namespace observer::testing
