#include "tests/harness/history.h"

#include <algorithm>
#include <memory>
#include <set>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "tests/harness/builders.h"

namespace observer::testing {

Outcome Classify(const absl::Status& status) {
  if (status.ok()) return Outcome::kAcked;
  // Our servers attach an ErrorInfo to every error they decide on; an error without one comes
  // from the transport or the client (the connection broke, the deadline passed).
  if (!GetErrorDetails(status).reason.empty()) return Outcome::kFailed;
  return Outcome::kUnknown;
}

const char* OutcomeName(Outcome outcome) {
  switch (outcome) {
    case Outcome::kPending:
      return "pending";
    case Outcome::kAcked:
      return "acked";
    case Outcome::kFailed:
      return "failed";
    case Outcome::kUnknown:
      return "unknown";
  }
  return "?";
}

int64_t History::Invoke(std::string method, std::string request_id, std::string target) {
  Operation op;
  op.method = std::move(method);
  op.request_id = std::move(request_id);
  op.target = std::move(target);
  op.invoked = absl::Now();
  std::lock_guard<std::mutex> lock(mu_);
  op.id = static_cast<int64_t>(ops_.size());
  ops_.push_back(std::move(op));
  return ops_.back().id;
}

void History::Complete(int64_t id, const absl::Status& status, const rv1::Observer* acked,
                       int64_t revision) {
  const absl::Time now = absl::Now();
  std::lock_guard<std::mutex> lock(mu_);
  if (id < 0 || id >= static_cast<int64_t>(ops_.size())) return;
  Operation& op = ops_[static_cast<size_t>(id)];
  op.completed = now;
  op.status = status;
  op.outcome = Classify(status);
  if (op.outcome == Outcome::kAcked) {
    if (acked != nullptr) {
      op.acked = *acked;
      if (op.target.empty()) op.target = acked->name();
    }
    op.revision = revision;
  }
}

std::vector<Operation> History::operations() const {
  std::lock_guard<std::mutex> lock(mu_);
  return ops_;
}

std::string History::Summary() const {
  int64_t counts[4] = {0, 0, 0, 0};
  size_t total;
  {
    std::lock_guard<std::mutex> lock(mu_);
    total = ops_.size();
    for (const Operation& op : ops_) ++counts[static_cast<int>(op.outcome)];
  }
  return absl::StrCat(total, " ops: ", counts[static_cast<int>(Outcome::kAcked)], " acked, ",
                      counts[static_cast<int>(Outcome::kFailed)], " failed, ",
                      counts[static_cast<int>(Outcome::kUnknown)], " unknown, ",
                      counts[static_cast<int>(Outcome::kPending)], " pending");
}

namespace {

// One try of ReadFinalState.
absl::StatusOr<FinalState> ReadFinalStateOnce(RegistryClient& client, absl::Time deadline) {
  FinalState state;
  absl::StatusOr<int64_t> head = client.HeadRevision();
  if (!head.ok()) return head.status();
  state.head = *head;
  absl::StatusOr<std::vector<rv1::Election>> elections = client.AllElections();
  if (!elections.ok()) return elections.status();
  for (const rv1::Election& e : *elections) {
    absl::StatusOr<std::vector<rv1::Observer>> observers = client.AllObservers(e.name());
    if (!observers.ok()) return observers.status();
    for (rv1::Observer& o : *observers) state.observers.push_back(std::move(o));
  }
  // A write landing during the listing (e.g. a call still queued in the server) makes it
  // inconsistent: the head must not have moved.
  absl::StatusOr<int64_t> after = client.HeadRevision();
  if (!after.ok()) return after.status();
  if (*after != state.head) {
    return absl::AbortedError(
        absl::StrCat("the head moved during the listing: ", state.head, " → ", *after));
  }
  if (state.head == 0) return state;

  // The change log from its first retained revision: a start at 1 below the compaction point
  // fails naming the compact revision.
  rv1::WatchRequest watch;
  watch.set_start_revision(1);
  for (int attempt = 0;; ++attempt) {
    std::unique_ptr<WatchStream> stream = client.Watch(watch);
    absl::StatusOr<std::vector<rv1::ChangeEvent>> events =
        stream->EventsThrough(state.head, std::max(deadline - absl::Now(), absl::Seconds(1)));
    if (events.ok()) {
      state.compact = watch.start_revision();
      for (rv1::ChangeEvent& e : *events) {
        if (e.revision() <= state.head) state.events.push_back(std::move(e));
      }
      return state;
    }
    const ErrorDetails details = GetErrorDetails(events.status());
    auto compact = details.metadata.find("compact_revision");
    int64_t from = 0;
    if (attempt > 0 || details.reason != reason::kRevisionCompacted ||
        compact == details.metadata.end() || !absl::SimpleAtoi(compact->second, &from)) {
      return events.status();
    }
    watch.set_start_revision(from);
  }
}

}  // namespace

absl::StatusOr<FinalState> ReadFinalState(RegistryClient& client, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  absl::Status last;
  do {
    absl::StatusOr<FinalState> state = ReadFinalStateOnce(client, deadline);
    if (state.ok()) return state;
    last = state.status();
    absl::SleepFor(absl::Milliseconds(100));
  } while (absl::Now() < deadline);
  return absl::Status(last.code(), absl::StrCat("ReadFinalState: ", last.message()));
}

namespace {

std::string Describe(const Operation& op) {
  std::string s = absl::StrCat("op ", op.id, " ", op.method, " rid=", op.request_id);
  if (!op.target.empty()) absl::StrAppend(&s, " target=", op.target);
  absl::StrAppend(&s, " ", OutcomeName(op.outcome));
  if (op.outcome == Outcome::kAcked) absl::StrAppend(&s, " at ", op.revision);
  if (op.outcome == Outcome::kFailed || op.outcome == Outcome::kUnknown) {
    absl::StrAppend(&s, " (", op.status.ToString(), ")");
  }
  return s;
}

const rv1::Observer* AfterObserver(const rv1::ChangeEvent& e) {
  return e.has_after() && e.after().has_observer() ? &e.after().observer() : nullptr;
}

}  // namespace

std::vector<std::string> CheckHistory(const History& history, const FinalState& state) {
  std::vector<std::string> violations;
  const std::vector<Operation> ops = history.operations();

  // 1. The change log: compact..head, each revision once, in order.
  std::map<int64_t, const rv1::ChangeEvent*> by_revision;
  {
    int64_t expected = state.compact;
    for (const rv1::ChangeEvent& e : state.events) {
      if (e.revision() != expected) {
        if (e.revision() < expected) {
          violations.push_back(absl::StrCat("change log: revision ", e.revision(),
                                            " out of order or repeated (expected ", expected, ")"));
        } else {
          violations.push_back(absl::StrCat("change log: gap, revisions ", expected, "..",
                                            e.revision() - 1, " missing"));
        }
      }
      if (!by_revision.emplace(e.revision(), &e).second) {
        violations.push_back(absl::StrCat("change log: revision ", e.revision(), " twice"));
      }
      expected = std::max(expected, e.revision() + 1);
    }
    if (expected <= state.head) {
      violations.push_back(absl::StrCat("change log: revisions ", expected, "..", state.head,
                                        " missing (head ", state.head, ")"));
    }
    if (!state.events.empty() && state.events.back().revision() > state.head) {
      violations.push_back(absl::StrCat("change log: revision ", state.events.back().revision(),
                                        " beyond the head ", state.head));
    }
  }

  // 2. Replaying the observer events gives the listing.
  std::map<std::string, rv1::Observer> replayed;        // name → after image.
  std::map<std::string, int64_t> deleted_at;            // name → revision of its deletion.
  std::map<std::string, std::vector<int64_t>> by_name;  // name → its revisions.
  for (const rv1::ChangeEvent& e : state.events) {
    if (e.kind() != rv1::RESOURCE_KIND_OBSERVER) continue;
    by_name[e.name()].push_back(e.revision());
    if (e.type() == rv1::CHANGE_TYPE_DELETED) {
      replayed.erase(e.name());
      deleted_at[e.name()] = e.revision();
    } else if (const rv1::Observer* after = AfterObserver(e)) {
      replayed[e.name()] = *after;
      deleted_at.erase(e.name());
    } else {
      violations.push_back(absl::StrCat("change log: revision ", e.revision(), " (", e.name(),
                                        ") has no observer after-image"));
    }
  }
  std::map<std::string, const rv1::Observer*> listed;
  for (const rv1::Observer& o : state.observers) {
    if (!listed.emplace(o.name(), &o).second) {
      violations.push_back(absl::StrCat("listing: ", o.name(), " listed twice"));
      continue;
    }
    auto it = replayed.find(o.name());
    if (it == replayed.end()) {
      // Below a compaction point a record may predate every retained event.
      if (state.compact <= 1 || o.revision() >= state.compact) {
        violations.push_back(absl::StrCat("listing: ", o.name(), " at revision ", o.revision(),
                                          " is explained by no change event"));
      }
      continue;
    }
    std::string diff;
    if (!ProtoEquals(StripPii(o), it->second, &diff)) {
      violations.push_back(
          absl::StrCat("listing: ", o.name(), " differs from the replay of its events: ", diff));
    }
    auto ev = by_revision.find(o.revision());
    if (ev == by_revision.end() || ev->second->name() != o.name()) {
      violations.push_back(absl::StrCat("listing: ", o.name(), " has revision ", o.revision(),
                                        " whose event is not its own"));
    }
  }
  for (const auto& [name, image] : replayed) {
    if (listed.count(name) == 0) {
      violations.push_back(absl::StrCat("listing: ", name, " (revision ", image.revision(),
                                        ") is missing, though its events created it"));
    }
  }

  // 3. Request ids: one event at most, none of a definitely failed call.
  std::map<std::string, std::vector<const rv1::ChangeEvent*>> events_by_rid;
  for (const rv1::ChangeEvent& e : state.events) {
    if (!e.request_id().empty()) events_by_rid[e.request_id()].push_back(&e);
  }
  for (const auto& [rid, events] : events_by_rid) {
    if (events.size() > 1) {
      std::string revisions;
      for (const rv1::ChangeEvent* e : events) {
        absl::StrAppend(&revisions, revisions.empty() ? "" : ", ", e->revision(), " (", e->name(),
                        ")");
      }
      violations.push_back(absl::StrCat("request id ", rid, " applied ", events.size(),
                                        " times: revisions ", revisions));
    }
  }
  std::map<std::string, std::vector<const Operation*>> ops_by_rid;
  for (const Operation& op : ops) {
    if (!op.request_id.empty()) ops_by_rid[op.request_id].push_back(&op);
  }
  std::set<std::string> resolved_rids;  // A definite answer was seen for them.
  for (const auto& [rid, rid_ops] : ops_by_rid) {
    bool acked = false;
    bool failed = false;
    for (const Operation* op : rid_ops) {
      acked = acked || op->outcome == Outcome::kAcked;
      failed = failed || op->outcome == Outcome::kFailed;
    }
    if (acked || failed) resolved_rids.insert(rid);
    auto ev = events_by_rid.find(rid);
    if (failed && ev != events_by_rid.end()) {
      for (const Operation* op : rid_ops) {
        if (op->outcome != Outcome::kFailed) continue;
        violations.push_back(absl::StrCat(Describe(*op), ": definitely failed, yet revision ",
                                          ev->second.front()->revision(), " (",
                                          ev->second.front()->name(), ") carries its request id"));
        break;
      }
    }
    if (ev != events_by_rid.end()) {
      // A change (not a create) must have touched the observer it named.
      for (const Operation* op : rid_ops) {
        if (op->method == "CreateObserver" || op->target.empty()) continue;
        if (ev->second.front()->name() != op->target) {
          violations.push_back(absl::StrCat(Describe(*op), ": its request id is on revision ",
                                            ev->second.front()->revision(), " of ",
                                            ev->second.front()->name()));
        }
        break;
      }
    }
  }

  // 4. Acknowledged writes.
  std::map<std::string, const Operation*> last_acked;  // target → acked op, highest revision.
  for (const Operation& op : ops) {
    if (op.outcome == Outcome::kPending) {
      violations.push_back(absl::StrCat(Describe(op), ": never completed"));
      continue;
    }
    if (op.outcome != Outcome::kAcked) continue;
    if (op.target.empty()) {
      violations.push_back(absl::StrCat(Describe(op), ": acked without a record"));
      continue;
    }
    auto ev = by_revision.find(op.revision);
    if (op.revision < state.compact || op.revision > state.head) {
      if (op.revision > state.head) {
        violations.push_back(
            absl::StrCat(Describe(op), ": acked revision beyond the head ", state.head, " (lost)"));
      }
    } else if (ev == by_revision.end()) {
      violations.push_back(absl::StrCat(Describe(op), ": no event at its revision (lost)"));
    } else {
      const rv1::ChangeEvent& e = *ev->second;
      if (e.name() != op.target || e.request_id() != op.request_id) {
        violations.push_back(absl::StrCat(Describe(op), ": revision ", op.revision, " is ",
                                          e.name(), " rid=", e.request_id(), " (lost)"));
      } else if (const rv1::Observer* after = AfterObserver(e);
                 op.acked.has_value() && after != nullptr) {
        std::string diff;
        if (!ProtoEquals(StripPii(*op.acked), *after, &diff)) {
          violations.push_back(absl::StrCat(Describe(op),
                                            ": the event at its revision differs from the "
                                            "acknowledged record: ",
                                            diff));
        }
      }
    }
    auto& last = last_acked[op.target];
    if (last == nullptr || op.revision > last->revision) last = &op;
  }
  // Unknown or pending ops on a target whose request id never got a definite answer may have
  // changed it after its last acknowledgement.
  std::set<std::string> maybe_touched;
  for (const Operation& op : ops) {
    if (op.outcome != Outcome::kUnknown && op.outcome != Outcome::kPending) continue;
    if (op.request_id.empty() || resolved_rids.count(op.request_id) == 0) {
      maybe_touched.insert(op.target);
    }
  }
  for (const auto& [target, op] : last_acked) {
    auto it = listed.find(target);
    if (it == listed.end()) {
      if (deleted_at.count(target) == 0) {
        violations.push_back(absl::StrCat(Describe(*op), ": its record is missing (lost)"));
      }
      continue;
    }
    const rv1::Observer& record = *it->second;
    bool later = maybe_touched.count(target) > 0;
    // Another acked op, with a higher revision, is the last one; an event after it that no
    // op of the history explains is caught by the replay.
    if (record.revision() < op->revision) {
      violations.push_back(absl::StrCat(Describe(*op), ": the record is at revision ",
                                        record.revision(), ", older than acknowledged (lost)"));
    } else if (!later && op->acked.has_value()) {
      std::string diff;
      if (!ProtoEquals(record, *op->acked, &diff)) {
        violations.push_back(absl::StrCat(Describe(*op),
                                          ": the record differs from the last acknowledged "
                                          "one, and nothing later touched it: ",
                                          diff));
      }
    }
  }
  return violations;
}

}  // namespace observer::testing
