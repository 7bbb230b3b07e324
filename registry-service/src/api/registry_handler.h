// The gRPC face of the registry: translates calls to the domain, answers with google.rpc
// error details, and runs Watch streams. Everything else lives below it.
#ifndef OBSERVER_REGISTRY_API_REGISTRY_HANDLER_H_
#define OBSERVER_REGISTRY_API_REGISTRY_HANDLER_H_

#include <memory>
#include <mutex>
#include <set>

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"
#include "common/authorizer.h"
#include "observer/registry/v1/registry_service.grpc.pb.h"
#include "registry-service/src/changelog/watch_hub.h"
#include "registry-service/src/changelog/watch_session.h"
#include "registry-service/src/domain/registry.h"

namespace observer::registry {

struct RegistryHandlerOptions {
  // At most this many Watch streams are open at once; more are refused with
  // RESOURCE_EXHAUSTED (TOO_MANY_WATCHERS).
  size_t max_watchers = 1000;
  // The deadline of a call that sets none (a write not begun by then is not applied).
  absl::Duration default_deadline = absl::Seconds(30);
};

// Every call is admitted by the Authorizer first (identity, policy, rate limit). Personal data
// is answered to pii-readers only; a submitter is confined to its sending body.
class RegistryHandler final : public v1::RegistryService::CallbackService {
 public:
  RegistryHandler(Registry& registry, Store& store, WatchHub& hub, Authorizer& authorizer,
                  RegistryHandlerOptions options);

  // Ends every open Watch with UNAVAILABLE (server shutting down); later Watch calls fail.
  void CloseWatches();
  // How many Watch streams are open (for metrics).
  size_t OpenWatches();
  // How many revisions the slowest open Watch is behind `head` (0 with none open).
  int64_t MaxWatchLag(int64_t head);

  grpc::ServerUnaryReactor* CreateElection(grpc::CallbackServerContext* context,
                                           const v1::CreateElectionRequest* request,
                                           v1::CreateElectionResponse* response) override;
  grpc::ServerUnaryReactor* GetElection(grpc::CallbackServerContext* context,
                                        const v1::GetElectionRequest* request,
                                        v1::GetElectionResponse* response) override;
  grpc::ServerUnaryReactor* ListElections(grpc::CallbackServerContext* context,
                                          const v1::ListElectionsRequest* request,
                                          v1::ListElectionsResponse* response) override;
  grpc::ServerUnaryReactor* UpdateElection(grpc::CallbackServerContext* context,
                                           const v1::UpdateElectionRequest* request,
                                           v1::UpdateElectionResponse* response) override;
  grpc::ServerUnaryReactor* CreateOrganisation(grpc::CallbackServerContext* context,
                                               const v1::CreateOrganisationRequest* request,
                                               v1::CreateOrganisationResponse* response) override;
  grpc::ServerUnaryReactor* GetOrganisation(grpc::CallbackServerContext* context,
                                            const v1::GetOrganisationRequest* request,
                                            v1::GetOrganisationResponse* response) override;
  grpc::ServerUnaryReactor* ListOrganisations(grpc::CallbackServerContext* context,
                                              const v1::ListOrganisationsRequest* request,
                                              v1::ListOrganisationsResponse* response) override;
  grpc::ServerUnaryReactor* UpdateOrganisation(grpc::CallbackServerContext* context,
                                               const v1::UpdateOrganisationRequest* request,
                                               v1::UpdateOrganisationResponse* response) override;
  grpc::ServerUnaryReactor* CreateObserver(grpc::CallbackServerContext* context,
                                           const v1::CreateObserverRequest* request,
                                           v1::CreateObserverResponse* response) override;
  grpc::ServerUnaryReactor* BatchCreateObservers(
      grpc::CallbackServerContext* context, const v1::BatchCreateObserversRequest* request,
      v1::BatchCreateObserversResponse* response) override;
  grpc::ServerUnaryReactor* GetObserver(grpc::CallbackServerContext* context,
                                        const v1::GetObserverRequest* request,
                                        v1::GetObserverResponse* response) override;
  grpc::ServerUnaryReactor* ListObservers(grpc::CallbackServerContext* context,
                                          const v1::ListObserversRequest* request,
                                          v1::ListObserversResponse* response) override;
  grpc::ServerUnaryReactor* UpdateObserver(grpc::CallbackServerContext* context,
                                           const v1::UpdateObserverRequest* request,
                                           v1::UpdateObserverResponse* response) override;
  grpc::ServerUnaryReactor* AccreditObserver(grpc::CallbackServerContext* context,
                                             const v1::AccreditObserverRequest* request,
                                             v1::AccreditObserverResponse* response) override;
  grpc::ServerUnaryReactor* RejectObserver(grpc::CallbackServerContext* context,
                                           const v1::RejectObserverRequest* request,
                                           v1::RejectObserverResponse* response) override;
  grpc::ServerUnaryReactor* SuspendObserver(grpc::CallbackServerContext* context,
                                            const v1::SuspendObserverRequest* request,
                                            v1::SuspendObserverResponse* response) override;
  grpc::ServerUnaryReactor* ReinstateObserver(grpc::CallbackServerContext* context,
                                              const v1::ReinstateObserverRequest* request,
                                              v1::ReinstateObserverResponse* response) override;
  grpc::ServerUnaryReactor* WithdrawObserver(grpc::CallbackServerContext* context,
                                             const v1::WithdrawObserverRequest* request,
                                             v1::WithdrawObserverResponse* response) override;
  grpc::ServerUnaryReactor* DeleteObserver(grpc::CallbackServerContext* context,
                                           const v1::DeleteObserverRequest* request,
                                           v1::DeleteObserverResponse* response) override;
  grpc::ServerWriteReactor<v1::WatchResponse>* Watch(grpc::CallbackServerContext* context,
                                                     const v1::WatchRequest* request) override;
  grpc::ServerUnaryReactor* VerifyChangeLog(grpc::CallbackServerContext* context,
                                            const v1::VerifyChangeLogRequest* request,
                                            v1::VerifyChangeLogResponse* response) override;

