// End-to-end tests of observerctl, the operator's command line (docs/observerctl.md), as a black
// box: the real binary runs as a child process (harness/command.h) against the real
// registry-service and stats-service binaries on loopback, with a SQLite store in a temporary
// directory. Every test checks the exit code, the key parts of stdout/stderr and, for writes,
// the state the servers hold afterwards through their gRPC APIs (not through observerctl).
//
// The services are shared by the tests of one process (a test-suite fixture); tests do not
// interfere: each uses its own election ids and organisation codes. The example data set
// (tools/example-data) is loaded at most once per process, by the tests that need it.
//
// Every run of observerctl is bounded by a timeout, so a hanging command fails the test.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "tests/harness/builders.h"
#include "tests/harness/command.h"
#include "tests/harness/example_data.h"
#include "tests/harness/http_get.h"
#include "tests/harness/registry_client.h"
#include "tests/harness/registry_process.h"
#include "tests/harness/stats_client.h"
#include "tests/harness/stats_process.h"
#include "tests/harness/status_matchers.h"
#include "tests/harness/temp_dir.h"
#include "tools/example-data/kz2021_dataset.h"

namespace observer::testing {
namespace {

using ::testing::AllOf;
using ::testing::ContainsRegex;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::UnorderedElementsAreArray;

constexpr char kExampleElectionId[] = "kz-2021-majilis";
constexpr char kExampleElection[] = "elections/kz-2021-majilis";

// The observerctl binary: $OBSERVERCTL_BINARY if set, else the path CMake compiled in.
std::string ObserverctlBinary() {
#ifdef OBSERVERCTL_BINARY
  return BinaryPath("OBSERVERCTL_BINARY", OBSERVERCTL_BINARY);
#else
  return BinaryPath("OBSERVERCTL_BINARY", "");
#endif
}

// The environment variables observerctl reads; unset in every run unless a test sets them.
const std::vector<std::string>& ObserverctlEnvironment() {
  static const std::vector<std::string> kVars = {
      "OBSERVERCTL_REGISTRY",       "OBSERVERCTL_STATS",    "OBSERVERCTL_TIMEOUT",
      "OBSERVERCTL_TLS_CA",         "OBSERVERCTL_TLS_CERT", "OBSERVERCTL_TLS_KEY",
      "OBSERVERCTL_TLS_SERVER_NAME"};
  return kVars;
}

// ---------------------------------------------------------------------------------------------
// Text helpers.

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    line = absl::StripSuffix(line, "\r");
    if (!absl::StripAsciiWhitespace(line).empty()) lines.emplace_back(line);
  }
  return lines;
}

std::string LastLine(const std::string& text) {
  std::vector<std::string> lines = Lines(text);
  return lines.empty() ? "" : std::string(absl::StripAsciiWhitespace(lines.back()));
}

// Every "row N" the text mentions.
std::set<int> RowNumbersIn(const std::string& text) {
  static const std::regex kRow(R"(\brow (\d+)\b)");
  std::set<int> rows;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), kRow); it != std::sregex_iterator();
       ++it) {
    rows.insert(std::atoi((*it)[1].str().c_str()));
  }
  return rows;
}

// The lines of `text` that mention "row N".
std::string LinesAboutRow(const std::string& text, int row) {
  const std::regex kRow(absl::StrCat(R"(\brow )", row, R"(\b)"));
  std::string out;
  for (const std::string& line : Lines(text)) {
    if (std::regex_search(line, kRow)) absl::StrAppend(&out, line, "\n");
  }
  return out;
}

// Whether `text` contains `token` as a whole number/word (not part of a longer one).
bool HasToken(const std::string& text, const std::string& token) {
  const std::regex re(absl::StrCat(R"((^|[^0-9A-Za-z.]))", token, R"(($|[^0-9A-Za-z]))"));
  return std::regex_search(text, re);
}

// Number of UTF-8 code points in `s` (display columns for the scripts used here).
size_t CodePoints(absl::string_view s) {
  size_t n = 0;
  for (char c : s) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  }
  return n;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  if (!out) throw TestFailure(absl::StrCat("cannot write ", path));
}

// ---------------------------------------------------------------------------------------------
// CSV (RFC 4180).

std::string CsvField(absl::string_view value) {
  if (value.find_first_of(",\"\r\n") == absl::string_view::npos) return std::string(value);
  std::string out = "\"";
  for (char c : value) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

std::string CsvLine(const std::vector<std::string>& fields) {
  std::vector<std::string> quoted;
  for (const auto& f : fields) quoted.push_back(CsvField(f));
  return absl::StrCat(absl::StrJoin(quoted, ","), "\n");
}

struct CsvTable {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;

  int Column(absl::string_view name) const {
    for (size_t i = 0; i < header.size(); ++i) {
      if (header[i] == name) return static_cast<int>(i);
    }
    return -1;
  }
  bool HasColumn(absl::string_view name) const { return Column(name) >= 0; }
  // The cell of `row` in column `name` ("" if there is no such column).
  std::string Get(size_t row, absl::string_view name) const {
    const int c = Column(name);
    if (c < 0 || row >= rows.size() || static_cast<size_t>(c) >= rows[row].size()) return "";
    return rows[row][static_cast<size_t>(c)];
  }
};

// Parses RFC 4180 text (a BOM is skipped; CRLF or LF); the first record is the header.
CsvTable ParseCsv(absl::string_view text) {
  if (absl::StartsWith(text, "\xEF\xBB\xBF")) text.remove_prefix(3);
  std::vector<std::vector<std::string>> records;
  std::vector<std::string> record;
  std::string field;
  bool quoted = false, any = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field.push_back('"');
          ++i;
        } else {
          quoted = false;
        }
      } else {
        field.push_back(c);
      }
      continue;
    }
    if (c == '"') {
      quoted = true;
      any = true;
    } else if (c == ',') {
      record.push_back(std::move(field));
      field.clear();
      any = true;
    } else if (c == '\r') {
      continue;
    } else if (c == '\n') {
      if (any || !field.empty()) {
        record.push_back(std::move(field));
        records.push_back(std::move(record));
      }
      record.clear();
      field.clear();
      any = false;
    } else {
      field.push_back(c);
      any = true;
    }
  }
  if (any || !field.empty()) {
    record.push_back(std::move(field));
    records.push_back(std::move(record));
  }
  CsvTable table;
  if (!records.empty()) {
    table.header = records.front();
    table.rows.assign(records.begin() + 1, records.end());
  }
  return table;
}

// ---------------------------------------------------------------------------------------------
// JSON: the API's canonical protobuf JSON.

absl::StatusOr<google::protobuf::Value> ParseJsonValue(const std::string& text) {
  google::protobuf::Value value;
  auto s = google::protobuf::util::JsonStringToMessage(text, &value);
  if (!s.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("not JSON: ", s.ToString(), "\n", text.substr(0, 2000)));
  }
  return value;
}

std::string ToJson(const google::protobuf::Message& m) {
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(m, &out);
  return out;
}

// Parses `text` into M, strictly (an unknown field is an error).
template <typename M>
absl::StatusOr<M> ParseJsonAs(const std::string& text) {
  M m;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto s = google::protobuf::util::JsonStringToMessage(text, &m, options);
  if (!s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("not a ", M::descriptor()->full_name(), ": ",
                                                   s.ToString(), "\n", text.substr(0, 2000)));
  }
  return m;
}

// A JSON array of records (list --output json, export --output json).
template <typename M>
absl::StatusOr<std::vector<M>> ParseJsonArray(const std::string& text) {
  absl::StatusOr<google::protobuf::Value> value = ParseJsonValue(text);
  if (!value.ok()) return value.status();
  if (!value->has_list_value()) {
    return absl::InvalidArgumentError(absl::StrCat("not a JSON array: ", text.substr(0, 2000)));
  }
  std::vector<M> out;
  for (const google::protobuf::Value& v : value->list_value().values()) {
    absl::StatusOr<M> m = ParseJsonAs<M>(ToJson(v));
    if (!m.ok()) return m.status();
    out.push_back(*std::move(m));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Observers and files.

std::string ObserverNameIn(const std::string& text) {
  static const std::regex kName(R"(elections/[a-z0-9-]+/observers/[A-Za-z0-9_.~-]+)");
  std::smatch m;
  if (std::regex_search(text, m, kName)) return m[0].str();
  return "";
}

// Letters only (the registry accepts Latin names of letters, spaces, '-', '\'' and '.').
std::string UpperLetters(int64_t n) { return absl::AsciiStrToUpper(Letters(n)); }

// n written with Cyrillic letters (one per decimal digit).
std::string CyrillicDigits(int64_t n) {
  static const char* const kDigits[] = {"а", "б", "в", "г", "д", "е", "ж", "з", "и", "к"};
  std::string digits = absl::StrCat(n), out;
  for (char c : digits) out += kDigits[c - '0'];
  return out;
}

const std::vector<std::string>& ImportColumns() {
  static const std::vector<std::string> kColumns = {
      "given_names",          "family_name", "latin_given_names",
      "latin_family_name",    "citizenship", "gender",
      "birth_date",           "id_type",     "id_number",
      "id_country",           "email",       "phone",
      "organisation",         "state",       "category",
      "submission_reference", "tags",        "test"};
  return kColumns;
}

// One CSV row of an import file, by column name.
using Row = std::map<std::string, std::string>;

std::string CsvFile(const std::vector<Row>& rows,
                    const std::vector<std::string>& columns = ImportColumns()) {
  std::string out = CsvLine(columns);
  for (const Row& row : rows) {
    std::vector<std::string> fields;
    for (const std::string& c : columns) {
      auto it = row.find(c);
      fields.push_back(it == row.end() ? "" : it->second);
    }
    out += CsvLine(fields);
  }
  return out;
}

// A valid person number `i` (unique names and documents; `id_prefix` keeps files apart),
// sent by one of `organisations` or by a foreign state, in a mix of scripts and categories.
Row PersonRow(int i, const std::string& id_prefix, const std::vector<std::string>& organisations) {
  static const std::vector<std::pair<std::string, std::string>> kGiven = {
      {"Әлия", "ALIYA"},  {"Иван", "IVAN"},     {"Нұрлан", "NURLAN"},     {"Anna", "ANNA"},
      {"Ғалым", "GALYM"}, {"Мария", "MARIYA"},  {"Jean-Luc", "JEAN-LUC"}, {"Өмір", "OMIR"},
      {"Zoë", "ZOE"},     {"Қуаныш", "KUANYSH"}};
  static const std::vector<std::pair<std::string, std::string>> kFamily = {
      {"Иванова", "IVANOVA"}, {"Schmidt", "SCHMIDT"}, {"Құрманғазыұлы", "KURMANGAZYULY"},
      {"Петров", "PETROV"},   {"O'Brien", "O'BRIEN"}, {"Сәрсенбаева", "SARSENBAYEVA"},
      {"Dupont", "DUPONT"}};
  static const std::vector<std::string> kStates = {"DE", "FR", "RU", "UZ", "KG", "TR",
                                                   "PL", "US", "GB", "IN", "JP", "MN"};
  static const std::vector<std::string> kCategories = {
      "short-term", "long-term", "core-team", "parliamentarian", "head-of-delegation", "other"};
  static const std::vector<std::string> kIdTypes = {"passport", "national-id",
                                                    "diplomatic-passport", "service-passport"};
  static const std::vector<std::string> kGenders = {"female", "male", "", "other"};
  const auto& given = kGiven[static_cast<size_t>(i) % kGiven.size()];
  const auto& family = kFamily[static_cast<size_t>(i / 3) % kFamily.size()];
  const std::string& state = kStates[static_cast<size_t>(i / 2) % kStates.size()];
  Row row;
  row["given_names"] = given.first;
  row["family_name"] = absl::StrCat(family.first, "-", CyrillicDigits(i));
  row["latin_given_names"] = given.second;
  row["latin_family_name"] = absl::StrCat(family.second, " ", UpperLetters(i));
  row["citizenship"] = state;
  row["gender"] = kGenders[static_cast<size_t>(i) % kGenders.size()];
  row["birth_date"] = absl::StrFormat("%04d-%02d-%02d", 1950 + i % 50, 1 + i % 12, 1 + i % 28);
  row["id_type"] = kIdTypes[static_cast<size_t>(i) % kIdTypes.size()];
  row["id_number"] = absl::StrCat(id_prefix, 10000000 + i);
  row["id_country"] = state;
  if (i % 2 == 0) row["email"] = absl::StrCat("person", i, "@example.org");
  if (i % 5 == 0) row["phone"] = absl::StrCat("+4930", 1000000 + i);
  if (!organisations.empty() && i % 3 == 0) {
    row["organisation"] = organisations[static_cast<size_t>(i / 3) % organisations.size()];
  } else {
    row["state"] = state;
  }
  row["category"] = kCategories[static_cast<size_t>(i) % kCategories.size()];
  row["submission_reference"] = absl::StrCat("Note ", i / 100, ", annex ", i % 7);
  row["tags"] = absl::StrCat("bulk,part-", i % 4);
  row["test"] = "false";
  return row;
}

// A TCP port nothing listens on: bound to port 0, then closed.
int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw TestFailure("socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    close(fd);
    throw TestFailure("bind");
  }
  const int port = ntohs(addr.sin_port);
  close(fd);
  return port;
}

// The output-only and bookkeeping fields cleared, for comparing records across registries.
rv1::Observer Comparable(rv1::Observer o) {
  o.clear_name();
  o.clear_create_time();
  o.clear_update_time();
  o.clear_etag();
  o.clear_revision();
  o.clear_update_actor();
  // An empty contact is no contact.
  if (o.has_contact() && o.contact().ByteSizeLong() == 0) o.clear_contact();
  return o;
}

// ---------------------------------------------------------------------------------------------
// The fixture: one registry-service and one stats-service for all tests of the process.

struct Services {
  TempDir dir;
  std::unique_ptr<RegistryProcess> registry;
  std::unique_ptr<StatsProcess> stats;
  std::unique_ptr<RegistryClient> registry_client;
  std::unique_ptr<StatsClient> stats_client;
  absl::Status started;
  // The example data set, loaded on first use.
  bool example_loaded = false;
  absl::Status example_status;
  int64_t example_revision = 0;
};

class ObserverctlTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    services_ = new Services();
    services_->registry =
        std::make_unique<RegistryProcess>(services_->dir.path(), TestRegistryFlags());
    services_->started = services_->registry->Start();
    if (!services_->started.ok()) return;
    services_->registry_client = std::make_unique<RegistryClient>(services_->registry->channel());
    services_->stats =
        std::make_unique<StatsProcess>(services_->registry->address(), TestStatsFlags());
    services_->started = services_->stats->Start();
    if (!services_->started.ok()) return;
    services_->stats_client = std::make_unique<StatsClient>(services_->stats->channel());
  }
  static void TearDownTestSuite() {
    delete services_;
    services_ = nullptr;
  }

  void SetUp() override {
    ASSERT_FALSE(ObserverctlBinary().empty())
        << "observerctl binary unknown: build the observerctl target or set OBSERVERCTL_BINARY";
    ASSERT_OK(services_->started);
  }

  void TearDown() override {
    if (HasFailure()) PrintOutputTails({services_->registry.get(), services_->stats.get()}, 8000);
  }

  static RegistryClient& registry() { return *services_->registry_client; }
  static StatsClient& stats() { return *services_->stats_client; }
  static const std::string& registry_address() { return services_->registry->address(); }
  static const std::string& stats_address() { return services_->stats->address(); }
  static TempDir& dir() { return services_->dir; }

  // Runs observerctl with `args` (no connection flags added); the OBSERVERCTL_* environment
  // is cleared except what `options.env` sets.
  static CommandResult RunCtl(const std::vector<std::string>& args, CommandOptions options = {}) {
    std::vector<std::string> argv = {ObserverctlBinary()};
    argv.insert(argv.end(), args.begin(), args.end());
    for (const std::string& var : ObserverctlEnvironment()) {
      bool set = false;
      for (const auto& [name, value] : options.env) set = set || name == var;
      if (!set) options.unset_env.push_back(var);
    }
    return MUST(RunCommand(argv, options));
  }

  // Runs observerctl against the shared services: `--registry ADDR --stats ADDR` then `args`.
  static CommandResult Ctl(const std::vector<std::string>& args, CommandOptions options = {}) {
    return CtlAt(registry_address(), stats_address(), args, std::move(options));
  }
  static CommandResult CtlAt(const std::string& registry_addr, const std::string& stats_addr,
                             const std::vector<std::string>& args, CommandOptions options = {}) {
    std::vector<std::string> full = {"--registry", registry_addr, "--stats", stats_addr};
    full.insert(full.end(), args.begin(), args.end());
    return RunCtl(full, std::move(options));
  }

  // An election open for submissions now (voting day 2030-06-16, host KZ), via gRPC.
  static void CreateOpenElection(const std::string& id) {
    MUST(registry().CreateElection(FutureElection(id)));
  }
  static void CreateOrganisation(const std::string& code, const std::string& name_en) {
    MUST(registry().CreateOrganisation(NewOrganisation(code, name_en)));
  }
  // A submitted observer (sent by `state`), via gRPC.
  static rv1::Observer AddObserver(const std::string& election_id,
                                   const std::string& state = "DE") {
    return MUST(registry().CreateObserver(
                    NewObserverRequest(ElectionName(election_id), NextSeq(), state)))
        .observer();
  }
  static rv1::Observer GetObserver(const std::string& name) {
    rv1::GetObserverRequest req;
    req.set_name(name);
    return MUST(registry().GetObserver(req)).observer();
  }
  static rv1::Election GetElection(const std::string& id) {
    rv1::GetElectionRequest req;
    req.set_name(ElectionName(id));
    return MUST(registry().GetElection(req)).election();
  }
  static rv1::Organisation GetOrganisation(const std::string& code) {
    rv1::GetOrganisationRequest req;
    req.set_name(absl::StrCat("organisations/", code));
    return MUST(registry().GetOrganisation(req)).organisation();
  }
  static std::vector<rv1::Observer> Observers(const std::string& election_id,
                                              const std::string& filter = "") {
    return MUST(registry().AllObservers(ElectionName(election_id), filter));
  }

  // Loads the example data set into the shared registry once per process; the revision at
  // which it is complete.
  static int64_t ExampleData() {
    if (!services_->example_loaded) {
      services_->example_loaded = true;
      absl::StatusOr<int64_t> r = LoadKz2021DataSet(registry());
      services_->example_status = r.status();
      if (r.ok()) services_->example_revision = *r;
    }
    MUST(services_->example_status);
    return services_->example_revision;
  }

  // Writes `content` to a new file in the shared temporary directory; its path.
  static std::string TempFile(const std::string& name, const std::string& content) {
    const std::string path = dir().Join(name);
    WriteFile(path, content);
    return path;
  }

  static Services* services_;
};

