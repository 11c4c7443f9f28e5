//===- GreedyRefs.h - ORT references of kiln-serve's tests ---- -*- C++ -*-===//
//
// greedy_refs.json (make_greedy_refs.py): per decoder, prompts and the greedy
// tokens ONNX Runtime gives each alone; for the encoder, pooled embeddings.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_TEST_SERVE_GREEDYREFS_H
#define KILN_TEST_SERVE_GREEDYREFS_H

#include <nlohmann/json.hpp>

#include <cstdint>
#include <fstream>
#include <vector>

namespace kiln::serve::test {

inline const nlohmann::json &refs() {
  static nlohmann::json j =
      nlohmann::json::parse(std::ifstream(KILN_SERVE_REFS));
  return j;
}

struct Case {
  std::vector<int64_t> prompt, tokens;
};

inline std::vector<Case> cases(const char *model) {
  std::vector<Case> out;
  for (const nlohmann::json &c : refs()[model]["cases"])
    out.push_back({c["prompt"].get<std::vector<int64_t>>(),
                   c["tokens"].get<std::vector<int64_t>>()});
  return out;
}

} // namespace kiln::serve::test

#endif // KILN_TEST_SERVE_GREEDYREFS_H
