//===- CudaFlashAttentionTest.cpp - The CUDA attention kernel, emulated ---===//
//
// runtime/cuda/kernels/FlashAttention.h is the CUDA kernel's body; here it
// is compiled as host code and run by the block emulator (cudaemu/), every
// thread a fiber, barriers and shuffles as on the GPU. Its outputs are
// checked against a float64 reference and against the CPU runtime's kernel
// (runtime/src/kernels/Attention.cpp). No GPU is involved.
//
//===----------------------------------------------------------------------===//

#include "AttentionReference.h"
#include "PoolContext.h"
#include "cudaemu/BlockEmulator.h"
#include "cudaemu/FlashAttentionEmulation.h"
#include "kernels/Attention.h"
#include "kernels/FlashAttention.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

namespace {

namespace flash = kiln::cuda::flash;
using kiln::test::Tensor4;

flash::Operand operandOf(const Tensor4 &t) {
  flash::Operand o;
  o.data = t.ref.aligned + t.ref.offset;
  for (int i = 0; i < 4; ++i) {
    o.sizes[i] = t.ref.sizes[i];
    o.strides[i] = t.ref.strides[i];
  }
  return o;
}

/// Plans and runs the attention kernel and, with a key split, the combine
/// kernel on the emulator, as runtime/cuda/Attention.cpp launches them.
/// Returns the plan's split count.
int runEmulated(flash::Params &p) {
  flash::LaunchShape shape;
  const char *why = flash::planLaunch(p, shape);
  EXPECT_EQ(why, nullptr);
  if (why)
    return 0;
  std::vector<float> partial(size_t(shape.partialFloats), NAN);
  int64_t outRows = int64_t(p.batch) * p.heads * p.sq;
  if (shape.partialFloats) {
    p.partialOut = partial.data();
    p.partialStats = partial.data() + int64_t(p.splits) * outRows * p.d;
  }
  void *params[] = {&p};
  EXPECT_EQ(kiln_cudaemu_launch(flash::kernelName(p.d), shape.grid[0],
                                shape.grid[1], shape.grid[2], shape.block, 1, 1,
                                params),
            nullptr);
  if (p.splits > 1)
    EXPECT_EQ(kiln_cudaemu_launch(flash::combineKernelName(), shape.combineGrid,
                                  1, 1, shape.combineBlock, 1, 1, params),
              nullptr);
  return p.splits;
}

enum class Mask { None, Padding, QueryRows, Full };
enum class Splits { One, Several };

struct Case {
  const char *name;
  int64_t batch, heads, kvHeads, sq, sk, d;
  bool causal;
  Mask mask;
  // Keys and values as the valid part of a longer cache buffer (`cache`
  // positions per head, KV-cache concat result) with queries and output in
  // [B, S, H, D] order.
  int64_t cache;
  Splits splits;
};

void PrintTo(const Case &c, std::ostream *os) { *os << c.name; }

void check(const Case &c) {
  SCOPED_TRACE(c.name);
  std::mt19937 rng(unsigned(c.sq * 7919 + c.sk * 131 + c.d + c.heads));
  bool strided = c.cache > 0;
  int64_t padding = strided ? c.cache - c.sk : 0;
  Tensor4 q({c.batch, c.heads, c.sq, c.d}, rng, -2, 2, strided);
  // Spaced inner dims too, so that no stride is assumed to be 1.
  Tensor4 k({c.batch, c.kvHeads, c.sk, c.d}, rng, -2, 2, false, padding,
            strided ? 2 : 1);
  Tensor4 v({c.batch, c.kvHeads, c.sk, c.d}, rng, -1, 1, false, padding,
            strided ? 3 : 1);
  Tensor4 out({c.batch, c.heads, c.sq, c.d}, rng, 100, 200, strided);
  Tensor4 cpuOut({c.batch, c.heads, c.sq, c.d}, rng, 100, 200);
  int64_t maskSizes[4] = {1, 1, 1, 1};
  if (c.mask == Mask::Padding) // [B, 1, 1, Sk], as BERT's attention_mask
    maskSizes[0] = c.batch, maskSizes[3] = c.sk;
  if (c.mask == Mask::QueryRows) // [1, 1, Sq, Sk]
    maskSizes[2] = c.sq, maskSizes[3] = c.sk;
  if (c.mask == Mask::Full)
    maskSizes[0] = c.batch, maskSizes[1] = c.heads, maskSizes[2] = c.sq,
    maskSizes[3] = c.sk;
  Tensor4 mask({maskSizes[0], maskSizes[1], maskSizes[2], maskSizes[3]}, rng,
               -3, 1);
  if (c.mask == Mask::Padding) // the last sequence pads its first keys
    for (int64_t j = 0; j < c.sk && j < 3; ++j)
      mask.at(c.batch - 1, 0, 0, j) = -3.4028235e38f;
  Tensor4 *maskOrNull = c.mask == Mask::None ? nullptr : &mask;
  const float scale = 1.0f / std::sqrt(float(c.d));

  flash::Params p;
  flash::Operand maskOperand = operandOf(mask);
  ASSERT_EQ(flash::setProblem(p, operandOf(q), operandOf(k), operandOf(v),
                              maskOrNull ? &maskOperand : nullptr,
                              operandOf(out), scale, c.causal),
            nullptr);
  int splits = runEmulated(p);
  ASSERT_FALSE(::testing::Test::HasFailure());
  if (c.splits == Splits::One)
    EXPECT_EQ(splits, 1);
  else
    EXPECT_GT(splits, 1);

  kiln::attentionF32(q.ref, k.ref, v.ref, maskOrNull ? &mask.ref : nullptr,
                     cpuOut.ref, scale, c.causal, kiln::MatmulIsa::Generic);
  const std::vector<double> want =
      kiln::test::referenceAttention(q, k, v, maskOrNull, scale, c.causal);
  double worst = 0, worstCpu = 0;
  for (int64_t b = 0; b < c.batch; ++b)
    for (int64_t h = 0; h < c.heads; ++h)
      for (int64_t i = 0; i < c.sq; ++i)
        for (int64_t e = 0; e < c.d; ++e) {
          double got = out.at(b, h, i, e);
          double ref = want[size_t(((b * c.heads + h) * c.sq + i) * c.d + e)];
          ASSERT_NEAR(got, ref, 2e-5)
              << "b " << b << " h " << h << " i " << i << " e " << e;
          worst = std::max(worst, std::abs(got - ref));
          worstCpu = std::max(worstCpu, std::abs(got - cpuOut.at(b, h, i, e)));
        }
  EXPECT_LE(worstCpu, 2e-5);
  // The output view's padding (none here) and the cache tail stay untouched
  // by the writes: every element written is checked above.
  ::testing::Test::RecordProperty("max_abs_error", std::to_string(worst));
}

const Case kCases[] = {
    {"causal prefill, d64", 2, 4, 4, 37, 37, 64, true, Mask::None, 0,
     Splits::One},
    {"causal prefill, d128, split keys", 1, 2, 2, 130, 130, 128, true,
     Mask::None, 0, Splits::Several},
    {"causal prefill, grid large enough for no split", 2, 16, 16, 140, 140, 32,
     true, Mask::None, 0, Splits::One},
    {"padding mask, not causal", 3, 4, 4, 21, 21, 64, false, Mask::Padding, 0,
     Splits::One},
    {"GQA 16/4 prefill, causal and [1, 1, Sq, Sk] mask", 2, 16, 4, 19, 19, 64,
     true, Mask::QueryRows, 0, Splits::One},
    {"decode, strided past+new cache, Sk 1027", 1, 12, 12, 1, 1027, 64, true,
     Mask::None, 1100, Splits::Several},
    {"decode, GQA 16/4, d128, padding mask, cache, Sk 1027", 2, 16, 4, 1, 1027,
     128, true, Mask::Padding, 1031, Splits::Several},
    {"new tokens over a cache: causal offset Sk - Sq", 1, 4, 2, 5, 133, 64,
     true, Mask::Full, 140, Splits::Several},
    {"d32, batch 3", 3, 4, 2, 9, 40, 32, false, Mask::Full, 0, Splits::One},
    {"d96, GQA 6/3", 1, 6, 3, 3, 70, 96, true, Mask::None, 0, Splits::Several},
    {"d16 (GPT-2 tiny's), causal prefill", 2, 4, 4, 13, 13, 16, true,
     Mask::None, 0, Splits::One},
    {"d16 decode over a cache", 2, 4, 4, 1, 77, 16, true, Mask::Padding, 90,
     Splits::Several},
    {"d80, padding mask", 2, 4, 2, 11, 11, 80, false, Mask::Padding, 0,
     Splits::One},
};

class FlashAttentionEmulated : public ::testing::TestWithParam<Case> {};

TEST_P(FlashAttentionEmulated, MatchesReferenceAndCpuKernel) {
  check(GetParam());
}

INSTANTIATE_TEST_SUITE_P(Cases, FlashAttentionEmulated,
                         ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<Case> &info) {
                           return "Case" + std::to_string(info.index);
                         });

