// Request validation: a registry request parsed from the input runs through the real Registry
// over the seeded store (seeded_registry.h). The first byte picks the method (kMethods below),
// and the caller (unrestricted, or a submitter confined to one sending body:
// SeededRegistry::caller), the rest is the serialized request; `elections/kz-2021/observers/N`
// names the N-th seeded observer.
//
// Besides "no crash, no sanitizer report", every run checks:
// - a refused request changes nothing (the head revision stays);
// - an error is one the API documents: a client error code with an ErrorInfo reason, never
//   INTERNAL or UNKNOWN;
// - a write's response names the revision it produced, and the record it returns is the one
//   stored, which passes the registry's own validation unchanged;
// - a confined caller is answered only with records of its sending body, hears of no other
//   record it did not name, and is answered about another body's record exactly as about a
//   missing one (existence does not leak);
// - the validators that need no store (ValidateElection, ValidateOrganisation,
//   ValidateObserver) are idempotent: what they accept and normalise, they accept again as is.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/country_codes.h"
#include "common/errors.h"
#include "common/resource_names.h"
#include "google/protobuf/stubs/logging.h"
#include "google/protobuf/util/message_differencer.h"
#include "registry-service/src/domain/rules.h"
#include "tests/fuzz/seeded_registry.h"

namespace observer::fuzz {
namespace {

// The codes a request may earn; anything else (INTERNAL, UNKNOWN, DATA_LOSS...) is a bug.
constexpr absl::StatusCode kRequestErrors[] = {
    absl::StatusCode::kInvalidArgument, absl::StatusCode::kNotFound,
    absl::StatusCode::kAlreadyExists,   absl::StatusCode::kFailedPrecondition,
    absl::StatusCode::kAborted,         absl::StatusCode::kOutOfRange,
    absl::StatusCode::kPermissionDenied};

using google::protobuf::util::MessageDifferencer;
using registry::Registry;

enum Method : uint8_t {
  kCreateElection,
  kCreateOrganisation,
  kCreateObserver,
  kBatchCreateObservers,
  kAccreditObserver,
  kRejectObserver,
  kSuspendObserver,
  kReinstateObserver,
  kWithdrawObserver,
  kDeleteObserver,
  kGetElection,
  kGetOrganisation,
  kGetObserver,
  kMethods,
};

template <typename Message>
void CheckSame(const Message& a, const Message& b, absl::string_view what) {
  if (!MessageDifferencer::Equals(a, b)) {
    Fail(absl::StrCat(what, ":\n", a.DebugString(), "---\n", b.DebugString()));
  }
}

// A validator that accepts a record accepts its normalised form unchanged.
template <typename Message, typename Validate>
void CheckIdempotent(Message record, Validate validate, absl::string_view what) {
  Violations first;
  validate(record, first);
  if (!first.empty()) return;
  Message again = record;
  Violations second;
  validate(again, second);
  FUZZ_CHECK(second.empty(),
             absl::StrCat(what, " refuses what it accepted: ", second.ToStatus().ToString()));
  CheckSame(record, again, absl::StrCat(what, " changes what it already normalised"));
}

void CheckValidator(const v1::Election& election) {
  CheckIdempotent(
      election,
      [](v1::Election& e, Violations& v) {
        registry::ValidateElection(CountryCodes::Default(), e, v);
      },
      "ValidateElection");
}

void CheckValidator(const v1::Organisation& organisation) {
  CheckIdempotent(organisation, registry::ValidateOrganisation, "ValidateOrganisation");
}

void CheckValidator(const v1::Observer& observer) {
  CheckIdempotent(
      observer,
      [](v1::Observer& o, Violations& v) {
        registry::ValidateObserver(CountryCodes::Default(), o, v);
      },
      "ValidateObserver");
}

// The stored records pass the registry's own validation unchanged.
void CheckStored(const v1::Observer& observer) {
  SeededRegistry& r = SeededRegistry::Get();
  v1::GetObserverRequest get;
  get.set_name(observer.name());
  auto stored = r.registry().GetObserver({}, get);
  FUZZ_CHECK(stored.ok(), Describe(stored.status()));
  CheckSame(observer, stored->observer(), "the response is not the stored observer");
  v1::Observer copy = stored->observer();
  Violations v;
  registry::ValidateObserver(CountryCodes::Default(), copy, v);
  FUZZ_CHECK(v.empty(),
             absl::StrCat("a stored observer fails validation: ", v.ToStatus().ToString()));
  CheckSame(stored->observer(), copy, "validation changes a stored observer");
}

void CheckStored(const v1::Election& election) {
  v1::Election copy = election;
  Violations v;
  registry::ValidateElection(CountryCodes::Default(), copy, v);
  FUZZ_CHECK(v.empty(),
             absl::StrCat("a stored election fails validation: ", v.ToStatus().ToString()));
  CheckSame(election, copy, "validation changes a stored election");
}

void CheckStored(const v1::Organisation& organisation) {
  v1::Organisation copy = organisation;
  Violations v;
  registry::ValidateOrganisation(copy, v);
  FUZZ_CHECK(v.empty(),
             absl::StrCat("a stored organisation fails validation: ", v.ToStatus().ToString()));
  CheckSame(organisation, copy, "validation changes a stored organisation");
}

template <typename Request>
bool Parse(const uint8_t* data, size_t size, Request& request) {
  return request.ParseFromArray(data, static_cast<int>(size));
}

// The caller of this run (SeededRegistry::caller).
int caller = 0;

const registry::RequestContext& Caller() { return SeededRegistry::Get().caller(caller); }

// A confined caller hears of no record outside its scope that it did not name itself, and any
// observer it is answered with is in its scope.
template <typename Request, typename Response>
void CheckScope(const Request& request, const absl::StatusOr<Response>& answer) {
  if (caller == 0) return;
  const std::string asked = request.DebugString();
  const std::string told = answer.ok() ? answer->DebugString() : answer.status().ToString();
  for (const std::string& hidden : SeededRegistry::Get().HiddenFrom(caller)) {
    if (asked.find(hidden) != std::string::npos) continue;
    FUZZ_CHECK(told.find(hidden) == std::string::npos,
               absl::StrCat(Caller().sending_body, " is told of ", hidden, ": ", told));
  }
  if (!answer.ok()) return;
  if constexpr (requires { answer->observer(); }) {
    if (answer->has_observer()) {
      FUZZ_CHECK(SeededRegistry::Visible(Caller(), answer->observer()),
                 absl::StrCat(Caller().sending_body, " is answered with ",
                              answer->observer().DebugString()));
    }
  }
  if constexpr (requires { answer->results(); }) {
    for (const auto& result : answer->results()) {
      FUZZ_CHECK(!result.has_observer() || SeededRegistry::Visible(Caller(), result.observer()),
                 absl::StrCat(Caller().sending_body, " is answered with ",
                              result.observer().DebugString()));
    }
  }
}

// A record outside a confined caller's scope is answered as a missing one: the same request
// naming an observer that does not exist gets the same error.
template <typename Request, typename Call>
void CheckHiddenLikeMissing(const Request& request, const absl::Status& status, Call call) {
  if (caller == 0) return;
  const std::vector<std::string>& hidden = SeededRegistry::Get().HiddenFrom(caller);
  if (std::find(hidden.begin(), hidden.end(), request.name()) == hidden.end()) return;
  const auto ids = ParseObserverName(request.name(), "name");
  FUZZ_CHECK(ids.ok(), ids.status().ToString());
  Request twin = request;
  twin.set_name(ObserverName(ids->first, "0000000000000000"));
  const absl::Status missing = call(twin);
  const std::string told = absl::StrReplaceAll(status.message(), {{request.name(), twin.name()}});
  FUZZ_CHECK(status.code() == missing.code() &&
                 GetErrorDetails(status).reason == GetErrorDetails(missing).reason &&
                 told == missing.message(),
             absl::StrCat(Caller().sending_body, " can tell ", request.name(), " exists: ",
                          Describe(status), " but for a missing one ", Describe(missing)));
}

// Runs a write and checks the properties shared by every write; `check` sees a success.
template <typename Request, typename Response, typename Check>
void RunWrite(void (Registry::*method)(const registry::RequestContext&, const Request&,
                                       registry::Callback<Response>),
              const Request& request, Check check) {
  SeededRegistry& r = SeededRegistry::Get();
  const int64_t before = r.HeadRevision();
  absl::StatusOr<Response> answer = r.Write(Caller(), method, request);
  const int64_t after = r.HeadRevision();
  Note(absl::StrCat(
      Request::descriptor()->name(), ": ",
      answer.ok() ? absl::StrCat("OK at revision ", after) : Describe(answer.status())));
  CheckScope(request, answer);
  if constexpr (requires { request.name(); }) {
    CheckHiddenLikeMissing(request, answer.status(), [&](const Request& twin) {
      return r.Write(Caller(), method, twin).status();
    });
  }
  if (!answer.ok()) {
    CheckError(answer.status(), kRequestErrors);
    FUZZ_CHECK(after == before,
               absl::StrCat("a refused request changed the store (revision ", before, " -> ", after,
                            "): ", Describe(answer.status())));
  } else {
    FUZZ_CHECK(answer->revision() == after,
               absl::StrCat("response revision ", answer->revision(), ", store at ", after));
    check(*answer, before, after);
    // A request_id is stored even when nothing else is; a later run must not replay it.
    if (!request.request_id().empty()) return r.Reset();
  }
  r.ResetIfChanged();
}

template <typename Request, typename Response>
void RunStatusChange(void (Registry::*method)(const registry::RequestContext&, const Request&,
                                              registry::Callback<Response>),
                     const uint8_t* data, size_t size) {
  Request request;
  if (!Parse(data, size, request)) return;
  request.set_name(SeededRegistry::Get().ResolveObserverName(request.name()));
  RunWrite(method, request, [](const Response& response, int64_t before, int64_t after) {
    FUZZ_CHECK(after == before + 1, "a status change is one revision");
    CheckStored(response.observer());
  });
}

template <typename Request, typename Response>
void CheckRead(const Request& request, const absl::StatusOr<Response>& answer) {
  Note(absl::StrCat(Response::descriptor()->name(), ": ",
                    answer.ok() ? "OK" : Describe(answer.status())));
  CheckScope(request, answer);
  if (!answer.ok()) CheckError(answer.status(), kRequestErrors);
}

void Run(const uint8_t* data, size_t size) {
  if (size == 0) return;
  const Method method = static_cast<Method>(data[0] % kMethods);
  caller = (data[0] / kMethods) % SeededRegistry::kCallers;
  ++data;
  --size;
  SeededRegistry& r = SeededRegistry::Get();
  switch (method) {
    case kCreateElection: {
      v1::CreateElectionRequest req;
      if (!Parse(data, size, req)) return;
      CheckValidator(req.election());
      RunWrite(&Registry::CreateElection, req,
               [](const v1::CreateElectionResponse& response, int64_t, int64_t) {
                 CheckStored(response.election());
               });
      return;
    }
    case kCreateOrganisation: {
      v1::CreateOrganisationRequest req;
      if (!Parse(data, size, req)) return;
      CheckValidator(req.organisation());
      RunWrite(&Registry::CreateOrganisation, req,
               [](const v1::CreateOrganisationResponse& response, int64_t, int64_t) {
                 CheckStored(response.organisation());
               });
      return;
    }
    case kCreateObserver: {
      v1::CreateObserverRequest req;
      if (!Parse(data, size, req)) return;
      CheckValidator(req.observer());
      RunWrite(&Registry::CreateObserver, req,
               [](const v1::CreateObserverResponse& response, int64_t before, int64_t after) {
                 FUZZ_CHECK(after == before + 1, "a create is one revision");
                 CheckStored(response.observer());
               });
      return;
    }
    case kBatchCreateObservers: {
      v1::BatchCreateObserversRequest req;
      if (!Parse(data, size, req)) return;
      for (const auto& row : req.requests()) CheckValidator(row.observer());
      RunWrite(
          &Registry::BatchCreateObservers, req,
          [&req](const v1::BatchCreateObserversResponse& response, int64_t before, int64_t after) {
            FUZZ_CHECK(response.results_size() == req.requests_size(), "one result per row");
            int64_t created = 0;
            for (const auto& result : response.results()) {
              if (result.status().code() != 0) {
                FUZZ_CHECK(!result.has_observer(), "a refused row returns a record");
                FUZZ_CHECK(!result.status().reason().empty(), "a row error has a reason");
                continue;
              }
              if (req.validate_only()) {
                FUZZ_CHECK(!result.has_observer(), "validate_only returns a record");
                continue;
              }
              ++created;
              CheckStored(result.observer());
            }
            if (req.validate_only()) {
              FUZZ_CHECK(after == before, "validate_only changed the store");
            } else {
              FUZZ_CHECK(after == before + created,
                         absl::StrCat(created, " rows created in ", after - before, " revisions"));
            }
          });
      return;
    }
    case kAccreditObserver:
      return RunStatusChange(&Registry::AccreditObserver, data, size);
    case kRejectObserver:
      return RunStatusChange(&Registry::RejectObserver, data, size);
    case kSuspendObserver:
      return RunStatusChange(&Registry::SuspendObserver, data, size);
    case kReinstateObserver:
      return RunStatusChange(&Registry::ReinstateObserver, data, size);
    case kWithdrawObserver:
      return RunStatusChange(&Registry::WithdrawObserver, data, size);
    case kDeleteObserver: {
      v1::DeleteObserverRequest req;
      if (!Parse(data, size, req)) return;
      req.set_name(r.ResolveObserverName(req.name()));
      RunWrite(&Registry::DeleteObserver, req,
               [&r, &req](const v1::DeleteObserverResponse&, int64_t before, int64_t after) {
                 FUZZ_CHECK(after == before + 1, "a delete is one revision");
                 v1::GetObserverRequest get;
                 get.set_name(req.name());
                 FUZZ_CHECK(r.registry().GetObserver({}, get).status().code() ==
                                absl::StatusCode::kNotFound,
                            "a deleted observer is still there");
               });
      return;
    }
    case kGetElection: {
      v1::GetElectionRequest req;
      if (!Parse(data, size, req)) return;
      CheckRead(req, r.registry().GetElection(req));
      return;
    }
    case kGetOrganisation: {
      v1::GetOrganisationRequest req;
      if (!Parse(data, size, req)) return;
      CheckRead(req, r.registry().GetOrganisation(req));
      return;
    }
    case kGetObserver: {
      v1::GetObserverRequest req;
      if (!Parse(data, size, req)) return;
      req.set_name(r.ResolveObserverName(req.name()));
      const auto answer = r.registry().GetObserver(Caller(), req);
      CheckRead(req, answer);
      CheckHiddenLikeMissing(req, answer.status(), [&](const v1::GetObserverRequest& twin) {
        return r.registry().GetObserver(Caller(), twin).status();
      });
      return;
    }
    case kMethods:
      return;
  }
}

}  // namespace
}  // namespace observer::fuzz

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Invalid UTF-8 in a string field fails the parse, as it does in gRPC; protobuf's log line
  // about it is noise here.
  google::protobuf::SetLogHandler(nullptr);
  observer::fuzz::SeededRegistry::Get();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  observer::fuzz::Run(data, size);
  return 0;
}
