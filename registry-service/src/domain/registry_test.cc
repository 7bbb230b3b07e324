// The Registry against a real SQLite store on a temporary file, with a pinned clock.
#include "registry-service/src/domain/registry.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/country_codes.h"
#include "common/errors.h"
#include "common/proto_time.h"
#include "google/protobuf/util/message_differencer.h"
#include "registry-service/src/storage/sqlite_store.h"

namespace observer::registry {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

absl::Time Utc(int year, int month, int day, int hour, int minute = 0) {
  return absl::FromCivil(absl::CivilSecond(year, month, day, hour, minute, 0), absl::UTCTimeZone());
}

// The kz-2021 election closes at 2021-01-04T12:00:00Z; the clock starts two days earlier.
const absl::Time kStart = Utc(2021, 1, 2, 6);
const absl::Time kDeadline = Utc(2021, 1, 4, 12);

template <typename T>
absl::Status StatusOf(const absl::StatusOr<T>& s) {
  return s.status();
}
absl::Status StatusOf(const absl::Status& s) { return s; }

#define ASSERT_OK(expr)                                          \
  do {                                                           \
    const absl::Status assert_ok_ = StatusOf(expr);              \
    ASSERT_TRUE(assert_ok_.ok()) << #expr << ": " << assert_ok_; \
  } while (false)

std::string Reason(const absl::Status& status) { return GetErrorDetails(status).reason; }

std::vector<std::string> FieldsOf(const absl::Status& status) {
  std::vector<std::string> fields;
  for (const FieldViolation& fv : GetErrorDetails(status).violations) fields.push_back(fv.field);
  return fields;
}

bool Same(const google::protobuf::Message& a, const google::protobuf::Message& b) {
  return google::protobuf::util::MessageDifferencer::Equals(a, b);
}

v1::CreateElectionRequest ElectionRequest(const std::string& id) {
  v1::CreateElectionRequest req;
  req.set_election_id(id);
  v1::Election* e = req.mutable_election();
  e->set_display_name("Elections of deputies of the Majilis and maslikhats");
  e->set_kind(v1::ELECTION_KIND_COMBINED);
  e->set_host_country("KZ");
  *e->mutable_voting_day() = MakeDate(2021, 1, 10);
  e->set_time_zone("Asia/Almaty");
  return req;
}

v1::CreateOrganisationRequest OrganisationRequest(const std::string& code,
                                                  const std::string& parent = "") {
  v1::CreateOrganisationRequest req;
  req.set_organisation_code(code);
  req.mutable_organisation()->mutable_names()->set_en("Organisation " + code);
  if (!parent.empty()) req.mutable_organisation()->set_parent("organisations/" + parent);
  return req;
}

v1::Observer NewObserver(const std::string& document_number,
                         const std::string& citizenship = "DE") {
  v1::Observer o;
  o.set_given_names("Anna");
  o.set_family_name("Schmidt");
  o.set_latin_given_names("ANNA");
  o.set_latin_family_name("SCHMIDT");
  o.set_citizenship(citizenship);
  o.set_gender(v1::GENDER_FEMALE);
  *o.mutable_birth_date() = MakeDate(1980, 2, 3);
  o.mutable_id_document()->set_type(v1::ID_DOCUMENT_TYPE_PASSPORT);
  o.mutable_id_document()->set_number(document_number);
  o.mutable_id_document()->set_issuing_country("DE");
  o.mutable_contact()->set_email("anna@example.org");
  o.mutable_sending_body()->set_organisation("organisations/OSCE-ODIHR");
  o.set_category(v1::OBSERVER_CATEGORY_SHORT_TERM);
  o.set_submission_reference("Note 1/2021");
  o.add_tags("batch-1");
  return o;
}

v1::CreateObserverRequest ObserverRequest(const v1::Observer& observer,
                                          const std::string& election = "kz-2021") {
  v1::CreateObserverRequest req;
  req.set_parent("elections/" + election);
  *req.mutable_observer() = observer;
  return req;
}

class RegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "registry_test_XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    auto store = SqliteStore::Open(dir_ + "/registry.db", SqliteStoreOptions{});
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    SetNow(kStart);
    MakeRegistry(RegistryOptions{});
  }

  void TearDown() override {
    registry_.reset();
    store_.reset();
    EXPECT_EQ(extra_callbacks_->load(), 0) << "a callback was called more than once";
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  void MakeRegistry(RegistryOptions options) {
    options.clock = [this] { return absl::FromUnixNanos(now_nanos_.load()); };
    registry_ = std::make_unique<Registry>(*store_, CountryCodes::Default(), options);
  }

  void SetNow(absl::Time t) { now_nanos_ = absl::ToUnixNanos(t); }

  // Calls an asynchronous write method and waits for its callback.
  template <typename Req, typename Resp>
  absl::StatusOr<Resp> Call(void (Registry::*method)(const RequestContext&, const Req&,
                                                     Callback<Resp>),
                            const Req& req) {
    auto promise = std::make_shared<std::promise<absl::StatusOr<Resp>>>();
    std::future<absl::StatusOr<Resp>> future = promise->get_future();
    auto calls = std::make_shared<std::atomic<int>>(0);
    auto extra = extra_callbacks_;
    (registry_.get()->*method)(ctx_, req, [promise, calls, extra](absl::StatusOr<Resp> result) {
      if (calls->fetch_add(1) == 0) {
        promise->set_value(std::move(result));
      } else {
        ++*extra;
      }
    });
    if (future.wait_for(std::chrono::seconds(30)) != std::future_status::ready) {
      return absl::DeadlineExceededError("the callback was never called");
    }
    return future.get();
  }

  int64_t Head() {
    absl::StatusOr<Revisions> revisions = store_->GetRevisions();
    EXPECT_TRUE(revisions.ok()) << revisions.status();
    return revisions.ok() ? revisions->head : -1;
  }

  std::vector<v1::ChangeEvent> Changes(int64_t from = 1) {
    absl::StatusOr<std::vector<v1::ChangeEvent>> events =
        store_->ReadChanges(from, 100000, int64_t{1} << 40);
    EXPECT_TRUE(events.ok()) << events.status();
    return events.value_or(std::vector<v1::ChangeEvent>{});
  }

  // The standard fixture data: the kz-2021 election and two organisations.
  void CreateBasics() {
    ASSERT_OK(Call(&Registry::CreateElection, ElectionRequest("kz-2021")));
    ASSERT_OK(Call(&Registry::CreateOrganisation, OrganisationRequest("OSCE")));
    ASSERT_OK(Call(&Registry::CreateOrganisation, OrganisationRequest("OSCE-ODIHR", "OSCE")));
  }

  v1::Observer Create(const v1::Observer& observer, const std::string& election = "kz-2021") {
    absl::StatusOr<v1::CreateObserverResponse> created =
        Call(&Registry::CreateObserver, ObserverRequest(observer, election));
    EXPECT_TRUE(created.ok()) << created.status();
    return created.ok() ? created->observer() : v1::Observer();
  }

  absl::StatusOr<v1::AccreditObserverResponse> Accredit(const std::string& name, absl::Time decided,
                                                        const std::string& badge = "") {
    v1::AccreditObserverRequest req;
    req.set_name(name);
    *req.mutable_decision_time() = ToProto(decided);
    req.set_decision_reference("CEC-2021-12");
    req.set_badge_number(badge);
    return Call(&Registry::AccreditObserver, req);
  }

  v1::Observer Get(const std::string& name) {
    v1::GetObserverRequest req;
    req.set_name(name);
    absl::StatusOr<v1::GetObserverResponse> got = registry_->GetObserver(ctx_, req);
    EXPECT_TRUE(got.ok()) << got.status();
    return got.ok() ? got->observer() : v1::Observer();
  }

  std::vector<std::string> ListNames(const std::string& filter = "") {
    v1::ListObserversRequest req;
    req.set_parent("elections/kz-2021");
    req.set_filter(filter);
    req.set_page_size(1000);
    absl::StatusOr<v1::ListObserversResponse> page = registry_->ListObservers(ctx_, req);
    EXPECT_TRUE(page.ok()) << page.status();
    std::vector<std::string> names;
    if (page.ok()) {
      for (const auto& o : page->observers()) names.push_back(o.name());
    }
    return names;
  }

  // Expects the rejected call to have changed nothing.
  void ExpectUnchanged(int64_t head, size_t changes) {
    EXPECT_EQ(Head(), head);
    EXPECT_EQ(Changes().size(), changes);
  }

  std::string dir_;
  std::unique_ptr<SqliteStore> store_;
  std::unique_ptr<Registry> registry_;
  std::atomic<int64_t> now_nanos_{0};
  RequestContext ctx_{"cec-clerk", "", absl::InfiniteFuture(), nullptr};
  std::shared_ptr<std::atomic<int>> extra_callbacks_ = std::make_shared<std::atomic<int>>(0);
};

// --- Elections ------------------------------------------------------------------------------

TEST_F(RegistryTest, CreatesGetsAndListsElections) {
  absl::StatusOr<v1::CreateElectionResponse> created =
      Call(&Registry::CreateElection, ElectionRequest("kz-2021"));
  ASSERT_OK(created);
  const v1::Election& e = created->election();
  EXPECT_EQ(e.name(), "elections/kz-2021");
  EXPECT_EQ(e.state(), v1::ELECTION_STATE_SCHEDULED);
  EXPECT_EQ(FromProto(e.accreditation_deadline()), kDeadline);
  EXPECT_EQ(FromProto(e.create_time()), kStart);
  EXPECT_EQ(FromProto(e.update_time()), kStart);
  EXPECT_FALSE(e.etag().empty());
  EXPECT_EQ(e.revision(), 1);
  EXPECT_EQ(created->revision(), 1);

  v1::GetElectionRequest get;
  get.set_name("elections/kz-2021");
  absl::StatusOr<v1::GetElectionResponse> got = registry_->GetElection(get);
  ASSERT_OK(got);
  EXPECT_TRUE(Same(got->election(), e)) << got->election().DebugString();
  EXPECT_EQ(got->revision(), 1);

  ASSERT_OK(Call(&Registry::CreateElection, ElectionRequest("kz-2019")));
  ASSERT_OK(Call(&Registry::CreateElection, ElectionRequest("kz-2023")));
  std::vector<std::string> names;
  v1::ListElectionsRequest list;
  list.set_page_size(1);
  int pages = 0;
  do {
    absl::StatusOr<v1::ListElectionsResponse> page = registry_->ListElections(list);
    ASSERT_OK(page);
    ASSERT_LE(page->elections_size(), 1);
    for (const auto& election : page->elections()) names.push_back(election.name());
    EXPECT_EQ(page->revision(), 3);
    list.set_page_token(page->next_page_token());
    ASSERT_LT(++pages, 10);
  } while (!list.page_token().empty());
  EXPECT_THAT(names, ElementsAre("elections/kz-2019", "elections/kz-2021", "elections/kz-2023"));

  v1::ListElectionsRequest all;
  absl::StatusOr<v1::ListElectionsResponse> page = registry_->ListElections(all);
  ASSERT_OK(page);
  EXPECT_EQ(page->elections_size(), 3);
  EXPECT_EQ(page->next_page_token(), "") << "the last page has no token";
}

