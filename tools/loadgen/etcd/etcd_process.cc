#include "tools/loadgen/etcd/etcd_process.h"

#include <ftw.h>
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "tools/loadgen/etcd/etcd_kv.grpc.pb.h"

extern char** environ;

namespace observer::loadgen {
namespace {

constexpr char kMemberName[] = "observer-baseline";
// Output kept (CommandOptions::max_output_bytes): the first 32 KiB, and between 256 and 480 KiB
// of the latest, so a long benchmark that makes etcd warn about slow requests cannot grow it
// without end.
constexpr size_t kMaxOutputBytes = 512 * 1024;
// What error messages quote of it: the end.
constexpr size_t kQuotedOutputBytes = 16384;

std::string ErrnoText(absl::string_view what) {
  return absl::StrCat(what, ": ", std::strerror(errno));
}

std::string LastBytes(const std::string& text) {
  return text.size() > kQuotedOutputBytes ? text.substr(text.size() - kQuotedOutputBytes) : text;
}

// How etcd ended, or why that is not known.
std::string DescribeEnd(const absl::StatusOr<testing::CommandResult>& ended) {
  return ended.ok() ? ended->DescribeExit() : std::string(ended.status().message());
}

int RemoveEntry(const char* path, const struct stat*, int, struct FTW*) {
  remove(path);
  return 0;  // Carry on with the rest.
}

void RemoveTree(const std::string& path) {
  nftw(path.c_str(), RemoveEntry, 16, FTW_DEPTH | FTW_PHYS);
}

// etcd's own configuration variables in our environment (ETCD_*: etcd reads every flag from
// them), unset for the child so that nothing set outside changes the baseline;
// ETCD_UNSUPPORTED_ARCH stays, as etcd needs it to run at all on some architectures.
std::vector<std::string> EtcdVariables() {
  std::vector<std::string> names;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    absl::string_view entry(*e);
    if (absl::StartsWith(entry, "ETCD_") && !absl::StartsWith(entry, "ETCD_UNSUPPORTED_ARCH=")) {
      names.emplace_back(entry.substr(0, entry.find('=')));
    }
  }
  return names;
}

}  // namespace

bool EtcdProcess::Available(const std::string& binary) {
  return !binary.empty() && access(binary.c_str(), X_OK) == 0;
}

absl::StatusOr<std::unique_ptr<EtcdProcess>> EtcdProcess::Start(const EtcdOptions& options) {
  if (!Available(options.binary)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot execute ", options.binary.empty() ? "(no etcd binary)" : options.binary, ": ",
        std::strerror(errno), " (Debian: apt-get install etcd-server)"));
  }
  absl::Status last;
  const int attempts = std::max(1, options.port_attempts);
  for (int attempt = 0; attempt < attempts; ++attempt) {
    std::unique_ptr<EtcdProcess> etcd(new EtcdProcess());
    bool port_conflict = false;
    last = etcd->Launch(options, &port_conflict);
    if (last.ok()) return etcd;
    if (!port_conflict) break;
  }
  return last;
}

absl::Status EtcdProcess::Launch(const EtcdOptions& options, bool* port_conflict) {
  *port_conflict = false;
  keep_data_dir_ = options.keep_data_dir;
  absl::StatusOr<std::vector<int>> ports = testing::FreeLoopbackPorts(2);
  if (!ports.ok()) return ports.status();
  client_port_ = (*ports)[0];
  peer_port_ = (*ports)[1];
  client_target_ = absl::StrCat("127.0.0.1:", client_port_);

  std::string parent = options.parent_dir;
  if (parent.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    parent = (tmp != nullptr && *tmp != '\0') ? tmp : "/tmp";
  }
  std::string dir_template = absl::StrCat(parent, "/etcd-XXXXXX");
  if (mkdtemp(dir_template.data()) == nullptr) {  // Mode 0700, as etcd wants its data dir.
    return absl::InternalError(ErrnoText(absl::StrCat("mkdtemp ", dir_template)));
  }
  data_dir_ = dir_template;

  const std::string client_url = this->client_url();
  const std::string peer_url = absl::StrCat("http://127.0.0.1:", peer_port_);
  argv_ = {
      options.binary,
      absl::StrCat("--name=", kMemberName),
      absl::StrCat("--data-dir=", data_dir_),
      absl::StrCat("--listen-client-urls=", client_url),
      absl::StrCat("--advertise-client-urls=", client_url),
      absl::StrCat("--listen-peer-urls=", peer_url),
      absl::StrCat("--initial-advertise-peer-urls=", peer_url),
      absl::StrCat("--initial-cluster=", kMemberName, "=", peer_url),
      "--initial-cluster-state=new",
      absl::StrCat("--initial-cluster-token=observer-baseline-", getpid(), "-", client_port_),
      // Structured logs on stderr (the default logger is deprecated and says so).
      "--logger=zap",
      "--log-outputs=stderr",
  };
  argv_.insert(argv_.end(), options.extra_args.begin(), options.extra_args.end());

  testing::CommandOptions command;
  command.unset_env = EtcdVariables();
  command.merge_stderr = true;
  // Its own process group (the default): a terminal's Ctrl-C goes to the benchmark, which stops
  // etcd.
  command.own_process_group = true;
  command.max_output_bytes = kMaxOutputBytes;
  if (absl::Status s = process_.Start(argv_, command); !s.ok()) return s;

  absl::Status ready = WaitReady(absl::Now() + options.start_timeout);
  if (ready.ok()) return ready;
  // It exited, or never answered: stop it (if running) and report what it said.
  const absl::StatusOr<testing::CommandResult> ended = Terminate(absl::Seconds(2));
  const std::string said = output();
  *port_conflict = absl::StrContains(said, "address already in use");
  return absl::Status(
      ready.code(), absl::StrCat("etcd did not start: ", ready.message(), " (", DescribeEnd(ended),
                                 ")\n$ ", absl::StrJoin(argv_, " "), "\n---- etcd output ----\n",
                                 LastBytes(said), "\n---- end ----"));
}

