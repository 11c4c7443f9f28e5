//===- Attention.cpp - Fused flash-style fp32 attention -------------------===//
//
// One pass over the keys per block of query rows with an online softmax
// (Milakov & Gimelshein 2018; FlashAttention, Dao et al. 2022): a work item
// holds the running max, sum and output of its rows and visits the keys in
// blocks of kKeyBlock, so no [Sq x Sk] score matrix ever exists. An item is
// (batch, key/value head, block of queries) and its rows are every query
// head of the group times the block's queries, so grouped-query heads share
// each key and value load. Work items run on the session's pool.
//
// Scores of four or more rows multiply a packed, transposed key block
// ([D][kKeyBlock]) like a GEMM tile; fewer rows (a decode step without
// grouped heads) take dot products of the key rows where they lie, which
// skips the packing that would cost as much as the product, sixteen keys at
// a time with one transposing reduction. The values are fetched 16 rows
// ahead (the keys stream well without). kiln_attention_bench (GPT-2 small
// decode step, batch 8): 3.1 -> 2.3 ms at 161 keys, 20.5 -> 13.4 ms at 1001.
//
//===----------------------------------------------------------------------===//

#include "kernels/Attention.h"

#include "ExecutionContext.h"
#include "kernels/KernelError.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace kiln {

namespace {

constexpr int64_t kKeyBlock = 64;
// Rows (query heads of a group x queries) per work item: enough to reuse
// each packed key block, few enough that the items balance the threads.
constexpr int64_t kRowsPerItem = 32;
// Below this many multiply-adds, waking the pool costs more than it saves.
constexpr int64_t kParallelMacs = int64_t(1) << 16;

struct Problem {
  const float *q, *k, *v, *mask;
  float *out;
  int64_t batch, heads, kvHeads, group, sq, sk, d, dv;
  int64_t qs[4], ks[4], vs[4], ms[4], os[4];
  float scale;
  bool causal;
  int64_t queriesPerItem, queryBlocks, maxRows;
  // Scratch layout, in floats, each section 64-byte aligned.
  int64_t offKt, offS, offAcc, offV, offM, offL, scratchFloats;
};

int64_t roundUp16(int64_t x) { return (x + 15) / 16 * 16; }

void layoutScratch(Problem &p) {
  int64_t at = roundUp16(p.maxRows * p.d);
  p.offKt = at;
  at += roundUp16(p.d * kKeyBlock);
  p.offS = at;
  at += p.maxRows * kKeyBlock;
  p.offAcc = at;
  at += roundUp16(p.maxRows * p.dv);
  p.offV = at;
  at += roundUp16(kKeyBlock * p.dv);
  p.offM = at;
  at += roundUp16(p.maxRows);
  p.offL = at;
  at += roundUp16(p.maxRows);
  p.scratchFloats = at;
}

// exp(x) for x <= 0 (every argument here is a difference from a running
// max): Cephes' expf polynomial on x - n ln 2, scaled by 2^n through the
// exponent bits. Branch-free, so the loops around it vectorize; within 2
// ulp, and exactly 0 below expf's normal range, as for masked scores.
__attribute__((always_inline)) inline float expNonPositive(float x) {
  const float lo = -87.3365447505531f;
  float xc = x < lo ? lo : (x > 0.0f ? 0.0f : x);
  float n = __builtin_floorf(xc * 1.44269504088896341f + 0.5f);
  float r = xc - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float y = 1.9875691500e-4f;
  y = y * r + 1.3981999507e-3f;
  y = y * r + 8.3334519073e-3f;
  y = y * r + 4.1665795894e-2f;
  y = y * r + 1.6666665459e-1f;
  y = y * r + 5.0000001201e-1f;
  y = y * r * r + r + 1.0f;
  int32_t bits = ((int32_t)n + 127) << 23;
  float result = y * __builtin_bit_cast(float, bits);
  return x < lo ? 0.0f : result;
}

// The rows of work item `index`: row r is query head
// hkv * group + r / nq and query i0 + r % nq.
struct Item {
  int64_t b, hkv, i0, nq, rows;
};

Item itemOf(const Problem &p, int64_t index) {
  Item it;
  int64_t qb = index % p.queryBlocks, rest = index / p.queryBlocks;
  it.hkv = rest % p.kvHeads;
  it.b = rest / p.kvHeads;
  it.i0 = qb * p.queriesPerItem;
  it.nq = p.sq - it.i0 < p.queriesPerItem ? p.sq - it.i0 : p.queriesPerItem;
  it.rows = p.group * it.nq;
  return it;
}

//===----------------------------------------------------------------------===//
// Block products, portable (vectorized by the compiler per ISA)
//===----------------------------------------------------------------------===//

// kt[d][j] = k[j][d] for j < bk, zero up to kKeyBlock.
__attribute__((always_inline)) inline void
packKeys(const Problem &p, const float *keys, int64_t bk, float *kt) {
  for (int64_t dd = 0; dd < p.d; ++dd) {
    float *row = kt + dd * kKeyBlock;
    for (int64_t j = bk; j < kKeyBlock; ++j)
      row[j] = 0.0f;
  }
  for (int64_t j = 0; j < bk; ++j) {
    const float *key = keys + j * p.ks[2];
    for (int64_t dd = 0; dd < p.d; ++dd)
      kt[dd * kKeyBlock + j] = key[dd * p.ks[3]];
  }
}

// s[r][j] = sum_d qp[r][d] * k[j][d] for r < rows, j < bk.
__attribute__((always_inline)) inline void
scoresPortable(const Problem &p, int64_t rows, const float *qp,
               const float *keys, int64_t bk, float *kt, float *s) {
  if (rows < 4) {
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < bk; ++j) {
        const float *key = keys + j * p.ks[2];
        const float *qr = qp + r * p.d;
        float sum = 0.0f;
        for (int64_t dd = 0; dd < p.d; ++dd)
          sum += qr[dd] * key[dd * p.ks[3]];
        s[r * kKeyBlock + j] = sum;
      }
    return;
  }
  packKeys(p, keys, bk, kt);
  for (int64_t r = 0; r < rows; ++r) {
    float acc[kKeyBlock] = {};
    const float *qr = qp + r * p.d;
    for (int64_t dd = 0; dd < p.d; ++dd) {
      float a = qr[dd];
      const float *kr = kt + dd * kKeyBlock;
      for (int64_t j = 0; j < kKeyBlock; ++j)
        acc[j] += a * kr[j];
    }
    for (int64_t j = 0; j < kKeyBlock; ++j)
      s[r * kKeyBlock + j] = acc[j];
  }
}

