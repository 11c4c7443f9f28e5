//===- Int4GemmQ8Avx2.cpp - int4 x int8 GEMM kernel for AVX2 --------------===//
//
// The kernels of kInt4Q8Avx2 (Int4GemmKernels.h). Compiled with -mavx2
// -mfma (runtime/CMakeLists.txt); the driver calls them only on CPUs that
// have both.
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

// Row i of a into row `row` of q, an octet of K at a time (the scalar
// reference's arithmetic, so the same bytes): the group's last octets past
// K, and a whose columns are not contiguous, go element by element.
void quantizeRow(const Int4Problem &p, int64_t i, const Q8Rows &q,
                 int64_t row) {
  const float *a = p.a + i * p.sam;
  const int64_t k = p.k;
  const __m256 magnitude = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  __m256 vmax = _mm256_setzero_ps();
  int64_t j = 0;
  for (; j + 8 <= k; j += 8)
    // A NaN is the first operand: vmaxps keeps the running maximum, as
    // fmaxf does.
    vmax =
        _mm256_max_ps(_mm256_and_ps(_mm256_loadu_ps(a + j), magnitude), vmax);
  __m128 m4 =
      _mm_max_ps(_mm256_castps256_ps128(vmax), _mm256_extractf128_ps(vmax, 1));
  m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
  m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
  float amax = _mm_cvtss_f32(m4);
  for (; j < k; ++j)
    amax = fmaxf(amax, fabsf(a[j]));
  const float s = amax / 127.0f;
  const float invScalar = s == 0.0f ? 0.0f : 1.0f / s;
  const __m256 inv = _mm256_set1_ps(invScalar);
  const __m256i order = _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7);
  const __m128i ones = _mm_set1_epi16(1);
  int8_t *dst = q.data + row * q.lda;
  auto *corr = reinterpret_cast<int32_t *>(dst + q.corrOffset);
  auto *sums = reinterpret_cast<float *>(dst + q.sumOffset);
  for (int64_t g = 0; g < p.groupCount; ++g) {
    __m128i total = _mm_setzero_si128();
    int32_t tail = 0;
    for (int64_t r = 0; r < p.group; r += 8) {
      const int64_t at = g * p.group + r;
      if (at + 8 > k) { // past K: zeros, and the last values one by one
        for (int64_t e = 0; e < 8; ++e) {
          int8_t v = at + e < k ? q8Saturate(nearbyintf(a[at + e] * invScalar))
                                : int8_t(0);
          dst[at + q8Position(e)] = v;
          tail += v;
        }
        continue;
      }
      __m256 v = _mm256_permutevar8x32_ps(
          _mm256_mul_ps(_mm256_loadu_ps(a + at), inv), order);
      __m256i n = _mm256_cvtps_epi32(v);
      // Saturating packs: a NaN's 0x80000000 becomes -128.
      __m128i words = _mm_packs_epi32(_mm256_castsi256_si128(n),
                                      _mm256_extracti128_si256(n, 1));
      _mm_storel_epi64(reinterpret_cast<__m128i *>(dst + at),
                       _mm_packs_epi16(words, words));
      // The sums of the bytes as stored: words is saturated to int16 only,
      // so clamp it to the bytes' range first.
      __m128i bytes = _mm_max_epi16(_mm_min_epi16(words, _mm_set1_epi16(127)),
                                    _mm_set1_epi16(-128));
      total = _mm_add_epi32(total, _mm_madd_epi16(bytes, ones));
    }
    total = _mm_add_epi32(total, _mm_shuffle_epi32(total, 0x4e));
    total = _mm_add_epi32(total, _mm_shuffle_epi32(total, 0xb1));
    int32_t sum = _mm_cvtsi128_si32(total) + tail;
    corr[g] = 8 * sum;
    sums[g] = (float)sum;
  }
  q.scale[row] = s;
}

void quantizeAvx2(const Int4Problem &p, int64_t m0, int64_t rows,
                  const Q8Rows &q) {
  for (int64_t i = 0; i < rows; ++i) {
    if (p.sak == 1)
      quantizeRow(p, m0 + i, q, i);
    else
      quantizeRowQ8Scalar(p, m0 + i, q, i);
  }
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
