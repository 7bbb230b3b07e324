#include "registry-service/src/domain/registry.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <set>

#include "absl/random/random.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "common/digest.h"
#include "common/proto_time.h"
#include "common/status_macros.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "registry-service/src/domain/list_query.h"

namespace observer::registry {
namespace {

constexpr int kMaxBatchRows = 1000;
constexpr size_t kMaxReasonLength = 1000;

// A new observer id: 16 hex digits, the creation time in milliseconds since 1970 (44 bits, good
// until the year 2527) followed by 20 random bits. Ids sort by creation time, so new records
// and their index entries go to the end of the store's B-trees (a few pages per group commit)
// instead of to random pages; the random part keeps ids unpredictable within a millisecond.
// The caller retries on the rare clash.
std::string NewObserverId(absl::Time now) {
  thread_local absl::BitGen bitgen;
  const uint64_t millis = static_cast<uint64_t>(std::max<int64_t>(0, absl::ToUnixMillis(now)));
  const uint64_t id = (millis << 20) | absl::Uniform<uint64_t>(bitgen, 0, uint64_t{1} << 20);
  return absl::StrFormat("%016x", id);
}

// Whether `observer` is sent by `body` (`organisations/{code}` or `states/{code}`).
bool SentBy(const v1::Observer& observer, absl::string_view body) {
  const v1::SendingBody& sender = observer.sending_body();
  if (absl::ConsumePrefix(&body, "states/")) return sender.has_state() && sender.state() == body;
  if (!sender.has_organisation()) return false;
  absl::string_view code = sender.organisation();
  absl::ConsumePrefix(&code, "organisations/");
  return OrganisationName(code) == body;
}

// Whether the caller may see and change `observer` (see RequestContext::sending_body).
bool InScope(const RequestContext& ctx, const v1::Observer& observer) {
  return ctx.sending_body.empty() || SentBy(observer, ctx.sending_body);
}

absl::Status CheckSubmitterBody(const RequestContext& ctx, const v1::Observer& observer) {
  if (InScope(ctx, observer)) return absl::OkStatus();
  return MakeError(
      absl::StatusCode::kPermissionDenied, reason::kPermissionDenied,
      absl::StrCat("'", ctx.actor, "' submits observers for ", ctx.sending_body, " only"), {},
      {{"observer.sending_body", absl::StrCat("must be ", ctx.sending_body)}});
}

// Identifies a request's method and payload, without its request_id.
std::string Fingerprint(absl::string_view method, const google::protobuf::Message& request) {
  std::unique_ptr<google::protobuf::Message> copy(request.New());
  copy->CopyFrom(request);
  if (const auto* field = copy->GetDescriptor()->FindFieldByName("request_id")) {
    copy->GetReflection()->ClearField(copy.get(), field);
  }
  std::string bytes = absl::StrCat(method, "\n");
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    copy->SerializeToCodedStream(&coded);
  }
  return Sha256Hex(bytes);
}

void ValidateRequestId(absl::string_view request_id, absl::string_view field, Violations& v) {
  if (request_id.size() > 128) {
    v.Add(std::string(field), "is longer than 128 characters");
    return;
  }
  for (char c : request_id) {
    if (c < 0x21 || c > 0x7e) {
      v.Add(std::string(field), "must be printable ASCII without spaces");
      return;
    }
  }
}

absl::Status NotFound(absl::string_view what, absl::string_view name) {
  return MakeError(absl::StatusCode::kNotFound, reason::kNotFound,
                   absl::StrCat(what, " ", name, " not found"), {{"resource", std::string(name)}});
}

absl::Status CheckEtag(absl::string_view given, absl::string_view current, absl::string_view name) {
  if (given.empty() || given == current) return absl::OkStatus();
  return MakeError(absl::StatusCode::kAborted, reason::kEtagMismatch,
                   absl::StrCat(name, " was changed since it was read (etag ", given, ", current ",
                                current, "): read it again and retry"),
                   {{"current_etag", std::string(current)}});
}

absl::Status CheckMask(const google::protobuf::FieldMask& mask,
                       const std::set<std::string, std::less<>>& allowed) {
  Violations v;
  if (mask.paths_size() == 0) {
    v.Add("update_mask", "is required: name the fields to change");
  }
  for (const std::string& path : mask.paths()) {
    if (allowed.count(path) == 0) {
      v.Add("update_mask", absl::StrCat("'", path, "' cannot be updated (updatable: ",
                                        absl::StrJoin(allowed, ", "), ")"));
    }
  }
  return v.ToStatus();
}

v1::ChangeEvent MakeEvent(int64_t revision, v1::ChangeType type, const std::string& name,
                          const google::protobuf::Message* before,
                          const google::protobuf::Message* after, const RequestContext& ctx,
                          const std::string& request_id, absl::Time now) {
  v1::ChangeEvent event;
  event.set_revision(revision);
  event.set_type(type);
  event.set_name(name);
  event.set_actor(ctx.actor);
  event.set_request_id(request_id);
  *event.mutable_commit_time() = ToProto(now);
  auto fill = [&](const google::protobuf::Message* message, v1::ResourceImage* image) {
    if (const auto* e = dynamic_cast<const v1::Election*>(message)) {
      event.set_kind(v1::RESOURCE_KIND_ELECTION);
      *image->mutable_election() = *e;
    } else if (const auto* o = dynamic_cast<const v1::Organisation*>(message)) {
      event.set_kind(v1::RESOURCE_KIND_ORGANISATION);
      *image->mutable_organisation() = *o;
    } else if (const auto* ob = dynamic_cast<const v1::Observer*>(message)) {
      event.set_kind(v1::RESOURCE_KIND_OBSERVER);
      *image->mutable_observer() = *ob;
      StripPersonalData(*image->mutable_observer());
    }
  };
  if (before != nullptr) fill(before, event.mutable_before());
  if (after != nullptr) fill(after, event.mutable_after());
  return event;
}

template <typename T>
void Stamp(T& record, int64_t revision, absl::Time now, bool created) {
  record.set_revision(revision);
  record.set_etag(EtagFor(revision));
  *record.mutable_update_time() = ToProto(now);
  if (created) *record.mutable_create_time() = ToProto(now);
}

v1::BatchRowStatus RowStatus(const absl::Status& status) {
  v1::BatchRowStatus row;
  row.set_code(static_cast<int>(status.code()));
  row.set_message(std::string(status.message()));
  ErrorDetails d = GetErrorDetails(status);
  row.set_reason(d.reason);
  for (const auto& fv : d.violations) {
    auto* out = row.add_field_violations();
    out->set_field(fv.field);
    out->set_description(fv.description);
  }
  row.mutable_metadata()->insert(d.metadata.begin(), d.metadata.end());
  return row;
}

// A duplicate identity document held by a record that an earlier row of the batch created:
// the error names that row (metadata `existing_row`), and names the record only if it outlives
// the call (`records_kept`), never a record that was rolled back.
absl::Status NameBatchDuplicate(const absl::Status& status,
                                const std::map<std::string, int>& created_by_row,
                                bool records_kept) {
  ErrorDetails d = GetErrorDetails(status);
  if (d.reason != reason::kDuplicateIdDocument) return status;
  const auto existing = d.metadata.find("existing");
  if (existing == d.metadata.end()) return status;
  const auto row = created_by_row.find(existing->second);
  if (row == created_by_row.end()) return status;
  d.metadata["existing_row"] = absl::StrCat(row->second);
  std::string message(status.message());
  if (!records_kept) {
    d.metadata.erase("existing");
    message =
        absl::StrCat("requests[", row->second, "] of this batch has the same identity document");
  }
  return MakeError(status.code(), d.reason, message, d.metadata, d.violations);
}

// Returned inside the transaction of a validate_only batch to roll everything back.
absl::Status ValidateOnlyRollback() {
  return absl::AbortedError("validate_only: the batch is rolled back");
}

// Clears what a caller may not set on an observer.
void ClearObserverOutputFields(v1::Observer& o) {
  o.clear_name();
  o.clear_status();
  o.clear_badge_number();
  o.clear_decision_reference();
  o.clear_status_reason();
  o.clear_decision_time();
  o.clear_create_time();
  o.clear_update_time();
  o.clear_etag();
  o.clear_revision();
  o.clear_update_actor();
}

absl::Status ValidateReceivedTime(const v1::Observer& observer, absl::Time now,
                                  absl::string_view field) {
  if (observer.has_received_time() && FromProto(observer.received_time()) > now) {
    return InvalidField(field, "is in the future");
  }
  return absl::OkStatus();
}

// In a method answering through `done`: answer with the error and return.
#define DONE_IF_ERROR(expr)                             \
  do {                                                  \
    if (absl::Status status_ = (expr); !status_.ok()) { \
      return done(status_);                             \
    }                                                   \
  } while (false)
#define DONE_ASSIGN_OR_RETURN_IMPL(lhs, tmp, expr) \
  auto tmp = (expr);                               \
  if (!tmp.ok()) return done(tmp.status());        \
  lhs = std::move(*tmp)
#define DONE_ASSIGN_OR_RETURN(lhs, expr) \
  DONE_ASSIGN_OR_RETURN_IMPL(lhs, OBSERVER_STATUS_CONCAT(done_or_, __LINE__), expr)

}  // namespace