TEST_F(RegistryTest, AWriteWhoseCallEndedBeforeItBeganIsNotApplied) {
  auto cancelled = std::make_shared<std::atomic<bool>>(true);
  ctx_.cancelled = cancelled;
  absl::StatusOr<v1::CreateElectionResponse> refused =
      Call(&Registry::CreateElection, ElectionRequest("kz-2021"));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kCancelled) << refused.status();
  v1::GetElectionRequest get;
  get.set_name("elections/kz-2021");
  EXPECT_EQ(registry_->GetElection(get).status().code(), absl::StatusCode::kNotFound);

  // The same call still going: applied, at the first revision (none was consumed).
  cancelled->store(false);
  absl::StatusOr<v1::CreateElectionResponse> created =
      Call(&Registry::CreateElection, ElectionRequest("kz-2021"));
  ASSERT_OK(created);
  EXPECT_EQ(created->revision(), 1);
}

TEST_F(RegistryTest, AWriteNotBegunByTheCallsDeadlineIsNotApplied) {
  ctx_.deadline = absl::Now() - absl::Seconds(1);
  absl::StatusOr<v1::CreateElectionResponse> refused =
      Call(&Registry::CreateElection, ElectionRequest("kz-2021"));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kDeadlineExceeded) << refused.status();
  EXPECT_EQ(Head(), 0);
}

// A submitter (RequestContext::sending_body set) creates for its own body only and sees and
// changes its own body's records only; any other record is NOT_FOUND, as a missing one.
TEST_F(RegistryTest, ASubmitterIsConfinedToItsSendingBody) {
  CreateBasics();
  const v1::Observer odihr = Create(NewObserver("C01X00T47"));
  v1::Observer from_us = NewObserver("C01X00T48");
  from_us.mutable_sending_body()->set_state("US");
  const v1::Observer us = Create(from_us);
  const int64_t head = Head();
  const size_t changes = Changes().size();

  ctx_.actor = "spiffe://mfa.test/us";
  ctx_.sending_body = "states/US";
  absl::StatusOr<v1::CreateObserverResponse> refused =
      Call(&Registry::CreateObserver, ObserverRequest(NewObserver("C01X00T49"), "kz-2021"));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kPermissionDenied) << refused.status();
  EXPECT_THAT(FieldsOf(refused.status()), ElementsAre("observer.sending_body"));
  ExpectUnchanged(head, changes);

  v1::GetObserverRequest get;
  get.set_name(odihr.name());
  const absl::Status hidden = registry_->GetObserver(ctx_, get).status();
  get.set_name("elections/kz-2021/observers/0000000000000000");
  const absl::Status missing = registry_->GetObserver(ctx_, get).status();
  EXPECT_EQ(hidden.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(GetErrorDetails(hidden).reason, GetErrorDetails(missing).reason);
  EXPECT_EQ(Get(us.name()).name(), us.name());
  EXPECT_THAT(ListNames(), ElementsAre(us.name()));
  EXPECT_THAT(ListNames("status = SUBMITTED"), ElementsAre(us.name()));

  v1::DeleteObserverRequest del;
  del.set_name(odihr.name());
  EXPECT_EQ(Call(&Registry::DeleteObserver, del).status().code(), absl::StatusCode::kNotFound);
  v1::UpdateObserverRequest moved;
  *moved.mutable_observer() = us;
  moved.mutable_observer()->mutable_sending_body()->set_organisation("organisations/OSCE");
  moved.mutable_update_mask()->add_paths("sending_body");
  EXPECT_EQ(Call(&Registry::UpdateObserver, moved).status().code(),
            absl::StatusCode::kPermissionDenied);
  ExpectUnchanged(head, changes);

  v1::Observer mine = NewObserver("C01X00T49");
  mine.mutable_sending_body()->set_state("US");
  absl::StatusOr<v1::CreateObserverResponse> own =
      Call(&Registry::CreateObserver, ObserverRequest(mine, "kz-2021"));
  ASSERT_OK(own);
  EXPECT_EQ(own->observer().update_actor(), "spiffe://mfa.test/us");
}

