//===- KvCacheBf16Test.cpp - A bf16 KV cache on a real decode artifact ----===//
//
// gpt2_tiny_decode compiled with kilnc --kv-cache-type=bf16
// (test/runtime/CMakeLists.txt): its pasts and presents are bf16. Steps
// through kiln_session_run_cached equal dense kiln_session_run steps bit for
// bit, and a cache filled from f32 presents (a prefill graph compiled
// without the flag) steps as one filled from their bf16 rounding.
//
//===----------------------------------------------------------------------===//

#include "ArtifactSession.h"
#include "kiln/runtime.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace {

constexpr int64_t kBatch = 2, kHeads = 4, kHeadDim = 16, kVocab = 1000;
constexpr int64_t kPast = 3, kSteps = 3, kMaxLength = 8;

using kiln::test::Session;
using kiln::test::tensor;

const kiln_abi_model *decodeModel() {
  return kiln::test::artifactModel(KILN_GPT2_DECODE_BF16_ARTIFACT);
}

// The nearest bf16, ties to even (no NaNs here).
uint16_t toBf16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  return uint16_t((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

class KvCacheBf16Test : public ::testing::Test {
protected:
  void SetUp() override {
    model = decodeModel();
    ASSERT_NE(model, nullptr) << dlerror();
    ASSERT_EQ(model->num_kv_pairs, 4);
    for (int k = 0; k < 4; ++k)
      ASSERT_EQ(model->inputs[model->kv_pairs[k].input].dtype, KILN_DTYPE_BF16);
    std::mt19937 rng(11);
    std::normal_distribution<float> normal;
    past.assign(4, std::vector<float>(kBatch * kHeads * kPast * kHeadDim));
    rounded.assign(4, {});
    for (int k = 0; k < 4; ++k)
      for (float &x : past[k]) {
        x = normal(rng);
        rounded[k].push_back(toBf16(x));
      }
    for (int64_t i = 0; i < kBatch; ++i)
      ids.push_back(23 + 100 * i);
  }

  // Steps through a cache filled by `fill`; the logits of each step.
  std::vector<std::vector<float>>
  cachedSteps(const std::vector<kiln_tensor> &fill) {
    Session s(model);
    kiln_kv_cache *cache = nullptr;
    EXPECT_EQ(kiln_kv_cache_create(s.s, kBatch, kMaxLength, &cache), KILN_OK);
    EXPECT_EQ(kiln_kv_cache_set(cache, fill.data(), fill.size()), KILN_OK)
        << kiln_session_last_error(s.s);
    std::vector<std::vector<float>> all;
    for (int64_t step = 0; step < kSteps; ++step) {
      std::vector<int64_t> idDims = {kBatch, 1},
                           logitDims = {kBatch, 1, kVocab};
      std::vector<float> logits(kBatch * kVocab, -1.0f);
      kiln_tensor in =
          tensor(KILN_DTYPE_I64, idDims, ids.data(), ids.size() * 8);
      kiln_tensor out =
          tensor(KILN_DTYPE_F32, logitDims, logits.data(), logits.size() * 4);
      EXPECT_EQ(kiln_session_run_cached(s.s, cache, &in, 1, &out, 1), KILN_OK)
          << kiln_session_last_error(s.s);
      all.push_back(logits);
    }
    kiln_kv_cache_destroy(cache);
    return all;
  }

  const kiln_abi_model *model = nullptr;
  std::vector<std::vector<float>> past;
  std::vector<std::vector<uint16_t>> rounded;
  std::vector<int64_t> pastDims = {kBatch, kHeads, kPast, kHeadDim};
  std::vector<int64_t> ids;
};

TEST_F(KvCacheBf16Test, StepsMatchDenseRunsAndF32PresentsAreRounded) {
  // Dense: bf16 pasts in, bf16 presents out, fed back.
  std::vector<std::vector<float>> dense;
  std::vector<std::vector<uint16_t>> cur = rounded;
  {
    Session s(model);
    for (int64_t step = 0; step < kSteps; ++step) {
      int64_t length = kPast + step;
      std::vector<int64_t> idDims = {kBatch, 1},
                           logitDims = {kBatch, 1, kVocab};
      std::vector<int64_t> curDims = {kBatch, kHeads, length, kHeadDim};
      std::vector<int64_t> presentDims = {kBatch, kHeads, length + 1, kHeadDim};
      std::vector<kiln_tensor> ins(model->num_inputs), outs(model->num_outputs);
      ins[0] = tensor(KILN_DTYPE_I64, idDims, ids.data(), ids.size() * 8);
      std::vector<float> logits(kBatch * kVocab);
      outs[0] =
          tensor(KILN_DTYPE_F32, logitDims, logits.data(), logits.size() * 4);
      std::vector<std::vector<uint16_t>> next(4);
      for (int k = 0; k < 4; ++k) {
        const kiln_abi_kv_pair &p = model->kv_pairs[k];
        ins[p.input] =
            tensor(KILN_DTYPE_BF16, curDims, cur[k].data(), cur[k].size() * 2);
        next[k].resize(kBatch * kHeads * (length + 1) * kHeadDim);
        outs[p.output] = tensor(KILN_DTYPE_BF16, presentDims, next[k].data(),
                                next[k].size() * 2);
      }
      ASSERT_EQ(kiln_session_run(s.s, ins.data(), ins.size(), outs.data(),
                                 outs.size()),
                KILN_OK)
          << kiln_session_last_error(s.s);
      dense.push_back(logits);
      cur = next;
    }
  }
  std::vector<kiln_tensor> asBf16, asF32;
  for (int k = 0; k < 4; ++k) {
    asBf16.push_back(tensor(KILN_DTYPE_BF16, pastDims, rounded[k].data(),
                            rounded[k].size() * 2));
    asF32.push_back(
        tensor(KILN_DTYPE_F32, pastDims, past[k].data(), past[k].size() * 4));
  }
  std::vector<std::vector<float>> fromBf16 = cachedSteps(asBf16);
  std::vector<std::vector<float>> fromF32 = cachedSteps(asF32);
  for (int64_t step = 0; step < kSteps; ++step) {
    EXPECT_EQ(0, memcmp(fromBf16[step].data(), dense[step].data(),
                        dense[step].size() * 4))
        << "step " << step;
    EXPECT_EQ(0, memcmp(fromF32[step].data(), dense[step].data(),
                        dense[step].size() * 4))
        << "step " << step;
  }
  // The f32 pasts were not bf16 values already: the cache rounded them.
  bool anyRounded = false;
  for (int k = 0; k < 4; ++k)
    for (size_t i = 0; i < past[k].size(); ++i) {
      uint32_t bits = uint32_t(rounded[k][i]) << 16;
      float back;
      std::memcpy(&back, &bits, 4);
      anyRounded = anyRounded || back != past[k][i];
    }
  EXPECT_TRUE(anyRounded);
}

TEST_F(KvCacheBf16Test, RefusesOtherDtypes) {
  Session s(model);
  kiln_kv_cache *cache = nullptr;
  ASSERT_EQ(kiln_kv_cache_create(s.s, kBatch, kMaxLength, &cache), KILN_OK);
  std::vector<int32_t> ints(kBatch * kHeads * kPast * kHeadDim);
  std::vector<kiln_tensor> wrong;
  for (int k = 0; k < 4; ++k)
    wrong.push_back(
        tensor(KILN_DTYPE_I32, pastDims, ints.data(), ints.size() * 4));
  EXPECT_EQ(kiln_kv_cache_set(cache, wrong.data(), 4),
            KILN_ERROR_DTYPE_MISMATCH);
  EXPECT_NE(std::string(kiln_session_last_error(s.s))
                .find("got dtype i32, expected bf16 or f32"),
            std::string::npos)
      << kiln_session_last_error(s.s);
  // An f32 buffer sized for bf16 is too small.
  std::vector<kiln_tensor> small;
  for (int k = 0; k < 4; ++k)
    small.push_back(
        tensor(KILN_DTYPE_F32, pastDims, past[k].data(), past[k].size() * 2));
  EXPECT_EQ(kiln_kv_cache_set(cache, small.data(), 4),
            KILN_ERROR_BUFFER_TOO_SMALL);
  kiln_kv_cache_destroy(cache);
}

} // namespace
