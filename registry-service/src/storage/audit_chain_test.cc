// The chain format (pinned: stored logs must keep verifying across releases), the verifier on
// hand-made entries, and the audit key file. Tampering with a real store is in
// store_conformance_test.cc (ChangeLogTamperTest) and tests/audit_test.cc.
#include "registry-service/src/storage/audit_chain.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/escaping.h"
#include "observer/registry/v1/registry_service.pb.h"

namespace observer::registry {
namespace {

using ::testing::HasSubstr;
using Problem = ChangeLogVerification::Problem;

const std::string kKey(32, 'k');

std::string Hex(absl::string_view bytes) { return absl::BytesToHexString(bytes); }

// Known answers computed independently (Python's hmac module) from the documented formula.
TEST(ChainFormatTest, ChainLinkAnchorMacAndKeyIdArePinned) {
  const std::string c1 = ChainLink(kKey, GenesisChain(), 1, "event bytes");
  EXPECT_EQ(Hex(c1), "a6f6090454234f7e0b9ec365d6b8315bd13e411bdcc4492a13302c1494aae6dd");
  EXPECT_EQ(Hex(ChainLink(kKey, c1, 2, "")),
            "92907284f1bbcf053968549caf5ac5da5f77ef2aaae2d3ae27d418729250f74a");
  EXPECT_EQ(Hex(AnchorMac(kKey, 41, c1)),
            "e9253cc9b993cd17587613755fb677c1800115a57b6b7b3ef3ce6b3b990fbe33");
  EXPECT_EQ(AuditKeyId(kKey), "5e318f8cf9cbe249");
  EXPECT_EQ(GenesisChain(), std::string(32, '\0'));
}

std::string EventBytes(int64_t revision) {
  v1::ChangeEvent event;
  event.set_revision(revision);
  event.set_name("elections/e");
  return event.SerializeAsString();
}

// Entries 1..n chained with kKey: (revision, event bytes, chain).
struct Entry {
  int64_t revision;
  std::string event;
  std::string chain;
};
std::vector<Entry> Chain(int64_t n) {
  std::vector<Entry> entries;
  std::string previous = GenesisChain();
  for (int64_t r = 1; r <= n; ++r) {
    entries.push_back({r, EventBytes(r), ChainLink(kKey, previous, r, EventBytes(r))});
    previous = entries.back().chain;
  }
  return entries;
}

ChangeLogVerification VerifyEntries(const std::vector<Entry>& entries, int64_t head,
                                    int64_t compact = 1, const ChainVerifier::Anchor& anchor = {}) {
  ChainVerifier verifier(kKey, head, compact, anchor);
  for (const Entry& e : entries) {
    if (!verifier.Add(e.revision, e.event, e.chain, AuditKeyId(kKey))) break;
  }
  return verifier.Finish();
}

TEST(ChainVerifierTest, AnIntactChainVerifies) {
  const ChangeLogVerification v = VerifyEntries(Chain(5), 5);
  EXPECT_EQ(v.problem, Problem::kNone) << v.message;
  EXPECT_EQ(v.entries_checked, 5);
  EXPECT_EQ(v.first_revision, 1);
  EXPECT_EQ(v.last_revision, 5);
  EXPECT_EQ(v.head_chain, Hex(Chain(5).back().chain));
}

TEST(ChainVerifierTest, AnEmptyLogVerifies) {
  const ChangeLogVerification v = VerifyEntries({}, 0);
  EXPECT_EQ(v.problem, Problem::kNone);
  EXPECT_EQ(v.entries_checked, 0);
  EXPECT_EQ(v.head_chain, Hex(GenesisChain()));
}

TEST(ChainVerifierTest, TheKeptSuffixVerifiesFromAnAnchor) {
  std::vector<Entry> entries = Chain(6);
  const ChainVerifier::Anchor anchor{entries[2].chain, AuditKeyId(kKey),
                                     AnchorMac(kKey, 3, entries[2].chain)};
  entries.erase(entries.begin(), entries.begin() + 3);
  ChangeLogVerification v = VerifyEntries(entries, 6, 4, anchor);
  EXPECT_EQ(v.problem, Problem::kNone) << v.message;
  EXPECT_EQ(v.first_revision, 4);
  // An anchor moved to another revision, or without its MAC, is refused.
  v = VerifyEntries(entries, 6, 4,
                    {entries[0].chain, AuditKeyId(kKey), AnchorMac(kKey, 3, entries[0].chain)});
  EXPECT_EQ(v.problem, Problem::kAltered);
  EXPECT_EQ(v.bad_revision, 4);
  v = VerifyEntries(entries, 6, 4, {anchor.chain, anchor.key_id, ""});
  EXPECT_EQ(v.problem, Problem::kAltered);
  EXPECT_THAT(v.message, HasSubstr("missing"));
  // An anchor written with another key.
  const std::string other(32, 'o');
  v = VerifyEntries(entries, 6, 4,
                    {anchor.chain, AuditKeyId(other), AnchorMac(other, 3, anchor.chain)});
  EXPECT_EQ(v.problem, Problem::kKeyMismatch);
  EXPECT_EQ(v.bad_revision, 4);
}

TEST(ChainVerifierTest, ProblemsAreReportedAtTheFirstBadEntry) {
  std::vector<Entry> entries = Chain(6);
  // A gap at the end (head beyond the last entry).
  ChangeLogVerification v = VerifyEntries(entries, 8);
  EXPECT_EQ(v.problem, Problem::kMissing);
  EXPECT_EQ(v.bad_revision, 7);
  EXPECT_THAT(v.message, HasSubstr("revisions 7 to 8"));
  // Entries beyond the head.
  v = VerifyEntries(entries, 4);
  EXPECT_EQ(v.problem, Problem::kAltered);
  EXPECT_EQ(v.bad_revision, 5);
  EXPECT_EQ(v.last_revision, 4);
  // An entry left below the compaction point.
  v = VerifyEntries(entries, 6, 2,
                    {entries[0].chain, AuditKeyId(kKey), AnchorMac(kKey, 1, entries[0].chain)});
  EXPECT_EQ(v.problem, Problem::kAltered);
  EXPECT_EQ(v.bad_revision, 1);
  // Bytes that are not an event.
  entries[2].event = "\xff\xff\xff";
  v = VerifyEntries(entries, 6);
  EXPECT_EQ(v.problem, Problem::kAltered);
  EXPECT_EQ(v.bad_revision, 3);
  EXPECT_EQ(v.last_revision, 2);
  EXPECT_EQ(v.head_chain, Hex(entries[1].chain));
}

TEST(ChainVerifierTest, ARecordedChainValueMustBeFoundAtItsRevision) {
  const std::vector<Entry> entries = Chain(5);
  auto verify = [&](const ChainWitness& witness, int64_t head) {
    ChainVerifier verifier(kKey, head, 1, {});
    EXPECT_TRUE(verifier.Expect(witness).ok());
    for (const Entry& e : entries) {
      if (e.revision > head) break;
      if (!verifier.Add(e.revision, e.event, e.chain, AuditKeyId(kKey))) break;
    }
    return verifier.Finish();
  };
  ChangeLogVerification v = verify({3, entries[2].chain}, 5);
  EXPECT_EQ(v.problem, Problem::kNone) << v.message;
  EXPECT_TRUE(v.witness_matched);
  v = verify({3, entries[3].chain}, 5);
  EXPECT_EQ(v.problem, Problem::kAltered);
  EXPECT_EQ(v.bad_revision, 3);
  EXPECT_EQ(v.last_revision, 2);
  EXPECT_FALSE(v.witness_matched);
  // The log ends before the recorded revision.
  v = verify({5, entries[4].chain}, 4);
  EXPECT_EQ(v.problem, Problem::kMissing);
  EXPECT_EQ(v.bad_revision, 5);
  // Below the anchor: compacted away, cannot be checked.
  ChainVerifier compacted(
      kKey, 5, 4, {entries[2].chain, AuditKeyId(kKey), AnchorMac(kKey, 3, entries[2].chain)});
  EXPECT_EQ(compacted.Expect({2, entries[1].chain}).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(compacted.Expect({3, entries[2].chain}).ok());
  EXPECT_TRUE(compacted.Finish().witness_matched);
}

TEST(ChainVerifierTest, AnEditedKeyIdIsAltered) {
  const std::vector<Entry> entries = Chain(3);
  ChainVerifier verifier(kKey, 3, 1, {});
  EXPECT_TRUE(verifier.Add(1, entries[0].event, entries[0].chain, AuditKeyId(kKey)));
  EXPECT_FALSE(verifier.Add(2, entries[1].event, entries[1].chain, "0000000000000000"));
  const ChangeLogVerification v = verifier.Finish();
  EXPECT_EQ(v.problem, Problem::kAltered);
  EXPECT_EQ(v.bad_revision, 2);
}

class AuditKeyFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "audit_key_XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  std::string Write(const std::string& name, const std::string& content, mode_t mode) {
    const std::string path = dir_ + "/" + name;
    {
      std::ofstream out(path, std::ios::binary);
      out << content;
    }
    EXPECT_EQ(::chmod(path.c_str(), mode), 0);
    return path;
  }
  std::string dir_;
};

TEST_F(AuditKeyFileTest, ReadsTheRawBytes) {
  const std::string key = std::string("\0\n\xff", 3) + std::string(61, 'x');
  absl::StatusOr<std::string> read = ReadAuditKeyFile(Write("key", key, 0640));
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, key);
}

