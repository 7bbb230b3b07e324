#include "bench/micro/fixtures.h"

#include <cstdlib>
#include <iostream>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "common/resource_names.h"
#include "registry-service/src/storage/audit_chain.h"
#include "tools/example-data/kz2021_dataset.h"

namespace observer::bench {
namespace {

[[noreturn]] void Die(absl::string_view what, const absl::Status& status) {
  std::cerr << "observer-microbench setup: " << what << ": " << status << "\n";
  std::abort();
}

absl::Status Unsupported(absl::string_view what) {
  return absl::UnimplementedError(absl::StrCat("MemoryStore does not implement ", what));
}

}  // namespace

const std::string& BenchAuditKey() {
  static const std::string* const key = new std::string("observer-microbench-audit-key-32b");
  return *key;
}

// --- MemoryStore ----------------------------------------------------------------------------

class MemoryStore::Txn final : public registry::WriteTxn {
 public:
  explicit Txn(MemoryStore& store) : store_(store), next_(store.head_) {}

  std::vector<rv1::ChangeEvent>& events() { return events_; }

  absl::StatusOr<std::optional<rv1::Election>> GetElection(absl::string_view id) override {
    auto it = store_.elections_.find(id);
    if (it == store_.elections_.end()) return std::optional<rv1::Election>();
    return std::optional<rv1::Election>(it->second);
  }
  absl::StatusOr<std::optional<rv1::Organisation>> GetOrganisation(
      absl::string_view code) override {
    auto it = store_.organisations_.find(code);
    if (it == store_.organisations_.end()) return std::optional<rv1::Organisation>();
    return std::optional<rv1::Organisation>(it->second);
  }
  absl::StatusOr<std::optional<rv1::Observer>> GetObserver(absl::string_view election_id,
                                                           absl::string_view observer_id) override {
    auto it = store_.observers_.find({std::string(election_id), std::string(observer_id)});
    if (it == store_.observers_.end()) return std::optional<rv1::Observer>();
    return std::optional<rv1::Observer>(it->second);
  }
  absl::StatusOr<std::optional<std::string>> FindObserverByDocument(
      absl::string_view election_id, absl::string_view document_key) override {
    auto it = store_.documents_.find({std::string(election_id), std::string(document_key)});
    if (it == store_.documents_.end()) return std::optional<std::string>();
    return std::optional<std::string>(it->second);
  }
  absl::StatusOr<bool> BadgeUsed(absl::string_view election_id, absl::string_view badge) override {
    return store_.badges_.count({std::string(election_id), std::string(badge)}) > 0;
  }
  absl::StatusOr<int64_t> NextBadgeSequence(absl::string_view election_id) override {
    return ++store_.badge_sequences_[std::string(election_id)];
  }

  absl::Status PutElection(const rv1::Election& election) override {
    absl::StatusOr<std::string> id = ParseElectionName(election.name(), "name");
    if (!id.ok()) return id.status();
    store_.elections_[*id] = election;
    return absl::OkStatus();
  }
  absl::Status PutOrganisation(const rv1::Organisation& organisation) override {
    absl::StatusOr<std::string> code = ParseOrganisationName(organisation.name(), "name");
    if (!code.ok()) return code.status();
    store_.organisations_[*code] = organisation;
    return absl::OkStatus();
  }
  absl::Status PutObserver(absl::string_view election_id, absl::string_view observer_id,
                           absl::string_view document_key, const rv1::Observer& observer) override {
    if (!store_.keep_records_) return absl::OkStatus();
    const std::string election(election_id);
    store_.observers_[{election, std::string(observer_id)}] = observer;
    store_.documents_[{election, std::string(document_key)}] = std::string(observer_id);
    if (!observer.badge_number().empty())
      store_.badges_.insert({election, observer.badge_number()});
    return absl::OkStatus();
  }
  absl::Status DeleteObserver(absl::string_view election_id,
                              absl::string_view observer_id) override {
    store_.observers_.erase({std::string(election_id), std::string(observer_id)});
    return absl::OkStatus();
  }

  absl::Status Atomically(const std::function<absl::Status()>& fn) override { return fn(); }

