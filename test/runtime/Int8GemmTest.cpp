//===- Int8GemmTest.cpp - int8 GEMM (kiln.qlinear) vs a float64 reference -===//
//
// Every variant this CPU has (generic, AVX2, AVX-512 VNNI) against a float64
// reference computed from the same quantized integers: the test quantizes a
// itself, from the definitions in Kernels.h, so the integer product must
// come out exact, and only the rescale (float32 in the kernels) is compared
// with a tolerance: 1e-6 of the magnitudes that meet in each output (the
// rescaled product, the bias and the result), plus 5e-7 for the
// activations' own approximation (GemmEpilogueLoops.h). Weight-only
// products accumulate in float32: they get K * 2^-24 of the sum of the
// products' magnitudes on top.
//
//===----------------------------------------------------------------------===//

#include "kernels/Int8Gemm.h"
#include "ActivationReference.h"
#include "PoolContext.h"
#include "kernels/CpuFeatures.h"
#include "kernels/GemmEpilogue.h"
#include "kernels/Int8Packing.h"
#include "kernels/Kernels.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

namespace {

using kiln::Int8Isa;
using kiln::test::activationReference;

struct Shape {
  int64_t m, k, n;
};

std::string shapeText(const Shape &s) {
  return "[" + std::to_string(s.m) + ", " + std::to_string(s.k) + "] x [" +
         std::to_string(s.k) + ", " + std::to_string(s.n) + "]";
}

const int32_t kActivations[] = {KILN_RT_ACT_NONE, KILN_RT_ACT_RELU,
                                KILN_RT_ACT_GELU, KILN_RT_ACT_GELU_TANH,
                                KILN_RT_ACT_SILU};
const int32_t kQuantModes[] = {KILN_RT_QUANT_ROW, KILN_RT_QUANT_TENSOR_U8,
                               KILN_RT_QUANT_NONE, KILN_RT_QUANT_STATIC_U8};
// KILN_RT_QUANT_STATIC_U8's parameters: a in [-2, 2] saturates at both ends
// of [0, 255].
const float kStaticScale = 0.011f;
const int32_t kStaticZero = 100;

// Where the operands sit: a and c are views with padded, misaligned rows
// (and optionally a column stride of 2); the packed weight starts
// `packedShift` bytes past a 64-byte boundary.
struct Layout {
  int64_t aOffset = 3, aPad = 5, aColStride = 1;
  int64_t cOffset = 1, cPad = 3, cColStride = 1;
  int64_t packedShift = 1;
};

// The quantized activations as Kernels.h defines them, computed here with
// the same float32 operations: q (zero point included), scale, zero point.
struct QuantizedA {
  std::vector<int32_t> q;
  std::vector<float> scale;
  std::vector<int32_t> zero;
};

int32_t clampU8(float v) {
  return (int32_t)std::fmin(std::fmax(v, 0.0f), 255.0f);
}

QuantizedA quantizeReference(const std::vector<float> &a, const Shape &s,
                             const Layout &l, int32_t quant) {
  auto at = [&](int64_t i, int64_t j) {
    return a[(size_t)(l.aOffset + i * (s.k * l.aColStride + l.aPad) +
                      j * l.aColStride)];
  };
  QuantizedA out;
  out.q.resize((size_t)(s.m * s.k));
  out.scale.resize((size_t)s.m);
  out.zero.resize((size_t)s.m);
  if (quant == KILN_RT_QUANT_STATIC_U8) {
    for (int64_t i = 0; i < s.m; ++i) {
      out.scale[(size_t)i] = kStaticScale;
      out.zero[(size_t)i] = kStaticZero;
      for (int64_t j = 0; j < s.k; ++j)
        out.q[(size_t)(i * s.k + j)] = clampU8(
            std::nearbyintf(at(i, j) / kStaticScale) + (float)kStaticZero);
    }
    return out;
  }
  if (quant == KILN_RT_QUANT_TENSOR_U8) {
    float lo = 0, hi = 0;
    for (int64_t i = 0; i < s.m; ++i)
      for (int64_t j = 0; j < s.k; ++j) {
        lo = std::fmin(lo, at(i, j));
        hi = std::fmax(hi, at(i, j));
      }
    float scale = (hi - lo) / 255.0f;
    float divisor = scale == 0 ? 1.0f : scale;
    int32_t zp = clampU8(std::nearbyintf(-lo / divisor));
    for (int64_t i = 0; i < s.m; ++i) {
      out.scale[(size_t)i] = scale;
      out.zero[(size_t)i] = zp;
      for (int64_t j = 0; j < s.k; ++j)
        out.q[(size_t)(i * s.k + j)] =
            clampU8(std::nearbyintf(at(i, j) / divisor) + (float)zp);
    }
    return out;
  }
  for (int64_t i = 0; i < s.m; ++i) {
    float amax = 0;
    for (int64_t j = 0; j < s.k; ++j)
      amax = std::fmax(amax, std::fabs(at(i, j)));
    float scale = amax / 127.0f;
    float inv = scale == 0 ? 0.0f : 1.0f / scale;
    out.scale[(size_t)i] = scale;
    out.zero[(size_t)i] = 128;
    for (int64_t j = 0; j < s.k; ++j) {
      int32_t q = (int32_t)std::nearbyintf(at(i, j) * inv) + 128;
      EXPECT_TRUE(q >= 1 && q <= 255) << "row " << i << " col " << j;
      out.q[(size_t)(i * s.k + j)] = q;
    }
  }
  return out;
}

struct Operands {
  std::vector<float> a;
  std::vector<int8_t> w; // [k, n], row-major
  std::vector<float> scales, bias;
};

Operands randomOperands(const Shape &s, const Layout &l, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> value(-2, 2), scale(0.001f, 0.02f);
  std::uniform_int_distribution<int> weight(-128, 127);
  Operands o;
  o.a.resize((size_t)(l.aOffset + s.m * (s.k * l.aColStride + l.aPad)));
  for (auto &x : o.a)
    x = value(rng);
  // A row of zeros (scale 0) and a row of one sign, where there are rows.
  int64_t lda = s.k * l.aColStride + l.aPad;
  if (s.m > 2)
    for (int64_t j = 0; j < s.k; ++j) {
      o.a[(size_t)(l.aOffset + 1 * lda + j * l.aColStride)] = 0;
      float &v = o.a[(size_t)(l.aOffset + 2 * lda + j * l.aColStride)];
      v = std::fabs(v);
    }
  o.w.resize((size_t)(s.k * s.n));
  for (auto &x : o.w)
    x = (int8_t)weight(rng);
  if (!o.w.empty()) // the extremes of the range
    o.w[0] = -128, o.w.back() = 127;
  o.scales.resize((size_t)s.n);
  for (auto &x : o.scales)
    x = scale(rng);
  o.bias.resize((size_t)s.n);
  for (auto &x : o.bias)
    x = value(rng);
  return o;
}

// Packs w into a buffer at `shift` bytes past 64-byte alignment; returns the
// packed weight's first byte.
const int8_t *packShifted(const std::vector<int8_t> &w, const Shape &s,
                          int64_t shift, std::vector<int8_t> &storage) {
  int64_t bytes = kiln::int8::packedBytes(s.k, s.n);
  storage.assign((size_t)(bytes + 128), 0);
  uintptr_t base = reinterpret_cast<uintptr_t>(storage.data());
  int8_t *out = storage.data() + ((64 - base % 64) % 64) + shift;
  kiln::int8::pack(w.data(), s.k, s.n, out);
  return out;
}

// Runs the kernel on operands `o` and compares c with the reference.
void checkAgainstReference(const Shape &s, const Operands &o, const Layout &l,
                           Int8Isa isa, int32_t quant, int32_t act,
                           bool withBias) {
  std::vector<int8_t> storage;
  const int8_t *packed = packShifted(o.w, s, l.packedShift, storage);
  int64_t lda = s.k * l.aColStride + l.aPad;
  int64_t ldc = s.n * l.cColStride + l.cPad;
  std::vector<float> c((size_t)(l.cOffset + s.m * ldc), NAN);
  float *aData = const_cast<float *>(o.a.data());
  kiln_memref2_f32 am{aData, aData, l.aOffset, {s.m, s.k}, {lda, l.aColStride}};
  kiln_memref2_f32 cm{
      c.data(), c.data(), l.cOffset, {s.m, s.n}, {ldc, l.cColStride}};
  kiln::Epilogue e{withBias ? o.bias.data() : nullptr, act};
  kiln::qlinearS8F32(am, packed, o.scales.data(), cm, e, quant, isa,
                     kStaticScale, kStaticZero);

  QuantizedA qa;
  if (quant != KILN_RT_QUANT_NONE)
    qa = quantizeReference(o.a, s, l, quant);
  std::vector<int64_t> colSum((size_t)s.n, 0);
  for (int64_t kk = 0; kk < s.k; ++kk)
    for (int64_t j = 0; j < s.n; ++j)
      colSum[(size_t)j] += o.w[(size_t)(kk * s.n + j)];
  std::vector<bool> written(c.size(), false);
  for (int64_t i = 0; i < s.m; ++i)
    for (int64_t j = 0; j < s.n; ++j) {
      double pre, magnitude, tolerance;
      float sw = o.scales[(size_t)j];
      if (quant == KILN_RT_QUANT_NONE) {
        double sum = 0, abs = 0;
        for (int64_t kk = 0; kk < s.k; ++kk) {
          double t =
              (double)o.a[(size_t)(l.aOffset + i * lda + kk * l.aColStride)] *
              o.w[(size_t)(kk * s.n + j)];
          sum += t;
          abs += std::fabs(t);
        }
        pre = sum * sw;
        magnitude = abs * sw;
        tolerance = (double)s.k * std::ldexp(1.0, -24) * magnitude;
      } else {
        int64_t acc = 0;
        for (int64_t kk = 0; kk < s.k; ++kk)
          acc += (int64_t)qa.q[(size_t)(i * s.k + kk)] *
                 o.w[(size_t)(kk * s.n + j)];
        acc -= (int64_t)qa.zero[(size_t)i] * colSum[(size_t)j];
        pre = (double)acc * qa.scale[(size_t)i] * sw;
        magnitude = std::fabs(pre);
        tolerance = 0;
      }
      double b = withBias ? o.bias[(size_t)j] : 0.0;
      double want = activationReference(act, pre + b);
      tolerance += 1e-6 * (magnitude + std::fabs(b) + std::fabs(want)) + 5e-7;
      size_t at = (size_t)(l.cOffset + i * ldc + j * l.cColStride);
      written[at] = true;
      ASSERT_NEAR(c[at], want, tolerance)
          << "row " << i << " column " << j << " of " << shapeText(s)
          << ", quant " << quant << ", activation " << act << ", bias "
          << withBias;
    }
  for (size_t at = 0; at < c.size(); ++at)
    if (!written[at])
      ASSERT_TRUE(std::isnan(c[at])) << "padding at " << at << " written";
}

void checkShape(const Shape &s, Int8Isa isa, int32_t quant, int32_t act,
                bool withBias, const Layout &l = {}) {
  Operands o = randomOperands(
      s, l, unsigned(s.m * 7 + s.k * 131 + s.n * 17 + quant * 3 + act));
  checkAgainstReference(s, o, l, isa, quant, act, withBias);
}

const char *isaName(Int8Isa isa) {
  switch (isa) {
  case Int8Isa::Generic:
    return "Generic";
  case Int8Isa::Avx2:
    return "Avx2";
  case Int8Isa::Avx512Vnni:
    return "Avx512Vnni";
  case Int8Isa::NeonDot:
    return "NeonDot";
  case Int8Isa::Amx:
    return "Amx";
  }
  return "Unknown";
}

class Int8GemmIsaTest : public ::testing::TestWithParam<Int8Isa> {
protected:
  void SetUp() override {
    if (!kiln::cpuSupports(GetParam()))
      GTEST_SKIP() << "this CPU lacks " << isaName(GetParam());
  }
};

// M = 1..9 (decode: one row tile streams the panels), 16, 64 and 130 (row
// ranges and partial row tiles); K not a multiple of 4, 16 or 64, and
// multiples of them; N from one column to several panel groups, mostly not
// a multiple of 16.
const Shape kShapes[] = {
    {1, 1, 1},
    {1, 67, 50},
    {1, 64, 48},
    {2, 5, 17},
    {2, 768, 33},
    {3, 300, 33},
    {4, 64, 48},
    {4, 2, 100},
    {5, 17, 100},
    {6, 130, 15},
    {7, 3, 64},
    {8, 259, 70},
    {8, 16, 96},
    {9, 33, 47},
    {9, 129, 16},
    {16, 70, 96},
    {16, 1000, 20},
    {64, 129, 50},
    {64, 4, 49},
    {130, 67, 100},
    {130, 9, 1},
    // AMX tiles: K padded to a multiple of 64, 16-row tiles and a tail of
    // rows, one or two panels at a time.
    {16, 64, 48},
    {40, 128, 70},
    {130, 192, 33},
    {33, 64, 16}};

TEST_P(Int8GemmIsaTest, MatchesReference) {
  int index = 0;
  for (const Shape &s : kShapes)
    for (int32_t quant : kQuantModes) {
      ++index;
      checkShape(s, GetParam(), quant, kActivations[index % 5], index % 2);
      if (HasFatalFailure())
        return;
    }
}

TEST_P(Int8GemmIsaTest, EveryActivationWithAndWithoutBias) {
  for (const Shape &s : {Shape{3, 37, 40}, Shape{20, 70, 33}})
    for (int32_t quant : kQuantModes)
      for (int32_t act : kActivations)
        for (bool withBias : {false, true}) {
          checkShape(s, GetParam(), quant, act, withBias);
          if (HasFatalFailure())
            return;
        }
}

// Products of magnitude up to a few hundred, where GELU-tanh's and SiLU's
// e^-x overflows the clamp (AMX's register epilogue bounds its reciprocal
// to stay off subnormals, ActivationAvx512.h) and GELU's e^-x^2 underflows:
// the activations must still be the reference's, with no NaN, on AMX tiles
// (16 and 32 rows, K = 64) and on the other variants' tiles alike.
TEST_P(Int8GemmIsaTest, ActivationsOfLargeProducts) {
  for (const Shape &s :
       {Shape{16, 64, 48}, Shape{32, 64, 33}, Shape{8, 64, 40}})
    for (int32_t act : kActivations) {
      Layout l;
      Operands o = randomOperands(s, l, unsigned(s.m * 3 + act));
      for (auto &x : o.scales)
        x = 0.1f;
      checkAgainstReference(s, o, l, GetParam(), KILN_RT_QUANT_ROW, act, true);
      if (HasFatalFailure())
        return;
    }
}

TEST_P(Int8GemmIsaTest, AlignedAndStridedOperands) {
  Layout aligned;
  aligned.aOffset = aligned.aPad = aligned.cOffset = aligned.cPad = 0;
  aligned.packedShift = 0;
  Layout strided; // every column two apart, in a and in c
  strided.aColStride = strided.cColStride = 2;
  strided.packedShift = 3;
  for (const Layout &l : {aligned, strided})
    for (const Shape &s :
         {Shape{1, 67, 50}, Shape{9, 33, 47}, Shape{40, 130, 70}})
      for (int32_t quant : kQuantModes) {
        checkShape(s, GetParam(), quant, KILN_RT_ACT_GELU, true, l);
        if (HasFatalFailure())
          return;
      }
}

TEST_P(Int8GemmIsaTest, MoreRowsThanABlock) {
  // Blocks of 256 rows, one after the other.
  for (int32_t quant : kQuantModes) {
    checkShape({300, 21, 40}, GetParam(), quant, KILN_RT_ACT_RELU, true);
    if (HasFatalFailure())
      return;
  }
}

// Integers that the quantization keeps as they are (scale 1), weight scales
// of 1: c is the integer product, exactly (every sum below 2^24).
TEST_P(Int8GemmIsaTest, IntegerProductIsExact) {
  std::mt19937 rng(7);
  for (int32_t quant : kQuantModes)
    for (const Shape &s : {Shape{1, 999, 50}, Shape{8, 999, 33},
                           Shape{9, 130, 64}, Shape{33, 67, 17}}) {
      bool perTensor =
          quant == KILN_RT_QUANT_TENSOR_U8 || quant == KILN_RT_QUANT_STATIC_U8;
      std::uniform_int_distribution<int> value(perTensor ? -128 : -127, 127);
      std::uniform_int_distribution<int> weight(-128, 127);
      std::vector<float> a((size_t)(s.m * s.k));
      for (auto &x : a)
        x = (float)value(rng);
      for (int64_t i = 0; i < s.m; ++i) {
        // Per row: max |a| = 127 gives scale 1; per tensor, the range
        // [-128, 127] gives scale 1 and zero point 128, which the static
        // mode is given.
        a[(size_t)(i * s.k)] = 127;
        if (perTensor && s.k > 1)
          a[(size_t)(i * s.k + 1)] = -128;
      }
      std::vector<int8_t> w((size_t)(s.k * s.n));
      for (auto &x : w)
        x = (int8_t)weight(rng);
      std::vector<int8_t> storage;
      const int8_t *packed = packShifted(w, s, 0, storage);
      std::vector<float> scales((size_t)s.n, 1.0f), c((size_t)(s.m * s.n));
      kiln_memref2_f32 am{a.data(), a.data(), 0, {s.m, s.k}, {s.k, 1}};
      kiln_memref2_f32 cm{c.data(), c.data(), 0, {s.m, s.n}, {s.n, 1}};
      kiln::qlinearS8F32(am, packed, scales.data(), cm, kiln::Epilogue{}, quant,
                         GetParam(), 1.0f, 128);
      for (int64_t i = 0; i < s.m; ++i)
        for (int64_t j = 0; j < s.n; ++j) {
          int64_t want = 0;
          for (int64_t kk = 0; kk < s.k; ++kk)
            want +=
                (int64_t)a[(size_t)(i * s.k + kk)] * w[(size_t)(kk * s.n + j)];
          ASSERT_EQ(c[(size_t)(i * s.n + j)], (float)want)
              << "row " << i << " column " << j << " of " << shapeText(s)
              << ", quant " << quant;
        }
    }
}

// Identity weights and scales of 1 give c = (q - zp) * sa for each element
// of a alone: the kernels' quantization must match the definition bit for
// bit, here on values a few ulps around the ties of the rounding (the
// per-tensor mode divides through a reciprocal in the vector variants).
TEST_P(Int8GemmIsaTest, QuantizationRoundsTiesAsDefined) {
  const int64_t k = 300, m = 3;
  std::vector<int8_t> w((size_t)(k * k), 0);
  for (int64_t j = 0; j < k; ++j)
    w[(size_t)(j * k + j)] = 1;
  const Shape s{m, k, k};
  std::vector<int8_t> storage;
  const int8_t *packed = packShifted(w, s, 2, storage);
  std::vector<float> scales((size_t)k, 1.0f), c((size_t)(m * k));
  for (int32_t quant :
       {KILN_RT_QUANT_ROW, KILN_RT_QUANT_TENSOR_U8, KILN_RT_QUANT_STATIC_U8}) {
    // The step of the rounding: the per-row scale of row 0, the per-tensor
    // scale of the range [-1.3, 2.9] that rows 0 and 1 start with, or the
    // static scale.
    std::vector<float> a((size_t)(m * k));
    float step = quant == KILN_RT_QUANT_ROW         ? 2.9f / 127.0f
                 : quant == KILN_RT_QUANT_TENSOR_U8 ? (2.9f + 1.3f) / 255.0f
                                                    : kStaticScale;
    for (int64_t i = 0; i < m * k; ++i) {
      // Near (n + 1/2) * step, 0 to 3 ulps away on either side.
      float tie = ((float)(i % 200) - 100.0f + 0.5f) * step;
      int ulps = (int)(i % 7) - 3;
      float v = tie;
      for (int u = 0; u < (ulps < 0 ? -ulps : ulps); ++u)
        v = std::nextafter(v, ulps < 0 ? -INFINITY : INFINITY);
      a[(size_t)i] = std::fmin(std::fmax(v, -1.3f), 2.9f);
    }
    a[0] = 2.9f, a[1] = -1.3f;
    a[(size_t)k] = 2.9f, a[(size_t)k + 1] = -1.3f;
    Layout dense;
    dense.aOffset = dense.aPad = 0;
    QuantizedA qa = quantizeReference(a, s, dense, quant);
    kiln_memref2_f32 am{a.data(), a.data(), 0, {m, k}, {k, 1}};
    kiln_memref2_f32 cm{c.data(), c.data(), 0, {m, k}, {k, 1}};
    kiln::qlinearS8F32(am, packed, scales.data(), cm, kiln::Epilogue{}, quant,
                       GetParam(), kStaticScale, kStaticZero);
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < k; ++j) {
        float want = (float)(qa.q[(size_t)(i * k + j)] - qa.zero[(size_t)i]) *
                     qa.scale[(size_t)i];
        ASSERT_EQ(c[(size_t)(i * k + j)], want)
            << "a[" << i << ", " << j << "] = " << a[(size_t)(i * k + j)]
            << ", quant " << quant;
      }
  }
}

