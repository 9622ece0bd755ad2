// libFuzzer harness: a configuration as `herd run CONFIG key=value ...` reads it, up to and
// including the checks, nothing run: the TOML file (Config::from_toml_file), the command
// line's overrides (apply_override), then check() on the configuration or on each variant
// of a comparison, and the warnings about ineffective settings. The input is the file up to
// its first NUL byte; after it, one override per line. An accepted configuration must also
// read back equal from what it writes (to_toml: a run's config.toml).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz/fuzz_input.hpp"
#include "herd/run/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace herd;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::size_t nul = std::min(input.find('\0'), input.size());
  static fuzz::MemFile file("config");
  const std::string& path = file.hold(data, nul);
  fuzz::expect_only({ErrorKind::invalid_input}, [&] {
    run::Config config = run::Config::from_toml_file(path);
    for (std::string_view rest = input.substr(std::min(nul + 1, input.size())); !rest.empty();) {
      const std::size_t end = std::min(rest.find('\n'), rest.size());
      config.apply_override(rest.substr(0, end));
      rest.remove_prefix(std::min(end + 1, rest.size()));
    }
    if (config.compare().empty()) config.check();
    for (const run::CompareEntry& entry : config.compare()) config.variant(entry).check();
    (void)config.ineffective_settings();
    HERD_FUZZ_CHECK(run::Config::from_toml_string(config.to_toml(), "config.toml") == config);
  });
  return 0;
}
