// A thin synchronous client of StatsService for the end-to-end tests (every call has a
// deadline and returns absl::StatusOr with the google.rpc details decoded), the streaming
// answers read by a background thread. (The health check is common/health_client.h.)
#ifndef OBSERVER_TESTS_HARNESS_STATS_CLIENT_H_
#define OBSERVER_TESTS_HARNESS_STATS_CLIENT_H_

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>
#include <grpcpp/support/sync_stream.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/grpc_status.h"
#include "common/health_client.h"
#include "observer/stats/v1/stats_service.grpc.pb.h"
#include "tests/harness/response_stream.h"

namespace observer::testing {

namespace sv1 = ::observer::stats::v1;

class StatsClient {
 public:
  explicit StatsClient(std::shared_ptr<grpc::Channel> channel,
                       absl::Duration timeout = absl::Seconds(20));

  // Each with the client's default timeout, or `timeout` when given.
  absl::StatusOr<sv1::GetSummaryResponse> GetSummary(
      const sv1::GetSummaryRequest& request, std::optional<absl::Duration> timeout = std::nullopt);
  absl::StatusOr<sv1::GetBreakdownResponse> GetBreakdown(
      const sv1::GetBreakdownRequest& request,
      std::optional<absl::Duration> timeout = std::nullopt);
  absl::StatusOr<sv1::ListRegionSchemesResponse> ListRegionSchemes(
      const sv1::ListRegionSchemesRequest& request);

  std::unique_ptr<ResponseStream<sv1::WatchSummaryResponse>> WatchSummary(
      const sv1::WatchSummaryRequest& request, bool start_reading = true,
      absl::Duration stream_timeout = absl::Seconds(90));
  std::unique_ptr<ResponseStream<sv1::WatchBreakdownResponse>> WatchBreakdown(
      const sv1::WatchBreakdownRequest& request, bool start_reading = true,
      absl::Duration stream_timeout = absl::Seconds(90));

  // grpc.health.v1 of the whole server.
  absl::StatusOr<HealthStatus> Health(absl::Duration timeout = absl::Seconds(5));
  // Polls Health every 50 ms until it is `want`; false on timeout.
  bool WaitForHealth(HealthStatus want, absl::Duration timeout);
  // The health status's name now ("SERVING"), or the error of the check, for messages.
  std::string HealthName();

  sv1::StatsService::Stub& stub() { return *stub_; }

 private:
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<sv1::StatsService::Stub> stub_;
  absl::Duration timeout_;
};

}  // namespace observer::testing

#endif  // OBSERVER_TESTS_HARNESS_STATS_CLIENT_H_
