//===- BenchTiming.h - Median and best of repeated timed calls --*- C++ -*-===//
#ifndef KILN_TEST_RUNTIME_BENCHTIMING_H
#define KILN_TEST_RUNTIME_BENCHTIMING_H

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
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

// Runs body(thread) on `threads` threads released together; returns the
// wall seconds from the release to the last one's end.
template <typename Body> double together(int threads, Body body) {
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      ready.fetch_add(1);
      while (!go.load(std::memory_order_acquire))
        ;
      body(t);
    });
  while (ready.load() < threads)
    ;
  auto start = std::chrono::steady_clock::now();
  go.store(true, std::memory_order_release);
  for (auto &th : pool)
    th.join();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
      .count();
}

} // namespace kiln::test

#endif // KILN_TEST_RUNTIME_BENCHTIMING_H
