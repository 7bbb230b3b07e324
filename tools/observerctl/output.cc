#include "tools/observerctl/output.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/errors.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/timestamp.pb.h"
#include "google/protobuf/util/json_util.h"
#include "google/type/date.pb.h"
#include "tools/observerctl/values.h"

namespace observer::ctl {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

std::string ScalarText(const Message& m, const FieldDescriptor* f, int index) {
  const Reflection* r = m.GetReflection();
  const bool rep = f->is_repeated();
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING:
      return rep ? r->GetRepeatedString(m, f, index) : r->GetString(m, f);
    case FieldDescriptor::CPPTYPE_BOOL:
      return (rep ? r->GetRepeatedBool(m, f, index) : r->GetBool(m, f)) ? "true" : "false";
    case FieldDescriptor::CPPTYPE_INT32:
      return absl::StrCat(rep ? r->GetRepeatedInt32(m, f, index) : r->GetInt32(m, f));
    case FieldDescriptor::CPPTYPE_INT64:
      return absl::StrCat(rep ? r->GetRepeatedInt64(m, f, index) : r->GetInt64(m, f));
    case FieldDescriptor::CPPTYPE_UINT32:
      return absl::StrCat(rep ? r->GetRepeatedUInt32(m, f, index) : r->GetUInt32(m, f));
    case FieldDescriptor::CPPTYPE_UINT64:
      return absl::StrCat(rep ? r->GetRepeatedUInt64(m, f, index) : r->GetUInt64(m, f));
    case FieldDescriptor::CPPTYPE_DOUBLE:
      return absl::StrCat(rep ? r->GetRepeatedDouble(m, f, index) : r->GetDouble(m, f));
    case FieldDescriptor::CPPTYPE_FLOAT:
      return absl::StrCat(rep ? r->GetRepeatedFloat(m, f, index) : r->GetFloat(m, f));
    case FieldDescriptor::CPPTYPE_ENUM:
      return EnumText(*f->enum_type(),
                      rep ? r->GetRepeatedEnumValue(m, f, index) : r->GetEnumValue(m, f));
    case FieldDescriptor::CPPTYPE_MESSAGE:
      break;
  }
  return "";
}

// Timestamps and dates print as one value; other messages are flattened.
bool AsOneValue(const Message& m, std::string* text) {
  if (const auto* ts = dynamic_cast<const google::protobuf::Timestamp*>(&m)) {
    *text = FormatInstant(*ts);
    return true;
  }
  if (const auto* d = dynamic_cast<const google::type::Date*>(&m)) {
    *text = FormatDate(*d);
    return true;
  }
  return false;
}

void Flatten(const Message& m, const std::string& prefix, std::ostream& out) {
  std::vector<const FieldDescriptor*> fields;
  m.GetReflection()->ListFields(m, &fields);
  const Reflection* r = m.GetReflection();
  for (const FieldDescriptor* f : fields) {
    const std::string path = absl::StrCat(prefix, f->name());
    if (f->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) {
      if (!f->is_repeated()) {
        out << path << ": " << ScalarText(m, f, 0) << "\n";
        continue;
      }
      std::vector<std::string> items;
      for (int i = 0; i < r->FieldSize(m, f); ++i) items.push_back(ScalarText(m, f, i));
      out << path << ": " << absl::StrJoin(items, ", ") << "\n";
      continue;
    }
    const int n = f->is_repeated() ? r->FieldSize(m, f) : 1;
    for (int i = 0; i < n; ++i) {
      const Message& sub = f->is_repeated() ? r->GetRepeatedMessage(m, f, i) : r->GetMessage(m, f);
      const std::string item = f->is_repeated() ? absl::StrCat(path, "[", i, "]") : path;
      std::string text;
      if (AsOneValue(sub, &text)) {
        out << item << ": " << text << "\n";
      } else {
        Flatten(sub, item + ".", out);
      }
    }
  }
}

}  // namespace

std::size_t DisplayWidth(absl::string_view s) {
  std::size_t n = 0;
  for (char c : s) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  }
  return n;
}

Table::Table(std::vector<std::string> header, std::vector<bool> right)
    : header_(std::move(header)), right_(std::move(right)) {
  right_.resize(header_.size(), false);
}

void Table::Add(std::vector<std::string> row) {
  row.resize(header_.size());
  rows_.push_back(std::move(row));
}

void Table::AddRule() { rows_.push_back({}); }

void Table::Print(std::ostream& out) const {
  std::vector<std::size_t> width(header_.size(), 0);
  auto measure = [&width](const std::vector<std::string>& row) {
    for (std::size_t i = 0; i < row.size(); ++i) {
      width[i] = std::max(width[i], DisplayWidth(row[i]));
    }
  };
  measure(header_);
  for (const auto& row : rows_) measure(row);
  std::size_t total = 0;
  for (std::size_t w : width) total += w;
  total += 2 * (width.size() - 1);
  const std::string rule = absl::StrCat("  ", std::string(total, '-'), "\n");
  auto print = [&](const std::vector<std::string>& row) {
    std::string line = "  ";
    for (std::size_t i = 0; i < row.size(); ++i) {
      const std::string pad(width[i] - DisplayWidth(row[i]), ' ');
      if (i > 0) line += "  ";
      line += right_[i] ? pad + row[i] : row[i] + pad;
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out << line << "\n";
  };
  print(header_);
  out << rule;
  for (const auto& row : rows_) {
    if (row.empty()) {
      out << rule;
    } else {
      print(row);
    }
  }
}

std::string ToJson(const google::protobuf::Message& message, bool pretty) {
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  options.add_whitespace = pretty;
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(message, &out, options);
  if (!pretty) return out;
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

void PrintFields(const google::protobuf::Message& message, std::ostream& out) {
  Flatten(message, "", out);
}

std::string DescribeError(absl::string_view what, const absl::Status& status) {
  std::string out = absl::StrCat("error: ", what, ": ", absl::StatusCodeToString(status.code()));
  if (!status.message().empty()) absl::StrAppend(&out, ": ", status.message());
  absl::StrAppend(&out, "\n");
  const ErrorDetails d = GetErrorDetails(status);
  if (!d.reason.empty()) absl::StrAppend(&out, "  reason: ", d.reason, "\n");
  for (const auto& [k, v] : d.metadata) absl::StrAppend(&out, "  ", k, ": ", v, "\n");
  for (const auto& v : d.violations) {
    absl::StrAppend(&out, "  field ", v.field, ": ", v.description, "\n");
  }
  return out;
}

std::string ShareBar(double share, double max_share, int width) {
  if (max_share <= 0 || share <= 0) return "";
  static const char* const kEighths[] = {"", "▏", "▎", "▍", "▌", "▋", "▊", "▉"};
  const int eighths = std::max(1, static_cast<int>(std::lround(share / max_share * width * 8)));
  std::string bar;
  for (int i = 0; i < eighths / 8; ++i) bar += "█";
  bar += kEighths[eighths % 8];
  return bar;
}

}  // namespace observer::ctl
