#include "common/config.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "common/log.h"
#include "common/version.h"

namespace observer {
namespace {

// absl's own flags (--flagfile, --fromenv, ...) are defined in files under absl/.
bool IsOwnFlag(const absl::CommandLineFlag& flag) {
  const std::string file = flag.Filename();
  return !flag.IsRetired() && !absl::StartsWith(file, "absl/") &&
         !absl::StartsWith(file, "./absl/") && !absl::StrContains(file, "/absl/");
}

absl::CommandLineFlag* FindOwnFlag(absl::string_view name) {
  absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
  return flag != nullptr && IsOwnFlag(*flag) ? flag : nullptr;
}

// Flags in the order --help lists them and the environment is read.
std::vector<absl::CommandLineFlag*> OwnFlagsByName() {
  std::vector<absl::CommandLineFlag*> flags;
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    if (IsOwnFlag(*flag)) flags.push_back(flag);
  }
  std::sort(flags.begin(), flags.end(),
            [](const auto* a, const auto* b) { return a->Name() < b->Name(); });
  return flags;
}

// The flags ParseFlagsWithEnv set from the environment, for LogStartupConfig.
std::vector<std::string>& FlagsFromEnvironment() {
  static auto* names = new std::vector<std::string>();
  return *names;
}

constexpr absl::string_view kRedacted = "REDACTED";

std::string DisplayName(absl::string_view flag_name) {
  return absl::StrCat("--", absl::StrReplaceAll(flag_name, {{"_", "-"}}));
}

[[noreturn]] void PrintHelpAndExit(absl::string_view usage, absl::string_view env_prefix) {
  std::string help = absl::StrCat(usage, "\n\nFlags (flag > environment variable > default):\n");
  for (const absl::CommandLineFlag* flag : OwnFlagsByName()) {
    absl::StrAppend(&help, "  ", DisplayName(flag->Name()), "  (env ",
                    EnvVarName(env_prefix, flag->Name()), ", default \"", flag->DefaultValue(),
                    "\")\n      ", flag->Help(), "\n");
  }
  std::cout << help << std::flush;
  std::exit(0);
}

// The value text for the flag at argv[*index], consuming the next argument for "--name value".
std::string TakeValue(const absl::CommandLineFlag& flag,
                      std::optional<absl::string_view> inline_value, bool negated,
                      absl::string_view spelled, int argc, char** argv, int* index) {
  if (flag.IsOfType<bool>()) {
    if (negated && inline_value.has_value()) {
      ExitWithUsageError(absl::StrCat("flag '", spelled, "' takes no value"));
    }
    if (negated) return "false";
    return inline_value.has_value() ? std::string(*inline_value) : "true";
  }
  if (negated) ExitWithUsageError(absl::StrCat("unknown flag '", spelled, "'"));
  if (inline_value.has_value()) return std::string(*inline_value);
  // A following "--other" is taken as a forgotten value rather than as the value itself.
  if (*index + 1 >= argc || absl::StartsWith(argv[*index + 1], "--")) {
    ExitWithUsageError(absl::StrCat("flag '", spelled, "' needs a value"));
  }
  return argv[++*index];
}

}  // namespace

std::string EnvVarName(absl::string_view env_prefix, absl::string_view flag_name) {
  std::string name = absl::StrCat(env_prefix, "_", flag_name);
  absl::AsciiStrToUpper(&name);
  absl::StrReplaceAll({{"-", "_"}}, &name);
  return name;
}

void ExitWithUsageError(absl::string_view message) {
  std::cerr << program_invocation_short_name << ": " << message << " (see --help)" << std::endl;
  std::exit(kUsageErrorExitCode);
}

