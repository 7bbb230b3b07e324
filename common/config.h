// Start-up configuration: absl flags that fall back to environment variables (flag > env >
// default), strict command-line parsing with exit code 2 on misuse, and validators for values
// the services share.
#ifndef OBSERVER_COMMON_CONFIG_H_
#define OBSERVER_COMMON_CONFIG_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace observer {

// The exit code for a command-line or configuration error.
inline constexpr int kUsageErrorExitCode = 2;

// Parses the command line into the absl flags defined by the program's own source files (absl's
// built-in flags such as --flagfile are not accepted), then sets every such flag that was not on
// the command line from the environment variable EnvVarName(env_prefix, flag name) when that
// variable is set and non-empty.
//
// Accepted syntax: --name=value, --name value, -name=value, --bool_flag, --nobool_flag, and "--"
// to end the flags; '-' and '_' are interchangeable in names (--metrics-listen sets the flag
// metrics_listen). --help prints `usage` and every flag with its environment variable and
// default to stdout, then exits 0. An unknown flag, a missing or invalid value, a positional
// argument, or an invalid environment value prints one line naming the culprit to stderr and
// exits with kUsageErrorExitCode.
//
// Returns the remaining arguments, which is only argv[0].
std::vector<char*> ParseFlagsWithEnv(int argc, char** argv, absl::string_view env_prefix,
                                     absl::string_view usage);

// Logs one "config" line at info: every flag of the program with its effective value (secrets
// redacted, see RedactSecret), the service, the version, and which flags came from the
// environment. Call after ParseFlagsWithEnv and the log level flag.
void LogStartupConfig(absl::string_view service);

// `value` of the flag `flag_name` as it may be logged: the whole value of a flag whose name
// says it is a secret (password, secret, token) is replaced, as is the password in a URI
// (scheme://user:PASSWORD@host) or in a key=value connection string (password=...).
std::string RedactSecret(absl::string_view flag_name, absl::string_view value);

// The environment variable for a flag: ("REGISTRY", "metrics_listen") → "REGISTRY_METRICS_LISTEN".
std::string EnvVarName(absl::string_view env_prefix, absl::string_view flag_name);

// Prints "<program>: <message>" to stderr and exits with kUsageErrorExitCode; for values that
// parse but fail validation at start-up.
[[noreturn]] void ExitWithUsageError(absl::string_view message);

// OK for "host:port" or "[ipv6]:port" with a numeric port in 0..65535 (0 picks a free port);
// INVALID_ARGUMENT naming the problem otherwise.
[[nodiscard]] absl::Status ValidateListenAddress(absl::string_view address);

// A start-up check shared by the services' mains: exits with a usage error naming `flag` when
// the value is not a valid address (ValidateListenAddress).
void RequireAddressFlag(absl::string_view flag, absl::string_view address);

}  // namespace observer

#endif  // OBSERVER_COMMON_CONFIG_H_