// A query with no visible key (causal with Sk < Sq) is 0/0, as on the CPU.
TEST(FlashAttentionEmulatedRows, RowWithoutKeysIsNaNAsOnTheCpu) {
  std::mt19937 rng(5);
  Tensor4 q({1, 2, 4, 32}, rng), k({1, 2, 2, 32}, rng), v({1, 2, 2, 32}, rng);
  Tensor4 out({1, 2, 4, 32}, rng), cpuOut({1, 2, 4, 32}, rng);
  flash::Params p;
  ASSERT_EQ(flash::setProblem(p, operandOf(q), operandOf(k), operandOf(v),
                              nullptr, operandOf(out), 0.5f, true),
            nullptr);
  runEmulated(p);
  kiln::attentionF32(q.ref, k.ref, v.ref, nullptr, cpuOut.ref, 0.5f, true,
                     kiln::MatmulIsa::Generic);
  for (int64_t h = 0; h < 2; ++h)
    for (int64_t i = 0; i < 4; ++i)
      for (int64_t e = 0; e < 32; ++e) {
        // Offset Sk - Sq = -2: queries 0 and 1 see no key.
        EXPECT_EQ(std::isnan(out.at(0, h, i, e)), i < 2);
        EXPECT_EQ(std::isnan(cpuOut.at(0, h, i, e)), i < 2);
        if (i >= 2)
          EXPECT_NEAR(out.at(0, h, i, e), cpuOut.at(0, h, i, e), 2e-5);
      }
}

