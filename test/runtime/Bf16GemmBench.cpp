//===- Bf16GemmBench.cpp - The bf16 GEMM's variants beside the fp32 one ---===//
//
// usage: kiln_bf16_gemm_bench [threads] [reps]
// Times, on a pool of `threads` (default 2), GPT-2 small's GEMMs at 128
// tokens (prefill: qkv, attention out, MLP up and down, the LM head), at 1
// to 8 rows (decode) and at 16 to 112 rows, in the fp32 packed kernel (the
// best variant this CPU has) and in each bf16 variant this CPU has
// (generic, AVX-512, AVX-512 BF16, AMX), each with the layer's bias, and
// prints the median milliseconds and GFLOP/s (2 per multiply-add) of each,
// and bf16's speedup over fp32. Decode rows read the same weights every
// call: they measure the kernels with the weights in L2 or L3, not
// streaming from memory.
//
//===----------------------------------------------------------------------===//

#include "BenchTiming.h"
#include "PoolContext.h"
#include "kernels/Bf16Gemm.h"
#include "kernels/Bf16Packing.h"
#include "kernels/CpuFeatures.h"
#include "kernels/Kernels.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

using namespace kiln;
using kiln::test::PoolContext;

namespace {

struct Case {
  const char *name;
  int64_t m, k, n;
};

const Case kCases[] = {
    {"prefill qkv", 128, 768, 2304},      {"prefill attn out", 128, 768, 768},
    {"prefill mlp up", 128, 768, 3072},   {"prefill mlp down", 128, 3072, 768},
    {"prefill lm head", 128, 768, 50257}, {"decode 1 mlp up", 1, 768, 3072},
    {"decode 2 mlp up", 2, 768, 3072},    {"decode 4 mlp up", 4, 768, 3072},
    {"decode 8 mlp up", 8, 768, 3072},    {"16 rows mlp up", 16, 768, 3072},
    {"32 rows mlp up", 32, 768, 3072},    {"100 rows mlp up", 100, 768, 3072},
    {"112 rows mlp up", 112, 768, 3072},
};

uint16_t toBf16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  x += 0x7fffu + ((x >> 16) & 1u);
  return uint16_t(x >> 16);
}

} // namespace

int main(int argc, char **argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 2;
  int reps = argc > 2 ? atoi(argv[2]) : 20;
  PoolContext context(threads);
  printf("threads %d; bf16 best variant %d (0 generic, 1 AVX-512, 2 AVX-512 "
         "BF16, 3 AMX, 5 AVX2)\n",
         threads, (int)bestBf16Isa());
  printf("%-18s %-10s %10s %10s %8s\n", "gemm", "kernel", "ms", "GFLOP/s",
         "vs fp32");
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> value(-1, 1);
  for (const Case &cs : kCases) {
    std::vector<float> a((size_t)(cs.m * cs.k)), c((size_t)(cs.m * cs.n)),
        bias((size_t)cs.n);
    for (auto &x : a)
      x = value(rng);
    for (auto &x : bias)
      x = value(rng);
    std::vector<uint16_t> a16(a.size()), w16((size_t)(cs.k * cs.n));
    for (size_t i = 0; i < a.size(); ++i)
      a16[i] = toBf16(a[i]);
    // fp32 panels of 32 columns, zero-padded (Kernels.h).
    const int64_t f32Panels = (cs.n + 31) / 32;
    std::vector<float> packed32((size_t)(f32Panels * 32 * cs.k), 0.0f);
    for (int64_t kk = 0; kk < cs.k; ++kk)
      for (int64_t j = 0; j < cs.n; ++j) {
        float v = value(rng);
        w16[(size_t)(kk * cs.n + j)] = toBf16(v);
        packed32[(size_t)((j / 32) * cs.k * 32 + kk * 32 + j % 32)] = v;
      }
    std::vector<uint16_t> packed16((size_t)bf16::packedElements(cs.k, cs.n) +
                                   32);
    // 64-byte aligned, as the compiler aligns packed weights.
    uint16_t *p16 =
        packed16.data() +
        ((64 - reinterpret_cast<uintptr_t>(packed16.data()) % 64) % 64) / 2;
    bf16::pack(w16.data(), cs.k, cs.n, p16);
    kiln_memref2_f32 am{a.data(), a.data(), 0, {cs.m, cs.k}, {cs.k, 1}};
    kiln_memref2_bf16 am16{a16.data(), a16.data(), 0, {cs.m, cs.k}, {cs.k, 1}};
    kiln_memref2_f32 cm{c.data(), c.data(), 0, {cs.m, cs.n}, {cs.n, 1}};
    Epilogue epilogue{bias.data(), KILN_RT_ACT_NONE};
    const double flops = 2.0 * cs.m * cs.k * cs.n;
    auto time = [&](auto &&step) {
      step(); // warm-up
      return test::timeCalls(step, reps).medianSeconds;
    };
    double f32 = time([&] {
      packedMatmulF32(am, packed32.data(), (int64_t)packed32.size(), cm,
                      bestMatmulIsa(), epilogue);
    });
    printf("%-18s %-10s %10.3f %10.1f\n", cs.name, "fp32", f32 * 1e3,
           flops / f32 * 1e-9);
    const struct {
      Bf16Isa isa;
      const char *name;
    } variants[] = {{Bf16Isa::Generic, "generic"},
                    {Bf16Isa::Avx2, "avx2"},
                    {Bf16Isa::Avx512, "avx512"},
                    {Bf16Isa::Avx512Bf16, "avx512bf16"},
                    {Bf16Isa::Amx, "amx"}};
    for (const auto &v : variants) {
      if (!cpuSupports(v.isa) ||
          (v.isa == Bf16Isa::Generic && cs.n > 4096 && reps > 3))
        continue;
      double s =
          time([&] { matmulPackedBf16(am16, p16, cm, epilogue, v.isa); });
      printf("%-18s %-10s %10.3f %10.1f %7.2fx\n", cs.name, v.name, s * 1e3,
             flops / s * 1e-9, f32 / s);
    }
  }
  if (!context.error.empty())
    printf("error: %s\n", context.error.c_str());
  return context.error.empty() ? 0 : 1;
}
