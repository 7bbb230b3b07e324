// Black-box tests of the registry's unary API: every RPC's happy path and every documented
// error with its code, ErrorInfo reason and field violation path.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <latch>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/harness/registry_fixture.h"

namespace observer::testing {
namespace {

using ::testing::AnyOf;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::IsEmpty;
using ::testing::SizeIs;
using ::testing::StartsWith;

constexpr absl::StatusCode kInvalidArgument = absl::StatusCode::kInvalidArgument;
constexpr absl::StatusCode kNotFound = absl::StatusCode::kNotFound;
constexpr absl::StatusCode kAlreadyExists = absl::StatusCode::kAlreadyExists;
constexpr absl::StatusCode kFailedPrecondition = absl::StatusCode::kFailedPrecondition;
constexpr absl::StatusCode kAborted = absl::StatusCode::kAborted;

std::vector<std::string> Names(const std::vector<rv1::Observer>& observers) {
  std::vector<std::string> names;
  for (const auto& o : observers) names.push_back(o.name());
  return names;
}

class RegistryApiTest : public RegistryTest {
 protected:
  // An open election ("elections/<id>").
  std::string OpenElection(const std::string& id = "e-2030") {
    return CreateElection(FutureElection(id)).name();
  }
};

// ---------------------------------------------------------------------------------------------
// Elections

TEST_F(RegistryApiTest, CreateElectionFillsDefaultsAndRevisions) {
  ASSERT_OK_AND_ASSIGN(auto kz, client().CreateElection(Kz2021Election("kz-2021")));
  const rv1::Election& e = kz.election();
  EXPECT_EQ(e.name(), "elections/kz-2021");
  EXPECT_EQ(e.display_name(), "Elections of deputies of the Majilis and maslikhats");
  EXPECT_EQ(e.kind(), rv1::ELECTION_KIND_COMBINED);
  EXPECT_EQ(e.host_country(), "KZ");
  EXPECT_EQ(e.time_zone(), "Asia/Almaty");
  EXPECT_TRUE(ProtoEquals(e.voting_day(), MakeDate(2021, 1, 10)));
  // 18:00 local (UTC+6 in 2021) on 2021-01-04.
  EXPECT_EQ(FormatTs(e.accreditation_deadline()), "2021-01-04T12:00:00Z");
  EXPECT_EQ(e.state(), rv1::ELECTION_STATE_SCHEDULED);
  EXPECT_FALSE(e.etag().empty());
  EXPECT_TRUE(e.has_create_time());
  EXPECT_GT(kz.revision(), 0);
  EXPECT_EQ(e.revision(), kz.revision());

  // Asia/Almaty is UTC+5 since 2024-03-01: 18:00 local on 2030-06-10 is 13:00Z.
  ASSERT_OK_AND_ASSIGN(auto almaty, client().CreateElection(FutureElection("kz-2030")));
  EXPECT_EQ(FormatTs(almaty.election().accreditation_deadline()), "2030-06-10T13:00:00Z");
  EXPECT_EQ(almaty.revision(), kz.revision() + 1);

  // Paris in June is UTC+2 (CEST).
  ASSERT_OK_AND_ASSIGN(auto paris,
                       client().CreateElection(FutureElection("fr-2030", "FR", "Europe/Paris")));
  EXPECT_EQ(FormatTs(paris.election().accreditation_deadline()), "2030-06-10T16:00:00Z");
  EXPECT_EQ(paris.revision(), kz.revision() + 2);

  // An explicit deadline is kept.
  auto req = FutureElection("kz-2030-explicit");
  *req.mutable_election()->mutable_accreditation_deadline() = Ts("2030-06-01T00:00:00Z");
  ASSERT_OK_AND_ASSIGN(auto explicit_deadline, client().CreateElection(req));
  EXPECT_EQ(FormatTs(explicit_deadline.election().accreditation_deadline()),
            "2030-06-01T00:00:00Z");
  EXPECT_EQ(Head(), kz.revision() + 3);
}

TEST_F(RegistryApiTest, CreateElectionDuplicateIdIsAlreadyExists) {
  OpenElection("dup");
  const int64_t head = Head();
  auto again = FutureElection("dup");
  again.mutable_election()->set_display_name("Another one");
  EXPECT_THAT(client().CreateElection(again), StatusIs(kAlreadyExists, "ALREADY_EXISTS"));
  EXPECT_EQ(Head(), head);
}

TEST_F(RegistryApiTest, CreateElectionValidationNamesEachBadField) {
  const int64_t head = Head();
  struct Case {
    std::string field;
    std::function<void(rv1::CreateElectionRequest&)> mutate;
  };
  const std::vector<Case> cases = {
      {"election.host_country", [](auto& r) { r.mutable_election()->set_host_country("XX"); }},
      {"election.host_country", [](auto& r) { r.mutable_election()->set_host_country("kz"); }},
      {"election.host_country", [](auto& r) { r.mutable_election()->clear_host_country(); }},
      {"election.time_zone", [](auto& r) { r.mutable_election()->set_time_zone("Mars/Olympus"); }},
      {"election.time_zone", [](auto& r) { r.mutable_election()->clear_time_zone(); }},
      {"election.voting_day",
       [](auto& r) { *r.mutable_election()->mutable_voting_day() = MakeDate(2021, 2, 30); }},
      {"election.voting_day", [](auto& r) { r.mutable_election()->clear_voting_day(); }},
      {"election.display_name", [](auto& r) { r.mutable_election()->set_display_name(""); }},
      {"election.kind",
       [](auto& r) { r.mutable_election()->set_kind(rv1::ELECTION_KIND_UNSPECIFIED); }},
      {"election_id", [](auto& r) { r.set_election_id(""); }},
      {"election_id", [](auto& r) { r.set_election_id("Bad_ID"); }},
      {"election_id", [](auto& r) { r.set_election_id(std::string(64, 'a')); }},
      {"election.name", [](auto& r) { r.mutable_election()->set_name("elections/x"); }},
  };
  int i = 0;
  for (const Case& c : cases) {
    auto req = FutureElection(absl::StrCat("valid-", i++));
    c.mutate(req);
    EXPECT_THAT(client().CreateElection(req), HasViolation(c.field))
        << "request: " << req.ShortDebugString();
  }
  // Several bad fields at once: each is named.
  auto req = FutureElection("multi");
  req.mutable_election()->set_host_country("XX");
  req.mutable_election()->set_time_zone("Mars/Olympus");
  *req.mutable_election()->mutable_voting_day() = MakeDate(2021, 2, 30);
  req.mutable_election()->set_display_name("");
  auto multi = client().CreateElection(req);
  EXPECT_THAT(multi, HasViolation("election.host_country"));
  EXPECT_THAT(multi, HasViolation("election.time_zone"));
  EXPECT_THAT(multi, HasViolation("election.voting_day"));
  EXPECT_THAT(multi, HasViolation("election.display_name"));
  EXPECT_EQ(Head(), head);
  EXPECT_THAT(MUST(client().AllElections()), IsEmpty());
}

TEST_F(RegistryApiTest, GetAndListElections) {
  rv1::Election b = CreateElection(FutureElection("b-election"));
  rv1::Election a = CreateElection(FutureElection("a-election"));
  rv1::Election c = CreateElection(FutureElection("c-election"));

  rv1::GetElectionRequest get;
  get.set_name("elections/a-election");
  ASSERT_OK_AND_ASSIGN(auto got, client().GetElection(get));
  std::string diff;
  EXPECT_TRUE(ProtoEquals(got.election(), a, &diff)) << diff;
  EXPECT_EQ(got.revision(), c.revision());  // The head.

  get.set_name("elections/nope");
  EXPECT_THAT(client().GetElection(get), StatusIs(kNotFound, "NOT_FOUND"));
  get.set_name("nonsense");
  EXPECT_THAT(client().GetElection(get), AnyOf(StatusIs(kInvalidArgument), StatusIs(kNotFound)));

  rv1::ListElectionsRequest list;
  list.set_page_size(2);
  ASSERT_OK_AND_ASSIGN(auto page1, client().ListElections(list));
  ASSERT_THAT(page1.elections(), SizeIs(2));
  EXPECT_EQ(page1.elections(0).name(), "elections/a-election");
  EXPECT_EQ(page1.elections(1).name(), "elections/b-election");
  EXPECT_TRUE(ProtoEquals(page1.elections(1), b, &diff)) << diff;
  EXPECT_FALSE(page1.next_page_token().empty());
  EXPECT_EQ(page1.revision(), c.revision());
  list.set_page_token(page1.next_page_token());
  ASSERT_OK_AND_ASSIGN(auto page2, client().ListElections(list));
  ASSERT_THAT(page2.elections(), SizeIs(1));
  EXPECT_EQ(page2.elections(0).name(), "elections/c-election");
  EXPECT_TRUE(page2.next_page_token().empty());

  list.set_page_token("");
  list.set_page_size(-1);
  EXPECT_THAT(client().ListElections(list), HasViolation("page_size"));
  list.set_page_size(2);
  list.set_page_token("garbage!!");
  EXPECT_THAT(client().ListElections(list), HasViolation("page_token"));
}

TEST_F(RegistryApiTest, UpdateElectionWithMaskAndEtag) {
  rv1::Election e = CreateElection(FutureElection("upd"));
  const std::string default_deadline = FormatTs(e.accreditation_deadline());

  rv1::UpdateElectionRequest req;
  *req.mutable_election() = e;
  req.mutable_election()->set_display_name("Renamed");
  req.mutable_election()->set_kind(rv1::ELECTION_KIND_LOCAL);  // Not in the mask: ignored.
  req.mutable_update_mask()->add_paths("display_name");
  ASSERT_OK_AND_ASSIGN(auto updated, client().UpdateElection(req));
  EXPECT_EQ(updated.election().display_name(), "Renamed");
  EXPECT_EQ(updated.election().kind(), rv1::ELECTION_KIND_PARLIAMENTARY);
  EXPECT_EQ(updated.revision(), e.revision() + 1);
  EXPECT_EQ(updated.election().revision(), updated.revision());
  EXPECT_NE(updated.election().etag(), e.etag());
  EXPECT_TRUE(ProtoEquals(updated.election().create_time(), e.create_time()));
  rv1::GetElectionRequest get;
  get.set_name(e.name());
  std::string diff;
  EXPECT_TRUE(ProtoEquals(MUST(client().GetElection(get)).election(), updated.election(), &diff))
      << diff;

  // The old etag no longer matches.
  const int64_t head = Head();
  req.mutable_election()->set_display_name("Stale");
  EXPECT_THAT(client().UpdateElection(req), StatusIs(kAborted, "ETAG_MISMATCH"));
  // Unknown and non-updatable paths.
  rv1::UpdateElectionRequest bad;
  *bad.mutable_election() = updated.election();
  bad.mutable_update_mask()->add_paths("no_such_field");
  EXPECT_THAT(client().UpdateElection(bad), HasViolation("update_mask"));
  bad.mutable_update_mask()->set_paths(0, "host_country");
  EXPECT_THAT(client().UpdateElection(bad), HasViolation("update_mask"));
  rv1::UpdateElectionRequest missing;
  missing.mutable_election()->set_name("elections/missing");
  missing.mutable_election()->set_display_name("x");
  missing.mutable_update_mask()->add_paths("display_name");
  EXPECT_THAT(client().UpdateElection(missing), StatusIs(kNotFound, "NOT_FOUND"));
  EXPECT_EQ(Head(), head);

  // Without an etag the update applies; the deadline can be overridden and reset.
  rv1::UpdateElectionRequest deadline;
  deadline.mutable_election()->set_name(e.name());
  *deadline.mutable_election()->mutable_accreditation_deadline() = Ts("2030-05-01T00:00:00Z");
  deadline.mutable_update_mask()->add_paths("accreditation_deadline");
  ASSERT_OK_AND_ASSIGN(auto overridden, client().UpdateElection(deadline));
  EXPECT_EQ(FormatTs(overridden.election().accreditation_deadline()), "2030-05-01T00:00:00Z");
  EXPECT_EQ(overridden.election().display_name(), "Renamed");
  deadline.mutable_election()->clear_accreditation_deadline();
  ASSERT_OK_AND_ASSIGN(auto reset, client().UpdateElection(deadline));
  EXPECT_EQ(FormatTs(reset.election().accreditation_deadline()), default_deadline);
  EXPECT_EQ(reset.revision(), head + 2);
}

// ---------------------------------------------------------------------------------------------
// Organisations

TEST_F(RegistryApiTest, OrganisationsCreateGetListUpdate) {
  auto osce_req = NewOrganisation("OSCE", "Organization for Security and Co-operation in Europe");
  ASSERT_OK_AND_ASSIGN(auto osce, client().CreateOrganisation(osce_req));
  EXPECT_EQ(osce.organisation().name(), "organisations/OSCE");
  EXPECT_EQ(osce.organisation().names().en(), osce_req.organisation().names().en());
  EXPECT_FALSE(osce.organisation().etag().empty());
  EXPECT_EQ(osce.organisation().revision(), osce.revision());

  auto odihr_req = NewOrganisation("OSCE-ODIHR", "OSCE Office for Democratic Institutions");
  odihr_req.mutable_organisation()->mutable_names()->set_ru("БДИПЧ ОБСЕ");
  odihr_req.mutable_organisation()->set_parent("organisations/OSCE");
  auto* alias = odihr_req.mutable_organisation()->add_aliases();
  alias->mutable_names()->set_en("ODIHR");
  *alias->mutable_valid_from() = MakeDate(1992, 1, 1);
  ASSERT_OK_AND_ASSIGN(auto odihr, client().CreateOrganisation(odihr_req));
  EXPECT_EQ(odihr.organisation().parent(), "organisations/OSCE");
  EXPECT_EQ(odihr.organisation().names().ru(), "БДИПЧ ОБСЕ");
  ASSERT_THAT(odihr.organisation().aliases(), SizeIs(1));
  EXPECT_EQ(odihr.revision(), osce.revision() + 1);
  rv1::Organisation cis = CreateOrganisation(NewOrganisation("CIS-EC", "CIS Executive Committee"));

  rv1::GetOrganisationRequest get;
  get.set_name("organisations/OSCE-ODIHR");
  std::string diff;
  EXPECT_TRUE(
      ProtoEquals(MUST(client().GetOrganisation(get)).organisation(), odihr.organisation(), &diff))
      << diff;
  get.set_name("organisations/NOPE");
  EXPECT_THAT(client().GetOrganisation(get), StatusIs(kNotFound, "NOT_FOUND"));

  // Code order, paginated.
  rv1::ListOrganisationsRequest list;
  list.set_page_size(2);
  ASSERT_OK_AND_ASSIGN(auto p1, client().ListOrganisations(list));
  ASSERT_THAT(p1.organisations(), SizeIs(2));
  EXPECT_EQ(p1.organisations(0).name(), "organisations/CIS-EC");
  EXPECT_EQ(p1.organisations(1).name(), "organisations/OSCE");
  EXPECT_EQ(p1.revision(), cis.revision());
  list.set_page_token(p1.next_page_token());
  ASSERT_OK_AND_ASSIGN(auto p2, client().ListOrganisations(list));
  ASSERT_THAT(p2.organisations(), SizeIs(1));
  EXPECT_EQ(p2.organisations(0).name(), "organisations/OSCE-ODIHR");
  EXPECT_TRUE(p2.next_page_token().empty());

  // Update names with etag; renames keep the code.
  rv1::UpdateOrganisationRequest upd;
  *upd.mutable_organisation() = cis;
  upd.mutable_organisation()->mutable_names()->set_en("Executive Committee of the CIS");
  upd.mutable_update_mask()->add_paths("names");
  ASSERT_OK_AND_ASSIGN(auto renamed, client().UpdateOrganisation(upd));
  EXPECT_EQ(renamed.organisation().names().en(), "Executive Committee of the CIS");
  EXPECT_EQ(renamed.organisation().name(), "organisations/CIS-EC");
  EXPECT_EQ(renamed.revision(), cis.revision() + 1);
  EXPECT_NE(renamed.organisation().etag(), cis.etag());

  const int64_t head = Head();
  EXPECT_THAT(client().UpdateOrganisation(upd), StatusIs(kAborted, "ETAG_MISMATCH"));
  EXPECT_THAT(client().CreateOrganisation(NewOrganisation("OSCE", "Again")),
              StatusIs(kAlreadyExists, "ALREADY_EXISTS"));
  EXPECT_THAT(client().CreateOrganisation(NewOrganisation("NO-NAME", "")),
              HasViolation("organisation.names.en"));
  EXPECT_THAT(client().CreateOrganisation(NewOrganisation("", "No code")),
              HasViolation("organisation_code"));
  EXPECT_THAT(client().CreateOrganisation(NewOrganisation("lower", "Lower case code")),
              HasViolation("organisation_code"));
  EXPECT_EQ(Head(), head);
}

// ---------------------------------------------------------------------------------------------
// Observers: create, get, validation

TEST_F(RegistryApiTest, CreateObserverAndGetIt) {
  const std::string election = OpenElection();
  CreateOrganisation(NewOrganisation("OSCE-ODIHR", "ODIHR"));
  auto req = NewObserverRequest(election, 1);
  req.mutable_observer()->mutable_sending_body()->set_organisation("organisations/OSCE-ODIHR");
  req.mutable_observer()->add_tags("batch-1");
  const absl::Time before = absl::Now();
  ASSERT_OK_AND_ASSIGN(auto created, client().CreateObserver(req));
  const absl::Time after = absl::Now();
  const rv1::Observer& o = created.observer();
  EXPECT_THAT(o.name(), StartsWith(election + "/observers/"));
  EXPECT_GT(o.name().size(), (election + "/observers/").size());
  EXPECT_EQ(o.status(), rv1::OBSERVER_STATUS_SUBMITTED);
  EXPECT_EQ(o.given_names(), req.observer().given_names());
  EXPECT_EQ(o.family_name(), req.observer().family_name());
  EXPECT_EQ(o.latin_given_names(), req.observer().latin_given_names());
  EXPECT_EQ(o.latin_family_name(), req.observer().latin_family_name());
  EXPECT_EQ(o.citizenship(), "DE");
  EXPECT_EQ(o.gender(), rv1::GENDER_FEMALE);
  EXPECT_EQ(o.sending_body().organisation(), "organisations/OSCE-ODIHR");
  EXPECT_EQ(o.category(), rv1::OBSERVER_CATEGORY_SHORT_TERM);
  EXPECT_EQ(o.submission_reference(), req.observer().submission_reference());
  EXPECT_THAT(o.tags(), ElementsAre("batch-1"));
  EXPECT_TRUE(o.badge_number().empty());
  EXPECT_FALSE(o.etag().empty());
  EXPECT_EQ(o.revision(), created.revision());
  EXPECT_EQ(created.revision(), Head());
  ASSERT_TRUE(o.has_received_time());
  EXPECT_GE(FromProto(o.received_time()), before - absl::Seconds(5));
  EXPECT_LE(FromProto(o.received_time()), after + absl::Seconds(5));
  EXPECT_TRUE(o.has_create_time());

  rv1::GetObserverRequest get;
  get.set_name(o.name());
  ASSERT_OK_AND_ASSIGN(auto got, client().GetObserver(get));
  std::string diff;
  EXPECT_TRUE(ProtoEquals(got.observer(), o, &diff)) << diff;
  EXPECT_EQ(got.revision(), created.revision());

  // A received time in the past is kept; a foreign state as sending body.
  auto past = NewObserverRequest(election, 2, "FR");
  *past.mutable_observer()->mutable_received_time() = Ts("2025-01-02T03:04:05Z");
  ASSERT_OK_AND_ASSIGN(auto created2, client().CreateObserver(past));
  EXPECT_EQ(FormatTs(created2.observer().received_time()), "2025-01-02T03:04:05Z");
  EXPECT_EQ(created2.observer().sending_body().state(), "FR");
  EXPECT_EQ(created2.revision(), created.revision() + 1);

  get.set_name(election + "/observers/doesnotexist0");  // Well-formed, unknown.
  EXPECT_THAT(client().GetObserver(get), StatusIs(kNotFound, "NOT_FOUND"));
  get.set_name(election + "/observers/Not_An-Id!");
  EXPECT_THAT(client().GetObserver(get), AnyOf(StatusIs(kInvalidArgument), StatusIs(kNotFound)));
  get.set_name("elections/nope/observers/x");
  EXPECT_THAT(client().GetObserver(get), StatusIs(kNotFound, "NOT_FOUND"));
}

TEST_F(RegistryApiTest, CreateObserverValidationNamesEachBadField) {
  const std::string election = OpenElection();
  const int64_t head = Head();
  struct Case {
    std::string field;
    std::function<void(rv1::CreateObserverRequest&)> mutate;
  };
  const std::vector<Case> cases = {
      {"observer.citizenship", [](auto& r) { r.mutable_observer()->set_citizenship("XX"); }},
      {"observer.citizenship", [](auto& r) { r.mutable_observer()->clear_citizenship(); }},
      {"observer.given_names", [](auto& r) { r.mutable_observer()->set_given_names(""); }},
      {"observer.family_name", [](auto& r) { r.mutable_observer()->set_family_name(""); }},
      {"observer.id_document.number",
       [](auto& r) { r.mutable_observer()->mutable_id_document()->set_number(""); }},
      {"observer.id_document.issuing_country",
       [](auto& r) { r.mutable_observer()->mutable_id_document()->set_issuing_country("XX"); }},
      {"observer.sending_body.organisation",
       [](auto& r) {
         r.mutable_observer()->mutable_sending_body()->set_organisation("organisations/NOPE");
       }},
      {"observer.sending_body.state",
       [](auto& r) { r.mutable_observer()->mutable_sending_body()->set_state("XX"); }},
      {"observer.category",
       [](auto& r) { r.mutable_observer()->set_category(rv1::OBSERVER_CATEGORY_UNSPECIFIED); }},
      {"observer.received_time",
       [](auto& r) {
         *r.mutable_observer()->mutable_received_time() = ToProto(absl::Now() + absl::Hours(1));
       }},
      {"request_id", [](auto& r) { r.set_request_id(std::string(129, 'r')); }},
      {"request_id", [](auto& r) { r.set_request_id("bad\x01id"); }},
  };
  int64_t seq = 100;
  for (const Case& c : cases) {
    auto req = NewObserverRequest(election, seq++);
    c.mutate(req);
    EXPECT_THAT(client().CreateObserver(req), HasViolation(c.field))
        << "request: " << req.ShortDebugString();
  }
  // All bad fields of one request are named together.
  auto req = NewObserverRequest(election, seq++);
  req.mutable_observer()->set_citizenship("XX");
  req.mutable_observer()->set_given_names("");
  req.mutable_observer()->mutable_id_document()->set_number("");
  auto multi = client().CreateObserver(req);
  EXPECT_THAT(multi, HasViolation("observer.citizenship"));
  EXPECT_THAT(multi, HasViolation("observer.given_names"));
  EXPECT_THAT(multi, HasViolation("observer.id_document.number"));

  // A parent that does not exist.
  EXPECT_THAT(client().CreateObserver(NewObserverRequest("elections/nope", seq++)),
              StatusIs(kNotFound, "NOT_FOUND"));
  rv1::ListObserversRequest list;
  list.set_parent("elections/nope");
  EXPECT_THAT(client().ListObservers(list), StatusIs(kNotFound, "NOT_FOUND"));

  EXPECT_EQ(Head(), head);
  EXPECT_THAT(MUST(client().AllObservers(election)), IsEmpty());
}

TEST_F(RegistryApiTest, DuplicateIdDocumentInOneElection) {
  const std::string election = OpenElection("e1");
  const std::string other_election = OpenElection("e2");
  auto first = NewObserverRequest(election, 1);
  first.mutable_observer()->mutable_id_document()->set_number("C01X4567");
  rv1::Observer a = MUST(client().CreateObserver(first)).observer();
  const int64_t head = Head();

  auto same = NewObserverRequest(election, 2);  // Another person's names, same document.
  *same.mutable_observer()->mutable_id_document() = first.observer().id_document();
  EXPECT_THAT(client().CreateObserver(same), StatusIs(kAlreadyExists, "DUPLICATE_ID_DOCUMENT"));
  // Spaces and '-' are ignored when comparing numbers.
  same.mutable_observer()->mutable_id_document()->set_number("C01-X45 67");
  EXPECT_THAT(client().CreateObserver(same), StatusIs(kAlreadyExists, "DUPLICATE_ID_DOCUMENT"));
  EXPECT_EQ(Head(), head);

  // Another issuing country, another document type, or another election: fine.
  auto other_country = same;
  other_country.mutable_observer()->mutable_id_document()->set_number("C01X4567");
  other_country.mutable_observer()->mutable_id_document()->set_issuing_country("FR");
  EXPECT_OK(client().CreateObserver(other_country));
  auto other_type = same;
  other_type.mutable_observer()->mutable_id_document()->set_number("C01X4567");
  other_type.mutable_observer()->mutable_id_document()->set_type(
      rv1::ID_DOCUMENT_TYPE_DIPLOMATIC_PASSPORT);
  EXPECT_OK(client().CreateObserver(other_type));
  auto elsewhere = first;
  elsewhere.set_parent(other_election);
  EXPECT_OK(client().CreateObserver(elsewhere));
  EXPECT_EQ(Head(), head + 3);

  // Updating another record onto the same document is refused too.
  rv1::Observer b = MUST(client().CreateObserver(NewObserverRequest(election, 3))).observer();
  rv1::UpdateObserverRequest upd;
  upd.mutable_observer()->set_name(b.name());
  *upd.mutable_observer()->mutable_id_document() = a.id_document();
  upd.mutable_update_mask()->add_paths("id_document");
  EXPECT_THAT(client().UpdateObserver(upd), StatusIs(kAlreadyExists, "DUPLICATE_ID_DOCUMENT"));
}

TEST_F(RegistryApiTest, HostCountryCitizenIsRefused) {
  const std::string election = OpenElection();  // Host KZ.
  const int64_t head = Head();
  auto req = NewObserverRequest(election, 1, "DE");
  req.mutable_observer()->set_citizenship("KZ");
  EXPECT_THAT(client().CreateObserver(req), StatusIs(kFailedPrecondition, "HOST_COUNTRY_CITIZEN"));
  EXPECT_EQ(Head(), head);

  // Also when the citizenship is changed later.
  rv1::Observer o = CreateObserver(election);
  rv1::UpdateObserverRequest upd;
  upd.mutable_observer()->set_name(o.name());
  upd.mutable_observer()->set_citizenship("KZ");
  upd.mutable_update_mask()->add_paths("citizenship");
  EXPECT_THAT(client().UpdateObserver(upd), StatusIs(kFailedPrecondition, "HOST_COUNTRY_CITIZEN"));
  // A French election has no objection to Kazakh citizens.
  const std::string fr = CreateElection(FutureElection("fr-2030", "FR", "Europe/Paris")).name();
  auto kz_citizen = NewObserverRequest(fr, 2, "KZ");
  EXPECT_OK(client().CreateObserver(kz_citizen));
}

// ---------------------------------------------------------------------------------------------
// The accreditation deadline (Kazakhstan, 10 Jan 2021: closes 2021-01-04T12:00:00Z)

TEST_F(RegistryApiTest, SubmissionDeadlineUsesReceivedTime) {
  const std::string election = CreateElection(Kz2021Election("kz-2021")).name();
  auto ok = NewObserverRequest(election, 1);
  *ok.mutable_observer()->mutable_received_time() = Ts("2021-01-04T11:59:59Z");
  ASSERT_OK_AND_ASSIGN(auto created, client().CreateObserver(ok));
  EXPECT_EQ(FormatTs(created.observer().received_time()), "2021-01-04T11:59:59Z");

  auto at_deadline = NewObserverRequest(election, 2);
  *at_deadline.mutable_observer()->mutable_received_time() = Ts("2021-01-04T12:00:00Z");
  EXPECT_OK(client().CreateObserver(at_deadline));

  const int64_t head = Head();
  auto late = NewObserverRequest(election, 3);
  *late.mutable_observer()->mutable_received_time() = Ts("2021-01-04T12:00:01Z");
  EXPECT_THAT(client().CreateObserver(late), StatusIs(kFailedPrecondition, "ACCREDITATION_CLOSED"));
  // Without a received time the submission is received now: long after the deadline.
  EXPECT_THAT(client().CreateObserver(NewObserverRequest(election, 4)),
              StatusIs(kFailedPrecondition, "ACCREDITATION_CLOSED"));
  EXPECT_EQ(Head(), head);
}

TEST_F(RegistryApiTest, AccreditationDeadlineUsesDecisionTime) {
  const std::string election = CreateElection(Kz2021Election("kz-2021")).name();
  auto sub = NewObserverRequest(election, 1);
  *sub.mutable_observer()->mutable_received_time() = Ts("2021-01-03T09:00:00Z");
  rv1::Observer o = MUST(client().CreateObserver(sub)).observer();
  const int64_t head = Head();

  rv1::AccreditObserverRequest late;
  late.set_name(o.name());
  *late.mutable_decision_time() = Ts("2021-01-05T10:00:00Z");
  late.set_decision_reference("CEC-2021-99");
  EXPECT_THAT(client().AccreditObserver(late),
              StatusIs(kFailedPrecondition, "ACCREDITATION_CLOSED"));
  late.clear_decision_time();  // Now.
  EXPECT_THAT(client().AccreditObserver(late),
              StatusIs(kFailedPrecondition, "ACCREDITATION_CLOSED"));
  EXPECT_EQ(Head(), head);
  rv1::GetObserverRequest get;
  get.set_name(o.name());
  EXPECT_EQ(MUST(client().GetObserver(get)).observer().status(), rv1::OBSERVER_STATUS_SUBMITTED);

  rv1::AccreditObserverRequest in_time;
  in_time.set_name(o.name());
  *in_time.mutable_decision_time() = Ts("2021-01-04T11:00:00Z");
  in_time.set_decision_reference("CEC-2021-12");
  ASSERT_OK_AND_ASSIGN(auto accredited, client().AccreditObserver(in_time));
  EXPECT_EQ(accredited.observer().status(), rv1::OBSERVER_STATUS_ACCREDITED);
  EXPECT_EQ(FormatTs(accredited.observer().decision_time()), "2021-01-04T11:00:00Z");
  EXPECT_EQ(accredited.observer().decision_reference(), "CEC-2021-12");
  EXPECT_EQ(accredited.revision(), head + 1);
}

TEST_F(RegistryApiTest, DecisionTimeInTheFutureIsInvalid) {
  const std::string election = OpenElection();
  rv1::Observer o = CreateObserver(election);
  const int64_t head = Head();
  rv1::AccreditObserverRequest req;
  req.set_name(o.name());
  *req.mutable_decision_time() = ToProto(absl::Now() + absl::Hours(2));
  EXPECT_THAT(client().AccreditObserver(req), HasViolation("decision_time"));
  rv1::RejectObserverRequest reject;
  reject.set_name(o.name());
  reject.set_reason("incomplete");
  *reject.mutable_decision_time() = ToProto(absl::Now() + absl::Hours(2));
  EXPECT_THAT(client().RejectObserver(reject), HasViolation("decision_time"));
  EXPECT_EQ(Head(), head);
}

// ---------------------------------------------------------------------------------------------
// Status lifecycle

TEST_F(RegistryApiTest, FullStatusLifecycle) {
  const std::string election = OpenElection();
  rv1::Observer o = CreateObserver(election);
  int64_t rev = o.revision();
  std::string etag = o.etag();
  auto step = [&](const rv1::Observer& next, int64_t response_revision,
                  rv1::ObserverStatus status) {
    EXPECT_EQ(next.status(), status);
    EXPECT_EQ(response_revision, rev + 1);
    EXPECT_EQ(next.revision(), response_revision);
    EXPECT_NE(next.etag(), etag);
    rev = response_revision;
    etag = next.etag();
  };

  rv1::AccreditObserverRequest accredit;
  accredit.set_name(o.name());
  accredit.set_etag(etag);
  accredit.set_decision_reference("CEC-2030-1");
  ASSERT_OK_AND_ASSIGN(auto a, client().AccreditObserver(accredit));
  step(a.observer(), a.revision(), rv1::OBSERVER_STATUS_ACCREDITED);
  EXPECT_FALSE(a.observer().badge_number().empty());
  EXPECT_EQ(a.observer().decision_reference(), "CEC-2030-1");
  EXPECT_TRUE(a.observer().has_decision_time());
  const std::string badge = a.observer().badge_number();

  rv1::SuspendObserverRequest suspend;
  suspend.set_name(o.name());
  suspend.set_etag(etag);
  suspend.set_reason("Left the country");
  suspend.set_decision_reference("CEC-2030-2");
  ASSERT_OK_AND_ASSIGN(auto s, client().SuspendObserver(suspend));
  step(s.observer(), s.revision(), rv1::OBSERVER_STATUS_SUSPENDED);
  EXPECT_EQ(s.observer().status_reason(), "Left the country");
  EXPECT_EQ(s.observer().decision_reference(), "CEC-2030-2");
  EXPECT_EQ(s.observer().badge_number(), badge);

  rv1::ReinstateObserverRequest reinstate;
  reinstate.set_name(o.name());
  reinstate.set_etag(etag);
  reinstate.set_reason("Returned");
  ASSERT_OK_AND_ASSIGN(auto r, client().ReinstateObserver(reinstate));
  step(r.observer(), r.revision(), rv1::OBSERVER_STATUS_ACCREDITED);
  EXPECT_EQ(r.observer().badge_number(), badge);

  rv1::WithdrawObserverRequest withdraw;
  withdraw.set_name(o.name());
  withdraw.set_etag(etag);
  withdraw.set_reason("Mission ended early");
  ASSERT_OK_AND_ASSIGN(auto w, client().WithdrawObserver(withdraw));
  step(w.observer(), w.revision(), rv1::OBSERVER_STATUS_WITHDRAWN);
  EXPECT_EQ(w.observer().status_reason(), "Mission ended early");
  EXPECT_EQ(w.observer().badge_number(), badge);

  // Suspended observers can be withdrawn too.
  rv1::Observer o2 = Accredit(CreateObserver(election).name());
  suspend.set_name(o2.name());
  suspend.clear_etag();
  EXPECT_OK(client().SuspendObserver(suspend));
  withdraw.set_name(o2.name());
  withdraw.clear_etag();
  ASSERT_OK_AND_ASSIGN(auto w2, client().WithdrawObserver(withdraw));
  EXPECT_EQ(w2.observer().status(), rv1::OBSERVER_STATUS_WITHDRAWN);

  // Rejection.
  rv1::Observer o3 = CreateObserver(election);
  rv1::RejectObserverRequest reject;
  reject.set_name(o3.name());
  reject.set_reason("Incomplete submission");
  reject.set_decision_reference("CEC-2030-3");
  ASSERT_OK_AND_ASSIGN(auto rej, client().RejectObserver(reject));
  EXPECT_EQ(rej.observer().status(), rv1::OBSERVER_STATUS_REJECTED);
  EXPECT_EQ(rej.observer().status_reason(), "Incomplete submission");
  EXPECT_TRUE(rej.observer().badge_number().empty());
  EXPECT_EQ(rej.revision(), o3.revision() + 1);

  rv1::GetObserverRequest get;
  get.set_name(o.name());
  std::string diff;
  EXPECT_TRUE(ProtoEquals(MUST(client().GetObserver(get)).observer(), w.observer(), &diff)) << diff;
}

TEST_F(RegistryApiTest, InvalidStatusTransitions) {
  const std::string election = OpenElection();
  rv1::Observer submitted = CreateObserver(election);
  rv1::Observer accredited = Accredit(CreateObserver(election).name());
  rv1::Observer rejected = CreateObserver(election);
  {
    rv1::RejectObserverRequest r;
    r.set_name(rejected.name());
    r.set_reason("no");
    rejected = MUST(client().RejectObserver(r)).observer();
  }
  rv1::Observer withdrawn = Accredit(CreateObserver(election).name());
  {
    rv1::WithdrawObserverRequest w;
    w.set_name(withdrawn.name());
    w.set_reason("gone");
    withdrawn = MUST(client().WithdrawObserver(w)).observer();
  }
  const int64_t head = Head();
  const auto bad = StatusIs(kInvalidArgument, "INVALID_STATUS_TRANSITION");

  auto reject = [&](const rv1::Observer& o) {
    rv1::RejectObserverRequest r;
    r.set_name(o.name());
    r.set_reason("x");
    return client().RejectObserver(r);
  };
  auto suspend = [&](const rv1::Observer& o) {
    rv1::SuspendObserverRequest r;
    r.set_name(o.name());
    r.set_reason("x");
    return client().SuspendObserver(r);
  };
  auto withdraw = [&](const rv1::Observer& o) {
    rv1::WithdrawObserverRequest r;
    r.set_name(o.name());
    r.set_reason("x");
    return client().WithdrawObserver(r);
  };
  auto reinstate = [&](const rv1::Observer& o) {
    rv1::ReinstateObserverRequest r;
    r.set_name(o.name());
    r.set_reason("x");
    return client().ReinstateObserver(r);
  };
  auto accredit = [&](const rv1::Observer& o) {
    rv1::AccreditObserverRequest r;
    r.set_name(o.name());
    return client().AccreditObserver(r);
  };
  EXPECT_THAT(reject(accredited), bad);
  EXPECT_THAT(suspend(submitted), bad);
  EXPECT_THAT(withdraw(rejected), bad);
  EXPECT_THAT(withdraw(submitted), bad);
  EXPECT_THAT(reinstate(accredited), bad);
  EXPECT_THAT(reinstate(submitted), bad);
  EXPECT_THAT(accredit(accredited), bad);
  EXPECT_THAT(accredit(rejected), bad);
  EXPECT_THAT(accredit(withdrawn), bad);
  EXPECT_THAT(suspend(withdrawn), bad);
  EXPECT_THAT(reject(rejected), bad);
  EXPECT_EQ(Head(), head);

  // Unknown records are NOT_FOUND, whatever the method.
  rv1::Observer ghost;
  ghost.set_name(election + "/observers/ghost");
  EXPECT_THAT(accredit(ghost), StatusIs(kNotFound, "NOT_FOUND"));
  EXPECT_THAT(suspend(ghost), StatusIs(kNotFound, "NOT_FOUND"));
  EXPECT_EQ(Head(), head);
}

TEST_F(RegistryApiTest, SuspendAndWithdrawRequireAReason) {
  const std::string election = OpenElection();
  rv1::Observer o = Accredit(CreateObserver(election).name());
  const int64_t head = Head();
  rv1::SuspendObserverRequest suspend;
  suspend.set_name(o.name());
  EXPECT_THAT(client().SuspendObserver(suspend), HasViolation("reason"));
  rv1::WithdrawObserverRequest withdraw;
  withdraw.set_name(o.name());
  EXPECT_THAT(client().WithdrawObserver(withdraw), HasViolation("reason"));
  EXPECT_EQ(Head(), head);
}

TEST_F(RegistryApiTest, BadgeNumbersAreUniqueAndNeverReused) {
  const std::string election = OpenElection("e1");
  const std::string other = OpenElection("e2");
  rv1::Observer a = CreateObserver(election);
  rv1::AccreditObserverRequest req;
  req.set_name(a.name());
  req.set_badge_number("KZ-0001");
  ASSERT_OK_AND_ASSIGN(auto accredited, client().AccreditObserver(req));
  EXPECT_EQ(accredited.observer().badge_number(), "KZ-0001");

  rv1::Observer b = CreateObserver(election);
  req.set_name(b.name());
  int64_t head = Head();
  EXPECT_THAT(client().AccreditObserver(req), StatusIs(kAlreadyExists, "BADGE_NUMBER_TAKEN"));
  EXPECT_EQ(Head(), head);

  // Deleting the holder does not free the number.
  rv1::DeleteObserverRequest del;
  del.set_name(a.name());
  ASSERT_OK(client().DeleteObserver(del));
  head = Head();
  EXPECT_THAT(client().AccreditObserver(req), StatusIs(kAlreadyExists, "BADGE_NUMBER_TAKEN"));
  EXPECT_EQ(Head(), head);

  // Another election has its own numbers.
  rv1::Observer c = CreateObserver(other);
  req.set_name(c.name());
  EXPECT_OK(client().AccreditObserver(req));

  // Assigned numbers are distinct and avoid the chosen one.
  std::set<std::string> badges = {"KZ-0001"};
  for (int i = 0; i < 8; ++i) {
    rv1::Observer x = Accredit(CreateObserver(election).name());
    EXPECT_FALSE(x.badge_number().empty());
    EXPECT_TRUE(badges.insert(x.badge_number()).second) << "reused " << x.badge_number();
  }
  rv1::AccreditObserverRequest b_auto;
  b_auto.set_name(b.name());
  ASSERT_OK_AND_ASSIGN(auto b_accredited, client().AccreditObserver(b_auto));
  EXPECT_TRUE(badges.insert(b_accredited.observer().badge_number()).second);
}

TEST_F(RegistryApiTest, EtagMismatchIsAborted) {
  const std::string election = OpenElection();
  rv1::Observer o = CreateObserver(election);
  const int64_t head = Head();
  const auto mismatch = StatusIs(kAborted, "ETAG_MISMATCH");

  rv1::AccreditObserverRequest accredit;
  accredit.set_name(o.name());
  accredit.set_etag("not-the-etag");
  EXPECT_THAT(client().AccreditObserver(accredit), mismatch);
  rv1::RejectObserverRequest reject;
  reject.set_name(o.name());
  reject.set_etag("not-the-etag");
  reject.set_reason("x");
  EXPECT_THAT(client().RejectObserver(reject), mismatch);
  rv1::UpdateObserverRequest upd;
  upd.mutable_observer()->set_name(o.name());
  upd.mutable_observer()->set_etag("not-the-etag");
  upd.mutable_observer()->set_family_name("Other");
  upd.mutable_update_mask()->add_paths("family_name");
  EXPECT_THAT(client().UpdateObserver(upd), mismatch);
  rv1::DeleteObserverRequest del;
  del.set_name(o.name());
  del.set_etag("not-the-etag");
  EXPECT_THAT(client().DeleteObserver(del), mismatch);
  EXPECT_EQ(Head(), head);

  // After a change, the old etag is stale.
  upd.mutable_observer()->set_etag(o.etag());
  ASSERT_OK_AND_ASSIGN(auto updated, client().UpdateObserver(upd));
  accredit.set_etag(o.etag());
  EXPECT_THAT(client().AccreditObserver(accredit), mismatch);
  accredit.set_etag(updated.observer().etag());
  EXPECT_OK(client().AccreditObserver(accredit));
}

// ---------------------------------------------------------------------------------------------
// Update and delete

TEST_F(RegistryApiTest, UpdateObserverAppliesOnlyTheMask) {
  const std::string election = OpenElection();
  rv1::Observer o = CreateObserver(election);
  rv1::UpdateObserverRequest upd;
  *upd.mutable_observer() = o;
  upd.mutable_observer()->set_family_name("Mueller");
  upd.mutable_observer()->add_tags("vip");
  upd.mutable_observer()->set_test(true);
  upd.mutable_observer()->set_given_names("NotApplied");                   // Not in the mask.
  upd.mutable_observer()->set_category(rv1::OBSERVER_CATEGORY_CORE_TEAM);  // Not in the mask.
  upd.mutable_update_mask()->add_paths("family_name");
  upd.mutable_update_mask()->add_paths("tags");
  upd.mutable_update_mask()->add_paths("test");
  ASSERT_OK_AND_ASSIGN(auto updated, client().UpdateObserver(upd));
  const rv1::Observer& u = updated.observer();
  EXPECT_EQ(u.family_name(), "Mueller");
  EXPECT_THAT(u.tags(), ElementsAre("vip"));
  EXPECT_TRUE(u.test());
  EXPECT_EQ(u.given_names(), o.given_names());
  EXPECT_EQ(u.category(), o.category());
  EXPECT_EQ(u.status(), rv1::OBSERVER_STATUS_SUBMITTED);
  EXPECT_EQ(u.name(), o.name());
  EXPECT_EQ(updated.revision(), o.revision() + 1);
  EXPECT_EQ(u.revision(), updated.revision());
  EXPECT_NE(u.etag(), o.etag());
  EXPECT_TRUE(ProtoEquals(u.create_time(), o.create_time()));
  EXPECT_GE(FromProto(u.update_time()), FromProto(o.update_time()));
  rv1::GetObserverRequest get;
  get.set_name(o.name());
  std::string diff;
  EXPECT_TRUE(ProtoEquals(MUST(client().GetObserver(get)).observer(), u, &diff)) << diff;

  // Sending body can change to an existing organisation only.
  CreateOrganisation(NewOrganisation("OSCE-ODIHR", "ODIHR"));
  rv1::UpdateObserverRequest body;
  body.mutable_observer()->set_name(o.name());
  body.mutable_observer()->mutable_sending_body()->set_organisation("organisations/OSCE-ODIHR");
  body.mutable_update_mask()->add_paths("sending_body");
  ASSERT_OK_AND_ASSIGN(auto moved, client().UpdateObserver(body));
  EXPECT_EQ(moved.observer().sending_body().organisation(), "organisations/OSCE-ODIHR");

  const int64_t head = Head();
  body.mutable_observer()->mutable_sending_body()->set_organisation("organisations/NOPE");
  EXPECT_THAT(client().UpdateObserver(body), HasViolation("observer.sending_body.organisation"));
  rv1::UpdateObserverRequest bad;
  bad.mutable_observer()->set_name(o.name());
  bad.mutable_update_mask()->add_paths("no_such_field");
  EXPECT_THAT(client().UpdateObserver(bad), HasViolation("update_mask"));
  bad.mutable_update_mask()->set_paths(0, "status");
  bad.mutable_observer()->set_status(rv1::OBSERVER_STATUS_ACCREDITED);
  EXPECT_THAT(client().UpdateObserver(bad), HasViolation("update_mask"));
  bad.mutable_update_mask()->set_paths(0, "citizenship");
  bad.mutable_observer()->set_citizenship("XX");
  EXPECT_THAT(client().UpdateObserver(bad), HasViolation("observer.citizenship"));
  bad.mutable_observer()->set_name(election + "/observers/ghost");
  bad.mutable_observer()->set_citizenship("FR");
  EXPECT_THAT(client().UpdateObserver(bad), StatusIs(kNotFound, "NOT_FOUND"));
  EXPECT_EQ(Head(), head);
}

TEST_F(RegistryApiTest, DeleteObserver) {
  const std::string election = OpenElection();
  rv1::Observer keep = CreateObserver(election);
  rv1::Observer o = CreateObserver(election);
  rv1::DeleteObserverRequest del;
  del.set_name(o.name());
  del.set_etag(o.etag());
  ASSERT_OK_AND_ASSIGN(auto deleted, client().DeleteObserver(del));
  EXPECT_EQ(deleted.revision(), o.revision() + 1);
  EXPECT_EQ(Head(), deleted.revision());
  rv1::GetObserverRequest get;
  get.set_name(o.name());
  EXPECT_THAT(client().GetObserver(get), StatusIs(kNotFound, "NOT_FOUND"));
  EXPECT_THAT(Names(MUST(client().AllObservers(election))), ElementsAre(keep.name()));
  del.clear_etag();
  EXPECT_THAT(client().DeleteObserver(del), StatusIs(kNotFound, "NOT_FOUND"));
  EXPECT_EQ(Head(), deleted.revision());
  // The document may be submitted again (a record entered by mistake).
  rv1::Observer again = CreateObserver(election);
  EXPECT_NE(again.name(), o.name());
}

// ---------------------------------------------------------------------------------------------
// Batch create

TEST_F(RegistryApiTest, BatchCreateReportsEachRow) {
  const std::string election = OpenElection();
  const int64_t head = Head();
  rv1::BatchCreateObserversRequest batch;
  batch.set_parent(election);
  for (int i = 0; i < 6; ++i) *batch.add_requests() = NewObserverRequest("", 200 + i);
  batch.mutable_requests(3)->mutable_observer()->set_citizenship("XX");
  // Row 5 repeats row 1's document.
  *batch.mutable_requests(5)->mutable_observer()->mutable_id_document() =
      batch.requests(1).observer().id_document();
  batch.set_all_or_nothing(false);
  ASSERT_OK_AND_ASSIGN(auto resp, client().BatchCreateObservers(batch));
  ASSERT_THAT(resp.results(), SizeIs(6));
  std::vector<int64_t> revisions;
  for (int i : {0, 1, 2, 4}) {
    const auto& r = resp.results(i);
    EXPECT_EQ(r.status().code(), 0) << "row " << i << ": " << r.status().ShortDebugString();
    EXPECT_THAT(r.observer().name(), StartsWith(election + "/observers/"));
    EXPECT_EQ(r.observer().given_names(), batch.requests(i).observer().given_names());
    EXPECT_EQ(r.observer().status(), rv1::OBSERVER_STATUS_SUBMITTED);
    revisions.push_back(r.observer().revision());
  }
  const auto& row3 = resp.results(3).status();
  EXPECT_EQ(row3.code(), static_cast<int>(kInvalidArgument));
  EXPECT_EQ(row3.reason(), "VALIDATION_FAILED");
  ASSERT_THAT(row3.field_violations(), SizeIs(1));
  EXPECT_EQ(row3.field_violations(0).field(), "observer.citizenship");
  EXPECT_FALSE(resp.results(3).has_observer());
  const auto& row5 = resp.results(5).status();
  EXPECT_EQ(row5.code(), static_cast<int>(kAlreadyExists));
  EXPECT_EQ(row5.reason(), "DUPLICATE_ID_DOCUMENT");

  // One revision per created record, contiguous; the response names the last.
  std::sort(revisions.begin(), revisions.end());
  EXPECT_THAT(revisions, ElementsAre(head + 1, head + 2, head + 3, head + 4));
  EXPECT_EQ(resp.revision(), head + 4);
  EXPECT_EQ(Head(), head + 4);
  EXPECT_THAT(MUST(client().AllObservers(election)), SizeIs(4));
}

TEST_F(RegistryApiTest, BatchCreateAllOrNothing) {
  const std::string election = OpenElection();
  const int64_t head = Head();
  rv1::BatchCreateObserversRequest batch;
  batch.set_parent(election);
  for (int i = 0; i < 6; ++i) *batch.add_requests() = NewObserverRequest("", 300 + i);
  batch.mutable_requests(3)->mutable_observer()->set_citizenship("XX");
  batch.set_all_or_nothing(true);
  EXPECT_THAT(client().BatchCreateObservers(batch),
              HasViolation("requests[3].observer.citizenship"));
  EXPECT_EQ(Head(), head);
  EXPECT_THAT(MUST(client().AllObservers(election)), IsEmpty());

  // Rows must not carry their own request_id or another parent.
  batch.mutable_requests(3)->mutable_observer()->set_citizenship("DE");
  batch.mutable_requests(2)->set_request_id("row-id");
  EXPECT_THAT(client().BatchCreateObservers(batch), StatusIs(kInvalidArgument));
  batch.mutable_requests(2)->clear_request_id();
  batch.mutable_requests(4)->set_parent("elections/other");
  EXPECT_THAT(client().BatchCreateObservers(batch), StatusIs(kInvalidArgument));
  batch.mutable_requests(4)->set_parent(election);  // Equal to the batch's parent: fine.
  EXPECT_EQ(Head(), head);

  ASSERT_OK_AND_ASSIGN(auto resp, client().BatchCreateObservers(batch));
  ASSERT_THAT(resp.results(), SizeIs(6));
  for (const auto& r : resp.results()) EXPECT_EQ(r.status().code(), 0);
  EXPECT_EQ(resp.revision(), head + 6);
  EXPECT_THAT(MUST(client().AllObservers(election)), SizeIs(6));

  // More than 1000 rows is refused.
  rv1::BatchCreateObserversRequest huge;
  huge.set_parent(election);
  for (int i = 0; i < 1001; ++i) *huge.add_requests() = NewObserverRequest("", 10000 + i);
  EXPECT_THAT(client().BatchCreateObservers(huge), StatusIs(kInvalidArgument));
  EXPECT_EQ(Head(), head + 6);
}

TEST_F(RegistryApiTest, BatchCreateDuplicateRowNamesTheExistingRecord) {
  const std::string election = OpenElection();
  auto first = NewObserverRequest(election, 400);
  const rv1::Observer existing = MUST(client().CreateObserver(first)).observer();
  rv1::BatchCreateObserversRequest batch;
  batch.set_parent(election);
  *batch.add_requests() = NewObserverRequest("", 401);
  *batch.add_requests() = NewObserverRequest("", 402);
  *batch.mutable_requests(1)->mutable_observer()->mutable_id_document() =
      first.observer().id_document();
  ASSERT_OK_AND_ASSIGN(auto resp, client().BatchCreateObservers(batch));
  ASSERT_THAT(resp.results(), SizeIs(2));
  EXPECT_EQ(resp.results(0).status().code(), 0);
  EXPECT_THAT(resp.results(0).status().metadata(), IsEmpty());
  const auto& dup = resp.results(1).status();
  EXPECT_EQ(dup.code(), static_cast<int>(kAlreadyExists));
  EXPECT_EQ(dup.reason(), "DUPLICATE_ID_DOCUMENT");
  ASSERT_EQ(dup.metadata().count("existing"), 1u);
  EXPECT_EQ(dup.metadata().at("existing"), existing.name());
  EXPECT_EQ(dup.metadata().size(), 1u);
  // The same metadata as the call-level error of CreateObserver.
  auto same = NewObserverRequest(election, 403);
  *same.mutable_observer()->mutable_id_document() = first.observer().id_document();
  const absl::Status single = client().CreateObserver(same).status();
  EXPECT_EQ(GetErrorDetails(single).metadata.at("existing"), existing.name());
}

TEST_F(RegistryApiTest, BatchCreateValidateOnlyCreatesNothing) {
  const std::string election = OpenElection();
  const int64_t head = Head();
  rv1::BatchCreateObserversRequest batch;
  batch.set_parent(election);
  for (int i = 0; i < 3; ++i) *batch.add_requests() = NewObserverRequest("", 500 + i);
  batch.set_validate_only(true);

  rv1::WatchRequest watch;
  watch.set_start_revision(head + 1);
  auto stream = client().Watch(watch);
  for (const bool all_or_nothing : {false, true}) {
    batch.set_all_or_nothing(all_or_nothing);
    ASSERT_OK_AND_ASSIGN(auto resp, client().BatchCreateObservers(batch));
    ASSERT_THAT(resp.results(), SizeIs(3));
    for (const auto& r : resp.results()) {
      EXPECT_EQ(r.status().code(), 0) << r.status().ShortDebugString();
      EXPECT_FALSE(r.has_observer());
    }
    EXPECT_EQ(resp.revision(), head);
  }
  EXPECT_EQ(Head(), head);
  EXPECT_THAT(MUST(client().AllObservers(election)), IsEmpty());

  // No event, no revision consumed: the next real write is head+1 and the first event seen.
  batch.set_validate_only(false);
  ASSERT_OK_AND_ASSIGN(auto real, client().BatchCreateObservers(batch));
  EXPECT_EQ(real.revision(), head + 3);
  EXPECT_EQ(real.results(0).observer().revision(), head + 1);
  ASSERT_OK_AND_ASSIGN(auto events, stream->EventsThrough(head + 3, absl::Seconds(15)));
  ASSERT_THAT(events, SizeIs(3));
  EXPECT_EQ(events[0].revision(), head + 1);
  EXPECT_EQ(events[0].name(), real.results(0).observer().name());
  EXPECT_THAT(MUST(client().AllObservers(election)), SizeIs(3));
}

TEST_F(RegistryApiTest, BatchCreateValidateOnlyReportsRowsLikeARealCall) {
  const std::string election = OpenElection();
  const std::string kz2021 = CreateElection(Kz2021Election("kz-2021")).name();
  auto first = NewObserverRequest(election, 600);
  const rv1::Observer existing = MUST(client().CreateObserver(first)).observer();
  const int64_t head = Head();
  rv1::BatchCreateObserversRequest batch;
  batch.set_parent(election);
  for (int i = 0; i < 5; ++i) *batch.add_requests() = NewObserverRequest("", 610 + i);
  batch.mutable_requests(1)->mutable_observer()->set_citizenship("XX");
  batch.mutable_requests(2)->mutable_observer()->set_citizenship("KZ");
  *batch.mutable_requests(3)->mutable_observer()->mutable_id_document() =
      first.observer().id_document();
  *batch.mutable_requests(4)->mutable_observer()->mutable_id_document() =
      batch.requests(0).observer().id_document();
  batch.set_validate_only(true);
  ASSERT_OK_AND_ASSIGN(auto resp, client().BatchCreateObservers(batch));
  ASSERT_THAT(resp.results(), SizeIs(5));
  EXPECT_EQ(resp.revision(), head);
  EXPECT_EQ(Head(), head);
  for (const auto& r : resp.results()) EXPECT_FALSE(r.has_observer());
  EXPECT_EQ(resp.results(0).status().code(), 0);
  const auto& invalid = resp.results(1).status();
  EXPECT_EQ(invalid.code(), static_cast<int>(kInvalidArgument));
  ASSERT_THAT(invalid.field_violations(), SizeIs(1));
  EXPECT_EQ(invalid.field_violations(0).field(), "observer.citizenship");
  EXPECT_EQ(resp.results(2).status().code(), static_cast<int>(kFailedPrecondition));
  EXPECT_EQ(resp.results(2).status().reason(), "HOST_COUNTRY_CITIZEN");
  const auto& in_store = resp.results(3).status();
  EXPECT_EQ(in_store.code(), static_cast<int>(kAlreadyExists));
  EXPECT_EQ(in_store.reason(), "DUPLICATE_ID_DOCUMENT");
  EXPECT_EQ(in_store.metadata().at("existing"), existing.name());
  const auto& in_batch = resp.results(4).status();
  EXPECT_EQ(in_batch.code(), static_cast<int>(kAlreadyExists));
  EXPECT_EQ(in_batch.reason(), "DUPLICATE_ID_DOCUMENT");
  EXPECT_EQ(in_batch.metadata().count("existing"), 0u) << "row 0's record was never created";
  EXPECT_EQ(in_batch.metadata().at("existing_row"), "0");

  // The real call: the same codes, reasons and fields per row.
  batch.set_validate_only(false);
  ASSERT_OK_AND_ASSIGN(auto real, client().BatchCreateObservers(batch));
  ASSERT_THAT(real.results(), SizeIs(5));
  for (int i = 0; i < 5; ++i) {
    const auto& a = resp.results(i).status();
    const auto& b = real.results(i).status();
    EXPECT_EQ(a.code(), b.code()) << "row " << i;
    EXPECT_EQ(a.reason(), b.reason()) << "row " << i;
    ASSERT_EQ(a.field_violations_size(), b.field_violations_size()) << "row " << i;
    for (int f = 0; f < a.field_violations_size(); ++f) {
      EXPECT_EQ(a.field_violations(f).field(), b.field_violations(f).field()) << "row " << i;
    }
  }
  EXPECT_EQ(real.results(4).status().metadata().at("existing"), real.results(0).observer().name());
  EXPECT_EQ(real.revision(), head + 1);

  // After the deadline: ACCREDITATION_CLOSED per row.
  rv1::BatchCreateObserversRequest late;
  late.set_parent(kz2021);
  late.set_validate_only(true);
  *late.add_requests() = NewObserverRequest("", 620);
  *late.mutable_requests(0)->mutable_observer()->mutable_received_time() =
      Ts("2021-01-05T00:00:00Z");
  ASSERT_OK_AND_ASSIGN(auto closed, client().BatchCreateObservers(late));
  EXPECT_EQ(closed.results(0).status().code(), static_cast<int>(kFailedPrecondition));
  EXPECT_EQ(closed.results(0).status().reason(), "ACCREDITATION_CLOSED");
  EXPECT_EQ(Head(), head + 1);
}

TEST_F(RegistryApiTest, BatchCreateValidateOnlyAllOrNothingFailsLikeARealCall) {
  const std::string election = OpenElection();
  auto first = NewObserverRequest(election, 700);
  MUST(client().CreateObserver(first));
  const int64_t head = Head();
  rv1::BatchCreateObserversRequest batch;
  batch.set_parent(election);
  batch.set_all_or_nothing(true);
  for (int i = 0; i < 3; ++i) *batch.add_requests() = NewObserverRequest("", 710 + i);

  struct Case {
    std::string what;
    std::function<void(rv1::Observer&)> mutate;
    absl::StatusCode code;
    std::string reason;
    std::string field;
  };
  const std::vector<Case> cases = {
      {"invalid", [](auto& o) { o.set_citizenship("XX"); }, kInvalidArgument, "VALIDATION_FAILED",
       "requests[2].observer.citizenship"},
      {"host country", [](auto& o) { o.set_citizenship("KZ"); }, kFailedPrecondition,
       "HOST_COUNTRY_CITIZEN", "requests[2].observer.citizenship"},
      {"duplicate in the store",
       [&](auto& o) { *o.mutable_id_document() = first.observer().id_document(); }, kAlreadyExists,
       "DUPLICATE_ID_DOCUMENT", "requests[2].observer.id_document"},
      {"duplicate in the batch",
       [&](auto& o) { *o.mutable_id_document() = batch.requests(0).observer().id_document(); },
       kAlreadyExists, "DUPLICATE_ID_DOCUMENT", "requests[2].observer.id_document"},
  };
  for (const Case& c : cases) {
    rv1::BatchCreateObserversRequest bad = batch;
    c.mutate(*bad.mutable_requests(2)->mutable_observer());
    bad.set_validate_only(true);
    const absl::Status checked = client().BatchCreateObservers(bad).status();
    bad.set_validate_only(false);
    const absl::Status real = client().BatchCreateObservers(bad).status();
    EXPECT_THAT(checked, StatusIs(c.code, c.reason)) << c.what;
    EXPECT_EQ(checked.message(), real.message()) << c.what;
    const ErrorDetails a = GetErrorDetails(checked);
    const ErrorDetails b = GetErrorDetails(real);
    EXPECT_EQ(a.reason, b.reason) << c.what;
    EXPECT_EQ(a.metadata, b.metadata) << c.what;
    ASSERT_THAT(a.violations, SizeIs(1)) << c.what;
    EXPECT_EQ(a.violations[0].field, c.field) << c.what;
    ASSERT_THAT(b.violations, SizeIs(1)) << c.what;
    EXPECT_EQ(b.violations[0].field, c.field) << c.what;
  }
  EXPECT_EQ(Head(), head);
  EXPECT_THAT(MUST(client().AllObservers(election)), SizeIs(1));
}

TEST_F(RegistryApiTest, BatchCreateValidateOnlyRefusesARequestId) {
  const std::string election = OpenElection();
  const int64_t head = Head();
  rv1::BatchCreateObserversRequest batch;
  batch.set_parent(election);
  batch.set_validate_only(true);
  batch.set_request_id("import-1");
  *batch.add_requests() = NewObserverRequest("", 800);
  EXPECT_THAT(client().BatchCreateObservers(batch), HasOnlyViolation("request_id"));
  EXPECT_EQ(Head(), head);
  // Nothing was recorded under the request_id.
  batch.set_validate_only(false);
  ASSERT_OK_AND_ASSIGN(auto resp, client().BatchCreateObservers(batch));
  EXPECT_EQ(resp.revision(), head + 1);
}

// ---------------------------------------------------------------------------------------------
// Pagination

TEST_F(RegistryApiTest, PaginationVisitsEveryObserverExactlyOnce) {
  const std::string election = OpenElection();
  rv1::BatchCreateObserversRequest batch;
  batch.set_parent(election);
  batch.set_all_or_nothing(true);
  for (int i = 0; i < 120; ++i) *batch.add_requests() = NewObserverRequest("", 1000 + i);
  ASSERT_OK_AND_ASSIGN(auto created, client().BatchCreateObservers(batch));
  std::vector<std::string> expected;
  for (const auto& r : created.results()) expected.push_back(r.observer().name());
  std::sort(expected.begin(), expected.end());
  ASSERT_THAT(expected, SizeIs(120));

  std::vector<std::string> seen;
  rv1::ListObserversRequest list;
  list.set_parent(election);
  list.set_page_size(7);
  int pages = 0;
  for (;;) {
    ASSERT_LT(pages, 40) << "pagination does not end";
    ASSERT_OK_AND_ASSIGN(auto page, client().ListObservers(list));
    ++pages;
    EXPECT_LE(page.observers_size(), 7);
    EXPECT_EQ(page.revision(), created.revision());
    for (const auto& o : page.observers()) seen.push_back(o.name());
    if (page.next_page_token().empty()) break;
    list.set_page_token(page.next_page_token());
  }
  EXPECT_EQ(pages, 18);  // 17 full pages of 7 and one of 1.
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end())) << "not in name order";
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), seen.size()) << "duplicates";
  EXPECT_EQ(seen, expected);

  // Writes between pages neither repeat nor skip the records that were there.
  list.set_page_token("");
  list.set_page_size(50);
  ASSERT_OK_AND_ASSIGN(auto first, client().ListObservers(list));
  ASSERT_THAT(first.observers(), SizeIs(50));
  rv1::Observer extra = CreateObserver(election);
  std::vector<std::string> seen2;
  for (const auto& o : first.observers()) seen2.push_back(o.name());
  list.set_page_token(first.next_page_token());
  list.set_page_size(1000);
  ASSERT_OK_AND_ASSIGN(auto rest, client().ListObservers(list));
  for (const auto& o : rest.observers()) seen2.push_back(o.name());
  EXPECT_TRUE(rest.next_page_token().empty());
  seen2.erase(std::remove(seen2.begin(), seen2.end(), extra.name()), seen2.end());
  EXPECT_EQ(seen2, expected);
}

