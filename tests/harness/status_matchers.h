// gMock matchers and assertion macros for absl::Status / absl::StatusOr values carrying the
// google.rpc details of common/errors.h (abseil 20220623 ships none of its own).
//
//   EXPECT_THAT(client.GetObserver(req), StatusIs(absl::StatusCode::kNotFound, "NOT_FOUND"));
//   EXPECT_THAT(result, HasViolation("observer.citizenship"));
//   ASSERT_OK_AND_ASSIGN(auto resp, client.CreateElection(req));
#ifndef OBSERVER_TESTS_HARNESS_STATUS_MATCHERS_H_
#define OBSERVER_TESTS_HARNESS_STATUS_MATCHERS_H_

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/errors.h"

namespace observer::testing {

inline const absl::Status& GetStatus(const absl::Status& s) { return s; }
template <typename T>
const absl::Status& GetStatus(const absl::StatusOr<T>& s) {
  return s.status();
}

// "INVALID_ARGUMENT: message [reason=VALIDATION_FAILED, fields=a,b, metadata k=v]".
std::string DescribeStatus(const absl::Status& status);

MATCHER(IsOk, "is OK") {
  const absl::Status& s = ::observer::testing::GetStatus(arg);
  if (!s.ok()) *result_listener << "status is " << ::observer::testing::DescribeStatus(s);
  return s.ok();
}

MATCHER_P(StatusIs, code,
          std::string(negation ? "isn't" : "is") + " " + absl::StatusCodeToString(code)) {
  const absl::Status& s = ::observer::testing::GetStatus(arg);
  *result_listener << "status is " << ::observer::testing::DescribeStatus(s);
  return s.code() == code;
}

MATCHER_P2(StatusIs, code, reason,
           std::string(negation ? "isn't" : "is") + " " + absl::StatusCodeToString(code) +
               " with reason " + std::string(reason)) {
  const absl::Status& s = ::observer::testing::GetStatus(arg);
  *result_listener << "status is " << ::observer::testing::DescribeStatus(s);
  return s.code() == code && ::observer::GetErrorDetails(s).reason == std::string(reason);
}

// INVALID_ARGUMENT / VALIDATION_FAILED with a BadRequest field violation naming `field`.
MATCHER_P(HasViolation, field,
          std::string(negation ? "isn't" : "is") +
              " INVALID_ARGUMENT/VALIDATION_FAILED naming field " + std::string(field)) {
  const absl::Status& s = ::observer::testing::GetStatus(arg);
  *result_listener << "status is " << ::observer::testing::DescribeStatus(s);
  if (s.code() != absl::StatusCode::kInvalidArgument) return false;
  auto d = ::observer::GetErrorDetails(s);
  if (d.reason != "VALIDATION_FAILED") return false;
  for (const auto& v : d.violations) {
    if (v.field == std::string(field)) return true;
  }
  return false;
}

// Like HasViolation, and the given field is the only one named.
MATCHER_P(HasOnlyViolation, field,
          std::string(negation ? "isn't" : "is") +
              " INVALID_ARGUMENT/VALIDATION_FAILED naming only field " + std::string(field)) {
  const absl::Status& s = ::observer::testing::GetStatus(arg);
  *result_listener << "status is " << ::observer::testing::DescribeStatus(s);
  if (s.code() != absl::StatusCode::kInvalidArgument) return false;
  auto d = ::observer::GetErrorDetails(s);
  if (d.reason != "VALIDATION_FAILED" || d.violations.empty()) return false;
  for (const auto& v : d.violations) {
    if (v.field != std::string(field)) return false;
  }
  return true;
}

// Thrown by Must()/MUST: gtest reports it as a failure of the running test with the message.
class TestFailure : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

template <typename T>
T MustImpl(absl::StatusOr<T> v, const char* expr, const char* file, int line) {
  if (!v.ok()) {
    std::ostringstream os;
    os << file << ":" << line << ": " << expr << " failed: " << DescribeStatus(v.status());
    throw TestFailure(os.str());
  }
  return *std::move(v);
}

inline void MustImpl(const absl::Status& s, const char* expr, const char* file, int line) {
  if (!s.ok()) {
    std::ostringstream os;
    os << file << ":" << line << ": " << expr << " failed: " << DescribeStatus(s);
    throw TestFailure(os.str());
  }
}

}  // namespace observer::testing

// The value of an OK StatusOr; otherwise throws TestFailure (the test fails with the status).
#define MUST(expr) ::observer::testing::MustImpl((expr), #expr, __FILE__, __LINE__)

#define OBS_TEST_CONCAT_INNER(a, b) a##b
#define OBS_TEST_CONCAT(a, b) OBS_TEST_CONCAT_INNER(a, b)

#define ASSERT_OK(expr) ASSERT_THAT((expr), ::observer::testing::IsOk())
#define EXPECT_OK(expr) EXPECT_THAT((expr), ::observer::testing::IsOk())

#define ASSERT_OK_AND_ASSIGN(lhs, rexpr) \
  ASSERT_OK_AND_ASSIGN_IMPL(OBS_TEST_CONCAT(status_or_value_, __LINE__), lhs, rexpr)
#define ASSERT_OK_AND_ASSIGN_IMPL(var, lhs, rexpr)                                              \
  auto var = (rexpr);                                                                           \
  ASSERT_TRUE(var.ok()) << #rexpr << ": " << ::observer::testing::DescribeStatus(var.status()); \
  lhs = std::move(var).value()

#endif  // OBSERVER_TESTS_HARNESS_STATUS_MATCHERS_H_
