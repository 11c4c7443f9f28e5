//===- GemmEpilogue.cpp - Bias and activation on finished GEMM tiles ------===//
//
// The GEMM kernels call these on each output tile right after its last K
// slice, while it is still in L1, so that kiln.linear's bias and activation
// cost no extra pass over C, and run on the pool with the GEMM instead of on
// the calling thread.
//
// The loops are in GemmEpilogueLoops.h; epilogueFor picks this file's
// generic copy or the AVX2 or AVX-512 one (x86/GemmAvx2.cpp,
// x86/GemmAvx512.cpp) per call.
//
//===----------------------------------------------------------------------===//

#include "kernels/GemmEpilogue.h"

#include "kernels/GemmEpilogueLoops.h"

namespace kiln {

namespace {

void epilogueGeneric(const Epilogue &e, float *c, int64_t rows, int64_t cols,
                     int64_t csm, int64_t csn, int64_t n0) {
  epilogueAnyActivation(e, c, rows, cols, csm, csn, n0);
}

} // namespace

EpilogueFn epilogueFor(const Epilogue &e, MatmulIsa isa) {
  if (!e.bias && e.activation == KILN_RT_ACT_NONE)
    return nullptr;
#if defined(__x86_64__)
  if (isa == MatmulIsa::Avx512)
    return epilogueAvx512;
  if (isa == MatmulIsa::Avx2)
    return epilogueAvx2;
#endif
  (void)isa;
  return epilogueGeneric;
}

float activationF32(int32_t activation, float x) {
  Epilogue e{nullptr, activation};
  epilogueGeneric(e, &x, 1, 1, 1, 1, 0);
  return x;
}

} // namespace kiln
