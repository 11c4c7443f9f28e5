//===- ActivationAvx512.h - GEMM activations on 16 lanes --------*- C++ -*-===//
//
// The activations of GemmEpilogueLoops.h on a register, for kernels that
// finish a tile in registers and store it once: applied after the store, the
// loads of a tile whose rows are a multiple of 4 KiB apart (BERT's 3072
// columns) miss L1, as every row falls in the same sets.
//
// The same formulas, with each division replaced by a reciprocal estimate
// and one Newton step (within 2 ulp): vdivps on 16 lanes costs more than the
// rest of GELU together. Unlike the scalar loops, the clamps keep every
// intermediate a normal float (expLanes, reciprocalLanes): a subnormal
// costs each vector instruction that reads it a microcode assist.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_RUNTIME_KERNELS_X86_ACTIVATIONAVX512_H
#define KILN_RUNTIME_KERNELS_X86_ACTIVATIONAVX512_H

#include "kernels/Kernels.h"

#include <immintrin.h>
#include <stdint.h>

namespace kiln::avx512 {
namespace {

// e^x, clamped to [-86, 88]: from -86 on the result is a normal float
// (e^-86 > 2^-125), never a subnormal that costs an assist.
__attribute__((always_inline)) inline __m512 expLanes(__m512 x) {
  x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-86.0f)),
                    _mm512_set1_ps(88.0f));
  const __m512 shifter = _mm512_set1_ps(12582912.0f);
  __m512 n = _mm512_sub_ps(
      _mm512_fmadd_ps(x, _mm512_set1_ps(1.44269504088896341f), shifter),
      shifter);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
  r = _mm512_fmadd_ps(n, _mm512_set1_ps(2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.0f / 720);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  __m512i bits = _mm512_slli_epi32(
      _mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
  return _mm512_mul_ps(p, _mm512_castsi512_ps(bits));
}

// 1 / d for finite d >= 1; for d past 2^126, 2^-126. A subnormal estimate
// would cost a microcode assist in each instruction that reads it, which
// made GELU-tanh's epilogue, whose d reaches e^88 for v < -10, 6 times the
// product it finishes (kiln_int8_gemm_bench, 16 x 768 x 3072 on AMX).
__attribute__((always_inline)) inline __m512 reciprocalLanes(__m512 d) {
  d = _mm512_min_ps(d, _mm512_set1_ps(0x1p126f));
  __m512 r = _mm512_rcp14_ps(d);
  return _mm512_fmadd_ps(r, _mm512_fnmadd_ps(d, r, _mm512_set1_ps(1.0f)), r);
}

__attribute__((always_inline)) inline __m512 erfLanes(__m512 x) {
  // erf is 1 to float precision from 4 on: the bound keeps the reciprocal's
  // argument finite (max returns its second operand for NaN).
  __m512 ax = _mm512_min_ps(_mm512_abs_ps(x), _mm512_set1_ps(1e4f));
  __m512 t = reciprocalLanes(
      _mm512_fmadd_ps(ax, _mm512_set1_ps(0.3275911f), _mm512_set1_ps(1.0f)));
  __m512 poly = _mm512_set1_ps(1.061405429f);
  poly = _mm512_fmadd_ps(poly, t, _mm512_set1_ps(-1.453152027f));
  poly = _mm512_fmadd_ps(poly, t, _mm512_set1_ps(1.421413741f));
  poly = _mm512_fmadd_ps(poly, t, _mm512_set1_ps(-0.284496736f));
  poly = _mm512_fmadd_ps(poly, t, _mm512_set1_ps(0.254829592f));
  __m512 e =
      expLanes(_mm512_mul_ps(_mm512_sub_ps(_mm512_setzero_ps(), ax), ax));
  __m512 y = _mm512_fnmadd_ps(_mm512_mul_ps(poly, t), e, _mm512_set1_ps(1.0f));
  // copysign(y, x)
  const __m512i sign = _mm512_set1_epi32(int32_t(0x80000000u));
  return _mm512_castsi512_ps(_mm512_ternarylogic_epi32(
      sign, _mm512_castps_si512(x), _mm512_castps_si512(y), 0xCA));
}

template <int32_t Act>
__attribute__((always_inline)) inline __m512 activateLanes(__m512 v) {
  if constexpr (Act == KILN_RT_ACT_RELU)
    return _mm512_max_ps(v, _mm512_setzero_ps());
  if constexpr (Act == KILN_RT_ACT_GELU) {
    __m512 erf =
        erfLanes(_mm512_mul_ps(v, _mm512_set1_ps(0.707106781186547524f)));
    return _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(0.5f), v),
                         _mm512_add_ps(_mm512_set1_ps(1.0f), erf));
  }
  if constexpr (Act == KILN_RT_ACT_GELU_TANH) {
    __m512 cube = _mm512_mul_ps(_mm512_mul_ps(v, v), v);
    __m512 u =
        _mm512_mul_ps(_mm512_set1_ps(0.797884560802865355f),
                      _mm512_fmadd_ps(_mm512_set1_ps(0.044715f), cube, v));
    __m512 d = _mm512_add_ps(_mm512_set1_ps(1.0f),
                             expLanes(_mm512_mul_ps(_mm512_set1_ps(-2.0f), u)));
    return _mm512_mul_ps(v, reciprocalLanes(d));
  }
  if constexpr (Act == KILN_RT_ACT_SILU) {
    __m512 d = _mm512_add_ps(_mm512_set1_ps(1.0f),
                             expLanes(_mm512_sub_ps(_mm512_setzero_ps(), v)));
    return _mm512_mul_ps(v, reciprocalLanes(d));
  }
  return v;
}

} // namespace
} // namespace kiln::avx512

#endif // KILN_RUNTIME_KERNELS_X86_ACTIVATIONAVX512_H
