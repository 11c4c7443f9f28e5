//===- GemmEpilogueLoops.h - Bias and activation, per ISA -------*- C++ -*-===//
//
// The loops behind epilogueFor's variants (GemmEpilogue.h), compiled for the
// ISA of each file that includes them: GemmEpilogue.cpp for the generic
// variant, x86/GemmAvx2.cpp and x86/GemmAvx512.cpp for theirs.
//
// exp, erf and the sigmoids are branch-free float arithmetic that the
// compiler vectorizes for each ISA (libm's scalar calls would not):
// exp by range reduction to [-ln2/2, ln2/2] and a degree-6 Taylor
// polynomial (about 1 ulp), erf by Abramowitz & Stegun 7.1.26 (absolute
// error below 1.5e-7). The tanh form of GELU uses 1 + tanh(u) =
// 2 / (1 + exp(-2u)), which stays finite for every input.
//
// Everything here is in an anonymous namespace so that each of those files
// gets its own copy. As shared inline definitions, the linker could keep the
// AVX-512 file's copy for the generic caller as well.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_RUNTIME_KERNELS_GEMMEPILOGUELOOPS_H
#define KILN_RUNTIME_KERNELS_GEMMEPILOGUELOOPS_H

#include "kernels/GemmEpilogue.h"

namespace kiln {
namespace {

__attribute__((always_inline)) inline float expF32(float x) {
  x = x < -87.0f ? -87.0f : x;
  x = x > 88.0f ? 88.0f : x;
  // Adding 1.5 * 2^23 rounds to an integer in the low mantissa bits.
  const float shifter = 12582912.0f;
  float n = (x * 1.44269504088896341f + shifter) - shifter;
  // ln 2 split in two (Cephes) so that r keeps its low bits.
  float r = x - n * 0.693359375f;
  r = r + n * 2.12194440e-4f;
  float p = 1.0f / 720;
  p = p * r + 1.0f / 120;
  p = p * r + 1.0f / 24;
  p = p * r + 1.0f / 6;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  int32_t bits = ((int32_t)n + 127) << 23;
  return p * __builtin_bit_cast(float, bits);
}

__attribute__((always_inline)) inline float erfF32(float x) {
  float ax = __builtin_fabsf(x);
  float t = 1.0f / (1.0f + 0.3275911f * ax);
  float poly = 1.061405429f;
  poly = poly * t - 1.453152027f;
  poly = poly * t + 1.421413741f;
  poly = poly * t - 0.284496736f;
  poly = poly * t + 0.254829592f;
  float y = 1.0f - poly * t * expF32(-ax * ax);
  return __builtin_copysignf(y, x);
}

template <int32_t Act>
__attribute__((always_inline)) inline float activate(float v) {
  if constexpr (Act == KILN_RT_ACT_RELU)
    return v > 0.0f ? v : 0.0f;
  if constexpr (Act == KILN_RT_ACT_GELU)
    return 0.5f * v * (1.0f + erfF32(v * 0.707106781186547524f));
  if constexpr (Act == KILN_RT_ACT_GELU_TANH) {
    float u = 0.797884560802865355f * (v + 0.044715f * v * v * v);
    return v / (1.0f + expF32(-2.0f * u));
  }
  if constexpr (Act == KILN_RT_ACT_SILU)
    return v / (1.0f + expF32(-v));
  return v;
}

template <int32_t Act>
__attribute__((always_inline)) inline void
epilogueBlock(const Epilogue &e, float *c, int64_t rows, int64_t cols,
              int64_t csm, int64_t csn, int64_t n0) {
  const float *bias = e.bias ? e.bias + n0 : nullptr;
  for (int64_t r = 0; r < rows; ++r) {
    float *row = c + r * csm;
    if (csn == 1 && bias) {
      for (int64_t j = 0; j < cols; ++j)
        row[j] = activate<Act>(row[j] + bias[j]);
    } else if (csn == 1) {
      for (int64_t j = 0; j < cols; ++j)
        row[j] = activate<Act>(row[j]);
    } else {
      for (int64_t j = 0; j < cols; ++j)
        row[j * csn] = activate<Act>(row[j * csn] + (bias ? bias[j] : 0.0f));
    }
  }
}

__attribute__((always_inline)) inline void
epilogueAnyActivation(const Epilogue &e, float *c, int64_t rows, int64_t cols,
                      int64_t csm, int64_t csn, int64_t n0) {
  switch (e.activation) {
  case KILN_RT_ACT_RELU:
    return epilogueBlock<KILN_RT_ACT_RELU>(e, c, rows, cols, csm, csn, n0);
  case KILN_RT_ACT_GELU:
    return epilogueBlock<KILN_RT_ACT_GELU>(e, c, rows, cols, csm, csn, n0);
  case KILN_RT_ACT_GELU_TANH:
    return epilogueBlock<KILN_RT_ACT_GELU_TANH>(e, c, rows, cols, csm, csn, n0);
  case KILN_RT_ACT_SILU:
    return epilogueBlock<KILN_RT_ACT_SILU>(e, c, rows, cols, csm, csn, n0);
  default:
    return epilogueBlock<KILN_RT_ACT_NONE>(e, c, rows, cols, csm, csn, n0);
  }
}

} // namespace
} // namespace kiln

#endif // KILN_RUNTIME_KERNELS_GEMMEPILOGUELOOPS_H