std::vector<char*> ParseFlagsWithEnv(int argc, char** argv, absl::string_view env_prefix,
                                     absl::string_view usage) {
  std::set<std::string> given_on_command_line;
  FlagsFromEnvironment().clear();
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (arg == "--") {
      if (i + 1 < argc) {
        ExitWithUsageError(absl::StrCat("unexpected argument '", argv[i + 1], "'"));
      }
      break;
    }
    if (arg.size() < 2 || arg[0] != '-') {
      ExitWithUsageError(absl::StrCat("unexpected argument '", arg, "'"));
    }
    const absl::string_view spelled = arg.substr(0, arg.find('='));
    absl::ConsumePrefix(&arg, "-");
    absl::ConsumePrefix(&arg, "-");
    const size_t equals = arg.find('=');
    std::optional<absl::string_view> inline_value;
    if (equals != absl::string_view::npos) inline_value = arg.substr(equals + 1);
    const std::string name = absl::StrReplaceAll(arg.substr(0, equals), {{"-", "_"}});

    if (name == "help" || name == "helpfull" || name == "h") PrintHelpAndExit(usage, env_prefix);
    absl::CommandLineFlag* flag = FindOwnFlag(name);
    bool negated = false;
    if (flag == nullptr && absl::StartsWith(name, "no")) {
      absl::string_view positive = absl::string_view(name).substr(2);
      absl::ConsumePrefix(&positive, "_");
      flag = FindOwnFlag(positive);
      negated = flag != nullptr;
    }
    if (flag == nullptr) ExitWithUsageError(absl::StrCat("unknown flag '", spelled, "'"));

    const std::string value = TakeValue(*flag, inline_value, negated, spelled, argc, argv, &i);
    std::string error;
    if (!flag->ParseFrom(value, &error)) {
      ExitWithUsageError(absl::StrCat("invalid value '", RedactSecret(flag->Name(), value),
                                      "' for flag '", spelled, "': ", error));
    }
    given_on_command_line.insert(std::string(flag->Name()));
  }

  for (absl::CommandLineFlag* flag : OwnFlagsByName()) {
    if (given_on_command_line.count(std::string(flag->Name())) > 0) continue;
    const std::string variable = EnvVarName(env_prefix, flag->Name());
    const char* value = std::getenv(variable.c_str());
    // An empty variable counts as unset, as compose files and unit files often leave them so.
    if (value == nullptr || *value == '\0') continue;
    std::string error;
    FlagsFromEnvironment().push_back(std::string(flag->Name()));
    if (!flag->ParseFrom(value, &error)) {
      ExitWithUsageError(absl::StrCat("invalid value '", RedactSecret(flag->Name(), value),
                                      "' in environment variable ", variable, " (for ",
                                      DisplayName(flag->Name()), "): ", error));
    }
  }
  return {argv[0]};
}

std::string RedactSecret(absl::string_view flag_name, absl::string_view value) {
  const std::string name = absl::AsciiStrToLower(flag_name);
  for (absl::string_view word :
       {"password", "passwd", "pwd", "secret", "token", "credential", "api_key"}) {
    if (absl::StrContains(name, word)) return value.empty() ? "" : std::string(kRedacted);
  }
  std::string out(value);
  // [scheme://]user:password@host...: the user information ends at the last '@' before the
  // query or fragment (a password may hold '/' or '@' even where it should be escaped).
  const size_t scheme = out.find("://");
  const size_t start = scheme == std::string::npos ? 0 : scheme + 3;
  const size_t end = std::min(out.find_first_of("?#", start), out.size());
  const size_t at = out.rfind('@', end == 0 ? 0 : end - 1);
  if (at != std::string::npos && at >= start) {
    const size_t colon = out.find(':', start);
    if (colon != std::string::npos && colon < at) {
      out.replace(colon + 1, at - colon - 1, std::string(kRedacted));
    }
  }
  // password=... in a key=value connection string or a URI query, in any case, with optional
  // spaces around '=' and a value that may be quoted ('a b').
  const std::string lower = absl::AsciiStrToLower(out);
  std::string redacted;
  size_t copied = 0;
  for (size_t pos = lower.find("password"); pos != std::string::npos;
       pos = lower.find("password", pos + 1)) {
    size_t i = pos + 8;
    while (i < out.size() && out[i] == ' ') ++i;
    if (i >= out.size() || out[i] != '=') continue;
    ++i;
    while (i < out.size() && out[i] == ' ') ++i;
    size_t value_end;
    if (i < out.size() && (out[i] == '\'' || out[i] == '"')) {
      const char quote = out[i];
      value_end = i + 1;
      while (value_end < out.size() && out[value_end] != quote) {
        if (out[value_end] == '\\') ++value_end;
        ++value_end;
      }
      value_end = std::min(value_end + 1, out.size());
    } else {
      value_end = std::min(out.find_first_of(" &;", i), out.size());
    }
    if (i < copied) continue;
    absl::StrAppend(&redacted, absl::string_view(out).substr(copied, i - copied), kRedacted);
    copied = value_end;
  }
  absl::StrAppend(&redacted, absl::string_view(out).substr(copied));
  return redacted;
}

