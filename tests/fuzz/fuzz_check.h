// What the fuzz targets share besides the registry: reporting a broken property.
#ifndef OBSERVER_TESTS_FUZZ_FUZZ_CHECK_H_
#define OBSERVER_TESTS_FUZZ_FUZZ_CHECK_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "google/protobuf/message.h"

namespace observer::fuzz {

// Prints what broke and aborts: libFuzzer reports the crash and keeps the input.
[[noreturn]] void Fail(absl::string_view what);

// With OBSERVER_FUZZ_VERBOSE=1 in the environment, prints what a run did (to read what a
// corpus file or a crash input does: `target FILE`); otherwise nothing.
void Note(absl::string_view what);

// "STATUS reason=REASON", for failure messages.
std::string Describe(const absl::Status& status);

// Fails unless `status` has one of the codes a request may earn (`allowed`; anything else, e.g.
// INTERNAL, is a bug) and carries an ErrorInfo reason.
void CheckError(const absl::Status& status, absl::Span<const absl::StatusCode> allowed);

// Whether a request built from fuzzed strings could reach a server at all: gRPC hands a
// handler only what parses, and a proto3 string that is not UTF-8 does not.
template <typename Message>
bool TransportDelivers(const Message& request) {
  std::string bytes;
  Message delivered;
  return request.SerializeToString(&bytes) && delivered.ParseFromString(bytes);
}

}  // namespace observer::fuzz

// Fails, naming the place and the condition, unless `cond` holds.
#define FUZZ_CHECK(cond, what)                                                                \
  do {                                                                                        \
    if (!(cond)) {                                                                            \
      ::observer::fuzz::Fail(absl::StrCat(__FILE__, ":", __LINE__, ": ", #cond, ": ", what)); \
    }                                                                                         \
  } while (false)

#endif  // OBSERVER_TESTS_FUZZ_FUZZ_CHECK_H_
