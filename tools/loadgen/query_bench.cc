// stats-query-bench: GetBreakdown (or GetSummary) throughput of stats-service at a given
// concurrency, on gRPC's callback client API. Cycles through the dimensions unless one is named.
//
//   stats-query-bench --stats 127.0.0.1:50052 --election bench-stats --status SUBMITTED
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <memory>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/config.h"
#include "observer/stats/v1/stats_service.grpc.pb.h"
#include "tools/loadgen/closed_loop.h"

ABSL_FLAG(std::string, stats, "127.0.0.1:50052", "stats-service address");
ABSL_FLAG(std::string, election, "bench-stats", "Election id");
ABSL_FLAG(std::string, query, "breakdown",
          "breakdown (cycling through every dimension), summary, or one dimension name such "
          "as DIMENSION_REGION");
ABSL_FLAG(std::string, status, "",
          "Count observers in this status (e.g. SUBMITTED for a register filled by "
          "observer-populate); empty: the default filter (ACCREDITED)");
ABSL_FLAG(int32_t, in_flight, 64, "Calls in flight at once");
ABSL_FLAG(double, seconds, 10, "Measured duration");
ABSL_FLAG(double, warmup, 1, "Warm-up before measuring, in seconds");

namespace {

namespace sv1 = observer::stats::v1;
namespace rv1 = observer::registry::v1;

struct Call {
  grpc::ClientContext context;
  sv1::GetBreakdownRequest breakdown_request;
  sv1::GetBreakdownResponse breakdown_response;
  sv1::GetSummaryRequest summary_request;
  sv1::GetSummaryResponse summary_response;
};

}  // namespace

int main(int argc, char** argv) {
  observer::ParseFlagsWithEnv(argc, argv, "BENCH", "stats-query-bench: stats query throughput");
  const std::string query = absl::GetFlag(FLAGS_query);
  std::vector<sv1::Dimension> dimensions;
  bool summary = false;
  if (query == "summary") {
    summary = true;
  } else if (query == "breakdown") {
    for (int d = 1; sv1::Dimension_IsValid(d); ++d) dimensions.push_back(sv1::Dimension(d));
  } else {
    sv1::Dimension d;
    if (!sv1::Dimension_Parse(query, &d) || d == sv1::DIMENSION_UNSPECIFIED) {
      observer::ExitWithUsageError("--query: breakdown, summary or a DIMENSION_* name");
    }
    dimensions.push_back(d);
  }
  sv1::Filter filter;
  if (const std::string status = absl::GetFlag(FLAGS_status); !status.empty()) {
    rv1::ObserverStatus value;
    if (!rv1::ObserverStatus_Parse(absl::StrCat("OBSERVER_STATUS_", status), &value)) {
      observer::ExitWithUsageError("--status: SUBMITTED, ACCREDITED, REJECTED, ...");
    }
    filter.add_statuses(value);
  }
  auto stub = sv1::StatsService::NewStub(
      grpc::CreateChannel(absl::GetFlag(FLAGS_stats), grpc::InsecureChannelCredentials()));
  const std::string election = absl::StrCat("elections/", absl::GetFlag(FLAGS_election));

  observer::loadgen::ClosedLoopOptions options;
  options.scenario = summary ? "stats_summary" : "stats_breakdown";
  options.in_flight = std::max(1, absl::GetFlag(FLAGS_in_flight));
  options.warmup = absl::Seconds(absl::GetFlag(FLAGS_warmup));
  options.measure = absl::Seconds(absl::GetFlag(FLAGS_seconds));
  std::vector<std::unique_ptr<Call>> calls(static_cast<size_t>(options.in_flight));
  std::atomic<uint64_t> sequence{0};
  std::atomic<int64_t> rows{0};
  std::atomic<int64_t> counted{0};
  const auto result = observer::loadgen::RunClosedLoop(
      options, [&](int slot, std::function<void(const grpc::Status&)> done) {
        auto& call = calls[static_cast<size_t>(slot)];
        if (call != nullptr) {
          rows += call->breakdown_response.breakdown().rows_size();
          counted = std::max<int64_t>(counted.load(), call->summary_response.summary().observers());
        }
        call = std::make_unique<Call>();
        if (summary) {
          call->summary_request.set_election(election);
          *call->summary_request.mutable_filter() = filter;
          stub->async()->GetSummary(&call->context, &call->summary_request, &call->summary_response,
                                    std::move(done));
          return;
        }
        call->breakdown_request.set_election(election);
        call->breakdown_request.set_dimension(
            dimensions[sequence.fetch_add(1) % dimensions.size()]);
        *call->breakdown_request.mutable_filter() = filter;
        stub->async()->GetBreakdown(&call->context, &call->breakdown_request,
                                    &call->breakdown_response, std::move(done));
      });
  observer::loadgen::PrintResult(result,
                                 summary ? absl::StrCat("\"observers_counted\":", counted.load())
                                         : absl::StrCat("\"rows_returned\":", rows.load()));
  return result.error_count() == 0 ? 0 : 1;
}
