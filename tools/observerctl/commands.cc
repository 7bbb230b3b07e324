#include "tools/observerctl/commands.h"

#include <iostream>
#include <optional>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "tools/observerctl/output.h"

namespace observer::ctl {

int UsageError(absl::string_view message) {
  std::cerr << "observerctl: " << message << "\n";
  return kExitUsage;
}

int WithConnection(const Invocation& inv, const std::function<int(Connection&)>& body) {
  absl::StatusOr<ConnectionOptions> options = ConnectionOptionsFrom(inv);
  if (!options.ok()) return UsageError(options.status().message());
  Connection connection(*std::move(options));
  return body(connection);
}

FlagSpec OutputFlag(const std::vector<std::string>& choices) {
  return {"output",       "FORMAT", absl::StrCat("output format: ", absl::StrJoin(choices, ", ")),
          false,          false,    "",
          choices.front()};
}

absl::StatusOr<std::string> OutputFormat(const Invocation& inv,
                                         const std::vector<std::string>& choices) {
  const std::string value = absl::AsciiStrToLower(inv.Get("output"));
  for (const std::string& c : choices) {
    if (value == c) return value;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "--output: '", inv.Get("output"), "' is not one of: ", absl::StrJoin(choices, ", ")));
}

std::string ElectionName(absl::string_view id_or_name) {
  return absl::StrCat("elections/", absl::StripPrefix(id_or_name, "elections/"));
}

void JsonArrayWriter::Add(const google::protobuf::Message& message) {
  out_ << (first_ ? "[\n" : ",\n") << ToJson(message);
  first_ = false;
}

void JsonArrayWriter::Finish() { out_ << (first_ ? "[]\n" : "\n]\n"); }

}  // namespace observer::ctl
