// Early-return helpers for absl::Status / absl::StatusOr (abseil 20220623 has none public).
#ifndef OBSERVER_COMMON_STATUS_MACROS_H_
#define OBSERVER_COMMON_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define OBSERVER_STATUS_CONCAT_INNER(a, b) a##b
#define OBSERVER_STATUS_CONCAT(a, b) OBSERVER_STATUS_CONCAT_INNER(a, b)
#define OBSERVER_ASSIGN_OR_RETURN_IMPL(lhs, tmp, expr) \
  auto tmp = (expr);                                   \
  if (!tmp.ok()) return tmp.status();                  \
  lhs = std::move(*tmp)

// ASSIGN_OR_RETURN(auto x, F()): declares/assigns x from a StatusOr or returns its error.
#define ASSIGN_OR_RETURN(lhs, expr) \
  OBSERVER_ASSIGN_OR_RETURN_IMPL(lhs, OBSERVER_STATUS_CONCAT(status_or_, __LINE__), expr)

// RETURN_IF_ERROR(F()): returns the status of F() if it is not OK.
#define RETURN_IF_ERROR(expr)                           \
  do {                                                  \
    if (absl::Status status_ = (expr); !status_.ok()) { \
      return status_;                                   \
    }                                                   \
  } while (false)

#endif  // OBSERVER_COMMON_STATUS_MACROS_H_
