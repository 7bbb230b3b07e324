#include "common/digest.h"

#include <gtest/gtest.h>

#include <string>

#include "absl/strings/escaping.h"

namespace observer {
namespace {

std::string Hex(absl::string_view bytes) { return absl::BytesToHexString(bytes); }
std::string Bytes(absl::string_view hex) { return absl::HexStringToBytes(hex); }

TEST(Sha256Test, KnownDigests) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Hex(Sha256("abc")), Sha256Hex("abc"));
  EXPECT_EQ(Sha256("abc").size(), kSha256Bytes);
}

// The test vectors of RFC 4231 section 4 (HMAC-SHA-256).
struct Rfc4231Case {
  const char* name;
  std::string key;
  std::string data;
  const char* mac_hex;  // Test case 5 gives only the first 128 bits.
};

TEST(HmacSha256Test, Rfc4231Vectors) {
  const Rfc4231Case cases[] = {
      {"4.2 test case 1", std::string(20, '\x0b'), "Hi There",
       "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
      {"4.3 test case 2 (key shorter than the output)", "Jefe", "what do ya want for nothing?",
       "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
      {"4.4 test case 3", std::string(20, '\xaa'), std::string(50, '\xdd'),
       "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
      {"4.5 test case 4", Bytes("0102030405060708090a0b0c0d0e0f10111213141516171819"),
       std::string(50, '\xcd'), "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"},
      {"4.6 test case 5 (truncated to 128 bits)", std::string(20, '\x0c'), "Test With Truncation",
       "a3b6167473100ee06e0c796c2955552b"},
      {"4.7 test case 6 (key larger than the block)", std::string(131, '\xaa'),
       "Test Using Larger Than Block-Size Key - Hash Key First",
       "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
      {"4.8 test case 7 (key and data larger than the block)", std::string(131, '\xaa'),
       "This is a test using a larger than block-size key and a larger than block-size data. The "
       "key needs to be hashed before being used by the HMAC algorithm.",
       "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
  };
  for (const Rfc4231Case& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string mac = HmacSha256(c.key, c.data);
    ASSERT_EQ(mac.size(), kSha256Bytes);
    const std::string expected = c.mac_hex;
    EXPECT_EQ(Hex(mac).substr(0, expected.size()), expected);
  }
}

TEST(HmacSha256Test, EmptyKeyAndMessage) {
  EXPECT_EQ(Hex(HmacSha256("", "")),
            "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

TEST(HmacSha256Test, TheKeyAndEveryByteOfTheMessageCount) {
  const std::string key(32, 'k');
  const std::string mac = HmacSha256(key, "message");
  EXPECT_NE(HmacSha256(std::string(32, 'K'), "message"), mac);
  EXPECT_NE(HmacSha256(key, "messagE"), mac);
  EXPECT_NE(HmacSha256(key, std::string("message\0", 8)), mac);
  EXPECT_EQ(HmacSha256(key, "message"), mac);
}

TEST(ConstantTimeEqualsTest, ComparesBytes) {
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "ab"));
  EXPECT_FALSE(ConstantTimeEquals(std::string("a\0b", 3), std::string("a\0c", 3)));
}

}  // namespace
}  // namespace observer