struct Registry::WriteInfo {
  const RequestContext& ctx;
  const std::string& request_id;
  absl::Time now;
};

struct Registry::TransitionRequest {
  Transition transition;
  std::string name;
  std::string etag;
  const google::protobuf::Timestamp* decision_time;  // Null: now.
  std::string decision_reference;
  std::string reason;
  std::string badge_number;
  std::string request_id;
};

template <typename Request>
Registry::TransitionRequest Registry::MakeTransition(Transition transition, const Request& req) {
  TransitionRequest t{transition,
                      req.name(),
                      req.etag(),
                      req.has_decision_time() ? &req.decision_time() : nullptr,
                      req.decision_reference(),
                      "",
                      "",
                      req.request_id()};
  if constexpr (requires { req.reason(); }) t.reason = req.reason();
  if constexpr (requires { req.badge_number(); }) t.badge_number = req.badge_number();
  return t;
}

Registry::Registry(Store& store, const CountryCodes& countries, RegistryOptions options)
    : store_(store), countries_(countries), options_(std::move(options)) {}

template <typename Response>
void Registry::Mutate(const RequestContext& ctx, absl::string_view method,
                      const google::protobuf::Message& request, const std::string& request_id,
                      std::function<absl::StatusOr<Response>(WriteTxn&, const WriteInfo&)> body,
                      Callback<Response> done) {
  // A confined caller's requests are fingerprinted with its sending body, so that it cannot
  // replay the stored answer of someone else's request by repeating its request_id.
  std::string fingerprint = request_id.empty() ? ""
                            : ctx.sending_body.empty()
                                ? Fingerprint(method, request)
                                : Fingerprint(absl::StrCat(method, "|", ctx.sending_body), request);
  auto response = std::make_shared<Response>();
  store_.WriteAsync(
      [this, ctx, request_id, fingerprint = std::move(fingerprint), body = std::move(body),
       response](WriteTxn& txn) -> absl::Status {
        // Queued behind other writes, the call may have ended meanwhile (e.g. cancelled at the
        // server's shutdown deadline): its caller was told it failed, so nothing is applied.
        if (ctx.cancelled != nullptr && ctx.cancelled->load()) {
          return absl::CancelledError("the call ended before its write began; nothing was written");
        }
        if (absl::Now() > ctx.deadline) {
          return absl::DeadlineExceededError(
              "the call's deadline passed before its write began; nothing was written");
        }
        const WriteInfo info{ctx, request_id, options_.clock()};
        if (!request_id.empty()) {
          ASSIGN_OR_RETURN(std::optional<StoredRequest> stored, txn.GetRequest(request_id));
          if (stored.has_value()) {
            if (stored->fingerprint != fingerprint) {
              return MakeError(absl::StatusCode::kInvalidArgument, reason::kRequestIdReused,
                               absl::StrCat("request_id '", request_id,
                                            "' was already used for a different request"),
                               {}, {{"request_id", "was already used for a different request"}});
            }
            if (!response->ParseFromString(stored->response)) {
              return MakeError(absl::StatusCode::kDataLoss, reason::kStoreError,
                               "stored response is corrupt");
            }
            if (options_.on_replay) options_.on_replay();
            return absl::OkStatus();
          }
        }
        ASSIGN_OR_RETURN(*response, body(txn, info));
        if (!request_id.empty()) {
          RETURN_IF_ERROR(txn.PutRequest(StoredRequest{
              request_id, fingerprint, response->SerializeAsString(), txn.CurrentRevision()}));
        }
        return absl::OkStatus();
      },
      [this, response, done = std::move(done)](absl::Status status) {
        if (!status.ok()) return done(status);
        MaybeCompact(response->revision());
        done(std::move(*response));
      });
}

void Registry::MaybeCompact(int64_t revision) {
  const int64_t retention = options_.changelog_retention;
  const int64_t every = std::max<int64_t>(1, retention / 10);
  int64_t last = last_compaction_check_.load();
  if (revision - last < every || revision <= retention) return;
  if (!last_compaction_check_.compare_exchange_strong(last, revision)) return;
  // Best effort: a failed compaction only keeps more history; a later write retries.
  store_.CompactAsync(revision - retention + 1, [](absl::Status) {});
}

// --- Elections ------------------------------------------------------------------------------

