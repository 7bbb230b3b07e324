#include "stats-service/src/aggregate/counters.h"

#include <algorithm>
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
constexpr Names kOutsideScheme = {"Outside the scheme", "Вне схемы", ""};

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

// Adds `sign` to `counts[key]`, erasing the entry at zero. FAILED_PRECONDITION if that would
// make a count negative (the state is out of step with the registry).
absl::Status Adjust(absl::flat_hash_map<std::string, int64_t>& counts, const std::string& key,
                    int sign) {
  auto it = counts.find(key);
  if (sign < 0) {
    if (it == counts.end()) {
      return absl::FailedPreconditionError(
          absl::StrCat("counters out of step: no observer counted under '", key, "'"));
    }
    if (--it->second == 0) counts.erase(it);
    return absl::OkStatus();
  }
  if (it == counts.end()) {
    counts.emplace(key, 1);
  } else {
    ++it->second;
  }
  return absl::OkStatus();
}

absl::Status AdjustScalar(int64_t& count, int sign) {
  if (count + sign < 0) {
    return absl::FailedPreconditionError("counters out of step: a count would become negative");
  }
  count += sign;
  return absl::OkStatus();
}

struct Row {
  std::string key;
  std::string name;
  int64_t count = 0;
  int64_t distinct = 0;
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
    case rv1::RESOURCE_KIND_OBSERVER:
      if (before.has_observer()) RETURN_IF_ERROR(Count(before.observer(), -1));
      if (after.has_observer()) RETURN_IF_ERROR(Count(after.observer(), +1));
      return absl::OkStatus();
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("event at revision ", event.revision(), " has an unknown kind"));
  }
}

absl::Status Counters::Count(const rv1::Observer& observer, int sign) {
  ASSIGN_OR_RETURN(auto names, ParseObserverName(observer.name(), "name"));
  const int status = observer.status();
  const int category = observer.category();
  const int gender = observer.gender();
  if (status < 0 || status >= kStatuses || category < 0 || category >= kCategories || gender < 0 ||
      gender >= kGenders) {
    return absl::InvalidArgumentError(absl::StrCat(
        "observer ", observer.name(), " has an enum value this version does not know"));
  }
  const rv1::SendingBody& body = observer.sending_body();
  std::string organisation;
  if (body.has_organisation()) {
    absl::string_view code = body.organisation();
    if (!absl::ConsumePrefix(&code, kOrganisationPrefix) || code.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("observer ", observer.name(),
                                                     " names a malformed organisation '",
                                                     body.organisation(), "'"));
    }
    organisation = std::string(code);
  }

  auto election_it = elections_.find(names.first);
  if (election_it == elections_.end()) {
    if (sign < 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("counters out of step: no observers counted in ", names.first));
    }
    election_it = elections_.emplace(names.first, ElectionState{}).first;
  }
  ElectionState& election = election_it->second;
  const int index = CellIndex(status, category, observer.test());
  auto cell_it = election.cells.find(index);
  if (cell_it == election.cells.end()) {
    if (sign < 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("counters out of step: no observer counted for ", observer.name()));
    }
    cell_it = election.cells.emplace(index, Cell{}).first;
  }
  Cell& cell = cell_it->second;
  RETURN_IF_ERROR(AdjustScalar(cell.observers, sign));
  RETURN_IF_ERROR(AdjustScalar(cell.by_gender[gender], sign));
  if (body.has_organisation()) {
    RETURN_IF_ERROR(AdjustScalar(cell.from_organisations, sign));
    RETURN_IF_ERROR(Adjust(cell.by_organisation, organisation, sign));
  } else if (body.has_state()) {
    RETURN_IF_ERROR(AdjustScalar(cell.from_states, sign));
    RETURN_IF_ERROR(Adjust(cell.by_state, body.state(), sign));
  }
  RETURN_IF_ERROR(Adjust(cell.by_citizenship, observer.citizenship(), sign));
  if (cell.observers == 0) election.cells.erase(cell_it);
  if (!election.known && election.cells.empty()) elections_.erase(election_it);
  return absl::OkStatus();
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
          row.name = group == nullptr ? kOutsideScheme.Get(language) : group->Name(language);
        }
        row.count += count;
        ++row.distinct;
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
  }
  return breakdown;
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
      n += 4 + kGenders +
           static_cast<int64_t>(cell.by_organisation.size() + cell.by_state.size() +
                                cell.by_citizenship.size());
    }
  }
  return n;
}

}  // namespace observer::stats
