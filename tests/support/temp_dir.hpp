#pragma once
// Where the tests write their files: BUILD/test-tmp (tests/CMakeLists.txt), so that two build
// directories can run their suites at the same time although the tests use fixed names.
#include <filesystem>

namespace herd::test {

inline std::filesystem::path temp_dir() {
  return HERD_TEST_TMPDIR;
}

}  // namespace herd::test
