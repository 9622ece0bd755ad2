#pragma once
// The in-process runtimes as a test parameter, shared by the test suites that run on each:
// a suite parameterised by RuntimeKind reads, in its test names, the runtime it ran on
// (e.g. .../threads, or .../sim_4 with a world size).
#include <gtest/gtest.h>

#include <ostream>
#include <string>

namespace herd::test {

enum class RuntimeKind { threads, sim };

// Every in-process runtime, for ::testing::ValuesIn.
inline constexpr RuntimeKind every_runtime[] = {RuntimeKind::threads, RuntimeKind::sim};

// The runtime's name as the configuration spells it (run.runtime).
inline std::string runtime_name(RuntimeKind k) {
  switch (k) {
    case RuntimeKind::threads:
      return "threads";
    case RuntimeKind::sim:
      return "sim";
  }
  return "?";
}

inline void PrintTo(RuntimeKind k, std::ostream* os) {
  *os << runtime_name(k);
}

// The test-name generator of suites parameterised by RuntimeKind alone.
struct RuntimeName {
  std::string operator()(const ::testing::TestParamInfo<RuntimeKind>& info) const {
    return runtime_name(info.param);
  }
};

}  // namespace herd::test
