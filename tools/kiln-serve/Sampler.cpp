//===- Sampler.cpp - Next-token choice from logits ------------------------===//

#include "tools/kiln-serve/Sampler.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace kiln::serve {

int64_t greedyToken(const float *logits, int64_t vocab) {
  // Sixteen lanes in four vectors, each lane keeping its first maximum and
  // its id: one running maximum with a branch is a compare and a jump per
  // logit (0.3 ms of a 16-row GPT-2 step, 2.5% of a served 16-client run),
  // and the compiler does not vectorize that loop itself. Ids are int32:
  // vocabularies are far below 2^31.
  using F4 = float __attribute__((vector_size(16)));
  using I4 = int32_t __attribute__((vector_size(16)));
  constexpr int64_t kVectors = 4, kLanes = 4 * kVectors;
  F4 best[kVectors];
  I4 at[kVectors];
  for (int64_t u = 0; u < kVectors; ++u) {
    best[u] = F4{} - INFINITY;
    at[u] = I4{} - 1;
  }
  int64_t v = 0;
  if (vocab <= INT32_MAX)
    for (; v + kLanes <= vocab; v += kLanes)
      for (int64_t u = 0; u < kVectors; ++u) {
        F4 x;
        memcpy(&x, logits + v + 4 * u, sizeof(x));
        // NaN compares false: it never becomes a lane's best.
        I4 larger = x > best[u];
        I4 ids = I4{0, 1, 2, 3} + int32_t(v + 4 * u);
        best[u] = (F4)(((I4)x & larger) | ((I4)best[u] & ~larger));
        at[u] = (ids & larger) | (at[u] & ~larger);
      }
  // The lanes' maxima, ties to the lowest id; then the tail, whose ids are
  // all larger. No logit above -inf: id 0, as a scan from id 0 gives.
  int64_t token = 0;
  float top = -INFINITY;
  for (int64_t u = 0; u < kVectors; ++u)
    for (int l = 0; l < 4; ++l)
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
