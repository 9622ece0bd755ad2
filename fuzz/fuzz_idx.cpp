// libFuzzer harness: the IDX reader (data/idx.hpp), images and labels, plain or gzip. The
// input is split in two files: its first two bytes (little-endian) give the length of the
// label file, which follows; the rest is the image file.
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "fuzz/dataset_checks.hpp"
#include "fuzz/fuzz_input.hpp"
#include "herd/data/idx.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  using namespace herd;
  if (size < 2) return 0;
  static fuzz::MemFile images("idx-images"), labels("idx-labels");
  const std::size_t label_bytes = std::min<std::size_t>(bytes[0] | bytes[1] << 8, size - 2);
  const std::string& labels_path = labels.hold(bytes + 2, label_bytes);
  const std::string& images_path = images.hold(bytes + 2 + label_bytes, size - 2 - label_bytes);
  fuzz::expect_only({ErrorKind::invalid_input}, [&] {
    const data::Dataset d = data::read_idx(images_path, labels_path);
    fuzz::check_dataset(d);
    HERD_FUZZ_CHECK(!d.sparse && d.num_classes >= 10);
    for (const float v : d.val) HERD_FUZZ_CHECK(v >= 0 && v <= 1);
  });
  return 0;
}
