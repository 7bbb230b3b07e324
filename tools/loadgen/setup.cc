#include "tools/loadgen/setup.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/grpc_status.h"

namespace observer::loadgen {
namespace {

namespace v1 = ::observer::registry::v1;

void SetDeadline(grpc::ClientContext& context) { PrepareContext(context, absl::Seconds(10)); }

// OK for a call that succeeded or found the record already there.
absl::Status CreatedOrExists(const grpc::Status& status, const std::string& what) {
  if (status.ok() || status.error_code() == grpc::StatusCode::ALREADY_EXISTS) {
    return absl::OkStatus();
  }
  absl::Status error = FromGrpcStatus(status);
  return absl::Status(error.code(), absl::StrCat("cannot create ", what, ": ", error.message()));
}

}  // namespace

void PrepareContext(grpc::ClientContext& context, absl::Duration timeout) {
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  context.AddMetadata("x-observer-actor", kActor);
}

absl::Status EnsureElection(v1::RegistryService::Stub& stub, const std::string& id) {
  grpc::ClientContext context;
  SetDeadline(context);
  v1::CreateElectionRequest request;
  request.set_election_id(id);
  v1::Election* e = request.mutable_election();
  e->set_display_name("Benchmark election");
  e->set_kind(v1::ELECTION_KIND_PARLIAMENTARY);
  e->set_host_country("KZ");
  e->mutable_voting_day()->set_year(2030);
  e->mutable_voting_day()->set_month(6);
  e->mutable_voting_day()->set_day(16);
  e->set_time_zone("Asia/Almaty");
  v1::CreateElectionResponse response;
  return CreatedOrExists(stub.CreateElection(&context, request, &response),
                         absl::StrCat("election ", id));
}

absl::Status EnsureOrganisation(v1::RegistryService::Stub& stub, const std::string& code,
                                const std::string& name) {
  grpc::ClientContext context;
  SetDeadline(context);
  v1::CreateOrganisationRequest request;
  request.set_organisation_code(code);
  request.mutable_organisation()->mutable_names()->set_en(name);
  v1::CreateOrganisationResponse response;
  return CreatedOrExists(stub.CreateOrganisation(&context, request, &response),
                         absl::StrCat("organisation ", code));
}

std::string LatinName(int64_t n) {
  std::string name = "B";
  do {
    name.push_back(static_cast<char>('a' + n % 26));
    n /= 26;
  } while (n > 0);
  return name;
}

}  // namespace observer::loadgen
