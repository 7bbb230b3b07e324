#include "tests/harness/stats_client.h"

#include "absl/strings/str_cat.h"
#include "tests/harness/service_process.h"
#include "tests/harness/status_matchers.h"
#include "tests/harness/unary_call.h"

namespace observer::testing {
StatsClient::StatsClient(std::shared_ptr<grpc::Channel> channel, absl::Duration timeout)
    : channel_(std::move(channel)),
      stub_(sv1::StatsService::NewStub(channel_)),
      timeout_(timeout) {}

absl::StatusOr<sv1::GetSummaryResponse> StatsClient::GetSummary(
    const sv1::GetSummaryRequest& request, std::optional<absl::Duration> timeout) {
  return UnaryCall(stub_.get(), &sv1::StatsService::Stub::GetSummary, request,
                   timeout.value_or(timeout_));
}

absl::StatusOr<sv1::GetBreakdownResponse> StatsClient::GetBreakdown(
    const sv1::GetBreakdownRequest& request, std::optional<absl::Duration> timeout) {
  return UnaryCall(stub_.get(), &sv1::StatsService::Stub::GetBreakdown, request,
                   timeout.value_or(timeout_));
}

absl::StatusOr<sv1::ListRegionSchemesResponse> StatsClient::ListRegionSchemes(
    const sv1::ListRegionSchemesRequest& request) {
  return UnaryCall(stub_.get(), &sv1::StatsService::Stub::ListRegionSchemes, request, timeout_);
}

std::unique_ptr<ResponseStream<sv1::WatchSummaryResponse>> StatsClient::WatchSummary(
    const sv1::WatchSummaryRequest& request, bool start_reading, absl::Duration stream_timeout) {
  sv1::StatsService::Stub* stub = stub_.get();
  return std::make_unique<ResponseStream<sv1::WatchSummaryResponse>>(
      [stub, &request](grpc::ClientContext* context) {
        return stub->WatchSummary(context, request);
      },
      start_reading, stream_timeout);
}

std::unique_ptr<ResponseStream<sv1::WatchBreakdownResponse>> StatsClient::WatchBreakdown(
    const sv1::WatchBreakdownRequest& request, bool start_reading, absl::Duration stream_timeout) {
  sv1::StatsService::Stub* stub = stub_.get();
  return std::make_unique<ResponseStream<sv1::WatchBreakdownResponse>>(
      [stub, &request](grpc::ClientContext* context) {
        return stub->WatchBreakdown(context, request);
      },
      start_reading, stream_timeout);
}

absl::StatusOr<HealthStatus> StatsClient::Health(absl::Duration timeout) {
  return CheckHealth(channel_, timeout);
}

bool StatsClient::WaitForHealth(HealthStatus want, absl::Duration timeout) {
  return PollUntil(
      [&] {
        absl::StatusOr<HealthStatus> h = Health(absl::Seconds(1));
        return h.ok() && *h == want;
      },
      timeout, absl::Milliseconds(50));
}

std::string StatsClient::HealthName() {
  absl::StatusOr<HealthStatus> h = Health(absl::Seconds(2));
  return h.ok() ? HealthStatusName(*h) : DescribeStatus(h.status());
}

}  // namespace observer::testing
