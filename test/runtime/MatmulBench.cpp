//===- MatmulBench.cpp - GFLOP/s of the fp32 batch matmul kernel ----------===//
//
// usage: kiln_matmul_bench [M N K [threads [batch [transposeB]]]]
// Prints one line per ISA this CPU supports.
//
//===----------------------------------------------------------------------===//

#include "ExecutionContext.h"
#include "ThreadPool.h"
#include "kernels/BatchMatmul.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

using namespace kiln;

namespace {

struct PoolContext {
  ThreadPool *pool;
  std::vector<std::vector<char>> scratch;
  kiln_rt_context ctx{}; // fields this context does not use stay zero

  explicit PoolContext(int32_t threads)
      : pool(ThreadPool::create(threads)), scratch(threads) {
    ctx.version = KILN_RT_CONTEXT_VERSION;
    ctx.num_threads = threads;
    ctx.parallel_for = [](kiln_rt_context *c, int64_t b, int64_t e, int64_t g,
                          kiln_rt_task_fn fn, void *arg) {
      static_cast<PoolContext *>(c->impl)->pool->parallelFor(b, e, g, fn, arg);
    };
    ctx.scratch = [](kiln_rt_context *c, int32_t w, size_t bytes) -> void * {
      auto &buf = static_cast<PoolContext *>(c->impl)->scratch[w];
      if (buf.size() < bytes + 64)
        buf.resize(bytes + 64);
      uintptr_t p = reinterpret_cast<uintptr_t>(buf.data());
      return reinterpret_cast<void *>((p + 63) & ~uintptr_t(63));
    };
    ctx.report_error = [](kiln_rt_context *, const char *m) {
      fprintf(stderr, "kernel error: %s\n", m);
    };
    ctx.impl = this;
  }
  ~PoolContext() { ThreadPool::destroy(pool); }
};

} // namespace

int main(int argc, char **argv) {
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
  if (threads > 1)
    *kiln_rt_context_slot() = &context.ctx;

  const struct {
    MatmulIsa isa;
    const char *name;
  } isas[] = {{MatmulIsa::Avx512, "avx512"},
              {MatmulIsa::Avx2, "avx2"},
              {MatmulIsa::Generic, "generic"}};
  double flops = 2.0 * batch * m * n * k;
  for (const auto &entry : isas) {
    if (!cpuSupports(entry.isa))
      continue;
    batchMatmulF32(am, bm, cm, entry.isa); // warm up
    int iterations = std::max(1, int(2e9 / flops));
    std::vector<double> seconds;
    for (int rep = 0; rep < 5; ++rep) {
      auto start = std::chrono::steady_clock::now();
      for (int i = 0; i < iterations; ++i)
        batchMatmulF32(am, bm, cm, entry.isa);
      seconds.push_back(std::chrono::duration<double>(
                            std::chrono::steady_clock::now() - start)
                            .count() /
                        iterations);
    }
    double best = *std::min_element(seconds.begin(), seconds.end());
    printf("%-8s batch %lld M %lld N %lld K %lld%s threads %d: %.1f GFLOP/s "
           "(%.3f ms)\n",
           entry.name, (long long)batch, (long long)m, (long long)n,
           (long long)k, transposeB ? " (B transposed)" : "", threads,
           flops / best * 1e-9, best * 1e3);
  }
  *kiln_rt_context_slot() = nullptr;
  return 0;
}
