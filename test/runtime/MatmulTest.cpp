//===- MatmulTest.cpp - Batch matmul kernel against a naive reference -----===//

#include "IsaParam.h"
#include "PoolContext.h"
#include "kernels/BatchMatmul.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

namespace {

using kiln::MatmulIsa;

enum class Layout {
  RowMajor,   // last dim contiguous
  Transposed, // middle dim contiguous (a transposed view)
  Padded,     // row-major with a leading dimension larger than the row
  Broadcast,  // batch of 1, for inputs
  Expanded,   // full batch with batch stride 0, for inputs
};

const char *layoutName(Layout l) {
  switch (l) {
  case Layout::RowMajor:
    return "rowmajor";
  case Layout::Transposed:
    return "transposed";
  case Layout::Padded:
    return "padded";
  case Layout::Broadcast:
    return "broadcast";
  case Layout::Expanded:
    return "expanded";
  }
  return "?";
}

// A [batch, rows, cols] view over its own storage, with a nonzero offset.
struct Operand {
  std::vector<float> storage;
  kiln_memref3_f32 ref;

  Operand(int64_t batch, int64_t rows, int64_t cols, Layout layout,
          std::mt19937 &rng) {
    int64_t offset = 5;
    int64_t s0, s1, s2, perBatch;
    switch (layout) {
    case Layout::Transposed:
      s1 = 1, s2 = rows, perBatch = rows * cols;
      break;
    case Layout::Padded:
      s1 = cols + 3, s2 = 1, perBatch = rows * (cols + 3) + 7;
      break;
    default:
      s1 = cols, s2 = 1, perBatch = rows * cols;
      break;
    }
    s0 = layout == Layout::Expanded ? 0 : perBatch;
    storage.assign((size_t)(offset + batch * perBatch + 8), NAN);
    std::uniform_real_distribution<float> dist(-1, 1);
    for (int64_t i = 0; i < batch; ++i)
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < cols; ++c)
          storage[(size_t)(offset + i * s0 + r * s1 + c * s2)] = dist(rng);
    ref = {storage.data(),
           storage.data(),
           offset,
           {batch, rows, cols},
           {s0, s1, s2}};
  }

  float at(int64_t i, int64_t r, int64_t c) const {
    if (ref.sizes[0] == 1)
      i = 0;
    return ref.aligned[ref.offset + i * ref.strides[0] + r * ref.strides[1] +
                       c * ref.strides[2]];
  }
};

struct Shape {
  int64_t batch, m, n, k;
};

void checkMatmul(const Shape &s, Layout la, Layout lb, Layout lc,
                 MatmulIsa isa) {
  std::mt19937 rng(unsigned(s.m * 131 + s.n * 17 + s.k));
  Operand a(la == Layout::Broadcast ? 1 : s.batch, s.m, s.k,
            la == Layout::Broadcast ? Layout::RowMajor : la, rng);
  Operand b(lb == Layout::Broadcast ? 1 : s.batch, s.k, s.n,
            lb == Layout::Broadcast ? Layout::RowMajor : lb, rng);
  Operand c(s.batch, s.m, s.n, lc, rng); // random garbage: must be overwritten
  kiln::batchMatmulF32(a.ref, b.ref, c.ref, isa);

  for (int64_t i = 0; i < s.batch; ++i)
    for (int64_t m = 0; m < s.m; ++m)
      for (int64_t n = 0; n < s.n; ++n) {
        double want = 0, scale = 0;
        for (int64_t k = 0; k < s.k; ++k) {
          want += (double)a.at(i, m, k) * b.at(i, k, n);
          scale += std::fabs((double)a.at(i, m, k) * b.at(i, k, n));
        }
        float got = c.at(i, m, n);
        ASSERT_NEAR(got, want, 1e-6 * scale + 1e-6)
            << "batch " << i << " m " << m << " n " << n << " shape ["
            << s.batch << ", " << s.m << ", " << s.n << ", " << s.k << "] a "
            << layoutName(la) << " b " << layoutName(lb) << " c "
            << layoutName(lc);
      }
  // Padding between rows must be untouched.
  if (lc == Layout::Padded && s.n > 0 && s.m > 0)
    EXPECT_TRUE(std::isnan(c.storage[c.ref.offset + s.n]));
}

