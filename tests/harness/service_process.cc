#include "tests/harness/service_process.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <optional>
#include <regex>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "tests/harness/command.h"

namespace observer::testing {
namespace {

// Forks and execs argv with stdin from /dev/null and stdout+stderr going to a new pipe; returns
// the read end.
absl::Status Spawn(const std::vector<std::string>& argv, absl::string_view unknown_binary_message,
                   pid_t* pid, int* read_fd) {
  CommandOptions options;
  options.merge_stderr = true;
  options.own_process_group = false;
  int stdin_fd = -1, stderr_fd = -1;
  return SpawnProcess(argv, options, unknown_binary_message, pid, &stdin_fd, read_fd, &stderr_fd);
}

// From the "serving" line: the value of `field` ("grpc_address", "metrics_address").
std::optional<std::string> ParseServingField(const std::string& line, const std::string& field) {
  static const std::regex kServing(R"re("msg"\s*:\s*"serving")re");
  if (!std::regex_search(line, kServing)) return std::nullopt;
  const std::regex value("\"" + field + R"re("\s*:\s*"([^"]*)")re");
  std::smatch m;
  if (!std::regex_search(line, m, value)) return std::nullopt;
  return m[1].str();
}

int PortOf(const std::string& address) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos) return 0;
  return std::atoi(address.c_str() + colon + 1);
}

}  // namespace

bool ExitResult::exited() const { return WIFEXITED(wait_status); }
int ExitResult::exit_code() const { return WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : -1; }
int ExitResult::term_signal() const { return WIFSIGNALED(wait_status) ? WTERMSIG(wait_status) : 0; }
std::string ExitResult::Describe() const {
  if (WIFEXITED(wait_status)) return absl::StrCat("exit code ", WEXITSTATUS(wait_status));
  if (WIFSIGNALED(wait_status)) return absl::StrCat("killed by signal ", WTERMSIG(wait_status));
  return absl::StrCat("wait status ", wait_status);
}

absl::StatusOr<ExitResult> RunToExit(const std::vector<std::string>& argv, absl::Duration timeout) {
  CommandOptions options;
  options.merge_stderr = true;
  options.timeout = timeout;
  absl::StatusOr<CommandResult> run = RunCommand(argv, options);
  if (!run.ok()) return run.status();
  ExitResult result;
  result.wait_status = run->wait_status;
  result.output = std::move(run->stdout_text);
  return result;
}

std::string BinaryPath(const char* env_var, const char* compiled_path) {
  if (const char* env = std::getenv(env_var); env != nullptr && *env != '\0') return env;
  return compiled_path;
}

bool PollUntil(const std::function<bool()>& done, absl::Duration timeout, absl::Duration interval) {
  const absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    if (done()) return true;
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(std::min(interval, std::max(deadline - absl::Now(), absl::ZeroDuration())));
  }
}

ServiceProcess::ServiceProcess(std::string name, std::string binary, std::string binary_hint,
                               std::function<std::vector<std::string>()> args)
    : name_(std::move(name)),
      binary_(std::move(binary)),
      binary_hint_(std::move(binary_hint)),
      args_(std::move(args)) {}

ServiceProcess::~ServiceProcess() {
  if (pid_ > 0) (void)Kill();
  if (reader_.joinable()) reader_.join();
}

std::vector<std::string> ServiceProcess::ArgvFor(int port) const {
  // Metrics on a free port too, so that parallel tests never collide on the default one.
  std::vector<std::string> argv = {binary_, "--listen", absl::StrCat("127.0.0.1:", port),
                                   "--metrics-listen", "127.0.0.1:0"};
  std::vector<std::string> rest = args_();
  // Plaintext on loopback unless the test gives the service its certificates.
  if (std::find(rest.begin(), rest.end(), "--tls-cert") == rest.end()) {
    argv.push_back("--insecure-loopback");
  }
  argv.insert(argv.end(), rest.begin(), rest.end());
  return argv;
}

std::vector<std::string> ServiceProcess::argv() const { return ArgvFor(0); }