TEST_P(Int8GemmIsaTest, EmptyProducts) {
  for (int32_t quant : kQuantModes) {
    // K = 0: c = act(bias).
    checkShape({3, 0, 20}, GetParam(), quant, KILN_RT_ACT_SILU, true);
    checkShape({5, 0, 7}, GetParam(), quant, KILN_RT_ACT_NONE, false);
    // M = 0 or N = 0: nothing to write.
    checkShape({0, 8, 20}, GetParam(), quant, KILN_RT_ACT_NONE, true);
    checkShape({4, 8, 0}, GetParam(), quant, KILN_RT_ACT_NONE, true);
    if (HasFatalFailure())
      return;
  }
}

// On a pool of 3: row ranges and column chunks as items; then again with
// other activations of the same shape, which must not find the first
// call's quantized rows in the workers' scratch.
TEST_P(Int8GemmIsaTest, MatchesReferenceOnThePool) {
  kiln::test::PoolContext context(3);
  Layout l;
  for (const Shape &s : {Shape{1, 768, 2304}, Shape{8, 300, 1000},
                         Shape{130, 259, 100}, Shape{300, 64, 200}})
    for (int32_t quant : kQuantModes) {
      for (unsigned seed : {1u, 2u}) {
        Operands o = randomOperands(s, l, seed * 1000 + (unsigned)s.m);
        checkAgainstReference(s, o, l, GetParam(), quant, KILN_RT_ACT_GELU_TANH,
                              true);
        if (HasFatalFailure())
          return;
      }
    }
  EXPECT_EQ(context.error, "");
}

