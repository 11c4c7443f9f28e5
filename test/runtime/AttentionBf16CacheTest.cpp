//===- AttentionBf16CacheTest.cpp - Attention over a bf16 or f8 KV cache --===//
//
// kiln_rt_attention_append_bf16 and _f8 (kilnc --kv-cache-type=bf16 or
// f8e4m3fn): the present cache holds the past's bits and the new f32 rows
// rounded to nearest even, and the output is the float64 attention over the
// cache's values. The f8E4M3FN conversions are checked on all 256 codes
// against a reference built from the format's definition.

#include "AttentionReference.h"
#include "IsaParam.h"
#include "PoolContext.h"
#include "kernels/Attention.h"
#include "kernels/AttentionItem.h"
#include "kernels/CpuFeatures.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

namespace {

using kiln::MatmulIsa;
using kiln::test::Tensor4;

float widen(uint16_t bits) {
  uint32_t x = uint32_t(bits) << 16;
  float f;
  std::memcpy(&f, &x, sizeof(f));
  return f;
}

// The bf16 nearest to x, ties to the even one: of the two neighbours that
// truncation and the next value up give, as a reference independent of the
// kernel's bit trick.
uint16_t nearestBf16(float x) {
  uint32_t bits;
  std::memcpy(&bits, &x, sizeof(bits));
  uint16_t down = uint16_t(bits >> 16), up = uint16_t(down + 1);
  double dDown = std::fabs(double(x) - widen(down));
  double dUp = std::fabs(double(x) - widen(up));
  if (dDown != dUp)
    return dDown < dUp ? down : up;
  return (down & 1) ? up : down;
}

// f8E4M3FN code c's value from the format's definition (a sign, 4
// exponent bits biased by 7, 3 mantissa bits, S.1111.111 NaN).
double f8Value(uint8_t c) {
  const int e = (c >> 3) & 15, m = c & 7;
  if ((c & 0x7f) == 0x7f)
    return NAN;
  const double v =
      e ? std::ldexp(1.0 + m / 8.0, e - 7) : std::ldexp(m / 8.0, -6);
  return (c & 0x80) ? -v : v;
}

// The f8E4M3FN code nearest to x by search over the finite codes, ties to
// the even code; +-448 past the largest, NaN for NaN.
uint8_t nearestF8(float x) {
  if (std::isnan(x))
    return 0x7f;
  const uint8_t sign = std::signbit(x) ? 0x80 : 0;
  const double a = std::fabs(double(x));
  if (a >= 448)
    return sign | 0x7e;
  uint8_t best = 0;
  for (uint8_t c = 1; c < 0x7f; ++c) {
    const double dc = std::fabs(a - f8Value(c)),
                 db = std::fabs(a - f8Value(best));
    if (dc < db || (dc == db && (c & 1) == 0 && (best & 1) != 0))
      best = c;
  }
  return sign | best;
}

// What a cache of 16-bit bf16 or 8-bit f8E4M3FN elements needs here.
struct Bf16 {
  using Elem = uint16_t;
  using Memref = kiln_memref4_bf16;
  using Append = kiln::KvAppendBf16;
  static constexpr Elem kNaN = 0x7fc0;
  static float value(Elem bits) { return widen(bits); }
  static Elem nearest(float x) { return nearestBf16(x); }
  static void run(const Tensor4 &q, const Memref &k, const Memref &v,
                  const Tensor4 &out, float scale, bool causal, MatmulIsa isa,
                  const Append &append) {
    kiln::attentionAppendBf16(q.ref, k, v, nullptr, out.ref, scale, causal, isa,
                              append);
  }
};
struct F8 {
  using Elem = uint8_t;
  using Memref = kiln_memref4_f8;
  using Append = kiln::KvAppendF8;
  static constexpr Elem kNaN = 0x7f;
  static float value(Elem bits) { return float(f8Value(bits)); }
  static Elem nearest(float x) { return nearestF8(x); }
  static void run(const Tensor4 &q, const Memref &k, const Memref &v,
                  const Tensor4 &out, float scale, bool causal, MatmulIsa isa,
                  const Append &append) {
    kiln::attentionAppendF8(q.ref, k, v, nullptr, out.ref, scale, causal, isa,
                            append);
  }
};

// A narrow view with the layout of an f32 Tensor4 (offset, padding rows,
// strides), over its own storage, holding that tensor's values rounded.
template <class T> struct NarrowTensor4 {
  std::vector<typename T::Elem> storage;
  typename T::Memref ref;

  explicit NarrowTensor4(const Tensor4 &t)
      : storage(t.storage.size(), T::kNaN) { // NaN outside the view
    ref = {storage.data(), storage.data(), t.ref.offset, {}, {}};
    for (int i = 0; i < 4; ++i) {
      ref.sizes[i] = t.ref.sizes[i];
      ref.strides[i] = t.ref.strides[i];
    }
    for (size_t i = 0; i < storage.size(); ++i)
      if (!std::isnan(t.storage[i]))
        storage[i] = T::nearest(t.storage[i]);
  }

  typename T::Elem &at(int64_t a, int64_t b, int64_t c, int64_t d) {
    return ref.aligned[ref.offset + a * ref.strides[0] + b * ref.strides[1] +
                       c * ref.strides[2] + d * ref.strides[3]];
  }
};

struct CacheCase {
  int64_t batch, heads, kvHeads, sq, past, fresh, d;
  bool inPlace; // past is the prefix of present (kiln_session_run_cached)
  bool causal;
};

const CacheCase kCases[] = {
    {2, 8, 2, 1, 37, 1, 64, false, true},   // a GQA decode step
    {3, 4, 4, 1, 20, 1, 16, true, true},    // in place
    {1, 4, 2, 40, 10, 40, 32, false, true}, // prefill after a past: blocks
    {2, 2, 2, 1, 0, 1, 8, false, true},     // an empty past
    {2, 3, 3, 1, 130, 1, 64, false, false}, // several key blocks
    {1, 2, 2, 1, 200, 1, 48, true, true},
    {2, 12, 12, 1, 63, 1, 64, true, true}, // GPT-2's heads, served
};

template <class T> void checkCache(const CacheCase &c, MatmulIsa isa) {
  std::mt19937 rng(unsigned(c.sq * 17 + c.past * 5 + c.fresh + c.d));
  const int64_t sk = c.past + c.fresh;
  Tensor4 q({c.batch, c.heads, c.sq, c.d}, rng, -2, 2, true);
  Tensor4 newK({c.batch, c.kvHeads, c.fresh, c.d}, rng, -2, 2, true);
  Tensor4 newV({c.batch, c.kvHeads, c.fresh, c.d}, rng, -1, 1, true);
  // A cache longer than its valid part, NaN past the rows.
  Tensor4 layout({c.batch, c.kvHeads, sk, c.d}, rng, -2, 2, false, 5);
  NarrowTensor4<T> presK(layout), presV(layout);
  Tensor4 pastKf({c.batch, c.kvHeads, c.past, c.d}, rng, -2, 2);
  Tensor4 pastVf({c.batch, c.kvHeads, c.past, c.d}, rng, -1, 1);
  NarrowTensor4<T> pastK(pastKf), pastV(pastVf);
  for (auto &x : presK.storage)
    x = T::kNaN;
  for (auto &x : presV.storage)
    x = T::kNaN;
  typename T::Append append{pastK.ref, newK.ref, pastV.ref, newV.ref};
  if (c.inPlace) { // past as present's first rows, holding the same bits
    for (int64_t b = 0; b < c.batch; ++b)
      for (int64_t h = 0; h < c.kvHeads; ++h)
        for (int64_t j = 0; j < c.past; ++j)
          for (int64_t e = 0; e < c.d; ++e) {
            presK.at(b, h, j, e) = pastK.at(b, h, j, e);
            presV.at(b, h, j, e) = pastV.at(b, h, j, e);
          }
    append.pastK = presK.ref;
    append.pastK.sizes[2] = c.past;
    append.pastV = presV.ref;
    append.pastV.sizes[2] = c.past;
  }
  Tensor4 out({c.batch, c.heads, c.sq, c.d}, rng, 100, 200);
  const float scale = 0.125f;
  T::run(q, presK.ref, presV.ref, out, scale, c.causal, isa, append);
  // The cache's rows, and their values as f32 for the reference.
  Tensor4 k({c.batch, c.kvHeads, sk, c.d}, rng),
      v({c.batch, c.kvHeads, sk, c.d}, rng);
  for (int64_t b = 0; b < c.batch; ++b)
    for (int64_t h = 0; h < c.kvHeads; ++h)
      for (int64_t j = 0; j < sk; ++j)
        for (int64_t e = 0; e < c.d; ++e) {
          bool old = j < c.past;
          auto wantK = old ? pastK.at(b, h, j, e)
                           : T::nearest(newK.at(b, h, j - c.past, e));
          auto wantV = old ? pastV.at(b, h, j, e)
                           : T::nearest(newV.at(b, h, j - c.past, e));
          ASSERT_EQ(int(presK.at(b, h, j, e)), int(wantK))
              << "present key row " << j << " element " << e;
          ASSERT_EQ(int(presV.at(b, h, j, e)), int(wantV))
              << "present value row " << j << " element " << e;
          k.at(b, h, j, e) = T::value(wantK);
          v.at(b, h, j, e) = T::value(wantV);
        }
  const std::vector<double> want =
      kiln::test::referenceAttention(q, k, v, nullptr, scale, c.causal);
  for (int64_t b = 0; b < c.batch; ++b)
    for (int64_t h = 0; h < c.heads; ++h)
      for (int64_t i = 0; i < c.sq; ++i)
        for (int64_t e = 0; e < c.d; ++e)
          ASSERT_NEAR(out.at(b, h, i, e),
                      want[size_t(((b * c.heads + h) * c.sq + i) * c.d + e)],
                      2e-5)
              << "sq " << c.sq << " past " << c.past << " at b " << b << " h "
              << h << " i " << i;
}

class AttentionBf16CacheTest : public ::testing::TestWithParam<MatmulIsa> {
protected:
  void SetUp() override {
    if (!kiln::cpuSupports(GetParam()))
      GTEST_SKIP() << "this CPU lacks the ISA";
  }
};

TEST_P(AttentionBf16CacheTest, FillsTheCacheAndMatchesReference) {
  for (const CacheCase &c : kCases) {
    checkCache<Bf16>(c, GetParam());
    if (HasFatalFailure())
      return;
  }
}

TEST_P(AttentionBf16CacheTest, FillsAnF8CacheAndMatchesReference) {
  for (const CacheCase &c : kCases) {
    checkCache<F8>(c, GetParam());
    if (HasFatalFailure())
      return;
  }
}

INSTANTIATE_TEST_SUITE_P(Isas, AttentionBf16CacheTest, kiln::test::allIsas(),
                         kiln::test::isaName);

TEST(AttentionBf16CacheParallel, FillsTheCacheOnThePool) {
  kiln::test::PoolContext context(3);
  for (const CacheCase &c : kCases) {
    checkCache<Bf16>(c, kiln::bestMatmulIsa());
    checkCache<F8>(c, kiln::bestMatmulIsa());
    if (HasFatalFailure())
      return;
  }
  EXPECT_EQ(context.error, "");
}

// On every ISA, in a vector's lanes (the first 16) and in the tail after.
class AttentionBf16CacheRounding : public ::testing::TestWithParam<MatmulIsa> {
protected:
  void SetUp() override {
    if (!kiln::cpuSupports(GetParam()))
      GTEST_SKIP() << "this CPU lacks the ISA";
  }
};

TEST_P(AttentionBf16CacheRounding, TiesGoToEvenAndNaNsStayNaN) {
  kiln::test::PoolContext context(1);
  std::mt19937 rng(3);
  constexpr int64_t kD = 20;
  Tensor4 q({1, 1, 1, kD}, rng), newK({1, 1, 1, kD}, rng),
      newV({1, 1, 1, kD}, rng);
  // 1 + 2^-8 lies halfway between 1 and 1 + 2^-7: even is 1. 1 + 3 * 2^-8
  // lies halfway between 1 + 2^-7 and 1 + 2^-6: even is 1 + 2^-6.
  // A NaN with only its lowest mantissa bit set would round to inf.
  const float ties[4] = {1.0f + 0x1p-8f, 1.0f + 3 * 0x1p-8f, -0.0f,
                         __builtin_bit_cast(float, 0x7f800001u)};
  for (int64_t at : {0, 16})
    for (int e = 0; e < 4; ++e)
      newK.at(0, 0, 0, at + e) = ties[e];
  newK.at(0, 0, 0, 4) = NAN;
  Tensor4 layout({1, 1, 1, kD}, rng);
  NarrowTensor4<Bf16> presK(layout), presV(layout), pastK(layout),
      pastV(layout);
  kiln::KvAppendBf16 append{pastK.ref, newK.ref, pastV.ref, newV.ref};
  append.pastK.sizes[2] = append.pastV.sizes[2] = 0;
  Tensor4 out({1, 1, 1, kD}, rng);
  kiln::attentionAppendBf16(q.ref, presK.ref, presV.ref, nullptr, out.ref, 1.0f,
                            false, GetParam(), append);
  for (int64_t at : {0, 16}) {
    EXPECT_EQ(presK.at(0, 0, 0, at), 0x3f80) << at;
    EXPECT_EQ(presK.at(0, 0, 0, at + 1), 0x3f82) << at;
    EXPECT_EQ(presK.at(0, 0, 0, at + 2), 0x8000) << at;
    EXPECT_TRUE(std::isnan(widen(presK.at(0, 0, 0, at + 3)))) << at;
  }
  EXPECT_TRUE(std::isnan(widen(presK.at(0, 0, 0, 4))));
  for (int64_t e = 5; e < 16; ++e)
    EXPECT_EQ(presK.at(0, 0, 0, e), nearestBf16(newK.at(0, 0, 0, e))) << e;
}

INSTANTIATE_TEST_SUITE_P(Isas, AttentionBf16CacheRounding,
                         kiln::test::allIsas(), kiln::test::isaName);

// Every code widens to its value; every code's value, the halfway points
// between neighbours (ties), values past 448, infinities and NaN narrow to
// the nearest code, ties to even: the portable loops and, where the CPU has
// it, AVX-512, in a vector's lanes and in the tail.
TEST(AttentionF8Conversions, AllCodesAndTiesOnEveryVariant) {
  std::vector<uint8_t> codes(256);
  for (int c = 0; c < 256; ++c)
    codes[c] = uint8_t(c);
  std::vector<float> values;
  for (int c = 0; c < 256; ++c) {
    const double v = f8Value(uint8_t(c)), next = f8Value(uint8_t(c + 1));
    values.push_back(float(v));
    if ((c & 0x7f) < 0x7e) // the point halfway to the next code up
      values.push_back(float((v + next) / 2));
  }
  for (float x : {464.0f, 479.0f, 500.0f, 1e30f, INFINITY, -INFINITY, NAN,
                  0x1p-10f, 0x1p-11f, 3 * 0x1p-11f, 1e-30f, -0.0f})
    values.push_back(x);
  std::vector<std::pair<kiln::attention::WidenOf<uint8_t>,
                        kiln::attention::NarrowOf<uint8_t>>>
      variants{{kiln::attention::widenPortable<uint8_t>,
                kiln::attention::narrowPortable<uint8_t>}};
#if defined(__x86_64__)
  if (kiln::cpuSupports(MatmulIsa::Avx512))
    variants.push_back(
        {kiln::attention::widenF8Avx512, kiln::attention::narrowF8Avx512});
#endif
  for (auto [widenFn, narrowFn] : variants) {
    std::vector<float> wide(codes.size());
    widenFn(codes.data(), int64_t(codes.size()), wide.data());
    for (int c = 0; c < 256; ++c) {
      const double want = f8Value(uint8_t(c));
      if (std::isnan(want))
        EXPECT_TRUE(std::isnan(wide[c])) << c;
      else
        EXPECT_EQ(double(wide[c]), want) << c;
      if (!std::isnan(want))
        EXPECT_EQ(std::signbit(wide[c]), bool(c & 0x80)) << c;
    }
    std::vector<uint8_t> narrow(values.size());
    narrowFn(values.data(), int64_t(values.size()), narrow.data());
    for (size_t i = 0; i < values.size(); ++i)
      EXPECT_EQ(int(narrow[i]), int(nearestF8(values[i])))
          << "value " << values[i] << " at " << i;
  }
}

TEST(AttentionBf16CacheEntryPoint, ReportsAPresentThatIsNotTheConcat) {
  kiln::test::PoolContext context(1);
  std::mt19937 rng(5);
  Tensor4 q({1, 2, 1, 8}, rng), nk({1, 2, 1, 8}, rng), nv({1, 2, 1, 8}, rng);
  Tensor4 pastLayout({1, 2, 4, 8}, rng), presentLayout({1, 2, 6, 8}, rng);
  NarrowTensor4<Bf16> pk(pastLayout), pv(pastLayout);
  NarrowTensor4<Bf16> presK(presentLayout), presV(presentLayout);
  Tensor4 out({1, 2, 1, 8}, rng);
  const float before = out.at(0, 0, 0, 0);
  _mlir_ciface_kiln_rt_attention_append_bf16(&q.ref, &pk.ref, &nk.ref, &pv.ref,
                                             &nv.ref, &presK.ref, &presV.ref,
                                             &q.ref, &out.ref, 1.0f, 1, 0);
  EXPECT_EQ(context.error,
            "attention_append_bf16: past k [1, 2, 4, 8] and new k [1, 2, 1, "
            "8] do not make present k [1, 2, 6, 8] (or the values do not)");
  EXPECT_EQ(out.at(0, 0, 0, 0), before);
}

} // namespace
