#include "tools/observerctl/command_line.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace observer::ctl {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

// A small tool: global flags (one with environment and default, a boolean with environment, one
// with a default only), a group "observer" with two subcommands and a top-level "import".
CommandLine MakeCommandLine() {
  std::vector<FlagSpec> globals = {
      FlagSpec("registry", "ADDR", "registry-service address", false, false, "OBSERVERCTL_REGISTRY",
               "127.0.0.1:50051"),
      FlagSpec("verbose", "", "log every call", false, false, "OBSERVERCTL_VERBOSE"),
      FlagSpec("timeout", "DUR", "deadline of each call", false, false, "", "30s"),
  };
  CommandSpec add;
  add.path = {"observer", "add"};
  add.summary = "Submit an observer";
  add.flags = {
      FlagSpec("election", "ELECTION", "the election", false, true),
      FlagSpec("family-name", "TEXT", "family name"),
      FlagSpec("dry-run", "", "check only"),
      FlagSpec("tag", "TAG", "a label", true),
  };
  add.details = "Adds one person to the register.";
  add.examples = "  observerctl observer add --election kz-2021 --family-name Smith";
  CommandSpec get;
  get.path = {"observer", "get"};
  get.summary = "Show an observer";
  get.arguments = "OBSERVER";
  get.min_args = 1;
  get.max_args = 1;
  get.flags = {FlagSpec("output", "FORMAT", "text or json")};
  get.examples = "  observerctl observer get elections/kz-2021/observers/42";
  CommandSpec import;
  import.path = {"import"};
  import.summary = "Import a CSV file";
  import.arguments = "FILE [FILE]";
  import.min_args = 1;
  import.max_args = 2;
  import.flags = {
      FlagSpec("election", "ELECTION", "the election", false, true),
      FlagSpec("dry-run", "", "check only"),
  };
  import.examples = "  observerctl import people.csv --election kz-2021";
  return CommandLine("observerctl", "The operator's command line.", std::move(globals),
                     {add, get, import});
}

class CommandLineTest : public ::testing::Test {
 protected:
  ParseResult Parse(const std::vector<std::string>& args) {
    return cli_.Parse(args, [this](const std::string& name) -> std::optional<std::string> {
      auto it = env_.find(name);
      if (it == env_.end()) return std::nullopt;
      return it->second;
    });
  }

  // Parses `args`, expecting an invocation.
  Invocation Ok(const std::vector<std::string>& args) {
    ParseResult r = Parse(args);
    EXPECT_EQ(r.error, "");
    EXPECT_EQ(r.help, "");
    if (!r.invocation.has_value()) {
      ADD_FAILURE() << "no invocation; error: " << r.error;
      return Invocation{};
    }
    return *std::move(r.invocation);
  }

  // Parses `args`, expecting a usage error, and returns its message.
  std::string Error(const std::vector<std::string>& args) {
    ParseResult r = Parse(args);
    EXPECT_FALSE(r.invocation.has_value());
    EXPECT_EQ(r.help, "");
    EXPECT_NE(r.error, "");
    return r.error;
  }

  // Parses `args`, expecting help text.
  std::string HelpOf(const std::vector<std::string>& args) {
    ParseResult r = Parse(args);
    EXPECT_FALSE(r.invocation.has_value());
    EXPECT_EQ(r.error, "");
    EXPECT_NE(r.help, "");
    return r.help;
  }

  CommandLine cli_ = MakeCommandLine();
  std::map<std::string, std::string> env_;
};

TEST_F(CommandLineTest, FindsCommandInGroupAndPositionals) {
  Invocation inv = Ok({"observer", "get", "elections/kz-2021/observers/42"});
  ASSERT_NE(inv.command, nullptr);
  EXPECT_THAT(inv.command->path, ElementsAre("observer", "get"));
  EXPECT_THAT(inv.args, ElementsAre("elections/kz-2021/observers/42"));
}

TEST_F(CommandLineTest, FindsTopLevelCommand) {
  Invocation inv = Ok({"import", "a.csv", "b.csv", "--election", "kz-2021"});
  ASSERT_NE(inv.command, nullptr);
  EXPECT_THAT(inv.command->path, ElementsAre("import"));
  EXPECT_THAT(inv.args, ElementsAre("a.csv", "b.csv"));
  EXPECT_EQ(inv.Get("election"), "kz-2021");
}

