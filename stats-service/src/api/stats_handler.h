// The StatsService gRPC handlers: validate, wait for `min_revision`, read the live counters,
// map errors. Streaming answers are pushed when the figures change, coalesced so that a slow
// reader only ever gets the latest figures.
#ifndef OBSERVER_STATS_SERVICE_SRC_API_STATS_HANDLER_H_
#define OBSERVER_STATS_SERVICE_SRC_API_STATS_HANDLER_H_

#include <grpcpp/grpcpp.h>

#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <vector>

#include "absl/time/time.h"
#include "common/authorizer.h"
#include "observer/stats/v1/stats_service.grpc.pb.h"
#include "stats-service/src/aggregate/live_stats.h"

namespace observer::stats {

struct StatsHandlerOptions {
  // A call that waits for `min_revision` waits at most this long, even without a deadline.
  absl::Duration max_revision_wait = absl::Seconds(30);
};

class StatsHandler final : public v1::StatsService::CallbackService {
 public:
  // Every call is admitted by `authorizer` first (identity, policy, rate limit).
  StatsHandler(LiveStats& live, Authorizer& authorizer, StatsHandlerOptions options);
  ~StatsHandler() override;

  // Streaming answers open now (WatchSummary, WatchBreakdown), for metrics.
  size_t OpenStreams();

  grpc::ServerUnaryReactor* GetSummary(grpc::CallbackServerContext* context,
                                       const v1::GetSummaryRequest* request,
                                       v1::GetSummaryResponse* response) override;
  grpc::ServerUnaryReactor* GetBreakdown(grpc::CallbackServerContext* context,
                                         const v1::GetBreakdownRequest* request,
                                         v1::GetBreakdownResponse* response) override;
  grpc::ServerWriteReactor<v1::WatchSummaryResponse>* WatchSummary(
      grpc::CallbackServerContext* context, const v1::WatchSummaryRequest* request) override;
  grpc::ServerWriteReactor<v1::WatchBreakdownResponse>* WatchBreakdown(
      grpc::CallbackServerContext* context, const v1::WatchBreakdownRequest* request) override;
  grpc::ServerUnaryReactor* ListRegionSchemes(grpc::CallbackServerContext* context,
                                              const v1::ListRegionSchemesRequest* request,
                                              v1::ListRegionSchemesResponse* response) override;

  // Ends every open stream and pending wait with UNAVAILABLE; later calls get UNAVAILABLE too.
  // For shutdown.
  void Close();

 private:
  template <typename Response>
  class FiguresStream;
  class BreakdownMessages;
  // Gives each GetBreakdown call a BreakdownMessages, so that its response can borrow the
  // cached breakdown instead of copying it.
  class BreakdownAllocator final
      : public grpc::MessageAllocator<v1::GetBreakdownRequest, v1::GetBreakdownResponse> {
   public:
    grpc::MessageHolder<v1::GetBreakdownRequest, v1::GetBreakdownResponse>* AllocateMessages()
        override;
  };
  class Closable {
   public:
    virtual ~Closable() = default;
    virtual void Close() = 0;
    // Keep the object alive across a Close made without the handler's lock.
    virtual void Pin() = 0;
    virtual void Unpin() = 0;
  };

  // The caller, admitted to `method` (a StatsService method name), or why not.
  absl::StatusOr<Caller> Admit(grpc::CallbackServerContext* context, absl::string_view method);
  // Validates, waits for `min_revision`, then runs `answer` (under the read lock) and finishes.
  // `in_flight` (the admitted Caller's) is held until the call is answered.
  grpc::ServerUnaryReactor* Answer(grpc::CallbackServerContext* context, absl::Status valid,
                                   std::shared_ptr<const InFlightSlot> in_flight,
                                   int64_t min_revision,
                                   std::function<absl::Status(const Counters&, int64_t)> answer);
  template <typename Response>
  grpc::ServerWriteReactor<Response>* Stream(
      absl::Status valid, int64_t min_revision,
      std::function<absl::Status(const Counters&, int64_t, Response*)> compute);

  LiveStats& live_;
  Authorizer& authorizer_;
  BreakdownAllocator breakdown_allocator_;
  const StatsHandlerOptions options_;
  std::mutex mu_;
  bool closing_ = false;         // Guarded by mu_.
  std::set<Closable*> streams_;  // Guarded by mu_.
  // Pending min_revision waits: LiveStats id → the call to end at Close.
  std::map<uint64_t, grpc::ServerUnaryReactor*> waits_;  // Guarded by mu_.
};

}  // namespace observer::stats

#endif  // OBSERVER_STATS_SERVICE_SRC_API_STATS_HANDLER_H_
