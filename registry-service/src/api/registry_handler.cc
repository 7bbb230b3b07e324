#include "registry-service/src/api/registry_handler.h"

#include <algorithm>
#include <atomic>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/grpc_status.h"

namespace observer::registry {
namespace {

absl::Status ShuttingDown() {
  return MakeError(absl::StatusCode::kUnavailable, reason::kUnavailable,
                   "the server is shutting down: reconnect and resume");
}

// Until mutual TLS establishes identities, the actor is what the caller declares in the
// `x-observer-actor` metadata.
RequestContext ContextFrom(grpc::CallbackServerContext* context) {
  RequestContext ctx;
  const auto& metadata = context->client_metadata();
  auto it = metadata.find("x-observer-actor");
  std::string declared =
      it != metadata.end() ? std::string(it->second.data(), it->second.size()) : "anonymous";
  if (declared.size() > 128) declared.resize(128);
  ctx.actor = declared;
  return ctx;
}

// A unary write call that records its cancellation (the client gone, its deadline passed, or the
// server's shutdown deadline): the domain then does not apply the write if it has not begun.
class WriteReactor final : public grpc::ServerUnaryReactor {
 public:
  std::shared_ptr<const std::atomic<bool>> cancelled() const { return cancelled_; }
  void OnCancel() override { cancelled_->store(true); }
  void OnDone() override { delete this; }

 private:
  const std::shared_ptr<std::atomic<bool>> cancelled_ = std::make_shared<std::atomic<bool>>(false);
};

}  // namespace

class RegistryHandler::WatchReactor final : public grpc::ServerWriteReactor<v1::WatchResponse>,
                                            public WatchSink {
 public:
  WatchReactor(RegistryHandler& handler, const v1::WatchRequest& request) : handler_(handler) {
    session_ = std::make_shared<WatchSession>(handler.store_, handler.hub_, this);
    {
      std::lock_guard<std::mutex> lock(handler_.watches_mu_);
      if (handler_.closing_) {
        session_->Close(ShuttingDown());
        return;
      }
      if (handler_.watches_.size() >= handler_.max_watchers_) {
        session_->Close(MakeError(
            absl::StatusCode::kResourceExhausted, reason::kTooManyWatchers,
            absl::StrCat(handler_.max_watchers_,
                         " Watch streams are open already (--max-watchers): retry later")));
        return;
      }
      handler_.watches_.insert(session_);
    }
    session_->Start(request);
  }

  void Send(const v1::WatchResponse* response) override { StartWrite(response); }
  void Finish(const absl::Status& status) override {
    grpc::ServerWriteReactor<v1::WatchResponse>::Finish(ToGrpcStatus(status));
  }
  void OnWriteDone(bool ok) override { session_->OnSent(ok); }
  void OnCancel() override { session_->Cancel(); }
  void OnDone() override {
    {
      std::lock_guard<std::mutex> lock(handler_.watches_mu_);
      handler_.watches_.erase(session_);
    }
    delete this;
  }

 private:
  RegistryHandler& handler_;
  std::shared_ptr<WatchSession> session_;
};

RegistryHandler::RegistryHandler(Registry& registry, Store& store, WatchHub& hub,
                                 size_t max_watchers)
    : registry_(registry), store_(store), hub_(hub), max_watchers_(max_watchers) {}

size_t RegistryHandler::OpenWatches() {
  std::lock_guard<std::mutex> lock(watches_mu_);
  return watches_.size();
}

int64_t RegistryHandler::MaxWatchLag(int64_t head) {
  std::set<std::shared_ptr<WatchSession>> open;
  {
    std::lock_guard<std::mutex> lock(watches_mu_);
    open = watches_;
  }
  int64_t lag = 0;
  for (const auto& session : open) {
    const int64_t position = session->Position();
    if (position >= 0) lag = std::max(lag, head - position);
  }
  return lag;
}

void RegistryHandler::CloseWatches() {
  std::set<std::shared_ptr<WatchSession>> open;
  {
    std::lock_guard<std::mutex> lock(watches_mu_);
    closing_ = true;
    open = watches_;
  }
  for (const auto& session : open) session->Close(ShuttingDown());
}

template <typename Request, typename Response>
grpc::ServerUnaryReactor* RegistryHandler::Write(
    grpc::CallbackServerContext* context, const Request* request, Response* response,
    void (Registry::*method)(const RequestContext&, const Request&, Callback<Response>)) {
  auto* reactor = new WriteReactor();
  RequestContext ctx = ContextFrom(context);
  ctx.cancelled = reactor->cancelled();
  (registry_.*method)(ctx, *request, [reactor, response](absl::StatusOr<Response> result) {
    if (result.ok()) *response = *std::move(result);
    reactor->Finish(ToGrpcStatus(result.status()));
  });
  return reactor;
}

template <typename Request, typename Response>
grpc::ServerUnaryReactor* RegistryHandler::Read(
    grpc::CallbackServerContext* context, const Request* request, Response* response,
    absl::StatusOr<Response> (Registry::*method)(const Request&)) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::StatusOr<Response> result = (registry_.*method)(*request);
  if (result.ok()) *response = *std::move(result);
  reactor->Finish(ToGrpcStatus(result.status()));
  return reactor;
}

