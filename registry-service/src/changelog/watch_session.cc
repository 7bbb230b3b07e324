#include "registry-service/src/changelog/watch_session.h"

#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "registry-service/src/domain/rules.h"

namespace observer::registry {
namespace {

void FillInitialEvent(v1::ResourceImage image, v1::ChangeEvent& event) {
  event.set_type(v1::CHANGE_TYPE_CREATED);
  switch (image.resource_case()) {
    case v1::ResourceImage::kElection:
      event.set_kind(v1::RESOURCE_KIND_ELECTION);
      event.set_revision(image.election().revision());
      event.set_name(image.election().name());
      break;
    case v1::ResourceImage::kOrganisation:
      event.set_kind(v1::RESOURCE_KIND_ORGANISATION);
      event.set_revision(image.organisation().revision());
      event.set_name(image.organisation().name());
      break;
    case v1::ResourceImage::kObserver:
      event.set_kind(v1::RESOURCE_KIND_OBSERVER);
      event.set_revision(image.observer().revision());
      event.set_name(image.observer().name());
      StripPersonalData(*image.mutable_observer());
      break;
    case v1::ResourceImage::RESOURCE_NOT_SET:
      break;
  }
  *event.mutable_after() = std::move(image);
}

}  // namespace

WatchSession::WatchSession(Store& store, WatchHub& hub, WatchSink* sink, WatchLimits limits)
    : store_(store), hub_(hub), sink_(sink), limits_(limits) {}

WatchSession::~WatchSession() = default;

void WatchSession::Start(const v1::WatchRequest& request) {
  Action action;
  {
    std::lock_guard<std::mutex> lock(mu_);
    Violations v;
    if (request.start_revision() < 0) v.Add("start_revision", "must not be negative");
    if (request.send_initial_state() && request.start_revision() != 0) {
      v.Add("start_revision", "must be 0 with send_initial_state (the state comes first)");
    }
    if (!v.empty()) {
      Fail(v.ToStatus(), action);
    } else if (request.send_initial_state()) {
      auto snapshot = store_.OpenSnapshot();
      if (!snapshot.ok()) {
        Fail(snapshot.status(), action);
      } else {
        snapshot_ = std::move(*snapshot);
        Pump(action);
      }
    } else {
      cursor_ = request.start_revision() == 0 ? hub_.head() + 1 : request.start_revision();
      auto revisions = store_.GetRevisions();
      if (!revisions.ok()) {
        Fail(revisions.status(), action);
      } else if (cursor_ > revisions->head + 1) {
        // A revision this store never reached (e.g. a consumer of a store since restored from
        // backup): waiting would silently skip the revisions reissued here.
        Fail(MakeError(absl::StatusCode::kOutOfRange, reason::kRevisionAhead,
                       absl::StrCat("start_revision ", cursor_, " is beyond the head revision ",
                                    revisions->head, ": start over with send_initial_state"),
                       {{"head_revision", absl::StrCat(revisions->head)}}),
             action);
      } else if (cursor_ < revisions->compact) {
        Fail(MakeError(absl::StatusCode::kOutOfRange, reason::kRevisionCompacted,
                       absl::StrCat("revision ", cursor_,
                                    " is compacted; the oldest retained revision is ",
                                    revisions->compact, ": start over with send_initial_state"),
                       {{"compact_revision", absl::StrCat(revisions->compact)}}),
             action);
      } else {
        Pump(action);
      }
    }
  }
  Run(action);
}

int64_t WatchSession::Position() {
  std::lock_guard<std::mutex> lock(mu_);
  if (snapshot_ != nullptr) return snapshot_->revision();
  return cursor_ > 0 ? cursor_ - 1 : -1;
}

void WatchSession::OnSent(bool ok) {
  Action action;
  {
    std::lock_guard<std::mutex> lock(mu_);
    sending_ = false;
    if (finish_after_send_) {
      action.finish = std::move(finish_after_send_);
      finish_after_send_.reset();
    } else if (!ok) {
      Fail(absl::CancelledError("the watch stream was closed"), action);
    } else {
      Pump(action);
    }
  }
  Run(action);
}

void WatchSession::Cancel() { Close(absl::CancelledError("the watch was cancelled")); }

void WatchSession::Close(const absl::Status& status) {
  Action action;
  {
    std::lock_guard<std::mutex> lock(mu_);
    Fail(status, action);
  }
  Run(action);
}

void WatchSession::Wake(bool progress) {
  Action action;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (finished_ || sending_) return;
    const int64_t head = hub_.head();
    if (progress && snapshot_ == nullptr && cursor_ > head) {
      response_.Clear();
      response_.set_progress_notify(true);
      response_.set_header_revision(head);
      SendLocked(action);
    } else {
      Pump(action);
    }
  }
  Run(action);
}

void WatchSession::Fail(const absl::Status& status, Action& action) {
  if (finished_) return;
  finished_ = true;
  snapshot_.reset();
  hub_.Forget(this);
  if (sending_) {
    finish_after_send_ = status;
  } else {
    action.finish = status;
  }
}

void WatchSession::SendLocked(Action& action) {
  sending_ = true;
  action.send = &response_;
}

void WatchSession::Pump(Action& action) {
  if (finished_ || sending_) return;
  response_.Clear();
  if (snapshot_ != nullptr) {
    auto batch = snapshot_->Next(limits_.snapshot_batch, limits_.max_bytes_per_response);
    if (!batch.ok()) return Fail(batch.status(), action);
    if (!batch->empty()) {
      response_.set_initial_state(true);
      for (auto& image : *batch) FillInitialEvent(std::move(image), *response_.add_events());
      response_.set_header_revision(std::max(hub_.head(), snapshot_->revision()));
    } else {
      // The marker's header is the snapshot revision R: live events follow from R+1.
      response_.set_initial_state_complete(true);
      response_.set_header_revision(snapshot_->revision());
      cursor_ = snapshot_->revision() + 1;
      snapshot_.reset();  // Ends the read transaction.
    }
    return SendLocked(action);
  }
  std::vector<std::shared_ptr<const v1::ChangeEvent>> window;
  switch (hub_.Poll(cursor_, limits_.max_events_per_response, limits_.max_bytes_per_response,
                    shared_from_this(), window)) {
    case WatchHub::PollResult::kWaiting:
      return;
    case WatchHub::PollResult::kEvents:
      for (const auto& e : window) *response_.add_events() = *e;
      break;
    case WatchHub::PollResult::kReadStore: {
      auto events = store_.ReadChanges(cursor_, limits_.max_events_per_response,
                                       limits_.max_bytes_per_response);
      if (!events.ok()) return Fail(events.status(), action);
      if (events->empty() || events->front().revision() != cursor_) {
        return Fail(MakeError(absl::StatusCode::kDataLoss, reason::kStoreError,
                              absl::StrCat("the change log has no revision ", cursor_)),
                    action);
      }
      for (auto& e : *events) *response_.add_events() = std::move(e);
      break;
    }
  }
  cursor_ = response_.events(response_.events_size() - 1).revision() + 1;
  response_.set_header_revision(std::max(hub_.head(), cursor_ - 1));
  SendLocked(action);
}

void WatchSession::Run(const Action& action) {
  if (action.send != nullptr) sink_->Send(action.send);
  if (action.finish) sink_->Finish(*action.finish);
}

}  // namespace observer::registry
