#include "stats-service/src/api/stats_handler.h"

#include <atomic>
#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "common/grpc_status.h"

namespace observer::stats {
namespace {

absl::Status ShuttingDown() {
  return MakeError(absl::StatusCode::kUnavailable, reason::kUnavailable,
                   "stats-service is shutting down; retry on another replica or shortly");
}

absl::Status RevisionNotApplied(int64_t wanted, int64_t applied) {
  return MakeError(
      absl::StatusCode::kDeadlineExceeded, reason::kRevisionNotApplied,
      absl::StrCat("revision ", wanted, " was not applied before the deadline (",
                   "applied so far: ", applied, ")"),
      {{"min_revision", absl::StrCat(wanted)}, {"applied_revision", absl::StrCat(applied)}});
}

// When to give up waiting for a revision: a little before the call's deadline (so that the
// caller gets our DEADLINE_EXCEEDED with its reason rather than its own bare one; the server
// sees the deadline plus the transit time), and never later than `max_wait` from now.
absl::Time WaitDeadline(const grpc::CallbackServerContext* context, absl::Duration max_wait) {
  const absl::Time now = absl::Now();
  const absl::Time cap = now + max_wait;
  const auto deadline = context->deadline();
  if (deadline == std::chrono::system_clock::time_point::max()) return cap;
  const absl::Time call_deadline = absl::FromChrono(deadline);
  const absl::Duration margin =
      std::min(absl::Milliseconds(100), std::max(absl::ZeroDuration(), call_deadline - now) / 10);
  return std::min(cap, call_deadline - margin);
}

// "/observer.stats.v1.StatsService/{method}", built once: every call is admitted under it.
const std::string& FullMethod(absl::string_view method) {
  static const auto* const kNames = [] {
    auto* names = new absl::flat_hash_map<std::string, std::string>;
    for (absl::string_view name :
         {"GetSummary", "GetBreakdown", "WatchSummary", "WatchBreakdown", "ListRegionSchemes"}) {
      names->emplace(name, absl::StrCat("/", v1::StatsService::service_full_name(), "/", name));
    }
    return names;
  }();
  return kNames->at(method);
}

}  // namespace

// The messages of one GetBreakdown call. The response may borrow a cached, immutable breakdown
// (Lend) rather than hold a copy: gRPC only reads the response (to serialize it, which is
// thread-safe on a shared message), and Release, gRPC's last use of the messages, hands the
// breakdown back before the response is destroyed.
class StatsHandler::BreakdownMessages final
    : public grpc::MessageHolder<v1::GetBreakdownRequest, v1::GetBreakdownResponse> {
 public:
  BreakdownMessages() {
    set_request(&request_);
    set_response(&response_);
  }

  // Sets the response's breakdown to `breakdown`, kept alive until Release.
  void Lend(std::shared_ptr<const v1::Breakdown> breakdown) {
    response_.clear_breakdown();
    lent_ = std::move(breakdown);
    // Never written through: the response is only serialized.
    response_.unsafe_arena_set_allocated_breakdown(const_cast<v1::Breakdown*>(lent_.get()));
  }

  void Release() override {
    if (lent_ != nullptr) (void)response_.unsafe_arena_release_breakdown();
    delete this;
  }

 private:
  v1::GetBreakdownRequest request_;
  v1::GetBreakdownResponse response_;
  std::shared_ptr<const v1::Breakdown> lent_;
};

grpc::MessageHolder<v1::GetBreakdownRequest, v1::GetBreakdownResponse>*
StatsHandler::BreakdownAllocator::AllocateMessages() {
  return new BreakdownMessages;
}

// A server stream of figures: the current answer at once (once `min_revision` is applied),
// then a new one each time the answer changes. One write at a time; changes that arrive during
// a write mark the stream dirty and the answer is recomputed when the write completes, so a
// slow reader gets the latest figures and never a backlog.
template <typename Response>
class StatsHandler::FiguresStream final : public grpc::ServerWriteReactor<Response>,
                                          public StatsHandler::Closable {
 public:
  using Compute = std::function<absl::Status(const Counters&, int64_t, Response*)>;

  FiguresStream(StatsHandler& handler, int64_t min_revision, Compute compute)
      : handler_(handler), min_revision_(min_revision), compute_(std::move(compute)) {}

  // Registers with the live state and the handler, then sends the first answer if it can.
  // Runs inside the method handler: gRPC calls no reaction (OnDone included) before it
  // returns, so `this` stays valid here even if the stream is finished meanwhile.
  void Begin() {
    listener_ = handler_.live_.Subscribe([this] { Refresh(); });
    bool closing;
    {
      std::lock_guard<std::mutex> lock(handler_.mu_);
      closing = handler_.closing_;
      if (!closing) handler_.streams_.insert(this);
    }
    if (closing) {
      End(ShuttingDown());
      return;
    }
    Refresh();
  }

  void Close() override { End(ShuttingDown()); }
  void Pin() override { ++refs_; }
  void Unpin() override { Unref(); }

  void OnWriteDone(bool ok) override {
    Action action;
    {
      std::lock_guard<std::mutex> lock(mu_);
      writing_ = false;
      if (finishing_.has_value()) {
        action.finish = std::exchange(finishing_, std::nullopt);
      } else if (!ok) {
        FinishLocked(absl::CancelledError("the stream was closed"), action);
      } else if (std::exchange(dirty_, false)) {
        ComputeLocked(action);
      }
    }
    Run(action);
  }

  void OnCancel() override { End(absl::CancelledError("the call was cancelled")); }

  void OnDone() override {
    if (listener_ != 0) handler_.live_.Unsubscribe(listener_);
    {
      std::lock_guard<std::mutex> lock(handler_.mu_);
      handler_.streams_.erase(this);
    }
    Unref();
  }

 private:
  // What to do once mu_ is released: Finish may destroy this object, so it comes last.
  struct Action {
    bool write = false;
    std::optional<absl::Status> finish;
  };

  void Run(Action& action) {
    if (action.write) this->StartWrite(&response_);
    if (action.finish.has_value()) this->Finish(ToGrpcStatus(*action.finish));
  }

  void Refresh() {
    Action action;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (finished_) return;
      if (writing_) {
        dirty_ = true;
        return;
      }
      ComputeLocked(action);
    }
    Run(action);
  }

