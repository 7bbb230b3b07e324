// `export`: every observer of an election (or those a filter selects) as CSV or JSON, personal
// data only when asked for.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/personal_data.h"
#include "tools/observerctl/commands.h"
#include "tools/observerctl/csv.h"
#include "tools/observerctl/observer_columns.h"

namespace observer::ctl {
namespace {

namespace v1 = ::observer::registry::v1;
using Stub = v1::RegistryService::Stub;

const std::vector<std::string> kFormats = {"csv", "json"};

int Export(const Invocation& inv) {
  absl::StatusOr<std::string> format = OutputFormat(inv, kFormats);
  if (!format.ok()) return UsageError(format.status().message());
  const bool pii = inv.IsSet("include-pii");
  const std::string path = inv.Get("file");
  // Written next to the target and renamed at the end: a failed export leaves no partial file.
  const std::string temp = path.empty() ? "" : absl::StrCat(path, ".partial");
  std::ofstream file;
  if (!path.empty()) {
    file.open(temp, std::ios::binary | std::ios::trunc);
    if (!file) return UsageError(absl::StrCat("--file: cannot write '", temp, "'"));
  }
  std::ostream& out = path.empty() ? std::cout : file;
  std::vector<const ObserverColumn*> columns;
  for (const ObserverColumn& c : ObserverColumns()) {
    if (pii || !c.pii) columns.push_back(&c);
  }
  const int code = WithConnection(inv, [&](Connection& c) {
    v1::ListObserversRequest req;
    req.set_parent(ElectionName(inv.Get("election")));
    req.set_filter(inv.Get("filter"));
    req.set_page_size(1000);
    JsonArrayWriter json(out);
    if (*format == "csv") {
      std::vector<std::string> header;
      for (const ObserverColumn* col : columns) header.emplace_back(col->name);
      out << CsvLine(header);
    }
    int64_t count = 0;
    do {
      v1::ListObserversResponse resp;
      if (!c.Call(Service::kRegistry, "ListObservers", &Stub::ListObservers, req, &resp).ok()) {
        return kExitFailed;
      }
      for (v1::Observer& o : *resp.mutable_observers()) {
        if (!pii) StripPersonalData(o);
        if (*format == "json") {
          json.Add(o);
        } else {
          std::vector<std::string> cells;
          for (const ObserverColumn* col : columns) cells.push_back(col->get(o));
          out << CsvLine(cells);
        }
        ++count;
      }
      req.set_page_token(resp.next_page_token());
    } while (!req.page_token().empty());
    if (*format == "json") json.Finish();
    out.flush();
    if (!out) {
      std::cerr << "error: writing the export failed\n";
      return kExitFailed;
    }
    if (!path.empty()) {
      std::cerr << "exported " << count << (count == 1 ? " observer" : " observers") << " to "
                << path << (pii ? " (with personal data)" : "") << "\n";
    }
    return kExitOk;
  });
  if (!path.empty()) {
    file.close();
    if (code == kExitOk && std::rename(temp.c_str(), path.c_str()) != 0) {
      std::remove(temp.c_str());
      std::cerr << "error: cannot rename '" << temp << "' to '" << path << "'\n";
      return kExitFailed;
    }
    if (code != kExitOk) std::remove(temp.c_str());
  }
  return code;
}

}  // namespace

std::vector<CommandSpec> ExportCommands() {
  return {{{"export"},
           "Export the observers of an election as CSV or JSON.",
           "",
           0,
           0,
           {{"election", "ELECTION", "the election", false, true},
            {"include-pii", "",
             "include personal data (birth date, identity document, contact details)"},
            {"filter", "FILTER", "the API's filter, as for 'observer list'"},
            {"file", "PATH", "write to this file instead of stdout"},
            OutputFlag(kFormats)},
           "The CSV columns are those of the import (docs/observerctl.md), plus the output-only "
           "ones.\nAn export with --include-pii can be imported into another registry.",
           "  observerctl export --election kz-2021 > observers.csv\n"
           "  observerctl export --election kz-2021 --include-pii --file backup.csv\n"
           "  observerctl export --election kz-2021 --filter 'status = ACCREDITED' --output json",
           Export}};
}

}  // namespace observer::ctl
