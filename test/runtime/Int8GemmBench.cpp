//===- Int8GemmBench.cpp - GOP/s and GB/s of the int8 and int4 GEMMs -----===//
//
// usage: kiln_int8_gemm_bench [threads [shape]]
//   shape: only the shapes whose "name M" (e.g. "decode qkv 8") contains it
// Measures, in the same run as the timings it judges (a shared VM drifts):
//   the VNNI peak: every thread running independent vpdpbusd chains on
//   registers only, in GOP/s (one vpdpbusd is 64 multiply-adds, 128 ops);
//   the AMX peak, where the int8 GEMM uses AMX: every thread running four
//   independent tdpbusd chains on tiles loaded once, in GOP/s;
//   the memory read bandwidth: every thread summing its part of a 2 GiB
//   buffer with AVX-512 loads (kiln_machine_limits reads 512 MiB, which
//   this VM's 480 MiB L3 partly holds).
// Then times kiln_rt_qlinear_s8_f32 (the best variant this CPU has, on a
// pool of `threads`) for BERT-base's linear layers at 128 tokens, for
// GPT-2 small's prefill of 16 prompts of 32 tokens (512 rows) and for its
// decode steps of 1, 8 and 16 rows, with each layer's bias and activation,
// in each quantization mode, and kiln_rt_qlinear_s4_f32
// (kiln.qlinear_int4, the best variant) at groups of 32 and 128 and with zero
// points, and kiln_rt_qlinear_s4_q8_f32 (int8 activations, "q8"), beside the
// fp32 packed GEMM on the same shape. Decode steps run twice: "hot", the same
// weights every call (in cache), and "cold", a different copy each call out of
// 2 GiB of them, so the weights stream from memory: GB/s there is the packed
// weight bytes per call over the call's time (for int4, the 4-bit values and
// the group scales).
//
//===----------------------------------------------------------------------===//

#include "BenchTiming.h"
#include "PoolContext.h"
#include "kernels/BatchMatmul.h"
#include "kernels/CpuFeatures.h"
#include "kernels/Int4Gemm.h"
#include "kernels/Int4Packing.h"
#include "kernels/Int8Packing.h"
#include "kernels/Kernels.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

using namespace kiln;
using kiln::test::PoolContext;
using kiln::test::together;

