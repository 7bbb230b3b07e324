#include "common/digest.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstdlib>

#include "absl/strings/escaping.h"

namespace observer {
namespace {

absl::string_view AsBytes(const unsigned char* data, unsigned int length) {
  return absl::string_view(reinterpret_cast<const char*>(data), length);
}

}  // namespace

std::string Sha256Hex(absl::string_view bytes) { return absl::BytesToHexString(Sha256(bytes)); }

std::string Sha256(absl::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_sha256(), nullptr);
  return std::string(AsBytes(digest, length));
}

std::string HmacSha256(absl::string_view key, absl::string_view message) {
  // OpenSSL reads a null key as "no key given"; an empty key is a valid HMAC key.
  static const unsigned char kNoKeyBytes[1] = {0};
  const void* key_data = key.empty() ? kNoKeyBytes : static_cast<const void*>(key.data());
  static const unsigned char kNoMessage[1] = {0};
  const unsigned char* message_data =
      message.empty() ? kNoMessage : reinterpret_cast<const unsigned char*>(message.data());
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (HMAC(EVP_sha256(), key_data, static_cast<int>(key.size()), message_data, message.size(), mac,
           &length) == nullptr ||
      length != kSha256Bytes) {
    // Only an allocation failure inside OpenSSL gets here; a wrong MAC must never be returned.
    std::abort();
  }
  return std::string(AsBytes(mac, length));
}

bool ConstantTimeEquals(absl::string_view a, absl::string_view b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace observer
