//===- Sampler.cpp - Next-token choice from logits ------------------------===//

#include "tools/kiln-serve/Sampler.h"

#include <algorithm>
#include <cmath>

namespace kiln::serve {

Sampler::Sampler(const CompletionParams &params)
    : temperature(params.temperature), topP(params.topP), topK(params.topK),
      rng(params.seed ? *params.seed : std::random_device{}()) {}

int64_t Sampler::next(const float *logits, int64_t vocab) {
  if (temperature <= 0.0f) {
    int64_t best = 0;
    for (int64_t v = 1; v < vocab; ++v)
      if (logits[v] > logits[best])
        best = v;
    return best;
  }
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