  void End(const absl::Status& status) {
    Action action;
    {
      std::lock_guard<std::mutex> lock(mu_);
      FinishLocked(status, action);
    }
    Run(action);
  }

  void ComputeLocked(Action& action) {
    Response next;
    bool ready = false;
    const absl::Status status =
        handler_.live_.Read([&](const Counters& counters, int64_t revision) {
          if (revision < min_revision_) return absl::OkStatus();
          ready = true;
          return compute_(counters, revision, &next);
        });
    if (GetErrorDetails(status).reason == reason::kNotSynced) return;  // Wait for the sync.
    if (!status.ok()) {
      FinishLocked(status, action);
      return;
    }
    if (!ready) return;
    // Send only when the figures themselves changed, not for every revision.
    const int64_t revision = next.revision();
    next.set_revision(0);
    std::string figures = next.SerializeAsString();
    if (sent_any_ && figures == last_figures_) return;
    next.set_revision(revision);
    last_figures_ = std::move(figures);
    sent_any_ = true;
    response_ = std::move(next);
    writing_ = true;
    action.write = true;
  }

  void FinishLocked(const absl::Status& status, Action& action) {
    if (finished_) return;
    finished_ = true;
    if (writing_) {
      finishing_ = status;  // Finish once the write in flight completes.
    } else {
      action.finish = status;
    }
  }

  // Freed when gRPC is done with it and no Close is using it.
  void Unref() {
    if (refs_.fetch_sub(1) == 1) delete this;
  }

  StatsHandler& handler_;
  const int64_t min_revision_;
  const Compute compute_;
  std::atomic<int> refs_{1};  // gRPC's (released in OnDone) and Close's pins.
  uint64_t listener_ = 0;     // Set in Begin; read in OnDone, which runs after Begin returns.

  std::mutex mu_;
  bool finished_ = false;                  // Guarded by mu_.
  bool writing_ = false;                   // Guarded by mu_.
  bool dirty_ = false;                     // Guarded by mu_.
  bool sent_any_ = false;                  // Guarded by mu_.
  std::optional<absl::Status> finishing_;  // Guarded by mu_.
  std::string last_figures_;               // Guarded by mu_.
  Response response_;                      // Written by one StartWrite at a time.
};

