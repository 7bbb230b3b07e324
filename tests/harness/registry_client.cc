#include "tests/harness/registry_client.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/grpc_status.h"
#include "tests/harness/unary_call.h"

namespace observer::testing {

RegistryClient::RegistryClient(std::shared_ptr<grpc::Channel> channel, absl::Duration timeout)
    : channel_(std::move(channel)),
      stub_(rv1::RegistryService::NewStub(channel_)),
      timeout_(timeout) {}

#define OBSERVER_TEST_RPC(Method)                                                          \
  absl::StatusOr<rv1::Method##Response> RegistryClient::Method(                            \
      const rv1::Method##Request& request) {                                               \
    return UnaryCall(stub_.get(), &rv1::RegistryService::Stub::Method, request, timeout_); \
  }
OBSERVER_REGISTRY_UNARY_RPCS(OBSERVER_TEST_RPC)
#undef OBSERVER_TEST_RPC

absl::StatusOr<int64_t> RegistryClient::HeadRevision() {
  rv1::ListElectionsRequest req;
  req.set_page_size(1);
  absl::StatusOr<rv1::ListElectionsResponse> resp = ListElections(req);
  if (!resp.ok()) return resp.status();
  return resp->revision();
}

absl::StatusOr<std::vector<rv1::Election>> RegistryClient::AllElections() {
  std::vector<rv1::Election> all;
  rv1::ListElectionsRequest req;
  req.set_page_size(1000);
  for (int pages = 0; pages < 10000; ++pages) {
    absl::StatusOr<rv1::ListElectionsResponse> resp = ListElections(req);
    if (!resp.ok()) return resp.status();
    for (const auto& e : resp->elections()) all.push_back(e);
    if (resp->next_page_token().empty()) return all;
    req.set_page_token(resp->next_page_token());
  }
  return absl::InternalError("ListElections: too many pages");
}

absl::StatusOr<std::vector<rv1::Organisation>> RegistryClient::AllOrganisations() {
  std::vector<rv1::Organisation> all;
  rv1::ListOrganisationsRequest req;
  req.set_page_size(1000);
  for (int pages = 0; pages < 10000; ++pages) {
    absl::StatusOr<rv1::ListOrganisationsResponse> resp = ListOrganisations(req);
    if (!resp.ok()) return resp.status();
    for (const auto& o : resp->organisations()) all.push_back(o);
    if (resp->next_page_token().empty()) return all;
    req.set_page_token(resp->next_page_token());
  }
  return absl::InternalError("ListOrganisations: too many pages");
}

absl::StatusOr<std::vector<rv1::Observer>> RegistryClient::AllObservers(const std::string& parent,
                                                                        const std::string& filter) {
  std::vector<rv1::Observer> all;
  rv1::ListObserversRequest req;
  req.set_parent(parent);
  req.set_filter(filter);
  req.set_page_size(1000);
  for (int pages = 0; pages < 10000; ++pages) {
    absl::StatusOr<rv1::ListObserversResponse> resp = ListObservers(req);
    if (!resp.ok()) return resp.status();
    for (const auto& o : resp->observers()) all.push_back(o);
    if (resp->next_page_token().empty()) return all;
    req.set_page_token(resp->next_page_token());
  }
  return absl::InternalError("ListObservers: too many pages");
}

std::unique_ptr<WatchStream> RegistryClient::Watch(const rv1::WatchRequest& request,
                                                   bool start_reading,
                                                   absl::Duration stream_timeout) {
  return std::make_unique<WatchStream>(stub_.get(), request, start_reading, stream_timeout);
}

WatchStream::WatchStream(rv1::RegistryService::Stub* stub, const rv1::WatchRequest& request,
                         bool start_reading, absl::Duration stream_timeout)
    : ResponseStream<rv1::WatchResponse>(
          [stub, &request](grpc::ClientContext* context) { return stub->Watch(context, request); },
          start_reading, stream_timeout) {}

absl::StatusOr<std::vector<rv1::ChangeEvent>> WatchStream::EventsThrough(int64_t revision,
                                                                         absl::Duration timeout) {
  std::vector<rv1::ChangeEvent> events;
  absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    if (!events.empty() && events.back().revision() >= revision) return events;
    absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      return absl::DeadlineExceededError(
          absl::StrCat("watch: waited ", absl::FormatDuration(timeout), " for revision ", revision,
                       "; got ", events.size(), " events, last revision ",
                       events.empty() ? int64_t{0} : events.back().revision()));
    }
    std::optional<absl::Status> ended;
    std::optional<rv1::WatchResponse> r = NextOrEnd(left, &ended);
    if (ended.has_value()) {
      return absl::Status(
          ended->ok() ? absl::StatusCode::kAborted : ended->code(),
          absl::StrCat("watch ended before revision ", revision, " (", events.size(),
                       " events, last ", events.empty() ? int64_t{0} : events.back().revision(),
                       "): ", ended->ToString()));
    }
    if (!r.has_value()) continue;
    for (const auto& e : r->events()) events.push_back(e);
  }
}

}  // namespace observer::testing
