#include "tests/harness/command.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"

extern char** environ;

namespace observer::testing {
namespace {

void CloseIfOpen(int& fd) {
  if (fd >= 0) close(fd);
  fd = -1;
}

// The child's environment: ours, minus the variables `options` sets or removes, plus those it
// sets.
std::vector<std::string> ChildEnvironment(const CommandOptions& options) {
  std::set<std::string> drop(options.unset_env.begin(), options.unset_env.end());
  for (const auto& [name, value] : options.env) drop.insert(name);
  std::vector<std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    absl::string_view entry(*e);
    const size_t eq = entry.find('=');
    const std::string name(entry.substr(0, eq));
    if (drop.count(name) == 0) env.emplace_back(entry);
  }
  for (const auto& [name, value] : options.env) env.push_back(absl::StrCat(name, "=", value));
  return env;
}

// The first and last `max_bytes / 2` bytes of `text` when it is longer than `max_bytes`.
std::string Abridge(const std::string& text, size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  const size_t half = max_bytes / 2;
  return absl::StrCat(text.substr(0, half), "\n[... ", text.size() - 2 * half, " bytes ...]\n",
                      text.substr(text.size() - half));
}

// With a bound (`max_bytes`, CommandOptions::max_output_bytes), replaces the middle of `text`
// once it is longer by a marker counting all that was cut (`*dropped`): the start says how the
// child began, the end what it did last. Cutting down to well below the bound makes the copying
// amortized.
void TrimOutput(size_t max_bytes, std::string* text, size_t* dropped) {
  if (max_bytes == 0 || text->size() <= max_bytes) return;
  const size_t head = max_bytes / 16;
  const size_t tail = max_bytes / 2;
  auto marker = [](size_t n) { return absl::StrCat("\n[... ", n, " bytes ...]\n"); };
  // Between head and tail: bytes not cut yet, and the marker of the previous cut.
  const size_t middle = text->size() - head - tail;
  *dropped += middle - (*dropped == 0 ? 0 : marker(*dropped).size());
  text->replace(head, middle, marker(*dropped));
}

}  // namespace

absl::StatusOr<std::vector<int>> FreeLoopbackPorts(int count) {
  std::vector<int> fds;
  std::vector<int> ports;
  absl::Status status;
  for (int i = 0; i < count && status.ok(); ++i) {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      status = absl::InternalError(absl::StrCat("socket: ", std::strerror(errno)));
      break;
    }
    fds.push_back(fd);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = 0;  // The kernel picks one not bound by anyone, these sockets included.
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(addr);
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length) != 0) {
      status =
          absl::InternalError(absl::StrCat("cannot bind a loopback port: ", std::strerror(errno)));
      break;
    }
    ports.push_back(ntohs(addr.sin_port));
  }
  for (int fd : fds) close(fd);
  if (!status.ok()) return status;
  return ports;
}

absl::StatusOr<int64_t> ResidentBytes(pid_t pid) {
  const std::string path = absl::StrCat("/proc/", pid, "/status");
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::string line;
  while (std::getline(in, line)) {
    absl::string_view rest = line;
    if (!absl::ConsumePrefix(&rest, "VmRSS:")) continue;
    rest = absl::StripAsciiWhitespace(rest);
    const std::vector<absl::string_view> parts = absl::StrSplit(rest, ' ', absl::SkipEmpty());
    int64_t kib = 0;
    if (parts.empty() || !absl::SimpleAtoi(parts[0], &kib)) break;
    return kib * 1024;
  }
  return absl::InternalError(absl::StrCat("no VmRSS line in ", path));
}

absl::StatusOr<int> FreeLoopbackPort() {
  absl::StatusOr<std::vector<int>> ports = FreeLoopbackPorts(1);
  if (!ports.ok()) return ports.status();
  return ports->front();
}