absl::Status EtcdProcess::WaitReady(absl::Time deadline) {
  // Reconnect quickly while etcd is not listening yet (gRPC's backoff grows to minutes).
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 50);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 50);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 250);
  std::shared_ptr<grpc::Channel> channel =
      grpc::CreateCustomChannel(client_target_, grpc::InsecureChannelCredentials(), args);
  std::unique_ptr<etcdserverpb::KV::Stub> stub = etcdserverpb::KV::NewStub(channel);
  std::string last_error = "no answer yet";
  for (;;) {
    if (process_.Exited()) {
      return absl::UnavailableError("etcd exited");  // Launch reaps it.
    }
    const absl::Time now = absl::Now();
    if (now >= deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          "no linearizable Range answered on ", client_target_, " in time; last: ", last_error));
    }
    // A linearizable read (the default) is answered once etcd has elected itself leader.
    grpc::ClientContext context;
    // Short attempts until it listens, so that an etcd that exits is seen at once; then long
    // enough for an election.
    const bool connected = channel->GetState(/*try_to_connect=*/true) == GRPC_CHANNEL_READY;
    context.set_deadline(absl::ToChronoTime(
        std::min(deadline, now + (connected ? absl::Seconds(2) : absl::Milliseconds(200)))));
    context.set_wait_for_ready(true);
    etcdserverpb::RangeRequest request;
    request.set_key("/observer-baseline/ready");
    etcdserverpb::RangeResponse response;
    const grpc::Status status = stub->Range(&context, request, &response);
    if (status.ok()) {
      if (response.has_header() && response.header().member_id() != 0) {
        return absl::OkStatus();
      }
      // Not etcd's answer (no header): something else is on the port.
      last_error =
          absl::StrCat("Range answered without etcd's header: ", response.ShortDebugString());
    } else {
      last_error = absl::StrCat(status.error_code(), ": ", status.error_message());
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
}

std::string EtcdProcess::output() const { return process_.stdout_so_far(); }

std::string EtcdProcess::client_url() const { return absl::StrCat("http://", client_target_); }

bool EtcdProcess::Running() const {
  return process_.running() && !testing::ChildHasExited(process_.pid());
}

absl::StatusOr<testing::CommandResult> EtcdProcess::Terminate(absl::Duration grace) {
  if (!process_.Exited() && grace > absl::ZeroDuration()) {
    (void)process_.Signal(SIGTERM);
    const absl::Time deadline = absl::Now() + grace;
    while (!process_.Exited() && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(10));
  }
  // Kill reaps it; the SIGKILL changes nothing for an etcd that has exited (a zombie until then,
  // so its pid and process group are still its own).
  return process_.Kill();
}

absl::Status EtcdProcess::Stop(absl::Duration grace) {
  absl::Status result;
  if (process_.running()) {
    const bool crashed = process_.Exited();
    const absl::Time start = absl::Now();
    const absl::StatusOr<testing::CommandResult> ended =
        Terminate(crashed ? absl::ZeroDuration() : grace);
    const bool clean_stop =
        !crashed && ended.ok() && (ended->exit_code() == 0 || ended->term_signal() == SIGTERM);
    if (!clean_stop) {
      result = absl::InternalError(
          absl::StrCat(crashed ? "etcd had exited before it was stopped"
                               : absl::StrCat("etcd did not stop cleanly on SIGTERM within ",
                                              absl::FormatDuration(absl::Now() - start)),
                       " (", DescribeEnd(ended), ")\n---- etcd output (end) ----\n",
                       LastBytes(output()), "\n---- end ----"));
    }
  }
  if (!data_dir_.empty() && !keep_data_dir_) {
    RemoveTree(data_dir_);
    data_dir_.clear();
  }
  return result;
}

EtcdProcess::~EtcdProcess() { (void)Stop(); }

}  // namespace observer::loadgen
