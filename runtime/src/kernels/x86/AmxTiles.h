//===- AmxTiles.h - The AMX tile configuration of the GEMM kernels -*- C++
//-*-===//
//
// The bf16 (x86/Bf16GemmAmx.cpp) and int8 (x86/Int8GemmAmx.cpp) AMX kernels
// use the eight tiles alike: 16 rows of 64 bytes each, accumulators 0-3, A
// 4-5 and B 6-7. Included only by files compiled with -mamx-tile; in an
// anonymous namespace so that each gets its own copy.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_RUNTIME_KERNELS_X86_AMXTILES_H
#define KILN_RUNTIME_KERNELS_X86_AMXTILES_H

#include <immintrin.h>
#include <stdint.h>

namespace kiln::amx {
namespace {

constexpr int kTileRows = 16;

// ldtilecfg's 64-byte operand, palette 1.
struct alignas(64) TileConfig {
  uint8_t palette;
  uint8_t startRow;
  uint8_t reserved[14];
  uint16_t bytesPerRow[16];
  uint8_t rows[16];
};

// Every tile 16 rows of 64 bytes, but the tiles in the bit set `shortTiles`
// (bit t: tile t) of `shortRows` rows, so that a block of fewer rows reads
// and writes no row past them.
inline void configureTiles(unsigned shortTiles = 0, int shortRows = kTileRows) {
  TileConfig config{};
  config.palette = 1;
  for (int t = 0; t < 8; ++t) {
    config.rows[t] = (shortTiles >> t) & 1 ? uint8_t(shortRows) : kTileRows;
    config.bytesPerRow[t] = 64;
  }
  _tile_loadconfig(&config);
}

// Zeroes the accumulators of a block of RowTiles x ColTiles tiles (tile
// 2r + c for row tile r, column tile c).
template <int RowTiles, int ColTiles>
__attribute__((always_inline)) inline void zeroAccumulators() {
  _tile_zero(0);
  if constexpr (ColTiles == 2)
    _tile_zero(1);
  if constexpr (RowTiles == 2) {
    _tile_zero(2);
    if constexpr (ColTiles == 2)
      _tile_zero(3);
  }
}

// Returns the tile state to its initial one, which context switches then
// need not save.
inline void releaseTiles() { _tile_release(); }

} // namespace
} // namespace kiln::amx

#endif // KILN_RUNTIME_KERNELS_X86_AMXTILES_H
