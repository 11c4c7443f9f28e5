//===- Normalization.h - LayerNorm and RMSNorm over rows --------*- C++ -*-===//
#ifndef KILN_RUNTIME_KERNELS_NORMALIZATION_H
#define KILN_RUNTIME_KERNELS_NORMALIZATION_H

#include "kernels/CpuFeatures.h"
#include "kernels/Kernels.h"

namespace kiln {

namespace norm {

// One call's rows: element (r, j) of x at x[r * sxm + j * sxn], of y at
// y[r * sym + j * syn]; scale and bias (null for none) of `cols` floats.
struct Problem {
  const float *x;
  int64_t sxm, sxn;
  const float *scale, *bias;
  float *y;
  int64_t sym, syn;
  int64_t rows, cols;
  float eps;
  int32_t kind; // KILN_RT_NORM_*
};

using RowsFn = void (*)(const Problem &, int64_t, int64_t);
#if defined(__x86_64__)
// Hidden like its definition (x86/NormalizationAvx512.cpp).
#pragma GCC visibility push(hidden)
void rowsAvx512(const Problem &p, int64_t begin, int64_t end);
#pragma GCC visibility pop
#endif

} // namespace norm

// Normalizes each row of x into out; see _mlir_ciface_kiln_rt_norm_f32.
void normF32(const kiln_memref2_f32 &x, const float *scale, const float *bias,
             const kiln_memref2_f32 &out, float eps, int32_t kind,
             MatmulIsa isa);

} // namespace kiln

#endif // KILN_RUNTIME_KERNELS_NORMALIZATION_H