TEST_F(CommandLineTest, FlagWithEqualsAndWithSeparateValue) {
  Invocation inv =
      Ok({"observer", "add", "--election=kz-2021", "--family-name", "Нұрланқызы", "--timeout=5s"});
  EXPECT_EQ(inv.Get("election"), "kz-2021");
  EXPECT_EQ(inv.Get("family-name"), "Нұрланқызы");
  EXPECT_EQ(inv.Get("timeout"), "5s");
}

TEST_F(CommandLineTest, ValueAfterEqualsMayHoldEqualsAndBeEmpty) {
  Invocation inv = Ok({"observer", "add", "--election=a=b", "--family-name="});
  EXPECT_EQ(inv.Get("election"), "a=b");
  EXPECT_TRUE(inv.Given("family-name"));
  EXPECT_EQ(inv.Get("family-name"), "");
}

TEST_F(CommandLineTest, SeparateValueMayStartWithSingleDash) {
  Invocation inv = Ok({"observer", "add", "--election", "kz", "--family-name", "-x-"});
  EXPECT_EQ(inv.Get("family-name"), "-x-");
}

TEST_F(CommandLineTest, UnderscoreAndDashAreTheSameInFlagNames) {
  Invocation inv = Ok({"observer", "add", "--election", "kz", "--family_name=Smith", "--dry_run"});
  EXPECT_EQ(inv.Get("family-name"), "Smith");
  EXPECT_TRUE(inv.Given("family-name"));
  EXPECT_TRUE(inv.IsSet("dry-run"));
}

TEST_F(CommandLineTest, BooleanFlagAloneIsTrue) {
  Invocation inv = Ok({"observer", "add", "--election", "kz", "--dry-run"});
  EXPECT_TRUE(inv.IsSet("dry-run"));
  EXPECT_TRUE(inv.Given("dry-run"));
  EXPECT_EQ(inv.Get("dry-run"), "true");
}

TEST_F(CommandLineTest, BooleanFlagDoesNotTakeTheNextWord) {
  Invocation inv = Ok({"import", "--dry-run", "people.csv", "--election", "kz"});
  EXPECT_TRUE(inv.IsSet("dry-run"));
  EXPECT_THAT(inv.args, ElementsAre("people.csv"));
}

TEST_F(CommandLineTest, BooleanFlagExplicitFalseAndTrue) {
  Invocation off = Ok({"observer", "add", "--election", "kz", "--dry-run=false"});
  EXPECT_FALSE(off.IsSet("dry-run"));
  EXPECT_TRUE(off.Given("dry-run"));
  Invocation on = Ok({"observer", "add", "--election", "kz", "--dry-run=true"});
  EXPECT_TRUE(on.IsSet("dry-run"));
  Invocation absent = Ok({"observer", "add", "--election", "kz"});
  EXPECT_FALSE(absent.IsSet("dry-run"));
  EXPECT_FALSE(absent.Given("dry-run"));
}

TEST_F(CommandLineTest, BooleanFlagBadValueIsAnError) {
  const std::string error = Error({"observer", "add", "--election", "kz", "--dry-run=maybe"});
  EXPECT_THAT(error, HasSubstr("--dry-run"));
  EXPECT_THAT(error, HasSubstr("'maybe'"));
  EXPECT_THAT(error, HasSubstr("true or false"));
}

TEST_F(CommandLineTest, GlobalAndCommandFlagsBeforeTheCommandWords) {
  Invocation inv = Ok({"--registry", "10.0.0.1:1", "--election=kz", "--dry-run", "observer", "add",
                       "--family-name", "Smith"});
  ASSERT_NE(inv.command, nullptr);
  EXPECT_THAT(inv.command->path, ElementsAre("observer", "add"));
  EXPECT_EQ(inv.Get("registry"), "10.0.0.1:1");
  EXPECT_EQ(inv.Get("election"), "kz");
  EXPECT_TRUE(inv.IsSet("dry-run"));
  EXPECT_EQ(inv.Get("family-name"), "Smith");
  EXPECT_THAT(inv.args, IsEmpty());
}

TEST_F(CommandLineTest, FlagsBetweenTheCommandWords) {
  Invocation inv = Ok({"observer", "--verbose", "get", "42", "--output", "json"});
  ASSERT_NE(inv.command, nullptr);
  EXPECT_THAT(inv.command->path, ElementsAre("observer", "get"));
  EXPECT_TRUE(inv.IsSet("verbose"));
  EXPECT_EQ(inv.Get("output"), "json");
  EXPECT_THAT(inv.args, ElementsAre("42"));
}

