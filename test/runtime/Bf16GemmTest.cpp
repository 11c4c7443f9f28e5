//===- Bf16GemmTest.cpp - bf16 GEMM (--precision=bf16) vs float64 ---------===//
//
// Every variant this CPU has (generic, AVX-512, AVX-512 BF16, AMX) against a
// float64
// reference computed from the same bf16 values: each product of two bf16
// values is exact in f32, so the kernels differ from the reference only by
// the f32 sums, bounded by K * 2^-24 of the sum of the products'
// magnitudes, plus 1e-6 of the bias and the result and 5e-7 for the
// activations' own approximation (GemmEpilogueLoops.h). Products of small
// integers sum exactly in any order and are compared exactly.
//
//===----------------------------------------------------------------------===//

#include "kernels/Bf16Gemm.h"
#include "ActivationReference.h"
#include "PoolContext.h"
#include "kernels/Bf16Packing.h"
#include "kernels/CpuFeatures.h"
#include "kernels/Kernels.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace {

using kiln::Bf16Isa;
using kiln::test::activationReference;

struct Shape {
  int64_t m, k, n;
};

std::string shapeText(const Shape &s) {
  return "[" + std::to_string(s.m) + ", " + std::to_string(s.k) + "] x [" +
         std::to_string(s.k) + ", " + std::to_string(s.n) + "]";
}

/// f32 -> bf16 bits, round to nearest even (finite values).
uint16_t toBf16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  x += 0x7fffu + ((x >> 16) & 1u);
  return uint16_t(x >> 16);
}

double fromBf16(uint16_t bits) {
  uint32_t x = uint32_t(bits) << 16;
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}

const int32_t kActivations[] = {KILN_RT_ACT_NONE, KILN_RT_ACT_RELU,
                                KILN_RT_ACT_GELU, KILN_RT_ACT_GELU_TANH,
                                KILN_RT_ACT_SILU};

// Where the operands sit: a and c are views with padded, misaligned rows
// (and optionally a column stride of 2); the packed weight starts
// `packedShift` elements past a 64-byte boundary.
struct Layout {
  int64_t aOffset = 3, aPad = 5, aColStride = 1;
  int64_t cOffset = 1, cPad = 3, cColStride = 1;
  int64_t packedShift = 1;
};

struct Operands {
  std::vector<uint16_t> a;
  std::vector<uint16_t> w; // [k, n], row-major
  std::vector<float> bias;
};

Operands randomOperands(const Shape &s, const Layout &l, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> value(-2, 2);
  Operands o;
  o.a.resize((size_t)(l.aOffset + s.m * (s.k * l.aColStride + l.aPad)));
  for (auto &x : o.a)
    x = toBf16(value(rng));
  o.w.resize((size_t)(s.k * s.n));
  for (auto &x : o.w)
    x = toBf16(value(rng));
  o.bias.resize((size_t)s.n);
  for (auto &x : o.bias)
    x = value(rng);
  return o;
}

// Packs w into a buffer at `shift` elements past 64-byte alignment; returns
// the packed weight's first element.
const uint16_t *packShifted(const std::vector<uint16_t> &w, const Shape &s,
                            int64_t shift, std::vector<uint16_t> &storage) {
  int64_t elements = kiln::bf16::packedElements(s.k, s.n);
  storage.assign((size_t)(elements + 64), 0);
  uintptr_t base = reinterpret_cast<uintptr_t>(storage.data());
  uint16_t *out = storage.data() + ((64 - base % 64) % 64) / 2 + shift;
  kiln::bf16::pack(w.data(), s.k, s.n, out);
  return out;
}

