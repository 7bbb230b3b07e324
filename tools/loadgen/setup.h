// What the benchmarks and the population tool set up in a registry before they run.
#ifndef OBSERVER_TOOLS_LOADGEN_SETUP_H_
#define OBSERVER_TOOLS_LOADGEN_SETUP_H_

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "observer/registry/v1/registry_service.grpc.pb.h"

namespace observer::loadgen {

// The caller the load tools name themselves as (x-observer-actor, for services run with
// --insecure-loopback): the changes they make are recorded as this actor's.
inline constexpr char kActor[] = "loadgen";

// Sets `context`'s deadline to now + `timeout` and names the caller (kActor).
void PrepareContext(grpc::ClientContext& context, absl::Duration timeout);

// Creates `elections/{id}` (a parliamentary election in KZ, voting day 16 Jun 2030, so that
// accreditation is open) unless it exists.
absl::Status EnsureElection(registry::v1::RegistryService::Stub& stub, const std::string& id);

// Creates `organisations/{code}` with an English name unless it exists.
absl::Status EnsureOrganisation(registry::v1::RegistryService::Stub& stub, const std::string& code,
                                const std::string& name);

// A Latin name unique to n ("Ba", "Bb", ...): transliterated names have no digits.
std::string LatinName(int64_t n);

}  // namespace observer::loadgen

#endif  // OBSERVER_TOOLS_LOADGEN_SETUP_H_