TEST_F(CommandLineTest, DoubleDashEndsFlags) {
  Invocation inv = Ok({"observer", "get", "--output", "json", "--", "--not-a-flag"});
  EXPECT_EQ(inv.Get("output"), "json");
  EXPECT_THAT(inv.args, ElementsAre("--not-a-flag"));
  EXPECT_FALSE(inv.Given("not-a-flag"));
}

TEST_F(CommandLineTest, HelpAfterDoubleDashIsAnArgument) {
  Invocation inv = Ok({"observer", "get", "--", "--help"});
  EXPECT_THAT(inv.args, ElementsAre("--help"));
}

TEST_F(CommandLineTest, SingleDashIsAnArgument) {
  Invocation inv = Ok({"import", "-", "--election", "kz"});
  EXPECT_THAT(inv.args, ElementsAre("-"));
}

TEST_F(CommandLineTest, TooFewArgumentsNamesThem) {
  const std::string error = Error({"observer", "get"});
  EXPECT_THAT(error, HasSubstr("'observer get' needs OBSERVER"));
  EXPECT_THAT(error, HasSubstr("observerctl observer get --help"));
}

TEST_F(CommandLineTest, TooManyArgumentsNamesTheFirstExtra) {
  const std::string error = Error({"observer", "get", "a", "b", "c"});
  EXPECT_THAT(error, HasSubstr("unexpected argument 'b'"));
  const std::string error2 = Error({"import", "a", "b", "c", "--election", "kz"});
  EXPECT_THAT(error2, HasSubstr("unexpected argument 'c'"));
}

TEST_F(CommandLineTest, CommandWithoutArgumentsRefusesOne) {
  const std::string error = Error({"observer", "add", "--election", "kz", "extra"});
  EXPECT_THAT(error, HasSubstr("unexpected argument 'extra'"));
}

TEST_F(CommandLineTest, UnknownTopLevelCommand) {
  const std::string error = Error({"frobnicate", "x"});
  EXPECT_THAT(error, HasSubstr("unknown command 'frobnicate'"));
  EXPECT_THAT(error, HasSubstr("observerctl --help"));
}

TEST_F(CommandLineTest, UnknownSubcommandListsTheGroupsSubcommands) {
  const std::string error = Error({"observer", "frob"});
  EXPECT_THAT(error, HasSubstr("unknown command 'observer frob'"));
  EXPECT_THAT(error, HasSubstr("one of: add, get"));
  EXPECT_THAT(error, Not(HasSubstr("import")));
}

TEST_F(CommandLineTest, GroupWithoutSubcommand) {
  const std::string error = Error({"observer"});
  EXPECT_THAT(error, HasSubstr("'observer' needs a subcommand"));
  EXPECT_THAT(error, HasSubstr("one of: add, get"));
}

TEST_F(CommandLineTest, NoCommandAtAll) {
  EXPECT_THAT(Error({}), HasSubstr("no command given"));
  EXPECT_THAT(Error({"--registry", "x:1"}), HasSubstr("no command given"));
}

TEST_F(CommandLineTest, UnknownFlagNamesFlagAndCommand) {
  const std::string error = Error({"observer", "get", "42", "--bogus"});
  EXPECT_THAT(error, HasSubstr("unknown flag '--bogus'"));
  EXPECT_THAT(error, HasSubstr("'observerctl observer get'"));
}

TEST_F(CommandLineTest, UnknownFlagBeforeTheCommand) {
  const std::string error = Error({"--bogus", "observer", "get", "42"});
  EXPECT_THAT(error, HasSubstr("unknown flag '--bogus'"));
}

TEST_F(CommandLineTest, FlagOfAnotherCommandIsUnknown) {
  // --dry-run belongs to "observer add" and "import", not to "observer get".
  const std::string after = Error({"observer", "get", "42", "--dry-run"});
  EXPECT_THAT(after, HasSubstr("unknown flag '--dry-run'"));
  EXPECT_THAT(after, HasSubstr("observer get"));
  // --output belongs to "observer get" only; given before "import" it is found unknown later.
  const std::string before = Error({"--output", "json", "import", "a.csv", "--election", "kz"});
  EXPECT_THAT(before, HasSubstr("unknown flag '--output'"));
  EXPECT_THAT(before, HasSubstr("'observerctl import'"));
}

TEST_F(CommandLineTest, NonRepeatedFlagGivenTwiceIsAnError) {
  const std::string error = Error({"observer", "add", "--election", "a", "--election=b"});
  EXPECT_THAT(error, HasSubstr("'--election'"));
  EXPECT_THAT(error, HasSubstr("more than once"));
  EXPECT_THAT(Error({"--registry=a", "observer", "get", "1", "--registry", "b"}),
              HasSubstr("'--registry' is given more than once"));
}

