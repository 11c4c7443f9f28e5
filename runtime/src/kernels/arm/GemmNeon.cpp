//===- GemmNeon.cpp - fp32 GEMM kernels for aarch64 NEON ------------------===//
//
// The 4x16 microkernel tile of kMatmulNeon (MatmulMicrokernels.h) and the
// few-row loops over compile-time-packed panels, which are 16 columns wide
// on aarch64 (KILN_RT_PACKED_PANEL): one k step of a panel is four q
// registers. NEON has 32 of them, so the tile keeps 4x16 accumulators in 16
// and multiplies with the by-element form of fmla, the A value taken from a
// lane of a register that holds four k steps of its row (no dup, and one
// load of A per four k steps). 16 independent accumulators cover the 4-cycle
// fmla latency on two pipes, as on Neoverse N1 and Cortex-A76.
//
// NEON is part of the base aarch64 ISA, so this file needs no flags of its
// own and the drivers need no check before calling it.
//
//===----------------------------------------------------------------------===//

#include "kernels/MatmulMicrokernels.h"
#include "kernels/RowStreaming.h"

#include <arm_neon.h>

namespace kiln {

namespace {

constexpr int kMr = 4;
constexpr int kNr = 16;

// acc[r][0..3] += the four k steps of b (4 x 16) times lanes of a[r].
__attribute__((always_inline)) inline void
fourSteps(float32x4_t (&acc)[kMr][4], const float32x4_t (&a)[kMr],
          const float *b) {
#define KILN_NEON_STEP(lane)                                                   \
  {                                                                            \
    float32x4_t b0 = vld1q_f32(b + (lane) * kNr);                              \
    float32x4_t b1 = vld1q_f32(b + (lane) * kNr + 4);                          \
    float32x4_t b2 = vld1q_f32(b + (lane) * kNr + 8);                          \
    float32x4_t b3 = vld1q_f32(b + (lane) * kNr + 12);                         \
    for (int r = 0; r < kMr; ++r) {                                            \
      acc[r][0] = vfmaq_laneq_f32(acc[r][0], b0, a[r], lane);                  \
      acc[r][1] = vfmaq_laneq_f32(acc[r][1], b1, a[r], lane);                  \
      acc[r][2] = vfmaq_laneq_f32(acc[r][2], b2, a[r], lane);                  \
      acc[r][3] = vfmaq_laneq_f32(acc[r][3], b3, a[r], lane);                  \
    }                                                                          \
  }
  KILN_NEON_STEP(0)
  KILN_NEON_STEP(1)
  KILN_NEON_STEP(2)
  KILN_NEON_STEP(3)
#undef KILN_NEON_STEP
}

__attribute__((always_inline)) inline void
storeTile(float32x4_t (&acc)[kMr][4], float *c, int64_t ldc, bool accumulate) {
  for (int r = 0; r < kMr; ++r) {
    float *row = c + r * ldc;
    for (int q = 0; q < 4; ++q) {
      float32x4_t v = acc[r][q];
      if (accumulate)
        v = vaddq_f32(vld1q_f32(row + 4 * q), v);
      vst1q_f32(row + 4 * q, v);
    }
  }
}

// The tile with its A rows at a, lda floats apart (lda 1 is never used):
// `packed` reads A as kc steps of kMr values instead.
template <bool Packed>
__attribute__((always_inline)) inline void
tileBody(int64_t kc, const float *__restrict a, int64_t lda,
         const float *__restrict b, float *c, int64_t ldc, bool accumulate) {
  float32x4_t acc[kMr][4];
  for (int r = 0; r < kMr; ++r)
    for (int q = 0; q < 4; ++q)
      acc[r][q] = vdupq_n_f32(0.0f);
  int64_t k = 0;
  for (; k + 4 <= kc; k += 4) {
    float32x4_t av[kMr];
    if constexpr (Packed) {
      // Four steps of kMr packed values, transposed to a row per register.
      float32x4x4_t t = vld4q_f32(a + k * kMr);
      // vld4 deinterleaves by row: t.val[r] lane s = a[(k + s) * kMr + r].
      for (int r = 0; r < kMr; ++r)
        av[r] = t.val[r];
    } else {
      for (int r = 0; r < kMr; ++r)
        av[r] = vld1q_f32(a + r * lda + k);
    }
    fourSteps(acc, av, b + k * kNr);
  }
  for (; k < kc; ++k) {
    float32x4_t b0 = vld1q_f32(b + k * kNr), b1 = vld1q_f32(b + k * kNr + 4);
    float32x4_t b2 = vld1q_f32(b + k * kNr + 8);
    float32x4_t b3 = vld1q_f32(b + k * kNr + 12);
    for (int r = 0; r < kMr; ++r) {
      float av = Packed ? a[k * kMr + r] : a[r * lda + k];
      acc[r][0] = vfmaq_n_f32(acc[r][0], b0, av);
      acc[r][1] = vfmaq_n_f32(acc[r][1], b1, av);
      acc[r][2] = vfmaq_n_f32(acc[r][2], b2, av);
      acc[r][3] = vfmaq_n_f32(acc[r][3], b3, av);
    }
  }
  storeTile(acc, c, ldc, accumulate);
}

} // namespace

void tileNeon(int64_t kc, const float *a, const float *b, float *c, int64_t ldc,
              bool accumulate) {
  tileBody<true>(kc, a, 0, b, c, ldc, accumulate);
}

void directTileNeon(int64_t kc, const float *a, int64_t lda, const float *b,
                    float *c, int64_t ldc, bool accumulate) {
  tileBody<false>(kc, a, lda, b, c, ldc, accumulate);
}

} // namespace kiln

