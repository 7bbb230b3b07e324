// SHA-256 digests (OpenSSL), for fingerprints and ids derived from content.
#ifndef OBSERVER_COMMON_DIGEST_H_
#define OBSERVER_COMMON_DIGEST_H_

#include <string>

#include "absl/strings/string_view.h"

namespace observer {

// The SHA-256 digest of `bytes` as 64 lower-case hex digits.
std::string Sha256Hex(absl::string_view bytes);

}  // namespace observer

#endif  // OBSERVER_COMMON_DIGEST_H_