StatsHandler::StatsHandler(LiveStats& live, Authorizer& authorizer, StatsHandlerOptions options)
    : live_(live), authorizer_(authorizer), options_(options) {
  SetMessageAllocatorFor_GetBreakdown(&breakdown_allocator_);
}

StatsHandler::~StatsHandler() { Close(); }

void StatsHandler::Close() {
  std::map<uint64_t, grpc::ServerUnaryReactor*> waits;
  std::vector<Closable*> streams;
  {
    std::lock_guard<std::mutex> lock(mu_);
    closing_ = true;
    waits.swap(waits_);
    // Pinned, so that a stream whose OnDone runs meanwhile is not freed under our feet.
    for (Closable* stream : streams_) {
      stream->Pin();
      streams.push_back(stream);
    }
  }
  // Finish is never called with mu_ held: gRPC may run other callbacks (even a new call's
  // method handler, which takes mu_) on this thread before Finish returns.
  for (const auto& [id, reactor] : waits) {
    if (live_.CancelWait(id)) reactor->Finish(ToGrpcStatus(ShuttingDown()));
  }
  for (Closable* stream : streams) {
    stream->Close();
    stream->Unpin();
  }
}

absl::StatusOr<Caller> StatsHandler::Admit(grpc::CallbackServerContext* context,
                                           absl::string_view method) {
  return authorizer_.Authorize(*context, FullMethod(method));
}

grpc::ServerUnaryReactor* StatsHandler::Answer(
    grpc::CallbackServerContext* context, absl::Status valid,
    std::shared_ptr<const InFlightSlot> in_flight, int64_t min_revision,
    std::function<absl::Status(const Counters&, int64_t)> answer) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (!valid.ok()) {
    reactor->Finish(ToGrpcStatus(valid));
    return reactor;
  }
  auto respond = [this, reactor, answer = std::move(answer), in_flight = std::move(in_flight)] {
    reactor->Finish(ToGrpcStatus(live_.Read(answer)));
  };
  bool closing;
  {
    std::lock_guard<std::mutex> lock(mu_);
    closing = closing_;
    if (!closing && min_revision > 0) {
      // `id` is assigned under mu_, which the callback takes before it reads it.
      auto id = std::make_shared<uint64_t>(0);
      *id = live_.WaitFor(min_revision, WaitDeadline(context, options_.max_revision_wait),
                          [this, reactor, respond, min_revision, id](bool reached) {
                            {
                              std::lock_guard<std::mutex> wait_lock(mu_);
                              waits_.erase(*id);
                            }
                            if (reached) {
                              respond();
                            } else {
                              reactor->Finish(ToGrpcStatus(
                                  RevisionNotApplied(min_revision, live_.applied_revision())));
                            }
                          });
      if (*id != 0) {
        waits_.emplace(*id, reactor);
        return reactor;
      }
    }
  }
  if (closing) {
    reactor->Finish(ToGrpcStatus(ShuttingDown()));
  } else {
    respond();
  }
  return reactor;
}

template <typename Response>
grpc::ServerWriteReactor<Response>* StatsHandler::Stream(
    absl::Status valid, int64_t min_revision,
    std::function<absl::Status(const Counters&, int64_t, Response*)> compute) {
  auto* stream = new FiguresStream<Response>(*this, min_revision, std::move(compute));
  if (!valid.ok()) {
    stream->Finish(ToGrpcStatus(valid));
  } else {
    stream->Begin();
  }
  return stream;
}

size_t StatsHandler::OpenStreams() {
  std::lock_guard<std::mutex> lock(mu_);
  return streams_.size();
}

grpc::ServerUnaryReactor* StatsHandler::GetSummary(grpc::CallbackServerContext* context,
                                                   const v1::GetSummaryRequest* request,
                                                   v1::GetSummaryResponse* response) {
  const absl::StatusOr<Caller> caller = Admit(context, "GetSummary");
  return Answer(context, caller.ok() ? Counters::ValidateSummaryRequest(*request) : caller.status(),
                caller.ok() ? caller->in_flight : nullptr, request->min_revision(),
                [request, response](const Counters& counters, int64_t revision) {
                  auto summary = counters.Summarize(*request);
                  if (!summary.ok()) return summary.status();
                  *response->mutable_summary() = *std::move(summary);
                  response->set_revision(revision);
                  return absl::OkStatus();
                });
}

