//===- MachineLimits.cpp - This machine's FMA peak and read bandwidth now -===//
//
// usage: kiln_machine_limits [threads [--json]]
// Measures the limits the benchmarks' roofline floors divide by, in the
// same run as the timings they judge: on a shared VM they drift by 10-50%
// over a day (clock boost, neighbours' memory traffic), so a figure
// measured once and passed as a flag makes "% of floor" drift with them.
//   fma_gflops  all threads running independent fp32 FMA chains on the
//               widest vectors the CPU has: the compute peak;
//   int8_gops   all threads running independent vpdpbusd chains (u8 x s8
//               dot products into int32, the instruction of the int8 GEMM
//               kiln_rt_qlinear_s8_f32), zmm with AVX512-VNNI, ymm with
//               AVX-VNNI, one multiply-add = 2 ops; 0 on a CPU with
//               neither (int8_isa "none");
//   read_gbs    all threads summing their part of a 512 MiB buffer (far
//               beyond any cache) with vector loads and software prefetch:
//               what a weight stream can get from memory.
// Each is the best of several trials: a limit is what the machine reached.
//
//===----------------------------------------------------------------------===//

#include "BenchTiming.h"

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

using kiln::test::together;

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

struct Int8Probe {
  const char *isa;
  int lanes; // int32 lanes: each vpdpbusd does 4 multiply-adds per lane
  int64_t (*run)(int64_t iterations);
};

// kChains independent chains of acc += dot4(x, y) per int32 lane; the
// first lanes are returned so the chains stay live.
#define KILN_VNNI_CHAINS(V, SET1_32, SET1_8, DPBUSD, FIRST)                    \
  V acc[kChains];                                                              \
  for (int i = 0; i < kChains; ++i)                                            \
    acc[i] = SET1_32(i);                                                       \
  V x = SET1_8(3), y = SET1_8(-5);                                             \
  for (int64_t it = 0; it < iterations; ++it)                                  \
    _Pragma("clang loop unroll(full)") for (int i = 0; i < kChains; ++i)       \
        acc[i] = DPBUSD(acc[i], x, y);                                         \
  int64_t sum = 0;                                                             \
  for (int i = 0; i < kChains; ++i)                                            \
    sum += FIRST(acc[i]);                                                      \
  return sum;

#if defined(__x86_64__)
__attribute__((target("avx512f"))) int firstLane512(__m512i v) {
  return _mm_cvtsi128_si32(_mm512_castsi512_si128(v));
}
__attribute__((target("avx2"))) int firstLane256(__m256i v) {
  return _mm_cvtsi128_si32(_mm256_castsi256_si128(v));
}

__attribute__((target("avx512f,avx512vnni"))) int64_t
vnniAvx512(int64_t iterations) {
  KILN_VNNI_CHAINS(__m512i, _mm512_set1_epi32, _mm512_set1_epi8,
                   _mm512_dpbusd_epi32, firstLane512)
}

__attribute__((target("avx2,avxvnni"))) int64_t vnniAvx2(int64_t iterations){
    KILN_VNNI_CHAINS(__m256i, _mm256_set1_epi32, _mm256_set1_epi8,
                     _mm256_dpbusd_avx_epi32, firstLane256)}
#endif

#undef KILN_VNNI_CHAINS

// The vpdpbusd the int8 GEMM runs (CpuFeatures.cpp picks its AVX-512
// variant only with VNNI), or none.
Int8Probe widestVnni() {
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vnni"))
    return {"avx512vnni", 16, vnniAvx512};
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("avxvnni"))
    return {"avxvnni", 8, vnniAvx2};
#endif
  return {"none", 0, nullptr};
}

double measureVnni(int threads, const Int8Probe &probe) {
  if (!probe.run)
    return 0;
  // About 0.2 s per trial on a current core.
  const int64_t iterations = 40'000'000;
  std::atomic<int64_t> sink{0};
  double best = 0;
  for (int trial = 0; trial < 4; ++trial) {
    double seconds =
        together(threads, [&](int) { sink.fetch_add(probe.run(iterations)); });
    double ops = 2.0 * 4 * kChains * probe.lanes * iterations * threads;
    if (ops / seconds > best)
      best = ops / seconds;
  }
  if (sink.load() == 12345)
    printf(" ");
  return best * 1e-9;
}

