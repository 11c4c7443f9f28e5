//===- Bf16TilesAvx512.h - bf16 GEMM register tiles, AVX-512 ----*- C++ -*-===//
//
// The register-tiled bf16 GEMM of the AVX-512 variants (Bf16GemmKernels.h),
// compiled into each of their files: x86/Bf16GemmAvx512Bf16.cpp with
// NativeDot (vdpbf16ps) and x86/Bf16GemmAvx512.cpp without, for AVX-512
// CPUs that lack BF16.
//
// With NativeDot, one vdpbf16ps multiplies a pair of a row's activations,
// broadcast, by the pair of each of a panel's 16 columns and adds both
// products to the column's f32 accumulator: the packed layout
// (Bf16Packing.h) is the 64 bytes it reads. A tile is up to 8 rows x 3
// panels: 24 zmm accumulators, 3 for the panel pairs and 1 for the
// broadcast, and 24 independent vdpbf16ps per step to cover their latency.
//
// Without, each pair of weights becomes two f32 vectors (a bf16 value is
// the upper half of its f32: a shift and a mask) and each activation pair
// two broadcasts, multiplied and added by two FMAs; the products are exact
// and the sums f32, as with vdpbf16ps. A tile is up to 8 rows x 2 panels:
// 16 accumulators, 4 for the converted pairs, 2 for the broadcasts.
//
// Everything here is in an anonymous namespace so that each of those files
// gets its own copy, compiled for its flags.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_RUNTIME_KERNELS_X86_BF16TILESAVX512_H
#define KILN_RUNTIME_KERNELS_X86_BF16TILESAVX512_H

#include "kernels/Bf16GemmKernels.h"
#include "kernels/x86/TileStoreAvx512.h"

#include <immintrin.h>

