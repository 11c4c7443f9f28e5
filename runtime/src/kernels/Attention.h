//===- Attention.h - Fused fp32 attention with ISA dispatch -----*- C++ -*-===//
#ifndef KILN_RUNTIME_KERNELS_ATTENTION_H
#define KILN_RUNTIME_KERNELS_ATTENTION_H

#include "kernels/CpuFeatures.h"
#include "kernels/Kernels.h"

namespace kiln {

// The kernel behind _mlir_ciface_kiln_rt_attention{,_masked}_f32 with the
// ISA forced, so tests can cover every variant on one machine. `mask` may be
// null.
void attentionF32(const kiln_memref4_f32 &q, const kiln_memref4_f32 &k,
                  const kiln_memref4_f32 &v, const kiln_memref4_f32 *mask,
                  const kiln_memref4_f32 &out, float scale, bool causal,
                  MatmulIsa isa);

} // namespace kiln

#endif // KILN_RUNTIME_KERNELS_ATTENTION_H
