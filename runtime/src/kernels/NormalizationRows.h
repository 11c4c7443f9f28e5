//===- NormalizationRows.h - The row loops of LayerNorm and RMSNorm -*- C++
//-*-===//
//
// Compiled for the ISA of each file that includes it: Normalization.cpp for
// the generic variant (NEON on aarch64), x86/NormalizationAvx512.cpp for
// AVX-512. The sums run in 16 lanes, each lane an ordinary sequential sum:
// the compiler vectorizes them without reassociating anything, where a
// single running sum (the linalg lowering's loop) stays scalar.
//
// In an anonymous namespace so that each of those files gets its own copy.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_RUNTIME_KERNELS_NORMALIZATIONROWS_H
#define KILN_RUNTIME_KERNELS_NORMALIZATIONROWS_H

#include "kernels/Normalization.h"

#include <math.h>

namespace kiln::norm {
namespace {

constexpr int kLanes = 16;

__attribute__((always_inline)) inline float
sumLanes(const float (&acc)[kLanes]) {
  float half[kLanes / 2];
  for (int l = 0; l < kLanes / 2; ++l)
    half[l] = acc[l] + acc[l + kLanes / 2];
  float quarter[kLanes / 4];
  for (int l = 0; l < kLanes / 4; ++l)
    quarter[l] = half[l] + half[l + kLanes / 4];
  return (quarter[0] + quarter[2]) + (quarter[1] + quarter[3]);
}

// sum_j f(x[j]) in 16 lanes.
template <bool Unit, typename F>
__attribute__((always_inline)) inline float sumRow(const float *x, int64_t sxn,
                                                   int64_t n, F f) {
  float acc[kLanes] = {};
  int64_t j = 0;
  for (; j + kLanes <= n; j += kLanes)
    for (int l = 0; l < kLanes; ++l)
      acc[l] += f(x[(j + l) * (Unit ? 1 : sxn)]);
  for (int l = 0; j + l < n; ++l)
    acc[l] += f(x[(j + l) * (Unit ? 1 : sxn)]);
  return sumLanes(acc);
}

// The formulas of the linalg lowering (codegen/LowerNormalizations.cpp):
// LayerNorm y = (x - mean) * (1 / sqrt(var + eps)) * scale + bias with the
// variance of the centered values; RMSNorm y = x * (1 / sqrt(mean(x^2) +
// eps)) * scale.
template <bool Unit>
__attribute__((always_inline)) inline void normRow(const Problem &p,
                                                   int64_t r) {
  const float *x = p.x + r * p.sxm;
  float *y = p.y + r * p.sym;
  const int64_t n = p.cols, sxn = p.sxn, syn = Unit ? 1 : p.syn;
  const float count = (float)n;
  const float *scale = p.scale, *bias = p.bias;
  if (p.kind == KILN_RT_NORM_RMS) {
    float ss = sumRow<Unit>(x, sxn, n, [](float v) { return v * v; });
    float inv = 1.0f / sqrtf(ss / count + p.eps);
    for (int64_t j = 0; j < n; ++j)
      y[j * syn] = x[j * (Unit ? 1 : sxn)] * inv * scale[j];
    return;
  }
  float mean = sumRow<Unit>(x, sxn, n, [](float v) { return v; }) / count;
  float ss = sumRow<Unit>(x, sxn, n, [mean](float v) {
    float d = v - mean;
    return d * d;
  });
  float inv = 1.0f / sqrtf(ss / count + p.eps);
  if (bias) {
    for (int64_t j = 0; j < n; ++j)
      y[j * syn] = (x[j * (Unit ? 1 : sxn)] - mean) * inv * scale[j] + bias[j];
  } else {
    for (int64_t j = 0; j < n; ++j)
      y[j * syn] = (x[j * (Unit ? 1 : sxn)] - mean) * inv * scale[j];
  }
}

__attribute__((always_inline)) inline void
normRows(const Problem &p, int64_t begin, int64_t end) {
  if (p.sxn == 1 && p.syn == 1) {
    for (int64_t r = begin; r < end; ++r)
      normRow<true>(p, r);
  } else {
    for (int64_t r = begin; r < end; ++r)
      normRow<false>(p, r);
  }
}

} // namespace
} // namespace kiln::norm

#endif // KILN_RUNTIME_KERNELS_NORMALIZATIONROWS_H
