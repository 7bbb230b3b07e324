// observer-populate: fills a registry with a large synthetic register for benchmarks, through
// BatchCreateObservers: observers sent by a dozen organisations and some sixty states, with
// citizenships, genders and categories spread realistically (a few organisations and states
// send most observers). The records are SUBMITTED (a decision per record would dominate the
// run time); benchmarks count them with a status filter. Deterministic for a given --seed, and
// idempotent: each batch carries a request_id derived from the election, seed and batch index,
// so a re-run after a crash creates nothing twice.
//
//   observer-populate --registry 127.0.0.1:50051 --election bench-1m --observers 1000000
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/config.h"
#include "observer/registry/v1/registry_service.grpc.pb.h"
#include "tools/loadgen/setup.h"

ABSL_FLAG(std::string, registry, "127.0.0.1:50051", "Registry address");
ABSL_FLAG(std::string, election, "bench-stats", "Election id (created if missing)");
ABSL_FLAG(int64_t, observers, 10000, "How many observers to create");
ABSL_FLAG(int32_t, batch, 1000, "Observers per BatchCreateObservers call (at most 1000)");
ABSL_FLAG(int32_t, in_flight, 4, "Batch calls in flight at once");
ABSL_FLAG(uint32_t, seed, 1, "Seed of the synthetic data");