// acc[r][n] += sum_j s[r][j] * v[j][n] for r < rows, j < bk.
__attribute__((always_inline)) inline void
accumulatePortable(const Problem &p, int64_t rows, const float *s,
                   const float *values, int64_t bk, float *acc) {
  for (int64_t r = 0; r < rows; ++r) {
    float *ar = acc + r * p.dv;
    for (int64_t j = 0; j < bk; ++j) {
      float a = s[r * kKeyBlock + j];
      const float *vr = values + j * p.vs[2];
      if (p.vs[3] == 1) {
        for (int64_t n = 0; n < p.dv; ++n)
          ar[n] += a * vr[n];
      } else {
        for (int64_t n = 0; n < p.dv; ++n)
          ar[n] += a * vr[n * p.vs[3]];
      }
    }
  }
}

// Largest score of a row block (NaN scores are passed over) and sum of its
// exponentials, as one scalar loop each: without reassociation the
// compiler cannot vectorize a reduction.
__attribute__((always_inline)) inline float rowMaxPortable(const float *sr,
                                                           int64_t bk) {
  float m = -INFINITY;
  for (int64_t j = 0; j < bk; ++j)
    m = sr[j] > m ? sr[j] : m;
  return m;
}

__attribute__((always_inline)) inline float rowSumPortable(const float *sr,
                                                           int64_t bk) {
  float sum = 0.0f;
  for (int64_t j = 0; j < bk; ++j)
    sum += sr[j];
  return sum;
}

