// The storage interface of the registry: durable records, the change log (outbox) written in
// the same transaction, idempotency records, and consistent reads. SQLite implements it
// (sqlite_store.h), and PostgreSQL for several replicas on one database (postgres_store.h, ADR
// 0012). Every implementation must pass store_conformance_test.cc.
#ifndef OBSERVER_REGISTRY_STORAGE_STORE_H_
#define OBSERVER_REGISTRY_STORAGE_STORE_H_

#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "observer/registry/v1/registry_service.pb.h"
#include "observer/registry/v1/resources.pb.h"

namespace observer::registry {

// One condition of an observer list query; conditions are joined by AND.
struct ObserverCondition {
  enum class Field { kStatus, kOrganisation, kState, kCitizenship, kCategory, kTest, kTag };
  Field field;
  bool negated = false;  // `!=` instead of `=` (for kTag: does not have the tag).
  // For kStatus/kCategory the enum number, for kTest 0/1, for the others the code or tag.
  std::string text;
  int64_t number = 0;
};

struct ObserverQuery {
  std::string election_id;
  std::vector<ObserverCondition> conditions;
  std::string after_id;  // Keyset pagination: observers with id > after_id.
  int limit = 50;
};

template <typename T>
struct Page {
  std::vector<T> items;
  bool more = false;     // Another page exists.
  int64_t revision = 0;  // Head revision of the read transaction.
};

template <typename T>
struct Versioned {
  std::optional<T> value;  // nullopt: not found.
  int64_t revision = 0;    // Head revision of the read transaction.
};

// A stored idempotency record: the response given to the first request with this id.
struct StoredRequest {
  std::string request_id;
  std::string fingerprint;  // Identifies the request's method and payload.
  std::string response;     // Serialized response message.
  int64_t revision = 0;     // Head revision after the original write.
};

// How many observers of one election are in one status.
struct ObserverCount {
  std::string election_id;
  v1::ObserverStatus status = v1::OBSERVER_STATUS_UNSPECIFIED;
  int64_t count = 0;
};

struct Revisions {
  int64_t head = 0;     // Last committed revision (0: empty store).
  int64_t compact = 1;  // Oldest revision still in the change log.
};

// What Store::VerifyChangeLog found: how far the change log's hash chain (audit_chain.h)
// verified with the store's audit key, and the first problem, if any.
struct ChangeLogVerification {
  enum class Problem {
    kNone,
    kAltered,      // An HMAC does not match: an entry, a chain value or the anchor was changed.
    kMissing,      // A revision between the compaction point and the head has no entry.
    kReordered,    // The entry stored at a revision holds another revision's event.
    kKeyMismatch,  // The entry (or anchor) was chained with another key.
  };
  int64_t entries_checked = 0;
  int64_t first_revision = 0;  // The first and last entry that verified (0: none).
  int64_t last_revision = 0;
  int64_t head_revision = 0;
  int64_t compact_revision = 1;
  Problem problem = Problem::kNone;
  int64_t bad_revision = 0;      // Where the problem is.
  std::string message;           // What it is.
  std::string key_id;            // Of the key that verified (AuditKeyId).
  std::string head_chain;        // Hex chain value at last_revision (or of the anchor).
  bool witness_matched = false;  // The ChainWitness given was found at its revision.
};

// A chain value recorded outside the store at some revision (an earlier check's head_chain).
struct ChainWitness {
  int64_t revision = 0;
  std::string chain;  // 32 raw bytes.
};

// The write side of one request inside a group-committed transaction. Everything a request
// writes is rolled back if it returns an error; other requests in the group are unaffected.
class WriteTxn {
 public:
  virtual ~WriteTxn() = default;

  virtual absl::StatusOr<std::optional<v1::Election>> GetElection(absl::string_view id) = 0;
  virtual absl::StatusOr<std::optional<v1::Organisation>> GetOrganisation(
      absl::string_view code) = 0;
  virtual absl::StatusOr<std::optional<v1::Observer>> GetObserver(
      absl::string_view election_id, absl::string_view observer_id) = 0;
  // The id of the observer of this election holding the document key, if any.
  virtual absl::StatusOr<std::optional<std::string>> FindObserverByDocument(
      absl::string_view election_id, absl::string_view document_key) = 0;
  // Whether the badge number was ever used in the election (badges are never reused).
  virtual absl::StatusOr<bool> BadgeUsed(absl::string_view election_id,
                                         absl::string_view badge) = 0;
  // The next badge sequence number of the election (1, 2, ...), consumed.
  virtual absl::StatusOr<int64_t> NextBadgeSequence(absl::string_view election_id) = 0;

  // Insert or replace, keyed by the resource name.
  [[nodiscard]] virtual absl::Status PutElection(const v1::Election& election) = 0;
  [[nodiscard]] virtual absl::Status PutOrganisation(const v1::Organisation& organisation) = 0;
  // `document_key` is the normalised identity document, unique per election.
  [[nodiscard]] virtual absl::Status PutObserver(absl::string_view election_id,
                                                 absl::string_view observer_id,
                                                 absl::string_view document_key,
                                                 const v1::Observer& observer) = 0;
  [[nodiscard]] virtual absl::Status DeleteObserver(absl::string_view election_id,
                                                    absl::string_view observer_id) = 0;

