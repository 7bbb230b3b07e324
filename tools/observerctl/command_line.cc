#include "tools/observerctl/command_line.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"

namespace observer::ctl {
namespace {

std::string Spell(absl::string_view name) { return absl::StrCat("--", name); }

std::optional<bool> ParseBool(absl::string_view text) {
  const std::string v = absl::AsciiStrToLower(text);
  if (v == "true" || v == "1" || v == "yes") return true;
  if (v == "false" || v == "0" || v == "no") return false;
  return std::nullopt;
}

const FlagSpec* FindFlag(const std::vector<FlagSpec>& flags, absl::string_view name) {
  for (const FlagSpec& f : flags) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

// One flag as written, before the command is known.
struct RawFlag {
  std::string name;
  std::string value;
  std::string spelled;
};

void AppendFlagHelp(const std::vector<FlagSpec>& flags, std::string* out) {
  std::vector<std::string> left;
  std::size_t width = 0;
  for (const FlagSpec& f : flags) {
    left.push_back(f.boolean() ? Spell(f.name) : absl::StrCat(Spell(f.name), " ", f.value_name));
    width = std::max(width, left.back().size());
  }
  for (std::size_t i = 0; i < flags.size(); ++i) {
    const FlagSpec& f = flags[i];
    std::string notes;
    if (f.required) notes = "required";
    if (f.repeated) absl::StrAppend(&notes, notes.empty() ? "" : "; ", "may be repeated");
    if (!f.env.empty()) absl::StrAppend(&notes, notes.empty() ? "" : "; ", "env ", f.env);
    if (!f.default_value.empty()) {
      absl::StrAppend(&notes, notes.empty() ? "" : "; ", "default ", f.default_value);
    }
    absl::StrAppend(out, "  ", left[i], std::string(width - left[i].size() + 2, ' '), f.help,
                    notes.empty() ? "" : absl::StrCat(" (", notes, ")"), "\n");
  }
}

}  // namespace

std::string JoinPath(const std::vector<std::string>& path) { return absl::StrJoin(path, " "); }

std::string Invocation::Get(absl::string_view flag) const {
  auto it = values.find(flag);
  return it == values.end() || it->second.empty() ? "" : it->second.back();
}

std::vector<std::string> Invocation::GetAll(absl::string_view flag) const {
  auto it = values.find(flag);
  return it == values.end() ? std::vector<std::string>{} : it->second;
}

bool Invocation::Given(absl::string_view flag) const {
  auto it = from_command_line.find(flag);
  return it != from_command_line.end() && it->second;
}

bool Invocation::IsSet(absl::string_view flag) const {
  return ParseBool(Get(flag)).value_or(false);
}

CommandLine::CommandLine(std::string program, std::string description,
                         std::vector<FlagSpec> global_flags, std::vector<CommandSpec> commands)
    : program_(std::move(program)),
      description_(std::move(description)),
      global_flags_(std::move(global_flags)),
      commands_(std::move(commands)) {}

const CommandSpec* CommandLine::Find(const std::vector<std::string>& path) const {
  for (const CommandSpec& c : commands_) {
    if (c.path == path) return &c;
  }
  return nullptr;
}

bool CommandLine::IsPrefix(const std::vector<std::string>& path) const {
  for (const CommandSpec& c : commands_) {
    if (c.path.size() >= path.size() && std::equal(path.begin(), path.end(), c.path.begin())) {
      return true;
    }
  }
  return false;
}

ParseResult CommandLine::Parse(
    const std::vector<std::string>& args,
    const std::function<std::optional<std::string>(const std::string&)>& getenv) const {
  ParseResult result;
  auto fail = [&result](std::string message) {
    result.error = std::move(message);
    return std::move(result);
  };
  std::vector<std::string> path;
  const CommandSpec* command = nullptr;
  std::vector<RawFlag> raw;
  std::vector<std::string> positionals;
  bool help = false;
  bool flags_ended = false;

  // Whether a flag takes a value, from the command's flags, the global flags, or (before the
  // command is known) any command's flag of that name.
  auto lookup = [&](absl::string_view name) -> const FlagSpec* {
    if (command != nullptr) {
      if (const FlagSpec* f = FindFlag(command->flags, name)) return f;
    }
    if (const FlagSpec* f = FindFlag(global_flags_, name)) return f;
    if (command == nullptr) {
      for (const CommandSpec& c : commands_) {
        if (const FlagSpec* f = FindFlag(c.flags, name)) return f;
      }
    }
    return nullptr;
  };

  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (!flags_ended && a == "--") {
      flags_ended = true;
      continue;
    }
    if (!flags_ended && a.size() > 1 && a[0] == '-') {
      absl::string_view body = a;
      body.remove_prefix(absl::StartsWith(body, "--") ? 2 : 1);
      std::optional<std::string> inline_value;
      if (auto eq = body.find('='); eq != absl::string_view::npos) {
        inline_value = std::string(body.substr(eq + 1));
        body = body.substr(0, eq);
      }
      const std::string name = absl::StrReplaceAll(body, {{"_", "-"}});
      if (name == "help" || name == "h") {
        help = true;
        continue;
      }
      const FlagSpec* spec = lookup(name);
      if (spec == nullptr) {
        const std::string where =
            command != nullptr ? absl::StrCat(" for '", program_, " ", JoinPath(path), "'") : "";
        return fail(absl::StrCat("unknown flag '", Spell(name), "'", where, " (see '", program_,
                                 path.empty() ? "" : " ", JoinPath(path), " --help')"));
      }
      std::string value;
      if (spec->boolean()) {
        value = inline_value.value_or("true");
        if (!ParseBool(value).has_value()) {
          return fail(absl::StrCat("flag '", Spell(name), "' is true or false, not '", value, "'"));
        }
      } else if (inline_value.has_value()) {
        value = *inline_value;
      } else if (i + 1 < args.size() && !absl::StartsWith(args[i + 1], "--")) {
        value = args[++i];
      } else {
        return fail(
            absl::StrCat("flag '", Spell(name), "' needs a value (", spec->value_name, ")"));
      }
      raw.push_back({name, std::move(value), Spell(name)});
      continue;
    }
    if (command == nullptr && !flags_ended) {
      std::vector<std::string> candidate = path;
      candidate.push_back(a);
      if (IsPrefix(candidate)) {
        path = std::move(candidate);
        command = Find(path);
        continue;
      }
      if (!help) {
        if (path.empty()) {
          return fail(absl::StrCat("unknown command '", a, "' (see '", program_, " --help')"));
        }
        return fail(
            absl::StrCat("unknown command '", JoinPath(path), " ", a, "'; ", CommandList(path)));
      }
    }
    positionals.push_back(a);
  }

