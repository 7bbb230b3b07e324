// The version of the running binary, as *_build_info and the start-up "config" log line
// report it.
#ifndef OBSERVER_COMMON_VERSION_H_
#define OBSERVER_COMMON_VERSION_H_

#include "absl/strings/string_view.h"

namespace observer {

// The CMake project version, e.g. "0.5.0".
absl::string_view BuildVersion();
// The source revision (git describe at configure time), or "unknown".
absl::string_view BuildRevision();

}  // namespace observer

#endif  // OBSERVER_COMMON_VERSION_H_