absl::Status SpawnProcess(const std::vector<std::string>& argv, const CommandOptions& options,
                          absl::string_view unknown_binary_message, pid_t* pid, int* stdin_fd,
                          int* stdout_fd, int* stderr_fd) {
  *pid = -1;
  *stdin_fd = *stdout_fd = *stderr_fd = -1;
  if (argv.empty() || argv[0].empty()) {
    return absl::FailedPreconditionError(unknown_binary_message);
  }
  if (access(argv[0].c_str(), X_OK) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot execute ", argv[0], ": ", std::strerror(errno)));
  }
  // The child's ends: stdin, stdout, stderr; the parent's: stdin writer, stdout/stderr readers.
  int child_in = -1, child_out = -1, child_err = -1;
  int parent_in = -1, parent_out = -1, parent_err = -1;
  auto close_all = [&] {
    for (int* fd : {&child_in, &child_out, &child_err, &parent_in, &parent_out, &parent_err}) {
      CloseIfOpen(*fd);
    }
  };
  auto fail = [&](absl::string_view what) {
    const int err = errno;
    close_all();
    return absl::InternalError(absl::StrCat(what, ": ", std::strerror(err)));
  };

  if (options.stdin_data.has_value()) {
    // A socket rather than a pipe: the writer sends with MSG_NOSIGNAL, so a child that exits
    // without reading its input cannot SIGPIPE the test.
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) return fail("socketpair");
    parent_in = sv[0];
    child_in = sv[1];
    shutdown(parent_in, SHUT_RD);
    shutdown(child_in, SHUT_WR);
  } else if (!options.stdin_file.empty()) {
    child_in = open(options.stdin_file.c_str(), O_RDONLY | O_CLOEXEC);
    if (child_in < 0) return fail(absl::StrCat("open ", options.stdin_file));
  } else {
    child_in = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (child_in < 0) return fail("open /dev/null");
  }
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return fail("pipe2");
  parent_out = fds[0];
  child_out = fds[1];
  if (!options.merge_stderr) {
    if (pipe2(fds, O_CLOEXEC) != 0) return fail("pipe2");
    parent_err = fds[0];
    child_err = fds[1];
  }

  // Everything the child needs is prepared before fork(): after it only async-signal-safe calls
  // are allowed (the parent has gRPC threads).
  std::vector<char*> cargv;
  cargv.reserve(argv.size() + 1);
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  const std::vector<std::string> env = ChildEnvironment(options);
  std::vector<char*> cenv;
  cenv.reserve(env.size() + 1);
  for (const auto& e : env) cenv.push_back(const_cast<char*>(e.c_str()));
  cenv.push_back(nullptr);
  const int stderr_target = options.merge_stderr ? child_out : child_err;
  const bool own_group = options.own_process_group;
  const pid_t parent = getpid();
  const bool set_gid = options.run_as_gid.has_value();
  const gid_t gid = options.run_as_gid.value_or(0);
  const bool set_uid = options.run_as_uid.has_value();
  const uid_t uid = options.run_as_uid.value_or(0);

  const pid_t child = fork();
  if (child < 0) return fail("fork");
  if (child == 0) {
    // The group first: after setuid there would be no right to change it.
    if ((set_gid && (setgroups(1, &gid) != 0 || setgid(gid) != 0)) ||
        (set_uid && setuid(uid) != 0)) {
      static const char kIdMsg[] = "harness: cannot change user or group\n";
      ssize_t ignored = write(stderr_target, kIdMsg, sizeof(kIdMsg) - 1);
      (void)ignored;
      _exit(126);
    }
    // Die with the test process, so a crashed test leaves no process behind. After the change
    // of user, which clears this setting.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(126);
    if (own_group) setpgid(0, 0);
    dup2(child_in, 0);
    dup2(child_out, 1);
    dup2(stderr_target, 2);
    execve(cargv[0], cargv.data(), cenv.data());
    static const char kMsg[] = "harness: execve failed\n";
    ssize_t ignored = write(2, kMsg, sizeof(kMsg) - 1);
    (void)ignored;
    _exit(127);
  }
  CloseIfOpen(child_in);
  CloseIfOpen(child_out);
  CloseIfOpen(child_err);
  *pid = child;
  *stdin_fd = parent_in;
  *stdout_fd = parent_out;
  *stderr_fd = parent_err;
  return absl::OkStatus();
}

