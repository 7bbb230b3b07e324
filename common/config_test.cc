#include "common/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/reflection.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50051", "gRPC listen address.");
ABSL_FLAG(std::string, metrics_listen, "127.0.0.1:9464", "Prometheus listen address.");
ABSL_FLAG(int32_t, max_streams, 100, "Concurrent stream limit.");
ABSL_FLAG(bool, verbose, false, "Log more.");
ABSL_FLAG(std::string, store, "sqlite://registry.db", "Where records are kept.");
ABSL_FLAG(std::string, admin_token, "", "A secret.");

namespace observer {
namespace {

class ParseFlagsWithEnvTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* name : {"REGISTRY_LISTEN", "REGISTRY_METRICS_LISTEN", "REGISTRY_MAX_STREAMS",
                             "REGISTRY_VERBOSE", "REGISTRY_STORE", "REGISTRY_ADMIN_TOKEN"}) {
      unsetenv(name);
    }
  }

  // Parses `args` as if they followed the program name on the command line.
  static std::vector<char*> Parse(std::vector<std::string> args) {
    static std::vector<std::string> storage;  // argv must outlive the call; tests are serial.
    storage = std::move(args);
    storage.insert(storage.begin(), "config_test");
    std::vector<char*> argv;
    for (std::string& arg : storage) argv.push_back(arg.data());
    return ParseFlagsWithEnv(static_cast<int>(argv.size()), argv.data(), "REGISTRY",
                             "config_test: exercises ParseFlagsWithEnv");
  }

  absl::FlagSaver restore_flags_;
};

TEST_F(ParseFlagsWithEnvTest, DefaultsApplyWhenNothingIsGiven) {
  const std::vector<char*> rest = Parse({});
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_STREQ(rest[0], "config_test");
  EXPECT_EQ(absl::GetFlag(FLAGS_listen), "127.0.0.1:50051");
  EXPECT_EQ(absl::GetFlag(FLAGS_max_streams), 100);
  EXPECT_FALSE(absl::GetFlag(FLAGS_verbose));
}

TEST_F(ParseFlagsWithEnvTest, EnvironmentBeatsDefault) {
  setenv("REGISTRY_LISTEN", "0.0.0.0:1", 1);
  setenv("REGISTRY_METRICS_LISTEN", "0.0.0.0:2", 1);
  setenv("REGISTRY_MAX_STREAMS", "7", 1);
  setenv("REGISTRY_VERBOSE", "yes", 1);
  Parse({});
  EXPECT_EQ(absl::GetFlag(FLAGS_listen), "0.0.0.0:1");
  EXPECT_EQ(absl::GetFlag(FLAGS_metrics_listen), "0.0.0.0:2");
  EXPECT_EQ(absl::GetFlag(FLAGS_max_streams), 7);
  EXPECT_TRUE(absl::GetFlag(FLAGS_verbose));
}

TEST_F(ParseFlagsWithEnvTest, FlagBeatsEnvironment) {
  setenv("REGISTRY_LISTEN", "0.0.0.0:1", 1);
  setenv("REGISTRY_MAX_STREAMS", "not a number", 1);  // Never read: the flag is given.
  setenv("REGISTRY_VERBOSE", "true", 1);
  Parse({"--listen=[::1]:5", "--max_streams", "9", "--noverbose"});
  EXPECT_EQ(absl::GetFlag(FLAGS_listen), "[::1]:5");
  EXPECT_EQ(absl::GetFlag(FLAGS_max_streams), 9);
  EXPECT_FALSE(absl::GetFlag(FLAGS_verbose));
}

TEST_F(ParseFlagsWithEnvTest, FlagGivenWithItsDefaultValueStillBeatsEnvironment) {
  setenv("REGISTRY_MAX_STREAMS", "7", 1);
  Parse({"--max-streams=100"});
  EXPECT_EQ(absl::GetFlag(FLAGS_max_streams), 100);
}

TEST_F(ParseFlagsWithEnvTest, EmptyEnvironmentVariableCountsAsUnset) {
  setenv("REGISTRY_MAX_STREAMS", "", 1);
  Parse({});
  EXPECT_EQ(absl::GetFlag(FLAGS_max_streams), 100);
}

TEST_F(ParseFlagsWithEnvTest, AcceptsDashesSingleDashAndBooleanForms) {
  Parse({"--metrics-listen", "h:3", "-max-streams=4", "--verbose"});
  EXPECT_EQ(absl::GetFlag(FLAGS_metrics_listen), "h:3");
  EXPECT_EQ(absl::GetFlag(FLAGS_max_streams), 4);
  EXPECT_TRUE(absl::GetFlag(FLAGS_verbose));
  Parse({"--no-verbose"});
  EXPECT_FALSE(absl::GetFlag(FLAGS_verbose));
  Parse({"--verbose=true", "--"});
  EXPECT_TRUE(absl::GetFlag(FLAGS_verbose));
}

