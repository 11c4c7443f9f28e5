//===- GemmAvx2.cpp - Few-row GEMM loops for AVX2 and FMA -----------------===//
//
// Compiled with -mavx2 -mfma (runtime/CMakeLists.txt); the drivers call these
// only on CPUs that have both (CpuFeatures.h).
//
//===----------------------------------------------------------------------===//

#include "kernels/RowStreaming.h"

namespace kiln::gemm {

void streamRowsAvx2(const Problem &p, int64_t item) { streamRowsAnyM(p, item); }

void panelRowsAvx2(const PanelProblem &p, int64_t first, int64_t last) {
  panelRowsAnyM(p, first, last);
}

} // namespace kiln::gemm