bool CommandResult::exited() const { return WIFEXITED(wait_status); }
int CommandResult::exit_code() const {
  return WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : -1;
}
int CommandResult::term_signal() const {
  return WIFSIGNALED(wait_status) ? WTERMSIG(wait_status) : 0;
}
std::string CommandResult::DescribeExit() const {
  if (WIFEXITED(wait_status)) return absl::StrCat("exit code ", WEXITSTATUS(wait_status));
  if (WIFSIGNALED(wait_status)) return absl::StrCat("killed by signal ", WTERMSIG(wait_status));
  return absl::StrCat("wait status ", wait_status);
}
std::string CommandResult::Describe(size_t max_bytes) const {
  return absl::StrCat("$ ", absl::StrJoin(argv, " "), "\n", DescribeExit(), " after ",
                      absl::FormatDuration(elapsed), "\n---- stdout (", stdout_text.size(),
                      " bytes) ----\n", Abridge(stdout_text, max_bytes), "\n---- stderr (",
                      stderr_text.size(), " bytes) ----\n", Abridge(stderr_text, max_bytes),
                      "\n---- end ----");
}

CommandProcess::~CommandProcess() {
  if (pid_ > 0) (void)Kill();
  if (reader_.joinable()) reader_.join();
  if (writer_.joinable()) writer_.join();
}

absl::Status CommandProcess::Start(const std::vector<std::string>& argv,
                                   const CommandOptions& options,
                                   absl::string_view unknown_binary_message) {
  if (pid_ > 0) return absl::FailedPreconditionError("already running");
  if (reader_.joinable()) reader_.join();
  if (writer_.joinable()) writer_.join();
  {
    std::lock_guard<std::mutex> lock(mu_);
    stdout_.clear();
    stderr_.clear();
    stdout_dropped_ = stderr_dropped_ = 0;
    eof_ = false;
  }
  max_output_bytes_ = options.max_output_bytes;
  argv_ = argv;
  group_ = options.own_process_group;
  stop_reading_ = false;
  int in_fd = -1, out_fd = -1, err_fd = -1;
  if (absl::Status s =
          SpawnProcess(argv, options, unknown_binary_message, &pid_, &in_fd, &out_fd, &err_fd);
      !s.ok()) {
    pid_ = -1;
    return s;
  }
  start_ = absl::Now();
  if (group_) setpgid(pid_, pid_);  // Also here: no race with a Kill right after Start.
  reader_ = std::thread([this, out_fd, err_fd] { ReadLoop(out_fd, err_fd); });
  if (in_fd >= 0) {
    writer_ = std::thread([in_fd, data = *options.stdin_data] {
      size_t done = 0;
      while (done < data.size()) {
        const ssize_t n = send(in_fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;  // The child closed its stdin (or exited).
        done += static_cast<size_t>(n);
      }
      close(in_fd);
    });
  }
  return absl::OkStatus();
}

void CommandProcess::ReadLoop(int out_fd, int err_fd) {
  char buf[8192];
  int fds[2] = {out_fd, err_fd};
  std::string* sinks[2] = {&stdout_, &stderr_};
  size_t* dropped[2] = {&stdout_dropped_, &stderr_dropped_};
  for (;;) {
    pollfd pfds[2];
    nfds_t n = 0;
    int which[2];
    for (int i = 0; i < 2; ++i) {
      if (fds[i] < 0) continue;
      pfds[n].fd = fds[i];
      pfds[n].events = POLLIN;
      pfds[n].revents = 0;
      which[n] = i;
      ++n;
    }
    if (n == 0) break;
    if (stop_reading_) {
      for (int& fd : fds) CloseIfOpen(fd);
      break;
    }
    const int r = poll(pfds, n, 100);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) break;
    for (nfds_t k = 0; k < n; ++k) {
      if (pfds[k].revents == 0) continue;
      const int i = which[k];
      const ssize_t got = read(fds[i], buf, sizeof(buf));
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) {
        close(fds[i]);
        fds[i] = -1;
        continue;
      }
      std::lock_guard<std::mutex> lock(mu_);
      sinks[i]->append(buf, static_cast<size_t>(got));
      TrimOutput(max_output_bytes_, sinks[i], dropped[i]);
      cv_.notify_all();
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  eof_ = true;
  cv_.notify_all();
}

absl::StatusOr<CommandResult> CommandProcess::Reap(int wait_status) {
  const pid_t pid = pid_;
  pid_ = -1;
  CommandResult result;
  result.argv = argv_;
  result.wait_status = wait_status;
  result.elapsed = absl::Now() - start_;
  // The output is complete once the pipes are closed, which is at the exit unless the process
  // left a child of its own holding them.
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (!cv_.wait_for(lock, std::chrono::seconds(10), [this] { return eof_; })) {
      lock.unlock();
      if (group_) kill(-pid, SIGKILL);  // What is left of its process group.
      stop_reading_ = true;
      if (reader_.joinable()) reader_.join();
      if (writer_.joinable()) writer_.join();
      return absl::DeadlineExceededError(
          absl::StrCat(absl::StrJoin(argv_, " "),
                       " exited but its output stayed open (a process it started still runs)"));
    }
  }
  if (reader_.joinable()) reader_.join();
  if (writer_.joinable()) writer_.join();
  std::lock_guard<std::mutex> lock(mu_);
  result.stdout_text = stdout_;
  result.stderr_text = stderr_;
  return result;
}

