#include "registry-service/src/api/registry_handler.h"

#include <algorithm>
#include <atomic>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/authz_policy.h"
#include "common/grpc_status.h"
#include "common/personal_data.h"

namespace observer::registry {
namespace {

absl::Status ShuttingDown() {
  return MakeError(absl::StatusCode::kUnavailable, reason::kUnavailable,
                   "the server is shutting down: reconnect and resume");
}

// The full gRPC method name of a RegistryService method, as the policy names it.
std::string FullMethod(absl::string_view method) {
  return absl::StrCat("/", v1::RegistryService::service_full_name(), "/", method);
}

// What the domain needs to know about the caller. `confined`: the caller has no role that
// reaches beyond one sending body for this call, so a submitter is confined to its own.
absl::StatusOr<RequestContext> ContextFor(const Caller& caller, absl::Time deadline,
                                          bool confined) {
  RequestContext ctx;
  ctx.actor = caller.identity.empty() ? "anonymous" : caller.identity;
  ctx.deadline = deadline;
  if (confined && caller.Has(role::kSubmitter)) {
    if (caller.sending_body.empty()) {
      return MakeError(
          absl::StatusCode::kPermissionDenied, reason::kPermissionDenied,
          absl::StrCat("'", ctx.actor, "' is a submitter without a sending body in the policy"));
    }
    ctx.sending_body = caller.sending_body;
  }
  return ctx;
}

// Personal data leaves the registry only for pii-readers.
template <typename Response>
void Disclose(const Caller& caller, Response& response) {
  if (!caller.Has(role::kPiiReader)) StripPersonalDataWithin(response);
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
  // `admitted`: the caller's admission (an error ends the stream at once).
  WatchReactor(RegistryHandler& handler, const v1::WatchRequest& request,
               const absl::Status& admitted)
      : handler_(handler) {
    session_ = std::make_shared<WatchSession>(handler.store_, handler.hub_, this);
    {
      std::lock_guard<std::mutex> lock(handler_.watches_mu_);
      if (!admitted.ok()) {
        session_->Close(admitted);
        return;
      }
      if (handler_.closing_) {
        session_->Close(ShuttingDown());
        return;
      }
      if (handler_.watches_.size() >= handler_.options_.max_watchers) {
        session_->Close(MakeError(
            absl::StatusCode::kResourceExhausted, reason::kTooManyWatchers,
            absl::StrCat(handler_.options_.max_watchers,
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
                                 Authorizer& authorizer, RegistryHandlerOptions options)
    : registry_(registry), store_(store), hub_(hub), authorizer_(authorizer), options_(options) {}

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

absl::StatusOr<Caller> RegistryHandler::Admit(grpc::CallbackServerContext* context,
                                              absl::string_view method) {
  return authorizer_.Authorize(*context, FullMethod(method));
}

template <typename Request, typename Response>
grpc::ServerUnaryReactor* RegistryHandler::Write(
    grpc::CallbackServerContext* context, absl::string_view method, const Request* request,
    Response* response,
    void (Registry::*write)(const RequestContext&, const Request&, Callback<Response>)) {
  auto* reactor = new WriteReactor();
  absl::StatusOr<Caller> caller = Admit(context, method);
  // A registrar's writes reach every sending body; a submitter only submits observers, for its
  // own body, whatever else the policy lets it call.
  absl::StatusOr<RequestContext> ctx =
      caller.ok() ? ContextFor(*caller, CallDeadline(*context, options_.default_deadline),
                               /*confined=*/!caller->Has(role::kRegistrar))
                  : caller.status();
  if (ctx.ok() && !ctx->sending_body.empty() && method != "CreateObserver" &&
      method != "BatchCreateObservers") {
    ctx =
        MakeError(absl::StatusCode::kPermissionDenied, reason::kPermissionDenied,
                  absl::StrCat("'", ctx->actor, "' is a submitter: it may only submit observers"));
  }
  if (!ctx.ok()) {
    reactor->Finish(ToGrpcStatus(ctx.status()));
    return reactor;
  }
  ctx->cancelled = reactor->cancelled();
  // The callback owns the Caller, and with it the call's place among the calls in flight, until
  // the write is committed (or refused) and answered.
  (registry_.*write)(
      *ctx, *request,
      [reactor, response, caller = *std::move(caller)](absl::StatusOr<Response> result) {
        if (result.ok()) {
          *response = *std::move(result);
          Disclose(caller, *response);
        }
        reactor->Finish(ToGrpcStatus(result.status()));
      });
  return reactor;
}

template <typename Request, typename Response>
grpc::ServerUnaryReactor* RegistryHandler::Read(
    grpc::CallbackServerContext* context, absl::string_view method, const Request* request,
    Response* response, absl::StatusOr<Response> (Registry::*read)(const Request&)) {
  Registry* registry = &registry_;
  return Answer(context, method, response, [registry, read, request](const RequestContext&) {
    return (registry->*read)(*request);
  });
}

template <typename Request, typename Response>
grpc::ServerUnaryReactor* RegistryHandler::Read(
    grpc::CallbackServerContext* context, absl::string_view method, const Request* request,
    Response* response,
    absl::StatusOr<Response> (Registry::*read)(const RequestContext&, const Request&)) {
  Registry* registry = &registry_;
  return Answer(context, method, response, [registry, read, request](const RequestContext& ctx) {
    return (registry->*read)(ctx, *request);
  });
}

template <typename Response, typename ReadFn>
grpc::ServerUnaryReactor* RegistryHandler::Answer(grpc::CallbackServerContext* context,
                                                  absl::string_view method, Response* response,
                                                  ReadFn read) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::StatusOr<Caller> caller = Admit(context, method);
  // Readers see every sending body's records; a submitter without that role its own only.
  absl::StatusOr<RequestContext> ctx =
      caller.ok()
          ? ContextFor(*caller, CallDeadline(*context, options_.default_deadline),
                       /*confined=*/!caller->Has(role::kReader) && !caller->Has(role::kPiiReader))
          : caller.status();
  if (!ctx.ok()) {
    reactor->Finish(ToGrpcStatus(ctx.status()));
    return reactor;
  }
  absl::StatusOr<Response> result = read(*ctx);
  if (result.ok()) {
    *response = *std::move(result);
    Disclose(*caller, *response);
  }
  reactor->Finish(ToGrpcStatus(result.status()));
  return reactor;
}

grpc::ServerUnaryReactor* RegistryHandler::CreateElection(grpc::CallbackServerContext* context,
                                                          const v1::CreateElectionRequest* request,
                                                          v1::CreateElectionResponse* response) {
  return Write(context, "CreateElection", request, response, &Registry::CreateElection);
}
grpc::ServerUnaryReactor* RegistryHandler::GetElection(grpc::CallbackServerContext* context,
                                                       const v1::GetElectionRequest* request,
                                                       v1::GetElectionResponse* response) {
  return Read(context, "GetElection", request, response, &Registry::GetElection);
}
grpc::ServerUnaryReactor* RegistryHandler::ListElections(grpc::CallbackServerContext* context,
                                                         const v1::ListElectionsRequest* request,
                                                         v1::ListElectionsResponse* response) {
  return Read(context, "ListElections", request, response, &Registry::ListElections);
}
grpc::ServerUnaryReactor* RegistryHandler::UpdateElection(grpc::CallbackServerContext* context,
                                                          const v1::UpdateElectionRequest* request,
                                                          v1::UpdateElectionResponse* response) {
  return Write(context, "UpdateElection", request, response, &Registry::UpdateElection);
}
grpc::ServerUnaryReactor* RegistryHandler::CreateOrganisation(
    grpc::CallbackServerContext* context, const v1::CreateOrganisationRequest* request,
    v1::CreateOrganisationResponse* response) {
  return Write(context, "CreateOrganisation", request, response, &Registry::CreateOrganisation);
}
grpc::ServerUnaryReactor* RegistryHandler::GetOrganisation(
    grpc::CallbackServerContext* context, const v1::GetOrganisationRequest* request,
    v1::GetOrganisationResponse* response) {
  return Read(context, "GetOrganisation", request, response, &Registry::GetOrganisation);
}
grpc::ServerUnaryReactor* RegistryHandler::ListOrganisations(
    grpc::CallbackServerContext* context, const v1::ListOrganisationsRequest* request,
    v1::ListOrganisationsResponse* response) {
  return Read(context, "ListOrganisations", request, response, &Registry::ListOrganisations);
}
grpc::ServerUnaryReactor* RegistryHandler::UpdateOrganisation(
    grpc::CallbackServerContext* context, const v1::UpdateOrganisationRequest* request,
    v1::UpdateOrganisationResponse* response) {
  return Write(context, "UpdateOrganisation", request, response, &Registry::UpdateOrganisation);
}
grpc::ServerUnaryReactor* RegistryHandler::CreateObserver(grpc::CallbackServerContext* context,
                                                          const v1::CreateObserverRequest* request,
                                                          v1::CreateObserverResponse* response) {
  return Write(context, "CreateObserver", request, response, &Registry::CreateObserver);
}
grpc::ServerUnaryReactor* RegistryHandler::BatchCreateObservers(
    grpc::CallbackServerContext* context, const v1::BatchCreateObserversRequest* request,
    v1::BatchCreateObserversResponse* response) {
  return Write(context, "BatchCreateObservers", request, response, &Registry::BatchCreateObservers);
}
grpc::ServerUnaryReactor* RegistryHandler::GetObserver(grpc::CallbackServerContext* context,
                                                       const v1::GetObserverRequest* request,
                                                       v1::GetObserverResponse* response) {
  return Read(context, "GetObserver", request, response, &Registry::GetObserver);
}
grpc::ServerUnaryReactor* RegistryHandler::ListObservers(grpc::CallbackServerContext* context,
                                                         const v1::ListObserversRequest* request,
                                                         v1::ListObserversResponse* response) {
  return Read(context, "ListObservers", request, response, &Registry::ListObservers);
}
grpc::ServerUnaryReactor* RegistryHandler::UpdateObserver(grpc::CallbackServerContext* context,
                                                          const v1::UpdateObserverRequest* request,
                                                          v1::UpdateObserverResponse* response) {
  return Write(context, "UpdateObserver", request, response, &Registry::UpdateObserver);
}
grpc::ServerUnaryReactor* RegistryHandler::AccreditObserver(
    grpc::CallbackServerContext* context, const v1::AccreditObserverRequest* request,
    v1::AccreditObserverResponse* response) {
  return Write(context, "AccreditObserver", request, response, &Registry::AccreditObserver);
}
grpc::ServerUnaryReactor* RegistryHandler::RejectObserver(grpc::CallbackServerContext* context,
                                                          const v1::RejectObserverRequest* request,
                                                          v1::RejectObserverResponse* response) {
  return Write(context, "RejectObserver", request, response, &Registry::RejectObserver);
}
grpc::ServerUnaryReactor* RegistryHandler::SuspendObserver(
    grpc::CallbackServerContext* context, const v1::SuspendObserverRequest* request,
    v1::SuspendObserverResponse* response) {
  return Write(context, "SuspendObserver", request, response, &Registry::SuspendObserver);
}
grpc::ServerUnaryReactor* RegistryHandler::ReinstateObserver(
    grpc::CallbackServerContext* context, const v1::ReinstateObserverRequest* request,
    v1::ReinstateObserverResponse* response) {
  return Write(context, "ReinstateObserver", request, response, &Registry::ReinstateObserver);
}
grpc::ServerUnaryReactor* RegistryHandler::WithdrawObserver(
    grpc::CallbackServerContext* context, const v1::WithdrawObserverRequest* request,
    v1::WithdrawObserverResponse* response) {
  return Write(context, "WithdrawObserver", request, response, &Registry::WithdrawObserver);
}
grpc::ServerUnaryReactor* RegistryHandler::DeleteObserver(grpc::CallbackServerContext* context,
                                                          const v1::DeleteObserverRequest* request,
                                                          v1::DeleteObserverResponse* response) {
  return Write(context, "DeleteObserver", request, response, &Registry::DeleteObserver);
}

grpc::ServerWriteReactor<v1::WatchResponse>* RegistryHandler::Watch(
    grpc::CallbackServerContext* context, const v1::WatchRequest* request) {
  // The change stream carries every sending body's records: not for a confined submitter.
  absl::StatusOr<Caller> caller = Admit(context, "Watch");
  absl::Status admitted = caller.status();
  if (caller.ok() && caller->Has(role::kSubmitter) && !caller->Has(role::kRegistrar) &&
      !caller->Has(role::kReader) && !caller->Has(role::kPiiReader) &&
      !caller->Has(role::kStatsSubscriber)) {
    admitted = MakeError(absl::StatusCode::kPermissionDenied, reason::kPermissionDenied,
                         absl::StrCat("'", caller->identity,
                                      "' is a submitter: the change stream covers other "
                                      "sending bodies"));
  }
  return new WatchReactor(*this, *request, admitted);
}

grpc::ServerUnaryReactor* RegistryHandler::VerifyChangeLog(
    grpc::CallbackServerContext* context, const v1::VerifyChangeLogRequest* request,
    v1::VerifyChangeLogResponse* response) {
  return Read(context, "VerifyChangeLog", request, response, &Registry::VerifyChangeLog);
}

}  // namespace observer::registry
