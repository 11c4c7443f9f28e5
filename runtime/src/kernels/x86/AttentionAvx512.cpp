//===- AttentionAvx512.cpp - Fused attention items for AVX-512 ------------===//
//
// The block products of runItem (AttentionItem.h) in explicit AVX-512
// registers. Compiled with -mavx512f (runtime/CMakeLists.txt); attentionF32
// calls itemsAvx512 only on CPUs that have it (CpuFeatures.h).
//
//===----------------------------------------------------------------------===//

#include "kernels/AttentionItem.h"

#include <immintrin.h>

namespace kiln::attention {

namespace {

// Mask of the lanes of columns [n0, n0 + 16) below n.
__attribute__((always_inline)) inline __mmask16 lanesBelow(int64_t n0,
                                                           int64_t n) {
  int64_t left = n - n0;
  if (left >= 16)
    return 0xFFFF;
  if (left <= 0)
    return 0;
  return (__mmask16)((1u << left) - 1);
}

// f8e4m3ToF32 (F8Bits.h) of 16 codes, one per lane. A code's bits shifted
// into an f16's place give its value times 2^-8 for every code, subnormals
// among them (f16 has 5 exponent bits to f8's 4): sign-extended to 16 bits
// and shifted left by 7, the exponent and mantissa land in bits 7-13 and the
// sign in 15 (and 14, cleared). The only code past 448, S.1111.111, is NaN.
__attribute__((always_inline)) inline __m512 widenF8Lanes(__m128i bytes) {
  __m256i h =
      _mm256_and_si256(_mm256_slli_epi16(_mm256_cvtepi8_epi16(bytes), 7),
                       _mm256_set1_epi16(int16_t(0xbf80)));
  __m512 v = _mm512_mul_ps(_mm512_cvtph_ps(h), _mm512_set1_ps(0x1p8f));
  __mmask16 nan =
      _mm512_cmp_ps_mask(_mm512_abs_ps(v), _mm512_set1_ps(480.0f), _CMP_EQ_OQ);
  return _mm512_mask_mov_ps(v, nan, _mm512_set1_ps(__builtin_nanf("")));
}

// Sixteen keys or values from lanes [0, 16) of `p` under `m`, as floats: f32
// as they are, bf16 or f8 widened (a narrow cache read in place, whose rows
// are whole vectors, so that m is full; lane by lane otherwise, never
// reading past m).
__attribute__((always_inline)) inline __m512 loadLanes(__mmask16 m,
                                                       const float *p) {
  return _mm512_maskz_loadu_ps(m, p);
}
__attribute__((always_inline)) inline __m512 loadLanes(__mmask16 m,
                                                       const uint16_t *p) {
  if (__builtin_expect(m == 0xFFFF, 1)) {
    __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(p));
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
  }
  alignas(64) uint32_t bits[16] = {};
  for (int i = 0; i < 16; ++i)
    if ((m >> i) & 1)
      bits[i] = uint32_t(p[i]) << 16;
  return _mm512_castsi512_ps(_mm512_load_si512(bits));
}
__attribute__((always_inline)) inline __m512 loadLanes(__mmask16 m,
                                                       const uint8_t *p) {
  if (__builtin_expect(m == 0xFFFF, 1))
    return widenF8Lanes(_mm_loadu_si128(reinterpret_cast<const __m128i *>(p)));
  alignas(64) float lanes[16] = {};
  for (int i = 0; i < 16; ++i)
    if ((m >> i) & 1)
      lanes[i] = f8e4m3ToF32(p[i]);
  return _mm512_load_ps(lanes);
}

// Rows x 64 scores from a packed key block: 4 accumulators per row.
template <int Rows>
__attribute__((always_inline)) inline void
scoresTileAvx512(const float *qp, int64_t d, const float *kt, float *s) {
  __m512 c[Rows][4];
  for (int r = 0; r < Rows; ++r)
    for (int i = 0; i < 4; ++i)
      c[r][i] = _mm512_setzero_ps();
  for (int64_t dd = 0; dd < d; ++dd) {
    const float *kr = kt + dd * kKeyBlock;
    __m512 k0 = _mm512_load_ps(kr), k1 = _mm512_load_ps(kr + 16);
    __m512 k2 = _mm512_load_ps(kr + 32), k3 = _mm512_load_ps(kr + 48);
    for (int r = 0; r < Rows; ++r) {
      __m512 a = _mm512_set1_ps(qp[r * d + dd]);
      c[r][0] = _mm512_fmadd_ps(a, k0, c[r][0]);
      c[r][1] = _mm512_fmadd_ps(a, k1, c[r][1]);
      c[r][2] = _mm512_fmadd_ps(a, k2, c[r][2]);
      c[r][3] = _mm512_fmadd_ps(a, k3, c[r][3]);
    }
  }
  for (int r = 0; r < Rows; ++r)
    for (int i = 0; i < 4; ++i)
      _mm512_store_ps(s + r * kKeyBlock + 16 * i, c[r][i]);
}

// Lane i of the result is the sum of the lanes of c[i]: a transposing tree
// of 15 adds, where 16 separate reductions would take 64 adds and shuffles.
__attribute__((always_inline)) inline __m512 sumLanes16(const __m512 (&c)[16]) {
  __m512 x[8], y[4];
  for (int i = 0; i < 8; ++i) // per 128 bits: c0+c2 of a, b, c1+c3 of a, b
    x[i] = _mm512_add_ps(_mm512_unpacklo_ps(c[2 * i], c[2 * i + 1]),
                         _mm512_unpackhi_ps(c[2 * i], c[2 * i + 1]));
  for (int i = 0; i < 4; ++i) // per 128 bits: the sums of keys 4i..4i+3
    y[i] = _mm512_add_ps(_mm512_shuffle_ps(x[2 * i], x[2 * i + 1], 0x44),
                         _mm512_shuffle_ps(x[2 * i], x[2 * i + 1], 0xEE));
  __m512 lo = _mm512_add_ps(_mm512_shuffle_f32x4(y[0], y[1], 0x44),
                            _mm512_shuffle_f32x4(y[0], y[1], 0xEE));
  __m512 hi = _mm512_add_ps(_mm512_shuffle_f32x4(y[2], y[3], 0x44),
                            _mm512_shuffle_f32x4(y[2], y[3], 0xEE));
  return _mm512_add_ps(_mm512_shuffle_f32x4(lo, hi, 0x88),
                       _mm512_shuffle_f32x4(lo, hi, 0xDD));
}

// Dot products of `rows` (< 4) query rows with key rows of unit inner
// stride, sixteen keys at a time, then four.
template <class Elem>
void scoresDotAvx512(const Problem &p, int64_t rows, const float *qp,
                     const Elem *keys, int64_t bk, float *s) {
  const int64_t d = p.d, ldk = p.ks[2];
  for (int64_t r = 0; r < rows; ++r) {
    const float *qr = qp + r * d;
    int64_t j = 0;
    for (; j + 16 <= bk; j += 16) {
      __m512 c[16];
      for (int t = 0; t < 16; ++t)
        c[t] = _mm512_setzero_ps();
      // A bf16 cache's next sixteen keys (kiln_attention_bench, batch 16,
      // 801 keys: 23.2 -> 17.9 ms; 32 or 64 keys ahead no better). f32 keys
      // gained nothing measurable so.
      if constexpr (sizeof(Elem) < 4)
        for (int t = 0; t < 16 && r == 0; ++t)
          for (int64_t at = 0; at < d; at += 64 / int64_t(sizeof(Elem)))
            _mm_prefetch(
                reinterpret_cast<const char *>(keys + (j + 16 + t) * ldk + at),
                _MM_HINT_T0);
      for (int64_t dd = 0; dd < d; dd += 16) {
        __mmask16 m = lanesBelow(dd, d);
        __m512 a = _mm512_maskz_loadu_ps(m, qr + dd);
        const Elem *kj = keys + j * ldk + dd;
        for (int t = 0; t < 16; ++t)
          c[t] = _mm512_fmadd_ps(a, loadLanes(m, kj + t * ldk), c[t]);
      }
      _mm512_storeu_ps(s + r * kKeyBlock + j, sumLanes16(c));
    }
    for (; j + 4 <= bk; j += 4) {
      __m512 c0 = _mm512_setzero_ps(), c1 = c0, c2 = c0, c3 = c0;
      for (int64_t dd = 0; dd < d; dd += 16) {
        __mmask16 m = lanesBelow(dd, d);
        __m512 a = _mm512_maskz_loadu_ps(m, qr + dd);
        const Elem *kj = keys + j * ldk + dd;
        c0 = _mm512_fmadd_ps(a, loadLanes(m, kj), c0);
        c1 = _mm512_fmadd_ps(a, loadLanes(m, kj + ldk), c1);
        c2 = _mm512_fmadd_ps(a, loadLanes(m, kj + 2 * ldk), c2);
        c3 = _mm512_fmadd_ps(a, loadLanes(m, kj + 3 * ldk), c3);
      }
      float *sr = s + r * kKeyBlock + j;
      sr[0] = _mm512_reduce_add_ps(c0);
      sr[1] = _mm512_reduce_add_ps(c1);
      sr[2] = _mm512_reduce_add_ps(c2);
      sr[3] = _mm512_reduce_add_ps(c3);
    }
    for (; j < bk; ++j) {
      __m512 c0 = _mm512_setzero_ps();
      for (int64_t dd = 0; dd < d; dd += 16) {
        __mmask16 m = lanesBelow(dd, d);
        c0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, qr + dd),
                             loadLanes(m, keys + j * ldk + dd), c0);
      }
      s[r * kKeyBlock + j] = _mm512_reduce_add_ps(c0);
    }
  }
}