const Shape kShapes[] = {
    {1, 1, 1, 1},
    {1, 7, 5, 3},
    {2, 8, 32, 16},
    {3, 17, 33, 19},
    {1, 64, 64, 64},
    {2, 50, 70, 300},
    {1, 1, 129, 257},
    {4, 13, 1, 9},
    {1, 97, 200, 31},
    {2, 3, 4, 0},
    {1, 0, 5, 4},
    // Few rows take the streaming path, also across several column blocks.
    {3, 2, 300, 40},
    {1, 4, 5000, 7},
};

class MatmulIsaTest : public ::testing::TestWithParam<MatmulIsa> {
protected:
  void SetUp() override {
    if (!kiln::cpuSupports(GetParam()))
      GTEST_SKIP() << "this CPU lacks the ISA";
  }
};

TEST_P(MatmulIsaTest, MatchesReferenceForEveryLayout) {
  const Layout inputs[] = {Layout::RowMajor, Layout::Transposed, Layout::Padded,
                           Layout::Broadcast, Layout::Expanded};
  const Layout outputs[] = {Layout::RowMajor, Layout::Padded,
                            Layout::Transposed};
  for (const Shape &s : kShapes)
    for (Layout la : inputs)
      for (Layout lb : inputs)
        for (Layout lc : outputs) {
          checkMatmul(s, la, lb, lc, GetParam());
          if (HasFatalFailure())
            return;
        }
}

INSTANTIATE_TEST_SUITE_P(Isas, MatmulIsaTest, kiln::test::allIsas(),
                         kiln::test::isaName);

TEST(MatmulParallel, MatchesReferenceOnThePool) {
  kiln::test::PoolContext context(4);
  const Shape shapes[] = {{1, 200, 300, 150},
                          {6, 64, 64, 64},
                          {1, 1, 4096, 256},
                          {1, 513, 40, 64},
                          {2, 3, 4500, 20}};
  for (const Shape &s : shapes) {
    checkMatmul(s, Layout::RowMajor, Layout::RowMajor, Layout::RowMajor,
                kiln::bestMatmulIsa());
    checkMatmul(s, Layout::Padded, Layout::Transposed, Layout::Padded,
                kiln::bestMatmulIsa());
    checkMatmul(s, Layout::Broadcast, Layout::RowMajor, Layout::RowMajor,
                kiln::bestMatmulIsa());
  }
  EXPECT_EQ(context.error, "");
}

TEST(MatmulEntryPoint, ReportsInconsistentSizes) {
  kiln::test::PoolContext context(1);
  std::mt19937 rng(1);
  Operand a(2, 4, 5, Layout::RowMajor, rng);
  Operand b(3, 5, 6, Layout::RowMajor, rng); // batch 3 vs 2
  Operand c(2, 4, 6, Layout::RowMajor, rng);
  float before = c.at(0, 0, 0);
  _mlir_ciface_kiln_rt_batch_matmul_f32(&a.ref, &b.ref, &c.ref);
  EXPECT_EQ(context.error, "batch_matmul_f32: sizes a [2, 4, 5] b [3, 5, 6] "
                           "c [2, 4, 6] do not match");
  EXPECT_EQ(c.at(0, 0, 0), before);
}

TEST(MatmulEntryPoint, RunsWithoutContext) {
  ASSERT_EQ(kiln_rt_current_context(), nullptr);
  std::mt19937 rng(2);
  Operand a(1, 3, 2, Layout::RowMajor, rng);
  Operand b(1, 2, 3, Layout::RowMajor, rng);
  Operand c(1, 3, 3, Layout::RowMajor, rng);
  _mlir_ciface_kiln_rt_batch_matmul_f32(&a.ref, &b.ref, &c.ref);
  EXPECT_NEAR(c.at(0, 1, 2),
              a.at(0, 1, 0) * b.at(0, 0, 2) + a.at(0, 1, 1) * b.at(0, 1, 2),
              1e-6);
}

} // namespace