TEST_F(CommandLineTest, RepeatedFlagAccumulates) {
  Invocation inv = Ok({"observer", "add", "--tag", "eu", "--election", "kz", "--tag=team-a"});
  EXPECT_THAT(inv.GetAll("tag"), ElementsAre("eu", "team-a"));
  EXPECT_EQ(inv.Get("tag"), "team-a");
  EXPECT_THAT(inv.GetAll("family-name"), IsEmpty());
}

TEST_F(CommandLineTest, MissingRequiredFlagIsNamed) {
  const std::string error = Error({"observer", "add", "--family-name", "Smith"});
  EXPECT_THAT(error, HasSubstr("missing flag '--election ELECTION'"));
  EXPECT_THAT(error, HasSubstr("observerctl observer add --help"));
}

TEST_F(CommandLineTest, MissingValueAtEndAndBeforeAnotherFlag) {
  const std::string at_end = Error({"observer", "get", "42", "--output"});
  EXPECT_THAT(at_end, HasSubstr("flag '--output' needs a value (FORMAT)"));
  const std::string before_flag = Error({"observer", "get", "42", "--output", "--verbose"});
  EXPECT_THAT(before_flag, HasSubstr("flag '--output' needs a value"));
}

TEST_F(CommandLineTest, DefaultWhenNeitherFlagNorEnvironment) {
  Invocation inv = Ok({"observer", "get", "42"});
  EXPECT_EQ(inv.Get("registry"), "127.0.0.1:50051");
  EXPECT_EQ(inv.Get("timeout"), "30s");
  EXPECT_FALSE(inv.Given("registry"));
  EXPECT_FALSE(inv.Given("timeout"));
  EXPECT_EQ(inv.Get("output"), "");
  EXPECT_FALSE(inv.IsSet("verbose"));
}

TEST_F(CommandLineTest, EnvironmentBeatsDefault) {
  env_["OBSERVERCTL_REGISTRY"] = "registry.example:443";
  env_["OBSERVERCTL_VERBOSE"] = "yes";
  Invocation inv = Ok({"observer", "get", "42"});
  EXPECT_EQ(inv.Get("registry"), "registry.example:443");
  EXPECT_TRUE(inv.IsSet("verbose"));
  EXPECT_FALSE(inv.Given("registry"));
  EXPECT_FALSE(inv.Given("verbose"));
}

TEST_F(CommandLineTest, FlagBeatsEnvironment) {
  env_["OBSERVERCTL_REGISTRY"] = "registry.example:443";
  env_["OBSERVERCTL_VERBOSE"] = "true";
  Invocation inv = Ok({"observer", "get", "42", "--registry=flag:1", "--verbose=false"});
  EXPECT_EQ(inv.Get("registry"), "flag:1");
  EXPECT_THAT(inv.GetAll("registry"), ElementsAre("flag:1"));
  EXPECT_FALSE(inv.IsSet("verbose"));
  EXPECT_TRUE(inv.Given("registry"));
}

TEST_F(CommandLineTest, EmptyEnvironmentVariableFallsBackToDefault) {
  env_["OBSERVERCTL_REGISTRY"] = "";
  EXPECT_EQ(Ok({"observer", "get", "42"}).Get("registry"), "127.0.0.1:50051");
}

TEST_F(CommandLineTest, EnvironmentIsReadOnlyForTheFlagsVariable) {
  env_["OBSERVERCTL_TIMEOUT"] = "1s";  // --timeout names no environment variable here.
  EXPECT_EQ(Ok({"observer", "get", "42"}).Get("timeout"), "30s");
}

TEST_F(CommandLineTest, BadBooleanInEnvironmentNamesTheVariable) {
  env_["OBSERVERCTL_VERBOSE"] = "loud";
  const std::string error = Error({"observer", "get", "42"});
  EXPECT_THAT(error, HasSubstr("OBSERVERCTL_VERBOSE"));
  EXPECT_THAT(error, HasSubstr("'loud'"));
}

TEST_F(CommandLineTest, BadBooleanInEnvironmentIsIgnoredWhenFlagGiven) {
  env_["OBSERVERCTL_VERBOSE"] = "loud";
  EXPECT_TRUE(Ok({"observer", "get", "42", "--verbose"}).IsSet("verbose"));
}

