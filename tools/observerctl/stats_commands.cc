// `summary`, `breakdown` and `schemes`: what stats-service computes from the change stream.
#include <algorithm>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "tools/observerctl/commands.h"
#include "tools/observerctl/csv.h"
#include "tools/observerctl/output.h"
#include "tools/observerctl/values.h"

namespace observer::ctl {
namespace {

namespace sv1 = ::observer::stats::v1;
namespace v1 = ::observer::registry::v1;
using Stub = sv1::StatsService::Stub;

const std::vector<std::string> kFormats = {"table", "json", "csv"};
constexpr int kBarWidth = 24;

std::vector<FlagSpec> FilterFlags() {
  return {
      {"status", "LIST", "statuses counted (comma-separated)", false, false, "", "accredited"},
      {"category", "LIST", "categories counted (comma-separated; default all)"},
      {"include-test", "", "count test records too"},
      {"min-revision", "N",
       "wait until stats-service has applied this registry revision (read your writes)"},
  };
}

absl::Status ReadFilter(const Invocation& inv, sv1::Filter* filter, int64_t* min_revision) {
  for (const std::string& s : SplitList(inv.Get("status"))) {
    absl::StatusOr<v1::ObserverStatus> v = ParseEnum<v1::ObserverStatus>(s);
    if (!v.ok())
      return absl::InvalidArgumentError(absl::StrCat("--status: ", v.status().message()));
    filter->add_statuses(*v);
  }
  for (const std::string& s : SplitList(inv.Get("category"))) {
    absl::StatusOr<v1::ObserverCategory> v = ParseEnum<v1::ObserverCategory>(s);
    if (!v.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("--category: ", v.status().message()));
    }
    filter->add_categories(*v);
  }
  filter->set_include_test(inv.IsSet("include-test"));
  *min_revision = 0;
  if (const std::string text = inv.Get("min-revision"); !text.empty()) {
    if (!absl::SimpleAtoi(text, min_revision) || *min_revision < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("--min-revision: '", text, "' is not a revision (a number ≥ 0)"));
    }
  }
  return absl::OkStatus();
}

std::string FilterText(const sv1::Filter& f) {
  std::vector<std::string> statuses, categories;
  for (int s : f.statuses()) statuses.push_back(EnumText(static_cast<v1::ObserverStatus>(s)));
  for (int c : f.categories()) {
    categories.push_back(EnumText(static_cast<v1::ObserverCategory>(c)));
  }
  std::string out = absl::StrCat("status ", absl::StrJoin(statuses, ", "));
  if (!categories.empty()) absl::StrAppend(&out, "; category ", absl::StrJoin(categories, ", "));
  absl::StrAppend(&out, f.include_test() ? "; test records included" : "; test records left out");
  return out;
}

std::string Count(int64_t n, absl::string_view one, absl::string_view many) {
  return absl::StrCat(n, " ", n == 1 ? one : many);
}

int Summary(const Invocation& inv) {
  absl::StatusOr<std::string> format = OutputFormat(inv, kFormats);
  if (!format.ok()) return UsageError(format.status().message());
  sv1::GetSummaryRequest req;
  req.set_election(ElectionName(inv.Get("election")));
  int64_t min_revision = 0;
  if (absl::Status s = ReadFilter(inv, req.mutable_filter(), &min_revision); !s.ok()) {
    return UsageError(s.message());
  }
  req.set_min_revision(min_revision);
  return WithConnection(inv, [&](Connection& c) {
    sv1::GetSummaryResponse resp;
    if (!c.Call(Service::kStats, "GetSummary", &Stub::GetSummary, req, &resp).ok()) {
      return kExitFailed;
    }
    const sv1::Summary& s = resp.summary();
    if (*format == "json") {
      std::cout << ToJson(resp, /*pretty=*/true) << "\n";
    } else if (*format == "csv") {
      std::cout << CsvLine({"election", "revision", "observers", "organisation_observers",
                            "organisations", "state_observers", "states"})
                << CsvLine({s.election(), absl::StrCat(resp.revision()),
                            absl::StrCat(s.observers()), absl::StrCat(s.organisation_observers()),
                            absl::StrCat(s.organisations()), absl::StrCat(s.state_observers()),
                            absl::StrCat(s.states())});
    } else {
      std::cout << s.election() << " at registry revision " << resp.revision() << " ("
                << FilterText(req.filter()) << ")\n";
      Table table({"", "OBSERVERS", "SENT BY"}, {false, true, false});
      table.Add({"all observers", absl::StrCat(s.observers()), ""});
      table.Add({"from international organisations", absl::StrCat(s.organisation_observers()),
                 Count(s.organisations(), "organisation", "organisations")});
      table.Add({"from foreign states", absl::StrCat(s.state_observers()),
                 Count(s.states(), "state", "states")});
      table.Print(std::cout);
    }
    return kExitOk;
  });
}