Services* ObserverctlTest::services_ = nullptr;

// The assertion every command result gets: the exit code, with the whole run on failure.
#define EXPECT_EXIT_CODE(result, code) \
  EXPECT_EQ((result).exit_code(), (code)) << (result).Describe()
#define ASSERT_EXIT_CODE(result, code) \
  ASSERT_EQ((result).exit_code(), (code)) << (result).Describe()

// No crash: no abort message, no stack trace, no signal.
void ExpectNoCrash(const CommandResult& r) {
  EXPECT_TRUE(r.exited()) << r.Describe();
  EXPECT_THAT(r.stderr_text, Not(HasSubstr("terminate called"))) << r.Describe();
  EXPECT_THAT(r.stderr_text, Not(HasSubstr("Aborted"))) << r.Describe();
  EXPECT_THAT(r.stderr_text, Not(HasSubstr("Segmentation"))) << r.Describe();
  EXPECT_THAT(r.stderr_text, Not(ContainsRegex("#[0-9]+ +0x[0-9a-f]+"))) << r.Describe();
}

// =============================================================================================
// The harness's command runner itself (stdin, environment, separate streams, timeout).

TEST(CommandHarnessTest, RunsWithInputEnvironmentAndTimeout) {
  CommandOptions options;
  options.stdin_data = std::string(200000, 'x') + "\nend\n";
  options.env = {{"HARNESS_GREETING", "Сәлем"}};
  ASSERT_OK_AND_ASSIGN(
      CommandResult r,
      RunCommand({"/bin/sh", "-c", "wc -c; echo \"$HARNESS_GREETING\" >&2; exit 3"}, options));
  EXPECT_EQ(r.exit_code(), 3) << r.Describe();
  EXPECT_EQ(std::string(absl::StripAsciiWhitespace(r.stdout_text)), "200005");
  EXPECT_EQ(r.stderr_text, "Сәлем\n");

  // A child that does not read its input does not hurt the test.
  ASSERT_OK_AND_ASSIGN(r, RunCommand({"/bin/sh", "-c", "exit 0"}, options));
  EXPECT_EQ(r.exit_code(), 0);

  // Too slow: killed (with what it started), an error.
  options = CommandOptions();
  options.timeout = absl::Milliseconds(300);
  const absl::Time start = absl::Now();
  absl::StatusOr<CommandResult> slow =
      RunCommand({"/bin/sh", "-c", "sleep 30; echo late"}, options);
  EXPECT_THAT(slow, StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));

  EXPECT_THAT(RunCommand({"/nonexistent/binary"}), StatusIs(absl::StatusCode::kFailedPrecondition));
}

// =============================================================================================
// Elections.

TEST_F(ObserverctlTest, ElectionCreateGetListUpdate) {
  const std::string id = "cli-election-crud";
  CommandResult r = Ctl({"election", "create", id, "--display-name", "Test election Ünïcode",
                         "--kind", "combined", "--host-country", "KZ", "--voting-day", "2021-01-10",
                         "--time-zone", "Asia/Almaty", "--opens-time", "2020-11-01T00:00:00Z",
                         "--deadline", "2021-01-03T18:00:00+06:00"});
  ASSERT_EXIT_CODE(r, 0);
  EXPECT_THAT(r.stdout_text, HasSubstr(ElectionName(id)));
  rv1::Election e = GetElection(id);
  EXPECT_EQ(e.display_name(), "Test election Ünïcode");
  EXPECT_EQ(e.kind(), rv1::ELECTION_KIND_COMBINED);
  EXPECT_EQ(e.host_country(), "KZ");
  EXPECT_EQ(e.voting_day().year(), 2021);
  EXPECT_EQ(e.voting_day().month(), 1);
  EXPECT_EQ(e.voting_day().day(), 10);
  EXPECT_EQ(e.time_zone(), "Asia/Almaty");
  EXPECT_EQ(FormatTs(e.accreditation_opens_time()), "2020-11-01T00:00:00Z");
  EXPECT_EQ(FormatTs(e.accreditation_deadline()), "2021-01-03T12:00:00Z");
  EXPECT_EQ(e.state(), rv1::ELECTION_STATE_SCHEDULED);

  // get, by id and by full name; text and JSON.
  r = Ctl({"election", "get", id});
  EXPECT_EXIT_CODE(r, 0);
  EXPECT_THAT(r.stdout_text, AllOf(HasSubstr("Test election Ünïcode"), HasSubstr("Asia/Almaty"),
                                   HasSubstr(ElectionName(id))));
  r = Ctl({"election", "get", ElectionName(id), "--output", "json"});
  EXPECT_EXIT_CODE(r, 0);
  absl::StatusOr<rv1::Election> json = ParseJsonAs<rv1::Election>(r.stdout_text);
  ASSERT_OK(json.status());
  std::string diff;
  EXPECT_TRUE(ProtoEquals(*json, e, &diff)) << diff;

  // list: table and JSON.
  CreateOpenElection("cli-election-crud-other");
  r = Ctl({"election", "list"});
  EXPECT_EXIT_CODE(r, 0);
  EXPECT_THAT(r.stdout_text, AllOf(HasSubstr(id), HasSubstr("cli-election-crud-other")));
  r = Ctl({"election", "list", "--output", "json"});
  EXPECT_EXIT_CODE(r, 0);
  absl::StatusOr<std::vector<rv1::Election>> listed = ParseJsonArray<rv1::Election>(r.stdout_text);
  ASSERT_OK(listed.status());
  std::vector<std::string> names;
  for (const auto& x : *listed) names.push_back(x.name());
  std::vector<std::string> expected;
  for (const auto& x : MUST(registry().AllElections())) expected.push_back(x.name());
  EXPECT_THAT(names, UnorderedElementsAreArray(expected));

  // update: only the fields given change.
  r = Ctl({"election", "update", id, "--display-name", "Renamed election"});
  EXPECT_EXIT_CODE(r, 0);
  rv1::Election after = GetElection(id);
  EXPECT_EQ(after.display_name(), "Renamed election");
  EXPECT_EQ(after.kind(), rv1::ELECTION_KIND_COMBINED);
  EXPECT_EQ(FormatTs(after.accreditation_deadline()), "2021-01-03T12:00:00Z");
  EXPECT_EQ(FormatTs(after.accreditation_opens_time()), "2020-11-01T00:00:00Z");
  EXPECT_EQ(after.state(), rv1::ELECTION_STATE_SCHEDULED);

  // --deadline= restores the default: 18:00 local on voting day minus 6 days (UTC+6 then).
  r = Ctl({"election", "update", id, "--deadline="});
  EXPECT_EXIT_CODE(r, 0);
  after = GetElection(id);
  EXPECT_EQ(FormatTs(after.accreditation_deadline()), "2021-01-04T12:00:00Z");
  EXPECT_EQ(after.display_name(), "Renamed election");
  EXPECT_EQ(FormatTs(after.accreditation_opens_time()), "2020-11-01T00:00:00Z");

  // --opens-time= clears the opening time (no lower bound).
  r = Ctl({"election", "update", id, "--opens-time="});
  EXPECT_EXIT_CODE(r, 0);
  EXPECT_FALSE(GetElection(id).has_accreditation_opens_time())
      << GetElection(id).accreditation_opens_time().DebugString();

  // The same without an opening time in the way.
  const std::string id2 = "cli-election-crud-deadline";
  r = Ctl({"election", "create", id2, "--display-name", "Deadline reset", "--kind", "local",
           "--host-country", "KZ", "--voting-day", "2021-01-10", "--time-zone", "Asia/Almaty",
           "--deadline", "2021-01-05T00:00:00Z"});
  ASSERT_EXIT_CODE(r, 0);
  EXPECT_EQ(FormatTs(GetElection(id2).accreditation_deadline()), "2021-01-05T00:00:00Z");
  r = Ctl({"election", "update", id2, "--deadline="});
  EXPECT_EXIT_CODE(r, 0);
  EXPECT_EQ(FormatTs(GetElection(id2).accreditation_deadline()), "2021-01-04T12:00:00Z");
  after = GetElection(id);

  // A stale etag is refused and changes nothing; the current one works.
  r = Ctl({"election", "update", id, "--state", "held", "--etag", "not-the-etag"});
  EXPECT_EXIT_CODE(r, 1);
  EXPECT_THAT(r.stderr_text, AllOf(HasSubstr("ABORTED"), HasSubstr("ETAG_MISMATCH")));
  ExpectNoCrash(r);
  EXPECT_EQ(GetElection(id).state(), rv1::ELECTION_STATE_SCHEDULED);
  r = Ctl({"election", "update", id, "--state", "HELD", "--etag", after.etag()});
  EXPECT_EXIT_CODE(r, 0);
  EXPECT_EQ(GetElection(id).state(), rv1::ELECTION_STATE_HELD);

  // An unknown election: NOT_FOUND, exit 1.
  r = Ctl({"election", "get", "cli-no-such-election"});
  EXPECT_EXIT_CODE(r, 1);
  EXPECT_THAT(r.stderr_text, HasSubstr("NOT_FOUND"));
}

// =============================================================================================
// Organisations.

