//===- GemmAvx2.cpp - fp32 GEMM kernels for AVX2 and FMA ------------------===//
//
// The few-row loops (RowStreaming.h), the 6x16 microkernel tile of
// kMatmulAvx2 (MatmulMicrokernels.h) and the epilogue (GemmEpilogueLoops.h)
// for AVX2. Compiled with -mavx2 -mfma (runtime/CMakeLists.txt); the drivers
// call these only on CPUs that have both (CpuFeatures.h).
//
//===----------------------------------------------------------------------===//

#include "kernels/GemmEpilogueLoops.h"
#include "kernels/MatmulMicrokernels.h"
#include "kernels/RowStreaming.h"

#include <immintrin.h>

namespace kiln::gemm {

void streamRowsAvx2(const Problem &p, int64_t item) { streamRowsAnyM(p, item); }

void panelRowsAvx2(const PanelProblem &p, int64_t first, int64_t last) {
  panelRowsAnyM(p, first, last);
}

} // namespace kiln::gemm

namespace kiln {

void tileAvx2(int64_t kc, const float *__restrict a, const float *__restrict b,
              float *c, int64_t ldc, bool accumulate) {
  constexpr int kMr = 6;
  __m256 acc[kMr][2];
#pragma clang loop unroll(full)
  for (int r = 0; r < kMr; ++r)
    acc[r][0] = acc[r][1] = _mm256_setzero_ps();
  for (int64_t k = 0; k < kc; ++k) {
    __m256 b0 = _mm256_load_ps(b);
    __m256 b1 = _mm256_load_ps(b + 8);
#pragma clang loop unroll(full)
    for (int r = 0; r < kMr; ++r) {
      __m256 av = _mm256_broadcast_ss(a + r);
      acc[r][0] = _mm256_fmadd_ps(av, b0, acc[r][0]);
      acc[r][1] = _mm256_fmadd_ps(av, b1, acc[r][1]);
    }
    a += kMr;
    b += 16;
  }
#pragma clang loop unroll(full)
  for (int r = 0; r < kMr; ++r) {
    float *row = c + r * ldc;
    if (accumulate) {
      acc[r][0] = _mm256_add_ps(acc[r][0], _mm256_loadu_ps(row));
      acc[r][1] = _mm256_add_ps(acc[r][1], _mm256_loadu_ps(row + 8));
    }
    _mm256_storeu_ps(row, acc[r][0]);
    _mm256_storeu_ps(row + 8, acc[r][1]);
  }
}

void epilogueAvx2(const Epilogue &e, float *c, int64_t rows, int64_t cols,
                  int64_t csm, int64_t csn, int64_t n0) {
  epilogueAnyActivation(e, c, rows, cols, csm, csn, n0);
}

} // namespace kiln
