// For the aggregation unit tests: the built-in M49 schemes plus the commission's
// kz2021-article scheme from data/region-schemes (OBSERVER_REGION_SCHEMES_DIR), built once.
#ifndef OBSERVER_STATS_SERVICE_SRC_AGGREGATE_TEST_REGIONS_H_
#define OBSERVER_STATS_SERVICE_SRC_AGGREGATE_TEST_REGIONS_H_

#include <cstdlib>
#include <iostream>
#include <memory>

#include "absl/strings/str_cat.h"
#include "common/country_codes.h"
#include "stats-service/src/aggregate/regions.h"

namespace observer::stats::testing {

inline const RegionDirectory& Regions() {
  static const RegionDirectory* const regions = [] {
    absl::StatusOr<std::unique_ptr<RegionDirectory>> directory = RegionDirectory::Create(
        CountryCodes::Default(),
        {absl::StrCat(OBSERVER_REGION_SCHEMES_DIR, "/kz2021-article.scheme")});
    if (!directory.ok()) {
      std::cerr << "cannot build the region directory: " << directory.status() << "\n";
      std::abort();
    }
    return directory->release();
  }();
  return *regions;
}

}  // namespace observer::stats::testing

#endif  // OBSERVER_STATS_SERVICE_SRC_AGGREGATE_TEST_REGIONS_H_
