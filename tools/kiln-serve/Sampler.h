//===- Sampler.h - Next-token choice from logits ----------------*- C++ -*-===//
#ifndef KILN_TOOLS_KILNSERVE_SAMPLER_H
#define KILN_TOOLS_KILNSERVE_SAMPLER_H

#include "tools/kiln-serve/Engine.h"

#include <random>
#include <utility>
#include <vector>

namespace kiln::serve {

// The lowest id among the largest logits; NaN never wins, and where no
// logit is above -inf, id 0.
int64_t greedyToken(const float *logits, int64_t vocab);

// Greedy at temperature 0 (the lowest id among equal maxima); otherwise
// softmax(logits / temperature) cut to the top_k largest, then to the
// smallest set whose mass reaches top_p, and drawn from a generator seeded
// by the request's seed, so that a seed gives the same tokens every time.
class Sampler {
public:
  explicit Sampler(const CompletionParams &params);
  int64_t next(const float *logits, int64_t vocab);

private:
  float temperature, topP;
  int64_t topK;
  std::mt19937_64 rng;
  std::vector<std::pair<float, int64_t>> candidates;
};

} // namespace kiln::serve

#endif // KILN_TOOLS_KILNSERVE_SAMPLER_H
