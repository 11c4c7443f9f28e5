//===- Bf16GemmAvx512.cpp - bf16 GEMM kernel for AVX-512 BF16 -------------===//
//
// The kernel of kBf16Avx512 (Bf16GemmKernels.h). Compiled with -mavx512f
// -mavx512bw -mavx512vl -mavx512bf16 (runtime/CMakeLists.txt); the driver
// calls it only on CPUs that have all four (CpuFeatures.h).
//
// One vdpbf16ps multiplies a pair of a row's activations, broadcast, by the
// pair of each of a panel's 16 columns and adds both products to the
// column's f32 accumulator: the packed layout (Bf16Packing.h) is the 64
// bytes it reads. A tile is up to 8 rows x 3 panels: 24 zmm accumulators,
// 3 for the panel pairs and 1 for the broadcast, and 24 independent
// vdpbf16ps per step to cover their latency.
//
//===----------------------------------------------------------------------===//

#include "kernels/Bf16GemmKernels.h"

#include <immintrin.h>

namespace kiln::bf16 {

namespace {

constexpr int kPanel = 16;
constexpr int kMr = 8;
constexpr int kNp = 3;
// Elements of each panel fetched ahead of use (1 KiB). A step reads one
// cache line per panel; a decode step (one row tile) otherwise waits on
// memory for each.
constexpr int64_t kPrefetchElements = 512;

__mmask16 columnMask(int64_t cols) {
  return cols >= kPanel ? __mmask16(0xffff)
                        : __mmask16((1u << (cols > 0 ? cols : 0)) - 1);
}

// The pair (2g, 2g + 1) of a row as one dword, the first in the low half;
// with `half`, the last element alone (odd K: the packed weight's padding
// row is zero, and so is the activation put against it).
template <bool Contiguous>
__attribute__((always_inline)) inline __m512bh
pairOf(const uint16_t *row, int64_t sak, int64_t g, bool half) {
  uint32_t word;
  if (Contiguous && !half) {
    memcpy(&word, row + 2 * g, 4);
  } else {
    word = row[2 * g * sak];
    if (!half)
      word |= uint32_t(row[(2 * g + 1) * sak]) << 16;
  }
  return (__m512bh)_mm512_set1_epi32(int32_t(word));
}

template <int Rows, int Panels, bool Contiguous>
__attribute__((always_inline)) inline void
step(const Bf16Problem &p, const uint16_t *a, const uint16_t *b, int64_t g,
     bool half, bool prefetch, __m512 (&acc)[Rows][Panels]) {
  __m512bh bv[Panels];
#pragma clang loop unroll(full)
  for (int c = 0; c < Panels; ++c) {
    const uint16_t *src = b + c * p.panelStride + g * 32;
    if (prefetch)
      _mm_prefetch(reinterpret_cast<const char *>(src + kPrefetchElements),
                   _MM_HINT_T0);
    bv[c] = (__m512bh)_mm512_loadu_si512(src);
  }
#pragma clang loop unroll(full)
  for (int r = 0; r < Rows; ++r) {
    __m512bh av = pairOf<Contiguous>(a + r * p.sam, p.sak, g, half);
#pragma clang loop unroll(full)
    for (int c = 0; c < Panels; ++c)
      acc[r][c] = _mm512_dpbf16_ps(acc[r][c], av, bv[c]);
  }
}

// Rows x (Panels * 16) of c at row m, panel `panel`: the products, plus the
// bias, then the activation. The first tile under a panel group fetches it
// ahead; the others find it in cache.
template <int Rows, int Panels, bool Contiguous, bool Prefetch>
void tileBf16(const Bf16Problem &p, int64_t m, int64_t panel) {
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
    step<Rows, Panels, Contiguous>(p, a, b, g, false, Prefetch, acc);
  if (p.k % 2)
    step<Rows, Panels, Contiguous>(p, a, b, pairs, true, false, acc);

  const int64_t n0 = panel * kPanel;
  const int64_t cols = p.n - n0 < Panels * kPanel ? p.n - n0 : Panels * kPanel;
  __mmask16 mask[Panels];
  __m512 bias[Panels];
#pragma clang loop unroll(full)
  for (int c = 0; c < Panels; ++c) {
    mask[c] = columnMask(cols - kPanel * c);
    bias[c] = p.bias ? _mm512_maskz_loadu_ps(mask[c], p.bias + n0 + kPanel * c)
                     : _mm512_setzero_ps();
  }
#pragma clang loop unroll(full)
  for (int r = 0; r < Rows; ++r) {
    float *row = p.c + (m + r) * p.scm + n0 * p.scn;
    if (p.scn == 1) {
#pragma clang loop unroll(full)
      for (int c = 0; c < Panels; ++c)
        _mm512_mask_storeu_ps(row + kPanel * c, mask[c],
                              _mm512_add_ps(acc[r][c], bias[c]));
      continue;
    }
    alignas(64) float tmp[Panels * kPanel];
#pragma clang loop unroll(full)
    for (int c = 0; c < Panels; ++c)
      _mm512_store_ps(tmp + kPanel * c, _mm512_add_ps(acc[r][c], bias[c]));
    for (int64_t j = 0; j < cols; ++j)
      row[j * p.scn] = tmp[j];
  }
  if (p.activationFn)
    p.activationFn(p.activation, p.c + m * p.scm + n0 * p.scn, Rows, cols,
                   p.scm, p.scn, n0);
}

using TileFn = void (*)(const Bf16Problem &, int64_t, int64_t);

template <int Rows, bool Contiguous, bool Prefetch>
TileFn tileFor(int64_t panels) {
  switch (panels) {
  case 1:
    return tileBf16<Rows, 1, Contiguous, Prefetch>;
  case 2:
    return tileBf16<Rows, 2, Contiguous, Prefetch>;
  default:
    return tileBf16<Rows, 3, Contiguous, Prefetch>;
  }
}

template <bool Contiguous, bool Prefetch>
TileFn tileFor(int64_t rows, int64_t panels) {
  switch (rows) {
  case 1:
    return tileFor<1, Contiguous, Prefetch>(panels);
  case 2:
    return tileFor<2, Contiguous, Prefetch>(panels);
  case 3:
    return tileFor<3, Contiguous, Prefetch>(panels);
  case 4:
    return tileFor<4, Contiguous, Prefetch>(panels);
  case 5:
    return tileFor<5, Contiguous, Prefetch>(panels);
  case 6:
    return tileFor<6, Contiguous, Prefetch>(panels);
  case 7:
    return tileFor<7, Contiguous, Prefetch>(panels);
  default:
    return tileFor<8, Contiguous, Prefetch>(panels);
  }
}

} // namespace

// Panels kNp at a time, the item's rows swept under each group: the group
// comes from memory once and from L1 or L2 for the other row tiles. A with
// a column stride other than 1 (never from the compiler) is read element
// by element.
void gemmAvx512Bf16(const Bf16Problem &p, int64_t m0, int64_t rows,
                    int64_t first, int64_t last) {
  const bool contiguous = p.sak == 1;
  for (int64_t panel = first; panel < last; panel += kNp) {
    int64_t np = last - panel < kNp ? last - panel : kNp;
    for (int64_t i = 0; i < rows; i += kMr) {
      int64_t tileRows = rows - i < kMr ? rows - i : kMr;
      TileFn fn = !contiguous ? tileFor<false, true>(tileRows, np)
                  : i == 0    ? tileFor<true, true>(tileRows, np)
                              : tileFor<true, false>(tileRows, np);
      fn(p, m0 + i, panel);
    }
  }
}

const Bf16Kernels kBf16Avx512 = {gemmAvx512Bf16, nullptr, nullptr};

} // namespace kiln::bf16
