//===- NormalizationTest.cpp - LayerNorm and RMSNorm rows against f64 -----===//
//
// kiln_rt_norm_f32 for each ISA against a float64 reference, within 2e-6 of
// the output's magnitude plus 1e-6: row lengths around the 16 lanes of the
// sums, views with spaced rows and columns, rows split over a pool, a
// constant row (zero variance) and a missing bias.
//
//===----------------------------------------------------------------------===//

#include "kernels/Normalization.h"
#include "IsaParam.h"
#include "PoolContext.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

namespace {

using kiln::MatmulIsa;

struct Case {
  int64_t rows, cols;
  int32_t kind;
  bool bias;
  int64_t rowPad, colStride; // of x; out is dense
};

std::string describe(const Case &c) {
  return std::to_string(c.rows) + "x" + std::to_string(c.cols) +
         (c.kind == KILN_RT_NORM_RMS ? " rms" : " layer") +
         (c.bias ? " bias" : "") + " pad " + std::to_string(c.rowPad) +
         " col stride " + std::to_string(c.colStride);
}

kiln_memref2_f32 view(std::vector<float> &data, int64_t rows, int64_t cols,
                      int64_t sm, int64_t sn) {
  kiln_memref2_f32 m{};
  m.allocated = m.aligned = data.data();
  m.offset = 1; // a view that does not start at the buffer
  m.sizes[0] = rows;
  m.sizes[1] = cols;
  m.strides[0] = sm;
  m.strides[1] = sn;
  return m;
}

kiln_memref1_f32 vec(std::vector<float> &data) {
  kiln_memref1_f32 m{};
  m.allocated = m.aligned = data.data();
  m.sizes[0] = int64_t(data.size());
  m.strides[0] = 1;
  return m;
}

void check(const Case &c, MatmulIsa isa) {
  std::mt19937 rng(unsigned(c.rows * 31 + c.cols));
  std::uniform_real_distribution<float> dist(-3, 5);
  const int64_t sm = c.cols * c.colStride + c.rowPad;
  std::vector<float> x(size_t(1 + c.rows * sm), NAN),
      y(size_t(1 + c.rows * c.cols), NAN);
  for (int64_t r = 0; r < c.rows; ++r)
    for (int64_t j = 0; j < c.cols; ++j)
      x[size_t(1 + r * sm + j * c.colStride)] = r == 1 ? 2.5f : dist(rng);
  std::vector<float> scale(size_t(c.cols)), bias(size_t(c.bias ? c.cols : 0));
  for (float &v : scale)
    v = dist(rng);
  for (float &v : bias)
    v = dist(rng);
  const float eps = 1e-5f;
  kiln_memref2_f32 xv = view(x, c.rows, c.cols, sm, c.colStride);
  kiln_memref2_f32 yv = view(y, c.rows, c.cols, c.cols, 1);
  kiln::normF32(xv, scale.data(), c.bias ? bias.data() : nullptr, yv, eps,
                c.kind, isa);
  for (int64_t r = 0; r < c.rows; ++r) {
    const float *xr = x.data() + 1 + r * sm;
    double mean = 0, ss = 0;
    for (int64_t j = 0; j < c.cols; ++j)
      mean += xr[j * c.colStride];
    mean /= double(c.cols);
    for (int64_t j = 0; j < c.cols; ++j) {
      double v = xr[j * c.colStride];
      double d = c.kind == KILN_RT_NORM_RMS ? v : v - mean;
      ss += d * d;
    }
    double inv = 1 / std::sqrt(ss / double(c.cols) + eps);
    for (int64_t j = 0; j < c.cols; ++j) {
      double v = xr[j * c.colStride];
      double want = c.kind == KILN_RT_NORM_RMS
                        ? v * inv * scale[size_t(j)]
                        : (v - mean) * inv * scale[size_t(j)] +
                              (c.bias ? bias[size_t(j)] : 0.0);
      double got = y[size_t(1 + r * c.cols + j)];
      ASSERT_NEAR(got, want, 2e-6 * std::fabs(want) + 1e-6)
          << describe(c) << " at row " << r << " col " << j;
    }
  }
}

const Case kCases[] = {
    {3, 768, KILN_RT_NORM_LAYER, true, 0, 1},
    {4, 768, KILN_RT_NORM_RMS, false, 0, 1},
    {5, 1, KILN_RT_NORM_LAYER, true, 0, 1},
    {2, 7, KILN_RT_NORM_LAYER, false, 0, 1},
    {3, 16, KILN_RT_NORM_RMS, false, 5, 1},
    {3, 33, KILN_RT_NORM_LAYER, true, 3, 1},
    {2, 1000, KILN_RT_NORM_LAYER, true, 0, 2},
    {2, 45, KILN_RT_NORM_RMS, false, 1, 3},
    {300, 96, KILN_RT_NORM_LAYER, true, 0, 1},
};

class NormalizationIsaTest : public ::testing::TestWithParam<MatmulIsa> {
protected:
  void SetUp() override {
    if (!kiln::cpuSupports(GetParam()))
      GTEST_SKIP() << "this CPU lacks the ISA";
  }
};

TEST_P(NormalizationIsaTest, MatchesReference) {
  for (const Case &c : kCases) {
    check(c, GetParam());
    if (HasFatalFailure())
      return;
  }
}

INSTANTIATE_TEST_SUITE_P(Isas, NormalizationIsaTest, kiln::test::allIsas(),
                         kiln::test::isaName);

TEST(NormalizationParallel, MatchesReferenceOnThePool) {
  kiln::test::PoolContext context(3);
  for (const Case &c : kCases) {
    check(c, kiln::bestMatmulIsa());
    if (HasFatalFailure())
      return;
  }
  EXPECT_EQ(context.error, "");
}

TEST(NormalizationEntryPoint, ReportsInconsistentSizes) {
  kiln::test::PoolContext context(1);
  std::vector<float> x(13, 1.0f), y(13, 7.0f), scale(5, 1.0f), bias(4, 0.0f);
  kiln_memref2_f32 xv = view(x, 2, 6, 6, 1), yv = view(y, 2, 6, 6, 1);
  kiln_memref1_f32 sv = vec(scale), bv = vec(bias);
  _mlir_ciface_kiln_rt_norm_f32(&xv, &sv, &bv, &yv, 1e-5f, KILN_RT_NORM_LAYER);
  EXPECT_EQ(context.error, "norm_f32: x [2, 6] and out [2, 6] need 6 scales "
                           "and 0 or 6 biases, got 5 and 4");
  EXPECT_EQ(y[1], 7.0f);
  context.error.clear();
  _mlir_ciface_kiln_rt_norm_f32(&xv, &sv, &bv, &yv, 1e-5f, 7);
  EXPECT_EQ(context.error, "norm_f32: unknown kind 7");
}

} // namespace
