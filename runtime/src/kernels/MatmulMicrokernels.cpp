//===- MatmulMicrokernels.cpp - Register-blocked fp32 GEMM tiles ----------===//
//
// Tile sizes fill the register file: AVX-512 keeps 8x32 accumulators in 16 of
// 32 zmm registers (enough independent FMAs to cover a 4-cycle latency at two
// per cycle), AVX2 keeps 6x16 in 12 of 16 ymm registers. The x86 variants are
// compiled with target attributes and chosen at run time (kernelFor in
// BlockedGemm.cpp), so the library itself still runs on any x86-64.
//
//===----------------------------------------------------------------------===//

#include "kernels/MatmulMicrokernels.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace kiln {

namespace {

// Plain C++ so it builds everywhere; the compiler vectorizes the j loops.
constexpr int kGenericMr = 4;
constexpr int kGenericNr = 16;

void tileGeneric(int64_t kc, const float *__restrict a,
                 const float *__restrict b, float *c, int64_t ldc,
                 bool accumulate) {
  float acc[kGenericMr][kGenericNr] = {};
  for (int64_t k = 0; k < kc; ++k) {
    for (int r = 0; r < kGenericMr; ++r)
      for (int j = 0; j < kGenericNr; ++j)
        acc[r][j] += a[r] * b[j];
    a += kGenericMr;
    b += kGenericNr;
  }
  for (int r = 0; r < kGenericMr; ++r)
    for (int j = 0; j < kGenericNr; ++j)
      c[r * ldc + j] = accumulate ? c[r * ldc + j] + acc[r][j] : acc[r][j];
}

#if defined(__x86_64__)

__attribute__((target("avx2,fma"))) void
tileAvx2(int64_t kc, const float *__restrict a, const float *__restrict b,
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

// A's element (row r, step k) is a[k * 8 + r] in a packed panel and
// a[r * lda + k] read in place.
template <bool DirectA>
__attribute__((target("avx512f"), always_inline)) inline void
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

__attribute__((target("avx512f"))) void
tileAvx512(int64_t kc, const float *__restrict a, const float *__restrict b,
           float *c, int64_t ldc, bool accumulate) {
  tileAvx512Body<false>(kc, a, 0, b, c, ldc, accumulate);
}

__attribute__((target("avx512f"))) void
directTileAvx512(int64_t kc, const float *__restrict a, int64_t lda,
                 const float *__restrict b, float *c, int64_t ldc,
                 bool accumulate) {
  tileAvx512Body<true>(kc, a, lda, b, c, ldc, accumulate);
}

#endif // __x86_64__

} // namespace

const MatmulMicrokernel kMatmulGeneric = {kGenericMr, kGenericNr, tileGeneric,
                                          nullptr};
#if defined(__x86_64__)
const MatmulMicrokernel kMatmulAvx2 = {6, 16, tileAvx2, nullptr};
const MatmulMicrokernel kMatmulAvx512 = {8, 32, tileAvx512,
                                         directTileAvx512};
#else
const MatmulMicrokernel kMatmulAvx2 = kMatmulGeneric;
const MatmulMicrokernel kMatmulAvx512 = kMatmulGeneric;
#endif

} // namespace kiln