void ServiceProcess::ReaderLoop(int fd) {
  char buf[4096];
  std::string pending;
  for (;;) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    std::lock_guard<std::mutex> lock(mu_);
    output_.append(buf, static_cast<size_t>(n));
    pending.append(buf, static_cast<size_t>(n));
    size_t pos;
    while ((pos = pending.find('\n')) != std::string::npos) {
      std::string line = pending.substr(0, pos);
      pending.erase(0, pos + 1);
      if (serving_address_.empty()) {
        if (auto addr = ParseServingField(line, "grpc_address")) {
          serving_address_ = *addr;
          serving_metrics_address_ = ParseServingField(line, "metrics_address").value_or("");
        }
      }
    }
    cv_.notify_all();  // For Start and WaitForOutput.
  }
  close(fd);
  std::lock_guard<std::mutex> lock(mu_);
  eof_ = true;
  cv_.notify_all();
}

absl::Status ServiceProcess::Start(absl::Duration timeout) { return StartOnce(0, timeout); }

absl::Status ServiceProcess::StartOnPort(int port, absl::Duration timeout) {
  if (port <= 0) return absl::InvalidArgumentError(absl::StrCat("port ", port));
  // The port was free a moment ago; if another process took it meanwhile, or the kernel still
  // holds it, retry for a little while.
  const absl::Time give_up = absl::Now() + absl::Seconds(5);
  for (;;) {
    absl::Status s = StartOnce(port, timeout);
    if (s.ok() || absl::Now() > give_up || !absl::StrContains(s.message(), "cannot listen")) {
      return s;
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
}

absl::Status ServiceProcess::StartOnce(int port, absl::Duration timeout) {
  if (pid_ > 0) return absl::FailedPreconditionError(absl::StrCat(name_, " already running"));
  if (reader_.joinable()) reader_.join();
  std::vector<std::string> args = ArgvFor(port);
  size_t run_start;
  {
    std::lock_guard<std::mutex> lock(mu_);
    serving_address_.clear();
    eof_ = false;
    absl::StrAppend(&output_, "==== run ", ++runs_, ": ", absl::StrJoin(args, " "), "\n");
    run_start = output_.size();
  }
  int fd = -1;
  paused_ = false;
  if (absl::Status s = Spawn(args,
                             absl::StrCat(name_, " binary unknown: build the ", name_,
                                          " target or set ", binary_hint_),
                             &pid_, &fd);
      !s.ok()) {
    pid_ = -1;
    return s;
  }
  reader_ = std::thread([this, fd] { ReaderLoop(fd); });

  std::unique_lock<std::mutex> lock(mu_);
  bool ready = cv_.wait_for(lock, absl::ToChronoMilliseconds(timeout),
                            [this] { return !serving_address_.empty() || eof_; });
  if (!serving_address_.empty()) {
    address_ = serving_address_;
    metrics_address_ = serving_metrics_address_;
    port_ = PortOf(address_);
    return absl::OkStatus();
  }
  lock.unlock();
  // Not serving: it exited (or closed its output), or it is too slow. Either way, a failure.
  absl::StatusOr<ExitResult> exit = WaitExit(ready ? absl::Seconds(5) : absl::ZeroDuration());
  std::string how = exit.ok() ? exit->Describe() : "did not exit; killed";
  if (!exit.ok()) (void)Kill();
  std::string run_output;
  {
    std::lock_guard<std::mutex> output_lock(mu_);
    run_output = output_.substr(std::min(run_start, output_.size()));
  }
  return absl::UnavailableError(absl::StrCat(
      name_, " did not report \"msg\":\"serving\" ",
      ready ? "before closing its output" : absl::StrCat("within ", absl::FormatDuration(timeout)),
      " (", how, "); output of this run:\n", run_output));
}

absl::StatusOr<ExitResult> ServiceProcess::WaitExit(absl::Duration timeout) {
  if (pid_ <= 0) return absl::FailedPreconditionError(absl::StrCat(name_, " not running"));
  absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    int st = 0;
    pid_t r = waitpid(pid_, &st, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      paused_ = false;
      if (reader_.joinable()) reader_.join();
      ExitResult result;
      result.wait_status = st;
      result.output = output();
      return result;
    }
    if (r < 0 && errno != EINTR) {
      pid_ = -1;
      return absl::InternalError(absl::StrCat("waitpid: ", std::strerror(errno)));
    }
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          name_, " (pid ", pid_, ") did not exit within ", absl::FormatDuration(timeout)));
    }
    absl::SleepFor(absl::Milliseconds(5));
  }
}

bool ServiceProcess::exited() const { return pid_ > 0 && ChildHasExited(pid_); }

bool ServiceProcess::WaitForExit(absl::Duration timeout) const {
  if (pid_ <= 0) return false;
  return PollUntil([this] { return exited(); }, timeout, absl::Milliseconds(5));
}

