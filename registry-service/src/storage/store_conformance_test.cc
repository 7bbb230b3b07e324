// The conformance suite of the Store interface. Every backend must pass every test of
// StoreConformanceTest: SQLite, and PostgreSQL on a throwaway cluster this test starts
// (tests/harness/postgres_cluster.h; without the server binaries the PostgreSQL cases are
// skipped, unless CI is set). The SqliteStoreTest and PostgresStoreTest cases at the end check
// what only one backend has (file handling and locking; several stores on one database).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/errors.h"
#include "common/status_macros.h"
#include "google/protobuf/util/message_differencer.h"
#include "registry-service/src/storage/audit_chain.h"
#include "registry-service/src/storage/postgres_store.h"
#include "registry-service/src/storage/sqlite_store.h"
#include "registry-service/src/storage/store.h"
#include "tests/harness/postgres_cluster.h"

namespace observer::registry {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

absl::Status StatusOf(const absl::Status& status) { return status; }
template <typename T>
absl::Status StatusOf(const absl::StatusOr<T>& status_or) {
  return status_or.status();
}

#define ASSERT_OK(expr)                                          \
  do {                                                           \
    const absl::Status assert_ok_ = StatusOf(expr);              \
    ASSERT_TRUE(assert_ok_.ok()) << #expr << ": " << assert_ok_; \
  } while (false)
#define EXPECT_OK(expr)                                          \
  do {                                                           \
    const absl::Status expect_ok_ = StatusOf(expr);              \
    EXPECT_TRUE(expect_ok_.ok()) << #expr << ": " << expect_ok_; \
  } while (false)

#define STORE_TEST_CONCAT_INNER(a, b) a##b
#define STORE_TEST_CONCAT(a, b) STORE_TEST_CONCAT_INNER(a, b)
#define ASSERT_OK_AND_ASSIGN(lhs, expr) \
  ASSERT_OK_AND_ASSIGN_IMPL(STORE_TEST_CONCAT(status_or_, __LINE__), lhs, expr)
#define ASSERT_OK_AND_ASSIGN_IMPL(tmp, lhs, expr)         \
  auto tmp = (expr);                                      \
  ASSERT_TRUE(tmp.ok()) << #expr << ": " << tmp.status(); \
  lhs = std::move(*tmp)

std::string Reason(const absl::Status& status) { return GetErrorDetails(status).reason; }

bool SameMessage(const google::protobuf::Message& a, const google::protobuf::Message& b) {
  return google::protobuf::util::MessageDifferencer::Equals(a, b);
}

std::string MakeTempDir() {
  std::string pattern = ::testing::TempDir() + "store_conformance_XXXXXX";
  char* dir = mkdtemp(pattern.data());
  EXPECT_NE(dir, nullptr) << "mkdtemp " << pattern;
  return pattern;
}

// --- Records --------------------------------------------------------------------------------

v1::Election Election(const std::string& id, const std::string& display_name = "Election") {
  v1::Election e;
  e.set_name("elections/" + id);
  e.set_display_name(display_name);
  e.set_kind(v1::ELECTION_KIND_PARLIAMENTARY);
  e.set_host_country("KZ");
  e.mutable_voting_day()->set_year(2021);
  e.mutable_voting_day()->set_month(1);
  e.mutable_voting_day()->set_day(10);
  e.set_time_zone("Asia/Almaty");
  e.set_state(v1::ELECTION_STATE_SCHEDULED);
  return e;
}

v1::Organisation Organisation(const std::string& code, const std::string& en = "Organisation") {
  v1::Organisation o;
  o.set_name("organisations/" + code);
  o.mutable_names()->set_en(en);
  return o;
}

struct ObserverSpec {
  v1::ObserverStatus status = v1::OBSERVER_STATUS_SUBMITTED;
  std::string organisation;  // Code; empty: sent by `state`.
  std::string state;
  std::string citizenship = "DE";
  v1::ObserverCategory category = v1::OBSERVER_CATEGORY_SHORT_TERM;
  bool test = false;
  std::vector<std::string> tags;
  std::string badge;

  ObserverSpec& Status(v1::ObserverStatus v) {
    status = v;
    return *this;
  }
  ObserverSpec& Org(std::string v) {
    organisation = std::move(v);
    return *this;
  }
  ObserverSpec& State(std::string v) {
    state = std::move(v);
    return *this;
  }
  ObserverSpec& Citizenship(std::string v) {
    citizenship = std::move(v);
    return *this;
  }
  ObserverSpec& Category(v1::ObserverCategory v) {
    category = v;
    return *this;
  }
  ObserverSpec& Test(bool v) {
    test = v;
    return *this;
  }
  ObserverSpec& Tags(std::vector<std::string> v) {
    tags = std::move(v);
    return *this;
  }
  ObserverSpec& Badge(std::string v) {
    badge = std::move(v);
    return *this;
  }
};

v1::Observer Observer(const std::string& election_id, const std::string& id,
                      const ObserverSpec& spec = {}) {
  v1::Observer o;
  o.set_name(absl::StrCat("elections/", election_id, "/observers/", id));
  o.set_given_names("Given " + id);
  o.set_family_name("Family");
  o.set_latin_given_names("GIVEN");
  o.set_latin_family_name("FAMILY");
  o.set_citizenship(spec.citizenship);
  o.mutable_birth_date()->set_year(1970);
  o.mutable_birth_date()->set_month(1);
  o.mutable_birth_date()->set_day(2);
  o.mutable_id_document()->set_type(v1::ID_DOCUMENT_TYPE_PASSPORT);
  o.mutable_id_document()->set_number("N" + id);
  o.mutable_id_document()->set_issuing_country(spec.citizenship);
  o.mutable_contact()->set_email(id + "@example.org");
  if (!spec.organisation.empty()) {
    o.mutable_sending_body()->set_organisation("organisations/" + spec.organisation);
  } else {
    o.mutable_sending_body()->set_state(spec.state.empty() ? "TR" : spec.state);
  }
  o.set_category(spec.category);
  o.set_status(spec.status);
  o.set_test(spec.test);
  for (const std::string& tag : spec.tags) o.add_tags(tag);
  o.set_badge_number(spec.badge);
  return o;
}

v1::ChangeEvent Event(int64_t revision, const std::string& name,
                      v1::ChangeType type = v1::CHANGE_TYPE_UPDATED) {
  v1::ChangeEvent event;
  event.set_revision(revision);
  event.set_type(type);
  event.set_kind(v1::RESOURCE_KIND_ELECTION);
  event.set_name(name);
  event.set_actor("conformance-test");
  return event;
}

std::vector<int64_t> RevisionsOf(const std::vector<v1::ChangeEvent>& events) {
  std::vector<int64_t> revisions;
  for (const auto& e : events) revisions.push_back(e.revision());
  return revisions;
}

std::vector<int64_t> Range(int64_t first, int64_t last) {
  std::vector<int64_t> out;
  for (int64_t r = first; r <= last; ++r) out.push_back(r);
  return out;
}

std::vector<std::string> ObserverIds(const std::vector<v1::Observer>& observers) {
  std::vector<std::string> ids;
  for (const auto& o : observers) ids.push_back(o.name().substr(o.name().rfind('/') + 1));
  return ids;
}

// --- Backends -------------------------------------------------------------------------------

struct StoreBackend {
  std::string name;
  // Opens (creating when new) the store kept under `dir`, a directory owned by the test.
  // Opening the same `dir` again must give the same data.
  std::function<absl::StatusOr<std::unique_ptr<Store>>(const std::string& dir)> open;
};

void PrintTo(const StoreBackend& backend, std::ostream* os) { *os << backend.name; }

// Whether the PostgreSQL cases must be skipped: no server binaries here, and not in CI (where
// scripts/deps.sh installs them, so their absence is a failure).
bool SkipPostgres() {
  return observer::testing::PostgresBinDir().empty() && getenv("CI") == nullptr;
}

// The test binary's PostgreSQL cluster, started on first use (fsync off: durability is the
// reliability suite's, on a cluster with fsync on), and one database per test directory.
class PostgresDatabases {
 public:
  static PostgresDatabases& Get() {
    static auto* databases = new PostgresDatabases();
    return *databases;
  }
  // The URL of the database kept for `dir`, created on first use.
  absl::StatusOr<std::string> UrlFor(const std::string& dir) {
    if (cluster_ == nullptr) {
      observer::testing::PostgresClusterOptions options;
      options.fsync = false;
      ASSIGN_OR_RETURN(cluster_, observer::testing::PostgresCluster::Start(options));
    }
    auto it = names_.find(dir);
    if (it == names_.end()) {
      const std::string name = absl::StrCat("store_", names_.size() + 1);
      RETURN_IF_ERROR(cluster_->CreateDatabase(name));
      it = names_.emplace(dir, name).first;
    }
    return cluster_->Url(it->second);
  }
  // Runs `sql` in the database kept for `dir` (created by UrlFor) with a session of our own.
  absl::StatusOr<std::vector<std::string>> Query(const std::string& dir, const std::string& sql) {
    ASSIGN_OR_RETURN(const std::string url, UrlFor(dir));
    return observer::testing::PostgresQuery(url, sql);
  }
  // Stops the cluster (from the main thread, at the end of the run).
  void Stop() { cluster_.reset(); }

