#include "tests/fuzz/fuzz_check.h"

#include <cstdio>
#include <cstdlib>

namespace observer::fuzz {

void Fail(absl::string_view what) {
  std::fprintf(stderr, "\n*** fuzz property violated: %.*s\n", static_cast<int>(what.size()),
               what.data());
  std::fflush(stderr);
  std::abort();
}

void Note(absl::string_view what) {
  static const bool verbose = [] {
    const char* v = std::getenv("OBSERVER_FUZZ_VERBOSE");
    return v != nullptr && *v != '\0' && *v != '0';
  }();
  if (verbose) std::fprintf(stderr, "%.*s\n", static_cast<int>(what.size()), what.data());
}

}  // namespace observer::fuzz
