// Failpoints: named places in the services where a test can make the process crash or stall,
// to prove that nothing acknowledged is lost whatever the moment of a failure (the idea of
// etcd's gofail and of SQLite's crash tests).
//
// They exist only in builds configured with -DOBSERVER_FAILPOINTS=ON (the test build of
// scripts/test.sh); in any other build OBSERVER_FAILPOINT(...) compiles to nothing, and a
// service started with OBSERVER_FAILPOINTS set says so in a warning.
//
// Armed from the environment when the process starts:
//   OBSERVER_FAILPOINTS="registry-before-commit=3+crash;registry-after-apply=sleep(20)"
// Each term is  [SKIP+][PERCENT%][COUNT*]ACTION :
//   crash      SIGKILL to the process itself: what kill -9 does, at exactly this place.
//   sleep(MS)  stalls the calling thread for MS milliseconds.
//   off        nothing (to disarm a point in a list).
//   SKIP+      the first SKIP hits pass untouched;
//   PERCENT%   then each hit acts with this probability (OBSERVER_FAILPOINTS_SEED seeds it);
//   COUNT*     the action happens at most COUNT times.
// A later term for the same point replaces an earlier one. An unknown point name or a
// malformed term makes the service exit 2 at start, naming it.
//
// The points (kPoints in failpoint.cc lists them, with where they are):
//   registry-after-apply           a request's writes are in the group transaction
//   registry-before-commit         the group is written, COMMIT not yet run
//   registry-after-commit-before-reply  COMMIT done (durable), no client answered yet
//   stats-after-apply-before-publish    a change is counted, its revision not yet published
//                                       (with the figures' lock held: a sleep stalls readers)
//   stats-before-swap              a rebuilt initial state is counted, not yet served
#ifndef OBSERVER_COMMON_FAILPOINT_H_
#define OBSERVER_COMMON_FAILPOINT_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace observer::failpoint {

// Whether this build has failpoints.
bool Enabled();

// Arms the points named in $OBSERVER_FAILPOINTS (seeded by $OBSERVER_FAILPOINTS_SEED). Call
// once at start, before any thread hits a point. Error (naming the term) if the variable is
// malformed or names an unknown point. Returns the armed terms, for the start-up log.
absl::Status ArmFromEnvironment(std::vector<std::string>* armed);

// Arms points from a specification in the variable's syntax (tests of this module).
absl::Status Arm(absl::string_view spec);
void DisarmAll();

// Runs the point's action, if armed. Thread-safe; cheap when nothing is armed.
void Hit(absl::string_view name);

}  // namespace observer::failpoint

#ifdef OBSERVER_FAILPOINTS
#define OBSERVER_FAILPOINT(name) ::observer::failpoint::Hit(name)
#else
#define OBSERVER_FAILPOINT(name) \
  do {                           \
  } while (false)
#endif

#endif  // OBSERVER_COMMON_FAILPOINT_H_