// t[c] = column c of the 16 x 16 block r, in four rounds of shuffles.
__attribute__((always_inline)) inline void transpose16(const __m512 (&r)[16],
                                                       __m512 (&t)[16]) {
  __m512 a[16], b[16];
  for (int i = 0; i < 8; ++i) { // per 128 bits: columns 0, 1 | 2, 3 of a pair
    a[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    a[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  for (int i = 0; i < 4; ++i) // b[4i + c], 128 bits L: column 4L + c, rows 4i..
    for (int h = 0; h < 2; ++h) {
      __m512d lo = _mm512_castps_pd(a[4 * i + h]);
      __m512d hi = _mm512_castps_pd(a[4 * i + 2 + h]);
      b[4 * i + 2 * h] = _mm512_castpd_ps(_mm512_unpacklo_pd(lo, hi));
      b[4 * i + 2 * h + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(lo, hi));
    }
  for (int c = 0; c < 4; ++c) {
    __m512 x = _mm512_shuffle_f32x4(b[c], b[4 + c], 0x88);
    __m512 y = _mm512_shuffle_f32x4(b[c], b[4 + c], 0xDD);
    __m512 x2 = _mm512_shuffle_f32x4(b[8 + c], b[12 + c], 0x88);
    __m512 y2 = _mm512_shuffle_f32x4(b[8 + c], b[12 + c], 0xDD);
    t[c] = _mm512_shuffle_f32x4(x, x2, 0x88);
    t[8 + c] = _mm512_shuffle_f32x4(x, x2, 0xDD);
    t[4 + c] = _mm512_shuffle_f32x4(y, y2, 0x88);
    t[12 + c] = _mm512_shuffle_f32x4(y, y2, 0xDD);
  }
}

// packKeys for keys of unit inner stride, by 16 x 16 blocks in registers
// (the compiler makes packKeys' transpose a scatter per element).
template <class Elem>
void packKeysAvx512(const Problem &p, const Elem *keys, int64_t bk, float *kt) {
  const int64_t ldk = p.ks[2];
  for (int64_t j0 = 0; j0 < kKeyBlock; j0 += 16)
    for (int64_t d0 = 0; d0 < p.d; d0 += 16) {
      __mmask16 m = lanesBelow(d0, p.d);
      __m512 r[16], t[16];
      for (int64_t j = 0; j < 16; ++j)
        r[j] = j0 + j < bk ? loadLanes(m, keys + (j0 + j) * ldk + d0)
                           : _mm512_setzero_ps();
      transpose16(r, t);
      int64_t dims = p.d - d0 < 16 ? p.d - d0 : 16;
      for (int64_t c = 0; c < dims; ++c)
        _mm512_store_ps(kt + (d0 + c) * kKeyBlock + j0, t[c]);
    }
}

// The scores of `rows` query rows against a packed key block.
void scoresPacked(const Problem &p, int64_t rows, const float *qp,
                  const float *kt, float *s) {
  int64_t r = 0;
  for (; r + 4 <= rows; r += 4)
    scoresTileAvx512<4>(qp + r * p.d, p.d, kt, s + r * kKeyBlock);
  switch (rows - r) {
  case 3:
    return scoresTileAvx512<3>(qp + r * p.d, p.d, kt, s + r * kKeyBlock);
  case 2:
    return scoresTileAvx512<2>(qp + r * p.d, p.d, kt, s + r * kKeyBlock);
  case 1:
    return scoresTileAvx512<1>(qp + r * p.d, p.d, kt, s + r * kKeyBlock);
  default:
    return;
  }
}

// Keys of a bf16 cache read in place always have a unit inner stride
// (bf16DirectFits).
template <class Elem>
void scoresAvx512(const Problem &p, int64_t rows, const float *qp,
                  const Elem *keys, int64_t bk, float *kt, float *s) {
  if (rows < 4 && p.ks[3] == 1)
    return scoresDotAvx512(p, rows, qp, keys, bk, s);
  if (p.ks[3] == 1)
    packKeysAvx512(p, keys, bk, kt);
  else if constexpr (sizeof(Elem) == 4)
    packKeys(p, keys, bk, kt);
  scoresPacked(p, rows, qp, kt, s);
}

// acc[r][n0..n0+64) += sum_j s[r * sRow + j * sKey] * v[j][n0..n0+64) for
// Rows rows. The first row group over these columns (`fetchAhead`) fetches
// value rows 16 keys ahead; the later groups find them in cache.
template <int Rows, class Elem>
__attribute__((always_inline)) inline void
accumulateTileAvx512(const float *s, int64_t sRow, int64_t sKey, const Elem *v,
                     int64_t ldv, int64_t bk, float *acc, int64_t ldacc,
                     int64_t n0, int64_t n, bool fetchAhead) {
  __mmask16 m[4];
  for (int i = 0; i < 4; ++i)
    m[i] = lanesBelow(n0 + 16 * i, n);
  __m512 c[Rows][4];
  for (int r = 0; r < Rows; ++r)
    for (int i = 0; i < 4; ++i)
      c[r][i] = _mm512_maskz_loadu_ps(m[i], acc + r * ldacc + n0 + 16 * i);
  for (int64_t j = 0; j < bk; ++j) {
    const Elem *vr = v + j * ldv + n0;
    if (fetchAhead)
      for (size_t at = 0; at < 64 * sizeof(Elem); at += 64)
        _mm_prefetch(reinterpret_cast<const char *>(vr + 16 * ldv) + at,
                     _MM_HINT_T0);
    __m512 v0 = loadLanes(m[0], vr), v1 = loadLanes(m[1], vr + 16);
    __m512 v2 = loadLanes(m[2], vr + 32), v3 = loadLanes(m[3], vr + 48);
    for (int r = 0; r < Rows; ++r) {
      __m512 a = _mm512_set1_ps(s[r * sRow + j * sKey]);
      c[r][0] = _mm512_fmadd_ps(a, v0, c[r][0]);
      c[r][1] = _mm512_fmadd_ps(a, v1, c[r][1]);
      c[r][2] = _mm512_fmadd_ps(a, v2, c[r][2]);
      c[r][3] = _mm512_fmadd_ps(a, v3, c[r][3]);
    }
  }
  for (int r = 0; r < Rows; ++r)
    for (int i = 0; i < 4; ++i)
      _mm512_mask_storeu_ps(acc + r * ldacc + n0 + 16 * i, m[i], c[r][i]);
}

// acc[r][n] += sum_j s[r * sRow + j * sKey] * v[j][n] for r < rows, j < bk,
// with v of unit inner stride and ldv between keys.
template <class Elem>
void accumulateRowsAvx512(int64_t rows, const float *s, int64_t sRow,
                          int64_t sKey, const Elem *v, int64_t ldv, int64_t bk,
                          float *acc, int64_t dv) {
  for (int64_t n0 = 0; n0 < dv; n0 += 64) {
    int64_t r = 0;
    for (; r + 4 <= rows; r += 4)
      accumulateTileAvx512<4>(s + r * sRow, sRow, sKey, v, ldv, bk,
                              acc + r * dv, dv, n0, dv, r == 0);
    const float *sr = s + r * sRow;
    float *ar = acc + r * dv;
    switch (rows - r) {
    case 3:
      accumulateTileAvx512<3>(sr, sRow, sKey, v, ldv, bk, ar, dv, n0, dv,
                              r == 0);
      break;
    case 2:
      accumulateTileAvx512<2>(sr, sRow, sKey, v, ldv, bk, ar, dv, n0, dv,
                              r == 0);
      break;
    case 1:
      accumulateTileAvx512<1>(sr, sRow, sKey, v, ldv, bk, ar, dv, n0, dv,
                              r == 0);
      break;
    default:
      break;
    }
  }
}

void accumulateAvx512(const Problem &p, int64_t rows, const float *s,
                      const float *values, int64_t bk, float *acc,
                      float *vpack) {
  const float *v = values;
  int64_t ldv = p.vs[2];
  if (p.vs[3] != 1) {
    for (int64_t j = 0; j < bk; ++j)
      for (int64_t n = 0; n < p.dv; ++n)
        vpack[j * p.dv + n] = values[j * p.vs[2] + n * p.vs[3]];
    v = vpack;
    ldv = p.dv;
  }
  accumulateRowsAvx512(rows, s, kKeyBlock, 1, v, ldv, bk, acc, p.dv);
}

// The same reductions in 16 lanes: the scalar loops were most of the
// attention time at sequence 128.
float rowMaxAvx512(const float *sr, int64_t bk) {
  const __m512 none = _mm512_set1_ps(-INFINITY);
  __m512 m = none;
  for (int64_t j = 0; j < bk; j += 16)
    // max_ps returns its second operand when either is NaN: NaN scores are
    // passed over, as in the scalar loop.
    m = _mm512_max_ps(_mm512_mask_loadu_ps(none, lanesBelow(j, bk), sr + j), m);
  return _mm512_reduce_max_ps(m);
}

float rowSumAvx512(const float *sr, int64_t bk) {
  __m512 sum = _mm512_setzero_ps();
  for (int64_t j = 0; j < bk; j += 16)
    sum = _mm512_add_ps(sum, _mm512_maskz_loadu_ps(lanesBelow(j, bk), sr + j));
  return _mm512_reduce_add_ps(sum);
}

struct Avx512Blocks {
  __attribute__((always_inline)) static float rowMax(const float *sr,
                                                     int64_t bk) {
    return rowMaxAvx512(sr, bk);
  }
  __attribute__((always_inline)) static float rowSum(const float *sr,
                                                     int64_t bk) {
    return rowSumAvx512(sr, bk);
  }
  __attribute__((always_inline)) static void
  scores(const Problem &p, int64_t rows, const float *qp, const float *keys,
         int64_t bk, float *kt, float *s) {
    scoresAvx512(p, rows, qp, keys, bk, kt, s);
  }
  __attribute__((always_inline)) static void
  accumulate(const Problem &p, int64_t rows, const float *s,
             const float *values, int64_t bk, float *acc, float *vpack) {
    accumulateAvx512(p, rows, s, values, bk, acc, vpack);
  }
};

// The same over a bf16 (uint16_t) or f8E4M3FN (uint8_t) cache read in place
// (itemsAvx512Bf16, itemsAvx512F8), whose keys and values have a unit inner
// stride.
template <class Elem> struct Avx512NarrowBlocks : Avx512Blocks {
  __attribute__((always_inline)) static void
  scores(const Problem &p, int64_t rows, const float *qp, const Elem *keys,
         int64_t bk, float *kt, float *s) {
    scoresAvx512(p, rows, qp, keys, bk, kt, s);
  }
  __attribute__((always_inline)) static void
  accumulate(const Problem &p, int64_t rows, const float *s, const Elem *values,
             int64_t bk, float *acc, float *) {
    accumulateRowsAvx512(rows, s, kKeyBlock, 1, values, p.vs[2], bk, acc, p.dv);
  }
};

template <class Elem>
void narrowItems(const Problem &p, int64_t begin, int64_t end, float *scratch) {
  for (int64_t i = begin; i < end; ++i)
    runItem<Avx512NarrowBlocks<Elem>, Elem>(p, i, scratch);
}

//===----------------------------------------------------------------------===//
// Rows in lanes
//===----------------------------------------------------------------------===//
//
// For items of 16 rows or more over keys and values of unit inner stride.
// The scores are kept transposed, sT[j][r] with the item's rows padded to
// whole vectors, so the softmax's running max, exponentials and sums run
// over 16 rows at a time with no reduction across lanes, and the score
// products need no transposed copy of the keys: each key element is
// broadcast against 16 queries of qT[d][r]. At sequence 128 the per-row
// reductions and the key transposes of runItem cost as much as the products.

// Items of fewer rows fill too few lanes; more would need more than 8
// vectors of per-row state.
constexpr int64_t kMinLaneRows = 16, kMaxLaneRows = 128;

// exp(x) for x <= 0 in 16 lanes: expNonPositive's steps.
__attribute__((always_inline)) inline __m512 expNonPositive16(__m512 x) {
  const __m512 lo = _mm512_set1_ps(-87.3365447505531f);
  __m512 xc = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(kExpFloor)),
                            _mm512_setzero_ps());
  // max/min return their second operand on NaN: keep NaN in xc.
  xc = _mm512_mask_mov_ps(xc, _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q), x);
  __m512 n = _mm512_roundscale_ps(
      _mm512_fmadd_ps(xc, _mm512_set1_ps(1.44269504088896341f),
                      _mm512_set1_ps(0.5f)),
      _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), xc);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
  __m512 y = _mm512_set1_ps(1.9875691500e-4f);
  y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(1.3981999507e-3f));
  y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(8.3334519073e-3f));
  y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(4.1665795894e-2f));
  y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(1.6666665459e-1f));
  y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(5.0000001201e-1f));
  y = _mm512_fmadd_ps(_mm512_mul_ps(y, r), r,
                      _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
  __m512i bits = _mm512_slli_epi32(
      _mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
  __m512 result = _mm512_mul_ps(y, _mm512_castsi512_ps(bits));
  return _mm512_mask_mov_ps(result, _mm512_cmp_ps_mask(x, lo, _CMP_LT_OQ),
                            _mm512_setzero_ps());
}

// sT[j][0..16 * Vecs) = sum_d qT[d][..] * k[j][d] for Keys keys.
template <int Keys, int Vecs>
__attribute__((always_inline)) inline void
scoresLanesTile(const float *qT, int64_t ldq, int64_t d, const float *keys,
                int64_t ldk, float *sT, int64_t lds) {
  __m512 c[Keys][Vecs];
  for (int t = 0; t < Keys; ++t)
    for (int v = 0; v < Vecs; ++v)
      c[t][v] = _mm512_setzero_ps();
  for (int64_t dd = 0; dd < d; ++dd) {
    __m512 q[Vecs];
    for (int v = 0; v < Vecs; ++v)
      q[v] = _mm512_load_ps(qT + dd * ldq + 16 * v);
    for (int t = 0; t < Keys; ++t) {
      __m512 a = _mm512_set1_ps(keys[t * ldk + dd]);
      for (int v = 0; v < Vecs; ++v)
        c[t][v] = _mm512_fmadd_ps(a, q[v], c[t][v]);
    }
  }
  for (int t = 0; t < Keys; ++t)
    for (int v = 0; v < Vecs; ++v)
      _mm512_store_ps(sT + t * lds + 16 * v, c[t][v]);
}

template <int Vecs>
void scoresLanesVecs(const float *qT, int64_t ldq, int64_t d, const float *keys,
                     int64_t ldk, int64_t bk, float *sT, int64_t lds) {
  int64_t j = 0;
  for (; j + 8 <= bk; j += 8)
    scoresLanesTile<8, Vecs>(qT, ldq, d, keys + j * ldk, ldk, sT + j * lds,
                             lds);
  const float *kj = keys + j * ldk;
  float *sj = sT + j * lds;
  switch (bk - j) {
  case 7:
    return scoresLanesTile<7, Vecs>(qT, ldq, d, kj, ldk, sj, lds);
  case 6:
    return scoresLanesTile<6, Vecs>(qT, ldq, d, kj, ldk, sj, lds);
  case 5:
    return scoresLanesTile<5, Vecs>(qT, ldq, d, kj, ldk, sj, lds);
  case 4:
    return scoresLanesTile<4, Vecs>(qT, ldq, d, kj, ldk, sj, lds);
  case 3:
    return scoresLanesTile<3, Vecs>(qT, ldq, d, kj, ldk, sj, lds);
  case 2:
    return scoresLanesTile<2, Vecs>(qT, ldq, d, kj, ldk, sj, lds);
  case 1:
    return scoresLanesTile<1, Vecs>(qT, ldq, d, kj, ldk, sj, lds);
  default:
    return;
  }
}

// Where the mask of the item's rows in one vector lives, per lane.
struct LaneMask {
  bool rowInvariant; // one mask row for every lane: a broadcast per key
  const float *base; // the rows' mask at key 0 (rowInvariant), or b's
  int64_t wide[16];  // else lane l's row at base + wide[l]
};

void runItemLanes(const Problem &p, const Item &it, float *scratch) {
  const int64_t rows = it.rows, d = p.d, dv = p.dv;
  const int64_t ldr = (rows + 15) / 16 * 16; // rows, padded to vectors
  const int64_t vecs = ldr / 16;
  float *qT = scratch, *sT = scratch + p.offS, *acc = scratch + p.offAcc;
  float *rowMax = scratch + p.offM, *rowSum = scratch + p.offL;
  const int64_t offset = p.sk - p.sq;

  // qT[d][r] = scale * q[r][d], by 16 x 16 blocks when q has unit inner
  // stride; padded rows are zero.
  for (int64_t v = 0; v < vecs; ++v)
    for (int64_t d0 = 0; d0 < d; d0 += 16) {
      __m512 x[16], t[16];
      const __mmask16 dm = lanesBelow(d0, d);
      for (int64_t l = 0; l < 16; ++l) {
        int64_t r = 16 * v + l;
        if (r >= rows) {
          x[l] = _mm512_setzero_ps();
          continue;
        }
        int64_t h = it.hkv * p.group + r / it.nq, i = it.i0 + r % it.nq;
        const float *qr =
            p.q + it.b * p.qs[0] + h * p.qs[1] + i * p.qs[2] + d0 * p.qs[3];
        if (p.qs[3] == 1) {
          x[l] = _mm512_maskz_loadu_ps(dm, qr);
        } else {
          alignas(64) float tmp[16] = {};
          for (int64_t c = 0; c < 16 && d0 + c < d; ++c)
            tmp[c] = qr[c * p.qs[3]];
          x[l] = _mm512_load_ps(tmp);
        }
      }
      transpose16(x, t);
      const __m512 scale = _mm512_set1_ps(p.scale);
      for (int64_t c = 0; c < 16 && d0 + c < d; ++c)
        _mm512_store_ps(qT + (d0 + c) * ldr + 16 * v,
                        _mm512_mul_ps(scale, t[c]));
    }
  for (int64_t r = 0; r < rows * dv; ++r)
    acc[r] = 0.0f;
  for (int64_t r = 0; r < ldr; ++r) {
    rowMax[r] = -INFINITY;
    rowSum[r] = 0.0f;
  }

  // Per vector of rows: the causal limit (lane l's query sees keys
  // j <= limit[l]) and where its mask is.
  __m512i limit[8];
  LaneMask masks[8];
  for (int64_t v = 0; v < vecs; ++v) {
    alignas(64) int32_t lim[16];
    LaneMask &lm = masks[v];
    lm.rowInvariant = p.ms[2] == 0 && (p.ms[1] == 0 || p.group == 1);
    lm.base = p.mask ? p.mask + it.b * p.ms[0] : nullptr;
    for (int64_t l = 0; l < 16; ++l) {
      int64_t r = 16 * v + l < rows ? 16 * v + l : rows - 1;
      int64_t h = it.hkv * p.group + r / it.nq, i = it.i0 + r % it.nq;
      lim[l] = int32_t(i + offset);
      lm.wide[l] = h * p.ms[1] + i * p.ms[2];
      if (l == 0 && lm.rowInvariant && lm.base)
        lm.base += lm.wide[0];
    }
    limit[v] = _mm512_load_si512(lim);
  }

  const int64_t keyEnd = keyEndOf(p, it);
  const float *keys = p.k + it.b * p.ks[0] + it.hkv * p.ks[1];
  const float *values = p.v + it.b * p.vs[0] + it.hkv * p.vs[1];
  const __m512 none = _mm512_set1_ps(-INFINITY);
  for (int64_t j0 = 0; j0 < keyEnd; j0 += kLaneKeyBlock) {
    const int64_t bk =
        keyEnd - j0 < kLaneKeyBlock ? keyEnd - j0 : kLaneKeyBlock;
    const float *kb = keys + j0 * p.ks[2];
    int64_t v = 0;
    for (; v + 2 <= vecs; v += 2)
      scoresLanesVecs<2>(qT + 16 * v, ldr, d, kb, p.ks[2], bk, sT + 16 * v,
                         ldr);
    if (v < vecs)
      scoresLanesVecs<1>(qT + 16 * v, ldr, d, kb, p.ks[2], bk, sT + 16 * v,
                         ldr);

    for (v = 0; v < vecs; ++v) {
      const LaneMask &lm = masks[v];
      // A mask of unit key stride that differs between rows comes in 16 x 16
      // blocks, transposed in registers: a gather per key costs more.
      const bool maskBlocks = p.mask && !lm.rowInvariant && p.ms[3] == 1;
      __m512 blockMax = none;
      for (int64_t jc = 0; jc < bk; jc += 16) {
        const int64_t keys16 = bk - jc < 16 ? bk - jc : 16;
        alignas(64) float maskT[16][16];
        if (maskBlocks) {
          __m512 x[16], t[16];
          const __mmask16 km = lanesBelow(jc, bk);
          for (int l = 0; l < 16; ++l)
            x[l] = _mm512_maskz_loadu_ps(km, lm.base + lm.wide[l] + j0 + jc);
          transpose16(x, t);
          for (int c = 0; c < 16; ++c)
            _mm512_store_ps(maskT[c], t[c]);
        }
        for (int64_t c = 0; c < keys16; ++c) {
          const int64_t j = jc + c;
          float *x = sT + j * ldr + 16 * v;
          __m512 s = _mm512_load_ps(x);
          if (p.mask) {
            const int64_t at = (j0 + j) * p.ms[3];
            __m512 m;
            if (lm.rowInvariant) {
              m = _mm512_set1_ps(lm.base[at]);
            } else if (maskBlocks) {
              m = _mm512_load_ps(maskT[c]);
            } else {
              alignas(64) float tmp[16];
              for (int l = 0; l < 16; ++l)
                tmp[l] = lm.base[at + lm.wide[l]];
              m = _mm512_load_ps(tmp);
            }
            s = _mm512_add_ps(s, m);
          }
          if (p.causal)
            s = _mm512_mask_mov_ps(
                s,
                _mm512_cmpgt_epi32_mask(_mm512_set1_epi32(int32_t(j0 + j)),
                                        limit[v]),
                none);
          _mm512_store_ps(x, s);
          blockMax = _mm512_max_ps(s, blockMax); // NaN scores are passed over
        }
      }
      const __m512 oldMax = _mm512_load_ps(rowMax + 16 * v);
      const __m512 newMax = _mm512_max_ps(blockMax, oldMax);
      // Rows that have seen no key yet keep -inf; their scores are -inf,
      // and exp(-inf - 0) = 0.
      const __m512 shift = _mm512_mask_mov_ps(
          newMax, _mm512_cmp_ps_mask(newMax, none, _CMP_EQ_OQ),
          _mm512_setzero_ps());
      const __m512 rescale = expNonPositive16(_mm512_sub_ps(oldMax, shift));
      __m512 sum = _mm512_setzero_ps();
      for (int64_t j = 0; j < bk; ++j) {
        float *x = sT + j * ldr + 16 * v;
        __m512 e = expNonPositive16(_mm512_sub_ps(_mm512_load_ps(x), shift));
        _mm512_store_ps(x, e);
        sum = _mm512_add_ps(sum, e);
      }
      _mm512_store_ps(
          rowSum + 16 * v,
          _mm512_fmadd_ps(_mm512_load_ps(rowSum + 16 * v), rescale, sum));
      _mm512_store_ps(rowMax + 16 * v, newMax);
      if (j0 > 0 &&
          _mm512_cmp_ps_mask(rescale, _mm512_set1_ps(1.0f), _CMP_NEQ_UQ) != 0) {
        alignas(64) float factor[16];
        _mm512_store_ps(factor, rescale);
        for (int64_t l = 0; l < 16 && 16 * v + l < rows; ++l) {
          float *ar = acc + (16 * v + l) * dv;
          for (int64_t n = 0; n < dv; ++n)
            ar[n] *= factor[l];
        }
      }
    }
    accumulateRowsAvx512(rows, sT, 1, ldr, values + j0 * p.vs[2], p.vs[2], bk,
                         acc, dv);
  }

  writeItemOutput(p, it, acc, rowSum);
}

} // namespace

