#pragma once
// The shape a reader promises (data/dataset.hpp), checked on every data set a harness reads.
#include "fuzz/fuzz_input.hpp"
#include "herd/data/dataset.hpp"

namespace herd::fuzz {

inline void check_dataset(const data::Dataset& d) {
  HERD_FUZZ_CHECK(d.rows > 0 && d.y.size() == d.rows);
  if (d.sparse) {
    HERD_FUZZ_CHECK(d.row_ptr.size() == d.rows + 1 && d.row_ptr.front() == 0);
    HERD_FUZZ_CHECK(d.row_ptr.back() == d.col.size() && d.col.size() == d.val.size());
    for (std::size_t i = 0; i < d.rows; ++i) {
      HERD_FUZZ_CHECK(d.row_ptr[i] <= d.row_ptr[i + 1]);
      for (std::uint64_t p = d.row_ptr[i]; p < d.row_ptr[i + 1]; ++p) {
        HERD_FUZZ_CHECK(d.col[p] < d.cols);
        HERD_FUZZ_CHECK(p == d.row_ptr[i] || d.col[p - 1] < d.col[p]);
      }
    }
  } else {
    HERD_FUZZ_CHECK(d.val.size() == d.rows * d.cols);
  }
  if (d.num_classes > 0) {
    HERD_FUZZ_CHECK(d.class_values.size() == std::size_t(d.num_classes));
    for (const float y : d.y) HERD_FUZZ_CHECK(y >= 0 && y < float(d.num_classes));
  } else {
    HERD_FUZZ_CHECK(d.class_values.empty());
  }
}

}  // namespace herd::fuzz