 private:
  class WatchReactor;

  // The caller of `method` (a RegistryService method name), or why it may not call it.
  absl::StatusOr<Caller> Admit(grpc::CallbackServerContext* context, absl::string_view method);
  // Runs a write through the domain; the reactor finishes when the write is durable.
  template <typename Request, typename Response>
  grpc::ServerUnaryReactor* Write(grpc::CallbackServerContext* context, absl::string_view method,
                                  const Request* request, Response* response,
                                  void (Registry::*write)(const RequestContext&, const Request&,
                                                          Callback<Response>));
  // Answers a read at once.
  template <typename Request, typename Response>
  grpc::ServerUnaryReactor* Read(grpc::CallbackServerContext* context, absl::string_view method,
                                 const Request* request, Response* response,
                                 absl::StatusOr<Response> (Registry::*read)(const Request&));
  template <typename Request, typename Response>
  grpc::ServerUnaryReactor* Read(grpc::CallbackServerContext* context, absl::string_view method,
                                 const Request* request, Response* response,
                                 absl::StatusOr<Response> (Registry::*read)(const RequestContext&,
                                                                            const Request&));
  template <typename Response, typename ReadFn>
  grpc::ServerUnaryReactor* Answer(grpc::CallbackServerContext* context, absl::string_view method,
                                   Response* response, ReadFn read);

  Registry& registry_;
  Store& store_;
  WatchHub& hub_;
  Authorizer& authorizer_;
  const RegistryHandlerOptions options_;

  std::mutex watches_mu_;
  bool closing_ ABSL_GUARDED_BY(watches_mu_) = false;
  std::set<std::shared_ptr<WatchSession>> watches_ ABSL_GUARDED_BY(watches_mu_);
};

}  // namespace observer::registry

#endif  // OBSERVER_REGISTRY_API_REGISTRY_HANDLER_H_
