#include "tests/fuzz/seeded_registry.h"

#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <system_error>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "common/country_codes.h"
#include "common/proto_time.h"

namespace observer::fuzz {
namespace {

namespace fs = std::filesystem;
using registry::Registry;

// The SQLite files of a store: the database and, while it is open, its WAL and shared memory.
constexpr const char* kStoreFileSuffixes[] = {"", "-wal", "-shm"};

constexpr absl::string_view kTempPrefix = "observer-fuzz-";

// Removes the directories of earlier runs whose process is gone (a crash skips the exit
// handler that removes them).
void RemoveStaleTempDirs(const std::string& base) {
  std::error_code error;
  for (const fs::directory_entry& entry : fs::directory_iterator(base, error)) {
    const std::string name = entry.path().filename().string();
    if (!absl::StartsWith(name, kTempPrefix)) continue;
    const long pid = std::strtol(name.c_str() + kTempPrefix.size(), nullptr, 10);
    if (pid > 0 && kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) {
      std::error_code ignored;
      fs::remove_all(entry.path(), ignored);
    }
  }
}

// A temporary directory named after this process, removed at exit.
std::string MakeTempDir() {
  std::string base = "/dev/shm";
  if (access(base.c_str(), W_OK) != 0) {
    const char* tmp = std::getenv("TMPDIR");
    base = tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
  }
  RemoveStaleTempDirs(base);
  std::string path = absl::StrCat(base, "/", kTempPrefix, getpid(), "-XXXXXX");
  if (mkdtemp(path.data()) == nullptr) Fail(absl::StrCat("cannot create a directory in ", base));
  static std::string* const to_remove = new std::string(path);
  std::atexit([] {
    std::error_code ignored;
    fs::remove_all(*to_remove, ignored);
  });
  return path;
}

template <typename T>
T OrDie(absl::StatusOr<T> value, absl::string_view what) {
  if (!value.ok()) Fail(absl::StrCat("seeding: ", what, ": ", value.status().ToString()));
  return *std::move(value);
}

v1::Observer NewObserver(const std::string& given, const std::string& family,
                         const std::string& citizenship, const std::string& document,
                         v1::ObserverCategory category) {
  v1::Observer o;
  o.set_given_names(given);
  o.set_family_name(family);
  o.set_latin_given_names(given);
  o.set_latin_family_name(family);
  o.set_citizenship(citizenship);
  o.set_gender(v1::GENDER_MALE);
  *o.mutable_birth_date() = MakeDate(1970, 5, 17);
  o.mutable_id_document()->set_type(v1::ID_DOCUMENT_TYPE_PASSPORT);
  o.mutable_id_document()->set_number(document);
  o.mutable_id_document()->set_issuing_country(citizenship);
  o.set_category(category);
  o.set_submission_reference("Note 12/2020");
  return o;
}

v1::Observer FromOrganisation(v1::Observer o, const std::string& code) {
  o.mutable_sending_body()->set_organisation(absl::StrCat("organisations/", code));
  return o;
}

v1::Observer FromState(v1::Observer o) {
  o.mutable_sending_body()->set_state(o.citizenship());
  return o;
}

}  // namespace

absl::Time SeededRegistry::Now() {
  return absl::FromCivil(absl::CivilSecond(2021, 1, 2, 6, 0, 0), absl::UTCTimeZone());
}

SeededRegistry& SeededRegistry::Get() {
  static SeededRegistry* const instance = new SeededRegistry();
  return *instance;
}

SeededRegistry::SeededRegistry() {
  dir_ = MakeTempDir();
  seed_path_ = dir_ + "/seed.db";
  work_path_ = dir_ + "/work.db";
  context_.actor = "fuzz";

  // Seeds through the real API, in the file that every run starts from.
  Open(seed_path_);

  auto election = [&](const std::string& id, const std::string& country,
                      google::type::Date voting_day, const std::string& zone, absl::Time opens) {
    v1::CreateElectionRequest req;
    req.set_election_id(id);
    v1::Election* e = req.mutable_election();
    e->set_display_name(absl::StrCat("Election ", id));
    e->set_kind(v1::ELECTION_KIND_PARLIAMENTARY);
    e->set_host_country(country);
    *e->mutable_voting_day() = voting_day;
    e->set_time_zone(zone);
    if (opens != absl::InfinitePast()) *e->mutable_accreditation_opens_time() = ToProto(opens);
    OrDie(Write(&Registry::CreateElection, req), id);
  };
  election("kz-2021", "KZ", MakeDate(2021, 1, 10), "Asia/Almaty", absl::InfinitePast());
  election("ge-2024", "GE", MakeDate(2024, 10, 26), "Asia/Tbilisi", Now() - absl::Hours(24 * 30));
  election("kz-2019", "KZ", MakeDate(2019, 6, 9), "Asia/Almaty", absl::InfinitePast());

  auto organisation = [&](const std::string& code, const std::string& name,
                          const std::string& parent) {
    v1::CreateOrganisationRequest req;
    req.set_organisation_code(code);
    req.mutable_organisation()->mutable_names()->set_en(name);
    req.mutable_organisation()->mutable_names()->set_ru(name + " (ru)");
    if (!parent.empty()) req.mutable_organisation()->set_parent("organisations/" + parent);
    seed_.organisations.push_back(
        OrDie(Write(&Registry::CreateOrganisation, req), code).organisation().name());
  };
  organisation("OSCE", "Organization for Security and Co-operation in Europe", "");
  organisation("OSCE-ODIHR", "OSCE Office for Democratic Institutions and Human Rights", "OSCE");
  organisation("CIS-EC", "CIS Executive Committee", "");

  auto create = [&](absl::string_view election_name, v1::Observer o) {
    v1::CreateObserverRequest req;
    req.set_parent(std::string(election_name));
    *req.mutable_observer() = std::move(o);
    return OrDie(Write(&Registry::CreateObserver, req), "observer").observer().name();
  };
  auto accredit = [&](const std::string& name, const std::string& badge) {
    v1::AccreditObserverRequest req;
    req.set_name(name);
    req.set_badge_number(badge);
    req.set_decision_reference("Resolution 3/2021");
    OrDie(Write(&Registry::AccreditObserver, req), "accredit");
  };
  std::vector<std::string>& kz = seed_.observers;
  v1::Observer o;

  o = FromOrganisation(
      NewObserver("Anna", "Schmidt", "DE", "C01X00T47", v1::OBSERVER_CATEGORY_SHORT_TERM),
      "OSCE-ODIHR");
  o.add_tags("batch-1");
  kz.push_back(create(Seed::kElection, o));  // 0: SUBMITTED

  o = FromOrganisation(
      NewObserver("Jean", "Dupont", "FR", "18AB12345", v1::OBSERVER_CATEGORY_LONG_TERM),
      "OSCE-ODIHR");
  o.add_tags("batch-1");
  o.add_tags("batch-2");
  o.set_gender(v1::GENDER_MALE);
  kz.push_back(create(Seed::kElection, o));  // 1: ACCREDITED
  accredit(kz.back(), "");

  o = FromOrganisation(
      NewObserver("Ivan", "Petrov", "RU", "7512 345678", v1::OBSERVER_CATEGORY_SHORT_TERM),
      "CIS-EC");
  kz.push_back(create(Seed::kElection, o));  // 2: REJECTED
  {
    v1::RejectObserverRequest req;
    req.set_name(kz.back());
    req.set_reason("incomplete submission");
    OrDie(Write(&Registry::RejectObserver, req), "reject");
  }

  o = FromState(
      NewObserver("John", "Smith", "US", "561234567", v1::OBSERVER_CATEGORY_PARLIAMENTARIAN));
  kz.push_back(create(Seed::kElection, o));  // 3: SUSPENDED
  accredit(kz.back(), "");
  {
    v1::SuspendObserverRequest req;
    req.set_name(kz.back());
    req.set_reason("badge lost");
    OrDie(Write(&Registry::SuspendObserver, req), "suspend");
  }

  o = FromState(
      NewObserver("Mary", "Jones", "GB", "123456789", v1::OBSERVER_CATEGORY_HEAD_OF_DELEGATION));
  o.set_gender(v1::GENDER_FEMALE);
  kz.push_back(create(Seed::kElection, o));  // 4: WITHDRAWN
  accredit(kz.back(), "");
  {
    v1::WithdrawObserverRequest req;
    req.set_name(kz.back());
    req.set_reason("left the country");
    OrDie(Write(&Registry::WithdrawObserver, req), "withdraw");
  }

  o = FromOrganisation(
      NewObserver("Jan", "Kowalski", "PL", "AB1234567", v1::OBSERVER_CATEGORY_CORE_TEAM), "OSCE");
  o.set_test(true);
  o.add_tags("test-run");
  kz.push_back(create(Seed::kElection, o));  // 5: SUBMITTED, test

  o = FromState(NewObserver("Aziz", "Karimov", "UZ", "FA1234567", v1::OBSERVER_CATEGORY_OTHER));
  o.set_gender(v1::GENDER_OTHER);
  o.add_tags("batch-2");
  kz.push_back(create(Seed::kElection, o));  // 6: ACCREDITED, badge chosen
  accredit(kz.back(), "A-7");

  o = FromOrganisation(
      NewObserver("Bakyt", "Asanov", "KG", "ID0012345", v1::OBSERVER_CATEGORY_SHORT_TERM),
      "CIS-EC");
  o.clear_birth_date();
  kz.push_back(create(Seed::kElection, o));  // 7: SUBMITTED

  o = FromOrganisation(
      NewObserver("Anna", "Schmidt", "DE", "C01X00T47", v1::OBSERVER_CATEGORY_SHORT_TERM),
      "OSCE-ODIHR");
  seed_.other_observers.push_back(create(Seed::kOtherElection, o));  // 0: SUBMITTED
  o = FromState(NewObserver("Lena", "Berg", "SE", "SE7654321", v1::OBSERVER_CATEGORY_LONG_TERM));
  seed_.other_observers.push_back(create(Seed::kOtherElection, o));  // 1: ACCREDITED
  accredit(seed_.other_observers.back(), "");

  callers_[0] = context_;
  callers_[1] = context_;
  callers_[1].sending_body = "organisations/OSCE-ODIHR";
  callers_[2] = context_;
  callers_[2].sending_body = "states/US";
  for (const auto* names : {&seed_.observers, &seed_.other_observers}) {
    for (const std::string& name : *names) {
      v1::GetObserverRequest get;
      get.set_name(name);
      const v1::Observer record = OrDie(registry_->GetObserver({}, get), name).observer();
      for (int i = 0; i < kCallers; ++i) {
        if (!Visible(callers_[i], record)) hidden_[i].push_back(name);
      }
    }
  }

  seed_.revision = HeadRevision();
  Close();
  CopySeedAndOpen();
}

void SeededRegistry::Open(const std::string& path) {
  store_ = OrDie(registry::SqliteStore::Open(path, registry::SqliteStoreOptions{}), "open");
  registry::RegistryOptions options;
  options.clock = [] { return Now(); };
  registry_ = std::make_unique<Registry>(*store_, CountryCodes::Default(), std::move(options));
}

void SeededRegistry::Close() {
  registry_.reset();
  store_.reset();
}

bool SeededRegistry::Visible(const registry::RequestContext& ctx, const v1::Observer& observer) {
  const std::string& body = ctx.sending_body;
  if (body.empty()) return true;
  const v1::SendingBody& sender = observer.sending_body();
  if (sender.has_state()) return body == absl::StrCat("states/", sender.state());
  return sender.has_organisation() && body == sender.organisation();
}

int64_t SeededRegistry::HeadRevision() { return OrDie(store_->GetRevisions(), "revisions").head; }

void SeededRegistry::CopySeedAndOpen() {
  std::error_code ignored;
  for (const char* suffix : kStoreFileSuffixes) fs::remove(work_path_ + suffix, ignored);
  for (const char* suffix : kStoreFileSuffixes) {
    if (fs::exists(seed_path_ + suffix)) fs::copy_file(seed_path_ + suffix, work_path_ + suffix);
  }
  Open(work_path_);
}

void SeededRegistry::ResetIfChanged(int64_t allowed_changes) {
  if (HeadRevision() - seed_.revision > allowed_changes) Reset();
}

void SeededRegistry::Reset() {
  Close();
  CopySeedAndOpen();
}

std::string SeededRegistry::ResolveObserverName(const std::string& name) const {
  auto resolve = [&](absl::string_view election, const std::vector<std::string>& observers,
                     std::string* out) {
    const std::string prefix = absl::StrCat(election, "/observers/");
    if (name.size() != prefix.size() + 1 || name.compare(0, prefix.size(), prefix) != 0) {
      return false;
    }
    const char digit = name.back();
    if (digit < '0' || digit > '9') return false;
    const size_t index = static_cast<size_t>(digit - '0');
    if (index >= observers.size()) return false;
    *out = observers[index];
    return true;
  };
  std::string out;
  if (resolve(Seed::kElection, seed_.observers, &out)) return out;
  if (resolve(Seed::kOtherElection, seed_.other_observers, &out)) return out;
  return name;
}

std::string SeededRegistry::CurrentObserverEtag(const std::string& name) {
  v1::GetObserverRequest req;
  req.set_name(name);
  auto found = registry_->GetObserver({}, req);
  return found.ok() ? found->observer().etag() : "";
}

}  // namespace observer::fuzz
