#include "tools/loadgen/etcd/etcd_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <ftw.h>
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
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
// Output kept: the first kHeadBytes, and between kTailBytes and twice that of the latest.
constexpr size_t kHeadBytes = 32 * 1024;
constexpr size_t kTailBytes = 256 * 1024;

std::string ErrnoText(absl::string_view what) {
  return absl::StrCat(what, ": ", std::strerror(errno));
}

// Two distinct free TCP ports on 127.0.0.1 (both sockets are bound at once, so they differ).
// They are free now; etcd binds them a moment later, which may fail if someone else took one.
absl::Status FreePorts(int* a, int* b) {
  int fds[2] = {-1, -1};
  int ports[2] = {0, 0};
  absl::Status status;
  for (int i = 0; i < 2 && status.ok(); ++i) {
    fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fds[i] < 0) {
      status = absl::InternalError(ErrnoText("socket"));
      break;
    }
    sockaddr_in addr = {};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof(addr);
    if (bind(fds[i], reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        getsockname(fds[i], reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      status = absl::InternalError(ErrnoText("bind 127.0.0.1:0"));
      break;
    }
    ports[i] = ntohs(addr.sin_port);
  }
  for (int fd : fds) {
    if (fd >= 0) close(fd);
  }
  *a = ports[0];
  *b = ports[1];
  return status;
}

int RemoveEntry(const char* path, const struct stat*, int, struct FTW*) {
  remove(path);
  return 0;  // Carry on with the rest.
}

void RemoveTree(const std::string& path) {
  nftw(path.c_str(), RemoveEntry, 16, FTW_DEPTH | FTW_PHYS);
}

// Our environment without etcd's own configuration variables (ETCD_*: etcd reads every flag
// from them), so nothing set outside changes the baseline; ETCD_UNSUPPORTED_ARCH stays, as
// etcd needs it to run at all on some architectures.
std::vector<std::string> ChildEnvironment() {
  std::vector<std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    absl::string_view entry(*e);
    if (absl::StartsWith(entry, "ETCD_") && !absl::StartsWith(entry, "ETCD_UNSUPPORTED_ARCH=")) {
      continue;
    }
    env.emplace_back(entry);
  }
  return env;
}

std::string DescribeWaitStatus(int status) {
  if (WIFEXITED(status)) return absl::StrCat("exit code ", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return absl::StrCat("killed by signal ", WTERMSIG(status));
  return absl::StrCat("wait status ", status);
}

// Whether the child `pid` has ended, leaving it unreaped (a zombie keeps its pid ours).
bool HasExited(pid_t pid) {
  siginfo_t info = {};
  int r;
  do {
    r = waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT);
  } while (r != 0 && errno == EINTR);
  if (r != 0) return true;  // Not (or no longer) our child.
  return info.si_pid == pid;
}

// Reaps `pid`, waiting at most `timeout` (forever if infinite); -1 if it is still running.
int ReapWithin(pid_t pid, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    int status = 0;
    const pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) return status;
    if (r < 0 && errno != EINTR) return 0;  // Not our child (any more).
    if (absl::Now() >= deadline) return -1;
    absl::SleepFor(absl::Milliseconds(10));
  }
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
  if (absl::Status s = FreePorts(&client_port_, &peer_port_); !s.ok()) return s;
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

  // Everything the child needs is made before fork(): after it only async-signal-safe calls
  // are allowed (this process has gRPC threads).
  std::vector<char*> cargv;
  for (const std::string& a : argv_) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  const std::vector<std::string> env = ChildEnvironment();
  std::vector<char*> cenv;
  for (const std::string& e : env) cenv.push_back(const_cast<char*>(e.c_str()));
  cenv.push_back(nullptr);
  const int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null_fd < 0) return absl::InternalError(ErrnoText("open /dev/null"));
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) {
    const absl::Status status = absl::InternalError(ErrnoText("pipe2"));
    close(null_fd);
    return status;
  }
  const pid_t parent_pid = getpid();
  const pid_t child = fork();
  if (child < 0) {
    const absl::Status status = absl::InternalError(ErrnoText("fork"));
    close(null_fd);
    close(out[0]);
    close(out[1]);
    return status;
  }
  if (child == 0) {
    // Never outlive the parent (more exactly: the thread that forked).
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent_pid) _exit(126);
    // Its own process group: a terminal's Ctrl-C goes to the benchmark, which stops etcd.
    setpgid(0, 0);
    dup2(null_fd, 0);
    dup2(out[1], 1);
    dup2(out[1], 2);
    execve(cargv[0], cargv.data(), cenv.data());
    static const char kMsg[] = "etcd_process: execve failed\n";
    ssize_t ignored = write(2, kMsg, sizeof(kMsg) - 1);
    (void)ignored;
    _exit(127);
  }
  close(null_fd);
  close(out[1]);
  pid_ = child;
  reader_ = std::thread([this, fd = out[0]] { ReadLoop(fd); });

  absl::Status ready = WaitReady(absl::Now() + options.start_timeout);
  if (ready.ok()) return ready;
  // It exited, or never answered: stop it (if running) and report what it said.
  const int wait_status = pid_ > 0 ? KillAndReap(absl::Seconds(2)) : exit_status_;
  const std::string said = output();
  *port_conflict = absl::StrContains(said, "address already in use");
  return absl::Status(
      ready.code(),
      absl::StrCat("etcd did not start: ", ready.message(), " (", DescribeWaitStatus(wait_status),
                   ")\n$ ", absl::StrJoin(argv_, " "), "\n---- etcd output ----\n",
                   said.size() > 16384 ? said.substr(said.size() - 16384) : said,
                   "\n---- end ----"));
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
    if (HasExited(pid_)) {
      exit_status_ = KillAndReap(absl::ZeroDuration());
      return absl::UnavailableError("etcd exited");
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

void EtcdProcess::ReadLoop(int fd) {
  char buf[16384];
  for (;;) {
    pollfd pfd = {fd, POLLIN, 0};
    const int r = poll(&pfd, 1, 100);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) break;
    if (r == 0) {
      // Quiet for 100 ms: once etcd is reaped, whatever it wrote has been read.
      if (reaped_) break;
      continue;
    }
    const ssize_t got = read(fd, buf, sizeof(buf));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;  // EOF: etcd (and anything that inherited the pipe) is gone.
    AppendOutput(buf, static_cast<size_t>(got));
  }
  close(fd);
}

