//===- GemmProblem.h - What the fp32 GEMM files share -----------*- C++ -*-===//
//
// The problems that the drivers (BatchMatmul.cpp, PackedGemm.cpp) hand to
// the blocked GEMM (BlockedGemm.cpp) and to the few-row loops, which are
// compiled once per ISA (RowStreaming.h, x86/GemmAvx2.cpp, x86/GemmAvx512.cpp).
//
//===----------------------------------------------------------------------===//
#ifndef KILN_RUNTIME_KERNELS_GEMMPROBLEM_H
#define KILN_RUNTIME_KERNELS_GEMMPROBLEM_H

#include "ExecutionContext.h"
#include "kernels/BatchMatmul.h"
#include "kernels/GemmEpilogue.h"
#include "kernels/MatmulMicrokernels.h"

namespace kiln::gemm {

constexpr int64_t kPackedPanel = KILN_RT_PACKED_PANEL;
// Below this many multiply-adds, waking the pool costs more than it saves.
constexpr int64_t kParallelMacs = int64_t(1) << 20;

struct View {
  const float *base; // element (0, 0, 0)
  int64_t sizes[3];
  int64_t strides[3];
};

struct Problem {
  View a, b, c;
  int64_t batch, m, n, k;
  int64_t mc, nc;        // block sizes, multiples of MR and NR
  int64_t streamColumns; // columns per item on the few-rows path
  int64_t mBlocks, nBlocks;
  const MatmulMicrokernel *kernel;
  // B pre-packed by the compiler in kPackedPanel-column panels (see
  // Kernels.h), used in place of packing b; needs kernel->nr == kPackedPanel.
  const float *packedB = nullptr;
  // Applied to each tile of C after its last K slice; null for none.
  Epilogue epilogue;
  EpilogueFn epilogueFn = nullptr;
};

// The blocked driver for m > kStreamMaxRows: packs A (and B unless
// p.packedB) per KC slice and runs the microkernel over MC x NC blocks.
void runBlocked(Problem &p, kiln_rt_context *ctx, bool parallel);
const MatmulMicrokernel &kernelFor(MatmulIsa isa);

//===----------------------------------------------------------------------===//
// Few rows (decode steps): stream B in place
//===----------------------------------------------------------------------===//

// With M <= kStreamMaxRows, packing B costs as much as the multiply and the
// MR-row microkernel idles; reading B's rows where they lie makes the product
// run at memory bandwidth instead.
constexpr int64_t kStreamMaxRows = 4;
// Columns per work item: whole rows up to this many stream B best (measured:
// 24 GB/s at 4096 against 10 GB/s at 256), so items only get narrower to give
// every thread work.
constexpr int64_t kStreamMaxColumns = 4096;

// One item of p.streamColumns columns of a batch entry (RowStreaming.h).
using StreamFn = void (*)(const Problem &, int64_t);
#if defined(__x86_64__)
// Hidden like their definitions (x86/): called directly, not through the
// GOT.
#pragma GCC visibility push(hidden)
void streamRowsAvx2(const Problem &p, int64_t item);
void streamRowsAvx512(const Problem &p, int64_t item);
#pragma GCC visibility pop
#endif
#if defined(__aarch64__)
#pragma GCC visibility push(hidden)
void streamRowsNeon(const Problem &p, int64_t item); // arm/GemmNeon.cpp
#pragma GCC visibility pop
#endif

//===----------------------------------------------------------------------===//
// Weights pre-packed at compile time
//===----------------------------------------------------------------------===//

// Rows up to this many stream the packed panels once for all rows (decode:
// the product is bound by reading the weights); more go through runBlocked.
constexpr int64_t kPanelStreamMaxRows = 16;

struct PanelProblem {
  const float *a;
  int64_t sam, sak; // a's strides
  const float *packed;
  float *c;
  int64_t scm, scn; // c's strides
  int64_t m, n, k;
  Epilogue epilogue;
  EpilogueFn epilogueFn; // null for none
};

// Panels [first, last) for all rows (RowStreaming.h).
using PanelFn = void (*)(const PanelProblem &, int64_t, int64_t);
#if defined(__x86_64__)
// Hidden like their definitions (x86/): called directly, not through the
// GOT.
#pragma GCC visibility push(hidden)
void panelRowsAvx2(const PanelProblem &p, int64_t first, int64_t last);
void panelRowsAvx512(const PanelProblem &p, int64_t first, int64_t last);
#pragma GCC visibility pop
#endif
#if defined(__aarch64__)
#pragma GCC visibility push(hidden)
void panelRowsNeon(const PanelProblem &p, int64_t first, int64_t last);
#pragma GCC visibility pop
#endif

} // namespace kiln::gemm

#endif // KILN_RUNTIME_KERNELS_GEMMPROBLEM_H
