//===- Bf16GemmNeonBf16.cpp - bf16 GEMM with Arm's BF16 extension ---------===//
//
// kBf16NeonBf16 (Bf16GemmKernels.h). A pair of k for 16 columns of the
// packed weight (Bf16Packing.h) is four q registers of 4 columns x 2 k: the
// operand of bfdot, which adds the products of a pair to each f32 lane. Its
// by-element form takes the activation pair from a lane of a register that
// holds four pairs (8 k) of one row, so a 4-row tile keeps 16 accumulators
// and runs 8 k per iteration as 64 bfdot. The layout is the one vdpbf16ps
// reads on x86; bfmmla (2x4 by 4x2 blocks) would need a layout of its own.
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

constexpr int kRows = 4;

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

// Rows [i, i + Rows) of the block x one panel.
template <int Rows>
__attribute__((always_inline)) inline void
tileRows(const Bf16Problem &p, int64_t i, const uint16_t *b, int64_t n0,
         int64_t cols) {
  float32x4_t acc[Rows][4];
#pragma clang loop unroll(full)
  for (int r = 0; r < Rows; ++r)
#pragma clang loop unroll(full)
    for (int v = 0; v < 4; ++v)
      acc[r][v] = vdupq_n_f32(0.0f);
  const uint16_t *a[Rows];
#pragma clang loop unroll(full)
  for (int r = 0; r < Rows; ++r)
    a[r] = p.a + (i + r) * p.sam;
  int64_t kk = 0;
  for (; kk + 8 <= p.k; kk += 8) {
    bfloat16x8_t av[Rows];
#pragma clang loop unroll(full)
    for (int r = 0; r < Rows; ++r)
      av[r] = load8(a[r] + kk);
#define KILN_BFDOT_PAIR(lane)                                                  \
  {                                                                            \
    const uint16_t *bp = b + (kk / 2 + (lane)) * 32;                           \
    bfloat16x8_t b0 = load8(bp), b1 = load8(bp + 8);                           \
    bfloat16x8_t b2 = load8(bp + 16), b3 = load8(bp + 24);                     \
    _Pragma("clang loop unroll(full)") for (int r = 0; r < Rows; ++r) {        \
      acc[r][0] = bfdotLane<lane>(acc[r][0], b0, av[r]);                       \
      acc[r][1] = bfdotLane<lane>(acc[r][1], b1, av[r]);                       \
      acc[r][2] = bfdotLane<lane>(acc[r][2], b2, av[r]);                       \
      acc[r][3] = bfdotLane<lane>(acc[r][3], b3, av[r]);                       \
    }                                                                          \
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
#pragma clang loop unroll(full)
    for (int r = 0; r < Rows; ++r) {
      uint16_t pair[8] = {a[r][kk], kk + 1 < p.k ? a[r][kk + 1] : uint16_t(0)};
      bfloat16x8_t av = load8(pair);
#pragma clang loop unroll(full)
      for (int v = 0; v < 4; ++v)
        acc[r][v] = bfdotLane<0>(acc[r][v], load8(bp + 8 * v), av);
    }
  }
#pragma clang loop unroll(full)
  for (int r = 0; r < Rows; ++r) {
    float out[16];
#pragma clang loop unroll(full)
    for (int v = 0; v < 4; ++v)
      vst1q_f32(out + 4 * v, acc[r][v]);
    float *row = p.c + (i + r) * p.scm + n0 * p.scn;
    for (int64_t j = 0; j < cols; ++j)
      row[j * p.scn] = p.bias ? out[j] + p.bias[n0 + j] : out[j];
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
    int64_t i = m0;
    for (; i + kRows <= m0 + rows; i += kRows)
      tileRows<kRows>(p, i, b, n0, cols);
    switch (m0 + rows - i) {
    case 3:
      tileRows<3>(p, i, b, n0, cols);
      break;
    case 2:
      tileRows<2>(p, i, b, n0, cols);
      break;
    case 1:
      tileRows<1>(p, i, b, n0, cols);
      break;
    default:
      break;
    }
    if (p.activationFn)
      p.activationFn(p.activation, p.c + m0 * p.scm + n0 * p.scn, rows, cols,
                     p.scm, p.scn, n0);
  }
}

} // namespace kiln::bf16
