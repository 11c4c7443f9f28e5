//===- Bf16GemmAmx.cpp - bf16 GEMM kernel for AMX-BF16 --------------------===//
//
// The kernel of kBf16Amx (Bf16GemmKernels.h). Compiled with the AVX-512 BF16
// flags and -mamx-tile -mamx-bf16 (runtime/CMakeLists.txt); the driver calls
// it only on CPUs that have them and in processes that Linux let use AMX
// (CpuFeatures.h).
//
// One tdpbf16ps multiplies a 16 x 32 tile of A by a 32 x 16 tile of B into
// a 16 x 16 tile of f32 sums. The packed weight (Bf16Packing.h) is laid out
// so that each B tile is 1 KiB in a row, and A is read in place (16 rows
// `lda` apart). A block is 32 rows x 2 panels: 4 accumulator tiles, 2 for
// A and 2 for B, all 8 tiles; each loaded A or B tile serves two products.
//
// AMX reads A in tiles of 32 columns, so it takes only A with contiguous
// rows of a multiple of 32 elements (every transformer's hidden sizes);
// other shapes go to the AVX-512 BF16 kernel. Rows past the last multiple
// of 16 (and decode steps of fewer than 16) take a tile configuration of
// fewer rows, so that no tile reads or writes past them. A single row goes
// to the AVX-512 BF16 kernel too.
//
//===----------------------------------------------------------------------===//

#include "kernels/Bf16GemmKernels.h"
#include "kernels/x86/AmxTiles.h"

#include <immintrin.h>