void itemsAvx512(const Problem &p, int64_t begin, int64_t end, float *scratch) {
  const bool unitInner = p.ks[3] == 1 && p.vs[3] == 1;
  for (int64_t i = begin; i < end; ++i) {
    const Item it = itemOf(p, i);
    if (unitInner && it.rows >= kMinLaneRows && it.rows <= kMaxLaneRows)
      runItemLanes(p, it, scratch);
    else
      runItem<Avx512Blocks>(p, i, scratch);
  }
}

void itemsAvx512Bf16(const Problem &p, int64_t begin, int64_t end,
                     float *scratch) {
  narrowItems<uint16_t>(p, begin, end, scratch);
}

void itemsAvx512F8(const Problem &p, int64_t begin, int64_t end,
                   float *scratch) {
  narrowItems<uint8_t>(p, begin, end, scratch);
}

void narrowBf16Avx512(const float *src, int64_t n, uint16_t *dst) {
  const __m512i one = _mm512_set1_epi32(1), half = _mm512_set1_epi32(0x7fff);
  const __m512i magnitude = _mm512_set1_epi32(0x7fffffff);
  const __m512i inf = _mm512_set1_epi32(0x7f800000);
  const __m512i quiet = _mm512_set1_epi32(0x400000);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m512i x = _mm512_castps_si512(_mm512_loadu_ps(src + i));
    __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(x, 16), one);
    __m512i r = _mm512_add_epi32(x, _mm512_add_epi32(half, lsb));
    __mmask16 nan =
        _mm512_cmpgt_epu32_mask(_mm512_and_si512(x, magnitude), inf);
    r = _mm512_mask_mov_epi32(r, nan, _mm512_or_si512(x, quiet));
    _mm256_storeu_si256(reinterpret_cast<__m256i *>(dst + i),
                        _mm512_cvtepi32_epi16(_mm512_srli_epi32(r, 16)));
  }
  narrowPortable<uint16_t>(src + i, n - i, dst + i);
}

