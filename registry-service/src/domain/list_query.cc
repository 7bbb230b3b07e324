#include "registry-service/src/domain/list_query.h"

#include <cstdint>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "common/country_codes.h"
#include "common/errors.h"
#include "observer/registry/v1/resources.pb.h"
#include "registry-service/src/domain/rules.h"

namespace observer::registry {
namespace {

constexpr absl::string_view kTokenVersion = "p1";

absl::Status BadFilter(absl::string_view why) { return InvalidField("filter", why); }

// Splits the filter into tokens: words, quoted strings, and the operators = != :.
absl::StatusOr<std::vector<std::string>> Tokenize(absl::string_view s) {
  std::vector<std::string> tokens;
  size_t i = 0;
  while (i < s.size()) {
    const char c = s[i];
    if (absl::ascii_isspace(c)) {
      ++i;
    } else if (c == '"') {
      size_t j = i + 1;
      std::string value;
      while (j < s.size() && s[j] != '"') {
        if (s[j] == '\\' && j + 1 < s.size()) ++j;
        value.push_back(s[j++]);
      }
      if (j >= s.size()) return BadFilter("unterminated quoted string");
      tokens.push_back(absl::StrCat("\"", value));  // Leading quote marks a literal.
      i = j + 1;
    } else if (c == '=' || c == ':') {
      tokens.emplace_back(1, c);
      ++i;
    } else if (c == '!' && i + 1 < s.size() && s[i + 1] == '=') {
      tokens.emplace_back("!=");
      i += 2;
    } else if (absl::ascii_isalnum(c) || c == '-' || c == '_' || c == '/' || c == '.') {
      size_t j = i;
      while (j < s.size() && (absl::ascii_isalnum(s[j]) || s[j] == '-' || s[j] == '_' ||
                              s[j] == '/' || s[j] == '.')) {
        ++j;
      }
      tokens.emplace_back(s.substr(i, j - i));
      i = j;
    } else {
      // Printed as a code: a lone byte of a UTF-8 sequence is not valid text.
      return BadFilter(absl::StrFormat("unexpected character 0x%02x at offset %d",
                                       static_cast<unsigned char>(c), i));
    }
  }
  return tokens;
}

std::string Literal(const std::string& token) {
  return token.front() == '"' ? token.substr(1) : token;
}

absl::StatusOr<ObserverCondition> MakeCondition(absl::string_view field, absl::string_view op,
                                                const std::string& value) {
  ObserverCondition c;
  c.negated = op == "!=";
  if (field == "tags" || field == "tag") {
    // tags:"x" and tags = "x": has the tag; tags != "x": has not.
    c.field = ObserverCondition::Field::kTag;
    c.text = value;
    return c;
  }
  if (op == ":") return BadFilter(absl::StrCat("':' applies to tags only, not '", field, "'"));
  if (field == "status") {
    v1::ObserverStatus status;
    const std::string upper = absl::AsciiStrToUpper(value);
    if ((!v1::ObserverStatus_Parse(upper, &status) &&
         !v1::ObserverStatus_Parse("OBSERVER_STATUS_" + upper, &status)) ||
        status == v1::OBSERVER_STATUS_UNSPECIFIED) {
      return BadFilter(absl::StrCat("'", value, "' is not a status (SUBMITTED, ACCREDITED, ...)"));
    }
    c.field = ObserverCondition::Field::kStatus;
    c.number = status;
  } else if (field == "category") {
    v1::ObserverCategory category;
    const std::string upper = absl::AsciiStrToUpper(value);
    if ((!v1::ObserverCategory_Parse(upper, &category) &&
         !v1::ObserverCategory_Parse("OBSERVER_CATEGORY_" + upper, &category)) ||
        category == v1::OBSERVER_CATEGORY_UNSPECIFIED) {
      return BadFilter(absl::StrCat("'", value, "' is not a category (SHORT_TERM, ...)"));
    }
    c.field = ObserverCondition::Field::kCategory;
    c.number = category;
  } else if (field == "test") {
    if (value != "true" && value != "false") return BadFilter("test takes true or false");
    c.field = ObserverCondition::Field::kTest;
    c.number = value == "true" ? 1 : 0;
  } else if (field == "organisation" || field == "sending_body.organisation") {
    absl::string_view code = value;
    absl::ConsumePrefix(&code, "organisations/");
    if (!IsValidOrganisationCode(code)) {
      return BadFilter(absl::StrCat("'", value, "' is not an organisation code"));
    }
    c.field = ObserverCondition::Field::kOrganisation;
    c.text = OrganisationName(code);
  } else if (field == "state" || field == "sending_body.state" || field == "citizenship") {
    if (!CountryCodes::Default().Contains(value)) {
      return BadFilter(absl::StrCat("'", value, "' is not an ISO 3166-1 alpha-2 country code"));
    }
    c.field = field == "citizenship" ? ObserverCondition::Field::kCitizenship
                                     : ObserverCondition::Field::kState;
    c.text = value;
  } else {
    return BadFilter(absl::StrCat("unknown field '", field,
                                  "' (status, organisation, state, citizenship, category, test, "
                                  "tags)"));
  }
  return c;
}

}  // namespace

absl::StatusOr<int> EffectivePageSize(int requested) {
  if (requested < 0) return InvalidField("page_size", "must not be negative");
  if (requested == 0) return kDefaultPageSize;
  return std::min(requested, kMaxPageSize);
}

std::string EncodePageToken(absl::string_view query_fingerprint, absl::string_view last_key) {
  return absl::WebSafeBase64Escape(
      absl::StrCat(kTokenVersion, "|", query_fingerprint, "|", last_key));
}

absl::StatusOr<std::string> DecodePageToken(absl::string_view token,
                                            absl::string_view query_fingerprint) {
  if (token.empty()) return std::string();
  std::string raw;
  if (!absl::WebSafeBase64Unescape(token, &raw)) {
    return InvalidField("page_token", "is not a page token from this API");
  }
  absl::string_view rest = raw;
  if (!absl::ConsumePrefix(&rest, kTokenVersion) || !absl::ConsumePrefix(&rest, "|")) {
    return InvalidField("page_token", "is not a page token from this API");
  }
  if (!absl::ConsumePrefix(&rest, query_fingerprint) || !absl::ConsumePrefix(&rest, "|")) {
    return InvalidField("page_token", "belongs to a different query (parent or filter changed)");
  }
  return std::string(rest);
}

absl::StatusOr<std::vector<ObserverCondition>> ParseObserverFilter(absl::string_view filter) {
  std::vector<ObserverCondition> conditions;
  if (filter.size() > 2048) return BadFilter("is longer than 2048 bytes");
  auto tokens_or = Tokenize(filter);
  if (!tokens_or.ok()) return tokens_or.status();
  const std::vector<std::string>& tokens = *tokens_or;
  size_t i = 0;
  while (i < tokens.size()) {
    if (i + 3 > tokens.size()) return BadFilter("expected: field = value");
    const std::string& field = tokens[i];
    const std::string& op = tokens[i + 1];
    if (field.front() == '"' || (op != "=" && op != "!=" && op != ":")) {
      return BadFilter(absl::StrCat("expected a comparison after '", field, "'"));
    }
    auto condition = MakeCondition(field, op, Literal(tokens[i + 2]));
    if (!condition.ok()) return condition.status();
    conditions.push_back(*std::move(condition));
    i += 3;
    if (i < tokens.size()) {
      if (tokens[i] != "AND") {
        return BadFilter(absl::StrCat("expected AND, got '", Literal(tokens[i]), "'"));
      }
      ++i;
      if (i == tokens.size()) return BadFilter("nothing after AND");
    }
  }
  return conditions;
}

}  // namespace observer::registry
