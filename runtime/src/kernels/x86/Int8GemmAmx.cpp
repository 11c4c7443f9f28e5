//===- Int8GemmAmx.cpp - int8 GEMM kernel for AMX-INT8 --------------------===//
//
// The gemm of kInt8Amx (Int8GemmKernels.h). Compiled with the AVX-512 VNNI
// flags and -mamx-tile -mamx-int8 (runtime/CMakeLists.txt); the driver calls
// it only on CPUs that have them and in processes that Linux let use AMX
// (CpuFeatures.h).
//
// One tdpbusd multiplies a 16 x 64 tile of uint8 activations by a 64 x 16
// tile of int8 weights into a 16 x 16 tile of int32 sums: 16 times the work
// of a vpdpbusd. The packed weight (Int8Packing.h) puts 16 groups of 4 k of
// a panel in 1 KiB in a row, which is a B tile with a stride of 64 bytes,
// and the quantized rows (the VNNI variant's) are an A tile `lda` apart. A
// block is 32 rows x 2 panels: 4 accumulator tiles, 2 for A and 2 for B,
// all 8 tiles; each loaded A or B tile serves two products.
//
// AMX takes K in steps of 64, so it takes padded K of a multiple of 64
// (every transformer's hidden sizes), and rows in tiles of 16: other shapes,
// and the rows past the last multiple of 16 (decode steps among them), go to
// the VNNI kernel, which streams the weights as fast for a few rows.
//
//===----------------------------------------------------------------------===//

#include "kernels/Int8GemmKernels.h"
#include "kernels/Int8Packing.h"
#include "kernels/x86/ActivationAvx512.h"
#include "kernels/x86/AmxTiles.h"

#include <immintrin.h>