namespace kiln::gemm {

namespace {

static_assert(kPackedPanel == 16, "aarch64 packs weights in 16-column panels");

// Rows x (Panels * 16) of C from Panels consecutive packed panels, each read
// once front to back, with Rows * Panels * 4 accumulators in registers.
template <int Rows, int Panels>
__attribute__((always_inline)) inline void panelTileNeon(const PanelProblem &p,
                                                         int64_t panel) {
  constexpr int V = Panels * 4;
  float32x4_t acc[Rows][V];
  for (int r = 0; r < Rows; ++r)
    for (int v = 0; v < V; ++v)
      acc[r][v] = vdupq_n_f32(0.0f);
  const float *b = p.packed + panel * p.k * kPackedPanel;
  for (int64_t k = 0; k < p.k; ++k) {
    float32x4_t bv[V];
    for (int v = 0; v < V; ++v)
      bv[v] = vld1q_f32(b + (v / 4) * p.k * kPackedPanel + k * kPackedPanel +
                        4 * (v % 4));
    for (int r = 0; r < Rows; ++r) {
      float av = p.a[r * p.sam + k * p.sak];
      for (int v = 0; v < V; ++v)
        acc[r][v] = vfmaq_n_f32(acc[r][v], bv[v], av);
    }
  }
  int64_t n0 = panel * kPackedPanel;
  int64_t cols = p.n - n0 < V * 4 ? p.n - n0 : V * 4;
  for (int r = 0; r < Rows; ++r) {
    float *row = p.c + r * p.scm + n0 * p.scn;
    if (cols == V * 4 && p.scn == 1) {
      for (int v = 0; v < V; ++v)
        vst1q_f32(row + 4 * v, acc[r][v]);
      continue;
    }
    float tmp[V * 4];
    for (int v = 0; v < V; ++v)
      vst1q_f32(tmp + 4 * v, acc[r][v]);
    for (int64_t j = 0; j < cols; ++j)
      row[j * p.scn] = tmp[j];
  }
  if (p.epilogueFn)
    p.epilogueFn(p.epilogue, p.c + n0 * p.scn, Rows, cols, p.scm, p.scn, n0);
}

// Up to 2 rows take two panels at a time (8 or 16 accumulators, more
// independent chains); 3 to 6 rows take one (up to 24 accumulators, with 4
// registers for the panel's step).
template <int Rows>
void panelItemNeon(const PanelProblem &p, int64_t first, int64_t last) {
  int64_t panel = first;
  if constexpr (Rows <= 2)
    for (; panel + 2 <= last; panel += 2)
      panelTileNeon<Rows, 2>(p, panel);
  for (; panel < last; ++panel)
    panelTileNeon<Rows, 1>(p, panel);
}

void panelRowsUpTo6Neon(const PanelProblem &p, int64_t first, int64_t last) {
  switch (p.m) {
  case 1:
    return panelItemNeon<1>(p, first, last);
  case 2:
    return panelItemNeon<2>(p, first, last);
  case 3:
    return panelItemNeon<3>(p, first, last);
  case 4:
    return panelItemNeon<4>(p, first, last);
  case 5:
    return panelItemNeon<5>(p, first, last);
  default:
    return panelItemNeon<6>(p, first, last);
  }
}

} // namespace

void streamRowsNeon(const Problem &p, int64_t item) { streamRowsAnyM(p, item); }

void panelRowsNeon(const PanelProblem &p, int64_t first, int64_t last) {
  // 6 rows x 4 accumulators fill 24 of the 32 q registers.
  panelRowsInGroups<6>(p, first, last, panelRowsUpTo6Neon);
}

} // namespace kiln::gemm
