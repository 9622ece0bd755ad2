// libFuzzer harness: the CIFAR-10 reader (data/cifar.hpp), plain or gzip. The input is one
// batch file; every record it holds must come back as a row of 3072 pixels in [0, 1] with a
// label 0-9 (check_dataset), and anything else must be refused as bad input.
#include <cstddef>
#include <cstdint>

#include "fuzz/dataset_checks.hpp"
#include "fuzz/fuzz_input.hpp"
#include "herd/data/cifar.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  using namespace herd;
  static fuzz::MemFile batch("cifar-batch");
  const std::string& path = batch.hold(bytes, size);
  fuzz::expect_only({ErrorKind::invalid_input}, [&] {
    const data::Dataset d = data::read_cifar10({path});
    fuzz::check_dataset(d);
    HERD_FUZZ_CHECK(!d.sparse && d.cols == data::cifar10_image_bytes && d.num_classes == 10);
    const bool gzip = size >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b;
    HERD_FUZZ_CHECK(gzip || d.rows * data::cifar10_record_bytes == size);  // every byte read
    for (const float v : d.val) HERD_FUZZ_CHECK(v >= 0 && v <= 1);
  });
  return 0;
}