// Runs the kernel on operands `o` and compares c with the reference; c's
// elements outside the view stay NaN.
void checkAgainstReference(const Shape &s, const Operands &o, const Layout &l,
                           Bf16Isa isa, int32_t act, bool withBias) {
  std::vector<uint16_t> storage;
  const uint16_t *packed = packShifted(o.w, s, l.packedShift, storage);
  int64_t lda = s.k * l.aColStride + l.aPad;
  int64_t ldc = s.n * l.cColStride + l.cPad;
  std::vector<float> c((size_t)(l.cOffset + s.m * ldc), NAN);
  uint16_t *aData = const_cast<uint16_t *>(o.a.data());
  kiln_memref2_bf16 am{
      aData, aData, l.aOffset, {s.m, s.k}, {lda, l.aColStride}};
  kiln_memref2_f32 cm{
      c.data(), c.data(), l.cOffset, {s.m, s.n}, {ldc, l.cColStride}};
  kiln::Epilogue e{withBias ? o.bias.data() : nullptr, act};
  kiln::matmulPackedBf16(am, packed, cm, e, isa);

  std::vector<bool> written(c.size(), false);
  for (int64_t i = 0; i < s.m; ++i)
    for (int64_t j = 0; j < s.n; ++j) {
      double sum = 0, magnitude = 0;
      for (int64_t kk = 0; kk < s.k; ++kk) {
        double t =
            fromBf16(o.a[(size_t)(l.aOffset + i * lda + kk * l.aColStride)]) *
            fromBf16(o.w[(size_t)(kk * s.n + j)]);
        sum += t;
        magnitude += std::fabs(t);
      }
      double b = withBias ? o.bias[(size_t)j] : 0.0;
      double want = activationReference(act, sum + b);
      double tolerance = (double)s.k * std::ldexp(1.0, -24) * magnitude +
                         1e-6 * (magnitude + std::fabs(b) + std::fabs(want)) +
                         5e-7;
      size_t at = (size_t)(l.cOffset + i * ldc + j * l.cColStride);
      written[at] = true;
      ASSERT_NEAR(c[at], want, tolerance)
          << "row " << i << " column " << j << " of " << shapeText(s)
          << ", activation " << act << ", bias " << withBias;
    }
  for (size_t at = 0; at < c.size(); ++at)
    if (!written[at])
      ASSERT_TRUE(std::isnan(c[at])) << "padding at " << at << " written";
}

void checkShape(const Shape &s, Bf16Isa isa, int32_t act, bool withBias,
                const Layout &l = {}) {
  Operands o =
      randomOperands(s, l, unsigned(s.m * 7 + s.k * 131 + s.n * 17 + act));
  checkAgainstReference(s, o, l, isa, act, withBias);
}

const char *isaName(Bf16Isa isa) {
  switch (isa) {
  case Bf16Isa::Generic:
    return "Generic";
  case Bf16Isa::Avx2:
    return "Avx2";
  case Bf16Isa::Avx512:
    return "Avx512";
  case Bf16Isa::Avx512Bf16:
    return "Avx512Bf16";
  case Bf16Isa::Amx:
    return "Amx";
  case Bf16Isa::NeonBf16:
    return "NeonBf16";
  }
  return "Unknown";
}

class Bf16GemmIsaTest : public ::testing::TestWithParam<Bf16Isa> {
protected:
  void SetUp() override {
    if (!kiln::cpuSupports(GetParam()))
      GTEST_SKIP() << "this CPU (or the OS) lacks " << isaName(GetParam());
  }
};

// M = 1..9 (decode: one row tile streams the panels), 15-17, 31-33, 64 and
// 130 (AMX's 16-row tiles, 32-row blocks and the tile configuration of the
// rows past them);
// K odd, not a multiple of 32 (AMX leaves those to AVX-512), and multiples
// of 32; N from one column to several panel groups, mostly not a multiple
// of 16.
const Shape kShapes[] = {
    {1, 1, 1},    {1, 67, 50},  {1, 64, 48},    {2, 5, 17},    {2, 768, 33},
    {3, 300, 33}, {4, 64, 48},  {4, 2, 100},    {5, 17, 100},  {6, 130, 15},
    {7, 3, 64},   {8, 259, 70}, {8, 32, 96},    {9, 33, 47},   {9, 128, 16},
    {15, 96, 40}, {16, 64, 96}, {16, 1000, 20}, {17, 32, 33},  {31, 160, 50},
    {32, 64, 17}, {33, 96, 81}, {64, 129, 50},  {64, 256, 49}, {130, 67, 100},
    {130, 64, 1}};

TEST_P(Bf16GemmIsaTest, MatchesReference) {
  int index = 0;
  for (const Shape &s : kShapes) {
    ++index;
    checkShape(s, GetParam(), kActivations[index % 5], index % 2);
    if (HasFatalFailure())
      return;
  }
}