TEST_F(ObserverctlTest, OrganisationCreateGetListUpdate) {
  CommandResult r = Ctl({"organisation", "create", "CLI-PARENT", "--name-en", "Parent Org"});
  ASSERT_EXIT_CODE(r, 0);
  r = Ctl({"organisation", "create", "organisations/CLI-CHILD", "--name-en", "Child Org",
           "--name-ru", "Дочерняя организация", "--name-kk", "Еншілес ұйым", "--parent",
           "CLI-PARENT", "--alias",
           "en=Old Child;ru=Старая;kk=Ескі;from=2001-02-03;until=2010-12-31", "--alias",
           "en=Other Name"});
  ASSERT_EXIT_CODE(r, 0);
  rv1::Organisation o = GetOrganisation("CLI-CHILD");
  EXPECT_EQ(o.names().en(), "Child Org");
  EXPECT_EQ(o.names().ru(), "Дочерняя организация");
  EXPECT_EQ(o.names().kk(), "Еншілес ұйым");
  EXPECT_EQ(o.parent(), "organisations/CLI-PARENT");
  ASSERT_EQ(o.aliases_size(), 2) << o.DebugString();
  EXPECT_EQ(o.aliases(0).names().en(), "Old Child");
  EXPECT_EQ(o.aliases(0).names().ru(), "Старая");
  EXPECT_EQ(o.aliases(0).names().kk(), "Ескі");
  EXPECT_EQ(o.aliases(0).valid_from().year(), 2001);
  EXPECT_EQ(o.aliases(0).valid_from().month(), 2);
  EXPECT_EQ(o.aliases(0).valid_from().day(), 3);
  EXPECT_EQ(o.aliases(0).valid_until().year(), 2010);
  EXPECT_EQ(o.aliases(0).valid_until().month(), 12);
  EXPECT_EQ(o.aliases(0).valid_until().day(), 31);
  EXPECT_EQ(o.aliases(1).names().en(), "Other Name");
  EXPECT_FALSE(o.aliases(1).has_valid_from());

  r = Ctl({"organisation", "get", "CLI-CHILD"});
  EXPECT_EXIT_CODE(r, 0);
  EXPECT_THAT(r.stdout_text, AllOf(HasSubstr("Child Org"), HasSubstr("Дочерняя организация"),
                                   HasSubstr("CLI-PARENT")));
  r = Ctl({"organisation", "get", "organisations/CLI-CHILD", "--output", "json"});
  EXPECT_EXIT_CODE(r, 0);
  absl::StatusOr<rv1::Organisation> json = ParseJsonAs<rv1::Organisation>(r.stdout_text);
  ASSERT_OK(json.status());
  std::string diff;
  EXPECT_TRUE(ProtoEquals(*json, o, &diff)) << diff;

  r = Ctl({"organisation", "list"});
  EXPECT_EXIT_CODE(r, 0);
  EXPECT_THAT(r.stdout_text, AllOf(HasSubstr("CLI-PARENT"), HasSubstr("CLI-CHILD")));
  r = Ctl({"organisation", "list", "--output", "json"});
  EXPECT_EXIT_CODE(r, 0);
  absl::StatusOr<std::vector<rv1::Organisation>> listed =
      ParseJsonArray<rv1::Organisation>(r.stdout_text);
  ASSERT_OK(listed.status());
  std::set<std::string> names;
  for (const auto& x : *listed) names.insert(x.name());
  EXPECT_TRUE(names.count("organisations/CLI-PARENT")) << r.stdout_text;
  EXPECT_TRUE(names.count("organisations/CLI-CHILD")) << r.stdout_text;

  // Only the fields given change.
  r = Ctl({"organisation", "update", "CLI-CHILD", "--name-en", "Child Org Renamed"});
  EXPECT_EXIT_CODE(r, 0);
  rv1::Organisation after = GetOrganisation("CLI-CHILD");
  EXPECT_EQ(after.names().en(), "Child Org Renamed");
  EXPECT_EQ(after.names().ru(), "Дочерняя организация");
  EXPECT_EQ(after.names().kk(), "Еншілес ұйым");
  EXPECT_EQ(after.parent(), "organisations/CLI-PARENT");
  EXPECT_EQ(after.aliases_size(), 2);

  // --alias replaces the aliases; --alias= removes them; --parent= removes the parent.
  r = Ctl({"organisation", "update", "CLI-CHILD", "--alias", "en=Newest;until=2020-01-01"});
  EXPECT_EXIT_CODE(r, 0);
  after = GetOrganisation("CLI-CHILD");
  ASSERT_EQ(after.aliases_size(), 1) << after.DebugString();
  EXPECT_EQ(after.aliases(0).names().en(), "Newest");
  EXPECT_EQ(after.aliases(0).valid_until().year(), 2020);
  EXPECT_EQ(after.parent(), "organisations/CLI-PARENT");
  r = Ctl({"organisation", "update", "CLI-CHILD", "--alias="});
  EXPECT_EXIT_CODE(r, 0);
  EXPECT_EQ(GetOrganisation("CLI-CHILD").aliases_size(), 0);
  r = Ctl({"organisation", "update", "CLI-CHILD", "--parent="});
  EXPECT_EXIT_CODE(r, 0);
  after = GetOrganisation("CLI-CHILD");
  EXPECT_EQ(after.parent(), "");
  EXPECT_EQ(after.names().en(), "Child Org Renamed");

  // A stale etag is refused.
  r = Ctl({"organisation", "update", "CLI-CHILD", "--name-en", "X", "--etag", "stale"});
  EXPECT_EXIT_CODE(r, 1);
  EXPECT_THAT(r.stderr_text, AllOf(HasSubstr("ABORTED"), HasSubstr("ETAG_MISMATCH")));
  EXPECT_EQ(GetOrganisation("CLI-CHILD").names().en(), "Child Org Renamed");
}

// =============================================================================================
// Observers.

TEST_F(ObserverctlTest, ObserverAddGetUpdate) {
  const std::string id = "cli-observer-crud";
  CreateOpenElection(id);
  CreateOrganisation("CLI-OBS-ORG", "Observer Test Organisation");
  CommandResult r = Ctl({"observer",
                         "add",
                         "--election",
                         id,
                         "--given-names",
                         "Әлия Нұрланқызы",
                         "--family-name",
                         "Сәрсенбаева",
                         "--latin-given-names",
                         "ALIYA NURLANKYZY",
                         "--latin-family-name",
                         "SARSENBAYEVA",
                         "--citizenship",
                         "UZ",
                         "--gender",
                         "female",
                         "--birth-date",
                         "1980-05-06",
                         "--id-type",
                         "passport",
                         "--id-number",
                         "FA1234567",
                         "--id-country",
                         "UZ",
                         "--email",
                         "aliya@example.org",
                         "--phone",
                         "+998901234567",
                         "--organisation",
                         "CLI-OBS-ORG",
                         "--category",
                         "short-term",
                         "--submission-reference",
                         "Note 12/2030",
                         "--tags",
                         "batch-1,priority"});
  ASSERT_EXIT_CODE(r, 0);
  const std::string name = ObserverNameIn(r.stdout_text);
  ASSERT_THAT(name, HasSubstr(ElectionName(id) + "/observers/")) << r.Describe();
  EXPECT_THAT(r.stdout_text, HasSubstr("Әлия Нұрланқызы"));

  std::vector<rv1::Observer> all = Observers(id);
  ASSERT_EQ(all.size(), 1u);
  const rv1::Observer o = all[0];
  EXPECT_EQ(o.name(), name);
  EXPECT_EQ(o.given_names(), "Әлия Нұрланқызы");
  EXPECT_EQ(o.family_name(), "Сәрсенбаева");
  EXPECT_EQ(o.latin_given_names(), "ALIYA NURLANKYZY");
  EXPECT_EQ(o.latin_family_name(), "SARSENBAYEVA");
  EXPECT_EQ(o.citizenship(), "UZ");
  EXPECT_EQ(o.gender(), rv1::GENDER_FEMALE);
  EXPECT_EQ(o.birth_date().year(), 1980);
  EXPECT_EQ(o.birth_date().month(), 5);
  EXPECT_EQ(o.birth_date().day(), 6);
  EXPECT_EQ(o.id_document().type(), rv1::ID_DOCUMENT_TYPE_PASSPORT);
  EXPECT_EQ(o.id_document().number(), "FA1234567");
  EXPECT_EQ(o.id_document().issuing_country(), "UZ");
  EXPECT_EQ(o.contact().email(), "aliya@example.org");
  EXPECT_EQ(o.contact().phone(), "+998901234567");
  EXPECT_EQ(o.sending_body().organisation(), "organisations/CLI-OBS-ORG");
  EXPECT_EQ(o.category(), rv1::OBSERVER_CATEGORY_SHORT_TERM);
  EXPECT_EQ(o.submission_reference(), "Note 12/2030");
  EXPECT_THAT(std::vector<std::string>(o.tags().begin(), o.tags().end()),
              UnorderedElementsAreArray({"batch-1", "priority"}));
  EXPECT_EQ(o.status(), rv1::OBSERVER_STATUS_SUBMITTED);
  EXPECT_FALSE(o.test());

  // get: by full name, or by id with --election; text and JSON.
  r = Ctl({"observer", "get", name});
  EXPECT_EXIT_CODE(r, 0);
  EXPECT_THAT(r.stdout_text,
              AllOf(HasSubstr("Әлия Нұрланқызы"), HasSubstr("Сәрсенбаева"), HasSubstr(name)));
  const std::string observer_id = name.substr(name.rfind('/') + 1);
  r = Ctl({"observer", "get", observer_id, "--election", id, "--output", "json"});
  EXPECT_EXIT_CODE(r, 0);
  absl::StatusOr<rv1::Observer> json = ParseJsonAs<rv1::Observer>(r.stdout_text);
  ASSERT_OK(json.status());
  std::string diff;
  EXPECT_TRUE(ProtoEquals(*json, o, &diff)) << diff;

  // update: exactly the fields given change (the e-mail, not the phone beside it).
  r = Ctl(
      {"observer", "update", name, "--email", "aliya.new@example.org", "--category", "LONG_TERM"});
  EXPECT_EXIT_CODE(r, 0);
  rv1::Observer after = GetObserver(name);
  EXPECT_EQ(after.contact().email(), "aliya.new@example.org");
  EXPECT_EQ(after.category(), rv1::OBSERVER_CATEGORY_LONG_TERM);
  rv1::Observer expected = Comparable(o);
  expected.mutable_contact()->set_email("aliya.new@example.org");
  expected.set_category(rv1::OBSERVER_CATEGORY_LONG_TERM);
  EXPECT_TRUE(ProtoEquals(Comparable(after), expected, &diff)) << diff;

  // Another sending body; enum spellings of the API.
  r = Ctl({"observer", "update", name, "--state", "UZ", "--gender", "GENDER_OTHER"});
  EXPECT_EXIT_CODE(r, 0);
  after = GetObserver(name);
  EXPECT_EQ(after.sending_body().state(), "UZ");
  EXPECT_EQ(after.gender(), rv1::GENDER_OTHER);
  EXPECT_EQ(after.contact().phone(), "+998901234567");
  EXPECT_EQ(after.given_names(), "Әлия Нұрланқызы");

  // A stale etag is refused and changes nothing; the current one works.
  r = Ctl({"observer", "update", name, "--email", "x@example.org", "--etag", "stale-etag"});
  EXPECT_EXIT_CODE(r, 1);
  EXPECT_THAT(r.stderr_text, AllOf(HasSubstr("ABORTED"), HasSubstr("ETAG_MISMATCH")));
  ExpectNoCrash(r);
  EXPECT_EQ(GetObserver(name).contact().email(), "aliya.new@example.org");
  r = Ctl({"observer", "update", name, "--email", "x@example.org", "--etag", after.etag()});
  EXPECT_EXIT_CODE(r, 0);
  EXPECT_EQ(GetObserver(name).contact().email(), "x@example.org");
}

TEST_F(ObserverctlTest, ObserverEnumSpellingsAreEquivalent) {
  const std::string id = "cli-observer-enums";
  CreateOpenElection(id);
  CommandResult r = Ctl({"observer",
                         "add",
                         "--election",
                         ElectionName(id),
                         "--given-names",
                         "Jean",
                         "--family-name",
                         "Dupont",
                         "--latin-given-names",
                         "JEAN",
                         "--latin-family-name",
                         "DUPONT",
                         "--citizenship",
                         "FR",
                         "--gender",
                         "Male",
                         "--id-type",
                         "Diplomatic_Passport",
                         "--id-number",
                         "DP-0001",
                         "--id-country",
                         "FR",
                         "--state",
                         "FR",
                         "--category",
                         "OBSERVER_CATEGORY_HEAD_OF_DELEGATION"});
  ASSERT_EXIT_CODE(r, 0);
  std::vector<rv1::Observer> all = Observers(id);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].gender(), rv1::GENDER_MALE);
  EXPECT_EQ(all[0].id_document().type(), rv1::ID_DOCUMENT_TYPE_DIPLOMATIC_PASSPORT);
  EXPECT_EQ(all[0].category(), rv1::OBSERVER_CATEGORY_HEAD_OF_DELEGATION);
  EXPECT_EQ(all[0].sending_body().state(), "FR");
}

TEST_F(ObserverctlTest, ObserverStatusLifecycle) {
  const std::string id = "cli-observer-lifecycle";
  CreateOpenElection(id);
  // Received in the past, so that a decision time in the past is after the receipt.
  rv1::CreateObserverRequest req = NewObserverRequest(ElectionName(id), NextSeq(), "DE");
  *req.mutable_observer()->mutable_received_time() = Ts("2025-06-01T00:00:00Z");
  const std::string a = MUST(registry().CreateObserver(req)).observer().name();
  const std::string b = AddObserver(id, "FR").name();

  CommandResult r = Ctl({"observer", "accredit", a, "--decision-time", "2025-06-02T10:00:00+06:00",
                         "--decision-reference", "CEC resolution No. 7", "--badge-number", "0042"});
  ASSERT_EXIT_CODE(r, 0);
  EXPECT_THAT(r.stdout_text, HasSubstr(a));
  rv1::Observer o = GetObserver(a);
  EXPECT_EQ(o.status(), rv1::OBSERVER_STATUS_ACCREDITED);
  EXPECT_EQ(o.badge_number(), "0042");
  EXPECT_EQ(o.decision_reference(), "CEC resolution No. 7");
  EXPECT_EQ(FormatTs(o.decision_time()), "2025-06-02T04:00:00Z");

  // suspend needs --reason: a usage error naming it, nothing changed.
  r = Ctl({"observer", "suspend", a});
  EXPECT_EXIT_CODE(r, 2);
  EXPECT_THAT(r.stderr_text, HasSubstr("reason"));
  EXPECT_EQ(GetObserver(a).status(), rv1::OBSERVER_STATUS_ACCREDITED);

  r = Ctl({"observer", "suspend", a, "--reason", "Under review"});
  EXPECT_EXIT_CODE(r, 0);
  o = GetObserver(a);
  EXPECT_EQ(o.status(), rv1::OBSERVER_STATUS_SUSPENDED);
  EXPECT_EQ(o.status_reason(), "Under review");

  r = Ctl({"observer", "reinstate", a, "--reason", "Review closed"});
  EXPECT_EXIT_CODE(r, 0);
  o = GetObserver(a);
  EXPECT_EQ(o.status(), rv1::OBSERVER_STATUS_ACCREDITED);
  EXPECT_EQ(o.status_reason(), "Review closed");
  EXPECT_EQ(o.badge_number(), "0042");

  r = Ctl({"observer", "withdraw", a, "--reason", "Mission ended early"});
  EXPECT_EXIT_CODE(r, 0);
  o = GetObserver(a);
  EXPECT_EQ(o.status(), rv1::OBSERVER_STATUS_WITHDRAWN);
  EXPECT_EQ(o.status_reason(), "Mission ended early");

  const std::string b_id = b.substr(b.rfind('/') + 1);
  r = Ctl({"observer", "reject", b_id, "--election", id, "--reason", "Submission incomplete"});
  EXPECT_EXIT_CODE(r, 0);
  o = GetObserver(b);
  EXPECT_EQ(o.status(), rv1::OBSERVER_STATUS_REJECTED);
  EXPECT_EQ(o.status_reason(), "Submission incomplete");

  // A decision the lifecycle does not allow: the server's refusal, shown in full.
  r = Ctl({"observer", "reject", a, "--reason", "Too late"});
  EXPECT_EXIT_CODE(r, 1);
  EXPECT_THAT(
      r.stderr_text,
      AllOf(HasSubstr("error: "), HasSubstr("RejectObserver"), HasSubstr("INVALID_ARGUMENT"),
            HasSubstr("reason: INVALID_STATUS_TRANSITION"), HasSubstr("field name")));
  ExpectNoCrash(r);
  EXPECT_EQ(GetObserver(a).status(), rv1::OBSERVER_STATUS_WITHDRAWN);

  // delete prints the revision it produced.
  r = Ctl({"observer", "delete", b});
  EXPECT_EXIT_CODE(r, 0);
  const int64_t head = MUST(registry().HeadRevision());
  EXPECT_TRUE(HasToken(r.stdout_text, absl::StrCat(head))) << "head " << head << "\n"
                                                           << r.Describe();
  rv1::GetObserverRequest get;
  get.set_name(b);
  EXPECT_THAT(registry().GetObserver(get), StatusIs(absl::StatusCode::kNotFound));
  r = Ctl({"observer", "delete", b});
  EXPECT_EXIT_CODE(r, 1);
  EXPECT_THAT(r.stderr_text, HasSubstr("NOT_FOUND"));
}

