// The benchmark suite's report: the machine, each scenario's figures, and each target of the
// performance issue with the value measured and whether it was met; as JSON (report.json) and
// as a short Markdown table (report.md, and stdout).
#ifndef OBSERVER_TOOLS_BENCH_REPORT_H_
#define OBSERVER_TOOLS_BENCH_REPORT_H_

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace observer::bench {

// JSON text of a string (quoted, escaped) and of a number (null when not finite).
std::string JsonString(absl::string_view text);
std::string JsonNumber(double value);

// Builds one JSON object, field by field, in the order added.
class JsonObject {
 public:
  JsonObject& Add(absl::string_view key, absl::string_view text);
  JsonObject& Add(absl::string_view key, const char* text) {
    return Add(key, absl::string_view(text));
  }
  JsonObject& Add(absl::string_view key, double number);
  JsonObject& Add(absl::string_view key, int64_t number);
  JsonObject& Add(absl::string_view key, int number) {
    return Add(key, static_cast<int64_t>(number));
  }
  JsonObject& Add(absl::string_view key, bool flag);
  // `json` is already JSON (an object, an array, null, ...).
  JsonObject& AddRaw(absl::string_view key, absl::string_view json);
  std::string str() const { return "{" + body_ + "}"; }

 private:
  void Key(absl::string_view key);
  std::string body_;
};

// A JSON array of already-JSON `items`, one per line.
std::string JsonArray(const std::vector<std::string>& items);

// One target of the table.
struct Target {
  std::string name;      // Stable key, e.g. "create_vs_echo".
  std::string text;      // The target as the issue states it.
  std::string measured;  // For people: "3,912/s = 61% of echo (6,402/s)", or why not measured.
  std::string unit;      // Of `value`: "ratio", "ms", "s", "MiB", "rows/s".
  std::optional<double> value;  // The figure compared with the target.
  std::optional<double> ratio;  // For the targets that compare two figures.
  std::optional<bool> met;      // Unset when not measured (skipped, or a step failed).
};

std::string TargetJson(const Target& target);

// "| target | measured | met |" with one row per target; "met" is yes, **no** or "—".
std::string MarkdownTable(const std::vector<Target>& targets);

// The machine the suite ran on, as a JSON object: nproc, CPU model (/proc/cpuinfo), kernel
// (uname), memory, the git revision of `source_dir` (if git and the checkout are there), the
// build type and version of this binary.
std::string MachineJson(const std::string& source_dir, const std::string& build_type);

// "12,345" (rounded to an integer).
std::string Thousands(double value);

}  // namespace observer::bench

#endif  // OBSERVER_TOOLS_BENCH_REPORT_H_
