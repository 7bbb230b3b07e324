#include "stats-service/src/aggregate/counters.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "common/errors.h"
#include "common/resource_names.h"
#include "common/status_macros.h"

namespace observer::stats {
namespace {

namespace rv1 = ::observer::registry::v1;

constexpr absl::string_view kOrganisationPrefix = "organisations/";
constexpr absl::string_view kOtherKey = "OTHER";

// Names in the three display languages; empty ru/kk fall back to English.
struct Names {
  const char* en;
  const char* ru;
  const char* kk;
  std::string Get(Language language) const {
    const char* name = language == Language::kRu ? ru : language == Language::kKk ? kk : en;
    return (name != nullptr && *name != '\0') ? name : en;
  }
};

constexpr Names kOrganisationType = {"International organisations", "Международные организации",
                                     "Халықаралық ұйымдар"};
constexpr Names kStateType = {"Foreign states", "Иностранные государства", "Шет мемлекеттер"};
constexpr Names kOtherRow = {"Other", "Прочие", "Басқалары"};
constexpr Names kNotRecorded = {"Not recorded", "Не указано", ""};
constexpr Names kNotPlaced = {"Not placed in a region", "Вне регионов схемы", ""};

// Display names of enum values, indexed by value.
constexpr Names kStatusNames[] = {
    {"Unspecified", "Не указан", ""},   {"Submitted", "Заявка подана", ""},
    {"Accredited", "Аккредитован", ""}, {"Rejected", "Отказано", ""},
    {"Suspended", "Приостановлен", ""}, {"Withdrawn", "Отозван", ""}};
constexpr Names kCategoryNames[] = {{"Unspecified", "Не указана", ""},
                                    {"Core team", "Основная группа", ""},
                                    {"Long-term observer", "Долгосрочный наблюдатель", ""},
                                    {"Short-term observer", "Краткосрочный наблюдатель", ""},
                                    {"Parliamentarian", "Парламентарий", ""},
                                    {"Head of delegation", "Глава делегации", ""},
                                    {"Other", "Другое", ""}};
constexpr Names kGenderNames[] = {{"Not recorded", "Не указан", ""},
                                  {"Female", "Женщины", ""},
                                  {"Male", "Мужчины", ""},
                                  {"Other", "Другой", ""}};

struct Row {
  std::string key;
  std::string name;
  int64_t count = 0;
  int64_t distinct = 0;
  bool folded = false;  // The row that sums the rows beyond top_n.
};

void MergeInto(const absl::flat_hash_map<std::string, int64_t>& from,
               absl::flat_hash_map<std::string, int64_t>& into) {
  for (const auto& [key, count] : from) into[key] += count;
}

void ValidateFilter(const v1::Filter& filter, Violations& violations) {
  for (int i = 0; i < filter.statuses_size(); ++i) {
    const int status = filter.statuses(i);
    if (status == rv1::OBSERVER_STATUS_UNSPECIFIED || !rv1::ObserverStatus_IsValid(status)) {
      violations.Add(absl::StrCat("filter.statuses[", i, "]"),
                     absl::StrCat(status, " is not an observer status"));
    }
  }
  for (int i = 0; i < filter.categories_size(); ++i) {
    if (!rv1::ObserverCategory_IsValid(filter.categories(i))) {
      violations.Add(absl::StrCat("filter.categories[", i, "]"),
                     absl::StrCat(filter.categories(i), " is not an observer category"));
    }
  }
}

void ValidateCommon(const std::string& election, int64_t min_revision, Violations& violations) {
  if (election.empty()) {
    violations.Add("election", "required: the election's name, elections/{election}");
  } else if (auto id = ParseElectionName(election, "election"); !id.ok()) {
    violations.Add("election",
                   absl::StrCat("'", election, "' is not an election name (elections/{election})"));
  }
  if (min_revision < 0) violations.Add("min_revision", "must not be negative");
}

}  // namespace

absl::Status Counters::Apply(const rv1::ChangeEvent& event) {
  // Any event may change an answer (counts, an election's existence, an organisation's name).
  breakdowns_.Clear();
  const rv1::ResourceImage& before = event.before();
  const rv1::ResourceImage& after = event.after();
  switch (event.kind()) {
    case rv1::RESOURCE_KIND_ELECTION: {
      ASSIGN_OR_RETURN(std::string id, ParseElectionName(event.name(), "name"));
      if (after.has_election()) {
        ElectionState& state = elections_[id];
        state.known = true;
        state.election = after.election();
      } else if (auto it = elections_.find(id); it != elections_.end()) {
        it->second.known = false;
        if (it->second.cells.empty()) elections_.erase(it);
      }
      return absl::OkStatus();
    }
    case rv1::RESOURCE_KIND_ORGANISATION: {
      ASSIGN_OR_RETURN(std::string code, ParseOrganisationName(event.name(), "name"));
      if (after.has_organisation()) {
        organisations_[code] = after.organisation();
      } else {
        organisations_.erase(code);
      }
      return absl::OkStatus();
    }
    case rv1::RESOURCE_KIND_OBSERVER: {
      // Everything is checked before anything changes, so a failure leaves no trace.
      std::optional<Contribution> removed;
      std::optional<Contribution> added;
      if (before.has_observer()) {
        ASSIGN_OR_RETURN(removed, Describe(before.observer()));
        RETURN_IF_ERROR(CheckCounted(*removed));
      }
      if (after.has_observer()) {
        ASSIGN_OR_RETURN(added, Describe(after.observer()));
      }
      if (removed.has_value()) Add(*removed, -1);
      if (added.has_value()) Add(*added, +1);
      return absl::OkStatus();
    }
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("event at revision ", event.revision(), " has an unknown kind"));
  }
}