TEST_F(ParseFlagsWithEnvTest, LaterFlagWins) {
  Parse({"--max_streams=1", "--max_streams=2"});
  EXPECT_EQ(absl::GetFlag(FLAGS_max_streams), 2);
}

using ParseFlagsWithEnvDeathTest = ParseFlagsWithEnvTest;

TEST_F(ParseFlagsWithEnvDeathTest, BadEnvironmentValueNamesTheVariable) {
  setenv("REGISTRY_MAX_STREAMS", "lots", 1);
  EXPECT_EXIT(Parse({}), ::testing::ExitedWithCode(kUsageErrorExitCode),
              "invalid value 'lots' in environment variable REGISTRY_MAX_STREAMS");
}

TEST_F(ParseFlagsWithEnvDeathTest, BadEnvironmentBoolNamesTheVariable) {
  setenv("REGISTRY_VERBOSE", "maybe", 1);
  EXPECT_EXIT(Parse({}), ::testing::ExitedWithCode(kUsageErrorExitCode), "REGISTRY_VERBOSE");
}

TEST_F(ParseFlagsWithEnvDeathTest, CommandLineMisuseExitsWithTwo) {
  const auto usage_error = ::testing::ExitedWithCode(kUsageErrorExitCode);
  EXPECT_EXIT(Parse({"--bogus=1"}), usage_error, "unknown flag '--bogus'");
  EXPECT_EXIT(Parse({"--max_streams=many"}), usage_error,
              "invalid value 'many' for flag '--max_streams'");
  EXPECT_EXIT(Parse({"--listen"}), usage_error, "flag '--listen' needs a value");
  EXPECT_EXIT(Parse({"--listen", "--verbose"}), usage_error, "flag '--listen' needs a value");
  EXPECT_EXIT(Parse({"--noverbose=1"}), usage_error, "takes no value");
  EXPECT_EXIT(Parse({"--nolisten"}), usage_error, "unknown flag '--nolisten'");
  EXPECT_EXIT(Parse({"extra"}), usage_error, "unexpected argument 'extra'");
  EXPECT_EXIT(Parse({"--", "extra"}), usage_error, "unexpected argument 'extra'");
  EXPECT_EXIT(Parse({"--flagfile=/dev/null"}), usage_error, "unknown flag '--flagfile'");
}

TEST_F(ParseFlagsWithEnvDeathTest, HelpExitsWithZero) {
  EXPECT_EXIT(Parse({"--help"}), ::testing::ExitedWithCode(0), "");
}

TEST_F(ParseFlagsWithEnvDeathTest, ExitWithUsageErrorPrintsTheMessage) {
  EXPECT_EXIT(ExitWithUsageError("--store is required"),
              ::testing::ExitedWithCode(kUsageErrorExitCode), "--store is required");
}