namespace {

namespace v1 = observer::registry::v1;
using observer::loadgen::LatinName;

constexpr int kOrganisations = 12;
// Sending states and citizenships (KZ, the host, is never one).
constexpr const char* kCountries[] = {
    "RU", "KG", "UZ", "TJ", "TM", "AZ", "AM", "BY", "MD", "UA", "GE", "TR", "MN", "CN", "IN",
    "PK", "IR", "AF", "DE", "FR", "GB", "IT", "ES", "PL", "CZ", "SK", "HU", "RO", "BG", "RS",
    "HR", "SI", "AT", "CH", "BE", "NL", "LU", "DK", "SE", "NO", "FI", "EE", "LV", "LT", "IE",
    "PT", "GR", "CY", "US", "CA", "MX", "BR", "AR", "JP", "KR", "ID", "MY", "PH", "EG", "JO"};
constexpr int kCountryCount = sizeof(kCountries) / sizeof(kCountries[0]);

std::string OrganisationCode(int i) {
  return absl::StrCat("BENCH-ORG-", std::string(1, static_cast<char>('A' + i)));
}

// Observer number n of the register: a function of (seed, n) only.
v1::Observer Synthesize(uint32_t seed, int64_t n) {
  std::mt19937_64 random(seed * 0x9E3779B97F4A7C15ULL + static_cast<uint64_t>(n));
  // Skewed choices: the square of a uniform draw favours the first entries.
  auto skewed = [&random](int size) {
    const double u = std::uniform_real_distribution<double>(0, 1)(random);
    return std::min(size - 1, static_cast<int>(u * u * size));
  };
  v1::Observer o;
  o.set_given_names(LatinName(n));
  o.set_family_name(LatinName(n / 7));
  o.set_latin_given_names(LatinName(n));
  o.set_latin_family_name(LatinName(n / 7));
  const std::string state = kCountries[skewed(kCountryCount)];
  if (random() % 4 != 0) {
    o.mutable_sending_body()->set_organisation(
        absl::StrCat("organisations/", OrganisationCode(skewed(kOrganisations))));
    o.set_citizenship(kCountries[skewed(kCountryCount)]);
  } else {
    o.mutable_sending_body()->set_state(state);
    o.set_citizenship(state);
  }
  o.set_gender(random() % 2 == 0 ? v1::GENDER_FEMALE : v1::GENDER_MALE);
  o.set_category(static_cast<v1::ObserverCategory>(1 + random() % 6));
  o.mutable_id_document()->set_type(v1::ID_DOCUMENT_TYPE_PASSPORT);
  o.mutable_id_document()->set_number(absl::StrCat("S", seed, "N", n));
  o.mutable_id_document()->set_issuing_country(o.citizenship());
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  observer::ParseFlagsWithEnv(argc, argv, "POPULATE",
                              "observer-populate: a large synthetic register for benchmarks");
  const int64_t total = absl::GetFlag(FLAGS_observers);
  const int batch = absl::GetFlag(FLAGS_batch);
  if (total < 0 || batch < 1 || batch > 1000 || absl::GetFlag(FLAGS_in_flight) < 1) {
    observer::ExitWithUsageError(
        "--observers must not be negative, --batch must be 1..1000, --in-flight positive");
  }
  auto stub = v1::RegistryService::NewStub(
      grpc::CreateChannel(absl::GetFlag(FLAGS_registry), grpc::InsecureChannelCredentials()));
  const std::string election = absl::GetFlag(FLAGS_election);
  absl::Status status = observer::loadgen::EnsureElection(*stub, election);
  for (int i = 0; status.ok() && i < kOrganisations; ++i) {
    status = observer::loadgen::EnsureOrganisation(*stub, OrganisationCode(i),
                                                   absl::StrCat("Benchmark organisation ", i + 1));
  }
  if (!status.ok()) {
    std::fprintf(stderr, "%s\n", std::string(status.message()).c_str());
    return 1;
  }

  const uint32_t seed = absl::GetFlag(FLAGS_seed);
  const int64_t batches = (total + batch - 1) / batch;
  std::atomic<int64_t> next_batch{0};
  std::atomic<int64_t> rows_created{0};
  std::atomic<int64_t> rows_failed{0};
  std::atomic<bool> call_failed{false};
  std::mutex report_mu;
  const absl::Time start = absl::Now();
  absl::Time last_report = start;
  // Each worker sends one batch at a time (synchronous calls): --in-flight batches in all.
  auto worker = [&] {
    while (!call_failed.load()) {
      const int64_t b = next_batch.fetch_add(1);
      if (b >= batches) return;
      v1::BatchCreateObserversRequest request;
      request.set_parent(absl::StrCat("elections/", election));
      request.set_request_id(absl::StrCat("populate/", election, "/", seed, "/", b));
      for (int64_t n = b * batch; n < std::min(total, (b + 1) * batch); ++n) {
        *request.add_requests()->mutable_observer() = Synthesize(seed, n);
      }
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
      v1::BatchCreateObserversResponse response;
      const grpc::Status call = stub->BatchCreateObservers(&context, request, &response);
      if (!call.ok()) {
        std::fprintf(stderr, "batch %lld failed: %s\n", static_cast<long long>(b),
                     call.error_message().c_str());
        call_failed = true;
        return;
      }
      for (const auto& row : response.results()) {
        if (row.status().code() == 0) {
          ++rows_created;
        } else if (rows_failed++ == 0) {
          std::fprintf(stderr, "first failed row: %s\n", row.status().message().c_str());
        }
      }
      std::lock_guard<std::mutex> lock(report_mu);
      if (absl::Now() - last_report >= absl::Seconds(5)) {
        last_report = absl::Now();
        std::fprintf(stderr, "%lld of %lld observers created, %.0f/s\n",
                     static_cast<long long>(rows_created.load()), static_cast<long long>(total),
                     rows_created.load() / absl::ToDoubleSeconds(last_report - start));
      }
    }
  };
  std::vector<std::thread> workers;
  for (int i = 0; i < absl::GetFlag(FLAGS_in_flight); ++i) workers.emplace_back(worker);
  for (auto& t : workers) t.join();
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  std::printf(
      "{\"scenario\":\"populate\",\"election\":\"%s\",\"observers\":%lld,"
      "\"failed_rows\":%lld,\"seconds\":%.1f,\"per_second\":%.0f}\n",
      election.c_str(), static_cast<long long>(rows_created.load()),
      static_cast<long long>(rows_failed.load()), seconds,
      rows_created.load() / std::max(seconds, 1e-9));
  return call_failed.load() || rows_failed.load() > 0 ? 1 : 0;
}
