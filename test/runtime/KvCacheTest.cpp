//===- KvCacheTest.cpp - In-place KV cache on a real decode artifact ---===//
//
// gpt2_tiny_decode compiled by kilnc (test/runtime/CMakeLists.txt): several
// decode steps through kiln_session_run_cached must give the same logits,
// bit for bit, as the same steps through kiln_session_run with dense past
// and present buffers fed back by the caller, and the cache must end up
// holding the last dense present.
//
//===----------------------------------------------------------------------===//

#include "ArtifactSession.h"
#include "kiln/runtime.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace {

constexpr int64_t kBatch = 2, kHeads = 4, kHeadDim = 16, kVocab = 1000;
constexpr int64_t kPast = 3, kSteps = 5, kMaxLength = 10;

using kiln::test::Session;
using kiln::test::tensor;

const kiln_abi_model *decodeModel() {
  return kiln::test::artifactModel(KILN_GPT2_DECODE_ARTIFACT);
}

class KvCacheTest : public ::testing::Test {
protected:
  void SetUp() override {
    model = decodeModel();
    ASSERT_NE(model, nullptr) << dlerror();
    ASSERT_EQ(model->num_kv_pairs, 4); // 2 layers x key, value
    std::mt19937 rng(7);
    std::normal_distribution<float> normal;
    past.assign(4, std::vector<float>(kBatch * kHeads * kPast * kHeadDim));
    for (auto &p : past)
      for (float &x : p)
        x = normal(rng);
    for (int64_t i = 0; i < kBatch; ++i)
      ids.push_back(17 + 100 * i);
  }

  /// The input/output index of pair k's past and present.
  int32_t pastInput(int k) const { return model->kv_pairs[k].input; }

  /// The four past tensors, views of `past` (kPast positions).
  std::vector<kiln_tensor> pastTensors() {
    std::vector<kiln_tensor> tensors;
    for (int k = 0; k < 4; ++k)
      tensors.push_back(
          tensor(KILN_DTYPE_F32, pastDims, past[k].data(), past[k].size() * 4));
    return tensors;
  }

  const kiln_abi_model *model = nullptr;
  std::vector<std::vector<float>> past;
  std::vector<int64_t> pastDims = {kBatch, kHeads, kPast, kHeadDim};
  std::vector<int64_t> ids;
};

