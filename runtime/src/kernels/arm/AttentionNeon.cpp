//===- AttentionNeon.cpp - Fused attention items for aarch64 NEON ---------===//
//
// The block products of runItem (AttentionItem.h) in explicit NEON
// registers. Both products are GEMM tiles of 4 rows x 16 columns, the 4x16
// tile of arm/GemmNeon.cpp: 16 accumulators, the row operand loaded four
// steps at a time and multiplied by element (fmla v.4s, v.4s, v.s[lane]),
// so 16 independent chains cover the 4-cycle fmla latency on two pipes
// and 24 of the 32 q registers are live. Scores read the packed key block
// ([D][kKeyBlock], 16 keys per tile); P.V reads the value rows in place
// (16 value columns per tile). Fewer than four query rows take dot products
// of the key rows where they lie, eight keys at a time, reduced by pairwise
// adds (faddp), which transpose as they add.
//
// NEON is part of the base aarch64 ISA, so this file needs no flags of its
// own and attentionF32 needs no check before calling it.
//
//===----------------------------------------------------------------------===//

#include "kernels/AttentionItem.h"

#include <arm_neon.h>

namespace kiln::attention {

namespace {

// Lane i of the result is the sum of the lanes of c[i].
__attribute__((always_inline)) inline float32x4_t
sumLanes4(float32x4_t c0, float32x4_t c1, float32x4_t c2, float32x4_t c3) {
  return vpaddq_f32(vpaddq_f32(c0, c1), vpaddq_f32(c2, c3));
}

// x[0..n) for n in [1, 3], zero above: a row's tail without reading past it.
__attribute__((always_inline)) inline float32x4_t loadPartial(const float *x,
                                                              int64_t n) {
  float32x4_t v = vld1q_lane_f32(x, vdupq_n_f32(0.0f), 0);
  if (n > 1)
    v = vld1q_lane_f32(x + 1, v, 1);
  if (n > 2)
    v = vld1q_lane_f32(x + 2, v, 2);
  return v;
}

//===----------------------------------------------------------------------===//
// Scores
//===----------------------------------------------------------------------===//

// s[r][0..16) = qp rows x a 16-key slice of the packed key block, for Rows
// query rows of d floats each (kt and s advanced to the slice).
template <int Rows>
__attribute__((always_inline)) inline void
scoresTileNeon(const float *__restrict qp, int64_t d,
               const float *__restrict kt, float *s) {
  constexpr int Vecs = 4;
  float32x4_t c[Rows][Vecs];
  for (int r = 0; r < Rows; ++r)
    for (int v = 0; v < Vecs; ++v)
      c[r][v] = vdupq_n_f32(0.0f);
  int64_t dd = 0;
  for (; dd + 4 <= d; dd += 4) {
    float32x4_t a[Rows];
    for (int r = 0; r < Rows; ++r)
      a[r] = vld1q_f32(qp + r * d + dd);
#define KILN_NEON_STEP(lane)                                                   \
  {                                                                            \
    const float *kr = kt + (dd + (lane)) * kKeyBlock;                          \
    float32x4_t k[Vecs];                                                       \
    for (int v = 0; v < Vecs; ++v)                                             \
      k[v] = vld1q_f32(kr + 4 * v);                                            \
    for (int r = 0; r < Rows; ++r)                                             \
      for (int v = 0; v < Vecs; ++v)                                           \
        c[r][v] = vfmaq_laneq_f32(c[r][v], k[v], a[r], lane);                  \
  }
    KILN_NEON_STEP(0)
    KILN_NEON_STEP(1)
    KILN_NEON_STEP(2)
    KILN_NEON_STEP(3)
#undef KILN_NEON_STEP
  }
  for (; dd < d; ++dd) {
    const float *kr = kt + dd * kKeyBlock;
    for (int r = 0; r < Rows; ++r) {
      float a = qp[r * d + dd];
      for (int v = 0; v < Vecs; ++v)
        c[r][v] = vfmaq_n_f32(c[r][v], vld1q_f32(kr + 4 * v), a);
    }
  }
  for (int r = 0; r < Rows; ++r)
    for (int v = 0; v < Vecs; ++v)
      vst1q_f32(s + r * kKeyBlock + 4 * v, c[r][v]);
}

// Rows query rows against every 16-key slice that holds one of the bk keys.
// This and the other per-row-group loops stay out of line, a call per key
// block: their hot loops then get registers of their own, and
// test/codegen/aarch64-attention-asm.test finds them by name.
template <int Rows>
__attribute__((noinline)) void scoresRowsNeon(const float *qp, int64_t d,
                                              const float *kt, int64_t bk,
                                              float *s) {
  for (int64_t j0 = 0; j0 < bk; j0 += 16)
    scoresTileNeon<Rows>(qp, d, kt + j0, s + j0);
}

// s[r][t] for Keys keys of unit inner stride at `keys`, ldk apart.
template <int Rows, int Keys>
__attribute__((always_inline)) inline void
scoresDotKeysNeon(const float *__restrict qp, int64_t d,
                  const float *__restrict keys, int64_t ldk, float *s) {
  float32x4_t c[Rows][Keys];
  for (int r = 0; r < Rows; ++r)
    for (int t = 0; t < Keys; ++t)
      c[r][t] = vdupq_n_f32(0.0f);
  int64_t dd = 0;
  for (; dd + 4 <= d; dd += 4) {
    float32x4_t a[Rows];
    for (int r = 0; r < Rows; ++r)
      a[r] = vld1q_f32(qp + r * d + dd);
    for (int t = 0; t < Keys; ++t) {
      float32x4_t k = vld1q_f32(keys + t * ldk + dd);
      for (int r = 0; r < Rows; ++r)
        c[r][t] = vfmaq_f32(c[r][t], a[r], k);
    }
  }
  if (dd < d) {
    float32x4_t a[Rows];
    for (int r = 0; r < Rows; ++r)
      a[r] = loadPartial(qp + r * d + dd, d - dd);
    for (int t = 0; t < Keys; ++t) {
      float32x4_t k = loadPartial(keys + t * ldk + dd, d - dd);
      for (int r = 0; r < Rows; ++r)
        c[r][t] = vfmaq_f32(c[r][t], a[r], k);
    }
  }
  for (int r = 0; r < Rows; ++r) {
    float *sr = s + r * kKeyBlock;
    if constexpr (Keys == 1)
      sr[0] = vaddvq_f32(c[r][0]);
    else
      for (int t = 0; t < Keys; t += 4)
        vst1q_f32(sr + t,
                  sumLanes4(c[r][t], c[r][t + 1], c[r][t + 2], c[r][t + 3]));
  }
}

// Dot products of Rows (< 4) query rows with key rows of unit inner stride:
// eight keys at a time (Rows * 8 accumulators), then four, then one.
template <int Rows>
__attribute__((noinline)) void scoresDotNeon(const Problem &p, const float *qp,
                                             const float *keys, int64_t bk,
                                             float *s) {
  const int64_t d = p.d, ldk = p.ks[2];
  int64_t j = 0;
  for (; j + 8 <= bk; j += 8)
    scoresDotKeysNeon<Rows, 8>(qp, d, keys + j * ldk, ldk, s + j);
  for (; j + 4 <= bk; j += 4)
    scoresDotKeysNeon<Rows, 4>(qp, d, keys + j * ldk, ldk, s + j);
  for (; j < bk; ++j)
    scoresDotKeysNeon<Rows, 1>(qp, d, keys + j * ldk, ldk, s + j);
}

// packKeys for keys of unit inner stride, by 4 x 4 blocks transposed in
// registers (the compiler makes packKeys' transpose a store per element).
void packKeysNeon(const Problem &p, const float *keys, int64_t bk, float *kt) {
  const int64_t d = p.d, ldk = p.ks[2];
  const int64_t d4 = d / 4 * 4;
  for (int64_t j0 = 0; j0 < kKeyBlock; j0 += 4) {
    const float *k[4];
    for (int t = 0; t < 4; ++t)
      k[t] = j0 + t < bk ? keys + (j0 + t) * ldk : nullptr;
    for (int64_t d0 = 0; d0 < d4; d0 += 4) {
      float32x4_t r[4];
      for (int t = 0; t < 4; ++t)
        r[t] = k[t] ? vld1q_f32(k[t] + d0) : vdupq_n_f32(0.0f);
      // Rows t, t + 1 interleaved by pairs, then by 64-bit halves.
      float32x4_t a0 = vtrn1q_f32(r[0], r[1]), a1 = vtrn2q_f32(r[0], r[1]);
      float32x4_t a2 = vtrn1q_f32(r[2], r[3]), a3 = vtrn2q_f32(r[2], r[3]);
      float64x2_t b0 = vreinterpretq_f64_f32(a0);
      float64x2_t b1 = vreinterpretq_f64_f32(a1);
      float64x2_t b2 = vreinterpretq_f64_f32(a2);
      float64x2_t b3 = vreinterpretq_f64_f32(a3);
      float *col = kt + d0 * kKeyBlock + j0;
      vst1q_f32(col, vreinterpretq_f32_f64(vzip1q_f64(b0, b2)));
      vst1q_f32(col + kKeyBlock, vreinterpretq_f32_f64(vzip1q_f64(b1, b3)));
      vst1q_f32(col + 2 * kKeyBlock, vreinterpretq_f32_f64(vzip2q_f64(b0, b2)));
      vst1q_f32(col + 3 * kKeyBlock, vreinterpretq_f32_f64(vzip2q_f64(b1, b3)));
    }
    for (int64_t dd = d4; dd < d; ++dd)
      for (int t = 0; t < 4; ++t)
        kt[dd * kKeyBlock + j0 + t] = k[t] ? k[t][dd] : 0.0f;
  }
}

void scoresNeon(const Problem &p, int64_t rows, const float *qp,
                const float *keys, int64_t bk, float *kt, float *s) {
  if (rows < 4 && p.ks[3] == 1) {
    switch (rows) {
    case 3:
      return scoresDotNeon<3>(p, qp, keys, bk, s);
    case 2:
      return scoresDotNeon<2>(p, qp, keys, bk, s);
    default:
      return scoresDotNeon<1>(p, qp, keys, bk, s);
    }
  }
  if (p.ks[3] == 1)
    packKeysNeon(p, keys, bk, kt);
  else
    packKeys(p, keys, bk, kt);
  const int64_t d = p.d;
  int64_t r = 0;
  for (; r + 4 <= rows; r += 4)
    scoresRowsNeon<4>(qp + r * d, d, kt, bk, s + r * kKeyBlock);
  switch (rows - r) {
  case 3:
    return scoresRowsNeon<3>(qp + r * d, d, kt, bk, s + r * kKeyBlock);
  case 2:
    return scoresRowsNeon<2>(qp + r * d, d, kt, bk, s + r * kKeyBlock);
  case 1:
    return scoresRowsNeon<1>(qp + r * d, d, kt, bk, s + r * kKeyBlock);
  default:
    return;
  }
}

//===----------------------------------------------------------------------===//
// P.V
//===----------------------------------------------------------------------===//

// acc[r][0..Vecs*4) += sum_j s[r][j] * v[j][0..Vecs*4) for Rows rows (acc and
// v advanced to the column slice).
template <int Rows, int Vecs>
__attribute__((always_inline)) inline void
accumulateTileNeon(const float *__restrict s, const float *__restrict v,
                   int64_t ldv, int64_t bk, float *acc, int64_t ldacc) {
  float32x4_t c[Rows][Vecs];
  for (int r = 0; r < Rows; ++r)
    for (int i = 0; i < Vecs; ++i)
      c[r][i] = vld1q_f32(acc + r * ldacc + 4 * i);
  int64_t j = 0;
  for (; j + 4 <= bk; j += 4) {
    float32x4_t a[Rows];
    for (int r = 0; r < Rows; ++r)
      a[r] = vld1q_f32(s + r * kKeyBlock + j);
#define KILN_NEON_STEP(lane)                                                   \
  {                                                                            \
    const float *vr = v + (j + (lane)) * ldv;                                  \
    float32x4_t b[Vecs];                                                       \
    for (int i = 0; i < Vecs; ++i)                                             \
      b[i] = vld1q_f32(vr + 4 * i);                                            \
    for (int r = 0; r < Rows; ++r)                                             \
      for (int i = 0; i < Vecs; ++i)                                           \
        c[r][i] = vfmaq_laneq_f32(c[r][i], b[i], a[r], lane);                  \
  }
    KILN_NEON_STEP(0)
    KILN_NEON_STEP(1)
    KILN_NEON_STEP(2)
    KILN_NEON_STEP(3)
#undef KILN_NEON_STEP
  }
  for (; j < bk; ++j) {
    const float *vr = v + j * ldv;
    for (int r = 0; r < Rows; ++r) {
      float a = s[r * kKeyBlock + j];
      for (int i = 0; i < Vecs; ++i)
        c[r][i] = vfmaq_n_f32(c[r][i], vld1q_f32(vr + 4 * i), a);
    }
  }
  for (int r = 0; r < Rows; ++r)
    for (int i = 0; i < Vecs; ++i)
      vst1q_f32(acc + r * ldacc + 4 * i, c[r][i]);
}

// Rows rows over every value column: 16 at a time, then the last whole
// vectors, then the last dv % 4 columns one by one.
template <int Rows>
__attribute__((noinline)) void
accumulateRowsNeon(const float *s, const float *v, int64_t ldv, int64_t bk,
                   float *acc, int64_t dv) {
  int64_t n0 = 0;
  for (; n0 + 16 <= dv; n0 += 16)
    accumulateTileNeon<Rows, 4>(s, v + n0, ldv, bk, acc + n0, dv);
  switch ((dv - n0) / 4) {
  case 3:
    accumulateTileNeon<Rows, 3>(s, v + n0, ldv, bk, acc + n0, dv);
    break;
  case 2:
    accumulateTileNeon<Rows, 2>(s, v + n0, ldv, bk, acc + n0, dv);
    break;
  case 1:
    accumulateTileNeon<Rows, 1>(s, v + n0, ldv, bk, acc + n0, dv);
    break;
  default:
    break;
  }
  for (int64_t n = dv / 4 * 4; n < dv; ++n)
    for (int r = 0; r < Rows; ++r) {
      float sum = acc[r * dv + n];
      for (int64_t j = 0; j < bk; ++j)
        sum += s[r * kKeyBlock + j] * v[j * ldv + n];
      acc[r * dv + n] = sum;
    }
}

void accumulateNeon(const Problem &p, int64_t rows, const float *s,
                    const float *values, int64_t bk, float *acc, float *vpack) {
  const int64_t dv = p.dv;
  const float *v = values;
  int64_t ldv = p.vs[2];
  if (p.vs[3] != 1) {
    for (int64_t j = 0; j < bk; ++j)
      for (int64_t n = 0; n < dv; ++n)
        vpack[j * dv + n] = values[j * p.vs[2] + n * p.vs[3]];
    v = vpack;
    ldv = dv;
  }
  int64_t r = 0;
  for (; r + 4 <= rows; r += 4)
    accumulateRowsNeon<4>(s + r * kKeyBlock, v, ldv, bk, acc + r * dv, dv);
  switch (rows - r) {
  case 3:
    return accumulateRowsNeon<3>(s + r * kKeyBlock, v, ldv, bk, acc + r * dv,
                                 dv);
  case 2:
    return accumulateRowsNeon<2>(s + r * kKeyBlock, v, ldv, bk, acc + r * dv,
                                 dv);
  case 1:
    return accumulateRowsNeon<1>(s + r * kKeyBlock, v, ldv, bk, acc + r * dv,
                                 dv);
  default:
    return;
  }
}

//===----------------------------------------------------------------------===//
// Row reductions
//===----------------------------------------------------------------------===//

// maxnm returns the number when one operand is a (quiet) NaN: NaN scores are
// passed over, as in the scalar loop.
float rowMaxNeon(const float *sr, int64_t bk) {
  float32x4_t m = vdupq_n_f32(-INFINITY);
  int64_t j = 0;
  for (; j + 4 <= bk; j += 4)
    m = vmaxnmq_f32(m, vld1q_f32(sr + j));
  float best = vmaxnmvq_f32(m);
  for (; j < bk; ++j)
    best = sr[j] > best ? sr[j] : best;
  return best;
}

float rowSumNeon(const float *sr, int64_t bk) {
  float32x4_t sum = vdupq_n_f32(0.0f);
  int64_t j = 0;
  for (; j + 4 <= bk; j += 4)
    sum = vaddq_f32(sum, vld1q_f32(sr + j));
  float total = vaddvq_f32(sum);
  for (; j < bk; ++j)
    total += sr[j];
  return total;
}

struct NeonBlocks {
  __attribute__((always_inline)) static float rowMax(const float *sr,
                                                     int64_t bk) {
    return rowMaxNeon(sr, bk);
  }
  __attribute__((always_inline)) static float rowSum(const float *sr,
                                                     int64_t bk) {
    return rowSumNeon(sr, bk);
  }
  __attribute__((always_inline)) static void
  scores(const Problem &p, int64_t rows, const float *qp, const float *keys,
         int64_t bk, float *kt, float *s) {
    scoresNeon(p, rows, qp, keys, bk, kt, s);
  }
  __attribute__((always_inline)) static void
  accumulate(const Problem &p, int64_t rows, const float *s,
             const float *values, int64_t bk, float *acc, float *vpack) {
    accumulateNeon(p, rows, s, values, bk, acc, vpack);
  }
};

} // namespace

void itemsNeon(const Problem &p, int64_t begin, int64_t end, float *scratch) {
  for (int64_t i = begin; i < end; ++i)
    runItem<NeonBlocks>(p, i, scratch);
}

} // namespace kiln::attention
