// Admission of every call to the services' own methods: who is calling (the verified client
// certificate's SPIFFE ID or DNS name; under --insecure-loopback the `x-observer-actor`
// metadata), whether the policy lets them call the method, and whether their rate limit has a
// token left. Handlers call Authorize first and answer its error as is; denied calls are
// logged and counted. The transport layer: domain code receives only the resulting Caller.
#ifndef OBSERVER_COMMON_AUTHORIZER_H_
#define OBSERVER_COMMON_AUTHORIZER_H_

#include <grpcpp/server_context.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/registry.h>
#include <sys/stat.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/authz_policy.h"
#include "common/in_flight_limiter.h"
#include "common/rate_limiter.h"

namespace observer {

// The caller of one call, as admitted.
struct Caller {
  std::string identity;            // Empty if the caller has none.
  std::vector<std::string> roles;  // From the policy.
  std::string sending_body;        // A submitter's sending body (organisations/x, states/XX).
  bool every_role = false;         // No policy (--insecure-loopback without --authz-policy).
  // A unary call's place among the calls in progress: keep a copy of the Caller until the call
  // is answered (null for streaming calls, and without a limit).
  std::shared_ptr<const InFlightSlot> in_flight;

  bool Has(absl::string_view role) const;
};

struct AuthorizerOptions {
  // --insecure-loopback: there is no certificate; the identity is the `x-observer-actor`
  // metadata the caller declares (demos and tests on one machine only).
  bool identity_from_metadata = false;
  // The policy file; empty means every call is allowed (only with identity_from_metadata).
  std::string policy_path;
  // Calls a second and burst per identity; rate <= 0: no limit.
  double rate_limit = 0;
  double rate_limit_burst = 0;
  // Unary calls in progress at once, over all callers (--max-in-flight) and per caller
  // identity (--max-in-flight-per-caller); more are refused with RESOURCE_EXHAUSTED/OVERLOADED
  // and a RetryInfo. 0: no limit.
  int64_t max_in_flight = 0;
  int64_t max_in_flight_per_caller = 0;
  // Counts denied and throttled calls (grpc_server_denied_total); may be null.
  prometheus::Registry* metrics = nullptr;
};

// Identifies one version of the policy file (inode, size, modification and change times).
struct PolicyFileVersion {
  ino_t inode = 0;
  off_t size = -1;
  int64_t mtime_sec = 0, mtime_nsec = 0, ctime_sec = 0, ctime_nsec = 0;
  static PolicyFileVersion Of(const std::string& path);
  bool operator==(const PolicyFileVersion&) const = default;
};

class Authorizer {
 public:
  // Loads and validates the policy (the error says why it is not valid).
  static absl::StatusOr<std::unique_ptr<Authorizer>> Create(AuthorizerOptions options);

  // Admits a call to `full_method` ("/package.Service/Method"): the Caller, or
  // PERMISSION_DENIED (the policy does not allow it; no detail about the policy) or
  // RESOURCE_EXHAUSTED with a RetryInfo (the identity's rate limit, reason RATE_LIMITED; or,
  // for a unary call, --max-in-flight calls in progress already, reason OVERLOADED). The
  // policy file is re-read when it changes; an invalid new version is logged and the old one
  // kept.
  absl::StatusOr<Caller> Authorize(const grpc::ServerContextBase& context,
                                   absl::string_view full_method);

 private:
  Authorizer(AuthorizerOptions options, std::shared_ptr<const AuthzPolicy> policy,
             PolicyFileVersion policy_version);
  std::shared_ptr<const AuthzPolicy> CurrentPolicy();
  void CountDenied(absl::string_view full_method, absl::string_view why);

  const AuthorizerOptions options_;
  const std::vector<std::string> known_methods_;
  const std::vector<std::string> streaming_methods_;  // Not counted as in flight.
  RateLimiter limiter_;
  InFlightLimiter in_flight_;
  prometheus::Family<prometheus::Counter>* denied_ = nullptr;

  std::mutex mu_;
  std::shared_ptr<const AuthzPolicy> policy_;  // Guarded by mu_.
  PolicyFileVersion loaded_version_;           // Guarded by mu_.
  PolicyFileVersion rejected_version_;         // Guarded by mu_: the last invalid one.
  bool reloading_ = false;                     // Guarded by mu_.
  absl::Time next_policy_check_;               // Guarded by mu_.
};

// The identity a verified client certificate carries: its SPIFFE ID, else its first DNS SAN,
// else empty.
std::string PeerIdentity(const grpc::ServerContextBase& context);

// When the call must be answered by: the client's deadline, or `default_deadline` from now if
// the client set none.
absl::Time CallDeadline(const grpc::ServerContextBase& context, absl::Duration default_deadline);

}  // namespace observer

#endif  // OBSERVER_COMMON_AUTHORIZER_H_