namespace {

using Clock = std::chrono::steady_clock;

#if defined(__x86_64__)
// Enough independent chains to cover vpdpbusd's latency (5 cycles) at two
// a cycle, with room to spare; all in registers.
constexpr int kChains = 16;

__attribute__((target("avx512f,avx512vnni"))) int64_t
vnniChains(int64_t iterations) {
  __m512i acc[kChains];
  for (int i = 0; i < kChains; ++i)
    acc[i] = _mm512_set1_epi32(i);
  __m512i x = _mm512_set1_epi8(3), y = _mm512_set1_epi8(-5);
  for (int64_t it = 0; it < iterations; ++it)
#pragma clang loop unroll(full)
    for (int i = 0; i < kChains; ++i)
      acc[i] = _mm512_dpbusd_epi32(acc[i], x, y);
  int64_t sum = 0;
  for (int i = 0; i < kChains; ++i)
    sum += _mm_cvtsi128_si32(_mm512_castsi512_si128(acc[i]));
  return sum;
}
#endif

// GOP/s of `chains(iterations)` on all threads, `opsPerIteration` each,
// best of 4 trials.
template <typename Chains>
double bestGops(int threads, int64_t iterations, double opsPerIteration,
                Chains chains) {
  std::atomic<int64_t> sink{0};
  double best = 0;
  for (int trial = 0; trial < 4; ++trial) {
    double seconds =
        together(threads, [&](int) { sink.fetch_add(chains(iterations)); });
    double ops = opsPerIteration * iterations * threads;
    best = ops / seconds > best ? ops / seconds : best;
  }
  if (sink.load() == 12345)
    printf(" ");
  return best * 1e-9;
}

// GOP/s of vpdpbusd on all threads; 0 without VNNI.
double measureVnniPeak(int threads) {
#if defined(__x86_64__)
  if (!cpuSupports(Int8Isa::Avx512Vnni))
    return 0;
  return bestGops(threads, 20'000'000, 2.0 * 64 * kChains, vnniChains);
#else
  (void)threads;
  return 0;
#endif
}

#if defined(__x86_64__)
// ldtilecfg's operand: palette 1, 8 tiles of 16 rows x 64 bytes.
struct alignas(64) AmxConfig {
  uint8_t palette = 1, startRow = 0, reserved[14] = {};
  uint16_t bytesPerRow[16] = {64, 64, 64, 64, 64, 64, 64, 64};
  uint8_t rows[16] = {16, 16, 16, 16, 16, 16, 16, 16};
};

// Four independent accumulators, as the GEMM's 2 x 2 blocks keep, fed by
// tiles loaded once: tdpbusd's throughput with nothing else in the way.
__attribute__((target("amx-tile,amx-int8"))) int64_t
amxChains(int64_t iterations) {
  const AmxConfig config;
  alignas(64) int8_t data[1024];
  memset(data, 1, sizeof(data));
  _tile_loadconfig(&config);
  _tile_zero(0);
  _tile_zero(1);
  _tile_zero(2);
  _tile_zero(3);
  _tile_loadd(4, data, 64);
  _tile_loadd(5, data, 64);
  _tile_loadd(6, data, 64);
  _tile_loadd(7, data, 64);
  for (int64_t it = 0; it < iterations; ++it) {
    _tile_dpbusd(0, 4, 6);
    _tile_dpbusd(1, 4, 7);
    _tile_dpbusd(2, 5, 6);
    _tile_dpbusd(3, 5, 7);
  }
  alignas(64) int32_t out[256];
  _tile_stored(0, out, 64);
  _tile_release();
  return out[0];
}
#endif

// GOP/s of tdpbusd on all threads (one is 16 x 16 x 64 multiply-adds); 0
// where the int8 GEMM does not use AMX.
double measureAmxPeak(int threads) {
#if defined(__x86_64__)
  if (bestInt8Isa() != Int8Isa::Amx)
    return 0;
  return bestGops(threads, 2'000'000, 2.0 * 16 * 16 * 64 * 4, amxChains);
#else
  (void)threads;
  return 0;
#endif
}

// Past any cache: this VM's L3 is reported as 480 MiB, and a 512 MiB buffer
// still reads at about 28 GB/s on 2 threads where 2 GiB gives 18.
constexpr size_t kColdBytes = size_t(2) << 30;

#if defined(__x86_64__)
// Reads `bytes` (a multiple of 256) with the loads and the prefetch distance
// of the kernels' weight streams.
__attribute__((target("avx512f"))) uint64_t readPartAvx512(const char *data,
                                                           size_t bytes) {
  __m512i s0 = _mm512_setzero_si512(), s1 = s0, s2 = s0, s3 = s0;
  for (size_t at = 0; at < bytes; at += 256) {
    _mm_prefetch(data + at + 4096, _MM_HINT_T0);
    s0 = _mm512_add_epi64(s0, _mm512_load_si512(data + at));
    s1 = _mm512_add_epi64(s1, _mm512_load_si512(data + at + 64));
    s2 = _mm512_add_epi64(s2, _mm512_load_si512(data + at + 128));
    s3 = _mm512_add_epi64(s3, _mm512_load_si512(data + at + 192));
  }
  s0 = _mm512_add_epi64(_mm512_add_epi64(s0, s1), _mm512_add_epi64(s2, s3));
  return (uint64_t)_mm512_reduce_add_epi64(s0);
}
#endif

uint64_t readPart(const char *data, size_t bytes) {
#if defined(__x86_64__)
  if (cpuSupports(MatmulIsa::Avx512))
    return readPartAvx512(data, bytes);
#endif
  uint64_t sums[8] = {};
  const auto *words = reinterpret_cast<const uint64_t *>(data);
  for (size_t w = 0; w < bytes / 8; w += 8)
    for (int l = 0; l < 8; ++l)
      sums[l] += words[w + l];
  return sums[0] + sums[1] + sums[2] + sums[3] + sums[4] + sums[5] + sums[6] +
         sums[7];
}

// GB/s of all threads reading their part of kColdBytes, best of 5 trials.
double measureReadBandwidth(int threads) {
  const size_t bytes = kColdBytes;
  auto *data = static_cast<char *>(aligned_alloc(4096, bytes));
  if (!data)
    return 0;
  const size_t part = bytes / threads / 256 * 256;
  together(threads, [&](int t) { memset(data + part * t, t + 1, part); });
  std::atomic<uint64_t> sink{0};
  double best = 0;
  for (int trial = 0; trial < 5; ++trial) {
    double seconds = together(threads, [&](int t) {
      sink.fetch_add(readPart(data + part * t, part));
    });
    best = part * threads / seconds > best ? part * threads / seconds : best;
  }
  if (sink.load() == 12345)
    printf(" ");
  free(data);
  return best * 1e-9;
}

struct Shape {
  const char *name;
  int64_t m, k, n;
  int32_t activation; // after the bias, as the model has it
};

// 64-byte aligned copies of one weight, `copies` of them back to back.
struct WeightCopies {
  void *memory = nullptr;
  size_t stride = 0;
  int64_t copies = 0;
  ~WeightCopies() { free(memory); }
  void *copy(int64_t i) const {
    return static_cast<char *>(memory) + stride * (size_t)i;
  }
};

void makeCopies(WeightCopies &w, const void *data, size_t bytes,
                int64_t copies) {
  w.stride = (bytes + 63) / 64 * 64;
  w.copies = copies;
  w.memory = aligned_alloc(64, w.stride * (size_t)copies);
  for (int64_t i = 0; i < copies; ++i)
    memcpy(w.copy(i), data, bytes);
}

const char *quantName(int32_t quant) {
  switch (quant) {
  case KILN_RT_QUANT_ROW:
    return "int8 row";
  case KILN_RT_QUANT_TENSOR_U8:
    return "int8 tensor";
  default:
    return "weight-only";
  }
}

// Seconds per call: the median of 15 timings of enough calls for ~10 ms,
// after `warmCalls` calls (one pass over the cold copies: the first reads
// of memory just written by memcpy also wait for its write-back).
template <typename Call> double secondsPerCall(Call &&call, int64_t warmCalls) {
  int64_t next = 0;
  for (; next < warmCalls; ++next)
    call(next);
  auto start = Clock::now();
  call(next++);
  double once = std::chrono::duration<double>(Clock::now() - start).count();
  int64_t iterations = once > 0.01 ? 1 : int64_t(0.01 / (once + 1e-9)) + 1;
  kiln::test::Timing t = kiln::test::timeCalls(
      [&] {
        for (int64_t i = 0; i < iterations; ++i)
          call(next++);
      },
      15);
  return t.medianSeconds / iterations;
}

int run(int threads, const char *only) {
  printf("kiln_int8_gemm_bench: %d threads, int8 variant %s, int4 variant "
         "%s\n",
         threads,
         bestInt8Isa() == Int8Isa::Amx          ? "amx-int8"
         : bestInt8Isa() == Int8Isa::Avx512Vnni ? "avx512-vnni"
         : bestInt8Isa() == Int8Isa::Avx2       ? "avx2"
         : bestInt8Isa() == Int8Isa::NeonDot    ? "neon-dot"
                                                : "generic",
         bestMatmulIsa() == MatmulIsa::Avx512 ? "avx512"
         : bestMatmulIsa() == MatmulIsa::Avx2 ? "avx2"
                                              : "generic");
  double peak = measureVnniPeak(threads);
  double amxPeak = measureAmxPeak(threads);
  double read = measureReadBandwidth(threads);
  printf("VNNI peak %.0f GOP/s (vpdpbusd on registers), AMX peak %.0f GOP/s "
         "(tdpbusd on tiles), memory read %.1f GB/s\n\n",
         peak, amxPeak, read);

  // BERT-base at 128 tokens (GELU after the FFN's first layer), GPT-2
  // small's prefill of 16 prompts of 32 tokens (kiln-serve's batched
  // prefill) and its decode step (tanh GELU there) for 1, 8 and 16
  // sequences.
  const Shape shapes[] = {
      {"bert qkv/out", 128, 768, 768, KILN_RT_ACT_NONE},
      {"bert ffn up", 128, 768, 3072, KILN_RT_ACT_GELU},
      {"bert ffn down", 128, 3072, 768, KILN_RT_ACT_NONE},
      {"prefill qkv", 512, 768, 2304, KILN_RT_ACT_NONE},
      {"prefill out", 512, 768, 768, KILN_RT_ACT_NONE},
      {"prefill ffn up", 512, 768, 3072, KILN_RT_ACT_GELU_TANH},
      {"prefill ffn dn", 512, 3072, 768, KILN_RT_ACT_NONE},
      {"decode ffn up", 1, 768, 3072, KILN_RT_ACT_GELU_TANH},
      {"decode out", 1, 768, 768, KILN_RT_ACT_NONE},
      {"decode qkv", 1, 768, 2304, KILN_RT_ACT_NONE},
      {"decode ffn up", 4, 768, 3072, KILN_RT_ACT_GELU_TANH},
      {"decode qkv", 4, 768, 2304, KILN_RT_ACT_NONE},
      {"decode ffn up", 8, 768, 3072, KILN_RT_ACT_GELU_TANH},
      {"decode out", 8, 768, 768, KILN_RT_ACT_NONE},
      {"decode qkv", 8, 768, 2304, KILN_RT_ACT_NONE},
      {"decode ffn up", 16, 768, 3072, KILN_RT_ACT_GELU_TANH},
      {"decode out", 16, 768, 768, KILN_RT_ACT_NONE},
      {"decode qkv", 16, 768, 2304, KILN_RT_ACT_NONE}};
  PoolContext context(threads);
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> value(-1, 1);
  std::uniform_int_distribution<int> weight(-127, 127);
  printf("%-14s %4s %5s %5s  %-11s %9s %8s %7s %6s %9s %7s\n", "shape", "M",
         "K", "N", "kernel", "time(us)", "GOP/s", "%VNNI", "%AMX", "GB/s",
         "%read");
  for (const Shape &s : shapes) {
    if (only &&
        !strstr((std::string(s.name) + " " + std::to_string(s.m)).c_str(),
                only))
      continue;
    const bool decode = s.m <= 16;
    std::vector<float> a((size_t)(s.m * s.k)), c((size_t)(s.m * s.n)),
        scales((size_t)s.n), bias((size_t)s.n);
    for (auto *v : {&a, &bias})
      for (auto &x : *v)
        x = value(rng);
    for (auto &x : scales)
      x = 0.01f;
    std::vector<int8_t> w((size_t)(s.k * s.n));
    for (auto &x : w)
      x = (int8_t)weight(rng);
    const int64_t packedBytes = int8::packedBytes(s.k, s.n);
    std::vector<int8_t> packed((size_t)packedBytes);
    int8::pack(w.data(), s.k, s.n, packed.data());
    const int64_t panel = KILN_RT_PACKED_PANEL;
    const int64_t fpElements = (s.n + panel - 1) / panel * panel * s.k;
    std::vector<float> fpPacked((size_t)fpElements);
    for (int64_t kk = 0; kk < s.k; ++kk)
      for (int64_t j = 0; j < s.n; ++j)
        fpPacked[(size_t)((j / panel) * s.k * panel + kk * panel + j % panel)] =
            0.01f * w[(size_t)(kk * s.n + j)];
    const double ops = 2.0 * s.m * s.n * s.k;

    for (bool cold :
         decode ? std::vector<bool>{false, true} : std::vector<bool>{false}) {
      // Enough copies to pass kColdBytes when cold; one when hot.
      auto copiesFor = [&](size_t bytes) {
        return cold ? int64_t(kColdBytes / bytes + 1) : int64_t(1);
      };
      WeightCopies int8Copies, fpCopies;
      makeCopies(int8Copies, packed.data(), (size_t)packedBytes,
                 copiesFor((size_t)packedBytes));
      makeCopies(fpCopies, fpPacked.data(), fpPacked.size() * sizeof(float),
                 copiesFor(fpPacked.size() * sizeof(float)));
      auto report = [&](const char *kernel, double seconds, double bytes) {
        printf("%-14s %4lld %5lld %5lld  %-11s %9.1f %8.1f %6.1f%% %5.1f%%",
               s.name, (long long)s.m, (long long)s.k, (long long)s.n, kernel,
               seconds * 1e6, ops / seconds * 1e-9,
               peak > 0 ? 100 * ops / seconds * 1e-9 / peak : 0.0,
               amxPeak > 0 ? 100 * ops / seconds * 1e-9 / amxPeak : 0.0);
        if (decode)
          printf(" %9.1f %6.1f%%  %s", bytes / seconds * 1e-9,
                 100 * bytes / seconds * 1e-9 / read, cold ? "cold" : "hot");
        printf("\n");
      };
      for (int32_t quant :
           {KILN_RT_QUANT_ROW, KILN_RT_QUANT_TENSOR_U8, KILN_RT_QUANT_NONE}) {
        double seconds = secondsPerCall(
            [&](int64_t call) {
              auto *p = static_cast<int8_t *>(
                  int8Copies.copy(call % int8Copies.copies));
              kiln_memref2_f32 am{a.data(), a.data(), 0, {s.m, s.k}, {s.k, 1}};
              kiln_memref1_i8 pm{p, p, 0, {packedBytes}, {1}};
              kiln_memref1_f32 sm{scales.data(), scales.data(), 0, {s.n}, {1}};
              kiln_memref1_f32 bm{bias.data(), bias.data(), 0, {s.n}, {1}};
              kiln_memref2_f32 cm{c.data(), c.data(), 0, {s.m, s.n}, {s.n, 1}};
              _mlir_ciface_kiln_rt_qlinear_s8_f32(&am, &pm, &sm, &bm, &cm,
                                                  s.activation, quant);
            },
            int8Copies.copies + 1);
        report(quantName(quant), seconds, (double)packedBytes);
      }
      double seconds = secondsPerCall(
          [&](int64_t call) {
            auto *p =
                static_cast<float *>(fpCopies.copy(call % fpCopies.copies));
            kiln_memref2_f32 am{a.data(), a.data(), 0, {s.m, s.k}, {s.k, 1}};
            kiln_memref1_f32 pm{p, p, 0, {fpElements}, {1}};
            kiln_memref1_f32 bm{bias.data(), bias.data(), 0, {s.n}, {1}};
            kiln_memref2_f32 cm{c.data(), c.data(), 0, {s.m, s.n}, {s.n, 1}};
            _mlir_ciface_kiln_rt_matmul_packed_epilogue_f32(&am, &pm, &bm, &cm,
                                                            s.activation);
          },
          fpCopies.copies + 1);
      report("fp32", seconds, (double)fpElements * sizeof(float));

      // int4: the int8 weights' top 4 bits, a scale per group and column.
      struct Int4Variant {
        const char *name;
        int64_t group;
        bool zeroPoints;
        bool int8Activations;
      };
      for (const Int4Variant &v :
           {Int4Variant{"int4 g32", 32, false, false},
            Int4Variant{"int4 g128", 128, false, false},
            Int4Variant{"int4 g32 zp", 32, true, false},
            Int4Variant{"int4 g32 q8", 32, false, true},
            Int4Variant{"int4 g32 zp q8", 32, true, true}}) {
        std::vector<int8_t> q(w.size());
        for (size_t i = 0; i < w.size(); ++i)
          q[i] = (int8_t)((w[i] >> 4) + (v.zeroPoints ? 8 : 0));
        const int64_t groups = int4::groups(s.k, v.group);
        std::vector<float> groupScales((size_t)(groups * s.n), 0.1f),
            zeros(v.zeroPoints ? groupScales.size() : 0, 8.0f);
        const int64_t bytes =
            int4::packedBytes(s.k, s.n, v.group, v.zeroPoints);
        std::vector<uint8_t> int4Packed((size_t)bytes);
        int4::pack(q.data(), groupScales.data(),
                   v.zeroPoints ? zeros.data() : nullptr, s.k, s.n, v.group,
                   int4Packed.data());
        WeightCopies int4Copies;
        makeCopies(int4Copies, int4Packed.data(), (size_t)bytes,
                   copiesFor((size_t)bytes));
        double seconds = secondsPerCall(
            [&](int64_t call) {
              auto *p = static_cast<int8_t *>(
                  int4Copies.copy(call % int4Copies.copies));
              kiln_memref2_f32 am{a.data(), a.data(), 0, {s.m, s.k}, {s.k, 1}};
              kiln_memref1_i8 pm{p, p, 0, {bytes}, {1}};
              kiln_memref1_f32 bm{bias.data(), bias.data(), 0, {s.n}, {1}};
              kiln_memref2_f32 cm{c.data(), c.data(), 0, {s.m, s.n}, {s.n, 1}};
              (v.int8Activations ? _mlir_ciface_kiln_rt_qlinear_s4_q8_f32
                                 : _mlir_ciface_kiln_rt_qlinear_s4_f32)(
                  &am, &pm, &bm, &cm, s.activation, (int32_t)v.group,
                  v.zeroPoints ? 1 : 0);
            },
            int4Copies.copies + 1);
        report(v.name, seconds, (double)bytes);
      }
    }
    if (!context.error.empty()) {
      fprintf(stderr, "kernel error: %s\n", context.error.c_str());
      return 1;
    }
  }
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 2;
  if (threads < 1) {
    fprintf(stderr, "usage: kiln_int8_gemm_bench [threads [shape]]\n");
    return 2;
  }
  return run(threads, argc > 2 ? argv[2] : nullptr);
}