TEST_F(RegistryTest, ElectionErrors) {
  ASSERT_OK(Call(&Registry::CreateElection, ElectionRequest("kz-2021")));
  const int64_t head = Head();

  absl::StatusOr<v1::CreateElectionResponse> again =
      Call(&Registry::CreateElection, ElectionRequest("kz-2021"));
  EXPECT_EQ(again.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(Reason(again.status()), reason::kAlreadyExists);

  v1::CreateElectionRequest bad_id = ElectionRequest("KZ-2021");
  absl::StatusOr<v1::CreateElectionResponse> r = Call(&Registry::CreateElection, bad_id);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(FieldsOf(r.status()), ElementsAre("election_id"));

  v1::CreateElectionRequest bad_host = ElectionRequest("kz-2022");
  bad_host.mutable_election()->set_host_country("kz");
  r = Call(&Registry::CreateElection, bad_host);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(FieldsOf(r.status()), ElementsAre("election.host_country"));

  v1::CreateElectionRequest bad_zone = ElectionRequest("kz-2022");
  bad_zone.mutable_election()->set_time_zone("../etc/passwd");
  r = Call(&Registry::CreateElection, bad_zone);
  EXPECT_THAT(FieldsOf(r.status()), ElementsAre("election.time_zone"));

  v1::CreateElectionRequest bad_request_id = ElectionRequest("kz-2022");
  bad_request_id.set_request_id("has space");
  r = Call(&Registry::CreateElection, bad_request_id);
  EXPECT_THAT(FieldsOf(r.status()), ElementsAre("request_id"));
  bad_request_id.set_request_id(std::string(129, 'r'));
  r = Call(&Registry::CreateElection, bad_request_id);
  EXPECT_THAT(FieldsOf(r.status()), ElementsAre("request_id"));
  ExpectUnchanged(head, 1);

  v1::GetElectionRequest get;
  get.set_name("elections/kz-1999");
  EXPECT_EQ(registry_->GetElection(get).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Reason(registry_->GetElection(get).status()), reason::kNotFound);
  get.set_name("kz-2021");
  EXPECT_THAT(FieldsOf(registry_->GetElection(get).status()), ElementsAre("name"));

  v1::ListElectionsRequest list;
  list.set_page_size(-1);
  EXPECT_THAT(FieldsOf(registry_->ListElections(list).status()), ElementsAre("page_size"));
  list.set_page_size(0);
  list.set_page_token("garbage!");
  EXPECT_THAT(FieldsOf(registry_->ListElections(list).status()), ElementsAre("page_token"));
}

TEST_F(RegistryTest, UpdatesElectionsWithFieldMaskAndEtag) {
  absl::StatusOr<v1::CreateElectionResponse> created =
      Call(&Registry::CreateElection, ElectionRequest("kz-2021"));
  ASSERT_OK(created);
  SetNow(kStart + absl::Hours(1));

  v1::UpdateElectionRequest update;
  *update.mutable_election() = created->election();
  update.mutable_election()->set_display_name("Majilis 2021");
  update.mutable_election()->set_host_country("DE");  // Not in the mask: ignored.
  update.mutable_update_mask()->add_paths("display_name");
  absl::StatusOr<v1::UpdateElectionResponse> updated = Call(&Registry::UpdateElection, update);
  ASSERT_OK(updated);
  EXPECT_EQ(updated->election().display_name(), "Majilis 2021");
  EXPECT_EQ(updated->election().host_country(), "KZ");
  EXPECT_NE(updated->election().etag(), created->election().etag());
  EXPECT_EQ(updated->revision(), 2);
  EXPECT_EQ(FromProto(updated->election().update_time()), kStart + absl::Hours(1));
  EXPECT_EQ(FromProto(updated->election().create_time()), kStart);

  // The etag of the first version is stale now.
  const int64_t head = Head();
  update.mutable_election()->set_display_name("Lost update");
  absl::StatusOr<v1::UpdateElectionResponse> stale = Call(&Registry::UpdateElection, update);
  EXPECT_EQ(stale.status().code(), absl::StatusCode::kAborted);
  EXPECT_EQ(Reason(stale.status()), reason::kEtagMismatch);

  v1::UpdateElectionRequest bad_mask;
  bad_mask.mutable_election()->set_name("elections/kz-2021");
  bad_mask.mutable_update_mask()->add_paths("voting_day");
  absl::StatusOr<v1::UpdateElectionResponse> r = Call(&Registry::UpdateElection, bad_mask);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(FieldsOf(r.status()), ElementsAre("update_mask"));
  bad_mask.mutable_update_mask()->Clear();
  r = Call(&Registry::UpdateElection, bad_mask);
  EXPECT_THAT(FieldsOf(r.status()), ElementsAre("update_mask"));

  v1::UpdateElectionRequest missing;
  missing.mutable_election()->set_name("elections/kz-1999");
  missing.mutable_update_mask()->add_paths("display_name");
  missing.mutable_election()->set_display_name("x");
  EXPECT_EQ(Call(&Registry::UpdateElection, missing).status().code(), absl::StatusCode::kNotFound);
  ExpectUnchanged(head, 2);

  // An explicit deadline, then back to the default rule by clearing it.
  v1::UpdateElectionRequest deadline;
  deadline.mutable_election()->set_name("elections/kz-2021");
  *deadline.mutable_election()->mutable_accreditation_deadline() = ToProto(Utc(2021, 1, 5, 6));
  deadline.mutable_update_mask()->add_paths("accreditation_deadline");
  r = Call(&Registry::UpdateElection, deadline);
  ASSERT_OK(r);
  EXPECT_EQ(FromProto(r->election().accreditation_deadline()), Utc(2021, 1, 5, 6));
  deadline.mutable_election()->clear_accreditation_deadline();
  r = Call(&Registry::UpdateElection, deadline);
  ASSERT_OK(r);
  EXPECT_EQ(FromProto(r->election().accreditation_deadline()), kDeadline);
}

// --- Organisations --------------------------------------------------------------------------

TEST_F(RegistryTest, OrganisationsNeedAnExistingParentAndNoCycles) {
  ASSERT_OK(Call(&Registry::CreateOrganisation, OrganisationRequest("OSCE")));
  absl::StatusOr<v1::CreateOrganisationResponse> odihr =
      Call(&Registry::CreateOrganisation, OrganisationRequest("OSCE-ODIHR", "OSCE"));
  ASSERT_OK(odihr);
  EXPECT_EQ(odihr->organisation().name(), "organisations/OSCE-ODIHR");
  EXPECT_EQ(odihr->organisation().parent(), "organisations/OSCE");
  ASSERT_OK(Call(&Registry::CreateOrganisation, OrganisationRequest("ODIHR-PA", "OSCE-ODIHR")));
  const int64_t head = Head();

  absl::StatusOr<v1::CreateOrganisationResponse> r =
      Call(&Registry::CreateOrganisation, OrganisationRequest("SCO", "NOPE"));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(FieldsOf(r.status()), ElementsAre("organisation.parent"));
  r = Call(&Registry::CreateOrganisation, OrganisationRequest("OSCE"));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kAlreadyExists);
  r = Call(&Registry::CreateOrganisation, OrganisationRequest("osce"));
  EXPECT_THAT(FieldsOf(r.status()), ElementsAre("organisation_code"));
  v1::CreateOrganisationRequest unnamed = OrganisationRequest("SCO");
  unnamed.mutable_organisation()->mutable_names()->clear_en();
  r = Call(&Registry::CreateOrganisation, unnamed);
  EXPECT_THAT(FieldsOf(r.status()), ElementsAre("organisation.names.en"));

  // OSCE → ODIHR-PA → OSCE-ODIHR → OSCE would be a cycle, as would OSCE → OSCE.
  for (const char* parent :
       {"organisations/ODIHR-PA", "organisations/OSCE-ODIHR", "organisations/OSCE"}) {
    v1::UpdateOrganisationRequest update;
    update.mutable_organisation()->set_name("organisations/OSCE");
    update.mutable_organisation()->set_parent(parent);
    update.mutable_update_mask()->add_paths("parent");
    absl::StatusOr<v1::UpdateOrganisationResponse> cycle =
        Call(&Registry::UpdateOrganisation, update);
    EXPECT_EQ(cycle.status().code(), absl::StatusCode::kInvalidArgument) << parent;
    EXPECT_THAT(FieldsOf(cycle.status()), ElementsAre("organisation.parent")) << parent;
  }
  ExpectUnchanged(head, 3);

  // Re-parenting without a cycle works; names can be changed one language at a time.
  ASSERT_OK(Call(&Registry::CreateOrganisation, OrganisationRequest("UN")));
  v1::UpdateOrganisationRequest update;
  update.mutable_organisation()->set_name("organisations/OSCE");
  update.mutable_organisation()->set_parent("organisations/UN");
  update.mutable_organisation()->mutable_names()->set_ru("ОБСЕ");
  update.mutable_organisation()->mutable_names()->set_en("ignored");
  update.mutable_update_mask()->add_paths("parent");
  update.mutable_update_mask()->add_paths("names.ru");
  absl::StatusOr<v1::UpdateOrganisationResponse> reparented =
      Call(&Registry::UpdateOrganisation, update);
  ASSERT_OK(reparented);
  EXPECT_EQ(reparented->organisation().parent(), "organisations/UN");
  EXPECT_EQ(reparented->organisation().names().ru(), "ОБСЕ");
  EXPECT_EQ(reparented->organisation().names().en(), "Organisation OSCE");

  v1::ListOrganisationsRequest list;
  list.set_page_size(2);
  absl::StatusOr<v1::ListOrganisationsResponse> page = registry_->ListOrganisations(list);
  ASSERT_OK(page);
  ASSERT_EQ(page->organisations_size(), 2);
  EXPECT_EQ(page->organisations(0).name(), "organisations/ODIHR-PA");
  EXPECT_EQ(page->organisations(1).name(), "organisations/OSCE");
  ASSERT_FALSE(page->next_page_token().empty());
  // A token of the organisation list means nothing to the election list.
  v1::ListElectionsRequest elections;
  elections.set_page_token(page->next_page_token());
  EXPECT_THAT(FieldsOf(registry_->ListElections(elections).status()), ElementsAre("page_token"));
  list.set_page_token(page->next_page_token());
  page = registry_->ListOrganisations(list);
  ASSERT_OK(page);
  ASSERT_EQ(page->organisations_size(), 2);
  EXPECT_EQ(page->organisations(0).name(), "organisations/OSCE-ODIHR");
  EXPECT_EQ(page->organisations(1).name(), "organisations/UN");
  EXPECT_EQ(page->next_page_token(), "");

  v1::GetOrganisationRequest get;
  get.set_name("organisations/SCO");
  EXPECT_EQ(registry_->GetOrganisation(get).status().code(), absl::StatusCode::kNotFound);
}

// --- Observers: create ----------------------------------------------------------------------

TEST_F(RegistryTest, CreatesAnObserver) {
  CreateBasics();
  v1::Observer input = NewObserver("C01X00T47");
  // Output-only fields set by the caller are ignored.
  input.set_status(v1::OBSERVER_STATUS_ACCREDITED);
  input.set_badge_number("9999");
  input.set_etag("r77");
  input.set_name("elections/kz-2021/observers/chosen");
  v1::Observer created = Create(input);
  EXPECT_THAT(created.name(), ::testing::MatchesRegex("elections/kz-2021/observers/[0-9a-f]+"));
  EXPECT_EQ(created.status(), v1::OBSERVER_STATUS_SUBMITTED);
  EXPECT_EQ(created.badge_number(), "");
  EXPECT_EQ(created.revision(), 4);
  EXPECT_EQ(created.etag(), EtagFor(4));
  EXPECT_EQ(created.update_actor(), "cec-clerk");
  EXPECT_EQ(FromProto(created.received_time()), kStart) << "received_time defaults to now";
  EXPECT_EQ(FromProto(created.create_time()), kStart);
  EXPECT_THAT(created.tags(), ElementsAre("batch-1"));
  EXPECT_EQ(created.id_document().number(), "C01X00T47");

  v1::Observer got = Get(created.name());
  EXPECT_TRUE(Same(got, created)) << got.DebugString();
  EXPECT_THAT(ListNames(), ElementsAre(created.name()));

  // A received time in the past is kept.
  v1::Observer earlier = NewObserver("C01X00T48");
  *earlier.mutable_received_time() = ToProto(Utc(2020, 12, 20, 9));
  EXPECT_EQ(FromProto(Create(earlier).received_time()), Utc(2020, 12, 20, 9));
}

TEST_F(RegistryTest, CreateObserverErrors) {
  CreateBasics();
  Create(NewObserver("EXISTING1"));
  const int64_t head = Head();
  const size_t changes = Changes().size();

  absl::StatusOr<v1::CreateObserverResponse> r =
      Call(&Registry::CreateObserver, ObserverRequest(NewObserver("A1"), "kz-1999"));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Reason(r.status()), reason::kNotFound);

  v1::CreateObserverRequest bad_parent = ObserverRequest(NewObserver("A1"));
  bad_parent.set_parent("kz-2021");
  r = Call(&Registry::CreateObserver, bad_parent);
  EXPECT_THAT(FieldsOf(r.status()), ElementsAre("parent"));

  v1::Observer unknown_org = NewObserver("A2");
  unknown_org.mutable_sending_body()->set_organisation("organisations/NOPE");
  r = Call(&Registry::CreateObserver, ObserverRequest(unknown_org));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(FieldsOf(r.status()), ElementsAre("observer.sending_body.organisation"));

  r = Call(&Registry::CreateObserver, ObserverRequest(NewObserver("A3", "KZ")));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Reason(r.status()), reason::kHostCountryCitizen);

  v1::Observer host_state = NewObserver("A4");
  host_state.mutable_sending_body()->set_state("KZ");
  r = Call(&Registry::CreateObserver, ObserverRequest(host_state));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(FieldsOf(r.status()), ElementsAre("observer.sending_body.state"));

  v1::Observer invalid = NewObserver("A5", "XX");
  r = Call(&Registry::CreateObserver, ObserverRequest(invalid));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Reason(r.status()), reason::kValidationFailed);
  EXPECT_THAT(FieldsOf(r.status()), ElementsAre("observer.citizenship"));

  ExpectUnchanged(head, changes);
  EXPECT_EQ(ListNames().size(), 1u);
}

TEST_F(RegistryTest, DuplicateDocumentIsRefusedWithoutRevealingTheNumber) {
  CreateBasics();
  ASSERT_OK(Call(&Registry::CreateElection, ElectionRequest("kz-2023")));
  const v1::Observer first = Create(NewObserver("C01X-00T47"));
  const int64_t head = Head();

  // The same passport, typed differently, from another organisation.
  v1::Observer again = NewObserver("c01x 00t47");
  again.set_given_names("Anne");
  again.mutable_sending_body()->set_state("FR");
  absl::StatusOr<v1::CreateObserverResponse> r =
      Call(&Registry::CreateObserver, ObserverRequest(again));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(Reason(r.status()), reason::kDuplicateIdDocument);
  EXPECT_THAT(FieldsOf(r.status()), ElementsAre("observer.id_document"));
  const std::string message(r.status().message());
  for (const char* secret : {"C01X", "c01x", "00T47", "00t47", "C01X00T47"}) {
    EXPECT_THAT(message, Not(HasSubstr(secret)));
    for (const auto& [key, value] : GetErrorDetails(r.status()).metadata) {
      EXPECT_THAT(value, Not(HasSubstr(secret))) << key;
    }
  }
  EXPECT_THAT(message, HasSubstr(first.name())) << "names the record it collides with";
  EXPECT_EQ(Head(), head);

  // Another document type or issuing country is another document; another election is fine.
  v1::Observer other_type = NewObserver("C01X00T47");
  other_type.mutable_id_document()->set_type(v1::ID_DOCUMENT_TYPE_DIPLOMATIC_PASSPORT);
  Create(other_type);
  Create(NewObserver("C01X00T47"), "kz-2023");
  EXPECT_EQ(Head(), head + 2);
}