namespace kiln::int8 {

namespace {

using amx::kTileRows;
constexpr int kTileCols = 16; // int32 columns of an accumulator tile
constexpr int64_t kTileK = 64;
// How far ahead in K the B tiles are fetched.
constexpr int64_t kPrefetchK = 2 * kTileK;

__mmask16 columnMask(int64_t cols) {
  return cols >= kTileCols ? __mmask16(0xffff)
                           : __mmask16((1u << (cols > 0 ? cols : 0)) - 1);
}

// What the epilogue of one accumulator tile needs: rows cRow .. cRow + 16
// of c (qRow .. of the quantized rows), columns n0 .. n0 + 16:
// c = act((acc - zp * colsum) * (sa * sw) + bias), the product as the VNNI
// kernel computes it, so both give the same floats before the activation.
struct TileEpilogue {
  __m512i sums, zpSums;
  __m512 scale, bias;
  int64_t qRow, cRow, n0, cols;
  int32_t zero;
  __mmask16 mask;
};

__attribute__((always_inline)) inline TileEpilogue
tileEpilogue(const QLinearProblem &p, const QuantizedRows &q, int64_t qRow,
             int64_t cRow, int64_t n0) {
  TileEpilogue t;
  t.qRow = qRow;
  t.cRow = cRow;
  t.n0 = n0;
  t.cols = p.n - n0 < kTileCols ? p.n - n0 : kTileCols;
  t.mask = columnMask(t.cols);
  t.sums = _mm512_loadu_si512(p.colSums + 4 * n0);
  t.scale = _mm512_maskz_loadu_ps(t.mask, p.scales + n0);
  t.bias =
      p.bias ? _mm512_maskz_loadu_ps(t.mask, p.bias + n0) : _mm512_setzero_ps();
  // Every row of a call has the same zero point (128 per row, or the
  // tensor's), so zp * colsum is computed again only when it changes.
  t.zero = q.zero[qRow];
  t.zpSums = _mm512_mullo_epi32(_mm512_set1_epi32(t.zero), t.sums);
  return t;
}

// Rows r0 .. r1 of a tile's stored accumulators `acc` into c.
template <int32_t Act>
__attribute__((always_inline)) inline void
finishTileRows(const QLinearProblem &p, const QuantizedRows &q, TileEpilogue &t,
               const int32_t *acc, int r0, int r1) {
  for (int r = r0; r < r1; ++r) {
    if (q.zero[t.qRow + r] != t.zero) {
      t.zero = q.zero[t.qRow + r];
      t.zpSums = _mm512_mullo_epi32(_mm512_set1_epi32(t.zero), t.sums);
    }
    __m512 sa = _mm512_set1_ps(q.scale[t.qRow + r]);
    __m512i exact =
        _mm512_sub_epi32(_mm512_load_si512(acc + r * kTileCols), t.zpSums);
    __m512 v =
        _mm512_mul_ps(_mm512_cvtepi32_ps(exact), _mm512_mul_ps(sa, t.scale));
    if (p.bias)
      v = _mm512_add_ps(v, t.bias);
    v = avx512::activateLanes<Act>(v);
    float *row = p.c + (t.cRow + r) * p.scm + t.n0 * p.scn;
    if (p.scn == 1) {
      _mm512_mask_storeu_ps(row, t.mask, v);
      continue;
    }
    alignas(64) float tmp[kTileCols];
    _mm512_store_ps(tmp, v);
    for (int64_t j = 0; j < t.cols; ++j)
      row[j * p.scn] = tmp[j];
  }
}

// Accumulator tile T's epilogue, right after its products.
template <int T, int32_t Act>
__attribute__((always_inline)) inline void
storeTile(const QLinearProblem &p, const QuantizedRows &q, int64_t qRow,
          int64_t cRow, int64_t n0) {
  alignas(64) int32_t acc[kTileRows * kTileCols];
  _tile_stored(T, acc, kTileCols * int64_t(sizeof(int32_t)));
  TileEpilogue t = tileEpilogue(p, q, qRow, cRow, n0);
  finishTileRows<Act>(p, q, t, acc, 0, kTileRows);
}

// With a costly activation, a block's epilogue runs a few rows at a time
// between the next block's K steps: the vector units then finish one block
// while the tile unit multiplies the next. A 32 x 32 block's GELU-tanh
// takes longer than its products at K = 768 (kiln_int8_gemm_bench, GPT-2's
// 512 x 768 x 3072: 1070 -> 770-800 us). Without an activation, or with
// ReLU, the rows between the tile instructions cost more than they hide,
// and each block finishes its own epilogue tile by tile (storeTile):
// storing all four tiles first and finishing them from PendingBlock was
// 3-15% slower there (512 x 768 x 2304 and x 768, three interleaved
// rounds).
template <int32_t Act>
constexpr bool kPipelinedEpilogue =
    Act == KILN_RT_ACT_GELU || Act == KILN_RT_ACT_GELU_TANH ||
    Act == KILN_RT_ACT_SILU;

struct PendingTile {
  alignas(64) int32_t acc[kTileRows * kTileCols];
  TileEpilogue epilogue;
};

// The tiles of the last block whose epilogue is not finished.
struct PendingBlock {
  PendingTile tiles[4];
  int count = 0; // tiles pending
  int next = 0;  // rows of them finished, tile by tile
};

template <int T>
__attribute__((always_inline)) inline void
pendTile(const QLinearProblem &p, const QuantizedRows &q, PendingBlock &pd,
         int64_t qRow, int64_t cRow, int64_t n0) {
  PendingTile &t = pd.tiles[pd.count++];
  _tile_stored(T, t.acc, kTileCols * int64_t(sizeof(int32_t)));
  t.epilogue = tileEpilogue(p, q, qRow, cRow, n0);
}

// Finishes up to `rows` more rows of the pending tiles.
template <int32_t Act>
__attribute__((always_inline)) inline void
finishRows(const QLinearProblem &p, const QuantizedRows &q, PendingBlock &pd,
           int rows) {
  const int end = pd.next + rows < pd.count * kTileRows ? pd.next + rows
                                                        : pd.count * kTileRows;
  while (pd.next < end) {
    PendingTile &t = pd.tiles[pd.next / kTileRows];
    const int r0 = pd.next % kTileRows;
    const int r1 =
        r0 + (end - pd.next) < kTileRows ? r0 + (end - pd.next) : kTileRows;
    finishTileRows<Act>(p, q, t.epilogue, t.acc, r0, r1);
    pd.next += r1 - r0;
  }
}

// RowTiles * 16 rows (q's rows from row0, c's from m) x ColTiles panels from
// `panel`, activated in registers (ActivationAvx512.h). With a costly
// activation, the pending block's epilogue is finished between the K steps
// and this block's tiles are left pending in its place.
// Tiles: 0-3 accumulators (row tile r, column tile c: 2r + c), 4-5 A, 6-7 B.
template <int RowTiles, int ColTiles, int32_t Act>
void blockAmx(const QLinearProblem &p, const QuantizedRows &q, int64_t row0,
              int64_t m, int64_t panel, PendingBlock &pd) {
  amx::zeroAccumulators<RowTiles, ColTiles>();
  const uint8_t *a = q.data + row0 * q.lda;
  const int8_t *b = p.panels + panel * p.panelStride;
  const int64_t steps = p.kp / kTileK;
  const int perStep = int((pd.count * kTileRows - pd.next + steps - 1) / steps);
  for (int64_t k0 = 0; k0 < p.kp; k0 += kTileK) {
    // Group k0 / 4 of a panel starts at byte (k0 / 4) * 64.
    // The first row block under a panel pair reads it from memory; a tile
    // load waits for all 16 of its lines (2-3% of BERT-base int8).
    if (k0 + kPrefetchK < p.kp) {
      const char *next = (const char *)(b + (k0 + kPrefetchK) * 16);
      for (int l = 0; l < 16; ++l) {
        _mm_prefetch(next + 64 * l, _MM_HINT_T0);
        if constexpr (ColTiles == 2)
          _mm_prefetch(next + p.panelStride + 64 * l, _MM_HINT_T0);
      }
    }
    // B with the streaming hint: each B tile serves one block's products,
    // and a panel pair's 24 KB (K = 768) would push the row block's A out
    // of L1 (kiln_int8_gemm_bench 2 prefill: 512 x 768 x 2304 454-458 ->
    // 441-447 us).
    _tile_loadd(4, a + k0, q.lda);
    _tile_stream_loadd(6, b + k0 * 16, 64);
    _tile_dpbusd(0, 4, 6);
    if constexpr (ColTiles == 2) {
      _tile_stream_loadd(7, b + p.panelStride + k0 * 16, 64);
      _tile_dpbusd(1, 4, 7);
    }
    if constexpr (RowTiles == 2) {
      _tile_loadd(5, a + kTileRows * q.lda + k0, q.lda);
      _tile_dpbusd(2, 5, 6);
      if constexpr (ColTiles == 2)
        _tile_dpbusd(3, 5, 7);
    }
    if constexpr (kPipelinedEpilogue<Act>)
      finishRows<Act>(p, q, pd, perStep);
  }
  const int64_t n0 = panel * kInt8Panel;
  if constexpr (!kPipelinedEpilogue<Act>) {
    storeTile<0, Act>(p, q, row0, m, n0);
    if constexpr (ColTiles == 2)
      storeTile<1, Act>(p, q, row0, m, n0 + kTileCols);
    if constexpr (RowTiles == 2) {
      storeTile<2, Act>(p, q, row0 + kTileRows, m + kTileRows, n0);
      if constexpr (ColTiles == 2)
        storeTile<3, Act>(p, q, row0 + kTileRows, m + kTileRows,
                          n0 + kTileCols);
    }
    return;
  }
  finishRows<Act>(p, q, pd, 4 * kTileRows);
  pd.count = pd.next = 0;
  pendTile<0>(p, q, pd, row0, m, n0);
  if constexpr (ColTiles == 2)
    pendTile<1>(p, q, pd, row0, m, n0 + kTileCols);
  if constexpr (RowTiles == 2) {
    pendTile<2>(p, q, pd, row0 + kTileRows, m + kTileRows, n0);
    if constexpr (ColTiles == 2)
      pendTile<3>(p, q, pd, row0 + kTileRows, m + kTileRows, n0 + kTileCols);
  }
}

template <int32_t Act>
void blocksAmx(const QLinearProblem &p, const QuantizedRows &q, int64_t m0,
               int64_t full, int64_t first, int64_t last) {
  PendingBlock pd;
  int64_t i = 0;
  for (; i + 2 * kTileRows <= full; i += 2 * kTileRows)
    for (int64_t panel = first; panel < last; panel += 2)
      last - panel >= 2 ? blockAmx<2, 2, Act>(p, q, i, m0 + i, panel, pd)
                        : blockAmx<2, 1, Act>(p, q, i, m0 + i, panel, pd);
  if (i < full)
    for (int64_t panel = first; panel < last; panel += 2)
      last - panel >= 2 ? blockAmx<1, 2, Act>(p, q, i, m0 + i, panel, pd)
                        : blockAmx<1, 1, Act>(p, q, i, m0 + i, panel, pd);
  finishRows<Act>(p, q, pd, 4 * kTileRows);
}

} // namespace

// Blocks of 32 rows, each swept over the item's panels two at a time: the
// block's quantized rows stay in L1 (at K = 768) while the panels stream
// from L2, which their sequential 1 KiB tiles and the prefetches serve
// better than the A tiles' 16 rows `lda` apart (BERT-base int8 at batch 8:
// 10% faster than panels outside and row blocks inside). Every tile is 16 rows
// of 64 bytes: A (16 rows x 64 k), B (16 groups of 4 k x 16 columns) and the
// accumulators (16 x 16 int32) alike, configured here and released before the
// rows past the last full tile go to the VNNI kernel, so that calls AMX takes
// no part of (decode steps) never touch the tile state.
void gemmAmxInt8(const QLinearProblem &p, const QuantizedRows &q, int64_t m0,
                 int64_t rows, int64_t first, int64_t last) {
  const int64_t full = rows / kTileRows * kTileRows;
  if (p.kp % kTileK != 0 || full == 0) {
    gemmAvx512Vnni(p, q, m0, rows, first, last);
    return;
  }
  amx::configureTiles();
  switch (p.activationFn ? p.activation.activation : KILN_RT_ACT_NONE) {
  case KILN_RT_ACT_RELU:
    blocksAmx<KILN_RT_ACT_RELU>(p, q, m0, full, first, last);
    break;
  case KILN_RT_ACT_GELU:
    blocksAmx<KILN_RT_ACT_GELU>(p, q, m0, full, first, last);
    break;
  case KILN_RT_ACT_GELU_TANH:
    blocksAmx<KILN_RT_ACT_GELU_TANH>(p, q, m0, full, first, last);
    break;
  case KILN_RT_ACT_SILU:
    blocksAmx<KILN_RT_ACT_SILU>(p, q, m0, full, first, last);
    break;
  default:
    blocksAmx<KILN_RT_ACT_NONE>(p, q, m0, full, first, last);
    break;
  }
  amx::releaseTiles();
  if (full < rows) {
    QuantizedRows tail{q.data + full * q.lda, q.lda, q.scale + full,
                       q.zero + full};
    gemmAvx512Vnni(p, tail, m0 + full, rows - full, first, last);
  }
}

} // namespace kiln::int8
