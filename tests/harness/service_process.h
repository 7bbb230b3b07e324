// Runs one of the service binaries (registry-service, stats-service) as a child process for
// black-box tests.
//
// Each start runs `<binary> --listen 127.0.0.1:<port> <args...>` (port 0 unless a fixed port is
// asked for); readiness is the JSON line on stderr with "msg":"serving", from which the bound
// address ("grpc_address") is read (see common/grpc_server.cc). Every wait is bounded, so a
// broken server fails the test instead of hanging it. Everything the process writes to
// stderr/stdout is kept, over all runs, for assertions and failure messages.
//
// The fork/exec is SpawnProcess (command.h), shared with RunCommand and RunToExit.
//
// Processes must be started from the test's main thread: a child dies with the thread that
// forked it (PR_SET_PDEATHSIG), so a crashed test leaves no server behind.
#ifndef OBSERVER_TESTS_HARNESS_SERVICE_PROCESS_H_
#define OBSERVER_TESTS_HARNESS_SERVICE_PROCESS_H_

#include <grpcpp/channel.h>
#include <sys/types.h>

#include <condition_variable>
#include <functional>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace observer::testing {

// The result of running a process to completion.
struct ExitResult {
  int wait_status = 0;  // As from waitpid.
  std::string output;   // stderr and stdout, interleaved.
  bool exited() const;
  int exit_code() const;    // -1 if it did not exit normally.
  int term_signal() const;  // 0 if not killed by a signal.
  std::string Describe() const;
};

// Runs `argv` (argv[0] is the binary path) with a time limit; on timeout it is killed and an
// error returned. RunCommand (command.h) with stdout and stderr interleaved.
absl::StatusOr<ExitResult> RunToExit(const std::vector<std::string>& argv, absl::Duration timeout);

// A binary under test: the environment variable `env_var` if set (to test another build),
// else the path CMake compiled in ("" if none).
std::string BinaryPath(const char* env_var, const char* compiled_path);

// Polls `done` every `interval` until it returns true (true) or `timeout` passes (false, after
// one last try).
bool PollUntil(const std::function<bool()>& done, absl::Duration timeout,
               absl::Duration interval = absl::Milliseconds(20));

class ServiceProcess {
 public:
  // `name` is used in messages (e.g. "stats-service"); `binary` is the executable ("" gives a
  // clear error on Start mentioning `binary_hint`, e.g. how to set the path); `args` builds the
  // arguments that follow `--listen ADDRESS`, once per start.
  ServiceProcess(std::string name, std::string binary, std::string binary_hint,
                 std::function<std::vector<std::string>()> args);
  virtual ~ServiceProcess();  // Kills the process if still running.
  ServiceProcess(const ServiceProcess&) = delete;
  ServiceProcess& operator=(const ServiceProcess&) = delete;

  // Spawns the server on a new port (port 0) and waits until it serves (or exits, or the
  // timeout passes).
  absl::Status Start(absl::Duration timeout = absl::Seconds(30));
  // Like Start, on a fixed port (e.g. port() of the previous run, which clients are configured
  // with). Retries for a few seconds while the port cannot be bound.
  absl::Status StartOnPort(int port, absl::Duration timeout = absl::Seconds(30));
  // SIGTERM (and SIGCONT if paused) and wait for the exit. Error if it does not exit in time
  // (it is then killed).
  absl::StatusOr<ExitResult> Stop(absl::Duration timeout = absl::Seconds(20));
  // SIGKILL and reap.
  absl::StatusOr<ExitResult> Kill();
  // Stop (SIGTERM) if running, then start again: on the previous port if `keep_port`, else on a
  // new one.
  absl::Status Restart(bool keep_port = false);
  // SIGSTOP / SIGCONT: the process is frozen (its sockets stay open) until resumed.
  absl::Status Pause();
  absl::Status Resume();

  bool running() const { return pid_ > 0; }
  // The process has ended by itself (a zombie not yet reaped by Stop/Kill, which then report
  // its exit status); false when not running. Observed with waitid(WNOWAIT), so the pid cannot
  // be reused meanwhile.
  bool exited() const;
  // Polls exited() until it is true (true) or `timeout` passes (false); false at once when not
  // running. The process is left unreaped.
  bool WaitForExit(absl::Duration timeout) const;
  bool paused() const { return paused_; }
  pid_t pid() const { return pid_; }
  const std::string& name() const { return name_; }
  // "127.0.0.1:<port>" of the current (or last) run.
  const std::string& address() const { return address_; }
  // "127.0.0.1:<port>" of the current run's /metrics endpoint.
  const std::string& metrics_address() const { return metrics_address_; }
  // The port of the current (or last) run; 0 before the first start.
  int port() const { return port_; }
  // A fresh insecure channel to the current run (its own connection).
  std::shared_ptr<grpc::Channel> channel() const;
  // The command line of the next start on a new port.
  std::vector<std::string> argv() const;
  // Everything the process(es) wrote so far, all runs, with a header per run.
  std::string output() const;
  // The tail of output() (for failure messages).
  std::string output_tail(size_t max_bytes = 16000) const;
  // How often `needle` occurs in output() (all runs).
  int CountInOutput(absl::string_view needle) const;
  // Waits until `needle` occurs at least `count` times in output(); false on timeout.
  bool WaitForOutput(absl::string_view needle, int count, absl::Duration timeout) const;

 private:
  std::vector<std::string> ArgvFor(int port) const;
  absl::Status StartOnce(int port, absl::Duration timeout);
  void ReaderLoop(int fd);
  absl::StatusOr<ExitResult> WaitExit(absl::Duration timeout);

  const std::string name_;
  const std::string binary_;
  const std::string binary_hint_;
  const std::function<std::vector<std::string>()> args_;
  pid_t pid_ = -1;
  bool paused_ = false;
  std::string address_;
  std::string metrics_address_;
  int port_ = 0;
  std::thread reader_;
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::string output_;                   // Guarded by mu_.
  std::string serving_address_;          // Guarded by mu_; set when the serving line is seen.
  std::string serving_metrics_address_;  // Guarded by mu_; from the same line.
  bool eof_ = false;                     // Guarded by mu_.
  int runs_ = 0;
};

// For a failed test: the tail of each process's output (null entries are skipped) on stderr.
void PrintOutputTails(std::initializer_list<const ServiceProcess*> processes,
                      size_t max_bytes = 24000);

}  // namespace observer::testing

#endif  // OBSERVER_TESTS_HARNESS_SERVICE_PROCESS_H_
