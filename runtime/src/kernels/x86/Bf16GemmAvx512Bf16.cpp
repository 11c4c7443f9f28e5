//===- Bf16GemmAvx512Bf16.cpp - bf16 GEMM kernel for AVX-512 BF16 ---------===//
//
// The kernel of kBf16Avx512Bf16 (Bf16GemmKernels.h): the register tiles of
// x86/Bf16TilesAvx512.h on vdpbf16ps. Compiled with -mavx512f -mavx512bw
// -mavx512vl -mavx512bf16 (runtime/CMakeLists.txt); the driver calls it
// only on CPUs that have all four (CpuFeatures.h).
//
//===----------------------------------------------------------------------===//

#include "kernels/x86/Bf16TilesAvx512.h"

namespace kiln::bf16 {

void gemmAvx512Bf16(const Bf16Problem &p, int64_t m0, int64_t rows,
                    int64_t first, int64_t last) {
  gemmTiles<true>(p, m0, rows, first, last);
}

const Bf16Kernels kBf16Avx512Bf16 = {gemmAvx512Bf16, nullptr, nullptr};

} // namespace kiln::bf16
