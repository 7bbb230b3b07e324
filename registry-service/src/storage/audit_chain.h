// The keyed hash chain over the change log (ADR 0008, "Audit chain"), shared by every Store
// backend: how a chain value is computed, how a stored log is verified, and the audit key file.
//
// Each stored change carries
//   chain(r) = HMAC-SHA256(key, chain(r-1) || r as 8 bytes big-endian || the stored event bytes)
// and the id of the key it was computed with. chain(0) is 32 zero bytes (the genesis). When
// compaction drops the entries below revision c, the store keeps chain(c-1) as the anchor,
// with an HMAC over (c-1, anchor) so that the anchor cannot be replaced without the key: the
// kept suffix verifies from it. Someone who can edit the store file but does not hold the key
// cannot change, remove or reorder an entry without the verification failing at that entry.
#ifndef OBSERVER_REGISTRY_STORAGE_AUDIT_CHAIN_H_
#define OBSERVER_REGISTRY_STORAGE_AUDIT_CHAIN_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/digest.h"
#include "registry-service/src/storage/store.h"

namespace observer::registry {

// An audit key file holds the key as raw bytes: the whole file, at least kMinAuditKeyBytes
// (e.g. `head -c 32 /dev/urandom`), at most kMaxAuditKeyBytes.
inline constexpr size_t kMinAuditKeyBytes = 32;
inline constexpr size_t kMaxAuditKeyBytes = 1024;

// chain(0): what the first change of a store chains from.
std::string GenesisChain();

// chain(revision) from chain(revision - 1) and the event bytes as stored.
std::string ChainLink(const HmacSha256Key& key, absl::string_view previous_chain, int64_t revision,
                      absl::string_view event_bytes);
// The same with the key given as bytes (hashes the key's padded blocks on each call).
std::string ChainLink(absl::string_view key, absl::string_view previous_chain, int64_t revision,
                      absl::string_view event_bytes);

// The HMAC kept with a compaction anchor: binds the anchor's revision to its chain value.
std::string AnchorMac(absl::string_view key, int64_t anchor_revision,
                      absl::string_view anchor_chain);

// The id recorded with each entry: the first 8 bytes of SHA-256(key) as 16 hex digits. It
// tells which key an entry was chained with (for key rotation) without revealing the key.
std::string AuditKeyId(absl::string_view key);

// Reads an audit key file: FAILED_PRECONDITION naming the file if it cannot be read, is not a
// regular file, can be read or written by other users (mode o+rw), or holds fewer than
// kMinAuditKeyBytes or more than kMaxAuditKeyBytes.
absl::StatusOr<std::string> ReadAuditKeyFile(const std::string& path);

// ReadAuditKeyFile, creating the file first with 32 random bytes (mode 0600) if it does not
// exist; `*created` says whether it did.
absl::StatusOr<std::string> ReadOrCreateAuditKeyFile(const std::string& path, bool* created);

// Verifies a change log entry by entry, in revision order. A backend reads the store state
// (head, compaction point, anchor) and the entries in one read transaction and feeds them in;
// the verifier stops at the first problem.
class ChainVerifier {
 public:
  struct Anchor {
    std::string chain;   // chain(compact_revision - 1); empty: none recorded.
    std::string key_id;  // The key the anchor's MAC was computed with.
    std::string mac;     // AnchorMac of (compact_revision - 1, chain).
  };

  ChainVerifier(std::string key, int64_t head_revision, int64_t compact_revision,
                const Anchor& anchor);

  // Also requires the chain value `witness.chain` at `witness.revision` (call before Add).
  // FAILED_PRECONDITION if that revision is compacted away (below the anchor's).
  [[nodiscard]] absl::Status Expect(const ChainWitness& witness);

  // One stored entry: its revision as stored, the event bytes, the chain value (nullopt: the
  // entry has none) and the key id. Returns false once the chain is broken (further entries
  // are ignored).
  bool Add(int64_t revision, absl::string_view event_bytes, std::optional<absl::string_view> chain,
           absl::string_view key_id);

  // After the last entry: checks that no revision up to the head is missing at the end.
  ChangeLogVerification Finish();

  bool broken() const { return result_.problem != ChangeLogVerification::Problem::kNone; }

 private:
  void Fail(ChangeLogVerification::Problem problem, int64_t revision, std::string message);
  // Compares the verified chain value of `revision` with the witness, if it is for `revision`.
  void CheckWitness(int64_t revision, absl::string_view chain);

  const std::string key_;
  const HmacSha256Key mac_;  // Of key_.
  ChangeLogVerification result_;
  std::string previous_;  // The chain value the next entry links to.
  int64_t expected_;      // The revision the next entry must have.
  std::optional<ChainWitness> witness_;
};

}  // namespace observer::registry

#endif  // OBSERVER_REGISTRY_STORAGE_AUDIT_CHAIN_H_
