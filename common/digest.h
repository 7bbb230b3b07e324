// SHA-256 digests and HMAC-SHA256 (OpenSSL), for fingerprints, ids derived from content and the
// keyed hash chain of the registry's change log.
#ifndef OBSERVER_COMMON_DIGEST_H_
#define OBSERVER_COMMON_DIGEST_H_

#include <cstddef>
#include <initializer_list>
#include <string>

#include "absl/strings/string_view.h"

// OpenSSL's EVP_MD_CTX, without its headers.
struct evp_md_ctx_st;

namespace observer {

// Bytes in a SHA-256 digest (and so in an HMAC-SHA256 value).
inline constexpr size_t kSha256Bytes = 32;

// The SHA-256 digest of `bytes` as 64 lower-case hex digits.
std::string Sha256Hex(absl::string_view bytes);

// The SHA-256 digest of `bytes`: 32 raw bytes.
std::string Sha256(absl::string_view bytes);

// HMAC-SHA256 (RFC 2104 with SHA-256, as in RFC 4231) under one key, for many messages: the
// key's inner and outer padded blocks are hashed once, so a message costs only its own
// blocks. Any key length is allowed (a key longer than the 64-byte block is hashed first, as
// the RFC says); the empty key too. Mac() uses a scratch context: one object per thread.
class HmacSha256Key {
 public:
  explicit HmacSha256Key(absl::string_view key);
  ~HmacSha256Key();
  HmacSha256Key(const HmacSha256Key&) = delete;
  HmacSha256Key& operator=(const HmacSha256Key&) = delete;

  // The MAC (32 raw bytes) of the concatenation of `parts`.
  std::string Mac(std::initializer_list<absl::string_view> parts) const;

 private:
  evp_md_ctx_st* inner_;    // SHA-256 state after the key XOR ipad block.
  evp_md_ctx_st* outer_;    // After the key XOR opad block.
  evp_md_ctx_st* scratch_;  // Copied from the two above for each message.
};

// HMAC-SHA256 of `message` under `key` (HmacSha256Key for one message): 32 raw bytes.
std::string HmacSha256(absl::string_view key, absl::string_view message);

// Compares two byte strings in time independent of where they differ (for MAC values).
bool ConstantTimeEquals(absl::string_view a, absl::string_view b);

}  // namespace observer

#endif  // OBSERVER_COMMON_DIGEST_H_