TEST_F(RegistryApiTest, PageSizeDefaultAndClamp) {
  const std::string election = OpenElection();
  for (int b = 0; b < 2; ++b) {
    rv1::BatchCreateObserversRequest batch;
    batch.set_parent(election);
    batch.set_all_or_nothing(true);
    const int rows = b == 0 ? 1000 : 1;
    for (int i = 0; i < rows; ++i)
      *batch.add_requests() = NewObserverRequest("", 5000 + b * 1000 + i);
    ASSERT_OK(client().BatchCreateObservers(batch));
  }
  rv1::ListObserversRequest list;
  list.set_parent(election);
  list.set_page_size(0);
  ASSERT_OK_AND_ASSIGN(auto by_default, client().ListObservers(list));
  EXPECT_THAT(by_default.observers(), SizeIs(50));
  EXPECT_FALSE(by_default.next_page_token().empty());

  list.set_page_size(5000);
  ASSERT_OK_AND_ASSIGN(auto clamped, client().ListObservers(list));
  EXPECT_THAT(clamped.observers(), SizeIs(1000));
  ASSERT_FALSE(clamped.next_page_token().empty());
  list.set_page_token(clamped.next_page_token());
  ASSERT_OK_AND_ASSIGN(auto last, client().ListObservers(list));
  EXPECT_THAT(last.observers(), SizeIs(1));
  EXPECT_TRUE(last.next_page_token().empty());

  list.set_page_token("");
  list.set_page_size(-1);
  EXPECT_THAT(client().ListObservers(list), HasViolation("page_size"));
}

