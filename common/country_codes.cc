#include "common/country_codes.h"

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace observer {
namespace {

// A parsed JSON value; enough of a document model for the iso-codes file. (google.protobuf.
// Struct is not used: its inline map accessors break under -fsanitize=thread against Debian's
// uninstrumented libprotobuf.)
struct JsonValue {
  // An object's member. (Not std::pair<std::string, JsonValue>: a pair of an incomplete type
  // is undefined, and clang with libstdc++ rejects it.)
  struct Member;
  enum class Kind { kNull, kBool, kNumber, kString, kArray, kObject };
  Kind kind = Kind::kNull;
  std::string text;  // A string's contents, or a number or literal as written.
  std::vector<JsonValue> elements;
  std::vector<Member> members;

  const JsonValue* Find(absl::string_view key) const;
};

struct JsonValue::Member {
  std::string name;
  JsonValue value;
};

const JsonValue* JsonValue::Find(absl::string_view key) const {
  for (const auto& [name, value] : members) {
    if (name == key) return &value;
  }
  return nullptr;
}

// A strict RFC 8259 parser.
class JsonParser {
 public:
  explicit JsonParser(absl::string_view text) : text_(text) {}

  // The whole text as one value; false with error() set otherwise.
  bool ParseDocument(JsonValue* value) {
    SkipWhitespace();
    if (!ParseValue(value, 0)) return false;
    SkipWhitespace();
    return AtEnd() || Fail("unexpected text after the top-level value");
  }

  const std::string& error() const { return error_; }

 private:
  // Deeper nesting than any sane file; keeps a hostile one from exhausting the stack.
  static constexpr int kMaxDepth = 64;

  bool AtEnd() const { return pos_ >= text_.size(); }
  char Peek() const { return AtEnd() ? '\0' : text_[pos_]; }

  bool Fail(absl::string_view problem) {
    if (error_.empty()) error_ = absl::StrCat(problem, " at byte ", pos_);
    return false;
  }

  bool Consume(char expected) {
    if (AtEnd() || text_[pos_] != expected) return false;
    ++pos_;
    return true;
  }

  void SkipWhitespace() {
    while (!AtEnd() && (Peek() == ' ' || Peek() == '\t' || Peek() == '\n' || Peek() == '\r')) {
      ++pos_;
    }
  }

  bool ParseValue(JsonValue* value, int depth) {
    if (depth > kMaxDepth) return Fail("nesting too deep");
    if (AtEnd()) return Fail("unexpected end of input");
    switch (Peek()) {
      case '{':
        return ParseObject(value, depth);
      case '[':
        return ParseArray(value, depth);
      case '"':
        value->kind = JsonValue::Kind::kString;
        return ParseString(&value->text);
      case 't':
        return ParseLiteral("true", JsonValue::Kind::kBool, value);
      case 'f':
        return ParseLiteral("false", JsonValue::Kind::kBool, value);
      case 'n':
        return ParseLiteral("null", JsonValue::Kind::kNull, value);
      default:
        if (Peek() != '-' && !absl::ascii_isdigit(static_cast<unsigned char>(Peek()))) {
          return Fail("unexpected character");
        }
        value->kind = JsonValue::Kind::kNumber;
        return ParseNumber(&value->text);
    }
  }

  bool ParseLiteral(absl::string_view word, JsonValue::Kind kind, JsonValue* value) {
    if (text_.substr(pos_, word.size()) != word) return Fail("unexpected token");
    pos_ += word.size();
    value->kind = kind;
    value->text = std::string(word);
    return true;
  }

  bool ParseObject(JsonValue* value, int depth) {
    value->kind = JsonValue::Kind::kObject;
    ++pos_;  // '{'
    SkipWhitespace();
    if (Consume('}')) return true;
    while (true) {
      SkipWhitespace();
      if (Peek() != '"') return Fail("expected a member name");
      std::string name;
      if (!ParseString(&name)) return false;
      SkipWhitespace();
      if (!Consume(':')) return Fail("expected ':'");
      SkipWhitespace();
      JsonValue member;
      if (!ParseValue(&member, depth + 1)) return false;
      value->members.push_back({std::move(name), std::move(member)});
      SkipWhitespace();
      if (Consume('}')) return true;
      if (!Consume(',')) return Fail("expected ',' or '}'");
    }
  }

  bool ParseArray(JsonValue* value, int depth) {
    value->kind = JsonValue::Kind::kArray;
    ++pos_;  // '['
    SkipWhitespace();
    if (Consume(']')) return true;
    while (true) {
      SkipWhitespace();
      JsonValue element;
      if (!ParseValue(&element, depth + 1)) return false;
      value->elements.push_back(std::move(element));
      SkipWhitespace();
      if (Consume(']')) return true;
      if (!Consume(',')) return Fail("expected ',' or ']'");
    }
  }

  bool ParseDigits() {
    const size_t start = pos_;
    while (absl::ascii_isdigit(static_cast<unsigned char>(Peek()))) ++pos_;
    return pos_ > start || Fail("expected a digit");
  }

  bool ParseNumber(std::string* text) {
    const size_t start = pos_;
    Consume('-');
    if (!Consume('0') && !ParseDigits()) return false;
    if (Consume('.') && !ParseDigits()) return false;
    if (Consume('e') || Consume('E')) {
      if (!Consume('+')) Consume('-');
      if (!ParseDigits()) return false;
    }
    *text = std::string(text_.substr(start, pos_ - start));
    return true;
  }

  bool ParseHex4(uint32_t* unit) {
    if (text_.size() - pos_ < 4) return Fail("truncated \\u escape");
    *unit = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = text_[pos_++];
      if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) return Fail("bad \\u escape");
      *unit = *unit * 16 + (absl::ascii_isdigit(static_cast<unsigned char>(c))
                                ? c - '0'
                                : absl::ascii_tolower(static_cast<unsigned char>(c)) - 'a' + 10);
    }
    return true;
  }

  static void AppendUtf8(uint32_t code_point, std::string* out) {
    if (code_point < 0x80) {
      out->push_back(static_cast<char>(code_point));
    } else if (code_point < 0x800) {
      out->push_back(static_cast<char>(0xC0 | (code_point >> 6)));
      out->push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
    } else if (code_point < 0x10000) {
      out->push_back(static_cast<char>(0xE0 | (code_point >> 12)));
      out->push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
    } else {
      out->push_back(static_cast<char>(0xF0 | (code_point >> 18)));
      out->push_back(static_cast<char>(0x80 | ((code_point >> 12) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
    }
  }

  bool ParseEscape(std::string* out) {
    if (AtEnd()) return Fail("unterminated string");
    const char c = text_[pos_++];
    switch (c) {
      case '"':
      case '\\':
      case '/':
        out->push_back(c);
        return true;
      case 'b':
        out->push_back('\b');
        return true;
      case 'f':
        out->push_back('\f');
        return true;
      case 'n':
        out->push_back('\n');
        return true;
      case 'r':
        out->push_back('\r');
        return true;
      case 't':
        out->push_back('\t');
        return true;
      case 'u': {
        uint32_t unit;
        if (!ParseHex4(&unit)) return false;
        if (unit >= 0xDC00 && unit <= 0xDFFF) return Fail("lone low surrogate");
        if (unit >= 0xD800 && unit <= 0xDBFF) {
          uint32_t low;
          if (!Consume('\\') || !Consume('u')) return Fail("missing low surrogate");
          if (!ParseHex4(&low)) return false;
          if (low < 0xDC00 || low > 0xDFFF) return Fail("missing low surrogate");
          unit = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
        }
        AppendUtf8(unit, out);
        return true;
      }
      default:
        --pos_;
        return Fail("bad escape");
    }
  }

  bool ParseString(std::string* out) {
    ++pos_;  // '"'
    while (true) {
      if (AtEnd()) return Fail("unterminated string");
      const char c = text_[pos_];
      if (c == '"') {
        ++pos_;
        return true;
      }
      if (static_cast<unsigned char>(c) < 0x20) return Fail("control character in a string");
      ++pos_;
      if (c == '\\') {
        if (!ParseEscape(out)) return false;
      } else {
        out->push_back(c);
      }
    }
  }

  absl::string_view text_;
  size_t pos_ = 0;
  std::string error_;
};

absl::StatusOr<std::string> ReadWholeFile(const std::string& path) {
  errno = 0;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    // ifstream gives no reason of its own; errno from the failed open(2) is the best there is.
    const int error = errno != 0 ? errno : ENOENT;
    return absl::ErrnoToStatus(error, absl::StrCat("cannot read country codes from ", path));
  }
  std::ostringstream content;
  content << in.rdbuf();
  if (in.bad()) {
    return absl::DataLossError(absl::StrCat("error while reading country codes from ", path));
  }
  return std::move(content).str();
}

absl::Status Malformed(absl::string_view path, absl::string_view problem) {
  return absl::InvalidArgumentError(
      absl::StrCat("country codes file ", path, " is malformed: ", problem));
}

// The string member `key` of an object, or nullptr when it is absent or not a string.
const std::string* StringMember(const JsonValue& object, absl::string_view key) {
  const JsonValue* member = object.Find(key);
  if (member == nullptr || member->kind != JsonValue::Kind::kString) return nullptr;
  return &member->text;
}

}  // namespace

int CountryCodes::IndexOf(absl::string_view alpha2) {
  if (alpha2.size() != 2) return -1;
  const auto is_upper = [](char c) { return c >= 'A' && c <= 'Z'; };
  if (!is_upper(alpha2[0]) || !is_upper(alpha2[1])) return -1;
  return (alpha2[0] - 'A') * kLetters + (alpha2[1] - 'A');
}

absl::StatusOr<CountryCodes> CountryCodes::Load(absl::string_view path) {
  const std::string path_string(path);
  absl::StatusOr<std::string> content = ReadWholeFile(path_string);
  if (!content.ok()) return content.status();

  JsonValue document;
  JsonParser parser(*content);
  if (!parser.ParseDocument(&document)) return Malformed(path, parser.error());

  const JsonValue* list = document.Find("3166-1");
  if (list == nullptr || list->kind != JsonValue::Kind::kArray) {
    return Malformed(path, "no \"3166-1\" array at the top level");
  }

  CountryCodes codes;
  int position = 0;
  for (const JsonValue& entry : list->elements) {
    const std::string where = absl::StrCat("entry ", position++);
    if (entry.kind != JsonValue::Kind::kObject) {
      return Malformed(path, absl::StrCat(where, " is not an object"));
    }
    const std::string* alpha2 = StringMember(entry, "alpha_2");
    const int index = alpha2 == nullptr ? -1 : IndexOf(*alpha2);
    if (index < 0) {
      return Malformed(path, absl::StrCat(where, " has no two-letter upper-case \"alpha_2\""));
    }
    const std::string* common_name = StringMember(entry, "common_name");
    const std::string* name = StringMember(entry, "name");
    const std::string* chosen =
        common_name != nullptr && !common_name->empty() ? common_name : name;
    if (chosen == nullptr || chosen->empty()) {
      return Malformed(path, absl::StrCat(where, " (", *alpha2, ") has no \"name\""));
    }
    if (!codes.names_[index].empty()) {
      return Malformed(path, absl::StrCat(where, " repeats the code ", *alpha2));
    }
    codes.names_[index] = *chosen;
    ++codes.size_;
  }
  if (codes.size_ == 0) return Malformed(path, "the \"3166-1\" array is empty");
  return codes;
}

const CountryCodes& CountryCodes::Default() {
  // A function-local static is initialised exactly once even when threads race to it.
  static const CountryCodes* const codes = [] {
    absl::StatusOr<CountryCodes> loaded = Load(kDefaultCountryCodesPath);
    if (!loaded.ok()) {
      std::fprintf(stderr, "fatal: %s (install the Debian package iso-codes)\n",
                   loaded.status().ToString().c_str());
      std::abort();
    }
    // Never destroyed, so threads still running at exit can keep using it.
    return new CountryCodes(*std::move(loaded));
  }();
  return *codes;
}

bool CountryCodes::Contains(absl::string_view alpha2) const {
  const int index = IndexOf(alpha2);
  return index >= 0 && !names_[index].empty();
}

std::string CountryCodes::Name(absl::string_view alpha2) const {
  const int index = IndexOf(alpha2);
  return index < 0 ? std::string() : names_[index];
}

}  // namespace observer