TEST_F(KvCacheTest, StepsMatchDenseRunsBitForBit) {
  // Dense: the caller feeds each step's presents back as the next pasts.
  std::vector<std::vector<float>> logitsDense;
  std::vector<std::vector<float>> cur = past;
  {
    Session dense(model);
    for (int64_t step = 0; step < kSteps; ++step) {
      int64_t length = kPast + step;
      std::vector<int64_t> idDims = {kBatch, 1};
      std::vector<int64_t> curDims = {kBatch, kHeads, length, kHeadDim};
      std::vector<int64_t> presentDims = {kBatch, kHeads, length + 1, kHeadDim};
      std::vector<int64_t> logitDims = {kBatch, 1, kVocab};
      std::vector<kiln_tensor> ins(model->num_inputs), outs(model->num_outputs);
      ins[0] = tensor(KILN_DTYPE_I64, idDims, ids.data(), ids.size() * 8);
      std::vector<std::vector<float>> next(4);
      std::vector<float> logits(kBatch * kVocab);
      outs[0] =
          tensor(KILN_DTYPE_F32, logitDims, logits.data(), logits.size() * 4);
      for (int k = 0; k < 4; ++k) {
        const kiln_abi_kv_pair &p = model->kv_pairs[k];
        ins[p.input] =
            tensor(KILN_DTYPE_F32, curDims, cur[k].data(), cur[k].size() * 4);
        next[k].resize(kBatch * kHeads * (length + 1) * kHeadDim);
        outs[p.output] = tensor(KILN_DTYPE_F32, presentDims, next[k].data(),
                                next[k].size() * 4);
      }
      ASSERT_EQ(kiln_session_run(dense.s, ins.data(), ins.size(), outs.data(),
                                 outs.size()),
                KILN_OK)
          << kiln_session_last_error(dense.s);
      logitsDense.push_back(logits);
      cur = next;
    }
  }

  Session cached(model);
  ASSERT_EQ(kiln_session_num_kv_pairs(cached.s), 4);
  kiln_kv_cache *cache = nullptr;
  ASSERT_EQ(kiln_kv_cache_create(cached.s, kBatch, kMaxLength, &cache), KILN_OK)
      << kiln_session_last_error(cached.s);
  std::vector<kiln_tensor> initial = pastTensors();
  ASSERT_EQ(kiln_kv_cache_set(cache, initial.data(), initial.size()), KILN_OK)
      << kiln_session_last_error(cached.s);
  EXPECT_EQ(kiln_kv_cache_length(cache), kPast);
  for (int64_t step = 0; step < kSteps; ++step) {
    std::vector<int64_t> idDims = {kBatch, 1}, logitDims = {kBatch, 1, kVocab};
    std::vector<float> logits(kBatch * kVocab, -1.0f);
    kiln_tensor in = tensor(KILN_DTYPE_I64, idDims, ids.data(), ids.size() * 8);
    kiln_tensor out =
        tensor(KILN_DTYPE_F32, logitDims, logits.data(), logits.size() * 4);
    ASSERT_EQ(kiln_session_run_cached(cached.s, cache, &in, 1, &out, 1),
              KILN_OK)
        << kiln_session_last_error(cached.s);
    EXPECT_EQ(kiln_kv_cache_length(cache), kPast + step + 1);
    ASSERT_EQ(
        0, memcmp(logits.data(), logitsDense[step].data(), logits.size() * 4))
        << "step " << step;
  }

  // The cache now holds the dense loop's last presents: compare by running
  // one more step both ways (its logits read every cached position).
  int64_t length = kPast + kSteps;
  std::vector<int64_t> idDims = {kBatch, 1}, logitDims = {kBatch, 1, kVocab};
  std::vector<int64_t> denseDims = {kBatch, kHeads, length, kHeadDim};
  std::vector<int64_t> presentDims = {kBatch, kHeads, length + 1, kHeadDim};
  std::vector<kiln_tensor> ins(model->num_inputs), outs(model->num_outputs);
  std::vector<float> logitsA(kBatch * kVocab), logitsB(kBatch * kVocab);
  std::vector<std::vector<float>> presents(
      4, std::vector<float>(kBatch * kHeads * (length + 1) * kHeadDim));
  ins[0] = tensor(KILN_DTYPE_I64, idDims, ids.data(), ids.size() * 8);
  outs[0] =
      tensor(KILN_DTYPE_F32, logitDims, logitsA.data(), logitsA.size() * 4);
  for (int k = 0; k < 4; ++k) {
    ins[model->kv_pairs[k].input] =
        tensor(KILN_DTYPE_F32, denseDims, cur[k].data(), cur[k].size() * 4);
    outs[model->kv_pairs[k].output] =
        tensor(KILN_DTYPE_F32, presentDims, presents[k].data(),
               presents[k].size() * 4);
  }
  {
    Session dense(model);
    ASSERT_EQ(kiln_session_run(dense.s, ins.data(), ins.size(), outs.data(),
                               outs.size()),
              KILN_OK);
  }
  kiln_tensor in = tensor(KILN_DTYPE_I64, idDims, ids.data(), ids.size() * 8);
  kiln_tensor out =
      tensor(KILN_DTYPE_F32, logitDims, logitsB.data(), logitsB.size() * 4);
  ASSERT_EQ(kiln_session_run_cached(cached.s, cache, &in, 1, &out, 1), KILN_OK);
  EXPECT_EQ(0, memcmp(logitsA.data(), logitsB.data(), logitsA.size() * 4));
  kiln_kv_cache_destroy(cache);
}

