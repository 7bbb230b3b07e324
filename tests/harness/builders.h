// Valid requests and small proto helpers for the registry integration tests.
#ifndef OBSERVER_TESTS_HARNESS_BUILDERS_H_
#define OBSERVER_TESTS_HARNESS_BUILDERS_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/proto_time.h"
#include "google/protobuf/timestamp.pb.h"
#include "google/type/date.pb.h"
#include "observer/registry/v1/registry_service.pb.h"

namespace observer::testing {

namespace rv1 = ::observer::registry::v1;

using ::observer::MakeDate;
// "2021-01-04T11:59:59Z" → Timestamp; throws on a bad literal. FormatTs gives that form back.
google::protobuf::Timestamp Ts(absl::string_view rfc3339);
google::protobuf::Timestamp ToProto(absl::Time t);
absl::Time FromProto(const google::protobuf::Timestamp& ts);
std::string FormatTs(const google::protobuf::Timestamp& ts);

std::string ElectionName(absl::string_view election_id);
// n in base 26 as lower-case letters ("a", "b", ..., "ba", ...).
std::string Letters(int64_t n);

// A parliamentary election in Kazakhstan (Asia/Almaty) on 2030-06-16: accreditation is open
// now. Host country and zone may be changed.
rv1::CreateElectionRequest FutureElection(absl::string_view election_id,
                                          absl::string_view host_country = "KZ",
                                          absl::string_view time_zone = "Asia/Almaty");
// The Majilis election of 10 Jan 2021 (Asia/Almaty, deadline 2021-01-04T12:00:00Z).
rv1::CreateElectionRequest Kz2021Election(absl::string_view election_id);

rv1::CreateOrganisationRequest NewOrganisation(absl::string_view code, absl::string_view name_en);

// A valid observer: unique ID document derived from `seq`, citizenship `citizenship`, sent by
// the state `citizenship` (must not be the host country), category SHORT_TERM, with PII
// (birth date, contact).
rv1::Observer NewObserver(int64_t seq, absl::string_view citizenship = "DE");
rv1::CreateObserverRequest NewObserverRequest(absl::string_view parent, int64_t seq,
                                              absl::string_view citizenship = "DE");
// A process-wide unique sequence number for NewObserver.
int64_t NextSeq();

// Clears the personal data a change event must not carry (id_document, birth_date, contact).
rv1::Observer StripPii(rv1::Observer o);
// True if the observer carries any personal data.
bool HasPii(const rv1::Observer& o);

// Name of the record a resource image holds ("" if empty).
std::string ImageName(const rv1::ResourceImage& image);
int64_t ImageRevision(const rv1::ResourceImage& image);

// Message equality with a readable diff in `diff` (may be null).
bool ProtoEquals(const google::protobuf::Message& a, const google::protobuf::Message& b,
                 std::string* diff = nullptr);

}  // namespace observer::testing

#endif  // OBSERVER_TESTS_HARNESS_BUILDERS_H_
