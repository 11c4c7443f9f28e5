//===- GemmEpilogue.h - Bias and activation on GEMM tiles -------*- C++ -*-===//
#ifndef KILN_RUNTIME_KERNELS_GEMMEPILOGUE_H
#define KILN_RUNTIME_KERNELS_GEMMEPILOGUE_H

#include "kernels/BatchMatmul.h"

namespace kiln {

// Applies `e` in place to a rows x cols block of C with row stride csm and
// column stride csn, whose first column is column n0 of the whole output
// (the bias index).
using EpilogueFn = void (*)(const Epilogue &e, float *c, int64_t rows,
                            int64_t cols, int64_t csm, int64_t csn, int64_t n0);

// The variant vectorized for `isa`; null when `e` does nothing.
EpilogueFn epilogueFor(const Epilogue &e, MatmulIsa isa);
#if defined(__x86_64__)
// Its x86 variants (x86/GemmAvx2.cpp, x86/GemmAvx512.cpp). Declared hidden,
// as the library defines them, so that epilogueFor takes their addresses
// PC-relative, not from the GOT, and stays branch-free.
#pragma GCC visibility push(hidden)
void epilogueAvx2(const Epilogue &e, float *c, int64_t rows, int64_t cols,
                  int64_t csm, int64_t csn, int64_t n0);
void epilogueAvx512(const Epilogue &e, float *c, int64_t rows, int64_t cols,
                    int64_t csm, int64_t csn, int64_t n0);
#pragma GCC visibility pop
#endif

// The activations alone, as the kernels compute them, for tests.
float activationF32(int32_t activation, float x);

} // namespace kiln

#endif // KILN_RUNTIME_KERNELS_GEMMEPILOGUE_H
