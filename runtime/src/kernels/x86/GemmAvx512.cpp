//===- GemmAvx512.cpp - fp32 GEMM kernels for AVX-512 ---------------------===//
//
// The few-row loops (RowStreaming.h, with panel tiles in explicit registers),
// the 8x32 microkernel tiles of kMatmulAvx512 (MatmulMicrokernels.h) and the
// epilogue (GemmEpilogueLoops.h) for AVX-512. Compiled with -mavx512f
// (runtime/CMakeLists.txt); the drivers call these only on CPUs that have it
// (CpuFeatures.h).
//
//===----------------------------------------------------------------------===//

#include "kernels/GemmEpilogueLoops.h"
#include "kernels/MatmulMicrokernels.h"
#include "kernels/RowStreaming.h"

#include <immintrin.h>

namespace kiln::gemm {

void streamRowsAvx512(const Problem &p, int64_t item) {
  streamRowsAnyM(p, item);
}

namespace {

// Explicit registers: the compiler's SLP vectorizer leaves panelRowsBody
// scalar for more than one row.
//
// Floats of a panel fetched ahead of use (4 KiB): with 8 rows the FMAs fill
// the out-of-order window and the hardware prefetcher falls behind; measured
// on a GPT-2 decode step's weights (kiln_matmul_bench decode 8 2), 12.3 ms
// without, 10.5 ms with; one row is unchanged.
constexpr int64_t kPanelPrefetch = 1024;
template <int Rows, int Panels>
__attribute__((always_inline)) inline void
panelTileAvx512(const PanelProblem &p, int64_t panel) {
  constexpr int64_t W = kPackedPanel;
  constexpr int V = Panels * 2; // zmm per row
  __m512 acc[Rows][V];
#pragma clang loop unroll(full)
  for (int r = 0; r < Rows; ++r)
#pragma clang loop unroll(full)
    for (int c = 0; c < V; ++c)
      acc[r][c] = _mm512_setzero_ps();
  const float *b = p.packed + panel * p.k * W;
  const int64_t panelStride = p.k * W;
  for (int64_t k = 0; k < p.k; ++k) {
    __m512 bv[V];
#pragma clang loop unroll(full)
    for (int q = 0; q < Panels; ++q) {
      const float *row = b + q * panelStride + k * W;
      _mm_prefetch(reinterpret_cast<const char *>(row + kPanelPrefetch),
                   _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char *>(row + kPanelPrefetch + 16),
                   _MM_HINT_T0);
      bv[2 * q] = _mm512_loadu_ps(row);
      bv[2 * q + 1] = _mm512_loadu_ps(row + 16);
    }
#pragma clang loop unroll(full)
    for (int r = 0; r < Rows; ++r) {
      __m512 av = _mm512_set1_ps(p.a[r * p.sam + k * p.sak]);
#pragma clang loop unroll(full)
      for (int c = 0; c < V; ++c)
        acc[r][c] = _mm512_fmadd_ps(av, bv[c], acc[r][c]);
    }
  }
  int64_t n0 = panel * W;
  int64_t cols = p.n - n0 < Panels * W ? p.n - n0 : Panels * W;
  for (int r = 0; r < Rows; ++r) {
    float *row = p.c + r * p.scm + n0 * p.scn;
    if (cols == Panels * W && p.scn == 1) {
#pragma clang loop unroll(full)
      for (int c = 0; c < V; ++c)
        _mm512_storeu_ps(row + 16 * c, acc[r][c]);
      continue;
    }
    alignas(64) float tmp[Panels * W];
#pragma clang loop unroll(full)
    for (int c = 0; c < V; ++c)
      _mm512_store_ps(tmp + 16 * c, acc[r][c]);
    for (int64_t j = 0; j < cols; ++j)
      row[j * p.scn] = tmp[j];
  }
  if (p.epilogueFn)
    p.epilogueFn(p.epilogue, p.c + n0 * p.scn, Rows, cols, p.scm, p.scn, n0);
}

template <int Rows>
void panelItemAvx512(const PanelProblem &p, int64_t first, int64_t last) {
  int64_t panel = first;
  if constexpr (Rows <= 4)
    for (; panel + 2 <= last; panel += 2)
      panelTileAvx512<Rows, 2>(p, panel);
  for (; panel < last; ++panel)
    panelTileAvx512<Rows, 1>(p, panel);
}

void panelRowsUpTo8Avx512(const PanelProblem &p, int64_t first, int64_t last) {
  switch (p.m) {
  case 1:
    return panelItemAvx512<1>(p, first, last);
  case 2:
    return panelItemAvx512<2>(p, first, last);
  case 3:
    return panelItemAvx512<3>(p, first, last);
  case 4:
    return panelItemAvx512<4>(p, first, last);
  case 5:
    return panelItemAvx512<5>(p, first, last);
  case 6:
    return panelItemAvx512<6>(p, first, last);
  case 7:
    return panelItemAvx512<7>(p, first, last);
  default:
    return panelItemAvx512<8>(p, first, last);
  }
}

} // namespace

void panelRowsAvx512(const PanelProblem &p, int64_t first, int64_t last) {
  panelRowsInGroups<8>(p, first, last, panelRowsUpTo8Avx512);
}

} // namespace kiln::gemm