TEST_F(ObserverctlTest, RequestIdMakesWritesIdempotent) {
  const std::string id = "cli-request-id";
  CreateOpenElection(id);
  const std::vector<std::string> add = {"observer",
                                        "add",
                                        "--election",
                                        id,
                                        "--given-names",
                                        "Мария",
                                        "--family-name",
                                        "Петрова",
                                        "--latin-given-names",
                                        "MARIYA",
                                        "--latin-family-name",
                                        "PETROVA",
                                        "--citizenship",
                                        "RU",
                                        "--id-type",
                                        "passport",
                                        "--id-number",
                                        "RU-7654321",
                                        "--id-country",
                                        "RU",
                                        "--state",
                                        "RU",
                                        "--category",
                                        "short-term",
                                        "--request-id",
                                        "cli-request-1"};
  CommandResult first = Ctl(add);
  ASSERT_EXIT_CODE(first, 0);
  CommandResult second = Ctl(add);
  EXPECT_EXIT_CODE(second, 0);
  EXPECT_EQ(ObserverNameIn(first.stdout_text), ObserverNameIn(second.stdout_text));
  ASSERT_EQ(Observers(id).size(), 1u);
  const std::string name = Observers(id)[0].name();

  const std::vector<std::string> accredit = {"observer", "accredit", name, "--request-id",
                                             "cli-request-2"};
  first = Ctl(accredit);
  ASSERT_EXIT_CODE(first, 0);
  const int64_t revision = GetObserver(name).revision();
  second = Ctl(accredit);
  EXPECT_EXIT_CODE(second, 0);
  EXPECT_EQ(GetObserver(name).revision(), revision) << "the repeat wrote again";
  EXPECT_EQ(GetObserver(name).status(), rv1::OBSERVER_STATUS_ACCREDITED);
}

TEST_F(ObserverctlTest, ObserverListReadsEveryPage) {
  const std::string id = "cli-observer-list";
  CreateOpenElection(id);
  rv1::BatchCreateObserversRequest batch;
  batch.set_parent(ElectionName(id));
  for (int i = 0; i < 120; ++i) {
    *batch.add_requests() = NewObserverRequest(ElectionName(id), NextSeq(), "DE");
    batch.mutable_requests(i)->clear_parent();
  }
  rv1::BatchCreateObserversResponse created = MUST(registry().BatchCreateObservers(batch));
  std::vector<std::string> expected;
  for (const auto& result : created.results()) expected.push_back(result.observer().name());
  ASSERT_EQ(expected.size(), 120u);
  for (int i = 0; i < 7; ++i) {
    rv1::AccreditObserverRequest acc;
    acc.set_name(expected[static_cast<size_t>(i)]);
    MUST(registry().AccreditObserver(acc));
  }

  CommandResult r = Ctl({"observer", "list", "--election", id, "--output", "json"});
  ASSERT_EXIT_CODE(r, 0);
  absl::StatusOr<std::vector<rv1::Observer>> listed = ParseJsonArray<rv1::Observer>(r.stdout_text);
  ASSERT_OK(listed.status());
  std::vector<std::string> names;
  for (const auto& o : *listed) names.push_back(o.name());
  EXPECT_THAT(names, UnorderedElementsAreArray(expected));

  r = Ctl({"observer", "list", "--election", id});
  EXPECT_EXIT_CODE(r, 0);
  EXPECT_GE(Lines(r.stdout_text).size(), 120u) << r.Describe();

  r = Ctl({"observer", "list", "--election", id, "--output", "csv"});
  EXPECT_EXIT_CODE(r, 0);
  CsvTable csv = ParseCsv(r.stdout_text);
  EXPECT_EQ(csv.rows.size(), 120u) << r.Describe();
  EXPECT_FALSE(csv.header.empty());
  for (const std::string& name : expected) {
    EXPECT_THAT(r.stdout_text, HasSubstr(name.substr(name.rfind('/') + 1)));
  }

  r = Ctl({"observer", "list", "--election", id, "--filter", "status = ACCREDITED", "--output",
           "json"});
  EXPECT_EXIT_CODE(r, 0);
  listed = ParseJsonArray<rv1::Observer>(r.stdout_text);
  ASSERT_OK(listed.status());
  EXPECT_EQ(listed->size(), 7u);
  for (const auto& o : *listed) EXPECT_EQ(o.status(), rv1::OBSERVER_STATUS_ACCREDITED);
}

// =============================================================================================
// Usage errors (exit 2) and server refusals (exit 1).

TEST_F(ObserverctlTest, UnknownCommandIsUsageError) {
  CommandResult r = Ctl({"frobnicate"});
  EXPECT_EXIT_CODE(r, 2);
  EXPECT_THAT(r.stderr_text, HasSubstr("frobnicate"));
  ExpectNoCrash(r);
  r = Ctl({"election", "frobnicate"});
  EXPECT_EXIT_CODE(r, 2);
  EXPECT_THAT(r.stderr_text, Not(IsEmpty()));
  r = RunCtl({});
  EXPECT_EXIT_CODE(r, 2);
}

TEST_F(ObserverctlTest, UnknownFlagIsUsageError) {
  CommandResult r = Ctl({"election", "list", "--no-such-flag"});
  EXPECT_EXIT_CODE(r, 2);
  EXPECT_THAT(r.stderr_text, HasSubstr("no-such-flag"));
  ExpectNoCrash(r);
  r = Ctl({"election", "list", "--output", "yaml"});
  EXPECT_EXIT_CODE(r, 2);
  EXPECT_THAT(r.stderr_text, HasSubstr("yaml"));
}

TEST_F(ObserverctlTest, MissingRequiredFlagIsNamed) {
  const std::string id = "cli-missing-flag";
  CommandResult r = Ctl({"election", "create", id, "--kind", "parliamentary", "--host-country",
                         "KZ", "--voting-day", "2030-06-16", "--time-zone", "Asia/Almaty"});
  EXPECT_EXIT_CODE(r, 2);
  EXPECT_THAT(r.stderr_text, HasSubstr("display-name"));
  ExpectNoCrash(r);
  rv1::GetElectionRequest get;
  get.set_name(ElectionName(id));
  EXPECT_THAT(registry().GetElection(get), StatusIs(absl::StatusCode::kNotFound));

  r = Ctl({"observer", "list"});
  EXPECT_EXIT_CODE(r, 2);
  EXPECT_THAT(r.stderr_text, HasSubstr("election"));

  r = Ctl({"import", "--election", "cli-missing-flag"});
  EXPECT_EXIT_CODE(r, 2);

  r = Ctl({"breakdown", "--election", kExampleElectionId});
  EXPECT_EXIT_CODE(r, 2);
  EXPECT_THAT(r.stderr_text, HasSubstr("by"));
}

TEST_F(ObserverctlTest, MalformedValuesAreUsageErrors) {
  const std::string id = "cli-malformed";
  for (const std::vector<std::string>& bad : std::vector<std::vector<std::string>>{
           {"--voting-day", "2021-13-45"},
           {"--voting-day", "10.01.2021"},
           {"--voting-day", "2021-01-10", "--deadline", "yesterday"},
           {"--voting-day", "2021-01-10", "--kind", "coronation"}}) {
    std::vector<std::string> args = {"election",  "create",      id,           "--display-name",
                                     "Malformed", "--kind",      "combined",   "--host-country",
                                     "KZ",        "--time-zone", "Asia/Almaty"};
    args.insert(args.end(), bad.begin(), bad.end());
    CommandResult r = Ctl(args);
    EXPECT_EXIT_CODE(r, 2);
    EXPECT_THAT(r.stderr_text, HasSubstr(bad[bad.size() - 2].substr(2))) << r.Describe();
    ExpectNoCrash(r);
  }
  rv1::GetElectionRequest get;
  get.set_name(ElectionName(id));
  EXPECT_THAT(registry().GetElection(get), StatusIs(absl::StatusCode::kNotFound));

  CommandResult r = Ctl({"election", "list", "--timeout", "soon"});
  EXPECT_EXIT_CODE(r, 2);
  EXPECT_THAT(r.stderr_text, HasSubstr("timeout"));
  r = Ctl({"watch", "--limit", "many"});
  EXPECT_EXIT_CODE(r, 2);
  EXPECT_THAT(r.stderr_text, HasSubstr("limit"));
  r = Ctl({"breakdown", "--election", kExampleElectionId, "--by", "shoe-size"});
  EXPECT_EXIT_CODE(r, 2);
  EXPECT_THAT(r.stderr_text, HasSubstr("shoe-size"));
}

TEST_F(ObserverctlTest, ServerRefusalShowsCodeReasonAndField) {
  const std::string id = "cli-refusal";
  CreateOpenElection(id);  // Host country KZ.
  CommandResult r = Ctl({"observer",
                         "add",
                         "--election",
                         id,
                         "--given-names",
                         "Иван",
                         "--family-name",
                         "Иванов",
                         "--latin-given-names",
                         "IVAN",
                         "--latin-family-name",
                         "IVANOV",
                         "--citizenship",
                         "KZ",
                         "--id-type",
                         "passport",
                         "--id-number",
                         "N0000001",
                         "--id-country",
                         "KZ",
                         "--state",
                         "RU",
                         "--category",
                         "short-term"});
  EXPECT_EXIT_CODE(r, 1);
  EXPECT_TRUE(absl::StartsWith(r.stderr_text, "error: ")) << r.Describe();
  EXPECT_THAT(r.stderr_text, AllOf(HasSubstr("CreateObserver"), HasSubstr("FAILED_PRECONDITION"),
                                   HasSubstr("reason: HOST_COUNTRY_CITIZEN"),
                                   HasSubstr("field observer.citizenship")));
  // Personal data stays out of error messages.
  EXPECT_THAT(r.stderr_text, Not(HasSubstr("N0000001")));
  ExpectNoCrash(r);
  EXPECT_TRUE(Observers(id).empty());

  // A document already registered in the election.
  const rv1::Observer existing = AddObserver(id, "DE");
  r = Ctl({"observer",
           "add",
           "--election",
           id,
           "--given-names",
           "Anna",
           "--family-name",
           "Other",
           "--latin-given-names",
           "ANNA",
           "--latin-family-name",
           "OTHER",
           "--citizenship",
           "DE",
           "--id-type",
           "passport",
           "--id-number",
           existing.id_document().number(),
           "--id-country",
           existing.id_document().issuing_country(),
           "--state",
           "DE",
           "--category",
           "short-term"});
  EXPECT_EXIT_CODE(r, 1);
  EXPECT_THAT(r.stderr_text,
              AllOf(HasSubstr("ALREADY_EXISTS"), HasSubstr("DUPLICATE_ID_DOCUMENT")));
  EXPECT_EQ(Observers(id).size(), 1u);
}

TEST_F(ObserverctlTest, UnreachableServiceFailsFastWithUnavailable) {
  const std::string dead = absl::StrCat("127.0.0.1:", FreePort());
  CommandResult r = RunCtl({"--registry", dead, "election", "list"});
  EXPECT_EXIT_CODE(r, 1);
  EXPECT_LT(r.elapsed, absl::Seconds(5)) << r.Describe();
  EXPECT_THAT(absl::AsciiStrToLower(r.stderr_text), HasSubstr("unavailable")) << r.Describe();
  EXPECT_THAT(r.stderr_text, AllOf(HasSubstr("registry-service"), HasSubstr(dead)));
  ExpectNoCrash(r);

  r = RunCtl({"--stats", dead, "summary", "--election", kExampleElectionId});
  EXPECT_EXIT_CODE(r, 1);
  EXPECT_LT(r.elapsed, absl::Seconds(5)) << r.Describe();
  EXPECT_THAT(absl::AsciiStrToLower(r.stderr_text), HasSubstr("unavailable")) << r.Describe();
  EXPECT_THAT(r.stderr_text, AllOf(HasSubstr("stats-service"), HasSubstr(dead)));
  ExpectNoCrash(r);
}

TEST_F(ObserverctlTest, HealthReportsEachServiceAndFailsUnlessEveryOneServes) {
  // Both serving (stats-service once synced).
  CommandResult r;
  ASSERT_TRUE(PollUntil(
      [&] {
        r = Ctl({"health"});
        return r.exit_code() == 0;
      },
      absl::Seconds(20)))
      << r.Describe();
  EXPECT_EQ(r.stdout_text, absl::StrCat("registry-service at ", registry_address(), ": SERVING\n",
                                        "stats-service at ", stats_address(), ": SERVING\n"));
  r = Ctl({"health", "registry"});
  EXPECT_EXIT_CODE(r, 0);
  EXPECT_EQ(r.stdout_text, absl::StrCat("registry-service at ", registry_address(), ": SERVING\n"));

  // One unreachable: the other is still reported, the exit code says not all is well.
  const std::string dead = absl::StrCat("127.0.0.1:", FreePort());
  r = CtlAt(registry_address(), dead, {"health"});
  EXPECT_EXIT_CODE(r, 1);
  EXPECT_THAT(r.stdout_text, HasSubstr("registry-service at " + registry_address() + ": SERVING"));
  EXPECT_THAT(r.stderr_text,
              AllOf(HasSubstr("stats-service at " + dead), HasSubstr("unavailable")));
  EXPECT_LT(r.elapsed, absl::Seconds(5)) << r.Describe();

  // Reachable but NOT_SERVING: a stats-service whose registry is not there never syncs.
  StatsProcess unsynced(dead, TestStatsFlags());
  ASSERT_OK(unsynced.Start());
  r = CtlAt(registry_address(), unsynced.address(), {"health", "stats", "--timeout", "3s"});
  EXPECT_EXIT_CODE(r, 1);
  EXPECT_EQ(r.stdout_text,
            absl::StrCat("stats-service at ", unsynced.address(), ": NOT_SERVING\n"));
  EXPECT_EQ(r.stderr_text, "");

  r = Ctl({"health", "prometheus"});
  EXPECT_EXIT_CODE(r, 2);
  EXPECT_THAT(r.stderr_text, HasSubstr("'registry' or 'stats'"));
}

TEST_F(ObserverctlTest, TlsCaThatDoesNotExistIsUsageError) {
  const std::string missing = dir().Join("no-such-ca.pem");
  CommandResult r = Ctl({"election", "list", "--tls-ca", missing});
  EXPECT_EXIT_CODE(r, 2);
  EXPECT_THAT(r.stderr_text, HasSubstr(missing));
  ExpectNoCrash(r);
  // From the environment too.
  CommandOptions env;
  env.env = {{"OBSERVERCTL_TLS_CA", missing}};
  r = Ctl({"election", "list"}, env);
  EXPECT_EXIT_CODE(r, 2);
  EXPECT_THAT(r.stderr_text, HasSubstr(missing));
}