TEST_F(ParseFlagsWithEnvTest, StartupConfigLineHasEveryFlagWithSecretsRedacted) {
  setenv("REGISTRY_STORE", "postgresql://registry:s3cret@db.internal:5432/registry", 1);
  setenv("REGISTRY_ADMIN_TOKEN", "tok-123", 1);
  Parse({"--listen=0.0.0.0:7000"});
  std::vector<std::string> lines;
  SetLogSinkForTesting([&lines](absl::string_view line) { lines.emplace_back(line); });
  LogStartupConfig("registry");
  SetLogSinkForTesting(nullptr);
  ASSERT_EQ(lines.size(), 1u);
  const std::string& line = lines[0];
  EXPECT_THAT(line, ::testing::HasSubstr(R"("msg":"config","service":"registry","version":")"));
  EXPECT_THAT(line, ::testing::HasSubstr(R"("from_env":"admin_token,store")"));
  EXPECT_THAT(line, ::testing::HasSubstr(R"("listen":"0.0.0.0:7000")"));
  EXPECT_THAT(line, ::testing::HasSubstr(R"("max_streams":"100")"));
  EXPECT_THAT(line, ::testing::HasSubstr(
                        R"("store":"postgresql://registry:REDACTED@db.internal:5432/registry")"));
  EXPECT_THAT(line, ::testing::HasSubstr(R"("admin_token":"REDACTED")"));
  EXPECT_THAT(line, ::testing::Not(::testing::HasSubstr("s3cret")));
  EXPECT_THAT(line, ::testing::Not(::testing::HasSubstr("tok-123")));
}

TEST(RedactSecretTest, RedactsPasswordsAndSecretFlagsOnly) {
  EXPECT_EQ(RedactSecret("store", "sqlite:///var/lib/registry/registry.db"),
            "sqlite:///var/lib/registry/registry.db");
  EXPECT_EQ(RedactSecret("store", "postgresql://u:p%40ss@h/db"), "postgresql://u:REDACTED@h/db");
  EXPECT_EQ(RedactSecret("store", "postgresql://u@h/db"), "postgresql://u@h/db");
  EXPECT_EQ(RedactSecret("store", "postgresql://h/db?user=u&password=pw&sslmode=verify-full"),
            "postgresql://h/db?user=u&password=REDACTED&sslmode=verify-full");
  EXPECT_EQ(RedactSecret("store", "host=h dbname=r password=pw user=u"),
            "host=h dbname=r password=REDACTED user=u");
  EXPECT_EQ(RedactSecret("store", "postgresql://u:p@ss@h/db"), "postgresql://u:REDACTED@h/db")
      << "an unescaped '@' in the password";
  EXPECT_EQ(RedactSecret("store", "postgresql://u:pa/ss@h/db"), "postgresql://u:REDACTED@h/db");
  EXPECT_EQ(RedactSecret("store", "u:pw@h:5432/db"), "u:REDACTED@h:5432/db");
  EXPECT_EQ(RedactSecret("store", "postgresql://h/db?user=u&PASSWORD=pw"),
            "postgresql://h/db?user=u&PASSWORD=REDACTED");
  EXPECT_EQ(RedactSecret("store", "host=h password = pw user=u"),
            "host=h password = REDACTED user=u");
  EXPECT_EQ(RedactSecret("store", "host=h Password='a b' user=u"),
            "host=h Password=REDACTED user=u");
  EXPECT_EQ(RedactSecret("store", "password=x password=y"), "password=REDACTED password=REDACTED");
  EXPECT_EQ(RedactSecret("store", "sqlite://state/user@host.db"), "sqlite://state/user@host.db")
      << "an '@' without a ':' before it is no password";
  EXPECT_EQ(RedactSecret("db_password", "pw"), "REDACTED");
  EXPECT_EQ(RedactSecret("API_KEY", "k"), "REDACTED");
  EXPECT_EQ(RedactSecret("client_secret", ""), "");
  EXPECT_EQ(RedactSecret("tls_key", "/etc/observer/tls/server.key"), "/etc/observer/tls/server.key")
      << "a key file's path is not a secret";
}

TEST(EnvVarNameTest, UpperCasesAndJoinsWithUnderscore) {
  EXPECT_EQ(EnvVarName("REGISTRY", "store"), "REGISTRY_STORE");
  EXPECT_EQ(EnvVarName("REGISTRY", "metrics_listen"), "REGISTRY_METRICS_LISTEN");
  EXPECT_EQ(EnvVarName("STATS", "tls-cert"), "STATS_TLS_CERT");
}

TEST(ValidateListenAddressTest, AcceptsHostPortAndBracketedIpv6) {
  for (const char* address : {"0.0.0.0:50051", "127.0.0.1:0", "localhost:65535", "[::]:50051",
                              "[::1]:9464", "[::ffff:127.0.0.1]:1", "my-host.example_1:80"}) {
    EXPECT_TRUE(ValidateListenAddress(address).ok()) << address;
  }
}

TEST(ValidateListenAddressTest, RejectsWithAReason) {
  const struct {
    const char* address;
    const char* reason;
  } cases[] = {
      {"", "empty"},
      {"localhost", "missing ':port'"},
      {"localhost:", "missing port"},
      {":50051", "missing host"},
      {"::1:50051", "brackets"},
      {"[::1]50051", "expected ':port'"},
      {"[::1:50051", "missing ']'"},
      {"[]:1", "IPv6"},
      {"[1.2.3.4]:1", "IPv6"},
      {"[::g]:1", "unexpected character 'g'"},
      {"local host:1", "unexpected character ' '"},
      {"localhost:65536", "out of range"},
      {"localhost:123456", "not a number"},
      {"localhost:-1", "not a number"},
      {"localhost:http", "not a number"},
  };
  for (const auto& c : cases) {
    const absl::Status status = ValidateListenAddress(c.address);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.address;
    EXPECT_NE(status.message().find(c.reason), absl::string_view::npos)
        << c.address << ": " << status;
    EXPECT_NE(status.message().find(absl::StrCat("\"", c.address, "\"")), absl::string_view::npos)
        << status;
  }
}

}  // namespace
}  // namespace observer
