#include "tests/harness/registry_fixture.h"

#include <iostream>

namespace observer::testing {

void RegistryTest::StartServer() {
  if (server_ == nullptr) server_ = std::make_unique<RegistryProcess>(dir_.path(), ServerArgs());
  client_.reset();
  ASSERT_OK(server_->Start());
  client_ = std::make_unique<RegistryClient>(server_->channel());
}

void RegistryTest::TearDown() {
  if (server_ != nullptr && HasFailure()) {
    std::cerr << "---- registry-service output (tail) ----\n"
              << server_->output_tail() << "\n---- end of registry-service output ----\n";
  }
  client_.reset();
  server_.reset();
}

}  // namespace observer::testing
