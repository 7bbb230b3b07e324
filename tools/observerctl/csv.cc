#include "tools/observerctl/csv.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace observer::ctl {
namespace {

constexpr absl::string_view kBom = "\xEF\xBB\xBF";

// The length of the UTF-8 sequence at text[i], or 0 if it is not valid (overlong forms,
// surrogates and code points above U+10FFFF are invalid).
std::size_t SequenceLength(absl::string_view text, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char c = byte(i);
  if (c < 0x80) return 1;
  std::size_t n = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // Range of the second byte.
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (i + n > text.size()) return 0;
  if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
  for (std::size_t k = 2; k < n; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  }
  return n;
}

}  // namespace

Utf8Error FindInvalidUtf8(absl::string_view text) {
  int line = 1;
  std::size_t line_start = 0;
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t n = SequenceLength(text, i);
    if (n == 0) return {line, static_cast<int>(i - line_start) + 1};
    if (text[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
    i += n;
  }
  return {};
}

absl::StatusOr<std::vector<CsvRecord>> ParseCsv(absl::string_view text) {
  if (absl::StartsWith(text, "\xFF\xFE") || absl::StartsWith(text, "\xFE\xFF")) {
    return absl::InvalidArgumentError(
        "the file is UTF-16 text; save it as UTF-8 (e.g. 'iconv -f UTF-16 -t UTF-8')");
  }
  if (absl::StartsWith(text, kBom)) text.remove_prefix(kBom.size());
  if (const Utf8Error bad = FindInvalidUtf8(text); bad.line > 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "line ", bad.line, ", byte ", bad.byte_in_line,
        ": the file is not UTF-8 text (convert it first, e.g. 'iconv -f CP1251 -t UTF-8')"));
  }
  if (text.find('\0') != absl::string_view::npos) {
    return absl::InvalidArgumentError("the file holds NUL bytes; it is not a CSV text file");
  }
  std::vector<CsvRecord> records;
  CsvRecord record;
  std::string field;
  bool in_record = false;   // Something of the current record has been read.
  bool quoted = false;      // Inside a quoted field.
  bool was_quoted = false;  // The current field was quoted (only a delimiter may follow).
  bool any_quote = false;   // The current record has a quoted field (so it is not blank).
  int line = 1;
  int quote_line = 0;
  auto end_field = [&]() {
    record.fields.push_back(std::move(field));
    field.clear();
    was_quoted = false;
  };
  auto end_record = [&]() {
    end_field();
    const bool blank = record.fields.size() == 1 && record.fields[0].empty() && !any_quote;
    if (!blank) records.push_back(std::move(record));
    record = CsvRecord{};
    in_record = false;
    any_quote = false;
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (!in_record) {
      record.line = line;
      in_record = true;
    }
    if (quoted) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field += '"';
          ++i;
        } else {
          quoted = false;
          was_quoted = true;
        }
      } else {
        if (c == '\n') ++line;
        field += c;
      }
      continue;
    }
    if (c == ',') {
      end_field();
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      end_record();
      ++line;
    } else if (was_quoted) {
      return absl::InvalidArgumentError(
          absl::StrCat("line ", line,
                       ": text after a closing quote; quote the whole field and double any '\"' "
                       "inside it"));
    } else if (c == '"') {
      if (!field.empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat("line ", line,
                         ": a '\"' inside an unquoted field; quote the field and double the '\"'"));
      }
      quoted = true;
      any_quote = true;
      quote_line = line;
    } else {
      field += c;
    }
  }
  if (quoted) {
    return absl::InvalidArgumentError(
        absl::StrCat("line ", quote_line, ": a quoted field is not closed before the end of file"));
  }
  if (in_record) end_record();
  return records;
}

std::string CsvLine(const std::vector<std::string>& fields) {
  // A lone empty field is written quoted, or the line would read as blank.
  if (fields.size() == 1 && fields[0].empty()) return "\"\"\n";
  std::string out;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) out += ',';
    const std::string& f = fields[i];
    if (f.find_first_of(",\"\r\n") == std::string::npos) {
      out += f;
      continue;
    }
    out += '"';
    for (char c : f) {
      if (c == '"') out += '"';
      out += c;
    }
    out += '"';
  }
  out += '\n';
  return out;
}

}  // namespace observer::ctl
