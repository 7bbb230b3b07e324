// SHA-256 digests and HMAC-SHA256 (OpenSSL), for fingerprints, ids derived from content and the
// keyed hash chain of the registry's change log.
#ifndef OBSERVER_COMMON_DIGEST_H_
#define OBSERVER_COMMON_DIGEST_H_

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"

namespace observer {

// Bytes in a SHA-256 digest (and so in an HMAC-SHA256 value).
inline constexpr size_t kSha256Bytes = 32;

// The SHA-256 digest of `bytes` as 64 lower-case hex digits.
std::string Sha256Hex(absl::string_view bytes);

// The SHA-256 digest of `bytes`: 32 raw bytes.
std::string Sha256(absl::string_view bytes);

// HMAC-SHA256 (RFC 2104 with SHA-256, as in RFC 4231) of `message` under `key`: 32 raw bytes.
// Any key length is allowed (a key longer than the 64-byte block is hashed first, as the RFC
// says); the empty key too.
std::string HmacSha256(absl::string_view key, absl::string_view message);

// Compares two byte strings in time independent of where they differ (for MAC values).
bool ConstantTimeEquals(absl::string_view a, absl::string_view b);

}  // namespace observer

#endif  // OBSERVER_COMMON_DIGEST_H_