 private:
  std::unique_ptr<observer::testing::PostgresCluster> cluster_;
  std::map<std::string, std::string> names_;
};

// Stops the cluster once every test ran, removing its directory.
class StopPostgresCluster : public ::testing::Environment {
 public:
  void TearDown() override { PostgresDatabases::Get().Stop(); }
};
[[maybe_unused]] ::testing::Environment* const stop_postgres_cluster =
    ::testing::AddGlobalTestEnvironment(new StopPostgresCluster);

absl::StatusOr<std::unique_ptr<Store>> OpenPostgres(const std::string& dir,
                                                    PostgresStoreOptions options = {}) {
  ASSIGN_OR_RETURN(const std::string url, PostgresDatabases::Get().UrlFor(dir));
  auto store = PostgresStore::Open(url, options);
  if (!store.ok()) return store.status();
  return std::unique_ptr<Store>(std::move(*store));
}

std::vector<StoreBackend> Backends() {
  return {
      {"Sqlite",
       [](const std::string& dir) -> absl::StatusOr<std::unique_ptr<Store>> {
         auto store = SqliteStore::Open(dir + "/registry.db", SqliteStoreOptions{});
         if (!store.ok()) return store.status();
         return std::unique_ptr<Store>(std::move(*store));
       }},
      {"Postgres",
       [](const std::string& dir) -> absl::StatusOr<std::unique_ptr<Store>> {
         return OpenPostgres(dir);
       }},
  };
}

class StoreConformanceTest : public ::testing::TestWithParam<StoreBackend> {
 protected:
  void SetUp() override {
    if (GetParam().name == "Postgres" && SkipPostgres()) {
      GTEST_SKIP() << "no PostgreSQL server binaries (" << observer::testing::kDefaultPostgresBinDir
                   << "); bash scripts/deps.sh installs them";
    }
    dir_ = MakeTempDir();
    ASSERT_NO_FATAL_FAILURE(Open());
  }
  void TearDown() override {
    store_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  void Open() {
    absl::StatusOr<std::unique_ptr<Store>> store = GetParam().open(dir_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
  }
  void Reopen() {
    store_.reset();
    ASSERT_NO_FATAL_FAILURE(Open());
  }

  Store& store() { return *store_; }

  // One request writing the election and its change; returns the revision.
  int64_t PutElection(v1::Election election) {
    int64_t revision = 0;
    EXPECT_OK(store().Write([&](WriteTxn& txn) -> absl::Status {
      revision = txn.NextRevision();
      election.set_revision(revision);
      RETURN_IF_ERROR(txn.PutElection(election));
      return txn.AppendChange(Event(revision, election.name()));
    }));
    return revision;
  }
  int64_t PutOrganisation(v1::Organisation organisation) {
    int64_t revision = 0;
    EXPECT_OK(store().Write([&](WriteTxn& txn) -> absl::Status {
      revision = txn.NextRevision();
      organisation.set_revision(revision);
      RETURN_IF_ERROR(txn.PutOrganisation(organisation));
      return txn.AppendChange(Event(revision, organisation.name()));
    }));
    return revision;
  }
  int64_t PutObserver(const std::string& election_id, const std::string& id, v1::Observer observer,
                      const std::string& document_key = "") {
    int64_t revision = 0;
    const std::string key = document_key.empty() ? "doc:" + id : document_key;
    EXPECT_OK(store().Write([&](WriteTxn& txn) -> absl::Status {
      revision = txn.NextRevision();
      observer.set_revision(revision);
      RETURN_IF_ERROR(txn.PutObserver(election_id, id, key, observer));
      return txn.AppendChange(Event(revision, observer.name()));
    }));
    return revision;
  }
  int64_t DeleteObserver(const std::string& election_id, const std::string& id) {
    int64_t revision = 0;
    EXPECT_OK(store().Write([&](WriteTxn& txn) -> absl::Status {
      revision = txn.NextRevision();
      RETURN_IF_ERROR(txn.DeleteObserver(election_id, id));
      return txn.AppendChange(Event(revision,
                                    absl::StrCat("elections/", election_id, "/observers/", id),
                                    v1::CHANGE_TYPE_DELETED));
    }));
    return revision;
  }
  // A request with one minimal change and nothing else.
  int64_t Touch(const std::string& name = "elections/touch") {
    int64_t revision = 0;
    EXPECT_OK(store().Write([&](WriteTxn& txn) -> absl::Status {
      revision = txn.NextRevision();
      return txn.AppendChange(Event(revision, name));
    }));
    return revision;
  }

  Revisions GetRevisions() {
    absl::StatusOr<Revisions> revisions = store().GetRevisions();
    EXPECT_TRUE(revisions.ok()) << revisions.status();
    return revisions.value_or(Revisions{-1, -1});
  }
  std::vector<v1::ChangeEvent> AllChanges(int64_t from = 1) {
    absl::StatusOr<std::vector<v1::ChangeEvent>> events =
        store().ReadChanges(from, 1'000'000, int64_t{1} << 40);
    EXPECT_TRUE(events.ok()) << events.status();
    return events.value_or(std::vector<v1::ChangeEvent>{});
  }
  std::vector<std::string> List(const std::string& election_id,
                                std::vector<ObserverCondition> conditions,
                                const std::string& after = "", int limit = 100,
                                bool* more = nullptr) {
    ObserverQuery query{election_id, std::move(conditions), after, limit};
    absl::StatusOr<Page<v1::Observer>> page = store().ListObservers(query);
    EXPECT_TRUE(page.ok()) << page.status();
    if (!page.ok()) return {"<error>"};
    if (more != nullptr) *more = page->more;
    return ObserverIds(page->items);
  }

  std::string dir_;
  std::unique_ptr<Store> store_;
};

INSTANTIATE_TEST_SUITE_P(Backends, StoreConformanceTest, ::testing::ValuesIn(Backends()),
                         [](const ::testing::TestParamInfo<StoreBackend>& param) {
                           return param.param.name;
                         });

TEST_P(StoreConformanceTest, NewStoreIsEmpty) {
  const Revisions revisions = GetRevisions();
  EXPECT_EQ(revisions.head, 0);
  EXPECT_EQ(revisions.compact, 1);
  EXPECT_THAT(AllChanges(), IsEmpty());
  absl::StatusOr<Versioned<v1::Election>> election = store().GetElection("kz-2021");
  ASSERT_OK(election);
  EXPECT_FALSE(election->value.has_value());
  EXPECT_EQ(election->revision, 0);
  absl::StatusOr<Page<v1::Election>> elections = store().ListElections("", 10);
  ASSERT_OK(elections);
  EXPECT_THAT(elections->items, IsEmpty());
  EXPECT_FALSE(elections->more);
  absl::StatusOr<std::unique_ptr<SnapshotReader>> snapshot = store().OpenSnapshot();
  ASSERT_OK(snapshot);
  EXPECT_EQ((*snapshot)->revision(), 0);
  absl::StatusOr<std::vector<v1::ResourceImage>> batch = (*snapshot)->Next(10);
  ASSERT_OK(batch);
  EXPECT_THAT(*batch, IsEmpty());
}

TEST_P(StoreConformanceTest, WritesAndReadsElectionsAndOrganisations) {
  EXPECT_EQ(PutElection(Election("kz-2021", "Majilis")), 1);
  EXPECT_EQ(PutElection(Election("kz-2019", "Presidential")), 2);
  EXPECT_EQ(PutOrganisation(Organisation("OSCE-ODIHR", "OSCE/ODIHR")), 3);
  EXPECT_EQ(PutOrganisation(Organisation("CIS", "CIS Executive Committee")), 4);
  // Insert-or-replace: the second put of kz-2021 replaces the first.
  EXPECT_EQ(PutElection(Election("kz-2021", "Majilis and maslikhats")), 5);

  absl::StatusOr<Versioned<v1::Election>> election = store().GetElection("kz-2021");
  ASSERT_OK(election);
  ASSERT_TRUE(election->value.has_value());
  EXPECT_EQ(election->value->display_name(), "Majilis and maslikhats");
  EXPECT_EQ(election->value->revision(), 5);
  EXPECT_EQ(election->revision, 5);

  absl::StatusOr<Versioned<v1::Organisation>> organisation = store().GetOrganisation("CIS");
  ASSERT_OK(organisation);
  ASSERT_TRUE(organisation->value.has_value());
  EXPECT_EQ(organisation->value->names().en(), "CIS Executive Committee");
  EXPECT_EQ(organisation->revision, 5);
  absl::StatusOr<Versioned<v1::Organisation>> missing = store().GetOrganisation("SCO");
  ASSERT_OK(missing);
  EXPECT_FALSE(missing->value.has_value());

  absl::StatusOr<Page<v1::Election>> page = store().ListElections("", 1);
  ASSERT_OK(page);
  ASSERT_EQ(page->items.size(), 1u);
  EXPECT_EQ(page->items[0].name(), "elections/kz-2019");
  EXPECT_TRUE(page->more);
  EXPECT_EQ(page->revision, 5);
  page = store().ListElections("kz-2019", 1);
  ASSERT_OK(page);
  ASSERT_EQ(page->items.size(), 1u);
  EXPECT_EQ(page->items[0].name(), "elections/kz-2021");
  EXPECT_FALSE(page->more);
  page = store().ListElections("", 2);
  ASSERT_OK(page);
  EXPECT_EQ(page->items.size(), 2u);
  EXPECT_FALSE(page->more) << "an exactly full last page has no successor";

  absl::StatusOr<Page<v1::Organisation>> organisations = store().ListOrganisations("", 10);
  ASSERT_OK(organisations);
  ASSERT_EQ(organisations->items.size(), 2u);
  EXPECT_EQ(organisations->items[0].name(), "organisations/CIS");
  EXPECT_EQ(organisations->items[1].name(), "organisations/OSCE-ODIHR");
  organisations = store().ListOrganisations("CIS", 10);
  ASSERT_OK(organisations);
  ASSERT_EQ(organisations->items.size(), 1u);
  EXPECT_EQ(organisations->items[0].name(), "organisations/OSCE-ODIHR");
}

TEST_P(StoreConformanceTest, ObserversWithDocumentKeyAndTags) {
  PutElection(Election("e1"));
  PutElection(Election("e2"));
  const v1::Observer first = Observer("e1", "o1", ObserverSpec().Tags({"batch-1", "core"}));
  const int64_t revision = PutObserver("e1", "o1", first, "1:DE:N123");

  absl::StatusOr<Versioned<v1::Observer>> got = store().GetObserver("e1", "o1");
  ASSERT_OK(got);
  ASSERT_TRUE(got->value.has_value());
  v1::Observer expected = first;
  expected.set_revision(revision);
  EXPECT_TRUE(SameMessage(*got->value, expected)) << got->value->DebugString();
  // Personal data is kept in the register of record.
  EXPECT_TRUE(got->value->has_id_document());
  absl::StatusOr<Versioned<v1::Observer>> other = store().GetObserver("e2", "o1");
  ASSERT_OK(other);
  EXPECT_FALSE(other->value.has_value());

  // Reads inside the transaction see the request's own writes.
  std::optional<std::string> holder, holder_elsewhere, holder_after_replace, new_holder;
  std::optional<v1::Observer> own_write;
  ASSERT_OK(store().Write([&](WriteTxn& txn) -> absl::Status {
    ASSIGN_OR_RETURN(holder, txn.FindObserverByDocument("e1", "1:DE:N123"));
    ASSIGN_OR_RETURN(holder_elsewhere, txn.FindObserverByDocument("e2", "1:DE:N123"));
    v1::Observer replaced = Observer("e1", "o1", ObserverSpec().Tags({"later"}));
    RETURN_IF_ERROR(txn.PutObserver("e1", "o1", "1:DE:N999", replaced));
    ASSIGN_OR_RETURN(own_write, txn.GetObserver("e1", "o1"));
    ASSIGN_OR_RETURN(holder_after_replace, txn.FindObserverByDocument("e1", "1:DE:N123"));
    ASSIGN_OR_RETURN(new_holder, txn.FindObserverByDocument("e1", "1:DE:N999"));
    const int64_t r = txn.NextRevision();
    return txn.AppendChange(Event(r, replaced.name()));
  }));
  EXPECT_EQ(holder, std::optional<std::string>("o1"));
  EXPECT_EQ(holder_elsewhere, std::nullopt);
  ASSERT_TRUE(own_write.has_value());
  EXPECT_THAT(own_write->tags(), ElementsAre("later"));
  EXPECT_EQ(holder_after_replace, std::nullopt) << "a replaced document key is freed";
  EXPECT_EQ(new_holder, std::optional<std::string>("o1"));

  // The tag index follows the replacement.
  EXPECT_THAT(List("e1", {{ObserverCondition::Field::kTag, false, "batch-1"}}), IsEmpty());
  EXPECT_THAT(List("e1", {{ObserverCondition::Field::kTag, false, "later"}}), ElementsAre("o1"));

  DeleteObserver("e1", "o1");
  got = store().GetObserver("e1", "o1");
  ASSERT_OK(got);
  EXPECT_FALSE(got->value.has_value());
  EXPECT_THAT(List("e1", {}), IsEmpty());
  EXPECT_THAT(List("e1", {{ObserverCondition::Field::kTag, false, "later"}}), IsEmpty());
  std::optional<std::string> after_delete = "not looked up";
  ASSERT_OK(store().Write([&](WriteTxn& txn) -> absl::Status {
    ASSIGN_OR_RETURN(after_delete, txn.FindObserverByDocument("e1", "1:DE:N999"));
    return absl::OkStatus();
  }));
  EXPECT_EQ(after_delete, std::nullopt) << "a deleted observer's document may be registered again";
}

TEST_P(StoreConformanceTest, SameDocumentKeyInAnotherElectionIsFine) {
  PutElection(Election("e1"));
  PutElection(Election("e2"));
  PutObserver("e1", "o1", Observer("e1", "o1"), "1:DE:N1");
  PutObserver("e2", "o1", Observer("e2", "o1"), "1:DE:N1");
  std::optional<std::string> in_e1, in_e2;
  ASSERT_OK(store().Write([&](WriteTxn& txn) -> absl::Status {
    ASSIGN_OR_RETURN(in_e1, txn.FindObserverByDocument("e1", "1:DE:N1"));
    ASSIGN_OR_RETURN(in_e2, txn.FindObserverByDocument("e2", "1:DE:N1"));
    return absl::OkStatus();
  }));
  EXPECT_EQ(in_e1, std::optional<std::string>("o1"));
  EXPECT_EQ(in_e2, std::optional<std::string>("o1"));
  EXPECT_THAT(List("e1", {}), ElementsAre("o1"));
  EXPECT_THAT(List("e2", {}), ElementsAre("o1"));
}

// The document key is unique per election: putting another observer with a taken key fails
// and leaves the holder intact (no silent replace).
TEST_P(StoreConformanceTest, DocumentKeyIsUniquePerElection) {
  PutElection(Election("e1"));
  PutObserver("e1", "o1", Observer("e1", "o1", ObserverSpec().Tags({"core"})), "1:DE:N1");
  const int64_t head = GetRevisions().head;
  absl::Status status = store().Write([&](WriteTxn& txn) -> absl::Status {
    const int64_t r = txn.NextRevision();
    RETURN_IF_ERROR(txn.PutObserver("e1", "o2", "1:DE:N1", Observer("e1", "o2")));
    return txn.AppendChange(Event(r, "elections/e1/observers/o2"));
  });
  EXPECT_FALSE(status.ok());
  EXPECT_THAT(List("e1", {}), ElementsAre("o1"));
  EXPECT_EQ(GetRevisions().head, head);
}

TEST_P(StoreConformanceTest, BadgesAreNeverReusedAndSequencesCount) {
  PutElection(Election("e1"));
  PutElection(Election("e2"));
  auto badge_used = [&](const std::string& election, const std::string& badge) {
    bool used = false;
    EXPECT_OK(store().Write([&](WriteTxn& txn) -> absl::Status {
      ASSIGN_OR_RETURN(used, txn.BadgeUsed(election, badge));
      return absl::OkStatus();
    }));
    return used;
  };
  EXPECT_FALSE(badge_used("e1", "0001"));
  PutObserver("e1", "o1", Observer("e1", "o1", ObserverSpec().Badge("0001")));
  EXPECT_TRUE(badge_used("e1", "0001"));
  EXPECT_FALSE(badge_used("e2", "0001")) << "badges are per election";
  EXPECT_FALSE(badge_used("e1", "0002"));
  DeleteObserver("e1", "o1");
  EXPECT_TRUE(badge_used("e1", "0001")) << "a deleted observer's badge stays used";
  // Replacing the record with another badge keeps the first one used as well.
  PutObserver("e1", "o2", Observer("e1", "o2", ObserverSpec().Badge("0002")));
  PutObserver("e1", "o2", Observer("e1", "o2", ObserverSpec().Badge("0003")));
  EXPECT_TRUE(badge_used("e1", "0002"));
  EXPECT_TRUE(badge_used("e1", "0003"));

  std::vector<int64_t> e1, e2;
  ASSERT_OK(store().Write([&](WriteTxn& txn) -> absl::Status {
    for (int i = 0; i < 3; ++i) {
      ASSIGN_OR_RETURN(const int64_t n, txn.NextBadgeSequence("e1"));
      e1.push_back(n);
    }
    ASSIGN_OR_RETURN(const int64_t n, txn.NextBadgeSequence("e2"));
    e2.push_back(n);
    return absl::OkStatus();
  }));
  ASSERT_OK(store().Write([&](WriteTxn& txn) -> absl::Status {
    ASSIGN_OR_RETURN(const int64_t n, txn.NextBadgeSequence("e1"));
    e1.push_back(n);
    return absl::OkStatus();
  }));
  EXPECT_THAT(e1, ElementsAre(1, 2, 3, 4));
  EXPECT_THAT(e2, ElementsAre(1));
}

TEST_P(StoreConformanceTest, RevisionsAreGapFreeAcrossConcurrentWriters) {
  constexpr int kThreads = 8;
  constexpr int kWritesPerThread = 200;
  std::vector<std::vector<int64_t>> got(kThreads);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kWritesPerThread; ++i) {
        int64_t revision = 0;
        int64_t current_before = -1;
        const absl::Status status = store().Write([&](WriteTxn& txn) -> absl::Status {
          current_before = txn.CurrentRevision();
          revision = txn.NextRevision();
          if (txn.CurrentRevision() != revision) return absl::InternalError("CurrentRevision");
          return txn.AppendChange(Event(revision, absl::StrCat("elections/t", t, "-", i)));
        });
        if (!status.ok() || revision != current_before + 1) ++failures;
        got[t].push_back(revision);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  for (const auto& revisions : got) {
    EXPECT_TRUE(std::is_sorted(revisions.begin(), revisions.end()));
  }
  const std::vector<v1::ChangeEvent> events = AllChanges();
  EXPECT_THAT(RevisionsOf(events), ElementsAreArray(Range(1, kThreads * kWritesPerThread)));
  // Each event is the one its writer appended.
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kWritesPerThread; i += 37) {
      const int64_t r = got[t][i];
      ASSERT_GE(r, 1);
      ASSERT_LE(r, static_cast<int64_t>(events.size()));
      EXPECT_EQ(events[r - 1].name(), absl::StrCat("elections/t", t, "-", i));
    }
  }
  EXPECT_EQ(GetRevisions().head, kThreads * kWritesPerThread);
}

TEST_P(StoreConformanceTest, FailingRequestRollsBackOnlyItself) {
  PutElection(Election("base"));  // Revision 1.
  // Hold the writer so that the next three requests are queued together.
  std::promise<void> blocked, release;
  std::shared_future<void> released = release.get_future().share();
  store().WriteAsync(
      [&](WriteTxn&) {
        blocked.set_value();
        released.wait();
        return absl::OkStatus();
      },
      [](absl::Status) {});
  blocked.get_future().wait();

  int64_t a_revision = 0, b_first = 0, b_second = 0, c_revision = 0;
  std::promise<absl::Status> a_done, b_done, c_done;
  store().WriteAsync(
      [&](WriteTxn& txn) -> absl::Status {
        a_revision = txn.NextRevision();
        v1::Election e = Election("a");
        RETURN_IF_ERROR(txn.PutElection(e));
        return txn.AppendChange(Event(a_revision, e.name()));
      },
      [&](absl::Status s) { a_done.set_value(s); });
  store().WriteAsync(
      [&](WriteTxn& txn) -> absl::Status {
        b_first = txn.NextRevision();
        RETURN_IF_ERROR(txn.PutElection(Election("b")));
        RETURN_IF_ERROR(txn.PutOrganisation(Organisation("BORG")));
        RETURN_IF_ERROR(txn.PutObserver("base", "ob", "doc:ob", Observer("base", "ob")));
        RETURN_IF_ERROR(txn.AppendChange(Event(b_first, "elections/b")));
        b_second = txn.NextRevision();
        RETURN_IF_ERROR(txn.AppendChange(Event(b_second, "organisations/BORG")));
        RETURN_IF_ERROR(txn.PutRequest(StoredRequest{"req-b", "fp", "resp", b_second}));
        return absl::FailedPreconditionError("request b fails late");
      },
      [&](absl::Status s) { b_done.set_value(s); });
  store().WriteAsync(
      [&](WriteTxn& txn) -> absl::Status {
        c_revision = txn.NextRevision();
        v1::Election e = Election("c");
        RETURN_IF_ERROR(txn.PutElection(e));
        return txn.AppendChange(Event(c_revision, e.name()));
      },
      [&](absl::Status s) { c_done.set_value(s); });
  release.set_value();

  EXPECT_OK(a_done.get_future().get());
  const absl::Status b_status = b_done.get_future().get();
  EXPECT_EQ(b_status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(b_status.message(), "request b fails late");
  EXPECT_OK(c_done.get_future().get());

  EXPECT_EQ(a_revision, 2);
  EXPECT_EQ(b_first, 3);
  EXPECT_EQ(b_second, 4);
  EXPECT_EQ(c_revision, 3) << "the failed request's revisions are given to the next request";
  EXPECT_EQ(GetRevisions().head, 3);
  const std::vector<v1::ChangeEvent> events = AllChanges();
  EXPECT_THAT(RevisionsOf(events), ElementsAre(1, 2, 3));
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[1].name(), "elections/a");
  EXPECT_EQ(events[2].name(), "elections/c");

  for (const char* id : {"a", "c"}) {
    absl::StatusOr<Versioned<v1::Election>> e = store().GetElection(id);
    ASSERT_OK(e);
    EXPECT_TRUE(e->value.has_value()) << id;
  }
  absl::StatusOr<Versioned<v1::Election>> b = store().GetElection("b");
  ASSERT_OK(b);
  EXPECT_FALSE(b->value.has_value());
  absl::StatusOr<Versioned<v1::Organisation>> borg = store().GetOrganisation("BORG");
  ASSERT_OK(borg);
  EXPECT_FALSE(borg->value.has_value());
  absl::StatusOr<Versioned<v1::Observer>> ob = store().GetObserver("base", "ob");
  ASSERT_OK(ob);
  EXPECT_FALSE(ob->value.has_value());
  std::optional<StoredRequest> request;
  ASSERT_OK(store().Write([&](WriteTxn& txn) -> absl::Status {
    ASSIGN_OR_RETURN(request, txn.GetRequest("req-b"));
    return absl::OkStatus();
  }));
  EXPECT_FALSE(request.has_value());
}

TEST_P(StoreConformanceTest, AtomicallyRollsBackOnlyTheNestedPart) {
  PutElection(Election("base"));  // Revision 1.
  int64_t first = 0, nested_failed = 0, after_failure = 0, nested_ok = 0;
  int64_t current_after_failure = 0;
  absl::Status failed_status, ok_status;
  std::optional<v1::Election> e2_inside;
  ASSERT_OK(store().Write([&](WriteTxn& txn) -> absl::Status {
    first = txn.NextRevision();
    RETURN_IF_ERROR(txn.PutElection(Election("e1")));
    RETURN_IF_ERROR(txn.AppendChange(Event(first, "elections/e1")));
    failed_status = txn.Atomically([&]() -> absl::Status {
      nested_failed = txn.NextRevision();
      RETURN_IF_ERROR(txn.PutElection(Election("e2")));
      RETURN_IF_ERROR(txn.PutObserver("base", "o9", "doc:o9", Observer("base", "o9")));
      RETURN_IF_ERROR(txn.AppendChange(Event(nested_failed, "elections/e2")));
      return absl::AlreadyExistsError("row 2 is a duplicate");
    });
    current_after_failure = txn.CurrentRevision();
    ASSIGN_OR_RETURN(e2_inside, txn.GetElection("e2"));
    after_failure = txn.NextRevision();
    RETURN_IF_ERROR(txn.AppendChange(Event(after_failure, "elections/e1")));
    ok_status = txn.Atomically([&]() -> absl::Status {
      nested_ok = txn.NextRevision();
      RETURN_IF_ERROR(txn.PutElection(Election("e3")));
      return txn.AppendChange(Event(nested_ok, "elections/e3"));
    });
    return absl::OkStatus();
  }));
  EXPECT_EQ(failed_status.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(failed_status.message(), "row 2 is a duplicate");
  EXPECT_OK(ok_status);
  EXPECT_EQ(first, 2);
  EXPECT_EQ(nested_failed, 3);
  EXPECT_EQ(current_after_failure, 2);
  EXPECT_FALSE(e2_inside.has_value());
  EXPECT_EQ(after_failure, 3);
  EXPECT_EQ(nested_ok, 4);
  EXPECT_THAT(RevisionsOf(AllChanges()), ElementsAre(1, 2, 3, 4));
  std::vector<std::string> names;
  for (const auto& e : AllChanges()) names.push_back(e.name());
  EXPECT_THAT(names, ElementsAre("elections/base", "elections/e1", "elections/e1", "elections/e3"));
  for (const auto& [id, present] :
       std::vector<std::pair<std::string, bool>>{{"e1", true}, {"e2", false}, {"e3", true}}) {
    absl::StatusOr<Versioned<v1::Election>> e = store().GetElection(id);
    ASSERT_OK(e);
    EXPECT_EQ(e->value.has_value(), present) << id;
  }
  absl::StatusOr<Versioned<v1::Observer>> o9 = store().GetObserver("base", "o9");
  ASSERT_OK(o9);
  EXPECT_FALSE(o9->value.has_value());
}

TEST_P(StoreConformanceTest, AppendChangeRefusesRevisionsNotAllocated) {
  Touch();
  absl::Status ahead = store().Write([&](WriteTxn& txn) -> absl::Status {
    txn.NextRevision();
    return txn.AppendChange(Event(txn.CurrentRevision() + 1, "elections/x"));
  });
  EXPECT_FALSE(ahead.ok());
  absl::Status twice = store().Write([&](WriteTxn& txn) -> absl::Status {
    const int64_t r = txn.NextRevision();
    RETURN_IF_ERROR(txn.AppendChange(Event(r, "elections/x")));
    return txn.AppendChange(Event(r, "elections/x"));
  });
  EXPECT_FALSE(twice.ok());
  EXPECT_EQ(GetRevisions().head, 1);
  EXPECT_THAT(RevisionsOf(AllChanges()), ElementsAre(1));
}

TEST_P(StoreConformanceTest, IdempotencyRecordsRoundTrip) {
  const std::string response = std::string("\x08\x01\x00\xff", 4);
  ASSERT_OK(store().Write([&](WriteTxn& txn) -> absl::Status {
    const int64_t r = txn.NextRevision();
    RETURN_IF_ERROR(txn.AppendChange(Event(r, "elections/x")));
    return txn.PutRequest(StoredRequest{"req-1", "fingerprint-1", response, r});
  }));
  std::optional<StoredRequest> found, missing;
  ASSERT_OK(store().Write([&](WriteTxn& txn) -> absl::Status {
    ASSIGN_OR_RETURN(found, txn.GetRequest("req-1"));
    ASSIGN_OR_RETURN(missing, txn.GetRequest("req-2"));
    return absl::OkStatus();
  }));
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->request_id, "req-1");
  EXPECT_EQ(found->fingerprint, "fingerprint-1");
  EXPECT_EQ(found->response, response) << "responses are bytes, not text";
  EXPECT_EQ(found->revision, 1);
  EXPECT_FALSE(missing.has_value());
}

TEST_P(StoreConformanceTest, ListObserversByEveryConditionWithKeysetPagination) {
  using F = ObserverCondition::Field;
  PutElection(Election("e1"));
  PutElection(Election("e2"));
  PutObserver("e1", "a1",
              Observer("e1", "a1",
                       ObserverSpec()
                           .Status(v1::OBSERVER_STATUS_SUBMITTED)
                           .Org("OSCE")
                           .Citizenship("DE")
                           .Category(v1::OBSERVER_CATEGORY_SHORT_TERM)
                           .Tags({"batch-1"})));
  PutObserver("e1", "a2",
              Observer("e1", "a2",
                       ObserverSpec()
                           .Status(v1::OBSERVER_STATUS_ACCREDITED)
                           .State("TR")
                           .Citizenship("TR")
                           .Category(v1::OBSERVER_CATEGORY_LONG_TERM)
                           .Tags({"batch-1", "core"})));
  PutObserver("e1", "a3",
              Observer("e1", "a3",
                       ObserverSpec()
                           .Status(v1::OBSERVER_STATUS_ACCREDITED)
                           .Org("CIS")
                           .Citizenship("RU")
                           .Category(v1::OBSERVER_CATEGORY_SHORT_TERM)
                           .Test(true)));
  PutObserver("e1", "a4",
              Observer("e1", "a4",
                       ObserverSpec()
                           .Status(v1::OBSERVER_STATUS_REJECTED)
                           .State("DE")
                           .Citizenship("DE")
                           .Category(v1::OBSERVER_CATEGORY_CORE_TEAM)
                           .Tags({"core"})));
  PutObserver("e1", "a5",
              Observer("e1", "a5",
                       ObserverSpec()
                           .Status(v1::OBSERVER_STATUS_ACCREDITED)
                           .Org("OSCE")
                           .Citizenship("FR")
                           .Category(v1::OBSERVER_CATEGORY_SHORT_TERM)
                           .Tags({"batch-2"})));
  // Matches almost everything but lives in another election.
  PutObserver("e2", "a0",
              Observer("e2", "a0",
                       ObserverSpec()
                           .Status(v1::OBSERVER_STATUS_ACCREDITED)
                           .Org("OSCE")
                           .Citizenship("DE")
                           .Tags({"batch-1", "core"})));

  const int64_t accredited = v1::OBSERVER_STATUS_ACCREDITED;
  const int64_t short_term = v1::OBSERVER_CATEGORY_SHORT_TERM;
  EXPECT_THAT(List("e1", {}), ElementsAre("a1", "a2", "a3", "a4", "a5"));
  EXPECT_THAT(List("e1", {{F::kStatus, false, "", accredited}}), ElementsAre("a2", "a3", "a5"));
  EXPECT_THAT(List("e1", {{F::kStatus, true, "", accredited}}), ElementsAre("a1", "a4"));
  EXPECT_THAT(List("e1", {{F::kOrganisation, false, "organisations/OSCE"}}),
              ElementsAre("a1", "a5"));
  EXPECT_THAT(List("e1", {{F::kOrganisation, true, "organisations/OSCE"}}),
              ElementsAre("a2", "a3", "a4"));
  EXPECT_THAT(List("e1", {{F::kState, false, "DE"}}), ElementsAre("a4"));
  EXPECT_THAT(List("e1", {{F::kState, true, "DE"}}), ElementsAre("a1", "a2", "a3", "a5"));
  EXPECT_THAT(List("e1", {{F::kCitizenship, false, "DE"}}), ElementsAre("a1", "a4"));
  EXPECT_THAT(List("e1", {{F::kCitizenship, true, "DE"}}), ElementsAre("a2", "a3", "a5"));
  EXPECT_THAT(List("e1", {{F::kCategory, false, "", short_term}}), ElementsAre("a1", "a3", "a5"));
  EXPECT_THAT(List("e1", {{F::kCategory, true, "", short_term}}), ElementsAre("a2", "a4"));
  EXPECT_THAT(List("e1", {{F::kTest, false, "", 1}}), ElementsAre("a3"));
  EXPECT_THAT(List("e1", {{F::kTest, false, "", 0}}), ElementsAre("a1", "a2", "a4", "a5"));
  EXPECT_THAT(List("e1", {{F::kTest, true, "", 1}}), ElementsAre("a1", "a2", "a4", "a5"));
  EXPECT_THAT(List("e1", {{F::kTag, false, "core"}}), ElementsAre("a2", "a4"));
  EXPECT_THAT(List("e1", {{F::kTag, true, "core"}}), ElementsAre("a1", "a3", "a5"));
  EXPECT_THAT(List("e1", {{F::kTag, false, "nobody"}}), IsEmpty());
  EXPECT_THAT(List("e1", {{F::kStatus, false, "", accredited}, {F::kTag, false, "batch-1"}}),
              ElementsAre("a2"));
  EXPECT_THAT(List("e1", {{F::kStatus, false, "", accredited},
                          {F::kOrganisation, false, "organisations/OSCE"},
                          {F::kTest, false, "", 0}}),
              ElementsAre("a5"));
  EXPECT_THAT(List("nope", {}), IsEmpty());

  bool more = false;
  EXPECT_THAT(List("e1", {}, "", 2, &more), ElementsAre("a1", "a2"));
  EXPECT_TRUE(more);
  EXPECT_THAT(List("e1", {}, "a2", 2, &more), ElementsAre("a3", "a4"));
  EXPECT_TRUE(more);
  EXPECT_THAT(List("e1", {}, "a4", 2, &more), ElementsAre("a5"));
  EXPECT_FALSE(more);
  EXPECT_THAT(List("e1", {}, "", 5, &more), ElementsAre("a1", "a2", "a3", "a4", "a5"));
  EXPECT_FALSE(more);
  EXPECT_THAT(List("e1", {{F::kStatus, false, "", accredited}}, "", 2, &more),
              ElementsAre("a2", "a3"));
  EXPECT_TRUE(more);
  EXPECT_THAT(List("e1", {{F::kStatus, false, "", accredited}}, "a3", 2, &more), ElementsAre("a5"));
  EXPECT_FALSE(more);

  absl::StatusOr<Page<v1::Observer>> page = store().ListObservers({"e1", {}, "", 1});
  ASSERT_OK(page);
  EXPECT_EQ(page->revision, GetRevisions().head);
}

TEST_P(StoreConformanceTest, CountObserversByElectionAndStatus) {
  absl::StatusOr<std::vector<ObserverCount>> empty = store().CountObservers();
  ASSERT_OK(empty);
  EXPECT_THAT(*empty, IsEmpty());

  PutElection(Election("e1"));
  PutElection(Election("e2"));
  PutElection(Election("e3"));  // No observers: not listed.
  const auto put = [&](const std::string& election, const std::string& id,
                       v1::ObserverStatus status) {
    PutObserver(election, id, Observer(election, id, ObserverSpec().Status(status)));
  };
  put("e1", "a1", v1::OBSERVER_STATUS_ACCREDITED);
  put("e1", "a2", v1::OBSERVER_STATUS_ACCREDITED);
  put("e1", "a3", v1::OBSERVER_STATUS_ACCREDITED);
  put("e1", "a4", v1::OBSERVER_STATUS_SUBMITTED);
  put("e2", "b1", v1::OBSERVER_STATUS_ACCREDITED);
  // A status change moves the observer, a deletion removes it.
  put("e1", "a4", v1::OBSERVER_STATUS_REJECTED);
  DeleteObserver("e1", "a3");

  absl::StatusOr<std::vector<ObserverCount>> counts = store().CountObservers();
  ASSERT_OK(counts);
  std::vector<std::string> got;
  for (const ObserverCount& c : *counts) {
    got.push_back(
        absl::StrCat(c.election_id, " ", v1::ObserverStatus_Name(c.status), " ", c.count));
  }
  EXPECT_THAT(got, ElementsAre("e1 OBSERVER_STATUS_ACCREDITED 2", "e1 OBSERVER_STATUS_REJECTED 1",
                               "e2 OBSERVER_STATUS_ACCREDITED 1"));
}

TEST_P(StoreConformanceTest, ReadChangesHonoursMaxEventsAndMaxBytes) {
  for (int i = 1; i <= 10; ++i) Touch(absl::StrCat("elections/e-", 100 + i));
  const std::vector<v1::ChangeEvent> all = AllChanges();
  ASSERT_THAT(RevisionsOf(all), ElementsAreArray(Range(1, 10)));
  EXPECT_EQ(all[4].name(), "elections/e-105");
  EXPECT_EQ(all[4].actor(), "conformance-test");
  const int64_t size = static_cast<int64_t>(all[0].ByteSizeLong());

  absl::StatusOr<std::vector<v1::ChangeEvent>> events = store().ReadChanges(1, 3, 1 << 20);
  ASSERT_OK(events);
  EXPECT_THAT(RevisionsOf(*events), ElementsAre(1, 2, 3));
  events = store().ReadChanges(4, 100, 1 << 20);
  ASSERT_OK(events);
  EXPECT_THAT(RevisionsOf(*events), ElementsAreArray(Range(4, 10)));
  events = store().ReadChanges(1, 100, 1);
  ASSERT_OK(events);
  EXPECT_THAT(RevisionsOf(*events), ElementsAre(1)) << "always at least one event";
  events = store().ReadChanges(2, 100, 3 * size);
  ASSERT_OK(events);
  EXPECT_GE(events->size(), 2u);
  EXPECT_LE(events->size(), 3u);
  int64_t bytes = 0;
  for (const auto& e : *events) bytes += static_cast<int64_t>(e.ByteSizeLong());
  EXPECT_LE(bytes, 3 * size);
  EXPECT_EQ(RevisionsOf(*events).front(), 2);
  events = store().ReadChanges(10, 100, 1 << 20);
  ASSERT_OK(events);
  EXPECT_THAT(RevisionsOf(*events), ElementsAre(10));
  events = store().ReadChanges(11, 100, 1 << 20);
  ASSERT_OK(events);
  EXPECT_THAT(*events, IsEmpty());
  events = store().ReadChanges(1000, 100, 1 << 20);
  ASSERT_OK(events);
  EXPECT_THAT(*events, IsEmpty());
}

TEST_P(StoreConformanceTest, CompactDropsOldChangesAndRequests) {
  for (int i = 1; i <= 10; ++i) {
    ASSERT_OK(store().Write([&](WriteTxn& txn) -> absl::Status {
      const int64_t r = txn.NextRevision();
      RETURN_IF_ERROR(txn.AppendChange(Event(r, "elections/x")));
      return txn.PutRequest(StoredRequest{absl::StrCat("req-", r), "fp", "resp", r});
    }));
  }
  ASSERT_OK(store().Compact(6));
  Revisions revisions = GetRevisions();
  EXPECT_EQ(revisions.head, 10);
  EXPECT_EQ(revisions.compact, 6);
  for (int64_t from : {int64_t{1}, int64_t{5}}) {
    absl::StatusOr<std::vector<v1::ChangeEvent>> events = store().ReadChanges(from, 100, 1 << 20);
    EXPECT_EQ(events.status().code(), absl::StatusCode::kOutOfRange) << from;
    const ErrorDetails details = GetErrorDetails(events.status());
    EXPECT_EQ(details.reason, reason::kRevisionCompacted) << from;
    EXPECT_EQ(details.metadata.count("compact_revision"), 1u) << from;
    if (details.metadata.count("compact_revision")) {
      EXPECT_EQ(details.metadata.at("compact_revision"), "6");
    }
  }
  EXPECT_THAT(RevisionsOf(AllChanges(6)), ElementsAreArray(Range(6, 10)));

  std::optional<StoredRequest> old_request, kept_request;
  ASSERT_OK(store().Write([&](WriteTxn& txn) -> absl::Status {
    ASSIGN_OR_RETURN(old_request, txn.GetRequest("req-5"));
    ASSIGN_OR_RETURN(kept_request, txn.GetRequest("req-6"));
    return absl::OkStatus();
  }));
  EXPECT_FALSE(old_request.has_value());
  EXPECT_TRUE(kept_request.has_value());

  // Compaction never moves back, and never touches the head.
  ASSERT_OK(store().Compact(3));
  EXPECT_EQ(GetRevisions().compact, 6);
  EXPECT_EQ(Touch(), 11);

  // Compacting past the head must still let a caught-up reader resume after the head.
  ASSERT_OK(store().Compact(100));
  revisions = GetRevisions();
  EXPECT_EQ(revisions.head, 11);
  EXPECT_LE(revisions.compact, 12);
  absl::StatusOr<std::vector<v1::ChangeEvent>> next = store().ReadChanges(12, 100, 1 << 20);
  ASSERT_OK(next);
  EXPECT_THAT(*next, IsEmpty());
  EXPECT_EQ(Touch(), 12);
  EXPECT_THAT(RevisionsOf(AllChanges(12)), ElementsAre(12));
}

std::vector<std::string> Drain(SnapshotReader& snapshot, int batch) {
  std::vector<std::string> names;
  for (;;) {
    absl::StatusOr<std::vector<v1::ResourceImage>> images = snapshot.Next(batch);
    EXPECT_TRUE(images.ok()) << images.status();
    if (!images.ok() || images->empty()) break;
    EXPECT_LE(static_cast<int>(images->size()), batch);
    for (const v1::ResourceImage& image : *images) {
      switch (image.resource_case()) {
        case v1::ResourceImage::kElection:
          names.push_back(image.election().name() + "@" + image.election().display_name());
          break;
        case v1::ResourceImage::kOrganisation:
          names.push_back(image.organisation().name() + "@" + image.organisation().names().en());
          break;
        case v1::ResourceImage::kObserver:
          names.push_back(image.observer().name() + "@" + image.observer().given_names());
          break;
        case v1::ResourceImage::RESOURCE_NOT_SET:
          names.push_back("<empty image>");
      }
    }
  }
  return names;
}

TEST_P(StoreConformanceTest, SnapshotIsConsistentWhileWritesContinue) {
  PutElection(Election("e1", "one"));
  PutElection(Election("e2", "two"));
  PutOrganisation(Organisation("OSCE", "osce"));
  PutObserver("e1", "o1", Observer("e1", "o1"));
  PutObserver("e1", "o2", Observer("e1", "o2"));
  PutObserver("e2", "o1", Observer("e2", "o1"));

  absl::StatusOr<std::unique_ptr<SnapshotReader>> snapshot = store().OpenSnapshot();
  ASSERT_OK(snapshot);
  SnapshotReader& reader = **snapshot;
  EXPECT_EQ(reader.revision(), 6);

  // Writes between the snapshot and its reads (and between its batches) are not seen.
  PutElection(Election("e1", "one, renamed"));
  PutElection(Election("e0", "zero"));
  PutOrganisation(Organisation("CIS", "cis"));
  DeleteObserver("e1", "o1");
  std::vector<std::string> names;
  absl::StatusOr<std::vector<v1::ResourceImage>> first = reader.Next(2);
  ASSERT_OK(first);
  ASSERT_EQ(first->size(), 2u);
  EXPECT_EQ((*first)[0].election().name(), "elections/e1");
  EXPECT_EQ((*first)[0].election().display_name(), "one");
  EXPECT_EQ((*first)[1].election().name(), "elections/e2");
  v1::Observer changed = Observer("e1", "o2");
  changed.set_given_names("changed");
  PutObserver("e1", "o2", changed);
  PutObserver("e1", "o3", Observer("e1", "o3"));
  std::thread writer([&] {
    for (int i = 0; i < 50; ++i) PutElection(Election(absl::StrCat("bg-", i)));
  });
  names = Drain(reader, 1);
  writer.join();
  EXPECT_THAT(names, ElementsAre("organisations/OSCE@osce", "elections/e1/observers/o1@Given o1",
                                 "elections/e1/observers/o2@Given o2",
                                 "elections/e2/observers/o1@Given o1"));
  EXPECT_EQ(reader.revision(), 6);
  absl::StatusOr<std::vector<v1::ResourceImage>> after_end = reader.Next(10);
  ASSERT_OK(after_end);
  EXPECT_THAT(*after_end, IsEmpty());
  snapshot->reset();

  // A new snapshot sees the new state.
  absl::StatusOr<std::unique_ptr<SnapshotReader>> fresh = store().OpenSnapshot();
  ASSERT_OK(fresh);
  EXPECT_EQ((*fresh)->revision(), GetRevisions().head);
  const std::vector<std::string> now = Drain(**fresh, 1000);
  EXPECT_THAT(now, ::testing::Contains("elections/e1@one, renamed"));
  EXPECT_THAT(now, ::testing::Contains("elections/e0@zero"));
  EXPECT_THAT(now, ::testing::Contains("organisations/CIS@cis"));
  EXPECT_THAT(now, ::testing::Contains("elections/e1/observers/o2@changed"));
  EXPECT_THAT(now, ::testing::Contains("elections/e1/observers/o3@Given o3"));
  EXPECT_THAT(now, ::testing::Not(::testing::Contains("elections/e1/observers/o1@Given o1")));
  EXPECT_EQ(now.size(), 2u + 50u + 1u + 2u + 3u);
}

// The snapshot returns records as stored; stripping personal data is the caller's job (the
// watch session does it, see watch_hub_test.cc).
TEST_P(StoreConformanceTest, SnapshotReturnsRecordsAsStored) {
  PutElection(Election("e1"));
  PutObserver("e1", "o1", Observer("e1", "o1"));
  absl::StatusOr<std::unique_ptr<SnapshotReader>> snapshot = store().OpenSnapshot();
  ASSERT_OK(snapshot);
  absl::StatusOr<std::vector<v1::ResourceImage>> images = (*snapshot)->Next(10);
  ASSERT_OK(images);
  ASSERT_EQ(images->size(), 2u);
  ASSERT_TRUE((*images)[1].has_observer());
  const v1::Observer& o = (*images)[1].observer();
  EXPECT_TRUE(o.has_id_document());
  EXPECT_EQ(o.given_names(), "Given o1");
}

TEST_P(StoreConformanceTest, CommitListenerGetsEveryCommittedEventInOrderBeforeTheAck) {
  std::mutex mu;
  std::vector<int64_t> seen;
  std::vector<std::string> names;
  bool calls_ordered = true;
  store().SetCommitListener([&](std::vector<v1::ChangeEvent> events) {
    std::lock_guard<std::mutex> lock(mu);
    if (events.empty()) calls_ordered = false;
    for (const auto& e : events) {
      if (!seen.empty() && e.revision() != seen.back() + 1) calls_ordered = false;
      seen.push_back(e.revision());
      names.push_back(e.name());
    }
  });
  constexpr int kThreads = 4;
  constexpr int kWrites = 25;
  std::atomic<int> acked_before_listener{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kWrites; ++i) {
        int64_t revision = 0;
        EXPECT_OK(store().Write([&](WriteTxn& txn) -> absl::Status {
          revision = txn.NextRevision();
          return txn.AppendChange(Event(revision, "elections/ok"));
        }));
        {
          std::lock_guard<std::mutex> lock(mu);
          if (std::find(seen.begin(), seen.end(), revision) == seen.end()) ++acked_before_listener;
        }
        // A failing request in between: its event must never reach the listener.
        EXPECT_FALSE(store()
                         .Write([&](WriteTxn& txn) -> absl::Status {
                           const int64_t r = txn.NextRevision();
                           RETURN_IF_ERROR(txn.AppendChange(Event(r, "elections/failed")));
                           return absl::AbortedError("no");
                         })
                         .ok());
      }
    });
  }
  for (auto& thread : threads) thread.join();
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_TRUE(calls_ordered);
  EXPECT_THAT(seen, ElementsAreArray(Range(1, kThreads * kWrites)));
  EXPECT_THAT(names, ::testing::Each("elections/ok"));
  EXPECT_EQ(acked_before_listener.load(), 0);
}

