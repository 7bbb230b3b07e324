// The example data set must reproduce every published figure of the reference case
// (Kazakhstan, 10 Jan 2021): 398 accredited = 322 from 10 organisations + 76 from 31 states.
#include "tools/example-data/kz2021_dataset.h"

#include <map>
#include <regex>
#include <set>
#include <string>

#include "absl/strings/match.h"
#include "common/proto_time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace observer::example {
namespace {

namespace v1 = ::observer::registry::v1;
using ::testing::UnorderedElementsAreArray;

constexpr absl::string_view kOrgPrefix = "organisations/";

std::string OrgCode(const v1::Observer& o) {
  std::string name = o.sending_body().organisation();
  return absl::StartsWith(name, kOrgPrefix) ? name.substr(kOrgPrefix.size()) : name;
}

TEST(Kz2021DataSet, ElectionAsPublished) {
  const ExampleDataSet& d = Kz2021DataSet();
  EXPECT_EQ(d.election_id, "kz-2021-majilis");
  EXPECT_TRUE(d.election.name().empty());
  EXPECT_FALSE(d.election.display_name().empty());
  EXPECT_EQ(d.election.kind(), v1::ELECTION_KIND_COMBINED);
  EXPECT_EQ(d.election.host_country(), "KZ");
  EXPECT_EQ(d.election.voting_day().year(), 2021);
  EXPECT_EQ(d.election.voting_day().month(), 1);
  EXPECT_EQ(d.election.voting_day().day(), 10);
  EXPECT_EQ(d.election.time_zone(), "Asia/Almaty");
  EXPECT_FALSE(d.election.has_accreditation_deadline());  // The server's default rule.
  EXPECT_EQ(absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", Kz2021Deadline(), absl::UTCTimeZone()),
            "2021-01-04T12:00:00Z");
}

TEST(Kz2021DataSet, Totals) {
  const ExampleDataSet& d = Kz2021DataSet();
  int total = 0, from_orgs = 0, from_states = 0;
  std::set<std::string> orgs, states;
  for (const auto& p : d.observers) {
    if (!p.counted()) continue;
    ++total;
    if (p.observer.sending_body().has_organisation()) {
      ++from_orgs;
      orgs.insert(OrgCode(p.observer));
    } else {
      ASSERT_TRUE(p.observer.sending_body().has_state()) << p.key;
      ++from_states;
      states.insert(p.observer.sending_body().state());
    }
  }
  EXPECT_EQ(total, 398);
  EXPECT_EQ(from_orgs, 322);
  EXPECT_EQ(orgs.size(), 10u);
  EXPECT_EQ(from_states, 76);
  EXPECT_EQ(states.size(), 31u);
}

TEST(Kz2021DataSet, PerOrganisationCounts) {
  const ExampleDataSet& d = Kz2021DataSet();
  std::map<std::string, int> by_org;
  for (const auto& p : d.observers) {
    if (p.counted() && p.observer.sending_body().has_organisation()) ++by_org[OrgCode(p.observer)];
  }
  // Keyed by the English name, as the CEC published them.
  std::map<std::string, std::string> english;
  for (const auto& o : d.organisations) english[o.code] = o.organisation.names().en();
  std::map<std::string, int> by_name;
  for (const auto& [code, n] : by_org) by_name[english.at(code)] = n;
  EXPECT_EQ(by_name,
            (std::map<std::string, int>{
                {"CIS Executive Committee", 179},
                {"CIS Interparliamentary Assembly", 48},
                {"OSCE Office for Democratic Institutions and Human Rights", 42},
                {"Shanghai Cooperation Organisation", 15},
                {"OSCE Parliamentary Assembly", 9},
                {"Parliamentary Assembly of Turkic-speaking Countries", 9},
                {"Cooperation Council of Turkic-speaking States", 7},
                {"Parliamentary Assembly of the Collective Security Treaty Organisation", 7},
                {"Organisation of Islamic Cooperation", 4},
                {"European Union Delegation to Kazakhstan", 2},
            }));
}

TEST(Kz2021DataSet, StatesExactlyAsListedEachAtLeastOne) {
  const ExampleDataSet& d = Kz2021DataSet();
  std::map<std::string, int> by_state;
  for (const auto& p : d.observers) {
    if (p.counted() && p.observer.sending_body().has_state()) {
      ++by_state[p.observer.sending_body().state()];
      EXPECT_EQ(p.observer.citizenship(), p.observer.sending_body().state()) << p.key;
    }
  }
  const std::vector<std::string> expected = {
      "KG", "MD", "TR", "AZ", "AM", "UZ", "UA", "RU", "EE",  // post-Soviet
      "RO", "HU", "ES", "FR", "IT", "DE", "BE", "CH", "PL", "CZ", "FI", "NO", "SE", "GB",  // Europe
      "MN", "IN", "PH", "PS", "CA", "MV", "ID", "JO"};                                     // others
  std::vector<std::string> got;
  for (const auto& [state, n] : by_state) {
    got.push_back(state);
    EXPECT_GE(n, 1) << state;
  }
  EXPECT_THAT(got, UnorderedElementsAreArray(expected));
}

TEST(Kz2021DataSet, OrganisationsWellFormed) {
  const ExampleDataSet& d = Kz2021DataSet();
  const std::regex code_re("[A-Z0-9]+(-[A-Z0-9]+)*");
  std::set<std::string> seen;
  for (const auto& o : d.organisations) {
    EXPECT_TRUE(std::regex_match(o.code, code_re)) << o.code;
    EXPECT_TRUE(o.organisation.name().empty()) << o.code;
    EXPECT_FALSE(o.organisation.names().en().empty()) << o.code;
    EXPECT_FALSE(o.organisation.names().ru().empty()) << o.code;
    EXPECT_FALSE(o.organisation.names().kk().empty()) << o.code;
    if (!o.organisation.parent().empty()) {
      // Parents are created before their children.
      EXPECT_TRUE(seen.count(std::string(o.organisation.parent().substr(kOrgPrefix.size()))))
          << o.code << " has parent " << o.organisation.parent();
    }
    EXPECT_TRUE(seen.insert(o.code).second) << "duplicate " << o.code;
  }
  // Every organisation an observer names exists.
  for (const auto& p : d.observers) {
    if (p.observer.sending_body().has_organisation()) {
      EXPECT_TRUE(seen.count(OrgCode(p.observer))) << p.key;
    }
  }
}

TEST(Kz2021DataSet, TurkicCouncilRenameIsAnAlias) {
  const ExampleDataSet& d = Kz2021DataSet();
  bool found = false;
  for (const auto& o : d.organisations) {
    for (const auto& alias : o.organisation.aliases()) {
      if (alias.names().en() == "Organization of Turkic States") {
        found = true;
        EXPECT_EQ(o.organisation.names().en(), "Cooperation Council of Turkic-speaking States");
        EXPECT_EQ(alias.valid_from().year(), 2021);
        EXPECT_EQ(alias.valid_from().month(), 11);
        EXPECT_EQ(alias.valid_from().day(), 12);
      }
    }
  }
  EXPECT_TRUE(found);
}

TEST(Kz2021DataSet, PeopleWellFormed) {
  const ExampleDataSet& d = Kz2021DataSet();
  std::set<std::string> numbers, keys;
  for (const auto& p : d.observers) {
    const v1::Observer& o = p.observer;
    EXPECT_TRUE(keys.insert(p.key).second) << "duplicate key " << p.key;
    EXPECT_NE(o.citizenship(), "KZ") << p.key;
    EXPECT_EQ(o.citizenship().size(), 2u) << p.key;
    EXPECT_FALSE(o.given_names().empty()) << p.key;
    EXPECT_FALSE(o.family_name().empty()) << p.key;
    for (const std::string& latin : {o.latin_given_names(), o.latin_family_name()}) {
      EXPECT_FALSE(latin.empty()) << p.key;
      for (char c : latin) {
        EXPECT_TRUE((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == ' ' || c == '-')
            << p.key << ": " << latin;
      }
    }
    EXPECT_NE(o.gender(), v1::GENDER_UNSPECIFIED) << p.key;
    EXPECT_NE(o.category(), v1::OBSERVER_CATEGORY_UNSPECIFIED) << p.key;
    EXPECT_GE(o.birth_date().year(), 1930) << p.key;
    EXPECT_LE(o.birth_date().year(), 2000) << p.key;
    EXPECT_NE(o.id_document().type(), v1::ID_DOCUMENT_TYPE_UNSPECIFIED) << p.key;
    EXPECT_EQ(o.id_document().issuing_country(), o.citizenship()) << p.key;
    std::string normalised;
    for (char c : o.id_document().number()) {
      if (c != ' ' && c != '-') normalised.push_back(c);
    }
    EXPECT_TRUE(numbers.insert(normalised).second) << "duplicate document " << normalised;
    // Output-only fields are left to the server.
    EXPECT_TRUE(o.name().empty()) << p.key;
    EXPECT_EQ(o.status(), v1::OBSERVER_STATUS_UNSPECIFIED) << p.key;
    EXPECT_TRUE(o.badge_number().empty()) << p.key;
    EXPECT_TRUE(o.decision_reference().empty()) << p.key;
    EXPECT_FALSE(o.submission_reference().empty()) << p.key;
    // Rows of a batch carry no request id of their own; keys are printable ASCII.
    for (char c : p.key) EXPECT_TRUE(c > ' ' && c < 127) << p.key;
  }
  // Names are in the script of the documents: Cyrillic, Armenian, Georgian, Arabic, Chinese,
  // Devanagari as well as Latin.
  int non_latin = 0;
  for (const auto& p : d.observers) {
    if (p.observer.family_name() != p.observer.latin_family_name()) ++non_latin;
  }
  EXPECT_GT(non_latin, 150);
}

TEST(Kz2021DataSet, SevenMeetingsBeforeTheDeadline) {
  const ExampleDataSet& d = Kz2021DataSet();
  const absl::Time deadline = Kz2021Deadline();
  ASSERT_EQ(d.meetings.size(), 7u);
  std::set<std::string> refs;
  for (std::size_t i = 0; i < d.meetings.size(); ++i) {
    EXPECT_EQ(d.meetings[i].number, static_cast<int>(i) + 1);
    EXPECT_LT(d.meetings[i].time, deadline);
    if (i > 0) {
      EXPECT_LT(d.meetings[i - 1].time, d.meetings[i].time);
    }
    EXPECT_TRUE(refs.insert(d.meetings[i].decision_reference).second);
  }
  // The last meeting is on 4 Jan 2021 local time, before 18:00.
  const absl::TimeZone almaty = absl::FixedTimeZone(6 * 3600);
  EXPECT_EQ(absl::FormatTime("%Y-%m-%d", d.meetings.back().time, almaty), "2021-01-04");

  std::set<absl::Time> decided_at;
  std::set<int> meetings_with_accreditations;
  for (const auto& p : d.observers) {
    const absl::Time received = FromProto(p.observer.received_time());
    EXPECT_LT(received, deadline) << p.key;
    EXPECT_EQ(received, d.submissions.at(p.submission).received_time) << p.key;
    if (p.target_status == v1::OBSERVER_STATUS_SUBMITTED) {
      EXPECT_EQ(p.meeting, 0) << p.key;
      continue;
    }
    ASSERT_GE(p.meeting, 1) << p.key;
    ASSERT_LE(p.meeting, 7) << p.key;
    const Meeting& m = d.meetings[static_cast<std::size_t>(p.meeting - 1)];
    EXPECT_EQ(p.decision_time, m.time) << p.key;
    EXPECT_EQ(p.decision_reference, m.decision_reference) << p.key;
    EXPECT_LT(p.decision_time, deadline) << p.key;
    EXPECT_LE(received, p.decision_time) << p.key;
    decided_at.insert(p.decision_time);
    if (p.counted()) meetings_with_accreditations.insert(p.meeting);
  }
  EXPECT_EQ(decided_at.size(), 7u);
  EXPECT_EQ(meetings_with_accreditations.size(), 7u);
}

TEST(Kz2021DataSet, NonCountedRecords) {
  const ExampleDataSet& d = Kz2021DataSet();
  int rejected = 0, submitted = 0, test = 0;
  for (const auto& p : d.observers) {
    if (p.target_status == v1::OBSERVER_STATUS_REJECTED) {
      ++rejected;
      EXPECT_FALSE(p.reason.empty()) << p.key;
    }
    if (p.target_status == v1::OBSERVER_STATUS_SUBMITTED) ++submitted;
    if (p.observer.test()) {
      ++test;
      EXPECT_EQ(p.target_status, v1::OBSERVER_STATUS_ACCREDITED);
      EXPECT_FALSE(p.counted());
    }
  }
  EXPECT_EQ(rejected, 3);
  EXPECT_EQ(submitted, 2);
  EXPECT_EQ(test, 1);
  EXPECT_EQ(d.observers.size(), 398u + 6u);
}

TEST(Kz2021DataSet, SubmissionsFitInBatches) {
  const ExampleDataSet& d = Kz2021DataSet();
  std::set<std::string> request_ids;
  std::size_t rows = 0;
  for (std::size_t i = 0; i < d.submissions.size(); ++i) {
    const Submission& s = d.submissions[i];
    EXPECT_FALSE(s.observers.empty());
    EXPECT_LE(s.observers.size(), 1000u);
    EXPECT_TRUE(request_ids.insert(s.request_id).second) << s.request_id;
    EXPECT_LE(s.request_id.size(), 128u);
    if (i > 0) {
      EXPECT_LE(d.submissions[i - 1].received_time, s.received_time);
    }
    for (std::size_t o : s.observers) {
      EXPECT_EQ(d.observers.at(o).submission, i);
      EXPECT_EQ(d.observers[o].observer.submission_reference(), s.reference);
    }
    rows += s.observers.size();
  }
  EXPECT_EQ(rows, d.observers.size());
}

TEST(Kz2021DataSet, Deterministic) {
  const ExampleDataSet a = BuildKz2021DataSet();
  const ExampleDataSet b = BuildKz2021DataSet();
  ASSERT_EQ(a.observers.size(), b.observers.size());
  for (std::size_t i = 0; i < a.observers.size(); ++i) {
    EXPECT_EQ(a.observers[i].key, b.observers[i].key);
    EXPECT_EQ(a.observers[i].observer.SerializeAsString(),
              b.observers[i].observer.SerializeAsString());
  }
  // Pinned: the first organisation nominee is the same on every machine.
  EXPECT_EQ(a.observers.front().key, "CIS-EC-001");
  EXPECT_EQ(a.observers.front().observer.category(), v1::OBSERVER_CATEGORY_HEAD_OF_DELEGATION);
}

}  // namespace
}  // namespace observer::example