void Registry::CreateElection(const RequestContext& ctx, const v1::CreateElectionRequest& req,
                              Callback<v1::CreateElectionResponse> done) {
  Violations v;
  if (!IsValidElectionId(req.election_id())) {
    v.Add("election_id",
          "must be 1 to 63 lower-case letters, digits and '-', starting with a "
          "letter (e.g. kz-2021-majilis)");
  }
  ValidateRequestId(req.request_id(), "request_id", v);
  if (!req.election().name().empty()) {
    v.Add("election.name", "must be empty on create: the name comes from election_id");
  }
  v1::Election election = req.election();
  election.clear_create_time();
  election.clear_update_time();
  election.clear_etag();
  election.clear_revision();
  election.set_name(ElectionName(req.election_id()));
  ValidateElection(countries_, election, v);
  DONE_IF_ERROR(v.ToStatus());
  Mutate<v1::CreateElectionResponse>(
      ctx, "CreateElection", req, req.request_id(),
      [=, this, &req](WriteTxn& txn,
                      const WriteInfo& info) -> absl::StatusOr<v1::CreateElectionResponse> {
        ASSIGN_OR_RETURN(auto existing, txn.GetElection(req.election_id()));
        if (existing.has_value()) {
          return MakeError(absl::StatusCode::kAlreadyExists, reason::kAlreadyExists,
                           absl::StrCat("election ", election.name(), " already exists"));
        }
        v1::CreateElectionResponse out;
        *out.mutable_election() = election;
        const int64_t revision = txn.NextRevision();
        Stamp(*out.mutable_election(), revision, info.now, /*created=*/true);
        RETURN_IF_ERROR(txn.PutElection(out.election()));
        RETURN_IF_ERROR(
            txn.AppendChange(MakeEvent(revision, v1::CHANGE_TYPE_CREATED, election.name(), nullptr,
                                       &out.election(), info.ctx, info.request_id, info.now)));
        out.set_revision(revision);
        return out;
      },
      std::move(done));
}

absl::StatusOr<v1::GetElectionResponse> Registry::GetElection(const v1::GetElectionRequest& req) {
  ASSIGN_OR_RETURN(const std::string id, ParseElectionName(req.name(), "name"));
  ASSIGN_OR_RETURN(auto found, store_.GetElection(id));
  if (!found.value) return NotFound("election", req.name());
  v1::GetElectionResponse out;
  *out.mutable_election() = std::move(*found.value);
  out.set_revision(found.revision);
  return out;
}

absl::StatusOr<v1::ListElectionsResponse> Registry::ListElections(
    const v1::ListElectionsRequest& req) {
  ASSIGN_OR_RETURN(const int size, EffectivePageSize(req.page_size()));
  ASSIGN_OR_RETURN(const std::string after, DecodePageToken(req.page_token(), "elections"));
  ASSIGN_OR_RETURN(auto page, store_.ListElections(after, size));
  v1::ListElectionsResponse out;
  for (auto& e : page.items) *out.add_elections() = std::move(e);
  if (page.more) {
    const std::string& last = out.elections(out.elections_size() - 1).name();
    out.set_next_page_token(EncodePageToken("elections", last.substr(sizeof("elections/") - 1)));
  }
  out.set_revision(page.revision);
  return out;
}

void Registry::UpdateElection(const RequestContext& ctx, const v1::UpdateElectionRequest& req,
                              Callback<v1::UpdateElectionResponse> done) {
  DONE_ASSIGN_OR_RETURN(const std::string id,
                        ParseElectionName(req.election().name(), "election.name"));
  static const std::set<std::string, std::less<>> kUpdatable = {
      "display_name", "kind", "accreditation_opens_time", "accreditation_deadline", "state"};
  DONE_IF_ERROR(CheckMask(req.update_mask(), kUpdatable));
  {
    Violations v;
    ValidateRequestId(req.request_id(), "request_id", v);
    DONE_IF_ERROR(v.ToStatus());
  }
  Mutate<v1::UpdateElectionResponse>(
      ctx, "UpdateElection", req, req.request_id(),
      [=, this, &req](WriteTxn& txn,
                      const WriteInfo& info) -> absl::StatusOr<v1::UpdateElectionResponse> {
        ASSIGN_OR_RETURN(auto current, txn.GetElection(id));
        if (!current) return NotFound("election", req.election().name());
        RETURN_IF_ERROR(CheckEtag(req.election().etag(), current->etag(), current->name()));
        v1::Election updated = *current;
        const v1::Election& patch = req.election();
        for (const std::string& path : req.update_mask().paths()) {
          if (path == "display_name") updated.set_display_name(patch.display_name());
          if (path == "kind") updated.set_kind(patch.kind());
          if (path == "state") updated.set_state(patch.state());
          if (path == "accreditation_opens_time") {
            updated.clear_accreditation_opens_time();
            if (patch.has_accreditation_opens_time()) {
              *updated.mutable_accreditation_opens_time() = patch.accreditation_opens_time();
            }
          }
          if (path == "accreditation_deadline") {
            // Cleared: the default rule applies again (ValidateElection fills it in).
            updated.clear_accreditation_deadline();
            if (patch.has_accreditation_deadline()) {
              *updated.mutable_accreditation_deadline() = patch.accreditation_deadline();
            }
          }
        }
        Violations v;
        ValidateElection(countries_, updated, v);
        RETURN_IF_ERROR(v.ToStatus());
        const int64_t revision = txn.NextRevision();
        Stamp(updated, revision, info.now, /*created=*/false);
        RETURN_IF_ERROR(txn.PutElection(updated));
        RETURN_IF_ERROR(
            txn.AppendChange(MakeEvent(revision, v1::CHANGE_TYPE_UPDATED, updated.name(), &*current,
                                       &updated, info.ctx, info.request_id, info.now)));
        v1::UpdateElectionResponse out;
        *out.mutable_election() = std::move(updated);
        out.set_revision(revision);
        return out;
      },
      std::move(done));
}

// --- Organisations --------------------------------------------------------------------------

namespace {

// The parent must exist, and following parents from it must never reach `code` again.
absl::Status CheckParent(WriteTxn& txn, const v1::Organisation& organisation) {
  if (organisation.parent().empty()) return absl::OkStatus();
  std::string next = organisation.parent();
  for (int depth = 0; depth < 64 && !next.empty(); ++depth) {
    if (next == organisation.name()) {
      return InvalidField("organisation.parent", "would make the organisation its own ancestor");
    }
    ASSIGN_OR_RETURN(const std::string code, ParseOrganisationName(next, "organisation.parent"));
    ASSIGN_OR_RETURN(auto parent, txn.GetOrganisation(code));
    if (!parent) {
      if (depth == 0) {
        return InvalidField("organisation.parent",
                            absl::StrCat("unknown organisation ", organisation.parent()));
      }
      break;
    }
    next = parent->parent();
  }
  return absl::OkStatus();
}

}  // namespace

