// The benchmark suite's smoke run: observer-bench --smoke runs every step with tiny sizes and
// writes a report with a row for every target of the performance issue. It checks that the
// suite runs, never a figure: timings are not pass/fail.
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "tests/harness/command.h"
#include "tests/harness/postgres_cluster.h"
#include "tests/harness/temp_dir.h"

namespace observer::testing {
namespace {

using google::protobuf::Struct;
using google::protobuf::Value;

std::string BenchBinary() {
  if (const char* env = std::getenv("OBSERVER_BENCH_BINARY"); env != nullptr && *env != '\0') {
    return env;
  }
  return OBSERVER_BENCH_BINARY;
}

TEST(BenchSmoke, RunsEveryStepAndReportsEveryTarget) {
  TempDir dir;
  const std::string out = dir.Join("bench");
  CommandOptions options;
  options.timeout = absl::Minutes(4);
  absl::StatusOr<CommandResult> run =
      RunCommand({BenchBinary(), "--smoke", "--out-dir", out}, options);
  ASSERT_TRUE(run.ok()) << run.status();
  ASSERT_EQ(run->exit_code(), 0) << run->Describe(30000);
  EXPECT_NE(run->stdout_text.find("| target | measured | met |"), std::string::npos)
      << run->stdout_text;

  std::ifstream in(out + "/report.json");
  ASSERT_TRUE(in) << "no " << out << "/report.json";
  std::stringstream text;
  text << in.rdbuf();
  Struct report;
  const auto parsed = google::protobuf::util::JsonStringToMessage(text.str(), &report);
  ASSERT_TRUE(parsed.ok()) << parsed.ToString() << "\n" << text.str();

  const auto& fields = report.fields();
  ASSERT_TRUE(fields.contains("complete")) << text.str();
  EXPECT_TRUE(fields.at("complete").bool_value()) << text.str();
  ASSERT_TRUE(fields.contains("machine"));
  EXPECT_GT(fields.at("machine").struct_value().fields().at("nproc").number_value(), 0);

  const std::set<std::string> expected = {"create_vs_echo",
                                          "create_vs_etcd",
                                          "get_vs_echo",
                                          "breakdown_organisation_vs_echo",
                                          "breakdown_organisation_large_vs_small",
                                          "breakdown_sending_state_vs_echo",
                                          "breakdown_sending_state_large_vs_small",
                                          "visibility_p99",
                                          "stats_cold_start",
                                          "stats_rss_large",
                                          "stats_rss_large_vs_small",
                                          "registry_rss_large",
                                          "import_rows_per_second"};
  std::set<std::string> seen;
  ASSERT_TRUE(fields.contains("targets"));
  for (const Value& target : fields.at("targets").list_value().values()) {
    const auto& t = target.struct_value().fields();
    ASSERT_TRUE(t.contains("name") && t.contains("target") && t.contains("measured") &&
                t.contains("met"))
        << text.str();
    const std::string name = t.at("name").string_value();
    seen.insert(name);
    // Every row was measured (met true or false: a figure), except etcd's without etcd.
    if (name == "create_vs_etcd" && t.at("met").has_null_value()) {
      EXPECT_NE(t.at("measured").string_value().find("skipped"), std::string::npos) << text.str();
    } else {
      EXPECT_TRUE(t.at("met").has_bool_value()) << name << ": " << text.str();
    }
  }
  EXPECT_EQ(seen, expected);

  // Every load scenario's full result is there.
  std::set<std::string> scenarios;
  for (const Value& s : fields.at("scenarios").list_value().values()) {
    scenarios.insert(s.struct_value().fields().at("key").string_value());
  }
  for (const char* key : {"echo", "create", "get", "visibility", "breakdown_organisation_small",
                          "breakdown_sending_state_large"}) {
    EXPECT_TRUE(scenarios.count(key)) << key << ": " << text.str();
  }
  // Creates on PostgreSQL with 1 and 3 replicas, where its server binaries are installed.
  if (!PostgresBinDir().empty()) {
    for (const char* key : {"create_postgres_1", "create_postgres_3"}) {
      EXPECT_TRUE(scenarios.count(key)) << key << ": " << text.str();
    }
  }

  std::ifstream md(out + "/report.md");
  EXPECT_TRUE(md) << "no " << out << "/report.md";
}

}  // namespace
}  // namespace observer::testing
