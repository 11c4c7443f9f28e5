//===- PackedGemm.cpp - fp32 GEMM over weights packed at compile time -----===//
//
// Products of at most kPanelStreamMaxRows rows (decode steps) stream each
// packed panel once for all rows (RowStreaming.h); more rows run the blocked
// GEMM with the packed panels in place of its packed B (BlockedGemm.cpp).
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

void panelRowsGeneric(const PanelProblem &p, int64_t first, int64_t last) {
  panelRowsAnyM(p, first, last);
}

struct PanelArgs {
  const PanelProblem *problem;
  PanelFn fn;
  int64_t panelsPerItem;
  int64_t panels;
};

void runPanelItems(void *raw, int64_t begin, int64_t end, int32_t) {
  auto *args = static_cast<PanelArgs *>(raw);
  for (int64_t item = begin; item < end; ++item) {
    int64_t first = item * args->panelsPerItem;
    int64_t last = first + args->panelsPerItem;
    args->fn(*args->problem, first, last < args->panels ? last : args->panels);
  }
}

} // namespace

void packedMatmulF32(const kiln_memref2_f32 &a, const float *packed,
                     int64_t packedSize, const kiln_memref2_f32 &c,
                     MatmulIsa isa, const Epilogue &epilogue) {
  const int64_t m = c.sizes[0], n = c.sizes[1], k = a.sizes[1];
  const int64_t panels = (n + kPackedPanel - 1) / kPackedPanel;
  int64_t want = 0;
  if (a.sizes[0] != m || m < 0 || n < 0 || k < 0 ||
      __builtin_mul_overflow(panels * kPackedPanel, k, &want) ||
      packedSize != want) {
    char message[256];
    snprintf(message, sizeof(message),
             "matmul_packed_f32: a [%lld, %lld] and c [%lld, %lld] need %lld "
             "packed weight elements, got %lld",
             (long long)a.sizes[0], (long long)k, (long long)m, (long long)n,
             (long long)want, (long long)packedSize);
    reportError(message);
    return;
  }
  if (m == 0 || n == 0)
    return;
  EpilogueFn epilogueFn = epilogueFor(epilogue, isa);
  kiln_rt_context *ctx = kiln_rt_current_context();
  int64_t macs = 0;
  bool parallel = ctx && ctx->num_threads > 1 &&
                  !__builtin_mul_overflow(m * n, k, &macs) &&
                  macs >= kParallelMacs;

  if (m <= kPanelStreamMaxRows) {
    PanelProblem pp{a.aligned + a.offset,
                    a.strides[0],
                    a.strides[1],
                    packed,
                    c.aligned + c.offset,
                    c.strides[0],
                    c.strides[1],
                    m,
                    n,
                    k,
                    epilogue,
                    epilogueFn};
    PanelFn fn = panelRowsGeneric;
#if defined(__x86_64__)
    if (isa == MatmulIsa::Avx512)
      fn = panelRowsAvx512;
    else if (isa == MatmulIsa::Avx2)
      fn = panelRowsAvx2;
#endif
#if defined(__aarch64__)
    if (isa == MatmulIsa::Neon)
      fn = panelRowsNeon;
#endif
    // Items of a few panels, enough of them to balance the threads.
    int64_t threads = parallel ? ctx->num_threads : 1;
    int64_t perItem = (panels + 4 * threads - 1) / (4 * threads);
    perItem = perItem < 2 ? 2 : (perItem + 1) / 2 * 2;
    PanelArgs args{&pp, fn, perItem, panels};
    int64_t items = (panels + perItem - 1) / perItem;
    if (parallel)
      ctx->parallel_for(ctx, 0, items, 1, runPanelItems, &args);
    else
      runPanelItems(&args, 0, items, 0);
    return;
  }

  const MatmulMicrokernel &kernel = kernelFor(isa);
  // The microkernel loads B panels with aligned loads; the compiler aligns
  // packed weights to 64 bytes.
  bool aligned = reinterpret_cast<uintptr_t>(packed) % 64 == 0;
  if (kernel.nr != kPackedPanel || !aligned) {
    // Microkernels of another width read each panel as a strided
    // [k, kPackedPanel] matrix: correct everywhere, fast nowhere.
    for (int64_t j = 0; j < panels; ++j) {
      int64_t cols = n - j * kPackedPanel < kPackedPanel ? n - j * kPackedPanel
                                                         : kPackedPanel;
      float *pb = const_cast<float *>(packed) + j * k * kPackedPanel;
      kiln_memref3_f32 av{a.allocated,
                          a.aligned,
                          a.offset,
                          {1, m, k},
                          {0, a.strides[0], a.strides[1]}};
      kiln_memref3_f32 bv{pb, pb, 0, {1, k, cols}, {0, kPackedPanel, 1}};
      kiln_memref3_f32 cv{c.allocated,
                          c.aligned,
                          c.offset + j * kPackedPanel * c.strides[1],
                          {1, m, cols},
                          {0, c.strides[0], c.strides[1]}};
      batchMatmulF32(av, bv, cv, isa);
    }
    if (epilogueFn)
      epilogueFn(epilogue, c.aligned + c.offset, m, n, c.strides[0],
                 c.strides[1], 0);
    return;
  }
  Problem p;
  p.a = {a.aligned + a.offset, {1, m, k}, {0, a.strides[0], a.strides[1]}};
  p.b = {packed, {1, k, n}, {0, kPackedPanel, 1}};
  p.c = {c.aligned + c.offset, {1, m, n}, {0, c.strides[0], c.strides[1]}};
  p.batch = 1;
  p.m = m;
  p.n = n;
  p.k = k;
  p.kernel = &kernel;
  p.packedB = packed;
  p.epilogue = epilogue;
  p.epilogueFn = epilogueFn;
  runBlocked(p, ctx, parallel);
}

} // namespace kiln