void widenBf16Avx512(const uint16_t *src, int64_t n, float *dst) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(src + i));
    _mm512_storeu_si512(dst + i,
                        _mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
  }
  widenPortable<uint16_t>(src + i, n - i, dst + i);
}

// f8e4m3ToF32 and f32ToF8e4m3 (F8Bits.h) in 16 lanes.
void widenF8Avx512(const uint8_t *src, int64_t n, float *dst) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    _mm512_storeu_ps(dst + i, widenF8Lanes(_mm_loadu_si128(
                                  reinterpret_cast<const __m128i *>(src + i))));
  widenPortable<uint8_t>(src + i, n - i, dst + i);
}

void narrowF8Avx512(const float *src, int64_t n, uint8_t *dst) {
  const __m512i one = _mm512_set1_epi32(1), half = _mm512_set1_epi32(0x7ffff);
  const __m512i magnitude = _mm512_set1_epi32(0x7fffffff);
  const __m512i inf = _mm512_set1_epi32(0x7f800000);
  const __m512i largest = _mm512_set1_epi32(0x43e00000); // 448
  const __m512i normal = _mm512_set1_epi32(0x3c800000);  // 2^-6
  const __m512i rebias = _mm512_set1_epi32(120 << 3);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m512i x = _mm512_castps_si512(_mm512_loadu_ps(src + i));
    __m512i a = _mm512_and_si512(x, magnitude);
    __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(a, 20), one);
    __m512i r = _mm512_add_epi32(a, _mm512_add_epi32(half, lsb));
    __m512i code = _mm512_sub_epi32(_mm512_srli_epi32(r, 20), rebias);
    __m512i sub = _mm512_cvt_roundps_epi32(
        _mm512_mul_ps(_mm512_castsi512_ps(a), _mm512_set1_ps(0x1p9f)),
        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    code = _mm512_mask_mov_epi32(code, _mm512_cmplt_epu32_mask(a, normal), sub);
    code = _mm512_mask_mov_epi32(code, _mm512_cmpge_epu32_mask(a, largest),
                                 _mm512_set1_epi32(0x7e));
    code = _mm512_mask_mov_epi32(code, _mm512_cmpgt_epu32_mask(a, inf),
                                 _mm512_set1_epi32(0x7f));
    __m512i sign =
        _mm512_and_si512(_mm512_srli_epi32(x, 24), _mm512_set1_epi32(0x80));
    _mm_storeu_si128(reinterpret_cast<__m128i *>(dst + i),
                     _mm512_cvtepi32_epi8(_mm512_or_si512(code, sign)));
  }
  narrowPortable<uint8_t>(src + i, n - i, dst + i);
}

} // namespace kiln::attention
