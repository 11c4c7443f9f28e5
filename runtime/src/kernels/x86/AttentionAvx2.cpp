//===- AttentionAvx2.cpp - Fused attention items for AVX2 and FMA ---------===//
//
// Compiled with -mavx2 -mfma (runtime/CMakeLists.txt); attentionF32 calls
// this only on CPUs that have both (CpuFeatures.h).
//
//===----------------------------------------------------------------------===//

#include "kernels/AttentionItem.h"

namespace kiln::attention {

void itemsAvx2(const Problem &p, int64_t begin, int64_t end, float *scratch) {
  for (int64_t i = begin; i < end; ++i)
    runItem<PortableBlocks>(p, i, scratch);
}

void widenBf16Avx2(const uint16_t *src, int64_t n, float *dst) {
  widenPortable<uint16_t>(src, n, dst);
}

} // namespace kiln::attention
