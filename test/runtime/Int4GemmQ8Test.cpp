//===- Int4GemmQ8Test.cpp - int4 GEMM with int8 activations vs float64 ----===//
//
// kiln_rt_qlinear_s4_q8_f32 (kiln.qlinear_int4 quant = "row"): every variant
// this CPU has (generic, AVX2, AVX-512 VNNI) against a float64 reference of
// the definition, the rows quantized here as the op says (s = max |a| /
// 127 in f32, q = round(a / s) to nearest even) and then
// c = s * sum_k q * (w - zp) * scale + bias. The integer sums are exact;
// the kernels add the groups in f32, one multiply-add each (two with zero
// points), then scale and add the bias: the tolerance is 2 * (groups + 2) *
// 2^-24 of the sum of the magnitudes that meet, plus 5e-7 for the
// activations' approximation. The result also stays within half a step of
// the activations' quantization of the unquantized product, and the
// variants agree bit for bit.
//
//===----------------------------------------------------------------------===//

#include "ActivationReference.h"
#include "Int4Operands.h"
#include "PoolContext.h"
#include "kernels/CpuFeatures.h"
#include "kernels/GemmEpilogue.h"
#include "kernels/Int4Gemm.h"
#include "kernels/Int4Packing.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

namespace {

using kiln::Int8Isa;
using kiln::test::activationReference;
using namespace kiln::test::int4;

struct KernelRun {
  std::vector<float> c;
  int64_t ldc;
};

// Runs the kernel on operands `o` with `isa`; c starts as NaN.
KernelRun runKernel(const Shape &s, const Operands &o, const Layout &l,
                    Int8Isa isa, int32_t act, bool withBias) {
  const bool zp = !o.zero.empty();
  std::vector<uint8_t> storage;
  const uint8_t *packed = packShifted(o, s, l.packedShift, storage);
  int64_t lda = s.k * l.aColStride + l.aPad;
  KernelRun r;
  r.ldc = s.n * l.cColStride + l.cPad;
  r.c.assign((size_t)(l.cOffset + s.m * r.ldc), NAN);
  float *aData = const_cast<float *>(o.a.data());
  kiln_memref2_f32 am{aData, aData, l.aOffset, {s.m, s.k}, {lda, l.aColStride}};
  kiln_memref2_f32 cm{
      r.c.data(), r.c.data(), l.cOffset, {s.m, s.n}, {r.ldc, l.cColStride}};
  kiln::Epilogue e{withBias ? o.bias.data() : nullptr, act};
  kiln::qlinearS4Q8F32(am, packed, s.group, zp, cm, e, isa);
  return r;
}

void checkAgainstReference(const Shape &s, const Operands &o, const Layout &l,
                           Int8Isa isa, int32_t act, bool withBias) {
  const bool zp = !o.zero.empty();
  KernelRun run = runKernel(s, o, l, isa, act, withBias);
  const int64_t lda = s.k * l.aColStride + l.aPad;
  const int64_t groups = kiln::int4::groups(s.k, s.group);
  int failures = 0;
  for (int64_t i = 0; i < s.m && failures < 5; ++i) {
    const float *a = o.a.data() + l.aOffset + i * lda;
    float amax = 0;
    for (int64_t kk = 0; kk < s.k; ++kk)
      amax = std::fmax(amax, std::fabs(a[kk * l.aColStride]));
    const float scale = amax / 127.0f;
    const float inv = scale == 0.0f ? 0.0f : 1.0f / scale;
    std::vector<double> q((size_t)s.k);
    for (int64_t kk = 0; kk < s.k; ++kk)
      q[(size_t)kk] = std::nearbyint(a[kk * l.aColStride] * inv);
    for (int64_t j = 0; j < s.n && failures < 5; ++j) {
      double sum = 0, magnitude = 0, exact = 0, step = 0;
      for (int64_t kk = 0; kk < s.k; ++kk) {
        size_t g = (size_t)((kk / s.group) * s.n + j);
        double sc = o.scales[g], z = zp ? o.zero[g] : 0;
        double wq = o.q[(size_t)(kk * s.n + j)];
        double w = (wq - z) * sc;
        double x = q[(size_t)kk];
        sum += x * w;
        double u = zp ? wq : wq + 8;
        magnitude += std::fabs(x) *
                     (std::fabs(u - 8) + std::fabs(8 - (zp ? z : 8))) * sc;
        exact += (double)a[kk * l.aColStride] * w;
        step += std::fabs(w);
      }
      double bias = withBias ? o.bias[(size_t)j] : 0;
      double expect = activationReference(act, scale * sum + bias);
      double got = run.c[(size_t)(l.cOffset + i * run.ldc + j * l.cColStride)];
      double tol =
          2.0 * (groups + 2) * 0x1p-24 * (scale * magnitude + std::fabs(bias)) +
          1e-6 * std::fabs(expect) + 5e-7;
      if (!(std::fabs(got - expect) <= tol)) {
        ADD_FAILURE() << shapeText(s, zp) << " act " << act << " bias "
                      << withBias << ": c[" << i << ", " << j << "] = " << got
                      << ", expected " << expect << " (tol " << tol << ")";
        ++failures;
        continue;
      }
      // Each activation is off by at most half its step, scale / 2; the
      // activations' slopes are at most about 1.1.
      double unquantized = activationReference(act, exact + bias);
      double bound = 1.2 * (scale / 2 * step + tol) + 1e-6;
      if (!(std::fabs(got - unquantized) <= bound)) {
        ADD_FAILURE() << shapeText(s, zp) << ": c[" << i << ", " << j
                      << "] = " << got << " is " << std::fabs(got - unquantized)
                      << " from the unquantized " << unquantized
                      << ", over the quantization's bound " << bound;
        ++failures;
      }
    }
  }
  for (int64_t i = 0; i < s.m; ++i)
    for (int64_t pad = 0; pad < l.cPad; ++pad)
      EXPECT_TRUE(std::isnan(
          run.c[(size_t)(l.cOffset + i * run.ldc + s.n * l.cColStride + pad)]));
}

const char *isaName(Int8Isa isa) {
  switch (isa) {
  case Int8Isa::Generic:
    return "generic";
  case Int8Isa::Avx2:
    return "avx2";
  case Int8Isa::Avx512Vnni:
    return "avx512vnni";
  case Int8Isa::NeonDot:
    return "neondot";
  default:
    return "amx";
  }
}

class Int4GemmQ8IsaTest : public ::testing::TestWithParam<Int8Isa> {
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

TEST_P(Int4GemmQ8IsaTest, MatchesReference) {
  forEachReferenceCase([&](auto... args) { check(args...); });
}

TEST_P(Int4GemmQ8IsaTest, FloatZeroPoints) {
  forEachFloatZeroPointCase([&](auto... args) { check(args...); });
}

TEST_P(Int4GemmQ8IsaTest, EveryActivationWithAndWithoutBias) {
  forEachActivationCase([&](auto... args) { check(args...); });
}

TEST_P(Int4GemmQ8IsaTest, AlignedAndStridedOperands) {
  forEachLayoutCase([&](auto... args) { check(args...); });
}

TEST_P(Int4GemmQ8IsaTest, EmptyProductsAndZeroRows) {
  // K = 0: c = act(bias); M or N = 0: nothing to do. A row of zeros has
  // scale 0 and gives the bias.
  Layout l;
  for (const Shape &s : kEmptyShapes)
    for (bool zp : {false, true}) {
      Operands o = randomOperands(s, l, zp, false, 5);
      checkAgainstReference(s, o, l, GetParam(), KILN_RT_ACT_RELU, true);
    }
  Shape s{4, 64, 20, 32};
  Operands o = randomOperands(s, l, true, false, 6);
  const int64_t lda = s.k + l.aPad;
  for (int64_t kk = 0; kk < s.k; ++kk)
    o.a[(size_t)(l.aOffset + 2 * lda + kk)] = 0.0f;
  checkAgainstReference(s, o, l, GetParam(), KILN_RT_ACT_NONE, true);
}

TEST_P(Int4GemmQ8IsaTest, MatchesReferenceOnThePool) {
  kiln::test::PoolContext context(3);
  // Decode (one range, the panels split between threads) and prefill
  // (ranges of rows as well, and more rows than one block of scratch).
  for (int64_t m : {1, 8, 70, 300})
    for (bool zp : {false, true})
      check({m, 256, 200, 64}, zp, KILN_RT_ACT_SILU);
  EXPECT_EQ(context.error, "");
}

// The variants compute the same operations in the same order, so they agree
// with the generic loops exactly; a NaN in a row takes -128 in every one.
TEST_P(Int4GemmQ8IsaTest, AgreesWithGenericBitForBit) {
  Layout l;
  for (int64_t m : {1, 6, 9})
    for (bool zp : {false, true}) {
      Shape s{m, 200, 45, 32};
      Operands o = randomOperands(s, l, zp, false, unsigned(m * 3 + zp));
      o.a[(size_t)(l.aOffset + 7)] = NAN;
      KernelRun got = runKernel(s, o, l, GetParam(), KILN_RT_ACT_NONE, true);
      KernelRun want =
          runKernel(s, o, l, Int8Isa::Generic, KILN_RT_ACT_NONE, true);
      ASSERT_EQ(got.c.size(), want.c.size());
      EXPECT_EQ(std::memcmp(got.c.data(), want.c.data(),
                            got.c.size() * sizeof(float)),
                0)
          << shapeText(s, zp);
    }
}

INSTANTIATE_TEST_SUITE_P(Isas, Int4GemmQ8IsaTest,
                         ::testing::Values(Int8Isa::Generic, Int8Isa::Avx2,
                                           Int8Isa::Avx512Vnni,
                                           Int8Isa::NeonDot),
                         [](const auto &info) {
                           return std::string(isaName(info.param));
                         });

TEST(Int4GemmQ8EntryPoint, RunsTheBestVariant) {
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
  _mlir_ciface_kiln_rt_qlinear_s4_q8_f32(&am, &pm, &bm, &cm, KILN_RT_ACT_GELU,
                                         (int32_t)s.group, 0);
  EXPECT_EQ(context.error, "");
  kiln_memref2_f32 em{expect.data(), expect.data(), 0, {s.m, s.n}, {s.n, 1}};
  kiln::qlinearS4Q8F32(am, packed, s.group, false, em,
                       kiln::Epilogue{o.bias.data(), KILN_RT_ACT_GELU},
                       kiln::bestInt8Isa());
  EXPECT_EQ(c, expect);
}

TEST(Int4GemmQ8EntryPoint, ReportsBadArguments) {
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
  _mlir_ciface_kiln_rt_qlinear_s4_q8_f32(&am, &pm, &bm, &cm, 0, 32, 1);
  EXPECT_EQ(context.error,
            "qlinear_s4_q8_f32: a [2, 64] and c [2, 16] need 768 packed "
            "weight bytes (group 32, zero points), got 640 (bias 16)");
  context.error.clear();
  _mlir_ciface_kiln_rt_qlinear_s4_q8_f32(nullptr, &pm, &bm, &cm, 0, 32, 0);
  EXPECT_EQ(context.error, "qlinear_s4_q8_f32: NULL memref descriptor");
  for (float v : c)
    EXPECT_EQ(v, 7.0f);
}

} // namespace