grpc::ServerUnaryReactor* RegistryHandler::CreateElection(grpc::CallbackServerContext* context,
                                                          const v1::CreateElectionRequest* request,
                                                          v1::CreateElectionResponse* response) {
  return Write(context, request, response, &Registry::CreateElection);
}
grpc::ServerUnaryReactor* RegistryHandler::GetElection(grpc::CallbackServerContext* context,
                                                       const v1::GetElectionRequest* request,
                                                       v1::GetElectionResponse* response) {
  return Read(context, request, response, &Registry::GetElection);
}
grpc::ServerUnaryReactor* RegistryHandler::ListElections(grpc::CallbackServerContext* context,
                                                         const v1::ListElectionsRequest* request,
                                                         v1::ListElectionsResponse* response) {
  return Read(context, request, response, &Registry::ListElections);
}
grpc::ServerUnaryReactor* RegistryHandler::UpdateElection(grpc::CallbackServerContext* context,
                                                          const v1::UpdateElectionRequest* request,
                                                          v1::UpdateElectionResponse* response) {
  return Write(context, request, response, &Registry::UpdateElection);
}
grpc::ServerUnaryReactor* RegistryHandler::CreateOrganisation(
    grpc::CallbackServerContext* context, const v1::CreateOrganisationRequest* request,
    v1::CreateOrganisationResponse* response) {
  return Write(context, request, response, &Registry::CreateOrganisation);
}
grpc::ServerUnaryReactor* RegistryHandler::GetOrganisation(
    grpc::CallbackServerContext* context, const v1::GetOrganisationRequest* request,
    v1::GetOrganisationResponse* response) {
  return Read(context, request, response, &Registry::GetOrganisation);
}
grpc::ServerUnaryReactor* RegistryHandler::ListOrganisations(
    grpc::CallbackServerContext* context, const v1::ListOrganisationsRequest* request,
    v1::ListOrganisationsResponse* response) {
  return Read(context, request, response, &Registry::ListOrganisations);
}
grpc::ServerUnaryReactor* RegistryHandler::UpdateOrganisation(
    grpc::CallbackServerContext* context, const v1::UpdateOrganisationRequest* request,
    v1::UpdateOrganisationResponse* response) {
  return Write(context, request, response, &Registry::UpdateOrganisation);
}
grpc::ServerUnaryReactor* RegistryHandler::CreateObserver(grpc::CallbackServerContext* context,
                                                          const v1::CreateObserverRequest* request,
                                                          v1::CreateObserverResponse* response) {
  return Write(context, request, response, &Registry::CreateObserver);
}
grpc::ServerUnaryReactor* RegistryHandler::BatchCreateObservers(
    grpc::CallbackServerContext* context, const v1::BatchCreateObserversRequest* request,
    v1::BatchCreateObserversResponse* response) {
  return Write(context, request, response, &Registry::BatchCreateObservers);
}
grpc::ServerUnaryReactor* RegistryHandler::GetObserver(grpc::CallbackServerContext* context,
                                                       const v1::GetObserverRequest* request,
                                                       v1::GetObserverResponse* response) {
  return Read(context, request, response, &Registry::GetObserver);
}
grpc::ServerUnaryReactor* RegistryHandler::ListObservers(grpc::CallbackServerContext* context,
                                                         const v1::ListObserversRequest* request,
                                                         v1::ListObserversResponse* response) {
  return Read(context, request, response, &Registry::ListObservers);
}
grpc::ServerUnaryReactor* RegistryHandler::UpdateObserver(grpc::CallbackServerContext* context,
                                                          const v1::UpdateObserverRequest* request,
                                                          v1::UpdateObserverResponse* response) {
  return Write(context, request, response, &Registry::UpdateObserver);
}
grpc::ServerUnaryReactor* RegistryHandler::AccreditObserver(
    grpc::CallbackServerContext* context, const v1::AccreditObserverRequest* request,
    v1::AccreditObserverResponse* response) {
  return Write(context, request, response, &Registry::AccreditObserver);
}
grpc::ServerUnaryReactor* RegistryHandler::RejectObserver(grpc::CallbackServerContext* context,
                                                          const v1::RejectObserverRequest* request,
                                                          v1::RejectObserverResponse* response) {
  return Write(context, request, response, &Registry::RejectObserver);
}
grpc::ServerUnaryReactor* RegistryHandler::SuspendObserver(
    grpc::CallbackServerContext* context, const v1::SuspendObserverRequest* request,
    v1::SuspendObserverResponse* response) {
  return Write(context, request, response, &Registry::SuspendObserver);
}
grpc::ServerUnaryReactor* RegistryHandler::ReinstateObserver(
    grpc::CallbackServerContext* context, const v1::ReinstateObserverRequest* request,
    v1::ReinstateObserverResponse* response) {
  return Write(context, request, response, &Registry::ReinstateObserver);
}
grpc::ServerUnaryReactor* RegistryHandler::WithdrawObserver(
    grpc::CallbackServerContext* context, const v1::WithdrawObserverRequest* request,
    v1::WithdrawObserverResponse* response) {
  return Write(context, request, response, &Registry::WithdrawObserver);
}
grpc::ServerUnaryReactor* RegistryHandler::DeleteObserver(grpc::CallbackServerContext* context,
                                                          const v1::DeleteObserverRequest* request,
                                                          v1::DeleteObserverResponse* response) {
  return Write(context, request, response, &Registry::DeleteObserver);
}

grpc::ServerWriteReactor<v1::WatchResponse>* RegistryHandler::Watch(
    grpc::CallbackServerContext* /*context*/, const v1::WatchRequest* request) {
  return new WatchReactor(*this, *request);
}

}  // namespace observer::registry
