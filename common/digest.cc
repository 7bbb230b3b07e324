#include "common/digest.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cstdlib>
#include <cstring>

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

namespace {

constexpr size_t kSha256BlockBytes = 64;

// Only an allocation failure inside OpenSSL fails these; a wrong MAC must never be returned.
void Check(int ok) {
  if (ok != 1) std::abort();
}

EVP_MD_CTX* NewContext() {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (ctx == nullptr) std::abort();
  return ctx;
}

// A SHA-256 context that has absorbed the key block XOR `pad`.
EVP_MD_CTX* PaddedKeyState(const unsigned char (&block)[kSha256BlockBytes], unsigned char pad) {
  unsigned char padded[kSha256BlockBytes];
  for (size_t i = 0; i < kSha256BlockBytes; ++i) padded[i] = block[i] ^ pad;
  EVP_MD_CTX* ctx = NewContext();
  Check(EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr));
  Check(EVP_DigestUpdate(ctx, padded, sizeof(padded)));
  OPENSSL_cleanse(padded, sizeof(padded));
  return ctx;
}

}  // namespace

HmacSha256Key::HmacSha256Key(absl::string_view key) {
  // RFC 2104: a key longer than the block is replaced by its hash; the block is the key
  // padded with zeros.
  unsigned char block[kSha256BlockBytes] = {};
  if (key.size() > kSha256BlockBytes) {
    const std::string hashed = Sha256(key);
    std::memcpy(block, hashed.data(), hashed.size());
  } else if (!key.empty()) {
    std::memcpy(block, key.data(), key.size());
  }
  inner_ = PaddedKeyState(block, 0x36);
  outer_ = PaddedKeyState(block, 0x5c);
  OPENSSL_cleanse(block, sizeof(block));
  scratch_ = NewContext();
}

HmacSha256Key::~HmacSha256Key() {
  EVP_MD_CTX_free(inner_);
  EVP_MD_CTX_free(outer_);
  EVP_MD_CTX_free(scratch_);
}

std::string HmacSha256Key::Mac(std::initializer_list<absl::string_view> parts) const {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  Check(EVP_MD_CTX_copy_ex(scratch_, inner_));
  for (absl::string_view part : parts) Check(EVP_DigestUpdate(scratch_, part.data(), part.size()));
  Check(EVP_DigestFinal_ex(scratch_, digest, &length));
  Check(EVP_MD_CTX_copy_ex(scratch_, outer_));
  Check(EVP_DigestUpdate(scratch_, digest, length));
  Check(EVP_DigestFinal_ex(scratch_, digest, &length));
  if (length != kSha256Bytes) std::abort();
  return std::string(AsBytes(digest, length));
}

std::string HmacSha256(absl::string_view key, absl::string_view message) {
  return HmacSha256Key(key).Mac({message});
}

bool ConstantTimeEquals(absl::string_view a, absl::string_view b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace observer