  int64_t CurrentRevision() const override { return next_; }
  int64_t NextRevision() override { return ++next_; }

  absl::Status AppendChange(rv1::ChangeEvent event) override {
    // What SqliteStore::AppendChange does besides the INSERT: the stored bytes, their audit
    // chain link, and the event kept for the commit listener.
    const std::string bytes = event.SerializeAsString();
    store_.chain_ = registry::ChainLink(store_.audit_mac_, store_.chain_, event.revision(), bytes);
    events_.push_back(std::move(event));
    return absl::OkStatus();
  }

  absl::StatusOr<std::optional<registry::StoredRequest>> GetRequest(
      absl::string_view request_id) override {
    auto it = store_.requests_.find(request_id);
    if (it == store_.requests_.end()) return std::optional<registry::StoredRequest>();
    return std::optional<registry::StoredRequest>(it->second);
  }
  absl::Status PutRequest(const registry::StoredRequest& request) override {
    if (store_.keep_records_) store_.requests_[request.request_id] = request;
    return absl::OkStatus();
  }

 private:
  MemoryStore& store_;
  int64_t next_;
  std::vector<rv1::ChangeEvent> events_;
};

MemoryStore::MemoryStore(bool keep_records)
    : keep_records_(keep_records), audit_mac_(BenchAuditKey()), chain_(registry::GenesisChain()) {}

MemoryStore::~MemoryStore() = default;

void MemoryStore::WriteAsync(registry::WriteFn fn, registry::WriteDone done) {
  Txn txn(*this);
  absl::Status status = fn(txn);
  if (status.ok()) {
    head_ = txn.CurrentRevision();
    if (listener_ && !txn.events().empty()) listener_(std::move(txn.events()));
  }
  done(status);
}

void MemoryStore::SetCommitListener(registry::CommitListener listener) {
  listener_ = std::move(listener);
}

absl::StatusOr<registry::Versioned<rv1::Election>> MemoryStore::GetElection(absl::string_view id) {
  registry::Versioned<rv1::Election> out;
  out.revision = head_;
  if (auto it = elections_.find(id); it != elections_.end()) out.value = it->second;
  return out;
}

absl::StatusOr<registry::Page<rv1::Election>> MemoryStore::ListElections(absl::string_view, int) {
  return Unsupported("ListElections");
}

absl::StatusOr<registry::Versioned<rv1::Organisation>> MemoryStore::GetOrganisation(
    absl::string_view code) {
  registry::Versioned<rv1::Organisation> out;
  out.revision = head_;
  if (auto it = organisations_.find(code); it != organisations_.end()) out.value = it->second;
  return out;
}

absl::StatusOr<registry::Page<rv1::Organisation>> MemoryStore::ListOrganisations(absl::string_view,
                                                                                 int) {
  return Unsupported("ListOrganisations");
}

absl::StatusOr<registry::Versioned<rv1::Observer>> MemoryStore::GetObserver(
    absl::string_view election_id, absl::string_view observer_id) {
  registry::Versioned<rv1::Observer> out;
  out.revision = head_;
  auto it = observers_.find({std::string(election_id), std::string(observer_id)});
  if (it != observers_.end()) out.value = it->second;
  return out;
}

absl::StatusOr<registry::Page<rv1::Observer>> MemoryStore::ListObservers(
    const registry::ObserverQuery&) {
  return Unsupported("ListObservers");
}

absl::StatusOr<std::vector<registry::ObserverCount>> MemoryStore::CountObservers() {
  return Unsupported("CountObservers");
}

absl::StatusOr<registry::Revisions> MemoryStore::GetRevisions() {
  return registry::Revisions{head_, 1};
}

absl::StatusOr<std::vector<rv1::ChangeEvent>> MemoryStore::ReadChanges(int64_t, int, int64_t) {
  return Unsupported("ReadChanges (the benchmarks serve watches from the hub's window)");
}

void MemoryStore::CompactAsync(int64_t, registry::WriteDone done) {
  // Nothing is retained, so there is nothing to drop.
  done(absl::OkStatus());
}

absl::StatusOr<std::unique_ptr<registry::SnapshotReader>> MemoryStore::OpenSnapshot() {
  return Unsupported("OpenSnapshot");
}

absl::StatusOr<registry::ChangeLogVerification> MemoryStore::VerifyChangeLog(
    const std::optional<registry::ChainWitness>&) {
  return Unsupported("VerifyChangeLog");
}

// --- Inputs ---------------------------------------------------------------------------------

const RegistryInputs& Inputs() {
  static const RegistryInputs* const inputs = [] {
    const example::ExampleDataSet& data = example::Kz2021DataSet();
    auto* in = new RegistryInputs;
    in->election_name = ElectionName(data.election_id);
    in->election = example::CreateElectionRequestFor(data);
    for (const example::PlannedOrganisation& o : data.organisations) {
      in->organisations.push_back(example::CreateOrganisationRequestFor(data, o));
    }
    for (const example::PlannedObserver& p : data.observers) {
      rv1::CreateObserverRequest req;
      req.set_parent(in->election_name);
      *req.mutable_observer() = p.observer;
      req.set_request_id(absl::StrCat(data.election_id, "/create-observer/", p.key));
      in->observers.push_back(std::move(req));
    }
    return in;
  }();
  return *inputs;
}

const std::string& ExampleElectionName() { return Inputs().election_name; }

void LoadElectionAndOrganisations(registry::Registry& registry) {
  const RegistryInputs& in = Inputs();
  registry::RequestContext ctx;
  ctx.actor = "observer-microbench";
  auto election = CallSync<rv1::CreateElectionResponse>(
      [&](registry::Callback<rv1::CreateElectionResponse> done) {
        registry.CreateElection(ctx, in.election, std::move(done));
      });
  if (!election.ok()) Die("CreateElection", election.status());
  for (const rv1::CreateOrganisationRequest& req : in.organisations) {
    auto organisation = CallSync<rv1::CreateOrganisationResponse>(
        [&](registry::Callback<rv1::CreateOrganisationResponse> done) {
          registry.CreateOrganisation(ctx, req, std::move(done));
        });
    if (!organisation.ok())
      Die(absl::StrCat("CreateOrganisation ", req.organisation_code()), organisation.status());
  }
}

const History& ExampleHistory() {
  static const History* const history = [] {
    const example::ExampleDataSet& data = example::Kz2021DataSet();
    const RegistryInputs& in = Inputs();
    auto* h = new History;
    MemoryStore store(/*keep_records=*/true);
    store.SetCommitListener([h](std::vector<rv1::ChangeEvent> events) {
      for (rv1::ChangeEvent& e : events) h->all.push_back(std::move(e));
    });
    registry::Registry registry(store, Countries(), registry::RegistryOptions{});
    LoadElectionAndOrganisations(registry);
    const size_t setup_events = h->all.size();

    registry::RequestContext ctx;
    ctx.actor = "observer-microbench";
    std::vector<std::string> names;
    for (const rv1::CreateObserverRequest& req : in.observers) {
      auto created = CallSync<rv1::CreateObserverResponse>(
          [&](registry::Callback<rv1::CreateObserverResponse> done) {
            registry.CreateObserver(ctx, req, std::move(done));
          });
      if (!created.ok()) Die(absl::StrCat("CreateObserver ", req.request_id()), created.status());
      names.push_back(created->observer().name());
    }
    for (size_t i = 0; i < data.observers.size(); ++i) {
      const example::PlannedObserver& p = data.observers[i];
      absl::Status decided = absl::OkStatus();
      if (p.target_status == rv1::OBSERVER_STATUS_ACCREDITED) {
        decided = CallSync<rv1::AccreditObserverResponse>(
                      [&](registry::Callback<rv1::AccreditObserverResponse> done) {
                        registry.AccreditObserver(
                            ctx, example::AccreditRequestFor(data, p, names[i]), std::move(done));
                      })
                      .status();
      } else if (p.target_status == rv1::OBSERVER_STATUS_REJECTED) {
        decided = CallSync<rv1::RejectObserverResponse>(
                      [&](registry::Callback<rv1::RejectObserverResponse> done) {
                        registry.RejectObserver(ctx, example::RejectRequestFor(data, p, names[i]),
                                                std::move(done));
                      })
                      .status();
      }
      if (!decided.ok()) Die(absl::StrCat("deciding on ", p.key), decided);
    }

    h->head = store.head();
    h->setup.assign(h->all.begin(), h->all.begin() + static_cast<std::ptrdiff_t>(setup_events));
    std::map<std::string, size_t> index;
    for (size_t i = 0; i < names.size(); ++i) index[names[i]] = i;
    h->per_observer.resize(names.size());
    for (const rv1::ChangeEvent& e : h->all) {
      h->serialized.push_back(e.SerializeAsString());
      if (e.kind() != rv1::RESOURCE_KIND_OBSERVER) continue;
      h->per_observer[index.at(e.name())].push_back(e);
    }
    return h;
  }();
  return *history;
}

// --- Stats ----------------------------------------------------------------------------------

const CountryCodes& Countries() { return CountryCodes::Default(); }

const std::vector<std::string>& AllCountryCodes() {
  static const std::vector<std::string>* const codes = [] {
    auto* out = new std::vector<std::string>;
    for (char a = 'A'; a <= 'Z'; ++a) {
      for (char b = 'A'; b <= 'Z'; ++b) {
        const std::string code{a, b};
        if (Countries().Contains(code)) out->push_back(code);
      }
    }
    return out;
  }();
  return *codes;
}

const stats::RegionDirectory& Regions() {
  static const stats::RegionDirectory* const regions = [] {
    auto directory = stats::RegionDirectory::Create(
        Countries(), {absl::StrCat(OBSERVER_REGION_SCHEMES_DIR, "/kz2021-article.scheme")});
    if (!directory.ok()) Die("RegionDirectory::Create", directory.status());
    return directory->release();
  }();
  return *regions;
}

void FillCounters(stats::Counters& counters, int64_t observers, bool wide) {
  const History& history = ExampleHistory();
  for (const rv1::ChangeEvent& e : history.setup) {
    if (absl::Status s = counters.Apply(e); !s.ok()) Die("applying the setup events", s);
  }
  // A private copy, so that `wide` can rewrite the countries in place without allocating.
  std::vector<std::vector<rv1::ChangeEvent>> pool = history.per_observer;
  const std::vector<std::string>& codes = AllCountryCodes();
  for (int64_t i = 0; i < observers; ++i) {
    std::vector<rv1::ChangeEvent>& events = pool[static_cast<size_t>(i) % pool.size()];
    if (wide) {
      const std::string& citizenship = codes[static_cast<size_t>(i) % codes.size()];
      const std::string& state = codes[static_cast<size_t>(i * 7 + 3) % codes.size()];
      for (rv1::ChangeEvent& e : events) {
        for (rv1::ResourceImage* image : {e.mutable_before(), e.mutable_after()}) {
          if (!image->has_observer()) continue;
          rv1::Observer& o = *image->mutable_observer();
          o.set_citizenship(citizenship);
          if (o.sending_body().has_state()) o.mutable_sending_body()->set_state(state);
        }
      }
    }
    for (const rv1::ChangeEvent& e : events) {
      if (absl::Status s = counters.Apply(e); !s.ok()) Die("filling the counters", s);
    }
  }
}

stats::LiveStats& LiveStatsOfSize(int64_t observers, bool wide) {
  static std::mutex mu;
  static auto* states = new std::map<std::pair<int64_t, bool>, std::unique_ptr<stats::LiveStats>>;
  std::lock_guard<std::mutex> lock(mu);
  std::unique_ptr<stats::LiveStats>& live = (*states)[{observers, wide}];
  if (live == nullptr) {
    auto counters = std::make_unique<stats::Counters>(Regions());
    FillCounters(*counters, observers, wide);
    live = std::make_unique<stats::LiveStats>(Regions());
    // As after an initial state at some revision; live events continue from there.
    live->SwapIn(std::move(counters), ExampleHistory().head);
  }
  return *live;
}

}  // namespace observer::bench