TEST_F(RegistryApiTest, PageTokensAreBoundToTheQuery) {
  const std::string election = OpenElection("e1");
  const std::string other = OpenElection("e2");
  for (int i = 0; i < 5; ++i) {
    CreateObserver(election);
    CreateObserver(other);
  }
  rv1::ListObserversRequest list;
  list.set_parent(election);
  list.set_page_size(2);
  list.set_filter("status = SUBMITTED");
  ASSERT_OK_AND_ASSIGN(auto page, client().ListObservers(list));
  ASSERT_FALSE(page.next_page_token().empty());

  rv1::ListObserversRequest next = list;
  next.set_page_token(page.next_page_token());
  EXPECT_OK(client().ListObservers(next));
  next.set_filter("status = ACCREDITED");
  EXPECT_THAT(client().ListObservers(next), HasViolation("page_token"));
  next.set_filter(list.filter());
  next.set_parent(other);
  EXPECT_THAT(client().ListObservers(next), HasViolation("page_token"));
  next.set_parent(election);
  next.set_page_token("definitely-not-a-token");
  EXPECT_THAT(client().ListObservers(next), HasViolation("page_token"));
  next.set_page_token(page.next_page_token() + "x");
  EXPECT_THAT(client().ListObservers(next), HasViolation("page_token"));
}

