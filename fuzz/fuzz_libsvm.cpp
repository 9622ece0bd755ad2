// libFuzzer harness: the LIBSVM reader (data/libsvm.hpp) on any bytes, plain or gzip. A file
// it accepts must give a well-formed data set, and read the same again as a test file with
// its own feature count and class mapping (what `data.test` does with the training file's).
#include <cstddef>
#include <cstdint>

#include "fuzz/dataset_checks.hpp"
#include "fuzz/fuzz_input.hpp"
#include "herd/data/libsvm.hpp"

namespace {

// Every character of a message is printable (the reader escapes the file's bytes).
bool printable(const std::string& message) {
  for (const char c : message) {
    const auto b = static_cast<unsigned char>(c);
    if ((b < 0x20 && c != '\n') || b >= 0x7f) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  using namespace herd;
  static fuzz::MemFile file("libsvm");
  const std::string& path = file.hold(bytes, size);
  try {
    const data::Dataset d = data::read_libsvm(path);
    fuzz::check_dataset(d);
    data::LibsvmOptions again;
    again.num_features = d.cols;
    again.class_values = d.class_values;
    const data::Dataset e = data::read_libsvm(path, again);
    HERD_FUZZ_CHECK(e.y == d.y && e.col == d.col && e.val == d.val && e.cols == d.cols);
  } catch (const InvalidInput& e) {
    HERD_FUZZ_CHECK(printable(e.what()));
  }
  return 0;
}
