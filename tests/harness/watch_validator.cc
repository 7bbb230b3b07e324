#include "tests/harness/watch_validator.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>

#include <algorithm>
#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "common/grpc_status.h"
#include "google/protobuf/util/message_differencer.h"

namespace observer::testing {

// ---------------------------------------------------------------------------------------------
// WatchValidator

void WatchValidator::Violation(std::string what) {
  violations_.push_back(absl::StrCat(Where(), ": ", what));
}

std::string WatchValidator::Where() const {
  return absl::StrCat("call ", calls_, ", response ", responses_in_call_);
}

void WatchValidator::OnStart(const rv1::WatchRequest& request) {
  ++calls_;
  responses_in_call_ = 0;
  call_open_ = true;
  header_at_start_ = last_header_;
  call_wants_initial_state_ = request.send_initial_state();
  if (request.send_initial_state()) {
    // A fresh initial state: the consumer starts over; continuity is re-established at the
    // marker (its R may not be below what was delivered already).
    in_initial_state_ = true;
    snapshot_.clear();
    max_initial_revision_ = 0;
    max_initial_name_.clear();
    expected_next_ = 0;
  } else {
    in_initial_state_ = false;
    const int64_t start = request.start_revision();
    if (last_revision_ > 0 && start != last_revision_ + 1) {
      Violation(absl::StrCat("resumed at start_revision ", start, ", not at ", last_revision_ + 1,
                             " (after the last revision delivered, ", last_revision_, ")"));
    }
    expected_next_ = start > 0 ? start : 0;
  }
  expecting_resume_ = false;
}

void WatchValidator::CheckHeader(int64_t header) {
  if (header < last_header_) {
    Violation(absl::StrCat("header_revision went back from ", last_header_, " to ", header));
  }
  last_header_ = std::max(last_header_, header);
}

void WatchValidator::OnResponse(const rv1::WatchResponse& response) {
  ++responses_;
  ++responses_in_call_;
  if (!call_open_) Violation("a response outside a call (after its end or before its start)");
  const int64_t header = response.header_revision();
  const int flags = static_cast<int>(response.initial_state()) +
                    static_cast<int>(response.initial_state_complete()) +
                    static_cast<int>(response.progress_notify());
  if (flags > 1) {
    Violation(absl::StrCat("a response with several of initial_state (", response.initial_state(),
                           "), initial_state_complete (", response.initial_state_complete(),
                           "), progress_notify (", response.progress_notify(), ")"));
  }

  if (response.initial_state()) {
    if (!call_wants_initial_state_) {
      Violation("initial-state events on a call without send_initial_state");
    } else if (!in_initial_state_) {
      Violation("initial-state events after the initial state was complete");
    }
    for (const rv1::ChangeEvent& e : response.events()) {
      if (e.type() != rv1::CHANGE_TYPE_CREATED) {
        Violation(absl::StrCat("initial-state event ", e.name(), " of type ",
                               rv1::ChangeType_Name(e.type()), " (not CREATED)"));
      }
      if (e.revision() > header) {
        Violation(absl::StrCat("initial-state event ", e.name(), " at revision ", e.revision(),
                               " above the response's header_revision ", header));
      }
      if (!snapshot_.emplace(e.name(), e).second) {
        Violation(absl::StrCat("record ", e.name(), " twice in the initial state"));
      }
      if (e.revision() > max_initial_revision_) {
        max_initial_revision_ = e.revision();
        max_initial_name_ = e.name();
      }
    }
    if (response.events().empty()) Violation("an initial-state response without records");
    CheckHeader(header);
    return;
  }

  if (response.initial_state_complete()) {
    if (!response.events().empty()) Violation("the initial-state marker carries events");
    if (!call_wants_initial_state_) {
      Violation("an initial-state marker on a call without send_initial_state");
      return;
    }
    if (!in_initial_state_) {
      Violation(absl::StrCat("a second initial-state marker (at ", header, ")"));
      return;
    }
    const int64_t r = header;
    if (max_initial_revision_ > r) {
      Violation(absl::StrCat("initial-state record ", max_initial_name_, " has revision ",
                             max_initial_revision_, ", above the snapshot revision ", r));
    }
    if (r < last_revision_) {
      Violation(absl::StrCat("the initial state at revision ", r, " is older than revision ",
                             last_revision_, " delivered before"));
    }
    if (r < header_at_start_) {
      Violation(absl::StrCat("the initial state at revision ", r, " is older than the head ",
                             header_at_start_, " announced before the call started"));
    }
    in_initial_state_ = false;
    last_revision_ = std::max(last_revision_, r);
    expected_next_ = r + 1;
    // The marker's header is R by definition; it does not move last_header_ back.
    last_header_ = std::max(last_header_, r);
    return;
  }

  if (response.progress_notify()) {
    ++progress_;
    if (!response.events().empty()) Violation("a progress notification carries events");
    if (in_initial_state_) {
      Violation(absl::StrCat("a progress notification (at ", header,
                             ") before the initial state was complete"));
    }
    if (expected_next_ == 0) {
      // A call from "the next revision committed": the notification tells where that is.
      if (last_revision_ > 0 && header > last_revision_) {
        Violation(absl::StrCat("progress notification at ", header, " but revisions ",
                               last_revision_ + 1, "..", header, " were never delivered"));
      }
      expected_next_ = header + 1;
    } else if (header > expected_next_ - 1) {
      Violation(absl::StrCat("progress notification at ", header, " but revisions ", expected_next_,
                             "..", header, " were never delivered"));
    }
    progress_promise_ = std::max(progress_promise_, header);
    CheckHeader(header);
    return;
  }

  if (in_initial_state_) {
    Violation("live events before the initial state was complete");
  }
  if (response.events().empty()) {
    Violation("a response with neither events nor a flag");
  }
  OnLiveEvents(response);
  CheckHeader(header);
}

void WatchValidator::OnLiveEvents(const rv1::WatchResponse& response) {
  const int64_t header = response.header_revision();
  for (int i = 0; i < response.events_size(); ++i) {
    const rv1::ChangeEvent& e = response.events(i);
    const int64_t rev = e.revision();
    if (rev > header) {
      Violation(absl::StrCat("event at revision ", rev, " above the response's header_revision ",
                             header));
    }
    if (rev <= progress_promise_) {
      Violation(absl::StrCat("event at revision ", rev,
                             " at or below an earlier progress notification at ",
                             progress_promise_));
    }
    const rv1::ChangeEvent* previous = events_.empty() ? nullptr : &events_.back();
    if (previous != nullptr && previous->revision() == rev) {
      const bool same_response = i > 0;
      if (google::protobuf::util::MessageDifferencer::Equals(*previous, e)) {
        Violation(absl::StrCat("revision ", rev, " delivered twice (duplicate)"));
      } else if (!same_response && last_event_response_ == responses_ - 1) {
        Violation(absl::StrCat("revision ", rev,
                               " split across responses (two events with one revision)"));
      } else {
        Violation(absl::StrCat("two events with revision ", rev, " (", previous->name(), ", ",
                               e.name(), ")"));
      }
    } else if (expected_next_ != 0 && rev != expected_next_) {
      if (rev > expected_next_) {
        Violation(absl::StrCat("gap: revision ", rev, " follows ", expected_next_ - 1, " (missing ",
                               expected_next_, "..", rev - 1, ")"));
      } else {
        Violation(
            absl::StrCat("revision ", rev, " out of order or repeated: expected ", expected_next_));
      }
    }
    expected_next_ = std::max(expected_next_, rev + 1);
    last_revision_ = std::max(last_revision_, rev);
    events_.push_back(e);
    last_event_response_ = responses_;
  }
}

void WatchValidator::OnEnd(const absl::Status& status) {
  if (!call_open_) Violation("a call ended twice");
  call_open_ = false;
  in_initial_state_ = false;  // An unfinished initial state is abandoned.
  expecting_resume_ = true;
  switch (status.code()) {
    case absl::StatusCode::kOk:
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kCancelled:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kResourceExhausted:
      return;
    case absl::StatusCode::kOutOfRange:
      if (GetErrorDetails(status).reason == reason::kRevisionCompacted) return;
      break;
    default:
      break;
  }
  const ErrorDetails details = GetErrorDetails(status);
  Violation(absl::StrCat("the call ended with ", absl::StatusCodeToString(status.code()),
                         details.reason.empty() ? "" : absl::StrCat(" (", details.reason, ")"),
                         ": ", status.message()));
}

// ---------------------------------------------------------------------------------------------
// ValidatingWatcher

ValidatingWatcher::ValidatingWatcher(std::function<std::string()> address, Options options)
    : address_(std::move(address)), options_(options), reads_per_second_(options.reads_per_second) {
  thread_ = std::thread([this] { Run(); });
}

ValidatingWatcher::~ValidatingWatcher() { Stop(); }

void ValidatingWatcher::SetReadsPerSecond(double reads_per_second) {
  reads_per_second_.store(reads_per_second);
  cv_.notify_all();
}

bool ValidatingWatcher::WaitFor(int64_t revision, absl::Duration timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, absl::ToChronoMilliseconds(timeout),
                      [&] { return validator_.last_revision() >= revision; });
}

