// Concurrent writers for the reliability tests: each thread creates observers and moves them
// through their lifecycle (accredit, suspend, reinstate, update tags), every call with a
// request id, recorded in a History. A call whose outcome is unknown (the server crashed, the
// connection broke) is retried with the same request id until it is acked or definitely
// failed, as a careful client would; each attempt is its own Operation.
//
//   History history;
//   const std::string address = registry.address();  // Restarts use StartOnPort(port).
//   Workload::Options options;
//   options.election = e;
//   Workload load(history, [address] { return address; }, options);
//   load.Start();
//   ... kill -9, restart on the same port ...
//   load.Stop();   // Joins; every call started is completed (retried to a definite outcome
//                  // while the server is up, else recorded as unknown).
#ifndef OBSERVER_TESTS_HARNESS_WORKLOAD_H_
#define OBSERVER_TESTS_HARNESS_WORKLOAD_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/time.h"
#include "tests/harness/history.h"

namespace observer::testing {

class Workload {
 public:
  struct Options {
    int threads = 4;
    std::string election;      // Resource name of an open election ("elections/e1").
    std::string organisation;  // Optional: half the creates are sent by it.
    absl::Duration call_timeout = absl::Seconds(5);
    absl::Duration retry_backoff = absl::Milliseconds(50);
    uint64_t seed = 1;           // The mix of calls each thread makes (thread i: seed + i).
    int max_ops_per_thread = 0;  // 0: until Stop.
    // Share of calls that are creates (the rest are lifecycle changes and updates of the
    // thread's own observers).
    double create_share = 0.5;
    // Request ids are "<prefix><thread>-<n>"; another prefix for every Workload of one store
    // (request ids are store-wide).
    std::string request_id_prefix = "w";
  };
  // `address` gives the registry's current address at each (re)connect. It is called from the
  // workload's threads: not ServiceProcess::address() itself, which a restart rewrites on the
  // test's thread (a data race), but a copy, or a value guarded by a mutex.
  Workload(History& history, std::function<std::string()> address, Options options);
  ~Workload();  // Stops.
  Workload(const Workload&) = delete;
  Workload& operator=(const Workload&) = delete;

  void Start();
  // Stops issuing new calls; a call in progress gets until `drain` to reach a definite outcome
  // (retried while the server answers), then is recorded as unknown. Joins the threads.
  void Stop(absl::Duration drain = absl::Seconds(10));

  int64_t acked() const { return acked_.load(); }
  // Waits until at least `n` calls were acked since Start; false on timeout.
  bool WaitForAcks(int64_t n, absl::Duration timeout) const;

 private:
  void Run(int thread_index);

  History& history_;
  const std::function<std::string()> address_;
  const Options options_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> acked_{0};
  absl::Time drain_until_;
  std::vector<std::thread> threads_;
};

}  // namespace observer::testing

#endif  // OBSERVER_TESTS_HARNESS_WORKLOAD_H_