// ---------------------------------------------------------------------------------------------
// Filters

TEST_F(RegistryApiTest, FiltersSelectExactlyTheMatchingObservers) {
  const std::string election = OpenElection("e1");
  const std::string other = OpenElection("e2");
  CreateOrganisation(NewOrganisation("OSCE-ODIHR", "ODIHR"));
  CreateOrganisation(NewOrganisation("CIS-EC", "CIS Executive Committee"));

  struct Spec {
    std::string org;  // Empty: sent by the state `state`.
    std::string state;
    std::string citizenship;
    rv1::ObserverCategory category;
    std::vector<std::string> tags;
    bool test;
    std::string status;  // "", "accredit", "reject", "suspend"
  };
  const std::vector<Spec> specs = {
      {"OSCE-ODIHR", "", "DE", rv1::OBSERVER_CATEGORY_SHORT_TERM, {"batch-3"}, false, "accredit"},
      {"OSCE-ODIHR", "", "FR", rv1::OBSERVER_CATEGORY_LONG_TERM, {"batch-1"}, false, ""},
      {"CIS-EC", "", "RU", rv1::OBSERVER_CATEGORY_SHORT_TERM, {"batch-3"}, true, "accredit"},
      {"", "DE", "DE", rv1::OBSERVER_CATEGORY_CORE_TEAM, {}, false, "reject"},
      {"", "FR", "FR", rv1::OBSERVER_CATEGORY_SHORT_TERM, {"batch-3", "vip"}, false, "accredit"},
      {"", "DE", "AT", rv1::OBSERVER_CATEGORY_SHORT_TERM, {"batch-1"}, true, ""},
      {"OSCE-ODIHR", "", "DE", rv1::OBSERVER_CATEGORY_SHORT_TERM, {"batch-3"}, false, "accredit"},
      {"OSCE-ODIHR", "", "PL", rv1::OBSERVER_CATEGORY_SHORT_TERM, {"batch-3"}, false, "suspend"},
      {"CIS-EC", "", "AM", rv1::OBSERVER_CATEGORY_PARLIAMENTARIAN, {"vip"}, false, "reject"},
  };
  for (const std::string& parent : {election, other}) {
    for (const Spec& s : specs) {
      auto req = NewObserverRequest(parent, NextSeq(), s.citizenship);
      rv1::Observer* o = req.mutable_observer();
      if (!s.org.empty()) {
        o->mutable_sending_body()->set_organisation("organisations/" + s.org);
      } else {
        o->mutable_sending_body()->set_state(s.state);
      }
      o->set_category(s.category);
      for (const auto& t : s.tags) o->add_tags(t);
      o->set_test(s.test);
      rv1::Observer created = MUST(client().CreateObserver(req)).observer();
      if (s.status == "accredit" || s.status == "suspend") Accredit(created.name());
      if (s.status == "suspend") {
        rv1::SuspendObserverRequest r;
        r.set_name(created.name());
        r.set_reason("x");
        MUST(client().SuspendObserver(r));
      }
      if (s.status == "reject") {
        rv1::RejectObserverRequest r;
        r.set_name(created.name());
        r.set_reason("x");
        MUST(client().RejectObserver(r));
      }
    }
  }
  const std::vector<rv1::Observer> all = MUST(client().AllObservers(election));
  ASSERT_THAT(all, SizeIs(specs.size()));

  using Pred = std::function<bool(const rv1::Observer&)>;
  auto has_tag = [](const rv1::Observer& o, const std::string& t) {
    return std::find(o.tags().begin(), o.tags().end(), t) != o.tags().end();
  };
  const std::vector<std::pair<std::string, Pred>> cases = {
      {"status = ACCREDITED",
       [](const auto& o) { return o.status() == rv1::OBSERVER_STATUS_ACCREDITED; }},
      {"status != ACCREDITED",
       [](const auto& o) { return o.status() != rv1::OBSERVER_STATUS_ACCREDITED; }},
      {"status = SUBMITTED",
       [](const auto& o) { return o.status() == rv1::OBSERVER_STATUS_SUBMITTED; }},
      {"status = SUSPENDED",
       [](const auto& o) { return o.status() == rv1::OBSERVER_STATUS_SUSPENDED; }},
      {"organisation = \"OSCE-ODIHR\"",
       [](const auto& o) { return o.sending_body().organisation() == "organisations/OSCE-ODIHR"; }},
      {"organisation = \"organisations/CIS-EC\"",
       [](const auto& o) { return o.sending_body().organisation() == "organisations/CIS-EC"; }},
      {"state = DE", [](const auto& o) { return o.sending_body().state() == "DE"; }},
      {"state = \"FR\"", [](const auto& o) { return o.sending_body().state() == "FR"; }},
      {"citizenship = DE", [](const auto& o) { return o.citizenship() == "DE"; }},
      {"citizenship != DE", [](const auto& o) { return o.citizenship() != "DE"; }},
      {"category = SHORT_TERM",
       [](const auto& o) { return o.category() == rv1::OBSERVER_CATEGORY_SHORT_TERM; }},
      {"category = PARLIAMENTARIAN",
       [](const auto& o) { return o.category() == rv1::OBSERVER_CATEGORY_PARLIAMENTARIAN; }},
      {"tags:\"batch-3\"", [&](const auto& o) { return has_tag(o, "batch-3"); }},
      {"tags:\"vip\"", [&](const auto& o) { return has_tag(o, "vip"); }},
      {"test = true", [](const auto& o) { return o.test(); }},
      {"test = false", [](const auto& o) { return !o.test(); }},
      {"status = ACCREDITED AND organisation = \"OSCE-ODIHR\" AND tags:\"batch-3\"",
       [&](const auto& o) {
         return o.status() == rv1::OBSERVER_STATUS_ACCREDITED &&
                o.sending_body().organisation() == "organisations/OSCE-ODIHR" &&
                has_tag(o, "batch-3");
       }},
      {"citizenship = DE AND state = DE",
       [](const auto& o) { return o.citizenship() == "DE" && o.sending_body().state() == "DE"; }},
      {"status = ACCREDITED AND test = false AND category = SHORT_TERM",
       [](const auto& o) {
         return o.status() == rv1::OBSERVER_STATUS_ACCREDITED && !o.test() &&
                o.category() == rv1::OBSERVER_CATEGORY_SHORT_TERM;
       }},
  };
  for (const auto& [filter, pred] : cases) {
    std::vector<std::string> expected;
    for (const auto& o : all) {
      if (pred(o)) expected.push_back(o.name());
    }
    ASSERT_FALSE(expected.empty()) << "test data does not exercise " << filter;
    ASSERT_NE(expected.size(), all.size()) << "test data does not exercise " << filter;
    auto got = client().AllObservers(election, filter);
    ASSERT_OK(got) << filter;
    EXPECT_THAT(Names(*got), ElementsAreArray(expected)) << "filter: " << filter;

    // The same with one record per page.
    std::vector<std::string> paged;
    rv1::ListObserversRequest list;
    list.set_parent(election);
    list.set_filter(filter);
    list.set_page_size(1);
    for (int i = 0; i < 20; ++i) {
      auto page = client().ListObservers(list);
      ASSERT_OK(page) << filter;
      for (const auto& o : page->observers()) paged.push_back(o.name());
      if (page->next_page_token().empty()) break;
      list.set_page_token(page->next_page_token());
    }
    EXPECT_THAT(paged, ElementsAreArray(expected)) << "paged filter: " << filter;
  }

  for (const std::string bad :
       {"status ==", "status = ACCREDITED AND", "colour = red", "status = NOPE", "(((", "tags:"}) {
    rv1::ListObserversRequest list;
    list.set_parent(election);
    list.set_filter(bad);
    EXPECT_THAT(client().ListObservers(list), HasViolation("filter")) << "filter: " << bad;
  }
}