TEST_F(KvCacheTest, RefusesWhatDoesNotFit) {
  Session s(model);
  kiln_kv_cache *cache = nullptr;
  EXPECT_EQ(kiln_kv_cache_create(s.s, 0, 4, &cache),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(cache, nullptr);
  ASSERT_EQ(kiln_kv_cache_create(s.s, kBatch, 4, &cache), KILN_OK);

  std::vector<int64_t> idDims = {kBatch, 1}, logitDims = {kBatch, 1, kVocab};
  std::vector<float> logits(kBatch * kVocab);
  kiln_tensor in = tensor(KILN_DTYPE_I64, idDims, ids.data(), ids.size() * 8);
  kiln_tensor out =
      tensor(KILN_DTYPE_F32, logitDims, logits.data(), logits.size() * 4);
  // Empty.
  EXPECT_EQ(kiln_session_run_cached(s.s, cache, &in, 1, &out, 1),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(kiln_session_last_error(s.s),
               "the KV cache is empty: fill it with kiln_kv_cache_set");

  // Three positions of four: one step fits, the next does not.
  std::vector<kiln_tensor> initial = pastTensors();
  ASSERT_EQ(kiln_kv_cache_set(cache, initial.data(), 4), KILN_OK);
  EXPECT_EQ(kiln_session_run_cached(s.s, cache, &in, 1, &out, 1), KILN_OK)
      << kiln_session_last_error(s.s);
  EXPECT_EQ(kiln_kv_cache_length(cache), 4);
  EXPECT_EQ(kiln_session_run_cached(s.s, cache, &in, 1, &out, 1),
            KILN_ERROR_LIMIT_EXCEEDED);
  EXPECT_EQ(kiln_kv_cache_length(cache), 4);

  // Wrong counts, a past of the wrong shape, a longer past than the cache.
  EXPECT_EQ(kiln_session_run_cached(s.s, cache, &in, 1, &out, 2),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(kiln_kv_cache_set(cache, initial.data(), 3),
            KILN_ERROR_INVALID_ARGUMENT);
  std::vector<int64_t> wrongHeads = {kBatch, kHeads - 1, kPast, kHeadDim};
  std::vector<kiln_tensor> wrong = initial;
  wrong[2].dims = wrongHeads.data();
  EXPECT_EQ(kiln_kv_cache_set(cache, wrong.data(), 4),
            KILN_ERROR_SHAPE_MISMATCH);
  std::vector<int64_t> tooLong = {kBatch, kHeads, 5, kHeadDim};
  std::vector<float> big(kBatch * kHeads * 5 * kHeadDim);
  for (auto &t : wrong)
    t = tensor(KILN_DTYPE_F32, tooLong, big.data(), big.size() * 4);
  EXPECT_EQ(kiln_kv_cache_set(cache, wrong.data(), 4),
            KILN_ERROR_LIMIT_EXCEEDED);
  EXPECT_EQ(kiln_kv_cache_length(cache), 4);
  EXPECT_EQ(kiln_kv_cache_set(cache, nullptr, 0), KILN_OK);
  EXPECT_EQ(kiln_kv_cache_length(cache), 0);
  kiln_kv_cache_destroy(cache);
}

TEST_F(KvCacheTest, RowsWrittenAndRealignedMatchASetCache) {
  Session s(model);
  kiln_kv_cache *whole = nullptr, *rows = nullptr;
  ASSERT_EQ(kiln_kv_cache_create(s.s, kBatch, kMaxLength, &whole), KILN_OK);
  ASSERT_EQ(kiln_kv_cache_create(s.s, kBatch, kMaxLength, &rows), KILN_OK);
  std::vector<kiln_tensor> initial = pastTensors();
  ASSERT_EQ(kiln_kv_cache_set(whole, initial.data(), 4), KILN_OK);

  // Each row written on its own, two positions later, into a longer cache;
  // realigning to kPast then drops the two leading (zero) positions.
  ASSERT_EQ(kiln_kv_cache_realign(rows, kPast + 2), KILN_OK);
  EXPECT_EQ(kiln_kv_cache_length(rows), kPast + 2);
  std::vector<int64_t> rowDims = {1, kHeads, kPast, kHeadDim};
  size_t rowFloats = kHeads * kPast * kHeadDim;
  for (int64_t r = 0; r < kBatch; ++r) {
    std::vector<kiln_tensor> row;
    for (int k = 0; k < 4; ++k)
      row.push_back(tensor(KILN_DTYPE_F32, rowDims,
                           past[k].data() + r * rowFloats, rowFloats * 4));
    ASSERT_EQ(kiln_kv_cache_write_row(rows, r, 2, row.data(), 4), KILN_OK)
        << kiln_session_last_error(s.s);
    EXPECT_EQ(kiln_kv_cache_write_row(rows, r, 3, row.data(), 4),
              KILN_ERROR_LIMIT_EXCEEDED);
    EXPECT_EQ(kiln_kv_cache_write_row(rows, kBatch, 0, row.data(), 4),
              KILN_ERROR_INVALID_ARGUMENT);
  }
  ASSERT_EQ(kiln_kv_cache_realign(rows, kPast), KILN_OK);
  EXPECT_EQ(kiln_kv_cache_realign(rows, kMaxLength + 1),
            KILN_ERROR_LIMIT_EXCEEDED);
  EXPECT_EQ(kiln_kv_cache_length(rows), kPast);

  std::vector<int64_t> idDims = {kBatch, 1}, logitDims = {kBatch, 1, kVocab};
  std::vector<float> a(kBatch * kVocab), b(kBatch * kVocab);
  kiln_tensor in = tensor(KILN_DTYPE_I64, idDims, ids.data(), ids.size() * 8);
  kiln_tensor outA = tensor(KILN_DTYPE_F32, logitDims, a.data(), a.size() * 4);
  kiln_tensor outB = tensor(KILN_DTYPE_F32, logitDims, b.data(), b.size() * 4);
  ASSERT_EQ(kiln_session_run_cached(s.s, whole, &in, 1, &outA, 1), KILN_OK);
  ASSERT_EQ(kiln_session_run_cached(s.s, rows, &in, 1, &outB, 1), KILN_OK);
  EXPECT_EQ(0, memcmp(a.data(), b.data(), a.size() * 4));

  // Growing keeps the content right-aligned: one more step after growing by
  // one and shrinking back gives the same logits again.
  ASSERT_EQ(kiln_kv_cache_realign(whole, kPast + 2), KILN_OK);
  ASSERT_EQ(kiln_kv_cache_realign(whole, kPast + 1), KILN_OK);
  ASSERT_EQ(kiln_session_run_cached(s.s, whole, &in, 1, &outA, 1), KILN_OK);
  ASSERT_EQ(kiln_session_run_cached(s.s, rows, &in, 1, &outB, 1), KILN_OK);
  EXPECT_EQ(0, memcmp(a.data(), b.data(), a.size() * 4));
  kiln_kv_cache_destroy(whole);
  kiln_kv_cache_destroy(rows);
}

// A cache of 1 MiB or more, all pairs together, is one anonymous mapping
// that asks for 2 MiB pages (its pages touched only as steps write them):
// the same steps on one give the same logits as on a small, heap-allocated
// one, realigned rows included.
TEST_F(KvCacheTest, AMappedCacheStepsAsASmallOne) {
  Session s(model);
  // 2 rows x 4 heads x 16 floats a position: 512 bytes, so 4096 positions
  // are 2 MiB a pair.
  constexpr int64_t kLong = 4096;
  kiln_kv_cache *small = nullptr, *large = nullptr;
  ASSERT_EQ(kiln_kv_cache_create(s.s, kBatch, kMaxLength, &small), KILN_OK);
  ASSERT_EQ(kiln_kv_cache_create(s.s, kBatch, kLong, &large), KILN_OK)
      << kiln_session_last_error(s.s);
  std::vector<kiln_tensor> initial = pastTensors();
  std::vector<int64_t> idDims = {kBatch, 1}, logitDims = {kBatch, 1, kVocab};
  std::vector<float> a(kBatch * kVocab), b(kBatch * kVocab);
  kiln_tensor in = tensor(KILN_DTYPE_I64, idDims, ids.data(), ids.size() * 8);
  kiln_tensor outA = tensor(KILN_DTYPE_F32, logitDims, a.data(), a.size() * 4);
  kiln_tensor outB = tensor(KILN_DTYPE_F32, logitDims, b.data(), b.size() * 4);
  for (kiln_kv_cache *c : {small, large})
    ASSERT_EQ(kiln_kv_cache_set(c, initial.data(), 4), KILN_OK);
  for (int64_t step = 0; step < kSteps; ++step) {
    if (step == 2) // two zero positions in front, then gone again
      for (kiln_kv_cache *c : {small, large}) {
        int64_t length = kiln_kv_cache_length(c);
        ASSERT_EQ(kiln_kv_cache_realign(c, length + 2), KILN_OK);
        ASSERT_EQ(kiln_kv_cache_realign(c, length), KILN_OK);
      }
    ASSERT_EQ(kiln_session_run_cached(s.s, small, &in, 1, &outA, 1), KILN_OK);
    ASSERT_EQ(kiln_session_run_cached(s.s, large, &in, 1, &outB, 1), KILN_OK);
    EXPECT_EQ(0, memcmp(a.data(), b.data(), a.size() * 4)) << "step " << step;
  }
  kiln_kv_cache_destroy(small);
  kiln_kv_cache_destroy(large);
}

TEST_F(KvCacheTest, AStepOnFewerRowsMatchesThoseRowsOfAFullStep) {
  Session s(model);
  kiln_kv_cache *cache = nullptr;
  ASSERT_EQ(kiln_kv_cache_create(s.s, kBatch, kMaxLength, &cache), KILN_OK);
  std::vector<kiln_tensor> initial = pastTensors();
  ASSERT_EQ(kiln_kv_cache_set(cache, initial.data(), 4), KILN_OK);
  std::vector<int64_t> idDims = {kBatch, 1}, logitDims = {kBatch, 1, kVocab};
  std::vector<float> full(kBatch * kVocab);
  kiln_tensor in = tensor(KILN_DTYPE_I64, idDims, ids.data(), ids.size() * 8);
  kiln_tensor out =
      tensor(KILN_DTYPE_F32, logitDims, full.data(), full.size() * 4);
  ASSERT_EQ(kiln_session_run_cached(s.s, cache, &in, 1, &out, 1), KILN_OK);

  // Back to kPast, row 1 moved to row 0, and a step of one row.
  ASSERT_EQ(kiln_kv_cache_set(cache, initial.data(), 4), KILN_OK);
  ASSERT_EQ(kiln_kv_cache_copy_row(cache, 1, 0), KILN_OK);
  EXPECT_EQ(kiln_kv_cache_copy_row(cache, 0, kBatch),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(kiln_kv_cache_use_rows(cache, kBatch + 1),
            KILN_ERROR_INVALID_ARGUMENT);
  ASSERT_EQ(kiln_kv_cache_use_rows(cache, 1), KILN_OK);
  // Realigning moves the rows in use (row 0) and keeps them.
  ASSERT_EQ(kiln_kv_cache_realign(cache, kPast + 2), KILN_OK);
  ASSERT_EQ(kiln_kv_cache_realign(cache, kPast), KILN_OK);
  std::vector<int64_t> oneIdDims = {1, 1}, oneLogitDims = {1, 1, kVocab};
  std::vector<float> one(kVocab);
  kiln_tensor oneIn =
      tensor(KILN_DTYPE_I64, oneIdDims, ids.data() + 1, sizeof(int64_t));
  kiln_tensor oneOut =
      tensor(KILN_DTYPE_F32, oneLogitDims, one.data(), one.size() * 4);
  ASSERT_EQ(kiln_session_run_cached(s.s, cache, &oneIn, 1, &oneOut, 1), KILN_OK)
      << kiln_session_last_error(s.s);
  for (int64_t v = 0; v < kVocab; ++v)
    ASSERT_NEAR(one[v], full[kVocab + v], 1e-5f) << "logit " << v;
  // The full batch again needs two ids.
  EXPECT_EQ(kiln_session_run_cached(s.s, cache, &in, 1, &out, 1),
            KILN_ERROR_SHAPE_MISMATCH);
  kiln_kv_cache_destroy(cache);
}

} // namespace
