// libFuzzer harness: decoding a checkpoint (algo/checkpoint.hpp), what `herd run --resume`
// does with the file before it restores any rank: magic, version, checksum, header, record
// count and records. The checksum would stop almost every mutation at the door, so when the
// first input byte is odd the harness seals the rest with its correct CRC-32 first (the
// decoder then sees a well-formed file around corrupt contents); when even, the rest is
// decoded as it is.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "fuzz/fuzz_input.hpp"
#include "herd/algo/checkpoint.hpp"
#include "herd/core/bytes.hpp"
#include "herd/core/durable_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace herd;
  if (size < 1) return 0;
  Bytes file(data + 1, data + size);
  if ((data[0] & 1) != 0 && file.size() >= 4) {
    const std::size_t body = file.size() - 4;
    ByteWriter crc;
    crc.put(checksum(ByteSpan(file).subspan(0, body)));
    std::copy(crc.bytes.begin(), crc.bytes.end(), file.begin() + std::ptrdiff_t(body));
  }
  fuzz::expect_only({ErrorKind::io}, [&] {
    const algo::CheckpointContents c = algo::decode_checkpoint(file, "checkpoint fuzz.bin");
    std::size_t total = 0;
    for (const ByteSpan r : c.records) {
      HERD_FUZZ_CHECK(r.data() >= file.data() && r.data() + r.size() <= file.data() + file.size());
      total += r.size();
    }
    HERD_FUZZ_CHECK(total <= file.size());
  });
  return 0;
}
