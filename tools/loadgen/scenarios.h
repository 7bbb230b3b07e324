// The benchmark scenarios: what one call is, for each RPC the suite measures. Every call's
// payload is unique (real names, unique identity document numbers), so caches and
// idempotency records cannot make a run look faster than real traffic.
#ifndef OBSERVER_TOOLS_LOADGEN_SCENARIOS_H_
#define OBSERVER_TOOLS_LOADGEN_SCENARIOS_H_

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "observer/registry/v1/resources.pb.h"
#include "tools/loadgen/loadgen.h"

namespace observer::loadgen {

using Channels = std::vector<std::shared_ptr<grpc::Channel>>;

// A realistic, unique observer for call number `n` of a run: a real given and family name
// of its citizenship (Latin script), a unique passport number, an organisation or sending
// state from the reference mix. The same `n` and `salt` give the same observer.
registry::v1::Observer MakeObserver(int64_t n, uint64_t salt);

// The serialized size of a typical CreateObserverRequest from MakeObserver: the payload size
// the echo and etcd baselines send.
int TypicalCreateRequestBytes();

// echo.v1 EchoService/Echo with a unique payload of `payload_bytes` per call.
std::unique_ptr<Scenario> MakeEchoScenario(Channels channels, int payload_bytes);

// Durable CreateObserver in `election` (created by Prepare), one unique observer per call,
// each with its own request_id.
std::unique_ptr<Scenario> MakeCreateScenario(Channels registry, std::string election);

// GetObserver of `records` observers created by Prepare in `election`, in a scrambled order.
std::unique_ptr<Scenario> MakeGetScenario(Channels registry, std::string election, int records);

// GetBreakdown by `dimension` (a stats Dimension without its prefix, lower case:
// "organisation", "sending_state", "citizenship", "region", ...) of `election`, with the
// status filter `status` ("" for none, else e.g. "SUBMITTED").
// "country" in the wording is the sending state.
std::unique_ptr<Scenario> MakeBreakdownScenario(Channels stats, std::string election,
                                                std::string dimension, std::string status);

// Write → visible in stats: each call is a durable CreateObserver; when the registry answers
// with revision R, a GetSummary with min_revision R goes to stats, and the call is done when
// stats answers. Extra() reports the lag from the registry's answer to stats' answer:
// "visible_p50_ms", "visible_p90_ms", "visible_p99_ms", "visible_max_ms".
std::unique_ptr<Scenario> MakeVisibilityScenario(Channels registry, Channels stats,
                                                 std::string election);

// A mix: each call is one of `parts`, chosen by weight (deterministic by sequence).
std::unique_ptr<Scenario> MakeMixScenario(
    std::string name, std::vector<std::pair<double, std::unique_ptr<Scenario>>> parts);

// etcd v3 KV/Put of a unique key with a `payload_bytes` value (tools/loadgen/etcd).
std::unique_ptr<Scenario> MakeEtcdPutScenario(Channels etcd, int payload_bytes);

}  // namespace observer::loadgen

#endif  // OBSERVER_TOOLS_LOADGEN_SCENARIOS_H_