namespace kiln::bf16 {

namespace {

using amx::kTileRows;
constexpr int kTileCols = 16; // f32 columns of an accumulator tile
// A single row (a decode step) streams the weights faster through
// vdpbf16ps: measured on GPT-2's MLP up (768 x 3072, weights in cache, 2
// threads), 1 row 0.052-0.062 ms there against 0.069-0.076 ms in AMX; 2
// rows are even, 4 rows 0.077-0.092 against 0.093, 8 rows 0.08 against 0.17.
constexpr int64_t kAmxMinRows = 2;

// Every tile 16 rows of 64 bytes: A (16 x 32 bf16), B (16 pairs x 16
// columns) and the accumulators (16 x 16 f32) alike; or, for a block of
// fewer rows, tiles 0, 1 (accumulators) and 4 (A) of `rows` rows only.
void configureTiles(int rows) { amx::configureTiles(0b10011u, rows); }

void enterAmx() { configureTiles(kTileRows); }

void leaveAmx() { amx::releaseTiles(); }

// Accumulator tile T (its `rows` rows at row m, columns n0..) to c:
// straight to c where it has all 16 columns in a row, through a buffer
// otherwise.
template <int T>
__attribute__((always_inline)) inline void
storeTile(const Bf16Problem &p, int64_t m, int64_t rows, int64_t n0) {
  float *c = p.c + m * p.scm + n0 * p.scn;
  int64_t cols = p.n - n0 < kTileCols ? p.n - n0 : kTileCols;
  if (cols == kTileCols && p.scn == 1) {
    _tile_stored(T, c, p.scm * int64_t(sizeof(float)));
    return;
  }
  alignas(64) float tmp[kTileRows * kTileCols];
  _tile_stored(T, tmp, kTileCols * int64_t(sizeof(float)));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < cols; ++j)
      c[r * p.scm + j * p.scn] = tmp[r * kTileCols + j];
}

// RowTiles * 16 rows (`rows`, fewer with one row tile of fewer rows
// configured) x ColTiles panels of c at row m, panel `panel`: the products,
// then bias and activation on the stored block, still in L1.
// Tiles: 0-3 accumulators (row tile r, column tile q: 2r + q), 4-5 A, 6-7
// B. Each step also fetches `aheadLines` cache lines from `ahead` into L2,
// up to `aheadEnd`.
template <int RowTiles, int ColTiles>
void blockAmx(const Bf16Problem &p, int64_t m, int64_t rows, int64_t panel,
              const char *ahead, const char *aheadEnd, int64_t aheadLines) {
  amx::zeroAccumulators<RowTiles, ColTiles>();
  const uint16_t *a = p.a + m * p.sam;
  const int64_t lda = p.sam * int64_t(sizeof(uint16_t));
  const uint16_t *b = p.panels + panel * p.panelStride;
  for (int64_t k0 = 0; k0 < p.kp; k0 += 32) {
    // Pair row k0 / 2 of a panel starts at element (k0 / 2) * 32.
    _tile_loadd(4, a + k0, lda);
    _tile_loadd(6, b + k0 * 16, 64);
    if constexpr (ColTiles == 2)
      _tile_loadd(7, b + p.panelStride + k0 * 16, 64);
    if constexpr (RowTiles == 2)
      _tile_loadd(5, a + kTileRows * p.sam + k0, lda);
    for (int64_t line = 0; line < aheadLines && ahead < aheadEnd;
         ++line, ahead += 64)
      _mm_prefetch(ahead, _MM_HINT_T1);
    _tile_dpbf16ps(0, 4, 6);
    if constexpr (ColTiles == 2)
      _tile_dpbf16ps(1, 4, 7);
    if constexpr (RowTiles == 2) {
      _tile_dpbf16ps(2, 5, 6);
      if constexpr (ColTiles == 2)
        _tile_dpbf16ps(3, 5, 7);
    }
  }
  const int64_t n0 = panel * kTileCols;
  const int64_t rows0 = rows < kTileRows ? rows : kTileRows;
  storeTile<0>(p, m, rows0, n0);
  if constexpr (ColTiles == 2)
    storeTile<1>(p, m, rows0, n0 + kTileCols);
  if constexpr (RowTiles == 2) {
    storeTile<2>(p, m + kTileRows, kTileRows, n0);
    if constexpr (ColTiles == 2)
      storeTile<3>(p, m + kTileRows, kTileRows, n0 + kTileCols);
  }
  if (p.epilogueFn) {
    int64_t cols =
        p.n - n0 < ColTiles * kTileCols ? p.n - n0 : ColTiles * kTileCols;
    p.epilogueFn(p.epilogue, p.c + m * p.scm + n0 * p.scn, rows, cols, p.scm,
                 p.scn, n0);
  }
}

// Two panels at a time, the item's rows swept under them in blocks of 32:
// the panels come from memory once and from L1 or L2 for the other blocks.
// The last rows, fewer than 16, take a tile configuration of their own
// under the same two panels, and the full one back for the next two.
void gemmAmx(const Bf16Problem &p, int64_t m0, int64_t rows, int64_t first,
             int64_t last) {
  if (p.sak != 1 || p.k % 32 != 0 || rows < kAmxMinRows) {
    gemmAvx512Bf16(p, m0, rows, first, last);
    return;
  }
  const int64_t full = rows / kTileRows * kTileRows, tail = rows - full;
  const int64_t steps =
      p.kp / 32 * ((rows + 2 * kTileRows - 1) / (2 * kTileRows));
  bool tailConfigured = false;
  for (int64_t panel = first; panel < last; panel += 2) {
    const bool two = last - panel >= 2;
    // The next two panels, fetched into L2 a few lines per step while these
    // two are multiplied: the hardware prefetcher alone leaves the first
    // row block waiting on memory (measured: GPT-2's LM head, 768 x 50257
    // at 128 rows, 12.1 ms without, 8.4 ms with, on 2 threads).
    int64_t next = last - panel - 2 < 2 ? last - panel - 2 : 2;
    next = next > 0 ? next : 0;
    const char *ahead =
        reinterpret_cast<const char *>(p.panels + (panel + 2) * p.panelStride);
    const char *aheadEnd =
        ahead + next * p.panelStride * int64_t(sizeof(uint16_t));
    const int64_t perStep =
        steps ? ((aheadEnd - ahead) / 64 + steps - 1) / steps : 0;
    auto block = [&](auto fn, int64_t i, int64_t blockRows) {
      fn(p, m0 + i, blockRows, panel, ahead, aheadEnd, perStep);
      ahead += perStep * (p.kp / 32) * 64;
    };
    if (full && tailConfigured) {
      configureTiles(kTileRows);
      tailConfigured = false;
    }
    int64_t i = 0;
    for (; i + 2 * kTileRows <= full; i += 2 * kTileRows)
      two ? block(blockAmx<2, 2>, i, 2 * kTileRows)
          : block(blockAmx<2, 1>, i, 2 * kTileRows);
    if (i < full)
      two ? block(blockAmx<1, 2>, i, kTileRows)
          : block(blockAmx<1, 1>, i, kTileRows);
    if (tail) {
      if (!tailConfigured) {
        configureTiles(int(tail));
        tailConfigured = true;
      }
      two ? block(blockAmx<1, 2>, full, tail)
          : block(blockAmx<1, 1>, full, tail);
    }
  }
  // The next call starts from the full configuration, as enterAmx left it.
  if (tailConfigured)
    configureTiles(kTileRows);
}

} // namespace

const Bf16Kernels kBf16Amx = {gemmAmx, enterAmx, leaveAmx};

} // namespace kiln::bf16
