//===- Int4GemmQ8Avx2.cpp - int4 x int8 GEMM kernel for AVX2 --------------===//
//
// The gemm of kInt4Q8Avx2 (Int4GemmKernels.h). Compiled with -mavx2 -mfma
// (runtime/CMakeLists.txt); the driver calls it only on CPUs that have both.
// The activations are quantized by the scalar reference loop, which the
// compiler vectorizes as far as it can.
//
// As in the VNNI kernel (x86/Int4GemmQ8Avx512Vnni.cpp), a packed octet's
// low nibbles are rows 0, 2, 4, 6 of K and its high ones rows 1, 3, 5, 7;
// here a ymm holds 8 of the panel's columns. Without vpdpbusd, vpmaddubsw
// multiplies the unsigned nibbles by the int8 activations into pairs of
// int16 (at most 2 * 15 * 128 each, and the two halves' sum under 2^15, so
// nothing saturates), and vpmaddwd by ones widens them into the int32 sums.
//
// A tile is up to 4 rows x 8 columns: 4 ymm of group sums, 4 of
// accumulators, 2 of unpacked nibbles and 2 constants.
//
//===----------------------------------------------------------------------===//

#include "kernels/Int4GemmKernels.h"

#include <immintrin.h>
#include <string.h>

namespace kiln::int4 {

namespace {

constexpr int kHalf = 8;
constexpr int kMr = 4;
constexpr int64_t kPrefetchBytes = 1024;

void quantizeAvx2(const Int4Problem &p, int64_t m0, int64_t rows,
                  const Q8Rows &q) {
  for (int64_t i = 0; i < rows; ++i)
    quantizeRowQ8Scalar(p, m0 + i, q, i);
}

// Rows x 8 of c at row m, columns n0 = panel * 16 + 8 * half.
template <int Rows, bool ZeroPoints>
void tile(const Int4Problem &p, const Q8Rows &q, int64_t m, int64_t panel,
          int half) {
  __m256 acc[Rows];
#pragma clang loop unroll(full)
  for (int r = 0; r < Rows; ++r)
    acc[r] = _mm256_setzero_ps();
  const __m256i low = _mm256_set1_epi8(0x0f);
  const __m256i ones = _mm256_set1_epi16(1);
  const int64_t octets = p.group / 8;
  const uint8_t *b = p.packed + panel * p.panelStride + 32 * half;
  for (int64_t g = 0; g < p.groupCount; ++g) {
    const uint8_t *block = b + g * p.groupBytes;
    const uint8_t *nibbles = block + p.headerBytes;
    const int8_t *qg = q.data + g * p.group;
    __m256i dot[Rows];
#pragma clang loop unroll(full)
    for (int r = 0; r < Rows; ++r)
      dot[r] = _mm256_setzero_si256();
    for (int64_t o = 0; o < octets; ++o) {
      const uint8_t *src = nibbles + o * 64;
      if (half == 0)
        _mm_prefetch(reinterpret_cast<const char *>(src + kPrefetchBytes),
                     _MM_HINT_T0);
      __m256i raw = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(src));
      __m256i lo = _mm256_and_si256(raw, low);
      __m256i hi = _mm256_and_si256(_mm256_srli_epi16(raw, 4), low);
#pragma clang loop unroll(full)
      for (int r = 0; r < Rows; ++r) {
        int32_t even, odd;
        memcpy(&even, qg + r * q.lda + 8 * o, 4);
        memcpy(&odd, qg + r * q.lda + 8 * o + 4, 4);
        __m256i pairs =
            _mm256_add_epi16(_mm256_maddubs_epi16(lo, _mm256_set1_epi32(even)),
                             _mm256_maddubs_epi16(hi, _mm256_set1_epi32(odd)));
        dot[r] = _mm256_add_epi32(dot[r], _mm256_madd_epi16(pairs, ones));
      }
    }
    __m256 scale = _mm256_loadu_ps(reinterpret_cast<const float *>(block));
    __m256 offset =
        ZeroPoints
            ? _mm256_loadu_ps(reinterpret_cast<const float *>(block + 64))
            : _mm256_setzero_ps();
#pragma clang loop unroll(full)
    for (int r = 0; r < Rows; ++r) {
      __m256i exact = _mm256_sub_epi32(dot[r], _mm256_set1_epi32(q.corr(r)[g]));
      acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(exact), scale, acc[r]);
      if constexpr (ZeroPoints)
        acc[r] = _mm256_fmadd_ps(_mm256_set1_ps(q.sums(r)[g]), offset, acc[r]);
    }
  }

  const int64_t n0 = panel * 2 * kHalf + kHalf * half;
  const int64_t cols = p.n - n0 < kHalf ? p.n - n0 : kHalf;
  for (int r = 0; r < Rows; ++r) {
    alignas(32) float v[kHalf];
    _mm256_store_ps(v, _mm256_mul_ps(acc[r], _mm256_set1_ps(q.scale[r])));
    float *row = p.c + (m + r) * p.scm + n0 * p.scn;
    for (int64_t j = 0; j < cols; ++j)
      row[j * p.scn] = p.bias ? v[j] + p.bias[n0 + j] : v[j];
  }
  if (p.activationFn)
    p.activationFn(p.activation, p.c + m * p.scm + n0 * p.scn, Rows, cols,
                   p.scm, p.scn, n0);
}

using TileFn = void (*)(const Int4Problem &, const Q8Rows &, int64_t, int64_t,
                        int);

template <bool ZeroPoints> TileFn tileFor(int64_t rows) {
  switch (rows) {
  case 1:
    return tile<1, ZeroPoints>;
  case 2:
    return tile<2, ZeroPoints>;
  case 3:
    return tile<3, ZeroPoints>;
  default:
    return tile<4, ZeroPoints>;
  }
}

// Each half panel with the rows swept under it: up to 8 rows read it from
// memory once and from L1 after that.
void gemmAvx2(const Int4Problem &p, const Q8Rows &q, int64_t m0, int64_t rows,
              int64_t first, int64_t last) {
  for (int64_t panel = first; panel < last; ++panel)
    for (int half = 0; half < 2 && panel * 2 * kHalf + kHalf * half < p.n;
         ++half)
      for (int64_t i = 0; i < rows; i += kMr) {
        int64_t r = rows - i < kMr ? rows - i : kMr;
        Q8Rows tileRows = q;
        tileRows.data = q.data + i * q.lda;
        tileRows.scale = q.scale + i;
        (p.zeroPoints ? tileFor<true>(r)
                      : tileFor<false>(r))(p, tileRows, m0 + i, panel, half);
      }
}

} // namespace

const Int4Q8Kernels kInt4Q8Avx2 = {quantizeAvx2, gemmAvx2, 1};

} // namespace kiln::int4
