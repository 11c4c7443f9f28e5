//===- SamplerTest.cpp - kiln-serve's next-token choice -------------------===//

#include "tools/kiln-serve/Sampler.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

using namespace kiln::serve;

namespace {

// The definition: the first id whose logit no other exceeds, NaN skipped;
// id 0 where no logit is above -inf.
int64_t firstLargest(const std::vector<float> &logits) {
  int64_t token = 0;
  float top = -INFINITY;
  for (size_t v = 0; v < logits.size(); ++v)
    if (logits[v] > top) {
      top = logits[v];
      token = (int64_t)v;
    }
  return token;
}

TEST(SamplerTest, GreedyTokenIsTheFirstLargestLogit) {
  std::mt19937 rng(7);
  // Few distinct values, so that maxima tie across lanes and in the tail.
  std::uniform_int_distribution<int> level(-3, 3);
  for (int64_t vocab : {1, 2, 15, 16, 17, 31, 32, 33, 100, 1000, 50257}) {
    for (int trial = 0; trial < 20; ++trial) {
      std::vector<float> logits(vocab);
      for (float &l : logits)
        l = float(level(rng));
      SCOPED_TRACE("vocab " + std::to_string(vocab));
      EXPECT_EQ(greedyToken(logits.data(), vocab), firstLargest(logits));
    }
  }
}

TEST(SamplerTest, GreedyTokenSkipsNaNAndInfinities) {
  std::vector<float> logits(40, -INFINITY);
  EXPECT_EQ(greedyToken(logits.data(), 40), 0); // nothing above -inf
  logits[0] = NAN;
  logits[5] = NAN;
  EXPECT_EQ(greedyToken(logits.data(), 40), 0);
  logits[37] = -1e30f; // in the tail past the last 16 lanes
  EXPECT_EQ(greedyToken(logits.data(), 40), 37);
  logits[21] = -1e30f; // the same value at a lower id
  EXPECT_EQ(greedyToken(logits.data(), 40), 21);
  logits[3] = INFINITY;
  EXPECT_EQ(greedyToken(logits.data(), 40), 3);
  logits[19] = INFINITY;
  EXPECT_EQ(greedyToken(logits.data(), 40), 3);
}

TEST(SamplerTest, TemperatureZeroIsGreedy) {
  CompletionParams params;
  params.temperature = 0.0f;
  params.seed = 1;
  Sampler sampler(params);
  std::vector<float> logits = {0.5f, 2.0f, -1.0f, 2.0f, 1.0f};
  EXPECT_EQ(sampler.next(logits.data(), (int64_t)logits.size()), 1);
}

} // namespace