  if (help) {
    result.help = Help(path);
    return result;
  }
  if (command == nullptr) {
    if (path.empty()) return fail(absl::StrCat("no command given (see '", program_, " --help')"));
    return fail(absl::StrCat("'", JoinPath(path), "' needs a subcommand; ", CommandList(path)));
  }

  Invocation inv;
  inv.command = command;
  const std::string usage_hint =
      absl::StrCat(" (see '", program_, " ", JoinPath(command->path), " --help')");
  for (const RawFlag& f : raw) {
    const FlagSpec* spec = FindFlag(command->flags, f.name);
    if (spec == nullptr) spec = FindFlag(global_flags_, f.name);
    if (spec == nullptr) {
      return fail(absl::StrCat("unknown flag '", f.spelled, "' for '", program_, " ",
                               JoinPath(command->path), "'", usage_hint));
    }
    auto& values = inv.values[spec->name];
    if (!values.empty() && !spec->repeated) {
      return fail(absl::StrCat("flag '", f.spelled, "' is given more than once"));
    }
    values.push_back(f.value);
    inv.from_command_line[spec->name] = true;
  }
  auto fill = [&](const FlagSpec& spec) -> bool {
    if (inv.values.count(spec.name) > 0) return true;
    if (!spec.env.empty()) {
      if (std::optional<std::string> env = getenv(spec.env); env.has_value() && !env->empty()) {
        if (spec.boolean() && !ParseBool(*env).has_value()) {
          result.error = absl::StrCat("environment variable ", spec.env, " is true or false, not '",
                                      *env, "'");
          return false;
        }
        inv.values[spec.name].push_back(*env);
        return true;
      }
    }
    if (spec.required) {
      result.error = absl::StrCat("missing flag '", Spell(spec.name), spec.boolean() ? "" : " ",
                                  spec.value_name, "'", usage_hint);
      return false;
    }
    if (!spec.default_value.empty()) inv.values[spec.name].push_back(spec.default_value);
    return true;
  };
  for (const FlagSpec& spec : command->flags) {
    if (!fill(spec)) return result;
  }
  for (const FlagSpec& spec : global_flags_) {
    if (!fill(spec)) return result;
  }
  const int n = static_cast<int>(positionals.size());
  if (n < command->min_args) {
    return fail(
        absl::StrCat("'", JoinPath(command->path), "' needs ", command->arguments, usage_hint));
  }
  if (n > command->max_args) {
    return fail(
        absl::StrCat("unexpected argument '", positionals[command->max_args], "'", usage_hint));
  }
  inv.args = std::move(positionals);
  result.invocation = std::move(inv);
  return result;
}

std::string CommandLine::CommandList(const std::vector<std::string>& prefix) const {
  std::vector<std::string> names;
  for (const CommandSpec& c : commands_) {
    if (c.path.size() > prefix.size() && std::equal(prefix.begin(), prefix.end(), c.path.begin())) {
      if (names.empty() || names.back() != c.path[prefix.size()]) {
        names.push_back(c.path[prefix.size()]);
      }
    }
  }
  return absl::StrCat("one of: ", absl::StrJoin(names, ", "));
}

std::string CommandLine::Help(const std::vector<std::string>& prefix) const {
  std::string out;
  if (const CommandSpec* c = Find(prefix)) {
    absl::StrAppend(&out, "Usage: ", program_, " ", JoinPath(c->path),
                    c->arguments.empty() ? "" : " ", c->arguments, " [flags]\n\n", c->summary,
                    "\n");
    if (!c->flags.empty()) {
      absl::StrAppend(&out, "\nFlags:\n");
      AppendFlagHelp(c->flags, &out);
    }
    absl::StrAppend(&out, "\nGlobal flags:\n");
    AppendFlagHelp(global_flags_, &out);
    if (!c->details.empty()) absl::StrAppend(&out, "\n", c->details, "\n");
    if (!c->examples.empty()) absl::StrAppend(&out, "\nExamples:\n", c->examples, "\n");
    return out;
  }
  absl::StrAppend(&out, "Usage: ", program_, " ", prefix.empty() ? "" : JoinPath(prefix) + " ",
                  "COMMAND [ARGUMENTS] [flags]\n\n");
  if (prefix.empty()) absl::StrAppend(&out, description_, "\n\n");
  absl::StrAppend(&out, "Commands:\n");
  std::size_t width = 0;
  for (const CommandSpec& c : commands_) width = std::max(width, JoinPath(c.path).size());
  for (const CommandSpec& c : commands_) {
    if (c.path.size() < prefix.size() ||
        !std::equal(prefix.begin(), prefix.end(), c.path.begin())) {
      continue;
    }
    const std::string name = JoinPath(c.path);
    absl::StrAppend(&out, "  ", name, std::string(width - name.size() + 2, ' '), c.summary, "\n");
  }
  absl::StrAppend(&out, "\nGlobal flags:\n");
  AppendFlagHelp(global_flags_, &out);
  absl::StrAppend(&out, "\nRun '", program_, " COMMAND --help' for a command's flags and examples.",
                  "\nExit codes: 0 done, 1 a call or some rows were refused (or a service was",
                  " unreachable), 2 usage error.\n");
  return out;
}

}  // namespace observer::ctl
