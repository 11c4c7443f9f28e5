//===- MatmulBench.cpp - GFLOP/s of the fp32 batch matmul kernel ----------===//
//
// usage: kiln_matmul_bench [M N K [threads [batch [transposeB]]]]
//        kiln_matmul_bench decode [M [threads]]
// The first prints one line per ISA this CPU supports. The second times the
// products of one GPT-2-small decode step over compile-time packed weights
// (12 layers of 768x2304, 768x768, 768x3072, 3072x768, then 768x50257; 497
// MB, more than any cache) and prints the weight stream in GB/s.
//
//===----------------------------------------------------------------------===//

#include "BenchTiming.h"
#include "PoolContext.h"
#include "kernels/BatchMatmul.h"
#include "kernels/Kernels.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

using namespace kiln;
using kiln::test::PoolContext;

namespace {

int decodeStep(int64_t m, int32_t threads) {
  struct Shape {
    int64_t k, n;
  };
  std::vector<Shape> shapes;
  for (int layer = 0; layer < 12; ++layer)
    for (Shape s : {Shape{768, 2304}, Shape{768, 768}, Shape{768, 3072},
                    Shape{3072, 768}})
      shapes.push_back(s);
  shapes.push_back({768, 50257});
  const int64_t panel = KILN_RT_PACKED_PANEL;
  std::vector<std::vector<float>> weights;
  std::vector<int64_t> sizes;
  double bytes = 0;
  for (Shape s : shapes) {
    sizes.push_back((s.n + panel - 1) / panel * panel * s.k);
    weights.emplace_back(sizes.back() + 16, 0.001f);
    bytes += sizes.back() * sizeof(float);
  }
  std::vector<float> a(m * 3072, 0.5f), c(m * 50257);
  PoolContext context(threads);
  auto step = [&] {
    for (size_t i = 0; i < shapes.size(); ++i) {
      auto [k, n] = shapes[i];
      // 64-byte aligned, as the compiler aligns packed weights.
      uintptr_t raw = reinterpret_cast<uintptr_t>(weights[i].data());
      const float *w = reinterpret_cast<const float *>((raw + 63) & ~63ul);
      kiln_memref2_f32 am = {a.data(), a.data(), 0, {m, k}, {k, 1}};
      kiln_memref2_f32 cm = {c.data(), c.data(), 0, {m, n}, {n, 1}};
      packedMatmulF32(am, w, sizes[i], cm, bestMatmulIsa());
    }
  };
  step();
  if (!context.error.empty()) {
    fprintf(stderr, "kernel error: %s\n", context.error.c_str());
    return 1;
  }
  kiln::test::Timing t = kiln::test::timeCalls(step, 20);
  double median = t.medianSeconds;
  printf("decode step M %lld threads %d: %.2f ms median (best %.2f), %.1f "
         "GB/s of weights\n",
         (long long)m, threads, median * 1e3, t.bestSeconds * 1e3,
         bytes / median * 1e-9);
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  if (argc > 1 && std::string(argv[1]) == "decode")
    return decodeStep(argc > 2 ? atoll(argv[2]) : 1,
                      argc > 3 ? atoi(argv[3]) : 2);
  int64_t m = argc > 1 ? atoll(argv[1]) : 1024;
  int64_t n = argc > 2 ? atoll(argv[2]) : 1024;
  int64_t k = argc > 3 ? atoll(argv[3]) : 1024;
  int32_t threads = argc > 4 ? atoi(argv[4]) : 1;
  int64_t batch = argc > 5 ? atoll(argv[5]) : 1;
  bool transposeB = argc > 6 && atoi(argv[6]);

  std::vector<float> a(batch * m * k), b(batch * k * n), c(batch * m * n);
  for (size_t i = 0; i < a.size(); ++i)
    a[i] = float(i % 13) / 13 - 0.5f;
  for (size_t i = 0; i < b.size(); ++i)
    b[i] = float(i % 7) / 7 - 0.5f;
  kiln_memref3_f32 am = {a.data(), a.data(), 0, {batch, m, k}, {m * k, k, 1}};
  kiln_memref3_f32 bm = {b.data(), b.data(), 0, {batch, k, n}, {k * n, n, 1}};
  if (transposeB)
    bm.strides[1] = 1, bm.strides[2] = k;
  kiln_memref3_f32 cm = {c.data(), c.data(), 0, {batch, m, n}, {m * n, n, 1}};

  PoolContext context(threads);

  const struct {
    MatmulIsa isa;
    const char *name;
  } isas[] = {{MatmulIsa::Avx512, "avx512"},
              {MatmulIsa::Avx2, "avx2"},
              {MatmulIsa::Neon, "neon"},
              {MatmulIsa::Generic, "generic"}};
  double flops = 2.0 * batch * m * n * k;
  for (const auto &entry : isas) {
    if (!cpuSupports(entry.isa))
      continue;
    batchMatmulF32(am, bm, cm, entry.isa); // warm up
    if (!context.error.empty()) {
      fprintf(stderr, "kernel error: %s\n", context.error.c_str());
      return 1;
    }
    int iterations = std::max(1, int(2e9 / flops));
    kiln::test::Timing t = kiln::test::timeCalls(
        [&] {
          for (int i = 0; i < iterations; ++i)
            batchMatmulF32(am, bm, cm, entry.isa);
        },
        5);
    double best = t.bestSeconds / iterations;
    printf("%-8s batch %lld M %lld N %lld K %lld%s threads %d: %.1f GFLOP/s "
           "(%.3f ms)\n",
           entry.name, (long long)batch, (long long)m, (long long)n,
           (long long)k, transposeB ? " (B transposed)" : "", threads,
           flops / best * 1e-9, best * 1e3);
  }
  return 0;
}
