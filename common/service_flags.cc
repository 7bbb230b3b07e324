#include "common/service_flags.h"

#include <utility>

#include "absl/flags/flag.h"
#include "absl/time/time.h"
#include "common/config.h"
#include "common/log.h"

ABSL_FLAG(absl::Duration, drain_period, absl::Seconds(1),
          "After SIGTERM, how long health reports NOT_SERVING before the server stops");
ABSL_FLAG(absl::Duration, shutdown_timeout, absl::Seconds(10),
          "How long in-flight calls get to finish at shutdown");
ABSL_FLAG(std::string, log_level, "info", "debug, info, warning or error");

namespace observer {

void ApplyLogLevelFlag() {
  LogLevel level;
  if (!ParseLogLevel(absl::GetFlag(FLAGS_log_level), &level)) {
    ExitWithUsageError("--log-level: use debug, info, warning or error");
  }
  SetLogLevel(level);
}

ServeOptions ServeOptionsFromFlags(std::string service, std::string listen,
                                   std::string metrics_listen) {
  ServeOptions options;
  options.service = std::move(service);
  options.listen = std::move(listen);
  options.metrics_listen = std::move(metrics_listen);
  options.drain_period = absl::GetFlag(FLAGS_drain_period);
  options.shutdown_timeout = absl::GetFlag(FLAGS_shutdown_timeout);
  return options;
}

}  // namespace observer
