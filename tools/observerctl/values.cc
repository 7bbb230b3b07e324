#include "tools/observerctl/values.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/proto_time.h"

namespace observer::ctl {
namespace {

// "OBSERVER_CATEGORY_" for ObserverCategory: the name of its value 0 without "UNSPECIFIED".
std::string Prefix(const google::protobuf::EnumDescriptor& type) {
  const google::protobuf::EnumValueDescriptor* zero = type.FindValueByNumber(0);
  if (zero == nullptr) return "";
  return std::string(absl::StripSuffix(zero->name(), "UNSPECIFIED"));
}

}  // namespace

absl::StatusOr<int> ParseEnumValue(const google::protobuf::EnumDescriptor& type,
                                   absl::string_view text) {
  const std::string wanted =
      absl::AsciiStrToUpper(absl::StrReplaceAll(absl::StripAsciiWhitespace(text), {{"-", "_"}}));
  const std::string prefix = Prefix(type);
  for (int i = 0; i < type.value_count(); ++i) {
    const google::protobuf::EnumValueDescriptor* v = type.value(i);
    if (v->number() == 0) continue;
    if (v->name() == wanted || v->name() == prefix + wanted) return v->number();
  }
  return absl::InvalidArgumentError(
      absl::StrCat("'", text, "' is not one of: ", EnumChoices(type)));
}

std::string EnumText(const google::protobuf::EnumDescriptor& type, int value) {
  if (value == 0) return "";
  const google::protobuf::EnumValueDescriptor* v = type.FindValueByNumber(value);
  if (v == nullptr) return absl::StrCat(value);
  return absl::AsciiStrToLower(
      absl::StrReplaceAll(absl::StripPrefix(v->name(), Prefix(type)), {{"_", "-"}}));
}

std::string EnumChoices(const google::protobuf::EnumDescriptor& type) {
  std::vector<std::string> names;
  for (int i = 0; i < type.value_count(); ++i) {
    if (type.value(i)->number() != 0) names.push_back(EnumText(type, type.value(i)->number()));
  }
  return absl::StrJoin(names, ", ");
}

absl::StatusOr<google::type::Date> ParseDate(absl::string_view text) {
  absl::CivilDay day;
  const std::string t(absl::StripAsciiWhitespace(text));
  if (t.size() != 10 || !absl::ParseCivilTime(t, &day) || absl::FormatCivilTime(day) != t) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", text, "' is not a date in the form YYYY-MM-DD"));
  }
  return MakeDate(static_cast<int>(day.year()), day.month(), day.day());
}

std::string FormatDate(const google::type::Date& date) {
  if (date.year() == 0 && date.month() == 0 && date.day() == 0) return "";
  return absl::StrFormat("%04d-%02d-%02d", date.year(), date.month(), date.day());
}

absl::StatusOr<google::protobuf::Timestamp> ParseInstant(absl::string_view text) {
  absl::Time t;
  std::string error;
  const std::string s(absl::StripAsciiWhitespace(text));
  // absl also accepts "infinite-future"/"infinite-past" and years a Timestamp cannot hold.
  if (absl::ParseTime(absl::RFC3339_full, s, &t, &error) && t != absl::InfiniteFuture() &&
      t != absl::InfinitePast()) {
    const int64_t year = absl::ToCivilSecond(t, absl::UTCTimeZone()).year();
    if (year >= 1 && year <= 9999) return ToProto(t);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("'", text,
                   "' is not an RFC 3339 instant (years 1 to 9999) such as 2021-01-04T12:00:00Z or "
                   "2021-01-04T18:00:00+06:00"));
}

std::string FormatInstant(const google::protobuf::Timestamp& ts) {
  if (ts.seconds() == 0 && ts.nanos() == 0) return "";
  // absl writes UTC as "+00:00"; "Z" is the usual spelling.
  std::string text = absl::FormatTime(absl::RFC3339_full, FromProto(ts), absl::UTCTimeZone());
  if (absl::EndsWith(text, "+00:00")) text.replace(text.size() - 6, 6, "Z");
  return text;
}

absl::StatusOr<bool> ParseBoolText(absl::string_view text) {
  const std::string v = absl::AsciiStrToLower(absl::StripAsciiWhitespace(text));
  if (v == "true" || v == "yes" || v == "1") return true;
  if (v == "false" || v == "no" || v == "0" || v.empty()) return false;
  return absl::InvalidArgumentError(absl::StrCat("'", text, "' is not true or false"));
}

std::vector<std::string> SplitList(absl::string_view text) {
  std::vector<std::string> out;
  for (absl::string_view item : absl::StrSplit(text, ',')) {
    item = absl::StripAsciiWhitespace(item);
    if (!item.empty()) out.emplace_back(item);
  }
  return out;
}

absl::StatusOr<absl::Duration> ParsePositiveDuration(absl::string_view text) {
  absl::Duration d;
  if (!absl::ParseDuration(absl::StripAsciiWhitespace(text), &d) || d <= absl::ZeroDuration() ||
      d == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", text, "' is not a positive duration such as 500ms, 30s or 2m"));
  }
  return d;
}

}  // namespace observer::ctl
