#include "common/authorizer.h"

#include <grpc/grpc_security_constants.h>
#include <grpcpp/security/auth_context.h>
#include <prometheus/labels.h>

#include <algorithm>
#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/errors.h"
#include "common/log.h"

namespace observer {
namespace {

constexpr absl::Duration kPolicyCheckInterval = absl::Seconds(2);
// How long a call refused for overload is told to wait before it tries again.
constexpr absl::Duration kOverloadRetryDelay = absl::Milliseconds(100);

}  // namespace

// What tells one version of the policy file from another: a rewrite in place changes the size
// or the times, a replacement by rename the inode.
PolicyFileVersion PolicyFileVersion::Of(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return {};
  return {st.st_ino,          st.st_size,        st.st_mtim.tv_sec,
          st.st_mtim.tv_nsec, st.st_ctim.tv_sec, st.st_ctim.tv_nsec};
}

namespace {

// "/package.Service/Method" → {"package.Service", "Method"}.
std::pair<std::string, std::string> SplitMethod(absl::string_view full_method) {
  absl::string_view rest = full_method.substr(full_method.empty() ? 0 : 1);
  const size_t slash = rest.find('/');
  if (slash == absl::string_view::npos) return {std::string(rest), ""};
  return {std::string(rest.substr(0, slash)), std::string(rest.substr(slash + 1))};
}

std::string MetadataActor(const grpc::ServerContextBase& context) {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find("x-observer-actor");
  if (it == metadata.end()) return "";
  std::string declared(it->second.data(), std::min<size_t>(it->second.size(), 128));
  return declared;
}

}  // namespace

bool Caller::Has(absl::string_view role) const {
  return every_role || std::find(roles.begin(), roles.end(), role) != roles.end();
}

std::string PeerIdentity(const grpc::ServerContextBase& context) {
  std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  if (auth == nullptr || !auth->IsPeerAuthenticated()) return "";
  for (const char* property : {GRPC_PEER_SPIFFE_ID_PROPERTY_NAME, GRPC_PEER_DNS_PROPERTY_NAME}) {
    std::vector<grpc::string_ref> values = auth->FindPropertyValues(property);
    if (!values.empty()) return std::string(values.front().data(), values.front().size());
  }
  return "";
}

absl::Time CallDeadline(const grpc::ServerContextBase& context, absl::Duration default_deadline) {
  const auto deadline = context.deadline();
  const absl::Time fallback = absl::Now() + default_deadline;
  if (deadline >= std::chrono::system_clock::time_point::max() - std::chrono::hours(24 * 365)) {
    return fallback;
  }
  return absl::FromChrono(deadline);
}

absl::StatusOr<std::unique_ptr<Authorizer>> Authorizer::Create(AuthorizerOptions options) {
  std::shared_ptr<const AuthzPolicy> policy;
  PolicyFileVersion version;
  if (!options.policy_path.empty()) {
    version = PolicyFileVersion::Of(options.policy_path);
    absl::StatusOr<AuthzPolicy> loaded =
        AuthzPolicy::Load(options.policy_path, ObserverServiceMethods());
    if (!loaded.ok()) return loaded.status();
    policy = std::make_shared<const AuthzPolicy>(*std::move(loaded));
  } else if (!options.identity_from_metadata) {
    return absl::InvalidArgumentError("a policy is required when callers are authenticated");
  }
  return std::unique_ptr<Authorizer>(
      new Authorizer(std::move(options), std::move(policy), version));
}

Authorizer::Authorizer(AuthorizerOptions options, std::shared_ptr<const AuthzPolicy> policy,
                       PolicyFileVersion policy_version)
    : options_(std::move(options)),
      known_methods_(ObserverServiceMethods()),
      streaming_methods_(ObserverServiceMethods(/*streaming_only=*/true)),
      limiter_(options_.rate_limit, options_.rate_limit_burst),
      in_flight_(options_.max_in_flight, options_.max_in_flight_per_caller),
      policy_(std::move(policy)),
      loaded_version_(policy_version),
      next_policy_check_(absl::Now() + kPolicyCheckInterval) {
  if (options_.metrics != nullptr) {
    denied_ = &prometheus::BuildCounter()
                   .Name("grpc_server_denied_total")
                   .Help(
                       "Calls refused before the handler ran, by why: policy (the caller may "
                       "not call the method), rate_limit (the caller's rate limit) or overload "
                       "(--max-in-flight calls in progress)")
                   .Register(*options_.metrics);
  }
}

std::shared_ptr<const AuthzPolicy> Authorizer::CurrentPolicy() {
  PolicyFileVersion version;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (policy_ == nullptr) return nullptr;
    const absl::Time now = absl::Now();
    if (now < next_policy_check_ || reloading_) return policy_;
    next_policy_check_ = now + kPolicyCheckInterval;
    version = PolicyFileVersion::Of(options_.policy_path);
    if (version == loaded_version_ || version == rejected_version_) return policy_;
    reloading_ = true;  // One caller reads the file; the others go on with the old policy.
  }
  absl::StatusOr<AuthzPolicy> loaded = AuthzPolicy::Load(options_.policy_path, known_methods_);
  std::lock_guard<std::mutex> lock(mu_);
  reloading_ = false;
  if (!loaded.ok()) {
    // Logged once per version of the file; a later, valid version is still picked up.
    rejected_version_ = version;
    LogError("the changed policy is not valid; the previous one stays in force",
             {{"error", loaded.status().message()}});
    return policy_;
  }
  loaded_version_ = version;
  policy_ = std::make_shared<const AuthzPolicy>(*std::move(loaded));
  LogInfo("policy reloaded", {{"policy", policy_->name()}});
  return policy_;
}