TEST(FlashAttentionPlan, RejectsWhatHasNoKernel) {
  std::mt19937 rng(7);
  Tensor4 q({1, 2, 3, 48}, rng), k({1, 2, 5, 48}, rng), v({1, 2, 5, 48}, rng);
  Tensor4 out({1, 2, 3, 48}, rng);
  flash::Params p;
  flash::LaunchShape shape;
  ASSERT_EQ(flash::setProblem(p, operandOf(q), operandOf(k), operandOf(v),
                              nullptr, operandOf(out), 1.0f, false),
            nullptr);
  EXPECT_STREQ(flash::planLaunch(p, shape),
               "head dim has no kernel (16, 32, 64, 80, 96, 128)");

  Tensor4 v2({1, 2, 5, 64}, rng), out2({1, 2, 3, 64}, rng);
  Tensor4 q2({1, 2, 3, 64}, rng), k2({1, 2, 5, 64}, rng);
  EXPECT_STREQ(flash::setProblem(p, operandOf(q2), operandOf(k2), operandOf(v2),
                                 nullptr, operandOf(out2), 1.0f, false),
               nullptr);
  Tensor4 v3({1, 2, 5, 32}, rng), out3({1, 2, 3, 32}, rng);
  EXPECT_STREQ(flash::setProblem(p, operandOf(q2), operandOf(k2), operandOf(v3),
                                 nullptr, operandOf(out3), 1.0f, false),
               "keys and values have different head dims");
  Tensor4 k4({1, 3, 5, 64}, rng), v4({1, 3, 5, 64}, rng);
  EXPECT_STREQ(flash::setProblem(p, operandOf(q2), operandOf(k4), operandOf(v4),
                                 nullptr, operandOf(out2), 1.0f, false),
               "the operands do not fit together");
}