TEST_F(CommandLineTest, GivenOnlyForCommandLineFlags) {
  env_["OBSERVERCTL_REGISTRY"] = "env:1";
  Invocation inv = Ok({"observer", "add", "--election", "kz", "--dry-run=false"});
  EXPECT_TRUE(inv.Given("election"));
  EXPECT_TRUE(inv.Given("dry-run"));
  EXPECT_FALSE(inv.Given("registry"));  // From the environment.
  EXPECT_FALSE(inv.Given("timeout"));   // From the default.
  EXPECT_FALSE(inv.Given("family-name"));
  EXPECT_FALSE(inv.Given("no-such-flag"));
}

TEST_F(CommandLineTest, CommandHelpHasUsageFlagsDetailsAndExamples) {
  const std::string help = HelpOf({"observer", "add", "--help"});
  EXPECT_THAT(help, HasSubstr("Usage: observerctl observer add [flags]"));
  EXPECT_THAT(help, HasSubstr("Submit an observer"));
  EXPECT_THAT(help, HasSubstr("--election ELECTION"));
  EXPECT_THAT(help, HasSubstr("--family-name TEXT"));
  EXPECT_THAT(help, HasSubstr("--dry-run"));
  EXPECT_THAT(help, HasSubstr("required"));
  EXPECT_THAT(help, HasSubstr("may be repeated"));
  EXPECT_THAT(help, HasSubstr("Global flags:"));
  EXPECT_THAT(help, HasSubstr("--registry ADDR"));
  EXPECT_THAT(help, HasSubstr("env OBSERVERCTL_REGISTRY; default 127.0.0.1:50051"));
  EXPECT_THAT(help, HasSubstr("Adds one person to the register."));
  EXPECT_THAT(help, HasSubstr("Examples:\n"));
  EXPECT_THAT(help, HasSubstr("observerctl observer add --election kz-2021 --family-name Smith"));
}

TEST_F(CommandLineTest, HelpWinsOverMissingRequiredFlagsAndArguments) {
  EXPECT_THAT(HelpOf({"observer", "add", "-h"}), HasSubstr("Usage: observerctl observer add"));
  EXPECT_THAT(HelpOf({"import", "--help"}),
              HasSubstr("Usage: observerctl import FILE [FILE] [flags]"));
}

TEST_F(CommandLineTest, HelpAnywhereOnTheLine) {
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"--help", "observer", "get"},
           {"observer", "-h", "get"},
           {"observer", "get", "42", "--output", "json", "-h"},
           {"observer", "get", "--help", "42"},
       }) {
    const std::string help = HelpOf(args);
    EXPECT_THAT(help, HasSubstr("Usage: observerctl observer get OBSERVER [flags]")) << args.size();
    EXPECT_THAT(help, HasSubstr("--output FORMAT"));
    EXPECT_THAT(help, HasSubstr("observerctl observer get elections/kz-2021/observers/42"));
  }
}

TEST_F(CommandLineTest, ProgramHelpListsEveryCommand) {
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"--help"}, {"-h"}}) {
    const std::string help = HelpOf(args);
    EXPECT_THAT(help, HasSubstr("Usage: observerctl COMMAND"));
    EXPECT_THAT(help, HasSubstr("The operator's command line."));
    for (const CommandSpec& c : cli_.commands()) {
      EXPECT_THAT(help, HasSubstr(JoinPath(c.path))) << JoinPath(c.path);
      EXPECT_THAT(help, HasSubstr(c.summary));
    }
    EXPECT_THAT(help, HasSubstr("--registry ADDR"));
  }
}

TEST_F(CommandLineTest, GroupHelpListsItsSubcommands) {
  const std::string help = HelpOf({"observer", "--help"});
  EXPECT_THAT(help, HasSubstr("Usage: observerctl observer COMMAND"));
  EXPECT_THAT(help, HasSubstr("observer add"));
  EXPECT_THAT(help, HasSubstr("observer get"));
  EXPECT_THAT(help, Not(HasSubstr("Import a CSV file")));
}

TEST_F(CommandLineTest, HelpMethodMatchesParsedHelp) {
  EXPECT_EQ(cli_.Help({"observer", "get"}), HelpOf({"observer", "get", "--help"}));
  EXPECT_EQ(cli_.Help({}), HelpOf({"--help"}));
}

TEST(JoinPathTest, JoinsWithSpaces) {
  EXPECT_EQ(JoinPath({"observer", "add"}), "observer add");
  EXPECT_EQ(JoinPath({"import"}), "import");
  EXPECT_EQ(JoinPath({}), "");
}

}  // namespace
}  // namespace observer::ctl