TEST_P(Bf16GemmIsaTest, EveryActivationWithAndWithoutBias) {
  for (const Shape &s :
       {Shape{3, 37, 40}, Shape{20, 70, 33}, Shape{40, 64, 50}})
    for (int32_t act : kActivations)
      for (bool withBias : {false, true}) {
        checkShape(s, GetParam(), act, withBias);
        if (HasFatalFailure())
          return;
      }
}

TEST_P(Bf16GemmIsaTest, AlignedAndStridedOperands) {
  Layout aligned;
  aligned.aOffset = aligned.aPad = aligned.cOffset = aligned.cPad = 0;
  aligned.packedShift = 0;
  Layout strided; // every column two apart, in a and in c
  strided.aColStride = strided.cColStride = 2;
  strided.packedShift = 3;
  Layout stridedC; // a in place, c strided: AMX stores through a buffer,
                   // 44 rows as 32 and a configuration of 12
  stridedC.cColStride = 3;
  for (const Layout &l : {aligned, strided, stridedC})
    for (const Shape &s : {Shape{1, 67, 50}, Shape{9, 33, 47},
                           Shape{40, 130, 70}, Shape{44, 64, 70}}) {
      checkShape(s, GetParam(), KILN_RT_ACT_GELU, true, l);
      if (HasFatalFailure())
        return;
    }
}

TEST_P(Bf16GemmIsaTest, MoreRowsThanABlock) {
  // Blocks of 256 rows, one after the other.
  checkShape({300, 21, 40}, GetParam(), KILN_RT_ACT_RELU, true);
  checkShape({300, 64, 40}, GetParam(), KILN_RT_ACT_NONE, true);
}

// Small integers are exact in bf16, and so are their products and every
// partial sum below 2^24: c is the integer product, exactly, whatever the
// order of the sums.
TEST_P(Bf16GemmIsaTest, IntegerProductIsExact) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> value(-8, 8);
  for (const Shape &s :
       {Shape{1, 999, 50}, Shape{8, 999, 33}, Shape{9, 130, 64},
        Shape{33, 67, 17}, Shape{64, 992, 40}}) {
    std::vector<uint16_t> a((size_t)(s.m * s.k)), w((size_t)(s.k * s.n));
    for (auto &x : a)
      x = toBf16((float)value(rng));
    for (auto &x : w)
      x = toBf16((float)value(rng));
    std::vector<uint16_t> storage;
    const uint16_t *packed = packShifted(w, s, 0, storage);
    std::vector<float> c((size_t)(s.m * s.n));
    kiln_memref2_bf16 am{a.data(), a.data(), 0, {s.m, s.k}, {s.k, 1}};
    kiln_memref2_f32 cm{c.data(), c.data(), 0, {s.m, s.n}, {s.n, 1}};
    kiln::matmulPackedBf16(am, packed, cm, kiln::Epilogue{}, GetParam());
    for (int64_t i = 0; i < s.m; ++i)
      for (int64_t j = 0; j < s.n; ++j) {
        int64_t want = 0;
        for (int64_t kk = 0; kk < s.k; ++kk)
          want += (int64_t)fromBf16(a[(size_t)(i * s.k + kk)]) *
                  (int64_t)fromBf16(w[(size_t)(kk * s.n + j)]);
        ASSERT_EQ(c[(size_t)(i * s.n + j)], (float)want)
            << "row " << i << " column " << j << " of " << shapeText(s);
      }
  }
}

TEST_P(Bf16GemmIsaTest, EmptyProducts) {
  // K = 0: c = act(bias).
  checkShape({3, 0, 20}, GetParam(), KILN_RT_ACT_SILU, true);
  checkShape({40, 0, 20}, GetParam(), KILN_RT_ACT_SILU, true);
  checkShape({5, 0, 7}, GetParam(), KILN_RT_ACT_NONE, false);
  // M = 0 or N = 0: nothing to write.
  checkShape({0, 8, 20}, GetParam(), KILN_RT_ACT_NONE, true);
  checkShape({4, 8, 0}, GetParam(), KILN_RT_ACT_NONE, true);
}