TEST(FlashAttentionPlan, SplitsDecodeKeysAcrossBlocks) {
  flash::Params p{};
  p.batch = 1, p.heads = 12, p.kvHeads = 12, p.group = 1, p.sq = 1;
  p.sk = 1027, p.d = 64;
  flash::LaunchShape shape;
  ASSERT_EQ(flash::planLaunch(p, shape), nullptr);
  // 12 heads alone would be 12 one-warp blocks: the keys are split into
  // 17 ranges of 64 (the minimum), 204 blocks.
  EXPECT_EQ(p.warps, 1);
  EXPECT_EQ(p.keysPerSplit, 64);
  EXPECT_EQ(p.splits, 17);
  EXPECT_EQ(shape.grid[0], 17u);
  EXPECT_EQ(shape.grid[1], 12u);
  EXPECT_EQ(shape.block, 32u);
  EXPECT_EQ(shape.partialFloats, 17 * 12 * (64 + 2));

  p.batch = 4, p.heads = 32, p.kvHeads = 8, p.group = 4, p.sq = 512;
  p.sk = 512;
  ASSERT_EQ(flash::planLaunch(p, shape), nullptr);
  EXPECT_EQ(p.warps, 4);
  EXPECT_EQ(p.splits, 1); // 128 row tiles x 8 x 4 blocks already
  EXPECT_EQ(shape.partialFloats, 0);
}

// The emulator itself: a barrier only some threads reach is reported.
TEST(BlockEmulator, ReportsABarrierThatCannotComplete) {
  auto body = [](void *, kiln::cudaemu::Thread &gpu, void *) {
    if (gpu.threadIdxX() < 40)
      gpu.syncThreads();
  };
  const uint32_t grid[3] = {1, 1, 1};
  const char *error = kiln::cudaemu::launch(grid, 64, 0, body, nullptr);
  ASSERT_NE(error, nullptr);
  EXPECT_NE(std::string(error).find("cannot complete"), std::string::npos);
}

// And shared memory, barriers and shuffles behave as on the GPU: each
// thread writes its id, reads its neighbor's after the barrier, and the warp
// sums with the same butterfly the kernel uses.
TEST(BlockEmulator, SharedMemoryBarriersAndShuffles) {
  static int results[64];
  auto body = [](void *, kiln::cudaemu::Thread &gpu, void *shared) {
    int *words = static_cast<int *>(shared);
    int t = gpu.threadIdxX();
    words[t] = t * 3;
    gpu.syncThreads();
    float x[1] = {float(words[(t + 1) % 64])};
    flash::warpAllReduce<false>(gpu, x);
    results[t] = int(x[0]);
  };
  const uint32_t grid[3] = {1, 1, 1};
  ASSERT_EQ(kiln::cudaemu::launch(grid, 64, 64 * sizeof(int), body, nullptr),
            nullptr);
  // Warp 0 sums 3 * (1 + ... + 32), warp 1 3 * (33 + ... + 63 + 0).
  for (int t = 0; t < 32; ++t)
    EXPECT_EQ(results[t], 3 * 528);
  for (int t = 32; t < 64; ++t)
    EXPECT_EQ(results[t], 3 * 1488);
}

} // namespace
