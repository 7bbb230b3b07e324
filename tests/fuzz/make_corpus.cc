// Writes the seed corpus of every fuzz target: small meaningful inputs in each target's input
// format (see the comment at the top of each target). Run by hand after a format change:
//   build-fuzz/tests/fuzz/fuzz_make_corpus tests/fuzz/corpus
// It writes seed-* files only; crash-* files (regressions) are left alone.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/proto_time.h"
#include "observer/registry/v1/registry_service.pb.h"
#include "observer/stats/v1/stats_service.pb.h"

namespace observer::fuzz {
namespace {

namespace fs = std::filesystem;
namespace v1 = ::observer::registry::v1;
namespace sv1 = ::observer::stats::v1;

fs::path root;

void Write(const std::string& target, const std::string& name, const std::string& bytes) {
  const fs::path dir = root / target;
  fs::create_directories(dir);
  std::ofstream out(dir / ("seed-" + name), std::ios::binary | std::ios::trunc);
  out << bytes;
  if (!out) {
    std::fprintf(stderr, "cannot write %s\n", (dir / name).c_str());
    std::exit(1);
  }
}

// Builds input for FuzzedDataProvider: strings and the remaining bytes are read from the
// front, integers and booleans from the back (the first one consumed is the last byte).
class ProviderInput {
 public:
  // ConsumeRandomLengthString: '\' doubled, "\x" ends the string.
  ProviderInput& String(const std::string& s) {
    for (char c : s) {
      front_ += c;
      if (c == '\\') front_ += '\\';
    }
    front_ += "\\x";
    return *this;
  }
  ProviderInput& Bytes(const std::string& s) {
    front_ += s;
    return *this;
  }
  // ConsumeIntegralInRange(min, max) returning `value`; ConsumeBool is Int(0, 1, b).
  ProviderInput& Int(int64_t min, int64_t max, int64_t value) {
    const uint64_t range = static_cast<uint64_t>(max - min);
    const uint64_t result = static_cast<uint64_t>(value - min);
    int bytes = 0;
    while (bytes < 8 && (range >> (8 * bytes)) > 0) ++bytes;
    for (int i = bytes - 1; i >= 0; --i) back_.push_back(static_cast<char>(result >> (8 * i)));
    return *this;
  }
  ProviderInput& Bool(bool b) { return Int(0, 1, b ? 1 : 0); }
  std::string Build() const { return front_ + std::string(back_.rbegin(), back_.rend()); }

