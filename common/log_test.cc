#include "common/log.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <mutex>
#include <regex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/strings/match.h"

namespace observer {
namespace {

class LogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SetLogLevel(LogLevel::kInfo);
    SetLogSinkForTesting([this](absl::string_view line) {
      std::lock_guard<std::mutex> lock(mutex_);
      lines_.emplace_back(line);
    });
  }
  void TearDown() override {
    SetLogSinkForTesting(nullptr);
    SetLogLevel(LogLevel::kInfo);
  }

  std::vector<std::string> Lines() {
    std::lock_guard<std::mutex> lock(mutex_);
    return lines_;
  }

  // Checks that `line` is one JSON object and a newline. Only the parse status is read:
  // google.protobuf.Struct's inline map accessors break under -fsanitize=thread against Debian's
  // uninstrumented libprotobuf, so the content is checked as text.
  static void ExpectJsonLine(const std::string& line) {
    EXPECT_TRUE(absl::StartsWith(line, "{\"ts\":\"")) << line;
    EXPECT_TRUE(absl::EndsWith(line, "}\n")) << line;
    EXPECT_EQ(line.find('\n'), line.size() - 1) << line;
    google::protobuf::Struct json;
    const auto status = google::protobuf::util::JsonStringToMessage(line, &json);
    EXPECT_TRUE(status.ok()) << status.ToString() << " in " << line;
  }

  // The only captured line with its "ts" member removed, after checking it is valid.
  std::string OnlyLineWithoutTimestamp() {
    const std::vector<std::string> lines = Lines();
    EXPECT_EQ(lines.size(), 1u);
    if (lines.empty()) return "";
    ExpectJsonLine(lines[0]);
    const size_t level = lines[0].find(",\"level\":");
    return level == std::string::npos ? lines[0] : "{" + lines[0].substr(level + 1);
  }

  std::mutex mutex_;
  std::vector<std::string> lines_;
};

TEST_F(LogTest, WritesTimestampLevelAndMessage) {
  LogInfo("listening");
  const std::vector<std::string> lines = Lines();
  ASSERT_EQ(lines.size(), 1u);
  ExpectJsonLine(lines[0]);
  EXPECT_TRUE(
      std::regex_match(lines[0], std::regex(R"(\{"ts":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z",)"
                                            R"("level":"info","msg":"listening"\}\n)")))
      << lines[0];
}

TEST_F(LogTest, EscapesStrings) {
  const std::string nasty =
      std::string("quote\" backslash\\ slash/ nl\n cr\r tab\t bs\b ff\f nul") +
      std::string(1, '\0') + " bell\x07 esc\x1b del\x7f";
  LogWarning(nasty, {{"key\"\n", nasty}});
  const std::string escaped =
      R"("quote\" backslash\\ slash/ nl\n cr\r tab\t bs\b ff\f nul\u0000 bell\u0007 esc\u001b del\u007f")";
  EXPECT_EQ(OnlyLineWithoutTimestamp(),
            R"({"level":"warning","msg":)" + escaped + R"(,"key\"\n":)" + escaped + "}\n");
}