absl::StatusOr<Counters::Contribution> Counters::Describe(const rv1::Observer& observer) {
  ASSIGN_OR_RETURN(auto names, ParseObserverName(observer.name(), "name"));
  auto known = [](int value, int limit) { return value >= 0 && value < limit ? value : 0; };
  Contribution c;
  c.election = std::move(names.first);
  c.cell = CellIndex(known(observer.status(), kStatuses), known(observer.category(), kCategories),
                     observer.test());
  c.gender = known(observer.gender(), kGenders);
  c.citizenship = observer.citizenship();
  const rv1::SendingBody& body = observer.sending_body();
  if (body.has_organisation()) {
    absl::string_view code = body.organisation();
    if (!absl::ConsumePrefix(&code, kOrganisationPrefix) || code.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("observer ", observer.name(),
                                                     " names a malformed organisation '",
                                                     body.organisation(), "'"));
    }
    c.from_organisation = true;
    c.body = std::string(code);
  } else if (body.has_state()) {
    c.from_state = true;
    c.body = body.state();
  }
  return c;
}

absl::Status Counters::CheckCounted(const Contribution& c) const {
  auto out_of_step = [&c](absl::string_view what) {
    return absl::FailedPreconditionError(
        absl::StrCat("counters out of step: no observer counted in ", c.election, " for ", what));
  };
  auto has = [](const ValueCounts& counts, const std::string& key) {
    auto it = counts.find(key);
    return it != counts.end() && it->second > 0;
  };
  auto election = elections_.find(c.election);
  if (election == elections_.end()) return out_of_step("the election");
  auto it = election->second.cells.find(c.cell);
  if (it == election->second.cells.end() || it->second.observers < 1) {
    return out_of_step("its status, category and test flag");
  }
  const Cell& cell = it->second;
  if (cell.by_gender[c.gender] < 1) return out_of_step("its gender");
  if (!has(cell.by_citizenship, c.citizenship)) return out_of_step("its citizenship");
  if (c.from_organisation && (cell.from_organisations < 1 || !has(cell.by_organisation, c.body))) {
    return out_of_step("its organisation");
  }
  if (c.from_state && (cell.from_states < 1 || !has(cell.by_state, c.body))) {
    return out_of_step("its sending state");
  }
  return absl::OkStatus();
}

void Counters::Add(const Contribution& c, int sign) {
  auto adjust = [sign](ValueCounts& counts, const std::string& key) {
    auto [it, inserted] = counts.try_emplace(key, 0);
    it->second += sign;
    if (it->second == 0) counts.erase(it);
  };
  ElectionState& election = elections_[c.election];
  Cell& cell = election.cells[c.cell];
  cell.observers += sign;
  cell.by_gender[c.gender] += sign;
  adjust(cell.by_citizenship, c.citizenship);
  if (c.from_organisation) {
    cell.from_organisations += sign;
    adjust(cell.by_organisation, c.body);
  } else if (c.from_state) {
    cell.from_states += sign;
    adjust(cell.by_state, c.body);
  }
  if (cell.observers == 0) election.cells.erase(c.cell);
  if (!election.known && election.cells.empty()) elections_.erase(c.election);
}

absl::Status Counters::ValidateSummaryRequest(const v1::GetSummaryRequest& request) {
  Violations violations;
  ValidateCommon(request.election(), request.min_revision(), violations);
  ValidateFilter(request.filter(), violations);
  return violations.ToStatus();
}