  // Runs `fn` atomically within this request: if it fails, what it wrote is rolled back and
  // the rest of the request goes on (per-row results of a batch).
  [[nodiscard]] virtual absl::Status Atomically(const std::function<absl::Status()>& fn) = 0;

  // The latest revision, including those this transaction allocated.
  virtual int64_t CurrentRevision() const = 0;
  // Allocates the next store revision (head + 1) for one change.
  virtual int64_t NextRevision() = 0;
  // Appends the change for a revision allocated by NextRevision, in allocation order.
  [[nodiscard]] virtual absl::Status AppendChange(v1::ChangeEvent event) = 0;

  virtual absl::StatusOr<std::optional<StoredRequest>> GetRequest(absl::string_view request_id) = 0;
  [[nodiscard]] virtual absl::Status PutRequest(const StoredRequest& request) = 0;
};

using WriteFn = std::function<absl::Status(WriteTxn&)>;
// Called once with the outcome of a write, after its transaction is durable (or failed), on
// the store's writer thread: must not block.
using WriteDone = std::function<void(absl::Status)>;

// Receives the events of every commit, in revision order, after the commit is durable and
// before the writers are acknowledged. Called on the store's writer thread: must not block.
using CommitListener = std::function<void(std::vector<v1::ChangeEvent> events)>;

// A consistent view of every record at one revision, read in batches.
class SnapshotReader {
 public:
  virtual ~SnapshotReader() = default;
  virtual int64_t revision() const = 0;
  // Up to `max_items` further records (elections, then organisations, then observers), empty
  // when the snapshot is exhausted. Records are returned as stored (with personal data): the
  // caller strips what it must not pass on.
  // At most about `max_bytes` of records, but always at least one.
  virtual absl::StatusOr<std::vector<v1::ResourceImage>> Next(
      int max_items, int64_t max_bytes = std::numeric_limits<int64_t>::max()) = 0;
};

class Store {
 public:
  virtual ~Store() = default;

  // Runs `fn` in the writer's next group transaction and calls `done` once the transaction
  // is durable (or failed). An error from `fn` rolls back only what `fn` wrote.
  virtual void WriteAsync(WriteFn fn, WriteDone done) = 0;
  // WriteAsync, waiting for the outcome.
  [[nodiscard]] absl::Status Write(WriteFn fn);
  // Set once, before the first write.
  virtual void SetCommitListener(CommitListener listener) = 0;

  virtual absl::StatusOr<Versioned<v1::Election>> GetElection(absl::string_view id) = 0;
  virtual absl::StatusOr<Page<v1::Election>> ListElections(absl::string_view after_id,
                                                           int limit) = 0;
  virtual absl::StatusOr<Versioned<v1::Organisation>> GetOrganisation(absl::string_view code) = 0;
  virtual absl::StatusOr<Page<v1::Organisation>> ListOrganisations(absl::string_view after_code,
                                                                   int limit) = 0;
  virtual absl::StatusOr<Versioned<v1::Observer>> GetObserver(absl::string_view election_id,
                                                              absl::string_view observer_id) = 0;
  // Observers in id order; `Page::items` ids are the keys for the next page.
  virtual absl::StatusOr<Page<v1::Observer>> ListObservers(const ObserverQuery& query) = 0;

  // The number of observers per election and status, in (election, status) order; pairs
  // without observers are left out.
  virtual absl::StatusOr<std::vector<ObserverCount>> CountObservers() = 0;

  virtual absl::StatusOr<Revisions> GetRevisions() = 0;
  // Change events with revision >= `from`, in order, at most `max_events` and roughly at most
  // `max_bytes` (always at least one event if any exists). OUT_OF_RANGE/REVISION_COMPACTED if
  // `from` is below the compaction point.
  virtual absl::StatusOr<std::vector<v1::ChangeEvent>> ReadChanges(int64_t from, int max_events,
                                                                   int64_t max_bytes) = 0;
  // Drops change events and idempotency records of revisions below `keep_from`, through the
  // writer like any write.
  virtual void CompactAsync(int64_t keep_from, WriteDone done) = 0;
  [[nodiscard]] absl::Status Compact(int64_t keep_from);
  virtual absl::StatusOr<std::unique_ptr<SnapshotReader>> OpenSnapshot() = 0;

  // Checks the hash chain of the change log (audit_chain.h) with the store's audit key, from
  // the compaction anchor to the head, in one read transaction; with a `witness`, also that
  // the log holds that chain value at that revision (FAILED_PRECONDITION if the revision is
  // compacted away). A broken chain is a result (`problem`), not an error; errors are for a
  // store that cannot be read.
  virtual absl::StatusOr<ChangeLogVerification> VerifyChangeLog(
      const std::optional<ChainWitness>& witness) = 0;
};

}  // namespace observer::registry

#endif  // OBSERVER_REGISTRY_STORAGE_STORE_H_
