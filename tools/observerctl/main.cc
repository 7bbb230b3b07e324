// observerctl: the operator's command line for registry-service and stats-service.
// docs/observerctl.md is the reference; `observerctl --help` lists the commands.
#include <grpc/support/log.h>

#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "tools/observerctl/command_line.h"
#include "tools/observerctl/commands.h"
#include "tools/observerctl/connection.h"

namespace {

// gRPC's own log lines (e.g. a TLS handshake failure) repeat what observerctl reports; they are
// shown only when GRPC_VERBOSITY asks for them.
void DropGrpcLog(gpr_log_func_args*) {}

}  // namespace

int main(int argc, char** argv) {
  using namespace observer::ctl;
  if (std::getenv("GRPC_VERBOSITY") == nullptr) gpr_set_log_function(DropGrpcLog);
  std::vector<CommandSpec> commands = RegistryCommands();
  for (auto* group : {&ImportCommands, &ExportCommands, &StatsCommands, &WatchCommands,
                      &HealthCommands, &AuditCommands}) {
    for (CommandSpec& c : (*group)()) commands.push_back(std::move(c));
  }
  const CommandLine cli(
      "observerctl",
      "The operator's command line for the Observer Registry: elections, organisations and "
      "observer\naccreditations in registry-service; CSV import and export; the breakdowns of "
      "stats-service.",
      ConnectionFlags(), std::move(commands));
  const ParseResult parsed = cli.Parse(std::vector<std::string>(argv + 1, argv + argc),
                                       [](const std::string& name) -> std::optional<std::string> {
                                         const char* value = std::getenv(name.c_str());
                                         if (value == nullptr) return std::nullopt;
                                         return std::string(value);
                                       });
  if (!parsed.help.empty()) {
    std::cout << parsed.help;
    return kExitOk;
  }
  if (!parsed.error.empty()) return UsageError(parsed.error);
  return parsed.invocation->command->run(*parsed.invocation);
}
