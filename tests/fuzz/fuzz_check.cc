#include "tests/fuzz/fuzz_check.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "common/errors.h"

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

std::string Describe(const absl::Status& status) {
  return absl::StrCat(status.ToString(), " reason=", GetErrorDetails(status).reason);
}

void CheckError(const absl::Status& status, absl::Span<const absl::StatusCode> allowed) {
  if (std::find(allowed.begin(), allowed.end(), status.code()) == allowed.end()) {
    Fail(absl::StrCat("unexpected error: ", Describe(status)));
  }
  FUZZ_CHECK(!GetErrorDetails(status).reason.empty(),
             absl::StrCat("an error without an ErrorInfo reason: ", Describe(status)));
}

}  // namespace observer::fuzz