TEST_F(ObserverctlTest, TlsFilesAreCheckedAndAHandshakeFailureIsReported) {
  // A throwaway CA made at test time; the key never leaves the test's directory.
  const std::string key = dir().Join("ca.key");
  const std::string cert = dir().Join("ca.pem");
  absl::StatusOr<CommandResult> made =
      RunCommand({"/bin/sh", "-c",
                  absl::StrCat("exec openssl req -x509 -newkey rsa:2048 -nodes -keyout '", key,
                               "' -out '", cert, "' -days 1 -subj /CN=observerctl-test-ca")},
                 CommandOptions{});
  ASSERT_TRUE(made.ok()) << made.status();
  ASSERT_EQ(made->exit_code(), 0) << made->Describe();

  // A key where a certificate belongs, and the other way round: usage errors naming the flag.
  CommandResult r = Ctl({"election", "list", "--tls-ca", key});
  EXPECT_EXIT_CODE(r, 2);
  EXPECT_THAT(r.stderr_text, AllOf(HasSubstr("--tls-ca"), HasSubstr("no PEM certificate")));
  r = Ctl({"election", "list", "--tls-ca", cert, "--tls-cert", cert, "--tls-key", cert});
  EXPECT_EXIT_CODE(r, 2);
  EXPECT_THAT(r.stderr_text, AllOf(HasSubstr("--tls-key"), HasSubstr("no PEM private key")));
  r = Ctl({"election", "list", "--tls-ca", cert, "--tls-cert", cert});
  EXPECT_EXIT_CODE(r, 2);
  EXPECT_THAT(r.stderr_text, HasSubstr("--tls-cert and --tls-key go together"));

  // TLS to a plaintext server: the handshake fails, reported once, quickly, exit 1.
  r = Ctl({"election", "list", "--tls-ca", cert, "--tls-cert", cert, "--tls-key", key});
  EXPECT_EXIT_CODE(r, 1);
  ExpectNoCrash(r);
  EXPECT_THAT(r.stderr_text, AllOf(HasSubstr("registry-service at"), HasSubstr("unavailable"),
                                   HasSubstr("andshake")));
  EXPECT_THAT(r.stderr_text, Not(HasSubstr("ssl_transport_security.cc")))
      << "gRPC's own log lines are not shown without GRPC_VERBOSITY";
  EXPECT_LT(r.elapsed, absl::Seconds(10));
}

TEST_F(ObserverctlTest, HelpOnEveryCommand) {
  const std::vector<std::vector<std::string>> commands = {{},
                                                          {"election"},
                                                          {"election", "create"},
                                                          {"election", "get"},
                                                          {"election", "list"},
                                                          {"election", "update"},
                                                          {"organisation", "create"},
                                                          {"organisation", "get"},
                                                          {"organisation", "list"},
                                                          {"organisation", "update"},
                                                          {"observer", "add"},
                                                          {"observer", "get"},
                                                          {"observer", "list"},
                                                          {"observer", "update"},
                                                          {"observer", "accredit"},
                                                          {"observer", "reject"},
                                                          {"observer", "suspend"},
                                                          {"observer", "reinstate"},
                                                          {"observer", "withdraw"},
                                                          {"observer", "delete"},
                                                          {"import"},
                                                          {"export"},
                                                          {"summary"},
                                                          {"breakdown"},
                                                          {"schemes"},
                                                          {"watch"},
                                                          {"audit", "verify"}};
  for (const auto& command : commands) {
    std::vector<std::string> args = command;
    args.push_back("--help");
    CommandResult r = RunCtl(args);
    SCOPED_TRACE(absl::StrJoin(args, " "));
    EXPECT_EXIT_CODE(r, 0);
    const std::string help = absl::AsciiStrToLower(r.stdout_text);
    if (command.size() == 2) {
      EXPECT_THAT(help, HasSubstr("example")) << r.Describe();
      EXPECT_THAT(help, HasSubstr(absl::StrCat("observerctl ", command[0], " ", command[1])))
          << r.Describe();
    } else if (command.size() == 1 && command[0] != "election") {
      EXPECT_THAT(help, HasSubstr("example")) << r.Describe();
      EXPECT_THAT(help, HasSubstr(absl::StrCat("observerctl ", command[0]))) << r.Describe();
    } else {
      EXPECT_THAT(help, Not(IsEmpty())) << r.Describe();
    }
  }
}

TEST_F(ObserverctlTest, AddressesFromFlagsAndEnvironment) {
  const std::string id = "cli-env-election";
  CreateOpenElection(id);
  const std::string dead = absl::StrCat("127.0.0.1:", FreePort());

  // The environment when no flag is given.
  CommandOptions good_env;
  good_env.env = {{"OBSERVERCTL_REGISTRY", registry_address()}};
  CommandResult r = RunCtl({"election", "get", id}, good_env);
  EXPECT_EXIT_CODE(r, 0);
  EXPECT_THAT(r.stdout_text, HasSubstr(ElectionName(id)));

  // The flag beats the environment, before or after the command words, both spellings.
  CommandOptions dead_env;
  dead_env.env = {{"OBSERVERCTL_REGISTRY", dead}};
  r = RunCtl({"election", "get", id, "--registry", registry_address()}, dead_env);
  EXPECT_EXIT_CODE(r, 0);
  EXPECT_THAT(r.stdout_text, HasSubstr(ElectionName(id)));
  r = RunCtl({"election", "get", "--registry=" + registry_address(), id}, dead_env);
  EXPECT_EXIT_CODE(r, 0);
  // "--" ends the flags.
  r = RunCtl({"--registry", registry_address(), "election", "get", "--", id});
  EXPECT_EXIT_CODE(r, 0);
  EXPECT_THAT(r.stdout_text, HasSubstr(ElectionName(id)));
  r = RunCtl({"--registry", dead, "election", "get", id}, good_env);
  EXPECT_EXIT_CODE(r, 1);
  EXPECT_THAT(r.stderr_text, HasSubstr(dead));

  // The stats address from the environment.
  CommandOptions stats_env;
  stats_env.env = {{"OBSERVERCTL_STATS", stats_address()},
                   {"OBSERVERCTL_REGISTRY", registry_address()}};
  const int64_t revision = GetElection(id).revision();
  r = RunCtl({"summary", "--election", id, "--min-revision", absl::StrCat(revision)}, stats_env);
  EXPECT_EXIT_CODE(r, 0);

  // '-' and '_' are the same in flag names.
  r = Ctl({"election", "update", id, "--display_name", "Spelled with underscores"});
  EXPECT_EXIT_CODE(r, 0);
  EXPECT_EQ(GetElection(id).display_name(), "Spelled with underscores");
}

// =============================================================================================
// Import.

class ObserverctlImportTest : public ObserverctlTest {
 protected:
  // An open election and organisations CLI-<prefix>-A, -B, -C.
  std::vector<std::string> SetUpElection(const std::string& id, const std::string& prefix) {
    CreateOpenElection(id);
    std::vector<std::string> codes;
    for (const char* suffix : {"A", "B", "C"}) {
      const std::string code = absl::StrCat("CLI-", prefix, "-", suffix);
      CreateOrganisation(code, absl::StrCat("Organisation ", code));
      codes.push_back(code);
    }
    return codes;
  }
  static std::vector<Row> People(int n, const std::string& id_prefix,
                                 const std::vector<std::string>& organisations) {
    std::vector<Row> rows;
    for (int i = 0; i < n; ++i) rows.push_back(PersonRow(i, id_prefix, organisations));
    return rows;
  }
};

TEST_F(ObserverctlImportTest, TenThousandRowsOnceAndOnlyOnce) {
  const std::string id = "cli-import-10k";
  const std::vector<std::string> orgs = SetUpElection(id, "BULK");
#if defined(__SANITIZE_THREAD__)
  // ThreadSanitizer makes the registry ~100 times slower: the same test on a fifth of the rows.
  constexpr int kRows = 2000;
#else
  constexpr int kRows = 10000;
#endif
  const std::vector<Row> rows = People(kRows, "BK", orgs);
  const std::string file = TempFile("bulk.csv", CsvFile(rows));
  CommandOptions options;
  options.timeout = absl::Minutes(4);

  // Each call's deadline is generous: sanitizer builds make the registry many times slower.
  CommandResult r = Ctl({"import", file, "--election", id, "--timeout", "5m"}, options);
  ASSERT_EXIT_CODE(r, 0);
  EXPECT_EQ(LastLine(r.stdout_text), absl::StrCat("import: ", kRows, " rows: ", kRows,
                                                  " created, 0 already registered, 0 refused"))
      << r.Describe();
  ExpectNoCrash(r);
  // Not a terminal: progress (if the import lasts long enough for any) as plain lines on
  // stderr, never a bar redrawn with '\r' or escapes.
  EXPECT_THAT(r.stderr_text, Not(HasSubstr("\r")));
  EXPECT_THAT(r.stderr_text, Not(HasSubstr("\x1b[")));

  // Again, with the bar forced on: nothing created, every person already registered.
  r = Ctl(
      {"import", file, "--election", ElectionName(id), "--timeout", "5m", "--progress", "always"},
      options);
  EXPECT_EXIT_CODE(r, 0);
  EXPECT_EQ(LastLine(r.stdout_text), absl::StrCat("import: ", kRows, " rows: 0 created, ", kRows,
                                                  " already registered, 0 refused"))
      << r.Describe();
  EXPECT_THAT(r.stderr_text,
              AllOf(HasSubstr("\r"),
                    HasSubstr(absl::StrCat("import checking: ", kRows, "/", kRows, " rows")),
                    HasSubstr("/s"), HasSubstr("ETA")))
      << r.Describe();

  // The registry holds exactly the people of the file.
  std::vector<rv1::Observer> all = Observers(id);
  EXPECT_EQ(all.size(), static_cast<size_t>(kRows));
  std::map<std::string, const rv1::Observer*> by_number;
  for (const rv1::Observer& o : all) by_number[o.id_document().number()] = &o;
  EXPECT_EQ(by_number.size(), static_cast<size_t>(kRows));
  for (int i : {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 1234, kRows - 1}) {
    const Row& row = rows[static_cast<size_t>(i)];
    auto it = by_number.find(row.at("id_number"));
    ASSERT_NE(it, by_number.end()) << "row " << i + 1 << " not imported";
    const rv1::Observer& o = *it->second;
    SCOPED_TRACE(o.DebugString());
    EXPECT_EQ(o.given_names(), row.at("given_names"));
    EXPECT_EQ(o.family_name(), row.at("family_name"));
    EXPECT_EQ(o.latin_family_name(), row.at("latin_family_name"));
    EXPECT_EQ(o.citizenship(), row.at("citizenship"));
    EXPECT_EQ(o.submission_reference(), row.at("submission_reference"));
    EXPECT_EQ(o.tags_size(), 2);
    if (row.count("organisation")) {
      EXPECT_EQ(o.sending_body().organisation(), "organisations/" + row.at("organisation"));
    } else {
      EXPECT_EQ(o.sending_body().state(), row.at("state"));
    }
    EXPECT_EQ(o.contact().email(), row.count("email") ? row.at("email") : "");
    EXPECT_EQ(o.status(), rv1::OBSERVER_STATUS_SUBMITTED);
  }

  // And stats-service counts them.
  sv1::GetSummaryRequest summary;
  summary.set_election(ElectionName(id));
  summary.set_min_revision(MUST(registry().HeadRevision()));
  summary.mutable_filter()->add_statuses(rv1::OBSERVER_STATUS_SUBMITTED);
  EXPECT_EQ(MUST(stats().GetSummary(summary)).summary().observers(), kRows);
}

TEST_F(ObserverctlImportTest, RefusedRowsAreNamedAndNothingIsCreated) {
  const std::string id = "cli-import-bad";
  const std::vector<std::string> orgs = SetUpElection(id, "BAD");
  std::vector<Row> rows = People(50, "BD", orgs);
  // Row numbers count from 1 after the header: rows[6] is row 7 (line 8).
  rows[6]["citizenship"] = "XX";
  rows[18]["family_name"] = "";
  rows[32].erase("state");
  rows[32]["organisation"] = "CLI-NO-SUCH-ORG";
  const std::string file = TempFile("bad-rows.csv", CsvFile(rows));

  CommandResult r = Ctl({"import", file, "--election", id});
  EXPECT_EXIT_CODE(r, 1);
  ExpectNoCrash(r);
  EXPECT_THAT(RowNumbersIn(r.stdout_text), UnorderedElementsAreArray({7, 19, 33})) << r.Describe();
  EXPECT_THAT(LinesAboutRow(r.stdout_text, 7), HasSubstr("citizenship")) << r.Describe();
  EXPECT_THAT(LinesAboutRow(r.stdout_text, 19), HasSubstr("family_name")) << r.Describe();
  EXPECT_THAT(LinesAboutRow(r.stdout_text, 33), HasSubstr("organisation")) << r.Describe();
  // The counts: 3 refused, nothing created (the documented "0 created", or said in words).
  EXPECT_THAT(LastLine(r.stdout_text), AllOf(HasSubstr("import: 50 rows: "), HasSubstr("3 refused"),
                                             ContainsRegex("(0 created|nothing was created)")))
      << r.Describe();
  EXPECT_TRUE(Observers(id).empty()) << "all or nothing: nothing may be created";

  // Dry run: the same report, nothing created.
  r = Ctl({"import", file, "--election", id, "--dry-run"});
  EXPECT_EXIT_CODE(r, 1);
  EXPECT_THAT(RowNumbersIn(r.stdout_text), UnorderedElementsAreArray({7, 19, 33})) << r.Describe();
  EXPECT_TRUE(Observers(id).empty());

  // --skip-bad-rows: the 47 good rows are created, the 3 bad ones reported.
  r = Ctl({"import", file, "--election", id, "--skip-bad-rows"});
  EXPECT_EXIT_CODE(r, 1);
  EXPECT_THAT(RowNumbersIn(r.stdout_text), UnorderedElementsAreArray({7, 19, 33})) << r.Describe();
  EXPECT_EQ(LastLine(r.stdout_text), "import: 50 rows: 47 created, 0 already registered, 3 refused")
      << r.Describe();
  std::vector<rv1::Observer> all = Observers(id);
  EXPECT_EQ(all.size(), 47u);
  std::set<std::string> numbers;
  for (const auto& o : all) numbers.insert(o.id_document().number());
  for (int bad : {6, 18, 32}) {
    EXPECT_EQ(numbers.count(rows[static_cast<size_t>(bad)].at("id_number")), 0u)
        << "row " << bad + 1;
  }

  // Again: nothing new.
  r = Ctl({"import", file, "--election", id, "--skip-bad-rows"});
  EXPECT_EXIT_CODE(r, 1);
  EXPECT_EQ(LastLine(r.stdout_text), "import: 50 rows: 0 created, 47 already registered, 3 refused")
      << r.Describe();
  EXPECT_EQ(Observers(id).size(), 47u);
}

// Several batches are checked and created at once: every bad row of every batch is still
// named, and with --skip-bad-rows every good one is created exactly once.
TEST_F(ObserverctlImportTest, ManySmallBatchesInFlightLoseNoRowAndNameEveryBadOne) {
  const std::string id = "cli-import-batches";
  const std::vector<std::string> orgs = SetUpElection(id, "BTC");
  std::vector<Row> rows = People(61, "BT", orgs);
  for (int bad : {2, 21, 40, 60}) rows[static_cast<size_t>(bad)]["citizenship"] = "XX";
  const std::string file = TempFile("batches.csv", CsvFile(rows));

  CommandResult r = Ctl({"import", file, "--election", id, "--batch-size", "4"});
  EXPECT_EXIT_CODE(r, 1);
  EXPECT_THAT(RowNumbersIn(r.stdout_text), UnorderedElementsAreArray({3, 22, 41, 61}))
      << r.Describe();
  EXPECT_TRUE(Observers(id).empty()) << "all or nothing: nothing may be created";

  r = Ctl({"import", file, "--election", id, "--batch-size", "4", "--skip-bad-rows"});
  EXPECT_EXIT_CODE(r, 1);
  EXPECT_EQ(LastLine(r.stdout_text), "import: 61 rows: 57 created, 0 already registered, 4 refused")
      << r.Describe();
  std::set<std::string> numbers;
  for (const auto& o : Observers(id)) numbers.insert(o.id_document().number());
  EXPECT_EQ(numbers.size(), 57u);
  for (size_t i = 0; i < rows.size(); ++i) {
    const bool bad = i == 2 || i == 21 || i == 40 || i == 60;
    EXPECT_EQ(numbers.count(rows[i].at("id_number")), bad ? 0u : 1u) << "row " << i + 1;
  }
}

