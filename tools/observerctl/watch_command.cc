// `watch`: tails the registry's change stream, one line per event.
#include <signal.h>

#include <atomic>
#include <ctime>
#include <iostream>
#include <string>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "tools/observerctl/commands.h"
#include "tools/observerctl/output.h"
#include "tools/observerctl/values.h"

namespace observer::ctl {
namespace {

namespace v1 = ::observer::registry::v1;

const std::vector<std::string> kFormats = {"text", "json"};

std::string KindText(v1::ResourceKind kind) { return EnumText(kind); }

const v1::Observer* ObserverOf(const v1::ResourceImage& image) {
  return image.has_observer() ? &image.observer() : nullptr;
}

std::string EventLine(const v1::ChangeEvent& e, bool initial) {
  std::string line = absl::StrCat(e.revision(), "  ");
  if (e.has_commit_time()) absl::StrAppend(&line, FormatInstant(e.commit_time()), "  ");
  absl::StrAppend(&line, initial ? "initial" : EnumText(e.type()), "  ", KindText(e.kind()), "  ",
                  e.name());
  const v1::Observer* before = ObserverOf(e.before());
  const v1::Observer* after = ObserverOf(e.after());
  if (after != nullptr && (before == nullptr || before->status() != after->status())) {
    absl::StrAppend(&line, "  ", before == nullptr ? "" : EnumText(before->status()) + " → ",
                    EnumText(after->status()));
  }
  if (!e.actor().empty()) absl::StrAppend(&line, "  actor=", e.actor());
  if (!e.request_id().empty()) absl::StrAppend(&line, "  request=", e.request_id());
  return line;
}

// Blocks SIGINT and SIGTERM in every thread (gRPC's included) and turns them into a cancel of
// the stream, so Ctrl-C ends the watch cleanly with exit code 0.
class StopOnSignal {
 public:
  explicit StopOnSignal(grpc::ClientContext* ctx) {
    sigemptyset(&set_);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set_, nullptr);
    thread_ = std::thread([this, ctx] {
      const timespec tick = {0, 200 * 1000 * 1000};
      while (!done_) {
        if (sigtimedwait(&set_, nullptr, &tick) > 0) {
          signalled_ = true;
          ctx->TryCancel();
          return;
        }
      }
    });
  }
  ~StopOnSignal() {
    done_ = true;
    thread_.join();
  }
  bool signalled() const { return signalled_; }

 private:
  sigset_t set_;
  std::atomic<bool> done_{false};
  std::atomic<bool> signalled_{false};
  std::thread thread_;
};

int Watch(const Invocation& inv) {
  absl::StatusOr<std::string> format = OutputFormat(inv, kFormats);
  if (!format.ok()) return UsageError(format.status().message());
  v1::WatchRequest req;
  if (const std::string from = inv.Get("from"); !from.empty()) {
    int64_t revision = 0;
    if (!absl::SimpleAtoi(from, &revision) || revision < 1) {
      return UsageError(absl::StrCat("--from: '", from, "' is not a revision (a number ≥ 1)"));
    }
    req.set_start_revision(revision);
  }
  req.set_send_initial_state(inv.IsSet("initial-state"));
  if (req.send_initial_state() && req.start_revision() != 0) {
    return UsageError("--initial-state and --from do not go together");
  }
  int64_t limit = 0;
  if (const std::string text = inv.Get("limit"); !text.empty()) {
    if (!absl::SimpleAtoi(text, &limit) || limit < 1) {
      return UsageError(absl::StrCat("--limit: '", text, "' is not a number ≥ 1"));
    }
  }
  // Signals are blocked before the first gRPC thread starts, so every thread inherits the mask.
  auto ctx = std::make_unique<grpc::ClientContext>();
  StopOnSignal stop(ctx.get());
  return WithConnection(inv, [&](Connection& c) {
    auto reader = c.registry().Watch(ctx.get(), req);
    v1::WatchResponse resp;
    int64_t shown = 0;
    while (reader->Read(&resp)) {
      for (const v1::ChangeEvent& e : resp.events()) {
        if (*format == "json") {
          std::cout << ToJson(e) << "\n";
        } else {
          std::cout << EventLine(e, resp.initial_state()) << "\n";
        }
        if (limit > 0 && ++shown >= limit) {
          std::cout << std::flush;
          ctx->TryCancel();
          (void)reader->Finish();
          return kExitOk;
        }
      }
      if (resp.initial_state_complete() && *format == "text") {
        std::cout << "-- initial state complete at revision " << resp.header_revision()
                  << "; live changes follow\n";
      }
      std::cout << std::flush;
    }
    const absl::Status s = FromGrpcStatus(reader->Finish());
    if (stop.signalled()) return kExitOk;
    if (s.ok()) {
      std::cerr << "the registry ended the stream\n";
      return kExitFailed;
    }
    c.ReportFailure(Service::kRegistry, "Watch", s);
    return kExitFailed;
  });
}

}  // namespace

std::vector<CommandSpec> WatchCommands() {
  return {{{"watch"},
           "Tail the registry's change stream, one line per change.",
           "",
           0,
           0,
           {{"from", "REVISION", "first revision to show (default: the next change)"},
            {"initial-state", "", "first show every record as it stands"},
            {"limit", "N", "stop after N events"},
            OutputFlag(kFormats)},
           "Ctrl-C stops the watch. Events carry no personal data.",
           "  observerctl watch\n"
           "  observerctl watch --from 1 --limit 20\n"
           "  observerctl watch --output json | jq .name",
           Watch}};
}

}  // namespace observer::ctl
