#include "tools/observerctl/progress.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"

namespace observer::ctl {
namespace {

constexpr int kBarWidth = 30;
constexpr absl::Duration kBarInterval = absl::Milliseconds(100);
constexpr absl::Duration kLineInterval = absl::Seconds(2);

std::string Eta(absl::Duration d) {
  const int64_t s = absl::ToInt64Seconds(d);
  if (s >= 3600) return absl::StrFormat("%dh%02dm", s / 3600, (s / 60) % 60);
  if (s >= 60) return absl::StrFormat("%dm%02ds", s / 60, s % 60);
  return absl::StrFormat("%ds", s);
}

}  // namespace

Progress::Mode Progress::ModeFor(const std::string& setting, bool stderr_is_terminal) {
  if (setting == "never") return Mode::kOff;
  if (setting == "always") return Mode::kBar;
  return stderr_is_terminal ? Mode::kBar : Mode::kLines;
}

Progress::Progress(std::ostream& out, Mode mode, std::string what, int64_t total)
    : out_(out), mode_(mode), what_(std::move(what)), total_(total), start_(absl::Now()) {}

void Progress::Phase(std::string label, int64_t total) {
  label_ = std::move(label);
  total_ = total;
  done_ = 0;
  start_ = absl::Now();
  last_draw_ = absl::InfinitePast();
  drawn_ = false;
}

void Progress::Update(int64_t done) {
  done_ = done;
  const absl::Time now = absl::Now();
  if (now - last_draw_ < (mode_ == Mode::kBar ? kBarInterval : kLineInterval)) return;
  Draw(false);
}

void Progress::Finish() {
  // A plain-lines phase that ended before its first line stays silent.
  if (mode_ == Mode::kOff || total_ == 0 || (mode_ == Mode::kLines && !drawn_)) return;
  Draw(true);
  if (mode_ == Mode::kBar) out_ << "\n" << std::flush;
}

void Progress::Draw(bool final) {
  if (mode_ == Mode::kOff) return;
  const absl::Time now = absl::Now();
  if (mode_ == Mode::kLines && !final && !drawn_ && now - start_ < kLineInterval) {
    last_draw_ = start_;  // The first line after one interval, not at once.
    return;
  }
  last_draw_ = now;
  drawn_ = true;
  const double elapsed = std::max(1e-3, absl::ToDoubleSeconds(now - start_));
  const double rate = static_cast<double>(done_) / elapsed;
  const double fraction = total_ > 0 ? static_cast<double>(done_) / static_cast<double>(total_) : 1;
  std::string eta = "-";
  if (rate > 0 && done_ < total_) {
    eta = Eta(absl::Seconds(static_cast<double>(total_ - done_) / rate));
  } else if (done_ >= total_) {
    eta = "done";
  }
  const std::string figures =
      absl::StrFormat("%s %s: %d/%d %s (%.0f%%)  %.0f/s  ETA %s", what_, label_, done_, total_,
                      "rows", 100 * fraction, rate, eta);
  if (mode_ == Mode::kLines) {
    out_ << figures << "\n" << std::flush;
    return;
  }
  const int filled = static_cast<int>(std::floor(fraction * kBarWidth));
  std::string bar;
  for (int i = 0; i < kBarWidth; ++i) bar += i < filled ? "█" : "░";
  out_ << "\r\033[K" << bar << " " << figures << std::flush;
}

}  // namespace observer::ctl
