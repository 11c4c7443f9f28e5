//===- Bf16GemmNeonBf16.cpp - bf16 GEMM with Arm's BF16 extension ---------===//
//
// kBf16NeonBf16 (Bf16GemmKernels.h). Rows go in pairs through bfmmla (2x4
// by 4x2 blocks into 2x2 f32, tilePairsMmla), and a last single row through
// bfdot: a pair of k for 16 columns of the packed weight (Bf16Packing.h) is
// four q registers of 4 columns x 2 k, the operand of bfdot, which adds the
// products of a pair to each f32 lane; its by-element form takes the
// activation pair from a lane of a register holding four pairs of the row.
// Both read the layout vdpbf16ps reads on x86.
//
// Compiled with -march=armv8.2-a+bf16 (runtime/CMakeLists.txt); the driver
// calls this only where getauxval reports HWCAP2_BF16.
//
//===----------------------------------------------------------------------===//

#include "kernels/Bf16GemmKernels.h"
#include "kernels/Bf16Packing.h"

#include <arm_neon.h>

namespace kiln::bf16 {

namespace {

__attribute__((always_inline)) inline bfloat16x8_t load8(const uint16_t *p) {
  return vreinterpretq_bf16_u16(vld1q_u16(p));
}

// acc += the pairs of b times pair `Lane` of a. LLVM 22 lowers
// vbfdotq_laneq_f32 to a dup and the vector bfdot, one more instruction per
// four bfdot in the tile; this is the by-element form itself.
template <int Lane>
__attribute__((always_inline)) inline float32x4_t
bfdotLane(float32x4_t acc, bfloat16x8_t b, bfloat16x8_t a) {
  asm("bfdot %0.4s, %1.8h, %2.2h[%3]" : "+w"(acc) : "w"(b), "w"(a), "i"(Lane));
  return acc;
}

// Row i of c, columns n0 .. n0 + cols, from its 16 sums, with the bias.
__attribute__((always_inline)) inline void storeRow(const Bf16Problem &p,
                                                    int64_t i, int64_t n0,
                                                    int64_t cols,
                                                    const float (&out)[16]) {
  float *row = p.c + i * p.scm + n0 * p.scn;
  for (int64_t j = 0; j < cols; ++j)
    row[j * p.scn] = p.bias ? out[j] + p.bias[n0 + j] : out[j];
}

// Row i of the block x one panel with bfdot by element (a decode step, or
// the odd last row): 4 accumulators, 8 k per iteration as 16 bfdot.
__attribute__((always_inline)) inline void tileRow(const Bf16Problem &p,
                                                   int64_t i, const uint16_t *b,
                                                   int64_t n0, int64_t cols) {
  float32x4_t acc[4];
#pragma clang loop unroll(full)
  for (int v = 0; v < 4; ++v)
    acc[v] = vdupq_n_f32(0.0f);
  const uint16_t *a = p.a + i * p.sam;
  int64_t kk = 0;
  for (; kk + 8 <= p.k; kk += 8) {
    bfloat16x8_t av = load8(a + kk);
#define KILN_BFDOT_PAIR(lane)                                                  \
  {                                                                            \
    const uint16_t *bp = b + (kk / 2 + (lane)) * 32;                           \
    _Pragma("clang loop unroll(full)") for (int v = 0; v < 4; ++v) acc[v] =    \
        bfdotLane<lane>(acc[v], load8(bp + 8 * v), av);                        \
  }
    KILN_BFDOT_PAIR(0)
    KILN_BFDOT_PAIR(1)
    KILN_BFDOT_PAIR(2)
    KILN_BFDOT_PAIR(3)
#undef KILN_BFDOT_PAIR
  }
  // The last k < 8 one pair at a time, the activation past k as zeros (the
  // weight is zero-padded to kp, the activation row ends at k).
  for (; kk < p.k; kk += 2) {
    const uint16_t *bp = b + (kk / 2) * 32;
    uint16_t pair[8] = {a[kk], kk + 1 < p.k ? a[kk + 1] : uint16_t(0)};
    bfloat16x8_t av = load8(pair);
#pragma clang loop unroll(full)
    for (int v = 0; v < 4; ++v)
      acc[v] = bfdotLane<0>(acc[v], load8(bp + 8 * v), av);
  }
  float out[16];
#pragma clang loop unroll(full)
  for (int v = 0; v < 4; ++v)
    vst1q_f32(out + 4 * v, acc[v]);
  storeRow(p, i, n0, cols, out);
}

// Rows [i, i + 2 * Pairs) x one panel with bfmmla, which multiplies a
// 2x4 block of A (two rows, four k) by the transpose of a 2x4 block of B
// (two columns, four k) into a 2x2 block of f32: 16 multiply-adds, twice a
// bfdot's. The panel holds each column's k in pairs, 64 bytes per pair of
// k (Bf16Packing.h); zipping the 32-bit lanes of two such rows gives the
// four k of two adjacent columns, so the x86 layout serves here too.
template <int Pairs>
__attribute__((always_inline)) inline void
tilePairsMmla(const Bf16Problem &p, int64_t i, const uint16_t *b, int64_t n0,
              int64_t cols) {
  // acc[q][c]: rows 2q, 2q + 1 x columns 2c, 2c + 1, as r0c0 r0c1 r1c0 r1c1.
  float32x4_t acc[Pairs][8];
#pragma clang loop unroll(full)
  for (int q = 0; q < Pairs; ++q)
#pragma clang loop unroll(full)
    for (int c = 0; c < 8; ++c)
      acc[q][c] = vdupq_n_f32(0.0f);
  const uint16_t *a[2 * Pairs];
#pragma clang loop unroll(full)
  for (int r = 0; r < 2 * Pairs; ++r)
    a[r] = p.a + (i + r) * p.sam;
  auto step = [&](const bfloat16x8_t(&av)[Pairs], const uint16_t *bq) {
#pragma clang loop unroll(full)
    for (int g = 0; g < 4; ++g) { // columns 4g .. 4g + 3
      uint32x4_t lo = vld1q_u32(reinterpret_cast<const uint32_t *>(bq + 8 * g));
      uint32x4_t hi =
          vld1q_u32(reinterpret_cast<const uint32_t *>(bq + 32 + 8 * g));
      bfloat16x8_t b0 = vreinterpretq_bf16_u32(vzip1q_u32(lo, hi));
      bfloat16x8_t b1 = vreinterpretq_bf16_u32(vzip2q_u32(lo, hi));
#pragma clang loop unroll(full)
      for (int q = 0; q < Pairs; ++q) {
        acc[q][2 * g] = vbfmmlaq_f32(acc[q][2 * g], av[q], b0);
        acc[q][2 * g + 1] = vbfmmlaq_f32(acc[q][2 * g + 1], av[q], b1);
      }
    }
  };
  int64_t kk = 0;
  for (; kk + 8 <= p.k; kk += 8) {
    bfloat16x8_t lo[Pairs], hi[Pairs];
#pragma clang loop unroll(full)
    for (int q = 0; q < Pairs; ++q) {
      uint64x2_t r0 =
          vld1q_u64(reinterpret_cast<const uint64_t *>(a[2 * q] + kk));
      uint64x2_t r1 =
          vld1q_u64(reinterpret_cast<const uint64_t *>(a[2 * q + 1] + kk));
      lo[q] = vreinterpretq_bf16_u64(vzip1q_u64(r0, r1)); // k .. k + 3
      hi[q] = vreinterpretq_bf16_u64(vzip2q_u64(r0, r1)); // k + 4 .. k + 7
    }
    step(lo, b + (kk / 2) * 32);
    step(hi, b + (kk / 2 + 2) * 32);
  }
  // The last k < 8 four at a time, the activation past k as zeros (the
  // weight is zero-padded to a multiple of 32 k).
  for (; kk < p.k; kk += 4) {
    bfloat16x8_t av[Pairs];
#pragma clang loop unroll(full)
    for (int q = 0; q < Pairs; ++q) {
      uint16_t block[8] = {};
      for (int r = 0; r < 2; ++r)
        for (int64_t t = 0; t < 4 && kk + t < p.k; ++t)
          block[4 * r + t] = a[2 * q + r][kk + t];
      av[q] = load8(block);
    }
    step(av, b + (kk / 2) * 32);
  }
#pragma clang loop unroll(full)
  for (int q = 0; q < Pairs; ++q) {
    float out[2][16];
#pragma clang loop unroll(full)
    for (int c = 0; c < 8; ++c) {
      vst1_f32(out[0] + 2 * c, vget_low_f32(acc[q][c]));
      vst1_f32(out[1] + 2 * c, vget_high_f32(acc[q][c]));
    }
    storeRow(p, i + 2 * q, n0, cols, out[0]);
    storeRow(p, i + 2 * q + 1, n0, cols, out[1]);
  }
}

} // namespace

void gemmNeonBf16(const Bf16Problem &p, int64_t m0, int64_t rows, int64_t first,
                  int64_t last) {
  if (p.sak != 1) // rows read 8 k at a time; strided ones go generic
    return kBf16Generic.gemm(p, m0, rows, first, last);
  for (int64_t panel = first; panel < last; ++panel) {
    const uint16_t *b = p.panels + panel * p.panelStride;
    const int64_t n0 = panel * kBf16Panel;
    const int64_t cols = p.n - n0 < kBf16Panel ? p.n - n0 : kBf16Panel;
    // Rows in pairs through bfmmla; a last single row (a decode step of one
    // sequence) through bfdot, which wastes no half of the multiply.
    int64_t i = m0;
    for (; i + 4 <= m0 + rows; i += 4)
      tilePairsMmla<2>(p, i, b, n0, cols);
    if (i + 2 <= m0 + rows) {
      tilePairsMmla<1>(p, i, b, n0, cols);
      i += 2;
    }
    if (i < m0 + rows)
      tileRow(p, i, b, n0, cols);
    if (p.activationFn)
      p.activationFn(p.activation, p.c + m0 * p.scm + n0 * p.scn, rows, cols,
                     p.scm, p.scn, n0);
  }
}

} // namespace kiln::bf16