struct DimensionName {
  absl::string_view name;
  sv1::Dimension dimension;
};
constexpr DimensionName kDimensions[] = {
    {"organisation", sv1::DIMENSION_ORGANISATION},
    {"country", sv1::DIMENSION_SENDING_STATE},
    {"state", sv1::DIMENSION_SENDING_STATE},
    {"sending-state", sv1::DIMENSION_SENDING_STATE},
    {"citizenship", sv1::DIMENSION_CITIZENSHIP},
    {"region", sv1::DIMENSION_REGION},
    {"type", sv1::DIMENSION_OBSERVER_TYPE},
    {"observer-type", sv1::DIMENSION_OBSERVER_TYPE},
    {"category", sv1::DIMENSION_CATEGORY},
    {"status", sv1::DIMENSION_STATUS},
    {"gender", sv1::DIMENSION_GENDER},
};

absl::StatusOr<sv1::Dimension> ParseDimension(absl::string_view text) {
  const std::string t = absl::AsciiStrToLower(text);
  for (const DimensionName& d : kDimensions) {
    if (d.name == t) return d.dimension;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "--by: '", text,
      "' is not one of: organisation, country, citizenship, region, type, category, status, "
      "gender"));
}

int Breakdown(const Invocation& inv) {
  absl::StatusOr<std::string> format = OutputFormat(inv, kFormats);
  if (!format.ok()) return UsageError(format.status().message());
  sv1::GetBreakdownRequest req;
  req.set_election(ElectionName(inv.Get("election")));
  absl::StatusOr<sv1::Dimension> dimension = ParseDimension(inv.Get("by"));
  if (!dimension.ok()) return UsageError(dimension.status().message());
  req.set_dimension(*dimension);
  if (*dimension == sv1::DIMENSION_REGION) {
    req.set_region_scheme(inv.Get("scheme").empty() ? "m49-continent" : inv.Get("scheme"));
  } else if (inv.Given("scheme")) {
    return UsageError("--scheme goes with --by region");
  }
  if (const std::string basis = absl::AsciiStrToLower(inv.Get("basis")); !basis.empty()) {
    if (basis == "sending-state" || basis == "state") {
      req.set_region_basis(sv1::REGION_BASIS_SENDING_STATE);
    } else if (basis == "citizenship") {
      req.set_region_basis(sv1::REGION_BASIS_CITIZENSHIP);
    } else {
      return UsageError(absl::StrCat("--basis: '", basis, "' is not sending-state or citizenship"));
    }
  }
  if (const std::string top = inv.Get("top"); !top.empty()) {
    int n = 0;
    if (!absl::SimpleAtoi(top, &n) || n < 0) {
      return UsageError(absl::StrCat("--top: '", top, "' is not a number ≥ 0"));
    }
    req.set_top_n(n);
  }
  req.set_language_code(inv.Get("language"));
  int64_t min_revision = 0;
  if (absl::Status s = ReadFilter(inv, req.mutable_filter(), &min_revision); !s.ok()) {
    return UsageError(s.message());
  }
  req.set_min_revision(min_revision);
  return WithConnection(inv, [&](Connection& c) {
    sv1::GetBreakdownResponse resp;
    if (!c.Call(Service::kStats, "GetBreakdown", &Stub::GetBreakdown, req, &resp).ok()) {
      return kExitFailed;
    }
    const sv1::Breakdown& b = resp.breakdown();
    if (*format == "json") {
      std::cout << ToJson(resp, /*pretty=*/true) << "\n";
      return kExitOk;
    }
    const bool sources =
        *dimension == sv1::DIMENSION_REGION || *dimension == sv1::DIMENSION_OBSERVER_TYPE;
    if (*format == "csv") {
      std::cout << CsvLine({"key", "display_name", "count", "share", "distinct_sources", "folded"});
      for (const auto& r : b.rows()) {
        std::cout << CsvLine({r.key(), r.display_name(), absl::StrCat(r.count()),
                              absl::StrFormat("%.6f", r.share()),
                              absl::StrCat(r.distinct_sources()), r.folded() ? "true" : "false"});
      }
      return kExitOk;
    }
    std::cout << b.election() << " by " << inv.Get("by")
              << (b.region_scheme().empty() ? "" : absl::StrCat(" (", b.region_scheme(), ")"))
              << " at registry revision " << resp.revision() << " (" << FilterText(req.filter())
              << ")\n";
    std::vector<std::string> header = {"KEY", "NAME"};
    if (sources) header.push_back(*dimension == sv1::DIMENSION_REGION ? "STATES" : "SENDERS");
    for (const char* h : {"OBSERVERS", "SHARE", ""}) header.push_back(h);
    std::vector<bool> right(header.size(), true);
    right[0] = right[1] = right.back() = false;
    Table table(header, right);
    double max_share = 0;
    for (const auto& r : b.rows()) max_share = std::max(max_share, r.share());
    int64_t total_sources = 0;
    for (const auto& r : b.rows()) {
      std::vector<std::string> cells = {r.key().empty() ? "-" : r.key(), r.display_name()};
      if (sources) cells.push_back(absl::StrCat(r.distinct_sources()));
      cells.push_back(absl::StrCat(r.count()));
      cells.push_back(absl::StrFormat("%.1f%%", 100.0 * r.share()));
      cells.push_back(ShareBar(r.share(), max_share, kBarWidth));
      table.Add(std::move(cells));
      total_sources += r.distinct_sources();
    }
    table.AddRule();
    std::vector<std::string> total = {"total", Count(b.rows_size(), "row", "rows")};
    if (sources) total.push_back(absl::StrCat(total_sources));
    total.push_back(absl::StrCat(b.total()));
    total.push_back(b.total() > 0 ? "100.0%" : "-");
    table.Add(std::move(total));
    table.Print(std::cout);
    return kExitOk;
  });
}