INSTANTIATE_TEST_SUITE_P(Isas, Int8GemmIsaTest,
                         ::testing::Values(Int8Isa::Generic, Int8Isa::Avx2,
                                           Int8Isa::Avx512Vnni,
                                           Int8Isa::NeonDot, Int8Isa::Amx),
                         [](const ::testing::TestParamInfo<Int8Isa> &info) {
                           return std::string(isaName(info.param));
                         });

TEST(Int8Packing, UnpacksWhatItPacked) {
  const Shape s{1, 13, 37};
  std::mt19937 rng(3);
  std::uniform_int_distribution<int> weight(-128, 127);
  std::vector<int8_t> w((size_t)(s.k * s.n)),
      packed((size_t)kiln::int8::packedBytes(s.k, s.n));
  for (auto &x : w)
    x = (int8_t)weight(rng);
  kiln::int8::pack(w.data(), s.k, s.n, packed.data());
  for (int64_t j = 0; j < s.n; ++j) {
    int32_t sum = 0;
    for (int64_t kk = 0; kk < s.k; ++kk) {
      EXPECT_EQ(kiln::int8::unpack(packed.data(), s.k, kk, j),
                w[(size_t)(kk * s.n + j)]);
      sum += w[(size_t)(kk * s.n + j)];
    }
    EXPECT_EQ(kiln::int8::columnSum(packed.data(), s.k, s.n, j), sum)
        << "column " << j;
  }
  // 3 panels of 16 columns x 16 padded rows, then 48 int32 sums.
  EXPECT_EQ(kiln::int8::packedBytes(s.k, s.n), 3 * 16 * 16 + 48 * 4);
}