// ---------------------------------------------------------------------------------------------
// Idempotency

TEST_F(RegistryApiTest, RequestIdReplaysTheOriginalResponse) {
  auto election_req = FutureElection("idem");
  election_req.set_request_id("create-election-1");
  ASSERT_OK_AND_ASSIGN(auto e1, client().CreateElection(election_req));
  ASSERT_OK_AND_ASSIGN(auto e2, client().CreateElection(election_req));
  std::string diff;
  EXPECT_TRUE(ProtoEquals(e1, e2, &diff)) << diff;
  EXPECT_EQ(Head(), e1.revision());
  const std::string election = e1.election().name();

  auto obs_req = NewObserverRequest(election, 1);
  obs_req.set_request_id("create-observer-1");
  ASSERT_OK_AND_ASSIGN(auto o1, client().CreateObserver(obs_req));
  ASSERT_OK_AND_ASSIGN(auto o2, client().CreateObserver(obs_req));
  EXPECT_TRUE(ProtoEquals(o1, o2, &diff)) << diff;
  EXPECT_EQ(Head(), o1.revision());
  EXPECT_THAT(MUST(client().AllObservers(election)), SizeIs(1));

  // Same id, different payload; same id, different method.
  const int64_t head = Head();
  auto changed = obs_req;
  changed.mutable_observer()->set_given_names("Someone else");
  EXPECT_THAT(client().CreateObserver(changed), StatusIs(kInvalidArgument, "REQUEST_ID_REUSED"));
  rv1::AccreditObserverRequest cross;
  cross.set_name(o1.observer().name());
  cross.set_request_id("create-observer-1");
  EXPECT_THAT(client().AccreditObserver(cross), StatusIs(kInvalidArgument, "REQUEST_ID_REUSED"));
  auto cross_election = FutureElection("idem-2");
  cross_election.set_request_id("create-observer-1");
  EXPECT_THAT(client().CreateElection(cross_election),
              StatusIs(kInvalidArgument, "REQUEST_ID_REUSED"));
  EXPECT_EQ(Head(), head);

  // A repeated status change returns the original answer, not a transition error.
  rv1::AccreditObserverRequest accredit;
  accredit.set_name(o1.observer().name());
  accredit.set_decision_reference("CEC-1");
  accredit.set_request_id("accredit-1");
  ASSERT_OK_AND_ASSIGN(auto a1, client().AccreditObserver(accredit));
  ASSERT_OK_AND_ASSIGN(auto a2, client().AccreditObserver(accredit));
  EXPECT_TRUE(ProtoEquals(a1, a2, &diff)) << diff;
  EXPECT_EQ(Head(), a1.revision());

  // Updates too.
  rv1::UpdateObserverRequest upd;
  upd.mutable_observer()->set_name(o1.observer().name());
  upd.mutable_observer()->set_family_name("Renamed");
  upd.mutable_update_mask()->add_paths("family_name");
  upd.set_request_id("update-1");
  ASSERT_OK_AND_ASSIGN(auto u1, client().UpdateObserver(upd));
  ASSERT_OK_AND_ASSIGN(auto u2, client().UpdateObserver(upd));
  EXPECT_TRUE(ProtoEquals(u1, u2, &diff)) << diff;
  EXPECT_EQ(Head(), u1.revision());
  EXPECT_EQ(u1.revision(), a1.revision() + 1);

  // Organisations too: a replay answers the same; another payload with the id is refused.
  auto org = NewOrganisation("OSCE", "OSCE");
  org.set_request_id("org-1");
  ASSERT_OK_AND_ASSIGN(auto org1, client().CreateOrganisation(org));
  ASSERT_OK_AND_ASSIGN(auto org2, client().CreateOrganisation(org));
  EXPECT_TRUE(ProtoEquals(org1, org2, &diff)) << diff;
  org.mutable_organisation()->mutable_names()->set_en("Changed");
  EXPECT_THAT(client().CreateOrganisation(org), StatusIs(kInvalidArgument, "REQUEST_ID_REUSED"));
}