void Registry::CreateOrganisation(const RequestContext& ctx,
                                  const v1::CreateOrganisationRequest& req,
                                  Callback<v1::CreateOrganisationResponse> done) {
  Violations v;
  if (!IsValidOrganisationCode(req.organisation_code())) {
    v.Add("organisation_code",
          "must be 1 to 32 upper-case letters, digits and '-', starting "
          "with a letter (e.g. OSCE-ODIHR)");
  }
  ValidateRequestId(req.request_id(), "request_id", v);
  if (!req.organisation().name().empty()) {
    v.Add("organisation.name", "must be empty on create: the name comes from organisation_code");
  }
  v1::Organisation organisation = req.organisation();
  organisation.clear_create_time();
  organisation.clear_update_time();
  organisation.clear_etag();
  organisation.clear_revision();
  organisation.set_name(OrganisationName(req.organisation_code()));
  ValidateOrganisation(organisation, v);
  DONE_IF_ERROR(v.ToStatus());
  Mutate<v1::CreateOrganisationResponse>(
      ctx, "CreateOrganisation", req, req.request_id(),
      [=, this, &req](WriteTxn& txn,
                      const WriteInfo& info) -> absl::StatusOr<v1::CreateOrganisationResponse> {
        ASSIGN_OR_RETURN(auto existing, txn.GetOrganisation(req.organisation_code()));
        if (existing.has_value()) {
          return MakeError(absl::StatusCode::kAlreadyExists, reason::kAlreadyExists,
                           absl::StrCat("organisation ", organisation.name(), " already exists"));
        }
        RETURN_IF_ERROR(CheckParent(txn, organisation));
        v1::CreateOrganisationResponse out;
        *out.mutable_organisation() = organisation;
        const int64_t revision = txn.NextRevision();
        Stamp(*out.mutable_organisation(), revision, info.now, /*created=*/true);
        RETURN_IF_ERROR(txn.PutOrganisation(out.organisation()));
        RETURN_IF_ERROR(txn.AppendChange(
            MakeEvent(revision, v1::CHANGE_TYPE_CREATED, organisation.name(), nullptr,
                      &out.organisation(), info.ctx, info.request_id, info.now)));
        out.set_revision(revision);
        return out;
      },
      std::move(done));
}

absl::StatusOr<v1::GetOrganisationResponse> Registry::GetOrganisation(
    const v1::GetOrganisationRequest& req) {
  ASSIGN_OR_RETURN(const std::string code, ParseOrganisationName(req.name(), "name"));
  ASSIGN_OR_RETURN(auto found, store_.GetOrganisation(code));
  if (!found.value) return NotFound("organisation", req.name());
  v1::GetOrganisationResponse out;
  *out.mutable_organisation() = std::move(*found.value);
  out.set_revision(found.revision);
  return out;
}

absl::StatusOr<v1::ListOrganisationsResponse> Registry::ListOrganisations(
    const v1::ListOrganisationsRequest& req) {
  ASSIGN_OR_RETURN(const int size, EffectivePageSize(req.page_size()));
  ASSIGN_OR_RETURN(const std::string after, DecodePageToken(req.page_token(), "organisations"));
  ASSIGN_OR_RETURN(auto page, store_.ListOrganisations(after, size));
  v1::ListOrganisationsResponse out;
  for (auto& o : page.items) *out.add_organisations() = std::move(o);
  if (page.more) {
    const std::string& last = out.organisations(out.organisations_size() - 1).name();
    out.set_next_page_token(
        EncodePageToken("organisations", last.substr(sizeof("organisations/") - 1)));
  }
  out.set_revision(page.revision);
  return out;
}

void Registry::UpdateOrganisation(const RequestContext& ctx,
                                  const v1::UpdateOrganisationRequest& req,
                                  Callback<v1::UpdateOrganisationResponse> done) {
  DONE_ASSIGN_OR_RETURN(const std::string code,
                        ParseOrganisationName(req.organisation().name(), "organisation.name"));
  static const std::set<std::string, std::less<>> kUpdatable = {"names",    "names.en", "names.ru",
                                                                "names.kk", "aliases",  "parent"};
  DONE_IF_ERROR(CheckMask(req.update_mask(), kUpdatable));
  {
    Violations v;
    ValidateRequestId(req.request_id(), "request_id", v);
    DONE_IF_ERROR(v.ToStatus());
  }
  Mutate<v1::UpdateOrganisationResponse>(
      ctx, "UpdateOrganisation", req, req.request_id(),
      [=, this, &req](WriteTxn& txn,
                      const WriteInfo& info) -> absl::StatusOr<v1::UpdateOrganisationResponse> {
        ASSIGN_OR_RETURN(auto current, txn.GetOrganisation(code));
        if (!current) return NotFound("organisation", req.organisation().name());
        RETURN_IF_ERROR(CheckEtag(req.organisation().etag(), current->etag(), current->name()));
        v1::Organisation updated = *current;
        const v1::Organisation& patch = req.organisation();
        for (const std::string& path : req.update_mask().paths()) {
          if (path == "names") *updated.mutable_names() = patch.names();
          if (path == "names.en") updated.mutable_names()->set_en(patch.names().en());
          if (path == "names.ru") updated.mutable_names()->set_ru(patch.names().ru());
          if (path == "names.kk") updated.mutable_names()->set_kk(patch.names().kk());
          if (path == "aliases") *updated.mutable_aliases() = patch.aliases();
          if (path == "parent") updated.set_parent(patch.parent());
        }
        Violations v;
        ValidateOrganisation(updated, v);
        RETURN_IF_ERROR(v.ToStatus());
        RETURN_IF_ERROR(CheckParent(txn, updated));
        const int64_t revision = txn.NextRevision();
        Stamp(updated, revision, info.now, /*created=*/false);
        RETURN_IF_ERROR(txn.PutOrganisation(updated));
        RETURN_IF_ERROR(
            txn.AppendChange(MakeEvent(revision, v1::CHANGE_TYPE_UPDATED, updated.name(), &*current,
                                       &updated, info.ctx, info.request_id, info.now)));
        v1::UpdateOrganisationResponse out;
        *out.mutable_organisation() = std::move(updated);
        out.set_revision(revision);
        return out;
      },
      std::move(done));
}

// --- Observers ------------------------------------------------------------------------------

