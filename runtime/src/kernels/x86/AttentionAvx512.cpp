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
void scoresDotAvx512(const Problem &p, int64_t rows, const float *qp,
                     const float *keys, int64_t bk, float *s) {
  const int64_t d = p.d, ldk = p.ks[2];
  for (int64_t r = 0; r < rows; ++r) {
    const float *qr = qp + r * d;
    int64_t j = 0;
    for (; j + 16 <= bk; j += 16) {
      __m512 c[16];
      for (int t = 0; t < 16; ++t)
        c[t] = _mm512_setzero_ps();
      for (int64_t dd = 0; dd < d; dd += 16) {
        __mmask16 m = lanesBelow(dd, d);
        __m512 a = _mm512_maskz_loadu_ps(m, qr + dd);
        const float *kj = keys + j * ldk + dd;
        for (int t = 0; t < 16; ++t)
          c[t] =
              _mm512_fmadd_ps(a, _mm512_maskz_loadu_ps(m, kj + t * ldk), c[t]);
      }
      _mm512_storeu_ps(s + r * kKeyBlock + j, sumLanes16(c));
    }
    for (; j + 4 <= bk; j += 4) {
      __m512 c0 = _mm512_setzero_ps(), c1 = c0, c2 = c0, c3 = c0;
      for (int64_t dd = 0; dd < d; dd += 16) {
        __mmask16 m = lanesBelow(dd, d);
        __m512 a = _mm512_maskz_loadu_ps(m, qr + dd);
        const float *kj = keys + j * ldk + dd;
        c0 = _mm512_fmadd_ps(a, _mm512_maskz_loadu_ps(m, kj), c0);
        c1 = _mm512_fmadd_ps(a, _mm512_maskz_loadu_ps(m, kj + ldk), c1);
        c2 = _mm512_fmadd_ps(a, _mm512_maskz_loadu_ps(m, kj + 2 * ldk), c2);
        c3 = _mm512_fmadd_ps(a, _mm512_maskz_loadu_ps(m, kj + 3 * ldk), c3);
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
                             _mm512_maskz_loadu_ps(m, keys + j * ldk + dd), c0);
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
void packKeysAvx512(const Problem &p, const float *keys, int64_t bk,
                    float *kt) {
  const int64_t ldk = p.ks[2];
  for (int64_t j0 = 0; j0 < kKeyBlock; j0 += 16)
    for (int64_t d0 = 0; d0 < p.d; d0 += 16) {
      __mmask16 m = lanesBelow(d0, p.d);
      __m512 r[16], t[16];
      for (int64_t j = 0; j < 16; ++j)
        r[j] = j0 + j < bk
                   ? _mm512_maskz_loadu_ps(m, keys + (j0 + j) * ldk + d0)
                   : _mm512_setzero_ps();
      transpose16(r, t);
      int64_t dims = p.d - d0 < 16 ? p.d - d0 : 16;
      for (int64_t c = 0; c < dims; ++c)
        _mm512_store_ps(kt + (d0 + c) * kKeyBlock + j0, t[c]);
    }
}

void scoresAvx512(const Problem &p, int64_t rows, const float *qp,
                  const float *keys, int64_t bk, float *kt, float *s) {
  if (rows < 4 && p.ks[3] == 1)
    return scoresDotAvx512(p, rows, qp, keys, bk, s);
  if (p.ks[3] == 1)
    packKeysAvx512(p, keys, bk, kt);
  else
    packKeys(p, keys, bk, kt);
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

// acc[r][n0..n0+64) += sum_j s[r][j] * v[j][n0..n0+64) for Rows rows. The
// first row group over these columns (`fetchAhead`) fetches value rows 16
// keys ahead; the later groups find them in cache.
template <int Rows>
__attribute__((always_inline)) inline void
accumulateTileAvx512(const float *s, const float *v, int64_t ldv, int64_t bk,
                     float *acc, int64_t ldacc, int64_t n0, int64_t n,
                     bool fetchAhead) {
  __mmask16 m[4];
  for (int i = 0; i < 4; ++i)
    m[i] = lanesBelow(n0 + 16 * i, n);
  __m512 c[Rows][4];
  for (int r = 0; r < Rows; ++r)
    for (int i = 0; i < 4; ++i)
      c[r][i] = _mm512_maskz_loadu_ps(m[i], acc + r * ldacc + n0 + 16 * i);
  for (int64_t j = 0; j < bk; ++j) {
    const float *vr = v + j * ldv + n0;
    if (fetchAhead)
      for (int i = 0; i < 4; ++i)
        _mm_prefetch(reinterpret_cast<const char *>(vr + 16 * ldv + 16 * i),
                     _MM_HINT_T0);
    __m512 v0 = _mm512_maskz_loadu_ps(m[0], vr);
    __m512 v1 = _mm512_maskz_loadu_ps(m[1], vr + 16);
    __m512 v2 = _mm512_maskz_loadu_ps(m[2], vr + 32);
    __m512 v3 = _mm512_maskz_loadu_ps(m[3], vr + 48);
    for (int r = 0; r < Rows; ++r) {
      __m512 a = _mm512_set1_ps(s[r * kKeyBlock + j]);
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
  for (int64_t n0 = 0; n0 < p.dv; n0 += 64) {
    int64_t r = 0;
    for (; r + 4 <= rows; r += 4)
      accumulateTileAvx512<4>(s + r * kKeyBlock, v, ldv, bk, acc + r * p.dv,
                              p.dv, n0, p.dv, r == 0);
    switch (rows - r) {
    case 3:
      accumulateTileAvx512<3>(s + r * kKeyBlock, v, ldv, bk, acc + r * p.dv,
                              p.dv, n0, p.dv, r == 0);
      break;
    case 2:
      accumulateTileAvx512<2>(s + r * kKeyBlock, v, ldv, bk, acc + r * p.dv,
                              p.dv, n0, p.dv, r == 0);
      break;
    case 1:
      accumulateTileAvx512<1>(s + r * kKeyBlock, v, ldv, bk, acc + r * p.dv,
                              p.dv, n0, p.dv, r == 0);
      break;
    default:
      break;
    }
  }
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

} // namespace

void itemsAvx512(const Problem &p, int64_t begin, int64_t end, float *scratch) {
  for (int64_t i = begin; i < end; ++i)
    runItem<Avx512Blocks>(p, i, scratch);
}

} // namespace kiln::attention
