//===- Int4GemmKernels.h - What the int4 GEMM variants share ----*- C++ -*-===//
//
// The driver (Int4Gemm.cpp) cuts kiln.qlinear_int4 into items of rows x
// panels and hands them to one variant's kernel: Int4Gemm.cpp's generic
// loops, x86/Int4GemmAvx2.cpp or x86/Int4GemmAvx512.cpp. The ISA files
// include only this header (declarations and plain data), so that no inline
// definition compiled for an ISA can stand in for the generic one at link
// time.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_RUNTIME_KERNELS_INT4GEMMKERNELS_H
#define KILN_RUNTIME_KERNELS_INT4GEMMKERNELS_H

#include "kernels/GemmEpilogue.h"

namespace kiln::int4 {

/// One call as the kernels see it, after the driver's checks.
struct Int4Problem {
  const float *a;
  int64_t sam, sak; // a's strides
  // The packed weight (Int4Packing.h), any alignment: panel p starts at
  // packed + p * panelStride, its group G at + G * groupBytes.
  const uint8_t *packed;
  int64_t panelStride, groupBytes;
  int64_t headerBytes; // before a group's nibbles
  int64_t group;       // rows of K per group, a multiple of 8
  int64_t groupCount;  // ceil(k / group)
  bool zeroPoints;     // the groups carry offsets
  const float *bias;   // n, or null
  float *c;
  int64_t scm, scn; // c's strides
  int64_t m, n, k;
  // The activation alone: the kernels add the bias as they store.
  Epilogue activation;
  EpilogueFn activationFn; // null for none
};

/// c rows [m0, m0 + rows) x panels [first, last).
using Int4GemmFn = void (*)(const Int4Problem &p, int64_t m0, int64_t rows,
                            int64_t first, int64_t last);

struct Int4Kernels {
  Int4GemmFn gemm;
  // Panels a chunk of the driver's must be a multiple of: the widest tile.
  int64_t panelUnit;
};

extern const Int4Kernels kInt4Generic;
#if defined(__x86_64__)
// Defined in x86/, hidden like the other ISA variants.
#pragma GCC visibility push(hidden)
extern const Int4Kernels kInt4Avx2;
extern const Int4Kernels kInt4Avx512;
#pragma GCC visibility pop
#endif

} // namespace kiln::int4

#endif // KILN_RUNTIME_KERNELS_INT4GEMMKERNELS_H