TEST_P(StoreConformanceTest, ReopenKeepsEverything) {
  PutElection(Election("e1", "one"));
  PutOrganisation(Organisation("OSCE", "osce"));
  PutObserver("e1", "o1", Observer("e1", "o1", ObserverSpec().Tags({"core"}).Badge("0001")),
              "key-1");
  PutObserver("e1", "o2", Observer("e1", "o2", ObserverSpec().Badge("0002")), "key-2");
  DeleteObserver("e1", "o2");
  ASSERT_OK(store().Write([&](WriteTxn& txn) -> absl::Status {
    RETURN_IF_ERROR(txn.NextBadgeSequence("e1").status());
    RETURN_IF_ERROR(txn.NextBadgeSequence("e1").status());
    const int64_t r = txn.NextRevision();
    RETURN_IF_ERROR(txn.AppendChange(Event(r, "elections/e1")));
    return txn.PutRequest(StoredRequest{"req-1", "fp", "response", r});
  }));
  ASSERT_OK(store().Compact(2));
  const std::vector<v1::ChangeEvent> changes = AllChanges(2);
  absl::StatusOr<Versioned<v1::Observer>> before = store().GetObserver("e1", "o1");
  ASSERT_OK(before);
  ASSERT_TRUE(before->value.has_value());

  ASSERT_NO_FATAL_FAILURE(Reopen());

  const Revisions revisions = GetRevisions();
  EXPECT_EQ(revisions.head, 6);
  EXPECT_EQ(revisions.compact, 2);
  const std::vector<v1::ChangeEvent> reread = AllChanges(2);
  ASSERT_EQ(reread.size(), changes.size());
  for (size_t i = 0; i < changes.size(); ++i) {
    EXPECT_TRUE(SameMessage(reread[i], changes[i])) << i;
  }
  absl::StatusOr<Versioned<v1::Election>> e1 = store().GetElection("e1");
  ASSERT_OK(e1);
  ASSERT_TRUE(e1->value.has_value());
  EXPECT_EQ(e1->value->display_name(), "one");
  absl::StatusOr<Versioned<v1::Organisation>> osce = store().GetOrganisation("OSCE");
  ASSERT_OK(osce);
  EXPECT_TRUE(osce->value.has_value());
  absl::StatusOr<Versioned<v1::Observer>> after = store().GetObserver("e1", "o1");
  ASSERT_OK(after);
  ASSERT_TRUE(after->value.has_value());
  EXPECT_TRUE(SameMessage(*after->value, *before->value));
  EXPECT_THAT(List("e1", {{ObserverCondition::Field::kTag, false, "core"}}), ElementsAre("o1"));

  bool badge_1 = false, badge_2 = false;
  int64_t sequence = 0;
  std::optional<std::string> holder;
  std::optional<StoredRequest> request;
  int64_t revision = 0;
  ASSERT_OK(store().Write([&](WriteTxn& txn) -> absl::Status {
    ASSIGN_OR_RETURN(badge_1, txn.BadgeUsed("e1", "0001"));
    ASSIGN_OR_RETURN(badge_2, txn.BadgeUsed("e1", "0002"));
    ASSIGN_OR_RETURN(sequence, txn.NextBadgeSequence("e1"));
    ASSIGN_OR_RETURN(holder, txn.FindObserverByDocument("e1", "key-1"));
    ASSIGN_OR_RETURN(request, txn.GetRequest("req-1"));
    revision = txn.NextRevision();
    return txn.AppendChange(Event(revision, "elections/e1"));
  }));
  EXPECT_TRUE(badge_1);
  EXPECT_TRUE(badge_2);
  EXPECT_EQ(sequence, 3);
  EXPECT_EQ(holder, std::optional<std::string>("o1"));
  ASSERT_TRUE(request.has_value());
  EXPECT_EQ(request->response, "response");
  EXPECT_EQ(revision, 7);
}

