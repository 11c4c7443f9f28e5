//===- NormalizationAvx512.cpp - LayerNorm and RMSNorm rows, AVX-512 ------===//
//
// NormalizationRows.h compiled with -mavx512f (runtime/CMakeLists.txt);
// normF32 calls it only on CPUs that have it (CpuFeatures.h).
//
//===----------------------------------------------------------------------===//

#include "kernels/NormalizationRows.h"

void kiln::norm::rowsAvx512(const Problem &p, int64_t begin, int64_t end) {
  normRows(p, begin, end);
}
