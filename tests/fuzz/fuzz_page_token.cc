// Page tokens: DecodePageToken on any text, EncodePageToken/DecodePageToken round trips, and
// ListElections, ListOrganisations and ListObservers of the real Registry over the seeded store
// (seeded_registry.h) with fuzzed tokens, page sizes and filters, following next_page_token to
// the end.
//
// Input (FuzzedDataProvider): a byte picking the list; the page size; for ListObservers the
// parent and the filter; then the first page token, either fuzzed text or a real token made of
// fuzzed parts (fingerprint and key); the rest is a fingerprint and key for the round trip.
//
// Besides "no crash, no sanitizer report", every run checks:
// - DecodePageToken(EncodePageToken(f, k), f) == k, and a token of one query is refused by any
//   other whose fingerprint has no '|' (fingerprints are words or hex);
// - a list refuses a bad page token or page size with INVALID_ARGUMENT naming the field;
// - paging from the start with any page size returns every record of the one-page answer, once,
//   in name order, in pages no larger than the page size, and ends.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "google/protobuf/stubs/logging.h"
#include "registry-service/src/domain/list_query.h"
#include "tests/fuzz/seeded_registry.h"

namespace observer::fuzz {
namespace {

using registry::DecodePageToken;
using registry::EncodePageToken;

constexpr int kMaxPages = 200;

void CheckRoundTrip(const std::string& fingerprint, const std::string& key,
                    const std::string& other) {
  const std::string token = EncodePageToken(fingerprint, key);
  absl::StatusOr<std::string> decoded = DecodePageToken(token, fingerprint);
  FUZZ_CHECK(decoded.ok(), decoded.status().ToString());
  FUZZ_CHECK(*decoded == key, absl::StrCat("decoded '", absl::CEscape(*decoded), "', encoded '",
                                           absl::CEscape(key), "'"));
  if (other != fingerprint && !absl::StrContains(other, '|') &&
      !absl::StrContains(fingerprint, '|')) {
    FUZZ_CHECK(!DecodePageToken(token, other).ok(),
               absl::StrCat("a token of query '", absl::CEscape(fingerprint),
                            "' is accepted by query '", absl::CEscape(other), "'"));
  }
}

void CheckListError(const absl::Status& status) {
  Note(status.ToString());
  if (status.ok()) return;
  const ErrorDetails details = GetErrorDetails(status);
  if (status.code() == absl::StatusCode::kNotFound) return;  // A parent that does not exist.
  FUZZ_CHECK(status.code() == absl::StatusCode::kInvalidArgument,
             absl::StrCat("unexpected error: ", status.ToString()));
  FUZZ_CHECK(!details.violations.empty(),
             absl::StrCat("INVALID_ARGUMENT without a field violation: ", status.ToString()));
}

// Lists every page from the start with `page_size` and compares with one large page.
template <typename Request, typename Response, typename List, typename Items>
void CheckPaging(Request request, int page_size, List list, Items items) {
  request.clear_page_token();
  request.set_page_size(registry::kMaxPageSize);
  const absl::StatusOr<Response> all = list(request);
  if (!all.ok()) return;
  FUZZ_CHECK(all->next_page_token().empty(), "the seeded store fits one page");
  const std::vector<std::string> expected = items(*all);

  request.set_page_size(page_size);
  const int effective = page_size == 0 ? registry::kDefaultPageSize : page_size;
  std::vector<std::string> seen;
  for (int page = 0;; ++page) {
    FUZZ_CHECK(page < kMaxPages, "paging does not end");
    const absl::StatusOr<Response> answer = list(request);
    FUZZ_CHECK(answer.ok(), absl::StrCat("page ", page, ": ", answer.status().ToString()));
    const std::vector<std::string> names = items(*answer);
    FUZZ_CHECK(static_cast<int>(names.size()) <= effective, "a page larger than its page size");
    FUZZ_CHECK(!names.empty() || answer->next_page_token().empty(),
               "an empty page with a next page token");
    for (const std::string& name : names) {
      FUZZ_CHECK(seen.empty() || seen.back() < name, absl::StrCat("out of order: ", name));
      seen.push_back(name);
    }
    if (answer->next_page_token().empty()) break;
    request.set_page_token(answer->next_page_token());
  }
  FUZZ_CHECK(seen == expected,
             absl::StrCat("paging saw ", seen.size(), " records, one page ", expected.size()));
}

template <typename Response, typename Get>
std::vector<std::string> Names(const Response& response, Get get) {
  std::vector<std::string> names;
  for (const auto& record : get(response)) names.push_back(record.name());
  return names;
}

void Run(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  registry::Registry& registry = SeededRegistry::Get().registry();
  const int list = in.ConsumeIntegralInRange<int>(0, 2);
  const int page_size =
      in.ConsumeBool() ? in.ConsumeIntegralInRange<int>(-1, 12) : in.ConsumeIntegral<int32_t>();
  std::string parent;
  std::string filter;
  if (list == 2) {
    parent = in.ConsumeBool() ? std::string(Seed::kElection) : in.ConsumeRandomLengthString(40);
    filter = in.ConsumeRandomLengthString(80);
  }
  std::string token;
  if (in.ConsumeBool()) {
    token = in.ConsumeRandomLengthString(120);
  } else {
    const std::string fingerprint = in.ConsumeRandomLengthString(40);
    token = EncodePageToken(fingerprint, in.ConsumeRandomLengthString(40));
  }
  const std::string fingerprint = in.ConsumeRandomLengthString(40);
  const std::string other = in.ConsumeRandomLengthString(40);
  CheckRoundTrip(fingerprint, in.ConsumeRemainingBytesAsString(), other);
  (void)DecodePageToken(token, fingerprint);

  switch (list) {
    case 0: {
      v1::ListElectionsRequest req;
      req.set_page_size(page_size);
      req.set_page_token(token);
      if (!TransportDelivers(req)) return;
      auto answer = registry.ListElections(req);
      CheckListError(answer.status());
      if (page_size >= 0 && page_size <= 12) {
        CheckPaging<v1::ListElectionsRequest, v1::ListElectionsResponse>(
            req, page_size, [&](const auto& r) { return registry.ListElections(r); },
            [](const v1::ListElectionsResponse& r) {
              return Names(r, [](const auto& x) { return x.elections(); });
            });
      }
      return;
    }
    case 1: {
      v1::ListOrganisationsRequest req;
      req.set_page_size(page_size);
      req.set_page_token(token);
      if (!TransportDelivers(req)) return;
      auto answer = registry.ListOrganisations(req);
      CheckListError(answer.status());
      if (page_size >= 0 && page_size <= 12) {
        CheckPaging<v1::ListOrganisationsRequest, v1::ListOrganisationsResponse>(
            req, page_size, [&](const auto& r) { return registry.ListOrganisations(r); },
            [](const v1::ListOrganisationsResponse& r) {
              return Names(r, [](const auto& x) { return x.organisations(); });
            });
      }
      return;
    }
    default: {
      v1::ListObserversRequest req;
      req.set_parent(parent);
      req.set_filter(filter);
      req.set_page_size(page_size);
      req.set_page_token(token);
      if (!TransportDelivers(req)) return;
      auto answer = registry.ListObservers({}, req);
      CheckListError(answer.status());
      if (page_size >= 0 && page_size <= 12) {
        CheckPaging<v1::ListObserversRequest, v1::ListObserversResponse>(
            req, page_size, [&](const auto& r) { return registry.ListObservers({}, r); },
            [](const v1::ListObserversResponse& r) {
              return Names(r, [](const auto& x) { return x.observers(); });
            });
      }
      return;
    }
  }
}

}  // namespace
}  // namespace observer::fuzz

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  google::protobuf::SetLogHandler(nullptr);
  observer::fuzz::SeededRegistry::Get();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  observer::fuzz::Run(data, size);
  return 0;
}
