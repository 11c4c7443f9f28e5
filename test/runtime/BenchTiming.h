//===- BenchTiming.h - Median and best of repeated timed calls --*- C++ -*-===//
#ifndef KILN_TEST_RUNTIME_BENCHTIMING_H
#define KILN_TEST_RUNTIME_BENCHTIMING_H

#include <algorithm>
#include <chrono>
#include <vector>

namespace kiln::test {

struct Timing {
  double medianSeconds, bestSeconds;
};

// Times `reps` calls of `step` (after the caller's warm-up).
template <typename Step> Timing timeCalls(Step &&step, int reps) {
  std::vector<double> seconds;
  for (int rep = 0; rep < reps; ++rep) {
    auto start = std::chrono::steady_clock::now();
    step();
    seconds.push_back(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count());
  }
  std::sort(seconds.begin(), seconds.end());
  return {seconds[seconds.size() / 2], seconds[0]};
}

} // namespace kiln::test

#endif // KILN_TEST_RUNTIME_BENCHTIMING_H