TEST_P(StoreConformanceTest, ReopenedEmptyStoreStartsAtRevisionOne) {
  ASSERT_NO_FATAL_FAILURE(Reopen());
  EXPECT_EQ(GetRevisions().head, 0);
  EXPECT_EQ(Touch(), 1);
}

// --- The audit chain -----------------------------------------------------------------------

using Problem = ChangeLogVerification::Problem;

ChangeLogVerification Verify(Store& store,
                             const std::optional<ChainWitness>& witness = std::nullopt) {
  absl::StatusOr<ChangeLogVerification> result = store.VerifyChangeLog(witness);
  EXPECT_TRUE(result.ok()) << result.status();
  return result.value_or(ChangeLogVerification{});
}

// Verified, with the entries first..last.
void ExpectVerified(const ChangeLogVerification& v, int64_t first, int64_t last) {
  EXPECT_EQ(v.problem, Problem::kNone) << v.message;
  EXPECT_EQ(v.bad_revision, 0);
  EXPECT_EQ(v.first_revision, first);
  EXPECT_EQ(v.last_revision, last);
  EXPECT_EQ(v.entries_checked, first == 0 ? 0 : last - first + 1);
  EXPECT_EQ(v.head_chain.size(), 64u);
  EXPECT_EQ(v.key_id.size(), 16u);
}

