// Prometheus metrics of a service process: a registry for the service's own metrics, the
// standard process metrics (resident memory, CPU seconds, open file descriptors, start time),
// `<service>_build_info`, and an HTTP endpoint serving them at /metrics (prometheus-cpp).
// No gRPC here.
#ifndef OBSERVER_COMMON_METRICS_H_
#define OBSERVER_COMMON_METRICS_H_

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "prometheus/registry.h"

namespace prometheus {
class Exposer;
}

namespace observer {

class Metrics {
 public:
  // `service` prefixes the build-info metric: "registry" → registry_build_info.
  explicit Metrics(absl::string_view service);
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // Where service code registers its families.
  prometheus::Registry& registry() { return *registry_; }
  std::shared_ptr<prometheus::Registry> shared_registry() { return registry_; }

  // A metric without labels whose value is read at each scrape (a revision, a queue length, a
  // counter kept by the code it describes). `counter`: exposed as a counter (monotonic).
  void AddCallback(const std::string& name, const std::string& help, std::function<double()> value,
                   bool counter = false);

  // One labelled value of a gauge family read at scrape time.
  struct Sample {
    std::vector<std::pair<std::string, std::string>> labels;
    double value = 0;
  };
  // A gauge family whose series are read at each scrape (e.g. observers per election and
  // status). The callback decides the series, so it must keep their number bounded.
  void AddGaugeFamilyCallback(const std::string& name, const std::string& help,
                              std::function<std::vector<Sample>()> samples);

  // Serves /metrics on `address` ("host:port"; port 0 picks a free port). Returns the bound
  // address, or UNAVAILABLE if it cannot be bound.
  absl::StatusOr<std::string> Serve(const std::string& address);
  // Stops serving /metrics (before the objects that scrape-time callbacks read go away).
  void StopServing();

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  std::shared_ptr<prometheus::Collectable> process_;
  std::shared_ptr<class CallbackCollector> callbacks_;
  std::unique_ptr<prometheus::Exposer> exposer_;
};

}  // namespace observer

#endif  // OBSERVER_COMMON_METRICS_H_