absl::Status Counters::ValidateBreakdownRequest(const RegionDirectory& regions,
                                                const v1::GetBreakdownRequest& request) {
  Violations violations;
  ValidateCommon(request.election(), request.min_revision(), violations);
  ValidateFilter(request.filter(), violations);
  const bool region = request.dimension() == v1::DIMENSION_REGION;
  if (request.dimension() == v1::DIMENSION_UNSPECIFIED ||
      !v1::Dimension_IsValid(request.dimension())) {
    violations.Add("dimension",
                   "required: one of DIMENSION_OBSERVER_TYPE, ORGANISATION, "
                   "SENDING_STATE, CITIZENSHIP, REGION, CATEGORY, STATUS, GENDER");
  }
  if (!request.region_scheme().empty()) {
    if (!region) {
      violations.Add("region_scheme", "only for DIMENSION_REGION");
    } else if (regions.Find(request.region_scheme()) == nullptr) {
      std::vector<std::string> known;
      for (const RegionScheme* scheme : regions.schemes()) known.push_back(scheme->name());
      violations.Add("region_scheme", absl::StrCat("unknown scheme '", request.region_scheme(),
                                                   "'; known: ", absl::StrJoin(known, ", ")));
    }
  }
  if (request.region_basis() != v1::REGION_BASIS_UNSPECIFIED) {
    if (!region) {
      violations.Add("region_basis", "only for DIMENSION_REGION");
    } else if (!v1::RegionBasis_IsValid(request.region_basis())) {
      violations.Add("region_basis", "unknown region basis");
    }
  }
  if (request.top_n() < 0) violations.Add("top_n", "must not be negative (0 means every row)");
  Language language;
  if (!ParseLanguage(request.language_code(), &language)) {
    violations.Add("language_code", "use en, ru or kk");
  }
  return violations.ToStatus();
}

absl::StatusOr<const Counters::ElectionState*> Counters::FindElection(
    const std::string& name) const {
  ASSIGN_OR_RETURN(std::string id, ParseElectionName(name, "election"));
  auto it = elections_.find(id);
  if (it == elections_.end() || !it->second.known) {
    return MakeError(absl::StatusCode::kNotFound, reason::kNotFound,
                     absl::StrCat("election '", name, "' does not exist"), {{"election", name}},
                     {{"election", "no such election"}});
  }
  return &it->second;
}

std::vector<const Counters::Cell*> Counters::Select(const ElectionState& election,
                                                    const v1::Filter& filter, bool all_statuses,
                                                    std::vector<int>* indices) const {
  std::vector<const Cell*> cells;
  for (const auto& [index, cell] : election.cells) {
    const bool test = index % 2 == 1;
    const int category = (index / 2) % kCategories;
    const int status = index / (2 * kCategories);
    if (test && !filter.include_test()) continue;
    if (filter.statuses().empty()) {
      if (!all_statuses && status != rv1::OBSERVER_STATUS_ACCREDITED) continue;
    } else if (std::find(filter.statuses().begin(), filter.statuses().end(), status) ==
               filter.statuses().end()) {
      continue;
    }
    if (!filter.categories().empty() &&
        std::find(filter.categories().begin(), filter.categories().end(), category) ==
            filter.categories().end()) {
      continue;
    }
    cells.push_back(&cell);
    if (indices != nullptr) indices->push_back(index);
  }
  return cells;
}

absl::StatusOr<v1::Summary> Counters::Summarize(const v1::GetSummaryRequest& request) const {
  ASSIGN_OR_RETURN(const ElectionState* election, FindElection(request.election()));
  v1::Summary summary;
  summary.set_election(request.election());
  ValueCounts organisations;
  ValueCounts states;
  for (const Cell* cell : Select(*election, request.filter(), false, nullptr)) {
    summary.set_observers(summary.observers() + cell->observers);
    summary.set_organisation_observers(summary.organisation_observers() + cell->from_organisations);
    summary.set_state_observers(summary.state_observers() + cell->from_states);
    MergeInto(cell->by_organisation, organisations);
    MergeInto(cell->by_state, states);
  }
  summary.set_organisations(static_cast<int64_t>(organisations.size()));
  summary.set_states(static_cast<int64_t>(states.size()));
  return summary;
}

std::string Counters::OrganisationDisplayName(const std::string& code, Language language) const {
  auto it = organisations_.find(code);
  if (it == organisations_.end()) return code;
  const rv1::LocalizedNames& names = it->second.names();
  const std::string& localized = language == Language::kRu   ? names.ru()
                                 : language == Language::kKk ? names.kk()
                                                             : names.en();
  if (!localized.empty()) return localized;
  return names.en().empty() ? code : names.en();
}