namespace kiln {

namespace {

// A's element (row r, step k) is a[k * 8 + r] in a packed panel and
// a[r * lda + k] read in place.
template <bool DirectA>
__attribute__((always_inline)) inline void
tileAvx512Body(int64_t kc, const float *__restrict a, int64_t lda,
               const float *__restrict b, float *c, int64_t ldc,
               bool accumulate) {
  constexpr int kMr = 8;
  __m512 acc[kMr][2];
#pragma clang loop unroll(full)
  for (int r = 0; r < kMr; ++r)
    acc[r][0] = acc[r][1] = _mm512_setzero_ps();
  for (int64_t k = 0; k < kc; ++k) {
    __m512 b0 = _mm512_load_ps(b);
    __m512 b1 = _mm512_load_ps(b + 16);
#pragma clang loop unroll(full)
    for (int r = 0; r < kMr; ++r) {
      __m512 av = _mm512_set1_ps(DirectA ? a[r * lda + k] : a[k * kMr + r]);
      acc[r][0] = _mm512_fmadd_ps(av, b0, acc[r][0]);
      acc[r][1] = _mm512_fmadd_ps(av, b1, acc[r][1]);
    }
    b += 32;
  }
#pragma clang loop unroll(full)
  for (int r = 0; r < kMr; ++r) {
    float *row = c + r * ldc;
    if (accumulate) {
      acc[r][0] = _mm512_add_ps(acc[r][0], _mm512_loadu_ps(row));
      acc[r][1] = _mm512_add_ps(acc[r][1], _mm512_loadu_ps(row + 16));
    }
    _mm512_storeu_ps(row, acc[r][0]);
    _mm512_storeu_ps(row + 16, acc[r][1]);
  }
}

} // namespace

void tileAvx512(int64_t kc, const float *__restrict a,
                const float *__restrict b, float *c, int64_t ldc,
                bool accumulate) {
  tileAvx512Body<false>(kc, a, 0, b, c, ldc, accumulate);
}

void directTileAvx512(int64_t kc, const float *__restrict a, int64_t lda,
                      const float *__restrict b, float *c, int64_t ldc,
                      bool accumulate) {
  tileAvx512Body<true>(kc, a, lda, b, c, ldc, accumulate);
}

void epilogueAvx512(const Epilogue &e, float *c, int64_t rows, int64_t cols,
                    int64_t csm, int64_t csn, int64_t n0) {
  epilogueAnyActivation(e, c, rows, cols, csm, csn, n0);
}

} // namespace kiln
