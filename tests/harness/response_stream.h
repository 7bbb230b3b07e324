// One server-streaming call of any of our services, read by a background thread into a queue.
#ifndef OBSERVER_TESTS_HARNESS_RESPONSE_STREAM_H_
#define OBSERVER_TESTS_HARNESS_RESPONSE_STREAM_H_

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/grpc_status.h"

namespace observer::testing {

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
  // The stream has ended and every response has been taken.
  bool finished() {
    std::lock_guard<std::mutex> lock(mu_);
    return done_ && queue_.empty();
  }
  // All responses received so far (including the ones taken), for diagnostics and counting.
  size_t responses_received() {
    std::lock_guard<std::mutex> lock(mu_);
    return received_;
  }

 protected:
  // Waits up to `timeout` for the next response; nullopt with the final status in `*ended`
  // when the stream has ended and nothing is left.
  std::optional<Response> NextOrEnd(absl::Duration timeout, std::optional<absl::Status>* ended) {
    std::optional<Response> next = Next(timeout);
    if (!next.has_value()) {
      std::lock_guard<std::mutex> lock(mu_);
      if (done_ && queue_.empty()) *ended = status_;
    }
    return next;
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

}  // namespace observer::testing

#endif  // OBSERVER_TESTS_HARNESS_RESPONSE_STREAM_H_
