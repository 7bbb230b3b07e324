#include "common/failpoint.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <mutex>
#include <random>
#include <type_traits>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace observer::failpoint {
namespace {

// Every point the code has (a name not listed here is a typo in a test, refused at start).
constexpr absl::string_view kPoints[] = {
    "registry-after-apply",                // storage/sqlite_store.cc, CommitGroup
    "registry-before-commit",              // storage/sqlite_store.cc, CommitGroup
    "registry-after-commit-before-reply",  // storage/sqlite_store.cc, CommitGroup
    "stats-after-apply-before-publish",    // aggregate/live_stats.cc
    "stats-before-swap",                   // subscriber/registry_subscriber.cc
};

enum class Action { kOff, kCrash, kSleep };

struct Term {
  int64_t skip = 0;
  double percent = 100;
  int64_t count = -1;  // -1: no limit.
  Action action = Action::kOff;
  absl::Duration sleep;
  int64_t hits = 0;
  int64_t fired = 0;
};

struct State {
  std::mutex mu;
  std::map<std::string, Term, std::less<>> armed;  // Guarded by mu.
  std::mt19937_64 random{1};                       // Guarded by mu.
};

State& state() {
  static State* s = new State();
  return *s;
}

std::atomic<bool> any_armed{false};

bool KnownPoint(absl::string_view name) {
  for (absl::string_view p : kPoints) {
    if (p == name) return true;
  }
  return false;
}

absl::Status BadTerm(absl::string_view term, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("failpoint term '", term, "': ", why,
                   " (form: NAME=[SKIP+][PERCENT%][COUNT*]crash|sleep(MS)|off)"));
}

// Takes "NUMBER<mark>" off the front of `*rest`, if it is there (before any '(').
template <typename T>
absl::Status TakePrefix(absl::string_view whole, char mark, absl::string_view* rest, T* out) {
  const size_t at = rest->find(mark);
  if (at == absl::string_view::npos || rest->find('(') < at) return absl::OkStatus();
  const absl::string_view number = rest->substr(0, at);
  bool ok = false;
  if constexpr (std::is_floating_point_v<T>) {
    ok = absl::SimpleAtod(number, out);
  } else {
    ok = absl::SimpleAtoi(number, out);
  }
  if (!ok || *out < 0) {
    return BadTerm(whole, absl::StrCat("'", number, "' before '", std::string(1, mark),
                                       "' is not a number of at least 0"));
  }
  rest->remove_prefix(at + 1);
  return absl::OkStatus();
}

// "[SKIP+][PERCENT%][COUNT*]ACTION".
absl::Status ParseTerm(absl::string_view whole, absl::string_view text, Term* term) {
  absl::string_view rest = text;
  if (absl::Status s = TakePrefix(whole, '+', &rest, &term->skip); !s.ok()) return s;
  if (absl::Status s = TakePrefix(whole, '%', &rest, &term->percent); !s.ok()) return s;
  if (absl::Status s = TakePrefix(whole, '*', &rest, &term->count); !s.ok()) return s;
  if (!(term->percent <= 100)) return BadTerm(whole, "PERCENT must be a number up to 100");
  if (rest == "crash") {
    term->action = Action::kCrash;
  } else if (rest == "off") {
    term->action = Action::kOff;
  } else if (absl::string_view ms_text = rest;
             absl::ConsumePrefix(&ms_text, "sleep(") && absl::ConsumeSuffix(&ms_text, ")")) {
    int64_t ms = 0;
    if (!absl::SimpleAtoi(ms_text, &ms) || ms < 0) {
      return BadTerm(whole, "sleep takes milliseconds, e.g. sleep(50)");
    }
    term->action = Action::kSleep;
    term->sleep = absl::Milliseconds(ms);
  } else {
    return BadTerm(whole, absl::StrCat("unknown action '", rest, "'"));
  }
  return absl::OkStatus();
}

}  // namespace

bool Enabled() {
#ifdef OBSERVER_FAILPOINTS
  return true;
#else
  return false;
#endif
}

absl::Status Arm(absl::string_view spec) {
  std::map<std::string, Term, std::less<>> parsed;
  for (absl::string_view term : absl::StrSplit(spec, ';', absl::SkipWhitespace())) {
    term = absl::StripAsciiWhitespace(term);
    const std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(term, absl::MaxSplits('=', 1));
    const absl::string_view name = absl::StripAsciiWhitespace(kv.first);
    const absl::string_view action = absl::StripAsciiWhitespace(kv.second);
    if (action.empty()) return BadTerm(term, "no '=' and action");
    if (!KnownPoint(name)) {
      return BadTerm(term, absl::StrCat("no failpoint is named '", name, "'; the points are ",
                                        absl::StrJoin(kPoints, ", ")));
    }
    Term t;
    if (absl::Status s = ParseTerm(term, action, &t); !s.ok()) return s;
    parsed[std::string(name)] = t;  // A later term for the same point replaces an earlier one.
  }
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mu);
  for (auto& [name, term] : parsed) s.armed[name] = term;
  any_armed.store(!s.armed.empty());
  return absl::OkStatus();
}

void DisarmAll() {
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mu);
  s.armed.clear();
  any_armed.store(false);
}

absl::Status ArmFromEnvironment(std::vector<std::string>* armed) {
  armed->clear();
  const char* spec = std::getenv("OBSERVER_FAILPOINTS");
  if (spec == nullptr || *spec == '\0' || !Enabled()) return absl::OkStatus();
  if (const char* seed = std::getenv("OBSERVER_FAILPOINTS_SEED"); seed != nullptr) {
    uint64_t value = 0;
    if (!absl::SimpleAtoi(seed, &value)) {
      return absl::InvalidArgumentError(
          absl::StrCat("OBSERVER_FAILPOINTS_SEED '", seed, "' is not a number"));
    }
    std::lock_guard<std::mutex> lock(state().mu);
    state().random.seed(value);
  }
  if (absl::Status s = Arm(spec); !s.ok()) return s;
  for (absl::string_view term : absl::StrSplit(spec, ';', absl::SkipWhitespace())) {
    armed->emplace_back(absl::StripAsciiWhitespace(term));
  }
  return absl::OkStatus();
}

void Hit(absl::string_view name) {
  if (!any_armed.load(std::memory_order_relaxed)) return;
  State& s = state();
  absl::Duration sleep;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    auto it = s.armed.find(name);
    if (it == s.armed.end()) return;
    Term& t = it->second;
    ++t.hits;
    if (t.hits <= t.skip || t.action == Action::kOff) return;
    if (t.count >= 0 && t.fired >= t.count) return;
    if (t.percent < 100 && std::uniform_real_distribution<double>(0, 100)(s.random) >= t.percent) {
      return;
    }
    ++t.fired;
    if (t.action == Action::kCrash) {
      // What kill -9 does: no destructor, no flush, no reply. Said on stderr first (unbuffered)
      // so that a test can tell this crash from another.
      const std::string line = absl::StrCat("failpoint ", name, ": crash\n");
      if (::write(STDERR_FILENO, line.data(), line.size()) < 0) {
        // Nowhere to say it: crash all the same.
      }
      ::kill(::getpid(), SIGKILL);
      ::_exit(137);  // Not reached: SIGKILL to oneself is delivered before kill() returns.
    }
    sleep = t.sleep;
  }
  absl::SleepFor(sleep);
}

}  // namespace observer::failpoint
