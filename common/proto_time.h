// Conversions between protobuf well-known time types and abseil time.
#ifndef OBSERVER_COMMON_PROTO_TIME_H_
#define OBSERVER_COMMON_PROTO_TIME_H_

#include <optional>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "google/protobuf/duration.pb.h"
#include "google/protobuf/timestamp.pb.h"
#include "google/type/date.pb.h"

namespace observer {

absl::Time FromProto(const google::protobuf::Timestamp& ts);
google::protobuf::Timestamp ToProto(absl::Time t);
absl::Duration FromProto(const google::protobuf::Duration& d);
google::protobuf::Duration ToProto(absl::Duration d);

// A full calendar date (year, month and day all set and valid), or nullopt.
std::optional<absl::CivilDay> ToCivilDay(const google::type::Date& date);
// A date as given, not checked (ToCivilDay checks).
google::type::Date MakeDate(int year, int month, int day);

// RFC 3339 in UTC with fractional seconds, e.g. "2021-01-04T12:00:00Z".
std::string FormatUtc(absl::Time t);

}  // namespace observer

#endif  // OBSERVER_COMMON_PROTO_TIME_H_