void LogStartupConfig(absl::string_view service) {
  const std::vector<absl::CommandLineFlag*> flags = OwnFlagsByName();
  std::vector<std::string> values;
  values.reserve(flags.size());
  for (const absl::CommandLineFlag* flag : flags) {
    values.push_back(RedactSecret(flag->Name(), flag->CurrentValue()));
  }
  const std::string from_env = absl::StrJoin(FlagsFromEnvironment(), ",");
  std::vector<LogField> fields = {{"service", service},
                                  {"version", BuildVersion()},
                                  {"revision", BuildRevision()},
                                  {"from_env", from_env}};
  for (size_t i = 0; i < flags.size(); ++i) fields.emplace_back(flags[i]->Name(), values[i]);
  Log(LogLevel::kInfo, "config", fields);
}

absl::Status ValidateListenAddress(absl::string_view address) {
  const auto invalid = [address](absl::string_view problem) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid listen address \"", address, "\": ", problem));
  };
  if (address.empty()) return invalid("it is empty; expected host:port");

  absl::string_view host;
  absl::string_view port;
  if (absl::StartsWith(address, "[")) {
    const size_t close = address.find(']');
    if (close == absl::string_view::npos) return invalid("missing ']' after the IPv6 address");
    host = address.substr(1, close - 1);
    if (host.empty() || !absl::StrContains(host, ':')) {
      return invalid("brackets must hold an IPv6 address, e.g. [::1]:50051");
    }
    for (char c : host) {
      if (!absl::ascii_isxdigit(c) && c != ':' && c != '.') {
        return invalid(
            absl::StrCat("unexpected character '", std::string(1, c), "' in the IPv6 address"));
      }
    }
    const absl::string_view rest = address.substr(close + 1);
    if (!absl::StartsWith(rest, ":")) {
      return invalid("expected ':port' after ']'");
    }
    port = rest.substr(1);
  } else {
    const size_t colon = address.rfind(':');
    if (colon == absl::string_view::npos) return invalid("missing ':port'");
    host = address.substr(0, colon);
    port = address.substr(colon + 1);
    if (absl::StrContains(host, ':')) {
      return invalid("an IPv6 address must be in brackets, e.g. [::]:50051");
    }
    if (host.empty()) return invalid("missing host; use 0.0.0.0 or [::] for every interface");
    for (char c : host) {
      if (!absl::ascii_isalnum(c) && c != '.' && c != '-' && c != '_') {
        return invalid(absl::StrCat("unexpected character '", std::string(1, c), "' in the host"));
      }
    }
  }

  if (port.empty()) return invalid("missing port number after ':'");
  if (port.size() > 5 || !std::all_of(port.begin(), port.end(), absl::ascii_isdigit)) {
    return invalid(absl::StrCat("port '", port, "' is not a number in 0..65535"));
  }
  int port_number = 0;
  if (!absl::SimpleAtoi(port, &port_number) || port_number > 65535) {
    return invalid(absl::StrCat("port ", port, " is out of range 0..65535"));
  }
  return absl::OkStatus();
}

void RequireAddressFlag(absl::string_view flag, absl::string_view address) {
  if (absl::Status status = ValidateListenAddress(address); !status.ok()) {
    ExitWithUsageError(absl::StrCat("--", flag, ": ", status.message()));
  }
}

}  // namespace observer
