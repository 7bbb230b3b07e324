// observerctl's commands, grouped by file: registry records (registry_commands.cc), statistics
// (stats_commands.cc), CSV import and export (import_command.cc, export_command.cc) and the
// change stream (watch_command.cc), health checks (health_command.cc), the audit chain check
// (audit_command.cc); plus what they share.
#ifndef OBSERVER_TOOLS_OBSERVERCTL_COMMANDS_H_
#define OBSERVER_TOOLS_OBSERVERCTL_COMMANDS_H_

#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"
#include "tools/observerctl/command_line.h"
#include "tools/observerctl/connection.h"

namespace observer::ctl {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;  // A call, or some rows, refused; a service unreachable.
inline constexpr int kExitUsage = 2;

std::vector<CommandSpec> RegistryCommands();
std::vector<CommandSpec> StatsCommands();
std::vector<CommandSpec> ImportCommands();
std::vector<CommandSpec> ExportCommands();
std::vector<CommandSpec> WatchCommands();
std::vector<CommandSpec> HealthCommands();
std::vector<CommandSpec> AuditCommands();

// Prints "observerctl: MESSAGE" to stderr; returns kExitUsage.
int UsageError(absl::string_view message);

// Runs `body` with a connection built from the connection flags (a usage error if they are bad).
int WithConnection(const Invocation& inv, const std::function<int(Connection&)>& body);

// The --output flag offering `choices` (the first is the default).
FlagSpec OutputFlag(const std::vector<std::string>& choices);
// The --output value, or a usage error naming the choices.
absl::StatusOr<std::string> OutputFormat(const Invocation& inv,
                                         const std::vector<std::string>& choices);

// "elections/ID" for "ID" or "elections/ID".
std::string ElectionName(absl::string_view id_or_name);

// `a` followed by `b` (flag lists built from parts).
template <typename T>
std::vector<T> Concat(std::vector<T> a, const std::vector<T>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// Writes messages as a JSON array, one message per line.
class JsonArrayWriter {
 public:
  explicit JsonArrayWriter(std::ostream& out) : out_(out) {}
  void Add(const google::protobuf::Message& message);
  void Finish();

 private:
  std::ostream& out_;
  bool first_ = true;
};

}  // namespace observer::ctl

#endif  // OBSERVER_TOOLS_OBSERVERCTL_COMMANDS_H_
