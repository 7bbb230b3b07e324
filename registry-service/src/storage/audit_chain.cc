#include "registry-service/src/storage/audit_chain.h"

#include <fcntl.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/digest.h"
#include "observer/registry/v1/registry_service.pb.h"

namespace observer::registry {
namespace {

using Problem = ChangeLogVerification::Problem;

std::string BigEndian64(int64_t value) {
  std::string out(8, '\0');
  const uint64_t v = static_cast<uint64_t>(value);
  for (int i = 0; i < 8; ++i) out[static_cast<size_t>(i)] = static_cast<char>(v >> (56 - 8 * i));
  return out;
}

absl::Status KeyFileError(const std::string& path, absl::string_view problem) {
  return absl::FailedPreconditionError(absl::StrCat("audit key file ", path, ": ", problem));
}

// Closes a file descriptor on scope exit.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

absl::Status WriteAll(int fd, const std::string& bytes) {
  size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return absl::InternalError(std::strerror(errno));
    written += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

}  // namespace

std::string GenesisChain() { return std::string(kSha256Bytes, '\0'); }

std::string ChainLink(const HmacSha256Key& key, absl::string_view previous_chain, int64_t revision,
                      absl::string_view event_bytes) {
  return key.Mac({previous_chain, BigEndian64(revision), event_bytes});
}

std::string ChainLink(absl::string_view key, absl::string_view previous_chain, int64_t revision,
                      absl::string_view event_bytes) {
  return ChainLink(HmacSha256Key(key), previous_chain, revision, event_bytes);
}

std::string AnchorMac(absl::string_view key, int64_t anchor_revision,
                      absl::string_view anchor_chain) {
  return HmacSha256(key, absl::StrCat("observer-registry compaction anchor\n",
                                      BigEndian64(anchor_revision), anchor_chain));
}

std::string AuditKeyId(absl::string_view key) { return Sha256Hex(key).substr(0, 16); }

absl::StatusOr<std::string> ReadAuditKeyFile(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return KeyFileError(path, std::strerror(errno));
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return KeyFileError(path, std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return KeyFileError(path, "is not a regular file");
  if ((st.st_mode & (S_IROTH | S_IWOTH)) != 0) {
    return KeyFileError(
        path, absl::StrFormat("can be read or written by other users (mode %04o): the key "
                              "must be secret (chmod o-rwx %s, or better 0600)",
                              st.st_mode & 07777, path));
  }
  std::string key;
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return KeyFileError(path, std::strerror(errno));
    if (n == 0) break;
    key.append(buffer, static_cast<size_t>(n));
    if (key.size() > kMaxAuditKeyBytes) {
      return KeyFileError(path, absl::StrCat("holds more than ", kMaxAuditKeyBytes,
                                             " bytes: is it the right file? The key is the "
                                             "file's raw bytes (e.g. head -c 32 /dev/urandom)"));
    }
  }
  if (key.size() < kMinAuditKeyBytes) {
    return KeyFileError(path, absl::StrCat("holds ", key.size(),
                                           " bytes; an audit key needs at "
                                           "least ",
                                           kMinAuditKeyBytes,
                                           " (the file's raw bytes are the key: create it with "
                                           "head -c 32 /dev/urandom > FILE; chmod 0600 FILE)"));
  }
  return key;
}

absl::StatusOr<std::string> ReadOrCreateAuditKeyFile(const std::string& path, bool* created) {
  *created = false;
  {
    Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (fd.get() < 0 && errno != EEXIST) {
      return KeyFileError(path, absl::StrCat("cannot be created: ", std::strerror(errno)));
    }
    if (fd.get() >= 0) {
      unsigned char random[kMinAuditKeyBytes];
      absl::Status written = RAND_bytes(random, sizeof(random)) == 1
                                 ? absl::OkStatus()
                                 : absl::InternalError("no random bytes from OpenSSL's generator");
      if (written.ok() && ::fchmod(fd.get(), 0600) != 0) {
        written = absl::InternalError(std::strerror(errno));
      }
      if (written.ok()) {
        written =
            WriteAll(fd.get(), std::string(reinterpret_cast<const char*>(random), sizeof(random)));
      }
      if (written.ok() && ::fsync(fd.get()) != 0) {
        written = absl::InternalError(std::strerror(errno));
      }
      if (!written.ok()) {
        ::unlink(path.c_str());
        return KeyFileError(path, absl::StrCat("cannot be created: ", written.message()));
      }
      // The new name is durable too, so the key is not lost with a crash after the first
      // change was chained with it.
      const size_t slash = path.rfind('/');
      const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash + 1);
      Fd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
      if (dir_fd.get() >= 0) (void)::fsync(dir_fd.get());
      *created = true;
    }
  }
  return ReadAuditKeyFile(path);
}

ChainVerifier::ChainVerifier(std::string key, int64_t head_revision, int64_t compact_revision,
                             const Anchor& anchor)
    : key_(std::move(key)), mac_(key_), expected_(compact_revision) {
  result_.head_revision = head_revision;
  result_.compact_revision = compact_revision;
  result_.key_id = AuditKeyId(key_);
  previous_ = GenesisChain();
  if (compact_revision > 1) {
    const int64_t anchor_revision = compact_revision - 1;
    if (anchor.chain.size() != kSha256Bytes || anchor.mac.empty()) {
      Fail(Problem::kAltered, compact_revision,
           absl::StrCat("the compaction anchor (the chain value of revision ", anchor_revision,
                        ", which revision ", compact_revision,
                        " links to) is missing from the store"));
      return;
    }
    if (!ConstantTimeEquals(AnchorMac(key_, anchor_revision, anchor.chain), anchor.mac)) {
      if (anchor.key_id != result_.key_id) {
        Fail(Problem::kKeyMismatch, compact_revision,
             absl::StrCat("the audit key does not match the one the log was written with: the "
                          "compaction anchor was written with key ",
                          anchor.key_id, ", this server's key is ", result_.key_id));
      } else {
        Fail(Problem::kAltered, compact_revision,
             absl::StrCat("the compaction anchor (the chain value of revision ", anchor_revision,
                          ") or the compaction point was changed: its HMAC does not match"));
      }
      return;
    }
    if (anchor.key_id != result_.key_id) {
      Fail(Problem::kAltered, compact_revision,
           "the key id recorded with the compaction anchor was changed");
      return;
    }
    previous_ = anchor.chain;
  }
}

absl::Status ChainVerifier::Expect(const ChainWitness& witness) {
  const int64_t anchor_revision = result_.compact_revision - 1;
  if (witness.revision < anchor_revision) {
    return absl::FailedPreconditionError(absl::StrCat(
        "revision ", witness.revision, " is compacted away (the log keeps revisions from ",
        result_.compact_revision, "): its recorded chain value cannot be checked any more"));
  }
  witness_ = witness;
  // The anchor stands for the last compacted revision.
  if (witness.revision == anchor_revision && !broken()) {
    CheckWitness(anchor_revision, previous_);
  }
  return absl::OkStatus();
}

void ChainVerifier::CheckWitness(int64_t revision, absl::string_view chain) {
  if (!witness_.has_value() || witness_->revision != revision) return;
  if (ConstantTimeEquals(chain, witness_->chain)) {
    result_.witness_matched = true;
    return;
  }
  Fail(Problem::kAltered, revision,
       absl::StrCat("the chain value at revision ", revision, " is not the one recorded (",
                    absl::BytesToHexString(witness_->chain).substr(0, 16),
                    "...): the log up to this revision was rewritten or replaced"));
}

void ChainVerifier::Fail(Problem problem, int64_t revision, std::string message) {
  result_.problem = problem;
  result_.bad_revision = revision;
  result_.message = std::move(message);
}

bool ChainVerifier::Add(int64_t revision, absl::string_view event_bytes,
                        std::optional<absl::string_view> chain, absl::string_view key_id) {
  if (broken()) return false;
  if (revision < expected_) {
    // Revisions come in increasing order, so only entries below the compaction point get here.
    Fail(Problem::kAltered, revision,
         absl::StrCat("revision ", revision, " is still stored below the compaction point (",
                      result_.compact_revision, "): the compaction point was changed"));
    return false;
  }
  if (revision > expected_) {
    Fail(Problem::kMissing, expected_,
         revision == expected_ + 1
             ? absl::StrCat("revision ", expected_, " is missing (the next entry stored is ",
                            revision, ")")
             : absl::StrCat("revisions ", expected_, " to ", revision - 1,
                            " are missing (the next entry stored is ", revision, ")"));
    return false;
  }
  if (revision > result_.head_revision) {
    Fail(Problem::kAltered, revision,
         absl::StrCat("revision ", revision, " is stored beyond the store's head revision (",
                      result_.head_revision, "): the head revision was changed"));
    return false;
  }
  v1::ChangeEvent event;
  if (!event.ParseFromArray(event_bytes.data(), static_cast<int>(event_bytes.size()))) {
    Fail(Problem::kAltered, revision,
         absl::StrCat("the entry of revision ", revision, " is not a valid change event"));
    return false;
  }
  if (event.revision() != revision) {
    Fail(Problem::kReordered, revision,
         absl::StrCat("the entry stored as revision ", revision, " holds the change of revision ",
                      event.revision()));
    return false;
  }
  if (!chain.has_value()) {
    Fail(Problem::kAltered, revision,
         absl::StrCat("the entry of revision ", revision, " has no chain value"));
    return false;
  }
  if (!ConstantTimeEquals(ChainLink(mac_, previous_, revision, event_bytes), *chain)) {
    if (key_id != result_.key_id) {
      Fail(Problem::kKeyMismatch, revision,
           absl::StrCat("the audit key does not match the one the log was written with: "
                        "revision ",
                        revision, " was chained with key ", key_id, ", this server's key is ",
                        result_.key_id));
    } else {
      Fail(Problem::kAltered, revision,
           absl::StrCat("the HMAC of revision ", revision,
                        " does not match: its event, its revision or its chain value was "
                        "changed"));
    }
    return false;
  }
  if (key_id != result_.key_id) {
    Fail(Problem::kAltered, revision,
         absl::StrCat("the key id recorded with revision ", revision, " was changed"));
    return false;
  }
  CheckWitness(revision, *chain);
  if (broken()) return false;
  previous_ = std::string(*chain);
  ++result_.entries_checked;
  if (result_.first_revision == 0) result_.first_revision = revision;
  result_.last_revision = revision;
  expected_ = revision + 1;
  return true;
}

ChangeLogVerification ChainVerifier::Finish() {
  if (!broken()) {
    if (expected_ <= result_.head_revision) {
      Fail(Problem::kMissing, expected_,
           expected_ == result_.head_revision
               ? absl::StrCat("revision ", expected_, " (the head) is missing")
               : absl::StrCat("revisions ", expected_, " to ", result_.head_revision,
                              " (the head) are missing"));
    } else if (witness_.has_value() && !result_.witness_matched) {
      // Every retained revision verified, so the recorded one lies beyond the head.
      Fail(Problem::kMissing, result_.head_revision + 1,
           absl::StrCat("revision ", witness_->revision,
                        ", whose chain value was recorded, is beyond the head revision (",
                        result_.head_revision, "): changes after it were removed"));
    }
  }
  // The value at last_revision (or the anchor's), unless nothing could be trusted.
  if (!broken() || result_.entries_checked > 0) {
    result_.head_chain = absl::BytesToHexString(previous_);
  }
  return result_;
}

}  // namespace observer::registry