absl::StatusOr<ExitResult> ServiceProcess::Stop(absl::Duration timeout) {
  if (pid_ <= 0) return absl::FailedPreconditionError(absl::StrCat(name_, " not running"));
  kill(pid_, SIGTERM);
  if (paused_) {
    kill(pid_, SIGCONT);  // A stopped process acts on SIGTERM only once it runs again.
    paused_ = false;
  }
  absl::StatusOr<ExitResult> r = WaitExit(timeout);
  if (!r.ok()) {
    (void)Kill();
    return absl::DeadlineExceededError(absl::StrCat(
        r.status().message(), " after SIGTERM (then killed); output:\n", output_tail()));
  }
  return r;
}

absl::StatusOr<ExitResult> ServiceProcess::Kill() {
  if (pid_ <= 0) return absl::FailedPreconditionError(absl::StrCat(name_, " not running"));
  kill(pid_, SIGKILL);  // Also ends a stopped process.
  return WaitExit(absl::Seconds(20));
}

absl::Status ServiceProcess::Restart(bool keep_port) {
  const int port = port_;
  if (pid_ > 0) {
    absl::StatusOr<ExitResult> r = Stop();
    if (!r.ok()) return r.status();
  }
  if (keep_port && port > 0) return StartOnPort(port);
  return Start();
}

absl::Status ServiceProcess::Pause() {
  if (pid_ <= 0) return absl::FailedPreconditionError(absl::StrCat(name_, " not running"));
  if (kill(pid_, SIGSTOP) != 0) {
    return absl::InternalError(absl::StrCat("kill(SIGSTOP): ", std::strerror(errno)));
  }
  // SIGSTOP is delivered asynchronously: wait until the kernel reports the process stopped.
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  for (;;) {
    int st = 0;
    pid_t r = waitpid(pid_, &st, WNOHANG | WUNTRACED);
    if (r == pid_ && WIFSTOPPED(st)) break;
    if (r == pid_) {
      pid_ = -1;
      if (reader_.joinable()) reader_.join();
      return absl::InternalError(absl::StrCat(name_, " ended instead of stopping"));
    }
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(absl::StrCat(name_, " did not stop after SIGSTOP"));
    }
    absl::SleepFor(absl::Milliseconds(2));
  }
  paused_ = true;
  return absl::OkStatus();
}

absl::Status ServiceProcess::Resume() {
  if (pid_ <= 0) return absl::FailedPreconditionError(absl::StrCat(name_, " not running"));
  if (kill(pid_, SIGCONT) != 0) {
    return absl::InternalError(absl::StrCat("kill(SIGCONT): ", std::strerror(errno)));
  }
  paused_ = false;
  return absl::OkStatus();
}

std::shared_ptr<grpc::Channel> ServiceProcess::channel() const {
  grpc::ChannelArguments args;
  // Each channel gets its own connection, so tests do not share one HTTP/2 connection by
  // accident through the global subchannel pool.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel(address_, grpc::InsecureChannelCredentials(), args);
}

std::string ServiceProcess::output() const {
  std::lock_guard<std::mutex> lock(mu_);
  return output_;
}

std::string ServiceProcess::output_tail(size_t max_bytes) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (output_.size() <= max_bytes) return output_;
  return "...\n" + output_.substr(output_.size() - max_bytes);
}

namespace {
int CountOccurrences(const std::string& haystack, absl::string_view needle) {
  if (needle.empty()) return 0;
  int n = 0;
  for (size_t pos = haystack.find(needle.data(), 0, needle.size()); pos != std::string::npos;
       pos = haystack.find(needle.data(), pos + needle.size(), needle.size())) {
    ++n;
  }
  return n;
}
}  // namespace

int ServiceProcess::CountInOutput(absl::string_view needle) const {
  std::lock_guard<std::mutex> lock(mu_);
  return CountOccurrences(output_, needle);
}

bool ServiceProcess::WaitForOutput(absl::string_view needle, int count,
                                   absl::Duration timeout) const {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, absl::ToChronoMilliseconds(timeout),
                      [&] { return CountOccurrences(output_, needle) >= count; });
}

void PrintOutputTails(std::initializer_list<const ServiceProcess*> processes, size_t max_bytes) {
  for (const ServiceProcess* p : processes) {
    if (p == nullptr) continue;
    std::cerr << "---- " << p->name() << " output (tail) ----\n"
              << p->output_tail(max_bytes) << "\n---- end of " << p->name() << " output ----\n";
  }
}

}  // namespace observer::testing
