//===- Sampler.cpp - Next-token choice from logits ------------------------===//

#include "tools/kiln-serve/Sampler.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace kiln::serve {

// x86-64's baseline has 4-lane vectors; AVX-512 runs the same loop in 16
// and AVX2 in 8, where the 4-lane build was bound by its instructions
// rather than by reading the logits (16 rows of GPT-2's 50257: 0.25 ms,
// 0.3 ms of each 16-row step of a served decoder).
#if defined(__x86_64__)
#define KILN_GREEDY_CLONES                                                     \
  __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define KILN_GREEDY_CLONES
#endif

KILN_GREEDY_CLONES int64_t greedyToken(const float *logits, int64_t vocab) {
  // Thirty-two lanes, each keeping its first maximum and its id: one running
  // maximum with a branch is a compare and a jump per logit, and the
  // compiler does not vectorize that loop itself. Ids are int32:
  // vocabularies are far below 2^31.
  using F16 = float __attribute__((vector_size(64)));
  using I16 = int32_t __attribute__((vector_size(64)));
  constexpr int64_t kVectors = 2, kLanes = 16 * kVectors;
  const I16 lane = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
  F16 best[kVectors];
  I16 at[kVectors];
  for (int64_t u = 0; u < kVectors; ++u) {
    best[u] = F16{} - INFINITY;
    at[u] = I16{} - 1;
  }
  int64_t v = 0;
  if (vocab <= INT32_MAX)
    for (; v + kLanes <= vocab; v += kLanes)
      for (int64_t u = 0; u < kVectors; ++u) {
        F16 x;
        memcpy(&x, logits + v + 16 * u, sizeof(x));
        // NaN compares false: it never becomes a lane's best.
        I16 larger = x > best[u];
        I16 ids = lane + int32_t(v + 16 * u);
        best[u] = (F16)(((I16)x & larger) | ((I16)best[u] & ~larger));
        at[u] = (ids & larger) | (at[u] & ~larger);
      }
  // The lanes' maxima, ties to the lowest id; then the tail, whose ids are
  // all larger. No logit above -inf: id 0, as a scan from id 0 gives.
  int64_t token = 0;
  float top = -INFINITY;
  for (int64_t u = 0; u < kVectors; ++u)
    for (int l = 0; l < 16; ++l)
      if (at[u][l] >= 0 &&
          (best[u][l] > top || (best[u][l] == top && at[u][l] < token))) {
        token = at[u][l];
        top = best[u][l];
      }
  for (; v < vocab; ++v)
    if (logits[v] > top) {
      token = v;
      top = logits[v];
    }
  return token;
}

Sampler::Sampler(const CompletionParams &params)
    : temperature(params.temperature), topP(params.topP), topK(params.topK),
      rng(params.seed ? *params.seed : std::random_device{}()) {}

int64_t Sampler::next(const float *logits, int64_t vocab) {
  if (temperature <= 0.0f)
    return greedyToken(logits, vocab);
  candidates.resize(vocab);
  for (int64_t v = 0; v < vocab; ++v)
    candidates[v] = {logits[v] / temperature, v};
  // Largest first; ties by id so the order does not depend on the sort.
  auto larger = [](const auto &a, const auto &b) {
    return a.first > b.first || (a.first == b.first && a.second < b.second);
  };
  int64_t keep = topK > 0 ? std::min(topK, vocab) : vocab;
  if (keep < vocab || topP < 1.0f) {
    std::partial_sort(candidates.begin(), candidates.begin() + keep,
                      candidates.end(), larger);
    candidates.resize(keep);
  }
  float top = candidates[0].first;
  for (const auto &c : candidates)
    top = std::max(top, c.first);
  double total = 0;
  for (auto &c : candidates) {
    c.first = std::exp(c.first - top);
    total += c.first;
  }
  if (topP < 1.0f) {
    double mass = 0;
    size_t n = 0;
    while (n < candidates.size() && mass < topP * total)
      mass += candidates[n++].first;
    candidates.resize(std::max<size_t>(n, 1));
    total = mass > 0 ? mass : candidates[0].first;
  }
  double draw = std::uniform_real_distribution<double>(0.0, total)(rng);
  for (const auto &c : candidates) {
    draw -= c.first;
    if (draw < 0)
      return c.second;
  }
  return candidates.back().second;
}

} // namespace kiln::serve
