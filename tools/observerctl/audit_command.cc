// `audit verify`: checks the audit hash chain of registry-service's change log
// (RegistryService.VerifyChangeLog) and reports the first altered, missing or reordered entry.
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
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
  v1::VerifyChangeLogRequest req;
  if (const std::string expect = inv.Get("expect"); !expect.empty()) {
    const size_t colon = expect.find(':');
    int64_t revision = 0;
    if (colon == std::string::npos || !absl::SimpleAtoi(expect.substr(0, colon), &revision) ||
        revision < 1 || expect.size() - colon - 1 != 64) {
      return UsageError(absl::StrCat("--expect: '", expect,
                                     "' is not REVISION:CHAIN (a revision and the 64 hex digits "
                                     "an earlier check printed for it)"));
    }
    req.set_expected_revision(revision);
    req.set_expected_chain(expect.substr(colon + 1));
  }
  return WithConnection(inv, [&](Connection& c) {
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
    // With nothing retained, the head's value is the compaction anchor's.
    const int64_t chain_revision =
        resp.entries_checked() > 0 ? resp.last_revision() : resp.compact_revision() - 1;
    std::cout << "\nhead chain " << chain_revision << ":" << resp.head_chain() << " (audit key "
              << resp.key_id() << "; record it, check later with --expect)\n";
    if (resp.expected_chain_matched()) {
      std::cout << "the recorded chain value at revision " << req.expected_revision()
                << " matches\n";
    }
    return kExitOk;
  });
}

}  // namespace

std::vector<CommandSpec> AuditCommands() {
  return {
      {{"audit", "verify"},
       "Check the audit hash chain of the registry's change log.",
       "",
       0,
       0,
       {{"expect", "REVISION:CHAIN",
         "also require this chain value, printed by an earlier check, at its revision"},
        OutputFlag(kAuditFormats)},
       "registry-service walks its stored change log from the compaction point to the head "
       "and checks each\nentry's HMAC chain value with its audit key (--audit-key-file). "
       "Prints \"change log verified: N\nentries, revisions A..B\" and the chain value at "
       "the head as REVISION:CHAIN (record it: a later\ncheck must still find it), exit 0; or "
       "\"change log broken at revision R: PROBLEM — why\", exit 1, where PROBLEM is\naltered (an "
       "entry, its revision or a chain value was changed), missing (an entry was removed),\n"
       "reordered (an entry holds another revision's change) or key-mismatch (chained with "
       "another key\nthan the server's). Exit 1 also when the registry cannot be reached. "
       "A long log may need a longer\n--timeout.\n\n"
       "--expect REVISION:CHAIN (as an earlier check printed it) also requires that the log "
       "still holds\nthat value at that revision: changes removed from the end of the "
       "log, or a log rewritten by\nsomeone holding the key, are found that way (missing or "
       "altered).",
       "  observerctl audit verify\n"
       "  observerctl audit verify --output json --timeout 5m\n"
       "  observerctl audit verify --expect\n"
       "      812:470c3c8f24bd6b979bc10fec3b2ff1d23a3f85d45f8b4f07df5ba5e284e40a9d",
       AuditVerify}};
}

}  // namespace observer::ctl
