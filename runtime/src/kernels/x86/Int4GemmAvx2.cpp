//===- Int4GemmAvx2.cpp - int4 weight-only GEMM kernel for AVX2 -----------===//
//
// The kernel of kInt4Avx2 (Int4GemmKernels.h). Compiled with -mavx2 -mfma
// (runtime/CMakeLists.txt); the driver calls it only on CPUs that have both.
//
// A packed octet (Int4Packing.h) is two ymm loads, columns 0-7 and 8-15 of
// the panel; row r of K is vpsrld by 4r, vpand with 15 and vcvtdq2ps, which
// gives the unsigned nibbles u. (vpermps picks among 8 values only, so the
// AVX-512 kernel's lookup of u - 8 does not fit.) The group sums are of
// a * u, and the 8 * sum of a over the group comes off at the group's end
// with the scale, as the zero points' offsets come on:
//
//   sum_k a (u - 8) s + sum_k a offset = s * sum a u + (offset - 8 s) sum a
//
// A tile is up to 4 rows x 1 panel or 1 row x 2 panels, its group sums in
// registers (8 ymm at most: four FMA chains for a single row) and its
// accumulators in memory, updated once a group.
//
//===----------------------------------------------------------------------===//

#include "kernels/Int4GemmKernels.h"

#include <immintrin.h>

namespace kiln::int4 {

namespace {

constexpr int kPanel = 16;
constexpr int kMr = 4;
constexpr int64_t kPrefetchBytes = 1024;

// Sum of a[0 .. kn) at stride sak.
float rowSum(const float *a, int64_t sak, int64_t kn) {
  int64_t j = 0;
  float s = 0;
  if (sak == 1) {
    __m256 v = _mm256_setzero_ps();
    for (; j + 8 <= kn; j += 8)
      v = _mm256_add_ps(v, _mm256_loadu_ps(a + j));
    __m128 h =
        _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    h = _mm_add_ss(h, _mm_movehdup_ps(h));
    s = _mm_cvtss_f32(h);
  }
  for (; j < kn; ++j)
    s += a[j * sak];
  return s;
}

// Row R of the loaded octets (Halves = 2 per panel) times each row's
// activation at that k (ak points at row 0's), into the group sums.
template <int Rows, int Halves, int R>
__attribute__((always_inline)) inline void
step(const float *ak, int64_t sam, const __m256i (&raw)[Halves],
     __m256i fifteen, __m256 (&sum)[Rows][Halves]) {
  __m256 w[Halves];
#pragma clang loop unroll(full)
  for (int h = 0; h < Halves; ++h)
    w[h] = _mm256_cvtepi32_ps(_mm256_and_si256(
        R ? _mm256_srli_epi32(raw[h], 4 * R) : raw[h], fifteen));
#pragma clang loop unroll(full)
  for (int r = 0; r < Rows; ++r) {
    __m256 av = _mm256_broadcast_ss(ak + r * sam);
#pragma clang loop unroll(full)
    for (int h = 0; h < Halves; ++h)
      sum[r][h] = _mm256_fmadd_ps(av, w[h], sum[r][h]);
  }
}

template <int Rows, int Panels>
void tile(const Int4Problem &p, int64_t m, int64_t panel) {
  constexpr int Halves = 2 * Panels;
  alignas(32) float acc[Rows][Halves * 8] = {};
  const __m256i fifteen = _mm256_set1_epi32(15);
  const __m256 eight = _mm256_set1_ps(8.0f);
  const float *a = p.a + m * p.sam;
  const int64_t sam = p.sam, sak = p.sak, stride = p.panelStride;
  const uint8_t *b = p.packed + panel * stride;
  const int64_t groupCount = p.groupCount;
  for (int64_t g = 0; g < groupCount; ++g) {
    const uint8_t *block = b + g * p.groupBytes;
    const uint8_t *nibbles = block + p.headerBytes;
    const int64_t k0 = g * p.group;
    const int64_t kn = p.k - k0 < p.group ? p.k - k0 : p.group;
    __m256 sum[Rows][Halves];
#pragma clang loop unroll(full)
    for (int r = 0; r < Rows; ++r)
#pragma clang loop unroll(full)
      for (int h = 0; h < Halves; ++h)
        sum[r][h] = _mm256_setzero_ps();
    auto load = [&](int64_t o, __m256i(&raw)[Halves]) {
#pragma clang loop unroll(full)
      for (int h = 0; h < Halves; ++h) {
        const uint8_t *src = nibbles + (h / 2) * stride + o * 64 + (h % 2) * 32;
        if (h % 2 == 0)
          _mm_prefetch(reinterpret_cast<const char *>(src + kPrefetchBytes),
                       _MM_HINT_T0);
        raw[h] = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(src));
      }
    };
    const int64_t octets = kn / 8;
    for (int64_t o = 0; o < octets; ++o) {
      __m256i raw[Halves];
      load(o, raw);
      const float *ak = a + (k0 + 8 * o) * sak;
      step<Rows, Halves, 0>(ak, sam, raw, fifteen, sum);
      step<Rows, Halves, 1>(ak + sak, sam, raw, fifteen, sum);
      step<Rows, Halves, 2>(ak + 2 * sak, sam, raw, fifteen, sum);
      step<Rows, Halves, 3>(ak + 3 * sak, sam, raw, fifteen, sum);
      step<Rows, Halves, 4>(ak + 4 * sak, sam, raw, fifteen, sum);
      step<Rows, Halves, 5>(ak + 5 * sak, sam, raw, fifteen, sum);
      step<Rows, Halves, 6>(ak + 6 * sak, sam, raw, fifteen, sum);
      step<Rows, Halves, 7>(ak + 7 * sak, sam, raw, fifteen, sum);
    }
    if (int64_t tail = kn - 8 * octets) {
      // a has no elements past k: only the rows that are there.
      __m256i raw[Halves];
      load(octets, raw);
      const float *ak = a + (k0 + 8 * octets) * sak;
      step<Rows, Halves, 0>(ak, sam, raw, fifteen, sum);
      if (tail > 1)
        step<Rows, Halves, 1>(ak + sak, sam, raw, fifteen, sum);
      if (tail > 2)
        step<Rows, Halves, 2>(ak + 2 * sak, sam, raw, fifteen, sum);
      if (tail > 3)
        step<Rows, Halves, 3>(ak + 3 * sak, sam, raw, fifteen, sum);
      if (tail > 4)
        step<Rows, Halves, 4>(ak + 4 * sak, sam, raw, fifteen, sum);
      if (tail > 5)
        step<Rows, Halves, 5>(ak + 5 * sak, sam, raw, fifteen, sum);
      if (tail > 6)
        step<Rows, Halves, 6>(ak + 6 * sak, sam, raw, fifteen, sum);
    }
    __m256 scale[Halves], shift[Halves];
#pragma clang loop unroll(full)
    for (int h = 0; h < Halves; ++h) {
      const uint8_t *at = block + (h / 2) * stride + (h % 2) * 32;
      scale[h] = _mm256_loadu_ps(reinterpret_cast<const float *>(at));
      __m256 offset =
          p.zeroPoints
              ? _mm256_loadu_ps(reinterpret_cast<const float *>(at + 64))
              : _mm256_setzero_ps();
      shift[h] = _mm256_fnmadd_ps(eight, scale[h], offset);
    }
#pragma clang loop unroll(full)
    for (int r = 0; r < Rows; ++r) {
      __m256 asum = _mm256_set1_ps(rowSum(a + r * sam + k0 * sak, sak, kn));
#pragma clang loop unroll(full)
      for (int h = 0; h < Halves; ++h) {
        __m256 v = _mm256_load_ps(acc[r] + 8 * h);
        v = _mm256_fmadd_ps(sum[r][h], scale[h], v);
        _mm256_store_ps(acc[r] + 8 * h, _mm256_fmadd_ps(asum, shift[h], v));
      }
    }
  }

