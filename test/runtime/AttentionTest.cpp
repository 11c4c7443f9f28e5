//===- AttentionTest.cpp - Fused attention against a naive reference ------===//

#include "kernels/Attention.h"
#include "AttentionReference.h"
#include "IsaParam.h"
#include "PoolContext.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

namespace {

using kiln::MatmulIsa;
using kiln::test::Tensor4;

enum class Mask {
  None,
  Padding,
  Full,
  QueryRows,
  SpacedKeys,
  RepeatedRows,
  LastRowDiffers
};
enum class Layout { Dense, Strided, SpacedKeys };

struct Case {
  int64_t batch, heads, kvHeads, sq, sk, d, dv;
  bool causal;
  Mask mask;
  Layout layout;
};

std::string describe(const Case &c) {
  return "B" + std::to_string(c.batch) + " H" + std::to_string(c.heads) +
         " Hkv" + std::to_string(c.kvHeads) + " Sq" + std::to_string(c.sq) +
         " Sk" + std::to_string(c.sk) + " D" + std::to_string(c.d) + " Dv" +
         std::to_string(c.dv) + (c.causal ? " causal" : "") + " mask" +
         std::to_string(int(c.mask)) +
         (c.layout == Layout::Strided      ? " strided"
          : c.layout == Layout::SpacedKeys ? " spaced keys"
                                           : "");
}

void checkAttention(const Case &c, MatmulIsa isa) {
  std::mt19937 rng(unsigned(c.sq * 7919 + c.sk * 131 + c.d + c.heads));
  bool strided = c.layout != Layout::Dense;
  // Strided: queries and output in the [B, S, H, D] order projections
  // produce, keys and values the valid part of a longer cache, values with
  // a spaced inner dim. SpacedKeys: the keys' inner dim spaced as well.
  Tensor4 q({c.batch, c.heads, c.sq, c.d}, rng, -2, 2, strided);
  Tensor4 k({c.batch, c.kvHeads, c.sk, c.d}, rng, -2, 2, false, strided ? 7 : 0,
            c.layout == Layout::SpacedKeys ? 3 : 1);
  Tensor4 v({c.batch, c.kvHeads, c.sk, c.dv}, rng, -1, 1, false,
            strided ? 5 : 0, strided ? 2 : 1);
  Tensor4 out({c.batch, c.heads, c.sq, c.dv}, rng, 100, 200, strided);
  int64_t maskSizes[4] = {1, 1, 1, 1};
  switch (c.mask) {
  case Mask::None:
    break;
  case Mask::Padding: // [B, 1, 1, Sk], as BERT's attention_mask
    maskSizes[0] = c.batch, maskSizes[3] = c.sk;
    break;
  case Mask::Full:
    maskSizes[0] = c.batch, maskSizes[1] = c.heads, maskSizes[2] = c.sq,
    maskSizes[3] = c.sk;
    break;
  case Mask::QueryRows: // [1, 1, Sq, Sk]
    maskSizes[2] = c.sq, maskSizes[3] = c.sk;
    break;
  case Mask::RepeatedRows:   // [B, 1, Sq, Sk], every query row the same
  case Mask::LastRowDiffers: // ... but for the last one
    maskSizes[0] = c.batch, maskSizes[2] = c.sq, maskSizes[3] = c.sk;
    break;
  case Mask::SpacedKeys: // [B, H, Sq, Sk] with a key stride of 2
    maskSizes[0] = c.batch, maskSizes[1] = c.heads, maskSizes[2] = c.sq,
    maskSizes[3] = c.sk;
    break;
  }
  Tensor4 mask({maskSizes[0], maskSizes[1], maskSizes[2], maskSizes[3]}, rng,
               -3, 1, false, 0, c.mask == Mask::SpacedKeys ? 2 : 1);
  if (c.mask == Mask::RepeatedRows || c.mask == Mask::LastRowDiffers)
    for (int64_t b = 0; b < c.batch; ++b)
      for (int64_t i = 1; i < c.sq; ++i)
        for (int64_t j = 0; j < c.sk; ++j)
          mask.at(b, 0, i, j) = i == c.sq - 1 && c.mask == Mask::LastRowDiffers
                                    ? mask.at(b, 0, 0, j) + float(j % 3)
                                    : mask.at(b, 0, 0, j);
  if (c.mask == Mask::Padding) // the last sequence pads its first keys
    for (int64_t j = 0; j < c.sk && j < 3; ++j)
      mask.at(c.batch - 1, 0, 0, j) = -3.4028235e38f;
  const float scale = 1.0f / std::sqrt(float(c.d));

  kiln::attentionF32(q.ref, k.ref, v.ref,
                     c.mask == Mask::None ? nullptr : &mask.ref, out.ref, scale,
                     c.causal, isa);

  const std::vector<double> want = kiln::test::referenceAttention(
      q, k, v, c.mask == Mask::None ? nullptr : &mask, scale, c.causal);
  for (int64_t b = 0; b < c.batch; ++b)
    for (int64_t h = 0; h < c.heads; ++h)
      for (int64_t i = 0; i < c.sq; ++i)
        for (int64_t e = 0; e < c.dv; ++e)
          ASSERT_NEAR(out.at(b, h, i, e),
                      want[size_t(((b * c.heads + h) * c.sq + i) * c.dv + e)],
                      2e-5)
              << describe(c) << " at b " << b << " h " << h << " i " << i
              << " e " << e;
}

const Case kCases[] = {
    // Prefill: causal, square, head dims 64 and 128, lengths off 16 and 64.
    {2, 4, 4, 37, 37, 64, 64, true, Mask::None, Layout::Dense},
    {1, 2, 2, 130, 130, 128, 128, true, Mask::None, Layout::Dense},
    // BERT: padding mask, no causality.
    {3, 4, 4, 21, 21, 64, 64, false, Mask::Padding, Layout::Dense},
    // GQA prefill with a causal [1, 1, Sq, Sk] mask on top.
    {2, 8, 2, 70, 70, 64, 64, true, Mask::QueryRows, Layout::Dense},
    // Decode: one query over a cache, with and without grouped heads.
    {2, 12, 12, 1, 129, 64, 64, true, Mask::None, Layout::Dense},
    {1, 16, 4, 1, 75, 128, 128, true, Mask::Padding, Layout::Dense},
    {3, 4, 4, 1, 1, 64, 64, true, Mask::None, Layout::Dense},
    // Decode dot products: 16-key blocks, a 4-key block and single keys,
    // over a head dim that ends in a partial vector.
    {2, 3, 3, 1, 87, 24, 24, true, Mask::Padding, Layout::Dense},
    // Several new tokens over a cache: the causal offset Sk - Sq.
    {1, 4, 2, 5, 133, 64, 64, true, Mask::Full, Layout::Dense},
    {2, 3, 3, 9, 17, 64, 64, false, Mask::Full, Layout::Dense},
    // Odd head dims, a value dim unlike the key dim, tiny heads.
    {2, 4, 2, 19, 23, 20, 24, true, Mask::Padding, Layout::Dense},
    {2, 4, 2, 5, 5, 8, 8, true, Mask::Padding, Layout::Dense},
    {1, 6, 3, 3, 40, 72, 40, false, Mask::None, Layout::Dense},
    // Views: [B, S, H, D] queries and output, cache slices, spaced values.
    {2, 4, 4, 33, 33, 64, 64, true, Mask::None, Layout::Strided},
    {2, 8, 2, 1, 97, 64, 64, true, Mask::Padding, Layout::Strided},
    {1, 4, 1, 7, 70, 16, 16, true, Mask::Full, Layout::Strided},
    // Head dims that are no multiple of 4 (or below it), in the score tile
    // (4-row groups and 3 left over, 71 keys) and in the dot products of 3
    // to 1 rows (8-, 4- and 1-key groups); value dims with a partial vector.
    {2, 2, 2, 23, 71, 13, 7, true, Mask::None, Layout::Dense},
    {1, 3, 1, 1, 70, 18, 10, true, Mask::Padding, Layout::Dense},
    {1, 2, 1, 1, 37, 7, 6, true, Mask::None, Layout::Dense},
    {2, 1, 1, 1, 20, 9, 9, false, Mask::None, Layout::Dense},
    {1, 1, 1, 4, 9, 3, 2, true, Mask::None, Layout::Dense},
    // Keys of a spaced inner dim: packed by the portable loop, for 2 rows
    // as well as for a tile.
    {2, 2, 1, 1, 50, 30, 30, true, Mask::None, Layout::SpacedKeys},
    {1, 2, 1, 6, 45, 12, 20, false, Mask::QueryRows, Layout::SpacedKeys},
    // Items of 16 rows or more with the rows in lanes (AVX-512): several
    // 128-key blocks and their rescaling, a per-row mask gathered across
    // grouped heads with the causal offset, partial row vectors.
    {1, 4, 4, 40, 300, 64, 64, false, Mask::Padding, Layout::Dense},
    {2, 4, 2, 24, 200, 32, 48, true, Mask::Full, Layout::Dense},
    {1, 2, 2, 48, 48, 64, 64, true, Mask::None, Layout::Strided},
    {1, 4, 2, 20, 30, 16, 16, false, Mask::SpacedKeys, Layout::Dense},
    // transformers' padding mask expanded over the queries: read as a
    // broadcast once every row is found equal, not when the last differs.
    {2, 4, 4, 40, 40, 64, 64, false, Mask::RepeatedRows, Layout::Dense},
    {2, 4, 4, 40, 40, 64, 64, false, Mask::LastRowDiffers, Layout::Dense},
    {2, 3, 3, 5, 9, 16, 16, true, Mask::RepeatedRows, Layout::Dense},
};

class AttentionIsaTest : public ::testing::TestWithParam<MatmulIsa> {
protected:
  void SetUp() override {
    if (!kiln::cpuSupports(GetParam()))
      GTEST_SKIP() << "this CPU lacks the ISA";
  }
};

TEST_P(AttentionIsaTest, MatchesReference) {
  for (const Case &c : kCases) {
    checkAttention(c, GetParam());
    if (HasFatalFailure())
      return;
  }
}

INSTANTIATE_TEST_SUITE_P(Isas, AttentionIsaTest, kiln::test::allIsas(),
                         kiln::test::isaName);

TEST(AttentionParallel, MatchesReferenceOnThePool) {
  kiln::test::PoolContext context(3);
  for (const Case &c : kCases) {
    checkAttention(c, kiln::bestMatmulIsa());
    if (HasFatalFailure())
      return;
  }
  EXPECT_EQ(context.error, "");
}

TEST(AttentionEntryPoint, ReportsInconsistentSizes) {
  kiln::test::PoolContext context(1);
  std::mt19937 rng(3);
  Tensor4 q({1, 4, 2, 8}, rng), k({1, 3, 5, 8}, rng), v({1, 3, 5, 8}, rng);
  Tensor4 out({1, 4, 2, 8}, rng);
  float before = out.at(0, 0, 0, 0);
  _mlir_ciface_kiln_rt_attention_f32(&q.ref, &k.ref, &v.ref, &out.ref, 1.0f,
                                     0); // 3 key heads do not divide 4
  EXPECT_EQ(context.error,
            "attention_f32: q [1, 4, 2, 8], k [1, 3, 5, 8], v [1, 3, 5, 8] "
            "and out [1, 4, 2, 8] do not fit together");
  EXPECT_EQ(out.at(0, 0, 0, 0), before);

  context.error.clear();
  Tensor4 k2({1, 2, 5, 8}, rng), v2({1, 2, 5, 8}, rng);
  Tensor4 mask({1, 1, 3, 5}, rng); // 3 query rows for 2 queries
  _mlir_ciface_kiln_rt_attention_masked_f32(&q.ref, &k2.ref, &v2.ref, &mask.ref,
                                            &out.ref, 1.0f, 1);
  EXPECT_NE(context.error.find("the mask does not broadcast"),
            std::string::npos)
      << context.error;
  EXPECT_EQ(out.at(0, 0, 0, 0), before);
}

} // namespace

