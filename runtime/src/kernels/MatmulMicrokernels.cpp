//===- MatmulMicrokernels.cpp - Register-blocked fp32 GEMM tiles ----------===//
//
// Tile sizes fill the register file: AVX-512 keeps 8x32 accumulators in 16 of
// 32 zmm registers (enough independent FMAs to cover a 4-cycle latency at two
// per cycle), AVX2 keeps 6x16 in 12 of 16 ymm registers. The x86 variants are
// in x86/GemmAvx2.cpp and x86/GemmAvx512.cpp, compiled for their ISA and
// chosen at run time (kernelFor in BlockedGemm.cpp), so the library itself
// still runs on any x86-64. NEON keeps 4x16 in 16 of its 32 q registers
// (arm/GemmNeon.cpp).
//
//===----------------------------------------------------------------------===//

#include "kernels/MatmulMicrokernels.h"

namespace kiln {

namespace {

// Plain C++ so it builds everywhere; the compiler vectorizes the j loops.
constexpr int kGenericMr = 4;
constexpr int kGenericNr = 16;

void tileGeneric(int64_t kc, const float *__restrict a,
                 const float *__restrict b, float *c, int64_t ldc,
                 bool accumulate) {
  float acc[kGenericMr][kGenericNr] = {};
  for (int64_t k = 0; k < kc; ++k) {
    for (int r = 0; r < kGenericMr; ++r)
      for (int j = 0; j < kGenericNr; ++j)
        acc[r][j] += a[r] * b[j];
    a += kGenericMr;
    b += kGenericNr;
  }
  for (int r = 0; r < kGenericMr; ++r)
    for (int j = 0; j < kGenericNr; ++j)
      c[r * ldc + j] = accumulate ? c[r * ldc + j] + acc[r][j] : acc[r][j];
}

} // namespace

const MatmulMicrokernel kMatmulGeneric = {kGenericMr, kGenericNr, tileGeneric,
                                          nullptr};
#if defined(__x86_64__)
const MatmulMicrokernel kMatmulAvx2 = {6, 16, tileAvx2, nullptr};
const MatmulMicrokernel kMatmulAvx512 = {8, 32, tileAvx512, directTileAvx512};
#else
const MatmulMicrokernel kMatmulAvx2 = kMatmulGeneric;
const MatmulMicrokernel kMatmulAvx512 = kMatmulGeneric;
#endif
#if defined(__aarch64__)
const MatmulMicrokernel kMatmulNeon = {4, 16, tileNeon, directTileNeon};
#else
const MatmulMicrokernel kMatmulNeon = kMatmulGeneric;
#endif

} // namespace kiln
