// A temporary directory removed (recursively) when the owner goes out of scope.
#ifndef OBSERVER_TESTS_HARNESS_TEMP_DIR_H_
#define OBSERVER_TESTS_HARNESS_TEMP_DIR_H_

#include <string>

namespace observer::testing {

class TempDir {
 public:
  // Creates a fresh directory under $TEST_TMPDIR, $TMPDIR or /tmp. Throws on failure.
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // path() + "/" + name.
  std::string Join(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace observer::testing

#endif  // OBSERVER_TESTS_HARNESS_TEMP_DIR_H_
