#include "tests/harness/http_get.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <sstream>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"

namespace observer::testing {
namespace {

// One sample line: name, labels, value.
struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

std::optional<Sample> ParseSample(const std::string& line) {
  if (line.empty() || line[0] == '#') return std::nullopt;
  Sample s;
  std::size_t i = line.find_first_of("{ ");
  if (i == std::string::npos) return std::nullopt;
  s.name = line.substr(0, i);
  if (line[i] == '{') {
    const std::size_t end = line.find('}', i);
    if (end == std::string::npos) return std::nullopt;
    // Label values here never hold '"' or ',' (our metrics have none).
    for (absl::string_view pair : absl::StrSplit(line.substr(i + 1, end - i - 1), ',')) {
      const auto eq = pair.find('=');
      if (eq == absl::string_view::npos) continue;
      absl::string_view value = pair.substr(eq + 1);
      if (value.size() >= 2) value = value.substr(1, value.size() - 2);
      s.labels[std::string(pair.substr(0, eq))] = std::string(value);
    }
    i = end + 1;
  }
  const std::string value(absl::StripLeadingAsciiWhitespace(line.substr(i)));
  if (!absl::SimpleAtod(value.substr(0, value.find(' ')), &s.value)) return std::nullopt;
  return s;
}

std::vector<Sample> Matching(const std::string& text, const std::string& name,
                             const std::map<std::string, std::string>& labels) {
  std::vector<Sample> out;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    std::optional<Sample> s = ParseSample(std::string(line));
    if (!s || s->name != name) continue;
    bool all = true;
    for (const auto& [k, v] : labels) {
      auto it = s->labels.find(k);
      if (it == s->labels.end() || it->second != v) all = false;
    }
    if (all) out.push_back(*std::move(s));
  }
  return out;
}

}  // namespace

absl::StatusOr<std::string> HttpGet(const std::string& address, const std::string& path,
                                    absl::Duration timeout) {
  const auto colon = address.rfind(':');
  if (colon == std::string::npos) return absl::InvalidArgumentError("address without a port");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(std::atoi(address.c_str() + colon + 1)));
  if (inet_pton(AF_INET, address.substr(0, colon).c_str(), &addr.sin_addr) != 1) {
    return absl::InvalidArgumentError(absl::StrCat("not an IPv4 address: ", address));
  }
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError("socket failed");
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return absl::UnavailableError(absl::StrCat("cannot connect to ", address));
  }
  const std::string request =
      absl::StrCat("GET ", path, " HTTP/1.0\r\nHost: ", address, "\r\nConnection: close\r\n\r\n");
  if (write(fd, request.data(), request.size()) != static_cast<ssize_t>(request.size())) {
    close(fd);
    return absl::UnavailableError("write failed");
  }
  std::string response;
  const absl::Time deadline = absl::Now() + timeout;
  char buf[65536];
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    const int wait_ms = static_cast<int>(absl::ToInt64Milliseconds(deadline - absl::Now()));
    if (wait_ms <= 0 || poll(&p, 1, wait_ms) <= 0) {
      close(fd);
      return absl::DeadlineExceededError(absl::StrCat("no answer from ", address, path));
    }
    const ssize_t n = read(fd, buf, sizeof(buf));
    if (n <= 0) break;
    response.append(buf, static_cast<std::size_t>(n));
  }
  close(fd);
  const auto body = response.find("\r\n\r\n");
  if (body == std::string::npos) return absl::DataLossError("no HTTP header end");
  const std::string status_line = response.substr(0, response.find("\r\n"));
  if (!absl::StrContains(status_line, " 200")) {
    return absl::UnavailableError(absl::StrCat(address, path, ": ", status_line));
  }
  return response.substr(body + 4);
}

std::optional<double> SampleValue(const std::string& text, const std::string& name,
                                  const std::map<std::string, std::string>& labels) {
  std::vector<Sample> found = Matching(text, name, labels);
  if (found.empty()) return std::nullopt;
  return found.front().value;
}

int SampleCount(const std::string& text, const std::string& name,
                const std::map<std::string, std::string>& labels) {
  return static_cast<int>(Matching(text, name, labels).size());
}

}  // namespace observer::testing
