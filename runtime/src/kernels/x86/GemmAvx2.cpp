//===- GemmAvx2.cpp - fp32 GEMM kernels for AVX2 and FMA ------------------===//
//
// The few-row loops (RowStreaming.h) and the epilogue (GemmEpilogueLoops.h)
// compiled for AVX2. Compiled with -mavx2 -mfma (runtime/CMakeLists.txt); the
// drivers call these only on CPUs that have both (CpuFeatures.h).
//
//===----------------------------------------------------------------------===//

#include "kernels/GemmEpilogueLoops.h"
#include "kernels/RowStreaming.h"

namespace kiln::gemm {

void streamRowsAvx2(const Problem &p, int64_t item) { streamRowsAnyM(p, item); }

void panelRowsAvx2(const PanelProblem &p, int64_t first, int64_t last) {
  panelRowsAnyM(p, first, last);
}

} // namespace kiln::gemm

namespace kiln {

void epilogueAvx2(const Epilogue &e, float *c, int64_t rows, int64_t cols,
                  int64_t csm, int64_t csn, int64_t n0) {
  epilogueAnyActivation(e, c, rows, cols, csm, csn, n0);
}

} // namespace kiln
