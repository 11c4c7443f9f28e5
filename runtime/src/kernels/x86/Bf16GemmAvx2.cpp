//===- Bf16GemmAvx2.cpp - bf16 GEMM kernel for AVX2 with FMA --------------===//
//
// The kernel of kBf16Avx2 (Bf16GemmKernels.h), for x86-64 CPUs with AVX2 and
// FMA but no AVX-512 (Haswell to Alder Lake, Zen 1-3): each pair of packed
// weights (Bf16Packing.h: a dword per column, the first row in the low
// half) becomes two f32 vectors by a shift and a mask, each activation pair
// two broadcasts, and two FMAs add the exact products to f32 sums, as the
// AVX-512 variant without BF16 does (x86/Bf16TilesAvx512.h) on half the
// width. A tile is up to 4 rows x one panel (16 columns, two ymm): 8
// accumulators, 4 converted weight vectors, 2 broadcasts. Compiled with
// -mavx2 -mfma (runtime/CMakeLists.txt); the driver calls it only on CPUs
// that have both (CpuFeatures.h).
//
//===----------------------------------------------------------------------===//

#include "kernels/Bf16GemmKernels.h"

#include <immintrin.h>

namespace kiln::bf16 {

namespace {

constexpr int kPanel = 16;
constexpr int kMr = 4;
// Elements of the panel fetched ahead of use (1 KiB): a decode step (one
// row tile) otherwise waits on memory at each pair of rows.
constexpr int64_t kPrefetchElements = 512;

// The pair (2g, 2g + 1) of a row as one dword, the first in the low half;
// with `half`, the last element alone (odd K: the packed weight's padding
// row is zero, and so is the activation put against it).
__attribute__((always_inline)) inline uint32_t
pairOf(const uint16_t *row, int64_t sak, int64_t g, bool half) {
  uint32_t word = row[2 * g * sak];
  if (!half)
    word |= uint32_t(row[(2 * g + 1) * sak]) << 16;
  return word;
}

template <int Rows>
__attribute__((always_inline)) inline void
step(const Bf16Problem &p, const uint16_t *a, const uint16_t *b, int64_t g,
     bool half, bool prefetch, __m256 (&acc)[Rows][2]) {
  const uint16_t *src = b + g * 32;
  if (prefetch)
    _mm_prefetch(reinterpret_cast<const char *>(src + kPrefetchElements),
                 _MM_HINT_T0);
  const __m256i highMask = _mm256_set1_epi32(int32_t(0xffff0000u));
  __m256 lo[2], hi[2];
#pragma clang loop unroll(full)
  for (int h = 0; h < 2; ++h) {
    __m256i pairs =
        _mm256_loadu_si256(reinterpret_cast<const __m256i *>(src + h * kPanel));
    lo[h] = _mm256_castsi256_ps(_mm256_slli_epi32(pairs, 16));
    hi[h] = _mm256_castsi256_ps(_mm256_and_si256(pairs, highMask));
  }
#pragma clang loop unroll(full)
  for (int r = 0; r < Rows; ++r) {
    uint32_t word = pairOf(a + r * p.sam, p.sak, g, half);
    __m256 a0 = _mm256_set1_ps(bf16ToF32(uint16_t(word)));
    __m256 a1 = _mm256_set1_ps(bf16ToF32(uint16_t(word >> 16)));
#pragma clang loop unroll(full)
    for (int h = 0; h < 2; ++h) {
      acc[r][h] = _mm256_fmadd_ps(a0, lo[h], acc[r][h]);
      acc[r][h] = _mm256_fmadd_ps(a1, hi[h], acc[r][h]);
    }
  }
}

// Rows x 16 columns of c at row m, panel `panel`: the products plus the
// bias, then the activation. The first tile under a panel fetches it ahead;
// the others find it in cache.
template <int Rows, bool Prefetch>
void tile(const Bf16Problem &p, int64_t m, int64_t panel) {
  __m256 acc[Rows][2];
#pragma clang loop unroll(full)
  for (int r = 0; r < Rows; ++r)
    acc[r][0] = acc[r][1] = _mm256_setzero_ps();
  const uint16_t *a = p.a + m * p.sam;
  const uint16_t *b = p.panels + panel * p.panelStride;
  const int64_t pairs = p.k / 2;
  for (int64_t g = 0; g < pairs; ++g)
    step<Rows>(p, a, b, g, false, Prefetch, acc);
  if (p.k % 2)
    step<Rows>(p, a, b, pairs, true, false, acc);

  const int64_t n0 = panel * kPanel;
  const int64_t cols = p.n - n0 < kPanel ? p.n - n0 : kPanel;
  alignas(32) float bias[kPanel] = {};
  if (p.bias)
    for (int64_t j = 0; j < cols; ++j)
      bias[j] = p.bias[n0 + j];
  const __m256 bias0 = _mm256_load_ps(bias), bias1 = _mm256_load_ps(bias + 8);
#pragma clang loop unroll(full)
  for (int r = 0; r < Rows; ++r) {
    float *row = p.c + (m + r) * p.scm + n0 * p.scn;
    __m256 v0 = _mm256_add_ps(acc[r][0], bias0);
    __m256 v1 = _mm256_add_ps(acc[r][1], bias1);
    if (p.scn == 1 && cols == kPanel) {
      _mm256_storeu_ps(row, v0);
      _mm256_storeu_ps(row + 8, v1);
      continue;
    }
    alignas(32) float tmp[kPanel];
    _mm256_store_ps(tmp, v0);
    _mm256_store_ps(tmp + 8, v1);
    for (int64_t j = 0; j < cols; ++j)
      row[j * p.scn] = tmp[j];
  }
  if (p.activationFn)
    p.activationFn(p.activation, p.c + m * p.scm + n0 * p.scn, Rows, cols,
                   p.scm, p.scn, n0);
}

using TileFn = void (*)(const Bf16Problem &, int64_t, int64_t);

template <bool Prefetch> TileFn tileFor(int64_t rows) {
  switch (rows) {
  case 1:
    return tile<1, Prefetch>;
  case 2:
    return tile<2, Prefetch>;
  case 3:
    return tile<3, Prefetch>;
  default:
    return tile<4, Prefetch>;
  }
}

// A panel at a time, the item's rows swept under it: the panel comes from
// memory once and from L1 or L2 for the other row tiles.
void gemmAvx2(const Bf16Problem &p, int64_t m0, int64_t rows, int64_t first,
              int64_t last) {
  for (int64_t panel = first; panel < last; ++panel)
    for (int64_t i = 0; i < rows; i += kMr) {
      int64_t tileRows = rows - i < kMr ? rows - i : kMr;
      TileFn fn = i == 0 ? tileFor<true>(tileRows) : tileFor<false>(tileRows);
      fn(p, m0 + i, panel);
    }
}

} // namespace

const Bf16Kernels kBf16Avx2 = {gemmAvx2, nullptr, nullptr};

} // namespace kiln::bf16