void Authorizer::CountDenied(absl::string_view full_method, absl::string_view why) {
  if (denied_ == nullptr) return;
  auto [service, method] = SplitMethod(full_method);
  denied_->Add({{"grpc_service", service}, {"grpc_method", method}, {"reason", std::string(why)}})
      .Increment();
}

absl::StatusOr<Caller> Authorizer::Authorize(const grpc::ServerContextBase& context,
                                             absl::string_view full_method) {
  Caller caller;
  caller.identity =
      options_.identity_from_metadata ? MetadataActor(context) : PeerIdentity(context);
  // The rate limit comes first, so that a caller the policy refuses cannot flood the log of
  // denied calls either.
  const absl::Duration wait = limiter_.Acquire(caller.identity);
  if (wait > absl::ZeroDuration()) {
    CountDenied(full_method, "rate_limit");
    LogDebug("call throttled", {{"method", full_method}, {"identity", caller.identity}});
    return WithRetryDelay(
        MakeError(absl::StatusCode::kResourceExhausted, reason::kRateLimited,
                  absl::StrCat("too many calls from '", caller.identity,
                               "' (--rate-limit): retry in ", absl::FormatDuration(wait))),
        wait);
  }
  std::shared_ptr<const AuthzPolicy> policy = CurrentPolicy();
  if (policy == nullptr) {
    caller.every_role = true;
  } else {
    AuthzDecision decision = policy->Evaluate(caller.identity, full_method);
    if (!decision.allowed) {
      CountDenied(full_method, "policy");
      LogWarning("call denied",
                 {{"method", full_method},
                  {"identity", caller.identity},
                  {"rule", decision.rule.empty() ? "(no rule allows it)" : decision.rule},
                  {"peer", context.peer()}});
      return MakeError(
          absl::StatusCode::kPermissionDenied, reason::kPermissionDenied,
          absl::StrCat("'", caller.identity.empty() ? "(no identity)" : caller.identity,
                       "' may not call ", full_method));
    }
    caller.roles = std::move(decision.roles);
    caller.sending_body = std::move(decision.sending_body);
  }
  if (std::find(streaming_methods_.begin(), streaming_methods_.end(), full_method) ==
      streaming_methods_.end()) {
    InFlightLimiter::Refusal refusal;
    caller.in_flight = in_flight_.TryAcquire(caller.identity, &refusal);
    if (refusal != InFlightLimiter::Refusal::kNone) {
      CountDenied(full_method, "overload");
      const std::string limit =
          refusal == InFlightLimiter::Refusal::kTotal
              ? absl::StrCat("the server is at its limit of ", options_.max_in_flight,
                             " calls in progress (--max-in-flight)")
              : absl::StrCat("'", caller.identity, "' has ", options_.max_in_flight_per_caller,
                             " calls in progress already (--max-in-flight-per-caller)");
      return WithRetryDelay(
          MakeError(absl::StatusCode::kResourceExhausted, reason::kOverloaded,
                    absl::StrCat(limit, ": retry in ", absl::FormatDuration(kOverloadRetryDelay))),
          kOverloadRetryDelay);
    }
  }
  return caller;
}

}  // namespace observer
