// The change-log side of one group transaction, shared by the store backends: the revisions it
// allocated, the events appended for them and the audit chain value (audit_chain.h), with
// marks to give back what a rolled-back request took, so that revisions stay gap-free.
#ifndef OBSERVER_REGISTRY_STORAGE_GROUP_LOG_H_
#define OBSERVER_REGISTRY_STORAGE_GROUP_LOG_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/digest.h"
#include "observer/registry/v1/registry_service.pb.h"
#include "registry-service/src/storage/audit_chain.h"

namespace observer::registry {

class GroupLog {
 public:
  // `head`: the store's head revision when the group began; `chain`: its chain value.
  GroupLog(int64_t head, std::string chain, const HmacSha256Key& mac)
      : head_(head), last_appended_(head), chain_(std::move(chain)), mac_(mac) {}

  int64_t head() const { return head_; }
  int64_t Next() { return ++head_; }
  // Every allocated revision has its change appended.
  bool complete() const { return last_appended_ == head_; }
  // The chain value of the last change appended (of the head revision).
  const std::string& chain() const { return chain_; }
  std::vector<v1::ChangeEvent>& events() { return events_; }

  // What to store for `event`, the next change in allocation order: its bytes and chain value.
  struct Entry {
    std::string bytes;
    std::string chain;
  };
  absl::StatusOr<Entry> Link(const v1::ChangeEvent& event) const {
    if (event.revision() != last_appended_ + 1 || event.revision() > head_) {
      return absl::InternalError(absl::StrCat("change for revision ", event.revision(),
                                              " appended out of order (expected ",
                                              last_appended_ + 1, ")"));
    }
    Entry entry{event.SerializeAsString(), {}};
    entry.chain = ChainLink(mac_, chain_, event.revision(), entry.bytes);
    return entry;
  }
  // Records `event` as stored with `entry` (from Link).
  void Appended(v1::ChangeEvent event, Entry entry) {
    last_appended_ = event.revision();
    chain_ = std::move(entry.chain);
    events_.push_back(std::move(event));
  }

  struct Mark {
    int64_t head;
    int64_t last_appended;
    size_t events;
    std::string chain;
  };
  Mark mark() const { return {head_, last_appended_, events_.size(), chain_}; }
  void rollback_to(const Mark& m) {
    head_ = m.head;
    last_appended_ = m.last_appended;
    events_.resize(m.events);
    chain_ = m.chain;
  }

 private:
  int64_t head_;
  int64_t last_appended_;
  std::string chain_;  // Chain value of revision last_appended_.
  const HmacSha256Key& mac_;
  std::vector<v1::ChangeEvent> events_;
};

}  // namespace observer::registry

#endif  // OBSERVER_REGISTRY_STORAGE_GROUP_LOG_H_