TEST_F(AuditKeyFileTest, RefusesUnusableFiles) {
  struct Case {
    std::string path;
    std::string expected;
  };
  const Case cases[] = {
      {Write("short", std::string(31, 'x'), 0600), "holds 31 bytes"},
      {Write("huge", std::string(kMaxAuditKeyBytes + 1, 'x'), 0600), "more than 1024 bytes"},
      {Write("readable", std::string(32, 'x'), 0604), "other users (mode 0604)"},
      {Write("writable", std::string(32, 'x'), 0602), "other users"},
      {dir_, "not a regular file"},
      {dir_ + "/missing", "No such file"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<std::string> read = ReadAuditKeyFile(c.path);
    ASSERT_FALSE(read.ok()) << c.path;
    EXPECT_EQ(read.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_THAT(std::string(read.status().message()), HasSubstr(c.path));
    EXPECT_THAT(std::string(read.status().message()), HasSubstr(c.expected));
  }
}

TEST_F(AuditKeyFileTest, CreatesAPrivateRandomKeyOnce) {
  const std::string path = dir_ + "/registry.db.audit-key";
  bool created = false;
  absl::StatusOr<std::string> first = ReadOrCreateAuditKeyFile(path, &created);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_TRUE(created);
  EXPECT_EQ(first->size(), kMinAuditKeyBytes);
  EXPECT_NE(*first, std::string(kMinAuditKeyBytes, '\0'));
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  absl::StatusOr<std::string> second = ReadOrCreateAuditKeyFile(path, &created);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_FALSE(created);
  EXPECT_EQ(*second, *first);
  // Another store gets another key.
  absl::StatusOr<std::string> other = ReadOrCreateAuditKeyFile(dir_ + "/other.audit-key", &created);
  ASSERT_TRUE(other.ok());
  EXPECT_NE(*other, *first);
  // A directory that cannot hold it.
  EXPECT_FALSE(ReadOrCreateAuditKeyFile(dir_ + "/no/such/dir/key", &created).ok());
}

}  // namespace
}  // namespace observer::registry