TEST(Int8GemmEntryPoint, RunsTheBestVariant) {
  kiln::test::PoolContext context(2);
  // a = 1s [2, 3], w = 1s [3, 2]: the row scale is 1/127, q = 127 and each
  // product 381 / 127 = 3; weight scales 1 and 2, bias -5 and 1.
  std::vector<float> a(2 * 3, 1.0f), scales{1.0f, 2.0f}, bias{-5.0f, 1.0f},
      c(2 * 2, 7.0f);
  std::vector<int8_t> w(3 * 2, 1),
      packed((size_t)kiln::int8::packedBytes(3, 2));
  kiln::int8::pack(w.data(), 3, 2, packed.data());
  kiln_memref2_f32 am{a.data(), a.data(), 0, {2, 3}, {3, 1}};
  kiln_memref1_i8 pm{
      packed.data(), packed.data(), 0, {(int64_t)packed.size()}, {1}};
  kiln_memref1_f32 sm{scales.data(), scales.data(), 0, {2}, {1}};
  kiln_memref1_f32 bm{bias.data(), bias.data(), 0, {2}, {1}};
  kiln_memref2_f32 cm{c.data(), c.data(), 0, {2, 2}, {2, 1}};
  for (int32_t quant : kQuantModes) {
    // The static entry with a scale and zero point that give the same q.
    if (quant == KILN_RT_QUANT_STATIC_U8)
      _mlir_ciface_kiln_rt_qlinear_static_s8_f32(
          &am, &pm, &sm, &bm, &cm, KILN_RT_ACT_RELU, 1.0f / 127.0f, 128);
    else
      _mlir_ciface_kiln_rt_qlinear_s8_f32(&am, &pm, &sm, &bm, &cm,
                                          KILN_RT_ACT_RELU, quant);
    EXPECT_EQ(context.error, "");
    for (int64_t i = 0; i < 2; ++i) {
      EXPECT_NEAR(c[(size_t)(i * 2)], 0.0f, 1e-6) << "quant " << quant;
      EXPECT_NEAR(c[(size_t)(i * 2 + 1)], 7.0f, 1e-5) << "quant " << quant;
    }
  }
}

