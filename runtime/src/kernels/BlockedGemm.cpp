//===- BlockedGemm.cpp - Packed, cache-blocked fp32 GEMM ------------------===//
//
// Goto/BLIS-style blocking: C is cut into MC x NC blocks (the parallel work
// items, together with the batch), K into KC slices. For each slice the block's
// columns of B are packed into NR-wide panels (weights are packed at compile
// time), and rows of A into MR-wide panels unless K is contiguous, when full
// tiles read A's rows in place. KC x NR of B (32 KiB for AVX-512) stays in L1
// while the MC x KC block of A streams from L2; MC = 128 rows keeps a
// 128-token prefill in one block, so each B panel comes from memory once.
// Products of at most 4 rows (decode steps) skip packing and stream B
// instead (see RowStreaming.h).
//
//===----------------------------------------------------------------------===//

#include "kernels/GemmProblem.h"

#include <atomic>
#include <stdlib.h>
#include <string.h>

namespace kiln::gemm {

namespace {

constexpr int64_t kKc = 256;
constexpr int64_t kMcTiles = 16; // MC = 16 * MR
constexpr int64_t kNcTiles = 16; // NC = 16 * NR

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
      packB(b + k0 * p.b.strides[1], p.b.strides[1], p.b.strides[2], kc, nc, nr,
            packedB);
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

// Unblocked fallback for when no scratch memory can be had.
void naiveBlock(const Problem &p) {
  for (int64_t i = 0; i < p.batch; ++i) {
    const float *a = p.a.base + (p.a.sizes[0] == 1 ? 0 : i * p.a.strides[0]);
    const float *b = p.b.base + (p.b.sizes[0] == 1 ? 0 : i * p.b.strides[0]);
    float *c = const_cast<float *>(p.c.base) + i * p.c.strides[0];
    for (int64_t m = 0; m < p.m; ++m)
      for (int64_t n = 0; n < p.n; ++n) {
        float sum = 0;
        // A pre-packed B holds column n in panel n / kPackedPanel.
        const float *bn =
            p.packedB ? p.packedB + (n / kPackedPanel) * p.k * kPackedPanel +
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

} // namespace

const MatmulMicrokernel &kernelFor(MatmulIsa isa) {
  switch (isa) {
  case MatmulIsa::Avx512:
    return kMatmulAvx512;
  case MatmulIsa::Avx2:
    return kMatmulAvx2;
  case MatmulIsa::Neon:
    return kMatmulNeon;
  case MatmulIsa::Generic:
    break;
  }
  return kMatmulGeneric;
}

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

} // namespace kiln::gemm