 private:
  std::string front_;
  std::string back_;  // In the order consumed.
};

google::protobuf::Timestamp Utc(int year, int month, int day, int hour) {
  return ToProto(
      absl::FromCivil(absl::CivilSecond(year, month, day, hour, 0, 0), absl::UTCTimeZone()));
}

v1::Observer Observer(const std::string& document) {
  v1::Observer o;
  o.set_given_names("Ерлан");
  o.set_family_name("Müller");
  o.set_latin_given_names("ERLAN");
  o.set_latin_family_name("MUELLER");
  o.set_citizenship("DE");
  o.set_gender(v1::GENDER_MALE);
  *o.mutable_birth_date() = MakeDate(1975, 3, 9);
  o.mutable_id_document()->set_type(v1::ID_DOCUMENT_TYPE_PASSPORT);
  o.mutable_id_document()->set_number(document);
  o.mutable_id_document()->set_issuing_country("DE");
  o.mutable_contact()->set_email("e.mueller@example.org");
  o.mutable_sending_body()->set_organisation("organisations/OSCE-ODIHR");
  o.set_category(v1::OBSERVER_CATEGORY_SHORT_TERM);
  o.set_submission_reference("Note 7/2020");
  o.add_tags("batch-3");
  return o;
}

// --- fuzz_request_validation: a method-and-caller byte, then the request ---------------------

void RequestValidation() {
  const std::string t = "fuzz_request_validation";
  // Method m (0-12) as caller c (0 unrestricted, 1 OSCE-ODIHR's submitter, 2 US's).
  auto write = [&](const std::string& name, int m, const google::protobuf::Message& message,
                   int c = 0) {
    Write(t, name, std::string(1, static_cast<char>(m + 13 * c)) + message.SerializeAsString());
  };
  {
    v1::CreateElectionRequest req;
    req.set_election_id("kz-2023-majilis");
    v1::Election* e = req.mutable_election();
    e->set_display_name("Majilis 2023");
    e->set_kind(v1::ELECTION_KIND_PARLIAMENTARY);
    e->set_host_country("KZ");
    *e->mutable_voting_day() = MakeDate(2023, 3, 19);
    e->set_time_zone("Asia/Almaty");
    write("create-election", 0, req);
    *e->mutable_accreditation_opens_time() = Utc(2023, 1, 20, 4);
    *e->mutable_accreditation_deadline() = Utc(2023, 3, 13, 12);
    req.set_request_id("req-1");
    write("create-election-explicit", 0, req);
    e->set_time_zone("../etc/passwd");
    *e->mutable_voting_day() = MakeDate(2023, 2, 30);
    write("create-election-bad", 0, req);
  }
  {
    v1::CreateOrganisationRequest req;
    req.set_organisation_code("OTS");
    req.mutable_organisation()->mutable_names()->set_en("Organization of Turkic States");
    req.mutable_organisation()->mutable_names()->set_kk("Түркі мемлекеттері ұйымы");
    auto* alias = req.mutable_organisation()->add_aliases();
    alias->mutable_names()->set_en("Cooperation Council of Turkic-speaking States");
    *alias->mutable_valid_until() = MakeDate(2021, 11, 12);
    write("create-organisation", 1, req);
    req.mutable_organisation()->set_parent("organisations/OSCE");
    write("create-organisation-child", 1, req);
  }
  {
    v1::CreateObserverRequest req;
    req.set_parent("elections/kz-2021");
    *req.mutable_observer() = Observer("C4X9R2T71");
    write("create-observer", 2, req);
    req.mutable_observer()->mutable_id_document()->set_number("C01X00T47");  // Seeded #0's.
    write("create-observer-duplicate", 2, req);
    req.mutable_observer()->mutable_sending_body()->set_state("US");
    write("create-observer-duplicate-as-us", 2, req, 2);  // Must not name OSCE-ODIHR's record.
    req.mutable_observer()->mutable_sending_body()->set_organisation("organisations/OSCE-ODIHR");
    req.mutable_observer()->set_citizenship("KZ");
    write("create-observer-host-citizen", 2, req);
    req.mutable_observer()->set_citizenship("US");
    req.mutable_observer()->mutable_id_document()->set_number("US0000001");
    write("create-observer-other-body-as-us", 2, req, 2);
    req.mutable_observer()->mutable_sending_body()->set_state("US");
    write("create-observer-as-us", 2, req, 2);
    *req.mutable_observer() = Observer("C4X9R2T72");
    *req.mutable_observer()->mutable_received_time() = Utc(2021, 1, 5, 0);  // After now.
    req.mutable_observer()->add_tags("batch-3");
    req.mutable_observer()->add_tags("a");
    write("create-observer-future", 2, req);
    req.mutable_observer()->clear_received_time();
    req.set_parent("elections/kz-2019");  // Closed in 2019.
    write("create-observer-closed", 2, req);
    req.set_parent("elections/ge-2024");  // Opened on 2020-12-03.
    *req.mutable_observer()->mutable_received_time() = Utc(2020, 11, 1, 0);
    write("create-observer-not-open", 2, req);
  }
  {
    v1::BatchCreateObserversRequest req;
    req.set_parent("elections/kz-2021");
    for (const char* doc : {"B1000001", "B1000002", "B1000001"}) {
      *req.add_requests()->mutable_observer() = Observer(doc);
    }
    req.add_requests()->mutable_observer()->set_citizenship("XX");
    write("batch", 3, req);
    req.set_all_or_nothing(true);
    write("batch-all-or-nothing", 3, req);
    req.set_all_or_nothing(false);
    req.set_validate_only(true);
    write("batch-validate-only", 3, req);
  }
  {
    v1::AccreditObserverRequest req;
    req.set_name("elections/kz-2021/observers/0");
    req.set_decision_reference("Resolution 5/2021");
    write("accredit", 4, req);
    write("accredit-as-osce-odihr", 4, req, 1);
    write("accredit-hidden-as-us", 4, req, 2);
    req.set_badge_number("A-7");
    write("accredit-badge-taken", 4, req);
    *req.mutable_decision_time() = Utc(2021, 1, 1, 0);
    req.set_badge_number("0100");
    write("accredit-decided-before", 4, req);
  }
  {
    v1::RejectObserverRequest req;
    req.set_name("elections/kz-2021/observers/7");
    req.set_reason("documents missing");
    write("reject", 5, req);
  }
  {
    v1::SuspendObserverRequest req;
    req.set_name("elections/kz-2021/observers/1");
    req.set_reason("conduct");
    req.set_etag("r1");
    write("suspend", 6, req);
  }
  {
    v1::ReinstateObserverRequest req;
    req.set_name("elections/kz-2021/observers/3");
    write("reinstate", 7, req);
    write("reinstate-as-us", 7, req, 2);
    req.set_etag("r1");
    write("reinstate-hidden-stale-etag-as-osce-odihr", 7, req, 1);
  }
  {
    v1::WithdrawObserverRequest req;
    req.set_name("elections/kz-2021/observers/6");
    req.set_reason("left");
    req.set_request_id("withdraw-6");
    write("withdraw", 8, req);
  }
  {
    v1::DeleteObserverRequest req;
    req.set_name("elections/ge-2024/observers/0");
    write("delete", 9, req);
  }
  {
    v1::GetElectionRequest req;
    req.set_name("elections/kz-2021");
    write("get-election", 10, req);
    v1::GetOrganisationRequest org;
    org.set_name("organisations/OSCE-ODIHR");
    write("get-organisation", 11, org);
    v1::GetObserverRequest obs;
    obs.set_name("elections/kz-2021/observers/2");
    write("get-observer", 12, obs);
    write("get-observer-hidden-as-osce-odihr", 12, obs, 1);
    obs.set_name("elections/kz-2021/observers/3");
    write("get-observer-as-us", 12, obs, 2);
  }
}

// --- fuzz_update_mask ------------------------------------------------------------------------

void UpdateMask() {
  const std::string t = "fuzz_update_mask";
  // resource, record, paths, etag choice, request id, patch: in the order the target reads.
  auto write = [&](const std::string& name, int resource, int which,
                   std::initializer_list<const char*> paths, int etag,
                   const google::protobuf::Message& patch) {
    ProviderInput in;
    in.Int(0, 2, resource).Int(0, 255, which).Int(0, 8, static_cast<int64_t>(paths.size()));
    for (const char* path : paths) in.Bool(false).String(path);
    in.Int(0, 255, etag).Bool(false).Bytes(patch.SerializeAsString());
    Write(t, name, in.Build());
  };
  {
    v1::Election e;
    e.set_display_name("Elections of deputies of the Majilis");
    write("election-display-name", 0, 0, {"display_name"}, 1, e);
    *e.mutable_accreditation_deadline() = Utc(2021, 1, 3, 12);
    write("election-deadline", 0, 0, {"accreditation_deadline", "display_name"}, 0, e);
    write("election-deadline-cleared", 0, 1, {"accreditation_deadline"}, 2, v1::Election());
    e.set_state(v1::ELECTION_STATE_HELD);
    write("election-state", 0, 0, {"state"}, 2, e);
    write("election-host-country", 0, 0, {"host_country"}, 2, e);
  }
  {
    v1::Organisation o;
    o.mutable_names()->set_en("ODIHR");
    o.set_parent("organisations/CIS-EC");
    write("organisation-names-en-parent", 1, 1, {"names.en", "parent"}, 1, o);
    o.set_parent("organisations/OSCE-ODIHR");
    write("organisation-parent-cycle", 1, 0, {"parent"}, 2, o);
    o.mutable_names()->set_ru("БДИПЧ");
    write("organisation-names", 1, 1, {"names"}, 0, o);
  }
  {
    v1::Observer o = Observer("P7654321");
    o.clear_tags();
    o.add_tags("b");
    o.add_tags("a");
    o.add_tags("b");
    write("observer-names-tags", 2, 0, {"given_names", "tags"}, 1, o);
    o.mutable_sending_body()->set_state("DE");
    write("observer-sending-body", 2, 1, {"sending_body"}, 2, o);
    o.set_citizenship("KZ");
    write("observer-host-citizen", 2, 2, {"citizenship"}, 2, o);
    o.mutable_id_document()->set_number("18AB12345");  // Seeded #1's.
    o.mutable_id_document()->set_issuing_country("FR");
    write("observer-duplicate-document", 2, 0, {"id_document"}, 2, o);
    o.set_status(v1::OBSERVER_STATUS_ACCREDITED);
    write("observer-status", 2, 0, {"status"}, 2, o);
    o.set_test(true);
    write("observer-test-and-empty", 2, 5, {"test", "contact", "birth_date"}, 1, o);
    write("observer-no-mask", 2, 3, {}, 2, o);
  }
}

// --- fuzz_page_token -------------------------------------------------------------------------

void PageToken() {
  const std::string t = "fuzz_page_token";
  // list, page size, [parent, filter], token, fingerprint, other, key.
  auto write = [&](const std::string& name, int list, int page_size, const std::string& filter,
                   bool raw_token, const std::string& a, const std::string& b) {
    ProviderInput in;
    in.Int(0, 2, list).Bool(true).Int(-1, 12, page_size);
    if (list == 2) in.Bool(true).String(filter);
    in.Bool(raw_token).String(a);
    if (!raw_token) in.String(b);
    in.String("elections").String("organisations").Bytes("kz-2021");
    Write(t, name, in.Build());
  };
  write("elections-1", 0, 1, "", true, "", "");
  write("elections-after-kz", 0, 1, "", false, "elections", "ge-2024");
  write("organisations-2", 1, 2, "", true, "", "");
  write("organisations-wrong-query", 1, 2, "", false, "elections", "OSCE");
  write("observers-3", 2, 3, "", true, "", "");
  write("observers-accredited", 2, 1, "status = ACCREDITED", true, "", "");
  write("observers-tag", 2, 2, "tags:\"batch-1\"", true, "", "");
  write("observers-garbage-token", 2, 2, "", true, "cDF8ZWxlY3Rpb25zfGt6LTIwMjE", "");
  write("observers-negative", 2, -1, "", true, "", "");
  write("observers-default", 2, 0, "test = false", true, "", "");
}

// --- fuzz_list_filter ------------------------------------------------------------------------

void ListFilter() {
  const std::string t = "fuzz_list_filter";
  int n = 0;
  for (const char* filter : {
           "status = ACCREDITED",
           "status = accredited AND organisation = \"OSCE-ODIHR\" AND tags:\"batch-1\"",
           "tags != \"batch-2\"",
           "state = US",
           "citizenship = \"DE\" AND status != SUBMITTED",
           "category = SHORT_TERM AND test = false",
           "sending_body.organisation = organisations/CIS-EC",
           "test = true",
           "status != WITHDRAWN AND state != GB",
           "tag = \"a\\\"b\"",
           "status =",
           "status = ACCREDITED AND",
           "colour = red",
           "\"status\" = SUBMITTED",
           "status : ACCREDITED",
           "organisation = \"osce\"",
           "status = OBSERVER_STATUS_SUSPENDED",
       }) {
    Write(t, absl::StrCat("filter-", n++), filter);
  }
  sv1::GetSummaryRequest summary;
  summary.set_election("elections/kz-2021");
  Write(t, "summary", "S" + summary.SerializeAsString());
  summary.mutable_filter()->add_statuses(v1::OBSERVER_STATUS_SUBMITTED);
  summary.mutable_filter()->add_categories(v1::OBSERVER_CATEGORY_CORE_TEAM);
  summary.mutable_filter()->set_include_test(true);
  Write(t, "summary-filter", "S" + summary.SerializeAsString());
  summary.set_election("elections/xx");
  Write(t, "summary-unknown-election", "S" + summary.SerializeAsString());

  for (int d = sv1::DIMENSION_OBSERVER_TYPE; d <= sv1::DIMENSION_GENDER; ++d) {
    sv1::GetBreakdownRequest req;
    req.set_election("elections/kz-2021");
    req.set_dimension(static_cast<sv1::Dimension>(d));
    Write(t, absl::StrCat("breakdown-", d), "B" + req.SerializeAsString());
  }
  sv1::GetBreakdownRequest req;
  req.set_election("elections/kz-2021");
  req.set_dimension(sv1::DIMENSION_REGION);
  req.set_region_scheme("kz2021-article");
  req.set_region_basis(sv1::REGION_BASIS_CITIZENSHIP);
  req.set_top_n(2);
  req.set_language_code("ru-KZ");
  req.mutable_filter()->add_statuses(v1::OBSERVER_STATUS_ACCREDITED);
  req.mutable_filter()->add_statuses(v1::OBSERVER_STATUS_SUSPENDED);
  req.mutable_filter()->set_include_test(true);
  Write(t, "breakdown-region-scheme", "B" + req.SerializeAsString());
  req.set_region_scheme("m49-subregion");
  req.set_dimension(sv1::DIMENSION_STATUS);
  Write(t, "breakdown-status-with-scheme", "B" + req.SerializeAsString());
}

// --- fuzz_csv_import -------------------------------------------------------------------------

void CsvImport() {
  const std::string t = "fuzz_csv_import";
  Write(t, "import",
        "given_names,family_name,latin_given_names,latin_family_name,citizenship,gender,"
        "birth_date,id_type,id_number,id_country,email,organisation,category,tags,test\n"
        "Анна,Иванова,ANNA,IVANOVA,RU,female,1980-02-03,passport,75 1234567,RU,a@example.org,"
        "CIS-EC,short-term,\"batch-1,batch-2\",false\n"
        "Jean,Dupont,JEAN,DUPONT,FR,male,,diplomatic-passport,18AB12345,FR,,OSCE-ODIHR,"
        "long-term,,\n");
  Write(t, "import-crlf-bom",
        "\xEF\xBB\xBFGiven-Names,Family_Name,latin_given_names,latin_family_name,citizenship,"
        "id_type,id_number,id_country,state,category,received_time\r\n"
        "\"O'Brien, Mary\",\"Smith \"\"Jr\"\"\",MARY,O'BRIEN,IE,passport,PA1234567,IE,IE,"
        "parliamentarian,2021-01-03T10:00:00+06:00\r\n"
        "\r\n");
  Write(t, "import-statuses",
        "given_names,family_name,latin_given_names,latin_family_name,citizenship,id_type,"
        "id_number,id_country,organisation,category,status,badge_number,decision_time,"
        "decision_reference,status_reason\n"
        "Aziz,Karimov,AZIZ,KARIMOV,UZ,national-id,AA 123,UZ,organisations/CIS-EC,other,"
        "suspended,0042,2021-01-04T09:30:00Z,Resolution 12,\"badge lost\nreissued\"\n");
  Write(t, "export",
        "name,given_names,family_name,latin_given_names,latin_family_name,citizenship,gender,"
        "birth_date,id_type,id_number,id_country,email,phone,organisation,state,category,"
        "submission_reference,received_time,tags,test,status,badge_number,decision_time,"
        "decision_reference,status_reason,create_time,update_time,revision,etag,update_actor\n"
        "elections/kz-2021/observers/0a1b2c3d4e5f6a7b,Ерлан,Müller,ERLAN,MUELLER,DE,male,"
        "1975-03-09,passport,C4X9R2T71,DE,e@example.org,+49 30 1234,OSCE-ODIHR,,short-term,"
        "Note 7/2020,2021-01-02T06:00:00Z,batch-3,true,accredited,0001,"
        "2021-01-02T06:00:00.5Z,Res 1,,2021-01-02T06:00:00Z,2021-01-02T06:00:00Z,12,r12,"
        "clerk\n");
  Write(t, "unterminated", "a,b\n\"c,d\n");
  Write(t, "quote-inside", "a,b\nc\"d,e\n");
  Write(t, "utf16", std::string("\xFF\xFEg\0i\0", 6));
}

}  // namespace
}  // namespace observer::fuzz

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
    return 2;
  }
  observer::fuzz::root = argv[1];
  observer::fuzz::RequestValidation();
  observer::fuzz::UpdateMask();
  observer::fuzz::PageToken();
  observer::fuzz::ListFilter();
  observer::fuzz::CsvImport();
  return 0;
}