TEST_F(RegistryTest, ReceivedTimeAgainstTheDeadlineAndTheClock) {
  CreateBasics();
  const int64_t head = Head();

  v1::Observer late = NewObserver("L1");
  *late.mutable_received_time() = ToProto(kDeadline + absl::Seconds(1));
  absl::StatusOr<v1::CreateObserverResponse> r =
      Call(&Registry::CreateObserver, ObserverRequest(late));
  // The clock is still before the deadline, but received_time is in its future.
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(FieldsOf(r.status()), ElementsAre("observer.received_time"));

  SetNow(kDeadline + absl::Hours(20));
  r = Call(&Registry::CreateObserver, ObserverRequest(late));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Reason(r.status()), reason::kAccreditationClosed);

  // Received at the deadline itself still counts; entered later is fine.
  v1::Observer on_time = NewObserver("L2");
  *on_time.mutable_received_time() = ToProto(kDeadline);
  EXPECT_EQ(FromProto(Create(on_time).received_time()), kDeadline);

  // Without a received time, "now" is after the deadline.
  r = Call(&Registry::CreateObserver, ObserverRequest(NewObserver("L3")));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Reason(r.status()), reason::kAccreditationClosed);

  v1::Observer future = NewObserver("L4");
  *future.mutable_received_time() = ToProto(kDeadline + absl::Hours(21));
  r = Call(&Registry::CreateObserver, ObserverRequest(future));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(FieldsOf(r.status()), ElementsAre("observer.received_time"));
  EXPECT_EQ(Head(), head + 1);
}

TEST_F(RegistryTest, SubmissionBeforeAccreditationOpensIsRefused) {
  v1::CreateElectionRequest req = ElectionRequest("kz-2021");
  *req.mutable_election()->mutable_accreditation_opens_time() = ToProto(Utc(2020, 12, 1, 0));
  ASSERT_OK(Call(&Registry::CreateElection, req));
  ASSERT_OK(Call(&Registry::CreateOrganisation, OrganisationRequest("OSCE-ODIHR")));
  v1::Observer early = NewObserver("E1");
  *early.mutable_received_time() = ToProto(Utc(2020, 11, 30, 23));
  absl::StatusOr<v1::CreateObserverResponse> r =
      Call(&Registry::CreateObserver, ObserverRequest(early));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Reason(r.status()), reason::kAccreditationNotOpen);
  *early.mutable_received_time() = ToProto(Utc(2020, 12, 1, 0));
  Create(early);
}

// --- Observers: batches ---------------------------------------------------------------------

TEST_F(RegistryTest, BatchAllOrNothingCreatesNothingWhenOneRowIsBad) {
  CreateBasics();
  const int64_t head = Head();
  v1::BatchCreateObserversRequest batch;
  batch.set_parent("elections/kz-2021");
  batch.set_all_or_nothing(true);
  *batch.add_requests()->mutable_observer() = NewObserver("B1");
  *batch.add_requests()->mutable_observer() = NewObserver("B2", "XX");
  *batch.add_requests()->mutable_observer() = NewObserver("B3");
  absl::StatusOr<v1::BatchCreateObserversResponse> r = Call(&Registry::BatchCreateObservers, batch);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(FieldsOf(r.status()), ElementsAre("requests[1].observer.citizenship"));
  ExpectUnchanged(head, 3);

  // A row that fails against the store (a duplicate of an earlier row) also undoes the rest.
  batch.mutable_requests(1)->mutable_observer()->set_citizenship("DE");
  batch.mutable_requests(1)->mutable_observer()->mutable_id_document()->set_number("B-1");
  r = Call(&Registry::BatchCreateObservers, batch);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(Reason(r.status()), reason::kDuplicateIdDocument);
  EXPECT_THAT(FieldsOf(r.status()), ElementsAre("requests[1].observer.id_document"));
  ExpectUnchanged(head, 3);
  EXPECT_THAT(ListNames(), IsEmpty());

  batch.mutable_requests(1)->mutable_observer()->mutable_id_document()->set_number("B2");
  r = Call(&Registry::BatchCreateObservers, batch);
  ASSERT_OK(r);
  ASSERT_EQ(r->results_size(), 3);
  for (const auto& result : r->results()) {
    EXPECT_EQ(result.status().code(), 0);
    EXPECT_FALSE(result.observer().name().empty());
  }
  EXPECT_EQ(r->revision(), head + 3);
  EXPECT_EQ(ListNames().size(), 3u);
}

