// Registry hot paths: observer validation, the domain work of CreateObserver, change-event
// encoding, the audit chain link computed per change, and the Watch fan-out (hub window and
// the per-watcher response encoding).
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "bench/micro/fixtures.h"
#include "benchmark/benchmark.h"
#include "common/digest.h"
#include "common/errors.h"
#include "registry-service/src/changelog/watch_hub.h"
#include "registry-service/src/changelog/watch_session.h"
#include "registry-service/src/domain/registry.h"
#include "registry-service/src/domain/rules.h"
#include "registry-service/src/storage/audit_chain.h"

namespace observer::bench {
namespace {

// The next index of a round-robin walk over `n` inputs.
size_t Next(size_t i, size_t n) { return i + 1 == n ? 0 : i + 1; }

// --- Validation -----------------------------------------------------------------------------

// ValidateObserver on the people of the example data set (all valid): the field checks
// CreateObserver, BatchCreateObservers (per row) and UpdateObserver run before any write.
void BM_ValidateObserver(benchmark::State& state) {
  std::vector<rv1::Observer> pool;
  for (const rv1::CreateObserverRequest& req : Inputs().observers) pool.push_back(req.observer());
  const CountryCodes& countries = Countries();
  for (rv1::Observer& o : pool) {
    Violations v;
    registry::ValidateObserver(countries, o, v);
    if (!v.empty()) {
      state.SkipWithError("an observer of the example data set does not validate");
      return;
    }
  }
  size_t i = 0;
  for (auto _ : state) {
    Violations v;
    // In place, as CreateObserver does on its copy; the tag normalisation is idempotent.
    registry::ValidateObserver(countries, pool[i], v);
    benchmark::DoNotOptimize(v);
    benchmark::ClobberMemory();
    i = Next(i, pool.size());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ValidateObserver);

// ValidateObserver on typical rejected submissions: each input breaks one or two rules, so
// the error path (building the field violations) is measured.
void BM_ValidateObserver_Rejected(benchmark::State& state) {
  std::vector<rv1::Observer> pool;
  const auto& inputs = Inputs().observers;
  for (size_t i = 0; i < inputs.size(); ++i) {
    rv1::Observer o = inputs[i].observer();
    switch (i % 4) {
      case 0:  // The Latin transliteration left in Cyrillic.
        o.set_latin_family_name("Иванов");
        break;
      case 1:  // A citizenship that is not an ISO code, and no document country.
        o.set_citizenship("SU");
        o.mutable_id_document()->clear_issuing_country();
        break;
      case 2:  // A document number with punctuation, and no category.
        o.mutable_id_document()->set_number("N#" + o.id_document().number());
        o.clear_category();
        break;
      case 3:  // No sending body.
        o.clear_sending_body();
        break;
    }
    pool.push_back(std::move(o));
  }
  const CountryCodes& countries = Countries();
  size_t i = 0;
  int64_t violations = 0;
  for (auto _ : state) {
    Violations v;
    registry::ValidateObserver(countries, pool[i], v);
    violations += static_cast<int64_t>(v.list().size());
    benchmark::DoNotOptimize(v);
    benchmark::ClobberMemory();
    i = Next(i, pool.size());
  }
  if (violations == 0) state.SkipWithError("no violation was found");
  state.SetItemsProcessed(state.iterations());
  state.counters["violations/item"] = static_cast<double>(violations) /
                                      static_cast<double>(std::max<int64_t>(1, state.iterations()));
}
BENCHMARK(BM_ValidateObserver_Rejected);

// --- CreateObserver's domain work -----------------------------------------------------------

// Registry::CreateObserver end to end on an in-memory store (MemoryStore: no SQLite, no fsync,
// no writer thread): name parsing, validation, the request fingerprint (only with a
// request_id: argument 1), the store checks (election, organisation, duplicate document),
// stamping, the change event with its personal data stripped, its serialization and audit
// chain link, and the idempotency record. The validation, fingerprint and event building are
// internal to registry.cc, so this is the nearest public function that runs them.
void BM_Registry_CreateObserver(benchmark::State& state) {
  const bool with_request_id = state.range(0) != 0;
  MemoryStore store(/*keep_records=*/false);
  registry::Registry registry(store, Countries(), registry::RegistryOptions{});
  LoadElectionAndOrganisations(registry);
  std::vector<rv1::CreateObserverRequest> pool = Inputs().observers;
  if (!with_request_id) {
    for (rv1::CreateObserverRequest& req : pool) req.clear_request_id();
  }
  registry::RequestContext ctx;
  ctx.actor = "cec-secretariat";
  size_t i = 0;
  int64_t failures = 0;
  absl::Status first_failure;
  for (auto _ : state) {
    registry.CreateObserver(ctx, pool[i],
                            [&](absl::StatusOr<rv1::CreateObserverResponse> response) {
                              if (!response.ok() && failures++ == 0) {
                                first_failure = response.status();
                              }
                              benchmark::DoNotOptimize(response);
                            });
    i = Next(i, pool.size());
  }
  if (failures > 0) {
    state.SkipWithError(absl::StrCat("CreateObserver failed: ", first_failure.ToString()).c_str());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Registry_CreateObserver)->ArgName("request_id")->Arg(0)->Arg(1);

// --- Change-event encoding ------------------------------------------------------------------

// The registry's own change events for the example data set (CREATED with the observer's
// image, UPDATED decisions with before and after images), serialized as the store writes them.
void BM_ChangeEvent_Serialize(benchmark::State& state) {
  const std::vector<rv1::ChangeEvent>& events = ExampleHistory().all;
  size_t i = 0;
  int64_t bytes = 0;
  for (auto _ : state) {
    std::string out = events[i].SerializeAsString();
    bytes += static_cast<int64_t>(out.size());
    benchmark::DoNotOptimize(out);
    i = Next(i, events.size());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(bytes);
}
BENCHMARK(BM_ChangeEvent_Serialize);

// The other end: a consumer (the stats subscriber, observerctl watch) parsing the same bytes.
void BM_ChangeEvent_Parse(benchmark::State& state) {
  const std::vector<std::string>& serialized = ExampleHistory().serialized;
  size_t i = 0;
  int64_t bytes = 0;
  rv1::ChangeEvent event;
  for (auto _ : state) {
    if (!event.ParseFromString(serialized[i])) {
      state.SkipWithError("a change event does not parse");
      break;
    }
    bytes += static_cast<int64_t>(serialized[i].size());
    benchmark::DoNotOptimize(event);
    i = Next(i, serialized.size());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(bytes);
}
BENCHMARK(BM_ChangeEvent_Parse);

// --- Audit chain ----------------------------------------------------------------------------

// ChainLink over the stored event bytes, each link chained to the previous one, as the store
// computes it for every change it appends: with the key held as an HmacSha256Key (its padded
// blocks hashed once), as SqliteStore keeps it.
// Chains the example history's events, round and round, with `key` (either overload).
template <typename Key>
void ChainLinks(benchmark::State& state, const Key& key) {
  const std::vector<std::string>& serialized = ExampleHistory().serialized;
  std::string chain = registry::GenesisChain();
  size_t i = 0;
  int64_t revision = 0;
  int64_t bytes = 0;
  for (auto _ : state) {
    chain = registry::ChainLink(key, chain, ++revision, serialized[i]);
    bytes += static_cast<int64_t>(serialized[i].size());
    benchmark::DoNotOptimize(chain);
    i = Next(i, serialized.size());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(bytes);
}

void BM_AuditChain_ChainLink(benchmark::State& state) {
  const HmacSha256Key key(BenchAuditKey());
  ChainLinks(state, key);
}
BENCHMARK(BM_AuditChain_ChainLink);

// The same with the key given as bytes (the overload that keys a new HMAC on every call).
void BM_AuditChain_ChainLink_KeyBytes(benchmark::State& state) {
  ChainLinks(state, absl::string_view(BenchAuditKey()));
}
BENCHMARK(BM_AuditChain_ChainLink_KeyBytes);

// For comparison with ChainLink: a plain SHA-256 of the same bytes (common/digest.h), the
// least any keyed hash of them can cost.
void BM_AuditChain_Sha256Baseline(benchmark::State& state) {
  const std::vector<std::string>& serialized = ExampleHistory().serialized;
  size_t i = 0;
  int64_t bytes = 0;
  for (auto _ : state) {
    std::string digest = Sha256(serialized[i]);
    bytes += static_cast<int64_t>(serialized[i].size());
    benchmark::DoNotOptimize(digest);
    i = Next(i, serialized.size());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(bytes);
}
BENCHMARK(BM_AuditChain_Sha256Baseline);

// HMAC-SHA256 and SHA-256 (common/digest.h) of `bytes` bytes: separates the fixed cost of a
// call from the cost per byte. A chain link is one MAC of 40 bytes plus the event.
void BM_Digest_HmacSha256Key(benchmark::State& state) {
  const std::string message(static_cast<size_t>(state.range(0)), 'e');
  const HmacSha256Key key(BenchAuditKey());
  for (auto _ : state) {
    std::string mac = key.Mac({message});
    benchmark::DoNotOptimize(mac);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Digest_HmacSha256Key)->ArgName("bytes")->Arg(64)->Arg(512)->Arg(4096);

// The one-shot HmacSha256(key, message).
void BM_Digest_HmacSha256(benchmark::State& state) {
  const std::string message(static_cast<size_t>(state.range(0)), 'e');
  const std::string& key = BenchAuditKey();
  for (auto _ : state) {
    std::string mac = HmacSha256(key, message);
    benchmark::DoNotOptimize(mac);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Digest_HmacSha256)->ArgName("bytes")->Arg(64)->Arg(512)->Arg(4096);

void BM_Digest_Sha256(benchmark::State& state) {
  const std::string message(static_cast<size_t>(state.range(0)), 'e');
  for (auto _ : state) {
    std::string digest = Sha256(message);
    benchmark::DoNotOptimize(digest);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Digest_Sha256)->ArgName("bytes")->Arg(64)->Arg(512)->Arg(4096);

// VerifyChangeLog's per-entry work (ChainVerifier::Add: parse the event, recompute and compare
// the link), over the example history chained with the bench key. Items are entries.
void BM_AuditChain_Verify(benchmark::State& state) {
  const History& history = ExampleHistory();
  const std::string& key = BenchAuditKey();
  std::vector<std::string> chains;
  std::string chain = registry::GenesisChain();
  for (size_t i = 0; i < history.serialized.size(); ++i) {
    chain = registry::ChainLink(key, chain, static_cast<int64_t>(i) + 1, history.serialized[i]);
    chains.push_back(chain);
  }
  const std::string key_id = registry::AuditKeyId(key);
  const int64_t head = static_cast<int64_t>(history.serialized.size());
  for (auto _ : state) {
    registry::ChainVerifier verifier(key, head, 1, registry::ChainVerifier::Anchor{});
    for (size_t i = 0; i < history.serialized.size(); ++i) {
      verifier.Add(static_cast<int64_t>(i) + 1, history.serialized[i], chains[i], key_id);
    }
    registry::ChangeLogVerification result = verifier.Finish();
    if (result.problem != registry::ChangeLogVerification::Problem::kNone) {
      state.SkipWithError(result.message.c_str());
      break;
    }
    benchmark::DoNotOptimize(result);
  }
  state.SetItemsProcessed(state.iterations() * head);
}
BENCHMARK(BM_AuditChain_Verify)->Unit(benchmark::kMicrosecond);

// --- Watch fan-out --------------------------------------------------------------------------

registry::WatchHubOptions QuietHub() {
  registry::WatchHubOptions options;
  options.progress_interval = absl::Hours(24);  // No progress wake-ups during a run.
  return options;
}

// WatchHub::Publish of commits of `events_per_commit` events into the shared window, in steady
// state: the window is full (64k events) before the timing starts, so each event published
// drops the oldest, as in a running registry. Includes the copy of each event that the store's
// AppendChange makes for the commit listener.
void BM_WatchHub_Publish(benchmark::State& state) {
  const int per_commit = static_cast<int>(state.range(0));
  const std::vector<rv1::ChangeEvent>& events = ExampleHistory().all;
  const registry::WatchHubOptions options = QuietHub();
  registry::WatchHub hub(0, options);
  size_t i = 0;
  int64_t revision = 0;
  for (int filled = 0; filled < options.cache_events; filled += 1024) {
    std::vector<rv1::ChangeEvent> commit;
    for (int k = 0; k < 1024; ++k) {
      commit.push_back(events[i]);
      commit.back().set_revision(++revision);
      i = Next(i, events.size());
    }
    hub.Publish(std::move(commit));
  }
  for (auto _ : state) {
    std::vector<rv1::ChangeEvent> commit;
    commit.reserve(static_cast<size_t>(per_commit));
    for (int k = 0; k < per_commit; ++k) {
      commit.push_back(events[i]);
      commit.back().set_revision(++revision);
      i = Next(i, events.size());
    }
    hub.Publish(std::move(commit));
  }
  benchmark::DoNotOptimize(hub.head());
  state.SetItemsProcessed(state.iterations() * per_commit);
}
BENCHMARK(BM_WatchHub_Publish)->ArgName("events_per_commit")->Arg(1)->Arg(64);

// Records what a WatchSession sends; the benchmark completes each send by hand.
class CapturingSink final : public registry::WatchSink {
 public:
  void Send(const rv1::WatchResponse* response) override { pending = response; }
  void Finish(const absl::Status& status) override { finished = status; }
  const rv1::WatchResponse* pending = nullptr;
  absl::Status finished;
};

// A watcher catching up over the whole example history from the hub's window: WatchSession
// polls the window, copies the events into its WatchResponse, and the response is serialized
// as the transport would (gRPC serializes the message into its buffer). Responses carry at
// most `max_events` events (1: a watcher that is caught up gets one commit per response; 1000:
// the default limit, a watcher catching up). Items are events delivered.
void BM_WatchSession_CatchUp(benchmark::State& state) {
  const History& history = ExampleHistory();
  registry::WatchHub hub(0, QuietHub());
  hub.Publish(std::vector<rv1::ChangeEvent>(history.all.begin(), history.all.end()));
  MemoryStore store(/*keep_records=*/false);
  store.set_head(history.head);
  registry::WatchLimits limits;
  limits.max_events_per_response = static_cast<int>(state.range(0));
  rv1::WatchRequest request;
  request.set_start_revision(history.all.front().revision());

  CapturingSink sink;
  std::string wire;
  int64_t events = 0;
  int64_t bytes = 0;
  int64_t responses = 0;
  for (auto _ : state) {
    auto session = std::make_shared<registry::WatchSession>(store, hub, &sink, limits);
    session->Start(request);
    while (sink.pending != nullptr) {
      const rv1::WatchResponse* response = sink.pending;
      sink.pending = nullptr;
      response->SerializeToString(&wire);
      benchmark::DoNotOptimize(wire);
      events += response->events_size();
      bytes += static_cast<int64_t>(wire.size());
      ++responses;
      session->OnSent(true);
    }
    session->Cancel();
  }
  if (events != state.iterations() * static_cast<int64_t>(history.all.size())) {
    state.SkipWithError("the watcher did not receive the whole history");
  }
  state.SetItemsProcessed(events);
  state.SetBytesProcessed(bytes);
  state.counters["events/response"] =
      static_cast<double>(events) / static_cast<double>(std::max<int64_t>(1, responses));
}
BENCHMARK(BM_WatchSession_CatchUp)
    ->ArgName("max_events")
    ->Arg(1)
    ->Arg(1000)
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace observer::bench