struct PortableBlocks {
  __attribute__((always_inline)) static float rowMax(const float *sr,
                                                     int64_t bk) {
    return rowMaxPortable(sr, bk);
  }
  __attribute__((always_inline)) static float rowSum(const float *sr,
                                                     int64_t bk) {
    return rowSumPortable(sr, bk);
  }
  __attribute__((always_inline)) static void
  scores(const Problem &p, int64_t rows, const float *qp, const float *keys,
         int64_t bk, float *kt, float *s) {
    scoresPortable(p, rows, qp, keys, bk, kt, s);
  }
  __attribute__((always_inline)) static void
  accumulate(const Problem &p, int64_t rows, const float *s,
             const float *values, int64_t bk, float *acc, float *) {
    accumulatePortable(p, rows, s, values, bk, acc);
  }
};

//===----------------------------------------------------------------------===//
// Block products, AVX-512
//===----------------------------------------------------------------------===//

#if defined(__x86_64__)

// Mask of the lanes of columns [n0, n0 + 16) below n.
__attribute__((target("avx512f"), always_inline)) inline __mmask16
lanesBelow(int64_t n0, int64_t n) {
  int64_t left = n - n0;
  if (left >= 16)
    return 0xFFFF;
  if (left <= 0)
    return 0;
  return (__mmask16)((1u << left) - 1);
}

