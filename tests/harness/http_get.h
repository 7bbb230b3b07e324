// A minimal HTTP/1.0 GET over loopback TCP, for scraping a service's /metrics in tests, and a
// reader of the Prometheus text format.
#ifndef OBSERVER_TESTS_HARNESS_HTTP_GET_H_
#define OBSERVER_TESTS_HARNESS_HTTP_GET_H_

#include <map>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace observer::testing {

// The body of GET http://`address``path` ("127.0.0.1:port", "/metrics"); an error for a
// connection failure, a status other than 200, or no answer within `timeout`.
absl::StatusOr<std::string> HttpGet(const std::string& address, const std::string& path,
                                    absl::Duration timeout = absl::Seconds(10));

// The value of the sample `name` whose labels include every pair of `labels`, from Prometheus
// text exposition `text`; nullopt if there is none. Several matches: the first.
std::optional<double> SampleValue(const std::string& text, const std::string& name,
                                  const std::map<std::string, std::string>& labels = {});

// How many samples named `name` carry every pair of `labels`.
int SampleCount(const std::string& text, const std::string& name,
                const std::map<std::string, std::string>& labels = {});

}  // namespace observer::testing

#endif  // OBSERVER_TESTS_HARNESS_HTTP_GET_H_