TEST_P(StoreConformanceTest, ChangeLogVerifiesThroughGroupsRollbacksCompactionAndReopen) {
  ExpectVerified(Verify(store()), 0, 0);
  EXPECT_EQ(Verify(store()).head_revision, 0);

  // Concurrent writers: group commits chain in revision order.
  std::vector<std::thread> writers;
  for (int t = 0; t < 4; ++t) {
    writers.emplace_back([this] {
      for (int i = 0; i < 10; ++i) Touch();
    });
  }
  for (auto& w : writers) w.join();
  ExpectVerified(Verify(store()), 1, 40);

  // A request that fails, and a nested part rolled back: their revisions and chain values are
  // given back, and the chain goes on from the last change kept.
  EXPECT_FALSE(store()
                   .Write([](WriteTxn& txn) -> absl::Status {
                     const int64_t revision = txn.NextRevision();
                     RETURN_IF_ERROR(txn.AppendChange(Event(revision, "elections/failed")));
                     return absl::AbortedError("rolled back");
                   })
                   .ok());
  ASSERT_OK(store().Write([](WriteTxn& txn) -> absl::Status {
    const int64_t first = txn.NextRevision();
    RETURN_IF_ERROR(txn.AppendChange(Event(first, "elections/kept")));
    (void)txn.Atomically([&txn]() -> absl::Status {
      const int64_t nested = txn.NextRevision();
      RETURN_IF_ERROR(txn.AppendChange(Event(nested, "elections/nested")));
      return absl::AbortedError("nested part rolled back");
    });
    const int64_t second = txn.NextRevision();
    return txn.AppendChange(Event(second, "elections/kept-too"));
  }));
  ExpectVerified(Verify(store()), 1, 42);

  // Compaction: the kept suffix verifies from the anchor, with the same chain values.
  const std::string chain_at_42 = Verify(store()).head_chain;
  ASSERT_OK(store().Compact(30));
  ChangeLogVerification v = Verify(store());
  ExpectVerified(v, 30, 42);
  EXPECT_EQ(v.compact_revision, 30);
  EXPECT_EQ(v.head_chain, chain_at_42);
  Touch();
  ExpectVerified(Verify(store()), 30, 43);

  // Everything compacted: nothing to check, and the chain goes on from the anchor.
  const std::string chain_at_43 = Verify(store()).head_chain;
  ASSERT_OK(store().Compact(100));
  v = Verify(store());
  ExpectVerified(v, 0, 0);
  EXPECT_EQ(v.head_revision, 43);
  EXPECT_EQ(v.head_chain, chain_at_43);
  Touch();
  ExpectVerified(Verify(store()), 44, 44);

  // A chain value recorded earlier is found at its revision, the anchor's included; one of a
  // revision compacted away cannot be checked.
  const std::string raw_43 = absl::HexStringToBytes(chain_at_43);
  EXPECT_TRUE(Verify(store(), ChainWitness{43, raw_43}).witness_matched);
  EXPECT_EQ(store().VerifyChangeLog(ChainWitness{42, raw_43}).status().code(),
            absl::StatusCode::kFailedPrecondition);
  v = Verify(store(), ChainWitness{44, raw_43});
  EXPECT_EQ(v.problem, Problem::kAltered);
  EXPECT_EQ(v.bad_revision, 44);

  // Reopening continues the chain where it was.
  const std::string chain_at_44 = Verify(store()).head_chain;
  ASSERT_NO_FATAL_FAILURE(Reopen());
  v = Verify(store());
  ExpectVerified(v, 44, 44);
  EXPECT_EQ(v.head_chain, chain_at_44);
  Touch();
  ExpectVerified(Verify(store()), 44, 45);
}

