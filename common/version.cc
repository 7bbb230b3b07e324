#include "common/version.h"

#ifndef OBSERVER_VERSION
#define OBSERVER_VERSION "unknown"
#endif
#ifndef OBSERVER_REVISION
#define OBSERVER_REVISION "unknown"
#endif

namespace observer {

absl::string_view BuildVersion() { return OBSERVER_VERSION; }
absl::string_view BuildRevision() { return OBSERVER_REVISION; }

}  // namespace observer