absl::Status Registry::CheckObserverAgainstStore(WriteTxn& txn, const RequestContext& ctx,
                                                 const v1::Election& election,
                                                 const std::string& observer_id,
                                                 const v1::Observer& observer) {
  if (observer.citizenship() == election.host_country()) {
    return MakeError(absl::StatusCode::kFailedPrecondition, reason::kHostCountryCitizen,
                     absl::StrCat("citizens of the host country (", election.host_country(),
                                  ") cannot be accredited as foreign observers"),
                     {}, {{"observer.citizenship", "is the host country"}});
  }
  const v1::SendingBody& body = observer.sending_body();
  if (body.has_state() && body.state() == election.host_country()) {
    return InvalidField("observer.sending_body.state",
                        "the host country cannot send foreign observers");
  }
  if (body.has_organisation()) {
    ASSIGN_OR_RETURN(const std::string code,
                     ParseOrganisationName(body.organisation(), "observer.sending_body"));
    ASSIGN_OR_RETURN(auto organisation, txn.GetOrganisation(code));
    if (!organisation) {
      return InvalidField("observer.sending_body.organisation",
                          absl::StrCat("unknown organisation ", body.organisation()));
    }
  }
  const std::string election_id(
      absl::string_view(election.name()).substr(sizeof("elections/") - 1));
  ASSIGN_OR_RETURN(auto holder,
                   txn.FindObserverByDocument(election_id, DocumentKey(observer.id_document())));
  if (holder.has_value() && *holder != observer_id) {
    // A confined caller learns that the document is taken, not by which record, if that record
    // is another sending body's (which it could not even read).
    ASSIGN_OR_RETURN(auto existing, txn.GetObserver(election_id, *holder));
    if (existing.has_value() && !InScope(ctx, *existing)) {
      return MakeError(absl::StatusCode::kAlreadyExists, reason::kDuplicateIdDocument,
                       absl::StrCat("an observer with this identity document is already "
                                    "registered in ",
                                    election.name()),
                       {}, {{"observer.id_document", "is already registered in this election"}});
    }
    // The message names the other record, never the document number (personal data).
    return MakeError(absl::StatusCode::kAlreadyExists, reason::kDuplicateIdDocument,
                     absl::StrCat("an observer with this identity document is already registered "
                                  "in ",
                                  election.name(), ": ", ObserverName(election_id, *holder)),
                     {{"existing", ObserverName(election_id, *holder)}},
                     {{"observer.id_document", "is already registered in this election"}});
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::Observer> Registry::InsertObserver(WriteTxn& txn, const WriteInfo& info,
                                                      const std::string& election_id,
                                                      v1::Observer observer) {
  RETURN_IF_ERROR(CheckSubmitterBody(info.ctx, observer));
  ASSIGN_OR_RETURN(auto election, txn.GetElection(election_id));
  if (!election) return NotFound("election", ElectionName(election_id));
  std::string id;
  for (;;) {
    id = NewObserverId(info.now);
    ASSIGN_OR_RETURN(auto clash, txn.GetObserver(election_id, id));
    if (!clash) break;
  }
  RETURN_IF_ERROR(CheckObserverAgainstStore(txn, info.ctx, *election, id, observer));
  if (!observer.has_received_time()) *observer.mutable_received_time() = ToProto(info.now);
  const absl::Time received = FromProto(observer.received_time());
  if (election->has_accreditation_opens_time() &&
      received < FromProto(election->accreditation_opens_time())) {
    return MakeError(absl::StatusCode::kFailedPrecondition, reason::kAccreditationNotOpen,
                     absl::StrCat("accreditation for ", election->name(), " opens at ",
                                  FormatUtc(FromProto(election->accreditation_opens_time())),
                                  "; the submission was received at ", FormatUtc(received)));
  }
  const absl::Time deadline = FromProto(election->accreditation_deadline());
  if (received > deadline) {
    return MakeError(
        absl::StatusCode::kFailedPrecondition, reason::kAccreditationClosed,
        absl::StrCat("accreditation for ", election->name(), " closed at ", FormatUtc(deadline),
                     "; the submission was received at ", FormatUtc(received)),
        {{"deadline", FormatUtc(deadline)}});
  }
  const int64_t revision = txn.NextRevision();
  observer.set_name(ObserverName(election_id, id));
  observer.set_status(v1::OBSERVER_STATUS_SUBMITTED);
  observer.set_update_actor(info.ctx.actor);
  Stamp(observer, revision, info.now, /*created=*/true);
  RETURN_IF_ERROR(txn.PutObserver(election_id, id, DocumentKey(observer.id_document()), observer));
  RETURN_IF_ERROR(
      txn.AppendChange(MakeEvent(revision, v1::CHANGE_TYPE_CREATED, observer.name(), nullptr,
                                 &observer, info.ctx, info.request_id, info.now)));
  return observer;
}

void Registry::CreateObserver(const RequestContext& ctx, const v1::CreateObserverRequest& req,
                              Callback<v1::CreateObserverResponse> done) {
  DONE_ASSIGN_OR_RETURN(const std::string election_id, ParseElectionName(req.parent(), "parent"));
  Violations v;
  ValidateRequestId(req.request_id(), "request_id", v);
  v1::Observer observer = req.observer();
  ClearObserverOutputFields(observer);
  ValidateObserver(countries_, observer, v);
  DONE_IF_ERROR(v.ToStatus());
  DONE_IF_ERROR(ValidateReceivedTime(observer, options_.clock(), "observer.received_time"));
  Mutate<v1::CreateObserverResponse>(
      ctx, "CreateObserver", req, req.request_id(),
      [=, this, &req](WriteTxn& txn,
                      const WriteInfo& info) -> absl::StatusOr<v1::CreateObserverResponse> {
        v1::CreateObserverResponse out;
        ASSIGN_OR_RETURN(*out.mutable_observer(), InsertObserver(txn, info, election_id, observer));
        out.set_revision(out.observer().revision());
        return out;
      },
      std::move(done));
}

void Registry::BatchCreateObservers(const RequestContext& ctx,
                                    const v1::BatchCreateObserversRequest& req,
                                    Callback<v1::BatchCreateObserversResponse> done) {
  DONE_ASSIGN_OR_RETURN(const std::string election_id, ParseElectionName(req.parent(), "parent"));
  Violations v;
  ValidateRequestId(req.request_id(), "request_id", v);
  if (req.validate_only() && !req.request_id().empty()) {
    v.Add("request_id", "must be empty with validate_only: nothing is recorded to replay");
  }
  if (req.requests_size() == 0) v.Add("requests", "is empty");
  if (req.requests_size() > kMaxBatchRows) {
    v.Add("requests",
          absl::StrCat("has ", req.requests_size(), " rows; at most ", kMaxBatchRows, " per call"));
  }
  DONE_IF_ERROR(v.ToStatus());
  const absl::Time now = options_.clock();
  // Rows that fail validation without the store; their status is final.
  std::vector<v1::Observer> rows(req.requests_size());
  std::vector<absl::Status> row_status(req.requests_size());
  Violations all;
  for (int i = 0; i < req.requests_size(); ++i) {
    const v1::CreateObserverRequest& row = req.requests(i);
    const std::string prefix = absl::StrCat("requests[", i, "]");
    Violations rv;
    if (!row.parent().empty() && row.parent() != req.parent()) {
      rv.Add("parent", "must be empty or equal to the batch's parent");
    }
    if (!row.request_id().empty()) {
      rv.Add("request_id", "must be empty: the batch has one request_id");
    }
    rows[i] = row.observer();
    ClearObserverOutputFields(rows[i]);
    ValidateObserver(countries_, rows[i], rv);
    absl::Status s = rv.ToStatus();
    if (s.ok()) s = ValidateReceivedTime(rows[i], now, "observer.received_time");
    row_status[i] = s;
    for (const auto& fv : GetErrorDetails(PrefixFields(s, prefix)).violations) {
      all.Add(fv.field, fv.description);
    }
  }
  if (req.all_or_nothing()) DONE_IF_ERROR(all.ToStatus());
  Mutate<v1::BatchCreateObserversResponse>(
      ctx, "BatchCreateObservers", req, req.request_id(),
      // Runs once: each row is moved into its record (mutable).
      [this, &req, election_id, rows = std::move(rows), row_status = std::move(row_status)](
          WriteTxn& txn,
          const WriteInfo& info) mutable -> absl::StatusOr<v1::BatchCreateObserversResponse> {
        const bool validate_only = req.validate_only();
        // Whether the records of good rows exist after the call.
        const bool records_kept = !validate_only && !req.all_or_nothing();
        v1::BatchCreateObserversResponse out;
        // The records created by earlier rows (name → row), for duplicates within the batch.
        std::map<std::string, int> created_by_row;
        auto create_rows = [&]() -> absl::Status {
          for (int i = 0; i < req.requests_size(); ++i) {
            auto* result = out.add_results();
            absl::Status status = row_status[i];
            if (status.ok()) {
              auto insert = [&]() -> absl::Status {
                ASSIGN_OR_RETURN(*result->mutable_observer(),
                                 InsertObserver(txn, info, election_id, std::move(rows[i])));
                return absl::OkStatus();
              };
              // A row that fails in an all-or-nothing batch fails the call, whose own
              // rollback undoes it; a savepoint per row would only copy every page it changes.
              status = req.all_or_nothing() ? insert() : txn.Atomically(insert);
            }
            if (status.ok()) {
              created_by_row.emplace(result->observer().name(), i);
            } else {
              status = NameBatchDuplicate(status, created_by_row, records_kept);
              if (req.all_or_nothing() || status.code() == absl::StatusCode::kNotFound) {
                // Rolls back every row; the call's field paths name the row.
                return PrefixFields(status, absl::StrCat("requests[", i, "]"));
              }
            }
            // validate_only: no record is created, so no name is assigned.
            if (!status.ok() || validate_only) result->clear_observer();
            *result->mutable_status() = RowStatus(status);
          }
          return absl::OkStatus();
        };
        if (!validate_only) {
          RETURN_IF_ERROR(create_rows());
        } else {
          // The rows are created as in a real call (later rows see earlier ones), then rolled
          // back with everything they consumed: records, revisions, change events.
          bool checked = false;
          absl::Status status = txn.Atomically([&]() -> absl::Status {
            RETURN_IF_ERROR(create_rows());
            checked = true;
            return ValidateOnlyRollback();
          });
          if (!checked) return status;
        }
        out.set_revision(txn.CurrentRevision());
        return out;
      },
      std::move(done));
}

absl::StatusOr<v1::GetObserverResponse> Registry::GetObserver(const RequestContext& ctx,
                                                              const v1::GetObserverRequest& req) {
  ASSIGN_OR_RETURN(const auto ids, ParseObserverName(req.name(), "name"));
  ASSIGN_OR_RETURN(auto found, store_.GetObserver(ids.first, ids.second));
  if (!found.value || !InScope(ctx, *found.value)) return NotFound("observer", req.name());
  v1::GetObserverResponse out;
  *out.mutable_observer() = std::move(*found.value);
  out.set_revision(found.revision);
  return out;
}

absl::StatusOr<v1::ListObserversResponse> Registry::ListObservers(
    const RequestContext& ctx, const v1::ListObserversRequest& req) {
  ASSIGN_OR_RETURN(const std::string election_id, ParseElectionName(req.parent(), "parent"));
  ASSIGN_OR_RETURN(const int size, EffectivePageSize(req.page_size()));
  ASSIGN_OR_RETURN(auto conditions, ParseObserverFilter(req.filter()));
  if (!ctx.sending_body.empty()) {
    // A submitter lists its own sending body's records only.
    absl::string_view body = ctx.sending_body;
    const std::string scope = absl::ConsumePrefix(&body, "states/")
                                  ? absl::StrCat("state = \"", body, "\"")
                                  : absl::StrCat("organisation = \"", ctx.sending_body, "\"");
    ASSIGN_OR_RETURN(auto own, ParseObserverFilter(scope));
    conditions.insert(conditions.end(), own.begin(), own.end());
  }
  const std::string query_fingerprint =
      Sha256Hex(absl::StrCat("observers\n", election_id, "\n", req.filter())).substr(0, 16);
  ASSIGN_OR_RETURN(const std::string after, DecodePageToken(req.page_token(), query_fingerprint));
  ASSIGN_OR_RETURN(auto election, store_.GetElection(election_id));
  if (!election.value) return NotFound("election", req.parent());
  ObserverQuery query{election_id, std::move(conditions), after, size};
  ASSIGN_OR_RETURN(auto page, store_.ListObservers(query));
  v1::ListObserversResponse out;
  for (auto& o : page.items) *out.add_observers() = std::move(o);
  if (page.more) {
    const std::string& last = out.observers(out.observers_size() - 1).name();
    out.set_next_page_token(EncodePageToken(query_fingerprint, last.substr(last.rfind('/') + 1)));
  }
  out.set_revision(page.revision);
  return out;
}

void Registry::UpdateObserver(const RequestContext& ctx, const v1::UpdateObserverRequest& req,
                              Callback<v1::UpdateObserverResponse> done) {
  DONE_ASSIGN_OR_RETURN(const auto ids, ParseObserverName(req.observer().name(), "observer.name"));
  static const std::set<std::string, std::less<>> kUpdatable = {
      "given_names", "family_name",  "latin_given_names", "latin_family_name",
      "citizenship", "gender",       "birth_date",        "id_document",
      "contact",     "sending_body", "category",          "submission_reference",
      "tags",        "test"};
  DONE_IF_ERROR(CheckMask(req.update_mask(), kUpdatable));
  {
    Violations v;
    ValidateRequestId(req.request_id(), "request_id", v);
    DONE_IF_ERROR(v.ToStatus());
  }
  Mutate<v1::UpdateObserverResponse>(
      ctx, "UpdateObserver", req, req.request_id(),
      [=, this, &req](WriteTxn& txn,
                      const WriteInfo& info) -> absl::StatusOr<v1::UpdateObserverResponse> {
        ASSIGN_OR_RETURN(auto current, txn.GetObserver(ids.first, ids.second));
        if (!current || !InScope(info.ctx, *current)) {
          return NotFound("observer", req.observer().name());
        }
        RETURN_IF_ERROR(CheckEtag(req.observer().etag(), current->etag(), current->name()));
        v1::Observer updated = *current;
        const auto* descriptor = v1::Observer::descriptor();
        const auto* reflection = v1::Observer::GetReflection();
        for (const std::string& path : req.update_mask().paths()) {
          const auto* field = descriptor->FindFieldByName(path);
          reflection->ClearField(&updated, field);
          if (field->is_repeated() || reflection->HasField(req.observer(), field)) {
            // The patch reduced to this one field, merged in.
            v1::Observer one = req.observer();
            std::vector<const google::protobuf::FieldDescriptor*> present;
            reflection->ListFields(one, &present);
            for (const auto* f : present) {
              if (f != field) reflection->ClearField(&one, f);
            }
            // Fields this server does not know are in no mask: none is stored.
            one.DiscardUnknownFields();
            updated.MergeFrom(one);
          }
        }
        Violations v;
        ValidateObserver(countries_, updated, v);
        RETURN_IF_ERROR(v.ToStatus());
        ASSIGN_OR_RETURN(auto election, txn.GetElection(ids.first));
        if (!election) return NotFound("election", ElectionName(ids.first));
        RETURN_IF_ERROR(CheckSubmitterBody(info.ctx, updated));
        RETURN_IF_ERROR(CheckObserverAgainstStore(txn, info.ctx, *election, ids.second, updated));
        const int64_t revision = txn.NextRevision();
        updated.set_update_actor(info.ctx.actor);
        Stamp(updated, revision, info.now, /*created=*/false);
        RETURN_IF_ERROR(
            txn.PutObserver(ids.first, ids.second, DocumentKey(updated.id_document()), updated));
        RETURN_IF_ERROR(
            txn.AppendChange(MakeEvent(revision, v1::CHANGE_TYPE_UPDATED, updated.name(), &*current,
                                       &updated, info.ctx, info.request_id, info.now)));
        v1::UpdateObserverResponse out;
        *out.mutable_observer() = std::move(updated);
        out.set_revision(revision);
        return out;
      },
      std::move(done));
}

template <typename Response>
void Registry::ChangeStatus(const RequestContext& ctx, absl::string_view method,
                            const google::protobuf::Message& request, TransitionRequest t,
                            Callback<Response> done) {
  DONE_ASSIGN_OR_RETURN(const auto ids, ParseObserverName(t.name, "name"));
  const absl::Time now = options_.clock();
  Violations v;
  ValidateRequestId(t.request_id, "request_id", v);
  const bool reason_required =
      t.transition == Transition::kSuspend || t.transition == Transition::kWithdraw;
  if (reason_required && t.reason.empty()) v.Add("reason", "is required");
  if (t.reason.size() > kMaxReasonLength) {
    v.Add("reason", absl::StrCat("is longer than ", kMaxReasonLength, " bytes"));
  }
  if (t.decision_reference.size() > kMaxReferenceLength) {
    v.Add("decision_reference", absl::StrCat("is longer than ", kMaxReferenceLength, " bytes"));
  }
  if (!t.badge_number.empty()) {
    bool ok = t.badge_number.size() <= 32;
    for (char c : t.badge_number) ok = ok && (absl::ascii_isalnum(c) || c == '-' || c == '/');
    if (!ok) v.Add("badge_number", "must be up to 32 letters, digits, '-' or '/'");
  }
  if (t.decision_time != nullptr) {
    DONE_IF_ERROR(ValidateTimestamp(*t.decision_time, "decision_time"));
  }
  const absl::Time decided = t.decision_time != nullptr ? FromProto(*t.decision_time) : now;
  if (decided > now) v.Add("decision_time", "is in the future");
  DONE_IF_ERROR(v.ToStatus());
  Mutate<Response>(
      ctx, method, request, t.request_id,
      [=, this](WriteTxn& txn, const WriteInfo& info) -> absl::StatusOr<Response> {
        ASSIGN_OR_RETURN(auto current, txn.GetObserver(ids.first, ids.second));
        if (!current || !InScope(info.ctx, *current)) return NotFound("observer", t.name);
        RETURN_IF_ERROR(CheckEtag(t.etag, current->etag(), current->name()));
        const std::optional<v1::ObserverStatus> next = NextStatus(current->status(), t.transition);
        if (!next) {
          const std::string from(v1::ObserverStatus_Name(current->status()));
          return MakeError(absl::StatusCode::kInvalidArgument, reason::kInvalidStatusTransition,
                           absl::StrCat("cannot ", TransitionName(t.transition), " ", t.name,
                                        ": its status is ", from),
                           {{"status", from}},
                           {{"name", absl::StrCat("observer is ", from, "; cannot ",
                                                  TransitionName(t.transition))}});
        }
        if (current->has_received_time() && decided < FromProto(current->received_time())) {
          return InvalidField("decision_time", "is before the submission was received");
        }
        v1::Observer updated = *current;
        if (t.transition == Transition::kAccredit) {
          ASSIGN_OR_RETURN(auto election, txn.GetElection(ids.first));
          if (!election) return NotFound("election", ElectionName(ids.first));
          const absl::Time deadline = FromProto(election->accreditation_deadline());
          if (decided > deadline) {
            return MakeError(
                absl::StatusCode::kFailedPrecondition, reason::kAccreditationClosed,
                absl::StrCat("accreditation for ", election->name(), " closed at ",
                             FormatUtc(deadline), "; the decision is dated ", FormatUtc(decided)),
                {{"deadline", FormatUtc(deadline)}});
          }
          std::string badge = t.badge_number;
          if (!badge.empty()) {
            ASSIGN_OR_RETURN(const bool used, txn.BadgeUsed(ids.first, badge));
            if (used) {
              return MakeError(absl::StatusCode::kAlreadyExists, reason::kBadgeNumberTaken,
                               absl::StrCat("badge number ", badge, " was already used in ",
                                            election->name(), " (badges are never reused)"),
                               {}, {{"badge_number", "was already used in this election"}});
            }
          } else {
            for (;;) {
              ASSIGN_OR_RETURN(const int64_t seq, txn.NextBadgeSequence(ids.first));
              badge = absl::StrFormat("%04d", seq);
              ASSIGN_OR_RETURN(const bool used, txn.BadgeUsed(ids.first, badge));
              if (!used) break;
            }
          }
          updated.set_badge_number(badge);
        }
        updated.set_status(*next);
        *updated.mutable_decision_time() = ToProto(decided);
        updated.set_decision_reference(t.decision_reference);
        updated.set_status_reason(t.reason);
        updated.set_update_actor(info.ctx.actor);
        const int64_t revision = txn.NextRevision();
        Stamp(updated, revision, info.now, /*created=*/false);
        RETURN_IF_ERROR(
            txn.PutObserver(ids.first, ids.second, DocumentKey(updated.id_document()), updated));
        v1::ChangeEvent event = MakeEvent(revision, v1::CHANGE_TYPE_UPDATED, updated.name(),
                                          &*current, &updated, info.ctx, info.request_id, info.now);
        event.set_reason(t.reason);
        RETURN_IF_ERROR(txn.AppendChange(std::move(event)));
        Response out;
        *out.mutable_observer() = std::move(updated);
        out.set_revision(revision);
        return out;
      },
      std::move(done));
}

void Registry::AccreditObserver(const RequestContext& ctx, const v1::AccreditObserverRequest& req,
                                Callback<v1::AccreditObserverResponse> done) {
  ChangeStatus<v1::AccreditObserverResponse>(
      ctx, "AccreditObserver", req, MakeTransition(Transition::kAccredit, req), std::move(done));
}

void Registry::RejectObserver(const RequestContext& ctx, const v1::RejectObserverRequest& req,
                              Callback<v1::RejectObserverResponse> done) {
  ChangeStatus<v1::RejectObserverResponse>(
      ctx, "RejectObserver", req, MakeTransition(Transition::kReject, req), std::move(done));
}

void Registry::SuspendObserver(const RequestContext& ctx, const v1::SuspendObserverRequest& req,
                               Callback<v1::SuspendObserverResponse> done) {
  ChangeStatus<v1::SuspendObserverResponse>(
      ctx, "SuspendObserver", req, MakeTransition(Transition::kSuspend, req), std::move(done));
}

void Registry::ReinstateObserver(const RequestContext& ctx, const v1::ReinstateObserverRequest& req,
                                 Callback<v1::ReinstateObserverResponse> done) {
  ChangeStatus<v1::ReinstateObserverResponse>(
      ctx, "ReinstateObserver", req, MakeTransition(Transition::kReinstate, req), std::move(done));
}

void Registry::WithdrawObserver(const RequestContext& ctx, const v1::WithdrawObserverRequest& req,
                                Callback<v1::WithdrawObserverResponse> done) {
  ChangeStatus<v1::WithdrawObserverResponse>(
      ctx, "WithdrawObserver", req, MakeTransition(Transition::kWithdraw, req), std::move(done));
}

void Registry::DeleteObserver(const RequestContext& ctx, const v1::DeleteObserverRequest& req,
                              Callback<v1::DeleteObserverResponse> done) {
  DONE_ASSIGN_OR_RETURN(const auto ids, ParseObserverName(req.name(), "name"));
  {
    Violations v;
    ValidateRequestId(req.request_id(), "request_id", v);
    if (req.reason().size() > kMaxReasonLength) {
      v.Add("reason", absl::StrCat("is longer than ", kMaxReasonLength, " bytes"));
    }
    DONE_IF_ERROR(v.ToStatus());
  }
  Mutate<v1::DeleteObserverResponse>(
      ctx, "DeleteObserver", req, req.request_id(),
      [=, this, &req](WriteTxn& txn,
                      const WriteInfo& info) -> absl::StatusOr<v1::DeleteObserverResponse> {
        ASSIGN_OR_RETURN(auto current, txn.GetObserver(ids.first, ids.second));
        if (!current || !InScope(info.ctx, *current)) return NotFound("observer", req.name());
        RETURN_IF_ERROR(CheckEtag(req.etag(), current->etag(), current->name()));
        const int64_t revision = txn.NextRevision();
        RETURN_IF_ERROR(txn.DeleteObserver(ids.first, ids.second));
        v1::ChangeEvent event = MakeEvent(revision, v1::CHANGE_TYPE_DELETED, current->name(),
                                          &*current, nullptr, info.ctx, info.request_id, info.now);
        event.set_reason(req.reason());
        RETURN_IF_ERROR(txn.AppendChange(std::move(event)));
        v1::DeleteObserverResponse out;
        out.set_revision(revision);
        return out;
      },
      std::move(done));
}

// --- Audit ----------------------------------------------------------------------------------

absl::StatusOr<v1::VerifyChangeLogResponse> Registry::VerifyChangeLog(
    const v1::VerifyChangeLogRequest& req) {
  std::optional<ChainWitness> witness;
  if (req.expected_revision() != 0 || !req.expected_chain().empty()) {
    Violations v;
    if (req.expected_revision() < 1) {
      v.Add("expected_revision", "must be a revision (1 or more) with expected_chain");
    }
    const std::string chain = absl::HexStringToBytes(req.expected_chain());
    if (req.expected_chain().size() != 64 ||
        absl::BytesToHexString(chain) != absl::AsciiStrToLower(req.expected_chain())) {
      v.Add("expected_chain", "must be 64 hex digits (a head_chain of an earlier check)");
    }
    RETURN_IF_ERROR(v.ToStatus());
    witness = ChainWitness{req.expected_revision(), chain};
  }
  ASSIGN_OR_RETURN(const ChangeLogVerification result, store_.VerifyChangeLog(witness));
  v1::VerifyChangeLogResponse out;
  out.set_entries_checked(result.entries_checked);
  out.set_first_revision(result.first_revision);
  out.set_last_revision(result.last_revision);
  out.set_head_revision(result.head_revision);
  out.set_compact_revision(result.compact_revision);
  switch (result.problem) {
    case ChangeLogVerification::Problem::kNone:
      out.set_problem(v1::CHANGE_LOG_PROBLEM_UNSPECIFIED);
      break;
    case ChangeLogVerification::Problem::kAltered:
      out.set_problem(v1::CHANGE_LOG_PROBLEM_ALTERED);
      break;
    case ChangeLogVerification::Problem::kMissing:
      out.set_problem(v1::CHANGE_LOG_PROBLEM_MISSING);
      break;
    case ChangeLogVerification::Problem::kReordered:
      out.set_problem(v1::CHANGE_LOG_PROBLEM_REORDERED);
      break;
    case ChangeLogVerification::Problem::kKeyMismatch:
      out.set_problem(v1::CHANGE_LOG_PROBLEM_KEY_MISMATCH);
      break;
  }
  out.set_bad_revision(result.bad_revision);
  out.set_message(result.message);
  out.set_key_id(result.key_id);
  out.set_head_chain(result.head_chain);
  out.set_expected_chain_matched(result.witness_matched);
  return out;
}

}  // namespace observer::registry
