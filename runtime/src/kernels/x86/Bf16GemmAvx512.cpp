//===- Bf16GemmAvx512.cpp - bf16 GEMM kernel for AVX-512 without BF16 -----===//
//
// The kernel of kBf16Avx512 (Bf16GemmKernels.h), for AVX-512 CPUs without
// vdpbf16ps (Skylake-SP to Ice Lake): the register tiles of
// x86/Bf16TilesAvx512.h on weights converted to f32 and FMAs, at about the
// fp32 kernel's speed with half its weight bytes. Compiled with -mavx512f
// (runtime/CMakeLists.txt); the driver calls it only on CPUs that have it
// (CpuFeatures.h).
//
//===----------------------------------------------------------------------===//

#include "kernels/x86/Bf16TilesAvx512.h"

namespace kiln::bf16 {

namespace {

void gemmAvx512(const Bf16Problem &p, int64_t m0, int64_t rows, int64_t first,
                int64_t last) {
  gemmTiles<false>(p, m0, rows, first, last);
}

} // namespace

const Bf16Kernels kBf16Avx512 = {gemmAvx512, nullptr, nullptr};

} // namespace kiln::bf16
