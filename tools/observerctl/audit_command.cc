// `audit verify`: checks the audit hash chain of registry-service's change log
// (RegistryService.VerifyChangeLog) and reports the first altered, missing or reordered entry.
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tools/observerctl/commands.h"
#include "tools/observerctl/output.h"
#include "tools/observerctl/values.h"

namespace observer::ctl {
namespace {

namespace v1 = ::observer::registry::v1;

const std::vector<std::string> kAuditFormats = {"text", "json"};

int AuditVerify(const Invocation& inv) {
  absl::StatusOr<std::string> format = OutputFormat(inv, kAuditFormats);
  if (!format.ok()) return UsageError(format.status().message());
  return WithConnection(inv, [&](Connection& c) {
    v1::VerifyChangeLogRequest req;
    v1::VerifyChangeLogResponse resp;
    if (!c.Call(Service::kRegistry, "VerifyChangeLog", &v1::RegistryService::Stub::VerifyChangeLog,
                req, &resp)
             .ok()) {
      return kExitFailed;
    }
    const bool broken = resp.problem() != v1::CHANGE_LOG_PROBLEM_UNSPECIFIED;
    if (*format == "json") {
      std::cout << ToJson(resp, /*pretty=*/true) << "\n";
      return broken ? kExitFailed : kExitOk;
    }
    const std::string checked =
        resp.entries_checked() == 0
            ? absl::StrCat("0 entries")
            : absl::StrCat(
                  resp.entries_checked(),
                  resp.entries_checked() == 1 ? " entry, revisions " : " entries, revisions ",
                  resp.first_revision(), "..", resp.last_revision());
    if (broken) {
      std::cout << "change log broken at revision " << resp.bad_revision() << ": "
                << EnumText(resp.problem()) << " — " << resp.message() << "\n"
                << "verified before it: " << checked << " (audit key " << resp.key_id() << ")\n";
      return kExitFailed;
    }
    std::cout << "change log verified: " << checked;
    if (resp.entries_checked() == 0) {
      std::cout << " (nothing retained; head revision " << resp.head_revision() << ")";
    }
    std::cout << "\nchain value at revision " << resp.last_revision() << ": " << resp.head_chain()
              << " (audit key " << resp.key_id() << ")\n";
    return kExitOk;
  });
}

}  // namespace

std::vector<CommandSpec> AuditCommands() {
  return {{{"audit", "verify"},
           "Check the audit hash chain of the registry's change log.",
           "",
           0,
           0,
           {OutputFlag(kAuditFormats)},
           "registry-service walks its stored change log from the compaction point to the head "
           "and checks each\nentry's HMAC chain value with its audit key (--audit-key-file). "
           "Prints \"change log verified: N\nentries, revisions A..B\" and the chain value at "
           "the head (keep it: a later check must still find\nit), exit 0; or \"change log "
           "broken at revision R: PROBLEM — why\", exit 1, where PROBLEM is\naltered (an "
           "entry, its revision or a chain value was changed), missing (an entry was removed),\n"
           "reordered (an entry holds another revision's change) or key-mismatch (chained with "
           "another key\nthan the server's). Exit 1 also when the registry cannot be reached. "
           "A long log may need a longer\n--timeout.",
           "  observerctl audit verify\n"
           "  observerctl audit verify --output json --timeout 5m",
           AuditVerify}};
}

}  // namespace observer::ctl