TEST_F(ObserverctlImportTest, DryRunCreatesNothing) {
  const std::string id = "cli-import-dry";
  const std::vector<std::string> orgs = SetUpElection(id, "DRY");
  const std::string file = TempFile("dry.csv", CsvFile(People(20, "DR", orgs)));
  const int64_t before = MUST(registry().HeadRevision());
  CommandResult r = Ctl({"import", file, "--election", id, "--dry-run"});
  EXPECT_EXIT_CODE(r, 0);
  ExpectNoCrash(r);
  EXPECT_THAT(LastLine(r.stdout_text), HasSubstr("import: 20 rows:")) << r.Describe();
  EXPECT_TRUE(Observers(id).empty());
  EXPECT_EQ(MUST(registry().HeadRevision()), before) << "a dry run wrote to the registry";
}

TEST_F(ObserverctlImportTest, UnknownOrMissingColumnIsUsageError) {
  const std::string id = "cli-import-columns";
  const std::vector<std::string> orgs = SetUpElection(id, "COL");
  std::vector<std::string> columns = ImportColumns();
  columns.push_back("nickname");
  std::vector<Row> rows = People(5, "CL", orgs);
  for (Row& row : rows) row["nickname"] = "Nick";
  CommandResult r =
      Ctl({"import", TempFile("unknown-column.csv", CsvFile(rows, columns)), "--election", id});
  EXPECT_EXIT_CODE(r, 2);
  EXPECT_THAT(r.stderr_text, HasSubstr("nickname"));
  ExpectNoCrash(r);
  EXPECT_TRUE(Observers(id).empty());

  // Without a required column.
  columns = ImportColumns();
  columns.erase(std::find(columns.begin(), columns.end(), "family_name"));
  r = Ctl({"import", TempFile("missing-column.csv", CsvFile(People(5, "CM", orgs), columns)),
           "--election", id});
  EXPECT_EXIT_CODE(r, 2);
  EXPECT_THAT(r.stderr_text, HasSubstr("family_name"));
  EXPECT_TRUE(Observers(id).empty());

  // A file that cannot be read.
  r = Ctl({"import", dir().Join("no-such-file.csv"), "--election", id});
  EXPECT_EXIT_CODE(r, 2);
  EXPECT_THAT(r.stderr_text, HasSubstr("no-such-file.csv"));
}

TEST_F(ObserverctlImportTest, FileThatIsNotUtf8IsUsageErrorNamingTheLine) {
  const std::string id = "cli-import-encoding";
  const std::vector<std::string> orgs = SetUpElection(id, "ENC");
  std::vector<Row> rows = People(4, "EN", orgs);
  rows[1]["given_names"] = "\xC8\xE2\xE0\xED";  // "Иван" in CP1251: row 2, line 3.
  CommandResult r = Ctl({"import", TempFile("cp1251.csv", CsvFile(rows)), "--election", id});
  EXPECT_EXIT_CODE(r, 2);
  EXPECT_THAT(r.stderr_text, HasSubstr("line 3")) << r.Describe();
  EXPECT_THAT(r.stderr_text, HasSubstr("UTF-8")) << r.Describe();
  ExpectNoCrash(r);
  EXPECT_TRUE(Observers(id).empty());
}

TEST_F(ObserverctlImportTest, StatusColumnsAreAppliedAndExportOnlyColumnsIgnored) {
  const std::string id = "cli-import-status";
  const std::vector<std::string> orgs = SetUpElection(id, "STA");
  std::vector<std::string> columns = ImportColumns();
  for (const char* c : {"received_time", "status", "badge_number", "decision_time",
                        "decision_reference", "status_reason", "name", "etag", "create_time",
                        "update_time", "revision", "update_actor"}) {
    columns.push_back(c);
  }
  std::vector<Row> rows = People(5, "ST", orgs);
  for (size_t i = 0; i < rows.size(); ++i) {
    rows[i]["received_time"] = absl::StrCat("2025-01-0", i + 1, "T08:00:00Z");
    // Export-only columns: ignored on import.
    rows[i]["name"] = absl::StrCat("elections/elsewhere/observers/x", i);
    rows[i]["etag"] = "W/\"junk\"";
    rows[i]["create_time"] = "2020-01-01T00:00:00Z";
    rows[i]["revision"] = "99999";
    rows[i]["update_actor"] = "someone";
  }
  rows[0]["status"] = "accredited";
  rows[0]["badge_number"] = "0777";
  rows[0]["decision_time"] = "2025-01-10T10:00:00+06:00";
  rows[0]["decision_reference"] = "CEC resolution No. 1";
  rows[1]["status"] = "rejected";
  rows[1]["decision_time"] = "2025-01-10T04:00:00Z";
  rows[1]["status_reason"] = "Submission incomplete";
  rows[2]["status"] = "suspended";
  rows[2]["badge_number"] = "0778";
  rows[2]["decision_time"] = "2025-01-11T04:00:00Z";
  rows[2]["status_reason"] = "Under review";
  rows[3]["status"] = "WITHDRAWN";
  rows[3]["badge_number"] = "0779";
  rows[3]["decision_time"] = "2025-01-12T04:00:00Z";
  rows[3]["status_reason"] = "Mission ended early";
  rows[4]["status"] = "submitted";
  CommandResult r =
      Ctl({"import", TempFile("status.csv", CsvFile(rows, columns)), "--election", id});
  ASSERT_EXIT_CODE(r, 0);
  EXPECT_THAT(LastLine(r.stdout_text),
              ::testing::StartsWith("import: 5 rows: 5 created, 0 already registered, 0 refused"));

  std::map<std::string, rv1::Observer> by_number;
  for (const rv1::Observer& o : Observers(id)) by_number[o.id_document().number()] = o;
  ASSERT_EQ(by_number.size(), 5u);
  auto get = [&](int i) { return by_number[rows[static_cast<size_t>(i)].at("id_number")]; };
  rv1::Observer o = get(0);
  EXPECT_EQ(o.status(), rv1::OBSERVER_STATUS_ACCREDITED);
  EXPECT_EQ(o.badge_number(), "0777");
  EXPECT_EQ(FormatTs(o.decision_time()), "2025-01-10T04:00:00Z");
  EXPECT_EQ(o.decision_reference(), "CEC resolution No. 1");
  EXPECT_EQ(FormatTs(o.received_time()), "2025-01-01T08:00:00Z");
  EXPECT_THAT(o.name(), HasSubstr(ElectionName(id) + "/observers/"));
  o = get(1);
  EXPECT_EQ(o.status(), rv1::OBSERVER_STATUS_REJECTED);
  EXPECT_EQ(o.status_reason(), "Submission incomplete");
  EXPECT_EQ(FormatTs(o.decision_time()), "2025-01-10T04:00:00Z");
  o = get(2);
  EXPECT_EQ(o.status(), rv1::OBSERVER_STATUS_SUSPENDED);
  EXPECT_EQ(o.badge_number(), "0778");
  EXPECT_EQ(o.status_reason(), "Under review");
  EXPECT_EQ(FormatTs(o.decision_time()), "2025-01-11T04:00:00Z");
  o = get(3);
  EXPECT_EQ(o.status(), rv1::OBSERVER_STATUS_WITHDRAWN);
  EXPECT_EQ(o.badge_number(), "0779");
  EXPECT_EQ(o.status_reason(), "Mission ended early");
  o = get(4);
  EXPECT_EQ(o.status(), rv1::OBSERVER_STATUS_SUBMITTED);
  EXPECT_EQ(o.badge_number(), "");

  // A suspension needs its reason: the row is refused, nothing created.
  const std::string id2 = "cli-import-status-bad";
  CreateOpenElection(id2);
  std::vector<Row> bad = People(3, "SB", {});
  bad[1]["status"] = "suspended";
  bad[1]["badge_number"] = "0001";
  r = Ctl({"import", TempFile("status-bad.csv", CsvFile(bad, columns)), "--election", id2});
  EXPECT_EXIT_CODE(r, 1);
  EXPECT_THAT(RowNumbersIn(r.stdout_text), UnorderedElementsAreArray({2})) << r.Describe();
  EXPECT_THAT(LinesAboutRow(r.stdout_text, 2), HasSubstr("status_reason")) << r.Describe();
  EXPECT_TRUE(Observers(id2).empty());
}

TEST_F(ObserverctlImportTest, ReimportAfterPartialImportCreatesOnlyTheRest) {
  const std::string id = "cli-import-partial";
  const std::vector<std::string> orgs = SetUpElection(id, "PRT");
  const std::vector<Row> rows = People(50, "PT", orgs);
  const std::vector<Row> first(rows.begin(), rows.begin() + 30);
  CommandResult r = Ctl({"import", TempFile("first-30.csv", CsvFile(first)), "--election", id,
                         "--batch-size", "7", "--progress", "never"});
  ASSERT_EXIT_CODE(r, 0);
  EXPECT_EQ(LastLine(r.stdout_text),
            "import: 30 rows: 30 created, 0 already registered, 0 refused");
  EXPECT_EQ(r.stderr_text, "") << "--progress never";
  EXPECT_EQ(Observers(id).size(), 30u);

  r = Ctl(
      {"import", TempFile("all-50.csv", CsvFile(rows)), "--election", id, "--progress", "never"});
  ASSERT_EXIT_CODE(r, 0);
  EXPECT_EQ(LastLine(r.stdout_text),
            "import: 50 rows: 20 created, 30 already registered, 0 refused");
  std::vector<rv1::Observer> all = Observers(id);
  EXPECT_EQ(all.size(), 50u);
  std::set<std::string> numbers;
  for (const auto& o : all) numbers.insert(o.id_document().number());
  EXPECT_EQ(numbers.size(), 50u);
}

TEST_F(ObserverctlImportTest, AcceptsCrlfAndColumnsInAnyOrder) {
  const std::string id = "cli-import-crlf";
  const std::vector<std::string> orgs = SetUpElection(id, "CRL");
  std::vector<std::string> columns = ImportColumns();
  std::reverse(columns.begin(), columns.end());
  const std::vector<Row> rows = People(6, "CR", orgs);
  std::string content = absl::StrReplaceAll(CsvFile(rows, columns), {{"\n", "\r\n"}});
  CommandResult r = Ctl({"import", TempFile("crlf.csv", content), "--election", id});
  ASSERT_EXIT_CODE(r, 0);
  EXPECT_EQ(LastLine(r.stdout_text), "import: 6 rows: 6 created, 0 already registered, 0 refused");
  std::map<std::string, rv1::Observer> by_number;
  for (const rv1::Observer& o : Observers(id)) by_number[o.id_document().number()] = o;
  ASSERT_EQ(by_number.size(), rows.size());
  for (const Row& row : rows) {
    const rv1::Observer& o = by_number[row.at("id_number")];
    EXPECT_EQ(o.given_names(), row.at("given_names"));
    EXPECT_EQ(o.test(), false);
    EXPECT_EQ(o.contact().phone(), row.count("phone") ? row.at("phone") : "");
    EXPECT_EQ(o.tags_size(), 2) << o.DebugString();
  }

  // Into an election that does not exist: the server's refusal, exit 1.
  r = Ctl({"import", TempFile("crlf-2.csv", content), "--election", "cli-no-such-election"});
  EXPECT_EXIT_CODE(r, 1);
  EXPECT_THAT(r.stderr_text + r.stdout_text, HasSubstr("NOT_FOUND"));
  ExpectNoCrash(r);
}

TEST_F(ObserverctlImportTest, CyrillicAndKazakhNamesRoundTripByteForByte) {
  const std::string id = "cli-import-scripts";
  const std::vector<std::string> orgs = SetUpElection(id, "UTF");
  std::vector<Row> rows = People(4, "UT", orgs);
  rows[0]["given_names"] = "Әлия";
  rows[0]["family_name"] = "Нұрланқызы";
  rows[1]["given_names"] = "Иван Сергеевич";
  rows[1]["family_name"] = "Иванов, мл.";     // A comma: quoted in the file.
  rows[2]["given_names"] = "Ғалым \"Ғаля\"";  // Quotes: doubled in the file.
  rows[2]["family_name"] = "Құрманғазыұлы";
  rows[3]["given_names"] = "Өмірзақ\nҮкібаев";  // A line break inside a quoted field.
  rows[3]["family_name"] = "Шәкәрім";
  // With a byte-order mark.
  const std::string file = TempFile("scripts.csv", "\xEF\xBB\xBF" + CsvFile(rows));
  CommandResult r = Ctl({"import", file, "--election", id});
  ASSERT_EXIT_CODE(r, 0);
  EXPECT_EQ(LastLine(r.stdout_text), "import: 4 rows: 4 created, 0 already registered, 0 refused");

  std::map<std::string, rv1::Observer> by_number;
  for (const rv1::Observer& o : Observers(id)) by_number[o.id_document().number()] = o;
  ASSERT_EQ(by_number.size(), 4u);
  for (const Row& row : rows) {
    const rv1::Observer& o = by_number[row.at("id_number")];
    EXPECT_EQ(o.given_names(), row.at("given_names"));
    EXPECT_EQ(o.family_name(), row.at("family_name"));
    r = Ctl({"observer", "get", o.name()});
    EXPECT_EXIT_CODE(r, 0);
    EXPECT_THAT(r.stdout_text, HasSubstr(row.at("family_name")));
    r = Ctl({"observer", "get", o.name(), "--output", "json"});
    EXPECT_EXIT_CODE(r, 0);
    absl::StatusOr<rv1::Observer> json = ParseJsonAs<rv1::Observer>(r.stdout_text);
    ASSERT_OK(json.status());
    EXPECT_EQ(json->given_names(), row.at("given_names"));
    EXPECT_EQ(json->family_name(), row.at("family_name"));
  }

  // The export has the same bytes.
  r = Ctl({"export", "--election", id});
  ASSERT_EXIT_CODE(r, 0);
  CsvTable csv = ParseCsv(r.stdout_text);
  ASSERT_EQ(csv.rows.size(), 4u) << r.Describe();
  std::set<std::pair<std::string, std::string>> exported, imported;
  for (size_t i = 0; i < csv.rows.size(); ++i) {
    exported.emplace(csv.Get(i, "given_names"), csv.Get(i, "family_name"));
  }
  for (const Row& row : rows) imported.emplace(row.at("given_names"), row.at("family_name"));
  EXPECT_EQ(exported, imported);
}

// =============================================================================================
// Export.

