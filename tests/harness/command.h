// Runs a command-line program (e.g. observerctl) as a child process for black-box tests: its
// stdin from a string or a file, extra environment variables, stdout and stderr captured
// separately (or together), every run bounded by a timeout (on timeout the process is killed and
// the run is an error, so a hanging program fails the test instead of hanging it).
//
//   ASSERT_OK_AND_ASSIGN(CommandResult r, RunCommand({binary, "election", "list"}));
//   EXPECT_EQ(r.exit_code(), 0) << r.Describe();
//
//   CommandProcess watch;                       // Or in the background:
//   ASSERT_OK(watch.Start({binary, "watch", "--limit", "1"}));
//   ... write something ...
//   ASSERT_OK_AND_ASSIGN(CommandResult r, watch.Wait(absl::Seconds(10)));
//
// This is also the fork/exec machinery of ServiceProcess and RunToExit (service_process.h), and
// of the benchmarks' servers and etcd (tools/bench, tools/loadgen/etcd): no test framework here.
// Processes must be started from the test's main thread (or from a thread that outlives them):
// a child dies with the thread that forked it (PR_SET_PDEATHSIG), so a crashed test leaves no
// process behind.
#ifndef OBSERVER_TESTS_HARNESS_COMMAND_H_
#define OBSERVER_TESTS_HARNESS_COMMAND_H_

#include <sys/types.h>

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace observer::testing {

struct CommandOptions {
  // What the child reads on stdin: `stdin_data` if set, else the file `stdin_file` if not
  // empty, else /dev/null.
  std::optional<std::string> stdin_data;
  std::string stdin_file;
  // Environment: the test's own, with these variables set (replacing any of the same name) ...
  std::vector<std::pair<std::string, std::string>> env;
  // ... and these removed.
  std::vector<std::string> unset_env;
  // stderr goes to the stdout pipe (interleaved as written); CommandResult::stderr_text is then
  // empty.
  bool merge_stderr = false;
  // The child leads a new process group, and Kill (and a timeout) end the whole group: a
  // program that started processes of its own cannot leave them holding the output pipes.
  bool own_process_group = true;
  // RunCommand kills the process after this long and returns DEADLINE_EXCEEDED.
  absl::Duration timeout = absl::Seconds(60);
  // What is kept of each output stream (0: all of it), for a child that may log without end
  // (a server under load): past it, the first sixteenth and the latest half of it, with
  // "[... N bytes ...]" where the rest was. A few KiB at least.
  size_t max_output_bytes = 0;
  // Runs the child as this user and group (its only group), set before exec: for a server that
  // refuses to run as root (PostgreSQL) started by a test running as root. Unset: as the test.
  std::optional<uid_t> run_as_uid;
  std::optional<gid_t> run_as_gid;
};

// The result of running a process to completion.
struct CommandResult {
  std::vector<std::string> argv;
  int wait_status = 0;      // As from waitpid.
  std::string stdout_text;  // With merge_stderr: stdout and stderr interleaved.
  std::string stderr_text;
  absl::Duration elapsed;  // From start to exit.

  bool exited() const;
  int exit_code() const;    // -1 if it did not exit normally.
  int term_signal() const;  // 0 if not killed by a signal.
  // "exit code 2" / "killed by signal 9".
  std::string DescribeExit() const;
  // The command line, how it ended, how long it took, and its stdout and stderr (each cut to
  // `max_bytes`, keeping head and tail): for failure messages.
  std::string Describe(size_t max_bytes = 8000) const;
};

// A child process started in the background; its output is read by a background thread.
class CommandProcess {
 public:
  CommandProcess() = default;
  ~CommandProcess();  // Kills the process if still running.
  CommandProcess(const CommandProcess&) = delete;
  CommandProcess& operator=(const CommandProcess&) = delete;

  // Starts argv (argv[0] is the binary path). `options.timeout` is not used here: see Wait.
  // `unknown_binary_message` is the error when argv[0] is empty.
  absl::Status Start(const std::vector<std::string>& argv, const CommandOptions& options = {},
                     absl::string_view unknown_binary_message = "binary unknown");

  // Waits until the process exits and its output is read; on timeout the process is killed and
  // DEADLINE_EXCEEDED returned (with the output so far in the message).
  absl::StatusOr<CommandResult> Wait(absl::Duration timeout);
  // Whether the process has exited (without reaping it: Wait does). False if not running.
  bool Exited();
  // SIGKILL (to the process group, with own_process_group) and reap; the result as Wait gives
  // it.
  absl::StatusOr<CommandResult> Kill();
  // Sends `signal` (e.g. SIGINT).
  absl::Status Signal(int signal);

  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  // What the process wrote so far.
  std::string stdout_so_far() const;
  std::string stderr_so_far() const;
  // Waits until stdout contains `needle` (true), or the process closed its output, or the
  // timeout passed (false).
  bool WaitForStdout(absl::string_view needle, absl::Duration timeout) const;

 private:
  void ReadLoop(int out_fd, int err_fd);
  absl::StatusOr<CommandResult> Reap(int wait_status);

  std::vector<std::string> argv_;
  pid_t pid_ = -1;
  absl::Time start_;
  std::thread reader_;
  std::thread writer_;  // Feeds stdin_data.
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::string stdout_;  // Guarded by mu_.
  std::string stderr_;  // Guarded by mu_.
  bool eof_ = false;    // Guarded by mu_.
  bool group_ = false;  // The child leads its own process group.
  std::atomic<bool> stop_reading_{false};
  size_t max_output_bytes_ = 0;
  size_t stdout_dropped_ = 0;  // Guarded by mu_: bytes cut from stdout_ (max_output_bytes).
  size_t stderr_dropped_ = 0;  // Guarded by mu_.
};

// Starts `argv` and waits for it up to `options.timeout`: DEADLINE_EXCEEDED (after killing it)
// if it runs longer; FAILED_PRECONDITION if the binary cannot be executed.
absl::StatusOr<CommandResult> RunCommand(const std::vector<std::string>& argv,
                                         const CommandOptions& options = {});

// Whether the child `pid` (not yet reaped) has ended: waitid(WNOWAIT) leaves it a zombie, so
// the pid cannot be reused before its owner reaps it. True also if it is no child (any more).
bool ChildHasExited(pid_t pid);

// `count` distinct TCP ports on 127.0.0.1 that were free a moment ago (bound all at once, so
// they differ), for a child that takes its ports on its command line. Someone may take one before
// the child binds it: the caller retries with new ports when the child says so.
absl::StatusOr<std::vector<int>> FreeLoopbackPorts(int count);
absl::StatusOr<int> FreeLoopbackPort();

// Resident memory of process `pid` (VmRSS of /proc/PID/status), in bytes.
absl::StatusOr<int64_t> ResidentBytes(pid_t pid);

// The raw spawn that ServiceProcess and CommandProcess share: forks and execs argv with stdin
// as `options` says, stdout (and stderr, if `options.merge_stderr`) into a new pipe whose read
// end is `*stdout_fd`, stderr otherwise into another pipe (`*stderr_fd`, else -1). With
// `options.stdin_data`, `*stdin_fd` is the write end of the child's stdin (a socket: write with
// MSG_NOSIGNAL), else -1. The caller closes the fds and reaps the child.
absl::Status SpawnProcess(const std::vector<std::string>& argv, const CommandOptions& options,
                          absl::string_view unknown_binary_message, pid_t* pid, int* stdin_fd,
                          int* stdout_fd, int* stderr_fd);

}  // namespace observer::testing

#endif  // OBSERVER_TESTS_HARNESS_COMMAND_H_