absl::StatusOr<CommandResult> CommandProcess::Wait(absl::Duration timeout) {
  if (pid_ <= 0) return absl::FailedPreconditionError("not running");
  const absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    int st = 0;
    const pid_t r = waitpid(pid_, &st, WNOHANG);
    if (r == pid_) return Reap(st);
    if (r < 0 && errno != EINTR) {
      pid_ = -1;
      return absl::InternalError(absl::StrCat("waitpid: ", std::strerror(errno)));
    }
    if (absl::Now() >= deadline) break;
    absl::SleepFor(absl::Milliseconds(5));
  }
  absl::StatusOr<CommandResult> killed = Kill();
  std::string output = killed.ok() ? killed->Describe() : std::string(killed.status().message());
  return absl::DeadlineExceededError(
      absl::StrCat(absl::StrJoin(argv_, " "), " did not exit within ",
                   absl::FormatDuration(timeout), " and was killed:\n", output));
}

bool ChildHasExited(pid_t pid) {
  siginfo_t info = {};
  int r;
  do {
    r = waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT);
  } while (r != 0 && errno == EINTR);
  if (r != 0) return true;  // Not (or no longer) our child: not running either way.
  return info.si_pid == pid;
}

bool CommandProcess::Exited() { return pid_ > 0 && ChildHasExited(pid_); }

absl::StatusOr<CommandResult> CommandProcess::Kill() {
  if (pid_ <= 0) return absl::FailedPreconditionError("not running");
  kill(group_ ? -pid_ : pid_, SIGKILL);
  int st = 0;
  for (;;) {
    const pid_t r = waitpid(pid_, &st, 0);
    if (r == pid_) break;
    if (r < 0 && errno != EINTR) {
      pid_ = -1;
      return absl::InternalError(absl::StrCat("waitpid: ", std::strerror(errno)));
    }
  }
  return Reap(st);
}

absl::Status CommandProcess::Signal(int signal) {
  if (pid_ <= 0) return absl::FailedPreconditionError("not running");
  if (kill(pid_, signal) != 0) {
    return absl::InternalError(absl::StrCat("kill: ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

std::string CommandProcess::stdout_so_far() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stdout_;
}

std::string CommandProcess::stderr_so_far() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stderr_;
}

bool CommandProcess::WaitForStdout(absl::string_view needle, absl::Duration timeout) const {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, absl::ToChronoMilliseconds(timeout),
               [&] { return eof_ || absl::StrContains(stdout_, needle); });
  return absl::StrContains(stdout_, needle);
}

absl::StatusOr<CommandResult> RunCommand(const std::vector<std::string>& argv,
                                         const CommandOptions& options) {
  CommandProcess process;
  if (absl::Status s = process.Start(argv, options); !s.ok()) return s;
  return process.Wait(options.timeout);
}

}  // namespace observer::testing
