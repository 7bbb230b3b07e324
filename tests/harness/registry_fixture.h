// Base fixture: a fresh store directory and a running registry-service per test. On failure,
// the server's output is printed.
#ifndef OBSERVER_TESTS_HARNESS_REGISTRY_FIXTURE_H_
#define OBSERVER_TESTS_HARNESS_REGISTRY_FIXTURE_H_

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "tests/harness/builders.h"
#include "tests/harness/registry_client.h"
#include "tests/harness/registry_process.h"
#include "tests/harness/status_matchers.h"
#include "tests/harness/temp_dir.h"

namespace observer::testing {

class RegistryTest : public ::testing::Test {
 protected:
  // Extra server flags for this fixture.
  virtual std::vector<std::string> ServerArgs() const { return {}; }

  void SetUp() override { ASSERT_NO_FATAL_FAILURE(StartServer()); }
  void TearDown() override;

  // Starts (or restarts after Stop/Kill) the server on this test's store and connects client().
  void StartServer();
  RegistryProcess& server() { return *server_; }
  RegistryClient& client() { return *client_; }
  const TempDir& dir() const { return dir_; }

  int64_t Head() { return MUST(client().HeadRevision()); }
  rv1::Election CreateElection(const rv1::CreateElectionRequest& req) {
    return MUST(client().CreateElection(req)).election();
  }
  rv1::Organisation CreateOrganisation(const rv1::CreateOrganisationRequest& req) {
    return MUST(client().CreateOrganisation(req)).organisation();
  }
  // A new valid observer (unique ID document) in `parent`.
  rv1::Observer CreateObserver(const std::string& parent, absl::string_view citizenship = "DE") {
    return MUST(client().CreateObserver(NewObserverRequest(parent, NextSeq(), citizenship)))
        .observer();
  }
  rv1::Observer Accredit(const std::string& name) {
    rv1::AccreditObserverRequest req;
    req.set_name(name);
    req.set_decision_reference("CEC-TEST-1");
    return MUST(client().AccreditObserver(req)).observer();
  }

 private:
  TempDir dir_;
  std::unique_ptr<RegistryProcess> server_;
  std::unique_ptr<RegistryClient> client_;
};

}  // namespace observer::testing

#endif  // OBSERVER_TESTS_HARNESS_REGISTRY_FIXTURE_H_