TEST_F(ObserverctlTest, ExportLeavesPersonalDataOutUnlessAsked) {
  const std::string id = "cli-export";
  CreateOpenElection(id);
  std::vector<rv1::Observer> created;
  for (int i = 0; i < 6; ++i) created.push_back(AddObserver(id, i % 2 ? "FR" : "DE"));
  for (int i = 0; i < 2; ++i) {
    rv1::AccreditObserverRequest acc;
    acc.set_name(created[static_cast<size_t>(i)].name());
    MUST(registry().AccreditObserver(acc));
  }
  const std::vector<std::string> kPii = {"birth_date", "id_type", "id_number",
                                         "id_country", "email",   "phone"};

  CommandResult r = Ctl({"export", "--election", id});
  ASSERT_EXIT_CODE(r, 0);
  CsvTable csv = ParseCsv(r.stdout_text);
  EXPECT_EQ(csv.rows.size(), created.size());
  for (const std::string& column : kPii) {
    EXPECT_FALSE(csv.HasColumn(column)) << column << " in " << absl::StrJoin(csv.header, ",");
  }
  for (const char* column : {"given_names", "family_name", "citizenship", "status"}) {
    EXPECT_TRUE(csv.HasColumn(column)) << column << " not in " << absl::StrJoin(csv.header, ",");
  }
  for (const rv1::Observer& o : created) {
    EXPECT_THAT(r.stdout_text, Not(HasSubstr(o.id_document().number())));
    EXPECT_THAT(r.stdout_text, Not(HasSubstr(o.contact().email())));
    EXPECT_THAT(r.stdout_text, HasSubstr(o.family_name()));
  }

  r = Ctl({"export", "--election", id, "--include-pii"});
  ASSERT_EXIT_CODE(r, 0);
  csv = ParseCsv(r.stdout_text);
  ASSERT_EQ(csv.rows.size(), created.size());
  for (const std::string& column : kPii) {
    EXPECT_TRUE(csv.HasColumn(column)) << column << " not in " << absl::StrJoin(csv.header, ",");
  }
  std::set<std::string> numbers, expected_numbers;
  for (size_t i = 0; i < csv.rows.size(); ++i) numbers.insert(csv.Get(i, "id_number"));
  for (const rv1::Observer& o : created) expected_numbers.insert(o.id_document().number());
  EXPECT_EQ(numbers, expected_numbers);

  // JSON: an array of records; personal data only with --include-pii.
  r = Ctl({"export", "--election", id, "--output", "json"});
  ASSERT_EXIT_CODE(r, 0);
  absl::StatusOr<std::vector<rv1::Observer>> json = ParseJsonArray<rv1::Observer>(r.stdout_text);
  ASSERT_OK(json.status());
  EXPECT_EQ(json->size(), created.size());
  for (const rv1::Observer& o : *json) EXPECT_FALSE(HasPii(o)) << o.DebugString();
  EXPECT_GE(Lines(r.stdout_text).size(), created.size()) << "one record per line";
  r = Ctl({"export", "--election", id, "--output", "json", "--include-pii"});
  ASSERT_EXIT_CODE(r, 0);
  json = ParseJsonArray<rv1::Observer>(r.stdout_text);
  ASSERT_OK(json.status());
  ASSERT_EQ(json->size(), created.size());
  for (const rv1::Observer& o : *json) EXPECT_TRUE(o.has_id_document()) << o.DebugString();

  // An export with personal data imports back: everyone is already registered.
  const std::string pii_file = dir().Join("export-pii.csv");
  r = Ctl({"export", "--election", id, "--include-pii", "--file", pii_file});
  ASSERT_EXIT_CODE(r, 0);
  r = Ctl({"import", pii_file, "--election", id});
  EXPECT_EXIT_CODE(r, 0);
  EXPECT_THAT(LastLine(r.stdout_text),
              ::testing::StartsWith("import: 6 rows: 0 created, 6 already registered, 0 refused"))
      << r.Describe();
  EXPECT_EQ(Observers(id).size(), created.size());

  // --filter and --file.
  const std::string path = dir().Join("export-accredited.csv");
  r = Ctl({"export", "--election", id, "--filter", "status = ACCREDITED", "--file", path});
  ASSERT_EXIT_CODE(r, 0);
  csv = ParseCsv(ReadFile(path));
  EXPECT_EQ(csv.rows.size(), 2u) << ReadFile(path);
  EXPECT_THAT(r.stdout_text, Not(HasSubstr(created[0].family_name())));
}

// =============================================================================================
// The example data set: figures and a round trip to a second registry.

TEST_F(ObserverctlTest, SummaryAndBreakdownShowTheArticleFigures) {
  const int64_t revision = ExampleData();
  const std::string min_revision = absl::StrCat(revision);

  CommandResult r =
      Ctl({"summary", "--election", kExampleElectionId, "--min-revision", min_revision});
  ASSERT_EXIT_CODE(r, 0);
  for (const char* figure : {"398", "322", "10", "76", "31"}) {
    EXPECT_TRUE(HasToken(r.stdout_text, figure)) << figure << "\n" << r.Describe();
  }

  r = Ctl({"summary", "--election", kExampleElection, "--min-revision", min_revision, "--output",
           "json"});
  ASSERT_EXIT_CODE(r, 0);
  absl::StatusOr<sv1::GetSummaryResponse> summary =
      ParseJsonAs<sv1::GetSummaryResponse>(r.stdout_text);
  ASSERT_OK(summary.status());
  EXPECT_EQ(summary->summary().observers(), 398);
  EXPECT_EQ(summary->summary().organisation_observers(), 322);
  EXPECT_EQ(summary->summary().organisations(), 10);
  EXPECT_EQ(summary->summary().state_observers(), 76);
  EXPECT_EQ(summary->summary().states(), 31);
  EXPECT_GE(summary->revision(), revision);

  // The table: one row per organisation, the counts and shares aligned.
  r = Ctl({"breakdown", "--election", kExampleElectionId, "--by", "organisation", "--min-revision",
           min_revision});
  ASSERT_EXIT_CODE(r, 0);
  EXPECT_THAT(absl::AsciiStrToLower(r.stdout_text), HasSubstr("share"));
  EXPECT_THAT(r.stdout_text, AllOf(HasSubstr("CIS-EC"), HasSubstr("CIS Executive Committee"),
                                   HasSubstr("179"), HasSubstr("55.6%"), HasSubstr("OSCE-ODIHR")));
  std::vector<size_t> share_ends, count_ends;
  int rows = 0;
  for (const std::string& line : Lines(r.stdout_text)) {
    const size_t percent = line.rfind('%');
    if (percent == std::string::npos) continue;
    ++rows;
    share_ends.push_back(CodePoints(absl::string_view(line).substr(0, percent + 1)));
  }
  EXPECT_GE(rows, 10) << r.Describe();
  EXPECT_EQ(std::set<size_t>(share_ends.begin(), share_ends.end()).size(), 1u)
      << "the share column is not aligned:\n"
      << r.stdout_text;
  for (const auto& [code, count] : std::vector<std::pair<std::string, std::string>>{
           {"CIS-EC", "179"}, {"CIS-IPA", "48"}, {"OSCE-ODIHR", "42"}}) {
    bool found = false;
    for (const std::string& line : Lines(r.stdout_text)) {
      if (absl::StartsWith(absl::StripLeadingAsciiWhitespace(line), code + " ")) {
        found = true;
        EXPECT_TRUE(HasToken(line, count)) << line;
        const size_t at = line.find(" " + count + " ");
        if (at != std::string::npos) {
          count_ends.push_back(
              CodePoints(absl::string_view(line).substr(0, at + 1 + count.size())));
        }
      }
    }
    EXPECT_TRUE(found) << code << "\n" << r.stdout_text;
  }
  EXPECT_EQ(std::set<size_t>(count_ends.begin(), count_ends.end()).size(), 1u)
      << "the count column is not aligned:\n"
      << r.stdout_text;

  // JSON: the response message, equal to what stats-service answers.
  r = Ctl({"breakdown", "--election", kExampleElectionId, "--by", "region", "--min-revision",
           min_revision, "--output", "json"});
  ASSERT_EXIT_CODE(r, 0);
  absl::StatusOr<sv1::GetBreakdownResponse> breakdown =
      ParseJsonAs<sv1::GetBreakdownResponse>(r.stdout_text);
  ASSERT_OK(breakdown.status());
  sv1::GetBreakdownRequest req;
  req.set_election(kExampleElection);
  req.set_dimension(sv1::DIMENSION_REGION);
  req.set_min_revision(revision);
  sv1::GetBreakdownResponse direct = MUST(stats().GetBreakdown(req));
  breakdown->clear_revision();
  direct.clear_revision();
  std::string diff;
  EXPECT_TRUE(ProtoEquals(*breakdown, direct, &diff)) << diff;
  EXPECT_EQ(breakdown->breakdown().total(), 76);

  // CSV: a header row, then one row per state.
  r = Ctl({"breakdown", "--election", kExampleElectionId, "--by", "country", "--min-revision",
           min_revision, "--output", "csv"});
  ASSERT_EXIT_CODE(r, 0);
  CsvTable csv = ParseCsv(r.stdout_text);
  std::string header = absl::AsciiStrToLower(absl::StrJoin(csv.header, ","));
  EXPECT_THAT(header, AllOf(HasSubstr("key"), HasSubstr("count"))) << r.Describe();
  EXPECT_GE(csv.rows.size(), 31u) << r.Describe();

  r = Ctl({"summary", "--election", kExampleElectionId, "--output", "csv", "--min-revision",
           min_revision});
  ASSERT_EXIT_CODE(r, 0);
  csv = ParseCsv(r.stdout_text);
  EXPECT_GE(csv.header.size(), 2u) << r.Describe();
  EXPECT_FALSE(HasToken(absl::StrJoin(csv.header, ","), "398")) << "no header row:\n"
                                                                << r.stdout_text;
  EXPECT_GE(csv.rows.size(), 1u) << r.Describe();

  // Other languages, top N, the schemes.
  r = Ctl({"breakdown", "--election", kExampleElectionId, "--by", "organisation", "--top", "3",
           "--language", "ru", "--min-revision", min_revision, "--output", "json"});
  ASSERT_EXIT_CODE(r, 0);
  breakdown = ParseJsonAs<sv1::GetBreakdownResponse>(r.stdout_text);
  ASSERT_OK(breakdown.status());
  ASSERT_EQ(breakdown->breakdown().rows_size(), 4);
  EXPECT_EQ(breakdown->breakdown().rows(3).key(), "OTHER");
  EXPECT_TRUE(breakdown->breakdown().rows(3).folded());
  r = Ctl({"schemes"});
  EXPECT_EXIT_CODE(r, 0);
  EXPECT_THAT(r.stdout_text, AllOf(HasSubstr("m49-continent"), HasSubstr("m49-subregion")));
}

TEST_F(ObserverctlTest, StatisticsFlagsMapToTheRequest) {
  const int64_t revision = ExampleData();
  const std::string min_revision = absl::StrCat(revision);
  auto summary_of = [&](const sv1::Filter& filter) {
    sv1::GetSummaryRequest req;
    req.set_election(kExampleElection);
    req.set_min_revision(revision);
    *req.mutable_filter() = filter;
    sv1::GetSummaryResponse resp = MUST(stats().GetSummary(req));
    resp.clear_revision();
    return resp;
  };
  auto ctl_summary = [&](std::vector<std::string> flags) -> std::optional<sv1::GetSummaryResponse> {
    std::vector<std::string> args = {"summary", "--election",     kExampleElectionId, "--output",
                                     "json",    "--min-revision", min_revision};
    args.insert(args.end(), flags.begin(), flags.end());
    CommandResult r = Ctl(args);
    EXPECT_EXIT_CODE(r, 0);
    absl::StatusOr<sv1::GetSummaryResponse> resp =
        ParseJsonAs<sv1::GetSummaryResponse>(r.stdout_text);
    EXPECT_OK(resp.status());
    if (!resp.ok()) return std::nullopt;
    resp->clear_revision();
    return *resp;
  };
  std::string diff;
  {
    SCOPED_TRACE("statuses and test records");
    sv1::Filter filter;
    filter.add_statuses(rv1::OBSERVER_STATUS_SUBMITTED);
    filter.add_statuses(rv1::OBSERVER_STATUS_ACCREDITED);
    filter.add_statuses(rv1::OBSERVER_STATUS_REJECTED);
    filter.set_include_test(true);
    auto got = ctl_summary({"--status", "submitted,ACCREDITED,rejected", "--include-test"});
    ASSERT_TRUE(got.has_value());
    EXPECT_TRUE(ProtoEquals(*got, summary_of(filter), &diff)) << diff;
    EXPECT_GT(got->summary().observers(), 398);
    // --include-test=false clears the flag.
    filter.set_include_test(false);
    got = ctl_summary({"--status", "submitted,accredited,rejected", "--include-test=false"});
    ASSERT_TRUE(got.has_value());
    EXPECT_TRUE(ProtoEquals(*got, summary_of(filter), &diff)) << diff;
  }
  {
    SCOPED_TRACE("categories");
    sv1::Filter filter;
    filter.add_categories(rv1::OBSERVER_CATEGORY_SHORT_TERM);
    filter.add_categories(rv1::OBSERVER_CATEGORY_LONG_TERM);
    auto got = ctl_summary({"--category", "short-term,LONG_TERM"});
    ASSERT_TRUE(got.has_value());
    EXPECT_TRUE(ProtoEquals(*got, summary_of(filter), &diff)) << diff;
  }
  {
    SCOPED_TRACE("region by citizenship, subregions, in Russian");
    CommandResult r = Ctl({"breakdown", "--election", kExampleElectionId, "--by", "region",
                           "--scheme", "m49-subregion", "--basis", "citizenship", "--language",
                           "ru", "--output", "json", "--min-revision", min_revision});
    ASSERT_EXIT_CODE(r, 0);
    absl::StatusOr<sv1::GetBreakdownResponse> got =
        ParseJsonAs<sv1::GetBreakdownResponse>(r.stdout_text);
    ASSERT_OK(got.status());
    sv1::GetBreakdownRequest req;
    req.set_election(kExampleElection);
    req.set_dimension(sv1::DIMENSION_REGION);
    req.set_region_scheme("m49-subregion");
    req.set_region_basis(sv1::REGION_BASIS_CITIZENSHIP);
    req.set_language_code("ru");
    req.set_min_revision(revision);
    sv1::GetBreakdownResponse want = MUST(stats().GetBreakdown(req));
    got->clear_revision();
    want.clear_revision();
    EXPECT_TRUE(ProtoEquals(*got, want, &diff)) << diff;
  }
  {
    SCOPED_TRACE("state is country");
    CommandResult a = Ctl({"breakdown", "--election", kExampleElectionId, "--by", "state",
                           "--output", "json", "--min-revision", min_revision});
    CommandResult b = Ctl({"breakdown", "--election", kExampleElectionId, "--by", "country",
                           "--output", "json", "--min-revision", min_revision});
    ASSERT_EXIT_CODE(a, 0);
    ASSERT_EXIT_CODE(b, 0);
    absl::StatusOr<sv1::GetBreakdownResponse> ra =
        ParseJsonAs<sv1::GetBreakdownResponse>(a.stdout_text);
    absl::StatusOr<sv1::GetBreakdownResponse> rb =
        ParseJsonAs<sv1::GetBreakdownResponse>(b.stdout_text);
    ASSERT_OK(ra.status());
    ASSERT_OK(rb.status());
    EXPECT_EQ(ra->breakdown().dimension(), sv1::DIMENSION_SENDING_STATE);
    ra->clear_revision();
    rb->clear_revision();
    EXPECT_TRUE(ProtoEquals(*ra, *rb, &diff)) << diff;
    EXPECT_EQ(ra->breakdown().total(), 76);
  }
}

