// Progress of a long command on stderr: on a terminal a bar redrawn in place with the count,
// rate and time left; otherwise a plain line every few seconds (logs stay readable).
#ifndef OBSERVER_TOOLS_OBSERVERCTL_PROGRESS_H_
#define OBSERVER_TOOLS_OBSERVERCTL_PROGRESS_H_

#include <cstdint>
#include <ostream>
#include <string>

#include "absl/time/time.h"

namespace observer::ctl {

class Progress {
 public:
  enum class Mode { kBar, kLines, kOff };
  // "auto" (bar on a terminal, lines otherwise), "always" (bar), "never".
  static Mode ModeFor(const std::string& setting, bool stderr_is_terminal);

  Progress(std::ostream& out, Mode mode, std::string what, int64_t total);
  // Sets the phase label ("checking", "creating", "deciding") and restarts the rate.
  void Phase(std::string label, int64_t total);
  void Update(int64_t done);
  // Ends the current phase's display (a newline after a bar).
  void Finish();

 private:
  void Draw(bool final);

  std::ostream& out_;
  Mode mode_;
  std::string what_;
  std::string label_;
  int64_t total_;
  int64_t done_ = 0;
  absl::Time start_;
  absl::Time last_draw_ = absl::InfinitePast();
  bool drawn_ = false;
};

}  // namespace observer::ctl

#endif  // OBSERVER_TOOLS_OBSERVERCTL_PROGRESS_H_
