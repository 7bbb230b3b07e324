#include "tools/bench/report.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <cmath>
#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "common/log.h"
#include "common/version.h"
#include "tests/harness/command.h"

namespace observer::bench {
namespace {

// The value of the first "KEY : value" line of /proc/cpuinfo (or /proc/meminfo) named `key`.
std::string ProcField(const char* path, absl::string_view key) {
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    if (absl::StripAsciiWhitespace(absl::string_view(line).substr(0, colon)) != key) continue;
    return std::string(absl::StripAsciiWhitespace(absl::string_view(line).substr(colon + 1)));
  }
  return "";
}

// `git describe --always --dirty` of the source tree, "" if that does not work.
std::string GitRevision(const std::string& source_dir) {
  if (source_dir.empty()) return "";
  for (const char* git : {"/usr/bin/git", "/usr/local/bin/git"}) {
    if (access(git, X_OK) != 0) continue;
    testing::CommandOptions options;
    options.timeout = absl::Seconds(10);
    absl::StatusOr<testing::CommandResult> r = testing::RunCommand(
        {git, "-C", source_dir, "describe", "--always", "--dirty", "--abbrev=12"}, options);
    if (r.ok() && r->exit_code() == 0) {
      return std::string(absl::StripAsciiWhitespace(r->stdout_text));
    }
    return "";
  }
  return "";
}

}  // namespace

std::string JsonString(absl::string_view text) {
  std::string out;
  AppendJsonString(text, &out);
  return out;
}

std::string JsonNumber(double value) {
  if (!std::isfinite(value)) return "null";
  if (value == std::floor(value) && std::fabs(value) < 1e15) {
    return absl::StrCat(static_cast<int64_t>(value));
  }
  return absl::StrFormat("%.6g", value);
}

void JsonObject::Key(absl::string_view key) {
  if (!body_.empty()) body_ += ",";
  body_ += JsonString(key);
  body_ += ":";
}

JsonObject& JsonObject::Add(absl::string_view key, absl::string_view text) {
  Key(key);
  body_ += JsonString(text);
  return *this;
}

JsonObject& JsonObject::Add(absl::string_view key, double number) {
  Key(key);
  body_ += JsonNumber(number);
  return *this;
}

JsonObject& JsonObject::Add(absl::string_view key, int64_t number) {
  Key(key);
  absl::StrAppend(&body_, number);
  return *this;
}

JsonObject& JsonObject::Add(absl::string_view key, bool flag) {
  Key(key);
  body_ += flag ? "true" : "false";
  return *this;
}

JsonObject& JsonObject::AddRaw(absl::string_view key, absl::string_view json) {
  Key(key);
  absl::StrAppend(&body_, json);
  return *this;
}

std::string JsonArray(const std::vector<std::string>& items) {
  if (items.empty()) return "[]";
  return absl::StrCat("[\n  ", absl::StrJoin(items, ",\n  "), "\n]");
}

std::string TargetJson(const Target& target) {
  JsonObject o;
  o.Add("name", target.name).Add("target", target.text).Add("measured", target.measured);
  o.Add("unit", target.unit);
  o.AddRaw("value", target.value ? JsonNumber(*target.value) : "null");
  o.AddRaw("ratio", target.ratio ? JsonNumber(*target.ratio) : "null");
  o.AddRaw("met", target.met ? (*target.met ? "true" : "false") : "null");
  return o.str();
}

std::string MarkdownTable(const std::vector<Target>& targets) {
  // A '|' inside a cell would end it.
  auto cell = [](absl::string_view text) {
    std::string out;
    for (char c : text) {
      if (c == '|') out += "\\";
      out += c;
    }
    return out;
  };
  std::string table = "| target | measured | met |\n|---|---|---|\n";
  for (const Target& t : targets) {
    absl::StrAppend(&table, "| ", cell(t.text), " | ", cell(t.measured), " | ",
                    t.met ? (*t.met ? "yes" : "**no**") : "—", " |\n");
  }
  return table;
}

std::string MachineJson(const std::string& source_dir, const std::string& build_type) {
  JsonObject o;
  o.Add("nproc", static_cast<int64_t>(sysconf(_SC_NPROCESSORS_ONLN)));
  o.Add("cpu_model", ProcField("/proc/cpuinfo", "model name"));
  utsname u{};
  if (uname(&u) == 0) {
    o.Add("kernel", absl::StrCat(u.sysname, " ", u.release, " ", u.machine));
    o.Add("hostname", u.nodename);
  }
  o.Add("memory_total", ProcField("/proc/meminfo", "MemTotal"));
  std::string revision = GitRevision(source_dir);
  o.Add("git_revision", revision.empty() ? std::string(BuildRevision()) : revision);
  o.Add("build_revision", BuildRevision());
  o.Add("version", BuildVersion());
  o.Add("build_type", build_type);
  return o.str();
}

std::string Thousands(double value) {
  if (!std::isfinite(value)) return "?";
  int64_t n = static_cast<int64_t>(std::llround(value));
  const bool negative = n < 0;
  if (negative) n = -n;
  std::string digits = absl::StrCat(n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return negative ? "-" + out : out;
}

}  // namespace observer::bench
