//===- Int4GemmTest.cpp - int4 GEMM (kiln.qlinear_int4) vs float64 --------===//
//
// Every variant this CPU has (generic, AVX2, AVX-512) against a float64
// reference of the op's definition, w = (q - zp[k / g]) * s[k / g]. The
// kernels sum in float32, per group and then across groups: the tolerance
// is (K + groups + 2) * 2^-24 of the sum of the magnitudes that meet in an
// output (|a| times |q - 8| s and the offset |8 - zp| s, the bias), plus
// 5e-7 for the activations' own approximation (GemmEpilogueLoops.h).
//
//===----------------------------------------------------------------------===//

#include "kernels/Int4Gemm.h"
#include "ActivationReference.h"
#include "Int4Operands.h"
#include "PoolContext.h"
#include "kernels/CpuFeatures.h"
#include "kernels/GemmEpilogue.h"
#include "kernels/Int4Packing.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

namespace {

using kiln::MatmulIsa;
using kiln::test::activationReference;

using namespace kiln::test::int4;

// Runs the kernel on operands `o` and compares c with the reference.
void checkAgainstReference(const Shape &s, const Operands &o, const Layout &l,
                           MatmulIsa isa, int32_t act, bool withBias) {
  const bool zp = !o.zero.empty();
  std::vector<uint8_t> storage;
  const uint8_t *packed = packShifted(o, s, l.packedShift, storage);
  int64_t lda = s.k * l.aColStride + l.aPad;
  int64_t ldc = s.n * l.cColStride + l.cPad;
  std::vector<float> c((size_t)(l.cOffset + s.m * ldc), NAN);
  float *aData = const_cast<float *>(o.a.data());
  kiln_memref2_f32 am{aData, aData, l.aOffset, {s.m, s.k}, {lda, l.aColStride}};
  kiln_memref2_f32 cm{
      c.data(), c.data(), l.cOffset, {s.m, s.n}, {ldc, l.cColStride}};
  kiln::Epilogue e{withBias ? o.bias.data() : nullptr, act};
  kiln::qlinearS4F32(am, packed, s.group, zp, cm, e, isa);

  int failures = 0;
  for (int64_t i = 0; i < s.m && failures < 5; ++i)
    for (int64_t j = 0; j < s.n && failures < 5; ++j) {
      double sum = 0, magnitude = 0;
      for (int64_t kk = 0; kk < s.k; ++kk) {
        double a = o.a[(size_t)(l.aOffset + i * lda + kk * l.aColStride)];
        size_t g = (size_t)((kk / s.group) * s.n + j);
        double scale = o.scales[g], z = zp ? o.zero[g] : 0;
        double q = o.q[(size_t)(kk * s.n + j)];
        sum += a * (q - z) * scale;
        double u = zp ? q : q + 8;
        magnitude += std::fabs(a) *
                     (std::fabs(u - 8) + std::fabs(8 - (zp ? z : 8))) * scale;
      }
      double bias = withBias ? o.bias[(size_t)j] : 0;
      double expect = activationReference(act, sum + bias);
      double got = c[(size_t)(l.cOffset + i * ldc + j * l.cColStride)];
      double terms = s.k + kiln::int4::groups(s.k, s.group) + 2;
      double tol = terms * 0x1p-24 * (magnitude + std::fabs(bias)) +
                   1e-6 * std::fabs(expect) + 5e-7;
      if (!(std::fabs(got - expect) <= tol)) {
        ADD_FAILURE() << shapeText(s, zp) << " act " << act << " bias "
                      << withBias << ": c[" << i << ", " << j << "] = " << got
                      << ", expected " << expect << " (tol " << tol << ")";
        ++failures;
      }
    }
  // Nothing outside the view was written.
  for (int64_t i = 0; i < s.m; ++i)
    for (int64_t pad = 0; pad < l.cPad; ++pad)
      EXPECT_TRUE(std::isnan(
          c[(size_t)(l.cOffset + i * ldc + s.n * l.cColStride + pad)]));
}

const char *isaName(MatmulIsa isa) {
  switch (isa) {
  case MatmulIsa::Generic:
    return "generic";
  case MatmulIsa::Avx2:
    return "avx2";
  case MatmulIsa::Neon:
    return "neon";
  default:
    return "avx512";
  }
}

class Int4GemmIsaTest : public ::testing::TestWithParam<MatmulIsa> {
protected:
  void SetUp() override {
    if (!kiln::cpuSupports(GetParam()))
      GTEST_SKIP() << "this CPU lacks " << isaName(GetParam());
  }
  void check(const Shape &s, bool zp, int32_t act = KILN_RT_ACT_NONE,
             bool withBias = true, const Layout &l = {},
             bool floatZeroPoints = false) {
    Operands o = randomOperands(s, l, zp, floatZeroPoints,
                                unsigned(s.m * 131 + s.k * 7 + s.n));
    checkAgainstReference(s, o, l, GetParam(), act, withBias);
  }
};

TEST_P(Int4GemmIsaTest, MatchesReference) {
  forEachReferenceCase([&](auto... args) { check(args...); });
}

TEST_P(Int4GemmIsaTest, FloatZeroPoints) {
  forEachFloatZeroPointCase([&](auto... args) { check(args...); });
}

TEST_P(Int4GemmIsaTest, EveryActivationWithAndWithoutBias) {
  forEachActivationCase([&](auto... args) { check(args...); });
}

TEST_P(Int4GemmIsaTest, AlignedAndStridedOperands) {
  forEachLayoutCase([&](auto... args) { check(args...); });
}

TEST_P(Int4GemmIsaTest, EmptyProducts) {
  // K = 0: c = act(bias); M or N = 0: nothing to do.
  Layout l;
  for (const Shape &s : kEmptyShapes)
    for (bool zp : {false, true}) {
      Operands o = randomOperands(s, l, zp, false, 5);
      checkAgainstReference(s, o, l, GetParam(), KILN_RT_ACT_RELU, true);
    }
}

TEST_P(Int4GemmIsaTest, MatchesReferenceOnThePool) {
  kiln::test::PoolContext context(3);
  // Decode (one range, the panels split between threads) and prefill
  // (ranges of rows as well).
  for (int64_t m : {1, 8, 70})
    for (bool zp : {false, true})
      check({m, 256, 200, 64}, zp, KILN_RT_ACT_SILU);
  EXPECT_EQ(context.error, "");
}

INSTANTIATE_TEST_SUITE_P(Isas, Int4GemmIsaTest,
                         ::testing::Values(MatmulIsa::Generic, MatmulIsa::Avx2,
                                           MatmulIsa::Avx512, MatmulIsa::Neon),
                         [](const auto &info) {
                           return std::string(isaName(info.param));
                         });

TEST(Int4Packing, UnpacksWhatItPacked) {
  const int64_t k = 45, n = 19, g = 16;
  for (bool zp : {false, true}) {
    Operands o = randomOperands({1, k, n, g}, Layout{}, zp, false, 3);
    std::vector<uint8_t> packed((size_t)kiln::int4::packedBytes(k, n, g, zp));
    ASSERT_TRUE(kiln::int4::pack(o.q.data(), o.scales.data(),
                                 zp ? o.zero.data() : nullptr, k, n, g,
                                 packed.data()));
    for (int64_t kk = 0; kk < k; ++kk)
      for (int64_t j = 0; j < n; ++j)
        ASSERT_EQ(kiln::int4::nibble(packed.data(), k, g, zp, kk, j),
                  o.q[(size_t)(kk * n + j)] + (zp ? 0 : 8))
            << kk << ", " << j;
  }
}

TEST(Int4Packing, RefusesValuesOutOfRange) {
  std::vector<int8_t> q(16 * 8, 0);
  std::vector<float> scales(8, 1.0f), zero(8, 8.0f);
  std::vector<uint8_t> packed((size_t)kiln::int4::packedBytes(16, 8, 16, true));
  q[5] = 8; // signed values are in [-8, 7]
  EXPECT_FALSE(kiln::int4::pack(q.data(), scales.data(), nullptr, 16, 8, 16,
                                packed.data()));
  EXPECT_TRUE(kiln::int4::pack(q.data(), scales.data(), zero.data(), 16, 8, 16,
                               packed.data()));
  q[5] = -1; // unsigned ones, with zero points, in [0, 15]
  EXPECT_FALSE(kiln::int4::pack(q.data(), scales.data(), zero.data(), 16, 8, 16,
                                packed.data()));
}

TEST(Int4GemmEntryPoint, RunsTheBestVariant) {
  kiln::test::PoolContext context(2);
  const Shape s{8, 768, 96, 32};
  Layout l;
  l.aOffset = l.aPad = l.cOffset = l.cPad = 0;
  l.packedShift = 0;
  Operands o = randomOperands(s, l, false, false, 9);
  std::vector<uint8_t> storage;
  const uint8_t *packed = packShifted(o, s, 0, storage);
  std::vector<float> c((size_t)(s.m * s.n)), expect((size_t)(s.m * s.n));
  kiln_memref2_f32 am{o.a.data(), o.a.data(), 0, {s.m, s.k}, {s.k, 1}};
  auto *p = reinterpret_cast<int8_t *>(const_cast<uint8_t *>(packed));
  int64_t bytes = kiln::int4::packedBytes(s.k, s.n, s.group, false);
  kiln_memref1_i8 pm{p, p, 0, {bytes}, {1}};
  kiln_memref1_f32 bm{o.bias.data(), o.bias.data(), 0, {s.n}, {1}};
  kiln_memref2_f32 cm{c.data(), c.data(), 0, {s.m, s.n}, {s.n, 1}};
  _mlir_ciface_kiln_rt_qlinear_s4_f32(&am, &pm, &bm, &cm, KILN_RT_ACT_GELU,
                                      (int32_t)s.group, 0);
  EXPECT_EQ(context.error, "");
  kiln_memref2_f32 em{expect.data(), expect.data(), 0, {s.m, s.n}, {s.n, 1}};
  kiln::qlinearS4F32(am, packed, s.group, false, em,
                     kiln::Epilogue{o.bias.data(), KILN_RT_ACT_GELU},
                     kiln::bestMatmulIsa());
  EXPECT_EQ(c, expect);
}

TEST(Int4GemmEntryPoint, ReportsBadArguments) {
  kiln::test::PoolContext context(1);
  const int64_t m = 2, k = 64, n = 16;
  std::vector<float> a((size_t)(m * k)), c((size_t)(m * n), 7.0f),
      bias((size_t)n);
  int64_t bytes = kiln::int4::packedBytes(k, n, 32, false);
  std::vector<int8_t> packed((size_t)bytes);
  kiln_memref2_f32 am{a.data(), a.data(), 0, {m, k}, {k, 1}};
  kiln_memref1_i8 pm{packed.data(), packed.data(), 0, {bytes}, {1}};
  kiln_memref1_f32 bm{bias.data(), bias.data(), 0, {n}, {1}};
  kiln_memref2_f32 cm{c.data(), c.data(), 0, {m, n}, {n, 1}};

  _mlir_ciface_kiln_rt_qlinear_s4_f32(&am, &pm, &bm, &cm, 0, 12, 0);
  EXPECT_EQ(context.error,
            "qlinear_s4_f32: unknown activation 0, or group size 12 (a "
            "positive multiple of 8) or zero_points 0 (0 or 1)");
  context.error.clear();
  // Packed for group 32 without zero points, called with them.
  _mlir_ciface_kiln_rt_qlinear_s4_f32(&am, &pm, &bm, &cm, 0, 32, 1);
  EXPECT_EQ(context.error,
            "qlinear_s4_f32: a [2, 64] and c [2, 16] need 768 packed weight "
            "bytes (group 32, zero points), got 640 (bias 16)");
  context.error.clear();
  _mlir_ciface_kiln_rt_qlinear_s4_f32(&am, &pm, &bm, &cm, 9, 32, 0);
  EXPECT_NE(context.error.find("unknown activation 9"), std::string::npos);
  for (float v : c)
    EXPECT_EQ(v, 7.0f);
}

} // namespace
