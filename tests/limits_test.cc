// Server limits (issue 6, DESIGN.md section 7): the largest request message and the most calls
// open at once on one connection, both flags of both services, refused when out of range.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "tests/harness/builders.h"
#include "tests/harness/command.h"
#include "tests/harness/registry_client.h"
#include "tests/harness/registry_process.h"
#include "tests/harness/stats_process.h"
#include "tests/harness/status_matchers.h"
#include "tests/harness/temp_dir.h"

namespace observer::testing {
namespace {

using ::testing::HasSubstr;

rv1::WatchRequest FromStart() {
  rv1::WatchRequest request;
  request.set_start_revision(1);
  return request;
}

// Opens two watches from revision 1 and waits until each has received its first event, so that
// both streams are established.
void OpenTwoWatches(RegistryClient& client, std::unique_ptr<WatchStream>* first,
                    std::unique_ptr<WatchStream>* second) {
  *first = client.Watch(FromStart());
  *second = client.Watch(FromStart());
  ASSERT_TRUE((*first)->Next(absl::Seconds(10)).has_value());
  ASSERT_TRUE((*second)->Next(absl::Seconds(10)).has_value());
}

TEST(LimitsTest, ARequestOverMaxMessageBytesIsRefusedAndChangesNothing) {
  TempDir dir;
  RegistryProcess registry(dir.path(), {"--max-message-bytes", "65536"});
  ASSERT_OK(registry.Start());
  RegistryClient client(registry.channel());
  ASSERT_OK(client.CreateElection(FutureElection("limits-1")).status());
  ASSERT_OK_AND_ASSIGN(const int64_t head, client.HeadRevision());

  rv1::CreateElectionRequest huge = FutureElection("limits-2");
  huge.mutable_election()->set_display_name(std::string(70 * 1024, 'x'));
  EXPECT_THAT(client.CreateElection(huge), StatusIs(absl::StatusCode::kResourceExhausted));
  ASSERT_OK_AND_ASSIGN(const int64_t after, client.HeadRevision());
  EXPECT_EQ(after, head);

  // Just under the limit is a request like any other (here refused for its own reason, a
  // display name too long, by the registry's validation, not by the transport).
  rv1::CreateElectionRequest large = FutureElection("limits-3");
  large.mutable_election()->set_display_name(std::string(60 * 1024, 'x'));
  EXPECT_THAT(client.CreateElection(large), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(LimitsTest, CallsBeyondMaxConcurrentStreamsWaitForAFreeStream) {
  TempDir dir;
  RegistryProcess registry(dir.path(), {"--max-concurrent-streams", "2"});
  ASSERT_OK(registry.Start());
  const auto channel = registry.channel();  // One channel: one connection.
  RegistryClient client(channel);
  ASSERT_OK(client.CreateElection(FutureElection("limits-streams")).status());

  // Two watches hold both streams of the one connection the client uses.
  std::unique_ptr<WatchStream> first, second;
  ASSERT_NO_FATAL_FAILURE(OpenTwoWatches(client, &first, &second));
  // A third call on that connection waits for a stream: its deadline passes first.
  RegistryClient short_deadline(channel, absl::Seconds(1));
  EXPECT_THAT(short_deadline.HeadRevision(), StatusIs(absl::StatusCode::kDeadlineExceeded));
  // A stream freed, calls go through again.
  first.reset();
  absl::SleepFor(absl::Milliseconds(500));
  EXPECT_OK(short_deadline.HeadRevision().status());
}

TEST(LimitsTest, WatchesBeyondMaxWatchersAreRefusedUntilOneCloses) {
  TempDir dir;
  RegistryProcess registry(dir.path(), {"--max-watchers", "2"});
  ASSERT_OK(registry.Start());
  RegistryClient client(registry.channel());
  ASSERT_OK(client.CreateElection(FutureElection("limits-watchers")).status());
  std::unique_ptr<WatchStream> first, second;
  ASSERT_NO_FATAL_FAILURE(OpenTwoWatches(client, &first, &second));

  const rv1::WatchRequest from_start = FromStart();
  auto third = client.Watch(from_start);
  EXPECT_THAT(third->WaitFinished(absl::Seconds(10)),
              StatusIs(absl::StatusCode::kResourceExhausted, "TOO_MANY_WATCHERS"));

  first.reset();  // Cancels the stream; the server counts it closed once it is done.
  ASSERT_TRUE(PollUntil(
      [&] {
        auto again = client.Watch(from_start);
        return again->Next(absl::Seconds(2)).has_value();
      },
      absl::Seconds(10)));
}

TEST(LimitsTest, LimitFlagsOutOfRangeAreUsageErrors) {
  TempDir dir;
  const std::vector<std::vector<std::string>> services = {
      {RegistryServiceBinary(), "--store", absl::StrCat("sqlite://", dir.Join("r.db"))},
      {StatsServiceBinary()}};
  for (const auto& [flag, value] : std::vector<std::pair<std::string, std::string>>{
           {"--max-message-bytes", "10"}, {"--max-concurrent-streams", "0"}}) {
    for (std::vector<std::string> argv : services) {
      for (const char* arg :
           {"--listen", "127.0.0.1:0", "--metrics-listen", "", "--insecure-loopback"}) {
        argv.push_back(arg);
      }
      argv.push_back(flag);
      argv.push_back(value);
      absl::StatusOr<CommandResult> r = RunCommand(argv, CommandOptions{});
      ASSERT_OK(r.status());
      EXPECT_EQ(r->exit_code(), 2) << argv[0] << " " << flag << " " << r->Describe();
      EXPECT_THAT(r->stderr_text, HasSubstr(flag)) << r->Describe();
    }
  }
  absl::StatusOr<CommandResult> r =
      RunCommand({RegistryServiceBinary(), "--listen", "127.0.0.1:0", "--metrics-listen", "",
                  "--insecure-loopback", "--store", absl::StrCat("sqlite://", dir.Join("r.db")),
                  "--max-watchers", "0"},
                 CommandOptions{});
  ASSERT_OK(r.status());
  EXPECT_EQ(r->exit_code(), 2) << r->Describe();
  EXPECT_THAT(r->stderr_text, HasSubstr("--max-watchers must be at least 1"));
}

}  // namespace
}  // namespace observer::testing
