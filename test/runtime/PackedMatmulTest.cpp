//===- PackedMatmulTest.cpp - Pre-packed weight GEMM vs a naive reference -===//

#include "ActivationReference.h"
#include "IsaParam.h"
#include "PoolContext.h"
#include "kernels/BatchMatmul.h"
#include "kernels/GemmEpilogue.h"

#include <gtest/gtest.h>

#include <cmath>
#include <new>
#include <random>
#include <string>
#include <vector>

namespace {

using kiln::MatmulIsa;
using kiln::test::activationReference;
constexpr int64_t kPanel = KILN_RT_PACKED_PANEL;

// 64-byte aligned, as the compiler places packed weights.
template <typename T> struct Aligned64 {
  using value_type = T;
  Aligned64() = default;
  template <typename U> Aligned64(const Aligned64<U> &) {}
  T *allocate(size_t n) {
    return static_cast<T *>(
        ::operator new(n * sizeof(T), std::align_val_t(64)));
  }
  void deallocate(T *p, size_t) { ::operator delete(p, std::align_val_t(64)); }
  bool operator==(const Aligned64 &) const { return true; }
};
using PackedVector = std::vector<float, Aligned64<float>>;

// w [k, n] row-major -> the compiler's panel layout (Kernels.h).
PackedVector pack(const std::vector<float> &w, int64_t k, int64_t n) {
  int64_t panels = (n + kPanel - 1) / kPanel;
  PackedVector out((size_t)(panels * kPanel * k), 0.0f);
  for (int64_t kk = 0; kk < k; ++kk)
    for (int64_t j = 0; j < n; ++j)
      out[(size_t)((j / kPanel) * k * kPanel + kk * kPanel + j % kPanel)] =
          w[(size_t)(kk * n + j)];
  return out;
}

struct Case {
  int64_t m, n, k;
};

// a is a padded view (row stride k + 3, offset 2); c is a padded view whose
// padding must stay untouched.
void checkPacked(const Case &s, MatmulIsa isa, bool misaligned = false) {
  std::mt19937 rng(unsigned(s.m * 7 + s.n * 131 + s.k));
  std::uniform_real_distribution<float> dist(-1, 1);
  int64_t lda = s.k + 3, ldc = s.n + 2;
  std::vector<float> a((size_t)(2 + s.m * lda)), w((size_t)(s.k * s.n));
  for (auto &x : a)
    x = dist(rng);
  for (auto &x : w)
    x = dist(rng);
  PackedVector packed = pack(w, s.k, s.n);
  if (misaligned) // the runtime must not assume what it cannot check
    packed.insert(packed.begin(), 0.0f);
  const float *packedData = packed.data() + (misaligned ? 1 : 0);
  std::vector<float> c((size_t)(s.m * ldc + 1), NAN);
  kiln_memref2_f32 am{a.data(), a.data(), 2, {s.m, s.k}, {lda, 1}};
  kiln_memref2_f32 cm{c.data(), c.data(), 0, {s.m, s.n}, {ldc, 1}};
  kiln::packedMatmulF32(am, packedData,
                        (int64_t)packed.size() - (misaligned ? 1 : 0), cm, isa);
  for (int64_t m = 0; m < s.m; ++m) {
    for (int64_t n = 0; n < s.n; ++n) {
      double want = 0, scale = 0;
      for (int64_t k = 0; k < s.k; ++k) {
        double t =
            (double)a[(size_t)(2 + m * lda + k)] * w[(size_t)(k * s.n + n)];
        want += t;
        scale += std::fabs(t);
      }
      ASSERT_NEAR(c[(size_t)(m * ldc + n)], want, 1e-6 * scale + 1e-6)
          << "m " << m << " n " << n << " shape [" << s.m << ", " << s.n << ", "
          << s.k << "]";
    }
    if (s.n > 0)
      ASSERT_TRUE(std::isnan(c[(size_t)(m * ldc + s.n)])) << "padding written";
  }
}

// Decode-sized rows (panel streaming, 1 and 2 panels per step, partial last
// panel, more than 8 rows in groups of 8) and prefill-sized rows (blocked
// kernel reading the panels).
const Case kCases[] = {
    {1, 1, 1},    {1, 32, 8},   {1, 33, 17},   {2, 64, 40},   {3, 95, 5},
    {4, 128, 64}, {5, 70, 33},  {7, 31, 9},    {8, 200, 100}, {9, 64, 64},
    {12, 40, 33}, {16, 96, 70}, {17, 33, 300}, {64, 96, 257}, {100, 130, 40},
    {3, 0, 4},    {0, 5, 4}};

class PackedMatmulIsaTest : public ::testing::TestWithParam<MatmulIsa> {
protected:
  void SetUp() override {
    if (!kiln::cpuSupports(GetParam()))
      GTEST_SKIP() << "this CPU lacks the ISA";
  }
};

TEST_P(PackedMatmulIsaTest, MatchesReference) {
  for (const Case &s : kCases) {
    checkPacked(s, GetParam());
    if (HasFatalFailure())
      return;
  }
}

TEST_P(PackedMatmulIsaTest, MisalignedWeightsStillMatch) {
  for (const Case &s : {Case{3, 70, 9}, Case{40, 100, 50}}) {
    checkPacked(s, GetParam(), /*misaligned=*/true);
    if (HasFatalFailure())
      return;
  }
}

INSTANTIATE_TEST_SUITE_P(Isas, PackedMatmulIsaTest, kiln::test::allIsas(),
                         kiln::test::isaName);

TEST(PackedMatmulParallel, MatchesReferenceOnThePool) {
  kiln::test::PoolContext context(3);
  for (const Case &s :
       {Case{1, 2048, 512}, Case{8, 1000, 300}, Case{200, 300, 150}}) {
    checkPacked(s, kiln::bestMatmulIsa());
    if (HasFatalFailure())
      return;
  }
  EXPECT_EQ(context.error, "");
}

const int32_t kActivations[] = {KILN_RT_ACT_NONE, KILN_RT_ACT_RELU,
                                KILN_RT_ACT_GELU, KILN_RT_ACT_GELU_TANH,
                                KILN_RT_ACT_SILU};

TEST(GemmEpilogue, ActivationsMatchLibm) {
  for (int32_t act : kActivations)
    for (double v = -12; v <= 12; v += 0.01) {
      double want = activationReference(act, (float)v);
      ASSERT_NEAR(kiln::activationF32(act, (float)v), want,
                  2e-7 * std::fabs(want) + 3e-7)
          << "activation " << act << " at " << v;
    }
  // Far outside the polynomial ranges: no inf or NaN.
  EXPECT_NEAR(kiln::activationF32(KILN_RT_ACT_GELU_TANH, -200.0f), 0.0f, 1e-30);
  EXPECT_NEAR(kiln::activationF32(KILN_RT_ACT_SILU, -200.0f), 0.0f, 1e-30);
  EXPECT_EQ(kiln::activationF32(KILN_RT_ACT_SILU, 200.0f), 200.0f);
  EXPECT_EQ(kiln::activationF32(KILN_RT_ACT_GELU, 200.0f), 200.0f);
}

// c = act(a . w + bias) on the decode, blocked and fallback paths, with a
// padded c whose padding must stay untouched.
void checkEpilogue(const Case &s, MatmulIsa isa, int32_t act, bool withBias,
                   bool misaligned = false) {
  std::mt19937 rng(unsigned(s.m * 5 + s.n * 17 + s.k + act));
  std::uniform_real_distribution<float> dist(-1, 1);
  int64_t ldc = s.n + 2;
  std::vector<float> a((size_t)(s.m * s.k)), w((size_t)(s.k * s.n)),
      bias((size_t)s.n);
  for (auto *v : {&a, &w, &bias})
    for (auto &x : *v)
      x = dist(rng);
  PackedVector packed = pack(w, s.k, s.n);
  if (misaligned)
    packed.insert(packed.begin(), 0.0f);
  std::vector<float> c((size_t)(s.m * ldc), NAN);
  kiln_memref2_f32 am{a.data(), a.data(), 0, {s.m, s.k}, {s.k, 1}};
  kiln_memref2_f32 cm{c.data(), c.data(), 0, {s.m, s.n}, {ldc, 1}};
  kiln::Epilogue e{withBias ? bias.data() : nullptr, act};
  kiln::packedMatmulF32(am, packed.data() + (misaligned ? 1 : 0),
                        (int64_t)packed.size() - (misaligned ? 1 : 0), cm, isa,
                        e);
  for (int64_t m = 0; m < s.m; ++m) {
    for (int64_t n = 0; n < s.n; ++n) {
      double sum = withBias ? bias[(size_t)n] : 0, scale = 0;
      for (int64_t k = 0; k < s.k; ++k) {
        double t = (double)a[(size_t)(m * s.k + k)] * w[(size_t)(k * s.n + n)];
        sum += t;
        scale += std::fabs(t);
      }
      double want = activationReference(act, sum);
      ASSERT_NEAR(c[(size_t)(m * ldc + n)], want,
                  2e-6 * scale + 1e-6 * std::fabs(want) + 1e-6)
          << "activation " << act << " bias " << withBias << " m " << m << " n "
          << n << " shape [" << s.m << ", " << s.n << ", " << s.k << "]";
    }
    ASSERT_TRUE(std::isnan(c[(size_t)(m * ldc + s.n)])) << "padding written";
  }
}

TEST_P(PackedMatmulIsaTest, EpilogueMatchesReference) {
  for (const Case &s : {Case{1, 33, 17}, Case{4, 128, 64}, Case{8, 70, 33},
                        Case{9, 64, 64}, Case{17, 33, 300}, Case{100, 130, 40}})
    for (int32_t act : kActivations)
      for (bool withBias : {false, true}) {
        checkEpilogue(s, GetParam(), act, withBias);
        if (HasFatalFailure())
          return;
      }
  // The path for weights the microkernel cannot load aligned.
  checkEpilogue(Case{40, 100, 50}, GetParam(), KILN_RT_ACT_GELU, true,
                /*misaligned=*/true);
}

TEST(PackedMatmulParallel, EpilogueOnThePool) {
  kiln::test::PoolContext context(3);
  for (const Case &s : {Case{2, 2048, 512}, Case{200, 300, 150}}) {
    checkEpilogue(s, kiln::bestMatmulIsa(), KILN_RT_ACT_GELU_TANH, true);
    if (HasFatalFailure())
      return;
  }
  EXPECT_EQ(context.error, "");
}

TEST(PackedMatmulEntryPoint, EpilogueAppliesBiasAndActivation) {
  kiln::test::PoolContext context(1);
  // a = 1s [2, 3], w = 1s [3, 2]: every product is 3; bias -5 and 1.
  std::vector<float> a(2 * 3, 1.0f), w(3 * 2, 1.0f), bias{-5.0f, 1.0f},
      c(2 * 2, 7.0f);
  PackedVector packed = pack(w, 3, 2);
  kiln_memref2_f32 am{a.data(), a.data(), 0, {2, 3}, {3, 1}};
  kiln_memref1_f32 pm{
      packed.data(), packed.data(), 0, {(int64_t)packed.size()}, {1}};
  kiln_memref1_f32 bm{bias.data(), bias.data(), 0, {2}, {1}};
  kiln_memref2_f32 cm{c.data(), c.data(), 0, {2, 2}, {2, 1}};
  _mlir_ciface_kiln_rt_matmul_packed_epilogue_f32(&am, &pm, &bm, &cm,
                                                  KILN_RT_ACT_RELU);
  EXPECT_EQ(context.error, "");
  EXPECT_EQ(c, (std::vector<float>{0.0f, 4.0f, 0.0f, 4.0f}));
}

TEST(PackedMatmulEntryPoint, EpilogueReportsBadArguments) {
  kiln::test::PoolContext context(1);
  std::vector<float> a(2 * 3, 1.0f), w(3 * 2, 1.0f), bias(3, 0.0f),
      c(2 * 2, 7.0f);
  PackedVector packed = pack(w, 3, 2);
  kiln_memref2_f32 am{a.data(), a.data(), 0, {2, 3}, {3, 1}};
  kiln_memref1_f32 pm{
      packed.data(), packed.data(), 0, {(int64_t)packed.size()}, {1}};
  kiln_memref1_f32 bm{bias.data(), bias.data(), 0, {3}, {1}};
  kiln_memref2_f32 cm{c.data(), c.data(), 0, {2, 2}, {2, 1}};
  _mlir_ciface_kiln_rt_matmul_packed_epilogue_f32(&am, &pm, &bm, &cm,
                                                  KILN_RT_ACT_NONE);
  EXPECT_EQ(context.error, "matmul_packed_epilogue_f32: bias of 3 elements "
                           "(stride 1) for 2 output columns");
  bm.sizes[0] = 2;
  context.error.clear();
  _mlir_ciface_kiln_rt_matmul_packed_epilogue_f32(&am, &pm, &bm, &cm, 9);
  EXPECT_EQ(context.error, "matmul_packed_epilogue_f32: unknown activation 9");
  EXPECT_EQ(c[0], 7.0f);
}

TEST(PackedMatmulEntryPoint, ReportsAWrongPackedSize) {
  kiln::test::PoolContext context(1);
  std::vector<float> a(4 * 5, 1.0f), packed(5 * kPanel - 1, 1.0f),
      c(4 * 6, 7.0f);
  kiln_memref2_f32 am{a.data(), a.data(), 0, {4, 5}, {5, 1}};
  kiln_memref1_f32 pm{
      packed.data(), packed.data(), 0, {(int64_t)packed.size()}, {1}};
  kiln_memref2_f32 cm{c.data(), c.data(), 0, {4, 6}, {6, 1}};
  _mlir_ciface_kiln_rt_matmul_packed_f32(&am, &pm, &cm);
  EXPECT_EQ(context.error, "matmul_packed_f32: a [4, 5] and c [4, 6] need " +
                               std::to_string(5 * kPanel) +
                               " packed weight elements, got " +
                               std::to_string(5 * kPanel - 1));
  EXPECT_EQ(c[0], 7.0f);
}

} // namespace