absl::StatusOr<v1::Breakdown> Counters::Break(const v1::GetBreakdownRequest& request) const {
  ASSIGN_OR_RETURN(std::shared_ptr<const v1::Breakdown> breakdown, SharedBreak(request));
  return *breakdown;
}

absl::StatusOr<std::shared_ptr<const v1::Breakdown>> Counters::SharedBreak(
    const v1::GetBreakdownRequest& request) const {
  const std::string key = BreakdownCache::KeyOf(request);
  if (std::shared_ptr<const v1::Breakdown> cached = breakdowns_.Find(key)) return cached;
  // Readers that miss together each assemble the same answer; the last one's stays.
  ASSIGN_OR_RETURN(v1::Breakdown assembled, Assemble(request));
  auto breakdown = std::make_shared<const v1::Breakdown>(std::move(assembled));
  breakdowns_.Insert(key, breakdown);
  return breakdown;
}

absl::StatusOr<v1::Breakdown> Counters::Assemble(const v1::GetBreakdownRequest& request) const {
  ASSIGN_OR_RETURN(const ElectionState* election, FindElection(request.election()));
  Language language = Language::kEn;
  ParseLanguage(request.language_code(), &language);
  const v1::Dimension dimension = request.dimension();
  std::vector<int> indices;
  const std::vector<const Cell*> cells =
      Select(*election, request.filter(), dimension == v1::DIMENSION_STATUS, &indices);

  v1::Breakdown breakdown;
  breakdown.set_election(request.election());
  breakdown.set_dimension(dimension);
  std::vector<Row> rows;
  auto country_name = [&](const std::string& code) {
    if (code.empty()) return kNotRecorded.Get(language);
    std::string name = regions_.CountryName(code, language);
    return name.empty() ? code : name;
  };
  switch (dimension) {
    case v1::DIMENSION_OBSERVER_TYPE: {
      Row organisations{"ORGANISATION", kOrganisationType.Get(language)};
      Row states{"STATE", kStateType.Get(language)};
      ValueCounts by_organisation;
      ValueCounts by_state;
      for (const Cell* cell : cells) {
        organisations.count += cell->from_organisations;
        states.count += cell->from_states;
        MergeInto(cell->by_organisation, by_organisation);
        MergeInto(cell->by_state, by_state);
      }
      organisations.distinct = static_cast<int64_t>(by_organisation.size());
      states.distinct = static_cast<int64_t>(by_state.size());
      for (Row* row : {&organisations, &states}) {
        if (row->count > 0) rows.push_back(std::move(*row));
      }
      break;
    }
    case v1::DIMENSION_ORGANISATION:
    case v1::DIMENSION_SENDING_STATE:
    case v1::DIMENSION_CITIZENSHIP: {
      ValueCounts counts;
      for (const Cell* cell : cells) {
        MergeInto(dimension == v1::DIMENSION_ORGANISATION    ? cell->by_organisation
                  : dimension == v1::DIMENSION_SENDING_STATE ? cell->by_state
                                                             : cell->by_citizenship,
                  counts);
      }
      for (const auto& [key, count] : counts) {
        rows.push_back({key,
                        dimension == v1::DIMENSION_ORGANISATION
                            ? OrganisationDisplayName(key, language)
                            : country_name(key),
                        count, 0});
      }
      break;
    }
    case v1::DIMENSION_REGION: {
      const std::string scheme_name = request.region_scheme().empty()
                                          ? std::string(kM49ContinentScheme)
                                          : request.region_scheme();
      const RegionScheme* scheme = regions_.Find(scheme_name);
      if (scheme == nullptr) {
        return InvalidField("region_scheme", absl::StrCat("unknown scheme '", scheme_name, "'"));
      }
      breakdown.set_region_scheme(scheme_name);
      const bool by_citizenship = request.region_basis() == v1::REGION_BASIS_CITIZENSHIP;
      ValueCounts countries;
      for (const Cell* cell : cells) {
        MergeInto(by_citizenship ? cell->by_citizenship : cell->by_state, countries);
      }
      absl::flat_hash_map<std::string, Row> groups;
      for (const auto& [country, count] : countries) {
        const RegionGroup* group = country.empty() ? nullptr : scheme->GroupOf(country);
        Row& row = groups[group == nullptr ? std::string() : group->key];
        if (row.count == 0) {
          row.key = group == nullptr ? std::string() : group->key;
          row.name = group == nullptr ? kNotPlaced.Get(language) : group->Name(language);
        }
        row.count += count;
        if (!country.empty()) ++row.distinct;  // A missing citizenship is no country.
      }
      for (auto& [key, row] : groups) rows.push_back(std::move(row));
      break;
    }
    case v1::DIMENSION_CATEGORY:
    case v1::DIMENSION_STATUS: {
      std::array<int64_t, std::max(kStatuses, kCategories)> counts{};
      for (size_t i = 0; i < cells.size(); ++i) {
        const int category = (indices[i] / 2) % kCategories;
        const int status = indices[i] / (2 * kCategories);
        counts[dimension == v1::DIMENSION_STATUS ? status : category] += cells[i]->observers;
      }
      for (size_t value = 0; value < counts.size(); ++value) {
        if (counts[value] == 0) continue;
        const int v = static_cast<int>(value);
        rows.push_back(
            dimension == v1::DIMENSION_STATUS
                ? Row{rv1::ObserverStatus_Name(v), kStatusNames[value].Get(language), counts[value]}
                : Row{rv1::ObserverCategory_Name(v), kCategoryNames[value].Get(language),
                      counts[value]});
      }
      break;
    }
    case v1::DIMENSION_GENDER: {
      std::array<int64_t, kGenders> counts{};
      for (const Cell* cell : cells) {
        for (int g = 0; g < kGenders; ++g) counts[g] += cell->by_gender[g];
      }
      for (int g = 0; g < kGenders; ++g) {
        if (counts[g] > 0) {
          rows.push_back({rv1::Gender_Name(g), kGenderNames[g].Get(language), counts[g]});
        }
      }
      break;
    }
    default:
      return InvalidField("dimension", "unknown dimension");
  }

  std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
    return a.count != b.count ? a.count > b.count : a.key < b.key;
  });
  if (request.top_n() > 0 && rows.size() > static_cast<size_t>(request.top_n())) {
    Row other{std::string(kOtherKey), kOtherRow.Get(language)};
    other.folded = true;
    for (size_t i = static_cast<size_t>(request.top_n()); i < rows.size(); ++i) {
      other.count += rows[i].count;
      other.distinct += rows[i].distinct;
    }
    rows.resize(static_cast<size_t>(request.top_n()));
    rows.push_back(std::move(other));
  }
  int64_t total = 0;
  for (const Row& row : rows) total += row.count;
  breakdown.set_total(total);
  const bool has_distinct =
      dimension == v1::DIMENSION_OBSERVER_TYPE || dimension == v1::DIMENSION_REGION;
  for (Row& row : rows) {
    v1::BreakdownRow* out = breakdown.add_rows();
    out->set_key(std::move(row.key));
    out->set_display_name(std::move(row.name));
    out->set_count(row.count);
    out->set_share(total == 0 ? 0.0 : static_cast<double>(row.count) / static_cast<double>(total));
    if (has_distinct) out->set_distinct_sources(row.distinct);
    out->set_folded(row.folded);
  }
  return breakdown;
}