TEST_F(ObserverctlTest, MinRevisionFarAheadTimesOut) {
  const std::string id = "cli-min-revision";
  CreateOpenElection(id);
  const int64_t revision = GetElection(id).revision();
  sv1::GetSummaryRequest req;
  req.set_election(ElectionName(id));
  req.set_min_revision(revision);
  MUST(stats().GetSummary(req));  // stats-service knows the election.

  CommandResult r =
      Ctl({"summary", "--election", id, "--min-revision", "1000000000", "--timeout", "1s"});
  EXPECT_EXIT_CODE(r, 1);
  EXPECT_THAT(r.stderr_text, HasSubstr("DEADLINE_EXCEEDED"));
  EXPECT_LT(r.elapsed, absl::Seconds(15)) << r.Describe();
  ExpectNoCrash(r);
  r = Ctl({"breakdown", "--election", id, "--by", "status", "--min-revision", "1000000000",
           "--timeout", "500ms"});
  EXPECT_EXIT_CODE(r, 1);
  EXPECT_THAT(r.stderr_text, HasSubstr("DEADLINE_EXCEEDED"));
  // The timeout from the environment.
  CommandOptions env;
  env.env = {{"OBSERVERCTL_TIMEOUT", "1s"}};
  r = Ctl({"summary", "--election", id, "--min-revision", "1000000000"}, env);
  EXPECT_EXIT_CODE(r, 1);
  EXPECT_THAT(r.stderr_text, HasSubstr("DEADLINE_EXCEEDED"));
  EXPECT_LT(r.elapsed, absl::Seconds(15)) << r.Describe();
}

TEST_F(ObserverctlTest, ExampleDataRoundTripsThroughExportAndImport) {
  const example::ExampleDataSet& data = example::Kz2021DataSet();
  const int64_t revision_a = ExampleData();
  const std::string export_file = dir().Join("kz2021-export.csv");
  CommandResult r =
      Ctl({"export", "--election", kExampleElectionId, "--include-pii", "--file", export_file});
  ASSERT_EXIT_CODE(r, 0);
  ASSERT_EQ(ParseCsv(ReadFile(export_file)).rows.size(), data.observers.size());

  // A second, empty registry and its stats-service. Registry B serves one call at a time:
  // observerctl's concurrent decisions are refused for overload and retried after the delay
  // the refusal names.
  TempDir dir_b;
  std::vector<std::string> flags_b = TestRegistryFlags();
  flags_b.insert(flags_b.end(), {"--max-in-flight", "1"});
  RegistryProcess registry_b(dir_b.path(), flags_b);
  ASSERT_OK(registry_b.Start());
  StatsProcess stats_b(registry_b.address(), TestStatsFlags());
  ASSERT_OK(stats_b.Start());
  RegistryClient client_b(registry_b.channel());
  StatsClient stats_client_b(stats_b.channel());
  auto ctl_b = [&](const std::vector<std::string>& args) {
    return CtlAt(registry_b.address(), stats_b.address(), args);
  };

  // The election and the organisations, with observerctl.
  const rv1::Election& e = data.election;
  r = ctl_b({"election", "create", data.election_id, "--display-name", e.display_name(), "--kind",
             "combined", "--host-country", e.host_country(), "--voting-day", "2021-01-10",
             "--time-zone", e.time_zone()});
  ASSERT_EXIT_CODE(r, 0);
  for (const example::PlannedOrganisation& po : data.organisations) {
    const rv1::Organisation& o = po.organisation;
    std::vector<std::string> args = {"organisation", "create", po.code, "--name-en",
                                     o.names().en()};
    if (!o.names().ru().empty()) args.insert(args.end(), {"--name-ru", o.names().ru()});
    if (!o.names().kk().empty()) args.insert(args.end(), {"--name-kk", o.names().kk()});
    if (!o.parent().empty()) args.insert(args.end(), {"--parent", o.parent()});
    for (const rv1::OrganisationAlias& alias : o.aliases()) {
      std::vector<std::string> parts;
      if (!alias.names().en().empty()) parts.push_back("en=" + alias.names().en());
      if (!alias.names().ru().empty()) parts.push_back("ru=" + alias.names().ru());
      if (!alias.names().kk().empty()) parts.push_back("kk=" + alias.names().kk());
      auto date = [](const google::type::Date& d) {
        return absl::StrFormat("%04d-%02d-%02d", d.year(), d.month(), d.day());
      };
      if (alias.has_valid_from()) parts.push_back("from=" + date(alias.valid_from()));
      if (alias.has_valid_until()) parts.push_back("until=" + date(alias.valid_until()));
      args.insert(args.end(), {"--alias", absl::StrJoin(parts, ";")});
    }
    r = ctl_b(args);
    ASSERT_EXIT_CODE(r, 0);
  }
  // Election and organisations are as in registry A (apart from bookkeeping).
  {
    rv1::GetElectionRequest get;
    get.set_name(kExampleElection);
    rv1::Election ea = MUST(registry().GetElection(get)).election();
    rv1::Election eb = MUST(client_b.GetElection(get)).election();
    for (rv1::Election* x : {&ea, &eb}) {
      x->clear_create_time();
      x->clear_update_time();
      x->clear_etag();
      x->clear_revision();
    }
    std::string diff;
    EXPECT_TRUE(ProtoEquals(ea, eb, &diff)) << diff;
    for (const example::PlannedOrganisation& po : data.organisations) {
      rv1::GetOrganisationRequest og;
      og.set_name("organisations/" + po.code);
      rv1::Organisation oa = MUST(registry().GetOrganisation(og)).organisation();
      rv1::Organisation ob = MUST(client_b.GetOrganisation(og)).organisation();
      for (rv1::Organisation* x : {&oa, &ob}) {
        x->clear_create_time();
        x->clear_update_time();
        x->clear_etag();
        x->clear_revision();
      }
      EXPECT_TRUE(ProtoEquals(oa, ob, &diff)) << po.code << ": " << diff;
    }
  }

  CommandOptions slow;
  slow.timeout = absl::Minutes(2);
  r = CtlAt(registry_b.address(), stats_b.address(),
            {"import", export_file, "--election", data.election_id}, slow);
  ASSERT_EXIT_CODE(r, 0);
  const size_t n = data.observers.size();
  // The counts line (anything after them, e.g. the decisions applied, is extra).
  EXPECT_THAT(LastLine(r.stdout_text),
              ::testing::StartsWith(absl::StrCat("import: ", n, " rows: ", n,
                                                 " created, 0 already registered, 0 refused")));
  const std::string metrics_b = MUST(HttpGet(registry_b.metrics_address(), "/metrics"));
  EXPECT_GT(SampleValue(metrics_b, "grpc_server_denied_total",
                        {{"grpc_method", "AccreditObserver"}, {"reason", "overload"}})
                .value_or(0),
            0)
      << "the import never met the limit: the retries were not tested";

  // Every record is as in registry A, apart from its name and bookkeeping.
  {
    std::map<std::string, rv1::Observer> a, b;
    for (const rv1::Observer& o : MUST(registry().AllObservers(kExampleElection))) {
      a[o.id_document().number()] = Comparable(o);
    }
    for (const rv1::Observer& o : MUST(client_b.AllObservers(kExampleElection))) {
      b[o.id_document().number()] = Comparable(o);
    }
    EXPECT_EQ(a.size(), n);
    EXPECT_EQ(b.size(), n);
    int shown = 0;
    for (const auto& [number, oa] : a) {
      auto it = b.find(number);
      if (it == b.end()) {
        ADD_FAILURE() << "not in registry B: " << oa.DebugString();
        continue;
      }
      std::string diff;
      if (!ProtoEquals(oa, it->second, &diff) && shown++ < 5) {
        ADD_FAILURE() << "differs in registry B: " << diff;
      }
    }
  }

  // The figures are the same (apart from the revision), for every dimension.
  const int64_t revision_b = MUST(client_b.HeadRevision());
  const std::vector<std::string> kFilter = {"--status",
                                            "submitted,accredited,rejected,suspended,withdrawn",
                                            "--include-test", "--output", "json"};
  auto figures = [&](bool on_b, std::vector<std::string> args) {
    args.insert(args.end(), kFilter.begin(), kFilter.end());
    args.insert(args.end(), {"--min-revision", absl::StrCat(on_b ? revision_b : revision_a)});
    return on_b ? ctl_b(args) : Ctl(args);
  };
  {
    CommandResult ra = figures(false, {"summary", "--election", kExampleElectionId});
    CommandResult rb = figures(true, {"summary", "--election", kExampleElectionId});
    ASSERT_EXIT_CODE(ra, 0);
    ASSERT_EXIT_CODE(rb, 0);
    auto sa = ParseJsonAs<sv1::GetSummaryResponse>(ra.stdout_text);
    auto sb = ParseJsonAs<sv1::GetSummaryResponse>(rb.stdout_text);
    ASSERT_OK(sa.status());
    ASSERT_OK(sb.status());
    sa->clear_revision();
    sb->clear_revision();
    std::string diff;
    EXPECT_TRUE(ProtoEquals(*sa, *sb, &diff)) << diff;
    EXPECT_EQ(sa->summary().observers(), static_cast<int64_t>(n));
  }
  for (const std::string dimension : {"organisation", "country", "citizenship", "region", "type",
                                      "category", "status", "gender"}) {
    SCOPED_TRACE(dimension);
    CommandResult ra =
        figures(false, {"breakdown", "--election", kExampleElectionId, "--by", dimension});
    CommandResult rb =
        figures(true, {"breakdown", "--election", kExampleElectionId, "--by", dimension});
    ASSERT_EXIT_CODE(ra, 0);
    ASSERT_EXIT_CODE(rb, 0);
    auto ba = ParseJsonAs<sv1::GetBreakdownResponse>(ra.stdout_text);
    auto bb = ParseJsonAs<sv1::GetBreakdownResponse>(rb.stdout_text);
    ASSERT_OK(ba.status());
    ASSERT_OK(bb.status());
    EXPECT_GT(ba->breakdown().total(), 0);
    ba->clear_revision();
    bb->clear_revision();
    std::string diff;
    EXPECT_TRUE(ProtoEquals(*ba, *bb, &diff)) << diff;
  }
  // And the published figures straight from stats-service B.
  sv1::GetSummaryRequest req;
  req.set_election(kExampleElection);
  req.set_min_revision(revision_b);
  sv1::Summary s = MUST(stats_client_b.GetSummary(req)).summary();
  EXPECT_EQ(s.observers(), 398);
  EXPECT_EQ(s.organisation_observers(), 322);
  EXPECT_EQ(s.organisations(), 10);
  EXPECT_EQ(s.state_observers(), 76);
  EXPECT_EQ(s.states(), 31);
}

// =============================================================================================
// Watch.

TEST_F(ObserverctlTest, WatchFromRevisionPrintsJsonLines) {
  const std::string id = "cli-watch-from";
  CreateOpenElection(id);
  for (int i = 0; i < 5; ++i) AddObserver(id);

  CommandResult r = Ctl({"watch", "--from", "1", "--limit", "5", "--output", "json"});
  ASSERT_EXIT_CODE(r, 0);
  std::vector<std::string> lines = Lines(r.stdout_text);
  ASSERT_EQ(lines.size(), 5u) << r.Describe();
  int64_t previous = 0;
  for (const std::string& line : lines) {
    // Typed parsing: Struct maps from Debian's (uninstrumented) protobuf crash under TSan.
    absl::StatusOr<rv1::ChangeEvent> event = ParseJsonAs<rv1::ChangeEvent>(line);
    ASSERT_OK(event.status());
    EXPECT_GT(event->revision(), previous) << line;
    previous = event->revision();
  }
  EXPECT_EQ(MUST(ParseJsonAs<rv1::ChangeEvent>(lines[0])).revision(), 1);
  // Personal data never appears in events.
  EXPECT_THAT(r.stdout_text, Not(HasSubstr("idDocument")));

  // Text: one line per event.
  r = Ctl({"watch", "--from", "2", "--limit", "3"});
  EXPECT_EXIT_CODE(r, 0);
  EXPECT_EQ(Lines(r.stdout_text).size(), 3u) << r.Describe();
}

TEST_F(ObserverctlTest, WatchStopsOnInterruptWithExitZero) {
  const std::string id = "cli-watch-interrupt";
  CreateOpenElection(id);
  CommandProcess watch;
  CommandOptions options;
  options.unset_env = ObserverctlEnvironment();
  ASSERT_OK(watch.Start(
      {ObserverctlBinary(), "--registry", registry_address(), "watch", "--from", "1"}, options));
  // It prints the history from revision 1, then waits for more.
  ASSERT_TRUE(watch.WaitForStdout(ElectionName(id), absl::Seconds(10)))
      << watch.stdout_so_far() << watch.stderr_so_far();
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_FALSE(watch.Exited()) << "watch without --limit ended by itself";
  ASSERT_OK(watch.Signal(SIGINT));
  ASSERT_OK_AND_ASSIGN(CommandResult r, watch.Wait(absl::Seconds(10)));
  EXPECT_EXIT_CODE(r, 0);
  ExpectNoCrash(r);
}

TEST_F(ObserverctlTest, WatchPrintsTheNextWrite) {
  const std::string id = "cli-watch-next";
  CreateOpenElection(id);
  CommandProcess watch;
  std::vector<std::string> argv = {ObserverctlBinary(), "--registry", registry_address(), "--stats",
                                   stats_address(),     "watch",      "--limit",          "1",
                                   "--output",          "json"};
  CommandOptions options;
  options.unset_env = ObserverctlEnvironment();
  ASSERT_OK(watch.Start(argv, options));

  // The watch starts with the next change, so write until it has seen one (its start is not
  // observable from outside); the event printed must be one of these writes.
  std::map<int64_t, std::string> writes;  // revision → observer name
  const absl::Time give_up = absl::Now() + absl::Seconds(20);
  while (!watch.Exited() && absl::Now() < give_up) {
    rv1::CreateObserverResponse created =
        MUST(registry().CreateObserver(NewObserverRequest(ElectionName(id), NextSeq(), "DE")));
    writes[created.revision()] = created.observer().name();
    PollUntil([&] { return watch.Exited(); }, absl::Milliseconds(400));
  }
  ASSERT_OK_AND_ASSIGN(CommandResult r, watch.Wait(absl::Seconds(10)));
  ASSERT_EXIT_CODE(r, 0);
  std::vector<std::string> lines = Lines(r.stdout_text);
  ASSERT_EQ(lines.size(), 1u) << r.Describe();
  ASSERT_OK_AND_ASSIGN(rv1::ChangeEvent event, ParseJsonAs<rv1::ChangeEvent>(lines[0]));
  const int64_t revision = event.revision();
  ASSERT_TRUE(writes.count(revision)) << "revision " << revision << " is none of the writes";
  EXPECT_THAT(lines[0], HasSubstr(writes[revision]));
  EXPECT_LE(writes.begin()->first, revision);
}

}  // namespace
}  // namespace observer::testing
