#include "common/service_flags.h"

#include <cstdint>
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
ABSL_FLAG(int32_t, max_message_bytes, 4 << 20,
          "Largest request message accepted, in bytes (larger: RESOURCE_EXHAUSTED)");
ABSL_FLAG(int32_t, max_concurrent_streams, 100,
          "Most calls open at once on one client connection (more wait)");

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
  options.max_message_bytes = absl::GetFlag(FLAGS_max_message_bytes);
  options.max_concurrent_streams = absl::GetFlag(FLAGS_max_concurrent_streams);
  if (options.max_message_bytes < 1024) {
    ExitWithUsageError("--max-message-bytes must be at least 1024");
  }
  if (options.max_concurrent_streams < 1) {
    ExitWithUsageError("--max-concurrent-streams must be at least 1");
  }
  return options;
}

}  // namespace observer