// On a pool of 3: column chunks as items, AMX tiles configured on each
// worker.
TEST_P(Bf16GemmIsaTest, MatchesReferenceOnThePool) {
  kiln::test::PoolContext context(3);
  Layout l;
  for (const Shape &s :
       {Shape{1, 768, 2304}, Shape{8, 300, 1000}, Shape{128, 256, 200},
        Shape{130, 259, 100}, Shape{300, 64, 200}}) {
    Operands o = randomOperands(s, l, 1000 + (unsigned)s.m);
    checkAgainstReference(s, o, l, GetParam(), KILN_RT_ACT_GELU_TANH, true);
    if (HasFatalFailure())
      return;
  }
  EXPECT_EQ(context.error, "");
}

INSTANTIATE_TEST_SUITE_P(Isas, Bf16GemmIsaTest,
                         ::testing::Values(Bf16Isa::Generic, Bf16Isa::Avx2,
                                           Bf16Isa::Avx512, Bf16Isa::Avx512Bf16,
                                           Bf16Isa::Amx, Bf16Isa::NeonBf16),
                         [](const ::testing::TestParamInfo<Bf16Isa> &info) {
                           return std::string(isaName(info.param));
                         });

TEST(Bf16Packing, UnpacksWhatItPacked) {
  const Shape s{1, 13, 37};
  std::vector<uint16_t> w((size_t)(s.k * s.n)),
      packed((size_t)kiln::bf16::packedElements(s.k, s.n), 0xffff);
  for (size_t i = 0; i < w.size(); ++i)
    w[i] = uint16_t(i + 1);
  kiln::bf16::pack(w.data(), s.k, s.n, packed.data());
  for (int64_t kk = 0; kk < s.k; ++kk)
    for (int64_t j = 0; j < s.n; ++j)
      ASSERT_EQ(kiln::bf16::unpack(packed.data(), s.k, kk, j),
                w[(size_t)(kk * s.n + j)])
          << "w[" << kk << ", " << j << "]";
  // 3 panels of 16 columns x K padded to 32 rows; the padding is zeros.
  EXPECT_EQ(kiln::bf16::packedElements(s.k, s.n), 3 * 16 * 32);
  size_t zeros = 0;
  for (uint16_t v : packed)
    zeros += v == 0;
  EXPECT_EQ(zeros, packed.size() - w.size());
  // Rows 2g and 2g + 1 of a column are neighbours.
  EXPECT_EQ(packed[0], w[0]);
  EXPECT_EQ(packed[1], w[(size_t)s.n]);
  EXPECT_EQ(packed[2], w[1]);
}

// The entry points: the best variant, with the epilogue, and each error
// they report.
struct EntryPointOperands {
  std::vector<uint16_t> a, w, packed;
  std::vector<float> bias, c;
  kiln_memref2_bf16 am;
  kiln_memref1_bf16 pm;
  kiln_memref1_f32 bm;
  kiln_memref2_f32 cm;

  // a = 1s [2, 3], w = 1s [3, 2] (each product 3), bias -5 and 1.
  EntryPointOperands()
      : a(2 * 3, toBf16(1.0f)), w(3 * 2, toBf16(1.0f)),
        packed((size_t)kiln::bf16::packedElements(3, 2)), bias{-5.0f, 1.0f},
        c(2 * 2, 7.0f) {
    kiln::bf16::pack(w.data(), 3, 2, packed.data());
    am = {a.data(), a.data(), 0, {2, 3}, {3, 1}};
    pm = {packed.data(), packed.data(), 0, {(int64_t)packed.size()}, {1}};
    bm = {bias.data(), bias.data(), 0, {2}, {1}};
    cm = {c.data(), c.data(), 0, {2, 2}, {2, 1}};
  }
};

TEST(Bf16GemmEntryPoint, RunsTheBestVariant) {
  kiln::test::PoolContext context(2);
  EntryPointOperands o;
  _mlir_ciface_kiln_rt_matmul_packed_bf16(&o.am, &o.pm, &o.cm);
  EXPECT_EQ(o.c, (std::vector<float>{3, 3, 3, 3}));
  _mlir_ciface_kiln_rt_matmul_packed_epilogue_bf16(&o.am, &o.pm, &o.bm, &o.cm,
                                                   KILN_RT_ACT_RELU);
  EXPECT_EQ(o.c, (std::vector<float>{0, 4, 0, 4}));
  kiln_memref1_f32 noBias{nullptr, nullptr, 0, {0}, {1}};
  _mlir_ciface_kiln_rt_matmul_packed_epilogue_bf16(&o.am, &o.pm, &noBias, &o.cm,
                                                   KILN_RT_ACT_NONE);
  EXPECT_EQ(o.c, (std::vector<float>{3, 3, 3, 3}));
  EXPECT_EQ(context.error, "");
}