// Sums `words` (a multiple of 32) with the loads and the prefetch of the
// kernels' weight streams: the widest vectors, prefetcht0 4 KiB ahead. A
// scalar loop compiled for the baseline ISA (SSE2 once vectorized, with
// prefetchnta) read 12-13 GB/s on the 2-vCPU Xeon where this one reads
// 29-33 GB/s, and the GEMMs stream their weights faster than that.
constexpr size_t kAheadBytes = 4096;

#if defined(__x86_64__)
__attribute__((target("avx512f"))) uint64_t readAvx512(const uint64_t *data,
                                                       size_t words) {
  const char *bytes = reinterpret_cast<const char *>(data);
  __m512i s0 = _mm512_setzero_si512(), s1 = s0, s2 = s0, s3 = s0;
  for (size_t at = 0; at < words * 8; at += 256) {
    _mm_prefetch(bytes + at + kAheadBytes, _MM_HINT_T0);
    _mm_prefetch(bytes + at + kAheadBytes + 128, _MM_HINT_T0);
    s0 = _mm512_add_epi64(s0, _mm512_load_si512(bytes + at));
    s1 = _mm512_add_epi64(s1, _mm512_load_si512(bytes + at + 64));
    s2 = _mm512_add_epi64(s2, _mm512_load_si512(bytes + at + 128));
    s3 = _mm512_add_epi64(s3, _mm512_load_si512(bytes + at + 192));
  }
  s0 = _mm512_add_epi64(_mm512_add_epi64(s0, s1), _mm512_add_epi64(s2, s3));
  return (uint64_t)_mm512_reduce_add_epi64(s0);
}

__attribute__((target("avx2"))) uint64_t readAvx2(const uint64_t *data,
                                                  size_t words) {
  const char *bytes = reinterpret_cast<const char *>(data);
  __m256i s0 = _mm256_setzero_si256(), s1 = s0, s2 = s0, s3 = s0;
  for (size_t at = 0; at < words * 8; at += 128) {
    _mm_prefetch(bytes + at + kAheadBytes, _MM_HINT_T0);
    _mm_prefetch(bytes + at + kAheadBytes + 64, _MM_HINT_T0);
    const __m256i *v = reinterpret_cast<const __m256i *>(bytes + at);
    s0 = _mm256_add_epi64(s0, _mm256_load_si256(v));
    s1 = _mm256_add_epi64(s1, _mm256_load_si256(v + 1));
    s2 = _mm256_add_epi64(s2, _mm256_load_si256(v + 2));
    s3 = _mm256_add_epi64(s3, _mm256_load_si256(v + 3));
  }
  s0 = _mm256_add_epi64(_mm256_add_epi64(s0, s1), _mm256_add_epi64(s2, s3));
  alignas(32) uint64_t lanes[4];
  _mm256_store_si256(reinterpret_cast<__m256i *>(lanes), s0);
  return lanes[0] + lanes[1] + lanes[2] + lanes[3];
}
#endif

uint64_t readScalar(const uint64_t *data, size_t words) {
  uint64_t sums[8] = {};
  for (size_t w = 0; w < words; w += 8) {
    __builtin_prefetch(data + w + kAheadBytes / 8, 0, 3);
#pragma clang loop unroll(full)
    for (int l = 0; l < 8; ++l)
      sums[l] += data[w + l];
  }
  uint64_t total = 0;
  for (uint64_t s : sums)
    total += s;
  return total;
}

uint64_t readPart(const uint64_t *data, size_t words) {
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f"))
    return readAvx512(data, words);
  if (__builtin_cpu_supports("avx2"))
    return readAvx2(data, words);
#endif
  return readScalar(data, words);
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
      // Parts of whole 256-byte blocks, as readPart takes them.
      size_t blocks = words / 32;
      size_t begin = blocks * t / threads * 32,
             end = blocks * (t + 1) / threads * 32;
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
  Int8Probe int8 = widestVnni();
  double gops = measureVnni(threads, int8);
  double gbs = measureRead(threads);
  if (json)
    printf("{\"threads\": %d, \"isa\": \"%s\", \"fma_gflops\": %.1f, "
           "\"int8_isa\": \"%s\", \"int8_gops\": %.1f, \"read_gbs\": %.1f}\n",
           threads, probe.isa, gflops, int8.isa, gops, gbs);
  else
    printf("%d threads: fp32 FMA peak %.1f GFLOP/s (%s), int8 peak %.1f "
           "GOP/s (%s), memory read %.1f GB/s\n",
           threads, gflops, probe.isa, gops, int8.isa, gbs);
  return 0;
}
