//===- AttentionItem.h - One work item of the fused attention ---*- C++ -*-===//
//
// runItem is the online softmax of one item's rows over blocks of keys, with
// the block products supplied by `Blocks`: PortableBlocks here, which the
// compiler vectorizes for the ISA of the file that includes it, or
// Avx512Blocks (x86/AttentionAvx512.cpp) and NeonBlocks
// (arm/AttentionNeon.cpp). Attention.cpp runs the generic variant,
// x86/AttentionAvx2.cpp, x86/AttentionAvx512.cpp and arm/AttentionNeon.cpp
// theirs.
//
// The code is in an anonymous namespace so that each of those files gets its
// own copy. As shared inline definitions, the linker could keep the AVX-512
// file's copy for the generic caller as well.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_RUNTIME_KERNELS_ATTENTIONITEM_H
#define KILN_RUNTIME_KERNELS_ATTENTIONITEM_H

#include "kernels/Bf16Bits.h"
#include "kernels/F8Bits.h"

#include <math.h>
#include <stdint.h>

namespace kiln::attention {

constexpr int64_t kKeyBlock = 64;
// Keys per block where an item's rows are vector lanes (AttentionAvx512.cpp).
constexpr int64_t kLaneKeyBlock = 128;

struct Problem {
  const float *q, *k, *v, *mask;
  // Keys and values of a bf16 cache read where they lie (the items of
  // itemsAvx512Bf16), in place of k and v; ks and vs are then in its
  // elements.
  const uint16_t *k16 = nullptr, *v16 = nullptr;
  // The same for an f8E4M3FN cache (itemsAvx512F8).
  const uint8_t *k8 = nullptr, *v8 = nullptr;
  float *out;
  int64_t batch, heads, kvHeads, group, sq, sk, d, dv;
  int64_t qs[4], ks[4], vs[4], ms[4], os[4];
  float scale;
  bool causal;
  int64_t queriesPerItem, queryBlocks, maxRows;
  // Scratch layout, in floats, each section 64-byte aligned.
  int64_t offKt, offS, offAcc, offV, offM, offL, scratchFloats;
};

// The rows of work item `index`: row r is query head
// hkv * group + r / nq and query i0 + r % nq.
struct Item {
  int64_t b, hkv, i0, nq, rows;
};

// Runs items [begin, end) with `scratch` of p.scratchFloats floats.
using ItemFn = void (*)(const Problem &, int64_t, int64_t, float *);
// dst[i] = the float of the bits src[i], i < n (a narrow KV cache's rows:
// bf16 in uint16_t, f8E4M3FN in uint8_t).
template <class Elem>
using WidenOf = void (*)(const Elem *src, int64_t n, float *dst);
// dst[i] = src[i] rounded to the nearest bf16 or f8E4M3FN, ties to even;
// NaNs stay (quiet) NaNs, as the generated code's truncf does (f8E4M3FN
// saturates at +-448, F8Bits.h).
template <class Elem>
using NarrowOf = void (*)(const float *src, int64_t n, Elem *dst);
using WidenFn = WidenOf<uint16_t>;
using NarrowFn = NarrowOf<uint16_t>;
#if defined(__x86_64__)
// Hidden like their definitions (x86/): called directly, not through the
// GOT.
#pragma GCC visibility push(hidden)
void itemsAvx2(const Problem &p, int64_t begin, int64_t end, float *scratch);
void itemsAvx512(const Problem &p, int64_t begin, int64_t end, float *scratch);
void widenBf16Avx2(const uint16_t *src, int64_t n, float *dst);
void widenBf16Avx512(const uint16_t *src, int64_t n, float *dst);
void narrowBf16Avx512(const float *src, int64_t n, uint16_t *dst);
void widenF8Avx512(const uint8_t *src, int64_t n, float *dst);
void narrowF8Avx512(const float *src, int64_t n, uint8_t *dst);
// Items of fewer than 16 rows (decode steps, grouped queries among them)
// over p.k16 and p.v16 with head dims d % 16 == 0 and dv % 64 == 0, both of
// unit inner stride (bf16DirectFits).
void itemsAvx512Bf16(const Problem &p, int64_t begin, int64_t end,
                     float *scratch);
// The same over p.k8 and p.v8, an f8E4M3FN cache.
void itemsAvx512F8(const Problem &p, int64_t begin, int64_t end,
                   float *scratch);
#pragma GCC visibility pop
#endif
#if defined(__aarch64__)
// Hidden like its definition (arm/AttentionNeon.cpp).
#pragma GCC visibility push(hidden)
void itemsNeon(const Problem &p, int64_t begin, int64_t end, float *scratch);
#pragma GCC visibility pop
#endif

namespace {

// Where expNonPositive's steps clamp their argument, a little above expf's
// normal range (-87.3365): at its bottom the steps' product is subnormal,
// and every masked score (and a vector's worth of them) took a microcode
// assist on its way to 0.
constexpr float kExpFloor = -87.33653f;

// exp(x) for x <= 0 (every argument here is a difference from a running
// max): Cephes' expf polynomial on x - n ln 2, scaled by 2^n through the
// exponent bits. Branch-free, so the loops around it vectorize; within 2
// ulp (but e^kExpFloor between the bottom of expf's normal range and
// kExpFloor, 2e-5 wide), and exactly 0 below that range, as for masked
// scores.
__attribute__((always_inline)) inline float expNonPositive(float x) {
  const float lo = -87.3365447505531f;
  float xc = x < kExpFloor ? kExpFloor : (x > 0.0f ? 0.0f : x);
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

// One element of a narrow cache: bf16 bits in uint16_t, f8E4M3FN in uint8_t.
inline float widenOne(uint16_t bits) { return bf16ToF32(bits); }
inline float widenOne(uint8_t bits) { return f8e4m3ToF32(bits); }
inline void narrowOne(float f, uint16_t &to) { to = f32ToBf16(f); }
inline void narrowOne(float f, uint8_t &to) { to = f32ToF8e4m3(f); }

// WidenOf's and NarrowOf's loops, which the compiler vectorizes for the
// file's ISA.
template <class Elem>
inline void widenPortable(const Elem *src, int64_t n, float *dst) {
  for (int64_t i = 0; i < n; ++i)
    dst[i] = widenOne(src[i]);
}

template <class Elem>
inline void narrowPortable(const float *src, int64_t n, Elem *dst) {
  for (int64_t i = 0; i < n; ++i)
    narrowOne(src[i], dst[i]);
}

// Whether itemsAvx512Bf16 (and itemsAvx512F8) take items of `rows` rows of
// `p`.
inline bool bf16DirectFits(const Problem &p, int64_t rows, int64_t kInner,
                           int64_t vInner) {
  return rows < 16 && p.d % 16 == 0 && p.dv % 64 == 0 && kInner == 1 &&
         vInner == 1;
}

// Where item (b, hkv)'s keys and values start: p.k and p.v, or p.k16 and
// p.v16 for a bf16 cache read in place.
template <class Elem> const Elem *keysOf(const Problem &p);
template <> inline const float *keysOf<float>(const Problem &p) { return p.k; }
template <> inline const uint16_t *keysOf<uint16_t>(const Problem &p) {
  return p.k16;
}
template <class Elem> const Elem *valuesOf(const Problem &p);
template <> inline const float *valuesOf<float>(const Problem &p) {
  return p.v;
}
template <> inline const uint16_t *valuesOf<uint16_t>(const Problem &p) {
  return p.v16;
}
template <> inline const uint8_t *keysOf<uint8_t>(const Problem &p) {
  return p.k8;
}
template <> inline const uint8_t *valuesOf<uint8_t>(const Problem &p) {
  return p.v8;
}

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

// Keys [0, end) some row of `it` sees: all, or up to the last query's
// causal limit.
__attribute__((always_inline)) inline int64_t keyEndOf(const Problem &p,
                                                       const Item &it) {
  if (!p.causal)
    return p.sk;
  int64_t last = it.i0 + it.nq - 1 + (p.sk - p.sq) + 1;
  return last < p.sk ? last : p.sk;
}

// out rows of `it` = acc / rowSum, acc [rows][dv].
__attribute__((always_inline)) inline void
writeItemOutput(const Problem &p, const Item &it, const float *acc,
                const float *rowSum) {
  for (int64_t r = 0; r < it.rows; ++r) {
    int64_t h = it.hkv * p.group + r / it.nq, i = it.i0 + r % it.nq;
    float *o = p.out + it.b * p.os[0] + h * p.os[1] + i * p.os[2];
    // A row that sees no key at all is 0/0, as softmax over -inf is.
    float inv = 1.0f / rowSum[r];
    for (int64_t n = 0; n < p.dv; ++n)
      o[n * p.os[3]] = acc[r * p.dv + n] * inv;
  }
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
// One work item
//===----------------------------------------------------------------------===//

template <class Blocks, class Elem = float>
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

  const int64_t keyEnd = keyEndOf(p, it);
  const Elem *keys = keysOf<Elem>(p) + it.b * p.ks[0] + it.hkv * p.ks[1];
  const Elem *values = valuesOf<Elem>(p) + it.b * p.vs[0] + it.hkv * p.vs[1];
  for (int64_t j0 = 0; j0 < keyEnd; j0 += kKeyBlock) {
    int64_t bk = keyEnd - j0 < kKeyBlock ? keyEnd - j0 : kKeyBlock;
    Blocks::scores(p, rows, qp, keys + j0 * p.ks[2], bk, kt, s);
    for (int64_t r = 0; r < rows; ++r) {
      int64_t h = it.hkv * p.group + r / it.nq, i = it.i0 + r % it.nq;
      float *sr = s + r * kKeyBlock;
      if (p.mask) {
        const float *mr =
            p.mask + it.b * p.ms[0] + h * p.ms[1] + i * p.ms[2] + j0 * p.ms[3];
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
      // A row's first block has nothing to rescale: e^-inf is 0, and its
      // branch-free steps would end in a subnormal, a microcode assist in
      // each item of a decode step.
      float rescale =
          rowMax[r] == -INFINITY ? 0.0f : expNonPositive(rowMax[r] - newMax);
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
  writeItemOutput(p, it, acc, rowSum);
}

} // namespace
} // namespace kiln::attention

#endif // KILN_RUNTIME_KERNELS_ATTENTIONITEM_H