// Every positive normal input scale runs, as kiln.qlinear's verifier
// accepts them: at the ends of the range the vector kernels' reciprocal is
// not exact, and they quantize by division instead.
TEST(Int8GemmEntryPoint, StaticScalesAtTheEndsOfTheNormalRange) {
  kiln::test::PoolContext context(2);
  std::vector<float> scales{1.0f, 0.5f}, c(2 * 2, 7.0f);
  std::vector<int8_t> w(3 * 2, 1),
      packed((size_t)kiln::int8::packedBytes(3, 2));
  kiln::int8::pack(w.data(), 3, 2, packed.data());
  kiln_memref1_i8 pm{
      packed.data(), packed.data(), 0, {(int64_t)packed.size()}, {1}};
  kiln_memref1_f32 sm{scales.data(), scales.data(), 0, {2}, {1}};
  kiln_memref1_f32 none{nullptr, nullptr, 0, {0}, {1}};
  kiln_memref2_f32 cm{c.data(), c.data(), 0, {2, 2}, {2, 1}};
  for (float scale : {0x1p-126f, 0x1p-125f, 3.0f, 0x1p125f, 0x1p126f}) {
    // q = [[1, -1, 1], [2, 0, -1]]: each row sums to 1.
    std::vector<float> a{scale, -scale, scale, 2 * scale, 0.0f, -scale};
    kiln_memref2_f32 am{a.data(), a.data(), 0, {2, 3}, {3, 1}};
    _mlir_ciface_kiln_rt_qlinear_static_s8_f32(&am, &pm, &sm, &none, &cm,
                                               KILN_RT_ACT_NONE, scale, 128);
    EXPECT_EQ(context.error, "") << scale;
    for (int64_t i = 0; i < 2; ++i) {
      EXPECT_FLOAT_EQ(c[(size_t)(i * 2)], scale) << scale;
      EXPECT_FLOAT_EQ(c[(size_t)(i * 2 + 1)], scale * 0.5f) << scale;
    }
  }
}