void ValidatingWatcher::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    if (context_ != nullptr) context_->TryCancel();
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::vector<std::string> ValidatingWatcher::Violations() {
  std::lock_guard<std::mutex> lock(mu_);
  return validator_.Violations();
}

int64_t ValidatingWatcher::last_revision() {
  std::lock_guard<std::mutex> lock(mu_);
  return validator_.last_revision();
}

int64_t ValidatingWatcher::reconnects() {
  std::lock_guard<std::mutex> lock(mu_);
  return reconnects_;
}

std::vector<absl::Status> ValidatingWatcher::ends() {
  std::lock_guard<std::mutex> lock(mu_);
  return ends_;
}

void ValidatingWatcher::Run() {
  bool initial_state = options_.start_revision == 0;
  int64_t next_start = options_.start_revision;
  for (;;) {
    auto context = std::make_shared<grpc::ClientContext>();
    rv1::WatchRequest request;
    if (initial_state) {
      request.set_send_initial_state(true);
    } else {
      request.set_start_revision(next_start);
    }
    grpc::ChannelArguments args;
    if (options_.reads_per_second > 0) {
      // A slow consumer must look slow to the server: no receive window grown by bandwidth
      // probing (which would let the server park megabytes in this client's buffers), so that
      // flow control holds the server's sends back.
      args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
      args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 64 * 1024);
    }
    std::unique_ptr<rv1::RegistryService::Stub> stub = rv1::RegistryService::NewStub(
        grpc::CreateCustomChannel(address_(), grpc::InsecureChannelCredentials(), args));
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stop_) return;
      if (validator_.calls() > 0) ++reconnects_;
      context_ = context;
      validator_.OnStart(request);
    }
    std::unique_ptr<grpc::ClientReader<rv1::WatchResponse>> reader =
        stub->Watch(context.get(), request);
    rv1::WatchResponse response;
    auto next_read = std::chrono::steady_clock::now();
    for (;;) {
      if (reads_per_second_.load() > 0) {
        std::unique_lock<std::mutex> lock(mu_);
        // Woken early by Stop, or by SetReadsPerSecond (which may lift the limit).
        cv_.wait_until(lock, next_read, [this] { return stop_ || reads_per_second_.load() <= 0; });
        if (stop_) break;
      }
      if (!reader->Read(&response)) break;
      const double rate = reads_per_second_.load();
      if (rate > 0) {
        next_read = std::chrono::steady_clock::now() +
                    std::chrono::microseconds(static_cast<int64_t>(1e6 / rate));
      }
      {
        std::lock_guard<std::mutex> lock(mu_);
        validator_.OnResponse(response);
      }
      cv_.notify_all();
    }
    context->TryCancel();  // Stopped between reads: end the call before Finish.
    const absl::Status status = FromGrpcStatus(reader->Finish());
    {
      std::lock_guard<std::mutex> lock(mu_);
      validator_.OnEnd(status);
      ends_.push_back(status);
      context_.reset();
      if (GetErrorDetails(status).reason == reason::kRevisionCompacted) {
        initial_state = true;  // Start over, as the contract says.
      } else if (validator_.last_revision() > 0) {
        initial_state = false;
        next_start = validator_.last_revision() + 1;
      }
      // Else nothing was delivered: the same request again.
    }
    cv_.notify_all();
    std::unique_lock<std::mutex> lock(mu_);
    if (cv_.wait_for(lock, absl::ToChronoMilliseconds(options_.backoff),
                     [this] { return stop_; })) {
      return;
    }
  }
}

}  // namespace observer::testing
