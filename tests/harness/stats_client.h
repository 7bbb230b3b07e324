// A thin synchronous client of StatsService for the end-to-end tests (every call has a
// deadline and returns absl::StatusOr with the google.rpc details decoded), the streaming
// answers read by a background thread, and a grpc.health.v1 check usable with any server.
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
#include "observer/stats/v1/stats_service.grpc.pb.h"

namespace observer::testing {

namespace sv1 = ::observer::stats::v1;

// grpc.health.v1.HealthCheckResponse.ServingStatus.
enum class HealthStatus { kUnknown = 0, kServing = 1, kNotServing = 2, kServiceUnknown = 3 };
std::string HealthStatusName(HealthStatus status);

// grpc.health.v1.Health/Check of `service` ("" = the whole server). Debian's gRPC ships no
// generated health stub, so the call goes through grpc::GenericStub with the (tiny) messages
// encoded by hand.
absl::StatusOr<HealthStatus> CheckHealth(const std::shared_ptr<grpc::Channel>& channel,
                                         absl::Duration timeout = absl::Seconds(5),
                                         const std::string& service = "");

// One server-streaming call. Responses are read by a background thread into a queue (from the
// start, or from StartReading() on, to model a client that does not read for a while).
template <typename Response>
class ResponseStream {
 public:
  using Open =
      std::function<std::unique_ptr<grpc::ClientReader<Response>>(grpc::ClientContext* context)>;

  ResponseStream(const Open& open, bool start_reading, absl::Duration stream_timeout) {
    context_.set_deadline(std::chrono::system_clock::now() +
                          absl::ToChronoMilliseconds(stream_timeout));
    reader_ = open(&context_);
    if (start_reading) StartReading();
  }
  ~ResponseStream() {
    context_.TryCancel();
    if (!thread_.joinable()) {
      // Never read: drain what is left so the call completes before it is destroyed.
      Response ignored;
      while (reader_->Read(&ignored)) {
      }
      (void)reader_->Finish();
    } else {
      thread_.join();
    }
  }
  ResponseStream(const ResponseStream&) = delete;
  ResponseStream& operator=(const ResponseStream&) = delete;

  void StartReading() {
    if (!thread_.joinable()) thread_ = std::thread([this] { ReadLoop(); });
  }
  void Cancel() { context_.TryCancel(); }

  // The next response, or nullopt if none arrives within `timeout` or the stream has ended.
  std::optional<Response> Next(absl::Duration timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, absl::ToChronoMilliseconds(timeout),
                 [this] { return !queue_.empty() || done_; });
    if (queue_.empty()) return std::nullopt;
    Response r = std::move(queue_.front());
    queue_.pop_front();
    return r;
  }
  // Every response received and not yet taken, without waiting.
  std::vector<Response> TakeAll() {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<Response> all(std::make_move_iterator(queue_.begin()),
                              std::make_move_iterator(queue_.end()));
    queue_.clear();
    return all;
  }
  // Waits for the end of the stream; its status, or DEADLINE_EXCEEDED if still open.
  absl::Status WaitFinished(absl::Duration timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    if (!cv_.wait_for(lock, absl::ToChronoMilliseconds(timeout), [this] { return done_; })) {
      return absl::DeadlineExceededError("the stream is still open");
    }
    return status_;
  }
  bool finished() {
    std::lock_guard<std::mutex> lock(mu_);
    return done_;
  }
  // All responses received so far (including the ones taken), for diagnostics and counting.
  size_t responses_received() {
    std::lock_guard<std::mutex> lock(mu_);
    return received_;
  }

 private:
  void ReadLoop() {
    Response response;
    while (reader_->Read(&response)) {
      std::lock_guard<std::mutex> lock(mu_);
      queue_.push_back(std::move(response));
      response = Response();
      ++received_;
      cv_.notify_all();
    }
    absl::Status status = observer::FromGrpcStatus(reader_->Finish());
    std::lock_guard<std::mutex> lock(mu_);
    status_ = status;
    done_ = true;
    cv_.notify_all();
  }

  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReader<Response>> reader_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Response> queue_;  // Guarded by mu_.
  size_t received_ = 0;         // Guarded by mu_.
  bool done_ = false;           // Guarded by mu_.
  absl::Status status_;         // Guarded by mu_; set when done_.
};

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

  sv1::StatsService::Stub& stub() { return *stub_; }

 private:
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<sv1::StatsService::Stub> stub_;
  absl::Duration timeout_;
};

}  // namespace observer::testing

#endif  // OBSERVER_TESTS_HARNESS_STATS_CLIENT_H_
