//===- BatchMatmul.cpp - fp32 batched GEMM driver -------------------------===//
//
// Checks the shapes, then streams B for products of a few rows
// (RowStreaming.h) or runs the blocked GEMM (BlockedGemm.cpp) on the rest.
//
//===----------------------------------------------------------------------===//

#include "kernels/BatchMatmul.h"

#include "kernels/GemmProblem.h"
#include "kernels/KernelError.h"
#include "kernels/RowStreaming.h"

#include <stdio.h>

namespace kiln {

using namespace gemm;

namespace {

View viewOf(const kiln_memref3_f32 &m) {
  return {m.aligned + m.offset,
          {m.sizes[0], m.sizes[1], m.sizes[2]},
          {m.strides[0], m.strides[1], m.strides[2]}};
}

void streamRowsGeneric(const Problem &p, int64_t item) {
  streamRowsAnyM(p, item);
}

StreamFn streamFor(MatmulIsa isa) {
#if defined(__x86_64__)
  if (isa == MatmulIsa::Avx512)
    return streamRowsAvx512;
  if (isa == MatmulIsa::Avx2)
    return streamRowsAvx2;
#endif
#if defined(__aarch64__)
  if (isa == MatmulIsa::Neon)
    return streamRowsNeon;
#endif
  (void)isa;
  return streamRowsGeneric;
}

struct StreamArgs {
  const Problem *problem;
  StreamFn fn;
};

void runStreamItems(void *raw, int64_t begin, int64_t end, int32_t) {
  auto *args = static_cast<StreamArgs *>(raw);
  for (int64_t item = begin; item < end; ++item)
    args->fn(*args->problem, item);
}

} // namespace

void batchMatmulF32(const kiln_memref3_f32 &am, const kiln_memref3_f32 &bm,
                    const kiln_memref3_f32 &cm, MatmulIsa isa) {
  Problem p;
  p.a = viewOf(am);
  p.b = viewOf(bm);
  p.c = viewOf(cm);
  p.batch = p.c.sizes[0];
  p.m = p.c.sizes[1];
  p.n = p.c.sizes[2];
  p.k = p.a.sizes[2];
  bool batchOk = (p.a.sizes[0] == 1 || p.a.sizes[0] == p.batch) &&
                 (p.b.sizes[0] == 1 || p.b.sizes[0] == p.batch);
  if (!batchOk || p.a.sizes[1] != p.m || p.b.sizes[2] != p.n ||
      p.b.sizes[1] != p.k || p.batch < 0 || p.m < 0 || p.n < 0 || p.k < 0) {
    char message[256];
    snprintf(message, sizeof(message),
             "batch_matmul_f32: sizes a [%lld, %lld, %lld] b [%lld, %lld, "
             "%lld] c [%lld, %lld, %lld] do not match",
             (long long)p.a.sizes[0], (long long)p.a.sizes[1],
             (long long)p.a.sizes[2], (long long)p.b.sizes[0],
             (long long)p.b.sizes[1], (long long)p.b.sizes[2],
             (long long)p.batch, (long long)p.m, (long long)p.n);
    reportError(message);
    return;
  }
  if (p.batch == 0 || p.m == 0 || p.n == 0)
    return;
  if (p.k == 0) {
    for (int64_t i = 0; i < p.batch; ++i)
      for (int64_t m = 0; m < p.m; ++m)
        for (int64_t n = 0; n < p.n; ++n)
          const_cast<float *>(
              p.c.base)[i * p.c.strides[0] + m * p.c.strides[1] +
                        n * p.c.strides[2]] = 0;
    return;
  }

  kiln_rt_context *ctx = kiln_rt_current_context();
  int64_t macs = 0;
  bool parallel = ctx && ctx->num_threads > 1 &&
                  !__builtin_mul_overflow(p.batch * p.m, p.n * p.k, &macs) &&
                  macs >= kParallelMacs;

  if (p.m <= kStreamMaxRows && p.b.strides[2] == 1) {
    int64_t cols = p.n < kStreamMaxColumns ? p.n : kStreamMaxColumns;
    if (parallel && p.batch < ctx->num_threads) {
      int64_t perThread = (p.n + ctx->num_threads - 1) / ctx->num_threads;
      perThread = (perThread + 15) / 16 * 16;
      cols = perThread < 256 ? 256 : perThread < cols ? perThread : cols;
    }
    p.streamColumns = cols;
    StreamArgs args{&p, streamFor(isa)};
    int64_t items = p.batch * ((p.n + cols - 1) / cols);
    if (parallel)
      ctx->parallel_for(ctx, 0, items, 1, runStreamItems, &args);
    else
      runStreamItems(&args, 0, items, 0);
    return;
  }

  p.kernel = &kernelFor(isa);
  runBlocked(p, ctx, parallel);
}

} // namespace kiln
