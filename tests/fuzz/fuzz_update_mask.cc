// Field masks: UpdateElection, UpdateOrganisation and UpdateObserver of the real Registry over
// the seeded store (seeded_registry.h), with update masks built from the input.
//
// Up to 100 accepted updates pile up between two resets of the seeded state, so a crash that
// depends on earlier runs may need them to reproduce (the properties are checked against the
// state each run finds).
//
// Input (FuzzedDataProvider): a byte picking the resource; a byte picking the record (a seeded
// one, or the name in the patch); up to 8 mask paths, each a known path (updatable or not) or
// fuzzed text; whether to send the record's current etag; then the patch itself, the rest of
// the input as a serialized Election, Organisation or Observer.
//
// Besides "no crash, no sanitizer report", every run checks:
// - a refused update changes nothing; an error is a client error with an ErrorInfo reason;
// - an accepted update changes exactly the fields its mask names: every other field of the
//   record (apart from etag, revision, update_time and update_actor) is as before;
// - the record it returns is the one stored and passes the registry's validation unchanged.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/country_codes.h"
#include "common/errors.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/stubs/logging.h"
#include "google/protobuf/util/message_differencer.h"
#include "registry-service/src/domain/rules.h"
#include "tests/fuzz/seeded_registry.h"

namespace observer::fuzz {
namespace {

// The codes a request may earn; anything else (INTERNAL, UNKNOWN, DATA_LOSS...) is a bug.
constexpr absl::StatusCode kRequestErrors[] = {
    absl::StatusCode::kInvalidArgument, absl::StatusCode::kNotFound,
    absl::StatusCode::kAlreadyExists, absl::StatusCode::kFailedPrecondition,
    absl::StatusCode::kAborted};

using google::protobuf::util::MessageDifferencer;
using registry::Registry;

// Paths the fuzzer may pick by index: the updatable ones of each resource, sub-paths, output
// fields and names that exist nowhere.
const std::vector<std::string>& KnownPaths() {
  static const auto* const paths = new std::vector<std::string>{
      // Election.
      "display_name", "kind", "accreditation_opens_time", "accreditation_deadline", "state",
      "host_country", "voting_day", "time_zone",
      // Organisation.
      "names", "names.en", "names.ru", "names.kk", "aliases", "parent", "aliases.names",
      // Observer.
      "given_names", "family_name", "latin_given_names", "latin_family_name", "citizenship",
      "gender", "birth_date", "id_document", "contact", "sending_body", "category",
      "submission_reference", "tags", "test", "id_document.number", "sending_body.state",
      "contact.email", "received_time", "status", "badge_number", "decision_time",
      // Any resource.
      "name", "etag", "revision", "create_time", "update_time", "update_actor", "*", "",
      "display_name.", ".kind", "tags[0]"};
  return *paths;
}

// Clears the field a dotted path names ("names.en"), if it resolves and is set.
void ClearPath(google::protobuf::Message& message, const std::string& path) {
  google::protobuf::Message* m = &message;
  size_t begin = 0;
  for (;;) {
    const size_t dot = path.find('.', begin);
    const std::string part = path.substr(begin, dot == std::string::npos ? dot : dot - begin);
    const auto* field = m->GetDescriptor()->FindFieldByName(part);
    if (field == nullptr) return;
    const auto* reflection = m->GetReflection();
    if (dot == std::string::npos) {
      reflection->ClearField(m, field);
      return;
    }
    if (field->is_repeated() ||
        field->cpp_type() != google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE ||
        !reflection->HasField(*m, field)) {
      return;
    }
    m = reflection->MutableMessage(m, field);
    begin = dot + 1;
  }
}

// What an update must leave as it was: `record` without the fields its mask names and the
// output fields that every update changes.
template <typename Message>
Message Untouched(Message record, const google::protobuf::FieldMask& mask) {
  for (const char* output : {"etag", "revision", "update_time", "update_actor"}) {
    ClearPath(record, output);
  }
  for (const std::string& path : mask.paths()) ClearPath(record, path);
  return record;
}

// `message` with only the top-level field `name` kept (and no unknown fields: they are in no
// mask).
template <typename Message>
Message OnlyField(const Message& message, const std::string& name) {
  Message out = message;
  out.DiscardUnknownFields();
  std::vector<const google::protobuf::FieldDescriptor*> present;
  out.GetReflection()->ListFields(out, &present);
  for (const auto* field : present) {
    if (field->name() != name) out.GetReflection()->ClearField(&out, field);
  }
  return out;
}

template <typename Message>
void CheckSame(const Message& a, const Message& b, absl::string_view what) {
  if (!MessageDifferencer::Equals(a, b)) {
    Fail(absl::StrCat(what, ":\n", a.DebugString(), "---\n", b.DebugString()));
  }
}

// The fields of an accepted update: those outside the mask as before, those in it (top-level
// paths) as in the patch, apart from what validation fills in or normalises (`normalised`).
template <typename Message, typename Normalised>
void CheckUpdate(const Message& before, const Message& patch, const Message& after,
                 const google::protobuf::FieldMask& mask, Normalised normalised) {
  if (!MessageDifferencer::Equals(Untouched(before, mask), Untouched(after, mask))) {
    Fail(absl::StrCat("an update changed fields outside its mask [",
                      absl::StrJoin(mask.paths(), ", "), "]:\nbefore:\n", before.DebugString(),
                      "after:\n", after.DebugString()));
  }
  for (const std::string& path : mask.paths()) {
    if (path.find('.') != std::string::npos || normalised(path)) continue;
    CheckSame(OnlyField(patch, path), OnlyField(after, path),
              absl::StrCat("'", path, "' is in the mask but not as in the patch"));
  }
}

// Runs one update of the record `name`. `get` reads a record by name, `record` picks it out of
// the response, `normalised` tells the masked paths whose value validation may change.
template <typename Request, typename Response, typename Message, typename Get, typename Record,
          typename Normalised>
void RunUpdate(void (Registry::*method)(const registry::RequestContext&, const Request&,
                                        registry::Callback<Response>),
               const Request& request, const Message& patch,
               const google::protobuf::FieldMask& mask, Get get, Record record,
               Normalised normalised) {
  SeededRegistry& r = SeededRegistry::Get();
  const absl::StatusOr<Message> before = get(patch.name());
  const int64_t revision_before = r.HeadRevision();
  absl::StatusOr<Response> answer = r.Write(method, request);
  const int64_t revision_after = r.HeadRevision();
  Note(absl::StrCat(patch.name(), " [", absl::StrJoin(mask.paths(), ", "),
                    "]: ", answer.ok() ? "OK" : Describe(answer.status())));
  if (!answer.ok()) {
    CheckError(answer.status(), kRequestErrors);
    FUZZ_CHECK(revision_after == revision_before,
               absl::StrCat("a refused update changed the store: ", Describe(answer.status())));
  } else {
    FUZZ_CHECK(revision_after == revision_before + 1, "an update is one revision");
    FUZZ_CHECK(answer->revision() == revision_after, "the response names the new revision");
    FUZZ_CHECK(before.ok(), "an accepted update of a record that cannot be read");
    const absl::StatusOr<Message> stored = get(patch.name());
    FUZZ_CHECK(stored.ok(), Describe(stored.status()));
    CheckSame(*stored, record(*answer), "the response is not the stored record");
    CheckUpdate(*before, patch, *stored, mask, normalised);
    // A stored request_id would replay its (then stale) response in a later run.
    if (!request.request_id().empty()) return r.Reset();
  }
  // Most runs are accepted updates; a reset after each would be most of the time spent. The
  // properties hold whatever earlier updates did, and an update never renames or removes.
  r.ResetIfChanged(/*allowed_changes=*/100);
}

void Run(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  SeededRegistry& r = SeededRegistry::Get();
  const Seed& seed = r.seed();
  const int resource = in.ConsumeIntegralInRange<int>(0, 2);
  const uint8_t which = in.ConsumeIntegral<uint8_t>();
  google::protobuf::FieldMask mask;
  const int paths = in.ConsumeIntegralInRange<int>(0, 8);
  for (int i = 0; i < paths; ++i) {
    if (in.ConsumeBool()) {
      const auto& known = KnownPaths();
      mask.add_paths(known[in.ConsumeIntegralInRange<size_t>(0, known.size() - 1)]);
    } else {
      mask.add_paths(in.ConsumeRandomLengthString(40));
    }
  }
  const uint8_t etag = in.ConsumeIntegral<uint8_t>() % 3;  // As in the patch, current, none.
  const std::string request_id = in.ConsumeBool() ? in.ConsumeRandomLengthString(40) : "";
  const std::string patch_bytes = in.ConsumeRemainingBytesAsString();

  switch (resource) {
    case 0: {
      v1::UpdateElectionRequest req;
      v1::Election* patch = req.mutable_election();
      if (!patch->ParseFromString(patch_bytes)) return;
      if (which < 2) {
        patch->set_name(std::string(which == 0 ? Seed::kElection : Seed::kOtherElection));
      }
      auto get = [&r](const std::string& name) -> absl::StatusOr<v1::Election> {
        v1::GetElectionRequest get;
        get.set_name(name);
        auto found = r.registry().GetElection(get);
        if (!found.ok()) return found.status();
        return found->election();
      };
      if (etag == 1) {
        auto current = get(patch->name());
        patch->set_etag(current.ok() ? current->etag() : "");
      } else if (etag == 2) {
        patch->clear_etag();
      }
      *req.mutable_update_mask() = mask;
      req.set_request_id(request_id);
      if (!TransportDelivers(req)) return;
      RunUpdate(
          &Registry::UpdateElection, req, *patch, mask, get,
          [](const v1::UpdateElectionResponse& response) { return response.election(); },
          [patch](const std::string& path) {
            return (path == "accreditation_deadline" && !patch->has_accreditation_deadline()) ||
                   (path == "state" && patch->state() == v1::ELECTION_STATE_UNSPECIFIED);
          });
      return;
    }
    case 1: {
      v1::UpdateOrganisationRequest req;
      v1::Organisation* patch = req.mutable_organisation();
      if (!patch->ParseFromString(patch_bytes)) return;
      if (which < seed.organisations.size()) patch->set_name(seed.organisations[which]);
      auto get = [&r](const std::string& name) -> absl::StatusOr<v1::Organisation> {
        v1::GetOrganisationRequest get;
        get.set_name(name);
        auto found = r.registry().GetOrganisation(get);
        if (!found.ok()) return found.status();
        return found->organisation();
      };
      if (etag == 1) {
        auto current = get(patch->name());
        patch->set_etag(current.ok() ? current->etag() : "");
      } else if (etag == 2) {
        patch->clear_etag();
      }
      *req.mutable_update_mask() = mask;
      req.set_request_id(request_id);
      if (!TransportDelivers(req)) return;
      RunUpdate(
          &Registry::UpdateOrganisation, req, *patch, mask, get,
          [](const v1::UpdateOrganisationResponse& response) { return response.organisation(); },
          [](const std::string&) { return false; });
      return;
    }
    default: {
      v1::UpdateObserverRequest req;
      v1::Observer* patch = req.mutable_observer();
      if (!patch->ParseFromString(patch_bytes)) return;
      const size_t seeded = seed.observers.size() + seed.other_observers.size();
      if (which < seeded) {
        patch->set_name(which < seed.observers.size()
                            ? seed.observers[which]
                            : seed.other_observers[which - seed.observers.size()]);
      } else {
        patch->set_name(r.ResolveObserverName(patch->name()));
      }
      auto get = [&r](const std::string& name) -> absl::StatusOr<v1::Observer> {
        v1::GetObserverRequest get;
        get.set_name(name);
        auto found = r.registry().GetObserver({}, get);
        if (!found.ok()) return found.status();
        return found->observer();
      };
      if (etag == 1) {
        patch->set_etag(r.CurrentObserverEtag(patch->name()));
      } else if (etag == 2) {
        patch->clear_etag();
      }
      *req.mutable_update_mask() = mask;
      req.set_request_id(request_id);
      if (!TransportDelivers(req)) return;
      RunUpdate(
          &Registry::UpdateObserver, req, *patch, mask, get,
          [](const v1::UpdateObserverResponse& response) { return response.observer(); },
          [](const std::string& path) { return path == "tags"; });
      return;
    }
  }
}

}  // namespace
}  // namespace observer::fuzz

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  google::protobuf::SetLogHandler(nullptr);
  observer::fuzz::SeededRegistry::Get();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  observer::fuzz::Run(data, size);
  return 0;
}
