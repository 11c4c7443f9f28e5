//===- MachineLimits.cpp - This machine's FMA peak and read bandwidth now -===//
//
// usage: kiln_machine_limits [threads [--json]]
// Measures the two limits the benchmarks' roofline floors divide by, in the
// same run as the timings they judge: on a shared VM both drift by 10-50%
// over a day (clock boost, neighbours' memory traffic), so a figure
// measured once and passed as a flag makes "% of floor" drift with them.
//   fma_gflops  all threads running independent fp32 FMA chains on the
//               widest vectors the CPU has: the compute peak;
//   read_gbs    all threads summing their part of a 512 MiB buffer (far
//               beyond any cache) with vector loads and software prefetch:
//               what a weight stream can get from memory.
// Each is the best of several trials: a limit is what the machine reached.
//
//===----------------------------------------------------------------------===//

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace {

using Clock = std::chrono::steady_clock;

// Enough independent chains to cover FMA latency x pipes on current cores
// (4 x 2 on Zen 5), few enough to stay in registers.
constexpr int kChains = 16;

// The same loop per ISA, each compiled for its own target: kChains
// independent chains of acc = acc * x + y, their first lanes returned so the
// chains stay live.
#define KILN_FMA_CHAINS(V, SET1, FMA, FIRST)                                   \
  V acc[kChains];                                                              \
  for (int i = 0; i < kChains; ++i)                                            \
    acc[i] = SET1(0.5f + 0.01f * i);                                           \
  V x = SET1(0.999f), y = SET1(1e-6f);                                         \
  for (int64_t it = 0; it < iterations; ++it)                                  \
    _Pragma("clang loop unroll(full)") for (int i = 0; i < kChains; ++i)       \
        acc[i] = FMA(acc[i], x, y);                                            \
  double sum = 0;                                                              \
  for (int i = 0; i < kChains; ++i)                                            \
    sum += FIRST(acc[i]);                                                      \
  return sum;

struct FmaProbe {
  const char *isa;
  int lanes;
  double (*run)(int64_t iterations);
};

float scalarSet1(float v) { return v; }
float scalarFma(float a, float b, float c) { return a * b + c; }
float scalarFirst(float v) { return v; }
double fmaScalar(int64_t iterations) {
  KILN_FMA_CHAINS(float, scalarSet1, scalarFma, scalarFirst)
}

#if defined(__x86_64__)
__attribute__((target("avx512f"))) double fmaAvx512(int64_t iterations) {
  KILN_FMA_CHAINS(__m512, _mm512_set1_ps, _mm512_fmadd_ps, _mm512_cvtss_f32)
}

__attribute__((target("avx2,fma"))) double fmaAvx2(int64_t iterations){
    KILN_FMA_CHAINS(__m256, _mm256_set1_ps, _mm256_fmadd_ps, _mm256_cvtss_f32)}
#endif

#undef KILN_FMA_CHAINS

FmaProbe widestFma() {
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f"))
    return {"avx512", 16, fmaAvx512};
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    return {"avx2", 8, fmaAvx2};
#endif
  return {"scalar", 1, fmaScalar};
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
  auto start = Clock::now();
  go.store(true, std::memory_order_release);
  for (auto &th : pool)
    th.join();
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double measureFma(int threads, const FmaProbe &probe) {
  // About 0.2 s per trial on a current core.
  const int64_t iterations = probe.lanes > 1 ? 60'000'000 : 50'000'000;
  std::atomic<double> sink{0};
  double best = 0;
  for (int trial = 0; trial < 4; ++trial) {
    double seconds = together(threads, [&](int) {
      double s = probe.run(iterations);
      double expected = sink.load();
      while (!sink.compare_exchange_weak(expected, expected + s))
        ;
    });
    double flops = 2.0 * kChains * probe.lanes * iterations * threads;
    if (flops / seconds > best)
      best = flops / seconds;
  }
  if (sink.load() == 12345.0) // keeps the sums live
    printf(" ");
  return best * 1e-9;
}

uint64_t readPart(const uint64_t *data, size_t words) {
  uint64_t sums[8] = {};
  constexpr size_t kAhead = 512; // words: 4 KiB, as the decode GEMM fetches
  size_t w = 0;
  for (; w + 8 <= words; w += 8) {
    __builtin_prefetch(data + w + kAhead, 0, 0);
#pragma clang loop unroll(full)
    for (int l = 0; l < 8; ++l)
      sums[l] += data[w + l];
  }
  uint64_t total = 0;
  for (; w < words; ++w)
    total += data[w];
  for (uint64_t s : sums)
    total += s;
  return total;
}

double measureRead(int threads) {
  const size_t bytes = size_t(512) << 20;
  const size_t words = bytes / sizeof(uint64_t);
  auto *data = static_cast<uint64_t *>(aligned_alloc(4096, bytes));
  if (!data)
    return 0;
  // Touch every page from the threads that will read it.
  together(threads, [&](int t) {
    size_t begin = words * t / threads, end = words * (t + 1) / threads;
    for (size_t w = begin; w < end; ++w)
      data[w] = w;
  });
  std::atomic<uint64_t> sink{0};
  double best = 0;
  for (int trial = 0; trial < 5; ++trial) {
    double seconds = together(threads, [&](int t) {
      size_t begin = words * t / threads, end = words * (t + 1) / threads;
      sink.fetch_add(readPart(data + begin, end - begin));
    });
    if (bytes / seconds > best)
      best = bytes / seconds;
  }
  if (sink.load() == 12345)
    printf(" ");
  free(data);
  return best * 1e-9;
}

} // namespace

int main(int argc, char **argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 2;
  bool json = argc > 2 && std::string(argv[2]) == "--json";
  if (threads < 1) {
    fprintf(stderr, "usage: kiln_machine_limits [threads [--json]]\n");
    return 2;
  }
  FmaProbe probe = widestFma();
  double gflops = measureFma(threads, probe);
  double gbs = measureRead(threads);
  if (json)
    printf("{\"threads\": %d, \"isa\": \"%s\", \"fma_gflops\": %.1f, "
           "\"read_gbs\": %.1f}\n",
           threads, probe.isa, gflops, gbs);
  else
    printf("%d threads: fp32 FMA peak %.1f GFLOP/s (%s), memory read %.1f "
           "GB/s\n",
           threads, gflops, probe.isa, gbs);
  return 0;
}