TEST_F(LogTest, PassesUtf8ThroughAndReplacesInvalidBytes) {
  LogInfo("Қазақстан 🇰🇿 €", {{"bad",
                              "a\xff"
                              "b\xc3(c\xed\xa0\x80 \xf0\x9f\x98 \xc0\xaf"}});
  EXPECT_EQ(OnlyLineWithoutTimestamp(),
            R"({"level":"info","msg":"Қазақстан 🇰🇿 €",)"
            R"("bad":"a\ufffdb\ufffd(c\ufffd\ufffd\ufffd \ufffd\ufffd\ufffd \ufffd\ufffd"})"
            "\n");
}

TEST_F(LogTest, WritesFieldTypes) {
  const std::string owned = "owned";
  const std::string_view standard_view = "view";
  LogError("typed", {{"text", "plain"},
                     {"owned", owned},
                     {"view", standard_view},
                     {"int", -42},
                     {"int64", std::numeric_limits<int64_t>::min()},
                     {"uint64", std::numeric_limits<uint64_t>::max()},
                     {"size", owned.size()},
                     {"seconds", 0.25},
                     {"tiny", 1e-7},
                     {"nan", std::numeric_limits<double>::quiet_NaN()},
                     {"inf", std::numeric_limits<double>::infinity()},
                     {"yes", true},
                     {"no", false}});
  EXPECT_EQ(OnlyLineWithoutTimestamp(),
            R"({"level":"error","msg":"typed","text":"plain","owned":"owned","view":"view",)"
            R"("int":-42,"int64":-9223372036854775808,"uint64":18446744073709551615,"size":5,)"
            R"("seconds":0.25,"tiny":1e-07,"nan":null,"inf":null,"yes":true,"no":false})"
            "\n");
}

TEST_F(LogTest, FiltersByLevel) {
  LogDebug("hidden");
  SetLogLevel(LogLevel::kWarning);
  EXPECT_EQ(GetLogLevel(), LogLevel::kWarning);
  EXPECT_FALSE(LogEnabled(LogLevel::kInfo));
  EXPECT_TRUE(LogEnabled(LogLevel::kError));
  LogInfo("hidden too");
  LogWarning("shown");
  LogError("shown too");
  SetLogLevel(LogLevel::kDebug);
  LogDebug("debug shown");
  const std::vector<std::string> lines = Lines();
  ASSERT_EQ(lines.size(), 3u);
  for (const std::string& line : lines) ExpectJsonLine(line);
  EXPECT_TRUE(absl::StrContains(lines[0], R"("level":"warning","msg":"shown"})")) << lines[0];
  EXPECT_TRUE(absl::StrContains(lines[1], R"("level":"error","msg":"shown too"})")) << lines[1];
  EXPECT_TRUE(absl::StrContains(lines[2], R"("level":"debug","msg":"debug shown"})")) << lines[2];
}

TEST_F(LogTest, ConcurrentCallsProduceWholeLines) {
  constexpr int kThreads = 4;
  constexpr int kLinesPerThread = 200;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([t] {
      for (int i = 0; i < kLinesPerThread; ++i) LogInfo("tick", {{"thread", t}, {"i", i}});
    });
  }
  for (std::thread& thread : threads) thread.join();
  const std::vector<std::string> lines = Lines();
  ASSERT_EQ(lines.size(), static_cast<size_t>(kThreads * kLinesPerThread));
  for (const std::string& line : lines) ExpectJsonLine(line);
}

TEST(ParseLogLevelTest, AcceptsNamesInAnyCase) {
  LogLevel level = LogLevel::kError;
  EXPECT_TRUE(ParseLogLevel("debug", &level));
  EXPECT_EQ(level, LogLevel::kDebug);
  EXPECT_TRUE(ParseLogLevel("INFO", &level));
  EXPECT_EQ(level, LogLevel::kInfo);
  EXPECT_TRUE(ParseLogLevel("Warn", &level));
  EXPECT_EQ(level, LogLevel::kWarning);
  EXPECT_TRUE(ParseLogLevel("warning", &level));
  EXPECT_EQ(level, LogLevel::kWarning);
  EXPECT_TRUE(ParseLogLevel("error", &level));
  EXPECT_EQ(level, LogLevel::kError);
  EXPECT_FALSE(ParseLogLevel("verbose", &level));
  EXPECT_FALSE(ParseLogLevel("", &level));
  EXPECT_EQ(level, LogLevel::kError);
}

TEST(LogToStderrTest, WritesOneLineToStderr) {
  ::testing::internal::CaptureStderr();
  LogInfo("to stderr", {{"n", 1}});
  const std::string captured = ::testing::internal::GetCapturedStderr();
  EXPECT_TRUE(absl::StartsWith(captured, "{\"ts\":\"")) << captured;
  EXPECT_TRUE(absl::EndsWith(captured, R"("level":"info","msg":"to stderr","n":1})"
                                       "\n"))
      << captured;
}

}  // namespace
}  // namespace observer