TEST(Int8GemmEntryPoint, ReportsBadArguments) {
  kiln::test::PoolContext context(1);
  std::vector<float> a(4 * 5, 1.0f), scales(6, 1.0f), c(4 * 6, 7.0f);
  std::vector<int8_t> packed((size_t)kiln::int8::packedBytes(5, 6) - 1, 0);
  kiln_memref2_f32 am{a.data(), a.data(), 0, {4, 5}, {5, 1}};
  kiln_memref1_i8 pm{
      packed.data(), packed.data(), 0, {(int64_t)packed.size()}, {1}};
  kiln_memref1_f32 sm{scales.data(), scales.data(), 0, {6}, {1}};
  kiln_memref1_f32 none{nullptr, nullptr, 0, {0}, {1}};
  kiln_memref2_f32 cm{c.data(), c.data(), 0, {4, 6}, {6, 1}};
  _mlir_ciface_kiln_rt_qlinear_s8_f32(&am, &pm, &sm, &none, &cm,
                                      KILN_RT_ACT_NONE, KILN_RT_QUANT_ROW);
  EXPECT_EQ(context.error,
            "qlinear_s8_f32: a [4, 5] and c [4, 6] need 192 packed weight "
            "bytes and 6 scales, got 191 and 6 (bias 0)");
  EXPECT_EQ(c[0], 7.0f);

  context.error.clear();
  pm.sizes[0] += 1;
  _mlir_ciface_kiln_rt_qlinear_s8_f32(&am, &pm, &sm, &none, &cm,
                                      KILN_RT_ACT_NONE, 3);
  EXPECT_EQ(context.error, "qlinear_s8_f32: unknown quantization 3");

  context.error.clear();
  _mlir_ciface_kiln_rt_qlinear_s8_f32(&am, &pm, &sm, &none, &cm, 9,
                                      KILN_RT_QUANT_ROW);
  EXPECT_EQ(context.error, "qlinear_s8_f32: unknown activation 9");

  context.error.clear();
  kiln_memref2_f32 wide{a.data(), a.data(), 0, {4, 65537}, {65537, 1}};
  _mlir_ciface_kiln_rt_qlinear_s8_f32(&wide, &pm, &sm, &none, &cm,
                                      KILN_RT_ACT_NONE, KILN_RT_QUANT_ROW);
  EXPECT_EQ(context.error, "qlinear_s8_f32: K of 65537 is over 65536, where "
                           "the int32 accumulators could overflow");
  EXPECT_EQ(c[0], 7.0f);

  // The static entry: its parameters, then the shared size checks.
  context.error.clear();
  _mlir_ciface_kiln_rt_qlinear_static_s8_f32(&am, &pm, &sm, &none, &cm,
                                             KILN_RT_ACT_NONE, 0.0f, 0);
  EXPECT_EQ(context.error,
            "qlinear_static_s8_f32: input scale 0 must be a positive normal "
            "number and zero point 0 in [0, 255]");
  context.error.clear();
  _mlir_ciface_kiln_rt_qlinear_static_s8_f32(&am, &pm, &sm, &none, &cm,
                                             KILN_RT_ACT_NONE, 0.5f, 256);
  EXPECT_EQ(context.error,
            "qlinear_static_s8_f32: input scale 0.5 must be a positive normal "
            "number and zero point 256 in [0, 255]");
  context.error.clear();
  _mlir_ciface_kiln_rt_qlinear_static_s8_f32(
      &am, &pm, &sm, &none, &cm, KILN_RT_ACT_NONE, 0x1p-127f, 3); // subnormal
  EXPECT_NE(context.error.find("input scale"), std::string::npos);
  context.error.clear();
  _mlir_ciface_kiln_rt_qlinear_static_s8_f32(&wide, &pm, &sm, &none, &cm,
                                             KILN_RT_ACT_NONE, 0.5f, 3);
  EXPECT_EQ(context.error,
            "qlinear_static_s8_f32: K of 65537 is over 65536, where the "
            "int32 accumulators could overflow");
  EXPECT_EQ(c[0], 7.0f);
}

} // namespace