TEST(Bf16GemmEntryPoint, ReportsWrongPackedSize) {
  kiln::test::PoolContext context(1);
  EntryPointOperands o;
  o.pm.sizes[0] -= 1;
  _mlir_ciface_kiln_rt_matmul_packed_bf16(&o.am, &o.pm, &o.cm);
  EXPECT_EQ(context.error,
            "matmul_packed_bf16: a [2, 3] and c [2, 2] need 512 contiguous "
            "packed weight elements, got 511 (stride 1)");
  EXPECT_EQ(o.c, (std::vector<float>(4, 7.0f))); // untouched
  context.error.clear();
  _mlir_ciface_kiln_rt_matmul_packed_epilogue_bf16(&o.am, &o.pm, &o.bm, &o.cm,
                                                   KILN_RT_ACT_NONE);
  EXPECT_EQ(context.error,
            "matmul_packed_epilogue_bf16: a [2, 3] and c [2, 2] need 512 "
            "contiguous packed weight elements, got 511 (stride 1)");
  // A weight packed for another K, and a packed weight that is a strided
  // view.
  EntryPointOperands other;
  other.am.sizes[1] = 40;
  _mlir_ciface_kiln_rt_matmul_packed_bf16(&other.am, &other.pm, &other.cm);
  EXPECT_EQ(context.error,
            "matmul_packed_bf16: a [2, 40] and c [2, 2] need 1024 contiguous "
            "packed weight elements, got 512 (stride 1)");
  EntryPointOperands strided;
  strided.pm.strides[0] = 2;
  _mlir_ciface_kiln_rt_matmul_packed_bf16(&strided.am, &strided.pm,
                                          &strided.cm);
  EXPECT_EQ(context.error,
            "matmul_packed_bf16: a [2, 3] and c [2, 2] need 512 contiguous "
            "packed weight elements, got 512 (stride 2)");
  EXPECT_EQ(strided.c, (std::vector<float>(4, 7.0f)));
  // a's rows disagree with c's.
  EntryPointOperands rows;
  rows.am.sizes[0] = 3;
  _mlir_ciface_kiln_rt_matmul_packed_bf16(&rows.am, &rows.pm, &rows.cm);
  EXPECT_EQ(context.error,
            "matmul_packed_bf16: a [3, 3] and c [2, 2] need 512 contiguous "
            "packed weight elements, got 512 (stride 1)");
}

TEST(Bf16GemmEntryPoint, ReportsBadEpilogueAndNullDescriptors) {
  kiln::test::PoolContext context(1);
  EntryPointOperands o;
  _mlir_ciface_kiln_rt_matmul_packed_epilogue_bf16(&o.am, &o.pm, &o.bm, &o.cm,
                                                   7);
  EXPECT_EQ(context.error, "matmul_packed_epilogue_bf16: unknown activation 7");
  o.bm.sizes[0] = 3;
  _mlir_ciface_kiln_rt_matmul_packed_epilogue_bf16(&o.am, &o.pm, &o.bm, &o.cm,
                                                   KILN_RT_ACT_NONE);
  EXPECT_EQ(context.error, "matmul_packed_epilogue_bf16: bias of 3 elements "
                           "(stride 1) for 2 output columns");
  EXPECT_EQ(o.c, (std::vector<float>(4, 7.0f)));
  _mlir_ciface_kiln_rt_matmul_packed_bf16(&o.am, nullptr, &o.cm);
  EXPECT_EQ(context.error, "matmul_packed_bf16: NULL memref descriptor");
  _mlir_ciface_kiln_rt_matmul_packed_epilogue_bf16(&o.am, &o.pm, nullptr, &o.cm,
                                                   KILN_RT_ACT_NONE);
  EXPECT_EQ(context.error,
            "matmul_packed_epilogue_bf16: NULL memref descriptor");
}

} // namespace
