#include "tests/harness/builders.h"

#include <google/protobuf/util/message_differencer.h>

#include <atomic>
#include <stdexcept>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace observer::testing {

google::protobuf::Timestamp ToProto(absl::Time t) {
  google::protobuf::Timestamp ts;
  const int64_t s = absl::ToUnixSeconds(t);
  ts.set_seconds(s);
  ts.set_nanos(static_cast<int32_t>((t - absl::FromUnixSeconds(s)) / absl::Nanoseconds(1)));
  return ts;
}

absl::Time FromProto(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

google::protobuf::Timestamp Ts(absl::string_view rfc3339) {
  absl::Time t;
  std::string err;
  if (!absl::ParseTime(absl::RFC3339_full, rfc3339, &t, &err)) {
    throw std::runtime_error(absl::StrCat("bad timestamp literal ", rfc3339, ": ", err));
  }
  return ToProto(t);
}

std::string FormatTs(const google::protobuf::Timestamp& ts) {
  return absl::FormatTime("%Y-%m-%d%ET%H:%M:%E*SZ", FromProto(ts), absl::UTCTimeZone());
}

std::string Letters(int64_t n) {
  std::string s;
  do {
    s.insert(s.begin(), static_cast<char>('a' + n % 26));
    n /= 26;
  } while (n > 0);
  return s;
}

std::string ElectionName(absl::string_view election_id) {
  return absl::StrCat("elections/", election_id);
}

rv1::CreateElectionRequest FutureElection(absl::string_view election_id,
                                          absl::string_view host_country,
                                          absl::string_view time_zone) {
  rv1::CreateElectionRequest req;
  req.set_election_id(std::string(election_id));
  rv1::Election* e = req.mutable_election();
  e->set_display_name(absl::StrCat("Test election ", election_id));
  e->set_kind(rv1::ELECTION_KIND_PARLIAMENTARY);
  e->set_host_country(std::string(host_country));
  *e->mutable_voting_day() = MakeDate(2030, 6, 16);
  e->set_time_zone(std::string(time_zone));
  return req;
}

rv1::CreateElectionRequest Kz2021Election(absl::string_view election_id) {
  rv1::CreateElectionRequest req;
  req.set_election_id(std::string(election_id));
  rv1::Election* e = req.mutable_election();
  e->set_display_name("Elections of deputies of the Majilis and maslikhats");
  e->set_kind(rv1::ELECTION_KIND_COMBINED);
  e->set_host_country("KZ");
  *e->mutable_voting_day() = MakeDate(2021, 1, 10);
  e->set_time_zone("Asia/Almaty");
  return req;
}

rv1::CreateOrganisationRequest NewOrganisation(absl::string_view code, absl::string_view name_en) {
  rv1::CreateOrganisationRequest req;
  req.set_organisation_code(std::string(code));
  req.mutable_organisation()->mutable_names()->set_en(std::string(name_en));
  return req;
}

rv1::Observer NewObserver(int64_t seq, absl::string_view citizenship) {
  rv1::Observer o;
  // Names are letters only (the registry checks the Latin transliteration).
  const std::string suffix = Letters(seq);
  o.set_given_names(absl::StrCat("Anna ", suffix));
  o.set_family_name(absl::StrCat("Schmidt", suffix));
  o.set_latin_given_names(absl::AsciiStrToUpper(absl::StrCat("Anna ", suffix)));
  o.set_latin_family_name(absl::AsciiStrToUpper(absl::StrCat("Schmidt", suffix)));
  o.set_citizenship(std::string(citizenship));
  o.set_gender(rv1::GENDER_FEMALE);
  *o.mutable_birth_date() =
      MakeDate(1970 + static_cast<int>(seq % 30), 1 + static_cast<int>(seq % 12),
               1 + static_cast<int>(seq % 28));
  o.mutable_id_document()->set_type(rv1::ID_DOCUMENT_TYPE_PASSPORT);
  o.mutable_id_document()->set_number(absl::StrCat("C", 10000000 + seq));
  o.mutable_id_document()->set_issuing_country(std::string(citizenship));
  o.mutable_contact()->set_email(absl::StrCat("observer", seq, "@example.org"));
  o.mutable_contact()->set_phone(absl::StrCat("+4930", 1000000 + seq));
  o.mutable_sending_body()->set_state(std::string(citizenship));
  o.set_category(rv1::OBSERVER_CATEGORY_SHORT_TERM);
  o.set_submission_reference(absl::StrCat("Note-", seq / 10));
  return o;
}

rv1::CreateObserverRequest NewObserverRequest(absl::string_view parent, int64_t seq,
                                              absl::string_view citizenship) {
  rv1::CreateObserverRequest req;
  req.set_parent(std::string(parent));
  *req.mutable_observer() = NewObserver(seq, citizenship);
  return req;
}

int64_t NextSeq() {
  // Far above the small literal sequence numbers tests pass to NewObserver themselves.
  static std::atomic<int64_t> seq{1000000};
  return seq.fetch_add(1);
}

rv1::Observer StripPii(rv1::Observer o) {
  o.clear_id_document();
  o.clear_birth_date();
  o.clear_contact();
  return o;
}

bool HasPii(const rv1::Observer& o) {
  return o.has_id_document() || o.has_birth_date() || o.has_contact();
}

std::string ImageName(const rv1::ResourceImage& image) {
  switch (image.resource_case()) {
    case rv1::ResourceImage::kElection:
      return image.election().name();
    case rv1::ResourceImage::kOrganisation:
      return image.organisation().name();
    case rv1::ResourceImage::kObserver:
      return image.observer().name();
    default:
      return "";
  }
}

int64_t ImageRevision(const rv1::ResourceImage& image) {
  switch (image.resource_case()) {
    case rv1::ResourceImage::kElection:
      return image.election().revision();
    case rv1::ResourceImage::kOrganisation:
      return image.organisation().revision();
    case rv1::ResourceImage::kObserver:
      return image.observer().revision();
    default:
      return 0;
  }
}

bool ProtoEquals(const google::protobuf::Message& a, const google::protobuf::Message& b,
                 std::string* diff) {
  google::protobuf::util::MessageDifferencer d;
  std::string report;
  if (diff != nullptr) d.ReportDifferencesToString(&report);
  bool eq = d.Compare(a, b);
  if (diff != nullptr) *diff = report;
  return eq;
}

}  // namespace observer::testing