TEST_F(RegistryTest, BatchPerRowCreatesTheGoodRows) {
  CreateBasics();
  const int64_t head = Head();
  v1::BatchCreateObserversRequest batch;
  batch.set_parent("elections/kz-2021");
  *batch.add_requests()->mutable_observer() = NewObserver("P1");
  *batch.add_requests()->mutable_observer() = NewObserver("P2", "XX");
  v1::CreateObserverRequest* third = batch.add_requests();
  third->set_parent("elections/kz-2021");
  *third->mutable_observer() = NewObserver("P3");
  *batch.add_requests()->mutable_observer() = NewObserver("P4", "KZ");
  *batch.add_requests()->mutable_observer() = NewObserver("P-1");  // Same document as row 0.
  absl::StatusOr<v1::BatchCreateObserversResponse> r = Call(&Registry::BatchCreateObservers, batch);
  ASSERT_OK(r);
  ASSERT_EQ(r->results_size(), 5);
  EXPECT_EQ(r->results(0).status().code(), 0);
  EXPECT_EQ(r->results(2).status().code(), 0);
  EXPECT_EQ(r->results(1).status().code(), static_cast<int>(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(r->results(1).status().reason(), reason::kValidationFailed);
  ASSERT_EQ(r->results(1).status().field_violations_size(), 1);
  EXPECT_EQ(r->results(1).status().field_violations(0).field(), "observer.citizenship");
  EXPECT_FALSE(r->results(1).has_observer());
  EXPECT_EQ(r->results(3).status().code(), static_cast<int>(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(r->results(3).status().reason(), reason::kHostCountryCitizen);
  EXPECT_FALSE(r->results(3).has_observer());
  EXPECT_EQ(r->results(4).status().code(), static_cast<int>(absl::StatusCode::kAlreadyExists));
  EXPECT_EQ(r->results(4).status().reason(), reason::kDuplicateIdDocument);
  EXPECT_EQ(r->revision(), head + 2);
  EXPECT_EQ(Head(), head + 2);
  EXPECT_THAT(ListNames(), ::testing::UnorderedElementsAre(r->results(0).observer().name(),
                                                           r->results(2).observer().name()));
  EXPECT_THAT(Changes(head + 1).size(), 2u);

  v1::BatchCreateObserversRequest empty;
  empty.set_parent("elections/kz-2021");
  EXPECT_THAT(FieldsOf(Call(&Registry::BatchCreateObservers, empty).status()),
              ElementsAre("requests"));
  v1::BatchCreateObserversRequest nowhere = batch;
  nowhere.set_parent("elections/kz-1999");
  nowhere.mutable_requests(2)->clear_parent();
  EXPECT_EQ(Call(&Registry::BatchCreateObservers, nowhere).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(Head(), head + 2);
}

// registry_service.proto: a row's field paths are relative to the row's request.
TEST_F(RegistryTest, BatchPerRowFieldPathsAreRelativeToTheRow) {
  CreateBasics();
  v1::BatchCreateObserversRequest batch;
  batch.set_parent("elections/kz-2021");
  *batch.add_requests()->mutable_observer() = NewObserver("P1");
  *batch.add_requests()->mutable_observer() = NewObserver("P2", "XX");  // Fails validation.
  *batch.add_requests()->mutable_observer() = NewObserver("P3", "KZ");  // Fails in the store.
  *batch.add_requests()->mutable_observer() = NewObserver("P-1");       // Duplicate of row 0.
  absl::StatusOr<v1::BatchCreateObserversResponse> r = Call(&Registry::BatchCreateObservers, batch);
  ASSERT_OK(r);
  ASSERT_EQ(r->results_size(), 4);
  auto fields = [&](int row) {
    std::vector<std::string> out;
    for (const auto& fv : r->results(row).status().field_violations()) out.push_back(fv.field());
    return out;
  };
  EXPECT_THAT(fields(0), IsEmpty());
  EXPECT_THAT(fields(1), ElementsAre("observer.citizenship"));
  EXPECT_THAT(fields(2), ElementsAre("observer.citizenship"));
  EXPECT_EQ(r->results(2).status().reason(), reason::kHostCountryCitizen);
  EXPECT_THAT(fields(3), ElementsAre("observer.id_document"));
  EXPECT_EQ(r->results(3).status().reason(), reason::kDuplicateIdDocument);
}

// registry_service.proto: a DUPLICATE_ID_DOCUMENT row names the record holding the document.
TEST_F(RegistryTest, BatchDuplicateRowCarriesTheExistingRecordInItsMetadata) {
  CreateBasics();
  const v1::Observer first = Create(NewObserver("M1"));
  v1::BatchCreateObserversRequest batch;
  batch.set_parent("elections/kz-2021");
  *batch.add_requests()->mutable_observer() = NewObserver("M2");
  *batch.add_requests()->mutable_observer() = NewObserver("M-1");  // Same document as `first`.
  *batch.add_requests()->mutable_observer() = NewObserver("M 2");  // Same document as row 0.
  absl::StatusOr<v1::BatchCreateObserversResponse> r = Call(&Registry::BatchCreateObservers, batch);
  ASSERT_OK(r);
  ASSERT_EQ(r->results_size(), 3);
  EXPECT_EQ(r->results(0).status().code(), 0);
  EXPECT_THAT(r->results(0).status().metadata(), IsEmpty());
  const auto& against_store = r->results(1).status();
  EXPECT_EQ(against_store.reason(), reason::kDuplicateIdDocument);
  EXPECT_EQ(against_store.metadata().at("existing"), first.name());
  EXPECT_EQ(against_store.metadata().count("existing_row"), 0u);
  // Row 0's record exists after the call: both the record and the row are named.
  const auto& within_batch = r->results(2).status();
  EXPECT_EQ(within_batch.reason(), reason::kDuplicateIdDocument);
  EXPECT_EQ(within_batch.metadata().at("existing"), r->results(0).observer().name());
  EXPECT_EQ(within_batch.metadata().at("existing_row"), "0");
  for (const auto& result : r->results()) {
    for (const auto& [key, value] : result.status().metadata()) {
      EXPECT_THAT(value, Not(HasSubstr("M2"))) << key;
    }
  }

  // All or nothing: row 0's record is rolled back, so the call's error names the row only.
  batch.set_all_or_nothing(true);
  batch.mutable_requests(0)->mutable_observer()->mutable_id_document()->set_number("M3");
  batch.mutable_requests(1)->mutable_observer()->mutable_id_document()->set_number("M4");
  batch.mutable_requests(2)->mutable_observer()->mutable_id_document()->set_number("M-3");
  const int64_t head = Head();
  r = Call(&Registry::BatchCreateObservers, batch);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kAlreadyExists);
  const ErrorDetails d = GetErrorDetails(r.status());
  EXPECT_EQ(d.reason, reason::kDuplicateIdDocument);
  EXPECT_EQ(d.metadata.count("existing"), 0u);
  EXPECT_EQ(d.metadata.at("existing_row"), "0");
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("requests[0]"));
  EXPECT_THAT(FieldsOf(r.status()), ElementsAre("requests[2].observer.id_document"));
  EXPECT_EQ(Head(), head);
}

// --- Observers: validate_only batches --------------------------------------------------------

v1::BatchCreateObserversRequest ValidateOnly(v1::BatchCreateObserversRequest batch) {
  batch.set_validate_only(true);
  return batch;
}

TEST_F(RegistryTest, BatchValidateOnlyChecksGoodRowsAndWritesNothing) {
  CreateBasics();
  const int64_t head = Head();
  const size_t changes = Changes().size();
  v1::BatchCreateObserversRequest batch;
  batch.set_parent("elections/kz-2021");
  *batch.add_requests()->mutable_observer() = NewObserver("V1");
  *batch.add_requests()->mutable_observer() = NewObserver("V2");
  for (const bool all_or_nothing : {false, true}) {
    batch.set_all_or_nothing(all_or_nothing);
    absl::StatusOr<v1::BatchCreateObserversResponse> r =
        Call(&Registry::BatchCreateObservers, ValidateOnly(batch));
    ASSERT_OK(r);
    ASSERT_EQ(r->results_size(), 2);
    for (const auto& result : r->results()) {
      EXPECT_EQ(result.status().code(), 0) << result.status().ShortDebugString();
      EXPECT_FALSE(result.has_observer()) << "no name is assigned";
    }
    EXPECT_EQ(r->revision(), head);
    ExpectUnchanged(head, changes);
    EXPECT_THAT(ListNames(), IsEmpty());
  }

  // Nothing was consumed: the real call gets the next revisions, then the same badge numbers.
  absl::StatusOr<v1::BatchCreateObserversResponse> real =
      Call(&Registry::BatchCreateObservers, batch);
  ASSERT_OK(real);
  EXPECT_EQ(real->revision(), head + 2);
  EXPECT_EQ(real->results(0).observer().revision(), head + 1);
  const std::vector<v1::ChangeEvent> events = Changes(head + 1);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].revision(), head + 1);
  EXPECT_EQ(events[1].revision(), head + 2);
  ASSERT_OK(Accredit(real->results(0).observer().name(), kStart));
  EXPECT_EQ(Get(real->results(0).observer().name()).badge_number(), "0001");
}

TEST_F(RegistryTest, BatchValidateOnlyNotifiesNoCommitAndLeavesNoRevisionGap) {
  std::vector<int64_t> committed;
  std::mutex mu;
  store_->SetCommitListener([&](std::vector<v1::ChangeEvent> events) {
    std::lock_guard<std::mutex> lock(mu);
    for (const auto& e : events) committed.push_back(e.revision());
  });
  CreateBasics();
  const int64_t head = Head();
  {
    std::lock_guard<std::mutex> lock(mu);
    ASSERT_EQ(committed.size(), static_cast<size_t>(head));
    committed.clear();
  }
  v1::BatchCreateObserversRequest batch;
  batch.set_parent("elections/kz-2021");
  *batch.add_requests()->mutable_observer() = NewObserver("G1");
  *batch.add_requests()->mutable_observer() = NewObserver("G2");
  absl::StatusOr<v1::BatchCreateObserversResponse> r =
      Call(&Registry::BatchCreateObservers, ValidateOnly(batch));
  ASSERT_OK(r);
  {
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_THAT(committed, IsEmpty()) << "no commit notification for a validate_only batch";
  }
  const v1::Observer next = Create(NewObserver("G3"));
  EXPECT_EQ(next.revision(), head + 1);
  {
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_THAT(committed, ElementsAre(head + 1));
  }
  store_->SetCommitListener(nullptr);
}

TEST_F(RegistryTest, BatchValidateOnlyReportsBadRowsLikeARealCall) {
  CreateBasics();
  const v1::Observer existing = Create(NewObserver("X1"));
  const int64_t head = Head();
  const size_t changes = Changes().size();
  v1::BatchCreateObserversRequest batch;
  batch.set_parent("elections/kz-2021");
  *batch.add_requests()->mutable_observer() = NewObserver("R1");
  *batch.add_requests()->mutable_observer() = NewObserver("R2", "XX");  // Fails validation.
  *batch.add_requests()->mutable_observer() = NewObserver("R3", "KZ");  // Host country.
  *batch.add_requests()->mutable_observer() = NewObserver("X-1");       // Duplicate in the store.
  *batch.add_requests()->mutable_observer() = NewObserver("R-1");       // Duplicate of row 0.
  v1::Observer unknown = NewObserver("R6");
  unknown.mutable_sending_body()->set_organisation("organisations/NOBODY");
  *batch.add_requests()->mutable_observer() = unknown;
  v1::Observer received = NewObserver("R7");
  *received.mutable_received_time() = ToProto(kStart - absl::Hours(1));
  *batch.add_requests()->mutable_observer() = received;  // Fine: before the deadline.

  absl::StatusOr<v1::BatchCreateObserversResponse> r =
      Call(&Registry::BatchCreateObservers, ValidateOnly(batch));
  ASSERT_OK(r);
  ASSERT_EQ(r->results_size(), 7);
  ExpectUnchanged(head, changes);
  EXPECT_EQ(r->revision(), head);
  auto row = [&](int i) { return r->results(i).status(); };
  EXPECT_EQ(row(0).code(), 0);
  EXPECT_EQ(row(1).reason(), reason::kValidationFailed);
  EXPECT_EQ(row(2).reason(), reason::kHostCountryCitizen);
  EXPECT_EQ(row(3).reason(), reason::kDuplicateIdDocument);
  EXPECT_EQ(row(3).metadata().at("existing"), existing.name());
  EXPECT_EQ(row(4).reason(), reason::kDuplicateIdDocument);
  EXPECT_EQ(row(4).metadata().count("existing"), 0u) << "row 0's record was never created";
  EXPECT_EQ(row(4).metadata().at("existing_row"), "0");
  EXPECT_EQ(row(5).code(), static_cast<int>(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(row(6).code(), 0);
  for (const auto& result : r->results()) EXPECT_FALSE(result.has_observer());

  // The real call gives the same statuses (row 4 also names row 0's record, which it keeps).
  absl::StatusOr<v1::BatchCreateObserversResponse> real =
      Call(&Registry::BatchCreateObservers, batch);
  ASSERT_OK(real);
  ASSERT_EQ(real->results_size(), 7);
  for (int i = 0; i < 7; ++i) {
    v1::BatchRowStatus checked = r->results(i).status();
    v1::BatchRowStatus done = real->results(i).status();
    if (i == 4) {
      EXPECT_EQ(done.metadata().at("existing"), real->results(0).observer().name());
      done.clear_message();
      done.mutable_metadata()->erase("existing");
      checked.clear_message();
    }
    EXPECT_TRUE(Same(checked, done))
        << "row " << i << ": " << checked.ShortDebugString() << " vs " << done.ShortDebugString();
  }
  EXPECT_EQ(real->revision(), head + 2);

  // After the deadline, the validate_only check fails each row like a real call.
  SetNow(kDeadline + absl::Hours(1));
  v1::BatchCreateObserversRequest closed;
  closed.set_parent("elections/kz-2021");
  *closed.add_requests()->mutable_observer() = NewObserver("C1");
  r = Call(&Registry::BatchCreateObservers, ValidateOnly(closed));
  ASSERT_OK(r);
  EXPECT_EQ(r->results(0).status().reason(), reason::kAccreditationClosed);
  EXPECT_EQ(r->results(0).status().metadata().count("deadline"), 1u);
}

TEST_F(RegistryTest, BatchValidateOnlyAllOrNothingFailsLikeARealCall) {
  CreateBasics();
  const v1::Observer existing = Create(NewObserver("A1"));
  const int64_t head = Head();
  const size_t changes = Changes().size();
  v1::BatchCreateObserversRequest batch;
  batch.set_parent("elections/kz-2021");
  batch.set_all_or_nothing(true);
  *batch.add_requests()->mutable_observer() = NewObserver("A2");
  *batch.add_requests()->mutable_observer() = NewObserver("A3", "XX");
  absl::StatusOr<v1::BatchCreateObserversResponse> checked =
      Call(&Registry::BatchCreateObservers, ValidateOnly(batch));
  absl::StatusOr<v1::BatchCreateObserversResponse> real =
      Call(&Registry::BatchCreateObservers, batch);
  EXPECT_EQ(checked.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(FieldsOf(checked.status()), ElementsAre("requests[1].observer.citizenship"));
  EXPECT_EQ(checked.status(), real.status());

  // Errors found against the store: a duplicate in the store, a duplicate within the batch,
  // the host country.
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"A-1", "DE"}, {"A-2", "DE"}, {"A4", "KZ"}};
  for (const auto& [document, citizenship] : cases) {
    *batch.mutable_requests(1)->mutable_observer() = NewObserver(document, citizenship);
    checked = Call(&Registry::BatchCreateObservers, ValidateOnly(batch));
    real = Call(&Registry::BatchCreateObservers, batch);
    EXPECT_FALSE(checked.ok()) << document;
    EXPECT_EQ(checked.status(), real.status()) << document;
    EXPECT_THAT(FieldsOf(checked.status()), ElementsAre(::testing::StartsWith("requests[1]")));
  }
  EXPECT_EQ(GetErrorDetails(checked.status()).reason, reason::kHostCountryCitizen);
  ExpectUnchanged(head, changes);

  // An unknown election is the call's error, as in a real call.
  v1::BatchCreateObserversRequest nowhere = ValidateOnly(batch);
  nowhere.set_parent("elections/kz-1999");
  EXPECT_EQ(Call(&Registry::BatchCreateObservers, nowhere).status().code(),
            absl::StatusCode::kNotFound);
  ExpectUnchanged(head, changes);
  EXPECT_THAT(ListNames(), ElementsAre(existing.name()));
}

TEST_F(RegistryTest, BatchValidateOnlyRefusesARequestId) {
  CreateBasics();
  const int64_t head = Head();
  v1::BatchCreateObserversRequest batch;
  batch.set_parent("elections/kz-2021");
  batch.set_validate_only(true);
  batch.set_request_id("import-1");
  *batch.add_requests()->mutable_observer() = NewObserver("Q1");
  absl::StatusOr<v1::BatchCreateObserversResponse> r = Call(&Registry::BatchCreateObservers, batch);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(FieldsOf(r.status()), ElementsAre("request_id"));
  ExpectUnchanged(head, Changes().size());

  // The request_id is still free for the real call.
  batch.set_validate_only(false);
  r = Call(&Registry::BatchCreateObservers, batch);
  ASSERT_OK(r);
  EXPECT_EQ(r->revision(), head + 1);
}

// --- Observers: lifecycle -------------------------------------------------------------------

TEST_F(RegistryTest, LifecycleWithDecisionTimes) {
  CreateBasics();
  SetNow(Utc(2021, 1, 3, 9));
  v1::Observer o = Create(NewObserver("LC1"));
  SetNow(Utc(2021, 1, 3, 10));

  absl::StatusOr<v1::AccreditObserverResponse> accredited =
      Accredit(o.name(), Utc(2021, 1, 3, 9, 30));
  ASSERT_OK(accredited);
  EXPECT_EQ(accredited->observer().status(), v1::OBSERVER_STATUS_ACCREDITED);
  EXPECT_EQ(accredited->observer().badge_number(), "0001");
  EXPECT_EQ(FromProto(accredited->observer().decision_time()), Utc(2021, 1, 3, 9, 30));
  EXPECT_EQ(accredited->observer().decision_reference(), "CEC-2021-12");
  EXPECT_EQ(FromProto(accredited->observer().update_time()), Utc(2021, 1, 3, 10));
  EXPECT_NE(accredited->observer().etag(), o.etag());
  const int64_t head = Head();

  v1::SuspendObserverRequest suspend;
  suspend.set_name(o.name());
  absl::StatusOr<v1::SuspendObserverResponse> suspended = Call(&Registry::SuspendObserver, suspend);
  EXPECT_THAT(FieldsOf(suspended.status()), ElementsAre("reason"));
  EXPECT_EQ(Head(), head);
  suspend.set_reason("Breach of the code of conduct");
  suspend.set_etag(o.etag());  // Stale.
  suspended = Call(&Registry::SuspendObserver, suspend);
  EXPECT_EQ(suspended.status().code(), absl::StatusCode::kAborted);
  EXPECT_EQ(Reason(suspended.status()), reason::kEtagMismatch);
  suspend.set_etag(accredited->observer().etag());
  suspended = Call(&Registry::SuspendObserver, suspend);
  ASSERT_OK(suspended);
  EXPECT_EQ(suspended->observer().status(), v1::OBSERVER_STATUS_SUSPENDED);
  EXPECT_EQ(suspended->observer().status_reason(), "Breach of the code of conduct");
  EXPECT_EQ(suspended->observer().badge_number(), "0001");

  v1::ReinstateObserverRequest reinstate;
  reinstate.set_name(o.name());
  absl::StatusOr<v1::ReinstateObserverResponse> reinstated =
      Call(&Registry::ReinstateObserver, reinstate);
  ASSERT_OK(reinstated);
  EXPECT_EQ(reinstated->observer().status(), v1::OBSERVER_STATUS_ACCREDITED);
  EXPECT_EQ(reinstated->observer().badge_number(), "0001");

  // Withdrawal after the deadline is allowed (only accreditation closes).
  SetNow(kDeadline + absl::Hours(30));
  v1::WithdrawObserverRequest withdraw;
  withdraw.set_name(o.name());
  withdraw.set_reason("Left the country");
  absl::StatusOr<v1::WithdrawObserverResponse> withdrawn =
      Call(&Registry::WithdrawObserver, withdraw);
  ASSERT_OK(withdrawn);
  EXPECT_EQ(withdrawn->observer().status(), v1::OBSERVER_STATUS_WITHDRAWN);
  EXPECT_EQ(FromProto(withdrawn->observer().decision_time()), kDeadline + absl::Hours(30));
  const int64_t after_withdraw = Head();

  // WITHDRAWN is final.
  withdrawn = Call(&Registry::WithdrawObserver, withdraw);
  EXPECT_EQ(withdrawn.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Reason(withdrawn.status()), reason::kInvalidStatusTransition);
  reinstated = Call(&Registry::ReinstateObserver, reinstate);
  EXPECT_EQ(Reason(reinstated.status()), reason::kInvalidStatusTransition);
  suspend.clear_etag();
  suspended = Call(&Registry::SuspendObserver, suspend);
  EXPECT_EQ(Reason(suspended.status()), reason::kInvalidStatusTransition);
  v1::RejectObserverRequest reject;
  reject.set_name(o.name());
  absl::StatusOr<v1::RejectObserverResponse> rejected = Call(&Registry::RejectObserver, reject);
  EXPECT_EQ(rejected.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Reason(rejected.status()), reason::kInvalidStatusTransition);
  EXPECT_EQ(Head(), after_withdraw);

  v1::RejectObserverRequest missing;
  missing.set_name("elections/kz-2021/observers/00000000000000aa");
  EXPECT_EQ(Call(&Registry::RejectObserver, missing).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(RegistryTest, AccreditationDecisionTimes) {
  CreateBasics();
  v1::Observer o = Create(NewObserver("D1"));
  const int64_t head = Head();

  // A decision in the future of the clock.
  absl::StatusOr<v1::AccreditObserverResponse> r = Accredit(o.name(), kStart + absl::Minutes(1));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(FieldsOf(r.status()), ElementsAre("decision_time"));
  // A decision before the submission was received.
  r = Accredit(o.name(), kStart - absl::Hours(1));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(FieldsOf(r.status()), ElementsAre("decision_time"));
  // A decision after the deadline, entered later.
  SetNow(kDeadline + absl::Hours(2));
  r = Accredit(o.name(), kDeadline + absl::Seconds(1));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Reason(r.status()), reason::kAccreditationClosed);
  // Without a decision time, "now" is after the deadline.
  v1::AccreditObserverRequest now;
  now.set_name(o.name());
  r = Call(&Registry::AccreditObserver, now);
  EXPECT_EQ(Reason(r.status()), reason::kAccreditationClosed);
  EXPECT_EQ(Head(), head);
  // The meeting before the deadline, entered the morning after: accepted.
  r = Accredit(o.name(), kDeadline);
  ASSERT_OK(r);
  EXPECT_EQ(FromProto(r->observer().decision_time()), kDeadline);

  // Rejection after the deadline.
  v1::Observer other = Create([] {
    v1::Observer x = NewObserver("D2");
    *x.mutable_received_time() = ToProto(Utc(2021, 1, 3, 0));
    return x;
  }());
  v1::RejectObserverRequest reject;
  reject.set_name(other.name());
  reject.set_reason("Incomplete documents");
  absl::StatusOr<v1::RejectObserverResponse> rejected = Call(&Registry::RejectObserver, reject);
  ASSERT_OK(rejected);
  EXPECT_EQ(rejected->observer().status(), v1::OBSERVER_STATUS_REJECTED);
  EXPECT_EQ(rejected->observer().badge_number(), "");
  EXPECT_EQ(Reason(Accredit(other.name(), kDeadline).status()), reason::kInvalidStatusTransition);
}

TEST_F(RegistryTest, BadgeNumbersAreAssignedInOrderAndNeverReused) {
  CreateBasics();
  ASSERT_OK(Call(&Registry::CreateElection, ElectionRequest("kz-2023")));
  std::vector<v1::Observer> observers;
  for (int i = 0; i < 6; ++i) observers.push_back(Create(NewObserver(absl::StrCat("BN", i))));
  // Received at kStart: decisions must not be earlier.
  const absl::Time at = kStart;

  absl::StatusOr<v1::AccreditObserverResponse> r = Accredit(observers[0].name(), at);
  ASSERT_OK(r);
  EXPECT_EQ(r->observer().badge_number(), "0001");
  r = Accredit(observers[1].name(), at);
  ASSERT_OK(r);
  EXPECT_EQ(r->observer().badge_number(), "0002");
  r = Accredit(observers[2].name(), at, "0003");  // Chosen by the caller.
  ASSERT_OK(r);
  EXPECT_EQ(r->observer().badge_number(), "0003");
  r = Accredit(observers[3].name(), at);
  ASSERT_OK(r);
  EXPECT_EQ(r->observer().badge_number(), "0004") << "the sequence skips a chosen number";

  const int64_t head = Head();
  r = Accredit(observers[4].name(), at, "0001");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(Reason(r.status()), reason::kBadgeNumberTaken);
  EXPECT_THAT(FieldsOf(r.status()), ElementsAre("badge_number"));
  r = Accredit(observers[4].name(), at, "no spaces please");
  EXPECT_THAT(FieldsOf(r.status()), ElementsAre("badge_number"));
  EXPECT_EQ(Head(), head);

  // Deleting the holder of 0002 does not free the number.
  v1::DeleteObserverRequest del;
  del.set_name(observers[1].name());
  ASSERT_OK(Call(&Registry::DeleteObserver, del));
  r = Accredit(observers[4].name(), at, "0002");
  EXPECT_EQ(Reason(r.status()), reason::kBadgeNumberTaken);
  r = Accredit(observers[4].name(), at);
  ASSERT_OK(r);
  EXPECT_EQ(r->observer().badge_number(), "0005");

  // Each election has its own numbers.
  v1::Observer elsewhere = Create(NewObserver("BN0"), "kz-2023");
  r = Accredit(elsewhere.name(), at);
  ASSERT_OK(r);
  EXPECT_EQ(r->observer().badge_number(), "0001");
}

// --- Observers: update, idempotency, delete -------------------------------------------------

TEST_F(RegistryTest, UpdatesObserversWithFieldMaskAndEtag) {
  CreateBasics();
  const v1::Observer o = Create(NewObserver("U1"));
  const v1::Observer other = Create(NewObserver("U2"));
  SetNow(kStart + absl::Minutes(5));

  v1::UpdateObserverRequest update;
  *update.mutable_observer() = o;
  update.mutable_observer()->set_given_names("Anna Maria");
  update.mutable_observer()->clear_tags();
  update.mutable_observer()->add_tags("batch-2");
  update.mutable_observer()->add_tags("batch-2");
  update.mutable_observer()->clear_contact();
  update.mutable_observer()->set_family_name("Not in the mask");
  update.mutable_update_mask()->add_paths("given_names");
  update.mutable_update_mask()->add_paths("tags");
  update.mutable_update_mask()->add_paths("contact");
  absl::StatusOr<v1::UpdateObserverResponse> updated = Call(&Registry::UpdateObserver, update);
  ASSERT_OK(updated);
  const v1::Observer& u = updated->observer();
  EXPECT_EQ(u.given_names(), "Anna Maria");
  EXPECT_THAT(u.tags(), ElementsAre("batch-2"));
  EXPECT_FALSE(u.has_contact());
  EXPECT_EQ(u.family_name(), "Schmidt");
  EXPECT_EQ(u.status(), v1::OBSERVER_STATUS_SUBMITTED);
  EXPECT_EQ(FromProto(u.update_time()), kStart + absl::Minutes(5));
  EXPECT_EQ(FromProto(u.create_time()), kStart);
  EXPECT_NE(u.etag(), o.etag());
  EXPECT_TRUE(Same(Get(o.name()), u));
  const int64_t head = Head();

  // The etag sent is the original one: stale now.
  update.mutable_update_mask()->Clear();
  update.mutable_update_mask()->add_paths("given_names");
  absl::StatusOr<v1::UpdateObserverResponse> r = Call(&Registry::UpdateObserver, update);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kAborted);
  EXPECT_EQ(Reason(r.status()), reason::kEtagMismatch);

  v1::UpdateObserverRequest bad;
  bad.mutable_observer()->set_name(o.name());
  for (const char* path : {"status", "badge_number", "nonsense", "id_document.number", ""}) {
    bad.mutable_update_mask()->Clear();
    bad.mutable_update_mask()->add_paths(path);
    r = Call(&Registry::UpdateObserver, bad);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << path;
    EXPECT_THAT(FieldsOf(r.status()), ElementsAre("update_mask")) << path;
  }

  // The store-side rules apply to updates too.
  bad.mutable_update_mask()->Clear();
  bad.mutable_update_mask()->add_paths("citizenship");
  bad.mutable_observer()->set_citizenship("KZ");
  r = Call(&Registry::UpdateObserver, bad);
  EXPECT_EQ(Reason(r.status()), reason::kHostCountryCitizen);
  bad.mutable_update_mask()->Clear();
  bad.mutable_update_mask()->add_paths("id_document");
  *bad.mutable_observer()->mutable_id_document() = other.id_document();
  r = Call(&Registry::UpdateObserver, bad);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(Reason(r.status()), reason::kDuplicateIdDocument);
  bad.mutable_update_mask()->Clear();
  bad.mutable_update_mask()->add_paths("given_names");
  bad.mutable_observer()->clear_given_names();
  r = Call(&Registry::UpdateObserver, bad);
  EXPECT_THAT(FieldsOf(r.status()), ElementsAre("observer.given_names"));
  EXPECT_EQ(Head(), head);

  // Its own document, typed differently, is not a duplicate of itself.
  v1::UpdateObserverRequest own;
  own.mutable_observer()->set_name(o.name());
  *own.mutable_observer()->mutable_id_document() = o.id_document();
  own.mutable_observer()->mutable_id_document()->set_number("u-1");
  own.mutable_update_mask()->add_paths("id_document");
  ASSERT_OK(Call(&Registry::UpdateObserver, own));
}

// Found by fuzz_update_mask (tests/fuzz/corpus/fuzz_update_mask/crash-unknown-field-outside-mask):
// the patch's unknown fields were merged into the stored record whatever the mask named.
TEST_F(RegistryTest, UpdateObserverStoresNoUnknownFieldsOfThePatch) {
  CreateBasics();
  const v1::Observer o = Create(NewObserver("U1"));

  v1::UpdateObserverRequest update;
  update.mutable_observer()->set_name(o.name());
  update.mutable_observer()->set_test(true);
  // given_names (field 2) with another wire type, and a field this server does not know.
  v1::Observer* patch = update.mutable_observer();
  patch->GetReflection()->MutableUnknownFields(patch)->AddVarint(2, 0);
  patch->GetReflection()->MutableUnknownFields(patch)->AddLengthDelimited(99, "from a newer one");
  update.mutable_update_mask()->add_paths("test");
  absl::StatusOr<v1::UpdateObserverResponse> updated = Call(&Registry::UpdateObserver, update);
  ASSERT_OK(updated);

  auto unknown = [](const v1::Observer& x) {
    return x.GetReflection()->GetUnknownFields(x).field_count();
  };
  const v1::Observer stored = Get(o.name());
  EXPECT_TRUE(stored.test());
  EXPECT_EQ(unknown(stored), 0);
  EXPECT_EQ(unknown(updated->observer()), 0);
  EXPECT_EQ(stored.given_names(), o.given_names());
}

TEST_F(RegistryTest, RequestIdMakesWritesIdempotent) {
  CreateBasics();
  v1::CreateObserverRequest req = ObserverRequest(NewObserver("I1"));
  req.set_request_id("note-17/row-1");
  absl::StatusOr<v1::CreateObserverResponse> first = Call(&Registry::CreateObserver, req);
  ASSERT_OK(first);
  const int64_t head = Head();
  const size_t changes = Changes().size();

  SetNow(kStart + absl::Hours(1));
  absl::StatusOr<v1::CreateObserverResponse> repeat = Call(&Registry::CreateObserver, req);
  ASSERT_OK(repeat);
  EXPECT_TRUE(Same(*repeat, *first)) << repeat->DebugString();
  ExpectUnchanged(head, changes);
  EXPECT_EQ(ListNames().size(), 1u);

  v1::CreateObserverRequest different = req;
  different.mutable_observer()->set_given_names("Someone else");
  absl::StatusOr<v1::CreateObserverResponse> reused = Call(&Registry::CreateObserver, different);
  EXPECT_EQ(reused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Reason(reused.status()), reason::kRequestIdReused);
  v1::CreateElectionRequest other_method = ElectionRequest("kz-2024");
  other_method.set_request_id("note-17/row-1");
  absl::StatusOr<v1::CreateElectionResponse> elsewhere =
      Call(&Registry::CreateElection, other_method);
  EXPECT_EQ(elsewhere.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Reason(elsewhere.status()), reason::kRequestIdReused);
  ExpectUnchanged(head, changes);

  // A repeated decision returns the original answer even after the record moved on.
  v1::AccreditObserverRequest accredit;
  accredit.set_name(first->observer().name());
  accredit.set_request_id("cec-2021-12/1");
  absl::StatusOr<v1::AccreditObserverResponse> accredited =
      Call(&Registry::AccreditObserver, accredit);
  ASSERT_OK(accredited);
  v1::SuspendObserverRequest suspend;
  suspend.set_name(first->observer().name());
  suspend.set_reason("r");
  ASSERT_OK(Call(&Registry::SuspendObserver, suspend));
  const int64_t head2 = Head();
  absl::StatusOr<v1::AccreditObserverResponse> again = Call(&Registry::AccreditObserver, accredit);
  ASSERT_OK(again);
  EXPECT_TRUE(Same(*again, *accredited));
  EXPECT_EQ(Head(), head2);

  // The stored response survives a restart.
  registry_.reset();
  store_.reset();
  auto reopened = SqliteStore::Open(dir_ + "/registry.db", SqliteStoreOptions{});
  ASSERT_OK(reopened);
  store_ = std::move(*reopened);
  MakeRegistry(RegistryOptions{});
  repeat = Call(&Registry::CreateObserver, req);
  ASSERT_OK(repeat);
  EXPECT_TRUE(Same(*repeat, *first));
  EXPECT_EQ(Head(), head2);
}

TEST_F(RegistryTest, DeletesObservers) {
  CreateBasics();
  const v1::Observer o = Create(NewObserver("X1"));
  v1::DeleteObserverRequest del;
  del.set_name(o.name());
  del.set_etag("r1");
  const int64_t head = Head();
  absl::StatusOr<v1::DeleteObserverResponse> r = Call(&Registry::DeleteObserver, del);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kAborted);
  EXPECT_EQ(Head(), head);
  del.set_etag(o.etag());
  r = Call(&Registry::DeleteObserver, del);
  ASSERT_OK(r);
  EXPECT_EQ(r->revision(), head + 1);
  v1::GetObserverRequest get;
  get.set_name(o.name());
  EXPECT_EQ(registry_->GetObserver(ctx_, get).status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(ListNames(), IsEmpty());
  r = Call(&Registry::DeleteObserver, del);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  del.set_name("elections/kz-2021/observers/NOT-AN-ID");
  EXPECT_THAT(FieldsOf(Call(&Registry::DeleteObserver, del).status()), ElementsAre("name"));
  // The document may be registered again (e.g. the record was entered by mistake).
  Create(NewObserver("X1"));
}

// --- Lists and the change log ---------------------------------------------------------------

TEST_F(RegistryTest, ListsObserversWithFiltersAndTokens) {
  CreateBasics();
  std::vector<std::string> accredited;
  for (int i = 0; i < 5; ++i) {
    v1::Observer o = NewObserver(absl::StrCat("F", i));
    if (i % 2 == 1) {
      o.mutable_sending_body()->set_state("FR");
      o.add_tags("batch-3");
    }
    const v1::Observer created = Create(o);
    if (i < 3) {
      ASSERT_OK(Accredit(created.name(), kStart));
      accredited.push_back(created.name());
    }
  }
  std::sort(accredited.begin(), accredited.end());
  EXPECT_EQ(ListNames("status = ACCREDITED"), accredited);
  EXPECT_EQ(ListNames("state = FR").size(), 2u);
  EXPECT_EQ(ListNames("organisation = \"OSCE-ODIHR\" AND tags:\"batch-3\"").size(), 0u);
  EXPECT_EQ(ListNames("tags:\"batch-3\" AND status != ACCREDITED").size(), 1u);

  v1::ListObserversRequest req;
  req.set_parent("elections/kz-2021");
  req.set_filter("status = ACCREDITED");
  req.set_page_size(2);
  absl::StatusOr<v1::ListObserversResponse> page = registry_->ListObservers(ctx_, req);
  ASSERT_OK(page);
  ASSERT_EQ(page->observers_size(), 2);
  ASSERT_FALSE(page->next_page_token().empty());
  EXPECT_EQ(page->revision(), Head());
  v1::ListObserversRequest other_filter = req;
  other_filter.set_filter("status = SUBMITTED");
  other_filter.set_page_token(page->next_page_token());
  EXPECT_THAT(FieldsOf(registry_->ListObservers(ctx_, other_filter).status()),
              ElementsAre("page_token"));
  req.set_page_token(page->next_page_token());
  absl::StatusOr<v1::ListObserversResponse> next = registry_->ListObservers(ctx_, req);
  ASSERT_OK(next);
  ASSERT_EQ(next->observers_size(), 1);
  EXPECT_EQ(next->observers(0).name(), accredited[2]);
  EXPECT_EQ(next->next_page_token(), "");

  req.set_page_token("");
  req.set_filter("status = ACCREDITED OR status = SUBMITTED");
  EXPECT_THAT(FieldsOf(registry_->ListObservers(ctx_, req).status()), ElementsAre("filter"));
  req.set_filter("");
  req.set_parent("elections/kz-1999");
  EXPECT_EQ(registry_->ListObservers(ctx_, req).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(RegistryTest, OneChangeEventPerChangeWithImagesAndNoPersonalData) {
  ctx_.actor = "cec-clerk-7";
  v1::CreateElectionRequest election = ElectionRequest("kz-2021");
  election.set_request_id("e-1");
  absl::StatusOr<v1::CreateElectionResponse> e = Call(&Registry::CreateElection, election);
  ASSERT_OK(e);
  absl::StatusOr<v1::CreateOrganisationResponse> org =
      Call(&Registry::CreateOrganisation, OrganisationRequest("OSCE-ODIHR"));
  ASSERT_OK(org);
  v1::CreateObserverRequest create = ObserverRequest(NewObserver("EV1"));
  create.set_request_id("o-1");
  absl::StatusOr<v1::CreateObserverResponse> o = Call(&Registry::CreateObserver, create);
  ASSERT_OK(o);
  absl::StatusOr<v1::AccreditObserverResponse> accredited = Accredit(o->observer().name(), kStart);
  ASSERT_OK(accredited);
  v1::UpdateObserverRequest update;
  update.mutable_observer()->set_name(o->observer().name());
  update.mutable_observer()->set_given_names("Anne");
  update.mutable_update_mask()->add_paths("given_names");
  absl::StatusOr<v1::UpdateObserverResponse> updated = Call(&Registry::UpdateObserver, update);
  ASSERT_OK(updated);
  v1::UpdateElectionRequest rename;
  rename.mutable_election()->set_name("elections/kz-2021");
  rename.mutable_election()->set_display_name("Majilis");
  rename.mutable_update_mask()->add_paths("display_name");
  absl::StatusOr<v1::UpdateElectionResponse> renamed = Call(&Registry::UpdateElection, rename);
  ASSERT_OK(renamed);
  v1::DeleteObserverRequest del;
  del.set_name(o->observer().name());
  absl::StatusOr<v1::DeleteObserverResponse> deleted = Call(&Registry::DeleteObserver, del);
  ASSERT_OK(deleted);
  // A repeated request and a rejected one add nothing.
  absl::StatusOr<v1::CreateElectionResponse> repeated = Call(&Registry::CreateElection, election);
  ASSERT_OK(repeated);
  EXPECT_TRUE(Same(*repeated, *e));
  EXPECT_EQ(Call(&Registry::CreateElection, ElectionRequest("kz-2021")).status().code(),
            absl::StatusCode::kAlreadyExists);

  const std::vector<v1::ChangeEvent> events = Changes();
  ASSERT_EQ(events.size(), 7u);
  const std::vector<int64_t> revisions = {
      e->revision(),       org->revision(),     o->revision(),      accredited->revision(),
      updated->revision(), renamed->revision(), deleted->revision()};
  const std::vector<v1::ChangeType> types = {v1::CHANGE_TYPE_CREATED, v1::CHANGE_TYPE_CREATED,
                                             v1::CHANGE_TYPE_CREATED, v1::CHANGE_TYPE_UPDATED,
                                             v1::CHANGE_TYPE_UPDATED, v1::CHANGE_TYPE_UPDATED,
                                             v1::CHANGE_TYPE_DELETED};
  const std::vector<v1::ResourceKind> kinds = {
      v1::RESOURCE_KIND_ELECTION, v1::RESOURCE_KIND_ORGANISATION, v1::RESOURCE_KIND_OBSERVER,
      v1::RESOURCE_KIND_OBSERVER, v1::RESOURCE_KIND_OBSERVER,     v1::RESOURCE_KIND_ELECTION,
      v1::RESOURCE_KIND_OBSERVER};
  for (size_t i = 0; i < events.size(); ++i) {
    SCOPED_TRACE(i);
    const v1::ChangeEvent& ev = events[i];
    EXPECT_EQ(ev.revision(), static_cast<int64_t>(i) + 1);
    EXPECT_EQ(ev.revision(), revisions[i]);
    EXPECT_EQ(ev.type(), types[i]);
    EXPECT_EQ(ev.kind(), kinds[i]);
    EXPECT_EQ(ev.actor(), "cec-clerk-7");
    EXPECT_EQ(FromProto(ev.commit_time()), kStart);
    EXPECT_EQ(ev.has_before(), ev.type() != v1::CHANGE_TYPE_CREATED);
    EXPECT_EQ(ev.has_after(), ev.type() != v1::CHANGE_TYPE_DELETED);
    for (const v1::ResourceImage* image : {&ev.before(), &ev.after()}) {
      if (image->has_observer()) {
        EXPECT_FALSE(image->observer().has_id_document());
        EXPECT_FALSE(image->observer().has_birth_date());
        EXPECT_FALSE(image->observer().has_contact());
        EXPECT_EQ(image->observer().name(), ev.name());
      }
    }
    const std::string bytes = ev.SerializeAsString();
    EXPECT_FALSE(absl::StrContains(bytes, "EV1"));
    EXPECT_FALSE(absl::StrContains(bytes, "anna@example.org"));
  }
  EXPECT_EQ(events[0].request_id(), "e-1");
  EXPECT_EQ(events[2].request_id(), "o-1");
  EXPECT_EQ(events[1].request_id(), "");
  EXPECT_EQ(events[0].name(), "elections/kz-2021");
  EXPECT_EQ(events[1].name(), "organisations/OSCE-ODIHR");
  EXPECT_EQ(events[3].before().observer().status(), v1::OBSERVER_STATUS_SUBMITTED);
  EXPECT_EQ(events[3].after().observer().status(), v1::OBSERVER_STATUS_ACCREDITED);
  EXPECT_EQ(events[3].after().observer().badge_number(), "0001");
  EXPECT_EQ(events[4].before().observer().given_names(), "Anna");
  v1::Observer expected_after = updated->observer();
  StripPersonalData(expected_after);
  EXPECT_TRUE(Same(events[4].after().observer(), expected_after));
  EXPECT_EQ(events[5].before().election().display_name(), e->election().display_name());
  EXPECT_EQ(events[5].after().election().display_name(), "Majilis");
  EXPECT_EQ(events[6].before().observer().given_names(), "Anne");
  EXPECT_TRUE(Same(events[0].after().election(), e->election()));
}

TEST_F(RegistryTest, CompactsTheChangeLogBeyondTheRetention) {
  RegistryOptions options;
  options.changelog_retention = 4;
  MakeRegistry(options);
  CreateBasics();
  for (int i = 0; i < 9; ++i) Create(NewObserver(absl::StrCat("R", i)));
  // Compaction goes through the writer after the acknowledgement: flush it.
  ASSERT_OK(store_->Write([](WriteTxn&) { return absl::OkStatus(); }));
  absl::StatusOr<Revisions> revisions = store_->GetRevisions();
  ASSERT_OK(revisions);
  EXPECT_EQ(revisions->head, 12);
  EXPECT_GT(revisions->compact, 1);
  EXPECT_GE(revisions->head - revisions->compact + 1, 4) << "keeps at least the retention";
  absl::StatusOr<std::vector<v1::ChangeEvent>> old = store_->ReadChanges(1, 10, 1 << 20);
  EXPECT_EQ(old.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(Reason(old.status()), reason::kRevisionCompacted);
}

}  // namespace
}  // namespace observer::registry
