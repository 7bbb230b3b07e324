// Text forms of the API's values on the command line and in CSV files: enums, dates, instants,
// booleans and lists. Proto only, no gRPC.
#ifndef OBSERVER_TOOLS_OBSERVERCTL_VALUES_H_
#define OBSERVER_TOOLS_OBSERVERCTL_VALUES_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/generated_enum_reflection.h"
#include "google/protobuf/timestamp.pb.h"
#include "google/type/date.pb.h"

namespace observer::ctl {

// An enum value from any of "short-term", "SHORT_TERM", "OBSERVER_CATEGORY_SHORT_TERM" (any
// case, '-' or '_'); the *_UNSPECIFIED value is not accepted. INVALID_ARGUMENT lists the
// choices.
absl::StatusOr<int> ParseEnumValue(const google::protobuf::EnumDescriptor& type,
                                   absl::string_view text);
template <typename E>
absl::StatusOr<E> ParseEnum(absl::string_view text) {
  absl::StatusOr<int> v = ParseEnumValue(*google::protobuf::GetEnumDescriptor<E>(), text);
  if (!v.ok()) return v.status();
  return static_cast<E>(*v);
}

// "short-term" for OBSERVER_CATEGORY_SHORT_TERM; "" for the *_UNSPECIFIED value; the number for
// a value this build does not know.
std::string EnumText(const google::protobuf::EnumDescriptor& type, int value);
template <typename E>
std::string EnumText(E value) {
  return EnumText(*google::protobuf::GetEnumDescriptor<E>(), static_cast<int>(value));
}

// "female, male, other".
std::string EnumChoices(const google::protobuf::EnumDescriptor& type);

// YYYY-MM-DD, a real calendar day.
absl::StatusOr<google::type::Date> ParseDate(absl::string_view text);
std::string FormatDate(const google::type::Date& date);

// RFC 3339 with a zone ("2021-01-04T12:00:00Z", "2021-01-04T18:00:00+06:00").
absl::StatusOr<google::protobuf::Timestamp> ParseInstant(absl::string_view text);
// Sets a Timestamp field of `m` from RFC 3339 text; "" clears the field (absent, not zero).
template <typename M>
absl::Status SetInstantField(M& m, google::protobuf::Timestamp* (M::*mutable_field)(),
                             void (M::*clear_field)(), absl::string_view text) {
  if (text.find_first_not_of(" \t") == absl::string_view::npos) {
    (m.*clear_field)();
    return absl::OkStatus();
  }
  absl::StatusOr<google::protobuf::Timestamp> t = ParseInstant(text);
  if (!t.ok()) return t.status();
  *(m.*mutable_field)() = *t;
  return absl::OkStatus();
}

// RFC 3339 in UTC; "" for an unset (zero) timestamp.
std::string FormatInstant(const google::protobuf::Timestamp& ts);

absl::StatusOr<bool> ParseBoolText(absl::string_view text);

// Comma-separated items, each trimmed of spaces; empty items are dropped.
std::vector<std::string> SplitList(absl::string_view text);

// A duration like "500ms", "30s", "2m"; positive.
absl::StatusOr<absl::Duration> ParsePositiveDuration(absl::string_view text);

}  // namespace observer::ctl

#endif  // OBSERVER_TOOLS_OBSERVERCTL_VALUES_H_