std::vector<std::string> Counters::KnownElections() const {
  std::vector<std::string> ids;
  for (const auto& [id, election] : elections_) {
    if (election.known) ids.push_back(id);
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

std::map<std::string, int64_t> Counters::Dump() const {
  std::map<std::string, int64_t> dump;
  for (const auto& [id, election] : elections_) {
    for (const auto& [index, cell] : election.cells) {
      const std::string prefix = absl::StrCat(id, "/", index, "/");
      dump[prefix + "observers"] = cell.observers;
      if (cell.from_organisations != 0) dump[prefix + "organisations"] = cell.from_organisations;
      if (cell.from_states != 0) dump[prefix + "states"] = cell.from_states;
      for (int g = 0; g < kGenders; ++g) {
        if (cell.by_gender[g] != 0) dump[absl::StrCat(prefix, "gender/", g)] = cell.by_gender[g];
      }
      for (const auto& [key, count] : cell.by_organisation) {
        dump[absl::StrCat(prefix, "organisation/", key)] = count;
      }
      for (const auto& [key, count] : cell.by_state)
        dump[absl::StrCat(prefix, "state/", key)] = count;
      for (const auto& [key, count] : cell.by_citizenship) {
        dump[absl::StrCat(prefix, "citizenship/", key)] = count;
      }
    }
  }
  return dump;
}

int64_t Counters::CounterCount() const {
  int64_t n = 0;
  for (const auto& [id, election] : elections_) {
    for (const auto& [index, cell] : election.cells) {
      n += 1 + (cell.from_organisations != 0) + (cell.from_states != 0);
      for (int64_t count : cell.by_gender) n += count != 0;
      n += static_cast<int64_t>(cell.by_organisation.size() + cell.by_state.size() +
                                cell.by_citizenship.size());
    }
  }
  return n;
}

}  // namespace observer::stats