grpc::ServerUnaryReactor* StatsHandler::GetBreakdown(grpc::CallbackServerContext* context,
                                                     const v1::GetBreakdownRequest* request,
                                                     v1::GetBreakdownResponse* response) {
  const absl::StatusOr<Caller> caller = Admit(context, "GetBreakdown");
  // Ours unless gRPC was given no allocator (then the breakdown is copied).
  auto* messages = dynamic_cast<BreakdownMessages*>(context->GetRpcAllocatorState());
  return Answer(
      context,
      caller.ok() ? Counters::ValidateBreakdownRequest(live_.regions(), *request) : caller.status(),
      caller.ok() ? caller->in_flight : nullptr, request->min_revision(),
      [request, response, messages](const Counters& counters, int64_t revision) {
        auto breakdown = counters.SharedBreak(*request);
        if (!breakdown.ok()) return breakdown.status();
        if (messages != nullptr) {
          messages->Lend(*std::move(breakdown));
        } else {
          *response->mutable_breakdown() = **breakdown;
        }
        response->set_revision(revision);
        return absl::OkStatus();
      });
}

grpc::ServerWriteReactor<v1::WatchSummaryResponse>* StatsHandler::WatchSummary(
    grpc::CallbackServerContext* context, const v1::WatchSummaryRequest* request) {
  const v1::GetSummaryRequest& query = request->request();
  const absl::Status admitted = Admit(context, "WatchSummary").status();
  return Stream<v1::WatchSummaryResponse>(
      admitted.ok() ? PrefixFields(Counters::ValidateSummaryRequest(query), "request") : admitted,
      query.min_revision(),
      [query](const Counters& counters, int64_t revision, v1::WatchSummaryResponse* out) {
        auto summary = counters.Summarize(query);
        if (!summary.ok()) return PrefixFields(summary.status(), "request");
        *out->mutable_summary() = *std::move(summary);
        out->set_revision(revision);
        return absl::OkStatus();
      });
}

grpc::ServerWriteReactor<v1::WatchBreakdownResponse>* StatsHandler::WatchBreakdown(
    grpc::CallbackServerContext* context, const v1::WatchBreakdownRequest* request) {
  const v1::GetBreakdownRequest& query = request->request();
  const absl::Status admitted = Admit(context, "WatchBreakdown").status();
  return Stream<v1::WatchBreakdownResponse>(
      admitted.ok()
          ? PrefixFields(Counters::ValidateBreakdownRequest(live_.regions(), query), "request")
          : admitted,
      query.min_revision(),
      [query](const Counters& counters, int64_t revision, v1::WatchBreakdownResponse* out) {
        auto breakdown = counters.Break(query);
        if (!breakdown.ok()) return PrefixFields(breakdown.status(), "request");
        *out->mutable_breakdown() = *std::move(breakdown);
        out->set_revision(revision);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* StatsHandler::ListRegionSchemes(
    grpc::CallbackServerContext* context, const v1::ListRegionSchemesRequest* request,
    v1::ListRegionSchemesResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  // Held until the answer is given: this call is in flight meanwhile.
  const absl::StatusOr<Caller> caller = Admit(context, "ListRegionSchemes");
  if (!caller.ok()) {
    reactor->Finish(ToGrpcStatus(caller.status()));
    return reactor;
  }
  Language language;
  if (!ParseLanguage(request->language_code(), &language)) {
    reactor->Finish(ToGrpcStatus(InvalidField("language_code", "use en, ru or kk")));
    return reactor;
  }
  for (const RegionScheme* scheme : live_.regions().schemes()) {
    v1::RegionSchemeInfo* info = response->add_schemes();
    info->set_name(scheme->name());
    info->set_title(scheme->title());
    for (const RegionGroup& group : scheme->groups()) {
      v1::BreakdownRow* row = info->add_groups();
      row->set_key(group.key);
      row->set_display_name(group.Name(language));
    }
  }
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace observer::stats
