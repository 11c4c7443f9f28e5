//===- BatchMatmul.h - fp32 batched GEMM with ISA dispatch ------*- C++ -*-===//
#ifndef KILN_RUNTIME_KERNELS_BATCHMATMUL_H
#define KILN_RUNTIME_KERNELS_BATCHMATMUL_H

#include "kernels/CpuFeatures.h"
#include "kernels/Kernels.h"

namespace kiln {

// The kernel behind _mlir_ciface_kiln_rt_batch_matmul_f32 with the ISA
// forced, so tests can cover every variant on one machine.
void batchMatmulF32(const kiln_memref3_f32 &a, const kiln_memref3_f32 &b,
                    const kiln_memref3_f32 &c, MatmulIsa isa);

// What a GEMM applies to each finished output tile: c = act(c + bias[n]).
struct Epilogue {
  const float *bias = nullptr; // N elements, or none
  int32_t activation = KILN_RT_ACT_NONE;
};

// The kernel behind _mlir_ciface_kiln_rt_matmul_packed_f32 and its epilogue
// variant, ISA forced.
void packedMatmulF32(const kiln_memref2_f32 &a, const float *packed,
                     int64_t packedSize, const kiln_memref2_f32 &c,
                     MatmulIsa isa, const Epilogue &epilogue = {});

} // namespace kiln

#endif // KILN_RUNTIME_KERNELS_BATCHMATMUL_H