namespace kiln::bf16 {
namespace {

constexpr int kPanel = 16;
constexpr int kMr = 8;
// Elements of each panel fetched ahead of use (1 KiB). A step reads one
// cache line per panel; a decode step (one row tile) otherwise waits on
// memory for each.
constexpr int64_t kPrefetchElements = 512;

// The pair (2g, 2g + 1) of a row as one dword, the first in the low half;
// with `half`, the last element alone (odd K: the packed weight's padding
// row is zero, and so is the activation put against it).
template <bool Contiguous>
__attribute__((always_inline)) inline uint32_t
pairOf(const uint16_t *row, int64_t sak, int64_t g, bool half) {
  uint32_t word;
  if (Contiguous && !half) {
    memcpy(&word, row + 2 * g, 4);
  } else {
    word = row[2 * g * sak];
    if (!half)
      word |= uint32_t(row[(2 * g + 1) * sak]) << 16;
  }
  return word;
}

// The f32 values of the first (low) and second (high) bf16 of each dword.
__attribute__((always_inline)) inline __m512 lowBf16(__m512i pairs) {
  return _mm512_castsi512_ps(_mm512_slli_epi32(pairs, 16));
}
__attribute__((always_inline)) inline __m512 highBf16(__m512i pairs) {
  return _mm512_castsi512_ps(
      _mm512_and_si512(pairs, _mm512_set1_epi32(int32_t(0xffff0000u))));
}

template <bool NativeDot, int Rows, int Panels, bool Contiguous>
__attribute__((always_inline)) inline void
step(const Bf16Problem &p, const uint16_t *a, const uint16_t *b, int64_t g,
     bool half, bool prefetch, __m512 (&acc)[Rows][Panels]) {
  __m512i bv[Panels];
#pragma clang loop unroll(full)
  for (int c = 0; c < Panels; ++c) {
    const uint16_t *src = b + c * p.panelStride + g * 32;
    if (prefetch)
      _mm_prefetch(reinterpret_cast<const char *>(src + kPrefetchElements),
                   _MM_HINT_T0);
    bv[c] = _mm512_loadu_si512(src);
  }
  if constexpr (NativeDot) {
#pragma clang loop unroll(full)
    for (int r = 0; r < Rows; ++r) {
      __m512i av = _mm512_set1_epi32(
          int32_t(pairOf<Contiguous>(a + r * p.sam, p.sak, g, half)));
#pragma clang loop unroll(full)
      for (int c = 0; c < Panels; ++c)
        acc[r][c] = _mm512_dpbf16_ps(acc[r][c], (__m512bh)av, (__m512bh)bv[c]);
    }
  } else {
    __m512 lo[Panels], hi[Panels];
#pragma clang loop unroll(full)
    for (int c = 0; c < Panels; ++c) {
      lo[c] = lowBf16(bv[c]);
      hi[c] = highBf16(bv[c]);
    }
#pragma clang loop unroll(full)
    for (int r = 0; r < Rows; ++r) {
      uint32_t word = pairOf<Contiguous>(a + r * p.sam, p.sak, g, half);
      __m512 a0 = _mm512_set1_ps(bf16ToF32(uint16_t(word)));
      __m512 a1 = _mm512_set1_ps(bf16ToF32(uint16_t(word >> 16)));
#pragma clang loop unroll(full)
      for (int c = 0; c < Panels; ++c) {
        acc[r][c] = _mm512_fmadd_ps(a0, lo[c], acc[r][c]);
        acc[r][c] = _mm512_fmadd_ps(a1, hi[c], acc[r][c]);
      }
    }
  }
}

// Rows x (Panels * 16) of c at row m, panel `panel`: the products, plus the
// bias, then the activation. The first tile under a panel group fetches it
// ahead; the others find it in cache.
template <bool NativeDot, int Rows, int Panels, bool Contiguous, bool Prefetch>
void tile(const Bf16Problem &p, int64_t m, int64_t panel) {
  __m512 acc[Rows][Panels];
#pragma clang loop unroll(full)
  for (int r = 0; r < Rows; ++r)
#pragma clang loop unroll(full)
    for (int c = 0; c < Panels; ++c)
      acc[r][c] = _mm512_setzero_ps();
  const uint16_t *a = p.a + m * p.sam;
  const uint16_t *b = p.panels + panel * p.panelStride;
  const int64_t pairs = p.k / 2;
  for (int64_t g = 0; g < pairs; ++g)
    step<NativeDot, Rows, Panels, Contiguous>(p, a, b, g, false, Prefetch, acc);
  if (p.k % 2)
    step<NativeDot, Rows, Panels, Contiguous>(p, a, b, pairs, true, false, acc);

  storeTile<Rows, Panels>(p, m, panel * kPanel, acc);
}

using TileFn = void (*)(const Bf16Problem &, int64_t, int64_t);

template <bool NativeDot, int Rows, bool Contiguous, bool Prefetch>
TileFn tileFor(int64_t panels) {
  switch (panels) {
  case 1:
    return tile<NativeDot, Rows, 1, Contiguous, Prefetch>;
  case 2:
    return tile<NativeDot, Rows, 2, Contiguous, Prefetch>;
  default:
    if constexpr (NativeDot)
      return tile<NativeDot, Rows, 3, Contiguous, Prefetch>;
    return tile<NativeDot, Rows, 2, Contiguous, Prefetch>;
  }
}

template <bool NativeDot, bool Contiguous, bool Prefetch>
TileFn tileFor(int64_t rows, int64_t panels) {
  switch (rows) {
  case 1:
    return tileFor<NativeDot, 1, Contiguous, Prefetch>(panels);
  case 2:
    return tileFor<NativeDot, 2, Contiguous, Prefetch>(panels);
  case 3:
    return tileFor<NativeDot, 3, Contiguous, Prefetch>(panels);
  case 4:
    return tileFor<NativeDot, 4, Contiguous, Prefetch>(panels);
  case 5:
    return tileFor<NativeDot, 5, Contiguous, Prefetch>(panels);
  case 6:
    return tileFor<NativeDot, 6, Contiguous, Prefetch>(panels);
  case 7:
    return tileFor<NativeDot, 7, Contiguous, Prefetch>(panels);
  default:
    return tileFor<NativeDot, 8, Contiguous, Prefetch>(panels);
  }
}

// Panels a tile's width at a time, the item's rows swept under each group:
// the group comes from memory once and from L1 or L2 for the other row
// tiles. A with a column stride other than 1 (never from the compiler) is
// read element by element.
template <bool NativeDot>
void gemmTiles(const Bf16Problem &p, int64_t m0, int64_t rows, int64_t first,
               int64_t last) {
  constexpr int64_t np = NativeDot ? 3 : 2;
  const bool contiguous = p.sak == 1;
  for (int64_t panel = first; panel < last; panel += np) {
    int64_t panels = last - panel < np ? last - panel : np;
    for (int64_t i = 0; i < rows; i += kMr) {
      int64_t tileRows = rows - i < kMr ? rows - i : kMr;
      TileFn fn = !contiguous
                      ? tileFor<NativeDot, false, true>(tileRows, panels)
                  : i == 0 ? tileFor<NativeDot, true, true>(tileRows, panels)
                           : tileFor<NativeDot, true, false>(tileRows, panels);
      fn(p, m0 + i, panel);
    }
  }
}

} // namespace
} // namespace kiln::bf16

#endif // KILN_RUNTIME_KERNELS_X86_BF16TILESAVX512_H
