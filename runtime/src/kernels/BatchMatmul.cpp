//===- BatchMatmul.cpp - fp32 batched GEMM driver -------------------------===//
//
// Goto/BLIS-style blocking: C is cut into MC x NC blocks (the parallel work
// items, together with the batch), K into KC slices. For each slice the block's
// columns of B are packed into NR-wide panels (weights are packed at compile
// time), and rows of A into MR-wide panels unless K is contiguous, when full
// tiles read A's rows in place. KC x NR of B (32 KiB for AVX-512) stays in L1
// while the MC x KC block of A streams from L2; MC = 128 rows keeps a
// 128-token prefill in one block, so each B panel comes from memory once.
// Products of at most 4 rows (decode steps) skip packing and stream B
// instead (see streamRowsBody).
//
//===----------------------------------------------------------------------===//

#include "kernels/BatchMatmul.h"
#include "kernels/GemmEpilogue.h"
#include "kernels/KernelError.h"

#include "ExecutionContext.h"
#include "kernels/MatmulMicrokernels.h"

#include <atomic>
#if defined(__x86_64__)
#include <immintrin.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

namespace kiln {

namespace {

constexpr int64_t kKc = 256;
constexpr int64_t kPackedPanel = KILN_RT_PACKED_PANEL;
constexpr int64_t kMcTiles = 16; // MC = 16 * MR
constexpr int64_t kNcTiles = 16; // NC = 16 * NR
// Below this many multiply-adds, waking the pool costs more than it saves.
constexpr int64_t kParallelMacs = int64_t(1) << 20;

struct View {
  const float *base; // element (0, 0, 0)
  int64_t sizes[3];
  int64_t strides[3];
};

View viewOf(const kiln_memref3_f32 &m) {
  return {m.aligned + m.offset,
          {m.sizes[0], m.sizes[1], m.sizes[2]},
          {m.strides[0], m.strides[1], m.strides[2]}};
}

struct Problem {
  View a, b, c;
  int64_t batch, m, n, k;
  int64_t mc, nc;        // block sizes, multiples of MR and NR
  int64_t streamColumns; // columns per item on the few-rows path
  int64_t mBlocks, nBlocks;
  const MatmulMicrokernel *kernel;
  // B pre-packed by the compiler in kPackedPanel-column panels (see
  // Kernels.h), used in place of packing b; needs kernel->nr == kPackedPanel.
  const float *packedB = nullptr;
  // Applied to each tile of C after its last K slice; null for none.
  Epilogue epilogue;
  EpilogueFn epilogueFn = nullptr;
};

// Packs rows [m0, m0+mc) x cols [k0, k0+kc) of `a` into MR-row panels, each
// kc steps of MR values, zero-padding the last panel.
void packA(const float *a, int64_t sm, int64_t sk, int64_t mc, int64_t kc,
           int32_t mr, float *dst) {
  for (int64_t i0 = 0; i0 < mc; i0 += mr, dst += kc * mr) {
    int64_t rows = mc - i0 < mr ? mc - i0 : mr;
    const float *src = a + i0 * sm;
    if (rows < mr)
      memset(dst, 0, sizeof(float) * kc * mr);
    if (sm == 1) {
      for (int64_t k = 0; k < kc; ++k)
        for (int64_t r = 0; r < rows; ++r)
          dst[k * mr + r] = src[k * sk + r];
    } else {
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t k = 0; k < kc; ++k)
          dst[k * mr + r] = src[r * sm + k * sk];
    }
  }
}

// Packs rows [k0, k0+kc) x cols [n0, n0+nc) of `b` into NR-column panels,
// each kc steps of NR values, zero-padding the last panel.
void packB(const float *b, int64_t sk, int64_t sn, int64_t kc, int64_t nc,
           int32_t nr, float *dst) {
  for (int64_t j0 = 0; j0 < nc; j0 += nr, dst += kc * nr) {
    int64_t cols = nc - j0 < nr ? nc - j0 : nr;
    const float *src = b + j0 * sn;
    if (cols < nr)
      memset(dst, 0, sizeof(float) * kc * nr);
    if (sn == 1) {
      for (int64_t k = 0; k < kc; ++k)
        memcpy(dst + k * nr, src + k * sk, sizeof(float) * cols);
    } else {
      for (int64_t j = 0; j < cols; ++j)
        for (int64_t k = 0; k < kc; ++k)
          dst[k * nr + j] = src[j * sn + k * sk];
    }
  }
}

int64_t roundUpTo(int64_t x, int64_t to) { return (x + to - 1) / to * to; }

// Packed A (MC rows; with direct A, the partial last rows plus one MR panel
// for a partial column tile), then packed B.
size_t scratchFloats(const Problem &p) {
  return (size_t)((p.mc + p.kernel->mr) * kKc + kKc * p.nc);
}

// Computes one MC x NC block of C for one batch entry.
void computeBlock(const Problem &p, int64_t item, float *scratch) {
  int64_t i = item / (p.mBlocks * p.nBlocks);
  int64_t rest = item % (p.mBlocks * p.nBlocks);
  int64_t m0 = (rest / p.nBlocks) * p.mc;
  int64_t n0 = (rest % p.nBlocks) * p.nc;
  int64_t mc = p.m - m0 < p.mc ? p.m - m0 : p.mc;
  int64_t nc = p.n - n0 < p.nc ? p.n - n0 : p.nc;
  const int32_t mr = p.kernel->mr, nr = p.kernel->nr;

  const float *a = p.a.base + (p.a.sizes[0] == 1 ? 0 : i * p.a.strides[0]) +
                   m0 * p.a.strides[1];
  const float *b = p.b.base + (p.b.sizes[0] == 1 ? 0 : i * p.b.strides[0]) +
                   n0 * p.b.strides[2];
  float *c = const_cast<float *>(p.c.base) + i * p.c.strides[0] +
             m0 * p.c.strides[1] + n0 * p.c.strides[2];
  const int64_t csm = p.c.strides[1], csn = p.c.strides[2];

  float *packedA = scratch;
  float *packedB = scratch + (p.mc + p.kernel->mr) * kKc;
  alignas(64) float tile[kMaxTileElements];

  for (int64_t k0 = 0; k0 < p.k; k0 += kKc) {
    int64_t kc = p.k - k0 < kKc ? p.k - k0 : kKc;
    bool accumulate = k0 > 0;
    EpilogueFn finish = k0 + kc >= p.k ? p.epilogueFn : nullptr;
    // Panels of a pre-packed B hold all K rows; packed here, only kc.
    const float *panelsB = packedB;
    int64_t panelStride = kc * nr;
    if (p.packedB) {
      panelsB = p.packedB + (n0 / nr) * p.k * nr + k0 * nr;
      panelStride = p.k * nr;
    } else {
      packB(b + k0 * p.b.strides[1], p.b.strides[1], p.b.strides[2], kc, nc,
            nr, packedB);
    }
    // Rows of A with contiguous K are read in place by full tiles; only a
    // last partial tile of rows is packed (at the start of packedA).
    const float *aSlice = a + k0 * p.a.strides[2];
    const int64_t lda = p.a.strides[1];
    bool direct = p.kernel->directTile && p.a.strides[2] == 1;
    int64_t fullRows = mc / mr * mr;
    if (!direct)
      packA(aSlice, lda, p.a.strides[2], mc, kc, mr, packedA);
    else if (fullRows < mc)
      packA(aSlice + fullRows * lda, lda, 1, mc - fullRows, kc, mr, packedA);
    for (int64_t j0 = 0; j0 < nc; j0 += nr) {
      const float *panelB = panelsB + (j0 / nr) * panelStride;
      int64_t cols = nc - j0 < nr ? nc - j0 : nr;
      // Compile-time packed weights come from memory: fetch the next panel
      // into L2 a slice per tile while this one is in use, or the first
      // tile of every panel waits for it.
      const char *nextPanel =
          p.packedB && j0 + nr < nc
              ? reinterpret_cast<const char *>(panelB + panelStride)
              : nullptr;
      const int64_t panelLines = kc * nr * (int64_t)sizeof(float) / 64;
      const int64_t linesPerTile = (panelLines + mc / mr) / (mc / mr + 1);
      for (int64_t i0 = 0; i0 < mc; i0 += mr) {
        if (nextPanel)
          for (int64_t l = (i0 / mr) * linesPerTile,
                       end = l + linesPerTile < panelLines ? l + linesPerTile
                                                           : panelLines;
               l < end; ++l)
            __builtin_prefetch(nextPanel + l * 64, 0, 2);
        const float *panelA =
            packedA + (direct ? (i0 - fullRows) / mr : i0 / mr) * kc * mr;
        int64_t rows = mc - i0 < mr ? mc - i0 : mr;
        float *cTile = c + i0 * csm + j0 * csn;
        if (rows == mr && cols == nr && csn == 1) {
          if (direct)
            p.kernel->directTile(kc, aSlice + i0 * lda, lda, panelB, cTile, csm,
                                 accumulate);
          else
            p.kernel->tile(kc, panelA, panelB, cTile, csm, accumulate);
          if (finish)
            finish(p.epilogue, cTile, rows, cols, csm, csn, n0 + j0);
          continue;
        }
        if (direct && rows == mr) {
          // Full rows read in place, but a partial or strided column tile:
          // pack the rows for the packed kernel, after the partial rows.
          float *rowsPanel = packedA + roundUpTo(mc - fullRows, mr) * kc;
          packA(aSlice + i0 * lda, lda, 1, mr, kc, mr, rowsPanel);
          panelA = rowsPanel;
        }
        // Partial or strided tile: compute into a dense tile, then merge.
        p.kernel->tile(kc, panelA, panelB, tile, nr, false);
        for (int64_t r = 0; r < rows; ++r)
          for (int64_t j = 0; j < cols; ++j) {
            float *dst = cTile + r * csm + j * csn;
            *dst = accumulate ? *dst + tile[r * nr + j] : tile[r * nr + j];
          }
        if (finish)
          finish(p.epilogue, cTile, rows, cols, csm, csn, n0 + j0);
      }
    }
  }
}

//===----------------------------------------------------------------------===//
// Few rows (decode steps): stream B in place
//===----------------------------------------------------------------------===//

// With M <= kStreamMaxRows, packing B costs as much as the multiply and the
// MR-row microkernel idles; reading B's rows where they lie makes the product
// run at memory bandwidth instead.
constexpr int64_t kStreamMaxRows = 4;
// Columns per work item: whole rows up to this many stream B best (measured:
// 24 GB/s at 4096 against 10 GB/s at 256), so items only get narrower to give
// every thread work.
constexpr int64_t kStreamMaxColumns = 4096;

// Item = (batch entry, block of streamColumns columns). Inlined into one
// function per ISA so that the compiler vectorizes it for that ISA.
template <int Rows>
__attribute__((always_inline)) inline void streamRowsBody(const Problem &p,
                                                          int64_t item) {
  const int64_t cols = p.streamColumns;
  int64_t nBlocks = (p.n + cols - 1) / cols;
  int64_t i = item / nBlocks, n0 = (item % nBlocks) * cols;
  int64_t nc = p.n - n0 < cols ? p.n - n0 : cols;
  const float *a = p.a.base + (p.a.sizes[0] == 1 ? 0 : i * p.a.strides[0]);
  const float *b = p.b.base + (p.b.sizes[0] == 1 ? 0 : i * p.b.strides[0]) +
                   n0; // unit column stride
  float *c =
      const_cast<float *>(p.c.base) + i * p.c.strides[0] + n0 * p.c.strides[2];
  alignas(64) float acc[Rows][kStreamMaxColumns];
  for (int r = 0; r < Rows; ++r)
    for (int64_t j = 0; j < nc; ++j)
      acc[r][j] = 0;
  for (int64_t k = 0; k < p.k; ++k) {
    const float *row = b + k * p.b.strides[1];
    for (int r = 0; r < Rows; ++r) {
      float av = a[r * p.a.strides[1] + k * p.a.strides[2]];
      for (int64_t j = 0; j < nc; ++j)
        acc[r][j] += av * row[j];
    }
  }
  for (int r = 0; r < Rows; ++r)
    for (int64_t j = 0; j < nc; ++j)
      c[r * p.c.strides[1] + j * p.c.strides[2]] = acc[r][j];
}

__attribute__((always_inline)) inline void streamRowsAnyM(const Problem &p,
                                                          int64_t item) {
  switch (p.m) {
  case 1:
    return streamRowsBody<1>(p, item);
  case 2:
    return streamRowsBody<2>(p, item);
  case 3:
    return streamRowsBody<3>(p, item);
  default:
    return streamRowsBody<4>(p, item);
  }
}

void streamRowsGeneric(const Problem &p, int64_t item) {
  streamRowsAnyM(p, item);
}
#if defined(__x86_64__)
__attribute__((target("avx2,fma"))) void streamRowsAvx2(const Problem &p,
                                                        int64_t item) {
  streamRowsAnyM(p, item);
}
__attribute__((target("avx512f"))) void streamRowsAvx512(const Problem &p,
                                                         int64_t item) {
  streamRowsAnyM(p, item);
}
#endif

using StreamFn = void (*)(const Problem &, int64_t);

StreamFn streamFor(MatmulIsa isa) {
#if defined(__x86_64__)
  if (isa == MatmulIsa::Avx512)
    return streamRowsAvx512;
  if (isa == MatmulIsa::Avx2)
    return streamRowsAvx2;
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

// Unblocked fallback for when no scratch memory can be had.
void naiveBlock(const Problem &p) {
  for (int64_t i = 0; i < p.batch; ++i) {
    const float *a = p.a.base + (p.a.sizes[0] == 1 ? 0 : i * p.a.strides[0]);
    const float *b = p.b.base + (p.b.sizes[0] == 1 ? 0 : i * p.b.strides[0]);
    float *c = const_cast<float *>(p.c.base) + i * p.c.strides[0];
    for (int64_t m = 0; m < p.m; ++m)
      for (int64_t n = 0; n < p.n; ++n) {
        float sum = 0;
        // A pre-packed B holds column n in panel n / 32.
        const float *bn = p.packedB ? p.packedB + (n / kPackedPanel) * p.k *
                                                      kPackedPanel +
                                          n % kPackedPanel
                                    : b + n * p.b.strides[2];
        int64_t sk = p.packedB ? kPackedPanel : p.b.strides[1];
        for (int64_t k = 0; k < p.k; ++k)
          sum += a[m * p.a.strides[1] + k * p.a.strides[2]] * bn[k * sk];
        c[m * p.c.strides[1] + n * p.c.strides[2]] = sum;
      }
    if (p.epilogueFn)
      p.epilogueFn(p.epilogue, c, p.m, p.n, p.c.strides[1], p.c.strides[2], 0);
  }
}

struct ParallelArgs {
  const Problem *problem;
  kiln_rt_context *ctx;
  std::atomic<bool> *outOfMemory;
};

void runItems(void *raw, int64_t begin, int64_t end, int32_t worker) {
  auto *args = static_cast<ParallelArgs *>(raw);
  const Problem &p = *args->problem;
  float *scratch = static_cast<float *>(
      args->ctx->scratch(args->ctx, worker, scratchFloats(p) * sizeof(float)));
  if (!scratch) {
    args->outOfMemory->store(true);
    return;
  }
  for (int64_t item = begin; item < end; ++item)
    computeBlock(p, item, scratch);
}

const MatmulMicrokernel &kernelFor(MatmulIsa isa) {
  switch (isa) {
  case MatmulIsa::Avx512:
    return kMatmulAvx512;
  case MatmulIsa::Avx2:
    return kMatmulAvx2;
  case MatmulIsa::Generic:
    break;
  }
  return kMatmulGeneric;
}

// The blocked driver for m > kStreamMaxRows: packs A (and B unless
// p.packedB) per KC slice and runs the microkernel over MC x NC blocks.
void runBlocked(Problem &p, kiln_rt_context *ctx, bool parallel) {
  const int64_t mr = p.kernel->mr, nr = p.kernel->nr;
  p.mc =
      kMcTiles * mr < roundUpTo(p.m, mr) ? kMcTiles * mr : roundUpTo(p.m, mr);
  p.nc =
      kNcTiles * nr < roundUpTo(p.n, nr) ? kNcTiles * nr : roundUpTo(p.n, nr);
  if (parallel) {
    // Smaller blocks until every thread has a few items to balance.
    int64_t wanted = 3 * (int64_t)ctx->num_threads;
    auto items = [&] {
      return p.batch * ((p.m + p.mc - 1) / p.mc) * ((p.n + p.nc - 1) / p.nc);
    };
    while (items() < wanted && (p.nc > 4 * nr || p.mc > 2 * mr)) {
      if (p.nc > 4 * nr)
        p.nc = roundUpTo(p.nc / 2, nr);
      else
        p.mc = roundUpTo(p.mc / 2, mr);
    }
  }
  p.mBlocks = (p.m + p.mc - 1) / p.mc;
  p.nBlocks = (p.n + p.nc - 1) / p.nc;
  int64_t items = p.batch * p.mBlocks * p.nBlocks;
  size_t scratchBytes = scratchFloats(p) * sizeof(float);

  if (parallel) {
    std::atomic<bool> outOfMemory{false};
    ParallelArgs args{&p, ctx, &outOfMemory};
    ctx->parallel_for(ctx, 0, items, 1, runItems, &args);
    if (outOfMemory.load())
      naiveBlock(p); // slow but still right
    return;
  }

  float *scratch = nullptr;
  void *owned = nullptr;
  if (ctx) {
    scratch = static_cast<float *>(ctx->scratch(ctx, 0, scratchBytes));
  } else if (posix_memalign(&owned, 64, scratchBytes) == 0) {
    scratch = static_cast<float *>(owned);
  }
  if (!scratch) {
    naiveBlock(p);
    return;
  }
  for (int64_t item = 0; item < items; ++item)
    computeBlock(p, item, scratch);
  free(owned);
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


//===----------------------------------------------------------------------===//
// Weights pre-packed at compile time
//===----------------------------------------------------------------------===//

namespace {

// Rows up to this many stream the packed panels once for all rows (decode:
// the product is bound by reading the weights); more go through runBlocked.
constexpr int64_t kPanelStreamMaxRows = 8;

struct PanelProblem {
  const float *a;
  int64_t sam, sak; // a's strides
  const float *packed;
  float *c;
  int64_t scm, scn; // c's strides
  int64_t m, n, k;
  Epilogue epilogue;
  EpilogueFn epilogueFn; // null for none
};

// Rows x (Panels * 32) of C from Panels consecutive panels, with the
// accumulators in registers and each panel read once, front to back.
template <int Rows, int Panels>
__attribute__((always_inline)) inline void
panelRowsBody(const PanelProblem &p, int64_t panel) {
  constexpr int64_t W = kPackedPanel;
  float acc[Rows][Panels * W] = {};
  const float *b = p.packed + panel * p.k * W;
  for (int64_t k = 0; k < p.k; ++k) {
#pragma clang loop unroll(full)
    for (int r = 0; r < Rows; ++r) {
      float av = p.a[r * p.sam + k * p.sak];
#pragma clang loop unroll(full)
      for (int q = 0; q < Panels; ++q)
        for (int j = 0; j < W; ++j)
          acc[r][q * W + j] += av * b[q * p.k * W + k * W + j];
    }
  }
  int64_t n0 = panel * W;
  int64_t cols = p.n - n0 < Panels * W ? p.n - n0 : Panels * W;
  for (int r = 0; r < Rows; ++r)
    for (int64_t j = 0; j < cols; ++j)
      p.c[r * p.scm + (n0 + j) * p.scn] = acc[r][j];
  if (p.epilogueFn)
    p.epilogueFn(p.epilogue, p.c + n0 * p.scn, Rows, cols, p.scm, p.scn, n0);
}

// One item: up to 4 rows take two panels at a time while two remain (more
// independent FMA chains); more rows take one, so that the Rows x 32
// accumulators (16 zmm at 8 rows) stay in registers.
template <int Rows>
__attribute__((always_inline)) inline void panelRowsItem(const PanelProblem &p,
                                                         int64_t first,
                                                         int64_t last) {
  int64_t panel = first;
  if constexpr (Rows <= 4)
    for (; panel + 2 <= last; panel += 2)
      panelRowsBody<Rows, 2>(p, panel);
  for (; panel < last; ++panel)
    panelRowsBody<Rows, 1>(p, panel);
}

__attribute__((always_inline)) inline void
panelRowsAnyM(const PanelProblem &p, int64_t first, int64_t last) {
  switch (p.m) {
  case 1: return panelRowsItem<1>(p, first, last);
  case 2: return panelRowsItem<2>(p, first, last);
  case 3: return panelRowsItem<3>(p, first, last);
  case 4: return panelRowsItem<4>(p, first, last);
  case 5: return panelRowsItem<5>(p, first, last);
  case 6: return panelRowsItem<6>(p, first, last);
  case 7: return panelRowsItem<7>(p, first, last);
  default: return panelRowsItem<8>(p, first, last);
  }
}

void panelRowsGeneric(const PanelProblem &p, int64_t first, int64_t last) {
  panelRowsAnyM(p, first, last);
}
#if defined(__x86_64__)
__attribute__((target("avx2,fma"))) void
panelRowsAvx2(const PanelProblem &p, int64_t first, int64_t last) {
  panelRowsAnyM(p, first, last);
}
// Explicit registers: the compiler's SLP vectorizer leaves panelRowsBody
// scalar for more than one row.
//
// Floats of a panel fetched ahead of use (4 KiB): with 8 rows the FMAs fill
// the out-of-order window and the hardware prefetcher falls behind; measured
// on a GPT-2 decode step's weights (kiln_matmul_bench decode 8 2), 12.3 ms
// without, 10.5 ms with; one row is unchanged.
constexpr int64_t kPanelPrefetch = 1024;
template <int Rows, int Panels>
__attribute__((target("avx512f"), always_inline)) inline void
panelTileAvx512(const PanelProblem &p, int64_t panel) {
  constexpr int64_t W = kPackedPanel;
  constexpr int V = Panels * 2; // zmm per row
  __m512 acc[Rows][V];
#pragma clang loop unroll(full)
  for (int r = 0; r < Rows; ++r)
#pragma clang loop unroll(full)
    for (int c = 0; c < V; ++c)
      acc[r][c] = _mm512_setzero_ps();
  const float *b = p.packed + panel * p.k * W;
  const int64_t panelStride = p.k * W;
  for (int64_t k = 0; k < p.k; ++k) {
    __m512 bv[V];
#pragma clang loop unroll(full)
    for (int q = 0; q < Panels; ++q) {
      const float *row = b + q * panelStride + k * W;
      _mm_prefetch(reinterpret_cast<const char *>(row + kPanelPrefetch),
                   _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char *>(row + kPanelPrefetch + 16),
                   _MM_HINT_T0);
      bv[2 * q] = _mm512_loadu_ps(row);
      bv[2 * q + 1] = _mm512_loadu_ps(row + 16);
    }
#pragma clang loop unroll(full)
    for (int r = 0; r < Rows; ++r) {
      __m512 av = _mm512_set1_ps(p.a[r * p.sam + k * p.sak]);
#pragma clang loop unroll(full)
      for (int c = 0; c < V; ++c)
        acc[r][c] = _mm512_fmadd_ps(av, bv[c], acc[r][c]);
    }
  }
  int64_t n0 = panel * W;
  int64_t cols = p.n - n0 < Panels * W ? p.n - n0 : Panels * W;
  for (int r = 0; r < Rows; ++r) {
    float *row = p.c + r * p.scm + n0 * p.scn;
    if (cols == Panels * W && p.scn == 1) {
#pragma clang loop unroll(full)
      for (int c = 0; c < V; ++c)
        _mm512_storeu_ps(row + 16 * c, acc[r][c]);
      continue;
    }
    alignas(64) float tmp[Panels * W];
#pragma clang loop unroll(full)
    for (int c = 0; c < V; ++c)
      _mm512_store_ps(tmp + 16 * c, acc[r][c]);
    for (int64_t j = 0; j < cols; ++j)
      row[j * p.scn] = tmp[j];
  }
  if (p.epilogueFn)
    p.epilogueFn(p.epilogue, p.c + n0 * p.scn, Rows, cols, p.scm, p.scn, n0);
}

template <int Rows>
__attribute__((target("avx512f"))) void
panelItemAvx512(const PanelProblem &p, int64_t first, int64_t last) {
  int64_t panel = first;
  if constexpr (Rows <= 4)
    for (; panel + 2 <= last; panel += 2)
      panelTileAvx512<Rows, 2>(p, panel);
  for (; panel < last; ++panel)
    panelTileAvx512<Rows, 1>(p, panel);
}

__attribute__((target("avx512f"))) void
panelRowsAvx512(const PanelProblem &p, int64_t first, int64_t last) {
  switch (p.m) {
  case 1: return panelItemAvx512<1>(p, first, last);
  case 2: return panelItemAvx512<2>(p, first, last);
  case 3: return panelItemAvx512<3>(p, first, last);
  case 4: return panelItemAvx512<4>(p, first, last);
  case 5: return panelItemAvx512<5>(p, first, last);
  case 6: return panelItemAvx512<6>(p, first, last);
  case 7: return panelItemAvx512<7>(p, first, last);
  default: return panelItemAvx512<8>(p, first, last);
  }
}
#endif

using PanelFn = void (*)(const PanelProblem &, int64_t, int64_t);

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
    // Microkernels of another width read each panel as a strided [k, 32]
    // matrix: correct everywhere, fast where AVX-512 is.
    for (int64_t j = 0; j < panels; ++j) {
      int64_t cols = n - j * kPackedPanel < kPackedPanel ? n - j * kPackedPanel
                                                         : kPackedPanel;
      float *pb = const_cast<float *>(packed) + j * k * kPackedPanel;
      kiln_memref3_f32 av{a.allocated, a.aligned, a.offset,
                          {1, m, k}, {0, a.strides[0], a.strides[1]}};
      kiln_memref3_f32 bv{pb, pb, 0, {1, k, cols}, {0, kPackedPanel, 1}};
      kiln_memref3_f32 cv{c.allocated, c.aligned,
                          c.offset + j * kPackedPanel * c.strides[1],
                          {1, m, cols}, {0, c.strides[0], c.strides[1]}};
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

extern "C" void _mlir_ciface_kiln_rt_batch_matmul_f32(kiln_memref3_f32 *a,
                                                      kiln_memref3_f32 *b,
                                                      kiln_memref3_f32 *c) {
  if (!a || !b || !c) {
    kiln::reportError("batch_matmul_f32: NULL memref descriptor");
    return;
  }
  kiln::batchMatmulF32(*a, *b, *c, kiln::bestMatmulIsa());
}

extern "C" void _mlir_ciface_kiln_rt_matmul_f32(kiln_memref2_f32 *a,
                                                kiln_memref2_f32 *b,
                                                kiln_memref2_f32 *c) {
  if (!a || !b || !c) {
    kiln::reportError("matmul_f32: NULL memref descriptor");
    return;
  }
  auto batchOfOne = [](const kiln_memref2_f32 &m) {
    return kiln_memref3_f32{m.allocated,
                            m.aligned,
                            m.offset,
                            {1, m.sizes[0], m.sizes[1]},
                            {0, m.strides[0], m.strides[1]}};
  };
  kiln::batchMatmulF32(batchOfOne(*a), batchOfOne(*b), batchOfOne(*c),
                       kiln::bestMatmulIsa());
}

extern "C" void _mlir_ciface_kiln_rt_matmul_packed_f32(kiln_memref2_f32 *a,
                                                       kiln_memref1_f32 *packed,
                                                       kiln_memref2_f32 *c) {
  if (!a || !packed || !c) {
    kiln::reportError("matmul_packed_f32: NULL memref descriptor");
    return;
  }
  kiln::packedMatmulF32(*a, packed->aligned + packed->offset, packed->sizes[0],
                        *c, kiln::bestMatmulIsa());
}

extern "C" void _mlir_ciface_kiln_rt_matmul_packed_epilogue_f32(
    kiln_memref2_f32 *a, kiln_memref1_f32 *packed, kiln_memref1_f32 *bias,
    kiln_memref2_f32 *c, int32_t activation) {
  if (!a || !packed || !bias || !c) {
    kiln::reportError("matmul_packed_epilogue_f32: NULL memref descriptor");
    return;
  }
  if (activation < KILN_RT_ACT_NONE || activation > KILN_RT_ACT_SILU) {
    char message[96];
    snprintf(message, sizeof(message),
             "matmul_packed_epilogue_f32: unknown activation %d",
             (int)activation);
    kiln::reportError(message);
    return;
  }
  int64_t biasSize = bias->sizes[0];
  if (biasSize != 0 && (biasSize != c->sizes[1] || bias->strides[0] != 1)) {
    char message[160];
    snprintf(message, sizeof(message),
             "matmul_packed_epilogue_f32: bias of %lld elements (stride %lld) "
             "for %lld output columns",
             (long long)biasSize, (long long)bias->strides[0],
             (long long)c->sizes[1]);
    kiln::reportError(message);
    return;
  }
  kiln::Epilogue epilogue{biasSize ? bias->aligned + bias->offset : nullptr,
                          activation};
  kiln::packedMatmulF32(*a, packed->aligned + packed->offset, packed->sizes[0],
                        *c, kiln::bestMatmulIsa(), epilogue);
}
