// A command-line parser for a tool with commands and subcommands ("observerctl observer add"),
// each with its own flags and positional arguments, plus global flags that every command takes
// and that fall back to environment variables. No gRPC and no global state: the command table
// is data and parsing is a pure function, so it is unit-tested directly.
#ifndef OBSERVER_TOOLS_OBSERVERCTL_COMMAND_LINE_H_
#define OBSERVER_TOOLS_OBSERVERCTL_COMMAND_LINE_H_

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace observer::ctl {

struct FlagSpec {
  FlagSpec(std::string flag_name, std::string flag_value_name, std::string flag_help,
           bool is_repeated = false, bool is_required = false, std::string env_var = "",
           std::string default_text = "")
      : name(std::move(flag_name)),
        value_name(std::move(flag_value_name)),
        help(std::move(flag_help)),
        repeated(is_repeated),
        required(is_required),
        env(std::move(env_var)),
        default_value(std::move(default_text)) {}

  std::string name;        // Without dashes, words joined by '-': "election", "dry-run".
  std::string value_name;  // For help: "ELECTION"; empty for a boolean flag.
  std::string help;
  bool repeated;              // May be given several times (values accumulate).
  bool required;              // The parser reports it missing.
  std::string env;            // Environment variable read when the flag is absent.
  std::string default_value;  // Used when neither flag nor environment gives a value.

  bool boolean() const { return value_name.empty(); }
};

// What the parser found for one invocation.
class Invocation;

struct CommandSpec {
  std::vector<std::string> path;  // {"observer", "add"}.
  std::string summary;            // One line for the command list.
  std::string arguments;          // Positional arguments for the usage line: "ELECTION".
  int min_args = 0;
  int max_args = 0;
  std::vector<FlagSpec> flags;
  std::string details;   // Paragraphs printed by --help after the flags.
  std::string examples;  // Lines printed by --help under "Examples:".
  std::function<int(const Invocation&)> run;
};

class Invocation {
 public:
  const CommandSpec* command = nullptr;
  std::vector<std::string> args;

  // The flag's last value (flag > environment > default); "" if none.
  std::string Get(absl::string_view flag) const;
  // Every value given for a repeated flag, in order.
  std::vector<std::string> GetAll(absl::string_view flag) const;
  // Whether the flag was given on the command line (not from the environment or default).
  bool Given(absl::string_view flag) const;
  // A boolean flag's value.
  bool IsSet(absl::string_view flag) const;

  // Parsed values: flag → values in order, and which flags came from the command line.
  std::map<std::string, std::vector<std::string>, std::less<>> values;
  std::map<std::string, bool, std::less<>> from_command_line;
};

// The outcome of parsing: an invocation to run, or text to print (help: exit 0; usage error:
// exit 2).
struct ParseResult {
  std::optional<Invocation> invocation;
  std::string help;   // Set when --help was asked for.
  std::string error;  // Set on a usage error; one line, without the program name.
};

class CommandLine {
 public:
  // `program` is the name in usage lines; `global_flags` are accepted by every command.
  CommandLine(std::string program, std::string description, std::vector<FlagSpec> global_flags,
              std::vector<CommandSpec> commands);

  // Parses argv[1..]. `getenv` reads the environment (injected for tests).
  ParseResult Parse(
      const std::vector<std::string>& args,
      const std::function<std::optional<std::string>(const std::string&)>& getenv) const;

  // The help text of a command, or of the program (a group prefix lists its subcommands).
  std::string Help(const std::vector<std::string>& prefix) const;

  const std::vector<CommandSpec>& commands() const { return commands_; }

 private:
  const CommandSpec* Find(const std::vector<std::string>& path) const;
  bool IsPrefix(const std::vector<std::string>& path) const;
  std::string CommandList(const std::vector<std::string>& prefix) const;

  std::string program_;
  std::string description_;
  std::vector<FlagSpec> global_flags_;
  std::vector<CommandSpec> commands_;
};

// "observer add" for {"observer", "add"}.
std::string JoinPath(const std::vector<std::string>& path);

}  // namespace observer::ctl

#endif  // OBSERVER_TOOLS_OBSERVERCTL_COMMAND_LINE_H_
