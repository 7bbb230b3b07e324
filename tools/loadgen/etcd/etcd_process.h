// A throwaway single-node etcd (the Debian etcd-server 3.4 binary) for the benchmark baseline:
// a fresh data directory, free loopback ports for clients and peers, etcd's default durability
// (an fsync per commit: --unsafe-no-fsync is never passed), started and probed until it serves
// a linearizable read, stopped (SIGTERM, then SIGKILL) and its data directory removed when the
// owner goes away. It never outlives this process (PR_SET_PDEATHSIG).
//
//   EtcdOptions options;
//   options.parent_dir = dir;
//   absl::StatusOr<std::unique_ptr<EtcdProcess>> etcd = EtcdProcess::Start(options);
//   if (!etcd.ok()) ...;  // The message carries etcd's output.
//   Channels channels = MakeChannels((*etcd)->client_target(), 4);
//
// Start it from the main thread (or a thread that outlives it): the child is killed when the
// thread that started it exits. The child is a CommandProcess (tests/harness/command.h, the
// harness's process library without a test framework): benchmark drivers use it too.
#ifndef OBSERVER_TOOLS_LOADGEN_ETCD_ETCD_PROCESS_H_
#define OBSERVER_TOOLS_LOADGEN_ETCD_ETCD_PROCESS_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tests/harness/command.h"

namespace observer::loadgen {

// Where Debian's etcd-server package installs etcd.
inline constexpr char kDefaultEtcdBinary[] = "/usr/bin/etcd";

struct EtcdOptions {
  std::string binary = kDefaultEtcdBinary;
  // The data directory is a fresh one made under this directory ("" is $TMPDIR, else /tmp).
  std::string parent_dir;
  // Keep the data directory after Stop (it is removed by default).
  bool keep_data_dir = false;
  // From the start until etcd answers a linearizable Range (it has elected itself leader).
  absl::Duration start_timeout = absl::Seconds(30);
  // Attempts with new ports when etcd exits because a port was taken between our probe and its
  // bind.
  int port_attempts = 5;
  // Added to the command line (e.g. {"--quota-backend-bytes=..."}).
  std::vector<std::string> extra_args;
};

class EtcdProcess {
 public:
  // Starts etcd and waits until it serves reads. FAILED_PRECONDITION if the binary cannot be
  // executed; otherwise an error whose message has etcd's output when it fails to start.
  static absl::StatusOr<std::unique_ptr<EtcdProcess>> Start(const EtcdOptions& options = {});

  // Whether `binary` exists and is executable.
  static bool Available(const std::string& binary = kDefaultEtcdBinary);

  ~EtcdProcess();  // Stop().
  EtcdProcess(const EtcdProcess&) = delete;
  EtcdProcess& operator=(const EtcdProcess&) = delete;

  // SIGTERM, SIGKILL after `grace` if it is still running, and reap; then the data directory
  // is removed (unless kept). An error if etcd had already exited (crashed) before, or did not
  // stop within `grace`, with its output; idempotent (OK once stopped).
  absl::Status Stop(absl::Duration grace = absl::Seconds(10));

  // "127.0.0.1:P", for gRPC channels.
  const std::string& client_target() const { return client_target_; }
  // "http://127.0.0.1:P".
  std::string client_url() const;
  int client_port() const { return client_port_; }
  int peer_port() const { return peer_port_; }
  const std::string& data_dir() const { return data_dir_; }
  pid_t pid() const { return process_.pid(); }
  // Whether the process is still running (it has not exited, or been stopped).
  bool Running() const;
  // What etcd wrote to stdout and stderr so far (interleaved; the start and the most recent
  // part when it wrote a lot).
  std::string output() const;
  // The command line it was started with.
  const std::vector<std::string>& argv() const { return argv_; }

 private:
  EtcdProcess() = default;

  // One attempt at ports from `Start`; UNAVAILABLE with `*port_conflict` set when etcd exited
  // because an address was in use.
  absl::Status Launch(const EtcdOptions& options, bool* port_conflict);
  absl::Status WaitReady(absl::Time deadline);
  // SIGTERM unless it has exited, SIGKILL when it still runs after `grace`, and reap: how it
  // ended.
  absl::StatusOr<testing::CommandResult> Terminate(absl::Duration grace);

  std::vector<std::string> argv_;
  std::string data_dir_;
  bool keep_data_dir_ = false;
  std::string client_target_;
  int client_port_ = 0;
  int peer_port_ = 0;
  // etcd itself; what it wrote stays readable after it is reaped.
  testing::CommandProcess process_;
};

}  // namespace observer::loadgen

#endif  // OBSERVER_TOOLS_LOADGEN_ETCD_ETCD_PROCESS_H_
