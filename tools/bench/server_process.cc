#include "tools/bench/server_process.h"

#include <arpa/inet.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/health_client.h"

namespace observer::bench {
namespace {

// Whether something accepts TCP connections on 127.0.0.1:`port`.
bool PortAccepts(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return ok;
}

// A channel with its own connection, made now (no reconnect backoff inherited from an earlier
// attempt while the server was not yet listening).
std::shared_ptr<grpc::Channel> FreshChannel(const std::string& address) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
}

}  // namespace

ServerProcess::ServerProcess(std::string name, std::string binary,
                             std::function<std::vector<std::string>(const std::string&)> args)
    : name_(std::move(name)), binary_(std::move(binary)), args_(std::move(args)) {}

ServerProcess::~ServerProcess() {
  if (running()) (void)process_->Kill();
}

absl::Status ServerProcess::Start(absl::Duration timeout) {
  if (running()) return absl::FailedPreconditionError(absl::StrCat(name_, " already running"));
  absl::Status status;
  for (int attempt = 0; attempt < 5; ++attempt) {
    bool port_taken = false;
    status = StartOnce(timeout, &port_taken);
    if (status.ok() || !port_taken) return status;
  }
  return status;
}

absl::Status ServerProcess::StartOnce(absl::Duration timeout, bool* port_taken) {
  absl::StatusOr<int> port = testing::FreeLoopbackPort();
  if (!port.ok()) return port.status();
  address_ = absl::StrCat("127.0.0.1:", *port);
  std::vector<std::string> argv = {binary_};
  for (std::string& arg : args_(address_)) argv.push_back(std::move(arg));

  process_ = std::make_unique<testing::CommandProcess>();
  testing::CommandOptions options;
  options.merge_stderr = true;
  spawned_ = absl::Now();
  if (absl::Status s = process_->Start(
          argv, options,
          absl::StrCat(name_,
                       " binary unknown: build it or pass its path (observer-bench --help)"));
      !s.ok()) {
    return s;
  }
  const absl::Time deadline = spawned_ + timeout;
  for (;;) {
    if (process_->Exited()) {
      absl::StatusOr<testing::CommandResult> result = process_->Wait(absl::Seconds(5));
      const std::string output = result.ok() ? result->stdout_text : process_->stdout_so_far();
      *port_taken = absl::StrContains(output, "cannot listen");
      return absl::UnavailableError(absl::StrCat(
          name_, " exited during start-up (",
          result.ok() ? result->DescribeExit() : std::string(result.status().message()),
          "): ", absl::StrJoin(argv, " "), "\n", output));
    }
    if (PortAccepts(*port)) {
      absl::StatusOr<HealthStatus> health = CheckHealth(FreshChannel(address_), absl::Seconds(2));
      // Any answer means gRPC serves (UNIMPLEMENTED: a server without a health service).
      if (health.ok() || health.status().code() != absl::StatusCode::kUnavailable) {
        return absl::OkStatus();
      }
    }
    if (absl::Now() > deadline) {
      (void)process_->Kill();
      return absl::UnavailableError(absl::StrCat(name_, " did not answer on ", address_, " within ",
                                                 absl::FormatDuration(timeout), ": ",
                                                 absl::StrJoin(argv, " "), "\n", OutputTail()));
    }
    absl::SleepFor(absl::Milliseconds(5));
  }
}

absl::Status ServerProcess::WaitServing(absl::Duration timeout) {
  if (!running()) return absl::FailedPreconditionError(absl::StrCat(name_, " not running"));
  const absl::Time deadline = absl::Now() + timeout;
  std::shared_ptr<grpc::Channel> channel = FreshChannel(address_);
  std::string last = "no answer";
  for (;;) {
    if (process_->Exited()) {
      return absl::UnavailableError(
          absl::StrCat(name_, " exited before it was SERVING:\n", OutputTail()));
    }
    absl::StatusOr<HealthStatus> health = CheckHealth(channel, absl::Seconds(2));
    if (health.ok() && *health == HealthStatus::kServing) return absl::OkStatus();
    last = health.ok() ? HealthStatusName(*health) : std::string(health.status().message());
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          name_, " not SERVING after ", absl::FormatDuration(timeout), " (health: ", last, ")"));
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
}

absl::Status ServerProcess::Stop(absl::Duration timeout) {
  if (!running()) return absl::FailedPreconditionError(absl::StrCat(name_, " not running"));
  if (absl::Status s = process_->Signal(SIGTERM); !s.ok()) return s;
  absl::StatusOr<testing::CommandResult> result = process_->Wait(timeout);
  if (!result.ok()) return result.status();
  if (result->exit_code() != 0) {
    return absl::InternalError(absl::StrCat(name_, " ended with ", result->DescribeExit(),
                                            " after SIGTERM:\n", OutputTail()));
  }
  return absl::OkStatus();
}

absl::StatusOr<int64_t> ServerProcess::ResidentBytes() const {
  if (!running()) return absl::FailedPreconditionError(absl::StrCat(name_, " not running"));
  return testing::ResidentBytes(pid());
}

std::string ServerProcess::OutputTail(size_t max_bytes) const {
  if (process_ == nullptr) return "";
  std::string output = process_->stdout_so_far();
  if (output.size() > max_bytes) output = "..." + output.substr(output.size() - max_bytes);
  return output;
}

}  // namespace observer::bench
