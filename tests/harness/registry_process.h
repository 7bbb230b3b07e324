// Runs the real `registry-service` binary as a child process for black-box tests.
//
//   TempDir dir;
//   RegistryProcess server(dir.path());
//   ASSERT_OK(server.Start());
//   RegistryClient client(server.channel());
//   ...
//   server.Kill();     // SIGKILL: a crash
//   ASSERT_OK(server.Start());  // same store, new port
//
// The server is started with `--listen 127.0.0.1:0 --store sqlite://<dir>/registry.db` plus
// any extra flags; readiness is the JSON line on stderr with "msg":"serving", from which the
// bound address ("grpc_address") is read. Every wait is bounded, so a broken server fails the
// test instead of hanging it. Everything the process writes to stderr/stdout is kept for
// failure messages.
#ifndef OBSERVER_TESTS_HARNESS_REGISTRY_PROCESS_H_
#define OBSERVER_TESTS_HARNESS_REGISTRY_PROCESS_H_

#include <grpcpp/channel.h>
#include <sys/types.h>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace observer::testing {

// Path of the registry-service binary: $REGISTRY_SERVICE_BINARY if set, else the path CMake
// compiled in, else "" (tests then fail with a clear message).
std::string RegistryServiceBinary();

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
// error returned.
absl::StatusOr<ExitResult> RunToExit(const std::vector<std::string>& argv, absl::Duration timeout);

class RegistryProcess {
 public:
  // `store_dir` holds registry.db; `extra_args` are appended to every start.
  RegistryProcess(std::string store_dir, std::vector<std::string> extra_args = {});
  ~RegistryProcess();  // Kills the process if still running.
  RegistryProcess(const RegistryProcess&) = delete;
  RegistryProcess& operator=(const RegistryProcess&) = delete;

  // Spawns the server and waits until it serves (or exits, or the timeout passes).
  absl::Status Start(absl::Duration timeout = absl::Seconds(30));
  // SIGTERM and wait for the exit; returns the wait status. Error if it does not exit in time
  // (it is then killed).
  absl::StatusOr<ExitResult> Stop(absl::Duration timeout = absl::Seconds(20));
  // SIGKILL and reap.
  absl::StatusOr<ExitResult> Kill();
  // Stop (SIGTERM) then Start on the same store.
  absl::Status Restart();

  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  // "127.0.0.1:<port>" of the current run.
  const std::string& address() const { return address_; }
  // A fresh insecure channel to the current run.
  std::shared_ptr<grpc::Channel> channel() const;
  const std::string& store_uri() const { return store_uri_; }
  std::vector<std::string> argv() const;
  // Everything the process(es) wrote so far, all runs, with a header per run.
  std::string output() const;
  // The tail of output() (for failure messages).
  std::string output_tail(size_t max_bytes = 16000) const;

 private:
  void ReaderLoop(int fd);
  absl::StatusOr<ExitResult> WaitExit(absl::Duration timeout);

  std::string store_dir_;
  std::string store_uri_;
  std::vector<std::string> extra_args_;
  pid_t pid_ = -1;
  std::string address_;
  std::thread reader_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::string output_;           // Guarded by mu_.
  std::string serving_address_;  // Guarded by mu_; set when the serving line is seen.
  bool eof_ = false;             // Guarded by mu_.
  int runs_ = 0;
};

}  // namespace observer::testing

#endif  // OBSERVER_TESTS_HARNESS_REGISTRY_PROCESS_H_
