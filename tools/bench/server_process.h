// A server the benchmark suite starts on loopback: registry-service, stats-service or the echo
// server. The services run with `--log-level warning` (no per-call lines), which also drops the
// "serving" line the test harness's ServiceProcess waits for, so readiness here is the gRPC
// health service answering: the suite picks a free port (bind to port 0, read it, release it:
// testing::FreeLoopbackPort), starts the server on it, and polls. Output (warnings and errors
// only) is kept for messages.
//
// Processes must be started from the main thread: a child dies with the thread that forked it
// (PR_SET_PDEATHSIG, tests/harness/command.h), so an interrupted run leaves none behind.
#ifndef OBSERVER_TOOLS_BENCH_SERVER_PROCESS_H_
#define OBSERVER_TOOLS_BENCH_SERVER_PROCESS_H_

#include <grpcpp/channel.h>
#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tests/harness/command.h"

namespace observer::bench {

class ServerProcess {
 public:
  // `args(address)` gives the arguments after the binary for a run listening on `address`
  // ("127.0.0.1:PORT"), so that each start can use a new port.
  ServerProcess(std::string name, std::string binary,
                std::function<std::vector<std::string>(const std::string& address)> args);
  ~ServerProcess();  // Kills the process if it still runs.
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // Starts the server on a free port and waits until its health service answers (SERVING or
  // not: stats-service is NOT_SERVING until its first sync). Retries on another port when the
  // chosen one was taken meanwhile. UNAVAILABLE, with the server's output, when it exits or
  // does not answer within `timeout`.
  absl::Status Start(absl::Duration timeout = absl::Seconds(60));
  // Polls grpc.health.v1 until the server reports SERVING; DEADLINE_EXCEEDED after `timeout`,
  // UNAVAILABLE if the process ends meanwhile.
  absl::Status WaitServing(absl::Duration timeout);
  // SIGTERM and wait for the exit (killed after `timeout`); an error if it did not exit 0.
  absl::Status Stop(absl::Duration timeout = absl::Seconds(30));

  bool running() const { return process_ != nullptr && process_->running(); }
  pid_t pid() const { return process_ != nullptr ? process_->pid() : -1; }
  const std::string& name() const { return name_; }
  const std::string& address() const { return address_; }
  // When the current run was spawned.
  absl::Time spawned() const { return spawned_; }
  // Its resident memory (testing::ResidentBytes).
  absl::StatusOr<int64_t> ResidentBytes() const;
  // The last `max_bytes` of what the current run wrote (stderr and stdout).
  std::string OutputTail(size_t max_bytes = 4000) const;

 private:
  absl::Status StartOnce(absl::Duration timeout, bool* port_taken);

  const std::string name_;
  const std::string binary_;
  const std::function<std::vector<std::string>(const std::string&)> args_;
  std::unique_ptr<testing::CommandProcess> process_;
  std::string address_;
  absl::Time spawned_;
};

}  // namespace observer::bench

#endif  // OBSERVER_TOOLS_BENCH_SERVER_PROCESS_H_