void EtcdProcess::AppendOutput(const char* data, size_t size) {
  std::lock_guard<std::mutex> lock(mu_);
  if (output_head_.size() < kHeadBytes) {
    const size_t n = std::min(size, kHeadBytes - output_head_.size());
    output_head_.append(data, n);
    data += n;
    size -= n;
  }
  output_tail_.append(data, size);
  if (output_tail_.size() > 2 * kTailBytes) {
    const size_t drop = output_tail_.size() - kTailBytes;
    output_tail_.erase(0, drop);
    output_dropped_ += drop;
  }
}

std::string EtcdProcess::output() const {
  std::lock_guard<std::mutex> lock(mu_);
  if (output_dropped_ == 0) return output_head_ + output_tail_;
  return absl::StrCat(output_head_, "\n[... ", output_dropped_, " bytes ...]\n", output_tail_);
}

std::string EtcdProcess::client_url() const { return absl::StrCat("http://", client_target_); }

bool EtcdProcess::Running() const { return pid_ > 0 && !HasExited(pid_); }

int EtcdProcess::KillAndReap(absl::Duration grace) {
  int status = 0;
  if (pid_ > 0) {
    if (grace > absl::ZeroDuration()) {
      kill(pid_, SIGTERM);
      status = ReapWithin(pid_, grace);
    } else {
      status = -1;
    }
    if (status == -1) {
      kill(pid_, SIGKILL);
      status = ReapWithin(pid_, absl::InfiniteDuration());
    }
    pid_ = -1;
  }
  reaped_ = true;
  if (reader_.joinable()) reader_.join();
  return status;
}

absl::Status EtcdProcess::Stop(absl::Duration grace) {
  absl::Status result;
  if (pid_ > 0) {
    const bool crashed = HasExited(pid_);
    const absl::Time start = absl::Now();
    const int status = KillAndReap(crashed ? absl::ZeroDuration() : grace);
    const bool clean_stop = !crashed && ((WIFEXITED(status) && WEXITSTATUS(status) == 0) ||
                                         (WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM));
    if (!clean_stop) {
      const std::string said = output();
      result = absl::InternalError(absl::StrCat(
          crashed ? "etcd had exited before it was stopped"
                  : absl::StrCat("etcd did not stop cleanly on SIGTERM within ",
                                 absl::FormatDuration(absl::Now() - start)),
          " (", DescribeWaitStatus(status), ")\n---- etcd output (end) ----\n",
          said.size() > 16384 ? said.substr(said.size() - 16384) : said, "\n---- end ----"));
    }
  } else if (reader_.joinable()) {
    reaped_ = true;
    reader_.join();
  }
  if (!data_dir_.empty() && !keep_data_dir_) {
    RemoveTree(data_dir_);
    data_dir_.clear();
  }
  return result;
}

EtcdProcess::~EtcdProcess() { (void)Stop(); }

}  // namespace observer::loadgen
