//===- Bf16GemmKernels.h - What the bf16 GEMM variants share ----*- C++ -*-===//
//
// The driver (Bf16Gemm.cpp) cuts a bf16 product into items of rows x panels
// and hands them to one variant's kernel: Bf16Gemm.cpp's portable loops,
// x86/Bf16GemmAvx2.cpp and x86/Bf16GemmAvx512.cpp (f32 FMAs on converted
// weights), x86/Bf16GemmAvx512Bf16.cpp (vdpbf16ps)
// or x86/Bf16GemmAmx.cpp (tdpbf16ps), and on aarch64 arm/Bf16GemmNeonBf16.cpp
// (bfdot).
// The ISA files include only this header (declarations, and scalar helpers
// in an anonymous namespace), so that no inline definition compiled for an
// ISA can stand in for the generic one at link time.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_RUNTIME_KERNELS_BF16GEMMKERNELS_H
#define KILN_RUNTIME_KERNELS_BF16GEMMKERNELS_H

#include "kernels/Bf16Bits.h"
#include "kernels/GemmEpilogue.h"

#include <string.h>

namespace kiln::bf16 {

/// One call as the kernels see it, after the entry point's checks.
struct Bf16Problem {
  const uint16_t *a;
  int64_t sam, sak; // a's strides, in elements
  // The packed weight (Bf16Packing.h): panel p starts at panels + p *
  // panelStride elements (any alignment).
  const uint16_t *panels;
  int64_t panelStride; // kp * 16
  float *c;
  int64_t scm, scn; // c's strides
  int64_t m, n, k, kp;
  const float *bias; // n, or null
  // Bias and activation, for kernels that store a tile and then apply both.
  Epilogue epilogue;
  EpilogueFn epilogueFn; // null for none
  // The activation alone, for kernels that add the bias while storing.
  Epilogue activation;
  EpilogueFn activationFn; // null for none
};

struct Bf16Kernels {
  // c rows [m0, m0 + rows) x panels [first, last).
  void (*gemm)(const Bf16Problem &p, int64_t m0, int64_t rows, int64_t first,
               int64_t last);
  // Run by each thread before its first gemm call of a parallel task and
  // after its last (AMX: load and release the tile configuration); null for
  // none.
  void (*enter)();
  void (*leave)();
};

extern const Bf16Kernels kBf16Generic;
#if defined(__x86_64__)
// Defined in x86/, hidden like the other ISA variants.
#pragma GCC visibility push(hidden)
extern const Bf16Kernels kBf16Avx2;
extern const Bf16Kernels kBf16Avx512;
extern const Bf16Kernels kBf16Avx512Bf16;
extern const Bf16Kernels kBf16Amx;
// kBf16Avx512Bf16's gemm, which the AMX variant runs for what AMX does not
// take.
void gemmAvx512Bf16(const Bf16Problem &p, int64_t m0, int64_t rows,
                    int64_t first, int64_t last);
#pragma GCC visibility pop
#endif
#if defined(__aarch64__)
// arm/Bf16GemmNeonBf16.cpp (bfdot); its table, kBf16NeonBf16, is in
// Bf16Gemm.cpp.
#pragma GCC visibility push(hidden)
void gemmNeonBf16(const Bf16Problem &p, int64_t m0, int64_t rows, int64_t first,
                  int64_t last);
#pragma GCC visibility pop
#endif

} // namespace kiln::bf16

#endif // KILN_RUNTIME_KERNELS_BF16GEMMKERNELS_H