// --- PostgreSQL only ------------------------------------------------------------------------

// One request with one minimal change.
absl::Status TouchStore(Store& store) {
  return store.Write([](WriteTxn& txn) -> absl::Status {
    v1::ChangeEvent e;
    e.set_revision(txn.NextRevision());
    e.set_name("elections/touch");
    return txn.AppendChange(e);
  });
}

class PostgresStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (SkipPostgres()) GTEST_SKIP() << "no PostgreSQL server binaries";
    dir_ = MakeTempDir();
  }
  void TearDown() override {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  std::vector<std::string> Query(const std::string& sql) {
    absl::StatusOr<std::vector<std::string>> rows = PostgresDatabases::Get().Query(dir_, sql);
    EXPECT_TRUE(rows.ok()) << sql << ": " << rows.status();
    return rows.value_or(std::vector<std::string>{"<error>"});
  }
  std::string dir_;
};

// The read pool never opens more than its limit: a read that finds every connection busy
// waits up to the busy timeout, then fails with the retryable UNAVAILABLE / STORE_BUSY.
TEST_F(PostgresStoreTest, AReadWaitsForTheBoundedPoolThenIsBusy) {
  PostgresStoreOptions options;
  options.max_read_connections = 1;
  options.busy_timeout = absl::Milliseconds(300);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> store, OpenPostgres(dir_, options));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<SnapshotReader> snapshot, store->OpenSnapshot());
  const absl::Time start = absl::Now();
  absl::StatusOr<Revisions> busy = store->GetRevisions();
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(250));
  EXPECT_EQ(busy.status().code(), absl::StatusCode::kUnavailable) << busy.status();
  EXPECT_EQ(Reason(busy.status()), reason::kStoreBusy);
  // One writer, one listener, one reader: the store's connections to the database.
  EXPECT_THAT(Query("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid()"),
              ElementsAre("3"));
  snapshot.reset();
  EXPECT_OK(store->GetRevisions());
}

TEST_F(PostgresStoreTest, RefusesADatabaseWithOtherTables) {
  Query("CREATE TABLE payroll (id int)");
  absl::StatusOr<std::unique_ptr<Store>> store = OpenPostgres(dir_);
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition) << store.status();
  EXPECT_THAT(std::string(store.status().message()), HasSubstr("other tables"));
  EXPECT_THAT(Query("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"),
              ElementsAre("1"));
}

TEST_F(PostgresStoreTest, RefusesANewerSchemaAndReopensItsOwn) {
  { ASSERT_OK(OpenPostgres(dir_)); }
  { ASSERT_OK(OpenPostgres(dir_)); }
  EXPECT_THAT(Query("SELECT version FROM observer_schema"), ElementsAre("1"));
  Query("INSERT INTO observer_schema (version) VALUES (99)");
  absl::StatusOr<std::unique_ptr<Store>> store = OpenPostgres(dir_);
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition) << store.status();
  EXPECT_THAT(std::string(store.status().message()), HasSubstr("upgrade the binary"));
}

// Replicas starting together on a new database: one migrates, the others find it done.
TEST_F(PostgresStoreTest, ReplicasStartingTogetherMigrateOnce) {
  ASSERT_OK(PostgresDatabases::Get().UrlFor(dir_));  // The database, before the threads.
  std::vector<std::future<absl::StatusOr<std::unique_ptr<Store>>>> opening;
  for (int i = 0; i < 4; ++i) {
    opening.push_back(std::async(std::launch::async, [this] { return OpenPostgres(dir_); }));
  }
  for (auto& f : opening) EXPECT_OK(f.get());
  EXPECT_THAT(Query("SELECT count(*) FROM observer_schema"), ElementsAre("1"));
}

// Two stores on one database (two replicas): each one's commit listener gets every change of
// both, in revision order, once; and writes alternate between them without a gap.
TEST_F(PostgresStoreTest, EveryStoreOnTheDatabasePublishesEveryChangeInOrder) {
  PostgresStoreOptions options;
  options.poll_interval = absl::Milliseconds(50);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> a, OpenPostgres(dir_, options));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> b, OpenPostgres(dir_, options));
  std::mutex mu;
  std::vector<int64_t> seen_a, seen_b;
  a->SetCommitListener([&](std::vector<v1::ChangeEvent> events) {
    std::lock_guard<std::mutex> lock(mu);
    for (const auto& e : events) seen_a.push_back(e.revision());
  });
  b->SetCommitListener([&](std::vector<v1::ChangeEvent> events) {
    std::lock_guard<std::mutex> lock(mu);
    for (const auto& e : events) seen_b.push_back(e.revision());
  });
  std::vector<std::thread> writers;
  for (Store* store : {a.get(), b.get()}) {
    writers.emplace_back([store] {
      for (int i = 0; i < 50; ++i) EXPECT_OK(TouchStore(*store));
    });
  }
  for (auto& t : writers) t.join();
  std::vector<int64_t> all(100);
  for (int i = 0; i < 100; ++i) all[static_cast<size_t>(i)] = i + 1;
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if ((seen_a.size() >= 100 && seen_b.size() >= 100) || absl::Now() > deadline) break;
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_THAT(seen_a, ElementsAreArray(all));
  EXPECT_THAT(seen_b, ElementsAreArray(all));
}

// A new store's tables are analyzed as its log passes 500 revisions, before autovacuum's
// first round: without statistics the planner picks a lookup's index at random.
TEST_F(PostgresStoreTest, TheTablesAreAnalyzedOnceTheLogGrows) {
  PostgresStoreOptions options;
  options.poll_interval = absl::Milliseconds(50);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> store, OpenPostgres(dir_, options));
  const std::string analyzed =
      "SELECT count(*) FROM pg_stat_user_tables WHERE relname = 'observers' AND "
      "last_analyze IS NOT NULL";
  for (int i = 0; i < 499; ++i) {
    ASSERT_OK(TouchStore(*store));
  }
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_THAT(Query(analyzed), ElementsAre("0")) << "analyzed before 500 revisions";
  ASSERT_OK(TouchStore(*store));
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (Query(analyzed) != std::vector<std::string>{"1"} && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_THAT(Query(analyzed), ElementsAre("1"));
}

// --- SQLite only ----------------------------------------------------------------------------

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = MakeTempDir(); }
  void TearDown() override {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  std::string dir_;
};

// Runs SQL on the file with a connection of our own (another process, as far as the store
// can tell).
class RawDb {
 public:
  explicit RawDb(const std::string& path) {
    EXPECT_EQ(sqlite3_open(path.c_str(), &db_), SQLITE_OK);
  }
  ~RawDb() { sqlite3_close(db_); }
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;
  int Exec(const std::string& sql) {
    return sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr);
  }
  std::string Text(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    std::string out = "<error>";
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW) {
      const unsigned char* text = sqlite3_column_text(stmt, 0);
      out = text == nullptr ? "" : reinterpret_cast<const char*>(text);
    }
    sqlite3_finalize(stmt);
    return out;
  }

 private:
  sqlite3* db_ = nullptr;
};

TEST_F(SqliteStoreTest, RefusesAnotherSqliteDatabase) {
  const std::string path = dir_ + "/notes.db";
  {
    RawDb raw(path);
    ASSERT_EQ(raw.Exec("CREATE TABLE notes (text TEXT); INSERT INTO notes VALUES ('keep me')"),
              SQLITE_OK);
  }
  absl::StatusOr<std::unique_ptr<SqliteStore>> store = SqliteStore::Open(path, {});
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(store.status().message()), HasSubstr(path));
  EXPECT_THAT(std::string(store.status().message()), HasSubstr("not a registry store"));
  RawDb raw(path);
  EXPECT_EQ(raw.Text("SELECT text FROM notes"), "keep me");
  EXPECT_EQ(raw.Text("SELECT count(*) FROM sqlite_master WHERE type = 'table'"), "1");
}

// A foreign database is refused before anything changes it (no switch to WAL).
TEST_F(SqliteStoreTest, RefusingAnotherDatabaseLeavesItsJournalModeAlone) {
  const std::string path = dir_ + "/notes.db";
  {
    RawDb raw(path);
    ASSERT_EQ(raw.Exec("CREATE TABLE notes (text TEXT)"), SQLITE_OK);
    ASSERT_EQ(raw.Text("PRAGMA journal_mode"), "delete");
  }
  ASSERT_FALSE(SqliteStore::Open(path, {}).ok());
  RawDb raw(path);
  EXPECT_EQ(raw.Text("PRAGMA journal_mode"), "delete");
}

TEST_F(SqliteStoreTest, RefusesANewerSchema) {
  const std::string path = dir_ + "/registry.db";
  {
    absl::StatusOr<std::unique_ptr<SqliteStore>> store = SqliteStore::Open(path, {});
    ASSERT_OK(store);
  }
  {
    RawDb raw(path);
    ASSERT_EQ(raw.Exec(absl::StrCat("PRAGMA user_version = ", SqliteStore::kSchemaVersion + 1)),
              SQLITE_OK);
  }
  absl::StatusOr<std::unique_ptr<SqliteStore>> store = SqliteStore::Open(path, {});
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(store.status().message()), HasSubstr(path));
  EXPECT_THAT(std::string(store.status().message()),
              HasSubstr(absl::StrCat("schema version ", SqliteStore::kSchemaVersion + 1)));
}

