#include "common/metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <exception>
#include <fstream>
#include <mutex>
#include <sstream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/version.h"
#include "prometheus/exposer.h"
#include "prometheus/gauge.h"
#include "prometheus/metric_family.h"

namespace observer {
namespace {

prometheus::MetricFamily OneGauge(std::string name, std::string help, double value,
                                  prometheus::MetricType type = prometheus::MetricType::Gauge) {
  prometheus::MetricFamily family{std::move(name), std::move(help), type, {}};
  prometheus::ClientMetric m;
  if (type == prometheus::MetricType::Counter) {
    m.counter.value = value;
  } else {
    m.gauge.value = value;
  }
  family.metric.push_back(std::move(m));
  return family;
}

// The process_* metrics every Prometheus client library exports, read from /proc at scrape.
class ProcessCollector : public prometheus::Collectable {
 public:
  std::vector<prometheus::MetricFamily> Collect() const override {
    std::vector<prometheus::MetricFamily> out;
    const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
    const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
    std::ifstream statm("/proc/self/statm");
    double virtual_pages = 0, resident_pages = 0;
    if (statm >> virtual_pages >> resident_pages) {
      out.push_back(OneGauge("process_resident_memory_bytes", "Resident memory size in bytes.",
                             resident_pages * page));
      out.push_back(OneGauge("process_virtual_memory_bytes", "Virtual memory size in bytes.",
                             virtual_pages * page));
    }
    // /proc/self/stat: fields after the command name (which is in parentheses).
    std::ifstream stat_file("/proc/self/stat");
    std::stringstream text;
    text << stat_file.rdbuf();
    const std::string stat = text.str();
    const auto close = stat.rfind(')');
    if (close != std::string::npos && close + 2 < stat.size()) {
      const std::vector<std::string> f = absl::StrSplit(stat.substr(close + 2), ' ');
      // f[0] is field 3 (state); utime is field 14, stime 15, starttime 22.
      if (f.size() > 19) {
        const double cpu = (std::stod(f[11]) + std::stod(f[12])) / ticks;
        out.push_back(OneGauge("process_cpu_seconds_total",
                               "Total user and system CPU time spent in seconds.", cpu,
                               prometheus::MetricType::Counter));
        out.push_back(OneGauge("process_start_time_seconds",
                               "Start time of the process since unix epoch in seconds.",
                               BootTime() + std::stod(f[19]) / ticks));
      }
    }
    int fds = 0;
    if (DIR* dir = opendir("/proc/self/fd")) {
      while (readdir(dir) != nullptr) ++fds;
      closedir(dir);
      fds -= 3;  // ".", ".." and the directory's own descriptor.
    }
    out.push_back(OneGauge("process_open_fds", "Number of open file descriptors.", fds));
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
      out.push_back(OneGauge("process_max_fds", "Maximum number of open file descriptors.",
                             static_cast<double>(limit.rlim_cur)));
    }
    return out;
  }

 private:
  static double BootTime() {
    std::ifstream in("/proc/stat");
    std::string key;
    double value = 0;
    while (in >> key) {
      if (key == "btime" && in >> value) return value;
      in.ignore(1 << 20, '\n');
    }
    return 0;
  }
};

}  // namespace

// Metrics whose values are read at scrape time from the code they describe.
class CallbackCollector : public prometheus::Collectable {
 public:
  void Add(std::string name, std::string help, std::function<double()> value, bool counter) {
    std::lock_guard<std::mutex> lock(mu_);
    entries_.push_back({std::move(name), std::move(help), std::move(value), nullptr, counter});
  }
  void AddFamily(std::string name, std::string help,
                 std::function<std::vector<Metrics::Sample>()> samples) {
    std::lock_guard<std::mutex> lock(mu_);
    entries_.push_back({std::move(name), std::move(help), nullptr, std::move(samples), false});
  }
  std::vector<prometheus::MetricFamily> Collect() const override {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<prometheus::MetricFamily> out;
    for (const Entry& e : entries_) {
      if (e.value) {
        out.push_back(
            OneGauge(e.name, e.help, e.value(),
                     e.counter ? prometheus::MetricType::Counter : prometheus::MetricType::Gauge));
        continue;
      }
      prometheus::MetricFamily family{e.name, e.help, prometheus::MetricType::Gauge, {}};
      for (Metrics::Sample& sample : e.samples()) {
        prometheus::ClientMetric m;
        for (auto& [label, value] : sample.labels) {
          m.label.push_back({std::move(label), std::move(value)});
        }
        m.gauge.value = sample.value;
        family.metric.push_back(std::move(m));
      }
      out.push_back(std::move(family));
    }
    return out;
  }

 private:
  struct Entry {
    std::string name;
    std::string help;
    std::function<double()> value;                          // A single value, or
    std::function<std::vector<Metrics::Sample>()> samples;  // a labelled family.
    bool counter;
  };
  mutable std::mutex mu_;
  std::vector<Entry> entries_;
};

Metrics::Metrics(absl::string_view service)
    : registry_(std::make_shared<prometheus::Registry>()),
      process_(std::make_shared<ProcessCollector>()),
      callbacks_(std::make_shared<CallbackCollector>()) {
  prometheus::BuildGauge()
      .Name(absl::StrCat(service, "_build_info"))
      .Help("The version and source revision of the running binary; always 1.")
      .Register(*registry_)
      .Add({{"version", std::string(BuildVersion())}, {"revision", std::string(BuildRevision())}})
      .Set(1);
}

Metrics::~Metrics() = default;

void Metrics::AddCallback(const std::string& name, const std::string& help,
                          std::function<double()> value, bool counter) {
  callbacks_->Add(name, help, std::move(value), counter);
}

void Metrics::AddGaugeFamilyCallback(const std::string& name, const std::string& help,
                                     std::function<std::vector<Sample>()> samples) {
  callbacks_->AddFamily(name, help, std::move(samples));
}

void Metrics::StopServing() { exposer_.reset(); }

absl::StatusOr<std::string> Metrics::Serve(const std::string& address) {
  try {
    exposer_ = std::make_unique<prometheus::Exposer>(address, 2);
  } catch (const std::exception& e) {
    return absl::UnavailableError(
        absl::StrCat("cannot serve metrics on ", address, ": ", e.what()));
  }
  exposer_->RegisterCollectable(registry_);
  exposer_->RegisterCollectable(process_);
  exposer_->RegisterCollectable(callbacks_);
  const std::vector<int> ports = exposer_->GetListeningPorts();
  const std::string host = address.substr(0, address.rfind(':'));
  return absl::StrCat(host, ":", ports.empty() ? 0 : ports.front());
}

}  // namespace observer