  const int64_t n0 = panel * kPanel;
  const int64_t cols = p.n - n0 < Panels * kPanel ? p.n - n0 : Panels * kPanel;
  for (int r = 0; r < Rows; ++r) {
    float *row = p.c + (m + r) * p.scm + n0 * p.scn;
    for (int64_t j = 0; j < cols; ++j)
      row[j * p.scn] = p.bias ? acc[r][j] + p.bias[n0 + j] : acc[r][j];
  }
  if (p.activationFn)
    p.activationFn(p.activation, p.c + m * p.scm + n0 * p.scn, Rows, cols,
                   p.scm, p.scn, n0);
}

using TileFn = void (*)(const Int4Problem &, int64_t, int64_t);

TileFn tileFor(int64_t rows, int64_t panels) {
  switch (rows) {
  case 1:
    return panels == 1 ? tile<1, 1> : tile<1, 2>;
  case 2:
    return tile<2, 1>;
  case 3:
    return tile<3, 1>;
  default:
    return tile<4, 1>;
  }
}

// One row: tiles of 2 panels. More: tiles of 4 rows x 1 panel swept down
// the rows under each panel, which stays in L1 (up to 8 rows: from L1 the
// second time).
void gemmAvx2(const Int4Problem &p, int64_t m0, int64_t rows, int64_t first,
              int64_t last) {
  const int64_t width = rows == 1 ? 2 : 1;
  for (int64_t panel = first; panel < last; panel += width) {
    int64_t np = last - panel < width ? last - panel : width;
    for (int64_t i = 0; i < rows; i += kMr) {
      int64_t r = rows - i < kMr ? rows - i : kMr;
      tileFor(r, np)(p, m0 + i, panel);
    }
  }
}

} // namespace

const Int4Kernels kInt4Avx2 = {gemmAvx2, 2};

} // namespace kiln::int4