// Rows x 64 scores from a packed key block: 4 accumulators per row.
template <int Rows>
__attribute__((target("avx512f"), always_inline)) inline void
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
__attribute__((target("avx512f"), always_inline)) inline __m512
sumLanes16(const __m512 (&c)[16]) {
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
__attribute__((target("avx512f"))) void
scoresDotAvx512(const Problem &p, int64_t rows, const float *qp,
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
          c[t] = _mm512_fmadd_ps(a, _mm512_maskz_loadu_ps(m, kj + t * ldk),
                                 c[t]);
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
__attribute__((target("avx512f"), always_inline)) inline void
transpose16(const __m512 (&r)[16], __m512 (&t)[16]) {
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
__attribute__((target("avx512f"))) void
packKeysAvx512(const Problem &p, const float *keys, int64_t bk, float *kt) {
  const int64_t ldk = p.ks[2];
  for (int64_t j0 = 0; j0 < kKeyBlock; j0 += 16)
    for (int64_t d0 = 0; d0 < p.d; d0 += 16) {
      __mmask16 m = lanesBelow(d0, p.d);
      __m512 r[16], t[16];
      for (int64_t j = 0; j < 16; ++j)
        r[j] = j0 + j < bk ? _mm512_maskz_loadu_ps(m, keys + (j0 + j) * ldk + d0)
                           : _mm512_setzero_ps();
      transpose16(r, t);
      int64_t dims = p.d - d0 < 16 ? p.d - d0 : 16;
      for (int64_t c = 0; c < dims; ++c)
        _mm512_store_ps(kt + (d0 + c) * kKeyBlock + j0, t[c]);
    }
}

__attribute__((target("avx512f"))) void
scoresAvx512(const Problem &p, int64_t rows, const float *qp,
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
__attribute__((target("avx512f"), always_inline)) inline void
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

__attribute__((target("avx512f"))) void
accumulateAvx512(const Problem &p, int64_t rows, const float *s,
                 const float *values, int64_t bk, float *acc, float *vpack) {
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
__attribute__((target("avx512f"))) float
rowMaxAvx512(const float *sr, int64_t bk) {
  const __m512 none = _mm512_set1_ps(-INFINITY);
  __m512 m = none;
  for (int64_t j = 0; j < bk; j += 16)
    // max_ps returns its second operand when either is NaN: NaN scores are
    // passed over, as in the scalar loop.
    m = _mm512_max_ps(_mm512_mask_loadu_ps(none, lanesBelow(j, bk), sr + j),
                      m);
  return _mm512_reduce_max_ps(m);
}

__attribute__((target("avx512f"))) float
rowSumAvx512(const float *sr, int64_t bk) {
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

#endif

//===----------------------------------------------------------------------===//
// One work item
//===----------------------------------------------------------------------===//

template <class Blocks>
__attribute__((always_inline)) inline void
runItem(const Problem &p, int64_t index, float *scratch) {
  const Item it = itemOf(p, index);
  const int64_t rows = it.rows, d = p.d, dv = p.dv;
  float *qp = scratch, *kt = scratch + p.offKt, *s = scratch + p.offS;
  float *acc = scratch + p.offAcc, *vpack = scratch + p.offV;
  float *rowMax = scratch + p.offM, *rowSum = scratch + p.offL;
  const int64_t offset = p.sk - p.sq; // causal: query i sees keys <= i + offset

  for (int64_t r = 0; r < rows; ++r) {
    int64_t h = it.hkv * p.group + r / it.nq, i = it.i0 + r % it.nq;
    const float *qr = p.q + it.b * p.qs[0] + h * p.qs[1] + i * p.qs[2];
    for (int64_t dd = 0; dd < d; ++dd)
      qp[r * d + dd] = p.scale * qr[dd * p.qs[3]];
    for (int64_t n = 0; n < dv; ++n)
      acc[r * dv + n] = 0.0f;
    rowMax[r] = -INFINITY;
    rowSum[r] = 0.0f;
  }

  int64_t keyEnd = p.sk;
  if (p.causal) {
    int64_t last = it.i0 + it.nq - 1 + offset + 1;
    keyEnd = last < keyEnd ? last : keyEnd;
  }
  const float *keys = p.k + it.b * p.ks[0] + it.hkv * p.ks[1];
  const float *values = p.v + it.b * p.vs[0] + it.hkv * p.vs[1];
  for (int64_t j0 = 0; j0 < keyEnd; j0 += kKeyBlock) {
    int64_t bk = keyEnd - j0 < kKeyBlock ? keyEnd - j0 : kKeyBlock;
    Blocks::scores(p, rows, qp, keys + j0 * p.ks[2], bk, kt, s);
    for (int64_t r = 0; r < rows; ++r) {
      int64_t h = it.hkv * p.group + r / it.nq, i = it.i0 + r % it.nq;
      float *sr = s + r * kKeyBlock;
      if (p.mask) {
        const float *mr = p.mask + it.b * p.ms[0] + h * p.ms[1] +
                          i * p.ms[2] + j0 * p.ms[3];
        if (p.ms[3] == 1) {
          for (int64_t j = 0; j < bk; ++j)
            sr[j] += mr[j];
        } else {
          for (int64_t j = 0; j < bk; ++j)
            sr[j] += mr[j * p.ms[3]];
        }
      }
      if (p.causal) {
        int64_t firstHidden = i + offset + 1 - j0;
        for (int64_t j = firstHidden < 0 ? 0 : firstHidden; j < bk; ++j)
          sr[j] = -INFINITY;
      }
      float blockMax = Blocks::rowMax(sr, bk);
      float newMax = blockMax > rowMax[r] ? blockMax : rowMax[r];
      if (newMax == -INFINITY) { // every key so far is hidden from this row
        for (int64_t j = 0; j < bk; ++j)
          sr[j] = 0.0f;
        continue;
      }
      float rescale = expNonPositive(rowMax[r] - newMax);
      // Without the sum in it, this loop vectorizes.
      for (int64_t j = 0; j < bk; ++j)
        sr[j] = expNonPositive(sr[j] - newMax);
      float sum = Blocks::rowSum(sr, bk);
      rowSum[r] = rowSum[r] * rescale + sum;
      rowMax[r] = newMax;
      if (rescale != 1.0f)
        for (int64_t n = 0; n < dv; ++n)
          acc[r * dv + n] *= rescale;
    }
    Blocks::accumulate(p, rows, s, values + j0 * p.vs[2], bk, acc, vpack);
  }

  for (int64_t r = 0; r < rows; ++r) {
    int64_t h = it.hkv * p.group + r / it.nq, i = it.i0 + r % it.nq;
    float *o = p.out + it.b * p.os[0] + h * p.os[1] + i * p.os[2];
    // A row that sees no key at all is 0/0, as softmax over -inf is.
    float inv = 1.0f / rowSum[r];
    for (int64_t n = 0; n < dv; ++n)
      o[n * p.os[3]] = acc[r * dv + n] * inv;
  }
}

using ItemFn = void (*)(const Problem &, int64_t, int64_t, float *);

void itemsGeneric(const Problem &p, int64_t begin, int64_t end,
                  float *scratch) {
  for (int64_t i = begin; i < end; ++i)
    runItem<PortableBlocks>(p, i, scratch);
}
#if defined(__x86_64__)
__attribute__((target("avx2,fma"))) void
itemsAvx2(const Problem &p, int64_t begin, int64_t end, float *scratch) {
  for (int64_t i = begin; i < end; ++i)
    runItem<PortableBlocks>(p, i, scratch);
}
__attribute__((target("avx512f"))) void
itemsAvx512(const Problem &p, int64_t begin, int64_t end, float *scratch) {
  for (int64_t i = begin; i < end; ++i)
    runItem<Avx512Blocks>(p, i, scratch);
}
#endif

struct ParallelArgs {
  const Problem *problem;
  ItemFn fn;
  kiln_rt_context *ctx;
  bool outOfMemory;
};

void runItems(void *raw, int64_t begin, int64_t end, int32_t worker) {
  auto *args = static_cast<ParallelArgs *>(raw);
  const Problem &p = *args->problem;
  auto *scratch = static_cast<float *>(args->ctx->scratch(
      args->ctx, worker, size_t(p.scratchFloats) * sizeof(float)));
  if (!scratch) {
    __atomic_store_n(&args->outOfMemory, true, __ATOMIC_RELAXED);
    return;
  }
  args->fn(p, begin, end, scratch);
}

} // namespace

void attentionF32(const kiln_memref4_f32 &q, const kiln_memref4_f32 &k,
                  const kiln_memref4_f32 &v, const kiln_memref4_f32 *mask,
                  const kiln_memref4_f32 &out, float scale, bool causal,
                  MatmulIsa isa) {
  Problem p;
  p.batch = q.sizes[0];
  p.heads = q.sizes[1];
  p.sq = q.sizes[2];
  p.d = q.sizes[3];
  p.kvHeads = k.sizes[1];
  p.sk = k.sizes[2];
  p.dv = v.sizes[3];
  bool ok = p.batch >= 0 && p.sq >= 0 && p.sk >= 0 && p.d >= 0 &&
            p.dv >= 0 && p.kvHeads > 0 && p.heads % p.kvHeads == 0 &&
            k.sizes[0] == p.batch && k.sizes[3] == p.d &&
            v.sizes[0] == p.batch && v.sizes[1] == p.kvHeads &&
            v.sizes[2] == p.sk && out.sizes[0] == p.batch &&
            out.sizes[1] == p.heads && out.sizes[2] == p.sq &&
            out.sizes[3] == p.dv;
  const int64_t scores[4] = {p.batch, p.heads, p.sq, p.sk};
  if (ok && mask)
    for (int i = 0; i < 4; ++i)
      ok = ok && (mask->sizes[i] == 1 || mask->sizes[i] == scores[i]);
  if (!ok) {
    char message[320];
    snprintf(message, sizeof(message),
             "attention_f32: q [%lld, %lld, %lld, %lld], k [%lld, %lld, %lld, "
             "%lld], v [%lld, %lld, %lld, %lld] and out [%lld, %lld, %lld, "
             "%lld] do not fit together%s",
             (long long)q.sizes[0], (long long)q.sizes[1],
             (long long)q.sizes[2], (long long)q.sizes[3],
             (long long)k.sizes[0], (long long)k.sizes[1],
             (long long)k.sizes[2], (long long)k.sizes[3],
             (long long)v.sizes[0], (long long)v.sizes[1],
             (long long)v.sizes[2], (long long)v.sizes[3],
             (long long)out.sizes[0], (long long)out.sizes[1],
             (long long)out.sizes[2], (long long)out.sizes[3],
             mask ? " (or the mask does not broadcast to the scores)" : "");
    reportError(message);
    return;
  }
  if (p.batch == 0 || p.heads == 0 || p.sq == 0 || p.dv == 0)
    return;
  p.group = p.heads / p.kvHeads;
  p.q = q.aligned + q.offset;
  p.k = k.aligned + k.offset;
  p.v = v.aligned + v.offset;
  p.out = out.aligned + out.offset;
  p.mask = mask ? mask->aligned + mask->offset : nullptr;
  for (int i = 0; i < 4; ++i) {
    p.qs[i] = q.strides[i];
    p.ks[i] = k.strides[i];
    p.vs[i] = v.strides[i];
    p.os[i] = out.strides[i];
    // A broadcast mask extent reads its one element at every index.
    p.ms[i] = mask && mask->sizes[i] != 1 ? mask->strides[i] : 0;
  }
  p.scale = scale;
  p.causal = causal;
  p.queriesPerItem = kRowsPerItem / p.group;
  if (p.queriesPerItem < 1)
    p.queriesPerItem = 1;
  if (p.queriesPerItem > p.sq)
    p.queriesPerItem = p.sq;
  p.queryBlocks = (p.sq + p.queriesPerItem - 1) / p.queriesPerItem;
  p.maxRows = p.group * p.queriesPerItem;
  layoutScratch(p);

  ItemFn fn = itemsGeneric;
#if defined(__x86_64__)
  if (isa == MatmulIsa::Avx512)
    fn = itemsAvx512;
  else if (isa == MatmulIsa::Avx2)
    fn = itemsAvx2;
#endif
  (void)isa;

  int64_t items = p.batch * p.kvHeads * p.queryBlocks;
  int64_t macs = 0;
  kiln_rt_context *ctx = kiln_rt_current_context();
  bool parallel = ctx && ctx->num_threads > 1 && items > 1 &&
                  !__builtin_mul_overflow(p.batch * p.heads * p.sq,
                                          p.sk * (p.d + p.dv), &macs) &&
                  macs >= kParallelMacs;
  if (parallel) {
    ParallelArgs args{&p, fn, ctx, false};
    ctx->parallel_for(ctx, 0, items, 1, runItems, &args);
    if (!__atomic_load_n(&args.outOfMemory, __ATOMIC_RELAXED))
      return;
    // Some items may not have run: redo all of them on this thread.
  }
  size_t bytes = size_t(p.scratchFloats) * sizeof(float);
  void *owned = nullptr;
  float *scratch = nullptr;
  if (ctx)
    scratch = static_cast<float *>(ctx->scratch(ctx, 0, bytes));
  if (!scratch && posix_memalign(&owned, 64, bytes) == 0)
    scratch = static_cast<float *>(owned);
  if (!scratch) {
    reportError("attention_f32: out of memory for scratch");
    return;
  }
  fn(p, 0, items, scratch);
  free(owned);
}

} // namespace kiln

extern "C" void _mlir_ciface_kiln_rt_attention_f32(kiln_memref4_f32 *q,
                                                   kiln_memref4_f32 *k,
                                                   kiln_memref4_f32 *v,
                                                   kiln_memref4_f32 *out,
                                                   float scale,
                                                   int32_t causal) {
  if (!q || !k || !v || !out) {
    kiln::reportError("attention_f32: NULL memref descriptor");
    return;
  }
  kiln::attentionF32(*q, *k, *v, nullptr, *out, scale, causal != 0,
                     kiln::bestMatmulIsa());
}

extern "C" void _mlir_ciface_kiln_rt_attention_masked_f32(
    kiln_memref4_f32 *q, kiln_memref4_f32 *k, kiln_memref4_f32 *v,
    kiln_memref4_f32 *mask, kiln_memref4_f32 *out, float scale,
    int32_t causal) {
  if (!q || !k || !v || !mask || !out) {
    kiln::reportError("attention_f32: NULL memref descriptor");
    return;
  }
  kiln::attentionF32(*q, *k, *v, mask, *out, scale, causal != 0,
                     kiln::bestMatmulIsa());
}