TEST_F(RegistryApiTest, FiftyConcurrentIdenticalCreatesMakeOneRecord) {
  const std::string election = OpenElection();
  const int64_t head = Head();
  auto req = NewObserverRequest(election, 42);
  req.set_request_id("concurrent-create-42");
  constexpr int kCalls = 50;
  std::vector<absl::StatusOr<rv1::CreateObserverResponse>> results(kCalls,
                                                                   absl::UnknownError("not run"));
  std::latch go(kCalls);
  std::vector<std::thread> threads;
  for (int i = 0; i < kCalls; ++i) {
    threads.emplace_back([&, i] {
      go.arrive_and_wait();
      results[i] = client().CreateObserver(req);
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kCalls; ++i) ASSERT_OK(results[i]) << "call " << i;
  std::string diff;
  for (int i = 1; i < kCalls; ++i) {
    EXPECT_TRUE(ProtoEquals(*results[i], *results[0], &diff)) << "call " << i << ": " << diff;
  }
  EXPECT_EQ(results[0]->revision(), head + 1);
  EXPECT_EQ(Head(), head + 1);
  auto all = MUST(client().AllObservers(election));
  ASSERT_THAT(all, SizeIs(1));
  EXPECT_EQ(all[0].name(), results[0]->observer().name());
}

// ---------------------------------------------------------------------------------------------
// Rejected requests leave no trace: the head stays, and the next change is the next revision on
// the change stream.

TEST_F(RegistryApiTest, RejectedRequestsChangeNothingAndEmitNoEvents) {
  const std::string election = OpenElection();
  const std::string kz2021 = CreateElection(Kz2021Election("kz-2021")).name();
  auto first = NewObserverRequest(election, 1);
  first.set_request_id("first");
  rv1::Observer o = MUST(client().CreateObserver(first)).observer();
  rv1::Observer accredited = Accredit(CreateObserver(election).name());
  const int64_t head = Head();

  auto bad_citizen = NewObserverRequest(election, 2);
  bad_citizen.mutable_observer()->set_citizenship("XX");
  EXPECT_THAT(client().CreateObserver(bad_citizen), StatusIs(kInvalidArgument));
  auto dup = NewObserverRequest(election, 3);
  *dup.mutable_observer()->mutable_id_document() = first.observer().id_document();
  EXPECT_THAT(client().CreateObserver(dup), StatusIs(kAlreadyExists));
  auto host = NewObserverRequest(election, 4);
  host.mutable_observer()->set_citizenship("KZ");
  EXPECT_THAT(client().CreateObserver(host), StatusIs(kFailedPrecondition));
  auto late = NewObserverRequest(kz2021, 5);
  *late.mutable_observer()->mutable_received_time() = Ts("2021-01-05T00:00:00Z");
  EXPECT_THAT(client().CreateObserver(late), StatusIs(kFailedPrecondition));
  auto reused = first;
  reused.mutable_observer()->set_family_name("Different");
  EXPECT_THAT(client().CreateObserver(reused), StatusIs(kInvalidArgument));
  rv1::RejectObserverRequest reject;
  reject.set_name(accredited.name());
  reject.set_reason("x");
  EXPECT_THAT(client().RejectObserver(reject), StatusIs(kInvalidArgument));
  rv1::AccreditObserverRequest stale;
  stale.set_name(o.name());
  stale.set_etag("stale");
  EXPECT_THAT(client().AccreditObserver(stale), StatusIs(kAborted));
  EXPECT_THAT(client().CreateElection(FutureElection("e-2030")), StatusIs(kAlreadyExists));
  rv1::BatchCreateObserversRequest batch;
  batch.set_parent(election);
  batch.set_all_or_nothing(true);
  *batch.add_requests() = NewObserverRequest("", 6);
  *batch.add_requests() = bad_citizen;
  batch.mutable_requests(1)->clear_parent();
  EXPECT_THAT(client().BatchCreateObservers(batch), StatusIs(kInvalidArgument));
  EXPECT_EQ(Head(), head);

  // The change stream from head+1 starts with the next successful write.
  rv1::WatchRequest watch;
  watch.set_start_revision(head + 1);
  auto stream = client().Watch(watch);
  rv1::Observer next = CreateObserver(election);
  EXPECT_EQ(next.revision(), head + 1);
  ASSERT_OK_AND_ASSIGN(auto events, stream->EventsThrough(head + 1, absl::Seconds(15)));
  ASSERT_THAT(events, SizeIs(1));
  EXPECT_EQ(events[0].revision(), head + 1);
  EXPECT_EQ(events[0].name(), next.name());
  EXPECT_EQ(events[0].type(), rv1::CHANGE_TYPE_CREATED);
}

}  // namespace
}  // namespace observer::testing