TEST_F(SqliteStoreTest, ReopensItsOwnSchema) {
  const std::string path = dir_ + "/registry.db";
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<std::unique_ptr<SqliteStore>> store = SqliteStore::Open(path, {});
    ASSERT_OK(store);
  }
  RawDb raw(path);
  EXPECT_EQ(raw.Text("PRAGMA user_version"), absl::StrCat(SqliteStore::kSchemaVersion));
  EXPECT_EQ(raw.Text("PRAGMA journal_mode"), "wal");
}

TEST_F(SqliteStoreTest, OneOpenStorePerFile) {
  const std::string path = dir_ + "/registry.db";
  absl::StatusOr<std::unique_ptr<SqliteStore>> first = SqliteStore::Open(path, {});
  ASSERT_OK(first);
  absl::StatusOr<std::unique_ptr<SqliteStore>> second = SqliteStore::Open(path, {});
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(second.status().message()), HasSubstr(path));
  first->reset();
  // Closing the store releases the file.
  EXPECT_OK(SqliteStore::Open(path, {}));
}

TEST_F(SqliteStoreTest, FailsOnAnUnopenablePath) {
  std::filesystem::create_directory(dir_ + "/a-directory");
  for (const std::string& path : {dir_ + "/missing/sub/registry.db", dir_ + "/a-directory"}) {
    absl::StatusOr<std::unique_ptr<SqliteStore>> store = SqliteStore::Open(path, {});
    ASSERT_FALSE(store.ok()) << path;
    EXPECT_THAT(std::string(store.status().message()), HasSubstr(path));
  }
}

TEST_F(SqliteStoreTest, FailsOnAFileThatIsNotADatabase) {
  const std::string path = dir_ + "/config.yaml";
  {
    std::ofstream out(path);
    for (int i = 0; i < 200; ++i) out << "listen: 0.0.0.0:8443 # not an SQLite file\n";
  }
  absl::StatusOr<std::unique_ptr<SqliteStore>> store = SqliteStore::Open(path, {});
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.status().code(), absl::StatusCode::kOk);
}

// A file that is not an SQLite database is refused with a message naming it.
TEST_F(SqliteStoreTest, AFileThatIsNotADatabaseIsNamedInTheError) {
  const std::string path = dir_ + "/config.yaml";
  {
    std::ofstream out(path);
    for (int i = 0; i < 200; ++i) out << "listen: 0.0.0.0:8443 # not an SQLite file\n";
  }
  absl::StatusOr<std::unique_ptr<SqliteStore>> store = SqliteStore::Open(path, {});
  ASSERT_FALSE(store.ok());
  EXPECT_THAT(std::string(store.status().message()), HasSubstr(path));
}

TEST_F(SqliteStoreTest, AWriteLockedByAnotherProcessIsUnavailableAndLosesNothing) {
  const std::string path = dir_ + "/registry.db";
  SqliteStoreOptions options;
  options.busy_timeout = absl::Milliseconds(100);
  absl::StatusOr<std::unique_ptr<SqliteStore>> opened = SqliteStore::Open(path, options);
  ASSERT_OK(opened);
  SqliteStore& store = **opened;
  auto touch = [&store](int64_t* revision) {
    return store.Write([revision](WriteTxn& txn) -> absl::Status {
      *revision = txn.NextRevision();
      return txn.AppendChange(Event(*revision, "elections/x"));
    });
  };
  int64_t revision = 0;
  ASSERT_OK(touch(&revision));
  RawDb raw(path);
  ASSERT_EQ(raw.Exec("BEGIN IMMEDIATE"), SQLITE_OK);
  const absl::Status busy = touch(&revision);
  EXPECT_EQ(busy.code(), absl::StatusCode::kUnavailable) << busy;
  EXPECT_EQ(Reason(busy), reason::kStoreBusy);
  ASSERT_EQ(raw.Exec("ROLLBACK"), SQLITE_OK);
  ASSERT_OK(touch(&revision));
  EXPECT_EQ(revision, 2) << "a failed group gives its revisions back";
  absl::StatusOr<std::vector<v1::ChangeEvent>> events = store.ReadChanges(1, 10, 1 << 20);
  ASSERT_OK(events);
  EXPECT_THAT(RevisionsOf(*events), ElementsAre(1, 2));
}

// A full disk (here: the page cap) fails the writes of the group that hits it with
// RESOURCE_EXHAUSTED, commits none of them, and leaves the revisions gap-free: writes go on
// once there is room again.
TEST_F(SqliteStoreTest, AFullStoreFailsWholeGroupsAndLosesNoRevision) {
  const std::string path = dir_ + "/registry.db";
  SqliteStoreOptions options;
  options.max_page_count = 64;
  int64_t acknowledged = 0;
  {
    absl::StatusOr<std::unique_ptr<SqliteStore>> opened = SqliteStore::Open(path, options);
    ASSERT_OK(opened);
    SqliteStore& store = **opened;
    const std::string padding(2000, 'x');
    absl::Status last;
    std::mutex mu;
    for (int round = 0; round < 200 && last.ok(); ++round) {
      std::vector<std::thread> writers;
      for (int t = 0; t < 4; ++t) {
        writers.emplace_back([&] {
          absl::Status status = store.Write([&](WriteTxn& txn) -> absl::Status {
            const int64_t revision = txn.NextRevision();
            return txn.AppendChange(Event(revision, "elections/" + padding));
          });
          std::lock_guard<std::mutex> lock(mu);
          if (status.ok()) {
            ++acknowledged;
          } else {
            last = status;
          }
        });
      }
      for (auto& w : writers) w.join();
    }
    ASSERT_EQ(last.code(), absl::StatusCode::kResourceExhausted) << last;
    EXPECT_EQ(Reason(last), reason::kStoreFull);
    absl::StatusOr<Revisions> revisions = store.GetRevisions();
    ASSERT_OK(revisions);
    EXPECT_EQ(revisions->head, acknowledged) << "every acknowledged write, and nothing else";
  }
  absl::StatusOr<std::unique_ptr<SqliteStore>> reopened = SqliteStore::Open(path, {});
  ASSERT_OK(reopened);
  int64_t revision = 0;
  ASSERT_OK((*reopened)->Write([&revision](WriteTxn& txn) -> absl::Status {
    revision = txn.NextRevision();
    return txn.AppendChange(Event(revision, "elections/after"));
  }));
  EXPECT_EQ(revision, acknowledged + 1);
  absl::StatusOr<std::vector<v1::ChangeEvent>> events =
      (*reopened)->ReadChanges(1, 100000, int64_t{1} << 40);
  ASSERT_OK(events);
  ASSERT_EQ(static_cast<int64_t>(events->size()), acknowledged + 1);
  for (size_t i = 0; i < events->size(); ++i) {
    EXPECT_EQ((*events)[i].revision(), static_cast<int64_t>(i) + 1);
  }
}

// When SQLite rolls the group's transaction back by itself (here: the file is full), a write
// that goes on after the failed part must not run outside the transaction, where it would
// commit on its own with a revision the store never records.
TEST_F(SqliteStoreTest, NothingRunsAfterSqliteRolledTheTransactionBack) {
  const std::string path = dir_ + "/registry.db";
  SqliteStoreOptions options;
  options.max_page_count = 64;
  absl::StatusOr<std::unique_ptr<SqliteStore>> opened = SqliteStore::Open(path, options);
  ASSERT_OK(opened);
  SqliteStore& store = **opened;
  const std::string huge(400 * 1024, 'x');  // More than 64 pages: SQLITE_FULL.
  bool rolled_back_by_sqlite = false;
  absl::Status after;
  absl::Status status = store.Write([&](WriteTxn& txn) -> absl::Status {
    absl::Status full = txn.Atomically([&]() -> absl::Status {
      const int64_t revision = txn.NextRevision();
      return txn.AppendChange(Event(revision, "elections/" + huge));
    });
    EXPECT_EQ(full.code(), absl::StatusCode::kResourceExhausted) << full;
    rolled_back_by_sqlite = true;
    // A batch that is not all-or-nothing goes on with its next row.
    const int64_t revision = txn.NextRevision();
    after = txn.AppendChange(Event(revision, "elections/next-row"));
    return absl::OkStatus();
  });
  ASSERT_TRUE(rolled_back_by_sqlite);
  EXPECT_FALSE(after.ok()) << "a statement ran after the transaction was gone";
  EXPECT_FALSE(status.ok());
  absl::StatusOr<Revisions> revisions = store.GetRevisions();
  ASSERT_OK(revisions);
  EXPECT_EQ(revisions->head, 0);
  absl::StatusOr<std::vector<v1::ChangeEvent>> events = store.ReadChanges(1, 100, int64_t{1} << 40);
  ASSERT_OK(events);
  EXPECT_TRUE(events->empty()) << events->front().DebugString();
  // And the store goes on.
  ASSERT_OK(store.Write([](WriteTxn& txn) -> absl::Status {
    const int64_t revision = txn.NextRevision();
    return txn.AppendChange(Event(revision, "elections/after"));
  }));
  revisions = store.GetRevisions();
  ASSERT_OK(revisions);
  EXPECT_EQ(revisions->head, 1);
}

// Checkpoints run on their own thread: the WAL's pages reach the database file and the WAL
// starts over, while writers go on, and nothing is lost.
TEST_F(SqliteStoreTest, CheckpointsCopyTheWalIntoTheFileAndStartItOver) {
  const std::string path = dir_ + "/registry.db";
  SqliteStoreOptions options;
  options.checkpoint_frames = 20;
  options.checkpoint_restart_frames = 100;
  constexpr int kWriters = 4;
  constexpr int kWritesEach = 300;
  const std::string padding(3000, 'x');  // Most of a page per change.
  {
    absl::StatusOr<std::unique_ptr<SqliteStore>> opened = SqliteStore::Open(path, options);
    ASSERT_OK(opened);
    SqliteStore& store = **opened;
    std::vector<std::thread> writers;
    for (int t = 0; t < kWriters; ++t) {
      writers.emplace_back([&] {
        for (int i = 0; i < kWritesEach; ++i) {
          EXPECT_OK(store.Write([&](WriteTxn& txn) -> absl::Status {
            const int64_t revision = txn.NextRevision();
            return txn.AppendChange(Event(revision, "elections/" + padding));
          }));
        }
      });
    }
    for (auto& w : writers) w.join();
    const int64_t written = int64_t{kWriters} * kWritesEach * 3000;
    // While the store is open (closing checkpoints everything anyway): most of what was
    // written is in the database file, and the WAL was started over instead of holding it all.
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (static_cast<int64_t>(std::filesystem::file_size(path)) < written / 2 &&
           absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(20));
    }
    EXPECT_GE(static_cast<int64_t>(std::filesystem::file_size(path)), written / 2);
    EXPECT_LT(static_cast<int64_t>(std::filesystem::file_size(path + "-wal")), written / 2);
    absl::StatusOr<Revisions> revisions = store.GetRevisions();
    ASSERT_OK(revisions);
    EXPECT_EQ(revisions->head, kWriters * kWritesEach);
  }
  absl::StatusOr<std::unique_ptr<SqliteStore>> reopened = SqliteStore::Open(path, {});
  ASSERT_OK(reopened);
  absl::StatusOr<std::vector<v1::ChangeEvent>> events =
      (*reopened)->ReadChanges(1, 100000, int64_t{1} << 40);
  ASSERT_OK(events);
  ASSERT_EQ(static_cast<int64_t>(events->size()), kWriters * kWritesEach);
  for (size_t i = 0; i < events->size(); ++i) {
    EXPECT_EQ((*events)[i].revision(), static_cast<int64_t>(i) + 1);
  }
}

// --- SQLite: tampering with the stored change log ---------------------------------------------

// A store file with changes 1..10, chained with a key, closed; the tests edit the file as
// someone with access to it but not to the key would, then open it again and verify.
class ChangeLogTamperTest : public SqliteStoreTest {
 protected:
  static constexpr int64_t kChanges = 10;

  void SetUp() override {
    SqliteStoreTest::SetUp();
    path_ = dir_ + "/registry.db";
    absl::StatusOr<std::unique_ptr<SqliteStore>> store = Open();
    ASSERT_OK(store);
    for (int64_t i = 1; i <= kChanges; ++i) {
      ASSERT_OK((*store)->Write([i](WriteTxn& txn) -> absl::Status {
        const int64_t revision = txn.NextRevision();
        EXPECT_EQ(revision, i);
        return txn.AppendChange(Event(revision, absl::StrCat("elections/e", i)));
      }));
    }
    ExpectVerified(Verify(**store), 1, kChanges);
  }

  absl::StatusOr<std::unique_ptr<SqliteStore>> Open(const std::string& key = Key()) {
    SqliteStoreOptions options;
    options.audit_key = key;
    return SqliteStore::Open(path_, options);
  }
  static std::string Key() { return std::string(32, 'k'); }

