// The register of record: every operation of the RegistryService API, with the rules that
// need stored state (existence, duplicates, the deadline, the lifecycle, etags, idempotency).
// The API's protobuf messages are the data carriers (as in etcd and Kubernetes); this layer
// knows nothing of gRPC and returns absl::Status errors carrying google.rpc details.
#ifndef OBSERVER_REGISTRY_DOMAIN_REGISTRY_H_
#define OBSERVER_REGISTRY_DOMAIN_REGISTRY_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/country_codes.h"
#include "google/protobuf/message.h"
#include "observer/registry/v1/registry_service.pb.h"
#include "registry-service/src/domain/rules.h"
#include "registry-service/src/storage/store.h"

namespace observer::registry {

// Who is calling, as established by the transport.
struct RequestContext {
  std::string actor = "anonymous";
  // A submitter's sending body (`organisations/{code}` or `states/{code}`); empty for callers
  // who are not restricted to one. A restricted caller creates observers for this body only
  // (PERMISSION_DENIED otherwise) and sees and changes only its records: any other record is
  // NOT_FOUND, exactly as a missing one, so that existence does not leak.
  std::string sending_body;
  // A write that has not begun by then is not applied (DEADLINE_EXCEEDED): the transport's
  // deadline for the call, e.g. the server's default deadline for a call that set none.
  absl::Time deadline = absl::InfiniteFuture();
  // Set by the transport: becomes true when the caller is gone (it cancelled, its deadline
  // passed, or the server's shutdown deadline cancelled the call). A write that has not begun
  // by then is not applied: the caller was told the call failed. Null: never cancelled.
  std::shared_ptr<const std::atomic<bool>> cancelled;
};

struct RegistryOptions {
  // How many of the latest revisions the change log keeps (and idempotency records live).
  int64_t changelog_retention = 1'000'000;
  // The clock; tests may pin it.
  std::function<absl::Time()> clock = [] { return absl::Now(); };
  // Called when a request_id is repeated and the stored response is returned (for metrics).
  std::function<void()> on_replay;
};

template <typename T>
using Callback = std::function<void(absl::StatusOr<T>)>;

// Reads answer synchronously. Writes answer through `done`, called exactly once, after the
// write is durable (on the store's writer thread) or at once if the request is invalid;
// `req` must stay valid until then.
class Registry {
 public:
  Registry(Store& store, const CountryCodes& countries, RegistryOptions options);

  void CreateElection(const RequestContext& ctx, const v1::CreateElectionRequest& req,
                      Callback<v1::CreateElectionResponse> done);
  absl::StatusOr<v1::GetElectionResponse> GetElection(const v1::GetElectionRequest& req);
  absl::StatusOr<v1::ListElectionsResponse> ListElections(const v1::ListElectionsRequest& req);
  void UpdateElection(const RequestContext& ctx, const v1::UpdateElectionRequest& req,
                      Callback<v1::UpdateElectionResponse> done);

  void CreateOrganisation(const RequestContext& ctx, const v1::CreateOrganisationRequest& req,
                          Callback<v1::CreateOrganisationResponse> done);
  absl::StatusOr<v1::GetOrganisationResponse> GetOrganisation(
      const v1::GetOrganisationRequest& req);
  absl::StatusOr<v1::ListOrganisationsResponse> ListOrganisations(
      const v1::ListOrganisationsRequest& req);
  void UpdateOrganisation(const RequestContext& ctx, const v1::UpdateOrganisationRequest& req,
                          Callback<v1::UpdateOrganisationResponse> done);

  void CreateObserver(const RequestContext& ctx, const v1::CreateObserverRequest& req,
                      Callback<v1::CreateObserverResponse> done);
  void BatchCreateObservers(const RequestContext& ctx, const v1::BatchCreateObserversRequest& req,
                            Callback<v1::BatchCreateObserversResponse> done);
  absl::StatusOr<v1::GetObserverResponse> GetObserver(const RequestContext& ctx,
                                                      const v1::GetObserverRequest& req);
  absl::StatusOr<v1::ListObserversResponse> ListObservers(const RequestContext& ctx,
                                                          const v1::ListObserversRequest& req);
  void UpdateObserver(const RequestContext& ctx, const v1::UpdateObserverRequest& req,
                      Callback<v1::UpdateObserverResponse> done);
  void AccreditObserver(const RequestContext& ctx, const v1::AccreditObserverRequest& req,
                        Callback<v1::AccreditObserverResponse> done);
  void RejectObserver(const RequestContext& ctx, const v1::RejectObserverRequest& req,
                      Callback<v1::RejectObserverResponse> done);
  void SuspendObserver(const RequestContext& ctx, const v1::SuspendObserverRequest& req,
                       Callback<v1::SuspendObserverResponse> done);
  void ReinstateObserver(const RequestContext& ctx, const v1::ReinstateObserverRequest& req,
                         Callback<v1::ReinstateObserverResponse> done);
  void WithdrawObserver(const RequestContext& ctx, const v1::WithdrawObserverRequest& req,
                        Callback<v1::WithdrawObserverResponse> done);
  void DeleteObserver(const RequestContext& ctx, const v1::DeleteObserverRequest& req,
                      Callback<v1::DeleteObserverResponse> done);

  // Checks the audit hash chain of the stored change log (Store::VerifyChangeLog); a broken
  // chain is an answer with `problem` set, not an error.
  absl::StatusOr<v1::VerifyChangeLogResponse> VerifyChangeLog(
      const v1::VerifyChangeLogRequest& req);

 private:
  struct TransitionRequest;
  struct WriteInfo;

  // The common fields of a status-change request; reason and badge where it has them.
  template <typename Request>
  static TransitionRequest MakeTransition(Transition transition, const Request& req);

  // Runs `body` in a store transaction with idempotency: a stored response for the same
  // request_id is returned instead (INVALID_ARGUMENT if the request differs).
  template <typename Response>
  void Mutate(const RequestContext& ctx, absl::string_view method,
              const google::protobuf::Message& request, const std::string& request_id,
              std::function<absl::StatusOr<Response>(WriteTxn&, const WriteInfo&)> body,
              Callback<Response> done);

  // The shared part of CreateObserver and each BatchCreateObservers row.
  absl::StatusOr<v1::Observer> InsertObserver(WriteTxn& txn, const WriteInfo& info,
                                              const std::string& election_id,
                                              v1::Observer observer);
  // The checks of an observer's record against the stored state (election, organisation,
  // host country, duplicate document), shared by create and update.
  [[nodiscard]] absl::Status CheckObserverAgainstStore(WriteTxn& txn, const RequestContext& ctx,
                                                       const v1::Election& election,
                                                       const std::string& observer_id,
                                                       const v1::Observer& observer);
  template <typename Response>
  void ChangeStatus(const RequestContext& ctx, absl::string_view method,
                    const google::protobuf::Message& request, TransitionRequest t,
                    Callback<Response> done);

  void MaybeCompact(int64_t revision);

  Store& store_;
  const CountryCodes& countries_;
  const RegistryOptions options_;
  std::atomic<int64_t> last_compaction_check_{0};
};

}  // namespace observer::registry

#endif  // OBSERVER_REGISTRY_DOMAIN_REGISTRY_H_
