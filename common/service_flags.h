// The flags both services share (--drain-period, --shutdown-timeout, --log-level,
// --max-message-bytes, --max-concurrent-streams), defined once.
// Only a binary that calls into this file gets them.
#ifndef OBSERVER_COMMON_SERVICE_FLAGS_H_
#define OBSERVER_COMMON_SERVICE_FLAGS_H_

#include <string>

#include "common/grpc_server.h"

namespace observer {

// Applies --log-level; exits with a usage error naming the flag when it is not one of debug,
// info, warning, error. Call right after parsing the command line.
void ApplyLogLevelFlag();

// Serve options for `service` listening on `listen` (metrics on `metrics_listen`), with the
// drain period, shutdown timeout and limits from the flags (a usage error, exit 2, for a limit
// out of range).
ServeOptions ServeOptionsFromFlags(std::string service, std::string listen,
                                   std::string metrics_listen);

}  // namespace observer

#endif  // OBSERVER_COMMON_SERVICE_FLAGS_H_