  // Opens the store again with `key` and verifies its change log.
  ChangeLogVerification Reverify(const std::string& key = Key()) {
    absl::StatusOr<std::unique_ptr<SqliteStore>> store = Open(key);
    EXPECT_TRUE(store.ok()) << store.status();
    if (!store.ok()) return {};
    return Verify(**store);
  }

  // An SQL blob literal.
  static std::string Blob(absl::string_view bytes) {
    return absl::StrCat("X'", absl::BytesToHexString(bytes), "'");
  }

  std::string path_;
};

TEST_F(ChangeLogTamperTest, AnAlteredEventIsReportedAtItsRevision) {
  {
    RawDb raw(path_);
    ASSERT_EQ(raw.Exec(absl::StrCat("UPDATE changes SET event = ",
                                    Blob(Event(5, "elections/forged").SerializeAsString()),
                                    " WHERE revision = 5")),
              SQLITE_OK);
  }
  const ChangeLogVerification v = Reverify();
  EXPECT_EQ(v.problem, Problem::kAltered) << v.message;
  EXPECT_EQ(v.bad_revision, 5);
  EXPECT_EQ(v.entries_checked, 4);
  EXPECT_EQ(v.last_revision, 4);
  EXPECT_THAT(v.message, HasSubstr("revision 5"));
}

TEST_F(ChangeLogTamperTest, AnAlteredChainValueIsReportedAtItsRevision) {
  {
    RawDb raw(path_);
    ASSERT_EQ(raw.Exec("UPDATE changes SET chain = zeroblob(32) WHERE revision = 7"), SQLITE_OK);
  }
  const ChangeLogVerification v = Reverify();
  EXPECT_EQ(v.problem, Problem::kAltered) << v.message;
  EXPECT_EQ(v.bad_revision, 7);
}

TEST_F(ChangeLogTamperTest, ADeletedEntryIsMissing) {
  {
    RawDb raw(path_);
    ASSERT_EQ(raw.Exec("DELETE FROM changes WHERE revision = 4"), SQLITE_OK);
  }
  const ChangeLogVerification v = Reverify();
  EXPECT_EQ(v.problem, Problem::kMissing) << v.message;
  EXPECT_EQ(v.bad_revision, 4);
  EXPECT_EQ(v.last_revision, 3);
}

TEST_F(ChangeLogTamperTest, TheLastEntryDeletedIsMissing) {
  {
    RawDb raw(path_);
    ASSERT_EQ(raw.Exec(absl::StrCat("DELETE FROM changes WHERE revision = ", kChanges)), SQLITE_OK);
  }
  const ChangeLogVerification v = Reverify();
  EXPECT_EQ(v.problem, Problem::kMissing) << v.message;
  EXPECT_EQ(v.bad_revision, kChanges);
}

TEST_F(ChangeLogTamperTest, SwappedEntriesAreReordered) {
  {
    RawDb raw(path_);
    ASSERT_EQ(raw.Exec("UPDATE changes SET revision = -6 WHERE revision = 6; "
                       "UPDATE changes SET revision = 6 WHERE revision = 7; "
                       "UPDATE changes SET revision = 7 WHERE revision = -6"),
              SQLITE_OK);
  }
  const ChangeLogVerification v = Reverify();
  EXPECT_EQ(v.problem, Problem::kReordered) << v.message;
  EXPECT_EQ(v.bad_revision, 6);
  EXPECT_THAT(v.message, HasSubstr("revision 7"));
}

// Swapping the events with their revisions rewritten does not help: the HMACs bind positions.
TEST_F(ChangeLogTamperTest, SwappedEventsWithTheirRevisionsRewrittenAreAltered) {
  {
    RawDb raw(path_);
    ASSERT_EQ(raw.Exec(absl::StrCat(
                  "UPDATE changes SET event = ", Blob(Event(6, "elections/e7").SerializeAsString()),
                  " WHERE revision = 6; UPDATE changes SET event = ",
                  Blob(Event(7, "elections/e6").SerializeAsString()), " WHERE revision = 7")),
              SQLITE_OK);
  }
  const ChangeLogVerification v = Reverify();
  EXPECT_EQ(v.problem, Problem::kAltered) << v.message;
  EXPECT_EQ(v.bad_revision, 6);
}

TEST_F(ChangeLogTamperTest, AnotherKeyIsAKeyMismatch) {
  const ChangeLogVerification v = Reverify(std::string(32, 'x'));
  EXPECT_EQ(v.problem, Problem::kKeyMismatch) << v.message;
  EXPECT_EQ(v.bad_revision, 1);
  EXPECT_THAT(v.message,
              HasSubstr("the audit key does not match the one the log was written with"));
  EXPECT_THAT(v.message, HasSubstr(AuditKeyId(Key())));
  EXPECT_EQ(v.key_id, AuditKeyId(std::string(32, 'x')));
}

// After a key change, new changes are chained with the new key: the store says which key the
// newest change has, and verification with the new key stops at the first old entry.
TEST_F(ChangeLogTamperTest, ChangesAfterAKeyChangeUseTheNewKey) {
  const std::string new_key(40, 'n');
  {
    absl::StatusOr<std::unique_ptr<SqliteStore>> store = Open(new_key);
    ASSERT_OK(store);
    EXPECT_EQ((*store)->head_key_id(), AuditKeyId(Key()));
    ASSERT_OK((*store)->Write([](WriteTxn& txn) -> absl::Status {
      return txn.AppendChange(Event(txn.NextRevision(), "elections/after"));
    }));
    // Compacting up to the first new change leaves only entries of the new key.
    ASSERT_OK((*store)->Compact(kChanges + 1));
    ExpectVerified(Verify(**store), kChanges + 1, kChanges + 1);
  }
  absl::StatusOr<std::unique_ptr<SqliteStore>> store = Open(new_key);
  ASSERT_OK(store);
  EXPECT_EQ((*store)->head_key_id(), AuditKeyId(new_key));
}

// Dropping the oldest entries and moving the compaction point is refused: the anchor's MAC
// needs the key.
TEST_F(ChangeLogTamperTest, AForgedCompactionIsAltered) {
  {
    absl::StatusOr<std::unique_ptr<SqliteStore>> store = Open();
    ASSERT_OK(store);
    ASSERT_OK((*store)->Compact(3));
    ExpectVerified(Verify(**store), 3, kChanges);
  }
  {
    RawDb raw(path_);
    ASSERT_EQ(raw.Exec("UPDATE store_state SET compact_revision = 6, chain_anchor = (SELECT chain "
                       "FROM changes WHERE revision = 5); DELETE FROM changes WHERE revision < 6"),
              SQLITE_OK);
  }
  const ChangeLogVerification v = Reverify();
  EXPECT_EQ(v.problem, Problem::kAltered) << v.message;
  EXPECT_EQ(v.bad_revision, 6);
  EXPECT_THAT(v.message, HasSubstr("compaction anchor"));
}

// Someone with the key as well as the file can re-chain an edited log, and can cut changes off
// its end: a chain value recorded outside the store finds both.
TEST_F(ChangeLogTamperTest, ARecordedChainValueFindsARewrittenOrTruncatedLog) {
  ChainWitness witness{8, ""};
  {
    absl::StatusOr<std::unique_ptr<SqliteStore>> store = Open();
    ASSERT_OK(store);
    ASSERT_OK((*store)->Compact(3));
    {
      RawDb raw(path_);
      witness.chain =
          absl::HexStringToBytes(raw.Text("SELECT hex(chain) FROM changes WHERE "
                                          "revision = 8"));
    }
    const ChangeLogVerification v = Verify(**store, witness);
    EXPECT_EQ(v.problem, Problem::kNone) << v.message;
    EXPECT_TRUE(v.witness_matched);
  }
  {
    // The last three changes cut off, the head lowered to match: the chain alone is intact.
    RawDb raw(path_);
    ASSERT_EQ(raw.Exec("DELETE FROM changes WHERE revision > 7; "
                       "UPDATE store_state SET head_revision = 7"),
              SQLITE_OK);
  }
  {
    absl::StatusOr<std::unique_ptr<SqliteStore>> store = Open();
    ASSERT_OK(store);
    ExpectVerified(Verify(**store), 3, 7);
    const ChangeLogVerification v = Verify(**store, witness);
    EXPECT_EQ(v.problem, Problem::kMissing) << v.message;
    EXPECT_EQ(v.bad_revision, 8);
    EXPECT_THAT(v.message, HasSubstr("beyond the head revision (7)"));
    // Another revision 8 chained with the key (as by someone holding it): the chain verifies,
    // the recorded value does not match.
    ASSERT_OK((*store)->Write([](WriteTxn& txn) -> absl::Status {
      return txn.AppendChange(Event(txn.NextRevision(), "elections/again-8"));
    }));
    ExpectVerified(Verify(**store), 3, 8);
    const ChangeLogVerification rewritten = Verify(**store, witness);
    EXPECT_EQ(rewritten.problem, Problem::kAltered) << rewritten.message;
    EXPECT_EQ(rewritten.bad_revision, 8);
    EXPECT_THAT(rewritten.message, HasSubstr("not the one recorded"));
  }
}

TEST_F(ChangeLogTamperTest, ALoweredHeadRevisionIsReported) {
  {
    RawDb raw(path_);
    ASSERT_EQ(raw.Exec("UPDATE store_state SET head_revision = 8"), SQLITE_OK);
  }
  const ChangeLogVerification v = Reverify();
  EXPECT_EQ(v.problem, Problem::kAltered) << v.message;
  EXPECT_EQ(v.bad_revision, 9);
}

// Compaction does not destroy the evidence of a removed entry.
TEST_F(ChangeLogTamperTest, CompactionAcrossAMissingEntryIsRefused) {
  {
    RawDb raw(path_);
    ASSERT_EQ(raw.Exec("DELETE FROM changes WHERE revision = 4"), SQLITE_OK);
  }
  absl::StatusOr<std::unique_ptr<SqliteStore>> store = Open();
  ASSERT_OK(store);
  const absl::Status compact = (*store)->Compact(5);
  EXPECT_EQ(compact.code(), absl::StatusCode::kDataLoss) << compact;
  const ChangeLogVerification v = Verify(**store);
  EXPECT_EQ(v.problem, Problem::kMissing);
  EXPECT_EQ(v.bad_revision, 4);
  EXPECT_EQ(v.compact_revision, 1);
}

// A store of schema version 1 (before the chain) is chained when opened, once: entries whose
// chain value is removed later are not chained again.
TEST_F(ChangeLogTamperTest, AStoreWithoutTheChainIsChainedOnceWhenMigrated) {
  {
    absl::StatusOr<std::unique_ptr<SqliteStore>> store = Open();
    ASSERT_OK(store);
    ASSERT_OK((*store)->Compact(4));
  }
  {
    RawDb raw(path_);
    ASSERT_EQ(raw.Exec("ALTER TABLE changes DROP COLUMN chain; "
                       "ALTER TABLE changes DROP COLUMN key_id; "
                       "ALTER TABLE store_state DROP COLUMN chain_anchor; "
                       "ALTER TABLE store_state DROP COLUMN anchor_key_id; "
                       "ALTER TABLE store_state DROP COLUMN anchor_mac; "
                       "PRAGMA user_version = 1"),
              SQLITE_OK);
  }
  {
    absl::StatusOr<std::unique_ptr<SqliteStore>> store = Open();
    ASSERT_OK(store);
    EXPECT_EQ((*store)->changes_chained_at_open(), kChanges - 3);
    ExpectVerified(Verify(**store), 4, kChanges);
    ASSERT_OK((*store)->Write([](WriteTxn& txn) -> absl::Status {
      return txn.AppendChange(Event(txn.NextRevision(), "elections/after"));
    }));
    ExpectVerified(Verify(**store), 4, kChanges + 1);
  }
  {
    RawDb raw(path_);
    EXPECT_EQ(raw.Text("PRAGMA user_version"), absl::StrCat(SqliteStore::kSchemaVersion));
    ASSERT_EQ(raw.Exec("UPDATE changes SET chain = NULL WHERE revision = 6"), SQLITE_OK);
  }
  absl::StatusOr<std::unique_ptr<SqliteStore>> store = Open();
  ASSERT_OK(store);
  EXPECT_EQ((*store)->changes_chained_at_open(), 0);
  const ChangeLogVerification v = Verify(**store);
  EXPECT_EQ(v.problem, Problem::kAltered) << v.message;
  EXPECT_EQ(v.bad_revision, 6);
  EXPECT_THAT(v.message, HasSubstr("no chain value"));
}

}  // namespace
}  // namespace observer::registry