namespace {

// present = Concat(past, new) filled by the attention that reads it
// (kiln_rt_attention_append_f32): the outputs as over the concatenation,
// which the present buffers hold exactly afterwards.
struct AppendCase {
  int64_t batch, heads, kvHeads, sq, past, fresh, d;
  bool inPlace; // past is the prefix of present (kiln_session_run_cached)
};

void checkAppend(const AppendCase &c, MatmulIsa isa) {
  std::mt19937 rng(unsigned(c.sq * 17 + c.past * 5 + c.fresh));
  const int64_t sk = c.past + c.fresh;
  Tensor4 q({c.batch, c.heads, c.sq, c.d}, rng, -2, 2, true);
  Tensor4 pastK({c.batch, c.kvHeads, c.past, c.d}, rng, -2, 2);
  Tensor4 pastV({c.batch, c.kvHeads, c.past, c.d}, rng, -1, 1);
  Tensor4 newK({c.batch, c.kvHeads, c.fresh, c.d}, rng, -2, 2, true);
  Tensor4 newV({c.batch, c.kvHeads, c.fresh, c.d}, rng, -1, 1, true);
  // A cache longer than its valid part, filled with NaN past the rows.
  Tensor4 presK({c.batch, c.kvHeads, sk, c.d}, rng, 0, 1, false, 5);
  Tensor4 presV({c.batch, c.kvHeads, sk, c.d}, rng, 0, 1, false, 5);
  for (float &x : presK.storage)
    x = NAN;
  for (float &x : presV.storage)
    x = NAN;
  kiln::KvAppend append{pastK.ref, newK.ref, pastV.ref, newV.ref};
  if (c.inPlace) { // past as present's first rows, holding the same values
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
  kiln::attentionF32(q.ref, presK.ref, presV.ref, nullptr, out.ref, scale, true,
                     isa, &append);
  for (int64_t b = 0; b < c.batch; ++b)
    for (int64_t h = 0; h < c.kvHeads; ++h)
      for (int64_t j = 0; j < sk; ++j)
        for (int64_t e = 0; e < c.d; ++e) {
          bool old = j < c.past;
          ASSERT_EQ(presK.at(b, h, j, e),
                    old ? pastK.at(b, h, j, e) : newK.at(b, h, j - c.past, e))
              << "present key row " << j;
          ASSERT_EQ(presV.at(b, h, j, e),
                    old ? pastV.at(b, h, j, e) : newV.at(b, h, j - c.past, e))
              << "present value row " << j;
        }
  const std::vector<double> want =
      kiln::test::referenceAttention(q, presK, presV, nullptr, scale, true);
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

const AppendCase kAppendCases[] = {
    {2, 8, 2, 1, 37, 1, 64, false},   // a GQA decode step
    {3, 4, 4, 1, 20, 1, 16, true},    // in place
    {1, 4, 2, 40, 10, 40, 32, false}, // prefill after a past: query blocks
    {2, 2, 2, 1, 0, 1, 8, false},     // an empty past
    // Decode steps over several key blocks, and in place.
    {2, 3, 3, 1, 130, 1, 64, false},
    {1, 2, 2, 1, 200, 1, 48, true},
};

class AttentionAppendTest : public ::testing::TestWithParam<MatmulIsa> {
protected:
  void SetUp() override {
    if (!kiln::cpuSupports(GetParam()))
      GTEST_SKIP() << "this CPU lacks the ISA";
  }
};

TEST_P(AttentionAppendTest, FillsThePresentCacheAndMatchesReference) {
  for (const AppendCase &c : kAppendCases) {
    checkAppend(c, GetParam());
    if (HasFatalFailure())
      return;
  }
}

INSTANTIATE_TEST_SUITE_P(Isas, AttentionAppendTest, kiln::test::allIsas(),
                         kiln::test::isaName);

TEST(AttentionAppendParallel, FillsThePresentCacheOnThePool) {
  kiln::test::PoolContext context(3);
  for (const AppendCase &c : kAppendCases) {
    checkAppend(c, kiln::bestMatmulIsa());
    if (HasFatalFailure())
      return;
  }
  EXPECT_EQ(context.error, "");
}

TEST(AttentionAppendEntryPoint, ReportsAPresentThatIsNotTheConcat) {
  kiln::test::PoolContext context(1);
  std::mt19937 rng(5);
  Tensor4 q({1, 2, 1, 8}, rng), pk({1, 2, 4, 8}, rng), nk({1, 2, 1, 8}, rng);
  Tensor4 pv({1, 2, 4, 8}, rng), nv({1, 2, 1, 8}, rng);
  Tensor4 presK({1, 2, 6, 8}, rng), presV({1, 2, 6, 8}, rng);
  Tensor4 out({1, 2, 1, 8}, rng);
  _mlir_ciface_kiln_rt_attention_append_f32(&q.ref, &pk.ref, &nk.ref, &pv.ref,
                                            &nv.ref, &presK.ref, &presV.ref,
                                            &q.ref, &out.ref, 1.0f, 1, 0);
  EXPECT_EQ(context.error,
            "attention_append_f32: past k [1, 2, 4, 8] and new k [1, 2, 1, "
            "8] do not make present k [1, 2, 6, 8] (or the values do not)");
}

} // namespace
