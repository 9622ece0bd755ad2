#pragma once
// Field-by-field equality of two data sets, so a failure names the field that differs.
#include <gtest/gtest.h>

#include "herd/data/dataset.hpp"

namespace herd::data {

inline void expect_same_dataset(const Dataset& a, const Dataset& b) {
  EXPECT_EQ(a.rows, b.rows);
  EXPECT_EQ(a.cols, b.cols);
  EXPECT_EQ(a.sparse, b.sparse);
  EXPECT_EQ(a.row_ptr, b.row_ptr);
  EXPECT_EQ(a.col, b.col);
  EXPECT_EQ(a.val, b.val);
  EXPECT_EQ(a.y, b.y);
  EXPECT_EQ(a.num_classes, b.num_classes);
  EXPECT_EQ(a.class_values, b.class_values);
  EXPECT_EQ(a.label_mapping, b.label_mapping);
  EXPECT_EQ(a.source, b.source);
}

}  // namespace herd::data