int Schemes(const Invocation& inv) {
  absl::StatusOr<std::string> format = OutputFormat(inv, {"table", "json"});
  if (!format.ok()) return UsageError(format.status().message());
  sv1::ListRegionSchemesRequest req;
  req.set_language_code(inv.Get("language"));
  return WithConnection(inv, [&](Connection& c) {
    sv1::ListRegionSchemesResponse resp;
    if (!c.Call(Service::kStats, "ListRegionSchemes", &Stub::ListRegionSchemes, req, &resp).ok()) {
      return kExitFailed;
    }
    if (*format == "json") {
      std::cout << ToJson(resp, /*pretty=*/true) << "\n";
      return kExitOk;
    }
    Table table({"SCHEME", "TITLE", "GROUPS"}, {false, false, true});
    for (const auto& s : resp.schemes()) {
      table.Add({s.name(), s.title(), absl::StrCat(s.groups_size())});
    }
    table.Print(std::cout);
    return kExitOk;
  });
}

}  // namespace

std::vector<CommandSpec> StatsCommands() {
  const FlagSpec election = {"election", "ELECTION", "the election, e.g. kz-2021", false, true};
  const FlagSpec language = {"language", "LANG", "language of the names: en, ru or kk"};
  std::vector<CommandSpec> c;
  c.push_back({{"summary"},
               "How many observers, from how many organisations and states.",
               "",
               0,
               0,
               Concat({election}, Concat(FilterFlags(), {OutputFlag(kFormats)})),
               "By default only accredited observers count and test records are left out.",
               "  observerctl summary --election kz-2021\n"
               "  observerctl summary --election kz-2021 --status submitted,accredited "
               "--output json",
               Summary});
  c.push_back(
      {{"breakdown"},
       "Observers by organisation, country, region, ... with shares.",
       "",
       0,
       0,
       Concat({election,
               {"by", "DIMENSION",
                "organisation, country, citizenship, region, type, category, status or gender",
                false, true},
               {"scheme", "SCHEME", "region scheme for --by region (default m49-continent)"},
               {"basis", "BASIS", "region of the sending-state (default) or the citizenship"},
               {"top", "N", "show the N largest rows and fold the rest into one"},
               language},
              Concat(FilterFlags(), {OutputFlag(kFormats)})),
       "'observerctl schemes' lists the region schemes.",
       "  observerctl breakdown --election kz-2021 --by organisation\n"
       "  observerctl breakdown --election kz-2021 --by region --scheme kz2021-article "
       "--language ru\n"
       "  observerctl breakdown --election kz-2021 --by country --top 10 --output csv",
       Breakdown});
  c.push_back({{"schemes"},
               "List the region schemes stats-service knows.",
               "",
               0,
               0,
               {language, OutputFlag({"table", "json"})},
               "",
               "  observerctl schemes --language kk",
               Schemes});
  return c;
}

}  // namespace observer::ctl
